import { createRequire } from "node:module";
import { afterEach, describe, expect, it } from "vitest";
import {
  accountingChart,
  accountingSpec,
  accountingText,
  chartView,
  comparisonView,
  display,
  liveChart,
  MIME_BUNDLE,
  normalizeRttTree,
  renderChartPng,
  rmiCallCounts,
  rttView,
  setDisplaySink,
  toMimeBundle,
  traceRows,
  traceView,
  type AccountingPoint,
  type MimeBundle,
} from "../../src/viz/index.js";
import { chartFontPath } from "../../src/viz/chart.js";

const req = createRequire(import.meta.url);

function points(n: number): AccountingPoint[] {
  return Array.from({ length: n }, (_, i) => ({
    step: i,
    label: `step ${i}`,
    granules: { DELEGATED: i % 3, RD: 1, REC: 2, REC_AUX: 0, DATA: i * 2, RTT: 1 + Math.floor(i / 4) },
    pgtablePages: 1 + Math.floor(i / 4),
    leakedPages: i > 8 ? 1 : 0,
  }));
}

async function pngSize(b64: string | Buffer): Promise<{ width: number; height: number }> {
  const { loadImage } = req("@napi-rs/canvas") as { loadImage(b: Buffer): Promise<{ width: number; height: number }> };
  const img = await loadImage(typeof b64 === "string" ? Buffer.from(b64, "base64") : b64);
  return { width: img.width, height: img.height };
}

