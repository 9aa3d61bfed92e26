#!/usr/bin/env python3
"""Analyses an audio file and saves a timeline of emotion probabilities,
with valence and arousal below it, as a PNG.

    python3 plot_timeline.py speech.flac timeline.png

Needs matplotlib (Debian: apt install python3-matplotlib); without it
the script says so and exits 0 having printed the labels instead.
"""
import sys

import emotop


def main(path, out='timeline.png'):
    model = emotop.Model()
    windows = model.analyze_file(path)
    if not windows:
        print(f'{path}: no speech found')
        return 0
    a = emotop.as_arrays(windows)
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        print('matplotlib is not installed (apt install python3-matplotlib); '
              'the labels instead:')
        for w in windows:
            print(f"{w['t0']:7.2f}-{w['t1']:7.2f}  {w['label']}")
        return 0
    mid = (a['t0'] + a['t1']) / 2
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True,
                                      gridspec_kw={'height_ratios': [2, 1]})
    top.stackplot(mid, a['probs'].T, labels=a['labels'], alpha=0.85)
    top.set_ylabel('probability')
    top.set_ylim(0, 1)
    top.legend(loc='upper left', bbox_to_anchor=(1.01, 1), fontsize=8)
    top.set_title(f'{path} ({model.info["name"]})')
    bottom.plot(mid, a['valence'], label='valence')
    bottom.plot(mid, a['arousal'], label='arousal')
    bottom.axhline(0, color='grey', linewidth=0.5)
    bottom.set_ylim(-1, 1)
    bottom.set_xlabel('time (s)')
    bottom.legend(loc='upper left', bbox_to_anchor=(1.01, 1), fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    print(f'wrote {out}: {len(windows)} windows')
    return 0


if __name__ == '__main__':
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
