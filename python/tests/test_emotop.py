"""The Python package against the C side: the same records as `emotop
analyze --json`, streaming in random chunk sizes equal to one analysis,
every error path, reference counting, threads, Ctrl-C.

Runs on the committed fixture models and generated audio (no
../shared/data needed); the shipped model is in the tree (models/).
Run by the suite (meson test python) with the build's package first on
PYTHONPATH, or by hand:  PYTHONPATH=build/python python3 -m pytest python/tests
"""
import gc
import json
import os
import signal
import subprocess
import sys
import threading
import time
import wave

import numpy as np
import pytest

import emotop

SRC = os.environ.get('EMOTOP_SOURCE_ROOT',
                     os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
EMOTOP = os.environ.get('EMOTOP', os.path.join(SRC, 'build', 'emotop'))
FIX = os.path.join(SRC, 'tests', 'fixtures')
SHIPPED = os.path.join(SRC, 'models', 'emotop-small')
TINY = os.path.join(FIX, 'model-tiny-bilstm')
SR = 16000


def voice(seconds, rate=SR, f0=140.0, seed=0, gap=0.6):
    """Speech-like audio: voiced bursts (a harmonic buzz with a moving
    pitch) between pauses, so the voice detector finds several segments."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    f = f0 * (1 + 0.15 * np.sin(2 * np.pi * 0.7 * t))
    ph = 2 * np.pi * np.cumsum(f) / rate
    x = sum(np.sin(k * ph) / k for k in range(1, 12))
    env = (np.sin(2 * np.pi * t / (2 * gap + 1.2)) > -0.2).astype(float)
    x = 0.2 * x * env + 0.002 * rng.standard_normal(n)
    return x.astype(np.float32)


def write_wav(path, x, rate=SR):
    q = np.clip(np.round(x * 32767), -32768, 32767).astype('<i2')
    with wave.open(path, 'wb') as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(q.tobytes())
    return q.astype(np.float32) / 32768


def cli_records(path, *args, model=SHIPPED):
    out = subprocess.run([EMOTOP, 'analyze', '--json', '-m', model, *args, path],
                         check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.fixture(scope='module')
def model():
    return emotop.Model(SHIPPED)


@pytest.fixture(scope='module')
def clip(tmp_path_factory):
    p = str(tmp_path_factory.mktemp('audio') / 'voice.wav')
    x = write_wav(p, voice(7.5))
    return p, x


# ---- the records ---------------------------------------------------------------

def test_version_is_the_library_s():
    assert emotop.__version__ == emotop._emotop.library_version
    meson = open(os.path.join(SRC, 'meson.build')).read()
    assert f"version : '{emotop.__version__}'" in meson
    pyproj = open(os.path.join(SRC, 'python', 'pyproject.toml')).read()
    assert f'version = "{emotop.__version__}"' in pyproj
    assert f"version : '{emotop.__version__}'" in open(
        os.path.join(SRC, 'python', 'meson.build')).read()


def test_model_attributes(model):
    assert model.labels == ['neutral', 'calm', 'happy', 'sad', 'angry', 'fearful',
                            'disgust', 'surprised']
    assert model.sample_rate == 16000
    info = model.info
    assert len(info['sha256']) == 64 and info['name'] == 'emotop-small'
    assert info['calibration'] and 0 < info['calibration']['temperature'] < 5
    assert info['corpora'] and 'ravdess' in info['corpora']
    sha = open(os.path.join(SHIPPED, 'model.sha256')).read().split()[0]
    assert info['sha256'] == sha


def test_default_model_is_the_cli_s(monkeypatch):
    monkeypatch.delenv('EMOTOP_MODEL', raising=False)
    m = emotop.Model()
    assert os.path.samefile(m.info['dir'], SHIPPED) or \
        m.info['dir'].endswith(os.path.join('emotop', 'models', 'emotop-small'))
    monkeypatch.setenv('EMOTOP_MODEL', TINY)
    assert emotop.default_model_dir() == TINY


def test_analyze_file_equals_cli(model, clip):
    path, _ = clip
    cli = [r for r in cli_records(path) if r['type'] == 'window']
    py = model.analyze_file(path)
    assert len(cli) >= 3
    assert py == cli  # the same keys, order, names and numbers


def test_analyze_file_options_equal_cli(model, clip):
    path, _ = clip
    cli = [r for r in cli_records(path, '--window', '1.5', '--hop', '0.25',
                                  '--smoothing', '0.3', '--vad-snr', '6')
           if r['type'] == 'window']
    py = model.analyze_file(path, window=1.5, hop=0.25, smoothing=0.3, vad_snr_db=6)
    assert py == cli


def test_analyze_array_equals_file(model, clip):
    path, x = clip
    a = model.analyze(x, SR)
    f = model.analyze_file(path)
    assert a == [{k: v for k, v in r.items() if k != 'file'} for r in f]


def test_analyze_other_rates_and_dtypes(model, clip):
    _, x = clip
    ref = model.analyze(x, SR)
    i16 = np.round(x * 32768).astype(np.int16)
    assert model.analyze(i16, SR) == ref  # int16 scaled by 32768: the same samples
    assert model.analyze(x.astype(np.float64), SR) == ref
    assert model.analyze(list(map(float, x[:16000])), SR) == model.analyze(x[:16000], SR)
    # 48 kHz: resampled inside; the labels agree with the 16 kHz analysis
    import math
    n48 = int(len(x) * 3)
    x48 = np.interp(np.arange(n48) / 3, np.arange(len(x)), x).astype(np.float32)
    r48 = model.analyze(x48, 48000)
    assert abs(len(r48) - len(ref)) <= 1
    assert all(math.isclose(a['t0'], b['t0'], abs_tol=0.05) for a, b in zip(r48, ref))


def test_as_arrays(model, clip):
    _, x = clip
    recs = model.analyze(x, SR)
    a = emotop.as_arrays(recs)
    assert a['probs'].shape == (len(recs), 8) and a['labels'] == model.labels
    assert np.allclose(a['probs'].sum(1), 1, atol=1e-4)
    assert list(a['label']) == [r['label'] for r in recs]
    assert a['t0'][0] == recs[0]['t0']


def test_one_label_per_window(model, clip):
    """label is the smoothed, held label; top the window's own argmax."""
    _, x = clip
    for r in model.analyze(x, SR):
        assert r['top'] == max(r['probs'], key=r['probs'].get)
        assert abs(r['confidence'] - r['smoothed'][r['label']]) < 1e-6


# ---- streaming ------------------------------------------------------------------

def test_stream_random_chunks_equal_one_shot(model, clip):
    _, x = clip
    ref = model.analyze(x, SR)
    rng = np.random.default_rng(7)
    for trial in range(4):
        got = []
        with model.stream(SR) as s:
            i = 0
            while i < len(x):
                k = int(rng.integers(1, 9000)) if trial else 1
                if trial == 0:
                    k = 160  # 10 ms chunks
                got += s.push(x[i:i + k])
                i += k
        got += list(s)[len(got):]  # nothing queued beyond what push returned
        got = [r for r in got]
        rest = s.close()
        assert rest == []
        assert got[:len(ref)] == ref[:len(got)]
    # the flush at close: collect everything through the iterator this time
    s = model.stream(SR)
    for i in range(0, len(x), 4000):
        s.push(x[i:i + 4000])
    s.close()
    assert list(s) == ref


def test_stream_callback_and_resampling(model, clip):
    _, x = clip
    seen = []
    x48 = np.repeat(x, 3)  # crude 48 kHz: only the shape of the results matters
    with model.stream(48000, callback=seen.append) as s:
        for i in range(0, len(x48), 4800):
            s.push(x48[i:i + 4800])
    assert seen and all(r['type'] == 'window' for r in seen)
    assert s.stats['samples_in'] == len(x48)


def test_closed_stream_and_model_dropped(clip):
    _, x = clip
    m = emotop.Model(SHIPPED)
    s = m.stream(SR)
    del m
    gc.collect()
    s.push(x[:32000])  # the stream holds its model
    out = s.close()
    assert isinstance(out, list)
    with pytest.raises(emotop.Error, match='closed'):
        s.push(x[:100])
    assert s.close() == []


# ---- predict, embed ---------------------------------------------------------------

def test_predict_and_embed(model, clip):
    _, x = clip
    p = model.predict(x[:SR * 2], SR)
    assert p.shape == (8,) and p.dtype == np.float32 and abs(float(p.sum()) - 1) < 1e-4
    e = model.embed(x[:SR * 2], SR)
    assert e.dtype == np.float32 and e.shape[1] == model.info['hidden_size']
    assert abs(e.shape[0] - 100) <= 4  # 20 ms frames (less the receptive field)
    a = model.embed(x[:SR * 2], SR, layer='all')
    assert a.shape[0] == model.info['num_layers'] + 1
    assert np.array_equal(a[-1], e) and np.array_equal(a[0], model.embed(x[:SR * 2], SR, 0))


def test_embed_matches_cli(model, clip, tmp_path):
    path, x = clip
    out = str(tmp_path / 'e.npy')
    subprocess.run([EMOTOP, 'embed', '-m', SHIPPED, '-o', out, path], check=True,
                   capture_output=True)
    assert np.array_equal(np.load(out), model.embed(x, SR))


# ---- sessions ------------------------------------------------------------------------

def test_read_session_v1_fixture():
    s = emotop.read_session(os.path.join(FIX, 'session-v1.jsonl'))
    assert s.header['type'] == 'session' and s.windows
    assert s.labels and all(set(w['probs']) <= set(s.labels) for w in s.windows)
    assert s.as_arrays()['probs'].shape[0] == len(s.windows)


def test_read_session_of_a_live_run(tmp_path, clip):
    path, _ = clip
    log = str(tmp_path / 's.jsonl')
    subprocess.run([EMOTOP, 'live', '--no-tui', '--fast', '-i', path, '--log', log, '-m',
                    SHIPPED], check=True, capture_output=True)
    s = emotop.read_session(log)
    raw = [json.loads(line) for line in open(log)]
    assert s.header == raw[0] and s.records == raw[1:] and s.end == raw[-1]
    assert not s.truncated
    # cut the last line: accepted as a crash leaves it
    text = open(log).read()
    cut = str(tmp_path / 'cut.jsonl')
    open(cut, 'w').write(text[:-20])
    c = emotop.read_session(cut)
    assert c.truncated and c.end is None


def test_read_session_errors(tmp_path):
    bad = tmp_path / 'bad.jsonl'
    bad.write_text('{"type":"session","version":1}\n{"type":"window","t0":"x"}\n'
                   '{"type":"end"}\n')
    with pytest.raises(emotop.InputError, match=r'bad.jsonl:2: window record'):
        emotop.read_session(str(bad))
    with pytest.raises(emotop.FileError):
        emotop.read_session(str(tmp_path / 'missing.jsonl'))
    (tmp_path / 'empty.jsonl').write_text('')
    with pytest.raises(emotop.InputError):
        emotop.read_session(str(tmp_path / 'empty.jsonl'))


# ---- errors --------------------------------------------------------------------------------

def test_bad_samples(model):
    x = voice(1)
    with pytest.raises(emotop.InputError, match='1-D'):
        model.analyze(np.stack([x, x], 1), SR)
    with pytest.raises(emotop.InputError, match='None'):
        model.analyze(None, SR)
    y = x.copy()
    y[1234] = np.nan
    with pytest.raises(emotop.InputError, match='sample 1234 is NaN'):
        model.analyze(y, SR)
    y[1234] = np.inf
    with pytest.raises(emotop.InputError, match='infinite'):
        model.predict(y, SR)
    with pytest.raises(emotop.InputError, match='numbers'):
        model.analyze(np.array(['a', 'b']), SR)
    with pytest.raises(emotop.InputError, match='sample_rate'):
        model.analyze(x, 0)
    with pytest.raises(emotop.InputError, match='sample_rate'):
        model.analyze(x, 16000.5)
    with pytest.raises(emotop.InputError, match='shorter than the encoder'):
        model.predict(x[:10], SR)
    assert model.analyze(np.zeros(0, np.float32), SR) == []
    assert isinstance(emotop.InputError('x'), ValueError)
    # a non-contiguous slice is converted, not refused
    assert isinstance(model.analyze(voice(3)[::2], 8000), list)


def test_bad_options(model):
    x = voice(1)
    with pytest.raises(emotop.InputError, match='window wants 0.1..60'):
        model.analyze(x, SR, window=0)
    with pytest.raises(emotop.InputError, match='unknown analysis option'):
        model.analyze(x, SR, windw=2)
    with pytest.raises(emotop.InputError, match='whole number'):
        model.analyze(x, SR, vad_frame_ms=20.5)
    with pytest.raises(emotop.InputError, match='must be a number'):
        model.analyze(x, SR, hop='0.5')
    with pytest.raises(emotop.InputError, match="quality"):
        model.analyze(x, SR, quality='great')
    with pytest.raises(emotop.InputError, match='layer'):
        model.embed(x, SR, layer=99)
    with pytest.raises(emotop.InputError, match='threads'):
        emotop.Model(SHIPPED, threads=0)
    with pytest.raises(emotop.InputError, match='precision'):
        emotop.Model(SHIPPED, precision='fp16')


def test_bad_models(tmp_path):
    with pytest.raises(emotop.FileError, match='no such model directory'):
        emotop.Model(str(tmp_path / 'nothing'))
    d = tmp_path / 'broken'
    d.mkdir()
    (d / 'config.json').write_text('{"model_type": "hubert"')
    with pytest.raises(emotop.ModelError) as e:
        emotop.Model(str(d))
    assert 'config.json' in str(e.value)
    enc = emotop.Model(os.path.join(FIX, 'hubert-tiny-base'), _require_head=False)
    with pytest.raises(emotop.ModelError, match='no emotion head'):
        enc.analyze(voice(1), SR)
    assert enc.embed(voice(1), SR).ndim == 2
    with pytest.raises(emotop.ModelError):
        emotop.Model(os.path.join(FIX, 'hubert-tiny-base'))


def test_bad_files(model, tmp_path):
    with pytest.raises(emotop.FileError):
        model.analyze_file(str(tmp_path / 'missing.wav'))
    junk = tmp_path / 'junk.wav'
    junk.write_bytes(b'RIFF....WAVEjunk' * 10)
    with pytest.raises(emotop.InputError):
        model.analyze_file(str(junk))
    empty = tmp_path / 'empty.wav'
    write_wav(str(empty), np.zeros(0, np.float32))
    with pytest.raises(emotop.InputError, match='no audio'):
        model.analyze_file(str(empty))


# ---- lifetime, threads, signals -----------------------------------------------------

def rss_kib():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1])
    return 0


