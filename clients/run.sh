#!/usr/bin/env bash
# Generated clients, end to end. Starts `pilotledger serve` on a throwaway
# SQLite database seeded with `demo seed`, downloads the served /openapi.json,
# generates a Python client (openapi-python-client, pinned, in a venv under
# $TMPDIR) and a TypeScript one (openapi-typescript + openapi-fetch, pinned in
# package-lock.json), and drives the README walkthrough through both:
# walkthrough.py parses every answer into its generated model; walkthrough.ts
# must pass `tsc --noEmit` and then runs. Any generator warning fails, so a
# route or schema the generators cannot read never lands.
#
#   clients/run.sh                       # needs a built binary (PILOTLEDGER_BIN)
#   CLIENTS_KEEP=1 clients/run.sh        # keep the generated code (path printed)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BIN="${PILOTLEDGER_BIN:-${CARGO_TARGET_DIR:-$HERE/../target}/debug/pilotledger}"
case "$BIN" in /*) ;; *) BIN="$PWD/$BIN" ;; esac
[ -x "$BIN" ] || { echo "clients: no pilotledger binary at $BIN (cargo build, or set PILOTLEDGER_BIN)" >&2; exit 1; }

OPC_VERSION=0.29.1
TMP="${TMPDIR:-/tmp}"
VENV="$TMP/pilotledger-openapi-python-client-$OPC_VERSION"
if ! "$VENV/bin/openapi-python-client" --version 2>/dev/null | grep -q "$OPC_VERSION"; then
  echo "== clients: installing openapi-python-client $OPC_VERSION into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "openapi-python-client==$OPC_VERSION"
fi
if [ ! -x "$HERE/node_modules/.bin/openapi-typescript" ]; then
  (cd "$HERE" && npm ci --no-audit --no-fund)
fi

WORK="$(mktemp -d "$TMP/pilotledger-clients.XXXXXX")"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ -n "${CLIENTS_KEEP:-}" ]; then echo "clients: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT INT TERM

export PILOTLEDGER_DATA_DIR="$WORK/data"
export DATABASE_URL="sqlite://$WORK/data/pilotledger.db"
export PILOTLEDGER_JWT_SECRET="clients-only-secret-never-use-it-in-prod"
unset PILOTLEDGER_JWT_PUBLIC_KEY
export RUST_LOG="${RUST_LOG:-warn}"
mkdir -p "$PILOTLEDGER_DATA_DIR"

# Enough organisations that the anonymised aggregates publish, so the gap
# projection's measured source has a published rate to take.
echo "== clients: seeding demo data"
"$BIN" demo seed --orgs 40 --pilots-per-org 10 --seed 5 >/dev/null

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
export PILOTLEDGER_ADDR="127.0.0.1:$PORT"
export BASE_URL="http://$PILOTLEDGER_ADDR"
"$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 300); do
  curl -fsS "$BASE_URL/readyz" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "clients: the server exited" >&2; cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.1
done
curl -fsS "$BASE_URL/readyz" >/dev/null

mint() { "$BIN" token mint --ttl 1 --label clients "$@" | tail -n1; }
export TOKEN_OPERATOR="$(mint --role operator)"
export TOKEN_RESEARCHER="$(mint --role researcher)"
ORG_ID="$(curl -fsS "$BASE_URL/v1/orgs?limit=1" -H "Authorization: Bearer $TOKEN_OPERATOR" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')"
export ORG_ID
export TOKEN_ADMIN="$(mint --role admin --org "$ORG_ID")"
export TOKEN_FINANCE="$(mint --role finance --org "$ORG_ID")"

curl -fsS "$BASE_URL/openapi.json" -o "$WORK/openapi.json"

# The generators' own output is checked: a warning means some operation or
# schema came out partial (or not at all).
echo "== clients: openapi-python-client $OPC_VERSION"
(cd "$WORK" && "$VENV/bin/openapi-python-client" generate --path openapi.json --meta none \
  --output-path pilotledger_client --config "$HERE/openapi-python-client.yaml") >"$WORK/python-gen.log" 2>&1 || { cat "$WORK/python-gen.log" >&2; exit 1; }
cat "$WORK/python-gen.log"
if grep -qiE "warning|unable|cannot|unsupported|error" "$WORK/python-gen.log"; then
  echo "clients: openapi-python-client warned; the generated Python client is incomplete" >&2
  exit 1
fi

echo "== clients: openapi-typescript (--default-non-nullable false)"
"$HERE/node_modules/.bin/openapi-typescript" "$WORK/openapi.json" --default-non-nullable false \
  -o "$HERE/generated/schema.d.ts" >"$WORK/ts-gen.log" 2>&1 || { cat "$WORK/ts-gen.log" >&2; exit 1; }
cat "$WORK/ts-gen.log"
if grep -qiE "warn|error|⚠" "$WORK/ts-gen.log"; then
  echo "clients: openapi-typescript warned" >&2
  exit 1
fi

echo "== clients: Python walkthrough through the generated client"
PYTHONPATH="$WORK${PYTHONPATH:+:$PYTHONPATH}" "$VENV/bin/python" "$HERE/walkthrough.py"

echo "== clients: TypeScript walkthrough (tsc --noEmit, then run)"
(cd "$HERE" && node_modules/.bin/tsc -p tsconfig.json --noEmit)
(cd "$HERE" && node_modules/.bin/tsc -p tsconfig.json --outDir "$WORK/ts-out")
cp "$HERE/package.json" "$WORK/ts-out/package.json"
ln -s "$HERE/node_modules" "$WORK/ts-out/node_modules"
node "$WORK/ts-out/walkthrough.js"
echo "== clients: both generated clients ran the walkthrough"
