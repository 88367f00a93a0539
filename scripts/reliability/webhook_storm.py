#!/usr/bin/env python3
"""Webhook storm: no budget alert is lost, changed or invented when the server
is SIGKILLed again and again while thresholds are being crossed and the
receiver fails half of its calls.

    webhook_storm.py --backend sqlite|postgres [--cycles 12] [--pilots 16] [--seed N] [--inject-fault]

Needs the `standardwebhooks` package (PyPI), which verifies every delivery's
signature independently of pilotledger's own code; `.ci/run` installs it
into a venv of its own.

Set-up: one organisation, a webhook endpoint pointing at a receiver in this
process (loopback, allowed by PILOTLEDGER_WEBHOOK_ALLOWED_NETWORKS), rules at
25, 50, 75 and 100%, and a life-time budget per pilot. Client threads log spend
entries (each with its own Idempotency-Key, retried with the same body on any
failure, as in kill_test.py) while the main thread SIGKILLs and restarts the
server `--cycles` times. The receiver verifies each call's signature, answers
500 to every other call, and records (webhook-id, body) of every call.

Checks, once every message had time to be delivered:
- the alerts stored are exactly the crossings the acknowledged spend implies
  (one per pilot and threshold reached: each fires once, none is invented);
- every stored alert reached the receiver with a 2xx answer at least once;
- every call of one webhook-id carried the same body, and every body names a
  stored alert; no signature failed verification; about half the calls failed.

`--inject-fault` adds a forged call (a known id with another body) to the
receiver's record: the checks must then fail (CI runs this as a self-check).
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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from _common import ORG_BODY, PILOT_BODY, Env, Server, create_pg_database, drop_pg_database, free_port, json_call, log, request

try:
    from standardwebhooks import Webhook
except ImportError:  # pragma: no cover - the CI venv has it
    sys.exit("webhook_storm.py needs the standardwebhooks package (pip install standardwebhooks)")

THRESHOLDS = (25, 50, 75, 100)
DELIVERY_DEADLINE_S = 45.0


class Receiver:
    """Verifies, records and fails every other call."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.secret: str | None = None
        self.calls = 0
        self.failed_on_purpose = 0
        self.bad_signatures: list[str] = []
        self.bodies: dict[str, list[bytes]] = collections.defaultdict(list)
        self.delivered: set[str] = set()  # webhook-ids answered 2xx
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                msg_id = headers.get("webhook-id", "")
                with receiver.lock:
                    receiver.calls += 1
                    fail = receiver.calls % 2 == 1
                    try:
                        Webhook(receiver.secret).verify(body, headers)
                    except Exception as e:  # noqa: BLE001 - any verification failure counts
                        receiver.bad_signatures.append(f"{msg_id}: {e}")
                        fail = True
                    receiver.bodies[msg_id].append(body)
                    if fail:
                        receiver.failed_on_purpose += 1
                    else:
                        receiver.delivered.add(msg_id)
                self.send_response(500 if fail else 204)
                self.send_header("content-length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class Clients:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.acked: dict[str, int] = collections.Counter()  # pilot -> acknowledged minor units
        self.failures: list[str] = []


def client(idx: int, base: str, token: str, pilots: list[str], seed: int, sh: Clients) -> None:
    rnd = random.Random(seed * 100 + idx)
    seq = 0
    while not sh.stop.is_set():
        seq += 1
        key = f"ws-{seed:x}-{idx}-{seq}"
        pilot = rnd.choice(pilots)
        minor = rnd.randint(100, 1500)
        body = json.dumps({"category": "licences", "period_start": "2026-01-15", "period_end": "2026-01-15",
                           "amount": f"{minor // 100}.{minor % 100:02d}", "currency": "EUR", "note": key}).encode()
        started = time.monotonic()
        while True:
            status, _, resp = request("POST", f"{base}/v1/pilots/{pilot}/spend", body, token,
                                      {"Idempotency-Key": key}, timeout=10.0)
            if status == 201:
                with sh.lock:
                    sh.acked[pilot] += minor
                break
            if status is not None and status < 500 and status not in (409, 429):
                sh.failures.append(f"{key}: {status} {resp[:200]!r}")
                return
            if time.monotonic() - started > 120:
                sh.failures.append(f"{key}: not acknowledged within 120 s")
                return
            time.sleep(rnd.uniform(0.01, 0.05))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--cycles", type=int, default=12)
    ap.add_argument("--pilots", type=int, default=16)
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--inject-fault", action="store_true")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rnd = random.Random(seed)
    log(f"webhook storm ({args.backend}): {args.cycles} kills, {args.pilots} pilots, seed {seed}")

    db_name = database_url = None
    if args.backend == "postgres":
        db_name, database_url = create_pg_database("pl_ci_storm")
    env = Env(database_url)
    base_vars = env.vars

    def vars_with_webhooks(port=None):
        v = base_vars(port)
        v.update(PILOTLEDGER_WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8", PILOTLEDGER_WEBHOOK_RETRY_BASE_MS="100",
                 PILOTLEDGER_WEBHOOK_RETRY_MAX_MS="400", PILOTLEDGER_WEBHOOK_POLL_MS="50",
                 PILOTLEDGER_WEBHOOK_TIMEOUT_MS="1000", PILOTLEDGER_WEBHOOK_MAX_ATTEMPTS="50")
        return v

    env.vars = vars_with_webhooks
    server = Server(env, free_port(), "storm")
    receiver = Receiver()
    sh = Clients()
    ok = False
    try:
        env.cli("migrate")
        op = env.mint("operator")
        server.start()
        b = server.base
        _, _, org = json_call("POST", b + "/v1/orgs", {"name": "Storm org", **ORG_BODY}, op, expect=(201,))
        admin = env.mint("admin", org["id"], "storm-admin")
        _, _, hook = json_call("POST", b + "/v1/webhooks", {"url": receiver.url}, admin, expect=(201,))
        receiver.secret = hook["secret"]
        for pct in THRESHOLDS:
            json_call("POST", b + "/v1/alert-rules", {"kind": "budget_threshold", "threshold_pct": pct}, admin,
                      expect=(201,))
        pilots, budgets = [], {}
        for i in range(args.pilots):
            _, _, p = json_call("POST", b + "/v1/pilots", {"name": f"storm {i}", **PILOT_BODY}, admin, expect=(201,))
            minor = rnd.randint(500, 3000) * 100
            json_call("POST", b + "/v1/budgets", {"pilot_id": p["id"], "amount": f"{minor // 100}.00",
                                                   "currency": "EUR", "period": "life"}, admin, expect=(201,))
            pilots.append(p["id"])
            budgets[p["id"]] = minor
        tokens = [env.mint("member", org["id"], f"storm-{i}") for i in range(args.clients)]
        threads = [threading.Thread(target=client, args=(i, b, tokens[i], pilots, seed, sh), daemon=True)
                   for i in range(args.clients)]
        for t in threads:
            t.start()
        for _ in range(args.cycles):
            time.sleep(rnd.uniform(0.2, 1.0))
            server.kill()
            server.start()
        sh.stop.set()
        for t in threads:
            t.join(timeout=150)

        # The crossings the acknowledged spend implies, then the stored alerts.
        expected = {(p, pct) for p in pilots for pct in THRESHOLDS if sh.acked[p] * 100 >= pct * budgets[p]}
        _, _, page = json_call("GET", b + "/v1/alerts?limit=500", token=admin)
        stored = page["items"]
        by_crossing = collections.Counter((a["pilot_id"], a["details"]["threshold_pct"]) for a in stored)
        alert_ids = {a["id"] for a in stored}

        deadline = time.monotonic() + DELIVERY_DEADLINE_S
        while time.monotonic() < deadline:
            with receiver.lock:
                got = {json.loads(v[0])["data"]["alert_id"] for k, v in receiver.bodies.items()
                       if k in receiver.delivered}
            if alert_ids <= got:
                break
            time.sleep(0.2)
        if args.inject_fault and receiver.bodies:
            some = next(iter(receiver.bodies))
            receiver.bodies[some].append(receiver.bodies[some][0].replace(b"alert.fired", b"alert.forged"))

        problems = list(sh.failures)
        problems += receiver.bad_signatures
        if set(by_crossing) != expected:
            problems.append(f"alerts for {sorted(set(by_crossing) ^ expected)[:5]} differ from the crossings")
        problems += [f"{k} fired {n} times" for k, n in by_crossing.items() if n != 1]
        delivered_alerts: set[str] = set()
        for msg_id, bodies in receiver.bodies.items():
            if any(x != bodies[0] for x in bodies):
                problems.append(f"{msg_id}: {len(set(bodies))} different payloads")
            alert = json.loads(bodies[0])["data"]["alert_id"]
            if alert not in alert_ids:
                problems.append(f"{msg_id}: delivered alert {alert} that was never stored")
            if msg_id in receiver.delivered:
                delivered_alerts.add(alert)
        missing = alert_ids - delivered_alerts
        if missing:
            problems.append(f"{len(missing)} stored alerts never delivered")
        if receiver.failed_on_purpose * 3 < receiver.calls:
            problems.append("the receiver did not fail about half its calls")
        if len(expected) < len(pilots):
            problems.append(f"only {len(expected)} crossings: the storm was too small to test anything")
        for p in problems[:30]:
            log(f"  FAIL {p}")
        ok = not problems
        log(f"webhook storm ({args.backend}): {args.cycles} kills, {sum(sh.acked.values())} minor units of spend "
            f"acknowledged, {len(stored)} alerts for {len(expected)} crossings, {receiver.calls} calls "
            f"({receiver.failed_on_purpose} failed on purpose), {len(receiver.bodies)} webhook-ids"
            f"{'' if ok else ' — FAILED'}")
    except Exception as e:  # noqa: BLE001 - a setup error fails the run with its reason
        log(f"webhook storm ({args.backend}): FAILED: {e}")
        log(server.tail())
    finally:
        sh.stop.set()
        server.stop()
        receiver.server.shutdown()
        if db_name:
            drop_pg_database(db_name)
        shutil.rmtree(env.data_dir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
