/*
 * metrics.c - process-wide counters and the /metrics endpoint.
 *
 * Owns: the counters (atomics), the symbol hit table and the histograms
 * (under one mutex, taken once per message), and the HTTP listener
 * (http.c, one polling thread of its own).
 *
 * Limits: at most METRICS_MAX_SYMBOLS distinct symbol names (rule files
 * can hold thousands; beyond the cap hits count under symbol="_other"),
 * METRICS_MAX_STAGES stages, a handful of HTTP connections at a time with
 * a 10 s timeout; only GET /metrics is served.
 */
#include "autoconfig.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/http.h"
#include "net/metrics.h"
#include "core/scan.h"
#include "base/util.h"

#define METRICS_MAX_SYMBOLS 2048
#define METRICS_MAX_STAGES 16
#define METRICS_MAX_ZONES 64

/* histogram bucket bounds in seconds (Prometheus "le") */
static const double bounds[] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
	1, 2.5, 5, 10,
};
#define NBOUNDS (sizeof(bounds) / sizeof(bounds[0]))

struct histogram {
	unsigned long long bucket[NBOUNDS];	/* not cumulative here */
	unsigned long long count;
	double sum;			/* seconds */
};

struct symbol_count {
	char *name;
	unsigned long long hits;
};

static const char *const counter_names[METRIC_NCOUNTERS][2] = {
	[METRIC_DNS_ERRORS] = { "parapet_dns_errors_total",
		"DNS queries that failed (SERVFAIL, refused)" },
	[METRIC_DNS_TIMEOUTS] = { "parapet_dns_timeouts_total",
		"DNS queries abandoned at the dns_timeout_ms deadline" },
	[METRIC_REDIS_ERRORS] = { "parapet_redis_errors_total",
		"Redis commands or connections that failed" },
	[METRIC_REDIS_TIMEOUTS] = { "parapet_redis_timeouts_total",
		"Redis commands abandoned at redis_timeout_ms" },
	[METRIC_REGEX_LIMITS] = { "parapet_regex_limit_total",
		"regex matches stopped by the PCRE2 match or depth limit" },
	[METRIC_INTERNAL_ERRORS] = { "parapet_internal_errors_total",
		"messages whose scan failed inside parapet (on_error applied)" },
	[METRIC_BAYES_CLASSIFIED] = { "parapet_bayes_classified_total",
		"messages the Bayes classifier gave a probability" },
	[METRIC_BAYES_UNTRAINED] = { "parapet_bayes_untrained_total",
		"messages the Bayes classifier left alone: too little training" },
	[METRIC_BAYES_UNAVAILABLE] = { "parapet_bayes_unavailable_total",
		"messages classified without Bayes: Redis down or slow" },
	[METRIC_DKIM_KEYS_CACHED] = { "parapet_dkim_keys_cached_total",
		"DKIM public keys taken from the decoded-key cache" },
	[METRIC_DKIM_KEYS_DECODED] = { "parapet_dkim_keys_decoded_total",
		"DKIM public keys decoded from their DNS record" },
};

static atomic_ullong counters[METRIC_NCOUNTERS];
static atomic_llong connections;
static atomic_ullong generation;
static atomic_int reload_ok = 1;
static atomic_llong reload_time;
static atomic_ullong reloads[2];	/* failed, succeeded */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long long actions[4][2];	/* [action][skipped] */
static struct symbol_count symbols[METRICS_MAX_SYMBOLS];	/* first-seen order */
static size_t nsymbols;
/* open-addressing index into symbols[] (+1; 0 = empty), twice the cap so
 * a probe stays short: one lookup per hit, under the lock */
static unsigned short symbol_index[2 * METRICS_MAX_SYMBOLS];
_Static_assert((METRICS_MAX_SYMBOLS & (METRICS_MAX_SYMBOLS - 1)) == 0 &&
	       METRICS_MAX_SYMBOLS < 65535, "power of two, fits the index");
