/* Tiny test helpers shared by tests/test-*.c: checks that count failures,
 * a log handler that keeps the last error for assertions, and a tolerance
 * comparison that prints the max difference it saw (as llm.c's tests do). */
#ifndef EMOTOP_TESTLIB_H
#define EMOTOP_TESTLIB_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emotop/error.h"

static int t_failures;
static char t_last_log[1024];
static int t_verbose_log;

#define CHECK(cond)                                                           \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__,    \
				__LINE__, #cond);                             \
			t_failures++;                                         \
		}                                                             \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                    \
	do {                                                                  \
		long long _a = (long long)(a), _b = (long long)(b);           \
		if (_a != _b) {                                               \
			fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld vs %lld)\n", \
				__FILE__, __LINE__, #a, #b, _a, _b);          \
			t_failures++;                                         \
		}                                                             \
	} while (0)

#define CHECK_CONTAINS(hay, needle)                                           \
	do {                                                                  \
		if (!strstr((hay), (needle))) {                               \
			fprintf(stderr, "%s:%d: expected \"%s\" in \"%s\"\n",     \
				__FILE__, __LINE__, (needle), (hay));         \
			t_failures++;                                         \
		}                                                             \
	} while (0)

static inline void t_log_handler(enum emo_log_level level, const char *msg,
				 void *ud)
{
	(void)ud;
	/* errors since the test last cleared t_last_log, joined by " | " */
	if (level == EMO_LOG_ERROR) {
		size_t l = strlen(t_last_log);
		snprintf(t_last_log + l, sizeof t_last_log - l, "%s%s",
			 l ? " | " : "", msg);
	}
	if (t_verbose_log || level <= EMO_LOG_WARN)
		fprintf(stderr, "  [log %d] %s\n", (int)level, msg);
}

static inline void t_init(void)
{
	emo_log_set_handler(t_log_handler, NULL);
	emo_log_set_level(EMO_LOG_DEBUG);
	t_verbose_log = getenv("EMOTOP_TEST_VERBOSE") != NULL;
}

/* Compares n floats; passes when |a-b| <= atol + rtol·|b| everywhere.
 * Prints the max abs difference seen either way. */
static inline int t_close(const char *what, const float *a, const float *b,
			  size_t n, float atol, float rtol)
{
	double maxd = 0;
	size_t worst = 0, bad = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)a[i] - b[i]);
		if (!(d <= maxd)) { /* also catches NaN */
			maxd = isnan(d) ? INFINITY : d;
			worst = i;
		}
		if (!(d <= atol + rtol * fabs((double)b[i])))
			bad++;
	}
	fprintf(stderr, "  %-28s n=%-8zu max|diff|=%.3g (tol %.1g+%.1g·|ref|)%s\n",
		what, n, maxd, atol, rtol, bad ? "  FAIL" : "");
	if (bad) {
		fprintf(stderr, "    %zu values out of tolerance; worst at %zu: "
			"%.7g vs ref %.7g\n", bad, worst, a[worst], b[worst]);
		t_failures++;
	}
	return bad == 0;
}

static inline int t_finish(const char *name)
{
	if (t_failures) {
		fprintf(stderr, "%s: %d check(s) failed\n", name, t_failures);
		return 1;
	}
	fprintf(stderr, "%s: all checks passed\n", name);
	return 0;
}

/* Source tree root, passed by meson as EMOTOP_SOURCE_ROOT. */
static inline const char *t_srcdir(void)
{
	const char *s = getenv("EMOTOP_SOURCE_ROOT");
	return s ? s : ".";
}

static inline void t_path(char *buf, size_t n, const char *rel)
{
	snprintf(buf, n, "%s/%s", t_srcdir(), rel);
}

#endif
