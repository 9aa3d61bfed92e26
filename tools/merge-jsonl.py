#!/usr/bin/env python3
"""Merge the JSON Lines of sharded `emotop analyze --json` runs into one.

  tools/merge-jsonl.py [--list FILES.txt] [-o all.jsonl] shard-*.jsonl

Every line must be valid JSON. Records are grouped by file and written in
the order of --list (or sorted by path without it), each file's window
records before its file record, as one `emotop analyze --json` run over
all the files would print them. It refuses (exit 1, nothing written) a
file that appears in two shards, and with --list reports the files no
shard has (a failed node) and files that are not in the list. Error
records ({"type":"error"}) are kept and counted. Never overwrites -o.
"""
import argparse
import json
import os
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('shards', nargs='+')
    ap.add_argument('--list', help='the complete file list (one path per line)')
    ap.add_argument('-o', '--output', help='write here (default: standard output)')
    a = ap.parse_args()
    if a.output and os.path.exists(a.output):
        sys.exit(f'merge-jsonl: {a.output} exists; choose another name')
    recs, owner, problems = {}, {}, []
    for shard in a.shards:
        with open(shard, encoding='utf-8') as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    r = json.loads(line)
                except ValueError as e:
                    problems.append(f'{shard}:{n}: not JSON ({e})')
                    continue
                path = r.get('file')
                if path is None:
                    problems.append(f'{shard}:{n}: record without "file"')
                    continue
                if owner.setdefault(path, shard) != shard:
                    problems.append(f'{path}: in both {owner[path]} and {shard}')
                    continue
                recs.setdefault(path, []).append(r)
    order = sorted(recs)
    if a.list:
        with open(a.list, encoding='utf-8') as f:
            wanted = [l.rstrip('\n') for l in f if l.strip()]
        missing = [p for p in wanted if p not in recs]
        extra = sorted(set(recs) - set(wanted))
        problems += [f'{p}: in the list, in no shard' for p in missing]
        problems += [f'{p}: in a shard, not in the list' for p in extra]
        order = [p for p in wanted if p in recs]
    if problems:
        for p in problems[:50]:
            print('merge-jsonl: ' + p, file=sys.stderr)
        sys.exit(f'merge-jsonl: {len(problems)} problem(s); nothing written')
    out = open(a.output, 'x', encoding='utf-8') if a.output else sys.stdout
    errors = 0
    for p in order:
        for r in recs[p]:
            errors += r.get('type') == 'error'
            out.write(json.dumps(r, separators=(',', ':'), ensure_ascii=False) + '\n')
    if a.output:
        out.close()
    print(f'merge-jsonl: {len(order)} file(s) from {len(a.shards)} shard(s), '
          f'{errors} error record(s)', file=sys.stderr)


if __name__ == '__main__':
    main()
