/*
 * util.c - allocation wrappers, growable buffers and string helpers shared
 * by every module.  Thread-safe: no state.  Allocation failure aborts the
 * process with a message (the MTA then applies milter_default_action).
 */
#include "autoconfig.h"

#include <ctype.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/util.h"

/* oom - report allocation failure and stop */
void oom(size_t n)
{
	fprintf(stderr, "parapet: out of memory allocating %zu bytes\n", n);
	abort();
}

/* mem_keep_large - see util.h */
void mem_keep_large(size_t largest)
{
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD)
	size_t t = largest < ((size_t)8 << 20) ? largest * 4 : (size_t)32 << 20;

	if (t < ((size_t)4 << 20))
		t = (size_t)4 << 20;
	if (t > ((size_t)32 << 20))
		t = (size_t)32 << 20;	/* glibc's largest M_MMAP_THRESHOLD */
	mallopt(M_MMAP_THRESHOLD, (int)t);
	mallopt(M_TRIM_THRESHOLD, (int)(2 * t));
#else
	(void)largest;
#endif
}

/* xmalloc - malloc that never returns NULL */
void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

/* xcalloc - zeroed array that never returns NULL */
void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		oom(n * size);
	return p;
}

/* xrealloc - realloc that never returns NULL */
void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		oom(n);
	return q;
}

/* xstrdup - copy a string */
char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

/* xstrndup - copy at most n bytes of a string */
char *xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/* xasprintf - formatted string in fresh memory */
char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom(0);
	p = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

/* buf_init - empty buffer, no allocation yet */
void buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

/* buf_reset - forget the contents, keep the memory */
void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

/* buf_free - release the memory */
void buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

/* buf_grow - make room for n more bytes plus the terminator */
static void buf_grow(struct buf *b, size_t n)
{
	size_t need = b->len + n + 1;

	if (need <= b->cap)
		return;
	if (need < b->len)
		oom(SIZE_MAX);
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

/* buf_reserve - make room for n more bytes, so that appending them
 * copies nothing already there */
void buf_reserve(struct buf *b, size_t n)
{
	buf_grow(b, n);
}

/* buf_append - append bytes */
void buf_append(struct buf *b, const void *data, size_t len)
{
	buf_grow(b, len);
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

/* buf_puts - append a string */
void buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

/* buf_putc - append one byte */
void buf_putc(struct buf *b, char c)
{
	if (b->len + 2 <= b->cap) {	/* the common case: room already */
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
		return;
	}
	buf_append(b, &c, 1);
}

/* buf_printf - append formatted text */
void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	buf_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* buf_put_utf8 - append one code point as UTF-8 */
void buf_put_utf8(struct buf *b, uint32_t cp)
{
	char u[4];

	if (cp < 0x80) {
		buf_putc(b, (char)cp);
		return;
	}
	if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		buf_append(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		buf_append(b, u, 3);
	} else {
		u[0] = (char)(0xF0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		buf_append(b, u, 4);
	}
}

/* str_trim - skip leading white space, cut trailing white space */
char *str_trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* str_lower - ASCII lower-case in place */
char *str_lower(char *s)
{
	for (char *p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

/* str_ieq - ASCII case-insensitive equality */
bool str_ieq(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

/* str_hash - FNV-1a of n bytes, ASCII case folded if fold (as compares,
 * c_lower: tolower's table lookup per byte was most of the header-name
 * lookups' cost) */
uint32_t str_hash(const char *p, size_t n, bool fold)
{
	uint32_t h = 2166136261u;

	if (fold) {
		for (size_t i = 0; i < n; i++)
			h = (h ^ c_lower((unsigned char)p[i])) * 16777619u;
	} else {
		for (size_t i = 0; i < n; i++)
			h = (h ^ (unsigned char)p[i]) * 16777619u;
	}
	return h;
}

/* deadline_timespec - now (monotonic) plus left_ms, normalized */
struct timespec deadline_timespec(double left_ms)
{
	struct timespec ts;
	long long ns;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ns = (long long)ts.tv_nsec + (long long)(left_ms * 1e6);
	ts.tv_sec += (time_t)(ns / 1000000000LL);
	ts.tv_nsec = (long)(ns % 1000000000LL);
	return ts;
}

/* now_ms - monotonic clock in milliseconds */
double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* str_next_word - split off the next white-space separated word */
char *str_next_word(char **p)
{
	char *s = *p;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0') {
		*p = s;
		return NULL;
	}
	char *w = s;
	while (*s && !isspace((unsigned char)*s))
		s++;
	if (*s)
		*s++ = '\0';
	*p = s;
	return w;
}

/* mem_ascii_only - see util.h (8 bytes at a time) */
bool mem_ascii_only(const char *p, size_t n)
{
	uint64_t or = 0, w;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		or |= w;
	}
	for (; i < n; i++)
		or |= (unsigned char)p[i];
	return (or & 0x8080808080808080ULL) == 0;
}

/* mem_holds_nocase - see util.h (the plain search: the literals it is
 * asked about are a few bytes, and it runs once per rule set load) */
bool mem_holds_nocase(const char *s, size_t n, const char *lit, size_t len)
{
	for (size_t i = 0; i + len <= n; i++) {
		size_t k = 0;
		while (k < len && tolower((unsigned char)s[i + k]) == tolower((unsigned char)lit[k]))
			k++;
		if (k == len)
			return true;
	}
	return false;
}

/* str_ptr_cmp - order of char * array elements */
int str_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}
