#!/usr/bin/python3
"""The trainer of emotop's shipped model: five corpora, selection on a
cross-corpus validation, and the cross-corpus evaluation.

  models/train.py run --out DIR [--export MODEL_DIR]   one model
  models/train.py protocol --out DIR --jobs 2          the whole table
  models/train.py table --out DIR                      the table again
  models/train.py export --out RUN --export MODEL_DIR  a run's model

The model, its front end and normalisation, the labels, the audio loading,
the export and the metrics are models/emotop_model.py's (what must match
the C engine lives there); this file is the training recipe and the
protocol.

One label space (emotop's eight labels) and partial supervision: a clip's
loss is a cross entropy over its own corpus's classes only (corpora.CLASSES;
the other logits are masked), so nEMO, which has no "calm", never teaches
"never calm". Batches are balanced over corpora, then over each corpus's
classes.

Protocol (speaker independent everywhere; protocol.SPLITS, fixed before any
result was seen):
  held-out speakers  train on the training speakers of every corpus,
                     choose the epoch and fit the temperature on the
                     validation speakers, report the test speakers of each
                     corpus. This run is the shipped model.
  leave-one-corpus-out (--leave-out C)  train on the other corpora (their
                     validation speakers choose), test on every speaker of
                     C: per-corpus accuracy / UA with the argmax restricted
                     to C's classes, and Li et al.'s 3-class valence
                     weighted F1 (negative: sad, angry, fearful, disgust;
                     neutral: neutral, calm; positive: happy; surprise left
                     out).
The demo speaker (RAVDESS actor 01) is in no training, validation or test
set: the first-run demo plays that actor.

The encoder has HuBERT's structure and runs in the C engine unchanged, but
its feature encoder starts with a wide first convolution (400 taps = 25 ms,
stride 160 = 10 ms, like an STFT front end) instead of HuBERT's 10-tap
stack: four times faster to train here, which buys the data. --pretrain N
first teaches that front end to predict the log-mel spectrum of its
receptive field (N steps, the training speakers' audio), HuBERT's own first
targets in spirit; then everything is trained end to end with labels.
--masked-pretrain N adds HuBERT's own first iteration between the two: the
whole encoder learns, for N steps, to predict the MFCC k-means cluster of
masked frames (training speakers' audio and LJSpeech).
"""
import argparse
import functools
import json
import math
import os
import random
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import corpora  # noqa: E402
import torch_threads  # noqa: E402
from augment import augment  # noqa: E402
from protocol import (DATA, FOLD_CORPORA, level_shifted, SPLITS, VAL_CORPUS, corpus_score,  # noqa: E402
                      fold_choice, fold_eval_subset, fold_runs, fold_summary, masked_ce,
                      protocol_sets, val_corpus_for, val_score)
from emotop_model import (ARCH, LABELS, SR, Model, StatsNet, cached_per_clip,  # noqa: E402
                          conv_features, corpus_metrics, encoder, export, fit_temperature,
                          load_audio, normalize, window_stats)

SHARED = DATA

# -- training ---------------------------------------------------------------

class GradReverse(torch.autograd.Function):
    """Identity forward, gradient times -lam backward (Ganin & Lempitsky
    2015): the encoder learns features the corpus classifier cannot use."""

    @staticmethod
    def forward(ctx, x, lam):
        ctx.lam = lam
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g):
        return -ctx.lam * g, None


# -- data ----------------------------------------------------------------

class Sampler:
    """Balanced batches: a corpus uniformly, then one of its classes
    uniformly, then a clip of that class."""

    def __init__(self, items, audio, seed, voices=False):
        self.voices = voices
        self.pool = {}
        for it in items:
            self.pool.setdefault(it.corpus, {}).setdefault(it.label, []).append(it)
        self.corpora = sorted(self.pool)
        self.speakers = sorted({it.speaker for it in items})
        self.audio = audio
        self.rng = random.Random(seed)
        self.g = torch.Generator().manual_seed(seed)
        self.others = [audio[it.path] for it in items]

    def batch(self, bs, crop, aug):
        xs, ys, ms, ns, cs, ss = [], [], [], [], [], []
        n = int(crop * SR)
        for _ in range(bs):
            c = self.rng.choice(self.corpora)
            lab = self.rng.choice(sorted(self.pool[c]))
            it = self.rng.choice(self.pool[c][lab])
            x = self.audio[it.path]
            if len(x) > n:
                o = self.rng.randrange(len(x) - n)
                x = x[o:o + n]
            if aug:
                x = augment(x, self.others, self.g, self.voices)[:n]
            xs.append(x)
            ys.append(LABELS.index(lab))
            ms.append([l in corpora.CLASSES[c] for l in LABELS])
            ns.append(len(x))
            cs.append(self.corpora.index(c))
            ss.append(self.speakers.index(it.speaker))
        L = max(ns)
        xs = [normalize(v, len(v)) for v in xs]
        x = torch.stack([F.pad(v, (0, L - len(v))) for v in xs])
        f = torch.stack([window_stats(v) for v in xs])
        return (x, torch.tensor(ys), torch.tensor(ms), ns, f, torch.tensor(cs),
                torch.tensor(ss))


def same_corpus_pairs(cs, rng):
    """A permutation of the batch that pairs each example with another of
    its own corpus (itself when it is alone): mixed examples keep one set
    of classes, so the masked loss stays defined."""
    perm = list(range(len(cs)))
    for c in set(cs.tolist()):
        idx = [i for i in range(len(cs)) if cs[i] == c]
        shuf = idx[:]
        rng.shuffle(shuf)
        for i, j in zip(idx, shuf):
            perm[i] = j
    return torch.tensor(perm)


def mixed_ce(head, feats, y, mask, perm, lam):
    """Manifold mixup (Verma et al. 2019) at the classifier's input: the
    head sees lam * a + (1 - lam) * b of two examples' pooled features,
    and the loss mixes their labels in the same proportion."""
    z = head(lam * feats + (1 - lam) * feats[perm])
    return lam * masked_ce(z, y, mask) + (1 - lam) * masked_ce(z, y[perm], mask)


