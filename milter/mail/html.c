/*
 * html.c - render HTML to text for body rules and collect its links (see
 * html.h).  This is a tolerant tokenizer in the spirit of the HTML
 * standard's (WHATWG HTML §13.2.5), not a tree builder: it keeps a stack
 * of open element names only to know where a hidden element ends, with
 * the standard's implied end tags for p, li, dt/dd, td/th, tr and option,
 * so that "<p style=display:none>x<p>visible" shows "visible" as a browser
 * does.  A spammer who hides text from us must hide it from the reader
 * too.
 *
 * Thread safety: no state outside the call.  Cost: linear in the input;
 * the element stack is HTML_MAX_DEPTH names.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/html.h"
#include "mail/html_stats.h"
#include "base/vec16.h"

typedef uint32_t u32x16 __attribute__((vector_size(64)));

#define NAME_MAX_LEN 15		/* longer tag names are compared cut */
#define STYLE_MAX 1024		/* style attribute bytes examined */

/* windows-1252 for 0x80-0x9F (WHATWG Encoding; HTML §13.2.5.80 uses
 * the same table for numeric references) */
static const uint16_t cp1252[32] = {
	0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
	0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
};

/* the common named character references, sorted by name (strcmp) */
static const struct entity {
	const char *name;
	uint16_t cp;
} entities[] = {
	{ "AElig", 198 }, { "Aacute", 193 }, { "Acirc", 194 }, { "Agrave", 192 },
	{ "Aring", 197 }, { "Atilde", 195 }, { "Auml", 196 }, { "Ccedil", 199 },
	{ "ETH", 208 }, { "Eacute", 201 }, { "Ecirc", 202 }, { "Egrave", 200 },
	{ "Euml", 203 }, { "Iacute", 205 }, { "Icirc", 206 }, { "Igrave", 204 },
	{ "Iuml", 207 }, { "Ntilde", 209 }, { "Oacute", 211 }, { "Ocirc", 212 },
	{ "Ograve", 210 }, { "Oslash", 216 }, { "Otilde", 213 }, { "Ouml", 214 },
	{ "THORN", 222 }, { "Uacute", 218 }, { "Ucirc", 219 }, { "Ugrave", 217 },
	{ "Uuml", 220 }, { "Yacute", 221 }, { "aacute", 225 }, { "acirc", 226 },
	{ "acute", 180 }, { "aelig", 230 }, { "agrave", 224 }, { "amp", 38 },
	{ "apos", 39 }, { "aring", 229 }, { "atilde", 227 }, { "auml", 228 },
	{ "brvbar", 166 }, { "bull", 8226 }, { "ccedil", 231 }, { "cedil", 184 },
	{ "cent", 162 }, { "copy", 169 }, { "curren", 164 }, { "dagger", 8224 },
	{ "deg", 176 }, { "divide", 247 }, { "eacute", 233 }, { "ecirc", 234 },
	{ "egrave", 232 }, { "eth", 240 }, { "euml", 235 }, { "euro", 8364 },
	{ "frac12", 189 }, { "frac14", 188 }, { "frac34", 190 }, { "gt", 62 },
	{ "hellip", 8230 }, { "iacute", 237 }, { "icirc", 238 }, { "iexcl", 161 },
	{ "igrave", 236 }, { "iquest", 191 }, { "iuml", 239 }, { "laquo", 171 },
	{ "ldquo", 8220 }, { "lsaquo", 8249 }, { "lsquo", 8216 }, { "lt", 60 },
	{ "macr", 175 }, { "mdash", 8212 }, { "micro", 181 }, { "middot", 183 },
	{ "nbsp", 160 }, { "ndash", 8211 }, { "not", 172 }, { "ntilde", 241 },
	{ "oacute", 243 }, { "ocirc", 244 }, { "ograve", 242 }, { "ordf", 170 },
	{ "ordm", 186 }, { "oslash", 248 }, { "otilde", 245 }, { "ouml", 246 },
	{ "para", 182 }, { "permil", 8240 }, { "plusmn", 177 }, { "pound", 163 },
	{ "quot", 34 }, { "raquo", 187 }, { "rdquo", 8221 }, { "reg", 174 },
	{ "rsaquo", 8250 }, { "rsquo", 8217 }, { "sbquo", 8218 }, { "sect", 167 },
	{ "shy", 173 }, { "sup1", 185 }, { "sup2", 178 }, { "sup3", 179 },
	{ "szlig", 223 }, { "thinsp", 8201 }, { "thorn", 254 }, { "times", 215 },
	{ "trade", 8482 }, { "uacute", 250 }, { "ucirc", 251 }, { "ugrave", 249 },
	{ "uml", 168 }, { "uuml", 252 }, { "yacute", 253 }, { "yen", 165 },
	{ "yuml", 255 }, { "zwj", 8205 }, { "zwnj", 8204 },
};

