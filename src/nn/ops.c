/* Math kernels: GEMM-backed linear and convolution, norms, activations, LSTM.
 *
 * The optimised versions lean on OpenBLAS for every product; the naive twins
 * are straight loops kept for tests. Nothing here allocates, logs or keeps
 * state beyond OpenBLAS's own thread setting. */
#include <assert.h>
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "util/clones.h"
#include "nn/ops.h"

/* OpenBLAS exports these; cblas.h declares them in Debian's package, the
 * prototypes here keep us building against other cblas headers. */
extern void openblas_set_num_threads(int num_threads);
extern int openblas_get_num_threads(void);
extern char *openblas_get_corename(void);

void emo_ops_set_threads(int n)
{
	openblas_set_num_threads(n < 1 ? 1 : n);
}

int emo_ops_get_threads(void)
{
	return openblas_get_num_threads();
}

const char *emo_ops_blas_core(void)
{
	return openblas_get_corename();
}

void emo_ops_linear(float *y, int ldy, const float *x, int ldx, const float *w,
		    const float *b, int M, int K, int N)
{
	if (M <= 0 || N <= 0)
		return;
	float beta = 0.0f;
	if (b) {
		for (int i = 0; i < M; i++)
			memcpy(y + (size_t)i * ldy, b, (size_t)N * sizeof(float));
		beta = 1.0f;
	}
	/* y(M,N) = x(M,K) · W(N,K)ᵀ (+ y holding the bias) */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, x, ldx,
		    w, K, beta, y, ldy);
}

void emo_ops_linear_naive(float *y, int ldy, const float *x, int ldx,
			  const float *w, const float *b, int M, int K, int N)
{
	for (int i = 0; i < M; i++)
		for (int j = 0; j < N; j++) {
			double acc = b ? b[j] : 0.0;
			for (int k = 0; k < K; k++)
				acc += (double)x[(size_t)i * ldx + k] * w[(size_t)j * K + k];
			y[(size_t)i * ldy + j] = (float)acc;
		}
}

void emo_ops_normalize(float *dst, const float *src, int n)
{
	double sum = 0, ss = 0;
	for (int i = 0; i < n; i++)
		sum += src[i];
	double mean = sum / n;
	for (int i = 0; i < n; i++)
		ss += (src[i] - mean) * (src[i] - mean);
	float inv = (float)(1.0 / sqrt(ss / n + 1e-7));
	for (int i = 0; i < n; i++)
		dst[i] = (float)(src[i] - mean) * inv;
}

int emo_ops_conv1d_out_len(int tin, int kernel, int stride, int pad)
{
	int span = tin + 2 * pad - kernel;
	return span < 0 ? 0 : span / stride + 1;
}

void emo_ops_conv1d_reorder(float *dst, const float *src, int cout,
			    int cin_per_group, int kernel)
{
	for (int o = 0; o < cout; o++)
		for (int c = 0; c < cin_per_group; c++)
			for (int k = 0; k < kernel; k++)
				dst[((size_t)o * kernel + k) * cin_per_group + c] =
					src[((size_t)o * cin_per_group + c) * kernel + k];
}

/* Which way a convolution is computed; see emo_ops_conv1d. */
enum conv_path { CONV_VIEW, CONV_SPLIT_K, CONV_IM2COL };

static enum conv_path conv_path_for(int cin, int kernel, int stride, int pad,
				    int groups)
{
	if (groups != 1 || pad != 0)
		return CONV_IM2COL;
	if (stride >= kernel)
		return CONV_VIEW;
	/* K products of inner size cin each run at full GEMM speed only when
	 * cin is large; a 1-channel input (HuBERT's first layer) is better
	 * served by a small im2col copy. */
	return cin >= 64 ? CONV_SPLIT_K : CONV_IM2COL;
}

size_t emo_ops_conv1d_scratch(int tout, int cin, int kernel, int stride,
			      int pad, int groups)
{
	if (conv_path_for(cin, kernel, stride, pad, groups) != CONV_IM2COL)
		return 0;
	return (size_t)tout * kernel * (cin / groups);
}

void emo_ops_im2col(float *col, const float *x, int tin, int cin, int tout,
		    int kernel, int stride, int pad, int g, int groups)
{
	const int cg = cin / groups, kc = kernel * cg;
	for (int t = 0; t < tout; t++) {
		float *row = col + (size_t)t * kc;
		for (int k = 0; k < kernel; k++) {
			int ti = t * stride + k - pad;
			float *dst = row + (size_t)k * cg;
			if (ti < 0 || ti >= tin)
				memset(dst, 0, (size_t)cg * sizeof(float));
			else
				memcpy(dst, x + (size_t)ti * cin + (size_t)g * cg,
				       (size_t)cg * sizeof(float));
		}
	}
}

