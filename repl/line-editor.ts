/**
 * The input line as a value: text and cursor, with the usual editing operations (emacs keys).
 * Pure functions, so every key is O(line length) and easy to test.
 */

export interface Line {
  text: string;
  cursor: number;
}

export const EMPTY: Line = { text: "", cursor: 0 };

export function insert(l: Line, s: string): Line {
  return { text: l.text.slice(0, l.cursor) + s + l.text.slice(l.cursor), cursor: l.cursor + s.length };
}

export function backspace(l: Line): Line {
  if (l.cursor === 0) return l;
  return { text: l.text.slice(0, l.cursor - 1) + l.text.slice(l.cursor), cursor: l.cursor - 1 };
}

export function deleteForward(l: Line): Line {
  if (l.cursor >= l.text.length) return l;
  return { text: l.text.slice(0, l.cursor) + l.text.slice(l.cursor + 1), cursor: l.cursor };
}

export function left(l: Line): Line {
  return { ...l, cursor: Math.max(0, l.cursor - 1) };
}

export function right(l: Line): Line {
  return { ...l, cursor: Math.min(l.text.length, l.cursor + 1) };
}

export function home(l: Line): Line {
  return { ...l, cursor: 0 };
}

export function end(l: Line): Line {
  return { ...l, cursor: l.text.length };
}

/** Ctrl-U: delete from the start of the line to the cursor. */
export function killToStart(l: Line): Line {
  return { text: l.text.slice(l.cursor), cursor: 0 };
}

/** Ctrl-K: delete from the cursor to the end. */
export function killToEnd(l: Line): Line {
  return { text: l.text.slice(0, l.cursor), cursor: l.cursor };
}

/** Ctrl-W: delete the word before the cursor. */
export function killWordBack(l: Line): Line {
  let i = l.cursor;
  while (i > 0 && l.text[i - 1] === " ") i--;
  while (i > 0 && l.text[i - 1] !== " ") i--;
  return { text: l.text.slice(0, i) + l.text.slice(l.cursor), cursor: i };
}

/** Meta-B / Meta-F: move by words. */
export function wordLeft(l: Line): Line {
  let i = l.cursor;
  while (i > 0 && l.text[i - 1] === " ") i--;
  while (i > 0 && l.text[i - 1] !== " ") i--;
  return { ...l, cursor: i };
}

export function wordRight(l: Line): Line {
  let i = l.cursor;
  const n = l.text.length;
  while (i < n && l.text[i] === " ") i++;
  while (i < n && l.text[i] !== " ") i++;
  return { ...l, cursor: i };
}

/** Replace [start, end) with `s`, cursor after it. */
export function replaceRange(l: Line, start: number, endAt: number, s: string): Line {
  return { text: l.text.slice(0, start) + s + l.text.slice(endAt), cursor: start + s.length };
}

export function set(text: string): Line {
  return { text, cursor: text.length };
}
