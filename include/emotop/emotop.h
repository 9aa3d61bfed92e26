/* emotop — speech emotion recognition from a microphone or a file:
 * a HuBERT encoder with a bidirectional-LSTM head (the Hubert-LSTM paper's
 * method), in C. This umbrella header includes the whole installed API.
 *
 * Build against the installed library with
 *     cc app.c $(pkg-config --cflags --libs emotop)
 *
 * Analyse a buffer (16 kHz mono float samples; emo_audio_read() decodes and
 * resamples any file libsndfile reads):
 *
 *     struct emo_model *m;
 *     if (emo_model_load("models/emotop-small", NULL, &m))
 *             return 1;                      // the log said why
 *     struct emo_model_state *s;
 *     emo_model_state_create(m, n, &s);      // activations for n samples
 *     float probs[EMO_MAX_LABELS];
 *     if (emo_model_infer(m, s, samples, n, probs) >= 0)
 *             for (int i = 0; i < emo_model_num_labels(m); i++)
 *                     printf("%s %.3f\n", emo_model_label(m, i), probs[i]);
 *     emo_model_state_destroy(s);
 *     emo_model_destroy(m);
 *
 * Or let the analyzer cut speech into windows (VAD, hop, smoothing) and
 * call back per window: emo_analyzer_create(m, &cfg, on_result, NULL, ud,
 * &a); emo_analyzer_process(a, samples, n); emo_analyzer_finish(a).
 *
 * Stream from a device (or a file played as one): a source fills a ring on
 * its own thread, the stream analyses on another, events come to you:
 *
 *     struct emo_source_config sc = emo_source_config_default(); // default mic
 *     struct emo_stream_config cfg = emo_stream_config_default();
 *     struct emo_source *src;
 *     struct emo_stream *st;
 *     emo_source_pa_init();
 *     emo_source_open(&sc, &src);
 *     emo_stream_create(m, src, &cfg, &st);  // m and src outlive st
 *     emo_stream_start(st);
 *     for (;;) {
 *             struct pollfd p = {.fd = emo_stream_fd(st), .events = POLLIN};
 *             poll(&p, 1, -1);
 *             struct emo_event ev;
 *             while (emo_stream_next_event(st, &ev)) {
 *                     if (ev.type == EMO_EVENT_RESULT) ... ev.result.smoothed ...
 *                     if (ev.type == EMO_EVENT_END) goto done;
 *             }
 *     }
 *     done: emo_stream_destroy(st); emo_source_close(src); emo_source_terminate();
 *
 * Conventions: functions return 0 (or a count) on success and a negative
 * error code otherwise, which emo_strerror() names; details go to the log
 * handler (emo_log_set_handler, stderr by default). Whoever creates an
 * object destroys it; each header says what must outlive what and which
 * calls are thread safe. No type of a third-party library appears here.
 *
 * NULL and lifetimes: every create/open/load function refuses a NULL output
 * pointer and a NULL required input (a path, a model, a source) with
 * -EINVAL, and takes a NULL configuration or parameter struct as the
 * defaults (emo_*_default()). Every destroy/close/free function accepts
 * NULL. A stream or source starts once (a second start is -EBUSY) and may
 * be stopped any number of times. The session writer's write_* calls and
 * emo_audio_reader_read also refuse a NULL writer, reader, record or
 * buffer, a zero capacity and non-finite times with -EINVAL (never a
 * crash, a hang or -ENOMEM). Other calls on a NULL object, NULL
 * sample buffers on the hot path and a second destroy are invalid uses
 * (tests/unit/api.c checks what is promised here).
 * examples/ in the source tree holds complete programs. */
#ifndef EMOTOP_H
#define EMOTOP_H

#include "emotop/version.h"
#include "emotop/error.h"
#include "emotop/audio.h"
#include "emotop/vad.h"
#include "emotop/precision.h"
#include "emotop/hubert.h"
#include "emotop/model.h"
#include "emotop/affect.h"
#include "emotop/metrics.h"
#include "emotop/analyzer.h"
#include "emotop/ring.h"
#include "emotop/source.h"
#include "emotop/stream.h"
#include "emotop/session.h"

#endif