void emo_ops_conv1d(float *y, const float *x, const float *w, const float *b,
		    float *scratch, int tin, int cin, int tout, int cout,
		    int kernel, int stride, int pad, int groups)
{
	assert(tout <= emo_ops_conv1d_out_len(tin, kernel, stride, pad));
	assert(cin % groups == 0 && cout % groups == 0);
	if (tout <= 0)
		return;
	int cg = cin / groups, og = cout / groups;
	int kc = kernel * cg;

	switch (conv_path_for(cin, kernel, stride, pad, groups)) {
	case CONV_VIEW:
		/* Time-major input: the K frames under output t are one run of
		 * K·cin floats at x + t·stride·cin, and with stride >= K the
		 * runs do not overlap, so x itself is the im2col matrix read
		 * with row stride stride·cin (BLAS needs lda >= K·cin). */
		/* y(tout,cout) = X(tout, K·cin) · W(cout, K·cin)ᵀ + b */
		emo_ops_linear(y, cout, x, stride * cin, w, b, tout, kc, cout);
		return;
	case CONV_SPLIT_K:
		/* Overlapping windows: sum K products, one per kernel tap.
		 * Tap k reads frames t·stride + k, i.e. x + k·cin with row
		 * stride stride·cin, against W[:, k, :] (row stride K·cin). */
		if (b)
			for (int t = 0; t < tout; t++)
				memcpy(y + (size_t)t * cout, b, (size_t)cout * sizeof(float));
		for (int k = 0; k < kernel; k++) {
			/* y(tout,cout) += X_k(tout,cin) · W_k(cout,cin)ᵀ */
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, tout, cout,
				    cin, 1.0f, x + (size_t)k * cin, stride * cin,
				    w + (size_t)k * cin, kc, (b || k) ? 1.0f : 0.0f, y,
				    cout);
		}
		return;
	case CONV_IM2COL:
		break;
	}

	for (int g = 0; g < groups; g++) {
		emo_ops_im2col(scratch, x, tin, cin, tout, kernel, stride, pad, g, groups);
		/* y[:, g·og:(g+1)·og](tout, og) = col(tout, K·cg) · Wg(og, K·cg)ᵀ + bg */
		emo_ops_linear(y + (size_t)g * og, cout, scratch, kc,
			       w + (size_t)g * og * kc, b ? b + (size_t)g * og : NULL,
			       tout, kc, og);
	}
}

void emo_ops_conv1d_naive(float *y, const float *x, const float *w,
			  const float *b, int tin, int cin, int tout, int cout,
			  int kernel, int stride, int pad, int groups)
{
	int cg = cin / groups, og = cout / groups;
	for (int t = 0; t < tout; t++)
		for (int o = 0; o < cout; o++) {
			int g = o / og;
			double acc = b ? b[o] : 0.0;
			for (int k = 0; k < kernel; k++) {
				int ti = t * stride + k - pad;
				if (ti < 0 || ti >= tin)
					continue;
				for (int c = 0; c < cg; c++)
					acc += (double)w[((size_t)o * kernel + k) * cg + c] *
					       x[(size_t)ti * cin + g * cg + c];
			}
			y[(size_t)t * cout + o] = (float)acc;
		}
}

/* Reductions in 16 independent lanes, summed at the end: the compiler
 * vectorises these (a single running float sum it may not reorder), and
 * the pairwise-like order is at least as accurate. */
#define LANES 16

static inline float sum_lanes(const float *x, int n)
{
	float acc[LANES] = {0};
	int i = 0;
	for (; i + LANES <= n; i += LANES)
		for (int k = 0; k < LANES; k++)
			acc[k] += x[i + k];
	float s = 0.0f;
	for (int k = 0; k < LANES; k++)
		s += acc[k];
	for (; i < n; i++)
		s += x[i];
	return s;
}

/* sum of (x - m)² */
static inline float sumsq_lanes(const float *x, float m, int n)
{
	float acc[LANES] = {0};
	int i = 0;
	for (; i + LANES <= n; i += LANES)
		for (int k = 0; k < LANES; k++) {
			float d = x[i + k] - m;
			acc[k] += d * d;
		}
	float s = 0.0f;
	for (int k = 0; k < LANES; k++)
		s += acc[k];
	for (; i < n; i++)
		s += (x[i] - m) * (x[i] - m);
	return s;
}

