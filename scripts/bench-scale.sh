#!/usr/bin/env bash
# Past one database, measured in one run on one seeded city:
#
#   scripts/bench-scale.sh
#
# (a) browse (cached and uncached) and the reports scenario with `peken serve` on the primary
#     alone, then the same with PEKEN_DATABASE_READ_URL on a streaming replica of it;
# (b) the checkout scenario with the server's PEKEN_DATABASE_URL straight to PostgreSQL, then
#     through PgBouncer, each on its own copy of the seeded database (a checkout sells stock, so
#     the second run would otherwise start from what the first left);
# and prints replica ÷ primary and PgBouncer ÷ direct for throughput and p99.
#
# The replica and PgBouncer are scripts/replica.sh's (ports 5433 and 6432), made after the seed
# (pg_basebackup copies the whole cluster, so it needs the disk of every database on it) and
# stopped and removed at the end; before each timed run on the replica the script waits until
# the replica has replayed the primary's WAL position. Needs root and the PostgreSQL on
# 127.0.0.1:5432 (what scripts/replica.sh copies). The replica stays stopped during (b), which
# does not read from it, so its replay does not share the cores with the checkout runs.
#
# Settings (environment), as scripts/bench.sh:
#   PEKEN_BENCH_PG       PostgreSQL server URL without a database  postgres://postgres@127.0.0.1:5432
#   PEKEN_BENCH_REDIS    Redis URL                                   redis://127.0.0.1:6379/
#   CLIENTS              concurrent clients (browse, checkout)        64
#   REPORT_CLIENTS       concurrent clients of the reports scenario   16
#   DURATION             length of each load scenario                 30s
#   ORDERS               order history                                300000
#   PORT                 the server's port                            18080
#   OUT                  where the JSON results and logs go           target/bench-scale
#   DB_PREFIX            prefix of the databases it creates           peken_scale
#   KEEP_DATABASES=1     keep the generated databases afterwards (they are dropped otherwise)
set -euo pipefail
cd "$(dirname "$0")/.."

