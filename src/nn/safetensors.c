/* Reading .safetensors: mmap, header validation, F16/BF16 widening.
 *
 * Format: u64 little-endian header length N, N bytes of JSON
 * {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__":
 * {str: str}}, then the data section; offsets are relative to its start.
 *
 * Does not write safetensors (the Python scripts do), and does not keep
 * integer tensors usable: they are validated, then exposed without data. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emotop/error.h"
#include "util/util.h"
#include "nn/safetensors.h"

struct emo_safetensors {
	void *map; /* NULL when the buffer belongs to the caller */
	size_t map_len;
	const uint8_t *data; /* start of the data section */
	size_t data_len;
	struct emo_tensor *tensors; /* sorted by name */
	size_t n;
	float *arena; /* widened F16/BF16 tensors and realigned F32 */
	json_t *meta;
};

struct dtype_info {
	const char *name;
	size_t size;
	enum emo_dtype dtype;
};

static const struct dtype_info dtypes[] = {
	{"F32", 4, EMO_DTYPE_F32},   {"F16", 2, EMO_DTYPE_F16},
	{"BF16", 2, EMO_DTYPE_BF16}, {"F64", 8, EMO_DTYPE_OTHER},
	{"I64", 8, EMO_DTYPE_OTHER}, {"U64", 8, EMO_DTYPE_OTHER},
	{"I32", 4, EMO_DTYPE_OTHER}, {"U32", 4, EMO_DTYPE_OTHER},
	{"I16", 2, EMO_DTYPE_OTHER}, {"U16", 2, EMO_DTYPE_OTHER},
	{"I8", 1, EMO_DTYPE_OTHER},  {"U8", 1, EMO_DTYPE_OTHER},
	{"BOOL", 1, EMO_DTYPE_OTHER}, {"F8_E5M2", 1, EMO_DTYPE_OTHER},
	{"F8_E4M3", 1, EMO_DTYPE_OTHER},
};

static const struct dtype_info *dtype_lookup(const char *s)
{
	for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes; i++)
		if (strcmp(dtypes[i].name, s) == 0)
			return &dtypes[i];
	return NULL;
}

static float half_to_float(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
	uint32_t exp = (h >> 10) & 0x1fu;
	uint32_t mant = h & 0x3ffu;
	uint32_t bits;
	if (exp == 0) {
		if (mant == 0) {
			bits = sign;
		} else { /* subnormal: renormalise */
			exp = 127 - 15 + 1;
			while (!(mant & 0x400u)) {
				mant <<= 1;
				exp--;
			}
			mant &= 0x3ffu;
			bits = sign | (exp << 23) | (mant << 13);
		}
	} else if (exp == 31) {
		bits = sign | 0x7f800000u | (mant << 13);
	} else {
		bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
	}
	float f;
	memcpy(&f, &bits, 4);
	return f;
}

static float bf16_to_float(uint16_t h)
{
	uint32_t bits = (uint32_t)h << 16;
	float f;
	memcpy(&f, &bits, 4);
	return f;
}

static int cmp_tensor_name(const void *a, const void *b)
{
	return strcmp(((const struct emo_tensor *)a)->name,
		      ((const struct emo_tensor *)b)->name);
}

struct span {
	size_t begin, end;
	const char *name;
};

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
}

/* Reads a non-negative integer that fits in size_t from a JSON value. */
static bool json_size(const json_t *v, size_t *out)
{
	if (!json_is_integer(v))
		return false;
	json_int_t i = json_integer_value(v);
	if (i < 0 || (unsigned long long)i > SIZE_MAX)
		return false;
	*out = (size_t)i;
	return true;
}

void emo_safetensors_close(struct emo_safetensors *st)
{
	if (!st)
		return;
	if (st->tensors)
		for (size_t i = 0; i < st->n; i++)
			free((char *)st->tensors[i].name);
	free(st->tensors);
	free(st->arena);
	json_decref(st->meta);
	if (st->map)
		munmap(st->map, st->map_len);
	free(st);
}

