/*
 * metrics.h - what the daemon counts, and /metrics in the Prometheus text
 * format (metrics_listen = HOST:PORT; off by default).
 *
 * The counters are process-wide: they describe the daemon, not one
 * engine, so they survive reloads.  Every update is an atomic add or a
 * short critical section, safe from any thread; nothing here ever blocks
 * a message on the HTTP side.
 */
#ifndef PARAPET_METRICS_H
#define PARAPET_METRICS_H

#include <stdbool.h>
#include <stddef.h>

struct scan;

enum metric_counter {
	METRIC_DNS_ERRORS,		/* SERVFAIL, refused, bad reply */
	METRIC_DNS_TIMEOUTS,		/* no answer within dns_timeout_ms */
	METRIC_REDIS_ERRORS,		/* connection refused, error reply */
	METRIC_REDIS_TIMEOUTS,		/* no reply within redis_timeout_ms */
	METRIC_REGEX_LIMITS,		/* a rule hit PCRE2's match limit */
	METRIC_INTERNAL_ERRORS,		/* a stage failed (on_error applied) */
	METRIC_BAYES_CLASSIFIED,	/* the classifier gave a probability */
	METRIC_BAYES_UNTRAINED,		/* silent: below bayes_min_spam/ham */
	METRIC_BAYES_UNAVAILABLE,	/* silent: Redis down or slow */
	METRIC_DKIM_KEYS_CACHED,	/* a DKIM key answered from the cache */
	METRIC_DKIM_KEYS_DECODED,	/* a DKIM key decoded (not cached) */
	METRIC_NCOUNTERS
};

/* metrics_inc - one more of c */
void metrics_inc(enum metric_counter c);
/* metrics_connection - an MTA connection opened (+1) or closed (-1) */
void metrics_connection(int delta);
/* metrics_stage - time spent in one stage for one message (name static) */
void metrics_stage(const char *stage, double ms);
/* metrics_verdict - a message's verdict is final (once per message) */
void metrics_verdict(const struct scan *sc);
/* what one DNS blocklist lookup got */
enum metric_dnsbl {
	METRIC_DNSBL_LISTED,	/* an answer (a hit for some subtest) */
	METRIC_DNSBL_UNLISTED,	/* NXDOMAIN or no record */
	METRIC_DNSBL_REFUSED,	/* 127.255.255.x: the list refused us */
	METRIC_DNSBL_TIMEOUT,	/* no answer within dns_timeout_ms */
	METRIC_DNSBL_ERROR,	/* SERVFAIL, bad reply */
	METRIC_DNSBL_NRESULTS
};
/* metrics_dnsbl - one lookup in zone (copied; at most METRICS_MAX_ZONES
 * distinct zones, the rest count as zone="_other") */
void metrics_dnsbl(const char *zone, enum metric_dnsbl result);
/* metrics_reload - a reload finished; generation is the current one */
void metrics_reload(bool ok, unsigned long generation);

/* metrics_render - the whole exposition text, fresh memory */
char *metrics_render(size_t *len);

/*
 * metrics_start - serve GET /metrics on listen ("HOST:PORT", IPv6 as
 * "[ADDR]:PORT").  0, or -1 with *errstr (caller frees).  Call after
 * daemon(3) and with signals blocked: it starts a thread.
 */
int metrics_start(const char *listen, char **errstr);
/* metrics_stop - close the listener (idempotent) */
void metrics_stop(void);

#endif
