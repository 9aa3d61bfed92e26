/* emotop replay: session logs played back.
 *
 * replay plays the window records in the TUI at the recorded pace (or
 * prints them), and --reanalyze runs the session's recording through the
 * same analyzer with the settings in the header, checking that every
 * logged window probability comes out again bit for bit. The log format
 * is session.h's; `emotop report` draws a log (cmd-report.c). */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cli.h"
#include "emotop/affect.h"
#include "emotop/analyzer.h"
#include "emotop/audio.h"
#include "emotop/model.h"
#include "emotop/session.h"
#include "cli/tui.h"

/* ---- reanalyze ------------------------------------------------------------ */

struct rean {
	struct emo_session_log *log;
	const struct emo_model *m;
	size_t next;      /* index into records of the next window to compare */
	long compared, differ;
	char first_diff[256];
};

static const struct emo_session_record *next_window(struct rean *r)
{
	while (r->next < r->log->n) {
		const struct emo_session_record *rec = &r->log->records[r->next++];
		if (rec->type == EMO_RECORD_WINDOW)
			return rec;
	}
	return NULL;
}

static void rean_result(const struct emo_result *res, void *ud)
{
	struct rean *r = ud;
	const struct emo_session_record *w = next_window(r);
	r->compared++;
	if (!w) {
		if (!r->differ++)
			snprintf(r->first_diff, sizeof r->first_diff,
				 "window %lld at %.2f s is not in the log", (long long)res->index,
				 res->t0);
		return;
	}
	bool same = (float)w->t0 == (float)res->t0 && (float)w->t1 == (float)res->t1;
	const char *which = same ? NULL : "times";
	const struct emo_session_header *h = &r->log->header;
	for (int i = 0; i < res->num_labels && same; i++) {
		/* 9 significant digits round-trip float32: exact comparison, by
		 * label name (the log's label order is the header's) */
		const char *l = emo_model_label(r->m, i);
		int k = 0;
		while (k < h->num_labels && strcmp(h->labels[k], l))
			k++;
		if (k == h->num_labels || w->result.probs[k] != res->probs[i]) {
			same = false;
			which = l;
		}
	}
	if (!same && !r->differ++)
		snprintf(r->first_diff, sizeof r->first_diff,
			 "window %lld (%.2f-%.2f s) differs first in %s", (long long)res->index,
			 res->t0, res->t1, which);
}

static int reanalyze(const char *session, struct emo_session_log *log,
		     const char *model_override)
{
	const struct emo_session_header *h = &log->header;
	const char *rec = h->recording;
	if (!rec) {
		cli_error("%s has no recording (the session ran without "
			"--record); nothing to reanalyse", session);
		return 1;
	}
	char recpath[4096];
	if (rec[0] != '/' && access(rec, R_OK) != 0) {
		/* relative to the log's directory */
		char tmp[4096];
		snprintf(tmp, sizeof tmp, "%s", session);
		snprintf(recpath, sizeof recpath, "%s/%s", dirname(tmp), rec);
	} else {
		snprintf(recpath, sizeof recpath, "%s", rec);
	}
	const char *mdir = model_override ? model_override : h->model_dir;
	if (!mdir[0]) {
		cli_error("the header names no model directory; give --model");
		return 1;
	}
	struct emo_model *m = NULL;
	/* the session's arithmetic: bf16 and fp32 differ in the last bits */
	struct emo_model_params mp = emo_model_params_default();
	mp.precision = h->precision;
	int err = emo_model_load(mdir, &mp, &m);
	if (err) {
		cli_error("cannot load model '%s': %s", mdir, emo_strerror(err));
		return 1;
	}
	const char *want = h->model_sha256;
	if (h->engine[0] && strcmp(h->engine, emo_model_engine(m)))
		cli_warn("the session ran on %s, this emotop runs on "
			"%s; results may differ in the last bits", h->engine,
			emo_model_engine(m));
	bool hash_ok = !strcmp(want, emo_model_sha256(m));
	if (!hash_ok)
		cli_warn("model weights differ from the session's "
			"(sha256 %.12s... logged, %.12s... now); results will differ", want, emo_model_sha256(m));
	float *x = NULL;
	size_t n = 0;
	err = emo_audio_read(recpath, EMO_SAMPLE_RATE, EMO_RESAMPLE_FAST, &x, &n, NULL);
	if (err) {
		cli_error("cannot read the recording %s: %s", recpath,
			emo_strerror(err));
		emo_model_destroy(m);
		return 1;
	}
	struct emo_analyzer_config cfg = h->analysis;
	struct rean r = {.log = log, .m = m};
	struct emo_analyzer *a = NULL;
	/* the same OpenBLAS thread count as the session: sums are split by
	 * thread, so another count changes the last bits */
	emo_set_threads(h->threads);
	err = emo_analyzer_create(m, &cfg, rean_result, NULL, &r, &a);
	if (!err)
		err = emo_analyzer_process(a, x, n);
	if (!err)
		err = emo_analyzer_finish(a);
	emo_analyzer_destroy(a);
	free(x);
	long logged = (long)log->windows;
	int status = 0;
	if (err) {
		cli_error("reanalysis failed: %s", emo_strerror(err));
		status = 1;
	} else if (r.differ || r.compared != logged) {
		printf("reanalysis DIFFERS: %ld window(s) computed, %ld logged, %ld differ; %s%s\n",
		       r.compared, logged, r.differ, r.first_diff[0] ? r.first_diff : "counts differ",
		       hash_ok ? "" : " (different model weights)");
		status = 1;
	} else {
		printf("reanalysis reproduces all %ld window(s) exactly (model %s, sha256 %.12s...)\n",
		       r.compared, emo_model_name(m), emo_model_sha256(m));
	}
	emo_model_destroy(m);
	return status;
}

