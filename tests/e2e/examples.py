"""examples/ against libemotop, built and installed.

1. The examples meson built (linked to the shared library in the build
   tree) run on a generated voice: analyze-file prints windows and the mean
   probabilities, live-json prints one JSON object per result through the
   live pipeline, and both agree on the number of windows with `emotop
   analyze`.
2. The install is tested, not assumed: `meson install --destdir` into a
   temporary directory, the examples compiled there with only
   `pkg-config --cflags --libs emotop` (the installed emotop.pc, headers and
   libemotop.so.N), and run against the installed library (checked with
   ldd). Under sanitizers the installed library cannot be linked by a plain
   cc, so that half is skipped there.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import EMOTOP, SRC, check, finish, voice, write16  # noqa: E402

BUILD = os.path.abspath(os.environ.get('EMOTOP_BUILD_ROOT', 'build'))
MODEL = os.path.join(SRC, 'models', 'emotop-small')
EXAMPLES = ['analyze-file', 'live-json']


def run(cmd, env=None):
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)


def check_examples(bindir, wav, windows, env=None, where='build tree'):
    r = run([os.path.join(bindir, 'analyze-file'), MODEL, wav], env)
    lines = [l for l in r.stdout.splitlines() if ' s  ' in l]
    check(r.returncode == 0 and len(lines) == windows,
          f'{where}: analyze-file prints one line per window ({windows})',
          r.stdout[-500:] + r.stderr[-500:])
    check('mean probabilities' in r.stdout, f'{where}: analyze-file prints the means')
    r = run([os.path.join(bindir, 'analyze-file'), MODEL, '/nonexistent.wav'], env)
    check(r.returncode == 1 and 'nonexistent' in r.stderr,
          f'{where}: analyze-file reports a missing file', r.stderr)
    r = run([os.path.join(bindir, 'live-json'), MODEL, wav], env)
    recs = []
    for l in r.stdout.splitlines():
        try:
            recs.append(json.loads(l))
        except ValueError:
            pass
    check(r.returncode == 0 and len(recs) == windows and
          all({'t0', 't1', 'label', 'confidence'} <= set(x) for x in recs),
          f'{where}: live-json prints {windows} JSON results', r.stdout[-500:] + r.stderr[-500:])


def main():
    tmp = tempfile.mkdtemp(prefix='emotop-ex-')
    try:
        wav = os.path.join(tmp, 'voice.wav')
        write16(wav, voice(8, 16000), 16000)
        a = run([EMOTOP, 'analyze', '--json', wav])
        recs = [json.loads(l) for l in a.stdout.splitlines()] if a.returncode == 0 else []
        windows = sum(1 for x in recs if x.get('type') == 'window') if recs else -1
        check(windows > 3, f'emotop analyze finds windows ({windows})', a.stderr)
        check_examples(os.path.join(BUILD, 'examples'), wav, windows)

        if os.environ.get('EMOTOP_SANITIZED'):
            print('skipped under sanitizers: compiling against the installed copy')
            return finish()
        dest = os.path.join(tmp, 'root')
        r = run(['meson', 'install', '-C', BUILD, '--destdir', dest, '--no-rebuild',
                 '--quiet'])
        check(r.returncode == 0, 'meson install --destdir', r.stdout + r.stderr)
        pcs = [os.path.join(d, f) for d, _, fs in os.walk(dest) for f in fs if f == 'emotop.pc']
        check(len(pcs) == 1, 'emotop.pc installed', pcs)
        hdr = [os.path.join(d, f) for d, _, fs in os.walk(dest) for f in fs
               if f in ('emotop.h', 'version.h') and d.endswith('emotop')]
        check(len(hdr) == 2, 'emotop/emotop.h and emotop/version.h installed', hdr)
        private = [f for d, _, fs in os.walk(dest) for f in fs
                   if f in ('ops.h', 'internal.h', 'safetensors.h', 'tui.h')]
        check(not private, 'no internal header installed', private)
        if not pcs:
            return finish()
        env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pcs[0]),
                   PKG_CONFIG_SYSROOT_DIR=dest)
        flags = run(['pkg-config', '--cflags', '--libs', 'emotop'], env)
        check(flags.returncode == 0 and '-lemotop' in flags.stdout,
              'pkg-config --cflags --libs emotop', flags.stderr)
        libdir = [f[2:] for f in flags.stdout.split() if f.startswith('-L')]
        out = os.path.join(tmp, 'bin')
        os.makedirs(out)
        cc = shutil.which('cc') or 'gcc'
        for name in EXAMPLES:
            r = run([cc, '-std=c11', '-Wall', '-Werror', '-o', os.path.join(out, name),
                     os.path.join(SRC, 'examples', name + '.c')] + flags.stdout.split())
            check(r.returncode == 0, f'{name} compiles against the installed library',
                  r.stderr[-1500:])
        runenv = dict(os.environ, LD_LIBRARY_PATH=':'.join(libdir))
        ldd = run(['ldd', os.path.join(out, 'analyze-file')], runenv)
        line = [l for l in ldd.stdout.splitlines() if 'libemotop' in l]
        check(len(line) == 1 and dest in line[0] and '.so.0' in line[0],
              'the example runs on the installed libemotop.so.0', ldd.stdout)
        check_examples(out, wav, windows, runenv, 'installed')
        return finish()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
