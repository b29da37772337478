/*
 * mime.c - the decoded message: parse with GMime, build the body, rawbody
 * and uri views (see mime.h).  The only file that includes GMime (STYLE
 * rule 2).
 *
 * Owns: per call, a GMime parser, its input stream and the message tree;
 * all are released before the call returns, so the views are plain
 * malloc'd memory.  The one GObject that outlives a call is a charset
 * filter in the pool (cs_take, cs_give: CS_POOL of them at most, shared
 * by all threads under cs_lock, each used by one thread at a time).  The parser input is
 * built from the header fields and the scanned body bytes (one copy, LF
 * line ends) and handed to GMime without a second copy.
 *
 * Thread safety.  GMime 3.2 has no thread-safety statement beyond its FAQ
 * ("objects subclassing GObject are not thread-safe"; docs/reference/
 * question_index.sgml), so this rests on reading the 3.2 sources:
 *  - g_mime_init() is not thread-safe (a plain counter) and is called
 *    once, under pthread_once.  It builds the process-wide tables (object
 *    type registry, charset map, default parser/format options) that are
 *    only read afterwards.
 *  - parsing touches no other global state except the charset name cache
 *    of gmime-charset.c, which GMime guards with its own mutex.
 *  - so the parser is safe to use from several threads at once on
 *    different messages, provided no object (stream, parser, options,
 *    message) is shared, and nobody changes the default options.  Each
 *    call here creates its own, including its own GMimeParserOptions: the
 *    warning callback's user data is per message, so the defaults cannot
 *    carry it.
 * The charset cache is the catch: g_mime_charset_iconv_name() stores
 * every charset name it is asked about - including those of RFC 2047
 * encoded words and RFC 2231 parameters in any header GMime parses - and
 * never forgets one.  A stream of mail with made-up charset names
 * ("=?x1?Q?a?=", "=?x2?Q?a?=", ...) would grow it without bound.  So all
 * GMime use holds a read lock, and after every MIME_CHARSET_RESET_BYTES
 * of input the cache is emptied under the write lock (it refills itself
 * on demand; nothing GMime returns to us points into it).
 *
 * Limits: MIME_MAX_DEPTH, MIME_MAX_PARTS (mime.h), URI caps (uri.h); a
 * charset name longer than MIME_MAX_CHARSET is unknown.  What would cost
 * GMime more than linear time, or a stack frame per byte, is capped before
 * GMime reads the message (guard: MIME_MAX_PARAMS, MIME_MAX_MULTIPARTS,
 * MIME_MAX_GROUP_DEPTH).  GMime itself
 * nests at most 1024 levels (gmime-parser.c MAX_LEVEL).  XXX GMime copies
 * the charset name of an RFC 2047 word or RFC 2231 parameter to the stack
 * (g_alloca, twice) with no bound.  Top-level fields are capped at
 * MSG_MAX_HEADER_BYTES, but a header inside the body (a part's
 * parameters, an attached message's Subject) is bounded only by
 * max_scan_bytes: a field of n bytes can cost ~2n bytes of stack
 * (measured: a 600 KB charset name overflows a 1 MB stack).  Safe with
 * the default 1 MB max_scan_bytes and Linux's default 8 MB thread stacks
 * (libmilter creates its threads with default attributes); a larger
 * max_scan_bytes needs a larger stack limit.
 */
#include "autoconfig.h"

#include <gmime/gmime.h>
#include <pthread.h>
#include <stdatomic.h>
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/html.h"
#include "mail/message.h"
#include "mail/mime.h"
#include "mail/mime_skip.h"
#include "mail/uri.h"
#include "base/arena.h"
#include "base/util.h"
#include "base/vec16.h"

#define MIME_MAX_CHARSET 64
#define MIME_CHARSET_RESET_BYTES (1u << 20)
#define WALK_RESERVE_MAX ((size_t)64 << 10)	/* the views made this large at most up front */

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;
static pthread_rwlock_t gmime_lock;	/* read: using GMime; write: cache reset */
static atomic_size_t gmime_bytes;	/* input since the last reset */
static atomic_ulong gmime_resets;

/* gmime_init - once per process */
static void gmime_init(void)
{
	pthread_rwlockattr_t a;

	g_mime_init();
	pthread_rwlockattr_init(&a);
	/* a reset must not starve behind a steady stream of readers */
	pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&gmime_lock, &a);
	pthread_rwlockattr_destroy(&a);
}

/* gmime_enter - before any GMime call */
static void gmime_enter(void)
{
	pthread_once(&gmime_once, gmime_init);
	pthread_rwlock_rdlock(&gmime_lock);
}

/* gmime_leave - after the last GMime call; bytes: input GMime has seen */
static void gmime_leave(size_t bytes)
{
	pthread_rwlock_unlock(&gmime_lock);
	if (atomic_fetch_add(&gmime_bytes, bytes) + bytes < MIME_CHARSET_RESET_BYTES)
		return;
	pthread_rwlock_wrlock(&gmime_lock);
	if (atomic_load(&gmime_bytes) >= MIME_CHARSET_RESET_BYTES) {
		g_mime_charset_map_shutdown();
		g_mime_charset_map_init();
		atomic_store(&gmime_bytes, 0);
		atomic_fetch_add(&gmime_resets, 1);
	}
	pthread_rwlock_unlock(&gmime_lock);
}

/* mime_charset_resets - for tests and metrics */
unsigned long mime_charset_resets(void)
{
	return atomic_load(&gmime_resets);
}

/* ---------------------------------------------------------------- headers */

/* needs_decoding - an encoded word or a raw 8-bit byte? */
static bool needs_decoding(const char *v)
{
	if (strstr(v, "=?") != NULL)
		return true;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p >= 0x80)
			return true;
	return false;
}

/* mime_decode_text - see mime.h */
char *mime_decode_text(const char *v)
{
	char *out = NULL;

	if (!needs_decoding(v))
		return NULL;
	gmime_enter();
	char *d = g_mime_utils_header_decode_text(NULL, v);
	if (d != NULL && strcmp(d, v) != 0)
		out = xstrdup(d);
	g_free(d);
	gmime_leave(strlen(v));
	return out;
}

/*
 * sa_unfold - raw's value as SpamAssassin's header() unfolds it: each
 * line break and the blanks after it one space (s/\n[ \t]+/ /g), CRs
 * dropped, trimmed; NULL when that is value already (no break is
 * followed by a tab or by two blanks, the one case the plain unfolding,
 * which only drops the line breaks, reads differently)
 */
static char *sa_unfold(struct arena *a, const char *raw)
{
	bool differs = false;
	for (const char *nl = strchr(raw, '\n'); nl && !differs; nl = strchr(nl + 1, '\n'))
		differs = nl[1] == '\t' || (nl[1] == ' ' && (nl[2] == ' ' || nl[2] == '\t'));
	if (!differs)
		return NULL;
	char *v = arena_alloc(a, strlen(raw) + 1), *o = v;
	for (const char *p = raw; *p; p++) {
		if (*p == '\r')
			continue;
		if (*p == '\n') {
			if (p[1] == ' ' || p[1] == '\t') {
				while (p[1] == ' ' || p[1] == '\t')
					p++;
				*o++ = ' ';
			}
			continue;
		}
		*o++ = *p;
	}
	*o = '\0';
	char *t = str_trim(v);
	return t;
}

