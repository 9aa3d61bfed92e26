"""Training-time augmentation: the user's channel, and new speakers made
from the ones the corpora have. Applied on the fly to each crop (16 kHz
float tensors); every draw comes from the caller's torch.Generator, so a
run is repeatable and resumable.

  channel (augment):  speed 0.9-1.1, synthetic room reverberation, a
                      telephone band or a low-pass, white/pink/brown noise
                      or babble at 0-30 dB SNR, a gain of -12..+12 dB
  voices (voices=True, the round-3 lever, on top of the channel):
                      pitch shift of +-3 semitones (tempo kept),
                      vocal-tract-length perturbation (frequency warp
                      0.9-1.1, Jaitly & Hinton 2013), a gain of -30..+6 dB
                      requantised to 16 bits (what a quiet microphone
                      delivers), and a low-bitrate Opus round trip

The model standardises each clip (emotop_model.normalize), so a gain by
itself changes nothing it sees; requantising after the gain is what makes
a quiet input differ (fewer effective bits).
"""
import io

import torch
import torch.nn.functional as F

SR = 16000


def _u(g):
    return float(torch.rand((), generator=g))


def colored_noise(n, kind, g):
    w = torch.randn(n, generator=g)
    if kind == 'white':
        return w
    f = torch.fft.rfft(w)
    k = torch.arange(f.shape[0]).clamp(min=1).float()
    f = f / (k.sqrt() if kind == 'pink' else k)
    y = torch.fft.irfft(f, n)
    return y / (y.std() + 1e-9)


def reverb(x, g):
    """Convolution with a synthetic room response: exponentially decaying
    noise, RT60 0.15-0.8 s, with a direct path."""
    rt60 = 0.15 + 0.65 * _u(g)
    n = int(rt60 * SR)
    t = torch.arange(n) / SR
    h = torch.randn(n, generator=g) * torch.exp(-6.9 * t / rt60)
    h[0] = 1.0 / (0.3 + _u(g))
    h = h / h.norm()
    m = len(x) + n - 1
    L = 1 << (m - 1).bit_length()
    y = torch.fft.irfft(torch.fft.rfft(x, L) * torch.fft.rfft(h, L), L)[:len(x)]
    return y


def band_limit(x, g):
    """A telephone band (300-3400 Hz) or a low-pass at 4-7 kHz."""
    X = torch.fft.rfft(x)
    f = torch.fft.rfftfreq(len(x), 1 / SR)
    if _u(g) < 0.5:
        X[(f < 300) | (f > 3400)] = 0
    else:
        X[f > 4000 + 3000 * _u(g)] = 0
    return torch.fft.irfft(X, len(x))


def pitch_shift(x, semitones, n_fft=512, hop=128):
    """x's pitch moved by semitones, its duration kept: a phase-vocoder
    time stretch by the pitch ratio, then linear resampling back to the
    original length (cheap: torchaudio's sinc resampler costs about a
    second per clip at ratios like 2^(1/12))."""
    import torchaudio.functional as AF
    p = 2 ** (semitones / 12)
    win = torch.hann_window(n_fft)
    S = torch.stft(x, n_fft, hop, window=win, return_complex=True)
    adv = torch.linspace(0, torch.pi * hop, S.shape[0])[:, None]
    S = AF.phase_vocoder(S, 1 / p, adv)
    y = torch.istft(S, n_fft, hop, window=win)
    return F.interpolate(y[None, None], size=len(x), mode='linear',
                         align_corners=False)[0, 0]


def vtlp_warp(nbins, alpha, f_hi=4800.0, nyq=SR / 2):
    """The source bin (fractional) of each output bin under Jaitly &
    Hinton's piecewise-linear warp: f -> f * alpha below a boundary, then a
    straight line to Nyquist (fixed), so nothing leaves the band."""
    f = torch.linspace(0, nyq, nbins)
    b = f_hi * min(alpha, 1.0) / alpha
    # the inverse map: which input frequency lands on output f
    warped_b = b * alpha
    src = torch.where(f <= warped_b, f / alpha,
                      b + (f - warped_b) * (nyq - b) / (nyq - warped_b))
    return src * (nbins - 1) / nyq


