/* Session logs, the reading half: JSON Lines back into typed records,
 * tolerant of a cut-off last line, strict about everything else (the
 * format: include/emotop/session.h; the writer: session.c). Kept apart
 * from the writer so the fuzzer links only this, error.c and jansson. */
#include <errno.h>
#include <math.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotop/error.h"
#include "emotop/session.h"
#include "util/util.h"
#include "core/session-fields.h"

/* The parsed lines kept behind log->priv: the strings of the typed
 * records point into them, and emo_session_log_print writes them. */
struct lines {
	json_t **rec; /* header first */
	size_t n, cap;
	const char *name; /* for messages, while parsing */
};

static double num(json_t *o, const char *k, double def)
{
	json_t *v = json_object_get(o, k);
	return json_is_number(v) ? json_number_value(v) : def;
}

/* A count from a log as an int64 (clamped; NaN: def). */
static int64_t lnum(json_t *o, const char *k, int64_t def)
{
	double x = num(o, k, (double)def);
	return x != x ? def : x <= -9.2e18 ? INT64_MIN : x >= 9.2e18 ? INT64_MAX : (int64_t)x;
}

/* A count from a log as an int: out-of-range values are clamped (a cast
 * of them is undefined behaviour) and shown as what they are elsewhere. */
static int inum(json_t *o, const char *k, int def)
{
	double x = num(o, k, def);
	return x != x ? def : x <= INT_MIN ? INT_MIN : x >= INT_MAX ? INT_MAX : (int)x;
}

/* settings in `o` over what *a holds (the defaults), each held to its
 * table bounds (the command line's); what: "analysis" or "vad" */
static int read_fields(json_t *o, const struct emo_field *fields, size_t n,
		       struct emo_analyzer_config *a, const char *name, const char *what)
{
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_object_get(o, fields[i].key);
		if (!v)
			continue;
		double x = json_is_number(v) ? json_number_value(v) : NAN;
		if (!emo_field_ok(&fields[i], x)) {
			emo_err("%s: header: %s.%s must be %s %g..%g (the command line's "
				"bounds)", name, what, fields[i].key,
				fields[i].kind == EMO_FIELD_INT ? "a whole number" : "a number",
				fields[i].lo, fields[i].hi);
			return EMO_E_FORMAT;
		}
		char *p = (char *)a + fields[i].offset;
		if (fields[i].kind == EMO_FIELD_INT)
			*(int *)p = (int)x;
		else if (fields[i].kind == EMO_FIELD_FLOAT)
			*(float *)p = (float)x;
		else
			*(double *)p = x;
	}
	return 0;
}

/* Settings reanalysis acts on are held to the bounds the command line
 * has: a log is input like any other (a threads of 100000 overflowed the
 * OpenMP runtime's stack). */
