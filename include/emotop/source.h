/* emotop — audio sources feeding a ring: a PortAudio input device, a file
 * read by libsndfile (paced at real time, or as fast as the consumer takes
 * it), or samples the caller pushes as they arrive (a browser's microphone
 * over a network). All downmix to mono float at the source's own rate.
 *
 * The device callback only writes the ring, bumps atomic counters and
 * posts a semaphore (sem_post is async-signal-safe and lock-free on Linux);
 * it never allocates, locks, logs or does I/O. The file source runs its
 * own thread.
 *
 * Ownership: emo_source_open() returns a source the caller owns; close it
 * with emo_source_close() after every stream using it is destroyed. The
 * ring and the name it returns live as long as the source. */
#ifndef EMOTOP_SOURCE_H
#define EMOTOP_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "emotop/ring.h"

#ifdef __cplusplus
extern "C" {
#endif

enum emo_source_kind { EMO_SOURCE_DEVICE, EMO_SOURCE_FILE, EMO_SOURCE_PUSH };

struct emo_source_config {
	enum emo_source_kind kind;
	const char *device;  /* index or part of a name; NULL: default input */
	const char *path;    /* file source */
	bool paced;          /* file source: real time (true) or fast */
	double speed;        /* paced file: 1 = real time */
	double ring_seconds; /* ring capacity in seconds of audio; default 4 */
	/* push source: the samples' rate (1000..768000 Hz) and a name for
	 * the log (NULL: "push") */
	int rate;
	const char *name;
};

struct emo_source_config emo_source_config_default(void);

struct emo_source;

/* Opens the source (device: negotiates a sample rate the device accepts,
 * preferring its default). Does not start it. */
int emo_source_open(const struct emo_source_config *cfg, struct emo_source **out);
/* The consumer's wake-up: the source notifies whenever samples arrive or it
 * ends; emo_source_wait() returns then, or after timeout_ms. The consumer
 * may notify too, to wake its own thread (stop requests). Both are safe
 * from any thread; notify is async-signal-safe. */
void emo_source_notify(struct emo_source *s);
void emo_source_wait(struct emo_source *s, int timeout_ms);
int emo_source_start(struct emo_source *s);
/* Push source: writes n mono frames to the ring, as a device callback
 * would (frames beyond the ring's free space are dropped and counted), and
 * wakes the consumer. One producer thread; after emo_source_push_end() or
 * on another kind of source, -EINVAL. Returns the frames written. */
long emo_source_push(struct emo_source *s, const float *x, size_t n);
/* Push source: no more samples (the producer left); the consumer sees the
 * source finished once it has read what was pushed. */
void emo_source_push_end(struct emo_source *s);
/* Stops capture or the file thread; safe to call twice. */
void emo_source_stop(struct emo_source *s);
void emo_source_close(struct emo_source *s);

struct emo_ring *emo_source_ring(struct emo_source *s);
int emo_source_rate(const struct emo_source *s);      /* Hz */
int emo_source_channels(const struct emo_source *s);  /* before downmix */
const char *emo_source_name(const struct emo_source *s);
bool emo_source_is_device(const struct emo_source *s);
/* Devices, pushed samples and paced files run at real time; a fast file
 * does not. */
bool emo_source_realtime(const struct emo_source *s);
/* True once a file source has delivered everything, or a device stream
 * has stopped on its own (vanished device): emo_source_error() says which. */
bool emo_source_finished(const struct emo_source *s);
int emo_source_error(const struct emo_source *s);
/* Frames delivered into the ring, and frames the hardware reported lost
 * (PortAudio input overflow) — ring overflow is counted by the ring. */
uint64_t emo_source_frames(const struct emo_source *s);
uint64_t emo_source_input_overflows(const struct emo_source *s);
/* Latest block's peak (0..1) since the last call; for level meters. */
float emo_source_take_peak(struct emo_source *s);

/* The consumer read from the ring (lets a fast file source go on). */
void emo_source_consumed(struct emo_source *s);

/* Initialises PortAudio (quietly: the host APIs' probing noise is hidden
 * unless EMOTOP_DEBUG is set); paired with emo_source_terminate(). */
int emo_source_pa_init(void);

/* Releases PortAudio if this process initialised it (call at exit). */
void emo_source_terminate(void);

#ifdef __cplusplus
}
#endif
#endif
