/* Audio sources: PortAudio capture, libsndfile file playback and samples
 * pushed by the caller, into a ring.
 * See include/emotop/source.h. Not here: resampling (the analysis thread
 * does it, off the real-time path), output devices. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <math.h>
#include <portaudio.h>
#include <pthread.h>
#include <semaphore.h>
#include <sndfile.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "emotop/error.h"
#include "emotop/source.h"

struct emo_source {
	struct emo_source_config cfg;
	sem_t wake;
	struct emo_ring *ring;
	int rate, channels;
	char name[256];
	/* device */
	PaStream *pa;
	bool pa_init;
	/* file */
	SNDFILE *sf;
	pthread_t thread;
	bool thread_started;
	atomic_bool stop;
	sem_t space; /* fast file mode: posted by the consumer after reading */
	/* shared with the callback/thread; all relaxed counters except the
	 * finished flag, which orders the last ring write before it */
	atomic_bool finished;
	atomic_int error;
	_Atomic uint64_t frames, in_overflows;
	_Atomic uint32_t peak_bits; /* float bits of the running peak */
};

static int pa_refs;
static int pa_acquire(void);

struct emo_source_config emo_source_config_default(void)
{
	return (struct emo_source_config){
		.kind = EMO_SOURCE_DEVICE,
		.paced = true,
		.speed = 1.0,
		.ring_seconds = 4.0,
	};
}

static void note_peak(struct emo_source *s, float peak)
{
	uint32_t bits;
	memcpy(&bits, &peak, sizeof bits);
	/* positive floats order like their bit patterns: a CAS-free max is
	 * not needed, the meter tolerates a lost update between threads */
	uint32_t old = atomic_load_explicit(&s->peak_bits, memory_order_relaxed);
	if (bits > old)
		atomic_store_explicit(&s->peak_bits, bits, memory_order_relaxed);
}

float emo_source_take_peak(struct emo_source *s)
{
	uint32_t bits = atomic_exchange_explicit(&s->peak_bits, 0, memory_order_relaxed);
	float p;
	memcpy(&p, &bits, sizeof p);
	return p;
}

/* Downmix n frames of interleaved `ch` channels into the ring in place.
 * Real-time safe. */
static void push_frames(struct emo_source *s, const float *in, size_t n, int ch)
{
	struct emo_ring_regions reg;
	size_t free_n = emo_ring_write_acquire(s->ring, &reg);
	size_t k = n < free_n ? n : free_n;
	float peak = 0;
	size_t i = 0;
	for (int part = 0; part < 2; part++) {
		for (size_t j = 0; j < reg.n[part] && i < k; j++, i++) {
			float acc = 0;
			for (int c = 0; c < ch; c++)
				acc += in[i * ch + c];
			acc /= (float)ch;
			reg.p[part][j] = acc;
			float a = fabsf(acc);
			peak = a > peak ? a : peak;
		}
	}
	emo_ring_write_commit(s->ring, k);
	if (k < n)
		emo_ring_overflow_add(s->ring, n - k);
	atomic_fetch_add_explicit(&s->frames, k, memory_order_relaxed);
	note_peak(s, peak);
}

static int pa_callback(const void *input, void *output, unsigned long frames,
		       const PaStreamCallbackTimeInfo *ti,
		       PaStreamCallbackFlags flags, void *ud)
{
	struct emo_source *s = ud;
	(void)output;
	(void)ti;
	if (flags & paInputOverflow)
		atomic_fetch_add_explicit(&s->in_overflows, 1, memory_order_relaxed);
	if (input)
		push_frames(s, input, frames, s->channels);
	sem_post(&s->wake);
	return atomic_load_explicit(&s->stop, memory_order_relaxed) ? paComplete
								    : paContinue;
}

static void pa_finished(void *ud)
{
	struct emo_source *s = ud;
	if (!atomic_load_explicit(&s->stop, memory_order_relaxed))
		atomic_store_explicit(&s->error, EMO_E_DEVICE, memory_order_relaxed);
	/* release: everything written to the ring precedes the flag */
	atomic_store_explicit(&s->finished, true, memory_order_release);
	sem_post(&s->wake);
}

