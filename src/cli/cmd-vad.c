/* emotop vad: speech segments of audio files. */
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

int cmd_vad(int argc, char **argv)
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
	while ((c = cli_getopt(argc, argv, "h", opts, "vad")) != -1) {
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
			cli_error("%s: %s", path, emo_strerror(err));
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
		double tv = emo_now();
		emo_vad_process(v, x, n);
		emo_vad_finish(v);
		tv = emo_now() - tv;
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
			printf("\",\"duration\":%.3f,\"speech_seconds\":%.3f,"
			       "\"vad_seconds\":%.6f,\"segments\":[",
			       (double)n / EMO_SAMPLE_RATE, speech, tv);
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

