/* The utilities of util.h that are not inline. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "emotop/error.h"
#include "util/util.h"

int emo_open_regular(const char *path)
{
	/* non-blocking: opening a FIFO for reading would wait for a writer */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		int e = -errno;
		emo_err("%s: cannot open: %s", path, emo_strerror(e));
		return e;
	}
	struct stat sb;
	if (fstat(fd, &sb) < 0) {
		int e = -errno;
		emo_err("%s: cannot open: %s", path, emo_strerror(e));
		close(fd);
		return e;
	}
	if (!S_ISREG(sb.st_mode)) {
		int e = S_ISDIR(sb.st_mode) ? -EISDIR : -EINVAL;
		emo_err("%s: %s, not a regular file", path,
			S_ISDIR(sb.st_mode) ? "a directory" : S_ISFIFO(sb.st_mode) ?
			"a FIFO" : "a special file");
		close(fd);
		return e;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}

json_t *emo_json_load_file(const char *path, bool optional, int *err)
{
	json_error_t je;
	*err = 0;
	if (optional && access(path, F_OK) != 0)
		return NULL;
	int fd = emo_open_regular(path);
	if (fd < 0) {
		*err = fd;
		return NULL;
	}
	json_t *j = json_loadfd(fd, JSON_REJECT_DUPLICATES, &je);
	close(fd);
	if (!j) { /* opened already: what fails now is the content */
		*err = EMO_E_JSON;
		emo_err("%s:%d:%d: invalid JSON: %s", path, je.line, je.column, je.text);
	}
	return j;
}

void *emo_alloc_large(size_t bytes)
{
	const size_t huge = (size_t)2 << 20;
	void *p = NULL;
	if (bytes < huge)
		return posix_memalign(&p, 64, bytes ? bytes : 1) ? NULL : p;
	/* not rounded up to whole huge pages: a touched tail would make the
	 * whole 2 MiB resident (hubert-base's 60 packed products rounded so
	 * held 55 MB more than their weights); the advice covers the whole
	 * huge pages only, the tail stays in small pages */
	if (posix_memalign(&p, huge, bytes))
		return NULL;
	madvise(p, bytes & ~(huge - 1), MADV_HUGEPAGE); /* advice only */
	return p;
}
