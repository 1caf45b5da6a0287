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
    if (c === "#") break;
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
          return { words, error: `unterminated ${d === '"' ? "double" : "single"} quote` };
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
  return { words };
}

/** Quote a word for a script line when it needs it. */
export function quoteWord(w: string): string {
  if (w !== "" && /^[A-Za-z0-9_./:=,@+\-]+$/.test(w)) return w;
  return `"${w.replace(/(["\\])/g, "\\$1")}"`;
}
