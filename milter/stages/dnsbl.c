/*
 * dnsbl.c - the "dnsbl" stage (dnsbl.h): asks the DNS blocklists the
 * rule set names (rules_rbl_zones: check_rbl, check_rbl_txt, urirhssub,
 * urirhsbl) and hands the answers to the rules stage through the scan
 * (scan_add_rbl).  The symbols are the rules' (eval_dns.c).
 *
 * The client IP's queries start at the envelope, so they overlap the
 * message transfer; those of the relays named in Received (untrusted or
 * external, rules_rbl_relay_ips: the check_rbl set suffixes pick among
 * them) when the header is complete (the first body chunk, else end of
 * message); the domain queries at end of message, when the URIs are
 * known.  Every wait takes the message's one DNS deadline.
 *
 * Domains: the registrable domain (Public Suffix List, dmarc_org_domain)
 * of the From and Reply-To addresses, the HELO name, the reverse-DNS name
 * and every URI host, minus uridnsbl_skip_domain.  At most
 * rules_rbl_max_domains (uridnsbl_max_domains, default 20) distinct
 * domains per message, the header and connection names first, then the
 * URI domains most frequent first: each domain costs one query per zone,
 * all waited for within dns_timeout_ms, and a message with hundreds of
 * links must not cost hundreds of queries.  Spam advertises few domains,
 * so the most frequent ones are those a list is likely to name.
 *
 * Answers 127.255.255.x are a list refusing the resolver (Spamhaus
 * answers so to public or over-quota resolvers): never hits, counted as
 * refused in /metrics and logged once per message.  Timeouts and SERVFAIL
 * add nothing; the message goes on.
 *
 * Owns: the pending queries in the stage's slot, freed by cleanup.
 * Caps: DNSBL_MAX_QUERIES queries, 2 x RBL_MAX_RELAY_IPS relay IPs, DNSBL_MAX_CANDIDATES distinct domains
 * counted, DNSBL_MAX_VALUES records per answer.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine.h"
#include "core/scan.h"
#include "core/stage.h"
#include "stages/auth/dmarc.h"
#include "stages/dnsbl.h"
#include "rules/eval.h"
#include "mail/auth.h"
#include "mail/uri.h"
#include "net/dns.h"
#include "net/metrics.h"
#include "base/cidr.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/util.h"

#define DNSBL_MAX_QUERIES 1024
#define DNSBL_MAX_CANDIDATES 500
#define DNSBL_MAX_VALUES 16

/* one pending lookup */
struct dq {
	size_t zone;
	char *item;		/* the IP or domain */
	const char *where;	/* static */
	struct dns_query *q;
};

struct dnsbl_state {
	struct dq *v;
	size_t n;
	bool relays;		/* the Received relays' queries started */
};

/* a domain found in the message */
struct cand {
	char dom[AUTH_DOMAIN_SIZE];
	const char *where;
	unsigned count, order;
	bool header;		/* From, Reply-To, HELO, rDNS: asked first */
};

/* dnsbl_ip_public - see dnsbl.h */
bool dnsbl_ip_public(const char *ip)
{
	return rbl_ip_public(ip);
}

/* start - one query into the state */
static void start(struct scan *sc, struct dnsbl_state *st, size_t zone, const char *item,
		  const char *where, const char *name, int rrtype)
{
	if (st->n == DNSBL_MAX_QUERIES)
		return;
	st->v = xrealloc(st->v, (st->n + 1) * sizeof(*st->v));
	st->v[st->n++] = (struct dq){
		zone, xstrdup(item), where, dns_start(sc->engine->dns, name, rrtype),
	};
}

/* state_get - the slot's state, created */
static struct dnsbl_state *state_get(void **slot)
{
	if (*slot == NULL)
		*slot = xcalloc(1, sizeof(struct dnsbl_state));
	return *slot;
}

/* dnsbl_envelope - the client IP in every IP zone */
static void dnsbl_envelope(struct scan *sc, void **slot)
{
	size_t nz;
	const struct rbl_zone *z = rules_rbl_zones(sc->engine->rules, &nz);
	const char *ip = sc->msg->client_ip;
	char name[DNS_NAME_MAX + 2];

	if (!dnsbl_ip_public(ip))
		return;
	for (size_t i = 0; i < nz; i++)
		if (z[i].kind == RBL_IP && rbl_ip_name(ip, z[i].zone, name, sizeof(name)))
			start(sc, state_get(slot), i, ip, NULL, name, z[i].rrtype);
}

