/* emotop replay and emotop report: session logs read back.
 *
 * replay plays the window records in the TUI at the recorded pace (or
 * prints them), and --reanalyze runs the session's recording through the
 * same analyzer with the settings in the header, checking that every
 * logged window probability comes out again bit for bit.
 * report draws an SVG (or an HTML page around it) of the session. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "emotop/affect.h"
#include "emotop/analyzer.h"
#include "emotop/audio.h"
#include "emotop/model.h"
#include "emotop/ops.h"
#include "emotop/session.h"
#include "emotop/tui.h"

static double num(json_t *o, const char *k, double def)
{
	json_t *v = json_object_get(o, k);
	return json_is_number(v) ? json_number_value(v) : def;
}

static const char *str(json_t *o, const char *k, const char *def)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : def;
}

/* analysis + VAD settings from a header, over the defaults */
static struct emo_analyzer_config header_config(json_t *h)
{
	struct emo_analyzer_config c = emo_analyzer_config_default();
	json_t *a = json_object_get(h, "analysis"), *v = json_object_get(h, "vad");
	c.window_s = num(a, "window", c.window_s);
	c.hop_s = num(a, "hop", c.hop_s);
	c.min_window_s = num(a, "min_window", c.min_window_s);
	c.ema_alpha = (float)num(a, "smoothing", c.ema_alpha);
	c.hysteresis = (float)num(a, "hysteresis", c.hysteresis);
	c.min_confidence = (float)num(a, "min_confidence", c.min_confidence);
	c.vad.frame_ms = (int)num(v, "frame_ms", c.vad.frame_ms);
	c.vad.threshold_on = (float)num(v, "on", c.vad.threshold_on);
	c.vad.threshold_off = (float)num(v, "off", c.vad.threshold_off);
	c.vad.hangover_ms = (int)num(v, "hangover_ms", c.vad.hangover_ms);
	c.vad.min_speech_ms = (int)num(v, "min_speech_ms", c.vad.min_speech_ms);
	c.vad.min_silence_ms = (int)num(v, "min_silence_ms", c.vad.min_silence_ms);
	c.vad.pad_ms = (int)num(v, "pad_ms", c.vad.pad_ms);
	c.vad.snr_db = (float)num(v, "snr_db", c.vad.snr_db);
	c.vad.min_level_dbfs = (float)num(v, "min_level_dbfs", c.vad.min_level_dbfs);
	c.vad.floor_window_ms = (int)num(v, "floor_window_ms", c.vad.floor_window_ms);
	return c;
}

/* ---- reanalyze ------------------------------------------------------------ */

struct rean {
	struct emo_session_log *log;
	const struct emo_model *m;
	size_t next;      /* index into records of the next window to compare */
	long compared, differ;
	char first_diff[256];
};

static json_t *next_window(struct rean *r)
{
	while (r->next < r->log->n) {
		json_t *rec = r->log->records[r->next++];
		if (!strcmp(str(rec, "type", ""), "window"))
			return rec;
	}
	return NULL;
}

