/* The analysis core: VAD-trimmed speech into windows, the model, smoothing.
 * See include/emotop/analyzer.h for the exact semantics. Not here: threads,
 * devices, resampling (the callers feed 16 kHz audio). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emotop/analyzer.h"
#include "emotop/audio.h"
#include "emotop/error.h"
#include "util/util.h"

#define SR EMO_SAMPLE_RATE

struct emo_analyzer {
	const struct emo_model *m;
	struct emo_analyzer_config cfg;
	struct emo_model_state *ms;
	struct emo_vad *vad;
	emo_result_fn on_result;
	emo_segment_fn on_segment;
	void *ud;
	int W, H, min_len;
	/* input not yet past the VAD's final point: hist[i] is sample
	 * hist_base + i */
	float *hist;
	size_t hist_len, hist_cap;
	int64_t hist_base, consumed; /* consumed: final samples handled */
	/* speech buffer: samples and their input positions */
	float *sp;
	int64_t *sp_pos;
	int sp_len, uncovered;
	int64_t sp_base; /* speech samples shifted out of sp: the stream
			    position of sp[0], for the encoder's reuse */
	int64_t windows;
	double speech_s;
	bool have_smooth;
	float smooth[EMO_MAX_LABELS];
	int label;
};

void emo_analyzer_destroy(struct emo_analyzer *a)
{
	if (!a)
		return;
	emo_model_state_destroy(a->ms);
	emo_vad_destroy(a->vad);
	free(a->hist);
	free(a->sp);
	free(a->sp_pos);
	free(a);
}

int emo_analyzer_create(const struct emo_model *m,
			const struct emo_analyzer_config *cfg,
			emo_result_fn on_result, emo_segment_fn on_segment,
			void *userdata, struct emo_analyzer **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!m)
		return -EINVAL;
	struct emo_analyzer_config defaults = emo_analyzer_config_default();
	if (!cfg)
		cfg = &defaults;
	if (!emo_model_head(m)) {
		emo_err("analyzer: the model has no emotion head");
		return EMO_E_MISSING;
	}
	if (!(cfg->window_s >= 0.1 && cfg->window_s <= 60) ||
	    !(cfg->hop_s > 0 && cfg->hop_s <= cfg->window_s) ||
	    !(cfg->min_window_s > 0 && cfg->min_window_s <= cfg->window_s) ||
	    !(cfg->ema_alpha > 0 && cfg->ema_alpha <= 1)) {
		emo_err("analyzer: need 0.1 <= window <= 60 s, 0 < hop <= window, "
			"0 < min window <= window, 0 < smoothing alpha <= 1");
		return -EINVAL;
	}
	struct emo_analyzer *a = calloc(1, sizeof *a);
	if (!a)
		return -ENOMEM;
	a->m = m;
	a->cfg = *cfg;
	a->on_result = on_result;
	a->on_segment = on_segment;
	a->ud = userdata;
	a->W = (int)lround(cfg->window_s * SR);
	a->H = (int)lround(cfg->hop_s * SR);
	a->min_len = (int)lround(cfg->min_window_s * SR);
	a->hist_cap = 1 << 16;
	a->hist = malloc(a->hist_cap * sizeof(float));
	a->sp = malloc((size_t)a->W * sizeof(float));
	a->sp_pos = malloc((size_t)a->W * sizeof(int64_t));
	int err = -ENOMEM;
	if (!a->hist || !a->sp || !a->sp_pos)
		goto fail;
	if ((err = emo_vad_create(&cfg->vad, &a->vad)) ||
	    (err = emo_model_state_create(m, a->W, &a->ms)))
		goto fail;
	emo_hubert_state_set_reuse(emo_model_state_encoder_mut(a->ms), cfg->reuse);
	a->label = -1;
	*out = a;
	return 0;
fail:
	emo_analyzer_destroy(a);
	return err;
}

/* Runs the model on sp[off, off+len) and reports. */
static int emit(struct emo_analyzer *a, int off, int len)
{
	struct emo_result r;
	memset(&r, 0, sizeof r);
	const int C = emo_model_num_labels(a->m);
	double t = emo_now();
	int T = emo_model_infer_at(a->m, a->ms, a->sp + off, len, a->sp_base + off,
				   r.probs);
	if (T < 0)
		return T;
	r.infer_s = emo_now() - t;
	r.index = a->windows++;
	r.t0 = (double)a->sp_pos[off] / SR;
	r.t1 = (double)(a->sp_pos[off + len - 1] + 1) / SR;
	r.speech_s = (double)len / SR;
	r.num_labels = C;
	float al = a->cfg.ema_alpha;
	for (int i = 0; i < C; i++)
		a->smooth[i] = a->have_smooth ?
			al * r.probs[i] + (1 - al) * a->smooth[i] : r.probs[i];
	a->have_smooth = true;
	memcpy(r.smoothed, a->smooth, sizeof(float) * (size_t)C);
	int top = 0;
	for (int i = 1; i < C; i++)
		if (a->smooth[i] > a->smooth[top])
			top = i;
	if (a->label < 0 || a->smooth[top] > a->smooth[a->label] + a->cfg.hysteresis)
		a->label = top;
	r.label = a->label;
	r.confidence = a->smooth[a->label];
	r.uncertain = len < a->min_len || a->smooth[top] < a->cfg.min_confidence;
	emo_affect_of_model(a->m, r.probs, &r.affect);
	emo_affect_of_model(a->m, r.smoothed, &r.affect_smoothed);
	a->uncovered = 0;
	if (a->on_result)
		a->on_result(&r, a->ud);
	return 0;
}