# -- selection ----------------------------------------------------------

@torch.no_grad()
def logits_of(model, items, audio, stats=None, batch=16):
    """The head's logits of each item's whole clip, or with stats the pair
    (head logits, statistics-branch logits)."""
    model.eval()
    if stats is not None:
        stats.eval()
    out, sout = [None] * len(items), [None] * len(items)
    # batches of similar lengths; Model.forward computes each example as
    # it would alone (masked attention, per-example LSTM ends)
    order = sorted(range(len(items)), key=lambda i: len(audio[items[i].path]))
    for b in range(0, len(order), batch):
        idx = order[b:b + batch]
        xs = [normalize(audio[items[i].path], len(audio[items[i].path])) for i in idx]
        ns = [len(x) for x in xs]
        x = torch.stack([F.pad(v, (0, max(ns) - len(v))) for v in xs])
        z = model(x, ns if min(ns) != max(ns) else None).numpy()
        for j, i in enumerate(idx):
            out[i] = z[j]
            if stats is not None:
                sout[i] = stats(window_stats(xs[j])[None])[0].numpy()
    z = np.stack(out) if out else np.zeros((0, 8))
    if stats is None:
        return z
    return z, (np.stack(sout) if sout else np.zeros((0, 8)))


FUSION_WEIGHTS = [round(0.1 * k, 1) for k in range(1, 11)]


def fuse(zh, zs, w):
    """Late fusion: w times the head's logits plus (1 - w) times the
    statistics branch's (w = 1: the HuBERT-LSTM alone)."""
    return w * np.asarray(zh) + (1 - w) * np.asarray(zs)


# -- log-mel pretraining of the front end -------------------------------

def pretrain_front_end(model, audio_list, steps, bs, seed, log):
    """Teach the conv feature encoder to predict the 64-band log-mel
    spectrum of each frame's receptive field (1,200 samples, hop 320)."""
    import torchaudio
    mel = torchaudio.transforms.MelSpectrogram(SR, n_fft=1200, win_length=1200,
                                               hop_length=320, n_mels=64,
                                               center=False)
    fe = model.enc.feature_extractor
    head = nn.Linear(ARCH['conv'][-1][0], 64)
    params = list(fe.parameters()) + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=2e-3, weight_decay=1e-2)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 2e-3, total_steps=steps,
                                                pct_start=0.1)
    rng = random.Random(seed)
    n = 2 * SR
    stats = None
    t0 = time.time()
    for step in range(steps):
        xs = []
        for _ in range(bs):
            x = rng.choice(audio_list)
            if len(x) > n:
                o = rng.randrange(len(x) - n)
                x = x[o:o + n]
            xs.append(F.pad(normalize(x, len(x)), (0, n - len(x))))
        x = torch.stack(xs)
        with torch.no_grad():
            target = torch.log(mel(x) + 1e-6).transpose(1, 2)  # B, T, 64
            if stats is None:
                stats = (target.mean((0, 1)), target.std((0, 1)) + 1e-3)
            target = (target - stats[0]) / stats[1]
        pred = head(conv_features(fe, x))
        T = min(pred.shape[1], target.shape[1])
        loss = F.mse_loss(pred[:, :T], target[:, :T])
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        if (step + 1) % 100 == 0:
            log(f'pretrain step {step + 1}/{steps} mse {loss.item():.3f} '
                f'({time.time() - t0:.0f} s)')


# -- HuBERT's masked prediction, first iteration (MFCC k-means targets) ---
#
# Hsu et al. 2021: mask spans of the projected conv features with a learnt
# embedding and train the transformer to predict, at the masked frames, the
# k-means cluster of each frame's MFCCs (39: 13 coefficients, deltas and
# double deltas; 100 clusters). The MFCC frame of encoder frame t is the
# 25 ms window at the centre of that frame's 1,200-sample receptive field,
# [320 t + 400, 320 t + 800), so one hop (20 ms) gives one target per frame.

MFCC_CLUSTERS = 100
MASK_SPAN, MASK_PROB = 10, 0.8  # HuBERT's: about half the frames masked


@functools.lru_cache(maxsize=None)
def _mfcc():
    import torchaudio
    return torchaudio.transforms.MFCC(
        SR, n_mfcc=13, melkwargs=dict(n_fft=400, win_length=400, hop_length=320,
                                      n_mels=40, center=False))


def mfcc_frames(x):
    """(B, n) normalised audio -> (B, T', 39) MFCC frames, T' >= the
    encoder's frames of n samples (cut to them by the caller)."""
    import torchaudio
    m = _mfcc()(x[:, 400:])  # B, 13, T'
    d = torchaudio.functional.compute_deltas(m)
    dd = torchaudio.functional.compute_deltas(d)
    return torch.cat([m, d, dd], 1).transpose(1, 2)


def fit_kmeans(X, k, iters, g):
    """Lloyd's k-means on the rows of X from k-means++ seeds: (k, D)."""
    C = X[torch.randint(len(X), (1,), generator=g)]
    for _ in range(k - 1):
        d = torch.cdist(X, C).min(1).values ** 2
        C = torch.cat([C, X[torch.multinomial(d / d.sum(), 1, generator=g)]])
    for _ in range(iters):
        a = torch.cdist(X, C).argmin(1)
        for j in range(k):
            s = X[a == j]
            if len(s):
                C[j] = s.mean(0)
    return C


