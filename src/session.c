/* Session logs: JSON Lines writer (and, below, the reader).
 * Records are built with jansson and written one line at a time. Floats
 * are written with 9 significant digits, which round-trips float32 exactly
 * (replay --reanalyze compares bit for bit). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "emotop/affect.h"
#include "emotop/error.h"
#include "emotop/session.h"

struct emo_session_writer {
	FILE *f;
	bool own;
	int err;
};

/* Creates path exclusively as a new log. An existing file is
 * EMO_E_EXISTS, said unless quiet (--log auto tries the next name). */
static int create_log(const char *path, bool quiet, struct emo_session_writer **out)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = errno;
		if (e == EEXIST && !quiet)
			emo_err("%s exists; choose another --log name (emotop never "
				"overwrites a session log)", path);
		else if (e != EEXIST)
			emo_err("%s: cannot create: %s", path, emo_strerror(-e));
		return e == EEXIST ? EMO_E_EXISTS : -e;
	}
	struct emo_session_writer *w = calloc(1, sizeof *w);
	if (!w || !(w->f = fdopen(fd, "w"))) {
		free(w);
		close(fd);
		unlink(path);
		return -ENOMEM;
	}
	w->own = true;
	*out = w;
	return 0;
}

int emo_session_writer_open(const char *path, FILE *f,
			    struct emo_session_writer **out)
{
	*out = NULL;
	if (path)
		return create_log(path, false, out);
	struct emo_session_writer *w = calloc(1, sizeof *w);
	if (!w)
		return -ENOMEM;
	w->f = f;
	*out = w;
	return 0;
}

int emo_session_writer_error(const struct emo_session_writer *w)
{
	return w->err;
}

int emo_session_writer_close(struct emo_session_writer *w)
{
	if (!w)
		return 0;
	int err = w->err;
	if (w->own) {
		if (fflush(w->f) || fsync(fileno(w->f)))
			err = err ? err : -errno;
		if (fclose(w->f))
			err = err ? err : -errno;
	} else {
		fflush(w->f);
	}
	free(w);
	return err;
}

/* Writes one record and steals it. */
static int put(struct emo_session_writer *w, json_t *rec)
{
	if (!rec)
		return -ENOMEM;
	if (w->err) {
		json_decref(rec);
		return w->err;
	}
	char *s = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER |
				  JSON_REAL_PRECISION(9));
	json_decref(rec);
	if (!s)
		return -ENOMEM;
	/* the whole line, then flush: a failure leaves at worst a partial
	 * last line, which readers accept */
	errno = 0;
	if (fputs(s, w->f) == EOF || fputc('\n', w->f) == EOF || fflush(w->f)) {
		w->err = errno ? -errno : -EIO;
		emo_err("session log: write failed: %s; the lines already written "
			"are intact", emo_strerror(w->err));
	}
	free(s);
	return w->err;
}

static json_t *probs_obj(const struct emo_model *m, const float *p, int n)
{
	json_t *o = json_object();
	for (int i = 0; i < n; i++)
		json_object_set_new(o, emo_model_label(m, i), json_real(p[i]));
	return o;
}

/* The current time as ISO 8601 UTC, e.g. 2026-11-23T01:20:33Z. */
static void utc_now(char *buf, size_t n)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void emo_session_unique_name(char *buf, size_t n, const char *ext)
{
	time_t t = time(NULL);
	struct tm tm;
	char stem[64];
	localtime_r(&t, &tm);
	strftime(stem, sizeof stem, "emotop-%Y%m%d-%H%M%S", &tm);
	snprintf(buf, n, "%s%s", stem, ext);
	for (int k = 2; k < 10000 && access(buf, F_OK) == 0; k++)
		snprintf(buf, n, "%s-%d%s", stem, k, ext);
}

int emo_session_writer_open_auto(char *buf, size_t n,
				 struct emo_session_writer **out)
{
	*out = NULL;
	for (int tries = 0; tries < 100; tries++) {
		emo_session_unique_name(buf, n, ".jsonl");
		/* a name taken between the check and the create: the next one */
		int err = create_log(buf, true, out);
		if (err != EMO_E_EXISTS)
			return err;
	}
	emo_err("no free session log name in this directory");
	return EMO_E_EXISTS;
}

