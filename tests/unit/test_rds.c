/*
 * test_rds: the Redis wrapper against a real redis-server of its own,
 * started on a free port and always killed at the end (atexit, and
 * PR_SET_PDEATHSIG should this process die first).
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rds.h"
#include "unit.h"

static pid_t	redis_pid = -1;
static int	redis_port;
static char	redis_sock[200];
static char	redis_url[64];

static void
redis_stop(void)
{
	if (redis_pid > 0) {
		kill(redis_pid, SIGCONT);
		kill(redis_pid, SIGKILL);
		waitpid(redis_pid, NULL, 0);
		redis_pid = -1;
	}
}

/* Starts redis-server on redis_port; waits until it answers PING. */
static bool
redis_start(void)
{
	char port[16], log[300];
	pid_t parent = getpid();
	int64_t deadline;

	snprintf(port, sizeof(port), "%d", redis_port);
	snprintf(log, sizeof(log), "%s/redis.log", unit_tmpdir());
	if ((redis_pid = fork()) == -1) {
		perror("fork");
		return false;
	}
	if (redis_pid == 0) {
		int fd;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600)) !=
		    -1) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execlp("redis-server", "redis-server", "--port", port,
		    "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		    "--dir", unit_tmpdir(), "--unixsocket", redis_sock,
		    "--unixsocketperm", "700", (char *)NULL);
		_exit(127);
	}
	deadline = util_mono_ms() + 5000;
	while (util_mono_ms() < deadline) {
		redisContext *c = redisConnect("127.0.0.1", redis_port);
		redisReply *rep = NULL;

		if (c != NULL && c->err == 0)
			rep = redisCommand(c, "PING");
		if (c != NULL)
			redisFree(c);
		if (rep != NULL) {
			freeReplyObject(rep);
			return true;
		}
		if (waitpid(redis_pid, NULL, WNOHANG) == redis_pid) {
			redis_pid = -1;
			break;
		}
		util_sleep_ms(20);
	}
	fprintf(stdout, "# redis-server did not start (see %s)\n", log);
	return false;
}

static double
counter(const char *name)
{
	return metric_value(metric_with(metric_counter(name, "", NULL)));
}

static bool
reply_is(const redisReply *rep, int type, const char *str)
{
	return rep != NULL && rep->type == type &&
	    (str == NULL || (rep->str != NULL && strcmp(rep->str, str) == 0));
}

static void
test_url_good(void)
{
	static const struct {
		const char	*url;
		bool		 is_unix;
		const char	*host, *path, *user, *password;
		int		 port, db;
	} good[] = {
		{ "redis://127.0.0.1:6379/0", false, "127.0.0.1", "", "", "",
		    6379, 0 },
		{ "redis://localhost", false, "localhost", "", "", "", 6379,
		    0 },
		{ "redis://redis.internal:7000/", false, "redis.internal", "",
		    "", "", 7000, 0 },
		{ "redis://:s3cret@cache-1:6380/3", false, "cache-1", "", "",
		    "s3cret", 6380, 3 },
		{ "redis://grill:p%40ss%3Aw%2F@r.local:1/15", false,
		    "r.local", "", "grill", "p@ss:w/", 1, 15 },
		{ "redis://u:p@w@h", false, "h", "", "u", "p@w", 6379, 0 },
		{ "redis://[::1]:6390/2", false, "::1", "", "", "", 6390, 2 },
		{ "redis://[fe80::1]", false, "fe80::1", "", "", "", 6379,
		    0 },
		{ "unix:///run/redis/redis.sock", true, "", "/run/redis/"
		    "redis.sock", "", "", 0, 0 },
		{ "unix:///tmp/r.sock?db=4", true, "", "/tmp/r.sock", "", "",
		    0, 4 },
		{ "unix://admin:pw@/tmp/r.sock?db=1", true, "", "/tmp/r.sock",
		    "admin", "pw", 0, 1 },
	};
	struct rds_url u;
	char err[128];

	for (size_t i = 0; i < ARRAY_LEN(good); i++) {
		err[0] = '\0';
		if (rds_url_parse(good[i].url, &u, err, sizeof(err)) != 0) {
			unit_fail(__FILE__, __LINE__, "%s: %s", good[i].url,
			    err);
			continue;
		}
		CHECK_INT(u.is_unix, good[i].is_unix);
		CHECK_STR(u.host, good[i].host);
		CHECK_STR(u.path, good[i].path);
		CHECK_STR(u.user, good[i].user);
		CHECK_STR(u.password, good[i].password);
		CHECK_INT(u.port, good[i].port);
		CHECK_INT(u.db, good[i].db);
	}
}

