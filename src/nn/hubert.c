/* The HuBERT / wav2vec2 encoder: config parsing, weight binding, forward.
 *
 * Activations are time-major (T, C). The feature encoder's convolutions and
 * the grouped positional convolution go through emo_ops_conv1d with weights
 * reordered once at load; everything else is GEMMs over views into the
 * safetensors map. One arena per state; forward allocates nothing.
 *
 * Not here: attention masks for padded batches (we run one window at a
 * time), dropout/layerdrop (inference only), conv_pos_batch_norm. */
#include <assert.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "emotop/error.h"
#include "emotop/hubert.h"
#include "nn/hubert-internal.h"
#include "nn/safetensors.h"
#include "util/util.h"
#include "nn/linear.h"
#include "nn/ops.h"

/* Shapes in comments are row-major: (rows, columns). H hidden size, FF
 * intermediate size, L layers, C_i the channels of conv layer i, K_i its
 * kernel, T frames, P positional-conv kernel, G its groups. */

struct conv_layer {
	/* (cout, k, cin) reordered copy: packed from, and the fallback's
	 * weights; freed (NULL) once oneDNN holds it packed (conv_layer()
	 * reorders the file's again if oneDNN ever declines a shape) */
	float *w;
	const float *b;           /* (cout), or NULL without conv_bias */
	const float *ln_g, *ln_b; /* (cout): GroupNorm (layer 0, group mode) or LayerNorm */
	int cin, cout, k, s;
	/* the convolution as one product over overlapping input rows:
	 * y(t) = W(cout, k·cin) · x[t·s·cin .. +k·cin) (linear.h) */
	struct emo_linear *lin;
};

struct enc_layer {
	const float *q_w, *q_b, *k_w, *k_b, *v_w, *v_b; /* (H, H), (H) each */
	const float *o_w, *o_b;                          /* (H, H), (H) */
	/* [q; k; v] stacked (3H, H) and (3H): one GEMM. The weights are
	 * freed (NULL) once oneDNN holds them packed; OpenBLAS then runs three
	 * products from q_w, k_w, v_w where oneDNN cannot (attention()) */
	float *qkv_w, *qkv_b;
	struct emo_linear *qkv, *o, *ff1, *ff2; /* prepared products (linear.h) */
	const float *ln_g, *ln_b;   /* (H): attention's LayerNorm */
	const float *ff1_w, *ff1_b; /* (FF, H), (FF) */
	const float *ff2_w, *ff2_b; /* (H, FF), (H) */
	const float *fln_g, *fln_b; /* (H): the feed-forward's LayerNorm */
};

struct emo_hubert {
	struct emo_hubert_config cfg;
	struct conv_layer conv[EMO_HUBERT_MAX_CONV];
	/* tensors of the file only copied at load (reordered, normalised,
	 * stacked): emo_hubert_drop_copied lets their pages go */
	const float *conv_src[EMO_HUBERT_MAX_CONV]; /* (cout, cin, k) each */
	const float *pos_v_src;                     /* (H, H/G, P) */
	const float *fp_ln_g, *fp_ln_b; /* (C_last): feature projection's LayerNorm */
	const float *fp_w, *fp_b;       /* (H, C_last), (H) */
	float *pos_w; /* weight-normed, reordered (H, P, H/G) */
	const float *pos_b;             /* (H) */
	const float *enc_ln_g, *enc_ln_b; /* (H): the encoder's LayerNorm */
	struct enc_layer *layers;         /* (L) */
	struct emo_linear *fp;            /* the feature projection's product */
	enum emo_precision precision;
	float *owned; /* the weight-normed and stacked copies above */
};

struct emo_hubert_state {
	const struct emo_hubert *h;
	int max_samples, max_frames;
	size_t bytes;
	float *arena; /* every buffer below, 64-byte aligned */
	float *norm_in;      /* (max_samples): the normalised window (do_normalize) */
	/* The feature encoder runs over chunk_frames output frames at a time
	 * (a chunk's samples, through every conv layer), so its activations
	 * take a chunk's room, not the window's: at 10 s, HuBERT-base's first
	 * conv alone outputs 64 MB. */
	int chunk_frames;
	float *conv_a, *conv_b; /* (T_i, C_i) of a chunk: conv layers' outputs,
				   ping-pong; conv_a is also (T, C) scratch */
	float *conv_scratch; /* im2col rows of one conv layer of a chunk */
	/* a chunked base encoder's first-conv GroupNorm: the per-channel sums
	 * (2 C0 doubles), then mean, scale and shift (C0 floats each) */
	float *gn;
	/* conv features of the last window, (max_frames, C): frame j of the
	 * caller's stream is row j - fc_first (emo_hubert_forward_at) */
	float *fcache;
	int64_t fc_first;   /* stream frame of row 0; -1: nothing cached */
	int fc_n;
	enum emo_feature_reuse reuse;
	long reused, computed; /* frames, over all forwards */
	float *hs;          /* (L+1, T, H): every hidden state, layer 0 first */
	float *qkv;         /* (T, 3H): queries, keys, values side by side */
	float *attn_ctx;    /* (T, H): attention's weighted values, heads side by side */
	float *branch;      /* (T, H): a sublayer's output before its residual add */
	float *normed;      /* (T, H): the projection's output, then each pre-norm
			     * sublayer's normalised input */
	float *pre_final;   /* (T, H): the last layer's output before the final
			     * LayerNorm (stable-layer-norm encoders) */
	float *scores;      /* (T, T): one head's attention */
	float *ff;          /* (T, FF): the feed-forward's inner activations */
	float *pos_scratch; /* the positional convolution's im2col rows */
	int frames; /* T of the last forward */
	struct emo_linear_ctx *lctx;
	struct emo_hubert_profile prof;
	double mark; /* emo_now() at the end of the last profiled stage */
};

const struct emo_hubert_profile *emo_hubert_profile(const struct emo_hubert_state *s)
{
	return &s->prof;
}

void emo_hubert_profile_reset(struct emo_hubert_state *s)
{
	memset(&s->prof, 0, sizeof s->prof);
	static const enum emo_hubert_stage gemm[] = {
		EMO_STAGE_CONV, EMO_STAGE_PROJ, EMO_STAGE_POS, EMO_STAGE_QKV,
		EMO_STAGE_ATTN, EMO_STAGE_OUT, EMO_STAGE_FF1, EMO_STAGE_FF2,
	};
	for (size_t i = 0; i < sizeof gemm / sizeof *gemm; i++)
		s->prof.gemm[gemm[i]] = true;
}

const char *emo_hubert_stage_name(enum emo_hubert_stage st)
{
	static const char *const names[EMO_STAGE_N] = {
		"conv", "projection", "pos-conv", "qkv", "attention", "softmax",
		"out-proj", "ff1", "ff2", "gelu", "norm+residual",
	};
	return st < EMO_STAGE_N ? names[st] : "?";
}

