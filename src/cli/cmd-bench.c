/* emotop bench: time the encoder on deterministic audio. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "emotop/audio.h"
#include "emotop/hubert.h"
#include "nn/ops.h"
#include "nn/hubert-internal.h"
#include "util/util.h"
#include "nn/linear.h"
#include "nn/safetensors.h"

/* ---- bench -------------------------------------------------------------- */

static const char bench_help[] =
	"Usage: emotop bench [--model DIR] [--seconds S] [--threads N] [--runs R] [--profile] [--json]\n"
	"Time the encoder (and head) on S seconds of deterministic test audio:\n"
	"model load time, per-window time (median and min of R runs), real-time\n"
	"factor and peak memory.\n"
	"  -m, --model DIR    model directory (default: $EMOTOP_MODEL or the shipped model)\n"
	"  -s, --seconds S    window length in seconds (default 3)\n"
	"  -t, --threads N    OpenBLAS threads (default 1)\n"
	"  -r, --runs R       timed runs after one warm-up (default 5)\n"
	"      --profile      time per encoder stage, its GFLOP/s, and the share of\n"
	"                     the forward spent outside GEMM\n"
	"      --json         one JSON object instead of text\n"
	"      --precision P  fp32 (default) or bf16 (see 'emotop analyze --help')\n"
	"      --stream       live-style: windows of S seconds every 0.5 s over 30 s of\n"
	"                     audio, with the encoder's feature reuse off and then on\n"
	"                     (exact, or --feature-reuse approximate), alternated R\n"
	"                     times: encoder time per second of audio for each\n"
	"      --feature-reuse M  with --stream: exact (default) or approximate\n";

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Deterministic test audio: a 150 Hz tone with a little noise. */
static void test_audio(float *x, int n, uint32_t seed)
{
	uint32_t rng = seed;
	for (int i = 0; i < n; i++) {
		rng = rng * 1664525u + 1013904223u;
		x[i] = 0.1f * sinf(2.0f * 3.14159265f * 150.0f * (float)i / EMO_SAMPLE_RATE) +
		       0.02f * ((float)(rng >> 8) / 16777216.0f - 0.5f);
	}
}

/* --stream: 30 s of audio in windows of `seconds` every 0.5 s, through
 * emo_hubert_forward_at with reuse off and on (alternating, `runs`
 * rounds); the median encoder time per second of audio for each. */
static int bench_stream(const struct emo_hubert *h, struct emo_hubert_state *s,
			double seconds, long runs, enum emo_feature_reuse on, bool json)
{
	const int N = 30 * EMO_SAMPLE_RATE, W = (int)lround(seconds * EMO_SAMPLE_RATE),
		  HOP = EMO_SAMPLE_RATE / 2;
	float *x = malloc(sizeof(float) * (size_t)N);
	double *t[2] = {malloc(sizeof(double) * (size_t)runs),
			malloc(sizeof(double) * (size_t)runs)};
	if (!x || !t[0] || !t[1]) {
		free(x), free(t[0]), free(t[1]);
		return 1;
	}
	test_audio(x, N, 4242);
	long reused = 0, computed = 0;
	for (long r = 0; r < runs; r++)
		for (int m = 0; m < 2; m++) {
			emo_hubert_state_set_reuse(s, m ? on : EMO_REUSE_OFF);
			long r0, c0, r1, c1;
			emo_hubert_reuse_stats(s, &r0, &c0);
			double a = emo_now();
			for (int o = 0; o + W <= N; o += HOP)
				emo_hubert_forward_at(h, s, x + o, W, o);
			t[m][r] = (emo_now() - a) / (N / (double)EMO_SAMPLE_RATE);
			emo_hubert_reuse_stats(s, &r1, &c1);
			if (m) {
				reused = r1 - r0;
				computed = c1 - c0;
			}
		}
	qsort(t[0], (size_t)runs, sizeof(double), cmp_double);
	qsort(t[1], (size_t)runs, sizeof(double), cmp_double);
	double off = t[0][runs / 2], with = t[1][runs / 2];
	const char *mode = on == EMO_REUSE_APPROX ? "approximate" : "exact";
	if (json)
		printf("{\"window_s\":%g,\"hop_s\":0.5,\"audio_s\":30,\"runs\":%ld,"
		       "\"reuse\":\"%s\",\"ms_per_s_off\":%.2f,\"ms_per_s_on\":%.2f,"
		       "\"frames_reused\":%ld,\"frames_computed\":%ld}\n", seconds, runs,
		       mode, 1e3 * off, 1e3 * with, reused, computed);
	else
		printf("stream       %.2f s windows every 0.5 s over 30 s, %ld rounds\n"
		       "reuse off    %.1f ms of encoder per second of audio\n"
		       "reuse %-6s %.1f ms per second of audio (%.2fx); %ld of %ld "
		       "feature frames reused%s\n", seconds, runs, 1e3 * off,
		       mode, 1e3 * with, off / with, reused, reused + computed,
		       reused ? "" : " (this encoder cannot reuse them: see 'man emotop')");
	free(x);
	free(t[0]);
	free(t[1]);
	return 0;
}

