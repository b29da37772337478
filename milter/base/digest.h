/*
 * digest.h - SHA-1 in hex, for Redis script names (EVALSHA, which Redis
 * defines as the SHA-1 of the script body) and greylist triplet keys.
 * Not used for anything that needs collision resistance against an
 * attacker: a colliding triplet only shares a greylist entry.
 */
#ifndef PARAPET_DIGEST_H
#define PARAPET_DIGEST_H

#include <stddef.h>

#define DIGEST_SHA1_HEX 41	/* 40 hex digits and the NUL */

/* digest_sha1_hex - lower-case hex SHA-1 of data into out */
void digest_sha1_hex(const void *data, size_t len, char out[DIGEST_SHA1_HEX]);

#endif
