#!/usr/bin/python3
"""models/convert.py: a locally saved random HF checkpoint (pytorch_model.bin,
F32 with one F16 tensor, plus an integer buffer) converts to safetensors
that emotop loads and that gives exactly the analysis of the original.
Needs python3-torch (skipped otherwise)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'e2e'))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'models'))
from common import DATA, EMOTOP, FIX, check, finish, need_torch  # noqa: E402
need_torch()
import torch  # noqa: E402
import st_write  # noqa: E402


def main():
    wav = os.path.join(DATA, 'ravdess-48k-sample', '03-01-05-02-01-01-02.wav')
    if not os.path.exists(wav):
        print('skipped: ../shared/data not found')
        return 77
    src = os.path.join(FIX, 'model-tiny-superb')
    tmp = tempfile.mkdtemp()
    try:
        d = os.path.join(tmp, 'm')
        os.makedirs(d)
        for f in ('config.json', 'preprocessor_config.json'):
            shutil.copy(os.path.join(src, f), d)
        sd = {k: torch.from_numpy(v) for k, v in
              st_write.load(os.path.join(src, 'model.safetensors')).items()}
        sd['hubert.masked_spec_embed'] = sd['hubert.masked_spec_embed'].half()
        sd['num_batches_tracked'] = torch.tensor(3)  # an integer buffer: dropped
        torch.save(sd, os.path.join(d, 'pytorch_model.bin'))
        p = subprocess.run(['/usr/bin/python3', os.path.join(HERE, '..', '..', 'models', 'convert.py'),
                            d], capture_output=True, text=True)
        check(p.returncode == 0 and 'dropping non-float tensor num_batches_tracked' in p.stdout,
              'convert.py converts and drops the integer buffer')
        a = subprocess.run([EMOTOP, 'analyze', '--json', '-m', src, wav],
                           capture_output=True, text=True).stdout
        b = subprocess.run([EMOTOP, 'analyze', '--json', '-m', d, wav],
                           capture_output=True, text=True).stdout
        strip = lambda s: [{k: v for k, v in json.loads(l).items() if k != 'file'}
                           for l in s.splitlines()]
        check(a and strip(a) == strip(b), 'the converted model analyses exactly like the original')
        os.remove(os.path.join(d, 'model.safetensors'))
        p = subprocess.run([EMOTOP, 'analyze', '-m', d, wav], capture_output=True, text=True)
        check(p.returncode == 1 and 'convert.py' in p.stderr,
              'a directory with only pytorch_model.bin: emotop says to convert it')
    finally:
        shutil.rmtree(tmp)
    return finish()


if __name__ == '__main__':
    sys.exit(main())