def vtlp(x, alpha, n_fft=512, hop=128):
    """Vocal-tract-length perturbation: the spectral envelope stretched by
    alpha (formants move, the pitch barely), by warping each STFT frame's
    magnitude along frequency and keeping the phase of the nearest bin."""
    win = torch.hann_window(n_fft)
    S = torch.stft(x, n_fft, hop, window=win, return_complex=True)  # F, T
    nb = S.shape[0]
    src = vtlp_warp(nb, alpha).clamp(0, nb - 1)
    lo = src.floor().long()
    hi = (lo + 1).clamp(max=nb - 1)
    fr = (src - lo.float())[:, None]
    mag = S.abs()
    m = mag[lo] * (1 - fr) + mag[hi] * fr
    ph = torch.angle(S[src.round().long()])
    y = torch.istft(torch.polar(m, ph), n_fft, hop, window=win, length=len(x))
    return y


def requantise(x, gain_db):
    """x at gain_db, clipped and rounded to 16 bits as a sound card would."""
    y = x * 10 ** (gain_db / 20)
    return torch.clamp(torch.round(y * 32768), -32768, 32767) / 32768


def opus_round_trip(x, level):
    """x encoded to Ogg Opus and decoded again by libsndfile (through
    python3-soundfile); level 0..1 is libsndfile's compression level (1:
    the lowest bitrate). Returns x unchanged where this libsndfile cannot."""
    import numpy as np
    import soundfile as sf
    try:
        b = io.BytesIO()
        with sf.SoundFile(b, 'w', SR, 1, format='OGG', subtype='OPUS') as f:
            lvl = sf._ffi.new('double*', level)
            sf._snd.sf_command(f._file, 0x1301, lvl, sf._ffi.sizeof('double'))
            f.write(np.clip(x.numpy(), -1, 1))
        b.seek(0)
        y, _ = sf.read(b, dtype='float32')
    except Exception:  # noqa: BLE001 (no Opus in this libsndfile)
        return x
    y = torch.from_numpy(y)
    return F.pad(y, (0, max(0, len(x) - len(y))))[:len(x)]


def augment(x, others, g, voices=False):
    """One crop through the channel augmentation (and, with voices, the
    new-speaker one); others: clips to draw babble from."""
    r = lambda: _u(g)  # noqa: E731
    if voices:
        if r() < 0.4:
            x = pitch_shift(x, -3 + 6 * r())
        if r() < 0.4:
            x = vtlp(x, 0.9 + 0.2 * r())
    if r() < 0.3:  # speed (pitch and tempo) 0.9-1.1, linear interpolation
        s = 0.9 + 0.2 * r()
        x = F.interpolate(x[None, None], scale_factor=1 / s, mode='linear',
                          align_corners=False)[0, 0]
    if r() < 0.3:
        x = reverb(x, g)
    if r() < 0.2:
        x = band_limit(x, g)
    p = x.pow(2).mean() + 1e-10
    if r() < 0.6:
        snr = 0 + 30 * r()
        kind = ['white', 'pink', 'brown', 'babble'][int(4 * r())]
        if kind == 'babble':
            o = others[int(r() * len(others))]
            n = o[:len(x)] if len(o) >= len(x) else F.pad(o, (0, len(x) - len(o)))
            n = n / (n.std() + 1e-9)
            snr += 10  # other speech is only background
        else:
            n = colored_noise(len(x), kind, g)
        x = x + n * torch.sqrt(p / 10 ** (snr / 10))
    if not voices:
        return x * 10 ** ((-12 + 24 * r()) / 20)
    if r() < 0.15:
        x = opus_round_trip(x / (x.abs().max() + 1e-9) * 0.5, 0.7 + 0.3 * r())
    # a level as a user's microphone gives it: peak-normalised, then -30..+6 dB
    return requantise(x / (x.abs().max() + 1e-9) * 0.5, -30 + 36 * r())
