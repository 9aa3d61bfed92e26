/* Emotion heads: the paper's BiLSTM and Hugging Face's classification head.
 * See head.h for the exact definitions. Not here: multi-
 * layer LSTMs (num_layers > 1 is refused at load), attention pooling. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotop/error.h"
#include "nn/head.h"
#include "nn/safetensors.h"
#include "util/util.h"
#include "nn/ops.h"
#include "nn/wstats.h"

struct lstm_dir {
	const float *w_ih, *w_hh; /* (4H, D), (4H, H) */
	float *bias;              /* b_ih + b_hh, owned */
};

struct emo_head {
	enum emo_head_type type;
	int hidden;      /* encoder hidden size D */
	int num_layers;  /* encoder layers L */
	int num_labels;
	char desc[96];
	/* bilstm */
	int lstm_h;      /* H_l */
	int layer;       /* hidden state fed to the LSTM, 0..L */
	bool pool_last;
	struct lstm_dir dir[2]; /* forward, backward */
	/* hf */
	float *layer_w;  /* softmaxed layer weights (L+1), owned, or NULL */
	const float *proj_w, *proj_b; /* (P, D), (P) */
	int proj;        /* P */
	/* both: (C, 2·H_l) or (C, P), and (C) */
	const float *cls_w, *cls_b;
	struct emo_wstats *stats; /* window-statistics branch, or NULL; owned */
};

/* A head tensor by name and shape (internal.h's binder). d0 < 0: the
 * classifier is missing, which the caller reports once. */
static const float *take(struct emo_binder *b, const char *name, int ndim,
			 long d0, long d1)
{
	if (d0 < 0)
		return NULL;
	return ndim == 2 ? EMO_BIND2(b, d0, d1, "%s", name) :
			   EMO_BIND1(b, d0, "%s", name);
}

void emo_head_destroy(struct emo_head *h)
{
	if (!h)
		return;
	free(h->dir[0].bias);
	free(h->dir[1].bias);
	free(h->layer_w);
	emo_wstats_destroy(h->stats);
	free(h);
}

/* Number of classes: rows of classifier.weight, cross-checked with
 * id2label by the model loader. */
static int classifier_rows(const struct emo_safetensors *st)
{
	const struct emo_tensor *t = emo_safetensors_find(st, "classifier.weight");
	return t && t->ndim == 2 ? (int)t->shape[0] : -1;
}

static int create_bilstm(struct emo_head *h, json_t *hc,
			 const struct emo_safetensors *st, bool *used)
{
	struct emo_binder b = {st, "", used, 0};
	json_t *v = json_object_get(hc, "hidden_size");
	h->lstm_h = json_is_integer(v) ? (int)json_integer_value(v) : 256;
	v = json_object_get(hc, "num_layers");
	if (v && (!json_is_integer(v) || json_integer_value(v) != 1)) {
		emo_err("model: emotop_head.num_layers must be 1 (a single "
			"bidirectional layer, as in the paper)");
		return EMO_E_UNSUPPORTED;
	}
	const char *pool = json_string_value(json_object_get(hc, "pooling"));
	if (pool && strcmp(pool, "mean") && strcmp(pool, "last")) {
		emo_err("model: emotop_head.pooling \"%s\" is not mean or last", pool);
		return EMO_E_UNSUPPORTED;
	}
	h->pool_last = pool && !strcmp(pool, "last");
	v = json_object_get(hc, "layer");
	int layer = json_is_integer(v) ? (int)json_integer_value(v) : -1;
	if (layer < 0)
		layer += h->num_layers + 1;
	if (layer < 0 || layer > h->num_layers || h->lstm_h <= 0 ||
	    h->lstm_h > 8192) {
		emo_err("model: emotop_head.layer %d or hidden_size %d out of range",
			layer, h->lstm_h);
		return EMO_E_BADMODEL;
	}
	h->layer = layer;
	const int H = h->lstm_h, D = h->hidden;
	for (int d = 0; d < 2; d++) {
		const char *suf = d ? "_reverse" : "";
		char n[64];
		snprintf(n, sizeof n, "lstm.weight_ih_l0%s", suf);
		h->dir[d].w_ih = take(&b, n, 2, 4L * H, D);
		snprintf(n, sizeof n, "lstm.weight_hh_l0%s", suf);
		h->dir[d].w_hh = take(&b, n, 2, 4L * H, H);
		snprintf(n, sizeof n, "lstm.bias_ih_l0%s", suf);
		const float *bi = take(&b, n, 1, 4L * H, 0);
		snprintf(n, sizeof n, "lstm.bias_hh_l0%s", suf);
		const float *bh = take(&b, n, 1, 4L * H, 0);
		if (bi && bh) {
			h->dir[d].bias = malloc(sizeof(float) * 4 * (size_t)H);
			if (!h->dir[d].bias)
				return -ENOMEM;
			for (int i = 0; i < 4 * H; i++)
				h->dir[d].bias[i] = bi[i] + bh[i];
		}
	}
	h->num_labels = classifier_rows(st);
	h->cls_w = take(&b, "classifier.weight", 2, h->num_labels, 2L * H);
	h->cls_b = take(&b, "classifier.bias", 1, h->num_labels, 0);
	json_t *sc = json_object_get(hc, "stats");
	bool stats = sc && !json_is_null(sc);
	snprintf(h->desc, sizeof h->desc, "bilstm(%d, %s pooling, layer %d)%s", H,
		 h->pool_last ? "last" : "mean", layer, stats ? " + window stats" : "");
	if (b.err || !stats)
		return b.err;
	if (h->num_labels < 1)
		return EMO_E_BADMODEL; /* reported by the caller */
	return emo_wstats_create(sc, st, used, h->num_labels, &h->stats);
}

