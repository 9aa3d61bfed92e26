/* emotop analyze and emotop eval: whole files through the analysis core.
 *
 * Files are analysed by N worker threads (-j), each with its own analyzer
 * over the one shared, immutable model; output is buffered per file and
 * printed in the order the files were given, so -j changes nothing but the
 * time taken. */
#include <dirent.h>
#include <errno.h>
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

#include "cli.h"
#include "emotop/affect.h"
#include "emotop/analyzer.h"
#include "emotop/audio.h"
#include "emotop/metrics.h"
#include "emotop/model.h"
#include "emotop/ops.h"

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
	emo_ops_set_threads((int)o.threads);
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
	"Evaluate the model on a corpus named like RAVDESS (03-01-EE-II-SS-RR-AA,\n"
	"EE = 01 neutral .. 08 surprised), searched recursively: accuracy,\n"
	"unweighted accuracy (UA, mean per-class recall), weighted accuracy (WA,\n"
	"overall accuracy), per-class precision/recall/F1 and the confusion\n"
	"matrix. The prediction for a file is its overall analyze result; a file\n"
	"with no speech counts as wrong. The model's labels must include the\n"
	"RAVDESS names of the classes present.\n"
	"      --predictions FILE  also write one JSON line per file (path, truth,\n"
	"                          prediction, probabilities)\n";

int cmd_eval(int argc, char **argv)
{
	struct common_opts o;
	common_init(&o);
	const char *pred_path = NULL;
	enum { OPT_PRED = OPT_CLI_BASE + 50 };
	static const struct option opts[] = {COMMON_LONG_OPTIONS,
					     {"predictions", required_argument, 0, OPT_PRED},
					     {0, 0, 0, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "m:j:t:h", opts, NULL)) != -1) {
		if (c == 'h') {
			fputs(eval_help, stdout);
			fputs(common_help, stdout);
			fputs(vad_options_help, stdout);
			return 0;
		}
		if (c == OPT_PRED) {
			pred_path = optarg;
			continue;
		}
		int r = common_option(c, optarg, &o, "eval");
		if (r < 0)
			return -r;
		if (!r)
			return EXIT_USAGE;
	}
	if (optind >= argc)
		return usage_error("eval", "%s", "no directory");
	if (check_window_options("eval", &o.cfg))
		return EXIT_USAGE;
	char **files = NULL;
	size_t n = 0, cap = 0;
	for (int i = optind; i < argc; i++)
		walk(argv[i], &files, &n, &cap);
	if (!n) {
		fprintf(stderr, "%s: no RAVDESS-named audio files under the given "
			"directories\n", prog);
		return 1;
	}
	qsort(files, n, sizeof *files, cmp_str);
	emo_ops_set_threads((int)o.threads);
	struct run run = {.cfg = o.cfg, .quality = o.quality};
	if (load_model(&o, &run.model))
		return 1;
	const struct emo_model *m = run.model;
	int C = emo_model_num_labels(m);
	int map[8];
	for (int e = 0; e < 8; e++)
		map[e] = emo_model_label_index(m, ravdess_names[e]);
	run.njobs = n;
	run.jobs = calloc(n, sizeof *run.jobs);
	size_t skipped = 0;
	for (size_t i = 0; i < n; i++)
		run.jobs[i] = (struct file_job){.path = files[i],
						.truth = map[ravdess_emotion(files[i])]};
	for (size_t i = 0; i < n; i++)
		if (run.jobs[i].truth < 0)
			skipped++;
	if (skipped == n) {
		fprintf(stderr, "%s: the model's labels (%s, ...) do not include the "
			"RAVDESS emotions of these files\n", prog, emo_model_label(m, 0));
		return 1;
	}
	run_jobs(&run, o.jobs);

	long cm[EMO_MAX_LABELS][EMO_MAX_LABELS] = {{0}};
	long total = 0, correct = 0, failed = 0, nospeech = 0;
	FILE *pf = pred_path ? fopen(pred_path, "w") : NULL;
	if (pred_path && !pf)
		fprintf(stderr, "%s: cannot write %s: %s\n", prog, pred_path, strerror(errno));
	for (size_t i = 0; i < n; i++) {
		struct file_job *j = &run.jobs[i];
		free(j->out);
		if (j->err) {
			fprintf(stderr, "%s: %s: %s\n", prog, j->path, j->errmsg);
			failed++;
			continue;
		}
		warn_job(j);
		if (j->truth < 0)
			continue;
		total++;
		if (j->pred < 0)
			nospeech++;
		else
			cm[j->truth][j->pred]++;
		correct += j->pred == j->truth;
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
	long miss[EMO_MAX_LABELS] = {0};
	for (size_t i = 0; i < n; i++)
		if (!run.jobs[i].err && run.jobs[i].truth >= 0 && run.jobs[i].pred < 0)
			miss[run.jobs[i].truth]++; /* no speech: a miss for its class */
	static long cmflat[EMO_MAX_LABELS * EMO_MAX_LABELS];
	for (int k = 0; k < C; k++)
		for (int l = 0; l < C; l++)
			cmflat[k * C + l] = cm[k][l];
	struct emo_class_metrics cmx;
	emo_class_metrics(cmflat, miss, C, &cmx);
	const double *prec = cmx.precision, *rec = cmx.recall, *f1 = cmx.f1;
	double ua = cmx.ua, acc = total ? (double)correct / total : 0;
	if (o.json) {
		printf("{\"type\":\"eval\",\"model\":");
		json_print_string(stdout, emo_model_name(m));
		printf(",\"files\":%ld,\"failed\":%ld,\"no_speech\":%ld,\"accuracy\":%.6f,"
		       "\"UA\":%.6f,\"WA\":%.6f,\"classes\":[", total, failed, nospeech,
		       acc, ua, acc);
		for (int k = 0; k < C; k++) {
			printf("%s{\"label\":", k ? "," : "");
			json_print_string(stdout, emo_model_label(m, k));
			printf(",\"precision\":%.6f,\"recall\":%.6f,\"f1\":%.6f}", prec[k],
			       rec[k], f1[k]);
		}
		printf("],\"confusion\":[");
		for (int k = 0; k < C; k++) {
			printf("%s[", k ? "," : "");
			for (int l = 0; l < C; l++)
				printf("%s%ld", l ? "," : "", cm[k][l]);
			printf("]");
		}
		printf("]}\n");
	} else {
		printf("model %s, %ld files (%ld failed to read, %ld without speech)\n",
		       emo_model_name(m), total, failed, nospeech);
		printf("accuracy %.1f%%   UA %.1f%%   WA %.1f%%\n\n", 100 * acc, 100 * ua,
		       100 * acc);
		printf("%-10s %9s %7s %7s\n", "class", "precision", "recall", "F1");
		for (int k = 0; k < C; k++)
			printf("%-10s %8.1f%% %6.1f%% %6.1f%%\n", emo_model_label(m, k),
			       100 * prec[k], 100 * rec[k], 100 * f1[k]);
		printf("\nconfusion (rows: truth, columns: prediction)\n%10s", "");
		for (int l = 0; l < C; l++)
			printf(" %5.5s", emo_model_label(m, l));
		printf("\n");
		for (int k = 0; k < C; k++) {
			printf("%-10.10s", emo_model_label(m, k));
			for (int l = 0; l < C; l++)
				printf(" %5ld", cm[k][l]);
			printf("\n");
		}
	}
	for (size_t i = 0; i < n; i++)
		free(files[i]);
	free(files);
	free(run.jobs);
	emo_model_destroy(run.model);
	return failed ? EXIT_PARTIAL : 0;
}
