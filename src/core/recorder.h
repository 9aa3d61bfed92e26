/* emotop — a session's recording: the 16 kHz mono samples the analyzer
 * hears, written as they are analysed. FLAC (16-bit) for a .flac name,
 * else WAV (32-bit float). With FLAC the analyzer is given the samples as
 * the file holds them (16-bit rounded, which libsndfile's reader inverts
 * exactly), so `replay --reanalyze` reproduces the session bit for bit.
 * Any other name is refused (emo_recorder_supported).
 * A WAV's sizes are rewritten after every write and a FLAC is finalised at
 * close: a killed session leaves a playable file up to its last write.
 * One thread writes (the analysis thread). */
#ifndef EMOTOP_RECORDER_H
#define EMOTOP_RECORDER_H

#include <stdbool.h>
#include <stddef.h>

struct emo_recorder;

/* Whether path names a format a recording can be: .wav or .flac (any
 * case). What the command line checks before it opens anything, and what
 * emo_recorder_open refuses otherwise. */
bool emo_recorder_supported(const char *path);

/* Creates `path` (exclusively, unless `replace`) for blocks of up to
 * max_block samples. 0, or EMO_E_EXISTS / -errno after a message. */
int emo_recorder_open(const char *path, bool replace, size_t max_block,
		      struct emo_recorder **out);
/* Appends x(n), n <= max_block; *heard is what the file holds (x itself,
 * or the 16-bit rounded copy, valid until the next call). 0, or -EIO
 * after a message (the recording is then unusable: close it). */
int emo_recorder_write(struct emo_recorder *r, const float *x, size_t n,
		       const float **heard);
/* Flushes and finalises; NULL is a no-op. */
void emo_recorder_close(struct emo_recorder *r);

#endif
