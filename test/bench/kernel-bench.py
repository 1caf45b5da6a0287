"""Kernel benchmark client (Debian's jupyter_client): cold start to the first cell result, and
cell round trips. Usage: python3 kernel-bench.py KERNEL_NAME CWD ROUNDS. Prints one JSON line.

Cold start: from KernelManager.start_kernel() (process spawn) to the execute_reply of the first
cell, with its result received on IOPub. Round trip: execute request sent -> status idle received
(reply and outputs in), for a trivial cell and for a %realm command cell.
"""
import json
import sys
import time

from jupyter_client.manager import KernelManager


def run_cell(kc, code, timeout=120):
    mid = kc.execute(code)
    result = None
    while True:
        m = kc.get_iopub_msg(timeout=timeout)
        if m["parent_header"].get("msg_id") != mid:
            continue
        t = m["header"]["msg_type"]
        if t in ("execute_result", "display_data") and result is None:
            result = m["content"]["data"].get("text/plain")
        if t == "error":
            result = "ERROR " + m["content"].get("ename", "")
        if t == "status" and m["content"]["execution_state"] == "idle":
            return result


def main():
    name, cwd, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    t0 = time.perf_counter()
    km = KernelManager(kernel_name=name)
    km.start_kernel(cwd=cwd)
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    t_ready = time.perf_counter()
    first = run_cell(kc, "1 + 1")
    t_first = time.perf_counter()
    out = {"ready_s": t_ready - t0, "first_result_s": t_first - t0, "first_result": first}
    for label, code in (("trivial", "1 + 1"), ("realm", "%realm acct")):
        run_cell(kc, code)  # warm
        times = []
        for _ in range(rounds):
            s = time.perf_counter()
            r = run_cell(kc, code)
            times.append((time.perf_counter() - s) * 1000)
        times.sort()
        out[label] = {"median_ms": times[len(times) // 2], "p99_ms": times[min(len(times) - 1, int(0.99 * len(times)))], "result": r}
    kc.stop_channels()
    km.shutdown_kernel(now=False)
    print(json.dumps(out))


main()
