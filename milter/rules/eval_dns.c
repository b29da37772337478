/*
 * eval_dns.c - DNS blocklists, SpamAssassin's way: the evals check_rbl,
 * check_rbl_txt and check_rbl_sub (Plugin/DNSEval.pm, Dns.pm) over the
 * client IP, and check_uridnsbl over the urirhssub / urirhsbl lines
 * (Plugin/URIDNSBL.pm), with uridnsbl_skip_domain and
 * uridnsbl_max_domains.
 *
 * Loading collects the zones the rule set asks (eval_prep hooks and the
 * directives below: rules_rbl_zones); the dnsbl stage (stages/dnsbl.c)
 * asks them and the evals read its answers from struct rules_rbl.
 *
 * Differences from SpamAssassin, each documented in parapet.conf(5):
 * - the relays are the client IP (the newest hop; the MTA's own Received
 *   field is not in the message a milter sees) then the relays parsed
 *   from Received (mail/received.h), split by trusted_networks and
 *   internal_networks as SpamAssassin does.  The set suffixes pick, from
 *   the public, distinct IPs, newest first (set_ips): none, every
 *   untrusted one; -lastexternal, the newest external one (the client
 *   for a border MX); -notfirsthop, the external ones but the oldest when
 *   there are several; -firsttrusted, the newest untrusted one (the
 *   relay our first trusted relay heard from); -untrusted, the untrusted
 *   ones but that one.  At most RBL_MAX_RELAY_IPS (num_check_received)
 *   of each.  Originating-IP fields (X-Originating-IP) are not added.
 * - uridnsbl / uridnssub (the A records of a URI domain's name servers)
 *   are not implemented: their lines are warned about and skipped.
 * - answers 127.255.255.x are refusals, never hits (the stage drops them).
 *
 * Subtests: check_rbl's third argument and check_rbl_sub's second are a
 * decimal bitmask (the answer is in 127/8 and shares a bit with it), a
 * dotted quad (equal), or else a regex on the answer text; urirhssub's
 * is a mask, a quad (equal), N1-N2 (inclusive range) or N/M (equal under
 * mask M), each number decimal, 0x hex or a dotted quad.
 *
 * Caps: DNSBL_MAX_ZONES zones, DNSBL_MAX_SUBTESTS subtests, DNSBL_MAX_SKIP
 * skip domains.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules/eval.h"
#include "rules/re.h"
#include "rules/rules_int.h"
#include "mail/message.h"
#include "mail/received.h"
#include "net/dns.h"
#include "base/cidr.h"
#include "base/util.h"

#define DNSBL_MAX_ZONES 64
#define DNSBL_MAX_SUBTESTS 1024
#define DNSBL_MAX_SETS 256
#define DNSBL_MAX_URI_RULES 1024
#define DNSBL_MAX_SKIP 100000
#define DNSBL_DEFAULT_MAX_DOMAINS 20

/* how a subtest compares an answer */
enum st_kind {
	ST_MASK,		/* answer in 127/8 and answer & a */
	ST_RANGE,		/* a <= answer <= b */
	ST_MASKED,		/* (answer & b) == (a & b) */
	ST_RE,			/* regex on the answer text */
};

struct subtest {
	char *text;		/* as written */
	bool uri;		/* urirhssub syntax (no regex) */
	enum st_kind kind;
	uint32_t a, b;
	struct re *re;
};

/* a check_rbl set: its name and zone */
struct rbl_set {
	char *name;
	size_t zone;
};

/* a urirhssub / urirhsbl rule */
struct uri_rule {
	char *name;
	size_t zone;
	struct subtest *st;	/* NULL: any answer (urirhsbl) */
};

struct dnsbl_conf {
	struct rbl_zone zones[DNSBL_MAX_ZONES];
	size_t nzones;
	struct subtest *subs[DNSBL_MAX_SUBTESTS];
	size_t nsubs;
	struct rbl_set sets[DNSBL_MAX_SETS];
	size_t nsets;
	struct uri_rule *uris;
	size_t nuris;
	char **skip;		/* sorted by dnsbl_conf_finish */
	size_t nskip;
	unsigned max_domains;
	bool max_set;
};

/* ---------------------------------------------------------------- load */

