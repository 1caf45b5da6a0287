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
