/*
 * What the poller tells about itself: /health/ready (poller_ready(), on
 * civetweb's threads), MSG_STATUS_REP (poller_status_json(), on nng's),
 * both from what the main thread publishes after each turn of its loop
 * (poller_status_publish()) and from the hand-off thread's atomics.
 */
#include <stdio.h>
#include <string.h>

#include "poller.h"
#include "version.h"

/* What the other threads may read about the main thread's state. */
void
poller_status_publish(struct poller *p)
{
	struct tw_account *a;

	atomic_store(&p->st_cycles, p->cycles);
	atomic_store(&p->st_overruns, p->overruns);
	atomic_store(&p->st_last_cycle_ms, p->last_cycle_ms);
	pthread_mutex_lock(&p->status_mu);
	TAILQ_FOREACH(a, &p->accounts, entry) {
		a->st_signed_in = auth_has_token(a);
		a->st_discovered = a->discovered;
		a->st_devices = (int)a->by_serial.len;
		util_strlcpy(a->st_error, a->last_error, sizeof(a->st_error));
	}
	pthread_mutex_unlock(&p->status_mu);
}

static const char *
lease_name(int s)
{
	return s == LEASE_HELD ? "held" : s == LEASE_STANDBY ? "standby" :
	    "waiting";
}

/*
 * Ready: Redis or the spool takes readings, and every account is either
 * signed in or polled by another poller. Otherwise why not.
 */
bool
poller_ready(void *arg, struct buf *why)
{
	struct poller *p = arg;
	struct tw_account *a;
	bool ready = true;
	char reason[400] = "";

	if (p->naccounts == 0) {
		ready = false;
		snprintf(reason, sizeof(reason), "no ThermoWorks account "
		    "configured (thermoworks.email or thermoworks.accounts)");
	} else if (!handoff_accepting(p)) {
		ready = false;
		snprintf(reason, sizeof(reason), "Redis %s and the "
		    "spool is %s", atomic_load(&p->redis_up) ? "refuses "
		    "readings (the stream is full: ingest is behind)" :
		    "is unreachable", atomic_load(&p->spool_full) ? "full" :
		    "not writable");
	}
	pthread_mutex_lock(&p->status_mu);
	TAILQ_FOREACH(a, &p->accounts, entry) {
		int lease = atomic_load(&a->lease);

		if (!ready)
			break;
		if (lease == LEASE_WAIT) {
			ready = false;
			snprintf(reason, sizeof(reason), "%s: waiting for Redis "
			    "(lease and seen marks)", a->email);
		} else if (lease == LEASE_HELD && !a->st_signed_in) {
			ready = false;
			snprintf(reason, sizeof(reason), "%s: not signed in%s%s",
			    a->email, a->st_error[0] ? ": " : "",
			    a->st_error);
		}
	}
	pthread_mutex_unlock(&p->status_mu);
	buf_printf(why, "\"redis\":\"%s\",\"stream\":\"%s\","
	    "\"spool_bytes\":%lld", atomic_load(&p->redis_up) ? "up" : "down",
	    atomic_load(&p->stream_full) ? "full" : "ok",
	    (long long)atomic_load(&p->spool_bytes));
	if (!ready) {
		buf_puts(why, ",\"reason\":\"");
		buf_json_escape(why, reason);
		buf_putc(why, '"');
	}
	return ready;
}

/* MSG_STATUS_REP's body. */
void
poller_status_json(struct poller *p, struct buf *b)
{
	struct tw_account *a;
	struct buf why;
	bool ready;
	int i = 0;

	buf_init(&why);
	ready = poller_ready(p, &why);
	buf_printf(b, "{\"daemon\":\"grilld-poller\",\"version\":\"%s\","
	    "\"uptime_s\":%lld,\"ready\":%s,%s,\"id\":\"", GRILLD_VERSION,
	    (long long)((util_mono_ms() - p->started_ms) / 1000),
	    ready ? "true" : "false", why.data ? why.data : "");
	buf_json_escape(b, p->id);
	buf_printf(b, "\",\"spool_max\":%lld,\"emitted\":%llu,\"cycles\":%llu,"
	    "\"overruns\":%llu,\"last_cycle_ms\":%lld,\"interval_ms\":%lld,"
	    "\"accounts\":[", (long long)p->cf->poller.spool_max,
	    (unsigned long long)atomic_load(&p->emitted),
	    (unsigned long long)atomic_load(&p->st_cycles),
	    (unsigned long long)atomic_load(&p->st_overruns),
	    (long long)atomic_load(&p->st_last_cycle_ms),
	    (long long)p->cf->poller.interval);
	buf_free(&why);
	pthread_mutex_lock(&p->status_mu);
	TAILQ_FOREACH(a, &p->accounts, entry) {
		buf_printf(b, "%s{\"email\":\"", i++ ? "," : "");
		buf_json_escape(b, a->email);
		buf_printf(b, "\",\"lease\":\"%s\",\"signed_in\":%s,"
		    "\"devices\":%d}", lease_name(atomic_load(&a->lease)),
		    a->st_signed_in ? "true" : "false", a->st_devices);
	}
	pthread_mutex_unlock(&p->status_mu);
	buf_puts(b, "]}");
}
