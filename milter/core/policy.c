/*
 * policy.c - the policy file (policy.h).  One line a recipient:
 *
 *	example.com      reject_score=10 tag_score=4 greylist=no
 *	ceo@example.net  reject_score=off skip=bayes,dnsbl
 *
 * KEY is an address or a domain (a domain covers its subdomains unless
 * they have a line of their own); settings not given keep the config's
 * value.  Settings: tag_score, quarantine_score (number or off),
 * reject_score (number or off), greylist (yes/no), greylist_score,
 * skip (stage names, comma separated).  "#" starts a comment.
 *
 * Caps: POLICY_MAX_LINE bytes a line, POLICY_MAX_ENTRIES lines, the file
 * 4 MB; every error has file:line.  Entries are sorted once and found by
 * binary search (the address, then its domain and each parent, at most
 * POLICY_MAX_LABELS lookups).
 */
#include "autoconfig.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/config.h"
#include "core/policy.h"
#include "core/stage.h"
#include "mail/auth.h"
#include "mail/message.h"
#include "rules/eval.h"
#include "base/strbuf.h"
#include "base/util.h"

#define POLICY_MAX_LINE 1024
#define POLICY_MAX_ENTRIES 100000
#define POLICY_MAX_FILE (4 * 1024 * 1024)
#define POLICY_MAX_LABELS 16
#define POLICY_MAX_KEY 320
#define POLICY_MAX_LIST 1000	/* entries of one list of one line */

struct policy_set {
	struct policy *v;	/* sorted by name */
	size_t n;
};

/* policy_default - see policy.h */
void policy_default(const struct config *cfg, struct policy *p)
{
	memset(p, 0, sizeof(*p));
	p->tag_score = cfg->tag_score;
	p->quarantine_on = cfg->quarantine_on;
	p->quarantine_score = cfg->quarantine_score;
	p->reject_on = true;
	p->reject_score = cfg->reject_score;
	p->greylist = cfg->greylist;
	p->greylist_score = cfg->greylist_score;
}

/* number - a finite number; false if not */
static bool number(const char *v, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(v, &end);
	return errno == 0 && end != v && *end == '\0' && isfinite(*out);
}

