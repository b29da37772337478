/*
 * rewidth.h - how far past the start of a match attempt a Perl regex can
 * look: the most bytes it consumes, or inspects in a look-ahead.  With a
 * literal every match holds, this bounds where a match can start
 * (prefilter.c searches only there).  Private to the rules module.
 */
#ifndef PARAPET_REWIDTH_H
#define PARAPET_REWIDTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules/reqlit.h"

/* rewidth_max's answer when there is no bound it can prove */
#define REWIDTH_NONE ((size_t)-1)
/* larger bounds are not worth having: REWIDTH_NONE instead */
#define REWIDTH_CAP 65536

/*
 * rewidth_max - an upper bound of the bytes after its start that a match
 * attempt of pattern (byte mode, Perl flags as re_compile takes them)
 * consumes or looks ahead at; REWIDTH_NONE when unbounded (*, +, {n,}),
 * above REWIDTH_CAP, or for syntax it does not follow (x mode, \Q,
 * back-references, recursion, conditions, verbs, \G, \X, a look-ahead
 * inside a look-behind, a `{` that is almost a quantifier).
 */
size_t rewidth_max(const char *pattern, const char *flags);

/* run classes: 0 word bytes [A-Za-z0-9_], 1 \s, 2 \S, 3 every byte but
 * \n, 4 one letter repeated, in either case ("dD", "sss", not "ds"): the
 * last bounds a letter's own repeat (d+ under the i flag) far more
 * tightly than the longest word does (in the corpus bodies the longest
 * such run is 2 or 3 letters in 88 of 100 messages, where the longest
 * word is 10 to 19 bytes in 73 and 40 or more in 18).  Runs of two
 * letters ([ia]+) were a class too: counting them cost 5.4 cycles a byte
 * of text (its branches follow the letters) for fewer instructions
 * saved than that, once a slot's branches had widths of their own */
#define REWIDTH_RUNS 5
/* every class, as rewidth_text_runs's mask */
#define REWIDTH_ALL ((1u << REWIDTH_RUNS) - 1)

/* a bound that depends on the text: c + the sum of k[i] times the text's
 * longest run of bytes of class i */
struct rewidth {
	size_t c, k[REWIDTH_RUNS];
};

/*
 * rewidth_runs - rewidth_max's bound, where a one-byte atom (a byte, a
 * class, an escape, '.' without the s flag) repeated without bound
 * counts as the longest run, in the text searched, of the run class
 * that holds every byte it may match (both cases of letters): one
 * letter's own repeats when it is one letter, else the first class that
 * holds them: "ad+res+" is 3 + 2 runs of one letter, "x[a-z]+y" 2 + 1
 * word run, "\s+" one \s run.  false where rewidth_max gives up for any
 * other reason.
 */
bool rewidth_runs(const char *pattern, const char *flags, struct rewidth *out);
/*
 * rewidth_lead - where a literal of lits (reqlit_find's answer for
 * pattern) may end past the start of a match, often far tighter than
 * rewidth_runs's bound for the whole pattern: every match starts with a
 * match of a prefix of the pattern (its first items, or the first ones
 * and a prefix of the body of a group it runs through at least once), and
 * when reqlit_find gives a prefix the same literals, one of them lies in
 * that prefix's match.  The bound of the shortest such prefix (at most
 * LEAD_MAX_TRIES are analysed), or a tighter one proved by splitting the
 * pattern into its branches and the passes of its groups, item by item
 * (rewidth.c, "the split"); false when neither beats the whole pattern's
 * bound, or for syntax the walks do not take apart.
 */
bool rewidth_lead(const char *pattern, const char *flags, const struct reqlit *lits,
		  struct rewidth *out);
/*
 * rewidth_core - a pattern found inside every match of pattern (its
 * "core"), when pattern is a group (?:X R){m,n}, m >= 2, X the whole
 * items before the first that holds a literal of lits: *core (the caller
 * frees) is R (?:X R){m-1,n-1}, which starts where the first X's match
 * ends, at most *pre past the match's start; its matches hold a literal
 * of lits, ending at most *lead past their start.  false when X is empty
 * or unbounded, R' holds no literal of lits, or the pattern has what a
 * split would change (options set inside it, back-references,
 * conditions, recursion, \G, \K, x mode, a top-level '|', a leading ^)
 * or what a line of a body reads differently from the whole text ($,
 * \B, negative look-around...).
 */
