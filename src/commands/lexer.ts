/**
 * Splitting a command line into words: whitespace separates, single or double quotes group,
 * backslash escapes the next character, `#` at the start of a word begins a comment.
 * Every word keeps its position in the line (completion needs it).
 */

export interface Word {
  text: string;
  /** Offset of the word's first character in the line (the opening quote, if quoted). */
  start: number;
  /** Offset just after the word's last character. */
  end: number;
  quoted: boolean;
}

export interface Lexed {
  words: Word[];
  /** Offset of the `#` that begins a comment (the line's length when there is none). */
  commentAt: number;
  /** Set when a quote is left open (the words still hold what was read). */
  error?: string;
}

export function lex(line: string): Lexed {
  const words: Word[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    const c = line[i]!;
    if (c === " " || c === "\t" || c === "\r" || c === "\n") {
      i++;
      continue;
    }
    if (c === "#") return { words, commentAt: i };
    const start = i;
    let text = "";
    let quoted = false;
    while (i < n) {
      const d = line[i]!;
      if (d === " " || d === "\t" || d === "\r" || d === "\n") break;
      if (d === "\\" && i + 1 < n) {
        text += line[i + 1];
        i += 2;
        continue;
      }
      if (d === '"' || d === "'") {
        quoted = true;
        const close = line.indexOf(d, i + 1);
        if (close < 0) {
          text += line.slice(i + 1);
          words.push({ text, start, end: n, quoted });
          return { words, commentAt: n, error: `unterminated ${d === '"' ? "double" : "single"} quote` };
        }
        text += line.slice(i + 1, close);
        i = close + 1;
        continue;
      }
      text += d;
      i++;
    }
    words.push({ text, start, end: i, quoted });
  }
  return { words, commentAt: n };
}

/**
 * Whether a line continues on the next one: it ends (trailing blanks aside) in a backslash that
 * escapes nothing - outside quotes, outside a comment, not itself escaped. A `\` at the end of a
 * comment is part of the comment.
 */
export function endsInContinuation(line: string): boolean {
  const t = line.replace(/[ \t]+$/, "");
  if (!t.endsWith("\\")) return false;
  const lx = lex(t);
  if (lx.error !== undefined || lx.commentAt < t.length) return false;
  let k = 0;
  while (k < t.length && t[t.length - 1 - k] === "\\") k++;
  return k % 2 === 1;
}

/**
 * A line as a script writes it so that reading it back gives the same command: its comment
 * dropped, blanks trimmed, and a final lone backslash (a literal `\` in the last word) doubled so
 * that it does not read as a continuation.
 */
export function scriptForm(line: string): string {
  const t = line.slice(0, lex(line).commentAt).trim();
  return endsInContinuation(t) ? `${t}\\` : t;
}

/**
 * Quote a word for a script line when it needs it, so that `lex` reads it back as the same word
 * (quotes take everything up to the closing quote literally: no escapes inside them).
 */
export function quoteWord(w: string): string {
  if (w !== "" && /^[A-Za-z0-9_./:=,@+\-]+$/.test(w)) return w;
  if (!w.includes("'")) return `'${w}'`;
  if (!w.includes('"')) return `"${w}"`;
  return w.replace(/[^A-Za-z0-9_./:=,@+\-]/g, "\\$&");
}
