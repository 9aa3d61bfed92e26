/* emotop — audio files and sample-rate conversion.
 *
 * emo_audio_read() reads any file libsndfile can (WAV, FLAC, OGG, ...),
 * downmixes to mono and converts to the requested rate with libsamplerate.
 * emo_resample_* is the streaming converter used by the live path; the
 * offline reader uses the same converter, so both paths hear the same audio.
 *
 * Not here: writing (see session), device capture (see source). */
#ifndef EMOTOP_AUDIO_H
#define EMOTOP_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EMO_SAMPLE_RATE 16000

/* libsamplerate converter types, best first */
enum emo_resample_quality {
	EMO_RESAMPLE_BEST = 0,   /* SRC_SINC_BEST_QUALITY */
	EMO_RESAMPLE_MEDIUM = 1, /* SRC_SINC_MEDIUM_QUALITY */
	EMO_RESAMPLE_FAST = 2,   /* SRC_SINC_FASTEST (default: plenty for speech) */
};

struct emo_resample;

/* Converts mono float audio from in_rate (Hz) to out_rate (Hz). */
int emo_resample_create(int in_rate, int out_rate,
			enum emo_resample_quality q, struct emo_resample **out);
void emo_resample_destroy(struct emo_resample *r);
/* Feeds n_in samples and writes up to out_cap converted samples; consumes
 * all input unless the output fills first. *used gets the samples consumed,
 * the return value the samples produced (or a negative error). `last` marks
 * the end of the stream so the converter flushes its tail. Not for the
 * audio callback (libsamplerate may be slow on its first call). */
long emo_resample_process(struct emo_resample *r, const float *in, size_t n_in,
			  float *out, size_t out_cap, size_t *used, int last);
/* Upper bound on output samples for n_in input samples. */
size_t emo_resample_max_out(const struct emo_resample *r, size_t n_in);
/* Parses "best", "medium", "fast"; -EINVAL for anything else (or NULL). */
int emo_resample_quality_parse(const char *s);

struct emo_audio_info {
	int file_rate;     /* Hz, as stored */
	int channels;      /* as stored */
	double duration;   /* seconds */
	char format[64];   /* e.g. "FLAC 16-bit" */
};

/* Samples are floats in [-1, 1]; a float file may go beyond (clipping),
 * but not past this: such values are garbage and would overflow. */
#define EMO_AUDIO_MAX_ABS 1e6f

/* Streaming decode: `path` as mono at `rate` Hz, block by block, exactly
 * the samples emo_audio_read returns. NaN/Inf samples and samples beyond
 * +-EMO_AUDIO_MAX_ABS are replaced by 0 (silence) and counted: they would
 * poison the resampler and every window that touches them. info->duration is -1 when the file does not say its
 * length (a FLAC whose writer was killed). */
struct emo_audio_reader;
int emo_audio_reader_open(const char *path, int rate, enum emo_resample_quality q,
			  struct emo_audio_info *info, struct emo_audio_reader **out);
/* Up to cap samples (cap >= 8192 keeps it from returning short); 0 at the
 * end, or a negative error. */
long emo_audio_reader_read(struct emo_audio_reader *r, float *out, size_t cap);
/* Samples replaced by silence: NaN or Inf (nonfinite), and finite values
 * beyond +-EMO_AUDIO_MAX_ABS (out_of_range: not audio, such as a float
 * file of other data). */
uint64_t emo_audio_reader_nonfinite(const struct emo_audio_reader *r);
uint64_t emo_audio_reader_out_of_range(const struct emo_audio_reader *r);
/* Frames the header promised that the file did not hold (truncated). */
int64_t emo_audio_reader_frames_missing(const struct emo_audio_reader *r);
void emo_audio_reader_close(struct emo_audio_reader *r);

/* Reads `path` whole as mono at `rate` Hz. *samples is malloc'd (caller
 * frees), *n its length. Errors: EMO_E_AUDIO (unreadable, with the reason
 * logged), EMO_E_EMPTY (no samples), -ENOMEM. */
int emo_audio_read(const char *path, int rate, enum emo_resample_quality q,
		   float **samples, size_t *n, struct emo_audio_info *info);

#ifdef __cplusplus
}
#endif
#endif
