/* The window-statistics branch: log-mel statistics of a window into a
 * small MLP whose logits are added to the head's. Definitions in
 * wstats.h; the PyTorch reference is window_stats() and StatsNet in
 * models/multicorpus.py. The spectrum is one GEMM of the windowed frames
 * with a DFT basis (cos and -sin rows); everything after it is in double. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "emotop/error.h"
#include "nn/safetensors.h"
#include "nn/ops.h"
#include "nn/wstats.h"

struct emo_wstats {
	int n_fft, hop, bins; /* bins = n_fft / 2 + 1 */
	int mels, dim, hidden, labels; /* dim = 3·mels + 1 */
	double loud_nat;      /* loud_db in natural-log units: loud_db·ln 10/10 */
	double floor;         /* added to the mel energy before the log */
	float *basis;         /* (2·bins, n_fft): window·cos rows, then window·-sin; owned */
	int *band_lo, *band_hi; /* (mels): nonzero bins [lo, hi) of each triangle; owned */
	const float *mel_fb;  /* (mels, bins) */
	const float *mean, *std; /* (dim) */
	const float *w1, *b1; /* (hidden, dim), (hidden) */
	const float *w2, *b2; /* (labels, hidden), (labels) */
};

void emo_wstats_destroy(struct emo_wstats *w)
{
	if (!w)
		return;
	free(w->basis);
	free(w->band_lo);
	free(w->band_hi);
	free(w);
}

static int get_int(json_t *cfg, const char *key, int def, int lo, int hi, int *out)
{
	json_t *v = json_object_get(cfg, key);
	if (!v) {
		*out = def;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < lo ||
	    json_integer_value(v) > hi) {
		emo_err("model: emotop_head.stats.%s must be an integer in %d..%d", key,
			lo, hi);
		return EMO_E_BADMODEL;
	}
	*out = (int)json_integer_value(v);
	return 0;
}

static int get_real(json_t *cfg, const char *key, double def, double lo,
		    double hi, double *out)
{
	json_t *v = json_object_get(cfg, key);
	if (!v) {
		*out = def;
		return 0;
	}
	if (!json_is_number(v) || !(json_number_value(v) >= lo) ||
	    !(json_number_value(v) <= hi)) {
		emo_err("model: emotop_head.stats.%s must be a number in %g..%g", key,
			lo, hi);
		return EMO_E_BADMODEL;
	}
	*out = json_number_value(v);
	return 0;
}

/* The windowed DFT basis and each band's nonzero bins. */
static int prepare(struct emo_wstats *w, const float *window)
{
	const int N = w->n_fft, K = w->bins;
	w->basis = malloc(sizeof(float) * 2 * (size_t)K * N);
	w->band_lo = malloc(sizeof(int) * (size_t)w->mels);
	w->band_hi = malloc(sizeof(int) * (size_t)w->mels);
	if (!w->basis || !w->band_lo || !w->band_hi)
		return -ENOMEM;
	for (int k = 0; k < K; k++)
		for (int j = 0; j < N; j++) {
			/* the phase reduced mod N in integers keeps it exact */
			double ph = 2.0 * M_PI * (double)(((long)k * j) % N) / N;
			w->basis[(size_t)k * N + j] = (float)(window[j] * cos(ph));
			w->basis[(size_t)(K + k) * N + j] = (float)(-window[j] * sin(ph));
		}
	for (int b = 0; b < w->mels; b++) {
		const float *row = w->mel_fb + (size_t)b * K;
		int lo = 0, hi = K;
		while (lo < K && row[lo] == 0.0f)
			lo++;
		while (hi > lo && row[hi - 1] == 0.0f)
			hi--;
		w->band_lo[b] = lo;
		w->band_hi[b] = hi;
	}
	return 0;
}

