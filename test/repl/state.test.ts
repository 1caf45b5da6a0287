/**
 * The REPL's reducer (repl/state.ts) without Ink: every key action in line mode, in a reverse
 * search and while a command runs, and the runner's progress / done reports. keyAction
 * (repl/keys.ts): which action each key means.
 */
import type { Key } from "ink";
import { describe, expect, it } from "vitest";
import type { Completion, RunResult, StatusInfo } from "../../src/commands/session.js";
import { keyAction } from "../../repl/keys.js";
import { CTRL_C_HINT, initialState, replReducer, type Completer, type ReplAction, type ReplState } from "../../repl/state.js";

const STATUS: StatusInfo = { realm: null, series: null, abi: "1.0", machine: "bare", granules: {}, realms: 0, live: true };
const STATUS2: StatusInfo = { ...STATUS, granules: { DELEGATED: 1 } };

function start(history: string[] = [], historyLimit?: number): ReplState {
  return initialState({ status: STATUS, history, ...(historyLimit !== undefined ? { historyLimit } : {}) });
}
const run = (s: ReplState, ...actions: ReplAction[]): ReplState => actions.reduce(replReducer, s);
const type = (text: string): ReplAction => ({ type: "insert", text });
const SUBMIT: ReplAction = { type: "submit" };
const CTRL_C: ReplAction = { type: "interrupt" };
const CTRL_D: ReplAction = { type: "eof" };
const CTRL_R: ReplAction = { type: "search" };
const UP: ReplAction = { type: "history-up" };
const DOWN: ReplAction = { type: "history-down" };
const line = (s: ReplState) => `${s.line.text.slice(0, s.line.cursor)}|${s.line.text.slice(s.line.cursor)}`;
const cmds = (s: ReplState) => s.items.filter((i) => i.type === "cmd").map((i) => i.text);

function result(over: Partial<RunResult> = {}): RunResult {
  return { ok: true, command: "granule", line: "granule 0x1", value: null, kind: "message", text: "done", ...over };
}
function done(s: ReplState, over: Partial<RunResult> = {}, liveFrame?: string): ReplState {
  return replReducer(s, { type: "done", id: s.busy!.id, result: result(over), status: STATUS2, ...(liveFrame !== undefined ? { liveFrame } : {}) });
}

/** A completer over fixed candidates for the word before the cursor. */
function completer(items: string[]): Completer & { calls: [string, number][] } {
  const calls: [string, number][] = [];
  const f = (text: string, cursor: number): Completion => {
    calls.push([text, cursor]);
    const startAt = text.lastIndexOf(" ", cursor - 1) + 1;
    let endAt = text.indexOf(" ", cursor);
    if (endAt < 0) endAt = text.length;
    const word = text.slice(startAt, cursor);
    const found = items.filter((i) => i.startsWith(word));
    let common = found[0] ?? "";
    for (const i of found) while (!i.startsWith(common)) common = common.slice(0, -1);
    return { start: startAt, end: endAt, items: found, common };
  };
  return Object.assign(f, { calls });
}

describe("editing keys", () => {
  it("insert, backspace, word kill, cursor moves, kills", () => {
    let s = run(start(), type("smc VERSION"));
    expect(line(s)).toBe("smc VERSION|");
    s = run(s, { type: "backspace", word: false });
    expect(line(s)).toBe("smc VERSIO|");
    s = run(s, { type: "backspace", word: true });
    expect(line(s)).toBe("smc |");
    s = run(s, type("X"), { type: "edit", op: "home" }, { type: "edit", op: "right" });
    expect(line(s)).toBe("s|mc X");
    s = run(s, { type: "edit", op: "wordRight" });
    expect(line(s)).toBe("smc| X");
    s = run(s, { type: "edit", op: "killToEnd" });
    expect(line(s)).toBe("smc|");
    s = run(s, { type: "edit", op: "left" }, { type: "edit", op: "killToStart" });
    expect(line(s)).toBe("|c");
    s = run(s, { type: "edit", op: "end" }, type(" a b"), { type: "edit", op: "wordLeft" });
    expect(line(s)).toBe("c a |b");
    s = run(s, { type: "edit", op: "killWordBack" });
    expect(line(s)).toBe("c |b");
  });

  it("a tab inside typed text becomes a space; empty input, Escape and unbound keys change nothing", () => {
    let s = run(start(), type("a\tb"));
    expect(s.line.text).toBe("a b");
    const before = s;
    s = run(s, type(""), { type: "escape" }, { type: "none" }, { type: "cancel" });
    expect(s).toBe(before);
  });

  it("Ctrl-D deletes forward on a non-empty line", () => {
    const s = run(start(), type("ab"), { type: "edit", op: "left" }, CTRL_D);
    expect(line(s)).toBe("a|");
    expect(run(s, CTRL_D).line.text).toBe("a"); // at the end: nothing to delete
    expect(run(s, CTRL_D).exit).toBeNull();
  });
});

