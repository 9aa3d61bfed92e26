/* emotop embed: encoder hidden states of a file as a NumPy .npy array.
 * The whole file is one window (no VAD), as HF's model(x) would see it. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "emotop/audio.h"
#include "emotop/hubert.h"
#include "emotop/model.h"
#include "nn/ops.h"

static const char embed_help[] =
	"Usage: emotop embed [--model DIR] [--layer N|all] -o OUT.npy [--force] FILE\n"
	"Write the encoder's hidden states for the whole of FILE (resampled to\n"
	"16 kHz mono) as a float32 NumPy array: shape (frames, hidden) for one\n"
	"layer, (layers+1, frames, hidden) for all. Layer 0 is the transformer\n"
	"input (HF hidden_states[0]); the default is the last layer.\n"
	"  -m, --model DIR    model or encoder directory\n"
	"  -l, --layer N|all  which hidden state (default: last)\n"
	"  -o, --output FILE  the .npy file to write; an existing file is refused\n"
	"                     unless --force, and is never left half written\n"
	"      --force        replace OUT if it exists\n"
	"  -t, --threads N    OpenBLAS threads (default 1)\n";

/* NumPy format 1.0: magic, version, header length, a Python dict literal
 * padded with spaces to a multiple of 64 bytes, then the data. */
static void write_npy(FILE *f, const float *data, const long *shape, int ndim,
		      size_t count)
{
	char dict[256], sh[96] = "";
	for (int i = 0; i < ndim; i++)
		snprintf(sh + strlen(sh), sizeof sh - strlen(sh), "%ld,%s", shape[i],
			 i < ndim - 1 ? " " : "");
	int n = snprintf(dict, sizeof dict,
			 "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", sh);
	size_t total = 10 + (size_t)n + 1;
	size_t pad = (64 - total % 64) % 64;
	unsigned short hl = (unsigned short)(n + pad + 1);
	fwrite("\x93NUMPY\x01\x00", 1, 8, f);
	fputc(hl & 0xff, f);
	fputc(hl >> 8, f);
	fwrite(dict, 1, (size_t)n, f);
	for (size_t i = 0; i < pad; i++)
		fputc(' ', f);
	fputc('\n', f);
	fwrite(data, sizeof(float), count, f); /* checked by out_file_commit */
}

int cmd_embed(int argc, char **argv)
{
	const char *model = default_model(), *out = NULL, *layer_s = NULL;
	long threads = 1;
	bool force = false;
	enum emo_precision precision = EMO_PRECISION_FP32;
	enum { OPT_FORCE = OPT_CLI_BASE };
	static const struct option opts[] = {
		{"force", no_argument, 0, OPT_FORCE},
		{"model", required_argument, 0, 'm'},
		{"layer", required_argument, 0, 'l'},
		{"output", required_argument, 0, 'o'},
		{"threads", required_argument, 0, 't'},
		PRECISION_LONG_OPTION,
		{"help", no_argument, 0, 'h'},
		{0, 0, 0, 0},
	};
	int c;
	while ((c = cli_getopt(argc, argv, "m:l:o:t:h", opts, "embed")) != -1) {
		switch (c) {
		case 'm': model = optarg; break;
		case 'l': layer_s = optarg; break;
		case 'o': out = optarg; break;
		case OPT_FORCE: force = true; break;
		case 't':
			if (!parse_int(optarg, 1, EMO_MAX_THREADS, &threads))
				return usage_error("embed", "--threads wants 1..256, not '%s'", optarg);
			break;
		case OPT_PRECISION: {
			int r = precision_option("embed", optarg, &precision);
			if (r)
				return r;
			break;
		}
		case 'h': fputs(embed_help, stdout); fputs(precision_help, stdout); return 0;
		default: return EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || !out)
		return usage_error("embed", "%s", "give -o OUT.npy and one audio file");
	struct out_file of;
	if (!out_file_open(&of, out, force))
		return 1;
	emo_set_threads((int)threads);
	/* the audio first: a file that cannot be read is said before the
	 * model is loaded and packed */
	float *x = NULL;
	size_t n = 0;
	int err = emo_audio_read(argv[optind], EMO_SAMPLE_RATE, EMO_RESAMPLE_BEST, &x, &n,
				 NULL);
	if (err) {
		cli_error("%s: %s", argv[optind], emo_strerror(err));
		out_file_abort(&of);
		return 1;
	}
	struct emo_model *m = NULL;
	err = emo_model_load(model, &(struct emo_model_params){
		.require_head = false, .precision = precision}, &m);
	if (err) {
		cli_error("cannot load model '%s': %s", model, emo_strerror(err));
		free(x);
		out_file_abort(&of);
		return 1;
	}
	const struct emo_hubert *h = emo_model_encoder(m);
	const struct emo_hubert_config *hc = emo_hubert_get_config(h);
	long layer = hc->num_layers;
	bool all = layer_s && !strcmp(layer_s, "all");
	if (layer_s && !all && !parse_int(layer_s, 0, hc->num_layers, &layer)) {
		char range[64]; /* before the model (and hc with it) is freed */
		snprintf(range, sizeof range, "0..%d or all", hc->num_layers);
		emo_model_destroy(m);
		free(x);
		out_file_abort(&of);
		return usage_error("embed", "--layer wants %s", range);
	}
	struct emo_hubert_state *s = NULL;
	err = emo_hubert_state_create(h, (int)n, &s);
	int T = err ? err : emo_hubert_forward(h, s, x, (int)n);
	int status = 1;
	if (T < 0) {
		cli_error("%s: %s", argv[optind], emo_strerror(T));
	} else {
		size_t per = (size_t)T * hc->hidden_size;
		if (all) {
			float *buf = malloc(per * (size_t)(hc->num_layers + 1) * sizeof(float));
			for (int l = 0; buf && l <= hc->num_layers; l++)
				memcpy(buf + per * (size_t)l, emo_hubert_hidden(s, l), per * sizeof(float));
			long shape[3] = {hc->num_layers + 1, T, hc->hidden_size};
			if (buf) {
				write_npy(of.f, buf, shape, 3, per * (size_t)(hc->num_layers + 1));
				status = 0;
			} else {
				cli_error("out of memory for %zu hidden states",
					per * (size_t)(hc->num_layers + 1));
			}
			free(buf);
		} else {
			long shape[2] = {T, hc->hidden_size};
			write_npy(of.f, emo_hubert_hidden(s, (int)layer), shape, 2, per);
			status = 0;
		}
	}
	if (status)
		out_file_abort(&of);
	else
		status = out_file_commit(&of);
	emo_hubert_state_destroy(s);
	free(x);
	emo_model_destroy(m);
	return status;
}