static int create_hf(struct emo_head *h, json_t *cfg,
		     const struct emo_safetensors *st, bool *used)
{
	struct emo_binder b = {st, "", used, 0};
	json_t *v = json_object_get(cfg, "classifier_proj_size");
	h->proj = json_is_integer(v) ? (int)json_integer_value(v) : 256;
	if (json_is_true(json_object_get(cfg, "use_weighted_layer_sum"))) {
		const float *lw = take(&b, "layer_weights", 1,
				       h->num_layers + 1, 0);
		if (lw) {
			h->layer_w = malloc(sizeof(float) * (size_t)(h->num_layers + 1));
			if (!h->layer_w)
				return -ENOMEM;
			memcpy(h->layer_w, lw, sizeof(float) * (size_t)(h->num_layers + 1));
			emo_ops_softmax(h->layer_w, 1, h->num_layers + 1);
		}
	}
	h->proj_w = take(&b, "projector.weight", 2, h->proj, h->hidden);
	h->proj_b = take(&b, "projector.bias", 1, h->proj, 0);
	h->num_labels = classifier_rows(st);
	h->cls_w = take(&b, "classifier.weight", 2, h->num_labels, h->proj);
	h->cls_b = take(&b, "classifier.bias", 1, h->num_labels, 0);
	snprintf(h->desc, sizeof h->desc, "hf(projector %d%s)", h->proj,
		 h->layer_w ? ", weighted layer sum" : "");
	return b.err;
}

static bool is_sequence_classification(json_t *cfg)
{
	json_t *a = json_object_get(cfg, "architectures");
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) {
		const char *s = json_string_value(v);
		if (s && strstr(s, "ForSequenceClassification"))
			return true;
	}
	return false;
}

int emo_head_create(const json_t *config, const struct emo_safetensors *st,
		    bool *used, int hidden_size, int num_layers,
		    struct emo_head **out)
{
	json_t *cfg = (json_t *)config; /* jansson's getters are not const */
	*out = NULL;
	json_t *hc = json_object_get(cfg, "emotop_head");
	bool hf = !hc && is_sequence_classification(cfg);
	if (!hc && !hf)
		return EMO_E_MISSING; /* no head described (not logged: the
					 model loader says what it means) */
	struct emo_head *h = calloc(1, sizeof *h);
	if (!h)
		return -ENOMEM;
	h->hidden = hidden_size;
	h->num_layers = num_layers;
	int err;
	if (hc) {
		const char *type = json_string_value(json_object_get(hc, "type"));
		if (!type || strcmp(type, "bilstm")) {
			emo_err("model: emotop_head.type \"%s\" is not supported "
				"(bilstm)", type ? type : "(none)");
			emo_head_destroy(h);
			return EMO_E_UNSUPPORTED;
		}
		h->type = EMO_HEAD_BILSTM;
		err = create_bilstm(h, hc, st, used);
	} else {
		h->type = EMO_HEAD_HF;
		err = create_hf(h, cfg, st, used);
	}
	if (!err && (h->num_labels < 1 || h->num_labels > 1024)) {
		emo_err("model: classifier.weight is missing or has an unusable "
			"number of classes");
		err = EMO_E_BADMODEL;
	}
	if (err) {
		emo_head_destroy(h);
		return err;
	}
	*out = h;
	return 0;
}

enum emo_head_type emo_head_get_type(const struct emo_head *h)
{
	return h->type;
}

