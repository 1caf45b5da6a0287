/**
 * S01: Suzuki's refault (v8 20/43). The VMM touches page P (4 KiB backing), P is shared and mapped,
 * then the rest of its 2 MiB block is shared and collapsed into one huge page; records how a shared
 * touch of Q, elsewhere in the block, ends and Q's entry.
 */
import type { ScenarioDef } from "./scenario.js";
import { RAM, SHARED_40, started } from "./helpers.js";

export const S01: ScenarioDef = {
  id: "S01",
  title: "Shared L3 page, then the whole 2 MiB block shared -> endless refault (Suzuki, v8 20/43)",
  affects: ["v8"],
  run(series, mk) {
    const { host, vm } = started(series, { forcePte: false, thp: true });
    const rec = mk(host);
    const B = RAM + (4n << 20n);
    vm.vmmWrite(B, new Uint8Array([1])); // the VMM touched P first: 4 KiB backing
    rec.check("share P", vm.share(B, 4096n));
    rec.check("touch P", vm.touch(B | SHARED_40, { access: "write" }));
    rec.check("share rest of B", vm.share(B + 4096n, (2n << 20n) - 4096n));
    vm.collapse(B);
    const q = B + 0x5000n;
    const t = vm.touch(q | SHARED_40, { access: "write" });
    rec.check("touch Q", t);
    const m = vm.mappingOf(q | SHARED_40);
    rec.data.qMapping = { level: m.level, state: m.state };
    rec.notes.push(`Q ${t.outcome}; Q's entry: level ${m.level} ${m.state}`);
    return { host, rec };
  },
};
