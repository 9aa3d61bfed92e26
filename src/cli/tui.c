/* The ncurses TUI: emotion bars, level meter, VAD indicator, timeline,
 * status line, help overlay. See tui.h. Not here: any
 * analysis (it only draws what the stream reports). */
#include <curses.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "emotop/affect.h"
#include "emotop/error.h"
#include "emotop/session.h"
#include "util/util.h"
#include "cli/palette.h"
#include "cli/tui.h"

#define TIMELINE 240 /* windows kept */

struct emo_tui {
	struct emo_tui_config cfg;
	bool color, help, dirty, have_result, ended;
	struct emo_result last;
	int tl_label[TIMELINE];
	bool tl_uncertain[TIMELINE];
	float tl_valence[TIMELINE];
	bool tl_by_valence;   /* 'v': the timeline coloured by valence */
	int tl_n;
	double last_draw;
	float shown_level;
	bool shown_speech;
	char msg[256];
	double msg_time;
	pthread_mutex_t msg_mu;
	char pending_msg[256];
	bool pending;
	bool replay;
	double rp_pos, rp_total, rp_speed;
	bool rp_paused;
	char rec_path[256];    /* shown while the stream says it records */
	struct emo_stream_stats stats; /* live: the caller's latest */
	float smoothing;
	const char *truth;     /* the cue label at the last result, or NULL */
	struct emo_affect last_affect; /* of the last result's smoothed probs */
};

static struct emo_tui *log_target;

static void tui_log(enum emo_log_level level, const char *msg, void *ud)
{
	struct emo_tui *t = ud;
	if (level > EMO_LOG_WARN)
		return;
	/* any thread: hand the text to the UI thread under a mutex */
	pthread_mutex_lock(&t->msg_mu);
	snprintf(t->pending_msg, sizeof t->pending_msg, "%s%s",
		 level == EMO_LOG_ERROR ? "error: " : "", msg);
	t->pending = true;
	pthread_mutex_unlock(&t->msg_mu);
}

/* colour per emotion (palette.h): its own colour on a 256-colour
 * terminal, the nearest basic colour otherwise */
static int label_color(const char *l, int i)
{
	struct emo_color c = emo_palette(l, i);
	return COLORS >= 256 ? emo_palette_xterm256(c.hex) : c.basic;
}

int emo_tui_create(const struct emo_tui_config *cfg, struct emo_tui **out)
{
	*out = NULL;
	struct emo_tui *t = calloc(1, sizeof *t);
	if (!t)
		return -ENOMEM;
	t->cfg = *cfg;
	pthread_mutex_init(&t->msg_mu, NULL);
	setlocale(LC_ALL, "");
	if (!initscr()) {
		free(t);
		return EMO_E_UNSUPPORTED;
	}
	cbreak();
	noecho();
	nodelay(stdscr, TRUE);
	keypad(stdscr, TRUE);
	curs_set(0);
	const char *nc = getenv("NO_COLOR");
	t->color = has_colors() && !(nc && *nc);
	if (t->color) {
		start_color();
		use_default_colors();
		for (int i = 0; i < cfg->num_labels && i < 60; i++)
			init_pair((short)(i + 1), (short)label_color(cfg->labels[i], i), -1);
		init_pair(61, COLOR_GREEN, -1);
		init_pair(62, COLOR_YELLOW, -1);
		init_pair(63, COLOR_RED, -1);
	}
	emo_tui_set_recording(t, cfg->record_path);
	t->shown_level = -120;
	t->stats.level_db = -120;
	t->replay = cfg->replay;
	t->dirty = true;
	log_target = t;
	emo_log_set_handler(tui_log, t);
	*out = t;
	return 0;
}

void emo_tui_destroy(struct emo_tui *t)
{
	if (!t)
		return;
	if (log_target == t) {
		/* back to stderr via the program's handler: the caller
		 * re-installs its own; until then, nothing is printed */
		emo_log_set_handler(NULL, NULL);
		log_target = NULL;
	}
	endwin();
	pthread_mutex_destroy(&t->msg_mu);
	free(t);
}

void emo_tui_set_stats(struct emo_tui *t, const struct emo_stream_stats *s,
		       float smoothing)
{
	t->stats = *s;
	t->smoothing = smoothing;
}

void emo_tui_set_recording(struct emo_tui *t, const char *path)
{
	snprintf(t->rec_path, sizeof t->rec_path, "%s", path ? path : "");
}

