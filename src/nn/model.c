/* Model directories: config + weights + labels -> encoder + head.
 * Not here: downloading (models/download.sh), format conversion
 * (models/convert.py). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emotop/error.h"
#include "emotop/model.h"
#include "nn/head.h"
#include "nn/hubert-internal.h"
#include "nn/linear.h"
#include "nn/ops.h"
#include "util/util.h"

struct emo_model {
	char *dir;
	char name[128];
	pthread_mutex_t sha_lock; /* guards sha256, the only state after load */
	char sha256[65];
	struct emo_safetensors *st;
	struct emo_hubert *enc;
	struct emo_head *head;
	int num_labels;
	char *labels[EMO_MAX_LABELS];
};

struct emo_model_state {
	const struct emo_model *m;
	struct emo_hubert_state *enc;
	float *scratch;
	int max_samples;
};

void emo_model_destroy(struct emo_model *m)
{
	if (!m)
		return;
	emo_head_destroy(m->head);
	emo_hubert_destroy(m->enc);
	emo_safetensors_close(m->st);
	for (int i = 0; i < m->num_labels; i++)
		free(m->labels[i]);
	pthread_mutex_destroy(&m->sha_lock);
	free(m->dir);
	free(m);
}

/* id2label {"0": "neutral", ...}: every id 0..n-1 exactly once. */
static int load_labels(struct emo_model *m, json_t *cfg, int n)
{
	json_t *map = json_object_get(cfg, "id2label");
	if (n > EMO_MAX_LABELS) {
		emo_err("model: %d classes; at most %d are supported", n, EMO_MAX_LABELS);
		return EMO_E_UNSUPPORTED;
	}
	if (map && json_object_size(map) != (size_t)n) {
		emo_err("model: id2label has %zu labels but the classifier has %d "
			"classes", json_object_size(map), n);
		return EMO_E_BADMODEL;
	}
	for (int i = 0; i < n; i++) {
		char key[16], def[32];
		snprintf(key, sizeof key, "%d", i);
		snprintf(def, sizeof def, "LABEL_%d", i);
		const char *l = map ? json_string_value(json_object_get(map, key)) : def;
		if (!l) {
			emo_err("model: id2label has no string for id %d", i);
			return EMO_E_BADMODEL;
		}
		for (int k = 0; k < i; k++)
			if (!strcmp(m->labels[k], l)) {
				/* analyze's JSON would have two keys of that name */
				emo_err("model: id2label names \"%s\" twice (ids %d and %d); "
					"each label must be unique", l, k, i);
				return EMO_E_BADMODEL;
			}
		m->labels[i] = strdup(l);
		if (!m->labels[i])
			return -ENOMEM;
		m->num_labels = i + 1;
	}
	return 0;
}

/* A NaN or Inf weight would turn every result into NaN: refuse it. Each
 * tensor's pages are let go once checked (they stay in the page cache):
 * the encoder reads them again one layer at a time as it copies and packs
 * them, so the file is never resident whole beside its copies. */
static int check_finite(const struct emo_model *m, const char *dir)
{
	for (size_t i = 0; i < emo_safetensors_count(m->st); i++) {
		const struct emo_tensor *t = emo_safetensors_at(m->st, i);
		if (!t->data)
			continue;
		for (size_t k = 0; k < t->numel; k++)
			if (!isfinite(t->data[k])) {
				emo_err("%s/model.safetensors: tensor '%s' holds %s at "
					"element %zu; the weights are damaged: "
					"re-download or re-export the model", dir, t->name,
					isnan(t->data[k]) ? "NaN" : "Inf", k);
				return EMO_E_NONFINITE;
			}
		emo_safetensors_drop(m->st, t->data, t->numel);
	}
	return 0;
}

/* model.sha256 (optional, "HEX  model.safetensors" as sha256sum writes
 * it): the weights must hash to it, or a flipped bit would go unnoticed. */
