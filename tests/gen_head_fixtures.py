#!/usr/bin/python3
"""Reference emotion models (encoder + head) with random weights.

Writes model directories under tests/fixtures/ in emotop's model layout
(HF config.json + model.safetensors), plus ref.safetensors with inputs and
the probabilities PyTorch computes:

  model-tiny-bilstm       tiny HuBERT base + the paper's BiLSTM head
                          (8 RAVDESS labels, mean pooling)
  model-tiny-bilstm-last  the same head with "last" pooling, reading layer 1
  model-tiny-bilstm-stats the BiLSTM head late-fused with a window-
                          statistics branch (log-mel statistics into an MLP,
                          models/multicorpus.py's window_stats and StatsNet
                          are the reference), as the shipped model is built
  model-tiny-superb       tiny HuBERT + HF HubertForSequenceClassification
                          head shaped like superb/hubert-base-superb-er
                          (weighted layer sum, projector 256, 4 labels)
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_hubert_fixtures as G  # noqa: E402
import st_write  # noqa: E402

RAVDESS = ['neutral', 'calm', 'happy', 'sad', 'angry', 'fearful', 'disgust',
           'surprised']
HERE = os.path.dirname(os.path.abspath(__file__))


def encoder(seed):
    m = G.build('base', 'tiny', seed)
    cfg = G.hf_config('base', 'tiny', 'hubert')
    return m, cfg


@torch.no_grad()
def bilstm_probs(m, lstm, cls, x, layer, pooling):
    hs = G.hidden_states(m, x, False)  # (L+1, T, H)
    y, (hn, _) = lstm(hs[layer][None])
    if pooling == 'mean':
        pooled = y[0].mean(0)
    else:  # last: forward final state, backward final state (= at t=0)
        pooled = torch.cat([hn[0, 0], hn[1, 0]])
    return torch.softmax(cls(pooled), -1)


def write_bilstm(name, seed, hidden, pooling, layer, stats=False):
    m, cfg = encoder(seed)
    torch.manual_seed(seed + 1)
    H = cfg['hidden_size']
    lstm = torch.nn.LSTM(H, hidden, batch_first=True, bidirectional=True)
    cls = torch.nn.Linear(2 * hidden, len(RAVDESS))
    with torch.no_grad():  # larger logits make the softmax informative
        cls.weight.mul_(4)
    cfg['architectures'] = ['EmotopHubertLSTM']
    cfg['id2label'] = {str(i): l for i, l in enumerate(RAVDESS)}
    cfg['label2id'] = {l: i for i, l in enumerate(RAVDESS)}
    cfg['emotop_head'] = {'type': 'bilstm', 'hidden_size': hidden,
                          'num_layers': 1, 'pooling': pooling,
                          'layer': layer}
    sd = G.hf_state_dict(m, 'hubert.', False)
    for k, v in lstm.state_dict().items():
        sd['lstm.' + k] = v
    for k, v in cls.state_dict().items():
        sd['classifier.' + k] = v
    ref = {}
    inputs = [('1s', G.make_input(16000, 200)), ('2.37s', G.make_input(37920, 201))]
    if stats:
        inputs = add_stats(cfg, sd, inputs, seed)
    for ln, x in inputs:
        ref[f'input.{ln}'] = x
        if stats:
            ref[f'probs.{ln}'] = stats_probs(m, lstm, cls, x, layer, pooling)
        else:
            ref[f'probs.{ln}'] = bilstm_probs(m, lstm, cls, x, layer, pooling)
    save(name, cfg, sd, ref, do_normalize=False)


STATS = {}


def add_stats(cfg, sd, inputs, seed):
    """A statistics branch with random weights, standardised on the inputs
    themselves, exported as models/multicorpus.py exports one; and a third
    input: quiet noise with a loud burst (few loud frames)."""
    sys.path.insert(0, os.path.join(HERE, '..', 'models'))
    import multicorpus as mc
    g = torch.Generator().manual_seed(seed + 7)
    burst = 0.001 * torch.randn(24000, generator=g)
    burst[9000:12000] += 0.5 * torch.randn(3000, generator=g)
    inputs = inputs + [('burst', burst)]
    net = mc.StatsNet(hidden=32)
    torch.manual_seed(seed + 3)
    net.fc1.reset_parameters()
    net.fc2.reset_parameters()
    f = torch.stack([mc.window_stats(mc.normalize(x, len(x))) for _, x in inputs])
    with torch.no_grad():
        net.mean.copy_(f.mean(0))
        net.std.copy_(f.std(0) + 0.5)
        net.fc2.weight.mul_(4)
    net.eval()
    STATS.update(net=net, mc=mc)
    cfg['emotop_head']['stats'] = {'n_fft': mc.STATS_FFT, 'hop_length': mc.STATS_HOP,
                                   'n_mels': mc.STATS_MELS, 'loud_db': mc.STATS_LOUD_DB,
                                   'log_floor': 1e-6, 'hidden_size': 32}
    sd['stats.window'] = mc.stats_window().float()
    sd['stats.mel_fb'] = mc.stats_mel_fb().float().contiguous()
    for k, v in net.state_dict().items():
        sd['stats.' + k] = v.clone().contiguous()
    return inputs


@torch.no_grad()
def stats_probs(m, lstm, cls, x, layer, pooling):
    p = bilstm_probs(m, lstm, cls, x, layer, pooling)
    mc, net = STATS['mc'], STATS['net']
    z = torch.log(p) + net(mc.window_stats(mc.normalize(x, len(x)))[None])[0]
    return torch.softmax(z, -1)


@torch.no_grad()
def write_superb(name, seed):
    m, cfg = encoder(seed)
    torch.manual_seed(seed + 1)
    H, L = cfg['hidden_size'], cfg['num_hidden_layers']
    labels = ['neu', 'hap', 'ang', 'sad']
    proj = torch.nn.Linear(H, 256)
    cls = torch.nn.Linear(256, len(labels))
    with torch.no_grad():
        cls.weight.mul_(8)
    lw = torch.randn(L + 1)
    cfg['architectures'] = ['HubertForSequenceClassification']
    cfg['use_weighted_layer_sum'] = True
    cfg['classifier_proj_size'] = 256
    cfg['id2label'] = {str(i): l for i, l in enumerate(labels)}
    cfg['label2id'] = {l: i for i, l in enumerate(labels)}
    sd = G.hf_state_dict(m, 'hubert.', True)
    sd['hubert.masked_spec_embed'] = torch.rand(H)
    sd['layer_weights'] = lw
    for k, v in proj.state_dict().items():
        sd['projector.' + k] = v
    for k, v in cls.state_dict().items():
        sd['classifier.' + k] = v
    ref = {}
    for i, (ln, n) in enumerate([('1s', 16000), ('2.37s', 37920)]):
        x = G.make_input(n, 300 + i)
        hs = G.hidden_states(m, x, False)
        w = torch.softmax(lw, 0)
        h = (w[:, None, None] * hs).sum(0)
        pooled = proj(h).mean(0)
        ref[f'input.{ln}'] = x
        ref[f'probs.{ln}'] = torch.softmax(cls(pooled), -1)
    save(name, cfg, sd, ref, do_normalize=False)


def save(name, cfg, sd, ref, do_normalize):
    out = os.path.join(HERE, 'fixtures', name)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, 'config.json'), 'w') as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(out, 'preprocessor_config.json'), 'w') as f:
        json.dump({'do_normalize': do_normalize, 'sampling_rate': 16000}, f)
    st_write.save(os.path.join(out, 'model.safetensors'), sd, {'format': 'pt'})
    st_write.save(os.path.join(out, 'ref.safetensors'), ref,
                  {'generator': 'tests/gen_head_fixtures.py',
                   'torch': torch.__version__})
    print('wrote', out)


if __name__ == '__main__':
    write_bilstm('model-tiny-bilstm', 10, 16, 'mean', -1)
    write_bilstm('model-tiny-bilstm-last', 20, 12, 'last', 1)
    write_bilstm('model-tiny-bilstm-stats', 40, 16, 'mean', -1, stats=True)
    write_superb('model-tiny-superb', 30)
