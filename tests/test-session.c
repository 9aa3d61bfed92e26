/* Session-log reader: a good log, a truncated last line (accepted), a
 * malformed line in the middle (error naming the line), unknown record
 * types (skipped with a warning), a missing header, a newer version. And
 * the writer refuses to overwrite and reports a full disk (/dev/full)
 * while keeping what it wrote. */
#include <errno.h>
#include <unistd.h>

#include "emotop/session.h"
#include "testlib.h"

static const char good[] =
	"{\"type\":\"session\",\"version\":1,\"labels\":[\"a\",\"b\"]}\n"
	"{\"type\":\"speech\",\"t0\":0.5,\"t1\":2.0}\n"
	"{\"type\":\"window\",\"t0\":0.5,\"t1\":2.0,\"probs\":{\"a\":0.25,\"b\":0.75},\"label\":\"b\"}\n"
	"{\"type\":\"event\",\"t\":2.5,\"event\":\"pause\"}\n"
	"{\"type\":\"end\",\"reason\":\"end of input\",\"duration\":3.0}\n";

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
	return t_finish("test-session");
}
