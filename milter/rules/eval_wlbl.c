/*
 * eval_wlbl.c - SpamAssassin's address lists: welcomelist_from,
 * blocklist_from, welcomelist_to, more_spam_to, all_spam_to, the named
 * lists of enlist_addrlist and enlist_uri_host, and the authenticated
 * lists welcomelist_auth, def_welcomelist_auth, welcomelist_from_spf and
 * welcomelist_from_dkim (Plugin/WLBLEval.pm, and the list checks of
 * Plugin/SPF.pm and Plugin/DKIM.pm), with SpamAssassin 4's names and the
 * 3.x ones (whitelist_*, blacklist_*).
 *
 * An entry is a glob over the lower-cased address (* any run, ? one
 * character), as SpamAssassin's.  Entries "*@domain" (nearly all of the
 * stock def_welcomelist_auth lines) are kept apart, sorted, and found by
 * binary search on the address's domain; only the other globs are tried
 * one by one.
 *
 * welcomelist_from_rcvd and def_welcomelist_from_rcvd also need the
 * relay the message came through: the parsed Received fields
 * (mail/received.c through eval_relays).
 *
 * parapet adds two network lists, welcomelist_ip and blocklist_ip (the
 * connecting client's address, IPv4 or IPv6 CIDR), read by
 * check_client_ip_in_welcomelist and check_client_ip_in_blocklist.  The
 * lists file (rules/lists.c, the lists_file key) adds its entries to these
 * same lists through wlbl_add.
 *
 * Caps: WLBL_MAX_ENTRIES per list, WLBL_MAX_LISTS named lists, addresses
 * over WLBL_MAX_ADDR bytes never match.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules/eval.h"
#include "rules/hits.h"
#include "mail/auth.h"
#include "mail/message.h"
#include "mail/received.h"
#include "base/cidr.h"
#include "mail/uri.h"
#include "base/util.h"

#define WLBL_MAX_ENTRIES 100000
#define WLBL_MAX_LISTS 256
#define WLBL_MAX_ADDR 320
#define WLBL_MAX_NAME 64
#define WLBL_MAX_HOST_KEYS 11	/* host and parent domains tried */

/* one list: "*@domain" entries by domain, other globs in order */
struct wl_list {
	char *name;		/* SpamAssassin's conf name or an enlist name */
	char **domains;		/* sorted after load (wlbl_conf_finish) */
	size_t ndomains;
	char **globs;
	char **args;		/* per glob: the signing domain (dkim) or NULL */
	size_t nglobs;
	bool sorted;
	/* enlist_uri_host: host -> listed (true) or excluded (!host) */
	char **hosts;
	bool *host_on;
	size_t nhosts;
	/* after load: the hosts sorted, each once (its last entry, which
	 * is the one that counts: SpamAssassin's hash keeps it), for
	 * bsearch */
	char **hsorted;
	bool *hsorted_on;
	size_t nhsorted;
	struct cidr_list nets;	/* welcomelist_ip, blocklist_ip */
};

struct wlbl_conf {
	struct wl_list *v;
	size_t n;
};

/* ---------------------------------------------------------------- lists */

/* list_get - the list called name, created empty if new; NULL past the cap */
static struct wl_list *list_get(struct rules_conf *c, const char *name)
{
	struct wlbl_conf *w;

	if (c->wlbl == NULL)
		c->wlbl = xcalloc(1, sizeof(*c->wlbl));
	w = c->wlbl;
	for (size_t i = 0; i < w->n; i++)
		if (strcmp(w->v[i].name, name) == 0)
			return &w->v[i];
	if (w->n == WLBL_MAX_LISTS)
		return NULL;
	w->v = xrealloc(w->v, (w->n + 1) * sizeof(*w->v));
	memset(&w->v[w->n], 0, sizeof(w->v[w->n]));
	w->v[w->n].name = xstrdup(name);
	return &w->v[w->n++];
}

/* list_find - the list called name, or NULL */
static const struct wl_list *list_find(const struct rules_conf *c, const char *name)
{
	if (c == NULL || c->wlbl == NULL)
		return NULL;
	for (size_t i = 0; i < c->wlbl->n; i++)
		if (strcmp(c->wlbl->v[i].name, name) == 0)
			return &c->wlbl->v[i];
	return NULL;
}

/* is_domain_glob - "*@domain" with no other wildcard */
static bool is_domain_glob(const char *g)
{
	return g[0] == '*' && g[1] == '@' && g[2] && strpbrk(g + 2, "*?") == NULL;
}

/* list_add - one glob (lower-cased), with an optional argument */
static const char *list_add(struct wl_list *l, const char *glob, const char *arg)
{
	char *g = str_lower(xstrdup(glob));

	if (l->ndomains + l->nglobs >= WLBL_MAX_ENTRIES) {
		free(g);
		return "too many entries in this list";
	}
	if (is_domain_glob(g) && arg == NULL) {
		l->domains = xrealloc(l->domains, (l->ndomains + 1) * sizeof(*l->domains));
		l->domains[l->ndomains++] = xstrdup(g + 2);
		free(g);
		l->sorted = false;
		return NULL;
	}
	l->globs = xrealloc(l->globs, (l->nglobs + 1) * sizeof(*l->globs));
	l->args = xrealloc(l->args, (l->nglobs + 1) * sizeof(*l->args));
	l->globs[l->nglobs] = g;
	l->args[l->nglobs++] = arg ? str_lower(xstrdup(arg)) : NULL;
	return NULL;
}

