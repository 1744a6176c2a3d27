#!/usr/bin/env bash
# Benchmark: 1,000,000 demo customers (~10 M orders) — import into the store,
# the overview report from the store (first run builds the columnar copy,
# second reads it) and straight from the CSV files; wall time and peak memory.
#
#   cargo build --release && bash bench/run.sh [customers] [work dir]
set -euo pipefail
N=${1:-1000000}
W=${2:-/tmp/clientela-bench}
BIN=${BIN:-target/release/clientela}
rm -rf "$W"; mkdir -p "$W"
measure() { # label, command…
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$W/time" "$@" > "$W/$label.out" 2> "$W/$label.err"
  read -r secs kb < "$W/time"
  printf '%-28s %8.2f s  %8.0f MB peak\n' "$label" "$secs" "$((kb / 1024))"
}
measure generate-csv "$BIN" demo --customers "$N" --write-csv "$W/csv" --no-store
measure baseline-cat-csv sh -c "cat $W/csv/*.csv > /dev/null"
rows=$(cat "$W"/csv/*.csv | wc -l)
files=$(ls "$W"/csv/*.csv)
echo "rows in CSV files (incl. headers): $rows"
measure import "$BIN" --db "$W/b.db" import $files
grep "rows/s" "$W/import.err" || true
measure baseline-copy-db cp "$W/b.db" "$W/copy.db"
rm -f "$W/copy.db"
measure report-store-first "$BIN" --db "$W/b.db" report
measure report-store "$BIN" --db "$W/b.db" report
inputs=(); for f in $files; do inputs+=(--input "$f"); done
measure report-csv "$BIN" report "${inputs[@]}"
