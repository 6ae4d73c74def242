/* libFuzzer: the reading JSON parser, and the writers on what it accepts. */
#include <stdlib.h>

#include "reading.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct reading_errs errs;
	struct reading r, back;
	struct buf b;

	reading_init(&r);
	if (reading_parse((const char *)data, len, &r, NULL, &errs) == 0) {
		buf_init(&b);
		/* What was accepted must write and read back the same. */
		if (reading_write_json(&b, &r, 0) == 0) {
			reading_init(&back);
			if (reading_parse(b.data, b.len, &back, NULL, &errs) != 0)
				abort();
			reading_clear(&back);
		}
		buf_free(&b);
	}
	reading_clear(&r);
	return 0;
}
