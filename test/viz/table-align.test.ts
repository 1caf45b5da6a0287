/**
 * HTML tables align the same under the classic Notebook stylesheet (tables centred with a fixed
 * layout, every cell right-aligned) and JupyterLab's (left-aligned): issue 12 B. Cases:
 *  1. htmlTable: numeric columns (decimal, hex, with units) right, text left, headers as their column;
 *  2. the table style overrides the front ends' layout (auto layout, not centred);
 *  3. the trace table states the alignment of every cell (the Notebook right-aligns the rest),
 *     so each header sits over its column.
 */
import { describe, expect, it } from "vitest";
import { htmlTable, TABLE_STYLE } from "../../src/viz/format.js";
import { traceHtml } from "../../src/viz/trace.js";

const aligns = (html: string, tag: "td" | "th"): string[] =>
  [...html.matchAll(new RegExp(`<${tag}[^>]*style="[^"]*text-align:(left|right)`, "g"))].map((m) => m[1]!);

describe("table alignment", () => {
  it("1. numbers right, text left, each header over its column", () => {
    const html = htmlTable(["state", "granules", "PA", "size"], [["DATA", "17", "0x80001000", "4 KiB"], ["RTT", "1,024", "0x0", "2 MiB"], ["", "", "", ""]]);
    expect(aligns(html, "th")).toEqual(["left", "right", "right", "right"]);
    expect(aligns(html, "td").slice(0, 4)).toEqual(["left", "right", "right", "right"]);
    const mixed = htmlTable(["what", "value"], [["a", "1"], ["b", "n/a"]]);
    expect(aligns(mixed, "th")).toEqual(["left", "left"]);
  });

  it("2. auto layout, left margin: not centred or fixed as the Notebook's CSS makes tables", () => {
    expect(TABLE_STYLE).toContain("table-layout:auto");
    expect(TABLE_STYLE).toContain("margin-left:0");
    expect(htmlTable(["a"], [["1"]])).toContain(`style="${TABLE_STYLE}"`);
  });

  it("3. trace tables: every cell has its alignment (#, step right; the rest left)", () => {
    const log = { entries: [{ step: 0 }, { step: 1 }], lines: () => ["SMC_RMI_VERSION 10000 > RMI_SUCCESS 10000 10000", "KVM: realm activated"] };
    const html = traceHtml(log);
    expect(aligns(html, "th")).toEqual(["right", "right", "left", "left", "left", "left"]);
    const cells = [...html.matchAll(/<td[^>]*>/g)].map((m) => m[0]);
    expect(cells.length).toBe(6 + 4);
    for (const c of cells) expect(c).toMatch(/text-align:(left|right)/);
  });
});
