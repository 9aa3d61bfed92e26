#!/usr/bin/python3
"""PyTorch reference outputs for the ops kernels -> tests/fixtures/ops.safetensors.

Run with Debian's python3 (python3-torch). CI only reads the committed file.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import st_write  # noqa: E402

torch.manual_seed(1234)
out = {}

# linear: y = x W^T + b
x = torch.randn(37, 64)
w = torch.randn(48, 64) / 8
b = torch.randn(48)
out['linear.x'], out['linear.w'], out['linear.b'] = x, w, b
out['linear.y'] = F.linear(x, w, b)

# conv1d cases: (name, cin, cout, k, stride, pad, groups, tin, bias)
cases = [
    ('conv0', 1, 16, 10, 5, 0, 1, 400, False),   # HuBERT layer 0 shape
    ('conv1', 16, 24, 3, 2, 0, 1, 79, True),
    ('convk', 64, 32, 3, 2, 0, 1, 41, True),      # split-K path (cin >= 64)
    ('conv2', 8, 8, 2, 2, 0, 1, 31, False),
    ('pos', 32, 32, 16, 1, 8, 4, 25, True),       # positional conv shape
]
for name, cin, cout, k, s, p, g, tin, bias in cases:
    xx = torch.randn(1, cin, tin)
    ww = torch.randn(cout, cin // g, k) / (cin // g * k) ** 0.5
    bb = torch.randn(cout) if bias else None
    yy = F.conv1d(xx, ww, bb, stride=s, padding=p, groups=g)
    out[f'{name}.x'] = xx[0].T.contiguous()          # time-major (T, C)
    out[f'{name}.w'] = ww                             # PyTorch layout
    if bias:
        out[f'{name}.b'] = bb
    out[f'{name}.y'] = yy[0].T.contiguous()
    out[f'{name}.cfg'] = torch.tensor([cin, cout, k, s, p, g, tin, int(bias)],
                                      dtype=torch.float32)

# layernorm
x = torch.randn(9, 40) * 3 + 1
g_ = torch.randn(40)
b_ = torch.randn(40)
out['ln.x'], out['ln.g'], out['ln.b'] = x, g_, b_
out['ln.y'] = F.layer_norm(x, (40,), g_, b_, 1e-5)

# groupnorm (per channel over time, as HuBERT layer 0) and grouped
for name, C, G, T in [('gn', 16, 16, 300), ('gn4', 16, 4, 50)]:
    x = torch.randn(1, C, T) * 2 + 0.5
    g_ = torch.randn(C)
    b_ = torch.randn(C)
    out[f'{name}.x'] = x[0].T.contiguous()
    out[f'{name}.g'], out[f'{name}.b'] = g_, b_
    out[f'{name}.y'] = F.group_norm(x, G, g_, b_, 1e-5)[0].T.contiguous()
    out[f'{name}.cfg'] = torch.tensor([C, G, T], dtype=torch.float32)

# gelu (exact erf) over a wide range, softmax
x = torch.linspace(-8, 8, 1001)
out['gelu.x'] = x
out['gelu.y'] = F.gelu(x)
x = torch.randn(5, 11) * 4
out['softmax.x'] = x
out['softmax.y'] = torch.softmax(x, dim=-1)

# LSTM: one layer, unidirectional, run over a short sequence
H, I, T = 12, 7, 6
lstm = torch.nn.LSTM(I, H, batch_first=True)
x = torch.randn(1, T, I)
y, (hn, cn) = lstm(x)
out['lstm.x'] = x[0]
out['lstm.w_ih'] = lstm.weight_ih_l0.detach()
out['lstm.w_hh'] = lstm.weight_hh_l0.detach()
out['lstm.b_ih'] = lstm.bias_ih_l0.detach()
out['lstm.b_hh'] = lstm.bias_hh_l0.detach()
out['lstm.y'] = y[0].detach()
out['lstm.cn'] = cn[0, 0].detach()

here = os.path.dirname(os.path.abspath(__file__))
st_write.save(os.path.join(here, 'fixtures', 'ops.safetensors'), out,
              {'generator': 'tests/gen_ops_fixtures.py',
               'torch': torch.__version__})
print('wrote tests/fixtures/ops.safetensors')