pg="${PEKEN_BENCH_PG:-postgres://postgres@127.0.0.1:5432}"
redis="${PEKEN_BENCH_REDIS:-redis://127.0.0.1:6379/}"
clients="${CLIENTS:-64}"
report_clients="${REPORT_CLIENTS:-16}"
duration="${DURATION:-30s}"
orders="${ORDERS:-300000}"
port="${PORT:-18080}"
out="${OUT:-target/bench-scale}"
prefix="${DB_PREFIX:-peken_scale}"
bin="${CARGO_TARGET_DIR:-target}/release"
mkdir -p "$out"
rm -f "$out"/*.json

reads_db="${prefix}_reads"
direct_db="${prefix}_direct"
pooled_db="${prefix}_pooled"

cargo build --release -p peken-server -p peken-bench

secret_jwt="$(head -c 48 /dev/urandom | base64 | tr -d '\n')"
secret_hook="$(head -c 48 /dev/urandom | base64 | tr -d '\n')"
secret_metrics="$(head -c 48 /dev/urandom | base64 | tr -d '\n')"
server_pid=""
replica_started=""
work="$(mktemp -d)"
psql_admin() { psql -q "$pg/postgres" -v ON_ERROR_STOP=1 "$@"; }
drop_databases() {
  if [ -z "${KEEP_DATABASES:-}" ]; then
    for db in "$reads_db" "$direct_db" "$pooled_db"; do
      psql_admin -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
    done
  fi
}
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  if [ -n "$replica_started" ]; then
    PEKEN_CI_DATABASE_URL="$pg/postgres" scripts/replica.sh stop || true
  fi
  drop_databases
  rm -rf "$work"
}
trap cleanup EXIT

# $1 database URL, $2 label, $3 the read replica's URL or "".
start_server() {
  local url="$1" label="$2" read_url="$3"
  local extra=()
  if [ -n "$read_url" ]; then extra=(PEKEN_DATABASE_READ_URL="$read_url"); fi
  env "${extra[@]}" \
    PEKEN_DATABASE_URL="$url" PEKEN_REDIS_URL="$redis" PEKEN_REDIS_PREFIX="peken-scale-$$-$label:" \
    PEKEN_JWT_SECRET="$secret_jwt" PEKEN_PAYMENT_WEBHOOK_SECRET="$secret_hook" \
    PEKEN_METRICS_TOKEN="$secret_metrics" PEKEN_DOCUMENT_SECRET="$secret_jwt-documents" \
    PEKEN_PUBLIC_URL="http://127.0.0.1:$port" \
    PEKEN_LISTEN="127.0.0.1:$port" PEKEN_LOG=warn PEKEN_DATA_DIR="$work/data-$label" \
    PEKEN_LOGIN_IP_PER_MINUTE=100000 PEKEN_LOGIN_ACCOUNT_PER_MINUTE=100000 \
    PEKEN_CHECKOUT_PER_MINUTE=1000000 PEKEN_UNPAID_CHECKOUTS_PER_BUYER=1000 \
    PEKEN_RESERVED_UNITS_PER_BUYER=1000000 \
    "$bin/peken" serve >"$out/server-$label.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 300); do
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

metric() {
  curl -fs -H "Authorization: Bearer $secret_metrics" "http://127.0.0.1:$port/metrics" |
    awk -v name="$1" '$1 == name { print $2 }'
}

# Waits until the replica has replayed everything the primary had written when asked.
catch_up() {
  local lsn
  lsn="$(psql "$pg/postgres" -Atc 'SELECT pg_current_wal_lsn()')"
  for _ in $(seq 1 1200); do
    if [ "$(psql "$replica_url/postgres" -Atc \
      "SELECT pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn")" = t ]; then
      return 0
    fi
    sleep 0.5
  done
  echo "the replica did not replay up to $lsn in 10 minutes" >&2
  return 1
}

# $1 label, $2 database name, $3 scenario, $4 clients.
run() {
  local label="$1" db="$2" scenario="$3" n="$4"
  echo "== $scenario, $label ($n clients, $duration)"
  "$bin/peken-bench" run --scenario "$scenario" --clients "$n" --duration "$duration" \
    --base-url "http://127.0.0.1:$port" --database-url "$pg/$db" \
    --webhook-secret "$secret_hook" --metrics-token "$secret_metrics" --server-pid "$server_pid" \
    --label "$label" --json "$out/$label-$scenario.json" | tee "$out/run-$label-$scenario.txt"
}

echo "machine: $(nproc) CPUs, $(free -g | awk '/Mem:/ { print $2 }') GiB; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
uptime

for db in "$reads_db" "$direct_db" "$pooled_db"; do
  psql_admin -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
done
psql_admin -c "CREATE DATABASE $reads_db"
echo "== seeding $orders orders into $reads_db"
"$bin/peken-bench" seed --orders "$orders" --database-url "$pg/$reads_db" 2>&1 | tee "$out/seed.log"
# Two copies of the seeded city for the checkout pair, made before anything runs on it.
psql_admin -c "CREATE DATABASE $direct_db TEMPLATE $reads_db" \
  -c "CREATE DATABASE $pooled_db TEMPLATE $reads_db"

echo "== the replica and PgBouncer (scripts/replica.sh), after the seed"
replica_started=1
env_lines="$(PEKEN_CI_DATABASE_URL="$pg/postgres" scripts/replica.sh start)"
replica_url="$(printf '%s\n' "$env_lines" | sed -n 's/^PEKEN_TEST_REPLICA_URL=//p')"
pgbouncer_url="$(printf '%s\n' "$env_lines" | sed -n 's/^PEKEN_TEST_PGBOUNCER_URL=//p')"
replica_url="${replica_url%/*}"
pgbouncer_url="${pgbouncer_url%/*}"
[ -n "$replica_url" ] && [ -n "$pgbouncer_url" ] || {
  echo "scripts/replica.sh start printed no URLs" >&2
  exit 1
}

# (a) The primary alone, then the primary with the replica, on the same database.
catch_up
start_server "$pg/$reads_db" primary ""
run primary "$reads_db" browse "$clients"
run primary "$reads_db" reports "$report_clients"
stop_server

catch_up
start_server "$pg/$reads_db" replica "$replica_url/$reads_db"
for _ in $(seq 1 100); do
  if curl -fs "http://127.0.0.1:$port/readyz" | grep -q 'read replica: ok'; then break; fi
  sleep 0.2
done
curl -fs "http://127.0.0.1:$port/readyz" | grep -q 'read replica: ok' || {
  echo "the server does not use the replica: $(curl -s "http://127.0.0.1:$port/readyz")" >&2
  exit 1
}
run replica "$reads_db" browse "$clients"
catch_up
run replica "$reads_db" reports "$report_clients"
in_use="$(metric peken_read_replica_in_use)"
fallbacks="$(metric peken_read_replica_fallbacks_total)"
echo "replica in use at the end: ${in_use:-?}; reads answered by the primary after failing on it: ${fallbacks:-?}"
stop_server

# (b) Checkout straight to PostgreSQL, then through PgBouncer, each on its own copy.
PEKEN_CI_DATABASE_URL="$pg/postgres" scripts/replica.sh stop-replica
start_server "$pg/$direct_db" direct ""
run direct "$direct_db" checkout "$clients"
stop_server
start_server "$pgbouncer_url/$pooled_db" pgbouncer ""
run pgbouncer "$pooled_db" checkout "$clients"
stop_server

echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
uptime
"$bin/peken-bench" ratio --title "replica ÷ primary alone" \
  --base "$out/primary-browse.json" --base "$out/primary-reports.json" \
  --other "$out/replica-browse.json" --other "$out/replica-reports.json" | tee "$out/ratios.txt"
"$bin/peken-bench" ratio --title "PgBouncer ÷ direct" \
  --base "$out/direct-checkout.json" --other "$out/pgbouncer-checkout.json" | tee -a "$out/ratios.txt"
