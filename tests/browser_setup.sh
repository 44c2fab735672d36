#!/usr/bin/env bash
# Makes the browser tests runnable: finds Chromium, or installs Debian's when this machine can
# (root and apt-get), as CI does. Never fails `make test` by itself: without Chromium the browser
# tests are skipped with this reason, unless ZHQA_REQUIRE_BROWSER=1 (CI), where they fail.
# ZHQA_BROWSER_INSTALL=0 skips the install attempt; ZHQA_CHROMIUM names another binary.
set -u
chromium="${ZHQA_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$chromium" ]; then
    exit 0
fi
if [ "${ZHQA_BROWSER_INSTALL:-1}" = "0" ]; then
    echo "browser tests: Chromium not found at $chromium and ZHQA_BROWSER_INSTALL=0: not installing it" >&2
    exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "browser tests: Chromium not found at $chromium and this machine cannot install it here" \
         "(needs root and apt-get); they will be skipped. To run them: sudo apt-get install -y chromium" >&2
    exit 0
fi
echo "browser tests: installing Debian's chromium (apt-get; ZHQA_BROWSER_INSTALL=0 skips this)" >&2
export DEBIAN_FRONTEND=noninteractive
if timeout 900 apt-get update -qq >/dev/null 2>&1 && timeout 900 apt-get install -y -qq chromium >/dev/null 2>&1 \
        && [ -x "$chromium" ]; then
    echo "browser tests: chromium installed" >&2
else
    echo "browser tests: installing chromium failed (no package mirror reachable?); they will be skipped." \
         "To run them: apt-get install -y chromium" >&2
fi
exit 0