/* start_relays - once the header is complete: the relays of Received
 * (not the client, asked at the envelope) in every IP zone */
static void start_relays(struct scan *sc, void **slot)
{
	size_t nz;
	const struct rbl_zone *z = rules_rbl_zones(sc->engine->rules, &nz);
	const char *ips[2 * RBL_MAX_RELAY_IPS];
	char name[DNS_NAME_MAX + 2];
	bool any = false;

	for (size_t i = 0; i < nz; i++)
		any |= z[i].kind == RBL_IP;
	if (!any || state_get(slot)->relays)
		return;
	state_get(slot)->relays = true;
	size_t n = rules_rbl_relay_ips(sc->engine->rules, sc->msg, ips, 2 * RBL_MAX_RELAY_IPS);
	for (size_t k = 0; k < n; k++) {
		if (sc->msg->client_ip && strcmp(ips[k], sc->msg->client_ip) == 0)
			continue;
		for (size_t i = 0; i < nz; i++)
			if (z[i].kind == RBL_IP && rbl_ip_name(ips[k], z[i].zone, name, sizeof(name)))
				start(sc, state_get(slot), i, ips[k], NULL, name, z[i].rrtype);
	}
}

/* dnsbl_body - the header is complete: start the relays' queries */
static void dnsbl_body(struct scan *sc, void **slot, const char *data, size_t len)
{
	(void)data, (void)len;
	start_relays(sc, slot);
}

/* cand_add - count the registrable domain of host */
static void cand_add(struct cand *c, size_t *n, const char *host, const char *where,
		     bool header)
{
	char dom[AUTH_DOMAIN_SIZE];
	unsigned char ip[16];

	if (host == NULL || cidr_ip_parse(host, ip) ||
	    dmarc_org_domain(host, dom, sizeof(dom)) < 0 || strchr(dom, '.') == NULL)
		return;
	for (size_t i = 0; i < *n; i++)
		if (strcmp(c[i].dom, dom) == 0) {
			c[i].count++;
			c[i].header |= header;
			return;
		}
	if (*n == DNSBL_MAX_CANDIDATES)
		return;
	str_copy(c[*n].dom, sizeof(c[*n].dom), dom);
	c[*n].where = where;
	c[*n].count = 1;
	c[*n].order = (unsigned)*n;
	c[*n].header = header;
	(*n)++;
}

