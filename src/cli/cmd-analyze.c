/* emotop analyze and emotop eval: whole files through the analysis core.
 *
 * Files are analysed by N worker threads (-j), each with its own analyzer
 * over the one shared, immutable model; output is buffered per file and
 * printed in the order the files were given, so -j changes nothing but the
 * time taken. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "emotop/affect.h"
#include "emotop/analyzer.h"
#include "emotop/audio.h"
#include "emotop/metrics.h"
#include "emotop/model.h"
#include "nn/ops.h"

struct file_job {
	const char *path;
	int truth;          /* eval: label index, or -1 */
	char *out;          /* buffered output (memstream) */
	size_t out_len;
	int err;
	char errmsg[512];
	int pred;           /* overall label, -1 if no speech */
	float probs[EMO_MAX_LABELS];
	double duration, speech;
	long windows;
	uint64_t nonfinite;  /* NaN/Inf samples zeroed */
	double missing_s;    /* audio the header promised but the file lacked */
};

struct run {
	struct emo_model *model;
	struct emo_analyzer_config cfg;
	bool json, print_windows;
	struct file_job *jobs;
	size_t njobs;
	atomic_size_t next;
	int quality;
};

struct file_ctx {
	struct run *run;
	struct file_job *job;
	FILE *out;
	double sum[EMO_MAX_LABELS];
	double weight;
};

static void print_probs_json(FILE *f, const struct emo_model *m, const float *p)
{
	fputc('{', f);
	for (int i = 0; i < emo_model_num_labels(m); i++) {
		if (i)
			fputc(',', f);
		json_print_string(f, emo_model_label(m, i));
		fprintf(f, ":%.6f", p[i]);
	}
	fputc('}', f);
}

static void on_window(const struct emo_result *r, void *ud)
{
	struct file_ctx *c = ud;
	const struct emo_model *m = c->run->model;
	for (int i = 0; i < r->num_labels; i++)
		c->sum[i] += r->probs[i] * r->speech_s;
	c->weight += r->speech_s;
	c->job->windows++;
	if (!c->run->print_windows)
		return;
	if (c->run->json) {
		fprintf(c->out, "{\"type\":\"window\",\"file\":");
		json_print_string(c->out, c->job->path);
		fprintf(c->out, ",\"index\":%lld,\"t0\":%.3f,\"t1\":%.3f,\"speech\":%.3f,"
			"\"probs\":", (long long)r->index, r->t0, r->t1, r->speech_s);
		print_probs_json(c->out, m, r->probs);
		fprintf(c->out, ",\"label\":");
		json_print_string(c->out, emo_model_label(m, r->label));
		fprintf(c->out, ",\"confidence\":%.6f,\"uncertain\":%s", r->confidence,
			r->uncertain ? "true" : "false");
		struct emo_affect af;
		emo_affect_of_model(m, r->probs, &af);
		if (af.valid)
			fprintf(c->out, ",\"valence\":%.4f,\"arousal\":%.4f", af.valence,
				af.arousal);
		fprintf(c->out, "}\n");
	} else {
		int top = 0;
		for (int i = 1; i < r->num_labels; i++)
			if (r->probs[i] > r->probs[top])
				top = i;
		fprintf(c->out, "  %7.2f-%-7.2f %-10s %5.1f%%%s\n", r->t0, r->t1,
			emo_model_label(m, top), 100 * r->probs[top],
			r->speech_s < c->run->cfg.min_window_s ? "  (short)" : "");
	}
}

