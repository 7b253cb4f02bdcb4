#!/usr/bin/env bash
# `make run`: the server on the built-in demo calendar plus three simulated
# door panels, each shown live in a browser page. Ctrl-C stops everything.
set -euo pipefail

BIN=${BIN:-bin}
RUN_DIR=${RUN_DIR:-var/demo}
LISTEN=${LISTEN:-127.0.0.1:8080}
PANEL_PORT=${PANEL_PORT:-9001}
ROOMS=${ROOMS:-matterhorn eiger saentis}
SERVE_FLAGS=${SERVE_FLAGS:-}

mkdir -p "$RUN_DIR"
trap 'trap - EXIT INT TERM; kill 0 2>/dev/null; wait 2>/dev/null' EXIT INT TERM

# shellcheck disable=SC2086 # SERVE_FLAGS is a list of flags
"$BIN/lintel-server" serve --demo $SERVE_FLAGS --data "$RUN_DIR/server" --listen "$LISTEN" &

# Wait until the server answers (bash's /dev/tcp: no curl needed).
host=${LISTEN%:*} port=${LISTEN##*:}
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null && break
  sleep 0.1
done

export LINTEL_SERVER="http://$LISTEN" LINTEL_API_TOKEN_FILE="$RUN_DIR/server/api-token"
i=0
for room in $ROOMS; do
  i=$((i + 1))
  dir="$RUN_DIR/panel-$i"
  if [ ! -s "$dir/credential" ]; then
    "$BIN/lintel-server" devices add --room "$room" --name "$room door" --credential-file "$dir/credential" >/dev/null
  fi
  web="127.0.0.1:$((PANEL_PORT + i - 1))"
  "$BIN/lintel-panel" --server "ws://$LISTEN/ws" --credential "$dir/credential" --cache "$dir/cache.json" \
    --screen "web:$web" --png "$dir/frame.png" --log-level warn &
  echo "panel $i ($room): http://$web/  (frames also in $dir/frame.png)"
done
echo "Ctrl-C stops the server and the panels."
wait
