/*
 * mime_skip.c - the binary parts GMime need not read (see mime_skip.h).
 *
 * A pre-scan of the body as received, no GMime: it follows the
 * multiparts' boundaries ("--B" lines, as gmime-parser.c is_boundary
 * matches them) and reads each part's header for its Content-Type and
 * Content-Transfer-Encoding.  The content of a base64 part of a binary
 * type is then read once, 16 bytes at a time where they are all in the
 * base64 alphabet, for what the views need of it.  The pre-scan only has
 * to be right often: mime.c checks GMime's tree against every content
 * left out, and parses the message whole when one does not fit.
 *
 * Owns: nothing past a call; the boundaries it follows are freed before
 * it returns.  Thread safety: none needed (no state).
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/message.h"
#include "mail/mime_skip.h"
#include "base/util.h"
#include "base/vec16.h"

/* ---------------------------------------------------------------- base64 */

static const char b64_after_pad[] = "invalid base64: data after padding";
static const char b64_outside[] = "invalid base64: character outside the alphabet";

/* alphabet - c is one of RFC 2045's 64 */
static inline bool alphabet(unsigned char c)
{
	return (unsigned char)(c - 'A') < 26 || (unsigned char)(c - 'a') < 26 ||
	       (unsigned char)(c - '0') < 10 || c == '+' || c == '/';
}

/* in_alphabet - the lanes of c in the base64 alphabet set */
static inline u8x16 in_alphabet(u8x16 c)
{
	/* c - lo < n unsigned as one signed compare (SSE2 has no unsigned
	 * one): shifted by 128 */
	s8x16 a = (s8x16)(u8x16)(c + (unsigned char)(128 - 'A')) < -128 + 26;
	s8x16 l = (s8x16)(u8x16)(c + (unsigned char)(128 - 'a')) < -128 + 26;
	s8x16 d = (s8x16)(u8x16)(c + (unsigned char)(128 - '0')) < -128 + 10;

	return (u8x16)(a | l | d) | (u8x16)(c == '+') | (u8x16)(c == '/');
}

/* specials - the bytes of the 16 at p outside the base64 alphabet, bit i
 * for p[i] */
static inline unsigned specials(const unsigned char *p)
{
	return vec16_mask(~in_alphabet(vec16_load(p)));
}

/* alphabet_run - how many of the 16 bytes at p, from the first, are in
 * the base64 alphabet (16: all) */
static inline unsigned alphabet_run(const unsigned char *p)
{
	return (unsigned)__builtin_ctz(specials(p) | 1u << 16);
}

/* run_at - the run of alphabet bytes at p[i] (n bytes in all) */
static inline size_t run_at(const unsigned char *p, size_t i, size_t n)
{
	if (i + 16 <= n)
		return alphabet_run(p + i);
	size_t k = i;
	while (k < n && alphabet(p[k]))
		k++;
	return k - i;
}

/* b64_byte - one byte that is not in the alphabet: '=' is padding; white
 * space and line breaks are skipped */
static inline void b64_byte(struct mime_b64 *b, unsigned char c)
{
	if (c == '=')
		b->pad++;
	else if (c != '\r' && c != '\n' && c != ' ' && c != '\t' && b->bad == NULL)
		b->bad = b64_outside;
}

/* b64_data - k bytes of the alphabet */
static inline void b64_data(struct mime_b64 *b, size_t k)
{
	if (b->pad && b->bad == NULL)
		b->bad = b64_after_pad;
	b->data += k;
}

/* mime_b64_feed - see mime_skip.h */
void mime_b64_feed(struct mime_b64 *b, const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n && b->bad == NULL) {
		size_t k = run_at(p, i, n);
		if (k) {
			b64_data(b, k);
			i += k;
		} else {
			b64_byte(b, p[i++]);
		}
	}
}

/* mime_b64_verdict - see mime_skip.h */
const char *mime_b64_verdict(const struct mime_b64 *b, bool truncated)
{
	if (b->bad)
		return b->bad;
	/* encoded data is padded to a multiple of 4 (RFC 2045 §6.8); a
	 * scan cut at max_scan_bytes ends anywhere */
	if (b->pad > 2 || ((b->data + b->pad) % 4 != 0 && !truncated))
		return "invalid base64: bad length";
	return NULL;
}

/* ---------------------------------------------------------------- fields */

/* mime_boundary_of - see mime_skip.h */
char *mime_boundary_of(const char *ct)
{
	const char *p = ct;

	while ((p = strcasestr(p, "boundary")) != NULL) {
		p += 8;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '=')
			continue;
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		size_t n;
		if (*p == '"') {
			const char *q = strchr(p + 1, '"');
			if (q == NULL)
				return NULL;
			n = (size_t)(q - p - 1);
			p++;
		} else {
			n = strcspn(p, "; \t");
		}
		return n && n <= 70 ? xstrndup(p, n) : NULL;	/* RFC 2046 §5.1.1 */
	}
	return NULL;
}