int emo_wstats_create(json_t *cfg, const struct emo_safetensors *st, bool *used,
		      int num_labels, struct emo_wstats **out)
{
	*out = NULL;
	if (!json_is_object(cfg)) {
		emo_err("model: emotop_head.stats must be an object");
		return EMO_E_BADMODEL;
	}
	struct emo_wstats *w = calloc(1, sizeof *w);
	if (!w)
		return -ENOMEM;
	double loud_db = 30;
	int err = get_int(cfg, "n_fft", 400, 16, 8192, &w->n_fft);
	if (!err)
		err = get_int(cfg, "hop_length", 160, 1, 8192, &w->hop);
	if (!err)
		err = get_int(cfg, "n_mels", 64, 1, 512, &w->mels);
	if (!err)
		err = get_int(cfg, "hidden_size", 256, 1, 8192, &w->hidden);
	if (!err)
		err = get_real(cfg, "loud_db", 30, 1e-3, 300, &loud_db);
	if (!err)
		err = get_real(cfg, "log_floor", 1e-6, 1e-30, 1, &w->floor);
	if (err) {
		emo_wstats_destroy(w);
		return err;
	}
	w->bins = w->n_fft / 2 + 1;
	w->dim = 3 * w->mels + 1;
	w->labels = num_labels;
	w->loud_nat = loud_db * log(10.0) / 10.0;
	struct emo_binder b = {st, "", used, 0};
	const float *window = EMO_BIND1(&b, w->n_fft, "stats.window");
	w->mel_fb = EMO_BIND2(&b, w->mels, w->bins, "stats.mel_fb");
	w->mean = EMO_BIND1(&b, w->dim, "stats.mean");
	w->std = EMO_BIND1(&b, w->dim, "stats.std");
	w->w1 = EMO_BIND2(&b, w->hidden, w->dim, "stats.fc1.weight");
	w->b1 = EMO_BIND1(&b, w->hidden, "stats.fc1.bias");
	w->w2 = EMO_BIND2(&b, num_labels, w->hidden, "stats.fc2.weight");
	w->b2 = EMO_BIND1(&b, num_labels, "stats.fc2.bias");
	err = b.err;
	for (int i = 0; !err && i < w->dim; i++)
		if (!(w->std[i] > 0) || !isfinite(w->mean[i])) {
			emo_err("model: stats.std[%d] is not positive or stats.mean[%d] "
				"is not finite",
				i, i);
			err = EMO_E_BADMODEL;
		}
	if (!err)
		err = prepare(w, window);
	if (err) {
		emo_wstats_destroy(w);
		return err;
	}
	*out = w;
	return 0;
}

static int frames_of(const struct emo_wstats *w, int n)
{
	return n < w->n_fft ? 1 : 1 + (n - w->n_fft) / w->hop;
}

/* The scratch of one window of n samples, in floats; the double arrays
 * start at even offsets of an 8-byte aligned buffer. */
struct layout {
	float *x;      /* (max(n, n_fft)) normalised samples */
	float *frames; /* (T, n_fft) */
	float *spec;   /* (T, 2·bins): re, then im, per frame */
	double *m;     /* (T, mels) log-mel */
	double *pw;    /* (bins) power of one frame */
	double *e;     /* (T) log energy per frame */
	double *acc;   /* (4·mels) sums */
	float *f;      /* (dim) features, then standardised */
	float *hid;    /* (hidden) */
	size_t total;
};

static size_t even(size_t n) { return (n + 1) & ~(size_t)1; }

static struct layout layout_of(const struct emo_wstats *w, int n, float *base)
{
	struct layout L;
	size_t T = (size_t)frames_of(w, n), o = 0;
#define PLACE(field, type, count)                                             \
	L.field = (type *)(void *)(base ? base + o : NULL);                    \
	o += even((count) * (sizeof(type) / sizeof(float)));
	PLACE(x, float, (size_t)(n > w->n_fft ? n : w->n_fft));
	PLACE(frames, float, T * w->n_fft);
	PLACE(spec, float, T * 2 * w->bins);
	PLACE(m, double, T * w->mels);
	PLACE(pw, double, (size_t)w->bins);
	PLACE(e, double, T);
	PLACE(acc, double, 4 * (size_t)w->mels);
	PLACE(f, float, (size_t)w->dim);
	PLACE(hid, float, (size_t)w->hidden);
#undef PLACE
	L.total = o;
	return L;
}

size_t emo_wstats_scratch(const struct emo_wstats *w, int max_samples)
{
	return layout_of(w, max_samples, NULL).total;
}

