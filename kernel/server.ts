/**
 * The kernel's transport: tslab's ZmqServer (node_modules/tslab/dist/jupyter.js) binds the five
 * sockets of the connection file, runs their receive loops and closes them; every request on
 * shell and control goes through one dispatch on its msg_type to a handler (kernel/kernel.ts),
 * as tslab's server does to its JupyterHandler, with the requests tslab does not answer
 * (interrupt, history, comm_*) and the execute reply the handler computes.
 */
import type { HistoryRequest } from "./history.js";
import { loadTslab } from "./tslab.js";
import { parseMessage, replyTo, sendMessage, type Message, type Sendable } from "./wire.js";

/** Publishes one IOPub message (content) of `msgType`, parented to the request. */
export type Io = (msgType: string, content: Record<string, unknown>) => void;

/** Request contents as the messaging spec gives them (fields may be missing or mistyped). */
export type Content = Record<string, unknown>;

/** What a request asks for, without the transport (tslab's JupyterHandler, with more requests). */
export interface KernelHandler {
  /** kernel_info_request */
  handleKernel(): Content;
  /** execute_request: outputs go to `io`; resolves to the execute_reply content. */
  handleExecute(req: Content, io: Io): Promise<Content>;
  handleIsComplete(req: Content): Content;
  handleInspect(req: Content): Content;
  handleComplete(req: Content): Content;
  handleHistory(req: HistoryRequest): Content;
  handleShutdown(req: Content): Content;
  /** interrupt_request (after its reply) and SIGINT. */
  interrupt(): void;
  /** Release what the handler holds (tslab's executor). */
  close(): void;
}

export interface KernelServer {
  /** Read the connection file and bind the sockets. */
  init(): Promise<void>;
  /** Close the handler and the sockets, then exit the process (once). */
  close(): void;
}

/** tslab's ZmqServer serving `handler` on the connection file at `configPath`. */
export function createServer(handler: KernelHandler, configPath: string): KernelServer {
  // tslab's server calls only handler.close() of ours: its own per-type handlers are unused.
  const zmq = new (loadTslab().jupyter.ZmqServer)(handler, configPath);
  const send = (sock: unknown, msg: Message): void => sendMessage(zmq.connInfo.key, sock as Sendable, msg);
  const status = (state: "busy" | "idle", parent: Message): void => send(zmq.iopub, replyTo(parent, "status", { execution_state: state }));

  async function dispatch(sock: unknown, frames: Buffer[]): Promise<void> {
    const msg = parseMessage(zmq.connInfo.key, frames);
    const type = msg.header.msg_type;
    const reply = (replyType: string, content: Content): void => send(sock, replyTo(msg, replyType, content));
    status("busy", msg);
    try {
      switch (type) {
        case "kernel_info_request":
          reply("kernel_info_reply", handler.handleKernel());
          break;
        case "execute_request": {
          const io: Io = (msgType, content) => send(zmq.iopub, replyTo(msg, msgType, content));
          reply("execute_reply", await handler.handleExecute(msg.content, io));
          break;
        }
        case "is_complete_request":
          reply("is_complete_reply", handler.handleIsComplete(msg.content));
          break;
        case "inspect_request":
          reply("inspect_reply", handler.handleInspect(msg.content));
          break;
        case "complete_request":
          reply("complete_reply", handler.handleComplete(msg.content));
          break;
        case "history_request":
          reply("history_reply", handler.handleHistory(msg.content as HistoryRequest));
          break;
        case "interrupt_request":
          reply("interrupt_reply", { status: "ok" });
          handler.interrupt();
          break;
        case "shutdown_request":
          reply("shutdown_reply", handler.handleShutdown(msg.content));
          break;
        // No comm targets in this kernel: an empty list, and a comm opened to an unknown target
        // is closed, as ipykernel does; comm messages are ignored.
        case "comm_info_request":
          reply("comm_info_reply", { status: "ok", comms: {} });
          break;
        case "comm_open":
          send(zmq.iopub, replyTo(msg, "comm_close", { comm_id: msg.content["comm_id"], data: {} }));
          break;
        case "comm_msg":
        case "comm_close":
          break;
        default:
          console.warn(`unknown msg_type: ${type}`);
      }
    } finally {
      status("idle", msg);
    }
    if (type === "shutdown_request") close();
  }
  zmq.handleShellMessage = (sock, ...frames) => dispatch(sock, frames);

  let closed = false;
  function close(): void {
    if (closed) return;
    closed = true;
    zmq.close(); // handler.close(), then the sockets
    // Let the last replies leave, then exit (the client waits for the process to end).
    setTimeout(() => process.exit(0), 50);
  }
  return { init: () => zmq.init(), close };
}