/* skip_ws - past spaces and tabs */
static const char *skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* binary_type - application, image, audio or video */
static bool binary_type(const char *ct)
{
	static const char *const types[] = { "application/", "image/", "audio/", "video/" };

	ct = skip_ws(ct);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strncasecmp(ct, types[i], strlen(types[i])) == 0)
			return true;
	return false;
}

/* base64_cte - a Content-Transfer-Encoding of base64 */
static bool base64_cte(const char *cte)
{
	cte = skip_ws(cte);
	if (strncasecmp(cte, "base64", 6) != 0)
		return false;
	return *skip_ws(cte + 6) == '\0';
}

/* html_named - a file name in the Content-Type or Content-Disposition
 * value v that mime.c's text_kind would read as HTML (*.htm, *.html,
 * *.shtml).  Matched anywhere in the value, so a name that merely
 * contains ".htm" is refused too: refusing only costs the skip, while a
 * part left out that GMime then reads as HTML costs a second parse.
 * Names GMime puts together (RFC 2231 continuations) are left to the
 * tree check. */
static bool html_named(const char *v)
{
	return strcasestr(v, ".htm") != NULL || strcasestr(v, ".shtm") != NULL;
}

/* a part header's fields the pre-scan reads, unfolded */
struct fields {
	char ct[MIME_SKIP_FIELD + 1], cte[MIME_SKIP_FIELD + 1], cd[MIME_SKIP_FIELD + 1];
	size_t nct, ncte, ncd;	/* how many of each */
	bool unclear;		/* one too long: not skipped */
};

/* a value being read */
struct value {
	char *v;
	size_t len;
};

/* field_add - a value's bytes, CR and LF dropped */
static void field_add(struct fields *f, struct value *v, const char *p, size_t n)
{
	for (size_t i = 0; i < n && !f->unclear; i++) {
		if (p[i] == '\r' || p[i] == '\n')
			continue;
		if (v->len >= MIME_SKIP_FIELD)
			f->unclear = true;
		else
			v->v[v->len++] = p[i];
	}
	v->v[v->len] = '\0';
}

/* part_header - read the part header at body[h]; *content: where its
 * content starts (after the empty line).  false if the header does not
 * end in an empty line or has a line that is no field */
static bool part_header(const char *body, size_t len, size_t h, struct fields *f,
			size_t *content)
{
	struct value ct = { f->ct, 0 }, cte = { f->cte, 0 }, cd = { f->cd, 0 }, *cur = NULL;

	f->ct[0] = f->cte[0] = f->cd[0] = '\0';
	f->nct = f->ncte = f->ncd = 0;
	f->unclear = false;
	while (h < len) {
		const char *nl = memchr(body + h, '\n', len - h);
		size_t e = nl ? (size_t)(nl - body) : len, l = e - h;
		if (l && body[h + l - 1] == '\r')
			l--;
		if (l == 0) {
			*content = nl ? e + 1 : len;
			return nl != NULL;
		}
		if (body[h] == ' ' || body[h] == '\t') {
			if (cur)
				field_add(f, cur, body + h, l);
		} else {
			const char *colon = memchr(body + h, ':', l);
			if (colon == NULL)
				return false;
			size_t k = (size_t)(colon - body) - h;
			cur = NULL;
			if (k == 12 && strncasecmp(body + h, "Content-Type", 12) == 0) {
				cur = &ct;
				f->nct++;
			} else if (k == 25 && strncasecmp(body + h, "Content-Transfer-Encoding", 25) == 0) {
				cur = &cte;
				f->ncte++;
			} else if (k == 19 && strncasecmp(body + h, "Content-Disposition", 19) == 0) {
				cur = &cd;
				f->ncd++;
			}
			if (cur)
				field_add(f, cur, colon + 1, l - k - 1);
		}
		h = e + 1;
	}
	return false;
}

/* ---------------------------------------------------------------- content */

/* the state of skim */
struct skim {
	const unsigned char *p;
	size_t len, from, line;	/* line: where the current line starts */
	size_t crlf, max_line;
	struct mime_b64 b;
};

enum skim_step { SKIM_ON, SKIM_END, SKIM_NO };

/* skim_special - the byte at p[i], outside the alphabet: a line break
 * ends a line (and the content, before a "--" line) */
