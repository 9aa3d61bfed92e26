/* Audio file reading (libsndfile) and streaming resampling (libsamplerate).
 *
 * Downmix is the plain mean of channels. Resampling is done by the same
 * streaming converter as live input, fed in fixed blocks, so that a file
 * read here and the same file fed through the live path agree. */
#include <errno.h>
#include <samplerate.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>

#include "emotop/audio.h"
#include "emotop/error.h"

struct emo_resample {
	SRC_STATE *src;
	double ratio;
	int passthrough;
};

int emo_resample_quality_parse(const char *s)
{
	if (!strcmp(s, "best"))
		return EMO_RESAMPLE_BEST;
	if (!strcmp(s, "medium"))
		return EMO_RESAMPLE_MEDIUM;
	if (!strcmp(s, "fast"))
		return EMO_RESAMPLE_FAST;
	return -1;
}

int emo_resample_create(int in_rate, int out_rate,
			enum emo_resample_quality q, struct emo_resample **out)
{
	*out = NULL;
	if (in_rate <= 0 || out_rate <= 0 || in_rate > 1000000) {
		emo_err("resample: unusable sample rate %d Hz", in_rate);
		return -EINVAL;
	}
	static const int types[] = {SRC_SINC_BEST_QUALITY, SRC_SINC_MEDIUM_QUALITY,
				    SRC_SINC_FASTEST};
	struct emo_resample *r = calloc(1, sizeof *r);
	if (!r)
		return -ENOMEM;
	r->ratio = (double)out_rate / in_rate;
	r->passthrough = in_rate == out_rate;
	if (!r->passthrough) {
		int e = 0;
		r->src = src_new(types[q < 0 || q > 2 ? 2 : q], 1, &e);
		if (!r->src) {
			emo_err("resample: %s", src_strerror(e));
			free(r);
			return -ENOMEM;
		}
		if (!src_is_valid_ratio(r->ratio)) {
			emo_err("resample: ratio %g (from %d Hz) is outside what "
				"libsamplerate supports", r->ratio, in_rate);
			src_delete(r->src);
			free(r);
			return -EINVAL;
		}
	}
	*out = r;
	return 0;
}

void emo_resample_destroy(struct emo_resample *r)
{
	if (!r)
		return;
	if (r->src)
		src_delete(r->src);
	free(r);
}

size_t emo_resample_max_out(const struct emo_resample *r, size_t n_in)
{
	return (size_t)((double)n_in * r->ratio) + 64;
}

long emo_resample_process(struct emo_resample *r, const float *in, size_t n_in,
			  float *out, size_t out_cap, size_t *used, int last)
{
	if (r->passthrough) {
		size_t n = n_in < out_cap ? n_in : out_cap;
		memcpy(out, in, n * sizeof(float));
		*used = n;
		return (long)n;
	}
	SRC_DATA d = {
		.data_in = in,
		.data_out = out,
		.input_frames = (long)n_in,
		.output_frames = (long)out_cap,
		.end_of_input = last,
		.src_ratio = r->ratio,
	};
	int e = src_process(r->src, &d);
	if (e) {
		emo_err("resample: %s", src_strerror(e));
		return -EIO;
	}
	*used = (size_t)d.input_frames_used;
	return d.output_frames_gen;
}

int emo_audio_read(const char *path, int rate, enum emo_resample_quality q,
		   float **samples, size_t *n, struct emo_audio_info *info)
{
	*samples = NULL;
	*n = 0;
	SF_INFO sfi = {0};
	SNDFILE *sf = sf_open(path, SFM_READ, &sfi);
	if (!sf) {
		emo_err("%s: cannot read audio: %s", path, sf_strerror(NULL));
		return EMO_E_AUDIO;
	}
	int err = 0;
	float *frames = NULL, *mono = NULL, *out = NULL;
	struct emo_resample *rs = NULL;
	if (sfi.channels <= 0 || sfi.samplerate <= 0) {
		emo_err("%s: bad channel count or sample rate", path);
		err = EMO_E_AUDIO;
		goto done;
	}
	if (info) {
		memset(info, 0, sizeof *info);
		info->file_rate = sfi.samplerate;
		info->channels = sfi.channels;
		info->duration = (double)sfi.frames / sfi.samplerate;
		SF_FORMAT_INFO fi = {.format = sfi.format & SF_FORMAT_TYPEMASK};
		if (sf_command(NULL, SFC_GET_FORMAT_MAJOR, &fi, sizeof fi) == 0)
			snprintf(info->format, sizeof info->format, "%s", fi.name);
	}
	err = emo_resample_create(sfi.samplerate, rate, q, &rs);
	if (err)
		goto done;

	/* Stream the file in blocks through the converter, exactly as the
	 * live path does, growing the output as needed. */
	enum { BLOCK = 4096 };
	frames = malloc(sizeof(float) * BLOCK * (size_t)sfi.channels);
	mono = malloc(sizeof(float) * BLOCK);
	size_t cap = 1 << 16, len = 0;
	out = malloc(cap * sizeof(float));
	if (!frames || !mono || !out) {
		err = -ENOMEM;
		goto done;
	}
	for (;;) {
		sf_count_t got = sf_readf_float(sf, frames, BLOCK);
		if (got < 0) {
			err = EMO_E_AUDIO;
			break;
		}
		int last = got < BLOCK;
		for (sf_count_t i = 0; i < got; i++) {
			float acc = 0;
			for (int c = 0; c < sfi.channels; c++)
				acc += frames[i * sfi.channels + c];
			mono[i] = acc / (float)sfi.channels;
		}
		size_t off = 0;
		do {
			size_t need = len + emo_resample_max_out(rs, (size_t)got - off);
			if (need > cap) {
				while (cap < need)
					cap *= 2;
				float *p = realloc(out, cap * sizeof(float));
				if (!p) {
					err = -ENOMEM;
					goto done;
				}
				out = p;
			}
			size_t used = 0;
			long gen = emo_resample_process(rs, mono + off, (size_t)got - off,
							out + len, cap - len, &used, last);
			if (gen < 0) {
				err = (int)gen;
				goto done;
			}
			len += (size_t)gen;
			off += used;
			if (last && gen == 0 && off >= (size_t)got)
				break;
		} while (off < (size_t)got || last);
		if (last)
			break;
	}
	if (sf_error(sf)) {
		emo_err("%s: read error: %s", path, sf_strerror(sf));
		err = EMO_E_AUDIO;
		goto done;
	}
	if (len == 0) {
		emo_err("%s: the file holds no audio samples", path);
		err = EMO_E_EMPTY;
		goto done;
	}
	*samples = out;
	*n = len;
	out = NULL;
done:
	free(frames);
	free(mono);
	free(out);
	emo_resample_destroy(rs);
	sf_close(sf);
	return err;
}
