/*
 * libFuzzer: an archive file from Firebase Storage as the backfill reads
 * it ({"readings": [[channel, epoch_ms, value, units], ...]}). The rows
 * kept must be in range and sorted. (A value may be infinite, 1e999:
 * emit.c sends those as no value.)
 */
#include <stdlib.h>

#include "../../poller/poller.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct archive_row *rows;
	size_t n, bad;

	rows = archive_parse_rows((const char *)data, len, &n, &bad);
	if (rows == NULL) {
		if (n != 0)
			abort();
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		const struct archive_row *r = &rows[i], *q = r - 1;

		if (r->channel < 1 || r->channel > 1000 || r->ts_ns <= 0)
			abort();
		if (i > 0 && (q->channel > r->channel ||
		    (q->channel == r->channel && q->ts_ns > r->ts_ns)))
			abort();	/* sorted by channel, then time */
	}
	free(rows);
	return 0;
}
