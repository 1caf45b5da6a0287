/** The RTT view renders the RMM's own tree data (src/rmm/inspect.ts rttTree) of a real realm. */
import { describe, expect, it } from "vitest";
import { rttTree } from "../../src/rmm/inspect.js";
import { rttView, toMimeBundle } from "../../src/viz/index.js";
import { createRtts, makeRealm, mapUnknown } from "../rmm/helpers.js";

describe("RTT view of rttTree()", () => {
  it("shows the walk to two mapped pages, collapsed runs and refcounts", () => {
    const t = makeRealm({ s2sz: 40 });
    createRtts(t, 0x1000n, 3);
    const d1 = mapUnknown(t, 0x1000n);
    const d2 = mapUnknown(t, 0x2000n);
    const tree = rttTree(t.p.rmm, t.rd);
    const text = rttView(tree).toString();
    const lines = text.split("\n");
    expect(lines[0]).toBe(`RTT tree (RD 0x${t.rd.toString(16)}, IPA 40 bits, start level 1, 2 concatenated roots)`);
    // L3: entry 0 unassigned, 1..2 assigned (a contiguous run only if the PAs are), then the rest.
    expect(text).toMatch(/\[0\]  0x0  UNASSIGNED  (EMPTY|RAM)/);
    expect(text).toContain(`0x1000  ASSIGNED  `);
    expect(text).toContain(`PA 0x${d1.toString(16)}`);
    if (d2 !== d1 + 0x1000n) expect(text).toContain(`PA 0x${d2.toString(16)}`);
    expect(text).toMatch(/\[3\.\.511\]  0x3000  UNASSIGNED/);
    expect(text).toMatch(/L3 @0x[0-9a-f]+ \(refcount 2\)/);
    const html = toMimeBundle(tree)!["text/html"]!;
    expect(html).toContain("refcount 2");
    expect(html.match(/<tr style="background:#f3f3f3">/g)!.length).toBe(4); // 2 roots, L2, L3
  });
});

describe("RTT view of a tree with children lists", () => {
  it("attaches children to TABLE entries by PA, and treats an entry-less pseudo-table as concatenated roots", () => {
    const l3 = { level: 3, base: 0n, pa: 0x3000n, entries: [{ index: 0, ipa: 0n, state: "ASSIGNED_RAM", ripas: "RAM", pa: 0x9000n }], children: [] };
    const root = (pa: bigint, base: bigint, withChild: boolean) => ({
      level: 2,
      base,
      pa,
      entries: withChild ? [{ index: 0, ipa: base, state: "TABLE", pa: 0x3000n }, { index: 1, count: 511, ipa: base + 0x200000n, state: "UNASSIGNED_EMPTY", ripas: "EMPTY" }] : [{ index: 0, count: 512, ipa: base, state: "UNASSIGNED_NS" }],
      children: withChild ? [l3] : [],
    });
    const tree = { level: 1, base: 0n, pa: 0x1000n, entries: [], children: [root(0x1000n, 0n, true), root(0x2000n, 0x40000000n, false)] };
    const text = rttView(tree).toString();
    expect(text).toContain("2 concatenated roots");
    expect(text).toContain("│  └─ [0]  0x0  ASSIGNED_RAM  RAM  PA 0x9000");
    expect(text).toContain("└─ [0..511]  0x40000000  UNASSIGNED_NS");
  });
});