/* html_latin1_to_utf8 - ISO-8859-1 as browsers read it */
void html_latin1_to_utf8(const char *p, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		buf_put_utf8(out, c >= 0x80 && c < 0xA0 ? cp1252[c - 0x80] : c);
	}
}

/* entity_cmp - bsearch on the name table */
static int entity_cmp(const void *key, const void *e)
{
	return strcmp(key, ((const struct entity *)e)->name);
}

/*
 * char_ref - decode the reference at p (p[0] == '&'); 0 if it is not one,
 * else the bytes used.  Numeric references follow HTML §13.2.5.80: 0,
 * surrogates and out-of-range values become U+FFFD, 0x80-0x9F are read
 * as windows-1252.  Named ones without ';' are accepted in text for the
 * Latin-1 names, as browsers do, never in attribute values.
 */
static size_t char_ref(const char *p, size_t n, bool attr, uint32_t *cp)
{
	size_t i = 1;

	if (n > 2 && p[1] == '#') {
		bool hex = p[2] == 'x' || p[2] == 'X';
		uint32_t v = 0;
		size_t d = 0;
		i = hex ? 3 : 2;
		for (; i < n && (hex ? isxdigit((unsigned char)p[i]) : isdigit((unsigned char)p[i])); i++, d++) {
			unsigned c = (unsigned char)p[i];
			unsigned dv = isdigit(c) ? c - '0' : (unsigned)(tolower(c) - 'a' + 10);
			if (v <= 0x10FFFF)
				v = v * (hex ? 16 : 10) + dv;
		}
		if (d == 0)
			return 0;
		if (i < n && p[i] == ';')
			i++;
		if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
			v = 0xFFFD;
		else if (v >= 0x80 && v < 0xA0)
			v = cp1252[v - 0x80];
		*cp = v;
		return i;
	}
	char name[8];
	size_t k = 0;
	while (i < n && k < sizeof(name) - 1 && isalnum((unsigned char)p[i]))
		name[k++] = p[i++];
	name[k] = '\0';
	if (k == 0 || (i < n && isalnum((unsigned char)p[i])))
		return 0;
	const struct entity *e = bsearch(name, entities, sizeof(entities) / sizeof(entities[0]),
					 sizeof(entities[0]), entity_cmp);
	if (e == NULL)
		return 0;
	if (i < n && p[i] == ';')
		i++;
	else if (attr || e->cp > 0xFF || e->cp == '\'')
		return 0;
	*cp = e->cp;
	return i;
}

/* invisible - code points a renderer draws as nothing (soft hyphen,
 * zero-width space and joiners, word joiner, BOM): spammers put them
 * inside words to break body patterns */
static bool invisible(uint32_t cp)
{
	return cp == 0xAD || (cp >= 0x200B && cp <= 0x200D) || cp == 0x2060 || cp == 0xFEFF;
}

/* one output with its pending-white-space state */
struct out {
	struct buf *b;
	bool space;
};

struct render {
	struct out text, hidden;
	struct uri_set *uris;
	size_t depth;
	size_t hidden_from;	/* 1 + index of the outermost hidden element, 0: none */
	struct html_stats *st;	/* SpamAssassin's statistics, or NULL */
	struct html_attrs attrs;	/* the attributes st reads, of one tag */
	struct buf scratch;	/* one attribute value decoded */
	uint32_t *cps;		/* code points of one text run, for st */
	size_t ncps, cps_cap;
	/* SpamAssassin's parser reads the content of iframe, textarea, xmp
	 * and title as text: st is set aside until quiet_end */
	struct html_stats *st_quiet;
	const char *quiet_end;
	/* the large arrays last, left unset at the start: an entry is
	 * written before it is read (below depth; attrs.v points to it) */
	char stack[HTML_MAX_DEPTH][NAME_MAX_LEN + 1];
	unsigned stack_flags[HTML_MAX_DEPTH];	/* tag_flags of each */
	char attr_buf[HTML_A_COUNT][HTML_STATS_MAX_ATTR + 1];
};

