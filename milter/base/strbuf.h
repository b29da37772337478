/*
 * strbuf.h - formatting without printf for the per-message path (issue
 * 17): decimal integers, lower-case hex, fixed-point numbers ("%.Nf")
 * and strings, appended to a growable struct buf (util.h) or to a
 * caller's fixed array (struct sbuf).  The output is byte for byte what
 * the printf conversion named beside each function gives; vfprintf's
 * locale, argument and padding machinery is what it saves.  Start-up,
 * admin and error paths keep snprintf.
 *
 * struct sbuf cuts like snprintf: it keeps what fits, stays
 * NUL-terminated, and remembers how long the whole text would have been
 * (sbuf_over).
 */
#ifndef PARAPET_STRBUF_H
#define PARAPET_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"

/* longest text of one number below, with its NUL ("%.6f" of -DBL_MAX) */
#define FMT_NUM_MAX 320

/* fmt_uint - "%llu" into out (FMT_NUM_MAX); returns the length */
size_t fmt_uint(char *out, unsigned long long v);
/* fmt_int - "%lld" */
size_t fmt_int(char *out, long long v);
/* fmt_hex - "%0*llx" with width at most 16: lower case, zero-padded */
size_t fmt_hex(char *out, unsigned long long v, int width);
/* fmt_fixed - "%.*f" with prec 0..6, rounded as glibc rounds (the exact
 * binary value, ties to even) */
size_t fmt_fixed(char *out, double v, int prec);

/* the same, appended to a struct buf */
void buf_put_uint(struct buf *b, unsigned long long v);
void buf_put_int(struct buf *b, long long v);
void buf_put_hex(struct buf *b, unsigned long long v, int width);
void buf_put_fixed(struct buf *b, double v, int prec);
/* buf_putn - "%.*s": at most n bytes of s, up to its NUL */
void buf_putn(struct buf *b, const char *s, size_t n);

/* a bounded buffer on the caller's array */
struct sbuf {
	char *p;
	size_t cap;	/* of p, > 0 */
	size_t len;	/* the whole text's length, kept or not */
};

/* sbuf_init - empty text in p[cap] (cap > 0) */
void sbuf_init(struct sbuf *s, char *p, size_t cap);
/* sbuf_putn - "%.*s" */
void sbuf_putn(struct sbuf *s, const char *str, size_t n);
/* sbuf_puts - "%s" */
void sbuf_puts(struct sbuf *s, const char *str);
/* sbuf_putc - "%c" */
void sbuf_putc(struct sbuf *s, char c);
void sbuf_put_uint(struct sbuf *s, unsigned long long v);
void sbuf_put_int(struct sbuf *s, long long v);
void sbuf_put_hex(struct sbuf *s, unsigned long long v, int width);
void sbuf_put_fixed(struct sbuf *s, double v, int prec);
/* sbuf_over - the text did not fit (snprintf's return >= cap) */
bool sbuf_over(const struct sbuf *s);

/* str_copy - snprintf(dst, cap, "%s", src): cut to fit, NUL-terminated;
 * returns strlen(src) */
size_t str_copy(char *dst, size_t cap, const char *src);

/* str_join3 - a, b and c into dst[cap], cut to fit; false if cut */
bool str_join3(char *dst, size_t cap, const char *a, const char *b, const char *c);

#endif