static void analyse_one(struct run *run, struct file_job *job)
{
	struct file_ctx c = {.run = run, .job = job};
	c.out = open_memstream(&job->out, &job->out_len);
	job->pred = -1;
	/* streamed: a block is decoded, resampled and analysed at a time, so
	 * memory does not grow with the file */
	enum { CHUNK = 16384 };
	float *x = malloc(CHUNK * sizeof *x);
	size_t n = 0;
	struct emo_audio_info info;
	struct emo_audio_reader *rd = NULL;
	struct emo_analyzer *a = NULL;
	int err = x ? emo_audio_reader_open(job->path, EMO_SAMPLE_RATE, run->quality,
					    &info, &rd) : -ENOMEM;
	if (!err)
		err = emo_analyzer_create(run->model, &run->cfg, on_window, NULL, &c, &a);
	if (!err && !run->json && run->print_windows) {
		if (info.duration >= 0)
			fprintf(c.out, "%s (%.2f s, %d Hz, %d ch)\n", job->path,
				info.duration, info.file_rate, info.channels);
		else
			fprintf(c.out, "%s (length not in the header, %d Hz, %d ch)\n",
				job->path, info.file_rate, info.channels);
	}
	while (!err) {
		long got = emo_audio_reader_read(rd, x, CHUNK);
		if (got < 0)
			err = (int)got;
		if (got <= 0)
			break;
		n += (size_t)got;
		err = emo_analyzer_process(a, x, (size_t)got);
	}
	if (!err && n == 0) {
		emo_err("%s: the file holds no audio samples", job->path);
		err = EMO_E_EMPTY;
	}
	if (!err)
		err = emo_analyzer_finish(a);
	if (!err) {
		job->nonfinite = emo_audio_reader_nonfinite(rd);
		job->missing_s = (double)emo_audio_reader_frames_missing(rd) /
				 info.file_rate;
	}
	emo_audio_reader_close(rd);
	free(x);
	job->err = err;
	if (err) {
		snprintf(job->errmsg, sizeof job->errmsg, "%s", emo_strerror(err));
	} else {
		job->duration = (double)n / EMO_SAMPLE_RATE;
		job->speech = emo_analyzer_speech_seconds(a);
		const struct emo_model *m = run->model;
		int C = emo_model_num_labels(m);
		if (c.weight > 0) {
			job->pred = 0;
			for (int i = 0; i < C; i++) {
				job->probs[i] = (float)(c.sum[i] / c.weight);
				if (job->probs[i] > job->probs[job->pred])
					job->pred = i;
			}
		}
		if (run->print_windows) {
			if (run->json) {
				fprintf(c.out, "{\"type\":\"file\",\"file\":");
				json_print_string(c.out, job->path);
				fprintf(c.out, ",\"duration\":%.3f,\"speech_seconds\":%.3f,"
					"\"windows\":%ld", job->duration, job->speech, job->windows);
				if (job->nonfinite)
					fprintf(c.out, ",\"nonfinite_samples\":%llu",
						(unsigned long long)job->nonfinite);
				if (job->missing_s > 0)
					fprintf(c.out, ",\"truncated\":true");
				if (job->pred >= 0) {
					fprintf(c.out, ",\"probs\":");
					print_probs_json(c.out, m, job->probs);
					fprintf(c.out, ",\"label\":");
					json_print_string(c.out, emo_model_label(m, job->pred));
					fprintf(c.out, ",\"confidence\":%.6f", job->probs[job->pred]);
					struct emo_affect af;
					emo_affect_of_model(m, job->probs, &af);
					if (af.valid)
						fprintf(c.out, ",\"valence\":%.4f,\"arousal\":%.4f",
							af.valence, af.arousal);
					if (af.vclass != EMO_VALENCE_NONE) {
						fprintf(c.out, ",\"valence_class\":\"%s\","
							"\"valence_class_prob\":%.4f",
							emo_valence_class_name(af.vclass),
							af.vclass_prob);
					}
				} else {
					fprintf(c.out, ",\"label\":null");
				}
				fprintf(c.out, "}\n");
			} else if (job->pred >= 0) {
				fprintf(c.out, "  overall   %-10s %5.1f%%   (%.2f s speech, %ld "
					"window(s))\n   ", emo_model_label(m, job->pred),
					100 * job->probs[job->pred], job->speech, job->windows);
				for (int i = 0; i < C; i++)
					fprintf(c.out, " %s %.0f%%", emo_model_label(m, i),
						100 * job->probs[i]);
				fprintf(c.out, "\n");
				struct emo_affect af;
				emo_affect_of_model(m, job->probs, &af);
				if (af.valid)
					fprintf(c.out, "    valence %+.2f  arousal %+.2f  (%s %.0f%%)\n",
						af.valence, af.arousal,
						emo_valence_class_name(af.vclass),
						100 * af.vclass_prob);
			} else {
				fprintf(c.out, "  no speech found (%.2f s of audio)\n",
					job->duration);
			}
		}
	}
	emo_analyzer_destroy(a);
	fclose(c.out);
}

/* What was odd about a file that was still analysed. */
static void warn_job(const struct file_job *j)
{
	if (j->nonfinite)
		fprintf(stderr, "%s: warning: %s: %llu non-finite sample(s) (NaN/Inf) "
			"were replaced by silence\n", prog, j->path,
			(unsigned long long)j->nonfinite);
	if (j->missing_s > 0)
		fprintf(stderr, "%s: warning: %s: the file ends %.2f s before its "
			"header says (truncated?); analysed what is there\n", prog,
			j->path, j->missing_s);
}

