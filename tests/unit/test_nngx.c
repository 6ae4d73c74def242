/*
 * test_nngx: pub/sub with topic filters over inproc and TCP, the reply
 * server under concurrent requests, and time-outs that do not hang.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "msg.h"
#include "nngx.h"
#include "unit.h"

static void
tcp_url(char *url, size_t len)
{
	snprintf(url, len, "tcp://127.0.0.1:%d", unit_free_port());
}

static void
test_open_errors(void)
{
	nng_socket s, s2;
	char err[NNGX_ERRLEN], url[64];

	CHECK(nngx_proto_valid("pub") && nngx_proto_valid("pull"));
	CHECK(!nngx_proto_valid("pair") && !nngx_proto_valid(NULL));
	CHECK_INT(nngx_listen(&s, "dealer", "inproc://x", err, sizeof(err)),
	    -1);
	CHECK(strstr(err, "unknown socket protocol \"dealer\"") != NULL);
	CHECK_INT(nngx_listen(&s, "rep", "bogus://nowhere", err, sizeof(err)),
	    -1);
	CHECK(strstr(err, "listen bogus://nowhere: ") != NULL);
	CHECK_INT(nng_socket_id(s), -1);	/* not a socket */
	CHECK_INT(nngx_dial(&s, "req", "tcp://", err, sizeof(err)), -1);
	CHECK(strstr(err, "dial tcp://: ") != NULL);

	tcp_url(url, sizeof(url));
	CHECK_INT(nngx_listen(&s, "pull", url, err, sizeof(err)), 0);
	CHECK_INT(nngx_listen(&s2, "pull", url, err, sizeof(err)), -1);
	CHECK(strstr(err, "Address in use") != NULL);
	printf("# %s\n", err);
	nng_close(s);
	CHECK(nngx_strerror(NNG_ETIMEDOUT) == nngx_strerror(-NNG_ETIMEDOUT));
	CHECK_INT(nngx_set_timeouts(s, -5, 10, err, sizeof(err)), -1);
}

/* Publishes reading, alert, reading, alert... until the sub sees one. */
static bool
wait_connected(nng_socket pub, nng_socket sub)
{
	struct buf b;
	cJSON *o = cJSON_CreateObject();
	bool ok = false;

	buf_init(&b);
	nngx_set_timeouts(sub, NNGX_FOREVER, 20, NULL, 0);
	for (int i = 0; i < 250 && !ok; i++) {
		nngx_pub_json(pub, MSG_ALERT, o, NULL, 0);
		ok = nngx_recv(sub, &b, NULL, 0) == 1;
	}
	/* Drain whatever else got through. */
	while (nngx_recv(sub, &b, NULL, 0) == 1)
		;
	cJSON_Delete(o);
	buf_free(&b);
	return ok;
}

