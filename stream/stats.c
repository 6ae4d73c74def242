/*
 * stats: the stream's metrics, declared once. Every series pointer is
 * looked up here at start-up and kept, so the hot paths only add.
 *
 *	grilld_stream_clients{transport}		gauge
 *	grilld_stream_events_in_total{type}		events from the ingester
 *	grilld_stream_events_invalid_total		dropped as malformed
 *	grilld_stream_events_out_total{transport}	events written to clients
 *	grilld_stream_replayed_total			events replayed from Redis
 *	grilld_stream_truncated_total			replays told of trimming
 *	grilld_stream_coalesced_total			readings dropped for newer
 *	grilld_stream_disconnects_total{reason}		see client_drop_name()
 *	grilld_stream_refused_total{reason}		full, address, auth, bad,
 *							subscriptions
 *	grilld_stream_queued_events			in all client queues
 *	grilld_stream_queue_depth			histogram, at each offer
 *	grilld_stream_delivery_seconds			histogram: from the
 *		ingester's XADD (the event id's time) to the write
 */
#include "stream.h"

static const double depth_bounds[] = { 0, 1, 2, 4, 8, 16, 32, 64, 128, 256,
	1024, 4096 };

void
stats_init(struct stats *s)
{
	static const char *const kinds[] = { "http", "sse", "ws" };
	static const char *const types[] = { "reading", "device", "alert" };
	static const char *const refused[] = { "full", "address", "auth",
		"bad_request", "subscriptions" };
	struct metric *m;

	m = metric_gauge("grilld_stream_clients", "Connected stream clients.",
	    "transport");
	for (int i = 0; i < 3; i++)
		s->clients[i] = metric_with(m, kinds[i]);
	m = metric_counter("grilld_stream_events_in_total",
	    "Events received from the ingester.", "type");
	for (int i = 0; i < 3; i++)
		s->events_in[i] = metric_with(m, types[i]);
	s->events_bad = metric_with(metric_counter(
	    "grilld_stream_events_invalid_total",
	    "Malformed events dropped (live or replayed).", NULL));
	m = metric_counter("grilld_stream_events_out_total",
	    "Live events written to clients.", "transport");
	s->events_out[0] = metric_with(m, "sse");
	s->events_out[1] = metric_with(m, "ws");
	s->replayed = metric_with(metric_counter(
	    "grilld_stream_replayed_total",
	    "Events replayed from Redis to resuming clients.", NULL));
	s->truncated = metric_with(metric_counter(
	    "grilld_stream_truncated_total",
	    "Replays whose start Redis had already trimmed.", NULL));
	s->coalesced = metric_with(metric_counter(
	    "grilld_stream_coalesced_total",
	    "Readings dropped from behind clients' queues for newer ones.",
	    NULL));
	m = metric_counter("grilld_stream_disconnects_total",
	    "Stream clients disconnected, by reason.", "reason");
	for (int i = 0; i < DROP_NREASONS; i++)
		s->drops[i] = metric_with(m, client_drop_name(
		    (enum drop_reason)i));
	m = metric_counter("grilld_stream_refused_total",
	    "Stream requests refused, by reason.", "reason");
	for (size_t i = 0; i < ARRAY_LEN(refused); i++)
		s->refused[i] = metric_with(m, refused[i]);
	s->queued = metric_with(metric_gauge("grilld_stream_queued_events",
	    "Events waiting in client queues.", NULL));
	s->queue_depth = metric_with(metric_histogram(
	    "grilld_stream_queue_depth",
	    "A client's queue length when an event is queued.", NULL,
	    depth_bounds, ARRAY_LEN(depth_bounds)));
	s->latency = metric_with(metric_histogram(
	    "grilld_stream_delivery_seconds",
	    "From the ingester storing an event to its write to a client.",
	    NULL, metric_latency_bounds, metric_latency_nbounds));
}
