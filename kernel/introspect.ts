/**
 * What the kernel answers about code without running it, as ipykernel does for Python:
 * - signature help for `inspect_request` inside a call's arguments (`Host.create(`,
 *   `vm.touch(0x8000_0000n, {`), from TypeScript's own SignatureHelp service run on the program
 *   tslab's converter builds for the cell (captured through the ts.getQuickInfoAtPosition call
 *   tslab makes);
 * - `is_complete_request`: complete / incomplete (an unclosed bracket, template literal or
 *   comment) / invalid (a syntax error more lines cannot fix);
 * - which declarations of a failed cell ran (kept for later cells, as IPython keeps the names a
 *   cell assigned before its exception).
 */

/** The TypeScript API pieces used here (tslab's TypeScript 5.0, @tslab/typescript-for-tslab). */
interface Ts {
  createSourceFile(name: string, text: string, target: number, setParents?: boolean, kind?: number): SourceFileLike;
  ScriptTarget: { Latest: number };
  ScriptKind: { TS: number };
  SyntaxKind: Record<string, number>;
  NodeFlags: { Let: number; Const: number };
  displayPartsToString(parts: readonly { text: string }[] | undefined): string;
  SignatureHelp: {
    getSignatureHelpItems(program: unknown, sourceFile: unknown, position: number, reason: unknown, token: unknown): SignatureHelpItems | undefined;
  };
}

interface NodeLike {
  kind: number;
  pos: number;
  end: number;
  getStart(sf?: SourceFileLike): number;
  getText(sf?: SourceFileLike): string;
  name?: NodeLike & { text?: string; elements?: NodeLike[] };
  declarationList?: { flags: number; declarations: (NodeLike & { name: NodeLike & { text?: string; elements?: NodeLike[] } })[] };
}

interface SourceFileLike extends NodeLike {
  text: string;
  statements: NodeLike[];
  parseDiagnostics?: { start: number; length: number; code: number; messageText: unknown }[];
}

type Parts = { text: string }[];

interface SignatureHelpItems {
  items: {
    prefixDisplayParts: Parts;
    suffixDisplayParts: Parts;
    separatorDisplayParts: Parts;
    parameters: { name: string; displayParts: Parts; documentation: Parts }[];
    documentation: Parts;
    tags: { name: string; text?: Parts }[];
  }[];
  selectedItemIndex: number;
  argumentIndex: number;
}

const TOKEN = { isCancellationRequested: () => false, throwIfCancellationRequested: () => undefined };

/**
 * Signature help at a position of tslab's virtual cell file: the checker and file come from the
 * quick-info call tslab's converter makes (its TypeScript has no language service object).
 */
export function signatureHelp(ts: Ts, sourceFile: unknown, checker: unknown, position: number): SignatureHelpItems | undefined {
  const program = { getTypeChecker: () => checker };
  try {
    return ts.SignatureHelp.getSignatureHelpItems(program, sourceFile, position, { kind: "invoked" }, TOKEN);
  } catch {
    return undefined;
  }
}

function tagLine(ts: Ts, t: { name: string; text?: Parts }): string {
  const text = ts.displayPartsToString(t.text);
  return text === "" ? `@${t.name}` : `@${t.name} ${text}`;
}

/**
 * Signature help as text: the signature being called (the active overload), its doc comment and
 * the current parameter; with detail >= 1 also the @param/@returns/@example tags and the other
 * overloads.
 */
export function formatSignatureHelp(ts: Ts, help: SignatureHelpItems, detail: number): string {
  const sig = (i: number): string => {
    const it = help.items[i]!;
    const params = it.parameters.map((p) => ts.displayPartsToString(p.displayParts)).join(ts.displayPartsToString(it.separatorDisplayParts));
    return ts.displayPartsToString(it.prefixDisplayParts) + params + ts.displayPartsToString(it.suffixDisplayParts);
  };
  const sel = Math.min(Math.max(help.selectedItemIndex, 0), help.items.length - 1);
  const item = help.items[sel]!;
  const out = [sig(sel)];
  if (help.items.length > 1) out[0] += `  (overload ${sel + 1} of ${help.items.length})`;
  const doc = ts.displayPartsToString(item.documentation);
  if (doc !== "") out.push("", doc);
  const param = item.parameters[help.argumentIndex];
  if (param !== undefined) {
    const pdoc = ts.displayPartsToString(param.documentation);
    out.push("", `argument ${help.argumentIndex + 1}: ${ts.displayPartsToString(param.displayParts)}${pdoc === "" ? "" : ` - ${pdoc}`}`);
  }
  if (detail >= 1) {
    if (item.tags.length > 0) out.push("", ...item.tags.map((t) => tagLine(ts, t)));
    const others = help.items.map((_, i) => i).filter((i) => i !== sel);
    if (others.length > 0) out.push("", "other overloads:", ...others.map((i) => "  " + sig(i)));
  }
  return out.join("\n");
}

