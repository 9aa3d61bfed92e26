"""The fault catalogue: each case that once lost data, printed NaN or gave a
misleading message, asserted on generated audio and the committed models
(no ../shared/data, stdlib only)."""
import json
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import EMOTOP, FIX, SRC, check, finish, voice, write16  # noqa: E402

SHIPPED = os.path.join(SRC, 'models', 'emotop-small')


def run(*args, timeout=120, **kw):
    return subprocess.run([EMOTOP, *args], capture_output=True, text=True,
                          timeout=timeout, **kw)


def write_float(path, x, sr):
    """32-bit float WAV (format 3), which can hold NaN and Inf."""
    data = struct.pack('<%df' % len(x), *x)
    fmt = struct.pack('<HHIIHH', 3, 1, sr, sr * 4, 4, 32)
    with open(path, 'wb') as f:
        f.write(b'RIFF' + struct.pack('<I', 4 + 8 + len(fmt) + 8 + len(data)) + b'WAVE')
        f.write(b'fmt ' + struct.pack('<I', len(fmt)) + fmt)
        f.write(b'data' + struct.pack('<I', len(data)) + data)


def wav_sizes(path):
    """(RIFF size, data chunk size, bytes after the data header) of a WAV."""
    b = open(path, 'rb').read()
    riff = struct.unpack('<I', b[4:8])[0]
    i = 12
    while i + 8 <= len(b):
        cid, n = b[i:i + 4], struct.unpack('<I', b[i + 4:i + 8])[0]
        if cid == b'data':
            return riff, n, len(b) - i - 8
        i += 8 + n + (n & 1)
    return riff, None, None


def jsonl(text):
    return [json.loads(l) for l in text.splitlines() if l.strip()]


def all_json(text):
    try:
        jsonl(text)
        return True
    except ValueError:
        return False


def copy_model(src, dst):
    shutil.copytree(src, dst)
    return dst


def st_header(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    return b, n, json.loads(b[8:8 + n])


def st_rewrite(path, header, data):
    h = json.dumps(header).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + data)


