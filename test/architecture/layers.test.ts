/**
 * Layers point one way (/work/shared/design.md "Layers", issue 14's layout of the host model, and
 * docs/architecture.md, which draws this table). Each row names a layer (a folder of src/, or one
 * file that is its own layer) and the layers it may import from, types included; anything else
 * is a violation. A new folder of src/ fails here until it gets a row (and a place in the doc).
 */
import { describe, expect, it } from "vitest";
import { localEdges, srcImportGraph } from "./graph.js";

const BASE = ["arch"];
const MACHINE = [...BASE, "platform"];
const RMM = [...MACHINE, "rmm"];
const SYSTEM = [...RMM, "system"];
/** What the KVM model may use: the Platform's RMI, the log, the cooperative threads, the page allocator. */
const KVM_DEPS = [...SYSTEM, "trace", "sched", "host/page-alloc"];

/** layer -> the layers it may import (its own always allowed). Bottom of the stack first. */
export const LAYERS: Record<string, { mayImport: string[]; what: string }> = {
  arch: { mayImport: [], what: "encodings and geometry (ESR, PSCI, RIPAS, stage-2 levels), PRNG, chunked tables" },
  platform: { mayImport: BASE, what: "physical memory, memory map, GPT/PAS, the SMC entry" },
  rmm: { mayImport: MACHINE, what: "the RMM: RMI dispatch, one module per command family, RTTs, RECs, realm execution" },
  system: { mayImport: RMM, what: "Platform: machine + RMM + the typed p.rmi wrappers (the package's raw ABI)" },
  trace: { mayImport: RMM, what: "the event log, time series, Chrome trace export" },
  guest: { mayImport: SYSTEM, what: "the realm guest: vCPU operation queues, workloads" },
  sched: { mayImport: [...SYSTEM, "trace"], what: "cooperative threads (generators, locks), run control, the interleaving scheduler" },
  "host/page-alloc": { mayImport: MACHINE, what: "the host kernel's page allocator (a leaf the KVM model, the VMM and fault injection use)" },
  kvm: { mayImport: KVM_DEPS, what: "the posted KVM functions, one per posted C function, on a narrow KvmEnv" },
  "kvm-sync": { mayImport: [...KVM_DEPS, "kvm"], what: "generated (scripts/gen-sync.mjs): src/kvm's generators without their yield points, for a run with no scheduler" },
  faults: { mayImport: [...KVM_DEPS, "kvm"], what: "fault injection at the RMM's call interceptor and the page allocator's hook" },
  vmm: { mayImport: [...KVM_DEPS, "kvm", "kvm-sync", "guest"], what: "the kvmtool-like VMM: start, populate, vCPU run loop, touch, share/unshare" },
  host: { mayImport: [...KVM_DEPS, "kvm", "kvm-sync", "guest", "faults", "vmm"], what: "composition: Host = Platform + page allocator + VMs; snapshots, invariants" },
  scenarios: { mayImport: [...KVM_DEPS, "kvm", "kvm-sync", "guest", "faults", "vmm", "host"], what: "the S01..S33 catalogue, one module per scenario" },
  viz: { mayImport: [...KVM_DEPS, "kvm", "kvm-sync", "guest", "faults", "vmm", "host", "scenarios"], what: "charts, RTT and trace views, MIME bundles" },
  explore: { mayImport: [...KVM_DEPS, "kvm", "kvm-sync", "guest", "faults", "vmm", "host", "scenarios", "viz"], what: "error-path campaigns" },
  commands: { mayImport: [...KVM_DEPS, "kvm", "kvm-sync", "guest", "faults", "vmm", "host", "scenarios", "viz", "explore"], what: "the realm> command language" },
  index: { mayImport: ["*"], what: "src/index.ts, the package's entry point" },
};

/** The layer of a file of src/ (the most specific row), or undefined. */
export function layerOf(file: string): string | undefined {
  if (file === "src/index.ts") return "index";
  const m = /^src\/(.+)\.tsx?$/.exec(file);
  if (m === null) return undefined;
  const path = m[1]!;
  if (LAYERS[path] !== undefined) return path; // a file that is its own layer (host/page-alloc)
  const dir = path.split("/")[0]!;
  return path.includes("/") && LAYERS[dir] !== undefined ? dir : undefined;
}

describe("layers", () => {
  it("every module of src/ belongs to a layer of the table", async () => {
    const tree = await srcImportGraph();
    const homeless = Object.keys(tree).filter((f) => f.startsWith("src/") && layerOf(f) === undefined);
    expect(homeless, "add a row to LAYERS (test/architecture/layers.test.ts) and to docs/architecture.md").toEqual([]);
  });

  it("src/ imports only downwards, and nothing from the front ends (repl/, kernel/) or tests", async () => {
    const tree = await srcImportGraph();
    const violations: string[] = [];
    for (const e of localEdges(tree)) {
      if (!e.from.startsWith("src/")) continue;
      const from = layerOf(e.from);
      if (from === undefined) continue; // reported by the test above
      if (!e.to.startsWith("src/")) {
        violations.push(`${from} -> outside src/: ${e.from} imports ${e.to}`);
        continue;
      }
      const to = layerOf(e.to);
      if (to === undefined || to === from) continue;
      const allowed = LAYERS[from]!.mayImport;
      if (!allowed.includes("*") && !allowed.includes(to)) violations.push(`${from} -> ${to}: ${e.from.slice(4)} imports ${e.to.slice(4)}${e.kind === "StaticExport" ? " (re-export)" : ""}`);
    }
    violations.sort();
    expect(violations, `${violations.length} import(s) against the layer table:\n${violations.join("\n")}\n`).toEqual([]);
  });

  it("the table is acyclic: no layer may import a layer that may import it back", () => {
    const bad: string[] = [];
    for (const [a, row] of Object.entries(LAYERS)) {
      for (const b of row.mayImport) {
        if (b === "*") continue;
        expect(LAYERS[b], `${a} names unknown layer ${b}`).toBeDefined();
        if (LAYERS[b]!.mayImport.includes(a) || LAYERS[b]!.mayImport.includes("*")) bad.push(`${a} <-> ${b}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
