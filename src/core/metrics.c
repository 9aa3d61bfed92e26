/* Percentiles and classification metrics. See include/emotop/metrics.h. */
#include <math.h>
#include <string.h>

#include "emotop/metrics.h"

double emo_percentile_sorted(const float *x, size_t n, double q)
{
	if (!n)
		return 0;
	if (!(q > 0))
		return x[0];
	if (q >= 1)
		return x[n - 1];
	double pos = q * (double)(n - 1);
	size_t lo = (size_t)floor(pos);
	double frac = pos - (double)lo;
	if (lo + 1 >= n)
		return x[n - 1];
	return x[lo] + frac * ((double)x[lo + 1] - x[lo]);
}

void emo_class_metrics(const long *cm, const long *misses, int C,
		       struct emo_class_metrics *out)
{
	memset(out, 0, sizeof *out);
	out->num_classes = C;
	long correct = 0;
	int present = 0;
	for (int k = 0; k < C; k++) {
		long row = misses ? misses[k] : 0, col = 0;
		for (int l = 0; l < C; l++) {
			row += cm[k * C + l];
			col += cm[l * C + k];
		}
		long tp = cm[k * C + k];
		correct += tp;
		out->total += row;
		double p = col ? (double)tp / (double)col : 0;
		double r = row ? (double)tp / (double)row : 0;
		out->precision[k] = p;
		out->recall[k] = r;
		out->f1[k] = p + r > 0 ? 2 * p * r / (p + r) : 0;
		if (row) {
			out->ua += r;
			present++;
		}
	}
	out->ua = present ? out->ua / present : 0;
	out->accuracy = out->total ? (double)correct / (double)out->total : 0;
}

double emo_weighted_f1(const long *cm, int C)
{
	struct emo_class_metrics x;
	emo_class_metrics(cm, NULL, C, &x);
	double f = 0;
	long total = 0;
	for (int k = 0; k < C; k++) {
		long row = 0;
		for (int l = 0; l < C; l++)
			row += cm[k * C + l];
		f += (double)row * x.f1[k];
		total += row;
	}
	return total ? f / (double)total : 0;
}