static int decode_header(json_t *h, struct emo_session_header *o, const char *name)
{
	json_t *src = json_object_get(h, "source"), *m = json_object_get(h, "model");
	o->version = inum(h, "version", 0);
	o->start = emo_json_str(h, "start", "");
	o->generator = emo_json_str(h, "generator", "");
	o->source_kind = emo_json_str(src, "kind", "");
	o->source_name = emo_json_str(src, "name", "");
	o->source_rate = inum(src, "rate", 0);
	o->source_channels = inum(src, "channels", 0);
	o->model_name = emo_json_str(m, "name", "");
	o->model_dir = emo_json_str(m, "dir", "");
	o->model_sha256 = emo_json_str(m, "sha256", "");
	o->model_head = emo_json_str(m, "head", "");
	json_t *la = json_object_get(h, "labels");
	for (size_t i = 0; i < json_array_size(la) && o->num_labels < EMO_MAX_LABELS; i++) {
		const char *l = json_string_value(json_array_get(la, i));
		if (l)
			o->labels[o->num_labels++] = l;
	}
	o->analysis = emo_analyzer_config_default();
	int err = read_fields(json_object_get(h, "analysis"), emo_analysis_fields,
			      sizeof emo_analysis_fields / sizeof *emo_analysis_fields,
			      &o->analysis, name, "analysis");
	if (!err)
		err = read_fields(json_object_get(h, "vad"), emo_vad_fields,
				  sizeof emo_vad_fields / sizeof *emo_vad_fields, &o->analysis,
				  name, "vad");
	if (err)
		return err;
	o->resample = emo_json_str(h, "resample", "");
	o->recording = json_string_value(json_object_get(h, "recording"));
	json_t *th = json_object_get(h, "threads");
	if (th && (!json_is_integer(th) || json_integer_value(th) < 1 ||
		   json_integer_value(th) > EMO_MAX_THREADS)) {
		emo_err("%s: header: threads must be an integer 1..%d (the command "
			"line's bounds)", name, EMO_MAX_THREADS);
		return EMO_E_FORMAT;
	}
	o->threads = th ? (int)json_integer_value(th) : 1;
	const char *prec = emo_json_str(h, "precision", "fp32");
	if (strcmp(prec, "fp32") && strcmp(prec, "bf16")) {
		emo_err("%s: header: precision \"%s\" is neither fp32 nor bf16", name, prec);
		return EMO_E_FORMAT;
	}
	o->precision = !strcmp(prec, "bf16") ? EMO_PRECISION_BF16 : EMO_PRECISION_FP32;
	/* not logged before it could be chosen: exact */
	const char *reuse = emo_json_str(json_object_get(h, "analysis"), "feature_reuse",
					 "exact");
	if (!strcmp(reuse, "exact"))
		o->analysis.reuse = EMO_REUSE_EXACT;
	else if (!strcmp(reuse, "off"))
		o->analysis.reuse = EMO_REUSE_OFF;
	else if (!strcmp(reuse, "approximate"))
		o->analysis.reuse = EMO_REUSE_APPROX;
	else {
		emo_err("%s: header: analysis.feature_reuse \"%s\" is not exact, off or "
			"approximate", name, reuse);
		return EMO_E_FORMAT;
	}
	o->engine = emo_json_str(h, "engine", "");
	return 0;
}

static void decode_window(json_t *w, const struct emo_session_header *h,
			  struct emo_session_record *r)
{
	struct emo_result *res = &r->result;
	res->index = lnum(w, "index", 0);
	res->t0 = r->t0 = num(w, "t0", 0);
	res->t1 = r->t1 = num(w, "t1", 0);
	res->speech_s = num(w, "speech", res->t1 - res->t0);
	res->num_labels = h->num_labels;
	json_t *p = json_object_get(w, "probs"), *sm = json_object_get(w, "smoothed");
	const char *lab = emo_json_str(w, "label", "");
	for (int i = 0; i < h->num_labels; i++) {
		res->probs[i] = (float)num(p, h->labels[i], 0);
		res->smoothed[i] = (float)num(sm ? sm : p, h->labels[i], res->probs[i]);
		if (!strcmp(lab, h->labels[i]))
			res->label = i;
	}
	res->confidence = (float)num(w, "confidence", res->smoothed[res->label]);
	res->uncertain = json_is_true(json_object_get(w, "uncertain"));
	r->latency_s = num(w, "latency", 0);
	r->has_affect = json_is_number(json_object_get(w, "valence")) &&
			json_is_number(json_object_get(w, "arousal"));
	r->valence = (float)num(w, "valence", 0);
	r->arousal = (float)num(w, "arousal", 0);
	/* the result's affect, as the analyzer carries it: the logged
	 * valence and arousal (a version-1 log has none: derived here, the one
	 * place a log's records get them), and the smoothed one, which logs
	 * do not hold, from the logged smoothed probabilities */
	emo_affect_from_probs(h->labels, res->probs, h->num_labels, &res->affect);
	if (r->has_affect && res->affect.valid) {
		res->affect.valence = r->valence;
		res->affect.arousal = r->arousal;
	}
	emo_affect_from_probs(h->labels, res->smoothed, h->num_labels, &res->affect_smoothed);
}

