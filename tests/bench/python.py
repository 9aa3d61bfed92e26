#!/usr/bin/python3
"""What the Python binding costs, and the Python route a user had before.

  tests/bench/python.py [--seconds 60] [--rounds 7] [--model DIR]

On one file of generated speech (--seconds long), alternating, --rounds
times (machine noise hits every arm alike), one thread everywhere:

  cli       `emotop analyze --json FILE`, the whole process
  py-proc   `python3 -c "emotop.Model().analyze_file(FILE)"`, the whole
            process (interpreter, numpy and the package imported)
  cli-calc  the CLI's time less its time on a 0.5 s file (start-up, model
            load): the analysis alone
  py-call   in one process: model.analyze_file(FILE), and
  py-array  model.analyze(x, 16000) on the samples in memory
  torch     the same windows (every 2 s window at the analyze hops,
            found by emotop's own analysis) through the PyTorch reference of
            the same model (models/emotop_model.py, check_parity's loader),
            torch's OpenBLAS held to 1 thread (models/torch_threads.py);
            needs python3-torch, skipped without it

Prints the medians and the ratios py-call/cli-calc (the binding's own
cost: the issue's bound is within 5 %) and torch/py-array. Do not run
while anything else loads the machine (training).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import wave

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, '..', '..')
sys.path.insert(0, os.path.join(SRC, 'build', 'python'))
import emotop  # noqa: E402


def voice(seconds, sr=16000, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f = 140 * (1 + 0.15 * np.sin(2 * np.pi * 0.7 * t))
    ph = 2 * np.pi * np.cumsum(f) / sr
    x = sum(np.sin(k * ph) / k for k in range(1, 12))
    env = (np.sin(2 * np.pi * t / 2.4) > -0.2).astype(float)
    return (0.2 * x * env + 0.002 * rng.standard_normal(len(t))).astype(np.float32)


def write(path, x, sr=16000):
    q = np.clip(np.round(x * 32767), -32768, 32767).astype('<i2')
    with wave.open(path, 'wb') as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(q.tobytes())


def wall(cmd, env):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--seconds', type=float, default=60)
    ap.add_argument('--rounds', type=int, default=7)
    ap.add_argument('--model', default=os.path.join(SRC, 'models', 'emotop-small'))
    ap.add_argument('--emotop', default=os.path.join(SRC, 'build', 'emotop'))
    a = ap.parse_args()
    env = dict(os.environ, OPENBLAS_NUM_THREADS='1',
               PYTHONPATH=os.path.join(SRC, 'build', 'python'))
    tmp = tempfile.mkdtemp()
    f, short = os.path.join(tmp, 'long.wav'), os.path.join(tmp, 'short.wav')
    x = voice(a.seconds)
    write(f, x)
    write(short, x[:8000])
    x = (np.round(x * 32767) / 32768).astype(np.float32)  # what the file holds
    m = emotop.Model(a.model, threads=1)
    recs = m.analyze(x, 16000)
    torch_fn = None
    try:
        import torch
        sys.path.insert(0, os.path.join(SRC, 'models'))
        import check_parity
        import torch_threads
        torch_threads.set_threads(1)
        tm, _, do_norm = check_parity.torch_model(a.model)
        import emotop_model as em
        # the windows emotop analysed: 2 s of speech each at the 0.5 s hops
        # (t0, t1 are the first and last speech samples; on this audio the
        # pauses fall inside, so the torch arm gets the same number of
        # equally long windows: a cost comparison, not a parity test)
        n = int(2.0 * 16000)
        starts = [int(r['t0'] * 16000) for r in recs]

        def torch_fn():
            with torch.no_grad():
                for s0 in starts:
                    w = torch.from_numpy(x[s0:s0 + n].copy())
                    if do_norm:
                        w = em.normalize(w, len(w))
                    tm(w[None])
    except ImportError:
        print('torch: skipped (python3-torch is not installed)')
    cmd_cli = [a.emotop, 'analyze', '--json', '-t', '1', '-m', a.model]
    cmd_py = [sys.executable, '-c', f'import emotop; emotop.Model({a.model!r}).analyze_file({f!r})']
    times = {k: [] for k in ('cli', 'cli-short', 'py-proc', 'py-call', 'py-array', 'torch')}
    for r in range(a.rounds):
        times['cli'].append(wall(cmd_cli + [f], env))
        times['py-proc'].append(wall(cmd_py, env))
        times['cli-short'].append(wall(cmd_cli + [short], env))
        t = time.perf_counter()
        m.analyze_file(f)
        times['py-call'].append(time.perf_counter() - t)
        t = time.perf_counter()
        m.analyze(x, 16000)
        times['py-array'].append(time.perf_counter() - t)
        if torch_fn:
            t = time.perf_counter()
            torch_fn()
            times['torch'].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items() if v}
    med['cli-calc'] = med['cli'] - med['cli-short']
    print(f'{a.seconds:g} s of speech, {len(recs)} windows, {a.rounds} alternating rounds, '
          'medians, 1 thread:')
    for k in ('cli', 'cli-short', 'cli-calc', 'py-proc', 'py-call', 'py-array', 'torch'):
        if k in med:
            print(f'  {k:10s} {med[k]:.3f} s')
    print(f'  py-call / cli-calc  {med["py-call"] / med["cli-calc"]:.3f}')
    print(f'  py-proc / cli       {med["py-proc"] / med["cli"]:.3f}')
    if 'torch' in med:
        print(f'  torch / py-array    {med["torch"] / med["py-array"]:.2f}')
    print(json.dumps({k: round(v, 4) for k, v in med.items()}))


if __name__ == '__main__':
    main()
