/*
 * vec16.h - 16 bytes at a time with GCC/Clang vector extensions (SSE2,
 * NEON or plain code, whatever the target has), for the scanners that
 * look for a few byte values in long runs (mail/mime_skip.c,
 * stages/auth/dkim_body.c).  Header only; no state.
 */
#ifndef PARAPET_VEC16_H
#define PARAPET_VEC16_H

#include <stdint.h>
#include <string.h>

typedef unsigned char u8x16 __attribute__((vector_size(16)));
typedef signed char s8x16 __attribute__((vector_size(16)));

/* vec16_load - the 16 bytes at p, any alignment */
static inline u8x16 vec16_load(const unsigned char *p)
{
	u8x16 c;

	memcpy(&c, p, sizeof(c));
	return c;
}

/* vec16_first - the first lane of m (lanes 0 or 0xff) that is set, in
 * memory order; 16 if none */
static inline unsigned vec16_first(u8x16 m)
{
	uint64_t lo, hi;

	memcpy(&lo, &m, 8);
	memcpy(&hi, (const unsigned char *)&m + 8, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (lo)
		return (unsigned)__builtin_ctzll(lo) / 8;
	return hi ? 8 + (unsigned)__builtin_ctzll(hi) / 8 : 16;
#else
	if (lo)
		return (unsigned)__builtin_clzll(lo) / 8;
	return hi ? 8 + (unsigned)__builtin_clzll(hi) / 8 : 16;
#endif
}

#endif
