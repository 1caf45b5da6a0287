/**
 * The quickstart in a real browser on Debian's Jupyter Notebook (issue 12 B): the Notebook
 * server on 127.0.0.1 (a free port, no token, shutting itself down after 5 idle minutes),
 * Debian's chromium driven by puppeteer-core (no browser download), the realm kernel built in
 * dist/. Cases:
 *  1. Restart & Run All: every code cell ran (a number in its prompt) without an error output;
 *  2. the chart images are in the page (decoded PNGs) and the RTT tables (HTML tables with RTT
 *     entry states), their cells aligned as the table says under the Notebook's stylesheet;
 *  3. an interrupted long cell shows KeyboardInterrupt and the kernel stays usable (the next
 *     cell sees the variables the interrupted one set).
 * On a failure a screenshot is saved to out/browser/ and named in the error.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../kernel/client.js";
import { installKernel } from "../../kernel/install.js";

const CHROMIUM = process.env["REALM_CHROMIUM"] ?? "/usr/bin/chromium";
const NOTEBOOK = "/usr/bin/jupyter-notebook";
const SHOTS = join(ROOT, "out", "browser");

let dir: string;
let server: ChildProcess | undefined;
let serverLog = "";
let browser: Browser | undefined;
let page: Page;
let base: string;

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => (typeof a === "object" && a !== null ? res(a.port) : rej(new Error("no port"))));
    });
  });
}

async function waitFor<T>(what: string, f: () => Promise<T | undefined | false>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Run f; on failure save a screenshot and name it in the error. */
async function step<T>(name: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    mkdirSync(SHOTS, { recursive: true });
    const file = join(SHOTS, `${name}.png`);
    let saved = "";
    try {
      await page.screenshot({ path: file as `${string}.png`, fullPage: true });
      saved = ` (screenshot: ${file})`;
    } catch {
      saved = " (no screenshot: the page is gone)";
    }
    const err = e instanceof Error ? e : new Error(String(e));
    err.message = `${name}: ${err.message}${saved}\nnotebook server log (tail):\n${serverLog.slice(-1500)}`;
    throw err;
  }
}

beforeAll(async () => {
  for (const [what, path, pkg] of [["chromium", CHROMIUM, "chromium"], ["Jupyter Notebook", NOTEBOOK, "jupyter-notebook"]] as const) {
    if (!existsSync(path)) throw new Error(`${what} is not installed (${path}): npm test installs it; or apt-get install -y --no-install-recommends ${pkg}`);
  }
  if (!existsSync(join(ROOT, "dist", "kernel", "main.js"))) throw new Error("dist/kernel/main.js missing: run npm run build first");
  dir = mkdtempSync(join(tmpdir(), "realm-browser-"));
  for (const d of ["nb", "jupyter", "config", "runtime", "data"]) mkdirSync(join(dir, d));
  copyFileSync(join(ROOT, "notebooks", "00-quickstart.ipynb"), join(dir, "nb", "00-quickstart.ipynb"));
  installKernel({ dataDir: join(dir, "jupyter") });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(
    NOTEBOOK,
    [
      "--no-browser",
      "--allow-root",
      "--ip=127.0.0.1",
      `--port=${port}`,
      "--port-retries=0",
      "--NotebookApp.token=",
      "--NotebookApp.password=",
      `--notebook-dir=${join(dir, "nb")}`,
      // stops itself if this test dies without stopping it
      "--NotebookApp.shutdown_no_activity_timeout=300",
      "--MappingKernelManager.cull_idle_timeout=300",
    ],
    {
      env: {
        ...process.env,
        JUPYTER_PATH: join(dir, "jupyter"),
        JUPYTER_CONFIG_DIR: join(dir, "config"),
        JUPYTER_RUNTIME_DIR: join(dir, "runtime"),
        JUPYTER_DATA_DIR: join(dir, "data"),
        REALM_KERNEL_HISTORY: join(dir, "history.jsonl"),
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  server.stdout!.on("data", (d: Buffer) => (serverLog += d.toString()));
  server.stderr!.on("data", (d: Buffer) => (serverLog += d.toString()));
  await waitFor("the notebook server", async () => (await fetch(`${base}/api`)).ok, 60_000).catch((e: Error) => {
    throw new Error(`${e.message}\n${serverLog.slice(-2000)}`);
  });
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"],
    defaultViewport: { width: 1280, height: 1000 },
  });
  page = await browser.newPage();
}, 120_000);

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  if (server !== undefined && server.exitCode === null) {
    server.kill("SIGTERM");
    await new Promise<void>((r) => {
      const t = setTimeout(() => {
        server?.kill("SIGKILL");
        r();
      }, 10_000);
      server!.on("exit", () => {
        clearTimeout(t);
        r();
      });
    });
  }
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}, 30_000);

/** The state of the notebook's code cells, as the page holds it. */
type CellState = { prompt: unknown; errors: string[]; types: string[] };
const cellStates = (): Promise<CellState[]> =>
  page.evaluate(() => {
    const J = (window as any).Jupyter;
    return J.notebook
      .get_cells()
      .filter((c: any) => c.cell_type === "code")
      .map((c: any) => ({
        prompt: c.input_prompt_number,
        errors: c.output_area.outputs.filter((o: any) => o.output_type === "error").map((o: any) => `${o.ename}: ${o.evalue}`),
        types: c.output_area.outputs.map((o: any) => o.output_type),
      }));
  });

