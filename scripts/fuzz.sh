#!/usr/bin/env bash
# Runs every Go fuzz target of the module for a while (default 20s each).
# New interesting inputs land in the package's testdata/fuzz/ corpus; commit
# them. `make test` already replays every checked-in corpus.
#   scripts/fuzz.sh [FUZZTIME]
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-20s}
go list ./... | while read -r pkg; do
  for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    echo "== $pkg $target ($fuzztime)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
  done
done