/* mime_decode_headers - see mime.h */
void mime_decode_headers(struct arena *a, struct header *hdrs, size_t nhdrs)
{
	size_t seen = 0;
	bool entered = false;

	for (size_t i = 0; i < nhdrs; i++) {
		struct header *h = &hdrs[i];
		char *u = sa_unfold(a, h->raw);
		h->decoded = u ? u : h->value;	/* an earlier decoded copy stays in a */
		if (!needs_decoding(h->decoded))
			continue;
		if (!entered) {
			gmime_enter();
			entered = true;
		}
		/* NULL options: GMime's defaults, read-only (loose RFC 2047,
		 * 8-bit tried as UTF-8 then ISO-8859-1) */
		char *d = g_mime_utils_header_decode_text(NULL, h->decoded);
		seen += strlen(h->decoded);
		if (d != NULL && strcmp(d, h->decoded) != 0)
			h->decoded = arena_strdup(a, d);
		g_free(d);
	}
	if (entered)
		gmime_leave(seen);
}

/* ---------------------------------------------------------------- input */

/* valid_field_name - RFC 5322 §3.6.8 ftext; others would derail GMime */
static bool valid_field_name(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (*s < 33 || *s > 126 || *s == ':')
			return false;
	return true;
}

/* put_value - a raw field value; every line break stays a fold */
static void put_value(struct buf *b, const char *raw)
{
	for (const char *p = raw; *p; p++) {
		if (*p == '\r')
			continue;
		buf_putc(b, *p);
		/* a value line starting without white space would begin a
		 * new field (or end the header) in GMime's eyes */
		if (*p == '\n' && p[1] != ' ' && p[1] != '\t')
			buf_putc(b, ' ');
	}
}

/* put_body - body bytes with CRLF made LF */
static void put_body(struct buf *b, const char *p, size_t n)
{
	const char *end = p + n;

	while (p < end) {
		const char *cr = memchr(p, '\r', (size_t)(end - p));
		if (cr == NULL) {
			buf_append(b, p, (size_t)(end - p));
			break;
		}
		buf_append(b, p, (size_t)(cr - p));
		if (cr + 1 < end && cr[1] == '\n')
			p = cr + 1;
		else {
			buf_putc(b, '\r');	/* a lone CR is content */
			p = cr + 1;
		}
	}
}

/*
 * put_stand_in - what GMime reads instead of a content left out
 * (mime_skip.h): lines of 'A', none starting with "--" or holding a ':',
 * none longer than 76 bytes, as long as the content modulo 4 KB (see
 * mime_views_build: why).  Notes where it is in GMime's input.
 */
static void put_stand_in(struct buf *b, struct mime_skip *sk)
{
	size_t n = sk->len % 4096 ? sk->len % 4096 : 4096;

	sk->in_at = b->len;
	sk->in_len = n;
	buf_reserve(b, n);
	for (size_t k = 0; k < n; k++)
		b->data[b->len + k] = k % 77 == 76 ? '\n' : 'A';
	b->len += n;
	b->data[b->len] = '\0';
}

/* input_text - the message as GMime reads it: its MIME fields, blank
 * line, body, with stand-ins for the nsk contents sk left out */
static void input_text(const struct header *hdrs, size_t nhdrs, const char *body,
		       size_t body_len, struct mime_skip *sk, size_t nsk, struct buf *b)
{
	bool fed = false;
	size_t need = body_len + 32, at = 0;

	for (size_t i = 0; i < nsk; i++)	/* a stand-in is at most 4 KB */
		need = need - (sk[i].to - sk[i].from) + 4096;

	for (size_t i = 0; i < nhdrs; i++)
		if (strncasecmp(hdrs[i].name, "Content-", 8) == 0 ||
		    strcasecmp(hdrs[i].name, "MIME-Version") == 0)
			need += strlen(hdrs[i].name) + strlen(hdrs[i].raw) * 2 + 2;
	buf_reserve(b, need);	/* the body is not moved as the buffer grows */
	/* only the fields that shape the MIME tree: GMime's cost on some
	 * others grows with the square of their length (a 56 KB field of
	 * short words took 4 ms), and the views take nothing else from it.
	 * MIME-Version stays although GMime's parser never reads it: the
	 * tree depends on where GMime's 4 KB reads fall (a line longer than
	 * 128 bytes is cut there and its second piece checked for a
	 * boundary), so the input keeps the bytes it has always had */
	for (size_t i = 0; i < nhdrs; i++) {
		if (!valid_field_name(hdrs[i].name))
			continue;	/* already MIME_BROKEN (message.c) */
		if (strncasecmp(hdrs[i].name, "Content-", 8) != 0 &&
		    strcasecmp(hdrs[i].name, "MIME-Version") != 0)
			continue;
		buf_puts(b, hdrs[i].name);
		buf_putc(b, ':');
		put_value(b, hdrs[i].raw);
		buf_putc(b, '\n');
		fed = true;
	}
	if (!fed && nhdrs > 0)	/* GMime refuses a message without a header */
		buf_puts(b, "X-Parapet-Header: 1\n");
	buf_putc(b, '\n');
	for (size_t i = 0; i < nsk; i++) {
		put_body(b, body + at, sk[i].from - at);
		put_stand_in(b, &sk[i]);
		at = sk[i].to;
	}
	put_body(b, body ? body + at : "", body_len - at);
}

/* ---------------------------------------------------------------- walk */

struct walk {
	bool truncated;
	const char *broken;
	size_t parts;
	bool stop;		/* a cap was hit */
	struct buf text, raw, hidden;
	struct buf conv;	/* one part's text in UTF-8, when its bytes are not */
	struct uri_set uris;
	struct arena *arena;	/* the views' (URIs, HTML statistics' strings) */
	struct html_stats *html;	/* nhtml of them (MIME_MAX_HTML_PARTS at most) */
	size_t nhtml;
	struct mime_stats_builder stats;
	char *bounds[MIME_STATS_MAX_BOUNDARIES];	/* multiparts' boundaries */
	size_t nbounds;
	struct mime_skip *skips;	/* contents left out of GMime's input */
	size_t nskips;
	bool redo;		/* one did not fit GMime's tree: parse whole */
	size_t parsed;		/* bytes GMime read */
	bool no_stats;		/* mime_views.no_stats */
	struct buf fields;	/* mime_views.fields, unless no_stats */
	const char *body;	/* the body as received (skips are in it) */
	GMimeObject *inner;	/* the attached message the next part tops */
};

/* set_broken - keep the first reason */
static void set_broken(struct walk *w, const char *why)
{
	if (w->broken == NULL)
		w->broken = why;
}

/* ---------------------------------------------------------------- guard */

enum field_kind {
	FIELD_OTHER,
	FIELD_CTYPE,		/* Content-Type */
	FIELD_CDISP,		/* Content-Disposition */
	FIELD_ADDR,		/* an address list GMime parses */
};

#define FIELD_NAME_MAX 32	/* longer names are none of ours */

/* field_kind - the field the line at p starts (n bytes to the end of the
 * input), and in *value where its value starts */
