/*
 * content.h - the stages that look at the message itself: the
 * administrator's rules and what the message model noticed.
 */
#ifndef PARAPET_CONTENT_H
#define PARAPET_CONTENT_H

struct stage;

/* rules_stage - the content rules (rules/rules.h) */
extern const struct stage rules_stage;
/* structure_stage - SCAN_TRUNCATED, MIME_BROKEN, HEADERS_TRUNCATED */
extern const struct stage structure_stage;

#endif
