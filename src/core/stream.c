/* The live engine: analysis thread, event queue, backlog control.
 * See include/emotop/stream.h. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "emotop/error.h"
#include "emotop/metrics.h"
#include "emotop/ring.h"
#include "util/util.h"
#include "core/recorder.h"
#include "core/spsc.h"
#include "emotop/stream.h"

#define QCAP 256  /* events; power of two */
#define LATN 4096 /* latencies kept for percentiles */
#define SR EMO_SAMPLE_RATE

struct emo_stream {
	const struct emo_model *m;
	struct emo_source *src;
	struct emo_stream_config cfg;
	struct emo_analyzer *an;
	struct emo_resample *rs;
	struct emo_recorder *rec; /* analysis thread only, or NULL */
	size_t rec_cap;           /* samples per recorder write */
	pthread_t thread;
	bool started, joined;
	atomic_bool stop, paused;
	atomic_int smoothing_bits; /* requested EMA alpha (float bits), 0: none */
	int pipe_r, pipe_w;
	/* events: the analysis thread produces, the consumer takes */
	struct emo_spsc q;
	/* stats, guarded by mu (the analysis thread is not real-time) */
	pthread_mutex_t mu;
	struct emo_stream_stats stats;
	float lat[LATN];
	size_t nlat;
	/* analysis-thread only */
	float *in, *out16;
	size_t in_cap, out_cap;
	int64_t fed;                /* 16 kHz samples fed to the analyzer */
	double read_wall[64];       /* wall clock when fed reached read_pos[] */
	int64_t read_pos[64];
	unsigned read_i;
	bool was_paused;
	/* recording start/stop requests from the consumer (TUI 'r') */
	pthread_mutex_t rec_mu;
	int rec_req;              /* 0 none, 1 start rec_req_path, 2 stop */
	char rec_req_path[4096];
};

struct emo_stream_config emo_stream_config_default(void)
{
	struct emo_stream_config c = {
		.analyzer = emo_analyzer_config_default(),
		.quality = EMO_RESAMPLE_FAST,
		.max_backlog_s = 0, /* derived from the window at create */
		.record_path = NULL,
	};
	return c;
}

static void push_event(struct emo_stream *st, const struct emo_event *ev)
{
	if (!emo_spsc_push(&st->q, ev)) {
		pthread_mutex_lock(&st->mu);
		st->stats.events_lost++;
		pthread_mutex_unlock(&st->mu);
		return;
	}
	char b = 1;
	/* non-blocking pipe: if it is full the consumer has wake-ups pending */
	ssize_t rc = write(st->pipe_w, &b, 1);
	(void)rc;
}

bool emo_stream_next_event(struct emo_stream *st, struct emo_event *ev)
{
	if (emo_spsc_pop(&st->q, ev))
		return true;
	char buf[64];
	while (read(st->pipe_r, buf, sizeof buf) > 0)
		;
	/* an event may have landed between the check and the drain */
	return emo_spsc_pop(&st->q, ev);
}

/* Wall-clock time at which 16 kHz sample `pos` reached the analyzer. */
static double time_of(const struct emo_stream *st, int64_t pos)
{
	for (unsigned k = 0; k < 64; k++) {
		unsigned i = (st->read_i - 1 - k) & 63;
		if (st->read_pos[i] == 0)
			break;
		if (k == 63 || st->read_pos[(i - 1) & 63] < pos)
			return st->read_pos[i] >= pos ? st->read_wall[i] : 0;
	}
	return 0;
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return x < y ? -1 : x > y;
}

static void on_result(const struct emo_result *r, void *ud)
{
	struct emo_stream *st = ud;
	struct emo_event ev = {.type = EMO_EVENT_RESULT, .result = *r,
			       .t0 = r->t0, .t1 = r->t1};
	/* latency means something only when audio arrives at its own pace */
	double t_audio = emo_source_realtime(st->src) ?
		time_of(st, (int64_t)llround(r->t1 * SR)) : 0;
	ev.latency_s = t_audio > 0 ? emo_now() - t_audio : 0;
	pthread_mutex_lock(&st->mu);
	st->stats.windows++;
	st->stats.infer_s += r->infer_s;
	st->stats.latency_last = ev.latency_s;
	if (t_audio > 0)
		st->lat[st->nlat++ % LATN] = (float)ev.latency_s;
	pthread_mutex_unlock(&st->mu);
	push_event(st, &ev);
}

static void on_segment(double t0, double t1, void *ud)
{
	struct emo_event ev = {.type = EMO_EVENT_SPEECH, .t0 = t0, .t1 = t1};
	push_event(ud, &ev);
}

/* The recording (recorder.h), opened and closed on the analysis thread
 * (or at create), its state mirrored in the stats. */