/* list_remove - every entry equal to glob (unwelcomelist_from ...) */
static void list_remove(struct wl_list *l, const char *glob)
{
	size_t o = 0;

	for (size_t i = 0; i < l->ndomains; i++) {
		if (is_domain_glob(glob) && strcasecmp(l->domains[i], glob + 2) == 0)
			free(l->domains[i]);
		else
			l->domains[o++] = l->domains[i];
	}
	l->ndomains = o;
	o = 0;
	for (size_t i = 0; i < l->nglobs; i++) {
		if (strcasecmp(l->globs[i], glob) == 0) {
			free(l->globs[i]);
			free(l->args[i]);
		} else {
			l->args[o] = l->args[i];
			l->globs[o++] = l->globs[i];
		}
	}
	l->nglobs = o;
}

/* list_clear - release one list's entries */
static void list_clear(struct wl_list *l)
{
	for (size_t i = 0; i < l->ndomains; i++)
		free(l->domains[i]);
	for (size_t i = 0; i < l->nglobs; i++) {
		free(l->globs[i]);
		free(l->args[i]);
	}
	for (size_t i = 0; i < l->nhosts; i++)
		free(l->hosts[i]);
	free(l->domains);
	free(l->globs);
	free(l->args);
	free(l->hosts);
	free(l->host_on);
	free(l->hsorted);
	free(l->hsorted_on);
	cidr_list_free(&l->nets);
	free(l->name);
}

/* wlbl_conf_free - release every list */
void wlbl_conf_free(struct wlbl_conf *w)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < w->n; i++)
		list_clear(&w->v[i]);
	free(w->v);
	free(w);
}

/* one entry of enlist_uri_host, for sorting */
struct host_entry {
	char *host;
	size_t pos;
	bool on;
};

