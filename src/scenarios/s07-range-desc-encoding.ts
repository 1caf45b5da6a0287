/**
 * S07: A private fault, then a private unmap whose RTT_DATA_UNMAP descriptor the posting decodes;
 * on RMM v2.0 also against an RMM with the other SZ convention.
 */
import { descSizeCode, level_to_size } from "../kvm/rmi/range.js";
import type { ScenarioDef } from "./scenario.js";
import { RAM, newHost } from "./helpers.js";

export const S07: ScenarioDef = {
  id: "S07",
  title: "Address-range descriptor SZ encoding inverted in v13 (encoder PAGE=3, decoder PAGE=0)",
  affects: ["v13"],
  run(series, mk) {
    const go = (overrides?: { rmmDescConvention: "bet1" | "inverted" }) => {
      const host = newHost(series, { overrides });
      const vm = host.createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 1 });
      vm.start();
      const X = RAM + (8n << 20n);
      const t = vm.touch(X, { access: "write" });
      const w0 = host.warnCount;
      const s = vm.share(X, 0x1000n); // private unmap: RTT_DATA_UNMAP returns a descriptor to decode
      return { host, t, s, started: vm.state === "ACTIVE", mapWarns: w0, unmapWarns: host.warnCount - w0 };
    };
    const a = go();
    const rec = mk(a.host);
    if (a.t.outcome !== "ok") rec.check("private fault (RTT_DATA_MAP with the posting's descriptor)", a.t);
    rec.check("private fault, then private unmap (decode of the returned descriptor)", a.s);
    const prof = a.host.profile;
    const enc = descSizeCode(prof, "PAGE");
    rec.data.encoder = { PAGE: enc, PMD: descSizeCode(prof, "PMD") };
    rec.data.decoderReadsPageAs = level_to_size(enc);
    rec.data.rmmConvention = prof.rangeDescEncoder === "none" ? "n/a (RMM v1.0)" : prof.rmmDescConvention;
    rec.data.run = { fault: a.t.outcome, mapWarns: a.mapWarns, unmapWarns: a.unmapWarns };
    if (prof.rmm === "2.0") {
      const other = prof.rmmDescConvention === "bet1" ? "inverted" : "bet1";
      const b = go({ rmmDescConvention: other });
      rec.data.otherRmm = { convention: other, realmActive: b.started, fault: b.t.outcome, errno: b.t.errno, warns: b.host.warns.map((w) => w.fn) };
      b.host.log.lines();
    }
    return { host: a.host, rec };
  },
};
