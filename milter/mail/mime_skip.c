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
 * It streams: mime_skip_more goes on with each chunk of the body as it
 * arrives (the milter's body callbacks, while the MTA is still sending),
 * as far as what has arrived allows, and mime_skip_end does the rest at
 * the end of the message.  Every step waits until the bytes it reads
 * are there, and reads them as it would in the whole body, so the result
 * is the same however the body is cut (tests/unit/test_mime.c
 * skip_chunked); mime_skip_find is the same walk over a whole body.
 *
 * Owns: a struct mime_skip_scan: the boundaries it follows and the
 * contents found, freed by mime_skip_end or mime_skip_free.  Thread
 * safety: a scan belongs to its message's thread.
 */
#include "autoconfig.h"

#include <stddef.h>
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
	 * one): shifted by 128.  c | 0x20 folds 'A'-'Z' onto 'a'-'z' and
	 * nothing else onto them; c | 4 is '/' for '+' and '/' only */
	s8x16 l = (s8x16)(u8x16)((c | 0x20) + (unsigned char)(128 - 'a')) < -128 + 26;
	s8x16 d = (s8x16)(u8x16)(c + (unsigned char)(128 - '0')) < -128 + 10;

	return (u8x16)(l | d) | (u8x16)((c | 4) == '/');
}

/* specials - the bytes of the 16 at p outside the base64 alphabet, bit i
 * for p[i] */
