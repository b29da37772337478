/*
 * eval_freemail.c - SpamAssassin's FreeMail plugin (Plugin/FreeMail.pm):
 * check_freemail_from and check_freemail_header over the freemail_domains
 * lists of the stock rules (20_freemail_domains.cf), freemail_welcomelist,
 * check_freemail_replyto (Reply-To, From and the addresses in the body),
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
#include "mail/html_stats.h"
#include "mail/message.h"
#include "mail/uri.h"
#include "mail/received.h"
#include "base/util.h"

#define FREEMAIL_MAX 100000
#define FREEMAIL_MAX_ADDRS 64

/* list_add - append the lower-cased words of args to a list */
static const char *list_add(char ***list, size_t *n, char *args, bool wild_only, bool plain_only)
{
	return eval_words_add(list, n, FREEMAIL_MAX, args, wild_only, plain_only) ?
	       "too many freemail entries" : NULL;
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

/*
 * The addresses in the body (FreeMail.pm's _parse_body), with its default
 * limits: freemail_max_body_emails 5 and freemail_max_body_freemails 3
 * with freemail_skip_when_over_max 1 (past either, the body is not
 * compared at all).  Its email_regex, written out: a local part of at
 * most 64 bytes of [a-z0-9!#$%&'*+/=?^_`{|}~-] in dot-separated runs,
 * not preceded by one of those bytes; "@"; one to four labels of 1-61
 * bytes ([a-z0-9-], not starting or ending with "-") each followed by
 * "."; a valid top-level domain that no [a-z0-9-] or "." + [a-z0-9]
 * follows (RegistryBoundaries' valid_tlds_re).
 */
#define BODY_MAX_EMAILS 5
#define BODY_MAX_FREEMAILS 3

/* local_char - a byte of email_regex's local part */
static bool local_char(unsigned char c)
{
	return c_alnum(c) || (c != '\0' && strchr("!#$%&'*+/=?^_`{|}~-", c) != NULL);
}

/* label_char - a byte of a domain label */
static bool label_char(unsigned char c)
{
	return c_alnum(c) || c == '-';
}

/* email_at - does email_regex match at s[i]?  *end: where the match ends */
static bool email_at(const char *s, size_t n, size_t i, size_t *end)
{
	if (i >= n || !local_char((unsigned char)s[i]) ||
	    (i > 0 && local_char((unsigned char)s[i - 1])))
		return false;
	size_t p = i;
	for (;;) {
		while (p < n && local_char((unsigned char)s[p]))
			p++;
		if (p + 1 < n && s[p] == '.' && local_char((unsigned char)s[p + 1])) {
			p++;
			continue;
		}
		break;
	}
	if (p >= n || s[p] != '@' || p - i > 64)
		return false;
	p++;
	size_t seg[5], len[5], m = 0;
	for (;;) {
		size_t a = p;
		while (p < n && label_char((unsigned char)s[p]))
			p++;
		if (m == 5)
			return false;	/* more labels than {1,4} allows */
		seg[m] = a;
		len[m++] = p - a;
		if (p + 1 < n && s[p] == '.' && c_alnum((unsigned char)s[p + 1])) {
			p++;
			continue;
		}
		break;
	}
	if (m < 2)
		return false;
	for (size_t k = 0; k + 1 < m; k++)
		if (len[k] == 0 || len[k] > 61 || s[seg[k]] == '-' || s[seg[k] + len[k] - 1] == '-')
			return false;
	if (!uri_tld_valid(s + seg[m - 1], len[m - 1]))
		return false;
	*end = p;
	return true;
}

/* email_from - the first place from i where an address may start: its
 * "@" at most 64 bytes on (email_at's look-ahead), the one after a "<"
 * at most 65; *at caches the next "@" */
static size_t email_from(const char *s, size_t n, size_t i, const char **at)
{
	if (*at == NULL || *at < s + i) {
		*at = memchr(s + i, '@', n - i);
		if (*at == NULL)
			return n;
	}
	size_t k = (size_t)(*at - s);
	return k > i + 65 ? k - 65 : i;
}

/* prefix_ci - s[i..n) starts with w (ASCII case ignored) */
static bool prefix_ci(const char *s, size_t n, size_t i, const char *w)
{
	size_t k = strlen(w);
	return n - i >= k && strncasecmp(s + i, w, k) == 0;
}

/* strip_urls - s{<?https?://\S{0,255}(?:\@|%40)\S{0,255}}{ }gi of a line;
 * a match starts 4 or 5 bytes before a "://" (or one more, at a "<") */
static void strip_urls(const char *s, size_t n, struct buf *out)
{
	size_t i = 0, from = 0;
	while (i < n) {
		const char *c = memmem(s + i, n - i, "://", 3);
		if (c == NULL)
			break;
		size_t k = (size_t)(c - s), h = k >= i + 5 && prefix_ci(s, n, k - 5, "https") ? k - 5 :
			   k >= i + 4 && prefix_ci(s, n, k - 4, "http") ? k - 4 : SIZE_MAX;
		if (h == SIZE_MAX) {
			i = k + 1;
			continue;
		}
		i = h > from && s[h - 1] == '<' ? h - 1 : h;	/* the match's start */
		size_t q = k + 3;
		size_t run = q;
		while (run < n && !c_space((unsigned char)s[run]))
			run++;
		/* the last "@" or "%40" at most 255 bytes in, the greedy \S{0,255} */
		size_t lim = run - q > 255 ? q + 255 : run, mark = 0;
		for (size_t p = lim + 1; p-- > q;) {
			if (p < run && s[p] == '@') {
				mark = p + 1;
				break;
			}
			if (p + 3 <= run && s[p] == '%' && s[p + 1] == '4' && s[p + 2] == '0') {
				mark = p + 3;
				break;
			}
		}
		if (mark == 0) {
			i = k + 1;
			continue;
		}
		size_t stop = run - mark > 255 ? mark + 255 : run;
		buf_append(out, s + from, i - from);
		buf_putc(out, ' ');
		i = from = stop;
	}
	buf_append(out, s + from, n - from);
}

/* wrote_tail - after an address: ">" or \s{1,10} and a word of 2-11
 * letters and ":" that is not fax, facsi..., tel..., phone... or
 * [e][-]mail...; returns the bytes it takes, 0 if none */
static size_t wrote_tail(const char *s, size_t n, size_t p)
{
	if (p < n && s[p] == '>')
		return 1;
	size_t w = 0;
	while (p + w < n && c_space((unsigned char)s[p + w]))
		w++;
	if (w == 0 || w > 10)
		return 0;
	size_t k = p + w;
	static const char *const not[] = { "fax", "facsi", "tel", "phone", "mail", "-mail",
		"email", "e-mail" };
	for (size_t j = 0; j < sizeof(not) / sizeof(not[0]); j++)
		if (prefix_ci(s, n, k, not[j]))
			return 0;
	size_t l = 0;
	while (k + l < n && (unsigned char)((s[k + l] | 0x20) - 'a') < 26)
		l++;
	if (l < 2 || l > 11 || k + l >= n || s[k + l] != ':')
		return 0;
	return w + l + 1;
}

/* strip_quoted - s{<?(?<!mailto:)EMAIL(?:>|\s{1,10}WORD:)}{ }gi: addresses
 * in <> and ones before "wrote:" and the like */
static void strip_quoted(const char *s, size_t n, struct buf *out)
{
	size_t i = 0, from = 0;
	const char *at = NULL;
	while ((i = email_from(s, n, i, &at)) < n) {
		size_t e = i + (s[i] == '<'), end, tail;
		if ((e < 7 || strncasecmp(s + e - 7, "mailto:", 7) != 0) && email_at(s, n, e, &end) &&
		    (tail = wrote_tail(s, n, end)) > 0) {
			buf_append(out, s + from, i - from);
			buf_putc(out, ' ');
			i = from = end + tail;
			continue;
		}
		i++;
	}
	buf_append(out, s + from, n - from);
}

/* body addresses: unique, lower case, at most BODY_MAX_EMAILS */
struct body_emails {
	char *v[BODY_MAX_EMAILS];
	size_t n;
};

/* body_add - a found address, if new; false once there are enough */
static bool body_add(struct body_emails *b, const char *s, size_t len)
{
	char *e = str_lower(xstrndup(s, len));
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->v[i], e) == 0) {
			free(e);
			return true;
		}
	b->v[b->n++] = e;
	return b->n < BODY_MAX_EMAILS;
}

