/*
 * mboxfile.c - message files to scan callbacks (see mboxfile.h).  A line
 * in the header that is neither a field nor a continuation ends the
 * header, as Postfix's cleanup does; a field without a colon becomes body.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mboxfile.h"
#include "core/scan.h"
#include "base/util.h"

/* line_end - end of the line at p (exclusive of LF), and the next start */
static const char *line_end(const char *p, const char *end, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	*next = nl ? nl + 1 : end;
	const char *e = nl ? nl : end;
	if (e > p && e[-1] == '\r')
		e--;
	return e;
}

/* field_name_len - length of "Name" in "Name: value", 0 if not a field */
static size_t field_name_len(const char *p, const char *e)
{
	const char *q = p;

	while (q < e && *q != ':' && *q > ' ' && *q < 0x7f)
		q++;
	return (q < e && *q == ':' && q > p) ? (size_t)(q - p) : 0;
}

/* mboxfile_feed - split and feed */
void mboxfile_feed(struct scan *sc, const char *data, size_t len)
{
	const char *p = data, *end = data + len, *next, *e;
	struct buf name, value, body;

	buf_init(&name);
	buf_init(&value);
	buf_init(&body);
	if (len >= 5 && memcmp(p, "From ", 5) == 0) {	/* mbox separator */
		line_end(p, end, &next);
		p = next;
	}
	scan_envelope_done(sc);
	while (p < end) {
		e = line_end(p, end, &next);
		if (e == p) {	/* blank line: end of header */
			p = next;
			break;
		}
		if ((*p == ' ' || *p == '\t') && name.len) {
			buf_putc(&value, '\n');	/* folded: MTAs send LF inside values */
			buf_append(&value, p, (size_t)(e - p));
		} else {
			size_t n = field_name_len(p, e);
			if (n == 0)
				break;	/* not a header line: the body starts here */
			if (name.len)
				scan_header(sc, name.data, value.data ? value.data : "");
			buf_reset(&name);
			buf_reset(&value);
			buf_append(&name, p, n);
			buf_append(&value, p + n + 1, (size_t)(e - p - (long)n - 1));
		}
		p = next;
	}
	if (name.len)
		scan_header(sc, name.data, value.data ? value.data : "");
	scan_end_headers(sc);
	/* body lines end in CRLF on the milter wire: lines that already do
	 * are handed over as they are ([span, p)), the others copied with
	 * CRLF; in chunks like an MTA's */
	const char *span = p;
	while (p < end) {
		e = line_end(p, end, &next);
		if (next == e + 2 || (next == end && e == end)) {
			if (body.len) {	/* the copied lines before it first */
				scan_body(sc, body.data, body.len);
				buf_reset(&body);
			}
			p = next;
			if ((size_t)(p - span) >= 65536) {
				scan_body(sc, span, (size_t)(p - span));
				span = p;
			}
			continue;
		}
		if (p > span)
			scan_body(sc, span, (size_t)(p - span));
		buf_append(&body, p, (size_t)(e - p));
		if (next > e)
			buf_append(&body, "\r\n", 2);
		if (body.len >= 65536) {
			scan_body(sc, body.data, body.len);
			buf_reset(&body);
		}
		p = span = next;
	}
	if (p > span)
		scan_body(sc, span, (size_t)(p - span));
	if (body.len)
		scan_body(sc, body.data, body.len);
	buf_free(&name);
	buf_free(&value);
	buf_free(&body);
}

/* mboxfile_read - slurp a file */
char *mboxfile_read(const char *path, size_t *len)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	struct buf b;
	char chunk[65536];
	size_t n;

	if (fp == NULL)
		return NULL;
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_append(&b, chunk, n);
	int err = ferror(fp);
	if (fp != stdin)
		fclose(fp);
	if (err) {
		buf_free(&b);
		errno = EIO;
		return NULL;
	}
	*len = b.len;
	return b.data ? b.data : xstrdup("");
}
