/* emotop — pure functions for the figures emotop reports: percentiles of a
 * sorted sample and classification metrics from a confusion matrix.
 * No allocation, no state; each is tested by hand-checked numbers. */
#ifndef EMOTOP_METRICS_H
#define EMOTOP_METRICS_H

#include <stddef.h>

#include "emotop/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The q-quantile (0 <= q <= 1) of x[0..n-1], sorted ascending, by linear
 * interpolation between closest ranks (numpy's default): p50 of {1, 3} is
 * 2, and p95 >= p50 always. 0 for n == 0. */
double emo_percentile_sorted(const float *x, size_t n, double q);

struct emo_class_metrics {
	int num_classes;
	long total;              /* files counted, misses included */
	double accuracy;         /* correct / total (= WA) */
	double ua;               /* mean recall over classes that occur */
	double precision[EMO_MAX_LABELS], recall[EMO_MAX_LABELS], f1[EMO_MAX_LABELS];
};

/* Metrics of a C x C confusion matrix cm (row-major, rows truth, columns
 * prediction). misses[k] (may be NULL) counts items of class k that got
 * no prediction at all (no speech): they count against recall and
 * accuracy, not against any precision. */
void emo_class_metrics(const long *cm, const long *misses, int C,
		       struct emo_class_metrics *out);

/* Weighted F1 of a C x C confusion matrix: per-class F1 weighted by each
 * class's support (row sum), as scikit-learn's f1_score(average=
 * "weighted"). 0 for an empty matrix. */
double emo_weighted_f1(const long *cm, int C);

#ifdef __cplusplus
}
#endif

#endif
