/* Utilities every layer of libemotop (and the program) may use: the
 * monotonic clock, large aligned buffers and the JSON file loader. The
 * lowest layer: it includes nothing of emotop but the error codes. jansson
 * types may appear here; they never appear in include/emotop/. */
#ifndef EMOTOP_UTIL_H
#define EMOTOP_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Seconds on the monotonic clock: the one clock for latencies, profiles,
 * redraw pacing and replay. */
static inline double emo_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Large, long-lived buffers (packed weights, activation arenas): 2 MiB
 * aligned and their whole huge pages advised to use transparent huge
 * pages, so touching them first costs one fault per 2 MiB rather than per
 * 4 KiB (the tail past the last whole one stays in small pages, so what
 * is resident is what was asked for). NULL on failure;
 * free() releases. */
void *emo_alloc_large(size_t bytes);

/* o[k] as a string, or def when absent or not a string. */
static inline const char *emo_json_str(const json_t *o, const char *k, const char *def)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : def;
}

/* Opens `path` for reading if it is a regular file: a FIFO (which would
 * block until a writer came), a directory or a device is refused with a
 * message naming it. The descriptor (O_CLOEXEC), or -errno after a
 * message. */
int emo_open_regular(const char *path);

/* Parses the JSON file at `path` (duplicate keys refused). With `optional`
 * a missing file returns NULL with *err = 0; otherwise NULL with *err set
 * and a message naming the file (and line and column for bad JSON). */
json_t *emo_json_load_file(const char *path, bool optional, int *err);

#endif
