#!/usr/bin/env bash
# The cost of one relay hop, measured, and the once-per-link rule checked on real node processes: a webinar (one
# publisher of audio and video, SUBS receivers) run
#   (a) on one node: the publisher and every receiver on node A;
#   (b) across a relay link: the publisher on node A, every receiver on node B (a two-node cluster on loopback);
#   (c) across two relay links (multi-hop): the publisher on node A, every receiver on node C, and A and C not peers
#       of each other: both are peers of M only, which has no one of the room on it and passes the media on.
# Each run writes the load tool's JSON to $OUT; during (b) and (c), scripts/hop_check.py reads the nodes'
# /admin/links and /metrics twice, 5 s apart, and FAILS the script unless what crossed each link is what the
# publisher sent, once (not once per receiver), and the receivers' node received it. Then prints the medians:
# end-to-end latency p50/p99, the latency each node says it adds, CPU per packet each node sends.
#
# Usage: bash scripts/hop-bench.sh              (SUBS=50 RUNS=3 DUR=20s OUT=benchmarks/results/hop)
#        SMOKE=1 bash scripts/hop-bench.sh      (CI: SUBS=8, one short run of (b), the check only)
set -euo pipefail
cd "$(dirname "$0")/.."

SMOKE=${SMOKE:-0}
if [ "$SMOKE" = 1 ]; then
  SUBS=${SUBS:-8}; RUNS=${RUNS:-1}; DUR=${DUR:-8s}; OUT=${OUT:-$(mktemp -d -t sfu-hop.XXXXXX)}
else
  SUBS=${SUBS:-50}; RUNS=${RUNS:-3}; DUR=${DUR:-20s}; OUT=${OUT:-benchmarks/results/hop}
fi
VIDEO_KBPS=${VIDEO_KBPS:-800}
SECRET=hop-bench-cluster-secret-0123456789abcdef
ADMIN_KEY=hop-bench-admin-key-0123456789abcdef0123

