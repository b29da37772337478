/*
 * message.h - the message model: envelope, header fields and the first
 * max_scan_bytes of the body, as the MTA handed them over.  Owned by one
 * scan, used by one thread at a time.  Derived views (trimmed and decoded
 * values, the MIME-decoded body text, rawbody text and URIs) are built
 * lazily and cached on the message; header rules never trigger the MIME
 * parse (mime.c).
 *
 * Caps (STYLE rule 7): MSG_MAX_HEADERS fields and MSG_MAX_HEADER_BYTES per
 * value are kept; a longer value is cut and msg->broken says why, which
 * the pipeline turns into MIME_BROKEN.  Past MSG_MAX_HEADERS fields only
 * the key fields (msg_key_field: From, Authentication-Results, X-Spam-*)
 * are still kept, up to MSG_MAX_KEY_HEADERS more, because the checks that
 * cannot be fooled by padding need every one of them: DMARC must see every
 * From (RFC 7489 §6.6.1) and removing a forged field needs its index among
 * the fields of its name (issue 12).  hdrs_dropped counts the other fields
 * left out (HEADERS_TRUNCATED); keys_lost is set when a key field had to
 * be dropped too, and such a message cannot be checked (verdict.c refuses
 * it).
 *
 * A message of a client that is not scanned (trusted, authenticated) sets
 * keys_only before its first field: only key fields are kept, so forged
 * ones can still be removed without building the rest of the model.
 */
#ifndef PARAPET_MESSAGE_H
#define PARAPET_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/mime.h"
#include "base/arena.h"
#include "base/util.h"

#define MSG_MAX_HEADERS 1000
#define MSG_MAX_KEY_HEADERS 200	/* key fields kept past MSG_MAX_HEADERS */
#define MSG_MAX_HEADER_BYTES (64 * 1024)
#define MSG_MAX_RCPTS 1000
/* the arena's backstop: far above what the caps above let in */
#define MSG_ARENA_LIMIT ((size_t)1 << 30)

struct header {
	char *name;
	char *raw;		/* value exactly as received, after the colon */
	char *value;		/* unfolded, CR/LF removed, trimmed */
	char *decoded;		/* value with RFC 2047 words and 8-bit text as
				 * UTF-8; == value when nothing to decode (set
				 * at msg_end_headers) */
	int index;		/* 1-based among fields of the same name */
	int first_same;		/* position of the first field of this name */
	int next_same;		/* position of the next one, or -1 */
};

struct msg {
	/* the envelope strings, the fields (name, raw, value, decoded) and
	 * the field index live here, released at once by msg_free */
	struct arena arena;

	/* connection and envelope (copied from the session) */
	char *client_ip;
	char *client_name;
	char *helo;
	char *mail_from;	/* angle brackets removed; "" for <> */
	char **rcpts;
	size_t nrcpts;
	size_t rcpts_seen;	/* including those over the cap */
	char *qid;

	struct header *hdrs;
	size_t nhdrs;
	size_t hdrs_cap;
	size_t hdrs_seen;	/* including dropped ones */
	size_t hdrs_dropped;	/* fields left out by the caps */
	bool keys_only;		/* keep key fields only (not scanned) */
	bool keys_lost;		/* a key field was dropped: unchecked */
	unsigned *name_slots;	/* hash index: 1 + position of the latest
				 * field of each name, 0 = empty (message.c) */

	struct buf body;	/* first max_body bytes, CRLF as received */
	size_t body_total;	/* every body byte seen */
	size_t max_body;
	bool truncated;

	const char *broken;	/* first structural problem seen, or NULL */
	const char *uris_capped;	/* why msg_uris is incomplete, or NULL;
					 * valid once a MIME view was built */

	/* lazy views */
	struct mime_views mime;	/* body, rawbody, URIs (msg_decode) */
	char *full_text;
	size_t full_text_len;
	struct relays *relays;	/* msg_relays */
	struct mime_views *stats_views;	/* msg_no_stats: built if asked */
	struct msg_addrs *addrs;	/* auth_msg_addr_list's results */
	size_t naddrs;
	size_t *uri_lens;	/* msg_uri_lens (the URIs are built once) */
};

struct msg *msg_new(size_t max_body);
struct msg *msg_free(struct msg *m);

void msg_set_client(struct msg *m, const char *ip, const char *name,
		    const char *helo);