static int check_digest(struct emo_model *m, const char *dir)
{
	char path[4096], want[65] = "";
	snprintf(path, sizeof path, "%s/model.sha256", dir);
	if (access(path, F_OK) != 0)
		return 0;
	int fd = emo_open_regular(path);
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		return fd < 0 ? fd : -errno;
	}
	int n = fscanf(f, "%64s", want);
	fclose(f);
	if (n != 1 || strlen(want) != 64 || strspn(want, "0123456789abcdefABCDEF") != 64) {
		emo_err("%s: not a SHA-256 digest line (\"HEX  model.safetensors\"); "
			"fix or remove it", path);
		return EMO_E_FORMAT;
	}
	const char *got = emo_model_sha256(m);
	if (strcasecmp(got, want)) {
		emo_err("%s/model.safetensors: SHA-256 %.12s... differs from %.12s... "
			"in model.sha256: the weights are damaged or were changed; "
			"re-download or re-export the model (or, if you changed the "
			"weights on purpose, regenerate model.sha256 with "
			"'sha256sum model.safetensors > model.sha256')", dir, got, want);
		return EMO_E_DIGEST;
	}
	return 0;
}

struct emo_model_params emo_model_params_default(void)
{
	return (struct emo_model_params){.require_head = true,
					 .precision = EMO_PRECISION_FP32};
}

int emo_model_load(const char *dir, const struct emo_model_params *params,
		   struct emo_model **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!dir) {
		emo_err("model: no directory (NULL)");
		return -EINVAL;
	}
	const struct emo_model_params p = params ? *params : emo_model_params_default();
	char path[4096];
	int err;
	bool *used = NULL;
	json_t *cfg = NULL, *pre = NULL;
	struct emo_model *m = calloc(1, sizeof *m);
	if (!m || !(m->dir = strdup(dir))) {
		free(m);
		return -ENOMEM;
	}
	pthread_mutex_init(&m->sha_lock, NULL);
	/* name: last path component, without trailing slashes */
	size_t len = strlen(dir);
	while (len > 1 && dir[len - 1] == '/')
		len--;
	size_t start = len;
	while (start > 0 && dir[start - 1] != '/')
		start--;
	snprintf(m->name, sizeof m->name, "%.*s", (int)(len - start), dir + start);

	snprintf(path, sizeof path, "%s/config.json", dir);
	cfg = emo_json_load_file(path, false, &err);
	if (!cfg) {
		if (err == -ENOENT)
			emo_err("%s is not a model directory (no config.json); "
				"see 'man emotop', MODEL DIRECTORY", dir);
		goto fail;
	}
	snprintf(path, sizeof path, "%s/preprocessor_config.json", dir);
	pre = emo_json_load_file(path, true, &err);
	if (err)
		goto fail;
	struct emo_hubert_config hc;
	err = emo_hubert_config_from_json(cfg, pre, &hc);
	if (err) {
		emo_err("%s/config.json: cannot be used (%s)", dir, emo_strerror(err));
		goto fail;
	}
	snprintf(path, sizeof path, "%s/model.safetensors", dir);
	err = emo_safetensors_open(path, &m->st);
	if (err) {
		if (err == -ENOENT) {
			snprintf(path, sizeof path, "%s/pytorch_model.bin", dir);
			if (access(path, F_OK) == 0)
				emo_err("%s has pytorch_model.bin but no model.safetensors; "
					"convert it: models/convert.py %s", dir, dir);
		}
		goto fail;
	}
	size_t nt = emo_safetensors_count(m->st);
	used = calloc(nt ? nt : 1, 1);
	if (!used) {
		err = -ENOMEM;
		goto fail;
	}
	/* the head (small) and its labels first: a directory that cannot be
	 * used as asked is refused before the encoder's weights are read,
	 * copied and packed (hundreds of MB for a hubert-base) */
	err = emo_head_create(cfg, m->st, used, hc.hidden_size, hc.num_layers,
			      &m->head);
	if (err == EMO_E_MISSING && !p.require_head) {
		err = 0; /* an encoder-only directory, as asked */
	} else if (err == EMO_E_MISSING) {
		emo_err("%s: the model has no emotion head (config.json has neither "
			"\"emotop_head\" nor a *ForSequenceClassification "
			"architecture); it can only be used with 'emotop embed'", dir);
		goto fail;
	}
	if (err)
		goto fail;
	if (m->head) {
		err = load_labels(m, cfg, emo_head_num_labels(m->head));
		if (err)
			goto fail;
	}
	/* every weight read once here, before the encoder copies and packs
	 * them and lets the file's pages go */
	if ((err = check_finite(m, dir)))
		goto fail;
	err = emo_hubert_create(&hc, m->st, used, p.precision, &m->enc);
	if (err)
		goto fail;
	for (size_t i = 0; i < nt; i++)
		if (!used[i]) {
			const char *n = emo_safetensors_at(m->st, i)->name;
			/* a classification checkpoint used as an encoder only */
			if (!m->head && (!strncmp(n, "projector.", 10) ||
					 !strncmp(n, "classifier.", 11) ||
					 !strncmp(n, "lstm.", 5) || !strcmp(n, "layer_weights")))
				continue;
			emo_err("model: tensor '%s' in %s/model.safetensors is not "
				"used by the configured encoder or head; the config and "
				"the weights do not match", n, dir);
			err = EMO_E_BADMODEL;
			goto fail;
		}
	if ((err = check_digest(m, dir)))
		goto fail;
	free(used);
	json_decref(cfg);
	json_decref(pre);
	*out = m;
	return 0;