/* Second pass over validated entries: build views and widen halves. */
static int build_views(struct emo_safetensors *st, const size_t *begins,
		       const struct dtype_info **infos)
{
	size_t arena_floats = 0;
	for (size_t i = 0; i < st->n; i++) {
		const struct dtype_info *di = infos[i];
		const uint8_t *p = st->data + begins[i];
		bool aligned = ((uintptr_t)p % 4) == 0;
		if (di->dtype == EMO_DTYPE_F16 || di->dtype == EMO_DTYPE_BF16 ||
		    (di->dtype == EMO_DTYPE_F32 && !aligned))
			arena_floats += st->tensors[i].numel;
	}
	if (arena_floats) {
		st->arena = malloc(arena_floats * sizeof(float));
		if (!st->arena)
			return -ENOMEM;
	}
	float *a = st->arena;
	for (size_t i = 0; i < st->n; i++) {
		struct emo_tensor *t = &st->tensors[i];
		const uint8_t *p = st->data + begins[i];
		switch (infos[i]->dtype) {
		case EMO_DTYPE_F32:
			if ((uintptr_t)p % 4 == 0) {
				t->data = (const float *)(const void *)p;
			} else {
				memcpy(a, p, t->numel * 4);
				t->data = a;
				a += t->numel;
			}
			break;
		case EMO_DTYPE_F16:
		case EMO_DTYPE_BF16:
			for (size_t k = 0; k < t->numel; k++) {
				uint16_t h = (uint16_t)(p[2 * k] | (p[2 * k + 1] << 8));
				a[k] = infos[i]->dtype == EMO_DTYPE_F16 ?
					half_to_float(h) : bf16_to_float(h);
			}
			t->data = a;
			a += t->numel;
			break;
		default:
			t->data = NULL;
			break;
		}
	}
	return 0;
}

/* The 8-byte length and the JSON header object of an image. */
static int parse_header(const uint8_t *b, size_t len, uint64_t *hlen_out,
			json_t **root_out)
{
	*root_out = NULL;
	if (len < 8) {
		emo_err("safetensors: file is %zu bytes, shorter than the 8-byte "
			"header length; the file is truncated or not safetensors",
			len);
		return EMO_E_TRUNCATED;
	}
	uint64_t hlen = 0;
	for (int i = 7; i >= 0; i--)
		hlen = (hlen << 8) | b[i];
	if (hlen > EMO_ST_MAX_HEADER) {
		emo_err("safetensors: header length %llu is absurdly large (limit "
			"%u); the file is corrupt or not safetensors",
			(unsigned long long)hlen, EMO_ST_MAX_HEADER);
		return EMO_E_FORMAT;
	}
	if (hlen > len - 8) {
		emo_err("safetensors: header length %llu runs past the end of the "
			"%zu-byte file; the file is truncated",
			(unsigned long long)hlen, len);
		return EMO_E_TRUNCATED;
	}
	if (hlen < 2 || b[8] != '{') {
		emo_err("safetensors: header does not start with a JSON object; "
			"not a safetensors file");
		return EMO_E_FORMAT;
	}
	json_error_t jerr;
	json_t *root = json_loadb((const char *)b + 8, (size_t)hlen,
				  JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		if (strstr(jerr.text, "duplicate"))
			emo_err("safetensors: duplicate tensor name in header (%s)",
				jerr.text);
		else
			emo_err("safetensors: header is not valid JSON: %s "
				"(byte %d of the header)", jerr.text, jerr.position);
		return EMO_E_FORMAT;
	}
	if (!json_is_object(root)) {
		emo_err("safetensors: header is JSON but not an object");
		json_decref(root);
		return EMO_E_FORMAT;
	}
	*hlen_out = hlen;
	*root_out = root;
	return 0;
}

/* One header entry into st->tensors[st->n]: dtype, shape and offsets
 * checked against each other and the data section. */
