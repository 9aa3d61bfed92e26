"""What a newcomer tripped over (#36), each item a case that fails on the
code before its fix; generated audio and the committed models, no
../shared/data. Items covered elsewhere say where:

   3  one label per window, the same in text and JSON     here
   5  meson install installs the model                    tests/e2e/install.py
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from common import EMOTOP, SRC, check, finish, voice, write16  # noqa: E402

SHIPPED = os.path.join(SRC, 'models', 'emotop-small')
TMP = tempfile.mkdtemp(prefix='emotop-newcomer-')


def run(*args):
    return subprocess.run([EMOTOP, *args], capture_output=True, text=True)


def item3_one_label():
    wav = os.path.join(TMP, 'v.wav')
    write16(wav, voice(12.0, 16000, seed=3), 16000)
    js = [json.loads(x) for x in run('analyze', '--json', '-m', SHIPPED, wav).stdout.splitlines()]
    wins = [r for r in js if r['type'] == 'window']
    text = run('analyze', '-m', SHIPPED, wav).stdout.splitlines()
    rows = [ln.split() for ln in text if ln.strip()[:1].isdigit() and '-' in ln.split()[0]]
    check(len(wins) >= 5 and len(rows) == len(wins), 'text and JSON list the same windows',
          (len(wins), len(rows)))
    check(any('label (smoothed)' in ln for ln in text), 'the text names its label column')
    same = all(row[1] == w['label'] and row[3] == w['top'] for row, w in zip(rows, wins))
    check(same, 'each window: the same label in text and JSON, and the same top', rows[:3])
    check(all('smoothed' in w and abs(w['confidence'] - w['smoothed'][w['label']]) < 1e-5
              and w['top'] == max(w['probs'], key=w['probs'].get) for w in wins),
          'JSON: label/confidence from "smoothed" (given), top = argmax of probs')


item3_one_label()
sys.exit(finish())
