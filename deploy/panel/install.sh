#!/usr/bin/env bash
# install.sh: turn a Raspberry Pi running Raspberry Pi OS Lite into a Lintel
# door panel. Run it as root from a copy of the deploy/ directory; running it
# again with other arguments updates the installation. See README.md.
#
#   sudo deploy/panel/install.sh --binary bin/ --server wss://lintel.example.com/ws \
#     --touch auto --leds GPIO17,GPIO27 --disable-getty
set -euo pipefail

usage() {
  cat <<'EOF'
usage: install.sh --binary PATH [--server URL] [options]

  --binary PATH          the lintel-panel binary, or a directory holding
                         lintel-panel-armv6, lintel-panel-armv7 and
                         lintel-panel-arm64 (make cross); the board's is picked
  --arch ARCH            armv6, armv7 or arm64 instead of detecting it
  --server URL           the server's panel endpoint, wss://HOST/ws (needed
                         the first time; later runs keep panel.conf without it)
  --ca-file FILE         trust the server through this PEM CA
  --pin-sha256 HEX       or through its certificate's fingerprint (--dev-tls)
  --locale LANG          en, de, fr, it or es, with an optional region (de-CH)
  --timezone ZONE        e.g. Europe/Zurich
  --rotation DEG         0, 90, 180 or 270
  --touch DEV|auto       touchscreen device; auto: /dev/input/touchscreen (udev rule)
  --leds GREEN,RED       LED pins, e.g. GPIO17,GPIO27
  --led-active-low       the LEDs light when their pin is low
  --buttons SPEC         e.g. GPIO5=book,GPIO6=checkin
  --office-hours SPEC    e.g. 'mon-fri 07:00-19:00' (backlight = auto)
  --update-key FILE      ed25519 public key (PEM) that signs panel updates
  --disable-getty        no login prompt on the screen (tty1)
  --read-only            make the root file system a read-only overlay
                         (raspi-config); only once the panel is paired
  --force                --read-only even though the panel is not paired
  -h, --help

LINTEL_ROOT=DIR installs into DIR instead of / (for tests and images):
users, raspi-config, udevadm and the running services are left alone.
EOF
}

die() { echo "install: $*" >&2; exit 1; }
say() { echo "install: $*"; }

ROOT=${LINTEL_ROOT:-}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
UNITS=$HERE/../systemd
if [ -n "$ROOT" ]; then
  SYSTEMCTL=(systemctl "--root=$ROOT")
else
  SYSTEMCTL=(systemctl)
fi

binary="" arch="" server="" ca_file="" pin="" locale="" timezone="" rotation=""
touch="" leds="" led_active_low="" buttons="" office_hours="" update_key=""
disable_getty="" read_only="" force=""
while [ $# -gt 0 ]; do
  case $1 in
  --binary) binary=${2:?--binary needs a value}; shift ;;
  --arch) arch=${2:?--arch needs a value}; shift ;;
  --server) server=${2:?--server needs a value}; shift ;;
  --ca-file) ca_file=${2:?--ca-file needs a value}; shift ;;
  --pin-sha256) pin=${2:?--pin-sha256 needs a value}; shift ;;
  --locale) locale=${2:?--locale needs a value}; shift ;;
  --timezone) timezone=${2:?--timezone needs a value}; shift ;;
  --rotation) rotation=${2:?--rotation needs a value}; shift ;;
  --touch) touch=${2:?--touch needs a value}; shift ;;
  --leds) leds=${2:?--leds needs a value}; shift ;;
  --led-active-low) led_active_low=true ;;
  --buttons) buttons=${2:?--buttons needs a value}; shift ;;
  --office-hours) office_hours=${2:?--office-hours needs a value}; shift ;;
  --update-key) update_key=${2:?--update-key needs a value}; shift ;;
  --disable-getty) disable_getty=1 ;;
  --read-only) read_only=1 ;;
  --force) force=1 ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done

[ -n "$ROOT" ] || [ "$(id -u)" -eq 0 ] || die "run as root (sudo)"
[ -n "$binary" ] || { usage >&2; die "--binary is required"; }
[ -z "$ca_file" ] || [ -z "$pin" ] || die "--ca-file and --pin-sha256: use one"
[ -z "$leds" ] || [[ $leds == *,* ]] || die "--leds wants GREEN,RED, e.g. GPIO17,GPIO27"

