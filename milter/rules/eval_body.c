/*
 * eval_body.c - SpamAssassin's eval tests over the body text
 * (Plugin/BodyEval.pm check_body_length, tvd_vertical_words,
 * check_stock_info; Plugin/MIMEEval.pm check_for_uppercase).  The body
 * text is msg_body_text: the Subject, then the rendered text parts, one
 * paragraph per line, as SpamAssassin hands its body array to these
 * tests.  Every test reads the text once; the cost is linear in it.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules/eval.h"
#include "mail/message.h"
#include "base/util.h"

/* num_arg - a numeric argument */
static double num_arg(const char *s)
{
	return eval_num(s);
}

/*
 * check_body_length(N) - the body as received is at most N bytes, its
 * line ends counted as one byte each: SpamAssassin's pristine_body_length
 * of the message as a mailbox stores it (LF), the length its rules'
 * thresholds were set on; the milter protocol's CRLFs would make a body
 * of 1,000 bytes in 30 lines 1,030.  The CRs are counted only when they
 * could make a difference, in a body kept whole.
 */
static unsigned body_length(const struct eval_env *env, size_t argc, const char *const *argv)
{
	const struct msg *m = env->m;
	double max = num_arg(argv[0]);
	size_t n = m->body_total;
	(void)argc;
	if ((double)n > max && (double)n <= 2 * max + 2 && !m->truncated && m->body.len == n)
		for (const char *p = m->body.data, *e = p + m->body.len;
		     (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++)
			n -= p > m->body.data && p[-1] == '\r';
	return (double)n <= max;
}

/* line_has_inner_space - SpamAssassin's /\S\s+\S/ */
static bool line_has_inner_space(const char *p, size_t n)
{
	for (size_t i = 1; i + 1 < n; i++)
		if (isspace((unsigned char)p[i]) && !isspace((unsigned char)p[i - 1])) {
			size_t j = i;
			while (j < n && isspace((unsigned char)p[j]))
				j++;
			if (j < n)
				return true;
			i = j;
		}
	return false;
}

/* base64_line - SpamAssassin's /^(?:[A-Za-z0-9+\/=]{60,76} ){2}/ */
static bool base64_line(const char *p, size_t n)
{
	size_t i = 0;

	for (int word = 0; word < 2; word++) {
		size_t s = i;
		while (i < n && (isalnum((unsigned char)p[i]) || p[i] == '+' || p[i] == '/' ||
				 p[i] == '='))
			i++;
		if (i - s < 60 || i - s > 76 || i >= n || p[i] != ' ')
			return false;
		i++;
	}
	return true;
}

/* body_charset_fp - the top Content-Type names a charset whose text
 * reads as capitals */
static bool body_charset_fp(const struct msg *m)
{
	const struct header *h = msg_header(m, "Content-Type", 0);
	const char *c;

	if (h == NULL || (c = strcasestr(h->value, "charset=")) == NULL)
		return false;
	c += 8;
	char q = (*c == '"' || *c == '\'') ? *c++ : '\0';
	const char *e = c;
	while (*e && (q ? *e != q : !isspace((unsigned char)*e) && *e != ';'))
		e++;
	return eval_charset_caps_fp(c, e);
}

/* check_for_uppercase(MIN, MAX) - the share of capitals among the
 * letters and digits of lines with an inner space is above MIN and at
 * most MAX percent, over at least 200 characters of such lines */
static unsigned uppercase(const struct eval_env *env, size_t argc, const char *const *argv)
{
	struct eval_cache none = { .upper_set = false }, *c = env->cache ? env->cache : &none;
	double pct = 0;

	(void)argc;
	if (body_charset_fp(env->m))
		return 0;
	if (!c->upper_set) {	/* counted once: the stock rules ask three times */
		size_t n;
		const char *t = msg_body_text(env->m, &n);
		/* counted in locals: through c, every byte's three stores
		 * kept the loop from being vectorized */
		size_t len = 0, lower = 0, upper = 0;
		c->upper_set = true;
		for (size_t i = 0; t && i < n;) {
			const char *nl = memchr(t + i, '\n', n - i);
			size_t e = nl ? (size_t)(nl - t) : n, l = e - i;
			if (line_has_inner_space(t + i, l) && !base64_line(t + i, l)) {
				for (size_t k = i; k < e; k++) {	/* characters, not bytes */
					unsigned char b = (unsigned char)t[k];
					len += (b & 0xC0) != 0x80;
					lower += (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9');
					upper += b >= 'A' && b <= 'Z';
				}
			}
			i = e + 1;
		}
		c->upper_len = len;
		c->upper_lower = lower;
		c->upper_upper = upper;
	}
	/* SpamAssassin deletes a-z0-9 before taking the length: no, it takes
	 * the length first; 200 characters of such lines at least */
	if (c->upper_len < 200 || c->upper_upper + c->upper_lower == 0)
		return 0;
	pct = 100.0 * (double)c->upper_upper / (double)(c->upper_upper + c->upper_lower);
	return pct > num_arg(argv[0]) && pct <= num_arg(argv[1]);
}

/* tvd_vertical_words(MIN, MAX) - the highest share of spaces per
 * non-space of any line over 5 characters is >= MIN and < MAX percent
 * (100 when spaces outnumber the rest): words written one letter apart */
static unsigned vertical_words(const struct eval_env *env, size_t argc, const char *const *argv)
{
	size_t n;
	const char *t = msg_body_text(env->m, &n);
	double max = num_arg(argv[1]);
	long best = -1;

	(void)argc;
	if (max >= 100)
		max = 101;
	for (size_t i = 0; t && i < n;) {
		const char *nl = memchr(t + i, '\n', n - i);
		size_t e = nl ? (size_t)(nl - t) : n, chars = 0, spaces = 0;
		for (size_t k = i; k < e; k++) {
			chars += ((unsigned char)t[k] & 0xC0) != 0x80;
			spaces += t[k] == ' ';
		}
		if (chars > 5) {
			size_t non = chars - spaces;
			long pct = (spaces > non || non == 0) ? 100 : (long)(100 * spaces / non);
			if (pct > best)
				best = pct;
		}
		i = e + 1;
	}
	return (double)best >= num_arg(argv[0]) && (double)best < max;
}

/* stock_word - does a lower-cased, letters-only label name stock data
 * (SpamAssassin's _check_stock_info list)?  The index of the word, or -1 */
static int stock_word(const char *w)
{
	static const char *const exact[] = {
		"tradedate", "tradingdate", "company", "companyname", "target", "ticker",
		"openingp", "openingprice", "currentp", "currentprice", "projected",
		"position", "expectations", "weekhigh", "weekshigh", "marketperformance",
		"sector", "recommendation", "rating", NULL,
	};
	static const char *const periods[] = { "year", "week", "month", "day", "price", NULL };
	int i;

	for (i = 0; exact[i]; i++)
		if (strcmp(w, exact[i]) == 0)
			return i;
	for (int k = 0; periods[k]; k++) {
		size_t l = strlen(periods[k]);
		if (strncmp(w, periods[k], l) == 0 &&
		    (strcmp(w + l, "target") == 0 || strcmp(w + l, "estimate") == 0 ||
		     strcmp(w + l, "estimates") == 0))
			return 100 + k * 3 + (w[l] == 't' ? 0 : w[strlen(w) - 1] == 's' ? 2 : 1);
	}
	/* s\w?(?:t\w?o\w?c\w?k|y\w?m(?:\w?b\w?o\w?l)?): letters with at most one
	 * letter between them; the label is letters only here */
	static const char *const spread[] = { "stock", "sym", "symbol", NULL };
	for (int k = 0; spread[k]; k++) {
		const char *p = w, *q = spread[k];
		bool ok = true;
		while (*q && ok) {
			if (*p == *q) {
				p++, q++;
			} else if (q != spread[k] && p[0] && p[1] == *q) {
				p += 2, q++;
			} else {
				ok = false;
			}
		}
		if (ok && *p == '\0')
			return 200 + k;
	}
	return -1;
}

/* check_stock_info(MIN) - labels such as "Symbol:", "Current Price:"
 * in the first text/plain part: at least MIN distinct kinds (every
 * message for MIN 0).  The body text stands for that part here. */
static unsigned stock_info(const struct eval_env *env, size_t argc, const char *const *argv)
{
	size_t n;
	const char *t = msg_body_text(env->m, &n);
	int seen[64];
	size_t nseen = 0;
	double min = num_arg(argv[0]);

	(void)argc;
	if (min == 0)
		return 1;
	for (size_t i = 0; t && i < n;) {
		const char *nl = memchr(t + i, '\n', n - i);
		size_t e = nl ? (size_t)(nl - t) : n, k = i;
		while (k < e && isspace((unsigned char)t[k]))
			k++;
		const char *colon = memchr(t + k, ':', e - k);
		size_t ll = colon ? (size_t)(colon - (t + k)) : 0;
		/* ^\s*([^:\s][^:\n]{2,29})\s*:\s*\S */
		if (colon && ll >= 3 && ll <= 40 && colon + 1 < t + e) {
			const char *v = colon + 1;
			while (v < t + e && isspace((unsigned char)*v))
				v++;
			size_t lab = ll;
			while (lab && isspace((unsigned char)t[k + lab - 1]))
				lab--;
			if (v < t + e && lab >= 3 && lab <= 30) {
				char w[32];
				size_t o = 0;
				for (size_t q = k; q < k + lab && o + 1 < sizeof(w); q++)
					if (isalpha((unsigned char)t[q]))
						w[o++] = (char)tolower((unsigned char)t[q]);
				w[o] = '\0';
				int id = stock_word(w);
				bool dup = false;
				for (size_t s = 0; s < nseen; s++)
					dup |= seen[s] == id;
				if (id >= 0 && !dup && nseen < 64)
					seen[nseen++] = id;
			}
		}
		i = e + 1;
	}
	return (double)nseen >= min;
}

const struct eval_def eval_body_defs[] = {
	{ "check_body_length", EVAL_BODY, 1, 1, body_length },
	{ "check_for_uppercase", EVAL_BODY, 2, 2, uppercase },
	{ "tvd_vertical_words", EVAL_BODY, 2, 2, vertical_words },
	{ "check_stock_info", EVAL_BODY, 1, 1, stock_info },
	{ NULL, 0, 0, 0, NULL },
};