/* conf_get - the module's settings, created empty */
static struct dnsbl_conf *conf_get(struct rules_conf *c)
{
	if (c->dnsbl == NULL) {
		c->dnsbl = xcalloc(1, sizeof(*c->dnsbl));
		c->dnsbl->max_domains = DNSBL_DEFAULT_MAX_DOMAINS;
	}
	return c->dnsbl;
}

/* zone_norm - lower case, no trailing dot, into out; false if no name */
static bool zone_norm(const char *zone, char *out, size_t cap)
{
	size_t n = strlen(zone);

	while (n && zone[n - 1] == '.')
		n--;
	if (n == 0 || n >= cap)
		return false;
	memcpy(out, zone, n);
	out[n] = '\0';
	str_lower(out);
	return dns_name_ok(out);
}

/* zone_find - the index of (zone, rrtype, kind), or SIZE_MAX */
static size_t zone_find(const struct dnsbl_conf *d, const char *zone, int rrtype,
			enum rbl_kind kind)
{
	char z[DNS_NAME_MAX + 1];

	if (d == NULL || !zone_norm(zone, z, sizeof(z)))
		return SIZE_MAX;
	for (size_t i = 0; i < d->nzones; i++)
		if (d->zones[i].rrtype == rrtype && d->zones[i].kind == kind &&
		    strcmp(d->zones[i].zone, z) == 0)
			return i;
	return SIZE_MAX;
}

/* zone_add - the index of the zone, added if new; SIZE_MAX with *err */
static size_t zone_add(struct dnsbl_conf *d, const char *zone, int rrtype,
		       enum rbl_kind kind, const char **err)
{
	char z[DNS_NAME_MAX + 1];
	size_t i = zone_find(d, zone, rrtype, kind);

	if (i != SIZE_MAX)
		return i;
	if (!zone_norm(zone, z, sizeof(z))) {
		*err = "not a DNS zone name";
		return SIZE_MAX;
	}
	if (d->nzones == DNSBL_MAX_ZONES) {
		*err = "too many blocklist zones";
		return SIZE_MAX;
	}
	d->zones[d->nzones] = (struct rbl_zone){ xstrdup(z), rrtype, kind };
	return d->nzones++;
}

/* parse_num - a urirhssub number: decimal, 0x hex or a dotted quad */
static bool parse_num(const char *s, size_t n, uint32_t *v, bool *quad)
{
	char buf[32];
	unsigned char a[16];
	char *end;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	*quad = strchr(buf, '.') != NULL;
	if (*quad) {
		if (cidr_ip_parse(buf, a) != 4 || strspn(buf, "0123456789.") != n)
			return false;
		*v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
		return true;
	}
	if (!isdigit((unsigned char)buf[0]))
		return false;
	unsigned long long x = strtoull(buf, &end, strncasecmp(buf, "0x", 2) == 0 ? 16 : 10);
	if (*end != '\0' || x > UINT32_MAX)
		return false;
	*v = (uint32_t)x;
	return true;
}

/* subtest_parse - text in SpamAssassin's check_rbl syntax (uri false) or
 * urirhssub's (uri true) into st; NULL or an error */
static const char *subtest_parse(const char *text, bool uri, struct subtest *st)
{
	size_t n = strlen(text), cut = strcspn(text, "-/");
	bool q1, q2;
	char *rerr = NULL;

	memset(st, 0, sizeof(*st));
	if (!uri && strspn(text, "0123456789") == n && n > 0 && n <= 10) {
		unsigned long long x = strtoull(text, NULL, 10);
		if (x > UINT32_MAX)
			return "bitmask too large";
		st->kind = ST_MASK;
		st->a = (uint32_t)x;
		return NULL;
	}
	if (!uri && strspn(text, "0123456789.") == n && parse_num(text, n, &st->a, &q1)) {
		st->kind = ST_RANGE;	/* a dotted quad: equal */
		st->b = st->a;
		return NULL;
	}
	if (uri) {
		if (!parse_num(text, cut, &st->a, &q1))
			return "expected a mask, an address, N-M or N/M";
		if (cut == n) {
			st->kind = q1 ? ST_RANGE : ST_MASK;
			st->b = st->a;
			return NULL;
		}
		if (!parse_num(text + cut + 1, n - cut - 1, &st->b, &q2))
			return "expected a mask, an address, N-M or N/M";
		st->kind = text[cut] == '-' ? ST_RANGE : ST_MASKED;
		return NULL;
	}
	st->kind = ST_RE;
	if ((st->re = re_compile(text, n, "", &rerr)) == NULL) {
		free(rerr);
		return "bad subtest regex";
	}
	return NULL;
}

