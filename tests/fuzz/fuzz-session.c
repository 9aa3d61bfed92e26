/* libFuzzer target for the session-log reader: any input is either refused
 * with an error or gives typed records that agree with the counts, every
 * window's label index inside the header's labels. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "emotop/error.h"
#include "emotop/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct emo_session_log log;
	if (emo_session_log_parse((const char *)data, size, "fuzz", &log) == 0) {
		size_t w = 0;
		for (size_t i = 0; i < log.n; i++)
			if (log.records[i].type == EMO_RECORD_WINDOW) {
				w++;
				int l = log.records[i].result.label;
				if (l < 0 || (l && l >= log.header.num_labels))
					abort();
			}
		if (w != log.windows || log.header.version < 1)
			abort();
		emo_session_log_free(&log);
	}
	return 0;
}
