/**
 * A checker of Chrome trace-event JSON the way the viewers read it (Trace Event Format, "JSON
 * Object Format"; Perfetto's JSON importer and chrome://tracing's): the text parses as one
 * object with a `traceEvents` array; every event has a known phase, a name, integer pid/tid and
 * a finite timestamp in microseconds; complete events a duration >= 0; instants a scope;
 * counters numeric args; metadata events a known name and args; and on each thread the
 * complete ("X") slices nest (a slice that starts inside another must end inside it: the
 * viewers cannot draw a partial overlap and Perfetto drops such slices). Returns the problems.
 */
export interface ParsedTrace {
  events: Record<string, any>[];
  threads: Map<string, string>;
  problems: string[];
}

const PHASES = new Set(["B", "E", "X", "i", "I", "C", "M", "b", "e", "n", "s", "t", "f", "P", "O", "N", "D"]);
const METADATA = new Set(["process_name", "process_labels", "process_sort_index", "thread_name", "thread_sort_index"]);

export function parseTrace(text: string): ParsedTrace {
  const problems: string[] = [];
  const threads = new Map<string, string>();
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (e) {
    return { events: [], threads, problems: [`not JSON: ${(e as Error).message}`] };
  }
  const events = (root as { traceEvents?: unknown })?.traceEvents;
  if (!Array.isArray(events)) return { events: [], threads, problems: ["no traceEvents array"] };
  const slices = new Map<string, { ts: number; end: number; name: string }[]>();
  events.forEach((e: Record<string, any>, i) => {
    const where = `event ${i} (${JSON.stringify(e).slice(0, 120)})`;
    if (typeof e !== "object" || e === null) return problems.push(`${where}: not an object`);
    if (!PHASES.has(e.ph)) problems.push(`${where}: unknown ph`);
    if (typeof e.name !== "string" || e.name === "") problems.push(`${where}: no name`);
    if (!Number.isInteger(e.pid) || !Number.isInteger(e.tid)) problems.push(`${where}: pid/tid not integers`);
    if (typeof e.ts !== "number" || !Number.isFinite(e.ts) || e.ts < 0) problems.push(`${where}: bad ts`);
    if (e.args !== undefined && (typeof e.args !== "object" || e.args === null)) problems.push(`${where}: args not an object`);
    switch (e.ph) {
      case "X": {
        if (typeof e.dur !== "number" || !Number.isFinite(e.dur) || e.dur < 0) problems.push(`${where}: X without a duration >= 0`);
        const key = `${e.pid}:${e.tid}`;
        if (!slices.has(key)) slices.set(key, []);
        slices.get(key)!.push({ ts: e.ts, end: e.ts + e.dur, name: e.name });
        break;
      }
      case "i":
      case "I":
        if (e.s !== undefined && !["g", "p", "t"].includes(e.s)) problems.push(`${where}: instant scope not g/p/t`);
        break;
      case "C":
        if (e.args === undefined || Object.keys(e.args).length === 0) problems.push(`${where}: counter without values`);
        for (const [k, v] of Object.entries(e.args ?? {})) if (typeof v !== "number" || !Number.isFinite(v)) problems.push(`${where}: counter ${k} not a number`);
        break;
      case "M":
        if (!METADATA.has(e.name)) problems.push(`${where}: unknown metadata event`);
        if (e.name === "thread_name") {
          if (typeof e.args?.name !== "string") problems.push(`${where}: thread_name without args.name`);
          else threads.set(`${e.pid}:${e.tid}`, e.args.name);
        }
        break;
    }
  });
  for (const [key, list] of slices) {
    list.sort((a, b) => a.ts - b.ts || b.end - a.end);
    const stack: { ts: number; end: number; name: string }[] = [];
    for (const s of list) {
      while (stack.length > 0 && stack[stack.length - 1]!.end <= s.ts) stack.pop();
      const parent = stack[stack.length - 1];
      if (parent !== undefined && s.end > parent.end) problems.push(`thread ${key}: ${s.name} [${s.ts}, ${s.end}) overlaps ${parent.name} [${parent.ts}, ${parent.end}) without nesting`);
      stack.push(s);
    }
  }
  return { events: events as Record<string, any>[], threads, problems };
}