static void *worker(void *arg)
{
	struct run *run = arg;
	for (;;) {
		/* relaxed: the counter only hands out indices; the jobs array
		 * is written before the threads start and read after join */
		size_t i = atomic_fetch_add_explicit(&run->next, 1, memory_order_relaxed);
		if (i >= run->njobs)
			return NULL;
		analyse_one(run, &run->jobs[i]);
	}
}

static int run_jobs(struct run *run, long nthreads)
{
	if (nthreads > (long)run->njobs)
		nthreads = (long)run->njobs;
	if (nthreads <= 1) {
		worker(run);
		return 0;
	}
	pthread_t th[64];
	long started = 0;
	for (; started < nthreads && started < 64; started++)
		if (pthread_create(&th[started], NULL, worker, run))
			break;
	if (!started)
		worker(run);
	for (long i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	return 0;
}

/* ---- shared option handling ---------------------------------------------- */

enum { OPT_WINDOW = OPT_CLI_BASE, OPT_HOP, OPT_QUALITY, OPT_SMOOTH };

struct common_opts {
	const char *model;
	bool json;
	long jobs, threads;
	struct emo_analyzer_config cfg;
	int quality;
};

static int common_option(int c, const char *arg, struct common_opts *o,
			 const char *cmd)
{
	int r = vad_option(c, arg, &o->cfg.vad, cmd);
	if (r)
		return r < 0 ? r : 1;
	double d;
	switch (c) {
	case 'm': o->model = arg; return 1;
	case 'J': o->json = true; return 1;
	case 'j':
		if (!parse_int(arg, 1, 64, &o->jobs))
			return -usage_error(cmd, "-j wants 1..64, not '%s'", arg);
		return 1;
	case 't':
		if (!parse_int(arg, 1, 256, &o->threads))
			return -usage_error(cmd, "--threads wants 1..256, not '%s'", arg);
		return 1;
	case OPT_WINDOW:
		if (!parse_double(arg, 0.1, 60, &d))
			return -usage_error(cmd, "--window wants 0.1..60 seconds, not '%s'", arg);
		o->cfg.window_s = d;
		return 1;
	case OPT_HOP:
		if (!parse_double(arg, 0.01, 60, &d))
			return -usage_error(cmd, "--hop wants 0.01..60 seconds, not '%s'", arg);
		o->cfg.hop_s = d;
		return 1;
	case OPT_SMOOTH:
		if (!parse_double(arg, 0.01, 1, &d))
			return -usage_error(cmd, "--smoothing wants 0.01..1, not '%s'", arg);
		o->cfg.ema_alpha = (float)d;
		return 1;
	case OPT_PRECISION:
		r = precision_option(cmd, arg);
		return r ? -r : 1;
	case OPT_REUSE:
		r = reuse_option(cmd, arg, &o->cfg);
		return r ? -r : 1;
	case OPT_QUALITY:
		o->quality = emo_resample_quality_parse(arg);
		if (o->quality < 0)
			return -usage_error(cmd, "--resample wants best, medium or fast, not '%s'", arg);
		return 1;
	}
	return 0;
}

#define COMMON_LONG_OPTIONS                                                   \
	{"model", required_argument, 0, 'm'},                                 \
	{"json", no_argument, 0, 'J'},                                        \
	{"jobs", required_argument, 0, 'j'},                                  \
	{"threads", required_argument, 0, 't'},                               \
	{"window", required_argument, 0, OPT_WINDOW},                         \
	{"hop", required_argument, 0, OPT_HOP},                               \
	{"smoothing", required_argument, 0, OPT_SMOOTH},                      \
	{"resample", required_argument, 0, OPT_QUALITY},                      \
	PRECISION_LONG_OPTION,                                                \
	REUSE_LONG_OPTION,                                                    \
	{"help", no_argument, 0, 'h'},                                        \
	VAD_LONG_OPTIONS

static const char common_help[] =
	"  -m, --model DIR       model directory (default: $EMOTOP_MODEL or the shipped model)\n"
	"      --json            JSON Lines instead of text\n"
	"  -j, --jobs N          analyse N files in parallel (default 1)\n"
	"  -t, --threads N       OpenBLAS threads per file (default 1)\n"
	"      --window S        window length, seconds of speech (default 2)\n"
	"      --hop S           hop between windows, seconds of speech (default 0.5)\n"
	"      --smoothing A     moving-average weight of the newest window, 0..1 (default 0.5)\n"
	"      --resample Q      libsamplerate quality: best, medium, fast (default fast)\n";

static void common_init(struct common_opts *o)
{
	memset(o, 0, sizeof *o);
	o->model = default_model();
	o->jobs = 1;
	o->threads = 1;
	o->cfg = emo_analyzer_config_default();
	o->quality = EMO_RESAMPLE_FAST;
}

static int load_model(const struct common_opts *o, struct emo_model **m)
{
	return load_model_or_explain(o->model, m);
}

/* ---- analyze ------------------------------------------------------------- */

static const char analyze_help[] =
	"Usage: emotop analyze [OPTIONS] FILE...\n"
	"Analyse audio files (any format libsndfile reads, any sample rate and\n"
	"channel count): per-window results and an overall result per file\n"
	"(window probabilities averaged over speech). Files that cannot be read\n"
	"are reported and skipped; the exit status is then 3 (1 if all failed).\n";

int cmd_analyze(int argc, char **argv)
{
	struct common_opts o;
	common_init(&o);
	static const struct option opts[] = {COMMON_LONG_OPTIONS, {0, 0, 0, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "m:j:t:h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(analyze_help, stdout);
			fputs(common_help, stdout);
			fputs(precision_help, stdout);
			fputs(reuse_help, stdout);
			fputs(vad_options_help, stdout);
			return 0;
		}
		int r = common_option(c, optarg, &o, "analyze");
		if (r < 0)
			return -r;
		if (!r)
			return EXIT_USAGE;
	}
	if (optind >= argc)
		return usage_error("analyze", "%s", "no input file");
	if (check_window_options("analyze", &o.cfg))
		return EXIT_USAGE;
	emo_set_threads((int)o.threads);
	struct run run = {.cfg = o.cfg, .json = o.json, .print_windows = true,
			  .quality = o.quality};
	if (load_model(&o, &run.model))
		return 1;
	run.njobs = (size_t)(argc - optind);
	run.jobs = calloc(run.njobs, sizeof *run.jobs);
	for (size_t i = 0; i < run.njobs; i++)
		run.jobs[i] = (struct file_job){.path = argv[optind + (int)i], .truth = -1};
	run_jobs(&run, o.jobs);
	size_t failed = 0;
	for (size_t i = 0; i < run.njobs; i++) {
		struct file_job *j = &run.jobs[i];
		if (j->err) {
			failed++;
			fprintf(stderr, "%s: %s: %s\n", prog, j->path, j->errmsg);
			if (o.json) {
				printf("{\"type\":\"error\",\"file\":");
				json_print_string(stdout, j->path);
				printf(",\"error\":");
				json_print_string(stdout, j->errmsg);
				printf("}\n");
			}
		} else if (j->out) {
			fwrite(j->out, 1, j->out_len, stdout);
			warn_job(j);
		}
		free(j->out);
	}
	free(run.jobs);
	emo_model_destroy(run.model);
	return failed ? (failed == run.njobs ? 1 : EXIT_PARTIAL) : 0;
}

/* ---- eval ----------------------------------------------------------------- */

static const char *const ravdess_names[] = {"neutral", "calm", "happy", "sad",
					    "angry", "fearful", "disgust", "surprised"};

/* RAVDESS names: MM-VV-EE-II-SS-RR-AA.ext, EE = emotion 01..08 */
static int ravdess_emotion(const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	int f[7];
	if (sscanf(b, "%2d-%2d-%2d-%2d-%2d-%2d-%2d", &f[0], &f[1], &f[2], &f[3],
		   &f[4], &f[5], &f[6]) != 7 || f[2] < 1 || f[2] > 8)
		return -1;
	return f[2] - 1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk(const char *dir, char ***list, size_t *n, size_t *cap)
{
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "%s: cannot open directory %s: %s\n", prog, dir,
			strerror(errno));
		return;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char *p;
		if (asprintf(&p, "%s/%s", dir, e->d_name) < 0)
			break;
		struct stat sb;
		if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
			walk(p, list, n, cap);
			free(p);
		} else if (ravdess_emotion(p) >= 0) {
			if (*n == *cap) {
				*cap = *cap ? *cap * 2 : 256;
				*list = realloc(*list, *cap * sizeof **list);
			}
			(*list)[(*n)++] = p;
		} else {
			free(p);
		}
	}
	closedir(d);
}

