/* emotop eval: accuracy, UA, per-class metrics and the 3-class valence F1
 * of a labelled corpus (RAVDESS-named directories or a path<TAB>label
 * list), through the same batch machinery as analyze (batch.c). Each
 * file's prediction is tallied, and written to --predictions, as soon as
 * it and the files before it are done. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/batch.h"
#include "cli/cli.h"
#include "emotop/affect.h"
#include "emotop/metrics.h"
#include "emotop/model.h"


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
		cli_error("cannot open directory %s: %s", dir,
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
	size_t *line; /* of the list, or 0 */
	size_t n, cap;
};

static void add_labelled(struct labelled *L, char *path, int truth)
{
	if (L->n == L->cap) {
		size_t cap = L->cap ? 2 * L->cap : 256;
		char **p = realloc(L->paths, cap * sizeof *p);
		if (p)
			L->paths = p;
		int *t = p ? realloc(L->truth, cap * sizeof *t) : NULL;
		if (t)
			L->truth = t;
		size_t *l = t ? realloc(L->line, cap * sizeof *l) : NULL;
		if (!l) {
			cli_error("out of memory for the file list");
			exit(1);
		}
		L->line = l;
		L->cap = cap;
	}
	L->paths[L->n] = path;
	L->line[L->n] = 0;
	L->truth[L->n++] = truth;
}

static int cmp_entry(const void *a, const void *b, void *paths)
{
	char **P = paths;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(P[i], P[j]);
	return c ? c : (i > j) - (i < j);
}

/* A file listed twice is evaluated once (its first line), with a warning
 * naming both lines: counting it twice would weigh it double. Paths are
 * compared canonical (realpath), so a.flac and ./a.flac, or a link and its
 * target, are one file. */
