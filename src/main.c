/* emotop — the command line.
 *
 * One function per command; each parses its own options (getopt_long) and
 * prints its own --help. Library messages arrive through the log callback
 * and go to stderr here (the TUI routes them to its message line instead).
 * Exit status: 0 ok, 1 runtime failure, 2 usage error, 3 some inputs failed,
 * 130/143 stopped by SIGINT/SIGTERM. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <portaudio.h>

#include "emotop/audio.h"
#include "emotop/error.h"
#include "emotop/hubert.h"
#include "emotop/ops.h"
#include "emotop/safetensors.h"

#ifndef EMOTOP_VERSION
#define EMOTOP_VERSION "0.1.0"
#endif
#ifndef EMOTOP_DEFAULT_MODEL
#define EMOTOP_DEFAULT_MODEL "models/emotop-small"
#endif

enum { EXIT_USAGE = 2, EXIT_PARTIAL = 3 };

static const char *prog = "emotop";
static bool quiet;

static void stderr_log(enum emo_log_level level, const char *msg, void *ud)
{
	(void)ud;
	static const char *const tags[] = {"error", "warning", "info", "debug"};
	if (quiet && level > EMO_LOG_ERROR)
		return;
	fprintf(stderr, "%s: %s: %s\n", prog, tags[level], msg);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static long peak_rss_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Default model directory: $EMOTOP_MODEL, else the one beside the
 * executable's source tree (build dir), else the installed one. */
static const char *default_model(void)
{
	const char *e = getenv("EMOTOP_MODEL");
	if (e && *e)
		return e;
	return EMOTOP_DEFAULT_MODEL;
}

static bool parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi))
		return false;
	*out = v;
	return true;
}

static bool parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static int usage_error(const char *cmd, const char *fmt, const char *arg)
{
	fprintf(stderr, "%s%s%s: ", prog, cmd ? " " : "", cmd ? cmd : "");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry '%s %s--help'.\n", prog, cmd ? cmd : "");
	return EXIT_USAGE;
}

/* ---- devices ------------------------------------------------------------ */

static const char devices_help[] =
	"Usage: emotop devices\n"
	"List audio input devices with their index, host API, channel count and\n"
	"the sample rates they accept. Use the index or a part of the name with\n"
	"'emotop live --device'.\n";

static int cmd_devices(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(devices_help, stdout);
		return 0;
	}
	if (argc > 1)
		return usage_error("devices", "unexpected argument '%s'", argv[1]);
	PaError pe = Pa_Initialize();
	if (pe != paNoError) {
		fprintf(stderr, "%s: cannot initialise PortAudio: %s\n", prog,
			Pa_GetErrorText(pe));
		return 1;
	}
	int n = Pa_GetDeviceCount();
	int shown = 0;
	PaDeviceIndex def = Pa_GetDefaultInputDevice();
	static const double rates[] = {8000, 16000, 22050, 32000, 44100, 48000, 96000};
	for (int i = 0; i < n; i++) {
		const PaDeviceInfo *di = Pa_GetDeviceInfo(i);
		if (!di || di->maxInputChannels < 1)
			continue;
		const PaHostApiInfo *api = Pa_GetHostApiInfo(di->hostApi);
		printf("%c%3d  %-40s  %-6s  %2d ch  default %.0f Hz  accepts:",
		       i == def ? '*' : ' ', i, di->name, api ? api->name : "?",
		       di->maxInputChannels, di->defaultSampleRate);
		PaStreamParameters p = {.device = i, .channelCount = 1,
					.sampleFormat = paFloat32,
					.suggestedLatency = di->defaultLowInputLatency};
		for (size_t r = 0; r < sizeof rates / sizeof *rates; r++)
			if (Pa_IsFormatSupported(&p, NULL, rates[r]) == paFormatIsSupported)
				printf(" %.0f", rates[r]);
		printf("\n");
		shown++;
	}
	Pa_Terminate();
	if (!shown) {
		printf("No audio input devices found.\n"
		       "Analyse a file instead: emotop live --input FILE\n");
		return 1;
	}
	return 0;
}

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

static int cmd_bench(int argc, char **argv)
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

	double t0 = now_s();
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
	double t_load = now_s() - t0;
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
		double a = now_s();
		emo_hubert_forward(h, s, x, n);
		times[r] = now_s() - a;
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

/* ---- top level ------------------------------------------------------------ */

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"devices", cmd_devices, "list audio input devices"},
	{"bench", cmd_bench, "time the encoder on this machine"},
};

static void main_help(FILE *f)
{
	fprintf(f, "Usage: emotop COMMAND [OPTIONS]\n"
		   "Real-time speech emotion analysis (HuBERT + BiLSTM) in the terminal.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nRun 'emotop COMMAND --help' for a command's options.\n"
		   "Environment: EMOTOP_MODEL (default model directory).\n");
}

/* OpenBLAS 0.3.21 (Debian bookworm) does not know AMD Zen 4/5 and falls
 * back to its AVX2 kernels on CPUs that have AVX-512; its SkylakeX kernels
 * run the encoder ~1.5x faster there. The core type is read once when the
 * library loads, so the only way to choose it is the environment of a new
 * process image: re-exec ourselves once with OPENBLAS_CORETYPE set. A user
 * who sets OPENBLAS_CORETYPE (or EMOTOP_NO_REEXEC) keeps their choice. */
extern char *openblas_get_corename(void);

static void maybe_reexec_for_blas(char **argv)
{
	if (getenv("OPENBLAS_CORETYPE") || getenv("EMOTOP_NO_REEXEC"))
		return;
	__builtin_cpu_init();
	if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
	    !__builtin_cpu_supports("avx512dq") || !__builtin_cpu_supports("avx512vl"))
		return;
	const char *core = openblas_get_corename();
	if (!core || (strcasecmp(core, "haswell") && strcasecmp(core, "zen")))
		return;
	setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
	execv("/proc/self/exe", argv);
	/* exec failed (no /proc?): carry on with the kernels we have */
	unsetenv("OPENBLAS_CORETYPE");
}

int main(int argc, char **argv)
{
	maybe_reexec_for_blas(argv);
	emo_log_set_handler(stderr_log, NULL);
	emo_log_set_level(getenv("EMOTOP_DEBUG") ? EMO_LOG_DEBUG : EMO_LOG_INFO);
	if (argc < 2) {
		main_help(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		main_help(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("emotop %s\n", EMOTOP_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	return usage_error(NULL, "unknown command '%s'", argv[1]);
}
