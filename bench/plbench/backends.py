"""The two backends: a SQLite data folder or a PostgreSQL database per run."""

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


class SqliteBackend:
    name = "sqlite"

    def __init__(self, folder: Path):
        self.folder = folder
        self.db = folder / "pilotledger.db"
        self.url = f"sqlite://{self.db}"

    def fresh(self):
        if self.folder.exists():
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True)

    def exists(self) -> bool:
        return self.db.exists()

    def query(self, sql: str, timeout=600) -> list[list[str]]:
        p = run(["sqlite3", "-batch", "-noheader", "-separator", "\t", str(self.db)], input=sql, timeout=timeout)
        return [l.split("\t") for l in p.stdout.splitlines() if l]

    def cleanup(self, keep: bool):
        if not keep and self.folder.exists():
            shutil.rmtree(self.folder)


def psql(db: str, sql: str | None = None, file: Path | None = None, timeout=600) -> list[list[str]]:
    cmd = ["psql", "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-h", PG_HOST, "-p", PG_PORT,
           "-U", PG_USER, "-d", db]
    cmd += ["-f", str(file)] if file else ["-c", sql]
    p = run(cmd, timeout=timeout)
    return [l.split("\t") for l in p.stdout.splitlines() if l]


def pg_create(db: str):
    assert db.startswith(PG_PREFIX)
    psql("postgres", f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    psql("postgres", f'CREATE DATABASE "{db}"')


def pg_drop(db: str):
    assert db.startswith(PG_PREFIX)
    try:
        psql("postgres", f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    except Exception as e:  # cleanup is best effort, but say so
        log(f"could not drop {db}: {e}")


class PgBackend:
    name = "postgres"

    def __init__(self, folder: Path, size: str):
        self.folder = folder
        self.dbname = f"{PG_PREFIX}{size}"
        self.url = f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{self.dbname}"

    def fresh(self):
        if self.folder.exists():
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True)
        pg_create(self.dbname)

    def exists(self) -> bool:
        return bool(psql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{self.dbname}'"))

    def query(self, sql: str, timeout=600):
        return psql(self.dbname, sql, timeout=timeout)

    def cleanup(self, keep: bool):
        if not keep:
            pg_drop(self.dbname)
            if self.folder.exists():
                shutil.rmtree(self.folder)


def dirty_kb() -> int:
    """Dirty page-cache memory, from /proc/meminfo (0 where it cannot be read)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("Dirty:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
