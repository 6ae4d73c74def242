/* libFuzzer: the configuration loader (YAML through libyaml, the table). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "options.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static char path[64];
	struct grilld_conf g;
	struct conf_errs errs;
	struct conf cf;
	FILE *fp;

	if (path[0] == '\0')
		snprintf(path, sizeof(path), "/tmp/grilld-fuzz-conf.%d",
		    (int)getpid());
	if ((fp = fopen(path, "w")) == NULL)
		return 0;
	fwrite(data, 1, len, fp);
	fclose(fp);
	chmod(path, 0600);	/* files holding secrets must be private */
	conf_init(&cf, grilld_options, grilld_noptions, &g, sizeof(g));
	conf_load(&cf, path, &errs);
	conf_free(&cf);
	return 0;
}
