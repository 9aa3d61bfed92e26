#!/usr/bin/env python3
"""Streams a WAV file through emotop in 100 ms chunks, as audio arriving
from a microphone callback or a network track would, and prints each
window's label as soon as it is known.

    python3 stream_wav.py speech.wav
"""
import sys
import wave

import numpy as np

import emotop


def show(r, note=''):
    print(f"{r['t0']:6.2f}-{r['t1']:6.2f}  {r['label']:<10} "
          f"{100 * r['confidence']:4.0f} %  {note}", flush=True)


def main(path):
    model = emotop.Model()
    with wave.open(path, 'rb') as w:
        if w.getsampwidth() != 2:
            sys.exit(f'{path}: this example reads 16-bit WAV only')
        rate, ch = w.getframerate(), w.getnchannels()
        block = rate // 10  # 100 ms
        s = model.stream(rate)
        while True:
            raw = w.readframes(block)
            if not raw:
                break
            x = np.frombuffer(raw, dtype='<i2').reshape(-1, ch).mean(axis=1) / 32768
            for r in s.push(x.astype(np.float32)):
                show(r)
        for r in s.close():  # the last window, flushed at the end of the input
            show(r, '(end)')
    return 0


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
