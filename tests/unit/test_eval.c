/*
 * test_eval.c - the eval: framework (rules/eval.c): argument parsing,
 * rules that call an implemented eval, unknown evals skipped with a
 * warning, argument counts, metas over evals, and the first HeaderEval
 * tests with SpamAssassin's semantics.
 */
#include "autoconfig.h"

#include "unit.h"

#include <pthread.h>
#include <stdio.h>
#include <strings.h>
#include "rules/eval.h"
#include "rules/hits.h"
#include "rules/re.h"
#include "net/dns.h"
#include "mail/auth.h"
#include "mail/message.h"
#include "stages/rep/rep.h"

/* eval_parse: the arguments of SpamAssassin's Perl list */
START_TEST(parse_args)
{
	struct eval_call c;

	ck_assert_ptr_null(eval_parse("check_for_missing_to_header()", &c));
	ck_assert_ptr_nonnull(c.def);
	ck_assert_uint_eq(c.argc, 0);
	eval_call_clear(&c);
	ck_assert_ptr_null(eval_parse(" nope ( 'a b', \"c,d\" , 12,0.5 ) ", &c));
	ck_assert_ptr_null(c.def);
	ck_assert_uint_eq(c.argc, 4);
	ck_assert_str_eq(c.argv[0], "a b");
	ck_assert_str_eq(c.argv[1], "c,d");
	ck_assert_str_eq(c.argv[2], "12");
	ck_assert_str_eq(c.argv[3], "0.5");
	eval_call_clear(&c);
	ck_assert_ptr_null(eval_parse("bare", &c));
	eval_call_clear(&c);
	ck_assert_ptr_nonnull(eval_parse("f('open)", &c));
	ck_assert_ptr_nonnull(eval_parse("f(a b)", &c));
	ck_assert_ptr_nonnull(eval_parse("f(a) junk", &c));
	ck_assert_ptr_nonnull(eval_parse("(a)", &c));
	ck_assert_ptr_nonnull(eval_parse("f(,)", &c));
}
END_TEST

/* loading: implemented evals are rules; unknown ones warn and read 0 */
/* eval_num reads digits with a point itself: the very double strtod
 * gives, for edge cases and 200,000 random strings of digits, points,
 * signs, blanks and letters (most of them strtod's way) */
START_TEST(eval_num_strtod)
{
	static const char *const fixed[] = { "0", "5", "0.5", "0.1", "0.3", "2.675", ".5", "5.", ".",
		"", "0400", "123456789012345", "1234567890123456", "0.000000000000001",
		"99999999999999.9", "1.7976931348623157", "3600", "1e3", "-1", " 7", "0x10", "5x",
		"1.2.3", "00000000000000000001", "9007199254740993" };
	const char alpha[] = "0123456789012345678901234567890123456789..-+ ex";
	unsigned seed = 31337;
	char b[24];

	for (size_t i = 0; i < sizeof(fixed) / sizeof(*fixed); i++) {
		double x = eval_num(fixed[i]), y = strtod(fixed[i], NULL);
		ck_assert_msg(memcmp(&x, &y, sizeof(x)) == 0, "\"%s\": %.17g, strtod %.17g", fixed[i], x, y);
	}
	for (int iter = 0; iter < 200000; iter++) {
		seed = seed * 1103515245u + 12345u;
		size_t n = (seed >> 16) % 18;
		for (size_t j = 0; j < n; j++) {
			seed = seed * 1103515245u + 12345u;
			b[j] = alpha[(seed >> 16) % (sizeof(alpha) - 1)];
		}
		b[n] = '\0';
		double x = eval_num(b), y = strtod(b, NULL);
		ck_assert_msg(memcmp(&x, &y, sizeof(x)) == 0, "\"%s\": %.17g, strtod %.17g", b, x, y);
	}
}
END_TEST

START_TEST(load)
{
	struct diag d;

	diag_init(&d);
	struct ruleset *rs = rules_load_text("r.cf",
		"header A eval:check_for_missing_to_header()\n"
		"header B eval:no_such_test('x')\n"
		"meta C A || B\n", unit_builtins(), &d);
	ck_assert_ptr_nonnull(rs);
	ck_assert_int_eq(d.errors, 0);
	ck_assert_int_eq(d.warnings, 0);
	ck_assert_int_eq(d.skipped, 2);	/* and meta C: B counts 0 */
	ck_assert_str_eq(d.lines[0],
		"r.cf: note: 1 skipped: eval test not implemented in parapet");
	ck_assert_uint_eq(rules_count(rs), 2);
	rules_free(rs);
	diag_free(&d);

	diag_init(&d);
	rs = rules_load_text("r.cf", "header A eval:check_for_missing_to_header('x')\n"
			     "body B eval:subject_is_all_caps()\n"
			     "header C eval:f('x\n", unit_builtins(), &d);
	ck_assert_ptr_null(rs);
	ck_assert_int_eq(d.errors, 2);
	ck_assert_str_eq(d.lines[0],
		"r.cf:1: error: A: eval:check_for_missing_to_header takes 0 to 0 arguments, not 1");
	ck_assert_int_eq(d.skipped, 1);	/* B: not a body test in parapet */
	ck_assert_str_eq(d.lines[1], "r.cf:3: error: C: eval: unterminated quoted argument");
	diag_free(&d);
}
END_TEST

static const char EVAL_RULES[] =
	"header MISSING_HEADERS eval:check_for_missing_to_header()\n"
	"score MISSING_HEADERS 1.0\n"
	"header SUBJ_ALL_CAPS eval:subject_is_all_caps()\n"
	"score SUBJ_ALL_CAPS 0.5\n"
	"meta BOTH MISSING_HEADERS && SUBJ_ALL_CAPS\n"
	"score BOTH 2\n";

static const struct {
	const char *hdrs;
	bool missing, caps;
} cases[] = {
	{ "To: b@rcpt.test\nSubject: Hello there everyone\n", false, false },
	{ "Subject: Hello there everyone\n", true, false },
	/* an empty To is there (SpamAssassin 4.0.1 gives it as "\n") */
	{ "To: \nSubject: FREE MONEY FOR YOU\n", false, true },
	{ "Subject: FREE MONEY FOR YOU\n", true, true },
	{ "Apparently-To: b@x.test\nSubject: FREE MONEY 4 U!!\n", false, true },
	{ "To: b@x.test\nSubject: Re: Fwd: FREE MONEY NOW\n", false, true },
	{ "To: b@x.test\nSubject: FREEMONEYNOW!!\n", false, false },	/* one word */
	{ "To: b@x.test\nSubject: FREE ME\n", false, false },		/* short */
	{ "To: b@x.test\nSubject: 123 456 789 0\n", false, false },	/* no letters */
	{ "To: b@x.test\nSubject: =?koi8-r?Q?FREE_MONEY_NOW?=\n", false, false },
	{ "To: b@x.test\nSubject: =?utf-8?Q?FREE_MONEY_NOW?=\n", false, true },
};

