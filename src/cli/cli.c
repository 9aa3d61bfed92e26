/* Helpers shared by the commands: option parsing, logging to stderr,
 * the VAD options. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/session-fields.h"

const char *prog = "emotop";

void stderr_log(enum emo_log_level level, const char *msg, void *ud)
{
	(void)ud;
	static const char *const tags[] = {"error", "warning", "info", "debug"};
	fprintf(stderr, "%s: %s: %s\n", prog, tags[level], msg);
}

/* The program's own messages go out as the library's do. */
static void report(enum emo_log_level level, const char *fmt, va_list ap)
{
	char msg[2048];
	vsnprintf(msg, sizeof msg, fmt, ap);
	stderr_log(level, msg, NULL);
}

void cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report(EMO_LOG_ERROR, fmt, ap);
	va_end(ap);
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	report(EMO_LOG_WARN, fmt, ap);
	va_end(ap);
}

long peak_rss_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Default model directory: the library's (emo_model_default_dir). */
const char *default_model(void)
{
	return emo_model_default_dir(NULL);
}

const char precision_help[] =
	"      --precision P     encoder arithmetic: fp32 (default, exact against\n"
	"                        PyTorch) or bf16 (faster where the CPU has AVX512_BF16;\n"
	"                        otherwise fp32 with a warning)\n";

int precision_option(const char *cmd, const char *arg, enum emo_precision *out)
{
	if (!strcmp(arg, "fp32"))
		*out = EMO_PRECISION_FP32;
	else if (!strcmp(arg, "bf16"))
		*out = EMO_PRECISION_BF16;
	else
		return usage_error(cmd, "--precision wants fp32 or bf16, not '%s'", arg);
	return 0;
}

const char reuse_help[] =
	"      --feature-reuse M exact (default: overlapping windows share the encoder's\n"
	"                        conv features where that changes no bit), off, or\n"
	"                        approximate (also under per-window normalisation;\n"
	"                        for experiments, see the README)\n";

int reuse_option(const char *cmd, const char *arg, struct emo_analyzer_config *cfg)
{
	if (!strcmp(arg, "exact"))
		cfg->reuse = EMO_REUSE_EXACT;
	else if (!strcmp(arg, "off"))
		cfg->reuse = EMO_REUSE_OFF;
	else if (!strcmp(arg, "approximate"))
		cfg->reuse = EMO_REUSE_APPROX;
	else
		return usage_error(cmd, "--feature-reuse wants exact, off or approximate, "
				   "not '%s'", arg);
	return 0;
}

int load_model_or_explain(const char *dir, enum emo_precision precision,
			  struct emo_model **m)
{
	struct emo_model_params p = emo_model_params_default();
	p.precision = precision;
	int err = emo_model_load(dir, &p, m);
	if (!err)
		return 0;
	cli_error("cannot load model '%s': %s", dir, emo_strerror(err));
	const char *env = getenv("EMOTOP_MODEL"), *origin;
	const char *shipped = emo_model_default_dir(&origin);
	if (!strcmp(dir, shipped) && !strcmp(origin, "installed"))
		fprintf(stderr, "The installed model is missing or damaged: install emotop "
			"again ('meson install -C build' in the source tree) or give "
			"another with --model DIR.\n");
	else if (!strcmp(dir, shipped) && !strcmp(origin, "source tree"))
		fprintf(stderr, "The shipped model is missing or damaged: restore it "
			"('git checkout -- models/emotop-small' in the source tree), "
			"install emotop ('meson install -C build'), or give another "
			"with --model DIR.\n");
	else if (env && *env && !strcmp(dir, env))
		fprintf(stderr, "EMOTOP_MODEL names it: fix that directory (see 'man "
			"emotop', MODEL DIRECTORY), or unset EMOTOP_MODEL for the "
			"shipped model.\n");
	else
		fprintf(stderr, "Check that '%s' is a model directory (see 'man emotop', "
			"MODEL DIRECTORY).\n", dir);
	return err;
}

bool parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi))
		return false;
	*out = v;
	return true;
}

bool parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

int usage_error(const char *cmd, const char *fmt, const char *arg)
{
	fprintf(stderr, "%s%s%s: ", prog, cmd ? " " : "", cmd ? cmd : "");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry '%s %s%s--help'.\n", prog, cmd ? cmd : "", cmd ? " " : "");
	return EXIT_USAGE;
}