describe("history navigation", () => {
  it("Up keeps the typed line as the draft, stops at the oldest; Down returns to the draft", () => {
    let s = run(start(["help", "smc VERSION 0x10000"]), type("draft"), UP);
    expect(line(s)).toBe("smc VERSION 0x10000|");
    s = run(s, UP);
    expect(s.line.text).toBe("help");
    expect(run(s, UP).line.text).toBe("help");
    s = run(s, DOWN);
    expect(s.line.text).toBe("smc VERSION 0x10000");
    s = run(s, DOWN);
    expect(line(s)).toBe("draft|");
    expect(run(s, DOWN)).toBe(s); // not browsing: nothing
  });

  it("typing stops browsing: Up starts again from the newest, with the new draft", () => {
    let s = run(start(["a1", "a2"]), UP, UP, type("x"));
    expect(s.line.text).toBe("a1x");
    s = run(s, UP);
    expect(s.line.text).toBe("a2");
    s = run(s, DOWN);
    expect(s.line.text).toBe("a1x");
  });

  it("a command that runs is recorded (trimmed, consecutive duplicates once, blank lines not) and browsing restarts", () => {
    let s = run(start(["old"]), UP, type(" "), SUBMIT);
    expect(s.history.entries).toEqual(["old"]); // "old " trims to a duplicate
    s = done(s);
    s = run(s, type("  new  "), SUBMIT);
    s = done(s);
    s = run(s, type("   "), SUBMIT);
    expect(s.history.entries).toEqual(["old", "new"]);
    expect(s.busy).toBeNull();
    s = run(s, UP);
    expect(s.line.text).toBe("new");
  });

  it("past twice the limit, the newest `limit` entries are kept", () => {
    let s = start(["a", "b", "c", "d"], 2);
    s = done(run(s, type("e"), SUBMIT));
    expect(s.history.entries).toEqual(["d", "e"]);
  });
});

describe("submit and the run queue", () => {
  it("Enter when idle starts the line: a cmd item, busy, the line cleared", () => {
    const s = run(start(), type("granule 0x1"), SUBMIT);
    expect(cmds(s)).toEqual(["granule 0x1"]);
    expect(s.busy).toEqual({ id: 1, line: "granule 0x1" });
    expect(s.line.text).toBe("");
  });

  it("an empty line is shown but does not run", () => {
    const s = run(start(), SUBMIT);
    expect(cmds(s)).toEqual([""]);
    expect(s.busy).toBeNull();
  });

  it("Enter while a command runs queues the line; done runs the next; its result shows first", () => {
    let s = run(start(), type("workload seq"), SUBMIT, type("acct"), SUBMIT, type("rtt 0x1"), SUBMIT, type("typing"));
    expect(s.busy?.line).toBe("workload seq");
    expect(s.queue).toEqual(["acct", "rtt 0x1"]);
    expect(s.history.entries).toEqual(["workload seq"]); // recorded when it runs
    expect(s.line.text).toBe("typing");
    s = done(s, { text: "workload seq: 10/10 steps" });
    expect(s.busy?.line).toBe("acct");
    expect(s.queue).toEqual(["rtt 0x1"]);
    expect(s.status).toBe(STATUS2);
    expect(s.items.map((i) => [i.type, i.text])).toEqual([
      ["banner", expect.any(String)],
      ["cmd", "workload seq"],
      ["out", "workload seq: 10/10 steps"],
      ["cmd", "acct"],
    ]);
    expect(new Set(s.items.map((i) => i.id)).size).toBe(s.items.length);
    expect(s.line.text).toBe("typing");
  });

  it("pasted lines run in order; the text after the last line end stays on the line", () => {
    let s = run(start(), type("smc "), type("VERSION 0x10000\r\n\rgranule 0x1\npart"));
    expect(s.busy?.line).toBe("smc VERSION 0x10000");
    expect(s.queue).toEqual(["", "granule 0x1"]);
    expect(line(s)).toBe("part|");
    s = done(s);
    // the blank line is shown and skipped; the next runs
    expect(cmds(s)).toEqual(["smc VERSION 0x10000", "", "granule 0x1"]);
    expect(s.busy?.line).toBe("granule 0x1");
  });

  it("a paste while a command runs only queues", () => {
    const s = run(start(), type("a"), SUBMIT, type("b\rc\rd"));
    expect(s.busy?.line).toBe("a");
    expect(s.queue).toEqual(["b", "c"]);
    expect(s.line.text).toBe("d");
  });

  it("a paste starting with a blank line runs the lines after it", () => {
    const s = run(start(), type("\rx\ry\r"));
    expect(cmds(s)).toEqual(["", "x"]);
    expect(s.busy?.line).toBe("x");
    expect(s.queue).toEqual(["y"]);
  });
});

