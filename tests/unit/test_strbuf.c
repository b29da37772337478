/*
 * test_strbuf.c - base/strbuf.c gives byte for byte what snprintf gives:
 * integers, hex, "%.Nf" (ties, values just off a tie, negative zero,
 * huge values, NaN), strings cut like snprintf cuts them.
 */
#include "autoconfig.h"

#include <float.h>
#include <limits.h>
#include <math.h>

#include "base/strbuf.h"
#include "base/util.h"
#include "unit.h"

/* cutting is what the bounded test compares */
#pragma GCC diagnostic ignored "-Wformat-truncation"

/* same_fixed - fmt_fixed(v, prec) == "%.*f" */
static void same_fixed(double v, int prec)
{
	char want[FMT_NUM_MAX + 16], got[FMT_NUM_MAX];

	snprintf(want, sizeof(want), "%.*f", prec, v);
	size_t n = fmt_fixed(got, v, prec);
	ck_assert_msg(strcmp(want, got) == 0 && n == strlen(want), "%.17g %%.%df: want %s got %s",
		      v, prec, want, got);
}

START_TEST(fixed_cases)
{
	static const double v[] = {
		0, -0.0, 0.05, 0.15, 0.25, 0.35, 0.45, 1.5, 2.5, -2.5, 2.675, 1.005, 0.125, 0.375,
		-0.04, -0.05, 4.95, 5.0, 9.95, 99.95, 999.9999999, 0.0000005, 0.0000015, 1e-300,
		123456789.125, 1e15, 4503599627370495.5, 4503599627370496.0, 1e300, -DBL_MAX,
		DBL_MIN, 5e-324, INFINITY, -INFINITY, NAN, 0.1 + 0.2, 1.0 / 3, 2.0 / 3,
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		for (int p = 0; p <= 7; p++)
			same_fixed(v[i], p);
}
END_TEST

START_TEST(fixed_random)
{
	unsigned long long x = 88172645463325252ULL;

	for (int i = 0; i < 200000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		double d;
		switch (i % 4) {
		case 0:		/* k/2^m: many exact ties */
			d = (double)(long long)(x % 2000001 - 1000000) / (double)(1 << (x >> 60));
			break;
		case 1:		/* k/10^m: the decimals scores are written with */
			d = (double)(long long)(x % 200001 - 100000) / pow(10, (double)(x >> 61));
			break;
		case 2:		/* any bit pattern of a moderate size */
			d = ldexp((double)(x >> 11), -(int)(x % 80));
			break;
		default:	/* one ulp off a tie */
			d = nextafter((double)(x % 10000) + 0.5, (x & 1) ? 0 : 1e9) / 1000;
			break;
		}
		same_fixed(d, (int)(x % 5));
	}
}
END_TEST

START_TEST(integers)
{
	static const unsigned long long u[] = { 0, 1, 9, 10, 99, 100, 4294967295ULL, ~0ULL };
	static const long long s[] = { 0, -1, 1, -9, -10, 1234567, -1234567, LLONG_MIN, LLONG_MAX };
	char want[64], got[FMT_NUM_MAX];

	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		snprintf(want, sizeof(want), "%llu", u[i]);
		ck_assert_uint_eq(fmt_uint(got, u[i]), strlen(want));
		ck_assert_str_eq(got, want);
		for (int w = -3; w <= 17; w++) {	/* a negative width is none */
			snprintf(want, sizeof(want), "%0*llx", w < 0 ? 0 : w > 16 ? 16 : w, u[i]);
			ck_assert_uint_eq(fmt_hex(got, u[i], w), strlen(want));
			ck_assert_str_eq(got, want);
		}
	}
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		snprintf(want, sizeof(want), "%lld", s[i]);
		ck_assert_uint_eq(fmt_int(got, s[i]), strlen(want));
		ck_assert_str_eq(got, want);
	}
}
END_TEST

/* sbuf cuts like snprintf and reports the whole length */
START_TEST(bounded)
{
	char want[16], got[16];
	struct sbuf s;

	for (size_t cap = 1; cap <= sizeof(got); cap++) {
		int n = snprintf(want, cap, "ab%.3s=%llu.%c%s", "xyzzy", 4096ULL, 'q', "tail");
		sbuf_init(&s, got, cap);
		sbuf_puts(&s, "ab");
		sbuf_putn(&s, "xyzzy", 3);
		sbuf_putc(&s, '=');
		sbuf_put_uint(&s, 4096);
		sbuf_putc(&s, '.');
		sbuf_putc(&s, 'q');
		sbuf_puts(&s, "tail");
		ck_assert_str_eq(got, want);
		ck_assert_uint_eq(s.len, (size_t)n);
		ck_assert(sbuf_over(&s) == ((size_t)n >= cap));
		ck_assert_uint_eq(str_copy(got, cap, "0123456789abcdefgh"), 18);
		snprintf(want, cap, "%s", "0123456789abcdefgh");
		ck_assert_str_eq(got, want);
		n = snprintf(want, cap, "%s%s%s", "sel", "._domainkey.", "d.example");
		ck_assert(str_join3(got, cap, "sel", "._domainkey.", "d.example") == ((size_t)n < cap));
		ck_assert_str_eq(got, want);
	}
	struct buf b;
	buf_init(&b);
	buf_putn(&b, "ab\0cd", 5);
	buf_putn(&b, "efgh", 2);
	buf_put_int(&b, -7);
	buf_put_hex(&b, 255, 2);
	buf_put_fixed(&b, 2.25, 1);
	ck_assert_str_eq(b.data, "abef-7ff2.2");
	buf_free(&b);
}
END_TEST

/* c_hexval, which the URI, form, HTML colour and regex scanners share:
 * every byte against strtol's reading of it as one hex digit */
START_TEST(hex_digits)
{
	for (int c = 0; c < 256; c++) {
		char s[2] = { (char)c, '\0' }, *end = NULL;
		long v = c ? strtol(s, &end, 16) : 0;
		int want = c && end == s + 1 ? (int)v : -1;
		ck_assert_msg(c_hexval((unsigned char)c) == want, "byte 0x%02x: %d, not %d", c,
			      c_hexval((unsigned char)c), want);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("strbuf");
	TCase *tc = tcase_create("strbuf");
	tcase_add_test(tc, fixed_cases);
	tcase_add_test(tc, fixed_random);
	tcase_add_test(tc, integers);
	tcase_add_test(tc, bounded);
	tcase_add_test(tc, hex_digits);
	suite_add_tcase(s, tc);
	return unit_main(s);
}
