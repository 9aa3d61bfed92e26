"""Emotion corpora as emotop's eight labels: one reader per naming scheme.

Each reader walks a corpus as it lies on disk (the official download's
layout, or ../shared/data's) and returns (items, skipped):

  items    [Item(path, label, speaker, corpus)], label one of LABELS (None
           for unlabelled speech such as LJSpeech), speaker unique across
           corpora ("nemo:EB0");
  skipped  [(path, reason)]: files whose label is unknown or has no
           counterpart among emotop's labels (EmoDB's boredom, IEMOCAP's
           frustration). They are reported, never guessed.

CLASSES[corpus] is the set of labels a corpus has: training supervises only
those for its clips (the rest are masked), and evaluation restricts the
argmax to them. No third-party imports: the tests run without numpy/torch.
"""
import csv
import glob
import os
import re
from collections import namedtuple

LABELS = ['neutral', 'calm', 'happy', 'sad', 'angry', 'fearful', 'disgust',
          'surprised']

Item = namedtuple('Item', 'path label speaker corpus')

AUDIO = ('.wav', '.flac', '.opus', '.ogg')


def _audio(root, pattern='**/*'):
    return sorted(p for p in glob.glob(os.path.join(root, pattern), recursive=True)
                  if p.lower().endswith(AUDIO) and os.path.isfile(p))


def _stem(p):
    return os.path.splitext(os.path.basename(p))[0]


def ravdess(root):
    """03-01-EE-II-SS-RR-AA.ext under Actor_AA/ (speech: modality 03,
    vocal channel 01; song files 03-02-* are skipped)."""
    items, skipped = [], []
    for p in _audio(root):
        parts = _stem(p).split('-')
        if len(parts) != 7 or not all(s.isdigit() for s in parts):
            skipped.append((p, 'not a RAVDESS name (03-01-EE-II-SS-RR-AA)'))
            continue
        if parts[1] != '01':
            skipped.append((p, 'song, not speech (vocal channel %s)' % parts[1]))
            continue
        e = int(parts[2])
        if not 1 <= e <= 8:
            skipped.append((p, 'unknown RAVDESS emotion code %s' % parts[2]))
            continue
        items.append(Item(p, LABELS[e - 1], 'ravdess:' + parts[6], 'ravdess'))
    return items, skipped


NEMO = {'anger': 'angry', 'fear': 'fearful', 'happiness': 'happy',
        'neutral': 'neutral', 'sadness': 'sad', 'surprised': 'surprised'}


def nemo(root):
    """nEMO: samples/{speaker}_{emotion}_{n}.{wav,opus}, labels and
    speakers from data.tsv when present, else from the names."""
    items, skipped = [], []
    meta = {}
    tsv = os.path.join(root, 'data.tsv')
    if os.path.exists(tsv):
        with open(tsv, newline='', encoding='utf-8') as f:
            for r in csv.DictReader(f, delimiter='\t'):
                meta[_stem(r['file_id'])] = (r['emotion'].strip(),
                                             r['speaker_id'].strip())
    for p in _audio(root):
        stem = _stem(p)
        emo, spk = meta.get(stem, (None, None))
        if emo is None:
            m = re.fullmatch(r'([A-Za-z0-9]+)_([a-z]+)_(\d+)', stem)
            if not m:
                skipped.append((p, 'not a nEMO name ({speaker}_{emotion}_{n})'))
                continue
            spk, emo = m.group(1), m.group(2)
        if emo not in NEMO:
            skipped.append((p, 'nEMO emotion %r has no emotop label' % emo))
            continue
        items.append(Item(p, NEMO[emo], 'nemo:' + spk, 'nemo'))
    return items, skipped


TUREV = {'angry': 'angry', 'calm': 'calm', 'happy': 'happy', 'sad': 'sad'}


def turev(root):
    """TurEV-DB: {Angry,Calm,Happy,Sad}/{speaker}_{...}.flac."""
    items, skipped = [], []
    for p in _audio(root):
        emo = os.path.basename(os.path.dirname(p)).lower()
        spk = os.path.basename(p).split('_')[0]
        if emo not in TUREV:
            skipped.append((p, 'TurEV-DB folder %r is not an emotion' % emo))
            continue
        if not spk.isdigit():
            skipped.append((p, 'no speaker number before the first _'))
            continue
        items.append(Item(p, TUREV[emo], 'turev:' + spk, 'turev'))
    return items, skipped