static const char eval_help[] =
	"Usage: emotop eval [OPTIONS] DIR...\n"
	"       emotop eval [OPTIONS] --list FILE\n"
	"Evaluate the model on labelled audio: a corpus named like RAVDESS\n"
	"(03-01-EE-II-SS-RR-AA, EE = 01 neutral .. 08 surprised), searched\n"
	"recursively, or a list of path<TAB>label lines (or path,label; paths\n"
	"relative to the list's folder; '#' comments and a 'path label' header\n"
	"are skipped). Reports accuracy, unweighted accuracy (UA, mean per-class\n"
	"recall), weighted accuracy (WA, overall accuracy), per-class\n"
	"precision/recall/F1 and the confusion matrix, twice: with the argmax over\n"
	"all the model's labels, and restricted to the labels present in the\n"
	"data (the usual cross-corpus practice); then the 3-class valence\n"
	"weighted F1 (negative/neutral/positive, surprise left out). The\n"
	"prediction for a file is its overall analyze result; a file with no\n"
	"speech counts as wrong.\n"
	"  -L, --list FILE         labelled files to evaluate (instead of DIR)\n"
	"      --map A=B,C=D       map the list's labels onto the model's (e.g.\n"
	"                          ang=angry,hap=happy); labels that map to none of\n"
	"                          the model's are reported and their files skipped\n"
	"      --predictions FILE  also write one JSON line per file (path, truth,\n"
	"                          prediction, probabilities); never overwrites\n";