/* subtest_get - the compiled subtest for text, compiled once */
static const char *subtest_get(struct dnsbl_conf *d, const char *text, bool uri,
			       struct subtest **out)
{
	struct subtest st;
	const char *err;

	for (size_t i = 0; i < d->nsubs; i++)
		if (d->subs[i]->uri == uri && strcmp(d->subs[i]->text, text) == 0) {
			*out = d->subs[i];
			return NULL;
		}
	if (d->nsubs == DNSBL_MAX_SUBTESTS)
		return "too many blocklist subtests";
	if ((err = subtest_parse(text, uri, &st)) != NULL)
		return err;
	st.text = xstrdup(text);
	st.uri = uri;
	*out = d->subs[d->nsubs++] = xcalloc(1, sizeof(st));
	**out = st;
	return NULL;
}

/* subtest_find - the compiled subtest for text, or NULL */
static const struct subtest *subtest_find(const struct dnsbl_conf *d, const char *text)
{
	for (size_t i = 0; d && i < d->nsubs; i++)
		if (!d->subs[i]->uri && strcmp(d->subs[i]->text, text) == 0)
			return d->subs[i];
	return NULL;
}

/* prep_rbl - check_rbl / check_rbl_txt: the zone and its set */
static const char *prep_rbl(struct rules_conf *c, int rrtype, size_t argc,
			    char *const *argv)
{
	struct dnsbl_conf *d = conf_get(c);
	const char *err = NULL;
	struct subtest *st;
	size_t z = zone_add(d, argv[1], rrtype, RBL_IP, &err);

	if (z == SIZE_MAX)
		return err;
	if (argc > 2 && (err = subtest_get(d, argv[2], false, &st)) != NULL)
		return err;
	/* a set may name several zones (SpamAssassin's ssc-firsttrusted):
	 * check_rbl_sub reads the answers of every one */
	for (size_t i = 0; i < d->nsets; i++)
		if (strcmp(d->sets[i].name, argv[0]) == 0 && d->sets[i].zone == z)
			return NULL;
	if (d->nsets == DNSBL_MAX_SETS)
		return "too many blocklist sets";
	d->sets[d->nsets++] = (struct rbl_set){ xstrdup(argv[0]), z };
	return NULL;
}

/* prep_check_rbl - eval_prep of check_rbl */
static const char *prep_check_rbl(struct rules_conf *c, const char *rule, size_t argc,
				  char *const *argv)
{
	(void)rule;
	return prep_rbl(c, DNS_T_A, argc, argv);
}

/* prep_check_rbl_txt - eval_prep of check_rbl_txt */
static const char *prep_check_rbl_txt(struct rules_conf *c, const char *rule, size_t argc,
				      char *const *argv)
{
	(void)rule;
	return prep_rbl(c, DNS_T_TXT, argc, argv);
}

/* prep_check_rbl_sub - eval_prep of check_rbl_sub: compile the subtest */
static const char *prep_check_rbl_sub(struct rules_conf *c, const char *rule, size_t argc,
				      char *const *argv)
{
	struct subtest *st;

	(void)rule, (void)argc;
	return subtest_get(conf_get(c), argv[1], false, &st);
}

const struct eval_prep eval_dns_preps[] = {
	{ "check_rbl", prep_check_rbl },
	{ "check_rbl_txt", prep_check_rbl_txt },
	{ "check_rbl_sub", prep_check_rbl_sub },
	{ NULL, NULL },
};

