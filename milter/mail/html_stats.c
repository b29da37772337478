/*
 * html_stats.c - SpamAssassin's HTML statistics of one part (see
 * html_stats.h), fed by html.c's tokenizer.  The semantics are those of
 * SpamAssassin 4's Mail::SpamAssassin::HTML (html_tag, text_style,
 * html_tests, html_text, display_text, name_to_rgb) read, not copied:
 * quirks that decide a rule's outcome are kept on purpose and marked
 * "(as SA)".
 *
 * Thread safety: state only in the struct of the caller.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/html_stats.h"
#include "base/arena.h"
#include "base/strbuf.h"
#include "base/util.h"

typedef uint32_t u32x4 __attribute__((vector_size(16)));

#define COLOR_LEN 12		/* "#rrggbb", "#", "invalid", "transparent" */

/* one entry of the text style stack (HTML.pm text_style) */
struct style_entry {
	char tag[HTML_STATS_NAME];
	char fg[COLOR_LEN], bg[COLOR_LEN];
	double size;
	bool checked;		/* font_check has seen these colours */
};

#define STYLE_MAX 256		/* = HTML_MAX_DEPTH */

struct html_style {
	struct style_entry e[STYLE_MAX];
	size_t n;
	double basefont;
	bool have_last;		/* font_check saw last_fg on last_bg */
	char last_fg[COLOR_LEN], last_bg[COLOR_LEN];
};

/* HTML 4.01 and XHTML 1.0 elements plus three non-standard ones
 * (HTML.pm %elements); tricks are rendered but not valid */
static const char ELEMENTS[] =
	" a abbr acronym address area b base bdo big blockquote body br button caption cite"
	" code col colgroup dd del dfn div dl dt em fieldset form h1 h2 h3 h4 h5 h6 head hr"
	" html i img input ins kbd label legend li link map meta noscript object ol optgroup"
	" option p param pre q samp script select small span strong style sub sup table tbody"
	" td textarea tfoot th thead title tr tt ul var applet basefont center dir font frame"
	" frameset iframe isindex menu noframes s strike u nobr x-sigsep x-tab ";
static const char TRICKS[] = " bgsound embed listing plaintext xmp ";
static const char TEXT_STYLE[] =
	" body font table tr th td big small basefont marquee span p div a ";
static const char WHITESPACE[] =
	" br div li th td dt dd p hr blockquote pre embed listing plaintext xmp title"
	" h1 h2 h3 h4 h5 h6 ";

