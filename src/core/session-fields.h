/* The session header's "analysis" and "vad" objects: one table each, used
 * by the writer and the reader (session.c, session-reader.c), so a setting
 * is named in one place. Order is the order written. */
#ifndef EMOTOP_SESSION_FIELDS_H
#define EMOTOP_SESSION_FIELDS_H

#include <stddef.h>

#include "emotop/analyzer.h"

enum emo_field_kind { EMO_FIELD_DOUBLE, EMO_FIELD_FLOAT, EMO_FIELD_INT };

struct emo_field {
	const char *key;
	size_t offset; /* into struct emo_analyzer_config */
	enum emo_field_kind kind;
};

#define EMO_AF(key, member, kind) \
	{key, offsetof(struct emo_analyzer_config, member), EMO_FIELD_##kind}

static const struct emo_field emo_analysis_fields[] = {
	EMO_AF("window", window_s, DOUBLE),
	EMO_AF("hop", hop_s, DOUBLE),
	EMO_AF("min_window", min_window_s, DOUBLE),
	EMO_AF("smoothing", ema_alpha, FLOAT),
	EMO_AF("hysteresis", hysteresis, FLOAT),
	EMO_AF("min_confidence", min_confidence, FLOAT),
};

static const struct emo_field emo_vad_fields[] = {
	EMO_AF("frame_ms", vad.frame_ms, INT),
	EMO_AF("on", vad.threshold_on, FLOAT),
	EMO_AF("off", vad.threshold_off, FLOAT),
	EMO_AF("hangover_ms", vad.hangover_ms, INT),
	EMO_AF("min_speech_ms", vad.min_speech_ms, INT),
	EMO_AF("min_silence_ms", vad.min_silence_ms, INT),
	EMO_AF("pad_ms", vad.pad_ms, INT),
	EMO_AF("snr_db", vad.snr_db, FLOAT),
	EMO_AF("min_level_dbfs", vad.min_level_dbfs, FLOAT),
	EMO_AF("floor_window_ms", vad.floor_window_ms, INT),
};

#undef EMO_AF
#endif