fail:
	free(used);
	json_decref(cfg);
	json_decref(pre);
	emo_model_destroy(m);
	return err;
}

const char *emo_model_name(const struct emo_model *m) { return m->name; }

enum emo_precision emo_model_precision(const struct emo_model *m)
{
	return emo_hubert_precision(m->enc);
}

const char *emo_model_engine(const struct emo_model *m)
{
	return emo_linear_engine(emo_hubert_precision(m->enc));
}
const char *emo_model_dir(const struct emo_model *m) { return m->dir; }
const struct emo_hubert *emo_model_encoder(const struct emo_model *m) { return m->enc; }
const struct emo_head *emo_model_head(const struct emo_model *m) { return m->head; }
int emo_model_num_labels(const struct emo_model *m) { return m->num_labels; }

const char *emo_model_label(const struct emo_model *m, int i)
{
	return i >= 0 && i < m->num_labels ? m->labels[i] : "?";
}

int emo_model_label_index(const struct emo_model *m, const char *name)
{
	if (!m || !name)
		return -1;
	for (int i = 0; i < m->num_labels; i++)
		if (!strcasecmp(m->labels[i], name))
			return i;
	return -1;
}

static const char *sha256_locked(struct emo_model *m)
{
	if (m->sha256[0])
		return m->sha256;
	char path[4096];
	snprintf(path, sizeof path, "%s/model.safetensors", m->dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return "unknown";
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char buf[1 << 16], md[32];
	unsigned int mdlen = 0;
	bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	ssize_t r;
	while (ok && (r = read(fd, buf, sizeof buf)) > 0)
		ok = EVP_DigestUpdate(ctx, buf, (size_t)r);
	ok = ok && r == 0 && EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	close(fd);
	if (!ok)
		return "unknown";
	for (int i = 0; i < 32; i++)
		snprintf(m->sha256 + 2 * i, 3, "%02x", md[i]);
	return m->sha256;
}

const char *emo_model_sha256(const struct emo_model *cm)
{
	/* the digest is a cache: the model stays logically immutable */
	struct emo_model *m = (struct emo_model *)cm;
	pthread_mutex_lock(&m->sha_lock);
	const char *r = sha256_locked(m);
	pthread_mutex_unlock(&m->sha_lock);
	return r;
}

int emo_model_state_create(const struct emo_model *m, int max_samples,
			   struct emo_model_state **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!m || max_samples < 1)
		return -EINVAL;
	struct emo_model_state *s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->m = m;
	s->max_samples = max_samples;
	int err = emo_hubert_state_create(m->enc, max_samples, &s->enc);
	if (err) {
		free(s);
		return err;
	}
	if (m->head) {
		int T = emo_hubert_num_frames(m->enc, max_samples);
		s->scratch = malloc(sizeof(float) *
				    emo_head_scratch(m->head, T, max_samples));
		if (!s->scratch) {
			emo_model_state_destroy(s);
			return -ENOMEM;
		}
	}
	*out = s;
	return 0;
}

