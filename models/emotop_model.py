#!/usr/bin/python3
"""What must match emotop's C engine, in one place: the model definition
(HuBERT-structure encoder, the Hubert-LSTM paper's BiLSTM head, the
window-statistics branch), its front end (the conv feature encoder as
training runs it) and input normalisation, the label list, the audio as the
trainers hear it (trimmed by emotop's own VAD), the export to an emotop
model directory, and the metrics every protocol reports.

Users: models/train.py (the shipped model: five corpora, cross-corpus
selection), models/train_ravdess.py (RAVDESS only: the paper's actor
rotation, and --mode frozen for a downloaded pretrained encoder),
models/baseline.py, models/check_parity.py, tests/slow/ and
tests/fixtures/gen_head.py.

The label list itself is corpora.LABELS, re-exported here: the corpus
readers need it and stay free of PyTorch, so that their tests run where
torch is not installed.
"""
import json
import math
import os
import subprocess
import sys

import numpy as np
import soundfile as sf
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchaudio.models import wav2vec2_model
from torchaudio.models.wav2vec2.components import LayerNorm as ConvLayerNorm

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import corpora  # noqa: E402
import st_write  # noqa: E402

LABELS = corpora.LABELS
SR = 16000

# -- the encoder ------------------------------------------------------------
#
# An architecture: conv feature encoder layers (channels, kernel, stride)
# and the transformer's sizes. `large` picks HuBERT-large's structure
# (layer norm after every conv, pre-norm layers, conv bias) over
# HuBERT-base's (group norm on the first conv, post-norm layers); both run
# in the C engine.

# the shipped model's: a wide first convolution (400 taps = 25 ms, stride
# 160 = 10 ms, like an STFT front end), frames every 320 samples (20 ms) as
# HuBERT's, receptive field 1,200 samples; used with large=True
ARCH = dict(conv=[(256, 400, 160), (128, 2, 2), (128, 3, 1)], hidden=128,
            layers=4, heads=4, ff=512, pos_k=32, pos_groups=8)

# the RAVDESS-only trainer's: HuBERT's conv stack (20 ms frames, 400-sample
# receptive field) with narrower layers, and a 2-layer transformer
SMALL = dict(conv=list(zip([32, 64, 64, 64, 64, 64, 64], [10, 3, 3, 3, 3, 2, 2],
                           [5, 2, 2, 2, 2, 2, 2])),
             hidden=128, layers=2, heads=4, ff=256, pos_k=32, pos_groups=8)


def encoder(arch=ARCH, large=True, dropout=0.1):
    return wav2vec2_model('layer_norm' if large else 'group_norm', arch['conv'], large,
                          arch['hidden'], dropout, arch['pos_k'], arch['pos_groups'],
                          arch['layers'], arch['heads'], dropout, arch['ff'], dropout,
                          dropout, large, 0.0, None)


def small_encoder(variant='base'):
    """The RAVDESS-only trainer's encoder, HuBERT-base or -large structure."""
    return encoder(SMALL, large=variant == 'large')


def n_frames(n, arch=ARCH):
    for _, k, s in arch['conv']:
        n = (n - k) // s + 1
    return max(n, 0)


