/*
 * mime_stats.c - SpamAssassin's MIME statistics (see mime_stats.h).  The
 * semantics are those of SpamAssassin 4's MIMEEval.pm _check_attachments,
 * check_base64_length and BodyEval.pm _multipart_alternative_difference,
 * read, not copied.
 *
 * Thread safety: state only in the caller's builder.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/mime_stats.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "base/vec16.h"

/* one slot of a word set: len 0 is empty */
struct wslot {
	uint64_t h;		/* hash of the word */
	size_t off;		/* the word in the pool */
	uint32_t len, c;	/* its length, how often it was added */
};

/* a counted set of words (open addressing); the words themselves are
 * kept one after another in one pool, not a malloc each */
struct words {
	struct wslot *s;
	size_t n, cap;
	struct buf pool;
};

#define FNV_OFFSET 1469598103934665603ULL
#define FNV_PRIME 1099511628211ULL

/* hash - FNV-1a */
static uint64_t hash(const char *p, size_t n)
{
	uint64_t h = FNV_OFFSET;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * FNV_PRIME;
	return h;
}

/* words_slot - where word p[0..n) with hash h is or would go */
static size_t words_slot(const struct words *w, const char *p, size_t n, uint64_t h)
{
	size_t i = (size_t)h & (w->cap - 1);

	while (w->s[i].len != 0 &&
	       (w->s[i].h != h || w->s[i].len != n || memcmp(w->pool.data + w->s[i].off, p, n) != 0))
		i = (i + 1) & (w->cap - 1);
	return i;
}

/* words_count - how often word p[0..n) with hash h was added (0: never) */
static unsigned words_count(const struct words *w, const char *p, size_t n, uint64_t h)
{
	if (w == NULL || w->cap == 0)
		return 0;
	return w->s[words_slot(w, p, n, h)].c;
}

/* words_add - count a word (hash h) once more; new words past the cap
 * are not */
static void words_add(struct words *w, const char *p, size_t n, uint64_t h)
{
	if (w->n * 2 >= w->cap && w->n < MIME_STATS_MAX_WORDS) {
		size_t cap = w->cap ? 2 * w->cap : 64;
		struct wslot *g = xcalloc(cap, sizeof(*g));
		for (size_t i = 0; i < w->cap; i++) {
			if (w->s[i].len == 0)
				continue;
			size_t j = (size_t)w->s[i].h & (cap - 1);
			while (g[j].len != 0)	/* the words are distinct */
				j = (j + 1) & (cap - 1);
			g[j] = w->s[i];
		}
		free(w->s);
		w->s = g;
		w->cap = cap;
	}
	size_t i = words_slot(w, p, n, h);
	if (w->s[i].len == 0) {
		if (w->n >= MIME_STATS_MAX_WORDS || w->n * 2 >= w->cap)
			return;
		w->s[i] = (struct wslot){ .h = h, .off = w->pool.len, .len = (uint32_t)n };
		buf_append(&w->pool, p, n);
		w->n++;
	}
	w->s[i].c++;
}

/* words_free - release a set */
static struct words *words_free(struct words *w)
{
	if (w == NULL)
		return NULL;
	free(w->s);
	buf_free(&w->pool);
	free(w);
	return NULL;
}

/* the alternatives' log: an opening, a text (html and img flags, length,
 * bytes), an end */
enum { LOG_OPEN = 'O', LOG_TEXT = 'T', LOG_END = 'E' };

/* byte classes of add_words: Perl's \s in ASCII, a byte that makes a
 * token a word (ASCII alphanumeric, '_' or the lead byte of a non-ASCII
 * letter), 0xC2 (U+0085 and the no-break space, also \s, begin with it) */
enum { B_SPACE = 1, B_WORD = 2, B_C2 = 4 };
static const unsigned char byte_class[256] = {
	['\t' ... '\r'] = B_SPACE, [' '] = B_SPACE, ['0' ... '9'] = B_WORD,
	['A' ... 'Z'] = B_WORD, ['_'] = B_WORD, ['a' ... 'z'] = B_WORD,
	[0xC2] = B_C2, [0xC3 ... 0xFF] = B_WORD,
};