/* host_order - by name, then by position in the list */
static int host_order(const void *a, const void *b)
{
	const struct host_entry *x = a, *y = b;
	int c = strcmp(x->host, y->host);

	return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

/* hosts_sort - l's hsorted */
static void hosts_sort(struct wl_list *l)
{
	struct host_entry *v = xmalloc((l->nhosts + 1) * sizeof(*v));

	for (size_t i = 0; i < l->nhosts; i++)
		v[i] = (struct host_entry){ l->hosts[i], i, l->host_on[i] };
	qsort(v, l->nhosts, sizeof(*v), host_order);
	free(l->hsorted);
	free(l->hsorted_on);
	l->hsorted = xmalloc((l->nhosts + 1) * sizeof(*l->hsorted));
	l->hsorted_on = xmalloc((l->nhosts + 1) * sizeof(*l->hsorted_on));
	l->nhsorted = 0;
	for (size_t i = 0; i < l->nhosts; i++) {
		if (i + 1 < l->nhosts && strcmp(v[i + 1].host, v[i].host) == 0)
			continue;	/* a later entry of the same host follows */
		l->hsorted[l->nhsorted] = v[i].host;
		l->hsorted_on[l->nhsorted++] = v[i].on;
	}
	free(v);
}

/* wlbl_conf_finish - sort what binary search reads, once loaded */
void wlbl_conf_finish(struct wlbl_conf *w)
{
	for (size_t i = 0; w && i < w->n; i++) {
		if (w->v[i].ndomains)
			qsort(w->v[i].domains, w->v[i].ndomains, sizeof(char *), str_ptr_cmp);
		if (w->v[i].nhosts)
			hosts_sort(&w->v[i]);
		w->v[i].sorted = true;
	}
}

/* wlbl_glob_match - SpamAssassin's address glob: * any run, ? one byte,
 * everything else literal; both lower case.  Iterative, O(n*m) worst. */
bool wlbl_glob_match(const char *g, const char *s)
{
	const char *star = NULL, *resume = NULL;

	while (*s) {
		if (*g == '*') {
			star = g++;
			resume = s;
		} else if (*g == '?' || *g == *s) {
			g++;
			s++;
		} else if (star) {
			g = star + 1;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*g == '*')
		g++;
	return *g == '\0';
}

/* list_match - the index+1 of the first glob that matches addr (lower
 * case), or SIZE_MAX for a domain entry, or 0 */
static size_t list_match(const struct wl_list *l, const char *addr)
{
	const char *at = strrchr(addr, '@');

	if (l == NULL)
		return 0;
	if (at && l->ndomains) {
		const char *key = at + 1;
		if (l->sorted ? bsearch(&key, l->domains, l->ndomains, sizeof(char *), str_ptr_cmp) != NULL
			      : false)
			return SIZE_MAX;
	}
	for (size_t i = 0; i < l->nglobs; i++)
		if (wlbl_glob_match(l->globs[i], addr))
			return i + 1;
	return 0;
}

/* ---------------------------------------------------------------- directives */

/* the directives: conf name of the list, alias, what the line does */
enum wl_op { OP_ADD, OP_REMOVE, OP_ADD_ARG, OP_NAMED_ADD, OP_NAMED_REMOVE, OP_URI_HOST, OP_NET };

/* what a list directive does: the list (NULL: named on the line) */
struct wl_spec {
	const char *list;
	enum wl_op op;
};

/* list_name - "(NAME)" at the start of a named-list line */
static const char *list_name(char **args, char *out, size_t cap)
{
	char *p = *args, *end;

	while (isspace((unsigned char)*p))
		p++;
	if (*p != '(' || (end = strchr(p, ')')) == NULL)
		return "expected (LISTNAME) first";
	size_t n = (size_t)(end - p - 1);
	if (n == 0 || n >= cap || n > WLBL_MAX_NAME)
		return "bad list name";
	memcpy(out, p + 1, n);
	out[n] = '\0';
	*args = end + 1;
	return NULL;
}

/* add_uri_host - enlist_uri_host: host or !host */
static const char *add_uri_host(struct wl_list *l, const char *w)
{
	bool on = w[0] != '!';

	if (!on)
		w++;
	if (*w == '\0')
		return "empty host";
	if (l->nhosts >= WLBL_MAX_ENTRIES)
		return "too many entries in this list";
	l->hosts = xrealloc(l->hosts, (l->nhosts + 1) * sizeof(*l->hosts));
	l->host_on = xrealloc(l->host_on, (l->nhosts + 1) * sizeof(*l->host_on));
	l->hosts[l->nhosts] = str_lower(xstrdup(w));
	l->host_on[l->nhosts++] = on;
	l->sorted = false;
	return NULL;
}

/* add_net - welcomelist_ip, blocklist_ip: one address or CIDR network */
static const char *add_net(struct wl_list *l, const char *w)
{
	if (l->nets.count >= WLBL_MAX_ENTRIES)
		return "too many entries in this list";
	if (cidr_list_add(&l->nets, w) < 0)
		return "not an IP address or CIDR network";
	return NULL;
}

/* wl_parse - one list directive */
static const char *wl_parse(const struct wl_spec *d, struct rules_conf *c, char *args)
{
	char name[WLBL_MAX_NAME + 1], *w;
	const char *err = NULL;
	struct wl_list *l;
	bool any = false;

	if (d->list == NULL && (err = list_name(&args, name, sizeof(name))) != NULL)
		return err;
	if ((l = list_get(c, d->list ? d->list : name)) == NULL)
		return "too many lists";
	if (d->op == OP_ADD_ARG) {
		char *glob = str_next_word(&args), *arg = str_next_word(&args);
		if (glob == NULL)
			return "expected an address";
		if (str_next_word(&args) != NULL)
			return "expected an address and at most one domain";
		if (strcmp(l->name, "welcomelist_from_rcvd") == 0 ||
		    strcmp(l->name, "def_welcomelist_from_rcvd") == 0) {
			if (arg == NULL)
				return "expected an address and a relay domain or [IP]";
		}
		return list_add(l, glob, arg);
	}
	while (err == NULL && (w = str_next_word(&args)) != NULL) {
		any = true;
		if (d->op == OP_URI_HOST)
			err = add_uri_host(l, w);
		else if (d->op == OP_NET)
			err = add_net(l, w);
		else if (d->op == OP_REMOVE || d->op == OP_NAMED_REMOVE)
			list_remove(l, w);
		else
			err = list_add(l, w, NULL);
	}
	if (err == NULL && !any)
		err = "expected one or more addresses";
	return err;
}

/* the directives, SpamAssassin 4's names and the 3.x ones */
static const struct wl_directive {
	const char *kw;
	struct wl_spec spec;
} wl_directives[] = {
	{ "welcomelist_from", { "welcomelist_from", OP_ADD } },
	{ "whitelist_from", { "welcomelist_from", OP_ADD } },
	{ "unwelcomelist_from", { "welcomelist_from", OP_REMOVE } },
	{ "unwhitelist_from", { "welcomelist_from", OP_REMOVE } },
	{ "blocklist_from", { "blocklist_from", OP_ADD } },
	{ "blacklist_from", { "blocklist_from", OP_ADD } },
	{ "unblocklist_from", { "blocklist_from", OP_REMOVE } },
	{ "unblacklist_from", { "blocklist_from", OP_REMOVE } },
	{ "welcomelist_to", { "welcomelist_to", OP_ADD } },
	{ "whitelist_to", { "welcomelist_to", OP_ADD } },
	{ "blocklist_to", { "blocklist_to", OP_ADD } },
	{ "blacklist_to", { "blocklist_to", OP_ADD } },
	{ "more_spam_to", { "more_spam_to", OP_ADD } },
	{ "all_spam_to", { "all_spam_to", OP_ADD } },
	{ "welcomelist_auth", { "welcomelist_auth", OP_ADD } },
	{ "whitelist_auth", { "welcomelist_auth", OP_ADD } },
	{ "unwelcomelist_auth", { "welcomelist_auth", OP_REMOVE } },
	{ "unwhitelist_auth", { "welcomelist_auth", OP_REMOVE } },
	{ "def_welcomelist_auth", { "def_welcomelist_auth", OP_ADD } },
	{ "def_whitelist_auth", { "def_welcomelist_auth", OP_ADD } },
	{ "undef_welcomelist_auth", { "def_welcomelist_auth", OP_REMOVE } },
	{ "undef_whitelist_auth", { "def_welcomelist_auth", OP_REMOVE } },
	{ "welcomelist_from_spf", { "welcomelist_from_spf", OP_ADD } },
	{ "whitelist_from_spf", { "welcomelist_from_spf", OP_ADD } },
	{ "def_welcomelist_from_spf", { "def_welcomelist_from_spf", OP_ADD } },
	{ "def_whitelist_from_spf", { "def_welcomelist_from_spf", OP_ADD } },
	{ "welcomelist_from_dkim", { "welcomelist_from_dkim", OP_ADD_ARG } },
	{ "whitelist_from_dkim", { "welcomelist_from_dkim", OP_ADD_ARG } },
	{ "def_welcomelist_from_dkim", { "def_welcomelist_from_dkim", OP_ADD_ARG } },
	{ "def_whitelist_from_dkim", { "def_welcomelist_from_dkim", OP_ADD_ARG } },
	{ "unwelcomelist_from_dkim", { "welcomelist_from_dkim", OP_REMOVE } },
	{ "unwhitelist_from_dkim", { "welcomelist_from_dkim", OP_REMOVE } },
	{ "welcomelist_from_rcvd", { "welcomelist_from_rcvd", OP_ADD_ARG } },
	{ "whitelist_from_rcvd", { "welcomelist_from_rcvd", OP_ADD_ARG } },
	{ "def_welcomelist_from_rcvd", { "def_welcomelist_from_rcvd", OP_ADD_ARG } },
	{ "def_whitelist_from_rcvd", { "def_welcomelist_from_rcvd", OP_ADD_ARG } },
	{ "welcomelist_allows_relays", { "welcomelist_allows_relays", OP_ADD } },
	{ "whitelist_allows_relays", { "welcomelist_allows_relays", OP_ADD } },
	{ "welcomelist_ip", { "welcomelist_ip", OP_NET } },
	{ "blocklist_ip", { "blocklist_ip", OP_NET } },
	{ "enlist_addrlist", { NULL, OP_NAMED_ADD } },
	{ "delist_addrlist", { NULL, OP_NAMED_REMOVE } },
	{ "enlist_uri_host", { NULL, OP_URI_HOST } },
	{ "welcomelist_uri_host", { "WELCOME", OP_URI_HOST } },
	{ "whitelist_uri_host", { "WELCOME", OP_URI_HOST } },
	{ "blocklist_uri_host", { "BLOCK", OP_URI_HOST } },
	{ "blacklist_uri_host", { "BLOCK", OP_URI_HOST } },
};

/* wlbl_directive - one of the list directives (eval.h) */
bool wlbl_directive(struct rules_conf *c, const char *kw, char *args, const char **err)
{
	for (size_t i = 0; i < sizeof(wl_directives) / sizeof(wl_directives[0]); i++)
		if (strcmp(wl_directives[i].kw, kw) == 0) {
			*err = wl_parse(&wl_directives[i].spec, c, args);
			return true;
		}
	return false;
}

/* wlbl_add - one entry (eval.h) */
const char *wlbl_add(struct rules_conf *c, const char *list, const char *entry)
{
	struct wl_list *l = list_get(c, list);

	if (l == NULL)
		return "too many lists";
	if (strcmp(list, "welcomelist_ip") == 0 || strcmp(list, "blocklist_ip") == 0)
		return add_net(l, entry);
	if (strlen(entry) > WLBL_MAX_ADDR)
		return "address too long";
	return list_add(l, entry, NULL);
}

/* ---------------------------------------------------------------- addresses */

#define WLBL_MAX_MSG_ADDRS 200	/* addresses of one message looked at */

/* a message's addresses, lower case, each once */
struct addrs {
	char *v[WLBL_MAX_MSG_ADDRS];
	size_t n;
};

/* addrs_add - one address: lower case, runs of dots as one (SpamAssassin
 * bug 3366), once; empty and over-long ones skipped */
static void addrs_add(struct addrs *a, const char *s, size_t n)
{
	char buf[WLBL_MAX_ADDR + 1];
	size_t o = 0;

	if (n == 0 || n > WLBL_MAX_ADDR || a->n == WLBL_MAX_MSG_ADDRS)
		return;
	for (size_t i = 0; i < n; i++) {
		char c = (char)tolower((unsigned char)s[i]);
		if (c == '.' && o && buf[o - 1] == '.')
			continue;
		buf[o++] = c;
	}
	buf[o] = '\0';
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], buf) == 0)
			return;
	a->v[a->n++] = xstrdup(buf);
}

