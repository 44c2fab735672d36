#!/usr/bin/env bash
# Makes the tests that need system packages runnable: Debian's Chromium (browser tests) and a CJK
# font (the scans rendered by the document tests). Installs what is missing when this machine can
# (root and apt-get), as CI does. Never fails `make test` by itself: without them those tests are
# skipped with the reason, unless ZHQA_REQUIRE_SYSTEM_TESTS=1 (CI), where they fail.
# ZHQA_SYSTEM_INSTALL=0 skips the install attempt; ZHQA_CHROMIUM names another Chromium binary.
set -u
chromium="${ZHQA_CHROMIUM:-/usr/bin/chromium}"
missing=()
[ -x "$chromium" ] || missing+=(chromium)
fc-list 2>/dev/null | grep -qi "wqy\|noto.*cjk\|droid sans fallback" || missing+=(fonts-wqy-microhei)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "${ZHQA_SYSTEM_INSTALL:-1}" = "0" ]; then
    echo "system tests: missing ${missing[*]} and ZHQA_SYSTEM_INSTALL=0: not installing them" >&2
    exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "system tests: missing ${missing[*]} and this machine cannot install them here (needs root and" \
         "apt-get); the tests that need them will be skipped. To run them: sudo apt-get install -y ${missing[*]}" >&2
    exit 0
fi
echo "system tests: installing ${missing[*]} (apt-get; ZHQA_SYSTEM_INSTALL=0 skips this)" >&2
export DEBIAN_FRONTEND=noninteractive
if timeout 900 apt-get update -qq >/dev/null 2>&1 && timeout 900 apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1
then
    echo "system tests: installed ${missing[*]}" >&2
else
    echo "system tests: installing ${missing[*]} failed (no package mirror reachable?); the tests that need" \
         "them will be skipped. To run them: apt-get install -y ${missing[*]}" >&2
fi
exit 0
