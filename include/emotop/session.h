/* emotop — session logs: JSON Lines (man emotop, FILE FORMAT), one module
 * that owns the format: written from stream events, read back into typed
 * records, and turned into events again for replay.
 *
 * A log records what a live stream (stream.h) produced, so this module sits
 * one layer above the stream and uses its event and statistics types.
 *
 * Writer: one JSON object per line, each flushed as written, so a crash
 * loses at most the line being written. The first write error (a full
 * disk) is kept and reported; lines already written stay valid JSON.
 * Floats carry 9 significant digits, which round-trips float32 exactly
 * (replay --reanalyze compares bit for bit).
 * Reader: accepts a truncated last line (crash, power loss), reports any
 * other malformed line with its number, and skips unknown record types
 * with a warning (newer versions may add some). Version 1 logs (no valence
 * or arousal) read as before. */
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

/* 2: window records carry valence and arousal (affect.h). */
#define EMO_SESSION_VERSION 2
/* What a reader accepts: a line of at most this many bytes (a session's
 * longest, the header, is about 2 KiB), and times (t0, t1) of at most
 * this many seconds (115 days). Longer lines and later times are refused
 * with the line number: they are no session emotop wrote. */
#define EMO_SESSION_MAX_LINE (1 << 20)
#define EMO_SESSION_MAX_SECONDS 1e7

/* ---- writing ------------------------------------------------------------- */

struct emo_session_info {
	const char *source_kind;   /* "device", "file" or "browser" */
	const char *source_name;
	int source_rate, source_channels;
	const struct emo_model *model;
	const struct emo_analyzer_config *analysis;
	const char *resample;      /* "fast", "medium", "best" */
	const char *recording;     /* path or NULL */
	int threads;               /* OpenBLAS threads used by the model */
};

struct emo_session_writer;

/* path NULL: write to `f` (stdout for --no-tui), which stays the caller's.
 * With a path, the file is created exclusively: an existing file is never
 * overwritten (EMO_E_EXISTS). Free with emo_session_writer_close(). */
int emo_session_writer_open(const char *path, FILE *f,
			    struct emo_session_writer **out);
/* A writer that hands each record, one JSON object without its newline, to
 * line(ud, text, length) instead of a file (a network server sends them
 * to its clients as they are written). line returns 0, or a negative
 * errno that becomes the writer's error. */
int emo_session_writer_open_lines(int (*line)(void *ud, const char *s, size_t n),
				  void *ud, struct emo_session_writer **out);
/* Creates a new log under the first free name emotop-YYYYmmdd-HHMMSS.jsonl
 * (then -2, -3, ...) in the current directory (--log auto); an exclusive
 * create, so two sessions never share a file. The name goes to buf. */
int emo_session_writer_open_auto(char *buf, size_t n,
				 struct emo_session_writer **out);
/* Closes (fsyncs a file). Returns the first write error, if any. */
int emo_session_writer_close(struct emo_session_writer *w);
/* First write error (negative errno), or 0. */
int emo_session_writer_error(const struct emo_session_writer *w);

int emo_session_write_header(struct emo_session_writer *w,
			     const struct emo_session_info *info);
/* One stream event as its record: a result is a window record, a speech
 * segment a speech record, overruns/pauses/errors event records. END
 * writes nothing (the end record needs the final statistics). */
int emo_session_write_stream_event(struct emo_session_writer *w,
				   const struct emo_model *m,
				   const struct emo_event *ev);
int emo_session_write_window(struct emo_session_writer *w,
			     const struct emo_model *m, const struct emo_result *r,
			     double latency_s);
int emo_session_write_speech(struct emo_session_writer *w, double t0, double t1);
/* kind: "pause", "resume", "overrun", "device_error", "record_error"...;
 * detail may be NULL; count 0 is not written. */
int emo_session_write_event(struct emo_session_writer *w, double t,
			    const char *kind, const char *detail, int64_t count);
int emo_session_write_end(struct emo_session_writer *w, const char *reason,
			  const struct emo_stream_stats *s);

/* emotop-YYYYmmdd-HHMMSS<ext> in the current directory, or with -2, -3, ...
 * before ext when that name is taken: the first name that does not exist
 * yet (a recording beside an automatic log). */
void emo_session_unique_name(char *buf, size_t n, const char *ext);

/* ---- reading ------------------------------------------------------------- */

enum emo_record_type {
	EMO_RECORD_WINDOW,
	EMO_RECORD_SPEECH,
	EMO_RECORD_EVENT,
	EMO_RECORD_END,
};

/* The header, typed. Strings live as long as the log; absent strings are
 * "" (recording: NULL when there was none). */
struct emo_session_header {
	int version;
	const char *start, *generator;
	const char *source_kind, *source_name;
	int source_rate, source_channels;
	const char *model_name, *model_dir, *model_sha256, *model_head;
	int num_labels;
	const char *labels[EMO_MAX_LABELS];
	/* the logged analysis and VAD settings over the defaults */
	struct emo_analyzer_config analysis;
	const char *resample;
	const char *recording;
	int threads;  /* 1 when not logged */
	enum emo_precision precision; /* fp32 when not logged */
	const char *engine;           /* e.g. "oneDNN fp32"; "" in older logs */
};

struct emo_session_end {
	const char *end, *reason;
	double duration, speech_s, rtf, latency_p50, latency_p95;
	int64_t windows, dropped, skipped, events_lost, nonfinite;
};

/* One record after the header. Which fields mean something depends on
 * type; the rest are zero. */
struct emo_session_record {
	enum emo_record_type type;
	double t0, t1;              /* window, speech; event: both its time */
	/* window: probabilities in the header's label order (a label missing
	 * from the record is 0; smoothed = probs in logs without it) */
	struct emo_result result;
	double latency_s;           /* 0 when not logged */
	bool has_affect;            /* version 2 */
	float valence, arousal;
	/* event */
	const char *event, *detail; /* detail "" when absent */
	int64_t count;
	/* end */
	struct emo_session_end end;
};

struct emo_session_log {
	struct emo_session_header header;
	struct emo_session_record *records; /* file order, header excluded */
	size_t n;
	const struct emo_session_end *end;  /* NULL when cut short */
	size_t windows, speech, events, unknown;
	bool truncated;       /* the last line was cut off and ignored */
	void *priv;           /* the parsed lines, owned */
};

/* Reads and validates `path`. A truncated last line is accepted (with
 * truncated = true); any other malformed line, a missing or wrong-version
 * header, or a window record without t0/t1/probs/label is an error whose
 * log message names the line. Unknown record types are skipped with a
 * warning. On success free with emo_session_log_free(). */
int emo_session_log_read(const char *path, struct emo_session_log *log);
/* Parsing from memory; `name` is used in messages. */
int emo_session_log_parse(const char *buf, size_t len, const char *name,
			  struct emo_session_log *log);
void emo_session_log_free(struct emo_session_log *log);

/* Writes the log's records (header first) as compact JSON Lines, as read:
 * fields this version does not know are kept. */
int emo_session_log_print(const struct emo_session_log *log, FILE *f);

/* The stream event a record stands for (window -> RESULT, speech ->
 * SPEECH, "overrun"/"pause"/"resume"/errors -> their events); false for
 * records that have none (end, unknown event kinds). */
bool emo_session_record_event(const struct emo_session_record *r,
			      struct emo_event *ev);

#ifdef __cplusplus
}
#endif
#endif