/* Sentinel URLs: every sentinel, the master's name, the db. */
static void
test_url_sentinel(void)
{
	struct rds_url u;
	char err[160], out[400];

	CHECK_INT(rds_url_parse("redis-sentinel://s1,s2:26380,[::1]:7/"
	    "grilld/2", &u, err, sizeof(err)), 0);
	CHECK_INT(u.nsentinels, 3);
	CHECK_STR(u.sentinels[0].host, "s1");
	CHECK_INT(u.sentinels[0].port, RDS_SENTINEL_PORT);
	CHECK_STR(u.sentinels[1].host, "s2");
	CHECK_INT(u.sentinels[1].port, 26380);
	CHECK_STR(u.sentinels[2].host, "::1");
	CHECK_INT(u.sentinels[2].port, 7);
	CHECK_STR(u.master, "grilld");
	CHECK_INT(u.db, 2);
	CHECK_STR(u.host, "");
	rds_url_print(&u, out, sizeof(out));
	CHECK_STR(out, "redis-sentinel://s1:26379,s2:26380,[::1]:7/grilld/2");

	CHECK_INT(rds_url_parse("redis-sentinel://app:s3cret@h/m.1_x", &u,
	    err, sizeof(err)), 0);
	CHECK_STR(u.user, "app");
	CHECK_STR(u.password, "s3cret");
	CHECK_STR(u.master, "m.1_x");
	CHECK_INT(u.db, 0);
	rds_url_print(&u, out, sizeof(out));
	CHECK(strstr(out, "s3cret") == NULL);

}

/* No sentinel answers: a context, a clear error, and no hang. */
static void
test_sentinel_down(void)
{
	char err[160], url[128];
	struct rds *r;

	snprintf(url, sizeof(url), "redis-sentinel://127.0.0.1:%d,"
	    "127.0.0.1:%d/grilld", unit_free_port(), unit_free_port());
	r = rds_connect(url, NULL, err, sizeof(err));
	CHECK(r != NULL);
	if (r == NULL)
		return;
	CHECK(!rds_connected(r));
	printf("# %s\n", r->errstr);
	CHECK(strstr(r->errstr, "master grilld: ") == r->errstr);
	CHECK(strstr(r->errstr, "Connection refused") != NULL);
	CHECK(rds_command(r, "PING") == NULL);
	rds_free(r);
}

static void
test_url_bad(void)
{
	static const struct {
		const char	*url;
		const char	*want;
	} bad[] = {
		{ "", "empty" },
		{ "http://host", "scheme is not redis://, redis-sentinel:// "
		    "or unix://" },
		{ "rediss://host:6380", "TLS" },
		{ "redis:/host", "scheme" },
		{ "redis://", "no host" },
		{ "redis://:6379", "no host" },
		{ "redis://host:0", "port" },
		{ "redis://host:65536", "port" },
		{ "redis://host:", "port" },
		{ "redis://host:63a9", "port" },
		{ "redis://host:+6379", "port" },
		{ "redis://host:6379/x", "db number" },
		{ "redis://host:6379/1/2", "db number" },
		{ "redis://host:6379/-1", "db number" },
		{ "redis://host:6379/99999999999", "db number" },
		{ "redis://host?db=1", "no query" },
		{ "redis://s3cretpw@host", "no ':' before '@'" },
		{ "redis://:@host", "empty password" },
		{ "redis://user:@host", "empty password" },
		{ "redis://:s3cret%4@host", "%-escape" },
		{ "redis://:s3cret%zz@host", "%-escape" },
		{ "redis://:s3cret%00@host", "NUL" },
		{ "redis://ho st", "space" },
		{ "redis://host\t", "control" },
		{ "redis://host#frag", "fragment" },
		{ "redis://h\xc3\xa9st", "invalid character" },
		{ "redis://ho/st:1", "db number" },
		{ "redis://::1:6379", "brackets" },
		{ "redis://[::1", "']'" },
		{ "redis://[::1]x", "after ']'" },
		{ "redis://[::g]", "IPv6" },
		{ "redis://[]:1", "no host" },
		{ "unix://", "no socket path" },
		{ "unix://relative.sock", "no socket path" },
		{ "unix://dir/relative.sock", "absolute" },
		{ "unix://:pw@dir/r.sock", "absolute" },
		{ "unix:///", "no socket path" },
		{ "unix:///s.sock?db=x", "db is not" },
		{ "unix:///s.sock?db=", "unknown parameter" },
		{ "unix:///s.sock?foo=1", "unknown parameter \"foo=1\"" },
		{ "unix:///s.sock?", "empty query" },
		{ "unix:///s.sock?db=1&", "trailing" },
		{ "unix:///s.sock?password=s3cret", "before the path" },
		{ "redis-sentinel://h", "no master name" },
		{ "redis-sentinel://h/", "no master name" },
		{ "redis-sentinel://h,/m", "no host" },
		{ "redis-sentinel://,h/m", "no host" },
		{ "redis-sentinel://h:0/m", "port" },
		{ "redis-sentinel://h/m/x", "db is not" },
		{ "redis-sentinel://h/m y", "space" },
		{ "redis-sentinel://h/m$", "master's name" },
		{ "redis-sentinel://h/m?db=1", "no query" },
		{ "redis-sentinel://:s3cret@h", "no master name" },
		{ "redis-sentinel://a,b,c,d,e,f,g,h,i/m", "more than 8" },
	};
	struct rds_url u;
	char err[128], longurl[400];

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		err[0] = '\0';
		if (rds_url_parse(bad[i].url, &u, err, sizeof(err)) != -1) {
			unit_fail(__FILE__, __LINE__, "accepted \"%s\"",
			    bad[i].url);
			continue;
		}
		if (strstr(err, bad[i].want) == NULL ||
		    strncmp(err, "bad redis URL: ", 15) != 0)
			unit_fail(__FILE__, __LINE__, "\"%s\": \"%s\" lacks "
			    "\"%s\"", bad[i].url, err, bad[i].want);
		if (strstr(err, "s3cret") != NULL)
			unit_fail(__FILE__, __LINE__, "\"%s\": password in "
			    "\"%s\"", bad[i].url, err);
	}
	CHECK_INT(rds_url_parse(NULL, &u, err, sizeof(err)), -1);
	memset(longurl, 0, sizeof(longurl));
	memcpy(longurl, "unix:///", 8);
	memset(longurl + 8, 'a', 150);
	CHECK_INT(rds_url_parse(longurl, &u, err, sizeof(err)), -1);
	CHECK(strstr(err, "socket path longer than 107") != NULL);
	memset(longurl, 0, sizeof(longurl));
	memcpy(longurl, "redis://", 8);
	memset(longurl + 8, 'h', 300);
	CHECK_INT(rds_url_parse(longurl, &u, err, sizeof(err)), -1);
	CHECK(strstr(err, "host longer") != NULL);

	CHECK(rds_connect("redis://host:99999", NULL, err, sizeof(err)) ==
	    NULL);
	CHECK(strstr(err, "port") != NULL);
	{
		struct rds_opts o = { .backoff_base_ms = 100,
		    .backoff_cap_ms = 10 };

		CHECK(rds_connect("redis://h", &o, err, sizeof(err)) == NULL);
		CHECK(strstr(err, "bad options") != NULL);
	}
}