static inline float max_lanes(const float *x, int n)
{
	float acc[LANES];
	int i = 0;
	for (int k = 0; k < LANES; k++)
		acc[k] = x[0];
	for (; i + LANES <= n; i += LANES)
		for (int k = 0; k < LANES; k++)
			acc[k] = x[i + k] > acc[k] ? x[i + k] : acc[k];
	float m = acc[0];
	for (int k = 1; k < LANES; k++)
		m = acc[k] > m ? acc[k] : m;
	for (; i < n; i++)
		m = x[i] > m ? x[i] : m;
	return m;
}

/* One row: two passes in float, as PyTorch's CPU kernel; the mean is
 * removed before squaring so there is no cancellation. yr may be xr. */
static inline void layernorm_row(float *yr, const float *xr, const float *gamma,
				 const float *beta, int cols, float eps)
{
	float mean = sum_lanes(xr, cols) / (float)cols;
	float ss = sumsq_lanes(xr, mean, cols);
	float rstd = 1.0f / sqrtf(ss / (float)cols + eps);
	for (int c = 0; c < cols; c++)
		yr[c] = (xr[c] - mean) * rstd * gamma[c] + beta[c];
}

EMO_CLONES
void emo_ops_layernorm(float *y, const float *x, const float *gamma,
		       const float *beta, int rows, int cols, float eps)
{
	for (int r = 0; r < rows; r++)
		layernorm_row(y + (size_t)r * cols, x + (size_t)r * cols, gamma, beta,
			      cols, eps);
}

EMO_CLONES
void emo_ops_add_layernorm(float *y, const float *x, const float *res,
			   const float *gamma, const float *beta, int rows,
			   int cols, float eps)
{
	for (int r = 0; r < rows; r++) {
		const float *xr = x + (size_t)r * cols, *rr = res + (size_t)r * cols;
		float *yr = y + (size_t)r * cols;
		/* the sum goes to y's row and is normalised there while it is
		 * in L1: one pass over memory instead of an add pass and the
		 * norm's passes; the same float operations as add, then norm */
		for (int c = 0; c < cols; c++)
			yr[c] = xr[c] + rr[c];
		layernorm_row(yr, yr, gamma, beta, cols, eps);
	}
}

void emo_ops_layernorm_naive(float *y, const float *x, const float *gamma,
			     const float *beta, int rows, int cols, float eps)
{
	for (int r = 0; r < rows; r++) {
		const float *xr = x + (size_t)r * cols;
		double mean = 0, var = 0;
		for (int c = 0; c < cols; c++)
			mean += xr[c];
		mean /= cols;
		for (int c = 0; c < cols; c++)
			var += (xr[c] - mean) * (xr[c] - mean);
		var /= cols;
		double rstd = 1.0 / sqrt(var + eps);
		for (int c = 0; c < cols; c++)
			y[(size_t)r * cols + c] =
				(float)((xr[c] - mean) * rstd * gamma[c] + beta[c]);
	}
}

EMO_CLONES
void emo_ops_channel_sum(const float *x, int T, int C, double *sum)
{
	for (int t = 0; t < T; t++) {
		const float *xr = x + (size_t)t * C;
		for (int c = 0; c < C; c++)
			sum[c] += xr[c];
	}
}

void emo_ops_channel_sqdev(const float *x, int T, int C, const float *mean, double *ss)
{
	for (int t = 0; t < T; t++) {
		const float *xr = x + (size_t)t * C;
		for (int c = 0; c < C; c++) {
			double d = xr[c] - mean[c];
			ss[c] += d * d;
		}
	}
}

void emo_ops_channel_norm_fold(const double *sum, const double *ss, double n, int C,
			       const float *gamma, const float *beta, float eps,
			       float *mean, float *scale, float *shift)
{
	for (int c = 0; c < C; c++) {
		if (sum)
			mean[c] = (float)(sum[c] / n);
		if (ss) { /* fold the affine into one scale and shift */
			float rstd = (float)(1.0 / sqrt(ss[c] / n + eps));
			scale[c] = rstd * gamma[c];
			shift[c] = beta[c] - mean[c] * scale[c];
		}
	}
}

