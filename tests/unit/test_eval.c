/*
 * test_eval.c - the eval: framework (rules/eval.c): argument parsing,
 * rules that call an implemented eval, unknown evals skipped with a
 * warning, argument counts, metas over evals, and the first HeaderEval
 * tests with SpamAssassin's semantics.
 */
#include "autoconfig.h"

#include "unit.h"
#include "rules/eval.h"

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

int main(void)
{
	Suite *s = suite_create("eval");
	TCase *tc = tcase_create("eval");

	tcase_add_test(tc, parse_args);
	tcase_add_test(tc, load);
	tcase_add_loop_test(tc, run, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	suite_add_tcase(s, tc);
	return unit_main(s);
}
