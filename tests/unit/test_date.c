/*
 * test_date.c - mail/date.c reads dates as SpamAssassin 4's
 * parse_rfc822_date does; every expected value below is what
 * SpamAssassin's own Perl answered for the same text (-1: no date).
 */
#include "autoconfig.h"

#include "unit.h"
#include "mail/date.h"

static const struct {
	const char *text;
	long long want;
} cases[] = {
	{ "Tue, 1 Jan 2002 10:00:00 +0000", 1009879200LL },
	{ "Tue, 01 Jan 2002 10:00:00 -0500", 1009897200LL },
	{ "Mon Jan  1 10:00:00 2002", 1009843200LL },
	{ "Wed, 5 Mar 02 23:59:60 GMT", 1015372799LL },
	{ "5 mar 99 1:02 PST", 920624520LL },
	{ "31 Apr 2003 12:00:00 +0200", 1051783200LL },
	{ "29 Feb 2001 08:00 EST", 983451600LL },
	{ "31 Dec 2037 23:00:00 +0000", 2145913200LL },
	{ "32 Dec 2037 23:00:00 -0100", 2114467200LL },
	{ "1 Jan 1960 00:00:00 +0100", 0LL },
	{ "0 Jan 2002 10:00:00", -1LL },
	{ "7 Jun 2004 99:99:99 +9999", 1086290459LL },
	{ "Fri, 13 Feb 2004 12:00:00 MON", 1076673600LL },
	{ "Fri, 13 Feb 2004 12:00:00 (CEST)", 1076666400LL },
	{ "13 Feb 2004 12:00:00 FOO EST", 1076673600LL },
	{ "13 Feb 2004 12:00:00 EST-DST", 1076673600LL },
	{ "13 Feb 2004 12:00:00 GMT+0800", 1076673600LL },
	{ "13 Feb 104 12:00:00", 1076673600LL },
	{ "Fri,13,Feb,2004,12:00:00,+0300", 1076662800LL },
	{ "no date here", -1LL },
	{ "13 February 2004", -1LL },
	{ "12:00 13 Feb 2004 +0100", 1076670000LL },
	/* a leap day the year clamp (0 -> 1970) makes invalid: no date */
	{ "Tue, 29 Feb 0000 10:00:00 GMT", -1LL },
	{ "29 Feb 2100 10:00:00 +0000", 2119514400LL },
	{ "29 Feb 2004 10:00:00 +0000", 1078048800LL },
};

START_TEST(parse)
{
	long long t = -1;
	bool ok = date_parse(cases[_i].text, strlen(cases[_i].text), &t);
	ck_assert_msg(ok == (cases[_i].want >= 0), "%s: parsed %d", cases[_i].text, ok);
	if (ok)
		ck_assert_msg(t == cases[_i].want, "%s: %lld, want %lld", cases[_i].text, t,
			      cases[_i].want);
}
END_TEST

/* a NUL byte is a plain byte, and text past DATE_MAX_LEN is not read */
START_TEST(bytes)
{
	static const char nul[] = "1 Jan 2002 10:00:00\0 +0100";
	long long t = -1;

	ck_assert(date_parse(nul, sizeof(nul) - 1, &t));
	ck_assert_int_eq(t, 1009839600LL);	/* "10:00:00\0" is no time */
	char *big = xmalloc(DATE_MAX_LEN + 64);
	memset(big, ' ', DATE_MAX_LEN + 64);
	memcpy(big + DATE_MAX_LEN, "1 Jan 2002", 10);
	ck_assert(!date_parse(big, DATE_MAX_LEN + 64, &t));
	memcpy(big + 10, "1 Jan 2002", 10);
	ck_assert(date_parse(big, DATE_MAX_LEN + 64, &t));
	free(big);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("date");
	TCase *tc = tcase_create("date");
	tcase_add_loop_test(tc, parse, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, bytes);
	suite_add_tcase(s, tc);
	return unit_main(s);
}