class Gelu(torch.autograd.Function):
    """F.gelu whose backward pass gets contiguous tensors. Debian's torch
    1.13 computes gelu_backward wrongly (errors of order 1, AVX2 path) when
    the gradient and the input have different strides: a contiguous GELU
    followed by a transposed view produces them, and so does torchaudio's
    own base (GroupNorm) feature encoder; training then diverges.
    tests/slow/train.py checks these gradients."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return F.gelu(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return torch.ops.aten.gelu_backward(g.contiguous(), x.contiguous())


def conv_features(fe, x):
    """torchaudio's FeatureExtractor.forward, with GELU applied while the
    layer-normed activations are contiguous: torchaudio applies it to a
    transposed view, where its backward pass runs 5x slower (a sixth of a
    training step). Same function; the results differ by float rounding."""
    x = x.unsqueeze(1)
    for layer in fe.conv_layers:
        x = layer.conv(x)
        ln = layer.layer_norm
        if isinstance(ln, ConvLayerNorm):
            x = F.layer_norm(x.transpose(1, 2), ln.normalized_shape, ln.weight,
                             ln.bias, ln.eps)
            x = Gelu.apply(x).transpose(1, 2)
        else:
            x = Gelu.apply(ln(x) if ln is not None else x)
    return x.transpose(1, 2)


def mask_features(f, nt, lt, nc, lc, lengths=None):
    """SpecAugment-style masks on conv features f (B, T, C), training only:
    in each example, nt time spans of up to lt frames and nc channel spans
    of up to lc channels set to zero. With lengths, time spans stay inside
    each example's own frames, and lt < 1 is a share of them."""
    B, T, C = f.shape
    keep = torch.ones(B, T, C)
    for b in range(B):
        n_b = int(lengths[b]) if lengths is not None else T
        span = int(lt * n_b) if lt < 1 else int(lt)
        for _ in range(nt):
            n = int(torch.randint(0, span + 1, ()))
            o = int(torch.randint(0, max(n_b - n, 0) + 1, ()))
            keep[b, o:o + n, :] = 0
        for _ in range(nc):
            n = int(torch.randint(0, lc + 1, ()))
            o = int(torch.randint(0, max(C - n, 0) + 1, ()))
            keep[b, :, o:o + n] = 0
    return f * keep


def normalize(x, n=None):
    """do_normalize: zero mean, unit variance over the last dimension (its
    first n samples when n is given), as the C engine normalises a window."""
    y = x[..., :n] if n is not None else x
    return (y - y.mean(-1, keepdim=True)) / torch.sqrt(
        y.var(-1, unbiased=False, keepdim=True) + 1e-7)


# -- the head -----------------------------------------------------------------

class HubertLSTM(nn.Module):
    def __init__(self, enc, hidden, lstm_hidden=256, n_cls=8):
        super().__init__()
        self.enc = enc
        self.lstm = nn.LSTM(hidden, lstm_hidden, batch_first=True,
                            bidirectional=True)
        self.classifier = nn.Linear(2 * lstm_hidden, n_cls)

    mask = None  # (time spans, time len, channel spans, channel len)

    def features(self, x):
        # last hidden state, as emotop's head reads it (layer -1)
        feats = conv_features(self.enc.feature_extractor, x)
        if self.training and self.mask:
            feats = mask_features(feats, *self.mask)
        return self.enc.encoder(feats)

    def forward(self, x, frozen=False):
        if frozen:
            with torch.no_grad():
                h = self.features(x)
        else:
            h = self.features(x)
        y, _ = self.lstm(h)
        return self.classifier(y.mean(1))


def lstm_direction(x, w_ih, w_hh, b_ih, b_hh):
    """One LSTM direction over x (B, T, I), PyTorch's gate order (i, f, g,
    o). The input projection is one GEMM for all steps; the steps are
    unbound rather than sliced, because Debian's torch 1.13 differentiates
    nn.LSTM on the CPU through per-step slices whose backward fills a
    zero tensor of the whole sequence each time (T^2: three quarters of a
    training step)."""
    gx = F.linear(x, w_ih, b_ih + b_hh)
    B, H = x.shape[0], w_hh.shape[1]
    h = x.new_zeros(B, H)
    c = x.new_zeros(B, H)
    out = []
    for g in gx.unbind(1):
        i, f, gg, o = (g + h @ w_hh.t()).chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(gg)
        h = torch.sigmoid(o) * torch.tanh(c)
        out.append(h)
    return torch.stack(out, 1)


