/* emotop — valence and arousal derived from the label probabilities.
 *
 * Each label the table knows has a fixed place on the valence/arousal
 * plane (Russell's circumplex: valence = unpleasant..pleasant, arousal =
 * deactivated..activated, both in [-1, 1]); a window's valence and arousal
 * are the probability-weighted mean of the places of its labels
 * (renormalised over the labels the table knows). They are derived from
 * the categories, not learnt separately. Places (valence, arousal):
 *
 *   neutral  ( 0.0,  0.0)   calm     ( 0.4, -0.6)   happy   ( 0.8,  0.5)
 *   sad      (-0.7, -0.4)   angry    (-0.6,  0.8)   fearful (-0.6,  0.7)
 *   disgust  (-0.7,  0.3)   surprised( 0.3,  0.8)
 *
 * rounded placements after Russell (1980, "A circumplex model of affect")
 * and Posner, Russell & Peterson (2005), whose circumplex puts disgust
 * between anger and sadness and surprise at high arousal; IEMOCAP/superb
 * short names (neu, hap, ang, sad, exc, fru) are aliases.
 *
 * The 3-class valence is Li et al.'s mapping (HuBERT SER generalisation):
 * negative = sad, angry, fearful, disgust; neutral = neutral, calm;
 * positive = happy; surprise has none. Its probability is the class's share
 * of the probability of the labels that have one. */
#ifndef EMOTOP_AFFECT_H
#define EMOTOP_AFFECT_H

#include <stdbool.h>

#include "emotop/model.h"

#ifdef __cplusplus
extern "C" {
#endif

enum emo_valence_class {
	EMO_VALENCE_NONE = -1,
	EMO_VALENCE_NEGATIVE = 0,
	EMO_VALENCE_NEUTRAL = 1,
	EMO_VALENCE_POSITIVE = 2,
};

struct emo_affect {
	bool valid;          /* false: no label with a place had probability */
	float valence, arousal;      /* [-1, 1] */
	enum emo_valence_class vclass; /* argmax of the 3-class valence */
	float vclass_prob;
	float vprob[3];      /* negative, neutral, positive */
};

/* A label's place and valence class; false for a label it does not know. */
bool emo_affect_place(const char *label, float *valence, float *arousal,
		      enum emo_valence_class *vclass);
/* From C label probabilities (labels[i] names probs[i]). */
void emo_affect_from_probs(const char *const *labels, const float *probs, int C,
			   struct emo_affect *out);
/* Same, with the model's labels. */
void emo_affect_of_model(const struct emo_model *m, const float *probs,
			 struct emo_affect *out);
/* "negative", "neutral", "positive" (or "none"). */
const char *emo_valence_class_name(enum emo_valence_class c);

#ifdef __cplusplus
}
#endif

#endif
