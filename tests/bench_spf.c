/*
 * bench_spf.c - the latency SPF adds at end of data for a sender whose
 * record reaches the client through a chain of nested include:s
 * (build/tests/bench_spf): a DNS server of its own (tests/unit/
 * lateserver.h) answers each query DELAY_MS late, and each message's
 * envelope comes ROUNDS times over two ways, alternating:
 *   hooks: the header fields arrive one every 10 ms for 1 s (a slow
 *          client; SPF follows its records' answers meanwhile);
 *   none:  the client waits 1 s after the envelope, then the whole
 *          message comes at once (SPF's hooks see only the answer of the
 *          envelope's own query: the chain is looked up at end of data,
 *          as before spf_prefetch).
 * Each round uses a fresh resolver (cold cache) and names of its own.
 * Printed: end of data to verdict in ms, each round, and the medians.
 * usage: bench_spf [ROUNDS [DELAY_MS]]
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/engine.h"
#include "core/mboxfile.h"
#include "core/scan.h"
#include "core/stage.h"
#include "rules/rules.h"
#include "stages/registry.h"
#include "base/util.h"
#include "unit/lateserver.h"

#define LEVELS 3		/* nested include:s */

/* cmp_double - qsort order */
static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* one_message - end of data to verdict, in ms, for one message of
 * round r (names of its own: a cold chain) */
static double one_message(int port, int r, bool hooks)
{
	char ns[96], *err = NULL, from[128];
	struct config *cfg;
	struct diag d;

	snprintf(ns, sizeof(ns), "dns_nameservers = 127.0.0.1:%d\ndns_timeout_ms = 5000\n", port);
	cfg = config_parse_buf("bench.conf", ns, strlen(ns), &err);
	diag_init(&d);
	const char **names = stage_symbol_names(stage_registry);
	struct ruleset *rs = rules_load_text("bench.cf", "", names, &d);
	if (cfg == NULL || rs == NULL) {
		fprintf(stderr, "bench_spf: %s\n", err ? err : "rules");
		exit(1);
	}
	diag_free(&d);
	struct engine *e = engine_new(cfg, rs, stage_registry);
	struct scan *sc = scan_new(e);
	snprintf(from, sizeof(from), "<alice@r%d%c.chain.example>", r, hooks ? 'h' : 'n');
	msg_set_client(sc->msg, "192.0.2.10", NULL, "[192.0.2.10]");
	msg_set_from(sc->msg, from);
	msg_add_rcpt(sc->msg, "<bob@rcpt.test>");
	scan_envelope_done(sc);
	for (int i = 0; i < 100; i++) {
		usleep(10 * 1000);
		if (hooks)
			scan_header(sc, "X-Filler", " slow");
	}
	const char *text = "Subject: no From, so no DMARC lookup\n\nbody\n";
	mboxfile_feed(sc, text, strlen(text));
	double t = now_ms();
	scan_finish(sc);
	t = now_ms() - t;
	if (!scan_has(sc, "SPF_PASS")) {
		fprintf(stderr, "bench_spf: no SPF_PASS\n");
		exit(1);
	}
	scan_free(sc);
	engine_unref(e);
	free(names);
	return t;
}

/* chain_add - the zone records of the chain of the sender domain
 * PRE.chain.example: it includes l1, l1 includes l2, ..., the last has
 * a:host, whose address is the client's */
static void chain_add(struct zone_rr *zone, int *nz, const char *pre)
{
	for (int l = 0; l <= LEVELS; l++) {
		char *name = l ? xasprintf("l%d.%s.chain.example", l, pre)
			: xasprintf("%s.chain.example", pre);
		char *txt = l < LEVELS
			? xasprintf("v=spf1 include:l%d.%s.chain.example -all", l + 1, pre)
			: xasprintf("v=spf1 a:host.%s.chain.example -all", pre);
		zone[(*nz)++] = (struct zone_rr){ name, DNS_T_TXT, txt };
	}
	zone[(*nz)++] = (struct zone_rr){ xasprintf("host.%s.chain.example", pre), DNS_T_A,
					  xstrdup("192.0.2.10") };
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 5, delay = argc > 2 ? atoi(argv[2]) : 100;
	static struct zone_rr zone[20 * 2 * (LEVELS + 2) + 1];
	struct late_server ls;
	int port, nz = 0;
	double h[20], n[20];

	if (rounds < 1 || rounds > 20 || delay < 0) {
		fprintf(stderr, "usage: bench_spf [ROUNDS (1-20) [DELAY_MS]]\n");
		return 2;
	}
	for (int r = 0; r < rounds; r++) {
		char pre[32];
		snprintf(pre, sizeof(pre), "r%dh", r);
		chain_add(zone, &nz, pre);
		snprintf(pre, sizeof(pre), "r%dn", r);
		chain_add(zone, &nz, pre);
	}
	late_start(&ls, delay, zone, &port);
	for (int r = 0; r < rounds; r++) {
		h[r] = one_message(port, r, true);
		n[r] = one_message(port, r, false);
		printf("round %d: end of data to verdict %.1f ms with the hooks, %.1f ms "
		       "without\n", r + 1, h[r], n[r]);
	}
	qsort(h, (size_t)rounds, sizeof(h[0]), cmp_double);
	qsort(n, (size_t)rounds, sizeof(n[0]), cmp_double);
	printf("median: %.1f ms with the hooks, %.1f ms without (%d include:s and an a:, "
	       "%d ms per answer)\n", h[rounds / 2], n[rounds / 2], LEVELS, delay);
	late_stop(&ls);
	for (int i = 0; i < nz; i++) {
		free((char *)zone[i].name);
		free((char *)zone[i].value);
	}
	return 0;
}