void emo_model_state_destroy(struct emo_model_state *s)
{
	if (!s)
		return;
	emo_hubert_state_destroy(s->enc);
	free(s->scratch);
	free(s);
}

const struct emo_hubert_state *emo_model_state_encoder(const struct emo_model_state *s)
{
	return s->enc;
}

int emo_model_state_max_samples(const struct emo_model_state *s)
{
	return s->max_samples;
}

struct emo_hubert_state *emo_model_state_encoder_mut(struct emo_model_state *s)
{
	return s->enc;
}

int emo_model_infer(const struct emo_model *m, struct emo_model_state *s,
		    const float *samples, int n, float *probs)
{
	return emo_model_infer_at(m, s, samples, n, -1, probs);
}

int emo_model_infer_at(const struct emo_model *m, struct emo_model_state *s,
		       const float *samples, int n, int64_t origin, float *probs)
{
	if (!m->head)
		return EMO_E_MISSING;
	int T = emo_hubert_forward_at(m->enc, s->enc, samples, n, origin);
	if (T < 0)
		return T;
	emo_head_forward(m->head, s->enc, T, samples, n, s->scratch, probs);
	for (int i = 0; i < m->num_labels; i++)
		if (!isfinite(probs[i])) {
			emo_err("model: the output is not finite (NaN/Inf) for a window "
				"of %d samples; the input or the weights hold "
				"non-finite values", n);
			return EMO_E_NONFINITE;
		}
	return T;
}

/* ---- the default model directory ------------------------------------------- */

#ifndef EMOTOP_SOURCE_MODEL
#define EMOTOP_SOURCE_MODEL "models/emotop-small"
#endif
#ifndef EMOTOP_INSTALLED_MODEL
#define EMOTOP_INSTALLED_MODEL "/usr/local/share/emotop/models/emotop-small"
#endif
#define SHIPPED_REL "share/emotop/models/emotop-small"

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static char default_dir[4096];
static const char *default_origin;

static void find_default(void)
{
	const char *e = getenv("EMOTOP_MODEL");
	if (e && *e) {
		snprintf(default_dir, sizeof default_dir, "%s", e);
		default_origin = "EMOTOP_MODEL";
		return;
	}
	/* <prefix>/bin/emotop -> <prefix>/share/emotop/models/emotop-small */
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = 0;
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = 0;
			slash = strrchr(exe, '/');
			if (slash && !strcmp(slash, "/bin")) {
				*slash = 0;
				int k = snprintf(default_dir, sizeof default_dir, "%s/" SHIPPED_REL,
						 exe);
				if (k > 0 && (size_t)k < sizeof default_dir && is_dir(default_dir)) {
					default_origin = "installed";
					return;
				}
			}
		}
	}
	if (is_dir(EMOTOP_INSTALLED_MODEL) && !is_dir(EMOTOP_SOURCE_MODEL)) {
		snprintf(default_dir, sizeof default_dir, "%s", EMOTOP_INSTALLED_MODEL);
		default_origin = "installed";
		return;
	}
	snprintf(default_dir, sizeof default_dir, "%s", EMOTOP_SOURCE_MODEL);
	default_origin = "source tree";
}

const char *emo_model_default_dir(const char **origin)
{
	pthread_once(&default_once, find_default);
	if (origin)
		*origin = default_origin;
	return default_dir;
}
