/*
 * test_dashboard.c - the dashboard's pure parts: the feed filter
 * (rep_feed_match), JSON string escaping (json_put_str) and --listen
 * parsing (http_listen_valid, http_listen_loopback), POST bodies
 * (form_parse), and the Host check against DNS rebinding
 * (dashboard_host_ok), also through a real dashboard on a loopback port.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admin/dashboard.h"
#include "base/form.h"
#include "net/http.h"
#include "base/json.h"
#include "admin/rep_feed.h"
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

/* ---------------------------------------------------------------- Host */

static const char *const NAMES[] = { "dash.example.org", "mx.example.org:8443" };

static const struct {
	const char *host, *local;
	bool want;
} hosts[] = {
	{ "127.0.0.1:8025", "127.0.0.1:8025", true },
	{ "localhost:8025", "127.0.0.1:8025", true },
	{ "LocalHost:8025", "127.0.0.1:8025", true },
	{ "[::1]:8025", "[::1]:8025", true },
	{ "localhost:8025", "[::1]:8025", true },
	{ "[::1]:8025", "127.0.0.1:8025", false },
	{ "127.0.0.1:8026", "127.0.0.1:8025", false },
	{ "127.0.0.1", "127.0.0.1:8025", false },	/* port 80 implied */
	{ "127.0.0.1", "127.0.0.1:80", true },
	{ "localhost", "127.0.0.1:80", true },
	{ "127.0.0.1:8025x", "127.0.0.1:8025", false },
	{ "127.0.0.10:8025", "127.0.0.1:8025", false },
	/* DNS rebinding: the attacker's own name, now pointing at us */
	{ "evil.example:8025", "127.0.0.1:8025", false },
	{ "localhost.evil.example:8025", "127.0.0.1:8025", false },
	{ "", "127.0.0.1:8025", false },
	{ NULL, "127.0.0.1:8025", false },
	/* localhost only on loopback */
	{ "localhost:8025", "192.0.2.1:8025", false },
	{ "192.0.2.1:8025", "192.0.2.1:8025", true },
	/* --host names: as given, or with the port */
	{ "dash.example.org", "192.0.2.1:8025", true },
	{ "DASH.example.org:8025", "192.0.2.1:8025", true },
	{ "dash.example.org:9999", "192.0.2.1:8025", false },
	{ "mx.example.org:8443", "192.0.2.1:8025", true },
	{ "mx.example.org", "192.0.2.1:8025", false },
	{ "xdash.example.org", "192.0.2.1:8025", false },
};

START_TEST(host_check)
{
	ck_assert_msg(dashboard_host_ok(hosts[_i].host, hosts[_i].local, NAMES, 2) ==
			      hosts[_i].want,
		      "Host %s at %s", hosts[_i].host ? hosts[_i].host : "(none)", hosts[_i].local);
}
END_TEST

/* free_port - a loopback port nobody listens on just now */
static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* http_status - one request to 127.0.0.1:port with the given Host line
 * (NULL: HTTP/1.0 without one); the status code of the answer */
static int http_status(int port, const char *path, const char *host)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	char req[512], resp[64] = "";
	int fd = socket(AF_INET, SOCK_STREAM, 0), code = -1;
	size_t got = 0;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (host)
		snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
			 path, host);
	else
		snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", path);
	ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while (got < sizeof(resp) - 1) {
		ssize_t n = read(fd, resp + got, sizeof(resp) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	resp[got] = '\0';
	close(fd);
	sscanf(resp, "HTTP/1.%*d %d", &code);
	return code;
}

START_TEST(host_checked_by_server)
{
	char dir[] = "/tmp/parapet-dash.XXXXXX", path[128], listen[64], host[64];
	const char *names[] = { "dash.example.org" };
	struct engine *e = unit_engine("", "");
	char *err = NULL;
	FILE *fp;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/index.html", dir);
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fputs("<!doctype html><title>t</title>\n", fp);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/dashboard.js", dir);
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fputs("\"use strict\";\n", fp);
	fclose(fp);
	int port = free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	struct dashboard_options o = { .listen = listen, .static_dir = dir, .hosts = names,
				       .nhosts = 1 };
	struct dashboard *d = dashboard_start(e, &o, &err);
	ck_assert_msg(d != NULL, "%s", err ? err : "?");

	static const char *const paths[] = { "/", "/dashboard.js", "/api/info", "/nope.html" };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const char *p = paths[i];
		int good = strcmp(p, "/nope.html") == 0 ? 404 : 200;
		snprintf(host, sizeof(host), "127.0.0.1:%d", port);
		ck_assert_int_eq(http_status(port, p, host), good);
		snprintf(host, sizeof(host), "localhost:%d", port);
		ck_assert_int_eq(http_status(port, p, host), good);
		snprintf(host, sizeof(host), "dash.example.org:%d", port);
		ck_assert_int_eq(http_status(port, p, host), good);
		/* a rebound name: refused on every path, static files too */
		snprintf(host, sizeof(host), "rebind.evil.example:%d", port);
		ck_assert_msg(http_status(port, p, host) == 421, "%s with Host %s", p, host);
		ck_assert_int_eq(http_status(port, p, "127.0.0.1:1"), 421);
		ck_assert_int_eq(http_status(port, p, NULL), 421);
	}
	d = dashboard_stop(d);
	/* --host values are checked */
	const char *bad[] = { "a b" };
	o.hosts = bad;
	ck_assert_ptr_null(dashboard_start(e, &o, &err));
	ck_assert_ptr_nonnull(strstr(err, "--host"));
	free(err);
	engine_unref(e);
	snprintf(path, sizeof(path), "%s/index.html", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/dashboard.js", dir);
	unlink(path);
	rmdir(dir);
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
	tcase_add_loop_test(tc, host_check, 0, sizeof(hosts) / sizeof(hosts[0]));
	tcase_add_test(tc, host_checked_by_server);
	suite_add_tcase(s, tc);
	return unit_main(s);
}
