"""Shared helpers of the end-to-end test scripts (stdlib only)."""
import os
import sys

EMOTOP = os.path.abspath(os.environ.get('EMOTOP', 'build/emotop'))
SRC = os.path.abspath(os.environ.get('EMOTOP_SOURCE_ROOT', '.'))
FIX = os.path.join(SRC, 'tests', 'fixtures')
DATA = os.path.join(SRC, '..', 'shared', 'data')
_fails = 0


def need_torch():
    """For the scripts that need python3-torch: exit 77 (meson's "skipped")
    when it is not installed."""
    try:
        import torch  # noqa: F401
    except ImportError:
        print('skipped: python3-torch not installed')
        sys.exit(77)


def check(cond, what, detail=None):
    """Prints ok/FAIL for one assertion (and detail when it fails) and
    counts failures."""
    global _fails
    print(('ok   ' if cond else 'FAIL ') + what, flush=True)
    if not cond:
        _fails += 1
        if detail:
            print('     ' + str(detail).replace('\n', '\n     '), flush=True)
    return cond


def finish():
    """Exit status for the script: 1 if any check failed."""
    print(f'{_fails} failure(s)')
    return 1 if _fails else 0


def voice(sec, sr, seed=1):
    """Speech-like audio: a gliding harmonic tone with syllable-rate bursts
    and pauses, which emotop's detector calls speech (for tests that need
    no corpus)."""
    import math
    import random
    r = random.Random(seed)
    out, ph = [], 0.0
    for i in range(int(sec * sr)):
        t = i / sr
        f0 = 140 + 30 * math.sin(2 * math.pi * 0.7 * t)
        ph += 2 * math.pi * f0 / sr
        env = max(0.0, math.sin(2 * math.pi * 2.5 * t)) ** 0.5 if t % 3 < 2.2 else 0.0
        out.append(sum(math.sin(k * ph) / k for k in range(1, 12)) * 0.25 * env
                   + r.gauss(0, 0.003))
    return out


def write16(path, x, sr):
    """16-bit mono WAV."""
    import struct
    import wave
    with wave.open(path, 'wb') as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(b''.join(struct.pack('<h', max(-32768, min(32767, int(v * 32767))))
                               for v in x))


def ravdess_samples():
    """The 48 kHz RAVDESS originals in ../shared/data, sorted; [] (after
    saying so) when the data is not there, and the caller returns 77."""
    import glob
    wavs = sorted(glob.glob(os.path.join(DATA, 'ravdess-48k-sample', '*.wav')))
    if not wavs:
        print('skipped: ../shared/data/ravdess-48k-sample not found')
    return wavs