def mfcc_codebook(pool, seed, k=MFCC_CLUSTERS, frames=100_000, log=print):
    """The k-means targets: (mean, std, centroids) of standardised MFCC
    frames sampled evenly from the clips of pool."""
    g = torch.Generator().manual_seed(seed)
    per = max(1, frames // len(pool))
    X = []
    for x in pool:
        f = mfcc_frames(normalize(x)[None])[0]
        X.append(f[torch.randperm(len(f), generator=g)[:per]])
    X = torch.cat(X)
    mean, std = X.mean(0), X.std(0) + 1e-5
    t0 = time.time()
    C = fit_kmeans((X - mean) / std, k, 20, g)
    log(f'MFCC k-means: {k} clusters from {len(X)} frames of {len(pool)} clips '
        f'({time.time() - t0:.0f} s)')
    return {'mean': mean, 'std': std, 'centroids': C}


def span_mask(B, T, g, span=MASK_SPAN, prob=MASK_PROB):
    """HuBERT's mask: prob * T / span starts per example, each masking span
    frames (overlaps merge). (B, T) bool."""
    m = torch.zeros(B, T, dtype=torch.bool)
    n = max(1, int(prob * T / span + torch.rand((), generator=g).item()))
    for b in range(B):
        for s in torch.randint(0, max(T - span, 0) + 1, (n,), generator=g).tolist():
            m[b, s:s + span] = True
    return m


def masked_pretrain(model, pool, steps, bs, seed, ckpt, log, crop=2.0, lr=5e-4):
    """Train model.enc by masked prediction of MFCC clusters for steps
    batches of bs crops from pool; resumable from ckpt (saved every 100
    steps and at the end). The prediction head and mask embedding are
    dropped afterwards: the fine-tuned model never masks."""
    enc = model.enc
    H = enc.encoder.feature_projection.projection.out_features
    head = nn.Linear(H, MFCC_CLUSTERS)
    mask_emb = nn.Parameter(torch.empty(H).uniform_())
    params = list(enc.parameters()) + list(head.parameters()) + [mask_emb]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=1e-2)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps, pct_start=0.08)
    g = torch.Generator().manual_seed(seed)
    first = 0
    if os.path.exists(ckpt):
        st = torch.load(ckpt)
        enc.load_state_dict(st['enc'])
        head.load_state_dict(st['head'])
        mask_emb.data.copy_(st['mask_emb'])
        opt.load_state_dict(st['opt'])
        sched.load_state_dict(st['sched'])
        g.set_state(st['g'])
        book, first = st['book'], st['step']
        log(f'masked prediction: resuming at step {first}')
    else:
        book = mfcc_codebook(pool, seed, log=log)
    n = int(crop * SR)
    enc.train()
    t0, tot, acc = time.time(), 0.0, 0.0
    for step in range(first, steps):
        xs = []
        for i in torch.randint(len(pool), (bs,), generator=g).tolist():
            x = pool[i]
            if len(x) > n:
                o = int(torch.randint(len(x) - n, (), generator=g))
                x = x[o:o + n]
            xs.append(F.pad(normalize(x), (0, n - len(x))))
        x = torch.stack(xs)
        feats = conv_features(enc.feature_extractor, x)
        T = feats.shape[1]
        with torch.no_grad():
            f = (mfcc_frames(x)[:, :T] - book['mean']) / book['std']
            y = torch.cdist(f, book['centroids'][None]).argmin(-1)
        h = enc.encoder.feature_projection(feats)
        m = span_mask(len(x), T, g)
        h = torch.where(m[..., None], mask_emb.to(h.dtype), h)
        z = head(enc.encoder.transformer(h))
        loss = F.cross_entropy(z[m], y[m])
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 10.0)
        opt.step()
        sched.step()
        tot += loss.item()
        acc += (z[m].argmax(-1) == y[m]).float().mean().item()
        if (step + 1) % 100 == 0 or step + 1 == steps:
            k = (step % 100) + 1
            log(f'masked prediction step {step + 1}/{steps} loss {tot / k:.3f} '
                f'accuracy {acc / k:.3f} ({time.time() - t0:.0f} s)')
            tot, acc = 0.0, 0.0
            torch.save({'enc': enc.state_dict(), 'head': head.state_dict(),
                        'mask_emb': mask_emb.data, 'opt': opt.state_dict(),
                        'sched': sched.state_dict(), 'g': g.get_state(), 'book': book,
                        'step': step + 1}, ckpt + '.tmp')
            os.replace(ckpt + '.tmp', ckpt)


# -- one run --------------------------------------------------------------

