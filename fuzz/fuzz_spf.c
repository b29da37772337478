/*
 * fuzz_spf.c - libFuzzer target: the path a sender's TXT record takes
 * before and into libspf2 (SPEC §7): spf_record_precheck (caps), then
 * spf_record_normalize (RFC 7208 grammar, rewrites), then libspf2's
 * SPF_record_compile through spf_record_compile_test.  Invariants: what
 * the precheck passes is 7-bit printable and within the caps; the
 * normalizer's output starts with "v=spf1", passes the precheck again
 * and is a fixed point (normalizing it again changes nothing); the
 * lookups spf_record_targets finds in it are capped, macro-free names.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stages/auth/spf.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *rec = (const char *)data, *why = NULL;

	/* as an explanation text (exp=) */
	if (spf_record_precheck(rec, size, true, &why) == 0 && size > SPF_MAX_EXP)
		abort();
	why = NULL;
	if (spf_record_precheck(rec, size, false, &why) < 0) {
		if (why == NULL)
			abort();
		return 0;
	}
	if (size > SPF_MAX_RECORD)
		abort();
	for (size_t i = 0; i < size; i++)
		if (data[i] < 0x20 || data[i] > 0x7e)
			abort();
	char *text = xstrndup(rec, size);
	char *norm = spf_record_normalize(text, &why);
	if (norm) {
		if (strncmp(norm, "v=spf1", 6) != 0)
			abort();
		char *again = spf_record_normalize(norm, &why);
		if (again == NULL || strcmp(again, norm) != 0)
			abort();
		free(again);
		/* the lookups sent ahead: within the cap, names without
		 * macros and within a DNS name's length */
		struct spf_target t[10];
		size_t n = spf_record_targets(norm, "example.com", t, 10);
		if (n > 10)
			abort();
		for (size_t i = 0; i < n; i++)
			if (t[i].name[0] == '\0' || strchr(t[i].name, '%') ||
			    strlen(t[i].name) >= SPF_TARGET_NAME)
				abort();
		free(norm);
	}
	/* libspf2 compiles whatever passed (and must not crash on it) */
	(void)spf_record_compile_test(rec, size);
	free(text);
	return 0;
}