/* Fills L.f with the features of samples(n). */
static void features(const struct emo_wstats *w, const float *samples, int n,
		     const struct layout *L)
{
	const int N = w->n_fft, K = w->bins, B = w->mels;
	const int T = frames_of(w, n);
	double *m = L->m, *pw = L->pw, *e = L->e;
	emo_ops_normalize(L->x, samples, n);
	if (n < N)
		memset(L->x + n, 0, sizeof(float) * (size_t)(N - n));
	for (int t = 0; t < T; t++)
		memcpy(L->frames + (size_t)t * N, L->x + (size_t)t * w->hop,
		       sizeof(float) * N);
	/* spec(T, 2K) = frames(T, N) · basis(2K, N)ᵀ */
	emo_ops_linear(L->spec, 2 * K, L->frames, N, w->basis, NULL, T, N, 2 * K);

	double emax = -INFINITY;
	for (int t = 0; t < T; t++) {
		const float *re = L->spec + (size_t)t * 2 * K, *im = re + K;
		for (int k = 0; k < K; k++)
			pw[k] = (double)re[k] * re[k] + (double)im[k] * im[k];
		double mx = -INFINITY;
		double *mt = m + (size_t)t * B;
		for (int b = 0; b < B; b++) {
			const float *row = w->mel_fb + (size_t)b * K;
			double s = 0;
			for (int k = w->band_lo[b]; k < w->band_hi[b]; k++)
				s += row[k] * pw[k];
			mt[b] = log(s + w->floor);
			if (mt[b] > mx)
				mx = mt[b];
		}
		double se = 0;
		for (int b = 0; b < B; b++)
			se += exp(mt[b] - mx);
		e[t] = mx + log(se);
		if (e[t] > emax)
			emax = e[t];
	}
	/* mean and deviation over the loud frames (the loudest always is),
	 * deviation of the deltas over all frames */
	double *sum = L->acc, *sq = sum + B, *dsum = sum + 2 * B, *dsq = sum + 3 * B;
	memset(L->acc, 0, sizeof(double) * 4 * (size_t)B);
	int loud = 0;
	for (int t = 0; t < T; t++) {
		if (!(e[t] > emax - w->loud_nat))
			continue;
		loud++;
		for (int b = 0; b < B; b++)
			sum[b] += m[(size_t)t * B + b];
	}
	for (int b = 0; b < B; b++)
		sum[b] /= loud;
	for (int t = 0; t < T; t++) {
		if (!(e[t] > emax - w->loud_nat))
			continue;
		for (int b = 0; b < B; b++) {
			double d = m[(size_t)t * B + b] - sum[b];
			sq[b] += d * d;
		}
	}
	for (int t = 0; t + 1 < T; t++)
		for (int b = 0; b < B; b++)
			dsum[b] += m[(size_t)(t + 1) * B + b] - m[(size_t)t * B + b];
	for (int b = 0; b < B && T > 1; b++)
		dsum[b] /= T - 1;
	for (int t = 0; t + 1 < T; t++)
		for (int b = 0; b < B; b++) {
			double d = m[(size_t)(t + 1) * B + b] - m[(size_t)t * B + b] - dsum[b];
			dsq[b] += d * d;
		}
	float *f = L->f;
	for (int b = 0; b < B; b++) {
		f[b] = (float)sum[b];
		f[B + b] = (float)sqrt(sq[b] / loud);
		f[2 * B + b] = T > 1 ? (float)sqrt(dsq[b] / (T - 1)) : 0.0f;
	}
	f[3 * B] = (float)((double)loud / T);
}

void emo_wstats_add_logits(const struct emo_wstats *w, const float *samples,
			   int n, float *scratch, float *logits)
{
	struct layout L = layout_of(w, n, scratch);
	float *f = L.f, *hid = L.hid;
	features(w, samples, n, &L);
	for (int i = 0; i < w->dim; i++)
		f[i] = (f[i] - w->mean[i]) / w->std[i];
	/* hid(H) = relu(W1(H, dim) · f + b1) */
	emo_ops_linear(hid, w->hidden, f, w->dim, w->w1, w->b1, 1, w->dim, w->hidden);
	for (int i = 0; i < w->hidden; i++)
		if (hid[i] < 0)
			hid[i] = 0;
	for (int c = 0; c < w->labels; c++) {
		double s = w->b2[c];
		for (int j = 0; j < w->hidden; j++)
			s += (double)w->w2[(size_t)c * w->hidden + j] * hid[j];
		logits[c] += (float)s;
	}
}