def run(a):
    torch_threads.set_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    logf = open(os.path.join(a.out, 'train.log'), 'a')

    def log(m):
        print(m, flush=True)
        logf.write(m + '\n')
        logf.flush()
    names = a.corpora.split(',')
    items = []
    for c in names:
        it, skipped = corpora.read(c, os.path.join(a.data, corpora.SHARED[c]))
        for p, why in skipped:
            log(f'skipped {p}: {why}')
        items += it
    audio = load_audio(items, a.emotop, a.cache)
    labelled = [it for it in items if it.label is not None]
    vc = val_corpus_for(a.leave_out, a.val_corpus) if a.val_corpus in names else ''
    if a.fold:
        if not a.leave_out:
            sys.exit('run --fold: give the corpus this fold leaves out (--leave-out)')
        vc = ''  # a fold validates on nothing of its own: `folds` chooses
    train_c, tr, va, te = protocol_sets(labelled, names, a.leave_out, vc,
                                        a.only_train.split(',') if a.only_train else None,
                                        fold=a.fold)
    if a.fold:
        va = []
    log(f'train {len(tr)} clips ({", ".join(sorted({it.corpus for it in tr}))}), '
        f'val {len(va)}' + (f' (speakers of {", ".join(train_c)} and all of {vc})'
                             if vc else '') + f', test {len(te)}'
        + (f' (left out: {a.leave_out})' if a.leave_out else ''))
    model = Model(encoder(), ARCH['hidden'])
    model.time_mask = a.time_mask
    stats = StatsNet() if a.stats else None
    n_adv = (len({it.speaker for it in tr}) if a.adversary_target == 'speaker'
             else len(train_c))
    adv = (nn.Sequential(nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, n_adv))
           if a.adversary > 0 else None)
    if stats is not None:
        f = torch.stack([window_stats(normalize(audio[it.path], len(audio[it.path])))
                         for it in tr])
        stats.mean.copy_(f.mean(0))
        stats.std.copy_(f.std(0) + 1e-3)
    mods = nn.ModuleDict({'model': model, **({'stats': stats} if stats else {}),
                          **({'adv': adv} if adv else {})})
    ck = os.path.join(a.out, 'checkpoint.pt')
    state = None
    if os.path.exists(ck):
        state = torch.load(ck)
        mods.load_state_dict(state['mods'])
        log(f'resuming at epoch {state["epoch"]}')
    else:
        pool = [audio[it.path] for it in tr]
        mk = os.path.join(a.out, 'masked.pt')
        if a.pretrain and not os.path.exists(mk):
            pretrain_front_end(model, pool, a.pretrain, a.batch, a.seed, log)
        if a.masked_pretrain:
            lj = []
            if a.masked_ljspeech:
                its, _ = corpora.read('ljspeech', os.path.join(a.data, corpora.SHARED['ljspeech']))
                lj = list(load_audio(its, a.emotop, a.cache).values())
            log(f'masked prediction pool: {len(pool)} training clips, {len(lj)} LJSpeech')
            masked_pretrain(model, pool + lj, a.masked_pretrain, a.batch, a.seed, mk, log,
                            a.crop)
    opt = torch.optim.AdamW(mods.parameters(), lr=a.lr, weight_decay=1e-2)
    total = a.epochs * a.steps
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, a.lr, total_steps=total,
                                                pct_start=0.1)
    sampler = Sampler(tr, audio, a.seed, a.voices)
    beta = torch.distributions.Beta(a.mixup, a.mixup) if a.mixup > 0 else None
    best = {'score': -1, 'epoch': 0, 'weight': 1.0, 'curve': []}
    first = 0
    if state:
        opt.load_state_dict(state['opt'])
        sched.load_state_dict(state['sched'])
        sampler.rng.setstate(state['rng'])
        sampler.g.set_state(state['g'])
        best = state['best']
        first = state['epoch']
    if a.fold:
        fold_sub = fold_eval_subset(te)
        fold_ls = level_shifted(fold_sub, audio)
        fold_curve = json.load(open(os.path.join(a.out, 'curve.json')))['curve'][:first] \
            if first else []
    for ep in range(first, a.epochs):
        mods.train()
        t0, tot, tot_s, tot_a = time.time(), 0.0, 0.0, 0.0
        for step in range(a.steps):
            x, y, m, ns, f, cs, ss = sampler.batch(a.batch, a.crop, not a.no_augment)
            pooled = model.pooled(x, ns)
            if a.mixup > 0:
                mix, perm = beta.sample().item(), same_corpus_pairs(cs, sampler.rng)
                loss = mixed_ce(model.classifier, pooled, y, m, perm, mix)
            else:
                loss = masked_ce(model.classifier(pooled), y, m)
            tot += loss.item()
            if stats is not None:
                ls = (mixed_ce(stats, f, y, m, perm, mix) if a.mixup > 0
                      else masked_ce(stats(f), y, m))
                tot_s += ls.item()
                loss = loss + ls
            if adv is not None:
                p = (ep * a.steps + step) / total
                lam = 2 / (1 + math.exp(-10 * p)) - 1
                la = F.cross_entropy(adv(GradReverse.apply(pooled, lam)),
                                     ss if a.adversary_target == 'speaker' else cs)
                tot_a += la.item()
                loss = loss + a.adversary * la
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(mods.parameters(), 1.0)
            opt.step()
            sched.step()
        if a.fold:
            score, per, w, score_h = fold_epoch(a, ep, model, stats, fold_sub, audio,
                                                fold_ls, fold_curve)
            torch.save(mods.state_dict(), os.path.join(a.out, f'epoch-{ep + 1}.pt'))
        elif stats is not None:
            zh, zs = logits_of(model, va, audio, stats)
            scored = [(val_score(corpus_metrics(fuse(zh, zs, w), va), train_c, vc), w)
                      for w in FUSION_WEIGHTS]
            (score, per), w = max(scored, key=lambda t: (t[0][0], t[1]))
            (score_h, _), _ = scored[-1]
        else:
            score, per = val_score(corpus_metrics(logits_of(model, va, audio), va),
                                   train_c, vc)
            w, score_h = 1.0, score
        best['curve'].append({'score': score, 'weight': w, 'score_head_alone': score_h,
                              'per_corpus': per})
        msg = (f'epoch {ep + 1}/{a.epochs} loss {tot / a.steps:.3f}'
               + (f' stats {tot_s / a.steps:.3f}' if stats is not None else '')
               + (f' {a.adversary_target} {tot_a / a.steps:.3f}' if adv is not None else '')
               + ' val ' + ' '.join(f'{c} {v:.3f}' for c, v in per.items())
               + f' score {score:.3f} (w {w}, head alone {score_h:.3f})'
               + f' ({time.time() - t0:.0f} s)')
        if score >= best['score']:
            best.update(score=score, epoch=ep + 1, weight=w)
            torch.save(mods.state_dict(), os.path.join(a.out, 'best.pt'))
            msg += ' *'
        log(msg)
        torch.save({'mods': mods.state_dict(), 'opt': opt.state_dict(),
                    'sched': sched.state_dict(), 'rng': sampler.rng.getstate(),
                    'g': sampler.g.get_state(), 'best': best, 'epoch': ep + 1}, ck)
    if a.fold:
        log(f'fold {a.leave_out} seed {a.seed}: {a.epochs} epochs done; `train.py folds` '
            'chooses the epoch on the mean of every fold')
        return
    mods.load_state_dict(torch.load(os.path.join(a.out, 'best.pt')))
    w = best['weight']
    res = {'command': ' '.join(sys.argv), 'arch': ARCH, 'splits': SPLITS,
           'train_corpora': train_c, 'leave_out': a.leave_out, 'val_corpus': vc,
           'stats_branch': stats is not None, 'adversary': a.adversary,
           'adversary_target': a.adversary_target,
           'time_mask': a.time_mask, 'only_train': a.only_train, 'mixup': a.mixup,
           'masked_pretrain': a.masked_pretrain,
           'masked_ljspeech': a.masked_ljspeech and a.masked_pretrain > 0,
           'best_epoch': best['epoch'], 'fusion_weight': w, 'val_curve': best['curve'],
           'n': {'train': len(tr), 'val': len(va), 'test': len(te)}}
    outs = {}
    for name, its in (('val', va), ('test', te)):
        if stats is not None:
            zh, zs = logits_of(model, its, audio, stats)
            outs[name] = fuse(zh, zs, w)
            res[name + '_head_alone'] = corpus_metrics(zh, its)
            res[name + '_stats_alone'] = corpus_metrics(zs, its)
        else:
            outs[name] = logits_of(model, its, audio)
    T = fit_temperature(outs['val'], [LABELS.index(it.label) for it in va])
    res['temperature'] = T
    for name, its in (('val', va), ('test', te)):
        res[name] = corpus_metrics(outs[name], its)
        res[name + '_calibrated'] = corpus_metrics(outs[name], its, T)
    log(f'best epoch {best["epoch"]}, fusion weight {w}, temperature {T:.3f}: ECE val '
        f'{res["val"]["_all"]["ece_8"]:.3f} -> {res["val_calibrated"]["_all"]["ece_8"]:.3f}, '
        f'test {res["test"]["_all"]["ece_8"]:.3f} -> '
        f'{res["test_calibrated"]["_all"]["ece_8"]:.3f}')
    for c, m in res['test'].items():
        if c != '_all':
            log(f'test {c}: acc {m["accuracy"]:.3f} UA {m["UA"]:.3f} '
                f'acc(8) {m["accuracy_8"]:.3f} valence F1 {m["valence_f1"]:.3f} (n {m["n"]})')
    with open(os.path.join(a.out, 'results.json'), 'w') as f:
        json.dump(res, f, indent=1)
    if a.export:
        export(model, a.export, 'models/train.py', res, T=T, stats=stats, w=w)


