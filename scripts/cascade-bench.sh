#!/usr/bin/env bash
# The cascade's claim, measured: a call between California and New York, (a) both users on one node in
# New York, (b) each user on its nearest node of a two-node cluster, the relay link between the nodes over an
# emulated backbone. Everything on loopback; the paths are impairment relays (sfu-load's ImpairmentRelay):
#   last mile        delay 15 ms, jitter 3 ms, loss 2 %, each way (both users, both cases)
#   (a) long haul    the Californian's path to the New York node: 15 + 31 = 46 ms, jitter 3 ms, loss 2 %
#   (b) backbone     the relay link between the nodes: 31 ms each way (RTT 62 ms, AWS us-east-1 <-> us-west-1), no loss
# Subscribers NACK audio and video and publishers resend (--nack); a packet counts as delivered only within 150 ms of
# being sent. Each run writes JSON to $OUT; scripts/cascade_table.py prints the medians (CASCADE.md quotes them).
#
# Usage: bash scripts/cascade-bench.sh            (RUNS=3 DUR=20s OUT=benchmarks/results/cascade)
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
DUR=${DUR:-20s}
OUT=${OUT:-benchmarks/results/cascade}
LAST_MILE=${LAST_MILE:-delay=15ms,jitter=3ms,loss=2%}
LONG_HAUL=${LONG_HAUL:-delay=46ms,jitter=3ms,loss=2%}
BACKBONE=${BACKBONE:-delay=31ms}
SECRET=cascade-bench-secret-0123456789abcdef
# id:http:media:cluster:link-relay   (the link relay listens in front of the node's media port)
NY=(ny 17881 17910 17891 17919)
CA=(ca 17882 17920 17892 17929)

source scripts/bench-lib.sh
bench_prepare

node() { # id http media cluster link-relay peer-id peer-cluster
  SFU_NODE_ID=$1 SFU_REGION=$1 SFU_CLUSTER_SECRET=$SECRET SFU_CLUSTER_PORT=$4 SFU_CLUSTER_PEERS="$6@127.0.0.1:$7" \
    SFU_CLUSTER_LINK_ADVERTISE="127.0.0.1:$5" SFU_HTTP_PORT=$2 SFU_MEDIA_PORT=$3 SFU_MEDIA_WORKERS=1 run_node "$1"
}

relay "${NY[4]}" "${NY[2]}" "$BACKBONE"
relay "${CA[4]}" "${CA[2]}" "$BACKBONE"
node "${NY[@]}" "${CA[0]}" "${CA[3]}"
node "${CA[@]}" "${NY[0]}" "${NY[3]}"
wait_healthy "${NY[1]}" "${CA[1]}"
for _ in $(seq 1 60); do grep -q "peer ca .* up" "$OUT/node-ny.log" && break; sleep 0.5; done
grep -q "peer ca .* up" "$OUT/node-ny.log" || { echo "the nodes did not connect" >&2; exit 1; }

NY_URL=http://127.0.0.1:${NY[1]}
CA_URL=http://127.0.0.1:${CA[1]}
# participant 0 is the Californian, participant 1 the New Yorker
one_node() { # json duration
  timeout 180 java -jar sfu-load/target/sfu-load.jar --url "$NY_URL" --participants 2 --duration "$2" --nack --warmup 5s --connect-timeout 30s \
    --impair-for "0=$LONG_HAUL" --impair-for "1=$LAST_MILE" --report-interval 5s --json "$1"
}
cascade() { # json duration
  timeout 180 java -jar sfu-load/target/sfu-load.jar --url "$CA_URL" --url "$NY_URL" --participants 2 \
    --duration "$2" --nack --warmup 5s --connect-timeout 30s --impair-for "0=$LAST_MILE" --impair-for "1=$LAST_MILE" --report-interval 5s --json "$1"
}
summary_lines() { grep -E "^(participants|streams|nack|audio|video):" || true; }
# A run where someone failed to connect exits 1: keep going, cascade_table.py leaves it out and says so.
load_avg() { cut -d' ' -f1-3 /proc/loadavg; }

echo "== warm-up (not counted)"
{ one_node "$OUT/warmup-a.json" 8s || true; } | summary_lines
{ cascade "$OUT/warmup-b.json" 8s || true; } | summary_lines
rm -f "$OUT"/warmup-*.json
for i in $(seq 1 "$RUNS"); do
  echo "== run $i: (a) both users on the New York node (load average $(load_avg))"
  { one_node "$OUT/a-$i.json" "$DUR" || true; } | summary_lines
  echo "== run $i: (b) each user on its nearest node, relay link over the backbone (load average $(load_avg))"
  { cascade "$OUT/b-$i.json" "$DUR" || true; } | summary_lines
done
grep -h "^relay" "$OUT"/relay-*.log 2>/dev/null || true
python3 scripts/cascade_table.py "$OUT"
