/*
 * libFuzzer: a Firestore document as the poller decodes it: a device,
 * a channel, an archive listing entry, a document's id, and the error
 * body of a Google API. Whatever the types, sizes and nesting, decoding
 * must neither crash nor leave a field unterminated or out of range.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../poller/poller.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_text(const char *s, size_t size)
{
	if (memchr(s, '\0', size) == NULL)
		abort();
}

static void
device(const cJSON *doc)
{
	struct tw_dev_doc d;

	if (fs_decode_device(doc, &d) == -1)
		return;
	check_text(d.serial, sizeof(d.serial));
	check_text(d.mac, sizeof(d.mac));
	check_text(d.label, sizeof(d.label));
	check_text(d.type, sizeof(d.type));
	check_text(d.model, sizeof(d.model));
	check_text(d.account_id, sizeof(d.account_id));
	check_text(d.firmware, sizeof(d.firmware));
	check_text(d.status, sizeof(d.status));
	check_text(d.battery_state, sizeof(d.battery_state));
	check_text(d.fan.state, sizeof(d.fan.state));
	if (d.serial[0] == '\0')
		abort();		/* a device without a serial is refused */
}

static void
channel(const cJSON *doc)
{
	struct tw_chan_doc c;

	if (fs_decode_channel(doc, &c) == -1)
		return;
	check_text(c.label, sizeof(c.label));
	check_text(c.type, sizeof(c.type));
	if (c.has_value && !isfinite(c.value))
		abort();		/* readings carry finite numbers only */
}

/* The fields archive.c reads from a listing entry. */
static void
archive_entry(const cJSON *doc)
{
	const cJSON *f = fs_fields(doc);
	char name[512];
	int64_t ns;

	if (fs_string(fs_field(f, "file"), name, sizeof(name)) == FS_OK)
		check_text(name, sizeof(name));
	fs_time(fs_field(f, "sessionStart"), &ns);
	fs_time(fs_field(f, "sessionEnd"), &ns);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char id[TW_TEXT_LEN], msg[128];
	const cJSON *docs, *doc;
	cJSON *root;

	if (fs_error_message((const char *)data, len, msg, sizeof(msg)) == 0)
		check_text(msg, sizeof(msg));
	if ((root = cJSON_ParseWithLength((const char *)data, len)) == NULL)
		return 0;
	if (fs_doc_id(root, id, sizeof(id)) == 0)
		check_text(id, sizeof(id));
	device(root);
	channel(root);
	archive_entry(root);
	/* An archive listing: {"documents": [...], "nextPageToken"}. */
	docs = cJSON_GetObjectItemCaseSensitive(root, "documents");
	cJSON_ArrayForEach(doc, docs) {
		device(doc);
		archive_entry(doc);
	}
	cJSON_Delete(root);
	return 0;
}
