/*
 * html.h - HTML as a reader sees it: the visible text of an HTML part for
 * body rules, the link targets for uri rules.  No libraries, no state
 * between calls; thread-safe.
 *
 * Caps (STYLE rule 7): HTML_MAX_DEPTH open elements are tracked; deeper
 * elements are rendered as visible text (failing open: text is never
 * hidden from the rules because of a cap).
 */
#ifndef PARAPET_HTML_H
#define PARAPET_HTML_H

#include <stddef.h>

#include "mail/html_stats.h"
#include "mail/uri.h"
#include "base/util.h"

#define HTML_MAX_DEPTH 256

/*
 * html_render - append the rendered text of UTF-8 HTML to text: tags
 * removed, <script>/<style> content and comments dropped, entities decoded
 * (&nbsp; as a space), white space collapsed, block elements (p, div, br,
 * li, tr, h1-h6, ...) as line breaks.  Text in elements hidden by style
 * (display:none, visibility:hidden, font-size:0, opacity:0) or the hidden
 * attribute goes to hidden instead (may be NULL: dropped).  href, src,
 * action and background attribute values are added to uris (may be NULL).
 * st (may be NULL; zeroed by the caller) receives SpamAssassin's
 * statistics of the part (html_stats.h); release with html_stats_free.
 */
void html_render(const char *html, size_t len, struct buf *text, struct buf *hidden,
		 struct uri_set *uris, struct html_stats *st);

/*
 * html_latin1_to_utf8 - append bytes read as ISO-8859-1 the way the HTML
 * standard reads that label (0x80-0x9F as windows-1252), as UTF-8.
 */
void html_latin1_to_utf8(const char *p, size_t n, struct buf *out);

#endif
