/* emotop bench: time the encoder on deterministic audio. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "emotop/audio.h"
#include "emotop/hubert.h"
#include "ops.h"
#include "internal.h"
#include "safetensors.h"

/* ---- bench -------------------------------------------------------------- */

static const char bench_help[] =
	"Usage: emotop bench [--model DIR] [--seconds S] [--threads N] [--runs R] [--json]\n"
	"Time the encoder (and head) on S seconds of deterministic test audio:\n"
	"model load time, per-window time (median and min of R runs), real-time\n"
	"factor and peak memory.\n"
	"  -m, --model DIR    model directory (default: $EMOTOP_MODEL or the shipped model)\n"
	"  -s, --seconds S    window length in seconds (default 3)\n"
	"  -t, --threads N    OpenBLAS threads (default 1)\n"
	"  -r, --runs R       timed runs after one warm-up (default 5)\n"
	"      --json         one JSON object instead of text\n";

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int cmd_bench(int argc, char **argv)
{
	const char *model = default_model();
	double seconds = 3;
	long threads = 1, runs = 5;
	bool json = false;
	static const struct option opts[] = {
		{"model", required_argument, 0, 'm'},
		{"seconds", required_argument, 0, 's'},
		{"threads", required_argument, 0, 't'},
		{"runs", required_argument, 0, 'r'},
		{"json", no_argument, 0, 'J'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "m:s:t:r:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm': model = optarg; break;
		case 's':
			if (!parse_double(optarg, 0.03, 600, &seconds))
				return usage_error("bench", "--seconds wants 0.03..600, not '%s'", optarg);
			break;
		case 't':
			if (!parse_int(optarg, 1, 256, &threads))
				return usage_error("bench", "--threads wants 1..256, not '%s'", optarg);
			break;
		case 'r':
			if (!parse_int(optarg, 1, 100000, &runs))
				return usage_error("bench", "--runs wants 1..100000, not '%s'", optarg);
			break;
		case 'J': json = true; break;
		case 'h': fputs(bench_help, stdout); return 0;
		default: return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error("bench", "unexpected argument '%s'", argv[optind]);
	emo_ops_set_threads((int)threads);

	double t0 = emo_now();
	struct emo_hubert_config cfg;
	struct emo_safetensors *st = NULL;
	struct emo_hubert *h = NULL;
	struct emo_hubert_state *s = NULL;
	char path[4096];
	int err = emo_hubert_config_load(model, &cfg);
	if (!err) {
		snprintf(path, sizeof path, "%s/model.safetensors", model);
		err = emo_safetensors_open(path, &st);
	}
	if (!err)
		err = emo_hubert_create(&cfg, st, NULL, &h);
	double t_load = emo_now() - t0;
	int n = (int)lround(seconds * EMO_SAMPLE_RATE);
	if (!err)
		err = emo_hubert_state_create(h, n, &s);
	if (err) {
		fprintf(stderr, "%s: cannot load model '%s': %s\n", prog, model,
			emo_strerror(err));
		emo_hubert_destroy(h);
		emo_safetensors_close(st);
		return 1;
	}
	float *x = malloc(sizeof(float) * (size_t)n);
	uint32_t rng = 12345;
	for (int i = 0; i < n; i++) {
		rng = rng * 1664525u + 1013904223u;
		x[i] = 0.1f * sinf(2.0f * 3.14159265f * 150.0f * i / 16000.0f) +
		       0.02f * ((float)(rng >> 8) / 16777216.0f - 0.5f);
	}
	double *times = malloc(sizeof(double) * (size_t)runs);
	emo_hubert_forward(h, s, x, n); /* warm-up: page in weights, BLAS buffers */
	for (long r = 0; r < runs; r++) {
		double a = emo_now();
		emo_hubert_forward(h, s, x, n);
		times[r] = emo_now() - a;
	}
	qsort(times, (size_t)runs, sizeof *times, cmp_double);
	const double *prof = emo_hubert_profile(s);
	double ptot = 0;
	for (int i = 0; i < EMO_HUBERT_PROF_N; i++)
		ptot += prof[i];
	double med = times[runs / 2], mn = times[0];
	long rss = peak_rss_kib();
	if (json)
		printf("{\"model\":\"%s\",\"seconds\":%g,\"threads\":%ld,\"runs\":%ld,"
		       "\"load_s\":%.4f,\"median_s\":%.5f,\"min_s\":%.5f,\"rtf\":%.5f,"
		       "\"arena_mib\":%.1f,\"peak_rss_mib\":%.1f}\n",
		       model, seconds, threads, runs, t_load, med, mn, med / seconds,
		       emo_hubert_state_bytes(s) / 1048576.0, rss / 1024.0);
	else
		printf("model        %s (%s, %d layers, hidden %d)\n"
		       "load         %.3f s (mmap + validation)\n"
		       "window       %.2f s, %ld thread(s), %ld runs\n"
		       "per window   median %.1f ms, min %.1f ms\n"
		       "real time    %.4f (%.1fx faster than real time)\n"
		       "memory       arena %.1f MiB, peak RSS %.1f MiB\n"
		       "stages       conv %.0f%%, projection+pos %.0f%%, attention %.0f%%, "
		       "feed-forward %.0f%%\n",
		       model, cfg.model_type, cfg.num_layers, cfg.hidden_size, t_load,
		       seconds, threads, runs, med * 1e3, mn * 1e3, med / seconds,
		       seconds / med, emo_hubert_state_bytes(s) / 1048576.0, rss / 1024.0,
		       100 * prof[0] / ptot, 100 * prof[1] / ptot, 100 * prof[2] / ptot,
		       100 * prof[3] / ptot);
	free(times);
	free(x);
	emo_hubert_state_destroy(s);
	emo_hubert_destroy(h);
	emo_safetensors_close(st);
	return 0;
}

