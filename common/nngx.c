#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "log.h"
#include "nngx.h"

static const struct {
	const char	*name;
	int		(*open)(nng_socket *);
} nngx_protos[] = {
	{ "pub", nng_pub0_open },
	{ "sub", nng_sub0_open },
	{ "req", nng_req0_open },
	{ "rep", nng_rep0_open },
	{ "push", nng_push0_open },
	{ "pull", nng_pull0_open },
};

/* One reply worker: a context and the aio whose callback drives it. */
enum nngx_wstate { NNGX_W_INIT, NNGX_W_RECV, NNGX_W_SEND };

struct nngx_work {
	enum nngx_wstate	 state;
	nng_aio			*aio;
	nng_ctx			 ctx;
	struct nngx_rep		*srv;
	struct buf		 reply;
};

struct nngx_rep {
	nng_socket		 sock;
	atomic_bool		 stopping;
	nngx_handler_fn		 fn;
	void			*arg;
	int			 nworkers;
	struct nngx_work	*works;
	struct log_limit	 loglim;
};

/* Replies larger than this are not kept between requests. */
#define NNGX_REPLY_KEEP	(64 * 1024)

static void	nngx_err(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	nngx_msg(nng_msg **, const void *, size_t);
static int	nngx_request_ctx(nng_socket, const char *, const void *,
		    size_t, void **, size_t *, int, char *, size_t);
static void	nngx_work_cb(void *);

const char *
nngx_strerror(int rv)
{
	return nng_strerror(rv < 0 ? -rv : rv);
}

static void
nngx_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* A new message holding a copy of the bytes. */
static int
nngx_msg(nng_msg **msgp, const void *p, size_t len)
{
	int rv;

	if ((rv = nng_msg_alloc(msgp, 0)) != 0)
		return rv;
	if (len > 0 && (rv = nng_msg_append(*msgp, p, len)) != 0) {
		nng_msg_free(*msgp);
		*msgp = NULL;
	}
	return rv;
}

bool
nngx_proto_valid(const char *proto)
{
	for (size_t i = 0; proto != NULL && i < ARRAY_LEN(nngx_protos); i++)
		if (strcmp(nngx_protos[i].name, proto) == 0)
			return true;
	return false;
}

int
nngx_open(nng_socket *sock, const char *proto, char *err, size_t errlen)
{
	int rv;

	*sock = (nng_socket)NNG_SOCKET_INITIALIZER;
	for (size_t i = 0; proto != NULL && i < ARRAY_LEN(nngx_protos); i++) {
		if (strcmp(nngx_protos[i].name, proto) != 0)
			continue;
		if ((rv = nngx_protos[i].open(sock)) != 0) {
			nngx_err(err, errlen, "open %s socket: %s", proto,
			    nng_strerror(rv));
			*sock = (nng_socket)NNG_SOCKET_INITIALIZER;
			return -1;
		}
		/*
		 * A pub socket drops what a subscriber's queue cannot take;
		 * nng's default queue is small enough that a burst of events
		 * overflows it. Give pub and sub room for NNGX_PUBSUB_BUF.
		 */
		if ((strcmp(proto, "pub") == 0 &&
		    (rv = nng_socket_set_int(*sock, NNG_OPT_SENDBUF,
		    NNGX_PUBSUB_BUF)) != 0) ||
		    (strcmp(proto, "sub") == 0 &&
		    (rv = nng_socket_set_int(*sock, NNG_OPT_RECVBUF,
		    NNGX_PUBSUB_BUF)) != 0)) {
			nngx_err(err, errlen, "%s socket buffer: %s", proto,
			    nng_strerror(rv));
			nng_close(*sock);
			*sock = (nng_socket)NNG_SOCKET_INITIALIZER;
			return -1;
		}
		return 0;
	}
	nngx_err(err, errlen, "unknown socket protocol \"%s\"",
	    proto ? proto : "(null)");
	return -1;
}

int
nngx_listen(nng_socket *sock, const char *proto, const char *url, char *err,
    size_t errlen)
{
	int rv;

	if (nngx_open(sock, proto, err, errlen) == -1)
		return -1;
	if ((rv = nng_listen(*sock, url, NULL, 0)) != 0) {
		nngx_err(err, errlen, "listen %s: %s", url, nng_strerror(rv));
		goto fail_close;
	}
	return 0;

fail_close:
	nng_close(*sock);
	*sock = (nng_socket)NNG_SOCKET_INITIALIZER;
	return -1;
}

int
nngx_dial(nng_socket *sock, const char *proto, const char *url, char *err,
    size_t errlen)
{
	int rv;

	if (nngx_open(sock, proto, err, errlen) == -1)
		return -1;
	/* Dialers created later inherit these from the socket. */
	if ((rv = nng_socket_set_ms(*sock, NNG_OPT_RECONNMINT,
	    NNGX_RECONN_MIN_MS)) != 0 ||
	    (rv = nng_socket_set_ms(*sock, NNG_OPT_RECONNMAXT,
	    NNGX_RECONN_MAX_MS)) != 0) {
		nngx_err(err, errlen, "dial %s: reconnect times: %s", url,
		    nng_strerror(rv));
		goto fail_close;
	}
	if ((rv = nng_dial(*sock, url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
		nngx_err(err, errlen, "dial %s: %s", url, nng_strerror(rv));
		goto fail_close;
	}
	return 0;

fail_close:
	nng_close(*sock);
	*sock = (nng_socket)NNG_SOCKET_INITIALIZER;
	return -1;
}

int
nngx_set_timeouts(nng_socket sock, int send_ms, int recv_ms, char *err,
    size_t errlen)
{
	int rv;

	if (send_ms < NNGX_FOREVER || recv_ms < NNGX_FOREVER) {
		nngx_err(err, errlen, "set time-outs: negative time-out");
		return -1;
	}
	if ((rv = nng_socket_set_ms(sock, NNG_OPT_SENDTIMEO, send_ms)) != 0 ||
	    (rv = nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, recv_ms)) != 0) {
		nngx_err(err, errlen, "set time-outs: %s", nng_strerror(rv));
		return -1;
	}
	return 0;
}

int
nngx_pub_send(nng_socket sock, const void *p, size_t len, char *err,
    size_t errlen)
{
	nng_msg *msg;
	int rv;

	if ((rv = nngx_msg(&msg, p, len)) != 0) {
		nngx_err(err, errlen, "publish: %s", nng_strerror(rv));
		return -1;
	}
	/* The socket takes the message only when the send succeeds. */
	if ((rv = nng_sendmsg(sock, msg, NNG_FLAG_NONBLOCK)) != 0) {
		nng_msg_free(msg);
		nngx_err(err, errlen, "publish: %s", nng_strerror(rv));
		return -1;
	}
	return 0;
}

int
nngx_pub_json(nng_socket sock, enum msg_type type, const cJSON *body,
    char *err, size_t errlen)
{
	struct buf b;
	int rv;

	buf_init(&b);
	if (msg_encode_json(&b, type, body) == -1) {
		nngx_err(err, errlen, "publish: cannot encode a %s message",
		    msg_type_name(type));
		buf_free(&b);
		return -1;
	}
	rv = nngx_pub_send(sock, b.data, b.len, err, errlen);
	buf_free(&b);
	return rv;
}

int
nngx_sub_subscribe(nng_socket sock, enum msg_type type, char *err,
    size_t errlen)
{
	uint8_t topic[MSG_TOPIC_LEN];
	int rv;

	if (!msg_type_valid(type)) {
		nngx_err(err, errlen, "subscribe: unknown message type %d",
		    (int)type);
		return -1;
	}
	msg_topic(type, topic);
	if ((rv = nng_socket_set(sock, NNG_OPT_SUB_SUBSCRIBE, topic,
	    sizeof(topic))) != 0) {
		nngx_err(err, errlen, "subscribe to %s: %s",
		    msg_type_name(type), nng_strerror(rv));
		return -1;
	}
	return 0;
}

int
nngx_sub_dial(nng_socket *sock, const char *url, const enum msg_type *types,
    size_t ntypes, char *err, size_t errlen)
{
	if (nngx_dial(sock, "sub", url, err, errlen) == -1)
		return -1;
	for (size_t i = 0; i < ntypes; i++) {
		if (nngx_sub_subscribe(*sock, types[i], err, errlen) == -1) {
			nng_close(*sock);
			*sock = (nng_socket)NNG_SOCKET_INITIALIZER;
			return -1;
		}
	}
	return 0;
}

int
nngx_recv(nng_socket sock, struct buf *b, char *err, size_t errlen)
{
	nng_msg *msg;
	int rv;

	buf_reset(b);
	if ((rv = nng_recvmsg(sock, &msg, 0)) != 0) {
		if (rv == NNG_ETIMEDOUT)
			return 0;
		nngx_err(err, errlen, "receive: %s", nng_strerror(rv));
		return -1;
	}
	rv = buf_append(b, nng_msg_body(msg), nng_msg_len(msg));
	nng_msg_free(msg);
	if (rv == -1) {
		nngx_err(err, errlen, "receive: out of memory");
		return -1;
	}
	return 1;
}

/*
 * One request through a context of its own, so that concurrent callers
 * on one socket each get their own reply. The aio's time-outs share one
 * deadline.
 */
static int
nngx_request_ctx(nng_socket sock, const char *label, const void *req,
    size_t reqlen, void **rep, size_t *replen, int timeout_ms, char *err,
    size_t errlen)
{
	nng_ctx ctx;
	nng_aio *aio;
	nng_msg *msg;
	int64_t deadline = util_mono_ms() + timeout_ms, left;
	const char *what = "send";
	char *copy;
	size_t len;
	int rv;

	*rep = NULL;
	if (replen != NULL)
		*replen = 0;
	if (timeout_ms <= 0) {
		nngx_err(err, errlen, "request to %s: time-out must be > 0",
		    label);
		return -1;
	}
	if ((rv = nng_ctx_open(&ctx, sock)) != 0) {
		nngx_err(err, errlen, "request to %s: %s", label,
		    nng_strerror(rv));
		return -1;
	}
	if ((rv = nng_aio_alloc(&aio, NULL, NULL)) != 0)
		goto fail_close_ctx;
	if ((rv = nngx_msg(&msg, req, reqlen)) != 0)
		goto fail_free_aio;

	nng_aio_set_msg(aio, msg);
	nng_aio_set_timeout(aio, timeout_ms);
	nng_ctx_send(ctx, aio);
	nng_aio_wait(aio);
	if ((rv = nng_aio_result(aio)) != 0) {
		if ((msg = nng_aio_get_msg(aio)) != NULL)
			nng_msg_free(msg);
		goto fail_free_aio;
	}

	what = "reply";
	if ((left = deadline - util_mono_ms()) <= 0) {
		rv = NNG_ETIMEDOUT;
		goto fail_free_aio;
	}
	nng_aio_set_timeout(aio, (nng_duration)left);
	nng_ctx_recv(ctx, aio);
	nng_aio_wait(aio);
	if ((rv = nng_aio_result(aio)) != 0)
		goto fail_free_aio;
	msg = nng_aio_get_msg(aio);
	len = nng_msg_len(msg);
	if ((copy = malloc(len + 1)) == NULL) {
		nng_msg_free(msg);
		rv = NNG_ENOMEM;
		goto fail_free_aio;
	}
	if (len > 0)
		memcpy(copy, nng_msg_body(msg), len);
	copy[len] = '\0';
	nng_msg_free(msg);
	nng_aio_free(aio);
	nng_ctx_close(ctx);
	*rep = copy;
	if (replen != NULL)
		*replen = len;
	return 0;

fail_free_aio:
	nng_aio_free(aio);
fail_close_ctx:
	nng_ctx_close(ctx);
	nngx_err(err, errlen, "request to %s: %s: %s", label, what,
	    nng_strerror(rv));
	return -1;
}

int
nngx_request_sock(nng_socket sock, const void *req, size_t reqlen,
    void **rep, size_t *replen, int timeout_ms, char *err, size_t errlen)
{
	return nngx_request_ctx(sock, "req socket", req, reqlen, rep, replen,
	    timeout_ms, err, errlen);
}

int
nngx_request(const char *url, const void *req, size_t reqlen, void **rep,
    size_t *replen, int timeout_ms, char *err, size_t errlen)
{
	nng_socket sock;
	int rv;

	*rep = NULL;
	if (nngx_dial(&sock, "req", url, err, errlen) == -1)
		return -1;
	rv = nngx_request_ctx(sock, url, req, reqlen, rep, replen, timeout_ms,
	    err, errlen);
	nng_close(sock);
	return rv;
}

/* Drops the message a worker holds, if any. */
static void
nngx_work_drop(struct nngx_work *w)
{
	nng_msg *msg;

	if ((msg = nng_aio_get_msg(w->aio)) != NULL)
		nng_msg_free(msg);
	nng_aio_set_msg(w->aio, NULL);
}

/*
 * The state machine of one reply worker: receive a request, hand it to
 * the handler, send the reply, receive again. Nothing in it blocks but
 * the handler. Once the server is stopping a worker starts no new
 * operation: nngx_rep_stop() then waits for it with nng_aio_stop().
 */
static void
nngx_work_cb(void *arg)
{
	struct nngx_work *w = arg;
	struct nngx_rep *srv = w->srv;
	nng_msg *msg;
	int rv;

	switch (w->state) {
	case NNGX_W_INIT:
		w->state = NNGX_W_RECV;
		nng_ctx_recv(w->ctx, w->aio);
		break;
	case NNGX_W_RECV:
		if ((rv = nng_aio_result(w->aio)) != 0) {
			if (rv == NNG_ECLOSED || rv == NNG_ECANCELED ||
			    atomic_load(&srv->stopping))
				return;
			log_limited(&srv->loglim, 10000, LOG_LVL_WARN,
			    "reply server: receive: %s", nng_strerror(rv));
			nng_ctx_recv(w->ctx, w->aio);
			break;
		}
		if (atomic_load(&srv->stopping)) {
			nngx_work_drop(w);
			return;
		}
		msg = nng_aio_get_msg(w->aio);
		if (w->reply.cap > NNGX_REPLY_KEEP)
			buf_free(&w->reply);
		buf_reset(&w->reply);
		if (srv->fn(nng_msg_body(msg), nng_msg_len(msg), &w->reply,
		    srv->arg) == -1) {
			buf_reset(&w->reply);
			msg_encode_error(&w->reply, "request failed");
		}
		/* The request's message carries the reply back. */
		nng_msg_clear(msg);
		if (w->reply.len > 0 && (rv = nng_msg_append(msg,
		    w->reply.data, w->reply.len)) != 0) {
			log_limited(&srv->loglim, 10000, LOG_LVL_WARN,
			    "reply server: reply dropped: %s",
			    nng_strerror(rv));
			nngx_work_drop(w);
			nng_ctx_recv(w->ctx, w->aio);
			break;
		}
		if (atomic_load(&srv->stopping)) {
			nngx_work_drop(w);
			return;
		}
		w->state = NNGX_W_SEND;
		nng_ctx_send(w->ctx, w->aio);
		break;
	case NNGX_W_SEND:
		/* The message is still ours when a send fails. */
		if ((rv = nng_aio_result(w->aio)) != 0)
			nngx_work_drop(w);
		if (rv == NNG_ECLOSED || rv == NNG_ECANCELED ||
		    atomic_load(&srv->stopping))
			return;
		w->state = NNGX_W_RECV;
		nng_ctx_recv(w->ctx, w->aio);
		break;
	}
}

struct nngx_rep *
nngx_rep_serve(const char *url, nngx_handler_fn fn, void *arg, int nworkers,
    char *err, size_t errlen)
{
	struct nngx_rep *srv;
	int rv, i;

	if (fn == NULL || nworkers < 1 || nworkers > NNGX_REP_WORKERS_MAX) {
		nngx_err(err, errlen, "reply server %s: need a handler and 1 "
		    "to %d workers", url, NNGX_REP_WORKERS_MAX);
		return NULL;
	}
	if ((srv = calloc(1, sizeof(*srv))) == NULL ||
	    (srv->works = calloc((size_t)nworkers, sizeof(*srv->works))) ==
	    NULL) {
		free(srv);
		nngx_err(err, errlen, "reply server %s: out of memory", url);
		return NULL;
	}
	srv->fn = fn;
	srv->arg = arg;
	atomic_init(&srv->stopping, false);
	if (nngx_open(&srv->sock, "rep", err, errlen) == -1)
		goto fail_free;
	for (i = 0; i < nworkers; i++) {
		struct nngx_work *w = &srv->works[i];

		w->srv = srv;
		w->state = NNGX_W_INIT;
		buf_init(&w->reply);
		if ((rv = nng_aio_alloc(&w->aio, nngx_work_cb, w)) != 0 ||
		    (rv = nng_ctx_open(&w->ctx, srv->sock)) != 0) {
			nngx_err(err, errlen, "reply server %s: %s", url,
			    nng_strerror(rv));
			srv->nworkers = i + 1;
			goto fail_close;
		}
	}
	srv->nworkers = nworkers;
	if ((rv = nng_listen(srv->sock, url, NULL, 0)) != 0) {
		nngx_err(err, errlen, "listen %s: %s", url, nng_strerror(rv));
		goto fail_close;
	}
	for (i = 0; i < nworkers; i++)
		nngx_work_cb(&srv->works[i]);
	return srv;

fail_close:
	nngx_rep_stop(srv);
	return NULL;
fail_free:
	free(srv->works);
	free(srv);
	return NULL;
}

/*
 * The workers are stopped before the socket closes: nng 1.5.2 may touch
 * a freed socket when it closes while a thread is still inside
 * nng_ctx_send() on one of its contexts.
 */
void
nngx_rep_stop(struct nngx_rep *srv)
{
	if (srv == NULL)
		return;
	atomic_store(&srv->stopping, true);
	for (int i = 0; i < srv->nworkers; i++)
		if (srv->works[i].aio != NULL)
			nng_aio_stop(srv->works[i].aio);
	nng_close(srv->sock);
	for (int i = 0; i < srv->nworkers; i++) {
		struct nngx_work *w = &srv->works[i];

		if (w->aio != NULL) {
			nngx_work_drop(w);
			nng_aio_free(w->aio);
		}
		buf_free(&w->reply);
	}
	free(srv->works);
	free(srv);
}
