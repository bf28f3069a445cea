#!/bin/sh
# bench_synth.sh - `harvest data synth` bulk loading vs a Python peer.
#
# Harvest: `harvest data synth` generates USERS x MOVIES x RATINGS (with its
# planted structure) and loads it as one SQLite transaction (WAL), indexes
# included; wall time and peak RSS come from /usr/bin/time.
# Peer: there is no data-loading peer in ../shared/peers, so this script
# carries one: Debian python3 + numpy generating rows of the same shape
# (uniform users, Zipf-like movies, ratings 1..5, sorted timestamps) and
# sqlite3 executemany into the same schema in one transaction (WAL, indexes
# created after the insert: the peer gets the same bulk-load trick).
# Rows = users + movies + ratings. Prints both rates and their ratio.
#
# Usage: bench/bench_synth.sh [HARVEST_BIN]
#   env USERS MOVIES RATINGS (default 1000000 100000 25000000),
#       PEER_RATINGS (default RATINGS; the peer's users/movies scale with it),
#       SMALL=1 also times an ml-100k-sized synth (943 x 1682 x 100000).
# Timings on a shared machine are noisy; run when it is quiet.
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
fi

echo "harvest: data synth --users $USERS --movies $MOVIES --ratings $RATINGS"
/usr/bin/time -f "%e %M" -o "$TMP/h.time" \
  "$BIN" --home "$TMP/h" data synth --users "$USERS" --movies "$MOVIES" \
  --ratings "$RATINGS" --json > "$TMP/h.json"
H_WALL=$(cut -d' ' -f1 "$TMP/h.time")
H_RSS=$(cut -d' ' -f2 "$TMP/h.time")
H_ROWS=$((USERS + MOVIES + RATINGS))
rm -rf "$TMP/h"

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
awk -v hw="$H_WALL" -v hr="$H_ROWS" -v hrss="$H_RSS" -v nr="$RATINGS" \
    -v pw="$P_WALL" -v pr="$P_ROWS" 'BEGIN {
  h = hr / hw; p = pr / pw;
  printf "harvest: %d rows (%d ratings) in %.2f s = %.0f rows/s, %.0f ratings/s, peak RSS %d kB\n", hr, nr, hw, h, nr / hw, hrss;
  printf "peer:    %d rows in %.2f s = %.0f rows/s\n", pr, pw, p;
  printf "ratio (harvest rows/s / peer rows/s): %.2f\n", h / p;
}'
