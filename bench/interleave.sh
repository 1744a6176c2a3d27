#!/usr/bin/env bash
# Interleaved rounds of one command under several binaries: each round runs
# the command once per binary, in turn, so that a machine getting slower or
# faster affects every binary alike. Prints each run (wall s, user s, sys s,
# peak KB, md5 of stdout) and, per binary, the walls and CPU (user + sys).
#
#   bash bench/interleave.sh ROUNDS "ARGS" BIN1 BIN2 …
#   e.g. bash bench/interleave.sh 5 "--db /tmp/clientela-bench/b.db growth --periods 36" \
#          /tmp/old/clientela target/release/clientela
set -euo pipefail
rounds=$1; args=$2; shift 2
t=$(mktemp); o=$(mktemp)
for _ in $(seq "$rounds"); do
  for b in "$@"; do
    # shellcheck disable=SC2086
    /usr/bin/time -f "%e %U %S %M" -o "$t" "$b" $args > "$o" 2>/dev/null
    echo "$b $(cat "$t") $(md5sum < "$o" | cut -c1-8)"
  done
done | sort | awk '{print; k=$1; w[k]=w[k]" "$2; c[k]=c[k]" "$3+$4}
  END {for (k in w) print k, "wall:" w[k], " cpu:" c[k]}'
rm -f "$t" "$o"
