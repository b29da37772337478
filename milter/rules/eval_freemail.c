/*
 * eval_freemail.c - SpamAssassin's FreeMail plugin (Plugin/FreeMail.pm):
 * check_freemail_from and check_freemail_header over the freemail_domains
 * lists of the stock rules (20_freemail_domains.cf), freemail_welcomelist,
 * and HeaderEval's check_equal_from_domains, which reads the same
 * EnvelopeFrom.  Lists are capped at FREEMAIL_MAX entries (lint error past it).
 */
#include "autoconfig.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules/eval.h"
#include "mail/auth.h"
#include "mail/message.h"
#include "mail/received.h"
#include "base/util.h"

#define FREEMAIL_MAX 100000
#define FREEMAIL_MAX_ADDRS 64

/* list_add - append the lower-cased words of args to a list */
static const char *list_add(char ***list, size_t *n, char *args, bool wild_only, bool plain_only)
{
	char *save = NULL;
	for (char *w = strtok_r(args, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		bool wild = strpbrk(w, "*?") != NULL;
		if ((wild_only && !wild) || (plain_only && wild))
			continue;
		if (*n >= FREEMAIL_MAX)
			return "too many freemail entries";
		*list = xrealloc(*list, (*n + 1) * sizeof(**list));
		(*list)[(*n)++] = str_lower(xstrdup(w));
	}
	return NULL;
}

/* freemail_domains - exact names and wildcards (* ?) of free mail hosts */
static const char *dir_domains(struct rules_conf *c, char *args)
{
	for (const char *p = args; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".*?- \t", *p))
			return "invalid freemail_domains entry";
	char *copy = xstrdup(args);
	const char *err = list_add(&c->freemail_domains, &c->freemail_ndomains, args, false, true);
	if (err == NULL)
		err = list_add(&c->freemail_wild, &c->freemail_nwild, copy, true, false);
	free(copy);
	return err;
}

/* freemail_welcomelist / freemail_whitelist - addresses or domains never
 * counted as freemail */
static const char *dir_welcome(struct rules_conf *c, char *args)
{
	return list_add(&c->freemail_welcome, &c->freemail_nwelcome, args, false, false);
}

