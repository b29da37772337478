/*
 * prefilter.h - evaluate the regex rules of a set with one Vectorscan pass
 * per text instead of one PCRE2 run per rule (issue 14 item 4).  Private
 * to the rules module.
 *
 * A struct prefilter is built once with the rule set and only read
 * afterwards; a struct pf_run belongs to one message.
 */
#ifndef PARAPET_PREFILTER_H
#define PARAPET_PREFILTER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "rules/rules_int.h"

struct prefilter;
struct pf_run;
struct eval_env;

/* prefilter_rule's answer for a rule it does not evaluate */
#define PREFILTER_NONE UINT_MAX

/* prefilter_build - the prefilter of rules[0, n); NULL if none of them
 * is a regex rule.  The rules are borrowed for its life. */
struct prefilter *prefilter_build(const struct rule *rules, size_t n);
struct prefilter *prefilter_free(struct prefilter *pf);
/* prefilter_info - sizes and compile time (pf may be NULL) */
void prefilter_info(const struct prefilter *pf, struct rules_pf_info *info);

/* prefilter_set_no_regex - rules_set_no_regex's part here (pf may be
 * NULL): prefilter_rule counts 0 without a regex run, its text built and
 * scanned, and prefilter_cost is 0 */
void prefilter_set_no_regex(struct prefilter *pf, bool on);

/* prefilter_begin - one message's evaluation; NULL if pf is NULL.  re is
 * the message's regex scratch. */
struct pf_run *prefilter_begin(const struct prefilter *pf, const struct eval_env *env,
			       struct re_scratch *re);
/* prefilter_rule - hit count of rules[i] (r, its symbol sym) as rules.c
 * would count it, detail as there; PREFILTER_NONE if run is NULL or the
 * rule is not a regex rule.  sym is read only when the regex runs. */
unsigned prefilter_rule(struct pf_run *run, size_t i, const struct rule *r,
			const struct sym *sym, char *detail, size_t cap);
/* prefilter_quiet_slot - the slot of rules[i] when prefilter_quiet may
 * ever answer true for it (a regex rule whose slot is prefiltered), else
 * SIZE_MAX: for the list rules.c asks of every message */
size_t prefilter_quiet_slot(const struct prefilter *pf, size_t i);
/* prefilter_cost - what running rules[i]'s regex in this message would
 * cost, roughly, in bytes searched (a core's count eight times): 0 when
 * it is known without PCRE2, already run, or not a regex rule.  May scan
 * the rule's text. */
size_t prefilter_cost(struct pf_run *run, size_t i);
/* prefilter_quiet - the rules of slot k (prefilter_quiet_slot) count 0
 * in this message, known without PCRE2: its text is built and scanned
 * and nothing admits the slot (no literal seen, no scan error, no byte
 * that breaks an ASCII promise), or it was evaluated to 0.  False when
 * unsure, or run is NULL. */
bool prefilter_quiet(const struct pf_run *run, size_t k);
/* prefilter_ready_quiet - prefilter_quiet once slot k's text is built and
 * scanned (it is here when it was not); when true, the slot is settled at
 * 0 as prefilter_rule would settle it */
bool prefilter_ready_quiet(struct pf_run *run, size_t k);
void prefilter_end(struct pf_run *run);

#endif
