# shellcheck shell=bash
# Debian's chromium for the admin console's browser tests (Playwright for .NET drives it through its executable
# path; no browser is downloaded). Installed with apt-get when missing, like PostgreSQL. Sets FAIRWAY_TEST_CHROMIUM.

chromium_ensure() {
  local bin
  for bin in /usr/bin/chromium /usr/bin/chromium-browser; do
    if [ -x "$bin" ]; then export FAIRWAY_TEST_CHROMIUM="$bin"; return 0; fi
  done
  echo "[chromium] not found; installing the Debian package 'chromium'" >&2
  if [ "$(id -u)" != "0" ]; then echo "[chromium] need root to apt-get install chromium" >&2; return 1; fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
  [ -x /usr/bin/chromium ] || { echo "[chromium] install did not provide /usr/bin/chromium" >&2; return 1; }
  export FAIRWAY_TEST_CHROMIUM=/usr/bin/chromium
}
