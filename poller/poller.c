/*
 * grilld-poller: polls the ThermoWorks cloud for every device and probe
 * of the configured accounts and hands each new reading to Redis.
 * See poller.h for the threads, docs/poller.md for what it guarantees.
 *
 * The main loop: apply lease changes (an account becomes active once its
 * lease is held and the seen marks are loaded), keep each active
 * account signed in and discovered, start a poll cycle when one is due,
 * and turn the libcurl multi handle, at most POLLER_TICK_MS at a time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "daemon.h"
#include "poller.h"
#include "rkeys.h"
#include "trace.h"

#define POLLER_TICK_MS	100

static void
metrics_init(struct poller *p)
{
	struct poller_metrics *m = &p->m;
	struct metric *f;

	f = metric_counter("grilld_poller_cycles_total", "Poll cycles run.",
	    NULL);
	m->cycles = metric_with(f);
	f = metric_counter("grilld_poller_overruns_total", "Ticks skipped "
	    "because the previous cycle had not finished.", NULL);
	m->overruns = metric_with(f);
	f = metric_counter("grilld_poller_paused_total", "Ticks skipped "
	    "because the spool is full.", NULL);
	m->paused = metric_with(f);
	f = metric_histogram("grilld_poller_cycle_seconds", "Time from the "
	    "start of a cycle to its last device.", NULL,
	    metric_latency_bounds, metric_latency_nbounds);
	m->cycle_seconds = metric_with(f);
	f = metric_counter("grilld_poller_polls_total", "Device polls (the "
	    "device and its channels) by result.", "result");
	m->polls_ok = metric_with(f, "ok");
	m->polls_failed = metric_with(f, "failed");
	f = metric_counter("grilld_poller_readings_total", "Readings emitted, "
	    "by where the point came from (archive: backfilled between "
	    "uploads, stored but not published as new).", "source");
	m->emitted_poll = metric_with(f, "poll");
	m->emitted_archive = metric_with(f, "archive");
	f = metric_counter("grilld_poller_readings_deferred_total", "Points "
	    "left for the next cycle because the hand-off queue was full.",
	    NULL);
	m->deferred = metric_with(f);
	f = metric_counter("grilld_poller_signins_total", "Password sign-ins "
	    "by result.", "result");
	m->signins_ok = metric_with(f, "ok");
	m->signins_failed = metric_with(f, "failed");
	m->signins_throttled = metric_with(f, "too_many_attempts");
	f = metric_counter("grilld_poller_token_refreshes_total", "Token "
	    "refreshes by result.", "result");
	m->refresh_ok = metric_with(f, "ok");
	m->refresh_failed = metric_with(f, "failed");
	f = metric_counter("grilld_poller_tokens_rejected_total", "Tokens "
	    "Firestore refused (401) before they expired.", NULL);
	m->token_rejected = metric_with(f);
	f = metric_counter("grilld_poller_backfills_total", "Archive "
	    "backfills by result.", "result");
	m->backfills_ok = metric_with(f, "ok");
	m->backfills_failed = metric_with(f, "failed");
	f = metric_gauge("grilld_poller_gaps_open", "Channels with points "
	    "between uploads not yet filled from an archive.", NULL);
	m->gaps_open = metric_with(f);
	f = metric_counter("grilld_poller_gaps_total", "Gaps between uploads "
	    "by what became of them.", "result");
	m->gaps_opened = metric_with(f, "opened");
	m->gaps_filled = metric_with(f, "filled");
	f = metric_counter("grilld_poller_gaps_given_up_total", "Gaps given "
	    "up, by why.", "reason");
	m->gaps_given_up_no_archive = metric_with(f, "no_archive");
	m->gaps_given_up_error = metric_with(f, "archive_error");
	f = metric_counter("grilld_poller_handoff_total", "Readings handed "
	    "off, by destination (duplicate: Redis had it already).", "to");
	m->to_redis = metric_with(f, "redis");
	m->to_spool = metric_with(f, "spool");
	m->replayed = metric_with(f, "replayed");
	m->duplicates = metric_with(f, "duplicate");
	f = metric_gauge("grilld_poller_spool_bytes", "Bytes in the spool.",
	    NULL);
	m->spool_bytes = metric_with(f);
	f = metric_gauge("grilld_poller_spool_records", "Readings in the spool "
	    "waiting for Redis.", NULL);
	m->spool_records = metric_with(f);
	f = metric_gauge("grilld_poller_queue_readings", "Readings in the "
	    "hand-off queue.", NULL);
	m->queue_len = metric_with(f);
	f = metric_counter("grilld_poller_readings_skipped_total", "Points "
	    "not emitted, by reason: future (device time past now + "
	    "ingest.future_skew), behind (a new document point behind the "
	    "channel's seen mark).", "reason");
	m->skipped_future = metric_with(f, "future");
	m->skipped_behind = metric_with(f, "behind");
	f = metric_counter("grilld_poller_clock_steps_total", "Device clocks "
	    "seen stepping back by more than poller's step limit: the "
	    "channel's seen mark was moved back to follow them.", NULL);
	m->clock_back = metric_with(f);
	f = metric_counter("grilld_poller_marks_ignored_total", "Seen marks "
	    "further ahead than now + ingest.future_skew, ignored as "
	    "poisoned.", NULL);
	m->marks_ignored = metric_with(f);
	f = metric_gauge("grilld_poller_stream_full", "1 while the readings "
	    "stream holds ingest.stream_max entries and readings wait in the "
	    "spool (ingest is behind).", NULL);
	m->stream_full = metric_with(f);
	f = metric_counter("grilld_poller_stream_refused_total", "Batches the "
	    "readings stream refused, in part or whole, for want of room.",
	    NULL);
	m->stream_refused = metric_with(f);
	f = metric_gauge("grilld_poller_devices", "Devices known.", NULL);
	m->devices = metric_with(f);
	f = metric_gauge("grilld_poller_channels", "Channels polled.", NULL);
	m->channels = metric_with(f);
}

static int
poller_init(struct poller *p, const struct grilld_conf *cf, char *err,
    size_t errlen)
{
	const char *proj, *end;
	char host[64] = "?";

	memset(p, 0, sizeof(*p));
	p->cf = cf;
	p->started_ms = util_mono_ms();
	TAILQ_INIT(&p->accounts);
	strmap_init(&p->seen);
	gethostname(host, sizeof(host) - 1);
	snprintf(p->id, sizeof(p->id), "%s:%d:%04x", host, (int)getpid(),
	    (unsigned)(backoff_rand() & 0xffff));
	p->k_readings = rkey_dup(cf->redis.prefix, RKEY_READINGS);
	p->k_seen = rkey_dup(cf->redis.prefix, RKEY_POLLER_SEEN);
	p->k_gaps = rkey_dup(cf->redis.prefix, RKEY_POLLER_GAPS);
	p->k_since = rkey_dup(cf->redis.prefix, RKEY_POLLER_SINCE);
	p->k_devices = rkey_dup(cf->redis.prefix, RKEY_DEVICES);
	/* The archives' bucket: {project id}.appspot.com, as the web app's. */
	proj = strstr(cf->thermoworks.firestore_url, "/projects/");
	proj = proj ? proj + 10 : "thermoworks-cloud-production";
	end = strchr(proj, '/');
	p->bucket = util_strdupf("%.*s.appspot.com", end ? (int)(end - proj) :
	    (int)strlen(proj), proj);
	if (p->k_readings == NULL || p->k_seen == NULL || p->k_gaps == NULL ||
	    p->k_since == NULL || p->k_devices == NULL || p->bucket == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/*
 * Lease changes, from the hand-off thread: an account whose lease is
 * held, with the seen marks of that lease merged, becomes active; one
 * whose lease went elsewhere stops and forgets its devices and tokens.
 */
static void
leases_apply(struct poller *p)
{
	struct tw_account *a;
	struct strmap *m;

	TAILQ_FOREACH(a, &p->accounts, entry)
		a->epoch_snap = atomic_load(&a->lease_epoch);
	while ((m = handoff_take_seen(p)) != NULL) {	/* after the epochs */
		emit_seen_merge(p, m);
		archive_seen_free(m);
		free(m);
	}
	TAILQ_FOREACH(a, &p->accounts, entry) {
		bool held = atomic_load(&a->lease) == LEASE_HELD;

		if (held && a->epoch_snap != a->seen_epoch) {
			a->seen_epoch = a->epoch_snap;
			a->active = true;
		} else if (!held && a->active) {
			a->active = false;
			fetch_cancel_account(&p->fetch, a);
			discovery_forget(p, a);
			auth_forget(p, a);
		}
	}
}

static void
poller_free(struct poller *p)
{
	account_free_all(p);
	archive_seen_free(&p->seen);
	free(p->k_readings);
	free(p->k_seen);
	free(p->k_gaps);
	free(p->k_since);
	free(p->k_devices);
	free(p->bucket);
}

int
main(int argc, char *argv[])
{
	struct daemon d;
	struct poller p;
	struct admin *admin;
	const struct grilld_conf *cf;
	struct tw_account *a;
	char err[512];

	daemon_set_check(account_check);
	daemon_setup(&d, "grilld-poller", CONF_POLLER, argc, argv);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("curl_global_init failed");
	/* Its threads read the configuration it started with. */
	cf = daemon_conf_hold(&d);
	if (poller_init(&p, cf, err, sizeof(err)) == -1 ||
	    account_load_all(&p, cf, err, sizeof(err)) == -1)
		fatalx("%s", err);
	pthread_mutex_init(&p.status_mu, NULL);
	metrics_init(&p);
	if (p.naccounts == 0)
		log_warnx("no ThermoWorks account configured (thermoworks.email "
		    "or thermoworks.accounts): nothing to poll");
	if (fetch_init(&p.fetch, &p, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (cf->tracing.otlp_url != NULL && trace_exporter_start(
	    cf->tracing.otlp_url, "grilld-poller", cf->tracing.queue, 0) ==
	    -1)
		log_warnx("tracing: cannot start the exporter");
	if (registry_serve(&p, err, sizeof(err)) == -1)
		fatalx("nng %s: %s", cf->nng.poller_url, err);
	if (handoff_start(&p, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if ((admin = admin_start(cf->poller.admin_listen, poller_ready, &p,
	    err, sizeof(err))) == NULL)
		fatalx("admin server on %s: %s", cf->poller.admin_listen, err);
	log_info("admin on http://%s, %d accounts, every %lld ms",
	    cf->poller.admin_listen, p.naccounts,
	    (long long)cf->poller.interval);
	sched_init(&p.sched, cf->poller.interval, cf->poller.jitter,
	    util_mono_ms());

	while (!daemon_stopping()) {
		int64_t now = util_mono_ms(), wait = POLLER_TICK_MS;

		daemon_heartbeat();
		if (daemon_reload_pending() && daemon_reload(&d) == 0)
			log_info("poller settings other than logging take "
			    "effect at the next start");
		leases_apply(&p);
		TAILQ_FOREACH(a, &p.accounts, entry) {
			if (!a->active)
				continue;
			auth_tick(&p, a, now);
			discovery_tick(&p, a, now);
		}
		cycle_tick(&p, now);
		if (p.sched.next_ms - now < wait)
			wait = p.sched.next_ms > now ? p.sched.next_ms - now :
			    0;
		fetch_run(&p.fetch, wait);
		cycle_pump(&p);
		poller_status_publish(&p);
	}

	log_info("stopping");
	fetch_cancel_all(&p.fetch);
	handoff_stop(&p);
	registry_stop(&p);
	admin_stop(admin);
	trace_exporter_stop();
	fetch_free(&p.fetch);
	registry_free(&p);
	poller_free(&p);
	pthread_mutex_destroy(&p.status_mu);
	curl_global_cleanup();
	daemon_conf_drop(cf);
	daemon_teardown(&d);
	return 0;
}