def ljspeech(root):
    """LJSpeech: wavs/LJ*.{wav,opus}; one reader, no emotion labels."""
    return [Item(p, None, 'ljspeech:LJ', 'ljspeech')
            for p in _audio(root) if _stem(p).startswith('LJ')], []


CREMA = {'ANG': 'angry', 'DIS': 'disgust', 'FEA': 'fearful', 'HAP': 'happy',
         'NEU': 'neutral', 'SAD': 'sad'}


def crema_d(root):
    """CREMA-D: AudioWAV/{actor}_{sentence}_{EMO}_{level}.wav."""
    items, skipped = [], []
    for p in _audio(root):
        parts = _stem(p).split('_')
        if len(parts) != 4 or not parts[0].isdigit():
            skipped.append((p, 'not a CREMA-D name (1001_DFA_ANG_XX)'))
        elif parts[2] not in CREMA:
            skipped.append((p, 'CREMA-D emotion %r has no emotop label' % parts[2]))
        else:
            items.append(Item(p, CREMA[parts[2]], 'crema-d:' + parts[0], 'crema-d'))
    return items, skipped


TESS = {'angry': 'angry', 'disgust': 'disgust', 'fear': 'fearful',
        'happy': 'happy', 'neutral': 'neutral', 'ps': 'surprised',
        'sad': 'sad'}


def tess(root):
    """TESS: {OAF,YAF}_{emotion}/{OAF,YAF}_{word}_{emotion}.wav (ps:
    pleasant surprise)."""
    items, skipped = [], []
    for p in _audio(root):
        parts = _stem(p).split('_')
        spk, emo = parts[0].upper(), parts[-1].lower()
        if len(parts) < 3 or spk not in ('OAF', 'YAF'):
            skipped.append((p, 'not a TESS name (OAF_word_emotion)'))
        elif emo not in TESS:
            skipped.append((p, 'TESS emotion %r has no emotop label' % emo))
        else:
            items.append(Item(p, TESS[emo], 'tess:' + spk, 'tess'))
    return items, skipped


ASED = {'n': 'neutral', 'f': 'fearful', 'h': 'happy', 's': 'sad', 'a': 'angry'}
ASED_NAME = re.compile(r'^([a-z])([1-5])-(\d\d)-(\d\d)-(\d\d)-(\d\d)$')


def ased(root):
    """ASED v1: 0{k}{Emotion}/{e}{k}-SS-RR-GG-PP (emotion letter and
    folder number, sentence, repetition, gender, speaker). The speaker is
    the number PP alone: the gender field has typos (five files of
    female speakers 09, 15, 21, 23 and 25 say 02), and the 65 numbers
    are the corpus's 65 participants (25 F, 40 M). A file whose letter
    disagrees with its folder is skipped."""
    items, skipped = [], []
    for p in _audio(root):
        m = ASED_NAME.match(_stem(p).lower())
        folder = os.path.basename(os.path.dirname(p))
        if not m:
            skipped.append((p, 'not an ASED name (n1-SS-RR-GG-PP)'))
        elif m.group(1) not in ASED:
            skipped.append((p, 'ASED emotion letter %r is not one of n f h s a' % m.group(1)))
        elif not folder.startswith('0' + m.group(2)):
            skipped.append((p, 'ASED name %r disagrees with its folder %r' % (_stem(p), folder)))
        else:
            items.append(Item(p, ASED[m.group(1)], 'ased:' + m.group(6), 'ased'))
    return items, skipped


SAVEE = {'a': 'angry', 'd': 'disgust', 'f': 'fearful', 'h': 'happy',
         'n': 'neutral', 'sa': 'sad', 'su': 'surprised'}


def savee(root):
    """SAVEE: DC_a01.wav (flat) or DC/a01.wav (per speaker)."""
    items, skipped = [], []
    for p in _audio(root):
        stem = _stem(p)
        m = re.fullmatch(r'([A-Z]{2})_([a-z]+)(\d+)', stem)
        if m:
            spk, code = m.group(1), m.group(2)
        else:
            m = re.fullmatch(r'([a-z]+)(\d+)', stem)
            spk = os.path.basename(os.path.dirname(p))
            if not m or not re.fullmatch(r'[A-Z]{2}', spk):
                skipped.append((p, 'not a SAVEE name (DC_a01 or DC/a01)'))
                continue
            code = m.group(1)
        if code not in SAVEE:
            skipped.append((p, 'SAVEE emotion code %r has no emotop label' % code))
            continue
        items.append(Item(p, SAVEE[code], 'savee:' + spk, 'savee'))
    return items, skipped