int emo_head_num_labels(const struct emo_head *h)
{
	return h->num_labels;
}

const char *emo_head_describe(const struct emo_head *h)
{
	return h->desc;
}

size_t emo_head_scratch(const struct emo_head *h, int T, int max_samples)
{
	if (h->type == EMO_HEAD_BILSTM) { /* gates_x (T,4H), gates, h, c, pooled */
		size_t lstm = (size_t)T * 4 * h->lstm_h + 4 * (size_t)h->lstm_h +
			      2 * (size_t)h->lstm_h + 2 * (size_t)h->lstm_h;
		size_t st = h->stats ? emo_wstats_scratch(h->stats, max_samples) : 0;
		return lstm > st ? lstm : st;
	}
	/* mixed (T,D) + projected (T,P) + pooled (P) */
	return (size_t)T * h->hidden + (size_t)T * h->proj + (size_t)h->proj;
}

/* One direction of the LSTM over x(T,D); adds each step's h into pooled
 * (mean pooling) or leaves the final h there (last pooling). */
static void lstm_run(const struct emo_head *hd, const struct lstm_dir *dir,
		     bool reverse, const float *x, int T, float *gx, float *gates,
		     float *hc, float *pooled)
{
	const int H = hd->lstm_h, D = hd->hidden;
	/* gx(T,4H) = x(T,D) · W_ih(4H,D)ᵀ + (b_ih + b_hh) */
	emo_ops_linear(gx, 4 * H, x, D, dir->w_ih, dir->bias, T, D, 4 * H);
	float *h = hc, *c = hc + H;
	memset(hc, 0, sizeof(float) * 2 * (size_t)H);
	memset(pooled, 0, sizeof(float) * (size_t)H);
	for (int i = 0; i < T; i++) {
		int t = reverse ? T - 1 - i : i;
		memcpy(gates, gx + (size_t)t * 4 * H, sizeof(float) * 4 * (size_t)H);
		emo_ops_lstm_cell(h, c, gates, dir->w_hh, H);
		if (!hd->pool_last)
			for (int j = 0; j < H; j++)
				pooled[j] += h[j];
	}
	if (hd->pool_last)
		memcpy(pooled, h, sizeof(float) * (size_t)H);
	else
		for (int j = 0; j < H; j++)
			pooled[j] /= (float)T;
}

void emo_head_forward(const struct emo_head *h,
		      const struct emo_hubert_state *s, int T,
		      const float *samples, int n, float *scratch, float *probs)
{
	const int C = h->num_labels;
	if (h->type == EMO_HEAD_BILSTM) {
		const int H = h->lstm_h;
		float *gx = scratch, *gates = gx + (size_t)T * 4 * H,
		      *hc = gates + 4 * H, *pooled = hc + 2 * H;
		const float *x = emo_hubert_hidden(s, h->layer);
		lstm_run(h, &h->dir[0], false, x, T, gx, gates, hc, pooled);
		lstm_run(h, &h->dir[1], true, x, T, gx, gates, hc, pooled + H);
		/* logits(C) = W_c(C, 2H) · pooled(2H) + b_c */
		emo_ops_linear(probs, C, pooled, 2 * H, h->cls_w, h->cls_b, 1, 2 * H, C);
		if (h->stats) /* late fusion: its logits added (scratch reused) */
			emo_wstats_add_logits(h->stats, samples, n, scratch, probs);
	} else {
		const int D = h->hidden, P = h->proj;
		float *mixed = scratch, *proj = mixed + (size_t)T * D,
		      *pooled = proj + (size_t)T * P;
		const float *x = emo_hubert_hidden(s, h->num_layers);
		if (h->layer_w) {
			size_t TD = (size_t)T * D;
			memset(mixed, 0, TD * sizeof(float));
			for (int l = 0; l <= h->num_layers; l++) {
				const float *hl = emo_hubert_hidden(s, l);
				float w = h->layer_w[l];
				for (size_t i = 0; i < TD; i++)
					mixed[i] += w * hl[i];
			}
			x = mixed;
		}
		/* proj(T,P) = x(T,D) · W_p(P,D)ᵀ + b_p */
		emo_ops_linear(proj, P, x, D, h->proj_w, h->proj_b, T, D, P);
		for (int j = 0; j < P; j++) {
			double acc = 0;
			for (int t = 0; t < T; t++)
				acc += proj[(size_t)t * P + j];
			pooled[j] = (float)(acc / T);
		}
		emo_ops_linear(probs, C, pooled, P, h->cls_w, h->cls_b, 1, P, C);
	}
	emo_ops_softmax(probs, 1, C);
}