describe("results (the runner's done and progress)", () => {
  it("a failed command shows its text and its error; an error alone shows once", () => {
    let s = run(start(), type("a"), SUBMIT);
    s = done(s, { ok: false, text: "partial", error: "boom" });
    expect(s.items.slice(-2).map((i) => [i.type, i.text])).toEqual([["out", "partial"], ["err", "boom"]]);
    s = done(run(s, type("b"), SUBMIT), { ok: false, text: "bad", error: "bad" });
    expect(s.items.slice(-1).map((i) => [i.type, i.text])).toEqual([["err", "bad"]]);
    s = done(run(s, type("c"), SUBMIT), { text: "" });
    expect(s.items[s.items.length - 1]!.text).toBe("c"); // nothing shown
  });

  it("an interrupted command gets (stopped) unless its text says so", () => {
    let s = done(run(start(), type("w"), SUBMIT), { text: "3/9 steps", interrupted: true });
    expect(s.items.slice(-1)[0]).toMatchObject({ type: "info", text: "(stopped)" });
    s = done(run(s, type("w"), SUBMIT), { text: "3/9 steps (stopped)", interrupted: true });
    expect(s.items.slice(-1)[0]).toMatchObject({ type: "out", text: "3/9 steps (stopped)" });
  });

  it("progress updates the running command (chart kept when none is given); stale reports are ignored", () => {
    let s = run(start(), type("w"), SUBMIT);
    const id = s.busy!.id;
    s = replReducer(s, { type: "progress", id, progress: { command: "workload", done: 1, total: 9 }, chart: "C1", status: STATUS2 });
    s = replReducer(s, { type: "progress", id, progress: { command: "workload", done: 2, total: 9 }, status: STATUS2 });
    expect(s.busy).toMatchObject({ progress: { done: 2 }, chart: "C1" });
    expect(s.status).toBe(STATUS2);
    expect(replReducer(s, { type: "progress", id: id + 7, progress: { command: "x", done: 1, total: 1 }, status: STATUS })).toBe(s);
    expect(replReducer(s, { type: "done", id: id + 7, result: result(), status: STATUS })).toBe(s);
  });

  it("the live chart's final frame is kept only after `chart --live on`, until `--live off`", () => {
    let s = done(run(start(), type("touch 0x1"), SUBMIT), {}, "FRAME1");
    expect(s.items.some((i) => i.type === "chart")).toBe(false);
    s = done(run(s, type("chart --live on"), SUBMIT), { command: "chart", value: { live: true } });
    expect(s.keepLiveFrame).toBe(true);
    s = done(run(s, type("touch 0x2"), SUBMIT), { text: "ok" }, "FRAME2");
    expect(s.items.slice(-3).map((i) => [i.type, i.text])).toEqual([["cmd", "touch 0x2"], ["chart", "FRAME2"], ["out", "ok"]]);
    s = done(run(s, type("chart --live off"), SUBMIT), { command: "chart", value: { live: false } });
    s = done(run(s, type("touch 0x3"), SUBMIT), {}, "FRAME3");
    expect(s.items.some((i) => i.text === "FRAME3")).toBe(false);
  });

  it("`exit` ends the REPL and the queued lines do not run", () => {
    let s = run(start(), type("exit"), SUBMIT, type("granule 0x1"), SUBMIT);
    s = done(s, { command: "exit", text: "", exit: true });
    expect(s.exit).toBe(0);
    expect(s.busy).toBeNull();
    expect(s.queue).toEqual(["granule 0x1"]);
  });
});

