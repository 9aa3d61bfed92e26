"""#36 item 5: `meson install` installs the shipped model, and the
installed program finds it without the source tree. The build is
installed into a DESTDIR; the installed binary then loads the model under
<destdir><prefix>/share/emotop/models (relative to its own bin/, so a
moved tree works), never the clone's; a damaged installed model gets a
message about the installation, not about `git checkout`."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from common import EMOTOP, check, finish, voice, write16  # noqa: E402

BUILD = os.environ.get('EMOTOP_BUILD_ROOT', os.path.dirname(EMOTOP))
tmp = tempfile.mkdtemp(prefix='emotop-install-')
dest = os.path.join(tmp, 'dest')
r = subprocess.run(['meson', 'install', '-C', BUILD, '--destdir', dest, '--quiet'],
                   capture_output=True, text=True)
check(r.returncode == 0, 'meson install --destdir: exit 0', r.stderr[-2000:])
found = [os.path.join(d, 'emotop') for d, _, fs in os.walk(dest) if 'emotop' in fs and
         d.endswith('/bin')]
check(len(found) == 1, 'one installed program', found)
exe = found[0]
prefix = os.path.dirname(os.path.dirname(exe))
model = os.path.join(prefix, 'share', 'emotop', 'models', 'emotop-small')
check(os.path.exists(os.path.join(model, 'model.safetensors')) and
      os.path.exists(os.path.join(model, 'config.json')),
      'the shipped model is installed under share/emotop/models', model)

# the tree moved away from where it was installed: it still finds its own
moved = os.path.join(tmp, 'moved')
shutil.move(prefix, moved)
exe = os.path.join(moved, 'bin', 'emotop')
model = os.path.join(moved, 'share', 'emotop', 'models', 'emotop-small')
wav = os.path.join(tmp, 'speech.wav')
write16(wav, voice(3.0, 16000), 16000)
env = {k: v for k, v in os.environ.items() if k != 'EMOTOP_MODEL'}
r = subprocess.run([exe, 'analyze', '--json', wav], capture_output=True, text=True, env=env,
                   cwd=tmp)
recs = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
check(r.returncode == 0 and recs and recs[-1]['type'] == 'file',
      'the installed program analyses with its installed model', r.stderr)
log = os.path.join(tmp, 's.jsonl')
r = subprocess.run([exe, 'live', '--no-tui', '--fast', '-i', wav, '--log', log],
                   capture_output=True, text=True, env=env, cwd=tmp)
hdr = json.loads(open(log).readline()) if os.path.exists(log) else {}
mdir = hdr.get('model', {}).get('dir', '')
check(os.path.realpath(mdir) == os.path.realpath(model),
      'its session log names the installed model, not the source tree\'s', mdir)

# damaged: the message is about the installation
os.rename(os.path.join(model, 'model.safetensors'), os.path.join(model, 'x'))
r = subprocess.run([exe, 'analyze', wav], capture_output=True, text=True, env=env, cwd=tmp)
check(r.returncode != 0 and 'installed model is missing or damaged' in r.stderr and
      'meson install' in r.stderr and 'git checkout' not in r.stderr,
      'a damaged installed model: says to install again', r.stderr)
shutil.rmtree(tmp)
sys.exit(finish())