/* cur - where text goes now */
static struct out *cur(struct render *r)
{
	return r->hidden_from ? &r->hidden : &r->text;
}

/* put_cp - one character of text, collapsing white space */
static void put_cp(struct out *o, uint32_t cp)
{
	if (o->b == NULL || invisible(cp))
		return;
	if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\f' || cp == 0xA0) {
		o->space = true;
		return;
	}
	if (o->space && o->b->len > 0 && o->b->data[o->b->len - 1] != '\n')
		buf_putc(o->b, ' ');
	o->space = false;
	if (cp == 0)
		cp = ' ';
	buf_put_utf8(o->b, cp);
}

/* what the renderer does with an element, by name: looked up once per tag */
enum {
	T_WS_LINE = 1 << 0,	/* sa_whitespace: a line break */
	T_WS_PARA = 1 << 1,	/* ... a paragraph break */
	T_WS_SPACE = 1 << 2,	/* ... a space */
	T_VOID = 1 << 3,	/* never has content */
	T_CLOSES_P = 1 << 4,	/* its start tag closes an open <p> (HTML §13.2.6.4.7) */
	T_LITERAL = 1 << 5,	/* SpamAssassin reads its content as text */
	T_P = 1 << 6, T_LI = 1 << 7, T_DTDD = 1 << 8, T_TDTH = 1 << 9, T_TR = 1 << 10,
	T_OPTION = 1 << 11,	/* the elements with implied end tags */
};

/* the elements of those classes, sorted by name (strcmp) */
static const struct tag_class {
	const char *name;
	unsigned flags;
} tag_classes[] = {
	{ "address", T_CLOSES_P }, { "area", T_VOID }, { "article", T_CLOSES_P },
	{ "aside", T_CLOSES_P }, { "base", T_VOID },
	{ "blockquote", T_WS_PARA | T_CLOSES_P }, { "br", T_WS_LINE | T_VOID },
	{ "center", T_CLOSES_P }, { "col", T_VOID }, { "dd", T_WS_SPACE | T_DTDD },
	{ "div", T_WS_LINE | T_CLOSES_P }, { "dl", T_CLOSES_P }, { "dt", T_WS_SPACE | T_DTDD },
	{ "embed", T_WS_SPACE | T_VOID }, { "fieldset", T_CLOSES_P }, { "figure", T_CLOSES_P },
	{ "footer", T_CLOSES_P }, { "form", T_CLOSES_P },
	{ "h1", T_WS_SPACE | T_CLOSES_P }, { "h2", T_WS_SPACE | T_CLOSES_P },
	{ "h3", T_WS_SPACE | T_CLOSES_P }, { "h4", T_WS_SPACE | T_CLOSES_P },
	{ "h5", T_WS_SPACE | T_CLOSES_P }, { "h6", T_WS_SPACE | T_CLOSES_P },
	{ "header", T_CLOSES_P }, { "hr", T_WS_PARA | T_VOID | T_CLOSES_P },
	{ "iframe", T_LITERAL }, { "img", T_VOID }, { "input", T_VOID }, { "keygen", T_VOID },
	{ "li", T_WS_SPACE | T_LI }, { "link", T_VOID }, { "listing", T_WS_PARA },
	{ "main", T_CLOSES_P }, { "meta", T_VOID }, { "nav", T_CLOSES_P }, { "ol", T_CLOSES_P },
	{ "option", T_OPTION }, { "p", T_WS_PARA | T_CLOSES_P | T_P }, { "param", T_VOID },
	{ "plaintext", T_WS_PARA }, { "pre", T_WS_PARA | T_CLOSES_P },
	{ "section", T_CLOSES_P }, { "source", T_VOID }, { "table", T_CLOSES_P },
	{ "td", T_WS_SPACE | T_TDTH }, { "textarea", T_LITERAL }, { "th", T_WS_SPACE | T_TDTH },
	{ "title", T_WS_PARA | T_LITERAL }, { "tr", T_TR }, { "track", T_VOID },
	{ "ul", T_CLOSES_P }, { "wbr", T_VOID }, { "xmp", T_WS_PARA | T_LITERAL },
};

#define TAG_CLASSES (sizeof(tag_classes) / sizeof(tag_classes[0]))

/* the entries of tag_classes (sorted) by first letter: [from[c], from[c + 1]) */
static unsigned char tag_from[27];
static pthread_once_t tag_once = PTHREAD_ONCE_INIT;