static void
pubsub(const char *url)
{
	nng_socket pub, sub;
	char err[NNGX_ERRLEN];
	enum msg_type types[] = { MSG_ALERT, MSG_DEVICE };
	struct buf b, other;
	int alerts = 0, devices = 0, n;
	int64_t t0;

	buf_init(&b);
	buf_init(&other);
	CHECK_INT(nngx_listen(&pub, "pub", url, err, sizeof(err)), 0);
	nng_socket_set_int(pub, NNG_OPT_SENDBUF, 1024);
	CHECK_INT(nngx_sub_dial(&sub, url, types, ARRAY_LEN(types), err,
	    sizeof(err)), 0);
	nng_socket_set_int(sub, NNG_OPT_RECVBUF, 1024);
	CHECK(wait_connected(pub, sub));

	/* Interleave wanted and unwanted types; also another version. */
	msg_encode(&other, MSG_ALERT, "{}", 2);
	other.data[2] = MSG_VERSION + 1;
	for (int i = 0; i < 50; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "i", i);
		CHECK_INT(nngx_pub_json(pub, MSG_READING, o, err,
		    sizeof(err)), 0);
		CHECK_INT(nngx_pub_json(pub, i % 2 ? MSG_ALERT : MSG_DEVICE,
		    o, err, sizeof(err)), 0);
		CHECK_INT(nngx_pub_json(pub, MSG_STATUS_REP, o, err,
		    sizeof(err)), 0);
		CHECK_INT(nngx_pub_send(pub, other.data, other.len, err,
		    sizeof(err)), 0);
		cJSON_Delete(o);
	}
	nngx_set_timeouts(sub, NNGX_FOREVER, 300, NULL, 0);
	while ((n = nngx_recv(sub, &b, err, sizeof(err))) == 1) {
		enum msg_type t;
		cJSON *body;

		if (msg_decode(b.data, b.len, &t, &body, err,
		    sizeof(err)) != 0) {
			unit_fail(__FILE__, __LINE__, "decode: %s", err);
			continue;
		}
		if (t == MSG_ALERT)
			alerts++;
		else if (t == MSG_DEVICE)
			devices++;
		else
			unit_fail(__FILE__, __LINE__, "got a %s",
			    msg_type_name(t));
		cJSON_Delete(body);
	}
	CHECK_INT(n, 0);	/* ended by the time-out */
	CHECK_INT(alerts, 25);
	CHECK_INT(devices, 25);

	/*
	 * A subscriber that never reads cannot make publishing block: its
	 * queue fills and nng drops for it.
	 */
	t0 = util_mono_ms();
	for (int i = 0; i < 20000; i++)
		if (nngx_pub_send(pub, b.data, b.len, NULL, 0) != 0)
			break;
	CHECK(util_mono_ms() - t0 < 10000);	/* no waiting, only CPU */
	printf("# %s: 20000 publishes to a stuck subscriber in %lld ms\n",
	    url, (long long)(util_mono_ms() - t0));

	/*
	 * Let the flood settle and drain it before closing: nng 1.5.2 may
	 * leak a message still in flight when a socket closes (nng issues
	 * #1643 and #1713, fixed in 1.7), which the sanitizers report.
	 */
	util_sleep_ms(100);
	nngx_set_timeouts(sub, NNGX_FOREVER, 100, NULL, 0);
	while (nngx_recv(sub, &b, NULL, 0) == 1)
		;
	nng_close(sub);
	nng_close(pub);
	/* A closed socket is an error, not a hang. */
	CHECK_INT(nngx_recv(sub, &b, err, sizeof(err)), -1);
	CHECK(strstr(err, "receive: ") != NULL);
	CHECK_INT(nngx_pub_send(pub, "x", 1, err, sizeof(err)), -1);
	buf_free(&b);
	buf_free(&other);
}

static void
test_pubsub_inproc(void)
{
	pubsub("inproc://test-pubsub");
}

static void
test_pubsub_tcp(void)
{
	char url[64];

	tcp_url(url, sizeof(url));
	pubsub(url);
}

static void
test_sub_before_pub(void)
{
	/* The subscriber starts first; nng redials until the pub is up. */
	nng_socket pub, sub;
	char url[64], err[NNGX_ERRLEN];
	enum msg_type t = MSG_READING;

	tcp_url(url, sizeof(url));
	CHECK_INT(nngx_sub_dial(&sub, url, &t, 1, err, sizeof(err)), 0);
	util_sleep_ms(300);
	CHECK_INT(nngx_listen(&pub, "pub", url, err, sizeof(err)), 0);
	{
		struct buf b;
		cJSON *o = cJSON_CreateObject();
		bool got = false;

		buf_init(&b);
		nngx_set_timeouts(sub, NNGX_FOREVER, 20, NULL, 0);
		for (int i = 0; i < 300 && !got; i++) {
			nngx_pub_json(pub, MSG_READING, o, NULL, 0);
			got = nngx_recv(sub, &b, NULL, 0) == 1;
		}
		CHECK(got);
		CHECK(b.len > 4 && b.data[3] == MSG_READING);
		cJSON_Delete(o);
		buf_free(&b);
	}
	CHECK_INT(nngx_sub_subscribe(sub, 0, err, sizeof(err)), -1);
	nng_close(sub);
	nng_close(pub);
}

