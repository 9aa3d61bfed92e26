/* The analyzer's contract (analyzer.h) on generated speech and the tiny
 * fixture model: window count and times, the moving average, hysteresis,
 * the uncertain gate, the final flush, silence, and that feeding the same
 * audio in any block sizes gives the same results. No corpus needed. */
#include "emotop/analyzer.h"
#include "gen_audio.h"
#include "testlib.h"

#define MAXW 512

struct rec {
	int n;
	struct emo_result r[MAXW];
	int nseg;
	double seg[64][2];
};

static void on_result(const struct emo_result *r, void *ud)
{
	struct rec *c = ud;
	if (c->n < MAXW)
		c->r[c->n++] = *r;
}

static void on_segment(double t0, double t1, void *ud)
{
	struct rec *c = ud;
	if (c->nseg < 64) {
		c->seg[c->nseg][0] = t0;
		c->seg[c->nseg][1] = t1;
		c->nseg++;
	}
}

static struct emo_model *model(void)
{
	char p[4096];
	t_path(p, sizeof p, "tests/fixtures/model-tiny-bilstm");
	struct emo_model *m = NULL;
	CHECK_EQ_INT(emo_model_load(p, NULL, &m), 0);
	return m;
}

/* Runs x through a new analyzer fed in blocks of `block` samples. */
static double run(const struct emo_model *m, const struct emo_analyzer_config *cfg,
		  const float *x, size_t n, size_t block, struct rec *out)
{
	memset(out, 0, sizeof *out);
	struct emo_analyzer *a;
	CHECK_EQ_INT(emo_analyzer_create(m, cfg, on_result, on_segment, out, &a), 0);
	for (size_t off = 0; off < n; off += block)
		CHECK_EQ_INT(emo_analyzer_process(a, x + off, n - off < block ? n - off : block), 0);
	CHECK_EQ_INT(emo_analyzer_finish(a), 0);
	double speech = emo_analyzer_speech_seconds(a);
	CHECK_EQ_INT(emo_analyzer_windows(a), out->n);
	emo_analyzer_destroy(a);
	return speech;
}