static enum field_kind field_kind(const char *p, size_t n, size_t *value)
{
	/* the fields GMime's message parses as address lists */
	static const char *const addr[] = {
		"from", "to", "cc", "bcc", "reply-to", "sender", "resent-from", "resent-to",
		"resent-cc", "resent-bcc", "resent-reply-to", "resent-sender",
	};
	size_t k = 0, i;

	/* every name above and Content-* starts with one of these: most
	 * lines of an attachment are dismissed at their first byte */
	switch (n > 0 ? p[0] | 0x20 : 0) {
	case 'b': case 'c': case 'f': case 'r': case 's': case 't':
		break;
	default:
		return FIELD_OTHER;
	}
	while (k < n && k <= FIELD_NAME_MAX && p[k] != ':' && p[k] != ' ' && p[k] != '\t' &&
	       p[k] != '\n')
		k++;
	for (i = k; i < n && (p[i] == ' ' || p[i] == '\t'); i++)
		;
	if (k == 0 || k > FIELD_NAME_MAX || i >= n || p[i] != ':')
		return FIELD_OTHER;
	*value = i + 1;
	if (k == 12 && strncasecmp(p, "content-type", k) == 0)
		return FIELD_CTYPE;
	if (k == 19 && strncasecmp(p, "content-disposition", k) == 0)
		return FIELD_CDISP;
	for (size_t a = 0; a < sizeof(addr) / sizeof(addr[0]); a++)
		if (strlen(addr[a]) == k && strncasecmp(p, addr[a], k) == 0)
			return FIELD_ADDR;
	return FIELD_OTHER;
}

/* what one field holds that costs GMime more than its size */
struct field_cost {
	size_t params;		/* ';' */
	bool multipart;		/* "multipart" in a Content-Type */
	size_t depth, max_depth;	/* address groups open ("name:") */
};

/* field_scan - from the value at p[i] to the end of the field (its line
 * and the folded lines after it); returns where the next line starts */
static size_t field_scan(const char *p, size_t n, size_t i, enum field_kind kind,
			 struct field_cost *fc)
{
	int comment = 0;
	bool quoted = false, angle = false, literal = false;

	for (; i < n; i++) {
		char c = p[i];
		if (c == '\n') {
			if (i + 1 < n && (p[i + 1] == ' ' || p[i + 1] == '\t'))
				continue;
			return i + 1;
		}
		if (kind != FIELD_ADDR) {
			if (c == ';')
				fc->params++;
			else if (kind == FIELD_CTYPE && (c == 'm' || c == 'M') && n - i >= 9 &&
				 strncasecmp(p + i, "multipart", 9) == 0)
				fc->multipart = true;
			continue;
		}
		/* RFC 5322 §3.2-3.4 lexing: a ':' opens a group only outside
		 * quotes, comments, angle addresses and domain literals */
		if ((quoted || comment) && c == '\\' && i + 1 < n && p[i + 1] != '\n')
			i++;
		else if (quoted)
			quoted = c != '"';
		else if (comment)
			comment += c == '(' ? 1 : c == ')' ? -1 : 0;
		else if (c == '"')
			quoted = true;
		else if (c == '(')
			comment = 1;
		else if (angle)
			angle = c != '>';
		else if (literal)
			literal = c != ']';
		else if (c == '<')
			angle = true;
		else if (c == '[')
			literal = true;
		else if (c == ':' && ++fc->depth > fc->max_depth)
			fc->max_depth = fc->depth;
		else if (c == ';' && fc->depth > 0)
			fc->depth--;
	}
	return n;
}

/*
 * guard - look at GMime's input before GMime does, for what costs GMime
 * more than its size (issue 12; GMime 3.2 sources):
 *  - gmime-param.c decode_param_list compares every parameter of a
 *    Content-Type or Content-Disposition field with every other one when
 *    a warning callback is set: 4,000 parameters cost 100 ms.  Past
 *    MIME_MAX_PARAMS the parse runs without the callback (*quiet).
 *  - gmime-parser.c check_boundary compares each line starting with "--"
 *    with the boundary of every open multipart, up to 1024 deep (1 MB of
 *    such lines: 1 s).  Past MIME_MAX_MULTIPARTS Content-Type fields
 *    naming multipart, each further one is renamed: GMime reads that part
 *    as text/plain, so its content stays visible and opens no boundary.
 *  - internet-address.c parses a group inside a group by recursion, one
 *    stack frame per "name:": 50,000 of them (100 KB in an attached
 *    message's From) overflow an 8 MB thread stack, which kills the
 *    daemon.  An address field nested deeper than MIME_MAX_GROUP_DEPTH is
 *    renamed (GMime's address lists are not used here).
 * Fields are found by name at every line start, also inside a part's
 * content (a line there that looks like one only makes a count larger).
 * Renaming writes 'X' over the first byte of the name in GMime's copy of
 * the message, never in the fields the other rules read.  Each cap makes
 * the message MIME_BROKEN.  Linear: each byte is looked at a bounded
 * number of times.
 */
static void guard(struct walk *w, struct buf *b, bool *quiet)
{
	char *p = b->data;
	size_t n = b->len, multiparts = 0;

	*quiet = false;
	for (size_t i = 0; i < n;) {
		size_t value;
		enum field_kind kind = field_kind(p + i, n - i, &value);
		if (kind == FIELD_OTHER) {
			const char *nl = memchr(p + i, '\n', n - i);
			i = nl ? (size_t)(nl - p) + 1 : n;
			continue;
		}
		struct field_cost fc = { 0 };
		size_t start = i;
		i = field_scan(p, n, i + value, kind, &fc);
		if (fc.params > MIME_MAX_PARAMS && !*quiet) {
			set_broken(w, "MIME field with more than 64 parameters");
			*quiet = true;
		}
		if ((fc.multipart && ++multiparts > MIME_MAX_MULTIPARTS) ||
		    fc.max_depth > MIME_MAX_GROUP_DEPTH) {
			set_broken(w, fc.multipart ? "more than 100 multipart parts"
						   : "address groups nested deeper than 32");
			p[start] = 'X';
		}
	}
}

/* on_warning - GMime's parser reports what it had to work around */
static void on_warning(gint64 offset, GMimeParserWarning code, const gchar *item, gpointer data)
{
	struct walk *w = data;

	(void)offset;
	switch (code) {
	case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
		set_broken(w, "multipart without a boundary");
		break;
	case GMIME_WARN_MALFORMED_MULTIPART:	/* ended by its parent's boundary */
		set_broken(w, "multipart without a closing boundary");
		break;
	case GMIME_WARN_TRUNCATED_MESSAGE:	/* ended by the end of input */
		if (!w->truncated)	/* expected when the scan was cut */
			set_broken(w, "multipart without a closing boundary");
		break;
	case GMIME_CRIT_NESTING_OVERFLOW:
		set_broken(w, "MIME nesting deeper than 1024");
		break;
	case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
		set_broken(w, "MIME part without headers or content");
		break;
	case GMIME_CRIT_CONFLICTING_HEADER:
		/* the top part holds the MIME-Version fields too (parse:
		 * construct_part), where a GMimeMessage held them unchecked */
		if (item != NULL && strcasecmp(item, "MIME-Version") == 0)
			break;
		set_broken(w, "conflicting MIME header fields or parameters");
		break;
	case GMIME_CRIT_CONFLICTING_PARAMETER:
		set_broken(w, "conflicting MIME header fields or parameters");
		break;
	default:
		/* duplicated or 8-bit headers, bad RFC 2047, bad addresses
		 * and the like are everyday mail, not structure */
		break;
	}
}

