/* emotop — the window-statistics branch of a head.
 *
 * A small second classifier beside the BiLSTM, late-fused by adding its
 * logits to the classifier's (the fusion weight and the temperature are
 * folded into both by the trainer, models/multicorpus.py). From one window
 * of samples, normalised to zero mean and unit variance as the encoder's
 * do_normalize does, it computes the trivial baseline's clip statistics
 * (models/baseline.py):
 *
 *   frames   T = 1 + (n - n_fft) / hop, no centring (a window shorter
 *            than n_fft is zero-padded to one frame)
 *   m(T, B)  = log(power spectrum of window · frame · mel_fbᵀ + log_floor)
 *   e(T)     = logsumexp over the B bands; loud frames: e > max e - loud_db
 *            · ln 10 / 10
 *   f(3B+1)  = [mean of m over loud frames, their standard deviation,
 *               standard deviation of m(t+1) - m(t) over all frames,
 *               share of loud frames]       (population deviations)
 *   logits  += W2 · relu(W1 · (f - mean) / std + b1) + b2
 *
 * Tensors (model.safetensors): stats.window (n_fft), stats.mel_fb
 * (B, n_fft/2+1), stats.mean and stats.std (3B+1), stats.fc1.weight
 * (H, 3B+1), stats.fc1.bias (H), stats.fc2.weight (C, H), stats.fc2.bias
 * (C). Config: emotop_head.stats = {n_fft, hop_length, n_mels, loud_db,
 * log_floor, hidden_size}. Immutable after creation; scratch comes from the
 * caller. */
#ifndef EMOTOP_WSTATS_H
#define EMOTOP_WSTATS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "nn/safetensors.h"

struct emo_wstats;

/* Builds the branch described by `cfg` (the emotop_head.stats object) over
 * the tensors of `st` for `num_labels` classes; marks the tensors it takes
 * in `used` (may be NULL). Returns 0 or an EMO_E_* code with a message. */
int emo_wstats_create(json_t *cfg, const struct emo_safetensors *st, bool *used,
		      int num_labels, struct emo_wstats **out);
void emo_wstats_destroy(struct emo_wstats *w);

/* Scratch floats emo_wstats_add_logits needs for windows of up to
 * max_samples samples. */
size_t emo_wstats_scratch(const struct emo_wstats *w, int max_samples);

/* logits(C) += the branch's logits for samples(n), n >= 1. */
void emo_wstats_add_logits(const struct emo_wstats *w, const float *samples,
			   int n, float *scratch, float *logits);

#endif