static void
test_commands(void)
{
	struct rds_opts o = { .command_timeout_ms = 2000 };
	struct rds *r;
	redisReply *rep;
	char err[128], url[300];
	const char *argv[] = { "SET", "bin", "a\0b" };
	const size_t argvlen[] = { 3, 3, 3 };

	snprintf(url, sizeof(url), "%s/2", redis_url);
	r = rds_connect(url, &o, err, sizeof(err));
	CHECK(r != NULL);
	if (r == NULL)
		return;
	CHECK(rds_connected(r));
	CHECK_INT(r->err, 0);
	CHECK(strncmp(rds_addr(r), redis_url, strlen(redis_url)) == 0);
	CHECK_STR(rds_addr(r) + strlen(redis_url), "/2");

	rep = rds_command(r, "SET %s %s", "greeting", "hello world");
	CHECK(reply_is(rep, REDIS_REPLY_STATUS, "OK"));
	freeReplyObject(rep);
	rep = rds_command(r, "GET greeting");
	CHECK(reply_is(rep, REDIS_REPLY_STRING, "hello world"));
	freeReplyObject(rep);

	/* SELECT happened: the connection is on db 2. */
	rep = rds_command(r, "CLIENT INFO");
	CHECK(rep != NULL && rep->str != NULL &&
	    strstr(rep->str, " db=2 ") != NULL);
	freeReplyObject(rep);

	/* An error reply is a reply; the connection is fine. */
	rep = rds_command(r, "LPUSH greeting x");
	CHECK(reply_is(rep, REDIS_REPLY_ERROR, NULL));
	CHECK(rep != NULL && strncmp(rep->str, "WRONGTYPE", 9) == 0);
	CHECK_INT(r->err, 0);
	CHECK(rds_connected(r));
	freeReplyObject(rep);

	/* Binary-safe argv. */
	rep = rds_commandargv(r, 3, argv, argvlen);
	CHECK(reply_is(rep, REDIS_REPLY_STATUS, "OK"));
	freeReplyObject(rep);
	rep = rds_command(r, "GET %s", "bin");
	CHECK(rep != NULL && rep->type == REDIS_REPLY_STRING &&
	    rep->len == 3 && memcmp(rep->str, "a\0b", 3) == 0);
	freeReplyObject(rep);

	/* Misuse fails without touching the connection. */
	CHECK(rds_get_reply(r) == NULL);
	CHECK(strstr(r->errstr, "no pipelined reply") != NULL);
	CHECK(rds_connected(r));
	rep = rds_command(r, "PING");
	CHECK(reply_is(rep, REDIS_REPLY_STATUS, "PONG"));
	CHECK_INT(r->err, 0);
	freeReplyObject(rep);
	rds_free(r);
	rds_free(NULL);
}