struct labelled {
	char **paths;
	int *truth;
	size_t n, cap;
};

static void add_labelled(struct labelled *L, char *path, int truth)
{
	if (L->n == L->cap) {
		L->cap = L->cap ? 2 * L->cap : 256;
		L->paths = realloc(L->paths, L->cap * sizeof *L->paths);
		L->truth = realloc(L->truth, L->cap * sizeof *L->truth);
	}
	L->paths[L->n] = path;
	L->truth[L->n++] = truth;
}

/* "a=b,c=d" applied to one label; the label itself when unmapped. */
static const char *map_label(const char *map, const char *l, char *buf, size_t n)
{
	const char *p = map;
	size_t ll = strlen(l);
	while (p && *p) {
		const char *eq = strchr(p, '='), *end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		if (eq && eq < end && (size_t)(eq - p) == ll && !strncasecmp(p, l, ll)) {
			snprintf(buf, n, "%.*s", (int)(end - eq - 1), eq + 1);
			return buf;
		}
		p = *end ? end + 1 : end;
	}
	return l;
}

static bool valid_map(const char *map)
{
	for (const char *p = map; *p;) {
		const char *eq = strchr(p, '='), *end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		if (!eq || eq >= end || eq == p || eq + 1 == end)
			return false;
		p = *end ? end + 1 : end;
	}
	return true;
}

/* Reads a path<TAB>label (or path,label) list. Returns 0, or 1 after an
 * error message. Unknown labels are counted and reported, not guessed. */
static int read_list(const char *list, const char *map, const struct emo_model *m,
		     struct labelled *L)
{
	FILE *f = fopen(list, "r");
	if (!f) {
		fprintf(stderr, "%s: cannot read the list %s: %s\n", prog, list, strerror(errno));
		return 1;
	}
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", list);
	char *slash = strrchr(dir, '/');
	if (slash)
		slash[1] = 0;
	else
		dir[0] = 0;
	char *line = NULL, unknown[16][64];
	long unknown_n[16] = {0};
	int nunknown = 0;
	size_t cap = 0, lineno = 0, skipped = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) > 0) {
		lineno++;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = 0;
		if (!len || line[0] == '#')
			continue;
		char *sep = strchr(line, '\t');
		if (!sep)
			sep = strrchr(line, ',');
		if (!sep) {
			fprintf(stderr, "%s: %s:%zu: expected path<TAB>label or path,label\n",
				prog, list, lineno);
			free(line);
			fclose(f);
			return 1;
		}
		*sep = 0;
		const char *lab = sep + 1;
		while (*lab == ' ')
			lab++;
		if (lineno == 1 && (!strcasecmp(line, "path") || !strcasecmp(line, "file")))
			continue; /* header */
		char buf[128];
		const char *ml = map_label(map, lab, buf, sizeof buf);
		int t = emo_model_label_index(m, ml);
		if (t < 0) {
			int k = 0;
			while (k < nunknown && strcmp(unknown[k], lab))
				k++;
			if (k == nunknown && nunknown < 16)
				snprintf(unknown[nunknown++], 64, "%s", lab);
			if (k < 16)
				unknown_n[k]++;
			skipped++;
			continue;
		}
		char *p;
		if (line[0] == '/' || !dir[0])
			p = strdup(line);
		else if (asprintf(&p, "%s%s", dir, line) < 0)
			p = NULL;
		if (p)
			add_labelled(L, p, t);
	}
	free(line);
	fclose(f);
	for (int k = 0; k < nunknown; k++)
		fprintf(stderr, "%s: %s: label '%s' (%ld file(s)) maps to none of the "
			"model's labels; skipped (use --map %s=LABEL)\n", prog, list,
			unknown[k], unknown_n[k], unknown[k]);
	if (!L->n) {
		fprintf(stderr, "%s: %s: no file with a label the model knows (%zu skipped)\n",
			prog, list, skipped);
		return 1;
	}
	return 0;
}