bool rewidth_core(const char *pattern, const char *flags, const struct reqlit *lits,
		  char **core, struct rewidth *lead, struct rewidth *pre);
/*
 * rewidth_head - a core (rewidth_core's answer, "(?:I R)Q": I its first
 * item) taken apart at the end of I: *head is I with its quantifier,
 * *tail "(?:R)Q", so every match of the core is a match of *head followed
 * at once by one of *tail, and the other way round (the caller frees
 * both).  false when the core is not such a group (or has a top-level
 * '|'), or I is not a group.
 */
bool rewidth_head(const char *core, char **head, char **tail);
/*
 * rewidth_split - the pattern taken apart by the alternative a match
 * begins with: its branches where it has a top-level '|'; else, where its
 * first item (after assertions, \b ^ \A \B or a look-around, which stay
 * before each part) is a group every match runs through, that group's
 * body split the same way, each part of it in the group's opening and
 * followed by the group's other passes (when it has more: "{m-1,n-1}")
 * and the rest of the pattern.  Every match of the pattern is a match of one of the
 * parts from the same start (a part may match more: what it took apart
 * loses its atomicity, laziness or possessiveness).  *parts (the caller
 * frees each and the array) and their number; 0 when there is no split,
 * more than max parts, syntax the walk does not follow, or what a split
 * would change (back-references, conditions, recursion, options set
 * inside, \G, \K, x mode, comments).
 */
size_t rewidth_split(const char *pattern, const char *flags, size_t max, char ***parts);
/*
 * rewidth_span - every match of pattern (byte mode, Perl flags as
 * re_compile takes them) consumes at least *min bytes (capped at
 * REWIDTH_CAP), each of them in set (256 bits), so it lies in a run of
 * set's bytes at least that long.  false (*min 0) for a pattern that may
 * consume nothing, or syntax the walk does not follow (x mode, comments,
 * back-references, \K, \R, \p, recursion, conditions...).
 */
bool rewidth_span(const char *pattern, const char *flags, uint64_t set[4], size_t *min);
/*
 * rewidth_subspan - rewidth_span for a part of pattern: the top-level
 * items i..j-1 of every match consume at least *min bytes of set, one
 * after the other, starting at most *lead (rewidth_runs of the items
 * before i) past the match's start, so the match starts at most that far
 * before a run of set's bytes at least *min long.  The part chosen is the
 * one whose run is least likely in mail text (by the rate of each byte
 * in a body text); false when that is not below odds_max for a given
 * byte to start one, for a top-level '|', or for syntax the walk does not
 * follow (as rewidth_span).
 */
bool rewidth_subspan(const char *pattern, const char *flags, double odds_max, uint64_t set[4],
		     size_t *min, struct rewidth *lead);
/* rewidth_share - how often a byte of mail text is one of set (the body
 * texts of the corpus: a guide for choices that cost time, not matches) */
double rewidth_share(const uint64_t set[4]);
/* rewidth_weight - a bound as bytes, for comparing two (a run weighs 16
 * bytes, a line 64, one letter's repeats 4) */
size_t rewidth_weight(const struct rewidth *w);
/* rewidth_le - a is no larger than b, term by term */
bool rewidth_le(const struct rewidth *a, const struct rewidth *b);
/* rewidth_join - a grown to bound b too: the larger of each term */
void rewidth_join(struct rewidth *a, const struct rewidth *b);
/* rewidth_eval - w for a text with these longest runs; REWIDTH_NONE if
 * it would overflow */
size_t rewidth_eval(const struct rewidth *w, const size_t runs[REWIDTH_RUNS]);
/* rewidth_text_runs - the longest run of each class in mask (bit i:
 * class i) in s[0, n); n for the others */
void rewidth_text_runs(const char *s, size_t n, unsigned mask, size_t runs[REWIDTH_RUNS]);

#endif
