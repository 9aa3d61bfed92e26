/* Error strings and the log callback.
 *
 * The log handler is the one piece of process-wide state in the library: it
 * is set once by the program before any thread starts and then only read, so
 * atomics are used to make that read well defined, not for speed. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "emotop/error.h"

static const char *const domain_msgs[] = {
	[1] = "file is not in the expected format",
	[2] = "file is truncated",
	[3] = "model is invalid",
	[4] = "tensor has the wrong shape",
	[5] = "required item is missing",
	[6] = "unsupported feature",
	[7] = "audio file cannot be read",
	[8] = "audio device error",
	[9] = "no audio input device",
	[10] = "no usable audio in the input",
	[11] = "interrupted",
	[12] = "malformed JSON",
	[13] = "file exists; refusing to overwrite",
	[14] = "non-finite numbers (NaN or Inf)",
	[15] = "weights do not match their SHA-256 digest (damaged or changed)",
};

const char *emo_strerror(int err)
{
	if (err == 0)
		return "success";
	if (err <= -EMO_E_BASE - 1 && err > EMO_E_LAST) {
		int i = -err - EMO_E_BASE;
		if (i > 0 && i < (int)(sizeof domain_msgs / sizeof *domain_msgs) &&
		    domain_msgs[i])
			return domain_msgs[i];
	}
	if (err < 0 && err > -EMO_E_BASE) {
		switch (-err) {
		/* strerror() is not thread safe and strerror_r() differs
		 * between libcs; the codes we return are few. */
		case EINVAL: return "invalid argument";
		case ENOMEM: return "out of memory";
		case ENOENT: return "no such file or directory";
		case EACCES: return "permission denied";
		case EIO: return "input/output error";
		case ENOSPC: return "no space left on device";
		case EEXIST: return "file exists";
		case EISDIR: return "is a directory";
		case ERANGE: return "value out of range";
		case EAGAIN: return "resource temporarily unavailable";
		case EINTR: return "interrupted";
		case EPIPE: return "broken pipe";
		case ENOTSUP: return "not supported";
		case EBUSY: return "device or resource busy";
		case EFBIG: return "file too large";
		case EROFS: return "read-only file system";
		case EDQUOT: return "disk quota exceeded";
		case ENAMETOOLONG: return "file name too long";
		case ENOTDIR: return "a component of the path is not a directory";
		case ELOOP: return "too many symbolic links";
		case ENXIO: return "no such device or address";
		case ETXTBSY: return "file busy";
		default: return "system error";
		}
	}
	return "unknown error";
}


static _Atomic(emo_log_fn) log_fn;   /* NULL: drop messages */
static void *_Atomic log_userdata;
static atomic_int log_level = EMO_LOG_INFO;

void emo_log_set_handler(emo_log_fn fn, void *userdata)
{
	/* relaxed: set before threads start; later changes only need to be
	 * eventually visible, a message or two to the old sink is harmless. */
	atomic_store_explicit(&log_userdata, userdata, memory_order_relaxed);
	atomic_store_explicit(&log_fn, fn, memory_order_release);
}

void emo_log_set_level(enum emo_log_level level)
{
	atomic_store_explicit(&log_level, (int)level, memory_order_relaxed);
}

enum emo_log_level emo_log_get_level(void)
{
	return (enum emo_log_level)atomic_load_explicit(&log_level,
							memory_order_relaxed);
}

void emo_logv(enum emo_log_level level, const char *fmt, va_list ap)
{
	/* acquire pairs with the release in set_handler so userdata is seen */
	emo_log_fn fn = atomic_load_explicit(&log_fn, memory_order_acquire);
	if (!fn || (int)level > atomic_load_explicit(&log_level, memory_order_relaxed))
		return;
	char buf[1024];
	vsnprintf(buf, sizeof buf, fmt, ap);
	fn(level, buf, atomic_load_explicit(&log_userdata, memory_order_relaxed));
}

void emo_log(enum emo_log_level level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	emo_logv(level, fmt, ap);
	va_end(ap);
}
