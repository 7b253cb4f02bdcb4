#!/usr/bin/env bash
# update.sh: replace the lintel-panel binary with a signed new one, and put
# the previous one back when the new one does not come back online.
#
#   update.sh apply NEW_BINARY SIGNATURE [--allow-downgrade]
#       verify SIGNATURE (ed25519, raw, over the whole file) with the public
#       key in /etc/lintel/update.pub, check that the binary runs here, keep
#       the current binary as lintel-panel.previous, mark the update pending
#       (/var/lib/lintel-update/pending), swap, restart the panel and wait
#       until it is back online; roll back when it is not.
#   update.sh apply-staged
#       apply /var/lib/lintel-panel/staged/lintel-panel{,.sig} (what
#       lintel-panel-update.path starts when the file "ready" appears there)
#   update.sh rollback      put lintel-panel.previous back now
#   update.sh on-failure    what lintel-panel-rollback.service runs
#   update.sh status
#
# "Back online" means: the panel service is active and, for a paired panel
# (the credential file exists), the server has sent a room state since the
# restart (the state cache was rewritten); for an unpaired panel, the
# service stayed up for STABLE_SECONDS.
#
# Sign a release (on a machine that holds the private key, never a panel):
#   openssl genpkey -algorithm ed25519 -out update.key
#   openssl pkey -in update.key -pubout -out update.pub    # to /etc/lintel/update.pub on panels
#   openssl pkeyutl -sign -inkey update.key -rawin -in lintel-panel-arm64 -out lintel-panel-arm64.sig
#
# Every path is a variable so that the tests run it in a temporary directory.
set -euo pipefail

BIN=${LINTEL_PANEL_BIN:-/usr/local/bin/lintel-panel}
STATE=${LINTEL_PANEL_STATE:-/var/lib/lintel-panel}
# update.sh's own state lives where only root writes: STATE belongs to the
# panel's user, and root must not write through links that user could plant.
OWN=${LINTEL_UPDATE_STATE:-/var/lib/lintel-update}
KEY=${LINTEL_UPDATE_KEY:-/etc/lintel/update.pub}
UNIT=${LINTEL_PANEL_UNIT:-lintel-panel.service}
SYSTEMCTL=${SYSTEMCTL:-systemctl}
CONFIRM_TIMEOUT=${CONFIRM_TIMEOUT:-300}
STABLE_SECONDS=${STABLE_SECONDS:-30}
RETRY_PAUSE=${RETRY_PAUSE:-30}
POLL=${POLL:-2}
CMDLINE=${LINTEL_PROC_CMDLINE:-/proc/cmdline}

PENDING=$OWN/pending
PREVIOUS=$BIN.previous
STAGED=$STATE/staged

log() { echo "update: $*" >&2; }
die() { log "$*"; exit 1; }

# lock serialises apply, rollback and on-failure (the rollback unit may
# fire while apply is still waiting for the panel).
lock() {
  install -d -m 0700 "$OWN"
  exec 9>"$OWN/lock"
  if command -v flock >/dev/null 2>&1; then
    flock -w 60 9 || die "another update is running"
  fi
}
unlock() { exec 9>&-; }

version_of() {
  local v
  v=$(timeout 10 "$1" --version 2>&1 | head -n 1) || return 1
  [ -n "$v" ] || return 1
  echo "$v"
}

