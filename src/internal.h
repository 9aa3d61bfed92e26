/* Pieces shared by libemotop's modules (and the emotop program) that are
 * not part of the installed API: the monotonic clock, the JSON file loader
 * and the weight binder used by the encoder and the heads, and the
 * constructors that take parsed JSON. jansson types may appear here; they
 * never appear in include/emotop/. */
#ifndef EMOTOP_INTERNAL_H
#define EMOTOP_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "emotop/hubert.h"
#include "emotop/model.h"
#include "safetensors.h"

/* Seconds on the monotonic clock: the one clock for latencies, profiles,
 * redraw pacing and replay. */
static inline double emo_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Large, long-lived buffers (packed weights, activation arenas): 2 MiB
 * aligned and advised to use transparent huge pages, so touching them
 * first costs one fault per 2 MiB rather than per 4 KiB. NULL on failure;
 * free() releases. */
void *emo_alloc_large(size_t bytes);

/* o[k] as a string, or def when absent or not a string. */
static inline const char *emo_json_str(const json_t *o, const char *k, const char *def)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : def;
}

/* Parses the JSON file at `path` (duplicate keys refused). With `optional`
 * a missing file returns NULL with *err = 0; otherwise NULL with *err set
 * and a message naming the file (and line and column for bad JSON). */
json_t *emo_json_load_file(const char *path, bool optional, int *err);

/* Binds named tensors of a safetensors map for a module: looks up
 * prefix+name, checks the shape, marks the tensor used. The first failure
 * is kept in `err` and every failure is logged, so one load reports every
 * missing or misshapen tensor. */
struct emo_binder {
	const struct emo_safetensors *st;
	const char *prefix; /* "" or "hubert." ... */
	bool *used;         /* may be NULL */
	int err;
};
const float *emo_bind(struct emo_binder *b, int ndim, const int64_t *dims,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
#define EMO_DIMS(...) ((const int64_t[]){__VA_ARGS__})
#define EMO_BIND1(b, n0, ...) emo_bind(b, 1, EMO_DIMS(n0), __VA_ARGS__)
#define EMO_BIND2(b, n0, n1, ...) emo_bind(b, 2, EMO_DIMS(n0, n1), __VA_ARGS__)
#define EMO_BIND3(b, n0, n1, n2, ...) emo_bind(b, 3, EMO_DIMS(n0, n1, n2), __VA_ARGS__)

/* The encoder's config from parsed config.json and (optional, may be NULL)
 * preprocessor_config.json. */
int emo_hubert_config_from_json(const json_t *config, const json_t *pre,
				struct emo_hubert_config *cfg);

/* Builds the encoder over tensors in `st` (which must outlive it). Names
 * may carry a "hubert." or "wav2vec2." prefix. Every expected tensor is
 * checked by name and shape; if `used` is not NULL, used[i] is set for each
 * tensor index i of `st` the encoder consumed (so the caller can reject
 * tensors nobody claims). */
int emo_hubert_create(const struct emo_hubert_config *cfg,
		      const struct emo_safetensors *st, bool *used,
		      enum emo_precision precision, struct emo_hubert **out);
/* What it runs at: bf16 requested on a CPU without it is fp32. */
enum emo_precision emo_hubert_precision(const struct emo_hubert *h);

#endif