static void rean_result(const struct emo_result *res, void *ud)
{
	struct rean *r = ud;
	json_t *w = next_window(r);
	r->compared++;
	if (!w) {
		if (!r->differ++)
			snprintf(r->first_diff, sizeof r->first_diff,
				 "window %lld at %.2f s is not in the log", (long long)res->index,
				 res->t0);
		return;
	}
	json_t *probs = json_object_get(w, "probs");
	bool same = (float)num(w, "t0", -1) == (float)res->t0 &&
		    (float)num(w, "t1", -1) == (float)res->t1;
	const char *which = same ? NULL : "times";
	for (int i = 0; i < res->num_labels && same; i++) {
		/* 9 significant digits round-trip float32: exact comparison */
		double p = num(probs, emo_model_label(r->m, i), -1);
		if ((float)p != res->probs[i]) {
			same = false;
			which = emo_model_label(r->m, i);
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
	json_t *h = log->header;
	const char *rec = json_string_value(json_object_get(h, "recording"));
	if (!rec) {
		fprintf(stderr, "%s: %s has no recording (the session ran without "
			"--record); nothing to reanalyse\n", prog, session);
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
	json_t *mh = json_object_get(h, "model");
	const char *mdir = model_override ? model_override : str(mh, "dir", NULL);
	if (!mdir) {
		fprintf(stderr, "%s: the header names no model directory; give --model\n", prog);
		return 1;
	}
	struct emo_model *m = NULL;
	int err = emo_model_load(mdir, true, &m);
	if (err) {
		fprintf(stderr, "%s: cannot load model '%s': %s\n", prog, mdir, emo_strerror(err));
		return 1;
	}
	const char *want = str(mh, "sha256", "");
	bool hash_ok = !strcmp(want, emo_model_sha256(m));
	if (!hash_ok)
		fprintf(stderr, "%s: warning: model weights differ from the session's "
			"(sha256 %.12s... logged, %.12s... now); results will differ\n",
			prog, want, emo_model_sha256(m));
	float *x = NULL;
	size_t n = 0;
	err = emo_audio_read(recpath, EMO_SAMPLE_RATE, EMO_RESAMPLE_FAST, &x, &n, NULL);
	if (err) {
		fprintf(stderr, "%s: cannot read the recording %s: %s\n", prog, recpath,
			emo_strerror(err));
		emo_model_destroy(m);
		return 1;
	}
	struct emo_analyzer_config cfg = header_config(h);
	struct rean r = {.log = log, .m = m};
	struct emo_analyzer *a = NULL;
	/* the same OpenBLAS thread count as the session: sums are split by
	 * thread, so another count changes the last bits */
	emo_ops_set_threads((int)num(h, "threads", 1));
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
		fprintf(stderr, "%s: reanalysis failed: %s\n", prog, emo_strerror(err));
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

struct labels {
	int n;
	const char *names[EMO_MAX_LABELS];
};

static struct emo_event make_event(const struct labels *L, json_t *w)
{
	struct emo_event ev = {.type = EMO_EVENT_RESULT};
	struct emo_result *r = &ev.result;
	r->index = (int64_t)num(w, "index", 0);
	r->t0 = num(w, "t0", 0);
	r->t1 = num(w, "t1", 0);
	r->speech_s = num(w, "speech", r->t1 - r->t0);
	r->num_labels = L->n;
	json_t *p = json_object_get(w, "probs"), *s = json_object_get(w, "smoothed");
	const char *lab = str(w, "label", "");
	for (int i = 0; i < L->n; i++) {
		r->probs[i] = (float)num(p, L->names[i], 0);
		r->smoothed[i] = (float)num(s ? s : p, L->names[i], r->probs[i]);
		if (!strcmp(lab, L->names[i]))
			r->label = i;
	}
	r->confidence = (float)num(w, "confidence", r->smoothed[r->label]);
	r->uncertain = json_is_true(json_object_get(w, "uncertain"));
	ev.t0 = r->t0;
	ev.t1 = r->t1;
	return ev;
}

static int replay_tui(const char *path, struct emo_session_log *log, double speed)
{
	json_t *h = log->header;
	struct labels L = {0};
	json_t *la = json_object_get(h, "labels");
	for (size_t i = 0; i < json_array_size(la) && L.n < EMO_MAX_LABELS; i++)
		L.names[L.n++] = json_string_value(json_array_get(la, i));
	if (!L.n) {
		fprintf(stderr, "%s: %s: the header lists no labels\n", prog, path);
		return 1;
	}
	struct emo_analyzer_config cfg = header_config(h);
	json_t *src = json_object_get(h, "source"), *mh = json_object_get(h, "model");
	double total = log->end ? num(log->end, "duration", 0) : 0;
	for (size_t i = 0; i < log->n; i++)
		total = fmax(total, num(log->records[i], "t1", 0));
	const char *b = strrchr(path, '/');
	struct emo_tui_config tc = {
		.num_labels = L.n, .labels = L.names,
		.model_name = str(mh, "name", "?"),
		.source_name = str(src, "name", "?"),
		.source_is_file = true,
		.log_path = b ? b + 1 : path,
		.analysis = &cfg,
	};
	struct emo_tui *t = NULL;
	if (emo_tui_create(&tc, &t)) {
		fprintf(stderr, "%s: cannot start the TUI (use --no-tui)\n", prog);
		return 1;
	}
	double pos = 0, last = now_s();
	bool paused = false;
	size_t next = 0;
	for (;;) {
		double now = now_s();
		if (!paused)
			pos += (now - last) * speed;
		last = now;
		if (pos > total)
			pos = total;
		/* deliver every window whose end the clock has passed */
		while (next < log->n) {
			json_t *r = log->records[next];
			const char *type = str(r, "type", "");
			double at = num(r, !strcmp(type, "window") || !strcmp(type, "speech") ?
					"t1" : "t", 0);
			if (at > pos)
				break;
			if (!strcmp(type, "window")) {
				struct emo_event ev = make_event(&L, r);
				emo_tui_event(t, &ev);
			}
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
	while ((c = getopt_long(argc, argv, "m:h", opts, NULL)) != -1) {
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
		fprintf(stderr, "%s: cannot replay %s: %s\n", prog, path, emo_strerror(err));
		return 1;
	}
	int status = 0;
	if (rean) {
		status = reanalyze(path, &log, model);
	} else if (no_tui) {
		for (size_t i = 0; i < log.n; i++) {
			char *s = json_dumps(log.records[i], JSON_COMPACT | JSON_PRESERVE_ORDER |
							     JSON_REAL_PRECISION(9));
			if (s)
				puts(s);
			free(s);
		}
	} else {
		status = replay_tui(path, &log, speed);
	}
	emo_session_log_free(&log);
	return status;
}

/* ---- report ---------------------------------------------------------------- */

static const char report_help[] =
	"Usage: emotop report SESSION -o OUT.svg|OUT.html\n"
	"Draw a session: probability of each emotion over time (one line per\n"
	"emotion, speech segments shaded), the share of speech time per dominant\n"
	"emotion, and the session's facts. SVG, or an HTML page with the SVG and\n"
	"a table of facts; both open in any browser.\n"
	"  -o, --output FILE  where to write (.svg or .html)\n";

static const char *emo_color(const char *l, int i)
{
	static const struct { const char *n, *c; } map[] = {
		{"neutral", "#8c8c8c"}, {"neu", "#8c8c8c"}, {"calm", "#17becf"},
		{"happy", "#e6b400"}, {"hap", "#e6b400"}, {"sad", "#1f77b4"},
		{"angry", "#d62728"}, {"ang", "#d62728"}, {"fearful", "#9467bd"},
		{"disgust", "#2ca02c"}, {"surprised", "#ff7f0e"},
	};
	for (size_t k = 0; k < sizeof map / sizeof *map; k++)
		if (!strcasecmp(l, map[k].n))
			return map[k].c;
	static const char *const cyc[] = {"#7f7f7f", "#bcbd22", "#8c564b", "#e377c2"};
	return cyc[i % 4];
}

static void xml_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '<') fputs("&lt;", f);
		else if (*s == '>') fputs("&gt;", f);
		else if (*s == '&') fputs("&amp;", f);
		else if (*s == '"') fputs("&quot;", f);
		else fputc(*s, f);
	}
}

/* An SVG line through n points; extra: more attributes (or ""). */
static void polyline(FILE *f, const double *px, const double *py, size_t n,
		     const char *color, const char *extra)
{
	fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"",
		color, extra);
	for (size_t k = 0; k < n; k++)
		fprintf(f, "%.1f,%.1f ", px[k], py[k]);
	fprintf(f, "\"/>\n");
}

/* What the TUI showed for a window record: its smoothed probabilities. */
static json_t *shown_probs(json_t *window)
{
	json_t *p = json_object_get(window, "smoothed");
	return p ? p : json_object_get(window, "probs");
}

static void write_svg(FILE *f, struct emo_session_log *log, const struct labels *L)
{
	json_t *h = log->header, *e = log->end;
	const double W = 1000, H = 780, x0 = 70, x1 = 840, y0 = 90, y1 = 390;
	double total = e ? num(e, "duration", 0) : 0;
	for (size_t i = 0; i < log->n; i++)
		total = fmax(total, num(log->records[i], "t1", 0));
	if (total <= 0)
		total = 1;
#define X(t) (x0 + (t) / total * (x1 - x0))
#define Y(p) (y1 - (p) * (y1 - y0))
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
		   "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"13\">\n",
		W, H, W, H);
	fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
	json_t *src = json_object_get(h, "source"), *mh = json_object_get(h, "model");
	fprintf(f, "<text x=\"%.0f\" y=\"30\" font-size=\"20\" font-weight=\"bold\">emotop session: ", x0);
	const char *sname = str(src, "name", "?"), *slash = strrchr(sname, '/');
	xml_text(f, slash ? slash + 1 : sname);
	fprintf(f, "</text>\n<text x=\"%.0f\" y=\"52\" fill=\"#555\">", x0);
	xml_text(f, str(h, "start", "?"));
	fprintf(f, " \u00b7 %s \u00b7 model ", str(src, "kind", "?"));
	xml_text(f, str(mh, "name", "?"));
	fprintf(f, " (sha256 %.12s\u2026) \u00b7 %.1f s, %zu windows, %.1f s speech%s</text>\n",
		str(mh, "sha256", "?"), total, log->windows,
		e ? num(e, "speech_seconds", 0) : 0, e ? "" : " \u00b7 no end record (cut short)");
	/* speech segments */
	for (size_t i = 0; i < log->n; i++) {
		json_t *r = log->records[i];
		if (strcmp(str(r, "type", ""), "speech"))
			continue;
		double a = num(r, "t0", 0), b = num(r, "t1", 0);
		fprintf(f, "<rect x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" height=\"%.0f\" "
			   "fill=\"#eef3fb\"><title>speech %.2f-%.2f s</title></rect>\n",
			X(a), y0, fmax(X(b) - X(a), 0.5), y1 - y0, a, b);
	}
	/* axes and grid */
	for (int k = 0; k <= 4; k++) {
		double p = k / 4.0;
		fprintf(f, "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
			   "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#555\">%d%%</text>\n",
			x0, x1, Y(p), Y(p), x0 - 6, Y(p) + 4, k * 25);
	}
	double step = total > 120 ? 30 : total > 40 ? 10 : total > 10 ? 2 : 0.5;
	for (double t = 0; t <= total + 1e-9; t += step)
		fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\" fill=\"#555\">%g s</text>\n",
			X(t), y1 + 18, t);
	fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#999\"/>\n",
		x0, y0, x1 - x0, y1 - y0);
	/* one line per emotion through window midpoints (smoothed
	 * probability), and a dot per window so short sessions show too */
	double share[EMO_MAX_LABELS] = {0}, share_total = 0;
	double *px = malloc(sizeof(double) * (log->windows ? log->windows : 1));
	double *py = malloc(sizeof(double) * (log->windows ? log->windows : 1));
	for (int li = 0; li < L->n && px && py; li++) {
		size_t np = 0;
		for (size_t i = 0; i < log->n; i++) {
			json_t *r = log->records[i];
			if (strcmp(str(r, "type", ""), "window"))
				continue;
			json_t *p = shown_probs(r);
			px[np] = X(0.5 * (num(r, "t0", 0) + num(r, "t1", 0)));
			py[np++] = Y(num(p, L->names[li], 0));
		}
		const char *col = emo_color(L->names[li], li);
		polyline(f, px, py, np, col, "");
		for (size_t k = 0; k < np; k++)
			fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
				px[k], py[k], col);
	}
	/* valence and arousal track (affect.h), from the smoothed
	 * probabilities, so version-1 logs get one too */
	const double v0 = 430, v1 = 560;