/* evaluation through the pipeline, with a meta over two evals */
START_TEST(run)
{
	struct engine *e = unit_engine("", EVAL_RULES);
	char text[512];

	snprintf(text, sizeof(text), "From: a@sender.test\n%s\nbody\n", cases[_i].hdrs);
	struct scan *sc = unit_scan(e, text);
	ck_assert_msg((unit_detail(sc, "MISSING_HEADERS") != NULL) == cases[_i].missing,
		      "case %d MISSING_HEADERS", _i);
	ck_assert_msg((unit_detail(sc, "SUBJ_ALL_CAPS") != NULL) == cases[_i].caps,
		      "case %d SUBJ_ALL_CAPS", _i);
	ck_assert_msg((unit_detail(sc, "BOTH") != NULL) == (cases[_i].caps && cases[_i].missing),
		      "case %d BOTH", _i);
	scan_free(sc);
	engine_unref(e);
}
END_TEST

static const char WLBL_RULES[] =
	"header USER_IN_WELCOMELIST eval:check_from_in_welcomelist()\n"
	"header USER_IN_BLOCKLIST eval:check_from_in_blacklist()\n"
	"header USER_IN_ALL_SPAM_TO eval:check_to_in_all_spam()\n"
	"header USER_IN_WELCOMELIST_TO eval:check_to_in_whitelist()\n"
	"header FROM_BANK eval:check_from_in_list('BANKS')\n"
	"header REPLYTO_BANK eval:check_replyto_in_list('BANKS')\n"
	"body URI_LISTED eval:check_uri_host_listed('SUSP')\n"
	"body URI_BLOCK eval:check_uri_host_in_blocklist()\n"
	"header SPF_WL eval:check_for_spf_welcomelist_from()\n"
	"header DEF_SPF_WL eval:check_for_def_spf_whitelist_from()\n"
	"header DKIM_WL eval:check_for_dkim_welcomelist_from()\n"
	"header DEF_DKIM_WL eval:check_for_def_dkim_welcomelist_from()\n"
	"welcomelist_from *@good.test a?c*@glob.test gone@x.test\n"
	"unwhitelist_from gone@x.test\n"
	"blacklist_from *@sender.test\n"
	"all_spam_to abuse@rcpt.test\n"
	"welcomelist_to *@list.test\n"
	"enlist_addrlist (BANKS) *@bank.test *@*.bank2.test\n"
	"delist_addrlist (BANKS) *@*.bank2.test\n"
	"enlist_uri_host (SUSP) susp.com !ok.susp.com !zz.com zz.com yy.net\n"
	"enlist_uri_host (SUSP) !yy.net a.yy.net b.c.org c.org\n"
	"blocklist_uri_host evil.com\n"
	"welcomelist_auth *@authd.test\n"
	"def_welcomelist_auth *@big.test\n"
	"welcomelist_from_dkim *@viaesp.test esp.test\n"
	"def_whitelist_from_dkim *@sub.test .parent.test\n"
	"welcomelist_from_spf spf@only.test\n"
	"header RCVD_WL eval:check_from_in_welcomelist()\n"
	"header DEF_WL eval:check_from_in_default_welcomelist()\n"
	"header FORGED_WL eval:check_forged_in_whitelist()\n"
	"welcomelist_from_rcvd *@corp.test corp.test\n"
	"welcomelist_from_rcvd boss@ipcorp.test [198.51.100.0]/24\n"
	"def_welcomelist_from_rcvd *@bigcorp.test bigcorp.test\n"
	"welcomelist_allows_relays *@travel.corp.test\n";

/* a Received field as Postfix writes it */
#define RCVD(name, ip) "Received: from " name " (" name " [" ip "])\n" \
	"\tby mx.rcpt.test (Postfix) with ESMTP id 4AB2C\n" \
	"\tfor <b@rcpt.test>; Thu,  3 Dec 2026 10:00:00 +0000 (UTC)\n"

static const struct {
	const char *from, *mail_from, *rcpt, *extra, *body;
	const char *want;	/* the symbols that hit, in rule order */
} wl_cases[] = {
	{ "x@good.test", "x@good.test", "b@rcpt.test", "", "hi", "USER_IN_WELCOMELIST RCVD_WL" },
	{ "x@GOOD.test", "", "b@rcpt.test", "", "hi", "USER_IN_WELCOMELIST RCVD_WL" },
	{ "abc@glob.test", "", "b@rcpt.test", "", "hi", "USER_IN_WELCOMELIST RCVD_WL" },
	{ "abcxyz@glob.test", "", "b@rcpt.test", "", "hi", "USER_IN_WELCOMELIST RCVD_WL" },
	{ "ac@glob.test", "", "b@rcpt.test", "", "hi", "" },
	{ "gone@x.test", "", "b@rcpt.test", "", "hi", "" },
	{ "x@evil.test", "bounce@sender.test", "b@rcpt.test", "", "hi", "USER_IN_BLOCKLIST" },
	{ "x@a.test", "", "b@rcpt.test", "Resent-From: y@good.test\n", "hi", "USER_IN_WELCOMELIST RCVD_WL" },
	{ "x@a.test", "", "abuse@rcpt.test", "", "hi", "USER_IN_ALL_SPAM_TO" },
	{ "x@a.test", "", "b@rcpt.test", "Cc: l@list.test\n", "hi", "USER_IN_WELCOMELIST_TO" },
	{ "x@bank.test", "", "b@rcpt.test", "", "hi", "FROM_BANK" },
	{ "x@a.bank2.test", "", "b@rcpt.test", "", "hi", "" },
	{ "x@a.test", "", "b@rcpt.test", "Reply-To: Bank <pay@bank.test>\n", "hi", "REPLYTO_BANK" },
	{ "x@a.test", "", "b@rcpt.test", "", "see http://www.susp.com/x", "URI_LISTED" },
	{ "x@a.test", "", "b@rcpt.test", "", "see http://ok.susp.com/x", "" },
	/* a host's last entry counts (SpamAssassin's hash keeps it); the
	 * nearest parent listed decides */
	{ "x@a.test", "", "b@rcpt.test", "", "see http://www.zz.com/x", "URI_LISTED" },
	{ "x@a.test", "", "b@rcpt.test", "", "see http://yy.net/x", "" },
	{ "x@a.test", "", "b@rcpt.test", "", "see http://a.yy.net/x", "URI_LISTED" },
	{ "x@a.test", "", "b@rcpt.test", "", "see http://q.b.c.org/x", "URI_LISTED" },
	{ "x@a.test", "", "b@rcpt.test", "", "see http://q.d.org/x", "" },
	{ "x@a.test", "", "b@rcpt.test", "", "see http://u:p@a.b.evil.com:8080/", "URI_BLOCK" },
	/* welcomelist_from_rcvd: the first untrusted relay must match */
	{ "ceo@corp.test", "", "b@rcpt.test", RCVD("mail.corp.test", "203.0.113.5"), "hi",
	  "USER_IN_WELCOMELIST RCVD_WL" },
	{ "ceo@corp.test", "", "b@rcpt.test", RCVD("mx.notcorp.test", "203.0.113.5"), "hi",
	  "FORGED_WL" },
	{ "ceo@travel.corp.test", "", "b@rcpt.test", RCVD("hotel.test", "203.0.113.5"), "hi", "" },
	{ "boss@ipcorp.test", "", "b@rcpt.test", RCVD("any.test", "198.51.100.7"), "hi",
	  "USER_IN_WELCOMELIST RCVD_WL" },
	{ "boss@ipcorp.test", "", "b@rcpt.test", RCVD("any.test", "198.51.101.7"), "hi",
	  "FORGED_WL" },
	{ "x@bigcorp.test", "", "b@rcpt.test", RCVD("out.bigcorp.test", "203.0.113.9"), "hi",
	  "DEF_WL" },
	{ "x@bigcorp.test", "", "b@rcpt.test", RCVD("out.small.test", "203.0.113.9"), "hi", "" },
	{ "ceo@corp.test", "", "b@rcpt.test", "", "hi", "" },	/* no relay: nothing known */
};

