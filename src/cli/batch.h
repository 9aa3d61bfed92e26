/* Batches of files for `emotop analyze` and `emotop eval`: the options
 * both take, and N worker threads (-j) that analyse files over one shared,
 * immutable model, each with its own analyzer. Each file's output is
 * buffered while it is analysed and handed to the command in the order the
 * files were given, as soon as it and every file before it are done, so
 * -j changes nothing but the time taken, and an interrupted run (SIGINT,
 * SIGTERM, SIGHUP) has written every file that finished before the first
 * unfinished one. */
#ifndef EMOTOP_BATCH_H
#define EMOTOP_BATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/cli.h"
#include "emotop/analyzer.h"
#include "emotop/model.h"

struct file_job {
	const char *path;
	const char *open_path; /* read from here when set; path is then only the
				  name the output shows (an upload) */
	int truth;          /* eval: label index, or -1 */
	char *out;          /* buffered output (memstream), or NULL */
	size_t out_len;
	int err;            /* 0, or the EMO_E_* / -errno code of the failure */
	char errmsg[512];
	int pred;           /* overall label, -1 if no speech */
	float probs[EMO_MAX_LABELS];
	double duration, speech;
	long windows;
	uint64_t nonfinite;  /* NaN/Inf samples zeroed */
	uint64_t out_of_range; /* finite samples beyond EMO_AUDIO_MAX_ABS zeroed */
	double missing_s;    /* audio the header promised but the file lacked */
};

struct batch {
	struct emo_model *model;
	struct emo_analyzer_config cfg;
	int quality;          /* libsamplerate converter */
	bool json;            /* output as JSON Lines */
	bool print_windows;   /* per-window and per-file output (analyze) */
	struct file_job *jobs;
	size_t njobs;
	/* a progress line on stderr (files done / total, elapsed, ETA) under
	 * this name ("eval"), redrawn as each file is handed over and erased
	 * at the end; NULL: none (batch_progress_wanted decides) */
	const char *progress;
};

/* Whether a command should draw a progress line: stderr is a terminal, not
 * --quiet, and the command's own output does not go to that terminal as it
 * runs (out_live: analyze prints per file; eval only at the end). */
bool batch_progress_wanted(bool quiet, bool out_live);

/* Runs the batch on `nthreads` threads and calls done(job, ud) for each
 * file in list order, from the calling thread, as soon as that file and
 * every file before it are finished; done returns false to stop (a write
 * failed). Returns the number of files handed to done; *signal_out is the
 * signal that stopped the run early, or 0. */
size_t batch_run(struct batch *b, long nthreads,
		 bool (*done)(struct file_job *job, void *ud), void *ud,
		 int *signal_out);

/* One file on the calling thread, its output buffered in job->out (the
 * caller frees it); no signal handling (a server's upload). */
void batch_analyse(const struct batch *b, struct file_job *job);

/* The stderr warnings of a file that was still analysed (non-finite or
 * clipped samples, a truncated file). */
void batch_warn(const struct file_job *j);

/* {"label":p,...} of the model's labels. */
void print_probs_json(FILE *f, const struct emo_model *m, const float *p);

/* ---- the options analyze and eval share ---------------------------------- */

enum { OPT_WINDOW = OPT_CLI_BASE, OPT_HOP, OPT_QUALITY, OPT_SMOOTH };

struct common_opts {
	const char *model;
	bool json, quiet;
	long jobs, threads;
	enum emo_precision precision;
	struct emo_analyzer_config cfg;
	int quality;
};

void common_init(struct common_opts *o);
/* 1 when c was one of the common options (and was valid), 0 when it is
 * not one of them, or minus the usage error's exit status. */
int common_option(int c, const char *arg, struct common_opts *o, const char *cmd);
/* Prints a batch command's --help: its own lines, then the shared options. */
void print_batch_help(const char *own);

#define COMMON_LONG_OPTIONS                                                   \
	{"model", required_argument, 0, 'm'},                                 \
	{"json", no_argument, 0, 'J'},                                        \
	{"quiet", no_argument, 0, 'q'},                                       \
	{"jobs", required_argument, 0, 'j'},                                  \
	{"threads", required_argument, 0, 't'},                               \
	{"window", required_argument, 0, OPT_WINDOW},                         \
	{"hop", required_argument, 0, OPT_HOP},                               \
	{"smoothing", required_argument, 0, OPT_SMOOTH},                      \
	{"resample", required_argument, 0, OPT_QUALITY},                      \
	PRECISION_LONG_OPTION,                                                \
	REUSE_LONG_OPTION,                                                    \
	{"help", no_argument, 0, 'h'},                                        \
	VAD_LONG_OPTIONS

#endif
