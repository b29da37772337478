/*
 * diag.c - a list of diagnostics.  Owned by whoever loads; not shared.
 * Errors are never dropped: an administrator must see every reason a
 * load failed.  Warnings and verbose skip lines are capped at
 * DIAG_MAX_SHOWN so a file of garbage cannot grow the list forever (the
 * number left out is counted and summarized); skip reasons are capped at
 * DIAG_MAX_REASONS, the rest are tallied under "other".
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/diag.h"
#include "base/util.h"

#define DIAG_MAX_SHOWN 20000
#define DIAG_MAX_REASONS 100

/* diag_init - empty list */
void diag_init(struct diag *d)
{
	memset(d, 0, sizeof(*d));
}

/* diag_free - release the lines */
void diag_free(struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->lines[i]);
	free(d->lines);
	for (size_t i = 0; i < d->ntally; i++)
		free(d->tally[i].reason);
	free(d->tally);
	bool verbose = d->verbose;
	diag_init(d);
	d->verbose = verbose;
}

/* diag_add - format one line; capped unless it is an error */
__attribute__((format(printf, 5, 0)))
static void diag_add(struct diag *d, const char *kind, const char *file,
		     int line, const char *fmt, va_list ap)
{
	char msg[1024];

	if (strcmp(kind, "error") != 0) {
		if (d->nshown >= DIAG_MAX_SHOWN) {
			d->unshown++;
			return;
		}
		d->nshown++;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	d->lines = xrealloc(d->lines, (d->n + 1) * sizeof(*d->lines));
	if (file == NULL)	/* already "FILE:LINE: kind: ..." */
		d->lines[d->n++] = xstrdup(msg);
	else if (line > 0)
		d->lines[d->n++] = xasprintf("%s:%d: %s: %s", file, line, kind, msg);
	else
		d->lines[d->n++] = xasprintf("%s: %s: %s", file, kind, msg);
}

/* diag_skip_line - the verbose line of a skip */
__attribute__((format(printf, 4, 5)))
static void diag_skip_line(struct diag *d, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_add(d, "skipped", file, line, fmt, ap);
	va_end(ap);
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

/* tally_find - the tally of reason, or NULL */
static struct diag_tally *tally_find(struct diag *d, const char *reason)
{
	for (size_t i = 0; i < d->ntally; i++)
		if (strcmp(d->tally[i].reason, reason) == 0)
			return &d->tally[i];
	return NULL;
}

/* tally - count one skip under reason; past DIAG_MAX_REASONS reasons,
 * under "other" */
static void tally(struct diag *d, const char *reason)
{
	struct diag_tally *t = tally_find(d, reason);

	if (t == NULL && d->ntally >= DIAG_MAX_REASONS)
		t = tally_find(d, reason = "other");
	if (t == NULL) {
		d->tally = xrealloc(d->tally, (d->ntally + 1) * sizeof(*d->tally));
		t = &d->tally[d->ntally++];
		*t = (struct diag_tally){ .reason = xstrdup(reason) };
	}
	t->n++;
}

/* diag_skip - a construct skipped on purpose */
void diag_skip(struct diag *d, const char *file, int line, const char *reason,
	       const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	d->skipped++;
	tally(d, reason);
	if (!d->verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_skip_line(d, file, line, "%s [%s]", msg, reason);
}

/* note - one summary line, never capped (at most DIAG_MAX_REASONS + 2) */
__attribute__((format(printf, 3, 4)))
static void note(struct diag *d, const char *where, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	d->lines = xrealloc(d->lines, (d->n + 1) * sizeof(*d->lines));
	d->lines[d->n++] = xasprintf("%s: note: %s", where, msg);
}

/* diag_summarize - the tallies and the unshown count as note lines */
void diag_summarize(struct diag *d, const char *where)
{
	for (size_t i = 0; i < d->ntally; i++) {
		note(d, where, "%d skipped: %s", d->tally[i].n, d->tally[i].reason);
		free(d->tally[i].reason);
	}
	if (d->ntally > 0 && !d->verbose)
		note(d, where, "parapetctl lint --verbose lists every skipped line with its reason");
	free(d->tally);
	d->tally = NULL;
	d->ntally = 0;
	if (d->unshown > 0) {
		note(d, where, "%d more warning(s) or skip(s) not shown (the first %d are)",
		     d->unshown, DIAG_MAX_SHOWN);
		d->unshown = 0;
	}
}
