#!/usr/bin/env bash
# bench_import.sh - time `harvest data import` of ml-100k (folder and .zip)
# against peer-ish baselines, in one run on this machine:
#   - sqlite3 CLI `.import` of u.data alone into the same ratings table and
#     indexes (no validation, no catalogue: a floor for "get rows into
#     SQLite"),
#   - a Python stdlib loader (/usr/bin/python3: csv + sqlite3 executemany,
#     all five files, Latin-1 decoding, the same schema), the shape of the
#     seed's pandas-based loading.
# Prints the mean of each and the ratios. Uses hyperfine when installed,
# else a loop of N runs.
#
# Usage: bench/bench_import.sh [HARVEST_BIN] [DATA_DIR]
#   HARVEST_BIN defaults to build/harvest (run `make build` first),
#   DATA_DIR to ../shared/data/ml-100k. RUNS=N sets the number of runs.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/harvest}
DATA=${2:-../shared/data/ml-100k}
RUNS=${RUNS:-10}
PY=/usr/bin/python3
[ -x "$BIN" ] || { echo "no harvest binary at $BIN (make build)" >&2; exit 1; }
[ -f "$DATA/u.data" ] || { echo "no ml-100k at $DATA" >&2; exit 1; }
BIN=$(realpath "$BIN")
DATA=$(realpath "$DATA")
WORK=$(mktemp -d /tmp/bench_import.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# A zip of the dataset inside a top folder, as grouplens ships it.
(cd "$(dirname "$DATA")" && "$PY" - "$WORK/ml-100k.zip" "$(basename "$DATA")" <<'PYZIP'
import os, sys, zipfile
out, top = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for f in sorted(os.listdir(top)):
        z.write(os.path.join(top, f), "ml-100k/" + f)
PYZIP
)

# The ratings schema Harvest uses (src/store/schema.c), for the baselines.
cat > "$WORK/schema.sql" <<'SQL'
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
CREATE TABLE ratings (rating_id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL,
  movie_id INTEGER NOT NULL, rating REAL NOT NULL, timestamp INTEGER NOT NULL);
CREATE INDEX ratings_by_user ON ratings(user_id);
CREATE INDEX ratings_by_movie ON ratings(movie_id);
CREATE INDEX ratings_by_time ON ratings(timestamp);
CREATE TABLE staging (user_id INTEGER, movie_id INTEGER, rating REAL,
  timestamp INTEGER);
SQL
cat > "$WORK/sqlite_import.sh" <<SH
rm -f "$WORK/s.db"*
sqlite3 "$WORK/s.db" < "$WORK/schema.sql" > /dev/null
sqlite3 "$WORK/s.db" -cmd '.mode tabs' '.import $DATA/u.data staging' \
  'INSERT INTO ratings(user_id, movie_id, rating, timestamp) SELECT * FROM staging'
SH

cat > "$WORK/py_import.py" <<'PY'
import csv, sqlite3, sys
d, db = sys.argv[1], sys.argv[2]
c = sqlite3.connect(db)
c.executescript("""
PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;
CREATE TABLE genres (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE movies (id INTEGER PRIMARY KEY, title TEXT NOT NULL,
  release_date TEXT, imdb_url TEXT);
CREATE TABLE movie_genres (movie_id INTEGER NOT NULL REFERENCES movies(id),
  genre_id INTEGER NOT NULL REFERENCES genres(id),
  PRIMARY KEY (movie_id, genre_id)) WITHOUT ROWID;
CREATE TABLE users (id INTEGER PRIMARY KEY, raw_age INTEGER, gender TEXT,
  occupation_text TEXT, occupation_label INTEGER, zip_code TEXT);
CREATE TABLE ratings (rating_id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  movie_id INTEGER NOT NULL REFERENCES movies(id), rating REAL NOT NULL,
  timestamp INTEGER NOT NULL);
CREATE INDEX ratings_by_user ON ratings(user_id);
CREATE INDEX ratings_by_movie ON ratings(movie_id);
CREATE INDEX ratings_by_time ON ratings(timestamp);
""")
def rows(name, sep):
    with open(f"{d}/{name}", encoding="latin-1", newline="") as f:
        return [l.rstrip("\r\n").split(sep) for l in f if l.strip()]
with c:
    genres = rows("u.genre", "|")
    c.executemany("INSERT INTO genres VALUES (?, ?)",
                  [(int(i), n) for n, i in genres])
    occ = [r[0] for r in rows("u.occupation", "|")]
    c.executemany("INSERT INTO users VALUES (?, ?, ?, ?, ?, ?)",
                  [(int(u), int(a), g, o, occ.index(o), z)
                   for u, a, g, o, z in rows("u.user", "|")])
    items = rows("u.item", "|")
    c.executemany("INSERT INTO movies VALUES (?, ?, ?, ?)",
                  [(int(r[0]), r[1], r[2] or None, r[4] or None) for r in items])
    c.executemany("INSERT INTO movie_genres VALUES (?, ?)",
                  [(int(r[0]), g) for r in items
                   for g, f in enumerate(r[5:]) if f == "1"])
    c.executemany("INSERT INTO ratings VALUES (?, ?, ?, ?, ?)",
                  [(i + 1, int(u), int(m), float(r), int(t))
                   for i, (u, m, r, t) in enumerate(rows("u.data", "\t"))])
print(c.execute("SELECT COUNT(*) FROM ratings").fetchone()[0])
PY

harvest_cmd="$BIN --home $WORK/h data import --format ml-100k $DATA"
harvest_zip_cmd="$BIN --home $WORK/hz data import $WORK/ml-100k.zip"
sqlite_cmd="bash $WORK/sqlite_import.sh"
py_cmd="$PY $WORK/py_import.py $DATA $WORK/p.db"

# Sanity: each command works and loads 100000 ratings.
rm -rf "$WORK/h"; $harvest_cmd | grep -q "ratings  100000"
rm -rf "$WORK/hz"; $harvest_zip_cmd | grep -q "ratings  100000"
rm -f "$WORK/p.db"*; [ "$($py_cmd)" = 100000 ]
$sqlite_cmd
[ "$(sqlite3 "$WORK/s.db" 'SELECT COUNT(*) FROM ratings')" = 100000 ]

echo "ml-100k import, $RUNS runs each; $(nproc) cores shared with other work" \
     "(load average: $(cut -d' ' -f1-3 /proc/loadavg))"

mean() { # mean seconds of command $2 after prepare $1
  if command -v hyperfine > /dev/null; then
    hyperfine -N --warmup 1 --runs "$RUNS" --prepare "$1" \
      --export-json "$WORK/hf.json" "$2" > /dev/null 2>&1
    jq '.results[0].mean' "$WORK/hf.json"
  else
    local t=0 s e
    for _ in $(seq "$RUNS"); do
      bash -c "$1"
      s=$(date +%s.%N); $2 > /dev/null; e=$(date +%s.%N)
      t=$(echo "$t + $e - $s" | bc -l)
    done
    echo "$t / $RUNS" | bc -l
  fi
}

t_h=$(mean "rm -rf $WORK/h" "$harvest_cmd")
t_z=$(mean "rm -rf $WORK/hz" "$harvest_zip_cmd")
t_s=$(mean "true" "$sqlite_cmd")
t_p=$(mean "rm -f $WORK/p.db $WORK/p.db-wal $WORK/p.db-shm" "$py_cmd")

printf '%-52s %8.3f s\n' "harvest data import (folder, validated, all files)" "$t_h"
printf '%-52s %8.3f s\n' "harvest data import (.zip, deflated)" "$t_z"
printf '%-52s %8.3f s\n' "sqlite3 CLI .import u.data only (no checks)" "$t_s"
printf '%-52s %8.3f s\n' "python3 csv+sqlite3 loader (all files)" "$t_p"
awk -v h="$t_h" -v s="$t_s" -v p="$t_p" 'BEGIN {
  printf "ratio sqlite3-CLI / harvest: %.2fx   python / harvest: %.2fx\n", s / h, p / h
  printf "target: under 1 s -> %s\n", (h < 1.0 ? "met" : "NOT met") }'
