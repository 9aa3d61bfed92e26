/* Session-log reader: a good log, a truncated last line (accepted), a
 * malformed line in the middle (error naming the line), unknown record
 * types (skipped with a warning), a missing header, a newer version. And
 * the writer refuses to overwrite and reports a full disk (/dev/full)
 * while keeping what it wrote. */
#include <errno.h>
#include <math.h>
#include <unistd.h>

#include "emotop/model.h"
#include "emotop/session.h"
#include "testlib.h"

static const char good[] =
	"{\"type\":\"session\",\"version\":1,\"labels\":[\"a\",\"b\"]}\n"
	"{\"type\":\"speech\",\"t0\":0.5,\"t1\":2.0}\n"
	"{\"type\":\"window\",\"t0\":0.5,\"t1\":2.0,\"probs\":{\"a\":0.25,\"b\":0.75},\"label\":\"b\"}\n"
	"{\"type\":\"event\",\"t\":2.5,\"event\":\"pause\"}\n"
	"{\"type\":\"end\",\"reason\":\"end of input\",\"duration\":3.0}\n";

/* Every record type written by the writer, read back field by field. */
static void round_trip(void)
{
	char mp[4096], path[] = "/tmp/emotop-rt-XXXXXX";
	t_path(mp, sizeof mp, "tests/fixtures/model-tiny-bilstm");
	struct emo_model *m = NULL;
	CHECK_EQ_INT(emo_model_load(mp, NULL, &m), 0);
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
	/* the header is not among the records */
	CHECK_EQ_INT(log.n, 5);
	CHECK_EQ_INT(log.windows, 1);
	CHECK_EQ_INT(log.speech, 1);
	CHECK_EQ_INT(log.events, 2);
	CHECK(!log.truncated && log.end);
	if (log.n == 5 && log.end) {
		const struct emo_session_header *h = &log.header;
		CHECK_EQ_INT(h->version, EMO_SESSION_VERSION);
		CHECK(!strcmp(h->source_name, "in \"q\".wav"));
		CHECK(!strcmp(h->source_kind, "file"));
		CHECK_EQ_INT(h->source_rate, 48000);
		CHECK_EQ_INT(h->source_channels, 2);
		CHECK(h->analysis.window_s == 1.5 && h->analysis.hop_s == 0.5);
		/* every logged setting comes back as it was */
		CHECK(!memcmp(&h->analysis.vad, &ac.vad, sizeof ac.vad));
		CHECK(h->analysis.ema_alpha == ac.ema_alpha &&
		      h->analysis.min_confidence == ac.min_confidence &&
		      h->analysis.hysteresis == ac.hysteresis &&
		      h->analysis.min_window_s == ac.min_window_s);
		CHECK(!strcmp(h->recording, "rec.flac"));
		CHECK(!strcmp(h->resample, "best"));
		CHECK(!strcmp(h->model_sha256, emo_model_sha256(m)));
		CHECK_EQ_INT(h->threads, 3);
		CHECK_EQ_INT(h->precision, EMO_PRECISION_FP32);
		CHECK(!strcmp(h->engine, emo_model_engine(m)));
		CHECK_EQ_INT(h->num_labels, r.num_labels);
		for (int i = 0; i < h->num_labels; i++)
			CHECK(!strcmp(h->labels[i], emo_model_label(m, i)));
		const struct emo_session_record *win = &log.records[0];
		CHECK_EQ_INT(win->type, EMO_RECORD_WINDOW);
		CHECK_EQ_INT(win->result.index, 7);
		CHECK(win->t0 == 1.25 && win->t1 == 3.5 && win->result.speech_s == 1.5);
		CHECK(fabs(win->latency_s - 0.0123) < 1e-12);
		CHECK(win->result.uncertain);
		CHECK_EQ_INT(win->result.label, 2);
		CHECK(win->result.confidence == 0.4f);
		/* probabilities round-trip float32 exactly (9 digits) */
		for (int i = 0; i < r.num_labels; i++) {
			CHECK(win->result.probs[i] == r.probs[i]);
			CHECK(win->result.smoothed[i] == r.smoothed[i]);
		}
		/* and back into the event the stream produced */
		struct emo_event ev;
		CHECK(emo_session_record_event(win, &ev));
		CHECK_EQ_INT(ev.type, EMO_EVENT_RESULT);
		CHECK(!memcmp(ev.result.probs, r.probs, sizeof(float) * (size_t)r.num_labels));
		const struct emo_session_record *sp = &log.records[1];
		CHECK(sp->type == EMO_RECORD_SPEECH && sp->t0 == 0.75 && sp->t1 == 3.5);
		const struct emo_session_record *e1 = &log.records[2], *e2 = &log.records[3];
		CHECK(e1->type == EMO_RECORD_EVENT && !strcmp(e1->event, "recording_error") &&
		      !strcmp(e1->detail, "disk full") && e1->t0 == 4.0);
		CHECK_EQ_INT(e1->count, 0);
		CHECK(emo_session_record_event(e1, &ev) && ev.type == EMO_EVENT_RECORD_ERROR);
		CHECK(!strcmp(e2->event, "overrun") && e2->count == 1234 && !e2->detail[0]);
		CHECK(emo_session_record_event(e2, &ev) && ev.type == EMO_EVENT_OVERRUN &&
		      ev.count == 1234 && ev.t0 == 4.5);
		const struct emo_session_end *end = log.end;
		CHECK(log.records[4].type == EMO_RECORD_END);
		CHECK(!emo_session_record_event(&log.records[4], &ev));
		CHECK(!strcmp(end->reason, "end of input"));
		CHECK(end->duration == 9.5 && end->speech_s == 3.25);
		CHECK_EQ_INT(end->skipped, 1234);
		CHECK_EQ_INT(end->dropped, 2);
		CHECK_EQ_INT(end->nonfinite, 5);
		CHECK_EQ_INT(end->windows, 1);
		CHECK(end->latency_p95 == 0.02 && end->rtf == 0.05);
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
	CHECK_EQ_INT(log.n, 4); /* the header is apart */
	CHECK_EQ_INT(log.windows, 1);
	CHECK_EQ_INT(log.speech, 1);
	CHECK(log.end != NULL && !log.truncated);
	if (log.n == 4) {
		/* a version-1 window: no smoothed probabilities, no affect */
		const struct emo_session_record *w = &log.records[1];
		CHECK(w->type == EMO_RECORD_WINDOW && w->result.label == 1);
		CHECK(w->result.probs[0] == 0.25f && w->result.smoothed[1] == 0.75f);
		CHECK(!w->has_affect && w->result.num_labels == 2);
		CHECK_EQ_INT(log.header.threads, 1);
		CHECK(log.header.recording == NULL);
		struct emo_event ev;
		CHECK(emo_session_record_event(&log.records[2], &ev) &&
		      ev.type == EMO_EVENT_PAUSE && ev.count == 1);
	}
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
	CHECK_EQ_INT(log.n, 1);
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
