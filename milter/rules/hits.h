/*
 * hits.h - the symbols that hit one message, with their scores: what the
 * rules and every stage add to, and what the verdict is computed from.
 * Kept below the rules and the pipeline so that both write to it without
 * calling each other.  One message, one thread.
 */
#ifndef PARAPET_HITS_H
#define PARAPET_HITS_H

#include <stdbool.h>
#include <stddef.h>

/* one symbol that hit */
struct hit {
	const char *name;	/* borrowed from the rule set or static */
	double score;
	const char *desc;	/* borrowed; may be NULL */
	char *detail;		/* owned: matched text or the reason; may be NULL */
};

struct hits {
	struct hit *v;
	size_t n;
	size_t cap;
	double score;		/* the sum of every hit's score */
	struct hits *subrules;	/* not NULL: the __ rules that hit are added
				 * here, score 0 (parapetctl scan --subrules);
				 * borrowed, never cleared with this list */
};

/*
 * hits_add - a symbol hit with an explicit score.  name and desc are
 * borrowed and must outlive the list; detail is copied (may be NULL).
 */
void hits_add(struct hits *h, const char *name, double score, const char *desc,
	      const char *detail);
/* hits_has - did the symbol hit? */
bool hits_has(const struct hits *h, const char *name);
/* hits_clear - free the details and the array; the list is empty again */
void hits_clear(struct hits *h);

#endif
