#!/usr/bin/env bash
# Debian's chromium for the browser tests (Playwright drives it; no browser download).
SERVICE=chromium
source "$(dirname "$0")/common.sh"
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
apt_install chromium
[ -x /usr/bin/chromium ] || fail "/usr/bin/chromium is missing after installing Debian's chromium"
say "installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
