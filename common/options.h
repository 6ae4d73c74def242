/*
 * options: every configuration option of every grilld daemon, in one
 * table (options.c), and the struct they fill.
 *
 * One file holds the settings of all daemons (and one environment can
 * hold them all), so every daemon knows every key: a typo is an error
 * wherever it is, and each daemon reads the sections it needs (the `who`
 * mask of each option). Durations are in milliseconds, sizes in bytes.
 */
#ifndef GRILLD_OPTIONS_H
#define GRILLD_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

struct grilld_conf {
	struct {
		char	*level;
		char	*format;
		bool	 core_dumps;
	} log;
	struct {
		char	*url;
		char	*password;
		int64_t	 connect_timeout;
		int64_t	 command_timeout;
		int64_t	 wait_replicas;
		int64_t	 wait_timeout;
		char	*prefix;
	} redis;
	struct {
		char	*url;
		char	*database;
		char	*username;
		char	*password;
		int64_t	 timeout;
		char	*ca_file;
	} influx;
	struct {
		char	*otlp_url;
		double	 sample_ratio;
		int64_t	 queue;
	} tracing;
	struct {
		char	*events_url;
		char	*poller_url;
		char	*ingest_url;
		char	*stream_url;
		int64_t	 timeout;
	} nng;
	struct {
		char	*auth_url;
		char	*token_url;
		char	*firestore_url;
		char	*storage_url;
		char	*api_key;
		char	*email;
		char	*password;
		char	*password_file;
		char	*refresh_token_file;
		const struct cnode *accounts;
	} thermoworks;
	struct {
		char	*admin_listen;
		int64_t	 interval;
		double	 jitter;
		int64_t	 timeout;
		int64_t	 concurrency;
		int64_t	 stale_after;
		bool	 backfill;
		bool	 schedule;
		char	*spool_path;
		int64_t	 spool_max;
		int64_t	 lease_ttl;
	} poller;
	struct {
		char	*admin_listen;
		char	*group;
		char	*consumer;
		int64_t	 batch_size;
		int64_t	 batch_wait;
		int64_t	 hold_max;
		int64_t	 claim_idle;
		int64_t	 max_deliveries;
		int64_t	 stream_max;
		int64_t	 events_max;
		int64_t	 stale_after;
		int64_t	 future_skew;
		char	*retention_raw;
		char	*retention_hourly;
		char	*retention_daily;
		char	*retention_monthly;
		int64_t	 cq_interval;
		const struct cnode *ranges;
		const struct cnode *webhooks;
		char	*gzip;
		int64_t	 alerts_max;
		int64_t	 deadletter_max;
	} ingest;
	struct {
		char	*listen;
		char	*keys;
		char	*keys_file;
		bool	 read_auth;
		int64_t	 threads;
		int64_t	 max_body;
		int64_t	 max_batch;
		int64_t	 max_points;
		int64_t	 request_timeout;
		double	 rate;
		int64_t	 burst;
		char	*cors_origins;
		int64_t	 stale_after;
		bool	 latest_cache;
		int64_t	 io_timeout;
		int64_t	 keep_alive;
		char	*tls_cert;
		char	*tls_key;
		char	*stream_upstream;	/* ws_proxy.c */
		int64_t	 ws_proxy_max;
		char	*trusted_proxies;
	} api;
	struct {
		char	*feed;
		char	*listen;
		int64_t	 heartbeat;
		int64_t	 retry;
		int64_t	 queue_max;
		int64_t	 max_clients;
		int64_t	 per_address;
		int64_t	 max_subscriptions;
		int64_t	 max_message;
		int64_t	 idle_timeout;
		int64_t	 write_timeout;
		int64_t	 threads;
		int64_t	 sndbuf;
		char	*page_dir;
		int64_t	 request_timeout;
		char	*public_url;
		int64_t	 max_conns;
		int64_t	 per_address_conns;
	} stream;
	struct {
		char	*listen;
		char	*admin_listen;
		int64_t	 seed;
		int64_t	 token_lifetime;
		double	 speed;
		double	 time_scale;
		char	*api_key;
		int64_t	 devices;
		int64_t	 threads;
		char	*state_file;
		const struct cnode *accounts;
		const struct cnode *faults;
	} twsim;
};

extern const struct conf_opt	grilld_options[];
extern const size_t		grilld_noptions;

#endif