@pytest.mark.skipif(os.environ.get('EMOTOP_SANITIZED') == '1',
                    reason='RSS under a sanitizer measures its quarantine, not leaks')
def test_no_leak_over_create_destroy():
    x = voice(1)
    m = emotop.Model(TINY)
    for _ in range(50):  # warm up allocators and caches
        with m.stream(SR) as s:
            s.push(x)
    gc.collect()
    before = rss_kib()
    for _ in range(1000):
        with m.stream(SR) as s:
            s.push(x[:4000])
        emotop.Model(TINY)
    gc.collect()
    grown = rss_kib() - before
    assert grown < 8 * 1024, f'RSS grew {grown} KiB over 1,000 cycles'


def test_two_threads_one_model(model, clip):
    _, x = clip
    ref = model.analyze(x, SR)
    out = [None, None]

    def run(i):
        out[i] = model.analyze(x, SR)
    ts = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert out[0] == ref and out[1] == ref


def test_two_threads_two_models(clip):
    _, x = clip
    ms = [emotop.Model(SHIPPED), emotop.Model(SHIPPED)]
    out = [None, None]

    def run(i):
        out[i] = ms[i].analyze(x, SR)
    ts = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert out[0] == out[1] and out[0]


def test_gil_released(model):
    """Another Python thread runs while analyze computes."""
    x = voice(20)
    ticks = []
    done = threading.Event()

    def tick():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.005)
    t = threading.Thread(target=tick)
    t.start()
    t0 = time.perf_counter()
    model.analyze(x, SR)
    t1 = time.perf_counter()
    done.set()
    t.join()
    during = [a for a in ticks if t0 < a < t1]
    assert t1 - t0 < 0.05 or len(during) >= 0.3 * (t1 - t0) / 0.005