static void print_metrics_json(const struct emo_model *m, const struct emo_class_metrics *x,
			       const long *cm, int C)
{
	printf("\"accuracy\":%.6f,\"UA\":%.6f,\"WA\":%.6f,\"classes\":[", x->accuracy, x->ua,
	       x->accuracy);
	for (int k = 0; k < C; k++) {
		printf("%s{\"label\":", k ? "," : "");
		json_print_string(stdout, emo_model_label(m, k));
		printf(",\"precision\":%.6f,\"recall\":%.6f,\"f1\":%.6f}", x->precision[k],
		       x->recall[k], x->f1[k]);
	}
	printf("],\"confusion\":[");
	for (int k = 0; k < C; k++) {
		printf("%s[", k ? "," : "");
		for (int l = 0; l < C; l++)
			printf("%s%ld", l ? "," : "", cm[k * C + l]);
		printf("]");
	}
	printf("]");
}

static void print_metrics_text(const struct emo_model *m, const struct emo_class_metrics *x,
			       const long *cm, int C, const bool *show)
{
	printf("accuracy %.1f%%   UA %.1f%%   WA %.1f%%\n\n", 100 * x->accuracy, 100 * x->ua,
	       100 * x->accuracy);
	printf("%-10s %9s %7s %7s\n", "class", "precision", "recall", "F1");
	for (int k = 0; k < C; k++)
		if (show[k])
			printf("%-10s %8.1f%% %6.1f%% %6.1f%%\n", emo_model_label(m, k),
			       100 * x->precision[k], 100 * x->recall[k], 100 * x->f1[k]);
	printf("\nconfusion (rows: truth, columns: prediction)\n%10s", "");
	for (int l = 0; l < C; l++)
		if (show[l])
			printf(" %5.5s", emo_model_label(m, l));
	printf("\n");
	for (int k = 0; k < C; k++) {
		if (!show[k])
			continue;
		printf("%-10.10s", emo_model_label(m, k));
		for (int l = 0; l < C; l++)
			if (show[l])
				printf(" %5ld", cm[k * C + l]);
		printf("\n");
	}
}

/* RAVDESS-named files under `dirs` with their emotion (through --map)
 * as the model's label index; files of emotions the model lacks are
 * skipped and counted. 0, or 1 after a message. */
static int collect_dirs(char **dirs, int ndirs, const char *map,
			const struct emo_model *m, struct labelled *L)
{
	char **files = NULL;
	size_t n = 0, cap = 0;
	for (int i = 0; i < ndirs; i++)
		walk(dirs[i], &files, &n, &cap);
	if (!n) {
		fprintf(stderr, "%s: no RAVDESS-named audio files under the given "
			"directories\n", prog);
		return 1;
	}
	qsort(files, n, sizeof *files, cmp_str);
	int rmap[8];
	for (int e = 0; e < 8; e++)
		rmap[e] = emo_model_label_index(m, map_label(map, ravdess_names[e],
							     (char[64]){0}, 64));
	size_t unknown = 0;
	for (size_t i = 0; i < n; i++) {
		int t = rmap[ravdess_emotion(files[i])];
		if (t < 0) {
			unknown++;
			free(files[i]);
			continue;
		}
		add_labelled(L, files[i], t);
	}
	free(files);
	if (!L->n) {
		fprintf(stderr, "%s: the model's labels (%s, ...) do not include the "
			"RAVDESS emotions of these files\n", prog, emo_model_label(m, 0));
		return 1;
	}
	if (unknown)
		fprintf(stderr, "%s: %zu file(s) of emotions the model does not have "
			"were skipped\n", prog, unknown);
	return 0;
}