/* addrs_free - release */
static void addrs_free(struct addrs *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	a->n = 0;
}

/* addrs_of_value - every mailbox of one field value (the :addr view) */
static void addrs_of_value(struct addrs *a, struct msg *m, const char *value)
{
	struct buf b;

	buf_init(&b);
	auth_msg_addr_list(m, value, false, &b);
	for (const char *p = b.data; p && *p;) {
		const char *e = strstr(p, ", ");
		size_t n = e ? (size_t)(e - p) : strlen(p);
		addrs_add(a, p, n);
		p = e ? e + 2 : p + n;
	}
	buf_free(&b);
}

/* addrs_of - every field called name (only the first if first) */
static void addrs_of(struct addrs *a, struct msg *m, const char *name, bool first)
{
	size_t n = msg_header_count(m, name);

	for (size_t i = 0; i < n && (!first || i == 0); i++)
		addrs_of_value(a, m, msg_header(m, name, i)->value);
}

/* from_addrs - SpamAssassin's all_from_addrs, with the SMTP envelope
 * sender as EnvelopeFrom */
static void from_addrs(struct addrs *a, struct msg *m)
{
	static const char *const fields[] = {
		"From", "Envelope-Sender", "Resent-Sender", "X-Envelope-From", NULL,
	};

	addrs_of(a, m, "Resent-From", true);
	if (a->n)
		return;
	for (size_t i = 0; fields[i]; i++)
		addrs_of(a, m, fields[i], false);
	if (m->mail_from && m->mail_from[0])
		addrs_add(a, m->mail_from, strlen(m->mail_from));
}

