#!/usr/bin/env python3
"""The TUI, driven in tmux as a person would: emotop live --input <speech>
in a 100x30 terminal; the screen (capture-pane) must show every label with
bars, the level meter, the timeline and the status line, and change as the
file plays; 'q' must exit with status 0 and give the terminal back. Also a
small terminal (40x12) and a resize. Skipped (77) without tmux or data."""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (DATA, EMOTOP, FIX, SRC, check, finish, ravdess_samples,  # noqa: E402
                        voice, write16)
import tempfile
import time

EMOTOP = os.path.abspath(os.environ.get('EMOTOP', 'build/emotop'))
MODEL = os.path.abspath(os.path.join(SRC, 'tests', 'fixtures', 'model-tiny-bilstm'))
LABELS = ['neutral', 'calm', 'happy', 'sad', 'angry', 'fearful', 'disgust', 'surprised']



def tmux(sock, *args):
    return subprocess.run(['tmux', '-S', sock, *args], capture_output=True, text=True)


def screen(sock):
    return tmux(sock, 'capture-pane', '-p', '-t', 'emo').stdout


def wait_for(sock, text, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        s = screen(sock)
        if text in s:
            return s
        time.sleep(0.2)
    return screen(sock)


def run_case(tmp, wav, w, h, name, extra=''):
    sock = os.path.join(tmp, f'tmux-{name}')
    done = os.path.join(tmp, f'exit-{name}')
    cmd = (f'{EMOTOP} live -m {MODEL} -i {wav} {extra}; echo $? > {done}; '
           f'echo EMOTOP-EXITED; sleep 60')
    env = dict(os.environ, TERM='xterm-256color')
    env.pop('NO_COLOR', None)
    subprocess.run(['tmux', '-S', sock, 'new-session', '-d', '-x', str(w), '-y', str(h),
                    '-s', 'emo', cmd], check=True, env=env)
    return sock, done


def main():
    if not shutil.which('tmux'):
        print('skipped: tmux not installed')
        return 77
    wavs = ravdess_samples()
    tmp = tempfile.mkdtemp()
    wav = os.path.join(tmp, 'two.wav')  # two utterances: the bars move twice
    if wavs:
        subprocess.run(['sox', wavs[4], wavs[2], wav], check=True)
    else:
        print('(no corpus: generated speech instead)')
        write16(wav, voice(7, 16000), 16000)
    try:
        sock, done = run_case(tmp, wav, 100, 30, 'big')
        s1 = wait_for(sock, '[LIVE]')
        check('[LIVE]' in s1 and 'emotop' in s1, 'title and live state shown')
        check(all(l in s1 for l in LABELS), 'a row per label')
        check('level' in s1 and 'dBFS' in s1, 'level meter')
        check('timeline' in s1, 'timeline strip')
        check('win 2.0/0.5 s' in s1 and 'RTF' in s1 and 'dropped' in s1,
              'status line with window, RTF, dropped')
        check('q quit' in s1 and 'h help' in s1, 'key footer')
        check('valence' in s1 and 'arousal' in s1, 'valence and arousal bars')
        s2 = wait_for(sock, '%', 8)
        time.sleep(4)
        s3 = wait_for(sock, '[ENDED]', 10)
        check('\u2588' in s3 and '%' in s3, 'bars and percentages drawn')
        check(s2 != s3, 'the screen changes as the audio plays')
        tmux(sock, 'send-keys', '-t', 'emo', 'v')
        sv = wait_for(sock, 'timeline: valence', 3)
        rows = [l.strip().split(' ')[0] for l in sv.splitlines()]
        check('timeline: valence' in sv and rows.count('valence') == 2
              and 'timeline' not in rows,
              'v switches the timeline to valence colouring', sv)
        tmux(sock, 'send-keys', '-t', 'emo', 'v')
        time.sleep(0.3)
        tmux(sock, 'send-keys', '-t', 'emo', 'h')
        sh = wait_for(sock, 'emotop keys', 3)
        check('emotop keys' in sh, 'h opens the help overlay')
        tmux(sock, 'send-keys', '-t', 'emo', 'x')
        time.sleep(0.5)
        tmux(sock, 'resize-window', '-t', 'emo', '-x', '80', '-y', '24')
        time.sleep(0.8)
        s4 = screen(sock)
        check('emotop keys' not in s4 and all(l in s4 for l in LABELS),
              'any key closes help; still complete at 80x24 after a resize')
        tmux(sock, 'send-keys', '-t', 'emo', 'q')
        s5 = wait_for(sock, 'EMOTOP-EXITED', 10)
        code = open(done).read().strip() if os.path.exists(done) else '?'
        check(code == '0', f'q exits with status 0 (got {code})')
        check('[ENDED]' not in s5 and 'timeline' not in s5 and 'end of input' in s5,
              'terminal restored: the TUI is gone, the summary line is printed')
        tmux(sock, 'kill-server')

        # the demo's truth marker: the acted emotion beside the prediction
        cues = os.path.join(tmp, 'cues.tsv')
        open(cues, 'w').write('0\t3.5\tangry\n3.5\t60\tsad\n')
        sock, done = run_case(tmp, wav, 100, 30, 'truth', f'--truth {cues}')
        s = wait_for(sock, 'acted:', 10)
        check('acted: angry' in s or 'acted: sad' in s, 'the truth marker shows the cue', s)
        check(('\u2713 right' in s) != ('\u2717 wrong' in s), 'marked right or wrong')
        tmux(sock, 'send-keys', '-t', 'emo', 'q')
        wait_for(sock, 'EMOTOP-EXITED', 10)
        tmux(sock, 'kill-server')

        sock, done = run_case(tmp, wav, 40, 12, 'small')
        s = wait_for(sock, 'emotop', 6)
        time.sleep(3)
        s = screen(sock)
        check('emotop' in s and 'enlarge' in s, 'small terminal: compact view, no crash')
        tmux(sock, 'resize-window', '-t', 'emo', '-x', '100', '-y', '30')
        s = wait_for(sock, 'timeline', 5)
        check('timeline' in s and 'surprised' in s, 'resized up: full view comes back')
        tmux(sock, 'send-keys', '-t', 'emo', 'q')
        wait_for(sock, 'EMOTOP-EXITED', 10)
        code = open(done).read().strip() if os.path.exists(done) else '?'
        check(code == '0', f'small case exits with status 0 (got {code})')
        tmux(sock, 'kill-server')
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return finish()


if __name__ == '__main__':
    sys.exit(main())
