#!/usr/bin/env bash
# Capacity sweep (run by hand; minutes, not seconds): starts the packaged node, drives it with the load
# tool through growing room shapes, measures heap per participant, and writes one JSON summary per
# run into benchmarks/results/ plus PNG plots (scripts/plot_capacity.py). BENCHMARKS.md quotes them.
#
#   mvn -B -q -DskipTests package && bash scripts/capacity.sh [quick]
set -euo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/results
mkdir -p "$out"
quick=${1:-}
dur=20s; [ "$quick" = quick ] && dur=6s

. scripts/bench-lib.sh
start_node
trap stop_node EXIT

load warmup --shape meeting --participants 6 --video-kbps 1500 >/dev/null

for n in 4 8 12 16 20 24; do load "meeting-$n" --shape meeting --participants "$n" --video-kbps 1500; done
for n in 50 100 200 300; do load "webinar-$n" --shape webinar --participants "$n" --video-kbps 2500; done
for n in 20 40 50 60 70 80; do load "audio-$n" --shape audio --participants "$n"; done

# Heap per connected participant: live heap after a full GC, idle node vs. an audio room of 50 (each
# participant then has 2 transports and 49 consumers: the N x N case, within the node's capacity).
heap_used() { jcmd "$node_pid" GC.run >/dev/null; sleep 1; jcmd "$node_pid" GC.heap_info | sed -n 's/.*used \([0-9]*\)K.*/\1/p' | head -1; }
base=$(heap_used)
java -jar sfu-load/target/sfu-load.jar --url "$url" --shape audio --participants 50 --duration 25s --ramp 50/s \
  --report-interval 25s >/dev/null 2>&1 &
load_pid=$!
sleep 14
loaded=$(heap_used)
wait $load_pid || true
python3 - "$base" "$loaded" "$out/memory.json" <<'PY'
import json, sys
base, loaded = int(sys.argv[1]), int(sys.argv[2])
per = (loaded - base) / 50
json.dump({"participants": 50, "heapIdleKiB": base, "heapLoadedKiB": loaded, "heapPerParticipantKiB": per},
          open(sys.argv[3], "w"), indent=1)
print(f"heap after full GC: idle {base} KiB, 50 audio participants {loaded} KiB -> {per:.0f} KiB per participant")
PY

/usr/bin/python3 scripts/plot_capacity.py "$out" benchmarks
