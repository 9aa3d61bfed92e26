/* Session-log reader: JSON Lines back into records, tolerant of a cut-off
 * last line, strict about everything else (see include/emotop/session.h).
 * Kept apart from the writer so the fuzzer links only this and jansson. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotop/error.h"
#include "emotop/session.h"

/* ---- reader ---------------------------------------------------------------- */

void emo_session_log_free(struct emo_session_log *log)
{
	if (!log)
		return;
	for (size_t i = 0; i < log->n; i++)
		json_decref(log->records[i]);
	free(log->records);
	memset(log, 0, sizeof *log);
}

static bool is_num(json_t *o, const char *k)
{
	return json_is_number(json_object_get(o, k));
}

int emo_session_log_parse(const char *buf, size_t len, const char *name,
			  struct emo_session_log *log)
{
	memset(log, 0, sizeof *log);
	size_t cap = 0, line = 0, pos = 0;
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
		if (log->n == 0) {
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
		if (log->n == cap) {
			cap = cap ? cap * 2 : 256;
			void **p = realloc(log->records, cap * sizeof *p);
			if (!p) {
				json_decref(rec);
				err = -ENOMEM;
				break;
			}
			log->records = p;
		}
		log->records[log->n++] = rec;
		if (!strcmp(type, "end"))
			log->end = rec;
	}
	if (!err && log->n == 0) {
		emo_err("%s: empty: no session header", name);
		err = EMO_E_FORMAT;
	}
	if (err) {
		emo_session_log_free(log);
		return err;
	}
	log->header = log->records[0];
	return 0;
}

int emo_session_log_read(const char *path, struct emo_session_log *log)
{
	memset(log, 0, sizeof *log);
	FILE *f = fopen(path, "rb");
	if (!f) {
		int e = -errno;
		emo_err("%s: cannot open: %s", path, emo_strerror(e));
		return e;
	}
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	char tmp[65536];
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) {
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
