/*
 * mboxfile.h - feed an RFC 5322 message file (optionally with an mbox
 * "From " first line, LF or CRLF endings) into a scan exactly as an MTA
 * would hand it over the milter protocol: one call per header field with
 * the raw value after the colon, then the body with CRLF line ends.
 * Used by parapetctl scan, the tests and the benchmarks.
 */
#ifndef PARAPET_MBOXFILE_H
#define PARAPET_MBOXFILE_H

#include <stddef.h>

struct scan;

/* mboxfile_feed - headers, end of headers and body of data into sc */
void mboxfile_feed(struct scan *sc, const char *data, size_t len);
/* mboxfile_read - a whole file or "-" for stdin; NULL and errno on error */
char *mboxfile_read(const char *path, size_t *len);

#endif