class Model(HubertLSTM):
    """HubertLSTM over variable-length batches: the transformer masks the
    padding and each example's backward LSTM starts at its own last frame,
    so each example is computed as the C engine computes it alone. The
    parameters are nn.LSTM's (same names in the exported model)."""

    time_mask = 0.0  # share of frames masked in training (mask_features)

    def forward(self, x, lengths=None):
        return self.classifier(self.pooled(x, lengths))

    def pooled(self, x, lengths=None):
        """The mean over time of the BiLSTM's output (B, 512)."""
        feats = conv_features(self.enc.feature_extractor, x)
        B, T = feats.shape[0], feats.shape[1]
        if lengths is None:
            fl = torch.full((B,), T)
        else:
            fl = torch.tensor([n_frames(int(n)) for n in lengths])
        if self.training and self.time_mask > 0:
            feats = mask_features(feats, 2, self.time_mask / 2, 0, 0, fl)
        h = self.enc.encoder(feats, None if lengths is None else fl)
        L = self.lstm
        t = torch.arange(T)[None]
        # reverse each sequence within its length (padding stays after it);
        # the index is its own inverse
        rev = torch.where(t < fl[:, None], fl[:, None] - 1 - t, t)
        fwd = lstm_direction(h, L.weight_ih_l0, L.weight_hh_l0, L.bias_ih_l0,
                             L.bias_hh_l0)
        hr = h.gather(1, rev[..., None].expand_as(h))
        bwd = lstm_direction(hr, L.weight_ih_l0_reverse, L.weight_hh_l0_reverse,
                             L.bias_ih_l0_reverse, L.bias_hh_l0_reverse)
        bwd = bwd.gather(1, rev[..., None].expand_as(bwd))
        y = torch.cat([fwd, bwd], -1)
        valid = (t < fl[:, None]).to(y.dtype)[..., None]
        return (y * valid).sum(1) / fl[:, None].to(y.dtype)


# -- the statistics branch: log-mel clip statistics beside the encoder ----
#
# The trivial baseline's features (models/baseline.py), computed per window
# on what the encoder sees (the window after do_normalize, so they do not
# depend on the input gain): 64 log-mel bands of 25 ms frames every 10 ms
# (no centring: frames = 1 + (n - 400) // 160; periodic Hann window; power
# spectrum through HTK-scale triangles 0-8 kHz), their mean and standard
# deviation over the louder frames (band energy within 30 dB of the
# window's loudest frame), the standard deviation of their frame-to-frame
# delta over all frames, and the share of louder frames: 193 numbers,
# standardised, into an MLP of 256 whose logits are added to the head's.
# The C engine computes the same from the tensors export() writes
# (stats.window, stats.mel_fb, stats.mean, stats.std, stats.fc1/fc2).

STATS_FFT, STATS_HOP, STATS_MELS = 400, 160, 64
STATS_DIM = 3 * STATS_MELS + 1
STATS_LOUD_DB = 30.0


def stats_window():
    return torch.hann_window(STATS_FFT, periodic=True, dtype=torch.float64)


def stats_mel_fb():
    """(STATS_MELS, STATS_FFT // 2 + 1) triangles."""
    import torchaudio.functional as AF
    return AF.melscale_fbanks(STATS_FFT // 2 + 1, 0.0, SR / 2, STATS_MELS, SR,
                              norm=None, mel_scale='htk').t().to(torch.float64)


_STATS = {}


def window_stats(x):
    """The 193 statistics of one normalised window x (1-D); float32."""
    if not _STATS:
        _STATS['w'], _STATS['fb'] = stats_window(), stats_mel_fb()
    x = x.to(torch.float64)
    if len(x) < STATS_FFT:
        x = F.pad(x, (0, STATS_FFT - len(x)))
    fr = x.unfold(0, STATS_FFT, STATS_HOP) * _STATS['w']  # T, 400
    spec = torch.fft.rfft(fr).abs().pow(2)  # T, 201
    m = torch.log(spec @ _STATS['fb'].t() + 1e-6)  # T, 64
    e = m.logsumexp(1)
    loud = e > e.max() - STATS_LOUD_DB * math.log(10) / 10
    ml = m[loud]
    d = m[1:] - m[:-1]
    dstd = d.std(0, unbiased=False) if d.shape[0] else torch.zeros(STATS_MELS,
                                                                   dtype=torch.float64)
    return torch.cat([ml.mean(0), ml.std(0, unbiased=False), dstd,
                      loud.to(torch.float64).mean()[None]]).float()


