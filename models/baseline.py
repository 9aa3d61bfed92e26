#!/usr/bin/python3
"""The trivial baseline every emotop model must beat: clip statistics of
log-mel bands into a one-hidden-layer MLP.

  models/baseline.py --out build/baseline.json

Per clip (the speech emotop's VAD finds, as train.py trains on): 64
log-mel bands (25 ms windows, 10 ms hop), their mean and standard deviation
over the louder frames (within 30 dB of the clip's loudest), the standard
deviation of their frame-to-frame delta, and the share of louder frames:
193 numbers, standardised on the training clips. MLP 256 (ReLU, dropout
0.3), the same masked loss and corpus/class balance (as example weights)
and the same splits and metrics as train.py; the epoch is chosen on
the cross-corpus validation (protocol.val_score: the validation corpus
and the validation speakers). Runs the held-out-speaker protocol and
leave-one-corpus-out for each corpus, in about a minute.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import corpora  # noqa: E402
import emotop_model as em  # noqa: E402
import protocol  # noqa: E402  (the splits, the selection, the loss)

LABELS = corpora.LABELS


def features(x):
    import torchaudio
    mel = torchaudio.transforms.MelSpectrogram(em.SR, n_fft=400, hop_length=160,
                                               n_mels=64)
    m = torch.log(mel(x) + 1e-8)  # 64, T
    e = m.logsumexp(0)
    loud = e > e.max() - 30 * np.log(10) / 10
    ml = m[:, loud]
    d = m[:, 1:] - m[:, :-1]
    return torch.cat([ml.mean(1), ml.std(1, unbiased=False),
                      d.std(1, unbiased=False) if d.shape[1] else torch.zeros(64),
                      loud.float().mean()[None]]).numpy()


def prepare(Xtr, tr, Xother):
    """The training clips' standardisation (mu, sd), both feature sets as
    standardised tensors, the labels, the per-corpus class masks and the
    balance weights (each corpus, then each of its classes, weighs the
    same)."""
    mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-6
    xt = torch.tensor((Xtr - mu) / sd, dtype=torch.float32)
    xo = torch.tensor((Xother - mu) / sd, dtype=torch.float32)
    y = torch.tensor([LABELS.index(it.label) for it in tr])
    mask = torch.tensor([[l in corpora.CLASSES[it.corpus] for l in LABELS] for it in tr])
    count = {}
    for it in tr:
        count[(it.corpus, it.label)] = count.get((it.corpus, it.label), 0) + 1
    ncls = {c: len({l for (cc, l) in count if cc == c}) for c, _ in count}
    w = torch.tensor([1.0 / (len(ncls) * ncls[it.corpus] * count[(it.corpus, it.label)])
                      for it in tr]) * len(tr)
    return mu, sd, xt, xo, y, mask, w


def train(xt, y, mask, w, xo, epochs, every=10):
    """Full-batch training of an em.StatsNet on the prepared training set;
    every `every` epochs yields (epoch, the net in eval mode, its logits of
    xo) for the caller to choose or record (fit, fit_curve)."""
    net = em.StatsNet(n_in=xt.shape[1])
    opt = torch.optim.AdamW(net.parameters(), 1e-3, weight_decay=1e-2)
    for ep in range(epochs):
        net.train()
        loss = protocol.masked_ce(net(xt), y, mask, 0.1, w)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (ep + 1) % every == 0:
            net.eval()
            with torch.no_grad():
                z = net(xo).numpy()
            yield ep + 1, net, z


def fit(Xtr, tr, Xva, va, seed, epochs=400, val_corpus=''):
    """An em.StatsNet (standardisation included) trained on the clips'
    features Xtr, its epoch chosen on the validation (Xva, va)."""
    torch.manual_seed(seed)
    mu, sd, xt, xv, y, mask, w = prepare(Xtr, tr, Xva)
    # trained on features standardised here (mean 0, std 1 in the net),
    # which then takes the training clips' mean and deviation
    best, state = -1, None
    train_c = sorted({it.corpus for it in tr})
    for _, net, z in train(xt, y, mask, w, xv, epochs):
        s = protocol.val_score(em.corpus_metrics(z, va), train_c, val_corpus)[0]
        if s >= best:
            best, state = s, {k: v.clone() for k, v in net.state_dict().items()}
    net.load_state_dict(state)
    net.mean.copy_(torch.tensor(mu))
    net.std.copy_(torch.tensor(sd))
    return net.eval()


def fit_curve(Xtr, tr, Xte, te, seed, epochs=400, every=10):
    """A fold of the fold protocol: an em.StatsNet trained on Xtr for a fixed
    number of epochs, the held-out corpus (Xte, te) scored every `every`
    epochs (nothing chosen here: fold_baseline chooses on the fold mean).
    Returns [(epoch, metrics of te's corpus)]."""
    torch.manual_seed(seed)
    _, _, xt, xe, y, mask, w = prepare(Xtr, tr, Xte)
    c = te[0].corpus
    curve = [(ep, em.corpus_metrics(z, te)[c]) for ep, _, z in
             train(xt, y, mask, w, xe, epochs, every)]
    return curve


def fold_baseline(X, items, names, seeds, out, X_test=None):
    """The baseline under the fold protocol: each corpus left out in turn,
    trained on every speaker of the others, the epoch chosen on the mean
    over folds (each fold: the mean over seeds) of the held-out corpus's
    score, as train.py folds chooses. Writes out (JSON) and returns it."""
    curves = {}
    for c in protocol.FOLD_CORPORA:
        if c not in names:
            continue
        _, tr, _, te = protocol.protocol_sets(items, names, c, '', fold=True)
        for sd in seeds:
            Xt = X_test if X_test is not None else X
            curves[(c, sd)] = fit_curve(np.stack([X[it.path] for it in tr]), tr,
                                        np.stack([Xt[it.path] for it in te]), te, sd)
    folds = sorted({c for c, _ in curves})
    n = min(len(v) for v in curves.values())
    score = lambda k: float(np.mean([np.mean([protocol.corpus_score(curves[(f, sd)][k][1])  # noqa: E731
                                              for sd in seeds]) for f in folds]))
    best = max(range(n), key=score)
    res = {'epoch': curves[(folds[0], seeds[0])][best][0], 'fold_mean_score': score(best),
           'seeds': seeds, 'per_fold': {}}
    for f in folds:
        ms = [curves[(f, sd)][best][1] for sd in seeds]
        res['per_fold'][f] = {k: {'mean': float(np.mean([m[k] for m in ms])),
                                  'min': float(min(m[k] for m in ms)),
                                  'max': float(max(m[k] for m in ms))}
                              for k in ('accuracy', 'valence_f1')}
    res['mean'] = {k: float(np.mean([res['per_fold'][f][k]['mean'] for f in folds]))
                   for k in ('accuracy', 'valence_f1')}
    with open(out, 'w') as fh:
        json.dump(res, fh, indent=1)
    return res


def ensemble(nets):
    """One StatsNet whose logits are the mean of nets' (same features and
    standardisation): their hidden layers side by side, the output layers
    concatenated and divided by their number. The C engine runs it as one
    MLP (emotop_head.stats.hidden_size)."""
    k = len(nets)
    out = em.StatsNet(hidden=sum(n.fc1.out_features for n in nets),
                      n_in=nets[0].fc1.in_features)
    with torch.no_grad():
        out.mean.copy_(nets[0].mean)
        out.std.copy_(nets[0].std)
        out.fc1.weight.copy_(torch.cat([n.fc1.weight for n in nets]))
        out.fc1.bias.copy_(torch.cat([n.fc1.bias for n in nets]))
        out.fc2.weight.copy_(torch.cat([n.fc2.weight for n in nets], 1) / k)
        out.fc2.bias.copy_(sum(n.fc2.bias for n in nets) / k)
    return out.eval()


def predict(net, X):
    with torch.no_grad():
        return net(torch.tensor(X, dtype=torch.float32)).numpy()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--data', default=protocol.DATA)
    ap.add_argument('--corpora', default='ravdess,nemo,turev,ased,tess')
    ap.add_argument('--val-corpus', default=protocol.VAL_CORPUS,
                    help='corpus kept out of training to validate on (\'\': none)')
    ap.add_argument('--emotop', default=os.path.join(HERE, '..', 'build', 'emotop'))
    ap.add_argument('--cache', default=os.path.join(HERE, '..', 'build', 'corpus-cache'))
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--out', help='write the results as JSON here')
    ap.add_argument('--folds', metavar='OUT',
                    help='instead: the fold protocol (each corpus left out, every speaker '
                         'of the others trains, the epoch chosen on the fold mean), '
                         'results to OUT')
    ap.add_argument('--seeds', default='0,1,2', help='--folds: seeds per fold')
    ap.add_argument('--level-shifted', action='store_true',
                    help='--folds: score the held-out corpus level-shifted (each clip at '
                         '-20..0 dB, requantised: protocol.level_shifted)')
    a = ap.parse_args()
    torch.set_num_threads(1)
    names = a.corpora.split(',')
    items = []
    for c in names:
        items += [it for it in corpora.read(c, os.path.join(a.data, corpora.SHARED[c]))[0]
                  if it.label is not None]
    audio = em.load_audio(items, a.emotop, a.cache)
    X = {it.path: features(audio[it.path]) for it in items}
    if a.folds:
        Xt = None
        if a.level_shifted:
            ls = protocol.level_shifted(items, audio)
            Xt = {it.path: features(ls[it.path]) for it in items}
        r = fold_baseline(X, items, names, [int(x) for x in a.seeds.split(',')], a.folds, Xt)
        for f, m in r['per_fold'].items():
            print(f'fold {f}: acc {m["accuracy"]["mean"]:.3f} '
                  f'({m["accuracy"]["min"]:.3f}-{m["accuracy"]["max"]:.3f}) valence F1 '
                  f'{m["valence_f1"]["mean"]:.3f}')
        print(f'mean: acc {r["mean"]["accuracy"]:.3f} valence F1 {r["mean"]["valence_f1"]:.3f}'
              f' (epoch {r["epoch"]})')
        return
    res = {}
    for leave in [''] + names:
        vc = protocol.val_corpus_for(leave, a.val_corpus) if a.val_corpus in names else ''
        _, tr, va, te = protocol.protocol_sets(items, names, leave, vc)
        net = fit(np.stack([X[it.path] for it in tr]), tr,
                  np.stack([X[it.path] for it in va]), va, a.seed, val_corpus=vc)
        m = em.corpus_metrics(predict(net, np.stack([X[it.path] for it in te])), te)
        res[leave or 'heldout'] = m
        for c, r in m.items():
            if c != '_all':
                print(f'{"held-out speakers" if not leave else "leave out " + leave}: '
                      f'{c} acc {r["accuracy"]:.3f} UA {r["UA"]:.3f} '
                      f'valence F1 {r["valence_f1"]:.3f} (n {r["n"]})')
    if a.out:
        with open(a.out, 'w') as f:
            json.dump(res, f, indent=1)


if __name__ == '__main__':
    main()