/* Charges the time since the last mark to stage `st`, with `flops`. */
static inline void stage(struct emo_hubert_state *s, enum emo_hubert_stage st,
			 double flops)
{
	double now = emo_now();
	s->prof.seconds[st] += now - s->mark;
	s->prof.flops[st] += flops;
	s->mark = now;
}

/* ---- config ------------------------------------------------------------ */

static int json_int_array(json_t *root, const char *key, int *out, int max,
			  int *n)
{
	json_t *a = json_object_get(root, key);
	if (!json_is_array(a) || json_array_size(a) == 0 ||
	    json_array_size(a) > (size_t)max) {
		emo_err("config: \"%s\" must be an array of 1..%d integers", key, max);
		return EMO_E_BADMODEL;
	}
	for (size_t i = 0; i < json_array_size(a); i++) {
		json_t *v = json_array_get(a, i);
		if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
		    json_integer_value(v) > 1 << 20) {
			emo_err("config: \"%s\"[%zu] must be a positive integer", key, i);
			return EMO_E_BADMODEL;
		}
		out[i] = (int)json_integer_value(v);
	}
	*n = (int)json_array_size(a);
	return 0;
}

static int json_pos_int(json_t *root, const char *key, int def, int *out)
{
	json_t *v = json_object_get(root, key);
	if (!v) {
		if (def < 0) {
			emo_err("config: required key \"%s\" is missing", key);
			return EMO_E_BADMODEL;
		}
		*out = def;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
	    json_integer_value(v) > 1 << 20) {
		emo_err("config: \"%s\" must be a positive integer", key);
		return EMO_E_BADMODEL;
	}
	*out = (int)json_integer_value(v);
	return 0;
}

static bool json_flag(json_t *root, const char *key, bool def)
{
	json_t *v = json_object_get(root, key);
	return json_is_boolean(v) ? json_is_true(v) : def;
}

int emo_hubert_config_from_json(const json_t *config, const json_t *pre_json,
				struct emo_hubert_config *cfg)
{
	/* jansson's getters take non-const pointers; nothing here modifies */
	json_t *root = (json_t *)config;
	json_t *pre = (json_t *)pre_json;
	int err, n1, n2, n3;
	memset(cfg, 0, sizeof *cfg);
	if (!json_is_object(root)) {
		emo_err("config: not a JSON object");
		return EMO_E_BADMODEL;
	}
	const char *mt = emo_json_str(root, "model_type", "");
	if (strcmp(mt, "hubert") && strcmp(mt, "wav2vec2")) {
		emo_err("config: model_type \"%s\" is not supported (hubert or "
			"wav2vec2)", mt);
		return EMO_E_UNSUPPORTED;
	}
	snprintf(cfg->model_type, sizeof cfg->model_type, "%s", mt);
	if ((err = json_int_array(root, "conv_dim", cfg->conv_dim,
				  EMO_HUBERT_MAX_CONV, &n1)) ||
	    (err = json_int_array(root, "conv_kernel", cfg->conv_kernel,
				  EMO_HUBERT_MAX_CONV, &n2)) ||
	    (err = json_int_array(root, "conv_stride", cfg->conv_stride,
				  EMO_HUBERT_MAX_CONV, &n3)))
		return err;
	if (n1 != n2 || n1 != n3) {
		emo_err("config: conv_dim, conv_kernel and conv_stride have "
			"different lengths (%d, %d, %d)", n1, n2, n3);
		return EMO_E_BADMODEL;
	}
	cfg->num_conv = n1;
	cfg->conv_bias = json_flag(root, "conv_bias", false);
	const char *fen = emo_json_str(root, "feat_extract_norm", "group");
	if (strcmp(fen, "group") && strcmp(fen, "layer")) {
		emo_err("config: feat_extract_norm \"%s\" is not group or layer", fen);
		return EMO_E_UNSUPPORTED;
	}
	cfg->feat_norm_layer = strcmp(fen, "layer") == 0;
	cfg->stable_layer_norm = json_flag(root, "do_stable_layer_norm", false);
	/* wav2vec2's feature projection always has its LayerNorm; HuBERT's
	 * has it unless feat_proj_layer_norm is false */
	cfg->feat_proj_layer_norm = strcmp(mt, "hubert") == 0 ?
		json_flag(root, "feat_proj_layer_norm", true) : true;
	if ((err = json_pos_int(root, "hidden_size", 768, &cfg->hidden_size)) ||
	    (err = json_pos_int(root, "num_hidden_layers", 12, &cfg->num_layers)) ||
	    (err = json_pos_int(root, "num_attention_heads", 12, &cfg->num_heads)) ||
	    (err = json_pos_int(root, "intermediate_size", 3072,
				&cfg->intermediate_size)) ||
	    (err = json_pos_int(root, "num_conv_pos_embeddings", 128,
				&cfg->pos_conv_kernel)) ||
	    (err = json_pos_int(root, "num_conv_pos_embedding_groups", 16,
				&cfg->pos_conv_groups)))
		return err;
	json_t *eps = json_object_get(root, "layer_norm_eps");
	cfg->layer_norm_eps = json_is_number(eps) ? (float)json_number_value(eps) :
						    1e-5f;
	if (eps && !(json_is_number(eps) && cfg->layer_norm_eps > 0 &&
		     cfg->layer_norm_eps <= 0.1f)) {
		/* a negative one made every window "non-finite input" */
		emo_err("config: layer_norm_eps must be a number in (0, 0.1] (1e-5 "
			"in HuBERT), not %g", json_number_value(eps));
		return EMO_E_BADMODEL;
	}
	if (cfg->hidden_size % cfg->num_heads) {
		emo_err("config: hidden_size %d is not a multiple of "
			"num_attention_heads %d", cfg->hidden_size, cfg->num_heads);
		return EMO_E_BADMODEL;
	}
	if (cfg->hidden_size % cfg->pos_conv_groups) {
		emo_err("config: hidden_size %d is not a multiple of "
			"num_conv_pos_embedding_groups %d", cfg->hidden_size,
			cfg->pos_conv_groups);
		return EMO_E_BADMODEL;
	}
	const char *act = emo_json_str(root, "hidden_act", "gelu");
	const char *fact = emo_json_str(root, "feat_extract_activation", "gelu");
	if (strcmp(act, "gelu") || strcmp(fact, "gelu")) {
		emo_err("config: activation \"%s\"/\"%s\" is not supported (gelu)",
			act, fact);
		return EMO_E_UNSUPPORTED;
	}
	if (json_flag(root, "conv_pos_batch_norm", false)) {
		emo_err("config: conv_pos_batch_norm is not supported");
		return EMO_E_UNSUPPORTED;
	}
	cfg->do_normalize = false;
	if (pre) {
		cfg->do_normalize = json_flag(pre, "do_normalize", false);
		json_t *sr = json_object_get(pre, "sampling_rate");
		if (sr && (!json_is_integer(sr) || json_integer_value(sr) != 16000)) {
			emo_err("preprocessor_config: sampling_rate must be 16000");
			return EMO_E_UNSUPPORTED;
		}
	}
	return 0;
}

