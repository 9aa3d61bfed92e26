/* Valence/arousal mapping (affect.h): one-hot probabilities give each
 * label's place, a mixture the weighted mean, unknown labels are left out
 * and the rest renormalised; the 3-class valence leaves surprise out.
 * Values checked by hand. */
#include "emotop/affect.h"
#include "testlib.h"

#define NEAR(a, b) CHECK(fabs((double)(a) - (double)(b)) < 1e-6)

static const char *const L[] = {"neutral", "calm", "happy", "sad", "angry",
				"fearful", "disgust", "surprised"};

int main(void)
{
	t_init();
	struct emo_affect a;
	const float want[8][2] = {{0, 0}, {0.4f, -0.6f}, {0.8f, 0.5f}, {-0.7f, -0.4f},
				  {-0.6f, 0.8f}, {-0.6f, 0.7f}, {-0.7f, 0.3f}, {0.3f, 0.8f}};
	const int cls[8] = {1, 1, 2, 0, 0, 0, 0, -1};
	for (int i = 0; i < 8; i++) {
		float p[8] = {0};
		p[i] = 1;
		emo_affect_from_probs(L, p, 8, &a);
		CHECK(a.valid);
		NEAR(a.valence, want[i][0]);
		NEAR(a.arousal, want[i][1]);
		CHECK_EQ_INT(a.vclass, cls[i]);
		if (cls[i] >= 0)
			NEAR(a.vclass_prob, 1);
	}
	/* half happy, half sad: v = (0.8 - 0.7) / 2, a = (0.5 - 0.4) / 2; the
	 * 3-class valence is a tie, broken towards the first (negative) */
	float mix[8] = {0, 0, 0.5f, 0.5f, 0, 0, 0, 0};
	emo_affect_from_probs(L, mix, 8, &a);
	NEAR(a.valence, 0.05);
	NEAR(a.arousal, 0.05);
	NEAR(a.vprob[0], 0.5);
	NEAR(a.vprob[2], 0.5);
	/* 0.2 angry, 0.2 fearful, 0.1 calm, 0.5 surprised: valence
	 * 0.2*-0.6 + 0.2*-0.6 + 0.1*0.4 + 0.5*0.3 = -0.05; arousal 0.16 + 0.14
	 * - 0.06 + 0.4 = 0.64; classes without surprise: negative 0.4/0.5 */
	float m2[8] = {0, 0.1f, 0, 0, 0.2f, 0.2f, 0, 0.5f};
	emo_affect_from_probs(L, m2, 8, &a);
	NEAR(a.valence, -0.05);
	NEAR(a.arousal, 0.64);
	CHECK_EQ_INT(a.vclass, EMO_VALENCE_NEGATIVE);
	NEAR(a.vclass_prob, 0.8);
	NEAR(a.vprob[1], 0.2);
	/* a label outside the table is left out, the rest renormalised */
	const char *const L2[] = {"happy", "bored"};
	float p2[2] = {0.25f, 0.75f};
	emo_affect_from_probs(L2, p2, 2, &a);
	CHECK(a.valid);
	NEAR(a.valence, 0.8);
	NEAR(a.arousal, 0.5);
	/* nothing known: invalid */
	const char *const L3[] = {"bored"};
	float p3[1] = {1};
	emo_affect_from_probs(L3, p3, 1, &a);
	CHECK(!a.valid && a.vclass == EMO_VALENCE_NONE);
	/* only surprise: a place, no valence class */
	const char *const L4[] = {"surprised", "neu"};
	float p4[2] = {1, 0};
	emo_affect_from_probs(L4, p4, 2, &a);
	CHECK(a.valid && a.vclass == EMO_VALENCE_NONE);
	CHECK(!strcmp(emo_valence_class_name(EMO_VALENCE_POSITIVE), "positive"));
	/* every value stays in [-1, 1] for random mixtures */
	unsigned s = 1;
	for (int it = 0; it < 1000; it++) {
		float p[8], sum = 0;
		for (int k = 0; k < 8; k++) {
			s = s * 1103515245u + 12345u;
			p[k] = (float)(s >> 16) / 65536.0f;
			sum += p[k];
		}
		for (int k = 0; k < 8; k++)
			p[k] /= sum;
		emo_affect_from_probs(L, p, 8, &a);
		CHECK(a.valence >= -1 && a.valence <= 1 && a.arousal >= -1 && a.arousal <= 1);
	}
	return t_finish("affect");
}