# -- the fold protocol -----------------------------------------------------

def write_json(path, obj):
    """obj as JSON at path, whole or not at all (a temporary file renamed)."""
    with open(path + '.tmp', 'w') as f:
        json.dump(obj, f, indent=1)
    os.replace(path + '.tmp', path)


def fold_epoch(a, ep, model, stats, sub, audio, audio_ls, curve):
    """A fold run's epoch end: the held-out corpus's subset scored as
    recorded and level-shifted, at every fusion weight, appended to
    curve.json. Nothing is chosen here; the log line shows the best weight
    of this fold alone for the eye only."""
    c = a.leave_out
    by_w = {}
    zz = [logits_of(model, sub, aud, stats) for aud in (audio, audio_ls)]
    for w in (FUSION_WEIGHTS if stats is not None else [1.0]):
        ms = [corpus_metrics(fuse(*z, w) if stats is not None else z, sub)[c] for z in zz]
        by_w[str(w)] = {'score': float(np.mean([corpus_score(m) for m in ms])),
                        'as_recorded': {k: ms[0][k] for k in ('accuracy', 'valence_f1', 'UA')},
                        'level_shifted': {k: ms[1][k] for k in ('accuracy', 'valence_f1', 'UA')}}
    curve.append({'epoch': ep + 1, 'by_weight': by_w})
    write_json(os.path.join(a.out, 'curve.json'),
               {'leave_out': c, 'seed': a.seed, 'voices': a.voices, 'n_scored': len(sub),
                'command': ' '.join(sys.argv), 'curve': curve})
    w = max(by_w, key=lambda k: by_w[k]['score'])
    last = str(FUSION_WEIGHTS[-1]) if stats is not None else '1.0'
    return by_w[w]['score'], {c: by_w[w]['score']}, w, by_w[last]['score']


def launch(procs, jobs, d, name, args):
    """`train.py run --out d ARGS` in the background once fewer than jobs of
    procs run; its stderr in d/stderr.log."""
    while len([p for p in procs if p.poll() is None]) >= jobs:
        time.sleep(5)
    os.makedirs(d, exist_ok=True)
    print(f'{name}: starting (log {d}/train.log)', flush=True)
    procs.append(subprocess.Popen([sys.executable, os.path.abspath(__file__), 'run',
                                   '--out', d] + args, stdout=subprocess.DEVNULL,
                                  stderr=open(os.path.join(d, 'stderr.log'), 'a')))


def folds(a):
    """Every fold (each corpus of FOLD_CORPORA left out) for each seed, a.jobs
    runs at a time, then the choice on the fold mean and its table."""
    common = ['--fold', '--epochs', str(a.epochs), '--steps', str(a.steps),
              '--pretrain', str(a.pretrain), '--data', a.data, '--emotop', a.emotop,
              '--cache', a.cache, '--adversary', str(a.adversary),
              '--threads', str(a.threads), '--corpora', a.corpora] + (
                  [] if a.stats else ['--no-stats']) + (['--voices'] if a.voices else []) + (
                  ['--no-augment'] if a.no_augment else [])
    todo = [(c, s) for s in a.seeds for c in FOLD_CORPORA if c in a.corpora.split(',')]
    procs = []
    for c, s in todo:
        d = os.path.join(a.out, f'fold-{c}-s{s}')
        cj = os.path.join(d, 'curve.json')
        if os.path.exists(cj) and len(json.load(open(cj))['curve']) >= a.epochs:
            continue
        launch(procs, a.jobs, d, f'fold {c} seed {s}',
               ['--leave-out', c, '--seed', str(s)] + common)
    if any(p.wait() for p in procs):
        sys.exit('a fold run failed: see its stderr.log')
    fold_table(a.out)