/* to_addrs - SpamAssassin's all_to_addrs, plus the SMTP recipients */
static void to_addrs(struct addrs *a, struct msg *m)
{
	static const char *const fields[] = {
		"To", "Apparently-To", "Delivered-To", "Envelope-Recipients",
		"Apparently-Resent-To", "X-Envelope-To", "Envelope-To", "X-Delivered-To",
		"X-Original-To", "X-Rcpt-To", "X-Real-To", "Cc", NULL,
	};

	addrs_of(a, m, "Resent-To", true);
	addrs_of(a, m, "Resent-Cc", true);
	if (a->n)
		return;
	for (size_t i = 0; i < 3 && i < msg_header_count(m, "Received"); i++) {
		const char *v = msg_header(m, "Received", i)->value, *f = strstr(v, " for ");
		if (f == NULL)
			continue;
		f += 5;
		f += *f == '<';
		size_t n = strcspn(f, ">; \t");
		if (f[n] == '>' || f[n] == ';') {
			const char *at = memchr(f, '@', n);
			if (at && at > f && at + 1 < f + n)
				addrs_add(a, f, n);
		}
	}
	for (size_t i = 0; fields[i]; i++)
		addrs_of(a, m, fields[i], false);
	for (size_t i = 0; i < m->nrcpts; i++)
		addrs_add(a, m->rcpts[i], strlen(m->rcpts[i]));
}

/* any_in - does any address match list (conf name)? */
static unsigned any_in(const struct eval_env *env, const char *list, bool to)
{
	const struct wl_list *l = list_find(env->conf, list);
	struct addrs a = { .n = 0 };
	unsigned hit = 0;

	if (l == NULL)
		return 0;
	if (to)
		to_addrs(&a, env->m);
	else
		from_addrs(&a, env->m);
	for (size_t i = 0; i < a.n && !hit; i++)
		hit = list_match(l, a.v[i]) != 0;
	addrs_free(&a);
	return hit;
}

/* list_arg - a list named by an eval argument: an enlist_addrlist name
 * or SpamAssassin's conf name (welcomelist_from ...) */
static const char *list_arg(size_t argc, const char *const *argv)
{
	return argc ? argv[0] : "";
}

/* ---------------------------------------------------------------- evals */

/* relay_ip_ok - does a welcomelist_from_rcvd "[IP]" or "[IP]/len" entry
 * match a relay's address (SpamAssassin: IPv4 exact, a classful IPv4
 * prefix "10.1", else a network) */
static bool relay_ip_ok(const char *entry, const char *ip)
{
	char wl[80];
	const char *close = strchr(entry, ']');
	size_t n = close ? (size_t)(close - entry - 1) : 0;

	if (ip == NULL || ip[0] == '\0' || close == NULL || n == 0 || n + strlen(close + 1) >= sizeof(wl))
		return false;
	memcpy(wl, entry + 1, n);
	strcpy(wl + n, close + 1);
	if (strspn(wl, "0123456789.") == strlen(wl)) {
		unsigned char a[16];
		if (cidr_ip_parse(wl, a) == 4)	/* a whole IPv4 address */
			return strcmp(wl, ip) == 0;
		size_t l = strlen(wl);	/* classful: "10.1" matches 10.1.x.x */
		while (l && wl[l - 1] == '.')
			l--;
		return strncmp(ip, wl, l) == 0 && ip[l] == '.';
	}
	struct cidr_list net = { 0 };
	const char *err = NULL;
	bool ok = cidr_list_parse(wl, &net, &err) == 0 && cidr_list_match(&net, ip);
	cidr_list_free(&net);
	return ok;
}

/* rcvd_check - SpamAssassin's _check_welcomelist_rcvd: 1 if addr is in
 * list and came through the relay its entry names (the first untrusted
 * one, or any trusted one when there is no untrusted relay), -1 if addr
 * is listed but came another way (a possible forgery, unless
 * welcomelist_allows_relays names it), 0 if not listed */
static int rcvd_check(const struct eval_env *env, const char *list, const char *addr)
{
	const struct wl_list *l = list_find(env->conf, list);
	const struct relays *rs;
	const struct relay *const *v;
	size_t nv;
	int found = 0;

	if (l == NULL || l->nglobs == 0)
		return 0;
	rs = eval_relays(env);
	if (rs->n[RELAYS_UNTRUSTED]) {
		v = rs->set[RELAYS_UNTRUSTED];
		nv = 1;
	} else {
		v = rs->set[RELAYS_TRUSTED];
		nv = rs->n[RELAYS_TRUSTED];
	}
	if (nv == 0)
		return 0;
	for (size_t g = 0; g < l->nglobs; g++) {
		const char *dom = l->args[g];
		if (dom == NULL || !wlbl_glob_match(l->globs[g], addr))
			continue;
		for (size_t i = 0; i < nv; i++) {
			const char *rdns = v[i]->rdns ? v[i]->rdns : "";
			size_t rl = strlen(rdns), dl = strlen(dom);
			if (dom[0] == '[' ? relay_ip_ok(dom, v[i]->ip)
					  : (rl >= dl && strcasecmp(rdns + rl - dl, dom) == 0 &&
					     (rl == dl || rdns[rl - dl - 1] == '.')))
				return 1;
		}
		found = -1;
	}
	if (found && list_match(list_find(env->conf, "welcomelist_allows_relays"), addr))
		found = 0;
	return found;
}