/* put_clean - CR dropped, NUL as a space: text for regexes */
static void put_clean(struct buf *b, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r')
			continue;
		buf_putc(b, p[i] == '\0' ? ' ' : p[i]);
	}
}

/* end_part - parts are separated by a line break */
static void end_part(struct buf *b)
{
	if (b->len > 0 && b->data[b->len - 1] != '\n')
		buf_putc(b, '\n');
}

/*
 * sa_paragraphs - the body text from byte from on as SpamAssassin hands
 * it to body rules (Message.pm get_body_text_array_common): a run of
 * white space holding two line breaks or more ends a paragraph, any other
 * run is one space, so a paragraph is one line; then a line longer than
 * MIME_MAX_BODY_LINE bytes is cut after its last space before that
 * length, or at the length (split_into_array_of_short_lines).  One copy,
 * linear.
 */
static void sa_paragraphs(struct buf *t, size_t from)
{
	/* isspace in the C locale parapet runs in, as a table: the loop
	 * below looks at every byte of the text */
	static const bool c_space[256] = {
		[' '] = true, ['\t'] = true, ['\n'] = true, ['\v'] = true, ['\f'] = true, ['\r'] = true,
	};
	struct buf o;
	size_t line, sp = SIZE_MAX;

	if (t->len <= from)
		return;
	buf_init(&o);
	buf_reserve(&o, t->len + t->len / MIME_MAX_BODY_LINE + 1);	/* the usual size */
	buf_append(&o, t->data, from);
	line = o.len;
	for (size_t i = from; i < t->len;) {
		unsigned char c = (unsigned char)t->data[i];
		if (!isspace(c)) {
			/* a run of non-space bytes and single ' ' between them in
			 * one copy, up to the byte that makes the line too long
			 * (o.len - line <= the cap here); sp: the last such ' ' */
			size_t room = MIME_MAX_BODY_LINE + 1 - (o.len - line), k = 1;
			const unsigned char *d = (const unsigned char *)t->data + i;
			size_t left = t->len - i;
			size_t lim = room < left ? room : left;
			/* 16 bytes at a time while none is white space other
			 * than a ' ' before a byte that is not */
			while (k + 16 <= lim && k + 17 <= left) {
				u8x16 v = vec16_load(d + k), n = vec16_load(d + k + 1);
				u8x16 blank = (u8x16)(v == ' ');
				u8x16 ws_n = (u8x16)(n == ' ') | ((u8x16)(n >= '\t') & (u8x16)(n <= '\r'));
				u8x16 bad = ((u8x16)(v >= '\t') & (u8x16)(v <= '\r')) | (blank & ws_n);
				if (vec16_first(bad) < 16)
					break;
				unsigned last = vec16_last(blank);
				if (last < 16)
					sp = o.len + k + last;
				k += 16;
			}
			while (k < lim) {
				while (k < lim && !c_space[d[k]])
					k++;
				if (k < lim && d[k] == ' ' && k + 1 < left && !c_space[d[k + 1]]) {
					sp = o.len + k;
					k++;
				} else {
					break;
				}
			}
			buf_append(&o, t->data + i, k);
			i += k;
		} else {
			size_t j = i, nls = 0, first = SIZE_MAX, last = 0;
			for (; j < t->len && isspace((unsigned char)t->data[j]); j++)
				if (t->data[j] == '\n') {
					if (nls++ == 0)
						first = j;
					last = j;
				}
			if (nls >= 2) {
				if (first > i)
					buf_putc(&o, ' ');
				buf_putc(&o, '\n');
				line = o.len;
				sp = SIZE_MAX;
				if (last + 1 < j)
					buf_putc(&o, ' ');
			} else {
				sp = o.len;
				buf_putc(&o, ' ');
			}
			i = j;
		}
		if (o.len - line > MIME_MAX_BODY_LINE) {
			if (sp != SIZE_MAX && sp > line) {	/* after the last space */
				char *tail = xstrndup(o.data + sp + 1, o.len - sp - 1);
				o.len = sp + 1;
				buf_putc(&o, '\n');
				line = o.len;
				buf_puts(&o, tail);
				free(tail);
			} else {	/* no space: at the length */
				char last = o.data[o.len - 1];
				o.len--;
				buf_putc(&o, '\n');
				line = o.len;
				buf_putc(&o, last);
			}
			sp = SIZE_MAX;
		}
	}
	buf_free(t);
	*t = o;
}

/* encoded - the content of a part as it is in the message (still
 * transfer-encoded), and where it starts in GMime's input (*at); false
 * if GMime does not hold it in memory */
static bool encoded(GMimeDataWrapper *dw, const char **p, size_t *n, size_t *at)
{
	GMimeStream *s = g_mime_data_wrapper_get_stream(dw);

	if (s == NULL || !GMIME_IS_STREAM_MEM(s))
		return false;
	GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(s));
	if (ba == NULL)
		return false;
	gint64 start = s->bound_start, end = s->bound_end < 0 ? (gint64)ba->len : s->bound_end;
	if (start < 0 || end > (gint64)ba->len || start > end)
		return false;
	*p = (const char *)ba->data + start;
	*n = (size_t)(end - start);
	*at = (size_t)start;
	return true;
}

/* check_base64 - RFC 2045 §6.8 alphabet, padding only at the end
 * (mime_skip.c reads it, 16 bytes at a time) */
static void check_base64(struct walk *w, const char *raw, size_t len)
{
	struct mime_b64 b = { 0 };

	if (raw == NULL || len == 0)
		return;
	mime_b64_feed(&b, (const unsigned char *)raw, len);
	const char *bad = mime_b64_verdict(&b, w->truncated);
	if (bad)
		set_broken(w, bad);
}

/* plain_label - a label meaning "no real charset": read as UTF-8 */
static bool plain_label(const char *cs)
{
	static const char *const labels[] = {
		"us-ascii", "ascii", "utf-8", "utf8", "ansi_x3.4-1968", "iso646-us",
		"x-unknown", "unknown", "unknown-8bit", "default", "x-user-defined", "",
	};

	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		if (strcasecmp(cs, labels[i]) == 0)
			return true;
	return false;
}

/* alias - labels mail clients send that neither GMime nor iconv know */
static const char *alias(const char *cs)
{
	static const char *const map[][2] = {
		{ "x-mac-roman", "MACINTOSH" }, { "x-sjis", "SHIFT_JIS" },
		{ "unicode-1-1-utf-7", "UTF-7" }, { "cp-850", "IBM850" },
		{ "x-gbk", "GBK" }, { "x-euc-jp", "EUC-JP" }, { "iso-8859-8-i", "ISO-8859-8" },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcasecmp(cs, map[i][0]) == 0)
			return map[i][1];
	return cs;
}

