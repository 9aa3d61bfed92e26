/* Session-log reader: a good log, a truncated last line (accepted), a
 * malformed line in the middle (error naming the line), unknown record
 * types (skipped with a warning), a missing header, a newer version. And
 * the writer refuses to overwrite and reports a full disk (/dev/full)
 * while keeping what it wrote. */
#include <errno.h>
#include <unistd.h>

#include <jansson.h>

#include "emotop/model.h"
#include "emotop/session.h"
#include "testlib.h"

static const char good[] =
	"{\"type\":\"session\",\"version\":1,\"labels\":[\"a\",\"b\"]}\n"
	"{\"type\":\"speech\",\"t0\":0.5,\"t1\":2.0}\n"
	"{\"type\":\"window\",\"t0\":0.5,\"t1\":2.0,\"probs\":{\"a\":0.25,\"b\":0.75},\"label\":\"b\"}\n"
	"{\"type\":\"event\",\"t\":2.5,\"event\":\"pause\"}\n"
	"{\"type\":\"end\",\"reason\":\"end of input\",\"duration\":3.0}\n";

static double num(json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

/* Every record type written by the writer, read back field by field. */
static void round_trip(void)
{
	char mp[4096], path[] = "/tmp/emotop-rt-XXXXXX";
	t_path(mp, sizeof mp, "tests/fixtures/model-tiny-bilstm");
	struct emo_model *m = NULL;
	CHECK_EQ_INT(emo_model_load(mp, true, &m), 0);
	if (!m)
		return;
	int fd = mkstemp(path);
	close(fd);
	unlink(path);
	struct emo_session_writer *w = NULL;
	CHECK_EQ_INT(emo_session_writer_open(path, NULL, &w), 0);
	struct emo_analyzer_config ac = emo_analyzer_config_default();
	ac.window_s = 1.5;
	struct emo_session_info info = {
		.source_kind = "file", .source_name = "in \"q\".wav", .source_rate = 48000,
		.source_channels = 2, .model = m, .analysis = &ac, .resample = "best",
		.recording = "rec.flac", .threads = 3,
	};
	CHECK_EQ_INT(emo_session_write_header(w, &info), 0);
	struct emo_result r = {.index = 7, .t0 = 1.25, .t1 = 3.5, .speech_s = 1.5,
			       .num_labels = emo_model_num_labels(m), .label = 2,
			       .confidence = 0.4f, .uncertain = true};
	for (int i = 0; i < r.num_labels; i++) {
		r.probs[i] = 0.1f + 0.01f * (float)i;
		r.smoothed[i] = 1.0f / 3.0f + (float)i * 1e-7f;
	}
	CHECK_EQ_INT(emo_session_write_window(w, m, &r, 0.0123), 0);
	CHECK_EQ_INT(emo_session_write_speech(w, 0.75, 3.5), 0);
	CHECK_EQ_INT(emo_session_write_event(w, 4.0, "recording_error", "disk full", 0), 0);
	CHECK_EQ_INT(emo_session_write_event(w, 4.5, "overrun", NULL, 1234), 0);
	struct emo_stream_stats ss = {.audio_s = 9.5, .speech_s = 3.25, .windows = 1,
				      .dropped = 2, .skipped = 1234, .events_lost = 0,
				      .rtf = 0.05, .latency_p50 = 0.01, .latency_p95 = 0.02,
				      .nonfinite = 5};
	CHECK_EQ_INT(emo_session_write_end(w, "end of input", &ss), 0);
	CHECK_EQ_INT(emo_session_writer_close(w), 0);

	struct emo_session_log log;
	CHECK_EQ_INT(emo_session_log_read(path, &log), 0);
	CHECK_EQ_INT(log.n, 6);
	CHECK_EQ_INT(log.windows, 1);
	CHECK_EQ_INT(log.speech, 1);
	CHECK_EQ_INT(log.events, 2);
	CHECK(!log.truncated && log.header && log.end);
	if (log.n == 6 && log.header && log.end) {
		json_t *h = log.header;
		CHECK_EQ_INT(json_integer_value(json_object_get(h, "version")),
			     EMO_SESSION_VERSION);
		json_t *src = json_object_get(h, "source");
		CHECK(!strcmp(str(src, "name"), "in \"q\".wav"));
		CHECK(!strcmp(str(src, "kind"), "file"));
		CHECK_EQ_INT(json_integer_value(json_object_get(src, "rate")), 48000);
		json_t *an = json_object_get(h, "analysis");
		CHECK(num(an, "window") == 1.5 && num(an, "hop") == 0.5);
		CHECK(!strcmp(str(h, "recording"), "rec.flac"));
		CHECK_EQ_INT(json_integer_value(json_object_get(h, "threads")), 3);
		json_t *labels = json_object_get(h, "labels");
		CHECK_EQ_INT(json_array_size(labels), r.num_labels);
		json_t *win = log.records[1];
		CHECK(!strcmp(str(win, "type"), "window"));
		CHECK_EQ_INT(json_integer_value(json_object_get(win, "index")), 7);
		CHECK(num(win, "t0") == 1.25 && num(win, "t1") == 3.5 && num(win, "speech") == 1.5);
		CHECK(fabs(num(win, "latency") - 0.0123) < 1e-12);
		CHECK(json_is_true(json_object_get(win, "uncertain")));
		CHECK(!strcmp(str(win, "label"), emo_model_label(m, 2)));
		/* probabilities round-trip float32 exactly (9 digits) */
		for (int i = 0; i < r.num_labels; i++) {
			const char *l = emo_model_label(m, i);
			CHECK((float)num(json_object_get(win, "probs"), l) == r.probs[i]);
			CHECK((float)num(json_object_get(win, "smoothed"), l) == r.smoothed[i]);
		}
		json_t *sp = log.records[2];
		CHECK(!strcmp(str(sp, "type"), "speech") && num(sp, "t0") == 0.75);
		json_t *e1 = log.records[3], *e2 = log.records[4];
		CHECK(!strcmp(str(e1, "event"), "recording_error") &&
		      !strcmp(str(e1, "detail"), "disk full") && num(e1, "t") == 4.0);
		CHECK(!json_object_get(e1, "count"));
		CHECK(!strcmp(str(e2, "event"), "overrun") &&
		      json_integer_value(json_object_get(e2, "count")) == 1234 &&
		      !json_object_get(e2, "detail"));
		json_t *end = log.end;
		CHECK(!strcmp(str(end, "reason"), "end of input"));
		CHECK(num(end, "duration") == 9.5 && num(end, "speech_seconds") == 3.25);
		CHECK_EQ_INT(json_integer_value(json_object_get(end, "skipped_samples")), 1234);
		CHECK_EQ_INT(json_integer_value(json_object_get(end, "dropped_samples")), 2);
		CHECK_EQ_INT(json_integer_value(json_object_get(end, "nonfinite_samples")), 5);
		CHECK(num(end, "latency_p95") == 0.02);
	}
	emo_session_log_free(&log);
	unlink(path);
	emo_model_destroy(m);
}

static int parse(const char *s, struct emo_session_log *log)
{
	t_last_log[0] = 0;
	return emo_session_log_parse(s, strlen(s), "test.jsonl", log);
}

int main(void)
{
	t_init();
	struct emo_session_log log;
	CHECK_EQ_INT(parse(good, &log), 0);
	CHECK_EQ_INT(log.n, 5);
	CHECK_EQ_INT(log.windows, 1);
	CHECK_EQ_INT(log.speech, 1);
	CHECK(log.end != NULL && !log.truncated);
	emo_session_log_free(&log);

	/* a crash mid-line: the partial last line is dropped, no error */
	char cut[sizeof good];
	memcpy(cut, good, sizeof good);
	cut[strlen(good) - 20] = 0;
	CHECK_EQ_INT(parse(cut, &log), 0);
	CHECK(log.truncated && log.end == NULL && log.windows == 1);
	emo_session_log_free(&log);

	/* malformed in the middle: error with the line number */
	char bad[1024];
	snprintf(bad, sizeof bad, "%s", good);
	char *p = strstr(bad, "{\"type\":\"window\"");
	p[1] = 'X';
	CHECK_EQ_INT(parse(bad, &log), EMO_E_FORMAT);
	CHECK_CONTAINS(t_last_log, "test.jsonl:3:");
	fprintf(stderr, "  malformed line -> \"%s\"\n", t_last_log);

	/* a window record without probs */
	CHECK_EQ_INT(parse("{\"type\":\"session\",\"version\":1}\n"
			   "{\"type\":\"window\",\"t0\":1,\"t1\":2,\"label\":\"a\"}\n", &log),
		     EMO_E_FORMAT);
	CHECK_CONTAINS(t_last_log, "test.jsonl:2: window record needs");

	/* unknown record types (a newer emotop) are skipped */
	CHECK_EQ_INT(parse("{\"type\":\"session\",\"version\":2}\n"
			   "{\"type\":\"heartbeat\",\"t\":1}\n"
			   "{\"type\":\"speech\",\"t0\":1,\"t1\":2}\n", &log), 0);
	CHECK_EQ_INT(log.unknown, 1);
	CHECK_EQ_INT(log.n, 2);
	emo_session_log_free(&log);

	/* no header */
	CHECK_EQ_INT(parse("{\"type\":\"speech\",\"t0\":1,\"t1\":2}\n", &log), EMO_E_FORMAT);
	CHECK_CONTAINS(t_last_log, "session header");
	CHECK_EQ_INT(parse("", &log), EMO_E_FORMAT);
	CHECK_EQ_INT(parse("not json\n{}\n", &log), EMO_E_FORMAT);
	CHECK_CONTAINS(t_last_log, "test.jsonl:1:");

	/* writer: never overwrite */
	char path[] = "/tmp/emotop-log-XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	struct emo_session_writer *w = NULL;
	t_last_log[0] = 0;
	CHECK_EQ_INT(emo_session_writer_open(path, NULL, &w), EMO_E_EXISTS);
	CHECK_CONTAINS(t_last_log, "exists");
	unlink(path);

	/* writer: full disk. The first write fails with ENOSPC, the error
	 * is kept and reported, later writes do nothing */
	FILE *full = fopen("/dev/full", "w");
	if (full) {
		setvbuf(full, NULL, _IONBF, 0);
		CHECK_EQ_INT(emo_session_writer_open(NULL, full, &w), 0);
		t_last_log[0] = 0;
		CHECK_EQ_INT(emo_session_write_speech(w, 1.0, 2.0), -ENOSPC);
		CHECK_CONTAINS(t_last_log, "no space left");
		CHECK_EQ_INT(emo_session_write_speech(w, 2.0, 3.0), -ENOSPC);
		CHECK_EQ_INT(emo_session_writer_error(w), -ENOSPC);
		emo_session_writer_close(w);
		fclose(full);
	}
	round_trip();
	return t_finish("test-session");
}
