"""Kernel introspection benchmark client (Debian's jupyter_client): cold start to the first cell
result, then complete_request and inspect_request (signature help) reply times.
Usage: python3 kernel-introspect-bench.py KERNEL_NAME CWD ROUNDS. Prints one JSON line.
"""
import json
import sys
import time

from jupyter_client.manager import KernelManager

SETUP = 'import { Host } from "cca-realm-sim";\nconst vm = Host.create({ series: "v12", seed: 1 }).createRealm({ ipaBits: 40, memory: 64n << 20n, vcpus: 1 });'


def reply(kc, mid, timeout=60):
    while True:
        m = kc.get_shell_msg(timeout=timeout)
        if m["parent_header"].get("msg_id") == mid:
            return m["content"]


def timed(kc, send, rounds):
    send()  # warm
    times = []
    last = None
    for _ in range(rounds):
        s = time.perf_counter()
        last = send()
        times.append((time.perf_counter() - s) * 1000)
    times.sort()
    return {"median_ms": times[len(times) // 2], "p99_ms": times[min(len(times) - 1, int(0.99 * len(times)))], "last": last}


def main():
    name, cwd, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    t0 = time.perf_counter()
    km = KernelManager(kernel_name=name)
    km.start_kernel(cwd=cwd)
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    r = reply(kc, kc.execute("1 + 1"))
    t_first = time.perf_counter()
    out = {"first_result_s": t_first - t0, "first_status": r["status"]}
    setup = reply(kc, kc.execute(SETUP))
    out["setup_status"] = setup["status"]
    code_c = "vm.tou"
    code_i = "vm.touch(0x8000_0000n, {"
    c = timed(kc, lambda: reply(kc, kc.complete(code_c, len(code_c))), rounds)
    i = timed(kc, lambda: reply(kc, kc.inspect(code_i, len(code_i))), rounds)
    out["complete"] = {"median_ms": c["median_ms"], "p99_ms": c["p99_ms"], "matches": c["last"].get("matches", [])[:3]}
    out["inspect"] = {"median_ms": i["median_ms"], "p99_ms": i["p99_ms"], "found": i["last"].get("found")}
    kc.stop_channels()
    km.shutdown_kernel(now=False)
    print(json.dumps(out))


main()
