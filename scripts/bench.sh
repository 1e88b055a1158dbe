#!/usr/bin/env bash
# The city-scale benchmark, on PostgreSQL and Redis, in one command:
#
#   scripts/bench.sh
#
# It builds the release binaries, creates a fresh database, seeds the city (5,000 merchants,
# ~41,000 listings, 15,000 ASN, 5,000 residents, 300,000 completed orders of the last month),
# starts `peken serve` against it with Redis, and runs every scenario with the machine's limits
# measured in the same run (/healthz, and pgbench's TPC-B-like script on the same database
# server). Then it repeats the checkout scenario with smaller and larger order histories, to show
# how the checkout figure holds as the history grows, and prints the comparison.
#
# Settings (environment):
#   PEKEN_BENCH_PG       PostgreSQL server URL without a database  postgres://postgres@127.0.0.1:5432
#   PEKEN_BENCH_REDIS    Redis URL                                   redis://127.0.0.1:6379/
#   CLIENTS              concurrent clients                           64
#   DURATION             length of each load scenario                 30s
#   ORDERS               history of the main run                      300000
#   HISTORY_SIZES        histories of the checkout comparison         "30000 3000000" ("" for none)
#   PORT                 the server's port                            18080
#   OUT                  where the JSON results and logs go           target/bench
#   DB_PREFIX            prefix of the databases it creates            peken_bench
#   KEEP_DATABASES=1     keep the generated databases afterwards (they are dropped otherwise)
#
# A history needs about 9 KB of disk per order (3 GB for 300,000 orders); a size that does not
# fit in the free space is skipped with a message rather than filling the disk.
set -euo pipefail
cd "$(dirname "$0")/.."

pg="${PEKEN_BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
redis="${PEKEN_BENCH_REDIS:-redis://127.0.0.1:6379/}"
clients="${CLIENTS:-64}"
duration="${DURATION:-30s}"
orders="${ORDERS:-300000}"
sizes="${HISTORY_SIZES-30000 3000000}"
port="${PORT:-18080}"
out="${OUT:-target/bench}"
prefix="${DB_PREFIX:-peken_bench}"
bin="${CARGO_TARGET_DIR:-target}/release"
mkdir -p "$out"

if ! command -v pgbench >/dev/null || ! command -v psql >/dev/null; then
  echo "installing postgresql-client (pgbench, psql)"
  apt-get update -qq && apt-get install -y -qq postgresql-client >/dev/null
fi

cargo build --release -p peken-server -p peken-bench

secret_jwt="$(head -c 48 /dev/urandom | base64 | tr -d '\n')"
secret_hook="$(head -c 48 /dev/urandom | base64 | tr -d '\n')"
secret_metrics="$(head -c 48 /dev/urandom | base64 | tr -d '\n')"
server_pid=""
work="$(mktemp -d)"
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Free space on the database server's disk is what a history needs (about 9 KB per order and
# 2 GB to spare); this machine's disk is checked, the best guess when the server is local.
free_kb() {
  df -Pk "${PGDATA:-/var/lib/postgresql}" 2>/dev/null | awk 'NR == 2 { print $4 }'
}
fits() {
  local free
  free="$(free_kb)"
  [ -z "$free" ] || [ "$free" -ge $(( $1 * 9 + 2000000 )) ]
}
# The largest history (in whole 100,000s) the disk holds now.
largest_fitting() {
  local free
  free="$(free_kb)"
  echo $(( (free - 2000000) / 9 / 100000 * 100000 ))
}

psql_admin() { psql -q "$pg/postgres" -v ON_ERROR_STOP=1 "$@"; }

start_server() {
  local db="$1" label="$2"
  PEKEN_DATABASE_URL="$pg/$db" PEKEN_REDIS_URL="$redis" PEKEN_REDIS_PREFIX="peken-bench-$$-$label:" \
    PEKEN_JWT_SECRET="$secret_jwt" PEKEN_PAYMENT_WEBHOOK_SECRET="$secret_hook" \
    PEKEN_METRICS_TOKEN="$secret_metrics" PEKEN_DOCUMENT_SECRET="$secret_jwt-documents" \
    PEKEN_PUBLIC_URL="http://127.0.0.1:$port" \
    PEKEN_LISTEN="127.0.0.1:$port" PEKEN_LOG=warn PEKEN_DATA_DIR="$work/data-$label" \
    PEKEN_LOGIN_IP_PER_MINUTE=100000 PEKEN_LOGIN_ACCOUNT_PER_MINUTE=100000 \
    PEKEN_CHECKOUT_PER_MINUTE=1000000 PEKEN_UNPAID_CHECKOUTS_PER_BUYER=1000 \
    PEKEN_RESERVED_UNITS_PER_BUYER=1000000 \
    "$bin/peken" serve >"$out/server-$label.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do
    if curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  echo "the server did not become ready; see $out/server-$label.log" >&2
  return 1
}

stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

# One history size: fresh database, seed, serve, run, stop, drop.
run_size() {
  local n="$1" scenario="$2" label="$3"
  local db="${prefix}_$n"
  if ! fits "$n"; then
    local instead
    instead="$(largest_fitting)"
    echo "the $n-order history needs about $(( n * 9 / 1000000 + 2 )) GB of free disk;" \
      "running the largest that fits instead: $instead orders"
    if [ "$instead" -le 0 ]; then return 0; fi
    n="$instead"
    db="${prefix}_$n"
    label="history-$n"
  fi
  psql_admin -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
  echo "== seeding $n orders into $db"
  "$bin/peken-bench" seed --orders "$n" --database-url "$pg/$db" 2>&1 | tee "$out/seed-$label.log"
  start_server "$db" "$label"
  echo "== $scenario with $n orders of history ($clients clients, $duration)"
  "$bin/peken-bench" run --scenario "$scenario" --clients "$clients" --duration "$duration" \
    --base-url "http://127.0.0.1:$port" --database-url "$pg/$db" \
    --webhook-secret "$secret_hook" --metrics-token "$secret_metrics" --server-pid "$server_pid" \
    --pgbench-url "$pg/${prefix}_pgbench" --label "$label" --json "$out/$label.json" \
    | tee "$out/run-$label.txt"
  stop_server
  if [ -z "${KEEP_DATABASES:-}" ]; then psql_admin -c "DROP DATABASE IF EXISTS $db"; fi
}

psql_admin -c "DROP DATABASE IF EXISTS ${prefix}_pgbench" -c "CREATE DATABASE ${prefix}_pgbench"
echo "machine: $(nproc) CPUs, $(free -g | awk '/Mem:/ { print $2 }') GiB; load before: $(cut -d' ' -f1-3 /proc/loadavg)"

run_size "$orders" all "history-$orders"
for n in $sizes; do
  run_size "$n" checkout "history-$n"
done
psql_admin -c "DROP DATABASE IF EXISTS ${prefix}_pgbench"

echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
results=()
for f in "$out"/history-*.json; do results+=("$f"); done
"$bin/peken-bench" compare "${results[@]}"