def fold_table(out):
    """The choice (epoch, fusion weight) on the mean of every fold, and each
    fold's figures there: mean and spread over seeds, as recorded and
    level-shifted. Written to out/folds.json and out/folds.md."""
    runs = fold_runs(out)
    ch = fold_choice(runs)
    if ch is None:
        sys.exit(f'{out}: no fold run has a curve yet')
    ep, w, score = ch
    res = {'epoch': ep, 'fusion_weight': float(w), 'fold_mean_score': score,
           'runs': sorted(f'{c}-s{s}' for c, s in runs),
           'as_recorded': fold_summary(runs, ep, w, 'as_recorded'),
           'level_shifted': fold_summary(runs, ep, w, 'level_shifted')}
    lines = [f'Chosen on the mean of every fold: epoch {ep}, fusion weight {w} '
             f'(fold-mean score {score:.3f}; runs: {", ".join(res["runs"])})', '',
             '| held out | seeds | accuracy as recorded | valence F1 | accuracy level-shifted '
             '| valence F1 |', '|---|---|---|---|---|---|']
    fmt = lambda d: (f'{100 * d["mean"]:.1f} % ({100 * d["min"]:.1f}-{100 * d["max"]:.1f})')  # noqa: E731
    fmtf = lambda d: f'{d["mean"]:.3f} ({d["min"]:.3f}-{d["max"]:.3f})'  # noqa: E731
    for c, r in res['as_recorded'].items():
        if c == '_mean':
            continue
        ls = res['level_shifted'][c]
        lines.append(f'| {c} | {r["seeds"]} | {fmt(r["accuracy"])} | {fmtf(r["valence_f1"])} '
                     f'| {fmt(ls["accuracy"])} | {fmtf(ls["valence_f1"])} |')
    m, ml = res['as_recorded']['_mean'], res['level_shifted']['_mean']
    lines.append(f'| mean | | {100 * m["accuracy"]:.1f} % | {m["valence_f1"]:.3f} '
                 f'| {100 * ml["accuracy"]:.1f} % | {ml["valence_f1"]:.3f} |')
    text = '\n'.join(lines) + '\n'
    write_json(os.path.join(out, 'folds.json'), res)
    with open(os.path.join(out, 'folds.md'), 'w') as f:
        f.write(text)
    print(text)


def clip_stats(items, audio, cache_dir):
    """{path: the 193 window statistics of the whole normalised clip}, as the
    C engine computes them over one window (cached in cache_dir)."""
    return cached_per_clip(items, os.path.join(cache_dir, 'window-stats.npz'),
                           lambda p: window_stats(normalize(audio[p], len(audio[p]))).numpy())


def per_speaker(items, X, skewed=(), seed=0):
    """X's features standardised over each speaker's own clips (every clip
    of the speaker in items: transductive, what a per-session normalisation
    would do in live use if sessions were emotion-balanced). Speakers of
    the items in skewed take their statistics from the clips of one of
    their emotions alone (drawn at random): a session that is all anger,
    as live use has them."""
    by = {}
    for it in items:
        by.setdefault(it.speaker, []).append(it)
    skew = {it.speaker for it in skewed}
    rng = random.Random(seed)
    out = {}
    for spk, its in sorted(by.items()):
        f = np.stack([X[it.path] for it in its])
        ref = f
        if spk in skew:
            lab = rng.choice(sorted({it.label for it in its}))
            ref = f[[it.label == lab for it in its]]
        mu, sd = ref.mean(0), ref.std(0) + 1e-6
        for it, v in zip(its, f):
            out[it.path] = (v - mu) / sd
    return out


def restats(a):
    """A finished run's HuBERT-LSTM (its best.pt, the epoch its validation
    chose) fused with a statistics branch trained the baseline's way: whole
    clips, no augmentation, full-batch, its epoch chosen on the same
    cross-corpus validation, an ensemble of --stats-seeds MLPs; then the
    fusion weight and the temperature chosen on that validation as run()
    does. Writes a run directory (best.pt, results.json) that `table` and
    `export` read."""
    import baseline
    torch_threads.set_threads(a.threads)
    src = json.load(open(os.path.join(a.source, 'results.json')))
    os.makedirs(a.out, exist_ok=True)
    names = a.corpora.split(',')
    items = []
    for c in names:
        items += corpora.read(c, os.path.join(a.data, corpora.SHARED[c]))[0]
    labelled = [it for it in items if it.label is not None]
    vc = src['val_corpus']
    train_c, tr, va, te = protocol_sets(labelled, names, src['leave_out'], vc,
                                        src['only_train'].split(',')
                                        if src.get('only_train') else None)
    if train_c != src['train_corpora'] or len(va) != src['n']['val']:
        sys.exit(f'restats: with --corpora {a.corpora} the sets are not {a.source}\'s '
                 f'(it trained on {",".join(src["train_corpora"])}, validated on '
                 f'{src["n"]["val"]} clips): give the --corpora it ran with')
    audio = load_audio(tr + va + te, a.emotop, a.cache)
    X = clip_stats(tr + va + te, audio, a.cache)
    if a.embedding:
        # measured as a lever only: the C engine does not run it
        import speech_embedding
        E = speech_embedding.clip_features(tr + va + te, audio, a.cache, a.embedding)
        X = {p: np.concatenate([X[p], E[p]]) for p in X}
    if a.per_speaker:
        X = per_speaker(tr + va + te, X, va + te if a.per_speaker == 'skewed' else (),
                        a.seed)
    Xs = lambda its: np.stack([X[it.path] for it in its])  # noqa: E731
    nets = [baseline.fit(Xs(tr), tr, Xs(va), va, a.seed + k, val_corpus=vc)
            for k in range(a.stats_seeds)]
    stats = baseline.ensemble(nets)
    model = Model(encoder(), ARCH['hidden'])
    sd = torch.load(os.path.join(a.source, 'best.pt'))
    model.load_state_dict({k[6:]: v for k, v in sd.items() if k.startswith('model.')})
    zh = {'val': logits_of(model, va, audio), 'test': logits_of(model, te, audio)}
    zs = {'val': baseline.predict(stats, Xs(va)), 'test': baseline.predict(stats, Xs(te))}
    scored = [(val_score(corpus_metrics(fuse(zh['val'], zs['val'], w), va), train_c, vc)[0], w)
              for w in FUSION_WEIGHTS]
    score, w = max(scored)
    res = dict(src, command=' '.join(sys.argv), source=a.source,
               stats_recipe={'seeds': a.stats_seeds, 'seed': a.seed,
                             'speech_embedding': bool(a.embedding),
                             'per_speaker': a.per_speaker,
                             'trained': 'whole clips, no augmentation (models/baseline.py fit)'},
               fusion_weight=w, fusion_scores=[{'weight': ww, 'score': s} for s, ww in scored],
               val_score=score, stats_branch=True)
    outs = {k: fuse(zh[k], zs[k], w) for k in zh}
    T = fit_temperature(outs['val'], [LABELS.index(it.label) for it in va])
    res['temperature'] = T
    for name, its in (('val', va), ('test', te)):
        res[name] = corpus_metrics(outs[name], its)
        res[name + '_calibrated'] = corpus_metrics(outs[name], its, T)
        res[name + '_head_alone'] = corpus_metrics(zh[name], its)
        res[name + '_stats_alone'] = corpus_metrics(zs[name], its)
    torch.save(nn.ModuleDict({'model': model, 'stats': stats}).state_dict(),
               os.path.join(a.out, 'best.pt'))
    with open(os.path.join(a.out, 'results.json'), 'w') as f:
        json.dump(res, f, indent=1)
    print(f'{a.out}: fusion weight {w} (validation {score:.3f}; the source run '
          f'{max(c["score"] for c in src["val_curve"]):.3f}), T {T:.3f}')
    for c, m in res['test'].items():
        if c != '_all':
            print(f'test {c}: acc {m["accuracy"]:.3f} UA {m["UA"]:.3f} '
                  f'valence F1 {m["valence_f1"]:.3f} (n {m["n"]})')