/* hit_list - the names that hit, space separated */
static void hit_list(const struct hits *h, char *out, size_t cap)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < h->n && o < cap; i++)
		o += (size_t)snprintf(out + o, cap - o, "%s%s", o ? " " : "", h->v[i].name);
}

/* welcomelist and blocklist directives and their evals */
START_TEST(wlbl)
{
	struct engine *e = unit_engine("", WLBL_RULES);
	char text[1024], got[512];
	struct scan *sc = scan_new(e);

	snprintf(text, sizeof(text), "From: %s\nTo: t@to.test\nSubject: s\n%s\n%s\n",
		 wl_cases[_i].from, wl_cases[_i].extra, wl_cases[_i].body);
	msg_set_client(sc->msg, NULL, "client.test", "helo.test");
	msg_set_from(sc->msg, wl_cases[_i].mail_from);
	msg_add_rcpt(sc->msg, wl_cases[_i].rcpt);
	mboxfile_feed(sc, text, strlen(text));
	scan_finish(sc);
	struct hits only = { 0 };
	for (size_t i = 0; i < sc->hits.n; i++)
		if (strstr(WLBL_RULES, sc->hits.v[i].name))
			hits_add(&only, sc->hits.v[i].name, 0, NULL, NULL);
	hit_list(&only, got, sizeof(got));
	ck_assert_msg(strcmp(got, wl_cases[_i].want) == 0, "case %d: got '%s', want '%s'", _i,
		      got, wl_cases[_i].want);
	hits_clear(&only);
	scan_free(sc);
	engine_unref(e);
}
END_TEST

static const struct {
	const char *from, *mail_from;
	int spf;
	const char *dkim[2];
	const char *want;
} auth_cases[] = {
	{ "a@authd.test", "a@authd.test", AUTH_PASS, { NULL }, "SPF_WL" },
	{ "a@authd.test", "a@authd.test", AUTH_FAIL, { NULL }, "" },
	{ "a@authd.test", "a@authd.test", AUTH_NONE, { "authd.test" }, "DKIM_WL" },
	{ "a@authd.test", "", AUTH_NONE, { "other.test" }, "" },
	{ "a@big.test", "a@big.test", AUTH_PASS, { "big.test" }, "DEF_SPF_WL DEF_DKIM_WL" },
	{ "a@viaesp.test", "", AUTH_NONE, { "esp.test" }, "DKIM_WL" },
	{ "a@viaesp.test", "", AUTH_NONE, { "viaesp.test" }, "" },
	{ "a@sub.test", "", AUTH_NONE, { "x.parent.test" }, "DEF_DKIM_WL" },
	{ "a@sub.test", "", AUTH_NONE, { "parent.test" }, "" },
	{ "a@x.test", "spf@only.test", AUTH_PASS, { NULL }, "SPF_WL" },
};

/* welcomelist_auth and friends: SPF and DKIM results from the stages */
START_TEST(wl_auth)
{
	struct diag d;
	char text[256], got[256];

	diag_init(&d);
	struct ruleset *rs = rules_load_text("w.cf", WLBL_RULES, unit_builtins(), &d);
	ck_assert_msg(rs != NULL, "%s", d.n ? d.lines[0] : "?");
	struct msg *m = msg_new(65536);
	struct re_scratch *re = re_scratch_new();
	struct hits h = { 0 };
	size_t nd = auth_cases[_i].dkim[0] ? 1 : 0;
	struct rules_auth au = { .spf_mfrom = auth_cases[_i].spf,
				  .dkim_valid = auth_cases[_i].dkim, .ndkim_valid = nd };

	msg_set_from(m, auth_cases[_i].mail_from);
	snprintf(text, sizeof(text), " %s", auth_cases[_i].from);
	msg_add_header(m, "From", text);
	msg_end_headers(m);
	rules_eval(rs, m, re, &h, &au);
	hit_list(&h, got, sizeof(got));
	ck_assert_msg(strcmp(got, auth_cases[_i].want) == 0, "case %d: got '%s', want '%s'", _i,
		      got, auth_cases[_i].want);
	hits_clear(&h);
	re_scratch_free(re);
	msg_free(m);
	rules_free(rs);
	diag_free(&d);
}
END_TEST

/* list directives: errors name the file and line */
START_TEST(wlbl_errors)
{
	static const struct { const char *text, *want; } bad[] = {
		{ "enlist_addrlist *@x.test\n",
		  "r.cf:1: error: enlist_addrlist: expected (LISTNAME) first" },
		{ "welcomelist_from_rcvd a@b.test\n",
		  "r.cf:1: error: welcomelist_from_rcvd: expected an address and a relay domain or [IP]" },
		{ "whitelist_from\n", "r.cf:1: error: whitelist_from: expected one or more addresses" },
		{ "welcomelist_from_dkim a@b c d\n",
		  "r.cf:1: error: welcomelist_from_dkim: expected an address and at most one domain" },
	};
	struct diag d;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		diag_init(&d);
		struct ruleset *rs = rules_load_text("r.cf", bad[i].text, unit_builtins(), &d);
		ck_assert_ptr_null(rs);
		ck_assert_msg(d.n && strcmp(d.lines[0], bad[i].want) == 0, "got '%s'",
			      d.n ? d.lines[0] : "");
		diag_free(&d);
	}
}
END_TEST

