/* The session fuzzer links the log reader alone; affect.c's
 * emo_affect_of_model names two model functions the reader never calls.
 * These stand in for them (never reached). */
#include "emotop/model.h"

int emo_model_num_labels(const struct emo_model *m)
{
	(void)m;
	return 0;
}

const char *emo_model_label(const struct emo_model *m, int i)
{
	(void)m;
	(void)i;
	return "";
}