int emo_hubert_config_load(const char *model_dir, struct emo_hubert_config *cfg)
{
	char path[4096];
	int err;
	snprintf(path, sizeof path, "%s/config.json", model_dir);
	json_t *c = emo_json_load_file(path, false, &err);
	if (!c)
		return err;
	snprintf(path, sizeof path, "%s/preprocessor_config.json", model_dir);
	json_t *p = emo_json_load_file(path, true, &err);
	if (err) {
		json_decref(c);
		return err;
	}
	err = emo_hubert_config_from_json(c, p, cfg);
	json_decref(c);
	json_decref(p);
	return err;
}

/* ---- weights ----------------------------------------------------------- */

static const char *detect_prefix(const struct emo_safetensors *st)
{
	static const char *const prefixes[] = {"", "hubert.", "wav2vec2."};
	char name[128];
	for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
		snprintf(name, sizeof name,
			 "%sfeature_extractor.conv_layers.0.conv.weight", prefixes[i]);
		if (emo_safetensors_find(st, name))
			return prefixes[i];
	}
	return "";
}

void emo_hubert_destroy(struct emo_hubert *h)
{
	if (!h)
		return;
	for (int l = 0; h->layers && l < h->cfg.num_layers; l++) {
		free(h->layers[l].qkv_w);
		emo_linear_destroy(h->layers[l].qkv);
		emo_linear_destroy(h->layers[l].o);
		emo_linear_destroy(h->layers[l].ff1);
		emo_linear_destroy(h->layers[l].ff2);
	}
	emo_linear_destroy(h->fp);
	for (int i = 0; i < h->cfg.num_conv; i++) {
		emo_linear_destroy(h->conv[i].lin);
		free(h->conv[i].w);
	}
	free(h->layers);
	free(h->owned);
	free(h);
}

enum emo_precision emo_hubert_precision(const struct emo_hubert *h)
{
	return h->precision;
}

/* A product's weights in the file are not read again once oneDNN holds
 * them packed (OpenBLAS reads them from the map): their pages may go. */
static void drop_if_packed(const struct emo_safetensors *st, const struct emo_linear *l,
			   const float *w, size_t numel)
{
	if (emo_linear_onednn(l))
		emo_safetensors_drop(st, w, numel);
}

/* The prepared products of every linear layer, once all weights are bound
 * (and the encoder is known to be complete). Layer by layer, the pages of
 * the file that are now held in the encoder's own copies are let go
 * (emo_safetensors_drop), so the peak holds the file and the copies of one
 * layer at a time, not the file and every copy. */
static int prepare_linears(struct emo_hubert *h, const struct emo_safetensors *st)
{
	const int H = h->cfg.hidden_size, FF = h->cfg.intermediate_size,
		  C = h->cfg.conv_dim[h->cfg.num_conv - 1];
	const size_t HH = (size_t)H * H;
	const enum emo_precision p = h->precision;
	int err = emo_linear_create(h->fp_w, h->fp_b, C, H, p, &h->fp);
	if (!err)
		drop_if_packed(st, h->fp, h->fp_w, (size_t)H * C);
	for (int i = 0; !err && i < h->cfg.num_conv; i++) {
		struct conv_layer *cl = &h->conv[i];
		/* the first layer reads raw audio: kept in fp32 */
		err = emo_linear_create(cl->w, cl->b, cl->k * cl->cin, cl->cout,
					i ? p : EMO_PRECISION_FP32, &cl->lin);
		/* packed: the reordered copy goes (17 MB of hubert-base) */
		if (!err && emo_linear_onednn(cl->lin)) {
			emo_linear_forget_source(cl->lin);
			free(cl->w);
			cl->w = NULL;
		}
		/* reordered into cl->w at bind */
		emo_safetensors_drop(st, h->conv_src[i], (size_t)cl->cout * cl->cin * cl->k);
	}
	/* weight-normed into pos_w at bind */
	emo_safetensors_drop(st, h->pos_v_src, HH / h->cfg.pos_conv_groups *
						(size_t)h->cfg.pos_conv_kernel);
	for (int l = 0; !err && l < h->cfg.num_layers; l++) {
		struct enc_layer *e = &h->layers[l];
		/* q, k and v stacked into one (3H, H) product */
		if (!(e->qkv_w = malloc(3 * HH * sizeof(float)))) {
			err = -ENOMEM;
			break;
		}
		const float *const ws[3] = {e->q_w, e->k_w, e->v_w};
		for (int k = 0; k < 3; k++)
			memcpy(e->qkv_w + (size_t)k * HH, ws[k], sizeof(float) * HH);
		if ((err = emo_linear_create(e->qkv_w, e->qkv_b, H, 3 * H, p, &e->qkv)) ||
		    (err = emo_linear_create(e->o_w, e->o_b, H, H, p, &e->o)) ||
		    (err = emo_linear_create(e->ff1_w, e->ff1_b, H, FF, p, &e->ff1)) ||
		    (err = emo_linear_create(e->ff2_w, e->ff2_b, FF, H, p, &e->ff2)))
			break;
		/* packed: the stacked copy goes, the file's q, k, v stay as
		 * the fallback's source (and their pages may go) */
		if (emo_linear_onednn(e->qkv)) {
			emo_linear_forget_source(e->qkv);
			free(e->qkv_w);
			e->qkv_w = NULL;
		}
		emo_safetensors_drop(st, e->q_w, HH);
		emo_safetensors_drop(st, e->k_w, HH);
		emo_safetensors_drop(st, e->v_w, HH);
		drop_if_packed(st, e->o, e->o_w, HH);
		drop_if_packed(st, e->ff1, e->ff1_w, (size_t)FF * H);
		drop_if_packed(st, e->ff2, e->ff2_w, (size_t)H * FF);
	}
	return err;
}

int emo_hubert_create(const struct emo_hubert_config *cfg,
		      const struct emo_safetensors *st, bool *used,
		      enum emo_precision precision, struct emo_hubert **out)
{
	*out = NULL;
	struct emo_hubert *h = calloc(1, sizeof *h);
	if (!h)
		return -ENOMEM;
	h->cfg = *cfg;
	const int H = cfg->hidden_size, L = cfg->num_layers, FF = cfg->intermediate_size;
	const int PK = cfg->pos_conv_kernel, PG = cfg->pos_conv_groups;
	h->layers = calloc((size_t)L, sizeof *h->layers);

