/* What the model loader (and the encoder benchmark and tests) need of the
 * encoder beyond the installed API: construction from parsed JSON and
 * destruction. Only a model owns an encoder (emo_model_destroy frees it);
 * these are not exported from the shared library. */
#ifndef EMOTOP_HUBERT_INTERNAL_H
#define EMOTOP_HUBERT_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>

#include "emotop/hubert.h"
#include "nn/safetensors.h"

/* Reads DIR/config.json and, if present, DIR/preprocessor_config.json.
 * Unknown activations, non-16 kHz models and other things the encoder does
 * not implement are refused with a message naming the key. */
int emo_hubert_config_load(const char *model_dir, struct emo_hubert_config *cfg);

/* The encoder's config from parsed config.json and (optional, may be NULL)
 * preprocessor_config.json. */
int emo_hubert_config_from_json(const json_t *config, const json_t *pre,
				struct emo_hubert_config *cfg);

/* Builds the encoder over tensors in `st` (which must outlive it). Names
 * may carry a "hubert." or "wav2vec2." prefix. Every expected tensor is
 * checked by name and shape; if `used` is not NULL, used[i] is set for each
 * tensor index i of `st` the encoder consumed (so the caller can reject
 * tensors nobody claims). */
int emo_hubert_create(const struct emo_hubert_config *cfg,
		      const struct emo_safetensors *st, bool *used,
		      enum emo_precision precision, struct emo_hubert **out);
/* What it runs at: bf16 requested on a CPU without it is fp32. */
enum emo_precision emo_hubert_precision(const struct emo_hubert *h);

void emo_hubert_destroy(struct emo_hubert *h);

/* emo_hubert_state_create with the feature encoder run chunk_frames output
 * frames at a time (the default is 128; tests force other sizes, and
 * INT_MAX runs a window in one piece). */
int emo_hubert_state_create_chunked(const struct emo_hubert *h, int max_samples,
				    int chunk_frames, struct emo_hubert_state **out);


#endif
