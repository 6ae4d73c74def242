/*
 * Alert rules in action: one small state machine per rule and probe (or
 * device, for battery_low and offline), an "instance", kept in a bounded
 * table keyed "rule_id/device_id/probe_id" (the field of the instance in
 * the Redis hash `alertstate`).
 *
 *	ARMED --condition--> PENDING --held for `for`--> FIRING
 *	  ^                                                |
 *	  +------ value back past threshold -/+ hysteresis +
 *
 * Each evaluation says TRUE (the condition holds), FALSE (the value is
 * back past the threshold by the hysteresis: clear and re-arm) or HOLD
 * (in between: a firing alert stays firing, an armed one stays armed),
 * so a value hovering at a threshold fires once.
 *
 * Snooze: a firing that starts while the instance is snoozed is kept
 * (state FIRING) but not announced; when the snooze ends and it still
 * fires, it is announced then. Acknowledgement: stops the repeats
 * (rule.repeat) of the current firing. Both are kept by the API in
 * `alertstate`; the hooks read them, only when a decision needs them.
 *
 * Every change goes to the sink as a struct alert_event: `publish`
 * events are announced (alerts stream, live feed, webhooks); the others
 * only update `alertstate`. Reading-driven changes carry the reading's
 * time, tick-driven ones (silence, snooze end, repeats) the clock's.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "log.h"
#include "ingest.h"

enum cond { COND_FALSE, COND_HOLD, COND_TRUE };

struct alert_inst {
	struct alertrule rule;		/* the rule as it was when created */
	char		 device_id[READING_ID_LEN];
	char		 probe_id[READING_ID_LEN];
	enum alert_state state;
	bool		 notified;	/* the current firing was announced */
	bool		 live;		/* rule still loaded (reload sweep) */
	int64_t		 cond_since;	/* PENDING since, device ns */
	int64_t		 last_ts;	/* last reading, device ns */
	int64_t		 fired_ts;
	int64_t		 notified_at;	/* wall ns of the last announcement */
	int64_t		 snooze_until;	/* wall ns, the hook's last answer */
	unsigned	 repeats;
	double		 value;
	bool		 has_value;
	char		 alert_id[ALERT_ID_LEN];
};

struct alerts {
	struct alertrule *rules;
	size_t		 nrules;
	size_t		*by_device;	/* rule indices sorted by device_id */
	size_t		 nby_device;
	size_t		*any_device;	/* rules for "*" */
	size_t		 nany_device;
	uint64_t	 gen;
	struct table	*inst;
	struct alert_hooks hooks;
};

struct alerts *
alerts_new(size_t max, const struct alert_hooks *hooks)
{
	struct alerts *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	if ((a->inst = table_new(sizeof(struct alert_inst), max)) == NULL) {
		free(a);
		return NULL;
	}
	if (hooks)
		a->hooks = *hooks;
	a->gen = 1;
	return a;
}

void
alerts_free(struct alerts *a)
{
	if (a == NULL)
		return;
	table_free(a->inst);
	free(a->rules);
	free(a->by_device);
	free(a->any_device);
	free(a);
}

size_t
alerts_nrules(const struct alerts *a)
{
	return a->nrules;
}

uint64_t
alerts_generation(const struct alerts *a)
{
	return a->gen;
}

size_t
alerts_ninstances(const struct alerts *a)
{
	return table_count(a->inst);
}

static const struct alertrule *sort_rules;

static int
cmp_device(const void *x, const void *y)
{
	return strcmp(sort_rules[*(const size_t *)x].device_id,
	    sort_rules[*(const size_t *)y].device_id);
}

static void
inst_key(char *key, size_t len, const char *rule, const char *device,
    const char *probe)
{
	rkey_alert_field(key, len, rule, device, probe);
}

static void
new_alert_id(char *id)
{
	snprintf(id, ALERT_ID_LEN, "%016llx",
	    (unsigned long long)backoff_rand());
}

