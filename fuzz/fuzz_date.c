/*
 * fuzz_date.c - libFuzzer target: SpamAssassin's date reading
 * (mail/date.c).  Promises: a parsed time lies in the years 1970..2038
 * (SpamAssassin clamps the year, a zone moves it by less than 100
 * hours), the same input reads the same twice, and nothing is read past
 * the input (ASan).
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/date.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - one run */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xmalloc(size + 1);
	long long t1 = -1, t2 = -1;

	memcpy(text, data, size);
	text[size] = '\0';
	bool ok = date_parse(text, size, &t1);
	if (ok != date_parse(text, size, &t2) || (ok && t1 != t2))
		abort();
	if (ok && (t1 < 0 || t1 > 2177452800LL + 100 * 3600))
		abort();
	free(text);
	return 0;
}