/* uri_rule_parse - urirhssub NAME ZONE TYPE SUB / urirhsbl NAME ZONE TYPE */
static const char *uri_rule_parse(struct rules_conf *c, char *args, bool sub)
{
	struct dnsbl_conf *d = conf_get(c);
	char *name = rules_next_word(&args), *zone = rules_next_word(&args);
	char *type = rules_next_word(&args), *subt = sub ? rules_next_word(&args) : NULL;
	const char *err = NULL;
	struct subtest *st = NULL;
	int rrtype;
	size_t z;

	if (type == NULL || (sub && subt == NULL) || rules_next_word(&args) != NULL)
		return sub ? "expected NAME ZONE A|TXT SUBTEST" : "expected NAME ZONE A|TXT";
	if (strcasecmp(type, "A") == 0)
		rrtype = DNS_T_A;
	else if (strcasecmp(type, "TXT") == 0)
		rrtype = DNS_T_TXT;
	else
		return "the type must be A or TXT";
	if (d->nuris == DNSBL_MAX_URI_RULES)
		return "too many urirhssub rules";
	if ((z = zone_add(d, zone, rrtype, RBL_DOMAIN, &err)) == SIZE_MAX)
		return err;
	if (subt && (err = subtest_get(d, subt, true, &st)) != NULL)
		return err;
	for (size_t i = 0; i < d->nuris; i++)
		if (strcmp(d->uris[i].name, name) == 0) {	/* redefined */
			d->uris[i].zone = z;
			d->uris[i].st = st;
			return NULL;
		}
	d->uris = xrealloc(d->uris, (d->nuris + 1) * sizeof(*d->uris));
	d->uris[d->nuris++] = (struct uri_rule){ xstrdup(name), z, st };
	return NULL;
}

/* urirhssub - directive */
static const char *parse_urirhssub(struct rules_conf *c, char *args)
{
	return uri_rule_parse(c, args, true);
}

/* urirhsbl - directive */
static const char *parse_urirhsbl(struct rules_conf *c, char *args)
{
	return uri_rule_parse(c, args, false);
}

/* uridnsbl_skip_domain D... - never looked up */
static const char *parse_skip(struct rules_conf *c, char *args)
{
	struct dnsbl_conf *d = conf_get(c);
	char *w;

	while ((w = rules_next_word(&args)) != NULL) {
		if (d->nskip == DNSBL_MAX_SKIP)
			return "too many skip domains";
		d->skip = xrealloc(d->skip, (d->nskip + 1) * sizeof(*d->skip));
		d->skip[d->nskip++] = str_lower(xstrdup(w));
	}
	return NULL;
}

/* clear_uridnsbl_skip_domain [D...] - all, or the named ones */
static const char *parse_unskip(struct rules_conf *c, char *args)
{
	struct dnsbl_conf *d = conf_get(c);
	char *w = rules_next_word(&args);
	size_t o = 0;

	for (size_t i = 0; i < d->nskip; i++) {
		bool drop = w == NULL;
		for (char *a = w, *rest = args; a && !drop; a = rules_next_word(&rest))
			drop = strcasecmp(a, d->skip[i]) == 0;
		if (drop)
			free(d->skip[i]);
		else
			d->skip[o++] = d->skip[i];
	}
	d->nskip = o;
	return NULL;
}

/* uridnsbl_max_domains N */
static const char *parse_max(struct rules_conf *c, char *args)
{
	struct dnsbl_conf *d = conf_get(c);
	char *w = rules_next_word(&args), *end;
	long v;

	if (w == NULL || rules_next_word(&args) != NULL)
		return "expected a number";
	v = strtol(w, &end, 10);
	if (*end || v < 0 || v > 1000)
		return "expected a number from 0 to 1000";
	d->max_domains = (unsigned)v;
	return NULL;
}

const struct conf_directive eval_dns_directives[] = {
	{ "urirhssub", parse_urirhssub },
	{ "urirhsbl", parse_urirhsbl },
	{ "uridnsbl_skip_domain", parse_skip },
	{ "clear_uridnsbl_skip_domain", parse_unskip },
	{ "uridnsbl_max_domains", parse_max },
	{ NULL, NULL },
};

/* dnsbl_conf_finish - sort the skip list */
void dnsbl_conf_finish(struct dnsbl_conf *d)
{
	if (d && d->nskip > 1)
		qsort(d->skip, d->nskip, sizeof(*d->skip), str_ptr_cmp);
}

/* dnsbl_conf_free - release */
void dnsbl_conf_free(struct dnsbl_conf *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->nzones; i++)
		free((char *)d->zones[i].zone);
	for (size_t i = 0; i < d->nsubs; i++) {
		re_free(d->subs[i]->re);
		free(d->subs[i]->text);
		free(d->subs[i]);
	}
	for (size_t i = 0; i < d->nsets; i++)
		free(d->sets[i].name);
	for (size_t i = 0; i < d->nuris; i++)
		free(d->uris[i].name);
	for (size_t i = 0; i < d->nskip; i++)
		free(d->skip[i]);
	free(d->uris);
	free(d->skip);
	free(d);
}

