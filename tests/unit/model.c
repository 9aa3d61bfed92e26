/* Model directories and heads: probabilities against PyTorch for the BiLSTM
 * head (mean and last pooling) and a superb-er-shaped HF head; and every
 * way a model directory can be wrong fails with a message naming the
 * problem. Tolerance: 1e-5 absolute on probabilities. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emotop/model.h"
#include "nn/ops.h"
#include "nn/safetensors.h"
#include "testlib.h"

static void check_fixture(const char *name, int nlabels, const char *label0)
{
	char dir[1024], path[1200];
	snprintf(path, sizeof path, "tests/fixtures/%s", name);
	t_path(dir, sizeof dir, path);
	fprintf(stderr, "%s\n", name);
	struct emo_model *m = NULL;
	CHECK_EQ_INT(emo_model_load(dir, NULL, &m), 0);
	if (!m)
		return;
	CHECK_EQ_INT(emo_model_num_labels(m), nlabels);
	CHECK(strcmp(emo_model_label(m, 0), label0) == 0);
	CHECK(strcmp(emo_model_name(m), name) == 0);
	CHECK_EQ_INT(strlen(emo_model_sha256(m)), 64);
	snprintf(path, sizeof path, "%s/ref.safetensors", dir);
	struct emo_safetensors *ref = NULL;
	CHECK_EQ_INT(emo_safetensors_open(path, &ref), 0);
	struct emo_model_state *s = NULL;
	CHECK_EQ_INT(emo_model_state_create(m, 40000, &s), 0);
	/* "burst": quiet noise with a loud burst (the statistics branch's
	 * loud-frame selection), in the fixtures that have it */
	static const char *const lens[] = {"1s", "2.37s", "burst"};
	for (int i = 0; i < 3 && ref && s; i++) {
		char key[32];
		snprintf(key, sizeof key, "input.%s", lens[i]);
		const struct emo_tensor *in = emo_safetensors_find(ref, key);
		if (!in && i == 2)
			break;
		snprintf(key, sizeof key, "probs.%s", lens[i]);
		const struct emo_tensor *pr = emo_safetensors_find(ref, key);
		float probs[EMO_MAX_LABELS];
		int T = emo_model_infer(m, s, in->data, (int)in->numel, probs);
		CHECK(T > 0);
		snprintf(key, sizeof key, "probs %s", lens[i]);
		t_close(key, probs, pr->data, (size_t)nlabels, 1e-5f, 0);
		/* deterministic: the same input gives bit-identical output */
		float again[EMO_MAX_LABELS];
		emo_model_infer(m, s, in->data, (int)in->numel, again);
		CHECK(memcmp(probs, again, sizeof(float) * (size_t)nlabels) == 0);
	}
	emo_model_state_destroy(s);
	emo_safetensors_close(ref);
	emo_model_destroy(m);
}

/* ---- broken model directories ------------------------------------------ */

static void copy_file(const char *from, const char *to)
{
	FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
	char buf[65536];
	size_t n;
	while (a && b && (n = fread(buf, 1, sizeof buf, a)) > 0)
		fwrite(buf, 1, n, b);
	if (a)
		fclose(a);
	if (b)
		fclose(b);
}

/* Writes tensors of `src` as F32 to `path`, leaving out `drop`, renaming
 * nothing, optionally adding `extra` (4 floats) and optionally giving
 * `reshape` the shape [numel] instead of its own. */
static void write_variant(const struct emo_safetensors *src, const char *path,
			  const char *drop, const char *extra, const char *reshape)
{
	size_t n = emo_safetensors_count(src), off = 0;
	size_t cap = 1 << 20, hl = 0;
	char *hdr = malloc(cap);
	hl += (size_t)snprintf(hdr + hl, cap - hl, "{");
	for (size_t i = 0; i < n; i++) {
		const struct emo_tensor *t = emo_safetensors_at(src, i);
		if (drop && !strcmp(t->name, drop))
			continue;
		char shape[128] = "";
		if (reshape && !strcmp(t->name, reshape)) {
			snprintf(shape, sizeof shape, "%zu", t->numel);
		} else {
			for (int d = 0; d < t->ndim; d++)
				snprintf(shape + strlen(shape), sizeof shape - strlen(shape),
					 "%s%lld", d ? "," : "", (long long)t->shape[d]);
		}
		hl += (size_t)snprintf(hdr + hl, cap - hl,
				       "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%s],"
				       "\"data_offsets\":[%zu,%zu]}", hl > 1 ? "," : "",
				       t->name, shape, off, off + t->numel * 4);
		off += t->numel * 4;
	}
	if (extra)
		hl += (size_t)snprintf(hdr + hl, cap - hl,
				       ",\"%s\":{\"dtype\":\"F32\",\"shape\":[4],"
				       "\"data_offsets\":[%zu,%zu]}", extra, off, off + 16);
	hl += (size_t)snprintf(hdr + hl, cap - hl, "}");
	while (hl % 8)
		hdr[hl++] = ' ';
	FILE *f = fopen(path, "wb");
	uint64_t h64 = hl;
	fwrite(&h64, 8, 1, f);
	fwrite(hdr, 1, hl, f);
	for (size_t i = 0; i < n; i++) {
		const struct emo_tensor *t = emo_safetensors_at(src, i);
		if (drop && !strcmp(t->name, drop))
			continue;
		fwrite(t->data, 4, t->numel, f);
	}
	if (extra) {
		float z[4] = {0};
		fwrite(z, 4, 4, f);
	}
	fclose(f);
	free(hdr);
}