/* from_in - SpamAssassin's from_in_welcomelist (plain true for
 * welcomelist_from, then welcomelist_from_rcvd) and, with plain NULL,
 * from_in_default_welcomelist: 1 listed, -1 listed but came another way */
static int from_in(const struct eval_env *env, const char *plain, const char *rcvd)
{
	const struct wl_list *l = plain ? list_find(env->conf, plain) : NULL;
	struct addrs a = { .n = 0 };
	int found = 0;

	from_addrs(&a, env->m);
	for (size_t i = 0; i < a.n && found != 1; i++) {
		if (l && list_match(l, a.v[i])) {
			found = 1;
			break;
		}
		int r = rcvd_check(env, rcvd, a.v[i]);
		if (r)
			found = r;
	}
	addrs_free(&a);
	return found;
}

/* check_from_in_welcomelist - a From address is in welcomelist_from, or
 * in welcomelist_from_rcvd and came through the relay named there */
static unsigned from_welcome(const struct eval_env *env, size_t argc, const char *const *argv)
{
	(void)argc, (void)argv;
	return from_in(env, "welcomelist_from", "welcomelist_from_rcvd") > 0;
}

/* check_from_in_default_welcomelist - def_welcomelist_from_rcvd */
static unsigned from_def_welcome(const struct eval_env *env, size_t argc,
				 const char *const *argv)
{
	(void)argc, (void)argv;
	return from_in(env, NULL, "def_welcomelist_from_rcvd") > 0;
}

/* check_forged_in_welcomelist - listed in welcomelist_from_rcvd but came
 * another way, and not in the default list either */
static unsigned forged_welcome(const struct eval_env *env, size_t argc,
			       const char *const *argv)
{
	(void)argc, (void)argv;
	return from_in(env, "welcomelist_from", "welcomelist_from_rcvd") < 0 &&
	       from_in(env, NULL, "def_welcomelist_from_rcvd") == 0;
}

/* check_forged_in_default_welcomelist - the same for the default list */
static unsigned forged_def_welcome(const struct eval_env *env, size_t argc,
				   const char *const *argv)
{
	(void)argc, (void)argv;
	return from_in(env, NULL, "def_welcomelist_from_rcvd") < 0 &&
	       from_in(env, "welcomelist_from", "welcomelist_from_rcvd") == 0;
}

/* check_from_in_blocklist */
static unsigned from_block(const struct eval_env *env, size_t argc, const char *const *argv)
{
	(void)argc, (void)argv;
	return any_in(env, "blocklist_from", false);
}

/* check_to_in_welcomelist */
static unsigned to_welcome(const struct eval_env *env, size_t argc, const char *const *argv)
{
	(void)argc, (void)argv;
	return any_in(env, "welcomelist_to", true);
}

/* check_to_in_blocklist */
static unsigned to_block(const struct eval_env *env, size_t argc, const char *const *argv)
{
	(void)argc, (void)argv;
	return any_in(env, "blocklist_to", true);
}

/* check_to_in_more_spam */
static unsigned to_more_spam(const struct eval_env *env, size_t argc, const char *const *argv)
{
	(void)argc, (void)argv;
	return any_in(env, "more_spam_to", true);
}

/* check_to_in_all_spam */
static unsigned to_all_spam(const struct eval_env *env, size_t argc, const char *const *argv)
{
	(void)argc, (void)argv;
	return any_in(env, "all_spam_to", true);
}

/* check_from_in_list(NAME) */
static unsigned from_in_list(const struct eval_env *env, size_t argc, const char *const *argv)
{
	return any_in(env, list_arg(argc, argv), false);
}

/* check_to_in_list(NAME) */
static unsigned to_in_list(const struct eval_env *env, size_t argc, const char *const *argv)
{
	return any_in(env, list_arg(argc, argv), true);
}

/* check_replyto_in_list(NAME) - the Reply-To addresses */
static unsigned replyto_in_list(const struct eval_env *env, size_t argc,
				const char *const *argv)
{
	const struct wl_list *l = list_find(env->conf, list_arg(argc, argv));
	struct addrs a = { .n = 0 };
	unsigned hit = 0;

	if (l == NULL)
		return 0;
	addrs_of(&a, env->m, "Reply-To", false);
	for (size_t i = 0; i < a.n && !hit; i++)
		hit = list_match(l, a.v[i]) != 0;
	addrs_free(&a);
	return hit;
}

/* spf_listed - SPF passed for the envelope sender and it is in one of
 * two lists (Plugin/SPF.pm _check_spf_welcomelist) */