describe("Ctrl-C", () => {
  it("idle: clears a non-empty line; on an empty line asks, and a second exits", () => {
    let s = run(start(), type("granule 0x1"), CTRL_C);
    expect(s.line.text).toBe("");
    expect(s.hint).toBeNull();
    s = run(s, CTRL_C);
    expect(s.hint).toBe(CTRL_C_HINT);
    expect(s.exit).toBeNull();
    s = run(s, CTRL_C);
    expect(s.exit).toBe(0);
  });

  it("idle: any other key in between hides the hint and starts over", () => {
    let s = run(start(), CTRL_C, { type: "none" });
    expect(s.hint).toBeNull();
    s = run(s, CTRL_C);
    expect(s.exit).toBeNull();
    expect(s.hint).toBe(CTRL_C_HINT);
  });

  it("busy: stops the command, discards the queue, keeps the line typed meanwhile", () => {
    let s = run(start(), type("workload seq"), SUBMIT, type("acct"), SUBMIT, type("typed"), CTRL_C);
    expect(s.busy).toMatchObject({ line: "workload seq", stopping: true });
    expect(s.queue).toEqual([]);
    expect(s.line.text).toBe("typed");
    expect(s.exit).toBeNull();
    const again = run(s, CTRL_C);
    expect(again.busy).toBe(s.busy); // already stopping
    s = done(s, { interrupted: true, text: "1/9 steps" });
    expect(s.busy).toBeNull();
    expect(s.line.text).toBe("typed");
    expect(cmds(s)).toEqual(["workload seq"]);
  });

  it("in a search: leaves the search, the line as it was", () => {
    const s = run(start(["abc"]), type("x"), CTRL_R, type("ab"), CTRL_C);
    expect(s.search).toBeNull();
    expect(s.line.text).toBe("x");
  });
});

describe("Ctrl-D", () => {
  it("exits on an empty line when idle", () => {
    expect(run(start(), CTRL_D).exit).toBe(0);
  });
  it("does nothing on an empty line while a command runs", () => {
    const s = run(start(), type("w"), SUBMIT, CTRL_D);
    expect(s.exit).toBeNull();
    expect(s.busy?.line).toBe("w");
  });
});