/* skip_list - "bayes,dnsbl" into a bit mask of the engine's stages */
static const char *skip_list(char *v, const struct stage *const *stages, uint32_t *mask)
{
	char *save = NULL;

	for (char *w = strtok_r(v, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		size_t i;
		for (i = 0; stages && stages[i]; i++)
			if (strcmp(stages[i]->name, w) == 0)
				break;
		if (stages == NULL || stages[i] == NULL || i >= 32)
			return "skip: not a stage name (spf, dnsbl, dkim, dmarc, bayes, rules, structure, policy, rep)";
		*mask |= 1u << i;
	}
	return NULL;
}

/* globs - "a@b.test,*@c.test" appended to a list (lower case) */
static const char *globs(char *v, char ***list, size_t *n)
{
	char *save = NULL;

	for (char *g = strtok_r(v, ",", &save); g; g = strtok_r(NULL, ",", &save)) {
		const char *at = strrchr(g, '@');
		if (at == NULL || at == g || at[1] == '\0' || strlen(g) > POLICY_MAX_KEY)
			return "expected addresses or *@domain, comma separated";
		if (*n >= POLICY_MAX_LIST)
			return "too many entries";
		*list = xrealloc(*list, (*n + 1) * sizeof(**list));
		(*list)[(*n)++] = str_lower(xstrdup(g));
	}
	return NULL;
}

/* policy_clear - release what one line owns */
static void policy_clear(struct policy *p)
{
	for (size_t i = 0; i < p->nallow; i++)
		free(p->allow[i]);
	for (size_t i = 0; i < p->nblock; i++)
		free(p->block[i]);
	free(p->allow);
	free(p->block);
	cidr_list_free(&p->allow_ip);
	cidr_list_free(&p->block_ip);
	free((char *)p->name);
}

/* setting - one NAME=VALUE */
static const char *setting(struct policy *p, char *w, const struct stage *const *stages)
{
	char *v = strchr(w, '=');
	double d = 0;

	if (v == NULL || v[1] == '\0')
		return "expected NAME=VALUE";
	*v++ = '\0';
	if (strcmp(w, "skip") == 0)
		return skip_list(v, stages, &p->skip);
	if (strcmp(w, "allow_from") == 0)
		return globs(v, &p->allow, &p->nallow);
	if (strcmp(w, "block_from") == 0)
		return globs(v, &p->block, &p->nblock);
	if (strcmp(w, "allow_ip") == 0 || strcmp(w, "block_ip") == 0) {
		struct cidr_list *l = w[0] == 'a' ? &p->allow_ip : &p->block_ip;
		char *save = NULL;
		for (char *n = strtok_r(v, ",", &save); n; n = strtok_r(NULL, ",", &save))
			if (l->count >= POLICY_MAX_LIST || cidr_list_add(l, n) < 0)
				return "not an IP address or CIDR network (or too many)";
		return NULL;
	}
	if (strcmp(w, "greylist") == 0) {
		if (strcmp(v, "yes") == 0 || strcmp(v, "on") == 0)
			p->greylist = true;
		else if (strcmp(v, "no") == 0 || strcmp(v, "off") == 0)
			p->greylist = false;
		else
			return "greylist: expected yes or no";
		return NULL;
	}
	if (strcmp(w, "tag_score") != 0 && strcmp(w, "greylist_score") != 0 &&
	    strcmp(w, "reject_score") != 0 && strcmp(w, "quarantine_score") != 0)
		return "unknown setting (tag_score, quarantine_score, reject_score, greylist, "
		       "greylist_score, skip, allow_from, block_from, allow_ip, block_ip)";
	bool off = strcmp(v, "off") == 0;
	if (!off && !number(v, &d))
		return "expected a number";
	if (strcmp(w, "tag_score") == 0 && !off)
		p->tag_score = d;
	else if (strcmp(w, "greylist_score") == 0 && !off)
		p->greylist_score = d;
	else if (strcmp(w, "reject_score") == 0) {
		p->reject_on = !off;
		p->reject_score = off ? 0 : d;
	} else if (strcmp(w, "quarantine_score") == 0) {
		p->quarantine_on = !off;
		p->quarantine_score = off ? 0 : d;
	} else {
		return "expected a number";	/* tag_score=off, greylist_score=off */
	}
	return NULL;
}

/* key_ok - an address or a domain: no white space, no brackets, one @ at most */
static bool key_ok(const char *k)
{
	const char *at = strchr(k, '@');

	if (strlen(k) > POLICY_MAX_KEY || strpbrk(k, "<>,=") || (at && strchr(at + 1, '@')))
		return false;
	if (at && (at == k || at[1] == '\0'))
		return false;
	return k[0] != '.' && k[strlen(k) - 1] != '.';
}

/* policy_cmp - by name */
static int policy_cmp(const void *a, const void *b)
{
	return strcmp(((const struct policy *)a)->name, ((const struct policy *)b)->name);
}

/* one_line - parse one line into ps; NULL or an error (static) */
static const char *one_line(struct policy_set *ps, char *line, const struct config *cfg,
			    const struct stage *const *stages)
{
	char *p = line, *key = str_next_word(&p), *w;
	struct policy pol;
	const char *err;

	if (key == NULL || key[0] == '#')
		return NULL;
	if (!key_ok(key))
		return "expected a recipient address or domain first";
	if (ps->n >= POLICY_MAX_ENTRIES)
		return "too many lines";
	policy_default(cfg, &pol);
	str_lower(key);
	for (size_t i = 0; i < ps->n; i++)
		if (strcmp(ps->v[i].name, key) == 0)
			return "this recipient has a line already";
	while ((w = str_next_word(&p)) != NULL && w[0] != '#')
		if ((err = setting(&pol, w, stages)) != NULL) {
			policy_clear(&pol);
			return err;
		}
	pol.name = xstrdup(key);
	ps->v = xrealloc(ps->v, (ps->n + 1) * sizeof(*ps->v));
	ps->v[ps->n++] = pol;
	return NULL;
}

/* policy_parse - see policy.h */
struct policy_set *policy_parse(const char *name, const char *text, size_t len,
				const struct config *cfg, const struct stage *const *stages,
				struct diag *d)
{
	struct policy_set *ps = xcalloc(1, sizeof(*ps));
	int errors = d->errors, lineno = 0;
	char line[POLICY_MAX_LINE + 1];

	for (size_t pos = 0; pos < len;) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - text - pos) : len - pos;
		lineno++;
		if (n > POLICY_MAX_LINE) {
			diag_error(d, name, lineno, "line longer than %d bytes", POLICY_MAX_LINE);
		} else if (memchr(text + pos, '\0', n) != NULL) {
			diag_error(d, name, lineno, "NUL byte");
		} else {
			memcpy(line, text + pos, n);
			line[n] = '\0';
			const char *err = one_line(ps, line, cfg, stages);
			if (err)
				diag_error(d, name, lineno, "%s", err);
		}
		pos += n + 1;
	}
	if (d->errors != errors) {
		policy_free(ps);
		return NULL;
	}
	if (ps->n)
		qsort(ps->v, ps->n, sizeof(*ps->v), policy_cmp);
	return ps;
}

