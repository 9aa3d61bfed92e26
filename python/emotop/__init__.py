"""emotop: speech emotion recognition from Python, on emotop's C engine.

numpy in, records out. The records are the ones ``emotop analyze --json``
prints, with the same names and numbers; the engine is libemotop itself
(no PyTorch), about twice PyTorch's speed on one core.

    >>> import emotop
    >>> model = emotop.Model()                       # the shipped model
    >>> windows = model.analyze_file("speech.flac")  # a list of records
    >>> windows[0]["label"], windows[0]["probs"]["angry"]
    >>> emotop.as_arrays(windows)["probs"].shape     # (windows, labels)

The five calls:

    Model(path=None, *, precision="fp32", threads=1)
        .analyze(samples, sample_rate, **options)  per-window records
        .analyze_file(path, **options)              the same from a file
        .predict(samples, sample_rate)              one clip's probabilities
        .embed(samples, sample_rate, layer=None)    encoder hidden states
        .stream(sample_rate, **options)             push chunks, get records
    live(device=None, model=None, **options)        a microphone (PortAudio)
    read_session(path)                              a session log -> Session

Samples are one channel, any sample rate (resampled inside with
libsamplerate to the model's 16 kHz). A C-contiguous float32 numpy array
is read where it lies, without a copy; any other array (float64, int16,
a list, a non-contiguous slice) is converted once to float32 first
(integers scaled to [-1, 1) by their type's range). NaN or infinite
samples are refused (InputError), never analysed.

Errors raise emotop.Error subclasses carrying the library's message:
InputError (bad samples, options, audio files or logs; also a ValueError),
ModelError (a model directory that cannot be loaded or used as asked),
FileError (a file or device that cannot be opened; also an OSError).

Threads: inference releases the GIL. A Model is immutable and may be
shared by any number of threads (the C API allows it); each analyze() call
or stream has its own state. A stream is used by one thread at a time.
Ctrl-C during a long analyze_file() raises KeyboardInterrupt within about
one second of audio's computation.

The label of a window: ``label`` is the smoothed, hysteresis-held label
(what the TUI shows big), ``confidence`` its smoothed probability;
``probs`` are the window's own probabilities and ``smoothed`` the moving
average they feed; ``top`` is the window's own most probable label.
"""
import json
import os
import threading
import warnings
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Union

import numpy as np

from . import _emotop
from ._emotop import Error, FileError, InputError, ModelError

__all__ = ['Model', 'Stream', 'Live', 'Session', 'live', 'read_session', 'as_arrays',
           'default_model_dir', 'Error', 'InputError', 'ModelError', 'FileError',
           'SAMPLE_RATE', '__version__']

__version__ = _emotop.library_version
SAMPLE_RATE = _emotop.SAMPLE_RATE

_QUALITY = {'best': 0, 'medium': 1, 'fast': 2}

# The analysis options and their bounds: the command line's (emotop
# analyze --help; man emotop), name for name.
_OPTIONS = {
    'window': (0.1, 60.0), 'hop': (0.01, 60.0), 'min_window': (0.01, 60.0),
    'smoothing': (0.01, 1.0), 'hysteresis': (0.0, 1.0), 'min_confidence': (0.0, 1.0),
    'vad_frame_ms': (10, 30), 'vad_on': (0.01, 1.0), 'vad_off': (0.0, 1.0),
    'vad_hangover_ms': (0, 10000), 'vad_min_speech_ms': (0, 10000),
    'vad_min_silence_ms': (0, 10000), 'vad_pad_ms': (0, 10000),
    'vad_snr_db': (-20.0, 60.0), 'vad_min_level_dbfs': (-140.0, 0.0),
    'vad_floor_window_ms': (100, 60000),
}
_INT_OPTIONS = {k for k in _OPTIONS if k.endswith('_ms')}


def _config(options: Dict[str, Any]) -> Dict[str, Any]:
    cfg = {}
    for k, v in options.items():
        if k == 'feature_reuse':
            if v not in ('exact', 'off', 'approximate'):
                raise InputError(f"feature_reuse must be 'exact', 'off' or 'approximate', "
                                 f"not {v!r}")
            cfg[k] = v
            continue
        if k not in _OPTIONS:
            raise InputError(f'unknown analysis option {k!r}; the options are: '
                             + ', '.join(sorted(list(_OPTIONS) + ['feature_reuse'])))
        lo, hi = _OPTIONS[k]
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise InputError(f'{k} must be a number, not {type(v).__name__}')
        v = float(v)
        if not (lo <= v <= hi):
            raise InputError(f'{k} wants {lo:g}..{hi:g}, not {v:g}')
        if k in _INT_OPTIONS and v != int(v):
            raise InputError(f'{k} wants a whole number of milliseconds, not {v:g}')
        cfg[k] = v
    if 'vad_on' in cfg or 'vad_off' in cfg:
        on, off = cfg.get('vad_on', 0.5), cfg.get('vad_off', 0.35)
        if off > on:
            raise InputError(f'vad_off ({off:g}) must not exceed vad_on ({on:g})')
    return cfg