# older A B: true when version A sorts before B ("dev" is never older).
older() {
  [ "$1" != "$2" ] && [ "$1" != dev ] && [ "$2" != dev ] &&
    [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" = "$1" ]
}

verify() {
  local file=$1 sig=$2
  [ -r "$KEY" ] || die "no public key at $KEY: cannot verify updates"
  openssl pkeyutl -verify -pubin -inkey "$KEY" -rawin -in "$file" -sigfile "$sig" >/dev/null 2>&1 ||
    die "the signature of $file does not verify with $KEY: not installed"
}

restart_panel() {
  $SYSTEMCTL reset-failed "$UNIT" 2>/dev/null || true
  $SYSTEMCTL restart "$UNIT"
}

mtime() { stat -c %Y "$1" 2>/dev/null || echo 0; }

# restarts: how often systemd restarted the panel since it was started.
restarts() { $SYSTEMCTL show -p NRestarts --value "$UNIT" 2>/dev/null || echo 0; }

# online SINCE: is the panel back online after the restart at SINCE,
# without having crashed since?
online() {
  local since=$1
  $SYSTEMCTL is-active --quiet "$UNIT" || return 1
  [ "$(restarts)" = 0 ] || return 1
  if [ -e "$STATE/credential" ]; then
    [ "$(mtime "$STATE/cache.json")" -gt "$since" ]
  else
    [ $(($(date +%s) - since)) -ge "$STABLE_SECONDS" ]
  fi
}

# swap_in SRC: atomically replace BIN with a copy of SRC.
swap_in() {
  cp "$1" "$BIN.new"
  chmod 0755 "$BIN.new"
  sync "$BIN.new" 2>/dev/null || sync
  mv -f "$BIN.new" "$BIN"
}

do_rollback() { # assumes the lock is held
  [ -e "$PREVIOUS" ] || die "no previous binary at $PREVIOUS"
  swap_in "$PREVIOUS"
  rm -f "$PENDING"
  log "rolled back to $(version_of "$BIN" || echo 'the previous binary')"
  restart_panel
}

apply() {
  local new=$1 sig=$2 downgrade=${3:-}
  [ -f "$new" ] || die "no such file: $new"
  [ -f "$sig" ] || die "no such file: $sig"
  if grep -qw 'boot=overlay' "$CMDLINE" 2>/dev/null; then
    die "the root file system is a read-only overlay: the update would vanish at reboot; disable it (raspi-config nonint do_overlayfs 1), reboot, update, enable it again"
  fi
  verify "$new" "$sig"
  local newv curv
  newv=$(version_of "$new") || die "$new does not run on this board (wrong architecture?): not installed"
  curv=$(version_of "$BIN" || echo dev)
  if older "$newv" "$curv" && [ "$downgrade" != --allow-downgrade ]; then
    die "$newv is older than the installed $curv: refusing a downgrade (--allow-downgrade to force)"
  fi

  lock
  [ -e "$PENDING" ] && die "an update is already pending ($(cat "$PENDING")); run update.sh rollback or wait for it"
  cp -p "$BIN" "$PREVIOUS"
  local since
  since=$(date +%s)
  printf '%s -> %s at %s\n' "$curv" "$newv" "$since" >"$PENDING"
  swap_in "$new"
  log "installed $newv (was $curv); restarting the panel"
  restart_panel
  unlock

  local deadline=$((since + CONFIRM_TIMEOUT))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    sleep "$POLL"
    [ -e "$PENDING" ] || die "the panel failed and lintel-panel-rollback.service put $curv back"
    if online "$since"; then
      lock
      rm -f "$PENDING"
      unlock
      log "$newv is online; $curv stays at $PREVIOUS for update.sh rollback"
      return 0
    fi
  done
  lock
  if [ -e "$PENDING" ]; then
    log "$newv did not come back online within ${CONFIRM_TIMEOUT}s: rolling back"
    do_rollback
  fi
  unlock
  exit 1
}

cmd=${1:-}
shift || true
case $cmd in
apply)
  [ $# -ge 2 ] || die "usage: update.sh apply NEW_BINARY SIGNATURE [--allow-downgrade]"
  apply "$@"
  ;;
apply-staged)
  if [ ! -d "$STAGED" ] || [ -L "$STAGED" ]; then die "$STAGED is not a directory"; fi
  [ -e "$STAGED/ready" ] || die "nothing staged in $STAGED"
  # "ready" goes first, so that a broken staging does not retrigger the
  # path unit; then the files move out of the directory the panel's user
  # can write, before they are checked.
  rm -f "$STAGED/ready"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cp "$STAGED/lintel-panel" "$work/lintel-panel"
  cp "$STAGED/lintel-panel.sig" "$work/lintel-panel.sig"
  rm -f "$STAGED/lintel-panel" "$STAGED/lintel-panel.sig"
  apply "$work/lintel-panel" "$work/lintel-panel.sig"
  ;;
rollback)
  lock
  do_rollback
  ;;
on-failure)
  lock
  if [ -e "$PENDING" ]; then
    log "the panel keeps failing after an update ($(cat "$PENDING"))"
    do_rollback
  else
    log "the panel keeps failing; starting it again in ${RETRY_PAUSE}s"
    unlock
    sleep "$RETRY_PAUSE"
    $SYSTEMCTL reset-failed "$UNIT" 2>/dev/null || true
    $SYSTEMCTL start --no-block "$UNIT"
  fi
  ;;
status)
  echo "installed: $(version_of "$BIN" || echo unknown)"
  [ -e "$PREVIOUS" ] && echo "previous:  $(version_of "$PREVIOUS" || echo unknown)"
  if [ -e "$PENDING" ]; then echo "pending:   $(cat "$PENDING")"; else echo "pending:   none"; fi
  ;;
*)
  die "usage: update.sh apply NEW SIG [--allow-downgrade] | apply-staged | rollback | on-failure | status"
  ;;
esac
