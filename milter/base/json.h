/*
 * json.h - JSON text output (RFC 8259) for parapetctl's --json and the
 * dashboard's API: string literals that are valid JSON whatever bytes
 * mail put into them.
 */
#ifndef PARAPET_JSON_H
#define PARAPET_JSON_H

#include <stdio.h>

#include "base/util.h"

enum {
	JSON_HTML_SAFE = 1,	/* also \u-escape < > & ' (served to browsers) */
};

/* json_put_str - s as a JSON string literal (null for NULL) onto b.  A
 * byte that is not part of valid UTF-8 becomes the Latin-1 character of
 * that value, so the output is always valid JSON. */
void json_put_str(struct buf *b, const char *s, int flags);
/* json_put_num - a finite number ("%.*f"), or null for NaN/inf */
void json_put_num(struct buf *b, double v, int decimals);
/* json_print_str - json_put_str to a stream */
void json_print_str(FILE *fp, const char *s, int flags);

#endif
