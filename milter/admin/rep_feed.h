/*
 * rep_feed.h - the verdict log (the `log` stream, SPEC §6) read newest
 * first with a filter, for the dashboard's live feed.  Kept apart from
 * rep.h so the reputation module's own interface stays as it is.
 */
#ifndef PARAPET_REP_FEED_H
#define PARAPET_REP_FEED_H

#include <stdbool.h>
#include <stddef.h>

#include "stages/rep/rep.h"

#define REP_FEED_MAX 1000	/* entries returned at most */
#define REP_FEED_SCAN 20000	/* entries examined at most per call */

/* what to keep; NULL or "" means any */
struct rep_feed_filter {
	const char *action;	/* equal (ASCII case-insensitive) */
	const char *ip;		/* a prefix of the client address */
	const char *domain;	/* the domain of mfrom or from, or a parent of it */
	const char *symbol;	/* one of the comma-separated symbols */
};

/* rep_feed_match - le passes f (pure) */
bool rep_feed_match(const struct rep_feed_filter *f, const struct rep_log_entry *le);

/*
 * rep_feed - up to max (<= REP_FEED_MAX) entries of the log stream that
 * pass f, newest first, examining at most REP_FEED_SCAN entries; *scanned
 * (may be NULL) says how many were examined.  0, or -1 with *err (caller
 * frees).  *out is an array of *nout entries: rep_feed_free it.
 */
int rep_feed(struct engine *e, const struct rep_feed_filter *f, size_t max,
	     struct rep_log_entry **out, size_t *nout, size_t *scanned, char **err);
/* rep_feed_free - release n entries; returns NULL */
struct rep_log_entry *rep_feed_free(struct rep_log_entry *v, size_t n);

#endif
