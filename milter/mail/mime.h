/*
 * mime.h - the decoded message (issue 4): what body, rawbody and uri
 * rules read, built by parsing the message with GMime.  mime.c is the
 * only file that includes GMime; the rest of parapet sees these types.
 *
 * Caps (STYLE rule 7): MIME_MAX_DEPTH levels of nesting and
 * MIME_MAX_PARTS parts are decoded; past them the rest is skipped and
 * the views' broken reason says so.  What costs GMime more than the size
 * of its input is capped before GMime parses (mime.c guard): parameters
 * of one Content-Type or Content-Disposition field, multipart parts, the
 * nesting of address groups; past a cap the message is MIME_BROKEN.  URI
 * caps are in uri.h.
 */
#ifndef PARAPET_MIME_H
#define PARAPET_MIME_H

#include <stdbool.h>
#include <stddef.h>

#define MIME_MAX_DEPTH 20
#define MIME_MAX_PARTS 500
/* ';' in one Content-Type or Content-Disposition field (RFC 2231
 * continuations of a long file name need a dozen) */
#define MIME_MAX_PARAMS 64
/* Content-Type fields naming multipart; more are read as text/plain */
#define MIME_MAX_MULTIPARTS 100
/* "name:" groups open at once in an address field (RFC 5322 §3.4 allows
 * one; GMime recurses for each) */
#define MIME_MAX_GROUP_DEPTH 32

/* HTML parts whose statistics are kept (html_stats.h) */
#define MIME_MAX_HTML_PARTS 16
#define MIME_MAX_BODY_LINE 2048	/* body text lines are cut there, as SpamAssassin's */
/* a part's text for body rules ends after this many characters, its
 * decoded text for rawbody rules after this many bytes (each at the next
 * line break or space within 1,024): SpamAssassin's body_part_scan_size
 * and rawbody_part_scan_size, at their defaults */
#define MIME_BODY_PART_SCAN 50000
#define MIME_RAWBODY_PART_SCAN 500000

#include "mail/mime_stats.h"
#include "base/arena.h"

/* the views' arena's backstop: far above what the caps let in */
#define MIME_ARENA_LIMIT ((size_t)1 << 30)

struct header;
struct html_stats;


/* the views of one message; everything owned */
struct mime_views {
	bool built;
	/* set before building, kept by it: no HTML statistics (html stays
	 * empty) and no text in the alternatives' log (the word counts of
	 * mime_stats_madiff), for a message no rule asks them of; the rest
	 * of stats, the texts and the URIs are the same either way */
	bool no_stats;
	char *text;		/* body: Subject line, then text/html parts as text */
	size_t text_len;
	char *raw;		/* rawbody: text parts decoded, HTML tags kept */
	size_t raw_len;
	char **uris;		/* NULL-terminated, deduplicated */
	size_t nuris;
	const char *uris_capped;	/* static: why uris is incomplete, or NULL */
	const char *broken;	/* static: first structural problem, or NULL */
	struct html_stats *html;	/* per text/html part, in order */
	size_t nhtml;
	struct mime_stats stats;
	/* unless no_stats: the header fields of each part below the top, in
	 * the walk's order (mime.c part_fields), for mimeheader rules */
	char *fields;
	size_t fields_len;
	size_t parsed;		/* bytes GMime read (binary parts' contents
				 * are left out: mime_skip.h) */
	/* the URI strings and list and the HTML statistics' strings live
	 * here, released at once by mime_views_free (at msg_free for a
	 * message's views) */
	struct arena arena;
};

/*
 * mime_views_build - parse the header fields and body (as received, CRLF
 * or LF line ends) and fill v.  truncated: the body was cut at
 * max_scan_bytes, so a missing closing boundary is expected and not
 * reported.  Subject comes from the fields' decoded values (see
 * mime_decode_headers).  Thread-safe for different v.
 */
void mime_views_build(struct mime_views *v, const struct header *hdrs, size_t nhdrs,
		      const char *body, size_t body_len, bool truncated);
/* mime_views_build_skip - mime_views_build, leaving out of GMime's
 * input the binary parts' contents of skip_min bytes or more
 * (mime_skip.h; SIZE_MAX: none), for the tests that compare both ways */
void mime_views_build_skip(struct mime_views *v, const struct header *hdrs, size_t nhdrs,
			   const char *body, size_t body_len, bool truncated, size_t skip_min);
/* mime_views_free - release the views; v is left empty */
void mime_views_free(struct mime_views *v);

/*
 * mime_decode_headers - set each field's decoded value: RFC 2047 encoded
 * words and raw 8-bit text decoded to UTF-8 (RFC 2047 §6, 8-bit read as
 * UTF-8, else ISO-8859-1).  A field with nothing to decode keeps
 * decoded == value (shared, not a copy).  Copies are allocated in a (the
 * message's arena).
 */
void mime_decode_headers(struct arena *a, struct header *hdrs, size_t nhdrs);
/* mime_decode_text - one header text decoded the same way, in fresh
 * memory; NULL when there is nothing to decode */
char *mime_decode_text(const char *v);

/* mime_charset_resets - how often GMime's charset name cache was emptied
 * (see mime.c: it grows with every charset name GMime meets) */
unsigned long mime_charset_resets(void);

#endif
