/*
 * digest.c - SHA-1 through GLib's GChecksum.  GLib is already linked (GMime
 * is built on it), so no crypto library is added for one hash; this is the
 * only file that includes glib.h directly (STYLE rule 2).  Thread-safe:
 * each call has its own GChecksum.
 */
#include "autoconfig.h"

#include <glib.h>
#include <string.h>

#include "base/digest.h"

/* digest_sha1_hex - hex SHA-1 of data */
void digest_sha1_hex(const void *data, size_t len, char out[DIGEST_SHA1_HEX])
{
	GChecksum *ck = g_checksum_new(G_CHECKSUM_SHA1);

	g_checksum_update(ck, data, (gssize)len);
	/* g_checksum_get_string: 40 lower-case hex digits, owned by ck */
	memcpy(out, g_checksum_get_string(ck), DIGEST_SHA1_HEX - 1);
	out[DIGEST_SHA1_HEX - 1] = '\0';
	g_checksum_free(ck);
}