/* ALSA, JACK and OSS print their probing failures ("cannot find card 0",
 * "jack server is not running") straight to stderr while PortAudio
 * enumerates devices, which would scribble over the TUI. Unless
 * EMOTOP_DEBUG is set, stderr is pointed at /dev/null for the duration of
 * those calls only (main thread, before any stream runs). */
static int quiet_begin(void)
{
	if (getenv("EMOTOP_DEBUG"))
		return -1;
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (saved >= 0 && null >= 0)
		dup2(null, STDERR_FILENO);
	if (null >= 0)
		close(null);
	return saved;
}

static void quiet_end(int saved)
{
	if (saved < 0)
		return;
	dup2(saved, STDERR_FILENO);
	close(saved);
}

int emo_source_pa_init(void)
{
	return pa_acquire();
}

static int pa_acquire(void)
{
	if (pa_refs++ == 0) {
		int q = quiet_begin();
		PaError e = Pa_Initialize();
		quiet_end(q);
		if (e != paNoError) {
			pa_refs = 0;
			emo_err("cannot initialise PortAudio: %s", Pa_GetErrorText(e));
			return EMO_E_DEVICE;
		}
	}
	return 0;
}

void emo_source_terminate(void)
{
	if (pa_refs > 0) {
		Pa_Terminate();
		pa_refs = 0;
	}
}

static PaDeviceIndex find_device(const char *spec)
{
	int n = Pa_GetDeviceCount();
	if (!spec || !*spec)
		return Pa_GetDefaultInputDevice();
	char *end;
	long idx = strtol(spec, &end, 10);
	if (*end == 0 && idx >= 0 && idx < n) {
		const PaDeviceInfo *di = Pa_GetDeviceInfo((PaDeviceIndex)idx);
		return di && di->maxInputChannels > 0 ? (PaDeviceIndex)idx : paNoDevice;
	}
	/* exact name first, then a case-insensitive part of a name */
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < n; i++) {
			const PaDeviceInfo *di = Pa_GetDeviceInfo(i);
			if (!di || di->maxInputChannels < 1)
				continue;
			if (pass == 0 ? !strcmp(di->name, spec) : !!strcasestr(di->name, spec))
				return i;
		}
	return paNoDevice;
}

static int open_device(struct emo_source *s)
{
	int err = pa_acquire();
	if (err)
		return err;
	s->pa_init = true;
	PaDeviceIndex dev = find_device(s->cfg.device);
	if (dev == paNoDevice) {
		if (s->cfg.device)
			emo_err("no input device matches '%s'; 'emotop devices' lists "
				"them", s->cfg.device);
		else
			emo_err("no audio input device found. Analyse a file instead "
				"with --input FILE, or see 'emotop devices'");
		return EMO_E_NODEVICE;
	}
	const PaDeviceInfo *di = Pa_GetDeviceInfo(dev);
	s->channels = di->maxInputChannels >= 2 ? 2 : 1;
	PaStreamParameters in = {.device = dev, .channelCount = s->channels,
				 .sampleFormat = paFloat32,
				 .suggestedLatency = di->defaultLowInputLatency};
	/* the device's own rate first: 16 kHz is often refused, and the
	 * resampler is there to convert whatever we get */
	double rates[] = {di->defaultSampleRate, 48000, 44100, 32000, 16000,
			  22050, 96000, 8000};
	double rate = 0;
	int q = quiet_begin();
	for (size_t i = 0; i < sizeof rates / sizeof *rates; i++)
		if (rates[i] > 0 &&
		    Pa_IsFormatSupported(&in, NULL, rates[i]) == paFormatIsSupported) {
			rate = rates[i];
			break;
		}
	quiet_end(q);
	if (rate == 0) {
		emo_err("input device '%s' accepts none of the usual sample rates",
			di->name);
		return EMO_E_DEVICE;
	}
	s->rate = (int)rate;
	snprintf(s->name, sizeof s->name, "%s", di->name);
	size_t cap = (size_t)(s->cfg.ring_seconds * rate);
	if ((err = emo_ring_create(cap, 0, &s->ring)))
		return err;
	q = quiet_begin();
	PaError e = Pa_OpenStream(&s->pa, &in, NULL, rate, paFramesPerBufferUnspecified,
				  paNoFlag, pa_callback, s);
	quiet_end(q);
	if (e != paNoError) {
		emo_err("cannot open input device '%s' at %d Hz: %s", di->name,
			s->rate, Pa_GetErrorText(e));
		s->pa = NULL;
		return EMO_E_DEVICE;
	}
	Pa_SetStreamFinishedCallback(s->pa, pa_finished);
	return 0;
}

