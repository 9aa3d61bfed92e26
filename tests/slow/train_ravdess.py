#!/usr/bin/python3
"""models/train_ravdess.py end to end on a small RAVDESS subset (6 actors x 16
files, one epoch): both modes export a model directory the C engine loads
and agrees with (models/check_parity.py: same class on every file,
probabilities within 1e-4), frozen mode leaves the encoder's weights as they
were, and the rotation's pooled figures add up over its folds. Also: the
training's own conv feature encoder (train.conv_features, a faster
torchaudio FeatureExtractor) has the module's gradients, and
torch_threads.set_threads reaches the OpenBLAS that torch's products run in.
Needs python3-torch (skipped otherwise)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'e2e'))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'models'))
from common import DATA, EMOTOP, FIX, check, finish, need_torch  # noqa: E402
need_torch()
import numpy as np  # noqa: E402
import st_write  # noqa: E402

MODELS = os.path.join(HERE, '..', '..', 'models')
PY = '/usr/bin/python3'


def train(data, *args):
    return subprocess.run([PY, os.path.join(MODELS, 'train_ravdess.py'), '--data', data,
                           '--emotop', EMOTOP, '--epochs', '1', '--crop', '1.0',
                           '--batch', '8'] + list(args),
                          capture_output=True, text=True)


def parity(model, data):
    p = subprocess.run([PY, os.path.join(MODELS, 'check_parity.py'), '--model', model,
                        '--data', data, '--emotop', EMOTOP, '--tol', '1e-4'],
                       capture_output=True, text=True)
    return p.returncode == 0, (p.stdout + p.stderr).strip().splitlines()[:1]


def conv_gradients():
    """emotop_model.conv_features in float32 against torchaudio's own
    FeatureExtractor in float64: outputs and parameter gradients. Debian's
    torch 1.13 gets gelu_backward wrong for mixed strides; a conv_features
    that ran into it had gradients off by factors of thousands."""
    import torch
    sys.path.insert(0, MODELS)
    import emotop_model as T
    for variant in ('large', 'base'):
        torch.manual_seed(0)
        fe = T.small_encoder(variant).feature_extractor
        x = torch.randn(2, 4000)
        fe.double().zero_grad()
        ref_out = fe(x.double(), None)[0]
        ref_out.pow(2).mean().backward()
        ref = {n: p.grad.clone() for n, p in fe.named_parameters()}
        fe.float().zero_grad()
        out = T.conv_features(fe, x)
        out.pow(2).mean().backward()
        err = max(float((p.grad.double() - ref[n]).abs().max() / ref[n].abs().max())
                  for n, p in fe.named_parameters())
        check(float((out.double() - ref_out).abs().max()) < 1e-4 and err < 1e-4,
              f'conv_features ({variant}): torchaudio\'s outputs and gradients '
              '(float64) within 1e-4', f'largest relative gradient error {err:.2e}')


def blas_threads():
    """torch_threads.set_threads(1) must reach the OpenBLAS instance torch
    multiplies with: then a run of products leaves every thread but this one
    idle, where set_threads(2) puts a second thread to work."""
    import torch
    import torch_threads
    a = torch.randn(512, 512)
    a @ a
    with open('/proc/self/maps') as f:
        if 'openblas' not in f.read():  # torch's own build says "generic"
            print('note: torch\'s BLAS is not OpenBLAS; set_threads check skipped')
            return

    def others_ticks():
        me, ticks = threading.get_native_id(), 0
        for t in os.listdir('/proc/self/task'):
            if int(t) != me:
                with open(f'/proc/self/task/{t}/stat') as f:
                    st = f.read().rsplit(')', 1)[1].split()
                ticks += int(st[11]) + int(st[12])  # utime, stime
        return ticks

    def work():
        time.sleep(0.5)  # let workers spinning from before go to sleep
        t0 = others_ticks()
        for _ in range(100):
            a @ a
        return others_ticks() - t0

    n2 = torch_threads.set_threads(2)
    w2 = work()
    n1 = torch_threads.set_threads(1)
    w1 = work()
    check(n2 == 2 and n1 == 1 and w2 >= 5 and w1 <= 1,
          'set_threads(1) keeps OpenBLAS to the calling thread',
          f'OpenBLAS reports {n2} then {n1} threads; other threads used '
          f'{w2} clock ticks at 2, {w1} at 1')


def main():
    conv_gradients()
    blas_threads()
    src = os.path.join(DATA, 'ravdess-16k')
    if not os.path.isdir(src):
        print('skipped: ../shared/data not found')
        return 77
    tmp = tempfile.mkdtemp()
    data = os.path.join(tmp, 'data')
    for actor in range(1, 7):
        d = os.path.join(data, f'Actor_{actor:02d}')
        os.makedirs(d)
        names = sorted(os.listdir(os.path.join(src, f'Actor_{actor:02d}')))
        for n in names[::3][:16]:
            os.symlink(os.path.join(src, f'Actor_{actor:02d}', n), os.path.join(d, n))

    # scratch mode: the small encoder + BiLSTM, trained end to end (with
    # the optional augmentations, so that they run too)
    out = os.path.join(tmp, 'scratch')
    p = train(data, '--speed', '1', '--mask', '2,8,1,8', '--val-actors', '3',
              '--test-actors', '4', '--export', out, '--results', os.path.join(tmp, 'scratch.json'))
    check(p.returncode == 0 and 'epoch 1/1' in p.stdout, 'scratch mode trains and exports',
          p.stderr[-500:])
    if p.returncode == 0:
        r = json.load(open(os.path.join(tmp, 'scratch.json')))
        check(r['test']['actors'] == [4] and sum(map(sum, r['test']['confusion'])) == 16,
              'test metrics cover the 16 files of the test actor')
        ok, msg = parity(out, data)
        check(ok, 'C engine agrees with PyTorch on the scratch export', msg)

    # frozen mode: a given HF encoder stays as it was; only the head trains
    out = os.path.join(tmp, 'frozen')
    enc = os.path.join(FIX, 'hubert-tiny-base')
    p = train(data, '--mode', 'frozen', '--encoder', enc, '--val-actors', '3',
              '--test-actors', '4', '--export', out)
    check(p.returncode == 0, 'frozen mode trains and exports', p.stderr[-500:])
    if p.returncode == 0:
        a = st_write.load(os.path.join(enc, 'model.safetensors'))
        b = st_write.load(os.path.join(out, 'model.safetensors'))
        same = all(np.array_equal(a[k], b[k]) for k in a if k in b)
        check(same and 'lstm.weight_ih_l0' in b and 'classifier.weight' in b,
              'frozen export: encoder weights unchanged, head added')
        ok, msg = parity(out, data)
        check(ok, 'C engine agrees with PyTorch on the frozen export', msg)
    p = train(data, '--mode', 'frozen')
    check(p.returncode != 0 and '--encoder' in p.stderr,
          'frozen mode without an encoder says what is missing', p.stderr[-300:])

    # rotation: two folds in two processes; pooled figures add up
    res = os.path.join(tmp, 'rot', 'rotation.json')
    os.makedirs(os.path.dirname(res))
    exp = os.path.join(tmp, 'rot', 'model')
    p = train(data, '--rotate', '--folds', '2', '--jobs', '2',
              '--results', res, '--export', exp)
    check(p.returncode == 0 and 'mean acc' in p.stdout, 'rotation runs its folds',
          p.stdout[-300:] + p.stderr[-500:])
    if p.returncode == 0:
        r = json.load(open(res))
        folds = r['folds']
        check([f['test'] for f in folds] == [[1, 2], [3, 4]] and
              [f['val'] for f in folds] == [[3, 4], [5, 6]],
              'rotation: each actor pair tested once, the next pair validates')
        check(all(len(f['test_curve']) == 1 and f['test_curve'][-1] == f['accuracy']
                  and len(f['val_curve']) == 1
                  and f['val_curve'][f['best_val_epoch'] - 1] == max(f['val_curve'])
                  and f['test_curve'][f['best_val_epoch'] - 1] == f['accuracy_at_best_val']
                  for f in folds), 'test and validation accuracy recorded after every epoch')
        check(abs(r['mean_accuracy'] - np.mean([f['accuracy'] for f in folds])) < 1e-12
              and r['best_accuracy'] == max(f['accuracy'] for f in folds),
              'mean and best fold accuracy')
        cm = np.array(r['pooled']['confusion'])
        check(cm.sum() == 64 and (cm == np.sum([f['confusion'] for f in folds], 0)).all(),
              'pooled confusion covers every file once')
        check(abs(r['pooled']['WA'] - np.trace(cm) / 64) < 1e-12, 'pooled WA')
        t = json.load(open(os.path.join(exp, 'training.json')))
        check(t['mean_accuracy'] == r['mean_accuracy'] and len(t['folds']) == 2,
              'rotation then exports a model whose training.json has the rotation')
        ok, msg = parity(exp, data)
        check(ok, 'C engine agrees with PyTorch on the rotation export', msg)
    p = train(data, '--test-actors', '1,2,3', '--val-actors', '4,5,6')
    check(p.returncode != 0 and 'no training actors' in p.stderr,
          'no actors left to train on: a clear error', p.stderr[-300:])
    rc = finish()
    if rc == 0:
        shutil.rmtree(tmp)
    else:
        print('kept', tmp)
    return rc


if __name__ == '__main__':
    sys.exit(main())
