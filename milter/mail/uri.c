/*
 * uri.c - the URI list of a message (see uri.h).  Deduplication uses an
 * open-addressing hash index over the list, so adding is O(1) and a
 * message at the cap costs 1000 hashes, not 500,000 comparisons.
 *
 * URIs in text and the canonical variants are found in uri_scan.c; the
 * valid TLDs are here.  A list is not thread-safe (owned by one
 * message); the TLD table is built once and shared read-only.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/uri.h"
#include "mail/uri_int.h"
#include "base/arena.h"
#include "base/spare.h"
#include "base/util.h"

#define URI_SLOTS 2048
#define TLD_MAX_COUNT 4096	/* the list has ~1,500 TLDs, its rules ~7,000 */
#define TLD_MAX_LEN 63		/* one DNS label */		/* power of two, > 2 * URI_MAX_COUNT */

_Static_assert((URI_SLOTS & (URI_SLOTS - 1)) == 0, "URI_SLOTS: power of two");
_Static_assert(URI_SLOTS > 2 * URI_MAX_COUNT, "URI_SLOTS: keep the load low");

/* the thread's scratch: the pointer in TLS (found by leak checkers), the
 * key only to hand it on at the thread's end (libmilter's threads come
 * and go with the connections): to the shelf (base/spare.h), whence the
 * next thread takes it */
static __thread struct uri_scratch *scratch_mine;

/* scratch buffers larger than this are not kept for the next message */
#define URI_SCRATCH_KEEP (64 * 1024)

/* scratch_bufs - every buffer of sc, for scratch_free and scratch_trim */
static size_t scratch_bufs(struct uri_scratch *sc, struct buf **out)
{
	size_t n = 0;

	for (size_t i = 0; i < URI_CANON_LEVELS; i++) {
		struct uri_canon_tmp *t = &sc->t[i];
		out[n++] = &t->u;
		out[n++] = &t->n;
		out[n++] = &t->d;
		out[n++] = &t->ip;
		out[n++] = &t->raw;
		out[n++] = &t->host;
		out[n++] = &t->nhost;
		out[n++] = &t->h2;
	}
	out[n++] = &sc->all;
	out[n++] = &sc->tmp;
	out[n++] = &sc->lower;
	out[n++] = &sc->found;
	return n;
}

#define SCRATCH_BUFS (URI_CANON_LEVELS * 8 + 4)

/* scratch_free - free scratch buffers */
static void scratch_free(void *p)
{
	struct uri_scratch *sc = p;
	struct buf *b[SCRATCH_BUFS];
	size_t n = scratch_bufs(sc, b);

	for (size_t i = 0; i < n; i++)
		buf_free(b[i]);
	free(sc);
}

/* scratch_trim - give back what one long URI made a buffer grow to */
static void scratch_trim(void)
{
	struct uri_scratch *sc = scratch_mine;
	struct buf *b[SCRATCH_BUFS];

	if (sc == NULL)
		return;
	size_t n = scratch_bufs(sc, b);

	for (size_t i = 0; i < n; i++)
		if (b[i]->cap > URI_SCRATCH_KEEP)
			buf_free(b[i]);
}

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static struct spare scratch_shelf = SPARE_INIT;

/* scratch_shelve - a thread's scratch when it ends: for the next thread */
static void scratch_shelve(void *p)
{
	if (!spare_give(&scratch_shelf, p))
		scratch_free(p);
}

/* scratch_key_make - the key, once */
static void scratch_key_make(void)
{
	if (pthread_key_create(&scratch_key, scratch_shelve) != 0)
		oom(sizeof(scratch_key));
}

/* uri_scratch_get - see uri_int.h */
struct uri_scratch *uri_scratch_get(void)
{
	if (scratch_mine == NULL) {
		pthread_once(&scratch_once, scratch_key_make);
		scratch_mine = spare_take(&scratch_shelf);
		if (scratch_mine == NULL)
			scratch_mine = xcalloc(1, sizeof(*scratch_mine));
		if (pthread_setspecific(scratch_key, scratch_mine) != 0)
			oom(sizeof(scratch_mine));
	}
	return scratch_mine;
}

/* uri_set_init - empty list */
void uri_set_init(struct uri_set *s)
{
	memset(s, 0, sizeof(*s));
}

/* uri_set_init_in - see uri.h */
void uri_set_init_in(struct uri_set *s, struct arena *a)
{
	uri_set_init(s);
	s->arena = a;
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
	struct arena *a = s->arena;

	if (a == NULL) {
		for (size_t i = 0; i < s->n; i++)
			free(s->v[i]);
		free(s->slots);
	}
	free(s->v);
	scratch_trim();
	uri_set_init_in(s, a);
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
		s->slots = s->arena ? arena_calloc(s->arena, URI_SLOTS * sizeof(*s->slots))
				    : xcalloc(URI_SLOTS, sizeof(*s->slots));
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
	s->v[s->n++] = s->arena ? arena_strndup(s->arena, uri, len) : xstrndup(uri, len);
	s->slots[i] = (unsigned)s->n;
}

