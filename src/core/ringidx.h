/* emotop — the one lock-free single-producer single-consumer protocol,
 * kept apart from what it indexes (as PipeWire's spa_ringbuffer keeps its
 * indices apart from the memory): the sample ring (ring.c, floats) and the
 * event queue (spsc.c, fixed-size items) both move these two indices.
 *
 * Free-running 32-bit indices on separate cache lines; unsigned wrap gives
 * the distance, so a capacity must be a power of two of at most 2^31.
 * Each index is written by one thread only, which may read it relaxed;
 * each side loads the other's index with acquire (what the other side
 * wrote, or finished reading, before publishing it is visible) and
 * publishes its own with release (its data accesses happen before the
 * index moves). Wait-free on both sides; nothing here allocates. */
#ifndef EMOTOP_RINGIDX_H
#define EMOTOP_RINGIDX_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>

struct emo_ringidx {
	alignas(64) _Atomic uint32_t w; /* written by the producer only */
	alignas(64) _Atomic uint32_t r; /* written by the consumer only */
};

static inline void emo_ringidx_init(struct emo_ringidx *x, uint32_t start)
{
	atomic_init(&x->w, start);
	atomic_init(&x->r, start);
}

/* Producer: its write index; *space = slots free of `cap`. */
static inline uint32_t emo_ringidx_write_begin(struct emo_ringidx *x, uint32_t cap,
					       uint32_t *space)
{
	uint32_t w = atomic_load_explicit(&x->w, memory_order_relaxed);
	/* acquire: the consumer is done with the slots it released */
	uint32_t r = atomic_load_explicit(&x->r, memory_order_acquire);
	*space = cap - (uint32_t)(w - r);
	return w;
}

/* Producer: publishes n slots written from its write index on. */
static inline void emo_ringidx_write_end(struct emo_ringidx *x, uint32_t n)
{
	uint32_t w = atomic_load_explicit(&x->w, memory_order_relaxed);
	/* release: the slots' contents are visible before the index moves */
	atomic_store_explicit(&x->w, w + n, memory_order_release);
}

/* Consumer: its read index; *filled = slots ready to read. */
static inline uint32_t emo_ringidx_read_begin(struct emo_ringidx *x, uint32_t *filled)
{
	/* acquire: pairs with the producer's release of w */
	uint32_t w = atomic_load_explicit(&x->w, memory_order_acquire);
	uint32_t r = atomic_load_explicit(&x->r, memory_order_relaxed);
	*filled = (uint32_t)(w - r);
	return r;
}

/* Consumer: releases n slots read from its read index on. */
static inline void emo_ringidx_read_end(struct emo_ringidx *x, uint32_t n)
{
	uint32_t r = atomic_load_explicit(&x->r, memory_order_relaxed);
	/* release: the reads finish before the producer may reuse the slots */
	atomic_store_explicit(&x->r, r + n, memory_order_release);
}

/* Slots filled now, from any thread (a bound when read from a third). */
static inline uint32_t emo_ringidx_filled(const struct emo_ringidx *x)
{
	struct emo_ringidx *m = (struct emo_ringidx *)x; /* loads only */
	uint32_t w = atomic_load_explicit(&m->w, memory_order_acquire);
	uint32_t r = atomic_load_explicit(&m->r, memory_order_acquire);
	return (uint32_t)(w - r);
}

#endif