def _samples(x: Any) -> np.ndarray:
    """x as a 1-D C-contiguous float32 array: itself when it is one (no
    copy), else converted once (integers scaled by their type's range)."""
    if x is None:
        raise InputError('samples must be a 1-D array of audio, not None')
    if isinstance(x, np.ndarray) and x.dtype == np.float32 and x.ndim == 1 and \
            x.flags.c_contiguous:
        return x
    a = np.asarray(x)
    if a.ndim != 1:
        raise InputError(f'samples must be one channel (a 1-D array); got shape {a.shape}: '
                         'mix down first, e.g. x.mean(axis=1)')
    if a.dtype.kind in 'iu':  # PCM integers: full scale maps to [-1, 1)
        half = float(2 ** (8 * a.dtype.itemsize - 1))
        off = half if a.dtype.kind == 'u' else 0.0
        return np.ascontiguousarray((a.astype(np.float64) - off) / half, np.float32)
    if a.dtype.kind not in 'f' and a.dtype != np.bool_:
        raise InputError(f'samples must be numbers, not {a.dtype}')
    return np.ascontiguousarray(a, dtype=np.float32)


def _existing(path: Any) -> str:
    """path as a str naming a file that exists (FileError otherwise)."""
    p = os.fspath(path) if path is not None else None
    if not isinstance(p, str) or not p:
        raise InputError(f'path must be a file name, not {path!r}')
    if not os.path.exists(p):
        raise FileError(f'{p}: no such file')
    if os.path.isdir(p):
        raise FileError(f'{p}: is a directory, not a file')
    return p


def _rate(sample_rate: Any) -> int:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)):
        raise InputError(f'sample_rate must be a whole number of Hz, not {sample_rate!r}')
    if not 1000 <= int(sample_rate) <= 768000:
        raise InputError(f'sample_rate wants 1000..768000 Hz, not {sample_rate}')
    return int(sample_rate)


def default_model_dir() -> str:
    """The model Model() loads when given none: $EMOTOP_MODEL, else the copy
    installed with this package (emotop/models/emotop-small beside this
    file), else where the library looks (an installed program's data dir,
    then the source tree it was built from), as `emotop` does."""
    env = os.environ.get('EMOTOP_MODEL')
    if env:
        return env
    mine = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'models', 'emotop-small')
    if os.path.isdir(mine):
        return mine
    return _emotop.default_model()[0]


def _record(labels: Sequence[str], t: tuple, file: Optional[str] = None) -> Dict[str, Any]:
    """A window record as `emotop analyze --json` prints it: the same keys in
    the same order, the same rounding (3 decimals for times, 6 for
    probabilities, 4 for valence and arousal)."""
    index, t0, t1, speech, probs, smoothed, label, conf, uncertain, val, aro = t
    r: Dict[str, Any] = {'type': 'window'}
    if file is not None:
        r['file'] = file
    r.update(index=index, t0=round(t0, 3), t1=round(t1, 3), speech=round(speech, 3),
             probs={k: round(p, 6) for k, p in zip(labels, probs)},
             smoothed={k: round(p, 6) for k, p in zip(labels, smoothed)},
             label=labels[label], confidence=round(conf, 6),
             top=labels[max(range(len(probs)), key=probs.__getitem__)],
             uncertain=uncertain)
    if val is not None:
        r['valence'] = round(val, 4)
        r['arousal'] = round(aro, 4)
    return r