static unsigned long long other_symbols;
static struct histogram scan_hist;
static struct {
	const char *name;
	struct histogram h;
} stage_hist[METRICS_MAX_STAGES];
static size_t nstages;

/* DNS blocklist lookups per zone and result; zone NULL is "_other" */
static struct {
	char *zone;
	unsigned long long n[METRIC_DNSBL_NRESULTS];
} dnsbl[METRICS_MAX_ZONES + 1];
static size_t ndnsbl;
static const char *const dnsbl_results[METRIC_DNSBL_NRESULTS] = {
	"listed", "unlisted", "refused", "timeout", "error",
};

static struct http_server *httpd;

/* ---------------------------------------------------------------- updates */

void metrics_inc(enum metric_counter c)
{
	if ((unsigned)c < METRIC_NCOUNTERS)
		atomic_fetch_add(&counters[c], 1);
}

void metrics_connection(int delta)
{
	atomic_fetch_add(&connections, delta);
}

void metrics_reload(bool ok, unsigned long gen)
{
	atomic_store(&reload_ok, ok ? 1 : 0);
	atomic_store(&reload_time, (long long)time(NULL));
	atomic_fetch_add(&reloads[ok ? 1 : 0], 1);
	atomic_store(&generation, gen);
}

/* observe - one value (ms) into h; caller holds lock */
static void observe(struct histogram *h, double ms)
{
	double s = ms / 1000.0;
	size_t i = 0;

	while (i < NBOUNDS && s > bounds[i])
		i++;
	if (i < NBOUNDS)
		h->bucket[i]++;
	h->count++;
	h->sum += s;
}

void metrics_stage(const char *stage, double ms)
{
	size_t i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < nstages; i++)
		if (stage_hist[i].name == stage || strcmp(stage_hist[i].name, stage) == 0)
			break;
	if (i == nstages && nstages < METRICS_MAX_STAGES)
		stage_hist[nstages++].name = stage;
	if (i < nstages)
		observe(&stage_hist[i].h, ms);
	pthread_mutex_unlock(&lock);
}

/* metrics_dnsbl - one blocklist lookup */
void metrics_dnsbl(const char *zone, enum metric_dnsbl result)
{
	size_t i;

	if ((unsigned)result >= METRIC_DNSBL_NRESULTS)
		return;
	pthread_mutex_lock(&lock);
	for (i = 0; i < ndnsbl; i++)
		if (dnsbl[i].zone && strcmp(dnsbl[i].zone, zone) == 0)
			break;
	if (i == ndnsbl) {
		if (ndnsbl < METRICS_MAX_ZONES)
			dnsbl[ndnsbl++].zone = xstrdup(zone);
		else
			i = METRICS_MAX_ZONES;	/* "_other" */
	}
	dnsbl[i].n[result]++;
	pthread_mutex_unlock(&lock);
}

/* count_symbol - one hit of name; caller holds lock */
static void count_symbol(const char *name)
{
	size_t mask = sizeof(symbol_index) / sizeof(symbol_index[0]) - 1;
	size_t h = 2166136261u;	/* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 16777619u;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		unsigned short slot = symbol_index[i];
		if (slot == 0) {
			if (nsymbols == METRICS_MAX_SYMBOLS) {
				other_symbols++;
				return;
			}
			symbols[nsymbols].name = xstrdup(name);
			symbols[nsymbols].hits = 1;
			symbol_index[i] = (unsigned short)++nsymbols;
			return;
		}
		if (strcmp(symbols[slot - 1].name, name) == 0) {
			symbols[slot - 1].hits++;
			return;
		}
	}
}

void metrics_verdict(const struct scan *sc)
{
	const struct verdict *v = &sc->verdict;

	pthread_mutex_lock(&lock);
	if ((unsigned)v->action < 4)
		actions[v->action][v->skipped ? 1 : 0]++;
	if (!v->skipped) {
		observe(&scan_hist, sc->ms);
		for (size_t i = 0; i < sc->hits.n; i++)
			if (strncmp(sc->hits.v[i].name, "__", 2) != 0)
				count_symbol(sc->hits.v[i].name);
	}
	pthread_mutex_unlock(&lock);
}

/* ---------------------------------------------------------------- output */

/* put_label - a label value escaped per the exposition format */
static void put_label(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			buf_putc(b, '\\'), buf_putc(b, *s);
		else if (*s == '\n')
			buf_puts(b, "\\n");
		else
			buf_putc(b, *s);
	}
}

