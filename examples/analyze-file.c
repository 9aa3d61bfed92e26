/* analyze-file: the emotion of each speech window of an audio file.
 *
 *   analyze-file MODEL_DIR AUDIO_FILE
 *
 * Reads any file libsndfile reads, resampled to 16 kHz, runs the analyzer
 * (VAD, 2 s windows every 0.5 s of speech, smoothing) and prints one line
 * per window: its time span and the dominant emotion; at the end the mean
 * probability of each emotion over all windows. Uses only the installed
 * API: cc analyze-file.c $(pkg-config --cflags --libs emotop) */
#include <stdio.h>
#include <stdlib.h>

#include <emotop/emotop.h>

struct totals {
	const struct emo_model *m;
	double sum[EMO_MAX_LABELS];
	long windows;
};

static void on_result(const struct emo_result *r, void *userdata)
{
	struct totals *t = userdata;
	printf("%7.2f-%7.2f s  %-10s %.2f%s\n", r->t0, r->t1,
	       emo_model_label(t->m, r->label), r->confidence,
	       r->uncertain ? "  (uncertain)" : "");
	for (int i = 0; i < r->num_labels; i++)
		t->sum[i] += r->probs[i];
	t->windows++;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s MODEL_DIR AUDIO_FILE\n", argv[0]);
		return 2;
	}
	struct emo_model *m = NULL;
	int err = emo_model_load(argv[1], NULL, &m);
	if (err) {
		fprintf(stderr, "cannot load %s: %s\n", argv[1], emo_strerror(err));
		return 1;
	}
	float *x = NULL;
	size_t n = 0;
	err = emo_audio_read(argv[2], EMO_SAMPLE_RATE, EMO_RESAMPLE_MEDIUM, &x, &n, NULL);
	if (err) {
		fprintf(stderr, "cannot read %s: %s\n", argv[2], emo_strerror(err));
		emo_model_destroy(m);
		return 1;
	}
	struct totals t = {.m = m};
	struct emo_analyzer_config cfg = emo_analyzer_config_default();
	struct emo_analyzer *a = NULL;
	err = emo_analyzer_create(m, &cfg, on_result, NULL, &t, &a);
	if (!err)
		err = emo_analyzer_process(a, x, n);
	if (!err)
		err = emo_analyzer_finish(a);
	emo_analyzer_destroy(a);
	free(x);
	if (err) {
		fprintf(stderr, "analysis failed: %s\n", emo_strerror(err));
		emo_model_destroy(m);
		return 1;
	}
	printf("%ld window(s); mean probabilities (libemotop %s):\n", t.windows,
	       emo_version());
	for (int i = 0; i < emo_model_num_labels(m) && t.windows; i++)
		printf("  %-10s %.3f\n", emo_model_label(m, i), t.sum[i] / t.windows);
	emo_model_destroy(m);
	return t.windows ? 0 : 3; /* 3: no speech found */
}