static unsigned spf_listed(const struct eval_env *env, const char *l1, const char *l2)
{
	const char *s = env->m->mail_from;
	char addr[WLBL_MAX_ADDR + 1];

	if (env->auth == NULL || env->auth->spf_mfrom != AUTH_PASS || s == NULL || s[0] == '\0' ||
	    strlen(s) > WLBL_MAX_ADDR)
		return 0;
	str_lower(strcpy(addr, s));
	return list_match(list_find(env->conf, l1), addr) || list_match(list_find(env->conf, l2), addr);
}

/* check_for_spf_welcomelist_from */
static unsigned spf_welcome(const struct eval_env *env, size_t argc, const char *const *argv)
{
	(void)argc, (void)argv;
	return spf_listed(env, "welcomelist_from_spf", "welcomelist_auth");
}

/* check_for_def_spf_welcomelist_from */
static unsigned spf_def_welcome(const struct eval_env *env, size_t argc, const char *const *argv)
{
	(void)argc, (void)argv;
	return spf_listed(env, "def_welcomelist_from_spf", "def_welcomelist_auth");
}

/* dkim_signed_by - is there a valid signature whose d= is acceptable:
 * the author's domain when want is NULL or empty (an author domain
 * signature), else want (its local part ignored; "*.x" or ".x" means
 * any subdomain of x) */
static bool dkim_signed_by(const struct rules_auth *au, const char *author, const char *want)
{
	const char *at = strrchr(author, '@'), *w;

	for (size_t i = 0; i < au->ndkim_valid; i++) {
		const char *d = au->dkim_valid[i];
		if (want == NULL || want[0] == '\0') {
			if (at && strcasecmp(d, at + 1) == 0)
				return true;
			continue;
		}
		w = strrchr(want, '@') ? strrchr(want, '@') + 1 : want;
		bool sub = w[0] == '.' || (w[0] == '*' && w[1] == '.');
		if (sub) {
			w += w[0] == '*' ? 2 : 1;
			size_t dl = strlen(d), wl = strlen(w);
			if (dl > wl && d[dl - wl - 1] == '.' && strcasecmp(d + dl - wl, w) == 0)
				return true;
		} else if (strcasecmp(d, w) == 0) {
			return true;
		}
	}
	return false;
}

/* dkim_listed - an author (From) address in list_sdid (entries with a
 * signing domain) or list_author (author domain signatures) with a valid
 * signature that the entry accepts (Plugin/DKIM.pm _wlcheck_list) */
static unsigned dkim_listed(const struct eval_env *env, const char *list_sdid,
			    const char *list_author)
{
	const struct wl_list *ls = list_find(env->conf, list_sdid);
	const struct wl_list *la = list_find(env->conf, list_author);
	struct addrs a = { .n = 0 };
	unsigned hit = 0;

	if (env->auth == NULL || env->auth->ndkim_valid == 0 || (ls == NULL && la == NULL))
		return 0;
	addrs_of(&a, env->m, "From", false);
	for (size_t i = 0; i < a.n && !hit; i++) {
		if (la && list_match(la, a.v[i]) && dkim_signed_by(env->auth, a.v[i], NULL))
			hit = 1;
		if (ls && ls->ndomains && list_match(ls, a.v[i]) == SIZE_MAX &&
		    dkim_signed_by(env->auth, a.v[i], NULL))
			hit = 1;
		for (size_t g = 0; ls && !hit && g < ls->nglobs; g++)
			if (wlbl_glob_match(ls->globs[g], a.v[i]) &&
			    dkim_signed_by(env->auth, a.v[i], ls->args[g]))
				hit = 1;
	}
	addrs_free(&a);
	return hit;
}

/* check_for_dkim_welcomelist_from */
static unsigned dkim_welcome(const struct eval_env *env, size_t argc, const char *const *argv)
{
	(void)argc, (void)argv;
	return dkim_listed(env, "welcomelist_from_dkim", "welcomelist_auth");
}

/* check_for_def_dkim_welcomelist_from */
static unsigned dkim_def_welcome(const struct eval_env *env, size_t argc,
				 const char *const *argv)
{
	(void)argc, (void)argv;
	return dkim_listed(env, "def_welcomelist_from_dkim", "def_welcomelist_auth");
}

/* host_verdict - enlist_uri_host: the entry for host or its nearest
 * listed parent domain: 1 listed, 0 excluded (!host), -1 none */
static int host_verdict(const struct wl_list *l, const char *host)
{
	const char *h = host;

	for (int k = 0; h && k < WLBL_MAX_HOST_KEYS; k++) {
		if (l->sorted) {
			char *const *at = bsearch(&h, l->hsorted, l->nhsorted, sizeof(char *), str_ptr_cmp);
			if (at)
				return l->hsorted_on[at - l->hsorted];
		}
		for (size_t i = l->nhosts; !l->sorted && i-- > 0;)
			if (strcmp(l->hosts[i], h) == 0)
				return l->host_on[i];
		h = strchr(h, '.');
		if (h)
			h++;
	}
	return -1;
}

/* check_uri_host_listed(NAME) - a URI host (or a parent domain) is in
 * the enlist_uri_host list NAME and not excluded by it */
static unsigned uri_host_listed(const struct eval_env *env, size_t argc, const char *const *argv)
{
	const struct wl_list *l = list_find(env->conf, list_arg(argc, argv));
	size_t n;
	char host[256];

	if (l == NULL || l->nhosts == 0)
		return 0;
	const char *const *uris = msg_uris(env->m, &n);
	for (size_t i = 0; i < n; i++)
		if (uri_host(uris[i], host, sizeof(host)) && host_verdict(l, host) == 1)
			return 1;
	return 0;
}

