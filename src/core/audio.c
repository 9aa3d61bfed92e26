/* Audio file reading (libsndfile) and streaming resampling (libsamplerate).
 *
 * Downmix is the plain mean of channels. Resampling is done by the same
 * streaming converter as live input, fed in fixed blocks, so that a file
 * read here and the same file fed through the live path agree. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <samplerate.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "emotop/audio.h"
#include "emotop/error.h"

struct emo_resample {
	SRC_STATE *src;
	double ratio;
	int passthrough;
};

int emo_resample_quality_parse(const char *s)
{
	if (!s)
		return -EINVAL;
	if (!strcmp(s, "best"))
		return EMO_RESAMPLE_BEST;
	if (!strcmp(s, "medium"))
		return EMO_RESAMPLE_MEDIUM;
	if (!strcmp(s, "fast"))
		return EMO_RESAMPLE_FAST;
	return -EINVAL;
}

int emo_resample_create(int in_rate, int out_rate,
			enum emo_resample_quality q, struct emo_resample **out)
{
	if (!out)
		return -EINVAL;
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

struct emo_audio_reader {
	SNDFILE *sf;
	SF_INFO sfi;
	struct emo_resample *rs;
	float *frames, *mono;
	size_t mono_len, mono_off; /* mono samples read, consumed */
	bool eof, flushed;
	int64_t decoded;           /* frames decoded from the file */
	int64_t header_missing;    /* frames a WAV header promised beyond the end */
	uint64_t nonfinite, out_of_range;
	char path[4096];
};

enum { BLOCK = 4096 };

void emo_audio_reader_close(struct emo_audio_reader *r)
{
	if (!r)
		return;
	free(r->frames);
	free(r->mono);
	emo_resample_destroy(r->rs);
	if (r->sf)
		sf_close(r->sf);
	free(r);
}

/* libsndfile trims a WAV/AIFF whose header claims more data than the file
 * holds, and says so only in its log ("data : 374776 (should be 213777)"):
 * the frames cut off, or 0. */
static int64_t header_missing(struct emo_audio_reader *r)
{
	char log[4096] = "";
	sf_command(r->sf, SFC_GET_LOG_INFO, log, sizeof log);
	const char *p = strstr(log, "data : ");
	long long said, is;
	if (!p || sscanf(p, "data : %lld (should be %lld)", &said, &is) != 2 || said <= is)
		return 0;
	int bytes;
	switch (r->sfi.format & SF_FORMAT_SUBMASK) {
	case SF_FORMAT_PCM_S8: case SF_FORMAT_PCM_U8: case SF_FORMAT_ULAW:
	case SF_FORMAT_ALAW: bytes = 1; break;
	case SF_FORMAT_PCM_16: bytes = 2; break;
	case SF_FORMAT_PCM_24: bytes = 3; break;
	case SF_FORMAT_PCM_32: case SF_FORMAT_FLOAT: bytes = 4; break;
	case SF_FORMAT_DOUBLE: bytes = 8; break;
	default: return 0;
	}
	return (int64_t)((said - is) / (bytes * r->sfi.channels));
}

int emo_audio_reader_open(const char *path, int rate, enum emo_resample_quality q,
			  struct emo_audio_info *info, struct emo_audio_reader **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!path) {
		emo_err("audio: no file name (NULL path)");
		return -EINVAL;
	}
	struct stat sb;
	bool known = stat(path, &sb) == 0; /* else sf_open says why */
	if (known && S_ISDIR(sb.st_mode)) {
		emo_err("%s is a directory, not an audio file", path);
		return EMO_E_AUDIO;
	}
	if (known && S_ISFIFO(sb.st_mode))
		emo_warn("%s is a FIFO: waiting for a writer", path);
	struct emo_audio_reader *r = calloc(1, sizeof *r);
	if (!r)
		return -ENOMEM;
	snprintf(r->path, sizeof r->path, "%s", path);
	r->sf = sf_open(path, SFM_READ, &r->sfi);
	if (!r->sf) {
		emo_err("%s: cannot read audio: %s", path, sf_strerror(NULL));
		free(r);
		return EMO_E_AUDIO;
	}
	int err = 0;
	if (r->sfi.channels <= 0 || r->sfi.samplerate <= 0) {
		emo_err("%s: bad channel count or sample rate", path);
		err = EMO_E_AUDIO;
		goto fail;
	}
	if (info) {
		memset(info, 0, sizeof *info);
		info->file_rate = r->sfi.samplerate;
		info->channels = r->sfi.channels;
		/* a FLAC whose writer was killed says "length unknown", which
		 * libsndfile reports as a huge count */
		info->duration = r->sfi.frames > 0 && r->sfi.frames < ((sf_count_t)1 << 50) ?
			(double)r->sfi.frames / r->sfi.samplerate : -1;
		SF_FORMAT_INFO fi = {.format = r->sfi.format & SF_FORMAT_TYPEMASK};
		if (sf_command(NULL, SFC_GET_FORMAT_MAJOR, &fi, sizeof fi) == 0)
			snprintf(info->format, sizeof info->format, "%s", fi.name);
	}
	r->header_missing = header_missing(r);
	if ((err = emo_resample_create(r->sfi.samplerate, rate, q, &r->rs)))
		goto fail;
	r->frames = malloc(sizeof(float) * BLOCK * (size_t)r->sfi.channels);
	r->mono = malloc(sizeof(float) * BLOCK);
	if (!r->frames || !r->mono) {
		err = -ENOMEM;
		goto fail;
	}
	*out = r;
	return 0;
