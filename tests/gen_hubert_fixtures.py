#!/usr/bin/python3
"""Reference HuBERT/wav2vec2 encoders with random weights, in HF layout.

For each variant it writes DIR/config.json, DIR/model.safetensors (Hugging
Face tensor names), DIR/preprocessor_config.json and DIR/ref.safetensors with
the inputs and every hidden state as Hugging Face's `output_hidden_states`
returns them (torchaudio computes; this script only renames and reorders).

  tests/gen_hubert_fixtures.py                 # tiny fixtures -> tests/fixtures
  tests/gen_hubert_fixtures.py --size full --variant base --out DIR

Needs Debian's python3-torch and python3-torchaudio. CI reads the committed
tiny fixtures; the full-size ones are made on demand (slow suite, benchmark).
"""
import argparse
import json
import math
import os
import sys

import torch
from torchaudio.models import wav2vec2_model

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_write  # noqa: E402

CONV7 = ([10, 3, 3, 3, 3, 2, 2], [5, 2, 2, 2, 2, 2, 2])

SIZES = {
    # name: conv_dim, hidden, layers, heads, intermediate, pos_k, pos_groups
    'tiny': (32, 48, 2, 4, 96, 16, 4),
    'full-base': (512, 768, 12, 12, 3072, 128, 16),
    'full-large': (512, 1024, 24, 16, 4096, 128, 16),
}

LENGTHS = {'1s': 16000, '3s': 48000, '2.37s': 37920}


def make_input(n, seed):
    """Speech-like test signal: harmonics with a moving pitch, noise, an
    envelope, a DC offset (do_normalize must remove it)."""
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(n) / 16000.0
    f0 = 140 + 40 * torch.sin(2 * math.pi * 0.7 * t)
    phase = 2 * math.pi * torch.cumsum(f0, 0) / 16000.0
    x = sum(torch.sin(k * phase) / k for k in range(1, 8))
    env = 0.5 + 0.5 * torch.sin(2 * math.pi * 2.3 * t) ** 2
    x = 0.1 * env * x + 0.01 * torch.randn(n, generator=g) + 0.003
    return x.float()


def hf_config(variant, size, prefix_model_type):
    cd, hid, nl, nh, inter, pk, pg = SIZES[size]
    large = variant == 'large'
    return {
        'architectures': ['HubertModel' if prefix_model_type == 'hubert'
                          else 'Wav2Vec2Model'],
        'model_type': prefix_model_type,
        'conv_dim': [cd] * 7,
        'conv_kernel': CONV7[0],
        'conv_stride': CONV7[1],
        'conv_bias': large,
        'feat_extract_norm': 'layer' if large else 'group',
        'feat_extract_activation': 'gelu',
        'do_stable_layer_norm': large,
        'feat_proj_layer_norm': True,
        'hidden_size': hid,
        'num_hidden_layers': nl,
        'num_attention_heads': nh,
        'intermediate_size': inter,
        'hidden_act': 'gelu',
        'layer_norm_eps': 1e-5,
        'num_conv_pos_embeddings': pk,
        'num_conv_pos_embedding_groups': pg,
        'num_feat_extract_layers': 7,
    }


def build(variant, size, seed):
    cd, hid, nl, nh, inter, pk, pg = SIZES[size]
    large = variant == 'large'
    conv = [(cd, k, s) for k, s in zip(*CONV7)]
    torch.manual_seed(seed)
    m = wav2vec2_model('layer_norm' if large else 'group_norm', conv, large,
                       hid, 0.0, pk, pg, nl, nh, 0.0, inter, 0.0, 0.0,
                       large, 0.0, None)
    m.eval()
    # Default init leaves norms at 1/0 and weight_g = |v|, which would hide
    # mistakes in gamma/beta/g handling: randomise them.
    with torch.no_grad():
        for name, p in m.named_parameters():
            if 'norm' in name and name.endswith('weight'):
                p.copy_(1 + 0.1 * torch.randn_like(p))
            elif 'norm' in name and name.endswith('bias'):
                p.copy_(0.1 * torch.randn_like(p))
            elif name.endswith('weight_g'):
                p.mul_(1 + 0.2 * torch.rand_like(p))
    return m


