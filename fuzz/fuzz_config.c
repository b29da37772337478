/*
 * fuzz_config.c - libFuzzer target: parapet.conf parser.  Any input must
 * give a config or an error string, never a crash or a leak.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>

#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *err = NULL;
	struct config *cfg = config_parse_buf("fuzz.conf", (const char *)data, size, &err);

	if ((cfg == NULL) == (err == NULL))
		abort();	/* exactly one of them */
	config_free(cfg);
	free(err);
	return 0;
}
