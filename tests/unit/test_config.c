/*
 * test_config.c - the parapet.conf parser (SPEC §3): defaults, every kind
 * of bad value reported with file:line, valid values, CIDR matching.
 */
#include "autoconfig.h"

#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "unit.h"
#include "base/cidr.h"

/* parse - text to config (NULL on error, *err set) */
static struct config *parse(const char *text, char **err)
{
	*err = NULL;
	return config_parse_buf("t.conf", text, strlen(text), err);
}

START_TEST(defaults)
{
	char *err;
	struct config *c = parse("", &err);

	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->socket, "unix:/run/parapet/parapet.sock");
	ck_assert_int_eq(c->socket_mode, 0660);
	ck_assert_ptr_null(c->user);
	ck_assert_int_eq(c->log_level, LOG_LVL_INFO);
	ck_assert(c->tag_score == 5.0);
	ck_assert(!c->quarantine_on);
	ck_assert(c->reject_score == 15.0);
	ck_assert(c->greylist);
	ck_assert(c->greylist_score == 3.0);
	ck_assert_int_eq(c->greylist_delay, 300);
	ck_assert_int_eq(c->greylist_window, 86400);
	ck_assert_int_eq(c->max_scan_bytes, 1048576);
	ck_assert_uint_eq(c->trusted_networks.count, 0);
	ck_assert(c->skip_authenticated);
	ck_assert_ptr_null(c->redis);
	ck_assert_str_eq(c->redis_prefix, "parapet:");
	ck_assert_str_eq(c->bayes_totals_key, "parapet:bayes");
	ck_assert_int_eq(c->redis_timeout_ms, 100);
	ck_assert_int_eq(c->dns_timeout_ms, 5000);
	ck_assert_int_eq(c->on_error, ON_ERROR_TEMPFAIL);
	ck_assert_int_eq(c->rep_half_life, 604800);
	ck_assert_int_eq(c->rep_min_count, 5);
	ck_assert_int_eq(c->log_max, 100000);
	ck_assert_ptr_nonnull(c->authserv_id);	/* the host name */
	config_free(c);
}
END_TEST

/* bad input -> the exact error line */
static const struct {
	const char *text;
	const char *want;
} bad[] = {
	{ "# ok\nbogus = 1\n", "t.conf:2: error: unknown key 'bogus'" },
	{ "tag_score = lots\n", "t.conf:1: error: bad value 'lots' for tag_score: expected a number" },
	{ "\n\nsocket = tcp:25\n", "t.conf:3: error: bad value 'tcp:25' for socket:" },
	{ "socket = inet:99999@localhost\n", "t.conf:1: error: bad value" },
	{ "socket_mode = 0999\n", "t.conf:1: error: bad value '0999' for socket_mode" },
	{ "greylist = maybe\n", "t.conf:1: error: bad value 'maybe' for greylist: expected yes or no" },
	{ "redis_timeout_ms = 0\n", "t.conf:1: error: bad value '0' for redis_timeout_ms: out of range" },
	{ "max_scan_bytes = 12x\n", "t.conf:1: error: bad value '12x' for max_scan_bytes: expected an integer" },
	{ "trusted_networks = 10.0.0.0/33\n", "t.conf:1: error: bad value '10.0.0.0/33' for trusted_networks" },
	{ "trusted_networks = 10.0.0.0/8, example.org\n", "t.conf:1: error: bad value" },
	{ "on_error = reject\n", "t.conf:1: error: bad value 'reject' for on_error: expected tempfail or accept" },
	{ "redis = localhost\n", "t.conf:1: error: bad value 'localhost' for redis: expected HOST:PORT or unix:/PATH" },
	{ "log_level = loud\n", "t.conf:1: error: bad value 'loud' for log_level" },
	{ "quarantine_score = never\n", "t.conf:1: error: bad value 'never' for quarantine_score: expected a number or off" },
	{ "user =\n", "t.conf:1: error: bad value '' for user: empty value" },
	{ "just words\n", "t.conf:1: error: expected key = value" },
	{ "redis_sentinels = 127.0.0.1:26379\n", "t.conf: error: redis_sentinels needs redis_master_name" },
};