	size_t owned = (size_t)H * PK * (H / PG) + (size_t)L * 3 * (size_t)H;
	h->owned = malloc(owned * sizeof(float));
	if (!h->layers || !h->owned) {
		emo_hubert_destroy(h);
		return -ENOMEM;
	}

	struct emo_binder b = {st, detect_prefix(st), used, 0};
	float *o = h->owned;
	for (int i = 0; i < cfg->num_conv; i++) {
		struct conv_layer *c = &h->conv[i];
		c->cin = i ? cfg->conv_dim[i - 1] : 1;
		c->cout = cfg->conv_dim[i];
		c->k = cfg->conv_kernel[i];
		c->s = cfg->conv_stride[i];
		const float *w = EMO_BIND3(&b, c->cout, c->cin, c->k,
				       "feature_extractor.conv_layers.%d.conv.weight", i);
		h->conv_src[i] = w;
		if (w && !(c->w = malloc(sizeof(float) * (size_t)c->cout * c->k * c->cin))) {
			emo_hubert_destroy(h);
			return -ENOMEM;
		}
		if (w)
			emo_ops_conv1d_reorder(c->w, w, c->cout, c->cin, c->k);
		if (cfg->conv_bias)
			c->b = EMO_BIND1(&b, c->cout,
				     "feature_extractor.conv_layers.%d.conv.bias", i);
		if (cfg->feat_norm_layer || i == 0) {
			c->ln_g = EMO_BIND1(&b, c->cout,
					"feature_extractor.conv_layers.%d.layer_norm.weight", i);
			c->ln_b = EMO_BIND1(&b, c->cout,
					"feature_extractor.conv_layers.%d.layer_norm.bias", i);
		}
	}
	int C = cfg->conv_dim[cfg->num_conv - 1];
	if (cfg->feat_proj_layer_norm) {
		h->fp_ln_g = EMO_BIND1(&b, C, "feature_projection.layer_norm.weight");
		h->fp_ln_b = EMO_BIND1(&b, C, "feature_projection.layer_norm.bias");
	}
	h->fp_w = EMO_BIND2(&b, H, C, "feature_projection.projection.weight");
	h->fp_b = EMO_BIND1(&b, H, "feature_projection.projection.bias");

	/* positional conv: w = g · v / ||v||, the norm taken over all dims
	 * but 2 (PyTorch weight_norm(dim=2)), under either naming */
	const char *gname = "encoder.pos_conv_embed.conv.weight_g";
	const char *vname = "encoder.pos_conv_embed.conv.weight_v";
	char probe[256];
	snprintf(probe, sizeof probe, "%s%s", b.prefix, gname);
	if (!emo_safetensors_find(st, probe)) {
		gname = "encoder.pos_conv_embed.conv.parametrizations.weight.original0";
		vname = "encoder.pos_conv_embed.conv.parametrizations.weight.original1";
	}
	const float *pg = EMO_BIND3(&b, 1, 1, PK, "%s", gname);
	const float *pv = EMO_BIND3(&b, H, H / PG, PK, "%s", vname);
	h->pos_b = EMO_BIND1(&b, H, "encoder.pos_conv_embed.conv.bias");
	h->pos_w = o;
	h->pos_v_src = pv;
	o += (size_t)H * PK * (H / PG);
	if (pg && pv) {
		size_t n = (size_t)H * (H / PG) * PK;
		float *tmpw = malloc(n * sizeof(float));
		if (!tmpw) {
			emo_hubert_destroy(h);
			return -ENOMEM;
		}
		for (int k = 0; k < PK; k++) {
			double ss = 0;
			for (size_t r = 0; r < (size_t)H * (H / PG); r++)
				ss += (double)pv[r * PK + k] * pv[r * PK + k];
			float scale = (float)(pg[k] / sqrt(ss));
			for (size_t r = 0; r < (size_t)H * (H / PG); r++)
				tmpw[r * PK + k] = pv[r * PK + k] * scale;
		}
		emo_ops_conv1d_reorder(h->pos_w, tmpw, H, H / PG, PK);
		free(tmpw);
	}
	h->enc_ln_g = EMO_BIND1(&b, H, "encoder.layer_norm.weight");
	h->enc_ln_b = EMO_BIND1(&b, H, "encoder.layer_norm.bias");

	for (int l = 0; l < L; l++) {
		struct enc_layer *e = &h->layers[l];
		const char *p = "encoder.layers.%d.";
		char f[128];
#define L2(field, n0, n1, suffix) \
	snprintf(f, sizeof f, "%s%s", p, suffix), e->field = EMO_BIND2(&b, n0, n1, f, l)
#define L1(field, n0, suffix) \
	snprintf(f, sizeof f, "%s%s", p, suffix), e->field = EMO_BIND1(&b, n0, f, l)
		L2(q_w, H, H, "attention.q_proj.weight");
		L1(q_b, H, "attention.q_proj.bias");
		L2(k_w, H, H, "attention.k_proj.weight");
		L1(k_b, H, "attention.k_proj.bias");
		L2(v_w, H, H, "attention.v_proj.weight");
		L1(v_b, H, "attention.v_proj.bias");
		L2(o_w, H, H, "attention.out_proj.weight");
		L1(o_b, H, "attention.out_proj.bias");
		L1(ln_g, H, "layer_norm.weight");
		L1(ln_b, H, "layer_norm.bias");
		L2(ff1_w, FF, H, "feed_forward.intermediate_dense.weight");
		L1(ff1_b, FF, "feed_forward.intermediate_dense.bias");
		L2(ff2_w, H, FF, "feed_forward.output_dense.weight");
		L1(ff2_b, H, "feed_forward.output_dense.bias");
		L1(fln_g, H, "final_layer_norm.weight");
		L1(fln_b, H, "final_layer_norm.bias");
#undef L1
#undef L2
		/* the stacked weights are made layer by layer as they are
		 * packed (prepare_linears): twelve stacked copies at once were
		 * 85 MB of hubert-base's peak */
		e->qkv_b = o;
		o += 3 * (size_t)H;
		const float *const bs[3] = {e->q_b, e->k_b, e->v_b};
		for (int k = 0; k < 3; k++)
			if (bs[k])
				memcpy(e->qkv_b + (size_t)k * H, bs[k], sizeof(float) * (size_t)H);
	}
	/* present in pretraining checkpoints, unused at inference */
	if (used) {
		char name[128];
		snprintf(name, sizeof name, "%smasked_spec_embed", b.prefix);
		long i = emo_safetensors_index(st, name);
		if (i >= 0)
			used[i] = true;
	}
	if (precision == EMO_PRECISION_BF16 && !emo_linear_bf16_available()) {
		emo_warn("bf16 needs oneDNN and a CPU with AVX512_BF16 (%s); "
			 "running fp32", emo_linear_engine(EMO_PRECISION_FP32));
		precision = EMO_PRECISION_FP32;
	}
	h->precision = precision;
	int err = b.err ? b.err : prepare_linears(h, st);
	if (err) {
		emo_hubert_destroy(h);
		return err;
	}
	*out = h;
	return 0;
}