static int open_recording(struct emo_stream *st, const char *path, bool replace)
{
	int err = emo_recorder_open(path, replace, st->rec_cap, &st->rec);
	if (err)
		return err;
	pthread_mutex_lock(&st->mu);
	st->stats.recording = true;
	pthread_mutex_unlock(&st->mu);
	return 0;
}

static void close_recording(struct emo_stream *st)
{
	if (!st->rec)
		return;
	emo_recorder_close(st->rec);
	st->rec = NULL;
	pthread_mutex_lock(&st->mu);
	st->stats.recording = false;
	pthread_mutex_unlock(&st->mu);
}

void emo_stream_set_recording(struct emo_stream *st, const char *path)
{
	pthread_mutex_lock(&st->rec_mu);
	st->rec_req = path ? 1 : 2;
	if (path)
		snprintf(st->rec_req_path, sizeof st->rec_req_path, "%s", path);
	pthread_mutex_unlock(&st->rec_mu);
	emo_source_notify(st->src);
}

static void handle_record_request(struct emo_stream *st)
{
	pthread_mutex_lock(&st->rec_mu);
	int req = st->rec_req;
	char path[4096];
	snprintf(path, sizeof path, "%s", st->rec_req_path);
	st->rec_req = 0;
	pthread_mutex_unlock(&st->rec_mu);
	if (req == 2 || (req == 1 && st->rec))
		close_recording(st);
	if (req == 1) {
		int err = open_recording(st, path, false);
		if (err) {
			struct emo_event ev = {.type = EMO_EVENT_RECORD_ERROR,
					       .t0 = (double)st->fed / SR, .error = err};
			push_event(st, &ev);
		}
	}
}

int emo_stream_create(const struct emo_model *m, struct emo_source *src,
		      const struct emo_stream_config *cfg, struct emo_stream **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!m || !src)
		return -EINVAL;
	struct emo_stream_config defaults = emo_stream_config_default();
	if (!cfg)
		cfg = &defaults;
	struct emo_stream *st = calloc(1, sizeof *st);
	if (!st)
		return -ENOMEM;
	st->m = m;
	st->src = src;
	st->cfg = *cfg;
	/* a real-time source gets a latency bound; a fast file source waits
	 * for us instead (the ring is never allowed to overflow there) */
	if (!(st->cfg.max_backlog_s > 0) && emo_source_realtime(src))
		st->cfg.max_backlog_s = cfg->analyzer.window_s + 2.0;
	st->pipe_r = st->pipe_w = -1;
	pthread_mutex_init(&st->mu, NULL);
	pthread_mutex_init(&st->rec_mu, NULL);
	int p[2], err;
	if ((err = emo_spsc_init(&st->q, sizeof(struct emo_event), QCAP)))
		goto fail;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK)) {
		err = -errno;
		goto fail;
	}
	st->pipe_r = p[0];
	st->pipe_w = p[1];
	if ((err = emo_analyzer_create(m, &cfg->analyzer, on_result, on_segment, st,
				       &st->an)) ||
	    (err = emo_resample_create(emo_source_rate(src), SR, cfg->quality, &st->rs)))
		goto fail;
	st->in_cap = 4096;
	st->out_cap = emo_resample_max_out(st->rs, st->in_cap);
	st->in = malloc(st->in_cap * sizeof(float));
	st->out16 = malloc(st->out_cap * sizeof(float));
	if (!st->in || !st->out16) {
		err = -ENOMEM;
		goto fail;
	}
	st->rec_cap = st->out_cap > 1024 ? st->out_cap : 1024;
	if (cfg->record_path &&
	    (err = open_recording(st, cfg->record_path, cfg->record_replace)))
		goto fail;
	*out = st;
	return 0;
fail:
	emo_stream_destroy(st);
	return err;
}

static int feed(struct emo_stream *st, const float *x, size_t n)
{
	while (n > st->rec_cap) {
		int err = feed(st, x, st->rec_cap);
		if (err)
			return err;
		x += st->rec_cap;
		n -= st->rec_cap;
	}
	if (st->rec && n) {
		/* the analyzer hears what the recording holds */
		const float *heard;
		int err = emo_recorder_write(st->rec, x, n, &heard);
		if (err) {
			struct emo_event ev = {.type = EMO_EVENT_RECORD_ERROR,
					       .t0 = (double)st->fed / SR, .error = err};
			close_recording(st);
			push_event(st, &ev);
		} else {
			x = heard;
		}
	}
	st->fed += (int64_t)n;
	return emo_analyzer_process(st->an, x, n);
}

/* Zeros standing in for audio we did not analyse (skipped or paused), so
 * the analyzer's clock stays the input's clock. */
