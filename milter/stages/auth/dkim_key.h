/*
 * dkim_key.h - DKIM public keys decoded once (dkim_key.c defines
 * OpenSSL's d2i_PUBKEY_bio for libopendkim, with a cache of decoded keys).
 *
 * Caps (STYLE rule 7): DKIM_KEY_CACHE keys of at most DKIM_KEY_MAX_DER
 * bytes of DER (an 8192-bit RSA key is about 1,100).
 */
#ifndef PARAPET_DKIM_KEY_H
#define PARAPET_DKIM_KEY_H

#include <stdbool.h>

#define DKIM_KEY_CACHE 64
#define DKIM_KEY_MAX_DER 2048

/* dkim_key_init - find OpenSSL's own d2i_PUBKEY_bio before the first
 * message (libopendkim's calls come to parapet's); false if it cannot be
 * found (no key the cache does not hold could be decoded) */
bool dkim_key_init(void);

/* dkim_key_scope - on: this thread's d2i_PUBKEY_bio calls come from
 * libopendkim verifying a signature and may be answered from the cache;
 * off (the default): they go to OpenSSL's own */
void dkim_key_scope(bool on);

/* dkim_key_stats - keys answered from the cache, and decoded, so far */
void dkim_key_stats(unsigned long *hit, unsigned long *miss);

#endif