/* space_len - Perl's \s on UTF-8 text at p: 1 for ASCII white space, 2
 * for U+0085 and NBSP, 0 if none */
static size_t space_len(const unsigned char *p, size_t n)
{
	unsigned char c = byte_class[*p];

	if (c & B_SPACE)
		return 1;
	return (c & B_C2) && n >= 2 && (p[1] == 0x85 || p[1] == 0xA0) ? 2 : 0;
}

/* add_words - split text at white space, count the tokens with a word
 * character (ASCII alphanumeric, '_' or any non-ASCII letter) */
static void add_words(struct words *w, const char *text, size_t n)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t i = 0;

	while (i < n) {
		size_t s;
		while (i < n && (s = space_len(p + i, n - i)) > 0)
			i += s;
		size_t from = i;
		unsigned char word = 0;
		uint64_t h = FNV_OFFSET;
		for (; i < n; i++) {
			unsigned char c = byte_class[p[i]];
			if ((c & B_SPACE) || ((c & B_C2) && space_len(p + i, n - i) > 0))
				break;
			word |= c;
			h = (h ^ p[i]) * FNV_PRIME;
		}
		if (word & B_WORD)
			words_add(w, text + from, i - from, h);
	}
}

/* ascii_charset - SpamAssassin's list of names for US-ASCII */
static bool ascii_charset(const char *cs)
{
	static const char *const names[] = {
		"us-ascii", "ansi_x3.4-1968", "iso-ir-6", "ansi_x3.4-1986", "iso_646.irv:1991",
		"ascii", "iso646-us", "us", "ibm367", "cp367", "csascii", NULL,
	};

	for (size_t i = 0; names[i]; i++)	/* SpamAssassin matches anywhere */
		if (strstr(cs, names[i]))
			return true;
	return false;
}

/* bad_iso - /iso-\S+-\S+\b/ but not iso-8859-N or iso-2022-jp/kr */
static bool bad_iso(const char *cs)
{
	const char *p = strstr(cs, "iso-");

	if (p == NULL || strchr(p + 4, '-') == NULL || p[4] == '-')
		return false;
	if (strncmp(p, "iso-8859-", 9) == 0 && isdigit((unsigned char)p[9]))
		return false;
	return strncmp(p, "iso-2022-jp", 11) != 0 && strncmp(p, "iso-2022-kr", 11) != 0;
}

/* mime_header_counts - MIMEEval's _check_mime_header for one node */
static void mime_header_counts(struct mime_stats *s, const char *type, const char *enc,
			       const char *disp, const char *cs)
{
	if (strstr(enc, "base64"))
		s->base64_count++;
	else if (strstr(enc, "quoted-printable"))
		s->qp_count++;
	if (strstr(disp, "attachment"))
		s->attachment++;
	if (strncmp(type, "text", 4) == 0 && strstr(enc, "base64") &&
	    (cs[0] == '\0' || ascii_charset(cs)) &&
	    strncmp(disp, "attachment", 10) != 0 && strncmp(disp, "inline", 6) != 0)
		s->base64_encoded_text = true;
	if (bad_iso(cs))
		s->bad_iso_charset = true;
}

/* field_line - Message.pm's /^[\041-\071\073-\176]+:/ */
static bool field_line(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] >= 041 && p[i] <= 0176 && p[i] != ':')
		i++;
	return i > 0 && i < n && p[i] == ':';
}

/* boundary_line - 1 for "--B", 2 for "--B--" of one of the boundaries */
static int boundary_line(const char *p, size_t n, const char *const *b, size_t nb)
{
	if (n < 3 || p[0] != '-' || p[1] != '-')
		return 0;
	for (size_t k = 0; k < nb; k++) {
		size_t l = strlen(b[k]);
		if (l == 0 || n < 2 + l || memcmp(p + 2, b[k], l) != 0)
			continue;
		const char *t = p + 2 + l;
		size_t rest = n - 2 - l;
		if (rest >= 2 && t[0] == '-' && t[1] == '-')
			return 2;
		return 1;
	}
	return 0;
}

