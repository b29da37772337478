/*
 * date.c - SpamAssassin's reading of a date (see date.h).  Its Perl
 * normalises the text (commas and white space runs become one space,
 * the text is padded with a space each side), then takes out, in turn
 * and each at its leftmost place, a day-month-year part (three forms
 * tried in order), a "hh:mm[:ss]" time, and a "+hhmm" zone or else the
 * first word of two to four capitals, which counts only if it names a
 * zone of its table.  Each part taken out leaves one space, so a later
 * part never sees an earlier one: the ctime form "Mon Jan 1 10:00:00
 * 2002" loses its time with its date and reads as midnight, as in
 * SpamAssassin.
 *
 * Pure functions on a private copy, thread safe.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/date.h"
#include "base/util.h"

#define DATE_NUM_MAX 1000000000LL	/* digit runs saturate here */

/* SpamAssassin's zone names (Util.pm %TZ) and their offsets */
static const struct {
	const char *name;
	const char *off;
} date_zones[] = {
	{ "UT", "+0000" }, { "UTC", "+0000" },
	{ "NDT", "-0230" }, { "AST", "-0400" }, { "ADT", "-0300" }, { "NST", "-0330" },
	{ "EST", "-0500" }, { "EDT", "-0400" }, { "CST", "-0600" }, { "CDT", "-0500" },
	{ "MST", "-0700" }, { "MDT", "-0600" }, { "PST", "-0800" }, { "PDT", "-0700" },
	{ "HST", "-1000" }, { "AKST", "-0900" }, { "AKDT", "-0800" }, { "HADT", "-0900" },
	{ "HAST", "-1000" },
	{ "GMT", "+0000" }, { "BST", "+0100" }, { "IST", "+0100" }, { "WET", "+0000" },
	{ "WEST", "+0100" }, { "CET", "+0100" }, { "CEST", "+0200" }, { "EET", "+0200" },
	{ "EEST", "+0300" }, { "MSK", "+0300" }, { "MSD", "+0400" }, { "MET", "+0100" },
	{ "MEZ", "+0100" }, { "MEST", "+0200" }, { "MESZ", "+0200" },
	{ "BRST", "-0200" }, { "BRT", "-0300" },
	{ "AEST", "+1000" }, { "AEDT", "+1100" }, { "ACST", "+0930" }, { "ACDT", "+1030" },
	{ "AWST", "+0800" },
	{ "NZST", "+1200" }, { "NZDT", "+1300" },
	{ "JST", "+0900" }, { "KST", "+0900" }, { "HKT", "+0800" }, { "SGT", "+0800" },
	{ "PHT", "+0800" },
	{ "IDT", "+0300" },
};

static const char date_months[] = "janfebmaraprmayjunjulaugsepoctnovdec";

/* date_month - 1..12 for a month abbreviation at s (any case), else 0 */
static int date_month(const char *s)
{
	char m[4];

	for (int i = 0; i < 3; i++) {
		if (!isalpha((unsigned char)s[i]))
			return 0;
		m[i] = (char)tolower((unsigned char)s[i]);
	}
	m[3] = '\0';
	for (int i = 0; i < 12; i++)
		if (strncmp(date_months + 3 * i, m, 3) == 0)
			return i + 1;
	return 0;
}

/* date_digits - length of the digit run at s */
static size_t date_digits(const char *s)
{
	size_t n = 0;

	while (isdigit((unsigned char)s[n]))
		n++;
	return n;
}

/* date_num - value of n digits at s, saturated */
static long long date_num(const char *s, size_t n)
{
	long long v = 0;

	for (size_t i = 0; i < n; i++) {
		v = v * 10 + (s[i] - '0');
		if (v > DATE_NUM_MAX)
			v = DATE_NUM_MAX;
	}
	return v;
}

/* date_cut - replace s[a..b) by one space (Perl's s/.../ /) */
static void date_cut(char *s, size_t a, size_t b)
{
	s[a] = ' ';
	memmove(s + a + 1, s + b, strlen(s + b) + 1);
}

/* date_normalise - " text " with commas and white space runs as one
 * space; fresh memory */