/* tag_index - fill tag_from (once) */
static void tag_index(void)
{
	size_t i = 0;

	for (int c = 0; c < 26; c++) {
		tag_from[c] = (unsigned char)i;
		while (i < TAG_CLASSES && tag_classes[i].name[0] == 'a' + c)
			i++;
	}
	tag_from[26] = (unsigned char)i;
}

/* tag_flags - the T_* classes of a lower-cased element name */
static unsigned tag_flags(const char *name)
{
	if (name[0] < 'a' || name[0] > 'z')
		return 0;
	pthread_once(&tag_once, tag_index);
	int c = name[0] - 'a';
	for (size_t i = tag_from[c]; i < tag_from[c + 1]; i++)
		if (tag_classes[i].name[1] == name[1] && strcmp(tag_classes[i].name, name) == 0)
			return tag_classes[i].flags;
	return 0;
}

/*
 * sa_whitespace - the white space an element adds to the text, start or
 * end tag alike, as SpamAssassin's HTML.pm html_whitespace: br and div a
 * line break, p, hr, blockquote, pre, listing, plaintext, xmp and title a
 * paragraph break (two), cells, list items and headings a space.  Other
 * elements add nothing.  The body text later makes one line of each
 * paragraph and one space of other white space (mime.c sa_paragraphs).
 * flags: the element's tag_flags.
 */
static void sa_whitespace(struct out *o, unsigned flags)
{
	if (o->b == NULL)
		return;
	if (flags & T_WS_LINE) {
		o->space = false;
		buf_putc(o->b, '\n');
	} else if (flags & T_WS_PARA) {
		o->space = false;
		buf_puts(o->b, "\n\n");
	} else if (flags & T_WS_SPACE) {
		o->space = true;
	}
}

/* utf8_next - decode one UTF-8 sequence (lenient: a bad byte is itself) */
static size_t utf8_next(const char *p, size_t n, uint32_t *cp)
{
	unsigned char c = (unsigned char)p[0];
	size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;

	if (len == 1 || len > n) {
		*cp = c;
		return 1;
	}
	uint32_t v = c & (0x7F >> len);
	for (size_t i = 1; i < len; i++) {
		if (((unsigned char)p[i] & 0xC0) != 0x80) {
			*cp = c;
			return 1;
		}
		v = (v << 6) | ((unsigned char)p[i] & 0x3F);
	}
	*cp = v;
	return len;
}

/* stat_cp - remember one code point of a text run for the statistics */
static void stat_cp(struct render *r, uint32_t cp)
{
	if (r->st == NULL)
		return;
	/* SpamAssassin makes curly double quotes plain; it reads ISO-8859-1
	 * as windows-1252, where 0x93 and 0x94 are those quotes */
	if (cp == 0x201C || cp == 0x201D || cp == 0x93 || cp == 0x94)
		cp = '"';
	if (r->ncps == r->cps_cap) {
		r->cps_cap = r->cps_cap ? 2 * r->cps_cap : 256;
		r->cps = xrealloc(r->cps, r->cps_cap * sizeof(r->cps[0]));
	}
	r->cps[r->ncps++] = cp;
}

/* plain_ascii - an ASCII byte put_cp and stat_cp take as it is: not a
 * character reference's '&', not the white space put_cp collapses, not
 * NUL (made a space) */
static bool plain_ascii(unsigned char c)
{
	static const bool plain[256] = {
		[0x01 ... 0x08] = true, ['\v'] = true, [0x0e ... 0x1f] = true,
		['!' ... '%'] = true, ['\'' ... 0x7f] = true,
	};

	return plain[c];
}

/* not_plain16 - the lanes of c that are not plain_ascii */
static inline u8x16 not_plain16(u8x16 c)
{
	return (u8x16)(c == 0) | (u8x16)(c == '\t') | (u8x16)(c == '\n') | (u8x16)(c == '\f') |
	       (u8x16)(c == '\r') | (u8x16)(c == ' ') | (u8x16)(c == '&') | (u8x16)(c >= 0x80);
}

/* plain_words16 - how many bytes from p on, in steps of 16, are
 * plain_ascii or a ' ' before a plain_ascii byte (text_run's loop takes
 * the rest a byte at a time) */
static size_t plain_words16(const char *p, size_t n)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t k = 0;

	while (k + 17 <= n) {
		u8x16 v = vec16_load(u + k), np = not_plain16(vec16_load(u + k + 1));
		u8x16 blank = (u8x16)(v == ' ');
		unsigned f = vec16_first((not_plain16(v) & ~blank) | (blank & np));
		if (f < 16)
			return k + f;
		k += 16;
	}
	return k;
}