static double
to_unit(double v, char from, char to)
{
	if (from == 'H' || to == 'H')
		return from == to ? v : NAN;
	return reading_convert(v, from, to);
}

static void
describe(const struct alert_inst *in, bool firing, char *msg, size_t len)
{
	const struct alertrule *r = &in->rule;
	char where[2 * READING_ID_LEN + 16];
	const char *u = r->unit == 'H' ? " %" : r->unit == 'C' ? " C" : " F";

	if (in->probe_id[0] != '\0')
		snprintf(where, sizeof(where), "probe %s of %s", in->probe_id,
		    in->device_id);
	else
		snprintf(where, sizeof(where), "%s", in->device_id);
	switch (r->kind) {
	case ALERTRULE_ABOVE:
	case ALERTRULE_BELOW:
	case ALERTRULE_TARGET:
		snprintf(msg, len, "%s: %s %s %g%s (%.4g%s)", r->name, where,
		    r->kind == ALERTRULE_TARGET ? (firing ? "reached its "
		    "target" : "fell back below its target") :
		    firing ? (r->kind == ALERTRULE_ABOVE ? "is above" :
		    "is below") : "is back within", r->threshold, u,
		    in->value, u);
		break;
	case ALERTRULE_RISE_RATE:
	case ALERTRULE_FALL_RATE:
		snprintf(msg, len, "%s: %s %s %g%s/min (%.3g%s/min)", r->name,
		    where, firing ? (r->kind == ALERTRULE_RISE_RATE ?
		    "rises faster than" : "falls faster than") :
		    "changes slower than", r->threshold, u, in->value, u);
		break;
	case ALERTRULE_STALL:
		snprintf(msg, len, "%s: %s %s", r->name, where, firing ?
		    "stalled" : "climbs out of the stall");
		break;
	case ALERTRULE_DISCONNECTED:
		snprintf(msg, len, "%s: %s %s", r->name, where, firing ?
		    "is disconnected" : "is connected again");
		break;
	case ALERTRULE_BATTERY_LOW:
		snprintf(msg, len, "%s: battery of %s %s %g %% (%.3g %%)",
		    r->name, where, firing ? "is below" : "is back above",
		    r->threshold, in->value);
		break;
	case ALERTRULE_OFFLINE:
		snprintf(msg, len, "%s: %s %s", r->name, where, firing ?
		    "is offline" : "is online again");
		break;
	}
}

static void
emit(struct alerts *a, struct alert_inst *in, bool firing, bool publish,
    int64_t ts, const struct alert_sink *sink)
{
	struct alert_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = in->rule.kind;
	ev.firing = firing;
	ev.publish = publish;
	ev.notify = publish && in->rule.notify;
	ev.repeat = in->repeats;
	ev.ts_ns = ts;
	ev.since_ns = in->fired_ts;
	ev.value = in->value;
	ev.has_value = in->has_value;
	ev.threshold = in->rule.threshold;
	ev.unit = in->rule.unit;
	ev.notified = in->notified;
	util_strlcpy(ev.alert_id, in->alert_id, sizeof(ev.alert_id));
	util_strlcpy(ev.rule_id, in->rule.id, sizeof(ev.rule_id));
	util_strlcpy(ev.name, in->rule.name, sizeof(ev.name));
	util_strlcpy(ev.device_id, in->device_id, sizeof(ev.device_id));
	util_strlcpy(ev.probe_id, in->probe_id, sizeof(ev.probe_id));
	util_strlcpy(ev.key, table_key(in), sizeof(ev.key));
	describe(in, firing, ev.message, sizeof(ev.message));
	if (sink && sink->emit)
		sink->emit(sink->arg, &ev);
}

static bool
snoozed(struct alerts *a, struct alert_inst *in, int64_t now)
{
	if (a->hooks.snoozed_until == NULL)
		return false;
	in->snooze_until = a->hooks.snoozed_until(a->hooks.arg,
	    table_key(in));
	return in->snooze_until > now;
}

