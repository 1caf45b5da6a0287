/**
 * The realm> REPL's state as a value and every change to it as an action: `replReducer(state,
 * action)` is a pure function (no Ink, no React, no session), so each key's effect is unit-tested
 * without a terminal (test/repl/state.test.ts). keys.ts maps key presses to the key actions;
 * runner.ts performs what the state asks for (runs the command in `busy`, stops it on Ctrl-C,
 * ends the REPL when `exit` is set) and reports back with the run actions;
 * view.tsx draws the state. Modelled on the split of ink-ui's TextInput (a reducer hook, an
 * input hook, a view).
 */
import type { Completion, Progress, RunResult, StatusInfo } from "../src/commands/session.js";
import { historyNav, navDown, navRecord, navReset, navUp, searchBack, type HistoryNav } from "./history.js";
import * as E from "./line-editor.js";

export interface ScrollItem {
  id: number;
  type: "banner" | "cmd" | "out" | "err" | "info" | "chart";
  text: string;
}

/** The command running (at most one; lines entered meanwhile wait in `queue`). */
export interface Busy {
  /** The id of its "cmd" scrollback item: names this run in the run actions. */
  id: number;
  line: string;
  progress?: Progress;
  /** The live chart's latest frame. */
  chart?: string;
  /** Ctrl-C was pressed (the runner aborted the command; its result is still to come). */
  stopping?: boolean;
}

/** Ctrl-R reverse search. */
export interface Search {
  query: string;
  /** Index of the current match in history, if any. */
  index?: number;
  match?: string;
}

export interface ReplState {
  /** Scrollback (drawn once per item). */
  items: readonly ScrollItem[];
  nextId: number;
  line: E.Line;
  /** The choices Tab found, listed under the prompt. */
  completions: readonly string[] | null;
  search: Search | null;
  hint: string | null;
  busy: Busy | null;
  /** Lines entered while a command runs (type-ahead, pasted lines), run in order. */
  queue: readonly string[];
  status: StatusInfo;
  history: HistoryNav;
  /** The previous key was Ctrl-C on an empty line (a second one exits). */
  lastCtrlC: boolean;
  /** Set by `chart --live on` (off by `--live off`): keep the live chart's final frame. */
  keepLiveFrame: boolean;
  /** Exit code once the REPL should end. */
  exit: number | null;
}

export const DEFAULT_BANNER = "cca-realm-sim — type 'help' for commands, Tab completes, Ctrl-D exits";
export const CTRL_C_HINT = "(press Ctrl-C again to exit, or Ctrl-D)";

export function initialState(opts: { status: StatusInfo; history: readonly string[]; historyLimit?: number; banner?: string }): ReplState {
  return {
    items: [{ id: 0, type: "banner", text: opts.banner ?? DEFAULT_BANNER }],
    nextId: 1,
    line: E.EMPTY,
    completions: null,
    search: null,
    hint: null,
    busy: null,
    queue: [],
    status: opts.status,
    history: historyNav(opts.history, opts.historyLimit),
    lastCtrlC: false,
    keepLiveFrame: false,
    exit: null,
  };
}

/** Cursor moves and kills of the line editor (line-editor.ts), by name. */
export const EDITS = {
  left: E.left,
  right: E.right,
  wordLeft: E.wordLeft,
  wordRight: E.wordRight,
  home: E.home,
  end: E.end,
  killToStart: E.killToStart,
  killToEnd: E.killToEnd,
  killWordBack: E.killWordBack,
} as const;
export type EditOp = keyof typeof EDITS;

/** Completion of a line at a cursor (the session's `complete`). */
export type Completer = (text: string, cursor: number) => Completion;

/** What a key asks for (keys.ts maps keys to these); the meaning can depend on the mode. */
export type KeyAction =
  /** Ctrl-C: stop the running command; else leave the search; else clear the line; twice on an empty line exits. */
  | { type: "interrupt" }
  /** Ctrl-D: exit on an empty line when idle; else delete forward. */
  | { type: "eof" }
  /** Ctrl-R: start a reverse search; in one, the next older match. */
  | { type: "search" }
  /** Ctrl-G: leave the search, line as it was. */
  | { type: "cancel" }
  /** Enter: run the line (queued while a command runs); in a search, run the match. */
  | { type: "submit" }
  /** Tab: complete at the cursor with `complete`. */
  | { type: "complete"; complete: Completer }
  | { type: "history-up" }
  | { type: "history-down" }
  | { type: "edit"; op: EditOp }
  /** Backspace / Delete (`word`: with Meta, the word before the cursor). */
  | { type: "backspace"; word: boolean }
  /** Typed or pasted text (pasted text may hold several lines). */
  | { type: "insert"; text: string }
  /** Escape and Ctrl keys without a binding: leave the search keeping the match. */
  | { type: "escape" }
  /** A key without a binding (Page Up/Down): nothing, but like any key it hides the hint. */
  | { type: "none" };

