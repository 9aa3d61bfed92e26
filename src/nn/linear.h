/* Linear layers with their weights prepared at load: y(M,N) = x(M,K) ·
 * W(N,K)ᵀ + b, for the encoder's projections and feed-forward.
 *
 * With oneDNN (meson -Donednn, the default when libdnnl-dev is there) the
 * weights are reordered once into the layout of oneDNN's matmul kernels
 * (brgemm) and each call only packs the small activation side, where
 * OpenBLAS sgemm packs the whole weight matrix on every call (figures: the
 * README, measured by tests/bench/vs_torch.py and emotop bench --profile).
 * In bf16 the
 * weights are stored as bfloat16, activations are rounded to bfloat16 per
 * call and products accumulate in fp32 (AVX512_BF16 dot products); only on
 * CPUs that have them. Without oneDNN, or when a primitive cannot be made,
 * the layer runs emo_ops_linear (OpenBLAS) on the original weights.
 *
 * A layer is immutable after creation except for its cache of kernels per
 * row count M, which is guarded by a lock; any number of threads may run
 * it, each with its own emo_linear_ctx. Internal to libemotop. */
#ifndef EMOTOP_LINEAR_H
#define EMOTOP_LINEAR_H

#include <stdbool.h>

#include "emotop/precision.h"

struct emo_linear;
struct emo_linear_ctx;

/* w (N,K) row-major and b (N) or NULL must outlive the layer. */
int emo_linear_create(const float *w, const float *b, int K, int N,
		      enum emo_precision p, struct emo_linear **out);
void emo_linear_destroy(struct emo_linear *l);

/* Per-thread execution context (a oneDNN stream). */
int emo_linear_ctx_create(struct emo_linear_ctx **out);
void emo_linear_ctx_destroy(struct emo_linear_ctx *c);

/* y(M,N), row stride ldy >= N; x(M,K), row stride ldx >= K. */
void emo_linear_run(struct emo_linear *l, struct emo_linear_ctx *c, float *y,
		    int ldy, const float *x, int ldx, int M);

/* The same through oneDNN only: false (nothing written) when it cannot run
 * this shape. ldx may be smaller than K: rows then overlap, which is a
 * strided convolution without an im2col copy (BLAS refuses lda < K). */
bool emo_linear_try(struct emo_linear *l, struct emo_linear_ctx *c, float *y,
		    int ldy, const float *x, int ldx, int M);

/* After packing, the caller may free the source weights: emo_linear_run
 * must then not be called (emo_linear_try may; a false from it is the
 * caller's to handle). */
void emo_linear_forget_source(struct emo_linear *l);

/* Whether this layer's products run in oneDNN (weights packed), rather
 * than falling back to OpenBLAS. */
bool emo_linear_onednn(const struct emo_linear *l);

/* What runs the products: "oneDNN fp32", "oneDNN bf16" or "OpenBLAS". */
const char *emo_linear_engine(enum emo_precision p);
/* bf16 products are available (oneDNN built in, the CPU has AVX512_BF16). */
bool emo_linear_bf16_available(void);
/* Threads oneDNN may use (emo_set_threads sets OpenBLAS's and this). */
void emo_linear_set_threads(int n);

#endif
