/* Batches of files for analyze and eval: see batch.h. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cli/batch.h"
#include "emotop/affect.h"
#include "emotop/audio.h"

/* The signal that asked the batch to stop, -1 after a failed write, or
 * 0. Workers look at it between blocks of audio, the emitter while it
 * waits. A lock-free atomic: safe to store from the handler. */
static atomic_int stop_signal;
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the signal handler stores an atomic_int");

static void on_signal(int sig)
{
	atomic_store(&stop_signal, sig);
}

void print_probs_json(FILE *f, const struct emo_model *m, const float *p)
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

/* ---- one file ------------------------------------------------------------- */

struct file_ctx {
	const struct batch *b;
	struct file_job *job;
	FILE *out;
	double sum[EMO_MAX_LABELS];
	double weight;
};

/* The window's own most probable label (r->label is the smoothed one). */
static int top_label(const struct emo_result *r)
{
	int top = 0;
	for (int i = 1; i < r->num_labels; i++)
		if (r->probs[i] > r->probs[top])
			top = i;
	return top;
}

static void on_window(const struct emo_result *r, void *ud)
{
	struct file_ctx *c = ud;
	const struct emo_model *m = c->b->model;
	for (int i = 0; i < r->num_labels; i++)
		c->sum[i] += r->probs[i] * r->speech_s;
	c->weight += r->speech_s;
	c->job->windows++;
	if (!c->b->print_windows)
		return;
	if (c->b->json) {
		/* the label of a window is the smoothed, hysteresis-held one
		 * (label, confidence: as the log, the TUI and the page have it);
		 * beside it the window's own probabilities and their top */
		fprintf(c->out, "{\"type\":\"window\",\"file\":");
		json_print_string(c->out, c->job->path);
		fprintf(c->out, ",\"index\":%lld,\"t0\":%.3f,\"t1\":%.3f,\"speech\":%.3f,"
			"\"probs\":", (long long)r->index, r->t0, r->t1, r->speech_s);
		print_probs_json(c->out, m, r->probs);
		fprintf(c->out, ",\"smoothed\":");
		print_probs_json(c->out, m, r->smoothed);
		fprintf(c->out, ",\"label\":");
		json_print_string(c->out, emo_model_label(m, r->label));
		fprintf(c->out, ",\"confidence\":%.6f,\"top\":", r->confidence);
		json_print_string(c->out, emo_model_label(m, top_label(r)));
		fprintf(c->out, ",\"uncertain\":%s", r->uncertain ? "true" : "false");
		if (r->affect.valid)
			fprintf(c->out, ",\"valence\":%.4f,\"arousal\":%.4f", r->affect.valence,
				r->affect.arousal);
		fprintf(c->out, "}\n");
	} else {
		int top = top_label(r);
		if (r->index == 0)
			fprintf(c->out, "  %-16s%-19s%s\n", "window (s)", "label (smoothed)",
				"the window's own top");
		fprintf(c->out, "  %7.2f-%-7.2f %-10s %5.1f%%  %-10s %5.1f%%%s%s\n", r->t0,
			r->t1, emo_model_label(m, r->label), 100 * r->confidence,
			emo_model_label(m, top), 100 * r->probs[top],
			r->uncertain ? "  (uncertain)" : "",
			r->speech_s < c->b->cfg.min_window_s ? "  (short)" : "");
	}
}

