/*
 * arena.c - one message's allocations in a few chunks (see arena.h).
 *
 * A chunk is a header and its bytes; allocations are 16-byte aligned and
 * taken from the front of the newest chunk.  A request that does not fit
 * what is left starts a new chunk (what was left is not used again).
 *
 * Thread safety: an arena belongs to one thread at a time.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/util.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#endif
#endif
#ifndef POISON
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define ALIGN 16

struct arena_chunk {
	struct arena_chunk *prev;
	size_t size, off;	/* bytes in data[], bytes handed out */
	_Alignas(ALIGN) unsigned char data[];
};

/* arena_init - see arena.h */
void arena_init(struct arena *a, size_t limit)
{
	a->head = NULL;
	a->used = 0;
	a->limit = limit;
	a->next = ARENA_CHUNK_MIN;
}

/* chunk_new - a chunk with room for n bytes at least */
static void chunk_new(struct arena *a, size_t n)
{
	size_t size = n > a->next ? n : a->next;

	if (size > a->limit || a->used > a->limit - size)
		oom(size);
	struct arena_chunk *c = xmalloc(sizeof(*c) + size);
	c->prev = a->head;
	c->size = size;
	c->off = 0;
	POISON(c->data, size);
	a->head = c;
	a->used += size;
	if (n <= a->next && a->next < ARENA_CHUNK_MAX)
		a->next *= 2;
}

/* arena_alloc - see arena.h */
void *arena_alloc(struct arena *a, size_t n)
{
	struct arena_chunk *c = a->head;
	size_t need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);

	if (need < n)
		oom(SIZE_MAX);
	if (c == NULL || c->size - c->off < need) {
		chunk_new(a, need);
		c = a->head;
	}
	void *p = c->data + c->off;
	c->off += need;
	UNPOISON(p, n);
	return p;
}

/* arena_calloc - see arena.h */
void *arena_calloc(struct arena *a, size_t n)
{
	void *p = arena_alloc(a, n);

	memset(p, 0, n);
	return p;
}

/* copy - n bytes of s and a NUL */
static char *copy(struct arena *a, const char *s, size_t n)
{
	if (n == SIZE_MAX)
		oom(SIZE_MAX);
	char *p = arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* arena_strndup - see arena.h */
char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	return copy(a, s, strnlen(s, n));
}

/* arena_strdup - see arena.h */
char *arena_strdup(struct arena *a, const char *s)
{
	return copy(a, s, strlen(s));
}

/* arena_free - see arena.h */
void arena_free(struct arena *a)
{
	for (struct arena_chunk *c = a->head, *prev; c; c = prev) {
		prev = c->prev;
		UNPOISON(c->data, c->size);
		free(c);
	}
	arena_init(a, a->limit);
}
