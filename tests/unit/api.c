/* The public API's promises about NULL and repeated calls (emotop.h,
 * "NULL and lifetimes"): every constructor, opener and loader refuses a
 * NULL output pointer or a NULL required input with -EINVAL and takes a
 * NULL configuration as the defaults; every destroy/close/free takes NULL;
 * a stream starts once (a second start is -EBUSY, not a second analysis
 * thread) and stops any number of times. Item 8 of the second fault
 * catalogue: several of these crashed. Run under ASan in the suite. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "emotop/emotop.h"
#include "gen_audio.h"
#include "testlib.h"

static void on_result(const struct emo_result *r, void *ud)
{
	(*(int *)ud)++;
}

int main(void)
{
	t_init();
	char mp[4096], wav[] = "/tmp/emotop-test-api-XXXXXX.wav";
	t_path(mp, sizeof mp, "tests/fixtures/model-tiny-bilstm");
	int fd = mkstemps(wav, 4);
	close(fd);
	size_t nx;
	float *x = gen_voice(3.0, 16000, &nx);
	CHECK_EQ_INT(write_wav(wav, x, nx, 16000), 0);

	/* models */
	struct emo_model *m = NULL;
	CHECK_EQ_INT(emo_model_load(NULL, NULL, &m), -EINVAL);
	CHECK(m == NULL);
	CHECK_EQ_INT(emo_model_load(mp, NULL, NULL), -EINVAL);
	CHECK_EQ_INT(emo_model_load(mp, NULL, &m), 0); /* NULL params: defaults */
	emo_model_destroy(NULL);
	CHECK_EQ_INT(emo_model_label_index(m, NULL), -1);
	CHECK_EQ_INT(emo_model_label_index(NULL, "angry"), -1);
	CHECK_EQ_INT(emo_model_label_index(m, "ANGRY"), 4);
	struct emo_model_state *ms = NULL;
	CHECK_EQ_INT(emo_model_state_create(NULL, 16000, &ms), -EINVAL);
	CHECK_EQ_INT(emo_model_state_create(m, 16000, NULL), -EINVAL);
	CHECK_EQ_INT(emo_model_state_create(m, 0, &ms), -EINVAL);
	emo_model_state_destroy(NULL);
	struct emo_hubert_state *hs = NULL;
	CHECK_EQ_INT(emo_hubert_state_create(NULL, 16000, &hs), -EINVAL);
	CHECK_EQ_INT(emo_hubert_state_create(emo_model_encoder(m), 16000, NULL), -EINVAL);
	emo_hubert_state_destroy(NULL);

	/* analyzer: NULL configuration is the defaults */
	int windows = 0;
	struct emo_analyzer *a = NULL;
	CHECK_EQ_INT(emo_analyzer_create(NULL, NULL, on_result, NULL, &windows, &a), -EINVAL);
	CHECK_EQ_INT(emo_analyzer_create(m, NULL, on_result, NULL, &windows, NULL), -EINVAL);
	CHECK_EQ_INT(emo_analyzer_create(m, NULL, on_result, NULL, &windows, &a), 0);
	if (a) {
		CHECK_EQ_INT(emo_analyzer_process(a, x, nx), 0);
		CHECK_EQ_INT(emo_analyzer_finish(a), 0);
		CHECK(windows > 0);
	}
	emo_analyzer_destroy(a);
	emo_analyzer_destroy(NULL);

	/* audio */
	float *y = NULL;
	size_t ny = 0;
	CHECK_EQ_INT(emo_audio_read(NULL, 16000, EMO_RESAMPLE_FAST, &y, &ny, NULL), -EINVAL);
	CHECK_EQ_INT(emo_audio_read(wav, 16000, EMO_RESAMPLE_FAST, NULL, &ny, NULL), -EINVAL);
	CHECK_EQ_INT(emo_audio_read(wav, 16000, EMO_RESAMPLE_FAST, &y, NULL, NULL), -EINVAL);
	struct emo_audio_reader *rd = NULL;
	CHECK_EQ_INT(emo_audio_reader_open(NULL, 16000, EMO_RESAMPLE_FAST, NULL, &rd), -EINVAL);
	CHECK_EQ_INT(emo_audio_reader_open(wav, 16000, EMO_RESAMPLE_FAST, NULL, NULL), -EINVAL);
	emo_audio_reader_close(NULL);
	struct emo_resample *rs = NULL;
	CHECK_EQ_INT(emo_resample_create(48000, 16000, EMO_RESAMPLE_FAST, NULL), -EINVAL);
	emo_resample_destroy(NULL);

	/* VAD, ring */
	struct emo_vad *v = NULL;
	CHECK_EQ_INT(emo_vad_create(NULL, &v), 0); /* defaults */
	CHECK_EQ_INT(emo_vad_create(NULL, NULL), -EINVAL);
	emo_vad_destroy(v);
	emo_vad_destroy(NULL);
	struct emo_ring *ring = NULL;
	CHECK_EQ_INT(emo_ring_create(1024, 0, NULL), -EINVAL);
	emo_ring_destroy(NULL);
	(void)rs;
	(void)ring;

	/* affect: a NULL label is no place */
	const char *labels[3] = {"angry", NULL, "happy"};
	float probs[3] = {0.5f, 0.3f, 0.2f};
	struct emo_affect af;
	emo_affect_from_probs(labels, probs, 3, &af);
	CHECK(af.valid);
	emo_affect_from_probs(NULL, probs, 3, &af);
	CHECK(!af.valid);
	emo_affect_from_probs(labels, NULL, 3, &af);
	CHECK(!af.valid);
	emo_affect_from_probs(labels, probs, 3, NULL);
	float pv, pa;
	enum emo_valence_class pc;
	CHECK(!emo_affect_place(NULL, &pv, &pa, &pc));

	/* sessions */
	struct emo_session_log log;
	CHECK_EQ_INT(emo_session_log_read(NULL, &log), -EINVAL);
	CHECK_EQ_INT(emo_session_log_read(wav, NULL), -EINVAL);
	CHECK_EQ_INT(emo_session_log_parse(NULL, 0, NULL, NULL), -EINVAL);
	struct emo_session_writer *w = NULL;
	CHECK_EQ_INT(emo_session_writer_open(NULL, NULL, &w), -EINVAL);
	CHECK_EQ_INT(emo_session_writer_open(NULL, stdout, NULL), -EINVAL);
	CHECK_EQ_INT(emo_session_writer_open_auto(NULL, 0, &w), -EINVAL);
	CHECK_EQ_INT(emo_session_writer_open_lines(NULL, NULL, &w), -EINVAL);

	/* sources and streams: NULL path refused, NULL config the defaults,
	 * one start, any number of stops */
	struct emo_source_config sc = emo_source_config_default();
	sc.kind = EMO_SOURCE_FILE;
	sc.path = NULL;
	struct emo_source *src = NULL;
	CHECK_EQ_INT(emo_source_open(&sc, &src), -EINVAL);
	CHECK_EQ_INT(emo_source_open(&sc, NULL), -EINVAL);
	CHECK_EQ_INT(emo_source_start(NULL), -EINVAL);
	/* a push source needs a rate; push and push_end refuse other kinds */
	struct emo_source_config push = emo_source_config_default();
	push.kind = EMO_SOURCE_PUSH;
	CHECK_EQ_INT(emo_source_open(&push, &src), -EINVAL);
	push.rate = 1000000;
	CHECK_EQ_INT(emo_source_open(&push, &src), -EINVAL);
	CHECK_EQ_INT(emo_source_push(NULL, NULL, 0), -EINVAL);
	emo_source_push_end(NULL);
	emo_source_stop(NULL);
	emo_source_close(NULL);
	sc.path = wav;
	sc.paced = false;
	CHECK_EQ_INT(emo_source_open(&sc, &src), 0);
	struct emo_stream *st = NULL;
	CHECK_EQ_INT(emo_stream_create(m, NULL, NULL, &st), -EINVAL);
	CHECK_EQ_INT(emo_stream_create(NULL, src, NULL, &st), -EINVAL);
	CHECK_EQ_INT(emo_stream_create(m, src, NULL, NULL), -EINVAL);
	CHECK_EQ_INT(emo_stream_create(m, src, NULL, &st), 0);
	CHECK_EQ_INT(emo_stream_start(NULL), -EINVAL);
	if (st) {
		CHECK_EQ_INT(emo_stream_start(st), 0);
		CHECK_EQ_INT(emo_stream_start(st), -EBUSY);
		emo_stream_stop(st);
		emo_stream_stop(st);
		CHECK_EQ_INT(emo_stream_start(st), -EBUSY);
	}
	emo_stream_stop(NULL);
	emo_stream_destroy(st);
	emo_stream_destroy(NULL);
	emo_source_close(src);

	/* #37 item 7: a zero-capacity read returned nothing forever (a busy
	 * loop); NULL header/stats segfaulted; NULL kind, NaN times: -ENOMEM */
	{
		struct emo_audio_reader *rd7 = NULL;
		struct emo_audio_info info;
		float buf[16];
		CHECK_EQ_INT(emo_audio_reader_open(wav, 16000, EMO_RESAMPLE_FAST, &info, &rd7), 0);
		CHECK_EQ_INT(emo_audio_reader_read(rd7, buf, 0), -EINVAL);
		CHECK_EQ_INT(emo_audio_reader_read(rd7, NULL, 16), -EINVAL);
		CHECK_EQ_INT(emo_audio_reader_read(NULL, buf, 16), -EINVAL);
		CHECK(emo_audio_reader_read(rd7, buf, 16) > 0);
		emo_audio_reader_close(rd7);
		char *text = NULL;
		size_t tlen = 0;
		FILE *f = open_memstream(&text, &tlen);
		struct emo_session_writer *w7 = NULL;
		CHECK_EQ_INT(emo_session_writer_open(NULL, f, &w7), 0);
		struct emo_stream_stats stats = {0};
		struct emo_result res = {.num_labels = emo_model_num_labels(m), .t0 = 0, .t1 = 1};
		CHECK_EQ_INT(emo_session_write_header(w7, NULL), -EINVAL);
		CHECK_EQ_INT(emo_session_write_header(NULL, NULL), -EINVAL);
		CHECK_EQ_INT(emo_session_write_end(w7, "x", NULL), -EINVAL);
		CHECK_EQ_INT(emo_session_write_end(w7, NULL, &stats), -EINVAL);
		CHECK_EQ_INT(emo_session_write_end(NULL, "x", &stats), -EINVAL);
		CHECK_EQ_INT(emo_session_write_event(w7, 1.0, NULL, NULL, 0), -EINVAL);
		CHECK_EQ_INT(emo_session_write_event(w7, NAN, "pause", NULL, 0), -EINVAL);
		CHECK_EQ_INT(emo_session_write_event(NULL, 1.0, "pause", NULL, 0), -EINVAL);
		CHECK_EQ_INT(emo_session_write_speech(w7, NAN, INFINITY), -EINVAL);
		CHECK_EQ_INT(emo_session_write_speech(NULL, 0, 1), -EINVAL);
		CHECK_EQ_INT(emo_session_write_window(w7, m, NULL, 0), -EINVAL);
		CHECK_EQ_INT(emo_session_write_window(w7, NULL, &res, 0), -EINVAL);
		res.t1 = NAN;
		CHECK_EQ_INT(emo_session_write_window(w7, m, &res, 0), -EINVAL);
		/* the refusals left the writer usable */
		CHECK_EQ_INT(emo_session_write_speech(w7, 0, 1), 0);
		CHECK_EQ_INT(emo_session_write_end(w7, "done", &stats), 0);
		CHECK_EQ_INT(emo_session_writer_close(w7), 0);
		fclose(f);
		CHECK_CONTAINS(text, "\"speech\"");
		free(text);
	}

	CHECK(emo_strerror(-EINVAL) != NULL);
	CHECK(emo_strerror(12345) != NULL);
	emo_model_destroy(m);
	free(x);
	unlink(wav);
	return t_finish("api");
}
