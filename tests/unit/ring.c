/* SPSC ring: regions and wrap-around with indices near UINT32_MAX, overflow
 * accounting when the consumer stalls, and a two-thread stress of 10^8
 * samples whose sequence is checked on the consumer side (no loss, no
 * duplication, no reordering while the consumer keeps up). Run under
 * ThreadSanitizer by tools/check.sh (suite "threads"). */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>

#include "emotop/ring.h"
#include "testlib.h"

static void test_basic(uint32_t start)
{
	struct emo_ring *r;
	CHECK_EQ_INT(emo_ring_create(10, start, &r), 0);
	CHECK_EQ_INT(emo_ring_capacity(r), 16);
	float in[40], out[40];
	for (int i = 0; i < 40; i++)
		in[i] = (float)i;
	/* many laps so the indices cross UINT32_MAX when start is near it */
	size_t total = 0;
	for (int lap = 0; lap < 20; lap++) {
		CHECK_EQ_INT(emo_ring_write(r, in, 11), 11);
		CHECK_EQ_INT(emo_ring_available(r), 11);
		struct emo_ring_regions reg;
		size_t n = emo_ring_read_acquire(r, &reg);
		CHECK_EQ_INT(n, 11);
		CHECK_EQ_INT(reg.n[0] + reg.n[1], 11);
		for (size_t i = 0; i < reg.n[0]; i++)
			CHECK(reg.p[0][i] == (float)i);
		for (size_t i = 0; i < reg.n[1]; i++)
			CHECK(reg.p[1][i] == (float)(reg.n[0] + i));
		emo_ring_read_commit(r, 11);
		total += 11;
	}
	CHECK_EQ_INT(emo_ring_overflow(r), 0);
	/* overflow: a stalled consumer; the producer never blocks */
	CHECK_EQ_INT(emo_ring_write(r, in, 40), 16);
	CHECK_EQ_INT(emo_ring_overflow(r), 24);
	CHECK_EQ_INT(emo_ring_write(r, in, 5), 0);
	CHECK_EQ_INT(emo_ring_overflow(r), 29);
	CHECK_EQ_INT(emo_ring_read(r, out, 40), 16);
	for (int i = 0; i < 16; i++)
		CHECK(out[i] == (float)i);
	/* zero-copy write across the wrap */
	struct emo_ring_regions w;
	CHECK_EQ_INT(emo_ring_write_acquire(r, &w), 16);
	CHECK_EQ_INT(w.n[0] + w.n[1], 16);
	for (size_t i = 0; i < w.n[0]; i++)
		w.p[0][i] = 100.0f + (float)i;
	for (size_t i = 0; i < w.n[1]; i++)
		w.p[1][i] = 100.0f + (float)(w.n[0] + i);
	emo_ring_write_commit(r, 16);
	CHECK_EQ_INT(emo_ring_skip(r, 3), 3);
	CHECK_EQ_INT(emo_ring_read(r, out, 40), 13);
	for (int i = 0; i < 13; i++)
		CHECK(out[i] == 103.0f + (float)i);
	emo_ring_destroy(r);
	(void)total;
}

#define STRESS_N 100000000ull /* 10^8 samples */

struct stress {
	struct emo_ring *r;
	uint64_t n;
	uint64_t bad, got;
};

/* sample k carries k mod 2^24, exactly representable as a float */
static void *producer(void *arg)
{
	struct stress *s = arg;
	uint64_t k = 0;
	uint32_t rng = 7;
	while (k < s->n) {
		struct emo_ring_regions reg;
		size_t free_n = emo_ring_write_acquire(s->r, &reg);
		rng = rng * 1664525u + 1013904223u;
		size_t want = 1 + (rng >> 20) % 700; /* uneven block sizes */
		if (want > free_n)
			want = free_n;
		if (want > s->n - k)
			want = (size_t)(s->n - k);
		if (!want) {
			sched_yield(); /* test producer may wait; a callback would drop */
			continue;
		}
		size_t i = 0;
		for (int part = 0; part < 2; part++)
			for (size_t j = 0; j < reg.n[part] && i < want; j++, i++)
				reg.p[part][j] = (float)((k + i) & 0xffffff);
		emo_ring_write_commit(s->r, want);
		k += want;
	}
	return NULL;
}

static void *consumer(void *arg)
{
	struct stress *s = arg;
	float buf[509];
	while (s->got < s->n) {
		size_t n = emo_ring_read(s->r, buf, sizeof buf / sizeof *buf);
		if (!n) {
			sched_yield();
			continue;
		}
		for (size_t i = 0; i < n; i++)
			if (buf[i] != (float)((s->got + i) & 0xffffff))
				s->bad++;
		s->got += n;
	}
	return NULL;
}

static void test_stress(uint64_t n, uint32_t start)
{
	struct stress s = {.n = n};
	CHECK_EQ_INT(emo_ring_create(4096, start, &s.r), 0);
	pthread_t a, b;
	pthread_create(&a, NULL, producer, &s);
	pthread_create(&b, NULL, consumer, &s);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	fprintf(stderr, "  stress: %llu samples through a 4096 ring (start %u): "
		"%llu out of sequence, overflow %llu\n", (unsigned long long)s.got,
		start, (unsigned long long)s.bad,
		(unsigned long long)emo_ring_overflow(s.r));
	CHECK_EQ_INT(s.got, n);
	CHECK_EQ_INT(s.bad, 0);
	CHECK_EQ_INT(emo_ring_overflow(s.r), 0);
	emo_ring_destroy(s.r);
}

int main(void)
{
	t_init();
	test_basic(0);
	test_basic(UINT32_MAX - 37);
	struct emo_ring *r;
	CHECK(emo_ring_create(1, 0, &r) != 0);
	test_stress(STRESS_N, UINT32_MAX - 5000); /* ~3 s under TSan */
	return t_finish("test-ring");
}
