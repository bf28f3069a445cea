#!/bin/sh
# bench_monitor.sh - one full monitoring pass on ml-100k replayed in time
# order: `harvest monitor` against a numpy/scipy peer doing the same work,
# in the same run.
#
# Usage: bench/bench_monitor.sh [WINDOW] [N_WINDOWS]   (default 13d 10)
#   HARVEST=path/to/harvest  binary to time (default build/harvest)
#   DATA=path/to/ml-100k     dataset folder (default ../shared/data/ml-100k)
#   PEERS=path/to/peers      folder holding model_tutorial/ (default
#                            ../shared/peers)
#
# Set-up (not timed): u.data is sorted by timestamp into a copy of the
# dataset so rating_id follows time, imported into a fresh home, and a
# 32-dim model is trained on the first 50% (rating_id 1:50000). Timed: a
# complete `harvest monitor --window W --windows N` process (database
# reads, scoring every window user against all 1682 movies, top-K
# accuracy, 8 drift features with verdicts, health, the tracked run and
# its report.json artifact). The peer (inline below) reads the same
# database with sqlite3, computes the same windows, features (scipy
# ks_2samp / wasserstein_distance / chi2_contingency, jensenshannon),
# top-K accuracy, top-1 scores and health with numpy, scoring with the
# PyTorch peer's saved 32-dim tutorial embeddings (it cannot read
# Harvest's model file; the arithmetic is the same size); it logs nothing.
# Its time excludes interpreter start-up and imports. Each side: min and
# median of 5 runs. The machine is a shared 2-core VM.
set -eu
WIN=${1:-13d}
NW=${2:-10}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HARVEST=${HARVEST:-$ROOT/build/harvest}
DATA=${DATA:-$ROOT/../shared/data/ml-100k}
PEERS=${PEERS:-$ROOT/../shared/peers}
PY=/usr/bin/python3
[ -x "$HARVEST" ] || { echo "bench_monitor: no harvest binary at $HARVEST (build it or set HARVEST)" >&2; exit 1; }
[ -f "$DATA/u.data" ] || { echo "bench_monitor: no ml-100k at $DATA" >&2; exit 1; }
[ -f "$PEERS/model_tutorial/user_emb.npy" ] || { echo "bench_monitor: no $PEERS/model_tutorial" >&2; exit 1; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/bench_monitor.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM

mkdir -p "$TMP/ml-100k"
for f in u.genre u.info u.item u.occupation u.user; do cp "$DATA/$f" "$TMP/ml-100k/"; done
sort -k4,4n -k1,1n -k2,2n "$DATA/u.data" > "$TMP/ml-100k/u.data"
H="$TMP/home"
"$HARVEST" --home "$H" data import --format ml-100k "$TMP/ml-100k" > /dev/null
OPENBLAS_NUM_THREADS=1 "$HARVEST" --home "$H" train --ratings 1:50000 --dim 32 \
  --threads 1 --out "$TMP/m.hvm" > /dev/null 2>&1

"$PY" - "$HARVEST" "$H" "$TMP/m.hvm" "$WIN" "$NW" "$PEERS/model_tutorial" <<'EOF'
import json, subprocess, sys, time, sqlite3
import numpy as np
from scipy import stats
from scipy.spatial.distance import jensenshannon

harvest, home, model, win, nw, emb = sys.argv[1:7]
nw = int(nw)
unit = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
wlen = int(win[:-1]) * unit[win[-1]] if win[-1] in unit else int(win)

def run_harvest():
    t = time.perf_counter()
    out = subprocess.run([harvest, "--home", home, "monitor", "--model", model,
                          "--window", win, "--windows", str(nw), "--json"],
                         check=True, capture_output=True,
                         env={"OPENBLAS_NUM_THREADS": "1"}).stdout
    return time.perf_counter() - t, json.loads(out)

def peer(db, ref_last):
    con = sqlite3.connect(db)
    R = np.array(con.execute("SELECT rating_id, user_id, movie_id, rating, "
                             "timestamp FROM ratings ORDER BY rating_id").fetchall())
    us = np.array(con.execute("SELECT id, COALESCE(raw_age,-1), gender='F', "
                              "COALESCE(occupation_label,-1) FROM users").fetchall())
    nu = int(us[:, 0].max()) + 1
    age = np.full(nu, -1); age[us[:, 0]] = us[:, 1]
    fem = np.zeros(nu, int); fem[us[:, 0]] = us[:, 2]
    occ = np.full(nu, -1); occ[us[:, 0]] = us[:, 3]
    mv = np.array(con.execute("SELECT id, COALESCE(release_year,0) FROM movies").fetchall())
    nm = int(mv[:, 0].max()) + 1
    year = np.zeros(nm); year[mv[:, 0]] = mv[:, 1]
    mg = np.array(con.execute("SELECT movie_id, genre_id FROM movie_genres").fetchall())
    G = np.zeros((nm, mg[:, 1].max() + 1)); G[mg[:, 0], mg[:, 1]] = 1
    Ue, Me = np.load(emb + "/user_emb.npy"), np.load(emb + "/movie_emb.npy")
    ref = R[R[:, 0] <= ref_last]
    pop = np.bincount(ref[:, 2].astype(int), minlength=nm).astype(float)

    def side(X, is_ref):
        u = np.unique(X[:, 1].astype(int)); m = X[:, 2].astype(int)
        p = pop[m] - (1 if is_ref else 0)
        return {"age": age[u][age[u] >= 0], "gender": np.bincount(fem[u], minlength=2),
                "occ": np.bincount(occ[u] + 1, minlength=23), "genre": G[m].sum(0),
                "year": year[m][year[m] > 0], "pop": np.log1p(np.maximum(p, 0)),
                "rating": np.bincount(X[:, 3].astype(int), minlength=6)[1:], "users": u}

    def score(X):
        u = np.unique(X[:, 1].astype(int))
        S = Ue[u] @ Me[1:].T                      # (users, 1682)
        ui = np.searchsorted(u, X[:, 1].astype(int))
        t = S[ui, X[:, 2].astype(int) - 1]
        rank = (S[ui] > t[:, None]).sum(1)
        top10 = np.argpartition(-S, 10, axis=1)[:, :10]
        return S.max(1), {k: float((rank < k).mean()) for k in (1, 5, 10, 50, 100)}, top10

    def health(top10):
        c = np.bincount(top10.ravel(), minlength=Me.shape[0] - 1)
        s = np.sort(c); n = len(s); i = np.arange(1, n + 1)
        return (c > 0).mean(), ((2 * i - n - 1) * s).sum() / (n * s.sum()), pop[top10 + 1].mean()

    def num(r, c, small):
        if min(len(r), len(c)) <= 1000:
            return stats.ks_2samp(r, c).pvalue < 0.05
        return stats.wasserstein_distance(r, c) / max(r.std(), 1e-3) >= 0.1

    def cat(r, c):
        if min(r.sum(), c.sum()) <= 1000:
            k = (r + c) > 0
            return stats.chi2_contingency(np.vstack([r[k], c[k]]))[1] < 0.05
        return jensenshannon(r, c) >= 0.1

    rs = side(ref, True); rtop1, _, rtop10 = score(ref)
    rng = np.random.default_rng(0)
    start = ref[:, 4].max(); rows = []
    live = R[R[:, 0] > ref_last]
    for w in range(nw):
        X = live[(live[:, 4] >= start + w * wlen) & (live[:, 4] < start + (w + 1) * wlen)]
        if len(X) == 0:
            continue
        cs = side(X, False); top1, acc, top10 = score(X)
        d = [num(rs["age"], cs["age"], 0), cat(rs["gender"], cs["gender"]),
             cat(rs["occ"], cs["occ"]), cat(rs["genre"], cs["genre"]),
             num(rs["year"], cs["year"], 0), num(rs["pop"], cs["pop"], 0),
             cat(rs["rating"], cs["rating"]), num(rtop1, top1, 0)]
        k = min(len(top1), len(rtop1))
        h = health(top10), health(rtop10[rng.choice(len(rtop1), k, replace=False)])
        rows.append((len(X), acc[100], sum(d)))
    return rows

ref_last = 50000
db = home + "/harvest.db"
peer(db, ref_last)  # warm the page cache and imports
ht, pt = [], []
for _ in range(5):
    t, rep = run_harvest(); ht.append(t)
    t = time.perf_counter(); rows = peer(db, ref_last); pt.append(time.perf_counter() - t)
ht.sort(); pt.sort()
print("monitoring pass on ml-100k (time-sorted; model on rating_id 1:50000; "
      "%d windows of %s)" % (nw, win))
print("  harvest monitor (whole process, logged run + artifact): min %.3f s  "
      "median %.3f s  (pass itself %.3f s)" % (ht[0], ht[2], rep["seconds"]))
print("  numpy/scipy peer (in-process, no logging):             min %.3f s  "
      "median %.3f s" % (pt[0], pt[2]))
print("  ratio peer / harvest: %.1fx (min)  %.1fx (median)" % (pt[0] / ht[0], pt[2] / ht[2]))
print("  under 1 s: %s" % ("yes" if ht[2] < 1.0 else "NO"))
print("  harvest windows: " + ", ".join(
    "%d:%d/%d" % (w["n_ratings"], w["n_drifted"], w["n_features"]) for w in rep["windows"]))
print("  peer windows:    " + ", ".join("%d:%d/8" % (n, d) for n, _, d in rows))
EOF