static int parse_entry(struct emo_safetensors *st, const char *key, json_t *val,
		       size_t *begin_out, const struct dtype_info **di_out)
{
	if (!json_is_object(val)) {
		emo_err("safetensors: entry '%s' is not an object", key);
		return EMO_E_FORMAT;
	}
	json_t *jd = json_object_get(val, "dtype");
	json_t *js = json_object_get(val, "shape");
	json_t *jo = json_object_get(val, "data_offsets");
	if (!json_is_string(jd) || !json_is_array(js) || !json_is_array(jo) ||
	    json_array_size(jo) != 2) {
		emo_err("safetensors: tensor '%s' needs \"dtype\" (string), "
			"\"shape\" (array) and \"data_offsets\" ([begin, end])",
			key);
		return EMO_E_FORMAT;
	}
	const struct dtype_info *di = dtype_lookup(json_string_value(jd));
	if (!di) {
		emo_err("safetensors: tensor '%s' has unknown dtype '%s'", key,
			json_string_value(jd));
		return EMO_E_UNSUPPORTED;
	}
	struct emo_tensor *t = &st->tensors[st->n];
	size_t nd = json_array_size(js);
	if (nd > EMO_ST_MAX_DIMS) {
		emo_err("safetensors: tensor '%s' has %zu dimensions (limit %d)",
			key, nd, EMO_ST_MAX_DIMS);
		return EMO_E_FORMAT;
	}
	size_t numel = 1;
	bool overflow = false;
	for (size_t d = 0; d < nd; d++) {
		size_t dim;
		if (!json_size(json_array_get(js, d), &dim)) {
			emo_err("safetensors: tensor '%s': shape[%zu] is not a "
				"non-negative integer", key, d);
			return EMO_E_FORMAT;
		}
		t->shape[d] = (int64_t)dim;
		if (dim && numel > SIZE_MAX / dim)
			overflow = true;
		numel *= dim;
	}
	size_t begin, end;
	if (!json_size(json_array_get(jo, 0), &begin) ||
	    !json_size(json_array_get(jo, 1), &end) || end < begin) {
		emo_err("safetensors: tensor '%s': data_offsets must be two "
			"non-negative integers with begin <= end", key);
		return EMO_E_FORMAT;
	}
	if (overflow || numel > SIZE_MAX / di->size ||
	    numel * di->size != end - begin) {
		emo_err("safetensors: tensor '%s': shape and dtype %s need "
			"%zu bytes but data_offsets [%zu, %zu] give %zu",
			key, di->name, overflow ? SIZE_MAX : numel * di->size,
			begin, end, end - begin);
		return EMO_E_SHAPE;
	}
	if (end > st->data_len) {
		emo_err("safetensors: tensor '%s': data_offsets [%zu, %zu] run "
			"past the %zu-byte data section; the file is truncated "
			"or corrupt", key, begin, end, st->data_len);
		return EMO_E_TRUNCATED;
	}
	if (begin % di->size) {
		emo_err("safetensors: tensor '%s': offset %zu is not aligned "
			"to its %zu-byte %s elements", key, begin, di->size,
			di->name);
		return EMO_E_FORMAT;
	}
	if (!(t->name = strdup(key)))
		return -ENOMEM;
	t->file_dtype = di->dtype;
	t->dtype_name = di->name;
	t->ndim = (int)nd;
	t->numel = numel;
	*begin_out = begin;
	*di_out = di;
	return 0;
}

/* Tensors' byte ranges must not overlap (empty ones occupy none). */
static int check_overlaps(struct span *spans, size_t n)
{
	qsort(spans, n, sizeof *spans, cmp_span);
	for (size_t i = 1; i < n; i++) {
		if (spans[i].begin == spans[i].end)
			continue;
		if (spans[i].begin < spans[i - 1].end) {
			emo_err("safetensors: tensors '%s' [%zu, %zu) and '%s' "
				"[%zu, %zu) overlap", spans[i - 1].name,
				spans[i - 1].begin, spans[i - 1].end, spans[i].name,
				spans[i].begin, spans[i].end);
			return EMO_E_FORMAT;
		}
	}
	return 0;
}

int emo_safetensors_from_memory(const void *buf, size_t len,
				struct emo_safetensors **out)
{
	const uint8_t *b = buf;
	*out = NULL;
	uint64_t hlen;
	json_t *root;
	int err = parse_header(b, len, &hlen, &root);
	if (err)
		return err;

	err = -ENOMEM;
	struct emo_safetensors *st = calloc(1, sizeof *st);
	size_t n = json_object_size(root);
	size_t *begins = calloc(n ? n : 1, sizeof *begins);
	const struct dtype_info **infos = calloc(n ? n : 1, sizeof *infos);
	struct span *spans = calloc(n ? n : 1, sizeof *spans);
	if (!st || !begins || !infos || !spans)
		goto fail;
	st->tensors = calloc(n ? n : 1, sizeof *st->tensors);
	if (!st->tensors)
		goto fail;
	st->data = b + 8 + hlen;
	st->data_len = len - 8 - (size_t)hlen;

	const char *key;
	json_t *val;
	json_object_foreach(root, key, val) {
		if (strcmp(key, "__metadata__") == 0) {
			if (!json_is_object(val)) {
				emo_err("safetensors: __metadata__ is not an object");
				err = EMO_E_FORMAT;
				goto fail;
			}
			st->meta = json_incref(val);
			continue;
		}
		if ((err = parse_entry(st, key, val, &begins[st->n], &infos[st->n])))
			goto fail;
		const struct emo_tensor *t = &st->tensors[st->n];
		spans[st->n] = (struct span){begins[st->n],
					     begins[st->n] + t->numel * infos[st->n]->size,
					     t->name};
		st->n++;
	}
	if ((err = check_overlaps(spans, st->n)) || (err = build_views(st, begins, infos)))
		goto fail;
	/* sort views by name for lookup; names were unique (jansson checked) */
	qsort(st->tensors, st->n, sizeof *st->tensors, cmp_tensor_name);
	free(begins);
	free(infos);
	free(spans);
	json_decref(root);
	*out = st;
	return 0;

fail:
	free(begins);
	free(infos);
	free(spans);
	json_decref(root);
	emo_safetensors_close(st);
	return err;
}