static void
test_unix_and_auth(void)
{
	struct rds *r, *admin;
	redisReply *rep;
	char err[128], url[400];

	snprintf(url, sizeof(url), "unix://%s?db=5", redis_sock);
	r = rds_connect(url, NULL, err, sizeof(err));
	CHECK(r != NULL && rds_connected(r));
	rep = rds_command(r, "CLIENT INFO");
	CHECK(rep != NULL && rep->str != NULL &&
	    strstr(rep->str, " db=5 ") != NULL);
	freeReplyObject(rep);
	rds_free(r);

	/* A Redis 6 ACL user, its password escaped in the URL. */
	admin = rds_connect(redis_url, NULL, err, sizeof(err));
	rep = rds_command(admin, "ACL SETUSER grill on >p@ss:w0rd ~* &* "
	    "+@all");
	CHECK(reply_is(rep, REDIS_REPLY_STATUS, "OK"));
	freeReplyObject(rep);

	snprintf(url, sizeof(url), "redis://grill:p%%40ss%%3Aw0rd@127.0.0.1:"
	    "%d/1", redis_port);
	r = rds_connect(url, NULL, err, sizeof(err));
	CHECK(r != NULL && rds_connected(r));
	rep = rds_command(r, "ACL WHOAMI");
	CHECK(reply_is(rep, REDIS_REPLY_STRING, "grill"));
	freeReplyObject(rep);
	rds_free(r);

	/*
	 * redis.password (opts.password) when the URL has none: sent with
	 * AUTH, here refused, since the default user has no password.
	 */
	{
		struct rds_opts o = { .password = "s3cret-opt" };

		snprintf(url, sizeof(url), "redis://127.0.0.1:%d/1",
		    redis_port);
		r = rds_connect(url, &o, err, sizeof(err));
		CHECK(r != NULL && !rds_connected(r) &&
		    r->err == REDIS_ERR_OTHER);
		CHECK(r != NULL && strstr(r->errstr, "AUTH") != NULL &&
		    strstr(r->errstr, "s3cret-opt") == NULL);
		rds_free(r);
	}

	/* A refused AUTH: a context, not connected, a clear error. */
	snprintf(url, sizeof(url), "redis://grill:wr0ngpw@127.0.0.1:%d",
	    redis_port);
	r = rds_connect(url, NULL, err, sizeof(err));
	CHECK(r != NULL && !rds_connected(r));
	printf("# %s\n", r->errstr);
	CHECK(strstr(r->errstr, "AUTH redis://127.0.0.1:") == r->errstr);
	CHECK(strstr(r->errstr, "WRONGPASS") != NULL);
	CHECK(strstr(r->errstr, "wr0ngpw") == NULL);
	CHECK(rds_command(r, "PING") == NULL);
	rds_free(r);

	/* A password alone while the default user has none. */
	snprintf(url, sizeof(url), "redis://:whatever@127.0.0.1:%d",
	    redis_port);
	r = rds_connect(url, NULL, err, sizeof(err));
	CHECK(r != NULL && !rds_connected(r) && r->err == REDIS_ERR_OTHER);
	printf("# %s\n", r->errstr);
	rds_free(r);
	rep = rds_command(admin, "ACL DELUSER grill");
	freeReplyObject(rep);
	rds_free(admin);
}

static void
test_pipeline(void)
{
	struct rds *r;
	redisReply *rep;
	char err[128], key[32];
	const char *incr[] = { "INCR", key };
	const char *get[] = { "GET", key };
	bool ok = true;

	snprintf(key, sizeof(key), "pipe:%d", (int)getpid());
	r = rds_connect(redis_url, NULL, err, sizeof(err));
	for (int i = 0; i < 100; i++)
		CHECK_INT(rds_append_argv(r, 2, incr, NULL), 0);
	CHECK_INT(rds_append_argv(r, 2, get, NULL), 0);
	CHECK_INT(rds_pending(r), 101);
	/* No plain command while replies are due. */
	CHECK(rds_command(r, "PING") == NULL);
	CHECK(strstr(r->errstr, "101 pipelined replies not read") != NULL);
	for (int i = 1; i <= 100; i++) {
		rep = rds_get_reply(r);
		if (rep == NULL || rep->type != REDIS_REPLY_INTEGER ||
		    rep->integer != i)
			ok = false;
		freeReplyObject(rep);
	}
	CHECK(ok);
	rep = rds_get_reply(r);
	CHECK(reply_is(rep, REDIS_REPLY_STRING, "100"));
	freeReplyObject(rep);
	CHECK_INT(rds_pending(r), 0);
	CHECK(rds_get_reply(r) == NULL);
	rep = rds_command(r, "DEL %s", key);
	CHECK(reply_is(rep, REDIS_REPLY_INTEGER, NULL));
	freeReplyObject(rep);
	rds_free(r);
}

/*
 * rds_format_*() and rds_send(): a pipeline formatted by the caller, after
 * commands appended the usual way (which go first), with binary values and
 * larger than any socket buffer (Redis's replies pile up meanwhile), read
 * back in order; then a send on a dead connection fails and drops it.
 */
