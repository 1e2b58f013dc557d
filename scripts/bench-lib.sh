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
