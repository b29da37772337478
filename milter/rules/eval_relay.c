/*
 * eval_relay.c - SpamAssassin's RelayEval tests (Plugin/RelayEval.pm)
 * over the relays of mail/received.c, and the directives that split them:
 * trusted_networks, internal_networks, msa_networks and their clear_
 * forms (Conf.pm).  127.0.0.0/8 and ::1 are always trusted and internal
 * (received.c).  Negated entries (!net) are refused: parapet's CIDR lists
 * have no exclusions, and ignoring one would trust more than asked.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules/eval.h"
#include "mail/message.h"
#include "mail/received.h"
#include "base/util.h"

/* nets_add - append the networks of args to list */
static const char *nets_add(struct cidr_list *list, bool *set, char *args)
{
	struct cidr_list more;
	const char *err = NULL;

	if (strchr(args, '!') != NULL)
		return "negated networks (!net) are not supported";
	if (cidr_list_parse(args, &more, &err) < 0)
		return err;
	list->items = xrealloc(list->items, (list->count + more.count + 1) * sizeof(*list->items));
	if (more.count)
		memcpy(list->items + list->count, more.items, more.count * sizeof(*more.items));
	list->count += more.count;
	cidr_list_free(&more);
	*set = true;
	return NULL;
}

/* trusted_networks, internal_networks, msa_networks and clear_ forms */
static const char *dir_trusted(struct rules_conf *c, char *args)
{
	return nets_add(&c->relay_trusted, &c->relay_trusted_set, args);
}

static const char *dir_internal(struct rules_conf *c, char *args)
{
	return nets_add(&c->relay_internal, &c->relay_internal_set, args);
}

static const char *dir_msa(struct rules_conf *c, char *args)
{
	return nets_add(&c->relay_msa, &c->relay_msa_set, args);
}

static const char *dir_clear_trusted(struct rules_conf *c, char *args)
{
	(void)args;
	cidr_list_free(&c->relay_trusted);
	c->relay_trusted_set = false;
	return NULL;
}

static const char *dir_clear_internal(struct rules_conf *c, char *args)
{
	(void)args;
	cidr_list_free(&c->relay_internal);
	c->relay_internal_set = false;
	return NULL;
}

static const char *dir_clear_msa(struct rules_conf *c, char *args)
{
	(void)args;
	cidr_list_free(&c->relay_msa);
	c->relay_msa_set = false;
	return NULL;
}

/* ------------------------------------------------ registry boundaries */

#define RB_MAX 100000	/* util_rb_2tld and util_rb_3tld entries each */

/* rb_clear - clear_util_rb: both lists emptied */
static void rb_clear(struct rules_conf *c)
{
	for (size_t i = 0; i < c->nrb2; i++)
		free(c->rb2[i]);
	for (size_t i = 0; i < c->nrb3; i++)
		free(c->rb3[i]);
	free(c->rb2);
	free(c->rb3);
	c->rb2 = c->rb3 = NULL;
	c->nrb2 = c->nrb3 = 0;
}

/* rb_add - the lower-cased words of args onto a list */
static const char *rb_add(char ***list, size_t *n, char *args)
{
	return eval_words_add(list, n, RB_MAX, args, false, false) ? "too many util_rb entries"
								   : NULL;
}

static const char *dir_rb2(struct rules_conf *c, char *args)
{
	return rb_add(&c->rb2, &c->nrb2, args);
}

static const char *dir_rb3(struct rules_conf *c, char *args)
{
	return rb_add(&c->rb3, &c->nrb3, args);
}

static const char *dir_rb_clear(struct rules_conf *c, char *args)
{
	(void)args;
	rb_clear(c);
	return NULL;
}

static int rb_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* eval_relay_conf_finish - see eval.h */
void eval_relay_conf_finish(struct rules_conf *c)
{
	if (c->nrb2)
		qsort(c->rb2, c->nrb2, sizeof(*c->rb2), rb_cmp);
	if (c->nrb3)
		qsort(c->rb3, c->nrb3, sizeof(*c->rb3), rb_cmp);
}

/* rb_has - is s (n bytes) on the sorted list? */
static bool rb_has(char *const *l, size_t nl, const char *s, size_t n)
{
	char key[256];
	if (n >= sizeof(key) || nl == 0)
		return false;
	memcpy(key, s, n);
	key[n] = '\0';
	const char *k = key;
	return bsearch(&k, l, nl, sizeof(*l), rb_cmp) != NULL;
}

/* us_state - a US state's or territory's two letters (RegistryBoundaries'
 * %US_STATES) */