static void
test_pipeline_formatted(void)
{
	struct rds *r;
	redisReply *rep;
	struct buf b;
	char err[128], key[32], skey[32], big[1000];
	const char *incr[] = { "INCR", key };
	bool ok = true;
	int n = 0;

	snprintf(key, sizeof(key), "fpipe:%d", (int)getpid());
	snprintf(skey, sizeof(skey), "fpipe:s:%d", (int)getpid());
	memset(big, 'x', sizeof(big));
	buf_init(&b);
	r = rds_connect(redis_url, NULL, err, sizeof(err));
	CHECK_INT(rds_append_argv(r, 2, incr, NULL), 0);
	for (int i = 0; i < 5000; i++, n++)
		if (rds_format_argc(&b, 5) == -1 ||
		    rds_format_arg(&b, "XADD", 4) == -1 ||
		    rds_format_arg(&b, skey, strlen(skey)) == -1 ||
		    rds_format_arg(&b, "*", 1) == -1 ||
		    rds_format_arg(&b, "v", 1) == -1 ||
		    rds_format_arg(&b, big, sizeof(big)) == -1)
			ok = false;
	if (rds_format_argc(&b, 3) == -1 || rds_format_arg(&b, "SET", 3) ==
	    -1 || rds_format_arg(&b, key, strlen(key)) == -1 ||
	    rds_format_arg(&b, "a\0b\r\n", 5) == -1)
		ok = false;
	n++;
	CHECK(ok);
	CHECK(b.len > 4 * 1024 * 1024);
	CHECK_INT(rds_send(r, b.data, b.len, n), 0);
	CHECK_INT(rds_pending(r), n + 1);
	rep = rds_get_reply(r);		/* the INCR appended before */
	CHECK(reply_is(rep, REDIS_REPLY_INTEGER, NULL) && rep->integer == 1);
	freeReplyObject(rep);
	for (int i = 0; i < n - 1; i++) {
		rep = rds_get_reply(r);
		if (rep == NULL || rep->type != REDIS_REPLY_STRING)
			ok = false;
		freeReplyObject(rep);
	}
	CHECK(ok);
	rep = rds_get_reply(r);
	CHECK(reply_is(rep, REDIS_REPLY_STATUS, "OK"));
	freeReplyObject(rep);
	CHECK_INT(rds_pending(r), 0);
	rep = rds_command(r, "GET %s", key);
	CHECK(rep != NULL && rep->type == REDIS_REPLY_STRING && rep->len == 5 &&
	    memcmp(rep->str, "a\0b\r\n", 5) == 0);
	freeReplyObject(rep);
	rep = rds_command(r, "XLEN %s", skey);
	CHECK(rep != NULL && rep->type == REDIS_REPLY_INTEGER &&
	    rep->integer == 5000);
	freeReplyObject(rep);
	rep = rds_command(r, "DEL %s %s", key, skey);
	freeReplyObject(rep);
	rds_free(r);
	buf_free(&b);
}

/* A send on a connection Redis closed fails, and drops the connection. */
static void
test_send_closed(void)
{
	struct rds *r;
	redisReply *rep;
	struct buf b;
	char err[128], big[65536];
	bool failed = false;

	memset(big, 'y', sizeof(big));
	buf_init(&b);
	r = rds_connect(redis_url, NULL, err, sizeof(err));
	rep = rds_command(r, "CLIENT SETNAME victim");
	freeReplyObject(rep);
	rep = rds_command(r, "CLIENT KILL SKIPME no TYPE normal");
	freeReplyObject(rep);
	/* The first writes may still be taken by the kernel; not 64 MiB. */
	for (int i = 0; i < 1024 && !failed; i++) {
		buf_reset(&b);
		if (rds_format_argc(&b, 2) == -1 ||
		    rds_format_arg(&b, "ECHO", 4) == -1 ||
		    rds_format_arg(&b, big, sizeof(big)) == -1)
			break;
		if (rds_send(r, b.data, b.len, 1) == -1)
			failed = true;
		else {
			rep = rds_get_reply(r);
			if (rep == NULL)
				failed = true;
			freeReplyObject(rep);
		}
	}
	CHECK(failed);
	CHECK(!rds_connected(r));
	CHECK_INT(rds_pending(r), 0);
	CHECK(r->errstr[0] != '\0');
	printf("# %s\n", r->errstr);
	/* The next command connects again. */
	rep = rds_command(r, "PING");
	CHECK(reply_is(rep, REDIS_REPLY_STATUS, "PONG"));
	freeReplyObject(rep);
	rds_free(r);
	buf_free(&b);
}

/*
 * Client tracking as the API's latest cache opens it: a write under the
 * prefix arrives as a message on the tracking connection; one outside
 * it does not.
 */
static void
test_tracking(void)
{
	struct rds_opts o;
	struct rds_url u;
	struct rds *r;
	redisContext *t;
	redisReply *rep;
	void *msg = NULL;
	char err[128];
	int code = 0;

	memset(&o, 0, sizeof(o));
	o.connect_timeout_ms = 2000;
	o.command_timeout_ms = 2000;
	CHECK_INT(rds_url_parse(redis_url, &u, err, sizeof(err)), 0);
	t = rds_open_tracking(&u, &o, "trk:", &code, err, sizeof(err));
	CHECK(t != NULL);
	if (t == NULL)
		return;
	r = rds_connect(redis_url, NULL, err, sizeof(err));
	rep = rds_command(r, "HSET other:h f 1");
	freeReplyObject(rep);
	rep = rds_command(r, "HSET trk:latest SB42/2 1");
	freeReplyObject(rep);
	CHECK(redisGetReply(t, &msg) == REDIS_OK);
	rep = msg;
	/* ["message", "__redis__:invalidate", ["trk:latest"]] */
	CHECK(rep != NULL && rep->type == REDIS_REPLY_ARRAY &&
	    rep->elements == 3 && rep->element[2]->type ==
	    REDIS_REPLY_ARRAY && rep->element[2]->elements == 1 &&
	    strcmp(rep->element[2]->element[0]->str, "trk:latest") == 0);
	if (msg != NULL)
		freeReplyObject(msg);
	rep = rds_command(r, "DEL trk:latest other:h");
	freeReplyObject(rep);
	redisFree(t);
	rds_free(r);
}

