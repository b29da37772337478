/*
 * verdict.h - from symbols to an action, SMTP reply and header edits
 * (SPEC §4).  Pure functions of the scan and its engine's config.
 */
#ifndef PARAPET_VERDICT_H
#define PARAPET_VERDICT_H

#include "core/scan.h"

/* verdict_decide - fill sc->verdict from sc's hits and the config */
void verdict_decide(struct scan *sc);
/* verdict_clear - release what a verdict owns */
void verdict_clear(struct verdict *v);
/* verdict_log_line - "qid=… ip=… from=… rcpts=N score=… action=… symbols=… ms=…" */
char *verdict_log_line(const struct scan *sc);
/* verdict_status - X-Spam-Status value, folded, without leading space */
char *verdict_status(const struct scan *sc, double required);
/* verdict_stars - X-Spam-Level's value: '*' per whole point, at most 50 */
char *verdict_stars(double score);
/* verdict_format_score - "%.1f" without "-0.0" */
void verdict_format_score(char *out, size_t cap, double score);
/* verdict_authserv_id - authserv-id of an Authentication-Results value
 * (RFC 8601 §2.2), in fresh memory, or NULL */
char *verdict_authserv_id(const char *value);

/* action_name - "accept", "quarantine", "tempfail", "reject" */
const char *action_name(enum action a);

#endif
