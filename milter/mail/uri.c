/*
 * uri.c - the URI list of a message (see uri.h).  Deduplication uses an
 * open-addressing hash index over the list, so adding is O(1) and a
 * message at the cap costs 1000 hashes, not 500,000 comparisons.
 *
 * Bare URIs in text are found the way a mail client links them: a scheme
 * or "www." at a word start, running to white space or a character that
 * cannot appear unescaped in a URI (RFC 3986 §2, plus <> and quotes that
 * delimit URIs in text, RFC 3986 appendix C), with trailing sentence
 * punctuation removed.  Not thread-safe; owned by one message.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/uri.h"
#include "base/util.h"

#define URI_SLOTS 2048		/* power of two, > 2 * URI_MAX_COUNT */

_Static_assert((URI_SLOTS & (URI_SLOTS - 1)) == 0, "URI_SLOTS: power of two");
_Static_assert(URI_SLOTS > 2 * URI_MAX_COUNT, "URI_SLOTS: keep the load low");

/* uri_set_init - empty list */
void uri_set_init(struct uri_set *s)
{
	memset(s, 0, sizeof(*s));
}

/* uri_list_free - free a taken list */
char **uri_list_free(char **list)
{
	if (list == NULL)
		return NULL;
	for (char **p = list; *p; p++)
		free(*p);
	free(list);
	return NULL;
}

/* uri_set_free - release everything */
void uri_set_free(struct uri_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	free(s->slots);
	uri_set_init(s);
}

/* uri_set_add - trim, cap, deduplicate, copy */
void uri_set_add(struct uri_set *s, const char *uri, size_t len)
{
	len = strnlen(uri, len);	/* a NUL in a decoded value ends it */
	while (len > 0 && isspace((unsigned char)*uri)) {
		uri++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)uri[len - 1]))
		len--;
	if (len == 0)
		return;
	if (len > URI_MAX_LEN) {
		len = URI_MAX_LEN;
		if (s->capped == NULL)
			s->capped = "URI longer than 2048 bytes cut";
		/* an attribute value may hold spaces: the cut can end in one
		 * (found by fuzz_uri) */
		while (isspace((unsigned char)uri[len - 1]))
			len--;
	}
	if (s->slots == NULL)
		s->slots = xcalloc(URI_SLOTS, sizeof(*s->slots));
	uint32_t i = str_hash(uri, len, false) & (URI_SLOTS - 1);
	for (; s->slots[i] != 0; i = (i + 1) & (URI_SLOTS - 1)) {
		const char *have = s->v[s->slots[i] - 1];
		if (strncmp(have, uri, len) == 0 && have[len] == '\0')
			return;
	}
	if (s->n >= URI_MAX_COUNT) {
		s->capped = "more than 1000 URIs";
		return;
	}
	if (s->n % 64 == 0)
		s->v = xrealloc(s->v, (s->n + 64) * sizeof(*s->v));
	s->v[s->n++] = xstrndup(uri, len);
	s->slots[i] = (unsigned)s->n;
}

/* uri_set_take - NULL-terminated list to the caller */
char **uri_set_take(struct uri_set *s, size_t *n)
{
	char **list = xrealloc(s->v, (s->n + 1) * sizeof(*list));

	list[s->n] = NULL;
	*n = s->n;
	s->v = NULL;
	s->n = 0;
	free(s->slots);
	s->slots = NULL;
	return list;
}

/* uri_char - may c appear inside a bare URI in text? */
static bool uri_char(unsigned char c)
{
	if (c <= ' ' || c == 0x7f)
		return false;
	return strchr("<>\"'`{}|\\^", c) == NULL;
}

/* word_start - is text[i] the start of a word (not inside one)? */
static bool word_start(const char *text, size_t i)
{
	if (i == 0)
		return true;
	unsigned char c = (unsigned char)text[i - 1];
	return !isalnum(c) && c != '.' && c != '-' && c != '_' && c != '/' && c != '@';
}

