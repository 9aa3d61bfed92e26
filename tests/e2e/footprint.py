#!/usr/bin/env python3
"""Peak memory stays close to the weights (not a timed test): a mid-size
encoder with random weights (the tiny fixture's tensors scaled up: conv 256
channels, hidden 384, feed-forward 1536; ~21 MB) is embedded over 1 s of
audio, and its peak RSS, less that of the tiny fixture (libraries, code,
buffers that do not grow with the model), must stay within BOUND times
the difference of their weight files (plus 8 MB for activations). The
issue's target is 1.3x on the real sizes; on this small model the code
reaches 1.35x fp32, 1.13x bf16 here (activations weigh more against 20 MB
of weights), and the bound sits just above, so it cannot regress silently:
before the file's pages were let go after packing the ratio was about
2.9x, and before the packed products stopped being rounded up to whole
huge pages 1.89x / 1.48x; the bound catches a return of either, of the
mapped file, the stacked copies or the packed ones all staying resident.
And refusals pay nothing for the encoder: analyze given a directory
without an emotion head, and embed given an input that does not exist,
are refused before the weights are read or packed. Skipped under
sanitizers (their shadow memory is counted) and where the products do not
run in oneDNN (OpenBLAS reads the weights from the file). stdlib only."""
import array
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import EMOTOP, FIX, check, finish, voice, write16  # noqa: E402

TINY = os.path.join(FIX, 'hubert-tiny-base')
SCALE = {32: 256, 48: 384, 96: 1536, 12: 96}  # conv, hidden, ff, hidden/groups
BOUND = {'fp32': 1.6, 'bf16': 1.35}


def read_header(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        return json.loads(f.read(n))


def write_scaled(src_dir, out_dir):
    os.makedirs(out_dir)
    cfg = json.load(open(os.path.join(src_dir, 'config.json')))
    cfg['conv_dim'] = [SCALE[c] for c in cfg['conv_dim']]
    cfg['hidden_size'] = SCALE[cfg['hidden_size']]
    cfg['intermediate_size'] = SCALE[cfg['intermediate_size']]
    json.dump(cfg, open(os.path.join(out_dir, 'config.json'), 'w'))
    shutil.copy(os.path.join(src_dir, 'preprocessor_config.json'), out_dir)
    hdr = read_header(os.path.join(src_dir, 'model.safetensors'))
    meta, off, tensors = {}, 0, []
    for name in sorted(k for k in hdr if k != '__metadata__'):
        shape = [SCALE.get(d, d) for d in hdr[name]['shape']]
        n = 1
        for d in shape:
            n *= d
        meta[name] = {'dtype': 'F32', 'shape': shape, 'data_offsets': [off, off + 4 * n]}
        off += 4 * n
        tensors.append((name, n))
    head = json.dumps(meta).encode()
    head += b' ' * ((8 - len(head) % 8) % 8)
    x = 12345
    with open(os.path.join(out_dir, 'model.safetensors'), 'wb') as f:
        f.write(struct.pack('<Q', len(head)) + head)
        for name, n in tensors:
            a = array.array('f', bytes(4 * n))
            if 'norm' in name and name.endswith('weight'):
                for i in range(n):
                    a[i] = 1.0
            else:
                for i in range(n):  # a small LCG: weights in +-0.05
                    x = (x * 1103515245 + 12345) & 0x7fffffff
                    a[i] = (x / 0x7fffffff - 0.5) * 0.1
            f.write(a.tobytes())


def peak_kib(args, err=None):
    """(exit status, peak RSS in KiB) of emotop ARGS; err: a list that
    receives its standard error."""
    p = subprocess.Popen([EMOTOP, *args], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    text = p.stderr.read().decode(errors='replace')
    _, status, ru = os.wait4(p.pid, 0)
    p.stderr.close()
    if err is not None:
        err.append(text)
    return os.waitstatus_to_exitcode(status), ru.ru_maxrss


def main():
    if os.environ.get('EMOTOP_SANITIZED'):
        print('skipped: peak memory under a sanitizer counts its shadow memory')
        return 77
    tmp = tempfile.mkdtemp(prefix='emotop-footprint-')
    try:
        wav = os.path.join(tmp, 'v.wav')
        write16(wav, voice(1, 16000), 16000)
        mid = os.path.join(tmp, 'mid')
        write_scaled(TINY, mid)
        # refusals pay nothing for the encoder: a directory without an
        # emotion head given to analyze, and a missing input to embed, are
        # refused before the weights are read, copied or packed
        weights = (os.path.getsize(os.path.join(mid, 'model.safetensors')) -
                   os.path.getsize(os.path.join(TINY, 'model.safetensors'))) / 1024
        for what, args, said in (('analyze, a directory without a head',
                                  ['analyze', '-m', mid, wav], 'no emotion head'),
                                 ('embed, an input that does not exist',
                                  ['embed', '-m', mid, '-o', os.path.join(tmp, 'n.npy'),
                                   os.path.join(tmp, 'none.wav')], 'cannot be read')):
            e0, e1 = [], []
            rc0, tiny = peak_kib([*args[:2], TINY, *args[3:]], e0)
            rc1, big = peak_kib(args, e1)
            check(rc0 == rc1 == 1 and big - tiny < 0.25 * weights and
                  said in e1[0],
                  f'{what}: refused, and peak RSS grows {(big - tiny) / 1024:.1f} MiB '
                  f'for {weights / 1024:.1f} MiB more weights (under a quarter)',
                  (rc0, rc1, tiny, big, e1[0][-200:]))
        p = subprocess.run([EMOTOP, 'live', '--no-tui', '--fast', '-m',
                            os.path.join(FIX, 'model-tiny-bilstm'), '-i', wav],
                           capture_output=True, text=True)
        engine = json.loads(p.stdout.splitlines()[0]).get('engine', '') if p.stdout else ''
        if 'oneDNN' not in engine:
            print(f'skipped: the products run in {engine or "?"}, not oneDNN')
            return 77
        for prec in ('fp32', 'bf16'):
            rc0, tiny = peak_kib(['embed', '--force', '--precision', prec, '-m', TINY,
                                  '-o', os.path.join(tmp, 't.npy'), wav])
            rc1, big = peak_kib(['embed', '--force', '--precision', prec, '-m', mid,
                                 '-o', os.path.join(tmp, 'm.npy'), wav])
            weights = (os.path.getsize(os.path.join(mid, 'model.safetensors')) -
                       os.path.getsize(os.path.join(TINY, 'model.safetensors'))) / 1024
            ratio = (big - tiny) / weights
            check(rc0 == 0 and rc1 == 0 and big - tiny <= BOUND[prec] * weights + 8 * 1024,
                  f'{prec}: peak RSS grows {(big - tiny) / 1024:.1f} MiB for '
                  f'{weights / 1024:.1f} MiB more weights ({ratio:.2f}x, bound '
                  f'{BOUND[prec]}x + 8 MiB)', (rc0, rc1, tiny, big))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return finish()


if __name__ == '__main__':
    sys.exit(main())
