/*
 * form.h - the body of a small HTTP POST as name/value pairs: either
 * application/x-www-form-urlencoded (WHATWG URL §5) or a flat JSON object
 * (RFC 8259) whose values are strings or numbers.  For the dashboard's
 * write requests; nothing here trusts the input.
 */
#ifndef PARAPET_FORM_H
#define PARAPET_FORM_H

#include <stddef.h>

#define FORM_MAX_PAIRS 8	/* more is an error, not a truncation */

struct form {
	char *name[FORM_MAX_PAIRS];	/* owned, NUL-free */
	char *value[FORM_MAX_PAIRS];	/* owned, NUL-free, UTF-8 as sent */
	size_t n;
};

/* form_parse - body by content_type ("application/json...",
 * "application/x-www-form-urlencoded..."); 0, or -1 for another type or
 * a malformed body (f may hold pairs either way: form_clear it) */
int form_parse(const char *content_type, const char *body, struct form *f);
/* form_get - the first value of name, or NULL */
const char *form_get(const struct form *f, const char *name);
/* form_clear - release the pairs */
void form_clear(struct form *f);

#endif
