#!/usr/bin/python3
"""Runs the package's pytest suite against a build's extension (meson test
python): the build's python/ first on sys.path. In a sanitizer build the
extension is instrumented and CPython is not, so the sanitizer runtime is
preloaded (LD_PRELOAD), and leak checking is left to the C tests (CPython
keeps much of its memory until exit). Exits 77 (skip) without pytest."""
import os
import subprocess
import sys

build, src = sys.argv[1], sys.argv[2]
try:
    import pytest  # noqa: F401
    import numpy  # noqa: F401
except ImportError as e:
    print(f'skipped: {e.name} is not installed (apt install python3-pytest python3-numpy)')
    sys.exit(77)
env = dict(os.environ, PYTHONPATH=os.path.join(build, 'python'), EMOTOP_SOURCE_ROOT=src,
           PYTHONDONTWRITEBYTECODE='1')
ext = [f for f in os.listdir(os.path.join(build, 'python', 'emotop')) if f.startswith('_emotop')
       and f.endswith('.so')]
libs = subprocess.run(['ldd', os.path.join(build, 'python', 'emotop', ext[0])],
                      capture_output=True, text=True).stdout if ext else ''
pre = []
for name in ('libasan.so', 'libtsan.so', 'libubsan.so'):
    for line in libs.splitlines():
        if line.strip().startswith(name):
            pre.append(line.split('=>')[1].split('(')[0].strip())
if pre:
    env['LD_PRELOAD'] = ' '.join(pre)
    env['ASAN_OPTIONS'] = env.get('ASAN_OPTIONS', '').replace('detect_leaks=1', '') + \
        ':detect_leaks=0'
sys.exit(subprocess.call([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
                          os.path.join(src, 'python', 'tests')], env=env))
