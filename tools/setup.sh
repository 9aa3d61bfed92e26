#!/usr/bin/env bash
# Command 1 of the README: install what is missing, build, and run the main
# job: the live TUI on the shipped model, on the microphone when there is
# one, otherwise on demo speech that this script synthesises with espeak-ng
# (the TUI says so). Without a terminal it prints the analysis as JSON Lines
# instead. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
if [ -f build/build.ninja ]; then meson setup --reconfigure build >/dev/null; else meson setup build >/dev/null; fi
meson compile -C build >/dev/null
model=models/emotop-small
echo "emotop built: build/emotop (model: $model)" >&2

demo=build/demo/demo.wav
if [ ! -f "$demo" ]; then
  mkdir -p build/demo
  # a few sentences in different voices, speeds and pitches, with pauses
  i=0
  while IFS='|' read -r voice speed pitch text; do
    espeak-ng -v "$voice" -s "$speed" -p "$pitch" -w "build/demo/s$i.wav" "$text"
    sox "build/demo/s$i.wav" -r 16000 "build/demo/p$i.wav" pad 0 0.8
    i=$((i + 1))
  done <<'LINES'
en-us|175|60|Good morning. I hope the meeting goes well today.
en-us|210|90|Wow, I can't believe it! We actually won the whole thing!
en|120|25|I miss her so much. Nothing feels the same without her.
en-us|190|40|Get out of here! I told you never to touch my things!
en|150|70|Wait, what was that noise? Is somebody in the house?
LINES
  sox $(ls build/demo/p*.wav | sort) "$demo"
  rm -f build/demo/s*.wav build/demo/p*.wav
fi

if [ ! -t 1 ]; then
  echo "no terminal: analysing the demo speech, JSON Lines below" >&2
  exec build/emotop live --no-tui --fast --model "$model" --input "$demo"
fi
if build/emotop devices >/dev/null 2>&1; then
  exec build/emotop live --model "$model"
fi
exec build/emotop live --model "$model" --input "$demo" \
  --demo-note "No microphone found: playing demo speech made by espeak-ng ($demo). Choose with --device or --input."