START_TEST(bad_values)
{
	char *err;
	struct config *c = parse(bad[_i].text, &err);

	ck_assert_msg(c == NULL, "accepted: %s", bad[_i].text);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strncmp(err, bad[_i].want, strlen(bad[_i].want)) == 0,
		      "got '%s', want prefix '%s'", err, bad[_i].want);
	free(err);
}
END_TEST

START_TEST(good_values)
{
	char *err;
	struct config *c = parse(
		"  # comment\n"
		"socket = inet:8891@127.0.0.1\n"
		"socket_mode=0600\n"
		"tag_score = 4.5   \n"
		"quarantine_score = 10\n"
		"reject_score = 20\n"
		"greylist = no\n"
		"trusted_networks = 10.0.0.0/8 2001:db8::/32,192.0.2.7\n"
		"redis = unix:/run/redis.sock\n"
		"redis_password = pa#ss\n"
		"dns_nameservers = 127.0.0.1:5353, [::1]:53, 192.0.2.53\n"
		"on_error = accept\n"
		"redis_prefix = site1:\n"
		"log_level = debug\n", &err);

	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_str_eq(c->socket, "inet:8891@127.0.0.1");
	ck_assert_int_eq(c->socket_mode, 0600);
	ck_assert(c->tag_score == 4.5);
	ck_assert(c->quarantine_on && c->quarantine_score == 10.0);
	ck_assert(c->reject_score == 20.0);
	ck_assert(!c->greylist);
	ck_assert_uint_eq(c->trusted_networks.count, 3);
	ck_assert_str_eq(c->redis, "unix:/run/redis.sock");
	ck_assert_str_eq(c->redis_password, "pa#ss");	/* '#' only comments at line start */
	ck_assert_int_eq(c->on_error, ON_ERROR_ACCEPT);
	ck_assert_int_eq(c->log_level, LOG_LVL_DEBUG);
	ck_assert_str_eq(c->bayes_totals_key, "site1:bayes");	/* made once at load */
	config_free(c);
}
END_TEST

static const struct {
	const char *ip;
	bool want;
} cidr_cases[] = {
	{ "10.1.2.3", true }, { "11.0.0.1", false }, { "192.0.2.7", true },
	{ "192.0.2.8", false }, { "2001:db8:1::5", true }, { "2001:db9::1", false },
	{ "::ffff:10.9.9.9", true }, { "not-an-ip", false }, { "", false },
	/* the forms the reputation keys read (cidr_ip_parse, issue 13) */
	{ "[10.1.2.3]", true }, { "IPv6:::ffff:10.9.9.9", true },
	{ "[IPv6:2001:db8:1::5]", true }, { "[IPv6:::ffff:11.0.0.1]", false },
};

START_TEST(cidr_match)
{
	struct cidr_list l;
	const char *err = NULL;

	ck_assert_int_eq(cidr_list_parse("10.0.0.0/8, 2001:db8::/32 192.0.2.7", &l, &err), 0);
	ck_assert_msg(cidr_list_match(&l, cidr_cases[_i].ip) == cidr_cases[_i].want,
		      "%s", cidr_cases[_i].ip);
	cidr_list_free(&l);
}
END_TEST

/* one canonicaliser: IPv4-mapped is IPv4 wherever an address is read */
static const struct {
	const char *ip;
	int fam;
	const char *want;
} ip_cases[] = {
	{ "192.0.2.1", 4, "192.0.2.1" }, { "::ffff:192.0.2.1", 4, "192.0.2.1" },
	{ "[IPv6:::FFFF:192.0.2.1]", 4, "192.0.2.1" }, { " [192.0.2.1]", 4, "192.0.2.1" },
	{ "2001:DB8::1", 6, "2001:db8::1" }, { "::1", 6, "::1" },
	{ "192.0.2", 0, NULL }, { "", 0, NULL }, { "[", 0, NULL },
};

