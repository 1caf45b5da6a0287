/**
 * Jupyter messages on the wire (jupyter_client's messaging spec, "The Wire Protocol"): the
 * routing identities, `<IDS|MSG>`, the HMAC-SHA256 signature, then header, parent header,
 * metadata and content as JSON frames. The same reading and writing as tslab's ZmqMessage
 * (node_modules/tslab/dist/jupyter.js), which tslab does not export: a message is parsed once,
 * and the kernel's one dispatch (kernel/server.ts) switches on its msg_type.
 */
import { createHmac, randomBytes } from "node:crypto";

const DELIM = Buffer.from("<IDS|MSG>");

export interface Header {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
}

export interface Message {
  /** ZeroMQ routing prefix, copied to replies. */
  identity: Buffer[];
  header: Header;
  parent: unknown;
  metadata: Record<string, unknown>;
  content: Record<string, unknown>;
}

/** Anything with zeromq's `send(frames)` (tslab's sockets). */
export interface Sendable {
  send(frames: (Buffer | string)[]): unknown;
}

function sign(key: string, parts: readonly (Buffer | string)[]): string {
  const hash = createHmac("sha256", key);
  for (const p of parts) hash.update(p);
  return hash.digest("hex");
}

/** Parse and verify the frames of one message; throws on a missing delimiter or a bad signature. */
export function parseMessage(key: string, frames: readonly Buffer[]): Message {
  const d = frames.findIndex((f) => f.equals(DELIM));
  if (d < 0) throw new Error("message missing delimiter");
  const hmac = frames[d + 1]?.toString();
  const parts = frames.slice(d + 2);
  const json = (i: number): any => JSON.parse(parts[i]?.toString() ?? "");
  const msg: Message = { identity: frames.slice(0, d), header: json(0), parent: json(1), metadata: json(2), content: json(3) };
  const want = sign(key, parts);
  if (hmac !== want) throw new Error(`invalid hmac ${hmac}; want ${want}`);
  return msg;
}

/** A message of `msgType` answering `parent` (same session and routing; a fresh msg_id). */
export function replyTo(parent: Message, msgType: string, content: Record<string, unknown>): Message {
  return {
    identity: parent.identity,
    header: {
      version: "5.3",
      date: new Date().toISOString(),
      session: parent.header.session,
      username: parent.header.username,
      msg_type: msgType,
      msg_id: randomBytes(16).toString("hex"),
    },
    parent: parent.header,
    metadata: {},
    content,
  };
}

/** Sign `msg` with `key` and send it on `sock`. */
export function sendMessage(key: string, sock: Sendable, msg: Message): void {
  const bodies = [JSON.stringify(msg.header), JSON.stringify(msg.parent), JSON.stringify(msg.metadata), JSON.stringify(msg.content)];
  void sock.send([...msg.identity, DELIM, sign(key, bodies), ...bodies]);
}
