#!/usr/bin/env python3
"""The third fault catalogue (#37): one case or more per item, each named
with its number, against the real binary on the committed models and
generated audio (stdlib only). Items covered elsewhere say where:

   1  every WebSocket upgrade passes the checks or gets no 101   tests/e2e/serve.py
                                                                   (test_upgrade_matrix)
   5  eval with readable files and no speech: exit 1, no metrics here
   7  library: zero-capacity read, NULL header/stats/kind, NaN    tests/unit/api.c
"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import EMOTOP, FIX, check, finish, write16  # noqa: E402

TINY = os.path.join(FIX, 'model-tiny-bilstm')
TMP = tempfile.mkdtemp(prefix='emotop-faults3-')


def item5_eval_no_speech():
    d = os.path.join(TMP, 'silent')
    os.makedirs(d)
    for name in ('03-01-01-01-01-01-02.wav', '03-01-05-01-01-01-02.wav'):
        write16(os.path.join(d, name), [0.0] * 32000, 16000)
    for json_flag in ([], ['--json']):
        p = subprocess.run([EMOTOP, 'eval', '-m', TINY, *json_flag, d], capture_output=True,
                           text=True)
        check(p.returncode == 1 and 'accuracy' not in p.stdout.lower() and
              'no metrics' in p.stderr,
              f'5: eval {" ".join(json_flag)} of readable files without speech: exit 1, '
              'no metrics, says why', (p.returncode, p.stdout[:200], p.stderr))


item5_eval_no_speech()
shutil.rmtree(TMP)
sys.exit(finish())
