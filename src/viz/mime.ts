/**
 * Rich display protocol shared by the Jupyter kernel, `display()` and the REPL: a value shows
 * itself as a MIME bundle (Jupyter messaging spec, "display_data": a dict of MIME type -> data;
 * binary data such as image/png is base64). `text/plain` is always present, so every front end
 * has something to show.
 */

/** MIME type -> representation. Binary types (image/png) are base64 strings. */
export type MimeBundle = { "text/plain": string } & { [mime: string]: string };

/**
 * The method a displayable object implements. A symbol (registered, so every copy of the
 * package agrees) rather than a string name, so it never clashes with simulator fields.
 */
export const MIME_BUNDLE: unique symbol = Symbol.for("cca-realm-sim.mimeBundle") as never;

export interface Displayable {
  [MIME_BUNDLE](): MimeBundle;
}

export function isDisplayable(v: unknown): v is Displayable {
  return (
    v !== null &&
    (typeof v === "object" || typeof v === "function") &&
    typeof (v as Record<symbol, unknown>)[MIME_BUNDLE] === "function"
  );
}

/** A ready-made view: fixed representations computed on demand (charts render lazily). */
export class View implements Displayable {
  private cached: MimeBundle | undefined;
  constructor(
    /** What the view shows, e.g. "rtt", "chart", "trace", "scenarios". */
    readonly kind: string,
    private readonly make: () => MimeBundle,
  ) {}

  [MIME_BUNDLE](): MimeBundle {
    if (this.cached === undefined) this.cached = this.make();
    return this.cached;
  }

  /** The text rendering (what a terminal shows). */
  toString(): string {
    return this[MIME_BUNDLE]()["text/plain"];
  }

  /** The representation for one MIME type, if the view has it. */
  get(mime: string): string | undefined {
    return this[MIME_BUNDLE]()[mime];
  }

  /** Node's util.inspect (console.log, the REPL): print the text rendering. */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}
