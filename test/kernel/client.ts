/**
 * Test helper: the realm kernel driven by a real Jupyter client (Debian's jupyter_client, via
 * test/kernel/kclient.py). The kernel is the built one (dist/kernel, `npm test` builds first),
 * registered in a temporary JUPYTER_PATH and started in a temporary folder outside the
 * repository (so package resolution is tested from "any folder").
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { installKernel } from "../../kernel/install.js";

export const ROOT = resolve(fileURLToPath(new URL(".", import.meta.url)), "..", "..");
export const PYTHON = process.env["REALM_PYTHON"] ?? "/usr/bin/python3";

export interface Msg {
  msg_type: string;
  content: Record<string, any>;
}

export interface ExecResult {
  reply: Msg;
  iopub: Msg[];
}

export class KernelClient {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly waiting: ((v: any) => void)[] = [];
  private readonly lines: any[] = [];
  private stderr = "";
  readonly dir: string;
  readonly cwd: string;
  private exited = false;

  private constructor(dir: string, cwd: string, historyFile: string) {
    this.dir = dir;
    this.cwd = cwd;
    this.proc = spawn(PYTHON, [join(ROOT, "test", "kernel", "kclient.py"), "realm", cwd], {
      env: { ...process.env, JUPYTER_PATH: join(dir, "jupyter"), PYDEVD_DISABLE_FILE_VALIDATION: "1", REALM_KERNEL_HISTORY: historyFile },
      cwd,
    });
    this.proc.stderr.on("data", (d: Buffer) => (this.stderr += d.toString()));
    this.proc.on("exit", () => {
      this.exited = true;
      for (const w of this.waiting.splice(0)) w({ exception: `client exited: ${this.stderr.slice(-2000)}` });
    });
    createInterface({ input: this.proc.stdout }).on("line", (l) => {
      const v = JSON.parse(l);
      const w = this.waiting.shift();
      if (w) w(v);
      else this.lines.push(v);
    });
  }

  /**
   * Start a kernel in a fresh temporary folder (or `cwd`). Its input history goes to
   * `historyFile` (default: a file in the temporary folder, never the user's).
   */
  static async start(cwd?: string, historyFile?: string): Promise<KernelClient> {
    if (!existsSync(join(ROOT, "dist", "kernel", "main.js"))) throw new Error("dist/kernel/main.js missing: run npm run build first");
    const dir = mkdtempSync(join(tmpdir(), "realm-kernel-test-"));
    installKernel({ dataDir: join(dir, "jupyter") });
    const work = cwd ?? join(dir, "notebooks");
    if (cwd === undefined) mkdirSync(work);
    const c = new KernelClient(dir, work, historyFile ?? join(dir, "history.jsonl"));
    const ready = await c.next();
    if (!ready.ready) throw new Error(`kernel did not start: ${JSON.stringify(ready)} ${c.stderr}`);
    return c;
  }

  /** The client process (kclient.py), whose stdout and stderr the kernel inherits. */
  get pid(): number {
    return this.proc.pid!;
  }

  private next(): Promise<any> {
    const v = this.lines.shift();
    if (v !== undefined) return Promise.resolve(v);
    if (this.exited) return Promise.resolve({ exception: `client exited: ${this.stderr.slice(-2000)}` });
    return new Promise((r) => this.waiting.push(r));
  }

  async request(req: Record<string, unknown>): Promise<any> {
    this.proc.stdin.write(JSON.stringify(req) + "\n");
    const r = await this.next();
    if (r.exception) throw new Error(r.exception);
    return r;
  }

  execute(code: string, opts: { stop_on_error?: boolean; silent?: boolean; user_expressions?: Record<string, string> } = {}): Promise<ExecResult> {
    return this.request({ op: "execute", code, ...opts });
  }

  async close(): Promise<void> {
    if (!this.exited) {
      this.proc.stdin.end();
      await new Promise<void>((r) => {
        if (this.exited) r();
        else this.proc.on("exit", () => r());
      });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The outputs of one execution, by type. */
export function outputs(r: ExecResult, type: string): Record<string, any>[] {
  return r.iopub.filter((m) => m.msg_type === type).map((m) => m.content);
}

export function stdout(r: ExecResult): string {
  return outputs(r, "stream")
    .filter((c) => c.name === "stdout")
    .map((c) => c.text)
    .join("");
}

export function resultText(r: ExecResult): string | undefined {
  return outputs(r, "execute_result")[0]?.data["text/plain"];
}
