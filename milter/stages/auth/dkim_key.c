/*
 * dkim_key.c - DKIM public keys decoded once, not once per message.
 *
 * libopendkim (2.11) decodes the key of every signature it verifies from
 * DER with d2i_PUBKEY_bio and takes the RSA key out of it with
 * EVP_PKEY_get1_RSA; it has no call that takes a decoded key or keeps
 * one (dkim_set_key_lookup hands it the record's text, and its
 * DKIM_LIBFLAGS_CACHE keeps only that text).  With OpenSSL 3 those two
 * calls cost 0.4-0.6 ms for a 2048-bit key on the bench machine, more
 * than the rest of a newsletter's verification.  So parapet defines
 * d2i_PUBKEY_bio itself: the dynamic linker binds libopendkim's
 * reference to the executable's definition first.  A memory BIO whose
 * whole content is one DER public key is answered from a small cache of
 * decoded keys (the caller gets its own reference: EVP_PKEY_up_ref), so
 * a key seen before costs a memcmp, and OpenSSL's legacy RSA copy made
 * by EVP_PKEY_get1_RSA stays cached in the shared EVP_PKEY.  Anything
 * else (another BIO type, a reused *a, trailing bytes, a decoding error)
 * goes to OpenSSL's own function, found with dlsym(RTLD_NEXT).
 *
 * Only libopendkim's calls are answered from the cache: dkim.c opens a
 * scope (dkim_key_scope) around the library calls that verify, a flag
 * of the calling thread, and outside it every call goes straight to
 * OpenSSL, so another library in the process decoding a key from a
 * memory BIO gets OpenSSL's behaviour, untouched.  Keys answered and
 * decoded are counted in /metrics (parapet_dkim_keys_*_total).
 *
 * The cache is keyed by the exact DER bytes, so a changed DNS record is
 * simply another key; it holds DKIM_KEY_CACHE keys of at most
 * DKIM_KEY_MAX_DER bytes, the least recently used replaced.
 *
 * Thread safety: one mutex around the cache; EVP_PKEY_up_ref, _free and
 * get1_RSA are thread-safe on a shared key in OpenSSL 3.
 */
#include "autoconfig.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "net/metrics.h"
#include "stages/auth/dkim_key.h"

struct cached_key {
	EVP_PKEY *key;		/* NULL: a free slot */
	uint64_t used;		/* tick of the last hit */
	size_t n;
	unsigned char der[DKIM_KEY_MAX_DER];
};

typedef EVP_PKEY *(*d2i_pubkey_bio_fn)(BIO *, EVP_PKEY **);

static struct cached_key cache[DKIM_KEY_CACHE];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t tick;
static unsigned long hits, misses;
static d2i_pubkey_bio_fn real_d2i;
static pthread_once_t real_once = PTHREAD_ONCE_INIT;
static __thread bool in_scope;	/* this thread is inside libopendkim's verify */

/* find_real - OpenSSL's d2i_PUBKEY_bio, the next definition after ours */
static void find_real(void)
{
	real_d2i = (d2i_pubkey_bio_fn)dlvsym(RTLD_NEXT, "d2i_PUBKEY_bio", "OPENSSL_3.0.0");
	if (real_d2i == NULL)
		real_d2i = (d2i_pubkey_bio_fn)dlsym(RTLD_NEXT, "d2i_PUBKEY_bio");
}

/* real_decode - OpenSSL's own d2i_PUBKEY_bio (NULL if it cannot be found) */
static EVP_PKEY *real_decode(BIO *bp, EVP_PKEY **a)
{
	pthread_once(&real_once, find_real);
	return real_d2i ? real_d2i(bp, a) : NULL;
}

/* cache_get - a new reference to the cached key of der[0..n), or NULL */
static EVP_PKEY *cache_get(const unsigned char *der, size_t n)
{
	EVP_PKEY *k = NULL;

	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < DKIM_KEY_CACHE && k == NULL; i++) {
		struct cached_key *c = &cache[i];
		if (c->key != NULL && c->n == n && memcmp(c->der, der, n) == 0 && EVP_PKEY_up_ref(c->key)) {
			c->used = ++tick;
			k = c->key;
		}
	}
	if (k != NULL)
		hits++;
	else
		misses++;
	pthread_mutex_unlock(&cache_lock);
	metrics_inc(k != NULL ? METRIC_DKIM_KEYS_CACHED : METRIC_DKIM_KEYS_DECODED);
	return k;
}

/* cache_put - keep a reference to key as the key of der[0..n), in a free
 * slot or the least recently used one (not twice: two threads may have
 * decoded the same key at once) */
static void cache_put(const unsigned char *der, size_t n, EVP_PKEY *key)
{
	struct cached_key *c = NULL;
	EVP_PKEY *old;

	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < DKIM_KEY_CACHE; i++) {
		struct cached_key *e = &cache[i];
		if (e->key != NULL && e->n == n && memcmp(e->der, der, n) == 0) {
			pthread_mutex_unlock(&cache_lock);
			return;
		}
		if (c == NULL || (c->key != NULL && (e->key == NULL || e->used < c->used)))
			c = e;
	}
	if (!EVP_PKEY_up_ref(key)) {
		pthread_mutex_unlock(&cache_lock);
		return;
	}
	old = c->key;
	c->key = key;
	c->used = ++tick;
	c->n = n;
	memcpy(c->der, der, n);
	pthread_mutex_unlock(&cache_lock);
	EVP_PKEY_free(old);
}

/* d2i_PUBKEY_bio - OpenSSL's, with decoded keys kept (see the top) */
EVP_PKEY *d2i_PUBKEY_bio(BIO *bp, EVP_PKEY **a)
{
	char *data = NULL;
	long len;

	if (!in_scope || a != NULL || bp == NULL || BIO_method_type(bp) != BIO_TYPE_MEM ||
	    (len = BIO_get_mem_data(bp, &data)) <= 0 || (size_t)len > DKIM_KEY_MAX_DER)
		return real_decode(bp, a);
	const unsigned char *der = (const unsigned char *)data, *end = der;
	size_t n = (size_t)len;
	EVP_PKEY *k = cache_get(der, n);
	if (k == NULL) {
		k = d2i_PUBKEY(NULL, &end, len);
		if (k == NULL || (size_t)(end - der) != n) {	/* not one whole key */
			EVP_PKEY_free(k);
			return real_decode(bp, a);
		}
		cache_put(der, n, k);
	}
	unsigned char skip[256];	/* consume the key, as OpenSSL's does */
	for (size_t left = n; left > 0;) {
		int r = BIO_read(bp, skip, (int)(left < sizeof(skip) ? left : sizeof(skip)));
		if (r <= 0)
			break;
		left -= (size_t)r;
	}
	return k;
}

/* dkim_key_init - see dkim_key.h */
bool dkim_key_init(void)
{
	pthread_once(&real_once, find_real);
	return real_d2i != NULL;
}

/* dkim_key_scope - see dkim_key.h */
void dkim_key_scope(bool on)
{
	in_scope = on;
}

/* dkim_key_stats - see dkim_key.h */
void dkim_key_stats(unsigned long *hit, unsigned long *miss)
{
	pthread_mutex_lock(&cache_lock);
	*hit = hits;
	*miss = misses;
	pthread_mutex_unlock(&cache_lock);
}