static void
fire(struct alerts *a, struct alert_inst *in, int64_t ts, int64_t now,
    const struct alert_sink *sink)
{
	in->state = ALERT_FIRING;
	in->fired_ts = ts;
	in->repeats = 0;
	new_alert_id(in->alert_id);
	in->notified = !snoozed(a, in, now);
	if (in->notified)
		in->notified_at = now;
	emit(a, in, true, in->notified, ts, sink);
}

static void
clear(struct alerts *a, struct alert_inst *in, int64_t ts,
    const struct alert_sink *sink)
{
	bool was_notified = in->notified;

	in->state = ALERT_ARMED;
	in->cond_since = 0;
	emit(a, in, false, was_notified, ts, sink);
	in->notified = false;
	in->repeats = 0;
	in->alert_id[0] = '\0';
}

static void
step(struct alerts *a, struct alert_inst *in, enum cond c, int64_t ts,
    int64_t now, const struct alert_sink *sink)
{
	switch (in->state) {
	case ALERT_ARMED:
	case ALERT_PENDING:
		if (c != COND_TRUE) {
			in->state = ALERT_ARMED;
			in->cond_since = 0;
			break;
		}
		if (in->state == ALERT_ARMED) {
			in->state = ALERT_PENDING;
			in->cond_since = ts;
		}
		if (ts - in->cond_since >= in->rule.for_ms * NS_PER_MS)
			fire(a, in, ts, now, sink);
		break;
	case ALERT_FIRING:
		if (c == COND_FALSE)
			clear(a, in, ts, sink);
		break;
	}
}

static enum cond
band(double v, double thr, double hyst, bool above)
{
	if (above)
		return v > thr ? COND_TRUE : v < thr - hyst ? COND_FALSE :
		    COND_HOLD;
	return v < thr ? COND_TRUE : v > thr + hyst ? COND_FALSE : COND_HOLD;
}

/* The condition of a rule on one reading; -1 when it does not apply. */
static int
condition(struct alert_inst *in, const struct reading *r,
    const struct cook_info *ci)
{
	const struct alertrule *ru = &in->rule;
	double v, rate;

	switch (ru->kind) {
	case ALERTRULE_ABOVE:
	case ALERTRULE_BELOW:
	case ALERTRULE_TARGET:
		if (!r->has_value)
			return -1;
		v = to_unit(r->value, r->unit, ru->unit);
		if (!isfinite(v))
			return -1;
		in->value = v;
		in->has_value = true;
		if (ru->kind == ALERTRULE_TARGET)
			return v >= ru->threshold ? COND_TRUE :
			    v < ru->threshold - ru->hysteresis ? COND_FALSE :
			    COND_HOLD;
		return band(v, ru->threshold, ru->hysteresis,
		    ru->kind == ALERTRULE_ABOVE);
	case ALERTRULE_RISE_RATE:
	case ALERTRULE_FALL_RATE:
		if (ci == NULL || !ci->has_rate)
			return -1;
		rate = ci->rate_c * (ru->unit == 'F' ? 9.0 / 5.0 : 1.0);
		if (ru->kind == ALERTRULE_FALL_RATE)
			rate = -rate;
		in->value = ru->kind == ALERTRULE_FALL_RATE ? -rate : rate;
		in->has_value = true;
		return band(rate, ru->threshold, ru->hysteresis, true);
	case ALERTRULE_STALL:
		if (ci == NULL || !ci->has_rate)
			return -1;
		return ci->stall ? COND_TRUE : COND_FALSE;
	case ALERTRULE_DISCONNECTED:
		return r->has_value ? COND_FALSE : COND_TRUE;
	case ALERTRULE_BATTERY_LOW:
		if (r->battery == READING_NO_BATTERY)
			return -1;
		in->value = r->battery;
		in->has_value = true;
		return band(r->battery, ru->threshold, ru->hysteresis, false);
	case ALERTRULE_OFFLINE:
		return COND_FALSE;
	}
	return -1;
}

