/* emotop — a model directory: encoder + emotion head + labels.
 *
 * Layout (Hugging Face's, so downloaded models work as they are):
 *   DIR/config.json               HF config; id2label; our "emotop_head"
 *   DIR/model.safetensors         weights, HF tensor names
 *   DIR/preprocessor_config.json  optional; do_normalize, sampling_rate
 *
 * Every tensor in the weights must be claimed by the encoder or the head: a
 * stray tensor means the config and the weights disagree, and the load
 * fails naming it.
 *
 * Ownership and threads: emo_model_load() returns a model the caller owns
 * and frees with emo_model_destroy(); it is immutable after loading and may
 * be shared by any number of threads (emo_model_sha256 computes its cache
 * under a lock). Every string and pointer a getter returns lives as long as
 * the model. A struct emo_model_state (activations, head scratch) belongs
 * to one thread at a time, must not outlive its model, and is freed with
 * emo_model_state_destroy(). */
#ifndef EMOTOP_MODEL_H
#define EMOTOP_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emotop/hubert.h"
#include "emotop/precision.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EMO_MAX_LABELS 64

struct emo_model;
struct emo_model_state;
struct emo_head;

struct emo_model_params {
	bool require_head; /* default true; false also loads an encoder-only
			      directory (for embeddings and benchmarks) */
	enum emo_precision precision; /* default fp32; bf16 where the CPU
					 cannot do it loads as fp32 with a
					 warning (emo_model_precision says) */
};

/* The precision the model runs at, and what computes its products, e.g.
 * "oneDNN bf16" or "OpenBLAS". */
enum emo_precision emo_model_precision(const struct emo_model *m);
const char *emo_model_engine(const struct emo_model *m);

struct emo_model_params emo_model_params_default(void);

/* Loads DIR; `params` NULL means the defaults. On failure *out is NULL, the
 * return value a negative error (emo_strerror) and the log says what is
 * wrong with which file. */
int emo_model_load(const char *dir, const struct emo_model_params *params,
		   struct emo_model **out);
void emo_model_destroy(struct emo_model *m);

/* Name shown to people: the directory's last component. */
const char *emo_model_name(const struct emo_model *m);
const char *emo_model_dir(const struct emo_model *m);
const struct emo_hubert *emo_model_encoder(const struct emo_model *m);
const struct emo_head *emo_model_head(const struct emo_model *m); /* or NULL */
int emo_model_num_labels(const struct emo_model *m);
const char *emo_model_label(const struct emo_model *m, int i);
/* Index of a label by name (case-insensitive); -1 (not an error code: a
 * position that is none) when the model has no such label, or m or name
 * is NULL. */
int emo_model_label_index(const struct emo_model *m, const char *name);

/* SHA-256 of model.safetensors as 64 hex digits ("unknown" if the file
 * cannot be read). Computed on the first call (reads the whole file) and
 * cached; thread safe. */
const char *emo_model_sha256(const struct emo_model *m);

/* The shipped model's directory, the one every client loads when it is
 * given none: $EMOTOP_MODEL when set; else an installed copy next to the
 * running program (<prefix>/bin/../share/emotop/models/emotop-small, so
 * a tree moved with DESTDIR still finds its own); else the build's
 * installed data dir (<datadir>/emotop/models/emotop-small); else the
 * source tree the library was built from. The first that exists, or the
 * last candidate when none does (so a message can name it). The string is
 * static and lives as long as the process. *origin, when not NULL, says
 * where it came from: "EMOTOP_MODEL", "installed" or "source tree". */
const char *emo_model_default_dir(const char **origin);

/* OpenBLAS threads used by every model in the process (default: 1 in the
 * program; OpenBLAS's own default otherwise). Sums are split by thread, so
 * the thread count changes the last bits of the results. n is clamped to
 * 1..EMO_MAX_THREADS (the command line's and the session log's bound). */
#define EMO_MAX_THREADS 256
void emo_set_threads(int n);
int emo_get_threads(void);

int emo_model_state_create(const struct emo_model *m, int max_samples,
			   struct emo_model_state **out);
void emo_model_state_destroy(struct emo_model_state *s);
const struct emo_hubert_state *emo_model_state_encoder(const struct emo_model_state *s);
int emo_model_state_max_samples(const struct emo_model_state *s);

/* probs(num_labels) for n samples of 16 kHz audio. Returns frames used or
 * a negative error (EMO_E_EMPTY when n is shorter than one frame).
 * Allocates nothing. */
int emo_model_infer(const struct emo_model *m, struct emo_model_state *s,
		    const float *samples, int n, float *probs);
/* The same for overlapping windows of one stream: `origin` is the index of
 * samples[0] in the stream (-1: unrelated window). Where the encoder allows
 * it exactly (hubert.h, emo_hubert_forward_at), features of frames shared
 * with the state's previous window are reused; results are bit-identical. */
int emo_model_infer_at(const struct emo_model *m, struct emo_model_state *s,
		       const float *samples, int n, int64_t origin, float *probs);
/* The encoder state, e.g. for emo_hubert_state_set_reuse. */
struct emo_hubert_state *emo_model_state_encoder_mut(struct emo_model_state *s);

#ifdef __cplusplus
}
#endif
#endif