/*
 * The charset filters of text parts are kept between parts, in one pool
 * for all threads: opening one (iconv_open: gconv's module lookup and
 * set-up) cost more than converting most parts, 2.7% of a message's time
 * with the stock rules (perf, the corpus), where a mutex costs nothing
 * next to it.  A filter taken out is the taker's alone; put back, it is
 * reset (iconv's shift state; g_mime_filter_complete leaves nothing
 * backed up).  Not kept: a filter whose output buffer grew past
 * CS_POOL_OUT (a large part), or one more than CS_POOL.
 */
#define CS_POOL 16
#define CS_POOL_OUT ((size_t)256 << 10)

static pthread_mutex_t cs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char name[MIME_MAX_CHARSET + 1];
	GMimeFilter *f;
} cs_pool[CS_POOL];
static size_t cs_n;

/* cs_take - a filter from charset name to UTF-8, NULL if iconv has none */
static GMimeFilter *cs_take(const char *name)
{
	pthread_mutex_lock(&cs_lock);
	for (size_t i = 0; i < cs_n; i++)
		if (strcasecmp(cs_pool[i].name, name) == 0) {
			GMimeFilter *f = cs_pool[i].f;
			cs_pool[i] = cs_pool[--cs_n];
			pthread_mutex_unlock(&cs_lock);
			return f;
		}
	pthread_mutex_unlock(&cs_lock);
	return g_mime_filter_charset_new(name, "UTF-8");
}

/* cs_give - f, taken for name, back to the pool or released */
static void cs_give(const char *name, GMimeFilter *f)
{
	g_mime_filter_reset(f);
	if (f->outsize <= CS_POOL_OUT && strlen(name) <= MIME_MAX_CHARSET) {
		pthread_mutex_lock(&cs_lock);
		if (cs_n < CS_POOL) {
			strcpy(cs_pool[cs_n].name, name);
			cs_pool[cs_n++].f = f;
			f = NULL;
		}
		pthread_mutex_unlock(&cs_lock);
	}
	if (f)
		g_object_unref(f);
}

/* utf8_valid - strict UTF-8 (g_utf8_validate rejects NUL, which we
 * allow and turn into spaces later); ASCII, the common case, at once */
static bool utf8_valid(const char *p, size_t n)
{
	const char *end;

	if (mem_ascii_only(p, n))
		return true;
	for (;;) {
		if (g_utf8_validate(p, (gssize)n, &end))
			return true;
		if (end >= p + n || *end != '\0')
			return false;
		n -= (size_t)(end - p) + 1;
		p = end + 1;
	}
}

/* to_utf8 - bytes in charset cs (may be NULL) appended as UTF-8 */
static void to_utf8(struct walk *w, const char *cs, const char *p, size_t n, struct buf *out)
{
	if (n == 0)
		return;
	if (cs == NULL || plain_label(cs)) {
		/* labelled ASCII/UTF-8 but not UTF-8: ISO-8859-1 is what
		 * such mail almost always is */
		if (utf8_valid(p, n))
			buf_append(out, p, n);
		else
			html_latin1_to_utf8(p, n, out);
		return;
	}
	GMimeFilter *f = strlen(cs) <= MIME_MAX_CHARSET ? cs_take(alias(cs)) : NULL;
	if (f == NULL) {
		set_broken(w, "text part in an unknown charset");
		html_latin1_to_utf8(p, n, out);
		return;
	}
	char *o;
	size_t on, opre;
	/* invalid sequences are skipped by GMime's filter; the charset
	 * filter only reads its input (gmime-filter-charset.c 3.2: iconv
	 * from it; with no backed-up bytes filter_run does not copy) */
	g_mime_filter_complete(f, (char *)p, n, 0, &o, &on, &opre);
	buf_append(out, o, on);
	cs_give(alias(cs), f);
}

/* clean_tail - CR dropped and NUL made a space from b->data[from] on, in
 * place: text for regexes.  memchr finds both (text has a CR a line, a
 * NUL hardly ever): the bytes between CRs move as blocks */
static void clean_tail(struct buf *b, size_t from)
{
	char *d = b->data;
	size_t n = b->len, o = from, i = from;

	if (n <= from) {
		b->len = from;
		if (d)
			d[from] = '\0';
		return;
	}
	for (char *z = memchr(d + from, '\0', n - from); z; z = memchr(z, '\0', (size_t)(d + n - z)))
		*z++ = ' ';
	for (char *cr; (cr = memchr(d + i, '\r', n - i)) != NULL; i++) {
		size_t k = (size_t)(cr - (d + i));
		if (o != i)
			memmove(d + o, d + i, k);
		o += k;
		i += k;
	}
	if (o != i)
		memmove(d + o, d + i, n - i);
	b->len = o + (n - i);
	d[b->len] = '\0';
}

/* identity - a transfer encoding GMime's data wrapper copies as it is
 * (gmime-data-wrapper.c 3.2 write_to_stream: only base64, QP and
 * uuencode get a filter) */
static bool identity(GMimeContentEncoding e)
{
	return e != GMIME_CONTENT_ENCODING_BASE64 && e != GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE &&
	       e != GMIME_CONTENT_ENCODING_UUENCODE;
}

/* qp_padded - does a line of quoted-printable text end in blanks? */
static bool qp_padded(const char *p, size_t n)
{
	for (const char *nl = memchr(p, '\n', n); nl; nl = memchr(nl + 1, '\n', (size_t)(p + n - nl - 1))) {
		const char *e = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
		if (e > p && (e[-1] == ' ' || e[-1] == '\t'))
			return true;
	}
	return false;
}

/*
 * qp_decode - quoted-printable text decoded as RFC 2045 6.7 rule (3)
 * asks: the blanks before each line break of the encoded text deleted
 * first (they were added in transit; an encoded =20 stays), as
 * SpamAssassin's qp_decode (s/[ \t]+(?=\r?\n)//g) does and GMime's
 * decoder does not; malloc'd, *len set
 */
static char *qp_decode(const char *p, size_t n, size_t *len)
{
	char *in = xmalloc(n + 1);
	size_t k = 0;
	for (size_t i = 0; i < n;) {
		const char *nl = memchr(p + i, '\n', n - i);
		if (nl == NULL) {	/* the last line, no break: kept */
			memcpy(in + k, p + i, n - i);
			k += n - i;
			break;
		}
		size_t le = (size_t)(nl - p), e = le > i && p[le - 1] == '\r' ? le - 1 : le, b = e;
		while (b > i && (p[b - 1] == ' ' || p[b - 1] == '\t'))
			b--;
		memcpy(in + k, p + i, b - i);
		k += b - i;
		memcpy(in + k, p + e, le + 1 - e);	/* the CR if any, the LF */
		k += le + 1 - e;
		i = le + 1;
	}
	char *out = xmalloc(k + 1);
	int state = 0;
	guint32 save = 0;
	*len = g_mime_encoding_quoted_decode_step((const unsigned char *)in, k,
							   (unsigned char *)out, &state, &save);
	free(in);
	return out;
}

/*
 * scan_cut - SpamAssassin's cut of one part's text (Message.pm): past
 * limit units (characters of UTF-8 when chars, else bytes) from b's
 * from, the text ends after the first of seps (tried in turn) found
 * within 1,024 units more, else right there
 */
