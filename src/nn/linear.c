/* Linear layers with weights prepared at load; see linear.h.
 *
 * oneDNN path: per layer one weight memory in the layout the matmul
 * primitive asks for ("any" format: brgemm's blocked panels), reordered
 * once from the (N,K) row-major weights; per row count M a matmul
 * primitive (and in bf16 a reorder of the activations to bfloat16),
 * created on first use and cached. Creation costs ~2 ms per shape; a live
 * session sees one or two M values, a batch of files a few dozen. */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "emotop/error.h"
#include "util/util.h"
#include "nn/linear.h"
#include "nn/ops.h"

static atomic_int linear_threads = 1;

void emo_linear_set_threads(int n)
{
	atomic_store(&linear_threads, n < 1 ? 1 : n);
}

#ifdef EMOTOP_HAVE_ONEDNN

#include <oneapi/dnnl/dnnl.h>
#include <omp.h>

/* Kernels cached per layer and distinct (M, ldx, ldy), never evicted: a
 * thread may be running one while another adds, and the set is bounded
 * (M <= frames of the longest window). Never falling back for a shape
 * oneDNN can run also keeps every result independent of what ran before. */
struct shape {
	struct shape *next;
	int M, ldx, ldy;
	dnnl_primitive_t mm;       /* matmul; NULL: oneDNN cannot run it */
	dnnl_primitive_t to_bf16;  /* src f32 -> bf16 (bf16 only) */
	dnnl_memory_desc_t src_md, src16_md, dst_md;
	dnnl_memory_desc_t scratch_md; /* the matmul's own scratch space */
};

struct emo_linear {
	const float *w, *b;
	int K, N;
	enum emo_precision p;
	dnnl_engine_t eng;         /* NULL: the OpenBLAS fallback */
	dnnl_memory_desc_t bias_md;
	dnnl_memory_t weights;     /* packed, in `packed` */
	void *packed;
	dnnl_memory_desc_t wmd;    /* the packed layout */
	pthread_mutex_t lock;
	struct shape *shapes;
};

struct emo_linear_ctx {
	dnnl_engine_t eng;
	dnnl_stream_t stream;
	float *src16;              /* bf16 activations, grown as needed */
	size_t src16_bytes;
	void *scratch;             /* the kernels' scratchpad: per thread,
				      since oneDNN's own is shared by every
				      execution of a primitive */
	size_t scratch_bytes;
};

static dnnl_engine_t the_engine;
static pthread_once_t engine_once = PTHREAD_ONCE_INIT;

static void make_engine(void)
{
	if (dnnl_engine_create(&the_engine, dnnl_cpu, 0) != dnnl_success)
		the_engine = NULL;
}

static dnnl_engine_t get_engine(void)
{
	pthread_once(&engine_once, make_engine);
	return the_engine;
}

bool emo_linear_bf16_available(void)
{
	return get_engine() && dnnl_get_effective_cpu_isa() >= dnnl_cpu_isa_avx512_core_bf16;
}

const char *emo_linear_engine(enum emo_precision p)
{
	if (!get_engine())
		return "OpenBLAS";
	return p == EMO_PRECISION_BF16 ? "oneDNN bf16" : "oneDNN fp32";
}

static dnnl_data_type_t wtype(enum emo_precision p)
{
	return p == EMO_PRECISION_BF16 ? dnnl_bf16 : dnnl_f32;
}