const struct emo_hubert_config *emo_hubert_get_config(const struct emo_hubert *h)
{
	return &h->cfg;
}

int emo_hubert_num_frames(const struct emo_hubert *h, int n)
{
	for (int i = 0; i < h->cfg.num_conv; i++)
		n = emo_ops_conv1d_out_len(n, h->conv[i].k, h->conv[i].s, 0);
	return n;
}

int emo_hubert_hop(const struct emo_hubert *h)
{
	int hop = 1;
	for (int i = 0; i < h->cfg.num_conv; i++)
		hop *= h->conv[i].s;
	return hop;
}

int emo_hubert_receptive_field(const struct emo_hubert *h)
{
	int rf = 1, jump = 1;
	for (int i = 0; i < h->cfg.num_conv; i++) {
		rf += (h->conv[i].k - 1) * jump;
		jump *= h->conv[i].s;
	}
	return rf;
}

/* ---- state -------------------------------------------------------------- */

static atomic_int live_states; /* encoder states, for check_address_space */

void emo_hubert_state_destroy(struct emo_hubert_state *s)
{
	if (!s)
		return;
	atomic_fetch_sub(&live_states, 1);
	emo_linear_ctx_destroy(s->lctx);
	free(s->arena);
	free(s);
}

size_t emo_hubert_state_bytes(const struct emo_hubert_state *s)
{
	return s->bytes;
}

/* A frame's conv features depend only on its own samples: layer norm per
 * frame, and no normalisation of the input by the window's statistics. */
static bool frame_local(const struct emo_hubert *h)
{
	return h->cfg.feat_norm_layer && !h->cfg.do_normalize;
}

bool emo_hubert_streams_exactly(const struct emo_hubert *h)
{
	/* and every conv product in oneDNN, whose rows do not depend on the
	 * row count (see im2col_product) */
	bool ok = frame_local(h);
	for (int i = 0; ok && i < h->cfg.num_conv; i++)
		ok = emo_linear_onednn(h->conv[i].lin);
	return ok;
}

/* Whether conv layer i with overlapping windows is computed as one
 * oneDNN product over an im2col copy: in bf16 (the bf16 product cannot
 * read overlapping rows), and for encoders that stream (OpenBLAS's
 * split-K sum rounds a row differently with the number of rows on some
 * kernels, which exact reuse cannot have). */
static bool im2col_product(const struct emo_hubert *h, int i)
{
	const struct conv_layer *cl = &h->conv[i];
	if (cl->s >= cl->k || !cl->lin)
		return false;
	return (h->precision == EMO_PRECISION_BF16 && i > 0) || frame_local(h);
}

/* Output frames of the feature encoder per chunk: 2.56 s of audio, so the
 * live windows (2 s) run in one; with HuBERT-base's first conv 16 MB of
 * activations at most, whatever the window. */
enum { CONV_CHUNK_FRAMES = 128 };

/* OpenBLAS reserves a buffer of this size for each thread that calls a
 * GEMM (Debian's build: 128 MiB of address space, touched only as used),
 * and when the reservation fails it retries forever at 100 % CPU. So each
 * encoder state (one per GEMM caller: every analysing thread, embed,
 * bench, a model state) first checks that the address space for every
 * live state's buffer can be had: under a low `ulimit -v` that is a clear
 * error instead of a spin. */
#define BLAS_BUFFER_BYTES ((size_t)136 << 20)

