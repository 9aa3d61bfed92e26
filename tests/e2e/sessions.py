#!/usr/bin/env python3
"""Sessions end to end: log + record a RAVDESS file through `emotop live`,
then `replay --reanalyze` must reproduce every logged window probability
exactly; with another model it must say the weights differ. `replay
--no-tui` prints the records; a log cut mid-line still replays; a malformed
line is reported with its number. `report` writes a well-formed SVG (one
line per emotion, speech shaded) and an HTML page."""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import DATA, EMOTOP, FIX, SRC, check, finish, ravdess_samples  # noqa: E402
import tempfile
import xml.etree.ElementTree as ET

MODEL = os.path.join(FIX, 'model-tiny-bilstm')



def run(*a):
    return subprocess.run([EMOTOP, *a], capture_output=True, text=True, timeout=120)


def main():
    wavs = ravdess_samples()
    if not wavs:
        return 77
    tmp = tempfile.mkdtemp()
    try:
        both = os.path.join(tmp, 'two.wav')
        subprocess.run(['sox', wavs[4], wavs[6], both], check=True)
        log = os.path.join(tmp, 's.jsonl')
        rec = os.path.join(tmp, 's.wav')
        p = run('live', '--no-tui', '--fast', '-m', MODEL, '-i', both, '--log', log,
                '--record', rec)
        check(p.returncode == 0, 'live with --log and --record')
        lines = open(log).read().splitlines()
        recs = [json.loads(l) for l in lines]
        nwin = sum(r['type'] == 'window' for r in recs)
        check(recs[0]['type'] == 'session' and recs[-1]['type'] == 'end' and nwin >= 2,
              f'log: header, {nwin} windows, end')
        p = run('replay', '--reanalyze', log)
        check(p.returncode == 0 and 'exactly' in p.stdout,
              f'record -> replay --reanalyze is exact: {p.stdout.strip()}')
        p = run('replay', '--reanalyze', '-m', os.path.join(FIX, 'model-tiny-bilstm-last'), log)
        check(p.returncode == 1 and 'differ' in p.stdout + p.stderr and
              'sha256' in p.stderr, 'another model: the difference and the hash are reported')
        p = run('replay', '--no-tui', log)
        check(p.returncode == 0 and len(p.stdout.splitlines()) == len(lines),
              'replay --no-tui prints every record')
        cut = os.path.join(tmp, 'cut.jsonl')
        with open(cut, 'w') as f:
            f.write('\n'.join(lines[:-1]) + '\n' + lines[-1][:15])
        p = run('replay', '--no-tui', cut)
        check(p.returncode == 0 and 'incomplete' in p.stderr,
              'a log cut mid-line replays, with a warning')
        bad = os.path.join(tmp, 'bad.jsonl')
        with open(bad, 'w') as f:
            f.write('\n'.join(lines[:2] + ['{"type": "window", oops'] + lines[2:]) + '\n')
        p = run('replay', '--no-tui', bad)
        check(p.returncode == 1 and 'bad.jsonl:3:' in p.stderr,
              'a malformed line is reported with its number')
        svg = os.path.join(tmp, 'r.svg')
        p = run('report', log, '-o', svg)
        check(p.returncode == 0, 'report -o r.svg')
        root = ET.parse(svg).getroot()
        ns = '{http://www.w3.org/2000/svg}'
        lines_ = root.findall(f'{ns}polyline')
        check(len(lines_) == len(recs[0]['labels']) + 2,
              'one line per emotion, and the valence and arousal track')
        texts = [e.text for e in root.iter(f'{ns}text')]
        check('valence' in texts and 'arousal' in texts, 'valence/arousal legend')
        shades = [r for r in root.findall(f'{ns}rect') if r.find(f'{ns}title') is not None
                  and 'speech' in r.find(f'{ns}title').text]
        check(len(shades) == sum(r['type'] == 'speech' for r in recs),
              'a shaded band per speech segment')
        html = os.path.join(tmp, 'r.html')
        p = run('report', log, '-o', html)
        text = open(html).read()
        check(p.returncode == 0 and '<svg' in text and '</html>' in text, 'report -o r.html')
        p = run('report', log, '-o', os.path.join(tmp, 'r.pdf'))
        check(p.returncode == 2, 'unsupported report format: usage error')
    finally:
        shutil.rmtree(tmp)
    return finish()


if __name__ == '__main__':
    sys.exit(main())