/* The file's closing record (JSON) or lines (text). */
static void print_file_result(const struct batch *b, const struct file_job *job,
			      FILE *out)
{
	const struct emo_model *m = b->model;
	int C = emo_model_num_labels(m);
	struct emo_affect af;
	if (job->pred >= 0)
		emo_affect_of_model(m, job->probs, &af);
	if (b->json) {
		fprintf(out, "{\"type\":\"file\",\"file\":");
		json_print_string(out, job->path);
		fprintf(out, ",\"duration\":%.3f,\"speech_seconds\":%.3f,\"windows\":%ld",
			job->duration, job->speech, job->windows);
		if (job->nonfinite)
			fprintf(out, ",\"nonfinite_samples\":%llu",
				(unsigned long long)job->nonfinite);
		if (job->out_of_range)
			fprintf(out, ",\"out_of_range_samples\":%llu",
				(unsigned long long)job->out_of_range);
		if (job->missing_s > 0)
			fprintf(out, ",\"truncated\":true");
		if (job->pred >= 0) {
			fprintf(out, ",\"probs\":");
			print_probs_json(out, m, job->probs);
			fprintf(out, ",\"label\":");
			json_print_string(out, emo_model_label(m, job->pred));
			fprintf(out, ",\"confidence\":%.6f", job->probs[job->pred]);
			if (af.valid)
				fprintf(out, ",\"valence\":%.4f,\"arousal\":%.4f", af.valence,
					af.arousal);
			if (af.vclass != EMO_VALENCE_NONE)
				fprintf(out, ",\"valence_class\":\"%s\",\"valence_class_prob\":%.4f",
					emo_valence_class_name(af.vclass), af.vclass_prob);
		} else {
			fprintf(out, ",\"label\":null");
		}
		fprintf(out, "}\n");
	} else if (job->pred >= 0) {
		fprintf(out, "  overall   %-10s %5.1f%%   (%.2f s speech, %ld window(s))\n   ",
			emo_model_label(m, job->pred), 100 * job->probs[job->pred],
			job->speech, job->windows);
		for (int i = 0; i < C; i++)
			fprintf(out, " %s %.0f%%", emo_model_label(m, i), 100 * job->probs[i]);
		fprintf(out, "\n");
		if (af.valid)
			fprintf(out, "    valence %+.2f  arousal %+.2f  (%s %.0f%%)\n", af.valence,
				af.arousal, emo_valence_class_name(af.vclass),
				100 * af.vclass_prob);
	} else {
		fprintf(out, "  no speech found (%.2f s of audio)\n", job->duration);
	}
}

void batch_analyse(const struct batch *b, struct file_job *job)
{
	struct file_ctx c = {.b = b, .job = job};
	job->pred = -1;
	c.out = open_memstream(&job->out, &job->out_len);
	/* streamed: a block is decoded, resampled and analysed at a time, so
	 * memory does not grow with the file */
	enum { CHUNK = 16384 };
	float *x = malloc(CHUNK * sizeof *x);
	size_t n = 0;
	struct emo_audio_info info;
	struct emo_audio_reader *rd = NULL;
	struct emo_analyzer *a = NULL;
	int err = x && c.out ? emo_audio_reader_open(job->open_path ? job->open_path :
						     job->path, EMO_SAMPLE_RATE,
						     b->quality, &info, &rd)
			     : -ENOMEM;
	if (!err)
		err = emo_analyzer_create(b->model, &b->cfg, on_window, NULL, &c, &a);
	if (!err && !b->json && b->print_windows) {
		if (info.duration >= 0)
			fprintf(c.out, "%s (%.2f s, %d Hz, %d ch)\n", job->path,
				info.duration, info.file_rate, info.channels);
		else
			fprintf(c.out, "%s (length not in the header, %d Hz, %d ch)\n",
				job->path, info.file_rate, info.channels);
	}
	while (!err) {
		if (atomic_load_explicit(&stop_signal, memory_order_relaxed)) {
			err = EMO_E_INTERRUPTED;
			break;
		}
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
		job->out_of_range = emo_audio_reader_out_of_range(rd);
		job->missing_s = (double)emo_audio_reader_frames_missing(rd) / info.file_rate;
	}
	emo_audio_reader_close(rd);
	free(x);
	job->err = err;
	if (err) {
		snprintf(job->errmsg, sizeof job->errmsg, "%s", emo_strerror(err));
	} else {
		job->duration = (double)n / EMO_SAMPLE_RATE;
		job->speech = emo_analyzer_speech_seconds(a);
		int C = emo_model_num_labels(b->model);
		if (c.weight > 0) {
			job->pred = 0;
			for (int i = 0; i < C; i++) {
				job->probs[i] = (float)(c.sum[i] / c.weight);
				if (job->probs[i] > job->probs[job->pred])
					job->pred = i;
			}
		}
		if (b->print_windows)
			print_file_result(b, job, c.out);
	}
	emo_analyzer_destroy(a);
	if (c.out && fclose(c.out) && !job->err) {
		job->err = -ENOMEM;
		snprintf(job->errmsg, sizeof job->errmsg, "%s", emo_strerror(-ENOMEM));
	}
}

