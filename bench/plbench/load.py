"""Load generators and test data: wrk runs and their parsing, import files and rows."""

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


def parse_wrk(out: str) -> dict:
    def dur(s):
        m = re.match(r"([0-9.]+)(us|ms|s|m)$", s)
        v, u = float(m.group(1)), m.group(2)
        return v * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[u]

    r = {}
    m = re.search(r"(\d+) requests in ([0-9.]+)(us|ms|s|m)", out)
    r["requests"] = int(m.group(1))
    r["seconds"] = dur(m.group(2) + m.group(3)) / 1e3
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    r["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    r["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    m = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    r["rps"] = float(m.group(1))
    for pct in ("50", "90", "99"):
        m = re.search(rf"^\s+{pct}(?:\.000)?%\s+([0-9.]+(?:us|ms|s|m))", out, re.M)
        r[f"p{pct}_ms"] = dur(m.group(1)) if m else None
    return r


STATUS_LUA = r"""
-- Count response statuses per thread and print them at the end.
local threads_ = {}
local setup_ = setup
function setup(thread)
  table.insert(threads_, thread)
  if setup_ then setup_(thread) end
end
statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads_) do
    local c = t:get("statuses")
    for k, v in pairs(c) do total[k] = (total[k] or 0) + v end
  end
  for k, v in pairs(total) do io.write(string.format("STATUS %d %d\n", k, v)) end
end
"""


def wrk(url: str, lua: Path | None, seconds: int, conns: int, threads: int, headers: dict | None = None):
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    for k, v in (headers or {}).items():
        cmd += ["-H", f"{k}: {v}"]
    script = Path(lua.parent if lua else Path("/tmp")) / f"status-{uuid.uuid4().hex}.lua"
    script.write_text((lua.read_text() if lua else "") + STATUS_LUA)
    cmd += ["-s", str(script)]
    cmd.append(url)
    m0 = machine_busy()
    with ChildCpu() as c:
        out, err, wall = run_rusage(cmd, timeout=seconds + 60)
    m1 = machine_busy()
    script.unlink(missing_ok=True)
    r = parse_wrk(out)
    r["statuses"] = {int(a): int(b) for a, b in re.findall(r"^STATUS (\d+) (\d+)$", out, re.M)}
    r["client_cpu_share"] = c.cpu / wall  # cores used by wrk
    r["machine_cores_busy"] = busy_cores(m0, m1)  # all processes, incl. other users of the machine
    r["raw"] = out
    return r


# ---------------------------------------------------------------- data

def quarter(d: dt.date) -> tuple[int, int]:
    return d.year, (d.month - 1) // 3 + 1


def quarter_window() -> tuple[str, str, str, str]:
    """The API's default window (three years back to the current quarter),
    passed explicitly to both the API and the SQL so they agree."""
    today = dt.datetime.now(dt.timezone.utc).date()
    y, q = quarter(today)
    fy, fq = y - 3, q
    start = dt.date(fy, 3 * (fq - 1) + 1, 1)
    ny, nq = (y + 1, 1) if q == 4 else (y, q + 1)
    end_excl = dt.date(ny, 3 * (nq - 1) + 1, 1)
    return f"{fy}Q{fq}", f"{y}Q{q}", start.isoformat(), end_excl.isoformat()


def ingest_rows(files: int, rows_per_file: int, pilots_per_file: int, tag: str):
    """The bulk-ingestion workload: per file, pilots then spend rows spread
    over them. Returns [(pilots, spends)] per file (dicts of the API fields)."""
    out = []
    for f in range(files):
        pilots = [{"type": "pilot", "ref": f"B{f}-{i}", "name": f"Bench {tag} pilot {f}-{i}",
                   "business_function": "finance_accounting", "sourcing": "bought", "ai_kind": "genai_agentic",
                   "stage": "piloting", "started_on": "2026-01-15"} for i in range(pilots_per_file)]
        spends = []
        for j in range(rows_per_file - pilots_per_file):
            m = j % 12 + 1
            last = (dt.date(2026 + m // 12, m % 12 + 1, 1) - dt.timedelta(days=1)).day
            spends.append({"type": "spend", "pilot_ref": f"B{f}-{j % pilots_per_file}",
                           "category": "licences", "period_start": f"2026-{m:02d}-01",
                           "period_end": f"2026-{m:02d}-{last:02d}",
                           "amount": f"{(j * 7919) % 100000 / 100:.2f}", "currency": "USD",
                           "capex": False, "note": "seats"})
        out.append((pilots, spends))
    return out


def sql_str(v) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, (int, float)):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


def db_rows_for(files, org_id: str):
    """The same rows as database tuples (pilots, entries)."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
    prow, erow = [], []
    for pilots, spends in files:
        ids = {}
        for p in pilots:
            pid = str(uuid.uuid4())
            ids[p["ref"]] = pid
            prow.append((org_id, pid, p["name"], p["business_function"], p["sourcing"], p["ai_kind"], p["stage"],
                         "2026-01-15", p["started_on"], None, None, "[]", None, 1, now, now))
        for s in spends:
            erow.append((org_id, str(uuid.uuid4()), ids[s["pilot_ref"]], "spend", s["category"], s["period_start"],
                         s["period_end"], int(round(float(s["amount"]) * 100)), "USD", False, None, None, None,
                         s["note"], None, None, None, "bench", now))
    return prow, erow


PILOT_COLS = ("org_id, id, name, business_function, sourcing, ai_kind, stage, stage_entered_on, started_on, "
              "evaluated_on, owner_team, tags, external_ref, version, created_at, updated_at")
ENTRY_COLS = ("org_id, id, pilot_id, entry_type, category, period_start, period_end, amount_minor, currency, capex, "
              "attribution_method, confidence, measured, note, reverses, replaces, reason, created_by, created_at")
ORG_INSERT = ("INSERT INTO orgs (id, name, industry, size_band, region, reporting_currency, ledger_version, created_at)"
              " VALUES ('{id}', 'Bench org', 'industrials', '1000_9999', 'US', 'USD', 0, '2026-01-01 00:00:00');")


def schema_sql(backend: str) -> str:
    return "\n".join(p.read_text() for p in sorted((ROOT / "migrations" / backend).glob("*/up.sql")))
