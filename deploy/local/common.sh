# Shared by the local launcher scripts: paths, messages, waiting with a timeout.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LOCAL="$ROOT/.local"
LOGS="$LOCAL/logs"
mkdir -p "$LOGS"

say()  { printf '\033[1m[%s]\033[0m %s\n' "${SERVICE:-local}" "$*"; }
fail() { printf '\033[1;31m[%s] %s\033[0m\n' "${SERVICE:-local}" "$*" >&2; exit 1; }

# port_open HOST PORT: something accepts TCP connections there
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# wait_until SECONDS WHAT COMMAND...: poll COMMAND every half second
wait_until() {
  local seconds=$1 what=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    if ((SECONDS >= deadline)); then return 1; fi
    sleep 0.5
  done
}

http_ok() {
  if command -v curl >/dev/null; then curl -fs -o /dev/null --max-time 2 "$1"
  else python3 -c "import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" "$1" 2>/dev/null
  fi
}

# apt_install PACKAGE...: Debian packages, installed once, without recommends
apt_install() {
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || fail "need root (or sudo) to install: $*"
    sudo="sudo"
  fi
  command -v apt-get >/dev/null || fail "apt-get not found: install $* with your package manager"
  say "installing $* from Debian's packages"
  if [ ! -f "$LOCAL/.apt-updated" ]; then
    $sudo apt-get update -qq >>"$LOGS/apt.log" 2>&1 || fail "apt-get update failed (see $LOGS/apt.log)"
    touch "$LOCAL/.apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" \
    >>"$LOGS/apt.log" 2>&1 || fail "apt-get install $* failed (see $LOGS/apt.log)"
}