/* ---------------------------------------------------------------- stage API */

/* rules_rbl_zones - what the stage asks */
const struct rbl_zone *rules_rbl_zones(const struct ruleset *rs, size_t *n)
{
	const struct dnsbl_conf *d = rs && rs->conf ? rs->conf->dnsbl : NULL;

	*n = d ? d->nzones : 0;
	return d ? d->zones : NULL;
}

/* rules_rbl_max_domains - the per-message cap */
unsigned rules_rbl_max_domains(const struct ruleset *rs)
{
	const struct dnsbl_conf *d = rs && rs->conf ? rs->conf->dnsbl : NULL;

	return d ? d->max_domains : DNSBL_DEFAULT_MAX_DOMAINS;
}

/* rules_rbl_skip_domain - binary search of the skip list */
bool rules_rbl_skip_domain(const struct ruleset *rs, const char *domain)
{
	const struct dnsbl_conf *d = rs && rs->conf ? rs->conf->dnsbl : NULL;

	return d && d->nskip &&
	       bsearch(&domain, d->skip, d->nskip, sizeof(*d->skip), str_ptr_cmp) != NULL;
}

/* rbl_ip_name - reversed octets or nibbles, then the zone */
bool rbl_ip_name(const char *ip, const char *zone, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char a[16];
	char buf[DNS_NAME_MAX + 2];
	size_t o = 0;
	int fam = cidr_ip_parse(ip, a);

	if (fam == 4)
		o = (size_t)snprintf(buf, sizeof(buf), "%u.%u.%u.%u", a[3], a[2], a[1], a[0]);
	else if (fam == 6)
		for (int i = 15; i >= 0; i--) {
			buf[o++] = hex[a[i] & 15];
			buf[o++] = '.';
			buf[o++] = hex[a[i] >> 4];
			buf[o++] = i ? '.' : '\0';
		}
	else
		return false;
	return (size_t)snprintf(out, cap, "%s.%s", buf, zone) < cap;
}

/* rbl_ip_public - see eval.h */
bool rbl_ip_public(const char *ip)
{
	unsigned char a[16];
	int fam = ip ? cidr_ip_parse(ip, a) : 0;

	if (fam == 4)
		return !(a[0] == 0 || a[0] == 10 || a[0] == 127 ||
			 (a[0] == 169 && a[1] == 254) || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
			 (a[0] == 192 && a[1] == 168));
	if (fam == 6) {
		static const unsigned char loop[16] = { [15] = 1 };
		return memcmp(a, loop, 16) != 0 && (a[0] & 0xfe) != 0xfc &&
		       !(a[0] == 0xfe && (a[1] & 0xc0) == 0x80);
	}
	return false;
}

/* ip_push - add ip to out[*n] if public, new and room */
static void ip_push(const char **out, size_t *n, size_t cap, const char *ip)
{
	if (*n == cap || !rbl_ip_public(ip))
		return;
	for (size_t i = 0; i < *n; i++)
		if (strcmp(out[i], ip) == 0)
			return;
	out[(*n)++] = ip;
}

/* chain_ips - the untrusted (ext false) or external (ext true) IPs of m,
 * the client first unless in the trusted (internal) networks */
static size_t chain_ips(const struct rules_conf *c, struct msg *m, bool ext,
			const char **out, size_t cap)
{
	struct relay_nets nets = {
		c && c->relay_trusted_set ? &c->relay_trusted : NULL,
		c && c->relay_internal_set ? &c->relay_internal : NULL,
		c && c->relay_msa_set ? &c->relay_msa : NULL,
	};
	/* SpamAssassin: internal_networks default to trusted_networks and
	 * the other way round */
	const struct cidr_list *mine = ext ? (nets.internal ? nets.internal : nets.trusted)
		: (nets.trusted ? nets.trusted : nets.internal);
	const struct relays *rs = msg_relays(m, &nets);
	enum relay_set set = ext ? RELAYS_EXTERNAL : RELAYS_UNTRUSTED;
	size_t n = 0;

	if (m->client_ip && !(mine && cidr_list_match(mine, m->client_ip)))
		ip_push(out, &n, cap, m->client_ip);
	for (size_t i = 0; i < rs->n[set]; i++)
		ip_push(out, &n, cap, rs->set[set][i]->ip);
	return n;
}

