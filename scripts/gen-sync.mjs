#!/usr/bin/env node
/**
 * The non-yielding form of the host's thread steps, generated from the one source.
 *
 * The posted functions that can be interleaved with another vCPU thread are written once, as
 * generators (`function* f(...): Gen<T>` in src/kvm): they `yield` a point before each step where
 * another thread may run, and the scheduler (src/sched) steps them. A single thread (an ioctl, the
 * VMM's KVM_RUN, `vm.touch`) has no other thread to run: it drives them with `runSync`, which pays
 * for a generator object per call and a resumption per level for every yield.
 *
 * This script writes src/kvm-sync/, the same functions with the yield points taken out:
 *   - `function* f(...): Gen<T>` becomes `function f(...): T`, a plain function returning
 *     `Gen<T>` (a dispatcher handing over a generator) becomes one returning `T`;
 *   - `yield* g(...)` becomes `g(...)` when g has a generated form, else `runSync(g(...))`;
 *   - `yield pt("...")` (a point where another thread may run, never blocked) goes; any other
 *     `yield p` becomes `syncPoint(p)`, which throws as runSync does when p is blocked (deadlock);
 *   - `return returns(v)` becomes `return v`, and `runSync(g(...))` becomes `g(...)`.
 * Each generated module holds only the converted functions and the private helpers they use; all
 * else (exported helpers, module state) is imported from the source module, so both forms share it.
 * Driving a function with runSync and calling its generated form do the same steps in the same
 * order (test/sched/sync-form.test.ts checks both, and that the files are up to date).
 *
 *   node scripts/gen-sync.mjs           write src/kvm-sync/
 *   node scripts/gen-sync.mjs --check   exit 1 if src/kvm-sync/ is not what this script writes
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SRC = "src/kvm";
const OUT = "src/kvm-sync";
const COOP = "src/sched/coop.ts";

const posix = (p) => p.split("\\").join("/");

/**
 * Generator methods with a single-thread form: RwLock.read / RwLock.write (src/sched/coop.ts),
 * whose readNow / writeNow do what runSync does with their generators. `yield* x.read()` becomes
 * `x.readNow()`; a method not listed here is driven with runSync.
 */
const SYNC_METHODS = new Map([
  ["read", "readNow"],
  ["write", "writeNow"],
]);

function listTs(dir) {
  const out = [];
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...listTs(p));
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(p);
  }
  return out.sort();
}

const isGenType = (t) => t !== undefined && ts.isTypeReferenceNode(t) && t.typeName.getText() === "Gen" && t.typeArguments?.length === 1;
const hasExport = (n) => (ts.canHaveModifiers(n) ? ts.getModifiers(n) ?? [] : []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);

/** A relative import specifier of `from` resolved to a repository path (src/x/y.ts), or null. */
function resolveSpec(from, spec) {
  if (!spec.startsWith(".")) return null;
  const p = posix(relative(ROOT, resolve(ROOT, dirname(from), spec)));
  const ts1 = p.replace(/\.js$/, ".ts");
  if (existsSync(join(ROOT, ts1))) return ts1;
  if (existsSync(join(ROOT, p.replace(/\.js$/, ".tsx")))) return p.replace(/\.js$/, ".tsx");
  if (existsSync(join(ROOT, p, "index.ts"))) return `${p}/index.ts`;
  throw new Error(`gen-sync: ${from}: cannot resolve ${spec}`);
}

/** The specifier with which a module at `from` imports the module at `to` (both repository paths). */
function specFor(from, to) {
  let r = posix(relative(dirname(from), to)).replace(/\.tsx?$/, ".js");
  if (!r.startsWith(".")) r = `./${r}`;
  return r;
}

