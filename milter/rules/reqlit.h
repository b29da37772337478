/*
 * reqlit.h - required literals of a Perl regex: a few strings at least one
 * of which occurs in the text whenever the regex matches, so a text that
 * holds none of them need not be searched (prefilter.c).
 */
#ifndef PARAPET_REQLIT_H
#define PARAPET_REQLIT_H

#include <stdbool.h>
#include <stddef.h>

#define REQLIT_MAX 128		/* alternatives in one answer */
#define REQLIT_MIN 3		/* shorter literals are not worth it */
#define REQLIT_MAX_REPEAT 16	/* copies of a repeated byte kept in a literal */
#define REQLIT_RUNS 8		/* variants of one literal run (e-?mai?l: 4) */
#define REQLIT_CLASS 4		/* bytes of a class followed as variants */
#define REQLIT_MAX_DEPTH 32	/* group nesting (each level is ~5 KB of stack) */

struct reqlit {
	size_t n;
	char *s[REQLIT_MAX];
	size_t len[REQLIT_MAX];
};

/*
 * reqlit_find - literals of pattern (Perl flags as re_compile takes them):
 * every match of the regex contains one of out->s[0, n) compared without
 * regard to ASCII case.  false (n == 0) when the pattern has no such set
 * that is worth using, or uses syntax this analysis does not follow (x
 * mode, \Q, recursion, verbs...): then the regex must always run.
 */
bool reqlit_find(const char *pattern, const char *flags, struct reqlit *out);
/* reqlit_clear - release the strings */
void reqlit_clear(struct reqlit *rl);

#endif
