#!/usr/bin/env python3
"""emotop analyze / eval / vad end to end (stdlib only; CI has no numpy).

Checks, on the committed tiny model and the 48 kHz RAVDESS samples in
../shared/data (skipped when absent):
  - analyze on 48 kHz originals equals analyze on the same audio resampled
    to 16 kHz by sox (an independent resampler), within 5e-4 on the overall
    probabilities, with --resample best (libsamplerate's best sinc; measured
    difference ~1e-4, the two resamplers' own disagreement);
  - the same output whether files are given one by one or with -j 2;
  - unreadable, empty and non-audio files are reported, the others still
    analysed, exit status 3; all failing gives 1;
  - eval on a RAVDESS-named tree counts files and builds a confusion matrix
    consistent with analyze's predictions.
"""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import DATA, EMOTOP, FIX, SRC, check, finish, ravdess_samples  # noqa: E402
import tempfile

MODEL = os.path.join(SRC, 'tests', 'fixtures', 'model-tiny-bilstm')



def run(*args, ok=(0,)):
    p = subprocess.run([EMOTOP, *args], capture_output=True, text=True)
    if p.returncode not in ok:
        print(p.stderr)
    return p


def records(out, typ):
    return [r for r in map(json.loads, out.splitlines()) if r['type'] == typ]


def main():
    wavs = ravdess_samples()
    if not wavs:
        return 77
    tmp = tempfile.mkdtemp()
    try:
        # 1. 48 kHz vs sox-resampled 16 kHz
        rs = []
        for w in wavs:
            o = os.path.join(tmp, os.path.basename(w))
            subprocess.run(['sox', w, '-r', '16000', '-e', 'float', '-b', '32', o],
                           check=True)
            rs.append(o)
        a = records(run('analyze', '--json', '--resample', 'best', '-m', MODEL,
                        *wavs).stdout, 'file')
        b = records(run('analyze', '--json', '-m', MODEL, *rs).stdout, 'file')
        check(len(a) == len(b) == len(wavs), f'{len(wavs)} files analysed both ways')
        worst = max(abs(x['probs'][k] - y['probs'][k])
                    for x, y in zip(a, b) for k in x['probs'])
        print(f'     max |p(48 kHz) - p(sox 16 kHz)| = {worst:.2e}')
        check(worst < 5e-4, '48 kHz input matches pre-resampled 16 kHz (5e-4)')
        check(all(x['windows'] == y['windows'] for x, y in zip(a, b)),
              'same number of windows')

        # 2. one by one vs -j 2: identical bytes
        one = ''.join(run('analyze', '--json', '-m', MODEL, w).stdout for w in wavs)
        par = run('analyze', '--json', '-j', '2', '-m', MODEL, *wavs).stdout
        check(one == par and one, 'one by one == -j 2 (byte for byte)')
        txt1 = run('analyze', '-m', MODEL, *wavs[:3]).stdout
        txt2 = run('analyze', '-j', '2', '-m', MODEL, *wavs[:3]).stdout
        check(txt1 == txt2, 'text output is the same with -j 2')

        # 3. bad files among good ones
        empty = os.path.join(tmp, 'empty.wav')
        subprocess.run(['sox', '-n', '-r', '16000', '-c', '1', empty, 'trim', '0', '0'],
                       check=True)
        junk = os.path.join(tmp, 'junk.wav')
        with open(junk, 'wb') as f:
            f.write(b'RIFF\x00\x00not really a wav file' * 10)
        p = run('analyze', '--json', '-m', MODEL, wavs[0], '/nonexistent.flac',
                empty, junk, wavs[1], ok=(3,))
        check(p.returncode == 3, f'exit status 3 with some bad files (got {p.returncode})')
        check(len(records(p.stdout, 'file')) == 2, 'the two good files are analysed')
        errs = records(p.stdout, 'error')
        check(len(errs) == 3, 'three error records')
        check('nonexistent.flac' in p.stderr and 'junk.wav' in p.stderr and
              'empty.wav' in p.stderr, 'stderr names each bad file')
        p = run('analyze', '-m', MODEL, '/nonexistent.flac', ok=(1,))
        check(p.returncode == 1, 'all files bad: exit status 1')
        p = run('analyze', '-m', '/nonexistent-model', wavs[0], ok=(1,))
        check(p.returncode == 1 and 'cannot load model' in p.stderr and
              'is a model directory' in p.stderr and
              'Give a model directory with --model' not in p.stderr,
              'missing model: clear message (not "give --model": it was given)')
        p = run('analyze', '--window', 'abc', wavs[0], ok=(2,))
        check(p.returncode == 2 and '--window' in p.stderr, 'bad option: usage error')

        # 4. eval over a RAVDESS-named tree (the 8 samples)
        tree = os.path.join(tmp, 'tree', 'Actor_02')
        os.makedirs(tree)
        for w in wavs:
            shutil.copy(w, tree)
        e = json.loads(run('eval', '--json', '-m', MODEL, '-j', '2',
                           os.path.join(tmp, 'tree')).stdout)
        check(e['files'] == len(wavs), f'eval counts {len(wavs)} files')
        cm = e['confusion']
        check(sum(map(sum, cm)) + e['no_speech'] == len(wavs), 'confusion sums to files')
        diag = sum(cm[i][i] for i in range(len(cm)))
        check(abs(e['accuracy'] - diag / len(wavs)) < 1e-9, 'accuracy = trace / files')
        preds = [max(r['probs'], key=r['probs'].get) for r in a]
        truth = ['neutral', 'calm', 'happy', 'sad', 'angry', 'fearful', 'disgust',
                 'surprised']
        cols = [sum(cm[i][j] for i in range(8)) for j in range(8)]
        check(all(cols[truth.index(l)] == preds.count(l) for l in truth),
              'eval predictions agree with analyze')
    finally:
        shutil.rmtree(tmp)
    return finish()


if __name__ == '__main__':
    sys.exit(main())
