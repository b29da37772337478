/*
 * test_lists.c - the lists file (rules/lists.c): its parser and errors
 * with file:line, and matching through the shipped rules/60-lists.cf:
 * addresses, globs, domains, IPv4 and IPv6 networks, welcomelist_auth
 * with SPF or DKIM, and the rule-file directives feeding the same lists.
 */
#include <unistd.h>

#include "unit.h"

#include "mail/auth.h"
#include "mail/message.h"
#include "rules/eval.h"
#include "rules/hits.h"
#include "rules/re.h"

/* shipped - the text of a shipped rule file (caller frees) */
static char *shipped(const char *name)
{
	const char *src = getenv("PARAPET_SRCDIR");
	char *path = xasprintf("%s/rules/%s", src ? src : "..", name);
	FILE *fp = fopen(path, "r");
	struct buf b;
	char chunk[4096];
	size_t n;

	ck_assert_msg(fp != NULL, "cannot open %s", path);
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		buf_append(&b, chunk, n);
	fclose(fp);
	free(path);
	buf_putc(&b, '\0');
	return b.data;
}

static const char LISTS[] =
	"# the lists file\n"
	"allow from friend@ok.test\n"
	"allow from *@partner.test   # a whole domain\n"
	"\n"
	"block from *@spammer.test\n"
	"block from bad?@glob.test\n"
	"allow auth *@bank.test\n"
	"allow ip 192.0.2.0/24\n"
	"allow ip 2001:db8:1::/48\n"
	"block ip 198.51.100.7\r\n"
	"block ip 2001:db8:bad::1\n";

static const struct {
	const char *ip, *from, *mail_from;
	int spf;
	const char *dkim;
	const char *want;	/* the list symbols that hit, in rule order */
} cases[] = {
	{ "203.0.113.1", "friend@ok.test", "", AUTH_NONE, NULL, "USER_IN_WELCOMELIST" },
	{ "203.0.113.1", "FRIEND@OK.test", "", AUTH_NONE, NULL, "USER_IN_WELCOMELIST" },
	{ "203.0.113.1", "other@ok.test", "", AUTH_NONE, NULL, "" },
	{ "203.0.113.1", "x@partner.test", "", AUTH_NONE, NULL, "USER_IN_WELCOMELIST" },
	{ "203.0.113.1", "x@sub.partner.test", "", AUTH_NONE, NULL, "" },
	{ "203.0.113.1", "x@spammer.test", "", AUTH_NONE, NULL, "USER_IN_BLOCKLIST" },
	{ "203.0.113.1", "bad1@glob.test", "", AUTH_NONE, NULL, "USER_IN_BLOCKLIST" },
	{ "203.0.113.1", "bad12@glob.test", "", AUTH_NONE, NULL, "" },
	/* the envelope sender counts as a From address (SpamAssassin's) */
	{ "203.0.113.1", "x@a.test", "b@spammer.test", AUTH_NONE, NULL, "USER_IN_BLOCKLIST" },
	/* allow auth: only with SPF (envelope) or DKIM (author domain) */
	{ "203.0.113.1", "pay@bank.test", "pay@bank.test", AUTH_NONE, NULL, "" },
	{ "203.0.113.1", "pay@bank.test", "pay@bank.test", AUTH_PASS, NULL,
	  "USER_IN_SPF_WELCOMELIST" },
	{ "203.0.113.1", "pay@bank.test", "", AUTH_NONE, "bank.test", "USER_IN_DKIM_WELCOMELIST" },
	{ "203.0.113.1", "pay@bank.test", "", AUTH_NONE, "evil.test", "" },
	{ "203.0.113.1", "pay@bank.test", "pay@bank.test", AUTH_FAIL, NULL, "" },
	/* networks */
	{ "192.0.2.200", "x@a.test", "", AUTH_NONE, NULL, "CLIENT_IN_WELCOMELIST" },
	{ "192.0.3.1", "x@a.test", "", AUTH_NONE, NULL, "" },
	{ "::ffff:192.0.2.9", "x@a.test", "", AUTH_NONE, NULL, "CLIENT_IN_WELCOMELIST" },
	{ "2001:db8:1:ff::2", "x@a.test", "", AUTH_NONE, NULL, "CLIENT_IN_WELCOMELIST" },
	{ "2001:db8:2::2", "x@a.test", "", AUTH_NONE, NULL, "" },
	{ "198.51.100.7", "x@a.test", "", AUTH_NONE, NULL, "CLIENT_IN_BLOCKLIST" },
	{ "198.51.100.8", "x@a.test", "", AUTH_NONE, NULL, "" },
	{ "2001:db8:bad::1", "x@a.test", "", AUTH_NONE, NULL, "CLIENT_IN_BLOCKLIST" },
	/* both lists: both symbols, the scores add up */
	{ "198.51.100.7", "friend@ok.test", "", AUTH_NONE, NULL,
	  "USER_IN_WELCOMELIST CLIENT_IN_BLOCKLIST" },
	/* the rule file's own directives feed the same lists */
	{ "203.0.113.1", "boss@rulefile.test", "", AUTH_NONE, NULL, "USER_IN_WELCOMELIST" },
	{ "203.0.113.66", "x@a.test", "", AUTH_NONE, NULL, "CLIENT_IN_BLOCKLIST" },
};

