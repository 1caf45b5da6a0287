#!/usr/bin/env node
// Draw the picture of a Chrome trace export for the README (docs/images/trace-timeline.png):
// the trace `trace --export` writes for a short session (2 vCPUs, faults on both, an injected
// RTT_CREATE failure and the WARN it causes), laid out as Perfetto shows it: one row per track
// (host steps, VMM, each vCPU) with slices and instant markers, and the counter tracks below.
//
//   npm run build && node scripts/trace-timeline.mjs [OUT.png] [--json OUT.json]
import { mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";

const root = resolve(new URL("..", import.meta.url).pathname);
const args = process.argv.slice(2);
const jsonAt = args.indexOf("--json");
const jsonOut = jsonAt >= 0 ? resolve(args[jsonAt + 1]) : undefined;
const out = resolve(args.find((a, i) => !a.startsWith("--") && (jsonAt < 0 || i !== jsonAt + 1)) ?? join(root, "docs", "images", "trace-timeline.png"));

const { createSession, chromeTrace } = await import(join(root, "dist", "src", "index.js"));
const s = createSession({ cwd: root });
for (const line of ["new demo --series v12 --mem 8M --vcpus 2", "touch 0x80100000 --count 3", "touch 0x80200000 --vcpu 1 --count 2", "inject RTT_CREATE RMI_ERROR_RTT 2", "touch 0x80400000"]) {
  const r = await s.run(line);
  if (!r.ok) throw new Error(`${line}: ${r.error}`);
}
const trace = chromeTrace(s.machine().host);
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(trace));

const req = createRequire(join(root, "package.json"));
const { createCanvas, GlobalFonts } = req("@napi-rs/canvas");
GlobalFonts.registerFromPath(join(root, "kernel", "fonts", "DejaVuSans.ttf"), "DejaVu Sans");
const FONT = "DejaVu Sans";

const ev = trace.traceEvents;
const names = new Map(ev.filter((e) => e.ph === "M" && e.name === "thread_name").map((e) => [e.tid, e.args.name]));
const order = [...names.keys()].sort((a, b) => (a === 2 ? -1 : b === 2 ? 1 : a - b));
const t0 = 0;
const t1 = Math.max(...ev.filter((e) => e.ph !== "M").map((e) => e.ts + (e.dur ?? 0)));
const W = 1600;
const LEFT = 170;
const ROW = 46;
const counters = ["granules", "KVM page-table pages"];
const H = 60 + order.length * ROW + counters.length * 90 + 40;
const c = createCanvas(W, H);
const g = c.getContext("2d");
g.fillStyle = "#ffffff";
g.fillRect(0, 0, W, H);
const RIGHT = 200; // room for the labels of the last markers
const x = (ts) => LEFT + ((ts - t0) / (t1 - t0)) * (W - LEFT - RIGHT);
g.fillStyle = "#202124";
g.font = `bold 17px '${FONT}'`;
g.fillText(`Chrome trace export of a v12 host (trace --export), ${ev.length} events; time = trace entry number`, 12, 26);

// time axis
g.font = `11px '${FONT}'`;
g.fillStyle = "#5f6368";
for (let t = 0; t <= t1; t += 20) {
  g.fillRect(x(t), 36, 1, 6);
  g.fillText(String(t), x(t) + 2, 48);
}

const palette = { rmi: "#4285f4", ioctl: "#b0bec5", run: "#cfd8dc", step: "#ffe0b2" };
const failed = "#d93025";
let y = 58;
for (const tid of order) {
  g.fillStyle = "#f8f9fa";
  g.fillRect(0, y, W, ROW - 4);
  g.fillStyle = "#202124";
  g.font = `bold 13px '${FONT}'`;
  g.fillText(names.get(tid), 10, y + 26);
  const slices = ev.filter((e) => e.tid === tid && e.ph === "X").sort((a, b) => b.dur - a.dur);
  for (const e of slices) {
    const depth = e.cat === "rmi" ? 1 : 0;
    const bad = e.cat === "rmi" && e.args.status !== "RMI_SUCCESS";
    g.fillStyle = bad ? failed : (palette[e.cat] ?? "#9aa0a6");
    const w = Math.max(2, x(e.ts + e.dur) - x(e.ts) - 1);
    g.fillRect(x(e.ts), y + 4 + depth * 18, w, 16);
    if (w > 60) {
      g.fillStyle = "#202124";
      g.font = `10px '${FONT}'`;
      g.fillText(e.name.replace(/^RMI_/, ""), x(e.ts) + 3, y + 16 + depth * 18, w - 6);
    }
  }
  for (const e of ev.filter((e) => e.tid === tid && e.ph === "i")) {
    const col = e.cat === "warn" ? failed : e.cat === "inject" ? "#e37400" : e.name === "stage-2 fault" ? "#188038" : e.cat === "exit" ? "#9334e6" : null;
    if (col === null) continue;
    const cx = x(e.ts);
    g.fillStyle = col;
    g.beginPath();
    g.moveTo(cx, y + 2);
    g.lineTo(cx + 6, y + 10);
    g.lineTo(cx, y + 18);
    g.lineTo(cx - 6, y + 10);
    g.closePath();
    g.fill();
    if (e.cat === "warn" || e.cat === "inject") {
      g.font = `bold 11px '${FONT}'`;
      g.fillText(e.name, cx + 8, e.cat === "warn" ? y + 40 : y + 14);
    }
  }
  y += ROW;
}

// counters
const counterColors = ["#1a73e8", "#e8710a", "#12b5cb", "#9334e6", "#188038", "#d01884"];
for (const name of counters) {
  const cs = ev.filter((e) => e.ph === "C" && e.name === name);
  const keys = [...new Set(cs.flatMap((e) => Object.keys(e.args)))].filter((k) => cs.some((e) => e.args[k] !== 0));
  const max = Math.max(1, ...cs.flatMap((e) => keys.map((k) => e.args[k])));
  const top = y + 8;
  const h = 70;
  g.fillStyle = "#f8f9fa";
  g.fillRect(0, y, W, 86);
  g.fillStyle = "#202124";
  g.font = `bold 13px '${FONT}'`;
  g.fillText(name, 10, y + 26);
  g.font = `10px '${FONT}'`;
  keys.forEach((k, i) => {
    g.strokeStyle = counterColors[i % counterColors.length];
    g.fillStyle = g.strokeStyle;
    g.lineWidth = 2;
    g.beginPath();
    let prev;
    for (const e of cs) {
      const px = x(e.ts);
      const py = top + h - (e.args[k] / max) * h;
      if (prev === undefined) g.moveTo(px, py);
      else {
        g.lineTo(px, prev);
        g.lineTo(px, py);
      }
      prev = py;
    }
    g.lineTo(W - RIGHT, prev);
    g.stroke();
    g.fillText(`${k} ${cs[cs.length - 1].args[k]}`, 10, y + 42 + i * 12);
  });
  y += 90;
}

g.font = `11px '${FONT}'`;
g.fillStyle = "#5f6368";
g.fillText("blue: RMI call slices (red: failed), grey: KVM_RUN / vCPU runs, orange: host steps; diamonds: green stage-2 fault, purple REC exit, orange injected fault, red WARN", 12, H - 14);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, c.toBuffer("image/png"));
console.log(`wrote ${out}`);
