#!/usr/bin/env bash
# Same load on one media worker and on two (each room spread over both, so every stream crosses a pipe):
# packets out per node core-second and node-added latency, for the scaling figures in BENCHMARKS.md.
#   bash scripts/workers-bench.sh [quick]      (after mvn -B -q -DskipTests package)
# Writes benchmarks/results/workers-<W>-<shape>-<N>.json and prints one line per run.
set -euo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/results
mkdir -p "$out"
dur=20s; [ "${1:-}" = quick ] && dur=6s

run_node() { # workers spread
  log=$(mktemp -t sfu-workers-node.XXXXXX.log)
  SFU_HTTP_PORT=0 SFU_MEDIA_PORT=0 SFU_MAX_PARTICIPANTS=1000 SFU_MEDIA_WORKERS=$1 SFU_PLACEMENT_SPREAD=$2 \
    java -Xmx1g -jar sfu-server/target/sfu-server.jar >"$log" 2>&1 &
  node_pid=$!
  port=""
  for _ in $(seq 1 150); do
    port=$(sed -n 's#.*http listening on /127.0.0.1:\([0-9]*\).*#\1#p' "$log" | head -1)
    [ -n "$port" ] && break
    sleep 0.2
  done
  [ -n "$port" ] || { cat "$log"; exit 1; }
  url="http://127.0.0.1:$port"
}

stop_node() {
  kill "$node_pid" 2>/dev/null || true
  wait "$node_pid" 2>/dev/null || true
}
trap stop_node EXIT

load() { # name, then load tool options
  local name=$1; shift
  echo "== $name"
  java -jar sfu-load/target/sfu-load.jar --url "$url" --duration "$dur" --ramp 40/s --report-interval 10s \
    --json "$out/$name.json" "$@" | grep -E "^(loss|latency|node|streams|participants)" || true
}

for w in 1 2; do
  spread=false; [ "$w" -gt 1 ] && spread=true
  run_node "$w" "$spread"
  load "workers-$w-warmup" --shape meeting --participants 6 --video-kbps 1500 >/dev/null
  load "workers-$w-meeting-16" --shape meeting --participants 16 --video-kbps 1500
  load "workers-$w-webinar-300" --shape webinar --participants 300 --video-kbps 2500
  load "workers-$w-audio-50" --shape audio --participants 50
  stop_node
done
