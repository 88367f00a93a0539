#!/usr/bin/env python3
"""Runs README.md's "Walkthrough with curl" block as written, against a fresh server.

A first start of `pilotledger serve` in an empty folder (SQLite in ./data, as
README's first command) prints the one-time operator token; the block then runs
in that folder under bash with `set -euo pipefail`. Only these are changed:

- the `B=` and `OP=` lines get this server's address and the printed token;
- `curl` fails on any answer that is not a success (`--fail-with-body`), so a
  broken step stops the run with the server's problem body;
- `cargo run --release -q -- ARGS` runs the already built debug binary with
  ARGS (any other cargo invocation fails: the README changed shape).

Needs curl, jq and uuidgen, which the README names.

    python3 scripts/readme_walkthrough.py                    # README.md of this repo
    python3 scripts/readme_walkthrough.py --readme OTHER.md  # e.g. a deliberately broken copy
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def walkthrough_block(readme: str) -> str:
    section = readme.split("\n## Walkthrough with curl\n", 1)
    if len(section) != 2:
        sys.exit("README.md has no '## Walkthrough with curl' section")
    body = section[1].split("\n## ", 1)[0]
    m = re.search(r"```sh\n(.*?)```", body, re.S)
    if not m:
        sys.exit("the walkthrough section has no ```sh block")
    return m.group(1)


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--readme", default=str(ROOT / "README.md"))
    args = ap.parse_args()
    for tool in ("curl", "jq", "uuidgen"):
        if not shutil.which(tool):
            sys.exit(f"readme walkthrough: {tool} is not installed (README names it)")
    target = os.environ.get("CARGO_TARGET_DIR", str(ROOT / "target"))
    binary = os.environ.get("PILOTLEDGER_BIN", os.path.join(target, "debug", "pilotledger"))
    if not os.access(binary, os.X_OK):
        sys.exit(f"readme walkthrough: no binary at {binary} (cargo build first)")

    block = walkthrough_block(Path(args.readme).read_text())
    lines = block.splitlines()
    b_lines = [i for i, l in enumerate(lines) if l.startswith("B=http://127.0.0.1:8080")]
    op_lines = [i for i, l in enumerate(lines) if l.startswith("OP=")]
    if len(b_lines) != 1 or len(op_lines) != 1:
        sys.exit("the walkthrough must set B=http://127.0.0.1:8080 and OP=… once each")

    work = Path(tempfile.mkdtemp(prefix="pl-readme-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PILOTLEDGER_", "DATABASE_URL"))}
    env["PILOTLEDGER_ADDR"] = f"127.0.0.1:{port}"
    env["RUST_LOG"] = "warn"
    out = open(work / "server.out", "w+")
    server = subprocess.Popen([binary, "serve"], cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/readyz", timeout=1)
                break
            except OSError:
                if server.poll() is not None:
                    sys.exit("the server exited:\n" + (work / "server.out").read_text())
                time.sleep(0.1)
        tokens = re.findall(r"^\s+(eyJ[A-Za-z0-9_.-]+)\s*$", (work / "server.out").read_text(), re.M)
        if not tokens:
            sys.exit("the first start printed no operator token:\n" + (work / "server.out").read_text())
        lines[b_lines[0]] = f"B={base}"
        lines[op_lines[0]] = f"OP='{tokens[0]}'"
        prelude = f"""set -euo pipefail
curl() {{ command curl --fail-with-body "$@"; }}
cargo() {{
  if [ "${{1:-}} ${{2:-}} ${{3:-}} ${{4:-}}" = "run --release -q --" ]; then shift 4; "{binary}" "$@"
  else echo "readme walkthrough: unexpected cargo invocation: cargo $*" >&2; return 1; fi
}}
"""
        script = prelude + "\n".join(lines) + "\n"
        (work / "walkthrough.sh").write_text(script)
        run = subprocess.run(["bash", str(work / "walkthrough.sh")], cwd=work, env=env, capture_output=True, text=True)
        sys.stdout.write(run.stdout[-4000:])
        if run.returncode != 0:
            sys.stderr.write(run.stderr[-4000:])
            print(f"readme walkthrough: FAILED (exit {run.returncode})", file=sys.stderr)
            return 1
        print(f"readme walkthrough: {sum(1 for l in lines if l.lstrip().startswith(('curl', 'ADMIN=', 'ORG=', 'MEMBER=', 'PILOT=', 'SPEND=')))} commands ran")
        return 0
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