START_TEST(ip_parse)
{
	unsigned char a[16];
	char out[64];
	int fam = cidr_ip_parse(ip_cases[_i].ip, a);

	ck_assert_int_eq(fam, ip_cases[_i].fam);
	if (fam == 0)
		return;
	inet_ntop(fam == 4 ? AF_INET : AF_INET6, a, out, sizeof(out));
	ck_assert_str_eq(out, ip_cases[_i].want);
}
END_TEST

START_TEST(restart_keys)
{
	char *err;
	struct config *a = parse("socket = unix:/a.sock\ntag_score = 1\n", &err);
	struct config *b = parse("socket = unix:/a.sock\ntag_score = 2\n", &err);
	struct config *c = parse("socket = unix:/b.sock\n", &err);

	ck_assert_ptr_null(config_restart_needed(a, b));
	ck_assert_str_eq(config_restart_needed(a, c), "socket");
	config_free(a);
	config_free(b);
	config_free(c);
}
END_TEST

START_TEST(missing_file)
{
	char *err = NULL;
	struct config *c = config_load("/nonexistent/parapet.conf", &err);

	ck_assert_ptr_null(c);
	ck_assert_msg(strstr(err, "/nonexistent/parapet.conf: error: cannot open") == err, "%s", err);
	free(err);
}
END_TEST

/* write_file - text into path with mode */
static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp = fopen(path, "w");

	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* redis_password_file: first line, and only a file readable by its owner */
START_TEST(password_file)
{
	char dir[] = "/tmp/parapet-conf.XXXXXX";
	char conf[64], pw[64], *err = NULL;
	struct config *c;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/p.conf", dir);
	snprintf(pw, sizeof(pw), "%s/redis.pw", dir);
	char *text = xasprintf("redis_password_file = %s\n", pw);
	write_file(conf, text, 0644);

	write_file(pw, "s3cret\nignored\n", 0600);
	c = config_load(conf, &err);
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_str_eq(c->redis_password, "s3cret");
	config_free(c);

	write_file(pw, "s3cret\n", 0640);	/* the group may read it: refused */
	c = config_load(conf, &err);
	ck_assert_ptr_null(c);
	ck_assert_msg(strstr(err, "readable only by its owner") != NULL, "%s", err);
	free(err);
	write_file(pw, "s3cret\n", 0604);
	ck_assert_ptr_null(c = config_load(conf, &err));
	free(err);

	unlink(pw);	/* missing */
	ck_assert_ptr_null(c = config_load(conf, &err));
	ck_assert_msg(strstr(err, "redis.pw: No such file") != NULL, "%s", err);
	free(err);

	write_file(pw, "s3cret\n", 0600);	/* both keys: ambiguous */
	free(text);
	text = xasprintf("redis_password = x\nredis_password_file = %s\n", pw);
	write_file(conf, text, 0644);
	ck_assert_ptr_null(c = config_load(conf, &err));
	ck_assert_msg(strstr(err, "both set") != NULL, "%s", err);
	free(err);
	free(text);
	unlink(pw);
	unlink(conf);
	rmdir(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_test(tc, defaults);
	tcase_add_loop_test(tc, bad_values, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, good_values);
	tcase_add_loop_test(tc, cidr_match, 0, sizeof(cidr_cases) / sizeof(cidr_cases[0]));
	tcase_add_loop_test(tc, ip_parse, 0, sizeof(ip_cases) / sizeof(ip_cases[0]));
	tcase_add_test(tc, restart_keys);
	tcase_add_test(tc, missing_file);
	tcase_add_test(tc, password_file);
	suite_add_tcase(s, tc);
	return unit_main(s);
}
