/**
 * Issue 14: "a test that fails on any import cycle in src/". Every import counts, `import type`
 * and `export ... from` included: a cycle through types still means neither module can be read,
 * moved or tested without the other. The failure message lists each cycle dpdm finds and each
 * tangle (strongly connected set of modules), so the fix can start from the shortest one.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, cyclesOf, importGraph, localEdges, srcImportGraph, tangledComponents } from "./graph.js";

describe("import cycles", () => {
  it("src/ has no import cycle (type-only imports included)", async () => {
    const tree = await srcImportGraph();
    const cycles = cyclesOf(tree).sort((x, y) => x.length - y.length || x.localeCompare(y));
    const tangles = tangledComponents(tree);
    const report = [
      `${cycles.length} import cycle(s) in src/ (dpdm), shortest first:`,
      ...cycles.map((c, i) => `  ${i + 1}) ${c.replaceAll("src/", "")}`),
      `${tangles.length} tangle(s) (modules that all reach each other):`,
      ...tangles.map((t) => `  ${t.length} modules: ${t.map((f) => f.replace("src/", "")).join(" ")}`),
    ].join("\n");
    expect(cycles.length + tangles.length, report).toBe(0);
  });

  it("the graph is complete: every relative import in src/ resolves, and `import type` lines are edges", async () => {
    const tree = await srcImportGraph();
    const files = Object.keys(tree).filter((f) => f.startsWith("src/"));
    expect(files.length).toBeGreaterThan(100);
    const unresolved = Object.entries(tree).flatMap(([f, deps]) => (deps ?? []).filter((d) => d.id === null && d.request.startsWith(".")).map((d) => `${f}: ${d.request}`));
    expect(unresolved).toEqual([]);
    const edges = new Set(localEdges(tree).map((e) => `${e.from} ${e.request}`));
    let typeOnly = 0;
    const missing: string[] = [];
    for (const f of files) {
      const text = readFileSync(join(ROOT, f), "utf8");
      for (const m of text.matchAll(/^import type [^;]*? from "(\.[^"]+)";/gms)) {
        typeOnly++;
        if (!edges.has(`${f} ${m[1]}`)) missing.push(`${f}: import type ... from "${m[1]}"`);
      }
    }
    expect(typeOnly).toBeGreaterThan(10);
    expect(missing).toEqual([]);
  });

  it("finds a cycle closed by a type-only import (fixture)", async () => {
    const tree = await importGraph("*.ts", join(ROOT, "test/architecture/fixtures/cycle"));
    expect(cyclesOf(tree)).toEqual(["a.ts -> b.ts -> a.ts"]);
    expect(tangledComponents(tree)).toEqual([["a.ts", "b.ts"]]);
  });
});
