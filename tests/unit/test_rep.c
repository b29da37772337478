/*
 * test_rep.c - reputation's pure functions (rep.c): key values, decay,
 * REP_* scaling, greylist keys, the test clock; reply interpretation
 * (redis.c, rep_admin.c) on RESP bytes; and the stage against a Redis
 * that is not there (REDIS_UNAVAILABLE within the timeout).
 * The schema against a real redis-server is tests/integration/test_redis.py.
 */
#include "autoconfig.h"

#include <limits.h>
#include <math.h>

#include "net/redis.h"
#include "stages/rep/rep.h"
#include "stages/rep/rep_int.h"
#include "unit.h"

/* ---------------------------------------------------------------- values */

static const struct { const char *in, *want; } ip_cases[] = {
	{ "198.51.100.7", "198.51.100.7" },
	{ "[198.51.100.7]", "198.51.100.7" },
	{ "2001:DB8::1", "2001:db8::1" },
	{ "[IPv6:2001:db8:0:0:0:0:0:1]", "2001:db8::1" },
	{ "::ffff:192.0.2.1", "192.0.2.1" },
	{ " 192.0.2.1 ", "192.0.2.1" },
	{ "192.0.2", NULL },
	{ "192.0.2.256", NULL },
	{ "unknown", NULL },
	{ "", NULL },
	{ NULL, NULL },
};

START_TEST(ip_value)
{
	char *v = rep_ip_value(ip_cases[_i].in);

	if (ip_cases[_i].want == NULL)
		ck_assert_msg(v == NULL, "%s -> %s", ip_cases[_i].in, v);
	else
		ck_assert_str_eq(v, ip_cases[_i].want);
	free(v);
}
END_TEST

static const struct { const char *in, *want; } net_cases[] = {
	{ "198.51.100.77", "198.51.100.0/24" },
	{ "198.51.100.0", "198.51.100.0/24" },
	{ "10.1.2.255", "10.1.2.0/24" },
	{ "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64" },
	{ "2001:DB8::1", "2001:db8::/64" },
	{ "::ffff:203.0.113.9", "203.0.113.0/24" },
	{ "fe80::1%eth0", NULL },
	{ "nonsense", NULL },
};

START_TEST(net_value)
{
	char *v = rep_net_value(net_cases[_i].in);

	if (net_cases[_i].want == NULL)
		ck_assert_msg(v == NULL, "%s -> %s", net_cases[_i].in, v);
	else
		ck_assert_str_eq(v, net_cases[_i].want);
	free(v);
}
END_TEST

static const struct { const char *in, *want; } domain_cases[] = {
	{ "a@B.Example", "b.example" },
	{ "\"Alice\" <alice@Example.COM>", "example.com" },
	{ "bob@x.test (Bob)", "x.test" },
	{ "a@b.test, c@d.test", "b.test" },
	{ "Team: <x@team.test>;", "team.test" },
	{ "\"a@fake.test\" <real@real.test>", "real.test" },
	{ "a@b.test.", "b.test" },
	{ "user@sub_domain.test", "sub_domain.test" },
	{ "a@b@c.test", "c.test" },
	{ "no-at-sign", NULL },
	{ "a@", NULL },
	{ "<>", NULL },
	{ "", NULL },
	{ "a@ex:ample.test", NULL },
	{ "a@.test", NULL },
	{ NULL, NULL },
};

START_TEST(domain_value)
{
	char *v = rep_domain_value(domain_cases[_i].in);

	if (domain_cases[_i].want == NULL)
		ck_assert_msg(v == NULL, "%s -> %s", domain_cases[_i].in, v);
	else
		ck_assert_str_eq(v, domain_cases[_i].want);
	free(v);
}
END_TEST

START_TEST(domain_too_long)
{
	char addr[400] = "a@";

	memset(addr + 2, 'x', 300);
	addr[302] = '\0';
	ck_assert_ptr_null(rep_domain_value(addr));
}
END_TEST

