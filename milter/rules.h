/*
 * rules.h - the administrator's rule files (SPEC §5, SpamAssassin syntax).
 *
 * A struct ruleset is built once by rules_load, never changed afterwards,
 * and shared read-only by every milter thread (STYLE rule 4).  Matching
 * state lives in the scan (per message).
 *
 * Supported now: header (=~, !~, exists:, [if-unset: X], :raw, :addr,
 * :name, ALL, ToCc, MESSAGEID), body, rawbody, full, score (one or four
 * values), describe, tflags, ifplugin/if ... endif (treated as false and
 * skipped with a warning).  Other directives are warnings and skipped.
 */
#ifndef PARAPET_RULES_H
#define PARAPET_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

struct ruleset;
struct scan;

/* rules_load - every *.cf in dir, in name order; NULL if d->errors */
struct ruleset *rules_load(const char *dir, struct diag *d);
/* rules_load_text - one in-memory file (tests, fuzzing); NULL on error */
struct ruleset *rules_load_text(const char *name, const char *text,
				struct diag *d);
struct ruleset *rules_free(struct ruleset *rs);

/* rules_eval - run every rule on the scan's message, adding hits */
void rules_eval(const struct ruleset *rs, struct scan *sc);

/*
 * rules_symbol - score and description of a symbol (a rule or a built-in
 * named in a score line).  false if the files never mention it.  *desc is
 * borrowed from the rule set and may be NULL.
 */
bool rules_symbol(const struct ruleset *rs, const char *name, double *score,
		  const char **desc);
/* rules_count - number of rules that can hit */
size_t rules_count(const struct ruleset *rs);

#endif