int cmd_bench(int argc, char **argv)
{
	const char *model = default_model();
	double seconds = 3;
	long threads = 1, runs = 5;
	enum emo_precision precision = EMO_PRECISION_FP32;
	bool json = false, profile = false, stream = false;
	struct emo_analyzer_config rc = emo_analyzer_config_default();
	static const struct option opts[] = {
		{"model", required_argument, 0, 'm'},
		{"seconds", required_argument, 0, 's'},
		{"threads", required_argument, 0, 't'},
		{"runs", required_argument, 0, 'r'},
		{"json", no_argument, 0, 'J'},
		{"profile", no_argument, 0, 'P'},
		PRECISION_LONG_OPTION,
		REUSE_LONG_OPTION,
		{"stream", no_argument, 0, 'S'},
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	int c;
	while ((c = cli_getopt(argc, argv, "m:s:t:r:h", opts, "bench")) != -1) {
		switch (c) {
		case 'm': model = optarg; break;
		case 's':
			if (!parse_double(optarg, 0.03, 600, &seconds))
				return usage_error("bench", "--seconds wants 0.03..600, not '%s'", optarg);
			break;
		case 't':
			if (!parse_int(optarg, 1, EMO_MAX_THREADS, &threads))
				return usage_error("bench", "--threads wants 1..256, not '%s'", optarg);
			break;
		case 'r':
			if (!parse_int(optarg, 1, 100000, &runs))
				return usage_error("bench", "--runs wants 1..100000, not '%s'", optarg);
			break;
		case 'J': json = true; break;
		case 'P': profile = true; break;
		case 'S': stream = true; break;
		case OPT_REUSE: {
			int r = reuse_option("bench", optarg, &rc);
			if (r)
				return r;
			break;
		}
		case OPT_PRECISION: {
			int r = precision_option("bench", optarg, &precision);
			if (r)
				return r;
			break;
		}
		case 'h': fputs(bench_help, stdout); return 0;
		default: return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error("bench", "unexpected argument '%s'", argv[optind]);
	emo_set_threads((int)threads);

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
		err = emo_hubert_create(&cfg, st, NULL, precision, &h);
	double t_load = emo_now() - t0;
	int n = (int)lround(seconds * EMO_SAMPLE_RATE);
	if (!err)
		err = emo_hubert_state_create(h, n, &s);
	if (err) {
		cli_error("cannot load model '%s': %s", model,
			emo_strerror(err));
		emo_hubert_destroy(h);
		emo_safetensors_close(st);
		return 1;
	}
	if (stream) {
		int st_err = bench_stream(h, s, seconds, runs, rc.reuse, json);
		emo_hubert_state_destroy(s);
		emo_hubert_destroy(h);
		emo_safetensors_close(st);
		return st_err;
	}
	float *x = malloc(sizeof(float) * (size_t)n);
	test_audio(x, n, 12345);
	double *times = malloc(sizeof(double) * (size_t)runs);
	emo_hubert_forward(h, s, x, n); /* warm-up: page in weights, BLAS buffers */
	emo_hubert_profile_reset(s);
	for (long r = 0; r < runs; r++) {
		double a = emo_now();
		emo_hubert_forward(h, s, x, n);
		times[r] = emo_now() - a;
	}
	qsort(times, (size_t)runs, sizeof *times, cmp_double);
	const struct emo_hubert_profile *prof = emo_hubert_profile(s);
	double ptot = 0, other = 0, gflop = 0;
	for (int i = 0; i < EMO_STAGE_N; i++) {
		ptot += prof->seconds[i];
		other += prof->gemm[i] ? 0 : prof->seconds[i];
		gflop += prof->flops[i] / 1e9 / (double)prof->forwards;
	}
	double med = times[runs / 2], mn = times[0];
	long rss = peak_rss_kib();
	if (json) {
		printf("{\"model\":\"%s\",\"seconds\":%g,\"threads\":%ld,\"runs\":%ld,"
		       "\"load_s\":%.4f,\"median_s\":%.5f,\"min_s\":%.5f,\"rtf\":%.5f,"
		       "\"arena_mib\":%.1f,\"peak_rss_mib\":%.1f,\"gflop\":%.3f,"
		       "\"non_gemm_share\":%.4f,\"blas_core\":\"%s\",\"engine\":\"%s\"",
		       model, seconds, threads, runs, t_load, med, mn, med / seconds,
		       emo_hubert_state_bytes(s) / 1048576.0, rss / 1024.0, gflop,
		       ptot > 0 ? other / ptot : 0, emo_ops_blas_core(),
		       emo_linear_engine(emo_hubert_precision(h)));
		if (profile) {
			printf(",\"stages\":{");
			for (int i = 0; i < EMO_STAGE_N; i++)
				printf("%s\"%s\":{\"ms\":%.3f,\"gflops\":%.1f}", i ? "," : "",
				       emo_hubert_stage_name(i),
				       1e3 * prof->seconds[i] / (double)prof->forwards,
				       prof->seconds[i] > 0 ? prof->flops[i] / prof->seconds[i] / 1e9 : 0);
			printf("}");
		}
		printf("}\n");
	} else {
		printf("model        %s (%s, %d layers, hidden %d)\n"
		       "load         %.3f s (mmap, validation, packing)\n"
		       "window       %.2f s, %ld thread(s) (OpenBLAS %s, linear layers: %s), %ld runs, %.2f GFLOP\n"
		       "per window   median %.1f ms, min %.1f ms (%.0f GFLOP/s)\n"
		       "real time    %.4f (%.1fx faster than real time)\n"
		       "memory       arena %.1f MiB, peak RSS %.1f MiB\n"
		       "outside GEMM %.0f%% of the forward\n",
		       model, cfg.model_type, cfg.num_layers, cfg.hidden_size, t_load,
		       seconds, threads, emo_ops_blas_core(),
		       emo_linear_engine(emo_hubert_precision(h)), runs, gflop, med * 1e3, mn * 1e3, gflop / med,
		       med / seconds, seconds / med, emo_hubert_state_bytes(s) / 1048576.0,
		       rss / 1024.0, ptot > 0 ? 100 * other / ptot : 0);
		if (profile) {
			printf("%-14s %9s %6s %9s\n", "stage", "ms/fwd", "share", "GFLOP/s");
			for (int i = 0; i < EMO_STAGE_N; i++) {
				if (prof->seconds[i] <= 0)
					continue;
				printf("%-14s %9.2f %5.1f%% ", emo_hubert_stage_name(i),
				       1e3 * prof->seconds[i] / (double)prof->forwards,
				       100 * prof->seconds[i] / ptot);
				if (prof->gemm[i])
					printf("%9.0f\n", prof->flops[i] / prof->seconds[i] / 1e9);
				else
					printf("%9s\n", "-");
			}
		}
	}
	free(times);
	free(x);
	emo_hubert_state_destroy(s);
	emo_hubert_destroy(h);
	emo_safetensors_close(st);
	return 0;
}