static const struct { enum rep_kind kind; const char *in, *want; } norm_cases[] = {
	{ REP_KIND_IP, "198.51.100.7", "198.51.100.7" },
	{ REP_KIND_IP, "example.com", NULL },
	{ REP_KIND_NET, "198.51.100.7", "198.51.100.0/24" },
	{ REP_KIND_NET, "198.51.100.0/24", "198.51.100.0/24" },
	{ REP_KIND_NET, "2001:db8::5/64", "2001:db8::/64" },
	{ REP_KIND_FROM, "Example.COM", "example.com" },
	{ REP_KIND_MFROM, "a@Example.com", "example.com" },
	{ REP_KIND_DKIM, "Mail.Example.org.", "mail.example.org" },
	{ REP_KIND_DKIM, "bad domain", NULL },
	{ REP_KIND_FROM, "", NULL },
};

START_TEST(value_normalize)
{
	char *v = rep_value_normalize(norm_cases[_i].kind, norm_cases[_i].in);

	if (norm_cases[_i].want == NULL)
		ck_assert_msg(v == NULL, "%s -> %s", norm_cases[_i].in, v);
	else
		ck_assert_str_eq(v, norm_cases[_i].want);
	free(v);
}
END_TEST

START_TEST(kinds)
{
	for (int k = 0; k < REP_NKINDS; k++)
		ck_assert_int_eq(rep_kind_parse(rep_kind_name(k)), k);
	ck_assert_int_eq(rep_kind_parse("IP"), -1);
	ck_assert_int_eq(rep_kind_parse("asn"), -1);
	ck_assert_str_eq(rep_kind_symbol(REP_KIND_MFROM), "REP_MFROM");
	ck_assert_str_eq(rep_kind_symbol(REP_KIND_DKIM), "REP_DKIM");
}
END_TEST

/* ---------------------------------------------------------------- math */

static const struct { double count, age, hl, want; } decay_cases[] = {
	{ 8, 0, 100, 8 },
	{ 8, 100, 100, 4 },
	{ 8, 200, 100, 2 },
	{ 8, 50, 100, 5.656854249 },
	{ 8, -50, 100, 8 },	/* clock skew never grows a count */
	{ 0, 1000, 100, 0 },
	{ 1, 604800 * 10, 604800, 0.0009765625 },
};

START_TEST(decay)
{
	double got = rep_decay(decay_cases[_i].count, decay_cases[_i].age, decay_cases[_i].hl);

	ck_assert_double_eq_tol(got, decay_cases[_i].want, 1e-6);
}
END_TEST

static const struct {
	double spam, ham, weight;
	long min;
	bool counts;
	double want;
} value_cases[] = {
	{ 3, 1, 2.0, 4, true, 1.0 },
	{ 3, 1, 2.0, 5, false, 0 },	/* silent below rep_min_count */
	{ 0, 4, 3.0, 1, true, -3.0 },
	{ 10, 0, 3.0, 5, true, 3.0 },
	{ 2, 2, 3.0, 0, true, 0.0 },
	{ 4.96, 0, 1.0, 5, true, 1.0 },	/* decay between back-to-back messages */
	{ 4.9, 0, 1.0, 5, false, 0 },
	{ 0, 0, 1.0, 0, false, 0 },
	{ -1, 5, 1.0, 1, false, 0 },
	{ NAN, 1, 1.0, 0, false, 0 },
	{ INFINITY, 1, 1.0, 0, false, 0 },
};

START_TEST(symbol_value)
{
	double v = 99;
	bool counts = rep_symbol_value(value_cases[_i].spam, value_cases[_i].ham,
				       value_cases[_i].weight, value_cases[_i].min, &v);

	ck_assert_int_eq(counts, value_cases[_i].counts);
	if (counts) {
		ck_assert_double_eq_tol(v, value_cases[_i].want, 1e-9);
		ck_assert(fabs(v) <= value_cases[_i].weight + 1e-9);
	}
}
END_TEST

static double fake_time;

/* fake_clock - the unit tests' clock */
static double fake_clock(void)
{
	return fake_time;
}

START_TEST(clock_injected)
{
	rep_set_clock(fake_clock);
	fake_time = 1700000000.75;
	ck_assert_double_eq(rep_now(), 1700000000.0);
	fake_time += 3600;
	ck_assert_double_eq(rep_now(), 1700003600.0);
	char hour[16];
	rep_hour(1700000000, hour, sizeof(hour));
	ck_assert_str_eq(hour, "2023111422");
	rep_set_clock(NULL);
	ck_assert(rep_now() > 1700000000.0);
}
END_TEST

