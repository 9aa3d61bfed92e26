"""emotop serve in a real browser: Debian's Chromium, headless, driven over
the DevTools protocol (cdp.py). Its fake microphone plays a generated
speech-like file through the page's AudioWorklet into emotop; the windows
emotop logs are compared with `emotop analyze` of the same file, the bars
the page draws with the logged values; the page's upload gives exactly
analyze --json; space and r act as in the TUI; a session log opened on the page is
played back and drawn; a browser killed mid-session leaves a log with its
end record and a playable recording. A screenshot
of the page is saved (EMOTOP_SCREENSHOT, default build dir) for the README.

Tolerance, live against whole-file analysis: Chromium resamples the file to
its device rate (44.1 kHz here) and emotop resamples that to 16 kHz, and
the capture starts a few milliseconds into the file, so the detector's
10 ms frames fall at other instants and a speech boundary, with the
windows after it, can move by a frame or two (20 ms: measured). Same
windows within one, each starting within 0.1 s of its counterpart, the
same top label on at least 80 % of them, and probabilities within 0.25
(max abs) of the counterpart's, 0.08 on average (measured over runs:
max 0.0001-0.15, mean 0.0001-0.06)."""
import atexit
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from common import EMOTOP, check, finish, voice, write16  # noqa: E402

try:
    import cdp  # noqa: E402
except ImportError:
    cdp = None

TMP = tempfile.mkdtemp(prefix='emotop-browser-')
SHOT = os.environ.get('EMOTOP_SCREENSHOT') or os.path.join(
    os.path.dirname(EMOTOP), 'serve-page.png')


def records(path):
    return [json.loads(line) for line in open(path) if line.strip()]


def start_server(*args):
    p = subprocess.Popen([EMOTOP, 'serve', '--listen', '127.0.0.1:0', '-t', '1', *args],
                         cwd=TMP, stderr=subprocess.PIPE, text=True)
    line = p.stderr.readline()
    m = re.search(r'(http://127\.0\.0\.1:\d+/\?token=[0-9a-f]+)', line)
    if not m:
        raise RuntimeError(line + p.stderr.read())
    threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()
    atexit.register(p.kill)  # an exception leaves no server behind
    return p, m.group(1)


def wait_for(pred, timeout, every=0.1):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(every)
    return None


def ended(path):
    try:
        return any(r['type'] == 'end' for r in records(path))
    except (OSError, ValueError):
        return False


