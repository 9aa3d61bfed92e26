/* emotop — a bounded single-producer single-consumer queue of fixed-size
 * items (the live stream's event queue), moved by the same index protocol
 * as the sample ring (ringidx.h). Exactly one thread may push and exactly
 * one (other or the same) may pop. A full queue refuses the item (the
 * caller counts it); nothing blocks or allocates after init. */
#ifndef EMOTOP_SPSC_H
#define EMOTOP_SPSC_H

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ringidx.h"

#ifdef __cplusplus
extern "C" {
#endif

struct emo_spsc {
	struct emo_ringidx idx;
	alignas(64) unsigned char *buf; /* (cap, item) bytes */
	size_t item;                     /* bytes per item */
	uint32_t cap;                    /* items; a power of two */
};

/* cap is rounded up to a power of two (at least 2). 0 or -ENOMEM. */
int emo_spsc_init(struct emo_spsc *q, size_t item_size, uint32_t cap);
void emo_spsc_free(struct emo_spsc *q);
/* Producer: copies the item in; false (nothing changed) when full. */
bool emo_spsc_push(struct emo_spsc *q, const void *item);
/* Consumer: copies the oldest item out; false when empty. */
bool emo_spsc_pop(struct emo_spsc *q, void *item);
/* Items queued now (exact from either side's own view, a bound otherwise). */
uint32_t emo_spsc_size(const struct emo_spsc *q);

#ifdef __cplusplus
}
#endif

#endif