static bool us_state(const char *s, size_t n)
{
	static const char states[] = "ak al ar az ca co ct dc de fl ga gu hi ia id il in ks ky la ma "
				     "md me mi mn mo ms mt nc nd ne nh nj nm nv ny oh ok or pa pr ri "
				     "sc sd tn tx ut va vi vt wa wi wv wy ";
	if (n != 2)
		return false;
	for (const char *p = states; *p; p += 3)
		if (p[0] == s[0] && p[1] == s[1])
			return true;
	return false;
}

/*
 * rb_domain - RegistryBoundaries' split_domain: the registered domain of
 * d (lower case, dots squeezed and trimmed) into out: one label above
 * the longest util_rb_2tld / util_rb_3tld suffix (or the *.STATE.us
 * ones), else the last two labels
 */
static void rb_domain(const struct rules_conf *c, const char *d, char *out, size_t cap)
{
	char t[256];
	size_t n = 0, lab[128], nl = 0;
	for (const char *p = d; *p && n + 1 < sizeof(t); p++)
		if (!(*p == '.' && (n == 0 || t[n - 1] == '.')))
			t[n++] = (char)tolower((unsigned char)*p);
	while (n > 0 && t[n - 1] == '.')
		n--;
	t[n] = '\0';
	for (size_t i = 0; i < n && nl < 128; i++)
		if (i == 0 || t[i - 1] == '.')
			lab[nl++] = i;
	size_t i = 0;	/* the first label left */
#define LEN(k) ((k) + 1 < nl ? lab[(k) + 1] - 1 - lab[k] : n - lab[k])
	while (nl - i > 1) {
		size_t k = nl - i;
		const char *rest = t + lab[i];
		size_t rlen = n - lab[i];
		if (k == 2 && rb_has(c->rb2, c->nrb2, rest, rlen))
			break;
		if (k == 3) {
			bool us = LEN(i + 2) == 2 && memcmp(t + lab[i + 2], "us", 2) == 0;
			if (us ? us_state(t + lab[i + 1], LEN(i + 1)) : rb_has(c->rb3, c->nrb3, rest, rlen))
				break;
		}
		if (k == 4 && LEN(i + 3) == 2 && memcmp(t + lab[i + 3], "us", 2) == 0 &&
		    ((LEN(i) == 3 && memcmp(t + lab[i], "pvt", 3) == 0 && LEN(i + 1) == 3 &&
		      memcmp(t + lab[i + 1], "k12", 3) == 0) ||
		     (LEN(i) == 2 && t[lab[i]] == 'c' && (t[lab[i] + 1] == 'i' || t[lab[i] + 1] == 'o'))) &&
		    us_state(t + lab[i + 2], LEN(i + 2)))
			break;
		i++;
	}
#undef LEN
	if (i > 0)
		i--;	/* the label above the suffix */
	snprintf(out, cap, "%s", nl ? t + lab[i] : "");
}

/* eval_relay_conf_clear - release this module's settings */
void eval_relay_conf_clear(struct rules_conf *c)
{
	cidr_list_free(&c->relay_trusted);
	cidr_list_free(&c->relay_internal);
	cidr_list_free(&c->relay_msa);
	rb_clear(c);
}

/*
 * check_mailfrom_matches_rcvd - WLBLEval's: the envelope sender's
 * registered domain (rb_domain) is the rDNS's of the first untrusted
 * relay, or, with no untrusted relay, of one of the trusted ones
 */
static unsigned mailfrom_matches_rcvd(const struct eval_env *env, size_t argc,
				      const char *const *argv)
{
	struct buf a;
	unsigned hit = 0;
	(void)argc;
	(void)argv;
	buf_init(&a);
	eval_addr(env, "EnvelopeFrom", &a);
	const char *at = a.data ? strrchr(a.data, '@') : NULL;
	/* / \@ ( [^\@]+ \. [^\@]+ ) \z/x: a dot with a byte on each side */
	bool dom = false;
	for (const char *d = at ? strchr(at + 1, '.') : NULL; d && !dom; d = strchr(d + 1, '.'))
		dom = d > at + 1 && d[1] != '\0';
	if (dom) {
		char ad[256], rd[256];
		rb_domain(env->conf, at + 1, ad, sizeof(ad));
		const struct relays *rs = eval_relays(env);
		size_t nr = rs->n[RELAYS_UNTRUSTED] ? 1 : rs->n[RELAYS_TRUSTED];
		const struct relay **v = rs->n[RELAYS_UNTRUSTED] ? rs->set[RELAYS_UNTRUSTED] :
								   rs->set[RELAYS_TRUSTED];
		for (size_t i = 0; i < nr && !hit; i++) {
			if (v[i]->rdns == NULL || v[i]->rdns[0] == '\0')
				continue;
			rb_domain(env->conf, v[i]->rdns, rd, sizeof(rd));
			hit = strcmp(ad, rd) == 0;
		}
	}
	buf_free(&a);
	return hit;
}

