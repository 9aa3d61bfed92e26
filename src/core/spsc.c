/* Bounded SPSC queue. See include/emotop/spsc.h for the protocol. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/spsc.h"

int emo_spsc_init(struct emo_spsc *q, size_t item_size, uint32_t cap)
{
	uint32_t c = 2;
	while (c < cap && c < (1u << 30))
		c <<= 1;
	q->buf = calloc(c, item_size);
	if (!q->buf)
		return -ENOMEM;
	q->item = item_size;
	q->cap = c;
	atomic_init(&q->w, 0);
	atomic_init(&q->r, 0);
	return 0;
}

void emo_spsc_free(struct emo_spsc *q)
{
	free(q->buf);
	q->buf = NULL;
}

bool emo_spsc_push(struct emo_spsc *q, const void *item)
{
	uint32_t w = atomic_load_explicit(&q->w, memory_order_relaxed);
	/* acquire: the consumer is done with the slot it freed */
	uint32_t r = atomic_load_explicit(&q->r, memory_order_acquire);
	if (w - r == q->cap)
		return false;
	memcpy(q->buf + (size_t)(w & (q->cap - 1)) * q->item, item, q->item);
	/* release: the item's bytes are visible before the index moves */
	atomic_store_explicit(&q->w, w + 1, memory_order_release);
	return true;
}

bool emo_spsc_pop(struct emo_spsc *q, void *item)
{
	uint32_t r = atomic_load_explicit(&q->r, memory_order_relaxed);
	/* acquire: pairs with the producer's release of w */
	uint32_t w = atomic_load_explicit(&q->w, memory_order_acquire);
	if (r == w)
		return false;
	memcpy(item, q->buf + (size_t)(r & (q->cap - 1)) * q->item, q->item);
	/* release: done reading the slot before the producer may reuse it */
	atomic_store_explicit(&q->r, r + 1, memory_order_release);
	return true;
}

uint32_t emo_spsc_size(const struct emo_spsc *q)
{
	uint32_t w = atomic_load_explicit(&q->w, memory_order_acquire);
	uint32_t r = atomic_load_explicit(&q->r, memory_order_acquire);
	return w - r;
}
