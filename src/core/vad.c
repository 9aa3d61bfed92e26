/* Voice activity detection: level over a minimum-statistics noise floor,
 * plus voicing from a normalised autocorrelation, into hysteresis, hangover
 * and a segment state machine with look-ahead. See include/emotop/vad.h.
 *
 * The noise floor is the minimum of the (lightly smoothed) frame level over
 * the last floor_window_ms: steady noise becomes the floor within that time,
 * while speech, which dips between syllables, keeps it low. Not here:
 * spectral noise models or anything trained. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "emotop/audio.h"
#include "emotop/error.h"
#include "util/clones.h"
#include "emotop/vad.h"

#define RATE EMO_SAMPLE_RATE
#define MAX_FRAME 480      /* 30 ms */
#define AC_DECIM 4         /* voicing is measured at 4 kHz: pitch needs no more */
#define AC_LEN 160         /* voicing window at 4 kHz: 40 ms */
#define AC_MIN_LAG 10      /* 400 Hz at 4 kHz */
#define AC_MAX_LAG 80      /* 50 Hz */

struct emo_vad {
	struct emo_vad_config cfg;
	int F;                 /* samples per frame */
	int min_speech, min_silence, pad, hangover; /* in frames */
	/* high-pass biquad (100 Hz Butterworth): coefficients and state */
	float b0, b1, b2, a1, a2, z1, z2;
	float frame[MAX_FRAME];
	int fill;
	float ac[AC_LEN];      /* last 40 ms, decimated to 8 kHz */
	int64_t nframes;       /* frames processed */
	/* floor */
	float *lev_hist;
	int hist_len, hist_pos, hist_fill;
	float smooth_db, floor_db, level_db, score;
	/* raw decision */
	bool raw;
	int hang_left;
	/* segment state machine (frames) */
	bool in_seg;
	int64_t run_start, run_len, sil_start, sil_len;
	int64_t last_end;      /* end of the last closed segment, frames */
	bool finished;
	/* segments, in samples; the last may be open (end < 0) */
	struct emo_vad_segment *segs;
	size_t nsegs, capsegs, closed_cursor;
	emo_vad_frame_fn frame_fn;
	void *frame_ud;
};

static int ms_frames(int ms, int frame_ms)
{
	return (ms + frame_ms / 2) / frame_ms;
}

void emo_vad_reset(struct emo_vad *v)
{
	v->z1 = v->z2 = 0;
	v->fill = 0;
	memset(v->ac, 0, sizeof v->ac);
	v->nframes = 0;
	v->hist_pos = v->hist_fill = 0;
	v->smooth_db = v->floor_db = v->level_db = -120.0f;
	v->score = 0;
	v->raw = false;
	v->hang_left = 0;
	v->in_seg = false;
	v->run_start = v->sil_start = -1;
	v->run_len = v->sil_len = 0;
	v->last_end = 0;
	v->finished = false;
	v->nsegs = v->closed_cursor = 0;
}

int emo_vad_create(const struct emo_vad_config *cfg, struct emo_vad **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	struct emo_vad_config defaults = emo_vad_config_default();
	if (!cfg)
		cfg = &defaults;
	if (cfg->frame_ms < 10 || cfg->frame_ms > 30 || cfg->threshold_on <= 0 ||
	    cfg->threshold_on > 1 || cfg->threshold_off < 0 ||
	    cfg->threshold_off > cfg->threshold_on || cfg->hangover_ms < 0 ||
	    cfg->min_speech_ms < 0 || cfg->min_silence_ms < 0 || cfg->pad_ms < 0 ||
	    cfg->floor_window_ms < 100) {
		emo_err("vad: invalid settings (frame 10-30 ms, 0 <= off <= on <= 1, "
			"durations >= 0, floor window >= 100 ms)");
		return -EINVAL;
	}
	struct emo_vad *v = calloc(1, sizeof *v);
	if (!v)
		return -ENOMEM;
	v->cfg = *cfg;
	v->F = RATE * cfg->frame_ms / 1000;
	v->min_speech = ms_frames(cfg->min_speech_ms, cfg->frame_ms);
	if (v->min_speech < 1)
		v->min_speech = 1;
	v->min_silence = ms_frames(cfg->min_silence_ms, cfg->frame_ms);
	if (v->min_silence < 1)
		v->min_silence = 1;
	v->pad = ms_frames(cfg->pad_ms, cfg->frame_ms);
	v->hangover = ms_frames(cfg->hangover_ms, cfg->frame_ms);
	v->hist_len = ms_frames(cfg->floor_window_ms, cfg->frame_ms);
	v->lev_hist = malloc(sizeof(float) * (size_t)v->hist_len);
	if (!v->lev_hist) {
		free(v);
		return -ENOMEM;
	}
	/* RBJ cookbook high-pass, f0 = 100 Hz, Q = 1/sqrt(2) */
	double w0 = 2 * M_PI * 100.0 / RATE, alpha = sin(w0) / (2 * M_SQRT1_2);
	double a0 = 1 + alpha;
	v->b0 = (float)((1 + cos(w0)) / 2 / a0);
	v->b1 = (float)(-(1 + cos(w0)) / a0);
	v->b2 = v->b0;
	v->a1 = (float)(-2 * cos(w0) / a0);
	v->a2 = (float)((1 - alpha) / a0);
	emo_vad_reset(v);
	*out = v;
	return 0;
}