/* cand_cmp - header names first, then most frequent, then first seen */
static int cand_cmp(const void *pa, const void *pb)
{
	const struct cand *a = pa, *b = pb;

	if (a->header != b->header)
		return a->header ? -1 : 1;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

/* field_domain - the domain of the first address of field name */
static void field_domain(struct cand *c, size_t *n, struct msg *m, const char *field,
			 const char *where)
{
	const struct header *h = msg_header(m, field, 0);
	char *d = h ? auth_addr_domain(h->value) : NULL;

	cand_add(c, n, d, where, true);
	free(d);
}

/* start_domains - the message's domains in every domain zone */
static void start_domains(struct scan *sc, void **slot)
{
	const struct ruleset *rs = sc->engine->rules;
	size_t nz, nc = 0, nuris;
	const struct rbl_zone *z = rules_rbl_zones(rs, &nz);
	struct msg *m = sc->msg;
	char host[AUTH_DOMAIN_SIZE], name[DNS_NAME_MAX + 2];
	bool any = false;

	for (size_t i = 0; i < nz; i++)
		any |= z[i].kind == RBL_DOMAIN;
	unsigned max = rules_rbl_max_domains(rs);
	if (!any || max == 0)
		return;
	struct cand *c = xcalloc(DNSBL_MAX_CANDIDATES, sizeof(*c));
	field_domain(c, &nc, m, "From", "From");
	field_domain(c, &nc, m, "Reply-To", "Reply-To");
	cand_add(c, &nc, m->helo, "HELO", true);
	cand_add(c, &nc, m->client_name, "rDNS", true);
	const char *const *uris = msg_uris(m, &nuris);
	for (size_t i = 0; i < nuris; i++)
		if (uri_host(uris[i], host, sizeof(host)))
			cand_add(c, &nc, host, "URI", false);
	qsort(c, nc, sizeof(*c), cand_cmp);
	for (size_t i = 0, asked = 0; i < nc && asked < max; i++) {
		if (rules_rbl_skip_domain(rs, c[i].dom))
			continue;
		asked++;
		for (size_t k = 0; k < nz; k++)
			if (z[k].kind == RBL_DOMAIN &&
			    str_join3(name, sizeof(name), c[i].dom, ".", z[k].zone))
				start(sc, state_get(slot), k, c[i].dom, c[i].where, name, z[k].rrtype);
	}
	free(c);
}

/* answer_values - the records of a, as text; refusals (127.255.255.x)
 * left out and counted in *refused.  Returns how many */
static size_t answer_values(const struct dns_answer *a, int rrtype, char **out,
			    unsigned *refused)
{
	size_t n = 0, len;

	for (size_t i = 0; i < a->n && n < DNSBL_MAX_VALUES; i++) {
		const unsigned char *d = a->data[i];
		if (rrtype == DNS_T_A && a->len[i] == 4) {
			if (d[0] == 127 && d[1] == 255 && d[2] == 255) {
				*refused = 256 + d[3];
				continue;
			}
			struct buf q;
			buf_init(&q);
			for (int b = 0; b < 4; b++) {
				if (b)
					buf_putc(&q, '.');
				buf_put_uint(&q, d[b]);
			}
			out[n++] = q.data;
		} else if (rrtype == DNS_T_TXT) {
			char *t = dns_txt_join(d, a->len[i], &len);
			if (t && strlen(t) == len)
				out[n++] = t;
			else
				free(t);
		}
	}
	return n;
}

/* dnsbl_eom - the domain queries, then every answer for the rules */
static int dnsbl_eom(struct scan *sc, void **slot)
{
	size_t nz;
	const struct rbl_zone *z = rules_rbl_zones(sc->engine->rules, &nz);
	struct dnsbl_state *st;
	bool logged = false;

	start_relays(sc, slot);
	start_domains(sc, slot);
	if ((st = *slot) == NULL)
		return 0;
	for (size_t i = 0; i < st->n; i++) {
		const struct dq *q = &st->v[i];
		const struct dns_answer *a = dns_wait(q->q, scan_dns_deadline(sc));
		const char *zone = z[q->zone].zone;
		char *vals[DNSBL_MAX_VALUES];
		unsigned refused = 0;
		size_t n;

		switch (a->rc) {
		case DNS_OK:
			n = answer_values(a, z[q->zone].rrtype, vals, &refused);
			if (refused && !logged) {
				log_warn("qid=%s dnsbl: %s answered 127.255.255.%u for %s: the "
					 "list refuses this resolver, no hit counted",
					 sc->msg->qid ? sc->msg->qid : "-", zone, refused - 256, q->item);
				logged = true;
			}
			if (n)
				scan_add_rbl(sc, q->zone, q->item, q->where, (const char *const *)vals, n);
			for (size_t k = 0; k < n; k++)
				free(vals[k]);
			metrics_dnsbl(zone, n ? METRIC_DNSBL_LISTED : refused ? METRIC_DNSBL_REFUSED
					  : METRIC_DNSBL_UNLISTED);
			break;
		case DNS_NODATA:
		case DNS_NXDOMAIN:
			metrics_dnsbl(zone, METRIC_DNSBL_UNLISTED);
			break;
		case DNS_TIMEOUT:
			metrics_dnsbl(zone, METRIC_DNSBL_TIMEOUT);
			break;
		default:
			metrics_dnsbl(zone, METRIC_DNSBL_ERROR);
			break;
		}
	}
	return 0;
}

/* dnsbl_cleanup - release the queries */
static void dnsbl_cleanup(struct scan *sc, void *state)
{
	struct dnsbl_state *st = state;

	(void)sc;
	for (size_t i = 0; i < st->n; i++) {
		dns_query_free(st->v[i].q);
		free(st->v[i].item);
	}
	free(st->v);
	free(st);
}

/* dnsbl_stage - DNS blocklists of IPs and domains */
const struct stage dnsbl_stage = {
	.name = "dnsbl",
	.dns = true,
	.envelope = dnsbl_envelope,
	.body = dnsbl_body,
	.eom = dnsbl_eom,
	.cleanup = dnsbl_cleanup,
};
