#!/bin/sh
# bench_synth.sh - `harvest data synth` bulk loading vs a Python peer.
#
# Harvest: `harvest data synth` generates USERS x MOVIES x RATINGS (with its
# planted structure) and loads it as one SQLite transaction, the ratings
# indexes (by user, movie, timestamp) present at the end; wall time and peak
# RSS come from /usr/bin/time. Rows = users + movies + ratings.
# Peer: there is no data-loading peer in ../shared/peers, so this script
# carries one: Debian python3 + numpy generating rows of the same shape
# (uniform users, Zipf-like movies, ratings 1..5, sorted timestamps) and
# sqlite3 executemany into the same schema in one transaction (WAL, indexes
# created after the insert: the classic bulk-load trick).
# Prints each rate and the ratio harvest / peer.
#
# Usage: bench/bench_synth.sh [HARVEST_BIN]
#   env USERS MOVIES RATINGS (default 1000000 100000 25000000),
#       ALSO="U:M:R ..." extra harvest-only runs first (e.g. the 5M point
#         ALSO=200000:20000:5000000),
#       PEER_RATINGS (default RATINGS; the peer's users/movies scale with
#         it; 0 skips the peer),
#       CHECK=1 runs PRAGMA integrity_check on harvest's database (checks
#         every index entry against the table; ~1 min at 25M),
#       SMALL=1 also times an ml-100k-sized synth (943 x 1682 x 100000).
# Timings on a shared machine are noisy (the script prints the load
# average); compare the CPU times as well as the wall time.
#
# Where the time goes (25M, see src/store/catalog.c): the ratings table and
# ratings_by_time are appended to while the generator thread makes ratings;
# ratings_by_user and ratings_by_movie are counting-sorted and appended at
# commit; the load runs with a rollback journal when harvest is the only
# process with the database open (no WAL checkpoint to pay).
set -eu
BIN=${1:-build/harvest}
USERS=${USERS:-1000000}
MOVIES=${MOVIES:-100000}
RATINGS=${RATINGS:-25000000}
PEER_RATINGS=${PEER_RATINGS:-$RATINGS}
PY=/usr/bin/python3
TMP=$(mktemp -d /tmp/bench_synth.XXXXXX)
trap 'rm -rf "$TMP"' EXIT INT TERM

[ -x "$BIN" ] || { echo "no harvest binary at $BIN (build first)" >&2; exit 1; }
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

if [ "${SMALL:-0}" = 1 ]; then
  /usr/bin/time -f "%e %M" -o "$TMP/small.time" \
    "$BIN" --home "$TMP/small" data synth --json > "$TMP/small.json"
  echo "harvest ml-100k-sized synth (943 x 1682 x 100000):" \
       "$(cut -d' ' -f1 "$TMP/small.time") s wall," \
       "peak RSS $(cut -d' ' -f2 "$TMP/small.time") kB"
  rm -rf "$TMP/small"
fi

# run_harvest U M R: one synth into a fresh home; prints one line, leaves
# the wall time in $TMP/last.wall.
run_harvest() {
  u=$1 m=$2 r=$3
  rm -rf "$TMP/h"
  /usr/bin/time -f "%e %M %U %S" -o "$TMP/h.time" \
    "$BIN" --home "$TMP/h" data synth --users "$u" --movies "$m" \
    --ratings "$r" --json > "$TMP/h.json"
  if [ "${CHECK:-0}" = 1 ]; then
    ok=$(sqlite3 "$TMP/h/harvest.db" "PRAGMA integrity_check" | head -1)
    idx=$(sqlite3 "$TMP/h/harvest.db" "SELECT COUNT(*) FROM sqlite_schema \
      WHERE type='index' AND name IN ('ratings_by_user','ratings_by_movie',\
      'ratings_by_time')")
    echo "  integrity_check: $ok; ratings indexes present: $idx of 3"
  fi
  db_mb=$(du -m "$TMP/h/harvest.db" | cut -f1)
  rm -rf "$TMP/h"
  read -r wall rss ut st < "$TMP/h.time"
  echo "$wall" > "$TMP/last.wall"
  awk -v w="$wall" -v rss="$rss" -v ut="$ut" -v st="$st" -v u="$u" \
      -v m="$m" -v r="$r" -v db="$db_mb" 'BEGIN {
    rows = u + m + r;
    printf "harvest %d x %d x %d: %d rows in %.2f s = %.0f rows/s " \
           "(%.0f ratings/s), cpu %.1f user + %.1f sys, peak RSS %d MB, " \
           "db %d MB\n", u, m, r, rows, w, rows / w, r / w, ut, st,
           rss / 1024, db;
  }'
}

