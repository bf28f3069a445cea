#!/usr/bin/env bash
# bench_scale.sh - the scale ladder of issue 15: each rung's dataset is
# synthesised, written out as MovieLens files, imported, summarised, trained
# (-e epochs; the first epoch is a line too), evaluated, monitored, retrained
# (stateful) and
# served, each step timed with its peak RSS (/usr/bin/time -v "Maximum
# resident set size"; the server's VmHWM) and rows/s. One table: rung x step,
# then the growth factor of each step between consecutive rungs.
#
# Rungs (users x movies, ratings):
#   1m    100,000 x  20,000,  1,000,000
#   5m  1,000,000 x  20,000,  5,000,000  (users x10, movies same as 1m)
#   25m 1,000,000 x 100,000, 25,000,000  (movies x5, users same as 5m)
#   tiny    2,000 x   1,000,     20,000  (a smoke test of the script)
#
# The rung's files: `harvest data synth` writes a home; the script dumps it
# with the sqlite3 CLI in the ml-100k layout (u.data, u.user, u.item, u.genre,
# u.occupation), the only MovieLens layout that keeps every column synth
# makes (ages, occupations, zip codes, release dates, genres: the feature
# towers train on them; ml-latest's CSVs have no users file), and `harvest
# data import` reads that folder into a fresh home. The dump is bench
# plumbing, timed apart ("export"), not a Harvest step.
#
# Training: -e epochs (one run; its first epoch is the "epoch" line, from
# the run's epoch_seconds, and the run's evaluations of the train split,
# the popularity baseline and the test split are in its seconds) on the
# oldest 90% of the ratings (rating ids follow time), 80/20
# split inside them; monitor (one window) and retrain --force (stateful:
# the Production model continued on the newest 10% + 0.2 replay) use the
# newest 10%. serve: harvest serve --cache-n 0 (memo off), wrk -t2 -c16
# on /movies/recommend/{random user}/10 for -d seconds.
#
# Usage: bench/bench_scale.sh [-r 1m,5m,25m] [-w WORKDIR] [-k] [-e EPOCHS]
#          [-t THREADS] [-d WRK_SECONDS] [-p PORT] [-b HARVEST_BIN] [-D]
#   -r  rungs, comma-separated (default 1m,5m)
#   -w  work folder (default a new /tmp/bench_scale.XXXXXX); results.tsv
#       and each step's log stay there
#   -k  keep each rung's home and files (default: removed after the rung)
#   -e  epochs of the full training run (default 8, harvest train's default)
#   -t  harvest train --threads (default: harvest's default, all cores)
#   -d  wrk seconds (default 10); -p server port (default 19500)
#   -D  data steps only: synth, export, import, stats (e.g. the 25m rung's
#       import when its training does not fit the time at hand)
# Run it under `nice -n 19` on a shared machine; each step's line carries
# the 1-minute load average when it started and, first in its note, the
# step's CPU seconds (user + sys, from /usr/bin/time -v).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNGS=1m,5m WORK="" KEEP=0 EPOCHS=8 THREADS="" WRKD=10 PORT=19500 DATA_ONLY=0
BIN=build/harvest
while getopts "r:w:ke:t:d:p:b:Dh" o; do
  case $o in
    r) RUNGS=$OPTARG ;; w) WORK=$OPTARG ;; k) KEEP=1 ;; e) EPOCHS=$OPTARG ;;
    t) THREADS=$OPTARG ;; d) WRKD=$OPTARG ;; p) PORT=$OPTARG ;;
    b) BIN=$OPTARG ;; D) DATA_ONLY=1 ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
  esac
done
[ -x "$BIN" ] || { echo "no harvest binary at $BIN (make build)" >&2; exit 1; }
NEED="sqlite3 /usr/bin/time"
[ "$DATA_ONLY" = 1 ] || NEED="$NEED wrk curl" # only serve uses them
for t in $NEED; do
  command -v "$t" >/dev/null || { echo "bench_scale.sh needs $t" >&2; exit 1; }
done
BIN=$(realpath "$BIN")
LUA=$(realpath bench/recommend_q.lua)
[ -n "$WORK" ] || WORK=$(mktemp -d /tmp/bench_scale.XXXXXX)
mkdir -p "$WORK"
WORK=$(realpath "$WORK")
RES="$WORK/results.tsv"
[ -f "$RES" ] || printf 'rung\tstep\tseconds\tpeak_rss_kb\trows\trows_per_s\tload1\tnote\n' > "$RES"
TH=${THREADS:+--threads $THREADS}
SPID=""
trap '[ -n "$SPID" ] && kill "$SPID" 2>/dev/null; true' EXIT

