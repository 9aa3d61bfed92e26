/* ops kernels against PyTorch (tests/fixtures/ops.safetensors, made by
 * tests/fixtures/gen_ops.py) and optimised against naive twins.
 *
 * Tolerance: 1e-5 absolute + 1e-5 relative for float32 kernels whose
 * reference is float32 PyTorch on unit-scale data (a few ulps of summation
 * order difference over <= 1000 terms). */
#include "nn/ops.h"
#include "nn/safetensors.h"
#include "testlib.h"

static struct emo_safetensors *fx;

static const float *T(const char *name)
{
	const struct emo_tensor *t = emo_safetensors_find(fx, name);
	if (!t) {
		fprintf(stderr, "fixture tensor %s missing\n", name);
		exit(1);
	}
	return t->data;
}

static size_t N(const char *name)
{
	return emo_safetensors_find(fx, name)->numel;
}

static float *falloc(size_t n)
{
	float *p = calloc(n ? n : 1, sizeof(float));
	if (!p)
		abort();
	return p;
}

static void test_linear(void)
{
	int M = 37, K = 64, Nn = 48;
	float *y = falloc((size_t)M * Nn), *y2 = falloc((size_t)M * Nn);
	emo_ops_linear(y, Nn, T("linear.x"), K, T("linear.w"), T("linear.b"), M, K, Nn);
	emo_ops_linear_naive(y2, Nn, T("linear.x"), K, T("linear.w"), T("linear.b"), M, K, Nn);
	t_close("linear vs torch", y, T("linear.y"), (size_t)M * Nn, 1e-5f, 1e-5f);
	t_close("linear_naive vs torch", y2, T("linear.y"), (size_t)M * Nn, 1e-5f, 1e-5f);
	free(y);
	free(y2);
}

static void test_conv(const char *name)
{
	char key[64];
	snprintf(key, sizeof key, "%s.cfg", name);
	const float *cfg = T(key);
	int cin = (int)cfg[0], cout = (int)cfg[1], k = (int)cfg[2], s = (int)cfg[3],
	    p = (int)cfg[4], g = (int)cfg[5], tin = (int)cfg[6], bias = (int)cfg[7];
	int tout = emo_ops_conv1d_out_len(tin, k, s, p);
	snprintf(key, sizeof key, "%s.y", name);
	CHECK_EQ_INT((size_t)tout * cout, N(key));
	const float *ref = T(key);
	snprintf(key, sizeof key, "%s.w", name);
	float *w = falloc(N(key));
	emo_ops_conv1d_reorder(w, T(key), cout, cin / g, k);
	snprintf(key, sizeof key, "%s.b", name);
	const float *b = bias ? T(key) : NULL;
	snprintf(key, sizeof key, "%s.x", name);
	const float *x = T(key);
	float *y = falloc((size_t)tout * cout), *y2 = falloc((size_t)tout * cout);
	float *scr = falloc(emo_ops_conv1d_scratch(tout, cin, k, s, p, g));
	emo_ops_conv1d(y, x, w, b, scr, tin, cin, tout, cout, k, s, p, g);
	emo_ops_conv1d_naive(y2, x, w, b, tin, cin, tout, cout, k, s, p, g);
	snprintf(key, sizeof key, "conv %s vs torch", name);
	t_close(key, y, ref, (size_t)tout * cout, 1e-5f, 1e-5f);
	snprintf(key, sizeof key, "conv %s naive vs torch", name);
	t_close(key, y2, ref, (size_t)tout * cout, 1e-5f, 1e-5f);

	/* a shorter tout (the positional conv drops its last frame) gives
	 * the same leading frames */
	if (tout > 1) {
		float *y3 = falloc((size_t)tout * cout);
		emo_ops_conv1d(y3, x, w, b, scr, tin, cin, tout - 1, cout, k, s, p, g);
		/* GEMM blocking may differ with M, so not bit-exact */
		t_close("  shorter tout, same frames", y3, y,
			(size_t)(tout - 1) * cout, 1e-6f, 1e-6f);
		free(y3);
	}
	free(w);
	free(y);
	free(y2);
	free(scr);
}

