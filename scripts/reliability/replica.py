#!/usr/bin/env python3
"""Research reads from a real PostgreSQL streaming replica.

    replica.py

Needs root (it creates a second PostgreSQL cluster with pg_createcluster, on
a free port, from `pg_basebackup -R` of the primary on 127.0.0.1:5432) and
allows replication connections from 127.0.0.1 in the primary's pg_hba.conf
if they are not allowed yet. Then it starts two servers on one fresh
database and one secret: A with PILOTLEDGER_READ_DATABASE_URL pointing at the
replica, B on the primary alone, and checks:
  1. once the replica has caught up, A's research answers (the zero-impact
     rate, a breakdown, the export) equal B's;
  2. with replay paused (pg_wal_replay_pause), new evaluated pilots change B's
     rate at once and leave A's as it was: A really reads the replica;
  3. still paused, a member's spend written through A shows in that member's
     next summary through A: reads that must be fresh stay on the primary;
  4. replay resumed, A's answers equal B's again once caught up;
  5. the replica stopped, A answers every research query 200, equal to B's,
     each within 5 s.
Prints one line per check; exits non-zero on any failure. The replica
cluster and the database are removed at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

from _common import (
    ORG_BODY,
    PILOT_BODY,
    PG_HOST,
    PG_PORT,
    PG_USER,
    Env,
    Server,
    create_pg_database,
    drop_pg_database,
    free_port,
    json_call,
    log,
    qs,
    request,
)

VERSION = "15"
AGG = qs({"from": "2025Q1", "to": "2026Q4"})


class Checks:
    def __init__(self) -> None:
        self.failed: list[str] = []

    def check(self, ok: bool, what: str, detail: str = "") -> bool:
        log(f"  {'ok  ' if ok else 'FAIL'}  {what}{'' if ok or not detail else ': ' + detail}")
        if not ok:
            self.failed.append(what)
        return ok


def sql(port: int | str, query: str, db: str = "postgres") -> str:
    out = subprocess.run(
        ["psql", "-h", PG_HOST, "-p", str(port), "-U", PG_USER, "-d", db, "-v", "ON_ERROR_STOP=1", "-qtA",
         "-c", query],
        capture_output=True, text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(f"psql on port {port}: {query}: {out.stderr.strip()}")
    return out.stdout.strip()


def allow_replication() -> None:
    """A `host replication` line for 127.0.0.1 in the primary's pg_hba.conf."""
    hba = sql(PG_PORT, "SHOW hba_file")
    lines = open(hba).read().splitlines()
    if any(l.split()[:2] == ["host", "replication"] for l in lines if l.strip() and not l.startswith("#")):
        return
    with open(hba, "a") as f:
        f.write("\n# added by pilotledger scripts/reliability/replica.py\n"
                "host replication all 127.0.0.1/32 trust\n")
    sql(PG_PORT, "SELECT pg_reload_conf()")
    log(f"  (allowed replication connections from 127.0.0.1 in {hba})")


