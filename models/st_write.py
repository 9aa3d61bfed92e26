"""Minimal safetensors writer shared by the fixture scripts (no PyPI here)."""
import json
import struct

import numpy as np

_DT = {np.dtype('float32'): 'F32', np.dtype('float16'): 'F16',
       np.dtype('int64'): 'I64', np.dtype('int32'): 'I32'}


def save(path, tensors, metadata=None):
    """tensors: dict name -> numpy array (or torch tensor)."""
    header = {}
    blobs = []
    off = 0
    for name, arr in tensors.items():
        if hasattr(arr, 'detach'):
            arr = arr.detach().cpu().numpy()
        arr = np.ascontiguousarray(arr)
        if arr.dtype == np.float64:
            arr = arr.astype(np.float32)
        b = arr.tobytes()
        header[name] = {'dtype': _DT[arr.dtype], 'shape': list(arr.shape),
                        'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata:
        header['__metadata__'] = {k: str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)  # keep the data 8-byte aligned
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load(path):
    """Reads a safetensors file into a dict of numpy arrays (F32/F16/I64)."""
    import struct as _s
    rev = {v: k for k, v in _DT.items()}
    with open(path, 'rb') as f:
        n = _s.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        b, e = info['data_offsets']
        out[name] = np.frombuffer(data[b:e], dtype=rev[info['dtype']]).reshape(
            info['shape']).copy()
    return out


def hf_to_torchaudio(sd):
    """HF HuBERT/wav2vec2 tensor names -> torchaudio wav2vec2_model names
    (prefix dropped, weight-norm parametrization names folded)."""
    out = {}
    for k, v in sd.items():
        for p in ('hubert.', 'wav2vec2.'):
            if k.startswith(p):
                k = k[len(p):]
        k = k.replace('.parametrizations.weight.original0', '.weight_g')
        k = k.replace('.parametrizations.weight.original1', '.weight_v')
        if k.startswith('feature_projection.'):
            k = 'encoder.' + k
        elif k.startswith('encoder.'):
            k = 'encoder.transformer.' + k[len('encoder.'):]
        out[k] = v
    return out
