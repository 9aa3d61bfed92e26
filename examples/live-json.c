/* live-json: a minimal live loop printing one JSON object per result.
 *
 *   live-json MODEL_DIR [AUDIO_FILE]
 *
 * Without a file it listens to the default input device; with one it plays
 * the file through the same live pipeline as fast as it can be analysed
 * (the source, ring, resampler and analysis thread of `emotop live`).
 * Ctrl-C stops it. Uses only the installed API:
 *   cc live-json.c $(pkg-config --cflags --libs emotop) */
#include <poll.h>
#include <signal.h>
#include <stdio.h>

#include <emotop/emotop.h>

static volatile sig_atomic_t stop;

static void on_sigint(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: %s MODEL_DIR [AUDIO_FILE]\n", argv[0]);
		return 2;
	}
	struct emo_model *m = NULL;
	int err = emo_model_load(argv[1], NULL, &m);
	if (err) {
		fprintf(stderr, "cannot load %s: %s\n", argv[1], emo_strerror(err));
		return 1;
	}
	struct emo_source_config sc = emo_source_config_default();
	if (argc == 3) {
		sc.kind = EMO_SOURCE_FILE;
		sc.path = argv[2];
		sc.paced = false;
	}
	struct emo_stream_config cfg = emo_stream_config_default();
	struct emo_source *src = NULL;
	struct emo_stream *st = NULL;
	int status = 1;
	if (argc == 2 && emo_source_pa_init())
		goto out;
	if ((err = emo_source_open(&sc, &src)) ||
	    (err = emo_stream_create(m, src, &cfg, &st)) ||
	    (err = emo_stream_start(st))) {
		fprintf(stderr, "cannot start: %s\n", emo_strerror(err));
		goto out;
	}
	signal(SIGINT, on_sigint);
	for (bool done = false; !done;) {
		if (stop)
			emo_stream_stop(st); /* queues the END event */
		struct pollfd p = {.fd = emo_stream_fd(st), .events = POLLIN};
		poll(&p, 1, 200);
		struct emo_event ev;
		while (emo_stream_next_event(st, &ev)) {
			if (ev.type == EMO_EVENT_RESULT) {
				const struct emo_result *r = &ev.result;
				printf("{\"t0\":%.2f,\"t1\":%.2f,\"label\":\"%s\","
				       "\"confidence\":%.3f}\n", r->t0, r->t1,
				       emo_model_label(m, r->label), r->confidence);
				fflush(stdout);
			} else if (ev.type == EMO_EVENT_ERROR) {
				fprintf(stderr, "source failed: %s\n", emo_strerror(ev.error));
			} else if (ev.type == EMO_EVENT_END) {
				done = true;
			}
		}
	}
	struct emo_stream_stats s;
	emo_stream_get_stats(st, &s);
	fprintf(stderr, "%.1f s analysed, %llu window(s), real-time factor %.3f\n",
		s.audio_s, (unsigned long long)s.windows, s.rtf);
	status = 0;
out:
	emo_stream_destroy(st);
	emo_source_close(src);
	emo_source_terminate();
	emo_model_destroy(m);
	return status;
}
