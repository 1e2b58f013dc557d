#!/usr/bin/env bash
# A short smoke run of the load tool against the packaged node, so both keep working:
# starts sfu-server.jar on free ports, runs a 4-participant meeting for a few seconds, and fails
# unless every participant connected and loss stayed under 2 %.
set -euo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp -t sfu-smoke-node.XXXXXX.log)
summary=$(mktemp -t sfu-smoke-summary.XXXXXX.json)
SFU_HTTP_PORT=0 SFU_MEDIA_PORT=0 java -jar sfu-server/target/sfu-server.jar >"$log" 2>&1 &
node_pid=$!
trap 'kill $node_pid 2>/dev/null || true; wait $node_pid 2>/dev/null || true; rm -f "$summary"' EXIT

port=""
for _ in $(seq 1 100); do
  port=$(sed -n 's#.*http listening on /127.0.0.1:\([0-9]*\).*#\1#p' "$log" | head -1)
  [ -n "$port" ] && break
  kill -0 $node_pid 2>/dev/null || { cat "$log"; echo "load-smoke: node exited"; exit 1; }
  sleep 0.2
done
[ -n "$port" ] || { cat "$log"; echo "load-smoke: node did not start"; exit 1; }

java -jar sfu-load/target/sfu-load.jar --url "http://127.0.0.1:$port" --shape meeting --participants 4 \
  --duration 4s --ramp 20/s --video-kbps 300 --report-interval 2s --json "$summary"

python3 - "$summary" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
text = json.dumps(s)
def find(d, key):
    if isinstance(d, dict):
        for k, v in d.items():
            if k == key:
                return v
            r = find(v, key)
            if r is not None:
                return r
    return None
loss = find(s, "lossPercent")
failed = find(s, "failed")
print(f"load-smoke: loss {loss} %, failed {failed}")
if loss is None or failed is None or loss >= 2.0 or failed != 0:
    sys.exit("load-smoke: FAILED")
PY