/* check_all_trusted - trusted relays only, none unparseable */
static unsigned all_trusted(const struct eval_env *env, size_t argc, const char *const *argv)
{
	const struct relays *rs = eval_relays(env);
	(void)argc;
	(void)argv;
	return rs->n[RELAYS_TRUSTED] && !rs->n[RELAYS_UNTRUSTED] && !rs->unparseable;
}

/* check_no_relays - no relay at all, none unparseable */
static unsigned no_relays(const struct eval_env *env, size_t argc, const char *const *argv)
{
	const struct relays *rs = eval_relays(env);
	(void)argc;
	(void)argv;
	return !rs->n[RELAYS_TRUSTED] && !rs->n[RELAYS_UNTRUSTED] && !rs->unparseable;
}

/* check_relays_unparseable - a Received field SpamAssassin cannot read */
static unsigned unparseable(const struct eval_env *env, size_t argc, const char *const *argv)
{
	(void)argc;
	(void)argv;
	return eval_relays(env)->unparseable > 0;
}

/* any_untrusted - does one of the untrusted relays pass test? */
static unsigned any_untrusted(const struct eval_env *env, bool (*test)(const struct relay *r))
{
	const struct relays *rs = eval_relays(env);

	for (size_t i = 0; i < rs->n[RELAYS_UNTRUSTED]; i++)
		if (test(rs->set[RELAYS_UNTRUSTED][i]))
			return 1;
	return 0;
}

/* helo_ip_differs - r HELOs as a public IPv4 address whose first three
 * octets differ from its own public IPv4 address */
static bool helo_ip_differs(const struct relay *r)
{
	if (!received_is_ipv4(r->helo) || received_ip_private(r->helo))
		return false;
	if (!received_is_ipv4(r->ip) || received_ip_private(r->ip) || strcmp(r->helo, r->ip) == 0)
		return false;
	/* the HELO's "a.b.c." must not start the IP */
	const char *p = r->helo;
	for (int dots = 0; *p && dots < 3; p++)
		if (*p == '.')
			dots++;
	return strncmp(r->ip, r->helo, (size_t)(p - r->helo)) != 0;
}

/* helo_ip_mismatch - an untrusted relay HELOs as a public IPv4 address
 * whose first three octets differ from its public IPv4 address */
static unsigned helo_ip_mismatch(const struct eval_env *env, size_t argc,
				 const char *const *argv)
{
	(void)argc;
	(void)argv;
	return any_untrusted(env, helo_ip_differs);
}

/* dotcom_helo - the HELO ends in one of the webmail names spammers fake */
static bool dotcom_helo(const char *helo)
{
	static const char *const doms[] = { "lycos.com", "lycos.co.uk", "hotmail.com",
		"localhost.com", "excite.com", "caramail.com", "cs.com", "aol.com",
		"msn.com", "yahoo.com", "drizzle.com", NULL };
	size_t n = strlen(helo);
	for (size_t i = 0; doms[i]; i++) {
		size_t d = strlen(doms[i]);
		if (n >= d && strcasecmp(helo + n - d, doms[i]) == 0 &&
		    (n == d || helo[n - d - 1] == '.'))
			return true;
	}
	return false;
}

/*
 * check_for_no_rdns_dotcom_helo - the last public untrusted relay (the
 * one furthest from us) has no rDNS (the MTA looked) and HELOs as a big
 * webmail domain.  The last one: SpamAssassin 4.0.1's loop
 * (RelayEval.pm _check_received_helos) sets its answer to 0 at every
 * public relay before testing it, so only the last one's test stands;
 * the stock scores were set on that.
 */
static unsigned no_rdns_dotcom(const struct eval_env *env, size_t argc,
			       const char *const *argv)
{
	const struct relays *rs = eval_relays(env);
	unsigned hit = 0;

	(void)argc;
	(void)argv;
	for (size_t i = 0; i < rs->n[RELAYS_UNTRUSTED]; i++) {
		const struct relay *r = rs->set[RELAYS_UNTRUSTED][i];
		if (!r->ip_private)
			hit = dotcom_helo(r->helo) && r->no_reverse_dns;
	}
	return hit;
}

/* host_domain - SpamAssassin's hostname_to_domain on a lower-cased name:
 * the last two labels when the top one has 3+ characters (or holds
 * "ie", "fr", "de"), else the last three; names without letters (IP
 * addresses) as they are.  Fresh memory. */