static const char AUTH_RULES[] =
	"header SPF_PASS eval:check_for_spf_pass()\n"
	"score SPF_PASS -0.25\n"
	"header DMARC_NONE eval:check_dmarc_none()\n"
	"header DKIM_SIGNED eval:check_dkim_signed()\n"
	"header __DKIM_DEPENDABLE eval:check_dkim_dependable()\n"
	"header DKIM_VALID_EF eval:check_dkim_valid_envelopefrom()\n"
	"header __RESIGNER2 eval:check_dkim_valid('googlegroups.com', '.yahoogroups.com' )\n"
	"meta RESIGNED __RESIGNER2 && __DKIM_DEPENDABLE\n"
	"header T_SPF_PERMERROR eval:check_for_spf_permerror()\n";

/* SpamAssassin's SPF/DKIM/DMARC rules: the built-ins of the same name
 * stay, the others are answered from the stages' findings */
START_TEST(auth_builtins)
{
	static const struct {
		const char *stage_hits[3], *dkim, *mail_from, *want;
	} c[] = {
		{ { "DKIM_VALID", "SPF_PERMERROR" }, "googlegroups.com", "a@googlegroups.com",
		  "DKIM_VALID SPF_PERMERROR DKIM_SIGNED DKIM_VALID_EF T_SPF_PERMERROR RESIGNED" },
		{ { "DKIM_VALID" }, "x.yahoogroups.com", "a@b.test", "DKIM_VALID DKIM_SIGNED RESIGNED" },
		{ { "DKIM_VALID" }, "yahoogroups.com.evil.test", "", "DKIM_VALID DKIM_SIGNED" },
		{ { "DKIM_INVALID" }, NULL, "", "DKIM_INVALID DKIM_SIGNED" },
		{ { "DKIM_NONE", "SPF_PASS" }, NULL, "", "DKIM_NONE SPF_PASS" },
	};
	struct diag d;
	char got[256];

	diag_init(&d);
	struct ruleset *rs = rules_load_text("a.cf", AUTH_RULES, unit_builtins(), &d);
	ck_assert_msg(rs != NULL, "%s", d.n ? d.lines[0] : "?");
	ck_assert_int_eq(d.warnings, 1);
	ck_assert_str_eq(d.lines[0], "a.cf:3: warning: DMARC_NONE: SpamAssassin's eval:check_dmarc_none "
			 "means something else than parapet's built-in DMARC_NONE, which is kept");
	double score;
	const char *desc;
	ck_assert(rules_symbol(rs, "SPF_PASS", &score, &desc));
	ck_assert(score == -0.25);
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct msg *m = msg_new(65536);
		struct re_scratch *re = re_scratch_new();
		struct hits h = { 0 };
		const char *dk[] = { c[i].dkim };
		struct rules_auth au = { .spf_mfrom = AUTH_NONE, .dkim_valid = dk,
					  .ndkim_valid = c[i].dkim ? 1 : 0 };
		for (size_t k = 0; c[i].stage_hits[k]; k++)
			hits_add(&h, c[i].stage_hits[k], 0, NULL, NULL);
		msg_set_from(m, c[i].mail_from);
		msg_add_header(m, "From", " a@b.test");
		msg_end_headers(m);
		rules_eval(rs, m, re, &h, &au);
		hit_list(&h, got, sizeof(got));
		ck_assert_msg(strcmp(got, c[i].want) == 0, "case %zu: got '%s'", i, got);
		hits_clear(&h);
		re_scratch_free(re);
		msg_free(m);
	}
	rules_free(rs);
	diag_free(&d);
}
END_TEST

/* rbl_ip_name: reversed octets, IPv6 nibbles, IPv4-mapped is IPv4 */
START_TEST(rbl_names)
{
	static const struct { const char *ip, *want; } t[] = {
		{ "192.0.2.99", "99.2.0.192.bl.test" },
		{ "[192.0.2.1]", "1.2.0.192.bl.test" },
		{ "::ffff:192.0.2.5", "5.2.0.192.bl.test" },
		{ "2001:db8::99", "9.9.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test" },
		{ "IPv6:2001:DB8:1::a", "a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.bl.test" },
		{ "not-an-ip", NULL },
		{ "", NULL },
	};
	char out[300];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bool ok = rbl_ip_name(t[i].ip, "bl.test", out, sizeof(out));
		ck_assert_msg(ok == (t[i].want != NULL), "%s", t[i].ip);
		if (ok)
			ck_assert_str_eq(out, t[i].want);
	}
	ck_assert(!rbl_ip_name("192.0.2.99", "bl.test", out, 10));	/* does not fit */
}
END_TEST

#define RBL_RULES \
	"header   R_ANY   eval:check_rbl('s', 'BL.test.')\n" \
	"header   R_EQ    eval:check_rbl_sub('s', '127.0.0.2')\n" \
	"header   R_MASK8 eval:check_rbl_sub('s', '8')\n" \
	"header   R_MASK16 eval:check_rbl_sub('s', '16')\n" \
	"header   R_RE    eval:check_rbl('s-lastexternal', 'bl.test', '^127\\.0\\.0\\.1[01]$')\n" \
	"header   R_TXT   eval:check_rbl_txt('t', 'txt.test.', '(?i:spamcop)')\n" \
	"urirhssub U_EQ   dbl.test. A 127.0.1.2\n" \
	"body     U_EQ    eval:check_uridnsbl('U_EQ')\n" \
	"urirhssub U_RANGE dbl.test. A 127.0.1.3-127.0.1.9\n" \
	"body     U_RANGE eval:check_uridnsbl('U_RANGE')\n" \
	"urirhssub U_MASKED dbl.test. A 0x7f000100/0xffffff00\n" \
	"body     U_MASKED eval:check_uridnsbl('U_MASKED')\n" \
	"urirhssub U_BIT  dbl.test. A 4\n" \
	"body     U_BIT   eval:check_uridnsbl('U_BIT')\n" \
	"urirhsbl U_ANY   dbl.test. A\n" \
	"body     U_ANY   eval:check_uridnsbl('U_ANY')\n" \
	"uridnsbl_skip_domain Big.Example other.example\n" \
	"clear_uridnsbl_skip_domain other.example\n" \
	"uridnsbl_max_domains 5\n"

