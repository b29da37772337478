/*
 * uri.h - the URIs of a message, for uri rules: a deduplicated, capped
 * list built from HTML attributes (html.c) and from URIs found in text,
 * each with the canonical variants SpamAssassin 4 adds beside it
 * (get_uri_list: raw and "cleaned" forms).  Owned by one message; not
 * thread-safe.
 *
 * Caps (STYLE rule 7): URI_MAX_COUNT URIs, each at most URI_MAX_LEN bytes.
 * Past a cap URIs are dropped or cut and uri_set.capped says why.
 */
#ifndef PARAPET_URI_H
#define PARAPET_URI_H

#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"

struct arena;

#define URI_MAX_COUNT 1000
#define URI_MAX_LEN 2048
/* where Debian's publicsuffix package puts the list (as dmarc.h) */
#define URI_PSL_PATH "/usr/share/publicsuffix/public_suffix_list.dat"

struct uri_set {
	char **v;		/* in the order first seen; the array is
				 * malloc'd, the strings too unless arena */
	size_t n;
	struct arena *arena;	/* where the strings and the taken list
				 * live (uri_set_init_in), or NULL */
	unsigned *slots;	/* open-addressing index into v, 0 = empty */
	const char *capped;	/* static: why the list is incomplete, or NULL */
};


void uri_set_init(struct uri_set *s);
/*
 * uri_set_init_in - empty list whose strings, index and taken list are
 * allocated in a (its owner's arena, freed with it): a message's URIs
 * then cost no malloc/free each.  The strings are borrowed until a is
 * freed; uri_set_free and uri_list_free leave them to it.
 */
void uri_set_init_in(struct uri_set *s, struct arena *a);
/* uri_set_free - release the strings and the index; s can be reused
 * (with the same arena, if any) */
void uri_set_free(struct uri_set *s);
/* uri_set_add - one URI as found (surrounding space trimmed); copied */
void uri_set_add(struct uri_set *s, const char *uri, size_t len);
/*
 * uri_add_found - a URI from an HTML attribute: skipped when it is only
 * a fragment, query or path ("#x", "?q", "/img.gif"), else added with
 * its canonical variants (uri_scan.c)
 */
void uri_add_found(struct uri_set *s, const char *uri, size_t len);
/*
 * uri_scan_text - add every URI in plain text the way SpamAssassin 4
 * finds them (PerMsgStatus _tbirdurire): http://, https://, ftp://,
 * www[N]. and ftp. (stored as http:// and ftp://), mailto: and bare
 * e-mail addresses (stored as mailto:), host names ending in a valid TLD
 * (stored as http://); each with its canonical variants, and only when
 * one of them names a host with a valid TLD (or an IP address).
 */
void uri_scan_text(struct uri_set *s, const char *text, size_t len);
/* uri_tld_valid - is the n bytes at tld (any case) a top-level domain?
 * The TLDs of the Public Suffix List's ICANN section (URI_PSL_PATH), or a
 * built-in list of the common ones when the file cannot be read. */
bool uri_tld_valid(const char *tld, size_t n);
/* uri_domain_valid - SpamAssassin's is_domain_valid: at least one dot,
 * no white space, the last label a valid TLD */
bool uri_domain_valid(const char *d, size_t n);
/* uri_set_take - hand the list over (NULL-terminated array the caller
 * frees with uri_list_free, or in the set's arena: freed with it, and
 * with no URI a static empty list, read only); s is left empty */
char **uri_set_take(struct uri_set *s, size_t *n);
/* uri_host - the host of uri (scheme://[user@]host[:port]/...; an IPv6
 * literal without brackets), lower case, without trailing dots, into out;
 * false for mailto: and when there is none, it does not fit cap, or it is
 * not a host SpamAssassin looks up (uri_host_valid) */
bool uri_host(const char *uri, char *out, size_t cap);
/* uri_host_valid - SpamAssassin's uri_to_domain accepts host h (lower
 * case): an IPv4 address, or a valid host name (is_fqdn_valid) with a
 * valid TLD and no %-escape left undecoded */
bool uri_host_valid(const char *h);
/* uri_list_free - free a list from uri_set_take of a set without an
 * arena; returns NULL */
char **uri_list_free(char **list);

#endif
