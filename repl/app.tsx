/**
 * The `realm>` REPL (Ink): scrollback in <Static> (rendered once per item), a status line, a
 * live accounting chart while a long command runs, and an input line with history (up/down,
 * Ctrl-R), Tab completion and the usual editing keys. All simulation work goes through the
 * session; this file only handles keys and draws results.
 */
import { Box, Static, Text, useApp, useInput, type Key } from "ink";
import React, { useCallback, useEffect, useRef, useState } from "react";
import { BUILTIN_COMMANDS } from "../src/commands/builtin/index.js";
import { chartSeries } from "../src/commands/builtin/inspect.js";
import { findCommand } from "../src/commands/parser.js";
import { textChart } from "../src/commands/render/chart.js";
import type { Progress, RunResult, Session, StatusInfo } from "../src/commands/session.js";
import type { History } from "./history.js";
import * as E from "./line-editor.js";

export interface ScrollItem {
  id: number;
  type: "banner" | "cmd" | "out" | "err" | "info" | "chart";
  text: string;
}

export interface AppProps {
  session: Session;
  history: History;
  /** Called once when the REPL ends (exit command, Ctrl-D, Ctrl-C twice). */
  onExit?: (code: number) => void;
  /** Terminal width for the live chart (default: 80). */
  columns?: number;
  banner?: string;
}

interface Busy {
  line: string;
  controller: AbortController;
  progress?: Progress;
  chart?: string;
  stopping?: boolean;
}

interface Search {
  query: string;
  /** Index of the current match in history, if any. */
  index?: number;
  match?: string;
}

const PROMPT = "realm> ";
const MAX_SHOWN_COMPLETIONS = 40;

/** Colour of one output line (status words stand out). */
function lineColor(line: string, type: ScrollItem["type"]): string | undefined {
  if (type === "err") return "red";
  if (type === "info") return "gray";
  if (/^(RMI_ERROR|SMC_UNKNOWN|RMI_BUSY|RMI_BLOCKED)/.test(line)) return "red";
  if (/^RMI_SUCCESS/.test(line)) return "green";
  if (/\bWARN/.test(line)) return "yellow";
  return undefined;
}

export const ItemView = React.memo(function ItemView({ item }: { item: ScrollItem }) {
  if (item.type === "cmd") {
    return (
      <Text>
        <Text color="green">{PROMPT}</Text>
        {item.text}
      </Text>
    );
  }
  if (item.type === "banner" || item.type === "chart") return <Text color="cyan">{item.text}</Text>;
  const lines = item.text.split("\n");
  return (
    <Box flexDirection="column">
      {lines.map((l, i) => (
        <Text key={i} color={lineColor(l, item.type)}>
          {l === "" ? " " : l}
        </Text>
      ))}
    </Box>
  );
});

export function statusText(st: StatusInfo): string {
  const g = Object.entries(st.granules)
    .filter(([, v]) => v !== 0)
    .map(([k, v]) => `${k} ${v}`)
    .join("  ");
  const where = st.realm !== null ? `realm ${st.realm} · ${st.series}` : `no realm · ${st.machine}`;
  return `${where} · RMM ${st.abi} · ${g || "no delegated granules"}`;
}

function InputLine({ line, search, busy }: { line: E.Line; search: Search | null; busy: boolean }) {
  if (search !== null) {
    return (
      <Text>
        <Text color="yellow">{`(reverse-i-search)'${search.query}': `}</Text>
        {search.match ?? ""}
      </Text>
    );
  }
  const before = line.text.slice(0, line.cursor);
  const at = line.text[line.cursor] ?? " ";
  const after = line.text.slice(line.cursor + 1);
  return (
    <Text>
      <Text color={busy ? "gray" : "green"}>{PROMPT}</Text>
      {before}
      <Text inverse>{at}</Text>
      {after}
    </Text>
  );
}