[ -f sfu-server/target/sfu-server.jar ] && [ -f sfu-load/target/sfu-load.jar ] || mvn -B -q -DskipTests package
mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/*.log

# Free ports for the nodes: http, media, cluster each (C and M only for the multi-hop case).
read -r A_HTTP A_MEDIA A_CLUSTER B_HTTP B_MEDIA B_CLUSTER C_HTTP C_MEDIA C_CLUSTER M_HTTP M_MEDIA M_CLUSTER < <(python3 - <<'PY'
import socket
socks = []
for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_STREAM) * 4:
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
)

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ "$SMOKE" = 1 ]; then rm -rf "$OUT"; fi
}
trap cleanup EXIT INT TERM

node() { # id http media cluster peers (id@host:port,...)
  SFU_NODE_ID=$1 SFU_REGION=$1 SFU_CLUSTER_SECRET=$SECRET SFU_CLUSTER_PORT=$4 SFU_CLUSTER_PEERS="$5" \
    SFU_ADMIN_KEY=$ADMIN_KEY SFU_HTTP_PORT=$2 SFU_MEDIA_PORT=$3 SFU_MEDIA_WORKERS=1 \
    timeout 1200 java -Xmx512m -jar sfu-server/target/sfu-server.jar >"$OUT/node-$1.log" 2>&1 &
  pids+=($!)
}
healthy() { # http-port...
  for n in "$@"; do
    for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$n/health" >/dev/null 2>&1 && break; sleep 0.5; done
    curl -fs "http://127.0.0.1:$n/health" >/dev/null || { echo "hop-bench: node on :$n not healthy" >&2; tail -20 "$OUT"/node-*.log >&2; exit 1; }
  done
}
A_PEERS="b@127.0.0.1:$B_CLUSTER"
[ "$SMOKE" = 1 ] || A_PEERS+=",m@127.0.0.1:$M_CLUSTER" # the multi-hop line's middle node, started below
node a "$A_HTTP" "$A_MEDIA" "$A_CLUSTER" "$A_PEERS"
node b "$B_HTTP" "$B_MEDIA" "$B_CLUSTER" "a@127.0.0.1:$A_CLUSTER"
healthy "$A_HTTP" "$B_HTTP"
for _ in $(seq 1 60); do grep -q "peer b .* up" "$OUT/node-a.log" && break; sleep 0.5; done
grep -q "peer b .* up" "$OUT/node-a.log" || { echo "hop-bench: the nodes did not connect" >&2; tail -20 "$OUT"/node-*.log >&2; exit 1; }

A_URL=http://127.0.0.1:$A_HTTP
B_URL=http://127.0.0.1:$B_HTTP
C_URL=http://127.0.0.1:$C_HTTP
M_URL=http://127.0.0.1:$M_HTTP
load() { # json duration url-options...
  local json=$1 duration=$2
  shift 2
  timeout 300 java -jar sfu-load/target/sfu-load.jar "$@" --shape webinar --participants $((SUBS + 1)) \
    --duration "$duration" --ramp 20/s --warmup 3s --video-kbps "$VIDEO_KBPS" --connect-timeout 30s \
    --report-interval 5s --json "$json"
}
summary_lines() { grep -E "^(participants|streams|latency|node |link)" || true; }

one_node() { load "$1" "$2" --url "$A_URL"; }
relayed() { # json duration check-json
  load "$1" "$2" --url "$B_URL" --url-for "0=$A_URL" &
  local load_pid=$!
  local rc=0
  python3 scripts/hop_check.py sample "$A_URL" "$B_URL" "$ADMIN_KEY" "$3" "$SUBS" || rc=$?
  wait "$load_pid" || rc=$?
  return $rc
}

two_hops() { # json duration check-json: the publisher on A, the receivers on C, through M
  load "$1" "$2" --url "$C_URL" --url-for "0=$A_URL" &
  local load_pid=$!
  local rc=0
  python3 scripts/hop_check.py sample2 "$A_URL" "$M_URL" "$C_URL" "$ADMIN_KEY" "$3" "$SUBS" || rc=$?
  wait "$load_pid" || rc=$?
  return $rc
}

if [ "$SMOKE" = 1 ]; then
  relayed "$OUT/b-1.json" "$DUR" "$OUT/check-b-1.json" | summary_lines
  python3 scripts/hop_check.py verify "$OUT" "$SUBS"
  exit 0
fi

# The multi-hop line: C and M join the cluster; A knows M (and B), C knows only M, M knows A and C.
node m "$M_HTTP" "$M_MEDIA" "$M_CLUSTER" "a@127.0.0.1:$A_CLUSTER,c@127.0.0.1:$C_CLUSTER"
node c "$C_HTTP" "$C_MEDIA" "$C_CLUSTER" "m@127.0.0.1:$M_CLUSTER"
healthy "$M_HTTP" "$C_HTTP"
for _ in $(seq 1 60); do grep -q "peer m .* up" "$OUT/node-a.log" && grep -q "peer m .* up" "$OUT/node-c.log" && break; sleep 0.5; done
grep -q "peer m .* up" "$OUT/node-c.log" || { echo "hop-bench: C did not connect to M" >&2; tail -20 "$OUT"/node-*.log >&2; exit 1; }

echo "== warm-up (not counted)"
{ one_node "$OUT/warmup-a.json" 8s || true; } | summary_lines
{ relayed "$OUT/warmup-b.json" 8s "$OUT/warmup-check.json" || true; } | summary_lines
rm -f "$OUT"/warmup-*.json
for i in $(seq 1 "$RUNS"); do
  echo "== run $i: (a) $SUBS receivers on the publisher's node (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  { one_node "$OUT/a-$i.json" "$DUR" || true; } | summary_lines
  echo "== run $i: (b) $SUBS receivers on the far node, one relay link (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  relayed "$OUT/b-$i.json" "$DUR" "$OUT/check-b-$i.json" | summary_lines
  echo "== run $i: (c) $SUBS receivers two relay links away, through M (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  two_hops "$OUT/c-$i.json" "$DUR" "$OUT/check-c-$i.json" | summary_lines
done
python3 scripts/hop_check.py verify "$OUT" "$SUBS"
python3 scripts/hop_check.py table "$OUT"
