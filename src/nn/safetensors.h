/* emotop — read-only access to .safetensors files.
 *
 * The file is mmapped; F32 tensors are views into the map, F16 and BF16
 * tensors are converted to F32 once at open into an arena owned by the
 * handle. Every structural problem (truncation, bad JSON, offsets outside the
 * data, overlaps, unknown dtypes, size/shape disagreement, duplicate names)
 * fails the open with an EMO_E_* code and a log message naming the problem.
 *
 * The handle is immutable after open and may be shared between threads. */
#ifndef EMOTOP_SAFETENSORS_H
#define EMOTOP_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EMO_ST_MAX_DIMS 8
/* Larger headers are refused: real ones are kilobytes, and the limit keeps a
 * corrupt length from making us parse gigabytes (same bound as the Rust
 * reference implementation). */
#define EMO_ST_MAX_HEADER (100u * 1000u * 1000u)

enum emo_dtype {
	EMO_DTYPE_F32,
	EMO_DTYPE_F16,
	EMO_DTYPE_BF16,
	EMO_DTYPE_OTHER, /* valid safetensors dtype that we cannot use as float */
};

struct emo_tensor {
	const char *name;
	enum emo_dtype file_dtype; /* dtype as stored; data is always F32 */
	const char *dtype_name;    /* as stored, e.g. "BF16", "I32" (static) */
	int ndim;
	int64_t shape[EMO_ST_MAX_DIMS];
	size_t numel;
	const float *data; /* NULL for EMO_DTYPE_OTHER */
};

struct emo_safetensors;

/* Open and validate `path`. On success *out owns the map. */
int emo_safetensors_open(const char *path, struct emo_safetensors **out);

/* Validate and index an in-memory image of a whole file (`buf` must stay
 * valid while the handle lives). Used by open() and by the fuzzer. */
int emo_safetensors_from_memory(const void *buf, size_t len,
				struct emo_safetensors **out);

void emo_safetensors_close(struct emo_safetensors *st);
/* Lets the kernel drop the resident pages of a tensor's data that was
 * copied or packed elsewhere and will not be read again in the common
 * path (MADV_DONTNEED on the whole pages inside it: the map is private and
 * unmodified, so a later read refaults the same bytes from the file).
 * A no-op for data outside the file map. */
void emo_safetensors_drop(const struct emo_safetensors *st, const float *data,
			  size_t numel);

size_t emo_safetensors_count(const struct emo_safetensors *st);
const struct emo_tensor *emo_safetensors_at(const struct emo_safetensors *st,
					    size_t i);
/* NULL if absent. */
const struct emo_tensor *emo_safetensors_find(const struct emo_safetensors *st,
					      const char *name);
/* Index of `name` for emo_safetensors_at(), or -1 if absent. */
long emo_safetensors_index(const struct emo_safetensors *st, const char *name);
/* The "__metadata__" string value for key, or NULL. */
const char *emo_safetensors_metadata(const struct emo_safetensors *st,
				     const char *key);

/* Total bytes of the tensor data section (for hashing/reporting). */
size_t emo_safetensors_data_size(const struct emo_safetensors *st);

#ifdef __cplusplus
}
#endif
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


#endif