/* uri_set_take - NULL-terminated list to the caller */
char **uri_set_take(struct uri_set *s, size_t *n)
{
	static char *none[1];	/* NULL: a message without URIs takes no chunk */
	char **list;

	if (s->arena && s->n == 0) {
		free(s->v);
		list = none;
	} else if (s->arena) {
		list = arena_alloc(s->arena, (s->n + 1) * sizeof(*list));
		if (s->n)
			memcpy(list, s->v, s->n * sizeof(*list));
		free(s->v);
	} else {
		list = xrealloc(s->v, (s->n + 1) * sizeof(*list));
		free(s->slots);
	}
	if (list != none)
		list[s->n] = NULL;
	*n = s->n;
	s->v = NULL;
	s->n = 0;
	s->slots = NULL;
	scratch_trim();
	return list;
}

/* ------------------------------------------------------------------ TLDs */

/*
 * Valid TLDs.  SpamAssassin takes them from util_rb_tld lines of its rule
 * files (20_aux_tlds.cf, IANA's root zone list).  The mail layer does not
 * see the rule set, and the list has the same source as the Public Suffix
 * List's ICANN section, which parapet already reads for DMARC and Debian
 * keeps current with the system: the last label of every ICANN rule
 * ("com", "*.bd", "!www.ck") is a TLD.  Labels that are not ASCII are left
 * out: the text scanner, like SpamAssassin's, only takes ASCII host names.
 * Built once, read only afterwards.
 */
static pthread_once_t tld_once = PTHREAD_ONCE_INIT;
static char **tlds;
static size_t ntlds;

/* the fallback when the list cannot be read: the generic TLDs common in
 * mail; any two-letter label counts as a country code */
static const char *const tld_builtin[] = {
	"aero", "app", "asia", "biz", "cat", "club", "com", "coop", "dev", "edu", "gov",
	"info", "int", "jobs", "mil", "mobi", "museum", "name", "net", "online", "org",
	"pro", "shop", "site", "store", "tel", "top", "travel", "xyz",
};

/* tld_cmp - bsearch/qsort order of TLD strings */
static int tld_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* tld_take - the last label of one list rule, if ASCII, into tlds */
static void tld_take(const char *line)
{
	size_t n = strcspn(line, " \t\r\n");
	const char *l = line;

	for (size_t i = 0; i < n; i++)
		if (line[i] == '.')
			l = line + i + 1;
	n -= (size_t)(l - line);
	if (n == 0 || n > TLD_MAX_LEN || ntlds >= TLD_MAX_COUNT)
		return;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)l[i]) && l[i] != '-')
			return;
	if (ntlds > 0 && strncasecmp(tlds[ntlds - 1], l, n) == 0 && tlds[ntlds - 1][n] == '\0')
		return;	/* the list groups the rules of one TLD */
	if (ntlds % 256 == 0)
		tlds = xrealloc(tlds, (ntlds + 256) * sizeof(*tlds));
	tlds[ntlds++] = str_lower(xstrndup(l, n));
}

/* tld_load - the ICANN section of the suffix list, sorted, unique */
static void tld_load(void)
{
	FILE *f = fopen(URI_PSL_PATH, "r");
	char line[512];
	bool icann = false;

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strstr(line, "===BEGIN ICANN DOMAINS==="))
			icann = true;
		else if (strstr(line, "===END ICANN DOMAINS==="))
			break;
		else if (icann && line[0] != '/' && !isspace((unsigned char)line[0]))
			tld_take(line);
	}
	fclose(f);
	if (ntlds == 0)
		return;
	qsort(tlds, ntlds, sizeof(*tlds), tld_cmp);
	size_t k = 1;
	for (size_t i = 1; i < ntlds; i++) {
		if (strcmp(tlds[i], tlds[k - 1]) == 0)
			free(tlds[i]);
		else
			tlds[k++] = tlds[i];
	}
	ntlds = k;
}

/* uri_tld_valid - one label against the list */
bool uri_tld_valid(const char *tld, size_t n)
{
	char low[TLD_MAX_LEN + 1];
	const char *key = low;

	if (n == 0 || n > TLD_MAX_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		low[i] = (char)tolower((unsigned char)tld[i]);
	low[n] = '\0';
	pthread_once(&tld_once, tld_load);
	if (ntlds > 0)
		return bsearch(&key, tlds, ntlds, sizeof(*tlds), tld_cmp) != NULL;
	if (n == 2)
		return isalpha((unsigned char)low[0]) && isalpha((unsigned char)low[1]);
	return bsearch(&key, tld_builtin, sizeof(tld_builtin) / sizeof(tld_builtin[0]),
		       sizeof(*tld_builtin), tld_cmp) != NULL;
}

/* uri_domain_valid - a dot, no space, a valid last label */
bool uri_domain_valid(const char *d, size_t n)
{
	const char *dot = NULL;

	for (size_t i = 0; i < n; i++) {
		if (isspace((unsigned char)d[i]))
			return false;
		if (d[i] == '.')
			dot = d + i;
	}
	return dot != NULL && uri_tld_valid(dot + 1, n - (size_t)(dot + 1 - d));
}
