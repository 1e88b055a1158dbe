#!/usr/bin/env bash
# Fuzzes the parsers outsiders write for (bank statements in CSV and MT940, money amounts,
# NIK, NIP, NI PPPK, NIB, NPWP, region codes) with a million generated cases per property, in
# release mode. `cargo test` runs the same properties with 1,000 cases each; this is the long run.
#
#   scripts/fuzz.sh            # 1,000,000 cases per property
#   scripts/fuzz.sh 50000      # fewer
set -euo pipefail
cd "$(dirname "$0")/.."
cases="${1:-1000000}"
started=$(date +%s)
PEKEN_FUZZ_CASES="$cases" cargo test --release -p peken-server --test fuzz -- --test-threads 2
echo "fuzz: $cases cases per property, 13 properties, $(( $(date +%s) - started )) s including the build"
