#!/usr/bin/env python3
"""Imports are bounded in memory whatever their content (issue 17).

    import_memory.py [--limit-mb 500]

Starts one server (SQLite) and measures the server process's peak resident
memory (VmHWM in /proc/PID/status, reset before each case by writing 5 to
/proc/PID/clear_refs) for:
  1. one 64 MB import of invalid rows (`x` lines, the attack from the issue:
     4.7 GB peak and 2.8 GB held afterwards before the fix);
  2. three 16 MB imports of invalid rows from three organisations at once
     (3.4 GB peak before the fix; now at most two run at a time and the third
     is told 429 import_busy);
  3. one 128 MB FOCUS bill (the real sample's rows repeated) through
     POST /v1/spend-sources/focus, which streams: its peak must stay under a
     third of the bill's size as well as under --limit-mb (issue 21).
Each case must answer as documented (422 import_rejected with at most 1000
listed rows and `errors_total`, or 429 import_busy) and keep the peak, and the
memory still held afterwards, under --limit-mb. Prints a table; exits non-zero
on any failure.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import uuid
from pathlib import Path

from _common import ORG_BODY, Env, Server, free_port, json_call, log, request


def status_kb(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def reset_peak(pid: int) -> None:
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def post_import(base: str, token: str, body: bytes) -> tuple[int | None, dict]:
    status, _, raw = request(
        "POST", base + "/v1/import", body, token,
        headers={"Content-Type": "application/x-ndjson", "Idempotency-Key": str(uuid.uuid4())},
        timeout=300,
    )
    try:
        return status, json.loads(raw)
    except (ValueError, TypeError):
        return status, {"raw": str(raw)[:200]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit-mb", type=int, default=500)
    args = ap.parse_args()
    env = Env(None)
    server = Server(env, free_port(), "import-memory")
    failures: list[str] = []
    rows: list[tuple[str, str, float, float]] = []
    try:
        # Offline commands need a database: create it (they refuse to start one).
        env.cli("migrate")
        operator = env.mint("operator")
        server.start()
        pid = server.proc.pid
        admins = []
        for i in range(3):
            _, _, org = json_call("POST", server.base + "/v1/orgs", dict(ORG_BODY, name=f"Memory {i}"),
                                  operator, expect=(201,))
            admins.append(env.mint("admin", org["id"]))

        def measure(name: str, run) -> None:
            reset_peak(pid)
            outcome = run()
            peak = status_kb(pid, "VmHWM") / 1024
            held = status_kb(pid, "VmRSS") / 1024
            rows.append((name, outcome, peak, held))
            if peak >= args.limit_mb or held >= args.limit_mb:
                failures.append(f"{name}: peak {peak:.0f} MB, held {held:.0f} MB (limit {args.limit_mb} MB)")

        def one_big() -> str:
            status, body = post_import(server.base, admins[0], b"x\n" * (32 * 1024 * 1024 - 64))
            listed = len(body.get("errors", []))
            ok = status == 422 and body.get("code") == "import_rejected" and listed == 1000 \
                and body.get("errors_total", 0) > 1000
            if not ok:
                failures.append(f"64 MB of bad rows: {status} {str(body)[:300]}")
            return f"{status} {body.get('code')}, {listed} listed of {body.get('errors_total')}"

        def three_at_once() -> str:
            results: list[tuple[int | None, str]] = []
            lock = threading.Lock()

            def send(token: str) -> None:
                status, body = post_import(server.base, token, b"x\n" * (8 * 1024 * 1024))
                with lock:
                    results.append((status, body.get("code", "?")))

            threads = [threading.Thread(target=send, args=(t,)) for t in admins]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            allowed = {(422, "import_rejected"), (429, "import_busy")}
            if any(r not in allowed for r in results) or (422, "import_rejected") not in results:
                failures.append(f"three 16 MB imports: {results}")
            return ", ".join(f"{s} {c}" for s, c in sorted(results, key=str))

        def focus_bill() -> str:
            sample = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "focus" / "focus-1.0-sample.csv"
            lines = sample.read_bytes().splitlines(keepends=True)
            header, rows_ = lines[0], lines[1:]
            chunk = b"".join(rows_)
            body = header + chunk * max(1, (128 << 20) // len(chunk))
            base = status_kb(pid, "VmRSS") / 1024
            status, _, raw = request(
                "POST", server.base + "/v1/spend-sources/focus", body, admins[1],
                headers={"Content-Type": "text/csv", "Idempotency-Key": str(uuid.uuid4())}, timeout=600)
            peak = status_kb(pid, "VmHWM") / 1024
            if status != 201 or peak - base > len(body) / 3 / 2**20:
                failures.append(f"128 MB FOCUS bill: {status}, peak {peak:.0f} MB from {base:.0f} MB: {str(raw)[:300]}")
            return f"{status}, {len(body) >> 20} MB streamed"

        measure("one 64 MB import of invalid rows", one_big)
        measure("one 128 MB FOCUS bill, streamed", focus_bill)
        measure("three 16 MB imports of invalid rows at once", three_at_once)
    finally:
        server.stop()
    log(f"| case | answers | peak RSS (MB) | held after (MB) |")
    log(f"|---|---|---|---|")
    for name, outcome, peak, held in rows:
        log(f"| {name} | {outcome} | {peak:.0f} | {held:.0f} |")
    for f in failures:
        log(f"FAIL: {f}")
    log("import memory: " + ("FAILED" if failures else f"passed (limit {args.limit_mb} MB)"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
