/* Hand-checked figures for the pure metric functions (metrics.h). */
#include "emotop/metrics.h"
#include "testlib.h"

#define NEAR(a, b) CHECK(fabs((double)(a) - (double)(b)) < 1e-9)

static void test_percentile(void)
{
	const float one[] = {7};
	NEAR(emo_percentile_sorted(one, 1, 0.5), 7);
	NEAR(emo_percentile_sorted(one, 1, 0.95), 7);
	/* the bug it fixes: two latencies gave p50 = max and p95 = min */
	const float two[] = {1, 3};
	NEAR(emo_percentile_sorted(two, 2, 0.50), 2);
	NEAR(emo_percentile_sorted(two, 2, 0.95), 2.9);
	const float five[] = {10, 20, 30, 40, 50};
	NEAR(emo_percentile_sorted(five, 5, 0.0), 10);
	NEAR(emo_percentile_sorted(five, 5, 0.5), 30);
	NEAR(emo_percentile_sorted(five, 5, 0.95), 48); /* pos 3.8 */
	NEAR(emo_percentile_sorted(five, 5, 1.0), 50);
	NEAR(emo_percentile_sorted(five, 0, 0.5), 0);
	/* monotone in q */
	double last = -1;
	for (int i = 0; i <= 100; i++) {
		double p = emo_percentile_sorted(five, 5, i / 100.0);
		CHECK(p >= last);
		last = p;
	}
}

static void test_class_metrics(void)
{
	/* 3 classes; rows truth, columns prediction
	 *   a: 3 a, 1 b         (4, + 1 without speech)
	 *   b: 2 b              (2)
	 *   c: 1 a, 1 c         (2)  */
	const long cm[9] = {3, 1, 0,
			    0, 2, 0,
			    1, 0, 1};
	const long miss[3] = {1, 0, 0};
	struct emo_class_metrics m;
	emo_class_metrics(cm, miss, 3, &m);
	CHECK_EQ_INT(m.total, 9);
	NEAR(m.accuracy, 6.0 / 9);
	NEAR(m.recall[0], 3.0 / 5);
	NEAR(m.recall[1], 1.0);
	NEAR(m.recall[2], 0.5);
	NEAR(m.precision[0], 3.0 / 4);
	NEAR(m.precision[1], 2.0 / 3);
	NEAR(m.precision[2], 1.0);
	NEAR(m.f1[0], 2 * 0.75 * 0.6 / 1.35);
	NEAR(m.f1[1], 0.8);
	NEAR(m.f1[2], 2.0 / 3);
	NEAR(m.ua, (0.6 + 1.0 + 0.5) / 3);

	/* a class that never occurs does not pull UA down; never predicted
	 * gives precision 0, not a division by zero */
	const long cm2[4] = {2, 0,
			     0, 0};
	emo_class_metrics(cm2, NULL, 2, &m);
	NEAR(m.ua, 1.0);
	NEAR(m.precision[1], 0);
	NEAR(m.f1[1], 0);
	NEAR(m.accuracy, 1.0);

	const long zero[4] = {0};
	emo_class_metrics(zero, NULL, 2, &m);
	NEAR(m.accuracy, 0);
	NEAR(m.ua, 0);
}

static void test_weighted_f1(void)
{
	/* rows truth: neg 3 (2 neg, 1 neu), neu 1 (1 neu), pos 2 (2 pos)
	 * F1: neg 2*1*2/3/(1+2/3) = 0.8, neu 2*0.5*1/1.5 = 2/3, pos 1;
	 * weighted by support 3, 1, 2: (2.4 + 2/3 + 2) / 6 */
	const long cm[9] = {2, 1, 0,
			    0, 1, 0,
			    0, 0, 2};
	NEAR(emo_weighted_f1(cm, 3), (2.4 + 2.0 / 3 + 2) / 6);
	const long zero[9] = {0};
	NEAR(emo_weighted_f1(zero, 3), 0);
}

int main(void)
{
	t_init();
	test_percentile();
	test_class_metrics();
	test_weighted_f1();
	return t_finish("metrics");
}
