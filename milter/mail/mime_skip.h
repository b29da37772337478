/*
 * mime_skip.h - the binary parts GMime need not read (issue 17).  A
 * base64 part of type application, image, audio or video is only
 * counted by the views (mime_stats.h) and checked for its alphabet; its
 * content costs GMime a pass and a copy.  mime_skip_find finds such
 * contents in the body as received, in one pass each, and summarizes
 * them (length, longest line, the base64 check's verdict), so that
 * mime.c hands GMime a short stand-in instead (see mime.c: why the
 * parse stays the same, and how it is checked).
 *
 * Caps (STYLE rule 7): at most MIME_SKIP_MAX contents, of at least
 * MIME_SKIP_MIN bytes, inside MIME_SKIP_MAX_DEPTH nested multiparts; a
 * part header's Content-Type, Content-Transfer-Encoding or
 * Content-Disposition longer than MIME_SKIP_FIELD is not read (its part
 * is handed over as it is).
 */
#ifndef PARAPET_MIME_SKIP_H
#define PARAPET_MIME_SKIP_H

#include <stdbool.h>
#include <stddef.h>

#define MIME_SKIP_MIN 8192	/* smaller contents are handed over as they are */
#define MIME_SKIP_MAX 512
#define MIME_SKIP_MAX_DEPTH 16
#define MIME_SKIP_FIELD 1024
/* the longest line (without its line break) a skipped content may have:
 * GMime reads in steps of 4 KB as long as no line it waits for is longer
 * than 128 bytes (gmime-parser.c parser_fill), see mime.c */
#define MIME_SKIP_MAX_LINE 127

/* one content left out of GMime's input */
struct mime_skip {
	size_t from, to;	/* the content in the body: [from, to), up to
				 * the line break before the next "--" line */
	size_t len;		/* its length with CRLF as LF (as GMime sees it) */
	size_t max_line;	/* its longest line, LF included, LF form */
	const char *b64;	/* the base64 check's verdict (static), or NULL */
	/* mime.c's: where the stand-in is in GMime's input, and whether a
	 * part of GMime's tree has exactly it as its content */
	size_t in_at, in_len;
	bool matched;
};

struct header;

/*
 * mime_skip_find - the contents of base64 binary parts in body (as
 * received; truncated: cut at max_scan_bytes) that may be left out: no
 * line of one starts with "--" or holds a ':', and none is longer than
 * MIME_SKIP_MAX_LINE, and none shorter than min bytes (MIME_SKIP_MIN;
 * the tests take less); none whose type or disposition names a file
 * *.htm, *.html or *.shtml (mime.c reads such a part as HTML).  hdrs:
 * the message's fields (Content-Type, Content-Transfer-Encoding,
 * Content-Disposition).  Returns how many; *out is malloc'd (NULL
 * for none), in body order.  Linear in len.
 */
size_t mime_skip_find(const struct header *hdrs, size_t nhdrs, const char *body, size_t len,
		      bool truncated, size_t min, struct mime_skip **out);

/* the base64 check of a content (RFC 2045 §6.8), fed in pieces */
struct mime_b64 {
	size_t data, pad;	/* alphabet bytes, '=' */
	const char *bad;	/* the first problem (static), or NULL */
};

/* mime_b64_feed - n more bytes of the content (CR, LF, SP and HTAB are
 * skipped; a byte of the alphabet after '=' and a byte outside it are
 * problems) */
void mime_b64_feed(struct mime_b64 *b, const unsigned char *p, size_t n);
/* mime_b64_verdict - the check's result at the end of the content
 * (truncated: it may end anywhere): NULL or a static reason */
const char *mime_b64_verdict(const struct mime_b64 *b, bool truncated);

/* mime_boundary_of - the boundary parameter of a multipart Content-Type
 * value, in fresh memory; NULL if none or longer than 70 bytes (RFC 2046
 * §5.1.1) */
char *mime_boundary_of(const char *ct);

#endif