/* The matmul descriptor of this layer for M rows (weights "any"). */
static dnnl_status_t matmul_pd(const struct emo_linear *l, int M, int ldx,
			       int ldy, dnnl_primitive_desc_t *pd,
			       struct shape *sh)
{
	dnnl_dims_t sd = {M, l->K}, ss = {ldx, 1}, wd = {l->K, l->N},
		    dd = {M, l->N}, ds = {ldy, 1};
	dnnl_memory_desc_t w_any;
	dnnl_status_t st;
	if ((st = dnnl_memory_desc_init_by_strides(&sh->src_md, 2, sd, dnnl_f32, ss)) ||
	    (st = dnnl_memory_desc_init_by_tag(&sh->src16_md, 2, sd, dnnl_bf16, dnnl_ab)) ||
	    (st = dnnl_memory_desc_init_by_tag(&w_any, 2, wd, wtype(l->p),
					       dnnl_format_tag_any)) ||
	    (st = dnnl_memory_desc_init_by_strides(&sh->dst_md, 2, dd, dnnl_f32, ds)))
		return st;
	dnnl_matmul_desc_t md;
	const dnnl_memory_desc_t *src = l->p == EMO_PRECISION_BF16 ? &sh->src16_md :
								     &sh->src_md;
	if ((st = dnnl_matmul_desc_init(&md, src, &w_any, l->b ? &l->bias_md : NULL,
					&sh->dst_md)))
		return st;
	/* a scratchpad we pass per call: oneDNN's default one is shared by
	 * all executions of a primitive, which threads running the same
	 * model at once must not share */
	dnnl_primitive_attr_t attr;
	if ((st = dnnl_primitive_attr_create(&attr)))
		return st;
	st = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
	if (!st)
		st = dnnl_primitive_desc_create(pd, &md, attr, l->eng, NULL);
	dnnl_primitive_attr_destroy(attr);
	if (!st) {
		const dnnl_memory_desc_t *sp =
			dnnl_primitive_desc_query_md(*pd, dnnl_query_scratchpad_md, 0);
		if (sp)
			sh->scratch_md = *sp;
	}
	return st;
}

static void shape_free(struct shape *sh)
{
	if (sh->mm)
		dnnl_primitive_destroy(sh->mm);
	if (sh->to_bf16)
		dnnl_primitive_destroy(sh->to_bf16);
	sh->mm = sh->to_bf16 = NULL;
}

void emo_linear_destroy(struct emo_linear *l)
{
	if (!l)
		return;
	for (struct shape *sh = l->shapes, *next; sh; sh = next) {
		next = sh->next;
		shape_free(sh);
		free(sh);
	}
	if (l->weights)
		dnnl_memory_destroy(l->weights);
	free(l->packed);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

/* Packs the weights for the layout the kernels want (asked with a
 * representative M: the packed layout does not depend on M). */
static int pack_weights(struct emo_linear *l)
{
	struct shape sh = {0};
	dnnl_primitive_desc_t pd = NULL, rpd = NULL;
	dnnl_primitive_t ro = NULL;
	dnnl_memory_t wsrc = NULL;
	dnnl_stream_t stream = NULL;
	dnnl_memory_desc_t w_md;
	dnnl_dims_t wd = {l->K, l->N};
	int err = EMO_E_UNSUPPORTED;
	/* W is (N,K) row-major, i.e. the (K,N) matrix in column-major "ba" */
	if (dnnl_memory_desc_init_by_tag(&w_md, 2, wd, dnnl_f32, dnnl_ba) ||
	    matmul_pd(l, 128, l->K, l->N, &pd, &sh))
		goto out;
	const dnnl_memory_desc_t *wq = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
	if (!wq)
		goto out;
	l->wmd = *wq;
	size_t bytes = dnnl_memory_desc_get_size(&l->wmd);
	if (!(l->packed = emo_alloc_large(bytes)) ||
	    dnnl_memory_create(&l->weights, &l->wmd, l->eng, l->packed) ||
	    dnnl_memory_create(&wsrc, &w_md, l->eng, (void *)l->w) ||
	    dnnl_reorder_primitive_desc_create(&rpd, &w_md, l->eng, &l->wmd, l->eng,
					       NULL) ||
	    dnnl_primitive_create(&ro, rpd) ||
	    dnnl_stream_create(&stream, l->eng, dnnl_stream_default_flags))
		goto out;
	dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, wsrc}, {DNNL_ARG_TO, l->weights}};
	if (dnnl_primitive_execute(ro, stream, 2, args) || dnnl_stream_wait(stream))
		goto out;
	err = 0;
out:
	if (stream)
		dnnl_stream_destroy(stream);
	if (ro)
		dnnl_primitive_destroy(ro);
	if (rpd)
		dnnl_primitive_desc_destroy(rpd);
	if (wsrc)
		dnnl_memory_destroy(wsrc);
	if (pd)
		dnnl_primitive_desc_destroy(pd);
	return err;
}

