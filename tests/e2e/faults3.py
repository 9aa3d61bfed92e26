#!/usr/bin/env python3
"""The third fault catalogue (#37): one case or more per item, each named
with its number, against the real binary on the committed models and
generated audio (stdlib only). Items covered elsewhere say where; items
not listed are not fixed yet (see the issue's closing note):

   1  every WebSocket upgrade passes the checks or gets no 101   tests/e2e/serve.py
                                                                   (test_upgrade_matrix)
   2  ulimit -v: every encoder command fails clearly, no spin    here
   3  a huge log line is refused while reading (memory bound)    here
   4  --record --force replaces a symlink, never its target      here
   5  eval with readable files and no speech: exit 1, no metrics here
   6  a log's settings held to the command line's bounds, no     here
      cast of an out-of-range double (UB)
   7  library: zero-capacity read, NULL header/stats/kind, NaN   tests/unit/api.c
   8  300 half-open connections do not block the page            tests/e2e/serve.py
                                                                   (test_slowloris)
  10  small: eval --list compares canonical paths; serve         here
      --listen 127.0.0.2 prints its own address
"""
import json
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


def item6_log_settings_bounded():
    wav = os.path.join(TMP, 'six.wav')
    write16(wav, voice(3.0, 16000), 16000)
    log = os.path.join(TMP, 'six.jsonl')
    subprocess.run([EMOTOP, 'live', '--no-tui', '--fast', '-i', wav, '-m', TINY, '--log', log,
                    '--record', os.path.join(TMP, 'six.flac')],
                   check=True, capture_output=True)
    lines = open(log).read().splitlines()
    p = subprocess.run([EMOTOP, 'replay', '--no-tui', '--reanalyze', '-m', TINY, log],
                       capture_output=True, text=True, cwd=TMP)
    check(p.returncode == 0, '6: the unchanged log reanalyses', p.stderr[-500:])
    for sect, key, val in (('vad', 'floor_window_ms', 1e12), ('vad', 'snr_db', 1e308),
                           ('vad', 'min_level_dbfs', -1e308), ('vad', 'frame_ms', 20.5),
                           ('vad', 'floor_window_ms', 2 ** 31 - 1),
                           ('analysis', 'window', 1e300), ('analysis', 'smoothing', -1),
                           ('vad', 'pad_ms', 'x')):
        h = json.loads(lines[0])
        h.setdefault(sect, {})[key] = val
        bad = os.path.join(TMP, f'bad-{key}.jsonl')
        with open(bad, 'w') as f:
            f.write('\n'.join([json.dumps(h)] + lines[1:]) + '\n')
        for cmd in (['replay', '--no-tui', '--reanalyze', '-m', TINY], ['report', '-o',
                                                                         bad + '.svg']):
            p = subprocess.run([EMOTOP, *cmd, bad], capture_output=True, text=True, cwd=TMP)
            check(p.returncode != 0 and f'{sect}.{key}' in p.stderr and 'bounds' in p.stderr
                  and 'out of memory' not in p.stderr and 'runtime error' not in p.stderr,
                  f'6: {cmd[0]} of a log with {sect}.{key} = {val!r}: refused, naming it',
                  p.stderr[-400:])
    p = subprocess.run([EMOTOP, 'vad', '--vad-frame', '20.5', wav], capture_output=True,
                       text=True)
    check(p.returncode == 2 and 'whole number' in p.stderr,
          '6: --vad-frame 20.5 on the command line: the same rule', p.stderr)


def item3_huge_line():
    import resource
    hdr = open(os.path.join(FIX, 'session-v1.jsonl')).readline()
    big = os.path.join(TMP, 'big.jsonl')
    with open(big, 'w') as f:
        f.write(hdr)
        f.write('{"type":"event","detail":"')
        block = 'x' * (1 << 20)
        for _ in range(300):  # a 300 MB line
            f.write(block)
        f.write('"}\n')
    for cmd in (['report', '-o', big + '.svg'], ['replay', '--no-tui']):
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        p = subprocess.run([EMOTOP, *cmd, big], capture_output=True, text=True, cwd=TMP)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        check(p.returncode != 0 and 'longer than' in p.stderr and ':2:' in p.stderr,
              f'3: {cmd[0]} of a log with a 300 MB line: refused, naming line 2', p.stderr)
        check(peak < 120 * 1024 or peak == before, f'3: {cmd[0]} peak RSS {peak >> 10} MiB '
              '(bounded, not the line\'s 300 MB)', peak)
    os.unlink(big)


def item2_ulimit_every_encoder_command():
    if os.environ.get('EMOTOP_SANITIZED') == '1':
        print('skipped: 2 (ulimit -v) under a sanitizer, which reserves terabytes')
        return
    import resource
    import time
    wav = os.path.join(TMP, 'two.wav')
    write16(wav, voice(2.0, 16000), 16000)
    cmds = [['bench', '-m', TINY, '--seconds', '1'],
            ['embed', '-m', TINY, '-o', os.path.join(TMP, 'e.npy'), '--force', wav],
            ['analyze', '-m', TINY, wav],
            ['live', '--no-tui', '--fast', '-m', TINY, '-i', wav]]
    for mb in (150, 400):
        def limit_as():
            resource.setrlimit(resource.RLIMIT_AS, (mb << 20, mb << 20))
        for cmd in cmds:
            t0 = time.time()
            try:
                p = subprocess.run([EMOTOP, *cmd], capture_output=True, text=True,
                                   timeout=30, preexec_fn=limit_as)
                rc, err = p.returncode, p.stderr
            except subprocess.TimeoutExpired:
                rc, err = None, 'spun for 30 s'
            check(rc == 1 and 'ulimit -v' in err and time.time() - t0 < 20,
                  f'2: {cmd[0]} under ulimit -v {mb} MB: a clear error and exit 1, no spin',
                  (rc, err[-300:]))


def item10_small():
    wav = os.path.join(TMP, 'a.wav')
    write16(wav, voice(2.0, 16000), 16000)
    lst = os.path.join(TMP, 'dup.tsv')
    with open(lst, 'w') as f:
        f.write('a.wav\tangry\n./a.wav\tangry\n' + wav + '\tangry\n')
    p = subprocess.run([EMOTOP, 'eval', '-m', TINY, '--list', lst], capture_output=True,
                       text=True, cwd=TMP)
    check('1 files' in p.stdout and p.stderr.count('listed already') == 2,
          '10: eval --list: a.wav, ./a.wav and its absolute path are one file, said twice',
          (p.stdout[:200], p.stderr))
    import re
    import signal
    srv = subprocess.Popen([EMOTOP, 'serve', '--listen', '127.0.0.2:0', '-m', TINY],
                           stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    line = srv.stderr.readline()
    srv.send_signal(signal.SIGINT)
    srv.wait(30)
    check(re.search(r'http://127\.0\.0\.2:\d+/\?token=', line) is not None,
          '10: serve --listen 127.0.0.2:P prints a 127.0.0.2 URL', line)


item10_small()
item2_ulimit_every_encoder_command()
item3_huge_line()
item4_record_force_symlink()
item6_log_settings_bounded()
item5_eval_no_speech()
shutil.rmtree(TMP)
sys.exit(finish())
