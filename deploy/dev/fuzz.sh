#!/usr/bin/env bash
# Runs every fuzz target in the module (every `func FuzzXxx(f *testing.F)`
# in a _test.go file) for FUZZTIME each (default 60s), one after the other.
# A failing input is saved under the package's testdata/fuzz, where `go
# test` then replays it. Usage: fuzz.sh [directory, default: the module]
set -euo pipefail
cd "$(dirname "$0")/../.."

fuzztime=${FUZZTIME:-60s}
# "dir name" for every target.
mapfile -t targets < <(grep -r --include='*_test.go' -o '^func Fuzz[A-Za-z0-9_]*(f \*testing\.F)' "${1:-.}" |
  sed 's/^\(.*\)\/[^/]*_test\.go:func \(Fuzz[A-Za-z0-9_]*\).*/\1 \2/' | sort)
failed=()
for target in "${targets[@]}"; do
  dir=${target% *}
  name=${target#* }
  echo "== $dir $name ($fuzztime)"
  # A new interesting input is minimized for at most 10 s, so that a
  # large input (a store file) does not eat the fuzzing time.
  if ! ${GO:-go} test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime 10s "$dir"; then
    failed+=("$target")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  printf 'fuzz: failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "fuzz: every target passed"
