/*
 * eval_util.c - what the eval modules share (eval.h): SpamAssassin's
 * $pms->get() of a header and of an address, its EnvelopeFrom, the
 * message's relays split by the rule set's networks, and a regex search
 * for patterns built at run time, and one for fixed patterns that keeps
 * them compiled.  Calls only the mail layer and re.c,
 * never back into eval.c or a module.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules/eval.h"
#include "rules/re.h"
#include "mail/auth.h"
#include "mail/message.h"
#include "mail/received.h"
#include "base/util.h"

/* eval_relays - see eval.h */
const struct relays *eval_relays(const struct eval_env *env)
{
	const struct rules_conf *c = env->conf;
	struct relay_nets nets = {
		c && c->relay_trusted_set ? &c->relay_trusted : NULL,
		c && c->relay_internal_set ? &c->relay_internal : NULL,
		c && c->relay_msa_set ? &c->relay_msa : NULL,
	};
	return msg_relays(env->m, &nets);
}

/* eval_envelope_from - SpamAssassin's EnvelopeFrom: the MTA's envelope sender
 * when there is one, else the last untrusted (or first trusted) relay's
 * envfrom, else X-Envelope-From, Envelope-Sender or Return-Path above
 * every Received field; "" when unknown */
void eval_envelope_from(const struct eval_env *env, struct buf *out)
{
	struct msg *m = env->m;
	if (m->mail_from != NULL && *m->mail_from) {
		buf_puts(out, m->mail_from);
		return;
	}
	const struct relays *rs = eval_relays(env);
	const struct relay *hop = rs->n[RELAYS_UNTRUSTED] ? rs->set[RELAYS_UNTRUSTED][0] :
		rs->n[RELAYS_TRUSTED] ? rs->set[RELAYS_TRUSTED][rs->n[RELAYS_TRUSTED] - 1] : NULL;
	if (hop != NULL && hop->envfrom != NULL &&
	    (*hop->envfrom == '\0' || strchr(hop->envfrom + 1, '@') != NULL)) {
		buf_puts(out, hop->envfrom);
		return;
	}
	const struct header *xs = msg_header(m, "X-Sender", 0);
	if (xs != NULL && strchr(xs->value, '@') != NULL)
		for (size_t i = 0; i < m->nhdrs; i++)
			if (strcasecmp(m->hdrs[i].name, "Received") == 0 &&
			    strstr(m->hdrs[i].raw, "(fetchmail") != NULL)
				return;
	static const char *const names[] = { "X-Envelope-From", "Envelope-Sender",
		"Return-Path", NULL };
	for (size_t k = 0; names[k]; k++) {
		bool after_rcvd = false, seen_rcvd = false;
		const struct header *h = NULL;
		for (size_t i = 0; i < m->nhdrs; i++) {
			if (strcasecmp(m->hdrs[i].name, "Received") == 0)
				seen_rcvd = true;
			if (strcasecmp(m->hdrs[i].name, names[k]) == 0) {
				if (h == NULL)
					h = &m->hdrs[i];
				after_rcvd |= seen_rcvd;
			}
		}
		if (h == NULL)
			continue;
		struct buf a;
		buf_init(&a);
		auth_msg_addr_list(m, h->value, false, &a);
		if (after_rcvd) {
			buf_free(&a);
			if (k == 0)
				return;	/* X-Envelope-From below a Received: unknown */
			continue;
		}
		const char *first = a.data ? a.data : "";
		size_t n = strcspn(first, ",");
		buf_append(out, first, n);
		buf_free(&a);
		return;
	}
}

/* eval_unfold - a header value as SpamAssassin's header() keeps it: CR
 * dropped, a line break and the blanks after it one space, trimmed */
static void eval_unfold(const char *raw, struct buf *out)
{
	size_t start = out->len;

	for (const char *p = raw; *p;) {
		size_t run = strcspn(p, "\r\n");	/* copied as it is */
		buf_append(out, p, run);
		p += run;
		if (*p == '\r') {
			p++;
		} else if (*p == '\n') {
			p++;
			if (*p == ' ' || *p == '\t') {
				buf_putc(out, ' ');
				while (*p == ' ' || *p == '\t')
					p++;
			} else {
				buf_putc(out, '\n');
			}
		}
	}
	while (out->len > start && isspace((unsigned char)out->data[out->len - 1]))
		out->len--;
	size_t lead = 0;
	while (start + lead < out->len && isspace((unsigned char)out->data[start + lead]))
		lead++;
	memmove(out->data + start, out->data + start + lead, out->len - start - lead);
	out->len -= lead;
	buf_putc(out, '\0');
	out->len--;
}

/* eval_num - see eval.h */
double eval_num(const char *s)
{
	static const double p10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8,
				      1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15 };
	uint64_t v = 0;
	int digits = 0, frac = -1;

	for (const char *p = s;; p++) {
		if (*p >= '0' && *p <= '9') {
			if (++digits > 15)
				break;
			v = v * 10 + (uint64_t)(*p - '0');
			frac += frac >= 0;
		} else if (*p == '.' && frac < 0) {
			frac = 0;
		} else if (*p == '\0' && digits > 0) {
			return frac > 0 ? (double)v / p10[frac] : (double)v;
		} else {
			break;
		}
	}
	return strtod(s, NULL);
}

