/* VAD decisions on signals whose answer is known by construction: digital
 * silence, steady noise, a steady tone, voiced bursts (clean, clipped, with
 * DC and mains hum), synthetic speech from espeak-ng with known silence
 * around it; streaming in odd chunk sizes equals one call. */
#include <math.h>
#include <stdint.h>
#include <unistd.h>

#include "emotop/audio.h"
#include "emotop/vad.h"
#include "testlib.h"

#define SR 16000
#define MAXS 256

static uint32_t rng = 1;
static float frand(void) /* uniform in [-1, 1) */
{
	rng = rng * 1664525u + 1013904223u;
	return (float)(rng >> 8) / 8388608.0f - 1.0f;
}

static size_t run(const float *x, size_t n, struct emo_vad_segment *segs,
		  size_t chunk)
{
	struct emo_vad_config c = emo_vad_config_default();
	struct emo_vad *v = NULL;
	if (emo_vad_create(&c, &v))
		abort();
	int64_t last_final = 0;
	for (size_t i = 0; i < n; i += chunk) {
		size_t k = n - i < chunk ? n - i : chunk;
		emo_vad_process(v, x + i, k);
		int64_t f = emo_vad_final_until(v);
		CHECK(f >= last_final && f <= emo_vad_position(v));
		last_final = f;
	}
	emo_vad_finish(v);
	CHECK_EQ_INT(emo_vad_final_until(v), (int64_t)n);
	size_t ns = emo_vad_segments(v, 0, INT64_MAX, segs, MAXS);
	/* closed-segment iteration gives the same list */
	struct emo_vad_segment s;
	size_t k = 0;
	while (emo_vad_next_closed(v, &s)) {
		CHECK(k < ns && s.start == segs[k].start && s.end == segs[k].end);
		k++;
	}
	CHECK_EQ_INT(k, ns);
	emo_vad_destroy(v);
	return ns;
}

static double speech_seconds(const struct emo_vad_segment *s, size_t n)
{
	double t = 0;
	for (size_t i = 0; i < n; i++)
		t += (double)(s[i].end - s[i].start) / SR;
	return t;
}

/* voiced bursts: 150 Hz harmonics, 400 ms on, 600 ms off, starting at 1 s */
static float *bursts(size_t n, float gain, float dc, float hum, float noise)
{
	float *x = malloc(n * sizeof *x);
	for (size_t i = 0; i < n; i++) {
		double t = (double)i / SR;
		double ph = fmod(t - 1.0, 1.0);
		bool on = t >= 1.0 && ph < 0.4;
		double v = 0;
		if (on) {
			double env = sin(M_PI * ph / 0.4);
			for (int h = 1; h <= 10; h++)
				v += sin(2 * M_PI * 150 * h * t) / h;
			v *= 0.1 * env;
		}
		v = v * gain + dc + hum * sin(2 * M_PI * 50 * t) + noise * frand();
		x[i] = (float)(v > 1 ? 1 : v < -1 ? -1 : v);
	}
	return x;
}

static void check_bursts(const char *what, const float *x, size_t n, int nb)
{
	struct emo_vad_segment s[MAXS];
	size_t ns = run(x, n, s, 4096);
	fprintf(stderr, "  %-22s %zu segments, %.2f s speech\n", what, ns,
		speech_seconds(s, ns));
	CHECK_EQ_INT(ns, (size_t)nb);
	/* every burst centre is inside a segment, every gap centre outside */
	for (int b = 0; b < nb; b++) {
		int64_t on = (int64_t)((1.0 + b + 0.2) * SR);
		int64_t off = (int64_t)((1.0 + b + 0.7) * SR);
		bool in_on = false, in_off = false;
		for (size_t i = 0; i < ns; i++) {
			in_on |= s[i].start <= on && on < s[i].end;
			in_off |= s[i].start <= off && off < s[i].end;
		}
		CHECK(in_on);
		CHECK(!in_off);
	}
	/* nothing fires in the leading second of non-speech */
	CHECK(ns == 0 || s[0].start >= (int64_t)(0.8 * SR));
}