static void drop_duplicates(const char *list, struct labelled *L)
{
	size_t *ix = malloc((L->n ? L->n : 1) * sizeof *ix);
	bool *drop = calloc(L->n ? L->n : 1, sizeof *drop);
	char **key = calloc(L->n ? L->n : 1, sizeof *key);
	bool ok = ix && drop && key;
	for (size_t i = 0; ok && i < L->n; i++) {
		key[i] = realpath(L->paths[i], NULL);
		if (!key[i])
			key[i] = strdup(L->paths[i]); /* unreadable: it fails later */
		ok = key[i] != NULL;
	}
	if (!ok) {
		for (size_t i = 0; key && i < L->n; i++)
			free(key[i]);
		free(key);
		free(ix);
		free(drop);
		return;
	}
	for (size_t i = 0; i < L->n; i++)
		ix[i] = i;
	qsort_r(ix, L->n, sizeof *ix, cmp_entry, key);
	size_t dups = 0;
	for (size_t k = 1; k < L->n; k++)
		if (!strcmp(key[ix[k]], key[ix[k - 1]])) {
			drop[ix[k]] = true;
			if (dups++ < 10)
				cli_error("%s:%zu: %s is listed already (line %zu); "
					"evaluated once", list, L->line[ix[k]],
					L->paths[ix[k]], L->line[ix[k - 1]]);
		}
	if (dups > 10)
		cli_error("%s: %zu duplicate line(s) in all, each evaluated "
			"once", list, dups);
	size_t w = 0;
	for (size_t i = 0; i < L->n; i++) {
		if (drop[i]) {
			free(L->paths[i]);
			continue;
		}
		L->paths[w] = L->paths[i];
		L->truth[w] = L->truth[i];
		L->line[w++] = L->line[i];
	}
	for (size_t i = 0; i < L->n; i++)
		free(key[i]);
	free(key);
	L->n = w;
	free(ix);
	free(drop);
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
		cli_error("cannot read the list %s: %s", list, strerror(errno));
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
		if (lineno == 1 && len >= 3 && !memcmp(line, "\xEF\xBB\xBF", 3)) {
			memmove(line, line + 3, (size_t)len - 2); /* a UTF-8 BOM */
			len -= 3;
		}
		if (!len || line[0] == '#')
			continue;
		char *sep = strchr(line, '\t');
		if (!sep)
			sep = strrchr(line, ',');
		if (!sep) {
			cli_error("%s:%zu: expected path<TAB>label or path,label", list, lineno);
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
		if (!*lab || !*line) {
			cli_error("%s:%zu: %s; each line is path<TAB>label",
				list, lineno, *line ? "the label is empty" : "the path is empty");
			free(line);
			fclose(f);
			return 1;
		}
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
		if (p) {
			add_labelled(L, p, t);
			L->line[L->n - 1] = lineno;
		}
	}
	free(line);
	fclose(f);
	drop_duplicates(list, L);
	for (int k = 0; k < nunknown; k++)
		cli_error("%s: label '%s' (%ld file(s)) maps to none of the "
			"model's labels; skipped (use --map %s=LABEL)", list,
			unknown[k], unknown_n[k], unknown[k]);
	if (!L->n) {
		cli_error("%s: no file with a label the model knows (%zu skipped)", list, skipped);
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
		cli_error("no RAVDESS-named audio files under the given "
			"directories");
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
		cli_error("the model's labels (%s, ...) do not include the "
			"RAVDESS emotions of these files", emo_model_label(m, 0));
		return 1;
	}
	if (unknown)
		cli_error("%zu file(s) of emotions the model does not have "
			"were skipped", unknown);
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

struct eval_out {
	const struct emo_model *m;
	struct tally *T;
	FILE *pred;          /* --predictions, or NULL */
	const char *pred_path;
	bool pred_failed;
};

/* One finished file into the tally (restricted predictions pick among
 * the labels the data has) and the --predictions file. false when that
 * file can no longer be written. */
static bool tally_one(struct file_job *j, void *ud)
{
	struct eval_out *o = ud;
	struct tally *T = o->T;
	const struct emo_model *m = o->m;
	const int C = T->C;
	if (j->err) {
		cli_error("%s: %s", j->path, j->errmsg);
		T->failed++;
		return true;
	}
	batch_warn(j);
	T->total++;
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
	if (!o->pred)
		return true;
	FILE *pf = o->pred;
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
	if (fflush(pf) || ferror(pf)) {
		cli_error("cannot write %s: %s; it holds the predictions "
			"before %s", o->pred_path, strerror(errno ? errno : EIO),
			j->path);
		o->pred_failed = true;
		return false;
	}
	return true;
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

static void free_labelled(struct labelled *L)
{
	for (size_t i = 0; i < L->n; i++)
		free(L->paths[i]);
	free(L->paths);
	free(L->truth);
	free(L->line);
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
	while ((c = cli_getopt(argc, argv, "m:j:t:qhL:", opts, "eval")) != -1) {
		if (c == 'h') {
			print_batch_help(eval_help);
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
	/* the predictions file first, exclusively: a bad name fails before any
	 * work, and each prediction is written as it is decided */
	struct eval_out out = {.pred_path = pred_path};
	if (pred_path) {
		int fd = open(pred_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		out.pred = fd >= 0 ? fdopen(fd, "w") : NULL;
		if (!out.pred) {
			int e = errno;
			if (fd >= 0)
				close(fd);
			cli_error("cannot create %s: %s%s", pred_path,
				strerror(e), e == EEXIST ? " (eval never overwrites a file: "
				"choose another --predictions name)" : "");
			return 1;
		}
	}
	emo_set_threads((int)o.threads);
	struct batch b = {.cfg = o.cfg, .quality = o.quality,
			  .progress = batch_progress_wanted(o.quiet, false) ? "eval" : NULL};
	struct labelled L = {0};
	int status = 1;
	size_t done = 0;
	int sig = 0;
	static struct tally T; /* 66 KiB of counts: not on the stack */
	memset(&T, 0, sizeof T);
	if (load_model_or_explain(o.model, o.precision, &b.model))
		goto out;
	const struct emo_model *m = b.model;
	if (list ? read_list(list, map, m, &L) :
		   collect_dirs(argv + optind, argc - optind, map, m, &L))
		goto out;
	b.njobs = L.n;
	b.jobs = calloc(L.n, sizeof *b.jobs);
	if (!b.jobs) {
		cli_error("out of memory for %zu files", L.n);
		goto out;
	}
	T.C = emo_model_num_labels(m);
	for (size_t i = 0; i < L.n; i++) {
		b.jobs[i] = (struct file_job){.path = L.paths[i], .truth = L.truth[i]};
		T.present[L.truth[i]] = true;
	}
	out.m = m;
	out.T = &T;
	done = batch_run(&b, o.jobs, tally_one, &out, &sig);
	if (sig) {
		status = report_interrupted("eval", sig, done, b.njobs,
					    done < b.njobs ? b.jobs[done].path : NULL);
	} else if (out.pred_failed) {
		status = 1;
	} else if (!T.total) {
		cli_error("none of the %zu file(s) could be read: no metrics", b.njobs);
		status = 1;
	} else if (T.nospeech == T.total) {
		/* readable, but nothing was scored: an accuracy over 0 files
		 * would be a number about nothing */
		cli_error("none of the %zu file(s) held speech the voice detector found: "
			  "no metrics (quiet or noisy recordings: see --vad-snr and "
			  "--vad-min-level)", b.njobs);
		status = 1;
	} else {
		report(&T, m, o.json);
		status = T.failed ? EXIT_PARTIAL : 0;
	}
out:
	if (out.pred && fclose(out.pred) && status == 0) {
		cli_error("cannot write %s: %s", pred_path, strerror(errno));
		status = 1;
	}
	if (out.pred && done == 0 && status != 0 && !sig)
		unlink(pred_path); /* refused before the first file: leave nothing */
	free_labelled(&L);
	free(b.jobs);
	emo_model_destroy(b.model);
	return status;
}
