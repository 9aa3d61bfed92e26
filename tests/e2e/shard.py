"""The README's recipe for archives too large for one machine, run locally:
a file list split into shards with `split -n r/3` (as a Slurm array or GNU
parallel would hand them out), `emotop analyze --json` per shard, then
tools/merge-jsonl.py; the merged output equals one run over all files.
Also: a shard that failed (a file missing) and a file in two shards are
refused. No corpus needed."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import EMOTOP, SRC, check, finish, voice, write16  # noqa: E402

MERGE = os.path.join(SRC, 'tools', 'merge-jsonl.py')
MODEL = os.path.join(SRC, 'models', 'emotop-small')


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=300, **kw)


with tempfile.TemporaryDirectory() as tmp:
    files = []
    for k in range(7):
        p = os.path.join(tmp, f'f{k}.wav')
        write16(p, voice(2 + k % 3, 16000, seed=k), 16000)
        files.append(p)
    lst = os.path.join(tmp, 'files.txt')
    open(lst, 'w').write('\n'.join(files) + '\n')
    r = sh(f'split -n r/3 {lst} {tmp}/shard-', cwd=tmp)
    shards = sorted(f for f in os.listdir(tmp) if f.startswith('shard-'))
    check(r.returncode == 0 and len(shards) == 3, f'split into {shards}', r.stderr)
    outs = []
    for s in shards:
        out = os.path.join(tmp, f'out-{s}.jsonl')
        r = sh(f"xargs -a {tmp}/{s} -d '\\n' {EMOTOP} analyze --json -m {MODEL} -j 2 > {out}")
        check(r.returncode == 0, f'analyze {s}', r.stderr)
        outs.append(out)
    merged = os.path.join(tmp, 'all.jsonl')
    r = sh(f'python3 {MERGE} --list {lst} -o {merged} ' + ' '.join(outs))
    check(r.returncode == 0 and '7 file(s) from 3 shard(s)' in r.stderr, 'merge', r.stderr)
    r = sh(f'{EMOTOP} analyze --json -m {MODEL} ' + ' '.join(files))
    one = [json.loads(l) for l in r.stdout.splitlines()]
    got = [json.loads(l) for l in open(merged)] if os.path.exists(merged) else []
    check(got == one, 'merged shards == one run over all files',
          (len(got), len(one)))
    r = sh(f'python3 {MERGE} --list {lst} -o {merged} ' + ' '.join(outs))
    check(r.returncode == 1 and 'exists' in r.stderr, 'the merge never overwrites', r.stderr)
    r = sh(f'python3 {MERGE} --list {lst} ' + ' '.join(outs[:2]))
    check(r.returncode == 1 and 'in no shard' in r.stderr and not r.stdout,
          'a missing shard is reported, nothing written', r.stderr)
    r = sh(f'cp {outs[0]} {outs[0]}.dup && python3 {MERGE} {outs[0]} {outs[0]}.dup')
    check(r.returncode == 1 and 'in both' in r.stderr, 'a file in two shards is refused',
          r.stderr)

sys.exit(finish())
