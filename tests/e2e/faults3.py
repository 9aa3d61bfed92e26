#!/usr/bin/env python3
"""The third fault catalogue (#37): one case or more per item, each named
with its number, against the real binary on the committed models and
generated audio (stdlib only). Items covered elsewhere say where:

   1  every WebSocket upgrade passes the checks or gets no 101   tests/e2e/serve.py
                                                                   (test_upgrade_matrix)
   4  --record --force replaces a symlink, never its target     here
   5  eval with readable files and no speech: exit 1, no metrics here
   7  library: zero-capacity read, NULL header/stats/kind, NaN    tests/unit/api.c
"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import EMOTOP, FIX, check, finish, voice, write16  # noqa: E402

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


def item4_record_force_symlink():
    wav = os.path.join(TMP, 'speech.wav')
    write16(wav, voice(3.0, 16000), 16000)
    target = os.path.join(TMP, 'precious.txt')
    with open(target, 'w') as f:
        f.write('precious\n')
    link = os.path.join(TMP, 'rec.flac')
    os.symlink(target, link)
    p = subprocess.run([EMOTOP, 'live', '--no-tui', '--fast', '-i', wav, '-m', TINY,
                        '--record', link], capture_output=True, text=True)
    check(p.returncode != 0 and open(target).read() == 'precious\n',
          '4: --record onto a symlink without --force: refused, target untouched', p.stderr)
    p = subprocess.run([EMOTOP, 'live', '--no-tui', '--fast', '-i', wav, '-m', TINY,
                        '--record', link, '--force'], capture_output=True, text=True)
    check(p.returncode == 0 and open(target).read() == 'precious\n' and
          not os.path.islink(link) and open(link, 'rb').read(4) == b'fLaC',
          '4: --record --force replaces the link with the recording; the target is kept',
          p.stderr)


item4_record_force_symlink()
item5_eval_no_speech()
shutil.rmtree(TMP)
sys.exit(finish())
