/* libFuzzer target for the session-log reader: any input is either refused
 * with an error or gives records whose header is the first one. */
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
		if (log.n == 0 || log.header != log.records[0])
			abort();
		emo_session_log_free(&log);
	}
	return 0;
}