/* body_collect - the mailto: targets of <a> tags not also written in the
 * text, then the addresses of the rendered body, lines with URLs holding
 * an "@" and quoted addresses taken out (in SpamAssassin's order) */
static void body_collect(const struct eval_env *env, struct body_emails *b)
{
	size_t len, nh;
	const char *text = msg_body_text(env->m, &len);
	const struct html_stats *h = msg_html_stats(env->m, &nh);
	for (size_t k = 0; k < nh; k++)
		for (size_t j = 0; j < h[k].mailto.n; j++) {
			const char *u = h[k].mailto.v[j];
			size_t un = strlen(u), end;
			if (!email_at(u, un, 7, &end))
				continue;
			/* a URI also found in the text ("parsed") is skipped here;
			 * the text's own scan below has it */
			if (text != NULL && memmem(text, len, u + 7, un - 7) != NULL)
				continue;
			if (!body_add(b, u + 7, end - 7))
				return;
		}
	struct buf a, c;
	buf_init(&a);
	buf_init(&c);
	for (size_t i = 0; text != NULL && i < len;) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t ln = nl ? (size_t)(nl - text) - i : len - i;
		if (memchr(text + i, '@', ln) == NULL) {	/* no address: nothing to strip */
			i += ln + 1;
			continue;
		}
		buf_reset(&a);
		buf_reset(&c);
		strip_urls(text + i, ln, &a);
		strip_quoted(a.data ? a.data : "", a.len, &c);
		const char *at = NULL;
		for (size_t p = 0, end; (p = email_from(c.data, c.len, p, &at)) < c.len; p++)
			if (email_at(c.data, c.len, p, &end)) {
				if (!body_add(b, c.data + p, end - p))
					goto out;
				p = end - 1;
			}
		i += ln + 1;
	}
