/* SPSC item queue (the live stream's event queue): capacity rounding, full
 * and empty, FIFO order across index wrap-around, and a two-thread stress
 * whose sequence is checked on the consumer side (no loss, no duplication,
 * no reordering, no torn item). Run under ThreadSanitizer by
 * tools/check.sh (suite "threads"). */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include "core/spsc.h"
#include "testlib.h"

struct item {
	uint64_t seq;
	uint64_t check; /* ~seq: a torn copy would not match */
	char pad[48];
};

static void test_basic(void)
{
	struct emo_spsc q;
	CHECK_EQ_INT(emo_spsc_init(&q, sizeof(struct item), 5), 0);
	CHECK_EQ_INT(q.cap, 8);
	struct item it = {0}, out;
	CHECK(!emo_spsc_pop(&q, &out));
	for (uint64_t i = 0; i < 8; i++) {
		it.seq = i;
		CHECK(emo_spsc_push(&q, &it));
	}
	it.seq = 99;
	CHECK(!emo_spsc_push(&q, &it)); /* full: refused, nothing lost */
	CHECK_EQ_INT(emo_spsc_size(&q), 8);
	for (uint64_t i = 0; i < 8; i++) {
		CHECK(emo_spsc_pop(&q, &out));
		CHECK_EQ_INT(out.seq, i);
	}
	CHECK(!emo_spsc_pop(&q, &out));
	emo_spsc_free(&q);

	/* indices crossing UINT32_MAX keep FIFO order */
	CHECK_EQ_INT(emo_spsc_init(&q, sizeof(struct item), 4), 0);
	emo_ringidx_init(&q.idx, UINT32_MAX - 5);
	uint64_t next = 0, want = 0;
	for (int lap = 0; lap < 10; lap++) {
		for (int k = 0; k < 3; k++) {
			it.seq = next++;
			CHECK(emo_spsc_push(&q, &it));
		}
		for (int k = 0; k < 3; k++) {
			CHECK(emo_spsc_pop(&q, &out));
			CHECK_EQ_INT(out.seq, want);
			want++;
		}
	}
	CHECK_EQ_INT(emo_spsc_size(&q), 0);
	emo_spsc_free(&q);
}

enum { N = 2000000 };

static void *producer(void *arg)
{
	struct emo_spsc *q = arg;
	for (uint64_t i = 0; i < N; i++) {
		struct item it = {.seq = i, .check = ~i};
		while (!emo_spsc_push(q, &it))
			sched_yield();
	}
	return NULL;
}

static void test_threads(void)
{
	struct emo_spsc q;
	CHECK_EQ_INT(emo_spsc_init(&q, sizeof(struct item), 64), 0);
	pthread_t th;
	pthread_create(&th, NULL, producer, &q);
	uint64_t want = 0, bad = 0;
	struct item it;
	while (want < N) {
		if (!emo_spsc_pop(&q, &it)) {
			sched_yield();
			continue;
		}
		if (it.seq != want || it.check != ~want)
			bad++;
		want++;
	}
	pthread_join(th, NULL);
	CHECK_EQ_INT(bad, 0);
	CHECK(!emo_spsc_pop(&q, &it));
	fprintf(stderr, "  %d items through a 64-slot queue, %llu out of order "
		"or torn\n", N, (unsigned long long)bad);
	emo_spsc_free(&q);
}

int main(void)
{
	t_init();
	test_basic();
	test_threads();
	return t_finish("spsc");
}
