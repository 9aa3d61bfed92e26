/* Generated test audio shared by the C tests: speech-like signal that
 * emotop's detector calls speech (a gliding harmonic tone in syllable-rate
 * bursts, 2.2 s phrases with 0.8 s pauses), and helpers to write it. */
#ifndef EMOTOP_GEN_AUDIO_H
#define EMOTOP_GEN_AUDIO_H

#include <math.h>
#include <sndfile.h>
#include <stdint.h>
#include <stdlib.h>

static inline float *gen_voice(double sec, int sr, size_t *n)
{
	*n = (size_t)(sec * sr);
	float *x = malloc(*n * sizeof *x);
	double ph = 0;
	uint32_t s = 12345;
	for (size_t i = 0; i < *n; i++) {
		double t = (double)i / sr;
		double f0 = 140 + 30 * sin(2 * M_PI * 0.7 * t);
		ph += 2 * M_PI * f0 / sr;
		double env = fmod(t, 3.0) < 2.2 ? sqrt(fmax(0, sin(2 * M_PI * 2.5 * t))) : 0;
		double v = 0;
		for (int k = 1; k < 12; k++)
			v += sin(k * ph) / k;
		s = s * 1664525u + 1013904223u; /* a little noise */
		x[i] = (float)(0.25 * env * v + 0.003 * ((double)(s >> 8) / (1 << 24) - 0.5));
	}
	return x;
}

static inline int write_wav(const char *path, const float *x, size_t n, int sr)
{
	SF_INFO si = {.samplerate = sr, .channels = 1,
		      .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
	SNDFILE *f = sf_open(path, SFM_WRITE, &si);
	if (!f)
		return -1;
	sf_count_t w = sf_writef_float(f, x, (sf_count_t)n);
	sf_close(f);
	return w == (sf_count_t)n ? 0 : -1;
}

#endif