/* prefix_len - length of a URI start at p, 0 if none; *www set for www. */
static size_t prefix_len(const char *p, size_t left, bool *www)
{
	static const char *const schemes[] = { "http://", "https://", "ftp://", "mailto:" };

	*www = false;
	for (size_t k = 0; k < sizeof(schemes) / sizeof(schemes[0]); k++) {
		size_t n = strlen(schemes[k]);
		if (left > n && strncasecmp(p, schemes[k], n) == 0)
			return n;
	}
	if (left > 4 && strncasecmp(p, "www.", 4) == 0) {
		*www = true;
		return 4;
	}
	return 0;
}

/*
 * trim_tail - drop sentence punctuation and an unbalanced ')' or ']' at
 * the end.  The brackets are counted once and the counts follow the end
 * as it moves back: "http://a" and 80,000 ')' cost 80,000 steps, not
 * 80,000 recounts of the whole URI (issue 12).
 */
static size_t trim_tail(const char *u, size_t n)
{
	size_t open[2] = { 0, 0 }, close[2] = { 0, 0 };	/* () and [] */

	for (size_t i = 0; i < n; i++) {
		open[0] += u[i] == '(';
		close[0] += u[i] == ')';
		open[1] += u[i] == '[';
		close[1] += u[i] == ']';
	}
	while (n > 0) {
		char c = u[n - 1];
		if (c == ')' || c == ']') {
			size_t k = c == ']';
			if (close[k] <= open[k])
				break;	/* balanced: part of the URI (wiki/Foo_(bar)) */
			close[k]--;
		} else if (c == '\0' || strchr(".,;:!?*", c) == NULL) {
			break;
		}
		n--;
	}
	return n;
}

/* uri_scan_text - bare URIs */
void uri_scan_text(struct uri_set *s, const char *text, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)text[i];
		bool www;
		size_t pre;
		if (strchr("hHfFmMwW", c) == NULL || c == '\0' || !word_start(text, i) ||
		    (pre = prefix_len(text + i, len - i, &www)) == 0) {
			i++;
			continue;
		}
		size_t e = i + pre;
		while (e < len && uri_char((unsigned char)text[e]))
			e++;
		size_t n = trim_tail(text + i, e - i);
		const char *rest = text + i + pre;
		size_t restn = n > pre ? n - pre : 0;
		bool ok;
		if (www)	/* www.example.test: a label and a dot after www. */
			ok = restn >= 3 && isalnum((unsigned char)rest[0]) && memchr(rest, '.', restn);
		else if (tolower(c) == 'm')
			ok = restn >= 3 && memchr(rest, '@', restn) != NULL;
		else
			ok = restn >= 1 && (isalnum((unsigned char)rest[0]) || rest[0] == '[' ||
					    (unsigned char)rest[0] >= 0x80);
		if (ok && www) {
			/* as a client would open it (SpamAssassin does the same) */
			size_t m = n < URI_MAX_LEN - 7 ? n : URI_MAX_LEN - 7;
			char *u = xasprintf("http://%.*s", (int)m, text + i);
			uri_set_add(s, u, strlen(u));
			if (m < n && s->capped == NULL)
				s->capped = "URI longer than 2048 bytes cut";
			free(u);
		} else if (ok) {
			uri_set_add(s, text + i, n);
		}
		i = e > i + pre ? e : i + pre;
	}
}

/* uri_host - the host of a URI, lower case */
bool uri_host(const char *uri, char *out, size_t cap)
{
	const char *p = strstr(uri, "://"), *e;

	if (p == NULL || strncasecmp(uri, "mailto:", 7) == 0)
		return false;
	p += 3;
	e = p + strcspn(p, "/?#");
	for (const char *q = p; q < e; q++)	/* past user:pass@ */
		if (*q == '@')
			p = q + 1;
	if (*p == '[') {
		const char *r = memchr(p, ']', (size_t)(e - p));
		if (r == NULL)
			return false;
		p++;
		e = r;
	} else {
		const char *c = memchr(p, ':', (size_t)(e - p));
		if (c)
			e = c;
	}
	size_t n = (size_t)(e - p);
	while (n && p[n - 1] == '.')
		n--;
	if (n == 0 || n >= cap)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	str_lower(out);
	return true;
}
