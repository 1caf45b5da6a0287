/**
 * What the REPL draws, from its state (state.ts) only: the scrollback in <Static> (rendered
 * once per item), the running command's progress and live chart, the completion choices, the
 * input line (or the reverse search), the Ctrl-C hint and the status line.
 */
import { Box, Static, Text } from "ink";
import React from "react";
import type { StatusInfo } from "../src/commands/session.js";
import type { Line } from "./line-editor.js";
import type { ReplState, ScrollItem, Search } from "./state.js";

export const PROMPT = "realm> ";
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

const ItemView = React.memo(function ItemView({ item }: { item: ScrollItem }) {
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

function InputLine({ line, search, busy }: { line: Line; search: Search | null; busy: boolean }) {
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

export function ReplView({ state }: { state: ReplState }) {
  const { busy, completions, queue } = state;
  return (
    <Box flexDirection="column">
      <Static items={state.items as ScrollItem[]}>{(item) => <ItemView key={item.id} item={item} />}</Static>
      {busy !== null && (
        <Box flexDirection="column">
          {busy.chart !== undefined && <Text color="cyan">{busy.chart}</Text>}
          <Text color="gray">
            {busy.stopping ? "stopping… " : "running… "}
            {busy.progress ? `${busy.progress.command} ${busy.progress.done}/${busy.progress.total} ` : ""}
            (Ctrl-C stops{queue.length > 0 ? `; ${queue.length} queued` : ""})
          </Text>
        </Box>
      )}
      {completions !== null && (
        <Text color="gray">
          {completions.slice(0, MAX_SHOWN_COMPLETIONS).join("  ")}
          {completions.length > MAX_SHOWN_COMPLETIONS ? `  … (${completions.length - MAX_SHOWN_COMPLETIONS} more)` : ""}
        </Text>
      )}
      <InputLine line={state.line} search={state.search} busy={busy !== null} />
      {state.hint !== null && <Text color="gray">{state.hint}</Text>}
      <Text dimColor>{statusText(state.status)}</Text>
    </Box>
  );
}