describe("Ctrl-R reverse search", () => {
  const H = ["smc VERSION 0x10000", "granule 0x80000000", "smc VERSION 0x20000"];

  it("finds the newest match, Ctrl-R the next older, stays at the oldest; Enter runs the match", () => {
    let s = run(start(H), CTRL_R);
    expect(s.search).toEqual({ query: "" });
    s = run(s, type("VERS"));
    expect(s.search).toEqual({ query: "VERS", index: 2, match: "smc VERSION 0x20000" });
    s = run(s, CTRL_R);
    expect(s.search).toEqual({ query: "VERS", index: 0, match: "smc VERSION 0x10000" });
    expect(run(s, CTRL_R)).toBe(s);
    s = run(s, SUBMIT);
    expect(s.search).toBeNull();
    expect(s.busy?.line).toBe("smc VERSION 0x10000");
    expect(s.line.text).toBe("");
  });

  it("a query without a match keeps the last match; Backspace searches again from the newest", () => {
    let s = run(start(H), CTRL_R, type("gran"), type("Z"));
    expect(s.search).toEqual({ query: "granZ", match: "granule 0x80000000" });
    s = run(s, { type: "backspace", word: false });
    expect(s.search).toEqual({ query: "gran", index: 1, match: "granule 0x80000000" });
    s = run(s, { type: "backspace", word: false }, { type: "backspace", word: false }, { type: "backspace", word: false }, { type: "backspace", word: false });
    expect(s.search).toEqual({ query: "" });
  });

  it("Enter without a match clears the line and runs nothing", () => {
    const s = run(start(H), type("typed"), CTRL_R, type("nothing"), SUBMIT);
    expect(s.search).toBeNull();
    expect(s.line.text).toBe("");
    expect(s.busy).toBeNull();
  });

  it("Ctrl-G leaves with the line as it was; other keys leave with the match on the line", () => {
    const base = run(start(H), type("typed"), CTRL_R, type("gran"));
    expect(run(base, { type: "cancel" })).toMatchObject({ search: null, line: { text: "typed" } });
    for (const a of [{ type: "escape" }, { type: "edit", op: "left" }, UP, DOWN, CTRL_D, { type: "complete", complete: completer([]) }] as ReplAction[]) {
      const s = run(base, a);
      expect(s.search, a.type).toBeNull();
      expect(line(s), a.type).toBe("granule 0x80000000|");
    }
    // without a match, the typed line stays
    expect(run(start(H), type("typed"), CTRL_R, { type: "escape" }).line.text).toBe("typed");
    expect(run(base, { type: "none" })).toBe(base);
  });

  it("Ctrl-R hides the completion list", () => {
    const s = run(start(), type("s"), { type: "complete", complete: completer(["smc", "seed"]) });
    expect(s.completions).toEqual(["smc", "seed"]);
    expect(run(s, CTRL_R).completions).toBeNull();
  });
});

describe("Tab completion", () => {
  it("a single candidate replaces the word and adds a space (not after a folder, not twice)", () => {
    const c = completer(["granule", "dir/"]);
    expect(line(run(start(), type("gr"), { type: "complete", complete: c }))).toBe("granule |");
    expect(c.calls).toEqual([["gr", 2]]);
    expect(line(run(start(), type("di"), { type: "complete", complete: c }))).toBe("dir/|");
    // a space already after the word: the cursor moves over it
    const s = run(start(), type("gr 0x1"), { type: "edit", op: "home" }, { type: "edit", op: "right" }, { type: "complete", complete: c });
    expect(line(s)).toBe("granule |0x1");
  });

  it("several candidates: the common prefix is inserted and the choices listed; Tab again keeps them", () => {
    const c = completer(["v10", "v12", "v13", "v14"]);
    let s = run(start(), type("new r --series v"), { type: "complete", complete: c });
    expect(line(s)).toBe("new r --series v1|");
    expect(s.completions).toEqual(["v10", "v12", "v13", "v14"]);
    s = run(s, { type: "complete", complete: c });
    expect(s.completions).toEqual(["v10", "v12", "v13", "v14"]);
    expect(line(s)).toBe("new r --series v1|");
    // the next key hides the list (Ctrl-D on a non-empty line excepted)
    expect(run(s, CTRL_D).completions).not.toBeNull();
    expect(run(s, type("4")).completions).toBeNull();
    expect(run(s, { type: "edit", op: "left" }).completions).toBeNull();
  });

  it("no candidate hides the list and leaves the line", () => {
    let s = run(start(), type("s"), { type: "complete", complete: completer(["smc", "seed"]) });
    s = run(s, type("x"), { type: "complete", complete: completer(["smc", "seed"]) });
    expect(s.completions).toBeNull();
    expect(line(s)).toBe("sx|");
  });
});

describe("purity", () => {
  function deepFreeze<T>(o: T): T {
    if (o !== null && typeof o === "object" && !Object.isFrozen(o)) {
      Object.freeze(o);
      for (const v of Object.values(o)) deepFreeze(v);
    }
    return o;
  }
  it("no action changes the state it is given; the same actions give the same state", () => {
    const c = completer(["smc", "seed", "granule"]);
    const script: ReplAction[] = [
      type("s"), { type: "complete", complete: c }, type("m"), { type: "complete", complete: c }, SUBMIT, type("x\ry\rz"), CTRL_C, CTRL_C,
      UP, DOWN, CTRL_R, type("sm"), CTRL_R, { type: "backspace", word: false }, { type: "escape" }, { type: "edit", op: "home" },
      CTRL_D, { type: "backspace", word: true }, CTRL_C, CTRL_C, { type: "none" }, CTRL_C, CTRL_C,
    ];
    const play = () => {
      let s = deepFreeze(start(["seed 1", "smc VERSION 0x10000"]));
      for (const a of script) {
        s = deepFreeze(replReducer(s, a));
        if (s.busy !== null) s = deepFreeze(done(s, { text: `ran ${s.busy.line}` }));
      }
      return s;
    };
    const a = play();
    expect(a.exit).toBe(0);
    expect(cmds(a)).toEqual(["smc ", "x", "y"]);
    expect(play()).toEqual(a);
  });
});

