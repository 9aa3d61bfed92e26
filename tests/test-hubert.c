/* The encoder against PyTorch (torchaudio) on every hidden state.
 *
 * Usage: test-hubert [FIXTURE_DIR...]  (default: the committed tiny base
 * and large fixtures; the slow suite passes full-size ones).
 *
 * Tolerance rule: |c - ref| <= 1e-4 · max(1, rms(ref of that layer)).
 * Hidden states are unit scale after LayerNorm (base), so this is 1e-4
 * absolute there; in the pre-norm residual stream (large) they grow with
 * depth and the bound grows with their RMS. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>

#include "emotop/hubert.h"
#include "ops.h"
#include "internal.h"
#include "linear.h"
#include "safetensors.h"
#include "testlib.h"

static void check_dir(const char *dir)
{
	char path[2048];
	fprintf(stderr, "%s\n", dir);
	struct emo_hubert_config cfg;
	CHECK_EQ_INT(emo_hubert_config_load(dir, &cfg), 0);
	snprintf(path, sizeof path, "%s/model.safetensors", dir);
	struct emo_safetensors *st = NULL, *ref = NULL;
	CHECK_EQ_INT(emo_safetensors_open(path, &st), 0);
	snprintf(path, sizeof path, "%s/ref.safetensors", dir);
	CHECK_EQ_INT(emo_safetensors_open(path, &ref), 0);
	if (!st || !ref)
		goto out;

	size_t n = emo_safetensors_count(st);
	bool *used = calloc(n, 1);
	struct emo_hubert *h = NULL;
	CHECK_EQ_INT(emo_hubert_create(&cfg, st, used, EMO_PRECISION_FP32, &h), 0);
	if (!h) {
		free(used);
		goto out;
	}
	/* the encoder claims every tensor of an encoder-only checkpoint */
	for (size_t i = 0; i < n; i++)
		if (!used[i]) {
			fprintf(stderr, "  unclaimed tensor %s\n",
				emo_safetensors_at(st, i)->name);
			t_failures++;
		}
	free(used);
	CHECK_EQ_INT(emo_hubert_num_frames(h, 16000), 49);
	CHECK_EQ_INT(emo_hubert_hop(h), 320);
	CHECK_EQ_INT(emo_hubert_receptive_field(h), 400);

	struct emo_hubert_state *s = NULL;
	CHECK_EQ_INT(emo_hubert_state_create(h, 48000, &s), 0);
	static const char *const lens[] = {"1s", "3s", "2.37s"};
	for (int li = 0; li < 3; li++) {
		char key[64];
		snprintf(key, sizeof key, "input.%s", lens[li]);
		const struct emo_tensor *in = emo_safetensors_find(ref, key);
		snprintf(key, sizeof key, "hidden.%s", lens[li]);
		const struct emo_tensor *hid = emo_safetensors_find(ref, key);
		if (!in || !hid) {
			fprintf(stderr, "  reference %s missing\n", lens[li]);
			t_failures++;
			continue;
		}
		int T = emo_hubert_forward(h, s, in->data, (int)in->numel);
		CHECK_EQ_INT(hid->shape[0], cfg.num_layers + 1);
		CHECK_EQ_INT(T, hid->shape[1]);
		CHECK_EQ_INT(cfg.hidden_size, hid->shape[2]);
		if (T != hid->shape[1])
			continue;
		size_t TH = (size_t)T * cfg.hidden_size;
		for (int l = 0; l <= cfg.num_layers; l++) {
			const float *r = hid->data + l * TH;
			double ss = 0;
			for (size_t i = 0; i < TH; i++)
				ss += (double)r[i] * r[i];
			float rms = (float)sqrt(ss / TH);
			float tol = 1e-4f * (rms > 1 ? rms : 1);
			char what[64];
			snprintf(what, sizeof what, "%s layer %d (rms %.2f)",
				 lens[li], l, rms);
			t_close(what, emo_hubert_hidden(s, l), r, TH, tol, 0);
		}
	}
	/* bf16 (where the CPU and the build have it): close to the
	 * reference, not equal to fp32 (so bf16 really ran). The bound is
	 * bfloat16's: 8 significant bits per operand, summed over K. */
	if (emo_linear_bf16_available()) {
		snprintf(path, sizeof path, "%s/model.safetensors", dir);
		struct emo_hubert *h16 = NULL;
		struct emo_hubert_state *s16 = NULL;
		CHECK_EQ_INT(emo_hubert_create(&cfg, st, NULL, EMO_PRECISION_BF16, &h16), 0);
		CHECK_EQ_INT(emo_hubert_state_create(h16, 48000, &s16), 0);
		const struct emo_tensor *in = emo_safetensors_find(ref, "input.3s");
		const struct emo_tensor *hid = emo_safetensors_find(ref, "hidden.3s");
		if (h16 && s16 && in && hid) {
			CHECK_EQ_INT(emo_hubert_precision(h16), EMO_PRECISION_BF16);
			int T = emo_hubert_forward(h16, s16, in->data, (int)in->numel);
			int T32 = emo_hubert_forward(h, s, in->data, (int)in->numel);
			CHECK_EQ_INT(T, T32);
			size_t TH = (size_t)T * cfg.hidden_size;
			for (int l = 1; T == T32 && l <= cfg.num_layers; l++) {
				const float *r = hid->data + l * TH;
				double ss = 0, d32 = 0;
				for (size_t i = 0; i < TH; i++) {
					ss += (double)r[i] * r[i];
					d32 = fmax(d32, fabs(emo_hubert_hidden(s16, l)[i] -
							     emo_hubert_hidden(s, l)[i]));
				}
				float rms = (float)sqrt(ss / TH);
				char what[64];
				snprintf(what, sizeof what, "bf16 3s layer %d (rms %.2f)", l, rms);
				t_close(what, emo_hubert_hidden(s16, l), r, TH,
					0.1f * (rms > 1 ? rms : 1), 0);
				CHECK(d32 > 0); /* it is not the fp32 path */
			}
		}
		emo_hubert_state_destroy(s16);
		emo_hubert_destroy(h16);
	} else {
		fprintf(stderr, "  bf16: skipped (%s; the CPU or the build has no "
			"bf16 products)\n", emo_linear_engine(EMO_PRECISION_BF16));
	}
	/* too short for one frame: a clear error, not a crash */
	float z[399] = {0};
	CHECK_EQ_INT(emo_hubert_forward(h, s, z, 399), EMO_E_EMPTY);
	CHECK_EQ_INT(emo_hubert_forward(h, s, z, 48001), -EINVAL);
	emo_hubert_state_destroy(s);
	emo_hubert_destroy(h);
out:
	emo_safetensors_close(st);
	emo_safetensors_close(ref);
}

int main(int argc, char **argv)
{
	t_init();
	emo_ops_set_threads(1);
	char path[1024];
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			check_dir(argv[i]);
	} else {
		t_path(path, sizeof path, "tests/fixtures/hubert-tiny-base");
		check_dir(path);
		t_path(path, sizeof path, "tests/fixtures/hubert-tiny-large");
		check_dir(path);
	}
	return t_finish("test-hubert");
}