static const struct {
	const char *zone;	/* which zone answered */
	const char *values[3];
	const char *want;
} rbl_cases[] = {
	{ "bl.test", { "127.0.0.2", "127.0.0.10" }, "R_ANY R_EQ R_MASK8 R_RE" },
	{ "bl.test", { "127.0.0.4" }, "R_ANY" },
	{ "bl.test", { "127.0.0.16" }, "R_ANY R_MASK16" },
	{ "bl.test", { "10.0.0.2" }, "" },		/* only 127/8 answers */
	{ "txt.test", { "see http://spamcop.net/" }, "R_TXT" },
	{ "txt.test", { "something else" }, "" },
	{ "dbl.test", { "127.0.1.2" }, "U_EQ U_MASKED U_ANY" },
	{ "dbl.test", { "127.0.1.4" }, "U_RANGE U_MASKED U_BIT U_ANY" },
	{ "dbl.test", { "127.0.2.4" }, "U_BIT U_ANY" },
	{ "dbl.test", { "127.0.1.10" }, "U_MASKED U_ANY" },
};

/* zone_index - the index of a zone the rule set asks */
static size_t zone_index(const struct ruleset *rs, const char *zone)
{
	size_t n;
	const struct rbl_zone *z = rules_rbl_zones(rs, &n);

	for (size_t i = 0; i < n; i++)
		if (strcmp(z[i].zone, zone) == 0)
			return i;
	ck_abort_msg("zone %s not collected", zone);
	return 0;
}

/* check_rbl, check_rbl_sub, check_rbl_txt, check_uridnsbl: answer
 * matching with each kind of subtest */
START_TEST(rbl_match)
{
	struct diag d;
	char got[256];

	diag_init(&d);
	struct ruleset *rs = rules_load_text("r.cf", RBL_RULES, unit_builtins(), &d);
	ck_assert_msg(rs != NULL && d.n == 0, "%s", d.n ? d.lines[0] : "?");
	size_t nz, nv = 0;
	const struct rbl_zone *z = rules_rbl_zones(rs, &nz);
	ck_assert_uint_eq(nz, 3);	/* bl.test A, txt.test TXT, dbl.test A */
	ck_assert_int_eq(z[zone_index(rs, "dbl.test")].kind, RBL_DOMAIN);
	ck_assert_int_eq(z[zone_index(rs, "txt.test")].rrtype, DNS_T_TXT);
	ck_assert(rules_rbl_skip_domain(rs, "big.example"));
	ck_assert(!rules_rbl_skip_domain(rs, "other.example"));
	ck_assert_uint_eq(rules_rbl_max_domains(rs), 5);
	while (nv < 3 && rbl_cases[_i].values[nv])
		nv++;
	struct rbl_answer an = {
		.zone = zone_index(rs, rbl_cases[_i].zone), .item = "192.0.2.99",
		.values = rbl_cases[_i].values, .n = nv,
	};
	struct rules_rbl rb = { &an, 1 };
	struct rules_auth au = { .rbl = &rb };
	struct msg *m = msg_new(65536);
	struct re_scratch *re = re_scratch_new();
	struct hits h = { 0 };

	msg_set_client(m, "192.0.2.99", "client.test", "helo.test");	/* the item asked */
	msg_end_headers(m);
	rules_eval(rs, m, re, &h, &au);
	hit_list(&h, got, sizeof(got));
	ck_assert_msg(strcmp(got, rbl_cases[_i].want) == 0, "case %d: got '%s', want '%s'", _i,
		      got, rbl_cases[_i].want);
	if (h.n && rbl_cases[_i].zone[0] == 'b')
		ck_assert_msg(strstr(h.v[0].detail, "192.0.2.99 listed in bl.test: 127.0.0.") != NULL,
			      "detail '%s'", h.v[0].detail);
	hits_clear(&h);
	re_scratch_free(re);
	msg_free(m);
	rules_free(rs);
	diag_free(&d);
}
END_TEST

/* bad blocklist lines: errors with file:line */
START_TEST(rbl_errors)
{
	static const struct { const char *text, *want; } bad[] = {
		{ "urirhssub U dbl.test. MX 2\n", "r.cf:1: error: urirhssub: the type must be A or TXT" },
		{ "urirhssub U dbl.test. A 127.0.0.x\n",
		  "r.cf:1: error: urirhssub: expected a mask, an address, N-M or N/M" },
		{ "urirhssub U dbl.test. A\n", "r.cf:1: error: urirhssub: expected NAME ZONE A|TXT SUBTEST" },
		{ "header R eval:check_rbl('s', 'bad zone!')\n",
		  "r.cf:1: error: R: eval:check_rbl: not a DNS zone name" },
		{ "header R eval:check_rbl('s', 'a.test', '(')\n",
		  "r.cf:1: error: R: eval:check_rbl: bad subtest regex" },
		{ "uridnsbl_max_domains many\n",
		  "r.cf:1: error: uridnsbl_max_domains: expected a number from 0 to 1000" },
	};
	struct diag d;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		diag_init(&d);
		struct ruleset *rs = rules_load_text("r.cf", bad[i].text, unit_builtins(), &d);
		ck_assert_ptr_null(rs);
		ck_assert_msg(d.n && strcmp(d.lines[0], bad[i].want) == 0, "got '%s'",
			      d.n ? d.lines[0] : "");
		diag_free(&d);
	}
}
END_TEST

/* a header eval's arguments may hold spaces, as in SpamAssassin's files */
START_TEST(header_eval_spaces)
{
	struct diag d;

	diag_init(&d);
	struct ruleset *rs = rules_load_text("r.cf",
		"header A eval:check_rbl('zen', 'zen.spamhaus.org.')\n"
		"header B  eval:check_for_missing_to_header( )\n", unit_builtins(), &d);
	ck_assert_msg(rs != NULL && d.n == 0, "%s", d.n ? d.lines[0] : "?");
	ck_assert_uint_eq(rules_count(rs), 2);
	rules_free(rs);
	diag_free(&d);
}
END_TEST

/* BodyEval: check_body_length, check_for_uppercase, tvd_vertical_words,
 * check_stock_info */