# detect_arch prints the GOARCH/GOARM flavour of this board's user space.
detect_arch() {
  case $(uname -m) in
  aarch64 | arm64)
    # A 64-bit kernel under a 32-bit Raspberry Pi OS: the user space decides.
    if [ "$(getconf LONG_BIT)" = 64 ]; then echo arm64; else echo armv7; fi ;;
  armv7l | armv8l) echo armv7 ;;
  armv6l) echo armv6 ;;
  *)
    if grep -q '(v6l)' /proc/cpuinfo 2>/dev/null; then echo armv6
    else die "cannot tell this board's ARM flavour from uname -m ($(uname -m)); pass --arch"; fi ;;
  esac
}
[ -n "$arch" ] || arch=$(detect_arch)
case $arch in armv6 | armv7 | arm64) ;; *) die "--arch $arch is not armv6, armv7 or arm64" ;; esac

if [ -d "$binary" ]; then
  src=$binary/lintel-panel-$arch
else
  src=$binary
fi
[ -f "$src" ] || die "no panel binary at $src"

# put MODE SRC DEST: install a file, saying so only when it changed.
put() {
  local mode=$1 from=$2 to=$ROOT$3
  mkdir -p "$(dirname "$to")"
  if [ -f "$to" ] && cmp -s "$from" "$to"; then
    chmod "$mode" "$to"
    return
  fi
  install -m "$mode" "$from" "$to.tmp" && mv -f "$to.tmp" "$to"
  say "installed $3"
}

# 1. The user, in the groups for the screen, the touchscreen and GPIO.
if [ -z "$ROOT" ]; then
  getent group gpio >/dev/null || groupadd --system gpio
  if ! id lintel-panel >/dev/null 2>&1; then
    useradd --system --user-group --home-dir /var/lib/lintel-panel --no-create-home \
      --shell /usr/sbin/nologin --comment "Lintel door panel" lintel-panel
    say "created the user lintel-panel"
  fi
  usermod -aG video,input,gpio lintel-panel
else
  say "LINTEL_ROOT set: not creating the user lintel-panel"
fi

# 1b. System fonts the panel draws what its own font lacks with: CJK
# (meeting titles in Chinese, Japanese, Korean) and monochrome emoji.
# Without them such text shows replacement marks.
FONT_PACKAGES=(fonts-noto-cjk fonts-symbola)
if [ -z "$ROOT" ]; then
  missing=()
  for p in "${FONT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    if apt-get install -y --no-install-recommends "${missing[@]}"; then
      say "installed ${missing[*]}"
    else
      say "warning: could not install ${missing[*]}: CJK and emoji show as replacement marks until they are"
    fi
  fi
else
  say "LINTEL_ROOT set: not installing ${FONT_PACKAGES[*]}"
fi

# 2. The binary for this board, the update script, the units, udev rules, docs.
say "board: $arch, binary $src"
put 0755 "$src" /usr/local/bin/lintel-panel
put 0755 "$HERE/update.sh" /usr/local/lib/lintel/update.sh
for u in lintel-panel.service lintel-panel-rollback.service lintel-panel-update.path lintel-panel-update.service; do
  put 0644 "$UNITS/$u" "/etc/systemd/system/$u"
done
put 0644 "$HERE/99-lintel-panel.rules" /etc/udev/rules.d/99-lintel-panel.rules
put 0644 "$HERE/README.md" /usr/local/share/doc/lintel/panel.md
put 0644 "$UNITS/panel.conf.example" /usr/local/share/doc/lintel/panel.conf.example
[ -z "$ca_file" ] || put 0644 "$ca_file" /etc/lintel/ca.pem
[ -z "$update_key" ] || put 0644 "$update_key" /etc/lintel/update.pub

