#!/usr/bin/env bash
# Fetch Hugging Face models into models/NAME/ (emotop's model directory layout).
#
#   models/download.sh NAME [--base-url URL] [--dir DIR]
#   models/download.sh --list
#
# curl with retries and resume (-C -); files already complete are skipped;
# sizes are checked against Content-Length and, where the server gives one,
# the SHA-256 in its ETag (Hugging Face serves LFS files with their SHA-256
# as ETag). HF_TOKEN, if set, is sent as a bearer token. Checkpoints that come
# only as pytorch_model.bin are converted with models/convert.py (needs
# python3-torch).
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: models/download.sh NAME [--base-url URL] [--dir DIR]
       models/download.sh --list
Download a Hugging Face model into DIR/NAME (default DIR: the models/
directory beside this script).
  --base-url URL   server to fetch from (default https://huggingface.co;
                   a mirror, or a local server for tests)
  --dir DIR        where model directories go
  --list           the names this script knows
Environment: HF_TOKEN (sent as "Authorization: Bearer ..." when set).
USAGE
}

# name | repository | what it is
MODELS='hubert-base-ls960|facebook/hubert-base-ls960|HuBERT base encoder (no emotion head): for models/train_ravdess.py --mode frozen
hubert-base-superb-er|superb/hubert-base-superb-er|HuBERT base + 4-class IEMOCAP emotion head (neu, hap, ang, sad): usable at once
hubert-large-superb-er|superb/hubert-large-superb-er|HuBERT large + 4-class IEMOCAP emotion head: usable at once
wav2vec2-xlsr-ravdess|ehcalabres/wav2vec2-lg-xlsr-en-speech-emotion-recognition|wav2vec2 large XLSR fine-tuned on RAVDESS, 8 classes'

here=$(cd "$(dirname "$0")" && pwd)
base=https://huggingface.co
dir=$here
name=

while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --list) echo "$MODELS" | while IFS='|' read -r n r d; do printf '%-24s %s\n    %s\n' "$n" "$r" "$d"; done; exit 0 ;;
    --base-url) base=${2:?--base-url needs a URL}; shift ;;
    --dir) dir=${2:?--dir needs a directory}; shift ;;
    -*) echo "download.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) [ -z "$name" ] || { echo "download.sh: one NAME at a time" >&2; exit 2; }; name=$1 ;;
  esac
  shift
done
[ -n "$name" ] || { usage >&2; exit 2; }
repo=$(echo "$MODELS" | awk -F'|' -v n="$name" '$1 == n { print $2 }')
[ -n "$repo" ] || { echo "download.sh: unknown model '$name'; see --list" >&2; exit 2; }
command -v curl >/dev/null || { echo "download.sh: needs curl (apt-get install curl)" >&2; exit 1; }

out=$dir/$name
mkdir -p "$out"
auth=()
[ -n "${HF_TOKEN:-}" ] && auth=(-H "Authorization: Bearer $HF_TOKEN")

# headers of URL -> "size etag" (etag without quotes, "-" if none)
remote_info() {
  local h size etag
  h=$(curl -sSIL --retry 3 --retry-delay 1 --connect-timeout 15 "${auth[@]}" "$1" 2>/dev/null) || return 1
  echo "$h" | grep -qiE '^HTTP/[0-9.]+ 2' || return 1
  # the last response of a redirect chain; LFS size/etag may be X-Linked-*
  size=$(echo "$h" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-linked-size"{x=$2} tolower($1)=="content-length"{c=$2} END{print (x!="")?x:c}')
  etag=$(echo "$h" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-linked-etag"{x=$2} tolower($1)=="etag"{e=$2} END{print (x!="")?x:e}' | tr -d '"' | sed 's/^W\///')
  echo "${size:-0} ${etag:--}"
}

fetch() { # file, required(1/0)
  local f=$1 url="$base/$repo/resolve/main/$1" info size etag have
  if ! info=$(remote_info "$url"); then
    if curl -sS --connect-timeout 15 -o /dev/null "$base" 2>/dev/null; then
      [ "$2" = 1 ] && { echo "download.sh: $repo has no $f at $base" >&2; return 1; }
      return 2   # optional file absent
    fi
    echo "download.sh: cannot reach $base (offline?). Download models/$name on a" >&2
    echo "machine with internet access and copy the directory here, or give" >&2
    echo "--base-url a mirror you can reach." >&2
    exit 1
  fi
  read -r size etag <<<"$info"
  have=$(stat -c %s "$out/$f" 2>/dev/null || echo 0)
  if [ "$have" = "$size" ] && [ "$size" != 0 ]; then
    echo "  $f: complete ($size bytes), skipped"
  else
    echo "  $f: fetching ($size bytes$( [ "$have" != 0 ] && echo ", resuming at $have"))"
    # our own retry loop: each attempt resumes from what is on disk
    # (curl's --retry starts a failed transfer over instead)
    local attempt ok=0
    for attempt in 1 2 3 4 5; do
      if curl -fL -sS --connect-timeout 15 -C - "${auth[@]}" -o "$out/$f" "$url"; then
        ok=1
        break
      fi
      echo "  $f: interrupted at $(stat -c %s "$out/$f" 2>/dev/null || echo 0) bytes; resuming (attempt $((attempt + 1)))" >&2
      sleep 1
    done
    [ $ok = 1 ] || { echo "download.sh: $f: transfer failed; run again to resume" >&2; return 1; }
    have=$(stat -c %s "$out/$f")
    if [ "$have" != "$size" ]; then
      echo "download.sh: $f: got $have bytes, expected $size; run again to resume" >&2
      return 1
    fi
  fi
  if [[ $etag =~ ^[0-9a-f]{64}$ ]]; then
    local sum
    sum=$(sha256sum "$out/$f" | cut -d' ' -f1)
    if [ "$sum" != "$etag" ]; then
      mv "$out/$f" "$out/$f.corrupt"
      echo "download.sh: $f: SHA-256 mismatch (got $sum, server says $etag);" >&2
      echo "kept as $f.corrupt; run again to download it afresh" >&2
      return 1
    fi
    echo "  $f: SHA-256 verified"
  fi
}

echo "$repo -> $out"
fetch config.json 1
fetch preprocessor_config.json 0 || [ $? = 2 ]
if fetch model.safetensors 0; then
  :
else
  rc=$?
  [ $rc = 2 ] || exit 1
  fetch pytorch_model.bin 1
  echo "  converting pytorch_model.bin -> model.safetensors"
  /usr/bin/python3 "$here/convert.py" "$out" ||
    { echo "download.sh: conversion needs python3-torch (tools/deps.sh --with-python)" >&2; exit 1; }
fi
echo "done: build/emotop analyze --model $out FILE.wav"