/* free_list - a list of strings */
static void free_list(char **l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

/* eval_freemail_conf_clear - release this module's settings */
void eval_freemail_conf_clear(struct rules_conf *c)
{
	free_list(c->freemail_domains, c->freemail_ndomains);
	free_list(c->freemail_wild, c->freemail_nwild);
	free_list(c->freemail_welcome, c->freemail_nwelcome);
}

/* wild_match - SpamAssassin's wildcard: ? one character, * a run
 * without a dot */
static bool wild_match(const char *pat, const char *s)
{
	if (*pat == '\0')
		return *s == '\0';
	if (*pat == '*') {
		for (const char *q = s;; q++) {
			if (wild_match(pat + 1, q))
				return true;
			if (*q == '\0' || *q == '.')
				return false;
		}
	}
	if (*s == '\0')
		return false;
	if (*pat == '?' || *pat == *s)
		return wild_match(pat + 1, s + 1);
	return false;
}

/* by_name - qsort/bsearch order of list entries */
static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* eval_freemail_conf_finish - see eval.h: the stock set names some 2,400
 * domains, and every address of a message is looked up */
void eval_freemail_conf_finish(struct rules_conf *c)
{
	if (c->freemail_ndomains)
		qsort(c->freemail_domains, c->freemail_ndomains, sizeof(char *), by_name);
	if (c->freemail_nwelcome)
		qsort(c->freemail_welcome, c->freemail_nwelcome, sizeof(char *), by_name);
}

/* in_list - exact member of a list eval_freemail_conf_finish sorted */
static bool in_list(char *const *l, size_t n, const char *s)
{
	return n && bsearch(&s, l, n, sizeof(*l), by_name) != NULL;
}

/* default_welcome - FreeMail.pm's $email_welcomelist: role accounts and
 * generated bounce names */
static bool default_welcome(const char *email)
{
	static const char *const roles[] = { "abuse", "support", "sales", "info",
		"helpdesk", "contact", "kontakt", "postmaster", "hostmaster",
		"domainmaster", NULL };
	const char *at = strchr(email, '@');
	if (at == NULL)
		return false;
	for (size_t i = 0; roles[i]; i++)
		if (strncmp(email, roles[i], strlen(roles[i])) == 0)
			return true;
	if (strncmp(email, "undisclosed", 11) == 0 || strncmp(email, "bounce-", 7) == 0 ||
	    strncmp(email, "bounced-", 8) == 0)
		return true;
	if (strncmp(email, "request-", 8) == 0) {
		size_t k = 0;
		while (k < 16 && isxdigit((unsigned char)email[8 + k]) &&
		       !isupper((unsigned char)email[8 + k]))
			k++;
		if (k == 16)
			return true;
	}
	/* .+=.+=.+ before the @ (the regex is unanchored at the end) */
	const char *e1 = strchr(email + 1, '=');
	if (e1 != NULL && e1[1] && strchr(e1 + 2, '=') != NULL) {
		const char *e2 = strchr(e1 + 2, '=');
		if (e2[1])
			return true;
	}
	return false;
}

/* is_freemail - email (lower case) is at a freemail domain and not
 * welcomelisted */
static bool is_freemail(const struct rules_conf *c, const char *email)
{
	if (*email == '\0' || in_list(c->freemail_welcome, c->freemail_nwelcome, email))
		return false;
	const char *at = strrchr(email, '@');
	const char *dom = at ? at + 1 : email;
	if (in_list(c->freemail_welcome, c->freemail_nwelcome, dom) || default_welcome(email))
		return false;
	if (in_list(c->freemail_domains, c->freemail_ndomains, dom))
		return true;
	if (at != NULL)
		for (size_t i = 0; i < c->freemail_nwild; i++)
			if (wild_match(c->freemail_wild[i], dom))
				return true;
	return false;
}

/* addrs_of - lower-cased addresses of a header (or EnvelopeFrom) */
static size_t addrs_of(const struct eval_env *env, const char *name, char **out, size_t max)
{
	struct buf b;
	size_t n = 0;
	buf_init(&b);
	if (strcasecmp(name, "EnvelopeFrom") == 0) {
		eval_envelope_from(env, &b);
	} else {
		size_t nh = msg_header_count(env->m, name);
		for (size_t i = 0; i < nh; i++) {
			if (i)
				buf_puts(&b, ", ");
			auth_msg_addr_list(env->m, msg_header(env->m, name, i)->value, false, &b);
		}
	}
	char *save = NULL;
	for (char *w = b.data ? strtok_r(b.data, ", ", &save) : NULL; w && n < max;
	     w = strtok_r(NULL, ", ", &save))
		out[n++] = str_lower(xstrdup(w));
	buf_free(&b);
	return n;
}

/* regex_ok - email matches the optional regex argument */
static bool regex_ok(const char *pattern, const char *email)
{
	return pattern == NULL || eval_re_fixed(pattern, "", email, strlen(email), NULL, NULL);
}

/* any_freemail - one of addrs is freemail (and matches pattern) */
static unsigned any_freemail(const struct eval_env *env, char **addrs, size_t n,
			     const char *pattern)
{
	unsigned hit = 0;
	for (size_t i = 0; i < n; i++) {
		if (!hit && is_freemail(env->conf, addrs[i]) && regex_ok(pattern, addrs[i]))
			hit = 1;
		free(addrs[i]);
	}
	return hit;
}

/* squeeze_dots - "a@b..c" -> "a@b.c" (tr/././s) */
static void squeeze_dots(char *s)
{
	char *o = s;
	for (const char *p = s; *p; p++)
		if (!(*p == '.' && o > s && o[-1] == '.'))
			*o++ = *p;
	*o = '\0';
}

/* check_freemail_from([regex]) - one of the message's From addresses
 * (Resent-From's first, else From, Envelope-Sender, Resent-Sender,
 * X-Envelope-From, EnvelopeFrom) is freemail */
static unsigned freemail_from(const struct eval_env *env, size_t argc, const char *const *argv)
{
	char *addrs[FREEMAIL_MAX_ADDRS];
	size_t n = 0;
	if (env->conf == NULL || env->conf->freemail_ndomains + env->conf->freemail_nwild == 0)
		return 0;
	if (msg_header_count(env->m, "Resent-From") > 0) {
		n = addrs_of(env, "Resent-From", addrs, 1);
	} else {
		static const char *const names[] = { "From", "Envelope-Sender", "Resent-Sender",
			"X-Envelope-From", "EnvelopeFrom", NULL };
		for (size_t k = 0; names[k] && n < FREEMAIL_MAX_ADDRS; k++)
			n += addrs_of(env, names[k], addrs + n, FREEMAIL_MAX_ADDRS - n);
	}
	for (size_t i = 0; i < n; i++)
		squeeze_dots(addrs[i]);
	return any_freemail(env, addrs, n, argc > 0 ? argv[0] : NULL);
}

/* check_freemail_header(header[, regex]) - an address of header is freemail */
static unsigned freemail_header(const struct eval_env *env, size_t argc, const char *const *argv)
{
	char *addrs[FREEMAIL_MAX_ADDRS];
	if (env->conf == NULL || env->conf->freemail_ndomains + env->conf->freemail_nwild == 0)
		return 0;
	char name[256];
	snprintf(name, sizeof(name), "%s", argv[0]);
	char *colon = strchr(name, ':');	/* 'Reply-To:addr' is Reply-To */
	if (colon != NULL)
		*colon = '\0';
	size_t n = addrs_of(env, name, addrs, FREEMAIL_MAX_ADDRS);
	return any_freemail(env, addrs, n, argc > 1 ? argv[1] : NULL);
}

/* second_level - the part after the last '@', cut to its last two labels
 * (s/^.+\.([^\.]+\.[^\.]+)$/$1/) */
static const char *second_level(const char *addr)
{
	const char *at = strrchr(addr, '@');
	if (at == NULL)
		return "";
	const char *d = at + 1;
	const char *last = strrchr(d, '.');
	if (last == NULL || last[1] == '\0' || last == d)
		return d;
	const char *prev = last - 1;
	while (prev > d && *prev != '.')
		prev--;
	if (*prev == '.' && prev > d && prev + 1 < last)
		return prev + 1;
	return d;
}

/* check_equal_from_domains - From's and EnvelopeFrom's second-level
 * domains differ */
static unsigned equal_from_domains(const struct eval_env *env, size_t argc,
				   const char *const *argv)
{
	char *from[FREEMAIL_MAX_ADDRS], *envf[1];
	(void)argc;
	(void)argv;
	size_t nf = addrs_of(env, "From", from, FREEMAIL_MAX_ADDRS);
	size_t ne = addrs_of(env, "EnvelopeFrom", envf, 1);
	unsigned hit = 0;
	/* SpamAssassin reads From:addr in scalar context: the first one */
	if (nf > 0 && ne > 0) {
		const char *a = second_level(from[0]), *b = second_level(envf[0]);
		hit = *a && *b && strcasecmp(a, b) != 0;
	}
	for (size_t i = 0; i < nf; i++)
		free(from[i]);
	if (ne)
		free(envf[0]);
	return hit;
}

const struct eval_def eval_freemail_defs[] = {
	{ "check_freemail_from", EVAL_ANY, 0, 1, freemail_from },
	{ "check_freemail_header", EVAL_ANY, 1, 2, freemail_header },
	{ "check_equal_from_domains", EVAL_ANY, 0, 0, equal_from_domains },
	{ NULL, 0, 0, 0, NULL },
};

const struct conf_directive eval_freemail_directives[] = {
	{ "freemail_domains", dir_domains },
	{ "freemail_welcomelist", dir_welcome },
	{ "freemail_whitelist", dir_welcome },
	{ NULL, NULL },
};