# 3. /etc/lintel/panel.conf from the arguments.
conf=$ROOT/etc/lintel/panel.conf
if [ -n "$server" ]; then
  tmp=$(mktemp)
  trap 'rm -f "$tmp"' EXIT
  {
    echo "# Written by deploy/panel/install.sh; every key: /usr/local/share/doc/lintel/panel.conf.example"
    echo "server = $server"
    [ -z "$ca_file" ] || echo "ca-file = /etc/lintel/ca.pem"
    [ -z "$pin" ] || echo "pin-sha256 = $pin"
    echo "screen = fb:/dev/fb0"
    [ -z "$rotation" ] || echo "rotation = $rotation"
    case $touch in
    "") ;;
    auto) echo "touch = /dev/input/touchscreen" ;;
    *) echo "touch = $touch" ;;
    esac
    if [ -n "$leds" ]; then
      echo "led-green = ${leds%%,*}"
      echo "led-red = ${leds#*,}"
    fi
    [ -z "$led_active_low" ] || echo "led-active-low = true"
    [ -z "$buttons" ] || echo "buttons = $buttons"
    [ -z "$locale" ] || echo "locale = $locale"
    [ -z "$timezone" ] || echo "timezone = $timezone"
    if [ -n "$office_hours" ]; then
      echo "office-hours = $office_hours"
      echo "backlight = auto"
    fi
  } >"$tmp"
  if [ -f "$conf" ] && cmp -s "$tmp" "$conf"; then
    :
  else
    mkdir -p "$(dirname "$conf")"
    [ ! -f "$conf" ] || cp -p "$conf" "$conf.bak"
    install -m 0640 "$tmp" "$conf"
    say "wrote /etc/lintel/panel.conf"
  fi
  [ -n "$ROOT" ] || chown root:lintel-panel "$conf"
elif [ ! -f "$conf" ]; then
  die "no /etc/lintel/panel.conf yet: pass --server wss://HOST/ws"
else
  say "kept /etc/lintel/panel.conf (no --server given)"
fi

# 4. The kernel command line: no console blanking, no cursor.
cmdline=""
for f in /boot/firmware/cmdline.txt /boot/cmdline.txt; do
  if [ -f "$ROOT$f" ]; then cmdline=$ROOT$f; break; fi
done
if [ -n "$cmdline" ]; then
  line=$(head -n 1 "$cmdline")
  new=$line
  for kv in consoleblank=0 vt.global_cursor_default=0; do
    k=${kv%%=*}
    if [[ " $new " == *" $k="* ]]; then
      new=$(printf '%s\n' "$new" | sed -E "s/(^| )${k//./\\.}=[^ ]*/\1$kv/")
    else
      new="$new $kv"
    fi
  done
  if [ "$new" != "$line" ]; then
    cp -p "$cmdline" "$cmdline.bak"
    printf '%s\n' "$new" >"$cmdline"
    say "kernel command line: consoleblank=0 vt.global_cursor_default=0 (takes effect at reboot)"
  fi
else
  say "no cmdline.txt found: set consoleblank=0 on the kernel command line yourself"
fi

# 5. The services.
if [ -z "$ROOT" ]; then
  if udevadm control --reload-rules; then
    udevadm trigger --subsystem-match=backlight --subsystem-match=input --subsystem-match=tty || true
  fi
  systemctl daemon-reload
fi
"${SYSTEMCTL[@]}" --quiet enable lintel-panel.service lintel-panel-update.path
if [ -n "$disable_getty" ]; then
  "${SYSTEMCTL[@]}" --quiet disable getty@tty1.service 2>/dev/null || true
  say "no login prompt on tty1 from the next boot (SSH still works)"
fi
if [ -z "$ROOT" ]; then
  systemctl restart lintel-panel.service lintel-panel-update.path
  say "lintel-panel is running: journalctl -u lintel-panel -f"
fi

# 6. Optionally, a read-only root: an overlay in RAM that is dropped at reboot.
if [ -n "$read_only" ]; then
  if [ ! -s "$ROOT/var/lib/lintel-panel/credential" ] && [ -z "$force" ]; then
    die "the panel is not paired yet: with a read-only root its credential would be lost at every reboot; pair it, then run again with --read-only (or add --force)"
  fi
  if [ -n "$ROOT" ]; then
    say "LINTEL_ROOT set: not running raspi-config nonint do_overlayfs 0"
  else
    raspi-config nonint do_overlayfs 0
    say "read-only root from the next reboot; updates need it off: raspi-config nonint do_overlayfs 1"
  fi
fi
say "done"
