/* emotop — math kernels over plain float arrays.
 *
 * Layout: activations are time-major, row-major (T rows of C floats). Outputs
 * come first, then inputs, then sizes. Every optimised kernel has a naive
 * twin (suffix _naive) written for clarity; the tests hold one against the
 * other and both against PyTorch.
 *
 * Kernels do not allocate; scratch memory is passed in by the caller, who
 * sizes it with the matching *_scratch() function. */
#ifndef EMOTOP_OPS_H
#define EMOTOP_OPS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* OpenBLAS threads used by the GEMMs of this process (1 = single thread);
 * emo_set_threads (model.h) sets these and oneDNN's together. */
void emo_ops_set_threads(int n);
int emo_ops_get_threads(void);
/* The kernel family OpenBLAS chose (or was told: OPENBLAS_CORETYPE). */
const char *emo_ops_blas_core(void);

/* y(M,N) = x(M,K) · W(N,K)ᵀ + b(N). b may be NULL. ldx, ldy are row strides
 * (in floats) of x and y; pass K and N for packed rows. */
void emo_ops_linear(float *y, int ldy, const float *x, int ldx, const float *w,
		    const float *b, int M, int K, int N);
void emo_ops_linear_naive(float *y, int ldy, const float *x, int ldx,
			  const float *w, const float *b, int M, int K, int N);

/* dst(n) = src(n) at zero mean and unit variance, as Hugging Face's
 * Wav2Vec2FeatureExtractor normalises (population variance, eps 1e-7);
 * dst may be src. */
void emo_ops_normalize(float *dst, const float *src, int n);

/* Output length of a 1-D convolution. */
int emo_ops_conv1d_out_len(int tin, int kernel, int stride, int pad);

/* Reorders PyTorch conv weights (Cout, Cin/groups, K) into the layout the
 * conv kernels take, (Cout, K, Cin/groups), so that a time-major window of
 * K frames is one contiguous row. dst and src must not overlap. */
void emo_ops_conv1d_reorder(float *dst, const float *src, int cout,
			    int cin_per_group, int kernel);

/* Scratch floats emo_ops_conv1d needs (0 when it reads the input in place,
 * which it does for ungrouped, unpadded convolutions of >= 64 channels or
 * stride >= kernel). */
size_t emo_ops_conv1d_scratch(int tout, int cin, int kernel, int stride,
			      int pad, int groups);

/* col(tout, K·cin/groups) = the windows of group g of x(tin, cin), zero
 * where they reach past either end (pad); the matrix emo_ops_conv1d
 * multiplies on its im2col path. */
void emo_ops_im2col(float *col, const float *x, int tin, int cin, int tout,
		    int kernel, int stride, int pad, int g, int groups);
/* y(tout, cout) = conv1d(x(tin, cin)) with weights w in (Cout, K, Cin/g)
 * layout, optional bias b(cout), zero padding `pad` on both ends, `groups`
 * groups. tout may be smaller than emo_ops_conv1d_out_len() (the positional
 * convolution drops its last frame). */
void emo_ops_conv1d(float *y, const float *x, const float *w, const float *b,
		    float *scratch, int tin, int cin, int tout, int cout,
		    int kernel, int stride, int pad, int groups);
void emo_ops_conv1d_naive(float *y, const float *x, const float *w,
			  const float *b, int tin, int cin, int tout, int cout,
			  int kernel, int stride, int pad, int groups);

/* LayerNorm over each row of x(rows, cols); y may equal x. */
void emo_ops_layernorm(float *y, const float *x, const float *gamma,
		       const float *beta, int rows, int cols, float eps);
/* y = LayerNorm(x + res) row by row, in one pass over memory; y may be x.
 * Bit-identical to adding, then emo_ops_layernorm. */
void emo_ops_add_layernorm(float *y, const float *x, const float *res,
			   const float *gamma, const float *beta, int rows,
			   int cols, float eps);
void emo_ops_layernorm_naive(float *y, const float *x, const float *gamma,
			     const float *beta, int rows, int cols, float eps);

/* GroupNorm on time-major x(T, C): each group of C/groups channels is
 * normalised over all T frames and its channels; y may equal x. */
void emo_ops_groupnorm(float *y, const float *x, const float *gamma,
		       const float *beta, int T, int C, int groups, float eps);
void emo_ops_groupnorm_naive(float *y, const float *x, const float *gamma,
			     const float *beta, int T, int C, int groups,
			     float eps);
/* The one-group-per-channel GroupNorm in pieces, for x that comes in
 * blocks of frames (the encoder's first conv, computed a chunk at a time):
 * add each block's per-channel sums, then, with the mean, its squared
 * deviations; emo_ops_channel_norm_fold turns the totals over T frames
 * into a scale and shift per channel, emo_ops_channel_affine applies them.
 * Over the blocks of x in order, the same arithmetic as emo_ops_groupnorm
 * with groups == C, bit for bit. */
void emo_ops_channel_sum(const float *x, int T, int C, double *sum);
void emo_ops_channel_sqdev(const float *x, int T, int C, const float *mean, double *ss);
void emo_ops_channel_norm_fold(const double *sum, const double *ss, double n, int C,
			       const float *gamma, const float *beta, float eps,
			       float *mean, float *scale, float *shift);
void emo_ops_channel_affine(float *y, const float *x, int T, int C, const float *scale,
			    const float *shift);

/* In place: x = x * Φ(x), the exact (erf) GELU PyTorch uses by default. */
void emo_ops_gelu(float *x, size_t n);
void emo_ops_gelu_naive(float *x, size_t n);

/* In place softmax over each row of x(rows, cols). */
void emo_ops_softmax(float *x, int rows, int cols);
void emo_ops_softmax_naive(float *x, int rows, int cols);

/* One LSTM step, PyTorch gate order (i, f, g, o).
 * gates(4H): on entry x·W_ihᵀ + b_ih + b_hh for this step; clobbered.
 * h(H), c(H): previous state on entry, new state on return.
 * w_hh(4H, H). */
void emo_ops_lstm_cell(float *h, float *c, float *gates, const float *w_hh,
		       int H);
void emo_ops_lstm_cell_naive(float *h, float *c, float *gates,
			     const float *w_hh, int H);

#ifdef __cplusplus
}
#endif
#endif
