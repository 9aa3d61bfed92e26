/* emotop — the ncurses interface.
 *
 * Runs on the main thread. It consumes stream events (emo_tui_event), reads
 * keys and redraws (emo_tui_update) at most ~30 times a second and only
 * when something changed; emo_tui_timeout_ms() tells the caller's poll()
 * how long it may sleep. Resizes are handled in the UI loop (ncurses'
 * KEY_RESIZE), never in a signal handler. NO_COLOR is honoured. While the
 * TUI runs, library log messages go to its message line. The terminal is
 * restored by emo_tui_destroy(), which every exit path calls.
 *
 * The TUI never drives the stream: live and replay alike, emo_tui_update()
 * returns what the user asked for and the caller acts on it (and reports
 * back with emo_tui_message, emo_tui_set_stats, emo_tui_set_recording).
 * Part of the emotop program, not of libemotop. */
#ifndef EMOTOP_TUI_H
#define EMOTOP_TUI_H

#include <stdbool.h>

#include "emotop/analyzer.h"
#include "emotop/model.h"
#include "emotop/stream.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A stretch of the input with a known (acted) emotion, for demos. */
struct emo_tui_cue {
	double t0, t1;          /* seconds of input */
	char label[32];
};

struct emo_tui_config {
	int num_labels;
	const char *const *labels;
	const char *model_name;
	bool replay;                /* replay keys and status line */
	const char *source_name;
	bool source_is_file;
	const char *log_path, *record_path;
	const char *note;           /* shown under the title, e.g. demo input */
	const struct emo_analyzer_config *analysis;
	const struct emo_tui_cue *cues; /* optional, sorted; outlive the TUI */
	int num_cues;
};

enum emo_tui_action {
	EMO_TUI_NONE, EMO_TUI_QUIT,
	EMO_TUI_PAUSE,                              /* both: toggle */
	EMO_TUI_SEEK_BACK, EMO_TUI_SEEK_FWD,        /* replay: 5 s */
	EMO_TUI_FASTER, EMO_TUI_SLOWER,             /* replay speed */
	EMO_TUI_RECORD,                             /* live: toggle recording */
	EMO_TUI_SMOOTH_MORE, EMO_TUI_SMOOTH_LESS,   /* live smoothing */
};

struct emo_tui;

int emo_tui_create(const struct emo_tui_config *cfg, struct emo_tui **out);
void emo_tui_destroy(struct emo_tui *t);
void emo_tui_event(struct emo_tui *t, const struct emo_event *ev);
/* Reads keys, redraws if due; returns what the user asked for. */
enum emo_tui_action emo_tui_update(struct emo_tui *t);
int emo_tui_timeout_ms(const struct emo_tui *t);
void emo_tui_message(struct emo_tui *t, const char *msg);
/* Live: the stream's statistics and smoothing shown in the status line
 * and meters; the recording shown ("rec PATH"), or NULL for none. */
void emo_tui_set_stats(struct emo_tui *t, const struct emo_stream_stats *s,
		       float smoothing);
void emo_tui_set_recording(struct emo_tui *t, const char *path);
/* Forgets results and the timeline (replay seeking back). */
void emo_tui_reset(struct emo_tui *t);
/* Replay: the clock and state shown in the status line. */
void emo_tui_set_replay(struct emo_tui *t, double pos_s, double total_s,
			double speed, bool paused);

#ifdef __cplusplus
}
#endif
#endif
