#!/usr/bin/env node
/**
 * Entry point Jupyter starts (kernel.json argv): `node dist/kernel/main.js --config-path
 * {connection_file}`. The working directory is the notebook's folder.
 */
import { startKernel } from "./kernel.js";

function configPath(argv: readonly string[]): string {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--config-path" || a === "-f") {
      const v = argv[i + 1];
      if (v !== undefined) return v;
    }
    if (a.startsWith("--config-path=")) return a.slice("--config-path=".length);
  }
  const positional = argv.find((a) => !a.startsWith("-"));
  if (positional !== undefined) return positional;
  throw new Error("realm kernel: usage: main.js --config-path CONNECTION_FILE");
}

/**
 * Node switches the stdout and stderr it inherits to non-blocking mode when they are pipes or
 * sockets (libuv). Those open files are shared with the process that started the kernel
 * (jupyter_client passes its own stdout and stderr): that process's writes larger than the
 * socket buffer then fail part-way (EAGAIN) and its output is cut short. ipykernel leaves them
 * blocking; so does this kernel (the kernel's own writes go to IOPub, not here).
 */
function keepInheritedStdioBlocking(): void {
  for (const s of [process.stdout, process.stderr]) {
    (s as unknown as { _handle?: { setBlocking?: (on: boolean) => unknown } })._handle?.setBlocking?.(true);
  }
}

keepInheritedStdioBlocking();
await startKernel(configPath(process.argv.slice(2)));
