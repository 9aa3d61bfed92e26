"""A WebSocket client small enough to send what no library would (stdlib
only): the handshake with any headers, text and binary messages, frames
with any flags, fragments and lengths, and raw bytes. For the serve tests."""
import base64
import json
import os
import socket
import struct


class Closed(Exception):
    """The server closed: code and reason."""

    def __init__(self, code, reason):
        super().__init__(f'{code} {reason}')
        self.code, self.reason = code, reason


def http(port, raw, timeout=5.0):
    """Sends raw request bytes, returns (status, headers dict, body bytes)."""
    s = socket.create_connection(('127.0.0.1', port), timeout=timeout)
    s.sendall(raw)
    data = b''
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
            head, sep, body = data.partition(b'\r\n\r\n')
            if sep:
                hs = parse_headers(head)
                n = int(hs.get('content-length', -1))
                if n >= 0 and len(body) >= n:
                    break
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    head, _, body = data.partition(b'\r\n\r\n')
    if not head:
        return 0, {}, b''
    status = int(head.split(b' ', 2)[1])
    return status, parse_headers(head), body


def parse_headers(head):
    hs = {}
    for line in head.split(b'\r\n')[1:]:
        k, _, v = line.decode('latin-1').partition(':')
        hs[k.strip().lower()] = v.strip()
    return hs


def get(port, path, host=None, headers=None, method='GET', body=b''):
    host = host or f'127.0.0.1:{port}'
    req = f'{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n'
    for k, v in (headers or {}).items():
        req += f'{k}: {v}\r\n'
    if method == 'POST':
        req += f'Content-Length: {len(body)}\r\n'
    return http(port, (req + '\r\n').encode() + body)


class WS:
    def __init__(self, port, token=None, origin='self', host=None, path='/ws',
                 protocol='emotop', extra=b'', timeout=10.0):
        """Connects and upgrades; raises Closed(0, status line) when the
        upgrade is refused."""
        self.s = socket.create_connection(('127.0.0.1', port), timeout=timeout)
        host = host or f'127.0.0.1:{port}'
        key = base64.b64encode(os.urandom(16)).decode()
        q = f'?token={token}' if token else ''
        req = (f'GET {path}{q} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n'
               f'Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n'
               f'Sec-WebSocket-Version: 13\r\n')
        if protocol:
            req += f'Sec-WebSocket-Protocol: {protocol}\r\n'
        if origin == 'self':
            origin = f'http://{host}'
        if origin:
            req += f'Origin: {origin}\r\n'
        self.s.sendall(req.encode() + extra + b'\r\n')
        self.buf = b''
        try:
            while b'\r\n\r\n' not in self.buf:
                b = self.s.recv(4096)
                if not b:
                    break
                self.buf += b
        except (ConnectionResetError, socket.timeout):
            pass
        head, _, self.buf = self.buf.partition(b'\r\n\r\n')
        line = head.split(b'\r\n')[0].decode('latin-1')
        if ' 101 ' not in line + ' ':
            self.s.close()
            raise Closed(0, line or 'connection closed')

    def frame(self, opcode, payload, fin=True, mask=True, rsv=0, length=None):
        n = len(payload) if length is None else length
        b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
        if n < 126:
            hdr = struct.pack('!BB', b0, (0x80 if mask else 0) | n)
        elif n < 65536:
            hdr = struct.pack('!BBH', b0, (0x80 if mask else 0) | 126, n)
        else:
            hdr = struct.pack('!BBQ', b0, (0x80 if mask else 0) | 127, n)
        if mask:
            k = os.urandom(4)
            payload = bytes(c ^ k[i % 4] for i, c in enumerate(payload)) \
                if len(payload) < 4096 else _mask(payload, k)
            hdr += k
        self.s.sendall(hdr + payload)

    def text(self, obj):
        self.frame(1, (obj if isinstance(obj, str) else json.dumps(obj)).encode())

    def binary(self, data):
        self.frame(2, data)

    def _read(self, n):
        while len(self.buf) < n:
            b = self.s.recv(65536)
            if not b:
                raise Closed(1006, 'connection lost')
            self.buf += b
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        """The next text message as JSON (pings answered); Closed on close."""
        parts = b''
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7f
            if n == 126:
                n, = struct.unpack('!H', self._read(2))
            elif n == 127:
                n, = struct.unpack('!Q', self._read(8))
            payload = self._read(n)
            op = b0 & 0x0f
            if op == 8:
                code = struct.unpack('!H', payload[:2])[0] if len(payload) >= 2 else 1005
                raise Closed(code, payload[2:].decode('utf-8', 'replace'))
            if op == 9:
                self.frame(10, payload)
                continue
            if op == 10:
                continue
            parts += payload
            if b0 & 0x80:
                return json.loads(parts.decode())

    def until(self, pred, limit=10000):
        """Messages until pred(msg) is true; returns (that message, all)."""
        seen = []
        for _ in range(limit):
            m = self.recv()
            seen.append(m)
            if pred(m):
                return m, seen
        raise AssertionError('no such message')

    def close(self):
        try:
            self.frame(8, struct.pack('!H', 1000))
        except OSError:
            pass
        self.s.close()


def _mask(payload, k):
    import array
    n = len(payload)
    pad = payload + b'\0' * (-n % 4)
    a = array.array('I', pad)
    m, = array.array('I', k)
    for i in range(len(a)):
        a[i] ^= m
    return a.tobytes()[:n]