def test_ctrl_c_in_analyze_file(model, tmp_path):
    long = str(tmp_path / 'long.wav')
    write_wav(long, np.tile(voice(10), 30))  # 5 minutes
    code = (f'import emotop, time\nm = emotop.Model({SHIPPED!r})\nprint("ready", flush=True)\n'
            f't = time.time()\ntry:\n    m.analyze_file({long!r})\n    print("finished")\n'
            f'except KeyboardInterrupt:\n    print("interrupted", round(time.time() - t, 1))\n')
    p = subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.PIPE, text=True,
                         env=dict(os.environ))
    assert p.stdout.readline().strip() == 'ready'
    time.sleep(1.0)
    t = time.time()
    p.send_signal(signal.SIGINT)
    out = p.communicate(timeout=30)[0]
    assert out.startswith('interrupted'), out
    assert time.time() - t < 5, 'KeyboardInterrupt took too long'


def test_help_is_useful():
    doc = emotop.__doc__
    for name in ('Model', 'analyze', 'stream', 'live', 'read_session', 'InputError'):
        assert name in doc
    for f in (emotop.Model.analyze, emotop.Model.analyze_file, emotop.Model.predict,
              emotop.Model.embed, emotop.Model.stream, emotop.live, emotop.read_session):
        assert f.__doc__ and len(f.__doc__) > 60
        assert 'return' in f.__annotations__