/* mime_stats_flags - see mime_stats.h */
void mime_stats_flags(struct mime_stats *s, const char *body, size_t len,
		      const char *const *boundaries, size_t n, const struct mime_span *skip,
		      size_t nskip)
{
	bool after_open = false, after_close = false;
	size_t sk = 0;

	if (n > MIME_STATS_MAX_BOUNDARIES)
		n = MIME_STATS_MAX_BOUNDARIES;
	for (size_t i = 0; body && i < len && n;) {
		while (sk < nskip && skip[sk].to <= i)
			sk++;
		/* no line of a span changes anything unless one is awaited */
		if (sk < nskip && skip[sk].from == i && !after_open && !after_close)
			i = skip[sk].to;
		const char *nl = memchr(body + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - body) : len, l = e - i;
		if (l && body[i + l - 1] == '\r')
			l--;
		int b = boundary_line(body + i, l, boundaries, n);
		if (b) {
			after_open = b == 1;
			after_close = b == 2;
		} else {
			if (after_open && !field_line(body + i, l))
				s->missing_mime_headers = true;
			after_open = false;
			for (size_t k = i; after_close && k < i + l; k++)
				if (!isspace((unsigned char)body[k]) && body[k] != '.')
					s->epilogue_exists = true;
		}
		i = e + 1;
	}
}

static void lower_trim(const char *v, char *out, size_t cap);

/* mime_stats_image_type - see mime_stats.h: ImageInfo's find_parts of
 * qr@^image/(?:gif|png|jpe?g)$@ and its lc(...) eq "base64" */
int mime_stats_image_type(const char *ctype, const char *cte)
{
	char type[64], enc[16];

	if (cte == NULL)
		return -1;
	lower_trim(cte, enc, sizeof(enc));
	if (strcmp(enc, "base64") != 0)
		return -1;
	mime_stats_type(ctype, type, sizeof(type));
	if (strcmp(type, "image/gif") == 0)
		return MIME_IMG_GIF;
	if (strcmp(type, "image/png") == 0)
		return MIME_IMG_PNG;
	if (strcmp(type, "image/jpeg") == 0 || strcmp(type, "image/jpg") == 0)
		return MIME_IMG_JPEG;
	return -1;
}