static void put_hist(struct buf *b, const char *name, const char *label,
		     const char *value, const struct histogram *h)
{
	unsigned long long cum = 0;

	for (size_t i = 0; i < NBOUNDS; i++) {
		cum += h->bucket[i];
		buf_printf(b, "%s_bucket{", name);
		if (label) {
			buf_printf(b, "%s=\"", label);
			put_label(b, value);
			buf_puts(b, "\",");
		}
		buf_printf(b, "le=\"%g\"} %llu\n", bounds[i], cum);
	}
	buf_printf(b, "%s_bucket{", name);
	if (label) {
		buf_printf(b, "%s=\"", label);
		put_label(b, value);
		buf_puts(b, "\",");
	}
	buf_printf(b, "le=\"+Inf\"} %llu\n", h->count);
	if (label) {
		buf_printf(b, "%s_sum{%s=\"", name, label);
		put_label(b, value);
		buf_printf(b, "\"} %.6f\n%s_count{%s=\"", h->sum, name, label);
		put_label(b, value);
		buf_printf(b, "\"} %llu\n", h->count);
	} else {
		buf_printf(b, "%s_sum %.6f\n%s_count %llu\n", name, h->sum, name,
			   h->count);
	}
}

char *metrics_render(size_t *len)
{
	static const char *const action_names[4] = {
		"accept", "quarantine", "tempfail", "reject"
	};
	struct buf b;

	buf_init(&b);
	pthread_mutex_lock(&lock);
	buf_puts(&b, "# HELP parapet_messages_total messages by final action; "
		 "scanned=\"no\" for trusted, authenticated or shutdown tempfails\n"
		 "# TYPE parapet_messages_total counter\n");
	for (int a = 0; a < 4; a++)
		for (int sk = 0; sk < 2; sk++)
			buf_printf(&b, "parapet_messages_total{action=\"%s\",scanned=\"%s\"} %llu\n",
				   action_names[a], sk ? "no" : "yes", actions[a][sk]);
	buf_puts(&b, "# HELP parapet_symbol_hits_total messages each symbol hit\n"
		 "# TYPE parapet_symbol_hits_total counter\n");
	for (size_t i = 0; i < nsymbols; i++) {
		buf_puts(&b, "parapet_symbol_hits_total{symbol=\"");
		put_label(&b, symbols[i].name);
		buf_printf(&b, "\"} %llu\n", symbols[i].hits);
	}
	if (other_symbols)
		buf_printf(&b, "parapet_symbol_hits_total{symbol=\"_other\"} %llu\n",
			   other_symbols);
	buf_puts(&b, "# HELP parapet_scan_seconds time parapet spent on a scanned message\n"
		 "# TYPE parapet_scan_seconds histogram\n");
	put_hist(&b, "parapet_scan_seconds", NULL, NULL, &scan_hist);
	buf_puts(&b, "# HELP parapet_stage_seconds time per pipeline stage per message\n"
		 "# TYPE parapet_stage_seconds histogram\n");
	for (size_t i = 0; i < nstages; i++)
		put_hist(&b, "parapet_stage_seconds", "stage", stage_hist[i].name,
			 &stage_hist[i].h);
	buf_puts(&b, "# HELP parapet_dnsbl_lookups_total DNS blocklist lookups by zone and "
		 "result (refused: a 127.255.255.x answer)\n"
		 "# TYPE parapet_dnsbl_lookups_total counter\n");
	for (size_t i = 0; i <= METRICS_MAX_ZONES; i++) {
		if (i >= ndnsbl && i < METRICS_MAX_ZONES)
			continue;
		for (int r = 0; r < METRIC_DNSBL_NRESULTS; r++) {
			if (i == METRICS_MAX_ZONES && dnsbl[i].n[r] == 0)
				continue;
			buf_puts(&b, "parapet_dnsbl_lookups_total{zone=\"");
			put_label(&b, dnsbl[i].zone ? dnsbl[i].zone : "_other");
			buf_printf(&b, "\",result=\"%s\"} %llu\n", dnsbl_results[r], dnsbl[i].n[r]);
		}
	}
	pthread_mutex_unlock(&lock);

	for (int c = 0; c < METRIC_NCOUNTERS; c++)
		buf_printf(&b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n",
			   counter_names[c][0], counter_names[c][1],
			   counter_names[c][0], counter_names[c][0],
			   (unsigned long long)atomic_load(&counters[c]));
	buf_printf(&b, "# HELP parapet_milter_connections open MTA connections\n"
		   "# TYPE parapet_milter_connections gauge\n"
		   "parapet_milter_connections %lld\n",
		   (long long)atomic_load(&connections));
	buf_puts(&b, "# HELP parapet_build_info the running version (value always 1)\n"
		 "# TYPE parapet_build_info gauge\n"
		 "parapet_build_info{version=\"");
	put_label(&b, PACKAGE_VERSION);
	buf_puts(&b, "\",revision=\"");
	put_label(&b, PARAPET_GIT_REVISION);
	buf_puts(&b, "\"} 1\n");
	buf_printf(&b, "# HELP parapet_ruleset_generation generation of the rule set in use\n"
		   "# TYPE parapet_ruleset_generation gauge\n"
		   "parapet_ruleset_generation %llu\n",
		   (unsigned long long)atomic_load(&generation));
	buf_printf(&b, "# HELP parapet_last_reload_success 1 if the last load or reload worked\n"
		   "# TYPE parapet_last_reload_success gauge\n"
		   "parapet_last_reload_success %d\n"
		   "# HELP parapet_last_reload_timestamp_seconds when it happened\n"
		   "# TYPE parapet_last_reload_timestamp_seconds gauge\n"
		   "parapet_last_reload_timestamp_seconds %lld\n",
		   atomic_load(&reload_ok), (long long)atomic_load(&reload_time));
	buf_printf(&b, "# HELP parapet_reloads_total loads and reloads by result\n"
		   "# TYPE parapet_reloads_total counter\n"
		   "parapet_reloads_total{result=\"ok\"} %llu\n"
		   "parapet_reloads_total{result=\"failed\"} %llu\n",
		   (unsigned long long)atomic_load(&reloads[1]),
		   (unsigned long long)atomic_load(&reloads[0]));
	*len = b.len;
	buf_putc(&b, '\0');
	return b.data;
}

/* ---------------------------------------------------------------- HTTP */

/* handle - one request: GET /metrics, nothing else */
static void handle(const struct http_request *req, struct http_response *resp, void *arg)
{
	size_t len;
	char *text;

	(void)arg;
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		http_reply_text(resp, 405, "only GET\n");
		http_add_header(resp, "Allow", "GET, HEAD");
		return;
	}
	if (strcmp(req->path, "/metrics") != 0) {
		http_reply_text(resp, 404, "not found; try /metrics\n");
		return;
	}
	text = metrics_render(&len);
	http_reply(resp, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

int metrics_start(const char *listen, char **errstr)
{
	static const struct http_options opt = {
		.threads = 1, .max_body = 0, .timeout_s = 10, .max_conns = 16,
	};
	char *err = NULL;

	if (httpd)
		return 0;
	if ((httpd = http_start(listen, &opt, handle, NULL, &err)) == NULL) {
		*errstr = xasprintf("metrics_listen: %s", err);
		free(err);
		return -1;
	}
	return 0;
}

void metrics_stop(void)
{
	httpd = http_stop(httpd);
}