class Replica:
    def __init__(self, port: int) -> None:
        self.port = port
        self.name = f"plreplica{os.getpid()}"
        self.data = f"/var/lib/postgresql/{VERSION}/{self.name}"

    def create(self) -> None:
        subprocess.run(["pg_createcluster", VERSION, self.name, "--port", str(self.port)], check=True,
                       stdout=subprocess.DEVNULL)
        # The same trust on 127.0.0.1 as the primary this machine runs.
        with open(f"/etc/postgresql/{VERSION}/{self.name}/pg_hba.conf", "w") as f:
            f.write("local all all trust\nhost all all 127.0.0.1/32 trust\n")
        # pg_basebackup fills an empty directory the postgres user owns.
        for entry in os.listdir(self.data):
            path = os.path.join(self.data, entry)
            shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.remove(path)
        subprocess.run(["runuser", "-u", "postgres", "--", "pg_basebackup", "-h", PG_HOST, "-p", PG_PORT,
                        "-U", PG_USER, "-D", self.data, "-R", "-X", "stream", "-c", "fast"], check=True)
        self.start()

    def ctl(self, action: str, *extra: str) -> None:
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", VERSION, self.name, action, *extra],
                       check=True)

    def start(self) -> None:
        self.ctl("start")
        for _ in range(100):
            if subprocess.run(["pg_isready", "-h", PG_HOST, "-p", str(self.port), "-q"]).returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("the replica did not come up")

    def stop(self) -> None:
        self.ctl("stop", "-m", "fast")

    def drop(self) -> None:
        subprocess.run(["pg_dropcluster", "--stop", VERSION, self.name], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    def caught_up(self, timeout: float = 30.0) -> bool:
        target = sql(PG_PORT, "SELECT pg_current_wal_lsn()")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = sql(self.port, f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")
            if done == "t":
                return True
            time.sleep(0.1)
        return False


def research(server: Server, token: str) -> dict[str, object]:
    """Every research answer compared: the rate, a breakdown, the export."""
    out: dict[str, object] = {}
    for name, path in [("rate", f"/v1/aggregates/zero-impact-rate?{AGG}"),
                       ("by industry", f"/v1/aggregates/zero-impact-rate?{AGG}&by=industry"),
                       ("export", f"/v1/aggregates/export.json?{AGG}")]:
        _, _, body = json_call("GET", server.base + path, token=token, timeout=30)
        out[name] = body
    return out


def evaluated_orgs(server: Server, env: Env, op: str, n: int) -> None:
    """n organisations, each with one pilot evaluated in 2026Q2 and no impact."""
    for i in range(n):
        _, _, org = json_call("POST", f"{server.base}/v1/orgs", {"name": f"Late org {i}", **ORG_BODY}, op,
                              expect=(201,))
        member = env.mint("member", org["id"], "replica")
        json_call("POST", f"{server.base}/v1/pilots",
                  {"name": f"late pilot {i}", **PILOT_BODY, "stage": "production", "started_on": "2025-10-01",
                   "evaluated_on": "2026-05-15"}, member, expect=(201,))


def main() -> int:
    if os.geteuid() != 0:
        sys.exit("replica.py creates a PostgreSQL cluster and needs root")
    c = Checks()
    db_name, url = create_pg_database("pl_ci_replica")
    replica = Replica(free_port())
    servers: list[Server] = []
    try:
        allow_replication()
        replica.create()
        log(f"== replica {replica.name} on port {replica.port}, streaming from {PG_PORT}")
        env = Env(url)
        env.cli("migrate")
        env.cli("demo", "seed", "--orgs", "30", "--pilots-per-org", "12", "--seed", "5")
        replica_url = f"postgres://{PG_USER}@{PG_HOST}:{replica.port}/{db_name}"
        a = Server(env, free_port(), "A-replica")
        b = Server(env, free_port(), "B-primary")
        servers += [a, b]
        os.environ["PILOTLEDGER_READ_DATABASE_URL"] = replica_url
        a.start()
        del os.environ["PILOTLEDGER_READ_DATABASE_URL"]
        b.start()
        researcher = env.mint("researcher", label="replica")
        op = env.mint("operator", label="replica")

        c.check(replica.caught_up(), "the replica catches up with the seeded ledger")
        first_a, first_b = research(a, researcher), research(b, researcher)
        for name in first_b:
            c.check(first_a[name] == first_b[name], f"caught up: A's {name} (replica) equals B's (primary)")

        sql(replica.port, "SELECT pg_wal_replay_pause()")
        evaluated_orgs(b, env, op, 6)
        paused_a, paused_b = research(a, researcher), research(b, researcher)
        c.check(paused_b["rate"] != first_b["rate"], "six new evaluated organisations change B's rate at once")
        c.check(paused_a["rate"] == first_a["rate"],
                "with replay paused A's rate is unchanged: A reads the replica")

        _, _, org = json_call("POST", f"{a.base}/v1/orgs", {"name": "Own write", **ORG_BODY}, op, expect=(201,))
        member = env.mint("member", org["id"], "replica")
        finance = env.mint("finance", org["id"], "replica")
        _, _, p = json_call("POST", f"{a.base}/v1/pilots", {"name": "own", **PILOT_BODY}, member, expect=(201,))
        json_call("POST", f"{a.base}/v1/pilots/{p['id']}/spend",
                  {"category": "licences", "period_start": "2026-01-01", "period_end": "2026-01-31",
                   "amount": "250.00", "currency": "EUR", "capex": False}, member,
                  {"Idempotency-Key": "replica-own-write"}, expect=(201,))
        _, _, summary = json_call("GET", f"{a.base}/v1/summary", token=finance)
        c.check(summary["totals"]["spend"]["amount_minor"] == 25_000,
                "with replay paused a spend written through A is in the next summary through A",
                f"totals {summary['totals']}")

        sql(replica.port, "SELECT pg_wal_replay_resume()")
        c.check(replica.caught_up(), "replay resumed, the replica catches up")
        resumed_a, resumed_b = research(a, researcher), research(b, researcher)
        for name in resumed_b:
            c.check(resumed_a[name] == resumed_b[name], f"resumed: A's {name} equals B's again")

        replica.stop()
        for attempt in range(3):
            for name, path in [("rate", f"/v1/aggregates/zero-impact-rate?{AGG}"),
                               ("export", f"/v1/aggregates/export.json?{AGG}")]:
                started = time.monotonic()
                status, _, raw = request("GET", a.base + path, token=researcher, timeout=30)
                took = time.monotonic() - started
                same = status == 200 and json.loads(raw) == resumed_b[name]
                c.check(same and took < 5.0,
                        f"replica stopped: A's {name} #{attempt + 1} answers 200, equal to B's, in {took:.2f} s",
                        f"status {status}")
    finally:
        for s in servers:
            s.stop()
        replica.drop()
        drop_pg_database(db_name)
    if c.failed:
        log(f"replica: {len(c.failed)} check(s) failed")
        return 1
    log("replica: every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
