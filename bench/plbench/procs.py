"""Processes: commands, CPU accounting, free ports, HTTP, and the server under test."""

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


def run(cmd, env=None, timeout=600, check=True, input=None, cwd=None) -> subprocess.CompletedProcess:
    p = subprocess.run(cmd, env=env, timeout=timeout, capture_output=True, text=True, input=input, cwd=cwd)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    return p


def run_rusage(cmd, timeout, env=None):
    """Runs cmd; returns (stdout, stderr, wall seconds, child cpu seconds)."""
    t = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise RuntimeError(f"{cmd[0]} timed out after {timeout}s")
    wall = time.monotonic() - t
    # Popen already reaped the child; take its rusage from RUSAGE_CHILDREN deltas.
    return out, err, wall


class ChildCpu:
    """CPU seconds used by finished children between enter and exit."""

    def __enter__(self):
        import resource
        self.r = resource
        u = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.start = u.ru_utime + u.ru_stime
        return self

    def __exit__(self, *a):
        u = self.r.getrusage(self.r.RUSAGE_CHILDREN)
        self.cpu = u.ru_utime + u.ru_stime - self.start


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies over all CPUs, from /proc/stat."""
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    idle = f[3] + f[4]
    return sum(f) - idle, sum(f)


def busy_cores(before, after) -> float:
    b, t = after[0] - before[0], after[1] - before[1]
    return (b / t) * os.cpu_count() if t else 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, headers=None, body=None, timeout=600):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    t = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            data = r.read()
            return r.status, data, time.monotonic() - t
    except urllib.error.HTTPError as e:
        return e.code, e.read(), time.monotonic() - t


class Server:
    """The server under test, with a memory watchdog: the aggregates load every
    entry into memory, and on a shared machine a 1M-pilot run must not take it
    down, so the server is killed (and the figure reported as aborted) when its
    RSS passes --max-rss-gb."""

    max_rss_kb = 8 * 1024 * 1024

    def __init__(self, env: dict, logdir: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(env, PILOTLEDGER_ADDR=f"127.0.0.1:{self.port}")
        self.logf = open(logdir / "server.log", "ab")
        self.proc = subprocess.Popen([str(common.BIN), "serve"], env=env, stdout=self.logf, stderr=self.logf,
                                     start_new_session=True)
        self.killed_for_rss = False
        self.stop_watch = False
        import threading
        threading.Thread(target=self._watch, daemon=True).start()
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {logdir / 'server.log'}")
            try:
                if http("GET", self.base + "/healthz", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not answer /healthz within 300 s")

    def _watch(self):
        while not self.stop_watch and self.proc.poll() is None:
            try:
                if self.status_kb("VmRSS") > self.max_rss_kb:
                    self.killed_for_rss = True
                    os.kill(self.proc.pid, signal.SIGKILL)
                    log(f"server RSS passed {self.max_rss_kb // 1024} MB: killed it")
                    return
            except OSError:
                return
            time.sleep(0.1)

    def alive(self) -> bool:
        return self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid

    def cpu_seconds(self) -> float:
        f = open(f"/proc/{self.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / CLK_TCK

    def writer_cpu_seconds(self) -> float:
        """CPU time of the group-commit writer thread (0 when there is none)."""
        total = 0.0
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            try:
                if (task / "comm").read_text().strip().startswith("pilotledger-wri"):
                    f = (task / "stat").read_text().rsplit(")", 1)[1].split()
                    total += (int(f[11]) + int(f[12])) / CLK_TCK
            except OSError:
                pass
        return total

    def status_kb(self, key: str) -> int:
        for line in open(f"/proc/{self.pid}/status"):
            if line.startswith(key + ":"):
                return int(line.split()[1])
        return 0

    def reset_peak(self) -> bool:
        try:
            with open(f"/proc/{self.pid}/clear_refs", "w") as f:
                f.write("5")  # resets VmHWM to the current RSS
            return True
        except OSError:
            return False

    def metrics(self) -> dict:
        _, body, _ = http("GET", self.base + "/metrics", timeout=10)
        out = {}
        for line in body.decode().splitlines():
            m = re.match(r"^(pilotledger_[a-z_]+)\s+([0-9.e+]+)$", line)
            if m:
                out[m.group(1)] = float(m.group(2))
        return out

    def stop(self):
        self.stop_watch = True
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
        self.logf.close()