/* The reply server's handler: echoes the "n" of a status request. */
struct srvstate {
	atomic_int	inflight;
	atomic_int	max_inflight;
	atomic_int	served;
	int		sleep_ms;
};

static int
handler(const void *req, size_t len, struct buf *reply, void *arg)
{
	struct srvstate *st = arg;
	enum msg_type t;
	cJSON *body, *rep;
	char err[MSG_ERRLEN];
	int now, max, rv = 0;

	now = atomic_fetch_add(&st->inflight, 1) + 1;
	max = atomic_load(&st->max_inflight);
	while (now > max &&
	    !atomic_compare_exchange_weak(&st->max_inflight, &max, now))
		;
	if (msg_decode(req, len, &t, &body, err, sizeof(err)) == -1) {
		msg_encode_error(reply, err);
		goto out;
	}
	if (t != MSG_STATUS_REQ) {
		rv = -1;
		cJSON_Delete(body);
		goto out;
	}
	if (st->sleep_ms > 0)
		util_sleep_ms(st->sleep_ms);
	rep = cJSON_CreateObject();
	cJSON_AddStringToObject(rep, "daemon", "test");
	cJSON_AddBoolToObject(rep, "ready", 1);
	cJSON_AddItemToObject(rep, "n", cJSON_DetachItemFromObject(body,
	    "n"));
	msg_encode_json(reply, MSG_STATUS_REP, rep);
	cJSON_Delete(rep);
	cJSON_Delete(body);
out:
	atomic_fetch_add(&st->served, 1);
	atomic_fetch_sub(&st->inflight, 1);
	return rv;
}

/* Sends a status request numbered n and checks the echo. */
static bool
status_request(const char *url, nng_socket *sock, int n, char *err,
    size_t errlen)
{
	struct buf req;
	void *rep;
	size_t replen;
	enum msg_type t = 0;
	cJSON *body = NULL;
	bool ok;
	int rv;

	buf_init(&req);
	buf_printf(&req, "{\"n\":%d}", n);
	{
		struct buf m;

		buf_init(&m);
		msg_encode(&m, MSG_STATUS_REQ, req.data, req.len);
		if (sock != NULL)
			rv = nngx_request_sock(*sock, m.data, m.len, &rep,
			    &replen, 5000, err, errlen);
		else
			rv = nngx_request(url, m.data, m.len, &rep, &replen,
			    5000, err, errlen);
		buf_free(&m);
	}
	buf_free(&req);
	if (rv != 0)
		return false;
	ok = msg_decode(rep, replen, &t, &body, err, errlen) == 0 &&
	    t == MSG_STATUS_REP &&
	    cJSON_GetNumberValue(cJSON_GetObjectItem(body, "n")) == n;
	cJSON_Delete(body);
	CHECK(((char *)rep)[replen] == '\0');
	free(rep);
	return ok;
}

struct client {
	const char	*url;
	nng_socket	*sock;		/* shared, or NULL: one per request */
	int		 base;
	int		 ok;
	char		 err[NNGX_ERRLEN];
};

#define NCLIENTS	8
#define NREQUESTS	15

static void *
client_main(void *arg)
{
	struct client *c = arg;

	for (int i = 0; i < NREQUESTS; i++)
		if (status_request(c->url, c->sock, c->base + i, c->err,
		    sizeof(c->err)))
			c->ok++;
	return NULL;
}

