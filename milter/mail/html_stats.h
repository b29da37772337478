/*
 * html_stats.h - SpamAssassin's statistics of one HTML part (its HTML.pm
 * "results"), collected by html_render while it tokenizes (one parser),
 * read by the HTMLEval-style tests of the rules layer (eval_html.c).
 *
 * The numbers follow SpamAssassin 4's HTML.pm and Message/Node.pm:
 * tags/elements counted per start and end tag, the balance of every tag
 * name ("inside"), image area from width/height, font sizes and colours
 * from a stack of text styles, obfuscation and "backhair" from adjacent
 * text runs, the comments, titles and anchor texts.
 *
 * Caps (STYLE rule 7): HTML_STATS_MAX_NAMES distinct tag names are
 * counted (later new names only count as tags); HTML_STATS_MAX_STRINGS
 * comments, titles and anchors of HTML_STATS_MAX_STRING bytes each are
 * kept; HTML_MAX_DEPTH text styles are stacked (deeper ones are not
 * pushed); attribute values are read up to HTML_STATS_MAX_ATTR bytes.
 */
#ifndef PARAPET_HTML_STATS_H
#define PARAPET_HTML_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;

#define HTML_STATS_MAX_NAMES 128
#define HTML_STATS_MAX_STRINGS 64
#define HTML_STATS_MAX_STRING 2048
#define HTML_STATS_MAX_ATTR 1024
#define HTML_STATS_NAME 16	/* tag names are compared cut to 15 bytes */

/* html_test flags (HTML.pm put_results names) */
enum {
	HTML_F_EMBEDS = 1,
	HTML_F_FONT_FACE_BAD = 2,
	HTML_F_FORM_ACTION_MAILTO = 4,
	HTML_F_FONT_LOW_CONTRAST = 8,
	HTML_F_FONT_INVALID_COLOR = 16,
};

/* a list of kept strings (comment, title, anchor); only the last one
 * grows, in steps that double (an arena cannot grow one in place) */
struct html_strs {
	char *v[HTML_STATS_MAX_STRINGS];
	size_t n;
	size_t seen;		/* including those over the cap */
	size_t last_len, last_cap;	/* of v[n - 1]; cap 0: still "" */
};

struct html_tag_count {
	char name[HTML_STATS_NAME];
	int inside;		/* starts - ends, never below 0 */
	unsigned sets;		/* the name's TAG_* sets (html_stats.c) */
};

struct html_style;		/* the text style stack (html_stats.c) */

struct html_stats {
	/* where the kept strings live (set before html_stats_begin, e.g.
	 * the message's MIME views' arena: then they are freed with it and
	 * html_stats_free leaves them), or NULL: malloc'd, each freed by
	 * html_stats_free */
	struct arena *arena;
	unsigned flags;		/* HTML_F_* */
	double length;		/* characters of the part */
	double non_space_len;	/* rendered characters that are not white space */
	double image_area;
	double min_size, max_size;
	unsigned tags, elements, tags_seen, elements_seen, closed_extra, obfuscation;
	uint64_t backhair;	/* bit (start-1)*7 + (len-1) per "start_len" key */
	struct html_tag_count names[HTML_STATS_MAX_NAMES];
	size_t nnames;
	struct html_strs comment, title, anchor;
	/* the href of each <a> that is a mailto: URI (SpamAssassin's URI
	 * list's type "a"), leading white space dropped, cut at
	 * HTML_STATS_MAX_ATTR bytes; FreeMail's check_freemail_replyto */
	struct html_strs mailto;
	/* building state */
	struct html_style *style;
	int in_a, in_title;	/* inside counts of a and title */
	uint32_t tail[8];	/* last code points of the last text chunk */
	size_t ntail;
	bool last_ws;		/* the last chunk is rendered white space */
	bool have_chunk;
};

/* attribute values html.c hands over with a tag (NULL: absent) */
enum {
	HTML_A_WIDTH, HTML_A_HEIGHT, HTML_A_FACE, HTML_A_ACTION, HTML_A_SIZE,
	HTML_A_COLOR, HTML_A_TEXT, HTML_A_STYLE, HTML_A_HREF, HTML_A_COUNT
};
struct html_attrs {
	const char *v[HTML_A_COUNT];	/* decoded, NUL-terminated */
};

/* html_stats_attr - the HTML_A_* index of an attribute name, or -1 */
int html_stats_attr(const char *name);

/* html_stats_begin - start a part of len bytes of UTF-8 input */
void html_stats_begin(struct html_stats *st, const char *html, size_t len);
/* html_stats_tag - a start (num 1) or end (num -1) tag, name lower-cased */
void html_stats_tag(struct html_stats *st, const char *name, int num,
		    const struct html_attrs *a);
/* html_stats_declaration - "<!...>" that is not a comment */
void html_stats_declaration(struct html_stats *st, const char *p, size_t n);
/* html_stats_comment - "<!--...-->" as in the source */
void html_stats_comment(struct html_stats *st, const char *p, size_t n);
/* html_stats_text - one run of character data, decoded to code points */
void html_stats_text(struct html_stats *st, const uint32_t *cp, size_t n);
/* html_stats_end - end of the part: drop the building state */
void html_stats_end(struct html_stats *st);

/* html_stats_free - release what st owns; st is left empty (its arena
 * pointer kept) */
void html_stats_free(struct html_stats *st);

/*
 * html_stats_value - a named number of HTML.pm's results (length,
 * max_size, min_size, image_area, non_space_len, closed_extra_ratio,
 * bad_tag_ratio, non_element_ratio, obfuscation_ratio, backhair_count,
 * tags, elements, html, and the html_test flags embeds, font_face_bad,
 * form_action_mailto, font_low_contrast, font_invalid_color): false when
 * SpamAssassin leaves it undefined for this part.
 */
bool html_stats_value(const struct html_stats *st, const char *name, double *v);
/* html_stats_inside - the balance of tag name, -1 if never seen */
int html_stats_inside(const struct html_stats *st, const char *name);
/* html_stats_strings - "comment", "title" or "anchor"; NULL for others */
const struct html_strs *html_stats_strings(const struct html_stats *st, const char *name);

#endif
