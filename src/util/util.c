/* The utilities of util.h that are not inline. */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "emotop/error.h"
#include "util/util.h"

json_t *emo_json_load_file(const char *path, bool optional, int *err)
{
	json_error_t je;
	*err = 0;
	if (optional && access(path, F_OK) != 0)
		return NULL;
	json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		if (access(path, R_OK) != 0) {
			*err = -errno;
			emo_err("%s: cannot read: %s", path, emo_strerror(*err));
		} else {
			*err = EMO_E_JSON;
			emo_err("%s:%d:%d: invalid JSON: %s", path, je.line, je.column,
				je.text);
		}
	}
	return j;
}

void *emo_alloc_large(size_t bytes)
{
	const size_t huge = (size_t)2 << 20;
	void *p = NULL;
	if (bytes < huge)
		return posix_memalign(&p, 64, bytes ? bytes : 1) ? NULL : p;
	if (posix_memalign(&p, huge, (bytes + huge - 1) & ~(huge - 1)))
		return NULL;
	madvise(p, (bytes + huge - 1) & ~(huge - 1), MADV_HUGEPAGE); /* advice only */
	return p;
}
