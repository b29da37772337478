/*
 * diag.h - collected errors and warnings with file:line, for loading rule
 * files and configs: lint prints them all, the daemon logs them.
 *
 * Three grades: an error fails the load and is always kept; a warning is
 * kept up to a cap (the rest are counted in `unshown`); a skip is a
 * construct the loader passes over on purpose (a rule in a false if
 * block, an eval test parapet lacks): it is tallied by reason and kept as
 * a line only when `verbose` is set.  diag_summarize turns the tallies
 * into one "note:" line per reason.
 */
#ifndef PARAPET_DIAG_H
#define PARAPET_DIAG_H

#include <stdbool.h>
#include <stddef.h>

/* how many constructs one reason skipped */
struct diag_tally {
	char *reason;
	int n;
};

struct diag {
	char **lines;		/* "FILE:LINE: error: ..." */
	size_t n;
	int errors;
	int warnings;
	int skipped;		/* diag_skip calls */
	int unshown;		/* warnings and skip lines past the cap, not in lines */
	bool verbose;		/* keep every skip as a line (lint --verbose) */
	struct diag_tally *tally;	/* skips by reason, not yet summarized */
	size_t ntally;
	size_t nshown;		/* warning and skip lines kept */
};

/* file NULL: the message already names file and line */
void diag_init(struct diag *d);
void diag_free(struct diag *d);
void diag_error(struct diag *d, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void diag_warn(struct diag *d, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* diag_skip - a construct skipped on purpose: counted under reason (a
 * short phrase, copied), and a "skipped:" line when d->verbose */
void diag_skip(struct diag *d, const char *file, int line, const char *reason,
	       const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* diag_summarize - one "where: note: N skipped: reason" line per reason
 * tallied since the last call, and one for the lines not shown */
void diag_summarize(struct diag *d, const char *where);

#endif
