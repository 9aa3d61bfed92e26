/* Valence and arousal from label probabilities. See include/emotop/affect.h
 * for the table's sources. */
#include <strings.h>

#include "emotop/affect.h"

static const struct {
	const char *name;
	float v, a;
	enum emo_valence_class c;
} places[] = {
	{"neutral", 0.0f, 0.0f, EMO_VALENCE_NEUTRAL},
	{"neu", 0.0f, 0.0f, EMO_VALENCE_NEUTRAL},
	{"calm", 0.4f, -0.6f, EMO_VALENCE_NEUTRAL},
	{"happy", 0.8f, 0.5f, EMO_VALENCE_POSITIVE},
	{"hap", 0.8f, 0.5f, EMO_VALENCE_POSITIVE},
	{"exc", 0.8f, 0.5f, EMO_VALENCE_POSITIVE},
	{"sad", -0.7f, -0.4f, EMO_VALENCE_NEGATIVE},
	{"angry", -0.6f, 0.8f, EMO_VALENCE_NEGATIVE},
	{"ang", -0.6f, 0.8f, EMO_VALENCE_NEGATIVE},
	{"fru", -0.6f, 0.8f, EMO_VALENCE_NEGATIVE},
	{"fearful", -0.6f, 0.7f, EMO_VALENCE_NEGATIVE},
	{"fear", -0.6f, 0.7f, EMO_VALENCE_NEGATIVE},
	{"disgust", -0.7f, 0.3f, EMO_VALENCE_NEGATIVE},
	{"surprised", 0.3f, 0.8f, EMO_VALENCE_NONE},
	{"surprise", 0.3f, 0.8f, EMO_VALENCE_NONE},
};

bool emo_affect_place(const char *label, float *valence, float *arousal,
		      enum emo_valence_class *vclass)
{
	if (!label || !valence || !arousal || !vclass)
		return false;
	for (size_t i = 0; i < sizeof places / sizeof *places; i++)
		if (!strcasecmp(label, places[i].name)) {
			*valence = places[i].v;
			*arousal = places[i].a;
			*vclass = places[i].c;
			return true;
		}
	return false;
}

void emo_affect_from_probs(const char *const *labels, const float *probs, int C,
			   struct emo_affect *out)
{
	if (!out)
		return;
	*out = (struct emo_affect){.vclass = EMO_VALENCE_NONE};
	if (!labels || !probs)
		return;
	double w = 0, v = 0, a = 0, cls[3] = {0, 0, 0};
	for (int i = 0; i < C; i++) {
		float pv, pa;
		enum emo_valence_class c;
		if (!emo_affect_place(labels[i], &pv, &pa, &c))
			continue;
		w += probs[i];
		v += (double)probs[i] * pv;
		a += (double)probs[i] * pa;
		if (c != EMO_VALENCE_NONE)
			cls[c] += probs[i];
	}
	*out = (struct emo_affect){.vclass = EMO_VALENCE_NONE};
	if (!(w > 0))
		return;
	out->valid = true;
	out->valence = (float)(v / w);
	out->arousal = (float)(a / w);
	double cw = cls[0] + cls[1] + cls[2];
	if (cw > 0) {
		int best = 0;
		for (int k = 0; k < 3; k++) {
			out->vprob[k] = (float)(cls[k] / cw);
			if (cls[k] > cls[best])
				best = k;
		}
		out->vclass = (enum emo_valence_class)best;
		out->vclass_prob = out->vprob[best];
	}
}

void emo_affect_of_model(const struct emo_model *m, const float *probs,
			 struct emo_affect *out)
{
	const char *labels[EMO_MAX_LABELS];
	int C = emo_model_num_labels(m);
	for (int i = 0; i < C; i++)
		labels[i] = emo_model_label(m, i);
	emo_affect_from_probs(labels, probs, C, out);
}

const char *emo_valence_class_name(enum emo_valence_class c)
{
	return c == EMO_VALENCE_NEGATIVE ? "negative" : c == EMO_VALENCE_NEUTRAL ? "neutral" :
	       c == EMO_VALENCE_POSITIVE ? "positive" : "none";
}