/* What the walker saw. */
struct seen {
	int		 n;
	int		 stop_after;
	char		 streams[16][16];
	char		 ids[16][32];
	size_t		 nfields[16];
	char		 temp[16][16];
	bool		 bin_ok;
};

static int
collect(const struct rds_entry *e, void *arg)
{
	struct seen *s = arg;
	const char *v;
	size_t len;

	if (s->n < 16) {
		util_strlcpy(s->streams[s->n], e->stream ? e->stream : "-",
		    sizeof(s->streams[0]));
		util_strlcpy(s->ids[s->n], e->id, sizeof(s->ids[0]));
		s->nfields[s->n] = e->nfields;
		if ((v = rds_entry_get(e, "temp", &len)) != NULL)
			util_strlcpy(s->temp[s->n], v, sizeof(s->temp[0]));
		if ((v = rds_entry_get(e, "bin", &len)) != NULL)
			s->bin_ok = len == 4 && memcmp(v, "x\0y\n", 4) == 0;
		for (size_t i = 0; i < e->nfields; i++)
			if (e->names[i][e->namelens[i]] != '\0' ||
			    e->values[i][e->valuelens[i]] != '\0')
				s->bin_ok = false;
	}
	s->n++;
	return s->stop_after > 0 && s->n >= s->stop_after;
}

static void
test_stream_walker(void)
{
	struct rds *r;
	redisReply *rep;
	char err[128], id[4][32];
	struct seen s;
	const char *big[3 + 2 * 40];
	char names[40][16];

	r = rds_connect(redis_url, NULL, err, sizeof(err));
	freeReplyObject(rds_command(r, "DEL s1 s2"));
	for (int i = 0; i < 3; i++) {
		rep = rds_command(r, "XADD s1 * temp %d.5 bin %b", 100 + i,
		    "x\0y\n", (size_t)4);
		CHECK(rep != NULL && rep->type == REDIS_REPLY_STRING);
		util_strlcpy(id[i], rep ? rep->str : "", sizeof(id[i]));
		freeReplyObject(rep);
	}
	/* An entry of 40 fields: past the walker's stack arrays. */
	big[0] = "XADD";
	big[1] = "s2";
	big[2] = "*";
	for (int i = 0; i < 40; i++) {
		snprintf(names[i], sizeof(names[i]), "f%d", i);
		big[3 + 2 * i] = names[i];
		big[4 + 2 * i] = i == 39 ? "last" : "v";
	}
	rep = rds_commandargv(r, (int)ARRAY_LEN(big), big, NULL);
	CHECK(rep != NULL && rep->type == REDIS_REPLY_STRING);
	util_strlcpy(id[3], rep ? rep->str : "", sizeof(id[3]));
	freeReplyObject(rep);

	/* XREAD: two streams. */
	rep = rds_command(r, "XREAD COUNT 10 STREAMS s1 s2 0 0");
	memset(&s, 0, sizeof(s));
	s.bin_ok = true;
	CHECK_INT(rds_stream_entries(rep, collect, &s), 4);
	CHECK_INT(s.n, 4);
	CHECK_STR(s.streams[0], "s1");
	CHECK_STR(s.streams[3], "s2");
	for (int i = 0; i < 4; i++)
		CHECK_STR(s.ids[i], id[i]);
	CHECK_INT(s.nfields[0], 2);
	CHECK_INT(s.nfields[3], 40);
	CHECK_STR(s.temp[0], "100.5");
	CHECK_STR(s.temp[2], "102.5");
	CHECK(s.bin_ok);
	/* Stopping early, across the streams. */
	memset(&s, 0, sizeof(s));
	s.stop_after = 2;
	CHECK_INT(rds_stream_entries(rep, collect, &s), 2);
	freeReplyObject(rep);

	/* XRANGE: entries without a stream. */
	rep = rds_command(r, "XRANGE s1 - +");
	memset(&s, 0, sizeof(s));
	CHECK_INT(rds_stream_entries(rep, collect, &s), 3);
	CHECK_STR(s.streams[1], "-");
	CHECK_STR(s.ids[1], id[1]);
	freeReplyObject(rep);
	rep = rds_command(r, "XRANGE s1 - - ");
	CHECK_INT(rds_stream_entries(rep, collect, &s), 0);
	freeReplyObject(rep);

	/* XREADGROUP, then its history after an XDEL: no fields. */
	freeReplyObject(rds_command(r, "XGROUP CREATE s1 g 0"));
	rep = rds_command(r, "XREADGROUP GROUP g c1 COUNT 10 STREAMS s1 >");
	memset(&s, 0, sizeof(s));
	CHECK_INT(rds_stream_entries(rep, collect, &s), 3);
	CHECK_STR(s.streams[0], "s1");
	freeReplyObject(rep);
	freeReplyObject(rds_command(r, "XDEL s1 %s", id[1]));
	rep = rds_command(r, "XREADGROUP GROUP g c1 COUNT 10 STREAMS s1 0");
	memset(&s, 0, sizeof(s));
	CHECK_INT(rds_stream_entries(rep, collect, &s), 3);
	CHECK_INT(s.nfields[1], 0);
	CHECK_INT(s.nfields[2], 2);
	freeReplyObject(rep);
	/* Nothing new: BLOCK times out with a NIL. */
	rep = rds_command(r, "XREADGROUP GROUP g c1 BLOCK 20 STREAMS s1 >");
	CHECK(rep != NULL && rep->type == REDIS_REPLY_NIL);
	CHECK_INT(rds_stream_entries(rep, collect, &s), 0);
	freeReplyObject(rep);
	/* History all acknowledged: the stream with no entries. */
	freeReplyObject(rds_command(r, "XACK s1 g %s %s %s", id[0], id[1],
	    id[2]));
	rep = rds_command(r, "XREADGROUP GROUP g c1 STREAMS s1 0");
	CHECK_INT(rds_stream_entries(rep, collect, &s), 0);
	freeReplyObject(rep);

	/* XAUTOCLAIM: cursor, entries, deleted ids. */
	freeReplyObject(rds_command(r, "XGROUP CREATE s2 g 0"));
	freeReplyObject(rds_command(r, "XREADGROUP GROUP g c1 STREAMS s2 >"));
	rep = rds_command(r, "XAUTOCLAIM s2 g c2 0 0-0");
	memset(&s, 0, sizeof(s));
	CHECK_INT(rds_stream_entries(rep, collect, &s), 1);
	CHECK_STR(s.ids[0], id[3]);
	CHECK_INT(s.nfields[0], 40);
	freeReplyObject(rep);

	/* Not stream replies. */
	rep = rds_command(r, "GET nosuchkey");
	CHECK_INT(rds_stream_entries(rep, collect, &s), 0); /* NIL */
	freeReplyObject(rep);
	rep = rds_command(r, "XADD s1 notanid f v");
	CHECK(reply_is(rep, REDIS_REPLY_ERROR, NULL));
	CHECK_INT(rds_stream_entries(rep, collect, &s), -1);
	freeReplyObject(rep);
	freeReplyObject(rds_command(r, "RPUSH l a b c"));
	rep = rds_command(r, "LRANGE l 0 -1");
	memset(&s, 0, sizeof(s));
	CHECK_INT(rds_stream_entries(rep, collect, &s), -1);
	CHECK_INT(s.n, 0);
	freeReplyObject(rep);
	rep = rds_command(r, "PING");
	CHECK_INT(rds_stream_entries(rep, collect, &s), -1);
	freeReplyObject(rep);
	CHECK_INT(rds_stream_entries(NULL, collect, &s), -1);
	freeReplyObject(rds_command(r, "DEL s1 s2 l"));
	rds_free(r);
}

