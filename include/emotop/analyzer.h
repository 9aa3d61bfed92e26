/* emotop — the analysis core: 16 kHz audio -> VAD -> speech-only windows ->
 * model -> smoothed results.
 *
 * Synchronous and single-threaded: `emotop analyze`, `eval` and replay
 * call it directly, and the live stream's analysis thread calls it with
 * captured audio, so every path computes the same windows from the same
 * samples (that is what makes live and offline results agree).
 *
 * Windows are cut from the concatenated speech (silence removed): one every
 * hop_s seconds of speech, window_s long. When the input ends, speech not
 * yet covered by a window (>= 0.25 s) gets one last window over the final
 * window_s (or all the speech, if less but >= min_window_s). A window's t0
 * and t1 are the times of its first and last speech samples in the input.
 *
 * Smoothing: an exponential moving average of window probabilities
 * (ema_alpha weight on the newest), and hysteresis on the dominant label:
 * it changes only when another label's smoothed probability exceeds the
 * current one's by `hysteresis`. A result is "uncertain" when its window
 * holds less than min_window_s of speech or the smoothed top probability is
 * below min_confidence.
 *
 * Ownership: the caller owns the analyzer (emo_analyzer_destroy); the
 * model must outlive it. Callbacks run on the calling thread, inside
 * emo_analyzer_process/finish; a result points into the analyzer and is
 * valid only during the call. One thread at a time. */
#ifndef EMOTOP_ANALYZER_H
#define EMOTOP_ANALYZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emotop/affect.h"
#include "emotop/hubert.h"
#include "emotop/model.h"
#include "emotop/vad.h"

#ifdef __cplusplus
extern "C" {
#endif

struct emo_analyzer_config {
	double window_s;       /* default 2.0 */
	double hop_s;          /* default 0.5 */
	double min_window_s;   /* default 0.5 */
	float ema_alpha;       /* default 0.5; 1 = no smoothing */
	float hysteresis;      /* default 0.05 */
	float min_confidence;  /* default 0.3 */
	/* overlapping windows reuse the encoder's conv features where that
	 * is exact (hubert.h); EMO_REUSE_APPROX also under per-window input
	 * normalisation, an approximation for experiments */
	enum emo_feature_reuse reuse;
	struct emo_vad_config vad;
};

struct emo_analyzer_config emo_analyzer_config_default(void);

struct emo_result {
	int64_t index;         /* window number, from 0 */
	double t0, t1;         /* seconds since the start of the input */
	double speech_s;       /* seconds of speech in the window */
	int num_labels;
	float probs[EMO_MAX_LABELS];    /* this window's probabilities */
	float smoothed[EMO_MAX_LABELS]; /* after the moving average */
	int label;             /* dominant label (with hysteresis) */
	float confidence;      /* smoothed probability of `label` */
	bool uncertain;
	double infer_s;        /* seconds the model took */
	/* valence, arousal and the 3-class valence (affect.h), computed once
	 * here for both: `affect` of the window's own probabilities (what logs
	 * and analyze write), `affect_smoothed` of the smoothed ones (what the
	 * TUI shows). Readers use these and never recompute. */
	struct emo_affect affect, affect_smoothed;
};

/* Called for each window result, and for each closed speech segment
 * (seconds since the start of the input). */
typedef void (*emo_result_fn)(const struct emo_result *r, void *userdata);
typedef void (*emo_segment_fn)(double t0, double t1, void *userdata);

struct emo_analyzer;

int emo_analyzer_create(const struct emo_model *m,
			const struct emo_analyzer_config *cfg,
			emo_result_fn on_result, emo_segment_fn on_segment,
			void *userdata, struct emo_analyzer **out);
void emo_analyzer_destroy(struct emo_analyzer *a);

/* Feeds n samples (16 kHz mono). Runs the model inline for every window
 * that completes; returns 0 or a negative error from the model. */
int emo_analyzer_process(struct emo_analyzer *a, const float *x, size_t n);
/* End of input: flushes the VAD and the last partial window. */
int emo_analyzer_finish(struct emo_analyzer *a);

/* Smoothing strength can change while running (the TUI's +/- keys). */
void emo_analyzer_set_ema_alpha(struct emo_analyzer *a, float alpha);
float emo_analyzer_get_ema_alpha(const struct emo_analyzer *a);

const struct emo_vad *emo_analyzer_vad(const struct emo_analyzer *a);
int64_t emo_analyzer_samples_in(const struct emo_analyzer *a);
double emo_analyzer_speech_seconds(const struct emo_analyzer *a);
int64_t emo_analyzer_windows(const struct emo_analyzer *a);

#ifdef __cplusplus
}
#endif
#endif
