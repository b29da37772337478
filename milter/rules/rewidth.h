/*
 * rewidth.h - how far past the start of a match attempt a Perl regex can
 * look: the most bytes it consumes, or inspects in a look-ahead.  With a
 * literal every match holds, this bounds where a match can start
 * (prefilter.c searches only there).  Private to the rules module.
 */
#ifndef PARAPET_REWIDTH_H
#define PARAPET_REWIDTH_H

#include <stddef.h>

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

#endif
