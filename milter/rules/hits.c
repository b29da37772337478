/*
 * hits.c - the list of symbols that hit one message (hits.h).
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "rules/hits.h"

/* hits_add - record a hit and add its score */
void hits_add(struct hits *h, const char *name, double score, const char *desc,
	      const char *detail)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 16;
		h->v = xrealloc(h->v, h->cap * sizeof(*h->v));
	}
	h->v[h->n++] = (struct hit){
		.name = name,
		.score = score,
		.desc = desc,
		.detail = detail ? xstrdup(detail) : NULL,
	};
	h->score += score;
}

/* hits_has - did a symbol hit? */
bool hits_has(const struct hits *h, const char *name)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->v[i].name, name) == 0)
			return true;
	return false;
}

/* hits_clear - release every detail and the array */
void hits_clear(struct hits *h)
{
	for (size_t i = 0; i < h->n; i++)
		free(h->v[i].detail);
	free(h->v);
	*h = (struct hits){ 0 };
}