static void scan_cut(struct buf *b, size_t from, size_t limit, const char *seps, bool chars)
{
	const char *p = b->data + from, *e = b->data + b->len;
	if ((size_t)(e - p) <= limit)
		return;	/* not even that many bytes */
	const char *at = p;	/* the limit-th unit */
	for (size_t n = 0; at < e && n < limit; at++)
		n += !chars || ((unsigned char)*at & 0xC0) != 0x80;
	while (chars && at < e && ((unsigned char)*at & 0xC0) == 0x80)
		at++;
	if (at >= e)
		return;
	const char *cut = at;
	for (const char *s = seps; *s && cut == at; s++) {
		size_t n = 0;
		for (const char *q = at; q < e && n <= 1024; q++) {
			if (*q == *s) {
				cut = q + 1;
				break;
			}
			n += !chars || ((unsigned char)*q & 0xC0) != 0x80;
		}
	}
	b->len = (size_t)(cut - b->data);
	b->data[b->len] = '\0';
}

/* text_part - one text/plain or text/html part into the views; raw is
 * its content as in the message (NULL: not in memory) */
static void text_part(struct walk *w, GMimeObject *o, GMimeDataWrapper *dw, bool html,
		      const char *raw, size_t raw_len)
{
	GMimeStream *mem = NULL;

	end_part(&w->raw);
	size_t raw_from = w->raw.len;
	char *qp = NULL;
	if (raw != NULL && g_mime_data_wrapper_get_encoding(dw) == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE &&
	    qp_padded(raw, raw_len)) {
		qp = qp_decode(raw, raw_len, &raw_len);
		raw = qp;
	} else if (raw == NULL || !identity(g_mime_data_wrapper_get_encoding(dw))) {
		/* transfer decoding; an identity encoding's content is
		 * read where it is, without a copy through GMime's streams */
		mem = g_mime_stream_mem_new();
		g_mime_data_wrapper_write_to_stream(dw, mem);
		GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
		raw = ba ? (const char *)ba->data : NULL;
		raw_len = ba ? ba->len : 0;
	}
	/* rawbody rules read the part's bytes as decoded, in its own
	 * charset (SpamAssassin's decode()); the text rendered for body
	 * rules is UTF-8 (its rendered()), converted apart when the bytes
	 * are not UTF-8 already */
	const char *cs = g_mime_object_get_content_type_parameter(o, "charset");
	bool as_is = raw == NULL || raw_len == 0 ||
		     ((cs == NULL || plain_label(cs)) && utf8_valid(raw, raw_len));
	if (raw != NULL && raw_len > 0)
		buf_append(&w->raw, raw, raw_len);
	buf_reset(&w->conv);
	if (!as_is)
		to_utf8(w, cs, raw, raw_len, &w->conv);
	if (mem != NULL)
		g_object_unref(mem);
	free(qp);
	clean_tail(&w->raw, raw_from);
	if (!as_is)
		clean_tail(&w->conv, 0);
	if (w->raw.len == raw_from)
		return;
	const char *u = as_is ? w->raw.data + raw_from : w->conv.data ? w->conv.data : "";
	size_t un = as_is ? w->raw.len - raw_from : w->conv.len;
	end_part(&w->text);
	size_t from = w->text.len;
	if (html) {
		/* no_stats: the same text, hidden text and URIs, rendered
		 * without the statistics (html_render takes NULL) */
		struct html_stats spare = { 0 };
		struct html_stats *st = w->no_stats ? NULL : &spare;
		if (st && w->nhtml < MIME_MAX_HTML_PARTS) {	/* grown per part: most mail has one */
			w->html = xrealloc(w->html, (w->nhtml + 1) * sizeof(*w->html));
			st = &w->html[w->nhtml++];
			memset(st, 0, sizeof(*st));
			st->arena = w->arena;	/* spare's are freed part by part */
		}
		buf_reset(&w->hidden);
		html_render(u, un, &w->text, &w->hidden, &w->uris, st);
		uri_scan_text(&w->uris, w->hidden.data, w->hidden.len);
		if (st) {
			bool img = html_stats_inside(st, "img") >= 0;
			mime_stats_text(&w->stats, true, w->text.data + from, w->text.len - from,
					img);
			mime_stats_text(&w->stats, true, w->hidden.data, w->hidden.len, img);
		}
		html_stats_free(&spare);
	} else {
		buf_append(&w->text, u, un);
		if (!w->no_stats)
			mime_stats_text(&w->stats, false, w->text.data + from, w->text.len - from,
					false);
	}
	/* what body rules and the text's URIs see of a long part */
	scan_cut(&w->text, from, MIME_BODY_PART_SCAN, "\n ", true);
	scan_cut(&w->raw, raw_from, MIME_RAWBODY_PART_SCAN, "\n> ", false);
	uri_scan_text(&w->uris, w->text.data + from, w->text.len - from);
}

/* text_kind - how the walk reads a part: 0 not as text, 1 text/plain,
 * 2 HTML */
static int text_kind(GMimePart *part)
{
	GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(part));

	if (ct == NULL)
		return 0;
	/* a part named *.html, *.htm or *.shtml is HTML whatever its type,
	 * as SpamAssassin renders it (Message/Node.pm effective_type) */
	const char *fn = g_mime_part_get_filename(part);
	size_t fl = fn ? strlen(fn) : 0;
	bool named = (fl > 4 && strcasecmp(fn + fl - 4, ".htm") == 0) ||
		     (fl > 5 && strcasecmp(fn + fl - 5, ".html") == 0) ||
		     (fl > 6 && strcasecmp(fn + fl - 6, ".shtml") == 0);
	if (named || g_mime_content_type_is_type(ct, "text", "html"))
		return 2;
	return g_mime_content_type_is_type(ct, "text", "plain") ? 1 : 0;
}

/* skip_at - the content left out whose stand-in starts at offset at of
 * GMime's input, or NULL */