static int push_speech(struct emo_analyzer *a, const float *x, int64_t pos,
		       size_t n)
{
	for (size_t i = 0; i < n; i++) {
		a->sp[a->sp_len] = x[i];
		a->sp_pos[a->sp_len] = pos + (int64_t)i;
		a->sp_len++;
		a->uncovered++;
		if (a->sp_len == a->W) {
			int err = emit(a, 0, a->W);
			if (err)
				return err;
			memmove(a->sp, a->sp + a->H, sizeof(float) * (size_t)(a->W - a->H));
			memmove(a->sp_pos, a->sp_pos + a->H,
				sizeof(int64_t) * (size_t)(a->W - a->H));
			a->sp_len = a->W - a->H;
			a->sp_base += a->H;
		}
	}
	a->speech_s += (double)n / SR;
	return 0;
}

/* Moves samples the VAD has decided on out of hist: speech into the
 * window buffer, silence dropped. */
static int drain(struct emo_analyzer *a)
{
	int64_t fin = emo_vad_final_until(a->vad);
	if (fin <= a->consumed)
		goto segments;
	enum { MAXS = 64 };
	struct emo_vad_segment segs[MAXS];
	size_t ns = emo_vad_segments(a->vad, a->consumed, fin, segs, MAXS);
	for (size_t i = 0; i < ns; i++) {
		int err = push_speech(a, a->hist + (segs[i].start - a->hist_base),
				      segs[i].start, (size_t)(segs[i].end - segs[i].start));
		if (err)
			return err;
	}
	a->consumed = fin;
	/* drop what is decided */
	size_t drop = (size_t)(fin - a->hist_base);
	memmove(a->hist, a->hist + drop, (a->hist_len - drop) * sizeof(float));
	a->hist_len -= drop;
	a->hist_base = fin;
	emo_vad_forget_before(a->vad, fin - SR); /* keep a second for reports */
segments:;
	struct emo_vad_segment s;
	while (emo_vad_next_closed(a->vad, &s))
		if (a->on_segment)
			a->on_segment((double)s.start / SR, (double)s.end / SR, a->ud);
	return 0;
}

int emo_analyzer_process(struct emo_analyzer *a, const float *x, size_t n)
{
	/* in blocks, so hist stays bounded by the VAD's look-ahead + block */
	const size_t B = 4096;
	for (size_t off = 0; off < n; off += B) {
		size_t k = n - off < B ? n - off : B;
		if (a->hist_len + k > a->hist_cap) {
			size_t cap = a->hist_cap;
			while (cap < a->hist_len + k)
				cap *= 2;
			float *p = realloc(a->hist, cap * sizeof(float));
			if (!p)
				return -ENOMEM;
			a->hist = p;
			a->hist_cap = cap;
		}
		memcpy(a->hist + a->hist_len, x + off, k * sizeof(float));
		a->hist_len += k;
		emo_vad_process(a->vad, x + off, k);
		int err = drain(a);
		if (err)
			return err;
	}
	return 0;
}

int emo_analyzer_finish(struct emo_analyzer *a)
{
	emo_vad_finish(a->vad);
	int err = drain(a);
	if (err)
		return err;
	/* the tail: speech not covered by any window yet */
	if (a->uncovered >= SR / 4 && a->sp_len >= a->min_len)
		err = emit(a, 0, a->sp_len);
	a->sp_base += a->sp_len;
	a->sp_len = 0;
	a->uncovered = 0;
	return err;
}

void emo_analyzer_set_ema_alpha(struct emo_analyzer *a, float alpha)
{
	if (alpha > 0 && alpha <= 1)
		a->cfg.ema_alpha = alpha;
}

float emo_analyzer_get_ema_alpha(const struct emo_analyzer *a) { return a->cfg.ema_alpha; }
const struct emo_vad *emo_analyzer_vad(const struct emo_analyzer *a) { return a->vad; }
int64_t emo_analyzer_samples_in(const struct emo_analyzer *a) { return emo_vad_position(a->vad); }
double emo_analyzer_speech_seconds(const struct emo_analyzer *a) { return a->speech_s; }
int64_t emo_analyzer_windows(const struct emo_analyzer *a) { return a->windows; }
