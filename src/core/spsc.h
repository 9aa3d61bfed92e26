/* emotop — a bounded single-producer single-consumer queue of fixed-size
 * items (the live stream's event queue).
 *
 * Lock-free and wait-free on both sides, as the sample ring (ring.h):
 * free-running 32-bit indices on separate cache lines; the producer
 * publishes an item with a release store of its index after copying it in,
 * the consumer takes it with an acquire load and releases the slot with a
 * release store of its own index. Exactly one thread may push and exactly
 * one (other or the same) may pop. A full queue refuses the item (the
 * caller counts it); nothing blocks or allocates after init. */
#ifndef EMOTOP_SPSC_H
#define EMOTOP_SPSC_H

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct emo_spsc {
	unsigned char *buf;
	size_t item;         /* bytes per item */
	uint32_t cap;        /* items; a power of two */
	alignas(64) _Atomic uint32_t w; /* written by the producer only */
	alignas(64) _Atomic uint32_t r; /* written by the consumer only */
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