static struct mime_skip *skip_at(struct walk *w, size_t at)
{
	size_t lo = 0, hi = w->nskips;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (w->skips[mid].in_at == at)
			return &w->skips[mid];
		if (w->skips[mid].in_at < at)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* image - an image leaf as ImageInfo reads it: its content enc[0, n)
 * (base64) decoded up to MIME_IMG_DECODE bytes for its size */
static void image(struct walk *w, int type, const char *enc, size_t n)
{
	unsigned char *out = xmalloc(MIME_IMG_DECODE + 4096);
	size_t got = 0;
	int state = 0;
	guint32 save = 0;

	/* a step of k bytes gives at most 3k/4 + 3 bytes: the last one
	 * may pass MIME_IMG_DECODE by less than 4096 */
	for (size_t at = 0; at < n && got < MIME_IMG_DECODE;) {
		size_t step = n - at < 4096 ? n - at : 4096;
		got += g_mime_encoding_base64_decode_step((const unsigned char *)enc + at, step,
							  out + got, &state, &save);
		at += step;
	}
	mime_stats_image(w->stats.s, type, out, got < MIME_IMG_DECODE ? got : MIME_IMG_DECODE);
	free(out);
}

/* leaf - a part with content */
static void leaf(struct walk *w, GMimePart *part, bool top)
{
	GMimeObject *o = GMIME_OBJECT(part);
	GMimeDataWrapper *dw = g_mime_part_get_content(part);
	const char *ctype = g_mime_object_get_header(o, "Content-Type");
	const char *cte = g_mime_object_get_header(o, "Content-Transfer-Encoding");
	const char *cd = g_mime_object_get_header(o, "Content-Disposition");

	const char *raw = NULL;
	size_t raw_len = 0, at = 0;
	if (dw)
		encoded(dw, &raw, &raw_len, &at);
	int kind = dw ? text_kind(part) : 0;
	bool b64 = dw && g_mime_data_wrapper_get_encoding(dw) == GMIME_CONTENT_ENCODING_BASE64;
	struct mime_skip *sk = raw ? skip_at(w, at) : NULL;
	int img = dw ? mime_stats_image_type(ctype, cte) : -1;
	if (img >= 0 && sk != NULL && w->body != NULL)
		image(w, img, w->body + sk->from, sk->to - sk->from);
	else if (img >= 0)
		image(w, img, raw ? raw : "", raw_len);
	if (sk != NULL) {
		/* a content left out (mime_skip.h): its summary stands for
		 * it, if this part is exactly its stand-in and not read as
		 * text; else the message is parsed again, whole */
		if (raw_len != sk->in_len || kind != 0 ||
		    mime_stats_leaf_summary(&w->stats, top, ctype, cte, cd, sk->len, sk->max_line) < 0) {
			w->redo = w->stop = true;
			return;
		}
		sk->matched = true;
		if (b64 && sk->b64)
			set_broken(w, sk->b64);
		return;
	}
	mime_stats_node(&w->stats, top, ctype, cte, cd, true, raw, raw_len);
	if (b64)
		check_base64(w, raw, raw_len);
	if (kind)
		text_part(w, o, dw, kind == 2, raw, raw_len);
}

/* part_fields - the header fields of a part below the top, for
 * mimeheader rules (mime_views.fields): each as its name, its value as
 * received and its value unfolded and decoded, each NUL-terminated;
 * an empty name ends the part */
static void part_fields(struct walk *w, GMimeObject *o)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(o);
	int n = hl ? g_mime_header_list_get_count(hl) : 0;

	/* the top of an attached message: that message's fields first (its
	 * own part has only the Content- ones), as SpamAssassin's node for
	 * it holds them all */
	if (w->inner != NULL) {
		GMimeObject *msg = w->inner;
		w->inner = NULL;
		part_fields(w, msg);
		w->fields.len--;	/* the same part goes on */
	}
	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		const char *name = h ? g_mime_header_get_name(h) : NULL;
		if (name == NULL || *name == '\0')
			continue;
		const char *raw = g_mime_header_get_raw_value(h), *val = g_mime_header_get_value(h);
		buf_puts(&w->fields, name);
		buf_putc(&w->fields, '\0');
		buf_puts(&w->fields, raw ? raw : "");	/* trimmed as read (match_mime) */
		buf_putc(&w->fields, '\0');
		buf_puts(&w->fields, val ? val : "");
		buf_putc(&w->fields, '\0');
	}
	buf_putc(&w->fields, '\0');
}

/* walk - depth-first over the tree, in message order */
static void walk(struct walk *w, GMimeObject *o, int depth)
{
	if (o == NULL || w->stop)
		return;
	if (++w->parts > MIME_MAX_PARTS) {
		set_broken(w, "more than 500 MIME parts");
		w->stop = true;
		return;
	}
	if (depth > MIME_MAX_DEPTH) {
		set_broken(w, "MIME nesting deeper than 20");
		return;
	}
	bool top = w->parts == 1;
	if (!w->no_stats && !top)
		part_fields(w, o);
	if (GMIME_IS_PART(o)) {
		leaf(w, GMIME_PART(o), top);
		return;
	}
	/* a container: SpamAssassin's statistics count it too */
	bool alt = mime_stats_node(&w->stats, top, g_mime_object_get_header(o, "Content-Type"),
				   g_mime_object_get_header(o, "Content-Transfer-Encoding"),
				   g_mime_object_get_header(o, "Content-Disposition"), false, NULL, 0);
	if (GMIME_IS_MULTIPART(o)) {
		GMimeMultipart *mp = GMIME_MULTIPART(o);
		int n = g_mime_multipart_get_count(mp);
		/* not g_mime_multipart_get_boundary(): without a boundary it
		 * makes one up and writes the Content-Type again, and Debian
		 * 12's GMime 3.2.13 loops for ever writing a parameter whose
		 * name is ~72 bytes and whose value needs RFC 2231 (GMime
		 * issue 165, fixed in 3.2.15) */
		const char *bd = g_mime_object_get_content_type_parameter(o, "boundary");
		if (bd && w->nbounds < MIME_STATS_MAX_BOUNDARIES)
			w->bounds[w->nbounds++] = xstrdup(bd);
		for (int i = 0; i < n && !w->stop; i++)
			walk(w, g_mime_multipart_get_part(mp, i), depth + 1);
	} else if (GMIME_IS_MESSAGE_PART(o)) {
		/* an attached message: its text is text the reader sees */
		GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
		if (m != NULL) {
			w->inner = GMIME_OBJECT(m);
			walk(w, g_mime_message_get_mime_part(m), depth + 1);
			w->inner = NULL;
		}
	}
	if (alt)
		mime_stats_alt_end(&w->stats);
}

/* ---------------------------------------------------------------- views */

/* subject_of - the first Subject field, decoded */
static const char *subject_of(const struct header *hdrs, size_t nhdrs)
{
	for (size_t i = 0; i < nhdrs; i++)
		if (strcasecmp(hdrs[i].name, "Subject") == 0)
			return hdrs[i].decoded ? hdrs[i].decoded : hdrs[i].value;
	return NULL;
}

/* walk_begin - a fresh walk into stats, the Subject line first;
 * returns where the parts' text starts */
static size_t walk_begin(struct walk *w, struct mime_stats *stats, const struct header *hdrs,
			 size_t nhdrs, size_t body_len)
{
	/* the views of most mail are about the body's size: made that
	 * large at once (up to WALK_RESERVE_MAX) rather than grown by
	 * doubling, which copies them a dozen times */
	size_t want = (body_len < WALK_RESERVE_MAX ? body_len : WALK_RESERVE_MAX) + 256;

	mime_stats_begin(&w->stats, stats);
	buf_init(&w->text);
	buf_init(&w->raw);
	buf_reserve(&w->text, want);
	buf_reserve(&w->raw, want);
	buf_reset(&w->text);	/* "" (buf_reserve leaves the bytes unset) */
	buf_reset(&w->raw);
	buf_init(&w->hidden);
	buf_init(&w->conv);
	buf_init(&w->fields);
	uri_set_init_in(&w->uris, w->arena);
	const char *subj = subject_of(hdrs, nhdrs);
	if (subj)
		put_clean(&w->text, subj, strlen(subj));
	buf_putc(&w->text, '\n');
	return w->text.len;
}

