/*
 * util.h - allocation that never fails, growable byte buffers, small
 * string helpers.  Allocation failure is fatal (STYLE.md rule 5): the MTA's
 * milter_default_action covers a milter that dies.
 */
#ifndef PARAPET_UTIL_H
#define PARAPET_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <stdbool.h>

/* oom - report a failed allocation of n bytes and abort */
void oom(size_t n) __attribute__((noreturn));
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* xasprintf - formatted string in fresh memory */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* struct buf - growable byte buffer, always NUL-terminated */
struct buf {
	char *data;
	size_t len;
	size_t cap;
};

void buf_init(struct buf *b);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);
void buf_append(struct buf *b, const void *data, size_t len);
/* buf_reserve - room for n more bytes (appending them moves nothing) */
void buf_reserve(struct buf *b, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
/* buf_put_utf8 - append code point cp as UTF-8 */
void buf_put_utf8(struct buf *b, uint32_t cp);
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* mem_keep_large - let the allocator keep freed blocks of a few times
 * largest bytes (a message's buffers: max_scan_bytes) for reuse, not
 * give them back to the kernel and fault them in again zeroed for the
 * next message (glibc: M_MMAP_THRESHOLD 4 x largest, 4 to 32 MB, and
 * M_TRIM_THRESHOLD twice that).  Called once at start-up. */
void mem_keep_large(size_t largest);

/* str_trim - pointer to the first non-space of s; the tail is cut in place */
char *str_trim(char *s);
/* str_next_word - split off the next white-space separated word of *p
 * (NUL-terminated in place; *p moves past it); NULL at the end */
char *str_next_word(char **p);
/* mem_holds_nocase - does s[0, n) hold lit[0, len), ASCII case ignored?
 * Bytes, not strings: either may hold a NUL */
bool mem_holds_nocase(const char *s, size_t n, const char *lit, size_t len);
/* mem_ascii_only - no byte of p[0, n) has the high bit set */
bool mem_ascii_only(const char *p, size_t n);
/* str_ptr_cmp - strcmp of two char * array elements, for qsort/bsearch */
int str_ptr_cmp(const void *a, const void *b);
/* str_lower - lower-case s in place (ASCII), returns s */
char *str_lower(char *s);
/* str_ieq - ASCII case-insensitive equality */
bool str_ieq(const char *a, const char *b);
/* str_hash - FNV-1a of n bytes of p for hash indexes, ASCII letters
 * folded to lower case if fold (not keyed: callers cap their tables) */
uint32_t str_hash(const char *p, size_t n, bool fold);

/* c_space, c_digit, c_alnum - isspace, isdigit, isalnum in the C locale
 * parapet runs in (no setlocale), as compares: scanners that ask them of
 * every byte skip the ctype table's thread-local lookup */
static inline bool c_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static inline bool c_digit(unsigned char c)
{
	return (unsigned char)(c - '0') < 10;
}

static inline bool c_alnum(unsigned char c)
{
	return (unsigned char)((c | 0x20) - 'a') < 26 || c_digit(c);
}

/* c_hexval - the value of a hex digit (either case), -1 for any other
 * byte */
static inline int c_hexval(unsigned char c)
{
	if (c_digit(c))
		return c - '0';
	return (unsigned char)((c | 0x20) - 'a') < 6 ? (c | 0x20) - 'a' + 10 : -1;
}

/* c_lower - tolower in the C locale */
static inline unsigned char c_lower(unsigned char c)
{
	return (unsigned char)(c - 'A') < 26 ? (unsigned char)(c + 32) : c;
}

/* monotonic clock in milliseconds (fractional) */
double now_ms(void);
/* deadline_timespec - CLOCK_MONOTONIC time left_ms from now, for
 * pthread_cond_timedwait on a condition whose clock is CLOCK_MONOTONIC */
struct timespec deadline_timespec(double left_ms);

#endif
