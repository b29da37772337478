/*
 * dkim_body.h - the DKIM body hash (RFC 6376 §3.4.3, §3.4.4, §3.7) of a
 * body that streams in chunks: simple or relaxed canonicalization, SHA-1
 * or SHA-256, the whole body (no l=).  libopendkim canonicalizes a byte at
 * a time with a function call per byte (relaxed) and was most of the
 * daemon's CPU on a large message; this one copies at memcpy's pace and
 * hashes with OpenSSL in blocks.
 */
#ifndef PARAPET_DKIM_BODY_H
#define PARAPET_DKIM_BODY_H

#include <stdbool.h>
#include <stddef.h>

#define DKIM_BODY_DIGEST_MAX 64	/* EVP_MAX_MD_SIZE */

struct dkim_bodyhash;

/* dkim_bodyhash_new - a hash of one canonicalization and algorithm;
 * NULL when OpenSSL cannot make the digest */
struct dkim_bodyhash *dkim_bodyhash_new(bool relaxed, bool sha1);

/* dkim_bodyhash_add - one chunk of the body, split anywhere */
void dkim_bodyhash_add(struct dkim_bodyhash *h, const void *data, size_t len);

/* dkim_bodyhash_final - the digest into out; its length (0 on error).
 * Once only. */
size_t dkim_bodyhash_final(struct dkim_bodyhash *h, unsigned char out[DKIM_BODY_DIGEST_MAX]);

/* dkim_bodyhash_bytes - canonicalized bytes hashed so far */
size_t dkim_bodyhash_bytes(const struct dkim_bodyhash *h);

/* dkim_bodyhash_matches - is a digest the one a bh= tag value names
 * (base64, folding whitespace ignored)? */
bool dkim_bodyhash_matches(const unsigned char *d, size_t n, const char *bh);

/* dkim_bodyhash_free - NULL is fine */
void dkim_bodyhash_free(struct dkim_bodyhash *h);

#endif