def pct(x):
    return f'{100 * x:.1f} %'


def table(out, baseline_path=None):
    """Markdown tables of a protocol directory: held-out speakers (with
    calibration) and leave-one-corpus-out, beside the baseline."""
    base = json.load(open(baseline_path)) if baseline_path and os.path.exists(
        baseline_path) else {}
    lines = []
    h = os.path.join(out, 'heldout', 'results.json')
    if os.path.exists(h):
        r = json.load(open(h))
        b = base.get('heldout', {})
        lines += ['Held-out speakers (test speakers of each corpus; epoch chosen and '
                  f'temperature fitted on the validation speakers; best epoch '
                  f'{r["best_epoch"]}, T = {r["temperature"]:.2f}):', '',
                  '| corpus | test clips | accuracy | UA | 8-way accuracy | valence F1 | '
                  'baseline accuracy / UA / valence F1 |', '|---|---|---|---|---|---|---|']
        for c, m in sorted(r['test'].items()):
            if c == '_all':
                continue
            bb = b.get(c)
            lines.append(f'| {c} | {m["n"]} | {pct(m["accuracy"])} | {pct(m["UA"])} | '
                         f'{pct(m["accuracy_8"])} | {m["valence_f1"]:.2f} | ' +
                         (f'{pct(bb["accuracy"])} / {pct(bb["UA"])} / {bb["valence_f1"]:.2f} |'
                          if bb else '- |'))
        lines += ['', f'Calibration (8-way softmax, 15-bin ECE): validation '
                  f'{r["val"]["_all"]["ece_8"]:.3f} -> {r["val_calibrated"]["_all"]["ece_8"]:.3f}, '
                  f'test {r["test"]["_all"]["ece_8"]:.3f} -> '
                  f'{r["test_calibrated"]["_all"]["ece_8"]:.3f}; NLL test '
                  f'{r["test"]["_all"]["nll_8"]:.3f} -> {r["test_calibrated"]["_all"]["nll_8"]:.3f}.',
                  '']
    rows = []
    for c in sorted(corpora.SHARED):
        p = os.path.join(out, f'loco-{c}', 'results.json')
        if not os.path.exists(p):
            continue
        r = json.load(open(p))
        m = r['test'][c]
        bb = base.get(c, {}).get(c)
        rows.append(f'| {c} | {", ".join(r["train_corpora"])} | {m["n"]} | '
                    f'{pct(m["accuracy"])} | {pct(m["UA"])} | {m["valence_f1"]:.2f} | ' +
                    (f'{pct(bb["accuracy"])} / {pct(bb["UA"])} / {bb["valence_f1"]:.2f} |'
                     if bb else '- |'))
    if rows:
        lines += ['Leave one corpus out (train on the others, test on every speaker of '
                  'the one left out; argmax restricted to its classes; Li et al.\'s '
                  '3-class valence weighted F1):', '',
                  '| left out | trained on | clips | accuracy | UA | valence F1 | '
                  'baseline accuracy / UA / valence F1 |', '|---|---|---|---|---|---|---|']
        lines += rows
    text = '\n'.join(lines) + '\n'
    with open(os.path.join(out, 'table.md'), 'w') as f:
        f.write(text)
    print(text)


