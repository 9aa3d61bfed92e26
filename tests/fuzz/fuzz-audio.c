/* libFuzzer target for analyze's decode path (audio.c's streaming reader:
 * libsndfile's WAV/FLAC/... parsers, downmix, non-finite scrub, resampler):
 * any input is refused with an error or decodes to finite samples. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "emotop/audio.h"
#include "emotop/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static float out[16384];
	int fd = memfd_create("fuzz-audio", 0);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	struct emo_audio_reader *r;
	if (emo_audio_reader_open(path, 16000, EMO_RESAMPLE_FAST, NULL, &r) == 0) {
		long got, total = 0;
		while ((got = emo_audio_reader_read(r, out, 16384)) > 0) {
			for (long i = 0; i < got; i++)
				if (!isfinite(out[i]))
					abort();
			total += got;
			if (total > 16000L * 600) /* a header claiming hours */
				break;
		}
		emo_audio_reader_close(r);
	}
	close(fd);
	return 0;
}
