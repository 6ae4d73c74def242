/*
 * libFuzzer: the small text parsers that see outside data: timestamps,
 * durations, sizes, traceparent (an HTTP header), Retry-After.
 */
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "trace.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *s = malloc(len + 1), out[UTIL_TIME_LEN];
	struct trace_ctx ctx;
	int64_t v, back;

	if (s == NULL)
		return 0;
	memcpy(s, data, len);
	s[len] = '\0';
	if (util_time_parse(s, &v) == 0) {
		/* Whatever parses must format and parse back to itself. */
		util_time_format(v, out, sizeof(out));
		if (util_time_parse(out, &back) != 0 || back != v)
			abort();
	}
	util_parse_duration(s, &v);
	util_parse_size(s, &v);
	if (trace_parse(s, &ctx) == 0) {
		char tp[TRACEPARENT_LEN + 1];
		struct trace_ctx again;

		trace_format(&ctx, tp, sizeof(tp));
		if (trace_parse(tp, &again) != 0 ||
		    memcmp(&again, &ctx, sizeof(ctx)) != 0)
			abort();
	}
	backoff_parse_retry_after(s, 1700000000);
	util_utf8_valid(s, len);
	free(s);
	return 0;
}
