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

. scripts/bench-lib.sh
trap stop_node EXIT

for w in 1 2; do
  spread=false; [ "$w" -gt 1 ] && spread=true
  start_node SFU_MEDIA_WORKERS="$w" SFU_PLACEMENT_SPREAD="$spread"
  load "workers-$w-warmup" --shape meeting --participants 6 --video-kbps 1500 >/dev/null
  load "workers-$w-meeting-16" --shape meeting --participants 16 --video-kbps 1500
  load "workers-$w-webinar-300" --shape webinar --participants 300 --video-kbps 2500
  load "workers-$w-audio-50" --shape audio --participants 50
  stop_node
done
