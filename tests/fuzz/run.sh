#!/usr/bin/env bash
# Run every libFuzzer target of a fuzz build (cmake -DHV_FUZZ=ON) for
# SECONDS each and print one line per target: executions, executions per
# second, new corpus entries, crashes. Exits 1 when any target crashed (its
# reproducer is in BUILD/fuzz-artifacts/TARGET/; re-run it with
# BUILD/TARGET FILE), 2 on a usage error.
#
#   tests/fuzz/run.sh BUILD SECONDS [TARGET...]
#
# Each target starts from its seeds (tests/fuzz/corpus/TARGET, read only)
# plus what earlier runs found (BUILD/fuzz-corpus/TARGET, where new inputs
# go), so longer campaigns build on each other. Sanitizer reports and
# libFuzzer's log go to BUILD/fuzz-logs/TARGET.log.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:?usage: run.sh BUILD SECONDS [TARGET...]}"
secs="${2:?usage: run.sh BUILD SECONDS [TARGET...]}"
shift 2
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$here"/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export OPENBLAS_NUM_THREADS=1
status=0
printf '%-16s %12s %10s %8s %8s\n' target execs execs/s new crashes
for t in "${targets[@]}"; do
  bin="$build/$t"
  if [ ! -x "$bin" ]; then
    echo "run.sh: $bin is missing (cmake --build $build --target fuzz_targets)" >&2
    exit 2
  fi
  work="$build/fuzz-corpus/$t" art="$build/fuzz-artifacts/$t"
  log="$build/fuzz-logs/$t.log"
  mkdir -p "$work" "$art" "$(dirname "$log")"
  before=$(find "$work" -type f | wc -l)
  crashed_before=$(find "$art" -type f | wc -l)
  "$bin" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$art/" \
    "$work" "$here/corpus/$t" > "$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  after=$(find "$work" -type f | wc -l)
  crashes=$(( $(find "$art" -type f | wc -l) - crashed_before ))
  if [ $rc -ne 0 ] && [ $crashes -eq 0 ]; then
    crashes=1 # died without an artifact (out of memory, a signal)
  fi
  printf '%-16s %12s %10s %8s %8s\n' "$t" "${execs:-?}" "${rate:-?}" \
    $((after - before)) $crashes
  if [ $crashes -ne 0 ]; then
    status=1
    echo "== $t crashed (log: $log):" >&2
    { grep -m1 -A24 -E 'ERROR: |runtime error:|ALARM|out-of-memory' "$log"
      grep -E '^SUMMARY|Test unit written' "$log"; } | head -n 40 >&2
  fi
done
exit $status
