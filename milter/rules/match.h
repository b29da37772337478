/*
 * match.h - the text a rule reads and the matches of a regex in it, for
 * the two ways rules are evaluated: one rule at a time (rules.c) and
 * shared, prefiltered evaluation (prefilter.c).  Private to the rules
 * module, like rules_int.h.
 */
#ifndef PARAPET_MATCH_H
#define PARAPET_MATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "rules/rules_int.h"

struct buf;
struct eval_env;
struct msg;

/* match_text - the text of a header, body, rawbody or full rule (header
 * rules: built in hb, which the text borrows); false for other types */
bool match_text(const struct rule *r, const struct eval_env *env, struct buf *hb,
		const char **subj, size_t *len);
/* match_exists - does a field an exists: rule names occur? */
bool match_exists(const struct rule *r, const struct msg *m);
/* match_offset - where matching starts in the rule's text (nosubject:
 * after the Subject line that leads the body text) */
size_t match_offset(const struct rule *r, const char *subj, size_t len);
/* the starts [lo, hi] a match may have */
struct match_win {
	size_t lo, hi;
};

/* match_count - matches of re in subj from offset, up to max; the first
 * one's bounds in *a, *b.  win[0, nwin): sorted, disjoint windows that
 * hold every start a match can have, as the caller knows (NULL: any
 * start); the count is the same, found sooner.  A regex limit is logged
 * against rule name and ends the count (SpamAssassin: no match). */
unsigned match_count(const struct re *re, const char *name, struct msg *m,
		     struct re_scratch *rx, const char *subj, size_t len,
		     size_t offset, const struct match_win *win, size_t nwin, unsigned max,
		     bool lines, size_t *a, size_t *b);
/* match_uris - matches of re in every URI of the message, each on its
 * own, up to max; *first is the first URI that matched.  With win (nwin
 * ranges of URI indexes, in order), only the URIs in them. */
unsigned match_uris(const struct re *re, const char *name, struct msg *m,
		    struct re_scratch *rx, unsigned max, size_t *first,
		    const struct match_win *win, size_t nwin);
/* match_mime - a mimeheader rule (HDR_MIME, SpamAssassin's MIMEHeader
 * plugin): the last field named r->header of each MIME part in tree
 * order, the top's being the message's own fields, as received with
 * :raw ("" when there is none) or decoded with a newline after it (else
 * r->if_unset, "" by default); the first part whose value matches gives
 * its match count, up to r->maxhits, and ends the search.  !~ hits once
 * when no part's value matches.  detail gets the match. */
unsigned match_mime(const struct rule *r, const char *name, struct msg *m,
		    struct re_scratch *rx, char *detail, size_t cap);
/* match_detail - printable excerpt of s[a, b) */
void match_detail(char *out, size_t cap, const char *s, size_t a, size_t b);
/* match_detail_hits - append " (N hits)" when n > 1 */
void match_detail_hits(char *detail, size_t cap, unsigned n);

#endif
