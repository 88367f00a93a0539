"""Shared helpers for the reliability scripts: locate the binary, run server
processes, make plain HTTP requests, create and drop PostgreSQL databases.

Standard library only. Every server is bound to 127.0.0.1; nothing here sends
traffic anywhere else.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PG_HOST = os.environ.get("PGHOST", "127.0.0.1")
PG_PORT = os.environ.get("PGPORT", "5432")
PG_USER = os.environ.get("PGUSER", "postgres")


def log(msg: str) -> None:
    print(msg, flush=True)


def binary() -> str:
    """The server binary: $PILOTLEDGER_BIN, else the debug build in the cargo target dir."""
    explicit = os.environ.get("PILOTLEDGER_BIN")
    if explicit:
        return explicit
    target = os.environ.get("CARGO_TARGET_DIR") or str(REPO / "target")
    path = Path(target) / "debug" / "pilotledger"
    if not path.exists():
        sys.exit(f"{path} is missing: run `cargo build` first (or set PILOTLEDGER_BIN)")
    return str(path)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_secret() -> str:
    return secrets.token_hex(32)


# --- PostgreSQL -------------------------------------------------------------


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-h", PG_HOST, "-p", PG_PORT, "-U", PG_USER, "-d", "postgres",
         "-v", "ON_ERROR_STOP=1", "-qtA", "-c", sql],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def create_pg_database(prefix: str) -> tuple[str, str]:
    """Creates a fresh database; returns (name, DATABASE_URL)."""
    name = f"{prefix}_{int(time.time())}_{os.getpid()}_{secrets.token_hex(2)}"
    _psql(f'CREATE DATABASE "{name}"')
    return name, f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


def drop_pg_database(name: str) -> None:
    try:
        _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except subprocess.CalledProcessError as e:  # best effort at cleanup
        log(f"warning: could not drop database {name}: {e}")


# --- server processes -------------------------------------------------------


class Env:
    """The environment every process of one test shares (database, secret)."""

    def __init__(self, database_url: str | None, data_dir: str | None = None):
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="pl-rel-")
        self.database_url = database_url or f"sqlite://{self.data_dir}/pilotledger.db"
        self.secret = new_secret()

    def vars(self, port: int | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            PILOTLEDGER_DATA_DIR=self.data_dir,
            DATABASE_URL=self.database_url,
            PILOTLEDGER_JWT_SECRET=self.secret,
            PILOTLEDGER_LOG_FORMAT="json",
            RUST_LOG=os.environ.get("RUST_LOG", "warn"),
        )
        if port is not None:
            env["PILOTLEDGER_ADDR"] = f"127.0.0.1:{port}"
        return env

    def cli(self, *args: str) -> str:
        """Runs a CLI verb (e.g. token mint) and returns its stdout, stripped."""
        out = subprocess.run(
            [binary(), *args], env=self.vars(), check=True, capture_output=True, text=True, timeout=120
        )
        return out.stdout.strip()

    def mint(self, role: str, org: str | None = None, label: str = "reliability") -> str:
        args = ["token", "mint", "--role", role, "--label", label]
        if org:
            args += ["--org", org]
        return self.cli(*args).splitlines()[-1].strip()


class Server:
    """One `pilotledger serve` process on a fixed port, restartable."""

    def __init__(self, env: Env, port: int, name: str = "server"):
        self.env = env
        self.port = port
        self.name = name
        self.proc: subprocess.Popen | None = None
        self.log_path = Path(env.data_dir) / f"{name}-{port}.log"
        self.starts = 0
        self.failed_starts = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_timeout: float = 60.0, retries: int = 0) -> None:
        """Starts the process and waits until /readyz answers 200. A process that
        exits before it is ready is a failure (its log tail is in the error),
        unless `retries` allows starting it again; `failed_starts` counts those."""
        deadline = time.monotonic() + ready_timeout
        while True:
            logf = open(self.log_path, "ab")
            self.proc = subprocess.Popen(
                [binary(), "serve"], env=self.env.vars(self.port), stdout=logf, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
            logf.close()
            self.starts += 1
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                status, _, _ = request("GET", self.base + "/readyz", timeout=1.0)
                if status == 200:
                    return
                time.sleep(0.02)
            if self.proc.poll() is None:
                self.kill()
                raise RuntimeError(f"{self.name} not ready within {ready_timeout}s; log: {self.log_path}\n{self.tail()}")
            self.failed_starts += 1
            if retries <= 0 or time.monotonic() >= deadline:
                raise RuntimeError(f"{self.name} exited at start (status {self.proc.returncode}); "
                                   f"log: {self.log_path}\n{self.tail()}")
            retries -= 1
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL, then reap."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        if self.proc:
            self.proc.wait()

    def stop(self) -> None:
        """SIGTERM (graceful), SIGKILL after 10 s."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self, n: int = 30) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])


# --- HTTP -------------------------------------------------------------------


def request(
    method: str,
    url: str,
    body: object | bytes | None = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> tuple[int | None, dict[str, str], bytes | str]:
    """Returns (status, lower-cased headers, raw body); status None and the error
    text as body when no HTTP answer came (refused, reset, timeout)."""
    h = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    if token:
        h["Authorization"] = f"Bearer {token}"
    h.update(headers or {})
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as e:
        try:
            raw = e.read()
        except (OSError, http.client.HTTPException):
            raw = b""
        return e.code, {k.lower(): v for k, v in (e.headers or {}).items()}, raw
    except (OSError, http.client.HTTPException, ValueError) as e:
        # URLError, ConnectionRefused/Reset, RemoteDisconnected, socket.timeout, IncompleteRead…
        return None, {}, f"{type(e).__name__}: {e}"


def json_call(method: str, url: str, body=None, token=None, headers=None, expect=(200,), timeout=30.0):
    """A request that must succeed with one of `expect`; returns (status, headers, parsed JSON)."""
    status, hdrs, raw = request(method, url, body, token, headers, timeout)
    if status not in expect:
        raise RuntimeError(f"{method} {url} → {status}: {raw[:500]!r}")
    parsed = json.loads(raw) if raw else None
    return status, hdrs, parsed


def qs(params: dict) -> str:
    return urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})


ORG_BODY = {
    "industry": "industrials",
    "size_band": "1000_9999",
    "region": "DE",
    "reporting_currency": "EUR",
}
PILOT_BODY = {
    "business_function": "finance_accounting",
    "sourcing": "bought",
    "ai_kind": "genai_agentic",
}


def list_entries(base: str, token: str, pilot: str, kind: str = "spend") -> tuple[list[dict], list[dict]]:
    """Every entry of a pilot, following next_cursor; returns (items, totals of the first page)."""
    items: list[dict] = []
    cursor = None
    totals = None
    pages = 0
    while True:
        url = f"{base}/v1/pilots/{pilot}/{kind}?" + qs({"limit": 500, "cursor": cursor})
        _, _, page = json_call("GET", url, token=token, timeout=60)
        pages += 1
        if totals is None:
            totals = page.get("totals", [])
        elif page.get("totals", []) != totals:
            raise RuntimeError(f"totals differ between pages of {pilot}: {totals} vs {page.get('totals')}")
        items.extend(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return items, totals or []
        if pages > 100000:
            raise RuntimeError("paging does not end")
