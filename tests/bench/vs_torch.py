#!/usr/bin/python3
"""emotop's encoder vs PyTorch on the same weights, window by window.

  OPENBLAS_CORETYPE=SkylakeX tests/bench/vs_torch.py --model DIR \
      [--seconds 2,3,10] [--threads 1] [--rounds 5] [--runs 3]

DIR is an HF-layout hubert-base directory (tests/fixtures/gen_hubert.py
--size full --variant base makes one with random weights). For each window
length and thread count the two engines run alternately, `rounds` times
(torch: `runs` forwards in this process, steady state; emotop: `emotop
bench` with `runs` timed forwards after a warm-up), so machine noise hits
both alike; the table shows the medians and the ratio torch/emotop. Both
sides use the OpenBLAS kernel family of the environment (set
OPENBLAS_CORETYPE to choose it); the kernel each side reports, the thread
counts and whether the CPU has AVX-512 are printed, so a reader can check
that the comparison is like for like.
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'models'))
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


def time_emotop(exe, model, threads, runs, seconds, env, precision='fp32'):
    out = subprocess.run([exe, 'bench', '--model', model, '--seconds',
                          str(seconds), '--threads', str(threads), '--runs',
                          str(runs), '--precision', precision, '--json'], check=True,
                         capture_output=True, text=True, env=env).stdout
    return json.loads(out)


def torch_blas_core():
    import ctypes
    for name in ('libopenblas.so.0', 'libblas.so.3'):
        try:
            lib = ctypes.CDLL(name, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
        except OSError:
            continue
        if hasattr(lib, 'openblas_get_corename'):
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return lib.openblas_get_corename().decode()
    return 'not OpenBLAS'


def cpu_flags():
    try:
        for line in open('/proc/cpuinfo'):
            if line.startswith('flags'):
                return set(line.split(':', 1)[1].split())
    except OSError:
        pass
    return set()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--emotop', default='build/emotop')
    ap.add_argument('--model', required=True)
    ap.add_argument('--rounds', type=int, default=5)
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--seconds', default='2,3,10')
    ap.add_argument('--threads', default='1')
    ap.add_argument('--precision', default='fp32', choices=['fp32', 'bf16'],
                    help="emotop's (torch stays fp32)")
    a = ap.parse_args()
    env = dict(os.environ)
    m = torch_model(a.model)
    flags = cpu_flags()
    print(f'torch {torch.__version__}; AVX-512: {"yes" if "avx512f" in flags else "no"}'
          f' (bf16: {"yes" if "avx512_bf16" in flags else "no"}); '
          f'OPENBLAS_CORETYPE={env.get("OPENBLAS_CORETYPE", "(unset)")}; '
          f'emotop {a.precision}; '
          f'{a.rounds} alternating rounds x {a.runs} runs')
    print(f'{"seconds":>7} {"threads":>7} {"torch ms":>9} {"emotop ms":>10} {"ratio":>6} '
          f'{"non-GEMM":>8} {"torch BLAS":>11} {"emotop BLAS":>11} {"torch thr":>9}')
    rows = []
    for sec in [float(x) for x in a.seconds.split(',')]:
        x = 0.1 * torch.randn(1, int(sec * 16000),
                              generator=torch.Generator().manual_seed(0))
        for th in [int(t) for t in a.threads.split(',')]:
            blas_threads = torch_threads.set_threads(th)  # OpenBLAS too
            time_torch(m, x, 1)  # warm-up
            tt, et, last = [], [], None
            for _ in range(a.rounds):
                tt.append(time_torch(m, x, a.runs))
                last = time_emotop(a.emotop, a.model, th, a.runs, sec, env, a.precision)
                et.append(last['median_s'])
            t, e = statistics.median(tt), statistics.median(et)
            row = {'seconds': sec, 'threads': th, 'torch_s': t, 'emotop_s': e,
                   'ratio': t / e, 'torch_all_s': tt, 'emotop_all_s': et,
                   'non_gemm_share': last.get('non_gemm_share'),
                   'torch_blas': torch_blas_core(), 'emotop_blas': last.get('blas_core'),
                   'emotop_engine': last.get('engine'), 'precision': a.precision,
                   'torch_threads': [torch.get_num_threads(), blas_threads],
                   'load_s': last['load_s'], 'peak_rss_mib': last['peak_rss_mib']}
            rows.append(row)
            print(f'{sec:>7g} {th:>7} {t * 1e3:>9.1f} {e * 1e3:>10.1f} {t / e:>5.2f}x '
                  f'{100 * (row["non_gemm_share"] or 0):>7.0f}% {row["torch_blas"]:>11} '
                  f'{str(row["emotop_blas"]):>11} {str(row["torch_threads"]):>9}')
    print(json.dumps(rows))


if __name__ == '__main__':
    main()