int emo_linear_create(const float *w, const float *b, int K, int N,
		      enum emo_precision p, struct emo_linear **out)
{
	*out = NULL;
	struct emo_linear *l = calloc(1, sizeof *l);
	if (!l)
		return -ENOMEM;
	l->w = w;
	l->b = b;
	l->K = K;
	l->N = N;
	l->p = p;
	pthread_mutex_init(&l->lock, NULL);
	l->eng = get_engine();
	dnnl_dims_t bd = {1, N};
	if (l->eng && (p == EMO_PRECISION_FP32 || emo_linear_bf16_available()) &&
	    (dnnl_memory_desc_init_by_tag(&l->bias_md, 2, bd, dnnl_f32, dnnl_ab) ||
	     pack_weights(l))) {
		emo_warn("oneDNN cannot run a %dx%d linear layer; using OpenBLAS", N, K);
		if (l->weights)
			dnnl_memory_destroy(l->weights);
		l->weights = NULL;
		free(l->packed);
		l->packed = NULL;
	}
	if (!l->weights)
		l->eng = NULL;
	*out = l;
	return 0;
}

int emo_linear_ctx_create(struct emo_linear_ctx **out)
{
	*out = NULL;
	struct emo_linear_ctx *c = calloc(1, sizeof *c);
	if (!c)
		return -ENOMEM;
	c->eng = get_engine();
	if (c->eng && dnnl_stream_create(&c->stream, c->eng, dnnl_stream_default_flags))
		c->eng = NULL;
	*out = c;
	return 0;
}

void emo_linear_ctx_destroy(struct emo_linear_ctx *c)
{
	if (!c)
		return;
	if (c->stream)
		dnnl_stream_destroy(c->stream);
	free(c->src16);
	free(c->scratch);
	free(c);
}

/* The cached kernels for (M, ldx, ldy), made on first use; NULL if oneDNN
 * cannot make them. */
static struct shape *shape_for(struct emo_linear *l, int M, int ldx, int ldy)
{
	pthread_mutex_lock(&l->lock);
	struct shape *sh = l->shapes;
	while (sh && !(sh->M == M && sh->ldx == ldx && sh->ldy == ldy))
		sh = sh->next;
	if (!sh && (sh = calloc(1, sizeof *sh))) {
		dnnl_primitive_desc_t pd = NULL, rpd = NULL;
		bool ok = !matmul_pd(l, M, ldx, ldy, &pd, sh);
		/* the kernels for this M must want the layout packed at load */
		const dnnl_memory_desc_t *wq =
			ok ? dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0) : NULL;
		ok = ok && wq && dnnl_memory_desc_equal(wq, &l->wmd) &&
		     !dnnl_primitive_create(&sh->mm, pd);
		if (ok && l->p == EMO_PRECISION_BF16)
			ok = !dnnl_reorder_primitive_desc_create(&rpd, &sh->src_md, l->eng,
								 &sh->src16_md, l->eng, NULL) &&
			     !dnnl_primitive_create(&sh->to_bf16, rpd);
		if (pd)
			dnnl_primitive_desc_destroy(pd);
		if (rpd)
			dnnl_primitive_desc_destroy(rpd);
		if (!ok)
			shape_free(sh); /* remembered as one oneDNN cannot run */
		sh->M = M;
		sh->ldx = ldx;
		sh->ldy = ldy;
		sh->next = l->shapes;
		l->shapes = sh;
	}
	pthread_mutex_unlock(&l->lock);
	return sh && sh->mm ? sh : NULL;
}

bool emo_linear_onednn(const struct emo_linear *l)
{
	return l && l->eng;
}

