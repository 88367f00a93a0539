"""One (backend, size): seed, then figures a–e, each next to the limit of the machinery under it."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from . import common
from .common import *  # noqa: F401,F403
from .procs import *  # noqa: F401,F403
from .backends import *  # noqa: F401,F403
from .load import *  # noqa: F401,F403
from .sql import *  # noqa: F401,F403


class Ctx:
    pass


def median_runs(fn, runs: int, budget_s: float):
    """Calls fn() up to `runs` times (after one warm-up), stopping early when
    the time budget is spent; returns (median seconds, samples, last result)."""
    t0 = time.monotonic()
    fn()  # warm-up (page cache, prepared plans)
    samples, last = [], None
    for _ in range(runs):
        s, last = fn()
        samples.append(s)
        if time.monotonic() - t0 > budget_s:
            break
    return statistics.median(samples), samples, last


def bench_one(backend_name: str, size: str, args) -> None:
    pilots = SIZES[size]
    folder = Path(args.data_dir) / f"{backend_name}-{size}"
    be = SqliteBackend(folder) if backend_name == "sqlite" else PgBackend(folder, size)
    limit_db = f"{PG_PREFIX}limit_{size}"
    B, S = backend_name, size
    servers: list[Server] = []
    try:
        reuse = args.reuse and be.exists()
        if not reuse:
            be.fresh()
        env = dict(os.environ,
                   PILOTLEDGER_DATA_DIR=str(folder), DATABASE_URL=be.url,
                   PILOTLEDGER_JWT_SECRET=secrets.token_hex(32),
                   PILOTLEDGER_REQUESTS_PER_MINUTE=HIGH, PILOTLEDGER_RESEARCH_QUERIES_PER_MINUTE=HIGH,
                   PILOTLEDGER_METRICS_ACCESS="public",
                   RUST_LOG="warn")

        # ---- seed
        orgs = max(1, pilots // args.pilots_per_org)
        if reuse:
            note(B, S, "reused the data of an earlier --keep run (not seeded; figures a and b added rows to it)")
        else:
            log(f"{B} {S}: seeding {orgs} orgs x {args.pilots_per_org} pilots")
            t = time.monotonic()
            run([str(common.BIN), "demo", "seed", "--orgs", str(orgs), "--pilots-per-org", str(args.pilots_per_org),
                 "--seed", "1"], env=env, timeout=args.seed_timeout)
            seed_s = time.monotonic() - t
            n_entries = int(be.query("SELECT COUNT(*) FROM entries")[0][0])
            n_pilots = int(be.query("SELECT COUNT(*) FROM pilots")[0][0])
            row(B, S, "seed: demo seed wall time (s)", seed_s)
            row(B, S, "seed: entries written /s", n_entries / seed_s)
            note(B, S, f"seeded {n_pilots:,} pilots, {n_entries:,} entries in {seed_s:.1f} s")
            # The seed leaves gigabytes of the database file dirty in the page
            # cache (vm.dirty_ratio lets it), written back over the next tens
            # of seconds. Left to run, that writeback lands in the figures
            # after it — and fsync of the database file during a checkpoint
            # waits for all of it — so the seed's cost would be billed to
            # durable logging. Flushed here, every figure starts on a settled
            # disk, as does its limit.
            dirty_mb = dirty_kb() / 1024
            t = time.monotonic()
            os.sync()
            note(B, S, f"flushed {dirty_mb:,.0f} MB of dirty pages left by the seed in {time.monotonic() - t:.1f} s")

        org_rows = be.query("SELECT id FROM orgs ORDER BY id LIMIT 17")
        summary_org = org_rows[-1][0]  # untouched by the import and logging runs: a typical demo org
        org_ids = [r[0] for r in org_rows[:16]] if len(org_rows) > 1 else [org_rows[0][0]]
        ids_sql = ",".join(f"'{o}'" for o in org_ids)
        pil = be.query(f"SELECT org_id, id FROM pilots WHERE org_id IN ({ids_sql}) ORDER BY org_id, id")
        by_org: dict[str, list[str]] = {}
        for o, p in pil:
            by_org.setdefault(o, []).append(p)

        def mint(*a):
            return run([str(common.BIN), "token", "mint", *a, "--label", "bench"], env=env, timeout=120).stdout.strip().split()[-1]

        member = {o: mint("--org", o, "--role", "member") for o in org_ids}
        finance = mint("--org", summary_org, "--role", "finance")
        researcher = mint("--role", "researcher")

        fq, tq, fdate, tdate = quarter_window()
        rh = {"Authorization": f"Bearer {researcher}"}
        servers = [Server(env, folder)]
        log(f"{B} {S}: server pid {servers[0].pid} on {servers[0].base}")

        def attempt(label, fn, fresh=False):
            """Runs one figure; a failure (or the RSS watchdog) aborts that
            figure only, and the server is restarted for the next one. fresh:
            restart first (work a timed-out request left running in the
            background must not weigh on the next figure)."""
            try:
                if fresh or not servers[-1].alive():
                    servers[-1].stop()
                    servers.append(Server(env, folder))
                fn(servers[-1])
            except Exception as e:
                srv = servers[-1]
                why = (f"server killed by the watchdog (RSS above {Server.max_rss_kb // 1048576} GB)"
                       if srv.killed_for_rss else str(e)[:400])
                note(B, S, f"{label} aborted: {why}")
                row(B, S, f"{label}: aborted (see notes)", None)

        # ---- a. bulk ingestion
        def fig_a(server):
            base = server.base
            files = ingest_rows(args.import_files, args.import_rows, args.import_pilots, f"{B}{S}")
            n_spend = sum(len(s) for _, s in files)
            api_s = 0.0
            for i, (ps, ss) in enumerate(files):
                body = ("\n".join(json.dumps(r) for r in ps + ss) + "\n").encode()
                st, resp, el = http("POST", base + "/v1/import", {
                    "Authorization": f"Bearer {member[org_ids[0]]}", "Content-Type": "application/x-ndjson",
                    "Idempotency-Key": str(uuid.uuid4())}, body, timeout=600)
                if st not in (200, 201):
                    raise RuntimeError(f"import answered {st}: {resp[:500]!r}")
                api_s += el
            api_rate = n_spend / api_s
            limit_rate = ingest_limit(be, args, files, folder, limit_db, n_spend)
            row(B, S, "a. import entries/s (API) vs DB insert", api_rate, limit_rate, 0.5)

        if "a" in args.figures:
            attempt("a. bulk ingestion", fig_a)

        # ---- b. durable single-entry logging
        def fig_b(server):
            base = server.base
            durable(be, server, args, by_org, member, folder, limit_db, B, S)

        if "b" in args.figures:
            attempt("b. durable single-entry logging", fig_b)

        # ---- c. zero-impact rate vs SQL
        def fig_c(server):
            base = server.base
            rate_url = f"{base}/v1/aggregates/zero-impact-rate?from={fq}&to={tq}"
            server.reset_peak()

            # The SQL first: a timed-out API request keeps working in the background.
            sql = zero_impact_sql(B, fdate, tdate)
            (folder / "zero_impact.sql").write_text(sql)

            def sql_call():
                t = time.monotonic()
                if B == "sqlite":
                    out = run(["sqlite3", "-batch", str(be.db)], input=sql, timeout=args.query_timeout).stdout
                else:
                    out = run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", PG_HOST, "-U", PG_USER,
                               "-d", be.dbname, "-f", str(folder / "zero_impact.sql")], timeout=args.query_timeout).stdout
                return time.monotonic() - t, out

            sql_med, sql_samples, sql_out = median_runs(sql_call, args.runs, args.query_budget)

            def api_call():
                st, body, el = http("GET", rate_url, rh, timeout=args.query_timeout)
                if st == 503 and b"request_timeout" in body:
                    raise ServerTimeout(el)
                if st != 200:
                    raise RuntimeError(f"zero-impact-rate answered {st}: {body[:300]!r}")
                return el, body

            api_timeout = None
            try:
                api_med, api_samples, api_body = median_runs(api_call, args.runs, args.query_budget)
            except ServerTimeout as t:
                api_timeout, api_samples, api_body = t.seconds, [], b"{}"
            rate_peak_mb = server.status_kb("VmHWM") / 1024
            if server.killed_for_rss:
                raise RuntimeError("server killed by the RSS watchdog")
            if api_timeout is not None:
                row(B, S, "c. zero-impact-rate latency ms (API) vs SQL", f"503 after {api_timeout:.0f} s",
                    sql_med * 1e3, 1.0, higher_is_better=False, met=False)
                note(B, S, f"c. the API gave up (503 request_timeout) after {api_timeout:.1f} s; its work goes on "
                           f"in the background; peak RSS by then {rate_peak_mb:.0f} MB")
            else:
                row(B, S, "c. zero-impact-rate latency ms (API) vs SQL", api_med * 1e3, sql_med * 1e3, 1.0,
                    higher_is_better=False)
            note(B, S, f"c. API samples ms {[round(x * 1e3) for x in api_samples]}, SQL samples ms "
                       f"{[round(x * 1e3) for x in sql_samples]}; server peak RSS during the rate queries "
                       f"{rate_peak_mb:.0f} MB")
            note(B, S, "c. " + compare_rate(api_body, sql_out))
            rows_sql = pilot_rows_sql(B, fdate, tdate)
            (folder / "pilot_rows.sql").write_text(rows_sql)
            if B == "sqlite":
                rows = run(["sqlite3", "-batch", str(be.db)], input=rows_sql, timeout=args.query_timeout).stdout
            else:
                rows = run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", PG_HOST, "-U", PG_USER,
                            "-d", be.dbname, "-f", str(folder / "pilot_rows.sql")], timeout=args.query_timeout).stdout
            ratios = "c. " + trend_se_ratios(rows)
            note(B, S, ratios)
            print(ratios, flush=True)

        if "c" in args.figures:
            attempt("c. zero-impact rate vs SQL", fig_c)

        # ---- e. export
        def fig_e(server):
            base = server.base
            time.sleep(1)
            rss_before = server.status_kb("VmRSS") / 1024
            reset = server.reset_peak()
            st, body, el = http("GET", f"{base}/v1/aggregates/export?format=csv&from={fq}&to={tq}", rh,
                                timeout=args.query_timeout)
            peak = server.status_kb("VmHWM") / 1024
            if st == 503 and b"request_timeout" in body:
                row(B, S, "e. export csv time s", f"503 after {el:.0f} s", met=False)
                row(B, S, "e. export peak RSS MB vs 100 MB", f">= {peak:,.0f} (at the 503)", 100.0, 1.0,
                    higher_is_better=False, met=False)
                note(B, S, f"e. export gave up (503 request_timeout) after {el:.1f} s with RSS peak {peak:.0f} MB "
                           "so far; the work continues in the background, so the true peak is higher")
                return
            if st != 200:
                raise RuntimeError(f"export answered {st}: {body[:300]!r}")
            rows_out = max(0, body.count(b"\n") - 1)
            row(B, S, f"e. export csv time s ({rows_out} rows, {len(body) // 1024} KiB)", el)
            row(B, S, "e. export peak RSS MB vs 100 MB", peak, 100.0, 1.0, higher_is_better=False)
            note(B, S, f"e. RSS before export {rss_before:.0f} MB; VmHWM reset {'ok' if reset else 'FAILED (peak is lifetime)'}")

        if "e" in args.figures:
            attempt("e. export", fig_e, fresh=True)

        # ---- d. summary reads vs /healthz
        def fig_d(server):
            base = server.base
            fh = {"Authorization": f"Bearer {finance}"}
            st, body, _ = http("GET", base + "/v1/summary", fh, timeout=60)
            if st != 200:
                raise RuntimeError(f"summary answered {st}: {body[:300]!r}")
            summ = wrk(base + "/v1/summary", None, args.duration, 64, args.wrk_threads, fh)
            health = wrk(base + "/healthz", None, args.duration, 64, args.wrk_threads)
            if summ["non2xx"] or summ["socket_errors"]:
                note(B, S, f"d. summary non-2xx {summ['non2xx']}, socket errors {summ['socket_errors']}, statuses {summ['statuses']}")
            row(B, S, "d. summary req/s vs /healthz req/s", summ["rps"], health["rps"], 0.3)
            row(B, S, "d. summary p50 ms", summ["p50_ms"])
            row(B, S, "d. summary p99 ms vs 50 ms", summ["p99_ms"], 50.0, 1.0, higher_is_better=False)
            note(B, S, f"d. wrk CPU: summary run {summ['client_cpu_share']:.2f} cores, healthz run "
                       f"{health['client_cpu_share']:.2f} cores; machine busy {summ['machine_cores_busy']:.2f}/"
                       f"{health['machine_cores_busy']:.2f} cores; healthz p50/p99 {health['p50_ms']:.2f}/{health['p99_ms']:.2f} ms")

        if "d" in args.figures:
            attempt("d. summary reads vs /healthz", fig_d, fresh=True)

    except Exception as e:
        note(B, S, f"FAILED: {e}")
        row(B, S, "run failed (see notes)", None)
    finally:
        for srv in servers:
            srv.stop()
        if B == "postgres":
            pg_drop(limit_db)
        be.cleanup(args.keep)


def compare_rate(api_body: bytes, sql_out: str) -> str:
    """Checks the API's unsuppressed per-quarter totals against the SQL's."""
    sql = {}
    for line in sql_out.split():
        f = line.split("|")
        if len(f) == 5:
            sql[f[0]] = (int(f[1]), int(f[2]), int(f[3]), int(f[4]))
    try:
        cells = [c for c in json.loads(api_body)["cells"] if c.get("dimension") == "all"]
    except (ValueError, KeyError, TypeError):
        return "API answer not parsable for the cross-check"
    same, differ, suppressed = 0, [], 0
    for c in cells:
        if c.get("suppressed"):
            suppressed += 1
            continue
        want = sql.get(c["quarter"])
        got = (c.get("organisations"), c.get("zero_return_organisations"), c.get("pilots"))
        if want and want[:3] == (got[0], got[1], got[2]):
            same += 1
        else:
            differ.append(f"{c['quarter']} api {got} sql {want[:3] if want else None}")
    return (f"cross-check API 'all' cells vs SQL (orgs, zero-return orgs, pilots): {same} quarters agree, "
            f"{suppressed} suppressed, {len(differ)} differ" + (": " + "; ".join(differ[:4]) if differ else ""))


def ingest_limit(be, args, files, folder: Path, limit_db: str, n_spend: int) -> float:
    """The database's own insert rate for the same rows, into an empty copy of
    the schema in the same folder, in one transaction."""
    org = str(uuid.uuid4())
    prow, erow = db_rows_for(files, org)
    if be.name == "sqlite":
        db = folder / "ingest-limit.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        run(["sqlite3", str(db)], input="PRAGMA journal_mode=WAL;\n" + schema_sql("sqlite") + ORG_INSERT.format(id=org))
        lines = ["PRAGMA journal_mode=WAL;", "PRAGMA synchronous=FULL;", "PRAGMA foreign_keys=ON;", "BEGIN;"]
        lines += [f"INSERT INTO pilots ({PILOT_COLS}) VALUES ({','.join(map(sql_str, r))});" for r in prow]
        lines += [f"INSERT INTO entries ({ENTRY_COLS}) VALUES ({','.join(map(sql_str, r))});" for r in erow]
        lines.append("COMMIT;")
        script = folder / "ingest-limit.sql"
        script.write_text("\n".join(lines) + "\n")
        t = time.monotonic()
        run(["sqlite3", "-bail", str(db), f".read {script}"], timeout=600)
        el = time.monotonic() - t
        got = int(run(["sqlite3", str(db), "SELECT COUNT(*) FROM entries"]).stdout.strip())
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
    else:
        pg_create(limit_db)
        (folder / "schema.sql").write_text(schema_sql("postgres") + ORG_INSERT.format(id=org))
        psql(limit_db, file=folder / "schema.sql")
        import csv
        pf, ef = folder / "pilots.csv", folder / "entries.csv"

        def pgv(v):
            return "" if v is None else ("true" if v is True else "false" if v is False else v)

        with open(pf, "w", newline="") as f:
            csv.writer(f).writerows([[pgv(v) for v in r] for r in prow])
        with open(ef, "w", newline="") as f:
            csv.writer(f).writerows([[pgv(v) for v in r] for r in erow])
        script = folder / "copy.sql"
        script.write_text(f"BEGIN;\n\\copy pilots ({PILOT_COLS}) FROM '{pf}' WITH (FORMAT csv)\n"
                          f"\\copy entries ({ENTRY_COLS}) FROM '{ef}' WITH (FORMAT csv)\nCOMMIT;\n")
        t = time.monotonic()
        psql(limit_db, file=script)
        el = time.monotonic() - t
        got = int(psql(limit_db, "SELECT COUNT(*) FROM entries")[0][0])
    if got != n_spend:
        raise RuntimeError(f"ingest limit inserted {got} entries, expected {n_spend}")
    return n_spend / el


def commit_limit_sqlite(folder: Path, max_commits: int, max_seconds: float) -> float:
    """A bare loop: one row per transaction, WAL, synchronous=FULL, same folder."""
    db = folder / "commit-limit.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    c = sqlite3.connect(db, isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("PRAGMA synchronous=FULL")
    c.execute("CREATE TABLE t (id TEXT PRIMARY KEY, pilot_id TEXT, amount_minor INTEGER, note TEXT)")
    n, t = 0, time.monotonic()
    while n < max_commits and time.monotonic() - t < max_seconds:
        c.execute("BEGIN")
        c.execute("INSERT INTO t VALUES (?, ?, ?, ?)", (str(uuid.uuid4()), "p", n, "seats"))
        c.execute("COMMIT")
        n += 1
    el = time.monotonic() - t
    c.close()
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    return n / el


def commit_limit_pg(folder: Path, limit_db: str, seconds: int, clients: int) -> tuple[float, int]:
    """pgbench: one single-row INSERT per transaction, -c clients, default
    synchronous_commit. Falls back to fewer clients if connections run out."""
    pg_create(limit_db)
    psql(limit_db, "CREATE TABLE commit_bench (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), "
                   "pilot_id text, amount_minor bigint, note text)")
    script = folder / "commit.pgbench"
    script.write_text("INSERT INTO commit_bench (pilot_id, amount_minor, note) VALUES ('p', 1, 'seats');\n")
    for c in (clients, 48, 32):
        p = run(["pgbench", "-n", "-h", PG_HOST, "-p", PG_PORT, "-U", PG_USER, "-c", str(c), "-j", "2",
                 "-T", str(seconds), "-f", str(script), limit_db], timeout=seconds + 120, check=False)
        m = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", p.stdout)
        if p.returncode == 0 and m:
            return float(m.group(1)), c
        log(f"pgbench -c {c} failed: {p.stderr[-500:]}")
    raise RuntimeError("pgbench failed")




LUA = r"""
-- One POST …/spend per request, each with its own Idempotency-Key,
-- round-robin over (organisation token, pilot) pairs.
local targets = {TARGETS}
local body = '{BODY}'
local counter = 0
local n = 0
function setup(thread)
  n = n + 1
  thread:set("tid", n)
