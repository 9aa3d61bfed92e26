/* SPSC lock-free float ring (see include/emotop/ring.h): float slots
 * moved by the one index protocol of ringidx.h. */
#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/ringidx.h"
#include "emotop/ring.h"

struct emo_ring {
	struct emo_ringidx idx;
	/* producer-written: overflow counter, on a line of its own */
	alignas(64) _Atomic uint64_t overflow;
	alignas(64) uint32_t mask; /* capacity - 1 */
	float *buf;                /* (capacity) samples */
};

int emo_ring_create(size_t capacity, uint32_t start_index, struct emo_ring **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (capacity < 2 || capacity > (1u << 30))
		return -EINVAL;
	size_t cap = 2;
	while (cap < capacity)
		cap <<= 1;
	struct emo_ring *r = aligned_alloc(64, (sizeof *r + 63) & ~(size_t)63);
	if (!r)
		return -ENOMEM;
	memset(r, 0, sizeof *r);
	r->buf = calloc(cap, sizeof(float));
	if (!r->buf) {
		free(r);
		return -ENOMEM;
	}
	r->mask = (uint32_t)(cap - 1);
	emo_ringidx_init(&r->idx, start_index);
	atomic_init(&r->overflow, 0);
	*out = r;
	return 0;
}

void emo_ring_destroy(struct emo_ring *r)
{
	if (!r)
		return;
	free(r->buf);
	free(r);
}

size_t emo_ring_capacity(const struct emo_ring *r)
{
	return (size_t)r->mask + 1;
}

static void regions(struct emo_ring *r, uint32_t start, size_t n,
		    struct emo_ring_regions *reg)
{
	size_t cap = (size_t)r->mask + 1, off = start & r->mask;
	size_t first = cap - off < n ? cap - off : n;
	reg->p[0] = r->buf + off;
	reg->n[0] = first;
	reg->p[1] = r->buf;
	reg->n[1] = n - first;
}

size_t emo_ring_write_acquire(struct emo_ring *r, struct emo_ring_regions *reg)
{
	uint32_t space;
	uint32_t w = emo_ringidx_write_begin(&r->idx, r->mask + 1, &space);
	regions(r, w, space, reg);
	return space;
}

void emo_ring_write_commit(struct emo_ring *r, size_t n)
{
	emo_ringidx_write_end(&r->idx, (uint32_t)n);
}

void emo_ring_overflow_add(struct emo_ring *r, size_t n)
{
	/* relaxed: a statistic; readers need no ordering with the data */
	atomic_fetch_add_explicit(&r->overflow, n, memory_order_relaxed);
}

size_t emo_ring_write(struct emo_ring *r, const float *x, size_t n)
{
	struct emo_ring_regions reg;
	size_t free_n = emo_ring_write_acquire(r, &reg);
	size_t k = n < free_n ? n : free_n;
	size_t a = k < reg.n[0] ? k : reg.n[0];
	memcpy(reg.p[0], x, a * sizeof(float));
	memcpy(reg.p[1], x + a, (k - a) * sizeof(float));
	emo_ring_write_commit(r, k);
	if (k < n)
		emo_ring_overflow_add(r, n - k);
	return k;
}

size_t emo_ring_read_acquire(struct emo_ring *r, struct emo_ring_regions *reg)
{
	uint32_t filled;
	uint32_t rd = emo_ringidx_read_begin(&r->idx, &filled);
	regions(r, rd, filled, reg);
	return filled;
}

void emo_ring_read_commit(struct emo_ring *r, size_t n)
{
	emo_ringidx_read_end(&r->idx, (uint32_t)n);
}

size_t emo_ring_read(struct emo_ring *r, float *x, size_t n)
{
	struct emo_ring_regions reg;
	size_t avail = emo_ring_read_acquire(r, &reg);
	size_t k = n < avail ? n : avail;
	size_t a = k < reg.n[0] ? k : reg.n[0];
	memcpy(x, reg.p[0], a * sizeof(float));
	memcpy(x + a, reg.p[1], (k - a) * sizeof(float));
	emo_ring_read_commit(r, k);
	return k;
}

size_t emo_ring_skip(struct emo_ring *r, size_t n)
{
	struct emo_ring_regions reg;
	size_t avail = emo_ring_read_acquire(r, &reg);
	size_t k = n < avail ? n : avail;
	emo_ring_read_commit(r, k);
	return k;
}

size_t emo_ring_available(const struct emo_ring *r)
{
	return emo_ringidx_filled(&r->idx);
}

uint64_t emo_ring_overflow(const struct emo_ring *r)
{
	return atomic_load_explicit(&((struct emo_ring *)r)->overflow,
				    memory_order_relaxed);
}
