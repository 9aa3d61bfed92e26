"""Shared helpers of the end-to-end test scripts (stdlib only)."""
import os

EMOTOP = os.environ.get('EMOTOP', 'build/emotop')
SRC = os.environ.get('EMOTOP_SOURCE_ROOT', '.')
FIX = os.path.join(SRC, 'tests', 'fixtures')
DATA = os.path.join(SRC, '..', 'shared', 'data')
_fails = 0


def check(cond, what):
    """Prints ok/FAIL for one assertion and counts failures."""
    global _fails
    print(('ok   ' if cond else 'FAIL ') + what, flush=True)
    if not cond:
        _fails += 1
    return cond


def finish():
    """Exit status for the script: 1 if any check failed."""
    print(f'{_fails} failure(s)')
    return 1 if _fails else 0
