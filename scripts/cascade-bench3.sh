#!/usr/bin/env bash
# The cascade's claim in three regions, and over two hops: users in Virginia (participant 0), California (1) and
# Frankfurt (2) in one call, all on this machine over impairment relays (sfu-load's ImpairmentRelay), on
#   (a) one node in Virginia (us-east): the Californian's and the Frankfurter's media cross their last mile and the
#       public long haul to it;
#   (b) a three-node cluster, each user on its nearest node; the nodes' relay links cross an emulated backbone with
#       each pair's own delay (one relay per node pair: SFU_CLUSTER_LINK_ADVERTISE_FOR);
#   (c) as (b), with the direct California-Frankfurt relay link blocked (the relay drops everything): media between
#       them goes through Virginia, two hops, once per link (the control channel stays up, so each node counts the
#       other's media unreachable and takes it through the node that reaches both).
# Paths (one way; AWS inter-region p50 round trips us-east-1/us-west-1 62 ms, us-east-1/eu-central-1 ~90 ms,
# us-west-1/eu-central-1 ~147 ms):
#   last mile       15 ms, jitter 3 ms, loss 2 %        every user, every case
#   (a) long haul   last mile + backbone delay: California 15 + 31 ms, Frankfurt 15 + 45 ms, jitter 3 ms, loss 2 %
#   backbone        us-east/us-west 31 ms, us-east/eu-central 45 ms, us-west/eu-central 73 ms, no loss
# Subscribers NACK audio and video and publishers resend (--nack); a packet counts as delivered only within 150 ms
# of being sent. scripts/cascade_table.py prints the medians, and PAIR=1,2 the California-Frankfurt pair alone.
#
# Usage: bash scripts/cascade-bench3.sh            (RUNS=3 DUR=20s OUT=benchmarks/results/cascade3)
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
DUR=${DUR:-20s}
OUT=${OUT:-benchmarks/results/cascade3}
LAST_MILE=${LAST_MILE:-delay=15ms,jitter=3ms,loss=2%}
UE_UW=${UE_UW:-31}
UE_EU=${UE_EU:-45}
UW_EU=${UW_EU:-73}
SECRET=cascade-bench-secret-0123456789abcdef
ADMIN_KEY=cascade-bench-admin-key-0123456789abcdef
# id:http:media:cluster
UE=(ue 17981 18010 17991)
UW=(uw 17982 18020 17992)
EU=(eu 17983 18030 17993)
# link relays, each in front of the accepting node's media port (the lower id dials: eu dials ue and uw, ue dials uw)
R_EU_UE=18019   # eu -> ue
R_EU_UW=18028   # eu -> uw
R_UE_UW=18029   # ue -> uw

source scripts/bench-lib.sh
bench_prepare

node() { # id http media cluster peers advertise-for
  SFU_NODE_ID=$1 SFU_REGION=$1 SFU_CLUSTER_SECRET=$SECRET SFU_ADMIN_KEY=$ADMIN_KEY SFU_CLUSTER_PORT=$4 SFU_CLUSTER_PEERS="$5" \
    SFU_CLUSTER_LINK_ADVERTISE_FOR="$6" SFU_HTTP_PORT=$2 SFU_MEDIA_PORT=$3 SFU_MEDIA_WORKERS=1 run_node "$1"
}

relay "$R_EU_UE" "${UE[2]}" "delay=${UE_EU}ms"
relay "$R_EU_UW" "${UW[2]}" "delay=${UW_EU}ms"
eu_uw_relay=$relay_pid
relay "$R_UE_UW" "${UW[2]}" "delay=${UE_UW}ms"
node "${UE[@]}" "uw@127.0.0.1:${UW[3]},eu@127.0.0.1:${EU[3]}" "eu=127.0.0.1:$R_EU_UE"
node "${UW[@]}" "ue@127.0.0.1:${UE[3]},eu@127.0.0.1:${EU[3]}" "eu=127.0.0.1:$R_EU_UW,ue=127.0.0.1:$R_UE_UW"
node "${EU[@]}" "ue@127.0.0.1:${UE[3]},uw@127.0.0.1:${UW[3]}" ""
wait_healthy "${UE[1]}" "${UW[1]}" "${EU[1]}"
for _ in $(seq 1 60); do
  [ "$(grep -c "peer .* up" "$OUT/node-ue.log")" -ge 2 ] && [ "$(grep -c "peer .* up" "$OUT/node-uw.log")" -ge 2 ] && break
  sleep 0.5