static char *date_normalise(const char *text, size_t len)
{
	char *s = xmalloc(len + 3), *o = s;

	*o++ = ' ';
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		bool space = c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
			     c == '\f' || c == '\v';
		if (space) {
			if (o[-1] != ' ')
				*o++ = ' ';
		} else {
			*o++ = c ? (char)c : '\001';	/* a NUL is a plain byte */
		}
	}
	if (o[-1] != ' ')
		*o++ = ' ';
	*o = '\0';
	return s;
}

struct date_parts {
	long long dd, yyyy;
	size_t ylen;		/* digits of the year as written */
	int mon;
};

/* date_take_dmy - the three day-month-year forms, each tried over the
 * whole text before the next; the part is cut out */
static bool date_take_dmy(char *s, struct date_parts *d)
{
	size_t n = strlen(s);

	/* " dd Mon yyyy " */
	for (size_t p = 0; p < n; p++) {
		if (s[p] != ' ')
			continue;
		size_t dl = date_digits(s + p + 1), q = p + 1 + dl;
		if (dl == 0 || s[q] != ' ' || (d->mon = date_month(s + q + 1)) == 0 ||
		    s[q + 4] != ' ' || date_digits(s + q + 5) != 4 || s[q + 9] != ' ')
			continue;
		d->dd = date_num(s + p + 1, dl);
		d->yyyy = date_num(s + q + 5, 4);
		d->ylen = 4;
		date_cut(s, p, q + 10);
		return true;
	}
	/* " Mon +dd h:m:s yyyy " (ctime) */
	for (size_t p = 0; p < n; p++) {
		if (s[p] != ' ' || (d->mon = date_month(s + p + 1)) == 0 || s[p + 4] != ' ')
			continue;
		size_t q = p + 4;
		while (s[q] == ' ')
			q++;
		size_t dl = date_digits(s + q), t = q + dl;
		if (dl == 0 || s[t] != ' ')
			continue;
		t++;
		bool ok = true;
		for (int k = 0; k < 3 && ok; k++) {
			size_t l = date_digits(s + t);
			ok = l > 0 && s[t + l] == (k < 2 ? ':' : ' ');
			t += l + 1;
		}
		if (!ok || date_digits(s + t) != 4 || s[t + 4] != ' ')
			continue;
		d->dd = date_num(s + q, dl);
		d->yyyy = date_num(s + t, 4);
		d->ylen = 4;
		date_cut(s, p, t + 5);
		return true;
	}
	/* " dd Mon yy " and " dd Mon yyy " */
	for (size_t p = 0; p < n; p++) {
		if (s[p] != ' ')
			continue;
		size_t dl = date_digits(s + p + 1), q = p + 1 + dl;
		if (dl == 0 || s[q] != ' ' || (d->mon = date_month(s + q + 1)) == 0 ||
		    s[q + 4] != ' ')
			continue;
		size_t yl = date_digits(s + q + 5);
		if (yl < 2 || yl > 3 || s[q + 5 + yl] != ' ')
			continue;
		d->dd = date_num(s + p + 1, dl);
		d->yyyy = date_num(s + q + 5, yl);
		d->ylen = yl;
		date_cut(s, p, q + 6 + yl);
		return true;
	}
	return false;
}

/* date_take_time - " h:mm " or " hh:mm:ss " at its leftmost place */
static void date_take_time(char *s, long long *hh, long long *mm, long long *ss)
{
	size_t n = strlen(s);

	for (size_t p = 0; p < n; p++) {
		if (s[p] != ' ')
			continue;
		for (size_t hl = 2; hl >= 1; hl--) {
			const char *h = s + p + 1;
			if (date_digits(h) < hl || h[hl] != ':' || date_digits(h + hl + 1) < 2)
				continue;
			const char *m = h + hl + 1;
			if (m[2] == ':' && date_digits(m + 3) >= 2 && m[5] == ' ') {
				*hh = date_num(h, hl);
				*mm = date_num(m, 2);
				*ss = date_num(m + 3, 2);
				date_cut(s, p, (size_t)(m + 5 - s) + 1);
				return;
			}
			if (m[2] == ' ') {
				*hh = date_num(h, hl);
				*mm = date_num(m, 2);
				date_cut(s, p, (size_t)(m + 2 - s) + 1);
				return;
			}
		}
	}
}

