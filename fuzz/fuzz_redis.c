/*
 * fuzz_redis.c - libFuzzer target: Redis replies and reputation values.
 * The input is parsed as RESP (hiredis's reader through redis_parse, with
 * an administrator's caps and with a message's, which must agree when the
 * tighter ones pass) and every value is handed to each interpreter
 * parapet has for replies: reputation counts, the Sentinel address, ROLE,
 * XREAD entries (tail) and stats rows.  The same bytes, as text, go
 * through the key-value functions (address, network, domain).
 * Invariants: no crash, counts that are accepted are finite and
 * non-negative, values are lower-case.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/redis.h"
#include "stages/rep/rep.h"
#include "stages/rep/rep_int.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* entry_check - every field of a parsed log entry is a string */
static bool entry_check(const struct rep_log_entry *le, void *arg)
{
	(void)arg;
	if (le->id == NULL)
		abort();
	return true;
}

/* lower_check - a key value never has upper-case ASCII */
static void lower_check(char *v)
{
	if (v == NULL)
		return;
	for (char *p = v; *p; p++)
		if (isupper((unsigned char)*p))
			abort();
	free(v);
}

/* vals_release - free n values parsed into a caller's array */
static void vals_release(const struct redis_val *v, int n)
{
	if (n > 0) {
		struct redis_val *heap = xcalloc((size_t)n, sizeof(*heap));
		memcpy(heap, v, (size_t)n * sizeof(*heap));
		redis_vals_free(heap, (size_t)n);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct redis_val v[8];
	int n = redis_parse((const char *)data, size, REDIS_SIZE_ADMIN, v, 8);
	struct redis_val w[8];
	int m = redis_parse((const char *)data, size, REDIS_SIZE_MESSAGE, w, 8);

	/* a message's caps are the tighter: what they pass, ADMIN passes too */
	if (m >= 0 && m != n)
		abort();
	vals_release(w, m);

	for (int i = 0; i < n; i++) {
		double s, h, t, d;
		char host[256];
		int port;
		if (rep_counts_of(&v[i], &s, &h, &t) &&
		    (!isfinite(s) || !isfinite(h) || s < 0 || h < 0))
			abort();
		if (redis_sentinel_addr(&v[i], host, sizeof(host), &port) &&
		    (port < 1 || port > 65535 || strlen(host) == 0))
			abort();
		(void)redis_role_is_master(&v[i]);
		(void)redis_val_number(&v[i], &d);
		char *last = NULL;
		bool stop;
		rep_xread_parse(&v[i], entry_check, NULL, &last, &stop);
		free(last);
		struct rep_stats_row row = { 0 };
		rep_stats_parse(&v[i], &row);
		if (row.accept < 0 || row.reject < 0 || row.other < 0)
			abort();
	}
	vals_release(v, n);

	char *text = xstrndup((const char *)data, size);
	lower_check(rep_ip_value(text));
	lower_check(rep_net_value(text));
	lower_check(rep_domain_value(text));
	for (int k = 0; k < REP_NKINDS; k++)
		lower_check(rep_value_normalize((enum rep_kind)k, text));
	free(text);
	return 0;
}
