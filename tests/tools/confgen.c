/*
 * confgen: writes the documented sample configuration (every option of
 * common/options.c with its default) to stdout. `make sample-config`
 * stores it as deploy/etc/grilld.yaml; 00-config checks they agree.
 */
#include <stdio.h>

#include "options.h"

int
main(void)
{
	conf_write_sample(grilld_options, grilld_noptions, stdout);
	return 0;
}
