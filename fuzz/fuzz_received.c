/*
 * fuzz_received.c - libFuzzer target: Received fields into relays
 * (mail/received.c).  The input is split at NUL bytes into fields (at
 * most RCVD_MAX_RELAYS + 2); the first byte picks whether trusted_networks
 * is set.  Promises: every relay string is "[ ip=... msa=N ]", the sets
 * partition the relays, the relays built in an arena (as a message's
 * are, and with received_gate on) are the same as those built with every
 * format searched, and nothing leaks (ASan).
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/received.h"
#include "base/arena.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* LLVMFuzzerTestOneInput - one run */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	bool nets = data[0] & 1;
	char *text = xstrndup((const char *)data + 1, size - 1);
	const char *v[RCVD_MAX_RELAYS + 2];
	size_t n = 0;
	for (char *p = text; n < RCVD_MAX_RELAYS + 2;) {
		v[n++] = p;
		char *nl = strchr(p, '\n');
		if (nl == NULL)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	struct cidr_list list;
	const char *err;
	cidr_list_parse("192.0.2.0/24 10.0.0.0/8", &list, &err);
	struct relay_nets rn = { &list, NULL, NULL };
	received_gate = false;
	struct relays *rs = received_build(v, n, nets ? &rn : NULL);
	received_gate = true;
	if (rs->n[RELAYS_TRUSTED] + rs->n[RELAYS_UNTRUSTED] > rs->nall ||
	    rs->n[RELAYS_INTERNAL] + rs->n[RELAYS_EXTERNAL] > rs->nall || rs->nall > RCVD_MAX_RELAYS)
		abort();
	for (int k = 0; k < RELAYS_NSETS; k++)
		if (rs->n[k] && (strncmp(rs->str[k], "[ ip=", 5) != 0 ||
				 rs->str[k][strlen(rs->str[k]) - 1] != ']'))
			abort();
	struct arena a;
	arena_init(&a, (size_t)1 << 30);
	struct relays *in = received_build_in(v, n, nets ? &rn : NULL, &a);
	if (in->nall != rs->nall || in->unparseable != rs->unparseable)
		abort();
	for (int k = 0; k < RELAYS_NSETS; k++)
		if (in->n[k] != rs->n[k] || strcmp(in->str[k], rs->str[k]) != 0)
			abort();
	arena_free(&a);
	received_free(rs);
	cidr_list_free(&list);
	free(text);
	return 0;
}
