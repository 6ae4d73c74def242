/*
 * rkeys: the Redis layout (rkeys.h). Before this file each daemon built
 * its keys its own way and the emit script lived in the poller and, word
 * for word, in bench/handoff.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rkeys.h"

static const char *const names[RKEY_COUNT] = {
	[RKEY_READINGS] = "readings",
	[RKEY_DEADLETTER] = "deadletter",
	[RKEY_EVENTS] = "events",
	[RKEY_ALERTS] = "alerts",
	[RKEY_LATEST] = "latest",
	[RKEY_LATEST_TS] = "latest:ts",
	[RKEY_DEVICES] = "devices",
	[RKEY_RULES] = "rules",
	[RKEY_RULES_VERSION] = "rules:version",
	[RKEY_ALERTSTATE] = "alertstate",
	[RKEY_POLLER_SEEN] = "poller:seen",
	[RKEY_LEASE_POLLER] = "lease:poller:",
	[RKEY_WEBHOOKS_PENDING] = "webhooks:pending",
};

/*
 * One call per batch of the poller's hand-off: KEYS[1] readings stream,
 * KEYS[2] poller:seen; ARGV[1] the stream's bound (ingest.stream_max),
 * ARGV[2] now plus ingest.future_skew in microseconds, then for each
 * reading "serial/channel", device time in microseconds (negative: the
 * device clock went back, follow it), the reading JSON. Microseconds
 * (1.7e15) are exact in Lua's doubles.
 *
 * A reading not past its channel's mark is already there (taken, not
 * appended); a mark further ahead than ARGV[2] was left by a clock far
 * ahead and is ignored. The script never trims: entries leave the stream
 * only when the ingester trims what every group acknowledged. When the
 * stream holds its bound, the script stops at that reading; it and the
 * rest of the batch go to the spool and are replayed when there is room
 * (back-pressure: docs/poller.md). Answers {appended, taken}, taken
 * counting from the first reading, so what follows a refusal is never
 * appended before it.
 */
const char rkey_emit_lua[] =
    "local room = tonumber(ARGV[1]) - redis.call('XLEN', KEYS[1])\n"
    "local max = tonumber(ARGV[2])\n"
    "local added, taken = 0, 0\n"
    "for i = 3, #ARGV, 3 do\n"
    "  local t = tonumber(ARGV[i + 1])\n"
    "  local reset = t < 0\n"
    "  if reset then t = -t end\n"
    "  local cur = tonumber(redis.call('HGET', KEYS[2], ARGV[i]) or '0')\n"
    "  if cur > max then cur = 0 end\n"
    "  if reset or cur < t then\n"
    "    if room <= 0 then break end\n"
    "    redis.call('XADD', KEYS[1], '*', '" RKEY_F_LAYOUT "', '"
    RKEY_LAYOUT "', '" RKEY_F_READING "', ARGV[i + 2])\n"
    "    redis.call('HSET', KEYS[2], ARGV[i], t)\n"
    "    added = added + 1\n"
    "    room = room - 1\n"
    "  end\n"
    "  taken = taken + 1\n"
    "end\n"
    "return {added, taken}\n";

const char *
rkey_name(enum rkey k)
{
	return (unsigned)k < RKEY_COUNT ? names[k] : "";
}

int
rkey(char *out, size_t len, const char *prefix, enum rkey k)
{
	int n = snprintf(out, len, "%s%s", prefix ? prefix : "",
	    rkey_name(k));

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

char *
rkey_dup(const char *prefix, enum rkey k)
{
	size_t len = (prefix ? strlen(prefix) : 0) + strlen(rkey_name(k)) + 1;
	char *s;

	if ((s = malloc(len)) != NULL)
		rkey(s, len, prefix, k);
	return s;
}

int
rkey_latest_field(char *out, size_t len, const char *device,
    const char *probe)
{
	int n = snprintf(out, len, "%s/%s", device, probe);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
rkey_latest_put(struct buf *b, const char *device, const char *probe)
{
	return buf_printf(b, "%s/%s", device, probe);
}

/* Glob characters escaped, so the first part matches itself alone. */
int
rkey_field_glob(struct buf *b, const char *device)
{
	for (; *device != '\0'; device++) {
		if (strchr("*?[]\\", *device) != NULL &&
		    buf_putc(b, '\\') == -1)
			return -1;
		if (buf_putc(b, *device) == -1)
			return -1;
	}
	return buf_puts(b, "/*");
}

int
rkey_alert_field(char *out, size_t len, const char *rule, const char *device,
    const char *probe)
{
	int n = snprintf(out, len, "%s/%s/%s", rule, device, probe);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
rkey_alert_side(char *out, size_t len, const char *field, const char *side)
{
	int n = snprintf(out, len, "%s%s", field, side);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

void
rkey_readings_xadd(const char **argv, size_t *lens, const char *stream,
    const char *json, size_t len)
{
	argv[0] = "XADD";
	argv[1] = stream;
	argv[2] = "*";
	argv[3] = RKEY_F_LAYOUT;
	argv[4] = RKEY_LAYOUT;
	argv[5] = RKEY_F_READING;
	argv[6] = json;
	for (int i = 0; i < 6; i++)
		lens[i] = strlen(argv[i]);
	lens[6] = len;
}
