#!/usr/bin/env python3
"""Kill test: no acknowledged spend entry is lost or duplicated when the server
is SIGKILLed and restarted at random moments under concurrent, retrying writers.

    kill_test.py --backend sqlite|postgres [--cycles 50] [--clients 8] [--seed N]

Concurrent client threads each log spend entries, every entry with its own
Idempotency-Key (also written into `note`, so each stored row is identifiable),
and retry an entry with the same key and the same body on any connection error,
5xx, 409 or 429 until it is answered 201. Meanwhile the main thread SIGKILLs the
server after a random 0.05–0.6 s and restarts it on the same port, `--cycles`
times. Then the clients finish the entry they hold and the ledger is checked:
every acknowledged entry is stored exactly once with the acknowledged id,
pilot, amount and currency; no stored entry was never sent; and every pilot's
`totals` (per currency, minor units) equal the clients' own sums.

Exits 0 only when all of that holds. PostgreSQL: a fresh database is created on
127.0.0.1:5432 (user postgres) and dropped at the end.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import shutil
import sys
import threading
import time

from _common import (
    ORG_BODY,
    PILOT_BODY,
    Env,
    Server,
    create_pg_database,
    drop_pg_database,
    free_port,
    json_call,
    list_entries,
    log,
    request,
)

CURRENCIES = {"USD": 2, "EUR": 2, "JPY": 0}
ENTRY_DEADLINE_S = 120.0  # one entry not acknowledged within this is a failure


def decimal_string(minor: int, exponent: int) -> str:
    if exponent == 0:
        return str(minor)
    q, r = divmod(minor, 10**exponent)
    return f"{q}.{r:0{exponent}d}"


class Shared:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.sent: set[str] = set()
        # key -> (pilot, currency, amount_minor, entry_id)
        self.acked: dict[str, tuple[str, str, int, str]] = {}
        self.answers: collections.Counter = collections.Counter()
        self.replays = 0
        self.failures: list[str] = []

    def fail(self, msg: str) -> None:
        with self.lock:
            self.failures.append(msg)


def client(idx: int, base: str, token: str, pilots: list[str], run_id: str, seed: int, sh: Shared) -> None:
    rnd = random.Random(seed * 1000 + idx)
    seq = 0
    while not sh.stop.is_set():
        seq += 1
        key = f"kt-{run_id}-c{idx}-{seq}"
        pilot = rnd.choice(pilots)
        currency = rnd.choice(list(CURRENCIES))
        minor = rnd.randint(1, 5_000_000)
        body = {
            "category": rnd.choice(["licences", "compute_inference", "internal_labour", "data"]),
            "period_start": "2026-01-01",
            "period_end": "2026-01-31",
            "amount": decimal_string(minor, CURRENCIES[currency]),
            "currency": currency,
            "capex": False,
            "note": key,
        }
        raw = json.dumps(body).encode()  # the same bytes on every retry
        with sh.lock:
            sh.sent.add(key)
        started = time.monotonic()
        while True:
            status, headers, resp = request(
                "POST", f"{base}/v1/pilots/{pilot}/spend", raw, token, {"Idempotency-Key": key}, timeout=10.0
            )
            if status is None:
                label = "refused" if "refused" in str(resp) else "cut/no answer"
            else:
                label = str(status)
            with sh.lock:
                sh.answers[label] += 1
            if status == 201:
                try:
                    got = json.loads(resp)
                except ValueError:
                    sh.fail(f"{key}: 201 with a body that is not JSON: {resp[:200]!r}")
                    return
                if (got.get("note"), got.get("pilot_id"), got.get("amount_minor"), got.get("currency")) != (
                    key, pilot, minor, currency
                ):
                    sh.fail(f"{key}: 201 answered another entry: {got}")
                    return
                with sh.lock:
                    sh.acked[key] = (pilot, currency, minor, got["id"])
                    if headers.get("idempotent-replayed") == "true":
                        sh.replays += 1
                break
            if status is None or status >= 500 or status == 409:
                time.sleep(rnd.uniform(0.01, 0.08))
            elif status == 429:
                try:
                    wait = float(headers.get("retry-after", "1"))
                except ValueError:
                    wait = 1.0
                time.sleep(min(max(wait, 0.05), 2.0))
            else:
                sh.fail(f"{key}: POST spend answered {status}: {resp[:300]!r}")
                return
            if time.monotonic() - started > ENTRY_DEADLINE_S:
                sh.fail(f"{key}: not acknowledged within {ENTRY_DEADLINE_S:.0f}s (last answer {status})")
                return


def verify(base: str, token: str, pilots: list[str], sh: Shared) -> tuple[int, int, int, bool, list[str]]:
    """Returns (lost, duplicated, phantom, totals_match, problems)."""
    problems: list[str] = []
    by_key: dict[str, list[dict]] = collections.defaultdict(list)
    phantom = 0
    totals_ok = True
    expected_totals: dict[str, collections.Counter] = {p: collections.Counter() for p in pilots}
    for key, (pilot, currency, minor, _) in sh.acked.items():
        expected_totals[pilot][currency] += minor
    for pilot in pilots:
        items, totals = list_entries(base, token, pilot)
        ids = collections.Counter(i["id"] for i in items)
        for entry_id, n in ids.items():
            if n > 1:
                problems.append(f"pilot {pilot}: entry id {entry_id} listed {n} times (paging)")
        for item in items:
            key = item.get("note") or ""
            if key not in sh.sent:
                phantom += 1
                problems.append(f"pilot {pilot}: stored entry {item['id']} was never sent (note {key!r})")
                continue
            by_key[key].append(item)
            if key not in sh.acked:
                continue
            a_pilot, a_cur, a_minor, a_id = sh.acked[key]
            if (item["pilot_id"], item["currency"], item["amount_minor"]) != (a_pilot, a_cur, a_minor):
                problems.append(f"{key}: stored as {item} but acknowledged as {(a_pilot, a_cur, a_minor)}")
        got = {t["currency"]: t["amount_minor"] for t in totals}
        want = {c: v for c, v in expected_totals[pilot].items() if v}
        if {c: v for c, v in got.items() if v} != want:
            totals_ok = False
            problems.append(f"pilot {pilot}: totals {got} but clients' sums {want}")
    lost = 0
    duplicated = 0
    for key, (_, _, _, entry_id) in sh.acked.items():
        rows = by_key.get(key, [])
        if not rows:
            lost += 1
            problems.append(f"{key}: acknowledged (id {entry_id}) but not stored")
        elif len(rows) > 1:
            duplicated += len(rows) - 1
            problems.append(f"{key}: stored {len(rows)} times: {[r['id'] for r in rows]}")
        elif rows[0]["id"] != entry_id:
            problems.append(f"{key}: acknowledged as {entry_id} but stored as {rows[0]['id']}")
    for key in sh.sent - set(sh.acked):
        if by_key.get(key):
            problems.append(f"{key}: sent, never acknowledged, yet stored {len(by_key[key])} time(s)")
    return lost, duplicated, phantom, totals_ok, problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=["sqlite", "postgres"], required=True)
    ap.add_argument("--cycles", type=int, default=50)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--pilots", type=int, default=4)
    ap.add_argument("--seed", type=int, default=None, help="seeds kill timing and client data (default: random)")
    ap.add_argument("--keep", action="store_true", help="keep the data dir (and database) for inspection")
    ap.add_argument("--inject-fault", action="store_true",
                    help="self-check: write one duplicate and one never-sent entry behind the clients' backs; "
                         "the test must then fail")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rnd = random.Random(seed)
    log(f"kill test ({args.backend}): {args.cycles} cycles, {args.clients} clients, seed {seed}")

    db_name = None
    database_url = None
    if args.backend == "postgres":
        db_name, database_url = create_pg_database("pl_ci_kill")
    env = Env(database_url)
    server = Server(env, free_port(), "kill")
    sh = Shared()
    threads: list[threading.Thread] = []
    ok = False
    t0 = time.monotonic()
    try:
        # Offline commands need a database: create it (they refuse to start one).
        env.cli("migrate")
        op = env.mint("operator")
        server.start()
        _, _, org = json_call("POST", server.base + "/v1/orgs", {"name": "Kill test org", **ORG_BODY}, op,
                              expect=(201,))
        pilots = []
        for i in range(args.pilots):
            tok = env.mint("member", org["id"], "kill-setup") if i == 0 else tok
            _, _, p = json_call("POST", server.base + "/v1/pilots", {"name": f"kill pilot {i}", **PILOT_BODY},
                                tok, expect=(201,))
            pilots.append(p["id"])
        # One member token per client, as separate scripts would have.
        tokens = [env.mint("member", org["id"], f"kill-client-{i}") for i in range(args.clients)]
        run_id = f"{seed:x}"
        for i in range(args.clients):
            t = threading.Thread(target=client, args=(i, server.base, tokens[i], pilots, run_id, seed, sh),
                                 daemon=True)
            t.start()
            threads.append(t)

        kills = 0
        acked_at_kill = []
        for _ in range(args.cycles):
            time.sleep(rnd.uniform(0.05, 0.6))
            with sh.lock:
                acked_at_kill.append(len(sh.acked))
            server.kill()
            kills += 1
            server.start()
            if sh.failures:
                break
        productive = sum(1 for a, b in zip(acked_at_kill, acked_at_kill[1:] + [None]) if b is None or b > a)
        # Let every client finish the entry it holds, against the running server.
        sh.stop.set()
        for t in threads:
            t.join(timeout=ENTRY_DEADLINE_S + 15)
        if any(t.is_alive() for t in threads):
            sh.fail("a client thread did not finish its last entry")

        if args.inject_fault and sh.acked:
            key, (pilot, currency, minor, _) = next(iter(sh.acked.items()))
            for note, idem in ((key, "inject-dup"), ("never-sent", "inject-phantom")):
                body = {"category": "other", "period_start": "2026-01-01", "period_end": "2026-01-31",
                        "amount": decimal_string(minor, CURRENCIES[currency]), "currency": currency,
                        "note": note}
                json_call("POST", f"{server.base}/v1/pilots/{pilot}/spend", body, tokens[0],
                          {"Idempotency-Key": f"{idem}-{run_id}"}, expect=(201,))
        lost, duplicated, phantom, totals_ok, problems = verify(server.base, tokens[0], pilots, sh)
        elapsed = time.monotonic() - t0
        answers = ", ".join(f"{k}×{v}" for k, v in sorted(sh.answers.items()))
        log(f"  answers seen: {answers}; replays acknowledged: {sh.replays}; "
            f"kill intervals with new acknowledgements: {productive}/{kills}; {elapsed:.0f}s")
        for p in (sh.failures + problems)[:40]:
            log(f"  FAIL {p}")
        ok = (not sh.failures and not problems and kills >= args.cycles and lost == 0 and duplicated == 0
              and phantom == 0 and totals_ok and len(sh.acked) > 0)
        log(f"kill test ({args.backend}): {kills} kills survived, {len(sh.acked)} entries acknowledged, "
            f"{lost} lost, {duplicated} duplicated, {phantom} never sent, "
            f"totals {'match' if totals_ok else 'DIFFER'}{'' if ok else ' — FAILED'}")
    except Exception as e:  # noqa: BLE001 — any setup error fails the test with its reason
        sh.stop.set()
        log(f"kill test ({args.backend}): FAILED: {e}")
        log(server.tail())
    finally:
        sh.stop.set()
        t_stop = time.monotonic()
        server.stop()
        if time.monotonic() - t_stop > 5:
            log(f"  note: the server took {time.monotonic() - t_stop:.1f}s to stop on SIGTERM")
        if args.keep:
            log(f"  kept data dir {env.data_dir}" + (f" and database {db_name}" if db_name else ""))
        else:
            if db_name:
                drop_pg_database(db_name)
            shutil.rmtree(env.data_dir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
