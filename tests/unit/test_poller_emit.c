/*
 * emit_judge(): what the poller does with a point given its channel's
 * seen mark and the time now, when device clocks step. A point far
 * ahead is skipped (and moves no mark), a mark far ahead is ignored, a
 * document point well behind the mark follows the clock back, a little
 * behind is skipped, archive points behind are simply old.
 * emit_step_gaps(): the gaps such a step opens, on both clocks, and the
 * ones it opens when the clock goes forward again.
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

static void
t_step_gaps(void)
{
	struct emit_step st = { 0, 0 };
	struct emit_gaps g;
	const int64_t rec = 1 * S, mark = now - 4 * S;

	/* No step: the usual gap. */
	CHECK(!emit_step_gaps(now, mark, now, rec, false, &st, &g));
	/*
	 * Polled at mark, the clock went back an hour, the document shows
	 * now - 3600 s: the new clock's points before it (the time since
	 * the mark, a recording and a second) and the old clock's after
	 * the mark, up to now.
	 */
	CHECK(emit_step_gaps(now - 3600 * S, mark, now, rec, true, &st, &g));
	CHECK(g.from_us == now - 3600 * S - 4 * S - 2 * S);
	CHECK(g.x.from_us == mark && g.x.to_us == now);
	CHECK(st.hi_us == now && st.back_us == 3596 * S);
	/* On the new clock: the usual gaps. */
	CHECK(!emit_step_gaps(now - 3595 * S, now - 3600 * S, now + 5 * S,
	    rec, false, &st, &g));
	CHECK(st.hi_us == now);
	/*
	 * Forward again 20 s later: the new clock's last points (up to
	 * now less the step, a recording and a second) and the right
	 * clock's after the old one's end; none of the old clock's points
	 * between them, which went out before the step.
	 */
	CHECK(emit_step_gaps(now + 20 * S, now - 3595 * S, now + 22 * S, rec,
	    false, &st, &g));
	CHECK(g.x.from_us == now - 3595 * S);
	CHECK(g.x.to_us == now + 22 * S - 3596 * S + 2 * S);
	CHECK(g.from_us == now);
	CHECK(st.hi_us == 0 && st.back_us == 0);
	/* Then nothing special. */
	CHECK(!emit_step_gaps(now + 25 * S, now + 20 * S, now + 25 * S, rec,
	    false, &st, &g));
	/* A clock reset for good: passing the old end needs no extra gap. */
	CHECK(emit_step_gaps(now - 3600 * S, mark, now, rec, true, &st, &g));
	CHECK(!emit_step_gaps(now + 2 * S, now + S, now + 3602 * S, rec, false,
	    &st, &g));
	CHECK(st.hi_us == 0);
	/* A mark ahead of now (a clock that was fast): no old-clock gap. */
	st.hi_us = st.back_us = 0;
	CHECK(emit_step_gaps(now - 3600 * S, now + 60 * S, now, rec, true, &st,
	    &g));
	CHECK(g.x.to_us == 0 && st.hi_us == now + 60 * S);
	CHECK(g.from_us == now - 3600 * S - 2 * S);
}

int
main(void)
{
	UNIT_RUN(t_normal);
	UNIT_RUN(t_future);
	UNIT_RUN(t_back);
	UNIT_RUN(t_step_gaps);
	return unit_done();
}