/* ---------------------------------------------------------------- keys */

START_TEST(keys_of_message)
{
	struct msg *m = msg_new(1024);
	struct rep_keys k;
	const char *dkim[] = { "Signer.Example", "signer.example", "other.example", "bad domain" };

	msg_set_client(m, "198.51.100.7", NULL, "helo.test");
	msg_set_from(m, "<bounce@Lists.Example>");
	msg_add_header(m, "From", " \"Alice\" <alice@Example.ORG>");
	msg_end_headers(m);
	rep_keys_of(m, dkim, 4, &k);
	ck_assert_uint_eq(k.n, 6);
	ck_assert_int_eq(k.k[0].kind, REP_KIND_IP);
	ck_assert_str_eq(k.k[0].value, "198.51.100.7");
	ck_assert_str_eq(k.k[1].value, "198.51.100.0/24");
	ck_assert_int_eq(k.k[2].kind, REP_KIND_MFROM);
	ck_assert_str_eq(k.k[2].value, "lists.example");
	ck_assert_int_eq(k.k[3].kind, REP_KIND_FROM);
	ck_assert_str_eq(k.k[3].value, "example.org");
	ck_assert_int_eq(k.k[4].kind, REP_KIND_DKIM);
	ck_assert_str_eq(k.k[4].value, "signer.example");	/* once */
	ck_assert_str_eq(k.k[5].value, "other.example");
	rep_keys_clear(&k);

	/* null sender, no From:, unknown client: nothing to key on */
	struct msg *m2 = msg_new(1024);
	msg_set_client(m2, "unknown", NULL, NULL);
	msg_set_from(m2, "<>");
	msg_end_headers(m2);
	rep_keys_of(m2, NULL, 0, &k);
	ck_assert_uint_eq(k.n, 0);
	msg_free(m2);

	/* a quoted display name holding '<' and a comment: the From key is
	 * the mailbox's domain, as DMARC reads it */
	struct msg *m3 = msg_new(1024);
	msg_add_header(m3, "From", " \"<script>\" (x <y@z.example>) <x@Evil.Example>");
	msg_end_headers(m3);
	rep_keys_of(m3, NULL, 0, &k);
	ck_assert_uint_eq(k.n, 1);
	ck_assert_int_eq(k.k[0].kind, REP_KIND_FROM);
	ck_assert_str_eq(k.k[0].value, "evil.example");
	rep_keys_clear(&k);
	msg_free(m3);
	msg_free(m);
}
END_TEST

START_TEST(grey_keys)
{
	char a[128], b[128], c[128], d[128];

	rep_grey_key("198.51.100.7", "A@Sender.test", "Bob@rcpt.test", a, sizeof(a));
	rep_grey_key("198.51.100.99", "a@sender.test", "bob@RCPT.test", b, sizeof(b));
	rep_grey_key("198.51.101.7", "a@sender.test", "bob@rcpt.test", c, sizeof(c));
	rep_grey_key("198.51.100.7", "a@sender.test", "carol@rcpt.test", d, sizeof(d));
	ck_assert_uint_eq(strlen(a), 5 + 40);
	ck_assert(strncmp(a, "grey:", 5) == 0);
	ck_assert_str_eq(a, b);	/* same /24, case-insensitive */
	ck_assert_str_ne(a, c);	/* another network */
	ck_assert_str_ne(a, d);	/* another recipient */
}
END_TEST