/* be16, le16, be32 - unsigned fields of an image header */
static uint32_t be16(const unsigned char *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t le16(const unsigned char *p)
{
	return (uint32_t)p[1] << 8 | p[0];
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* png_size - ImageInfo's walk: 8-byte chunk heads from offset 8 on,
 * until IEND, or IHDR with 13 bytes of data (its width and height
 * first).  As there, a chunk's data is not skipped: the next head is
 * read right after this one (IHDR comes first in a PNG) */
static bool png_size(const unsigned char *d, size_t n, uint32_t *w, uint32_t *h)
{
	if (n < 8 || memcmp(d, "\x89PNG\r\n\x1a\n", 8) != 0)
		return false;
	for (size_t pos = 8; pos < n; pos += 8) {
		if (n - pos < 8)
			return false;	/* unpack of a short string: no IHDR */
		const unsigned char *c = d + pos;
		if (memcmp(c + 4, "IEND", 4) == 0)
			return false;
		if (memcmp(c + 4, "IHDR", 4) == 0 && be32(c) == 13) {
			if (n - pos - 8 < 8)
				return false;
			*w = be32(c + 8);
			*h = be32(c + 12);
			return true;
		}
	}
	return false;
}

/* jpeg_size - ImageInfo's walk of the markers after SOI: FF, a marker,
 * a 16-bit length; it stops at SOS or EOI, a length under 2 or a byte
 * that is not FF, and a start of frame (C0-C3, C5-C7, C9-CB, CD-CF)
 * holds the height and width after its precision */
static bool jpeg_size(const unsigned char *d, size_t n, uint32_t *w, uint32_t *h)
{
	if (n < 2 || d[0] != 0xFF || d[1] != 0xD8)
		return false;
	for (size_t pos = 2; n - pos >= 4;) {
		unsigned mark = d[pos + 1];
		uint32_t len = be16(d + pos + 2);
		if (d[pos] != 0xFF || mark == 0xDA || mark == 0xD9 || len < 2)
			return false;
		pos += 4;
		size_t block = len - 2 < n - pos ? len - 2 : n - pos;
		if ((mark >= 0xC0 && mark <= 0xC3) || (mark >= 0xC5 && mark <= 0xC7) ||
		    (mark >= 0xC9 && mark <= 0xCB) || (mark >= 0xCD && mark <= 0xCF)) {
			if (block < 5)
				return false;	/* unpack("CnnC") of less: undefined */
			*h = be16(d + pos + 1);
			*w = be16(d + pos + 3);
			return true;
		}
		pos += block;
	}
	return false;
}

/* mime_stats_image - see mime_stats.h */
void mime_stats_image(struct mime_stats *s, int type, const unsigned char *d, size_t n)
{
	uint32_t w = 0, h = 0;
	bool sized = false;

	if (type < 0 || type >= MIME_IMG_TYPES)
		return;
	s->img_count[type]++;
	if (type == MIME_IMG_GIF) {
		sized = n >= 10 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0);
		if (sized) {
			w = le16(d + 6);
			h = le16(d + 8);
		}
	} else if (type == MIME_IMG_PNG) {
		sized = png_size(d, n, &w, &h);
	} else {
		sized = jpeg_size(d, n, &w, &h);
	}
	if (!sized || w == 0 || h == 0)
		return;
	s->img_pixels[type] += (double)w * h;
	for (size_t i = 0; i < s->img_nsizes; i++)
		if (s->img_size[i].type == type && s->img_size[i].width == w &&
		    s->img_size[i].height == h)
			return;
	if (s->img_nsizes < MIME_IMG_SIZES)
		s->img_size[s->img_nsizes++] = (struct mime_img_size){ h, w, (unsigned char)type };
}

/* mime_stats_type - see mime_stats.h */
void mime_stats_type(const char *ct, char *out, size_t cap)
{
	size_t k = 0;

	if (ct == NULL)
		ct = "";
	while (isspace((unsigned char)*ct))
		ct++;
	/* the type is what comes before ';', up to white space after a '/' */
	size_t end = strcspn(ct, ";");
	const char *slash = memchr(ct, '/', end);
	if (slash == NULL) {
		end = strcspn(ct, ";/");
	} else {
		size_t rest = strcspn(slash + 1, "/ \t\r\n;");
		end = (size_t)(slash + 1 - ct) + rest;
	}
	char t[128];
	for (size_t i = 0; i < end && k < sizeof(t) - 1; i++)
		t[k++] = (char)tolower((unsigned char)ct[i]);
	t[k] = '\0';
	if (k == 0 || (strncmp(t, "text", 4) == 0 && !isalnum((unsigned char)t[4]) && t[4] != '_' &&
		       strcmp(t, "text/x-vcard") != 0 && strcmp(t, "text/calendar") != 0 &&
		       strcmp(t, "text/html") != 0))
		str_copy(t, sizeof(t), "text/plain");
	k = 0;
	for (const char *p = t; *p && k + 1 < cap; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= 0x20 || c >= 0x7f || strchr("\"(),:;<=>?@[\\]", c))
			continue;
		out[k++] = (char)c;
	}
	out[k] = '\0';
}

/* charset_of - the charset parameter, lower case, as SpamAssassin reads it;
 * false if there is none */