static int check_address_space(void)
{
	size_t want = BLAS_BUFFER_BYTES * (size_t)(atomic_load(&live_states) + 2);
	void *p = mmap(NULL, want, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	if (p == MAP_FAILED) {
		struct rlimit rl;
		getrlimit(RLIMIT_AS, &rl);
		if (rl.rlim_cur != RLIM_INFINITY)
			emo_err("hubert: cannot reserve %zu MiB of address space for the "
				"matrix library (OpenBLAS reserves about 128 MiB per "
				"analysing thread); the address-space limit (ulimit -v) "
				"of %llu MiB is too low: raise it", want >> 20,
				(unsigned long long)(rl.rlim_cur >> 20));
		else
			emo_err("hubert: cannot reserve %zu MiB of address space for the "
				"matrix library", want >> 20);
		return -ENOMEM;
	}
	munmap(p, want);
	return 0;
}

int emo_hubert_state_create(const struct emo_hubert *h, int max_samples,
			    struct emo_hubert_state **out)
{
	return emo_hubert_state_create_chunked(h, max_samples, CONV_CHUNK_FRAMES, out);
}

/* Lays out n buffers of sizes[i] floats from base, each on a 64-byte
 * boundary (ptrs NULL: only counts); the floats they take. */
static size_t place(float *base, const size_t *sizes, float **const *ptrs, size_t n)
{
	size_t at = 0;
	for (size_t i = 0; i < n; i++) {
		if (ptrs)
			*ptrs[i] = base + at;
		at += (sizes[i] + 15) & ~(size_t)15;
	}
	return at;
}

int emo_hubert_state_create_chunked(const struct emo_hubert *h, int max_samples,
				    int chunk_frames, struct emo_hubert_state **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!h)
		return -EINVAL;
	const struct emo_hubert_config *c = &h->cfg;
	int T = emo_hubert_num_frames(h, max_samples);
	if (max_samples <= 0 || T < 1) {
		emo_err("hubert: a window of %d samples is shorter than the "
			"encoder's receptive field (%d)", max_samples,
			emo_hubert_receptive_field(h));
		return -EINVAL;
	}
	int aerr = check_address_space();
	if (aerr)
		return aerr;
	struct emo_hubert_state *s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->h = h;
	if (emo_linear_ctx_create(&s->lctx)) {
		free(s);
		return -ENOMEM;
	}
	atomic_fetch_add(&live_states, 1); /* emo_hubert_state_destroy takes it back */
	s->max_samples = max_samples;
	s->max_frames = T;
	s->chunk_frames = chunk_frames < 1 ? 1 : chunk_frames;
	const size_t H = (size_t)c->hidden_size;

	/* a chunk's samples: chunk_frames output frames' worth */
	size_t conv_max = 0, conv_scr = 0;
	int t = max_samples;
	if (s->chunk_frames < T)
		t = (s->chunk_frames - 1) * emo_hubert_hop(h) + emo_hubert_receptive_field(h);
	for (int i = 0; i < c->num_conv; i++) {
		const struct conv_layer *cl = &h->conv[i];
		int to = emo_ops_conv1d_out_len(t, cl->k, cl->s, 0);
		size_t sz = (size_t)to * cl->cout;
		conv_max = sz > conv_max ? sz : conv_max;
		size_t scr = emo_ops_conv1d_scratch(to, cl->cin, cl->k, cl->s, 0, 1);
		/* bf16: overlapping windows are copied out (im2col) for the
		 * bf16 product, which cannot read overlapping rows */
		if (im2col_product(h, i))
			scr = (size_t)to * cl->k * cl->cin;
		conv_scr = scr > conv_scr ? scr : conv_scr;
		t = to;
	}
	size_t pos_scr = emo_ops_conv1d_scratch(T, (int)H, c->pos_conv_kernel, 1,
						c->pos_conv_kernel / 2,
						c->pos_conv_groups);
	/* conv_a is also the feature projection's (T, C) scratch */
	size_t feat_tc = (size_t)T * c->conv_dim[c->num_conv - 1];
	/* Two phases share the arena's second part: the feature encoder's
	 * buffers (conv_a, conv_b, conv_scratch) are dead once the feature
	 * projection has read conv_a, before the positional conv writes the
	 * first of the transformer's (hs, qkv, ..., pos_scratch), which are
	 * dead in their turn when the next forward's feature encoder runs
	 * (hs is the caller's until then). At 10 s of hubert-base that is
	 * 27 MiB less. norm_in, fcache, normed and gn span both phases. */
	size_t fixed[] = {
		c->do_normalize ? (size_t)max_samples : 0, /* norm_in */
		(size_t)T * c->conv_dim[c->num_conv - 1], /* fcache */
		T * H,                                     /* normed */
		7 * (size_t)h->conv[0].cout,               /* gn */
	};
	size_t conv_phase[] = {conv_max > feat_tc ? conv_max : feat_tc, conv_max, conv_scr};
	size_t enc_phase[] = {
		(size_t)(c->num_layers + 1) * T * H, /* hs */
		3 * T * H, T * H, T * H, T * H,      /* qkv attn_ctx branch pre_final */
		(size_t)T * T,                       /* scores */
		(size_t)T * c->intermediate_size,    /* ff */
		pos_scr,
	};
	float **fixed_p[] = {&s->norm_in, &s->fcache, &s->normed, &s->gn};
	float **conv_p[] = {&s->conv_a, &s->conv_b, &s->conv_scratch};
	float **enc_p[] = {&s->hs, &s->qkv, &s->attn_ctx, &s->branch, &s->pre_final,
			   &s->scores, &s->ff, &s->pos_scratch};
#define N_OF(a) (sizeof(a) / sizeof *(a))
	/* floats, each buffer starting on a 64-byte boundary (16 floats) */
	size_t nf = place(NULL, fixed, NULL, N_OF(fixed));
	size_t nc = place(NULL, conv_phase, NULL, N_OF(conv_phase));
	size_t ne = place(NULL, enc_phase, NULL, N_OF(enc_phase));
	s->bytes = (nf + (nc > ne ? nc : ne)) * sizeof(float);
	if (!(s->arena = emo_alloc_large(s->bytes))) {
		emo_err("hubert: cannot allocate %zu MiB of activations",
			s->bytes >> 20);
		emo_linear_ctx_destroy(s->lctx);
		free(s);
		return -ENOMEM;
	}
	place(s->arena, fixed, fixed_p, N_OF(fixed));
	place(s->arena + nf, conv_phase, conv_p, N_OF(conv_phase));
	place(s->arena + nf, enc_phase, enc_p, N_OF(enc_phase));
#undef N_OF
	emo_hubert_profile_reset(s);
	s->fc_first = -1;
	*out = s;
	return 0;
}

const float *emo_hubert_hidden(const struct emo_hubert_state *s, int layer)
{
	if (layer < 0 || layer > s->h->cfg.num_layers)
		return NULL;
	return s->hs + (size_t)layer * s->max_frames * s->h->cfg.hidden_size;
}

/* ---- forward ------------------------------------------------------------ */

/* a(T,H) = self-attention of x(T,H); uses s->qkv, attn_ctx, scores. */
static void attention(const struct emo_hubert *h, struct emo_hubert_state *s,
		      const struct enc_layer *e, float *a, const float *x, int T)
{
	const int H = h->cfg.hidden_size, NH = h->cfg.num_heads, dh = H / NH;
	const float scale = 1.0f / sqrtf((float)dh);
	/* qkv(T, 3H) = x · [W_q; W_k; W_v]ᵀ + [b_q; b_k; b_v]: one GEMM */
	if (!emo_linear_try(e->qkv, s->lctx, s->qkv, 3 * H, x, H, T)) {
		if (e->qkv_w) {
			emo_ops_linear(s->qkv, 3 * H, x, H, e->qkv_w, e->qkv_b, T, H, 3 * H);
		} else { /* packed, but not for this T: three products */
			const float *const ws[3] = {e->q_w, e->k_w, e->v_w};
			for (int k = 0; k < 3; k++)
				emo_ops_linear(s->qkv + (size_t)k * H, 3 * H, x, H, ws[k],
					       e->qkv_b + (size_t)k * H, T, H, H);
		}
	}
	stage(s, EMO_STAGE_QKV, 2.0 * T * H * 3 * H);
	double t_soft = 0;
	for (int hd = 0; hd < NH; hd++) {
		const float *qh = s->qkv + hd * dh, *kh = s->qkv + H + hd * dh,
			    *vh = s->qkv + 2 * H + hd * dh;
		/* scores(T,T) = scale · Q_h(T,dh) · K_h(T,dh)ᵀ; HF scales q
		 * after its bias, which is the same product */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, dh, scale,
			    qh, 3 * H, kh, 3 * H, 0.0f, s->scores, T);
		double t0 = emo_now();
		emo_ops_softmax(s->scores, T, T);
		t_soft += emo_now() - t0;
		/* ctx_h(T,dh) = P(T,T) · V_h(T,dh) */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, dh, T, 1.0f,
			    s->scores, T, vh, 3 * H, 0.0f, s->attn_ctx + hd * dh, H);
	}
	stage(s, EMO_STAGE_ATTN, 4.0 * T * T * H);
	s->prof.seconds[EMO_STAGE_ATTN] -= t_soft;
	s->prof.seconds[EMO_STAGE_SOFTMAX] += t_soft;
	/* a(T,H) = ctx(T,H) · W_o(H,H)ᵀ + b_o */
	emo_linear_run(e->o, s->lctx, a, H, s->attn_ctx, H, T);
	stage(s, EMO_STAGE_OUT, 2.0 * T * H * H);
}