START_TEST(sha1)
{
	char hex[DIGEST_SHA1_HEX];

	digest_sha1_hex("abc", 3, hex);	/* FIPS 180-2 appendix A */
	ck_assert_str_eq(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
}
END_TEST

START_TEST(write_args)
{
	char *err = NULL;
	struct config *cfg = config_parse_buf("t", "redis_prefix = p:\nlog_max = 7\n", 30, &err);
	struct rep_keys k = { .n = 2 };
	struct rep_args a = { 0 };

	ck_assert_ptr_nonnull(cfg);
	k.k[0] = (struct rep_key){ REP_KIND_IP, xstrdup("192.0.2.1") };
	k.k[1] = (struct rep_key){ REP_KIND_FROM, xstrdup("x.test") };
	size_t nkeys = rep_write_args(cfg, &k, "spam", "accept", 1700000000, NULL, &a);
	ck_assert_uint_eq(nkeys, 6);
	ck_assert_str_eq(a.v[0], "p:rep:ip:192.0.2.1");
	ck_assert_str_eq(a.v[1], "p:rep:from:x.test");
	ck_assert_str_eq(a.v[2], "p:top:ip");
	ck_assert_str_eq(a.v[3], "p:top:from");
	ck_assert_str_eq(a.v[4], "p:stats:2023111422");
	ck_assert_str_eq(a.v[5], "p:log");
	ck_assert_str_eq(a.v[6], "1700000000");
	ck_assert_str_eq(a.v[8], "spam");
	ck_assert_str_eq(a.v[9], "2");
	ck_assert_str_eq(a.v[14], "7");
	ck_assert_str_eq(a.v[15], "192.0.2.1");
	ck_assert_uint_eq(a.n, 17);
	/* the strings are in the args' pool, released at once */
	ck_assert_uint_gt(a.pool.used, 0);
	rep_args_clear(&a);
	ck_assert_uint_eq(a.pool.used, 0);
	/* a tempfail counts nothing: no rep keys at all */
	nkeys = rep_write_args(cfg, &k, "none", "tempfail", 1700000000, NULL, &a);
	ck_assert_uint_eq(nkeys, 2);
	ck_assert_str_eq(a.v[0], "p:stats:2023111422");
	rep_args_clear(&a);
	rep_keys_clear(&k);
	config_free(cfg);
}
END_TEST

/* ---------------------------------------------------------------- replies */

/* parse1n - exactly one value from RESP bytes */
static struct redis_val parse1n(const char *resp, size_t len)
{
	struct redis_val v[2];
	int n = redis_parse(resp, len, REDIS_SIZE_ADMIN, v, 2);

	ck_assert_int_eq(n, 1);
	return v[0];
}

/* parse1 - exactly one value from RESP text */
static struct redis_val parse1(const char *resp)
{
	return parse1n(resp, strlen(resp));
}

/* val_free1 - release one parsed value */
static void val_free1(struct redis_val v)
{
	struct redis_val *p = xcalloc(1, sizeof(*p));
	*p = v;
	redis_vals_free(p, 1);
}

START_TEST(replies_counts)
{
	double s, h, t;
	struct redis_val v;

	v = parse1("*3\r\n$8\r\n2.500000\r\n$1\r\n1\r\n$10\r\n1700000000\r\n");
	ck_assert(rep_counts_of(&v, &s, &h, &t));
	ck_assert_double_eq(s, 2.5);
	ck_assert_double_eq(h, 1);
	ck_assert_double_eq(t, 1700000000);
	val_free1(v);
	/* a missing key: nils */
	v = parse1("*3\r\n$-1\r\n$-1\r\n$-1\r\n");
	ck_assert(!rep_counts_of(&v, &s, &h, &t));
	val_free1(v);
	/* WRONGTYPE (someone else's key), a string, junk numbers, negatives */
	v = parse1("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
	ck_assert(!rep_counts_of(&v, &s, &h, &t));
	val_free1(v);
	v = parse1("$3\r\nabc\r\n");
	ck_assert(!rep_counts_of(&v, &s, &h, &t));
	val_free1(v);
	v = parse1("*3\r\n$3\r\nnan\r\n$3\r\ninf\r\n$1\r\n5\r\n");
	ck_assert(!rep_counts_of(&v, &s, &h, &t));
	val_free1(v);
	v = parse1("*3\r\n$2\r\n-4\r\n$1\r\n1\r\n$1\r\n5\r\n");
	ck_assert(!rep_counts_of(&v, &s, &h, &t));
	val_free1(v);
	v = parse1("*2\r\n$1\r\n1\r\n$1\r\n1\r\n");
	ck_assert(!rep_counts_of(&v, &s, &h, &t));
	val_free1(v);
}
END_TEST

START_TEST(replies_sentinel_role)
{
	char host[64];
	int port;
	struct redis_val v;

	v = parse1("*2\r\n$9\r\n127.0.0.1\r\n$4\r\n6380\r\n");
	ck_assert(redis_sentinel_addr(&v, host, sizeof(host), &port));
	ck_assert_str_eq(host, "127.0.0.1");
	ck_assert_int_eq(port, 6380);
	val_free1(v);
	v = parse1("*-1\r\n");	/* unknown master name */
	ck_assert(!redis_sentinel_addr(&v, host, sizeof(host), &port));
	val_free1(v);
	v = parse1("*2\r\n$9\r\n127.0.0.1\r\n$5\r\n99999\r\n");
	ck_assert(!redis_sentinel_addr(&v, host, sizeof(host), &port));
	val_free1(v);
	static const char nul[] = "*2\r\n$3\r\na\0b\r\n$4\r\n6380\r\n";
	v = parse1n(nul, sizeof(nul) - 1);
	ck_assert(!redis_sentinel_addr(&v, host, sizeof(host), &port));
	val_free1(v);
	v = parse1("*3\r\n$6\r\nmaster\r\n:100\r\n*0\r\n");
	ck_assert(redis_role_is_master(&v));
	val_free1(v);
	v = parse1("*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:6379\r\n$9\r\nconnected\r\n:1\r\n");
	ck_assert(!redis_role_is_master(&v));
	val_free1(v);
}
END_TEST

START_TEST(replies_malformed)
{
	struct redis_val v[4];

	ck_assert_int_eq(redis_parse("?bogus\r\n", 8, REDIS_SIZE_ADMIN, v, 4), -1);
	ck_assert_int_eq(redis_parse("$5\r\nab", 6, REDIS_SIZE_ADMIN, v, 4), 0);	/* incomplete */
	/* an array announcing more elements than parapet ever reads is
	 * refused before hiredis allocates its table (found by fuzz_redis) */
	ck_assert_int_eq(redis_parse("*288888888\r\n:1\r\n", 18, REDIS_SIZE_ADMIN, v, 4), -1);
	const char *inner = "*2\r\n$3\r\n*99\r\n:1\r\n";
	ck_assert_int_eq(redis_parse(inner, strlen(inner), REDIS_SIZE_ADMIN, v, 4), 1);
	val_free1(v[0]);	/* "*99" inside a bulk string is data, not a header */
	ck_assert_int_eq(redis_parse("*x\r\n", 5, REDIS_SIZE_ADMIN, v, 4), -1);
	ck_assert_int_eq(redis_parse("$-1\r\n", 5, REDIS_SIZE_ADMIN, v, 4), 1);
	/* nesting deeper than REDIS_VAL_DEPTH is cut, not followed */
	const char *deep = "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n";
	int n = redis_parse(deep, strlen(deep), REDIS_SIZE_ADMIN, v, 4);
	ck_assert(n == 1 || n == -1);	/* hiredis itself stops at depth 7 */
	if (n == 1)
		val_free1(v[0]);
}
END_TEST

struct xread_seen {
	int n;
	char ids[4][32];
	char actions[4][16];
};

/* xread_collect - remember ids and actions */
static bool xread_collect(const struct rep_log_entry *le, void *arg)
{
	struct xread_seen *s = arg;

	snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", le->id);
	snprintf(s->actions[s->n], sizeof(s->actions[0]), "%s",
		 le->field[8] ? le->field[8] : "(null)");
	s->n++;
	return s->n < 3;
}

START_TEST(replies_xread)
{
	const char *resp =
		"*1\r\n*2\r\n$11\r\nparapet:log\r\n*4\r\n"
		"*2\r\n$3\r\n1-0\r\n*4\r\n$6\r\naction\r\n$6\r\naccept\r\n$3\r\nqid\r\n$1\r\nA\r\n"
		"$7\r\nbad-one\r\n"
		"*2\r\n$3\r\n2-0\r\n*3\r\n$6\r\naction\r\n$6\r\nreject\r\n$3\r\nqid\r\n"
		"*2\r\n$3\r\n3-0\r\n*2\r\n$6\r\naction\r\n:5\r\n";
	struct redis_val v = parse1(resp);
	struct xread_seen s = { 0 };
	char *last = NULL;
	bool stop;

	size_t n = rep_xread_parse(&v, xread_collect, &s, &last, &stop);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(s.n, 3);
	ck_assert_str_eq(s.ids[0], "1-0");
	ck_assert_str_eq(s.actions[0], "accept");
	ck_assert_str_eq(s.actions[1], "reject");
	ck_assert_str_eq(s.actions[2], "(null)");	/* an integer is not a string field */
	ck_assert_str_eq(last, "3-0");
	ck_assert(stop);
	free(last);
	val_free1(v);
}
END_TEST

START_TEST(replies_stats)
{
	struct redis_val v = parse1("*8\r\n$6\r\naccept\r\n$2\r\n12\r\n$6\r\nreject\r\n$1\r\n3\r\n"
				    "$8\r\ntempfail\r\n$3\r\nxyz\r\n$5\r\nother\r\n:2\r\n");
	struct rep_stats_row row = { 0 };

	rep_stats_parse(&v, &row);
	ck_assert_int_eq(row.accept, 12);
	ck_assert_int_eq(row.reject, 3);
	ck_assert_int_eq(row.tempfail, 0);
	ck_assert_int_eq(row.other, 2);
	val_free1(v);
}
END_TEST

START_TEST(replies_stats_saturate)
{
	/* a damaged or hostile stats hash: huge counts, repeated fields */
	struct redis_val v = parse1("*10\r\n$6\r\naccept\r\n$19\r\n9000000000000000000\r\n"
				    "$6\r\naccept\r\n$19\r\n9000000000000000000\r\n"
				    "$6\r\nreject\r\n$19\r\n9000000000000000000\r\n"
				    "$1\r\nx\r\n$19\r\n9000000000000000000\r\n"
				    "$1\r\ny\r\n$6\r\n1e+300\r\n");
	struct rep_stats_row row = { 0 };

	rep_stats_parse(&v, &row);
	ck_assert_int_eq(row.accept, LLONG_MAX);
	ck_assert_int_eq(row.reject, 9000000000000000000LL);
	ck_assert_int_eq(row.other, 9000000000000000000LL);	/* 1e300 skipped */
	ck_assert_int_eq(rep_stats_total(&row), LLONG_MAX);
	rep_stats_parse(&v, &row);	/* rows are added to, never wrap */
	ck_assert_int_eq(row.reject, LLONG_MAX);
	ck_assert_int_eq(row.other, LLONG_MAX);
	struct rep_stats_row small = { "", 1, 2, 3, 4, 5 };
	ck_assert_int_eq(rep_stats_total(&small), 15);
	val_free1(v);
}
END_TEST

START_TEST(log_from_capped)
{
	struct msg *m = msg_new(1024);
	struct buf b;
	char *f;

	/* up to MSG_MAX_HEADER_BYTES in the angle-addr: cut like the rest */
	buf_init(&b);
	buf_puts(&b, " \"Name <x>\" <");
	for (int i = 0; i < 60000; i++)
		buf_putc(&b, 'a');
	buf_puts(&b, "@long.test>");
	msg_add_header(m, "From", b.data);
	msg_end_headers(m);
	f = rep_log_from(m);
	ck_assert_uint_eq(strlen(f), REP_LOG_VALUE_MAX);
	ck_assert(f[0] == 'a');
	free(f);
	msg_free(m);
	/* without an angle-addr: the value, cut */
	m = msg_new(1024);
	buf_free(&b);
	buf_init(&b);
	for (int i = 0; i < 60000; i++)
		buf_putc(&b, 'b');
	msg_add_header(m, "From", b.data);
	msg_end_headers(m);
	f = rep_log_from(m);
	ck_assert_uint_eq(strlen(f), REP_LOG_VALUE_MAX);
	free(f);
	msg_free(m);
	buf_free(&b);
	/* the usual cases */
	m = msg_new(1024);
	msg_add_header(m, "From", " \"<script>\" <a@b.test>");
	msg_end_headers(m);
	f = rep_log_from(m);
	ck_assert_str_eq(f, "a@b.test");
	free(f);
	msg_free(m);
	m = msg_new(1024);
	msg_end_headers(m);
	f = rep_log_from(m);
	ck_assert_str_eq(f, "");
	free(f);
	msg_free(m);
}
END_TEST

static const struct {
	const char *name;
	enum rep_kind kind;
	const char *value;
	enum auth_result spf;
	const char *spf_domain;
	const char *dkim;	/* a valid signature's d=, or NULL */
	bool want;
} credits[] = {
	{ "mfrom: SPF pass for it", REP_KIND_MFROM, "good.test", AUTH_PASS, "good.test", NULL, true },
	{ "mfrom: SPF pass, case", REP_KIND_MFROM, "good.test", AUTH_PASS, "Good.Test", NULL, true },
	{ "mfrom: SPF pass for another", REP_KIND_MFROM, "good.test", AUTH_PASS, "other.test",
	  NULL, false },
	{ "mfrom: SPF pass for a subdomain", REP_KIND_MFROM, "good.test", AUTH_PASS,
	  "bounce.good.test", NULL, false },
	{ "mfrom: SPF fail", REP_KIND_MFROM, "good.test", AUTH_FAIL, "good.test", NULL, false },
	{ "mfrom: SPF softfail", REP_KIND_MFROM, "good.test", AUTH_SOFTFAIL, "good.test", NULL,
	  false },
	{ "mfrom: SPF none", REP_KIND_MFROM, "good.test", AUTH_NONE, "good.test", NULL, false },
	{ "mfrom: a DKIM signature is not SPF", REP_KIND_MFROM, "good.test", AUTH_NONE, NULL,
	  "good.test", false },
	{ "from: SPF pass aligned", REP_KIND_FROM, "good.test", AUTH_PASS, "good.test", NULL, true },
	{ "from: SPF pass relaxed", REP_KIND_FROM, "good.test", AUTH_PASS, "bounce.good.test",
	  NULL, true },
	{ "from: SPF pass not aligned", REP_KIND_FROM, "good.test", AUTH_PASS, "evil.test", NULL,
	  false },
	{ "from: SPF pass, a lookalike", REP_KIND_FROM, "good.test", AUTH_PASS, "xgood.test",
	  NULL, false },
	{ "from: SPF fail aligned", REP_KIND_FROM, "good.test", AUTH_FAIL, "good.test", NULL,
	  false },
	{ "from: DKIM aligned", REP_KIND_FROM, "good.test", AUTH_NONE, NULL, "good.test", true },
	{ "from: DKIM relaxed", REP_KIND_FROM, "mail.good.test", AUTH_FAIL, "good.test",
	  "good.test", true },
	{ "from: DKIM not aligned", REP_KIND_FROM, "good.test", AUTH_FAIL, "good.test",
	  "evil.test", false },
	{ "from: nothing", REP_KIND_FROM, "good.test", AUTH_NONE, NULL, NULL, false },
	{ "ip: always", REP_KIND_IP, "192.0.2.1", AUTH_FAIL, NULL, NULL, true },
	{ "net: always", REP_KIND_NET, "192.0.2.0/24", AUTH_NONE, NULL, NULL, true },
	{ "dkim: always", REP_KIND_DKIM, "good.test", AUTH_NONE, NULL, NULL, true },
};

START_TEST(credit_needs_authentication)
{
	struct engine *e = unit_engine("", "");
	struct scan *sc = scan_new(e);
	struct rep_key key = { credits[_i].kind, (char *)credits[_i].value };

	sc->spf_result = credits[_i].spf;
	sc->spf_domain = credits[_i].spf_domain ? xstrdup(credits[_i].spf_domain) : NULL;
	if (credits[_i].dkim)
		scan_add_dkim_valid(sc, credits[_i].dkim);
	ck_assert_msg(rep_credit_ok(sc, &key) == credits[_i].want, "%s", credits[_i].name);
	scan_free(sc);
	engine_unref(e);
}
END_TEST

/* ---------------------------------------------------------------- stage */

START_TEST(no_redis_no_symbols)
{
	struct engine *e = unit_engine("", "");
	struct scan *sc = unit_scan(e, "From: a@b.test\nSubject: x\n\nbody\n");

	ck_assert_ptr_null(e->redis);
	ck_assert(!scan_has(sc, "REDIS_UNAVAILABLE"));
	ck_assert(!sc->greylisted);
	scan_free(sc);
	engine_unref(e);
}
END_TEST

START_TEST(redis_down_unavailable)
{
	/* port 1 on loopback: nothing listens, connect is refused at once */
	struct engine *e = unit_engine("redis = 127.0.0.1:1\nredis_timeout_ms = 50\n"
				       "greylist_score = 0\n",
				       "score REDIS_UNAVAILABLE 0.25\n");
	double t = now_ms();
	struct scan *sc = unit_scan(e, "From: a@b.test\nSubject: x\n\nbody\n");
	double ms = now_ms() - t;

	ck_assert_ptr_nonnull(e->redis);
	ck_assert(scan_has(sc, "REDIS_UNAVAILABLE"));
	ck_assert(!sc->greylisted);	/* greylisting needs Redis */
	ck_assert_double_eq_tol(sc->hits.score, 0.25, 1e-9);
	ck_assert_msg(ms < 1000, "took %.0f ms", ms);
	scan_free(sc);
	/* a second message right after: backoff, no wait at all */
	t = now_ms();
	sc = unit_scan(e, "From: a@b.test\nSubject: x\n\nbody\n");
	ck_assert(scan_has(sc, "REDIS_UNAVAILABLE"));
	ck_assert_msg(now_ms() - t < 200, "second message took %.0f ms", now_ms() - t);
	scan_free(sc);
	engine_unref(e);
}
END_TEST

START_TEST(pool_shared_by_settings)
{
	struct engine *a = unit_engine("redis = 127.0.0.1:1\n", "");
	struct engine *b = unit_engine("redis = 127.0.0.1:1\ntag_score = 4\n", "");
	struct engine *c = unit_engine("redis = 127.0.0.1:1\nredis_db = 2\n", "");

	ck_assert_ptr_eq(a->redis, b->redis);	/* reload with the same redis_* keys */
	ck_assert_ptr_ne(a->redis, c->redis);
	engine_unref(a);
	engine_unref(b);
	engine_unref(c);
}
END_TEST

START_TEST(dkim_hook)
{
	struct engine *e = unit_engine("", "");
	struct scan *sc = scan_new(e);

	for (int i = 0; i < 12; i++)
		scan_add_dkim_valid(sc, "signer.example");
	scan_add_dkim_valid(sc, NULL);
	ck_assert_uint_eq(sc->ndkim_valid, 8);	/* capped */
	/* the rep stage is in the engine's list, last (it needs every score) */
	ck_assert_uint_ge(e->nstages, 1);
	ck_assert_str_eq(e->stages[e->nstages - 1]->name, "rep");
	scan_free(sc);
	engine_unref(e);
}
END_TEST

static Suite *rep_suite(void)
{
	Suite *s = suite_create("rep");
	TCase *t = tcase_create("rep");

	tcase_add_loop_test(t, ip_value, 0, sizeof(ip_cases) / sizeof(ip_cases[0]));
	tcase_add_loop_test(t, net_value, 0, sizeof(net_cases) / sizeof(net_cases[0]));
	tcase_add_loop_test(t, domain_value, 0, sizeof(domain_cases) / sizeof(domain_cases[0]));
	tcase_add_test(t, domain_too_long);
	tcase_add_loop_test(t, value_normalize, 0, sizeof(norm_cases) / sizeof(norm_cases[0]));
	tcase_add_test(t, kinds);
	tcase_add_loop_test(t, decay, 0, sizeof(decay_cases) / sizeof(decay_cases[0]));
	tcase_add_loop_test(t, symbol_value, 0, sizeof(value_cases) / sizeof(value_cases[0]));
	tcase_add_test(t, clock_injected);
	tcase_add_test(t, keys_of_message);
	tcase_add_test(t, grey_keys);
	tcase_add_test(t, sha1);
	tcase_add_test(t, write_args);
	tcase_add_test(t, replies_counts);
	tcase_add_test(t, replies_sentinel_role);
	tcase_add_test(t, replies_malformed);
	tcase_add_test(t, replies_xread);
	tcase_add_test(t, replies_stats);
	tcase_add_test(t, replies_stats_saturate);
	tcase_add_test(t, log_from_capped);
	tcase_add_loop_test(t, credit_needs_authentication, 0,
			    sizeof(credits) / sizeof(credits[0]));
	tcase_add_test(t, no_redis_no_symbols);
	tcase_add_test(t, redis_down_unavailable);
	tcase_add_test(t, pool_shared_by_settings);
	tcase_add_test(t, dkim_hook);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return unit_main(rep_suite());
}