done

UE_URL=http://127.0.0.1:${UE[1]}
UW_URL=http://127.0.0.1:${UW[1]}
EU_URL=http://127.0.0.1:${EU[1]}
long_haul() { echo "delay=$((15 + $1))ms,jitter=3ms,loss=2%"; }
one_node() { # json duration
  timeout 240 java -jar sfu-load/target/sfu-load.jar --url "$UE_URL" --participants 3 --duration "$2" --nack \
    --warmup 5s --connect-timeout 30s --impair-for "0=$LAST_MILE" --impair-for "1=$(long_haul "$UE_UW")" \
    --impair-for "2=$(long_haul "$UE_EU")" --report-interval 5s --json "$1"
}
cascade() { # json duration warmup
  timeout 240 java -jar sfu-load/target/sfu-load.jar --url "$UE_URL" --url "$UW_URL" --url "$EU_URL" --participants 3 \
    --duration "$2" --nack --warmup "$3" --connect-timeout 30s --impair-for "0=$LAST_MILE" --impair-for "1=$LAST_MILE" \
    --impair-for "2=$LAST_MILE" --report-interval 5s --json "$1"
}
summary_lines() { grep -E "^(participants|streams|nack|audio|video):" || true; }
load_avg() { cut -d' ' -f1-3 /proc/loadavg; }
links() { # node-http: its relay links (peer:direction:tracks) and detours (origin->via), from /admin/links
  curl -fs "http://127.0.0.1:$1/admin/links" -H "Authorization: Bearer $ADMIN_KEY" | python3 -c "$LINKS_PY"
}
LINKS_PY=$(cat <<'PY'
import json, sys
d = json.load(sys.stdin)
links = " ".join(f"{l['peer']}:{l['direction']}:{l['tracks']}" for l in d["links"])
detours = " ".join(f"{x['origin']}->{x['via']}" for x in d["detours"]) or "none"
print(f"{links} | detours: {detours}")
PY
)

echo "== warm-up (not counted)"
{ one_node "$OUT/warmup-a.json" 8s || true; } | summary_lines
{ cascade "$OUT/warmup-b.json" 8s 5s || true; } | summary_lines
rm -f "$OUT"/warmup-*.json
for i in $(seq 1 "$RUNS"); do
  echo "== run $i: (a) every user on the Virginia node (load average $(load_avg))"
  { one_node "$OUT/a-$i.json" "$DUR" || true; } | summary_lines
  echo "== run $i: (b) each user on its nearest node, relay links over the backbone (load average $(load_avg))"
  { cascade "$OUT/b-$i.json" "$DUR" 5s || true; } | summary_lines
done

echo "== the California-Frankfurt relay link blocked: its relay drops everything from now on"
kill "$eu_uw_relay" 2>/dev/null || true
wait "$eu_uw_relay" 2>/dev/null || true
relay "$R_EU_UW" "${UW[2]}" "loss=100%"
# The pair's wire loses consent (8 s) and cannot be set up again (8 s): each node then counts the other's media
# unreachable, and a room takes it through ue from its first join.
sleep 20
for i in $(seq 1 "$RUNS"); do
  echo "== run $i: (c) as (b), California and Frankfurt through Virginia (load average $(load_avg))"
  # Mid-run, what each node's relay links carry: uw and eu receive each other only through ue.
  (sleep 30; for n in "${UE[1]}" "${UW[1]}" "${EU[1]}"; do echo "links of :$n: $(links "$n" || echo unread)"; done \
    >"$OUT/c-$i-links.txt") &
  lp=$!
  { cascade "$OUT/c-$i.json" "$DUR" 12s || true; } | summary_lines
  wait "$lp" || true
  cat "$OUT/c-$i-links.txt" 2>/dev/null || true
done
grep -h "^relay" "$OUT"/relay-*.log 2>/dev/null || true
grep -h "now come\|works again\|not up after" "$OUT"/node-*.log | tail -8 || true
CASES='{"a": "(a) one node in Virginia", "b": "(b) cascade: nearest node each", "c": "(c) cascade, California-Frankfurt through Virginia"}' \
  PAIR=1,2 STALL_P90_MS=140 python3 scripts/cascade_table.py "$OUT"