static int open_file(struct emo_source *s)
{
	SF_INFO info = {0};
	s->sf = sf_open(s->cfg.path, SFM_READ, &info);
	if (!s->sf) {
		emo_err("%s: cannot read audio: %s", s->cfg.path, sf_strerror(NULL));
		return EMO_E_AUDIO;
	}
	if (info.channels < 1 || info.samplerate < 1000 || info.samplerate > 768000) {
		emo_err("%s: unusable channel count or sample rate", s->cfg.path);
		return EMO_E_AUDIO;
	}
	s->rate = info.samplerate;
	s->channels = info.channels;
	const char *b = strrchr(s->cfg.path, '/');
	snprintf(s->name, sizeof s->name, "%s", b ? b + 1 : s->cfg.path);
	return emo_ring_create((size_t)(s->cfg.ring_seconds * s->rate), 0, &s->ring);
}

static int open_push(struct emo_source *s)
{
	if (s->cfg.rate < 1000 || s->cfg.rate > 768000) {
		emo_err("source: a push source needs a rate of 1000..768000 Hz, not %d",
			s->cfg.rate);
		return -EINVAL;
	}
	s->rate = s->cfg.rate;
	s->channels = 1;
	snprintf(s->name, sizeof s->name, "%s", s->cfg.name ? s->cfg.name : "push");
	return emo_ring_create((size_t)(s->cfg.ring_seconds * s->rate), 0, &s->ring);
}

int emo_source_open(const struct emo_source_config *cfg, struct emo_source **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	struct emo_source_config defaults = emo_source_config_default();
	if (!cfg)
		cfg = &defaults;
	if (cfg->kind == EMO_SOURCE_FILE && !cfg->path) {
		emo_err("source: a file source needs a path (NULL)");
		return -EINVAL;
	}
	struct emo_source *s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	if (!(s->cfg.ring_seconds >= 0.5))
		s->cfg.ring_seconds = 4.0;
	if (!(s->cfg.speed > 0))
		s->cfg.speed = 1.0;
	sem_init(&s->wake, 0, 0);
	sem_init(&s->space, 0, 0);
	int err = cfg->kind == EMO_SOURCE_FILE ? open_file(s) :
		  cfg->kind == EMO_SOURCE_PUSH ? open_push(s) : open_device(s);
	if (err) {
		emo_source_close(s);
		return err;
	}
	*out = s;
	return 0;
}

static void timespec_add(struct timespec *t, double sec)
{
	long ns = t->tv_nsec + (long)(sec * 1e9);
	t->tv_sec += ns / 1000000000L;
	t->tv_nsec = ns % 1000000000L;
}

static void *file_thread(void *arg)
{
	struct emo_source *s = arg;
	enum { BLOCK = 1024 };
	float *buf = malloc(sizeof(float) * BLOCK * (size_t)s->channels);
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	while (buf && !atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		size_t want = BLOCK;
		if (!s->cfg.paced) {
			/* fast mode: never overflow; when the ring is full, wait
			 * for the consumer to post `space` (with a timeout, to
			 * notice a stop request) */
			struct emo_ring_regions reg;
			if (emo_ring_write_acquire(s->ring, &reg) < BLOCK) {
				struct timespec dl;
				clock_gettime(CLOCK_REALTIME, &dl);
				timespec_add(&dl, 0.1);
				sem_timedwait(&s->space, &dl);
				continue;
			}
		}
		sf_count_t got = sf_readf_float(s->sf, buf, (sf_count_t)want);
		if (got > 0) {
			push_frames(s, buf, (size_t)got, s->channels);
			sem_post(&s->wake);
		}
		if (got < (sf_count_t)want) {
			if (sf_error(s->sf))
				atomic_store_explicit(&s->error, EMO_E_AUDIO, memory_order_relaxed);
			break;
		}
		if (s->cfg.paced) {
			/* absolute deadlines: no drift however long each block took */
			timespec_add(&next, (double)got / s->rate / s->cfg.speed);
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
				;
		}
	}
	free(buf);
	atomic_store_explicit(&s->finished, true, memory_order_release);
	sem_post(&s->wake);
	return NULL;
}