/** What the runner reports about the command in `busy`. */
export type RunAction =
  | { type: "progress"; id: number; progress: Progress; chart?: string; status: StatusInfo }
  /**
   * The command ended. `liveFrame`: the live chart's final frame, given when the live chart is
   * on, the command is a long-running one and it added samples (shown after `chart --live on`).
   */
  | { type: "done"; id: number; result: RunResult; liveFrame?: string; status: StatusInfo };

export type ReplAction = KeyAction | RunAction;

export function replReducer(s: ReplState, a: ReplAction): ReplState {
  switch (a.type) {
    case "progress":
      if (s.busy?.id !== a.id) return s;
      return { ...s, busy: { ...s.busy, progress: a.progress, ...(a.chart !== undefined ? { chart: a.chart } : {}) }, status: a.status };
    case "done":
      return s.busy?.id === a.id ? finished(s, a) : s;
    case "interrupt":
      return interrupt(s);
  }
  // Any other key ends a pending "press Ctrl-C again" and hides its hint.
  const k: ReplState = s.lastCtrlC || s.hint !== null ? { ...s, lastCtrlC: false, hint: null } : s;
  return k.search !== null ? searchKey(k, k.search, a) : lineKey(k, a);
}

function interrupt(s: ReplState): ReplState {
  if (s.busy !== null) return { ...s, busy: s.busy.stopping ? s.busy : { ...s.busy, stopping: true }, queue: [] };
  if (s.search !== null) return { ...s, search: null };
  if (s.line.text !== "") return { ...s, line: E.EMPTY, history: navReset(s.history), completions: null, lastCtrlC: false, hint: null };
  if (s.lastCtrlC) return endRepl(s, 0);
  return { ...s, lastCtrlC: true, hint: CTRL_C_HINT };
}

function endRepl(s: ReplState, code: number): ReplState {
  return s.exit !== null ? s : { ...s, exit: code };
}

/** A key in reverse-search mode. */
function searchKey(s: ReplState, q: Search, a: KeyAction): ReplState {
  const entries = s.history.entries;
  switch (a.type) {
    case "search": {
      const m = searchBack(entries, q.query, q.index ?? entries.length);
      return m !== undefined ? { ...s, search: { query: q.query, index: m.index, match: m.line } } : s;
    }
    case "cancel":
      return { ...s, search: null };
    case "submit":
      return q.match !== undefined ? submit({ ...s, search: null }, q.match) : { ...s, search: null, line: E.EMPTY };
    case "backspace": {
      const query = q.query.slice(0, -1);
      const m = searchBack(entries, query);
      return { ...s, search: { query, ...(m !== undefined ? { index: m.index, match: m.line } : {}) } };
    }
    case "insert": {
      const query = q.query + a.text;
      const m = searchBack(entries, query);
      return { ...s, search: { query, ...(m !== undefined ? { index: m.index, match: m.line } : { match: q.match }) } };
    }
    case "none":
      return s;
    default:
      // Any other key leaves the search with the match on the line.
      return { ...s, search: null, line: E.set(q.match ?? s.line.text) };
  }
}

/** A key while editing the line. */
function lineKey(s0: ReplState, a: KeyAction): ReplState {
  switch (a.type) {
    case "eof":
      if (s0.line.text === "") return s0.busy === null ? endRepl(s0, 0) : s0;
      return { ...s0, line: E.deleteForward(s0.line) };
    case "search":
      return { ...s0, completions: null, search: { query: "" } };
    case "complete":
      return complete(s0, a.complete);
  }
  // Any other key hides the completion list.
  const s = s0.completions !== null ? { ...s0, completions: null } : s0;
  switch (a.type) {
    case "submit":
      // While a command runs, Enter queues the line (type-ahead; Ctrl-C discards the queue).
      return submit(s, s.line.text);
    case "history-up": {
      const h = navUp(s.history, s.line.text);
      return h !== undefined ? { ...s, history: h.nav, line: E.set(h.line) } : s;
    }
    case "history-down": {
      const h = navDown(s.history);
      return h !== undefined ? { ...s, history: h.nav, line: E.set(h.line) } : s;
    }
    case "edit":
      return { ...s, line: EDITS[a.op](s.line) };
    case "backspace":
      return { ...s, line: a.word ? E.killWordBack(s.line) : E.backspace(s.line) };
    case "insert":
      return insertText(s, a.text);
    default:
      return s;
  }
}