describe("accounting chart", () => {
  it("renders a PNG of the requested size, identical on every render (pixel-stable)", async () => {
    const a = renderChartPng(points(12), { title: "t", width: 640, height: 320 });
    const b = renderChartPng(points(12), { title: "t", width: 640, height: 320 });
    expect(a.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(Buffer.compare(a, b)).toBe(0);
    expect(await pngSize(a)).toEqual({ width: 640, height: 320 });
    const other = renderChartPng(points(13), { title: "t", width: 640, height: 320 });
    expect(Buffer.compare(a, other)).not.toBe(0);
  });

  it("uses the package's own font file", () => {
    expect(chartFontPath()).toMatch(/kernel\/fonts\/DejaVuSans\.ttf$/);
  });

  it("plots every granule state present, then pgtablePages and leakedPages, as stepped lines", () => {
    const spec = accountingSpec(points(5));
    expect(spec.labels).toEqual([0, 1, 2, 3, 4]);
    expect(spec.datasets.map((d) => d.label)).toEqual(["DELEGATED", "RD", "REC", "REC_AUX", "DATA", "RTT", "pgtablePages", "leakedPages"]);
    expect(spec.datasets.find((d) => d.label === "DATA")!.data).toEqual([0, 2, 4, 6, 8]);
    expect(spec.datasets.find((d) => d.label === "pgtablePages")!.dashed).toBe(true);
  });

  it("plots chosen series, with gaps where a sample lacks the value", () => {
    const pts: AccountingPoint[] = [{ step: 0, granules: { RTT: 1 } }, { step: 1, pgtablePages: 3 }];
    const spec = accountingSpec(pts, { series: ["granules.RTT", "pgtablePages"] });
    expect(spec.datasets.map((d) => [d.label, d.data])).toEqual([
      ["RTT", [1, null]],
      ["pgtablePages", [null, 3]],
    ]);
  });

  it("text summary: first, peak and last of each metric", () => {
    const t = accountingText(points(10), { title: "acct" });
    expect(t.split("\n")[0]).toBe("acct (steps 0..9, 10 samples)");
    expect(t).toMatch(/^DATA\s+0\s+18\s+18$/m);
    expect(t).toMatch(/^leakedPages\s+0\s+1\s+1$/m);
    expect(accountingText([], { title: "x" })).toBe("x: no samples");
  });

  it("a chart view carries image/png and text/plain", async () => {
    const b = accountingChart(points(4))[MIME_BUNDLE]();
    expect(Object.keys(b).sort()).toEqual(["image/png", "text/plain"]);
    expect(await pngSize(b["image/png"]!)).toEqual({ width: 720, height: 360 });
    const bars = chartView({ type: "bar", labels: ["v8", "v10"], datasets: [{ label: "rmiCalls", data: [5, 3] }] })[MIME_BUNDLE]();
    expect(bars["text/plain"]).toContain("rmiCalls");
    expect(bars["image/png"]!.length).toBeGreaterThan(100);
  });

  it("rejects bad input naming the argument", () => {
    expect(() => accountingSpec([{ step: "x" } as unknown as AccountingPoint])).toThrow(/points\[0\] has no numeric 'step'/);
    expect(() => accountingChart("nope" as unknown as AccountingPoint[])).toThrow(/points must be an array/);
    expect(() => chartView({} as never)).toThrow(/spec must be/);
  });
});

const TREE = {
  rd: 0x80000000n,
  ipaBits: 40,
  startLevel: 1,
  tables: [
    {
      level: 1,
      pa: 0x80001000n,
      ipa: 0n,
      entries: [
        {
          index: 0,
          ipa: 0n,
          state: "TABLE",
          pa: 0x80002000n,
          table: {
            level: 2,
            pa: 0x80002000n,
            ipa: 0n,
            entries: [
              { index: 0, ipa: 0n, state: "ASSIGNED", ripas: "RAM", pa: 0x88000000n },
              { first: 1, last: 511, ipa: 0x200000n, state: "UNASSIGNED", ripas: "EMPTY" },
            ],
          },
        },
        { first: 1, last: 511, ipa: 0x40000000n, state: "UNASSIGNED", ripas: "EMPTY" },
      ],
    },
  ],
};

describe("RTT view", () => {
  it("text tree: levels, ranges of collapsed entries, states, RIPAS, PAs", () => {
    const t = rttView(TREE).toString();
    expect(t.split("\n")).toEqual([
      "RTT tree (RD 0x80000000, IPA 40 bits, start level 1)",
      "L1 @0x80001000 IPA 0x0",
      "├─ [0]  0x0  TABLE  -> 0x80002000",
      "│  L2 @0x80002000",
      "│  ├─ [0]  0x0  ASSIGNED  RAM  PA 0x88000000",
      "│  └─ [1..511]  0x200000  UNASSIGNED  EMPTY",
      "└─ [1..511]  0x40000000  UNASSIGNED  EMPTY",
    ]);
  });

  it("HTML table with one row per entry and a header row per table", () => {
    const h = rttView(TREE).get("text/html")!;
    expect(h.match(/<tr><td/g)).toHaveLength(4);
    expect(h).toContain("L2 RTT @0x80002000");
    expect(h).toContain("[1..511]");
    expect(h).toContain("0x88000000");
  });

  it("maxLevel summarises deeper tables", () => {
    const t = rttView(TREE, { maxLevel: 1 }).toString();
    expect(t).toContain("L2 table @0x80002000 (2 rows, not shown)");
    expect(t).not.toContain("0x88000000");
  });

  it("escapes HTML in values and accepts JSON-friendly hex strings", () => {
    const tree = { level: 3, pa: "0x80003000", entries: [{ index: 0, ipa: "0x0", state: "<b>", pa: "0x1" }] };
    expect(rttView(tree).get("text/html")).toContain("&lt;b&gt;");
    expect(normalizeRttTree(tree).roots[0]!.entries[0]!.pa).toBe("0x1");
  });

  it("rejects what is not a tree", () => {
    expect(() => rttView({ foo: 1 })).toThrow(/not an RTT tree/);
    expect(() => rttView(null)).toThrow(/not an RTT tree/);
  });
});

const TRACE = [
  "IOCTL: KVM_CREATE_VM type=realm",
  "SMC_RMI_GRANULE_DELEGATE 80000000 > RMI_SUCCESS",
  "SMC_RMI_RTT_CREATE 80040000 0 3 > RMI_ERROR_RTT 2",
  "SMC_RMI_RTT_READ_ENTRY 80040000 0 3 > RMI_SUCCESS 2 0 0 0",
  "WARNING: realm_map_non_secure: livelock",
  "SMC_RMI_DATA_CREATE 1 2 3 4 5 > RMI_ERROR_INPUT (injected)",
];

describe("trace view", () => {
  it("splits RMI lines into command, arguments, result and outputs", () => {
    const rows = traceRows(TRACE);
    expect(rows[2]).toMatchObject({ kind: "rmi", command: "RMI_RTT_CREATE", args: "80040000 0 3", result: "RMI_ERROR_RTT 2", outputs: "", ok: false });
    expect(rows[3]).toMatchObject({ command: "RMI_RTT_READ_ENTRY", result: "RMI_SUCCESS", outputs: "2 0 0 0", ok: true });
    expect(rows[0]).toMatchObject({ kind: "ioctl", result: "KVM_CREATE_VM type=realm" });
    expect(rows[4]).toMatchObject({ kind: "warn", ok: false });
    expect(rows[5]).toMatchObject({ result: "RMI_ERROR_INPUT (injected)", ok: false });
  });

  it("takes a trace log with lines() and entries (steps shown)", () => {
    const log = { entries: [{ step: 0 }, { step: 3 }], lines: () => TRACE.slice(0, 2) };
    const rows = traceRows(log);
    expect(rows.map((r) => r.step)).toEqual([0, 3]);
    expect(traceView(log).get("text/html")).toContain("<th style=\"text-align:right\">step</th>");
  });

  it("grep and last select lines; failures are marked in HTML", () => {
    const v = traceView(TRACE, { grep: "RTT", last: 1 });
    expect(v.toString().split("\n")).toEqual(["Trace: 1 of 6 lines", "3  SMC_RMI_RTT_READ_ENTRY 80040000 0 3 > RMI_SUCCESS 2 0 0 0"]);
    expect(traceView(TRACE).get("text/html")).toContain('<td style="text-align:left;color:#b00020">RMI_ERROR_RTT 2</td>');
  });

  it("counts calls per command", () => {
    expect(rmiCallCounts(TRACE)).toEqual({ RMI_DATA_CREATE: 1, RMI_GRANULE_DELEGATE: 1, RMI_RTT_CREATE: 1, RMI_RTT_READ_ENTRY: 1 });
  });

  it("rejects a non-trace", () => {
    expect(() => traceView(42)).toThrow(/trace must be/);
  });
});

const RESULTS = [
  { id: "S01", series: "v12", outcome: "ok", livelock: false, warnCount: 0, leakedGranules: 0, pgtablePages: 0, rmiCalls: 40, title: "L2 over L3" },
  { id: "S01", series: "v8", outcome: "livelock", livelock: true, warnCount: 0, leakedGranules: 0, pgtablePages: 3, rmiCalls: 1000 },
  { id: "S01", series: "v10", outcome: "ok", livelock: false, warnCount: 0, leakedGranules: 0, pgtablePages: 0, rmiCalls: ["a", "b"] },
];

describe("scenario comparison", () => {
  it("one column per posting in series order, one row per metric", () => {
    const lines = comparisonView(RESULTS).toString().split("\n");
    expect(lines[0]).toBe("S01 L2 over L3");
    expect(lines[1]).toMatch(/^\s+v8\s+v10\s+v12$/);
    expect(lines.find((l) => l.startsWith("outcome"))).toMatch(/^outcome\s+livelock\s+ok\s+ok$/);
    expect(lines.find((l) => l.startsWith("rmiCalls"))).toMatch(/^rmiCalls\s+1000\s+2\s+40$/);
  });

  it("HTML marks outcomes", () => {
    const h = comparisonView(RESULTS).get("text/html")!;
    expect(h).toContain('color:#b00020;font-weight:bold">livelock');
    expect(h).toContain('color:#1b7f3b;font-weight:bold">ok');
  });

  it("rejects results without id/series/outcome", () => {
    expect(() => comparisonView([{ id: "S01" } as never])).toThrow(/every result needs/);
  });
});

describe("automatic views (a cell's value)", () => {
  it("recognises scenario results, accounting series, trace lines, trees and trace logs", () => {
    expect(toMimeBundle(RESULTS)?.["text/html"]).toContain("realm-scenarios");
    expect(toMimeBundle(RESULTS[0])?.["text/html"]).toContain("realm-scenarios");
    expect(toMimeBundle(points(3))?.["image/png"]).toBeDefined();
    expect(toMimeBundle({ samples: points(3) })?.["image/png"]).toBeDefined();
    expect(toMimeBundle(TRACE)?.["text/html"]).toContain("realm-trace");
    expect(toMimeBundle(TREE)?.["text/html"]).toContain("realm-rtt");
    expect(toMimeBundle({ entries: [], lines: () => [] })?.["text/plain"]).toBe("Trace: 0 of 0 lines");
  });

  it("leaves other values alone", () => {
    expect(toMimeBundle([1, 2])).toBeUndefined();
    expect(toMimeBundle(["plain", "strings"])).toBeUndefined();
    expect(toMimeBundle({ a: 1 })).toBeUndefined();
    expect(toMimeBundle("x")).toBeUndefined();
    expect(toMimeBundle([])).toBeUndefined();
  });
});

describe("display", () => {
  const sent: { bundle: MimeBundle; id: string | undefined; update: boolean }[] = [];
  afterEach(() => {
    setDisplaySink(undefined);
    sent.length = 0;
  });

  it("sends bundles to the installed sink; a handle updates the same display id", () => {
    setDisplaySink((bundle, o) => sent.push({ bundle, id: o.displayId, update: o.update }));
    const h = display(TRACE);
    h.update({ a: 1 });
    expect(sent).toHaveLength(2);
    expect(sent[0]!.update).toBe(false);
    expect(sent[0]!.bundle["text/html"]).toContain("realm-trace");
    expect(sent[1]).toMatchObject({ id: h.id, update: true });
    expect(sent[1]!.bundle).toEqual({ "text/plain": "{ a: 1 }" });
    const h2 = display("text");
    expect(h2.id).not.toBe(h.id);
  });

  it("a live chart redraws every N samples in one display and draws the rest on done()", async () => {
    setDisplaySink((bundle, o) => sent.push({ bundle, id: o.displayId, update: o.update }));
    const live = liveChart({ every: 3, title: "live" });
    for (const p of points(7)) await live.push(p);
    live.done();
    expect(sent.map((s) => s.update)).toEqual([false, true, true, true]);
    expect(new Set(sent.map((s) => s.id)).size).toBe(1);
    expect(sent[3]!.bundle["text/plain"]).toContain("steps 0..6, 7 samples");
    expect(() => liveChart({ every: 0 })).toThrow(/every must be a positive integer/);
  });

  it("without a front end, prints the text rendering", () => {
    const writes: string[] = [];
    const orig = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((s: string) => {
      writes.push(String(s));
      return true;
    }) as typeof process.stdout.write;
    try {
      display(TRACE.slice(1, 2));
    } finally {
      process.stdout.write = orig;
    }
    expect(writes.join("")).toBe("Trace: 1 of 1 lines\n0  SMC_RMI_GRANULE_DELEGATE 80000000 > RMI_SUCCESS\n");
  });
});
