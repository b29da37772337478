/*
 * diag.h - collected errors and warnings with file:line, for loading rule
 * files and configs: lint prints them all, the daemon logs them.
 */
#ifndef PARAPET_DIAG_H
#define PARAPET_DIAG_H

#include <stddef.h>

struct diag {
	char **lines;		/* "FILE:LINE: error: ..." */
	size_t n;
	int errors;
	int warnings;
};

/* file NULL: the message already names file and line */
void diag_init(struct diag *d);
void diag_free(struct diag *d);
void diag_error(struct diag *d, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void diag_warn(struct diag *d, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
