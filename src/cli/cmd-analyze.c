/* emotop analyze: whole files through the analysis core, per window and
 * overall, as text or JSON Lines (the batch machinery is batch.c). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/batch.h"
#include "cli/cli.h"

static const char analyze_help[] =
	"Usage: emotop analyze [OPTIONS] FILE...\n"
	"Analyse audio files (any format libsndfile reads, any sample rate and\n"
	"channel count): per-window results and an overall result per file\n"
	"(window probabilities averaged over speech). Files that cannot be read\n"
	"are reported and skipped; the exit status is then 3 (1 if all failed).\n"
	"Each file's results are written as soon as it and the files before it\n"
	"are done; after SIGINT/SIGTERM what was written is complete, and the\n"
	"exit status is 130/143.\n";

struct analyze_out {
	bool json;
	size_t failed;
};

/* A finished file: its buffered output, or its error. false when standard
 * output can no longer be written. */
static bool emit(struct file_job *j, void *ud)
{
	struct analyze_out *o = ud;
	if (j->err) {
		o->failed++;
		cli_error("%s: %s", j->path, j->errmsg);
		if (o->json) {
			printf("{\"type\":\"error\",\"file\":");
			json_print_string(stdout, j->path);
			printf(",\"error\":");
			json_print_string(stdout, j->errmsg);
			printf("}\n");
		}
	} else if (j->out) {
		fwrite(j->out, 1, j->out_len, stdout);
		batch_warn(j);
	}
	return flush_stdout();
}

int cmd_analyze(int argc, char **argv)
{
	struct common_opts o;
	common_init(&o);
	static const struct option opts[] = {COMMON_LONG_OPTIONS, {0, 0, 0, 0}};
	int c;
	while ((c = cli_getopt(argc, argv, "m:j:t:qh", opts, "analyze")) != -1) {
		if (c == 'h') {
			print_batch_help(analyze_help);
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
	struct batch b = {.cfg = o.cfg, .json = o.json, .print_windows = true,
			  .quality = o.quality,
			  .progress = batch_progress_wanted(o.quiet, true) ? "analyze" : NULL};
	if (load_model_or_explain(o.model, o.precision, &b.model))
		return 1;
	b.njobs = (size_t)(argc - optind);
	b.jobs = calloc(b.njobs, sizeof *b.jobs);
	if (!b.jobs) {
		cli_error("out of memory for %zu files", b.njobs);
		emo_model_destroy(b.model);
		return 1;
	}
	for (size_t i = 0; i < b.njobs; i++)
		b.jobs[i] = (struct file_job){.path = argv[optind + (int)i], .truth = -1};
	struct analyze_out out = {.json = o.json};
	int sig = 0;
	size_t done = batch_run(&b, o.jobs, emit, &out, &sig);
	int status = out.failed ? (out.failed == b.njobs ? 1 : EXIT_PARTIAL) : 0;
	if (sig)
		status = report_interrupted("analyze", sig, done, b.njobs,
					    done < b.njobs ? b.jobs[done].path : NULL);
	else if (done < b.njobs)
		status = 1; /* standard output failed: flush_stdout said so */
	free(b.jobs);
	emo_model_destroy(b.model);
	return status;
}
