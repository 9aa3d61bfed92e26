#!/usr/bin/env python3
"""emotop embed writes a valid .npy whose contents are the PyTorch hidden
states (the committed tiny fixtures), for one layer and for all; a bad
--layer is a usage error. Stdlib only: .npy and safetensors parsed here."""
import json
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import DATA, EMOTOP, FIX, SRC, check, finish  # noqa: E402
import tempfile




def load_st(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    hdr = json.loads(b[8:8 + n])
    out = {}
    for k, v in hdr.items():
        if k == '__metadata__':
            continue
        s, e = v['data_offsets']
        raw = b[8 + n + s:8 + n + e]
        out[k] = (v['shape'], struct.unpack(f'<{len(raw) // 4}f', raw))
    return out


def load_npy(path):
    b = open(path, 'rb').read()
    assert b[:8] == b'\x93NUMPY\x01\x00', 'bad magic'
    hl = struct.unpack('<H', b[8:10])[0]
    hdr = b[10:10 + hl].decode()
    assert (10 + hl) % 64 == 0, 'data not 64-byte aligned'
    d = eval(hdr)  # a dict literal of str/bool/tuple by the format's spec
    raw = b[10 + hl:]
    return d, struct.unpack(f'<{len(raw) // 4}f', raw)


def main():
    fx = os.path.join(SRC, 'tests', 'fixtures')
    with tempfile.TemporaryDirectory() as tmp:
        for variant in ('hubert-tiny-base', 'hubert-tiny-large'):
            model = os.path.join(fx, variant)
            ref = load_st(os.path.join(model, 'ref.safetensors'))
            shape, x = ref['input.2.37s']
            rawf = os.path.join(tmp, 'in.raw')
            wav = os.path.join(tmp, 'in.wav')
            with open(rawf, 'wb') as f:
                f.write(struct.pack(f'<{len(x)}f', *x))
            subprocess.run(['sox', '-t', 'raw', '-r', '16000', '-e', 'float', '-b', '32',
                            '-c', '1', rawf, wav], check=True)
            (L1, T, H), hid = ref['hidden.2.37s']
            for layer, sel in (('all', None), (None, L1 - 1), ('0', 0)):
                out = os.path.join(tmp, 'h.npy')
                args = [EMOTOP, 'embed', '-m', model, '--force', '-o', out, wav]
                if layer:
                    args[2:2] = ['--layer', layer]
                p = subprocess.run(args, capture_output=True, text=True)
                d, v = load_npy(out)
                want = hid if sel is None else hid[sel * T * H:(sel + 1) * T * H]
                wshape = (L1, T, H) if sel is None else (T, H)
                diff = max(abs(a - b) for a, b in zip(v, want)) if len(v) == len(want) else 1e9
                check(p.returncode == 0 and d['descr'] == '<f4' and
                      tuple(d['shape']) == wshape and diff < 1e-4,
                      f'{variant} --layer {layer or "(last)"}: shape {d["shape"]}, '
                      f'max diff {diff:.1e}')
        p = subprocess.run([EMOTOP, 'embed', '-m', model, '--layer', '9', '-o',
                            os.path.join(tmp, 'x.npy'), wav], capture_output=True, text=True)
        check(p.returncode == 2 and '--layer' in p.stderr, 'bad --layer: usage error')
        # item 13 of the second fault catalogue: -o overwrote silently, and
        # through a symlink
        out = os.path.join(tmp, 'h.npy')
        before = open(out, 'rb').read()
        p = subprocess.run([EMOTOP, 'embed', '-m', model, '-o', out, wav],
                           capture_output=True, text=True)
        check(p.returncode == 1 and 'exists' in p.stderr and open(out, 'rb').read() == before,
              'an existing -o file is refused and left as it was', p.stderr)
        victim = os.path.join(tmp, 'victim.txt')
        with open(victim, 'w') as f:
            f.write('keep me')
        link = os.path.join(tmp, 'link.npy')
        os.symlink(victim, link)
        p = subprocess.run([EMOTOP, 'embed', '-m', model, '-o', link, wav],
                           capture_output=True, text=True)
        check(p.returncode == 1 and open(victim).read() == 'keep me',
              'a symlink at -o is refused, its target untouched', p.stderr)
        p = subprocess.run([EMOTOP, 'embed', '-m', model, '--force', '-o', link, wav],
                           capture_output=True, text=True)
        check(p.returncode == 0 and open(victim).read() == 'keep me' and
              not os.path.islink(link) and load_npy(link)[0]['descr'] == '<f4',
              '--force replaces the symlink itself, never writes through it', p.stderr)
        check(not [f for f in os.listdir(tmp) if f.startswith('.')],
              'no temporary file left behind', os.listdir(tmp))
    return finish()


if __name__ == '__main__':
    sys.exit(main())
