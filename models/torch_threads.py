"""torch.set_num_threads for Debian's torch, which does its matrix products
in OpenBLAS.

torch.set_num_threads does not reach OpenBLAS: each process keeps one
OpenBLAS worker per core, and between products the workers spin in
sched_yield. A "one-thread" torch process then uses two cores for its
GEMMs. Here a 64x400 @ 400x128 product ran 10x slower beside two other
torch processes, and a training fold 1.4x slower per epoch with another
fold beside it. Every script that times torch or runs it beside other work
sets both counts with set_threads(). (Holding OpenBLAS to 2 does not make
torch at 2 threads faster than at 1 on hubert-base: 1140 vs 695 ms here.)
"""
import ctypes
import os

import torch


def set_blas_threads(n):
    """Set the thread count of the OpenBLAS torch has loaded; returns the
    count it reports, or None when no OpenBLAS is loaded (torch's BLAS is
    another one: nothing to set)."""
    # libblas.so.3 is Debian's alternatives link; its OpenBLAS core has the
    # soname libopenblas.so.0. RTLD_NOLOAD: only a library already in the
    # process, never a second copy that torch does not use
    for name in ('libopenblas.so.0', 'libblas.so.3'):
        try:
            lib = ctypes.CDLL(name, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
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
