#!/usr/bin/env bash
# Contract fuzzing: schemathesis (from PyPI) generates requests from the OpenAPI document the
# server serves and sends them as each kind of caller (anonymous, then a demo user of every
# role), checking that no response is a 5xx, that every response's status is one the document
# lists for its operation, and that every response matches the documented schema and content
# type.
#
#   scripts/schemathesis.sh                               # 25 examples per operation and role
#   PEKEN_SCHEMATHESIS_EXAMPLES=100 scripts/schemathesis.sh
#   PEKEN_SCHEMATHESIS_DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres \
#     scripts/schemathesis.sh                             # on a fresh PostgreSQL database
#   PEKEN_SCHEMATHESIS_SEED=1234 scripts/schemathesis.sh  # replays a run (its seed is printed)
#
# It builds and starts `peken serve --demo` on a scratch SQLite database, or, with
# PEKEN_SCHEMATHESIS_DATABASE_URL, on a new database next to the one named (dropped afterwards).
# Each run takes a fresh random seed unless one is given. Logout is left out (it would end the
# session the run uses).
set -euo pipefail
cd "$(dirname "$0")/.."

examples="${PEKEN_SCHEMATHESIS_EXAMPLES:-25}"
seed="${PEKEN_SCHEMATHESIS_SEED:-$(python3 -c 'import secrets; print(secrets.randbelow(2**31))')}"
venv="${PEKEN_SCHEMATHESIS_VENV:-target/schemathesis-venv}"
if [ ! -x "$venv/bin/st" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'schemathesis==4.32.5'
fi

cargo build --quiet -p peken-server --bin peken
work="$(mktemp -d)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
export PEKEN_LISTEN="127.0.0.1:$port" PEKEN_DATA_DIR="$work/data" PEKEN_LOG=warn \
  PEKEN_LOGIN_IP_PER_MINUTE=100000 PEKEN_LOGIN_ACCOUNT_PER_MINUTE=100000 \
  PEKEN_CHECKOUT_PER_MINUTE=100000 PEKEN_UNPAID_CHECKOUTS_PER_BUYER=1000 \
  PEKEN_RESERVED_UNITS_PER_BUYER=1000000 PEKEN_ACCESS_TOKEN_TTL_SECONDS=7200 \
  PEKEN_REGISTRATION_IP_PER_MINUTE=100000 PEKEN_REGISTRATION_PER_MINUTE=100000 \
  PEKEN_REFRESH_IP_PER_MINUTE=100000 \
  PEKEN_PASSWORD_HASH_MEMORY_KIB=1024 PEKEN_HTTP_WORKERS=2
database="SQLite"
scratch_db=""
admin_url="${PEKEN_SCHEMATHESIS_DATABASE_URL:-}"
if [ -n "$admin_url" ]; then
  scratch_db="peken_schemathesis_$$_$(date +%s)"
  psql "$admin_url" -qc "CREATE DATABASE $scratch_db" >/dev/null
  export PEKEN_DATABASE_URL="${admin_url%/*}/$scratch_db" PEKEN_AUTO_MIGRATE=true \
    PEKEN_JWT_SECRET="$(python3 -c 'import secrets; print(secrets.token_hex(32))')" \
    PEKEN_PAYMENT_WEBHOOK_SECRET="$(python3 -c 'import secrets; print(secrets.token_hex(32))')" \
    PEKEN_METRICS_TOKEN="$(python3 -c 'import secrets; print(secrets.token_hex(32))')" \
    PEKEN_DOCUMENT_SECRET="$(python3 -c 'import secrets; print(secrets.token_hex(32))')" \
    PEKEN_PUBLIC_URL="http://127.0.0.1:$port"
  database="PostgreSQL"
fi
echo "schemathesis on $database, seed $seed (PEKEN_SCHEMATHESIS_SEED=$seed replays this run)"
"${CARGO_TARGET_DIR:-target}/debug/peken" serve --demo >"$work/server.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  if [ -n "$scratch_db" ]; then
    psql "$admin_url" -qc "DROP DATABASE IF EXISTS $scratch_db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 120); do
  curl -sf "$base/readyz" >/dev/null && break
  sleep 0.5
done
curl -sf "$base/readyz" >/dev/null || { cat "$work/server.log"; exit 1; }

token() {
  curl -sf "$base/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"login\":\"$1\",\"password\":\"peken-demo-2026\"}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}

# Buyers and the shop first, staff last: what admins change (suspensions, policies) should not
# hide the rest of the API from the others.
callers=(
  "anonymous:"
  "asn:198503142010011001"
  "public:warga@peken.local"
  "merchant:toko.sumberrejeki@peken.local"
  "opd_admin:opd.dispendik@peken.local"
  "treasury:bendahara1@peken.local"
  "admin:admin@peken.local"
)
total=0
failed=0
for caller in "${callers[@]}"; do
  role="${caller%%:*}"
  login="${caller#*:}"
  auth=()
  if [ -n "$login" ]; then
    auth=(-H "Authorization: Bearer $(token "$login")")
  fi
  echo "==> schemathesis as $role"
  out="$work/$role.txt"
  status=0
  "$venv/bin/st" run "$base/api-docs/openapi.json" --url "$base" "${auth[@]}" \
    --checks not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance \
    --max-examples "$examples" --workers 2 --phases examples,coverage,fuzzing \
    --exclude-path /api/v1/auth/logout --request-timeout 30 --seed "$seed" \
    --no-color >"$out" 2>&1 || status=$?
  sed -n '/SUMMARY/,$p' "$out"
  cases=$(grep -Eo '[0-9]+ generated' "$out" | grep -Eo '[0-9]+' | tail -n1 || true)
  total=$((total + ${cases:-0}))
  # A failed check (a 5xx, a response off its schema) fails the run. schemathesis also exits
  # non-zero for errors of its own (an exception while generating a case); those are reported
  # but are not findings about the API.
  if grep -q '❌' "$out" || ! grep -q 'generated' "$out"; then
    failed=1
    sed -n '/FAILURES/,/SUMMARY/p' "$out" | head -c 20000
  elif [ "$status" -ne 0 ]; then
    echo "(schemathesis reported errors of its own, not failures of the API:)"
    grep -E '^_+ [A-Z]+ /' "$out" | head -n 20 || true
  fi
done
if grep -q 'panicked' "$work/server.log"; then
  echo "the server panicked:" >&2
  grep -A5 'panicked' "$work/server.log" >&2
  failed=1
fi
echo "schemathesis on $database: $total generated requests over ${#callers[@]} callers, $examples examples per operation, seed $seed"
exit "$failed"
