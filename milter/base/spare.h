/*
 * spare.h - a process-wide shelf of spare per-thread scratch objects.
 * Scratch kept per thread (uri.c's canonicalization buffers, auth.c's
 * address-walk texts) is made at a thread's first use and, when the
 * thread ends, put on the shelf for the next thread instead of freed:
 * libmilter's threads live one connection, often one message, so without
 * the shelf every message would grow its scratch again.
 *
 * Thread safety: the shelf's own mutex, taken once per thread start and
 * end, never per message.  Caps (STYLE rule 7): SPARE_MAX objects wait
 * on a shelf; past that spare_give refuses and the caller frees.
 */
#ifndef PARAPET_SPARE_H
#define PARAPET_SPARE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#define SPARE_MAX 32

struct spare {
	pthread_mutex_t lock;
	void *v[SPARE_MAX];
	size_t n;
};

#define SPARE_INIT { PTHREAD_MUTEX_INITIALIZER, { NULL }, 0 }

/* spare_take - an object from the shelf, or NULL when it is empty */
void *spare_take(struct spare *s);
/* spare_give - put p on the shelf; false when it is full (p is still the
 * caller's) */
bool spare_give(struct spare *s, void *p);

#endif
