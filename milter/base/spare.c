/*
 * spare.c - the shelf of spare per-thread scratch objects (see spare.h).
 * Owns the pointers on the shelf until they are taken; thread-safe (one
 * mutex per shelf); at most SPARE_MAX of them.
 */
#include "autoconfig.h"

#include "base/spare.h"

/* spare_take - see spare.h */
void *spare_take(struct spare *s)
{
	void *p = NULL;

	pthread_mutex_lock(&s->lock);
	if (s->n > 0)
		p = s->v[--s->n];
	pthread_mutex_unlock(&s->lock);
	return p;
}

/* spare_give - see spare.h */
bool spare_give(struct spare *s, void *p)
{
	bool kept = false;

	pthread_mutex_lock(&s->lock);
	if (s->n < SPARE_MAX) {
		s->v[s->n++] = p;
		kept = true;
	}
	pthread_mutex_unlock(&s->lock);
	return kept;
}
