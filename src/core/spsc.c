/* Bounded SPSC queue of items (spsc.h) over the index protocol of ringidx.h. */
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
	emo_ringidx_init(&q->idx, 0);
	return 0;
}

void emo_spsc_free(struct emo_spsc *q)
{
	free(q->buf);
	q->buf = NULL;
}

bool emo_spsc_push(struct emo_spsc *q, const void *item)
{
	uint32_t space;
	uint32_t w = emo_ringidx_write_begin(&q->idx, q->cap, &space);
	if (!space)
		return false;
	memcpy(q->buf + (size_t)(w & (q->cap - 1)) * q->item, item, q->item);
	emo_ringidx_write_end(&q->idx, 1);
	return true;
}

bool emo_spsc_pop(struct emo_spsc *q, void *item)
{
	uint32_t filled;
	uint32_t r = emo_ringidx_read_begin(&q->idx, &filled);
	if (!filled)
		return false;
	memcpy(item, q->buf + (size_t)(r & (q->cap - 1)) * q->item, q->item);
	emo_ringidx_read_end(&q->idx, 1);
	return true;
}

uint32_t emo_spsc_size(const struct emo_spsc *q)
{
	return emo_ringidx_filled(&q->idx);
}
