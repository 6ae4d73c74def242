/*
 * libFuzzer: a runQuery answer as the poller reads it: cut into its
 * elements as it streams in (fs_split), each element decoded as a
 * device. The first byte of the input picks the size of the pieces it
 * arrives in; whatever the cut, the elements and the verdict must be
 * those of the answer arriving whole.
 */
#include <stdlib.h>
#include <string.h>

#include "../../poller/poller.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct seen {
	uint32_t	 hash;		/* of every element, in order */
	size_t		 n;
};

static int
element(const char *text, size_t len, void *arg)
{
	struct seen *s = arg;
	struct tw_dev_doc d;
	cJSON *root;

	for (size_t i = 0; i < len; i++)
		s->hash = s->hash * 31 + (unsigned char)text[i];
	s->n++;
	if ((root = cJSON_ParseWithLength(text, len)) == NULL)
		return -1;
	fs_decode_device(cJSON_GetObjectItemCaseSensitive(root, "document"),
	    &d);
	cJSON_Delete(root);
	return 0;
}

static int
split(const char *p, size_t len, size_t piece, struct seen *s)
{
	struct fs_split sp;
	int rc = 0;

	memset(s, 0, sizeof(*s));
	fs_split_init(&sp, 64 * 1024, element, s);
	for (size_t at = 0; at < len && rc == 0; at += piece)
		rc = fs_split_feed(&sp, p + at, len - at < piece ? len - at :
		    piece);
	if (rc == 0)
		rc = fs_split_finish(&sp);
	fs_split_free(&sp);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct seen whole, cut;
	size_t piece;
	int a, b;

	if (len < 1)
		return 0;
	piece = 1 + data[0] % 64;
	a = split((const char *)data + 1, len - 1, len, &whole);
	b = split((const char *)data + 1, len - 1, piece, &cut);
	if (a != b || whole.n != cut.n || whole.hash != cut.hash)
		abort();
	return 0;
}
