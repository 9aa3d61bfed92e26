#!/usr/bin/python3
"""The architecture, written down once and checked: which folder is which
layer of emotop, and that every #include runs down (or sideways within a
layer), never up.

  program   src/cli/                  the emotop command, its TUI
  core      src/core/                 audio in, VAD, analysis, streaming, sessions
  nn        src/nn/                   the neural engine: kernels, encoder, heads, models
  util      src/util/                 clock, buffers, JSON files, errors, version

Public headers (include/emotop/) belong to the layer that implements them
and may include only other public headers. Besides the direction, the
include graph of units (a .c with its headers, public or internal) must
have no circle. Fails, naming the file and the line, on any violation; a
self-check first proves it would fail on a wrong include."""
import os
import re
import sys
import tempfile

# low to high; a file may include its own layer and the ones before it
LAYERS = ['util', 'nn', 'core', 'program']
FOLDERS = {'src/util/': 'util', 'src/nn/': 'nn', 'src/core/': 'core', 'src/cli/': 'program'}
# public headers by the layer that implements them (the rest are core)
PUBLIC = {'error.h': 'util', 'version.h': 'util', 'precision.h': 'nn', 'hubert.h': 'nn',
          'model.h': 'nn',
          'emotop.h': 'program'}  # the umbrella includes everything: top
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of(rel):
    if rel.startswith('include/emotop/'):
        return PUBLIC.get(os.path.basename(rel), 'core')
    for folder, layer in FOLDERS.items():
        if rel.startswith(folder):
            return layer
    return None


def resolve(root, rel, inc):
    """The repository path an include names: beside the including file,
    then under src/ and include/ (meson's include directories)."""
    for base in (os.path.dirname(rel), 'src', 'include'):
        p = os.path.normpath(os.path.join(base, inc))
        if os.path.exists(os.path.join(root, p)):
            return p
    return None


def unit(rel):
    """A .c and its headers are one unit: 'nn/head.c', 'nn/head.h' and
    'emotop/head.h' are 'head'; 'hubert-internal.h' is 'hubert'."""
    stem = os.path.splitext(os.path.basename(rel))[0]
    return stem[:-len('-internal')] if stem.endswith('-internal') else stem


def check(root):
    errors, edges = [], {}
    files = []
    for d in ('src', 'include'):
        for dp, _, fs in os.walk(os.path.join(root, d)):
            files += [os.path.relpath(os.path.join(dp, f), root) for f in fs
                      if f.endswith(('.c', '.h'))]
    for rel in sorted(files):
        mine = layer_of(rel)
        if mine is None:
            errors.append(f'{rel}: in no layer (add its folder to FOLDERS)')
            continue
        text = open(os.path.join(root, rel), encoding='utf-8').read()
        for m in INCLUDE.finditer(text):
            line = text.count('\n', 0, m.start()) + 1
            target = resolve(root, rel, m.group(1))
            if target is None:
                continue  # generated (version.h in the build tree) or system
            theirs = layer_of(target)
            if rel.startswith('include/') and not target.startswith('include/'):
                errors.append(f'{rel}:{line}: a public header includes the '
                              f'internal {target}')
            elif theirs and LAYERS.index(theirs) > LAYERS.index(mine):
                errors.append(f'{rel}:{line}: {mine} includes {target} of the '
                              f'higher layer {theirs}')
            a, b = unit(rel), unit(target)
            if a != b and m.group(1) != 'emotop/emotop.h':
                edges.setdefault(a, set()).add(b)
    # circles among units (depth-first search, one report per circle)
    state, stack, seen = {}, [], set()

    def visit(u):
        state[u] = 1
        stack.append(u)
        for v in sorted(edges.get(u, ())):
            if state.get(v) == 1:
                cyc = stack[stack.index(v):] + [v]
                key = frozenset(cyc)
                if key not in seen:
                    seen.add(key)
                    errors.append('include circle: ' + ' -> '.join(cyc))
            elif not state.get(v):
                visit(v)
        stack.pop()
        state[u] = 2
    for u in sorted(edges):
        if not state.get(u):
            visit(u)
    return errors


def self_check():
    """A tree with one include running up, one public header including an
    internal one and one circle: all three must be found."""
    bad = {'src/nn/a.c': '#include "core/b.h"\n', 'src/core/b.h': '',
           'include/emotop/model.h': '#include "nn/c.h"\n', 'src/nn/c.h': '',
           'src/util/x.c': '#include "util/y.h"\n', 'src/util/y.c': '#include "util/x.h"\n',
           'src/util/x.h': '', 'src/util/y.h': ''}
    with tempfile.TemporaryDirectory() as d:
        for rel, text in bad.items():
            os.makedirs(os.path.join(d, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(d, rel), 'w') as f:
                f.write(text)
        found = check(d)
    want = ['src/nn/a.c:1: nn includes src/core/b.h', 'include/emotop/model.h:1: a public',
            'include circle: ']
    missed = [w for w in want if not any(e.startswith(w) for e in found)]
    return missed


def main():
    root = os.environ.get('EMOTOP_SOURCE_ROOT',
                          os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
    missed = self_check()
    for w in missed:
        print('FAIL: the checker misses:', w)
    errors = check(root)
    for e in errors:
        print('FAIL:', e)
    print('layers:', 'FAIL' if errors or missed else 'ok')
    return 1 if errors or missed else 0


if __name__ == '__main__':
    sys.exit(main())