static bool charset_of(const char *ct, char *out, size_t cap)
{
	for (const char *p = ct; p && (p = strcasestr(p, "charset")) != NULL; p += 7) {
		if (p > ct && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
			continue;
		const char *v = p + 7;
		while (isspace((unsigned char)*v))
			v++;
		if (*v != '=')
			continue;
		v++;
		while (isspace((unsigned char)*v))
			v++;
		if (*v == '"' || *v == '\'')
			v++;
		size_t n = strcspn(v, ";");
		if (n > 0 && v[n] == '\0' && v[n - 1] == '\n')
			n--;
		if (n > 0 && (v[n - 1] == '"' || v[n - 1] == '\''))
			n--;
		size_t k = 0;
		for (size_t i = 0; i < n && k + 1 < cap; i++)
			out[k++] = (char)tolower((unsigned char)v[i]);
		out[k] = '\0';
		return true;
	}
	return false;
}

/* lower_trim - a header value lower-cased without surrounding space */
static void lower_trim(const char *v, char *out, size_t cap)
{
	size_t k = 0;

	if (v == NULL)
		v = "";
	while (isspace((unsigned char)*v))
		v++;
	for (; *v && k + 1 < cap; v++)
		out[k++] = (char)tolower((unsigned char)*v);
	while (k > 0 && isspace((unsigned char)out[k - 1]))
		k--;
	out[k] = '\0';
}

/* mime_stats_begin - see mime_stats.h */
void mime_stats_begin(struct mime_stats_builder *b, struct mime_stats *s)
{
	memset(b, 0, sizeof(*b));
	memset(s, 0, sizeof(*s));
	b->s = s;
	s->multipart_ratio = 1.0;
}

/* leaf_lines - base64 line length and illegal ASCII lines of a leaf */
/* ascii_illegal - does p hold a NUL, a CR or a byte above 0x7F? */
static bool ascii_illegal(const char *p, size_t n)
{
	size_t i = 0;

	for (; i + 16 <= n; i += 16) {	/* 16 bytes at a time */
		u8x16 c = vec16_load((const unsigned char *)p + i);
		if (vec16_first((u8x16)(c == 0) | (u8x16)(c == '\r') | (u8x16)(c >= 0x80)) < 16)
			return true;
	}
	for (; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == 0 || c == '\r' || c >= 0x80)
			return true;
	}
	return false;
}

static void leaf_lines(struct mime_stats *s, bool b64, bool ascii, const char *raw, size_t n)
{
	size_t from = 0;

	if (!ascii) {		/* line lengths only: memchr's pace */
		for (size_t i = 0; b64 && i < n;) {
			const char *nl = memchr(raw + i, '\n', n - i);
			size_t len = nl ? (size_t)(nl - raw) - i + 1 : n - i;
			if (len > s->base64_max_line)
				s->base64_max_line = len;
			i += len;
		}
		return;
	}
	for (size_t i; from < n; from = i + 1) {	/* a line at a time, with memchr */
		const char *nl = memchr(raw + from, '\n', n - from);
		i = nl ? (size_t)(nl - raw) : n;
		size_t len = i - from + (i < n);	/* with its LF */
		if (b64 && len > s->base64_max_line)
			s->base64_max_line = len;
		if (ascii_illegal(raw + from, i - from))
			s->ascii_text_illegal++;
	}
}

/* needless_qp - =XX escapes of characters that need none (SpamAssassin's
 * /=(?:09|3[0-9ABCEF]|[2456][0-9A-F]|7[0-9A-E])/), less the =09/=20 run
 * that ends the line, which is allowed */
static size_t needless_qp(const char *p, size_t l)
{
	size_t n = 0, tail = 0, e = l;

	for (size_t i = 0; i + 2 < l; i++) {
		if (p[i] != '=')
			continue;
		char a = p[i + 1], b = p[i + 2];
		bool hex = isdigit((unsigned char)b) || (b >= 'A' && b <= 'F');
		if ((a == '0' && b == '9') ||
		    (a == '3' && hex && b != 'D') ||
		    ((a == '2' || a == '4' || a == '5' || a == '6') && hex) ||
		    (a == '7' && hex && b != 'F')) {
			n++;
			i += 2;
		}
	}
	while (e && isspace((unsigned char)p[e - 1]))
		e--;
	while (e >= 3 && p[e - 3] == '=' && ((p[e - 2] == '0' && p[e - 1] == '9') ||
					      (p[e - 2] == '2' && p[e - 1] == '0'))) {
		tail++;
		e -= 3;
	}
	return n > tail ? n - tail : 0;
}

/* qp_lines - a quoted-printable leaf as MIMEEval reads it: a line over 78
 * bytes (RFC 5322's limit) sets qp_long_line; the bytes and the needless
 * escapes are summed (SpamAssassin's "SPAM: " report lines excepted) */
static void qp_lines(struct mime_stats *s, const char *raw, size_t n)
{
	for (size_t i = 0; raw && i < n;) {
		const char *nl = memchr(raw + i, '\n', n - i);
		size_t e = nl ? (size_t)(nl - raw) : n, l = e - i;
		if (!(l >= 6 && memcmp(raw + i, "SPAM: ", 6) == 0)) {
			size_t len = l + (nl != NULL);	/* Perl's line keeps its \n */
			if (len > 79)
				s->qp_long_line = true;
			s->qp_bytes += len;
			s->qp_needless += needless_qp(raw + i, l);
		}
		i = e + 1;
	}
}

