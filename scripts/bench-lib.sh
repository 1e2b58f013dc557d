# Helpers shared by the cascade benchmark scripts (source it after setting OUT): the jars, the processes started
# and their cleanup, impairment relays, and waiting for nodes to be healthy. Every process is bounded by a timeout.
BENCH_TIMEOUT=${BENCH_TIMEOUT:-1800}

[ -f sfu-server/target/sfu-server.jar ] && [ -f sfu-load/target/sfu-load.jar ] || mvn -B -q -DskipTests package
mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/*.log

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

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
