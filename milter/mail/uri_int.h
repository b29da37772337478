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
 * kept by the URI set for the next one: a message's URIs cost no
 * malloc/free each once the buffers have grown
 */
struct uri_scratch {
	struct uri_canon_tmp t[URI_CANON_LEVELS];
	struct buf all;		/* the variants, each NUL-terminated */
	struct buf tmp;		/* one variant being put together */
	struct buf lower;	/* has_domain's copy */
};

#endif
