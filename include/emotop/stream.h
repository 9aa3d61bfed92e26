/* emotop — the live engine: one analysis thread between a source's ring and
 * the consumer (TUI, JSON Lines writer).
 *
 * The thread waits on the source's semaphore, drains the ring, resamples to
 * 16 kHz (libsamplerate, streaming), optionally records that audio, and runs
 * the analyzer (VAD, windows, model, smoothing). Results, speech segments
 * and events go to the consumer through a bounded lock-free queue plus a
 * pipe it can poll(); the analysis thread never blocks on the consumer (a
 * full queue drops the event and counts it).
 *
 * When inference is slower than real time, audio piles up in the ring. The
 * thread never lets that backlog exceed max_backlog_s: the oldest part is
 * skipped (counted, reported as an "overrun" event, and fed to the analyzer
 * as silence so times stay true) rather than letting latency grow. If the
 * ring itself overflows, the capture side drops and counts samples.
 *
 * Stop: emo_stream_stop() sets an atomic flag, wakes the thread and joins
 * it; it returns within one window's computation.
 *
 * Ownership and lifetime: the caller owns the stream (emo_stream_destroy,
 * which stops it first). The model and the source are borrowed: both must
 * outlive the stream. The consumer calls (next_event, set_*, get_stats)
 * come from one thread; the stream starts the source itself. */
#ifndef EMOTOP_STREAM_H
#define EMOTOP_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "emotop/analyzer.h"
#include "emotop/audio.h"
#include "emotop/model.h"
#include "emotop/source.h"

#ifdef __cplusplus
extern "C" {
#endif

struct emo_stream_config {
	struct emo_analyzer_config analyzer;
	enum emo_resample_quality quality;
	double max_backlog_s;    /* default: window + 2 s; 0 with a fast file
				    source, which must never skip audio */
	const char *record_path; /* write the analysed 16 kHz audio (WAV/FLAC by
				    extension), or NULL */
	bool record_replace;     /* false (default): a recording never replaces
				    an existing file (EMO_E_EXISTS) */
};

struct emo_stream_config emo_stream_config_default(void);

enum emo_event_type {
	EMO_EVENT_RESULT,   /* .result */
	EMO_EVENT_SPEECH,   /* .t0, .t1: a closed speech segment */
	EMO_EVENT_OVERRUN,  /* .t0: when; .count: samples skipped or dropped */
	EMO_EVENT_PAUSE,    /* .t0; .count = 1 paused, 0 resumed */
	EMO_EVENT_ERROR,    /* .error: the source failed (device vanished...) */
	EMO_EVENT_RECORD_ERROR, /* .t0, .error: writing the recording failed; it
				   stopped there (what was written is intact),
				   analysis goes on */
	EMO_EVENT_END,      /* the source ended (or stop); always last */
};

struct emo_event {
	enum emo_event_type type;
	double t0, t1;
	uint64_t count;
	int error;
	double latency_s;      /* results: end of window audio -> result */
	struct emo_result result;
};

struct emo_stream_stats {
	double audio_s;          /* input analysed, seconds */
	double speech_s;
	uint64_t windows;
	uint64_t dropped;        /* samples lost to ring overflow (capture side) */
	uint64_t skipped;        /* samples skipped to bound latency */
	uint64_t events_lost;    /* queue full */
	uint64_t nonfinite;      /* NaN/Inf input samples replaced by silence */
	double infer_s;          /* total model time */
	double rtf;              /* infer_s / audio_s */
	double latency_p50, latency_p95, latency_last; /* seconds */
	float level_db;          /* recent input peak, dBFS */
	float vad_score;
	bool speech;             /* VAD raw decision now */
	bool paused;
	bool recording;
};

struct emo_stream;

int emo_stream_create(const struct emo_model *m, struct emo_source *src,
		      const struct emo_stream_config *cfg, struct emo_stream **out);
/* Starts the source and the analysis thread. */
int emo_stream_start(struct emo_stream *st);
/* A file descriptor that becomes readable when events are queued. */
int emo_stream_fd(const struct emo_stream *st);
/* Takes the next event; false if none. Consumer thread only. */
bool emo_stream_next_event(struct emo_stream *st, struct emo_event *ev);
void emo_stream_set_paused(struct emo_stream *st, bool paused);
/* Starts recording the analysed audio to `path`, or stops (NULL). Takes
 * effect on the analysis thread within one wake-up. The file is created
 * exclusively (an existing file is never replaced; the failure comes as an
 * EMO_EVENT_RECORD_ERROR).
 *
 * Recordings stay readable if the process is killed: a WAV's header is
 * rewritten after every write; a FLAC's stream header says "length
 * unknown" until it is closed, which the format allows. A 16-bit FLAC
 * recording is analysed as recorded: the samples are rounded to 16 bits
 * before the analyzer sees them, so `replay --reanalyze` reproduces the
 * session exactly. */
void emo_stream_set_recording(struct emo_stream *st, const char *path);
void emo_stream_set_smoothing(struct emo_stream *st, float alpha);
float emo_stream_get_smoothing(const struct emo_stream *st);
void emo_stream_get_stats(struct emo_stream *st, struct emo_stream_stats *s);
/* Stops and joins the thread (idempotent); the END event is queued. */
void emo_stream_stop(struct emo_stream *st);
bool emo_stream_running(const struct emo_stream *st);
void emo_stream_destroy(struct emo_stream *st);

#ifdef __cplusplus
}
#endif
#endif