static char *host_domain(const char *host)
{
	char *h = str_lower(xstrdup(host ? host : ""));
	const char *lab[RCVD_MAX_LINE / 2 + 2];
	size_t n = 0;

	if (strpbrk(h, "abcdefghijklmnopqrstuvwxyz") == NULL)
		return h;
	/* Perl's split /\./ keeps empty labels but drops trailing ones */
	for (const char *p = h; n < sizeof(lab) / sizeof(lab[0]);) {
		lab[n++] = p;
		const char *dot = strchr(p, '.');
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	size_t len = strlen(h);
	while (n > 0 && (lab[n - 1] == h + len || *lab[n - 1] == '.'))
		n--;
	if (n == 0)
		return h;
	const char *top = lab[n - 1];
	size_t toplen = strcspn(top, ".");
	size_t run = 0, best = 0;
	for (size_t i = 0; i < toplen; i++) {
		run = isspace((unsigned char)top[i]) ? 0 : run + 1;
		best = run > best ? run : best;
	}
	bool gtld = best >= 3 || memmem(top, toplen, "ie", 2) || memmem(top, toplen, "fr", 2) ||
		    memmem(top, toplen, "de", 2);
	size_t keep = n > 1 && gtld ? 2 : n > 2 ? 3 : 0;
	if (keep == 0)
		return h;
	const char *start = lab[n - keep];
	size_t end = (size_t)(top - h) + toplen;
	char *d = xstrndup(start, end - (size_t)(start - h));
	free(h);
	return d;
}

/* host_like - /^\w+(?:[\w.-]+\.)+\w+$/, a dotted host name */
static bool host_like(const char *s)
{
	return s && eval_re_fixed("^\\w+(?:[\\w.-]+\\.)+\\w+$", "", s, strlen(s), NULL, NULL);
}

/* check_for_forged_received_trail - more than one untrusted relay whose
 * by-host's domain is not the domain of the next relay's rDNS (the one
 * that handed the message over) */
static unsigned forged_trail(const struct eval_env *env, size_t argc, const char *const *argv)
{
	const struct relays *rs = eval_relays(env);
	size_t n = rs->n[RELAYS_UNTRUSTED];
	char **from = xcalloc(n + 1, sizeof(*from));
	unsigned mismatch = 0;

	(void)argc;
	(void)argv;
	for (size_t i = 0; i < n; i++)
		from[i] = host_domain(rs->set[RELAYS_UNTRUSTED][i]->rdns);
	for (size_t i = 0; i < n; i++) {
		const struct relay *r = rs->set[RELAYS_UNTRUSTED][i];
		char *by = host_domain(r->by);
		if (host_like(by)) {
			if ((strcmp(from[i], "localhost") == 0 ||
			     strcmp(from[i], "localhost.localdomain") == 0) &&
			    r->ip && strcmp(r->ip, "127.0.0.1") == 0) {
				free(from[i]);
				from[i] = NULL;
			}
			const char *prev = i > 0 ? from[i - 1] : NULL;
			if (host_like(prev) && strcmp(by, prev) != 0 &&
			    !(strcmp(by, "msn.com") == 0 && strcmp(prev, "hotmail.com") == 0))
				mismatch++;
		}
		free(by);
	}
	for (size_t i = 0; i < n; i++)
		free(from[i]);
	free(from);
	return mismatch > 1;
}

const struct eval_def eval_relay_defs[] = {
	{ "check_all_trusted", EVAL_ANY, 0, 0, all_trusted },
	{ "check_no_relays", EVAL_ANY, 0, 0, no_relays },
	{ "check_relays_unparseable", EVAL_ANY, 0, 0, unparseable },
	{ "helo_ip_mismatch", EVAL_ANY, 0, 0, helo_ip_mismatch },
	{ "check_for_no_rdns_dotcom_helo", EVAL_ANY, 0, 0, no_rdns_dotcom },
	{ "check_for_forged_received_trail", EVAL_ANY, 0, 0, forged_trail },
	{ "check_mailfrom_matches_rcvd", EVAL_ANY, 0, 0, mailfrom_matches_rcvd },
	{ NULL, 0, 0, 0, NULL },
};

const struct conf_directive eval_relay_directives[] = {
	{ "trusted_networks", dir_trusted },
	{ "internal_networks", dir_internal },
	{ "msa_networks", dir_msa },
	{ "clear_trusted_networks", dir_clear_trusted },
	{ "clear_internal_networks", dir_clear_internal },
	{ "clear_msa_networks", dir_clear_msa },
	{ "util_rb_2tld", dir_rb2 },
	{ "util_rb_3tld", dir_rb3 },
	{ "clear_util_rb", dir_rb_clear },
	{ NULL, NULL },
};