static void
reqrep(const char *url)
{
	struct srvstate st = { .sleep_ms = 10 };
	struct nngx_rep *srv;
	nng_socket req;
	char err[NNGX_ERRLEN];
	pthread_t th[NCLIENTS];
	struct client cl[NCLIENTS];
	int64_t t0;
	int total = 0;

	srv = nngx_rep_serve(url, handler, &st, 4, err, sizeof(err));
	CHECK(srv != NULL);
	if (srv == NULL)
		return;
	CHECK(nngx_rep_serve(url, handler, &st, 4, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "Address in use") != NULL);

	CHECK_INT(nngx_dial(&req, "req", url, err, sizeof(err)), 0);
	CHECK(status_request(url, &req, 7, err, sizeof(err)));

	/* Half the clients share a socket, half dial for each request. */
	t0 = util_mono_ms();
	for (int i = 0; i < NCLIENTS; i++) {
		cl[i] = (struct client){ .url = url,
		    .sock = i % 2 ? &req : NULL, .base = i * 1000 };
		pthread_create(&th[i], NULL, client_main, &cl[i]);
	}
	for (int i = 0; i < NCLIENTS; i++) {
		pthread_join(th[i], NULL);
		total += cl[i].ok;
		if (cl[i].ok != NREQUESTS)
			unit_fail(__FILE__, __LINE__, "client %d: %d of %d: %s",
			    i, cl[i].ok, NREQUESTS, cl[i].err);
	}
	CHECK_INT(total, NCLIENTS * NREQUESTS);
	printf("# %s: %d requests from %d threads in %lld ms, at most %d "
	    "at once\n", url, total, NCLIENTS,
	    (long long)(util_mono_ms() - t0), atomic_load(&st.max_inflight));
	CHECK(atomic_load(&st.max_inflight) >= 2);
	CHECK(atomic_load(&st.max_inflight) <= 4);

	/* A handler's -1 becomes a MSG_ERROR_REP; so does a bad message. */
	{
		struct buf m;
		void *rep;
		size_t replen;
		enum msg_type t;
		cJSON *body;

		buf_init(&m);
		msg_encode(&m, MSG_DEVICES_REQ, "{}", 2);
		CHECK_INT(nngx_request_sock(req, m.data, m.len, &rep, &replen,
		    2000, err, sizeof(err)), 0);
		CHECK_INT(msg_decode(rep, replen, &t, &body, NULL, 0), 0);
		CHECK_INT(t, MSG_ERROR_REP);
		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(body,
		    "error")), "request failed");
		cJSON_Delete(body);
		free(rep);
		CHECK_INT(nngx_request_sock(req, "junk", 4, &rep, &replen,
		    2000, err, sizeof(err)), 0);
		CHECK_INT(msg_decode(rep, replen, &t, &body, NULL, 0), 0);
		CHECK_INT(t, MSG_ERROR_REP);
		CHECK(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(body,
		    "error")), "short message") != NULL);
		cJSON_Delete(body);
		free(rep);
		buf_free(&m);
	}
	nng_close(req);
	nngx_rep_stop(srv);
	/* Stopped: the address is free again. */
	srv = nngx_rep_serve(url, handler, &st, 1, err, sizeof(err));
	CHECK(srv != NULL);
	nngx_rep_stop(srv);
}

static void
test_reqrep_inproc(void)
{
	reqrep("inproc://test-reqrep");
}

static void
test_reqrep_tcp(void)
{
	char url[64];

	tcp_url(url, sizeof(url));
	reqrep(url);
}

static void
test_rep_serve_errors(void)
{
	char err[NNGX_ERRLEN];
	struct srvstate st = { 0 };

	CHECK(nngx_rep_serve("inproc://e", handler, &st, 0, err,
	    sizeof(err)) == NULL);
	CHECK(nngx_rep_serve("inproc://e", NULL, &st, 1, err,
	    sizeof(err)) == NULL);
	CHECK(nngx_rep_serve("nope://e", handler, &st, 2, err,
	    sizeof(err)) == NULL);
	CHECK(strstr(err, "listen nope://e") != NULL);
	nngx_rep_stop(NULL);
}