/* date_word - a Perl word character (\w, ASCII) */
static bool date_word(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* date_zone - the offset "+hhmm" of the zone: a numeric one, else the
 * first word of 2 to 4 capitals (with "-DST") if the table has it; NULL
 * when neither, which SpamAssassin reads as -0000.  zbuf holds a
 * numeric one. */
static const char *date_zone(const char *s, char zbuf[6])
{
	for (size_t p = 0; s[p]; p++)
		if (s[p] == ' ' && (s[p + 1] == '+' || s[p + 1] == '-') &&
		    date_digits(s + p + 2) >= 4 && s[p + 6] == ' ') {
			memcpy(zbuf, s + p + 1, 5);
			zbuf[5] = '\0';
			return zbuf;
		}
	for (size_t p = 0; s[p]; p++) {
		if ((p > 0 && date_word(s[p - 1])) || !isupper((unsigned char)s[p]))
			continue;
		size_t u = 0;
		while (isupper((unsigned char)s[p + u]))
			u++;
		if (u < 2 || u > 4 || date_word(s[p + u]))
			continue;
		size_t len = u;
		if (strncmp(s + p + u, "-DST", 4) == 0 && !date_word(s[p + u + 4]))
			len += 4;
		for (size_t i = 0; i < sizeof(date_zones) / sizeof(date_zones[0]); i++)
			if (strlen(date_zones[i].name) == len &&
			    strncmp(date_zones[i].name, s + p, len) == 0)
				return date_zones[i].off;
		return NULL;	/* the first such word decides */
	}
	return NULL;
}

/* date_mdays - days in month mon of year y */
static long long date_mdays(long long y, int mon)
{
	if (mon == 4 || mon == 6 || mon == 9 || mon == 11)
		return 30;
	if (mon == 2)
		return (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 29 : 28;
	return 31;
}

/* date_days - days from 1970-01-01 to y-m-d (proleptic Gregorian) */
static long long date_days(long long y, long long m, long long d)
{
	y -= m <= 2;
	long long era = (y >= 0 ? y : y - 399) / 400;
	long long yoe = y - era * 400;
	long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* date_parse - see date.h */
bool date_parse(const char *text, size_t len, long long *out)
{
	struct date_parts d = { 0, 0, 0, 0 };
	long long hh = 0, mm = 0, ss = 0;
	char zbuf[6];

	if (len > DATE_MAX_LEN)
		len = DATE_MAX_LEN;
	char *s = date_normalise(text, len);
	if (!date_take_dmy(s, &d)) {
		free(s);
		return false;
	}
	if (d.ylen == 2 && d.yyyy < 50)
		d.yyyy += 2000;
	else if (d.ylen != 4)
		d.yyyy += 1900;
	date_take_time(s, &hh, &mm, &ss);
	const char *tz = date_zone(s, zbuf);
	free(s);

	if (ss > 59)
		ss = 59;
	if (mm > 59)
		mm = 59;
	if (hh > 23)
		hh = 23;
	if (d.dd > date_mdays(d.yyyy, d.mon)) {
		d.dd = 1;
		if (++d.mon > 12) {
			d.mon = 1;
			d.yyyy++;
		}
	}
	if (d.yyyy > 2037)
		d.yyyy = 2037;
	else if (d.yyyy < 1970)
		d.yyyy = 1970;
	/* Time::Local refuses day 0, and a 29 February the year clamp made
	 * invalid */
	if (d.dd < 1 || d.dd > date_mdays(d.yyyy, d.mon))
		return false;

	long long t = date_days(d.yyyy, d.mon, d.dd) * 86400 + hh * 3600 + mm * 60 + ss;
	if (tz != NULL) {
		long long off = ((tz[1] - '0') * 10 + (tz[2] - '0')) * 3600 +
				((tz[3] - '0') * 10 + (tz[4] - '0')) * 60;
		if (tz[0] == '-')
			t += off;
		else
			t = t < off ? 0 : t - off;
	}
	*out = t;
	return true;
}