/* What eval counts over the files. */
struct tally {
	int C;
	bool present[EMO_MAX_LABELS]; /* the labels the data has */
	long cm[EMO_MAX_LABELS * EMO_MAX_LABELS];  /* truth x argmax */
	long cmr[EMO_MAX_LABELS * EMO_MAX_LABELS]; /* truth x restricted argmax */
	long miss[EMO_MAX_LABELS], vcm[9];         /* no speech; valence 3x3 */
	long failed, nospeech, total;
};

/* Confusion counts over the finished jobs (restricted predictions pick
 * among the labels the data has), and the --predictions file. */
static void tally(struct run *run, const struct emo_model *m,
		  const char *pred_path, struct tally *T)
{
	memset(T, 0, sizeof *T);
	const int C = T->C = emo_model_num_labels(m);
	const size_t n = run->njobs;
	for (size_t i = 0; i < n; i++)
		T->present[run->jobs[i].truth] = true;
	FILE *pf = NULL;
	if (pred_path) {
		int fd = open(pred_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		pf = fd >= 0 ? fdopen(fd, "w") : NULL;
		if (!pf)
			fprintf(stderr, "%s: cannot write %s: %s\n", prog, pred_path,
				strerror(errno));
	}
	for (size_t i = 0; i < n; i++) {
		struct file_job *j = &run->jobs[i];
		free(j->out);
		if (j->err) {
			fprintf(stderr, "%s: %s: %s\n", prog, j->path, j->errmsg);
			T->failed++;
			continue;
		}
		warn_job(j);
		if (j->pred < 0) {
			T->nospeech++;
			T->miss[j->truth]++;
		} else {
			T->cm[j->truth * C + j->pred]++;
			int pr = -1;
			for (int k = 0; k < C; k++)
				if (T->present[k] && (pr < 0 || j->probs[k] > j->probs[pr]))
					pr = k;
			T->cmr[j->truth * C + pr]++;
			/* 3-class valence of the truth and of the probabilities */
			float tv, ta;
			enum emo_valence_class tc;
			struct emo_affect af;
			emo_affect_of_model(m, j->probs, &af);
			if (emo_affect_place(emo_model_label(m, j->truth), &tv, &ta, &tc) &&
			    tc != EMO_VALENCE_NONE && af.vclass != EMO_VALENCE_NONE)
				T->vcm[tc * 3 + af.vclass]++;
		}
		if (pf) {
			fprintf(pf, "{\"file\":");
			json_print_string(pf, j->path);
			fprintf(pf, ",\"truth\":");
			json_print_string(pf, emo_model_label(m, j->truth));
			fprintf(pf, ",\"prediction\":");
			if (j->pred >= 0)
				json_print_string(pf, emo_model_label(m, j->pred));
			else
				fprintf(pf, "null");
			fprintf(pf, ",\"probs\":");
			print_probs_json(pf, m, j->probs);
			fprintf(pf, "}\n");
		}
	}
	if (pf)
		fclose(pf);
	T->total = (long)n - T->failed;
}

/* The metrics of a tally, as text or one JSON object. */
static void report(const struct tally *T, const struct emo_model *m, bool json)
{
	const int C = T->C;
	struct emo_class_metrics xa, xr, xv;
	emo_class_metrics(T->cm, T->miss, C, &xa);
	emo_class_metrics(T->cmr, T->miss, C, &xr);
	emo_class_metrics(T->vcm, NULL, 3, &xv);
	double vf1 = emo_weighted_f1(T->vcm, 3);
	const long *vcm = T->vcm;
	bool all[EMO_MAX_LABELS];
	int npresent = 0;
	for (int k = 0; k < C; k++) {
		all[k] = true;
		npresent += T->present[k];
	}
	if (json) {
		printf("{\"type\":\"eval\",\"model\":");
		json_print_string(stdout, emo_model_name(m));
		printf(",\"files\":%ld,\"failed\":%ld,\"no_speech\":%ld,", T->total,
		       T->failed, T->nospeech);
		print_metrics_json(m, &xa, T->cm, C);
		printf(",\"restricted\":{\"labels\":[");
		for (int k = 0, first = 1; k < C; k++)
			if (T->present[k]) {
				printf("%s", first ? "" : ",");
				json_print_string(stdout, emo_model_label(m, k));
				first = 0;
			}
		printf("],");
		print_metrics_json(m, &xr, T->cmr, C);
		printf("},\"valence\":{\"files\":%ld,\"weighted_f1\":%.6f,\"accuracy\":%.6f,"
		       "\"confusion\":[[%ld,%ld,%ld],[%ld,%ld,%ld],[%ld,%ld,%ld]]}}\n",
		       xv.total, vf1, xv.accuracy, vcm[0], vcm[1], vcm[2], vcm[3], vcm[4],
		       vcm[5], vcm[6], vcm[7], vcm[8]);
	} else {
		printf("model %s, %ld files (%ld failed to read, %ld without speech)\n\n",
		       emo_model_name(m), T->total, T->failed, T->nospeech);
		printf("== argmax over all %d labels of the model\n", C);
		print_metrics_text(m, &xa, T->cm, C, all);
		printf("\n== argmax restricted to the %d label(s) in the data\n", npresent);
		print_metrics_text(m, &xr, T->cmr, C, T->present);
		printf("\n== 3-class valence (negative / neutral / positive; surprise left out), "
		       "%ld files\nweighted F1 %.3f   accuracy %.1f%%\n", xv.total, vf1,
		       100 * xv.accuracy);
	}
}

int cmd_eval(int argc, char **argv)
{
	struct common_opts o;
	common_init(&o);
	const char *pred_path = NULL, *list = NULL, *map = "";
	enum { OPT_PRED = OPT_CLI_BASE + 50, OPT_MAP };
	static const struct option opts[] = {COMMON_LONG_OPTIONS,
					     {"predictions", required_argument, 0, OPT_PRED},
					     {"list", required_argument, 0, 'L'},
					     {"map", required_argument, 0, OPT_MAP},
					     {0, 0, 0, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "m:j:t:hL:", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(eval_help, stdout);
			fputs(common_help, stdout);
			fputs(precision_help, stdout);
			fputs(reuse_help, stdout);
			fputs(vad_options_help, stdout);
			return 0;
		}
		if (c == OPT_PRED) {
			pred_path = optarg;
			continue;
		}
		if (c == 'L') {
			list = optarg;
			continue;
		}
		if (c == OPT_MAP) {
			if (!valid_map(optarg))
				return usage_error("eval", "--map wants A=B,C=D, not '%s'", optarg);
			map = optarg;
			continue;
		}
		int r = common_option(c, optarg, &o, "eval");
		if (r < 0)
			return -r;
		if (!r)
			return EXIT_USAGE;
	}
	if (optind >= argc && !list)
		return usage_error("eval", "%s", "no directory (or --list FILE)");
	if (list && optind < argc)
		return usage_error("eval", "give directories or --list, not both ('%s')",
				   argv[optind]);
	if (check_window_options("eval", &o.cfg))
		return EXIT_USAGE;
	if (pred_path && access(pred_path, F_OK) == 0) {
		fprintf(stderr, "%s: %s exists; choose another --predictions name (eval never "
			"overwrites a file)\n", prog, pred_path);
		return 1;
	}
	emo_set_threads((int)o.threads);
	struct run run = {.cfg = o.cfg, .quality = o.quality};
	if (load_model(&o, &run.model))
		return 1;
	const struct emo_model *m = run.model;
	struct labelled L = {0};
	if (list) {
		if (read_list(list, map, m, &L)) {
			emo_model_destroy(run.model);
			return 1;
		}
	} else if (collect_dirs(argv + optind, argc - optind, map, m, &L)) {
		emo_model_destroy(run.model);
		return 1;
	}
	size_t n = L.n;
	run.njobs = n;
	run.jobs = calloc(n, sizeof *run.jobs);
	for (size_t i = 0; i < n; i++)
		run.jobs[i] = (struct file_job){.path = L.paths[i], .truth = L.truth[i]};
	run_jobs(&run, o.jobs);

	static struct tally T; /* 66 KiB of counts: not on the stack */
	tally(&run, m, pred_path, &T);
	report(&T, m, o.json);
	long failed = T.failed;
	for (size_t i = 0; i < n; i++)
		free(L.paths[i]);
	free(L.paths);
	free(L.truth);
	free(run.jobs);
	emo_model_destroy(run.model);
	return failed ? EXIT_PARTIAL : 0;
}