int cli_getopt(int argc, char **argv, const char *shortopts,
	       const struct option *longopts, const char *cmd)
{
	opterr = 0; /* getopt's own "analyze: unrecognized option" said half */
	optopt = 0;
	int c = getopt_long(argc, argv, shortopts, longopts, NULL);
	if (c != '?')
		return c;
	const char *bad = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
	bool needs = false;
	if (optopt) {
		const char *p = strchr(shortopts, optopt);
		needs = p && p[1] == ':';
		for (const struct option *o = longopts; o && o->name; o++)
			if (o->val == optopt && o->has_arg == required_argument)
				needs = true;
	}
	char shortbad[3] = {'-', (char)optopt, 0};
	if (needs)
		usage_error(cmd, "option '%s' needs a value", bad);
	else
		usage_error(cmd, "unknown option '%s'",
			    optopt && !strchr(bad, optopt) ? shortbad : bad);
	return '?';
}

int check_window_options(const char *cmd, struct emo_analyzer_config *cfg)
{
	/* the default hop (0.5 s) shrinks to a shorter window; a hop given
	 * longer than the window is a mistake */
	if (cfg->hop_s > cfg->window_s &&
	    cfg->hop_s == emo_analyzer_config_default().hop_s)
		cfg->hop_s = cfg->window_s;
	if (cfg->hop_s > cfg->window_s) {
		fprintf(stderr, "%s %s: --hop (%g s) must not exceed --window (%g s)\n"
			"Try '%s %s --help'.\n", prog, cmd, cfg->hop_s, cfg->window_s,
			prog, cmd);
		return EXIT_USAGE;
	}
	/* a window shorter than the default minimum is its own minimum */
	if (cfg->min_window_s > cfg->window_s)
		cfg->min_window_s = cfg->window_s;
	return 0;
}

void json_print_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

const char vad_options_help[] =
	"VAD options (defaults in brackets):\n"
	"      --vad-frame MS         frame length, 10..30 [20]\n"
	"      --vad-on P             score that starts speech [0.5]\n"
	"      --vad-off P            score below which speech may end [0.35]\n"
	"      --vad-hangover MS      speech held after the score drops [100]\n"
	"      --vad-min-speech MS    shorter speech is ignored [100]\n"
	"      --vad-min-silence MS   shorter pauses are bridged [300]\n"
	"      --vad-pad MS           padding around each segment [100]\n"
	"      --vad-snr DB           level over the noise floor scoring 0.5 [9]\n"
	"      --vad-min-level DBFS   quieter frames are never speech [-60]\n"
	"      --vad-floor-window MS  noise floor = quietest level over this [1500]\n";

/* Returns 1 if `c` was a VAD option (applied to cfg), 0 if not, or
 * EXIT_USAGE (negated) for a bad value. */
int vad_option(int c, const char *arg, struct emo_vad_config *cfg,
		      const char *cmd)
{
	/* option -> the session log's key: the bounds are that table's
	 * (core/session-fields.h), the same a log's settings are held to */
	static const struct { int opt; const char *key, *name; } map[] = {
		{OPT_VAD_FRAME, "frame_ms", "frame"}, {OPT_VAD_ON, "on", "on"},
		{OPT_VAD_OFF, "off", "off"}, {OPT_VAD_HANGOVER, "hangover_ms", "hangover"},
		{OPT_VAD_MIN_SPEECH, "min_speech_ms", "min-speech"},
		{OPT_VAD_MIN_SILENCE, "min_silence_ms", "min-silence"},
		{OPT_VAD_PAD, "pad_ms", "pad"}, {OPT_VAD_SNR, "snr_db", "snr"},
		{OPT_VAD_MIN_LEVEL, "min_level_dbfs", "min-level"},
		{OPT_VAD_FLOOR_WINDOW, "floor_window_ms", "floor-window"},
	};
	const struct emo_field *f = NULL;
	const char *name = NULL;
	for (size_t i = 0; i < sizeof map / sizeof *map; i++)
		if (map[i].opt == c) {
			f = emo_field_find(emo_vad_fields,
					   sizeof emo_vad_fields / sizeof *emo_vad_fields,
					   map[i].key);
			name = map[i].name;
		}
	if (!f)
		return 0;
	double d;
	if (!parse_double(arg, f->lo, f->hi, &d) || !emo_field_ok(f, d)) {
		char msg[160];
		snprintf(msg, sizeof msg, "--vad-%s wants %s %g..%g, not '%%s'", name,
			 f->kind == EMO_FIELD_INT ? "a whole number" : "a number", f->lo, f->hi);
		usage_error(cmd, msg, arg);
		return -EXIT_USAGE;
	}
	char *p = (char *)cfg + (f->offset - offsetof(struct emo_analyzer_config, vad));
	if (f->kind == EMO_FIELD_INT)
		*(int *)p = (int)d;
	else
		*(float *)p = (float)d;
	return 1;
}