/* set_ips - the IPs the set's suffix picks (see the file comment) */
static size_t set_ips(const struct rules_conf *c, struct msg *m, const char *set,
		      const char **out)
{
	const char *dash = strrchr(set, '-');
	const char *suf = dash ? dash + 1 : "";
	size_t n;

	if (strcmp(suf, "lastexternal") == 0 || strcmp(suf, "notfirsthop") == 0) {
		n = chain_ips(c, m, true, out, RBL_MAX_RELAY_IPS);
		if (suf[0] == 'l')
			return n ? 1 : 0;
		return n > 1 ? n - 1 : n;
	}
	n = chain_ips(c, m, false, out, RBL_MAX_RELAY_IPS);
	if (strcmp(suf, "firsttrusted") == 0)
		return n ? 1 : 0;
	if (strcmp(suf, "untrusted") == 0) {
		if (n == 0)
			return 0;
		memmove(out, out + 1, (n - 1) * sizeof(*out));
		return n - 1;
	}
	return n;
}

/* rules_rbl_relay_ips - see eval.h */
size_t rules_rbl_relay_ips(const struct ruleset *rs, struct msg *m, const char **out,
			   size_t cap)
{
	const struct rules_conf *c = rs ? rs->conf : NULL;
	const char *ext[RBL_MAX_RELAY_IPS];
	size_t n = cap < RBL_MAX_RELAY_IPS ? 0 : chain_ips(c, m, false, out, RBL_MAX_RELAY_IPS);
	size_t ne = chain_ips(c, m, true, ext, RBL_MAX_RELAY_IPS);

	for (size_t i = 0; i < ne; i++)
		ip_push(out, &n, cap, ext[i]);
	return n;
}

/* ---------------------------------------------------------------- evals */

/* quad_value - a dotted quad answer as a number; false if not one */
static bool quad_value(const char *s, uint32_t *v)
{
	bool quad;

	return parse_num(s, strlen(s), v, &quad) && quad;
}

/* subtest_match - does one answer value pass st (NULL: any answer)? */
static bool subtest_match(const struct subtest *st, const char *value, bool is_a,
			  struct re_scratch *re)
{
	uint32_t v = 0;
	size_t a, b;

	if (is_a && !quad_value(value, &v))
		return false;
	if (is_a && (v >> 24) != 127)	/* SpamAssassin: only 127/8 answers */
		return false;
	if (st == NULL)
		return true;
	switch (st->kind) {
	case ST_MASK:
		return is_a && (v & st->a) != 0;
	case ST_RANGE:
		return is_a && v >= st->a && v <= st->b;
	case ST_MASKED:
		return is_a && (v & st->b) == (st->a & st->b);
	case ST_RE:
		return re && re_match(st->re, value, strlen(value), 0, re, &a, &b) == RE_MATCH;
	}
	return false;
}

/* ip_in - is item one of ips[n]? */
static bool ip_in(const char *item, const char *const *ips, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(item, ips[i]) == 0)
			return true;
	return false;
}

/* zone_hits - the first answer of zone z that passes st, for an item in
 * ips (NULL: any item); its detail */
static unsigned zone_hits(const struct eval_env *env, size_t z, const struct subtest *st,
			  const char *const *ips, size_t nips)
{
	const struct rules_rbl *rb = env->auth ? env->auth->rbl : NULL;
	const struct dnsbl_conf *d = env->conf->dnsbl;
	bool is_a = d->zones[z].rrtype == DNS_T_A;
	struct re_scratch *re = NULL;
	unsigned hit = 0;

	for (size_t i = 0; rb && i < rb->n && !hit; i++) {
		const struct rbl_answer *an = &rb->v[i];
		if (an->zone != z || (ips && !ip_in(an->item, ips, nips)))
			continue;
		for (size_t k = 0; k < an->n && !hit; k++) {
			if (st && st->kind == ST_RE && re == NULL)
				re = re_scratch_new();
			if (!subtest_match(st, an->values[k], is_a, re))
				continue;
			hit = 1;
			if (env->detail)
				snprintf(env->detail, env->detail_cap, "%s%s%s listed in %s: %.80s",
					 an->item, an->where ? " in " : "", an->where ? an->where : "",
					 d->zones[z].zone, an->values[k]);
		}
	}
	re_scratch_free(re);
	return hit;
}