EMODB = {'W': 'angry', 'E': 'disgust', 'A': 'fearful', 'F': 'happy',
         'N': 'neutral', 'T': 'sad'}  # L (boredom) has no emotop label


def emodb(root):
    """EmoDB: {speaker 2 digits}{text a01..b10}{emotion letter}{version}.wav."""
    items, skipped = [], []
    for p in _audio(root):
        m = re.fullmatch(r'(\d\d)([ab]\d\d)([A-Z])([a-z])', _stem(p))
        if not m:
            skipped.append((p, 'not an EmoDB name (03a01Fa)'))
        elif m.group(3) not in EMODB:
            skipped.append((p, 'EmoDB emotion %r has no emotop label%s' % (
                m.group(3), ' (boredom)' if m.group(3) == 'L' else '')))
        else:
            items.append(Item(p, EMODB[m.group(3)], 'emodb:' + m.group(1), 'emodb'))
    return items, skipped


# IEMOCAP's categorical labels; excitement is merged into happy, as in the
# usual 4-class IEMOCAP protocol. frustration, other and xxx (no agreement)
# have no emotop label.
IEMOCAP = {'neu': 'neutral', 'hap': 'happy', 'exc': 'happy', 'sad': 'sad',
           'ang': 'angry', 'fea': 'fearful', 'dis': 'disgust',
           'sur': 'surprised'}
IEMOCAP_LINE = re.compile(r'^\[[\d.]+ - [\d.]+\]\t(\S+)\t(\S+)\t')


def iemocap(root):
    """IEMOCAP: Session*/dialog/EmoEvaluation/*.txt label the utterances in
    Session*/sentences/wav/{dialog}/{utterance}.wav; the speaker is the
    session and the letter that opens the utterance's last part
    (Ses01F_impro01_M003: session 1's male actor)."""
    items, skipped = [], []
    for lab in sorted(glob.glob(os.path.join(root, 'Session*', 'dialog',
                                             'EmoEvaluation', '*.txt'))):
        sess = os.path.dirname(os.path.dirname(os.path.dirname(lab)))
        with open(lab, encoding='utf-8', errors='replace') as f:
            for line in f:
                m = IEMOCAP_LINE.match(line)
                if not m:
                    continue
                utt, emo = m.group(1), m.group(2)
                dialog = utt.rsplit('_', 1)[0]
                wav = os.path.join(sess, 'sentences', 'wav', dialog, utt + '.wav')
                if not os.path.exists(wav):
                    skipped.append((wav, 'labelled in %s but missing' % lab))
                elif emo not in IEMOCAP:
                    skipped.append((wav, 'IEMOCAP label %r has no emotop label' % emo))
                else:
                    spk = utt[:5] + utt.rsplit('_', 1)[1][0]
                    items.append(Item(wav, IEMOCAP[emo], 'iemocap:' + spk, 'iemocap'))
    return items, skipped


READERS = {'ravdess': ravdess, 'nemo': nemo, 'turev': turev,
           'ljspeech': ljspeech, 'crema-d': crema_d, 'tess': tess, 'ased': ased,
           'savee': savee, 'emodb': emodb, 'iemocap': iemocap}

CLASSES = {
    'ravdess': set(LABELS),
    'nemo': set(NEMO.values()),
    'turev': set(TUREV.values()),
    'ljspeech': set(),
    'crema-d': set(CREMA.values()),
    'tess': set(TESS.values()),
    'ased': set(ASED.values()),
    'savee': set(SAVEE.values()),
    'emodb': set(EMODB.values()),
    'iemocap': {'neutral', 'happy', 'sad', 'angry', 'fearful', 'disgust',
                'surprised'},
}

# Li et al.'s three valence classes; surprise is left out (its valence
# depends on the surprise).
VALENCE = {'neutral': 'neutral', 'calm': 'neutral', 'happy': 'positive',
           'sad': 'negative', 'angry': 'negative', 'fearful': 'negative',
           'disgust': 'negative'}
VALENCE_CLASSES = ['negative', 'neutral', 'positive']

# ../shared/data's folders and the reader for each
SHARED = {'ravdess': 'ravdess-16k', 'nemo': 'nemo', 'turev': 'turev-db',
          'ljspeech': 'ljspeech-part', 'ased': 'ased', 'tess': 'tess'}


def read(corpus, root):
    if corpus not in READERS:
        raise ValueError('unknown corpus %r (known: %s)' % (corpus, ', '.join(READERS)))
    if not os.path.isdir(root):
        raise FileNotFoundError('%s: no such directory (corpus %s)' % (root, corpus))
    return READERS[corpus](root)