int emo_session_write_header(struct emo_session_writer *w,
			     const struct emo_session_info *in)
{
	char when[64];
	utc_now(when, sizeof when);
	const struct emo_analyzer_config *a = in->analysis;
	const struct emo_vad_config *v = &a->vad;
	json_t *labels = json_array();
	for (int i = 0; i < emo_model_num_labels(in->model); i++)
		json_array_append_new(labels, json_string(emo_model_label(in->model, i)));
	json_t *rec = json_pack(
		"{s:s, s:i, s:s, s:s, s:{s:s, s:s, s:i, s:i}, s:i,"
		" s:{s:s, s:s, s:s, s:s}, s:o,"
		" s:{s:f, s:f, s:f, s:f, s:f, s:f},"
		" s:{s:i, s:f, s:f, s:i, s:i, s:i, s:i, s:f, s:f, s:i},"
		" s:s, s:s?, s:i}",
		"type", "session", "version", EMO_SESSION_VERSION, "start", when,
		"generator", "emotop " EMOTOP_VERSION_STRING,
		"source", "kind", in->source_kind, "name", in->source_name,
		"rate", in->source_rate, "channels", in->source_channels,
		"sample_rate", 16000,
		"model", "name", emo_model_name(in->model), "dir", emo_model_dir(in->model),
		"sha256", emo_model_sha256(in->model),
		"head", emo_model_head(in->model) ? emo_head_describe(emo_model_head(in->model)) : "none",
		"labels", labels,
		"analysis", "window", a->window_s, "hop", a->hop_s, "min_window",
		a->min_window_s, "smoothing", (double)a->ema_alpha, "hysteresis",
		(double)a->hysteresis, "min_confidence", (double)a->min_confidence,
		"vad", "frame_ms", v->frame_ms, "on", (double)v->threshold_on, "off",
		(double)v->threshold_off, "hangover_ms", v->hangover_ms, "min_speech_ms",
		v->min_speech_ms, "min_silence_ms", v->min_silence_ms, "pad_ms",
		v->pad_ms, "snr_db", (double)v->snr_db, "min_level_dbfs",
		(double)v->min_level_dbfs, "floor_window_ms", v->floor_window_ms,
		"resample", in->resample, "recording", in->recording,
		/* OpenBLAS partitions work by thread count, which changes the
		 * last bits of sums: reanalysis uses the same count */
		"threads", in->threads);
	return put(w, rec);
}

int emo_session_write_window(struct emo_session_writer *w,
			     const struct emo_model *m, const struct emo_result *r,
			     double latency_s)
{
	json_t *rec = json_pack("{s:s, s:I, s:f, s:f, s:f, s:o, s:o, s:s, s:f, s:b}",
				"type", "window", "index", (json_int_t)r->index,
				"t0", r->t0, "t1", r->t1, "speech", r->speech_s,
				"probs", probs_obj(m, r->probs, r->num_labels),
				"smoothed", probs_obj(m, r->smoothed, r->num_labels),
				"label", emo_model_label(m, r->label),
				"confidence", (double)r->confidence,
				"uncertain", r->uncertain);
	if (rec && latency_s > 0)
		json_object_set_new(rec, "latency", json_real(latency_s));
	struct emo_affect af;
	emo_affect_of_model(m, r->probs, &af);
	if (rec && af.valid) {
		json_object_set_new(rec, "valence", json_real(af.valence));
		json_object_set_new(rec, "arousal", json_real(af.arousal));
	}
	return put(w, rec);
}

int emo_session_write_speech(struct emo_session_writer *w, double t0, double t1)
{
	return put(w, json_pack("{s:s, s:f, s:f}", "type", "speech", "t0", t0, "t1", t1));
}

int emo_session_write_event(struct emo_session_writer *w, double t,
			    const char *kind, const char *detail, int64_t count)
{
	json_t *rec = json_pack("{s:s, s:f, s:s}", "type", "event", "t", t, "event", kind);
	if (rec && detail)
		json_object_set_new(rec, "detail", json_string(detail));
	if (rec && count)
		json_object_set_new(rec, "count", json_integer(count));
	return put(w, rec);
}

int emo_session_write_end(struct emo_session_writer *w, const char *reason,
			  const struct emo_stream_stats *s)
{
	char when[64];
	utc_now(when, sizeof when);
	json_t *rec = json_pack("{s:s, s:s, s:s, s:f, s:f, s:I, s:I, s:I, s:I, s:f, s:f, s:f}",
				"type", "end", "end", when, "reason", reason,
				"duration", s->audio_s, "speech_seconds", s->speech_s,
				"windows", (json_int_t)s->windows,
				"dropped_samples", (json_int_t)s->dropped,
				"skipped_samples", (json_int_t)s->skipped,
				"events_lost", (json_int_t)s->events_lost,
				"rtf", s->rtf, "latency_p50", s->latency_p50,
				"latency_p95", s->latency_p95);
	if (rec && s->nonfinite)
		json_object_set_new(rec, "nonfinite_samples",
				    json_integer((json_int_t)s->nonfinite));
	return put(w, rec);
}

