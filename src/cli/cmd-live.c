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
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/session-opts.h"
#include "emotop/model.h"
#include "nn/ops.h"
#include "emotop/session.h"
#include "emotop/source.h"
#include "emotop/stream.h"
#include "cli/tui.h"

static volatile sig_atomic_t got_signal;
static int sig_pipe[2] = {-1, -1};

/* The first signal asks the session to end (the log gets its end record);
 * a second one, or the session not ending within 10 s of the first (an
 * analysis thread stuck in a library), ends the program at once. */
static void on_signal(int sig)
{
	int saved = errno;
	if (got_signal) {
		signal(sig, SIG_DFL);
		raise(sig);
	}
	alarm(10); /* SIGALRM's default action ends the process */
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
	"      --fast            with --input: as fast as possible, not real time\n"
	"      --speed X         with --input: X times real time (default 1)\n"
	"      --no-tui          JSON Lines records on stdout (the session-log format)\n"
	"      --demo-note TEXT  a note shown in the TUI (the set-up's demo uses it)\n"
	"      --truth FILE      t0<TAB>t1<TAB>label lines (seconds of input): the TUI\n"
	"                        shows the acted emotion beside the prediction\n";

enum { OPT_FAST = OPT_CLI_BASE + 60, OPT_SPEED, OPT_NOTUI, OPT_NOTE, OPT_TRUTH };

/* --truth: t0<TAB>t1<TAB>label per line, '#' comments. 0, or 1 after a
 * message naming the line. *cues is malloc'd. */
static int read_cues(const char *path, struct emo_tui_cue **cues, int *n)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		cli_error("cannot read --truth %s: %s", path, strerror(errno));
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
			cli_error("%s:%d: expected t0<TAB>t1<TAB>label with "
				"0 <= t0 < t1", path, lineno);
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

/* What the command line asked for. */
struct live_opts {
	struct session_opts s;
	const char *note, *truth_path;
	bool no_tui;
};

/* A running session: everything set_up() opened, released by tear_down(). */
struct live {
	const struct live_opts *o;
	struct emo_model *m;
	struct emo_source *src;
	struct emo_stream *st;
	struct emo_session_writer *logw, *outw;
	struct emo_tui *tui;
	struct emo_tui_cue *cues;
	int num_cues;
	char log_path[4096];
	const char *labels[EMO_MAX_LABELS]; /* outlive the TUI */
	struct emo_session_info info;
	bool paused;
	char rec_path[256];                 /* 'r' in the TUI */
};

/* How the event loop ended. */
struct live_end {
	const char *reason;
	int end_error, record_error;
};

/* Options into *o. Returns -1 to go on, or the exit status (help, usage). */
static int parse_live(int argc, char **argv, struct live_opts *o)
{
	bool fast = false, speed = false;
	*o = (struct live_opts){.no_tui = !isatty(STDOUT_FILENO)};
	session_opts_init(&o->s);
	struct emo_source_config *sc = &o->s.sc;
	static const struct option opts[] = {
		SESSION_LONG_OPTIONS,
		{"fast", no_argument, 0, OPT_FAST},
		{"speed", required_argument, 0, OPT_SPEED},
		{"no-tui", no_argument, 0, OPT_NOTUI},
		{"demo-note", required_argument, 0, OPT_NOTE},
		{"truth", required_argument, 0, OPT_TRUTH},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	int c;
	while ((c = cli_getopt(argc, argv, SESSION_SHORT_OPTIONS "h", opts, "live")) != -1) {
		int r = session_option(c, optarg, &o->s, "live");
		if (r < 0)
			return -r;
		if (r)
			continue;
		switch (c) {
		case OPT_FAST: sc->paced = false; fast = true; break;
		case OPT_SPEED:
			if (!parse_double(optarg, 0.01, 1000, &sc->speed))
				return usage_error("live", "--speed wants 0.01..1000, not '%s'", optarg);
			speed = true;
			break;
		case OPT_NOTUI: o->no_tui = true; break;
		case OPT_NOTE: o->note = optarg; break;
		case OPT_TRUTH: o->truth_path = optarg; break;
		case 'h':
			print_session_help(live_help);
			return 0;
		default: return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error("live", "unexpected argument '%s'", argv[optind]);
	if (fast && speed)
		return usage_error("live", "%s", "--fast and --speed contradict each other: "
				   "give one");
	if ((fast || speed) && sc->kind != EMO_SOURCE_FILE)
		return usage_error("live", "%s", "--fast and --speed pace a file: give "
				   "--input FILE");
	int rc = session_opts_check(&o->s, "live");
	return rc ? rc : -1;
}

/* Opens model, source, logs, stream and TUI, in the order that keeps a
 * refusal from leaving files behind, and starts the stream. 0 or 1 (said). */
static int set_up(struct live *L)
{
	const struct live_opts *lo = L->o;
	const struct session_opts *o = &lo->s;
	emo_set_threads((int)o->threads);
	if (lo->truth_path && read_cues(lo->truth_path, &L->cues, &L->num_cues))
		return 1;
	if (load_model_or_explain(o->model_dir, o->precision, &L->m))
		return 1;
	int err = emo_source_open(&o->sc, &L->src);
	if (err) {
		if (err != EMO_E_NODEVICE) /* that one was explained already */
			cli_error("cannot open %s: %s",
				o->sc.path ? o->sc.path : "the input device", emo_strerror(err));
		return 1;
	}
	/* the log before the stream, which creates the recording: a refused
	 * log must not leave a new recording behind */
	if (session_open_log(o, 1, L->log_path, sizeof L->log_path, &L->logw))
		return 1;
	err = emo_stream_create(L->m, L->src, &o->stc, &L->st);
	if (err) {
		cli_error("cannot start analysis: %s", emo_strerror(err));
		return 1;
	}
	if (lo->no_tui)
		emo_session_writer_open(NULL, stdout, &L->outw);
	const bool file = o->sc.kind == EMO_SOURCE_FILE;
	L->info = (struct emo_session_info){
		.source_kind = file ? "file" : "device",
		.source_name = file ? o->sc.path : emo_source_name(L->src),
		.source_rate = emo_source_rate(L->src),
		.source_channels = emo_source_channels(L->src),
		.model = L->m, .analysis = &o->stc.analyzer,
		.resample = quality_name(o->stc.quality), .recording = o->stc.record_path,
		.threads = (int)o->threads,
	};
	if (L->logw)
		emo_session_write_header(L->logw, &L->info);
	if (L->outw)
		emo_session_write_header(L->outw, &L->info);

	if (pipe(sig_pipe) == 0) {
		struct sigaction sa = {.sa_handler = on_signal};
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
	}
	signal(SIGPIPE, SIG_IGN);

	if (!lo->no_tui) {
		const char *base = strrchr(L->info.source_name, '/');
		for (int i = 0; i < emo_model_num_labels(L->m); i++)
			L->labels[i] = emo_model_label(L->m, i);
		struct emo_tui_config tc = {
			.num_labels = emo_model_num_labels(L->m), .labels = L->labels,
			.model_name = emo_model_name(L->m),
			.source_name = base ? base + 1 : L->info.source_name,
			.source_is_file = file,
			.log_path = L->logw ? L->log_path : NULL,
			.record_path = o->stc.record_path,
			.note = lo->note, .analysis = &o->stc.analyzer,
			.cues = L->cues, .num_cues = L->num_cues,
		};
		if ((err = emo_tui_create(&tc, &L->tui))) {
			cli_error("cannot start the TUI: %s (use --no-tui)", emo_strerror(err));
			return 1;
		}
	}
	if ((err = emo_stream_start(L->st))) {
		emo_tui_destroy(L->tui);
		L->tui = NULL;
		cli_error("cannot start %s: %s", L->info.source_name,
			emo_strerror(err));
		return 1;
	}
	return 0;
}

/* What a key asked for in the live TUI, done on the stream. */
static void tui_action(struct live *L, enum emo_tui_action a)
{
	struct emo_stream_stats s;
	float sm = emo_stream_get_smoothing(L->st);
	switch (a) {
	case EMO_TUI_PAUSE:
		L->paused = !L->paused;
		emo_stream_set_paused(L->st, L->paused);
		emo_tui_message(L->tui, L->paused ? "analysis paused (space resumes)" :
				"analysis resumed");
		break;
	case EMO_TUI_RECORD:
		emo_stream_get_stats(L->st, &s);
		if (s.recording) {
			emo_stream_set_recording(L->st, NULL);
			emo_tui_set_recording(L->tui, NULL);
			emo_tui_message(L->tui, "recording stopped");
		} else {
			emo_session_unique_name(L->rec_path, sizeof L->rec_path, ".wav");
			emo_stream_set_recording(L->st, L->rec_path);
			emo_tui_set_recording(L->tui, L->rec_path);
			char b[300];
			snprintf(b, sizeof b, "recording to %s", L->rec_path);
			emo_tui_message(L->tui, b);
		}
		break;
	case EMO_TUI_SMOOTH_MORE: /* less weight on the newest window */
		emo_stream_set_smoothing(L->st, fmaxf(0.05f, sm - 0.1f));
		break;
	case EMO_TUI_SMOOTH_LESS:
		emo_stream_set_smoothing(L->st, fminf(1.0f, sm + 0.1f));
		break;
	default:
		break;
	}
}

/* Events to the logs and the TUI until the input ends, a signal comes or
 * the user quits. */
static struct live_end event_loop(struct live *L)
{
	struct live_end e = {.reason = "end of input"};
	bool stopping = false, ended = false, input_done = false;
	while (!ended) {
		struct pollfd pf[3] = {
			{.fd = emo_stream_fd(L->st), .events = POLLIN},
			{.fd = sig_pipe[0], .events = POLLIN},
			{.fd = L->tui ? STDIN_FILENO : -1, .events = POLLIN},
		};
		poll(pf, 3, L->tui ? emo_tui_timeout_ms(L->tui) : 500);
		if (got_signal && !stopping) {
			e.reason = got_signal == SIGINT ? "interrupted (SIGINT)" :
				   got_signal == SIGTERM ? "terminated (SIGTERM)" : "hangup (SIGHUP)";
			stopping = true;
			emo_stream_stop(L->st); /* queues the END event */
		}
		struct emo_event ev;
		while (emo_stream_next_event(L->st, &ev)) {
			if (ev.type == EMO_EVENT_END) {
				/* the TUI stays up showing the last result until q */
				ended = !L->tui || stopping;
				input_done = true;
				if (ev.error)
					e.end_error = ev.error;
			}
			if (ev.type == EMO_EVENT_ERROR)
				e.end_error = ev.error;
			if (ev.type == EMO_EVENT_RECORD_ERROR) {
				e.record_error = ev.error;
				if (L->tui) {
					emo_tui_set_recording(L->tui, NULL);
					emo_tui_message(L->tui, "recording: write failed (disk "
						       "full?); recording stopped, analysis "
						       "goes on");
				}
			}
			if (L->logw && emo_session_write_stream_event(L->logw, L->m, &ev) && L->tui)
				emo_tui_message(L->tui, "session log: write failed (disk full?); "
					       "analysis goes on, the log so far is intact");
			if (L->outw)
				emo_session_write_stream_event(L->outw, L->m, &ev);
			if (L->tui)
				emo_tui_event(L->tui, &ev);
		}
		if (L->tui && !stopping) {
			struct emo_stream_stats s;
			emo_stream_get_stats(L->st, &s);
			emo_tui_set_stats(L->tui, &s, emo_stream_get_smoothing(L->st));
			enum emo_tui_action action = emo_tui_update(L->tui);
			if (action == EMO_TUI_QUIT) {
				if (!input_done)
					e.reason = "stopped by the user";
				stopping = true;
				emo_stream_stop(L->st);
				ended = input_done;
			} else {
				tui_action(L, action);
			}
		}
		if (got_signal && input_done)
			ended = true;
	}
	return e;
}

/* The end record, the closing line and the exit status. */
static int summary(struct live *L, struct live_end *e)
{
	emo_stream_stop(L->st);
	struct emo_stream_stats stats;
	emo_stream_get_stats(L->st, &stats);
	char why[200];
	if (e->end_error && !got_signal) {
		snprintf(why, sizeof why, "%s: %s",
			 e->end_error == EMO_E_DEVICE ? "input device error" : "error",
			 emo_strerror(e->end_error));
		e->reason = why;
	}
	if (L->logw)
		emo_session_write_end(L->logw, e->reason, &stats);
	if (L->outw)
		emo_session_write_end(L->outw, e->reason, &stats);
	emo_tui_destroy(L->tui);
	L->tui = NULL;
	emo_log_set_handler(stderr_log, NULL);
	if (!L->o->no_tui)
		fprintf(stderr, "%s: %s; %.1f s analysed, %llu window(s)%s%s\n", prog,
			e->reason, stats.audio_s, (unsigned long long)stats.windows,
			L->logw ? ", log " : "", L->logw ? L->log_path : "");
	int status = got_signal == SIGINT ? 130 : got_signal == SIGTERM ? 143 :
		     got_signal ? 129 : e->end_error ? 1 : 0;
	if (!status && L->o->s.sc.kind == EMO_SOURCE_FILE && stats.audio_s <= 0) {
		/* as analyze: a file without samples is an error, not a session */
		cli_error("%s: the file holds no audio samples",
			L->o->s.sc.path);
		status = 1;
	}
	if (e->record_error) {
		cli_error("the recording %s stopped early: %s; what was "
			"written before is intact",
			L->o->s.stc.record_path ? L->o->s.stc.record_path : "",
			emo_strerror(e->record_error));
		if (!status)
			status = 1;
	}
	if (L->logw && emo_session_writer_error(L->logw)) {
		cli_error("the session log %s is incomplete: %s",
			L->log_path, emo_strerror(emo_session_writer_error(L->logw)));
		if (!status)
			status = 1;
	}
	return status;
}

static void tear_down(struct live *L)
{
	emo_tui_destroy(L->tui);
	emo_stream_destroy(L->st);
	emo_source_close(L->src);
	emo_source_terminate();
	if (L->logw)
		emo_session_writer_close(L->logw);
	if (L->outw)
		emo_session_writer_close(L->outw);
	emo_model_destroy(L->m);
	free(L->cues);
}

int cmd_live(int argc, char **argv)
{
	struct live_opts o;
	int rc = parse_live(argc, argv, &o);
	if (rc >= 0)
		return rc;
	struct live L = {.o = &o};
	int status = 1;
	if (!set_up(&L)) {
		struct live_end e = event_loop(&L);
		status = summary(&L, &e);
	}
	tear_down(&L);
	return status;
}
