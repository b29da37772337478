/*
 * form.c - POST bodies into name/value pairs (form.h).  Pure functions:
 * thread-safe.  Limits: FORM_MAX_PAIRS pairs; the caller caps the body's
 * size.  A NUL is never let into a value (%00 becomes '?', \u0000 is an
 * error), so C strings hold the whole value.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/form.h"
#include "base/util.h"

/* form_decode - application/x-www-form-urlencoded component (n bytes) */
static char *form_decode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1), *o = out;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+') {
			*o++ = ' ';
		} else if (s[i] == '%' && i + 2 < n &&
			   c_hexval((unsigned char)s[i + 1]) >= 0 &&
			   c_hexval((unsigned char)s[i + 2]) >= 0) {
			int v = c_hexval((unsigned char)s[i + 1]) * 16 + c_hexval((unsigned char)s[i + 2]);
			*o++ = (char)(v ? v : '?');	/* no NUL inside a value */
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

/* parse_urlencoded - a=b&c=d */
static int parse_urlencoded(const char *body, struct form *p)
{
	for (const char *s = body; *s;) {
		size_t n = strcspn(s, "&");
		const char *eq = memchr(s, '=', n);
		if (n > 0) {
			if (eq == NULL || p->n >= FORM_MAX_PAIRS)
				return -1;
			p->name[p->n] = form_decode(s, (size_t)(eq - s));
			p->value[p->n++] = form_decode(eq + 1, (size_t)(s + n - eq - 1));
		}
		s += n;
		if (*s == '&')
			s++;
	}
	return 0;
}

/* skip_ws - past JSON white space (RFC 8259 §2) */
static const char *skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	return s;
}

/* put_utf8 - code point c as UTF-8 */
static void put_utf8(struct buf *b, unsigned c)
{
	if (c < 0x80) {
		buf_putc(b, (char)c);
	} else if (c < 0x800) {
		buf_putc(b, (char)(0xc0 | (c >> 6)));
		buf_putc(b, (char)(0x80 | (c & 0x3f)));
	} else if (c < 0x10000) {
		buf_putc(b, (char)(0xe0 | (c >> 12)));
		buf_putc(b, (char)(0x80 | ((c >> 6) & 0x3f)));
		buf_putc(b, (char)(0x80 | (c & 0x3f)));
	} else {
		buf_putc(b, (char)(0xf0 | (c >> 18)));
		buf_putc(b, (char)(0x80 | ((c >> 12) & 0x3f)));
		buf_putc(b, (char)(0x80 | ((c >> 6) & 0x3f)));
		buf_putc(b, (char)(0x80 | (c & 0x3f)));
	}
}

/* hex4 - four hex digits, -1 if not */
static long hex4(const char *s)
{
	long v = 0;

	for (int i = 0; i < 4; i++) {
		int h = c_hexval((unsigned char)s[i]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* json_string - a JSON string at *sp (past the quote) into fresh memory */
static char *json_string(const char **sp)
{
	const char *s = *sp;
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "");
	while (*s && *s != '"') {
		if ((unsigned char)*s < 0x20)
			goto bad;
		if (*s != '\\') {
			buf_putc(&b, *s++);
			continue;
		}
		s++;
		switch (*s) {
		case '"': case '\\': case '/': buf_putc(&b, *s); break;
		case 'b': buf_putc(&b, '\b'); break;
		case 'f': buf_putc(&b, '\f'); break;
		case 'n': buf_putc(&b, '\n'); break;
		case 'r': buf_putc(&b, '\r'); break;
		case 't': buf_putc(&b, '\t'); break;
		case 'u': {
			long c = hex4(s + 1);
			if (c <= 0)
				goto bad;
			s += 4;
			if (c >= 0xd800 && c <= 0xdbff) {	/* a surrogate pair */
				long lo = s[1] == '\\' && s[2] == 'u' ? hex4(s + 3) : -1;
				if (lo < 0xdc00 || lo > 0xdfff)
					goto bad;
				c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
				s += 6;
			} else if (c >= 0xdc00 && c <= 0xdfff) {
				goto bad;
			}
			put_utf8(&b, (unsigned)c);
			break;
		}
		default:
			goto bad;
		}
		s++;
	}
	if (*s != '"')
		goto bad;
	*sp = s + 1;
	return b.data;
bad:
	buf_free(&b);
	return NULL;
}

/* parse_json - a flat object whose values are strings or numbers */
static int parse_json(const char *body, struct form *p)
{
	const char *s = skip_ws(body);

	if (*s++ != '{')
		return -1;
	s = skip_ws(s);
	if (*s == '}')
		return *skip_ws(s + 1) ? -1 : 0;
	for (;;) {
		char *name, *value;
		if (*s++ != '"' || (name = json_string(&s)) == NULL)
			return -1;
		s = skip_ws(s);
		if (*s++ != ':' || p->n >= FORM_MAX_PAIRS) {
			free(name);
			return -1;
		}
		s = skip_ws(s);
		if (*s == '"') {
			s++;
			value = json_string(&s);
		} else {
			size_t n = strspn(s, "0123456789+-.eE");
			value = n ? xstrndup(s, n) : NULL;
			s += n;
		}
		if (value == NULL) {
			free(name);
			return -1;
		}
		p->name[p->n] = name;
		p->value[p->n++] = value;
		s = skip_ws(s);
		if (*s == '}')
			return *skip_ws(s + 1) ? -1 : 0;
		if (*s++ != ',')
			return -1;
		s = skip_ws(s);
	}
}

/* form_parse - see form.h */
int form_parse(const char *content_type, const char *body, struct form *f)
{
	const char *ct = content_type;

	if (ct && strncasecmp(ct, "application/json", 16) == 0)
		return parse_json(body, f);
	if (ct && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0)
		return parse_urlencoded(body, f);
	return -1;
}

/* form_get - see form.h */
const char *form_get(const struct form *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->name[i], name) == 0)
			return f->value[i];
	return NULL;
}

/* form_clear - see form.h */
void form_clear(struct form *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->name[i]);
		free(f->value[i]);
	}
	f->n = 0;
}
