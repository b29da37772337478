/*
 * arena.h - a bump allocator for what lives exactly as long as one
 * message: allocations are carved from chunks and all released at once
 * by arena_free, never one by one.  One thread at a time.
 *
 * Caps (STYLE rule 7): chunks grow from ARENA_CHUNK_MIN to
 * ARENA_CHUNK_MAX bytes (a larger request gets a chunk of its own); the
 * arena's total is capped by the limit given to arena_init, past which an
 * allocation is fatal like any other out-of-memory (util.h).  Under
 * AddressSanitizer the unused bytes of a chunk are poisoned, so reading
 * past an allocation is reported as with malloc.
 */
#ifndef PARAPET_ARENA_H
#define PARAPET_ARENA_H

#include <stddef.h>

#define ARENA_CHUNK_MIN 4096
#define ARENA_CHUNK_MAX (64 * 1024)

struct arena_chunk;
struct arena {
	struct arena_chunk *head;	/* the chunk allocations come from */
	size_t used, limit;		/* bytes of chunks held; the cap */
	size_t next;			/* size of the next chunk */
};

/* arena_init - empty arena allowed limit bytes in all (no allocation yet) */
void arena_init(struct arena *a, size_t limit);
/* arena_alloc - n bytes aligned for any type; never NULL */
void *arena_alloc(struct arena *a, size_t n);
/* arena_calloc - n zeroed bytes */
void *arena_calloc(struct arena *a, size_t n);
/* arena_strndup - at most n bytes of s (up to its NUL), NUL-terminated */
char *arena_strndup(struct arena *a, const char *s, size_t n);
/* arena_strdup - a copy of s */
char *arena_strdup(struct arena *a, const char *s);
/* arena_free - release every allocation; the arena is empty again */
void arena_free(struct arena *a);

#endif