/* f(T,H) = FFN(x(T,H)); uses s->ff. */
static void feed_forward(const struct emo_hubert *h, struct emo_hubert_state *s,
			 const struct enc_layer *e, float *f, const float *x, int T)
{
	const int H = h->cfg.hidden_size, FF = h->cfg.intermediate_size;
	emo_linear_run(e->ff1, s->lctx, s->ff, FF, x, H, T);
	stage(s, EMO_STAGE_FF1, 2.0 * T * H * FF);
	emo_ops_gelu(s->ff, (size_t)T * FF);
	stage(s, EMO_STAGE_GELU, 0);
	emo_linear_run(e->ff2, s->lctx, f, H, s->ff, FF, T);
	stage(s, EMO_STAGE_FF2, 2.0 * T * FF * H);
}

static void add_inplace(float *y, const float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] += x[i];
}

void emo_hubert_state_set_reuse(struct emo_hubert_state *s, enum emo_feature_reuse r)
{
	s->reuse = r;
	s->fc_first = -1;
}

void emo_hubert_reuse_stats(const struct emo_hubert_state *s, long *reused,
			    long *computed)
{
	*reused = s->reused;
	*computed = s->computed;
}

/* How many leading frames of a window starting at stream sample `origin`
 * the cache holds (moved to its first rows), 0..T. */
static int take_cached(const struct emo_hubert *h, struct emo_hubert_state *s,
		       int64_t origin, int T)
{
	const int hop = emo_hubert_hop(h), C = h->cfg.conv_dim[h->cfg.num_conv - 1];
	/* approximate: frame-local but for the window's input normalisation */
	bool ok = s->reuse == EMO_REUSE_APPROX ? h->cfg.feat_norm_layer :
		  s->reuse == EMO_REUSE_EXACT && emo_hubert_streams_exactly(h);
	if (!ok || origin < 0 || origin % hop || s->fc_first < 0)
		return 0;
	int64_t j0 = origin / hop;
	if (j0 < s->fc_first || j0 >= s->fc_first + s->fc_n)
		return 0;
	int skip = (int)(j0 - s->fc_first), k = s->fc_n - skip;
	k = k < T ? k : T;
	if (skip)
		memmove(s->fcache, s->fcache + (size_t)skip * C, sizeof(float) * (size_t)k * C);
	return k;
}

/* Conv layer i over tin input frames x (tin, cin) into y (tout, cout),
 * before its norm: one product over overlapping rows where the linear
 * layer can, over an im2col copy where it must, else emo_ops_conv1d
 * (from the file's weights reordered again, if the packed product
 * declined a shape it was packed for). 0, or -ENOMEM. */
static int conv_layer(const struct emo_hubert *h, struct emo_hubert_state *s, int i,
		      float *y, const float *x, int tin, int tout)
{
	const struct conv_layer *cl = &h->conv[i];
	bool done = emo_linear_try(cl->lin, s->lctx, y, cl->cout, x, cl->s * cl->cin, tout);
	if (!done && im2col_product(h, i)) {
		emo_ops_im2col(s->conv_scratch, x, tin, cl->cin, tout, cl->k, cl->s, 0, 0, 1);
		done = emo_linear_try(cl->lin, s->lctx, y, cl->cout, s->conv_scratch,
				      cl->k * cl->cin, tout);
	}
	if (!done) {
		float *w = cl->w;
		if (!w) {
			if (!(w = malloc(sizeof(float) * (size_t)cl->cout * cl->k * cl->cin)))
				return -ENOMEM;
			emo_ops_conv1d_reorder(w, h->conv_src[i], cl->cout, cl->cin, cl->k);
		}
		emo_ops_conv1d(y, x, w, cl->b, s->conv_scratch, tin, cl->cin, tout,
			       cl->cout, cl->k, cl->s, 0, 1);
		if (w != cl->w)
			free(w);
	}
	stage(s, EMO_STAGE_CONV, 2.0 * tout * cl->cout * cl->k * cl->cin);
	return 0;
}

/* The per-channel statistics over time of the first conv's output on all
 * n samples of x (HuBERT-base's GroupNorm), gathered a chunk at a time in
 * frame order: the same sums emo_ops_groupnorm makes over the whole
 * output, so the result is the one an unchunked run gets. Into scale and
 * shift (C0 each). */
static int first_conv_norm(const struct emo_hubert *h, struct emo_hubert_state *s,
			   const float *x, int n, float *mean, float *scale, float *shift)
{
	const struct conv_layer *cl = &h->conv[0];
	const int C0 = cl->cout, tout = emo_ops_conv1d_out_len(n, cl->k, cl->s, 0);
	/* first-conv frames per chunk: what a chunk of chunk_frames outputs needs */
	const int step = emo_ops_conv1d_out_len((s->chunk_frames - 1) * emo_hubert_hop(h) +
						emo_hubert_receptive_field(h), cl->k, cl->s, 0);
	double *acc = (double *)s->gn; /* 64-byte aligned in the arena */
	memset(acc, 0, 2 * (size_t)C0 * sizeof *acc);
	for (int pass = 0; pass < 2; pass++) {
		for (int o = 0; o < tout; o += step) {
			int m = tout - o < step ? tout - o : step;
			int err = conv_layer(h, s, 0, s->conv_a, x + (size_t)o * cl->s * cl->cin,
					     (m - 1) * cl->s + cl->k, m);
			if (err)
				return err;
			if (pass == 0)
				emo_ops_channel_sum(s->conv_a, m, C0, acc);
			else
				emo_ops_channel_sqdev(s->conv_a, m, C0, mean, acc + C0);
		}
		emo_ops_channel_norm_fold(pass ? NULL : acc, pass ? acc + C0 : NULL, tout, C0,
					  cl->ln_g, cl->ln_b, h->cfg.layer_norm_eps, mean, scale,
					  shift);
	}
	return 0;
}

/* The feature encoder: frames 0..nf-1 of samples x (tin of them) into out
 * (nf, C), chunk_frames at a time; each chunk runs its own samples (the
 * receptive field of its frames) through every layer. */
