#!/bin/sh
# Full-size hubert-base and hubert-large configs (random weights) against
# PyTorch, every layer, 1 s / 3 s / 2.37 s. The references are generated on
# first use into the build tree (needs python3-torch; skipped without it).
# usage: hubert_full.sh TEST_HUBERT_BINARY
set -eu
py=/usr/bin/python3
if ! "$py" -c 'import torch, torchaudio' 2>/dev/null; then
  echo "skipped: python3-torch/python3-torchaudio not installed (tools/deps.sh --with-python)"
  exit 77
fi
dir="${EMOTOP_BUILD_ROOT:-.}/full-fixtures"
for v in base large; do
  if [ ! -f "$dir/hubert-full-$v/ref.safetensors" ]; then
    "$py" "$EMOTOP_SOURCE_ROOT/tests/fixtures/gen_hubert.py" --size full \
      --variant "$v" --out "$dir/hubert-full-$v"
  fi
done
exec "$1" "$dir/hubert-full-base" "$dir/hubert-full-large"