static inline enum skim_step skim_special(struct skim *k, size_t i)
{
	unsigned char c = k->p[i];

	if (c == ':')
		return SKIM_NO;
	if (c != '\n') {
		b64_byte(&k->b, c);
		return SKIM_ON;
	}
	size_t cr = i > k->line && k->p[i - 1] == '\r';
	size_t l = i - k->line - cr;	/* without the line break */
	if (l > MIME_SKIP_MAX_LINE)
		return SKIM_NO;
	if (i + 2 < k->len && k->p[i + 1] == '-' && k->p[i + 2] == '-') {
		/* the line break before a "--" line is not content */
		if (l > k->max_line)
			k->max_line = l;
		k->line = i - cr;	/* where the content ends */
		return SKIM_END;
	}
	k->crlf += cr;
	if (l + 1 > k->max_line)
		k->max_line = l + 1;
	k->line = i + 1;
	return SKIM_ON;
}

/*
 * skim - the content starting at the line start body[from], up to the
 * line break before the next line starting with "--" (or the end of the
 * body), in one pass, 16 bytes at a time: its summary into s, *next:
 * where that "--" line starts (len at the end).  false if it may not be
 * left out: a line longer than MIME_SKIP_MAX_LINE, a ':' (guard in
 * mime.c looks for fields at every line start), or a first line starting
 * with "--".
 */
static bool skim(const char *body, size_t len, size_t from, bool truncated, struct mime_skip *s,
		 size_t *next)
{
	struct skim k = { .p = (const unsigned char *)body, .len = len, .from = from, .line = from };
	enum skim_step st = SKIM_ON;
	size_t i = from, done = from;	/* done: bytes before it are counted */

	if (len - from >= 2 && body[from] == '-' && body[from + 1] == '-')
		return false;
	for (; i + 16 <= len && st == SKIM_ON; i += 16) {
		unsigned m = specials(k.p + i);
		while (m && st == SKIM_ON) {
			size_t j = i + (size_t)__builtin_ctz(m);
			m &= m - 1;
			if (j > done)
				b64_data(&k.b, j - done);
			done = j + 1;
			st = skim_special(&k, j);
		}
	}
	for (; i < len && st == SKIM_ON; i++) {	/* the last < 16 bytes */
		if (alphabet(k.p[i]))
			continue;
		if (i > done)
			b64_data(&k.b, i - done);
		done = i + 1;
		st = skim_special(&k, i);
	}
	if (st == SKIM_NO)
		return false;
	if (st == SKIM_ON) {	/* the end of the body */
		if (len > done)
			b64_data(&k.b, len - done);
		if (len - k.line > MIME_SKIP_MAX_LINE)
			return false;
		if (len - k.line > k.max_line)
			k.max_line = len - k.line;
		k.line = len;
	}
	s->from = from;
	s->to = k.line;
	s->len = s->to - from - k.crlf;
	s->max_line = k.max_line;
	s->b64 = mime_b64_verdict(&k.b, truncated);
	*next = st == SKIM_END ? done : len;
	return true;
}

/* ---------------------------------------------------------------- structure */

/* the pre-scan's state */
struct find {
	const char *body;
	size_t len;
	bool truncated;
	size_t min;		/* shorter contents are not left out */
	char *bounds[MIME_SKIP_MAX_DEPTH];	/* open multiparts, outermost first */
	size_t depth;
	struct mime_skip *v;
	size_t n, cap;
};

/* pop_to - close the multiparts past the first d */
static void pop_to(struct find *f, size_t d)
{
	while (f->depth > d)
		free(f->bounds[--f->depth]);
}

/* lwsp_only - nothing but white space in p[0..n) */
static bool lwsp_only(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			return false;
	return true;
}

/* boundary_match - is the line p[0..n) (from "--") the boundary of an open
 * multipart, innermost first, as gmime-parser.c check_boundary reads it?
 * *level: which; *final: "--B--" */
static bool boundary_match(const struct find *f, const char *p, size_t n, size_t *level,
			   bool *final)
{
	if (n && p[n - 1] == '\r')
		n--;
	for (size_t k = f->depth; k-- > 0;) {
		size_t l = strlen(f->bounds[k]);
		if (n < 2 + l || memcmp(p + 2, f->bounds[k], l) != 0)
			continue;
		*level = k;
		if (n >= 4 + l && p[2 + l] == '-' && p[3 + l] == '-' && lwsp_only(p + 4 + l, n - 4 - l)) {
			*final = true;
			return true;
		}
		if (lwsp_only(p + 2 + l, n - 2 - l)) {
			*final = false;
			return true;
		}
	}
	return false;
}

/* dash_line - the first line at or after the line start i that starts
 * with "--"; len if none */
