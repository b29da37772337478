/*
 * strbuf.c - formatting without printf (see strbuf.h).
 *
 * fmt_fixed rounds the exact value of the double, as glibc's printf does:
 * v * 10^prec is computed exactly as hi + lo (fma), hi is rounded to an
 * integer, and lo settles the one case where that can be wrong, hi being
 * exactly halfway.  Values whose scaled form reaches 2^52, infinities and
 * NaN go to snprintf (never a score, a count or a time).
 *
 * Thread safety: no state.
 */
#include "autoconfig.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/strbuf.h"

/* fmt_uint - see strbuf.h */
size_t fmt_uint(char *out, unsigned long long v)
{
	char t[24];
	size_t n = 0;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = t[n - 1 - i];
	out[n] = '\0';
	return n;
}

/* fmt_int - see strbuf.h */
size_t fmt_int(char *out, long long v)
{
	if (v >= 0)
		return fmt_uint(out, (unsigned long long)v);
	out[0] = '-';
	return 1 + fmt_uint(out + 1, 0ULL - (unsigned long long)v);
}

/* fmt_hex - see strbuf.h */
size_t fmt_hex(char *out, unsigned long long v, int width)
{
	static const char digits[] = "0123456789abcdef";
	char t[16];
	size_t n = 0;

	do {
		t[n++] = digits[v & 15];
		v >>= 4;
	} while (v);
	while (n < (size_t)(width < 0 ? 0 : width > 16 ? 16 : width))
		t[n++] = '0';
	for (size_t i = 0; i < n; i++)
		out[i] = t[n - 1 - i];
	out[n] = '\0';
	return n;
}

/* fmt_fixed - see strbuf.h */
size_t fmt_fixed(char *out, double v, int prec)
{
	static const double scale[] = { 1, 10, 100, 1e3, 1e4, 1e5, 1e6 };
	static const unsigned long long uscale[] = { 1, 10, 100, 1000, 10000, 100000, 1000000 };

	double a = fabs(v), hi = prec >= 0 && prec <= 6 && isfinite(v) ? a * scale[prec] : INFINITY;
	if (!(hi < 4503599627370496.0)) {	/* 2^52 */
		int n = snprintf(out, FMT_NUM_MAX, "%.*f", prec, v);
		return n < 0 ? 0 : (size_t)n >= FMT_NUM_MAX ? FMT_NUM_MAX - 1 : (size_t)n;
	}
	double lo = fma(a, scale[prec], -hi);	/* a * 10^prec == hi + lo */
	double r = nearbyint(hi);		/* ties to even */
	double d = hi - r;			/* exact below 2^52 */
	if ((d == 0.5 || d == -0.5) && lo != 0)	/* not a tie after all */
		r = lo > 0 ? floor(hi) + 1 : floor(hi);
	unsigned long long q = (unsigned long long)r;
	size_t n = 0;
	if (signbit(v))
		out[n++] = '-';
	n += fmt_uint(out + n, q / uscale[prec]);
	if (prec > 0) {
		char t[8];
		size_t k = fmt_uint(t, q % uscale[prec]);
		out[n++] = '.';
		for (size_t i = k; i < (size_t)prec; i++)
			out[n++] = '0';
		memcpy(out + n, t, k + 1);
		n += k;
	}
	return n;
}

/* buf_putn - see strbuf.h */
void buf_putn(struct buf *b, const char *s, size_t n)
{
	const char *z = memchr(s, '\0', n);

	buf_append(b, s, z ? (size_t)(z - s) : n);
}

/* sbuf_init - see strbuf.h */
void sbuf_init(struct sbuf *s, char *p, size_t cap)
{
	s->p = p;
	s->cap = cap;
	s->len = 0;
	p[0] = '\0';
}

/* sbuf_add - n bytes, cut to what fits */
static void sbuf_add(struct sbuf *s, const char *str, size_t n)
{
	if (s->len + 1 < s->cap) {
		size_t room = s->cap - 1 - s->len, k = n < room ? n : room;
		memcpy(s->p + s->len, str, k);
		s->p[s->len + k] = '\0';
	}
	s->len += n;
}

/* sbuf_putn - see strbuf.h */
void sbuf_putn(struct sbuf *s, const char *str, size_t n)
{
	const char *z = memchr(str, '\0', n);

	sbuf_add(s, str, z ? (size_t)(z - str) : n);
}

/* sbuf_puts - see strbuf.h */
void sbuf_puts(struct sbuf *s, const char *str)
{
	sbuf_add(s, str, strlen(str));
}

/* sbuf_putc - see strbuf.h */
void sbuf_putc(struct sbuf *s, char c)
{
	sbuf_add(s, &c, 1);
}

/*
 * APPENDERS - buf_put_NAME and sbuf_put_NAME (see strbuf.h): the text of
 * call (a fmt_ function writing into t) appended; the parameters after
 * the buffer are the macro's last arguments.
 */
#define APPENDERS(name, call, ...)                      \
	void buf_put_##name(struct buf *b, __VA_ARGS__) \
	{                                               \
		char t[FMT_NUM_MAX];                    \
		buf_append(b, t, call);                 \
	}                                               \
	void sbuf_put_##name(struct sbuf *s, __VA_ARGS__) \
	{                                               \
		char t[FMT_NUM_MAX];                    \
		sbuf_add(s, t, call);                   \
	}

APPENDERS(uint, fmt_uint(t, v), unsigned long long v)
APPENDERS(int, fmt_int(t, v), long long v)
APPENDERS(hex, fmt_hex(t, v, width), unsigned long long v, int width)
APPENDERS(fixed, fmt_fixed(t, v, prec), double v, int prec)

/* sbuf_over - see strbuf.h */
bool sbuf_over(const struct sbuf *s)
{
	return s->len >= s->cap;
}

/* str_join3 - see strbuf.h */
bool str_join3(char *dst, size_t cap, const char *a, const char *b, const char *c)
{
	struct sbuf s;

	sbuf_init(&s, dst, cap);
	sbuf_puts(&s, a);
	sbuf_puts(&s, b);
	sbuf_puts(&s, c);
	return !sbuf_over(&s);
}

/* str_copy - see strbuf.h */
size_t str_copy(char *dst, size_t cap, const char *src)
{
	struct sbuf s;

	sbuf_init(&s, dst, cap);
	sbuf_puts(&s, src);
	return s.len;
}
