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

await startKernel(configPath(process.argv.slice(2)));
