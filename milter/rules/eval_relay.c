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

/* eval_relay_conf_clear - release this module's settings */
void eval_relay_conf_clear(struct rules_conf *c)
{
	cidr_list_free(&c->relay_trusted);
	cidr_list_free(&c->relay_internal);
	cidr_list_free(&c->relay_msa);
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
	{ NULL, 0, 0, 0, NULL },
};

const struct conf_directive eval_relay_directives[] = {
	{ "trusted_networks", dir_trusted },
	{ "internal_networks", dir_internal },
	{ "msa_networks", dir_msa },
	{ "clear_trusted_networks", dir_clear_trusted },
	{ "clear_internal_networks", dir_clear_internal },
	{ "clear_msa_networks", dir_clear_msa },
	{ NULL, NULL },
};