/* put_run - put_cp of each byte of a run of plain_ascii bytes (and single
 * spaces between them), at once */
static void put_run(struct out *o, const char *p, size_t n)
{
	if (o->b == NULL)
		return;
	if (o->space && o->b->len > 0 && o->b->data[o->b->len - 1] != '\n')
		buf_putc(o->b, ' ');
	o->space = false;
	buf_append(o->b, p, n);
}

/* stat_run - stat_cp of each byte of a run of plain_ascii bytes (and
 * single spaces between them), at once */
static void stat_run(struct render *r, const char *p, size_t n)
{
	if (r->st == NULL)
		return;
	if (r->ncps + n > r->cps_cap) {
		while (r->ncps + n > r->cps_cap)
			r->cps_cap = r->cps_cap ? 2 * r->cps_cap : 256;
		r->cps = xrealloc(r->cps, r->cps_cap * sizeof(r->cps[0]));
	}
	uint32_t *d = r->cps + r->ncps;
	size_t i = 0;
	for (; i + 16 <= n; i += 16) {	/* 16 bytes widened at once */
		u32x16 w = __builtin_convertvector(vec16_load((const unsigned char *)p + i), u32x16);
		memcpy(d + i, &w, sizeof(w));
	}
	for (; i < n; i++)
		d[i] = (unsigned char)p[i];
	r->ncps += n;
}

/* text_run - character data between tags */
static void text_run(struct render *r, const char *p, size_t n)
{
	struct out *o = cur(r);
	size_t i = 0;

	if (o->b == NULL && r->st == NULL)
		return;
	r->ncps = 0;
	while (i < n) {
		uint32_t cp;
		size_t used;
		if (p[i] == '&' && (used = char_ref(p + i, n - i, false, &cp)) > 0) {
			put_cp(o, cp);
			/* SpamAssassin turns "&nbsp;" into a space before parsing */
			stat_cp(r, used == 6 && memcmp(p + i, "&nbsp;", 6) == 0 ? ' ' : cp);
			i += used;
		} else if (plain_ascii((unsigned char)p[i])) {
			/* words and the single spaces between them: put_cp and
			 * stat_cp would give each such space as it is */
			size_t k = i + 1 + plain_words16(p + i + 1, n - i - 1);
			for (;;) {
				while (k < n && plain_ascii((unsigned char)p[k]))
					k++;
				if (k + 1 < n && p[k] == ' ' && plain_ascii((unsigned char)p[k + 1]))
					k += 2;
				else
					break;
			}
			put_run(o, p + i, k - i);
			stat_run(r, p + i, k - i);
			i = k;
		} else if ((unsigned char)p[i] < 0x80) {
			put_cp(o, (unsigned char)p[i]);
			stat_cp(r, (unsigned char)p[i]);
			i++;
		} else {
			used = utf8_next(p + i, n - i, &cp);
			if (used == 1 && o->b)
				buf_putc(o->b, p[i]);	/* not UTF-8: keep the byte */
			else if (used > 1)
				put_cp(o, cp);
			stat_cp(r, cp);
			i += used;
		}
	}
	if (r->st)
		html_stats_text(r->st, r->cps, r->ncps);
}

/* top_is - is the innermost open element in one of the classes? */
static bool top_is(const struct render *r, unsigned classes)
{
	return r->depth > 0 && (r->stack_flags[r->depth - 1] & classes);
}

/* pop_to - close elements down to depth d */
static void pop_to(struct render *r, size_t d)
{
	r->depth = d;
	if (r->hidden_from > d)
		r->hidden_from = 0;
}

/* implied_ends - end tags a browser infers when an element of the
 * classes f starts */
static void implied_ends(struct render *r, unsigned f)
{
	if ((f & T_CLOSES_P) && top_is(r, T_P))
		pop_to(r, r->depth - 1);
	if ((f & T_LI) && top_is(r, T_LI))
		pop_to(r, r->depth - 1);
	if ((f & T_DTDD) && top_is(r, T_DTDD))
		pop_to(r, r->depth - 1);
	if ((f & (T_TDTH | T_TR)) && top_is(r, T_TDTH))
		pop_to(r, r->depth - 1);
	if ((f & T_TR) && top_is(r, T_TR))
		pop_to(r, r->depth - 1);
	if ((f & T_OPTION) && top_is(r, T_OPTION))
		pop_to(r, r->depth - 1);
}

