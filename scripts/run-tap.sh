#!/usr/bin/env bash
# Runs the tap suite and ends with the plain closing line CI reads: "N passed, N failed, N skipped".
# tap's exit code is kept, so a failure that prints no failed assertion (e.g. a crash) still fails.
set -o pipefail
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
npx tap -R tap "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
summary="$(grep -E '^# \{ total: [0-9]+' "$log" | tail -1)"
count() { sed -nE "s/.*[{ ,]$1: ([0-9]+).*/\1/p" <<<"$summary"; }
pass=$(count pass)
fail=$(count fail)
skip=$(count skip)
todo=$(count todo)
if [ -z "$summary" ] && [ "$rc" -ne 0 ]; then fail=1; fi
echo "${pass:-0} passed, ${fail:-0} failed, $(( ${skip:-0} + ${todo:-0} )) skipped"
exit "$rc"
