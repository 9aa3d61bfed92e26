/* emotop — session logs: JSON Lines, version 1 (man emotop, FILE FORMAT).
 *
 * Writer: one JSON object per line, each flushed as written, so a crash
 * loses at most the line being written. The first write error (a full
 * disk) is kept and reported; lines already written stay valid JSON.
 * Reader: accepts a truncated last line (crash, power loss), reports any
 * other malformed line with its number, and skips unknown record types
 * with a warning (newer versions may add some). */
#ifndef EMOTOP_SESSION_H
#define EMOTOP_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "emotop/analyzer.h"
#include "emotop/model.h"
#include "emotop/stream.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 2: window records carry valence and arousal (affect.h); version 1 logs
 * read and replay as before. */
#define EMO_SESSION_VERSION 2

struct emo_session_info {
	const char *source_kind;   /* "device" or "file" */
	const char *source_name;
	int source_rate, source_channels;
	struct emo_model *model;
	const struct emo_analyzer_config *analysis;
	const char *resample;      /* "fast", "medium", "best" */
	const char *recording;     /* path or NULL */
	int threads;               /* OpenBLAS threads used by the model */
};

struct emo_session_writer;

/* path NULL: write to `f` (stdout for --no-tui). With a path, the file is
 * created exclusively: an existing file is never overwritten (EMO_E_EXISTS). */
int emo_session_writer_open(const char *path, FILE *f,
			    struct emo_session_writer **out);
/* Closes (fsyncs a file). Returns the first write error, if any. */
int emo_session_writer_close(struct emo_session_writer *w);
/* First write error (negative errno), or 0. */
int emo_session_writer_error(const struct emo_session_writer *w);

int emo_session_write_header(struct emo_session_writer *w,
			     const struct emo_session_info *info);
int emo_session_write_window(struct emo_session_writer *w,
			     const struct emo_model *m, const struct emo_result *r,
			     double latency_s);
int emo_session_write_speech(struct emo_session_writer *w, double t0, double t1);
/* kind: "pause", "resume", "overrun", "device_error", "record_error"...;
 * detail may be NULL. */
int emo_session_write_event(struct emo_session_writer *w, double t,
			    const char *kind, const char *detail, int64_t count);
int emo_session_write_end(struct emo_session_writer *w, const char *reason,
			  const struct emo_stream_stats *s);

/* emotop-YYYYmmdd-HHMMSS<ext> in the current directory, or with -2, -3, ...
 * before ext when that name is taken (two sessions in one second): the
 * first name that does not exist yet. */
void emo_session_unique_name(char *buf, size_t n, const char *ext);
/* Creates a new log under the first free unique name (--log auto); an
 * exclusive create, so two sessions never share a file. The name is
 * written to buf. */
int emo_session_writer_open_auto(char *buf, size_t n,
				 struct emo_session_writer **out);

#ifdef __cplusplus
}
#endif
#endif

#ifndef EMOTOP_SESSION_READER_H
#define EMOTOP_SESSION_READER_H
#ifdef __cplusplus
extern "C" {
#endif

/* A session log read back. Records are jansson objects (json_t *), kept in
 * file order; `header` and `end` point into them (end may be NULL when the
 * session was cut short). */
struct emo_session_log {
	void **records;       /* json_t * each */
	size_t n;
	void *header, *end;
	size_t windows, speech, events, unknown;
	bool truncated;       /* the last line was cut off and ignored */
};

/* Reads and validates `path`. A truncated last line is accepted (with
 * truncated = true); any other malformed line, a missing or wrong-version
 * header, or a window record without t0/t1/probs is an error whose log
 * message names the line. Unknown record types are skipped with a warning. */
int emo_session_log_read(const char *path, struct emo_session_log *log);
void emo_session_log_free(struct emo_session_log *log);
/* Parsing from memory (the fuzzer); `name` is used in messages. */
int emo_session_log_parse(const char *buf, size_t len, const char *name,
			  struct emo_session_log *log);

#ifdef __cplusplus
}
#endif
#endif
