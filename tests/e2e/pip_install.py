"""#35's 'done when': `pip install --no-build-isolation ./python` into a
fresh virtual environment (Debian's numpy through --system-site-packages,
no package index), then `import emotop` from outside the tree: the
shipped model is found inside the installed package and analyze_file's
records equal `emotop analyze --json`'s. Skipped without python3-venv,
pip, meson-python or numpy, and under the sanitizer setups (the wheel is
an ordinary build)."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from common import EMOTOP, SRC, check, finish, voice, write16  # noqa: E402

PY = '/usr/bin/python3'
if os.environ.get('EMOTOP_SANITIZED') == '1':
    print('skipped: the pip build under a sanitizer setup')
    sys.exit(77)
probe = subprocess.run([PY, '-c', 'import venv, pip, mesonpy, numpy'], capture_output=True)
if probe.returncode:
    print('skipped: needs python3-venv, python3-pip, python3-mesonpy, python3-numpy')
    sys.exit(77)
tmp = tempfile.mkdtemp(prefix='emotop-pip-')
venv = os.path.join(tmp, 'venv')
subprocess.run([PY, '-m', 'venv', '--system-site-packages', venv], check=True)
p = subprocess.run([os.path.join(venv, 'bin', 'pip'), 'install', '--no-build-isolation',
                    '--no-index', os.path.join(SRC, 'python')], capture_output=True, text=True)
check(p.returncode == 0, 'pip install --no-build-isolation --no-index ./python', p.stdout[-1500:]
      + p.stderr[-1500:])
wav = os.path.join(tmp, 'v.wav')
write16(wav, voice(6.0, 16000, seed=2), 16000)
code = ('import json, sys, emotop\n'
        'm = emotop.Model()\n'
        'print(json.dumps({"dir": m.info["dir"], "recs": m.analyze_file(sys.argv[1]),'
        ' "version": emotop.__version__}))\n')
env = {k: v for k, v in os.environ.items() if k not in ('EMOTOP_MODEL', 'PYTHONPATH')}
p = subprocess.run([os.path.join(venv, 'bin', 'python'), '-c', code, wav], capture_output=True,
                   text=True, env=env, cwd=tmp)
out = json.loads(p.stdout) if p.returncode == 0 else {}
check(out.get('dir', '').startswith(venv) and out['dir'].endswith('emotop/models/emotop-small'),
      'the installed package loads the model it carries', (out.get('dir'), p.stderr[-500:]))
cli = [json.loads(x) for x in subprocess.run(
    [EMOTOP, 'analyze', '--json', '-m', os.path.join(SRC, 'models', 'emotop-small'), wav],
    capture_output=True, text=True, check=True).stdout.splitlines()]
check(out.get('recs') and out['recs'] == [r for r in cli if r['type'] == 'window'],
      'its analyze_file records equal emotop analyze --json', len(out.get('recs', [])))
shutil.rmtree(tmp)
sys.exit(finish())
