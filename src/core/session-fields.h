/* The session header's "analysis" and "vad" objects: one table each, used
 * by the writer and the reader (session.c, session-reader.c) and by the
 * command line's options (cli.c), so a setting is named and bounded in one
 * place: a value read from a log is held to exactly the bounds an option
 * is (an INT setting must also be a whole number). Order is the order
 * written. */
#ifndef EMOTOP_SESSION_FIELDS_H
#define EMOTOP_SESSION_FIELDS_H

#include <stddef.h>

#include "emotop/analyzer.h"

enum emo_field_kind { EMO_FIELD_DOUBLE, EMO_FIELD_FLOAT, EMO_FIELD_INT };

struct emo_field {
	const char *key;
	size_t offset; /* into struct emo_analyzer_config */
	enum emo_field_kind kind;
	double lo, hi; /* the accepted range, inclusive */
};

#define EMO_AF(key, member, kind, lo, hi) \
	{key, offsetof(struct emo_analyzer_config, member), EMO_FIELD_##kind, lo, hi}

static const struct emo_field emo_analysis_fields[] = {
	EMO_AF("window", window_s, DOUBLE, 0.1, 60),
	EMO_AF("hop", hop_s, DOUBLE, 0.01, 60),
	EMO_AF("min_window", min_window_s, DOUBLE, 0.01, 60),
	EMO_AF("smoothing", ema_alpha, FLOAT, 0.01, 1),
	EMO_AF("hysteresis", hysteresis, FLOAT, 0, 1),
	EMO_AF("min_confidence", min_confidence, FLOAT, 0, 1),
};

static const struct emo_field emo_vad_fields[] = {
	EMO_AF("frame_ms", vad.frame_ms, INT, 10, 30),
	EMO_AF("on", vad.threshold_on, FLOAT, 0.01, 1),
	EMO_AF("off", vad.threshold_off, FLOAT, 0, 1),
	EMO_AF("hangover_ms", vad.hangover_ms, INT, 0, 10000),
	EMO_AF("min_speech_ms", vad.min_speech_ms, INT, 0, 10000),
	EMO_AF("min_silence_ms", vad.min_silence_ms, INT, 0, 10000),
	EMO_AF("pad_ms", vad.pad_ms, INT, 0, 10000),
	EMO_AF("snr_db", vad.snr_db, FLOAT, -20, 60),
	EMO_AF("min_level_dbfs", vad.min_level_dbfs, FLOAT, -140, 0),
	EMO_AF("floor_window_ms", vad.floor_window_ms, INT, 100, 60000),
};

#undef EMO_AF

/* The entry of `key` in the table, or NULL. */
static inline const struct emo_field *emo_field_find(const struct emo_field *t, size_t n,
						     const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!__builtin_strcmp(t[i].key, key))
			return &t[i];
	return NULL;
}

/* Whether x is a value of field f: finite, in range, whole for INT. */
static inline int emo_field_ok(const struct emo_field *f, double x)
{
	return x == x && x >= f->lo && x <= f->hi &&
	       (f->kind != EMO_FIELD_INT || x == (double)(long long)x);
}
#endif
