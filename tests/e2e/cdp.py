"""Debian's Chromium, headless, driven over the DevTools protocol on a pipe
(--remote-debugging-pipe: JSON messages separated by NUL on the child's
fds 3 and 4). Stdlib only: no npm package, no WebSocket client."""
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time

CHROMIUM = os.environ.get('EMOTOP_CHROMIUM') or shutil.which('chromium') \
    or shutil.which('chromium-browser')


class Browser:
    def __init__(self, extra_flags=()):
        self.profile = tempfile.mkdtemp(prefix='emotop-chromium-')
        to_child_r, self._w = os.pipe()
        self._r, from_child_w = os.pipe()

        def fds():
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)
        flags = ['--headless=new', '--no-sandbox', '--disable-gpu',
                 '--remote-debugging-pipe', f'--user-data-dir={self.profile}',
                 '--no-first-run', '--no-default-browser-check',
                 '--disable-background-networking', '--disable-extensions',
                 '--disable-component-update', '--disable-sync',
                 '--autoplay-policy=no-user-gesture-required',
                 '--window-size=1280,1000', *extra_flags]
        # close_fds would close 3 and 4 after preexec_fn has set them up
        self.proc = subprocess.Popen([CHROMIUM, *flags], preexec_fn=fds, close_fds=False,
                                     stdout=subprocess.DEVNULL,
                                     stderr=None if os.environ.get('EMOTOP_DEBUG')
                                     else subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf = b''
        self._id = 0
        self.events = []
        tid = self.call('Target.createTarget', url='about:blank')['targetId']
        self.session = self.call('Target.attachToTarget', targetId=tid,
                                 flatten=True)['sessionId']
        for d in ('Page', 'Runtime', 'DOM'):
            self.call(f'{d}.enable', session=True)

    def _send(self, msg):
        os.write(self._w, json.dumps(msg).encode() + b'\0')

    def _next(self, timeout):
        import select
        end = time.time() + timeout
        while b'\0' not in self._buf:
            left = end - time.time()
            if left <= 0 or not select.select([self._r], [], [], left)[0]:
                raise TimeoutError('chromium did not answer')
            b = os.read(self._r, 1 << 20)
            if not b:
                raise EOFError('chromium exited')
            self._buf += b
        msg, _, self._buf = self._buf.partition(b'\0')
        return json.loads(msg)

    def call(self, method, session=False, timeout=30, **params):
        self._id += 1
        msg = {'id': self._id, 'method': method, 'params': params}
        if session:
            msg['sessionId'] = self.session
        self._send(msg)
        while True:
            m = self._next(timeout)
            if m.get('id') == self._id:
                if 'error' in m:
                    raise RuntimeError(f'{method}: {m["error"]}')
                return m.get('result', {})
            self.events.append(m)

    def eval(self, expr, timeout=30):
        """The value of a JavaScript expression (promises awaited)."""
        r = self.call('Runtime.evaluate', session=True, timeout=timeout, expression=expr,
                      awaitPromise=True, returnByValue=True)
        if 'exceptionDetails' in r:
            raise RuntimeError(f'{expr}: {r["exceptionDetails"]}')
        return r['result'].get('value')

    def wait(self, expr, timeout=60, every=0.1):
        end = time.time() + timeout
        while time.time() < end:
            v = self.eval(expr)
            if v:
                return v
            time.sleep(every)
        raise TimeoutError(f'waited {timeout} s for {expr}')

    def navigate(self, url):
        self.call('Page.navigate', session=True, url=url)
        self.wait('document.readyState === "complete"', 30)

    def key(self, key, code=None, text=None):
        for t in ('keyDown', 'keyUp'):
            p = {'type': t, 'key': key, 'code': code or key}
            if text and t == 'keyDown':
                p['text'] = text
            self.call('Input.dispatchKeyEvent', session=True, **p)

    def set_file(self, selector, path):
        root = self.call('DOM.getDocument', session=True)['root']['nodeId']
        node = self.call('DOM.querySelector', session=True, nodeId=root,
                         selector=selector)['nodeId']
        self.call('DOM.setFileInputFiles', session=True, nodeId=node, files=[path])

    def screenshot(self, path):
        data = self.call('Page.captureScreenshot', session=True, format='png',
                         captureBeyondViewport=True)['data']
        with open(path, 'wb') as f:
            f.write(base64.b64decode(data))

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def close(self):
        try:
            self.call('Browser.close', timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.kill()
        shutil.rmtree(self.profile, ignore_errors=True)
