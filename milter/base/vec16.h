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

/* vec16_last - the last lane of m (lanes 0 or 0xff) that is set, in
 * memory order; 16 if none */
static inline unsigned vec16_last(u8x16 m)
{
	uint64_t lo, hi;

	memcpy(&lo, &m, 8);
	memcpy(&hi, (const unsigned char *)&m + 8, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (hi)
		return 15 - (unsigned)__builtin_clzll(hi) / 8;
	return lo ? 7 - (unsigned)__builtin_clzll(lo) / 8 : 16;
#else
	if (hi)
		return 15 - (unsigned)__builtin_ctzll(hi) / 8;
	return lo ? 7 - (unsigned)__builtin_ctzll(lo) / 8 : 16;
#endif
}

/* vec16_mask - the lanes of m (lanes 0 or 0xff) that are set, bit i for
 * lane i (memory order) */
static inline unsigned vec16_mask(u8x16 m)
{
	static const u8x16 weight = { 1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128 };
	uint64_t lo, hi;

	m &= weight;
	memcpy(&lo, &m, 8);
	memcpy(&hi, (const unsigned char *)&m + 8, 8);
	/* the top byte of x * 0x0101..01 is the sum of x's bytes, whatever
	 * their order; distinct bits do not carry */
	lo = (lo * 0x0101010101010101ULL) >> 56;
	hi = (hi * 0x0101010101010101ULL) >> 56;
	return (unsigned)(lo | hi << 8);
}

#endif