#define VY(v) (v0 + (1 - (v)) / 2 * (v1 - v0))
	fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-weight=\"bold\">Valence and arousal "
		   "(derived from the probabilities)</text>\n", x0, v0 - 10);
	fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" "
		   "fill=\"none\" stroke=\"#999\"/>\n", x0, v0, x1 - x0, v1 - v0);
	for (int k = -1; k <= 1; k++)
		fprintf(f, "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" "
			   "stroke=\"%s\"/><text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\" "
			   "fill=\"#555\">%+d</text>\n", x0, x1, VY(k), VY(k),
			k ? "#eee" : "#bbb", x0 - 6, VY(k) + 4, k);
	/* one pass: each window's valence and arousal, then a line each */
	double *pa = malloc(sizeof(double) * (log->windows ? log->windows : 1));
	size_t np = 0;
	for (size_t i = 0; i < log->n && px && py && pa; i++) {
		json_t *r = log->records[i];
		if (strcmp(str(r, "type", ""), "window"))
			continue;
		json_t *p = shown_probs(r);
		float pr[EMO_MAX_LABELS];
		for (int li = 0; li < L->n; li++)
			pr[li] = (float)num(p, L->names[li], 0);
		struct emo_affect af;
		emo_affect_from_probs(L->names, pr, L->n, &af);
		if (!af.valid)
			continue;
		px[np] = X(0.5 * (num(r, "t0", 0) + num(r, "t1", 0)));
		py[np] = VY(af.valence);
		pa[np++] = VY(af.arousal);
	}
	for (int track = 0; track < 2 && px && py && pa; track++) {
		const char *col = track ? "#ff7f0e" : "#2ca02c";
		polyline(f, px, track ? pa : py, np, col,
			 track ? " stroke-dasharray=\"6 3\"" : "");
		fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"14\" height=\"4\" "
			   "fill=\"%s\"/><text x=\"%.0f\" y=\"%.0f\">%s</text>\n", x1 + 16,
			v0 + 14 + track * 20, col, x1 + 36, v0 + 20 + track * 20,
			track ? "arousal" : "valence");
	}
	free(pa);