# ---- live, examples --------------------------------------------------------------------

def test_live_from_a_file(clip):
    """live(input=FILE): the library's paced file source and analysis thread
    give the records analyze gives."""
    path, x = clip
    m = emotop.Model(SHIPPED)
    with emotop.live(model=m, input=path) as mic:
        recs = list(mic)
    wins = [r for r in recs if r['type'] == 'window']
    assert [r['label'] for r in wins] == [r['label'] for r in m.analyze(x, SR)]
    assert any(r['type'] == 'speech' for r in recs)


def test_live_through_portaudio(tmp_path, clip):
    """emotop.live('virtmic'): a virtual ALSA microphone (tests/e2e/live.py's),
    through the library's PortAudio source, in a process of its own so
    alsa-lib reads this HOME's .asoundrc."""
    path, _ = clip
    code = f'''
import os, sys, time
sys.path.insert(0, {os.path.join(SRC, 'tests', 'e2e')!r})
from live import VirtualMic
import emotop
vm = VirtualMic({str(tmp_path)!r}, {path!r}, tail_s=2)
m = emotop.Model({SHIPPED!r})
wins = []
with emotop.live('virtmic', model=m) as mic:
    vm.go.set()
    t = time.time()
    while time.time() - t < 30 and len(wins) < 3:
        for r in mic.records(0.5) or []:
            if r['type'] == 'window':
                wins.append(r)
vm.stop.set()
print(len(wins), wins[0]['label'] if wins else '-')
'''
    env = dict(os.environ, HOME=str(tmp_path))
    p = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                       env=env, timeout=90)
    assert p.returncode == 0, p.stderr[-2000:]
    n, label = p.stdout.split()[:2]
    assert int(n) >= 3 and label in emotop.Model(SHIPPED).labels


def test_live_no_such_device():
    with pytest.raises(emotop.FileError):
        emotop.live('no-such-device-xyz', model=emotop.Model(SHIPPED))


def test_examples(tmp_path, clip):
    path, _ = clip
    ex = os.path.join(SRC, 'python', 'examples')
    env = dict(os.environ)
    p = subprocess.run([sys.executable, os.path.join(ex, 'stream_wav.py'), path],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0 and '(end)' in p.stdout, p.stderr
    png = str(tmp_path / 't.png')
    p = subprocess.run([sys.executable, os.path.join(ex, 'plot_timeline.py'), path, png],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    try:
        import matplotlib  # noqa: F401
        assert open(png, 'rb').read(8) == b'\x89PNG\r\n\x1a\n'
    except ImportError:
        assert 'matplotlib is not installed' in p.stdout