static void decode_end(json_t *e, struct emo_session_end *o)
{
	o->end = emo_json_str(e, "end", "");
	o->reason = emo_json_str(e, "reason", "");
	o->duration = num(e, "duration", 0);
	o->speech_s = num(e, "speech_seconds", 0);
	o->rtf = num(e, "rtf", 0);
	o->latency_p50 = num(e, "latency_p50", 0);
	o->latency_p95 = num(e, "latency_p95", 0);
	o->windows = lnum(e, "windows", 0);
	o->dropped = lnum(e, "dropped_samples", 0);
	o->skipped = lnum(e, "skipped_samples", 0);
	o->events_lost = lnum(e, "events_lost", 0);
	o->nonfinite = lnum(e, "nonfinite_samples", 0);
}

/* typed records from the kept lines (after the header) */
static int decode(struct emo_session_log *log)
{
	struct lines *L = log->priv;
	int err = decode_header(L->rec[0], &log->header, L->name);
	if (err)
		return err;
	log->n = L->n - 1;
	log->records = calloc(log->n ? log->n : 1, sizeof *log->records);
	if (!log->records)
		return -ENOMEM;
	for (size_t i = 0; i < log->n; i++) {
		json_t *j = L->rec[i + 1];
		struct emo_session_record *r = &log->records[i];
		const char *type = emo_json_str(j, "type", "");
		if (!strcmp(type, "window")) {
			r->type = EMO_RECORD_WINDOW;
			decode_window(j, &log->header, r);
		} else if (!strcmp(type, "speech")) {
			r->type = EMO_RECORD_SPEECH;
			r->t0 = num(j, "t0", 0);
			r->t1 = num(j, "t1", 0);
		} else if (!strcmp(type, "event")) {
			r->type = EMO_RECORD_EVENT;
			r->t0 = r->t1 = num(j, "t", 0);
			r->event = emo_json_str(j, "event", "");
			r->detail = emo_json_str(j, "detail", "");
			r->count = lnum(j, "count", 0);
		} else { /* end: the parser lets nothing else through */
			r->type = EMO_RECORD_END;
			decode_end(j, &r->end);
			r->t0 = r->t1 = r->end.duration;
			log->end = &r->end;
		}
	}
	return 0;
}

int emo_session_log_print(const struct emo_session_log *log, FILE *f)
{
	const struct lines *L = log->priv;
	for (size_t i = 0; L && i < L->n; i++) {
		char *s = json_dumps(L->rec[i], JSON_COMPACT | JSON_PRESERVE_ORDER |
						JSON_REAL_PRECISION(9));
		if (!s)
			return -ENOMEM;
		fputs(s, f);
		fputc('\n', f);
		free(s);
	}
	return ferror(f) ? -EIO : 0;
}

bool emo_session_record_event(const struct emo_session_record *r,
			      struct emo_event *ev)
{
	memset(ev, 0, sizeof *ev);
	ev->t0 = r->t0;
	ev->t1 = r->t1;
	switch (r->type) {
	case EMO_RECORD_WINDOW:
		ev->type = EMO_EVENT_RESULT;
		ev->result = r->result;
		ev->latency_s = r->latency_s;
		return true;
	case EMO_RECORD_SPEECH:
		ev->type = EMO_EVENT_SPEECH;
		return true;
	case EMO_RECORD_EVENT:
		ev->count = (uint64_t)r->count;
		if (!strcmp(r->event, "overrun"))
			ev->type = EMO_EVENT_OVERRUN;
		else if (!strcmp(r->event, "pause") || !strcmp(r->event, "resume")) {
			ev->type = EMO_EVENT_PAUSE;
			ev->count = !strcmp(r->event, "pause");
		} else if (!strcmp(r->event, "device_error")) {
			ev->type = EMO_EVENT_ERROR;
			ev->error = EMO_E_DEVICE;
		} else if (!strcmp(r->event, "recording_error")) {
			ev->type = EMO_EVENT_RECORD_ERROR;
			ev->error = -EIO;
		} else
			return false;
		return true;
	case EMO_RECORD_END:
		return false;
	}
	return false;
}

void emo_session_log_free(struct emo_session_log *log)
{
	if (!log)
		return;
	struct lines *L = log->priv;
	if (L) {
		for (size_t i = 0; i < L->n; i++)
			json_decref(L->rec[i]);
		free(L->rec);
		free(L);
	}
	free(log->records);
	memset(log, 0, sizeof *log);
}