/* matching through the shipped rules */
START_TEST(match)
{
	char *rules = shipped("60-lists.cf");
	char *text = xasprintf("%s\nwelcomelist_from boss@rulefile.test\n"
			       "blocklist_ip 203.0.113.64/30\n", rules);
	struct diag d;
	char hdr[256];
	struct buf got;

	diag_init(&d);
	struct ruleset *rs = rules_load_text("60-lists.cf", text, unit_builtins(), &d);
	ck_assert_msg(rs != NULL, "%s", d.n ? d.lines[0] : "?");
	ck_assert_msg(rules_lists_text(rs, "lists", LISTS, strlen(LISTS), &d), "%s",
		      d.n ? d.lines[0] : "?");
	struct msg *m = msg_new(65536);
	struct re_scratch *re = re_scratch_new();
	struct hits h = { 0 };
	const char *dk[1] = { cases[_i].dkim };
	struct rules_auth au = { .spf_mfrom = cases[_i].spf, .dkim_valid = dk,
				  .ndkim_valid = cases[_i].dkim ? 1 : 0 };

	msg_set_client(m, cases[_i].ip, "client.test", "helo.test");
	msg_set_from(m, cases[_i].mail_from);
	snprintf(hdr, sizeof(hdr), " %s", cases[_i].from);
	msg_add_header(m, "From", hdr);
	msg_end_headers(m);
	rules_eval(rs, m, re, &h, &au);
	buf_init(&got);
	for (size_t i = 0; i < h.n; i++)
		buf_printf(&got, "%s%s", got.len ? " " : "", h.v[i].name);
	buf_putc(&got, '\0');
	ck_assert_msg(strcmp(got.data, cases[_i].want) == 0, "case %d: got '%s', want '%s'", _i,
		      got.data, cases[_i].want);
	double score;
	const char *desc;
	ck_assert(rules_symbol(rs, "USER_IN_WELCOMELIST", &score, &desc) && score == -100);
	ck_assert(rules_symbol(rs, "CLIENT_IN_BLOCKLIST", &score, &desc) && score == 100);
	buf_free(&got);
	hits_clear(&h);
	re_scratch_free(re);
	msg_free(m);
	rules_free(rs);
	diag_free(&d);
	free(text);
	free(rules);
}
END_TEST

/* every bad line is an error with file:line; good lines around it load */
START_TEST(errors)
{
	static const struct { const char *text, *want; } bad[] = {
		{ "allow from\n", "l:1: error: expected allow|block from|auth|ip ENTRY" },
		{ "\nallow\n", "l:2: error: expected allow|block from|auth|ip ENTRY" },
		{ "allow from # nothing\n", "l:1: error: expected allow|block from|auth|ip ENTRY" },
		{ "allow from a@b.test c@d.test\n", "l:1: error: one entry a line" },
		{ "permit from a@b.test\n", "l:1: error: expected allow or block" },
		{ "allow to a@b.test\n", "l:1: error: expected from, auth or ip after allow or block" },
		{ "block auth *@b.test\n", "l:1: error: block auth makes no sense: use block from" },
		{ "allow from example.test\n", "l:1: error: expected an address or *@domain" },
		{ "allow from @example.test\n", "l:1: error: expected an address or *@domain" },
		{ "allow from user@\n", "l:1: error: expected an address or *@domain" },
		{ "allow ip 192.0.2.0/33\n", "l:1: error: not an IP address or CIDR network" },
		{ "block ip example.test\n", "l:1: error: not an IP address or CIDR network" },
		{ "allow ip 2001:db8::/129\n", "l:1: error: not an IP address or CIDR network" },
		{ "allow from a@b.test\nblock ip 1.2.3.4/8/8\n",
		  "l:2: error: not an IP address or CIDR network" },
	};
	struct diag d;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		diag_init(&d);
		struct ruleset *rs = rules_load_text("r.cf", "", unit_builtins(), &d);
		ck_assert(rs != NULL);
		ck_assert_msg(!rules_lists_text(rs, "l", bad[i].text, strlen(bad[i].text), &d),
			      "case %zu loaded", i);
		ck_assert_msg(d.errors == 1 && strcmp(d.lines[0], bad[i].want) == 0,
			      "case %zu: got '%s', want '%s'", i, d.n ? d.lines[0] : "", bad[i].want);
		rules_free(rs);
		diag_free(&d);
	}
}
END_TEST

