#!/usr/bin/env bash
# Make sure Debian's Chromium (and a font with Chinese glyphs) exist for the console's browser tests.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
fc-list 2>/dev/null | grep -qi -E 'wqy|noto sans cjk' || need+=(fonts-wqy-microhei)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "installing Debian's ${need[*]} for the console's browser tests" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  exit 0
fi
echo "Debian's chromium and fonts-wqy-microhei are required for the console's browser tests" >&2
exit 1