static void test_contract(const struct emo_model *m)
{
	size_t n;
	float *x = gen_voice(9.0, 16000, &n);
	struct emo_analyzer_config cfg = emo_analyzer_config_default();
	cfg.min_confidence = 0.2f;
	struct rec *c = calloc(1, sizeof *c);
	double speech = run(m, &cfg, x, n, 4096, c);
	const int C = emo_model_num_labels(m);
	long Ns = lround(speech * 16000), W = 32000, H = 8000;
	fprintf(stderr, "  %.2f s speech in %d segment(s), %d windows\n", speech,
		c->nseg, c->n);
	CHECK(c->nseg >= 2 && speech > 4.0);
	/* full windows: one per hop once a window of speech is there */
	long full = Ns >= W ? (Ns - W) / H + 1 : 0;
	long uncovered = full ? Ns - (W + (full - 1) * H) : Ns;
	long want = full + (uncovered >= 4000 ? 1 : 0);
	CHECK_EQ_INT(c->n, want);
	double segspeech = 0;
	for (int s = 0; s < c->nseg; s++)
		segspeech += c->seg[s][1] - c->seg[s][0];
	CHECK(fabs(segspeech - speech) < 1e-6); /* segments are the speech */
	for (int i = 0; i < c->n; i++) {
		const struct emo_result *r = &c->r[i];
		CHECK_EQ_INT(r->index, i);
		if (i < full)
			CHECK(fabs(r->speech_s - 2.0) < 1e-9);
		CHECK(r->t1 - r->t0 >= r->speech_s - 1e-9); /* silence removed inside */
		CHECK(r->t0 >= c->seg[0][0] - 1e-9 && r->t1 <= c->seg[c->nseg - 1][1] + 1e-9);
		if (i)
			CHECK(r->t0 >= c->r[i - 1].t0 && r->t1 >= c->r[i - 1].t1);
		double sum = 0;
		for (int k = 0; k < C; k++)
			sum += r->probs[k];
		CHECK(fabs(sum - 1) < 1e-4);
		/* EMA: newest weighs alpha */
		for (int k = 0; k < C; k++) {
			float want_s = i ? cfg.ema_alpha * r->probs[k] +
						   (1 - cfg.ema_alpha) * c->r[i - 1].smoothed[k]
					 : r->probs[k];
			CHECK(fabsf(r->smoothed[k] - want_s) < 1e-6f);
		}
		/* hysteresis: the label moves only to a label ahead by more
		 * than the margin, and then to the top one */
		int top = 0;
		for (int k = 1; k < C; k++)
			if (r->smoothed[k] > r->smoothed[top])
				top = k;
		if (i && r->label != c->r[i - 1].label) {
			CHECK_EQ_INT(r->label, top);
			CHECK(r->smoothed[top] > r->smoothed[c->r[i - 1].label] + cfg.hysteresis);
		} else if (i) {
			CHECK(!(r->smoothed[top] > r->smoothed[r->label] + cfg.hysteresis));
		}
		CHECK(fabsf(r->confidence - r->smoothed[r->label]) < 1e-7f);
		/* uncertain gate */
		bool unc = r->speech_s < cfg.min_window_s - 1e-9 ||
			   r->smoothed[top] < cfg.min_confidence;
		CHECK(r->uncertain == unc);
	}
	/* the final flush covers the speech up to its last sample */
	if (want > full)
		CHECK(fabs(c->r[c->n - 1].t1 - c->seg[c->nseg - 1][1]) < 1e-9);

	/* block size changes nothing */
	struct rec *d = calloc(1, sizeof *d);
	run(m, &cfg, x, n, 777, d);
	CHECK_EQ_INT(d->n, c->n);
	for (int i = 0; i < c->n && i < d->n; i++)
		CHECK(!memcmp(c->r[i].probs, d->r[i].probs, sizeof c->r[i].probs) &&
		      c->r[i].t0 == d->r[i].t0 && c->r[i].t1 == d->r[i].t1);

	/* min_confidence 1: every result is uncertain; a hysteresis of 1
	 * keeps the first label for ever */
	cfg.min_confidence = 1.0f;
	cfg.hysteresis = 1.0f;
	run(m, &cfg, x, n, 4096, d);
	for (int i = 0; i < d->n; i++) {
		CHECK(d->r[i].uncertain);
		CHECK_EQ_INT(d->r[i].label, d->r[0].label);
	}
	/* no smoothing: smoothed == probs */
	cfg = emo_analyzer_config_default();
	cfg.ema_alpha = 1.0f;
	run(m, &cfg, x, n, 4096, d);
	for (int i = 0; i < d->n; i++)
		CHECK(!memcmp(d->r[i].probs, d->r[i].smoothed, sizeof(float) * (size_t)C));
	free(c);
	free(d);
	free(x);
}

static void test_silence_and_short(const struct emo_model *m)
{
	struct emo_analyzer_config cfg = emo_analyzer_config_default();
	struct rec *c = calloc(1, sizeof *c);
	float *z = calloc(16000 * 5, sizeof *z);
	double sp = run(m, &cfg, z, 16000 * 5, 4096, c);
	CHECK(sp == 0 && c->n == 0 && c->nseg == 0);
	/* 0.3 s of speech: below the 0.5 s minimum window, no result */
	size_t n;
	float *x = gen_voice(3.0, 16000, &n);
	for (size_t i = 0; i < n; i++)
		z[16000 + i] = i < 4800 ? x[i] : 0;
	sp = run(m, &cfg, z, 16000 * 5, 4096, c);
	fprintf(stderr, "  0.3 s burst: %.2f s speech, %d window(s)\n", sp, c->n);
	CHECK(sp * 16000 < cfg.min_window_s * 16000 ? c->n == 0 : c->n == 1);
	/* 1.2 s of speech: no full window, one flushed window over all of it */
	for (size_t i = 0; i < n; i++)
		z[16000 + i] = i < 19200 ? x[i] : 0;
	sp = run(m, &cfg, z, 16000 * 5, 4096, c);
	CHECK_EQ_INT(c->n, 1);
	if (c->n)
		CHECK(fabs(c->r[0].speech_s - sp) < 1e-9 && c->r[0].uncertain ==
		      (c->r[0].smoothed[c->r[0].label] < cfg.min_confidence));
	free(x);
	free(z);
	free(c);
}

int main(void)
{
	t_init();
	struct emo_model *m = model();
	if (m) {
		test_contract(m);
		test_silence_and_short(m);
	}
	emo_model_destroy(m);
	return t_finish("analyzer");
}