load1() { cut -d' ' -f1 /proc/loadavg; }
# The rung's shape: users movies ratings.
shape() {
  case $1 in
    tiny) echo 2000 1000 20000 ;;
    1m) echo 100000 20000 1000000 ;;
    5m) echo 1000000 20000 5000000 ;;
    25m) echo 1000000 100000 25000000 ;;
    *) echo "unknown rung '$1' (tiny, 1m, 5m, 25m)" >&2; return 1 ;;
  esac
}
# record RUNG STEP SECONDS RSS_KB ROWS LOAD NOTE
record() {
  local rps
  rps=$(awk -v r="$5" -v s="$3" 'BEGIN { printf "%.0f", (s > 0 ? r / s : 0) }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$rps" "$6" "$7" >> "$RES"
  printf '  %-8s %9.2f s %9d kB %10s rows %10s rows/s  load %s  %s\n' "$2" "$3" "$4" "$5" "$rps" "$6" "$7"
}
# step RUNG STEP ROWS NOTE -- command...: time it under /usr/bin/time -v.
step() {
  local rung=$1 name=$2 rows=$3 note=$4 l
  shift 5
  l=$(load1)
  local log="$WORK/$rung.$name.log" tv="$WORK/$rung.$name.time"
  if ! /usr/bin/time -v -o "$tv" "$@" > "$log" 2> "$log.err"; then
    echo "step $name of rung $rung failed: $* (see $log.err)" >&2
    tail -5 "$log.err" >&2
    exit 1
  fi
  local secs rss cpu
  secs=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, a, ":"); s = 0;
           for (i = 1; i <= n; i++) s = s * 60 + a[i]; print s }' "$tv")
  rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$tv")
  # CPU seconds (user + sys): on a shared machine wall time is mostly the
  # share of the cores the step got; CPU is what the step cost.
  cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.1f", s }' "$tv")
  record "$rung" "$name" "$secs" "$rss" "$rows" "$l" "cpu ${cpu} s${note:+; $note}"
}
jnum() { sed -n "s/.*\"$1\": *\"\{0,1\}\([0-9a-f.e+-]*\).*/\1/p" | head -1; }

# Dump home $1's dataset into folder $2 in the ml-100k layout.
export_ml100k() {
  local db=$1/harvest.db out=$2
  mkdir -p "$out"
  sqlite3 "$db" -separator '|' "SELECT name, id FROM genres ORDER BY id" > "$out/u.genre"
  sqlite3 "$db" "SELECT occupation_text FROM users GROUP BY occupation_label
                 ORDER BY occupation_label" > "$out/u.occupation"
  sqlite3 "$db" -separator '|' "SELECT id, raw_age, gender, occupation_text,
                 zip_code FROM users ORDER BY id" > "$out/u.user"
  local flags="" g
  for g in $(seq 0 18); do
    flags="$flags, MAX(CASE WHEN g.genre_id = $g THEN 1 ELSE 0 END)"
  done
  sqlite3 "$db" -separator '|' "SELECT m.id, m.title, COALESCE(m.release_date, ''),
                 '', COALESCE(m.imdb_url, '') $flags FROM movies m
                 LEFT JOIN movie_genres g ON g.movie_id = m.id
                 GROUP BY m.id ORDER BY m.id" > "$out/u.item"
  sqlite3 "$db" -separator $'\t' "SELECT user_id, movie_id, CAST(rating AS INTEGER),
                 timestamp FROM ratings ORDER BY rating_id" > "$out/u.data"
}