int emo_safetensors_open(const char *path, struct emo_safetensors **out)
{
	*out = NULL;
	int fd = emo_open_regular(path);
	if (fd < 0)
		return fd;
	struct stat sb;
	if (fstat(fd, &sb) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	size_t len = (size_t)sb.st_size;
	if (len < 8) {
		close(fd);
		emo_err("%s: file is %zu bytes, too short for safetensors; it is "
			"truncated", path, len);
		return EMO_E_TRUNCATED;
	}
	/* every weight is read at load (validation, packing), a layer at a
	 * time, and its pages let go once copied or packed
	 * (emo_safetensors_drop): the file is read ahead into the page cache
	 * (WILLNEED), not mapped whole into the process (MAP_POPULATE would
	 * make all of it resident at once: the peak would be the file's size
	 * whatever the packing saves) */
	void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	int e = -errno;
	close(fd);
	if (map == MAP_FAILED) {
		emo_err("%s: mmap failed: %s", path, emo_strerror(e));
		return e;
	}
	madvise(map, len, MADV_WILLNEED);
	struct emo_safetensors *st;
	int err = emo_safetensors_from_memory(map, len, &st);
	if (err) {
		emo_err("%s: not a usable safetensors file (%s)", path,
			emo_strerror(err));
		munmap(map, len);
		return err;
	}
	st->map = map;
	st->map_len = len;
	*out = st;
	return 0;
}

size_t emo_safetensors_count(const struct emo_safetensors *st)
{
	return st->n;
}

const struct emo_tensor *emo_safetensors_at(const struct emo_safetensors *st,
					    size_t i)
{
	return i < st->n ? &st->tensors[i] : NULL;
}

const struct emo_tensor *emo_safetensors_find(const struct emo_safetensors *st,
					      const char *name)
{
	struct emo_tensor key = {.name = name};
	return bsearch(&key, st->tensors, st->n, sizeof *st->tensors,
		       cmp_tensor_name);
}

long emo_safetensors_index(const struct emo_safetensors *st, const char *name)
{
	const struct emo_tensor *t = emo_safetensors_find(st, name);
	return t ? (long)(t - st->tensors) : -1;
}

const char *emo_safetensors_metadata(const struct emo_safetensors *st,
				     const char *key)
{
	if (!st->meta)
		return NULL;
	return json_string_value(json_object_get(st->meta, key));
}

size_t emo_safetensors_data_size(const struct emo_safetensors *st)
{
	return st->data_len;
}

/* ---- binding tensors to a module (internal.h) ---------------------------- */

/* Finds prefix+name, checks its shape (ndim dims from `dims`), marks it
 * used. On failure records the first error, logs, returns NULL. */
const float *emo_bind(struct emo_binder *b, int ndim, const int64_t *dims,
		      const char *fmt, ...)
{
	char name[256], full[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(name, sizeof name, fmt, ap);
	va_end(ap);
	snprintf(full, sizeof full, "%s%s", b->prefix, name);
	char want[128] = "[";
	for (int i = 0; i < ndim; i++)
		snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld",
			 i ? ", " : "", (long long)dims[i]);
	strcat(want, "]");

	long idx = emo_safetensors_index(b->st, full);
	if (idx < 0) {
		emo_err("model: tensor '%s' %s is missing from the weights", full,
			want);
		if (!b->err)
			b->err = EMO_E_MISSING;
		return NULL;
	}
	const struct emo_tensor *t = emo_safetensors_at(b->st, (size_t)idx);
	bool ok = t->ndim == ndim;
	for (int i = 0; ok && i < ndim; i++)
		ok = t->shape[i] == dims[i];
	if (!ok) {
		char got[128] = "[";
		for (int i = 0; i < t->ndim; i++)
			snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld",
				 i ? ", " : "", (long long)t->shape[i]);
		strcat(got, "]");
		emo_err("model: tensor '%s' has shape %s but the config needs %s",
			full, got, want);
		if (!b->err)
			b->err = EMO_E_SHAPE;
		return NULL;
	}
	if (!t->data) {
		emo_err("model: tensor '%s' is stored as %s; emotop needs floating "
			"point (F32, F16 or BF16): re-export the model", full,
			t->dtype_name);
		if (!b->err)
			b->err = EMO_E_BADMODEL;
		return NULL;
	}
	if (b->used)
		b->used[idx] = true;
	return t->data;
}

void emo_safetensors_drop(const struct emo_safetensors *st, const float *data,
			  size_t numel)
{
	if (!st || !st->map || !data)
		return;
	uintptr_t a = (uintptr_t)data, e = a + numel * sizeof(float);
	uintptr_t m0 = (uintptr_t)st->map, m1 = m0 + st->map_len;
	if (a < m0 || e > m1)
		return;
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	a = (a + pg - 1) & ~(pg - 1);
	e &= ~(pg - 1);
	if (e > a)
		madvise((void *)a, e - a, MADV_DONTNEED);
}
