"""emotop serve without a browser: the access token, Host and Origin
checks, secure headers, every size and rate limit, malformed and hostile
input over the WebSocket, uploads and reports, many viewers with one
producer, slow and idle clients. A raw WebSocket client (wsclient.py)
sends what a browser never would. The page in a real browser:
serve_browser.py."""
import array
import atexit
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import xml.dom.minidom

sys.path.insert(0, os.path.dirname(__file__))
from common import EMOTOP, check, finish, voice, write16  # noqa: E402
from wsclient import WS, Closed, get  # noqa: E402

TMP = tempfile.mkdtemp(prefix='emotop-serve-')
SR = 16000


class Server:
    def __init__(self, *args, cwd=TMP, env=None):
        e = dict(os.environ, TMPDIR=os.path.join(TMP, 'tmpdir'))
        os.makedirs(e['TMPDIR'], exist_ok=True)
        e.update(env or {})
        self.p = subprocess.Popen([EMOTOP, 'serve', '--listen', '127.0.0.1:0', '-t', '1',
                                   *args], cwd=cwd, env=e, stderr=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        atexit.register(self.p.kill)  # a check that raised leaves no server behind
        self.err = []
        line = self.p.stderr.readline()
        self.err.append(line)
        m = re.search(r'http://127\.0\.0\.1:(\d+)/\?token=([0-9a-f]+)', line)
        if not m:
            raise RuntimeError('serve did not start: ' + line + self.p.stderr.read())
        self.port, self.token = int(m.group(1)), m.group(2)
        threading.Thread(target=lambda: self.err.extend(self.p.stderr), daemon=True).start()

    def ws(self, **kw):
        return WS(self.port, kw.pop('token', self.token), **kw)

    def rss_kib(self):
        for line in open(f'/proc/{self.p.pid}/status'):
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
        return 0

    def stop(self, sig=2):
        self.p.send_signal(sig)
        try:
            return self.p.wait(30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            return -9


def answer_pings(w):
    """Reads a producer's messages on a thread (its pings get their pongs,
    as a browser's would)."""
    def run():
        try:
            while True:
                w.recv()
        except Exception:  # noqa: BLE001
            pass
    threading.Thread(target=run, daemon=True).start()


def stream(w, x, rate, block=None, realtime=True):
    """Sends x (floats) as float32 messages of ~20 ms, at real time."""
    block = block or rate // 50
    a = array.array('f', x)
    t0 = time.time()
    for i in range(0, len(a), block):
        w.binary(a[i:i + block].tobytes())
        if realtime:
            lag = t0 + (i + block) / rate - time.time()
            if lag > 0:
                time.sleep(lag)


def log_records(path):
    return [json.loads(line) for line in open(path) if line.strip()]


def test_access():
    s = Server()
    p, t = s.port, s.token
    st, hs, body = get(p, '/')
    check(st == 403, 'no token: 403', st)
    check(b'emotop-small' not in body and b'session' not in body,
          'the refusal tells nothing about the session', body)
    st, _, _ = get(p, f'/?token={"0" * 32}')
    check(st == 403, 'a wrong token: 403', st)
    st, _, _ = get(p, f'/?token={t[:-1]}')
    check(st == 403, 'a token one character short: 403', st)
    st, _, _ = get(p, '/app.js')
    check(st == 403, 'the page\'s script needs the token too', st)
    st, hs, body = get(p, f'/?token={t}')
    check(st == 200 and b'<title>emotop</title>' in body, 'the token opens the page', st)
    csp = hs.get('content-security-policy', '')
    check("script-src 'self'" in csp and 'unsafe-inline' not in csp and
          "frame-ancestors 'none'" in csp, 'CSP: own script only, nothing inline, no framing',
          csp)
    check(hs.get('x-content-type-options') == 'nosniff' and
          hs.get('referrer-policy') == 'no-referrer' and hs.get('cache-control') == 'no-store',
          'nosniff, no referrer, no caching', hs)
    cookie = hs.get('set-cookie', '')
    check('HttpOnly' in cookie and 'SameSite=Strict' in cookie and t in cookie,
          'the token page sets an HttpOnly SameSite=Strict cookie', cookie)
    name = cookie.split('=')[0]
    st, hs2, body = get(p, '/app.js', headers={'Cookie': f'{name}={t}'})
    check(st == 200 and hs2.get('content-type', '').startswith('text/javascript') and
          'content-security-policy' in hs2, 'the cookie opens the page\'s files, with the headers', st)
    st, _, _ = get(p, '/app.js', headers={'Cookie': f'{name}={"1" * 32}'})
    check(st == 403, 'a wrong cookie: 403', st)
    index = get(p, f'/?token={t}')[2]
    for path in ('/../../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/etc/passwd',
                 '/api/analyze', '/index.html%00/../../etc/passwd'):
        st, _, body = get(p, path + ('&' if '?' in path else '?') + f'token={t}')
        check((st in (0, 400, 403, 404, 405) or body == index) and b'root:' not in body,
              f'GET {path}: refused (or the page), nothing from the disk', st)
    st, _, _ = get(p, f'/?token={t}', method='DELETE')
    check(st in (400, 405), 'DELETE: refused', st)
    # DNS rebinding: a name that resolves here is not this server
    st, _, _ = get(p, f'/?token={t}', host=f'evil.example:{p}')
    check(st == 403, 'Host evil.example: 403 even with the token', st)
    st, _, _ = get(p, f'/?token={t}', host=f'localhost:{p}')
    check(st == 200, 'Host localhost: served', st)
    st, _, _ = get(p, f'/?token={t}', host=f'127.0.0.1:{p + 1}')
    check(st == 403, 'Host with another port: 403', st)
    # the socket
    for what, kw in (('no token', {'token': ''}), ('a wrong token', {'token': 'f' * 32}),
                     ('a foreign Origin', {'origin': 'http://evil.example'}),
                     ('a foreign Origin on another port',
                      {'origin': f'http://127.0.0.1:{p + 1}'}),
                     ('a foreign Host', {'host': f'evil.example:{p}'}),
                     ('another path', {'path': '/'})):
        try:
            s.ws(**kw).close()
            ok = False
        except Closed:
            ok = True
        check(ok, f'WebSocket with {what}: upgrade refused')
    w = s.ws(origin=None)
    hello = w.recv()
    check(hello['type'] == 'hello' and hello['labels'], 'no Origin (not a browser) with '
          'the token: connected, hello with the labels', hello)
    w.close()
    w = s.ws()
    check(w.recv()['type'] == 'hello', 'its own Origin: connected')
    w.close()
    st = s.stop()
    check(st == 130, 'SIGINT ends serve with 130', st)
    err = ''.join(s.err)
    check('token=' in s.err[0] and len(s.token) == 32, 'the URL printed carries a 128-bit '
          'token', s.err[0])


def test_upgrade_matrix():
    """#37 item 1: every WebSocket upgrade, whatever subprotocol it names or
    omits, on every path, passes the token, Origin and Host checks or gets
    no 101. Only the page's own socket (protocol emotop, /ws, the token, its
    own or no Origin) is answered 101."""
    s = Server()
    p = s.port
    tokens = {'missing': '', 'wrong': 'f' * 32, 'right': s.token}
    origins = {'foreign': 'http://evil.example', 'own': 'self', 'none': None}
    protocols = {'none': None, 'unknown': 'chat', 'http': 'http', 'emotop': 'emotop'}
    for pname, proto in protocols.items():
        for tname, tok in tokens.items():
            for oname, origin in origins.items():
                for path in ('/ws', '/', '/app.js'):
                    want = (pname == 'emotop' and tname == 'right' and oname != 'foreign'
                            and path == '/ws')
                    try:
                        w = WS(p, tok, origin=origin, path=path, protocol=proto, timeout=5)
                        got = True
                        w.close()
                    except Closed:
                        got = False
                    check(got == want, f'upgrade with protocol {pname}, token {tname}, '
                          f'Origin {oname}, {path}: {"101" if want else "refused"}', got)
    # the reproduction, byte for byte: no protocol, no token, foreign Origin
    st, _, _ = get(p, '/ws', headers={'Connection': 'Upgrade', 'Upgrade': 'websocket',
                                      'Sec-WebSocket-Version': '13',
                                      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
                                      'Origin': 'http://evil.example'})
    check(st != 101, 'the issue\'s curl upgrade (no protocol, no token, foreign Origin): '
          'no 101', st)
    st, _, _ = get(p, f'/?token={s.token}')
    check(st == 200, 'the page is still served after the refusals', st)
    s.stop()


def test_slowloris():
    """#37 item 8: 300 half-open HTTP connections (headers never finished, no
    token needed) do not keep the page from a legitimate client."""
    s = Server()
    socks = []
    for _ in range(300):
        c = socket.create_connection(('127.0.0.1', s.port), timeout=5)
        c.sendall(b'GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-Slow: ' % s.port)
        socks.append(c)
    time.sleep(0.5)
    ok, worst = 0, 0.0
    for _ in range(20):
        t = time.time()
        st, _, _ = get(s.port, f'/?token={s.token}')
        worst = max(worst, time.time() - t)
        ok += st == 200
    check(ok == 20 and worst < 2, f'300 half-open connections held: the page served 20 of 20 '
          f'times, slowest {worst:.2f} s', (ok, worst))
    for c in socks:
        c.close()
    s.stop()


def test_limits():
    s = Server('--max-clients', '4', '--max-upload', '1')
    p, t = s.port, s.token
    # a 10 MB header
    sk = socket.create_connection(('127.0.0.1', p), timeout=10)
    try:
        sk.sendall(f'GET /?token={t} HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nX-Big: '.encode())
        for _ in range(160):
            sk.sendall(b'a' * 65536)
        ok = True
    except OSError:
        ok = True  # closed while we were still sending: refused
    try:
        data = sk.recv(100)
    except OSError:
        data = b''
    sk.close()
    check(ok and b' 200 ' not in data, 'a 10 MB header: the connection is refused', data)
    st, _, _ = get(p, f'/?token={t}')
    check(st == 200, 'the server goes on serving after it', st)
    # an oversized message
    w = s.ws()
    w.recv()
    try:
        w.binary(b'\0' * 70000)
        w.recv()
        code = None
    except (Closed, OSError) as e:
        code = getattr(e, 'code', 1006)
    check(code in (1009, 1006), 'a 70 KB message: that client closed (1009)', code)
    # a malformed frame: unmasked from the client, then reserved bits
    for what, kw in (('an unmasked frame', {'mask': False}), ('reserved bits', {'rsv': 3})):
        w = s.ws()
        w.recv()
        try:
            w.frame(1, b'{"type":"pause"}', **kw)
            for _ in range(20):
                w.recv()
            closed = False
        except (Closed, OSError):
            closed = True
        check(closed, f'{what}: that client closed')
    # invalid UTF-8 and not JSON
    for what, payload in (('invalid UTF-8', b'\xff\xfe{'), ('not JSON', b'hello'),
                          ('JSON without a type', b'[1,2]')):
        w = s.ws()
        w.recv()
        try:
            w.frame(1, payload)
            for _ in range(20):
                w.recv()
            code = None
        except Closed as e:
            code = e.code
        except OSError:
            code = 1006
        check(code is not None, f'{what}: that client closed ({code})')
    # starts with absurd rates
    for rate in (0, -16000, 1e9, 44100.5, '48000', None):
        w = s.ws()
        w.recv()
        w.text({'type': 'start', 'rate': rate})
        m = {}
        try:
            m, _ = w.until(lambda m: m['type'] == 'error')
            w.recv()
            closed = False
        except Closed:
            closed = True
        check(closed and 'rate' in m.get('message', ''),
              f'start with rate {rate!r}: refused with a message, closed', m)
    # audio before start
    w = s.ws()
    w.recv()
    try:
        w.binary(b'\0' * 400)
        w.until(lambda m: False, 50)
        code = None
    except Closed as e:
        code = e.code
    check(code == 1008, 'audio before start: closed (1008)', code)
    st, _, _ = get(p, f'/?token={t}')
    check(st == 200, 'after all that the server still serves', st)
    # NaN samples
    w = s.ws()
    w.recv()
    w.text({'type': 'start', 'rate': SR})
    w.until(lambda m: m['type'] == 'session')
    bad = array.array('f', [0.0] * 100 + [float('nan')] + [0.0] * 219)
    w.binary(bad.tobytes())
    try:
        w.until(lambda m: False, 200)
        code, reason = None, ''
    except Closed as e:
        code, reason = e.code, e.reason
    check(code == 1007 and 'finite' in reason, 'NaN samples: refused with a message, '
          'closed (1007)', (code, reason))
    # faster than real time
    time.sleep(1)  # the refused session ends
    w = s.ws()
    w.recv()
    w.text({'type': 'start', 'rate': SR})
    w.until(lambda m: m['type'] == 'session')
    errs = []
    try:
        stream(w, [0.0] * (SR * 5), SR, realtime=False)  # 5 s in a moment
        w.until(lambda m: m['type'] == 'error' and errs.append(m['message']), 500)
        w.recv()
    except (Closed, OSError):
        pass
    check(errs and 'real time' in errs[0], '5 s of audio in a moment: refused as '
          'faster than real time, with a message', errs)
    # one producer at a time, viewers bounded
    time.sleep(0.5)
    a = s.ws()
    a.recv()
    a.text({'type': 'start', 'rate': SR})
    a.until(lambda m: m['type'] == 'session')
    b = s.ws()
    b.recv()
    b.text({'type': 'start', 'rate': SR})
    m, _ = b.until(lambda m: m['type'] == 'error')
    check('already streaming' in m['message'], 'a second producer: refused while the first '
          'streams', m)
    c, d = s.ws(), s.ws()
    try:
        s.ws().close()
        refused = False
    except Closed:
        refused = True
    check(refused, '--max-clients 4: a fifth page is refused')
    for x in (a, b, c, d):
        x.close()
    # uploads
    big = os.path.join(TMP, 'big.wav')
    write16(big, [0.0] * (SR * 40), SR)  # 1.28 MB
    st, _, body = get(p, f'/api/analyze?token={t}&name=big.wav', method='POST',
                      body=open(big, 'rb').read())
    check(st == 413 and b'max-upload' in body, '--max-upload 1: a 1.3 MB upload gets 413 '
          'and says which option', (st, body[:200]))
    st, _, body = get(p, f'/api/analyze?token={t}&name=x.wav', method='POST',
                      body=b'RIFF not really a wav')
    rec = json.loads(body.decode().splitlines()[0]) if body else {}
    check(st == 422 and rec.get('type') == 'error' and rec.get('error'),
          'an upload that is not audio: 422 with the error as JSON', (st, body))
    st, _, _ = get(p, f'/api/analyze?name=x.wav', method='POST', body=b'RIFF')
    check(st == 403, 'an upload without the token: 403', st)
    st, _, _ = get(p, f'/api/analyze?token={t}&name=x.wav', method='POST', body=b'RIFF',
                   headers={'Origin': 'http://evil.example'})
    check(st == 403, 'an upload from a foreign Origin: 403', st)
    st, _, _ = get(p, f'/api/elsewhere?token={t}', method='POST', body=b'x')
    check(st == 404, 'POST to an unknown route: 404', st)
    left = os.listdir(os.path.join(TMP, 'tmpdir'))
    check(left == [], 'uploads left nothing in TMPDIR', left)
    check(s.stop() == 130, 'serve ends on SIGINT after all of it')


def test_upload_and_report():
    s = Server()
    p, t = s.port, s.token
    wav = os.path.join(TMP, 'voice.wav')
    write16(wav, voice(6, 22050, seed=3), 22050)
    hostile = '<script>alert(1)</script>"&.wav'
    st, hs, body = get(p, f'/api/analyze?token={t}&name=' +
                       hostile.replace('<', '%3C').replace('>', '%3E').replace('"', '%22')
                       .replace('&', '%26'), method='POST', body=open(wav, 'rb').read())
    want = subprocess.run([EMOTOP, 'analyze', '--json', '-t', '1', 'voice.wav'], cwd=TMP,
                          capture_output=True, text=True).stdout
    got = [json.loads(line) for line in body.decode().splitlines()]
    ref = [json.loads(line) for line in want.splitlines()]
    for r in got + ref:
        r.pop('file', None)
    check(st == 200 and hs.get('content-type') == 'application/x-ndjson' and got == ref,
          'an upload gives exactly analyze --json\'s records', (st, body[:300]))
    check(json.loads(body.decode().splitlines()[0])['file'] == hostile,
          'the file name comes back as a JSON string, intact', body[:200])
    # a session log with hostile strings drawn by the report
    logp = os.path.join(TMP, 'hostile.jsonl')
    lab = '<script>alert(1)</script>&'
    labels = [lab, 'calm']
    with open(logp, 'w') as f:
        f.write(json.dumps({'type': 'session', 'version': 2, 'start': '<b>', 'generator': 'x',
                            'source': {'kind': '<i>', 'name': '</svg><script>x</script>',
                                       'rate': 16000, 'channels': 1},
                            'sample_rate': 16000, 'model': {'name': '<img src=x>',
                                                            'dir': '', 'sha256': '',
                                                            'head': ''},
                            'labels': labels}) + '\n')
        for i in range(4):
            f.write(json.dumps({'type': 'window', 'index': i, 't0': i * 0.5, 't1': i * 0.5 + 2,
                                'speech': 2, 'probs': {lab: 0.7, 'calm': 0.3},
                                'smoothed': {lab: 0.7, 'calm': 0.3}, 'label': lab,
                                'confidence': 0.7, 'uncertain': False}) + '\n')
    st, hs, body = get(p, f'/api/report?token={t}', method='POST', body=open(logp, 'rb').read())
    try:
        doc = xml.dom.minidom.parseString(body)
        scripts = doc.getElementsByTagName('script') + doc.getElementsByTagName('img')
        parsed = True
    except Exception as e:  # noqa: BLE001
        parsed, scripts = False, [e]
    check(st == 200 and hs.get('content-type') == 'image/svg+xml' and parsed and not scripts,
          'a hostile log\'s report: well-formed SVG, no element from the log', (st, scripts))
    st, _, body = get(p, f'/api/report?token={t}', method='POST', body=b'{"type":"nope"}\n')
    check(st == 422, 'a report of something that is not a log: 422', (st, body))
    s.stop()


def test_viewers_and_producer():
    """50 viewers, one producer, one viewer that reads nothing, 60 s."""
    secs = float(os.environ.get('EMOTOP_SERVE_SOAK', '60'))
    logp = os.path.join(TMP, 'soak.jsonl')
    rec = os.path.join(TMP, 'soak.wav')
    s = Server('--log', logp, '--record', rec, '--idle', '5', '--client-queue', '8')
    counts, errors = [0] * 50, []
    ends = [None] * 50
    socks = []

    def viewer(i):
        try:
            w = s.ws()
            socks.append(w)
            while True:
                m = w.recv()
                if m['type'] == 'window':
                    counts[i] += 1
                elif m['type'] == 'end':
                    ends[i] = m
                    break
            w.close()
        except Exception as e:  # noqa: BLE001
            errors.append(f'viewer {i}: {e!r}')
    ts = [threading.Thread(target=viewer, args=(i,)) for i in range(50)]
    for th in ts:
        th.start()
    time.sleep(1)
    # a page that reads nothing: a tiny receive buffer, never read
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    slow.connect(('127.0.0.1', s.port))
    slow.sendall((f'GET /ws?token={s.token} HTTP/1.1\r\nHost: 127.0.0.1:{s.port}\r\n'
                  'Upgrade: websocket\r\nConnection: Upgrade\r\n'
                  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'
                  'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: emotop\r\n\r\n')
                 .encode())
    prod = s.ws()
    prod.recv()
    prod.text({'type': 'start', 'rate': SR, 'device': 'soak'})
    answer_pings(prod)
    x = voice(secs, SR, seed=5)
    rss = []
    t0 = time.time()

    def sample_rss():
        while time.time() - t0 < secs:
            rss.append(s.rss_kib())
            time.sleep(2)
    rt = threading.Thread(target=sample_rss)
    rt.start()
    stream(prod, x, SR)
    prod.text({'type': 'stop'})
    for th in ts:
        th.join(60)
    rt.join()
    prod.close()
    log = log_records(logp)
    nwin = sum(1 for r in log if r['type'] == 'window')
    end = [r for r in log if r['type'] == 'end']
    check(not errors, '50 viewers connected and read to the end', errors[:3])
    check(nwin > secs and all(c == nwin for c in counts),
          f'every viewer got every one of the {nwin} windows', counts)
    check(end and end[0]['reason'] == 'the browser stopped' and end[0]['events_lost'] == 0,
          'the log ends with its end record, no event lost', end)
    steady = rss[len(rss) // 4:]
    if os.environ.get('EMOTOP_SANITIZED'):
        print('(memory not checked under a sanitizer: ASan keeps freed memory in '
              'quarantine, so RSS grows by design)')
    else:
        check(steady and max(steady) - min(steady) < 8192,
              f'memory flat over the session (RSS {min(steady) // 1024}-'
              f'{max(steady) // 1024} MB)', rss)
    try:
        slow.settimeout(2)
        got = b''
        while True:
            b = slow.recv(65536)
            if not b:
                break
            got += b
        gone = True
    except (ConnectionResetError, socket.timeout):
        gone = not isinstance(sys.exc_info()[1], socket.timeout)
    check(gone, 'the page that read nothing was dropped, the others were not held up')
    r = subprocess.run([EMOTOP, 'replay', '--reanalyze', '--no-tui', logp],
                       capture_output=True, text=True, cwd=TMP)
    check(r.returncode == 0, 'replay --reanalyze of the browser session reproduces it',
          r.stdout[-400:] + r.stderr[-400:])
    s.stop()


def test_slow_reader_counted():
    s = Server('--client-queue', '4')
    slow = s.ws()
    slow.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    slow.recv()
    fast = s.ws()
    fast.recv()
    prod = s.ws()
    prod.recv()
    prod.text({'type': 'start', 'rate': SR})
    stream(prod, voice(12, SR, seed=7), SR)
    prod.text({'type': 'stop'})
    _, seen = fast.until(lambda m: m['type'] == 'end')
    fast_windows = sum(1 for m in seen if m['type'] == 'window')
    _, seen = slow.until(lambda m: m['type'] == 'end')
    stats = [m for m in seen if m['type'] == 'stats']
    slow_windows = sum(1 for m in seen if m['type'] == 'window')
    check(fast_windows > 10, f'the reading page got its {fast_windows} windows')
    check(slow_windows <= fast_windows, 'the slow page got no more than that',
          (slow_windows, fast_windows))
    s.stop()


def test_options():
    r = subprocess.run([EMOTOP, 'serve', '--listen', 'nonsense'], capture_output=True,
                       text=True)
    check(r.returncode == 2 and '--listen' in r.stderr, '--listen nonsense: usage error',
          r.stderr)
    r = subprocess.run([EMOTOP, 'serve', '--max-upload', '0'], capture_output=True, text=True)
    check(r.returncode == 2, '--max-upload 0: usage error', r.stderr)
    s = Server()
    r = subprocess.run([EMOTOP, 'serve', '--listen', f'127.0.0.1:{s.port}', '-t', '1'],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 1 and 'listen' in r.stderr, 'a port in use: exit 1 with a message',
          r.stderr)
    s.stop()
    p = subprocess.Popen([EMOTOP, 'serve', '--listen', '0.0.0.0:0', '-t', '1'],
                         stderr=subprocess.PIPE, text=True)
    first = p.stderr.readline() + p.stderr.readline()
    p.send_signal(2)
    p.wait(30)
    check('warning' in first and 'loopback' in first,
          '--listen 0.0.0.0: a warning that other machines can connect', first)
    logp = os.path.join(TMP, 'exists.jsonl')
    open(logp, 'w').close()
    wav = os.path.join(TMP, 'in.wav')
    write16(wav, voice(3, SR), SR)
    r = subprocess.run([EMOTOP, 'serve', '--listen', '127.0.0.1:0', '-i', wav, '--log', logp],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 1 and 'exists' in r.stderr and os.path.getsize(logp) == 0,
          'an existing --log is refused and left alone', r.stderr)


def test_server_source():
    """--input: the server's own source; browsers may only watch."""
    wav = os.path.join(TMP, 'src.wav')
    write16(wav, voice(5, SR, seed=2), SR)
    logp = os.path.join(TMP, 'src.jsonl')
    s = Server('-i', wav, '--log', logp)
    w = s.ws()
    hello = w.recv()
    check(hello['browser_source'] is False and hello['source']['kind'] == 'file',
          'hello says the source is the server\'s file', hello)
    w.text({'type': 'start', 'rate': SR})
    m, seen = w.until(lambda m: m['type'] == 'error')
    check('own device or file' in m['message'], 'a browser cannot take over the source', m)
    m, seen = w.until(lambda m: m['type'] == 'end', 2000)
    log = log_records(logp)
    wins = [r for r in log if r['type'] == 'window']
    check(wins and log[-1]['type'] == 'end', 'the file is analysed live and logged', log[-1])
    st = s.stop(15)
    check(st == 143, 'SIGTERM: 143', st)


if __name__ == '__main__':
    test_access()
    test_upgrade_matrix()
    test_slowloris()
    test_limits()
    test_upload_and_report()
    test_options()
    test_server_source()
    test_slow_reader_counted()
    test_viewers_and_producer()
    sys.exit(finish())