end
function request()
  counter = counter + 1
  local t = targets[(counter % #targets) + 1]
  return wrk.format("POST", t[1], {
    ["Authorization"] = t[2],
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = "{NONCE}-" .. tid .. "-" .. counter,
  }, body)
end
"""


def durable(be, server: Server, args, by_org, member, folder: Path, limit_db, B, S):
    targets = []
    for o, ps in by_org.items():
        for p in ps[: args.pilots_per_target_org]:
            targets.append((f"/v1/pilots/{p}/spend", f"Bearer {member[o]}"))
    body = json.dumps({"category": "compute_inference", "period_start": "2026-03-01", "period_end": "2026-03-31",
                       "amount": "42.00", "currency": "USD", "capex": False, "note": "bench"})
    lua = (LUA.replace("{TARGETS}", "{" + ",".join(f'{{"{p}", "{a}"}}' for p, a in targets) + "}")
           .replace("{BODY}", body).replace("{NONCE}", uuid.uuid4().hex))
    script = folder / "spend.lua"
    script.write_text(lua)
    # The limit is measured right before and right after the service (half the
    # duration each) and averaged: the disk's fsync rate moves with whatever
    # else the machine is doing, and bracketing keeps both sides comparable.
    half = max(1, args.duration // 2)

    # The limit is the issue's: the disk's own durable commit rate, a bare
    # loop committing one row per transaction to a SQLite file (WAL, FULL) in
    # the same folder, for both backends. For PostgreSQL, pgbench's rate with
    # 64 clients (PostgreSQL's own group commit, no HTTP, no JSON, no checks)
    # is printed beside it as context.
    def limit_run():
        return commit_limit_sqlite(folder, args.commit_max, half), None

    limit_before, c = limit_run()
    before = int(be.query("SELECT COUNT(*) FROM entries")[0][0])
    m0 = server.metrics()
    # SQLite: how large the WAL file gets while the writes never pause (it
    # should keep starting over, not grow for as long as they last).
    wal_peak, watching = [0], threading.Event()

    def watch_wal():
        wal = Path(f"{be.db}-wal")
        while not watching.is_set():
            try:
                wal_peak[0] = max(wal_peak[0], wal.stat().st_size)
            except OSError:
                pass
            watching.wait(0.2)

    watcher = threading.Thread(target=watch_wal, daemon=True) if B == "sqlite" else None
    if watcher:
        watcher.start()
    cpu0, writer0 = server.cpu_seconds(), server.writer_cpu_seconds()
    r = wrk(server.base, script, args.duration, 64, args.wrk_threads)
    cpu, writer = server.cpu_seconds() - cpu0, server.writer_cpu_seconds() - writer0
    watching.set()
    m1 = server.metrics()
    time.sleep(1)
    after = int(be.query("SELECT COUNT(*) FROM entries")[0][0])
    acked = r["requests"] - r["non2xx"]
    rate = acked / r["seconds"]
    if r["non2xx"]:
        note(B, S, f"b. {r['non2xx']} non-2xx responses of {r['requests']}: statuses {r['statuses']}")
    if after - before < acked:
        note(B, S, f"b. WARNING: only {after - before} new entries for {acked} acknowledged requests")
    batches = m1.get("pilotledger_group_commit_batches_total", 0) - m0.get("pilotledger_group_commit_batches_total", 0)
    writes = m1.get("pilotledger_group_commit_writes_total", 0) - m0.get("pilotledger_group_commit_writes_total", 0)
    gc = f"; group commit {writes / batches:.1f} writes/batch over {batches:.0f} batches" if batches else ""
    if watcher:
        watcher.join()
        frames = m1.get("pilotledger_sqlite_wal_frames")
        note(B, S, f"b. SQLite WAL file at most {wal_peak[0] / 2**20:,.0f} MiB during the run"
                   + (f"; {frames:,.0f} pages in it at the last checkpoint pass" if frames is not None else ""))
    note(B, S, f"b. {acked} acknowledged in {r['seconds']:.1f} s, {after - before} rows landed; p50/p99 "
               f"{r['p50_ms']:.1f}/{r['p99_ms']:.1f} ms; wrk {r['client_cpu_share']:.2f} cores, server "
               f"{cpu / r['seconds']:.2f} cores (writer thread {writer / r['seconds']:.2f}), whole machine {r['machine_cores_busy']:.2f} of {os.cpu_count()} cores busy{gc}")
    limit_after, c = limit_run()
    limit = (limit_before + limit_after) / 2
    label = "b. durable entries/s (64 clients) vs the disk's 1-row commits/s (bare SQLite loop)"
    note(B, S, f"b. limit before/after the service run: {limit_before:,.0f} / {limit_after:,.0f} commits/s")
    row(B, S, label, rate, limit, 1.0)
    if B == "postgres":
        pg_rate, c = commit_limit_pg(folder, limit_db, half, 64)
        row(B, S, f"b. (context) durable entries/s vs pgbench 1-row INSERTs/s (-c {c})", rate, pg_rate)