int main(void)
{
	t_init();
	size_t n = 8 * SR;
	struct emo_vad_segment s[MAXS];

	fprintf(stderr, "digital silence\n");
	float *x = calloc(n, sizeof *x);
	CHECK_EQ_INT(run(x, n, s, 1000), 0);

	fprintf(stderr, "steady white noise at -30 dBFS\n");
	for (size_t i = 0; i < n; i++)
		x[i] = 0.055f * frand();
	CHECK_EQ_INT(run(x, n, s, 1000), 0);

	fprintf(stderr, "steady fan-like (low-passed) noise\n");
	float lp = 0;
	for (size_t i = 0; i < n; i++) {
		lp = 0.95f * lp + 0.05f * frand();
		x[i] = 0.5f * lp;
	}
	CHECK_EQ_INT(run(x, n, s, 1000), 0);

	fprintf(stderr, "steady 440 Hz tone at -12 dBFS\n");
	for (size_t i = 0; i < n; i++)
		x[i] = 0.35f * sinf(2 * (float)M_PI * 440 * (float)i / SR);
	CHECK_EQ_INT(run(x, n, s, 1000), 0);
	free(x);

	fprintf(stderr, "voiced bursts\n");
	x = bursts(n, 1, 0, 0, 0.002f);
	check_bursts("clean", x, n, 7);
	/* streaming in odd chunk sizes gives exactly the same segments */
	struct emo_vad_segment s2[MAXS];
	size_t a = run(x, n, s, 4096), b = run(x, n, s2, 333);
	CHECK(a == b && memcmp(s, s2, a * sizeof *s) == 0);
	b = run(x, n, s2, 1);
	CHECK(a == b && memcmp(s, s2, a * sizeof *s) == 0);
	free(x);

	x = bursts(n, 30, 0, 0, 0.002f); /* hard clipped */
	check_bursts("clipped x30", x, n, 7);
	free(x);
	x = bursts(n, 1, 0.3f, 0.1f, 0.002f);
	check_bursts("DC 0.3 + 50 Hz hum", x, n, 7);
	free(x);
	x = bursts(n, 0.05f, 0, 0, 0.0001f); /* -26 dB quieter, still clear */
	check_bursts("quiet (-26 dB)", x, n, 7);
	free(x);
	x = bursts(n, 1, 0, 0, 0.01f); /* ~10 dB SNR white noise */
	check_bursts("in white noise", x, n, 7);
	free(x);

	/* synthetic speech with exactly 1 s of silence either side */
	char wav[] = "/tmp/emotop-vad-XXXXXX.wav";
	int fd = mkstemps(wav, 4);
	close(fd);
	char cmd[512];
	snprintf(cmd, sizeof cmd,
		 "espeak-ng -v en -s 150 -w %s 'The quick brown fox jumps over "
		 "the lazy dog.' 2>/dev/null && sox %s -r 16000 %s.pad.wav pad 1 1 "
		 "2>/dev/null", wav, wav, wav);
	if (system(cmd) == 0) {
		char padded[600];
		snprintf(padded, sizeof padded, "%s.pad.wav", wav);
		float *sp = NULL;
		size_t ns = 0;
		CHECK_EQ_INT(emo_audio_read(padded, SR, EMO_RESAMPLE_FAST, &sp, &ns, NULL), 0);
		/* espeak's own output has a few ms of silence at its ends */
		size_t k = run(sp, ns, s, 1600);
		double dur = (double)ns / SR;
		fprintf(stderr, "espeak-ng speech %.2f s: %zu segment(s) %.2f-%.2f s\n",
			dur, k, k ? (double)s[0].start / SR : 0,
			k ? (double)s[k - 1].end / SR : 0);
		CHECK(k >= 1);
		if (k) {
			CHECK(fabs((double)s[0].start / SR - 1.0) < 0.25);
			CHECK(fabs((double)s[k - 1].end / SR - (dur - 1.0)) < 0.35);
			CHECK(speech_seconds(s, k) > 0.7 * (dur - 2.0));
		}
		free(sp);
		unlink(padded);
	} else {
		fprintf(stderr, "espeak-ng/sox not available: synthetic speech case skipped\n");
	}
	unlink(wav);
	return t_finish("test-vad");
}
