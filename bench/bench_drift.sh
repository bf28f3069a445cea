#!/bin/sh
# bench_drift.sh - KS and Wasserstein-1 on N vs N values: Harvest against
# scipy (../shared/peers/drift_ref.py --bench N) in the same run.
#
# Usage: bench/bench_drift.sh [N]            (default N = 1000000)
#   HARVEST=path/to/harvest  binary to time (default build/harvest)
#   PEERS=path/to/peers      folder holding drift_ref.py (default ../shared/peers)
#
# Both sides get the same samples: numpy default_rng(0), N(0,1) and
# N(0.01,1), the data drift_ref.py --bench draws; they are written to two
# files (17 significant digits) and `harvest drift --time-reps 3` times the
# statistics on them after reading (reading is not timed; scipy's timing
# excludes data creation too). Each side reports min / median of 3 runs;
# every Harvest run sorts its own copies, as scipy does.
set -eu
N=${1:-1000000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
HARVEST=${HARVEST:-$ROOT/build/harvest}
PEERS=${PEERS:-$ROOT/../shared/peers}
PY=/usr/bin/python3
[ -x "$HARVEST" ] || { echo "bench_drift: no harvest binary at $HARVEST (build it or set HARVEST)" >&2; exit 1; }
[ -f "$PEERS/drift_ref.py" ] || { echo "bench_drift: no $PEERS/drift_ref.py" >&2; exit 1; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/bench_drift.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM

"$PY" - "$N" "$TMP" <<'EOF'
import sys, numpy as np
n, d = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(0)
np.savetxt(d + "/ref.txt", rng.normal(0, 1, n), fmt="%.17g")
np.savetxt(d + "/cur.txt", rng.normal(0.01, 1, n), fmt="%.17g")
EOF

"$PY" "$PEERS/drift_ref.py" --bench "$N" > "$TMP/scipy.json"
"$HARVEST" drift --reference "$TMP/ref.txt" --current "$TMP/cur.txt" \
  --json --time-reps 3 > "$TMP/harvest.json"

"$PY" - "$TMP/scipy.json" "$TMP/harvest.json" <<'EOF'
import json, sys
s, h = (json.load(open(p)) for p in sys.argv[1:3])
t = h["timing"]
print("drift statistics, n = %d vs %d (min / median of 3 runs, seconds; "
      "shared 2-core machine)" % (s["n"], s["n"]))
print("%-24s %17s %17s %9s %9s" % ("", "scipy", "harvest", "x (min)", "x (med)"))
for label, sk, hk in (("ks_2samp (auto)", "ks_2samp_auto", "ks_2samp_auto"),
                      ("wasserstein_distance", "wasserstein_distance",
                       "wasserstein_distance")):
    a, b = s[sk], t[hk]
    print("%-24s %8.4f / %6.4f %8.4f / %6.4f %8.1fx %8.1fx" % (
        label, a["min_s"], a["median_s"], b["min_s"], b["median_s"],
        a["min_s"] / b["min_s"], a["median_s"] / b["median_s"]))
b = t["all_numeric"]
print("%-24s %17s %8.4f / %6.4f  (KS + W1 + PSI + JS, one sort each)" % (
    "harvest all numeric", "", b["min_s"], b["median_s"]))
d, p = s["ks_2samp_auto"]["value"]
w = s["wasserstein_distance"]["value"]
print("values: scipy D %.9g p %.9g W1 %.9g" % (d, p, w))
print("        harvest D %.9g p %.9g W1 %.9g (%s)" % (
    h["ks"]["statistic"], h["ks"]["pvalue"], h["wasserstein"], h["ks"]["method"]))
ok = (abs(h["ks"]["statistic"] - d) <= 1e-12 and abs(h["ks"]["pvalue"] - p) <= 1e-6 * max(p, 1e-300) + 1e-15
      and abs(h["wasserstein"] - w) <= 1e-9 * w)
print("agreement:", "yes" if ok else "NO")
sys.exit(0 if ok else 1)
EOF