static int feature_encoder(const struct emo_hubert *h, struct emo_hubert_state *s,
			   const float *x, int tin, float *out, int nf)
{
	const struct emo_hubert_config *c = &h->cfg;
	const int hop = emo_hubert_hop(h), rf = emo_hubert_receptive_field(h);
	const int C = c->conv_dim[c->num_conv - 1], C0 = h->conv[0].cout;
	const float eps = c->layer_norm_eps;
	float *mean = s->gn + 4 * (size_t)C0, *scale = mean + C0, *shift = scale + C0;
	/* GroupNorm statistics span the whole window: gathered first, when
	 * the window takes more than one chunk */
	const bool chunked = nf > s->chunk_frames, global_norm = !c->feat_norm_layer;
	int err = chunked && global_norm ? first_conv_norm(h, s, x, tin, mean, scale, shift) : 0;
	if (err)
		return err;
	float *bufs[2] = {s->conv_a, s->conv_b};
	for (int f0 = 0; f0 < nf; f0 += s->chunk_frames) {
		int f1 = f0 + s->chunk_frames < nf ? f0 + s->chunk_frames : nf;
		const float *cx = x + (size_t)f0 * hop;
		int cin_n = chunked ? (f1 - 1 - f0) * hop + rf : tin;
		for (int i = 0; i < c->num_conv; i++) {
			const struct conv_layer *cl = &h->conv[i];
			int tout = emo_ops_conv1d_out_len(cin_n, cl->k, cl->s, 0);
			/* the last layer writes straight into the output */
			float *y = i == c->num_conv - 1 ? out + (size_t)f0 * C : bufs[i & 1];
			if ((err = conv_layer(h, s, i, y, cx, cin_n, tout)))
				return err;
			if (c->feat_norm_layer)
				emo_ops_layernorm(y, y, cl->ln_g, cl->ln_b, tout, cl->cout, eps);
			else if (i == 0 && chunked)
				emo_ops_channel_affine(y, y, tout, cl->cout, scale, shift);
			else if (i == 0) /* one group per channel, over time */
				emo_ops_groupnorm(y, y, cl->ln_g, cl->ln_b, tout, cl->cout,
						  cl->cout, eps);
			stage(s, EMO_STAGE_NORM, 0);
			emo_ops_gelu(y, (size_t)tout * cl->cout);
			stage(s, EMO_STAGE_GELU, 0);
			cx = y;
			cin_n = tout;
		}
		assert(cin_n == f1 - f0);
	}
	return 0;
}

int emo_hubert_forward(const struct emo_hubert *h, struct emo_hubert_state *s,
		       const float *samples, int n)
{
	return emo_hubert_forward_at(h, s, samples, n, -1);
}

int emo_hubert_forward_at(const struct emo_hubert *h, struct emo_hubert_state *s,
			  const float *samples, int n, int64_t origin)
{
	const struct emo_hubert_config *c = &h->cfg;
	if (n > s->max_samples || n < 0)
		return -EINVAL;
	int T = emo_hubert_num_frames(h, n);
	if (T < 1)
		return EMO_E_EMPTY;
	const int H = c->hidden_size;
	const size_t TH = (size_t)T * H;
	const float eps = c->layer_norm_eps;
	s->mark = emo_now();

	const float *x = samples;
	if (c->do_normalize) {
		emo_ops_normalize(s->norm_in, samples, n);
		x = s->norm_in;
		stage(s, EMO_STAGE_NORM, 0);
	}

	/* feature encoder: (n,1) -> (T, C), into the feature cache; frames an
	 * earlier window of the stream computed are taken from it, and the
	 * convolutions run only over the samples of the new frames (their
	 * windows start k hops in: every layer's output starts k·hop/stride
	 * frames later, so frame t of the run is frame k + t of the window) */
	const int C = c->conv_dim[c->num_conv - 1];
	const int k = take_cached(h, s, origin, T);
	s->reused += k;
	s->computed += T - k;
	x += (size_t)k * emo_hubert_hop(h);
	int tin = n - k * emo_hubert_hop(h);
	if (k < T) {
		int err = feature_encoder(h, s, x, tin, s->fcache + (size_t)k * C, T - k);
		if (err) {
			s->fc_first = -1;
			return err;
		}
	}
	s->fc_first = origin >= 0 && origin % emo_hubert_hop(h) == 0 ?
			      origin / emo_hubert_hop(h) : -1;
	s->fc_n = T;

	/* feature projection: (T,C) -> (T,H) */
	float *feat = s->fcache;
	if (h->fp_ln_g) {
		feat = s->conv_a;
		emo_ops_layernorm(feat, s->fcache, h->fp_ln_g, h->fp_ln_b, T, C, eps);
		stage(s, EMO_STAGE_NORM, 0);
	}
	float *proj = s->normed;
	emo_linear_run(h->fp, s->lctx, proj, H, feat, C, T);
	stage(s, EMO_STAGE_PROJ, 2.0 * T * C * H);

	/* positional conv embedding, keeping T frames (an even kernel's extra
	 * last frame is dropped, as HF's SamePad does) */
	float *h0 = s->hs;
	emo_ops_conv1d(s->branch, proj, h->pos_w, h->pos_b, s->pos_scratch, T, H, T,
		       H, c->pos_conv_kernel, 1, c->pos_conv_kernel / 2,
		       c->pos_conv_groups);
	stage(s, EMO_STAGE_POS, 2.0 * T * H * c->pos_conv_kernel * (H / c->pos_conv_groups));
	emo_ops_gelu(s->branch, TH);
	stage(s, EMO_STAGE_GELU, 0);
	if (!c->stable_layer_norm) {
		emo_ops_add_layernorm(h0, proj, s->branch, h->enc_ln_g, h->enc_ln_b, T, H, eps);
	} else {
		for (size_t i = 0; i < TH; i++)
			h0[i] = proj[i] + s->branch[i];
	}
	stage(s, EMO_STAGE_NORM, 0);

	const size_t stride = (size_t)s->max_frames * H;
	for (int l = 0; l < c->num_layers; l++) {
		const struct enc_layer *e = &h->layers[l];
		const float *in = s->hs + l * stride;
		float *out = s->hs + (l + 1) * stride;
		if (!c->stable_layer_norm) {
			/* post-norm: x = LN(x + Attn(x)); x = LN'(x + FFN(x)) */
			attention(h, s, e, s->branch, in, T);
			emo_ops_add_layernorm(out, in, s->branch, e->ln_g, e->ln_b, T, H, eps);
			stage(s, EMO_STAGE_NORM, 0);
			feed_forward(h, s, e, s->branch, out, T);
			emo_ops_add_layernorm(out, out, s->branch, e->fln_g, e->fln_b, T, H, eps);
			stage(s, EMO_STAGE_NORM, 0);
		} else {
			/* pre-norm: x = x + Attn(LN(x)); x = x + FFN(LN'(x)); the
			 * last layer's output goes through encoder.layer_norm, and
			 * HF reports only that normalised state */
			float *dst = l == c->num_layers - 1 ? s->pre_final : out;
			emo_ops_layernorm(s->normed, in, e->ln_g, e->ln_b, T, H, eps);
			stage(s, EMO_STAGE_NORM, 0);
			attention(h, s, e, s->branch, s->normed, T);
			for (size_t i = 0; i < TH; i++)
				dst[i] = in[i] + s->branch[i];
			emo_ops_layernorm(s->normed, dst, e->fln_g, e->fln_b, T, H, eps);
			stage(s, EMO_STAGE_NORM, 0);
			feed_forward(h, s, e, s->branch, s->normed, T);
			add_inplace(dst, s->branch, TH);
			if (dst != out)
				emo_ops_layernorm(out, dst, h->enc_ln_g, h->enc_ln_b, T,
						  H, eps);
			stage(s, EMO_STAGE_NORM, 0);
		}
	}
	s->prof.forwards++;
	s->frames = T;
	return T;
}

