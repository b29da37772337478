/*
 * test_rules.c - rule-file parsing (errors and warnings with file:line)
 * and evaluation of every supported rule type.
 */
#include "autoconfig.h"

#include <time.h>

#include "unit.h"

/* lint - load text; returns the diag (caller frees) and whether it loaded */
static bool lint(const char *text, struct diag *d)
{
	diag_init(d);
	struct ruleset *rs = rules_load_text("r.cf", text, d);
	bool ok = rs != NULL;
	rules_free(rs);
	return ok;
}

static const struct {
	const char *text;
	const char *want;	/* first diagnostic, prefix */
} errors[] = {
	{ "header A Subject =~ /(unclosed/\n", "r.cf:1: error: bad regex at offset" },
	{ "\nbody B /abc\n", "r.cf:2: error: B: regex not terminated" },
	{ "header C Subject /x/\n", "r.cf:1: error: C: expected =~ or !~" },
	{ "body D /x/\nbody D /y/\n", "r.cf:2: error: duplicate definition of D (first at r.cf:1)" },
	{ "endif\n", "r.cf:1: error: endif without if" },
	{ "ifplugin Foo\nbody E /x/\n", "r.cf:2: error: 1 if/ifplugin block(s) without endif" },
	{ "score F lots\n", "r.cf:1: error: score F: 'lots' is not a number" },
	{ "score G 1 2\n", "r.cf:1: error: score G: expected one or four numbers" },
	{ "body H-I /x/\n", "r.cf:1: error: bad rule name 'H-I'" },
	{ "header J Subject:weird =~ /x/\n", "r.cf:1: error: J: unknown modifier :weird" },
	{ "body K /x/q\n", "r.cf:1: error: unknown regex flag 'q'" },
	{ "body L /x/ trailing\n", "r.cf:1: error: L: unexpected text after regex" },
};

START_TEST(parse_errors)
{
	struct diag d;

	ck_assert_msg(!lint(errors[_i].text, &d), "loaded: %s", errors[_i].text);
	ck_assert_int_gt(d.errors, 0);
	const char *first = NULL;	/* the first error; warnings may precede it */
	for (size_t i = 0; i < d.n && first == NULL; i++)
		if (strstr(d.lines[i], ": error: "))
			first = d.lines[i];
	ck_assert_ptr_nonnull(first);
	ck_assert_msg(strncmp(first, errors[_i].want, strlen(errors[_i].want)) == 0,
		      "got '%s' want '%s'", first, errors[_i].want);
	diag_free(&d);
}
END_TEST

START_TEST(warnings_skip)
{
	struct diag d;

	ck_assert(lint("header A eval:check_foo()\n"
		       "body B eval:check_bar()\n"
		       "uri_detail C x\n"
		       "ifplugin Mail::SpamAssassin::Plugin::X\n"
		       "body D /(/\n"	/* skipped: never compiled */
		       "else\n"
		       "body E /ok/\n"
		       "endif\n"
		       "tflags E multiple\n", &d));
	ck_assert_int_eq(d.errors, 0);
	ck_assert_int_eq(d.warnings, 4);
	ck_assert_str_eq(d.lines[0], "r.cf:1: warning: A: eval: tests are not supported, skipped");
	ck_assert_str_eq(d.lines[2], "r.cf:3: warning: unsupported directive 'uri_detail', skipped");
	diag_free(&d);
}
END_TEST

/* a rule dropped for an error, then defined again: no leak (found by
 * fuzz_rules; LeakSanitizer fails this under build-asan), no duplicate */
START_TEST(redefine_after_error)
{
	struct diag d;

	ck_assert(!lint("body X /(/\nbody X /ok/\n", &d));
	ck_assert_int_eq(d.errors, 1);
	ck_assert_ptr_null(strstr(d.lines[0], "duplicate"));
	diag_free(&d);
}
END_TEST

static const char *RULES =
	"header SUBJ_RE Subject =~ /free\\s+money/i\n"
	"header NO_DATE Date !~ /./\n"
	"header HAS_XM exists:X-Mailer\n"
	"header UNSET_DEF X-Prio =~ /^low$/ [if-unset: low]\n"
	"header FROM_ADDR From:addr =~ /^bob\\@example\\.com$/\n"
	"header FROM_NAME From:name =~ /^Bob Smith$/\n"
	"header FROM_RAW From:raw =~ /^ \"Bob/\n"
	"header ALL_RE ALL =~ /^X-Mailer: Mass/m\n"
	"header TOCC ToCc =~ /carol\\@/\n"
	"header MSGID MESSAGEID =~ /\\@spam\\.test>/\n"
	"body BODY_RE m{click\\s+here}i\n"
	"body SUBJ_IN_BODY /^free money/im\n"
	"full FULL_RE /^Received: from evil/m\n"
	"rawbody RAW_RE m!unsubscribe!\n"
	"header BAD_RE Subject =~ /(a+)+$/\n";