/** Quick info (a hover) as text; detail >= 1 adds the JSDoc tags. */
export function formatQuickInfo(ts: Ts, info: { displayParts?: Parts; documentation?: Parts; tags?: { name: string; text?: Parts }[] }, detail: number): string {
  const out = [ts.displayPartsToString(info.displayParts)];
  const doc = ts.displayPartsToString(info.documentation);
  if (doc !== "") out.push("", doc);
  const tags = info.tags ?? [];
  if (detail >= 1 && tags.length > 0) out.push("", ...tags.map((t) => tagLine(ts, t)));
  else {
    const params = tags.filter((t) => t.name === "param");
    if (params.length > 0) out.push("", ...params.map((t) => tagLine(ts, t)));
  }
  return out.join("\n");
}

/** Diagnostic codes a continuation line can still fix. */
const UNTERMINATED_TEMPLATE = 1160;
const UNTERMINATED_COMMENT = 1010;
/** A '...' or "..." string cannot continue on the next line. */
const UNTERMINATED_STRING = 1002;

/**
 * is_complete for TypeScript: `complete` when it parses, `incomplete` when every syntax error is
 * at the end of the text (something is still open: a bracket, a block, a template literal, a
 * comment), `invalid` otherwise (a syntax error in the middle, an unterminated '...' string).
 */
export function completeness(ts: Ts, code: string): "complete" | "incomplete" | "invalid" {
  const sf = ts.createSourceFile("cell.ts", code, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const diags = sf.parseDiagnostics ?? [];
  if (diags.length === 0) return "complete";
  if (diags.some((d) => d.code === UNTERMINATED_STRING)) return "invalid";
  const end = code.trimEnd().length;
  const atEnd = (d: { start: number; length: number; code: number }): boolean =>
    d.code === UNTERMINATED_TEMPLATE || d.code === UNTERMINATED_COMMENT || d.start >= end;
  return diags.every(atEnd) ? "incomplete" : "invalid";
}

/** The names a cell's top-level statements declare (variables, functions, classes, enums). */
export function declaredNames(ts: Ts, code: string): Set<string> {
  const sf = ts.createSourceFile("cell.ts", code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const names = new Set<string>();
  const bind = (n: NodeLike | undefined): void => {
    if (n === undefined) return;
    const text = (n as { text?: unknown }).text;
    if (typeof text === "string" && n.kind === ts.SyntaxKind["Identifier"]) names.add(text);
    for (const e of (n as { elements?: NodeLike[] }).elements ?? []) bind((e as NodeLike & { name?: NodeLike }).name ?? e);
  };
  const K = ts.SyntaxKind;
  for (const s of sf.statements) {
    if (s.kind === K["VariableStatement"]) for (const d of s.declarationList!.declarations) bind(d.name);
    else if (s.kind === K["FunctionDeclaration"] || s.kind === K["ClassDeclaration"] || s.kind === K["EnumDeclaration"]) bind(s.name);
  }
  return names;
}

/**
 * The declarations (tslab's .d.ts text for the cell and what it keeps of earlier cells) that
 * stay visible after the cell failed: everything except the cell's own variables, functions,
 * classes and enums whose value was never set (`ran(name)` false) because the error came first.
 */
export function keepDeclarationsThatRan(ts: Ts, decl: string, cellNames: Set<string>, ran: (name: string) => boolean): string {
  const sf = ts.createSourceFile("decl.d.ts", decl, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const K = ts.SyntaxKind;
  const dropped = (name: string | undefined): boolean => name !== undefined && cellNames.has(name) && !ran(name);
  const out: string[] = [];
  for (const s of sf.statements) {
    const text = decl.slice(s.getStart(sf), s.end);
    if (s.kind === K["VariableStatement"]) {
      const decls = s.declarationList!.declarations;
      const kept = decls.filter((d) => !dropped(d.name.text));
      if (kept.length === decls.length) out.push(text);
      else if (kept.length > 0) {
        const head = decl.slice(s.getStart(sf), decls[0]!.getStart(sf));
        out.push(head + kept.map((d) => d.getText(sf)).join(", ") + ";");
      }
    } else if ((s.kind === K["FunctionDeclaration"] || s.kind === K["ClassDeclaration"] || s.kind === K["EnumDeclaration"]) && dropped(s.name?.text)) {
      continue;
    } else out.push(text);
  }
  return out.join("\n") + "\n";
}
