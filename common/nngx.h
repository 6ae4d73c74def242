/*
 * nngx: nng with one error idiom, for grilld's sockets.
 *
 * Every function that can fail returns 0 or -1 (constructors: a pointer
 * or NULL) and, when err is not NULL, writes a one-line reason into err
 * (errlen bytes; NNGX_ERRLEN is enough), naming the URL when there is
 * one: "dial tcp://127.0.0.1:7301: Connection refused".
 * nngx_strerror() is nng_strerror() for code that calls nng directly; it
 * takes nng's positive codes or their negatives.
 *
 * Sockets are opened by protocol name: "pub", "sub", "req", "rep",
 * "push", "pull". nngx_dial() dials with NNG_FLAG_NONBLOCK: a peer that
 * is not up yet is no error, nng keeps redialling in the background,
 * between NNGX_RECONN_MIN_MS and NNGX_RECONN_MAX_MS apart, so daemons may
 * start in any order. Messages sent before the peer is there wait (req,
 * push) or are dropped (pub).
 *
 * Ownership: an nng_socket is a plain handle; whoever opened it closes it
 * with nng_close(). Buffers handed in are copied; buffers handed out say
 * how they are freed.
 *
 * Thread-safety: nng sockets are thread-safe, and so is every function
 * here. nngx_request_sock() opens a context per call, so many threads may
 * share one req socket.
 */
#ifndef GRILLD_NNGX_H
#define GRILLD_NNGX_H

#include <stdbool.h>
#include <stddef.h>

#include <nng/nng.h>

#include "msg.h"
#include "util.h"

#define NNGX_ERRLEN		256
#define NNGX_RECONN_MIN_MS	100
#define NNGX_RECONN_MAX_MS	5000
/* Messages a pub socket queues per subscriber (and a sub socket holds). */
#define NNGX_PUBSUB_BUF 8192
#define NNGX_FOREVER		(-1)	/* a time-out that never expires */

const char *nngx_strerror(int);

/* True for "pub", "sub", "req", "rep", "push", "pull". */
bool	nngx_proto_valid(const char *);
/* A fresh socket of that protocol, neither listening nor dialling. */
int	nngx_open(nng_socket *, const char *, char *, size_t);
/*
 * Open + listen, or open + (non-blocking) dial. On -1 nothing stays
 * open and *sock is NNG_SOCKET_INITIALIZER.
 */
int	nngx_listen(nng_socket *, const char *, const char *, char *, size_t);
int	nngx_dial(nng_socket *, const char *, const char *, char *, size_t);
/*
 * Send and receive time-outs in ms (NNGX_FOREVER: none, the default).
 * A blocking nng_send/nng_recv on the socket then fails with
 * NNG_ETIMEDOUT; nngx_recv() returns 0.
 */
int	nngx_set_timeouts(nng_socket, int, int, char *, size_t);

/*
 * Publishing. A pub socket never blocks its caller: nng puts the message
 * on each subscriber's queue and drops it for a subscriber whose queue is
 * full (a slow or stuck peer loses messages, the publisher never waits),
 * and with no subscriber it is simply discarded. nngx_pub_send() sends
 * with NNG_FLAG_NONBLOCK all the same, and copies the bytes.
 * nngx_pub_json() encodes the message (msg_encode_json()) and sends it.
 * -1 means the message could not be built or the socket is closed, never
 * that someone did not get it.
 */
int	nngx_pub_send(nng_socket, const void *, size_t, char *, size_t);
int	nngx_pub_json(nng_socket, enum msg_type, const cJSON *, char *,
	    size_t);

/*
 * Subscribing: by msg_topic() prefix, so only messages of that type and
 * of this build's MSG_VERSION arrive. A sub socket receives nothing until
 * it subscribes. nngx_sub_dial() dials (non-blocking) and subscribes to
 * the n types given.
 */
int	nngx_sub_subscribe(nng_socket, enum msg_type, char *, size_t);
int	nngx_sub_dial(nng_socket *, const char *, const enum msg_type *,
	    size_t, char *, size_t);

/*
 * Receives one message into the buffer (reset first; always
 * NUL-terminated). Returns 1 with a message, 0 when the socket's receive
 * time-out expired, -1 on an error (a closed socket among them).
 */
int	nngx_recv(nng_socket, struct buf *, char *, size_t);

/*
 * Synchronous request: sends the bytes and waits for the reply, all
 * within timeout_ms (> 0) overall. On 0, *rep is a malloc'd copy of the
 * reply the caller frees with free(), NUL-terminated for convenience
 * (*replen does not count the NUL). On -1, *rep is NULL and err says why
 * ("request to ipc:///run/grilld/poller.ctl: Timed out").
 *
 * nngx_request() opens a req socket, dials the URL (non-blocking: a
 * server that is not up is waited for until the time-out), and closes it;
 * for a few requests now and then, like health checks.
 * nngx_request_sock() uses an open req socket through a context of its
 * own; for a steady stream of requests. Close that socket only once no
 * thread is inside a request on it: nng 1.5.2 may touch the freed socket
 * when it closes under a context still in use.
 */
int	nngx_request(const char *, const void *, size_t, void **, size_t *,
	    int, char *, size_t);
int	nngx_request_sock(nng_socket, const void *, size_t, void **,
	    size_t *, int, char *, size_t);

/*
 * Reply server: a rep socket listening on the URL, served by nworkers
 * nng contexts, each driven by an aio callback (a small state machine,
 * as in nng's demo/async): up to nworkers requests are handled at once
 * without a thread of ours per request.
 *
 * For each request handler(req, len, reply, arg) is called with the
 * request bytes (valid only during the call) and an empty reply buffer.
 * Returning 0 sends the buffer as the reply (empty is allowed). Returning
 * -1 sends a MSG_ERROR_REP {"error": "request failed"} instead; a handler
 * that can say more encodes its own MSG_ERROR_REP (msg_encode_error())
 * and returns 0.
 *
 * The handler runs on nng's task threads, several at once: it must be
 * thread-safe, must not block for long (no network calls; read state the
 * daemon keeps in memory) and must not call nngx_rep_stop().
 *
 * nngx_rep_serve() returns NULL with err on failure (bad URL, address in
 * use). nngx_rep_stop() closes the socket, waits for handlers in progress
 * to return, and frees everything; after it returns the handler is not
 * called again. NULL is allowed.
 */
typedef int	(*nngx_handler_fn)(const void *, size_t, struct buf *, void *);
struct nngx_rep;
struct nngx_rep	*nngx_rep_serve(const char *, nngx_handler_fn, void *, int,
		    char *, size_t);
void		 nngx_rep_stop(struct nngx_rep *);
#define NNGX_REP_WORKERS_MAX	256

#endif
