/*
 * diag.c - a list of diagnostics.  Owned by whoever loads; not shared.
 * Lines are capped at DIAG_MAX so a file of garbage cannot grow it forever.
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/diag.h"
#include "base/util.h"

#define DIAG_MAX 1000

/* diag_init - empty list */
void diag_init(struct diag *d)
{
	d->lines = NULL;
	d->n = 0;
	d->errors = 0;
	d->warnings = 0;
}

/* diag_free - release the lines */
void diag_free(struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->lines[i]);
	free(d->lines);
	diag_init(d);
}

/* diag_add - format one line */
__attribute__((format(printf, 5, 0)))
static void diag_add(struct diag *d, const char *kind, const char *file,
		     int line, const char *fmt, va_list ap)
{
	char msg[1024];

	if (d->n >= DIAG_MAX)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	d->lines = xrealloc(d->lines, (d->n + 1) * sizeof(*d->lines));
	if (file == NULL)	/* already "FILE:LINE: kind: ..." */
		d->lines[d->n++] = xstrdup(msg);
	else if (line > 0)
		d->lines[d->n++] = xasprintf("%s:%d: %s: %s", file, line, kind, msg);
	else
		d->lines[d->n++] = xasprintf("%s: %s: %s", file, kind, msg);
}

/* diag_error - an error: the load fails */
void diag_error(struct diag *d, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	d->errors++;
	va_start(ap, fmt);
	diag_add(d, "error", file, line, fmt, ap);
	va_end(ap);
}

/* diag_warn - a warning: the construct is skipped */
void diag_warn(struct diag *d, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	d->warnings++;
	va_start(ap, fmt);
	diag_add(d, "warning", file, line, fmt, ap);
	va_end(ap);
}
