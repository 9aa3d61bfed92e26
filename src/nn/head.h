/* emotop — emotion heads over encoder hidden states.
 *
 * Two kinds, chosen by the model's config.json:
 *  - "bilstm" (the Hubert-LSTM paper's head, our "emotop_head" object): one
 *    bidirectional LSTM layer over the frames of one hidden state, PyTorch
 *    nn.LSTM tensors (lstm.weight_ih_l0, ..._reverse; gate order i, f, g,
 *    o), pooled over time, then classifier.{weight,bias}. Pooling "mean"
 *    (default) averages the concatenated [forward, backward] outputs over
 *    all frames; "last" takes the forward state after the last frame and
 *    the backward state after the first (nn.LSTM's h_n). With an
 *    emotop_head.stats object, the logits of a window-statistics branch
 *    (wstats.h) are added to the classifier's before the softmax.
 *  - "hf" (Hugging Face *ForSequenceClassification): optional softmax-
 *    weighted sum of all hidden states (layer_weights), projector per
 *    frame, mean over frames, classifier.
 * Both end in a softmax. Heads are immutable after creation; scratch memory
 * comes from the caller. */
#ifndef EMOTOP_HEAD_H
#define EMOTOP_HEAD_H

#include <stdbool.h>
#include <stddef.h>

#include "emotop/hubert.h"
#include <jansson.h>

#include "nn/safetensors.h"

#ifdef __cplusplus
extern "C" {
#endif

enum emo_head_type { EMO_HEAD_BILSTM, EMO_HEAD_HF };

struct emo_head;

/* Builds the head described by `config` (the whole config.json) over tensors in `st`, for an encoder of `hidden_size`
 * and `num_layers`. Marks consumed tensors in `used` (may be NULL).
 * When the config describes no head at all, returns EMO_E_MISSING without
 * a message (the model loader decides whether that is an error). */
int emo_head_create(const json_t *config, const struct emo_safetensors *st,
		    bool *used, int hidden_size, int num_layers,
		    struct emo_head **out);
void emo_head_destroy(struct emo_head *h);

enum emo_head_type emo_head_get_type(const struct emo_head *h);
int emo_head_num_labels(const struct emo_head *h);
/* Short description, e.g. "bilstm(256, mean, layer 12)". */
const char *emo_head_describe(const struct emo_head *h);

/* Scratch floats emo_head_forward needs for up to max_frames frames of
 * windows of up to max_samples samples. */
size_t emo_head_scratch(const struct emo_head *h, int max_frames, int max_samples);

/* probs(num_labels) = head(hidden states of the last forward of `s`,
 * T frames, and, for a head with a window-statistics branch (wstats.h),
 * the window's samples(n) themselves). */
void emo_head_forward(const struct emo_head *h,
		      const struct emo_hubert_state *s, int T,
		      const float *samples, int n, float *scratch, float *probs);

#ifdef __cplusplus
}
#endif
#endif