static size_t dash_line(const char *body, size_t len, size_t i)
{
	if (i + 2 <= len && body[i] == '-' && body[i + 1] == '-')
		return i;
	/* 16 bytes at a time: glibc's memmem costs ~2 instructions a byte
	 * for this needle, over every body of every message */
	const unsigned char *u = (const unsigned char *)body;
	size_t j = i;
	while (j + 18 <= len) {
		unsigned k = vec16_first((u8x16)(vec16_load(u + j) == '\n') &
					 (u8x16)(vec16_load(u + j + 1) == '-') &
					 (u8x16)(vec16_load(u + j + 2) == '-'));
		if (k < 16)
			return j + k + 1;
		j += 16;
	}
	for (; j + 3 <= len; j++)
		if (u[j] == '\n' && u[j + 1] == '-' && u[j + 2] == '-')
			return j + 1;
	return len;
}

/* add - a content that may be left out; false when there is no room */
static bool add(struct find *f, const struct mime_skip *s)
{
	if (s->len < f->min || s->len == 0)
		return true;
	if (f->n >= MIME_SKIP_MAX)
		return false;
	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 4;
		f->v = xrealloc(f->v, f->cap * sizeof(*f->v));
	}
	f->v[f->n++] = *s;
	return true;
}

/* leaf - the content of a part with these fields at body[c]; returns
 * where to look for the next boundary */
static size_t leaf(struct find *f, const char *ct, const char *cte, const char *cd, size_t c,
		   bool *full)
{
	struct mime_skip s = { 0 };
	size_t next;

	if (!binary_type(ct) || !base64_cte(cte) || html_named(ct) || html_named(cd) ||
	    !skim(f->body, f->len, c, f->truncated, &s, &next))
		return c;
	if (next < f->len) {	/* GMime ends the content only at a boundary */
		const char *nl = memchr(f->body + next, '\n', f->len - next);
		size_t e = nl ? (size_t)(nl - f->body) : f->len, level;
		bool final;
		if (!boundary_match(f, f->body + next, e - next, &level, &final))
			return c;
	}
	*full = !add(f, &s);
	return next;
}

/* walk_parts - the lines of a multipart body, from its first byte */
static void walk_parts(struct find *f)
{
	struct fields fl;
	size_t i = 0;
	bool full = false;

	while (i < f->len && f->depth > 0 && !full) {
		i = dash_line(f->body, f->len, i);
		if (i >= f->len)
			break;
		const char *nl = memchr(f->body + i, '\n', f->len - i);
		size_t e = nl ? (size_t)(nl - f->body) : f->len, level;
		bool final;
		if (nl == NULL)
			break;
		if (!boundary_match(f, f->body + i, e - i, &level, &final)) {
			i = e + 1;
			continue;
		}
		pop_to(f, final ? level : level + 1);
		i = e + 1;
		size_t c;
		if (final || !part_header(f->body, f->len, i, &fl, &c))
			continue;
		if (fl.unclear || fl.nct > 1 || fl.ncte > 1 || fl.ncd > 1) {
			i = c;
			continue;
		}
		char *b = strncasecmp(skip_ws(fl.ct), "multipart/", 10) == 0
			? mime_boundary_of(fl.ct) : NULL;
		if (b != NULL && f->depth < MIME_SKIP_MAX_DEPTH) {
			f->bounds[f->depth++] = b;
			i = c;
		} else if (b != NULL) {
			free(b);
			i = c;
		} else {
			i = leaf(f, fl.ct, fl.cte, fl.cd, c, &full);
		}
	}
	pop_to(f, 0);
}

/* first_value - the value of the only field called name ("" if none);
 * NULL if there are several */
static const char *first_value(const struct header *hdrs, size_t nhdrs, const char *name)
{
	const char *v = "";
	size_t seen = 0;

	for (size_t i = 0; i < nhdrs; i++)
		if (strcasecmp(hdrs[i].name, name) == 0 && seen++ == 0)
			v = hdrs[i].value;
	return seen > 1 ? NULL : v;
}

/* mime_skip_find - see mime_skip.h */
size_t mime_skip_find(const struct header *hdrs, size_t nhdrs, const char *body, size_t len,
		      bool truncated, size_t min, struct mime_skip **out)
{
	struct find f = { .body = body, .len = len, .truncated = truncated, .min = min };
	const char *ct = first_value(hdrs, nhdrs, "Content-Type");
	const char *cte = first_value(hdrs, nhdrs, "Content-Transfer-Encoding");
	const char *cd = first_value(hdrs, nhdrs, "Content-Disposition");
	bool full;

	*out = NULL;
	if (body == NULL || len < min || ct == NULL || cte == NULL || cd == NULL)
		return 0;
	if (strncasecmp(skip_ws(ct), "multipart/", 10) == 0) {
		char *b = mime_boundary_of(ct);
		if (b == NULL)
			return 0;
		f.bounds[f.depth++] = b;
		walk_parts(&f);
	} else if (leaf(&f, ct, cte, cd, 0, &full) != len) {
		f.n = 0;	/* a single part is left out whole or not at all */
	}
	if (f.n == 0) {
		free(f.v);
		f.v = NULL;
	}
	*out = f.v;
	return f.n;
}