/* client_listed - the connecting client's address is in the network list */
static unsigned client_listed(const struct eval_env *env, const char *list)
{
	const struct wl_list *l = list_find(env->conf, list);

	if (l == NULL || env->m->client_ip == NULL || !cidr_list_match(&l->nets, env->m->client_ip))
		return 0;
	if (env->detail)
		snprintf(env->detail, env->detail_cap, "%s", env->m->client_ip);
	return 1;
}

/* check_client_ip_in_welcomelist - parapet: welcomelist_ip */
static unsigned ip_welcome(const struct eval_env *env, size_t argc, const char *const *argv)
{
	(void)argc, (void)argv;
	return client_listed(env, "welcomelist_ip");
}

/* check_client_ip_in_blocklist - parapet: blocklist_ip */
static unsigned ip_block(const struct eval_env *env, size_t argc, const char *const *argv)
{
	(void)argc, (void)argv;
	return client_listed(env, "blocklist_ip");
}

/* check_uri_host_in_blocklist */
static unsigned uri_block(const struct eval_env *env, size_t argc, const char *const *argv)
{
	static const char *const name[] = { "BLOCK" };

	(void)argc, (void)argv;
	return uri_host_listed(env, 1, name);
}

/* check_uri_host_in_welcomelist */
static unsigned uri_welcome(const struct eval_env *env, size_t argc, const char *const *argv)
{
	static const char *const name[] = { "WELCOME" };

	(void)argc, (void)argv;
	return uri_host_listed(env, 1, name);
}

const struct eval_def eval_wlbl_defs[] = {
	{ "check_from_in_welcomelist", EVAL_HEADER, 0, 0, from_welcome },
	{ "check_from_in_whitelist", EVAL_HEADER, 0, 0, from_welcome },
	{ "check_from_in_default_welcomelist", EVAL_HEADER, 0, 0, from_def_welcome },
	{ "check_from_in_default_whitelist", EVAL_HEADER, 0, 0, from_def_welcome },
	{ "check_forged_in_welcomelist", EVAL_HEADER, 0, 0, forged_welcome },
	{ "check_forged_in_whitelist", EVAL_HEADER, 0, 0, forged_welcome },
	{ "check_forged_in_default_welcomelist", EVAL_HEADER, 0, 0, forged_def_welcome },
	{ "check_forged_in_default_whitelist", EVAL_HEADER, 0, 0, forged_def_welcome },
	{ "check_from_in_blocklist", EVAL_HEADER, 0, 0, from_block },
	{ "check_from_in_blacklist", EVAL_HEADER, 0, 0, from_block },
	{ "check_to_in_welcomelist", EVAL_HEADER, 0, 0, to_welcome },
	{ "check_to_in_whitelist", EVAL_HEADER, 0, 0, to_welcome },
	{ "check_to_in_blocklist", EVAL_HEADER, 0, 0, to_block },
	{ "check_to_in_blacklist", EVAL_HEADER, 0, 0, to_block },
	{ "check_to_in_more_spam", EVAL_HEADER, 0, 0, to_more_spam },
	{ "check_to_in_all_spam", EVAL_HEADER, 0, 0, to_all_spam },
	{ "check_from_in_list", EVAL_HEADER, 1, 1, from_in_list },
	{ "check_to_in_list", EVAL_HEADER, 1, 1, to_in_list },
	{ "check_replyto_in_list", EVAL_HEADER, 1, 1, replyto_in_list },
	{ "check_for_spf_welcomelist_from", EVAL_HEADER, 0, 0, spf_welcome },
	{ "check_for_spf_whitelist_from", EVAL_HEADER, 0, 0, spf_welcome },
	{ "check_for_def_spf_welcomelist_from", EVAL_HEADER, 0, 0, spf_def_welcome },
	{ "check_for_def_spf_whitelist_from", EVAL_HEADER, 0, 0, spf_def_welcome },
	{ "check_for_dkim_welcomelist_from", EVAL_HEADER, 0, 0, dkim_welcome },
	{ "check_for_dkim_whitelist_from", EVAL_HEADER, 0, 0, dkim_welcome },
	{ "check_for_def_dkim_welcomelist_from", EVAL_HEADER, 0, 0, dkim_def_welcome },
	{ "check_for_def_dkim_whitelist_from", EVAL_HEADER, 0, 0, dkim_def_welcome },
	{ "check_uri_host_listed", EVAL_ANY, 1, 1, uri_host_listed },
	{ "check_uri_host_in_blocklist", EVAL_ANY, 0, 0, uri_block },
	{ "check_uri_host_in_blacklist", EVAL_ANY, 0, 0, uri_block },
	{ "check_uri_host_in_welcomelist", EVAL_ANY, 0, 0, uri_welcome },
	{ "check_uri_host_in_whitelist", EVAL_ANY, 0, 0, uri_welcome },
	{ "check_client_ip_in_welcomelist", EVAL_HEADER, 0, 0, ip_welcome },
	{ "check_client_ip_in_blocklist", EVAL_HEADER, 0, 0, ip_block },
	{ NULL, 0, 0, 0, NULL },
};
