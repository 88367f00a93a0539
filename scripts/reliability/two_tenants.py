#!/usr/bin/env python3
"""One tenant at full tilt must not hurt another (issue 17).

    two_tenants.py --backend sqlite|postgres [--seconds 30] [--import-rows 50000]

Starts a server on a fresh database and two organisations:
  A (the heavy tenant) runs, for `--seconds`, as hard as it can and with as
    many clients as the server lets it: imports of `--import-rows` spend rows
    one after another (a new file each time, so none is a replay), whole-ledger
    summaries grouped by function, and ROI reads of its pilots;
  B (the quiet tenant) meanwhile reads its summary and a pilot's ROI and logs
    spend entries, a few requests a second each, like a team's script.
Prints p50/p99/max latency and the status counts of B's reads and writes, and
A's throughput. B's every request must succeed (no 503, no 5xx) with p99 under
1 s; exits non-zero otherwise. The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
import uuid

from _common import (
    ORG_BODY,
    PILOT_BODY,
    Env,
    Server,
    create_pg_database,
    drop_pg_database,
    free_port,
    json_call,
    log,
    request,
)

SPEND = {"category": "licences", "period_start": "2026-01-01", "period_end": "2026-01-31", "currency": "USD"}


def spend_file(pilots: list[str], rows: int, tag: str) -> bytes:
    """NDJSON of `rows` spend rows spread over `pilots`, amounts unique to `tag`."""
    lines = []
    for i in range(rows):
        row = dict(SPEND, type="spend", pilot_id=pilots[i % len(pilots)], amount=f"{1 + i % 997}.{tag[-2:]}")
        lines.append(json.dumps(row))
    return ("\n".join(lines) + "\n").encode()


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.samples: dict[str, list[float]] = {}
        self.statuses: dict[str, dict[str, int]] = {}

    def add(self, what: str, status, seconds: float) -> None:
        with self.lock:
            self.samples.setdefault(what, []).append(seconds)
            s = self.statuses.setdefault(what, {})
            s[str(status)] = s.get(str(status), 0) + 1


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", choices=("sqlite", "postgres"), required=True)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--import-rows", type=int, default=50_000)
    ap.add_argument("--heavy-clients", type=int, default=4)
    args = ap.parse_args()

    db_name = None
    url = None
    if args.backend == "postgres":
        db_name, url = create_pg_database("pl_rel_tenants")
    env = Env(url)
    server = Server(env, free_port(), "tenants")
    env.cli("migrate")
    server.start()
    ok = True
    try:
        op = env.mint("operator")
        orgs = {}
        for name in ("A", "B"):
            _, _, org = json_call("POST", server.base + "/v1/orgs", dict(ORG_BODY, name=f"Tenant {name}"), op, expect=(201,))
            orgs[name] = org["id"]
        tok = {n: {r: env.mint(r, orgs[n]) for r in ("admin", "member", "finance")} for n in orgs}
        pilots = {}
        for n in orgs:
            pilots[n] = []
            for i in range(20 if n == "A" else 2):
                _, _, p = json_call("POST", server.base + "/v1/pilots", dict(PILOT_BODY, name=f"{n}{i}"),
                                    tok[n]["member"], expect=(201,))
                pilots[n].append(p["id"])
        # A's ledger before the run: one import, so its summaries read real work.
        first = spend_file(pilots["A"], args.import_rows, "00")
        status, _, body = request("POST", server.base + "/v1/import", first, tok["A"]["member"],
                                  {"Content-Type": "application/x-ndjson", "Idempotency-Key": str(uuid.uuid4())},
                                  timeout=300)
        if status != 201:
            raise RuntimeError(f"seeding import → {status}: {body[:300]!r}")

        stop = time.monotonic() + args.seconds
        rec = Recorder()
        heavy = {"imports": 0, "import_rows": 0, "summaries": 0, "rois": 0, "busy": 0}
        heavy_lock = threading.Lock()

        def heavy_importer(k: int) -> None:
            n = 0
            while time.monotonic() < stop:
                n += 1
                data = spend_file(pilots["A"], args.import_rows, f"{k}{n % 10}")
                s, _, _ = request("POST", server.base + "/v1/import", data, tok["A"]["member"],
                                  {"Content-Type": "application/x-ndjson", "Idempotency-Key": str(uuid.uuid4())},
                                  timeout=300)
                with heavy_lock:
                    if s == 201:
                        heavy["imports"] += 1
                        heavy["import_rows"] += args.import_rows
                    elif s == 429:
                        heavy["busy"] += 1
                        time.sleep(0.05)

        def heavy_reader() -> None:
            i = 0
            while time.monotonic() < stop:
                i += 1
                if i % 2:
                    s, _, _ = request("GET", server.base + "/v1/summary?group_by=function&as_of="
                                      + time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), None,
                                      tok["A"]["finance"], timeout=60)
                    key = "summaries"
                else:
                    s, _, _ = request("GET", f"{server.base}/v1/pilots/{pilots['A'][i % 20]}/roi", None,
                                      tok["A"]["member"], timeout=60)
                    key = "rois"
                with heavy_lock:
                    heavy[key] += 1

        def quiet(what: str, call) -> None:
            while time.monotonic() < stop:
                t0 = time.monotonic()
                status = call()
                rec.add(what, status, time.monotonic() - t0)
                time.sleep(max(0.0, 0.2 - (time.monotonic() - t0)))

        def b_summary():
            return request("GET", server.base + "/v1/summary", None, tok["B"]["finance"], timeout=30)[0]

        def b_roi():
            return request("GET", f"{server.base}/v1/pilots/{pilots['B'][0]}/roi", None, tok["B"]["member"],
                           timeout=30)[0]

        def b_spend():
            return request("POST", f"{server.base}/v1/pilots/{pilots['B'][1]}/spend", dict(SPEND, amount="1.00"),
                           tok["B"]["member"], {"Idempotency-Key": str(uuid.uuid4())}, timeout=30)[0]

        threads = [threading.Thread(target=heavy_importer, args=(k,)) for k in range(2)]
        threads += [threading.Thread(target=heavy_reader) for _ in range(args.heavy_clients)]
        threads += [threading.Thread(target=quiet, args=(w, c)) for w, c in
                    (("B summary", b_summary), ("B roi", b_roi), ("B spend", b_spend))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

        log(f"{args.backend}: A ran {heavy['imports']} imports ({heavy['import_rows']:,} rows; {heavy['busy']} "
            f"turned away 429 import_busy), {heavy['summaries']} whole-ledger summaries, {heavy['rois']} ROI reads "
            f"in {args.seconds:.0f} s")
        for what in sorted(rec.samples):
            xs = rec.samples[what]
            st = rec.statuses[what]
            good = sum(v for k, v in st.items() if k in ("200", "201"))
            line = (f"{args.backend}: {what}: {len(xs)} requests, p50 {statistics.median(xs) * 1e3:.0f} ms, "
                    f"p99 {pct(xs, 99) * 1e3:.0f} ms, max {max(xs) * 1e3:.0f} ms, statuses {st}")
            failed = good != len(xs) or pct(xs, 99) >= 1.0
            log(line + ("  FAIL" if failed else "  ok"))
            ok = ok and not failed
    finally:
        server.stop()
        if db_name:
            drop_pg_database(db_name)
    print(f"two tenants ({args.backend}): {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