/* hiding_style - does a style attribute make the element invisible? */
static bool hiding_style(const char *v, size_t n)
{
	char s[STYLE_MAX + 1];
	size_t k = 0;

	for (size_t i = 0; i < n && k < STYLE_MAX; i++)
		if (!isspace((unsigned char)v[i]))
			s[k++] = (char)tolower((unsigned char)v[i]);
	s[k] = '\0';
	if (strstr(s, "display:none") || strstr(s, "visibility:hidden"))
		return true;
	/* font-size:0, font-size:0px ... but not font-size:0.8em */
	for (const char *p = s; (p = strstr(p, "font-size:0")) != NULL; p++)
		if (p[11] != '.' && !isdigit((unsigned char)p[11]))
			return true;
	for (const char *p = s; (p = strstr(p, "opacity:0")) != NULL; p++)
		if (p[9] != '.' && !isdigit((unsigned char)p[9]))
			return true;
	return false;
}

/* attr_decode - an attribute value with character references decoded;
 * url: tab, CR and LF dropped as browsers do in URLs */
static void attr_decode(const char *v, size_t n, struct buf *out, bool url)
{
	for (size_t i = 0; i < n;) {
		size_t k = i;	/* a run of bytes kept as they are, in one copy */
		for (; k + 16 <= n; k += 16) {	/* 16 at a time */
			u8x16 c = vec16_load((const unsigned char *)v + k);
			u8x16 m = (u8x16)(c == '&');
			if (url)
				m |= (u8x16)(c == '\n') | (u8x16)(c == '\r') | (u8x16)(c == '\t');
			unsigned f = vec16_first(m);
			if (f < 16) {
				k += f;
				break;
			}
		}
		while (k < n && v[k] != '&' && (!url || (v[k] != '\n' && v[k] != '\r' && v[k] != '\t')))
			k++;
		if (k > i) {
			buf_append(out, v + i, k - i);
			i = k;
			continue;
		}
		uint32_t cp;
		size_t used = v[i] == '&' ? char_ref(v + i, n - i, true, &cp) : 0;
		if (used) {
			buf_put_utf8(out, cp);
			i += used;
		} else if (!url || (v[i] != '\n' && v[i] != '\r' && v[i] != '\t')) {
			buf_putc(out, v[i++]);
		} else {
			i++;
		}
	}
}

/* stat_attr - keep the value of an attribute the statistics read (the
 * first of each name, decoded, cut at HTML_STATS_MAX_ATTR) */
static void stat_attr(struct render *r, const char *name, const char *v, size_t n)
{
	int sa = r->st ? html_stats_attr(name) : -1;
	if (sa >= 0 && r->attrs.v[sa] == NULL) {
		struct buf *d = &r->scratch;
		buf_reset(d);
		attr_decode(v, n, d, false);
		size_t k = d->len < HTML_STATS_MAX_ATTR ? d->len : HTML_STATS_MAX_ATTR;
		if (k)
			memcpy(r->attr_buf[sa], d->data, k);
		r->attr_buf[sa][k] = '\0';
		r->attrs.v[sa] = r->attr_buf[sa];
	}
}

/* url_attr - href, src, action or background: a link */
static bool url_attr(const char *name)
{
	switch (name[0]) {
	case 'h': return strcmp(name, "href") == 0;
	case 's': return strcmp(name, "src") == 0;
	case 'a': return strcmp(name, "action") == 0;
	case 'b': return strcmp(name, "background") == 0;
	default: return false;
	}
}

/* attribute - one name=value of a start tag */
static void attribute(struct render *r, const char *name, const char *v, size_t n,
		      bool *hidden)
{
	stat_attr(r, name, v, n);
	if (strcmp(name, "style") == 0) {
		*hidden = *hidden || hiding_style(v, n);
		return;
	}
	if (strcmp(name, "hidden") == 0) {
		*hidden = true;
		return;
	}
	if (r->uris == NULL || !url_attr(name))
		return;
	struct buf *u = &r->scratch;
	buf_reset(u);
	attr_decode(v, n, u, true);
	if (u->len)
		uri_add_found(r->uris, u->data, u->len);
}

