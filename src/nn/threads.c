/* How many threads the neural engine's products use: OpenBLAS's GEMMs and,
 * when built in, oneDNN's (model.h). */
#include "emotop/model.h"
#include "nn/linear.h"
#include "nn/ops.h"

void emo_set_threads(int n)
{
	if (n < 1)
		n = 1;
	if (n > EMO_MAX_THREADS)
		n = EMO_MAX_THREADS;
	emo_ops_set_threads(n);
	emo_linear_set_threads(n); /* oneDNN's products, when built in */
}

int emo_get_threads(void)
{
	return emo_ops_get_threads();
}