/* A hung Redis: the command gives up at its time-out. */
static void
test_command_timeout(void)
{
	struct rds_opts o = { .connect_timeout_ms = 300,
	    .command_timeout_ms = 300, .backoff_base_ms = 50,
	    .backoff_cap_ms = 200 };
	struct rds *r;
	redisReply *rep;
	char err[128];
	int64_t t0, dt;

	r = rds_connect(redis_url, &o, err, sizeof(err));
	CHECK(r != NULL && rds_connected(r));
	kill(redis_pid, SIGSTOP);
	t0 = util_mono_ms();
	rep = rds_command(r, "PING");
	dt = util_mono_ms() - t0;
	CHECK(rep == NULL);
	CHECK_INT(r->err, REDIS_ERR_IO);
	printf("# hung redis: \"%s\" after %lld ms\n", r->errstr,
	    (long long)dt);
	CHECK(strstr(r->errstr, "timed out after 300 ms") != NULL);
	if (dt < 290 || dt >= 2000)
		unit_fail(__FILE__, __LINE__, "timed out after %lld ms",
		    (long long)dt);
	CHECK(!rds_connected(r));
	kill(redis_pid, SIGCONT);
	/* The first try after a loss is at once, and it works. */
	rep = rds_command(r, "PING");
	CHECK(reply_is(rep, REDIS_REPLY_STATUS, "PONG"));
	freeReplyObject(rep);
	rds_free(r);
}