static bool stdout_failed; /* said once */

static bool stdout_error(int err)
{
	if (!stdout_failed)
		cli_error("cannot write standard output: %s; the output is "
			"incomplete", strerror(err ? err : EIO));
	stdout_failed = true;
	return false;
}

bool flush_stdout(void)
{
	errno = 0;
	if (fflush(stdout) || ferror(stdout))
		return stdout_error(errno);
	return !stdout_failed;
}

bool close_stdout(void)
{
	if (!flush_stdout())
		return false;
	/* a closed descriptor (>&-) fails here, not before, when nothing was
	 * written yet */
	errno = 0;
	if (fclose(stdout) && errno != EBADF)
		return stdout_error(errno);
	return true;
}

int report_interrupted(const char *cmd, int sig, size_t done, size_t total,
		       const char *next)
{
	fprintf(stderr, "%s %s: interrupted by %s after %zu of %zu file(s); their "
		"results are complete%s%s\n", prog, cmd, sig == SIGINT ? "SIGINT" :
		sig == SIGTERM ? "SIGTERM" : sig == SIGHUP ? "SIGHUP" : "a signal",
		done, total, next ? "; not finished: " : "", next ? next : "");
	return 128 + sig;
}

FILE *out_file_open(struct out_file *o, const char *path, bool force)
{
	memset(o, 0, sizeof *o);
	o->path = path;
	o->force = force;
	struct stat sb;
	if (!force && lstat(path, &sb) == 0) {
		cli_error("%s exists; emotop never replaces a file unless told "
			"to (--force)", path);
		return NULL;
	}
	const char *slash = strrchr(path, '/');
	int dirlen = slash ? (int)(slash - path) + 1 : 0;
	if (snprintf(o->tmp, sizeof o->tmp, "%.*s.%s.XXXXXX", dirlen, path,
		     slash ? slash + 1 : path) >= (int)sizeof o->tmp) {
		cli_error("%s: the path is too long", path);
		return NULL;
	}
	int fd = mkostemp(o->tmp, O_CLOEXEC);
	if (fd < 0) {
		cli_error("cannot write %s: %s", path, strerror(errno));
		return NULL;
	}
	mode_t mask = umask(0);
	umask(mask);
	fchmod(fd, 0666 & ~mask); /* as open() would have made it */
	o->f = fdopen(fd, "w");
	if (!o->f) {
		cli_error("cannot write %s: %s", path, strerror(errno));
		close(fd);
		unlink(o->tmp);
	}
	return o->f;
}

void out_file_abort(struct out_file *o)
{
	if (o->f)
		fclose(o->f);
	o->f = NULL;
	if (o->tmp[0])
		unlink(o->tmp);
	o->tmp[0] = 0;
}

int out_file_commit(struct out_file *o)
{
	errno = 0;
	bool bad = fflush(o->f) || ferror(o->f) || fsync(fileno(o->f));
	int e = errno;
	bad = fclose(o->f) || bad;
	o->f = NULL;
	if (!bad) {
		/* no replace unless forced: a file that appeared meanwhile stays */
		if (renameat2(AT_FDCWD, o->tmp, AT_FDCWD, o->path,
			      o->force ? 0 : RENAME_NOREPLACE) == 0) {
			o->tmp[0] = 0;
			return 0;
		}
		e = errno;
		if (e == EINVAL && !o->force && link(o->tmp, o->path) == 0) {
			unlink(o->tmp); /* a file system without RENAME_NOREPLACE */
			o->tmp[0] = 0;
			return 0;
		}
		if (e == EINVAL && !o->force)
			e = errno;
	}
	cli_error("cannot write %s: %s; %s", o->path,
		strerror(e ? e : EIO), e == EEXIST ? "it appeared meanwhile, and is left "
		"as it is" : "nothing was written there");
	out_file_abort(o);
	return 1;
}