static void test_norms(void)
{
	float y[9 * 40], y2[9 * 40];
	emo_ops_layernorm(y, T("ln.x"), T("ln.g"), T("ln.b"), 9, 40, 1e-5f);
	emo_ops_layernorm_naive(y2, T("ln.x"), T("ln.g"), T("ln.b"), 9, 40, 1e-5f);
	t_close("layernorm vs torch", y, T("ln.y"), 360, 1e-5f, 1e-5f);
	t_close("layernorm_naive vs torch", y2, T("ln.y"), 360, 1e-5f, 1e-5f);
	/* in place gives the same */
	float inpl[9 * 40];
	memcpy(inpl, T("ln.x"), sizeof inpl);
	emo_ops_layernorm(inpl, inpl, T("ln.g"), T("ln.b"), 9, 40, 1e-5f);
	CHECK(memcmp(inpl, y, sizeof y) == 0);
	/* residual add fused into the norm: bit-identical to add, then norm
	 * (ln.x split into halves that sum to it), also in place */
	float part[9 * 40], r[9 * 40], sum[9 * 40], ref[9 * 40], fused[9 * 40];
	for (int i = 0; i < 360; i++) {
		part[i] = 0.5f * T("ln.x")[i] + 0.25f;
		r[i] = T("ln.x")[i] - part[i];
		sum[i] = part[i] + r[i];
	}
	emo_ops_layernorm(ref, sum, T("ln.g"), T("ln.b"), 9, 40, 1e-5f);
	emo_ops_add_layernorm(fused, part, r, T("ln.g"), T("ln.b"), 9, 40, 1e-5f);
	CHECK(memcmp(fused, ref, sizeof ref) == 0);
	emo_ops_add_layernorm(part, part, r, T("ln.g"), T("ln.b"), 9, 40, 1e-5f);
	CHECK(memcmp(part, ref, sizeof ref) == 0);
	t_close("add_layernorm vs torch", ref, T("ln.y"), 360, 1e-5f, 1e-5f);

	const char *gns[] = {"gn", "gn4"};
	for (int i = 0; i < 2; i++) {
		char key[32];
		snprintf(key, sizeof key, "%s.cfg", gns[i]);
		const float *cfg = T(key);
		int C = (int)cfg[0], G = (int)cfg[1], Tn = (int)cfg[2];
		float *a = falloc((size_t)C * Tn), *b = falloc((size_t)C * Tn);
		char kx[32], kg[32], kb[32], ky[32];
		snprintf(kx, 32, "%s.x", gns[i]);
		snprintf(kg, 32, "%s.g", gns[i]);
		snprintf(kb, 32, "%s.b", gns[i]);
		snprintf(ky, 32, "%s.y", gns[i]);
		emo_ops_groupnorm(a, T(kx), T(kg), T(kb), Tn, C, G, 1e-5f);
		emo_ops_groupnorm_naive(b, T(kx), T(kg), T(kb), Tn, C, G, 1e-5f);
		snprintf(key, sizeof key, "%s vs torch", gns[i]);
		t_close(key, a, T(ky), (size_t)C * Tn, 1e-5f, 1e-5f);
		snprintf(key, sizeof key, "%s naive vs torch", gns[i]);
		t_close(key, b, T(ky), (size_t)C * Tn, 1e-5f, 1e-5f);
		free(a);
		free(b);
	}
}

static void test_act(void)
{
	size_t n = N("gelu.x");
	float *a = falloc(n), *b = falloc(n);
	memcpy(a, T("gelu.x"), n * 4);
	memcpy(b, T("gelu.x"), n * 4);
	emo_ops_gelu(a, n);
	emo_ops_gelu_naive(b, n);
	t_close("gelu vs torch", a, T("gelu.y"), n, 1e-6f, 1e-6f);
	t_close("gelu_naive vs torch", b, T("gelu.y"), n, 1e-6f, 1e-6f);
	free(a);
	free(b);

	float s[55], s2[55];
	memcpy(s, T("softmax.x"), sizeof s);
	memcpy(s2, T("softmax.x"), sizeof s);
	emo_ops_softmax(s, 5, 11);
	emo_ops_softmax_naive(s2, 5, 11);
	t_close("softmax vs torch", s, T("softmax.y"), 55, 1e-6f, 1e-5f);
	t_close("softmax_naive vs torch", s2, T("softmax.y"), 55, 1e-6f, 1e-5f);
	for (int r = 0; r < 5; r++) {
		float sum = 0;
		for (int c = 0; c < 11; c++)
			sum += s[r * 11 + c];
		CHECK(fabsf(sum - 1.0f) < 1e-5f);
	}
}

static void test_lstm(void)
{
	enum { H = 12, I = 7, S = 6 };
	for (int naive = 0; naive < 2; naive++) {
		float h[H] = {0}, c[H] = {0}, gates[4 * H], y[S * H];
		for (int t = 0; t < S; t++) {
			/* gates = x_t · W_ihᵀ + b_ih + b_hh */
			emo_ops_linear_naive(gates, 4 * H, T("lstm.x") + t * I, I,
					     T("lstm.w_ih"), T("lstm.b_ih"), 1, I, 4 * H);
			for (int j = 0; j < 4 * H; j++)
				gates[j] += T("lstm.b_hh")[j];
			if (naive)
				emo_ops_lstm_cell_naive(h, c, gates, T("lstm.w_hh"), H);
			else
				emo_ops_lstm_cell(h, c, gates, T("lstm.w_hh"), H);
			memcpy(y + t * H, h, sizeof h);
		}
		t_close(naive ? "lstm_naive h vs torch" : "lstm h vs torch", y,
			T("lstm.y"), S * H, 1e-5f, 1e-5f);
		t_close(naive ? "lstm_naive c vs torch" : "lstm c vs torch", c,
			T("lstm.cn"), H, 1e-5f, 1e-5f);
	}
}

int main(void)
{
	t_init();
	char path[1024];
	t_path(path, sizeof path, "tests/fixtures/ops.safetensors");
	if (emo_safetensors_open(path, &fx) != 0) {
		fprintf(stderr, "cannot open %s\n", path);
		return 1;
	}
	emo_ops_set_threads(1);
	test_linear();
	test_conv("conv0");
	test_conv("conv1");
	test_conv("conv2");
	test_conv("convk");
	test_conv("pos");
	test_norms();
	test_act();
	test_lstm();
	emo_safetensors_close(fx);
	return t_finish("test-ops");
}
