/*
 * date.h - dates of header fields read as SpamAssassin 4 reads them
 * (Util.pm parse_rfc822_date): lenient, a day and month and year found
 * anywhere, a time and zone if there are, out-of-range parts moved into
 * range, years clamped to 1970..2037.  The header evals compare these
 * times (DATE_IN_PAST_*, MSGID_OUTLOOK_INVALID), so they must be the same
 * seconds SpamAssassin computes, oddities included.
 *
 * Caps (STYLE rule 7): DATE_MAX_LEN bytes of the text are read.
 */
#ifndef PARAPET_DATE_H
#define PARAPET_DATE_H

#include <stdbool.h>
#include <stddef.h>

#define DATE_MAX_LEN 8192

/*
 * date_parse - seconds since the epoch of the date in text (len bytes),
 * false if SpamAssassin finds none (no day-month-year, or day 0)
 */
bool date_parse(const char *text, size_t len, long long *out);

#endif