void emo_vad_destroy(struct emo_vad *v)
{
	if (!v)
		return;
	free(v->lev_hist);
	free(v->segs);
	free(v);
}

void emo_vad_set_frame_callback(struct emo_vad *v, emo_vad_frame_fn fn,
				void *userdata)
{
	v->frame_fn = fn;
	v->frame_ud = userdata;
}

/* Highest normalised autocorrelation over pitch lags of the 8 kHz
 * voicing window: ~1 for a periodic (voiced) signal, ~0 for noise. */
EMO_CLONES
static float voicing(const float *x)
{
	double e[AC_LEN + 1];
	e[0] = 0;
	for (int i = 0; i < AC_LEN; i++)
		e[i + 1] = e[i] + (double)x[i] * x[i];
	float best = 0;
	for (int lag = AC_MIN_LAG; lag < AC_MAX_LAG; lag++) {
		int n = AC_LEN - lag;
		float acc = 0;
		for (int i = 0; i < n; i++)
			acc += x[i] * x[i + lag];
		double den = sqrt(e[n] * (e[AC_LEN] - e[lag]));
		if (den > 1e-12) {
			float r = (float)(acc / den);
			best = r > best ? r : best;
		}
	}
	return best;
}

static int push_segment(struct emo_vad *v, int64_t start)
{
	if (v->nsegs == v->capsegs) {
		size_t cap = v->capsegs ? v->capsegs * 2 : 16;
		struct emo_vad_segment *p = realloc(v->segs, cap * sizeof *p);
		if (!p)
			return -ENOMEM;
		v->segs = p;
		v->capsegs = cap;
	}
	v->segs[v->nsegs++] = (struct emo_vad_segment){start, -1};
	return 0;
}

static void segment_step(struct emo_vad *v, int64_t f, bool raw)
{
	if (!v->in_seg) {
		if (raw) {
			if (v->run_start < 0)
				v->run_start = f;
			if (++v->run_len >= v->min_speech) {
				int64_t s = v->run_start - v->pad;
				s = s < v->last_end ? v->last_end : s;
				s = s < 0 ? 0 : s;
				/* a segment that would start inside the previous
				 * one's padding continues it */
				if (v->nsegs && v->segs[v->nsegs - 1].end == s * v->F) {
					v->segs[v->nsegs - 1].end = -1;
					if (v->closed_cursor == v->nsegs)
						v->closed_cursor--;
				} else if (push_segment(v, s * v->F)) {
					return; /* out of memory: segment lost, counted nowhere */
				}
				v->in_seg = true;
				v->sil_start = -1;
				v->sil_len = 0;
			}
		} else {
			v->run_start = -1;
			v->run_len = 0;
		}
	} else {
		if (!raw) {
			if (v->sil_start < 0)
				v->sil_start = f;
			if (++v->sil_len >= v->min_silence) {
				v->last_end = v->sil_start + v->pad;
				v->segs[v->nsegs - 1].end = v->last_end * v->F;
				v->in_seg = false;
				v->run_start = -1;
				v->run_len = 0;
			}
		} else {
			v->sil_start = -1;
			v->sil_len = 0;
		}
	}
}

static void frame_done(struct emo_vad *v)
{
	/* level of the high-passed frame, dBFS (full-scale square = 0 dB) */
	double ss = 0;
	for (int i = 0; i < v->F; i++)
		ss += (double)v->frame[i] * v->frame[i];
	float lev = (float)(10.0 * log10(ss / v->F + 1e-12));
	v->level_db = lev;

	/* voicing window: shift in this frame, decimated by averaging
	 * AC_DECIM samples (a crude low-pass, enough for pitch) */
	int h = v->F / AC_DECIM;
	memmove(v->ac, v->ac + h, sizeof(float) * (AC_LEN - h));
	for (int i = 0; i < h; i++) {
		float acc = 0;
		for (int k = 0; k < AC_DECIM; k++)
			acc += v->frame[AC_DECIM * i + k];
		v->ac[AC_LEN - h + i] = acc / AC_DECIM;
	}
	float voiced = voicing(v->ac);

	/* noise floor: minimum of the smoothed level over the window */
	v->smooth_db = v->nframes ? 0.7f * v->smooth_db + 0.3f * lev : lev;
	v->lev_hist[v->hist_pos] = v->smooth_db;
	v->hist_pos = (v->hist_pos + 1) % v->hist_len;
	if (v->hist_fill < v->hist_len)
		v->hist_fill++;
	float mn = v->lev_hist[0];
	for (int i = 1; i < v->hist_fill; i++)
		mn = v->lev_hist[i] < mn ? v->lev_hist[i] : mn;
	/* never below the silence gate: after digital silence the first
	 * sound is measured against the gate, not against -120 dB */
	float gate = v->cfg.min_level_dbfs;
	v->floor_db = mn < gate - 10 ? gate - 10 : mn;

	float score = 0;
	if (lev >= gate) {
		float logit = (lev - v->floor_db - v->cfg.snr_db) / 2.5f +
			      3.0f * (voiced - 0.5f);
		score = 1.0f / (1.0f + expf(-logit));
	}
	v->score = score;

	if (!v->raw) {
		if (score >= v->cfg.threshold_on) {
			v->raw = true;
			v->hang_left = v->hangover;
		}
	} else if (score < v->cfg.threshold_off) {
		if (v->hang_left-- <= 0)
			v->raw = false;
	} else {
		v->hang_left = v->hangover;
	}
	segment_step(v, v->nframes, v->raw);
	if (v->frame_fn)
		v->frame_fn(v->nframes, score, v->raw, v->frame_ud);
	v->nframes++;
}