START_TEST(body_evals)
{
	static const char rules[] =
		"body SHORT eval:check_body_length('64')\n"
		"body UPPER eval:check_for_uppercase('50', '100')\n"
		"body UPPER_LO eval:check_for_uppercase('10', '50')\n"
		"body VERTICAL eval:tvd_vertical_words('50', '100')\n"
		"body STOCK eval:check_stock_info('2')\n";
	static const struct {
		const char *body, *want;
	} c[] = {
		{ "short\n", "SHORT" },
		/* 64 bytes with LF line ends (SpamAssassin's count), 72 as the
		 * milter hands it over with CRLF; then 65 */
		{ "abcdefg\nabcdefg\nabcdefg\nabcdefg\nabcdefg\nabcdefg\nabcdefg\nabcdefg\n", "SHORT" },
		{ "abcdefg\nabcdefg\nabcdefg\nabcdefg\nabcdefg\nabcdefg\nabcdefg\nabcdefgh\n", "" },
		{ "THIS IS A LONG LINE OF SHOUTING TEXT THAT GOES ON AND ON AND ON FOR A WHILE\n"
		  "AND ANOTHER LINE OF SHOUTING TEXT THAT GOES ON AND ON AND ON FOR A WHILE\n"
		  "AND A THIRD LINE OF SHOUTING TEXT THAT GOES ON AND ON AND ON FOR A WHILE\n", "UPPER" },
		{ "THIS IS A LONG LINE OF SHOUTING TEXT THAT GOES ON AND ON AND ON FOR A WHILE\n", "" },
		/* the counts are kept for the message: the second range reads them */
		{ "Some Words In Title Case That Go On And On For A While Here And Now\n"
		  "Some Words In Title Case That Go On And On For A While Here And Now\n"
		  "Some Words In Title Case That Go On And On For A While Here And Now\n"
		  "Some Words In Title Case That Go On And On For A While Here And Now\n", "UPPER_LO" },
		{ "a normal line of text that is long enough to be over the limit of bytes\n"
		  "\nF R E E  M O N E Y\n", "VERTICAL" },
		{ "a normal line of text that is long enough to be over the limit of bytes\n"
		  "\nSymbol: ABCD\n\nCurrent Price: 0.12\n\nTarget: 1.00\n", "STOCK" },
		{ "a normal line of text that is long enough to be over the limit of bytes\n"
		  "\nSymbol: ABCD\n\nSymbol: EFGH\n", "" },
	};
	struct engine *e = unit_engine("", rules);
	char text[1024], got[128];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		snprintf(text, sizeof(text), "From: a@b.test\nTo: c@d.test\nSubject: s\n\n%s", c[i].body);
		struct scan *sc = unit_scan(e, text);
		struct hits only = { 0 };
		for (size_t k = 0; k < sc->hits.n; k++)
			if (strstr(rules, sc->hits.v[k].name))
				hits_add(&only, sc->hits.v[k].name, 0, NULL, NULL);
		hit_list(&only, got, sizeof(got));
		ck_assert_msg(strcmp(got, c[i].want) == 0, "case %zu: got '%s', want '%s'", i, got,
			      c[i].want);
		hits_clear(&only);
		scan_free(sc);
	}
	engine_unref(e);
}
END_TEST

/* body rules match each paragraph (line) on its own, as SpamAssassin's:
 * ^ anchors at every line, no match crosses a line, lines within a
 * paragraph are joined by a space */
START_TEST(body_lines)
{
	static const char rules[] =
		"body LINES /^\\s*\\S/\ntflags LINES multiple\n"
		"meta MANY_LINES LINES >= 3\n"
		"body CROSS /first\\s+second/\n"
		"body JOINED /third fourth/\n"
		"body START /^fifth/\n";
	static const char msg[] = "From: a@b.test\nSubject: s\n\nfirst\n\nsecond\n\n"
				  "third\nfourth\n\nfifth\n";
	struct engine *e = unit_engine("", rules);
	struct scan *sc = unit_scan(e, msg);

	ck_assert_ptr_nonnull(unit_detail(sc, "MANY_LINES"));
	ck_assert_str_eq(unit_detail(sc, "LINES"), "s (5 hits)");
	ck_assert_ptr_null(unit_detail(sc, "CROSS"));
	ck_assert_ptr_nonnull(unit_detail(sc, "JOINED"));
	ck_assert_ptr_nonnull(unit_detail(sc, "START"));
	scan_free(sc);
	engine_unref(e);
}
END_TEST

/* ALL-TRUSTED / ALL-UNTRUSTED: the fields above the Received field of
 * the first untrusted relay (that field too), and from it on */
START_TEST(all_ranges)
{
	static const char rules[] =
		"trusted_networks 10.0.0.0/8\n"
		"header T_MID_TRUSTED ALL-TRUSTED =~ /^X-Mid:/m\n"
		"header T_LOW_TRUSTED ALL-TRUSTED =~ /^X-Low:/m\n"
		"header T_R1_TRUSTED ALL-TRUSTED =~ /^Received: from out\\.ext/m\n"
		"header T_MID_UNTRUSTED ALL-UNTRUSTED =~ /^X-Mid:/m\n"
		"header T_LOW_UNTRUSTED ALL-UNTRUSTED =~ /^X-Low:/m\n";
	static const char msg[] = "X-Top: 1\n" RCVD("gw.corp.test", "10.0.0.1") "X-Mid: 2\n"
				  RCVD("out.ext.test", "203.0.113.5")
				  "X-Low: 3\nFrom: a@b.test\nSubject: s\n\nx\n";
	struct engine *e = unit_engine("", rules);
	struct scan *sc = unit_scan(e, msg);

	ck_assert_ptr_nonnull(unit_detail(sc, "T_MID_TRUSTED"));
	ck_assert_ptr_null(unit_detail(sc, "T_LOW_TRUSTED"));
	ck_assert_ptr_nonnull(unit_detail(sc, "T_R1_TRUSTED"));	/* SpamAssassin's +1 */
	ck_assert_ptr_null(unit_detail(sc, "T_MID_UNTRUSTED"));
	ck_assert_ptr_nonnull(unit_detail(sc, "T_LOW_UNTRUSTED"));
	scan_free(sc);
	engine_unref(e);
}
END_TEST

/* parapetctl learn: the sender's IP is the first untrusted relay's, not
 * the top Received field's (issue 18 item 7) */
START_TEST(learn_untrusted_ip)
{
	static const char msg[] = RCVD("gw.corp.test", "10.0.0.1") RCVD("out.ext.test", "203.0.113.5")
				  "From: a@b.test\nSubject: s\n\nx\n";
	struct engine *e = unit_engine("", "trusted_networks 10.0.0.0/8\n");
	struct rep_keys keys = { .n = 0 };
	const char *ip = NULL;

	rep_learn_keys(e, msg, strlen(msg), NULL, &keys);
	for (size_t i = 0; i < keys.n; i++)
		if (keys.k[i].kind == REP_KIND_IP)
			ip = keys.k[i].value;
	ck_assert_ptr_nonnull(ip);
	ck_assert_str_eq(ip, "203.0.113.5");
	rep_keys_clear(&keys);
	engine_unref(e);
}
END_TEST

/* eval_re_fixed keeps compiled patterns: flags are part of the key, a
 * pattern that does not compile stays a non-match, a full table falls
 * back to compiling for the call, and threads share the table */