void emo_tui_reset(struct emo_tui *t)
{
	t->have_result = false;
	t->tl_n = 0;
	t->dirty = true;
}

void emo_tui_message(struct emo_tui *t, const char *msg)
{
	snprintf(t->msg, sizeof t->msg, "%s", msg);
	t->msg_time = emo_now();
	t->dirty = true;
}

void emo_tui_set_replay(struct emo_tui *t, double pos, double total, double speed,
			bool paused)
{
	t->replay = true;
	if (fabs(pos - t->rp_pos) > 0.05 || paused != t->rp_paused || speed != t->rp_speed)
		t->dirty = true;
	t->rp_pos = pos;
	t->rp_total = total;
	t->rp_speed = speed;
	t->rp_paused = paused;
}

void emo_tui_event(struct emo_tui *t, const struct emo_event *ev)
{
	char buf[160];
	switch (ev->type) {
	case EMO_EVENT_RESULT:
		t->last = ev->result;
		t->have_result = true;
		if (t->tl_n == TIMELINE) {
			memmove(t->tl_label, t->tl_label + 1, sizeof(int) * (TIMELINE - 1));
			memmove(t->tl_uncertain, t->tl_uncertain + 1, sizeof(bool) * (TIMELINE - 1));
			memmove(t->tl_valence, t->tl_valence + 1, sizeof(float) * (TIMELINE - 1));
			t->tl_n--;
		}
		t->last_affect = ev->result.affect_smoothed;
		t->tl_valence[t->tl_n] = t->last_affect.valid ? t->last_affect.valence : 0;
		t->truth = NULL;
		for (int k = 0; k < t->cfg.num_cues; k++) {
			double mid = 0.5 * (ev->result.t0 + ev->result.t1);
			if (mid >= t->cfg.cues[k].t0 && mid < t->cfg.cues[k].t1)
				t->truth = t->cfg.cues[k].label;
		}
		t->tl_label[t->tl_n] = ev->result.label;
		t->tl_uncertain[t->tl_n++] = ev->result.uncertain;
		break;
	case EMO_EVENT_OVERRUN:
		snprintf(buf, sizeof buf, "analysis fell behind: skipped %.2f s of audio",
			 (double)ev->count / EMO_SAMPLE_RATE);
		emo_tui_message(t, buf);
		break;
	case EMO_EVENT_ERROR:
		snprintf(buf, sizeof buf, "input stopped: %s", emo_strerror(ev->error));
		emo_tui_message(t, buf);
		break;
	case EMO_EVENT_END:
		t->ended = true;
		emo_tui_message(t, t->cfg.source_is_file ?
			"end of input: press q to quit" : "input ended: press q to quit");
		break;
	default:
		break;
	}
	t->dirty = true;
}

static void bar(int y, int x, int w, float frac, int pair, bool dim)
{
	int full = (int)lroundf(frac * (float)w);
	if (full > w)
		full = w;
	if (pair)
		attron(COLOR_PAIR(pair));
	if (dim)
		attron(A_DIM);
	for (int i = 0; i < w; i++)
		mvaddstr(y, x + i, i < full ? "\u2588" : "\u00b7");
	if (dim)
		attroff(A_DIM);
	if (pair)
		attroff(COLOR_PAIR(pair));
}

/* A bar for a value in [-1, 1] growing from its centre mark. */
static void signed_bar(int y, int x, int w, float v, int pair, bool dim)
{
	int half = w / 2, n = (int)lroundf(fabsf(v) * (float)half);
	if (n > half)
		n = half;
	if (dim)
		attron(A_DIM);
	for (int i = 0; i < w; i++) {
		int d = i - half;
		bool on = v >= 0 ? d > 0 && d <= n : d < 0 && -d <= n;
		if (on && pair)
			attron(COLOR_PAIR(pair));
		mvaddstr(y, x + i, d == 0 ? "\u2502" : on ? "\u2588" : "\u00b7");
		if (on && pair)
			attroff(COLOR_PAIR(pair));
	}
	if (dim)
		attroff(A_DIM);
}

/* green for pleasant, red for unpleasant, yellow near neutral */
static int valence_pair(float v)
{
	return v > 0.2f ? 61 : v < -0.2f ? 63 : 62;
}

