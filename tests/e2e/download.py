#!/usr/bin/env python3
"""models/download.sh against a local HTTP server (127.0.0.1 only): a
complete download that emotop can use, an interrupted transfer that is
resumed (Range request), files already complete skipped, HF_TOKEN sent, a
SHA-256 mismatch reported, the offline message. The server speaks just
enough of Hugging Face's protocol: /REPO/resolve/main/FILE, HEAD and GET,
Range, and the file's SHA-256 as ETag."""
import hashlib
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import DATA, EMOTOP, FIX, SRC, check, finish  # noqa: E402

SCRIPT = os.path.join(SRC, 'models', 'download.sh')
REPO = 'superb/hubert-base-superb-er'


class State:
    root = None
    cut_first = {}      # file -> bytes to send before dropping the connection
    lie_etag = set()    # files whose ETag is wrong
    seen = []           # (method, path, range, auth)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *a):
        pass

    def _file(self):
        prefix = f'/{REPO}/resolve/main/'
        if not self.path.startswith(prefix):
            return None
        p = os.path.join(State.root, self.path[len(prefix):])
        return p if os.path.isfile(p) else None

    def _not_found(self):
        self.send_response(404)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def _headers(self, p, code, start, length):
        data = open(p, 'rb').read()
        etag = hashlib.sha256(data).hexdigest()
        name = os.path.basename(p)
        if name in State.lie_etag:
            etag = '0' * 64
        self.send_response(code)
        self.send_header('Content-Length', str(length))
        self.send_header('ETag', f'"{etag}"')
        self.send_header('Accept-Ranges', 'bytes')
        if code == 206:
            self.send_header('Content-Range', f'bytes {start}-{len(data) - 1}/{len(data)}')
        self.end_headers()
        return data

    def do_HEAD(self):
        State.seen.append(('HEAD', self.path, None, self.headers.get('Authorization')))
        p = self._file()
        if not p:
            return self._not_found()
        self._headers(p, 200, 0, os.path.getsize(p))

    def do_GET(self):
        rng = self.headers.get('Range')
        State.seen.append(('GET', self.path, rng, self.headers.get('Authorization')))
        p = self._file()
        if not p:
            return self._not_found()
        size = os.path.getsize(p)
        start = int(rng.split('=')[1].split('-')[0]) if rng else 0
        data = self._headers(p, 206 if rng else 200, start, size - start)
        body = data[start:]
        name = os.path.basename(p)
        if name in State.cut_first:
            n = State.cut_first.pop(name)
            self.wfile.write(body[:n])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)  # an interrupted transfer
            return
        self.wfile.write(body)


def main():
    if not shutil.which('curl'):
        print('skipped: curl not installed')
        return 77
    tmp = tempfile.mkdtemp()
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    base = f'http://127.0.0.1:{srv.server_address[1]}'
    try:
        State.root = os.path.join(tmp, 'served')
        shutil.copytree(os.path.join(FIX, 'model-tiny-superb'), State.root)
        os.remove(os.path.join(State.root, 'ref.safetensors'))
        dest = os.path.join(tmp, 'models')
        size = os.path.getsize(os.path.join(State.root, 'model.safetensors'))
        State.cut_first['model.safetensors'] = size // 3
        env = dict(os.environ, HF_TOKEN='test-token')
        run = lambda *a, **k: subprocess.run(['bash', SCRIPT, *a], capture_output=True,
                                             text=True, timeout=120, **k)
        p = run('hubert-base-superb-er', '--base-url', base, '--dir', dest, env=env)
        if p.returncode != 0:  # curl's own retry may or may not resume; a rerun must
            p = run('hubert-base-superb-er', '--base-url', base, '--dir', dest, env=env)
        out = os.path.join(dest, 'hubert-base-superb-er')
        got = open(os.path.join(out, 'model.safetensors'), 'rb').read()
        want = open(os.path.join(State.root, 'model.safetensors'), 'rb').read()
        check(p.returncode == 0 and got == want, 'interrupted download completes, file identical')
        check(any(m == 'GET' and r and 'model.safetensors' in path
                  for m, path, r, _ in State.seen), 'the transfer was resumed with a Range request')
        check('SHA-256 verified' in p.stdout, 'SHA-256 checked against the ETag')
        check(all(a == 'Bearer test-token' for _, _, _, a in State.seen), 'HF_TOKEN sent')
        wav = os.path.join(DATA, 'ravdess-48k-sample', '03-01-05-02-01-01-02.wav')
        if os.path.exists(wav):
            a = subprocess.run([EMOTOP, 'analyze', '--json', '-m', out, wav],
                               capture_output=True, text=True)
            check(a.returncode == 0 and '"hap"' in a.stdout, 'emotop uses the downloaded model')
        State.seen.clear()
        p = run('hubert-base-superb-er', '--base-url', base, '--dir', dest)
        check(p.returncode == 0 and p.stdout.count('complete') == 3 and
              not any(m == 'GET' for m, *_ in State.seen), 'second run skips complete files')
        # a corrupted file: the server's SHA-256 does not match the content
        State.lie_etag.add('config.json')
        dest2 = os.path.join(tmp, 'models2')
        p = run('hubert-base-superb-er', '--base-url', base, '--dir', dest2)
        check(p.returncode == 1 and 'SHA-256 mismatch' in p.stderr and
              os.path.exists(os.path.join(dest2, 'hubert-base-superb-er', 'config.json.corrupt')),
              'checksum mismatch reported, the bad file kept aside')
        State.lie_etag.clear()
        p = run('hubert-base-superb-er', '--base-url', 'http://127.0.0.1:9', '--dir', dest2)
        check(p.returncode == 1 and 'offline' in p.stderr, 'unreachable server: offline message')
        p = run('--list')
        check(p.returncode == 0 and all(n in p.stdout for n in (
            'hubert-base-ls960', 'hubert-base-superb-er', 'hubert-large-superb-er',
            'wav2vec2-xlsr-ravdess')), '--list names the four models')
        p = run('nonexistent-model')
        check(p.returncode == 2 and 'unknown model' in p.stderr, 'unknown name: usage error')
    finally:
        srv.shutdown()
        shutil.rmtree(tmp)
    return finish()


if __name__ == '__main__':
    sys.exit(main())
