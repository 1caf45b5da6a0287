"""A real Jupyter client (Debian's jupyter_client) for the kernel tests, driven as JSON lines.

Usage: python3 kclient.py KERNEL_NAME CWD
Reads one JSON request per line on stdin and answers one JSON line on stdout:
  {"op": "kernel_info"} / {"op": "execute", "code": ..., "stop_on_error": true, "timeout": 60}
  {"op": "execute_many", "cells": [{"code": ..., "stop_on_error": ...}, ...]}  (sent back to back)
  {"op": "complete", "code": ..., "cursor_pos": N} / {"op": "inspect", ...} / {"op": "is_complete", "code": ...}
  {"op": "interrupt_during", "code": ..., "after": seconds, "mode": "signal"|"message"}
  {"op": "history", "hist_access_type": "tail"|"range"|"search", ...}  (history_request fields)
  {"op": "comm_open", "target_name": ...}  (answers with the IOPub messages that follow)
  {"op": "shutdown"}  (answers with the reply and whether the process exited by itself)
Every answer carries the reply content and the IOPub messages of the request, in order.
"""
import json
import sys
import time

from jupyter_client.manager import KernelManager


def main():
    name, cwd = sys.argv[1], sys.argv[2]
    km = KernelManager(kernel_name=name)
    km.start_kernel(cwd=cwd)
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    out({"ready": True})
    for line in sys.stdin:
        req = json.loads(line)
        try:
            res = handle(km, kc, req)
        except Exception as e:  # report, keep serving
            res = {"exception": f"{type(e).__name__}: {e}"}
        out(res)
        if req.get("op") == "shutdown":
            break
    try:
        kc.stop_channels()
    except Exception:
        pass
    if km.is_alive():
        km.shutdown_kernel(now=True)


def out(obj):
    sys.stdout.write(json.dumps(obj, default=str) + "\n")
    sys.stdout.flush()


PENDING = {}  # IOPub messages read while waiting for another request, by parent msg_id


def iopub_until_idle(kc, msg_id, timeout):
    msgs = []
    deadline = time.time() + timeout
    backlog = PENDING.pop(msg_id, [])
    while True:
        if backlog:
            m = backlog.pop(0)
        else:
            remaining = deadline - time.time()
            if remaining <= 0:
                raise TimeoutError(f"no idle status for {msg_id}")
            m = kc.get_iopub_msg(timeout=remaining)
        parent = m["parent_header"].get("msg_id")
        if parent != msg_id:
            PENDING.setdefault(parent, []).append(m)
            continue
        t = m["header"]["msg_type"]
        if t == "status":
            if m["content"]["execution_state"] == "idle":
                return msgs
            continue
        msgs.append({"msg_type": t, "content": m["content"]})


def shell_reply(kc, msg_id, timeout):
    deadline = time.time() + timeout
    while True:
        m = kc.get_shell_msg(timeout=max(0.1, deadline - time.time()))
        if m["parent_header"].get("msg_id") == msg_id:
            return {"msg_type": m["header"]["msg_type"], "content": m["content"]}


def control_reply(kc, msg_id, timeout):
    deadline = time.time() + timeout
    while True:
        m = kc.get_control_msg(timeout=max(0.1, deadline - time.time()))
        if m["parent_header"].get("msg_id") == msg_id:
            return m


def handle(km, kc, req):
    op = req["op"]
    timeout = req.get("timeout", 60)
    if op == "kernel_info":
        mid = kc.kernel_info()
        return {"reply": shell_reply(kc, mid, timeout), "iopub": iopub_until_idle(kc, mid, timeout)}
    if op == "execute":
        mid = kc.execute(req["code"], stop_on_error=req.get("stop_on_error", True),
                         silent=req.get("silent", False), store_history=req.get("store_history", True),
                         user_expressions=req.get("user_expressions"))
        reply = shell_reply(kc, mid, timeout)
        return {"reply": reply, "iopub": iopub_until_idle(kc, mid, timeout)}
    if op == "execute_many":
        ids = [kc.execute(c["code"], stop_on_error=c.get("stop_on_error", True)) for c in req["cells"]]
        results = []
        for mid in ids:
            reply = shell_reply(kc, mid, timeout)
            results.append({"reply": reply, "iopub": iopub_until_idle(kc, mid, timeout)})
        return {"results": results}
    if op == "complete":
        mid = kc.complete(req["code"], req.get("cursor_pos"))
        return {"reply": shell_reply(kc, mid, timeout)}
    if op == "inspect":
        mid = kc.inspect(req["code"], req.get("cursor_pos"), detail_level=req.get("detail_level", 0))
        return {"reply": shell_reply(kc, mid, timeout)}
    if op == "history":
        fields = {k: v for k, v in req.items() if k not in ("op", "timeout")}
        msg = kc.session.msg("history_request", {"output": False, "raw": True, **fields})
        kc.shell_channel.send(msg)
        return {"reply": shell_reply(kc, msg["header"]["msg_id"], timeout)}
    if op == "comm_open":
        msg = kc.session.msg("comm_open", {"comm_id": req.get("comm_id", "c0ffee"), "target_name": req["target_name"], "data": {}})
        kc.shell_channel.send(msg)
        return {"iopub": iopub_until_idle(kc, msg["header"]["msg_id"], timeout)}
    if op == "is_complete":
        mid = kc.is_complete(req["code"])
        return {"reply": shell_reply(kc, mid, timeout)}
    if op == "interrupt_during":
        mid = kc.execute(req["code"])
        time.sleep(req.get("after", 1.0))
        t0 = time.time()
        if req.get("mode", "signal") == "message":
            msg = kc.session.msg("interrupt_request", {})
            kc.control_channel.send(msg)
            ctl = control_reply(kc, msg["header"]["msg_id"], timeout)
            control = {"msg_type": ctl["header"]["msg_type"], "content": ctl["content"]}
        else:
            km.interrupt_kernel()
            control = None
        reply = shell_reply(kc, mid, timeout)
        return {"reply": reply, "iopub": iopub_until_idle(kc, mid, timeout), "control": control,
                "seconds_to_reply": time.time() - t0, "alive": km.is_alive()}
    if op == "shutdown":
        mid = kc.shutdown(restart=False)
        ctl = control_reply(kc, mid, timeout)
        deadline = time.time() + 10
        while km.is_alive() and time.time() < deadline:
            time.sleep(0.05)
        return {"reply": {"msg_type": ctl["header"]["msg_type"], "content": ctl["content"]},
                "exited": not km.is_alive()}
    raise ValueError(f"unknown op {op}")


if __name__ == "__main__":
    main()