for spec in ${ALSO:-}; do
  IFS=: read -r u m r <<EOF
$spec
EOF
  run_harvest "$u" "$m" "$r"
done
run_harvest "$USERS" "$MOVIES" "$RATINGS"
H_WALL=$(cat "$TMP/last.wall")
H_ROWS=$((USERS + MOVIES + RATINGS))

[ "$PEER_RATINGS" -gt 0 ] || exit 0
echo "peer: python3 numpy + sqlite3 executemany, $PEER_RATINGS ratings"
P_OUT=$($PY - "$TMP/peer.db" "$USERS" "$MOVIES" "$RATINGS" "$PEER_RATINGS" <<'PYEOF'
import sqlite3, sys, time
import numpy as np
path, users, movies, ratings, pr = sys.argv[1], *map(int, sys.argv[2:])
scale = pr / ratings
nu, nm, nr = max(1, int(users * scale)), max(1, int(movies * scale)), pr
t0 = time.time()
rng = np.random.default_rng(42)
db = sqlite3.connect(path, isolation_level=None)
db.executescript("""
PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;
CREATE TABLE users(id INTEGER PRIMARY KEY, raw_age INTEGER, bucketized_age
  INTEGER, gender TEXT, occupation_text TEXT, occupation_label INTEGER,
  zip_code TEXT, password_hash TEXT);
CREATE TABLE movies(id INTEGER PRIMARY KEY, title TEXT NOT NULL,
  release_date TEXT, release_year INTEGER, imdb_url TEXT);
CREATE TABLE ratings(rating_id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL
  REFERENCES users(id), movie_id INTEGER NOT NULL REFERENCES movies(id),
  rating REAL NOT NULL CHECK (rating >= 0.5 AND rating <= 5),
  timestamp INTEGER NOT NULL, source TEXT NOT NULL DEFAULT 'import');
PRAGMA foreign_keys=OFF;
""")
db.execute("BEGIN")
ages = rng.integers(7, 74, nu)
db.executemany("INSERT INTO users VALUES (?,?,?,?,?,?,?,NULL)",
               ((i + 1, int(a), 25, "M", "student", 18, "12345")
                for i, a in enumerate(ages)))
db.executemany("INSERT INTO movies VALUES (?,?,?,?,NULL)",
               ((i + 1, "Movie %d (1995)" % (i + 1), "01-Jan-1995", 1995)
                for i in range(nm)))
chunk = 1_000_000
ts0 = 874713600
for lo in range(0, nr, chunk):
    n = min(chunk, nr - lo)
    u = rng.integers(1, nu + 1, n)
    m = np.minimum(rng.zipf(1.3, n), nm)
    r = rng.integers(1, 6, n)
    ids = np.arange(lo + 1, lo + n + 1)
    ts = ts0 + ids * (215 * 86400) // nr
    db.executemany("INSERT INTO ratings(rating_id,user_id,movie_id,rating,"
                   "timestamp) VALUES (?,?,?,?,?)",
                   zip(ids.tolist(), u.tolist(), m.tolist(),
                       r.astype(float).tolist(), ts.tolist()))
# (executescript would COMMIT first: run them one by one)
for sql in ("CREATE INDEX ratings_by_user ON ratings(user_id)",
            "CREATE INDEX ratings_by_movie ON ratings(movie_id)",
            "CREATE INDEX ratings_by_time ON ratings(timestamp)", "COMMIT"):
    db.execute(sql)
db.close()
wall = time.time() - t0
print(wall, nu + nm + nr)
PYEOF
)
P_WALL=${P_OUT% *}
P_ROWS=${P_OUT#* }
awk -v hw="$H_WALL" -v hr="$H_ROWS" -v pw="$P_WALL" -v pr="$P_ROWS" 'BEGIN {
  h = hr / hw; p = pr / pw;
  printf "peer:    %d rows in %.2f s = %.0f rows/s\n", pr, pw, p;
  printf "ratio (harvest rows/s / peer rows/s): %.2f\n", h / p;
}'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
