/*
 * libFuzzer: one request to the simulator, through its real routing,
 * faults and handlers (sign-in, token refresh, Firestore documents and
 * runQuery bodies, Storage archives) or its admin server (fault JSON,
 * the oracle), with civetweb replaced by tests/fuzz/mgfake.h.
 *
 * The input is a request in mgfake.h's format. "@ID@" and "@RT@" in it
 * are replaced by a valid id token and refresh token of the demo
 * account, so that the fuzzer gets past the bearer check to the bodies
 * and paths behind it. A path under /admin/ goes to the admin server.
 * Faults added by an input are cleared after it, so that one input
 * never delays or spoils the next.
 */
#include <stdlib.h>
#include <string.h>

#include "../../twsim/twsim.h"
#include "log.h"
#include "mgfake.h"

int LLVMFuzzerInitialize(int *, char ***);
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct tw_world *world;
static struct mg_context *public_ctx, *admin_ctx;
static struct buf id_token, refresh_token;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int64_t now = util_now_ns() / NS_PER_MS;
	char err[256];

	log_init(true, "fuzz");
	log_setlevel(LOG_LVL_ERROR);
	world = scenario_new(1, 1, now, 3600 * 1000, "twsim-demo-key");
	if ((world->faults = fault_new(1)) == NULL ||
	    demo_build(world, 0, 1, err, sizeof(err)) == -1)
		abort();
	if ((admin_ctx = control_start(world, "127.0.0.1:0", err,
	    sizeof(err))) == NULL ||
	    (public_ctx = serve_start(world, "127.0.0.1:0", 2, err,
	    sizeof(err))) == NULL)
		abort();
	buf_init(&id_token);
	buf_init(&refresh_token);
	if (token_id_make(world, world->accounts[0], now, now / 1000,
	    &id_token) == -1 || token_refresh_make(world, world->accounts[0],
	    now / 1000, &refresh_token) == -1)
		abort();
	return 0;
}

/* data with @ID@ and @RT@ replaced by the tokens. */
static int
expand(const uint8_t *data, size_t len, struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		if (i + 4 <= len && memcmp(data + i, "@ID@", 4) == 0) {
			buf_append(out, id_token.data, id_token.len);
			i += 3;
		} else if (i + 4 <= len && memcmp(data + i, "@RT@", 4) == 0) {
			buf_append(out, refresh_token.data, refresh_token.len);
			i += 3;
		} else
			buf_putc(out, (char)data[i]);
	}
	return out->data != NULL ? 0 : -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct mg_connection c;
	mg_request_handler fn;
	struct buf req;
	void *arg = NULL;

	memset(&c, 0, sizeof(c));
	buf_init(&req);
	if (expand(data, len, &req) == 0 && mgfake_conn(&c,
	    (const uint8_t *)req.data, req.len, "127.0.0.1") == 0) {
		fn = mgfake_handler(strncmp(c.ri.local_uri, "/admin/", 7) == 0 ?
		    admin_ctx : public_ctx, c.ri.local_uri, &arg);
		if (fn != NULL)
			fn(&c, arg);
	}
	mgfake_conn_free(&c);
	buf_free(&req);
	fault_clear(world->faults, true);
	return 0;
}
