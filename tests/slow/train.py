"""models/train.py's and models/emotop_model.py's pieces against hand-computed values and
independent references (needs python3-torch; slow suite):

- the masked loss: equal to a cross entropy over the clip's own classes
  with label smoothing spread over them only, and no gradient at all on
  the masked logits (nEMO never teaches "never calm");
- the batched model (padding, per-example reversed LSTM) equals nn.LSTM on
  each example alone;
- the metrics: restricted argmax, 3-class valence, weighted F1, ECE on
  hand-made numbers; temperature fitting recovers a known temperature;
- the statistics branch's ensemble (baseline.ensemble) is one MLP whose
  logits are the mean of its members';
- masked prediction: each frame's MFCC target is the window at the centre
  of its receptive field (torchaudio on that window alone), k-means finds
  known clusters, the span mask covers about half a crop in whole spans,
  and a stopped pretraining resumes at its step;
- with ../shared/data: a two-step run on TurEV-DB (with two steps of
  masked prediction) exports a model that the
  C engine computes as PyTorch does (models/check_parity.py --corpora), and
  so does that run refitted by `train.py restats` (an ensemble branch).
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'e2e'))
from common import DATA, EMOTOP, SRC, check, finish, need_torch  # noqa: E402

need_torch()
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.join(SRC, 'models'))
import corpora  # noqa: E402
import emotop_model as em  # noqa: E402
import protocol  # noqa: E402
import train as mc  # noqa: E402
import torch_threads  # noqa: E402

torch_threads.set_threads(1)
torch.manual_seed(0)
L = corpora.LABELS

# masked loss
logits = torch.randn(3, 8, requires_grad=True)
y = torch.tensor([L.index('angry'), L.index('calm'), L.index('sad')])
masks = torch.tensor([[l in corpora.CLASSES[c] for l in L] for c in ('nemo', 'turev', 'ravdess')])
loss = protocol.masked_ce(logits, y, masks, smoothing=0.1)
ref = 0
for b in range(3):
    idx = [i for i in range(8) if masks[b, i]]
    lp = F.log_softmax(logits[b, idx], -1)
    q = torch.full((len(idx),), 0.1 / len(idx))
    q[idx.index(int(y[b]))] += 0.9
    ref = ref - (q * lp).sum() / 3
check(abs(float(loss) - float(ref)) < 1e-6, 'masked loss = CE over the corpus classes',
      (float(loss), float(ref)))
loss.backward()
g = logits.grad
check(float(g[0, L.index('calm')]) == 0 and float(g[0, L.index('disgust')]) == 0 and
      float(g[1, L.index('fearful')]) == 0,
      'no gradient on the logits of classes a corpus does not have')
check(float(g[2].abs().min()) > 0, 'RAVDESS clips reach every logit')

# batched model == each example alone through nn.LSTM
m = em.Model(em.encoder(), em.ARCH['hidden']).eval()
xs = [torch.randn(n) * 0.1 for n in (16000, 23000, 30000)]
with torch.no_grad():
    alone = []
    for x in xs:
        h = m.enc.encoder(em.conv_features(m.enc.feature_extractor, x[None]))
        yy, _ = m.lstm(h)
        alone.append(m.classifier(yy.mean(1))[0])
    Lm = max(len(x) for x in xs)
    batch = m(torch.stack([F.pad(x, (0, Lm - len(x))) for x in xs]), [len(x) for x in xs])
d = float((torch.stack(alone) - batch).abs().max())
check(d < 1e-5, f'padded batch == nn.LSTM on each example alone (max diff {d:.1e})')

# metrics on hand-made numbers
It = corpora.Item
items = [It('a', 'angry', 'turev:1', 'turev'), It('b', 'calm', 'turev:1', 'turev'),
         It('c', 'happy', 'turev:1', 'turev'), It('d', 'sad', 'turev:1', 'turev')]
lg = np.full((4, 8), -5.0)
lg[0, L.index('angry')] = 3             # right
lg[1, L.index('disgust')] = 4           # disgust is not TurEV's: restricted
lg[1, L.index('calm')] = 2              # argmax picks calm (right)
lg[2, L.index('sad')] = 3               # wrong; valence negative vs positive
lg[3, L.index('fearful')] = 5           # not TurEV's ...
lg[3, L.index('sad')] = 1               # ... restricted: sad (right)
r = em.corpus_metrics(lg, items)['turev']
check(abs(r['accuracy'] - 0.75) < 1e-9 and abs(r['accuracy_8'] - 0.25) < 1e-9,
      'restricted 3/4, over all 8 labels 1/4', r)
# valence: truth neg, neu, pos, neg; predicted (by summed probabilities)
# neg, neg (disgust dominates), neg, neg -> negative: tp 2, fp 2, F1 4/6
# (support 2), neutral 0 (support 1), positive 0 (1): weighted 1/3
check(abs(r['valence_f1'] - 1 / 3) < 1e-6, 'valence weighted F1 by hand', r['valence_f1'])
check(abs(em.weighted_f1(['n', 'n', 'p'], ['n', 'p', 'p'], ['n', 'p']) -
          (2 * (2 / 3) + 1 * (2 / 3)) / 3) < 1e-9, 'weighted F1 by hand')
probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.8, 0.2], [0.7, 0.3]])
truth = np.array([0, 1, 0, 0])
# bins of 1/15: conf 0.9 (right), 0.6 (wrong), 0.8 (right), 0.7 (right),
# each alone in its bin: ECE = (0.1 + 0.6 + 0.2 + 0.3) / 4
check(abs(em.ece(probs, truth) - 0.3) < 1e-9, 'ECE by hand', em.ece(probs, truth))

# temperature: labels drawn from softmax(z / 2.5) -> fitted T near 2.5
g = torch.Generator().manual_seed(1)
z = torch.randn(20000, 8, generator=g) * 4
yt = torch.multinomial(torch.softmax(z / 2.5, -1), 1, generator=g)[:, 0]
T = em.fit_temperature(z.numpy(), yt.numpy().tolist())
check(abs(T - 2.5) < 0.15, f'temperature fit recovers 2.5 (got {T:.3f})')

# the protocol's sets: --only-train changes what trains, not what validates
# or tests
It = corpora.Item
fake = [It(f'/x/{c}{s}{k}', 'angry', f'{c}:{s}', c)
        for c, spk in (('ravdess', ['02', '17', '19']), ('nemo', ['AA0', 'KD0', 'IC0']),
                       ('tess', ['OAF', 'YAF']))
        for s in spk for k in range(4)]
full = protocol.protocol_sets(fake, ['ravdess', 'nemo', 'tess'], '', 'tess')
only = protocol.protocol_sets(fake, ['ravdess', 'nemo', 'tess'], '', 'tess', ['ravdess'])
check(full[2] == only[2] and full[3] == only[3] and
      {it.corpus for it in only[1]} == {'ravdess'} and
      {it.corpus for it in full[1]} == {'ravdess', 'nemo'},
      '--only-train: fewer training corpora, the same validation and test sets')

# mixup pairs examples of one corpus only, and mixes labels as it mixes inputs
import random  # noqa: E402
cs = torch.tensor([0, 1, 0, 2, 1, 0])
perm = mc.same_corpus_pairs(cs, random.Random(1))
check(sorted(perm.tolist()) == list(range(6)) and all(cs[i] == cs[perm[i]] for i in range(6)),
      'mixup: a permutation within each corpus', perm)
head = torch.nn.Linear(4, 8)
feats, yy = torch.randn(6, 4), torch.tensor([0, 1, 2, 3, 4, 5])
mm = torch.ones(6, 8, dtype=torch.bool)
check(abs(float(mc.mixed_ce(head, feats, yy, mm, perm, 1.0) - protocol.masked_ce(head(feats), yy, mm)))
      < 1e-6, 'mixup with weight 1 is the plain loss')

# per-speaker standardisation: each speaker's clips to mean 0, deviation 1
pis = [It(f'/p/{k}', 'angry', f'c:{k % 2}', 'ravdess') for k in range(6)]
Xp = {it.path: np.array([float(k), 10.0 * k * k]) for k, it in enumerate(pis)}
Zp = mc.per_speaker(pis, Xp)
ok = True
for spk in ('c:0', 'c:1'):
    z = np.stack([Zp[it.path] for it in pis if it.speaker == spk])
    ok &= bool(np.allclose(z.mean(0), 0, atol=1e-9) and np.allclose(z.std(0), 1, atol=1e-5))
check(ok, 'per-speaker standardisation: mean 0 and deviation 1 within each speaker')
pis2 = [It(f'/q/{k}', ['angry', 'sad'][k % 2], 's:0', 'ravdess') for k in range(6)]
Xq = {it.path: np.array([float(k)]) for k, it in enumerate(pis2)}
Zq = mc.per_speaker(pis2, Xq, skewed=pis2)
one = [[it.path for it in pis2 if it.label == lab] for lab in ('angry', 'sad')]
check(any(abs(np.mean([Zq[p][0] for p in grp])) < 1e-9 for grp in one) and
      abs(np.mean([Zq[it.path][0] for it in pis2])) > 0.2,
      'skewed: a speaker\'s statistics from one of their emotions alone')

# the statistics ensemble: one MLP, the mean of its members' logits
import baseline  # noqa: E402
nets = []
for k in range(3):
    n = em.StatsNet(hidden=16, n_in=5).eval()
    n.mean.copy_(torch.arange(5.0))
    n.std.copy_(torch.full((5,), 2.0))
    nets.append(n)
ens = baseline.ensemble(nets)
xx = torch.randn(7, 5)
with torch.no_grad():
    want = sum(n(xx) for n in nets) / 3
    got = ens(xx)
check(ens.fc1.out_features == 48 and float((got - want).abs().max()) < 1e-5,
      'an ensemble of three statistics MLPs is one MLP of their mean logits',
      float((got - want).abs().max()))

# masked prediction: the MFCC target of encoder frame t is the 25 ms window
# at the centre of its receptive field, computed alone
import torchaudio  # noqa: E402
x = torch.randn(1, 16000) * 0.1
mf = mc.mfcc_frames(x)
alone = torchaudio.transforms.MFCC(16000, n_mfcc=13, melkwargs=dict(
    n_fft=400, win_length=400, hop_length=400, n_mels=40, center=False))
nt = em.n_frames(16000)
ok = mf.shape[1] >= nt and mf.shape[2] == 39
for t in (0, 7, nt - 1):
    ref = alone(x[:, 320 * t + 400:320 * t + 800])[0, :, 0]
    ok &= bool(torch.allclose(mf[0, t, :13], ref, atol=1e-3))
check(ok, f'MFCC frame t = the window [320t+400, 320t+800) alone ({mf.shape[1]} >= {nt})')

# k-means finds three separated blobs
g = torch.Generator().manual_seed(3)
truth = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
X = torch.cat([c + torch.randn(300, 2, generator=g) for c in truth])
C = mc.fit_kmeans(X, 3, 10, g)
err = max(float((C - c).norm(dim=1).min()) for c in truth)
check(err < 0.3, f'k-means recovers three blobs (worst centroid off by {err:.2f})')

# HuBERT's span mask: spans of 10, about half of a 2 s crop's 99 frames
mk = mc.span_mask(200, 99, torch.Generator().manual_seed(0))
share = float(mk.float().mean())
runs = []
for row in mk.tolist():
    n = 0
    for v in row + [False]:
        if v:
            n += 1
        elif n:
            runs.append(n)
            n = 0
check(0.4 < share < 0.7, f'span mask: {share:.2f} of the frames masked')
check(min(runs) >= 10, 'every masked run is at least one whole span', sorted(runs)[:5])

# masked pretraining learns, and a second call resumes from its checkpoint
# (a stopped run does not redo it)
with tempfile.TemporaryDirectory() as tmp:
    pool = [torch.randn(n) * 0.1 for n in (20000, 30000, 40000, 25000)]
    mdl = em.Model(em.encoder(), em.ARCH['hidden'])
    before = {k: v.clone() for k, v in mdl.enc.state_dict().items()}
    logs = []
    ck = os.path.join(tmp, 'masked.pt')
    mc.masked_pretrain(mdl, pool, 2, 2, 0, ck, logs.append, crop=1.0)
    st = torch.load(ck)
    moved = any(not torch.equal(before[k], v) for k, v in st['enc'].items())
    check(st['step'] == 2 and moved and st['book']['centroids'].shape == (mc.MFCC_CLUSTERS, 39)
          and all(np.isfinite(float(m.split('loss ')[1].split()[0])) for m in logs if 'loss' in m),
          'masked pretraining saves its step, codebook and a changed encoder; finite losses',
          logs)
    mdl2 = em.Model(em.encoder(), em.ARCH['hidden'])
    mc.masked_pretrain(mdl2, pool, 2, 2, 0, ck, logs.append, crop=1.0)
    same = all(torch.equal(v, st['enc'][k]) for k, v in mdl2.enc.state_dict().items())
    check(any('resuming at step 2' in m for m in logs) and same,
          'a second call resumes at the saved step with the saved encoder', logs[-1:])

# a tiny real run, exported, C == PyTorch
if os.path.isdir(os.path.join(DATA, 'turev-db')):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, 'run')
        exp = os.path.join(tmp, 'model')
        p = subprocess.run([sys.executable, os.path.join(SRC, 'models', 'train.py'),
                            'run', '--out', out, '--corpora', 'turev', '--epochs', '1',
                            '--steps', '2', '--pretrain', '2', '--masked-pretrain', '2',
                            '--no-masked-ljspeech', '--export', exp,
                            '--emotop', EMOTOP, '--cache', os.path.join(tmp, 'cache')],
                           capture_output=True, text=True, timeout=1200)
        check(p.returncode == 0 and os.path.exists(os.path.join(exp, 'model.safetensors')),
              'a two-step TurEV-DB run exports a model', p.stderr[-800:])
        res = json.load(open(os.path.join(out, 'results.json'))) if p.returncode == 0 else {}
        check(set(res.get('test', {})) == {'turev', '_all'} and res['test']['turev']['n'] > 200,
              'its results name the test speakers\' clips', res.get('n'))
        cfg = json.load(open(os.path.join(exp, 'config.json'))) if p.returncode == 0 else {}
        check(cfg.get('emotop_head', {}).get('temperature_folded') == res.get('temperature'),
              'the fitted temperature is recorded in the config')
        # parity on the TurEV-DB speaker the run tested on (273 files)
        lst = os.path.join(tmp, 'test.tsv')
        items, _ = corpora.read('turev', os.path.join(DATA, 'turev-db'))
        with open(lst, 'w') as f:
            for it in items:
                if protocol.split_of(it) == 'test':
                    f.write(f'{it.path}\t{it.label}\n')
        q = subprocess.run([sys.executable, os.path.join(SRC, 'models', 'check_parity.py'),
                            '--model', exp, '--emotop', EMOTOP, '--corpora', 'turev'],
                           capture_output=True, text=True, timeout=1200)
        check(q.returncode == 0, 'C engine == PyTorch on every TurEV-DB file',
              q.stdout[-600:] + q.stderr[-300:])
        # the same run's encoder with a statistics branch refitted the
        # baseline's way (an ensemble of two)
        out2, exp2 = os.path.join(tmp, 'restats'), os.path.join(tmp, 'model2')
        p = subprocess.run([sys.executable, os.path.join(SRC, 'models', 'train.py'),
                            'restats', '--source', out, '--out', out2, '--corpora', 'turev',
                            '--stats-seeds', '2', '--emotop', EMOTOP,
                            '--cache', os.path.join(tmp, 'cache')],
                           capture_output=True, text=True, timeout=1200)
        r2 = json.load(open(os.path.join(out2, 'results.json'))) if p.returncode == 0 else {}
        check(p.returncode == 0 and r2.get('best_epoch') == res.get('best_epoch') and
              r2.get('fusion_weight') in mc.FUSION_WEIGHTS and
              r2['test']['turev']['n'] == res['test']['turev']['n'],
              'restats refits the branch of a finished run', p.stderr[-800:])
        p = subprocess.run([sys.executable, os.path.join(SRC, 'models', 'train.py'),
                            'export', '--out', out2, '--export', exp2],
                           capture_output=True, text=True, timeout=600)
        cfg2 = json.load(open(os.path.join(exp2, 'config.json'))) if p.returncode == 0 else {}
        check(cfg2.get('emotop_head', {}).get('stats', {}).get('hidden_size') == 512,
              'its export holds both members (hidden 2 x 256)', p.stderr[-400:])
        q = subprocess.run([sys.executable, os.path.join(SRC, 'models', 'check_parity.py'),
                            '--model', exp2, '--emotop', EMOTOP, '--corpora', 'turev'],
                           capture_output=True, text=True, timeout=1200)
        check(q.returncode == 0, 'refitted: C engine == PyTorch on every TurEV-DB file',
              q.stdout[-600:] + q.stderr[-300:])
else:
    print('skip the training run: ../shared/data/turev-db not found')

sys.exit(finish())
