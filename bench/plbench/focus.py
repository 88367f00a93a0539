"""Figure f (issue 21): FOCUS bill import, rows/s next to `sqlite3 .import` of
the same CSV in the same run, and the importer's peak RSS at 1M rows.

The bill is generated from the real sample (`tests/fixtures/focus`): its
rows repeated with fresh ids and varied costs (11 decimals), tags kept, so
rules and parsing see real shapes. `pilotledger import-focus` reads it as a
stream; its peak RSS (the child's ru_maxrss) must stay flat in file size.
"""

from __future__ import annotations

import csv
import os
import random
import sqlite3
import subprocess
import time
from pathlib import Path

from . import common
from .common import log, note, row

SAMPLE = common.ROOT / "tests" / "fixtures" / "focus" / "focus-1.0-sample.csv"


def generate(path: Path, rows: int, seed: int = 21) -> None:
    """A FOCUS 1.0 CSV of `rows` rows built from the sample."""
    with open(SAMPLE, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        base = list(reader)
    cost = [header.index(c) for c in ("BilledCost", "EffectiveCost")]
    ident = header.index("Id")
    rng = random.Random(seed)
    with open(path, "w", newline="", encoding="utf-8") as out:
        w = csv.writer(out)
        w.writerow(header)
        for i in range(rows):
            r = list(base[i % len(base)])
            value = f"{rng.randrange(0, 10**13) / 10**11:.11f}"
            for c in cost:
                r[c] = value
            r[ident] = str(i)
            w.writerow(r)


def run_measured(cmd: list[str], env: dict) -> tuple[float, int, subprocess.CompletedProcess | None]:
    """Wall seconds and the child's peak RSS (KiB) of one command."""
    t = time.monotonic()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    seconds = time.monotonic() - t
    out, err = p.stdout.read(), p.stderr.read()
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError(f"{cmd[:2]} failed: {err.decode(errors='replace')[-2000:]}")
    return seconds, usage.ru_maxrss, subprocess.CompletedProcess(cmd, p.returncode, out, err)


def sqlite_import(path: Path, folder: Path) -> float:
    db = folder / "sqlite3-import.db"
    db.unlink(missing_ok=True)
    seconds, _, _ = run_measured(["sqlite3", str(db), ".import --csv " + str(path) + " bill"], dict(os.environ))
    with sqlite3.connect(db) as c:
        n = c.execute("SELECT count(*) FROM bill").fetchone()[0]
    db.unlink(missing_ok=True)
    return n / seconds


def focus_figure(backend_name: str, database_url: str, folder: Path, bill: Path, rows: int) -> None:
    """Loads the bill with sqlite3 .import, imports it with the CLI into a
    fresh organisation, and records the figures."""
    folder.mkdir(parents=True, exist_ok=True)
    limit = sqlite_import(bill, folder)
    env = dict(os.environ, DATABASE_URL=database_url, PILOTLEDGER_DATA_DIR=str(folder), RUST_LOG="warn")
    subprocess.run([str(common.BIN), "migrate"], env=env, check=True, capture_output=True, timeout=600)
    created = subprocess.run(
        [str(common.BIN), "org", "create", "--name", f"bench focus {time.time_ns()}", "--industry", "energy",
         "--size-band", "lt250", "--region", "DE", "--reporting-currency", "USD"],
        env=env, check=True, capture_output=True, text=True, timeout=600)
    org = __import__("json").loads(created.stdout)["id"]
    seconds, peak_kb, _ = run_measured([str(common.BIN), "import-focus", str(bill), "--org", org], env)
    rate = rows / seconds
    size = f"{rows // 1000}k" if rows < 1_000_000 else f"{rows // 1_000_000}m"
    row(backend_name, size, "f focus import rows/s (limit: sqlite3 .import)", round(rate), limit=round(limit),
        target=0.5, unit="rows/s")
    row(backend_name, size, "f focus import peak RSS MB (target < 100)", round(peak_kb / 1024, 1),
        met=peak_kb / 1024 < 100, unit="MB")
    note(backend_name, size, f"f: {bill.stat().st_size / 2**20:.0f} MiB CSV; sqlite3 .import {limit:.0f} rows/s "
                             f"(a plain table load, no parsing of costs or tags)")


def focus_bench(args, backends: list[str]) -> None:
    """Figure f on each backend, in fresh databases it removes afterwards."""
    from .backends import PgBackend, SqliteBackend
    bill = Path(args.data_dir) / f"focus-{args.focus_rows}.csv"
    bill.parent.mkdir(parents=True, exist_ok=True)
    if not bill.exists():
        log(f"generating a {args.focus_rows}-row FOCUS bill")
        generate(bill, args.focus_rows)
    for b in backends:
        folder = Path(args.data_dir) / f"{b}-focus"
        be = SqliteBackend(folder) if b == "sqlite" else PgBackend(folder, "focus")
        try:
            be.fresh()
            focus_figure(b, be.url, folder, bill, args.focus_rows)
        except Exception as e:  # reported, not fatal for the other figures
            row(b, "focus", "f focus import", "failed", met=False)
            note(b, "focus", f"f failed: {e}")
        finally:
            be.cleanup(args.keep)
    if not args.keep:
        bill.unlink(missing_ok=True)