void batch_warn(const struct file_job *j)
{
	if (j->nonfinite)
		cli_warn("%s: %llu non-finite sample(s) (NaN/Inf) "
			"were replaced by silence", j->path,
			(unsigned long long)j->nonfinite);
	if (j->out_of_range)
		cli_warn("%s: %llu sample(s) beyond +-%g (not audio) "
			"were replaced by silence", j->path,
			(unsigned long long)j->out_of_range, (double)EMO_AUDIO_MAX_ABS);
	if (j->missing_s > 0)
		cli_warn("%s: the file ends %.2f s before its "
			"header says (truncated?); analysed what is there",
			j->path, j->missing_s);
}

/* ---- the workers and the ordered hand-over --------------------------------- */

struct shared {
	struct batch *b;
	atomic_size_t next;       /* the next job to start */
	pthread_mutex_t lock;
	pthread_cond_t finished;  /* signalled when a job is done */
	bool *done;               /* (njobs), under lock */
};

static void *worker(void *arg)
{
	struct shared *s = arg;
	for (;;) {
		/* stop before taking an index: every index taken is marked done
		 * (the emitter waits for exactly those). Relaxed: the counter only
		 * hands out indices; a job's fields reach the emitter through the
		 * mutex */
		if (atomic_load(&stop_signal))
			return NULL;
		size_t i = atomic_fetch_add_explicit(&s->next, 1, memory_order_relaxed);
		if (i >= s->b->njobs)
			return NULL;
		batch_analyse(s->b, &s->b->jobs[i]);
		pthread_mutex_lock(&s->lock);
		s->done[i] = true;
		pthread_cond_broadcast(&s->finished);
		pthread_mutex_unlock(&s->lock);
	}
}

bool batch_progress_wanted(bool quiet, bool out_live)
{
	if (quiet || !isatty(STDERR_FILENO))
		return false;
	if (!out_live || !isatty(STDOUT_FILENO))
		return true;
	struct stat so, se; /* the results go to this very terminal */
	return !(fstat(STDOUT_FILENO, &so) == 0 && fstat(STDERR_FILENO, &se) == 0 &&
		 so.st_rdev == se.st_rdev);
}

static void clock_text(char *buf, size_t n, double s)
{
	long t = (long)(s + 0.5);
	if (t >= 3600)
		snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

/* tqdm's line: "eval: 120/400 files (30 %) 0:08 elapsed, 0:18 left" */
static void progress_line(const struct batch *b, size_t done, double t0, bool end)
{
	if (!b->progress)
		return;
	if (end) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		return;
	}
	double el = emo_now() - t0;
	char e[32], left[32] = "?";
	clock_text(e, sizeof e, el);
	if (done)
		clock_text(left, sizeof left, el / (double)done * (double)(b->njobs - done));
	fprintf(stderr, "\r%s: %zu/%zu files (%.0f %%) %s elapsed, %s left\033[K", b->progress,
		done, b->njobs, b->njobs ? 100.0 * (double)done / (double)b->njobs : 100.0, e,
		left);
	fflush(stderr);
}