fail:
	emo_audio_reader_close(r);
	return err;
}

/* The next block of the file as mono, non-finite samples zeroed. */
static int fill_mono(struct emo_audio_reader *r)
{
	sf_count_t got = sf_readf_float(r->sf, r->frames, BLOCK);
	if (got < 0 || sf_error(r->sf)) {
		emo_err("%s: read error: %s", r->path, sf_strerror(r->sf));
		return EMO_E_AUDIO;
	}
	int ch = r->sfi.channels;
	for (sf_count_t i = 0; i < got; i++) {
		float acc = 0;
		for (int c = 0; c < ch; c++) {
			float v = r->frames[i * ch + c];
			/* beyond +-EMO_AUDIO_MAX_ABS a float file holds garbage,
			 * and the downmix or the resampler would overflow */
			if (!(fabsf(v) <= EMO_AUDIO_MAX_ABS)) {
				if (isfinite(v))
					r->out_of_range++;
				else
					r->nonfinite++;
				v = 0;
			}
			acc += v;
		}
		r->mono[i] = acc / (float)ch;
	}
	r->decoded += got;
	r->mono_len = (size_t)got;
	r->mono_off = 0;
	r->eof = got < BLOCK;
	return 0;
}

long emo_audio_reader_read(struct emo_audio_reader *r, float *out, size_t cap)
{
	if (!r || !out || !cap)
		return -EINVAL; /* cap 0 could never return a sample: it looped */
	size_t len = 0;
	while (len == 0 && !r->flushed) {
		if (r->mono_off >= r->mono_len && !r->eof) {
			int err = fill_mono(r);
			if (err)
				return err;
		}
		bool last = r->eof;
		size_t used = 0;
		long gen = emo_resample_process(r->rs, r->mono + r->mono_off,
						r->mono_len - r->mono_off, out, cap,
						&used, last);
		if (gen < 0)
			return gen;
		r->mono_off += used;
		len = (size_t)gen;
		if (last && gen == 0 && r->mono_off >= r->mono_len)
			r->flushed = true;
	}
	return (long)len;
}

uint64_t emo_audio_reader_nonfinite(const struct emo_audio_reader *r)
{
	return r->nonfinite;
}

uint64_t emo_audio_reader_out_of_range(const struct emo_audio_reader *r)
{
	return r->out_of_range;
}

int64_t emo_audio_reader_frames_missing(const struct emo_audio_reader *r)
{
	sf_count_t want = r->sfi.frames;
	int64_t short_read = want > 0 && want < ((sf_count_t)1 << 50) &&
			     r->decoded < want ? (int64_t)(want - r->decoded) : 0;
	return short_read + r->header_missing;
}

int emo_audio_read(const char *path, int rate, enum emo_resample_quality q,
		   float **samples, size_t *n, struct emo_audio_info *info)
{
	if (!samples || !n)
		return -EINVAL;
	*samples = NULL;
	*n = 0;
	struct emo_audio_reader *r;
	int err = emo_audio_reader_open(path, rate, q, info, &r);
	if (err)
		return err;
	size_t cap = 1 << 16, len = 0;
	float *out = malloc(cap * sizeof(float));
	if (!out) {
		emo_audio_reader_close(r);
		return -ENOMEM;
	}
	for (;;) {
		if (cap - len < 8192) {
			float *p = realloc(out, 2 * cap * sizeof(float));
			if (!p) {
				err = -ENOMEM;
				break;
			}
			out = p;
			cap *= 2;
		}
		long got = emo_audio_reader_read(r, out + len, cap - len);
		if (got < 0)
			err = (int)got;
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	if (!err && r->nonfinite)
		emo_warn("%s: %llu non-finite sample(s) (NaN/Inf) replaced by silence",
			 path, (unsigned long long)r->nonfinite);
	if (!err && r->out_of_range)
		emo_warn("%s: %llu sample(s) beyond +-%g (not audio) replaced by silence",
			 path, (unsigned long long)r->out_of_range, (double)EMO_AUDIO_MAX_ABS);
	emo_audio_reader_close(r);
	if (!err && len == 0) {
		emo_err("%s: the file holds no audio samples", path);
		err = EMO_E_EMPTY;
	}
	if (err) {
		free(out);
		return err;
	}
	*samples = out;
	*n = len;
	return 0;
}
