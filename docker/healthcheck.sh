#!/usr/bin/env bash
# The image's HEALTHCHECK: GET /health on the node's HTTP port, healthy on 200. Plain bash (/dev/tcp):
# the runtime image needs no curl or wget. The port and address come from the same variables the node
# reads (SFU_HTTP_PORT, SFU_HTTP_BIND); a node configured only by a mounted file on another port needs
# SFU_HEALTH_PORT.
set -u
port=${SFU_HEALTH_PORT:-${SFU_HTTP_PORT:-7880}}
host=${SFU_HTTP_BIND:-127.0.0.1}
case "$host" in 0.0.0.0 | "::" | "[::]" | "") host=127.0.0.1 ;; esac
{ exec 3<>"/dev/tcp/$host/$port"; } 2>/dev/null || { echo "no answer on $host:$port"; exit 1; }
printf 'GET /health HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$host" >&3
IFS= read -r -t 2 status <&3 || { echo "no status line from $host:$port"; exit 1; }
case "$status" in
  "HTTP/1."?" 200"*) exit 0 ;;
  *) echo "/health: ${status%$'\r'}"; exit 1 ;;
esac
