#!/usr/bin/python3
"""Convert a Hugging Face pytorch_model.bin checkpoint to model.safetensors.

  models/convert.py DIR          # DIR/pytorch_model.bin -> DIR/model.safetensors

Tensors keep their names, shapes and float dtypes (F32, F16, BF16 stored as
F32); non-float buffers are dropped with a note. Needs python3-torch.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_write  # noqa: E402


def main():
    if len(sys.argv) != 2 or sys.argv[1] in ('-h', '--help'):
        print(__doc__.strip())
        return 0 if len(sys.argv) == 2 else 2
    d = sys.argv[1]
    src = os.path.join(d, 'pytorch_model.bin')
    dst = os.path.join(d, 'model.safetensors')
    if not os.path.exists(src):
        print(f'convert.py: {src} not found', file=sys.stderr)
        return 1
    sd = torch.load(src, map_location='cpu')
    if isinstance(sd, dict) and 'state_dict' in sd:
        sd = sd['state_dict']
    out = {}
    for k, v in sd.items():
        if not torch.is_tensor(v):
            continue
        if not v.is_floating_point():
            print(f'  dropping non-float tensor {k} ({v.dtype})')
            continue
        out[k] = v.float() if v.dtype == torch.bfloat16 else v
    tmp = dst + '.tmp'
    st_write.save(tmp, out, {'format': 'pt', 'converted_from': 'pytorch_model.bin'})
    os.replace(tmp, dst)
    print(f'wrote {dst} ({len(out)} tensors)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
