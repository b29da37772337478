/*
 * fuzz_policy.c - libFuzzer target: the policy file (core/policy.c), then
 * a lookup of a few recipients.  Any input must load or give errors,
 * never a crash or a leak.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>

#include "core/config.h"
#include "core/policy.h"
#include "stages/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const rcpts[] = { "<a@b.test>", "x@sub.example.com", "@", "", "<>" };
	char *err = NULL;
	struct config *cfg = config_parse_buf("fuzz.conf", "", 0, &err);
	struct diag d;

	if (cfg == NULL)
		abort();
	diag_init(&d);
	struct policy_set *ps = policy_parse("fuzz.policy", (const char *)data, size, cfg,
					     stage_registry, &d);
	if ((ps == NULL) != (d.errors > 0))
		abort();
	for (size_t i = 0; i < sizeof(rcpts) / sizeof(rcpts[0]); i++)
		(void)policy_lookup(ps, rcpts[i]);
	policy_free(ps);
	diag_free(&d);
	config_free(cfg);
	return 0;
}
