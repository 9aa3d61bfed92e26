/* What `live` and `serve` share: the options of a live session (its
 * source, model, analysis, log and recording) and the opening of its log.
 * One parser, so the two commands take the same options with the same
 * bounds and messages. */
#ifndef EMOTOP_SESSION_OPTS_H
#define EMOTOP_SESSION_OPTS_H

#include <stdbool.h>

#include "cli/cli.h"
#include "emotop/session.h"
#include "emotop/source.h"
#include "emotop/stream.h"

struct session_opts {
	struct emo_source_config sc;
	struct emo_stream_config stc;
	const char *model_dir, *log_path; /* log_path NULL with want_log: auto */
	bool want_log, source_given;
	long threads;
	enum emo_precision precision;
};

void session_opts_init(struct session_opts *o);

enum { OPT_SESSION_BASE = OPT_CLI_BASE + 40 };
#define SESSION_LONG_OPTIONS                                                  \
	{"device", required_argument, 0, 'd'},                                \
	{"input", required_argument, 0, 'i'},                                 \
	{"model", required_argument, 0, 'm'},                                 \
	{"log", required_argument, 0, 'l'},                                   \
	{"record", required_argument, 0, 'r'},                                \
	{"force", no_argument, 0, OPT_SESSION_BASE},                          \
	{"window", required_argument, 0, OPT_SESSION_BASE + 1},               \
	{"hop", required_argument, 0, OPT_SESSION_BASE + 2},                  \
	{"smoothing", required_argument, 0, OPT_SESSION_BASE + 3},            \
	{"resample", required_argument, 0, OPT_SESSION_BASE + 4},             \
	{"threads", required_argument, 0, 't'},                               \
	PRECISION_LONG_OPTION,                                                \
	REUSE_LONG_OPTION,                                                    \
	VAD_LONG_OPTIONS
#define SESSION_SHORT_OPTIONS "d:i:m:l:r:t:"
/* Prints a session command's --help: its own lines, then the shared ones. */
void print_session_help(const char *own);

/* 1 when c was one of the session options (and valid), 0 when it is not
 * one of them, or minus the usage error's exit status. */
int session_option(int c, const char *arg, struct session_opts *o, const char *cmd);
/* After parsing: window bounds, and a --record that would replace a file
 * without --force (or the input file in any case). 0 or the exit status. */
int session_opts_check(struct session_opts *o, const char *cmd);

/* "fast", "medium" or "best". */
const char *quality_name(int q);

/* Opens the session log the options ask for (none: *w = NULL) into *w;
 * the name used goes to buf. `seq` > 1 numbers a later session of the
 * same run (serve): NAME-2.jsonl beside NAME.jsonl, or the next auto
 * name; never an existing file. 0 or 1 (said). */
int session_open_log(const struct session_opts *o, int seq, char *buf, size_t n,
		     struct emo_session_writer **w);
/* The recording name for session `seq` in buf (serve numbers later
 * sessions as the log); NULL when none was asked for (or it does not fit). */
const char *session_record_path(const struct session_opts *o, int seq, char *buf,
				size_t n);

#endif
