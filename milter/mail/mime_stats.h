/*
 * mime_stats.h - SpamAssassin's MIME statistics of a message (its
 * Plugin/MIMEEval.pm _check_attachments and Plugin/BodyEval.pm
 * _multipart_alternative_difference), built from the parts mime.c's walk
 * hands over in tree order.  No GMime here: plain bytes in, numbers out.
 *
 * Content-Type is read as SpamAssassin reads it (Util.pm
 * parse_content_type): a missing one is "text/plain; charset=us-ascii";
 * text/anything but html, calendar and x-vcard is text/plain.
 *
 * Caps (STYLE rule 7): MIME_STATS_MAX_WORDS distinct words per side of
 * one multipart/alternative are counted (more are ignored);
 * MIME_STATS_MAX_ALT alternatives are open at once (deeper ones are not
 * compared).
 */
#ifndef PARAPET_MIME_STATS_H
#define PARAPET_MIME_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

#define MIME_STATS_MAX_WORDS 65536
#define MIME_STATS_MAX_ALT 8

/* the image types ImageInfo reads */
enum { MIME_IMG_GIF, MIME_IMG_PNG, MIME_IMG_JPEG, MIME_IMG_TYPES };
#define MIME_IMG_SIZES 16
/* the decoded bytes of an image read for its size at most: a JPEG's
 * frame header may follow its metadata (SpamAssassin decodes it all) */
#define MIME_IMG_DECODE 65536

struct mime_stats {
	bool ctype_html;	/* the top Content-Type starts with text/html */
	unsigned html_count;	/* text/html parts */
	unsigned text_count;	/* other text parts */
	bool alternative;	/* a multipart/alternative was seen */
	double multipart_ratio;	/* text/plain bytes / text/html bytes of the
				 * last alternative pair; 1.0 if none */
	size_t base64_max_line;	/* longest line of a base64 leaf, with LF */
	unsigned ascii_text_illegal;	/* lines with NUL, CR or 8-bit bytes in
					 * text/plain leaves labelled us-ascii */
	double madiff;		/* % of HTML words missing from the text
				 * alternative, the largest of all alternatives */
	unsigned madiff_html, madiff_text;	/* distinct words of the last one */
	/* the three madiff fields are computed on demand (mime_stats_madiff)
	 * from alt_log: the alternatives' opening, text and end, as the walk
	 * handed them over (most rule sets never ask) */
	char *alt_log;
	size_t alt_log_len;
	/* MIMEEval's _check_mime_header and _check_attachments, over every
	 * node (containers too): the names are check_for_mime's arguments */
	unsigned base64_count;		/* mime_base64_count */
	unsigned qp_count;		/* QP nodes; mime_qp_count is qp_needless
					 * when qp_bytes > 0, as SpamAssassin
					 * overwrites it */
	size_t qp_bytes, qp_needless;	/* QP leaves' bytes, needless escapes */
	unsigned attachment;		/* mime_attachment */
	bool base64_encoded_text;	/* mime_base64_encoded_text */
	bool bad_iso_charset;		/* mime_bad_iso_charset */
	bool qp_long_line;		/* mime_qp_long_line */
	/* ImageInfo's view of the leaves of type image/gif, image/png and
	 * image/jpeg (or jpg) with base64 content: how many of each, their
	 * pixels (width times height, where the image's header gives both)
	 * and their sizes (at most MIME_IMG_SIZES distinct ones are kept) */
	unsigned img_count[MIME_IMG_TYPES];
	double img_pixels[MIME_IMG_TYPES];
	struct mime_img_size {
		uint32_t height, width;
		unsigned char type;	/* MIME_IMG_* */
	} img_size[MIME_IMG_SIZES];
	size_t img_nsizes;
	/* Message.pm's parse flags (check_msg_parse_flags), from the body
	 * as received (mime_stats_flags) */
	bool missing_mime_headers;	/* a line after a boundary is no field */
	bool epilogue_exists;		/* text after a closing boundary */
};