class StatsNet(nn.Module):
    """Standardised window statistics into an MLP (the baseline's shape)."""

    def __init__(self, hidden=256, n_cls=8, n_in=STATS_DIM):
        super().__init__()
        self.register_buffer('mean', torch.zeros(n_in))
        self.register_buffer('std', torch.ones(n_in))
        self.fc1 = nn.Linear(n_in, hidden)
        self.drop = nn.Dropout(0.3)
        self.fc2 = nn.Linear(hidden, n_cls)

    def forward(self, f):
        return self.fc2(self.drop(F.relu(self.fc1((f - self.mean) / self.std))))


# -- audio as the trainers hear it -------------------------------------------

def vad_trim(files, emotop, cache):
    """{path: (start, end) seconds} from `emotop vad --json`, cached."""
    segs = {}
    if os.path.exists(cache):
        with open(cache) as f:
            segs = json.load(f)
    todo = [f for f in files if f not in segs]
    for i in range(0, len(todo), 200):
        out = subprocess.run([emotop, 'vad', '--json'] + todo[i:i + 200],
                             check=True, capture_output=True, text=True).stdout
        for line in out.splitlines():
            r = json.loads(line)
            s = r['segments']
            segs[r['file']] = ([s[0][0], s[-1][1]] if s else [0, r['duration']])
    if todo:
        with open(cache, 'w') as f:
            json.dump(segs, f)
    return segs


def load_audio(items, emotop, cache_dir):
    """Each item's audio trimmed to its speech, as float32 (cached as int16
    per corpus in cache_dir)."""
    os.makedirs(cache_dir, exist_ok=True)
    by_corpus = {}
    for it in items:
        by_corpus.setdefault(it.corpus, []).append(it)
    out = {}
    for c, its in by_corpus.items():
        pack = os.path.join(cache_dir, f'{c}.npz')
        paths = [it.path for it in its]
        if os.path.exists(pack):
            z = np.load(pack, allow_pickle=False)
            if list(z['paths']) == paths:
                offs, pcm = z['offsets'], z['audio']
                for i, p in enumerate(paths):
                    out[p] = pcm[offs[i]:offs[i + 1]].astype(np.float32) / 32768
                continue
        segs = vad_trim(paths, emotop, os.path.join(cache_dir, f'{c}.vad.json'))
        chunks, offs = [], [0]
        for p in paths:
            x, sr = sf.read(p, dtype='float32')
            if x.ndim > 1:
                x = x.mean(1)
            if sr != SR:
                import torchaudio.functional as AF
                x = AF.resample(torch.from_numpy(x), sr, SR).numpy()
            a, b = segs[p]
            y = x[int(a * SR):int(b * SR)]
            if len(y) < SR // 2:
                y = x
            q = np.clip(np.round(y * 32768), -32768, 32767).astype(np.int16)
            out[p] = q.astype(np.float32) / 32768  # as a reload of the cache gives
            chunks.append(q)
            offs.append(offs[-1] + len(y))
        np.savez(pack, paths=np.array(paths), offsets=np.array(offs),
                 audio=np.concatenate(chunks))
    return {p: torch.from_numpy(x) for p, x in out.items()}