/* tag_name - lower-cased, cut at NAME_MAX_LEN; returns bytes used */
static size_t tag_name(const char *p, size_t n, char *name)
{
	size_t i = 0, k = 0;

	while (i < n && !isspace((unsigned char)p[i]) && p[i] != '/' && p[i] != '>') {
		if (k < NAME_MAX_LEN)
			name[k++] = (char)tolower((unsigned char)p[i]);
		i++;
	}
	name[k] = '\0';
	return i;
}

/*
 * attributes - parse attributes from p up to the closing '>'; returns the
 * bytes used including the '>', or n if the tag never ends (the standard
 * drops such a tag at end of input).
 */
static size_t attributes(struct render *r, const char *p, size_t n, bool *hidden)
{
	size_t i = 0;

	while (i < n) {
		while (i < n && (isspace((unsigned char)p[i]) || p[i] == '/'))
			i++;
		if (i >= n)
			break;
		if (p[i] == '>')
			return i + 1;
		char name[NAME_MAX_LEN + 1];
		size_t k = 0, start = i;
		while (i < n && !isspace((unsigned char)p[i]) && p[i] != '>' && p[i] != '/' &&
		       (p[i] != '=' || i == start)) {
			if (k < NAME_MAX_LEN)
				name[k++] = (char)tolower((unsigned char)p[i]);
			i++;
		}
		name[k] = '\0';
		while (i < n && isspace((unsigned char)p[i]))
			i++;
		if (i >= n || p[i] != '=') {
			/* SpamAssassin's parser gives <x face> the value "face" */
			stat_attr(r, name, name, strlen(name));
			attribute(r, name, "", 0, hidden);
			continue;
		}
		i++;
		while (i < n && isspace((unsigned char)p[i]))
			i++;
		const char *v = p + i;
		size_t vn;
		if (i < n && (p[i] == '"' || p[i] == '\'')) {
			const char *q = memchr(p + i + 1, p[i], n - i - 1);
			v = p + i + 1;
			vn = q ? (size_t)(q - v) : n - i - 1;
			i = q ? (size_t)(q - p) + 1 : n;
		} else {
			while (i < n && !isspace((unsigned char)p[i]) && p[i] != '>')
				i++;
			vn = (size_t)(p + i - v);
		}
		attribute(r, name, v, vn, hidden);
	}
	return n;
}

/* skip_raw_text - past the end tag of a <script> or <style> */
static size_t skip_raw_text(const char *p, size_t n, const char *name)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i + 2 + nl <= n; i++) {
		if (p[i] == '<' && p[i + 1] == '/' && strncasecmp(p + i + 2, name, nl) == 0 &&
		    (i + 2 + nl == n || strchr(" \t\r\n\f/>", p[i + 2 + nl]))) {
			const char *gt = memchr(p + i, '>', n - i);
			return gt ? (size_t)(gt - p) + 1 : n;
		}
	}
	return n;
}

/*
 * literal_stats - the content of an element SpamAssassin's parser reads
 * as text (HTML::Parser's literal elements) goes to the statistics as
 * one text run; they skip the markup the renderer still reads in it, up
 * to the end tag
 */
static void literal_stats(struct render *r, const char *p, size_t n, const char *name)
{
	size_t end = n, nl = strlen(name);

	for (size_t i = 0; i + 2 + nl <= n; i++) {
		if (p[i] == '<' && p[i + 1] == '/' && strncasecmp(p + i + 2, name, nl) == 0 &&
		    (i + 2 + nl == n || strchr(" \t\r\n\f/>", p[i + 2 + nl]))) {
			end = i;
			break;
		}
	}
	struct html_stats *st = r->st;
	struct out none = { 0 }, text = r->text, hidden = r->hidden;
	/* decode the run for the statistics only */
	r->text = r->hidden = none;
	text_run(r, p, end);
	r->text = text;
	r->hidden = hidden;
	r->st = NULL;
	r->st_quiet = st;
	r->quiet_end = p + end;
}

