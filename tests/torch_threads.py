"""torch.set_num_threads for Debian's torch, which does its matrix products
in OpenBLAS.

torch.set_num_threads does not reach OpenBLAS: each process keeps one
OpenBLAS worker per core, and between products the workers spin in
sched_yield. A "one-thread" torch process then uses two cores for its
GEMMs, and a two-thread one runs four busy threads on two cores. Here a
64x400 @ 400x128 product ran 10x slower beside two other torch processes,
a training fold 1.4x slower per epoch with another fold beside it, and
hubert-base at torch's 2 threads slower than at 1. Every script that times
torch or runs it beside other work sets both counts with set_threads().
"""
import ctypes

import torch


def set_blas_threads(n):
    """Set OpenBLAS's thread count; returns the count it reports, or None
    when torch's BLAS is not OpenBLAS (then there is nothing to set)."""
    # libblas.so.3 is Debian's alternatives link; its OpenBLAS core has the
    # soname libopenblas.so.0, so either name reaches the instance torch uses
    for name in ('libopenblas.so.0', 'libblas.so.3'):
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        if hasattr(lib, 'openblas_set_num_threads'):
            lib.openblas_set_num_threads(n)
            return lib.openblas_get_num_threads()
    return None


def set_threads(n):
    """torch's intra-op threads and OpenBLAS's, both n."""
    torch.set_num_threads(n)
    return set_blas_threads(n)