static void expect_load_error(const char *dir, int code, const char *msg)
{
	struct emo_model *m = (void *)1;
	t_last_log[0] = 0;
	int err = emo_model_load(dir, NULL, &m);
	fprintf(stderr, "  -> %d \"%s\"\n", err, t_last_log);
	CHECK_EQ_INT(err, code);
	CHECK(m == NULL);
	CHECK_CONTAINS(t_last_log, msg);
}

static void test_broken(void)
{
	char src[1024], path[1200], dir[] = "/tmp/emotop-model-XXXXXX";
	t_path(src, sizeof src, "tests/fixtures/model-tiny-bilstm");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/model.safetensors", src);
	struct emo_safetensors *st = NULL;
	CHECK_EQ_INT(emo_safetensors_open(path, &st), 0);
	if (!st)
		return;
	char cfg_src[1200], cfg_dst[1200], wpath[1200];
	snprintf(cfg_src, sizeof cfg_src, "%s/config.json", src);
	snprintf(cfg_dst, sizeof cfg_dst, "%s/config.json", dir);
	snprintf(wpath, sizeof wpath, "%s/model.safetensors", dir);

	fprintf(stderr, "no config.json\n");
	expect_load_error(dir, -ENOENT, "not a model directory");

	copy_file(cfg_src, cfg_dst);
	fprintf(stderr, "no weights\n");
	expect_load_error(dir, -ENOENT, "model.safetensors");

	fprintf(stderr, "missing encoder tensor\n");
	write_variant(st, wpath, "hubert.encoder.layers.1.attention.k_proj.weight",
		      NULL, NULL);
	expect_load_error(dir, EMO_E_MISSING,
			  "'hubert.encoder.layers.1.attention.k_proj.weight' [48, 48] is missing");

	fprintf(stderr, "missing head tensor\n");
	write_variant(st, wpath, "lstm.weight_hh_l0_reverse", NULL, NULL);
	expect_load_error(dir, EMO_E_MISSING, "'lstm.weight_hh_l0_reverse'");

	fprintf(stderr, "mis-shaped tensor\n");
	write_variant(st, wpath, NULL, NULL, "hubert.feature_projection.projection.weight");
	expect_load_error(dir, EMO_E_SHAPE,
			  "'hubert.feature_projection.projection.weight' has shape [1536]");

	fprintf(stderr, "extra tensor\n");
	write_variant(st, wpath, NULL, "decoder.weight", NULL);
	expect_load_error(dir, EMO_E_BADMODEL, "'decoder.weight'");

	fprintf(stderr, "truncated weights\n");
	write_variant(st, wpath, NULL, NULL, NULL);
	struct stat sb;
	stat(wpath, &sb);
	CHECK(truncate(wpath, sb.st_size - 100) == 0);
	expect_load_error(dir, EMO_E_TRUNCATED, "truncated");

	fprintf(stderr, "good copy loads\n");
	write_variant(st, wpath, NULL, NULL, NULL);
	struct emo_model *m = NULL;
	CHECK_EQ_INT(emo_model_load(dir, NULL, &m), 0);
	emo_model_destroy(m);

	fprintf(stderr, "id2label disagrees with classifier\n");
	FILE *f = fopen(cfg_src, "r");
	char *buf = calloc(1, 1 << 16);
	size_t n = fread(buf, 1, (1 << 16) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strstr(buf, "\"7\": \"surprised\"");
	CHECK(p != NULL);
	if (p) {
		/* drop the last label: `"6": "disgust",\n "7": "surprised"` */
		char *comma = p;
		while (comma > buf && *comma != ',')
			comma--;
		memmove(comma, p + strlen("\"7\": \"surprised\""),
			strlen(p + strlen("\"7\": \"surprised\"")) + 1);
		f = fopen(cfg_dst, "w");
		fputs(buf, f);
		fclose(f);
		expect_load_error(dir, EMO_E_BADMODEL, "id2label has 7 labels");
	}
	fprintf(stderr, "invalid JSON config\n");
	f = fopen(cfg_dst, "w");
	fputs("{\"model_type\": \"hubert\",", f);
	fclose(f);
	expect_load_error(dir, EMO_E_JSON, "invalid JSON");

	fprintf(stderr, "unsupported model type\n");
	f = fopen(cfg_dst, "w");
	fputs("{\"model_type\": \"whisper\"}", f);
	fclose(f);
	expect_load_error(dir, EMO_E_UNSUPPORTED, "model_type \"whisper\"");
	free(buf);

	unlink(cfg_dst);
	unlink(wpath);
	rmdir(dir);
	emo_safetensors_close(st);

	/* an encoder-only directory loads without a head only when asked */
	char enc[1024];
	t_path(enc, sizeof enc, "tests/fixtures/hubert-tiny-base");
	fprintf(stderr, "encoder-only model as emotion model\n");
	expect_load_error(enc, EMO_E_MISSING, "no emotion head");
	CHECK_EQ_INT(emo_model_load(enc, &(struct emo_model_params){.require_head = false}, &m), 0);
	emo_model_destroy(m);
}

int main(void)
{
	t_init();
	emo_set_threads(1);
	check_fixture("model-tiny-bilstm", 8, "neutral");
	check_fixture("model-tiny-bilstm-last", 8, "neutral");
	check_fixture("model-tiny-bilstm-stats", 8, "neutral");
	check_fixture("model-tiny-superb", 4, "neu");
	test_broken();
	return t_finish("test-model");
}