/* a node's MIME type and transfer encoding, parsed once for both the
 * caller's checks and node() */
struct node_kind {
	char type[128];		/* mime_stats_type */
	char enc[64];		/* Content-Transfer-Encoding, lower case */
};

/* node_kind - the type of Content-Type value ctype, the encoding of cte */
static void node_kind(struct node_kind *k, const char *ctype, const char *cte)
{
	mime_stats_type(ctype, k->type, sizeof(k->type));
	lower_trim(cte, k->enc, sizeof(k->enc));
}

/* node - mime_stats_node for a node of kind k; for a leaf summarized
 * (raw NULL, raw_len bytes) max_line is its longest line */
static bool node(struct mime_stats_builder *b, bool top, const char *ctype,
		 const struct node_kind *k, const char *cd, bool leaf, const char *raw,
		 size_t raw_len, size_t max_line)
{
	struct mime_stats *s = b->s;
	const char *type = k->type, *enc = k->enc;
	char disp[256], cs[64];

	lower_trim(cd, disp, sizeof(disp));
	if (top && ctype) {
		while (isspace((unsigned char)*ctype))
			ctype++;
		s->ctype_html = strncasecmp(ctype, "text/html", 9) == 0;
	}
	bool has_cs = ctype ? charset_of(ctype, cs, sizeof(cs)) : (strcpy(cs, "us-ascii"), true);
	if (strcmp(type, "multipart/alternative") == 0)
		s->alternative = true;
	mime_header_counts(s, type, enc, disp, has_cs ? cs : "");
	if (strcmp(type, "text/html") == 0)
		s->html_count++;
	else if (strncmp(type, "text", 4) == 0)
		s->text_count++;
	if (!leaf) {
		if (strncmp(type, "multipart/alternative", 21) != 0 ||
		    (type[21] != '\0' && (isalnum((unsigned char)type[21]) || type[21] == '_')))
			return false;
		if (b->nalt >= MIME_STATS_MAX_ALT)
			return false;
		buf_putc(&b->alt_log, LOG_OPEN);
		b->nalt++;
		return true;
	}
	b->leaf++;
	if (strcmp(enc, "quoted-printable") == 0)
		qp_lines(s, raw, raw_len);
	if (strstr(disp, "attachment") == NULL) {
		double bytes = s->alternative ? (double)raw_len : 0;
		if (strcmp(type, "text/html") == 0) {
			b->last_html = b->leaf;
			b->html_bytes = bytes;
		} else if (strcmp(type, "text/plain") == 0) {
			b->last_text = b->leaf;
			b->text_bytes = bytes;
		}
	}
	bool b64 = strcmp(enc, "base64") == 0 && strcmp(type, "application/ics") != 0;
	if (raw == NULL && raw_len > 0) {	/* summarized (never text/plain) */
		if (b64 && max_line > s->base64_max_line)
			s->base64_max_line = max_line;
		return false;
	}
	leaf_lines(s, b64, strcmp(type, "text/plain") == 0 && (!has_cs || strcmp(cs, "us-ascii") == 0),
		   raw ? raw : "", raw ? raw_len : 0);
	return false;
}

/* mime_stats_node - see mime_stats.h */
bool mime_stats_node(struct mime_stats_builder *b, bool top, const char *ctype,
		     const char *cte, const char *cd, bool leaf, const char *raw, size_t raw_len)
{
	struct node_kind k;

	node_kind(&k, ctype, cte);
	return node(b, top, ctype, &k, cd, leaf, raw, raw ? raw_len : 0, 0);
}

/* mime_stats_leaf_summary - see mime_stats.h */
int mime_stats_leaf_summary(struct mime_stats_builder *b, bool top, const char *ctype,
			    const char *cte, const char *cd, size_t len, size_t max_line)
{
	struct node_kind k;

	node_kind(&k, ctype, cte);
	if (len == 0 || strcmp(k.type, "text/plain") == 0 || strcmp(k.enc, "quoted-printable") == 0)
		return -1;
	node(b, top, ctype, &k, cd, true, NULL, len, max_line);
	return 0;
}

