#!/usr/bin/python3
"""emotop's VAD against Silero VAD v5 on RAVDESS with added noise.

  tests/bench_vad.py [--emotop build/emotop] [--files 40] [--json OUT]

Reference labels: Silero (threshold 0.5, 32 ms chunks) on the clean 16 kHz
files. Test audio: the same files with white, pink or babble noise (a sum of
other RAVDESS utterances) at 20/10/5/0 dB SNR (speech power over the
reference speech frames), after a noise-only lead-in of 2 s so that the
noise floor must adapt. Frame-level precision/recall/F1 on a 10 ms grid for
emotop (raw frame decisions and final padded segments) and for Silero itself
on the noisy audio; real-time factors of both on one core.

Reads ../shared/data (skips with a message when it is absent). Needs
Debian's python3-torch, python3-numpy, python3-soundfile.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import soundfile as sf
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'models'))
import torch_threads  # noqa: E402

DATA = os.path.normpath(os.path.join(HERE, '..', '..', '..', 'shared', 'data'))
SR = 16000
LEAD = 2.0
GRID = 0.01


def silero_probs(model, x):
    model.reset_states()
    n = len(x) // 512
    out = np.zeros(n, dtype=np.float32)
    with torch.no_grad():
        for i in range(n):
            out[i] = model(torch.from_numpy(x[i * 512:(i + 1) * 512]), SR).item()
    return out


def to_grid(labels, frame_s, dur):
    """Frame labels -> 10 ms grid (label of the frame holding the cell centre)."""
    n = int(dur / GRID)
    idx = ((np.arange(n) + 0.5) * GRID / frame_s).astype(int)
    lab = np.zeros(n, dtype=bool)
    ok = idx < len(labels)
    lab[ok] = np.asarray(labels, dtype=bool)[idx[ok]]
    return lab


def segs_to_grid(segs, dur):
    n = int(dur / GRID)
    t = (np.arange(n) + 0.5) * GRID
    lab = np.zeros(n, dtype=bool)
    for a, b in segs:
        lab |= (t >= a) & (t < b)
    return lab


def prf(pred, ref):
    tp = np.sum(pred & ref)
    fp = np.sum(pred & ~ref)
    fn = np.sum(~pred & ref)
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def pink(n, rng):
    # Voss-McCartney style: 1/f by filtering white noise in the FFT domain
    w = rng.standard_normal(n)
    spec = np.fft.rfft(w)
    f = np.arange(len(spec))
    f[0] = 1
    return np.fft.irfft(spec / np.sqrt(f), n)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--emotop', default=os.path.join(HERE, '..', '..', 'build', 'emotop'))
    ap.add_argument('--files', type=int, default=40)
    ap.add_argument('--json', help='write the results here too')
    ap.add_argument('--seed', type=int, default=7)
    ap.add_argument('--vad-args', default='', help='extra emotop vad options')
    ap.add_argument('--conditions', default='all',
                    help='comma list like clean,white:10 (default all)')
    a = ap.parse_args()
    files = sorted(glob.glob(os.path.join(DATA, 'ravdess-16k', 'Actor_*', '*.flac')))
    jit = os.path.join(DATA, 'silero-vad', 'silero_vad.jit')
    if not files or not os.path.exists(jit):
        print(f'skipped: {DATA} (RAVDESS 16 kHz and Silero VAD) not found')
        return 77
    torch_threads.set_threads(1)
    rng = np.random.default_rng(a.seed)
    pick = [files[i] for i in rng.choice(len(files), a.files, replace=False)]
    others = [f for f in files if f not in pick]
    model = torch.jit.load(jit)
    clean = [sf.read(f, dtype='float32')[0] for f in pick]

    # reference labels and Silero's own speed on clean audio
    t0 = time.perf_counter()
    refs = [silero_probs(model, x) > 0.5 for x in clean]
    silero_rtf = (time.perf_counter() - t0) / (sum(map(len, clean)) / SR)

    conditions = [('clean', None)] + [(n, s) for n in ('white', 'pink', 'babble')
                                     for s in (20, 10, 5, 0)]
    if a.conditions != 'all':
        want = set(a.conditions.split(','))
        conditions = [c for c in conditions
                      if (c[0] if c[1] is None else f'{c[0]}:{c[1]}') in want]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, snr in conditions:
            paths, audios, refgrids = [], [], []
            for k, (x, ref) in enumerate(zip(clean, refs)):
                lead = 0 if snr is None else int(LEAD * SR)
                y = np.concatenate([np.zeros(lead, np.float32), x])
                dur = len(y) / SR
                rg = np.concatenate([np.zeros(int(round(lead / SR / GRID)), bool),
                                     to_grid(ref, 0.032, len(x) / SR)])[:int(dur / GRID)]
                if snr is not None:
                    if name == 'white':
                        nz = rng.standard_normal(len(y))
                    elif name == 'pink':
                        nz = pink(len(y), rng)
                    else:  # babble: four other utterances, looped and summed
                        nz = np.zeros(len(y))
                        for f in rng.choice(len(others), 4, replace=False):
                            o = sf.read(others[f], dtype='float32')[0]
                            o = np.tile(o, len(y) // len(o) + 1)[:len(y)]
                            nz += o / (np.std(o) + 1e-9)
                    sp = np.repeat(ref, 512)[:len(x)]
                    p_speech = np.mean(x[:len(sp)][sp] ** 2) if sp.any() else np.mean(x ** 2)
                    nz = nz / np.sqrt(np.mean(nz ** 2)) * np.sqrt(p_speech / 10 ** (snr / 10))
                    y = (y + nz).astype(np.float32)
                    y = np.clip(y, -1, 1)
                p = os.path.join(tmp, f'{name}-{snr}-{k}.wav')
                sf.write(p, y, SR, subtype='FLOAT')
                paths.append(p)
                audios.append(y)
                refgrids.append(rg)
            t0 = time.perf_counter()
            out = subprocess.run([a.emotop, 'vad', '--json', '--frames'] + a.vad_args.split() + paths,
                                 check=True, capture_output=True, text=True).stdout
            emo_time = time.perf_counter() - t0
            recs = [json.loads(l) for l in out.splitlines()]
            P = {'raw': [], 'seg': [], 'silero': []}
            R = []
            t0 = time.perf_counter()
            for rec, y, rg in zip(recs, audios, refgrids):
                dur = len(y) / SR
                n = len(rg)
                P['raw'].append(to_grid([f[1] for f in rec['frames']],
                                        rec['frame_ms'] / 1000, dur)[:n])
                P['seg'].append(segs_to_grid(rec['segments'], dur)[:n])
                sp = silero_probs(model, y) > 0.5 if snr is not None else None
                P['silero'].append(to_grid(sp, 0.032, dur)[:n] if sp is not None
                                   else rg)
                R.append(rg)
            ref = np.concatenate(R)
            audio_s = sum(map(len, audios)) / SR
            row = {'noise': name, 'snr_db': snr,
                   'emotop_cmd_rtf': emo_time / audio_s,
                   'emotop_rtf': sum(r['vad_seconds'] for r in recs) / audio_s}
            for k in P:
                row[k] = dict(zip(('precision', 'recall', 'f1'),
                                  map(float, prf(np.concatenate(P[k]), ref))))
            results.append(row)
            print(f'{name:>6} {"" if snr is None else snr:>3}  '
                  f'emotop raw F1 {row["raw"]["f1"]:.3f}  segments F1 '
                  f'{row["seg"]["f1"]:.3f} (P {row["seg"]["precision"]:.2f} '
                  f'R {row["seg"]["recall"]:.2f})  silero F1 '
                  f'{row["silero"]["f1"]:.3f}', flush=True)
    emo_rtf = float(np.median([r['emotop_rtf'] for r in results]))
    cmd_rtf = float(np.median([r['emotop_cmd_rtf'] for r in results]))
    print(f'\nspeed (one core): emotop VAD RTF {emo_rtf:.6f} (whole command with '
          f'decoding and start-up: {cmd_rtf:.5f}), Silero RTF {silero_rtf:.4f}; '
          f'emotop is {silero_rtf / emo_rtf:.0f}x faster ({silero_rtf / cmd_rtf:.0f}x '
          f'counting the whole command)')
    print('\n| noise | SNR dB | emotop raw P/R/F1 | emotop segments P/R/F1 | '
          'Silero P/R/F1 |\n|---|---|---|---|---|')
    for r in results:
        f = lambda d: f'{d["precision"]:.2f}/{d["recall"]:.2f}/**{d["f1"]:.3f}**'
        print(f'| {r["noise"]} | {"-" if r["snr_db"] is None else r["snr_db"]} | '
              f'{f(r["raw"])} | {f(r["seg"])} | {f(r["silero"])} |')
    if a.json:
        with open(a.json, 'w') as fo:
            json.dump({'files': a.files, 'silero_rtf': silero_rtf,
                       'emotop_rtf': emo_rtf, 'rows': results}, fo, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