with tempfile.TemporaryDirectory() as tmp:
    os.chdir(tmp)
    speech16 = os.path.join(tmp, 'speech16.wav')
    speech48 = os.path.join(tmp, 'speech48.wav')
    write16(speech16, voice(6, 16000), 16000)
    write16(speech48, voice(6, 48000), 48000)

    # 1. --record never destroys a file
    r = run('live', '-i', speech48, '--fast', '--no-tui', '--log', 's.jsonl',
            '--record', 's.flac')
    check(r.returncode == 0, 'live --record s.flac: a first session', r.stderr)
    before = open('s.flac', 'rb').read()
    r = run('live', '-i', speech48, '--fast', '--no-tui', '--log', 's.jsonl',
            '--record', 's.flac')
    check(r.returncode == 1 and open('s.flac', 'rb').read() == before,
          'a second session refuses the existing recording and leaves it intact',
          r.stderr)
    check('exists' in r.stderr and '--force' in r.stderr,
          'the refusal says the file exists and names --force', r.stderr)
    r = run('live', '-i', speech48, '--fast', '--no-tui', '--log', 's.jsonl',
            '--record', 'new.flac')
    check(r.returncode == 1 and not os.path.exists('new.flac'),
          'a refused log leaves no new recording behind', r.stderr)
    inp = open(speech48, 'rb').read()
    r = run('live', '-i', speech48, '--fast', '--no-tui', '--record', speech48, '--force')
    check(r.returncode == 2 and open(speech48, 'rb').read() == inp,
          '--record INPUT is refused even with --force; the input is intact', r.stderr)
    write16('short.wav', voice(3, 16000), 16000)
    r = run('live', '-i', 'short.wav', '--fast', '--no-tui', '--record', 's.flac', '--force')
    check(r.returncode == 0 and len(open('s.flac', 'rb').read()) < len(before) * 0.7,
          '--force replaces the recording (with the 3 s session)', r.stderr)

    # 3. a 16-bit FLAC recording of 48 kHz input reanalyses exactly
    r = run('live', '-i', speech48, '--fast', '--no-tui', '--log', 'f.jsonl',
            '--record', 'f.flac')
    r = run('replay', '--reanalyze', 'f.jsonl')
    check(r.returncode == 0 and 'exactly' in r.stdout,
          'replay --reanalyze of a FLAC recording of 48 kHz input: exact',
          r.stdout + r.stderr)

    # 2. NaN/Inf samples: zeroed, counted, never printed as NaN
    x = voice(4, 16000, seed=2)
    for i in range(20000, 20100):
        x[i] = float('nan')
    x[30000] = float('inf')
    x[30001] = float('-inf')
    write_float('nan.wav', x, 16000)
    r = run('analyze', '--json', 'nan.wav')
    recs = jsonl(r.stdout) if all_json(r.stdout) else []
    check(r.returncode == 0 and all_json(r.stdout), 'analyze --json on NaN samples: valid JSON',
          r.stdout[:300])
    check(recs and recs[-1].get('nonfinite_samples') == 102,
          'the file record counts the 102 non-finite samples', recs[-1:] )
    check('nan' not in r.stdout.lower().replace('nan.wav', ''),
          'no NaN in the output')
    check('102 non-finite' in r.stderr, 'stderr warns with the count', r.stderr)
    check(recs and recs[-1].get('speech_seconds', 0) > 2,
          'the detector still finds the speech around them', recs[-1:])
    # finite but absurd values (a damaged float file; found by the fuzzer:
    # they overflowed the resampler into Inf) count like NaN
    y = voice(3, 22050, seed=5)
    for i in range(1000, 1010):
        y[i] = 3.0e38
    write_float('huge.wav', y, 22050)
    r = run('analyze', '--json', 'huge.wav')
    recs = jsonl(r.stdout) if all_json(r.stdout) else []
    check(r.returncode == 0 and recs and recs[-1].get('out_of_range_samples') == 10
          and 'nonfinite_samples' not in recs[-1]
          and 'nan' not in r.stdout.lower().replace('huge', ''),
          'samples of 3e38: replaced and counted, no NaN downstream', r.stdout[-300:])
    # item 14 of the second fault catalogue: the warning named them NaN/Inf
    check('10 sample(s) beyond' in r.stderr and 'NaN' not in r.stderr,
          'samples of 3e38: the warning says they are out of range, not NaN/Inf',
          r.stderr)
    r = run('analyze', 'nan.wav')
    check(r.returncode == 0 and 'nan%' not in r.stdout, 'analyze text: no "nan%"', r.stdout)
    r = run('live', '-i', 'nan.wav', '--fast', '--no-tui', '--log', 'nan.jsonl')
    recs = jsonl(r.stdout) if all_json(r.stdout) else []
    end = recs[-1] if recs else {}
    check(all_json(r.stdout) and end.get('nonfinite_samples') == 102,
          'live: valid JSON Lines, the end record counts the samples', end)
    check(end.get('windows') == sum(1 for q in recs if q['type'] == 'window'),
          'live: every window the end record counts is in the log', end)

    # NaN / Inf weights are refused at load
    bad = copy_model(SHIPPED, 'nanmodel')
    b, n, h = st_header(os.path.join(bad, 'model.safetensors'))
    os.remove(os.path.join(bad, 'model.sha256')) if os.path.exists(
        os.path.join(bad, 'model.sha256')) else None
    off = 8 + n + h['classifier.bias']['data_offsets'][0]
    b = bytearray(b)
    b[off:off + 4] = struct.pack('<f', float('nan'))
    open(os.path.join(bad, 'model.safetensors'), 'wb').write(b)
    r = run('analyze', '--json', '-m', bad, speech16)
    check(r.returncode == 1 and 'NaN' in r.stderr and 'classifier.bias' in r.stderr,
          'a NaN weight: refused at load, naming the tensor', r.stderr)
    check('nan' not in r.stdout.lower(), 'and nothing printed as NaN', r.stdout)

    # 7. a flipped bit in the weights is caught by model.sha256
    check(os.path.exists(os.path.join(SHIPPED, 'model.sha256')),
          'the shipped model carries model.sha256')
    flip = copy_model(SHIPPED, 'flipmodel')
    p = os.path.join(flip, 'model.safetensors')
    b = bytearray(open(p, 'rb').read())
    b[-1001] ^= 0x01
    open(p, 'wb').write(b)
    r = run('analyze', '-m', flip, speech16)
    check(r.returncode == 1 and 'SHA-256' in r.stderr and 'model.sha256' in r.stderr,
          'a flipped weight bit: refused, the digest named', r.stderr)
    r = run('analyze', '-m', SHIPPED, speech16)
    check(r.returncode == 0, 'the intact model loads with its digest', r.stderr)

    # 4. a recording that fails (file size limit as a full disk) -> exit 1
    # and a logged event; the session log itself goes on
    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200000, 200000))
    long16 = os.path.join(tmp, 'long16.wav')
    write16(long16, voice(12, 16000, seed=3), 16000)
    r = subprocess.run([EMOTOP, 'live', '-i', long16, '--fast', '--no-tui', '--log',
                        'full.jsonl', '--record', 'full.wav'], capture_output=True,
                       text=True, preexec_fn=limit, timeout=120)
    log = jsonl(open('full.jsonl').read()) if os.path.exists('full.jsonl') else []
    ev = [q for q in log if q.get('type') == 'event' and q.get('event') == 'recording_error']
    check(r.returncode == 1, 'a failed recording makes the exit status 1', r.returncode)
    check(len(ev) == 1 and log and log[-1]['type'] == 'end',
          'the log has a recording_error event and its end record', [q['type'] for q in log])
    check('recording' in r.stderr and 'intact' in r.stderr,
          'stderr says the recording stopped and what was written is intact', r.stderr)

    # 5. short windows work; a hop longer than the window is a usage error
    r = run('live', '-i', speech16, '--fast', '--no-tui', '--window', '0.3')
    recs = jsonl(r.stdout) if all_json(r.stdout) else []
    check(r.returncode == 0 and sum(q['type'] == 'window' for q in recs) > 5,
          '--window 0.3 (documented as valid) runs', r.stderr)
    for cmd in (['live', '-i', speech16, '--fast', '--no-tui'], ['analyze', speech16]):
        r = run(*cmd, '--hop', '10')
        check(r.returncode == 2 and '--hop' in r.stderr,
              f'{cmd[0]} --hop 10: usage error (2)', (r.returncode, r.stderr))

    # 6. SIGKILL during a WAV recording leaves a valid header
    def killed_recording(name):
        p = subprocess.Popen([EMOTOP, 'live', '-i', long16, '--no-tui', '--record',
                              name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(2.5)
        p.kill()
        p.wait()
    killed_recording('killed.wav')
    riff, data, have = wav_sizes('killed.wav')
    check(data is not None and data > 16000 * 4 and data == have
          and riff == os.path.getsize('killed.wav') - 8,
          'after SIGKILL the WAV header counts the samples written',
          (riff, data, have))
    r = run('analyze', '--json', 'killed.wav')
    check(r.returncode == 0 and jsonl(r.stdout)[-1]['duration'] > 1,
          'and emotop reads it back', r.stdout[-200:])

    killed_recording('killed.flac')
    r = run('analyze', 'killed.flac')
    first = r.stdout.splitlines()[0] if r.stdout else ''
    check(r.returncode == 0 and 'length not in the header' in first
          and '576460752303423' not in r.stdout,
          'a killed FLAC recording: read, its unknown length said as such', r.stdout[:300])
    r = run('analyze', '--json', 'killed.flac')
    check(r.returncode == 0 and 0 < jsonl(r.stdout)[-1]['duration'] < 12,
          'and its duration is what was decoded', r.stdout[-200:])

    # 8. analyze streams: 10 minutes need no more memory than 1
    one = voice(15, 16000, seed=4)
    write16('m1.wav', one * 4, 16000)
    write16('m10.wav', one * 40, 16000)

    def peak_kib(f):
        p = subprocess.Popen(['/usr/bin/time', '-f', '%M', EMOTOP, 'analyze', f],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        return int(p.communicate()[1].strip().splitlines()[-1])
    if os.environ.get('EMOTOP_SANITIZED'):
        print('skip peak-RSS check: sanitizer builds keep freed memory in quarantine')
    elif os.path.exists('/usr/bin/time'):
        a, b = peak_kib('m1.wav'), peak_kib('m10.wav')
        check(b - a < 8 * 1024, f'analyze peak RSS: 1 min {a} KiB, 10 min {b} KiB '
              '(whole-file decoding would add ~35 MiB)')
    else:
        print('skip peak-RSS check: /usr/bin/time not installed')

    # 9. two --log auto sessions in the same second get distinct logs
    d = os.path.join(tmp, 'auto')
    os.mkdir(d)
    ps = [subprocess.Popen([EMOTOP, 'live', '-i', speech16, '--fast', '--no-tui',
                            '--log', 'auto'], cwd=d, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True) for _ in range(3)]
    rcs = [q.wait() for q in ps]
    logs = sorted(os.listdir(d))
    check(rcs == [0, 0, 0] and len(logs) == 3, f'three --log auto sessions at once: {logs}',
          [q.stderr.read() for q in ps])

    # 11. messages that say what is wrong
    r = run('analyze', tmp)
    check(r.returncode == 1 and 'is a directory' in r.stderr,
          'a directory as audio: "is a directory"', r.stderr)
    r = run('live', '-i', speech16, '--fast', '--no-tui', '--log', 'x' * 300 + '.jsonl')
    check(r.returncode == 1 and 'file name too long' in r.stderr,
          'an over-long --log name: "file name too long"', r.stderr)
    r = run('analyze', '-m', os.path.join(tmp, 'nosuch'), speech16)
    check(r.returncode == 1 and 'Give a model directory with --model' not in r.stderr
          and 'is a model directory' in r.stderr,
          'a bad --model is not told to give --model', r.stderr)
    i32 = copy_model(os.path.join(FIX, 'model-tiny-bilstm'), 'i32model')
    sp = os.path.join(i32, 'model.safetensors')
    b, n, h = st_header(sp)
    h['classifier.bias']['dtype'] = 'I32'
    st_rewrite(sp, h, b[8 + n:])
    r = run('analyze', '-m', i32, speech16)
    check(r.returncode == 1 and 'I32' in r.stderr and 'dims' not in r.stderr,
          'an I32 classifier.bias: the message names the dtype', r.stderr)
    ren = copy_model(os.path.join(FIX, 'model-tiny-bilstm'), 'renmodel')
    sp = os.path.join(ren, 'model.safetensors')
    b, n, h = st_header(sp)
    h['classifier.weightx'] = h.pop('classifier.weight')
    st_rewrite(sp, h, b[8 + n:])
    r = run('analyze', '-m', ren, speech16)
    check(r.returncode == 1 and 'classifier.weight' in r.stderr and '[-1]' not in r.stderr,
          'a renamed classifier.weight: missing, with no spurious shape', r.stderr)

    # --truth files with mistakes are refused with the line
    open('cues.tsv', 'w').write('0\t1\tangry\n2\t1\tsad\n')
    r = run('live', '-i', speech16, '--fast', '--no-tui', '--truth', 'cues.tsv')
    check(r.returncode == 1 and 'cues.tsv:2:' in r.stderr, 'a bad --truth line is named',
          r.stderr)

    # 12. a truncated WAV is analysed with a warning; a FIFO says it waits
    b = open(speech16, 'rb').read()
    open('trunc.wav', 'wb').write(b[:len(b) // 2])
    r = run('analyze', 'trunc.wav')
    check(r.returncode == 0 and 'truncated' in r.stderr, 'a truncated WAV: warned',
          r.stderr)
    os.mkfifo('fifo.wav')
    p = subprocess.Popen([EMOTOP, 'analyze', 'fifo.wav'], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    p.kill()
    err = p.communicate()[1]
    check('FIFO' in err and 'waiting for a writer' in err,
          'a FIFO with no writer: says it is waiting', err)

    # logs of format version 1 (before valence/arousal) still replay and
    # draw; new logs are version 2 and carry valence/arousal per window
    v1 = os.path.join(FIX, 'session-v1.jsonl')
    r = run('replay', '--no-tui', v1)
    check(r.returncode == 0 and len(jsonl(r.stdout)) >= 3, 'a version-1 log replays', r.stderr)
    r = run('report', v1, '-o', 'v1.svg')
    check(r.returncode == 0 and 'arousal' in open('v1.svg').read(),
          'a version-1 log draws, with a valence/arousal track', r.stderr)
    recs = jsonl(open('f.jsonl').read())
    wins = [q for q in recs if q['type'] == 'window']
    check(recs[0]['version'] == 2 and wins and all(
        -1 <= q['valence'] <= 1 and -1 <= q['arousal'] <= 1 for q in wins),
          'new logs: version 2, valence and arousal in [-1, 1] on every window')

sys.exit(finish())
