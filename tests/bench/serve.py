#!/usr/bin/env python3
"""What serving costs: the browser path's added latency and CPU, beside
`live --input` on the same audio. A benchmark, not a test: run it alone on
the machine (no training, no other benchmark).

  tests/bench/serve.py [--emotop build/emotop] [--seconds 60] [--runs 3]

Latency: Debian's Chromium (headless, fake microphone playing a generated
speech-like file) streams through the page's AudioWorklet to emotop serve;
for every window the page takes the time from the window's last sample
entering the worklet (the block that held it, less the samples after it)
to the window's record arriving back over the WebSocket. The window's own
length is not in it (the window cannot be decided before its last
sample). p50/p95 over all windows of all runs, and without each session's
first window (the model's first run); beside them the engine's own latency
of the same windows (from the window's last sample reaching emotop to its
result: the VAD's confirmation of a segment's end is in it) and, window by
window, what the browser path adds to it.

CPU: the same audio through `live --input FILE` (paced, real time) and
through serve with the browser's microphone, alternating, --runs each:
the engine's RTF (model time per second of audio, from the end record)
and the emotop process's CPU time per second of audio (user + system),
medians side by side. Chromium's own CPU (the page drawing) is reported
apart: on this 2-core machine it competes with the engine."""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'e2e'))
import cdp  # noqa: E402
from common import voice, write16  # noqa: E402


def cpu_s(pid):
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    tick = os.sysconf('SC_CLK_TCK')
    return (int(fields[11]) + int(fields[12])) / tick  # utime + stime


def tree_cpu_s(pid):
    """CPU of a process and its descendants still alive (Chromium's)."""
    total = 0.0
    try:
        kids = subprocess.run(['pgrep', '-P', str(pid)], capture_output=True,
                              text=True).stdout.split()
        total += cpu_s(pid)
        for k in kids:
            total += tree_cpu_s(int(k))
    except (OSError, ValueError):
        pass
    return total


def records(path):
    return [json.loads(line) for line in open(path) if line.strip()]


def run_live(emotop, wav, tmp):
    """CPU from the session's first record (the model loaded, as serve's
    is before a page starts) to the process's end."""
    log = os.path.join(tmp, f'live-{time.time_ns()}.jsonl')
    p = subprocess.Popen([emotop, 'live', '--no-tui', '-i', wav, '--log', log],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not (os.path.exists(log) and os.path.getsize(log) > 0):
        time.sleep(0.005)
    c0 = cpu_s(p.pid)
    _, _, ru = os.wait4(p.pid, 0)
    end = records(log)[-1]
    return {'rtf': end['rtf'],
            'cpu_per_s': (ru.ru_utime + ru.ru_stime - c0) / end['duration']}


def run_serve(emotop, wav, seconds, tmp):
    log = os.path.join(tmp, f'serve-{time.time_ns()}.jsonl')
    p = subprocess.Popen([emotop, 'serve', '--listen', '127.0.0.1:0', '--log', log],
                         stderr=subprocess.PIPE, text=True)
    url = re.search(r'(http://\S+)', p.stderr.readline()).group(1)
    threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()
    b = cdp.Browser(['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
                     f'--use-file-for-fake-audio-capture={wav}%noloop'])
    try:
        b.navigate(url + f'&stop_after={seconds:.2f}')
        b.wait('document.getElementById("conn").textContent === "connected"', 20)
        b.wait('window.emotop.labels.length > 0', 10)
        c0, b0 = cpu_s(p.pid), tree_cpu_s(b.proc.pid)
        b.eval('document.getElementById("mic").click()')
        end = time.time() + seconds + 60
        while time.time() < end:
            if os.path.exists(log) and any(r['type'] == 'end' for r in records(log)):
                break
            time.sleep(0.2)
        c1, b1 = cpu_s(p.pid), tree_cpu_s(b.proc.pid)
        lat = b.eval('window.emotop.latencies')
        lat_idx = b.eval('window.emotop.latencyWindows')
    finally:
        b.close()
        p.send_signal(2)
        p.wait(30)
    recs = records(log)
    e = recs[-1]
    engine = {r['index']: 1000 * r.get('latency', 0) for r in recs if r['type'] == 'window'}
    # what the browser path adds to the engine's own latency, window by window
    added = [ms - engine[i] for ms, i in zip(lat, lat_idx) if i in engine]
    return {'rtf': e['rtf'], 'cpu_per_s': (c1 - c0) / e['duration'], 'added_ms': added,
            'engine_ms': [engine[i] for i in lat_idx if i in engine],
            'browser_cpu_per_s': (b1 - b0) / e['duration'], 'latencies_ms': lat,
            'engine_latency_p50': e['latency_p50'], 'engine_latency_p95': e['latency_p95']}


def pct(xs, q):
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--emotop', default=os.path.join(HERE, '..', '..', 'build', 'emotop'))
    ap.add_argument('--seconds', type=float, default=60)
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--json')
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix='emotop-bench-serve-')
    sr = 48000
    wav = os.path.join(tmp, 'voice.wav')
    write16(wav, voice(a.seconds + 1, sr, seed=4), sr)
    live, serve = [], []
    for i in range(a.runs):  # alternating
        live.append(run_live(a.emotop, wav, tmp))
        serve.append(run_serve(a.emotop, wav, a.seconds, tmp))
        print(f'run {i + 1}: live RTF {live[-1]["rtf"]:.4f} CPU {live[-1]["cpu_per_s"]:.4f} s/s;'
              f' serve RTF {serve[-1]["rtf"]:.4f} CPU {serve[-1]["cpu_per_s"]:.4f} s/s, '
              f'browser {serve[-1]["browser_cpu_per_s"]:.3f} s/s', flush=True)
    lat = [x for r in serve for x in r['latencies_ms']]
    lat1 = [x for r in serve for x in r['latencies_ms'][1:]]
    added = [x for r in serve for x in r['added_ms']]
    eng = [x for r in serve for x in r['engine_ms']]
    med = lambda rs, k: statistics.median(r[k] for r in rs)  # noqa: E731
    out = {
        'seconds': a.seconds, 'runs': a.runs,
        'page_latency_ms': {'p50': pct(lat, .5), 'p95': pct(lat, .95), 'n': len(lat)},
        'page_latency_ms_after_first': {'p50': pct(lat1, .5), 'p95': pct(lat1, .95)},
        'engine_latency_ms': {'p50': pct(eng, .5), 'p95': pct(eng, .95)},
        'added_by_browser_path_ms': {'p50': pct(added, .5), 'p95': pct(added, .95)},
        'rtf': {'live': med(live, 'rtf'), 'serve': med(serve, 'rtf')},
        'cpu_s_per_audio_s': {'live': med(live, 'cpu_per_s'),
                              'serve': med(serve, 'cpu_per_s'),
                              'browser': med(serve, 'browser_cpu_per_s')},
    }
    out['rtf']['serve_over_live'] = out['rtf']['serve'] / out['rtf']['live']
    c = out['cpu_s_per_audio_s']
    c['serve_over_live'] = c['serve'] / c['live']
    print(json.dumps(out, indent=1))
    if a.json:
        with open(a.json, 'w') as f:
            json.dump(out, f, indent=1)


if __name__ == '__main__':
    main()
