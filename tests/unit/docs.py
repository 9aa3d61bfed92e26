#!/usr/bin/env python3
"""The manual page renders without warnings (groff -ww -z) and documents
every option that 'emotop COMMAND --help' prints, and every command."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'e2e'))
from common import DATA, EMOTOP, FIX, SRC, check, finish  # noqa: E402

MAN = os.path.join(SRC, 'man', 'emotop.1')



def main():
    p = subprocess.run(['groff', '-ww', '-z', '-man', MAN], capture_output=True, text=True)
    check(p.returncode == 0 and not p.stderr.strip(),
          f'groff -ww -z: no warnings {p.stderr.strip()[:200]}')
    text = open(MAN).read().replace('\\-', '-').replace('\\fB', '').replace('\\fR', '')
    top = subprocess.run([EMOTOP, '--help'], capture_output=True, text=True).stdout
    cmds = re.findall(r'^  ([a-z]+) ', top, re.M)
    check(len(cmds) >= 6, f'commands listed by --help: {cmds}')
    for c in cmds:
        check(re.search(r'^\.B ' + c + r'$', text, re.M) or f'emotop {c}' in text,
              f'man page documents the command {c}')
        h = subprocess.run([EMOTOP, c, '--help'], capture_output=True, text=True)
        check(h.returncode == 0, f'emotop {c} --help exits 0')
        for opt in sorted(set(re.findall(r'(--[a-z][a-z-]*)', h.stdout))):
            check(opt in text, f'{c}: {opt} is in the man page')
    return finish()


if __name__ == '__main__':
    sys.exit(main())