static int feed_silence(struct emo_stream *st, size_t n16)
{
	static const float zeros[1024];
	while (n16) {
		size_t k = n16 < 1024 ? n16 : 1024;
		int err = feed(st, zeros, k);
		if (err)
			return err;
		n16 -= k;
	}
	return 0;
}

static int drain_ring(struct emo_stream *st, bool last)
{
	struct emo_ring *ring = emo_source_ring(st->src);
	double rate = emo_source_rate(st->src);
	size_t avail = emo_ring_available(ring);
	/* bound latency: skip the oldest audio beyond max_backlog_s */
	size_t max_backlog = (size_t)(st->cfg.max_backlog_s * rate);
	if (max_backlog && avail > max_backlog) {
		size_t skip = emo_ring_skip(ring, avail - max_backlog / 2);
		struct emo_event ev = {.type = EMO_EVENT_OVERRUN,
				       .t0 = (double)st->fed / SR, .count = skip};
		pthread_mutex_lock(&st->mu);
		st->stats.skipped += skip;
		pthread_mutex_unlock(&st->mu);
		push_event(st, &ev);
		int err = feed_silence(st, (size_t)llround(skip * SR / rate));
		if (err)
			return err;
		avail = emo_ring_available(ring);
	}
	bool paused = atomic_load_explicit(&st->paused, memory_order_relaxed);
	if (paused != st->was_paused) {
		struct emo_event ev = {.type = EMO_EVENT_PAUSE,
				       .t0 = (double)st->fed / SR, .count = paused};
		push_event(st, &ev);
		st->was_paused = paused;
	}
	while (avail > 0 || last) {
		size_t n = emo_ring_read(ring, st->in, avail < st->in_cap ? avail : st->in_cap);
		/* NaN/Inf or absurd values (a damaged float file) would poison
		 * the resampler and every window after: silence, counted */
		uint64_t bad = 0;
		for (size_t i = 0; i < n; i++)
			if (!(fabsf(st->in[i]) <= EMO_AUDIO_MAX_ABS)) {
				st->in[i] = 0;
				bad++;
			}
		if (bad) {
			pthread_mutex_lock(&st->mu);
			st->stats.nonfinite += bad;
			pthread_mutex_unlock(&st->mu);
		}
		/* capture time of this block: now, less what still waits in
		 * the ring behind it */
		double t_read = emo_now() - emo_ring_available(ring) / rate;
		size_t off = 0;
		bool flush = last && emo_ring_available(ring) == 0;
		do {
			size_t used = 0;
			long got = emo_resample_process(st->rs, st->in + off, n - off,
							st->out16, st->out_cap, &used, flush);
			if (got < 0)
				return (int)got;
			off += used;
			/* before feeding: results computed inside feed() look
			 * their audio's time up here */
			st->read_wall[st->read_i & 63] = t_read;
			st->read_pos[st->read_i & 63] = st->fed + got;
			st->read_i++;
			int err = paused ? feed_silence(st, (size_t)got) :
					   feed(st, st->out16, (size_t)got);
			if (err)
				return err;
			if (flush && got == 0 && off >= n)
				break;
		} while (off < n || (flush && off >= n && n));
		emo_source_consumed(st->src);
		avail = emo_ring_available(ring);
		if (flush)
			break;
	}
	return 0;
}

static void update_stats(struct emo_stream *st)
{
	const struct emo_vad *v = emo_analyzer_vad(st->an);
	float peak = emo_source_take_peak(st->src);
	pthread_mutex_lock(&st->mu);
	st->stats.audio_s = (double)st->fed / SR;
	st->stats.speech_s = emo_analyzer_speech_seconds(st->an);
	st->stats.dropped = emo_ring_overflow(emo_source_ring(st->src));
	st->stats.rtf = st->stats.audio_s > 0 ? st->stats.infer_s / st->stats.audio_s : 0;
	if (peak > 0 || st->stats.level_db > -120) {
		float db = 20.0f * log10f(peak + 1e-9f);
		/* peaks jump up at once and fall back at ~20 dB/s */
		st->stats.level_db = db > st->stats.level_db ? db : st->stats.level_db - 1.0f;
		if (st->stats.level_db < -120)
			st->stats.level_db = -120;
	}
	st->stats.vad_score = emo_vad_last_score(v);
	st->stats.speech = emo_vad_raw_speech(v);
	st->stats.paused = atomic_load_explicit(&st->paused, memory_order_relaxed);
	pthread_mutex_unlock(&st->mu);
}

/* A device that stops delivering audio without PortAudio noticing (an
 * unplugged USB microphone under ALSA often just stalls) is treated as
 * gone after this long. */
#define STALL_SECONDS 2.0