function parseModule(path) {
  const text = readFileSync(join(ROOT, path), "utf8");
  const sf = ts.createSourceFile(path, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const m = { path, text, sf, decls: new Map(), exported: new Set(), converted: new Set(), generators: new Set(), imports: new Map(), points: new Set() };
  for (const st of sf.statements) {
    if (ts.isImportDeclaration(st)) {
      const spec = st.moduleSpecifier.text;
      const clause = st.importClause;
      if (clause === undefined) continue;
      const typeOnly = clause.isTypeOnly;
      if (clause.name) m.imports.set(clause.name.text, { spec, imported: "default", typeOnly });
      const nb = clause.namedBindings;
      if (nb && ts.isNamespaceImport(nb)) m.imports.set(nb.name.text, { spec, imported: "*", typeOnly });
      if (nb && ts.isNamedImports(nb)) {
        for (const s of nb.elements) m.imports.set(s.name.text, { spec, imported: (s.propertyName ?? s.name).text, typeOnly: typeOnly || s.isTypeOnly });
      }
      continue;
    }
    const names = [];
    if ((ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st) || ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st) || ts.isEnumDeclaration(st)) && st.name) names.push(st.name.text);
    if (ts.isVariableStatement(st)) {
      for (const d of st.declarationList.declarations) {
        if (ts.isIdentifier(d.name)) {
          names.push(d.name.text);
          const init = d.initializer;
          if (init && ts.isCallExpression(init) && ts.isIdentifier(init.expression) && init.expression.text === "pt") m.points.add(d.name.text);
        }
      }
    }
    for (const n of names) {
      if (m.decls.has(n) && ts.isFunctionDeclaration(st) && st.body === undefined) continue; // overload
      m.decls.set(n, st);
      if (hasExport(st)) m.exported.add(n);
    }
    if (ts.isFunctionDeclaration(st) && st.name && st.body && isGenType(st.type)) {
      m.converted.add(st.name.text);
      if (st.asteriskToken) m.generators.add(st.name.text);
    }
  }
  return m;
}

/**
 * A module-level constant that a generated module may copy: `const`, and nothing in its
 * initializer that makes state (`new`, a mutable array or object literal).
 */
function isConstant(st) {
  if ((st.declarationList.flags & ts.NodeFlags.Const) === 0) return false;
  return st.declarationList.declarations.every((v) => {
    if (v.initializer === undefined) return false;
    const readonly = v.type !== undefined && /^readonly\b/.test(v.type.getText());
    let top = v.initializer;
    while (ts.isParenthesizedExpression(top) || ts.isAsExpression(top)) {
      if (ts.isAsExpression(top) && top.type.getText() === "const") return true;
      top = top.expression;
    }
    if (!readonly && (ts.isArrayLiteralExpression(top) || ts.isObjectLiteralExpression(top))) return false;
    let ok = true;
    const visit = (n) => {
      if (ts.isNewExpression(n)) ok = false;
      else ts.forEachChild(n, visit);
    };
    visit(v.initializer);
    return ok;
  });
}

function identifiersIn(node, out = new Set()) {
  const visit = (n) => {
    if (ts.isIdentifier(n)) {
      const p = n.parent;
      const isMemberName = p && ((ts.isPropertyAccessExpression(p) && p.name === n) || (ts.isPropertyAssignment(p) && p.name === n) || (ts.isPropertySignature(p) && p.name === n) || (ts.isMethodDeclaration(p) && p.name === n) || (ts.isPropertyDeclaration(p) && p.name === n));
      if (!isMemberName) out.add(n.text);
    }
    ts.forEachChild(n, visit);
  };
  visit(node);
  return out;
}

