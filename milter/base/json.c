/*
 * json.c - JSON string literals and numbers (json.h).  Pure functions, no
 * state: thread-safe.  Mail is bytes in any charset; RFC 8259 §8.1 wants
 * UTF-8, so invalid sequences are mapped byte by byte (see json.h).
 */
#include "autoconfig.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"

/* utf8_len - length of a valid UTF-8 sequence at p, or 0 (RFC 3629) */
static size_t utf8_len(const unsigned char *p)
{
	size_t n;

	if (p[0] < 0x80)
		return 1;
	else if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((n == 3 && p[0] == 0xe0 && p[1] < 0xa0) || (n == 3 && p[0] == 0xed && p[1] > 0x9f) ||
	    (n == 4 && p[0] == 0xf0 && p[1] < 0x90) || (n == 4 && p[0] == 0xf4 && p[1] > 0x8f))
		return 0;	/* overlong, surrogate, beyond U+10FFFF */
	return n;
}

/* json_put_str - see json.h */
void json_put_str(struct buf *b, const char *s, int flags)
{
	bool html = flags & JSON_HTML_SAFE;

	if (s == NULL) {
		buf_puts(b, "null");
		return;
	}
	buf_putc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t n = utf8_len(p);
		if (n == 0) {
			buf_printf(b, "\\u%04x", *p);
			p++;
			continue;
		}
		if (n > 1) {
			buf_append(b, p, n);
			p += n;
			continue;
		}
		if (*p == '"' || *p == '\\')
			buf_printf(b, "\\%c", *p);
		else if (*p == '\n')
			buf_puts(b, "\\n");
		else if (*p == '\t')
			buf_puts(b, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			buf_printf(b, "\\u%04x", *p);
		else if (html && (*p == '<' || *p == '>' || *p == '&' || *p == '\''))
			buf_printf(b, "\\u%04x", *p);
		else
			buf_putc(b, (char)*p);
		p++;
	}
	buf_putc(b, '"');
}

/* json_put_num - see json.h */
void json_put_num(struct buf *b, double v, int decimals)
{
	if (!isfinite(v))
		buf_puts(b, "null");
	else
		buf_printf(b, "%.*f", decimals, v);
}

/* json_print_str - see json.h */
void json_print_str(FILE *fp, const char *s, int flags)
{
	struct buf b;

	buf_init(&b);
	json_put_str(&b, s, flags);
	fwrite(b.data, 1, b.len, fp);
	buf_free(&b);
}
