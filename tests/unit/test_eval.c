/*
 * test_eval.c - the eval: framework (rules/eval.c): argument parsing,
 * rules that call an implemented eval, unknown evals skipped with a
 * warning, argument counts, metas over evals, and the first HeaderEval
 * tests with SpamAssassin's semantics.
 */
#include "autoconfig.h"

#include "unit.h"
#include "rules/eval.h"
#include "rules/hits.h"
#include "rules/re.h"
#include "mail/auth.h"
#include "mail/message.h"

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
	ck_assert_int_eq(d.warnings, 2);	/* and meta C: B counts 0 */
	ck_assert_str_eq(d.lines[0],
		"r.cf:2: warning: B: eval:no_such_test is not implemented in parapet, skipped");
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
	ck_assert_str_eq(d.lines[1],
		"r.cf:2: warning: B: eval:subject_is_all_caps is not a body test in parapet, skipped");
	ck_assert_str_eq(d.lines[2], "r.cf:3: error: C: eval: unterminated quoted argument");
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
	{ "To: \nSubject: FREE MONEY FOR YOU\n", true, true },
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
	"enlist_uri_host (SUSP) susp.test !ok.susp.test\n"
	"blocklist_uri_host evil.test\n"
	"welcomelist_auth *@authd.test\n"
	"def_welcomelist_auth *@big.test\n"
	"welcomelist_from_dkim *@viaesp.test esp.test\n"
	"def_whitelist_from_dkim *@sub.test .parent.test\n"
	"welcomelist_from_spf spf@only.test\n";

static const struct {
	const char *from, *mail_from, *rcpt, *extra, *body;
	const char *want;	/* the symbols that hit, in rule order */
} wl_cases[] = {
	{ "x@good.test", "x@good.test", "b@rcpt.test", "", "hi", "USER_IN_WELCOMELIST" },
	{ "x@GOOD.test", "", "b@rcpt.test", "", "hi", "USER_IN_WELCOMELIST" },
	{ "abc@glob.test", "", "b@rcpt.test", "", "hi", "USER_IN_WELCOMELIST" },
	{ "abcxyz@glob.test", "", "b@rcpt.test", "", "hi", "USER_IN_WELCOMELIST" },
	{ "ac@glob.test", "", "b@rcpt.test", "", "hi", "" },
	{ "gone@x.test", "", "b@rcpt.test", "", "hi", "" },
	{ "x@evil.test", "bounce@sender.test", "b@rcpt.test", "", "hi", "USER_IN_BLOCKLIST" },
	{ "x@a.test", "", "b@rcpt.test", "Resent-From: y@good.test\n", "hi", "USER_IN_WELCOMELIST" },
	{ "x@a.test", "", "abuse@rcpt.test", "", "hi", "USER_IN_ALL_SPAM_TO" },
	{ "x@a.test", "", "b@rcpt.test", "Cc: l@list.test\n", "hi", "USER_IN_WELCOMELIST_TO" },
	{ "x@bank.test", "", "b@rcpt.test", "", "hi", "FROM_BANK" },
	{ "x@a.bank2.test", "", "b@rcpt.test", "", "hi", "" },
	{ "x@a.test", "", "b@rcpt.test", "Reply-To: Bank <pay@bank.test>\n", "hi", "REPLYTO_BANK" },
	{ "x@a.test", "", "b@rcpt.test", "", "see http://www.susp.test/x", "URI_LISTED" },
	{ "x@a.test", "", "b@rcpt.test", "", "see http://ok.susp.test/x", "" },
	{ "x@a.test", "", "b@rcpt.test", "", "see http://u:p@a.b.evil.test:8080/", "URI_BLOCK" },
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
	struct rules_auth au = { auth_cases[_i].spf, auth_cases[_i].dkim, nd, false, 0 };

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
	"header __RESIGNER2 eval:check_dkim_valid('googlegroups.com','.yahoogroups.com')\n"
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
		struct rules_auth au = { AUTH_NONE, dk, c[i].dkim ? 1 : 0, false, 0 };
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

int main(void)
{
	Suite *s = suite_create("eval");
	TCase *tc = tcase_create("eval");

	tcase_add_test(tc, parse_args);
	tcase_add_test(tc, load);
	tcase_add_loop_test(tc, run, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_loop_test(tc, wlbl, 0, (int)(sizeof(wl_cases) / sizeof(wl_cases[0])));
	tcase_add_loop_test(tc, wl_auth, 0, (int)(sizeof(auth_cases) / sizeof(auth_cases[0])));
	tcase_add_test(tc, wlbl_errors);
	tcase_add_test(tc, auth_builtins);
	suite_add_tcase(s, tc);
	return unit_main(s);
}
