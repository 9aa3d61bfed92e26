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
#include "emotop/vad.h"

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

/* ---- VAD options, shared by every command that runs the VAD ------------- */

enum {
	OPT_VAD_FRAME = 1000, OPT_VAD_ON, OPT_VAD_OFF, OPT_VAD_HANGOVER,
	OPT_VAD_MIN_SPEECH, OPT_VAD_MIN_SILENCE, OPT_VAD_PAD, OPT_VAD_SNR,
	OPT_VAD_MIN_LEVEL, OPT_VAD_FLOOR_WINDOW,
};

#define VAD_LONG_OPTIONS                                                      \
	{"vad-frame", required_argument, 0, OPT_VAD_FRAME},                   \
	{"vad-on", required_argument, 0, OPT_VAD_ON},                         \
	{"vad-off", required_argument, 0, OPT_VAD_OFF},                       \
	{"vad-hangover", required_argument, 0, OPT_VAD_HANGOVER},             \
	{"vad-min-speech", required_argument, 0, OPT_VAD_MIN_SPEECH},         \
	{"vad-min-silence", required_argument, 0, OPT_VAD_MIN_SILENCE},       \
	{"vad-pad", required_argument, 0, OPT_VAD_PAD},                       \
	{"vad-snr", required_argument, 0, OPT_VAD_SNR},                       \
	{"vad-min-level", required_argument, 0, OPT_VAD_MIN_LEVEL},           \
	{"vad-floor-window", required_argument, 0, OPT_VAD_FLOOR_WINDOW}

static const char vad_options_help[] =
	"VAD options (defaults in brackets):\n"
	"      --vad-frame MS         frame length, 10..30 [20]\n"
	"      --vad-on P             score that starts speech [0.5]\n"
	"      --vad-off P            score below which speech may end [0.35]\n"
	"      --vad-hangover MS      speech held after the score drops [100]\n"
	"      --vad-min-speech MS    shorter speech is ignored [100]\n"
	"      --vad-min-silence MS   shorter pauses are bridged [300]\n"
	"      --vad-pad MS           padding around each segment [100]\n"
	"      --vad-snr DB           level over the noise floor scoring 0.5 [9]\n"
	"      --vad-min-level DBFS   quieter frames are never speech [-60]\n"
	"      --vad-floor-window MS  noise floor = quietest level over this [1500]\n";

/* Returns 1 if `c` was a VAD option (applied to cfg), 0 if not, or
 * EXIT_USAGE (negated) for a bad value. */
static int vad_option(int c, const char *arg, struct emo_vad_config *cfg,
		      const char *cmd)
{
	double d;
	switch (c) {
	case OPT_VAD_FRAME:
		if (!parse_double(arg, 10, 30, &d)) goto bad;
		cfg->frame_ms = (int)d; return 1;
	case OPT_VAD_ON:
		if (!parse_double(arg, 0.01, 1, &d)) goto bad;
		cfg->threshold_on = (float)d; return 1;
	case OPT_VAD_OFF:
		if (!parse_double(arg, 0, 1, &d)) goto bad;
		cfg->threshold_off = (float)d; return 1;
	case OPT_VAD_HANGOVER:
		if (!parse_double(arg, 0, 10000, &d)) goto bad;
		cfg->hangover_ms = (int)d; return 1;
	case OPT_VAD_MIN_SPEECH:
		if (!parse_double(arg, 0, 10000, &d)) goto bad;
		cfg->min_speech_ms = (int)d; return 1;
	case OPT_VAD_MIN_SILENCE:
		if (!parse_double(arg, 0, 10000, &d)) goto bad;
		cfg->min_silence_ms = (int)d; return 1;
	case OPT_VAD_PAD:
		if (!parse_double(arg, 0, 10000, &d)) goto bad;
		cfg->pad_ms = (int)d; return 1;
	case OPT_VAD_SNR:
		if (!parse_double(arg, -20, 60, &d)) goto bad;
		cfg->snr_db = (float)d; return 1;
	case OPT_VAD_MIN_LEVEL:
		if (!parse_double(arg, -140, 0, &d)) goto bad;
		cfg->min_level_dbfs = (float)d; return 1;
	case OPT_VAD_FLOOR_WINDOW:
		if (!parse_double(arg, 100, 60000, &d)) goto bad;
		cfg->floor_window_ms = (int)d; return 1;
	default:
		return 0;
	}
bad:
	usage_error(cmd, "bad value '%s' for a --vad option (see --help)", arg);
	return -EXIT_USAGE;
}

/* ---- vad ----------------------------------------------------------------- */

static const char vad_help_head[] =
	"Usage: emotop vad [--json] [--frames] [VAD options] FILE...\n"
	"Print the speech segments of audio files (any format libsndfile reads,\n"
	"any rate and channel count), in seconds. The same detector trims\n"
	"silence in live, analyze and training.\n"
	"      --json     one JSON object per file:\n"
	"                 {\"file\",\"duration\",\"speech_seconds\",\"segments\":[[t0,t1],...]}\n"
	"      --frames   also the per-frame score and raw decision (with --json:\n"
	"                 \"frames\":[[score,raw],...], frame_ms apart)\n";