static void *analysis_thread(void *arg)
{
	struct emo_stream *st = arg;
	int err = 0, stalled = 0;
	uint64_t last_frames = 0;
	double last_change = emo_now();
	while (!atomic_load_explicit(&st->stop, memory_order_acquire)) {
		emo_source_wait(st->src, 50); /* refresh meters even in silence */
		int bits = atomic_exchange_explicit(&st->smoothing_bits, 0,
						    memory_order_relaxed);
		if (bits) {
			float a;
			memcpy(&a, &bits, sizeof a);
			emo_analyzer_set_ema_alpha(st->an, a);
		}
		handle_record_request(st);
		bool finished = emo_source_finished(st->src);
		err = drain_ring(st, finished);
		update_stats(st);
		if (err || finished)
			break;
		uint64_t fr = emo_source_frames(st->src);
		if (fr != last_frames) {
			last_frames = fr;
			last_change = emo_now();
		} else if (emo_source_is_device(st->src) &&
			   emo_now() - last_change > STALL_SECONDS) {
			emo_err("input device '%s' has delivered no audio for %.0f s: "
				"unplugged or stalled", emo_source_name(st->src),
				STALL_SECONDS);
			stalled = EMO_E_DEVICE;
			err = emo_analyzer_finish(st->an);
			goto ended;
		}
	}
	if (!err)
		err = emo_analyzer_finish(st->an);
ended:
	update_stats(st);
	int serr = stalled ? stalled : emo_source_error(st->src);
	if (serr || err) {
		struct emo_event ev = {.type = EMO_EVENT_ERROR, .error = serr ? serr : err,
				       .t0 = (double)st->fed / SR};
		push_event(st, &ev);
	}
	close_recording(st);
	struct emo_event end = {.type = EMO_EVENT_END, .t0 = (double)st->fed / SR,
				.error = serr ? serr : err};
	push_event(st, &end);
	return NULL;
}

int emo_stream_start(struct emo_stream *st)
{
	if (!st)
		return -EINVAL;
	if (st->started) {
		/* two analysis threads over one analyzer would corrupt it */
		emo_err("stream: already started (a stream runs once)");
		return -EBUSY;
	}
	int err = emo_source_start(st->src);
	if (err)
		return err;
	if (pthread_create(&st->thread, NULL, analysis_thread, st)) {
		emo_source_stop(st->src);
		return -EAGAIN;
	}
	st->started = true;
	return 0;
}

int emo_stream_fd(const struct emo_stream *st)
{
	return st->pipe_r;
}

void emo_stream_set_paused(struct emo_stream *st, bool paused)
{
	atomic_store_explicit(&st->paused, paused, memory_order_relaxed);
	emo_source_notify(st->src);
}

void emo_stream_set_smoothing(struct emo_stream *st, float alpha)
{
	int bits;
	memcpy(&bits, &alpha, sizeof bits);
	atomic_store_explicit(&st->smoothing_bits, bits, memory_order_relaxed);
	emo_source_notify(st->src);
}

float emo_stream_get_smoothing(const struct emo_stream *st)
{
	return emo_analyzer_get_ema_alpha(st->an);
}

void emo_stream_get_stats(struct emo_stream *st, struct emo_stream_stats *s)
{
	pthread_mutex_lock(&st->mu);
	*s = st->stats;
	size_t n = st->nlat < LATN ? st->nlat : LATN;
	if (n) {
		float tmp[LATN];
		memcpy(tmp, st->lat, n * sizeof *tmp);
		qsort(tmp, n, sizeof *tmp, cmp_float);
		s->latency_p50 = emo_percentile_sorted(tmp, n, 0.50);
		s->latency_p95 = emo_percentile_sorted(tmp, n, 0.95);
	}
	pthread_mutex_unlock(&st->mu);
}

void emo_stream_stop(struct emo_stream *st)
{
	if (!st || !st->started || st->joined)
		return;
	/* release: pairs with the thread's acquire load of the flag */
	atomic_store_explicit(&st->stop, true, memory_order_release);
	emo_source_notify(st->src);
	pthread_join(st->thread, NULL);
	st->joined = true;
	emo_source_stop(st->src);
}

bool emo_stream_running(const struct emo_stream *st)
{
	return st->started && !st->joined;
}

void emo_stream_destroy(struct emo_stream *st)
{
	if (!st)
		return;
	emo_stream_stop(st);
	close_recording(st);
	emo_analyzer_destroy(st->an);
	emo_resample_destroy(st->rs);
	if (st->pipe_r >= 0)
		close(st->pipe_r);
	if (st->pipe_w >= 0)
		close(st->pipe_w);
	pthread_mutex_destroy(&st->mu);
	pthread_mutex_destroy(&st->rec_mu);
	free(st->in);
	free(st->out16);
	emo_spsc_free(&st->q);
	free(st);
}