/* hits - symbol names of a scan, comma separated, in hit order */
static void hits(struct scan *sc, char *out, size_t cap)
{
	out[0] = '\0';
	for (size_t i = 0; i < sc->nhits; i++) {
		strncat(out, sc->hits[i].name, cap - strlen(out) - 2);
		strcat(out, ",");
	}
}

static const struct {
	const char *msg;
	const char *want;
} evals[] = {
	{ "Subject: FREE Money\nDate: x\n\nhi\n", "SUBJ_RE,UNSET_DEF,SUBJ_IN_BODY," },
	{ "Subject: hello\n\nhi\n", "NO_DATE,UNSET_DEF," },
	{ "Date: x\nX-Mailer: Mass Mailer 1.0\nX-Prio: high\n\nhi\n", "HAS_XM,ALL_RE," },
	{ "Date: x\nFrom: \"Bob Smith\" <bob@example.com>\nX-Prio: high\n\nhi\n",
	  "FROM_ADDR,FROM_NAME,FROM_RAW," },
	{ "Date: x\nX-Prio: high\nTo: a@x\nCc: carol@y\nMessage-ID: <1@spam.test>\n\n"
	  "please Click\n  Here now\nto unsubscribe\n", "TOCC,MSGID,BODY_RE,RAW_RE," },
	{ "Received: from evil.test\nDate: x\nX-Prio: high\n\nhi\n", "FULL_RE," },
	/* folded Subject: unfolded before matching */
	{ "Subject: free\n\tmoney\nDate: x\nX-Prio: high\n\nhi\n", "SUBJ_RE," },
};

START_TEST(eval_types)
{
	struct engine *e = unit_engine("", RULES);
	struct scan *sc = unit_scan(e, evals[_i].msg);
	char got[512];

	hits(sc, got, sizeof(got));
	ck_assert_msg(strcmp(got, evals[_i].want) == 0, "case %d: got %s want %s", _i, got,
		      evals[_i].want);
	scan_free(sc);
	engine_unref(e);
}
END_TEST

START_TEST(detail_and_desc)
{
	struct engine *e = unit_engine("", "body MONEY /m.ney/\ndescribe MONEY Talks about money\nscore MONEY 2.5\n");
	struct scan *sc = unit_scan(e, "Subject: x\n\nsome money here\n");

	ck_assert_uint_eq(sc->nhits, 1);
	ck_assert_str_eq(sc->hits[0].detail, "money");
	ck_assert_str_eq(sc->hits[0].desc, "Talks about money");
	ck_assert(sc->hits[0].score == 2.5);
	scan_free(sc);
	engine_unref(e);
}
END_TEST

START_TEST(score_sets_and_default)
{
	struct engine *e = unit_engine("", "body A /a/\nbody B /a/\nscore B 0 3.5 0 0\n"
					  "score B 1 2.5 1 1\nscore SPF_FAIL 3\n");
	double s;
	const char *d;

	ck_assert(rules_symbol(e->rules, "A", &s, &d) && s == 1.0);	/* default */
	ck_assert(rules_symbol(e->rules, "B", &s, &d) && s == 2.5);	/* later line wins, set 1 */
	ck_assert(rules_symbol(e->rules, "SPF_FAIL", &s, &d) && s == 3.0);
	ck_assert(!rules_symbol(e->rules, "NOPE", &s, &d));
	engine_unref(e);
	/* a built-in with only a description scores 0, not the rule default */
	e = unit_engine("", "describe MIME_BROKEN broken\n");
	ck_assert(rules_symbol(e->rules, "MIME_BROKEN", &s, &d) && s == 0.0);
	ck_assert_str_eq(d, "broken");
	engine_unref(e);
}
END_TEST

START_TEST(catastrophic_regex_bounded)
{
	struct engine *e = unit_engine("", "body CATA /(a+)+$/\nbody AFTER /zzz/\n");
	size_t n = 100 * 1024;
	char *m = xmalloc(n + 64);

	strcpy(m, "Subject: x\n\n");
	size_t o = strlen(m);
	memset(m + o, 'a', n);
	strcpy(m + o + n, "b\nzzz\n");
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct scan *sc = unit_scan(e, m);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	ck_assert(!scan_has(sc, "CATA"));	/* limit hit counts as no match */
	ck_assert(scan_has(sc, "AFTER"));	/* later rules still run */
	ck_assert_msg(ms < 5000, "took %.0f ms", ms);	/* unbounded would take hours */
	scan_free(sc);
	free(m);
	engine_unref(e);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rules");
	TCase *tc = tcase_create("rules");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, parse_errors, 0, sizeof(errors) / sizeof(errors[0]));
	tcase_add_test(tc, warnings_skip);
	tcase_add_test(tc, redefine_after_error);
	tcase_add_loop_test(tc, eval_types, 0, sizeof(evals) / sizeof(evals[0]));
	tcase_add_test(tc, detail_and_desc);
	tcase_add_test(tc, score_sets_and_default);
	tcase_add_test(tc, catastrophic_regex_bounded);
	suite_add_tcase(s, tc);
	return unit_main(s);
}
