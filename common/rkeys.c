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
	[RKEY_POLLER_GAPS] = "poller:gaps",
	[RKEY_POLLER_SINCE] = "poller:since",
	[RKEY_LEASE_POLLER] = "lease:poller:",
	[RKEY_WEBHOOKS_PENDING] = "webhooks:pending",
	[RKEY_WEBHOOKS_Q] = "webhooks:q:",
};

/*
 * One call per batch of the poller's hand-off: KEYS[1] readings stream,
 * KEYS[2] poller:seen, KEYS[3] poller:gaps; ARGV[1] the stream's bound
 * (ingest.stream_max), ARGV[2] now plus ingest.future_skew in
 * microseconds, ARGV[3] the time before which gaps are given up, then
 * for each reading "serial/channel", device time in microseconds
 * (negative: the device clock went back, follow it), the start of the
 * gap the reading ends ("0": none) and after a clock step another gap
 * ("from to-from"), the reading JSON. Microseconds
 * (1.7e15) are exact in Lua's doubles; the gaps are written from the
 * strings as they came.
 *
 * A reading not past its channel's mark is already there (taken, not
 * appended); a mark further ahead than ARGV[2] was left by a clock far
 * ahead and is ignored. A reading appended with a gap adds the gap to
 * its channel's field of poller:gaps in the same step, from the mark it
 * found if that is later (another poller sent the points up to it), and
 * drops the gaps the channel's "@b" mark passed or that were given up
 * (poller/archive.c). The gaps of a clock step lie below the "@b" mark:
 * it moves down to the lowest, as in the poller (poller/emit.c). A
 * reading with the reset flag moves its mark back whatever it was. The
 * script never trims: entries leave the stream only when the ingester
 * trims what every group acknowledged. When the
 * stream holds its bound, the script stops at that reading; it and the
 * rest of the batch go to the spool and are replayed when there is room
 * (back-pressure: docs/poller.md). Answers {appended, taken}, taken
 * counting from the first reading, so what follows a refusal is never
 * appended before it.
 */
const char rkey_emit_lua[] =
    "local room = tonumber(ARGV[1]) - redis.call('XLEN', KEYS[1])\n"
    "local max = tonumber(ARGV[2])\n"
    "local cutoff = tonumber(ARGV[3])\n"
    "local added, taken = 0, 0\n"
    "for i = 4, #ARGV, 4 do\n"
    "  local t = tonumber(ARGV[i + 1])\n"
    "  local reset = t < 0\n"
    "  if reset then t = -t end\n"
    "  local was = redis.call('HGET', KEYS[2], ARGV[i])\n"
    "  local cur = tonumber(was or '0')\n"
    "  if cur > max then cur = 0 end\n"
    "  if reset or cur < t then\n"
    "    if room <= 0 then break end\n"
    "    redis.call('XADD', KEYS[1], '*', '" RKEY_F_LAYOUT "', '"
    RKEY_LAYOUT "', '" RKEY_F_READING "', ARGV[i + 3])\n"
    "    redis.call('HSET', KEYS[2], ARGV[i], t)\n"
    "    local from, extra =\n"
    "        string.match(ARGV[i + 2], '^(%d+) (%d+%-%d+)$')\n"
    "    if not from then from = ARGV[i + 2] end\n"
    "    if not reset and from ~= '0' and cur > tonumber(from) then\n"
    "      from = was\n"
    "    end\n"
    "    local add = {}\n"
    "    local low = nil\n"
    "    if from ~= '0' and t - tonumber(from) >= 2 then\n"
    "      local to = string.gsub(ARGV[i + 1], '^%-', '')\n"
    "      add[#add + 1] = from .. '-' .. to\n"
    "      low = tonumber(from)\n"
    "    end\n"
    "    if extra then\n"
    "      add[#add + 1] = extra\n"
    "      local a = tonumber(string.match(extra, '^(%d+)'))\n"
    "      if not low or a < low then low = a end\n"
    "    end\n"
    "    if low then\n"
    "      local bkey = ARGV[i] .. '" RKEY_SEEN_BACKFILL "'\n"
    "      local bf = tonumber(redis.call('HGET', KEYS[2], bkey) or '0')\n"
    "      if bf > low then\n"
    "        bf = low\n"
    "        redis.call('HSET', KEYS[2], bkey, low)\n"
    "      end\n"
    "      local keep = {}\n"
    "      local old = redis.call('HGET', KEYS[3], ARGV[i])\n"
    "      if old then\n"
    "        for a, b in string.gmatch(old, '(%d+)-(%d+)') do\n"
    "          local e = tonumber(b)\n"
    "          if e > bf + 1 and e > cutoff then\n"
    "            keep[#keep + 1] = a .. '-' .. b\n"
    "          end\n"
    "        end\n"
    "      end\n"
    "      for _, g in ipairs(add) do keep[#keep + 1] = g end\n"
    "      redis.call('HSET', KEYS[3], ARGV[i], table.concat(keep, ' '))\n"
    "    end\n"
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
	size_t dl = strlen(device), pl = strlen(probe);

	/* Once per reading on the ingester's path: no printf. */
	if (dl + pl + 2 > len)
		return -1;
	memcpy(out, device, dl);
	out[dl] = '/';
	memcpy(out + dl + 1, probe, pl + 1);
	return 0;
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
