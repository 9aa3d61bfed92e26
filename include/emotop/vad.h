/* emotop — voice activity detection over 16 kHz mono audio, streaming.
 *
 * Per frame (frame_ms, 10-30 ms) it computes a speech score in [0, 1] from
 * the level above an adaptive noise floor and the periodicity (voicing) of
 * the signal, after a high-pass that removes DC and mains hum. Decisions:
 *  - raw: score hysteresis (on/off thresholds) plus a hangover;
 *  - segments: raw speech runs shorter than min_speech_ms are dropped, gaps
 *    shorter than min_silence_ms are bridged, and every segment is padded
 *    by pad_ms on both sides (clamped to the audio).
 * Segment decisions need look-ahead: emo_vad_final_until() tells up to
 * which sample they can no longer change. Not thread safe; one instance per
 * stream. Written from scratch: no model, no training data. */
#ifndef EMOTOP_VAD_H
#define EMOTOP_VAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct emo_vad_config {
	int frame_ms;           /* 10..30; default 20 */
	float threshold_on;     /* score to enter speech; default 0.5 */
	float threshold_off;    /* score to leave speech; default 0.35 */
	int hangover_ms;        /* raw speech held after the score drops; 100 */
	int min_speech_ms;      /* shorter speech runs are ignored; 100 */
	int min_silence_ms;     /* shorter gaps are bridged; 300 */
	int pad_ms;             /* added before and after each segment; 100 */
	float snr_db;           /* level above the noise floor that scores 0.5; 9 */
	float min_level_dbfs;   /* frames quieter than this are never speech; -60 */
	int floor_window_ms;    /* noise floor = quietest level over this; 1500 */
};

struct emo_vad_config emo_vad_config_default(void);

struct emo_vad_segment {
	int64_t start, end; /* samples since the stream began, end exclusive */
};

struct emo_vad;

int emo_vad_create(const struct emo_vad_config *cfg, struct emo_vad **out);
void emo_vad_destroy(struct emo_vad *v);
/* Back to the state of a new instance (sample counter at 0). */
void emo_vad_reset(struct emo_vad *v);

/* Feeds n samples (any n; partial frames are kept for the next call). */
void emo_vad_process(struct emo_vad *v, const float *x, size_t n);
/* Ends the stream: closes an open segment at the last sample. */
void emo_vad_finish(struct emo_vad *v);

/* Samples before this index have final segment decisions. */
int64_t emo_vad_final_until(const struct emo_vad *v);
/* Samples fed so far. */
int64_t emo_vad_position(const struct emo_vad *v);

/* Copies segments overlapping [from, to) clipped to it, up to max; returns
 * how many. Segments still open are reported up to final_until. */
size_t emo_vad_segments(const struct emo_vad *v, int64_t from, int64_t to,
			struct emo_vad_segment *out, size_t max);
/* Closed segments not yet taken by this call, oldest first (for logs). */
bool emo_vad_next_closed(struct emo_vad *v, struct emo_vad_segment *seg);
/* Drops history before `sample` (segments ending before it). */
void emo_vad_forget_before(struct emo_vad *v, int64_t sample);

/* Most recent frame: score in [0, 1], raw decision, level in dBFS and
 * the noise floor estimate, for meters. */
float emo_vad_last_score(const struct emo_vad *v);
bool emo_vad_raw_speech(const struct emo_vad *v);
float emo_vad_last_level_db(const struct emo_vad *v);
float emo_vad_noise_floor_db(const struct emo_vad *v);
int emo_vad_frame_samples(const struct emo_vad *v);

/* Per-frame callback for tools that want the raw track (emotop vad
 * --frames, the benchmark): frame index, score, raw decision. */
typedef void (*emo_vad_frame_fn)(int64_t frame, float score, bool raw,
				 void *userdata);
void emo_vad_set_frame_callback(struct emo_vad *v, emo_vad_frame_fn fn,
				void *userdata);

#ifdef __cplusplus
}
#endif
#endif