static void draw_help(int H, int W)
{
	static const char *const lines[] = {
		"emotop keys",
		"",
		"  q          quit (the session log gets its end record)",
		"  space      pause / resume analysis",
		"  r          start / stop recording the analysed audio",
		"  + / -      more / less smoothing of the bars",
		"  v          timeline by emotion or by valence",
		"  h or ?     this help (any key closes it)",
		"",
		"Bars: smoothed probability per emotion. The big label is",
		"the smoothed leader, held until another leads by 5 points",
		"('held' says so meanwhile); 'uncertain?' when there is too",
		"little speech or no emotion is clearly ahead. The timeline",
		"has one cell per window, newest on the right. Valence",
		"(unpleasant - pleasant) and arousal (calm - activated) come",
		"from the bars by fixed places of each emotion (man emotop).",
	};
	int n = (int)(sizeof lines / sizeof *lines), w = 64;
	if (w > W - 2)
		w = W - 2;
	int y0 = (H - n - 2) / 2, x0 = (W - w) / 2;
	if (y0 < 0)
		y0 = 0;
	for (int i = 0; i < n + 2 && y0 + i < H; i++) {
		move(y0 + i, x0);
		for (int k = 0; k < w; k++)
			addch(' ' | A_REVERSE);
		if (i >= 1 && i <= n)
			mvaddnstr(y0 + i, x0 + 2, lines[i - 1], w - 4);
	}
	attroff(A_REVERSE);
}

