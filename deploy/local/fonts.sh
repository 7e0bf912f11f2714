#!/usr/bin/env bash
# Debian's Noto CJK fonts, so that `tiering report` draws the Chinese of its charts (Simplified
# and Traditional) rather than refusing to draw boxes. Idempotent: nothing to do once installed.
SERVICE=fonts
source "$(dirname "$0")/common.sh"
FONTS=/usr/share/fonts/opentype/noto
if compgen -G "$FONTS/NotoSansCJK-*.ttc" >/dev/null; then
  exit 0
fi
# apt_install stops with the reason (no root or sudo, no apt-get, the install failed)
apt_install fonts-noto-cjk
compgen -G "$FONTS/NotoSansCJK-*.ttc" >/dev/null \
  || fail "no Noto Sans CJK in $FONTS after installing fonts-noto-cjk: install a Noto Sans CJK (or Source Han Sans) font by hand"
say "installed Noto Sans CJK (Debian's fonts-noto-cjk) for the report's Chinese charts"
