#!/usr/bin/python3
"""emotop's encoder vs PyTorch on the same weights and the same 3 s input.

  tests/bench_vs_torch.py --emotop build/emotop --model DIR [--rounds 5]

DIR is an HF-layout hubert-base directory (tests/gen_hubert_fixtures.py
--size full --variant base makes one with random weights). For each thread
count the two engines run alternately, `rounds` times, so machine noise hits
both alike; the table shows medians and the ratio torch/emotop.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch
from torchaudio.models import hubert_base

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_write  # noqa: E402
import torch_threads  # noqa: E402


def torch_model(model_dir):
    sd = st_write.load(os.path.join(model_dir, 'model.safetensors'))
    m = hubert_base().eval()
    mapped = {k: torch.from_numpy(v) for k, v in st_write.hf_to_torchaudio(sd).items()}
    missing, unexpected = m.load_state_dict(mapped, strict=False)
    missing = [k for k in missing if not k.startswith('aux')]
    if missing or unexpected:
        sys.exit(f'weights do not fit torchaudio hubert_base: {missing[:3]} '
                 f'{unexpected[:3]}')
    return m


def time_torch(m, x, runs):
    ts = []
    with torch.inference_mode():
        for _ in range(runs):
            a = time.perf_counter()
            m(x)
            ts.append(time.perf_counter() - a)
    return statistics.median(ts)


def time_emotop(exe, model, threads, runs, seconds, env):
    out = subprocess.run([exe, 'bench', '--model', model, '--seconds',
                          str(seconds), '--threads', str(threads), '--runs',
                          str(runs), '--json'], check=True,
                         capture_output=True, text=True, env=env).stdout
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--emotop', default='build/emotop')
    ap.add_argument('--model', required=True)
    ap.add_argument('--rounds', type=int, default=5)
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--seconds', type=float, default=3.0)
    ap.add_argument('--threads', default='1,2')
    ap.add_argument('--blas-core', default=None,
                    help='OPENBLAS_CORETYPE for emotop (default: let emotop '
                    'choose; "env" keeps the environment\'s)')
    a = ap.parse_args()
    env = dict(os.environ)
    if a.blas_core != 'env':
        env.pop('OPENBLAS_CORETYPE', None)
        if a.blas_core:
            env['OPENBLAS_CORETYPE'] = a.blas_core
    m = torch_model(a.model)
    x = 0.1 * torch.randn(1, int(a.seconds * 16000),
                          generator=torch.Generator().manual_seed(0))
    print(f'torch {torch.__version__}, {a.seconds:g} s input, '
          f'{a.rounds} alternating rounds x {a.runs} runs, OPENBLAS_CORETYPE '
          f'for emotop: {env.get("OPENBLAS_CORETYPE", "(emotop chooses)")}')
    print(f'{"threads":>7} {"torch ms":>9} {"emotop ms":>10} {"ratio":>6} '
          f'{"emotop RTF":>10} {"load s":>7} {"peak MiB":>9}')
    rows = []
    for th in [int(t) for t in a.threads.split(',')]:
        torch_threads.set_threads(th)  # OpenBLAS too: see torch_threads
        time_torch(m, x, 1)  # warm-up
        tt, et, last = [], [], None
        for _ in range(a.rounds):
            tt.append(time_torch(m, x, a.runs))
            last = time_emotop(a.emotop, a.model, th, a.runs, a.seconds, env)
            et.append(last['median_s'])
        t, e = statistics.median(tt), statistics.median(et)
        rows.append({'threads': th, 'torch_s': t, 'emotop_s': e,
                     'ratio': t / e, 'rtf': e / a.seconds,
                     'load_s': last['load_s'],
                     'peak_rss_mib': last['peak_rss_mib']})
        print(f'{th:>7} {t * 1e3:>9.1f} {e * 1e3:>10.1f} {t / e:>5.2f}x '
              f'{e / a.seconds:>10.4f} {last["load_s"]:>7.3f} '
              f'{last["peak_rss_mib"]:>9.0f}')
    print(json.dumps(rows))


if __name__ == '__main__':
    main()