static inline unsigned specials(const unsigned char *p)
{
	return ~vec16_mask(in_alphabet(vec16_load(p))) & 0xffffu;
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

/*
 * part_header - read the part header at body[h]; *content: where its
 * content starts (after the empty line).  false if the header does not
 * end in an empty line or has a line that is no field.  The streaming
 * walk calls it once header_ready says every line it reads is there.
 */
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

/* the state of skim, kept between chunks: indices, never pointers (the
 * body buffer may move as it grows) */
struct skim {
	const unsigned char *p;	/* the body, set at each call */
	size_t len;		/* bytes of it there at this call */
	size_t from, line;	/* line: where the current line starts */
	size_t crlf, max_line;
	size_t i, done;		/* where the loop goes on; bytes before done
				 * are counted */
	struct mime_b64 b;
};

enum skim_step { SKIM_ON, SKIM_END, SKIM_NO };

/* skim_special - the byte at p[i], outside the alphabet: a line break
 * ends a line (and the content, before a "--" line).  Called only with
 * i + 2 < len or at the end of the body, so that its look past the
 * line break sees what it would see in the whole body */
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
 * skim - go on with the content starting at the line start body[from],
 * up to the line break before the next line starting with "--" (or the
 * end of the body), 16 bytes at a time, over body[0, len); fin: the body
 * ends at len.  SKIM_ON and not fin: wait for more (the last 2 bytes are
 * left for the next call: a line break there may precede "--").
 * SKIM_NO if it may not be left out: a line longer than
 * MIME_SKIP_MAX_LINE, a ':' (guard in mime.c looks for fields at every
 * line start).  Else (SKIM_END, or SKIM_ON at fin) skim_done sums it up.
 */
static enum skim_step skim(struct skim *k, const char *body, size_t len, bool fin)
{
	enum skim_step st = SKIM_ON;
	size_t i = k->i, done = k->done, lim = fin ? len : len >= 2 ? len - 2 : 0;

	k->p = (const unsigned char *)body;
	k->len = len;
	for (; i + 16 <= lim && st == SKIM_ON; i += 16) {
		unsigned m = specials(k->p + i);
		while (m && st == SKIM_ON) {
			size_t j = i + (size_t)__builtin_ctz(m);
			m &= m - 1;
			if (j > done)
				b64_data(&k->b, j - done);
			done = j + 1;
			st = skim_special(k, j);
		}
	}
	for (; fin && i < len && st == SKIM_ON; i++) {	/* the last < 16 bytes */
		if (alphabet(k->p[i]))
			continue;
		if (i > done)
			b64_data(&k->b, i - done);
		done = i + 1;
		st = skim_special(k, i);
	}
	k->i = i;
	k->done = done;
	return st;
}

/* skim_done - the summary of a content skim ended (st: SKIM_END, or
 * SKIM_ON at the end of the body, len); false if it may not be left out.
 * The base64 verdict waits for the end of the body (truncated). *next:
 * where the "--" line after it starts (len at the end) */
static bool skim_done(struct skim *k, enum skim_step st, size_t len, struct mime_skip *s,
		      size_t *next)
{
	if (st == SKIM_ON) {	/* the end of the body */
		if (len > k->done)
			b64_data(&k->b, len - k->done);
		if (len - k->line > MIME_SKIP_MAX_LINE)
			return false;
		if (len - k->line > k->max_line)
			k->max_line = len - k->line;
		k->line = len;
	}
	*s = (struct mime_skip){ 0 };
	s->from = k->from;
	s->to = k->line;
	s->len = s->to - k->from - k->crlf;
	s->max_line = k->max_line;
	*next = st == SKIM_END ? k->done : len;
	return true;
}

/* ---------------------------------------------------------------- structure */

/* where the streaming walk is (struct mime_skip_scan) */
enum step {
	STEP_LINE,		/* at the line start i: find the next "--" line
				 * (searched up to k so far) */
	STEP_DASH,		/* a "--" line at i: wait for its end (k) */
	STEP_HEADER,		/* a part header at i: wait for its end (k:
				 * the next line to look at) */
	STEP_SKIM,		/* a content at c being skimmed (sk) */
	STEP_AFTER,		/* the content skimmed ends before the "--"
				 * line at next: wait for that line's end */
	STEP_DONE,
};

/* the pre-scan's state, kept between the body's chunks */
struct mime_skip_scan {
	size_t min;		/* shorter contents are not left out */
	bool single;		/* the message is one part, not a multipart */
	char *bounds[MIME_SKIP_MAX_DEPTH];	/* open multiparts, outermost first */
	size_t depth;
	enum step st;
	size_t i, k, c, next;
	struct skim sk;
	struct mime_skip cur;	/* the content skimmed, at STEP_AFTER */
	struct mime_skip *v;
	struct mime_b64 *b64;	/* v's base64 checks, for the verdicts */
	size_t n, cap;
	struct fields fl;	/* last: mime_skip_begin zeroes what is before */
};

/* pop_to - close the multiparts past the first d */
static void pop_to(struct mime_skip_scan *f, size_t d)
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
static bool boundary_match(const struct mime_skip_scan *f, const char *p, size_t n,
			   size_t *level, bool *final)
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

/* dash_search - the first "\n--" at or after j whose "--" starts before
 * len - 0 (j + 2 < len), as the index of the "--"; len if none.  The
 * first such index does not depend on how far the body goes */
static size_t dash_search(const char *body, size_t len, size_t j)
{
	/* 16 bytes at a time: glibc's memmem costs ~2 instructions a byte
	 * for this needle, over every body of every message */
	const unsigned char *u = (const unsigned char *)body;

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

/* header_ready - can part_header read the part header at f->i from
 * body[0, len) as it would from the whole body: every line up to its
 * empty line, or up to a line that is no field, is there (fin: the body
 * ends at len, so yes).  f->k: the next line to look at, so that each
 * line is looked at once however the body is cut */
static bool header_ready(struct mime_skip_scan *f, const char *body, size_t len, bool fin)
{
	while (f->k < len) {
		size_t h = f->k;
		const char *nl = memchr(body + h, '\n', len - h);
		if (nl == NULL)
			return fin;
		size_t e = (size_t)(nl - body), l = e - h;
		if (l && body[h + l - 1] == '\r')
			l--;
		if (l == 0)
			return true;
		if (body[h] != ' ' && body[h] != '\t' && memchr(body + h, ':', l) == NULL)
			return true;
		f->k = e + 1;
	}
	return fin;
}

/* add - a content that may be left out; false when there is no room */
static bool add(struct mime_skip_scan *f, const struct mime_skip *s, const struct mime_b64 *b)
{
	if (s->len < f->min || s->len == 0)
		return true;
	if (f->n >= MIME_SKIP_MAX)
		return false;
	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 4;
		f->v = xrealloc(f->v, f->cap * sizeof(*f->v));
		f->b64 = xrealloc(f->b64, f->cap * sizeof(*f->b64));
	}
	f->b64[f->n] = *b;
	f->v[f->n++] = *s;
	return true;
}

/* skimmed - a part of these fields may be left out if its content is */
static bool skimmed(const char *ct, const char *cte, const char *cd)
{
	return binary_type(ct) && base64_cte(cte) && !html_named(ct) && !html_named(cd);
}

/* skim_begin - a content to skim starts at c */
static void skim_begin(struct mime_skip_scan *f, size_t c)
{
	f->c = c;
	f->sk = (struct skim){ .from = c, .line = c, .i = c, .done = c };
	f->st = STEP_SKIM;
}

/* to_line - walk on from the line start i */
static void to_line(struct mime_skip_scan *f, size_t i)
{
	f->i = f->k = i;
	f->st = STEP_LINE;
}

/* step_line - STEP_LINE; false: wait for more */
static bool step_line(struct mime_skip_scan *f, const char *body, size_t len, bool fin)
{
	if (f->depth == 0 || (f->i >= len && fin)) {
		f->st = STEP_DONE;
		return true;
	}
	if (f->k == f->i) {	/* the line start itself */
		if (f->i + 2 > len && !fin)
			return false;
		if (f->i + 2 <= len && body[f->i] == '-' && body[f->i + 1] == '-') {
			f->st = STEP_DASH;
			return true;
		}
	}
	size_t d = dash_search(body, len, f->k);
	if (d < len) {
		f->i = f->k = d;
		f->st = STEP_DASH;
		return true;
	}
	if (fin) {
		f->st = STEP_DONE;
		return true;
	}
	/* "\n--" may start in the last 2 bytes */
	f->k = len >= 2 && len - 2 > f->k ? len - 2 : f->k;
	return false;
}

/* step_dash - STEP_DASH: the "--" line at i, whole */
static bool step_dash(struct mime_skip_scan *f, const char *body, size_t len, bool fin)
{
	const char *nl = f->k < len ? memchr(body + f->k, '\n', len - f->k) : NULL;
	size_t level;
	bool final;

	if (nl == NULL) {
		f->k = len;
		if (fin)
			f->st = STEP_DONE;
		return fin;
	}
	size_t e = (size_t)(nl - body);
	if (!boundary_match(f, body + f->i, e - f->i, &level, &final)) {
		to_line(f, e + 1);
		return true;
	}
	pop_to(f, final ? level : level + 1);
	to_line(f, e + 1);
	if (!final)
		f->st = STEP_HEADER;
	return true;
}

/* step_header - STEP_HEADER: the part header at i, whole */
static bool step_header(struct mime_skip_scan *f, const char *body, size_t len, bool fin)
{
	struct fields *fl = &f->fl;
	size_t c;

	if (!header_ready(f, body, len, fin))
		return false;
	if (!part_header(body, len, f->i, fl, &c)) {
		to_line(f, f->i);
		return true;
	}
	if (fl->unclear || fl->nct > 1 || fl->ncte > 1 || fl->ncd > 1) {
		to_line(f, c);
		return true;
	}
	char *b = strncasecmp(skip_ws(fl->ct), "multipart/", 10) == 0 ? mime_boundary_of(fl->ct)
		: NULL;
	bool multipart = b != NULL;

	if (multipart && f->depth < MIME_SKIP_MAX_DEPTH)
		f->bounds[f->depth++] = b;
	else
		free(b);
	if (multipart || !skimmed(fl->ct, fl->cte, fl->cd))
		to_line(f, c);
	else
		skim_begin(f, c);
	return true;
}

/* not_left_out - the content at c is read as any other: the walk goes on
 * from it (a single part: nothing is left out) */
static void not_left_out(struct mime_skip_scan *f)
{
	if (f->single)
		f->st = STEP_DONE;
	else
		to_line(f, f->c);
}

/* step_skim - STEP_SKIM */
static bool step_skim(struct mime_skip_scan *f, const char *body, size_t len, bool fin)
{
	size_t c = f->c, next;

	if (f->sk.i == c && f->sk.done == c) {	/* not started: a "--" first line? */
		if (len - c < 2 && !fin)
			return false;
		if (len - c >= 2 && body[c] == '-' && body[c + 1] == '-') {
			not_left_out(f);
			return true;
		}
	}
	enum skim_step st = skim(&f->sk, body, len, fin);
	if (st == SKIM_ON && !fin)
		return false;
	if (st == SKIM_NO || !skim_done(&f->sk, st, len, &f->cur, &next)) {
		not_left_out(f);
		return true;
	}
	f->next = f->k = next;
	if (next < len) {	/* GMime ends the content only at a boundary */
		f->st = STEP_AFTER;
		return true;
	}
	if (!add(f, &f->cur, &f->sk.b))
		f->st = STEP_DONE;
	else if (f->single)
		f->st = STEP_DONE;
	else
		to_line(f, next);
	return true;
}

/* step_after - STEP_AFTER: the "--" line after a content, whole */
static bool step_after(struct mime_skip_scan *f, const char *body, size_t len, bool fin)
{
	const char *nl = f->k < len ? memchr(body + f->k, '\n', len - f->k) : NULL;
	size_t e = nl ? (size_t)(nl - body) : len, level;
	bool final;

	if (nl == NULL && !fin) {
		f->k = len;
		return false;
	}
	if (!boundary_match(f, body + f->next, e - f->next, &level, &final)) {
		not_left_out(f);
		return true;
	}
	if (!add(f, &f->cur, &f->sk.b))
		f->st = STEP_DONE;
	else
		to_line(f, f->next);
	return true;
}

/* walk - the steps the body so far allows */
static void walk(struct mime_skip_scan *f, const char *body, size_t len, bool fin)
{
	bool on = true;

	while (on) {
		switch (f->st) {
		case STEP_LINE: on = step_line(f, body, len, fin); break;
		case STEP_DASH: on = step_dash(f, body, len, fin); break;
		case STEP_HEADER: on = step_header(f, body, len, fin); break;
		case STEP_SKIM: on = step_skim(f, body, len, fin); break;
		case STEP_AFTER: on = step_after(f, body, len, fin); break;
		case STEP_DONE: on = false; break;
		}
	}
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

/* mime_skip_begin - see mime_skip.h */
struct mime_skip_scan *mime_skip_begin(const struct header *hdrs, size_t nhdrs, size_t min)
{
	const char *ct = first_value(hdrs, nhdrs, "Content-Type");
	const char *cte = first_value(hdrs, nhdrs, "Content-Transfer-Encoding");
	const char *cd = first_value(hdrs, nhdrs, "Content-Disposition");
	char *b = NULL;

	/* nothing to find (a plain text message): no scan at all */
	if (ct == NULL || cte == NULL || cd == NULL)
		return NULL;
	if (strncasecmp(skip_ws(ct), "multipart/", 10) == 0) {
		if ((b = mime_boundary_of(ct)) == NULL)
			return NULL;
	} else if (!skimmed(ct, cte, cd)) {
		return NULL;
	}
	/* fl, 3 KB, is written before it is read */
	struct mime_skip_scan *f = xmalloc(sizeof(*f));
	memset(f, 0, offsetof(struct mime_skip_scan, fl));
	f->min = min;
	if (b != NULL) {
		f->bounds[f->depth++] = b;
		to_line(f, 0);
	} else {
		f->single = true;	/* left out whole or not at all */
		skim_begin(f, 0);
	}
	return f;
}

/* mime_skip_more - see mime_skip.h */
void mime_skip_more(struct mime_skip_scan *f, const char *body, size_t len)
{
	if (f != NULL && body != NULL && f->st != STEP_DONE)
		walk(f, body, len, false);
}

/* mime_skip_end - see mime_skip.h */
size_t mime_skip_end(struct mime_skip_scan *f, const char *body, size_t len, bool truncated,
		     struct mime_skip **out)
{
	size_t n = 0;

	*out = NULL;
	if (f == NULL)
		return 0;
	if (body != NULL && len >= f->min) {
		walk(f, body, len, true);
		for (size_t i = 0; i < f->n; i++)
			f->v[i].b64 = mime_b64_verdict(&f->b64[i], truncated);
		n = f->n;
	}
	if (n) {
		*out = f->v;
		f->v = NULL;
	}
	mime_skip_free(f);
	return n;
}

/* mime_skip_free - see mime_skip.h */
void mime_skip_free(struct mime_skip_scan *f)
{
	if (f == NULL)
		return;
	pop_to(f, 0);
	free(f->v);
	free(f->b64);
	free(f);
}

/* mime_skip_find - see mime_skip.h: the same walk over the whole body */
size_t mime_skip_find(const struct header *hdrs, size_t nhdrs, const char *body, size_t len,
		      bool truncated, size_t min, struct mime_skip **out)
{
	return mime_skip_end(mime_skip_begin(hdrs, nhdrs, min), body, len, truncated, out);
}