/**
 * Tab: one candidate replaces the word at the cursor (with a space after it unless it is a
 * folder); several extend it by their common prefix and are listed; none hide the list.
 */
function complete(s: ReplState, completer: Completer): ReplState {
  const l = s.line;
  const c = completer(l.text, l.cursor);
  if (c.items.length === 0) return { ...s, completions: null };
  if (c.items.length === 1) {
    const item = c.items[0]!;
    const after = l.text.slice(c.end);
    let line = E.replaceRange(l, c.start, c.end, item);
    if (!item.endsWith("/")) line = after.startsWith(" ") ? { ...line, cursor: line.cursor + 1 } : E.insert(line, " ");
    return { ...s, line, completions: null };
  }
  const current = l.text.slice(c.start, l.cursor);
  return { ...s, line: c.common.length > current.length ? E.replaceRange(l, c.start, l.cursor, c.common) : l, completions: c.items };
}

function insertText(s: ReplState, text: string): ReplState {
  if (text === "") return s;
  if (!/[\r\n]/.test(text)) return { ...s, history: navReset(s.history), line: E.insert(s.line, text.replace(/\t/g, " ")) };
  // Pasted text with line ends: each complete line is a command; the rest stays on the line.
  const parts = text.split(/\r\n|\r|\n/);
  const first = E.insert(s.line, parts[0]!).text;
  const rest = parts.slice(1, -1);
  const line = E.set(parts[parts.length - 1]!);
  if (s.busy !== null) return { ...s, queue: [...s.queue, first, ...rest], line };
  const t = submit(s, first);
  return pump({ ...t, queue: [...t.queue, ...rest], line });
}

function submit(s: ReplState, text: string): ReplState {
  return pump({ ...s, history: navReset(s.history), completions: null, hint: null, queue: [...s.queue, text], line: E.EMPTY });
}

/**
 * Start the queued lines, in order, until one is running: each is recorded in the history and
 * shown as a "cmd" item; a blank line is only shown. The runner runs `busy`.
 */
function pump(s: ReplState): ReplState {
  while (s.queue.length > 0 && s.busy === null && s.exit === null) {
    const [text, ...queue] = s.queue as [string, ...string[]];
    const id = s.nextId;
    s = {
      ...s,
      queue,
      history: navRecord(s.history, text),
      items: [...s.items, { id, type: "cmd", text }],
      nextId: id + 1,
      busy: text.trim() === "" ? null : { id, line: text },
    };
  }
  return s;
}

function push(s: ReplState, ...add: Omit<ScrollItem, "id">[]): ReplState {
  if (add.length === 0) return s;
  return { ...s, items: [...s.items, ...add.map((x, i) => ({ ...x, id: s.nextId + i }))], nextId: s.nextId + add.length };
}

function finished(s: ReplState, a: Extract<RunAction, { type: "done" }>): ReplState {
  const r = a.result;
  const live = (r.value as { live?: unknown } | null)?.live;
  const keepLiveFrame = r.ok && r.command === "chart" && typeof live === "boolean" ? live : s.keepLiveFrame;
  const add: Omit<ScrollItem, "id">[] = [];
  // After `chart --live on` the live chart's final frame stays, so a guest run too short for a
  // redraw shows it too (the default live view shows only while a command runs).
  if (keepLiveFrame && a.liveFrame !== undefined) add.push({ type: "chart", text: a.liveFrame });
  // A command that ran but failed has a result to show and an error to add to it.
  if (!r.ok && r.error !== undefined && r.text !== r.error) {
    if (r.text !== "") add.push({ type: "out", text: r.text });
    add.push({ type: "err", text: r.error });
  } else if (r.text !== "") add.push({ type: r.ok ? "out" : "err", text: r.text });
  if (r.interrupted && !r.text.includes("stopped")) add.push({ type: "info", text: "(stopped)" });
  const t = push({ ...s, busy: null, keepLiveFrame, status: a.status }, ...add);
  // After a command finishes, run anything typed or pasted meanwhile.
  return pump(r.exit ? endRepl(t, 0) : t);
}
