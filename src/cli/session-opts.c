/* The options of a live session, shared by live and serve: see
 * session-opts.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli/session-opts.h"
#include "core/recorder.h"

static const char session_options_help[] =
	"  -d, --device ID|NAME  input device: index or part of its name ('emotop devices')\n"
	"  -i, --input FILE      play FILE in real time instead of a device\n"
	"  -m, --model DIR       model directory (default: $EMOTOP_MODEL or the shipped model)\n"
	"  -l, --log FILE        write the session log to FILE (never overwrites);\n"
	"                        --log auto picks emotop-DATE-TIME.jsonl\n"
	"  -r, --record FILE     record the analysed 16 kHz audio (.wav: 32-bit float;\n"
	"                        .flac: 16-bit, and analysed as recorded); never\n"
	"                        replaces an existing file unless --force\n"
	"      --force           let --record replace an existing file (never the input)\n"
	"      --window S        window length, seconds of speech (default 2)\n"
	"      --hop S           hop between windows, seconds of speech (default 0.5)\n"
	"      --smoothing A     moving-average weight of the newest window (default 0.5)\n"
	"      --resample Q      libsamplerate quality: best, medium, fast (default fast)\n"
	"  -t, --threads N       OpenBLAS threads for the model (default 2)\n";

void print_session_help(const char *own)
{
	fputs(own, stdout);
	fputs(session_options_help, stdout);
	fputs(precision_help, stdout);
	fputs(reuse_help, stdout);
	fputs(vad_options_help, stdout);
}

void session_opts_init(struct session_opts *o)
{
	*o = (struct session_opts){
		.sc = emo_source_config_default(),
		.stc = emo_stream_config_default(),
		.model_dir = default_model(),
		.threads = 2,
	};
}

int session_option(int c, const char *arg, struct session_opts *o, const char *cmd)
{
	struct emo_stream_config *stc = &o->stc;
	double d;
	int r = vad_option(c, arg, &stc->analyzer.vad, cmd);
	if (r)
		return r;
	switch (c) {
	case 'd': o->sc.device = arg; o->source_given = true; return 1;
	case 'i':
		o->sc.kind = EMO_SOURCE_FILE;
		o->sc.path = arg;
		o->source_given = true;
		return 1;
	case 'm': o->model_dir = arg; return 1;
	case 'l':
		o->want_log = true;
		o->log_path = strcmp(arg, "auto") ? arg : NULL;
		return 1;
	case 'r': stc->record_path = arg; return 1;
	case OPT_SESSION_BASE: stc->record_replace = true; return 1;
	case OPT_SESSION_BASE + 1:
		if (!parse_double(arg, 0.1, 60, &d))
			return -usage_error(cmd, "--window wants 0.1..60 seconds, not '%s'", arg);
		stc->analyzer.window_s = d;
		return 1;
	case OPT_SESSION_BASE + 2:
		if (!parse_double(arg, 0.01, 60, &d))
			return -usage_error(cmd, "--hop wants 0.01..60 seconds, not '%s'", arg);
		stc->analyzer.hop_s = d;
		return 1;
	case OPT_SESSION_BASE + 3:
		if (!parse_double(arg, 0.01, 1, &d))
			return -usage_error(cmd, "--smoothing wants 0.01..1, not '%s'", arg);
		stc->analyzer.ema_alpha = (float)d;
		return 1;
	case OPT_SESSION_BASE + 4:
		stc->quality = emo_resample_quality_parse(arg);
		if ((int)stc->quality < 0)
			return -usage_error(cmd, "--resample wants best, medium or fast, not '%s'",
					    arg);
		return 1;
	case 't':
		if (!parse_int(arg, 1, EMO_MAX_THREADS, &o->threads))
			return -usage_error(cmd, "--threads wants 1..256, not '%s'", arg);
		return 1;
	case OPT_REUSE:
		return (r = reuse_option(cmd, arg, &stc->analyzer)) ? -r : 1;
	case OPT_PRECISION:
		return (r = precision_option(cmd, arg, &o->precision)) ? -r : 1;
	default:
		return 0;
	}
}

/* Refuses, before anything is opened, a recording that would replace an
 * existing file without --force, or the input file in any case. */
static int check_record_path(const char *rec, const char *input, bool force)
{
	if (rec && !emo_recorder_supported(rec)) {
		cli_error("--record %s: emotop records .wav (32-bit float) or .flac "
			  "(16-bit, analysed as recorded); give one of those extensions", rec);
		return 1;
	}
	struct stat rs, is;
	if (!rec || stat(rec, &rs) != 0)
		return 0;
	if (input && stat(input, &is) == 0 && rs.st_dev == is.st_dev &&
	    rs.st_ino == is.st_ino) {
		cli_error("--record %s is the input file; recording would "
			"destroy it. Choose another name.", rec);
		return EXIT_USAGE;
	}
	if (S_ISDIR(rs.st_mode)) {
		cli_error("--record %s is a directory; give a file name "
			"ending in .wav or .flac", rec);
		return EXIT_USAGE;
	}
	if (!force) {
		cli_error("%s exists; choose another --record name, or add "
			"--force to replace it", rec);
		return 1;
	}
	return 0;
}

int session_opts_check(struct session_opts *o, const char *cmd)
{
	int rc = check_window_options(cmd, &o->stc.analyzer);
	if (rc)
		return rc;
	return check_record_path(o->stc.record_path, o->sc.kind == EMO_SOURCE_FILE ?
				 o->sc.path : NULL, o->stc.record_replace);
}

const char *quality_name(int q)
{
	return q == EMO_RESAMPLE_BEST ? "best" : q == EMO_RESAMPLE_MEDIUM ? "medium" : "fast";
}

/* NAME.ext -> NAME-seq.ext (seq > 1); the extension is the last dot of the
 * last path component. false when it does not fit. */
static bool numbered(const char *path, int seq, char *buf, size_t n)
{
	if (seq <= 1)
		return (size_t)snprintf(buf, n, "%s", path) < n;
	const char *slash = strrchr(path, '/');
	const char *dot = strrchr(slash ? slash + 1 : path, '.');
	size_t stem = dot && dot != (slash ? slash + 1 : path) ? (size_t)(dot - path)
							       : strlen(path);
	return (size_t)snprintf(buf, n, "%.*s-%d%s", (int)stem, path, seq,
				path + stem) < n;
}

int session_open_log(const struct session_opts *o, int seq, char *buf, size_t n,
		     struct emo_session_writer **w)
{
	*w = NULL;
	if (!o->want_log)
		return 0;
	int err;
	if (!o->log_path) {
		err = emo_session_writer_open_auto(buf, n, w);
		if (!err) /* a name the user did not choose: say which */
			fprintf(stderr, "%s: logging to %s\n", prog, buf);
	} else if (!numbered(o->log_path, seq, buf, n)) {
		cli_error("--log %s: the name is too long", o->log_path);
		return 1;
	} else {
		err = emo_session_writer_open(buf, NULL, w);
	}
	if (err) {
		cli_error("cannot write the session log: %s", emo_strerror(err));
		return 1;
	}
	return 0;
}

const char *session_record_path(const struct session_opts *o, int seq, char *buf,
				size_t n)
{
	const char *rec = o->stc.record_path;
	if (!rec || !numbered(rec, seq, buf, n))
		return NULL;
	return buf;
}