#undef VY
	free(px);
	free(py);
	/* dominant-emotion share: each window counts for its hop of speech */
	double hop = num(json_object_get(h, "analysis"), "hop", 0.5);
	for (size_t i = 0; i < log->n; i++) {
		json_t *r = log->records[i];
		if (strcmp(str(r, "type", ""), "window"))
			continue;
		for (int li = 0; li < L->n; li++)
			if (!strcmp(str(r, "label", ""), L->names[li])) {
				share[li] += hop;
				share_total += hop;
			}
	}
	/* legend */
	for (int li = 0; li < L->n; li++) {
		double y = y0 + 8 + li * 20;
		fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"14\" height=\"14\" fill=\"%s\"/>"
			   "<text x=\"%.0f\" y=\"%.0f\">", x1 + 16, y, emo_color(L->names[li], li),
			x1 + 36, y + 12);
		xml_text(f, L->names[li]);
		fprintf(f, "</text>\n");
	}
	/* share bar */
	double by = 610, bx = x0;
	fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-weight=\"bold\">Share of speech time by "
		   "dominant emotion</text>\n", x0, by - 10);
	for (int li = 0; li < L->n && share_total > 0; li++) {
		double w = share[li] / share_total * (x1 - x0);
		if (w <= 0)
			continue;
		fprintf(f, "<rect x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" height=\"34\" fill=\"%s\">"
			   "<title>%s %.0f%%</title></rect>\n", bx, by, w,
			emo_color(L->names[li], li), L->names[li], 100 * share[li] / share_total);
		if (w > 60) {
			fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" fill=\"white\" font-weight=\"bold\">",
				bx + 6, by + 22);
			xml_text(f, L->names[li]);
			fprintf(f, " %.0f%%</text>\n", 100 * share[li] / share_total);
		}
		bx += w;
	}
	if (share_total <= 0)
		fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" fill=\"#555\">no windows</text>\n", x0, by + 22);
	/* facts */
	double fy = 680;
	json_t *an = json_object_get(h, "analysis");
	fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" fill=\"#333\">window %.2g s, hop %.2g s, "
		   "smoothing %.2g \u00b7 %d Hz, %d ch \u00b7 dropped %lld, skipped %lld "
		   "\u00b7 RTF %.3f \u00b7 latency p50 %.0f / p95 %.0f ms</text>\n",
		x0, fy, num(an, "window", 0), num(an, "hop", 0), num(an, "smoothing", 0),
		(int)num(src, "rate", 0), (int)num(src, "channels", 0),
		e ? (long long)num(e, "dropped_samples", 0) : 0LL,
		e ? (long long)num(e, "skipped_samples", 0) : 0LL, e ? num(e, "rtf", 0) : 0,
		e ? 1000 * num(e, "latency_p50", 0) : 0, e ? 1000 * num(e, "latency_p95", 0) : 0);
	fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" fill=\"#333\">ended: ", x0, fy + 22);
	xml_text(f, e ? str(e, "reason", "?") : "(no end record)");
	fprintf(f, "</text>\n<text x=\"%.0f\" y=\"%.0f\" fill=\"#888\" font-size=\"11\">lines: "
		   "smoothed probability per window (at the window's centre); shaded: speech "
		   "found by the VAD</text>\n</svg>\n", x0, fy + 48);
