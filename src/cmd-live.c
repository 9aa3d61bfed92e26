/* emotop live: the real-time pipeline from a device or a file, with the
 * TUI on a terminal or JSON Lines session records otherwise.
 *
 * Threads: PortAudio's callback (or the file source's thread) -> the
 * analysis thread (emo_stream) -> this main thread, which polls the
 * stream's event pipe and a self-pipe written by the signal handler, and
 * writes the session log, stdout records or the TUI. Signal handlers only
 * set a flag and write one byte. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "emotop/model.h"
#include "emotop/ops.h"
#include "emotop/session.h"
#include "emotop/source.h"
#include "emotop/stream.h"
#include "emotop/tui.h"

static volatile sig_atomic_t got_signal;
static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
	int saved = errno;
	got_signal = sig;
	char b = 1;
	ssize_t r = write(sig_pipe[1], &b, 1);
	(void)r;
	errno = saved;
}

static const char live_help[] =
	"Usage: emotop [live] [OPTIONS]\n"
	"Listen to an input device (or play a file as if it were one) and show\n"
	"the emotion of the voice live: the TUI on a terminal, JSON Lines\n"
	"session records on stdout otherwise or with --no-tui.\n"
	"  -d, --device ID|NAME  input device: index or part of its name ('emotop devices')\n"
	"  -i, --input FILE      play FILE in real time instead of a device\n"
	"      --fast            with --input: as fast as possible, not real time\n"
	"      --speed X         with --input: X times real time (default 1)\n"
	"  -m, --model DIR       model directory (default: $EMOTOP_MODEL or the shipped model)\n"
	"      --no-tui          JSON Lines records on stdout (the session-log format)\n"
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
	"  -t, --threads N       OpenBLAS threads for the model (default 2)\n"
	"      --demo-note TEXT  a note shown in the TUI (the set-up's demo uses it)\n"
	"      --truth FILE      t0<TAB>t1<TAB>label lines (seconds of input): the TUI\n"
	"                        shows the acted emotion beside the prediction\n";

enum { OPT_FAST = OPT_CLI_BASE + 60, OPT_SPEED, OPT_NOTUI, OPT_WINDOW, OPT_HOP,
       OPT_SMOOTH, OPT_RESAMPLE, OPT_NOTE, OPT_FORCE, OPT_TRUTH };

/* --truth: t0<TAB>t1<TAB>label per line, '#' comments. 0, or 1 after a
 * message naming the line. *cues is malloc'd. */
static int read_cues(const char *path, struct emo_tui_cue **cues, int *n)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "%s: cannot read --truth %s: %s\n", prog, path, strerror(errno));
		return 1;
	}
	char line[256];
	int cap = 0, lineno = 0;
	*cues = NULL;
	*n = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		struct emo_tui_cue c;
		if (sscanf(line, "%lf\t%lf\t%31s", &c.t0, &c.t1, c.label) != 3 ||
		    !(c.t1 > c.t0) || c.t0 < 0) {
			fprintf(stderr, "%s: %s:%d: expected t0<TAB>t1<TAB>label with "
				"0 <= t0 < t1\n", prog, path, lineno);
			fclose(f);
			free(*cues);
			*cues = NULL;
			return 1;
		}
		if (*n == cap) {
			cap = cap ? 2 * cap : 32;
			struct emo_tui_cue *p = realloc(*cues, (size_t)cap * sizeof *p);
			if (!p) {
				fclose(f);
				return 1;
			}
			*cues = p;
		}
		(*cues)[(*n)++] = c;
	}
	fclose(f);
	return 0;
}

static const char *quality_name(int q)
{
	return q == EMO_RESAMPLE_BEST ? "best" : q == EMO_RESAMPLE_MEDIUM ? "medium" : "fast";
}

static int write_event_record(struct emo_session_writer *w,
			      const struct emo_model *m, const struct emo_event *ev)
{
	char detail[160];
	switch (ev->type) {
	case EMO_EVENT_RESULT:
		return emo_session_write_window(w, m, &ev->result, ev->latency_s);
	case EMO_EVENT_SPEECH:
		return emo_session_write_speech(w, ev->t0, ev->t1);
	case EMO_EVENT_OVERRUN:
		return emo_session_write_event(w, ev->t0, "overrun",
					       "analysis fell behind; oldest audio skipped",
					       (int64_t)ev->count);
	case EMO_EVENT_PAUSE:
		return emo_session_write_event(w, ev->t0, ev->count ? "pause" : "resume",
					       NULL, 0);
	case EMO_EVENT_ERROR:
		snprintf(detail, sizeof detail, "%s", emo_strerror(ev->error));
		return emo_session_write_event(w, ev->t0,
					       ev->error == EMO_E_DEVICE ? "device_error" : "error",
					       detail, 0);
	case EMO_EVENT_RECORD_ERROR:
		snprintf(detail, sizeof detail, "recording stopped: %s",
			 emo_strerror(ev->error));
		return emo_session_write_event(w, ev->t0, "recording_error", detail, 0);
	case EMO_EVENT_END:
		return 0;
	}
	return 0;
}