START_TEST(re_fixed)
{
	size_t a = 9, b = 9;

	ck_assert(eval_re_fixed("b(c)d", "i", "aBCDe", 5, &a, &b));
	ck_assert_uint_eq(a, 1);
	ck_assert_uint_eq(b, 4);
	ck_assert(!eval_re_fixed("b(c)d", "", "aBCDe", 5, NULL, NULL));
	ck_assert(eval_re_fixed("b(c)d", "i", "xbcd", 4, NULL, NULL));
	ck_assert(eval_re_fixed("b(c)d", "", "xbcd", 4, NULL, NULL));
	ck_assert(!eval_re_fixed("(", "", "(", 1, NULL, NULL));
	ck_assert(!eval_re_fixed("(", "", "(", 1, NULL, NULL));
	ck_assert(eval_re_fixed("^x$", "m", "a\nx\nb", 5, NULL, NULL));
	ck_assert(!eval_re_fixed("^x$", "", "a\nx\nb", 5, NULL, NULL));
	for (int i = 0; i < 400; i++) {	/* past the table's room */
		char pat[32], yes[32], no[32];
		snprintf(pat, sizeof(pat), "^p%dq", i);
		snprintf(yes, sizeof(yes), "p%dq", i);
		snprintf(no, sizeof(no), "p%dq", i + 1);
		ck_assert_msg(eval_re_fixed(pat, "", yes, strlen(yes), NULL, NULL), "%s", pat);
		ck_assert_msg(!eval_re_fixed(pat, "", no, strlen(no), NULL, NULL), "%s", pat);
	}
	ck_assert(eval_re_fixed("b(c)d", "i", "BCD", 3, NULL, NULL));
}
END_TEST

static void *re_fixed_thread(void *arg)
{
	long ok = 0;

	(void)arg;
	for (int i = 0; i < 2000; i++) {
		char pat[32];
		snprintf(pat, sizeof(pat), "t%d[xy]", i % 7);
		ok += eval_re_fixed(pat, "", "t3y t5x", 7, NULL, NULL) == (i % 7 == 3 || i % 7 == 5);
	}
	return (void *)ok;
}

START_TEST(re_fixed_threads)
{
	pthread_t t[4];
	void *ok;

	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, re_fixed_thread, NULL), 0);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(t[i], &ok), 0);
		ck_assert_int_eq((long)ok, 2000);
	}
}
END_TEST

/* ImageInfo: images built here, base64-encoded into messages; the hits
 * expected are SpamAssassin 4.0.1's on the same messages (sa_oracle.pl,
 * its ImageInfo plugin) */
static void b64_put(struct buf *b, const unsigned char *d, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t i = 0, col = 0; i < n; i += 3) {
		unsigned v = (unsigned)d[i] << 16 | (i + 1 < n ? (unsigned)d[i + 1] << 8 : 0) |
			     (i + 2 < n ? d[i + 2] : 0);
		char q[4] = { a[v >> 18 & 63], a[v >> 12 & 63], i + 1 < n ? a[v >> 6 & 63] : '=',
			      i + 2 < n ? a[v & 63] : '=' };
		buf_append(b, q, 4);
		if ((col += 4) == 76 || i + 3 >= n) {
			buf_puts(b, "\n");
			col = 0;
		}
	}
}

enum { IMG_GIF, IMG_PNG, IMG_JPEG, IMG_RAW };
struct img {
	const char *ctype, *cte;
	int kind;
	unsigned w, h, pad;	/* pad: a JPEG's APP0 length, a PNG's trailer */
	const char *raw;	/* IMG_RAW: these bytes (rawlen) */
	size_t rawlen;
};

#define PUT(...)                                                   \
	do {                                                       \
		const unsigned char x_[] = { __VA_ARGS__ };        \
		memcpy(d + n, x_, sizeof(x_));                     \
		n += sizeof(x_);                                   \
	} while (0)

/* img_bytes - the image's bytes into d; their count */
static size_t img_bytes(const struct img *im, unsigned char *d)
{
	size_t n = 0;

	if (im->kind == IMG_GIF) {
		memcpy(d, "GIF89a", 6);
		n = 6;
		PUT(im->w & 255, im->w >> 8, im->h & 255, im->h >> 8, 0xf7, 0, 0);
		memset(d + n, 0, 40);
		n += 40;
	} else if (im->kind == IMG_PNG) {
		memcpy(d, "\x89PNG\r\n\x1a\n", 8);
		n = 8;
		PUT(0, 0, 0, 13, 'I', 'H', 'D', 'R', im->w >> 24, im->w >> 16 & 255, im->w >> 8 & 255,
		    im->w & 255, im->h >> 24, im->h >> 16 & 255, im->h >> 8 & 255, im->h & 255, 8, 2,
		    0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82);
		for (unsigned i = 0; i < im->pad; i++)
			d[n++] = (unsigned char)i;
	} else if (im->kind == IMG_JPEG) {
		PUT(0xff, 0xd8, 0xff, 0xe0, (im->pad + 2) >> 8, (im->pad + 2) & 255);
		memset(d + n, 'J', im->pad);
		n += im->pad;
		PUT(0xff, 0xc0, 0, 17, 8, im->h >> 8, im->h & 255, im->w >> 8, im->w & 255, 3, 1, 0x22,
		    0, 1, 0x22, 0, 1, 0x22, 0, 0xff, 0xda, 0, 2, 0, 0, 0xff, 0xd9);
	} else {
		memcpy(d, im->raw, im->rawlen);
		n = im->rawlen;
	}
	return n;
}