static struct alert_inst *
instance(struct alerts *a, const struct alertrule *ru, const char *device,
    const char *probe)
{
	char key[ALERT_KEY_LEN];
	struct alert_inst *in;
	bool created;

	if (alertrule_device_level(ru->kind))
		probe = "";
	inst_key(key, sizeof(key), ru->id, device, probe);
	if ((in = table_put(a->inst, key, &created)) == NULL)
		return NULL;
	if (created) {
		in->rule = *ru;
		util_strlcpy(in->device_id, device, sizeof(in->device_id));
		util_strlcpy(in->probe_id, probe, sizeof(in->probe_id));
		in->state = ALERT_ARMED;
		in->live = true;
	}
	return in;
}

static void
eval_rule(struct alerts *a, const struct alertrule *ru,
    const struct reading *r, const struct cook_info *ci, int64_t now,
    const struct alert_sink *sink)
{
	struct alert_inst *in;
	int c;

	if (!ru->enabled || !alertrule_matches(ru, r->device_id, r->probe_id))
		return;
	if ((in = instance(a, ru, r->device_id, r->probe_id)) == NULL)
		return;
	if (in->last_ts != 0 && r->ts_ns < in->last_ts)
		return;		/* late: the state has moved past it */
	in->last_ts = r->ts_ns;
	if ((c = condition(in, r, ci)) < 0)
		return;
	step(a, in, (enum cond)c, r->ts_ns, now, sink);
}

/* Calls fn for every enabled rule that names this device or any. */
static void
each_rule(struct alerts *a, const char *device,
    void (*fn)(struct alerts *, const struct alertrule *, void *), void *arg)
{
	size_t lo = 0, hi = a->nby_device, i;

	for (i = 0; i < a->nany_device; i++)
		fn(a, &a->rules[a->any_device[i]], arg);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(a->rules[a->by_device[mid]].device_id, device) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < a->nby_device &&
	    strcmp(a->rules[a->by_device[i]].device_id, device) == 0; i++)
		fn(a, &a->rules[a->by_device[i]], arg);
}

struct eval_arg {
	const struct reading	*r;
	const struct cook_info	*ci;
	int64_t			 now;
	const struct alert_sink	*sink;
};

static void
eval_one(struct alerts *a, const struct alertrule *ru, void *arg)
{
	struct eval_arg *ea = arg;

	eval_rule(a, ru, ea->r, ea->ci, ea->now, ea->sink);
}

void
alerts_reading(struct alerts *a, const struct reading *r,
    const struct cook_info *ci, int64_t now, const struct alert_sink *sink)
{
	struct eval_arg ea = { r, ci, now, sink };

	if (a->nrules == 0)
		return;
	each_rule(a, r->device_id, eval_one, &ea);
}

struct want_arg {
	const char	*probe;
	double		*target_c;
	bool		*stall;
	bool		 any;
};

static void
want_one(struct alerts *a, const struct alertrule *ru, void *arg)
{
	struct want_arg *w = arg;

	if (!ru->enabled || alertrule_device_level(ru->kind) ||
	    (ru->probe_id[0] != '\0' && strcmp(ru->probe_id, w->probe) != 0))
		return;
	switch (ru->kind) {
	case ALERTRULE_TARGET:
		*w->target_c = ru->unit == 'F' ? reading_convert(ru->threshold,
		    'F', 'C') : ru->threshold;
		w->any = true;
		break;
	case ALERTRULE_STALL:
		*w->stall = true;
		w->any = true;
		break;
	default:
		break;
	}
}

bool
alerts_cook_wanted(struct alerts *a, const char *device, const char *probe,
    double *target_c, bool *stall)
{
	struct want_arg w = { probe, target_c, stall, false };

	*target_c = NAN;
	*stall = false;
	if (a->nrules > 0)
		each_rule(a, device, want_one, &w);
	return w.any;
}

