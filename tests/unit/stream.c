/* The live engine (stream.h) end to end on a generated 48 kHz file, no
 * device and no corpus: events arrive in order (window indices 0, 1, 2...,
 * speech segments in time order), END comes once and last, the results
 * equal the offline analyzer's on the same audio bit for bit (the live and
 * offline paths share one resampler and one analyzer), and the stats add
 * up. The same audio pushed block by block into a push source (what serve
 * does with a browser's samples) gives the same results too. Run under
 * ThreadSanitizer by tools/check.sh (suite "threads"). */
#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "emotop/analyzer.h"
#include "emotop/audio.h"
#include "emotop/source.h"
#include "emotop/stream.h"
#include "gen_audio.h"
#include "testlib.h"

#define MAXW 256

struct rec {
	int n;
	struct emo_result r[MAXW];
};

static void on_result(const struct emo_result *r, void *ud)
{
	struct rec *c = ud;
	if (c->n < MAXW)
		c->r[c->n++] = *r;
}

int main(void)
{
	t_init();
	char mp[4096], wav[] = "/tmp/emotop-test-stream-XXXXXX.wav";
	t_path(mp, sizeof mp, "tests/fixtures/model-tiny-bilstm");
	struct emo_model *m = NULL;
	CHECK_EQ_INT(emo_model_load(mp, NULL, &m), 0);
	if (!m)
		return t_finish("stream");
	int fd = mkstemps(wav, 4);
	close(fd);
	size_t n;
	float *x = gen_voice(7.0, 48000, &n);
	CHECK_EQ_INT(write_wav(wav, x, n, 48000), 0);
	free(x);

	/* offline reference */
	struct emo_stream_config sc = emo_stream_config_default();
	struct rec *ref = calloc(1, sizeof *ref);
	float *y;
	size_t ny;
	CHECK_EQ_INT(emo_audio_read(wav, 16000, sc.quality, &y, &ny, NULL), 0);
	struct emo_analyzer *a;
	CHECK_EQ_INT(emo_analyzer_create(m, &sc.analyzer, on_result, NULL, ref, &a), 0);
	CHECK_EQ_INT(emo_analyzer_process(a, y, ny), 0);
	CHECK_EQ_INT(emo_analyzer_finish(a), 0);
	emo_analyzer_destroy(a);
	free(y);

	/* live: a fast file source through the analysis thread */
	struct emo_source_config src_cfg = emo_source_config_default();
	src_cfg.kind = EMO_SOURCE_FILE;
	src_cfg.path = wav;
	src_cfg.paced = false;
	struct emo_source *src = NULL;
	struct emo_stream *st = NULL;
	CHECK_EQ_INT(emo_source_open(&src_cfg, &src), 0);
	CHECK_EQ_INT(emo_stream_create(m, src, &sc, &st), 0);
	CHECK_EQ_INT(emo_stream_start(st), 0);
	int windows = 0, ends = 0, after_end = 0, errors = 0, mismatch = 0;
	double last_seg = -1;
	bool seg_order = true;
	while (!ends) {
		struct pollfd pf = {.fd = emo_stream_fd(st), .events = POLLIN};
		poll(&pf, 1, 1000);
		struct emo_event ev;
		while (emo_stream_next_event(st, &ev)) {
			if (ends)
				after_end++;
			switch (ev.type) {
			case EMO_EVENT_RESULT:
				if (ev.result.index != windows || windows >= ref->n ||
				    memcmp(ev.result.probs, ref->r[windows].probs,
					   sizeof ev.result.probs) ||
				    ev.result.t0 != ref->r[windows].t0 ||
				    ev.result.label != ref->r[windows].label)
					mismatch++;
				windows++;
				break;
			case EMO_EVENT_SPEECH:
				seg_order = seg_order && ev.t0 >= last_seg && ev.t1 > ev.t0;
				last_seg = ev.t1;
				break;
			case EMO_EVENT_END:
				ends++;
				break;
			case EMO_EVENT_ERROR:
			case EMO_EVENT_RECORD_ERROR:
				errors++;
				break;
			default:
				break;
			}
		}
	}
	emo_stream_stop(st);
	struct emo_event ev;
	while (emo_stream_next_event(st, &ev))
		after_end++;
	struct emo_stream_stats s;
	emo_stream_get_stats(st, &s);
	fprintf(stderr, "  %d windows live, %d offline; %.2f s audio\n", windows,
		ref->n, s.audio_s);
	CHECK(ref->n > 5);
	CHECK_EQ_INT(windows, ref->n);
	CHECK_EQ_INT(mismatch, 0);
	CHECK_EQ_INT(ends, 1);
	CHECK_EQ_INT(after_end, 0);
	CHECK_EQ_INT(errors, 0);
	CHECK(seg_order && last_seg > 0);
	CHECK_EQ_INT(s.windows, windows);
	CHECK(fabs(s.audio_s - 7.0) < 0.01);
	CHECK_EQ_INT(s.dropped + s.skipped + s.events_lost, 0);
	CHECK(s.latency_p95 >= s.latency_p50);
	emo_stream_destroy(st);
	emo_source_close(src);

	/* the same samples pushed from this thread in 20 ms blocks */
	float *x48;
	size_t n48;
	CHECK_EQ_INT(emo_audio_read(wav, 48000, sc.quality, &x48, &n48, NULL), 0);
	struct emo_source_config pc = emo_source_config_default();
	pc.kind = EMO_SOURCE_PUSH;
	pc.rate = 48000;
	pc.ring_seconds = 10; /* never full: nothing dropped */
	pc.name = "test";
	CHECK_EQ_INT(emo_source_open(&pc, &src), 0);
	CHECK(emo_source_realtime(src) && !emo_source_is_device(src));
	CHECK_EQ_INT(emo_source_rate(src), 48000);
	CHECK_EQ_INT(emo_source_push(NULL, x48, 1), -EINVAL);
	CHECK_EQ_INT(emo_source_push(src, NULL, 1), -EINVAL);
	struct emo_stream_config psc = sc;
	psc.max_backlog_s = 1000; /* pushed faster than real time: skip nothing */
	CHECK_EQ_INT(emo_stream_create(m, src, &psc, &st), 0);
	CHECK_EQ_INT(emo_stream_start(st), 0);
	size_t off = 0;
	int pushed_windows = 0, pushed_mismatch = 0;
	bool pushed_end = false;
	while (!pushed_end) {
		if (off < n48) {
			size_t k = n48 - off < 960 ? n48 - off : 960;
			CHECK_EQ_INT(emo_source_push(src, x48 + off, k), (long)k);
			off += k;
			if (off == n48) {
				emo_source_push_end(src);
				CHECK_EQ_INT(emo_source_push(src, x48, 1), -EINVAL);
			}
		} else {
			struct pollfd pf = {.fd = emo_stream_fd(st), .events = POLLIN};
			poll(&pf, 1, 1000);
		}
		while (emo_stream_next_event(st, &ev)) {
			if (ev.type == EMO_EVENT_END)
				pushed_end = true;
			if (ev.type != EMO_EVENT_RESULT)
				continue;
			if (pushed_windows >= ref->n ||
			    memcmp(ev.result.probs, ref->r[pushed_windows].probs,
				   sizeof ev.result.probs))
				pushed_mismatch++;
			pushed_windows++;
		}
	}
	emo_stream_get_stats(st, &s);
	CHECK_EQ_INT(pushed_windows, ref->n);
	CHECK_EQ_INT(pushed_mismatch, 0);
	CHECK_EQ_INT(s.dropped + s.skipped, 0);
	emo_stream_destroy(st);
	emo_source_close(src);
	free(x48);

	emo_source_terminate();
	emo_model_destroy(m);
	free(ref);
	unlink(wav);
	return t_finish("stream");
}
