/* emotop — the HuBERT / wav2vec2 encoder.
 *
 * Computes what Hugging Face's HubertModel / Wav2Vec2Model compute, with
 * `output_hidden_states=True`, for one window of 16 kHz mono samples. Both
 * variants run: base (group-norm feature encoder, post-norm layers) and
 * large (layer-norm feature encoder, pre-norm "stable" layers).
 *
 * Model and state are separate (whisper's context/state): struct emo_hubert
 * holds immutable weights (mostly views into the safetensors map) and may be
 * shared by threads; struct emo_hubert_state holds one activation arena,
 * sized at creation for a maximum window, and is used by one thread at a
 * time. emo_hubert_forward() allocates nothing.
 *
 * Streaming: overlapping windows of one stream (emo_hubert_forward_at) reuse
 * the feature encoder's output for the frames they share, when that is
 * exact: a layer-norm feature encoder (hubert-large, wav2vec2-large) is
 * frame-local, so a frame's features depend only on its own 400 samples.
 * A group-norm encoder (hubert-base) normalises each channel over the
 * whole window, and per-window input normalisation (do_normalize) scales
 * every sample by the window's statistics: in both a frame's features
 * change with the window, so they are recomputed (README, "Streaming").
 *
 * Not here: masking/padding of batched inputs, the training-only
 * masked_spec_embed. */
#ifndef EMOTOP_HUBERT_H
#define EMOTOP_HUBERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emotop/precision.h"


#ifdef __cplusplus
extern "C" {
#endif

#define EMO_HUBERT_MAX_CONV 16

struct emo_hubert_config {
	char model_type[32];     /* "hubert" or "wav2vec2" */
	int num_conv;            /* feature encoder conv layers */
	int conv_dim[EMO_HUBERT_MAX_CONV];
	int conv_kernel[EMO_HUBERT_MAX_CONV];
	int conv_stride[EMO_HUBERT_MAX_CONV];
	bool conv_bias;
	bool feat_norm_layer;    /* feat_extract_norm == "layer" */
	bool stable_layer_norm;  /* do_stable_layer_norm */
	bool feat_proj_layer_norm;
	int hidden_size;
	int num_layers;
	int num_heads;
	int intermediate_size;
	int pos_conv_kernel;
	int pos_conv_groups;
	float layer_norm_eps;
	bool do_normalize;       /* from preprocessor_config.json */
};

struct emo_hubert;
struct emo_hubert_state;

/* Encoders are built by emo_model_load() (model.h) and owned by the
 * model, which frees them; emo_model_encoder() gives this view of one. */

const struct emo_hubert_config *emo_hubert_get_config(const struct emo_hubert *h);

/* Number of output frames for n input samples (20 ms each for the standard
 * conv stack; 0 when n is shorter than the receptive field). */
int emo_hubert_num_frames(const struct emo_hubert *h, int n_samples);
/* Samples per frame (product of the conv strides) and receptive field. */
int emo_hubert_hop(const struct emo_hubert *h);
int emo_hubert_receptive_field(const struct emo_hubert *h);

/* An activation arena for windows of up to max_samples samples. */
int emo_hubert_state_create(const struct emo_hubert *h, int max_samples,
			    struct emo_hubert_state **out);
void emo_hubert_state_destroy(struct emo_hubert_state *s);
/* Bytes the arena holds. */
size_t emo_hubert_state_bytes(const struct emo_hubert_state *s);

/* Runs the encoder on n samples (16 kHz, mono, float in [-1, 1]);
 * n <= max_samples. Returns the number of frames T (>= 1) or a negative
 * error (EMO_E_EMPTY when n is shorter than the receptive field). */
int emo_hubert_forward(const struct emo_hubert *h, struct emo_hubert_state *s,
		       const float *samples, int n);

/* The same for a window that starts at sample `origin` of one continuous
 * stream (origin >= 0; -1 is emo_hubert_forward): feature-encoder frames
 * this state computed for an earlier window of the stream at the same
 * stream positions are reused where exact (see the top). The caller
 * promises that equal positions hold equal samples; a state serves one
 * stream. Results are bit-identical to emo_hubert_forward. */
int emo_hubert_forward_at(const struct emo_hubert *h, struct emo_hubert_state *s,
			  const float *samples, int n, int64_t origin);

enum emo_feature_reuse {
	EMO_REUSE_EXACT,   /* default: reuse only where bit-identical */
	EMO_REUSE_OFF,     /* always recompute */
	EMO_REUSE_APPROX,  /* also reuse under per-window input normalisation:
			      cached frames keep the statistics of the window
			      that computed them (an approximation, measured
			      in the README; for experiments) */
};
void emo_hubert_state_set_reuse(struct emo_hubert_state *s, enum emo_feature_reuse r);
/* Whether windows of this encoder can reuse features exactly. */
bool emo_hubert_streams_exactly(const struct emo_hubert *h);
/* Feature-encoder frames reused and computed over all forwards. */
void emo_hubert_reuse_stats(const struct emo_hubert_state *s, long *reused,
			    long *computed);

/* Hidden state `layer` (0..num_layers) of the last forward, (T, hidden)
 * row-major, valid until the next forward. Layer 0 is the transformer
 * input as in HF's hidden_states[0]; layer num_layers is the final output. */
const float *emo_hubert_hidden(const struct emo_hubert_state *s, int layer);

/* Where a forward's time goes, accumulated over the forwards of a state
 * (emotop bench --profile). GEMM stages are the products through BLAS;
 * the others are emotop's own passes over memory. */
enum emo_hubert_stage {
	EMO_STAGE_CONV,     /* feature encoder convolutions (GEMM + im2col) */
	EMO_STAGE_PROJ,     /* feature projection (GEMM) */
	EMO_STAGE_POS,      /* positional grouped convolution (GEMM + im2col) */
	EMO_STAGE_QKV,      /* query/key/value projections (GEMM) */
	EMO_STAGE_ATTN,     /* per-head scores and context (GEMM) */
	EMO_STAGE_SOFTMAX,
	EMO_STAGE_OUT,      /* attention output projection (GEMM) */
	EMO_STAGE_FF1,      /* feed-forward up-projection (GEMM) */
	EMO_STAGE_FF2,      /* feed-forward down-projection (GEMM) */
	EMO_STAGE_GELU,
	EMO_STAGE_NORM,     /* layer/group norms, residual adds, input scaling */
	EMO_STAGE_N,
};

struct emo_hubert_profile {
	double seconds[EMO_STAGE_N];
	double flops[EMO_STAGE_N]; /* multiply-adds count 2 */
	bool gemm[EMO_STAGE_N];    /* the stage is BLAS products */
	long forwards;
};

const struct emo_hubert_profile *emo_hubert_profile(const struct emo_hubert_state *s);
void emo_hubert_profile_reset(struct emo_hubert_state *s);
const char *emo_hubert_stage_name(enum emo_hubert_stage stage);

#ifdef __cplusplus
}
#endif
#endif