def as_arrays(records: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """Window records as numpy arrays for plotting without pandas:
    t0, t1, confidence, valence, arousal (NaN where absent), uncertain
    (windows,); probs and smoothed (windows, labels); labels (the column
    names) and label (windows,) of strings."""
    wins = [r for r in records if r.get('type', 'window') == 'window']
    labels = list(wins[0]['probs']) if wins else []
    f = lambda k: np.array([r.get(k, np.nan) for r in wins], dtype=np.float64)  # noqa: E731
    return {
        't0': f('t0'), 't1': f('t1'), 'confidence': f('confidence'),
        'valence': f('valence'), 'arousal': f('arousal'),
        'uncertain': np.array([bool(r['uncertain']) for r in wins], dtype=bool),
        'probs': np.array([[r['probs'][k] for k in labels] for r in wins],
                          dtype=np.float64).reshape(len(wins), len(labels)),
        'smoothed': np.array([[r.get('smoothed', r['probs'])[k] for k in labels]
                              for r in wins], dtype=np.float64).reshape(len(wins),
                                                                         len(labels)),
        'labels': labels, 'label': np.array([r['label'] for r in wins], dtype=object),
    }


class Model:
    """A model directory loaded into emotop's engine.

    Model(path=None, *, precision="fp32", threads=1): path None loads the
    shipped model (default_model_dir()); precision "bf16" runs the encoder
    in bfloat16 where the CPU has AVX512_BF16 (else fp32, with a warning);
    threads sets OpenBLAS's threads for the whole process (1..256).

    Attributes: labels (the model's classes, in output order),
    sample_rate (16000: what it computes at; inputs at any rate are
    resampled), info (name, dir, sha256, engine, precision, corpora,
    calibration, ...).
    """

    def __init__(self, path: Optional[Union[str, os.PathLike]] = None, *,
                 precision: str = 'fp32', threads: int = 1, _require_head: bool = True):
        if isinstance(threads, bool) or not isinstance(threads, int) or \
                not 1 <= threads <= 256:
            raise InputError(f'threads wants 1..256, not {threads!r}')
        if precision not in ('fp32', 'bf16'):
            raise InputError(f"precision must be 'fp32' or 'bf16', not {precision!r}")
        d = os.fspath(path) if path is not None else default_model_dir()
        if not isinstance(d, str) or not d:
            raise InputError('path must name a model directory')
        if not os.path.isdir(d):
            hint = (' (the shipped model: install emotop, restore models/emotop-small '
                    'in the source tree, or set EMOTOP_MODEL)') if path is None else ''
            raise FileError(f'{d}: no such model directory{hint}')
        _emotop.set_threads(threads)
        self._h = _emotop.load(d, precision, _require_head)
        self._info = _emotop.model_info(self._h)
        self.labels: List[str] = list(self._info['labels'])
        self.sample_rate: int = self._info['sample_rate']

    @property
    def info(self) -> Dict[str, Any]:
        """name, dir, sha256 of the weights, engine, precision, labels,
        hidden_size, num_layers; from the directory's config.json:
        corpora and calibration (temperature, fusion weight) when given."""
        info = dict(self._info)

        def read(name: str) -> Dict[str, Any]:
            try:
                with open(os.path.join(info['dir'], name), encoding='utf-8') as f:
                    d = json.load(f)
                return d if isinstance(d, dict) else {}
            except (OSError, ValueError):
                return {}
        head = read('config.json').get('emotop_head', {})
        tr = read('training.json')
        info['corpora'] = (list(tr.get('train_corpora') or []) +
                           ([tr['val_corpus']] if tr.get('val_corpus') else [])) or None
        cal = {k: head[k + '_folded'] for k in ('temperature', 'fusion_weight')
               if isinstance(head, dict) and k + '_folded' in head}
        info['calibration'] = cal or None
        return info

    def __repr__(self) -> str:
        return (f"emotop.Model({self._info['dir']!r}, {len(self.labels)} labels, "
                f"{self._info['engine']})")

    def analyze(self, samples: Any, sample_rate: int, **options: Any) -> List[Dict[str, Any]]:
        """Per-window records of one recording (1-D samples at sample_rate):
        the records of `emotop analyze --json`, without "file".

        options (the command line's, with its bounds): window, hop,
        min_window (seconds of speech), smoothing (the newest window's
        weight in the moving average), hysteresis, min_confidence,
        feature_reuse ('exact', 'off', 'approximate'), and the voice
        detector's vad_frame_ms, vad_on, vad_off, vad_hangover_ms,
        vad_min_speech_ms, vad_min_silence_ms, vad_pad_ms, vad_snr_db,
        vad_min_level_dbfs, vad_floor_window_ms; quality ('best',
        'medium', 'fast') for the resampler."""
        with self.stream(sample_rate, **options) as s:
            out = s.push(samples)
            out += s.close()
        return out

    def analyze_file(self, path: Union[str, os.PathLike], **options: Any) -> List[Dict[str, Any]]:
        """analyze() of an audio file, anything the command line reads
        (WAV, FLAC, Ogg/Opus, MP3, ...: libsndfile), decoded and resampled
        block by block, so memory does not grow with the file. The records
        carry "file": path as given, as `emotop analyze --json` prints them."""
        q = _QUALITY[_quality(options)]
        p = _existing(path)
        res, self.last_file_info = _emotop.analyze_file(self._h, p, _config(options), q)
        for k in ('nonfinite_samples', 'out_of_range_samples'):
            if self.last_file_info[k]:
                warnings.warn(f'{p}: {self.last_file_info[k]} {k.replace("_", " ")} were '
                              'replaced by silence', RuntimeWarning, stacklevel=2)
        return [_record(self.labels, t, p) for t in res]

    def predict(self, samples: Any, sample_rate: int) -> np.ndarray:
        """One probability vector (labels,) for the whole clip, the model
        run once over all of it (emo_model_infer: no voice detector, no
        windows); float32."""
        x = self._to16k(samples, sample_rate)
        return np.array(_emotop.predict(self._h, x), dtype=np.float32)

    def embed(self, samples: Any, sample_rate: int,
              layer: Optional[Union[int, str]] = None) -> np.ndarray:
        """The encoder's hidden states, float32: (frames, hidden) for one
        layer (None: the last; 0: the transformer's input, as Hugging
        Face's hidden_states[0]), or (layers + 1, frames, hidden) for
        layer="all". One frame per 20 ms."""
        x = self._to16k(samples, sample_rate)
        n = self._info['num_layers']
        if layer is None:
            li = n
        elif layer == 'all':
            li = -1
        elif isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
            li = int(layer)
            if not 0 <= li <= n:
                raise InputError(f"layer wants 0..{n}, None or 'all', not {layer}")
        else:
            raise InputError(f"layer wants 0..{n}, None or 'all', not {layer!r}")
        buf, shape = _emotop.embed(self._h, x, li)
        return np.frombuffer(buf, dtype=np.float32).reshape(shape)

    def stream(self, sample_rate: int, *, callback: Optional[Callable[[Dict[str, Any]], None]]
               = None, **options: Any) -> 'Stream':
        """A streaming analysis (see Stream): push() chunks of any size as
        they come, read records as they complete; close() flushes the last
        window. A context manager."""
        return Stream(self, sample_rate, callback=callback, **options)

    def _to16k(self, samples: Any, sample_rate: int) -> np.ndarray:
        x = _samples(samples)
        r = _rate(sample_rate)
        if r == SAMPLE_RATE:
            return x
        return np.frombuffer(_emotop.resample(x, r, _QUALITY['best']), dtype=np.float32)


def _quality(options: Dict[str, Any]) -> str:
    q = options.pop('quality', 'fast')
    if q not in _QUALITY:
        raise InputError(f"quality must be 'best', 'medium' or 'fast', not {q!r}")
    return q


class Stream:
    """Streaming analysis of one input: chunks in, window records out.

        with model.stream(48000) as s:
            for chunk in chunks:            # numpy arrays of any size
                for rec in s.push(chunk):
                    print(rec["label"])
        # leaving the block flushed the last window (close())

    Three ways to get the records, use whichever fits: push(chunk) and
    close() return the records they completed; callback, if given, is
    called with each record as it completes; iterating the stream yields
    every record once, in order (a consumer of its own, independent of
    what push returned: e.g. another thread draining a stream that a
    capture callback pushes to). Pushing the
    chunks of a recording gives exactly the records of one analyze() of
    it, whatever the chunk sizes. The stream holds its model: dropping
    the Model object while a stream is open is safe.
    """

    def __init__(self, model: Model, sample_rate: int, *,
                 callback: Optional[Callable[[Dict[str, Any]], None]] = None,
                 **options: Any):
        if not isinstance(model, Model):
            raise InputError('a stream needs an emotop.Model')
        self.model = model
        self.sample_rate = _rate(sample_rate)
        q = _QUALITY[_quality(options)]
        self._h = _emotop.analyzer_new(model._h, self.sample_rate, _config(options), q)
        self._cb = callback
        self._queue: List[Dict[str, Any]] = []
        self._lock = threading.Lock()
        self.closed = False

    def push(self, chunk: Any) -> List[Dict[str, Any]]:
        """Feeds a chunk (1-D, at the stream's sample rate); returns the
        records it completed."""
        if self.closed:
            raise Error('the stream is closed: open a new one with Model.stream()')
        return self._take(_emotop.analyzer_push(self._h, _samples(chunk)))

    def close(self) -> List[Dict[str, Any]]:
        """Ends the input: flushes the voice detector and the last partial
        window; returns those records. A second close() returns []."""
        if self.closed:
            return []
        self.closed = True
        return self._take(_emotop.analyzer_finish(self._h))

    def _take(self, tuples: list) -> List[Dict[str, Any]]:
        recs = [_record(self.model.labels, t) for t in tuples]
        with self._lock:
            self._queue += recs
        if self._cb:
            for r in recs:
                self._cb(r)
        return recs

    @property
    def stats(self) -> Dict[str, Any]:
        """samples_in (input samples fed), speech_seconds, windows."""
        return _emotop.analyzer_stats(self._h)

    def __iter__(self) -> Iterator[Dict[str, Any]]:
        while True:
            with self._lock:
                if not self._queue:
                    return
                r = self._queue.pop(0)
            yield r

    def __enter__(self) -> 'Stream':
        return self

    def __exit__(self, *exc: Any) -> None:
        if exc[0] is None:
            self.close()
        else:
            self.closed = True


class Live:
    """A live analysis of a microphone (or a file played in real time) on
    the library's own capture thread (PortAudio) and analysis thread.
    Iterate to get records as they come: window records as Stream's, and
    {"type": "speech", "t0", "t1"} for each closed speech segment;
    iteration ends when the input does or after stop(). A context manager.
    """

    def __init__(self, device: Optional[str] = None, model: Optional[Model] = None, *,
                 input: Optional[str] = None, **options: Any):
        self.model = model if model is not None else Model()
        if device is not None and not isinstance(device, str):
            device = str(device)
        _quality(options)
        self._h = _emotop.live_open(self.model._h, device, None if input is None
                                    else os.fspath(input), _config(options))
        self._stopped = False

    def records(self, timeout: float = 0.5) -> Optional[List[Dict[str, Any]]]:
        """The records that arrived, waiting up to timeout seconds for the
        first; None once the input has ended."""
        evs = _emotop.live_next(self._h, float(timeout))
        if evs is None:
            return None
        out = []
        for e in evs:
            if e[0] == 'window':
                out.append(_record(self.model.labels, e[1]))
            elif e[0] == 'speech':
                out.append({'type': 'speech', 't0': round(e[1], 3), 't1': round(e[2], 3)})
            else:
                out.append({'type': 'event', 'code': e[1], 't': round(e[2], 3),
                            'detail': e[3]})
        return out

    def __iter__(self) -> Iterator[Dict[str, Any]]:
        while True:
            recs = self.records()
            if recs is None:
                return
            yield from recs

    def stop(self) -> None:
        """Stops capture and analysis (iteration then ends)."""
        if not self._stopped:
            self._stopped = True
            _emotop.live_stop(self._h)

    def __enter__(self) -> 'Live':
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def live(device: Optional[str] = None, model: Optional[Model] = None,
         **options: Any) -> Live:
    """A Live analysis of the input device (None: the default one; an index
    or part of a name, as `emotop devices` lists them); options as
    Model.analyze's, and input=FILE to play a file in real time instead."""
    return Live(device, model, **options)


class Session:
    """A session log as the C reader validated it: header (the first
    record, a dict), records (the rest, dicts, file order), windows (the
    window records), end (the end record, or None when the session was
    cut short), truncated (its last line was cut off and ignored)."""

    def __init__(self, header: Dict[str, Any], records: List[Dict[str, Any]],
                 truncated: bool, ended: bool, path: str):
        self.path = path
        self.header = header
        self.records = records
        self.truncated = truncated
        self.windows = [r for r in records if r.get('type') == 'window']
        self.end = next((r for r in reversed(records) if r.get('type') == 'end'), None) \
            if ended else None

    @property
    def labels(self) -> List[str]:
        return list(self.header.get('model', {}).get('labels', [])) or \
            (list(self.windows[0]['probs']) if self.windows else [])

    def as_arrays(self) -> Dict[str, Any]:
        """as_arrays() of the window records."""
        return as_arrays(self.windows)

    def __repr__(self) -> str:
        return (f'emotop.Session({self.path!r}, {len(self.windows)} windows'
                f'{", cut short" if self.end is None else ""})')


def read_session(path: Union[str, os.PathLike]) -> Session:
    """Reads a session log (every version the C reader accepts), with the C
    reader's validation and messages: a malformed line raises InputError
    naming it; a truncated last line (a crash) is accepted."""
    p = _existing(path)
    text, truncated, ended = _emotop.read_session(p)
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    return Session(lines[0], lines[1:], truncated, ended, p)
