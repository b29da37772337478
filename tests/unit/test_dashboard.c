/*
 * test_dashboard.c - the dashboard's pure parts: the feed filter
 * (rep_feed_match), JSON string escaping (json_put_str) and --listen
 * parsing (http_listen_valid, http_listen_loopback), POST bodies
 * (form_parse).
 */
#include "autoconfig.h"

#include "form.h"
#include "http.h"
#include "json.h"
#include "rep_feed.h"
#include "unit.h"

/* one log entry: ip, mfrom, from, action, symbols */
static const char *E[5] = { "203.0.113.7", "a@Mail.Bad.test", "x@other.test", "reject",
			    "T_ONE,REP_IP,T_TWO" };

static const struct {
	const char *name;
	struct rep_feed_filter f;
	bool want;
} filters[] = {
	{ "no filter", { NULL, NULL, NULL, NULL }, true },
	{ "empty strings", { "", "", "", "" }, true },
	{ "action equal", { "reject", NULL, NULL, NULL }, true },
	{ "action case", { "REJECT", NULL, NULL, NULL }, true },
	{ "action other", { "accept", NULL, NULL, NULL }, false },
	{ "action prefix is not enough", { "rej", NULL, NULL, NULL }, false },
	{ "ip whole", { NULL, "203.0.113.7", NULL, NULL }, true },
	{ "ip prefix", { NULL, "203.0.", NULL, NULL }, true },
	{ "ip other", { NULL, "203.0.113.70", NULL, NULL }, false },
	{ "domain of mfrom", { NULL, NULL, "mail.bad.test", NULL }, true },
	{ "domain parent", { NULL, NULL, "bad.test", NULL }, true },
	{ "domain of from", { NULL, NULL, "other.test", NULL }, true },
	{ "domain label boundary", { NULL, NULL, "ad.test", NULL }, false },
	{ "domain longer", { NULL, NULL, "x.mail.bad.test", NULL }, false },
	{ "symbol first", { NULL, NULL, NULL, "T_ONE" }, true },
	{ "symbol last", { NULL, NULL, NULL, "t_two" }, true },
	{ "symbol part of a name", { NULL, NULL, NULL, "T_" }, false },
	{ "symbol absent", { NULL, NULL, NULL, "T_THREE" }, false },
	{ "all together", { "reject", "203.", "bad.test", "REP_IP" }, true },
	{ "one of them fails", { "reject", "203.", "bad.test", "NOPE" }, false },
};

START_TEST(feed_match)
{
	struct rep_log_entry le = { 0 };

	le.field[2] = (char *)E[0];
	le.field[4] = (char *)E[1];
	le.field[5] = (char *)E[2];
	le.field[8] = (char *)E[3];
	le.field[9] = (char *)E[4];
	ck_assert_msg(rep_feed_match(&filters[_i].f, &le) == filters[_i].want, "%s",
		      filters[_i].name);
}
END_TEST

START_TEST(feed_match_missing_fields)
{
	struct rep_log_entry le = { 0 };
	struct rep_feed_filter any = { 0 }, act = { "accept", NULL, NULL, NULL };
	struct rep_feed_filter ip = { NULL, "1", NULL, NULL }, dom = { NULL, NULL, "a.test", NULL };
	struct rep_feed_filter sym = { NULL, NULL, NULL, "X" };

	ck_assert(rep_feed_match(&any, &le));
	ck_assert(!rep_feed_match(&act, &le));
	ck_assert(!rep_feed_match(&ip, &le));
	ck_assert(!rep_feed_match(&dom, &le));
	ck_assert(!rep_feed_match(&sym, &le));
}
END_TEST

static const struct {
	const char *in;
	int flags;
	const char *want;
} strs[] = {
	{ "plain", 0, "\"plain\"" },
	{ "q\"b\\", 0, "\"q\\\"b\\\\\"" },
	{ "<script>&'", 0, "\"<script>&'\"" },
	{ "<script>&'", JSON_HTML_SAFE, "\"\\u003cscript\\u003e\\u0026\\u0027\"" },
	{ "a\nb\tc\x01\x7f", 0, "\"a\\nb\\tc\\u0001\\u007f\"" },
	{ "caf\xc3\xa9", JSON_HTML_SAFE, "\"caf\xc3\xa9\"" },
	{ "bad\xe9", 0, "\"bad\\u00e9\"" },
	{ "\xed\xa0\x80", 0, "\"\\u00ed\\u00a0\\u0080\"" },	/* a surrogate */
};

START_TEST(json_strings)
{
	struct buf b;

	buf_init(&b);
	json_put_str(&b, strs[_i].in, strs[_i].flags);
	ck_assert_str_eq(b.data, strs[_i].want);
	buf_free(&b);
}
END_TEST

START_TEST(json_null_and_numbers)
{
	struct buf b;

	buf_init(&b);
	json_put_str(&b, NULL, 0);
	buf_putc(&b, ' ');
	json_put_num(&b, 1.23456, 2);
	buf_putc(&b, ' ');
	json_put_num(&b, 1.0 / 0.0, 2);
	ck_assert_str_eq(b.data, "null 1.23 null");
	buf_free(&b);
}
END_TEST

