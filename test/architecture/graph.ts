/**
 * The import graph of src/, as dpdm (npm, pinned in package.json) parses it: every `import`,
 * `import type`, `export ... from` and dynamic `import()` between modules, type-only ones
 * included (dpdm's `transform: false` keeps them: a type-only cycle still ties the modules
 * together for a reader and for the compiler). Shared by the architecture tests.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseCircular, parseDependencyTree, type DependencyTree } from "dpdm";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Module graph of the files matching `glob` (relative to `context`), keys and ids relative to it. */
export async function importGraph(glob: string, context: string = ROOT): Promise<DependencyTree> {
  return parseDependencyTree(glob, {
    cwd: context,
    context,
    tsconfig: join(ROOT, "tsconfig.json"),
    transform: false,
    skipDynamicImports: false,
  });
}

let srcGraph: Promise<DependencyTree> | undefined;

/** The graph of src/ (parsed once per test file). */
export function srcImportGraph(): Promise<DependencyTree> {
  srcGraph ??= importGraph("src/**/*.{ts,tsx}");
  return srcGraph;
}

/** Edges between files of the project (node builtins and packages left out). */
export function localEdges(tree: DependencyTree): { from: string; to: string; request: string; kind: string }[] {
  const out: { from: string; to: string; request: string; kind: string }[] = [];
  for (const [from, deps] of Object.entries(tree)) {
    for (const d of deps ?? []) {
      if (d.id === null || d.id.startsWith("node:") || d.id.includes("node_modules/")) continue;
      out.push({ from, to: d.id, request: d.request, kind: d.kind });
    }
  }
  return out;
}

/** The cycles dpdm reports (one per back edge of its depth-first walk), each as a printable chain. */
export function cyclesOf(tree: DependencyTree): string[] {
  return parseCircular(tree, false).map((c) => [...c, c[0]].join(" -> "));
}

/**
 * Strongly connected components with more than one module, or one module that imports itself
 * (Tarjan): a graph has a cycle iff it has one of these. A check independent of dpdm's walk.
 */
export function tangledComponents(tree: DependencyTree): string[][] {
  const adj = new Map<string, string[]>();
  for (const e of localEdges(tree)) {
    if (!adj.has(e.from)) adj.set(e.from, []);
    adj.get(e.from)!.push(e.to);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of adj.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (adj.get(v) ?? []).includes(v)) out.push(comp.sort());
    }
  };
  for (const v of [...adj.keys()].sort()) if (!index.has(v)) visit(v);
  return out.sort((a, b) => b.length - a.length || a[0]!.localeCompare(b[0]!));
}