void emo_ops_channel_affine(float *y, const float *x, int T, int C, const float *scale,
			    const float *shift)
{
	for (int t = 0; t < T; t++) {
		const float *xr = x + (size_t)t * C;
		float *yr = y + (size_t)t * C;
		for (int c = 0; c < C; c++)
			yr[c] = xr[c] * scale[c] + shift[c];
	}
}

void emo_ops_groupnorm(float *y, const float *x, const float *gamma,
		       const float *beta, int T, int C, int groups, float eps)
{
	int cg = C / groups;
	/* Per-group statistics gathered row by row so x is read in memory
	 * order; double accumulators because a group spans up to T·cg values
	 * (T is ~3200 frames a second after the first conv). */
	enum { MAXG = 4096 };
	double sum[MAXG], ss[MAXG];
	float mean[MAXG], rstd[MAXG];
	assert(groups <= MAXG);
	for (int g = 0; g < groups; g++)
		sum[g] = ss[g] = 0.0;
	double n = (double)T * cg;
	if (cg == 1) {
		/* one group per channel (HuBERT's first conv), the common case:
		 * the pieces above, whose loops vectorise */
		float scale[MAXG], shift[MAXG];
		emo_ops_channel_sum(x, T, C, sum);
		emo_ops_channel_norm_fold(sum, NULL, n, C, gamma, beta, eps, mean, NULL, NULL);
		emo_ops_channel_sqdev(x, T, C, mean, ss);
		emo_ops_channel_norm_fold(NULL, ss, n, C, gamma, beta, eps, mean, scale, shift);
		emo_ops_channel_affine(y, x, T, C, scale, shift);
		return;
	}
	for (int t = 0; t < T; t++) {
		const float *xr = x + (size_t)t * C;
		for (int c = 0; c < C; c++)
			sum[c / cg] += xr[c];
	}
	for (int g = 0; g < groups; g++)
		mean[g] = (float)(sum[g] / n);
	for (int t = 0; t < T; t++) {
		const float *xr = x + (size_t)t * C;
		for (int c = 0; c < C; c++) {
			double d = xr[c] - mean[c / cg];
			ss[c / cg] += d * d;
		}
	}
	for (int g = 0; g < groups; g++)
		rstd[g] = (float)(1.0 / sqrt(ss[g] / n + eps));
	for (int t = 0; t < T; t++) {
		const float *xr = x + (size_t)t * C;
		float *yr = y + (size_t)t * C;
		for (int c = 0; c < C; c++) {
			int g = c / cg;
			yr[c] = (xr[c] - mean[g]) * rstd[g] * gamma[c] + beta[c];
		}
	}
}

void emo_ops_groupnorm_naive(float *y, const float *x, const float *gamma,
			     const float *beta, int T, int C, int groups,
			     float eps)
{
	int cg = C / groups;
	for (int g = 0; g < groups; g++) {
		double mean = 0, var = 0;
		for (int t = 0; t < T; t++)
			for (int c = g * cg; c < (g + 1) * cg; c++)
				mean += x[(size_t)t * C + c];
		mean /= (double)T * cg;
		for (int t = 0; t < T; t++)
			for (int c = g * cg; c < (g + 1) * cg; c++) {
				double d = x[(size_t)t * C + c] - mean;
				var += d * d;
			}
		var /= (double)T * cg;
		double rstd = 1.0 / sqrt(var + eps);
		for (int t = 0; t < T; t++)
			for (int c = g * cg; c < (g + 1) * cg; c++)
				y[(size_t)t * C + c] = (float)(
					(x[(size_t)t * C + c] - mean) * rstd * gamma[c] +
					beta[c]);
	}
}

/* erf(x) for float as a rational function of x (odd numerator, even
 * denominator) on [-4, 4], where erf is ±1 to float precision beyond; the
 * coefficients are Eigen's minimax fit (a few ulp). Pure arithmetic, so the
 * loop below vectorises, unlike calls to erff(). */
static inline float erf_rational(float x)
{
	x = x > 4.0f ? 4.0f : (x < -4.0f ? -4.0f : x);
	float x2 = x * x;
	float p = -2.72614225801306e-10f;
	p = p * x2 + 2.77068142495902e-08f;
	p = p * x2 + -2.10102402082508e-06f;
	p = p * x2 + -5.69250639462346e-05f;
	p = p * x2 + -7.34990630326855e-04f;
	p = p * x2 + -2.95459980854025e-03f;
	p = p * x2 + -1.60960333262415e-02f;
	p *= x;
	float q = -1.45660718464996e-05f;
	q = q * x2 + -2.13374055278905e-04f;
	q = q * x2 + -1.68282697438203e-03f;
	q = q * x2 + -7.37332916720468e-03f;
	q = q * x2 + -1.42647390514189e-02f;
	return p / q;
}

