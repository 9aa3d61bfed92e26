"""models/speech_embedding.py's ONNX interpreter against torch computed by
hand (needs python3-torch and python3-onnx; slow suite):

- a small graph built here with onnx.helper (asymmetric Conv pads, MaxPool,
  LeakyRelu, Max, Reshape, Clip, ReduceMax, Transpose, MatMul) gives what
  the same operations written in torch give, to 1e-6;
- with ../shared/data/speech-embedding: the log-mel front end stays within
  80 dB (8 after / 10) of its loudest band, one embedding per 80 ms.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'e2e'))
from common import DATA, SRC, check, finish, need_torch  # noqa: E402

need_torch()
try:
    import onnx  # noqa: E402
    from onnx import TensorProto, helper, numpy_helper  # noqa: E402
except ImportError:
    print('skipped: python3-onnx is not installed')
    sys.exit(77)
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.join(SRC, 'models'))
import speech_embedding as se  # noqa: E402

rng = np.random.default_rng(0)
w1 = rng.standard_normal((4, 1, 1, 3)).astype(np.float32)
b1 = rng.standard_normal(4).astype(np.float32)
w2 = rng.standard_normal((6, 4, 3, 1)).astype(np.float32)
mm = rng.standard_normal((6, 5)).astype(np.float32)
inits = [numpy_helper.from_array(a, n) for a, n in (
    (w1, 'w1'), (b1, 'b1'), (w2, 'w2'), (mm, 'mm'),
    (np.array([-1, 1, 8, 6], dtype=np.int64), 'shape'),
    (np.full((1, 1, 1, 1), 0.1, dtype=np.float32), 'floor'),
    (np.array(-2.0, dtype=np.float32), 'lo'), (np.array(12.0, dtype=np.float32), 'hi'))]
nodes = [
    helper.make_node('Reshape', ['x', 'shape'], ['r']),
    helper.make_node('Conv', ['r', 'w1', 'b1'], ['c1'], kernel_shape=[1, 3],
                     pads=[0, 1, 0, 2], strides=[1, 1]),
    helper.make_node('LeakyRelu', ['c1'], ['l1'], alpha=0.2),
    helper.make_node('Max', ['l1', 'floor'], ['m1']),
    helper.make_node('MaxPool', ['m1'], ['p1'], kernel_shape=[2, 2], strides=[2, 2]),
    helper.make_node('Conv', ['p1', 'w2'], ['c2'], kernel_shape=[3, 1]),
    helper.make_node('Transpose', ['c2'], ['t'], perm=[0, 2, 3, 1]),
    helper.make_node('MatMul', ['t', 'mm'], ['mt']),
    helper.make_node('Clip', ['mt', 'lo', 'hi'], ['cl']),
    helper.make_node('ReduceMax', ['cl'], ['y'], axes=[3], keepdims=0),
]
g = helper.make_graph(nodes, 'g', [helper.make_tensor_value_info('x', TensorProto.FLOAT,
                                                                    [2, 8, 6])],
                      [helper.make_tensor_value_info('y', TensorProto.FLOAT, None)], inits)
model = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)])
path = os.path.join(os.environ.get('TMPDIR', '/tmp'), f'emotop-se-{os.getpid()}.onnx')
onnx.save(model, path)
try:
    x = torch.from_numpy(rng.standard_normal((2, 8, 6)).astype(np.float32))
    got = se.Graph(path)(x)
finally:
    os.unlink(path)
r = x.reshape(-1, 1, 8, 6)
c1 = F.conv2d(F.pad(r, (1, 2, 0, 0)), torch.from_numpy(w1), torch.from_numpy(b1))
m1 = torch.maximum(F.leaky_relu(c1, 0.2), torch.tensor(0.1))
c2 = F.conv2d(F.max_pool2d(m1, 2, 2), torch.from_numpy(w2))
want = (c2.permute(0, 2, 3, 1) @ torch.from_numpy(mm)).clamp(-2, 12.0).amax(3)
check(got.shape == want.shape and float((got - want).abs().max()) < 1e-5 and
      float(want.min()) < 12.0,
      'the interpreter computes a hand-made graph as torch does (pads begin/end, '
      'pooling, clip, reduce)', (got, want))

d = os.path.join(DATA, 'speech-embedding')
if os.path.isdir(d):
    m = se.SpeechEmbedding(d)
    t = torch.arange(16000) / 16000
    x = 0.3 * torch.sin(2 * np.pi * 440 * t) * (t > 0.25) + 1e-4 * torch.randn(16000)
    mel = m.melspec(x)
    check(mel.shape == (1 + (16000 - 512) // 160, 32) and
          abs(float(mel.max() - mel.min()) - 8.0) < 1e-3,
          'log-mel: 32 bands every 10 ms, floored 80 dB (8 after / 10) under the loudest',
          (tuple(mel.shape), float(mel.max() - mel.min())))
    e = m.embeddings(torch.randn(32000) * 0.1)
    check(e.shape == (1 + (1 + (32000 - 512) // 160 - 76) // 8, 96) and
          bool(torch.isfinite(e).all()), 'one 96-d embedding per 80 ms', tuple(e.shape))
else:
    print('skip the real model: ../shared/data/speech-embedding not found')
sys.exit(finish())