static bool is_num(json_t *o, const char *k)
{
	return json_is_number(json_object_get(o, k));
}

/* A window's or speech segment's times: 0 <= t0 <= t1 <= the bound. */
static int check_times(json_t *rec, const char *name, size_t line, double *last_t1,
		       size_t *last_line)
{
	double t0 = json_number_value(json_object_get(rec, "t0"));
	double t1 = json_number_value(json_object_get(rec, "t1"));
	if (!(t0 >= 0) || !(t1 <= EMO_SESSION_MAX_SECONDS)) {
		emo_err("%s:%zu: times %g..%g s are outside 0..%g s", name, line, t0, t1,
			EMO_SESSION_MAX_SECONDS);
		return EMO_E_FORMAT;
	}
	if (t1 < t0) {
		emo_err("%s:%zu: the record ends (t1 = %g s) before it starts (t0 = %g s)",
			name, line, t1, t0);
		return EMO_E_FORMAT;
	}
	if (t1 > *last_t1) {
		*last_t1 = t1;
		*last_line = line;
	}
	return 0;
}

int emo_session_log_parse(const char *buf, size_t len, const char *name,
			  struct emo_session_log *log)
{
	if (!log)
		return -EINVAL;
	memset(log, 0, sizeof *log);
	if (!buf && len)
		return -EINVAL;
	if (!name)
		name = "(session log)";
	struct lines *L = calloc(1, sizeof *L);
	if (!L)
		return -ENOMEM;
	log->priv = L;
	size_t line = 0, pos = 0, nrec = 0;
	size_t last_line = 0;      /* of the record that ends latest */
	double last_t1 = 0, duration = -1;
	int err = 0;
	while (pos < len) {
		line++;
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - buf) : len;
		size_t l = end - pos;
		const char *s = buf + pos;
		pos = nl ? end + 1 : len;
		if (l == 0 || (l == 1 && s[0] == '\r'))
			continue;
		if (l > EMO_SESSION_MAX_LINE) {
			emo_err("%s:%zu: the line is %zu bytes long, more than a session "
				"log's lines can be (%d); not a session log emotop wrote",
				name, line, l, EMO_SESSION_MAX_LINE);
			err = EMO_E_FORMAT;
			break;
		}
		json_error_t je;
		json_t *rec = json_loadb(s, l, JSON_REJECT_DUPLICATES, &je);
		if (!rec || !json_is_object(rec)) {
			json_decref(rec);
			if (!nl) {
				/* the last line, cut off by a crash: keep the rest */
				log->truncated = true;
				emo_warn("%s:%zu: the last line is incomplete (the session "
					 "was cut short); ignoring it", name, line);
				break;
			}
			emo_err("%s:%zu: not a JSON object%s%s", name, line,
				rec ? "" : ": ", rec ? "" : je.text);
			err = EMO_E_FORMAT;
			break;
		}
		const char *type = json_string_value(json_object_get(rec, "type"));
		if (!type) {
			emo_err("%s:%zu: record has no \"type\"", name, line);
			json_decref(rec);
			err = EMO_E_FORMAT;
			break;
		}
		if (nrec == 0) {
			json_t *v = json_object_get(rec, "version");
			if (strcmp(type, "session")) {
				emo_err("%s:%zu: the first record must be the session header, "
					"not \"%s\"", name, line, type);
				json_decref(rec);
				err = EMO_E_FORMAT;
				break;
			}
			if (!json_is_integer(v) || json_integer_value(v) < 1) {
				emo_err("%s:%zu: header has no valid version", name, line);
				json_decref(rec);
				err = EMO_E_FORMAT;
				break;
			}
			if (json_integer_value(v) > EMO_SESSION_VERSION)
				emo_warn("%s: version %lld is newer than this emotop (%d); "
					 "reading what it knows", name,
					 (long long)json_integer_value(v), EMO_SESSION_VERSION);
		} else if (!strcmp(type, "window")) {
			if (!is_num(rec, "t0") || !is_num(rec, "t1") ||
			    !json_is_object(json_object_get(rec, "probs")) ||
			    !json_is_string(json_object_get(rec, "label"))) {
				emo_err("%s:%zu: window record needs t0, t1, probs and label",
					name, line);
				json_decref(rec);
				err = EMO_E_FORMAT;
				break;
			}
			log->windows++;
		} else if (!strcmp(type, "speech")) {
			if (!is_num(rec, "t0") || !is_num(rec, "t1")) {
				emo_err("%s:%zu: speech record needs t0 and t1", name, line);
				json_decref(rec);
				err = EMO_E_FORMAT;
				break;
			}
			log->speech++;
		} else if (!strcmp(type, "event")) {
			log->events++;
		} else if (!strcmp(type, "end")) {
			/* counted below */
			json_t *d = json_object_get(rec, "duration");
			if (json_is_number(d))
				duration = json_number_value(d);
		} else if (!strcmp(type, "session")) {
			emo_err("%s:%zu: a second session header", name, line);
			json_decref(rec);
			err = EMO_E_FORMAT;
			break;
		} else {
			emo_warn("%s:%zu: unknown record type \"%s\" skipped", name, line,
				 type);
			log->unknown++;
			json_decref(rec);
			continue;
		}
		/* windows and speech segments: their times, whatever else */
		if ((!strcmp(type, "window") || !strcmp(type, "speech")) &&
		    (err = check_times(rec, name, line, &last_t1, &last_line))) {
			json_decref(rec);
			break;
		}
		if (L->n == L->cap) {
			L->cap = L->cap ? L->cap * 2 : 256;
			json_t **p = realloc(L->rec, L->cap * sizeof *p);
			if (!p) {
				json_decref(rec);
				err = -ENOMEM;
				break;
			}
			L->rec = p;
		}
		L->rec[L->n++] = rec;
		nrec++;
	}
	if (!err && nrec == 0) {
		emo_err("%s: empty: no session header", name);
		err = EMO_E_FORMAT;
	}
	/* a window ends at most a hop's rounding after the audio does */
	if (!err && duration >= 0 && last_t1 > duration + 1.0) {
		emo_err("%s:%zu: the record ends at %.3f s, after the session's end "
			"(%.3f s)", name, last_line, last_t1, duration);
		err = EMO_E_FORMAT;
	}
	L->name = name;
	if (!err)
		err = decode(log);
	L->name = NULL;
	if (err) {
		emo_session_log_free(log);
		return err;
	}
	return 0;
}