/* policy_load - see policy.h */
struct policy_set *policy_load(const char *path, const struct config *cfg,
			       const struct stage *const *stages, struct diag *d)
{
	FILE *fp = fopen(path, "r");
	struct stat st;
	struct buf b;
	char chunk[8192];
	size_t n;

	if (fp == NULL) {
		diag_error(d, path, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fileno(fp), &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > POLICY_MAX_FILE) {
		diag_error(d, path, 0, "not a regular file of at most %d bytes", POLICY_MAX_FILE);
		fclose(fp);
		return NULL;
	}
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0 && b.len <= POLICY_MAX_FILE)
		buf_append(&b, chunk, n);
	fclose(fp);
	struct policy_set *ps = policy_parse(path, b.data ? b.data : "", b.len, cfg, stages, d);
	buf_free(&b);
	return ps;
}

/* policy_free - release */
void policy_free(struct policy_set *ps)
{
	if (ps == NULL)
		return;
	for (size_t i = 0; i < ps->n; i++)
		policy_clear(&ps->v[i]);
	free(ps->v);
	free(ps);
}

/* find - the entry called key, or NULL */
static const struct policy *find(const struct policy_set *ps, const char *key)
{
	struct policy k = { .name = key };

	return bsearch(&k, ps->v, ps->n, sizeof(*ps->v), policy_cmp);
}

/* policy_lookup - see policy.h */
const struct policy *policy_lookup(const struct policy_set *ps, const char *rcpt)
{
	char addr[POLICY_MAX_KEY + 1];
	const struct policy *p;
	size_t n;

	if (ps == NULL || ps->n == 0 || rcpt == NULL)
		return NULL;
	rcpt += rcpt[0] == '<';
	n = strcspn(rcpt, ">");
	if (n == 0 || n > POLICY_MAX_KEY)
		return NULL;
	memcpy(addr, rcpt, n);
	addr[n] = '\0';
	str_lower(addr);
	if ((p = find(ps, addr)) != NULL)
		return p;
	const char *dom = strrchr(addr, '@');
	dom = dom ? dom + 1 : addr;
	for (int k = 0; dom && *dom && k < POLICY_MAX_LABELS; k++) {
		if ((p = find(ps, dom)) != NULL)
			return p;
		dom = strchr(dom, '.');
		dom = dom ? dom + 1 : NULL;
	}
	return NULL;
}

/* policy_same - see policy.h */
bool policy_same(const struct policy *a, const struct policy *b)
{
	if (a == b)
		return true;
	if (a == NULL || b == NULL)
		return false;
	bool la = a->nallow || a->nblock || a->allow_ip.count || a->block_ip.count;
	bool lb = b->nallow || b->nblock || b->allow_ip.count || b->block_ip.count;
	if (la || lb)
		return la && lb && a->name && b->name && strcmp(a->name, b->name) == 0;
	return a->tag_score == b->tag_score && a->quarantine_on == b->quarantine_on &&
	       a->quarantine_score == b->quarantine_score && a->reject_on == b->reject_on &&
	       a->reject_score == b->reject_score && a->greylist == b->greylist &&
	       a->greylist_score == b->greylist_score && a->skip == b->skip;
}

/* in_globs - the first glob of list that matches addr (lower case), or NULL */
static const char *in_globs(char *const *list, size_t n, const char *addr)
{
	for (size_t i = 0; i < n; i++)
		if (wlbl_glob_match(list[i], addr))
			return list[i];
	return NULL;
}

/* policy_listed - see policy.h */
void policy_listed(const struct policy *p, const struct msg *m, bool *allow, bool *block,
		   char *detail, size_t cap)
{
	struct buf b;
	char addr[POLICY_MAX_KEY + 1];
	const char *hit;

	*allow = *block = false;
	if (detail && cap)
		detail[0] = '\0';
	if (m->client_ip && cidr_list_match(&p->allow_ip, m->client_ip))
		*allow = true;
	if (m->client_ip && cidr_list_match(&p->block_ip, m->client_ip))
		*block = true;
	if (p->nallow == 0 && p->nblock == 0)
		return;
	buf_init(&b);
	if (m->mail_from && m->mail_from[0]) {
		buf_puts(&b, m->mail_from);
		buf_puts(&b, ", ");
	}
	for (size_t i = 0; i < msg_header_count(m, "From"); i++) {
		auth_addr_list(msg_header(m, "From", i)->value, false, &b);
		buf_puts(&b, ", ");
	}
	for (const char *s = b.data; s && *s;) {
		const char *e = strstr(s, ", ");
		size_t n = e ? (size_t)(e - s) : strlen(s);
		if (n && n <= POLICY_MAX_KEY) {
			memcpy(addr, s, n);
			addr[n] = '\0';
			str_lower(addr);
			if (!*allow && (hit = in_globs(p->allow, p->nallow, addr)) != NULL) {
				*allow = true;
				if (detail)
					snprintf(detail, cap, "%s (%s)", addr, p->name);
			}
			if (!*block && (hit = in_globs(p->block, p->nblock, addr)) != NULL) {
				*block = true;
				if (detail)
					snprintf(detail, cap, "%s (%s)", addr, p->name);
			}
		}
		s = e ? e + 2 : s + n;
	}
	buf_free(&b);
}