#undef X
#undef Y
}

int cmd_report(int argc, char **argv)
{
	const char *out = NULL;
	static const struct option opts[] = {
		{"output", required_argument, 0, 'o'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'h': fputs(report_help, stdout); return 0;
		default: return EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || !out)
		return usage_error("report", "%s", "give one session log and -o OUT.svg|OUT.html");
	const char *ext = strrchr(out, '.');
	bool html = ext && (!strcasecmp(ext, ".html") || !strcasecmp(ext, ".htm"));
	if (!html && !(ext && !strcasecmp(ext, ".svg")))
		return usage_error("report", "-o wants a .svg or .html file, not '%s'", out);
	struct emo_session_log log;
	int err = emo_session_log_read(argv[optind], &log);
	if (err) {
		fprintf(stderr, "%s: cannot read %s: %s\n", prog, argv[optind], emo_strerror(err));
		return 1;
	}
	struct labels L = {0};
	json_t *la = json_object_get(log.header, "labels");
	for (size_t i = 0; i < json_array_size(la) && L.n < EMO_MAX_LABELS; i++)
		L.names[L.n++] = json_string_value(json_array_get(la, i));
	FILE *f = fopen(out, "w");
	if (!f) {
		fprintf(stderr, "%s: cannot write %s: %s\n", prog, out, strerror(errno));
		emo_session_log_free(&log);
		return 1;
	}
	if (html) {
		fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
			   "<title>emotop session report</title><style>body{font-family:"
			   "sans-serif;margin:2em}td{padding:2px 12px}</style></head><body>\n");
		write_svg(f, &log, &L);
		fprintf(f, "<h2>Session</h2><table>\n");
		const char *keys[] = {"start", "generator", "resample", "recording"};
		for (size_t k = 0; k < 4; k++) {
			fprintf(f, "<tr><td>%s</td><td>", keys[k]);
			xml_text(f, str(log.header, keys[k], "-"));
			fprintf(f, "</td></tr>\n");
		}
		if (log.end) {
			const char *ek[] = {"reason", "duration", "speech_seconds", "windows",
					    "dropped_samples", "skipped_samples", "rtf"};
			for (size_t k = 0; k < 7; k++) {
				json_t *v = json_object_get(log.end, ek[k]);
				char *s = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(6)) : NULL;
				fprintf(f, "<tr><td>%s</td><td>", ek[k]);
				xml_text(f, s ? s : "-");
				fprintf(f, "</td></tr>\n");
				free(s);
			}
		}
		fprintf(f, "</table></body></html>\n");
	} else {
		fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
		write_svg(f, &log, &L);
	}
	int werr = ferror(f);
	if (fclose(f) || werr) {
		fprintf(stderr, "%s: writing %s failed: %s\n", prog, out, strerror(errno));
		emo_session_log_free(&log);
		return 1;
	}
	emo_session_log_free(&log);
	return 0;
}