def cached_per_clip(items, pack, compute, every=1000):
    """{path: compute(path)} for each item, kept by path in the npz file
    pack: what it holds already is read back, the rest computed (saved
    every `every` new ones, so a stopped run goes on where it was)."""
    have = {}
    if os.path.exists(pack):
        z = np.load(pack, allow_pickle=False)
        have = dict(zip(z['paths'].tolist(), z['feats']))
    todo = [it.path for it in items if it.path not in have]
    for k, p in enumerate(todo):
        have[p] = compute(p)
        if (k + 1) % every == 0 or k + 1 == len(todo):
            paths = sorted(have)
            np.savez(pack, paths=np.array(paths), feats=np.stack([have[q] for q in paths]))
    return {it.path: have[it.path] for it in items}


# -- export to an emotop model directory ----------------------------------------

# What every export adds to the encoder's HF config: emotop's head.
HEAD_CONFIG = {
    'architectures': ['EmotopHubertLSTM'],
    'id2label': {str(i): l for i, l in enumerate(LABELS)},
    'label2id': {l: i for i, l in enumerate(LABELS)},
    'emotop_head': {'type': 'bilstm', 'hidden_size': 256, 'num_layers': 1,
                    'pooling': 'mean', 'layer': -1},
}


def hubert_config(arch, large):
    """The HF config.json of an encoder built by encoder(arch, large)."""
    return {
        'model_type': 'hubert',
        'conv_dim': [c for c, _, _ in arch['conv']],
        'conv_kernel': [k for _, k, _ in arch['conv']],
        'conv_stride': [s for _, _, s in arch['conv']],
        'conv_bias': large, 'feat_extract_norm': 'layer' if large else 'group',
        'feat_extract_activation': 'gelu', 'do_stable_layer_norm': large,
        'feat_proj_layer_norm': True, 'hidden_size': arch['hidden'],
        'num_hidden_layers': arch['layers'], 'num_attention_heads': arch['heads'],
        'intermediate_size': arch['ff'], 'hidden_act': 'gelu', 'layer_norm_eps': 1e-5,
        'num_conv_pos_embeddings': arch['pos_k'],
        'num_conv_pos_embedding_groups': arch['pos_groups'],
        **HEAD_CONFIG,
    }


def write_model_dir(out, sd, trainer, card_extra):
    """Weights and training metrics of an exported model directory (the
    config files are written by the caller)."""
    st_write.save(os.path.join(out, 'model.safetensors'), sd,
                  {'format': 'pt', 'trainer': trainer})
    with open(os.path.join(out, 'training.json'), 'w') as f:
        json.dump(card_extra, f, indent=1)
    print('exported', out)


def export(model, out, trainer, card_extra, arch=ARCH, large=True, T=None, stats=None,
           w=1.0):
    """An emotop model directory of a model trained from scratch. With T
    (a fitted temperature) and a statistics branch with fusion weight w,
    both are folded into the classifiers (logits * w / T and the branch's
    * (1 - w) / T), so the C engine's probabilities are the calibrated,
    fused ones."""
    os.makedirs(out, exist_ok=True)
    cfg = hubert_config(arch, large)
    if T is not None:
        cfg['emotop_head'] = dict(cfg['emotop_head'], temperature_folded=T)
    T = 1.0 if T is None else T
    if stats is not None:
        cfg['emotop_head']['fusion_weight_folded'] = w
        cfg['emotop_head']['stats'] = {
            'n_fft': STATS_FFT, 'hop_length': STATS_HOP, 'n_mels': STATS_MELS,
            'loud_db': STATS_LOUD_DB, 'log_floor': 1e-6, 'hidden_size': stats.fc1.out_features,
            'input': 'normalized window'}
    else:
        w = 1.0
    with open(os.path.join(out, 'config.json'), 'w') as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(out, 'preprocessor_config.json'), 'w') as f:
        json.dump({'do_normalize': True, 'sampling_rate': SR, 'feature_size': 1,
                   'padding_value': 0.0}, f, indent=2)
    sd = {}
    for k, v in model.state_dict().items():
        if k.startswith('enc.'):
            k = k[4:]
            if k.startswith('aux'):
                continue
            k = k.replace('encoder.transformer.', 'encoder.')
            k = 'hubert.' + k.replace('encoder.feature_projection.', 'feature_projection.')
        elif k.startswith('classifier.') and (w != 1.0 or T != 1.0):
            v = v * (w / T)
        sd[k] = v.contiguous()
    if stats is not None:
        sd['stats.window'] = stats_window().float()
        sd['stats.mel_fb'] = stats_mel_fb().float().contiguous()
        sd['stats.mean'] = stats.mean.clone()
        sd['stats.std'] = stats.std.clone()
        sd['stats.fc1.weight'] = stats.fc1.weight.detach().clone()
        sd['stats.fc1.bias'] = stats.fc1.bias.detach().clone()
        sd['stats.fc2.weight'] = (stats.fc2.weight.detach() * ((1 - w) / T)).contiguous()
        sd['stats.fc2.bias'] = stats.fc2.bias.detach() * ((1 - w) / T)
    write_model_dir(out, sd, trainer, card_extra)


