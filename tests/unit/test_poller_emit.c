/*
 * emit_judge(): what the poller does with a point given its channel's
 * seen mark and the time now, when device clocks step. A point far
 * ahead is skipped (and moves no mark), a mark far ahead is ignored, a
 * document point well behind the mark follows the clock back, a little
 * behind is skipped, archive points behind are simply old.
 */
#include "../../poller/poller.h"
#include "unit.h"

#define S	INT64_C(1000000)	/* a second in microseconds */

static const int64_t now = INT64_C(1767225600) * S;
static const int64_t skew = 300 * S;

static void
t_normal(void)
{
	CHECK_INT(emit_judge(now - 10 * S, now - 20 * S, now, skew, true),
	    EMIT_NEW);
	CHECK_INT(emit_judge(now - 20 * S, now - 20 * S, now, skew, true),
	    EMIT_OLD);
	CHECK_INT(emit_judge(now - 30 * S, now - 20 * S, now, skew, false),
	    EMIT_OLD);
	CHECK_INT(emit_judge(now + 299 * S, now, now, skew, true), EMIT_NEW);
}

static void
t_future(void)
{
	/* One timestamp a year ahead: skipped, the mark does not move... */
	CHECK_INT(emit_judge(now + 365 * 86400 * S, now - 5 * S, now, skew,
	    true), EMIT_FUTURE);
	CHECK_INT(emit_judge(now + 301 * S, now - 5 * S, now, skew, false),
	    EMIT_FUTURE);
	/* ...so the next right one goes out. */
	CHECK_INT(emit_judge(now, now - 5 * S, now, skew, true), EMIT_NEW);
	/* A mark poisoned by an older version: ignored. */
	CHECK_INT(emit_judge(now, now + 365 * 86400 * S, now, skew, true),
	    EMIT_NEW);
	CHECK_INT(emit_judge(now, now + 365 * 86400 * S, now, skew, false),
	    EMIT_NEW);
}

static void
t_back(void)
{
	/* An hour back (DST, RTC reset): follow it. */
	CHECK_INT(emit_judge(now - 3600 * S, now, now, skew, true),
	    EMIT_STEPPED_BACK);
	/* A little back: skipped (and counted). */
	CHECK_INT(emit_judge(now - 60 * S, now, now, skew, true), EMIT_BEHIND);
	/* Archive points behind the mark are the ones already sent. */
	CHECK_INT(emit_judge(now - 3600 * S, now, now, skew, false), EMIT_OLD);
	/* After following: the next points are new again. */
	CHECK_INT(emit_judge(now - 3599 * S, now - 3600 * S, now, skew, true),
	    EMIT_NEW);
}

int
main(void)
{
	UNIT_RUN(t_normal);
	UNIT_RUN(t_future);
	UNIT_RUN(t_back);
	return unit_done();
}