def protocol(a):
    """The held-out run (exported) and one leave-one-corpus-out run per
    labelled corpus, a.jobs at a time, then the baseline and the table."""
    common = ['--epochs', str(a.epochs), '--steps', str(a.steps), '--pretrain',
              str(a.pretrain), '--seed', str(a.seed), '--data', a.data, '--emotop',
              a.emotop, '--cache', a.cache, '--val-corpus', a.val_corpus,
              '--adversary', str(a.adversary),
              '--masked-pretrain', str(a.masked_pretrain)] + (
                  [] if a.stats else ['--no-stats']) + (
                  [] if a.masked_ljspeech else ['--no-masked-ljspeech'])
    labelled = [c for c in a.corpora.split(',') if corpora.CLASSES[c]]
    runs = [('heldout', ['--export', a.export] if a.export else [])]
    runs += [(f'loco-{c}', ['--leave-out', c, '--epochs', str(a.loco_epochs)])
             for c in labelled]
    procs = []
    for name, extra in runs:
        d = os.path.join(a.out, name)
        if os.path.exists(os.path.join(d, 'results.json')):
            print(f'{name}: done already', flush=True)
            continue
        launch(procs, a.jobs, d, name, ['--corpora', a.corpora] + common + extra)
    for p in procs:
        if p.wait():
            sys.exit('a run failed: see its stderr.log')
    bl = os.path.join(a.out, 'baseline.json')
    if not os.path.exists(bl):
        subprocess.run([sys.executable, os.path.join(HERE, 'baseline.py'), '--out', bl,
                        '--data', a.data, '--emotop', a.emotop, '--cache', a.cache,
                        '--corpora', ','.join(labelled), '--val-corpus', a.val_corpus],
                       check=True)
    table(a.out, bl)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__[__doc__.index('One label'):])
    ap.add_argument('cmd', choices=['run', 'protocol', 'table', 'export', 'restats',
                                    'folds', 'fold-table'])
    ap.add_argument('--out', required=True, help='run directory (log, checkpoint, results)')
    ap.add_argument('--data', default=SHARED)
    # LJSpeech was in this list when the shipped model trained, but
    # split_of() files a corpus without SPLITS under 'test', so it never
    # reached the pretraining pool: leaving it out computes the same run
    ap.add_argument('--corpora', default='ravdess,nemo,turev,ased,tess')
    ap.add_argument('--leave-out', default='', help='corpus to test on, not train on')
    ap.add_argument('--val-corpus', default=VAL_CORPUS,
                    help='corpus kept out of training to validate on (\'\': none)')
    ap.add_argument('--no-stats', dest='stats', action='store_false',
                    help='no statistics branch (the HuBERT-LSTM alone)')
    ap.add_argument('--adversary', type=float, default=0.0,
                    help='weight of a corpus classifier behind gradient reversal (0: none)')
    ap.add_argument('--adversary-target', choices=['corpus', 'speaker'], default='corpus',
                    help='what the adversary tries to tell apart: the training corpora, '
                         'or the training speakers (about 90)')
    ap.add_argument('--emotop', default=os.path.join(HERE, '..', 'build', 'emotop'))
    ap.add_argument('--cache', default=os.path.join(HERE, '..', 'build', 'corpus-cache'))
    ap.add_argument('--epochs', type=int, default=20)
    ap.add_argument('--steps', type=int, default=200, help='batches per epoch')
    ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--crop', type=float, default=2.0)
    ap.add_argument('--lr', type=float, default=1e-3)
    ap.add_argument('--pretrain', type=int, default=1500,
                    help='log-mel pretraining steps for the front end (0: none)')
    ap.add_argument('--masked-pretrain', type=int, default=0, metavar='STEPS',
                    help='HuBERT masked-prediction pretraining of the encoder on MFCC '
                         'k-means targets, after the log-mel front-end pretraining '
                         '(steps; 0: none)')
    ap.add_argument('--no-masked-ljspeech', dest='masked_ljspeech', action='store_false',
                    help='masked prediction on the training clips alone, without LJSpeech')
    ap.add_argument('--no-augment', action='store_true')
    ap.add_argument('--voices', action='store_true',
                    help='new speakers from the ones there are: pitch shift, vocal-tract-'
                         'length perturbation, -30..+6 dB requantised, Opus (augment.py)')
    ap.add_argument('--fold', action='store_true',
                    help='run: one fold of the fold protocol (with --leave-out): no '
                         'validation of its own; each epoch scores the held-out corpus '
                         'for `folds` to choose on the mean of every fold')
    ap.add_argument('--seeds', type=lambda s: [int(x) for x in s.split(',')],
                    default=[0, 1], help='folds: the seeds of every fold (0,1)')
    ap.add_argument('--only-train', default='',
                    help='train on these corpora\'s training speakers only (validation '
                         'and test unchanged): the fewer-corpora lever')
    ap.add_argument('--mixup', type=float, default=0.0,
                    help='manifold mixup at the classifiers\' input, Beta(a, a) '
                         'weights, within a corpus (0: off)')
    ap.add_argument('--time-mask', type=float, default=0.0,
                    help='share of frames masked in training (SpecAugment time masks)')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--source', help='restats: the run whose HuBERT-LSTM is fused')
    ap.add_argument('--stats-seeds', type=int, default=5,
                    help='restats: statistics MLPs averaged into one branch')
    ap.add_argument('--per-speaker', choices=['balanced', 'skewed'],
                    help='restats: the branch\'s features standardised over each speaker\'s '
                         'clips (skewed: validation and test speakers\' statistics from one '
                         'emotion of theirs, as a live session would have them); a lever '
                         'measured on the validation, not exportable')
    ap.add_argument('--embedding', metavar='DIR',
                    help='restats: also the clip statistics of Google\'s speech_embedding '
                         '(its two ONNX files in DIR) in the branch; a lever measured '
                         'on the validation, not exportable')
    ap.add_argument('--threads', type=int, default=1,
                    help='torch threads (on 2 cores, one epoch took 309 s with 2 against '
                         '116 s with 1)')
    ap.add_argument('--export', help='write an emotop model directory here')
    ap.add_argument('--jobs', type=int, default=2, help='protocol: runs at once')
    ap.add_argument('--loco-epochs', type=int, default=10,
                    help='protocol: epochs of each leave-one-corpus-out run')
    a = ap.parse_args()
    if a.cmd == 'run':
        run(a)
    elif a.cmd == 'protocol':
        protocol(a)
    elif a.cmd == 'restats':
        restats(a)
    elif a.cmd == 'folds':
        folds(a)
    elif a.cmd == 'fold-table':
        fold_table(a.out)
    elif a.cmd == 'export':
        # a finished run's chosen epoch and temperature, exported again
        res = json.load(open(os.path.join(a.out, 'results.json')))
        if res.get('stats_recipe', {}).get('per_speaker'):
            sys.exit(f'{a.out}: its statistics branch standardises per speaker, which '
                     'the C engine does not do: not exportable')
        if res.get('stats_recipe', {}).get('speech_embedding'):
            sys.exit(f'{a.out}: its statistics branch reads speech_embedding features, '
                     'which the C engine does not compute: not exportable')
        model = Model(encoder(), ARCH['hidden'])
        sd = torch.load(os.path.join(a.out, 'best.pt'))
        stats = (StatsNet(hidden=sd['stats.fc1.weight'].shape[0])
                 if res.get('stats_branch') else None)
        model.load_state_dict({k[6:]: v for k, v in sd.items() if k.startswith('model.')})
        if stats is not None:
            stats.load_state_dict({k[6:]: v for k, v in sd.items() if k.startswith('stats.')})
            stats.eval()
        export(model.eval(), a.export, 'models/train.py', res, T=res['temperature'],
               stats=stats, w=res.get('fusion_weight', 1.0))
    else:
        table(a.out, os.path.join(a.out, 'baseline.json'))


if __name__ == '__main__':
    main()
