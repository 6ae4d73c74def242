/*
 * unit: the smallest test harness that does the job.
 *
 * A test file defines static functions and runs each with UNIT_RUN(fn).
 * CHECK* macros record a failure and carry on, so one run shows every
 * broken assertion. Output is TAP ("ok N - name" / "not ok N - name"),
 * which tests/run counts; main returns unit_done().
 */
#ifndef UNIT_H
#define UNIT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

void	unit_run(const char *, void (*)(void));
void	unit_fail(const char *, int, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
int	unit_done(void);
/* A temporary directory for this test binary, removed by unit_done(). */
const char *unit_tmpdir(void);
/* A loopback TCP port nobody listens on right now; -1 if none. */
int	unit_free_port(void);

#define UNIT_RUN(fn) unit_run(#fn, fn)

#define CHECK(c)                                                          \
	do {                                                              \
		if (!(c))                                                 \
			unit_fail(__FILE__, __LINE__, "%s", #c);          \
	} while (0)

#define CHECK_INT(a, b)                                                   \
	do {                                                              \
		long long a_ = (long long)(a), b_ = (long long)(b);      \
		if (a_ != b_)                                             \
			unit_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", \
			    #a, #b, a_, b_);                              \
	} while (0)

#define CHECK_DBL(a, b, eps)                                              \
	do {                                                              \
		double a_ = (a), b_ = (b);                                \
		if (!(a_ - b_ <= (eps) && b_ - a_ <= (eps)))              \
			unit_fail(__FILE__, __LINE__, "%s ~ %s: %.17g != %.17g", \
			    #a, #b, a_, b_);                              \
	} while (0)

#define CHECK_STR(a, b)                                                   \
	do {                                                              \
		const char *a_ = (a), *b_ = (b);                          \
		if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0)      \
			unit_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", \
			    #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
	} while (0)

#endif