/* CSS/HTML colour names (HTML.pm %html_color), sorted */
static const struct color_name {
	const char *name;
	uint32_t rgb;
} colors[] = {
	{ "aliceblue", 0xf0f8ff }, { "antiquewhite", 0xfaebd7 }, { "aqua", 0x00ffff },
	{ "aquamarine", 0x7fffd4 }, { "azure", 0xf0ffff }, { "beige", 0xf5f5dc },
	{ "bisque", 0xffe4c4 }, { "black", 0x000000 }, { "blanchedalmond", 0xffebcd },
	{ "blue", 0x0000ff }, { "blueviolet", 0x8a2be2 }, { "brown", 0xa52a2a },
	{ "burlywood", 0xdeb887 }, { "cadetblue", 0x5f9ea0 }, { "chartreuse", 0x7fff00 },
	{ "chocolate", 0xd2691e }, { "coral", 0xff7f50 }, { "cornflowerblue", 0x6495ed },
	{ "cornsilk", 0xfff8dc }, { "crimson", 0xdc143c }, { "cyan", 0x00ffff },
	{ "darkblue", 0x00008b }, { "darkcyan", 0x008b8b }, { "darkgoldenrod", 0xb8860b },
	{ "darkgray", 0xa9a9a9 }, { "darkgreen", 0x006400 }, { "darkgrey", 0xa9a9a9 },
	{ "darkkhaki", 0xbdb76b }, { "darkmagenta", 0x8b008b },
	{ "darkolivegreen", 0x556b2f }, { "darkorange", 0xff8c00 },
	{ "darkorchid", 0x9932cc }, { "darkred", 0x8b0000 }, { "darksalmon", 0xe9967a },
	{ "darkseagreen", 0x8fbc8f }, { "darkslateblue", 0x483d8b },
	{ "darkslategray", 0x2f4f4f }, { "darkslategrey", 0x2f4f4f },
	{ "darkturquoise", 0x00ced1 }, { "darkviolet", 0x9400d3 }, { "deeppink", 0xff1493 },
	{ "deepskyblue", 0x00bfff }, { "dimgray", 0x696969 }, { "dimgrey", 0x696969 },
	{ "dodgerblue", 0x1e90ff }, { "firebrick", 0xb22222 }, { "floralwhite", 0xfffaf0 },
	{ "forestgreen", 0x228b22 }, { "fuchsia", 0xff00ff }, { "gainsboro", 0xdcdcdc },
	{ "ghostwhite", 0xf8f8ff }, { "gold", 0xffd700 }, { "goldenrod", 0xdaa520 },
	{ "gray", 0x808080 }, { "green", 0x008000 }, { "greenyellow", 0xadff2f },
	{ "grey", 0x808080 }, { "honeydew", 0xf0fff0 }, { "hotpink", 0xff69b4 },
	{ "indianred", 0xcd5c5c }, { "indigo", 0x4b0082 }, { "ivory", 0xfffff0 },
	{ "khaki", 0xf0e68c }, { "lavender", 0xe6e6fa }, { "lavenderblush", 0xfff0f5 },
	{ "lawngreen", 0x7cfc00 }, { "lemonchiffon", 0xfffacd }, { "lightblue", 0xadd8e6 },
	{ "lightcoral", 0xf08080 }, { "lightcyan", 0xe0ffff },
	{ "lightgoldenrodyellow", 0xfafad2 }, { "lightgray", 0xd3d3d3 },
	{ "lightgreen", 0x90ee90 }, { "lightgrey", 0xd3d3d3 }, { "lightpink", 0xffb6c1 },
	{ "lightsalmon", 0xffa07a }, { "lightseagreen", 0x20b2aa },
	{ "lightskyblue", 0x87cefa }, { "lightslategray", 0x778899 },
	{ "lightslategrey", 0x778899 }, { "lightsteelblue", 0xb0c4de },
	{ "lightyellow", 0xffffe0 }, { "lime", 0x00ff00 }, { "limegreen", 0x32cd32 },
	{ "linen", 0xfaf0e6 }, { "magenta", 0xff00ff }, { "maroon", 0x800000 },
	{ "mediumaquamarine", 0x66cdaa }, { "mediumblue", 0x0000cd },
	{ "mediumorchid", 0xba55d3 }, { "mediumpurple", 0x9370db },
	{ "mediumseagreen", 0x3cb371 }, { "mediumslateblue", 0x7b68ee },
	{ "mediumspringgreen", 0x00fa9a }, { "mediumturquoise", 0x48d1cc },
	{ "mediumvioletred", 0xc71585 }, { "midnightblue", 0x191970 },
	{ "mintcream", 0xf5fffa }, { "mistyrose", 0xffe4e1 }, { "moccasin", 0xffe4b5 },
	{ "navajowhite", 0xffdead }, { "navy", 0x000080 }, { "oldlace", 0xfdf5e6 },
	{ "olive", 0x808000 }, { "olivedrab", 0x6b8e23 }, { "orange", 0xffa500 },
	{ "orangered", 0xff4500 }, { "orchid", 0xda70d6 }, { "palegoldenrod", 0xeee8aa },
	{ "palegreen", 0x98fb98 }, { "paleturquoise", 0xafeeee },
	{ "palevioletred", 0xdb7093 }, { "papayawhip", 0xffefd5 }, { "peachpuff", 0xffdab9 },
	{ "peru", 0xcd853f }, { "pink", 0xffc0cb }, { "plum", 0xdda0dd },
	{ "powderblue", 0xb0e0e6 }, { "purple", 0x800080 }, { "red", 0xff0000 },
	{ "rosybrown", 0xbc8f8f }, { "royalblue", 0x4169e1 }, { "saddlebrown", 0x8b4513 },
	{ "salmon", 0xfa8072 }, { "sandybrown", 0xf4a460 }, { "seagreen", 0x2e8b57 },
	{ "seashell", 0xfff5ee }, { "sienna", 0xa0522d }, { "silver", 0xc0c0c0 },
	{ "skyblue", 0x87ceeb }, { "slateblue", 0x6a5acd }, { "slategray", 0x708090 },
	{ "slategrey", 0x708090 }, { "snow", 0xfffafa }, { "springgreen", 0x00ff7f },
	{ "steelblue", 0x4682b4 }, { "tan", 0xd2b48c }, { "teal", 0x008080 },
	{ "thistle", 0xd8bfd8 }, { "tomato", 0xff6347 }, { "turquoise", 0x40e0d0 },
	{ "violet", 0xee82ee }, { "wheat", 0xf5deb3 }, { "white", 0xffffff },
	{ "whitesmoke", 0xf5f5f5 }, { "yellow", 0xffff00 }, { "yellowgreen", 0x9acd32 },
};

/* streq - a and b are the same string: the first bytes decide most
 * comparisons of tag names without a call */
static inline bool streq(const char *a, const char *b)
{
	return a[0] == b[0] && strcmp(a, b) == 0;
}

/* in_set - is name one of the words of a " a b c " set? */
static bool in_set(const char *set, const char *name)
{
	char key[HTML_STATS_NAME + 2];
	size_t n = strlen(name);

	if (n == 0 || n >= HTML_STATS_NAME)
		return false;
	key[0] = ' ';
	memcpy(key + 1, name, n);
	key[n + 1] = ' ';
	key[n + 2] = '\0';
	return strstr(set, key) != NULL;
}

/* the sets a tag name is in: looked up once per distinct name */
enum { TAG_ELEMENT = 1, TAG_TRICK = 2, TAG_TEXT_STYLE = 4, TAG_WHITESPACE = 8 };

/* tag_sets - the TAG_* sets name is in */
static unsigned tag_sets(const char *name)
{
	return (in_set(ELEMENTS, name) ? TAG_ELEMENT : 0) | (in_set(TRICKS, name) ? TAG_TRICK : 0) |
	       (in_set(TEXT_STYLE, name) ? TAG_TEXT_STYLE : 0) |
	       (in_set(WHITESPACE, name) ? TAG_WHITESPACE : 0);
}

