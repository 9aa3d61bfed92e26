/* emotop — error codes and the log callback.
 *
 * Every library function that can fail returns an int: 0 on success, a
 * negative errno value (-EINVAL, -ENOMEM, -EIO, ...) or one of the negative
 * EMO_E_* domain codes below. emo_strerror() explains both kinds.
 *
 * The library never prints. Detail that a code cannot carry (which tensor,
 * which line, which file) goes to the log callback, which the program routes
 * to stderr or to the TUI's message line. */
#ifndef EMOTOP_ERROR_H
#define EMOTOP_ERROR_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

enum emo_error {
	EMO_E_BASE = 10000,
	EMO_E_FORMAT = -(EMO_E_BASE + 1),    /* file is not in the expected format */
	EMO_E_TRUNCATED = -(EMO_E_BASE + 2), /* file ends before its content does */
	EMO_E_BADMODEL = -(EMO_E_BASE + 3),  /* model config/weights inconsistent */
	EMO_E_SHAPE = -(EMO_E_BASE + 4),     /* tensor has the wrong shape */
	EMO_E_MISSING = -(EMO_E_BASE + 5),   /* a required tensor/key is absent */
	EMO_E_UNSUPPORTED = -(EMO_E_BASE + 6), /* valid, but not something we run */
	EMO_E_AUDIO = -(EMO_E_BASE + 7),     /* audio file unreadable */
	EMO_E_DEVICE = -(EMO_E_BASE + 8),    /* audio device error or vanished */
	EMO_E_NODEVICE = -(EMO_E_BASE + 9),  /* no input device available */
	EMO_E_EMPTY = -(EMO_E_BASE + 10),    /* input has no usable audio */
	EMO_E_INTERRUPTED = -(EMO_E_BASE + 11), /* stopped by a signal */
	EMO_E_JSON = -(EMO_E_BASE + 12),     /* malformed JSON */
	EMO_E_EXISTS = -(EMO_E_BASE + 13),   /* refusing to overwrite a file */
	EMO_E_NONFINITE = -(EMO_E_BASE + 14), /* NaN or Inf where numbers must be finite */
	EMO_E_DIGEST = -(EMO_E_BASE + 15),   /* weights differ from their recorded digest */
	EMO_E_LAST = -(EMO_E_BASE + 16),
};

/* Text for any code this library returns: negative errno or EMO_E_*.
 * Never NULL; the string is static. */
const char *emo_strerror(int err);

enum emo_log_level {
	EMO_LOG_ERROR = 0,
	EMO_LOG_WARN = 1,
	EMO_LOG_INFO = 2,
	EMO_LOG_DEBUG = 3,
};

/* The log handler receives one complete message (no trailing newline).
 * It may be called from any library thread, but never from the audio
 * callback. */
typedef void (*emo_log_fn)(enum emo_log_level level, const char *msg,
			   void *userdata);

/* Install the process-wide log handler and the most verbose level passed
 * to it. NULL restores the default, which drops everything: a library must
 * not write to a terminal the TUI owns. Call before starting threads. */
void emo_log_set_handler(emo_log_fn fn, void *userdata);
void emo_log_set_level(enum emo_log_level level);
enum emo_log_level emo_log_get_level(void);

/* Used by the library (and the program) to report. */
void emo_log(enum emo_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void emo_logv(enum emo_log_level level, const char *fmt, va_list ap);

#define emo_err(...) emo_log(EMO_LOG_ERROR, __VA_ARGS__)
#define emo_warn(...) emo_log(EMO_LOG_WARN, __VA_ARGS__)
#define emo_info(...) emo_log(EMO_LOG_INFO, __VA_ARGS__)
#define emo_debug(...) emo_log(EMO_LOG_DEBUG, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif
