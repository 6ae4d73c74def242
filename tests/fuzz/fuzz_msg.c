/* libFuzzer: the internal message decoder. */
#include <cjson/cJSON.h>

#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	enum msg_type type;
	cJSON *body = NULL;
	char err[256];

	if (msg_decode(data, len, &type, &body, err, sizeof(err)) == 0)
		cJSON_Delete(body);
	return 0;
}
