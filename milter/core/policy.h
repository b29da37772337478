/*
 * policy.h - per-recipient policy (the policy_file key, SPEC §3): a
 * recipient domain or address with its own thresholds, greylisting and
 * checks switched off.  Loaded with the engine (a reload reads it again),
 * never changed afterwards, shared read-only by every thread.
 *
 * One message has one verdict, so one policy: the first recipient of a
 * transaction fixes it, and a later recipient whose policy differs is
 * refused with 451 4.7.1 at RCPT so the sending MTA brings it back in a
 * transaction of its own (core/scan.c scan_rcpt, daemon/glue.c).
 */
#ifndef PARAPET_POLICY_H
#define PARAPET_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/cidr.h"
#include "base/diag.h"

struct config;
struct stage;

/* what a message is judged by: the config's values or a policy line's */
struct policy {
	const char *name;	/* the file's key ("example.com"), NULL: the config */
	double tag_score;
	bool quarantine_on;
	double quarantine_score;
	bool reject_on;		/* reject_score = off: never reject */
	double reject_score;
	bool greylist;
	double greylist_score;
	uint32_t skip;		/* bit i: the engine's stage i does not run */
	/* allow_from, block_from (lower-case globs), allow_ip, block_ip:
	 * owned by the policy set, borrowed by a copy */
	char **allow, **block;
	size_t nallow, nblock;
	struct cidr_list allow_ip, block_ip;
};

struct policy_set;

/* policy_default - the config's own values (no policy line applies) */
void policy_default(const struct config *cfg, struct policy *p);
/*
 * policy_parse - a policy file's text; stages (NULL-terminated) are the
 * engine's, whose names "skip=" may list.  NULL on any error (file:line
 * in d).  Keys are lower-cased; a key is an address or a domain.
 */
struct policy_set *policy_parse(const char *name, const char *text, size_t len,
				const struct config *cfg, const struct stage *const *stages,
				struct diag *d);
/* policy_load - the same from a file (at most 4 MB) */
struct policy_set *policy_load(const char *path, const struct config *cfg,
			       const struct stage *const *stages, struct diag *d);
void policy_free(struct policy_set *ps);
/*
 * policy_lookup - the policy of a recipient address (brackets allowed):
 * the address's own line, else its domain's, else the nearest parent
 * domain's; NULL when none (the config's values apply).  ps may be NULL.
 */
const struct policy *policy_lookup(const struct policy_set *ps, const char *rcpt);
/* policy_same - do two policies (NULL: the config's) judge alike?  Two
 * lines with lists of their own never do */
bool policy_same(const struct policy *a, const struct policy *b);

struct msg;
/*
 * policy_listed - the policy's own lists against a message: the envelope
 * sender and the From addresses against allow_from/block_from, the client
 * IP against allow_ip/block_ip.  *allow and *block say which hit; the
 * entry that matched goes to the detail buffers (may be NULL).
 */
void policy_listed(const struct policy *p, const struct msg *m, bool *allow, bool *block,
		   char *detail, size_t cap);

#endif