bool emo_linear_try(struct emo_linear *l, struct emo_linear_ctx *c, float *y,
		    int ldy, const float *x, int ldx, int M)
{
	struct shape *sh = l->eng && c->eng && M > 0 ? shape_for(l, M, ldx, ldy) : NULL;
	if (!sh)
		return false;
	int n = atomic_load(&linear_threads);
	if (omp_get_max_threads() != n)
		omp_set_num_threads(n);
	dnnl_memory_t src = NULL, src16 = NULL, bias = NULL, dst = NULL;
	dnnl_memory_create(&src, &sh->src_md, l->eng, (void *)x);
	dnnl_memory_create(&dst, &sh->dst_md, l->eng, y);
	if (l->b)
		dnnl_memory_create(&bias, &l->bias_md, l->eng, (void *)l->b);
	if (l->p == EMO_PRECISION_BF16) {
		size_t need = (size_t)M * l->K * 2;
		if (need > c->src16_bytes) {
			free(c->src16);
			c->src16 = malloc(need);
			c->src16_bytes = c->src16 ? need : 0;
		}
		dnnl_memory_create(&src16, &sh->src16_md, l->eng, c->src16);
		dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, src16}};
		dnnl_primitive_execute(sh->to_bf16, c->stream, 2, ra);
	}
	dnnl_memory_t scratch = NULL;
	size_t sbytes = dnnl_memory_desc_get_size(&sh->scratch_md);
	if (sbytes > c->scratch_bytes) {
		free(c->scratch);
		c->scratch = aligned_alloc(64, (sbytes + 63) & ~(size_t)63);
		c->scratch_bytes = c->scratch ? sbytes : 0;
	}
	if (sbytes)
		dnnl_memory_create(&scratch, &sh->scratch_md, l->eng, c->scratch);
	dnnl_exec_arg_t args[5] = {
		{DNNL_ARG_SRC, src16 ? src16 : src},
		{DNNL_ARG_WEIGHTS, l->weights},
		{DNNL_ARG_DST, dst},
	};
	int nargs = 3;
	if (scratch)
		args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, scratch};
	if (bias)
		args[nargs++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, bias};
	dnnl_primitive_execute(sh->mm, c->stream, nargs, args);
	dnnl_stream_wait(c->stream);
	dnnl_memory_destroy(src);
	dnnl_memory_destroy(dst);
	if (bias)
		dnnl_memory_destroy(bias);
	if (src16)
		dnnl_memory_destroy(src16);
	if (scratch)
		dnnl_memory_destroy(scratch);
	return true;
}

#else /* OpenBLAS only */

struct emo_linear {
	const float *w, *b;
	int K, N;
};

struct emo_linear_ctx {
	int unused;
};

int emo_linear_create(const float *w, const float *b, int K, int N,
		      enum emo_precision p, struct emo_linear **out)
{
	(void)p;
	*out = calloc(1, sizeof **out);
	if (!*out)
		return -ENOMEM;
	**out = (struct emo_linear){w, b, K, N};
	return 0;
}

void emo_linear_destroy(struct emo_linear *l)
{
	free(l);
}

int emo_linear_ctx_create(struct emo_linear_ctx **out)
{
	*out = calloc(1, sizeof **out);
	return *out ? 0 : -ENOMEM;
}

void emo_linear_ctx_destroy(struct emo_linear_ctx *c)
{
	free(c);
}

bool emo_linear_onednn(const struct emo_linear *l)
{
	(void)l;
	return false;
}

bool emo_linear_try(struct emo_linear *l, struct emo_linear_ctx *c, float *y,
		    int ldy, const float *x, int ldx, int M)
{
	(void)l, (void)c, (void)y, (void)ldy, (void)x, (void)ldx, (void)M;
	return false;
}

const char *emo_linear_engine(enum emo_precision p)
{
	(void)p;
	return "OpenBLAS";
}

bool emo_linear_bf16_available(void)
{
	return false;
}

#endif

/* Both builds' layers hold w, b, K and N for the OpenBLAS product. */
void emo_linear_run(struct emo_linear *l, struct emo_linear_ctx *c, float *y,
		    int ldy, const float *x, int ldx, int M)
{
	if (!emo_linear_try(l, c, y, ldy, x, ldx, M)) {
		assert(l->w); /* not after emo_linear_forget_source */
		emo_ops_linear(y, ldy, x, ldx, l->w, l->b, M, l->K, l->N);
	}
}

void emo_linear_forget_source(struct emo_linear *l)
{
	l->w = NULL;
}