/* answered - did any list query get an answer at all?  Without one no
 * eval of this file can hit: each asks zone_hits, which reads answers */
static bool answered(const struct eval_env *env)
{
	return env->auth && env->auth->rbl && env->auth->rbl->n > 0;
}

/* zone_answered - did any query of zone z get an answer?  Without one no
 * subtest can pass, so the message's IPs need not be worked out (most
 * messages: no list names them, and none with DNS off) */
static bool zone_answered(const struct eval_env *env, size_t z)
{
	const struct rules_rbl *rb = env->auth ? env->auth->rbl : NULL;

	for (size_t i = 0; rb && i < rb->n; i++)
		if (rb->v[i].zone == z)
			return true;
	return false;
}

/* rbl_check - check_rbl and check_rbl_txt: the set's zone, argv[2] */
static unsigned rbl_check(const struct eval_env *env, int rrtype, size_t argc,
			  const char *const *argv)
{
	if (!answered(env))
		return 0;
	const struct dnsbl_conf *d = env->conf ? env->conf->dnsbl : NULL;
	size_t z = zone_find(d, argv[1], rrtype, RBL_IP);

	const char *ips[RBL_MAX_RELAY_IPS];

	if (z == SIZE_MAX || !zone_answered(env, z))
		return 0;
	size_t n = set_ips(env->conf, env->m, argv[0], ips);
	return zone_hits(env, z, argc > 2 ? subtest_find(d, argv[2]) : NULL, ips, n);
}

/* check_rbl(set, zone[, subtest]) */
static unsigned check_rbl(const struct eval_env *env, size_t argc, const char *const *argv)
{
	return rbl_check(env, DNS_T_A, argc, argv);
}

/* check_rbl_txt(set, zone[, regex]) */
static unsigned check_rbl_txt(const struct eval_env *env, size_t argc, const char *const *argv)
{
	return rbl_check(env, DNS_T_TXT, argc, argv);
}

/* check_rbl_sub(set, subtest) - an answer to the set's query passes */
static unsigned check_rbl_sub(const struct eval_env *env, size_t argc, const char *const *argv)
{
	if (!answered(env))
		return 0;
	const struct dnsbl_conf *d = env->conf ? env->conf->dnsbl : NULL;
	const struct subtest *st = subtest_find(d, argv[1]);
	const char *ips[RBL_MAX_RELAY_IPS];
	size_t nips = 0;
	bool have = false;	/* ips worked out, at the first answered zone */

	(void)argc;
	for (size_t i = 0; d && st && i < d->nsets; i++)
		if (strcmp(d->sets[i].name, argv[0]) == 0 && zone_answered(env, d->sets[i].zone)) {
			if (!have)
				nips = set_ips(env->conf, env->m, argv[0], ips);
			have = true;
			unsigned n = zone_hits(env, d->sets[i].zone, st, ips, nips);
			if (n)
				return n;
		}
	return 0;
}

/* check_uridnsbl(NAME) - the urirhssub/urirhsbl rule NAME hit */
static unsigned check_uridnsbl(const struct eval_env *env, size_t argc, const char *const *argv)
{
	if (!answered(env))
		return 0;
	const struct dnsbl_conf *d = env->conf ? env->conf->dnsbl : NULL;

	(void)argc;
	for (size_t i = 0; d && i < d->nuris; i++)
		if (strcmp(d->uris[i].name, argv[0]) == 0)
			return zone_hits(env, d->uris[i].zone, d->uris[i].st, NULL, 0);
	return 0;
}

const struct eval_def eval_dns_defs[] = {
	{ "check_rbl", EVAL_HEADER, 2, 3, check_rbl },
	{ "check_rbl_txt", EVAL_HEADER, 2, 3, check_rbl_txt },
	{ "check_rbl_sub", EVAL_HEADER, 2, 2, check_rbl_sub },
	{ "check_uridnsbl", EVAL_BODY | EVAL_URI, 1, 1, check_uridnsbl },
	{ NULL, 0, 0, 0, NULL },
};