def main():
    if not cdp.CHROMIUM:
        print('skipped: Debian\'s chromium is not installed (tools/deps.sh installs it)')
        return 77
    sr = 48000
    wav = os.path.join(TMP, 'voice.wav')
    x = [0.0] * sr + voice(8, sr, seed=11) + [0.0] * sr
    write16(wav, x, sr)
    seconds = len(x) / sr - 0.3
    logp = os.path.join(TMP, 'session.jsonl')
    rec = os.path.join(TMP, 'session.wav')
    server, url = start_server('--log', logp, '--record', rec)
    b = cdp.Browser(['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
                     f'--use-file-for-fake-audio-capture={wav}%noloop'])
    try:
        b.navigate(url + f'&stop_after={seconds:.2f}')
        check(b.wait('document.getElementById("conn").textContent === "connected"', 20),
              'the page loads (scripts under its CSP) and connects')
        b.wait('window.emotop.labels.length > 0', 10)
        b.eval('document.getElementById("mic").click()')
        # the screenshot for the README, mid-session
        b.wait('window.emotop.windows.length >= 7', 60)
        b.screenshot(SHOT)
        check(os.path.getsize(SHOT) > 10000, f'screenshot saved: {SHOT}')
        check(wait_for(lambda: ended(logp), 90), 'the browser\'s microphone session ends '
              'with its end record')
        log = records(logp)
        head, end = log[0], log[-1]
        check(head['source']['kind'] == 'browser' and head['source']['rate'] >= 8000,
              f'the log says the browser captured at {head["source"]["rate"]} Hz', head['source'])
        wins = [r for r in log if r['type'] == 'window']
        ref = [json.loads(line) for line in subprocess.run(
            [EMOTOP, 'analyze', '--json', '-t', '1', wav], capture_output=True, text=True,
            check=True).stdout.splitlines()]
        rw = [r for r in ref if r['type'] == 'window']
        check(abs(len(wins) - len(rw)) <= 1, f'{len(wins)} windows live, {len(rw)} in '
              'the whole-file analysis: within one', (len(wins), len(rw)))
        # each whole-file window against the live one that starts nearest
        pairs = [(min(wins, key=lambda a: abs(a['t0'] - c['t0'])), c) for c in rw]
        pairs = [(a, c) for a, c in pairs if abs(a['t0'] - c['t0']) <= 0.1]
        diffs = [max(abs(a['probs'][k] - c['probs'][k]) for k in a['probs'])
                 for a, c in pairs]
        same = sum(a['label'] == c['label'] for a, c in pairs)
        check(len(pairs) >= len(rw) - 1, f'{len(pairs)} of {len(rw)} windows start within '
              '0.1 s of their counterpart', [(a['t0'], c['t0']) for a, c in pairs])
        check(diffs and max(diffs) <= 0.25 and sum(diffs) / len(diffs) <= 0.08,
              f'probabilities close to analyze\'s (max {max(diffs):.3f}, mean '
              f'{sum(diffs) / len(diffs):.3f})', diffs)
        check(same >= 0.8 * len(pairs), f'same top label in {same} of {len(pairs)} windows')
        bars = b.eval('Object.fromEntries([...document.querySelectorAll(".bar")]'
                      '.map(r => [r.dataset.label, Number(r.dataset.p)]))')
        last = wins[-1]['smoothed']
        check(bars and all(abs(bars[k] - last[k]) < 1e-5 for k in last),
              'the page\'s bars show the last logged (smoothed) probabilities', (bars, last))
        top = b.eval('document.getElementById("top-label").textContent')
        check(top == max(last, key=last.get), f'the page names the top emotion ({top})')
        lat = b.eval('window.emotop.latencies')
        check(lat and len(lat) >= len(wins) - 2, f'the page measured {len(lat or [])} '
              'window latencies')
        r = subprocess.run([EMOTOP, 'replay', '--reanalyze', '--no-tui', logp],
                           capture_output=True, text=True, cwd=TMP)
        check(r.returncode == 0 and os.path.getsize(rec) > 44,
              'the recording holds what the model heard: replay --reanalyze reproduces '
              'the session', r.stdout[-300:] + r.stderr[-300:])

        # upload: the page's chart and download are analyze --json's
        b.set_file('#upload', wav)
        check(b.wait('window.emotop.upload && window.emotop.upload.windows.length > 0', 60),
              'the page analyses an uploaded file')
        # the download link is a blob of exactly this text (the page's CSP
        # keeps even its own script from fetching blob: URLs)
        text = b.eval('window.emotop.upload.text')
        check(b.eval('document.getElementById("upload-download").href.startsWith("blob:")'),
              'the page offers the result as a download')
        want = subprocess.run([EMOTOP, 'analyze', '--json', '-t', '1', 'voice.wav'], cwd=TMP,
                              capture_output=True, text=True).stdout
        check(text == want, 'the page\'s download is exactly analyze --json',
              (text[:200], want[:200]))
        n_chart = b.eval('window.emotop.upload.windows.length')
        check(n_chart == sum(1 for r in ref if r['type'] == 'window'),
              'the chart draws every window of it')

        # a session log opened on the page: played back, with the report's drawing
        b.set_file('#openlog', logp)
        check(b.wait('document.getElementById("report").naturalWidth > 0', 30),
              'an opened session log is drawn by the report (an SVG the page shows)')
        check(b.wait('window.emotop.playback && window.emotop.windows.length >= 3', 30),
              'and its windows are played back through the live view')
        b.key('Escape')

        # space pauses, r records: a second session, logged as session-2
        b.navigate(url)
        b.wait('document.getElementById("conn").textContent === "connected"', 20)
        b.eval('document.getElementById("mic").click()')
        log2 = os.path.join(TMP, 'session-2.jsonl')
        wait_for(lambda: os.path.exists(log2) and len(records(log2)) > 0, 20)
        time.sleep(1)
        b.key(' ', 'Space', ' ')
        time.sleep(0.6)
        b.key(' ', 'Space', ' ')
        time.sleep(0.3)
        b.key('r', 'KeyR', 'r')
        time.sleep(1.5)
        b.key('r', 'KeyR', 'r')
        time.sleep(0.3)
        b.eval('document.getElementById("stop").click()')
        check(wait_for(lambda: ended(log2), 30), 'a second session is logged as '
              'session-2.jsonl (never over the first)')
        ev = [r['event'] for r in records(log2) if r['type'] == 'event']
        check('pause' in ev and 'resume' in ev, 'space pauses and resumes the analysis', ev)
        recs = [f for f in os.listdir(TMP) if f.startswith('emotop-') and f.endswith('.wav')]
        check(len(recs) == 1, 'r starts and stops a recording (emotop-DATE.wav)', recs)

        # the browser killed mid-session
        b.navigate(url)
        b.wait('document.getElementById("conn").textContent === "connected"', 20)
        b.eval('document.getElementById("mic").click()')
        log3 = os.path.join(TMP, 'session-3.jsonl')
        wait_for(lambda: os.path.exists(log3) and
                 any(r['type'] == 'window' for r in records(log3)), 30)
        b.kill()
        check(wait_for(lambda: ended(log3), 30), 'the browser killed mid-session: the log '
              'ends with its end record')
        reason = records(log3)[-1].get('reason')
        check(reason == 'the browser disconnected', f'... saying why ({reason})')
        rec3 = os.path.join(TMP, 'session-3.wav')
        r = subprocess.run([EMOTOP, 'analyze', '--json', '-t', '1', rec3], capture_output=True,
                           text=True)
        check(r.returncode == 0, 'and its recording is playable', r.stderr)
    finally:
        b.close()
        server.send_signal(2)
        st = server.wait(30)
    check(st == 130, 'serve ends on SIGINT', st)
    return finish()


if __name__ == '__main__':
    sys.exit(main())
