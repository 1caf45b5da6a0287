/**
 * kernel/wire.ts: a message written by sendMessage parses back (routing identities, headers,
 * content); a reply answers its request (parent header, session, fresh msg_id); a frame
 * changed after signing, a wrong key or a missing delimiter is refused. (The protocol tests
 * drive the same code through jupyter_client.)
 */
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { parseMessage, replyTo, sendMessage, type Message } from "../../kernel/wire.js";

const KEY = "0f1e2d3c-key";

function frames(msg: Message, key = KEY): Buffer[] {
  let sent: (Buffer | string)[] = [];
  sendMessage(key, { send: (f) => (sent = f) }, msg);
  return sent.map((f) => (typeof f === "string" ? Buffer.from(f) : f));
}

const request: Message = {
  identity: [Buffer.from("client-a"), Buffer.from("client-b")],
  header: { msg_id: "m1", session: "s1", username: "u", date: "2026-12-07T00:00:00.000Z", msg_type: "execute_request", version: "5.3" },
  parent: {},
  metadata: {},
  content: { code: "1 + 1", silent: false },
};

describe("wire", () => {
  it("frames: identities, <IDS|MSG>, the HMAC-SHA256 of the four JSON parts, the parts", () => {
    const f = frames(request);
    expect(f.map(String).slice(0, 3)).toEqual(["client-a", "client-b", "<IDS|MSG>"]);
    const parts = f.slice(4);
    expect(parts.map((p) => JSON.parse(String(p)))).toEqual([request.header, {}, {}, request.content]);
    const h = createHmac("sha256", KEY);
    for (const p of parts) h.update(p);
    expect(String(f[3])).toBe(h.digest("hex"));
  });

  it("parses back what it sends", () => {
    expect(parseMessage(KEY, frames(request))).toEqual(request);
  });

  it("a reply answers its request: same routing and session, the request's header as parent, a fresh id", () => {
    const r = replyTo(request, "execute_reply", { status: "ok" });
    expect(r.identity).toBe(request.identity);
    expect(r.parent).toBe(request.header);
    expect(r.header).toMatchObject({ session: "s1", username: "u", msg_type: "execute_reply", version: "5.3" });
    expect(r.header.msg_id).toMatch(/^[0-9a-f]{32}$/);
    expect(replyTo(request, "status", {}).header.msg_id).not.toBe(r.header.msg_id);
    expect(parseMessage(KEY, frames(r))).toEqual({ ...r, parent: request.header });
  });

  it("refuses a changed frame, a wrong key and a missing delimiter", () => {
    const f = frames(request);
    const changed = [...f.slice(0, 7), Buffer.from(JSON.stringify({ code: "2 + 2", silent: false }))];
    expect(() => parseMessage(KEY, changed)).toThrow(/invalid hmac/);
    expect(() => parseMessage("another key", f)).toThrow(/invalid hmac/);
    expect(() => parseMessage(KEY, f.filter((x) => String(x) !== "<IDS|MSG>"))).toThrow(/missing delimiter/);
  });
});
