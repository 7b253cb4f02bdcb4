#!/usr/bin/env bash
# `make run`: the server on the built-in demo calendar plus three simulated
# door panels, each shown live in a browser page. Ctrl-C stops everything.
#
# Settings (environment): LISTEN, the server's address (127.0.0.1:8080);
# PANEL_PORT, the first panel page's port (9001; the others follow);
# RUN_DIR, where the demo keeps its data (var/demo); ROOMS, the rooms that
# get a panel; SERVE_FLAGS, more flags for lintel-server serve.
set -euo pipefail

BIN=${BIN:-bin}
RUN_DIR=${RUN_DIR:-var/demo}
LISTEN=${LISTEN:-127.0.0.1:8080}
PANEL_PORT=${PANEL_PORT:-9001}
ROOMS=${ROOMS:-matterhorn eiger saentis}
SERVE_FLAGS=${SERVE_FLAGS:-}
# How long the server may take to start (a busy machine is slow).
START_TIMEOUT=${START_TIMEOUT:-120}

die() { echo "run: $*" >&2; exit 1; }

case $PANEL_PORT in '' | *[!0-9]*) die "PANEL_PORT=$PANEL_PORT is not a port number" ;; esac
[[ $LISTEN == *:* ]] || die "LISTEN=$LISTEN is not HOST:PORT, e.g. 127.0.0.1:8080"
host=${LISTEN%:*} port=${LISTEN##*:}
# Where the panels and this script reach the server.
case $host in '' | 0.0.0.0 | '[::]') host=127.0.0.1 ;; esac
server="$host:$port"

mkdir -p "$RUN_DIR"
# Stop what this script started (and only that) however it ends. A
# process signalled between fork and exec can miss the signal, so it is
# asked again, and after 8 s killed.
# shellcheck disable=SC2317 # called by the EXIT trap
stop() {
  trap - EXIT INT TERM
  local pids alive p i
  pids=$(jobs -p)
  for i in $(seq 100); do
    alive=()
    for p in $pids; do
      if kill -0 "$p" 2>/dev/null; then alive+=("$p"); fi
    done
    [ ${#alive[@]} -gt 0 ] || break
    case $i in
      1 | 20 | 40) kill "${alive[@]}" 2>/dev/null || true ;;
      80) kill -KILL "${alive[@]}" 2>/dev/null || true ;;
    esac
    sleep 0.1
  done
  wait 2>/dev/null || true
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The server's own lines (the admin URL, the password) are also kept in
# server.out, to repeat them under the panels' URLs at the end.
# shellcheck disable=SC2086 # SERVE_FLAGS is a list of flags
"$BIN/lintel-server" serve --demo $SERVE_FLAGS --data "$RUN_DIR/server" --listen "$LISTEN" > >(tee "$RUN_DIR/server.out") &
server_pid=$!

# ready: does the server answer GET /readyz with 200? (bash's /dev/tcp:
# no curl needed). serve writes the demo's files before it opens its port,
# and answers HTTP only once it is serving, so after this the API token is
# there to read.
ready() (
  exec 3<>"/dev/tcp/$host/$port" || exit 1
  printf 'GET /readyz HTTP/1.0\r\nHost: %s\r\n\r\n' "$server" >&3
  read -r -t 5 _ status _ <&3 || exit 1
  [ "$status" = 200 ]
)

waited=0
until ready 2>/dev/null; do
  kill -0 "$server_pid" 2>/dev/null || die "lintel-server stopped (its error is above); is $LISTEN in use? try: make run LISTEN=127.0.0.1:8090"
  [ "$waited" -lt $((START_TIMEOUT * 10)) ] || die "lintel-server did not become ready at http://$server/readyz within ${START_TIMEOUT}s"
  [ "$waited" -eq 50 ] && echo "run: waiting for the server to be ready..."
  sleep 0.1
  waited=$((waited + 1))
done
token_file="$RUN_DIR/server/api-token"
[ -s "$token_file" ] || die "the server is ready but wrote no API token at $token_file"

export LINTEL_SERVER="http://$server" LINTEL_API_TOKEN_FILE="$token_file"
i=0
panels=()
for room in $ROOMS; do
  i=$((i + 1))
  dir="$RUN_DIR/panel-$i"
  if [ ! -s "$dir/credential" ]; then
    "$BIN/lintel-server" devices add --room "$room" --name "$room door" --credential-file "$dir/credential" >/dev/null
  fi
  web="127.0.0.1:$((PANEL_PORT + i - 1))"
  "$BIN/lintel-panel" --server "ws://$server/ws" --credential "$dir/credential" --cache "$dir/cache.json" \
    --screen "web:$web" --png "$dir/frame.png" --log-level warn &
  panels+=("$!:$web:$room:$dir")
done

# Wait for each panel's page to answer, so every URL printed below works.
for p in "${panels[@]}"; do
  IFS=: read -r pid web_host web_port _ <<<"$p"
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/$web_host/$web_port") 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || die "a panel stopped (its error is above); is port $web_port in use? try: make run PANEL_PORT=9101"
    sleep 0.1
  done
done

echo
echo "Lintel demo is running."
echo "  admin UI: http://$server/"
sed -n 's/^demo: /  /p' "$RUN_DIR/server.out"
for p in "${panels[@]}"; do
  IFS=: read -r _ web_host web_port room dir <<<"$p"
  echo "  panel $room: http://$web_host:$web_port/  (frames also in $dir/frame.png)"
done
echo "Ctrl-C stops the server and the panels."
# Run until Ctrl-C, or until one of them stops: then stop the others.
# Ctrl-C reaches the server and the panels too; they shut down cleanly
# and exit 0, which bash takes as the signal handled (no INT trap then).
status=0
wait -n || status=$?
case $status in
  0 | 130 | 143) exit 0 ;;
  *) die "the server or a panel stopped (exit status $status, see above); stopping the others" ;;
esac