static const struct {
	const char *listen;
	bool valid, loopback;
} listens[] = {
	{ "127.0.0.1:8025", true, true },
	{ "127.1.2.3:1", true, true },
	{ "[::1]:8025", true, true },
	{ "0.0.0.0:8025", true, false },
	{ "192.0.2.1:65535", true, false },
	{ "[2001:db8::1]:80", true, false },
	{ "localhost:8025", false, false },
	{ "127.0.0.1", false, false },
	{ "127.0.0.1:0", false, false },
	{ "127.0.0.1:65536", false, false },
	{ "127.0.0.1:80x", false, false },
	{ "::1:8025", true, true },	/* as metrics_listen always took it */
	{ "", false, false },
};

START_TEST(listen_parse)
{
	ck_assert_msg(http_listen_valid(listens[_i].listen) == listens[_i].valid, "%s",
		      listens[_i].listen);
	ck_assert_msg(http_listen_loopback(listens[_i].listen) == listens[_i].loopback, "%s",
		      listens[_i].listen);
}
END_TEST

#define JSON "application/json"
#define FORM "application/x-www-form-urlencoded"

static const struct {
	const char *ctype, *body;
	int rc;
	const char *want;	/* name=value;... of the pairs */
} bodies[] = {
	{ JSON, "{\"kind\":\"ip\",\"value\":\"192.0.2.1\",\"op\":\"spam\"}", 0,
	  "kind=ip;value=192.0.2.1;op=spam;" },
	{ JSON "; charset=utf-8", " { \"count\" : 7.5 , \"a\":\"\\u003cb\\u003e\\n\" } ", 0,
	  "count=7.5;a=<b>\n;" },
	{ JSON, "{\"e\":\"\\ud83d\\ude00\"}", 0, "e=\xf0\x9f\x98\x80;" },
	{ JSON, "{}", 0, "" },
	{ JSON, "{\"a\":\"\\u0000\"}", -1, NULL },
	{ JSON, "{\"a\":\"\\ud800\"}", -1, NULL },
	{ JSON, "{\"a\":true}", -1, NULL },
	{ JSON, "{\"a\":\"b\"} x", -1, NULL },
	{ JSON, "{\"a\":\"b\",}", -1, NULL },
	{ JSON, "[\"a\"]", -1, NULL },
	{ JSON, "{\"a\":\"unterminated}", -1, NULL },
	{ JSON, "{\"a\":\"tab\there\"}", -1, NULL },
	{ JSON, "{\"1\":1,\"2\":2,\"3\":3,\"4\":4,\"5\":5,\"6\":6,\"7\":7,\"8\":8,\"9\":9}",
	  -1, NULL },
	{ FORM, "kind=ip&value=192.0.2.1&op=ham", 0, "kind=ip;value=192.0.2.1;op=ham;" },
	{ FORM "; charset=UTF-8", "a=x+y%3Cz%3e&&b=%00&c=%zz&d=", 0, "a=x y<z>;b=?;c=%zz;d=;" },
	{ FORM, "novalue", -1, NULL },
	{ "text/plain", "kind=ip", -1, NULL },
	{ NULL, "kind=ip", -1, NULL },
};

START_TEST(form_bodies)
{
	struct form f = { 0 };
	struct buf b;
	int rc = form_parse(bodies[_i].ctype, bodies[_i].body, &f);

	ck_assert_msg(rc == bodies[_i].rc, "%s: rc %d", bodies[_i].body, rc);
	if (rc == 0) {
		buf_init(&b);
		buf_puts(&b, "");
		for (size_t i = 0; i < f.n; i++)
			buf_printf(&b, "%s=%s;", f.name[i], f.value[i]);
		ck_assert_str_eq(b.data, bodies[_i].want);
		buf_free(&b);
	}
	form_clear(&f);
}
END_TEST

START_TEST(form_lookup)
{
	struct form f = { 0 };

	ck_assert_int_eq(form_parse(FORM, "a=1&b=2&a=3", &f), 0);
	ck_assert_str_eq(form_get(&f, "a"), "1");
	ck_assert_str_eq(form_get(&f, "b"), "2");
	ck_assert_ptr_null(form_get(&f, "c"));
	form_clear(&f);
	ck_assert_int_eq(f.n, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dashboard");
	TCase *tc = tcase_create("dashboard");

	tcase_add_loop_test(tc, feed_match, 0, sizeof(filters) / sizeof(filters[0]));
	tcase_add_test(tc, feed_match_missing_fields);
	tcase_add_loop_test(tc, json_strings, 0, sizeof(strs) / sizeof(strs[0]));
	tcase_add_test(tc, json_null_and_numbers);
	tcase_add_loop_test(tc, listen_parse, 0, sizeof(listens) / sizeof(listens[0]));
	tcase_add_loop_test(tc, form_bodies, 0, sizeof(bodies) / sizeof(bodies[0]));
	tcase_add_test(tc, form_lookup);
	suite_add_tcase(s, tc);
	return unit_main(s);
}