describe("the quickstart in Jupyter Notebook (chromium)", () => {
  it("1. Restart & Run All: every cell runs without an error", async () => {
    await step("open-notebook", async () => {
      await page.goto(`${base}/notebooks/00-quickstart.ipynb`, { waitUntil: "networkidle2", timeout: 60_000 });
      await waitFor("the realm kernel", () => page.evaluate(() => {
        const J = (window as any).Jupyter;
        return J?.notebook?.kernel?.is_connected() === true && J.notebook.kernel.name === "realm";
      }), 60_000);
    });
    await step("run-all", async () => {
      await page.evaluate(() => {
        const J = (window as any).Jupyter;
        J.notebook.clear_all_output();
        J.notebook.restart_run_all({ confirm: false });
      });
      await waitFor("every code cell to run", async () => {
        const s = await cellStates();
        return s.every((c) => typeof c.prompt === "number") && (await page.evaluate(() => !(window as any).Jupyter.notebook.kernel_busy)) ? s : undefined;
      }, 180_000);
      const states = await cellStates();
      expect(states.length).toBeGreaterThan(5);
      expect(states.flatMap((s) => s.errors)).toEqual([]);
      expect(await page.$$(".output_error")).toHaveLength(0);
    });
  }, 300_000);

  it("2. chart images and RTT tables are in the page, cells aligned as the table says", async () => {
    await step("outputs", async () => {
      const pngs = await page.$$eval(".output_png img", (imgs) => imgs.map((i) => [(i as HTMLImageElement).naturalWidth, (i as HTMLImageElement).naturalHeight]));
      expect(pngs.length).toBeGreaterThanOrEqual(1);
      for (const [w, h] of pngs) expect(w! * h!).toBeGreaterThan(100 * 100);
      const rtt = await page.$$eval(".output_html table.realm-rtt", (ts) => ts.map((t) => t.textContent ?? ""));
      expect(rtt.length).toBeGreaterThanOrEqual(1);
      expect(rtt.join(" ")).toMatch(/ASSIGNED/);
      // Under the Notebook's CSS (cells right-aligned, tables centred) the inline styles win.
      const look = await page.$$eval(".output_html table.realm-trace, .output_html table.realm-rtt", (ts) =>
        ts.map((t) => ({
          left: t.getBoundingClientRect().left - (t.parentElement?.getBoundingClientRect().left ?? 0),
          aligns: [...t.querySelectorAll("tbody tr:first-child td")].map((td) => getComputedStyle(td).textAlign),
          heads: [...t.querySelectorAll("thead th")].map((th) => getComputedStyle(th).textAlign),
        })),
      );
      expect(look.length).toBeGreaterThanOrEqual(2);
      for (const t of look) {
        expect(t.left).toBeLessThan(20); // not centred (the output area pads by a few px)
        expect(t.aligns.every((a) => a === "left" || a === "right")).toBe(true);
      }
      const trace = look.find((t) => t.heads[0] === "right")!; // the trace table: "#" right, command left
      expect(trace.aligns[0]).toBe("right");
      expect(trace.heads.slice(-1)).toEqual(["left"]);
    });
  }, 60_000);

  it("3. an interrupted long cell: KeyboardInterrupt, and the kernel stays usable", async () => {
    await step("interrupt", async () => {
      await page.evaluate(() => {
        const J = (window as any).Jupyter;
        const c = J.notebook.insert_cell_at_bottom("code");
        c.set_text("let laps = 0;\nfor (;;) { await new Promise<void>((r) => setTimeout(r, 10)); laps++; }");
        c.execute();
      });
      await new Promise((r) => setTimeout(r, 2500));
      await page.evaluate(() => (window as any).Jupyter.notebook.kernel.interrupt());
      const last = await waitFor("the interrupted cell to finish", async () => {
        const s = await cellStates();
        const c = s[s.length - 1]!;
        return typeof c.prompt === "number" ? c : undefined;
      }, 30_000);
      expect(last.errors).toHaveLength(1);
      expect(last.errors[0]).toMatch(/^KeyboardInterrupt/);
      await page.evaluate(() => {
        const J = (window as any).Jupyter;
        const c = J.notebook.insert_cell_at_bottom("code");
        c.set_text("const lapsNow = laps;\nawait new Promise<void>((r) => setTimeout(r, 200));\n`${laps > 0} ${laps === lapsNow}`");
        c.execute();
      });
      const after = await waitFor("the next cell", async () => {
        const text = await page.evaluate(() => {
          const J = (window as any).Jupyter;
          const cells = J.notebook.get_cells();
          const c = cells[cells.length - 1];
          return typeof c.input_prompt_number === "number" ? c.output_area.outputs.map((o: any) => o.data?.["text/plain"] ?? `${o.ename}: ${o.evalue}`).join("") : undefined;
        });
        return text;
      }, 30_000);
      expect(after).toBe("'true true'");
    });
  }, 60_000);
});