def export_frozen(model, out, encoder_dir, trainer, card_extra):
    """Frozen mode: the pretrained encoder's own config and weights, plus
    the trained head, in one emotop model directory."""
    import shutil
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(encoder_dir, 'config.json')) as f:
        cfg = json.load(f)
    cfg.update(HEAD_CONFIG)
    cfg.pop('use_weighted_layer_sum', None)
    with open(os.path.join(out, 'config.json'), 'w') as f:
        json.dump(cfg, f, indent=2)
    pre = os.path.join(encoder_dir, 'preprocessor_config.json')
    if os.path.exists(pre):
        shutil.copy(pre, out)
    sd = {k: v for k, v in st_write.load(os.path.join(encoder_dir,
                                                      'model.safetensors')).items()
          if not k.startswith(('projector.', 'classifier.', 'layer_weights', 'lstm.'))}
    for k, v in model.state_dict().items():
        if not k.startswith('enc.'):
            sd[k] = v.contiguous()
    write_model_dir(out, sd, trainer, card_extra)


def load_hf_encoder(d):
    """An HF hubert/wav2vec2 directory as a torchaudio model (frozen mode)."""
    with open(os.path.join(d, 'config.json')) as f:
        c = json.load(f)
    conv = list(zip(c['conv_dim'], c['conv_kernel'], c['conv_stride']))
    large = c.get('do_stable_layer_norm', False)
    m = wav2vec2_model('layer_norm' if c.get('feat_extract_norm') == 'layer'
                       else 'group_norm', conv, c.get('conv_bias', False),
                       c['hidden_size'], 0.0, c['num_conv_pos_embeddings'],
                       c['num_conv_pos_embedding_groups'],
                       c['num_hidden_layers'], c['num_attention_heads'], 0.0,
                       c['intermediate_size'], 0.0, 0.0, large, 0.0, None)
    sd = st_write.load(os.path.join(d, 'model.safetensors'))
    mapped = {k: torch.from_numpy(v) for k, v in st_write.hf_to_torchaudio(sd).items()}
    mapped = {k: v for k, v in mapped.items() if k in m.state_dict()}
    m.load_state_dict(mapped, strict=True)
    for p in m.parameters():
        p.requires_grad = False
    return m, c['hidden_size']


# -- metrics (numpy only) ----------------------------------------------

def confusion(truth, pred, n=8):
    cm = np.zeros((n, n), dtype=int)
    for t, p in zip(truth, pred):
        cm[t, p] += 1
    return cm


def class_scores(cm):
    """Per-class precision, recall and F1 of a confusion matrix (rows
    truth, columns prediction)."""
    cm = np.asarray(cm)
    recall = cm.diagonal() / np.maximum(cm.sum(1), 1)
    prec = cm.diagonal() / np.maximum(cm.sum(0), 1)
    f1 = np.where(prec + recall > 0, 2 * prec * recall / (prec + recall + 1e-12), 0)
    return prec, recall, f1


