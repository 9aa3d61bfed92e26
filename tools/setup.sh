#!/usr/bin/env bash
# Command 1 of the README: install what is missing, build, run the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
if [ -f build/build.ninja ]; then meson setup --reconfigure build >/dev/null; else meson setup build >/dev/null; fi
meson compile -C build >/dev/null
build/emotop --help
build/emotop devices || true
