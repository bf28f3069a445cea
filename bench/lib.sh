# bench/lib.sh - helpers the bench scripts share; sourced (". bench/lib.sh"), not run.
# shellcheck shell=bash

# The median of the numbers in standard input (separated by spaces or lines).
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# The value of NAME in a "k=v k=v" line:  field LINE NAME
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
# The run id in `harvest --json train`'s output (standard input).
run_id() { sed -n 's/^ *"run_id": "\([0-9a-f]*\)".*/\1/p' | head -1; }
load1() { cut -d' ' -f1 /proc/loadavg; }
# CPU a process has used (utime + stime), in clock ticks (getconf CLK_TCK):  cpu_ticks PID
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# Recommend answers (200) a harvest server has counted, from its /metrics:  served URL
served() { curl -s "$1/metrics" | sed -n 's/^harvest_http_requests_total{route="recommend",status="200"} //p'; }