/* ---- replay --------------------------------------------------------------- */

static const char replay_help[] =
	"Usage: emotop replay [OPTIONS] SESSION\n"
	"Play a session log back: in the TUI at the recorded pace (space pauses,\n"
	"left/right seek 5 s, +/- change speed, q quits), or as JSON Lines.\n"
	"      --speed X      playback speed (default 1)\n"
	"      --no-tui       print the records instead\n"
	"      --reanalyze    run the session's recording through the same model and\n"
	"                     settings and check the logged probabilities are\n"
	"                     reproduced exactly (exit 1 where they differ)\n"
	"  -m, --model DIR    with --reanalyze: use DIR instead of the logged model\n";

/* Where a record sits on the replay clock: a window or speech segment when
 * it ended, an event when it happened. */
static double record_time(const struct emo_session_record *r)
{
	return r->type == EMO_RECORD_WINDOW || r->type == EMO_RECORD_SPEECH ? r->t1 : r->t0;
}

static int replay_tui(const char *path, struct emo_session_log *log, double speed)
{
	const struct emo_session_header *h = &log->header;
	if (!h->num_labels) {
		cli_error("%s: the header lists no labels", path);
		return 1;
	}
	struct emo_analyzer_config cfg = h->analysis;
	double total = log->end ? log->end->duration : 0;
	for (size_t i = 0; i < log->n; i++)
		total = fmax(total, log->records[i].t1);
	const char *b = strrchr(path, '/');
	struct emo_tui_config tc = {
		.num_labels = h->num_labels, .labels = h->labels,
		.model_name = h->model_name,
		.source_name = h->source_name,
		.source_is_file = true,
		.replay = true,
		.log_path = b ? b + 1 : path,
		.analysis = &cfg,
	};
	struct emo_tui *t = NULL;
	if (emo_tui_create(&tc, &t)) {
		cli_error("cannot start the TUI (use --no-tui)");
		return 1;
	}
	double pos = 0, last = emo_now();
	bool paused = false;
	size_t next = 0;
	for (;;) {
		double now = emo_now();
		if (!paused)
			pos += (now - last) * speed;
		last = now;
		if (pos > total)
			pos = total;
		/* deliver every window whose end the clock has passed */
		while (next < log->n) {
			const struct emo_session_record *r = &log->records[next];
			if (record_time(r) > pos)
				break;
			struct emo_event ev;
			if (r->type == EMO_RECORD_WINDOW && emo_session_record_event(r, &ev))
				emo_tui_event(t, &ev);
			next++;
		}
		emo_tui_set_replay(t, pos, total, speed, paused || pos >= total);
		enum emo_tui_action a = emo_tui_update(t);
		if (a == EMO_TUI_QUIT)
			break;
		if (a == EMO_TUI_PAUSE)
			paused = !paused;
		if (a == EMO_TUI_FASTER)
			speed = fmin(speed * 2, 64);
		if (a == EMO_TUI_SLOWER)
			speed = fmax(speed / 2, 1.0 / 16);
		if (a == EMO_TUI_SEEK_FWD)
			pos = fmin(pos + 5, total);
		if (a == EMO_TUI_SEEK_BACK) {
			/* back: start over and deliver up to the new position */
			pos = fmax(pos - 5, 0);
			emo_tui_reset(t);
			next = 0;
		}
		struct pollfd pf = {.fd = STDIN_FILENO, .events = POLLIN};
		poll(&pf, 1, emo_tui_timeout_ms(t));
	}
	emo_tui_destroy(t);
	emo_log_set_handler(stderr_log, NULL);
	return 0;
}

int cmd_replay(int argc, char **argv)
{
	double speed = 1.0;
	bool no_tui = !isatty(STDOUT_FILENO), rean = false;
	const char *model = NULL;
	enum { OPT_SPEED = OPT_CLI_BASE + 80, OPT_NOTUI, OPT_REAN };
	static const struct option opts[] = {
		{"speed", required_argument, 0, OPT_SPEED},
		{"no-tui", no_argument, 0, OPT_NOTUI},
		{"reanalyze", no_argument, 0, OPT_REAN},
		{"model", required_argument, 0, 'm'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	int c;
	while ((c = cli_getopt(argc, argv, "m:h", opts, "replay")) != -1) {
		switch (c) {
		case OPT_SPEED:
			if (!parse_double(optarg, 0.01, 1000, &speed))
				return usage_error("replay", "--speed wants 0.01..1000, not '%s'", optarg);
			break;
		case OPT_NOTUI: no_tui = true; break;
		case OPT_REAN: rean = true; break;
		case 'm': model = optarg; break;
		case 'h': fputs(replay_help, stdout); return 0;
		default: return EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		return usage_error("replay", "%s", "give one session log");
	const char *path = argv[optind];
	struct emo_session_log log;
	int err = emo_session_log_read(path, &log);
	if (err) {
		cli_error("cannot replay %s: %s", path, emo_strerror(err));
		return 1;
	}
	int status = 0;
	if (rean) {
		status = reanalyze(path, &log, model);
	} else if (no_tui) {
		status = emo_session_log_print(&log, stdout) ? 1 : 0;
	} else {
		status = replay_tui(path, &log, speed);
	}
	emo_session_log_free(&log);
	return status;
}