/* perl_space - Perl's \s on a code point (Unicode rules) */
static bool perl_space(uint32_t c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || c == 0x85 || c == 0xA0 || c == 0x1680 ||
	       (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
	       c == 0x205F || c == 0x3000;
}

/* ascii_space - [ \t\n\r\f\x0b], what display_text collapses */
static bool ascii_space(uint32_t c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* word_ish - [^\s\x21-\x2f\x3a-\x40\x5b-\x60\x7b-\x7e] of html_text */
static bool word_ish(uint32_t c)
{
	if (perl_space(c))
		return false;
	return !((c >= 0x21 && c <= 0x2f) || (c >= 0x3a && c <= 0x40) ||
		 (c >= 0x5b && c <= 0x60) || (c >= 0x7b && c <= 0x7e));
}

/* perl_word - Perl's \w, approximated outside Latin-1 (letters and
 * digits of most scripts; general and CJK punctuation are not) */
static bool perl_word(uint32_t c)
{
	if (c < 0x80)
		return isalnum((int)c) || c == '_';
	if (c < 0x100)
		return c == 0xAA || c == 0xB5 || c == 0xBA || (c >= 0xC0 && c != 0xD7 && c != 0xF7);
	if ((c >= 0x2000 && c <= 0x2BFF) || (c >= 0x3000 && c <= 0x303F) ||
	    (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF0F) || c == 0xFEFF)
		return false;
	return true;
}

/* boundary - Perl's \b between code points a and b (0: none) */
static bool boundary(const uint32_t *a, const uint32_t *b)
{
	return (a && perl_word(*a)) != (b && perl_word(*b));
}

/* ------------------------------------------------------------- colours */

/* color_cmp - bsearch on the colour names */
static int color_cmp(const void *k, const void *e)
{
	return strcmp(k, ((const struct color_name *)e)->name);
}

/* hex_append - Perl's dec2hex: two digits below 16, else as many as needed */
static void hex_append(char *s, size_t cap, long v)
{
	struct sbuf b;
	size_t n = strlen(s);

	sbuf_init(&b, s + n, cap - n);
	sbuf_put_hex(&b, (unsigned long)v, v < 16 ? 2 : 0);
}

/*
 * name_to_rgb - HTML.pm name_to_rgb: a colour name, "#hex" of any
 * length or rgb(r,g,b) / rgb(r%,g%,b%) as "#rrggbb"; "#" for "#" alone,
 * "invalid" for anything else, including hex without '#' (as SA)
 */
static void name_to_rgb(const char *in, char out[COLOR_LEN])
{
	char c[64], t[64];
	size_t n = 0;

	while (*in && isspace((unsigned char)*in))
		in++;
	for (; *in && n < sizeof(c) - 1; in++)
		c[n++] = (char)tolower((unsigned char)*in);
	while (n > 0 && isspace((unsigned char)c[n - 1]))
		n--;
	c[n] = '\0';
	const struct color_name *cn = bsearch(c, colors, sizeof(colors) / sizeof(colors[0]),
					      sizeof(colors[0]), color_cmp);
	if (cn) {
		out[0] = '#';
		fmt_hex(out + 1, cn->rgb, 6);
		return;
	}
	bool hexy = strspn(c, "#0123456789abcdef") == n;
	const char *rgb = strstr(c, "rgb(");
	bool rgb_ok = false;
	for (const char *p = rgb; p && !rgb_ok; p = strstr(p + 1, "rgb(")) {
		size_t k = strspn(p + 4, "0123456789%, ");
		rgb_ok = p[4 + k] == ')';
		rgb = p;
	}
	if (!hexy && !rgb_ok) {
		str_copy(out, COLOR_LEN, "invalid");
		return;
	}
	long v[3];
	int pct = 0;
	if (rgb_ok && sscanf(rgb, "rgb(%ld%%,%ld%%,%ld%%", &v[0], &v[1], &v[2]) == 3)
		pct = 1;
	else if (rgb_ok && sscanf(rgb, "rgb(%ld,%ld,%ld", &v[0], &v[1], &v[2]) == 3)
		pct = 2;
	if (pct && v[0] >= 0 && v[1] >= 0 && v[2] >= 0) {
		strcpy(t, "#");
		for (int i = 0; i < 3; i++)
			hex_append(t, sizeof(t), pct == 1 ? (long)(v[i] / 100.0 * 255) : v[i]);
		strcpy(c, t);
	}
	if (c[0] != '#') {
		str_copy(out, COLOR_LEN, "invalid");
		return;
	}
	size_t k = 0;
	for (size_t i = 0; c[i]; i++)
		if (isxdigit((unsigned char)c[i]))
			t[k++] = c[i];
	if (k > 6)
		k = 6;
	if (k > 3 && k < 6)
		k = 3;
	while (k % 3)
		t[k++] = '0';
	t[k] = '\0';
	out[0] = '#';
	if (k == 3) {
		for (int i = 0; i < 6; i++)
			out[1 + i] = t[i / 2];
		out[7] = '\0';
	} else {
		str_copy(out + 1, COLOR_LEN - 1, t);
	}
}

/* rgb_of - "#rrggbb" or "rrggbb" as numbers */
static bool rgb_of(const char *s, int v[3])
{
	if (*s == '#')
		s++;
	if (strlen(s) != 6 || strspn(s, "0123456789abcdef") != 6)
		return false;
	for (int i = 0; i < 3; i++)
		v[i] = c_hexval((unsigned char)s[2 * i]) * 16 + c_hexval((unsigned char)s[2 * i + 1]);
	return true;
}

/* tail6 - Perl's substr($s, -6) */
static const char *tail6(const char *s)
{
	size_t n = strlen(s);

	return n > 6 ? s + n - 6 : s;
}

/* css_rgb - a style colour holding "rgb": its digits and commas read as
 * r,g,b, each clamped to 255 (as SA) */
static void css_rgb(const char *v, char out[COLOR_LEN])
{
	long rgb[3] = { 0, 0, 0 };
	int i = 0;

	for (const char *p = v; *p && i < 3; p++) {
		if (isdigit((unsigned char)*p)) {
			if (rgb[i] < 100000)
				rgb[i] = rgb[i] * 10 + (*p - '0');
		} else if (*p == ',') {
			i++;
		}
	}
	out[0] = '#';
	for (int k = 0; k < 3; k++)	/* each at most ff */
		fmt_hex(out + 1 + 2 * k, (unsigned long)(rgb[k] > 255 ? 255 : rgb[k]), 2);
}

/*
 * css_background - the colour of a CSS background shorthand: the first
 * token of the last comma-separated layer that is a colour (brackets
 * and quotes keep their content in one token)
 */
static void css_background(const char *v, char out[COLOR_LEN])
{
	const char *layer = v;
	int depth = 0;
	char q = 0;

	for (const char *p = v; *p; p++) {
		if (q) {
			if (*p == q)
				q = 0;
		} else if (*p == '"' || *p == '\'') {
			q = *p;
		} else if (*p == '(') {
			depth++;
		} else if (*p == ')' && depth > 0) {
			depth--;
		} else if (*p == ',' && depth == 0 && p[1] != '\0') {
			layer = p + 1;
		}
	}
	/* tokens of the layer, split at spaces outside brackets and quotes */
	char tok[64];
	size_t k = 0;
	depth = 0;
	q = 0;
	for (const char *p = layer;; p++) {
		bool end = *p == '\0' || *p == ',' || (*p == ' ' && depth == 0 && !q);
		if (!end) {
			if (q) {
				if (*p == q)
					q = 0;
			} else if (*p == '"' || *p == '\'') {
				q = *p;
			} else if (*p == '(') {
				depth++;
			} else if (*p == ')' && depth > 0) {
				depth--;
			}
			if (k < sizeof(tok) - 1)
				tok[k++] = *p;
			continue;
		}
		if (k > 0) {
			char c[COLOR_LEN];
			tok[k] = '\0';
			name_to_rgb(tok, c);
			if (strcmp(c, "invalid") != 0) {
				memcpy(out, c, COLOR_LEN);
				return;
			}
		}
		k = 0;
		if (*p == '\0' || *p == ',')
			return;
	}
}

/* style_attr - the colour declarations of a style attribute into e
 * (HTML.pm text_style, 'style' branch); parent is the enclosing style */
static void style_attr(struct style_entry *e, const struct style_entry *parent, const char *style)
{
	char s[HTML_STATS_MAX_ATTR + 1];

	str_copy(s, sizeof(s), style);
	for (char *save = NULL, *d = strtok_r(s, ";", &save); d; d = strtok_r(NULL, ";", &save)) {
		char *p = d;
		while (isspace((unsigned char)*p))
			p++;
		bool bgc = strncasecmp(p, "background-color:", 17) == 0;
		if (bgc || strncasecmp(p, "color:", 6) == 0) {
			char *v = str_trim(p + (bgc ? 17 : 6));
			str_lower(v);
			char *bang = strrchr(v, '!');
			if (bang && strcmp(str_trim(bang + 1), "important") == 0) {
				*bang = '\0';
				v = str_trim(v);
			}
			if (*v == '\0')
				continue;	/* (.+?) needs a character */
			char *dst = bgc ? e->bg : e->fg;
			if (strstr(v, "rgb"))
				css_rgb(v, dst);
			else if (strcmp(v, "inherit") == 0)
				;
			else if (strcmp(v, "transparent") == 0)
				str_copy(dst, COLOR_LEN, "transparent");
			else
				name_to_rgb(v, dst);
		} else if (strncmp(p, "background:", 11) == 0) {
			char *v = str_trim(p + 11);
			str_lower(v);
			css_background(v, e->bg);
		}
	}
	if (strcmp(e->bg, "transparent") == 0)
		memcpy(e->bg, parent->bg, COLOR_LEN);
	if (strcmp(e->fg, "transparent") == 0)
		memcpy(e->fg, e->bg, COLOR_LEN);
}

/* digits - the number a run of decimal digits at v spells ("2.5" is 2,
 * as SpamAssassin's \d+ reads it); huge runs stay finite */
static double digits(const char *v)
{
	double d = 0;

	for (; isdigit((unsigned char)*v); v++)
		if (d < 1e300)
			d = d * 10 + (*v - '0');
	return d;
}

/* ok_attr - the attributes text_style reads on a tag (th is td) */
static bool ok_attr(const char *tag, int a)
{
	if (streq(tag, "font") || streq(tag, "basefont"))
		return a == HTML_A_COLOR || a == HTML_A_FACE || a == HTML_A_SIZE;
	if (streq(tag, "body"))
		return a == HTML_A_TEXT;	/* bgcolor, link... change nothing */
	if (in_set(" table td tr span p div a ", tag))
		return a == HTML_A_STYLE;
	return false;
}

/* style_has - is an entry for tag on the stack? */
static bool style_has(const struct html_style *s, const char *tag)
{
	for (size_t i = 0; i < s->n; i++)
		if (streq(s->e[i].tag, tag))
			return true;
	return false;
}

/* style_start - text_style for a start tag */
static void style_start(struct html_stats *st, const char *tag, const struct html_attrs *a)
{
	struct html_style *s = st->style;

	if (streq(tag, "basefont")) {
		const char *v = a->v[HTML_A_SIZE];
		if (v) {
			while (isspace((unsigned char)*v))
				v++;
			if (isdigit((unsigned char)*v))
				s->basefont = digits(v);
		}
		if (v && isdigit((unsigned char)*v))
			return;
	}
	if ((streq(tag, "td") || streq(tag, "tr")) && style_has(s, tag)) {
		while (s->n > 1) {
			const char *top = s->e[s->n - 1].tag;
			if (streq(top, "font") || streq(top, "td") ||
			    (tag[1] == 'r' && streq(top, "tr")))
				s->n--;
			else
				break;
		}
	}
	if (s->n >= STYLE_MAX)
		return;
	struct style_entry *e = &s->e[s->n], *parent = &s->e[s->n - 1];
	*e = *parent;
	str_copy(e->tag, sizeof(e->tag), tag);
	if (streq(tag, "big") || streq(tag, "small")) {
		e->size += tag[0] == 'b' ? 1 : -1;
		s->n++;
		return;	/* the colours are the parent's */
	}
	for (int i = 0; i < HTML_A_COUNT; i++) {
		if (a->v[i] == NULL || !ok_attr(tag, i))
			continue;
		if (i == HTML_A_TEXT || i == HTML_A_COLOR) {
			name_to_rgb(a->v[i], e->fg);
		} else if (i == HTML_A_SIZE) {
			const char *v = a->v[i];
			while (isspace((unsigned char)*v))
				v++;
			if ((*v == '+' || *v == '-') && isdigit((unsigned char)v[1]))
				e->size = s->basefont + (*v == '-' ? -digits(v + 1) : digits(v + 1));
			else if (isdigit((unsigned char)*v))
				e->size = digits(v);
		} else if (i == HTML_A_STYLE) {
			style_attr(e, parent, a->v[i]);
		}
		if (e->size > st->max_size)
			st->max_size = e->size;
		else if (e->size < st->min_size)
			st->min_size = e->size;
	}
	if (strcmp(e->fg, parent->fg) != 0 || strcmp(e->bg, parent->bg) != 0)
		e->checked = false;
	s->n++;
}

/* style_end - text_style for an end tag: pop to the matching entry */
static void style_end(struct html_style *s, const char *tag)
{
	if (streq(tag, "body") || !style_has(s, tag))
		return;
	while (s->n > 1) {
		s->n--;
		if (streq(s->e[s->n].tag, tag))
			break;
	}
}

/* font_check - HTML.pm html_font_invisible, for its two results */
static void font_check(struct html_stats *st)
{
	struct style_entry *e = &st->style->e[st->style->n - 1];
	int f[3], b[3];

	/* the flags only ever gain bits: the same colours give nothing new */
	if (e->checked)
		return;
	e->checked = true;
	struct html_style *s = st->style;
	if (s->have_last && strcmp(e->fg, s->last_fg) == 0 && strcmp(e->bg, s->last_bg) == 0)
		return;
	s->have_last = true;
	memcpy(s->last_fg, e->fg, COLOR_LEN);
	memcpy(s->last_bg, e->bg, COLOR_LEN);

	if (strcmp(tail6(e->fg), tail6(e->bg)) == 0) {
		st->flags |= HTML_F_FONT_LOW_CONTRAST;
		return;
	}
	if (rgb_of(e->fg, f) && rgb_of(e->bg, b)) {
		double r = 0.2126 * (f[0] - b[0]), g = 0.7152 * (f[1] - b[1]),
		       bl = 0.0722 * (f[2] - b[2]);
		if (sqrt(r * r + g * g + bl * bl) < 12) {
			st->flags |= HTML_F_FONT_LOW_CONTRAST;
			return;
		}
	}
	if (strcmp(e->fg, "invalid") == 0 || strcmp(e->bg, "invalid") == 0)
		st->flags |= HTML_F_FONT_INVALID_COLOR;
}

/* ------------------------------------------------------------- strings */

/* the value of a kept string nothing was appended to (never written) */
static char strs_empty[1];

/* strs_push - start a new kept string */
static void strs_push(struct html_strs *l)
{
	l->seen++;
	if (l->n < HTML_STATS_MAX_STRINGS) {
		l->v[l->n++] = strs_empty;
		l->last_len = l->last_cap = 0;
	}
}

/* strs_room - make the last kept string hold need bytes and its NUL */
static void strs_room(struct arena *a, struct html_strs *l, size_t need)
{
	char **s = &l->v[l->n - 1];
	size_t cap = l->last_cap ? l->last_cap * 2 : 32;

	if (cap < need + 1)
		cap = need + 1;
	if (cap > HTML_STATS_MAX_STRING + 1)
		cap = HTML_STATS_MAX_STRING + 1;
	if (a == NULL) {
		*s = xrealloc(l->last_cap ? *s : NULL, cap);
	} else {
		/* what the old copy held stays in the arena: the doubling
		 * keeps that below the string's own size */
		char *p = arena_alloc(a, cap);
		memcpy(p, *s, l->last_len + 1);
		*s = p;
	}
	l->last_cap = cap;
}

/* strs_append - add to the last kept string, up to the cap */
static void strs_append(struct arena *a, struct html_strs *l, const char *p, size_t n)
{
	if (l->n == 0 || l->seen > l->n)
		return;
	size_t have = l->last_len;
	if (have + n > HTML_STATS_MAX_STRING)
		n = HTML_STATS_MAX_STRING - have;
	if (n == 0)
		return;
	if (have + n + 1 > l->last_cap)
		strs_room(a, l, have + n);
	char *s = l->v[l->n - 1];
	memcpy(s + have, p, n);
	s[have + n] = '\0';
	l->last_len = have + n;
}

/* strs_free - release a list (its strings unless they are in an arena) */
static void strs_free(struct arena *a, struct html_strs *l)
{
	for (size_t i = 0; a == NULL && i < l->n; i++)
		if (l->v[i] != strs_empty)
			free(l->v[i]);
	memset(l, 0, sizeof(*l));
}

/* ---------------------------------------------------------------- tags */

/* html_stats_attr - see html_stats.h */
int html_stats_attr(const char *name)
{
	static const char *const names[HTML_A_COUNT] = {
		"width", "height", "face", "action", "size", "color", "text", "style", "href",
	};

	for (int i = 0; i < HTML_A_COUNT; i++)
		if (name[0] == names[i][0] && strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

/* name_slot - the counter of a tag name; NULL past the cap.  *seen:
 * the name was met before */
static struct html_tag_count *name_slot(struct html_stats *st, const char *name, bool *seen)
{
	for (size_t i = 0; i < st->nnames; i++) {
		if (st->names[i].name[0] == name[0] && strcmp(st->names[i].name, name) == 0) {
			*seen = true;
			return &st->names[i];
		}
	}
	*seen = false;
	if (st->nnames >= HTML_STATS_MAX_NAMES)
		return NULL;
	struct html_tag_count *t = &st->names[st->nnames++];
	str_copy(t->name, sizeof(t->name), name);
	t->inside = 0;
	t->sets = tag_sets(name);
	return t;
}

/* popcount64 - bits set */
static unsigned popcount64(uint64_t v)
{
	unsigned n = 0;

	for (; v; v &= v - 1)
		n++;
	return n;
}

/* html_stats_begin - see html_stats.h */
void html_stats_begin(struct html_stats *st, const char *html, size_t len)
{
	size_t chars = len, i = 0;	/* less the continuation bytes */
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, html + i, 8);
		/* 10xxxxxx: bit 7 set, bit 6 (moved to bit 7) clear */
		uint64_t cont = w & ~(w << 1) & 0x8080808080808080ULL;
		if (cont)
			chars -= popcount64(cont);
	}
	for (; i < len; i++)
		chars -= ((unsigned char)html[i] & 0xC0) == 0x80;
	st->length += chars;
	st->max_size = st->min_size = 3;
	/* entries above n are written before they are read: not zeroed */
	st->style = xmalloc(sizeof(*st->style));
	st->style->basefont = 3;
	st->style->have_last = false;
	struct style_entry *d = &st->style->e[0];
	memset(d, 0, sizeof(*d));
	str_copy(d->tag, sizeof(d->tag), "default");
	str_copy(d->fg, COLOR_LEN, "#000000");
	str_copy(d->bg, COLOR_LEN, "#ffffff");
	d->size = 3;
	st->style->n = 1;
}

/* namespaced - "o:p", "st1:place" (Office markup), which count as elements */
static bool namespaced(const char *t)
{
	const char *c = strchr(t, ':');

	if (c == NULL || c[1] == '\0')
		return false;
	if (!(c - t == 1 && t[0] == 'o') && !(c - t == 3 && t[0] == 's' && t[1] == 't' && isdigit((unsigned char)t[2])))
		return false;
	size_t n = strlen(c + 1);
	if (c[n] == '/')
		n--;
	for (size_t i = 1; i <= n; i++)
		if (!isalnum((unsigned char)c[i]) && c[i] != '_' && c[i] != '-')
			return false;
	return n > 0;
}

/* face_name - one name of a font face list at s[*i]: [a-z ][a-z -]*[a-z]
 * (first) or [a-z][a-z -]*[a-z], then an optional digit */
static bool face_name(const char *s, size_t *i, bool first)
{
	size_t b = *i, e = b;

	while (isalpha((unsigned char)s[e]) || s[e] == ' ' || s[e] == '-')
		e++;
	if (e - b < 2 || !isalpha((unsigned char)s[e - 1]) || (!first && s[b] == ' ') ||
	    (first && s[b] == '-'))
		return false;
	if (isdigit((unsigned char)s[e]))
		e++;
	*i = e;
	return true;
}

/* face_bad - HTML.pm's font face test: not a comma list of plain names */
static bool face_bad(const char *s)
{
	size_t i = 0;

	while (isspace((unsigned char)s[i]))
		i++;
	if (s[i] == '"' || s[i] == '\'' || s[i] == '.')
		i++;
	if (!face_name(s, &i, true))
		return true;
	for (;;) {
		if (s[i] == '"' || s[i] == '\'')
			i++;
		if (s[i] != ',')
			break;
		i++;
		while (isspace((unsigned char)s[i]))
			i++;
		if (s[i] == '"' || s[i] == '\'')
			i++;
		if (!face_name(s, &i, false))
			return true;
	}
	if (s[i] == ';')
		i++;
	return !(s[i] == '\0' || (s[i] == '\n' && s[i + 1] == '\0'));
}

/* dimension - width/height: digits, optionally '%' (times pct); else 0 */
static double dimension(const char *v, double pct)
{
	size_t n = strspn(v, "0123456789");

	if (n == 0)
		return 0;
	double d = digits(v);
	const char *r = v + n;
	if (*r == '%') {
		d *= pct;
		r++;
	}
	if (*r == '\n')
		r++;
	return *r == '\0' ? d : 0;
}

/* tests - HTML.pm html_tests, for a start tag */
static void tests(struct html_stats *st, const char *tag, const struct html_attrs *a)
{
	if (streq(tag, "font") && a->v[HTML_A_FACE] && face_bad(a->v[HTML_A_FACE]))
		st->flags |= HTML_F_FONT_FACE_BAD;
	if (streq(tag, "img") && st->in_a > 0)
		strs_append(st->arena, &st->anchor, "<img>\n", 6);
	if (streq(tag, "img") && a->v[HTML_A_WIDTH] && a->v[HTML_A_HEIGHT]) {
		double w = dimension(a->v[HTML_A_WIDTH], 8), h = dimension(a->v[HTML_A_HEIGHT], 6);
		st->image_area += (w > 0 ? w : 200) * (h > 0 ? h : 200);
	}
	if (streq(tag, "form") && a->v[HTML_A_ACTION] && strcasestr(a->v[HTML_A_ACTION], "mailto:"))
		st->flags |= HTML_F_FORM_ACTION_MAILTO;
	if (streq(tag, "object") || streq(tag, "embed"))
		st->flags |= HTML_F_EMBEDS;
	if (streq(tag, "a"))
		strs_push(&st->anchor);
	if (streq(tag, "a") && a->v[HTML_A_HREF]) {
		const char *h = a->v[HTML_A_HREF];
		h += strspn(h, " \t\r\n\f");
		if (strncasecmp(h, "mailto:", 7) == 0) {
			strs_push(&st->mailto);
			strs_append(st->arena, &st->mailto, h, strlen(h));
		}
	}
	if (streq(tag, "title"))
		strs_push(&st->title);
}

/* chunk_ws - a rendered white space entry ("\n", " ", "\n\n") */
static void chunk_ws(struct html_stats *st)
{
	st->tail[0] = ' ';
	st->ntail = 1;
	st->last_ws = true;
	st->have_chunk = true;
}

/* html_stats_tag - see html_stats.h (HTML.pm html_tag) */
void html_stats_tag(struct html_stats *st, const char *tag, int num, const struct html_attrs *a)
{
	static const struct html_attrs none;
	bool ns = namespaced(tag), seen;
	struct html_tag_count *t = name_slot(st, tag, &seen);

	unsigned sets = t ? t->sets : tag_sets(tag);

	if (a == NULL)
		a = &none;
	if ((sets & TAG_ELEMENT) || ns) {
		st->elements++;
		st->elements_seen += !seen;
	}
	st->tags++;
	st->tags_seen += !seen;
	if (t) {
		t->inside += num;
		if (t->inside < 0) {
			t->inside = 0;
			st->closed_extra++;
		}
	}
	if (streq(tag, "a"))
		st->in_a = t ? t->inside : st->in_a;
	else if (streq(tag, "title"))
		st->in_title = t ? t->inside : st->in_title;
	if (ns || !(sets & (TAG_ELEMENT | TAG_TRICK)))
		return;
	if ((sets & TAG_TEXT_STYLE) && st->style) {
		const char *s = streq(tag, "th") ? "td" : tag;
		if (num > 0)
			style_start(st, s, a);
		else
			style_end(st->style, s);
	}
	if (sets & TAG_WHITESPACE)
		chunk_ws(st);
	if (num > 0)
		tests(st, tag, a);
}

/* html_stats_declaration - see html_stats.h */
void html_stats_declaration(struct html_stats *st, const char *p, size_t n)
{
	if (n >= 9 && strncasecmp(p, "<!doctype", 9) == 0) {
		bool seen;
		struct html_tag_count *t = name_slot(st, "!doctype", &seen);
		st->elements++;
		st->tags++;
		if (t)
			t->inside = 0;
	}
}

/* html_stats_comment - see html_stats.h */
void html_stats_comment(struct html_stats *st, const char *p, size_t n)
{
	strs_push(&st->comment);
	strs_append(st->arena, &st->comment, p, n);
}

/* text_to - append code points as UTF-8 to the last string of l (up to
 * HTML_STATS_MAX_STRING bytes of them, the most strs_append keeps) */
static void text_to(struct arena *a, struct html_strs *l, const uint32_t *cp, size_t n)
{
	char u[HTML_STATS_MAX_STRING + 4];
	size_t len = 0;

	for (size_t i = 0; i < n && len < HTML_STATS_MAX_STRING; i++) {
		uint32_t c = cp[i];
		if (c < 0x80) {
			u[len++] = (char)c;
		} else if (c < 0x800) {
			u[len++] = (char)(0xC0 | (c >> 6));
			u[len++] = (char)(0x80 | (c & 0x3F));
		} else if (c < 0x10000) {
			u[len++] = (char)(0xE0 | (c >> 12));
			u[len++] = (char)(0x80 | ((c >> 6) & 0x3F));
			u[len++] = (char)(0x80 | (c & 0x3F));
		} else {	/* as buf_put_utf8 */
			u[len++] = (char)(0xF0 | (c >> 18));
			u[len++] = (char)(0x80 | ((c >> 12) & 0x3F));
			u[len++] = (char)(0x80 | ((c >> 6) & 0x3F));
			u[len++] = (char)(0x80 | (c & 0x3F));
		}
	}
	if (len)
		strs_append(a, l, u, len);
}

/* backhair - the "start_len" key of two adjacent chunks: the word-ish
 * run of 1-7 at the end of the last chunk after \b, the run of 1-7 at the
 * start of this one before \b (html_text) */
static void backhair(struct html_stats *st, const uint32_t *cp, size_t n)
{
	size_t t = st->ntail, run = 0;

	while (run < t && word_ish(st->tail[t - 1 - run]))
		run++;
	size_t start = 0;
	for (size_t s = t - (run > 7 ? 7 : run); s < t; s++) {
		if (boundary(s > 0 ? &st->tail[s - 1] : NULL, &st->tail[s])) {
			start = t - s;
			break;
		}
	}
	/* the tail keeps 8 code points: a run of 8 has no \b in reach */
	if (start == 0 || (run == t && t == 8 && start == 8))
		return;
	size_t lead = 0;
	while (lead < n && lead < 7 && word_ish(cp[lead]))
		lead++;
	for (size_t k = lead; k > 0; k--) {
		if (boundary(&cp[k - 1], k < n ? &cp[k] : NULL)) {
			st->backhair |= (uint64_t)1 << ((start - 1) * 7 + (k - 1));
			return;
		}
	}
}

/* tail_from - where html_stats_text's chunk loop may start and still
 * end with the same last 8 entries: 8 non-space code points from the end
 * (each gives an entry), with a non-space one before it (so that the loop
 * is past its leading white space there); 0 if there is no such place */
static size_t tail_from(const uint32_t *cp, size_t n)
{
	size_t s = n, seen = 0;

	while (s > 0 && seen < 8)
		seen += !ascii_space(cp[--s]);
	if (seen < 8)
		return 0;
	for (size_t j = s; j > 0; j--)
		if (!ascii_space(cp[j - 1]))
			return s;
	return 0;
}

/* html_stats_text - see html_stats.h (HTML.pm html_text, display_text) */
void html_stats_text(struct html_stats *st, const uint32_t *cp, size_t n)
{
	if (n == 0)
		return;
	if (st->in_a > 0)
		text_to(st->arena, &st->anchor, cp, n);
	if (st->in_title > 0)
		text_to(st->arena, &st->title, cp, n);
	/* ascii_space as a table: this loop sees every code point */
	static const unsigned char asp[128] = {
		['\t'] = 1, ['\n'] = 1, ['\v'] = 1, ['\f'] = 1, ['\r'] = 1, [' '] = 1,
	};
	size_t spaces = 0, j = 0;
	bool high = false;
	u32x4 acc = { 0, 0, 0, 0 };
	for (; j + 4 <= n; j += 4) {	/* 4 ASCII code points at a time */
		u32x4 c;
		memcpy(&c, cp + j, sizeof(c));
		u32x4 hi = (u32x4)(c >= 0x80);
		uint64_t h0, h1;
		memcpy(&h0, &hi, 8);
		memcpy(&h1, (const char *)&hi + 8, 8);
		if (h0 | h1)
			break;	/* the rest a code point at a time */
		acc -= (u32x4)(c == ' ') | ((u32x4)(c >= '\t') & (u32x4)(c <= '\r'));
	}
	spaces = acc[0] + acc[1] + acc[2] + acc[3];
	for (; j < n; j++) {
		/* on ASCII, perl_space is ascii_space; above it, no code
		 * point is ascii_space */
		uint32_t c = cp[j];
		if (c < 0x80) {
			spaces += asp[c];
		} else {
			high = true;
			spaces += perl_space(c);
		}
	}
	size_t non_space = n - spaces;
	/* content: a code point that is not ascii_space */
	bool content = high || non_space > 0;
	st->non_space_len += non_space;
	if (content && st->style)
		font_check(st);
	if (st->have_chunk && st->ntail > 0) {
		if (word_ish(cp[0]) && word_ish(st->tail[st->ntail - 1]))
			st->obfuscation++;
		backhair(st, cp, n);
	}
	/* the chunk as display_text stores it: white space runs as one
	 * space, a leading one dropped after a white space entry */
	uint32_t ring[8];	/* the last 8 code points: ring[k & 7] */
	size_t nt = 0, from = tail_from(cp, n);
	bool sp = from > 0 && ascii_space(cp[from - 1]), lead = from == 0;
	for (size_t i = from; i < n; i++) {
		if (ascii_space(cp[i])) {
			sp = true;
			continue;
		}
		if (sp && !(lead && content && st->last_ws))
			ring[nt++ & 7] = ' ';
		sp = false;
		lead = false;
		ring[nt++ & 7] = cp[i];
	}
	if (sp && !(lead && content && st->last_ws))
		ring[nt++ & 7] = ' ';
	size_t keep = nt < 8 ? nt : 8;
	for (size_t k = 0; k < keep; k++)
		st->tail[k] = ring[(nt - keep + k) & 7];
	st->ntail = keep;
	st->last_ws = false;
	st->have_chunk = true;
}

/* html_stats_end - see html_stats.h */
void html_stats_end(struct html_stats *st)
{
	free(st->style);
	st->style = NULL;
}

/* html_stats_free - see html_stats.h */
void html_stats_free(struct html_stats *st)
{
	struct arena *a = st->arena;

	html_stats_end(st);
	strs_free(a, &st->comment);
	strs_free(a, &st->title);
	strs_free(a, &st->anchor);
	strs_free(a, &st->mailto);
	memset(st, 0, sizeof(*st));
	st->arena = a;
}

/* html_stats_value - see html_stats.h */
bool html_stats_value(const struct html_stats *st, const char *name, double *v)
{
	static const struct {
		const char *name;
		unsigned flag;
	} flags[] = {
		{ "embeds", HTML_F_EMBEDS }, { "font_face_bad", HTML_F_FONT_FACE_BAD },
		{ "form_action_mailto", HTML_F_FORM_ACTION_MAILTO },
		{ "font_low_contrast", HTML_F_FONT_LOW_CONTRAST },
		{ "font_invalid_color", HTML_F_FONT_INVALID_COLOR },
	};

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (strcmp(name, flags[i].name) == 0) {
			*v = 1;
			return (st->flags & flags[i].flag) != 0;
		}
	}
	double t = st->tags;
	if (strcmp(name, "html") == 0)
		*v = 1;
	else if (strcmp(name, "length") == 0)
		*v = st->length;
	else if (strcmp(name, "max_size") == 0)
		*v = st->max_size;
	else if (strcmp(name, "min_size") == 0)
		*v = st->min_size;
	else if (strcmp(name, "image_area") == 0)
		*v = st->image_area;
	else if (strcmp(name, "non_space_len") == 0)
		*v = st->non_space_len;
	else if (strcmp(name, "tags") == 0 && st->tags)
		*v = t;
	else if (strcmp(name, "elements") == 0 && st->elements)
		*v = st->elements;
	else if (strcmp(name, "closed_extra_ratio") == 0 && st->tags)
		*v = st->closed_extra / t;
	else if (strcmp(name, "bad_tag_ratio") == 0 && st->tags && st->elements)
		*v = (t - st->elements) / t;
	else if (strcmp(name, "non_element_ratio") == 0 && st->tags_seen && st->elements_seen)
		*v = ((double)st->tags_seen - st->elements_seen) / st->tags_seen;
	else if (strcmp(name, "obfuscation_ratio") == 0 && st->tags && st->obfuscation)
		*v = st->obfuscation / t;
	else if (strcmp(name, "backhair_count") == 0 && st->backhair)
		*v = popcount64(st->backhair);
	else
		return false;
	return true;
}

/* html_stats_inside - see html_stats.h */
int html_stats_inside(const struct html_stats *st, const char *name)
{
	for (size_t i = 0; i < st->nnames; i++)
		if (strncmp(st->names[i].name, name, HTML_STATS_NAME - 1) == 0)
			return st->names[i].inside;
	return -1;
}

/* html_stats_strings - see html_stats.h */
const struct html_strs *html_stats_strings(const struct html_stats *st, const char *name)
{
	if (strcmp(name, "comment") == 0)
		return &st->comment;
	if (strcmp(name, "title") == 0)
		return &st->title;
	if (strcmp(name, "anchor") == 0)
		return &st->anchor;
	return NULL;
}
