"""models/corpora.py on tiny synthetic trees, one per naming scheme: the
label each file maps to, its speaker, and what is skipped and why. Empty
files stand in for audio (the readers only read names and label files), so
this needs neither a corpus nor numpy."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'models'))
import corpora  # noqa: E402

failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print('FAIL:', what)


def tree(root, files):
    for rel, text in files.items():
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, 'w') as f:
            f.write(text)


def got(reader, root):
    items, skipped = reader(root)
    return ({os.path.relpath(i.path, root): (i.label, i.speaker, i.corpus)
             for i in items},
            {os.path.relpath(p, root): why for p, why in skipped})


def case(name, reader, files, want, want_skipped):
    with tempfile.TemporaryDirectory() as d:
        tree(d, files)
        items, skipped = got(reader, d)
        check(items == want, f'{name}: items {items} != {want}')
        check(set(skipped) == set(want_skipped),
              f'{name}: skipped {sorted(skipped)} != {sorted(want_skipped)}')
        for p, frag in want_skipped.items():
            check(frag in skipped.get(p, ''),
                  f'{name}: reason for {p} {skipped.get(p)!r} lacks {frag!r}')


case('ravdess', corpora.ravdess,
     {'Actor_01/03-01-05-01-02-01-01.flac': '', 'Actor_12/03-01-08-02-01-02-12.wav': '',
      'Actor_12/03-02-05-01-01-01-12.wav': '', 'Actor_12/03-01-09-01-01-01-12.wav': '',
      'Actor_12/notes.wav': '', 'Actor_12/readme.txt': ''},
     {'Actor_01/03-01-05-01-02-01-01.flac': ('angry', 'ravdess:01', 'ravdess'),
      'Actor_12/03-01-08-02-01-02-12.wav': ('surprised', 'ravdess:12', 'ravdess')},
     {'Actor_12/03-02-05-01-01-01-12.wav': 'song',
      'Actor_12/03-01-09-01-01-01-12.wav': 'unknown RAVDESS emotion',
      'Actor_12/notes.wav': 'not a RAVDESS name'})

case('nemo (data.tsv)', corpora.nemo,
     {'data.tsv': 'file_id\temotion\traw_text\tnormalized_text\tspeaker_id\tgender\tage\n'
                  'EB0_anger_1.wav\tanger\tx\tx\t        EB0\tfemale\t27\n'
                  'SM0_surprised_3.wav\tsurprised\tx\tx\tSM0\tmale\t30\n'
                  'SM0_boredom_4.wav\tboredom\tx\tx\tSM0\tmale\t30\n',
      'samples/EB0_anger_1.opus': '', 'samples/SM0_surprised_3.opus': '',
      'samples/SM0_boredom_4.opus': '', 'samples/KS0_sadness_9.opus': '',
      'samples/bad-name.opus': ''},
     {'samples/EB0_anger_1.opus': ('angry', 'nemo:EB0', 'nemo'),
      'samples/SM0_surprised_3.opus': ('surprised', 'nemo:SM0', 'nemo'),
      'samples/KS0_sadness_9.opus': ('sad', 'nemo:KS0', 'nemo')},
     {'samples/SM0_boredom_4.opus': "'boredom' has no emotop label",
      'samples/bad-name.opus': 'not a nEMO name'})

case('turev', corpora.turev,
     {'Angry/1157_kz_acik.flac': '', 'Calm/7895_x_y.flac': '',
      'Happy/1234_a.flac': '', 'Sad/6783_b.flac': '', 'Bored/1157_c.flac': '',
      'Sad/abc_d.flac': ''},
     {'Angry/1157_kz_acik.flac': ('angry', 'turev:1157', 'turev'),
      'Calm/7895_x_y.flac': ('calm', 'turev:7895', 'turev'),
      'Happy/1234_a.flac': ('happy', 'turev:1234', 'turev'),
      'Sad/6783_b.flac': ('sad', 'turev:6783', 'turev')},
     {'Bored/1157_c.flac': 'not an emotion', 'Sad/abc_d.flac': 'no speaker'})

case('ljspeech', corpora.ljspeech,
     {'wavs/LJ001-0001.opus': '', 'metadata.csv': ''},
     {'wavs/LJ001-0001.opus': (None, 'ljspeech:LJ', 'ljspeech')}, {})

case('crema-d', corpora.crema_d,
     {'AudioWAV/1001_DFA_ANG_XX.wav': '', 'AudioWAV/1091_WSI_NEU_XX.wav': '',
      'AudioWAV/1002_IEO_DIS_HI.wav': '', 'AudioWAV/1002_IEO_BOR_HI.wav': '',
      'AudioWAV/x.wav': ''},
     {'AudioWAV/1001_DFA_ANG_XX.wav': ('angry', 'crema-d:1001', 'crema-d'),
      'AudioWAV/1091_WSI_NEU_XX.wav': ('neutral', 'crema-d:1091', 'crema-d'),
      'AudioWAV/1002_IEO_DIS_HI.wav': ('disgust', 'crema-d:1002', 'crema-d')},
     {'AudioWAV/1002_IEO_BOR_HI.wav': "'BOR'", 'AudioWAV/x.wav': 'not a CREMA-D'})

case('tess', corpora.tess,
     {'OAF_angry/OAF_back_angry.wav': '', 'YAF_pleasant_surprised/YAF_bath_ps.wav': '',
      'OAF_Fear/OAF_chair_fear.wav': '', 'YAF_bored/YAF_dog_bored.wav': '',
      'misc/hello.wav': ''},
     {'OAF_angry/OAF_back_angry.wav': ('angry', 'tess:OAF', 'tess'),
      'YAF_pleasant_surprised/YAF_bath_ps.wav': ('surprised', 'tess:YAF', 'tess'),
      'OAF_Fear/OAF_chair_fear.wav': ('fearful', 'tess:OAF', 'tess')},
     {'YAF_bored/YAF_dog_bored.wav': "'bored'", 'misc/hello.wav': 'not a TESS'})

case('ased', corpora.ased,
     {'01Neutral/n1-01-01-01-01.opus': '', '04Sad/S4-03-02-02-41.opus': '',
      '05Angry/a5-10-01-02-09.opus': '', '05Angry/a5-10-01-01-09.opus': '',
      '03Happy/f2-01-01-01-01.opus': '', '02Fearful/x2-01-01-01-01.opus': '',
      '01Neutral/README.opus': ''},
     {'01Neutral/n1-01-01-01-01.opus': ('neutral', 'ased:01', 'ased'),
      '04Sad/S4-03-02-02-41.opus': ('sad', 'ased:41', 'ased'),
      # the gender field's typos do not make a second speaker
      '05Angry/a5-10-01-02-09.opus': ('angry', 'ased:09', 'ased'),
      '05Angry/a5-10-01-01-09.opus': ('angry', 'ased:09', 'ased')},
     {'03Happy/f2-01-01-01-01.opus': 'disagrees with its folder',
      '02Fearful/x2-01-01-01-01.opus': "letter 'x'",
      '01Neutral/README.opus': 'not an ASED name'})

case('tess as in shared/data', corpora.tess,
     {'OAF_Pleasant_surprise/OAF_back_ps.opus': '', 'YAF_fear/YAF_dog_fear.opus': ''},
     {'OAF_Pleasant_surprise/OAF_back_ps.opus': ('surprised', 'tess:OAF', 'tess'),
      'YAF_fear/YAF_dog_fear.opus': ('fearful', 'tess:YAF', 'tess')}, {})

case('savee flat', corpora.savee,
     {'DC_a01.wav': '', 'JE_sa15.wav': '', 'JK_su03.wav': '', 'KL_x01.wav': ''},
     {'DC_a01.wav': ('angry', 'savee:DC', 'savee'),
      'JE_sa15.wav': ('sad', 'savee:JE', 'savee'),
      'JK_su03.wav': ('surprised', 'savee:JK', 'savee')},
     {'KL_x01.wav': "'x'"})

case('savee per speaker', corpora.savee,
     {'DC/a01.wav': '', 'KL/n30.wav': '', 'KL/h02.wav': '', 'misc/a01.wav': ''},
     {'DC/a01.wav': ('angry', 'savee:DC', 'savee'),
      'KL/n30.wav': ('neutral', 'savee:KL', 'savee'),
      'KL/h02.wav': ('happy', 'savee:KL', 'savee')},
     {'misc/a01.wav': 'not a SAVEE name'})

case('emodb', corpora.emodb,
     {'wav/03a01Fa.wav': '', 'wav/16b10Wb.wav': '', 'wav/08a02Ac.wav': '',
      'wav/09b03Ta.wav': '', 'wav/11a05Ec.wav': '', 'wav/13a01Nc.wav': '',
      'wav/03a04Lc.wav': '', 'wav/hello.wav': ''},
     {'wav/03a01Fa.wav': ('happy', 'emodb:03', 'emodb'),
      'wav/16b10Wb.wav': ('angry', 'emodb:16', 'emodb'),
      'wav/08a02Ac.wav': ('fearful', 'emodb:08', 'emodb'),
      'wav/09b03Ta.wav': ('sad', 'emodb:09', 'emodb'),
      'wav/11a05Ec.wav': ('disgust', 'emodb:11', 'emodb'),
      'wav/13a01Nc.wav': ('neutral', 'emodb:13', 'emodb')},
     {'wav/03a04Lc.wav': 'boredom', 'wav/hello.wav': 'not an EmoDB'})

lab = ('% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n'
       '[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]\n'
       'C-E2:\tNeutral;\t()\n'
       '[10.0100 - 11.3925]\tSes01F_impro01_M001\texc\t[3.5, 3.5, 3.0]\n'
       '[14.8872 - 18.0175]\tSes01F_impro01_F002\tfru\t[2.5, 3.5, 3.5]\n'
       '[20.0000 - 21.0000]\tSes01F_impro01_F003\tang\t[1.5, 4.0, 4.0]\n')
case('iemocap', corpora.iemocap,
     {'Session1/dialog/EmoEvaluation/Ses01F_impro01.txt': lab,
      'Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_F000.wav': '',
      'Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_M001.wav': '',
      'Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_F002.wav': ''},
     {'Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_F000.wav':
      ('neutral', 'iemocap:Ses01F', 'iemocap'),
      'Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_M001.wav':
      ('happy', 'iemocap:Ses01M', 'iemocap')},
     {'Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_F002.wav': "'fru'",
      'Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_F003.wav': 'missing'})

# every label a reader yields is one of emotop's and within its CLASSES
for name, table in (('nemo', corpora.NEMO), ('turev', corpora.TUREV),
                    ('crema-d', corpora.CREMA), ('tess', corpora.TESS), ('ased', corpora.ASED),
                    ('savee', corpora.SAVEE), ('emodb', corpora.EMODB),
                    ('iemocap', corpora.IEMOCAP)):
    check(set(table.values()) <= set(corpora.LABELS), f'{name}: labels outside LABELS')
    check(set(table.values()) == corpora.CLASSES[name], f'{name}: CLASSES disagrees')
check(set(corpora.VALENCE) == set(corpora.LABELS) - {'surprised'},
      'valence classes cover every label but surprised')

try:
    corpora.read('nosuch', '.')
    check(False, 'unknown corpus accepted')
except ValueError as e:
    check('known:' in str(e), 'unknown corpus message lists the known ones')
try:
    corpora.read('ravdess', '/nonexistent/dir')
    check(False, 'missing directory accepted')
except FileNotFoundError as e:
    check('no such directory' in str(e), 'missing directory message')

print('corpora:', 'FAIL' if failures else 'ok')
sys.exit(1 if failures else 0)