struct frame_track {
	float *score;
	unsigned char *raw;
	size_t n, cap;
};

static void track_frame(int64_t f, float score, bool raw, void *ud)
{
	struct frame_track *t = ud;
	(void)f;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		float *s = realloc(t->score, cap * sizeof *s);
		unsigned char *r = s ? realloc(t->raw, cap) : NULL;
		if (!s || !r) {
			free(s ? s : t->score);
			t->score = NULL;
			t->n = t->cap = 0;
			return;
		}
		t->score = s;
		t->raw = r;
		t->cap = cap;
	}
	t->score[t->n] = score;
	t->raw[t->n++] = raw;
}

static int cmd_vad(int argc, char **argv)
{
	bool json = false, frames = false;
	struct emo_vad_config vc = emo_vad_config_default();
	static const struct option opts[] = {
		{"json", no_argument, 0, 'J'},
		{"frames", no_argument, 0, 'F'},
		{"help", no_argument, 0, 'h'},
		VAD_LONG_OPTIONS,
		{0, 0, 0, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		int r = vad_option(c, optarg, &vc, "vad");
		if (r < 0)
			return -r;
		if (r)
			continue;
		switch (c) {
		case 'J': json = true; break;
		case 'F': frames = true; break;
		case 'h': fputs(vad_help_head, stdout); fputs(vad_options_help, stdout); return 0;
		default: return EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return usage_error("vad", "%s", "no input file");
	int failed = 0;
	for (int fi = optind; fi < argc; fi++) {
		const char *path = argv[fi];
		float *x = NULL;
		size_t n = 0;
		struct emo_audio_info info;
		int err = emo_audio_read(path, EMO_SAMPLE_RATE, EMO_RESAMPLE_FAST, &x, &n, &info);
		if (err) {
			fprintf(stderr, "%s: %s: %s\n", prog, path, emo_strerror(err));
			failed++;
			continue;
		}
		struct emo_vad *v = NULL;
		if ((err = emo_vad_create(&vc, &v))) {
			free(x);
			return EXIT_USAGE;
		}
		struct frame_track tr = {0};
		if (frames)
			emo_vad_set_frame_callback(v, track_frame, &tr);
		emo_vad_process(v, x, n);
		emo_vad_finish(v);
		enum { MAXSEG = 4096 };
		static struct emo_vad_segment segs[MAXSEG];
		size_t ns = emo_vad_segments(v, 0, INT64_MAX, segs, MAXSEG);
		double speech = 0;
		for (size_t i = 0; i < ns; i++)
			speech += (double)(segs[i].end - segs[i].start) / EMO_SAMPLE_RATE;
		if (json) {
			printf("{\"file\":\"");
			for (const char *p = path; *p; p++)
				if (*p == '"' || *p == '\\')
					printf("\\%c", *p);
				else if ((unsigned char)*p < 0x20)
					printf("\\u%04x", *p);
				else
					putchar(*p);
			printf("\",\"duration\":%.3f,\"speech_seconds\":%.3f,\"segments\":[",
			       (double)n / EMO_SAMPLE_RATE, speech);
			for (size_t i = 0; i < ns; i++)
				printf("%s[%.3f,%.3f]", i ? "," : "",
				       (double)segs[i].start / EMO_SAMPLE_RATE,
				       (double)segs[i].end / EMO_SAMPLE_RATE);
			printf("]");
			if (frames) {
				printf(",\"frame_ms\":%d,\"frames\":[", vc.frame_ms);
				for (size_t i = 0; i < tr.n; i++)
					printf("%s[%.4f,%d]", i ? "," : "", tr.score[i], tr.raw[i]);
				printf("]");
			}
			printf("}\n");
		} else {
			printf("%s: %.2f s, %.2f s speech in %zu segment(s)\n", path,
			       (double)n / EMO_SAMPLE_RATE, speech, ns);
			for (size_t i = 0; i < ns; i++)
				printf("  %8.3f  %8.3f\n", (double)segs[i].start / EMO_SAMPLE_RATE,
				       (double)segs[i].end / EMO_SAMPLE_RATE);
			if (frames)
				for (size_t i = 0; i < tr.n; i++)
					printf("    frame %zu  %.3f s  score %.3f  %s\n", i,
					       (double)i * vc.frame_ms / 1000, tr.score[i],
					       tr.raw[i] ? "speech" : "-");
		}
		fflush(stdout);
		free(tr.score);
		free(tr.raw);
		emo_vad_destroy(v);
		free(x);
	}
	return failed ? (failed == argc - optind ? 1 : EXIT_PARTIAL) : 0;
}

/* ---- top level ------------------------------------------------------------ */

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"devices", cmd_devices, "list audio input devices"},
	{"vad", cmd_vad, "speech segments of audio files"},
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
