/*
 * fuzz_uri.c - libFuzzer target: URI and HTML extraction (uri.c, html.c)
 * on their own, the way mime.c uses them, with what each promises checked.
 * The first input byte picks the path, the rest is the text (NUL bytes
 * included: a direct caller may pass them):
 *
 *   0  plain text: uri_scan_text
 *   1  HTML: html_render (text, hidden text, link attributes), then
 *      uri_scan_text on the text and the hidden text, as for a part
 *   2+ the same HTML read as ISO-8859-1 first (html_latin1_to_utf8)
 *
 * Promises: at most URI_MAX_COUNT URIs of 1..URI_MAX_LEN bytes, no two
 * the same, no white space at either end; a URI from text (and each of
 * its canonical variants) has a scheme and no white space; rendered text
 * is at most 4 bytes per input byte (a byte becomes at most one UTF-8 character).
 */
#include "autoconfig.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/html.h"
#include "mail/uri.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* cmp - qsort on strings */
static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* check_bare - a URI uri_scan_text found (or one of its variants): it
 * has a scheme (the scanner adds http://, ftp:// or mailto:; one written
 * with its known scheme, "ftp:/x" as much as "http:/x", and a
 * redirector's target keep theirs as written) and no white space (the
 * scanner stops at white space, decoding never makes one) */
static void check_bare(const char *u)
{
	if (strncasecmp(u, "http:", 5) != 0 && strncasecmp(u, "https:", 6) != 0 &&
	    strncasecmp(u, "ftp:", 4) != 0 && strncasecmp(u, "mailto:", 7) != 0)
		abort();
	for (; *u; u++)
		if (isspace((unsigned char)*u))
			abort();
}

/* check_set - what uri.h promises of a list; bare: every URI came from
 * uri_scan_text */
static void check_set(struct uri_set *s, bool bare)
{
	size_t n;
	char **list = uri_set_take(s, &n);

	if (n > URI_MAX_COUNT || list[n] != NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(list[i]);
		if (len == 0 || len > URI_MAX_LEN || isspace((unsigned char)list[i][0]) ||
		    isspace((unsigned char)list[i][len - 1]))
			abort();
		if (bare)
			check_bare(list[i]);
	}
	qsort(list, n, sizeof(*list), cmp);
	for (size_t i = 1; i < n; i++)
		if (strcmp(list[i - 1], list[i]) == 0)
			abort();
	uri_list_free(list);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	unsigned mode = data[0];
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	struct uri_set s;

	uri_set_init(&s);
	if (mode == 0) {
		uri_scan_text(&s, text, len);
		check_set(&s, true);
		return 0;
	}
	struct buf latin, out, hidden;
	buf_init(&latin);
	buf_init(&out);
	buf_init(&hidden);
	if (mode >= 2) {
		html_latin1_to_utf8(text, len, &latin);
		if (latin.len > 3 * len)
			abort();
		text = latin.data ? latin.data : "";
		len = latin.len;
	}
	struct html_stats st = { 0 };
	html_render(text, len, &out, &hidden, &s, &st);
	if (out.len + hidden.len > 4 * len + 2)
		abort();
	/* the statistics stay within their caps */
	if (st.nnames > HTML_STATS_MAX_NAMES || st.comment.n > HTML_STATS_MAX_STRINGS ||
	    st.length > (double)len || st.non_space_len > (double)len || st.style != NULL)
		abort();
	for (size_t i = 0; i < st.anchor.n; i++)
		if (strlen(st.anchor.v[i]) > HTML_STATS_MAX_STRING)
			abort();
	html_stats_free(&st);
	uri_scan_text(&s, out.data ? out.data : "", out.len);
	uri_scan_text(&s, hidden.data ? hidden.data : "", hidden.len);
	check_set(&s, false);
	buf_free(&latin);
	buf_free(&out);
	buf_free(&hidden);
	return 0;
}
