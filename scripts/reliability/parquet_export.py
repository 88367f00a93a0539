#!/usr/bin/env python3
"""The Parquet export read back by pyarrow equals the CSV export cell for cell.

    parquet_export.py

Runs itself inside a venv under $TMPDIR with pyarrow (pinned) when pyarrow is
not importable. Seeds demo data into a fresh SQLite database, starts the
server, fetches GET /v1/aggregates/export as CSV and as Parquet
(format=parquet), reads the
Parquet file with pyarrow and checks: the same columns in the same order with
the documented types (string, int64, double, bool; nullable where the CSV
cell may be empty), the same number of rows, and every cell equal to its CSV
counterpart (empty CSV cell = null; numbers compared as numbers). Exits
non-zero on any difference.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

PYARROW = "26.0.1"


def ensure_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
        return
    except ImportError:
        pass
    venv = Path(os.environ.get("TMPDIR", "/tmp")) / f"pilotledger-pyarrow-{PYARROW}"
    py = venv / "bin" / "python"
    if not py.exists() or subprocess.run([str(py), "-c", "import pyarrow"], capture_output=True).returncode:
        print(f"== installing pyarrow {PYARROW} into {venv}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", f"pyarrow=={PYARROW}"], check=True)
    os.execv(str(py), [str(py), *sys.argv])


ensure_pyarrow()

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from _common import Env, Server, free_port, request, log  # noqa: E402

TYPES = {
    "min_impact_usd": pa.int64(), "window_months": pa.int64(), "bootstrap_reps": pa.int64(),
    "organisations": pa.int64(), "pilots": pa.int64(), "zero_return_organisations": pa.int64(),
    "suppressed": pa.bool_(),
}
FLOATS = {"org_zero_return_share", "pilot_rate", "org_average_rate"}


def expected_type(name: str) -> pa.DataType:
    if name in TYPES:
        return TYPES[name]
    if name.split("_low")[0].split("_high")[0] in FLOATS or name in FLOATS:
        return pa.float64()
    return pa.string()


def as_csv_text(value, kind: pa.DataType) -> str:
    """A Parquet value written the way the CSV writes it."""
    if value is None:
        return ""
    if kind == pa.bool_():
        return "true" if value else "false"
    if kind == pa.float64():
        return repr(float(value))
    return str(value)


def main() -> int:
    env = Env(None)
    env.cli("demo", "seed", "--orgs", "40", "--pilots-per-org", "25", "--seed", "3")
    server = Server(env, free_port(), "parquet")
    failures: list[str] = []
    try:
        server.start()
        token = env.mint("researcher")
        base = server.base + "/v1/aggregates/export"
        status, headers, raw_csv = request("GET", base + "?format=csv", token=token, timeout=120)
        assert status == 200, (status, raw_csv[:300])
        rows = list(csv.reader(io.StringIO(raw_csv.decode())))
        header, body = rows[0], rows[1:]
        for how, url, extra in [("format=parquet", base + "?format=parquet", {})]:
            status, headers, raw = request("GET", url, token=token, headers=extra, timeout=120)
            if status != 200 or headers.get("content-type") != "application/vnd.apache.parquet":
                failures.append(f"{how}: {status} {headers.get('content-type')} {raw[:200]!r}")
                continue
            table = pq.read_table(io.BytesIO(raw))
            if table.column_names != header:
                failures.append(f"{how}: columns {table.column_names} != CSV header {header}")
                continue
            for name in header:
                want = expected_type(name)
                if table.schema.field(name).type != want:
                    failures.append(f"{how}: {name} is {table.schema.field(name).type}, documented {want}")
            if table.num_rows != len(body):
                failures.append(f"{how}: {table.num_rows} rows, CSV has {len(body)}")
                continue
            columns = [(name, table.schema.field(name).type, table.column(name).to_pylist()) for name in header]
            differences = 0
            for i, csv_row in enumerate(body):
                for j, (name, kind, values) in enumerate(columns):
                    got = as_csv_text(values[i], kind)
                    if got != csv_row[j] and not (kind == pa.float64() and csv_row[j] and float(csv_row[j]) == values[i]):
                        differences += 1
                        if differences <= 5:
                            failures.append(f"{how}: row {i + 1} {name}: parquet {got!r}, csv {csv_row[j]!r}")
            published = sum(1 for r in body if r[header.index("suppressed")] == "false")
            log(f"parquet export ({how}): {table.num_rows} rows × {len(header)} columns, "
                f"{published} published, {differences} cells differ from the CSV")
    finally:
        server.stop()
    for f in failures:
        log(f"FAIL: {f}")
    log("parquet export: " + ("FAILED" if failures else "equals the CSV cell for cell"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