/* A dead Redis: fail fast, retry paced, reconnect by itself. */
static void
test_kill_and_reconnect(void)
{
	struct rds_opts o = { .connect_timeout_ms = 500,
	    .command_timeout_ms = 500, .backoff_base_ms = 50,
	    .backoff_cap_ms = 400 };
	struct rds *r;
	redisReply *rep;
	char err[128];
	int64_t t0, dt, worst = 0, end;
	int calls = 0, fast = 0, tries = 0;
	double rc0 = counter("grilld_redis_reconnects_total");
	double er0 = counter("grilld_redis_errors_total");
	bool saw_fast_msg = false;

	r = rds_connect(redis_url, &o, err, sizeof(err));
	CHECK(r != NULL && rds_connected(r));
	freeReplyObject(rds_command(r, "SET k v"));

	redis_stop();
	t0 = util_mono_ms();
	rep = rds_command(r, "GET k");
	dt = util_mono_ms() - t0;
	CHECK(rep == NULL);
	CHECK(r->err == REDIS_ERR_EOF || r->err == REDIS_ERR_IO);
	printf("# killed: \"%s\" after %lld ms\n", r->errstr, (long long)dt);
	CHECK(dt < 500);
	CHECK(!rds_connected(r));

	/* A second of commands: every one fails at once. */
	end = util_mono_ms() + 1000;
	while (util_mono_ms() < end) {
		t0 = util_mono_ms();
		rep = rds_command(r, "GET k");
		dt = util_mono_ms() - t0;
		if (dt > worst)
			worst = dt;
		calls++;
		CHECK(rep == NULL);
		freeReplyObject(rep);
		if (r->err == RDS_ERR_UNAVAILABLE) {
			fast++;
			if (!saw_fast_msg) {
				printf("# %s\n", r->errstr);
				saw_fast_msg = true;
			}
			CHECK(strncmp(r->errstr, "redis unavailable (retry in ",
			    28) == 0);
			CHECK(strstr(r->errstr, "Connection refused") != NULL);
		} else {
			tries++;
			CHECK(strstr(r->errstr, "connect redis://127.0.0.1:")
			    == r->errstr);
		}
		util_sleep_ms(5);
	}
	printf("# %d commands in 1 s: %d connects tried, %d failed fast, "
	    "slowest %lld ms\n", calls, tries, fast, (long long)worst);
	CHECK(worst < 300);	/* no network wait; slack for a busy box */
	CHECK(tries >= 2);		/* it keeps trying... */
	CHECK(tries < calls / 4);	/* ...but paced */
	CHECK(fast > 0);
	CHECK(counter("grilld_redis_errors_total") >= er0 + 1 + tries);
	CHECK(rds_command(r, "PING") == NULL);
	CHECK(rds_append_argv(r, 1, (const char *[]){ "PING" }, NULL) == -1);

	/* Back on the same port: rds reconnects within a backoff cap. */
	CHECK(redis_start());
	t0 = util_mono_ms();
	rep = NULL;
	while (rep == NULL && util_mono_ms() - t0 < 3000) {
		rep = rds_command(r, "PING");
		if (rep == NULL)
			util_sleep_ms(10);
	}
	dt = util_mono_ms() - t0;
	printf("# reconnected %lld ms after the restart\n", (long long)dt);
	CHECK(reply_is(rep, REDIS_REPLY_STATUS, "PONG"));
	freeReplyObject(rep);
	CHECK(dt <= 400 + 1000);	/* the backoff cap, and slack */
	CHECK(rds_connected(r));
	CHECK_INT(r->err, 0);
	CHECK(r->errstr[0] == '\0');
	CHECK_DBL(counter("grilld_redis_reconnects_total"), rc0 + 1, 0.0);
	rds_free(r);
}

/* Redis down from the start: a context all the same, and no hang. */
static void
test_connect_down(void)
{
	char err[128], url[64];
	struct rds *r;
	int64_t t0;

	snprintf(url, sizeof(url), "redis://127.0.0.1:%d", unit_free_port());
	t0 = util_mono_ms();
	r = rds_connect(url, NULL, err, sizeof(err));
	CHECK(r != NULL);
	if (r == NULL)
		return;
	CHECK(!rds_connected(r));
	CHECK_INT(r->err, REDIS_ERR_IO);
	CHECK(strstr(r->errstr, "Connection refused") != NULL);
	CHECK(rds_command(r, "PING") == NULL);
	CHECK(util_mono_ms() - t0 < 500);
	rds_free(r);

	snprintf(url, sizeof(url), "unix://%s/none.sock", unit_tmpdir());
	r = rds_connect(url, NULL, err, sizeof(err));
	CHECK(r != NULL && !rds_connected(r));
	printf("# %s\n", r->errstr);
	rds_free(r);
}

static bool redis_up;

static void
test_redis_starts(void)
{
	redis_up = redis_start();
	CHECK(redis_up);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	atexit(redis_stop);
	redis_port = unit_free_port();
	snprintf(redis_sock, sizeof(redis_sock), "%s/redis.sock",
	    unit_tmpdir());
	snprintf(redis_url, sizeof(redis_url), "redis://127.0.0.1:%d",
	    redis_port);

	UNIT_RUN(test_url_good);
	UNIT_RUN(test_url_bad);
	UNIT_RUN(test_url_sentinel);
	UNIT_RUN(test_connect_down);
	UNIT_RUN(test_sentinel_down);
	UNIT_RUN(test_redis_starts);
	if (redis_up) {
		UNIT_RUN(test_commands);
		UNIT_RUN(test_unix_and_auth);
		UNIT_RUN(test_pipeline);
		UNIT_RUN(test_pipeline_formatted);
		UNIT_RUN(test_send_closed);
		UNIT_RUN(test_tracking);
		UNIT_RUN(test_stream_walker);
		UNIT_RUN(test_command_timeout);
		UNIT_RUN(test_kill_and_reconnect);
	}
	redis_stop();
	return unit_done();
}