size_t batch_run(struct batch *b, long nthreads,
		 bool (*done)(struct file_job *job, void *ud), void *ud,
		 int *signal_out)
{
	struct shared s = {.b = b};
	atomic_init(&s.next, 0);
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.finished, NULL);
	s.done = calloc(b->njobs ? b->njobs : 1, sizeof *s.done);
	struct sigaction sa = {.sa_handler = on_signal}, old[3];
	sigemptyset(&sa.sa_mask);
	static const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
	for (int k = 0; k < 3; k++)
		sigaction(sigs[k], &sa, &old[k]);
	atomic_store(&stop_signal, 0);

	if (nthreads > (long)b->njobs)
		nthreads = (long)b->njobs;
	if (nthreads > 64)
		nthreads = 64;
	pthread_t th[64];
	long started = 0;
	if (s.done && nthreads > 1)
		for (; started < nthreads; started++)
			if (pthread_create(&th[started], NULL, worker, &s))
				break;
	size_t emitted = 0;
	bool ok = s.done != NULL;
	double t0 = emo_now();
	progress_line(b, 0, t0, false);
	for (size_t i = 0; ok && i < b->njobs; i++) {
		if (!started) {
			/* one thread: analyse here, in order */
			if (atomic_load(&stop_signal))
				break;
			batch_analyse(b, &b->jobs[i]);
		} else {
			/* wait for job i; after a stop, only for a job some worker
			 * took (the rest never start). Timed: a signal handler cannot
			 * signal the condition variable */
			bool ready;
			pthread_mutex_lock(&s.lock);
			while (!(ready = s.done[i]) &&
			       !(atomic_load(&stop_signal) && i >= atomic_load(&s.next))) {
				struct timespec ts;
				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_nsec += 100 * 1000 * 1000;
				if (ts.tv_nsec >= 1000000000L) {
					ts.tv_sec++;
					ts.tv_nsec -= 1000000000L;
				}
				pthread_cond_timedwait(&s.finished, &s.lock, &ts);
			}
			pthread_mutex_unlock(&s.lock);
			if (!ready)
				break;
		}
		if (b->jobs[i].err == EMO_E_INTERRUPTED)
			break; /* cut short: not a result */
		if (b->progress)
			progress_line(b, 0, t0, true); /* the file's own lines go clean */
		ok = done(&b->jobs[i], ud);
		free(b->jobs[i].out);
		b->jobs[i].out = NULL;
		emitted++;
		progress_line(b, emitted, t0, false);
	}
	progress_line(b, emitted, t0, true);
	if (!ok) {
		int zero = 0; /* a write failed: the workers stop too */
		atomic_compare_exchange_strong(&stop_signal, &zero, -1);
	}
	for (long k = 0; k < started; k++)
		pthread_join(th[k], NULL);
	for (size_t i = emitted; i < b->njobs; i++) {
		free(b->jobs[i].out);
		b->jobs[i].out = NULL;
	}
	for (int k = 0; k < 3; k++)
		sigaction(sigs[k], &old[k], NULL);
	int sig = atomic_load(&stop_signal);
	*signal_out = sig > 0 ? sig : 0;
	pthread_cond_destroy(&s.finished);
	pthread_mutex_destroy(&s.lock);
	free(s.done);
	return emitted;
}

/* ---- the options analyze and eval share ---------------------------------- */

static const char common_help[] =
	"  -m, --model DIR       model directory (default: $EMOTOP_MODEL or the shipped model)\n"
	"      --json            JSON Lines instead of text\n"
	"  -q, --quiet           no progress line on stderr (drawn only when stderr\n"
	"                        is a terminal that the results do not go to)\n"
	"  -j, --jobs N          analyse N files in parallel (default 1)\n"
	"  -t, --threads N       OpenBLAS threads per file (default 1)\n"
	"      --window S        window length, seconds of speech (default 2)\n"
	"      --hop S           hop between windows, seconds of speech (default 0.5)\n"
	"      --smoothing A     moving-average weight of the newest window, 0..1 (default 0.5)\n"
	"      --resample Q      libsamplerate quality: best, medium, fast (default fast)\n";

void print_batch_help(const char *own)
{
	fputs(own, stdout);
	fputs(common_help, stdout);
	fputs(precision_help, stdout);
	fputs(reuse_help, stdout);
	fputs(vad_options_help, stdout);
}

void common_init(struct common_opts *o)
{
	memset(o, 0, sizeof *o);
	o->model = default_model();
	o->jobs = 1;
	o->threads = 1;
	o->precision = EMO_PRECISION_FP32;
	o->cfg = emo_analyzer_config_default();
	o->quality = EMO_RESAMPLE_FAST;
}

int common_option(int c, const char *arg, struct common_opts *o, const char *cmd)
{
	int r = vad_option(c, arg, &o->cfg.vad, cmd);
	if (r)
		return r < 0 ? r : 1;
	double d;
	switch (c) {
	case 'm': o->model = arg; return 1;
	case 'J': o->json = true; return 1;
	case 'q': o->quiet = true; return 1;
	case 'j':
		if (!parse_int(arg, 1, 64, &o->jobs))
			return -usage_error(cmd, "-j wants 1..64, not '%s'", arg);
		return 1;
	case 't':
		if (!parse_int(arg, 1, EMO_MAX_THREADS, &o->threads))
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
		r = precision_option(cmd, arg, &o->precision);
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
