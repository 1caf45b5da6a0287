/**
 * The REPL's side effects, driven by its state (state.ts): run the command in `busy` through
 * the session (recording it in the history file), stop it on Ctrl-C, report
 * progress and the live chart while it runs and its result when it ends (the run actions), and
 * end the REPL when `exit` is set. All simulation work is the session's (src/commands).
 */
import { useApp } from "ink";
import { useCallback, useEffect, useRef, type Dispatch } from "react";
import { BUILTIN_COMMANDS } from "../src/commands/builtin/index.js";
import { chartSeries } from "../src/commands/builtin/inspect.js";
import { findCommand } from "../src/commands/parser.js";
import { textChart } from "../src/commands/render/chart.js";
import type { RunResult, Session } from "../src/commands/session.js";
import type { History } from "./history.js";
import type { Busy, ReplAction } from "./state.js";

/** The live chart redraws at most this often. */
const CHART_INTERVAL_MS = 100;

export interface RunnerOptions {
  session: Session;
  history: History;
  dispatch: Dispatch<ReplAction>;
  /** Terminal width for the live chart. */
  columns: number;
}

/**
 * Run `busy` (once per run id). Returns `stop`, which aborts the command running: App calls it
 * on Ctrl-C, in the key's own turn, before the state changes are rendered (a render can take
 * longer than a step of the command between two of its yields).
 */
export function useCommandRunner(busy: Busy | null, { session, history, dispatch, columns }: RunnerOptions): { stop: () => void } {
  const running = useRef<{ id: number; controller: AbortController } | null>(null);
  const lastChart = useRef(0);
  const latest = useRef(busy);
  latest.current = busy;
  const id = busy?.id;
  const line = busy?.line;

  useEffect(() => {
    if (id === undefined || line === undefined || running.current?.id === id) return;
    const controller = new AbortController();
    running.current = { id, controller };
    // Ctrl-C between the previous command's end and this start: it stops this one.
    if (latest.current?.stopping === true) controller.abort();
    history.add(line);
    const liveChartText = (): string => {
      const width = Math.max(20, columns - 12);
      return textChart(chartSeries(session.samplesOf(session.machine().label), width), { width, height: 8 });
    };
    const samples = (): number => session.samplesOf(session.machine().label).length;
    const before = samples();
    void (async () => {
      let result: RunResult;
      try {
        result = await session.run(line, {
          signal: controller.signal,
          onProgress: (progress) => {
            const now = Date.now();
            if (now - lastChart.current < CHART_INTERVAL_MS) return;
            lastChart.current = now;
            const chart = session.liveChart ? liveChartText() : undefined;
            dispatch({ type: "progress", id, progress, ...(chart !== undefined ? { chart } : {}), status: session.status() });
          },
        });
      } catch (e) {
        result = { ok: false, command: "", line, value: null, kind: "error", text: `internal error: ${(e as Error).message}`, error: String(e) };
      }
      if (running.current?.id === id) running.current = null;
      const frame = session.liveChart && findCommand(BUILTIN_COMMANDS, result.command)?.interruptible === true && samples() !== before;
      dispatch({ type: "done", id, result, ...(frame ? { liveFrame: liveChartText() } : {}), status: session.status() });
    })();
  }, [id, line, session, history, dispatch, columns]);

  const stop = useCallback(() => running.current?.controller.abort(), []);
  return { stop };
}

/** Call `onExit` and unmount once `exit` is set. */
export function useExitWhen(exit: number | null, onExit: ((code: number) => void) | undefined): void {
  const { exit: unmount } = useApp();
  const done = useRef(false);
  useEffect(() => {
    if (exit === null || done.current) return;
    done.current = true;
    onExit?.(exit);
    unmount();
  }, [exit, onExit, unmount]);
}
