"""emotop eval --list on a generated list with known answers (no corpus):
each file's prediction is read from `analyze` first, then the list gives
three files their predicted label and one a wrong one, so accuracy must be
exactly 75 %; --map, relative paths, a header, CSV, unknown labels
(reported and skipped), --json, and RAVDESS-named directories as before."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import EMOTOP, SRC, check, finish, voice, write16  # noqa: E402

MODEL = os.path.join(SRC, 'models', 'emotop-small')
VALENCE = {'neutral': 1, 'calm': 1, 'happy': 2, 'sad': 0, 'angry': 0, 'fearful': 0,
           'disgust': 0}


def run(*a):
    return subprocess.run([EMOTOP, *a], capture_output=True, text=True, timeout=300)


with tempfile.TemporaryDirectory() as tmp:
    sub = os.path.join(tmp, 'audio')
    os.mkdir(sub)
    files = []
    for k in range(4):
        p = os.path.join(sub, f'clip{k}.wav')
        write16(p, voice(3 + k, 16000, seed=10 + k), 16000)
        files.append(p)
    r = run('analyze', '--json', '-m', MODEL, *files)
    recs = [json.loads(l) for l in r.stdout.splitlines()]
    pred = {q['file']: q['label'] for q in recs if q['type'] == 'file'}
    check(len(pred) == 4 and all(pred.values()), 'analyze predicts the four clips', pred)
    labels = json.load(open(os.path.join(MODEL, 'config.json')))['id2label']
    labels = [labels[str(i)] for i in range(len(labels))]
    wrong = next(l for l in labels if l != pred[files[3]])
    truth = [pred[f] for f in files[:3]] + [wrong]

    # the list: a header, relative paths, a comment, a tab list
    lst = os.path.join(tmp, 'list.tsv')
    with open(lst, 'w') as f:
        f.write('path\tlabel\n# four generated clips\n')
        for p, t in zip(files, truth):
            f.write(f'audio/{os.path.basename(p)}\t{t}\n')
    r = run('eval', '--json', '-m', MODEL, '--list', lst)
    check(r.returncode == 0, 'eval --list runs', r.stderr)
    e = json.loads(r.stdout) if r.returncode == 0 else {}
    check(e.get('files') == 4 and abs(e.get('accuracy', -1) - 0.75) < 1e-6,
          'accuracy over all labels is exactly 3/4', e.get('accuracy'))
    present = sorted(set(truth))
    check(sorted(e.get('restricted', {}).get('labels', [])) == present,
          'the restricted metrics name the labels present', e.get('restricted', {}).get('labels'))
    # restricted argmax can only help: at least as many correct
    check(e.get('restricted', {}).get('accuracy', -1) >= 0.75 - 1e-9,
          'restricted accuracy >= unrestricted', e.get('restricted', {}).get('accuracy'))
    # valence: count what the valence confusion should hold
    vt = [VALENCE.get(t) for t in truth]
    check(e.get('valence', {}).get('files') <= sum(v is not None for v in vt),
          'valence leaves surprise out', e.get('valence'))

    # CSV, labels given under the corpus's own names mapped with --map
    short = {l: l[:3].upper() for l in labels}
    csv = os.path.join(tmp, 'list.csv')
    with open(csv, 'w') as f:
        for p, t in zip(files, truth):
            f.write(f'{p},{short[t]}\n')
        f.write(f'{files[0]},BOREDOM\n')
    mp = ','.join(f'{v}={k}' for k, v in short.items())
    r = run('eval', '--json', '-m', MODEL, '--list', csv, '--map', mp)
    e2 = json.loads(r.stdout) if r.returncode == 0 else {}
    check(r.returncode == 0 and e2.get('files') == 4 and
          abs(e2.get('accuracy', -1) - 0.75) < 1e-6,
          'CSV with --map: the same 3/4', (r.returncode, r.stderr))
    check("label 'BOREDOM' (1 file(s)) maps to none" in r.stderr,
          'an unmappable label is reported and its file skipped', r.stderr)

    # text output has both views and the valence F1
    r = run('eval', '-m', MODEL, '--list', lst)
    check('argmax over all' in r.stdout and 'restricted to the' in r.stdout
          and 'weighted F1' in r.stdout, 'text output: both views and valence', r.stdout)

    # mistakes get clear errors
    r = run('eval', '-m', MODEL, '--list', os.path.join(tmp, 'nosuch.tsv'))
    check(r.returncode == 1 and 'cannot read the list' in r.stderr, 'missing list', r.stderr)
    bad = os.path.join(tmp, 'bad.tsv')
    open(bad, 'w').write('just-a-path\n')
    r = run('eval', '-m', MODEL, '--list', bad)
    check(r.returncode == 1 and 'bad.tsv:1:' in r.stderr, 'a malformed line is named', r.stderr)
    r = run('eval', '-m', MODEL, '--list', lst, '--map', 'nonsense')
    check(r.returncode == 2, '--map without = is a usage error', r.stderr)
    r = run('eval', '-m', MODEL, '--list', lst, tmp)
    check(r.returncode == 2, '--list and a directory together: usage error', r.stderr)
    pred_file = os.path.join(tmp, 'pred.jsonl')
    open(pred_file, 'w').write('keep me\n')
    r = run('eval', '-m', MODEL, '--list', lst, '--predictions', pred_file)
    check(r.returncode == 1 and open(pred_file).read() == 'keep me\n',
          '--predictions never overwrites', r.stderr)

    # RAVDESS-named directories still work (generated audio, named so)
    rav = os.path.join(tmp, 'rav', 'Actor_01')
    os.makedirs(rav)
    for k, p in enumerate(files):
        os.link(p, os.path.join(rav, f'03-01-0{k + 1}-01-01-01-01.wav'))
    r = run('eval', '--json', '-m', MODEL, os.path.join(tmp, 'rav'))
    e3 = json.loads(r.stdout) if r.returncode == 0 else {}
    want = sum(pred[f] == ['neutral', 'calm', 'happy', 'sad'][k] for k, f in enumerate(files))
    check(e3.get('files') == 4 and abs(e3.get('accuracy', -1) - want / 4) < 1e-6,
          f'RAVDESS-named directory: {want}/4 as analyze predicts', e3.get('accuracy'))

sys.exit(finish())
