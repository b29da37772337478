/*
 * uri.h - the URIs of a message, for uri rules: a deduplicated, capped
 * list built from HTML attributes (html.c) and from bare URIs found in
 * text.  Owned by one message; not thread-safe.
 *
 * Caps (STYLE rule 7): URI_MAX_COUNT URIs, each at most URI_MAX_LEN bytes.
 * Past a cap URIs are dropped or cut and uri_set.capped says why.
 */
#ifndef PARAPET_URI_H
#define PARAPET_URI_H

#include <stdbool.h>
#include <stddef.h>

#define URI_MAX_COUNT 1000
#define URI_MAX_LEN 2048

struct uri_set {
	char **v;		/* owned, in the order first seen */
	size_t n;
	unsigned *slots;	/* open-addressing index into v, 0 = empty */
	const char *capped;	/* static: why the list is incomplete, or NULL */
};

void uri_set_init(struct uri_set *s);
/* uri_set_free - release the strings and the index; s can be reused */
void uri_set_free(struct uri_set *s);
/* uri_set_add - one URI as found (surrounding space trimmed); copied */
void uri_set_add(struct uri_set *s, const char *uri, size_t len);
/*
 * uri_scan_text - add every bare URI in plain text: http://, https://,
 * ftp://, mailto: and www. (the last stored as "http://www...").
 */
void uri_scan_text(struct uri_set *s, const char *text, size_t len);
/* uri_set_take - hand the list over (NULL-terminated array the caller
 * frees with uri_list_free); s is left empty */
char **uri_set_take(struct uri_set *s, size_t *n);
/* uri_host - the host of uri (scheme://[user@]host[:port]/...; an IPv6
 * literal without brackets), lower case, without trailing dots, into out;
 * false for mailto: and when there is none or it does not fit cap */
bool uri_host(const char *uri, char *out, size_t cap);
/* uri_list_free - free a list from uri_set_take; returns NULL */
char **uri_list_free(char **list);

#endif
