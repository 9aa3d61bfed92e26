/* Shared pieces of the command line (not part of libemotop): option
 * parsing helpers, the VAD options every analysing command takes, and the
 * commands' entry points. */
#ifndef EMOTOP_CLI_H
#define EMOTOP_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "emotop/analyzer.h"
#include "emotop/error.h"
#include "emotop/vad.h"
#include "util/util.h"

enum { EXIT_USAGE = 2, EXIT_PARTIAL = 3 };

extern const char *prog;

long peak_rss_kib(void);
const char *default_model(void);
struct emo_model;
/* emo_model_load with a head, and on failure a message that says what to
 * do (which depends on where the directory came from). */
int load_model_or_explain(const char *dir, enum emo_precision precision,
			  struct emo_model **m);
/* --precision fp32|bf16 of the analysing commands into *out. Returns 0, or
 * the usage error's exit status. */
int precision_option(const char *cmd, const char *arg, enum emo_precision *out);
#define PRECISION_LONG_OPTION {"precision", required_argument, 0, OPT_PRECISION}
extern const char precision_help[];
/* --feature-reuse exact|off|approximate into cfg->reuse; 0 or the usage
 * error's exit status. */
int reuse_option(const char *cmd, const char *arg, struct emo_analyzer_config *cfg);
#define REUSE_LONG_OPTION {"feature-reuse", required_argument, 0, OPT_REUSE}
extern const char reuse_help[];
bool parse_double(const char *s, double lo, double hi, double *out);
bool parse_int(const char *s, long lo, long hi, long *out);
int usage_error(const char *cmd, const char *fmt, const char *arg);
/* The program's one way to report: "emotop: error: MESSAGE" (and
 * "emotop: warning: ...") on stderr, the form the library's messages take
 * through stderr_log; usage errors add the command and a hint
 * (usage_error). */
void stderr_log(enum emo_log_level level, const char *msg, void *ud);
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* After option parsing: a usage error (EXIT_USAGE) when a given --hop
 * exceeds --window; the default hop and the minimum window shrink to a
 * window shorter than them. */
/* getopt_long for command `cmd` (NULL: the top level): an unknown option
 * or a missing value is said the way every usage error is ("emotop
 * analyze: unknown option '--jsn'" and "Try 'emotop analyze --help'."),
 * and '?' returned. */
int cli_getopt(int argc, char **argv, const char *shortopts,
	       const struct option *longopts, const char *cmd);
int check_window_options(const char *cmd, struct emo_analyzer_config *cfg);
/* Flushes standard output; false (said once on stderr, with the reason)
 * when it cannot be written: a full disk, a closed descriptor, a file size
 * limit. Commands stop writing then and exit non-zero. */
bool flush_stdout(void);
/* At exit: flush and close standard output; false (said) if anything
 * written was lost. main() turns a success into exit status 1 then. */
bool close_stdout(void);
/* "interrupted by SIGINT after N of M files; not finished: PATH" on
 * stderr; returns the exit status (128 + sig). */
int report_interrupted(const char *cmd, int sig, size_t done, size_t total,
		       const char *next);
/* An output file written whole or not at all: the data goes to a private
 * temporary file beside `path`, which replaces `path` only when it is
 * complete (rename: a symlink at `path` is replaced, never followed). An
 * existing `path` is refused unless `force`, as --log and --record do. */
struct out_file {
	const char *path;
	char tmp[4096];
	bool force;
	FILE *f;
};
/* Opens o->f; NULL after a message (an existing file without --force, an
 * unwritable folder). */
FILE *out_file_open(struct out_file *o, const char *path, bool force);
/* Checks every write, flushes, and puts the file in place: 0, or 1 after a
 * message (the temporary is removed; `path` is as it was). */
int out_file_commit(struct out_file *o);
/* Removes the temporary (on an error before commit). */
void out_file_abort(struct out_file *o);
/* Writes s as a JSON string (with quotes). */
void json_print_string(FILE *f, const char *s);

enum {
	OPT_VAD_FRAME = 1000, OPT_VAD_ON, OPT_VAD_OFF, OPT_VAD_HANGOVER,
	OPT_VAD_MIN_SPEECH, OPT_VAD_MIN_SILENCE, OPT_VAD_PAD, OPT_VAD_SNR,
	OPT_VAD_MIN_LEVEL, OPT_VAD_FLOOR_WINDOW,
	OPT_PRECISION = 1090, OPT_REUSE,
	OPT_CLI_BASE = 1100, /* commands number their own long-only options from here */
};

#define VAD_LONG_OPTIONS                                                      \
	{"vad-frame", required_argument, 0, OPT_VAD_FRAME},                   \
	{"vad-on", required_argument, 0, OPT_VAD_ON},                         \
	{"vad-off", required_argument, 0, OPT_VAD_OFF},                       \
	{"vad-hangover", required_argument, 0, OPT_VAD_HANGOVER},             \
	{"vad-min-speech", required_argument, 0, OPT_VAD_MIN_SPEECH},         \
	{"vad-min-silence", required_argument, 0, OPT_VAD_MIN_SILENCE},       \
	{"vad-pad", required_argument, 0, OPT_VAD_PAD},                       \
	{"vad-snr", required_argument, 0, OPT_VAD_SNR},                       \
	{"vad-min-level", required_argument, 0, OPT_VAD_MIN_LEVEL},           \
	{"vad-floor-window", required_argument, 0, OPT_VAD_FLOOR_WINDOW}

extern const char vad_options_help[];
int vad_option(int c, const char *arg, struct emo_vad_config *cfg, const char *cmd);

int cmd_devices(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_vad(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_live(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_serve(int argc, char **argv);

#endif