describe("keyAction: which action each key means", () => {
  const K = (over: Partial<Key> = {}): Key => ({
    upArrow: false, downArrow: false, leftArrow: false, rightArrow: false, pageDown: false, pageUp: false, home: false, end: false,
    return: false, escape: false, ctrl: false, shift: false, tab: false, backspace: false, delete: false, meta: false,
    super: false, hyper: false, capsLock: false, numLock: false, ...over,
  });
  const c = completer([]);
  const act = (input: string, over: Partial<Key> = {}) => keyAction(input, K(over), c);

  it("Ctrl letters: the emacs bindings; others are escape", () => {
    expect(act("c", { ctrl: true })).toEqual({ type: "interrupt" });
    expect(act("d", { ctrl: true })).toEqual({ type: "eof" });
    expect(act("r", { ctrl: true })).toEqual({ type: "search" });
    expect(act("g", { ctrl: true })).toEqual({ type: "cancel" });
    expect(act("a", { ctrl: true })).toEqual({ type: "edit", op: "home" });
    expect(act("e", { ctrl: true })).toEqual({ type: "edit", op: "end" });
    expect(act("b", { ctrl: true })).toEqual({ type: "edit", op: "left" });
    expect(act("f", { ctrl: true })).toEqual({ type: "edit", op: "right" });
    expect(act("u", { ctrl: true })).toEqual({ type: "edit", op: "killToStart" });
    expect(act("k", { ctrl: true })).toEqual({ type: "edit", op: "killToEnd" });
    expect(act("w", { ctrl: true })).toEqual({ type: "edit", op: "killWordBack" });
    expect(act("l", { ctrl: true })).toEqual({ type: "escape" });
  });

  it("named keys", () => {
    expect(act("", { return: true })).toEqual({ type: "submit" });
    expect(act("", { tab: true })).toEqual({ type: "complete", complete: c });
    expect(act("", { tab: true, shift: true })).toEqual({ type: "complete", complete: c });
    expect(act("", { upArrow: true })).toEqual({ type: "history-up" });
    expect(act("", { downArrow: true })).toEqual({ type: "history-down" });
    expect(act("", { leftArrow: true })).toEqual({ type: "edit", op: "left" });
    expect(act("", { leftArrow: true, ctrl: true })).toEqual({ type: "edit", op: "wordLeft" });
    expect(act("", { rightArrow: true, meta: true })).toEqual({ type: "edit", op: "wordRight" });
    expect(act("", { home: true })).toEqual({ type: "edit", op: "home" });
    expect(act("", { end: true })).toEqual({ type: "edit", op: "end" });
    expect(act("", { backspace: true })).toEqual({ type: "backspace", word: false });
    expect(act("", { delete: true })).toEqual({ type: "backspace", word: false });
    expect(act("", { backspace: true, meta: true })).toEqual({ type: "backspace", word: true });
    expect(act("", { escape: true, meta: true })).toEqual({ type: "escape" });
    expect(act("", { pageUp: true })).toEqual({ type: "none" });
  });

  it("Meta-b / Meta-f move by words; other text is typed (pasted text whole)", () => {
    expect(act("b", { meta: true })).toEqual({ type: "edit", op: "wordLeft" });
    expect(act("f", { meta: true })).toEqual({ type: "edit", op: "wordRight" });
    expect(act("x", { meta: true })).toEqual({ type: "insert", text: "x" });
    expect(act("A", { shift: true })).toEqual({ type: "insert", text: "A" });
    expect(act("a\rb\r")).toEqual({ type: "insert", text: "a\rb\r" });
  });
});