/* eval_get - every field called name, unfolded, each ending in "\n" */
void eval_get(const struct msg *m, const char *name, struct buf *out)
{
	size_t n = msg_header_count(m, name);

	for (size_t i = 0; i < n; i++) {
		eval_unfold(msg_header(m, name, i)->raw, out);
		buf_putc(out, '\n');
	}
}

/* first_addr - the first address of a header value into out; false if
 * it has none */
static bool first_addr(struct msg *m, const char *value, struct buf *out)
{
	struct buf a;

	buf_init(&a);
	auth_msg_addr_list(m, value, false, &a);
	size_t n = a.data ? strcspn(a.data, ",") : 0;
	if (n)
		buf_append(out, a.data, n);
	buf_free(&a);
	return n > 0;
}

/* eval_addr - the first address of name's fields */
void eval_addr(const struct eval_env *env, const char *name, struct buf *out)
{
	if (strcasecmp(name, "EnvelopeFrom") == 0) {
		struct buf e;
		buf_init(&e);
		eval_envelope_from(env, &e);
		if (e.data)
			first_addr(env->m, e.data, out);
		buf_free(&e);
		return;
	}
	for (size_t i = 0; i < msg_header_count(env->m, name); i++)
		if (first_addr(env->m, msg_header(env->m, name, i)->value, out))
			return;
}

/* eval_re_search - compile pattern, search subj once; false when it does
 * not compile or the match limit is hit */
bool eval_re_search(const char *pattern, const char *flags, const char *subj, size_t len,
		    size_t *start, size_t *end)
{
	char *err = NULL;
	struct re *re = re_compile_once(pattern, strlen(pattern), flags, &err);
	size_t a = 0, b = 0;

	if (re == NULL) {
		free(err);
		return false;
	}
	struct re_scratch *s = re_scratch_new();
	bool ok = re_match(re, subj, len, 0, s, &a, &b) == RE_MATCH;
	re_scratch_free(s);
	re_free(re);
	if (start)
		*start = a;
	if (end)
		*end = b;
	return ok;
}

/* the patterns eval_re_fixed compiled: open addressing on the hash of
 * flags and pattern, filled under fixed_lock and never emptied (the
 * eval tests' own patterns and the rule set's: a few dozen) */
#define RE_FIXED_MAX 256
static struct fixed {
	char *flags, *pattern;
	struct re *re;		/* NULL: it does not compile */
} fixed[RE_FIXED_MAX];
static size_t nfixed;
static pthread_mutex_t fixed_lock = PTHREAD_MUTEX_INITIALIZER;

/* fixed_re - the compiled pattern, compiled now if new; *ok false when
 * the table is full (the caller compiles it for once) */
static const struct re *fixed_re(const char *pattern, const char *flags, bool *ok)
{
	uint32_t h = str_hash(pattern, strlen(pattern), false) * 31u +
		     str_hash(flags, strlen(flags), false);
	const struct re *re = NULL;

	*ok = true;
	pthread_mutex_lock(&fixed_lock);
	size_t k = h % RE_FIXED_MAX;
	while (fixed[k].pattern &&
	       (strcmp(fixed[k].pattern, pattern) != 0 || strcmp(fixed[k].flags, flags) != 0))
		k = (k + 1) % RE_FIXED_MAX;
	if (fixed[k].pattern) {
		re = fixed[k].re;
	} else if (nfixed < RE_FIXED_MAX / 2) {
		char *err = NULL;
		fixed[k].re = re_compile(pattern, strlen(pattern), flags, &err);
		free(err);
		fixed[k].flags = xstrdup(flags);
		fixed[k].pattern = xstrdup(pattern);
		nfixed++;
		re = fixed[k].re;
	} else {
		*ok = false;
	}
	pthread_mutex_unlock(&fixed_lock);
	return re;
}

/* eval_re_fixed - see eval.h */
bool eval_re_fixed(const char *pattern, const char *flags, const char *subj, size_t len,
		   size_t *start, size_t *end)
{
	bool ok;
	const struct re *re = fixed_re(pattern, flags, &ok);
	size_t a = 0, b = 0;

	if (!ok)
		return eval_re_search(pattern, flags, subj, len, start, end);
	if (re == NULL)
		return false;
	struct re_scratch *s = re_scratch_new();
	bool hit = re_match(re, subj, len, 0, s, &a, &b) == RE_MATCH;
	re_scratch_free(s);
	if (start)
		*start = a;
	if (end)
		*end = b;
	return hit;
}

/* eval_words_add - see eval.h */
const char *eval_words_add(char ***list, size_t *n, size_t max, char *args, bool wild_only,
			   bool plain_only)
{
	char *save = NULL;
	for (char *w = strtok_r(args, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		bool wild = strpbrk(w, "*?") != NULL;
		if ((wild_only && !wild) || (plain_only && wild))
			continue;
		if (*n >= max)
			return "too many entries";
		*list = xrealloc(*list, (*n + 1) * sizeof(**list));
		(*list)[(*n)++] = str_lower(xstrdup(w));
	}
	return NULL;
}
