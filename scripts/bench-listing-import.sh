#!/usr/bin/env bash
# The listing import benchmark of issue 18 on PostgreSQL, in one command:
#
#   scripts/bench-listing-import.sh
#
# It runs the API test that imports a 2,000-line file (a price, added or counted stock and a
# switch on every line) into a shop of 2,000 listings, against a fresh PostgreSQL database,
# and prints `import 2000 lines: N ms (dry run M ms), S SQL statements`.
# The time is measured at the client: the multipart upload, the CSV read, the one locked read,
# the checks and the writes, all in one transaction.
#
# Settings (environment):
#   PEKEN_TEST_DATABASE_URL   PostgreSQL URL   postgres://postgres:postgres@127.0.0.1:5432/postgres
#   PEKEN_TEST_REDIS_URL      Redis URL        redis://127.0.0.1:6379/
#   RELEASE=1                 build in release mode (the default is the test profile)
set -euo pipefail
cd "$(dirname "$0")/.."
export PEKEN_TEST_DATABASE_URL="${PEKEN_TEST_DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/postgres}"
export PEKEN_TEST_REDIS_URL="${PEKEN_TEST_REDIS_URL:-redis://127.0.0.1:6379/}"
cargo test ${RELEASE:+--release} -p peken-tests --test api \
    listings_import::a_2000_line_file_imports_in_one_transaction \
    -- --exact --nocapture 2>&1 | grep -E '^import 2000 lines|test result|panicked'