/* Built for AVX-512 and AVX2 as well as the baseline; the loader picks the
 * widest the CPU has (GELU runs over every conv and FFN activation). */
EMO_CLONES
void emo_ops_gelu(float *x, size_t n)
{
	const float rsqrt2 = 0.70710678118654752440f;
	for (size_t i = 0; i < n; i++)
		x[i] = 0.5f * x[i] * (1.0f + erf_rational(x[i] * rsqrt2));
}

void emo_ops_gelu_naive(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = (float)(0.5 * x[i] * (1.0 + erf(x[i] / sqrt(2.0))));
}

/* expf for softmax arguments (<= 0 after the max is subtracted): 2^n · e^r
 * with |r| <= ln2/2 and a degree-6 polynomial for e^r (Cephes' expf
 * coefficients, ~1 ulp). Branch-free so the loop vectorises. */
static inline float exp_poly(float x)
{
	x = x < -87.0f ? -87.0f : x;
	float n = __builtin_rintf(x * 1.44269504088896341f); /* vectorises, unlike roundf */
	float r = x - n * 0.693359375f;
	r -= n * -2.12194440e-4f;
	float p = 1.9875691500e-4f;
	p = p * r + 1.3981999507e-3f;
	p = p * r + 8.3334519073e-3f;
	p = p * r + 4.1665795894e-2f;
	p = p * r + 1.6666665459e-1f;
	p = p * r + 5.0000001201e-1f;
	p = p * r * r + r + 1.0f;
	int32_t bits = ((int32_t)n + 127) << 23;
	float scale;
	memcpy(&scale, &bits, sizeof scale);
	return p * scale;
}

EMO_CLONES
void emo_ops_softmax(float *x, int rows, int cols)
{
	for (int r = 0; r < rows; r++) {
		float *xr = x + (size_t)r * cols;
		float mx = max_lanes(xr, cols);
		for (int c = 0; c < cols; c++)
			xr[c] = exp_poly(xr[c] - mx);
		float inv = 1.0f / sum_lanes(xr, cols);
		for (int c = 0; c < cols; c++)
			xr[c] *= inv;
	}
}

void emo_ops_softmax_naive(float *x, int rows, int cols)
{
	for (int r = 0; r < rows; r++) {
		float *xr = x + (size_t)r * cols;
		double mx = xr[0], sum = 0;
		for (int c = 1; c < cols; c++)
			if (xr[c] > mx)
				mx = xr[c];
		for (int c = 0; c < cols; c++)
			sum += exp(xr[c] - mx);
		for (int c = 0; c < cols; c++)
			xr[c] = (float)(exp(xr[c] - mx) / sum);
	}
}

static inline float sigmoidf(float v)
{
	return 1.0f / (1.0f + expf(-v));
}

void emo_ops_lstm_cell(float *h, float *c, float *gates, const float *w_hh,
		       int H)
{
	/* gates(4H) += W_hh(4H,H) · h(H) */
	cblas_sgemv(CblasRowMajor, CblasNoTrans, 4 * H, H, 1.0f, w_hh, H, h, 1,
		    1.0f, gates, 1);
	const float *gi = gates, *gf = gates + H, *gg = gates + 2 * H,
		    *go = gates + 3 * H;
	for (int j = 0; j < H; j++) {
		float cn = sigmoidf(gf[j]) * c[j] + sigmoidf(gi[j]) * tanhf(gg[j]);
		c[j] = cn;
		h[j] = sigmoidf(go[j]) * tanhf(cn);
	}
}

void emo_ops_lstm_cell_naive(float *h, float *c, float *gates,
			     const float *w_hh, int H)
{
	for (int r = 0; r < 4 * H; r++) {
		double acc = gates[r];
		for (int k = 0; k < H; k++)
			acc += (double)w_hh[(size_t)r * H + k] * h[k];
		gates[r] = (float)acc;
	}
	for (int j = 0; j < H; j++) {
		double i = 1.0 / (1.0 + exp(-gates[j]));
		double f = 1.0 / (1.0 + exp(-gates[H + j]));
		double g = tanh(gates[2 * H + j]);
		double o = 1.0 / (1.0 + exp(-gates[3 * H + j]));
		double cn = f * c[j] + i * g;
		c[j] = (float)cn;
		h[j] = (float)(o * tanh(cn));
	}
}