void
alerts_tick(struct alerts *a, int64_t now, const struct alert_sink *sink)
{
	struct alert_inst *in, *next;

	for (in = table_first(a->inst); in != NULL; in = next) {
		next = table_next(a->inst, in);
		switch (in->state) {
		case ALERT_ARMED:
		case ALERT_PENDING:
			if ((in->rule.kind == ALERTRULE_OFFLINE ||
			    in->rule.kind == ALERTRULE_DISCONNECTED) &&
			    in->rule.enabled && in->last_ts != 0 &&
			    now - in->last_ts >= in->rule.after_ms * NS_PER_MS) {
				in->has_value = false;
				fire(a, in, now, now, sink);
			}
			break;
		case ALERT_FIRING:
			if (!in->notified) {
				/* Asked each tick: the API may lift it early. */
				if (snoozed(a, in, now))
					break;
				in->notified = true;
				in->notified_at = now;
				emit(a, in, true, true, now, sink);
			} else if (in->rule.repeat_ms > 0 && now -
			    in->notified_at >= in->rule.repeat_ms * NS_PER_MS) {
				in->notified_at = now;
				if (a->hooks.acked != NULL && a->hooks.acked(
				    a->hooks.arg, table_key(in), in->alert_id))
					break;
				in->repeats++;
				emit(a, in, true, true, now, sink);
			}
			break;
		}
	}
}

/*
 * New rules. Instances whose rule is gone, disabled or changed are
 * dropped; a firing one is cleared first, so nobody is left with an
 * alert that nothing will ever clear.
 */
void
alerts_set_rules(struct alerts *a, struct alertrule *rules, size_t n,
    int64_t now, const struct alert_sink *sink)
{
	struct alert_inst *in, *next;
	size_t i, nd = 0, na = 0;
	size_t *byd, *any;

	byd = calloc(n ? n : 1, sizeof(*byd));
	any = calloc(n ? n : 1, sizeof(*any));
	if (byd == NULL || any == NULL) {
		log_warnx("alerts: out of memory loading %zu rules", n);
		free(byd);
		free(any);
		free(rules);
		return;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(rules[i].device_id, ALERTRULE_ANY) == 0)
			any[na++] = i;
		else
			byd[nd++] = i;
	}
	sort_rules = rules;
	qsort(byd, nd, sizeof(*byd), cmp_device);
	sort_rules = NULL;

	for (in = table_first(a->inst); in != NULL; in = next) {
		next = table_next(a->inst, in);
		in->live = false;
		for (i = 0; i < n; i++)
			if (memcmp(&rules[i], &in->rule, sizeof(in->rule)) == 0 &&
			    rules[i].enabled) {
				in->live = true;
				break;
			}
		if (in->live)
			continue;
		if (in->state == ALERT_FIRING) {
			in->has_value = false;
			clear(a, in, now, sink);
		}
		table_del_value(a->inst, in);
	}
	free(a->rules);
	free(a->by_device);
	free(a->any_device);
	a->rules = rules;
	a->nrules = n;
	a->by_device = byd;
	a->nby_device = nd;
	a->any_device = any;
	a->nany_device = na;
	a->gen++;
}

/*
 * A firing remembered in `alertstate` (start-up): the instance comes
 * back firing, so a restart neither repeats the alert nor forgets to
 * clear it.
 */
int
alerts_restore(struct alerts *a, const char *rule_id, const char *device,
    const char *probe, const char *alert_id, int64_t since, bool notified)
{
	struct alert_inst *in;

	for (size_t i = 0; i < a->nrules; i++) {
		if (strcmp(a->rules[i].id, rule_id) != 0 || !a->rules[i].enabled)
			continue;
		if (!alertrule_matches(&a->rules[i], device, probe))
			return -1;
		if ((in = instance(a, &a->rules[i], device, probe)) == NULL)
			return -1;
		in->state = ALERT_FIRING;
		in->fired_ts = since;
		in->notified = notified;
		in->notified_at = util_now_ns();
		util_strlcpy(in->alert_id, alert_id, sizeof(in->alert_id));
		return 0;
	}
	return -1;
}
