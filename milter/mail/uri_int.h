/*
 * uri_int.h - what uri.c and uri_scan.c share and nobody else sees: the
 * working buffers canonicalization keeps in a URI set from one URI to
 * the next.  uri_scan.c makes and writes them, uri.c frees them with the
 * set.  Not for the rest of parapet (uri.h is).
 */
#ifndef PARAPET_URI_INT_H
#define PARAPET_URI_INT_H

#include "base/util.h"

#define URI_CANON_LEVELS 5	/* a URI and the redirect targets inside it */

/* the working buffers of canonicalization at one redirector depth */
struct uri_canon_tmp {
	struct buf u, n, d, ip, raw, host, nhost, h2;
};

/*
 * struct uri_scratch - what canonicalizing a URI (uri_scan.c) writes to,
 * one per thread, kept from one URI to the next and from one message to
 * the next: URIs cost no malloc/free each once the buffers have grown.
 * Only used within one call of uri_add_found or uri_scan_text (they do
 * not nest), so the URI sets a thread has can share it.
 */
struct uri_scratch {
	struct uri_canon_tmp t[URI_CANON_LEVELS];
	struct buf all;		/* the variants, each NUL-terminated */
	struct buf tmp;		/* one variant being put together */
	struct buf lower;	/* has_domain's copy */
	struct buf found;	/* a URI found in text, with its scheme */
};

/* uri_scratch_get - the calling thread's scratch buffers (made at its
 * first call, freed when the thread ends) */
struct uri_scratch *uri_scratch_get(void);

#endif