static const struct {
	const char *name;
	struct img im[3];
	const char *want;	/* the T_ rules that hit, in rule order */
} img_cases[] = {
	{ "one gif", { { "image/gif", "base64", IMG_GIF, 300, 200, 0, NULL, 0 } },
	  "T_IC_ALL1 T_PC_GIF T_SE_GIF T_SR_G" },
	{ "two gifs, a png", { { "image/gif", "base64", IMG_GIF, 300, 200, 0, NULL, 0 },
			       { "image/gif", "base64", IMG_GIF, 10, 10, 0, NULL, 0 },
			       { "image/png", "base64", IMG_PNG, 40, 30, 0, NULL, 0 } },
	  "T_IC_ALL2 T_IC_GIF2 T_IC_PNG1 T_PC_GIF T_PC_PNG T_SE_PNG T_SE_GIF T_SR_G" },
	{ "a jpeg", { { "image/jpeg", "base64", IMG_JPEG, 640, 480, 20, NULL, 0 } },
	  "T_IC_ALL1 T_IC_JPEG1 T_SE_JPG T_SR_J" },
	/* image/jpg is a jpeg; the encoding's case and blanks do not count */
	{ "jpg, BASE64", { { "image/jpg", "base64", IMG_JPEG, 250, 250, 20, NULL, 0 },
			   { "image/jpeg", "BASE64 ", IMG_JPEG, 100, 100, 200, NULL, 0 } },
	  "T_IC_ALL2 T_IC_JPEG2 T_PC_ALL T_SR_J" },
	{ "not base64", { { "image/gif", "7bit", IMG_RAW, 0, 0, 0, "GIF89a\x10\x00\x10", 9 },
			  { "image/png", "quoted-printable", IMG_RAW, 0, 0, 0, "x", 1 } },
	  "" },
	/* counted, though no size is read */
	{ "not images", { { "image/gif", "base64", IMG_RAW, 0, 0, 0, "NOTAGIF12345", 12 },
			  { "image/png", "base64", IMG_RAW, 0, 0, 0, "\x89PNG\r\n\x1a\n\0\0\0\0", 12 },
			  { "image/jpeg", "base64", IMG_RAW, 0, 0, 0, "\xff\xd8\0\0", 4 } },
	  "T_IC_ALL2 T_IC_PNG1 T_IC_JPEG1" },
	{ "zero width, bmp", { { "image/png", "base64", IMG_PNG, 0, 50, 0, NULL, 0 },
			       { "image/bmp", "base64", IMG_RAW, 0, 0, 0, "BM\0\0\0\0", 6 },
			       { "image/gif; name=\"a.gif\"", "base64", IMG_GIF, 1, 1, 0, NULL, 0 } },
	  "T_IC_ALL2 T_IC_PNG1 T_SR_ALL" },
	/* contents of 8 KB or more are left out of GMime's input (mime_skip):
	 * read from the body as received */
	{ "jpeg, 60 KB before its frame",
	  { { "image/jpeg", "base64", IMG_JPEG, 800, 600, 60000, NULL, 0 } },
	  "T_IC_ALL1 T_IC_JPEG1 T_SE_FAR" },
	{ "png, 15 KB", { { "image/png", "base64", IMG_PNG, 123, 45, 15360, NULL, 0 } },
	  "T_IC_ALL1 T_IC_PNG1 T_SE_BIG" },
};

static const char *const img_rules[] = {
	"T_IC_ALL1 eval:image_count('all',1,1)",
	"T_IC_ALL2 eval:image_count('all',2)",
	"T_IC_GIF2 eval:image_count('gif',2)",
	"T_IC_PNG1 eval:image_count('png','1','1')",
	"T_IC_JPEG1 eval:image_count('jpeg',1,1)",
	"T_IC_JPEG2 eval:image_count('jpeg',2)",
	"T_IC_BMP eval:image_count('bmp',0)",
	"T_PC_ALL eval:pixel_coverage('all',62500,300000)",
	"T_PC_GIF eval:pixel_coverage('gif',60000)",
	"T_PC_PNG eval:pixel_coverage('png',1200,1200)",
	"T_SE_PNG eval:image_size_exact('png',30,40)",
	"T_SE_GIF eval:image_size_exact('all','200','300')",
	"T_SE_JPG eval:image_size_exact('jpeg',480,640)",
	"T_SE_PAD eval:image_size_exact('gif','0200','300')",
	"T_SR_J eval:image_size_range('jpeg',100,200,500)",
	"T_SR_ALL eval:image_size_range('all',1,1,1,1)",
	"T_SR_G eval:image_size_range('gif',150,250,250,350)",
	"T_SE_FAR eval:image_size_exact('jpeg',600,800)",
	"T_SE_BIG eval:image_size_exact('png',45,123)",
};

START_TEST(image_info)
{
	const size_t nr = sizeof(img_rules) / sizeof(*img_rules);
	struct buf rules, msg, got;
	unsigned char *d = xmalloc(70000);
	char name[16];

	buf_init(&rules);
	for (size_t i = 0; i < nr; i++) {
		sscanf(img_rules[i], "%15s", name);
		buf_printf(&rules, "body %s\nscore %s 0.01\n", img_rules[i], name);
	}
	struct engine *e = unit_engine("", rules.data);
	buf_init(&msg);
	buf_init(&got);
	for (size_t c = 0; c < sizeof(img_cases) / sizeof(*img_cases); c++) {
		msg.len = 0;
		buf_puts(&msg, "From: a@example.com\nTo: b@example.net\nSubject: pictures\n"
			 "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"B42\"\n\n"
			 "--B42\nContent-Type: text/plain\n\nsome text here\n\n");
		for (int k = 0; k < 3 && img_cases[c].im[k].ctype; k++) {
			const struct img *im = &img_cases[c].im[k];
			buf_printf(&msg, "--B42\nContent-Type: %s\nContent-Transfer-Encoding: %s\n\n",
				   im->ctype, im->cte);
			size_t n = img_bytes(im, d);
			if (strncasecmp(im->cte, "base64", 6) == 0)
				b64_put(&msg, d, n);
			else
				buf_append(&msg, d, n);
			buf_puts(&msg, "\n");
		}
		buf_puts(&msg, "--B42--\n");
		struct scan *sc = unit_scan(e, msg.data);
		got.len = 0;
		for (size_t i = 0; i < nr; i++) {
			sscanf(img_rules[i], "%15s", name);
			if (unit_detail(sc, name))
				buf_printf(&got, "%s%s", got.len ? " " : "", name);
		}
		ck_assert_msg(strcmp(got.len ? got.data : "", img_cases[c].want) == 0,
			      "%s: %s, not %s", img_cases[c].name, got.len ? got.data : "none",
			      img_cases[c].want);
		scan_free(sc);
	}
	free(d);
	buf_free(&got);
	buf_free(&msg);
	buf_free(&rules);
	engine_unref(e);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("eval");
	TCase *tc = tcase_create("eval");

	tcase_add_test(tc, eval_num_strtod);
	tcase_add_test(tc, parse_args);
	tcase_add_test(tc, load);
	tcase_add_loop_test(tc, run, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_loop_test(tc, wlbl, 0, (int)(sizeof(wl_cases) / sizeof(wl_cases[0])));
	tcase_add_loop_test(tc, wl_auth, 0, (int)(sizeof(auth_cases) / sizeof(auth_cases[0])));
	tcase_add_test(tc, wlbl_errors);
	tcase_add_test(tc, auth_builtins);
	tcase_add_test(tc, body_evals);
	tcase_add_test(tc, body_lines);
	tcase_add_test(tc, all_ranges);
	tcase_add_test(tc, learn_untrusted_ip);
	tcase_add_test(tc, rbl_names);
	tcase_add_loop_test(tc, rbl_match, 0, (int)(sizeof(rbl_cases) / sizeof(rbl_cases[0])));
	tcase_add_test(tc, rbl_errors);
	tcase_add_test(tc, header_eval_spaces);
	tcase_add_test(tc, re_fixed);
	tcase_add_test(tc, re_fixed_threads);
	tcase_add_test(tc, image_info);
	suite_add_tcase(s, tc);
	return unit_main(s);
}
