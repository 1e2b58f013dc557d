# Shared by the benchmark scripts (source it from the project's root).
#   start_node [ENV=VALUE ...]   starts sfu-server.jar on free ports with those settings; sets node_pid and url
#   stop_node                    stops it
#   load NAME [load tool options]  one load-tool run against $url for $dur, JSON to $out/NAME.json

start_node() {
  local log
  log=$(mktemp -t sfu-bench-node.XXXXXX.log)
  # Every simulated participant connects from 127.0.0.1: lift the per-address connection cap.
  env SFU_HTTP_PORT=0 SFU_MEDIA_PORT=0 SFU_MAX_PARTICIPANTS=1000 SFU_MAX_CONNECTIONS_PER_ADDRESS=10000 "$@" \
    java -Xmx1g -jar sfu-server/target/sfu-server.jar >"$log" 2>&1 &
  node_pid=$!
  local port=""
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

load() {
  local name=$1; shift
  echo "== $name"
  java -jar sfu-load/target/sfu-load.jar --url "$url" --duration "$dur" --ramp 40/s --report-interval 10s \
    --json "$out/$name.json" "$@" | grep -E "^(loss|latency|node|streams|participants)" || true
}

# For the cluster benchmarks (cascade-bench*.sh; set OUT first, then call bench_prepare):
#   relay LISTEN TARGET SPEC     an impairment relay on loopback; sets relay_pid
#   run_node ID                  the node jar with the caller's SFU_* environment, log in $OUT/node-ID.log
#   wait_healthy HTTP_PORT...    each node answers /health within 60 s, or the script fails with the logs
BENCH_TIMEOUT=${BENCH_TIMEOUT:-1800}
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}


# bench_prepare: the jars (built if missing), an empty $OUT, and every process the helpers below start stopped on exit.
bench_prepare() {
  [ -f sfu-server/target/sfu-server.jar ] && [ -f sfu-load/target/sfu-load.jar ] || mvn -B -q -DskipTests package
  mkdir -p "$OUT"
  rm -f "$OUT"/*.json "$OUT"/*.log
  trap cleanup EXIT INT TERM
}

# relay LISTEN_PORT TARGET_PORT SPEC: an impairment relay on loopback (sfu-load's ImpairmentRelay); sets relay_pid.
relay() {
  timeout "$BENCH_TIMEOUT" java -Xmx128m -cp sfu-load/target/sfu-load.jar io.cascadesfu.load.ImpairmentRelayTool \
    --listen "127.0.0.1:$1" --target "127.0.0.1:$2" --impair "$3" >>"$OUT/relay-$1.log" 2>&1 &
  relay_pid=$!
  pids+=("$relay_pid")
}

# run_node ID: the node jar with the SFU_* settings in the caller's environment, logging to $OUT/node-ID.log.
run_node() {
  timeout "$BENCH_TIMEOUT" java -Xmx512m -jar sfu-server/target/sfu-server.jar >"$OUT/node-$1.log" 2>&1 &
  pids+=($!)
}

# wait_healthy HTTP_PORT...: each node answers /health within 60 s, or the script fails with the nodes' logs.
wait_healthy() {
  local n
  for n in "$@"; do
    for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$n/health" >/dev/null 2>&1 && break; sleep 0.5; done
    curl -fs "http://127.0.0.1:$n/health" >/dev/null || { echo "node on :$n not healthy" >&2; tail -20 "$OUT"/node-*.log >&2; exit 1; }
  done
}