def restricted_pred(logits, corpus):
    idx = [i for i, l in enumerate(LABELS) if l in corpora.CLASSES[corpus]]
    return idx[int(np.argmax(logits[idx]))]


def valence_pred(probs):
    """Argmax of the summed probabilities of each valence class (surprise,
    having none, is left out)."""
    s = {v: 0.0 for v in corpora.VALENCE_CLASSES}
    for i, l in enumerate(LABELS):
        if l in corpora.VALENCE:
            s[corpora.VALENCE[l]] += probs[i]
    return max(corpora.VALENCE_CLASSES, key=lambda v: s[v])


def weighted_f1(truth, pred, classes):
    f1s, ws = [], []
    for c in classes:
        tp = sum(1 for t, p in zip(truth, pred) if t == c and p == c)
        fp = sum(1 for t, p in zip(truth, pred) if t != c and p == c)
        fn = sum(1 for t, p in zip(truth, pred) if t == c and p != c)
        support = tp + fn
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        f1s.append(f1)
        ws.append(support)
    return float(np.dot(f1s, ws) / max(sum(ws), 1))


def ece(probs, truth, bins=15):
    """Expected calibration error of the top probability (equal-width
    bins)."""
    conf = probs.max(1)
    ok = probs.argmax(1) == truth
    e = 0.0
    for b in range(bins):
        sel = (conf > b / bins) & (conf <= (b + 1) / bins)
        if sel.any():
            e += sel.mean() * abs(ok[sel].mean() - conf[sel].mean())
    return float(e)


def corpus_metrics(logits, items, T=1.0):
    """Per corpus: accuracy/UA with the argmax restricted to the corpus's
    classes, accuracy over all 8 labels, valence weighted F1, n."""
    out = {}
    logits = np.asarray(logits, dtype=np.float64)
    z = logits / T
    probs = np.exp(z - z.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    for c in sorted({it.corpus for it in items}):
        sel = [i for i, it in enumerate(items) if it.corpus == c]
        truth = [LABELS.index(items[i].label) for i in sel]
        pr = [restricted_pred(logits[i], c) for i in sel]
        p8 = [int(np.argmax(logits[i])) for i in sel]
        vt = [corpora.VALENCE.get(LABELS[t]) for t in truth]
        vp = [valence_pred(probs[i]) for i in sel]
        keep = [j for j, v in enumerate(vt) if v is not None]
        cm = confusion(truth, pr)
        present = cm.sum(1) > 0
        out[c] = {'n': len(sel), 'accuracy': float(np.mean(np.array(pr) == truth)),
                  'UA': float(class_scores(cm)[1][present].mean()),
                  'accuracy_8': float(np.mean(np.array(p8) == truth)),
                  'valence_f1': weighted_f1([vt[j] for j in keep], [vp[j] for j in keep],
                                            corpora.VALENCE_CLASSES),
                  'confusion': cm.tolist()}
    y = np.array([LABELS.index(it.label) for it in items])
    out['_all'] = {'n': len(items), 'ece_8': ece(probs, y),
                   'nll_8': float(-np.mean(np.log(probs[np.arange(len(y)), y] + 1e-12)))}
    return out


def fit_temperature(logits, y):
    """The temperature minimising the validation NLL of the 8-way softmax
    (what the TUI and logs show), by golden-section search on log T."""
    z = torch.tensor(np.asarray(logits), dtype=torch.float64)
    y = torch.tensor(y)

    def nll(lt):
        return float(F.cross_entropy(z / math.exp(lt), y))
    a, b = math.log(0.05), math.log(20.0)
    gr = (math.sqrt(5) - 1) / 2
    for _ in range(80):
        c, d = b - gr * (b - a), a + gr * (b - a)
        if nll(c) < nll(d):
            b = d
        else:
            a = c
    return math.exp((a + b) / 2)