out:
	buf_free(&a);
	buf_free(&c);
}

/* body_freemails - the body's freemail addresses into fm (*nfm), false
 * when the body is past a limit and not compared */
static bool body_freemails(const struct eval_env *env, const char **fm, size_t *nfm,
			   struct body_emails *b)
{
	body_collect(env, b);
	*nfm = 0;
	if (b->n >= BODY_MAX_EMAILS)
		return false;
	for (size_t i = 0; i < b->n; i++)
		if (is_freemail(env->conf, b->v[i])) {
			if (*nfm + 1 >= BODY_MAX_FREEMAILS)
				return false;
			fm[(*nfm)++] = b->v[i];
		}
	return true;
}

/*
 * check_freemail_replyto(['replyto'|'reply']) - FreeMail.pm's: From and
 * Reply-To are different freemail addresses, or the body holds a freemail
 * address other than Reply-To's ('replyto'), or than Reply-To's or else
 * From's ('reply'; From must be freemail).  Skipped when the envelope
 * sender looks like a list or a bounce.
 */
static unsigned freemail_replyto(const struct eval_env *env, size_t argc,
				 const char *const *argv)
{
	const char *what = argc > 0 ? argv[0] : "replyto";
	bool reply = strcmp(what, "reply") == 0;
	if (env->conf == NULL || env->conf->freemail_ndomains + env->conf->freemail_nwild == 0 ||
	    (!reply && strcmp(what, "replyto") != 0))
		return 0;
	struct buf ef;
	buf_init(&ef);
	eval_envelope_from(env, &ef);
	bool bulk = ef.len > 0 &&
		    eval_re_fixed("(?:^(?:post|host|domain)master|^double-bounce|"
				  "^(?:sentto|owner|return|(?:gr)?bounced?)-.+|"
				  "-(?:request|bounces?|admin|owner)|"
				  "\\b(?:do[._-t]?)?no[._-t]?repl(?:y|ies)|.+=.+)\\@",
				  "i", ef.data, ef.len, NULL, NULL);
	buf_free(&ef);
	if (bulk)
		return 0;
	char *from[FREEMAIL_MAX_ADDRS], *rt[FREEMAIL_MAX_ADDRS];
	size_t nf = addrs_of(env, "From", from, FREEMAIL_MAX_ADDRS);
	size_t nr = addrs_of(env, "Reply-To", rt, FREEMAIL_MAX_ADDRS);
	bool from_fm = false, rt_fm = false, from_not_in_rt = true;
	for (size_t i = 0; i < nf; i++) {
		from_fm = from_fm || is_freemail(env->conf, from[i]);
		for (size_t j = 0; j < nr; j++)
			if (strcmp(from[i], rt[j]) == 0)
				from_not_in_rt = false;
	}
	for (size_t j = 0; j < nr; j++)
		rt_fm = rt_fm || is_freemail(env->conf, rt[j]);
	unsigned hit = 0;
	if (from_fm && rt_fm && from_not_in_rt) {
		hit = 1;
		if (env->detail)
			snprintf(env->detail, env->detail_cap, "%s -> %s", from[0], rt[0]);
	} else if (reply ? ((nr > 0 && !rt_fm) || !from_fm) : !rt_fm) {
		hit = 0;
	} else {
		struct body_emails b = { .n = 0 };
		const char *fm[BODY_MAX_FREEMAILS];
		size_t nfm;
		char **cmp = !reply || rt_fm ? rt : from;
		size_t ncmp = !reply || rt_fm ? nr : nf;
		if (body_freemails(env, fm, &nfm, &b))
			for (size_t i = 0; i < nfm && !hit; i++)
				for (size_t j = 0; j < ncmp && !hit; j++)
					if (strcmp(fm[i], cmp[j]) != 0) {
						hit = 1;
						if (env->detail)
							snprintf(env->detail, env->detail_cap,
								 "%s, %s", cmp[j], fm[i]);
					}
		for (size_t i = 0; i < b.n; i++)
			free(b.v[i]);
	}
	for (size_t i = 0; i < nf; i++)
		free(from[i]);
	for (size_t j = 0; j < nr; j++)
		free(rt[j]);
	return hit;
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
	{ "check_freemail_replyto", EVAL_ANY, 0, 1, freemail_replyto },
	{ "check_equal_from_domains", EVAL_ANY, 0, 0, equal_from_domains },
	{ NULL, 0, 0, 0, NULL },
};

const struct conf_directive eval_freemail_directives[] = {
	{ "freemail_domains", dir_domains },
	{ "freemail_welcomelist", dir_welcome },
	{ "freemail_whitelist", dir_welcome },
	{ NULL, NULL },
};