/* start_tag - p points after '<' at the name; returns bytes used */
static size_t start_tag(struct render *r, const char *p, size_t n)
{
	char name[NAME_MAX_LEN + 1];
	bool hidden = false;
	size_t i = tag_name(p, n, name);

	memset(&r->attrs, 0, sizeof(r->attrs));
	i += attributes(r, p + i, n - i, &hidden);
	if (r->st)
		html_stats_tag(r->st, name, 1, &r->attrs);
	if (strcmp(name, "script") == 0 || strcmp(name, "style") == 0) {
		/* the end tag, or the one SpamAssassin adds at the end */
		if (r->st)
			html_stats_tag(r->st, name, -1, NULL);
		return i + skip_raw_text(p + i, n - i, name);
	}
	unsigned f = tag_flags(name);
	if (r->st && (f & T_LITERAL))
		literal_stats(r, p + i, n - i, name);
	implied_ends(r, f);
	sa_whitespace(cur(r), f);
	if ((f & T_VOID) || r->depth >= HTML_MAX_DEPTH)
		return i;	/* past the cap: not tracked, never hides */
	memcpy(r->stack[r->depth], name, sizeof(name));
	r->stack_flags[r->depth] = f;
	r->depth++;
	if (hidden && r->hidden_from == 0)
		r->hidden_from = r->depth;
	return i;
}

/* end_tag - p points after "</"; returns bytes used */
static size_t end_tag(struct render *r, const char *p, size_t n)
{
	char name[NAME_MAX_LEN + 1];
	size_t i = tag_name(p, n, name);
	const char *gt = memchr(p + i, '>', n - i);

	i = gt ? (size_t)(gt - p) + 1 : n;
	if (r->st)
		html_stats_tag(r->st, name, -1, NULL);
	sa_whitespace(cur(r), tag_flags(name));
	/* </body> and </html> close nothing: later text still goes into
	 * the open elements (HTML §13.2.6.4.19 "after body") */
	if (strcmp(name, "body") == 0 || strcmp(name, "html") == 0)
		return i;
	for (size_t d = r->depth; d > 0; d--) {
		if (strcmp(r->stack[d - 1], name) == 0) {
			pop_to(r, d - 1);
			break;
		}
	}
	return i;
}

/* markup - p[0] == '<'; bytes used, or 0 if it is literal text */
static size_t markup(struct render *r, const char *p, size_t n)
{
	if (n >= 4 && memcmp(p, "<!--", 4) == 0) {
		size_t end = n;
		for (size_t i = 4; i + 3 <= n; i++) {
			if (p[i] == '-' && p[i + 1] == '-' && p[i + 2] == '>') {
				end = i + 3;
				break;
			}
		}
		if (r->st)
			html_stats_comment(r->st, p, end);
		return end;
	}
	if (n >= 2 && (p[1] == '!' || p[1] == '?')) {
		const char *gt = memchr(p, '>', n);
		size_t end = gt ? (size_t)(gt - p) + 1 : n;
		/* SpamAssassin's parser: "<!name" is a declaration, any other
		 * "<!" a comment */
		if (r->st && p[1] == '!' && n > 2 && isalpha((unsigned char)p[2]))
			html_stats_declaration(r->st, p, end);
		else if (r->st && p[1] == '!')
			html_stats_comment(r->st, p, end);
		return end;
	}
	if (n >= 3 && p[1] == '/' && isalpha((unsigned char)p[2]))
		return 2 + end_tag(r, p + 2, n - 2);
	if (n >= 2 && isalpha((unsigned char)p[1]))
		return 1 + start_tag(r, p + 1, n - 1);
	return 0;
}

/* unquiet - the statistics see the input again from quiet_end on */
static void unquiet(struct render *r, const char *at)
{
	if (r->st_quiet && at >= r->quiet_end) {
		r->st = r->st_quiet;
		r->st_quiet = NULL;
	}
}

/* html_render - see html.h */
void html_render(const char *html, size_t len, struct buf *text, struct buf *hidden,
		 struct uri_set *uris, struct html_stats *st)
{
	struct render *r = xmalloc(sizeof(*r));	/* 14 KB: off the stack */

	memset(r, 0, offsetof(struct render, stack));
	size_t i = 0;

	r->text.b = text;
	r->hidden.b = hidden;
	r->uris = uris;
	r->st = st;
	if (st)
		html_stats_begin(st, html, len);
	while (i < len) {
		unquiet(r, html + i);
		const char *lt = memchr(html + i, '<', len - i);
		size_t end = lt ? (size_t)(lt - html) : len;
		if (end > i)
			text_run(r, html + i, end - i);
		if (lt == NULL)
			break;
		unquiet(r, lt);
		size_t used = markup(r, lt, len - end);
		if (used == 0) {
			text_run(r, lt, 1);
			used = 1;
		}
		i = end + used;
	}
	if (r->st_quiet) {
		/* an unclosed literal element: the rest was its text */
		r->st = r->st_quiet;
	}
	if (st)
		html_stats_end(st);
	buf_free(&r->scratch);
	free(r->cps);
	free(r);
}
