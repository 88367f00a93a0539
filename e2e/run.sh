#!/usr/bin/env bash
# Real-browser tests of the dashboard. Seeds a throwaway SQLite database with
# `demo seed`, starts `pilotledger serve` on a free port, mints one token per
# role and runs dashboard.test.mjs (node:test) in Debian's chromium through
# playwright-core. Never downloads a browser.
#
# Needs: a built binary (PILOTLEDGER_BIN, default ../target/debug/pilotledger),
# /usr/bin/chromium (apt-get install -y chromium; override with CHROMIUM_PATH),
# node >= 20 and npm (node_modules is installed with `npm ci` when missing).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BIN="${PILOTLEDGER_BIN:-$HERE/../target/debug/pilotledger}"
case "$BIN" in /*) ;; *) BIN="$PWD/$BIN" ;; esac
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"

if [ ! -x "$BIN" ]; then
  echo "e2e: no pilotledger binary at $BIN (run cargo build, or set PILOTLEDGER_BIN)" >&2
  exit 1
fi
if [ ! -x "$CHROMIUM_PATH" ]; then
  echo "e2e: no chromium at $CHROMIUM_PATH (apt-get install -y chromium)" >&2
  exit 1
fi
if [ ! -d "$HERE/node_modules/playwright-core" ]; then
  (cd "$HERE" && npm ci --no-audit --no-fund)
fi
# The OpenID provider oidc.test.mjs signs in at (tests/oidc, oidc-provider).
if [ ! -d "$HERE/../tests/oidc/node_modules/oidc-provider" ]; then
  (cd "$HERE/../tests/oidc" && npm ci --no-audit --no-fund)
fi
export PILOTLEDGER_BIN="$BIN"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/pilotledger-e2e.XXXXXX")"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# A private database and a fixed test-only secret (40 characters).
export PILOTLEDGER_DATA_DIR="$WORK/data"
export DATABASE_URL="sqlite://$WORK/data/pilotledger.db"
export PILOTLEDGER_JWT_SECRET="e2e-only-secret-never-use-it-in-prod-xyz"
unset PILOTLEDGER_JWT_PUBLIC_KEY
export RUST_LOG="${RUST_LOG:-warn}"
mkdir -p "$PILOTLEDGER_DATA_DIR"

echo "== e2e: seeding demo data"
"$BIN" demo seed --orgs 40 --pilots-per-org 25 --seed 3

PORT="$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
export PILOTLEDGER_ADDR="127.0.0.1:$PORT"
export BASE_URL="http://$PILOTLEDGER_ADDR"
"$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

# Wait for /readyz (up to 30 s), failing fast if the server dies.
node -e '
  const url = process.argv[1], pid = Number(process.argv[2]);
  const deadline = Date.now() + 30000;
  (async () => {
    for (;;) {
      try { if ((await fetch(url)).ok) process.exit(0); } catch {}
      try { process.kill(pid, 0); } catch { console.error("e2e: the server exited"); process.exit(1); }
      if (Date.now() > deadline) { console.error("e2e: /readyz did not answer"); process.exit(1); }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
' "$BASE_URL/readyz" "$SERVER_PID" || { cat "$WORK/server.log" >&2; exit 1; }

echo "== e2e: minting tokens"
mint() { "$BIN" token mint --ttl 1 --label e2e "$@"; }
TOKEN_OPERATOR="$(mint --role operator)"
TOKEN_RESEARCHER="$(mint --role researcher)"
export TOKEN_OPERATOR TOKEN_RESEARCHER
# The organisation the org-scoped roles belong to: the second seeded one by
# default (with seed 3 it reports in BHD, a 3-decimal currency, and has pilots
# that paid back, so the drill-down's payback marker is exercised).
ORG_ID="$(node -e '
  const [base, token, index] = process.argv.slice(1);
  fetch(base + "/v1/orgs?limit=10", { headers: { Authorization: "Bearer " + token } })
    .then((r) => r.json())
    .then((b) => {
      if (!b.items || !b.items.length) throw new Error("no organisations");
      console.log(b.items[Math.min(Number(index), b.items.length - 1)].id);
    })
    .catch((e) => { console.error("e2e: GET /v1/orgs failed:", e.message); process.exit(1); });
' "$BASE_URL" "$TOKEN_OPERATOR" "${E2E_ORG_INDEX:-1}")"
TOKEN_FINANCE="$(mint --role finance --org "$ORG_ID")"
TOKEN_MEMBER="$(mint --role member --org "$ORG_ID")"
TOKEN_ADMIN="$(mint --role admin --org "$ORG_ID")"
export ORG_ID TOKEN_FINANCE TOKEN_MEMBER TOKEN_ADMIN
# The printed sign-in link must point at this server and carry a token.
LINK="$(mint --role finance --org "$ORG_ID" --print-url)"
case "$LINK" in
  "http://$PILOTLEDGER_ADDR/#token="*) export SIGNIN_LINK="$LINK" ;;
  *) echo "e2e: unexpected --print-url output: $LINK" >&2; exit 1 ;;
esac

# A real cloud bill (FOCUS sample) with one rule, so the finance view shows
# spend by source and unallocated spend (issue 21).
SAMPLE="$HERE/../tests/fixtures/focus/focus-1.0-sample.csv"
if [ -f "$SAMPLE" ]; then
  node -e '
    const [base, admin, member, file] = process.argv.slice(1);
    const h = (t) => ({ Authorization: "Bearer " + t });
    (async () => {
      const pilots = await (await fetch(base + "/v1/pilots?limit=1", { headers: h(admin) })).json();
      const rule = { match: { tag_key: "application", tag_value: "BrightPathMatrix" }, pilot_id: pilots.items[0].id };
      const r = await fetch(base + "/v1/allocation-rules", { method: "POST", headers: { ...h(admin), "content-type": "application/json" }, body: JSON.stringify(rule) });
      if (r.status !== 201) throw new Error("rule: " + r.status);
      const body = require("fs").readFileSync(file);
      const i = await fetch(base + "/v1/spend-sources/focus", { method: "POST", headers: { ...h(member), "content-type": "text/csv", "Idempotency-Key": "e2e-focus" }, body });
      if (i.status !== 201) throw new Error("import: " + i.status + " " + (await i.text()));
    })().catch((e) => { console.error("e2e: importing the FOCUS sample failed:", e.message); process.exit(1); });
  ' "$BASE_URL" "$TOKEN_ADMIN" "$TOKEN_MEMBER" "$SAMPLE"
  export E2E_BILLS=1
fi

echo "== e2e: browser tests against $BASE_URL"
cd "$HERE"
status=0
# Test files given as arguments run alone (e.g. `run.sh a11y.test.mjs`); by
# default the functional tests, the accessibility review, then sign-in through
# a real OpenID provider (oidc.test.mjs starts its own provider and server).
if [ "$#" -eq 0 ]; then set -- dashboard.test.mjs a11y.test.mjs oidc.test.mjs; fi
node --test --test-reporter=tap --test-concurrency=1 "$@" || status=$?
if [ "$status" -ne 0 ]; then
  echo "== e2e: server log (last 40 lines)" >&2
  tail -n 40 "$WORK/server.log" >&2 || true
fi
exit "$status"
