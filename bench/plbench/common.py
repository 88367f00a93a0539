"""Shared state of a benchmark run: paths, sizes, the results table and the log."""

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


ROOT = Path(__file__).resolve().parent.parent.parent
# cargo builds into CARGO_TARGET_DIR when it is set (the CI script sets it).
BIN = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target") / "release" / "pilotledger"
FIGURES = ("a", "b", "c", "d", "e", "f")
SIZES = {"1k": 1_000, "10k": 10_000, "100k": 100_000, "1m": 1_000_000}
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", "5432", "postgres"
PG_PREFIX = "plbench_"
HIGH = "100000000"
EVALUATING = ("production", "scaled", "abandoned")
CLK_TCK = os.sysconf("SC_CLK_TCK")

RESULTS: list[dict] = []
NOTES: list[str] = []
T0 = time.monotonic()


class ServerTimeout(Exception):
    """The server answered 503 request_timeout after `seconds`."""

    def __init__(self, seconds: float):
        super().__init__(f"503 request_timeout after {seconds:.1f} s")
        self.seconds = seconds


def log(msg: str) -> None:
    print(f"[{time.monotonic() - T0:7.1f}s] {msg}", file=sys.stderr, flush=True)


def note(backend: str, size: str, msg: str) -> None:
    NOTES.append(f"{backend:8} {size:5} {msg}")
    log("note: " + msg)


def row(backend, size, figure, value, limit=None, target=None, higher_is_better=True, unit="", met=None):
    """Adds one table row. target is the ratio target (value/limit), or for a
    row without limit, None. A non-numeric value (a time-out) has no ratio;
    pass met=False for it."""
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    ratio = (value / limit) if (numeric and limit) else None
    if ratio is not None and target is not None:
        met = ratio >= target if higher_is_better else ratio <= target
    r = {
        "backend": backend,
        "size": size,
        "figure": figure,
        "value": value,
        "limit": limit,
        "ratio": ratio,
        "target": None if target is None else (f">= {target}" if higher_is_better else f"<= {target}"),
        "met": met,
        "unit": unit,
    }
    RESULTS.append(r)
    log(f"{backend} {size} {figure}: value={value} limit={limit} ratio={ratio} met={met}")


def fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "NO"
    if isinstance(v, float):
        if v == 0:
            return "0"
        if abs(v) >= 100:
            return f"{v:,.0f}"
        if abs(v) >= 1:
            return f"{v:.2f}"
        return f"{v:.3f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def print_table(out) -> str:
    cols = ["backend", "size", "figure", "value", "limit", "ratio", "target", "met?"]
    lines = [[r["backend"], r["size"], r["figure"], fmt(r["value"]), fmt(r["limit"]), fmt(r["ratio"]),
              r["target"] or "-", fmt(r["met"])] for r in RESULTS]
    widths = [max(len(c), *(len(l[i]) for l in lines)) if lines else len(c) for i, c in enumerate(cols)]
    text = ["| " + " | ".join(c.ljust(w) for c, w in zip(cols, widths)) + " |",
            "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for l in lines:
        text.append("| " + " | ".join(x.ljust(w) for x, w in zip(l, widths)) + " |")
    s = "\n".join(text)
    print(s, file=out)
    return s
