"""Execute notebooks with a real Jupyter client (Debian's python3-nbclient) and the realm kernel.

usage: /usr/bin/python3 scripts/run_notebooks.py --out DIR [--kernel realm] [--timeout S] NOTEBOOK...

Each notebook runs in its own kernel, in the notebook's folder, strictly: an error fails the
notebook unless its cell is tagged raises-exception (and such a cell must raise). Every
execute_reply is checked, so an aborted cell is a failure too. The executed notebook is written
to DIR/<name>; one JSON line per notebook goes to stdout (scripts/run-notebooks.mjs compares the
outputs with the stored ones and prints the summary).
"""
import argparse
import copy
import json
import pathlib
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def run(path, out_dir, kernel, timeout):
    nb = nbformat.read(str(path), as_version=4)
    executed = copy.deepcopy(nb)
    replies = {}

    def on_cell_executed(cell, cell_index, execute_reply):
        replies[cell_index] = execute_reply["content"] if execute_reply else None

    client = NotebookClient(
        executed,
        kernel_name=kernel,
        timeout=timeout,
        startup_timeout=60,
        allow_errors=False,
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
        on_cell_executed=on_cell_executed,
    )
    failures = []
    t0 = time.time()
    try:
        client.execute()
    except CellExecutionError:
        pass  # the failing cell is found below from its reply
    except Exception as e:  # kernel died, timeout, ...
        failures.append({"cell": None, "kind": "exception", "message": f"{type(e).__name__}: {e}"})
    for i, cell in enumerate(executed.cells):
        if cell.cell_type != "code":
            continue
        tags = cell.get("metadata", {}).get("tags", [])
        reply = replies.get(i)
        base = {"cell": i, "source": cell.source}
        if reply is None:
            if not failures or failures[-1].get("kind") not in ("error", "exception"):
                failures.append({**base, "kind": "not-run", "message": "cell was not executed"})
            continue
        status = reply.get("status")
        if status == "error":
            if "raises-exception" not in tags:
                failures.append({**base, "kind": "error", "ename": reply.get("ename"), "evalue": reply.get("evalue"),
                                 "traceback": reply.get("traceback", [])})
        elif status in ("abort", "aborted"):
            failures.append({**base, "kind": "aborted", "message": f"execute_reply status {status!r}"})
        elif status == "ok" and "raises-exception" in tags:
            failures.append({**base, "kind": "no-raise", "message": "cell is tagged raises-exception but did not raise"})
        elif status != "ok":
            failures.append({**base, "kind": "status", "message": f"execute_reply status {status!r}"})
    out = out_dir / path.name
    nbformat.write(executed, str(out))
    return {"notebook": str(path), "executed": str(out), "ok": not failures, "failures": failures,
            "seconds": round(time.time() - t0, 2)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--kernel", default="realm")
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("notebooks", nargs="+")
    a = ap.parse_args()
    out_dir = pathlib.Path(a.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    bad = 0
    for p in a.notebooks:
        r = run(pathlib.Path(p).resolve(), out_dir, a.kernel, a.timeout)
        bad += 0 if r["ok"] else 1
        sys.stdout.write(json.dumps(r) + "\n")
        sys.stdout.flush()
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
