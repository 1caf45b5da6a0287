/**
 * The `realm>` REPL (Ink), in the shape of ink-ui's TextInput: the state and every change to
 * it in a reducer (state.ts), keys mapped to its actions in a hook (keys.ts), the side effects
 * the state asks for in a hook (runner.ts: run the command through the session, abort it, the
 * history file, exit), and a view that only renders (view.tsx). All simulation work goes
 * through the session (src/commands).
 */
import { useCallback, useReducer } from "react";
import type { Session } from "../src/commands/session.js";
import type { History } from "./history.js";
import { useReplKeys } from "./keys.js";
import { useCommandRunner, useExitWhen } from "./runner.js";
import { initialState, replReducer, type KeyAction } from "./state.js";
import { ReplView } from "./view.js";

export interface AppProps {
  session: Session;
  history: History;
  /** Called once when the REPL ends (exit command, Ctrl-D, Ctrl-C twice). */
  onExit?: (code: number) => void;
  /** Terminal width for the live chart (default: 80). */
  columns?: number;
  banner?: string;
}

export function App({ session, history, onExit, columns = 80, banner }: AppProps) {
  const [state, dispatch] = useReducer(replReducer, undefined, () =>
    initialState({ status: session.status(), history: history.entries, historyLimit: history.limit, ...(banner !== undefined ? { banner } : {}) }),
  );
  const complete = useCallback((text: string, cursor: number) => session.complete(text, cursor), [session]);
  const { stop } = useCommandRunner(state.busy, { session, history, dispatch, columns });
  // Ctrl-C aborts a running command at once (the reducer marks it stopping and drops the queue).
  const onKey = useCallback(
    (a: KeyAction) => {
      if (a.type === "interrupt") stop();
      dispatch(a);
    },
    [stop],
  );
  useReplKeys(onKey, complete);
  useExitWhen(state.exit, onExit);
  return <ReplView state={state} />;
}