int emo_source_start(struct emo_source *s)
{
	if (!s)
		return -EINVAL;
	if (s->thread_started || (s->pa && Pa_IsStreamActive(s->pa) == 1)) {
		emo_err("source: already started");
		return -EBUSY;
	}
	if (s->cfg.kind == EMO_SOURCE_PUSH)
		return 0; /* the caller pushes */
	if (s->cfg.kind == EMO_SOURCE_FILE) {
		if (pthread_create(&s->thread, NULL, file_thread, s))
			return -EAGAIN;
		s->thread_started = true;
		return 0;
	}
	PaError e = Pa_StartStream(s->pa);
	if (e != paNoError) {
		emo_err("cannot start input device '%s': %s", s->name, Pa_GetErrorText(e));
		return EMO_E_DEVICE;
	}
	return 0;
}

long emo_source_push(struct emo_source *s, const float *x, size_t n)
{
	if (!s || s->cfg.kind != EMO_SOURCE_PUSH || (!x && n) ||
	    atomic_load_explicit(&s->finished, memory_order_relaxed))
		return -EINVAL;
	uint64_t before = atomic_load_explicit(&s->frames, memory_order_relaxed);
	push_frames(s, x, n, 1);
	sem_post(&s->wake);
	return (long)(atomic_load_explicit(&s->frames, memory_order_relaxed) - before);
}

void emo_source_push_end(struct emo_source *s)
{
	if (!s || s->cfg.kind != EMO_SOURCE_PUSH)
		return;
	/* release: everything pushed precedes the flag */
	atomic_store_explicit(&s->finished, true, memory_order_release);
	sem_post(&s->wake);
}

void emo_source_stop(struct emo_source *s)
{
	if (!s)
		return;
	atomic_store_explicit(&s->stop, true, memory_order_relaxed);
	if (s->thread_started) {
		pthread_join(s->thread, NULL);
		s->thread_started = false;
	}
	if (s->pa && Pa_IsStreamStopped(s->pa) == 0)
		Pa_StopStream(s->pa);
}

void emo_source_close(struct emo_source *s)
{
	if (!s)
		return;
	emo_source_stop(s);
	if (s->pa)
		Pa_CloseStream(s->pa);
	if (s->sf)
		sf_close(s->sf);
	emo_ring_destroy(s->ring);
	sem_destroy(&s->space);
	sem_destroy(&s->wake);
	free(s);
}

void emo_source_consumed(struct emo_source *s)
{
	int v = 0;
	/* one pending post is enough to wake the file thread */
	if (sem_getvalue(&s->space, &v) == 0 && v == 0)
		sem_post(&s->space);
}

struct emo_ring *emo_source_ring(struct emo_source *s) { return s->ring; }
void emo_source_notify(struct emo_source *s)
{
	sem_post(&s->wake);
}

void emo_source_wait(struct emo_source *s, int timeout_ms)
{
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_nsec += (long)timeout_ms % 1000 * 1000000L;
	dl.tv_sec += timeout_ms / 1000;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	while (sem_timedwait(&s->wake, &dl) == -1 && errno == EINTR)
		;
}

bool emo_source_is_device(const struct emo_source *s)
{
	return s->cfg.kind == EMO_SOURCE_DEVICE;
}

bool emo_source_realtime(const struct emo_source *s)
{
	return s->cfg.kind != EMO_SOURCE_FILE || s->cfg.paced;
}
int emo_source_rate(const struct emo_source *s) { return s->rate; }
int emo_source_channels(const struct emo_source *s) { return s->channels; }
const char *emo_source_name(const struct emo_source *s) { return s->name; }

bool emo_source_finished(const struct emo_source *s)
{
	return atomic_load_explicit(&((struct emo_source *)s)->finished,
				    memory_order_acquire);
}

int emo_source_error(const struct emo_source *s)
{
	return atomic_load_explicit(&((struct emo_source *)s)->error, memory_order_relaxed);
}

uint64_t emo_source_frames(const struct emo_source *s)
{
	return atomic_load_explicit(&((struct emo_source *)s)->frames, memory_order_relaxed);
}

uint64_t emo_source_input_overflows(const struct emo_source *s)
{
	return atomic_load_explicit(&((struct emo_source *)s)->in_overflows,
				    memory_order_relaxed);
}