export function App({ session, history, onExit, columns = 80, banner }: AppProps) {
  const { exit } = useApp();
  const [items, setItems] = useState<ScrollItem[]>(() => [
    { id: 0, type: "banner", text: banner ?? "cca-realm-sim — type 'help' for commands, Tab completes, Ctrl-D exits" },
  ]);
  const [line, setLineState] = useState<E.Line>(E.EMPTY);
  const [completions, setCompletions] = useState<string[] | null>(null);
  const [search, setSearchState] = useState<Search | null>(null);
  const [hint, setHint] = useState<string | null>(null);
  const [busy, setBusyState] = useState<Busy | null>(null);
  const [status, setStatus] = useState<StatusInfo>(() => session.status());
  // Refs hold the latest values for the key handler (keys can arrive faster than renders).
  const lineRef = useRef<E.Line>(E.EMPTY);
  const searchRef = useRef<Search | null>(null);
  const busyRef = useRef<Busy | null>(null);
  const queue = useRef<string[]>([]);
  const nextId = useRef(1);
  const lastCtrlC = useRef(false);
  const exited = useRef(false);
  const lastChart = useRef(0);
  /** Set by `chart --live on` (off by `--live off`): keep the live chart's final frame. */
  const keepLiveFrame = useRef(false);

  const setLine = (l: E.Line) => {
    lineRef.current = l;
    setLineState(l);
  };
  const setSearch = (s: Search | null) => {
    searchRef.current = s;
    setSearchState(s);
  };
  const setBusy = (b: Busy | null) => {
    busyRef.current = b;
    setBusyState(b);
  };
  const push = (...add: Omit<ScrollItem, "id">[]) => {
    const withIds = add.map((x) => ({ ...x, id: nextId.current++ }));
    setItems((prev) => [...prev, ...withIds]);
  };

  const finish = useCallback(
    (code: number) => {
      if (exited.current) return;
      exited.current = true;
      onExit?.(code);
      exit();
    },
    [exit, onExit],
  );

  const runLine = useCallback(
    async (text: string) => {
      history.add(text);
      push({ type: "cmd", text });
      if (text.trim() === "") return;
      const controller = new AbortController();
      const b: Busy = { line: text, controller };
      setBusy(b);
      let r: RunResult;
      const liveChartText = (): string => {
        const width = Math.max(20, columns - 12);
        return textChart(chartSeries(session.samplesOf(session.machine().label), width), { width, height: 8 });
      };
      const samples = (): number => session.samplesOf(session.machine().label).length;
      const before = samples();
      try {
        r = await session.run(text, {
          signal: controller.signal,
          onProgress: (p) => {
            const now = Date.now();
            // Redraw the live view at most ten times a second.
            if (now - lastChart.current < 100) return;
            lastChart.current = now;
            const chart = session.liveChart ? liveChartText() : undefined;
            const nb: Busy = { ...busyRef.current!, progress: p, ...(chart !== undefined ? { chart } : {}) };
            setBusy(nb);
            setStatus(session.status());
          },
        });
      } catch (e) {
        r = { ok: false, command: "", line: text, value: null, kind: "error", text: `internal error: ${(e as Error).message}`, error: String(e) };
      }
      setBusy(null);
      // After `chart --live on` the live chart's final frame stays, so a guest run too short
      // for a redraw shows it too (the default live view shows only while a command runs).
      if (r.ok && r.command === "chart" && typeof (r.value as { live?: unknown } | null)?.live === "boolean") keepLiveFrame.current = (r.value as { live: boolean }).live;
      if (keepLiveFrame.current && session.liveChart && findCommand(BUILTIN_COMMANDS, r.command)?.interruptible === true && samples() !== before) push({ type: "chart", text: liveChartText() });
      // A command that ran but failed has a result to show and an error to add to it.
      if (!r.ok && r.error !== undefined && r.text !== r.error) {
        if (r.text !== "") push({ type: "out", text: r.text });
        push({ type: "err", text: r.error });
      } else if (r.text !== "") push({ type: r.ok ? "out" : "err", text: r.text });
      if (r.interrupted && !r.text.includes("stopped")) push({ type: "info", text: "(stopped)" });
      setStatus(session.status());
      if (r.exit) finish(0);
    },
    [session, history, columns, finish],
  );

  // Run queued lines one at a time (pasted input may hold several).
  const pump = useCallback(async () => {
    while (queue.current.length > 0 && busyRef.current === null && !exited.current) {
      const next = queue.current.shift()!;
      await runLine(next);
    }
  }, [runLine]);

  const submit = (text: string) => {
    history.reset();
    setCompletions(null);
    setHint(null);
    queue.current.push(text);
    setLine(E.EMPTY);
    void pump();
  };

  const complete = () => {
    const l = lineRef.current;
    const c = session.complete(l.text, l.cursor);
    if (c.items.length === 0) {
      setCompletions(null);
      return;
    }
    const current = l.text.slice(c.start, l.cursor);
    if (c.items.length === 1) {
      const item = c.items[0]!;
      const after = l.text.slice(c.end);
      let nl = E.replaceRange(l, c.start, c.end, item);
      if (!item.endsWith("/")) nl = after.startsWith(" ") ? { ...nl, cursor: nl.cursor + 1 } : E.insert(nl, " ");
      setLine(nl);
      setCompletions(null);
      return;
    }
    if (c.common.length > current.length) setLine(E.replaceRange(l, c.start, l.cursor, c.common));
    setCompletions(c.items);
  };

  const onKey = (input: string, key: Key) => {
    // Ctrl-C: stop a running command; else clear the line; twice on an empty line exits.
    if (key.ctrl && input === "c") {
      const b = busyRef.current;
      if (b !== null) {
        if (!b.stopping) {
          b.controller.abort();
          setBusy({ ...b, stopping: true });
        }
        queue.current.length = 0;
        return;
      }
      if (searchRef.current !== null) {
        setSearch(null);
        return;
      }
      if (lineRef.current.text !== "") {
        setLine(E.EMPTY);
        history.reset();
        setCompletions(null);
        lastCtrlC.current = false;
        setHint(null);
        return;
      }
      if (lastCtrlC.current) {
        finish(0);
        return;
      }
      lastCtrlC.current = true;
      setHint("(press Ctrl-C again to exit, or Ctrl-D)");
      return;
    }
    lastCtrlC.current = false;
    if (hint !== null) setHint(null);

    // Reverse search mode.
    const s = searchRef.current;
    if (s !== null) {
      if (key.ctrl && input === "r") {
        const m = history.search(s.query, s.index ?? history.entries.length);
        if (m !== undefined) setSearch({ query: s.query, index: m.index, match: m.line });
        return;
      }
      if (key.ctrl && input === "g") {
        setSearch(null);
        return;
      }
      if (key.return) {
        setSearch(null);
        if (s.match !== undefined) submit(s.match);
        else setLine(E.EMPTY);
        return;
      }
      if (key.backspace || key.delete) {
        const q = s.query.slice(0, -1);
        const m = history.search(q);
        setSearch({ query: q, ...(m ? { index: m.index, match: m.line } : {}) });
        return;
      }
      if (key.escape || key.leftArrow || key.rightArrow || key.upArrow || key.downArrow || key.tab || key.ctrl) {
        setSearch(null);
        setLine(E.set(s.match ?? lineRef.current.text));
        return;
      }
      if (input !== "") {
        const q = s.query + input;
        const m = history.search(q);
        setSearch({ query: q, ...(m ? { index: m.index, match: m.line } : { match: s.match }) });
      }
      return;
    }

    if (key.ctrl && input === "d") {
      if (lineRef.current.text === "") {
        if (busyRef.current === null) finish(0);
        return;
      }
      setLine(E.deleteForward(lineRef.current));
      return;
    }
    if (key.ctrl && input === "r") {
      setCompletions(null);
      setSearch({ query: "" });
      return;
    }
    if (key.tab) {
      complete();
      return;
    }
    if (completions !== null && !key.tab) setCompletions(null);
    if (key.return) {
      // While a command runs, Enter queues the line (type-ahead; Ctrl-C discards the queue).
      submit(lineRef.current.text);
      return;
    }
    if (key.upArrow) {
      const h = history.up(lineRef.current.text);
      if (h !== undefined) setLine(E.set(h));
      return;
    }
    if (key.downArrow) {
      const h = history.down();
      if (h !== undefined) setLine(E.set(h));
      return;
    }
    const l = lineRef.current;
    if (key.leftArrow) return setLine(key.ctrl || key.meta ? E.wordLeft(l) : E.left(l));
    if (key.rightArrow) return setLine(key.ctrl || key.meta ? E.wordRight(l) : E.right(l));
    if (key.home) return setLine(E.home(l));
    if (key.end) return setLine(E.end(l));
    if (key.backspace || key.delete) return setLine(key.meta ? E.killWordBack(l) : E.backspace(l));
    if (key.ctrl) {
      switch (input) {
        case "a":
          return setLine(E.home(l));
        case "e":
          return setLine(E.end(l));
        case "b":
          return setLine(E.left(l));
        case "f":
          return setLine(E.right(l));
        case "u":
          return setLine(E.killToStart(l));
        case "k":
          return setLine(E.killToEnd(l));
        case "w":
          return setLine(E.killWordBack(l));
        case "l":
          return;
        default:
          return;
      }
    }
    if (key.meta && input === "b") return setLine(E.wordLeft(l));
    if (key.meta && input === "f") return setLine(E.wordRight(l));
    if (key.escape) return;
    if (input === "") return;
    // Pasted text may carry line ends: each complete line is a command.
    if (/[\r\n]/.test(input)) {
      const parts = input.split(/\r\n|\r|\n/);
      const first = E.insert(l, parts[0]!).text;
      if (busyRef.current !== null) {
        queue.current.push(first, ...parts.slice(1, -1));
        setLine(E.set(parts[parts.length - 1]!));
        return;
      }
      submit(first);
      queue.current.push(...parts.slice(1, -1));
      setLine(E.set(parts[parts.length - 1]!));
      void pump();
      return;
    }
    history.reset();
    setLine(E.insert(l, input.replace(/\t/g, " ")));
  };

  useInput(onKey);

  useEffect(() => {
    // After a command finishes, run anything typed/pasted meanwhile.
    if (busy === null) void pump();
  }, [busy, pump]);

  return (
    <Box flexDirection="column">
      <Static items={items}>{(item) => <ItemView key={item.id} item={item} />}</Static>
      {busy !== null && (
        <Box flexDirection="column">
          {busy.chart !== undefined && <Text color="cyan">{busy.chart}</Text>}
          <Text color="gray">
            {busy.stopping ? "stopping… " : "running… "}
            {busy.progress ? `${busy.progress.command} ${busy.progress.done}/${busy.progress.total} ` : ""}
            (Ctrl-C stops{queue.current.length > 0 ? `; ${queue.current.length} queued` : ""})
          </Text>
        </Box>
      )}
      {completions !== null && (
        <Text color="gray">
          {completions.slice(0, MAX_SHOWN_COMPLETIONS).join("  ")}
          {completions.length > MAX_SHOWN_COMPLETIONS ? `  … (${completions.length - MAX_SHOWN_COMPLETIONS} more)` : ""}
        </Text>
      )}
      <InputLine line={line} search={search} busy={busy !== null} />
      {hint !== null && <Text color="gray">{hint}</Text>}
      <Text dimColor>{statusText(status)}</Text>
    </Box>
  );
}