echo "== bench_scale.sh: rungs $RUNGS, work $WORK, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "   harvest $("$BIN" version 2>/dev/null | head -1)"
IFS=, read -r -a RLIST <<< "$RUNGS"
for rung in "${RLIST[@]}"; do
  read -r U M N < <(shape "$rung")
  S="$WORK/$rung.synth" H="$WORK/$rung.home" F="$WORK/$rung.ml"
  rm -rf "$S" "$H" "$F"
  N90=$((N * 9 / 10))
  NTRAIN=$((N90 * 8 / 10))
  echo "== rung $rung: $U users x $M movies, $N ratings (free RAM $(awk '/MemAvailable/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo) GiB, disk $(df -h "$WORK" | awk 'NR == 2 { print $4 }') free)"
  step "$rung" synth "$N" "" -- "$BIN" --home "$S" data synth --users "$U" --movies "$M" --ratings "$N"
  step "$rung" export "$N" "sqlite3 CLI dump to ml-100k files (bench plumbing)" -- \
    bash -c "$(declare -f export_ml100k); export_ml100k '$S' '$F'"
  rm -rf "$S"
  step "$rung" import "$N" "ml-100k folder, $(du -sm "$F" | cut -f1) MB" -- "$BIN" --home "$H" data import "$F"
  [ "$KEEP" = 1 ] || rm -rf "$F"
  step "$rung" stats "$N" "" -- "$BIN" --home "$H" data stats
  if [ "$DATA_ONLY" = 1 ]; then
    [ "$KEEP" = 1 ] || rm -rf "$H"
    continue
  fi
  l=$(load1)
  step "$rung" train "$((NTRAIN * EPOCHS))" "$EPOCHS epochs" -- \
    "$BIN" --home "$H" --json train --epochs "$EPOCHS" --ratings "1:$N90" $TH
  TL="$WORK/$rung.train.log"
  RUN=$(jnum run_id < "$TL")
  # The test split's top-100: the first key of that name after "test": {.
  T100=$(awk '/^  "test": \{/ { t = 1 } t && /^    "top_100_categorical_accuracy"/ { print; exit }' "$TL" | jnum top_100_categorical_accuracy)
  EP1=$(awk '/"epoch_seconds": \[/ { getline; gsub(/[ ,]/, ""); print; exit }' "$TL")
  EPM=$(jnum epoch_seconds_mean < "$TL")
  EV=$(jnum eval_seconds < "$TL")
  NOTE="mean $(printf '%.2f' "$EPM") s\/epoch, evaluations (train, popularity, test) $(printf '%.2f' "$EV") s, test top100 $T100"
  sed -i "/^$rung\ttrain\t/s/\t\([^\t]*\)\$/\t\1: $NOTE/" "$RES"
  record "$rung" epoch "$EP1" "$(awk -F'\t' -v r="$rung" '$1 == r && $2 == "train" { print $4 }' "$RES")" \
    "$NTRAIN" "$l" "the train run's first epoch (its peak RSS)"
  echo "  (train: $NOTE)" | sed 's/\\//g'
  "$BIN" --home "$H" models register --run "$RUN" --stage Production --archive-existing > /dev/null
  step "$rung" evaluate "$((N90 - NTRAIN))" "test split" -- "$BIN" --home "$H" evaluate --run "$RUN"
  step "$rung" monitor "$((N - N90))" "one window" -- \
    "$BIN" --home "$H" monitor --batches "$((N90 + 1)):$N"
  step "$rung" retrain "$((N - N90))" "stateful, --force" -- \
    "$BIN" --home "$H" retrain --force $TH
  # serve: time to ready, then wrk with the memo off; peak RSS = VmHWM.
  l=$(load1)
  t0=$(date +%s.%N)
  "$BIN" --home "$H" serve --port "$PORT" --cache-n 0 > "$WORK/$rung.serve.log" 2>&1 &
  SPID=$!
  for _ in $(seq 1 600); do
    curl -sf -o /dev/null "http://127.0.0.1:$PORT/readyz" && break
    kill -0 "$SPID" 2>/dev/null || { echo "harvest serve exited (port $PORT taken?)" >&2; exit 1; }
    sleep 0.1
  done
  t1=$(date +%s.%N)
  SUM=$(WRK_USERS=$U wrk -t2 -c16 -d"${WRKD}s" --latency -s "$LUA" "http://127.0.0.1:$PORT" 2>&1 | sed -n 's/^SUMMARY //p')
  HWM=$(awk '/VmHWM/ { print $2 }' "/proc/$SPID/status")
  kill "$SPID"; wait "$SPID" 2>/dev/null || true; SPID=""
  REQ=$(echo "$SUM" | sed -n 's/.*requests=\([0-9]*\).*/\1/p')
  P99=$(echo "$SUM" | sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p')
  record "$rung" serve "$WRKD" "$HWM" "${REQ:-0}" "$l" \
    "requests (rows/s = req/s), p99 ${P99} ms, ready in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s, memo off"
  [ "$KEEP" = 1 ] || rm -rf "$H"
done

# The table, then growth factors between consecutive rungs in this results file.
echo
echo "| rung | step | seconds | peak RSS MB | rows | rows/s | load1 | note |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"
awk -F'\t' 'NR > 1 { printf "| %s | %s | %.2f | %.0f | %s | %s | %s | %s |\n",
  $1, $2, $3, $4 / 1024, $5, $6, $7, $8 }' "$RES"
echo
echo "Growth factors (later rung / earlier rung; ratings grow 5x a rung):"
echo "| step | rungs | ratings x | seconds x | peak RSS x | seconds per row x |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
awk -F'\t' 'NR > 1 { k = $1 SUBSEP $2; s[k] = $3; m[k] = $4; r[k] = $5;
  if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
  if (!($2 in sseen)) { sseen[$2] = 1; steps[++ns] = $2 } }
  END { for (j = 1; j <= ns; j++) for (i = 2; i <= n; i++) {
    a = order[i - 1] SUBSEP steps[j]; b = order[i] SUBSEP steps[j];
    if (!(a in s) || !(b in s) || s[a] == 0 || r[a] == 0 || m[a] == 0) continue;
    printf "| %s | %s->%s | %.2f | %.2f | %.2f | %.2f |\n", steps[j], order[i-1],
      order[i], r[b] / r[a], s[b] / s[a], m[b] / m[a], (s[b] / r[b]) / (s[a] / r[a]) } }' "$RES"
echo
echo "results: $RES (load at the end $(cut -d' ' -f1-3 /proc/loadavg))"