/* Refuses, before anything is opened, a recording that would replace an
 * existing file without --force, or the input file in any case. */
static int check_record_path(const char *rec, const char *input, bool force)
{
	struct stat rs, is;
	if (!rec || stat(rec, &rs) != 0)
		return 0;
	if (input && stat(input, &is) == 0 && rs.st_dev == is.st_dev &&
	    rs.st_ino == is.st_ino) {
		fprintf(stderr, "%s: --record %s is the input file; recording would "
			"destroy it. Choose another name.\n", prog, rec);
		return EXIT_USAGE;
	}
	if (S_ISDIR(rs.st_mode)) {
		fprintf(stderr, "%s: --record %s is a directory; give a file name "
			"ending in .wav or .flac\n", prog, rec);
		return EXIT_USAGE;
	}
	if (!force) {
		fprintf(stderr, "%s: %s exists; choose another --record name, or add "
			"--force to replace it\n", prog, rec);
		return 1;
	}
	return 0;
}

int cmd_live(int argc, char **argv)
{
	struct emo_source_config sc = emo_source_config_default();
	struct emo_stream_config stc = emo_stream_config_default();
	const char *model_dir = default_model(), *log_path = NULL, *note = NULL;
	const char *truth_path = NULL;
	struct emo_tui_cue *cues = NULL;
	int num_cues = 0;
	bool no_tui = !isatty(STDOUT_FILENO), want_log = false;
	long threads = 2;
	double d;
	static const struct option opts[] = {
		{"device", required_argument, 0, 'd'},
		{"input", required_argument, 0, 'i'},
		{"fast", no_argument, 0, OPT_FAST},
		{"speed", required_argument, 0, OPT_SPEED},
		{"model", required_argument, 0, 'm'},
		{"no-tui", no_argument, 0, OPT_NOTUI},
		{"log", required_argument, 0, 'l'},
		{"record", required_argument, 0, 'r'},
		{"window", required_argument, 0, OPT_WINDOW},
		{"hop", required_argument, 0, OPT_HOP},
		{"smoothing", required_argument, 0, OPT_SMOOTH},
		{"resample", required_argument, 0, OPT_RESAMPLE},
		{"threads", required_argument, 0, 't'},
		{"demo-note", required_argument, 0, OPT_NOTE},
		{"force", no_argument, 0, OPT_FORCE},
		{"truth", required_argument, 0, OPT_TRUTH},
		{"help", no_argument, 0, 'h'},
		VAD_LONG_OPTIONS,
		{0, 0, 0, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "d:i:m:l:r:t:h", opts, NULL)) != -1) {
		int r = vad_option(c, optarg, &stc.analyzer.vad, "live");
		if (r < 0)
			return -r;
		if (r)
			continue;
		switch (c) {
		case 'd': sc.device = optarg; break;
		case 'i': sc.kind = EMO_SOURCE_FILE; sc.path = optarg; break;
		case OPT_FAST: sc.paced = false; break;
		case OPT_SPEED:
			if (!parse_double(optarg, 0.01, 1000, &sc.speed))
				return usage_error("live", "--speed wants 0.01..1000, not '%s'", optarg);
			break;
		case 'm': model_dir = optarg; break;
		case OPT_NOTUI: no_tui = true; break;
		case 'l': want_log = true; log_path = strcmp(optarg, "auto") ? optarg : NULL; break;
		case 'r': stc.record_path = optarg; break;
		case OPT_WINDOW:
			if (!parse_double(optarg, 0.1, 60, &d))
				return usage_error("live", "--window wants 0.1..60 seconds, not '%s'", optarg);
			stc.analyzer.window_s = d;
			break;
		case OPT_HOP:
			if (!parse_double(optarg, 0.01, 60, &d))
				return usage_error("live", "--hop wants 0.01..60 seconds, not '%s'", optarg);
			stc.analyzer.hop_s = d;
			break;
		case OPT_SMOOTH:
			if (!parse_double(optarg, 0.01, 1, &d))
				return usage_error("live", "--smoothing wants 0.01..1, not '%s'", optarg);
			stc.analyzer.ema_alpha = (float)d;
			break;
		case OPT_RESAMPLE:
			stc.quality = emo_resample_quality_parse(optarg);
			if ((int)stc.quality < 0)
				return usage_error("live", "--resample wants best, medium or fast, not '%s'", optarg);
			break;
		case 't':
			if (!parse_int(optarg, 1, 256, &threads))
				return usage_error("live", "--threads wants 1..256, not '%s'", optarg);
			break;
		case OPT_NOTE: note = optarg; break;
		case OPT_FORCE: stc.record_replace = true; break;
		case OPT_TRUTH: truth_path = optarg; break;
		case 'h': fputs(live_help, stdout); fputs(vad_options_help, stdout); return 0;
		default: return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error("live", "unexpected argument '%s'", argv[optind]);
	int rc = check_window_options("live", &stc.analyzer);
	if (rc)
		return rc;
	if (truth_path && read_cues(truth_path, &cues, &num_cues))
		return 1;
	rc = check_record_path(stc.record_path, sc.kind == EMO_SOURCE_FILE ?
				   sc.path : NULL, stc.record_replace);
	if (rc) {
		free(cues);
		return rc;
	}
	emo_ops_set_threads((int)threads);

	struct emo_model *m = NULL;
	int err = load_model_or_explain(model_dir, &m);
	if (err) {
		free(cues);
		return 1;
	}
	char default_log[64];

	int status = 1;
	const char *labels[EMO_MAX_LABELS]; /* outlives the TUI */
	struct emo_source *src = NULL;
	struct emo_stream *st = NULL;
	struct emo_session_writer *logw = NULL, *outw = NULL;
	struct emo_tui *tui = NULL;
	err = emo_source_open(&sc, &src);
	if (err) {
		if (err != EMO_E_NODEVICE) /* that one was explained already */
			fprintf(stderr, "%s: cannot open %s: %s\n", prog,
				sc.path ? sc.path : "the input device", emo_strerror(err));
		goto out;
	}
	/* the log before the stream, which creates the recording: a refused
	 * log must not leave a new recording behind */
	if (want_log && !log_path) {
		err = emo_session_writer_open_auto(default_log, sizeof default_log, &logw);
		log_path = default_log;
	} else if (log_path) {
		err = emo_session_writer_open(log_path, NULL, &logw);
	}
	if (err) {
		fprintf(stderr, "%s: cannot write the session log: %s\n", prog,
			emo_strerror(err));
		goto out;
	}
	err = emo_stream_create(m, src, &stc, &st);
	if (err) {
		fprintf(stderr, "%s: cannot start analysis: %s\n", prog, emo_strerror(err));
		goto out;
	}
	if (no_tui)
		emo_session_writer_open(NULL, stdout, &outw);
	struct emo_session_info info = {
		.source_kind = sc.kind == EMO_SOURCE_FILE ? "file" : "device",
		.source_name = sc.kind == EMO_SOURCE_FILE ? sc.path : emo_source_name(src),
		.source_rate = emo_source_rate(src),
		.source_channels = emo_source_channels(src),
		.model = m, .analysis = &stc.analyzer,
		.resample = quality_name(stc.quality), .recording = stc.record_path,
		.threads = (int)threads,
	};
	if (logw)
		emo_session_write_header(logw, &info);
	if (outw)
		emo_session_write_header(outw, &info);

	if (pipe(sig_pipe) == 0) {
		struct sigaction sa = {.sa_handler = on_signal};
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
	}
	signal(SIGPIPE, SIG_IGN);

	if (!no_tui) {
		const char *base = strrchr(info.source_name, '/');
		for (int i = 0; i < emo_model_num_labels(m); i++)
			labels[i] = emo_model_label(m, i);
		struct emo_tui_config tc = {
			.num_labels = emo_model_num_labels(m), .labels = labels,
			.model_name = emo_model_name(m), .stream = st,
			.source_name = base ? base + 1 : info.source_name,
			.source_is_file = sc.kind == EMO_SOURCE_FILE,
			.log_path = log_path, .record_path = stc.record_path,
			.note = note, .analysis = &stc.analyzer,
			.cues = cues, .num_cues = num_cues,
		};
		if ((err = emo_tui_create(&tc, &tui))) {
			fprintf(stderr, "%s: cannot start the TUI: %s (use --no-tui)\n",
				prog, emo_strerror(err));
			goto out;
		}
	}
	if ((err = emo_stream_start(st))) {
		emo_tui_destroy(tui);
		tui = NULL;
		fprintf(stderr, "%s: cannot start %s: %s\n", prog, info.source_name,
			emo_strerror(err));
		goto out;
	}

	const char *reason = "end of input";
	int end_error = 0, record_error = 0;
	bool stopping = false, ended = false, input_done = false;
	while (!ended) {
		struct pollfd pf[3] = {
			{.fd = emo_stream_fd(st), .events = POLLIN},
			{.fd = sig_pipe[0], .events = POLLIN},
			{.fd = tui ? STDIN_FILENO : -1, .events = POLLIN},
		};
		poll(pf, 3, tui ? emo_tui_timeout_ms(tui) : 500);
		if (got_signal && !stopping) {
			reason = got_signal == SIGINT ? "interrupted (SIGINT)" :
				 got_signal == SIGTERM ? "terminated (SIGTERM)" : "hangup (SIGHUP)";
			stopping = true;
			emo_stream_stop(st); /* queues the END event */
		}
		struct emo_event ev;
		while (emo_stream_next_event(st, &ev)) {
			if (ev.type == EMO_EVENT_END) {
				/* the TUI stays up showing the last result until q */
				ended = !tui || stopping;
				input_done = true;
				if (ev.error)
					end_error = ev.error;
			}
			if (ev.type == EMO_EVENT_ERROR)
				end_error = ev.error;
			if (ev.type == EMO_EVENT_RECORD_ERROR) {
				record_error = ev.error;
				if (tui)
					emo_tui_message(tui, "recording: write failed (disk "
						       "full?); recording stopped, analysis "
						       "goes on");
			}
			if (logw && write_event_record(logw, m, &ev) && tui)
				emo_tui_message(tui, "session log: write failed (disk full?); "
					       "analysis goes on, the log so far is intact");
			if (outw)
				write_event_record(outw, m, &ev);
			if (tui)
				emo_tui_event(tui, &ev);
		}
		if (tui && !stopping) {
			int action = emo_tui_update(tui);
			if (action == EMO_TUI_QUIT) {
				if (!input_done)
					reason = "stopped by the user";
				stopping = true;
				emo_stream_stop(st);
				ended = input_done;
			}
		}
		if (got_signal && input_done)
			ended = true;
	}
	emo_stream_stop(st);
	struct emo_stream_stats stats;
	emo_stream_get_stats(st, &stats);
	char why[200];
	if (end_error && !got_signal) {
		snprintf(why, sizeof why, "%s: %s",
			 end_error == EMO_E_DEVICE ? "input device error" : "error",
			 emo_strerror(end_error));
		reason = why;
	}
	if (logw)
		emo_session_write_end(logw, reason, &stats);
	if (outw)
		emo_session_write_end(outw, reason, &stats);
	emo_tui_destroy(tui);
	tui = NULL;
	emo_log_set_handler(stderr_log, NULL);
	if (!no_tui)
		fprintf(stderr, "%s: %s; %.1f s analysed, %llu window(s)%s%s\n", prog,
			reason, stats.audio_s, (unsigned long long)stats.windows,
			log_path ? ", log " : "", log_path ? log_path : "");
	status = got_signal == SIGINT ? 130 : got_signal == SIGTERM ? 143 :
		 got_signal ? 129 : end_error ? 1 : 0;
	if (record_error) {
		fprintf(stderr, "%s: the recording %s stopped early: %s; what was "
			"written before is intact\n", prog,
			stc.record_path ? stc.record_path : "", emo_strerror(record_error));
		if (!status)
			status = 1;
	}
	if (logw && emo_session_writer_error(logw)) {
		fprintf(stderr, "%s: the session log %s is incomplete: %s\n", prog,
			log_path, emo_strerror(emo_session_writer_error(logw)));
		if (!status)
			status = 1;
	}
out:
	emo_tui_destroy(tui);
	emo_stream_destroy(st);
	emo_source_close(src);
	emo_source_terminate();
	if (logw)
		emo_session_writer_close(logw);
	if (outw)
		emo_session_writer_close(outw);
	emo_model_destroy(m);
	free(cues);
	return status;
}