static void draw(struct emo_tui *t, const struct emo_stream_stats *s)
{
	int H, W;
	getmaxyx(stdscr, H, W);
	erase();
	const int C = t->cfg.num_labels;
	const char *const *L = t->cfg.labels;
	if (W < 40 || H < C + 6) {
		/* too small for bars: one line with the essentials */
		const char *lab = t->have_result ? L[t->last.label] : "...";
		mvprintw(0, 0, "emotop %.*s %3.0f%%%s", W > 20 ? W - 20 : 8, lab,
			 t->have_result ? 100 * t->last.confidence : 0.0,
			 t->have_result && t->last.uncertain ? "?" : "");
		if (H > 1)
			mvaddnstr(1, 0, "(enlarge the terminal; q quits)", W);
		refresh();
		return;
	}
	int y = 0;
	attron(A_BOLD);
	mvprintw(y, 0, "emotop");
	attroff(A_BOLD);
	printw("  %s %.*s  model %s", t->cfg.source_is_file ? "file" : "device",
	       W / 3, t->cfg.source_name, t->cfg.model_name);
	const char *state = t->replay ? (t->rp_paused ? "REPLAY PAUSED" : "REPLAY") :
			    t->ended ? "ENDED" : s->paused ? "PAUSED" : "LIVE";
	mvprintw(y, W - (int)strlen(state) - 2, "[%s]", state);
	y++;
	if (t->cfg.note && H >= C + 12)
		mvaddnstr(y++, 0, t->cfg.note, W);
	y++;

	/* dominant emotion, large */
	if (t->have_result) {
		const char *lab = L[t->last.label];
		char big[64];
		int k = 0;
		for (const char *p = lab; *p && k < 40; p++) {
			big[k++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
			big[k++] = ' ';
		}
		big[k] = 0;
		int pair = t->color ? t->last.label + 1 : 0;
		if (t->last.uncertain) {
			attron(A_DIM);
			mvprintw(y, 2, "%s  %3.0f%%   uncertain?", big, 100 * t->last.confidence);
			attroff(A_DIM);
		} else {
			attron(A_BOLD | (pair ? COLOR_PAIR(pair) : 0));
			mvprintw(y, 2, "%s", big);
			attroff(A_BOLD | (pair ? COLOR_PAIR(pair) : 0));
			printw("  %3.0f%%", 100 * t->last.confidence);
		}
		/* the big label is the smoothed one held by hysteresis: say so
		 * while another bar is higher, or it reads as a contradiction */
		int top = 0;
		for (int i = 1; i < t->last.num_labels; i++)
			if (t->last.smoothed[i] > t->last.smoothed[top])
				top = i;
		if (top != t->last.label) {
			char held[96];
			snprintf(held, sizeof held, "  (held: %s leads by %.0f)", L[top],
				 100 * (t->last.smoothed[top] - t->last.confidence));
			int cx = getcurx(stdscr);
			if (cx + (int)strlen(held) < W) {
				attron(A_DIM);
				addstr(held);
				attroff(A_DIM);
			}
		}
	} else {
		attron(A_DIM);
		mvprintw(y, 2, s->speech ? "listening..." : "waiting for speech...");
		attroff(A_DIM);
	}
	/* the demo's truth: what the actor was asked to express here */
	if (t->have_result && t->truth) {
		bool same = !strcasecmp(t->truth, L[t->last.label]);
		int x = W - 30 > 40 ? W - 30 : 40;
		mvprintw(y, x, "acted: %.12s %s", t->truth, same ? "\u2713 right" : "\u2717 wrong");
	}
	y += 2;

	/* one bar per label */
	int lw = 10, bw = W - lw - 12;
	for (int i = 0; i < C; i++, y++) {
		float p = t->have_result ? t->last.smoothed[i] : 0;
		bool top = t->have_result && i == t->last.label;
		if (top)
			attron(A_BOLD);
		mvprintw(y, 1, "%-*.*s", lw, lw, L[i]);
		if (top)
			attroff(A_BOLD);
		bar(y, lw + 2, bw, p, t->color ? i + 1 : 0,
		    t->have_result && t->last.uncertain);
		mvprintw(y, lw + 3 + bw, "%5.1f%%", 100 * p);
	}
	/* valence and arousal of the smoothed probabilities */
	if (y < H - 5) {
		struct emo_affect af = {.vclass = EMO_VALENCE_NONE};
		if (t->have_result)
			af = t->last_affect;
		int vw = (W - 40) / 2 > 9 ? (W - 40) / 2 : 9;
		bool dim = !af.valid || t->last.uncertain;
		mvprintw(y, 1, "valence");
		signed_bar(y, 9, vw, af.valence, t->color ? valence_pair(af.valence) : 0, dim);
		mvprintw(y, 10 + vw, "%+5.2f", af.valid ? (double)af.valence : 0.0);
		mvprintw(y, 17 + vw, "arousal");
		signed_bar(y, 25 + vw, vw, af.arousal, t->color ? 62 : 0, dim);
		mvprintw(y, 26 + 2 * vw, "%+5.2f", af.valid ? (double)af.arousal : 0.0);
		if (af.vclass != EMO_VALENCE_NONE && W > 2 * vw + 46)
			printw("  %s", emo_valence_class_name(af.vclass));
		y++;
	}
	y++;

	/* level meter and VAD */
	if (y < H - 4) {
		float lv = s->level_db < -60 ? -60 : s->level_db;
		int mw = W - 44 > 10 ? W - 44 : 10;
		mvprintw(y, 1, "level");
		int pair = lv > -3 ? 63 : lv > -12 ? 62 : 61;
		bar(y, 8, mw, (lv + 60) / 60, t->color ? pair : 0, false);
		mvprintw(y, 9 + mw, "%6.1f dBFS", s->level_db < -99 ? -99.0 : (double)s->level_db);
		if (s->level_db > -0.1f) {
			attron(A_BOLD | (t->color ? COLOR_PAIR(63) : A_REVERSE));
			printw(" CLIP");
			attroff(A_BOLD | (t->color ? COLOR_PAIR(63) : A_REVERSE));
		}
		mvprintw(y, W - 10, s->speech ? "speech \u25cf" : "silence \u25cb");
		y++;
	}
	/* timeline: one cell per window, newest right */
	if (y < H - 3) {
		mvprintw(y, 1, t->tl_by_valence ? "valence " : "timeline");
		int tw = W - 12, start = t->tl_n > tw ? t->tl_n - tw : 0;
		for (int i = start; i < t->tl_n; i++) {
			float v = t->tl_valence[i];
			int pair = !t->color ? 0 : t->tl_by_valence ? valence_pair(v) :
				   t->tl_label[i] + 1;
			if (pair)
				attron(COLOR_PAIR(pair));
			/* without colour, the label's index (or the valence's
			 * sign) stands in for it */
			char digit[2] = {t->tl_by_valence ? (v > 0.2f ? '+' : v < -0.2f ? '-' : '0') :
					 (char)('0' + t->tl_label[i] % 10), 0};
			const char *cell = t->tl_uncertain[i] ? "\u2591" :
					   t->color ? "\u2588" : digit;
			mvaddstr(y, 11 + i - start, cell);
			if (pair)
				attroff(COLOR_PAIR(pair));
		}
		y++;
	}
	/* status */
	const struct emo_analyzer_config *a = t->cfg.analysis;
	char status[512];
	if (t->replay)
		snprintf(status, sizeof status, "%.1f / %.1f s  speed %.2gx  window %.1f/%.1f s",
			 t->rp_pos, t->rp_total, t->rp_speed, a ? a->window_s : 0,
			 a ? a->hop_s : 0);
	else
		snprintf(status, sizeof status,
			 "win %.1f/%.1f s  RTF %.3f  latency %.0f ms  dropped %llu  skipped %llu  "
			 "%s%s  %s%s  smooth %.2f",
			 a->window_s, a->hop_s, s->rtf, 1000 * s->latency_last,
			 (unsigned long long)s->dropped, (unsigned long long)s->skipped,
			 t->cfg.log_path ? "log " : "no log", t->cfg.log_path ? t->cfg.log_path : "",
			 s->recording ? "rec " : "rec off", s->recording ? t->rec_path : "",
			 (double)t->smoothing);
	attron(A_REVERSE);
	mvhline(H - 3, 0, ' ', W);
	mvaddnstr(H - 3, 1, status, W - 2);
	attroff(A_REVERSE);
	if (t->msg[0])
		mvaddnstr(H - 2, 1, t->msg, W - 2);
	attron(A_DIM);
	mvaddnstr(H - 1, 1, t->replay ?
		  "q quit  space pause  \u2190/\u2192 seek 5 s  +/- speed  h help" :
		  "q quit  space pause  r record  +/- smoothing  v valence  h help", W - 2);
	attroff(A_DIM);
	if (t->help)
		draw_help(H, W);
	refresh();
}

enum emo_tui_action emo_tui_update(struct emo_tui *t)
{
	enum emo_tui_action act = EMO_TUI_NONE;
	pthread_mutex_lock(&t->msg_mu);
	if (t->pending) {
		t->pending = false;
		snprintf(t->msg, sizeof t->msg, "%s", t->pending_msg);
		t->msg_time = emo_now();
		t->dirty = true;
	}
	pthread_mutex_unlock(&t->msg_mu);
	int ch;
	while ((ch = getch()) != ERR) {
		t->dirty = true;
		if (t->help && ch != KEY_RESIZE) {
			t->help = false;
			continue;
		}
		switch (ch) {
		case 'q': case 'Q': act = EMO_TUI_QUIT; break;
		case ' ': act = EMO_TUI_PAUSE; break;
		case 'r': case 'R':
			if (!t->replay)
				act = EMO_TUI_RECORD;
			break;
		case '+': case '=':
			/* live: more smoothing, i.e. less weight on the newest */
			act = t->replay ? EMO_TUI_FASTER : EMO_TUI_SMOOTH_MORE;
			break;
		case '-': case '_':
			act = t->replay ? EMO_TUI_SLOWER : EMO_TUI_SMOOTH_LESS;
			break;
		case KEY_LEFT: act = EMO_TUI_SEEK_BACK; break;
		case KEY_RIGHT: act = EMO_TUI_SEEK_FWD; break;
		case 'h': case 'H': case '?': t->help = true; break;
		case 'v': case 'V':
			t->tl_by_valence = !t->tl_by_valence;
			emo_tui_message(t, t->tl_by_valence ?
				"timeline: valence (green pleasant, red unpleasant)" :
				"timeline: emotion");
			t->dirty = true;
			break;
		case KEY_RESIZE: clearok(stdscr, TRUE); break;
		default: break;
		}
	}
	const struct emo_stream_stats s = t->stats;
	if (fabsf(s.level_db - t->shown_level) > 0.5f || s.speech != t->shown_speech)
		t->dirty = true;
	double now = emo_now();
	if (t->msg[0] && now - t->msg_time > 8) {
		t->msg[0] = 0;
		t->dirty = true;
	}
	/* at most ~30 frames a second, and only when something changed */
	if (t->dirty && now - t->last_draw >= 1.0 / 30) {
		draw(t, &s);
		t->shown_level = s.level_db;
		t->shown_speech = s.speech;
		t->dirty = false;
		t->last_draw = now;
	}
	return act;
}

int emo_tui_timeout_ms(const struct emo_tui *t)
{
	return t->dirty ? 33 : 50;
}