void msg_set_from(struct msg *m, const char *from);
void msg_add_rcpt(struct msg *m, const char *rcpt);
void msg_set_qid(struct msg *m, const char *qid);
/* msg_key_field - the canonical spelling of name if it is a key field
 * (kept past MSG_MAX_HEADERS, and when keys_only), else NULL; static */
const char *msg_key_field(const char *name);
/* msg_add_header - value is raw, everything after the colon */
void msg_add_header(struct msg *m, const char *name, const char *raw);
void msg_add_body(struct msg *m, const void *data, size_t len);
/* msg_end_headers - end of header section: structural checks */
void msg_end_headers(struct msg *m);

/* msg_header - n-th (0-based) field called name, or NULL; borrowed */
const struct header *msg_header(const struct msg *m, const char *name, size_t n);
/* msg_header_count - number of fields called name */
size_t msg_header_count(const struct msg *m, const char *name);
/* msg_header_first - position in m->hdrs of the first field called name
 * (without ASCII case), or -1; the others follow through next_same, in
 * order.  A hash lookup, not a walk over the fields. */
int msg_header_first(const struct msg *m, const char *name);

/*
 * msg_decode - parse the MIME structure now (once): builds the views
 * below and sets broken for MIME problems.  The view functions call it;
 * a stage that reports broken must call it first.
 */
void msg_decode(struct msg *m);
/*
 * msg_body_text - body rules: the decoded Subject line, then every
 * text/plain and text/html part transfer-decoded, in UTF-8, HTML as text,
 * as SpamAssassin's "body": a paragraph (text up to a blank line, or an
 * HTML p, hr, blockquote, pre ...) is one line, other white space one
 * space, lines cut at MIME_MAX_BODY_LINE bytes.  Body rules match each
 * line on its own (rules/match.c).  Borrowed.
 */
const char *msg_body_text(struct msg *m, size_t *len);
/* msg_rawbody_text - rawbody rules: the same parts transfer-decoded,
 * HTML tags kept, in each part's own charset (not converted to UTF-8),
 * no Subject (SpamAssassin's "rawbody").  Borrowed. */
const char *msg_rawbody_text(struct msg *m, size_t *len);
/* msg_uris - uri rules: every URI of the text and HTML parts, once each,
 * at most URI_MAX_COUNT (see uris_capped).  Array and strings borrowed. */
const char *const *msg_uris(struct msg *m, size_t *n);
/* msg_uri_lens - the length of each of msg_uris' URIs, counted once a
 * message (the uri rules read each URI's length per rule) */
const size_t *msg_uri_lens(struct msg *m);
/*
 * msg_no_stats - before the views are built: nothing will read the HTML
 * statistics or the alternatives' word comparison (madiff), so the
 * views leave them out (mime_views.no_stats: a fifth of a newsletter's
 * model).  If one is asked for all the same, msg_html_stats and
 * msg_mime_madiff build a second set of views with them, so the answer
 * is always the same; that costs a second parse.
 */
void msg_no_stats(struct msg *m, bool no);
/* msg_html_stats - SpamAssassin's statistics of each text/html part, in
 * order (at most MIME_MAX_HTML_PARTS); borrowed */
const struct html_stats *msg_html_stats(struct msg *m, size_t *n);
/* msg_part_fields - the header fields of every MIME part below the top,
 * in tree order (mime_views.fields: name, value as received, value
 * decoded, each NUL-terminated, an empty name after each part's); NULL
 * and 0 when there are none.  Borrowed */
const char *msg_part_fields(struct msg *m, size_t *len);
/* msg_mime_stats - SpamAssassin's MIME statistics; borrowed */
const struct mime_stats *msg_mime_stats(struct msg *m);
/* msg_mime_madiff - the same with madiff, madiff_html and madiff_text
 * computed (the word comparison of multipart/alternative parts, done at
 * the first call); borrowed */
const struct mime_stats *msg_mime_madiff(struct msg *m);
/* msg_full_text - headers and body as one LF text; borrowed */
const char *msg_full_text(struct msg *m, size_t *len);

struct relays;
struct relay_nets;
/*
 * msg_relays - the Received fields (and SpamAssassin's originating IP
 * fields) parsed into relays and split by nets (mail/received.h), built
 * on first use; later calls return the same view whatever nets they
 * pass (one rule set per message).  Borrowed.
 */
const struct relays *msg_relays(struct msg *m, const struct relay_nets *nets);

/* msg_strip_brackets - "<a@b>" -> "a@b" in fresh memory */
char *msg_strip_brackets(const char *addr);

#endif
