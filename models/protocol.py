"""The evaluation protocol every trainer shares: the speaker splits, the
sets of a run, the selection score, the masked loss, and the fold
protocol's choice on the mean of every held-out corpus.

Imports go one way: corpora, emotop_model, augment -> protocol ->
baseline -> train. Nothing here imports a trainer.

Two protocols:
  held-out speakers  (the shipped model's run) train on the training
                     speakers of every corpus; validation speakers and
                     a held-out validation corpus (VAL_CORPUS) choose.
  folds              (round 3; `train.py folds`) each labelled corpus left
                     out in turn, trained on the others, with at least two
                     seeds per lever. Every choice (epoch, fusion weight)
                     is the one with the best mean, over the folds, of
                     the held-out corpus's score: no single corpus and no
                     in-corpus speakers decide anything alone.
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

import corpora

# the project's data, beside the clone
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared', 'data')

SPLITS = {
    'ravdess': {'val': ['17', '18'], 'test': ['19', '20'], 'demo': ['01']},
    'nemo': {'val': ['KD0'], 'test': ['IC0', 'WR0'], 'demo': []},
    'turev': {'val': ['6783'], 'test': ['7895'], 'demo': []},
    # ASED's 65 speakers by number (corpora.ased): test n % 8 == 3, validation
    # n % 8 == 6, fixed before any result was seen
    'ased': {'val': ['%02d' % n for n in range(1, 66) if n % 8 == 6],
             'test': ['%02d' % n for n in range(1, 66) if n % 8 == 3], 'demo': []},
    # TESS has two speakers: it is the whole-corpus validation set (see
    # VAL_CORPUS); where it is the corpus left out, TurEV-DB validates
    'tess': {'val': [], 'test': ['OAF', 'YAF'], 'demo': []},
}

# The held-out-speakers run's validation corpus, held out of training
# entirely to choose epoch, fusion weight and temperature (with the
# validation speakers of the training corpora). Round 3 found that this one
# two-speaker corpus does not predict unseen corpora: the fold protocol
# replaces it for every choice.
VAL_CORPUS = 'tess'
VAL_CORPUS_IF_LEFT_OUT = 'turev'

# The folds: every labelled corpus, left out in turn.
FOLD_CORPORA = ['ravdess', 'nemo', 'turev', 'ased', 'tess']
# Clips of the held-out corpus scored at each epoch of a fold run (every
# k-th in file order, so every speaker and class is in it); the final
# figures of the chosen epoch are over every clip.
FOLD_EVAL_CLIPS = 500


def val_corpus_for(leave_out, val_corpus=VAL_CORPUS):
    if not val_corpus:
        return ''
    return VAL_CORPUS_IF_LEFT_OUT if leave_out == val_corpus else val_corpus


def split_of(item):
    """'train', 'val', 'test' or 'demo' for an item of a corpus in SPLITS
    (other corpora: all 'test')."""
    s = SPLITS.get(item.corpus)
    if s is None:
        return 'test'
    spk = item.speaker.split(':', 1)[1]
    for k in ('demo', 'val', 'test'):
        if spk in s[k]:
            return k
    return 'train'


def select(items, corpora_, splits):
    return [it for it in items if it.corpus in corpora_ and split_of(it) in splits]


def protocol_sets(labelled, names, leave_out='', val_corpus='', only_train=None, fold=False):
    """(training corpora, train, validation, test items) of one run of the
    protocol: held-out speakers of every corpus, or with leave_out every
    speaker (but the demo's) of that corpus as the test set. val_corpus:
    a corpus kept out of training whose every speaker validates, beside the
    validation speakers of the training corpora. only_train: train on the
    training speakers of these corpora alone, validate and test as without
    it (a lever measured on the same validation). fold: a run of the fold
    protocol, which validates on nothing of its own, so every speaker of
    the training corpora but the demo's trains (TESS's two voices too)."""
    train_c = [c for c in names if c not in (leave_out, val_corpus) and corpora.CLASSES[c]]
    tr = select(labelled, [c for c in train_c if not only_train or c in only_train],
                {'train', 'val', 'test'} if fold else {'train'})
    va = select(labelled, train_c, {'val'})
    if val_corpus:
        # every speaker of it; TESS's 2,800 words: every fourth (700), enough
        # for its two voices and seven classes and a quarter of the time
        vi = [it for it in labelled if it.corpus == val_corpus and split_of(it) != 'demo']
        va += vi[::4] if val_corpus == 'tess' else vi
    if leave_out:
        te = [it for it in labelled if it.corpus == leave_out and split_of(it) != 'demo']
    else:
        te = select(labelled, train_c, {'test'})
    return train_c, tr, va, te


LEVEL_SHIFT_DB = (-20.0, 0.0)  # what an unknown microphone gain does


def level_shifted(items, audio, seed=1234):
    """The items' audio, each clip at its own level drawn from LEVEL_SHIFT_DB
    (a fixed draw) and requantised to 16 bits, as the unseen sets were
    scored level-shifted."""
    from augment import requantise
    g = torch.Generator().manual_seed(seed)
    lo, hi = LEVEL_SHIFT_DB
    return {it.path: requantise(audio[it.path], lo + (hi - lo) * float(torch.rand((), generator=g)))
            for it in items}


def fold_eval_subset(te, n=FOLD_EVAL_CLIPS):
    """The held-out clips scored at every epoch: every k-th, at most n."""
    k = max(1, -(-len(te) // n))
    return te[::k]


def masked_ce(logits, y, mask, smoothing=0.1, weights=None):
    """Cross entropy over each example's own corpus's classes, label
    smoothing spread over those classes only; weights: per example (the
    baseline's balance), or None."""
    z = logits.masked_fill(~mask, float('-inf'))
    logp = F.log_softmax(z, -1).masked_fill(~mask, 0.0)
    k = mask.sum(-1, keepdim=True).float()
    q = mask.float() * (smoothing / k)
    q = q.scatter_add(1, y[:, None], torch.full_like(y[:, None], 1 - smoothing,
                                                     dtype=q.dtype))
    loss = -(q * logp).sum(-1)
    return (loss * weights if weights is not None else loss).mean()


def corpus_score(m):
    """One corpus's figure of merit: the mean of restricted accuracy and
    3-class valence F1."""
    return (m['accuracy'] + m['valence_f1']) / 2


def val_score(vm, train_c, val_corpus):
    """The held-out-speakers run's selection score: per corpus the mean of
    restricted accuracy and 3-class valence F1; the held-out corpus counts
    half, the validation speakers of the training corpora (averaged) the
    other half. (A fold run selects nothing itself: fold_choice does.)"""
    per = {c: corpus_score(vm[c]) for c in vm if c != '_all'}
    inside = float(np.mean([per[c] for c in train_c if c in per]))
    if val_corpus and val_corpus in per:
        return 0.5 * per[val_corpus] + 0.5 * inside, per
    return inside, per


# -- the fold protocol's choice -------------------------------------------

def fold_runs(out):
    """{(corpus, seed): results of a finished or running fold run} under
    out (directories fold-CORPUS-sSEED with a curve.json)."""
    runs = {}
    for c in FOLD_CORPORA:
        for d in sorted(os.listdir(out)) if os.path.isdir(out) else []:
            if d.startswith(f'fold-{c}-s'):
                p = os.path.join(out, d, 'curve.json')
                if os.path.exists(p):
                    runs[(c, int(d.rsplit('-s', 1)[1]))] = json.load(open(p))
    return runs


def fold_choice(runs, key='score'):
    """The (epoch, fusion weight) with the best mean over the folds of the
    held-out corpus's score (each fold: the mean over its seeds), among the
    epochs every run has reached. Returns (epoch, weight, mean score) or
    None when a fold has no run."""
    folds = sorted({c for c, _ in runs})
    if not folds:
        return None
    n_ep = min(len(r['curve']) for r in runs.values())
    best = None
    for e in range(n_ep):
        weights = runs[next(iter(runs))]['curve'][e]['by_weight'].keys()
        for w in weights:
            per = [np.mean([r['curve'][e]['by_weight'][w][key]
                            for (c, _), r in runs.items() if c == f]) for f in folds]
            s = float(np.mean(per))
            if best is None or s > best[2]:
                best = (e + 1, w, s)
    return best


def fold_summary(runs, epoch, weight, key='as_recorded'):
    """Per fold and overall, mean and spread (min..max over seeds) of
    accuracy and valence F1 at the chosen epoch and weight."""
    out = {}
    for f in sorted({c for c, _ in runs}):
        rs = [r['curve'][epoch - 1]['by_weight'][weight] for (c, _), r in runs.items()
              if c == f]
        out[f] = {m: {'mean': float(np.mean([x[key][m] for x in rs])),
                      'min': float(min(x[key][m] for x in rs)),
                      'max': float(max(x[key][m] for x in rs))}
                  for m in ('accuracy', 'valence_f1')}
        out[f]['seeds'] = len(rs)
    out['_mean'] = {m: float(np.mean([out[f][m]['mean'] for f in out if f != '_mean']))
                    for m in ('accuracy', 'valence_f1')}
    return out
