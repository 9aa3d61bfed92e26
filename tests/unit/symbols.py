"""libemotop exports exactly its installed API.

Every function declared in include/emotop/*.h is exported by
libemotop.so, and nothing else is (internal modules stay local through
src/libemotop.map). Needs nm (binutils)."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'e2e'))
from common import SRC, check, finish  # noqa: E402

BUILD = os.path.abspath(os.environ.get('EMOTOP_BUILD_ROOT', 'build'))


def declared():
    names = set()
    inc = os.path.join(SRC, 'include', 'emotop')
    for f in os.listdir(inc):
        if not f.endswith(('.h', '.h.in')):
            continue
        text = open(os.path.join(inc, f)).read()
        text = re.sub(r'/\*.*?\*/', '', text, flags=re.S)   # comments
        text = re.sub(r'#define[^\n]*(\\\n[^\n]*)*', '', text)  # macros
        # a declaration: a name followed by ( at the end of a return type
        for m in re.finditer(r'[\w\*\s]\*?\s*\b(emo_\w+)\s*\(', text):
            names.add(m.group(1))
    return names


def main():
    lib = os.path.join(BUILD, 'libemotop.so')
    r = subprocess.run(['nm', '-D', '--defined-only', lib], capture_output=True, text=True)
    if r.returncode:
        print('skipped: nm cannot read', lib, r.stderr)
        return 77
    exported = {l.split()[-1].split('@')[0] for l in r.stdout.splitlines() if ' T ' in l}
    want = declared()
    check(want - exported == set(), 'every declared function is exported',
          sorted(want - exported))
    check(exported - want == set(), 'nothing undeclared is exported',
          sorted(exported - want))
    check(len(exported) > 100, f'{len(exported)} functions exported')
    return finish()


if __name__ == '__main__':
    sys.exit(main())