int emo_session_log_read(const char *path, struct emo_session_log *log)
{
	if (!log)
		return -EINVAL;
	memset(log, 0, sizeof *log);
	if (!path)
		return -EINVAL;
	FILE *f = fopen(path, "rb");
	if (!f) {
		int e = -errno;
		emo_err("%s: cannot open: %s", path, emo_strerror(e));
		return e;
	}
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	char tmp[65536];
	/* the line bound is applied while reading: a 1 GB line costs one
	 * MiB, not a gigabyte, before it is refused */
	size_t line = 1, cur = 0;
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) {
		for (size_t i = 0; i < n; i++) {
			if (tmp[i] == '\n') {
				line++;
				cur = 0;
			} else if (++cur > EMO_SESSION_MAX_LINE) {
				emo_err("%s:%zu: the line is more than %d bytes long, longer "
					"than a session log's lines can be; not a session log "
					"emotop wrote", path, line, EMO_SESSION_MAX_LINE);
				free(buf);
				fclose(f);
				return EMO_E_FORMAT;
			}
		}
		if (len + n > cap) {
			cap = (len + n) * 2;
			char *p = realloc(buf, cap);
			if (!p) {
				free(buf);
				fclose(f);
				return -ENOMEM;
			}
			buf = p;
		}
		memcpy(buf + len, tmp, n);
		len += n;
	}
	int rerr = ferror(f) ? -EIO : 0;
	fclose(f);
	int err = rerr ? rerr : emo_session_log_parse(buf ? buf : "", len, path, log);
	free(buf);
	return err;
}