void emo_vad_process(struct emo_vad *v, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		/* transposed direct form II */
		float in = x[i];
		float y = v->b0 * in + v->z1;
		v->z1 = v->b1 * in - v->a1 * y + v->z2;
		v->z2 = v->b2 * in - v->a2 * y;
		v->frame[v->fill++] = y;
		if (v->fill == v->F) {
			frame_done(v);
			v->fill = 0;
		}
	}
}

int64_t emo_vad_position(const struct emo_vad *v)
{
	return v->nframes * v->F + v->fill;
}

void emo_vad_finish(struct emo_vad *v)
{
	if (v->finished)
		return;
	int64_t pos = emo_vad_position(v);
	if (v->in_seg) {
		int64_t end = v->sil_start >= 0 ? (v->sil_start + v->pad) * v->F : pos;
		v->segs[v->nsegs - 1].end = end < pos ? end : pos;
		v->in_seg = false;
	}
	/* a segment closed with its padding past the end stops at the end */
	if (v->nsegs && v->segs[v->nsegs - 1].end > pos)
		v->segs[v->nsegs - 1].end = pos;
	v->finished = true;
}

int64_t emo_vad_final_until(const struct emo_vad *v)
{
	int64_t pos = emo_vad_position(v);
	if (v->finished)
		return pos;
	int64_t f;
	if (v->in_seg)
		f = v->sil_start >= 0 ? v->sil_start + v->pad : v->nframes;
	else
		/* a run starting now would reach back `pad` frames, and could
		 * reopen the last segment if that reaches its end */
		f = (v->run_start >= 0 ? v->run_start : v->nframes) - v->pad;
	int64_t s = f * v->F;
	if (s > v->nframes * v->F)
		s = v->nframes * v->F;
	return s < 0 ? 0 : s;
}

size_t emo_vad_segments(const struct emo_vad *v, int64_t from, int64_t to,
			struct emo_vad_segment *out, size_t max)
{
	int64_t fin = emo_vad_final_until(v);
	size_t k = 0;
	for (size_t i = 0; i < v->nsegs && k < max; i++) {
		int64_t s = v->segs[i].start, e = v->segs[i].end;
		if (e < 0 || e > fin)
			e = fin;
		if (s < from)
			s = from;
		if (e > to)
			e = to;
		if (e > s)
			out[k++] = (struct emo_vad_segment){s, e};
	}
	return k;
}

bool emo_vad_next_closed(struct emo_vad *v, struct emo_vad_segment *seg)
{
	int64_t fin = emo_vad_final_until(v);
	if (v->closed_cursor < v->nsegs) {
		struct emo_vad_segment *s = &v->segs[v->closed_cursor];
		if (s->end >= 0 && s->end <= fin) {
			*seg = *s;
			v->closed_cursor++;
			return true;
		}
	}
	return false;
}

void emo_vad_forget_before(struct emo_vad *v, int64_t sample)
{
	size_t drop = 0;
	while (drop < v->nsegs && drop < v->closed_cursor &&
	       v->segs[drop].end >= 0 && v->segs[drop].end <= sample)
		drop++;
	if (!drop)
		return;
	memmove(v->segs, v->segs + drop, (v->nsegs - drop) * sizeof *v->segs);
	v->nsegs -= drop;
	v->closed_cursor -= drop;
}

float emo_vad_last_score(const struct emo_vad *v) { return v->score; }
bool emo_vad_raw_speech(const struct emo_vad *v) { return v->raw; }
float emo_vad_last_level_db(const struct emo_vad *v) { return v->level_db; }
float emo_vad_noise_floor_db(const struct emo_vad *v) { return v->floor_db; }
int emo_vad_frame_samples(const struct emo_vad *v) { return v->F; }
