#!/usr/bin/env bash
# Builds emotop and runs its whole test suite, as CI does (.ci/run calls this):
#   1. a debugoptimized build, all default suites (unit, numeric, e2e);
#   2. an AddressSanitizer + UndefinedBehaviorSanitizer build, same suites;
#   3. a ThreadSanitizer build, the suites with threads in them.
# EMOTOP_SLOW=1 adds the slow suite (full-size models, fuzzers) to step 1.
# The last line counts every test run: "check: N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh

setup() { # dir, extra meson options...
  local dir=$1; shift
  if [ -f "$dir/build.ninja" ]; then
    meson setup --reconfigure "$dir" "$@" >/dev/null
  else
    meson setup "$dir" "$@" >/dev/null
  fi
  meson compile -C "$dir" >/dev/null
}

status=0
suites=()
[ "${EMOTOP_SLOW:-0}" = 1 ] && suites=(--suite unit --suite numeric --suite e2e --suite slow)

echo "== build (debugoptimized) and test"
setup build
meson test -C build --print-errorlogs --num-processes 2 "${suites[@]}" || status=1

echo "== AddressSanitizer + UndefinedBehaviorSanitizer"
setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
meson test -C build-asan --setup asan --print-errorlogs --num-processes 2 || status=1

echo "== ThreadSanitizer (threaded tests)"
setup build-tsan -Db_sanitize=thread -Dbuildtype=debug
# the list first: grep -q closing the pipe early would fail the pipeline
# under pipefail (SIGPIPE), and the threaded tests would silently not run
tsan_list=$(meson test -C build-tsan --list 2>/dev/null || true)
if grep -q ':threads\|threads /' <<<"$tsan_list"; then
  meson test -C build-tsan --setup tsan --suite threads --print-errorlogs || status=1
fi

python3 - build/meson-logs/testlog.json build-asan/meson-logs/testlog-asan.json \
  build-tsan/meson-logs/testlog-tsan.json <<'PY'
import json, sys, os
p = f = s = 0
for path in sys.argv[1:]:
    if not os.path.exists(path):
        continue
    for line in open(path):
        r = json.loads(line).get('result')
        if r in ('OK', 'EXPECTEDFAIL'):
            p += 1
        elif r == 'SKIP':
            s += 1
        else:
            f += 1
print(f'check: {p} passed, {f} failed, {s} skipped')
PY
exit $status
