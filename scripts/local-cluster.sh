#!/usr/bin/env bash
# Three cascaded nodes on this machine, as three regions would run them:
#   us-east     http://127.0.0.1:7881  media udp 10010  cluster 7891
#   us-west     http://127.0.0.1:7882  media udp 10020  cluster 7892
#   eu-central  http://127.0.0.1:7883  media udp 10030  cluster 7893
# Usage: bash scripts/local-cluster.sh up | down | status
# Open http://127.0.0.1:7881/?room=demo&name=alice, :7882/?room=demo&name=bob, :7883/?room=demo&name=carol.
# Builds the server jar if it is missing. Logs and pids in .local-cluster/.
set -euo pipefail
cd "$(dirname "$0")/.."

DIR=.local-cluster
NODES=(us-east:7881:10010:7891 us-west:7882:10020:7892 eu-central:7883:10030:7893)
SECRET=${SFU_CLUSTER_SECRET:-local-cluster-secret-change-me-0123456789}

peers_of() {
  local self=$1 list=()
  for n in "${NODES[@]}"; do
    IFS=: read -r id _ _ cport <<<"$n"
    [ "$id" = "$self" ] || list+=("$id@127.0.0.1:$cport")
  done
  (IFS=,; echo "${list[*]}")
}

up() {
  [ -f sfu-server/target/sfu-server.jar ] || mvn -B -q -DskipTests package
  mkdir -p "$DIR"
  for n in "${NODES[@]}"; do
    IFS=: read -r id http media cport <<<"$n"
    if [ -f "$DIR/$id.pid" ] && kill -0 "$(cat "$DIR/$id.pid")" 2>/dev/null; then
      echo "$id already running (pid $(cat "$DIR/$id.pid"))"
      continue
    fi
    SFU_NODE_ID=$id SFU_REGION=$id SFU_CLUSTER_SECRET=$SECRET SFU_CLUSTER_PORT=$cport \
      SFU_CLUSTER_PEERS=$(peers_of "$id") SFU_HTTP_PORT=$http SFU_MEDIA_PORT=$media \
      SFU_PUBLIC_URL=http://127.0.0.1:$http \
      SFU_MEDIA_WORKERS=${SFU_MEDIA_WORKERS:-1} \
      nohup java -jar sfu-server/target/sfu-server.jar >"$DIR/$id.log" 2>&1 &
    echo $! >"$DIR/$id.pid"
  done
  for n in "${NODES[@]}"; do
    IFS=: read -r id http _ _ <<<"$n"
    for _ in $(seq 1 120); do
      curl -fs "http://127.0.0.1:$http/health" >/dev/null 2>&1 && break
      kill -0 "$(cat "$DIR/$id.pid")" 2>/dev/null || { echo "$id exited; see $DIR/$id.log" >&2; tail -20 "$DIR/$id.log" >&2; exit 1; }
      sleep 0.5
    done
    curl -fs "http://127.0.0.1:$http/health" >/dev/null || { echo "$id did not become healthy; see $DIR/$id.log" >&2; exit 1; }
    echo "$id ready: http://127.0.0.1:$http/?room=demo&name=$id-user"
  done
}

down() {
  for n in "${NODES[@]}"; do
    IFS=: read -r id _ _ _ <<<"$n"
    if [ -f "$DIR/$id.pid" ]; then
      kill "$(cat "$DIR/$id.pid")" 2>/dev/null && echo "$id stopped" || true
      rm -f "$DIR/$id.pid"
    fi
  done
}

status() {
  for n in "${NODES[@]}"; do
    IFS=: read -r id http _ _ <<<"$n"
    if curl -fs "http://127.0.0.1:$http/health" >/dev/null 2>&1; then echo "$id up"; else echo "$id down"; fi
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
