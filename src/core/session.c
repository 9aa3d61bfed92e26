/* Session logs, the writing half (session-reader.c reads; the format is
 * in include/emotop/session.h). Records are built with jansson and written
 * one line at a time. Floats are written with 9 significant digits, which
 * round-trips float32 exactly (replay --reanalyze compares bit for bit). */
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "emotop/affect.h"
#include "emotop/error.h"
#include "emotop/session.h"
#include "nn/head.h"
#include "core/session-fields.h"
#include "emotop/version.h"

struct emo_session_writer {
	FILE *f;
	bool own;
	int err;
	int (*line)(void *ud, const char *s, size_t n); /* instead of f */
	void *ud;
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
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!path && !f)
		return -EINVAL;
	if (path)
		return create_log(path, false, out);
	struct emo_session_writer *w = calloc(1, sizeof *w);
	if (!w)
		return -ENOMEM;
	w->f = f;
	*out = w;
	return 0;
}

int emo_session_writer_open_lines(int (*line)(void *ud, const char *s, size_t n),
				  void *ud, struct emo_session_writer **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!line)
		return -EINVAL;
	struct emo_session_writer *w = calloc(1, sizeof *w);
	if (!w)
		return -ENOMEM;
	w->line = line;
	w->ud = ud;
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
	} else if (w->f) {
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
	if (w->line) {
		int e = w->line(w->ud, s, strlen(s));
		if (e)
			w->err = e;
		free(s);
		return w->err;
	}
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
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!buf || n < 32)
		return -EINVAL;
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

/* {key: value} for each field of `fields` read from the config */
static json_t *fields_obj(const struct emo_field *fields, size_t n,
			  const struct emo_analyzer_config *a)
{
	json_t *o = json_object();
	for (size_t i = 0; o && i < n; i++) {
		const char *p = (const char *)a + fields[i].offset;
		json_t *v = fields[i].kind == EMO_FIELD_INT ?
				    json_integer(*(const int *)p) :
			    fields[i].kind == EMO_FIELD_FLOAT ?
				    json_real(*(const float *)p) :
				    json_real(*(const double *)p);
		json_object_set_new(o, fields[i].key, v);
	}
	return o;
}

int emo_session_write_header(struct emo_session_writer *w,
			     const struct emo_session_info *in)
{
	if (!w || !in || !in->model)
		return -EINVAL;
	char when[64];
	utc_now(when, sizeof when);
	const struct emo_model *m = in->model;
	json_t *labels = json_array();
	for (int i = 0; i < emo_model_num_labels(m); i++)
		json_array_append_new(labels, json_string(emo_model_label(m, i)));
	const struct emo_head *head = emo_model_head(m);
	json_t *rec = json_pack(
		"{s:s, s:i, s:s, s:s, s:{s:s, s:s, s:i, s:i}, s:i,"
		" s:{s:s, s:s, s:s, s:s}, s:o, s:o, s:o, s:s, s:s?, s:i}",
		"type", "session", "version", EMO_SESSION_VERSION, "start", when,
		"generator", "emotop " EMOTOP_VERSION_STRING,
		"source", "kind", in->source_kind, "name", in->source_name,
		"rate", in->source_rate, "channels", in->source_channels,
		"sample_rate", EMO_SAMPLE_RATE,
		"model", "name", emo_model_name(m), "dir", emo_model_dir(m),
		"sha256", emo_model_sha256(m),
		"head", head ? emo_head_describe(head) : "none",
		"labels", labels,
		"analysis", fields_obj(emo_analysis_fields,
				       sizeof emo_analysis_fields / sizeof *emo_analysis_fields,
				       in->analysis),
		"vad", fields_obj(emo_vad_fields,
				  sizeof emo_vad_fields / sizeof *emo_vad_fields,
				  in->analysis),
		"resample", in->resample, "recording", in->recording,
		/* OpenBLAS partitions work by thread count, which changes the
		 * last bits of sums: reanalysis uses the same count */
		"threads", in->threads);
	/* the arithmetic and what ran it: reanalysis needs the same */
	if (rec) {
		json_object_set_new(rec, "precision", json_string(
			emo_model_precision(m) == EMO_PRECISION_BF16 ? "bf16" : "fp32"));
		json_object_set_new(rec, "engine", json_string(emo_model_engine(m)));
		/* reanalysis reuses features as the session did (approximate
		 * reuse changes results) */
		static const char *const reuse[] = {"exact", "off", "approximate"};
		json_t *an = json_object_get(rec, "analysis");
		if (an && in->analysis->reuse >= 0 && in->analysis->reuse < 3)
			json_object_set_new(an, "feature_reuse",
					    json_string(reuse[in->analysis->reuse]));
	}
	return put(w, rec);
}

int emo_session_write_stream_event(struct emo_session_writer *w,
				   const struct emo_model *m,
				   const struct emo_event *ev)
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

int emo_session_write_window(struct emo_session_writer *w,
			     const struct emo_model *m, const struct emo_result *r,
			     double latency_s)
{
	if (!w || !m || !r || !isfinite(r->t0) || !isfinite(r->t1))
		return -EINVAL;
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
	const struct emo_affect af = r->affect; /* the window's own (analyzer.h) */
	if (rec && af.valid) {
		json_object_set_new(rec, "valence", json_real(af.valence));
		json_object_set_new(rec, "arousal", json_real(af.arousal));
	}
	return put(w, rec);
}

int emo_session_write_speech(struct emo_session_writer *w, double t0, double t1)
{
	if (!w || !isfinite(t0) || !isfinite(t1))
		return -EINVAL;
	return put(w, json_pack("{s:s, s:f, s:f}", "type", "speech", "t0", t0, "t1", t1));
}

int emo_session_write_event(struct emo_session_writer *w, double t,
			    const char *kind, const char *detail, int64_t count)
{
	if (!w || !kind || !isfinite(t))
		return -EINVAL;
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
	if (!w || !reason || !s)
		return -EINVAL;
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

