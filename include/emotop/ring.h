/* emotop — single-producer single-consumer lock-free ring of floats.
 *
 * One thread writes (the audio callback), one thread reads (the analysis
 * thread). Capacity is a power of two; the read and write indices are
 * free-running 32-bit counters (they wrap at 2^32, which the power-of-two
 * capacity makes harmless) on separate cache lines. Writing never blocks:
 * what does not fit is dropped and counted. Both sides can work in place
 * through two-region acquire/commit, so the callback copies straight from
 * PortAudio's buffer into the ring.
 *
 * emo_ring_write*, emo_ring_overflow_add are safe in the audio callback: no
 * locks, no allocation, no system calls. */
#ifndef EMOTOP_RING_H
#define EMOTOP_RING_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct emo_ring;

/* Up to two contiguous regions (the second after wrap-around). */
struct emo_ring_regions {
	float *p[2];
	size_t n[2];
};

/* capacity: rounded up to a power of two (>= 2, <= 2^30 floats).
 * start_index: initial value of both indices (0 normally; tests start near
 * UINT32_MAX to exercise wrap-around). */
int emo_ring_create(size_t capacity, uint32_t start_index, struct emo_ring **out);
void emo_ring_destroy(struct emo_ring *r);
size_t emo_ring_capacity(const struct emo_ring *r);

/* Producer. Copies min(n, free) floats, counts the rest as overflow and
 * returns how many were written. */
size_t emo_ring_write(struct emo_ring *r, const float *x, size_t n);
/* Producer, zero copy: regions of free space; then commit what was filled. */
size_t emo_ring_write_acquire(struct emo_ring *r, struct emo_ring_regions *reg);
void emo_ring_write_commit(struct emo_ring *r, size_t n);
/* Producer: count samples it had to drop. */
void emo_ring_overflow_add(struct emo_ring *r, size_t n);

/* Consumer. Copies up to n available floats; returns how many. */
size_t emo_ring_read(struct emo_ring *r, float *x, size_t n);
size_t emo_ring_read_acquire(struct emo_ring *r, struct emo_ring_regions *reg);
void emo_ring_read_commit(struct emo_ring *r, size_t n);
/* Consumer: drop up to n available samples; returns how many. */
size_t emo_ring_skip(struct emo_ring *r, size_t n);

/* Either side: floats readable now, and samples dropped so far. */
size_t emo_ring_available(const struct emo_ring *r);
uint64_t emo_ring_overflow(const struct emo_ring *r);

#ifdef __cplusplus
}
#endif
#endif