/* the state of one message's walk */
struct mime_stats_builder {
	struct mime_stats *s;
	bool ratio_set;		/* multipart_ratio found (else 1.0) */
	unsigned long leaf;	/* leaves seen */
	unsigned long last_html, last_text;	/* 1 + leaf index of the last
						 * non-attachment ones */
	double html_bytes, text_bytes;
	size_t nalt;		/* open multipart/alternative nodes */
	struct buf alt_log;	/* becomes s->alt_log */
};

/* mime_stats_begin - start a message; s is zeroed and filled */
void mime_stats_begin(struct mime_stats_builder *b, struct mime_stats *s);
/*
 * mime_stats_node - one node of the tree in order (the top first):
 * its Content-Type, Content-Transfer-Encoding and Content-Disposition
 * values (NULL: absent); for a leaf its encoded content.  Returns true
 * when the node is a multipart/alternative whose text parts are compared
 * (the caller then calls mime_stats_alt_end after its children).
 */
bool mime_stats_node(struct mime_stats_builder *b, bool top, const char *ctype,
		     const char *cte, const char *cd, bool leaf, const char *raw, size_t raw_len);
/*
 * mime_stats_leaf_summary - a leaf as mime_stats_node(leaf = true) counts
 * it, from a summary of its encoded content instead of the bytes: len
 * bytes, the longest line max_line (LF included).  Returns -1, counting
 * nothing, for a leaf whose bytes it would read for more (SpamAssassin's
 * text/plain, quoted-printable).
 */
int mime_stats_leaf_summary(struct mime_stats_builder *b, bool top, const char *ctype,
			    const char *cte, const char *cd, size_t len, size_t max_line);
/* mime_stats_text - the rendered text of a text part (html: the visible
 * and hidden text, has_img: it has an <img>), for the open alternatives */
void mime_stats_text(struct mime_stats_builder *b, bool html, const char *text, size_t n,
		     bool has_img);
/* mime_stats_alt_end - a compared multipart/alternative ends */
void mime_stats_alt_end(struct mime_stats_builder *b);
/* mime_stats_end - finish: hand the alternatives' log to the statistics */
void mime_stats_end(struct mime_stats_builder *b);
/* mime_stats_madiff - compute madiff, madiff_html and madiff_text (once;
 * SpamAssassin's _multipart_alternative_difference) */
void mime_stats_madiff(struct mime_stats *s);
/* mime_stats_free - release what the statistics hold */
void mime_stats_free(struct mime_stats *s);

/*
 * mime_stats_flags - Message.pm's parse flags from the body as received:
 * boundaries (without "--", the multiparts' boundary parameters, at most
 * MIME_STATS_MAX_BOUNDARIES) mark parts; a line after an opening
 * boundary that is no header field sets missing_mime_headers, a line
 * with more than white space and dots after a closing boundary (before
 * the next boundary) sets epilogue_exists.  Linear in len times the
 * number of boundaries.  skip: nskip spans of the body in order, each
 * from a line start, whose lines cannot be boundaries (none starts with
 * "--"): passed over when no boundary line is waiting for them.
 */
#define MIME_STATS_MAX_BOUNDARIES 16
struct mime_span {
	size_t from, to;
};
void mime_stats_flags(struct mime_stats *s, const char *body, size_t len,
		      const char *const *boundaries, size_t n, const struct mime_span *skip,
		      size_t nskip);

/*
 * mime_stats_image_type - the MIME_IMG_* type of a leaf ImageInfo reads
 * (its type image/gif, image/png, image/jpeg or image/jpg, and its
 * Content-Transfer-Encoding base64), else -1
 */
int mime_stats_image_type(const char *ctype, const char *cte);
/*
 * mime_stats_image - one such leaf, data[0, n) the start of its decoded
 * content (MIME_IMG_DECODE bytes at most): counted, and its size read as
 * ImageInfo reads it (a GIF's logical screen, a PNG's IHDR, a JPEG's
 * first frame header before the scan)
 */
void mime_stats_image(struct mime_stats *s, int type, const unsigned char *data, size_t n);

/* mime_stats_type - SpamAssassin's MIME type of a Content-Type value into
 * out (lower case; NULL value: text/plain) */
void mime_stats_type(const char *ctype, char *out, size_t cap);

#endif
