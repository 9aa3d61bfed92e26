/* A session's recording (recorder.h). */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <math.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/recorder.h"
#include "emotop/audio.h"
#include "emotop/error.h"

struct emo_recorder {
	SNDFILE *f;
	bool pcm16;      /* the file holds 16-bit samples (FLAC) */
	size_t cap;      /* samples per write at most */
	short *s16;      /* (cap) the block as written */
	float *heard;    /* (cap) the block as the file holds it */
	char path[4096];
};

bool emo_recorder_supported(const char *path)
{
	const char *ext = path ? strrchr(path, '.') : NULL;
	return ext && (!strcasecmp(ext, ".wav") || !strcasecmp(ext, ".flac"));
}

int emo_recorder_open(const char *path, bool replace, size_t max_block,
		      struct emo_recorder **out)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!path || !max_block)
		return -EINVAL;
	const char *ext = strrchr(path, '.');
	bool flac = ext && !strcasecmp(ext, ".flac");
	if (!emo_recorder_supported(path)) {
		emo_err("%s: a recording is .wav (32-bit float) or .flac (16-bit); "
			"give one of those extensions", path);
		return EMO_E_UNSUPPORTED;
	}
	/* float WAV as WAVE_FORMAT_EXTENSIBLE, as the format asks for
	 * non-PCM and what sox expects (a plain fmt chunk made soxi warn) */
	SF_INFO si = {.samplerate = EMO_SAMPLE_RATE, .channels = 1,
		      .format = flac ? SF_FORMAT_FLAC | SF_FORMAT_PCM_16 :
				       SF_FORMAT_WAVEX | SF_FORMAT_FLOAT};
	struct emo_recorder *r = calloc(1, sizeof *r);
	if (!r)
		return -ENOMEM;
	r->pcm16 = flac;
	r->cap = max_block;
	snprintf(r->path, sizeof r->path, "%s", path);
	if (flac) {
		r->s16 = malloc(max_block * sizeof *r->s16);
		r->heard = malloc(max_block * sizeof *r->heard);
		if (!r->s16 || !r->heard) {
			emo_recorder_close(r);
			return -ENOMEM;
		}
	}
	/* Replacing replaces the name, never what it points to (the rule of
	 * every emotop output with --force): a symlink at path is removed,
	 * not written through; then the file is created exclusively and
	 * without following a link, so a link planted in between fails. */
	struct stat st;
	if (replace && lstat(path, &st) == 0 && !S_ISDIR(st.st_mode) && unlink(path) &&
	    errno != ENOENT) {
		int e = errno;
		emo_recorder_close(r);
		emo_err("%s: cannot replace it: %s", path, emo_strerror(-e));
		return -e;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		int e = errno;
		emo_recorder_close(r);
		if (e == EEXIST) {
			emo_err("%s exists; choose another recording name, or add "
				"--force to replace it", path);
			return EMO_E_EXISTS;
		}
		emo_err("%s: cannot create the recording: %s", path, emo_strerror(-e));
		return -e;
	}
	r->f = sf_open_fd(fd, SFM_WRITE, &si, 1);
	if (!r->f) {
		emo_err("%s: cannot write recording: %s", path, sf_strerror(NULL));
		close(fd);
		emo_recorder_close(r);
		return -EIO;
	}
	/* a WAV's sizes are rewritten after every write, so a killed session
	 * leaves a file every player reads to its last write */
	if (!flac)
		sf_command(r->f, SFC_SET_UPDATE_HEADER_AUTO, NULL, SF_TRUE);
	*out = r;
	return 0;
}

int emo_recorder_write(struct emo_recorder *r, const float *x, size_t n,
		       const float **heard)
{
	sf_count_t w;
	*heard = x;
	if (r->pcm16) {
		/* analyse what the 16-bit recording holds: the same rounding
		 * libsndfile's reader inverts exactly */
		for (size_t i = 0; i < n; i++) {
			float v = nearbyintf(x[i] * 32768.0f);
			v = v > 32767.0f ? 32767.0f : v < -32768.0f ? -32768.0f : v;
			r->s16[i] = (short)v;
			r->heard[i] = v / 32768.0f;
		}
		w = sf_writef_short(r->f, r->s16, (sf_count_t)n);
		*heard = r->heard;
	} else {
		w = sf_writef_float(r->f, x, (sf_count_t)n);
	}
	if (w != (sf_count_t)n) {
		emo_err("%s: recording: write failed (%s); recording stopped, analysis "
			"goes on", r->path, sf_strerror(r->f));
		return -EIO;
	}
	return 0;
}

void emo_recorder_close(struct emo_recorder *r)
{
	if (!r)
		return;
	if (r->f) {
		sf_write_sync(r->f);
		sf_close(r->f); /* finalises the header: always playable */
	}
	free(r->s16);
	free(r->heard);
	free(r);
}