/* caps: an over-long line, a NUL byte, a missing file */
START_TEST(caps)
{
	struct diag d;
	char *longline = xmalloc(2100);

	memcpy(longline, "allow from ", 11);
	memset(longline + 11, 'a', 2000);
	memcpy(longline + 2011, "@x.test\n", 9);
	diag_init(&d);
	struct ruleset *rs = rules_load_text("r.cf", "", unit_builtins(), &d);
	ck_assert(!rules_lists_text(rs, "l", longline, strlen(longline), &d));
	ck_assert_str_eq(d.lines[0], "l:1: error: line longer than 1024 bytes");
	diag_free(&d);
	diag_init(&d);
	ck_assert(!rules_lists_text(rs, "l", "allow from a\0@b\n", 16, &d));
	ck_assert_str_eq(d.lines[0], "l:1: error: NUL byte");
	diag_free(&d);
	diag_init(&d);
	ck_assert(!rules_load_lists(rs, "/nonexistent/lists", &d));
	ck_assert_str_eq(d.lines[0], "/nonexistent/lists: error: cannot open: No such file or directory");
	diag_free(&d);
	rules_free(rs);
	free(longline);
}
END_TEST

/* the lists_file key: the engine reads it; an error fails the build */
START_TEST(engine_key)
{
	char dir[] = "/tmp/lists.XXXXXX", *path, *conf, *err = NULL;
	struct diag d;

	ck_assert(mkdtemp(dir) != NULL);
	path = xasprintf("%s/lists", dir);
	unit_write(path, "block from *@sender.test\n");
	const char *src = getenv("PARAPET_SRCDIR");
	conf = xasprintf("rules_dir = %s/rules\nlists_file = %s\n", src ? src : "..", path);
	struct config *cfg = config_parse_buf("t.conf", conf, strlen(conf), &err);
	ck_assert_msg(cfg != NULL, "%s", err ? err : "?");
	diag_init(&d);
	struct engine *e = engine_from_config(cfg, stage_registry, &d);
	ck_assert_msg(e != NULL, "%s", d.n ? d.lines[0] : "?");
	struct scan *sc = unit_scan(e, "From: x@y.test\nSubject: hi\n\nhello\n");
	ck_assert(unit_detail(sc, "USER_IN_BLOCKLIST") != NULL);
	double score;
	const char *desc;
	ck_assert(rules_symbol(e->rules, "POLICY_BLOCK", &score, &desc) && score == 100);
	ck_assert(rules_symbol(e->rules, "POLICY_ALLOW", &score, &desc) && score == -100);
	ck_assert(sc->hits.score >= 100);
	scan_free(sc);
	engine_unref(e);
	diag_free(&d);
	unit_write(path, "block from nothing\n");
	cfg = config_parse_buf("t.conf", conf, strlen(conf), &err);
	diag_init(&d);
	ck_assert(engine_from_config(cfg, stage_registry, &d) == NULL);
	ck_assert_msg(d.n && strstr(d.lines[0], ":1: error: expected an address or *@domain"),
		      "%s", d.n ? d.lines[0] : "");
	diag_free(&d);
	unlink(path);
	rmdir(dir);
	free(path);
	free(conf);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lists");
	TCase *tc = tcase_create("lists");

	tcase_add_loop_test(tc, match, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, errors);
	tcase_add_test(tc, caps);
	tcase_add_test(tc, engine_key);
	suite_add_tcase(s, tc);
	return unit_main(s);
}