export function generate() {
  const modules = new Map();
  for (const p of listTs(SRC)) modules.set(p, parseModule(p));
  const inSet = (p) => modules.get(p)?.converted.size > 0;
  const files = new Map();
  for (const m of modules.values()) {
    if (m.converted.size === 0) continue;
    const outPath = `${OUT}/${m.path.slice(SRC.length + 1)}`;
    /** The converted function an identifier names in this module: local, or imported from a module of the set. */
    const syncName = (name) => {
      if (m.converted.has(name)) return true;
      const imp = m.imports.get(name);
      if (imp === undefined) return false;
      const target = resolveSpec(m.path, imp.spec);
      return target !== null && inSet(target) && modules.get(target).converted.has(imp.imported);
    };
    const isSyncCall = (e) => ts.isCallExpression(e) && ts.isIdentifier(e.expression) && syncName(e.expression.text);
    const isPoint = (e) => (ts.isCallExpression(e) && ts.isIdentifier(e.expression) && e.expression.text === "pt" && e.arguments.every((a) => !ts.isCallExpression(a))) || (ts.isIdentifier(e) && m.points.has(e.text) && !m.exported.has(e.text));

    // the declarations to emit: the converted functions and the private helpers they reach
    const emit = new Set();
    const fromSource = new Set();
    const imported = new Set();
    const queue = [...m.converted];
    while (queue.length > 0) {
      const name = queue.pop();
      const d = m.decls.get(name);
      if (d !== undefined) {
        if (m.converted.has(name)) {
          if (emit.has(d)) continue;
        } else if (m.exported.has(name)) {
          fromSource.add(name);
          continue;
        } else {
          if (emit.has(d)) continue;
          const pure = ts.isFunctionDeclaration(d) || ts.isInterfaceDeclaration(d) || ts.isTypeAliasDeclaration(d) || (ts.isVariableStatement(d) && isConstant(d));
          if (!pure) throw new Error(`gen-sync: ${m.path}: ${name} (module state or a class) is used by a converted function but not exported: export it so both forms share it`);
        }
        emit.add(d);
        for (const id of identifiersIn(d)) if (id !== name) queue.push(id);
      } else if (m.imports.has(name)) imported.add(name);
    }

    const text = m.text;
    const errors = [];
    /** The text of `node` with the conversions applied; `fn` the converted function we are in (or null). */
    const conv = (node, fn) => {
      if (ts.isFunctionLike(node) && node !== fn) {
        const isConv = ts.isFunctionDeclaration(node) && node.parent === m.sf && node.name && m.converted.has(node.name.text);
        if (!isConv && isGenType(node.type)) errors.push(`${m.path}: a nested function returning Gen at ${node.getStart()} is not supported`);
        fn = isConv ? node : null;
      }
      if (fn !== null && ts.isYieldExpression(node) && ts.getContainingFunction(node) === fn) {
        const e = node.expression;
        if (node.asteriskToken) {
          if (isSyncCall(e)) return conv(e, fn);
          if (ts.isCallExpression(e) && ts.isPropertyAccessExpression(e.expression) && SYNC_METHODS.has(e.expression.name.text)) {
            return `${conv(e.expression.expression, fn)}.${SYNC_METHODS.get(e.expression.name.text)}(${e.arguments.map((a) => conv(a, fn)).join(", ")})`;
          }
          return `runSync(${conv(e, fn)})`;
        }
        if (e === undefined || isPoint(e)) return "undefined";
        return `syncPoint(${conv(e, fn)})`;
      }
      if (fn !== null && ts.isExpressionStatement(node) && ts.isYieldExpression(node.expression) && !node.expression.asteriskToken && ts.getContainingFunction(node) === fn) {
        const e = node.expression.expression;
        if (e === undefined || isPoint(e)) return ts.isBlock(node.parent) ? "" : ";";
      }
      if (fn !== null && !fn.asteriskToken && ts.isReturnStatement(node) && node.expression && ts.getContainingFunction(node) === fn) {
        const e = node.expression;
        if (ts.isCallExpression(e) && ts.isIdentifier(e.expression) && e.expression.text === "returns") return `return ${conv(e.arguments[0], fn)};`;
        if (!isSyncCall(e)) return `return runSync(${conv(e, fn)});`;
      }
      if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === "runSync" && node.arguments.length === 1 && isSyncCall(node.arguments[0])) {
        return conv(node.arguments[0], fn);
      }
      if (ts.isIdentifier(node) && syncName(node.text)) {
        const p = node.parent;
        const callee = ts.isCallExpression(p) && p.expression === node;
        const decl = ts.isFunctionDeclaration(p) && p.name === node;
        if (!callee && !decl) errors.push(`${m.path}: ${node.text} used as a value at ${node.getStart()}: only calls can be converted`);
        if (callee) {
          const call = p.parent;
          const ok = (ts.isYieldExpression(call) && call.asteriskToken) || (ts.isCallExpression(call) && ts.isIdentifier(call.expression) && call.expression.text === "runSync") || (ts.isReturnStatement(call) && fn !== null && !fn.asteriskToken);
          if (!ok) errors.push(`${m.path}: a call of ${node.text} at ${node.getStart()} is not driven (yield*, runSync or return): it cannot be converted`);
        }
      }
      // the node's own text with its children converted
      let out = "";
      let pos = node.getStart();
      const isConvDecl = ts.isFunctionDeclaration(node) && node === fn;
      const child = (c) => {
        out += text.slice(pos, c.getStart());
        if (isConvDecl && c === node.asteriskToken) out = out.replace(/\s*$/, "");
        else if (isConvDecl && c === node.type) out += node.type.typeArguments[0].getText();
        else out += conv(c, fn);
        pos = c.end;
      };
      ts.forEachChild(node, child, (arr) => arr.forEach(child));
      out += text.slice(pos, node.end);
      return out;
    };

    const body = [];
    for (const st of m.sf.statements) {
      if (!emit.has(st)) continue;
      const lead = text.slice(st.getFullStart(), st.getStart()).replace(/^\s*\n/, "");
      body.push(lead + conv(st, null));
    }
    if (errors.length > 0) throw new Error(`gen-sync:\n  ${errors.join("\n  ")}`);
    let code = body.join("\n\n").replace(/\n[ \t]*\n(?:[ \t]*\n)+/g, "\n\n");
    // blank lines left by the removed points: drop a line that is only indentation
    code = code.replace(/\n[ \t]+\n/g, "\n");

    // imports: what the emitted code uses, from the sync module when it has a converted form
    const used = identifiersIn(ts.createSourceFile("x.ts", code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS));
    const bySpec = new Map();
    const add = (spec, name, imp, typeOnly) => {
      if (!bySpec.has(spec)) bySpec.set(spec, []);
      const s = imp === name ? name : `${imp} as ${name}`;
      bySpec.get(spec).push(typeOnly ? `type ${s}` : s);
    };
    for (const name of [...imported].sort()) {
      if (!used.has(name)) continue;
      const imp = m.imports.get(name);
      const target = resolveSpec(m.path, imp.spec);
      if (target === null) add(imp.spec, name, imp.imported, imp.typeOnly);
      else if (inSet(target) && modules.get(target).converted.has(imp.imported)) add(specFor(outPath, `${OUT}/${target.slice(SRC.length + 1)}`), name, imp.imported, imp.typeOnly);
      else add(specFor(outPath, target), name, imp.imported, imp.typeOnly);
    }
    for (const name of [...fromSource].sort()) {
      if (!used.has(name)) continue;
      const d = m.decls.get(name);
      add(specFor(outPath, m.path), name, name, ts.isInterfaceDeclaration(d) || ts.isTypeAliasDeclaration(d));
    }
    for (const fn of ["runSync", "syncPoint"]) {
      if (used.has(fn) && !imported.has(fn)) add(specFor(outPath, COOP), fn, fn, false);
    }
    const imports = [...bySpec].map(([spec, names]) => `import { ${names.join(", ")} } from "${spec}";`);
    const header = `// GENERATED by scripts/gen-sync.mjs from ${m.path}: do not edit (node scripts/gen-sync.mjs).\n// The non-yielding form of its thread steps, for a single thread: see the script's header.\n`;
    files.set(outPath, `${header}${imports.join("\n")}\n\n${code}\n`);
  }
  return files;
}

function main() {
  const check = process.argv.includes("--check");
  const files = generate();
  const existing = existsSync(join(ROOT, OUT)) ? listTs(OUT) : [];
  const stale = [];
  for (const [p, content] of files) {
    const cur = existsSync(join(ROOT, p)) ? readFileSync(join(ROOT, p), "utf8") : undefined;
    if (cur === content) continue;
    stale.push(p);
    if (!check) {
      mkdirSync(dirname(join(ROOT, p)), { recursive: true });
      writeFileSync(join(ROOT, p), content);
    }
  }
  for (const p of existing) {
    if (files.has(p)) continue;
    stale.push(p);
    if (!check) rmSync(join(ROOT, p));
  }
  if (check && stale.length > 0) {
    console.error(`gen-sync: out of date (run node scripts/gen-sync.mjs): ${stale.join(", ")}`);
    process.exit(1);
  }
  // quiet when nothing changed (npm run build runs it every time)
  if (!check && stale.length > 0) console.log(`gen-sync: ${OUT}: written ${stale.join(", ")}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
