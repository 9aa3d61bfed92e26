"""What a newcomer tripped over (#36), each item a case that fails on the
code before its fix; generated audio and the committed models, no
../shared/data. Items covered elsewhere say where:

   2  the report's valence/arousal axis: 0 in the middle,     here
      the panel clear of the chart above
   3  one label per window, the same in text and JSON     here
   6  --record: only extensions it writes; float WAV as       here
      WAVE_FORMAT_EXTENSIBLE
   4  a progress line on long jobs (a terminal's stderr only) here
   8  an unknown option or a missing value: said as every     here
      usage error is (prefix, Try --help, exit 2)
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


def item2_report_axis():
    import re
    import xml.dom.minidom
    wav = os.path.join(TMP, 'r.wav')
    write16(wav, voice(6.0, 16000, seed=4), 16000)
    log = os.path.join(TMP, 'r.jsonl')
    subprocess.run([EMOTOP, 'live', '--no-tui', '--fast', '-m', SHIPPED, '-i', wav, '--log',
                    log], check=True, capture_output=True)
    svg = os.path.join(TMP, 'r.svg')
    p = run('report', log, '-o', svg)
    check(p.returncode == 0, 'report writes the SVG', p.stderr)
    doc = xml.dom.minidom.parse(svg)
    texts = {t.firstChild.data if t.firstChild else '': t for t in
             doc.getElementsByTagName('text')}
    ys = {}
    for lab in ('+1', '+0', '-1'):
        t = texts.get(lab)
        ys[lab] = float(t.getAttribute('y')) if t else None
    check(None not in ys.values() and ys['+1'] < ys['+0'] < ys['-1'] and
          abs((ys['+1'] + ys['-1']) / 2 - ys['+0']) < 0.5,
          'valence/arousal axis: +1 at the top, +0 exactly midway, -1 at the bottom', ys)
    title = next((t for k, t in texts.items() if k.startswith('Valence and arousal')), None)
    tick_y = max(float(t.getAttribute('y')) for k, t in texts.items()
                 if re.fullmatch(r'[0-9.]+ (s|min|h)', k))
    ty = float(title.getAttribute('y')) if title else 0
    check(title is not None and ty - tick_y >= 24,
          'the panel title sits clear of the time labels above it (>= 24 px)', (ty, tick_y))


def item6_record_formats():
    import struct
    wav = os.path.join(TMP, 'six.wav')
    write16(wav, voice(3.0, 16000, seed=6), 16000)
    for bad in ('out.mp3', 'out.ogg', 'noext'):
        out = os.path.join(TMP, bad)
        p = run('live', '--no-tui', '--fast', '-m', SHIPPED, '-i', wav, '--record', out)
        check(p.returncode != 0 and not os.path.exists(out) and '.wav' in p.stderr and
              '.flac' in p.stderr, f'--record {bad}: refused before anything is written',
              p.stderr)
    out = os.path.join(TMP, 'rec.wav')
    p = run('live', '--no-tui', '--fast', '-m', SHIPPED, '-i', wav, '--record', out)
    head = open(out, 'rb').read(64)
    tag, = struct.unpack('<H', head[20:22])
    sub = head[44:60]
    check(p.returncode == 0 and tag == 0xFFFE and
          sub[:2] == b'\x03\x00' and sub[2:] == bytes.fromhex('000000001000800000aa00389b71'),
          'a .wav recording is WAVE_FORMAT_EXTENSIBLE with the IEEE-float subformat',
          (hex(tag), sub.hex()))


def item4_progress():
    import shlex
    files = []
    for i in range(6):
        f = os.path.join(TMP, f'p{i}.wav')
        write16(f, voice(2.0, 16000, seed=10 + i), 16000)
        files.append(f)
    lst = os.path.join(TMP, 'p.tsv')
    with open(lst, 'w') as fh:
        fh.write(''.join(f'{f}\t{"angry" if i % 2 else "happy"}\n' for i, f in enumerate(files)))
    tiny = os.path.join(SRC, 'tests', 'fixtures', 'model-tiny-bilstm')
    jobs = {'analyze': [EMOTOP, 'analyze', '--json', '-m', tiny, *files],
            'eval': [EMOTOP, 'eval', '-m', tiny, '--list', lst]}
    for name, cmd in jobs.items():
        for quiet in (False, True):
            c = cmd + (['--quiet'] if quiet else [])
            out = os.path.join(TMP, f'{name}.out')
            # script(1) gives the command a terminal; its stdout goes to a file
            line = ' '.join(map(shlex.quote, c)) + ' > ' + shlex.quote(out)
            ts = os.path.join(TMP, 'typescript')
            subprocess.run(['script', '-qfec', line, ts], check=True, capture_output=True)
            tty = open(ts, 'rb').read().decode('utf-8', 'replace')
            shown = f'{name}: 6/6 files (100 %)' in tty and 'left' in tty
            check(shown != quiet, f'{name} on a terminal{" --quiet" if quiet else ""}: '
                  f'{"no " if quiet else ""}progress line (files done/total, elapsed, ETA)',
                  tty[-300:])
        p = subprocess.run(cmd, capture_output=True, text=True)
        check('files (' not in p.stderr, f'{name} with stderr not a terminal: no progress',
              p.stderr[-200:])


def item8_log_auto_named():
    wav = os.path.join(TMP, 'auto.wav')
    write16(wav, voice(2.0, 16000), 16000)
    d = os.path.join(TMP, 'auto')
    os.makedirs(d)
    p = subprocess.run([EMOTOP, 'live', '--no-tui', '--fast', '-m', SHIPPED, '-i', wav,
                        '--log', 'auto'], capture_output=True, text=True, cwd=d)
    made = [f for f in os.listdir(d) if f.endswith('.jsonl')]
    check(p.returncode == 0 and len(made) == 1 and f'logging to {made[0]}' in p.stderr,
          '--log auto --no-tui says which file it chose', (made, p.stderr[-300:]))


def item8_option_messages():
    for args, want in ((['analyze', '--jsn', 'x.wav'], "emotop analyze: unknown option '--jsn'"),
                       (['eval', '--list'], "emotop eval: option '--list' needs a value"),
                       (['vad', '-z', 'x.wav'], "emotop vad: unknown option '-z'"),
                       (['report', '--bogus'], "emotop report: unknown option '--bogus'"),
                       (['live', '-m'], "emotop live: option '-m' needs a value")):
        p = run(*args)
        cmd = args[0]
        check(p.returncode == 2 and p.stderr.startswith(want) and
              f"Try 'emotop {cmd} --help'." in p.stderr and p.stderr.count('\n') == 2,
              f'{" ".join(args)}: "{want}", then Try, exit 2', p.stderr)


item8_option_messages()
item8_log_auto_named()
item4_progress()
item6_record_formats()
item2_report_axis()
item3_one_label()
sys.exit(finish())
