#!/usr/bin/env bash
# Make headless Chromium available for the HTML report tests, or say exactly what to do instead.
# On Debian as root, install the `chromium` package (no stdin, no prompts); anywhere else,
# never touch the system: print the fix and fail.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    exit 0
fi

if [ "$(id -u)" != 0 ] || [ ! -f /etc/debian_version ]; then
    cat >&2 <<'MSG'
Chromium not found (the HTML report tests render pages in headless Chromium).
  Fix: install it (Debian/Ubuntu: `sudo apt-get install chromium`), or any build that puts
  `chromium` on PATH, then run the command again.
MSG
    exit 1
fi

echo "Installing Chromium (Debian package chromium)..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq </dev/null
apt-get install -y -qq --no-install-recommends chromium </dev/null >/dev/null
command -v chromium >/dev/null 2>&1
