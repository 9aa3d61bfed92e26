#!/usr/bin/env bash
# Command 1 of the README: install what is missing, build, and run the main
# job: the live TUI on the shipped model, on the microphone when there is
# one, otherwise on demo speech: RAVDESS actor 01 when ../shared/data is
# there (with the acted emotion shown beside the prediction), else
# sentences synthesised with espeak-ng (the TUI says which). Without a terminal it prints the analysis as JSON Lines
# instead. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
if [ -f build/build.ninja ]; then meson setup --reconfigure build >/dev/null; else meson setup build >/dev/null; fi
meson compile -C build >/dev/null
model=models/emotop-small
echo "emotop built: build/emotop (model: $model)" >&2

# The demo: real emotional speech when the project's data is beside the
# clone (RAVDESS actor 01, whom the shipped model never heard: kept out of
# its training, validation and test), one clip per emotion with a cue list
# of what the actor was asked to express; otherwise espeak-ng sentences.
# Nothing of the corpus is committed: the demo is built here, in build/.
actor=../shared/data/ravdess-16k/Actor_01
demo=build/demo/demo.wav truth=() note=
if [ -d "$actor" ]; then
  demo=build/demo/actor01.wav cues=build/demo/actor01.cues
  if [ ! -f "$demo" ] || [ ! -f "$cues" ]; then
    mkdir -p build/demo
    t=0 parts=()
    : > "$cues.tmp"
    # emotion codes 01..08, strong intensity (02) where there is one
    for e in 01 02 03 04 05 06 07 08; do
      i=02; [ "$e" = 01 ] && i=01
      f="$actor/03-01-$e-$i-01-01-01.flac"
      [ -f "$f" ] || continue
      sox "$f" -r 16000 "build/demo/c$e.wav" pad 0 0.8
      d=$(soxi -D "build/demo/c$e.wav")
      label=$(echo "neutral calm happy sad angry fearful disgust surprised" | cut -d' ' -f$((10#$e)))
      awk -v a="$t" -v d="$d" -v l="$label" 'BEGIN { printf "%.3f\t%.3f\t%s\n", a, a + d, l }' >> "$cues.tmp"
      t=$(awk -v a="$t" -v d="$d" 'BEGIN { printf "%.3f", a + d }')
      parts+=("build/demo/c$e.wav")
    done
    sox "${parts[@]}" "$demo"
    rm -f build/demo/c*.wav
    mv "$cues.tmp" "$cues"
  fi
  truth=(--truth "$cues")
  note="No microphone found: playing RAVDESS actor 01 (CC BY-NC-SA 4.0; not in the model's training). 'acted' is the emotion asked for."
elif [ ! -f "$demo" ]; then
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
[ -n "$note" ] || note="No microphone found: playing demo speech made by espeak-ng ($demo). Choose with --device or --input."

if [ ! -t 1 ]; then
  echo "no terminal: analysing the demo speech, JSON Lines below" >&2
  exec build/emotop live --no-tui --fast --model "$model" --input "$demo"
fi
if build/emotop devices >/dev/null 2>&1; then
  exec build/emotop live --model "$model"
fi
exec build/emotop live --model "$model" --input "$demo" "${truth[@]}" --demo-note "$note"
