#!/usr/bin/python3
"""Google's speech_embedding front end (Lin et al. 2020, "Training keyword
spotters with limited and synthesized speech data"; Apache-2.0, as shipped
in openWakeWord) run in PyTorch from its two ONNX files, for measuring it as
a lever on the cross-corpus validation (`train.py restats --embedding`).

  melspectrogram.onnx  int16-scaled audio -> 32 log-mel bands every 10 ms
                       (a 512-tap STFT as two convolutions, floor 80 dB
                       under the loudest), then x / 10 + 2 as openWakeWord
                       applies it
  embedding_model.onnx 76 frames x 32 bands -> one 96-d embedding; taken
                       every 8 frames (80 ms), as openWakeWord does

The ONNX graphs are interpreted here (python3-onnx reads them; the handful
of operators they use are mapped onto torch), so no ONNX runtime is needed.
Not used by the C engine: a model that shipped with it would need the C
engine to run it first.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

WINDOW, STEP, DIM = 76, 8, 96


def _pads(p, nd):
    """ONNX pads (begins..., ends...) -> F.pad order (last dim first)."""
    out = []
    for d in reversed(range(nd)):
        out += [p[d], p[d + nd]]
    return out


class Graph:
    """A torch interpreter of one ONNX graph with the operators below."""

    def __init__(self, path):
        import onnx
        from onnx import numpy_helper
        m = onnx.load(path)
        self.consts = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy())
                       for i in m.graph.initializer}
        self.nodes = []
        for n in m.graph.node:
            attrs = {}
            for a in n.attribute:
                v = onnx.helper.get_attribute_value(a)
                if hasattr(v, 'dims'):
                    v = torch.from_numpy(numpy_helper.to_array(v).copy())
                attrs[a.name] = v
            self.nodes.append((n.op_type, list(n.input), list(n.output), attrs))
        self.input = m.graph.input[0].name
        self.output = m.graph.output[0].name

    @torch.no_grad()
    def __call__(self, x):
        env = dict(self.consts)
        env[self.input] = x
        for op, ins, outs, at in self.nodes:
            a = [env[i] if i else None for i in ins]
            if op == 'Constant':
                y = at['value']
            elif op == 'Unsqueeze':
                y = a[0]
                for d in sorted(int(v) for v in a[1].reshape(-1)):
                    y = y.unsqueeze(d)
            elif op == 'Reshape':
                y = a[0].reshape([int(v) if v != 0 else a[0].shape[i]
                                  for i, v in enumerate(a[1].tolist())])
            elif op == 'Transpose':
                y = a[0].permute(*at['perm'])
            elif op == 'Conv':
                w = a[1]
                nd = w.dim() - 2
                xx = a[0]
                if 'pads' in at and any(at['pads']):
                    xx = F.pad(xx, _pads(at['pads'], nd))
                conv = F.conv1d if nd == 1 else F.conv2d
                y = conv(xx, w, a[2] if len(a) > 2 else None, stride=at.get('strides', 1),
                         dilation=at.get('dilations', 1), groups=at.get('group', 1))
            elif op == 'MaxPool':
                xx = a[0]
                if 'pads' in at and any(at['pads']):
                    xx = F.pad(xx, _pads(at['pads'], 2), value=float('-inf'))
                y = F.max_pool2d(xx, at['kernel_shape'], at['strides'])
            elif op == 'LeakyRelu':
                y = F.leaky_relu(a[0], at.get('alpha', 0.01))
            elif op == 'Max':
                y = a[0]
                for b in a[1:]:
                    y = torch.maximum(y, b)
            elif op == 'Pow':
                y = a[0] ** a[1]
            elif op == 'Add':
                y = a[0] + a[1]
            elif op == 'Sub':
                y = a[0] - a[1]
            elif op == 'Mul':
                y = a[0] * a[1]
            elif op == 'Div':
                y = a[0] / a[1]
            elif op == 'MatMul':
                y = a[0] @ a[1]
            elif op == 'Log':
                y = torch.log(a[0])
            elif op == 'Clip':
                y = a[0]
                if len(a) > 1 and a[1] is not None:
                    y = torch.maximum(y, a[1])
                if len(a) > 2 and a[2] is not None:
                    y = torch.minimum(y, a[2])
            elif op == 'ReduceMax':
                y = (a[0].amax(dim=at['axes'], keepdim=bool(at.get('keepdims', 1)))
                     if 'axes' in at else a[0].max())
            elif op == 'Cast':
                y = a[0].float()
            else:
                raise ValueError(f'{op}: an ONNX operator this interpreter lacks')
            env[outs[0]] = y
        return env[self.output]


class SpeechEmbedding:
    def __init__(self, d):
        self.mel = Graph(os.path.join(d, 'melspectrogram.onnx'))
        self.emb = Graph(os.path.join(d, 'embedding_model.onnx'))

    def melspec(self, x):
        """(frames, 32) of 16 kHz float audio in [-1, 1]."""
        m = self.mel((x * 32768.0).float()[None])
        return m.reshape(-1, 32) / 10 + 2

    def embeddings(self, x):
        """(n, 96): one embedding per 80 ms of x (at least one: a short
        clip is padded with its last frame)."""
        m = self.melspec(x)
        if m.shape[0] < WINDOW:
            m = torch.cat([m, m[-1:].expand(WINDOW - m.shape[0], 32)])
        w = m.unfold(0, WINDOW, STEP).permute(0, 2, 1)  # n, 76, 32
        return self.emb(w[..., None]).reshape(-1, DIM)

    def clip_features(self, x):
        """Mean and standard deviation of the clip's embeddings (192)."""
        e = self.embeddings(x)
        return np.concatenate([e.mean(0).numpy(), e.std(0, unbiased=False).numpy()])


def clip_features(items, audio, cache_dir, model_dir):
    """{path: SpeechEmbedding.clip_features of the item's audio as the
    trainers hear it (emotop_model.load_audio)}, cached in cache_dir."""
    from emotop_model import cached_per_clip
    se = SpeechEmbedding(model_dir)
    return cached_per_clip(items, os.path.join(cache_dir, 'speech-embedding.npz'),
                           lambda p: se.clip_features(audio[p]))