/* mime_stats_text - see mime_stats.h: kept in the log while an
 * alternative is open, its words counted only if asked for */
void mime_stats_text(struct mime_stats_builder *b, bool html, const char *text, size_t n,
		     bool has_img)
{
	if (b->nalt == 0)
		return;
	char head[2 + sizeof(n)] = { LOG_TEXT, (char)((html ? 1 : 0) | (has_img ? 2 : 0)) };
	memcpy(head + 2, &n, sizeof(n));
	buf_append(&b->alt_log, head, sizeof(head));
	buf_append(&b->alt_log, text, n);
}

/* mime_stats_alt_end - see mime_stats.h */
void mime_stats_alt_end(struct mime_stats_builder *b)
{
	if (b->nalt == 0)
		return;
	b->nalt--;
	buf_putc(&b->alt_log, LOG_END);
}

/* the words of the open alternatives while the log is read */
struct alt_words {
	struct words *html[MIME_STATS_MAX_ALT], *text[MIME_STATS_MAX_ALT];
	size_t nalt;
};

/* alt_close - the innermost open alternative ends: its HTML words the
 * text lacks (or has fewer of), the largest share kept */
static void alt_close(struct mime_stats *s, struct alt_words *a)
{
	if (a->nalt == 0)
		return;
	a->nalt--;
	struct words *h = a->html[a->nalt], *t = a->text[a->nalt];
	if (h->n > 0) {
		size_t left = 0;
		for (size_t i = 0; i < h->cap; i++) {
			const struct wslot *e = &h->s[i];
			if (e->len == 0)
				continue;
			unsigned tc = words_count(t, h->pool.data + e->off, e->len, e->h);
			if (tc == 0 || e->c > tc)
				left++;
		}
		s->madiff_html = (unsigned)h->n;
		s->madiff_text = (unsigned)t->n;
		double diff = (double)left / (double)h->n * 100;
		if (diff > s->madiff)
			s->madiff = diff;
	}
	a->html[a->nalt] = words_free(h);
	a->text[a->nalt] = words_free(t);
}

/* mime_stats_madiff - see mime_stats.h: the log read in order, as the
 * walk would have counted the words */
void mime_stats_madiff(struct mime_stats *s)
{
	if (s->alt_log == NULL)	/* no alternative, or counted already */
		return;
	struct alt_words a = { .nalt = 0 };
	const char *p = s->alt_log, *end = p + s->alt_log_len;

	while (p < end) {
		char kind = *p;
		if (kind == LOG_OPEN) {
			a.html[a.nalt] = xcalloc(1, sizeof(struct words));
			a.text[a.nalt] = xcalloc(1, sizeof(struct words));
			a.nalt++;
			p++;
		} else if (kind == LOG_END) {
			alt_close(s, &a);
			p++;
		} else {
			bool html = p[1] & 1, img = p[1] & 2;
			size_t n;
			memcpy(&n, p + 2, sizeof(n));
			p += 2 + sizeof(n);
			for (size_t i = 0; i < a.nalt; i++) {
				struct words *w = html ? a.html[i] : a.text[i];
				add_words(w, p, n);
				if (html && w->n == 0 && img)
					words_add(w, "\n", 1, hash("\n", 1));
			}
			p += n;
		}
	}
	while (a.nalt > 0)
		alt_close(s, &a);
	mime_stats_free(s);
}

/* mime_stats_free - see mime_stats.h */
void mime_stats_free(struct mime_stats *s)
{
	free(s->alt_log);
	s->alt_log = NULL;
	s->alt_log_len = 0;
}

/* mime_stats_end - see mime_stats.h */
void mime_stats_end(struct mime_stats_builder *b)
{
	while (b->nalt > 0)
		mime_stats_alt_end(b);
	struct mime_stats *s = b->s;
	if (s->alternative && b->last_html && b->last_text && b->html_bytes > 0)
		s->multipart_ratio = b->text_bytes / b->html_bytes;
	s->alt_log = b->alt_log.data;	/* NULL when no alternative was open */
	s->alt_log_len = b->alt_log.len;
	buf_init(&b->alt_log);
}
