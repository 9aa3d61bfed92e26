#!/usr/bin/python3
"""Does the C engine compute what PyTorch computes, file by file?

  models/check_parity.py --model models/emotop-small --data ../shared/data/ravdess-16k
  models/check_parity.py --corpora ravdess,nemo,turev     (every file of each)

Runs `emotop eval --window 30 --hop 30 --predictions` (one window over all
the speech of each file) and PyTorch (torchaudio's wav2vec2 model + nn.LSTM
+ Linear, loaded from the same model.safetensors) on the same audio: the
speech segments `emotop vad` finds, concatenated as the analyzer does.
Prints the largest probability difference and the files where the chosen
class differs; exit 1 if any does or the difference exceeds --tol. With
--corpora, each corpus of ../shared/data is read by models/corpora.py and
evaluated through `emotop eval --list`, so any naming scheme works.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import soundfile as sf
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import st_write  # noqa: E402
import torch_threads  # noqa: E402
import emotop_model as em  # noqa: E402


def torch_model(d):
    enc, hidden = em.load_hf_encoder(d)
    cfg = json.load(open(os.path.join(d, 'config.json')))
    hc = cfg['emotop_head']
    m = em.HubertLSTM(enc, hidden, hc['hidden_size'], len(cfg['id2label']))
    sd = st_write.load(os.path.join(d, 'model.safetensors'))
    m.lstm.load_state_dict({k[5:]: torch.from_numpy(v) for k, v in sd.items()
                            if k.startswith('lstm.')})
    m.classifier.load_state_dict({k[11:]: torch.from_numpy(v) for k, v in sd.items()
                                  if k.startswith('classifier.')})
    m.stats = None
    if hc.get('stats'):  # the window-statistics branch, as trained
        m.stats = em.StatsNet(hc['stats']['hidden_size'], len(cfg['id2label']))
        m.stats.load_state_dict({k[6:]: torch.from_numpy(v) for k, v in sd.items()
                                 if k.startswith('stats.') and k[6:] in m.stats.state_dict()})
        m.stats.eval()
    pre = json.load(open(os.path.join(d, 'preprocessor_config.json')))
    return m.eval(), [cfg['id2label'][str(i)] for i in range(len(cfg['id2label']))], \
        pre.get('do_normalize', False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--model', default=os.path.join(HERE, 'emotop-small'))
    ap.add_argument('--data', default=os.path.join(HERE, '..', '..', 'shared', 'data',
                                                   'ravdess-16k'))
    ap.add_argument('--emotop', default=os.path.join(HERE, '..', 'build', 'emotop'))
    ap.add_argument('--tol', type=float, default=1e-4)
    ap.add_argument('--jobs', default='2')
    ap.add_argument('--corpora', help='comma-separated corpora of ../shared/data '
                    '(models/corpora.py names) instead of --data')
    a = ap.parse_args()
    torch_threads.set_threads(1)
    if a.corpora:
        worst = 0
        for name in a.corpora.split(','):
            print(f'== {name}', flush=True)
            worst = max(worst, check(a, name))
        return worst
    return check(a, None)


def check(a, corpus):
    with tempfile.TemporaryDirectory() as tmp:
        pred = os.path.join(tmp, 'pred.jsonl')
        target = [a.data]
        if corpus:
            import corpora
            root = os.path.join(HERE, '..', '..', 'shared', 'data', corpora.SHARED[corpus])
            items, _ = corpora.read(corpus, root)
            lst = os.path.join(tmp, 'list.tsv')
            with open(lst, 'w') as f:
                for it in items:
                    f.write(f'{os.path.abspath(it.path)}\t{it.label}\n')
            target = ['--list', lst]
        out = subprocess.run([a.emotop, 'eval', '--json', '-m', a.model, '-j', a.jobs,
                              '--window', '30', '--hop', '30', '--predictions', pred]
                             + target, check=True, capture_output=True, text=True).stdout
        summary = json.loads(out)
        c = [json.loads(l) for l in open(pred)]
    files = [r['file'] for r in c]
    segs = {}
    for i in range(0, len(files), 200):
        o = subprocess.run([a.emotop, 'vad', '--json'] + files[i:i + 200], check=True,
                           capture_output=True, text=True).stdout
        for line in o.splitlines():
            r = json.loads(line)
            # times are printed to the millisecond: VAD boundaries are whole
            # 20 ms frames (exact), but a segment that runs to the end of
            # the file ends at its last sample, which ms rounding can miss
            segs[r['file']] = [(s0, None if s1 >= r['duration'] else s1)
                               for s0, s1 in r['segments']]
    m, labels, do_norm = torch_model(a.model)
    worst, disagree, torch_correct, diffs = 0.0, [], 0, []
    with torch.no_grad():
        for r in c:
            x, sr = sf.read(r['file'], dtype='float32')
            if x.ndim > 1:
                x = x.mean(1)
            y = np.concatenate([x[int(round(s0 * sr)):
                                  None if s1 is None else int(round(s1 * sr))]
                                for s0, s1 in segs[r['file']]] or [x])
            t = torch.from_numpy(y)[None]
            if do_norm:
                t = em.normalize(t)
            z = m(t)
            if m.stats is not None:
                x1 = torch.from_numpy(y)
                z = z + m.stats(em.window_stats(em.normalize(x1))[None])
            p = torch.softmax(z, -1)[0].numpy()
            if r['prediction'] is None:
                continue
            cp = np.array([r['probs'][l] for l in labels])
            diffs.append((float(np.abs(cp - p).max()), r['file']))
            worst = max(worst, diffs[-1][0])
            if labels[int(p.argmax())] != r['prediction']:
                disagree.append(r['file'])
            torch_correct += labels[int(p.argmax())] == r['truth']
    print(f'{len(c)} files: C accuracy {summary["accuracy"]:.4f}, PyTorch accuracy '
          f'{torch_correct / len(c):.4f}; max |p_C - p_torch| = {worst:.2e} '
          f'(tolerance {a.tol:g}); classes differ on {len(disagree)} file(s)')
    for d, f in sorted(diffs, reverse=True)[:5]:
        print(f'  {d:.2e} {f}')
    for f in disagree[:10]:
        print('  differs:', f)
    return 0 if not disagree and worst <= a.tol else 1


if __name__ == '__main__':
    sys.exit(main())