/* walk_discard - drop what a walk built, for a walk again (the fields
 * outside those walk_begin sets are reset: the contents left out stay) */
static void walk_discard(struct walk *w)
{
	buf_free(&w->text);
	buf_free(&w->raw);
	buf_free(&w->hidden);
	buf_free(&w->conv);
	uri_set_free(&w->uris);
	for (size_t i = 0; i < w->nhtml; i++)
		html_stats_free(&w->html[i]);
	free(w->html);
	mime_stats_end(&w->stats);
	mime_stats_free(w->stats.s);	/* the log of alternatives: walked again */
	for (size_t i = 0; i < w->nbounds; i++)
		free(w->bounds[i]);
	buf_free(&w->fields);
	*w = (struct walk){ .truncated = w->truncated, .skips = w->skips, .nskips = w->nskips,
			    .parsed = w->parsed, .arena = w->arena, .no_stats = w->no_stats };
}

/* parse - GMime over the fields and body (with stand-ins for w's
 * contents left out), its tree walked into w; w->redo if a content left
 * out does not fit the tree */
static void parse(struct walk *w, const struct header *hdrs, size_t nhdrs, const char *body,
		  size_t body_len)
{
	struct buf input;
	bool quiet;

	w->body = body;
	buf_init(&input);
	input_text(hdrs, nhdrs, body, body_len, w->skips, w->nskips, &input);
	guard(w, &input, &quiet);
	size_t in_len = input.len;

	gmime_enter();
	/* g_malloc is malloc since GLib 2.46, so GLib may take and free it */
	GByteArray *ba = g_byte_array_new_take((guint8 *)input.data, input.len);
	GMimeStream *in = g_mime_stream_mem_new_with_byte_array(ba);
	GMimeParser *parser = g_mime_parser_new_with_stream(in);
	GMimeParserOptions *opts = g_mime_parser_options_new();
	if (!quiet)	/* see guard */
		g_mime_parser_options_set_warning_callback(opts, on_warning, w);
	/* the top part alone, without a GMimeMessage around it: the input
	 * holds Content-* fields, which GMime's construct_message gives to
	 * the part anyway (gmime-parser.c 3.2, toplevel), and MIME-Version
	 * fields, which the part's header list now holds (on_warning: not
	 * a conflict); the message object with its address lists and
	 * header list cost about a tenth of the views' instructions to
	 * build and free */
	GMimeObject *top = g_mime_parser_construct_part(parser, opts);
	if (top != NULL) {
		walk(w, top, 1);
		g_object_unref(top);
	} else if (w->nskips == 0) {
		/* GMime gives up only on input with no header at all */
		set_broken(w, "message could not be parsed");
		put_clean(&w->text, body ? body : "", body_len);
		put_clean(&w->raw, body ? body : "", body_len);
	}
	g_object_unref(parser);
	g_object_unref(in);
	/* after the tree: header lists keep a pointer to opts */
	g_mime_parser_options_free(opts);
	gmime_leave(in_len);
	w->parsed += in_len;
	for (size_t i = 0; i < w->nskips; i++)
		if (!w->skips[i].matched)
			w->redo = true;
}

/*
 * mime_views_build - see mime.h.
 *
 * The contents mime_skip_find finds are not handed to GMime: each is
 * replaced by a stand-in, and the part of GMime's tree whose content is
 * exactly a stand-in is counted from the content's summary.  GMime's
 * tree is the same as for the whole message (gmime-parser.c 3.2): a
 * content is read line by line until a line that starts with "--" (the
 * only ones check_boundary looks at, outside mbox formats), and neither
 * the content nor its stand-in has one, nor a line GMime waits on
 * (longer than 128 bytes: parser_fill then shifts its 4 KB steps), and
 * the stand-in is as long as the content modulo 4 KB, so what follows
 * is read in the same steps; guard's counts do not change (no ':').
 * The check of the tree (every stand-in is exactly the content of one
 * part, not read as text) catches what the pre-scan read otherwise than
 * GMime; the message is then parsed again, whole.
 */
void mime_views_build(struct mime_views *v, const struct header *hdrs, size_t nhdrs,
		      const char *body, size_t body_len, bool truncated)
{
	mime_views_build_skip(v, hdrs, nhdrs, body, body_len, truncated, MIME_SKIP_MIN);
}

/* mime_views_build_skip - see mime.h */
void mime_views_build_skip(struct mime_views *v, const struct header *hdrs, size_t nhdrs,
			   const char *body, size_t body_len, bool truncated, size_t skip_min)
{
	bool no_stats = v->no_stats;
	struct walk w = { .truncated = truncated, .arena = &v->arena, .no_stats = no_stats };

	mime_views_free(v);
	v->no_stats = no_stats;
	arena_init(&v->arena, MIME_ARENA_LIMIT);
	if (skip_min != SIZE_MAX)
		w.nskips = mime_skip_find(hdrs, nhdrs, body, body_len, truncated, skip_min,
					  &w.skips);
	size_t text_from = walk_begin(&w, &v->stats, hdrs, nhdrs, body_len);	/* sa_paragraphs */
	parse(&w, hdrs, nhdrs, body, body_len);
	if (w.redo) {
		struct mime_skip *sk = w.skips;
		size_t nsk = w.nskips;
		w.nskips = 0;
		walk_discard(&w);
		text_from = walk_begin(&w, &v->stats, hdrs, nhdrs, body_len);
		parse(&w, hdrs, nhdrs, body, body_len);
		w.skips = sk;
		w.nskips = nsk;
	}

	sa_paragraphs(&w.text, text_from);
	/* no line of a content left out can be a boundary */
	struct mime_span *spans = w.nskips ? xcalloc(w.nskips, sizeof(*spans)) : NULL;
	for (size_t i = 0; i < w.nskips; i++)
		spans[i] = (struct mime_span){ w.skips[i].from, w.skips[i].to };
	mime_stats_flags(&v->stats, body, body_len, (const char *const *)w.bounds, w.nbounds,
			 spans, w.nskips);
	free(spans);
	free(w.skips);
	for (size_t i = 0; i < w.nbounds; i++)
		free(w.bounds[i]);
	v->text = w.text.data ? w.text.data : xstrdup("");
	v->text_len = w.text.len;
	v->raw = w.raw.data ? w.raw.data : xstrdup("");
	v->raw_len = w.raw.len;
	v->uris_capped = w.uris.capped;
	v->uris = uri_set_take(&w.uris, &v->nuris);
	v->broken = w.broken;
	v->parsed = w.parsed;
	mime_stats_end(&w.stats);
	v->html = w.html;
	v->nhtml = w.nhtml;
	v->fields = w.fields.data;
	v->fields_len = w.fields.len;
	v->built = true;
	buf_free(&w.hidden);
	buf_free(&w.conv);
}

/* mime_views_free - see mime.h */
void mime_views_free(struct mime_views *v)
{
	free(v->text);
	free(v->raw);
	/* the URIs and their list are in the arena */
	for (size_t i = 0; i < v->nhtml; i++)
		html_stats_free(&v->html[i]);
	free(v->html);
	free(v->fields);
	mime_stats_free(&v->stats);
	arena_free(&v->arena);
	memset(v, 0, sizeof(*v));
}