def hf_state_dict(m, prefix, param_naming):
    sd = {}
    for k, v in m.state_dict().items():
        k = k.replace('encoder.transformer.', 'encoder.')
        k = k.replace('encoder.feature_projection.', 'feature_projection.')
        if param_naming:
            k = k.replace('conv.weight_g', 'conv.parametrizations.weight.original0')
            k = k.replace('conv.weight_v', 'conv.parametrizations.weight.original1')
        sd[prefix + k] = v.contiguous()
    return sd


@torch.no_grad()
def hidden_states(m, x, large):
    """HF `hidden_states`: base [LN(x+pos), out_1..out_L];
    large [x+pos, out_1..out_{L-1}, LN(out_L)]."""
    feats, _ = m.feature_extractor(x[None], None)
    h = m.encoder.feature_projection(feats)
    tr = m.encoder.transformer
    h = h + tr.pos_conv_embed(h)
    if tr.layer_norm_first:  # torchaudio's flag: true for the base variant
        h = tr.layer_norm(h)
    hs = [h]
    for layer in tr.layers:
        h = layer(h)
        hs.append(h)
    if not tr.layer_norm_first:
        hs[-1] = tr.layer_norm(h)
    # the same network end to end must give the last state
    full, _ = m(x[None])
    assert torch.allclose(full, hs[-1], atol=1e-5), 'reference mismatch'
    return torch.stack([s[0] for s in hs])


def normalize(x):
    # HF Wav2Vec2FeatureExtractor.zero_mean_unit_var_norm (population var)
    return (x - x.mean()) / torch.sqrt(x.var(unbiased=False) + 1e-7)


def write(out, variant, size, seed=0):
    os.makedirs(out, exist_ok=True)
    large = variant == 'large'
    # the two variants also exercise both prefixes and both weight-norm
    # namings that real checkpoints use
    model_type = 'wav2vec2' if large else 'hubert'
    prefix = 'wav2vec2.' if large else 'hubert.'
    m = build(variant, size if size == 'tiny' else 'full-' + variant, seed)
    cfg = hf_config(variant, size if size == 'tiny' else 'full-' + variant,
                    model_type)
    with open(os.path.join(out, 'config.json'), 'w') as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(out, 'preprocessor_config.json'), 'w') as f:
        json.dump({'do_normalize': large, 'sampling_rate': 16000,
                   'feature_size': 1, 'padding_value': 0.0,
                   'return_attention_mask': large}, f, indent=2)
    sd = hf_state_dict(m, prefix, param_naming=large)
    st_write.save(os.path.join(out, 'model.safetensors'), sd,
                  {'format': 'pt'})
    ref = {}
    for i, (name, n) in enumerate(LENGTHS.items()):
        x = make_input(n, 100 + i)
        ref[f'input.{name}'] = x
        xin = normalize(x) if large else x
        ref[f'hidden.{name}'] = hidden_states(m, xin, large)
    st_write.save(os.path.join(out, 'ref.safetensors'), ref,
                  {'generator': 'tests/gen_hubert_fixtures.py',
                   'torch': torch.__version__})
    print(f'wrote {out} ({variant}, {size})')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--size', choices=['tiny', 'full'], default='tiny')
    ap.add_argument('--variant', choices=['base', 'large', 'both'],
                    default='both')
    ap.add_argument('--out', help='output directory (default: '
                    'tests/fixtures/hubert-tiny-VARIANT)')
    a = ap.parse_args()
    torch.set_num_threads(2)
    variants = ['base', 'large'] if a.variant == 'both' else [a.variant]
    here = os.path.dirname(os.path.abspath(__file__))
    for v in variants:
        out = a.out if a.out and len(variants) == 1 else (
            os.path.join(a.out, f'hubert-{a.size}-{v}') if a.out else
            os.path.join(here, 'fixtures', f'hubert-{a.size}-{v}'))
        write(out, v, a.size)


if __name__ == '__main__':
    main()
