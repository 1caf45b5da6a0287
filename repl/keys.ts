/**
 * Keys to actions (state.ts): one table for Ctrl and Meta letters, one for the named keys, and
 * `useReplKeys`, the hook that dispatches the action of each key Ink reports. Which action a
 * key means does not depend on the REPL's state; what the action does (in a search, while a
 * command runs) is the reducer's business.
 */
import { useInput, type Key } from "ink";
import { useCallback } from "react";
import type { Completer, EditOp, KeyAction } from "./state.js";

const edit = (op: EditOp): KeyAction => ({ type: "edit", op });

/** Ctrl-letter bindings (emacs keys); other Ctrl keys are "escape". */
const CTRL: Readonly<Record<string, KeyAction>> = {
  c: { type: "interrupt" },
  d: { type: "eof" },
  r: { type: "search" },
  g: { type: "cancel" },
  a: edit("home"),
  e: edit("end"),
  b: edit("left"),
  f: edit("right"),
  u: edit("killToStart"),
  k: edit("killToEnd"),
  w: edit("killWordBack"),
};

/** Meta-letter bindings; other Meta letters are typed as text. */
const META: Readonly<Record<string, KeyAction>> = {
  b: edit("wordLeft"),
  f: edit("wordRight"),
};

/** Named keys, in the order they are tested; `word`: Ctrl or Meta held. */
const NAMED: readonly [(k: Key) => boolean, (word: boolean, k: Key) => KeyAction][] = [
  [(k) => k.return, () => ({ type: "submit" })],
  [(k) => k.upArrow, () => ({ type: "history-up" })],
  [(k) => k.downArrow, () => ({ type: "history-down" })],
  [(k) => k.leftArrow, (word) => edit(word ? "wordLeft" : "left")],
  [(k) => k.rightArrow, (word) => edit(word ? "wordRight" : "right")],
  [(k) => k.home, () => edit("home")],
  [(k) => k.end, () => edit("end")],
  [(k) => k.backspace || k.delete, (_word, k) => ({ type: "backspace", word: k.meta })],
  [(k) => k.escape, () => ({ type: "escape" })],
];

/**
 * The action of one key as Ink reports it (`input`: the text, empty for named keys, the letter
 * for Ctrl keys; pasted text arrives whole). Tab needs the completer (the session's).
 */
export function keyAction(input: string, key: Key, complete: Completer): KeyAction {
  if (key.ctrl && input !== "") return CTRL[input] ?? { type: "escape" };
  if (key.tab) return { type: "complete", complete };
  for (const [is, action] of NAMED) if (is(key)) return action(key.ctrl || key.meta, key);
  if (key.meta && META[input] !== undefined) return META[input];
  if (key.ctrl) return { type: "escape" };
  return input === "" ? { type: "none" } : { type: "insert", text: input };
}

/** Hand the action of every key to `onKey` (Ink's useInput: raw mode while mounted). */
export function useReplKeys(onKey: (a: KeyAction) => void, complete: Completer): void {
  useInput(useCallback((input: string, key: Key) => onKey(keyAction(input, key, complete)), [onKey, complete]));
}