/* A request must give up at its time-out, whatever the peer does. */
static void
timed_request(const char *url, nng_socket *sock, int timeout_ms)
{
	char err[NNGX_ERRLEN] = "";
	void *rep = (void *)&err;
	size_t replen = 99;
	int64_t t0 = util_mono_ms(), dt;
	int rv;

	if (sock != NULL)
		rv = nngx_request_sock(*sock, "x", 1, &rep, &replen,
		    timeout_ms, err, sizeof(err));
	else
		rv = nngx_request(url, "x", 1, &rep, &replen, timeout_ms, err,
		    sizeof(err));
	dt = util_mono_ms() - t0;
	CHECK_INT(rv, -1);
	CHECK(rep == NULL);
	CHECK_INT(replen, 0);
	CHECK(strstr(err, "Timed out") != NULL);
	CHECK(dt >= timeout_ms - 5);
	CHECK(dt < timeout_ms + 2000);	/* late on a loaded box, never hung */
	printf("# %s: \"%s\" after %lld ms\n", url, err, (long long)dt);
}

static void
test_request_timeout(void)
{
	char url[64], ipc[300];
	struct srvstate st = { .sleep_ms = 600 };
	struct nngx_rep *srv;
	nng_socket req;
	char err[NNGX_ERRLEN];
	void *rep;
	size_t replen;

	/* Nothing listens. */
	tcp_url(url, sizeof(url));
	timed_request(url, NULL, 300);
	snprintf(ipc, sizeof(ipc), "ipc://%s/nobody.sock", unit_tmpdir());
	timed_request(ipc, NULL, 200);
	timed_request("inproc://nobody", NULL, 200);
	CHECK_INT(nngx_dial(&req, "req", url, err, sizeof(err)), 0);
	timed_request(url, &req, 250);
	nng_close(req);

	/* Someone listens but answers too slowly. */
	srv = nngx_rep_serve(url, handler, &st, 2, err, sizeof(err));
	CHECK(srv != NULL);
	{
		struct buf m;
		int64_t t0 = util_mono_ms();

		buf_init(&m);
		msg_encode(&m, MSG_STATUS_REQ, "{\"n\":1}", 7);
		CHECK_INT(nngx_request(url, m.data, m.len, &rep, &replen, 200,
		    err, sizeof(err)), -1);
		printf("# slow server: \"%s\" after %lld ms\n", err,
		    (long long)(util_mono_ms() - t0));
		CHECK(util_mono_ms() - t0 < 2200);
		CHECK(strstr(err, "reply: Timed out") != NULL);
		buf_free(&m);
	}
	/* Stopping waits for the handler still sleeping. */
	nngx_rep_stop(srv);
	CHECK(nngx_request(url, "x", 1, &rep, &replen, 0, err,
	    sizeof(err)) == -1);
	CHECK(strstr(err, "time-out must be > 0") != NULL);
}

static void
test_recv_timeout(void)
{
	nng_socket pull;
	struct buf b;
	char err[NNGX_ERRLEN];
	int64_t t0;

	buf_init(&b);
	CHECK_INT(nngx_listen(&pull, "pull", "inproc://pull", err,
	    sizeof(err)), 0);
	CHECK_INT(nngx_set_timeouts(pull, 100, 100, err, sizeof(err)), 0);
	t0 = util_mono_ms();
	CHECK_INT(nngx_recv(pull, &b, err, sizeof(err)), 0);
	CHECK(util_mono_ms() - t0 >= 95);
	CHECK_INT(b.len, 0);
	nng_close(pull);
	buf_free(&b);
}

int
main(void)
{
	UNIT_RUN(test_open_errors);
	UNIT_RUN(test_pubsub_inproc);
	UNIT_RUN(test_pubsub_tcp);
	UNIT_RUN(test_sub_before_pub);
	UNIT_RUN(test_reqrep_inproc);
	UNIT_RUN(test_reqrep_tcp);
	UNIT_RUN(test_rep_serve_errors);
	UNIT_RUN(test_request_timeout);
	UNIT_RUN(test_recv_timeout);
	nng_fini();	/* nng's threads, so that valgrind sees no leak */
	return unit_done();
}
