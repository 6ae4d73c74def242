/*
 * api/openapi.c: the document is written with ' for " (each one is
 * turned into a quote), so an apostrophe in its prose breaks it, and
 * grilld-api refuses to start. It must parse.
 */
#include "../../api/api.h"
#include "unit.h"

static void
test_document_parses(void)
{
	CHECK_INT(api_openapi_init(), 0);
	api_openapi_free();
	/* Twice: init after free builds it again. */
	CHECK_INT(api_openapi_init(), 0);
	api_openapi_free();
}

int
main(void)
{
	UNIT_RUN(test_document_parses);
	return unit_done();
}
