/*
 * test_rules_sa.c - SpamAssassin's semantics for loading its stock rule
 * files (issue 14): a later definition wins, header modifiers and their
 * combinations, \x{} code points as characters, plugin()/can()/has(),
 * require_version, long lines, every error reported, skips summarized,
 * metadata and local.cf directives.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "unit.h"

/* load - text as one file, the diag kept (caller frees); whether it loaded */
static bool load(const char *text, struct diag *d, bool verbose)
{
	diag_init(d);
	d->verbose = verbose;
	struct ruleset *rs = rules_load_text("r.cf", text, unit_builtins(), d);
	bool ok = rs != NULL;
	rules_free(rs);
	return ok;
}

/* has_line - a diagnostic line starting with want? */
static bool has_line(const struct diag *d, const char *want)
{
	for (size_t i = 0; i < d->n; i++)
		if (strncmp(d->lines[i], want, strlen(want)) == 0)
			return true;
	return false;
}

/* hit - the hit called name in sc, or NULL */
static const struct hit *hit(const struct scan *sc, const char *name)
{
	for (size_t i = 0; i < sc->hits.n; i++)
		if (strcmp(sc->hits.v[i].name, name) == 0)
			return &sc->hits.v[i];
	return NULL;
}

/* a later definition replaces the earlier one; score, describe and
 * tflags stay with the name; an invalid later definition is an error */
START_TEST(later_definition_wins)
{
	const char *rules =
		"body X /aaa/\nscore X 3\ndescribe X first\n"
		"body X /bbb/\n"		/* replaces /aaa/ */
		"header __H From =~ /nobody/\nheader __H Subject =~ /bbb/\n"
		"meta M __H\nscore M 1\n"
		"body W /bbb/\nbody W eval:not_in_parapet()\n"	/* now skipped */
		"header T Subject =~ /bbb/\nmeta T 0\n";	/* another type */
	struct diag d;

	ck_assert(load(rules, &d, false));
	ck_assert_int_eq(d.errors, 0);
	ck_assert_int_eq(d.warnings, 0);
	diag_free(&d);
	struct engine *e = unit_engine("", rules);
	struct scan *sc = unit_scan(e, "Subject: bbb\n\nbbb\n");
	const struct hit *x = hit(sc, "X");
	ck_assert_ptr_nonnull(x);
	ck_assert_double_eq_tol(x->score, 3.0, 1e-9);
	ck_assert_str_eq(x->desc, "first");
	ck_assert_ptr_nonnull(hit(sc, "M"));
	ck_assert_ptr_null(hit(sc, "W"));
	ck_assert_ptr_null(hit(sc, "T"));
	ck_assert_uint_eq(rules_count(e->rules), 4);	/* X __H M T */
	scan_free(sc);
	sc = unit_scan(e, "Subject: s\n\naaa\n");
	ck_assert_ptr_null(hit(sc, "X"));
	scan_free(sc);
	engine_unref(e);
}
END_TEST

/* header modifiers in every combination SpamAssassin's get() knows */
static const struct {
	const char *rule;
	bool hits;
} mods[] = {
	{ "header R From:name =~ /^J\\xc3\\xb6rg$/", true },	/* decoded */
	{ "header R From:name:raw =~ /^=\\?UTF-8\\?Q\\?J=C3=B6rg\\?=$/", true },
	{ "header R From:raw:name =~ /^=\\?UTF-8/", true },
	{ "header R From:addr =~ /^joerg\\@example\\.org$/", true },
	{ "header R From:addr:raw =~ /^joerg\\@example\\.org$/", true },
	{ "header R From:raw =~ /^ =\\?UTF-8\\?Q\\?J=C3=B6rg\\?= <joerg\\@example\\.org>$/", true },
	{ "header R Received:first =~ /^from a\\.example$/", true },
	{ "header R Received:last =~ /^from b\\.example$/", true },
	{ "header R Received:first =~ /b\\.example/", false },
	{ "header R Received =~ /a\\.example\\nfrom b/", true },
	{ "header R X-None =~ /^x$/ [if-unset: x]", true },
	{ "header R X-None:addr =~ /^x$/ [if-unset: y]", false },
	{ "header R ToCc:addr =~ /^t\\@example\\.org/", true },
};

START_TEST(header_modifiers)
{
	char *rules = xasprintf("%s\n", mods[_i].rule);
	struct engine *e = unit_engine("", rules);
	ck_assert_msg(e != NULL, "%s does not load", mods[_i].rule);
	struct scan *sc = unit_scan(e, "Received: from a.example\n"
				       "Received: from b.example\n"
				       "From: =?UTF-8?Q?J=C3=B6rg?= <joerg@example.org>\n"
				       "To: t@example.org\nSubject: s\n\nbody\n");
	ck_assert_msg((hit(sc, "R") != NULL) == mods[_i].hits, "%s: %s", mods[_i].rule,
		      mods[_i].hits ? "no hit" : "hit");
	scan_free(sc);
	engine_unref(e);
	free(rules);
}
END_TEST

/* :host and friends are skipped (no error); garbage is an error */
START_TEST(header_modifier_unknown)
{
	struct diag d;

	ck_assert(load("header A From:host =~ /x/\nmeta B A\n", &d, false));
	ck_assert_int_eq(d.skipped, 2);
	diag_free(&d);
	ck_assert(!load("header A From:addr:bogus =~ /x/\n", &d, false));
	ck_assert_str_eq(d.lines[0], "r.cf:1: error: A: unknown modifier :bogus");
	diag_free(&d);
}
END_TEST

/* \x{...} above 0xFF: characters of the decoded UTF-8 text */
START_TEST(code_points)
{
	const char *rules =
		"body BTC /\\bb[i\\x{0456}]t[c\\x{0441}]oin\\b/i\n"
		"header SP Subject =~ /[\\x{2000}-\\x{200F}]/\n"
		"body ANY /[\\x{10FFFF}]/\n"
		"body DOT /^b\\x{0456}.c$/m\n";	/* . is one character */
	struct diag d;

	ck_assert(load(rules, &d, false));
	ck_assert_int_eq(d.errors + d.warnings, 0);
	diag_free(&d);
	struct engine *e = unit_engine("", rules);
	/* U+0456 is d1 96, U+0441 is d1 81, U+2003 is e2 80 83; ff is no UTF-8 */
	struct scan *sc = unit_scan(e, "Subject: =?UTF-8?Q?a=E2=80=83b?=\n"
				       "Content-Type: text/plain; charset=utf-8\n\n"
				       "b\xd1\x96t\xd1\x81oin\n\nb\xd1\x96\xd1\x81" "c\n\nend\n");
	ck_assert_ptr_nonnull(hit(sc, "BTC"));
	ck_assert_ptr_nonnull(hit(sc, "SP"));
	ck_assert_ptr_null(hit(sc, "ANY"));
	ck_assert_ptr_nonnull(hit(sc, "DOT"));
	scan_free(sc);
	/* bytes that are not UTF-8 (raw text): no error, no match */
	sc = unit_scan(e, "Subject: s\n\nb\xd1t\xffoin \xf4\x8f\xbf\n");
	ck_assert_ptr_null(hit(sc, "BTC"));
	ck_assert_ptr_null(hit(sc, "ANY"));
	scan_free(sc);
	engine_unref(e);
}
END_TEST

/* a valid regex beyond PCRE2's limits loses its rule only; a syntax error
 * still refuses the set */
START_TEST(regex_limits)
{
	struct diag d;
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "body BIG /");
	for (int i = 0; i < 3000; i++)
		buf_printf(&b, "%sw%04dx[a-z]{1,9}", i ? "|" : "", i);
	buf_puts(&b, "/\nbody OK /ok/\nmeta M BIG || OK\n");
	ck_assert(load(b.data, &d, false));
	ck_assert_int_eq(d.errors, 0);
	ck_assert_int_eq(d.warnings, 1);
	ck_assert(has_line(&d, "r.cf:1: warning: BIG: bad regex"));
	diag_free(&d);
	buf_free(&b);
	ck_assert(!load("body BAD /(/\n", &d, false));
	ck_assert_int_eq(d.errors, 1);
	diag_free(&d);
}
END_TEST

/* plugin(), ifplugin, can(), has(), require_version */
START_TEST(plugin_conditions)
{
	const char *rules =
		"ifplugin Mail::SpamAssassin::Plugin::ReplaceTags\nbody P1 /a/\nendif\n"
		"if !plugin(Mail::SpamAssassin::Plugin::ReplaceTags)\nbody P2 /a/\nendif\n"
		"ifplugin Mail::SpamAssassin::Plugin::DCC\nbody P3 /a/\nendif\n"
		"if can(Mail::SpamAssassin::Conf::feature_bug6558_free)\nbody P4 /a/\nendif\n"
		"if can(Mail::SpamAssassin::Conf::feature_dns_block_rule)\nbody P5 /a/\nendif\n"
		"if can(Mail::SpamAssassin::Plugin::BodyEval::has_check_body_length)\nbody P6 /a/\nendif\n"
		"if has(Mail::SpamAssassin::Plugin::Pyzor::has_x)\nbody P7 /a/\nendif\n"
		"if can(Mail::SpamAssassin::Plugin::BodyEval::has_check_no_such_test)\nbody P10 /a/\nendif\n"
		"if (version >= 4.000000) && !(local_tests_only)\nbody P8 /a/\nendif\n"
		"require_version @@VERSION@@\nbody P9 /a/\n";
	static const char *const present[] = { "P1", "P4", "P6", "P8", "P9" };
	static const char *const absent[] = { "P2", "P3", "P5", "P7", "P10" };
	struct diag d;

	ck_assert(load(rules, &d, true));
	ck_assert_int_eq(d.warnings, 0);
	ck_assert(has_line(&d, "r.cf:7: skipped: ifplugin Mail::SpamAssassin::Plugin::DCC: false in parapet"));
	ck_assert(has_line(&d, "r.cf:8: skipped: P3: inside `ifplugin Mail::SpamAssassin::Plugin::DCC` (line 7)"));
	diag_free(&d);
	struct engine *e = unit_engine("", rules);
	struct scan *sc = unit_scan(e, "Subject: s\n\na\n");
	for (size_t i = 0; i < sizeof(present) / sizeof(present[0]); i++)
		ck_assert_msg(hit(sc, present[i]) != NULL, "%s not loaded", present[i]);
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
		ck_assert_msg(hit(sc, absent[i]) == NULL, "%s loaded", absent[i]);
	scan_free(sc);
	engine_unref(e);
	/* another version: the rest of the file is skipped, with a warning */
	ck_assert(load("body A /a/\nrequire_version 3.004006\nbody B /(/\n"
		       "if (version > 1)\nbody C /a/\nendif\n", &d, false));
	ck_assert_int_eq(d.warnings, 1);
	ck_assert(has_line(&d, "r.cf:2: warning: require_version 3.004006: parapet reads SpamAssassin 4.000001 rules"));
	diag_free(&d);
}
END_TEST

/* lines as long as 72_active.cf's (10,366 bytes) and more; a cap remains */
START_TEST(long_lines)
{
	struct diag d;
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "body LONG /(?:");
	for (int i = 0; i < 3000; i++)
		buf_printf(&b, "%sw%04d", i ? "|" : "", i);
	buf_puts(&b, ")/\n");
	ck_assert(b.len > 16000);
	ck_assert(load(b.data, &d, false));
	ck_assert_int_eq(d.errors, 0);
	diag_free(&d);
	for (int i = 0; i < 12000; i++)
		buf_puts(&b, "xxxxxx");
	ck_assert(!load(b.data, &d, false));
	ck_assert(has_line(&d, "r.cf:2: error: line longer than 65536 bytes"));
	diag_free(&d);
	buf_free(&b);
}
END_TEST

/* every error is kept; warnings are capped and counted; skips summarized */
START_TEST(every_error_reported)
{
	struct diag d;
	struct buf b;

	buf_init(&b);
	for (int i = 0; i < 1500; i++)
		buf_printf(&b, "body E%d /x/ junk\n", i);
	for (int i = 0; i < 25000; i++)
		buf_printf(&b, "tflags E%d bogus\n", i % 1000);
	ck_assert(!load(b.data, &d, false));
	ck_assert_int_eq(d.errors, 1500);
	ck_assert(has_line(&d, "r.cf:1500: error: E1499: unexpected text after regex"));
	ck_assert_int_eq(d.warnings, 25000);
	ck_assert(has_line(&d, "r.cf: note: 5000 more warning(s) or skip(s) not shown"));
	diag_free(&d);
	buf_free(&b);
}
END_TEST

/* SpamAssassin's metadata is skipped quietly; local.cf settings parapet
 * does not take are warnings that say what it does instead */
START_TEST(metadata_and_settings)
{
	struct diag d;

	ck_assert(load("body A /a/\npriority A 100\nreuse A\ntest A ok a\n"
		       "report Spam detection software\nclear_report_template\n"
		       "unsafe_report x\nbayes_auto_learn 1\nreport_safe 0\nlang de describe A x\n",
		       &d, false));
	ck_assert_int_eq(d.errors + d.warnings, 0);
	ck_assert_int_eq(d.skipped, 7);
	ck_assert(has_line(&d, "r.cf: note: 3 skipped: report template"));
	diag_free(&d);
	ck_assert(load("required_score 6\nrewrite_header From [SPAM]\nadd_header all Foo x\n"
		       "clear_headers\nreport_safe 1\n", &d, false));
	ck_assert_int_eq(d.warnings, 5);
	ck_assert(has_line(&d, "r.cf:1: warning: required_score: parapet's thresholds are tag_score"));
	ck_assert(has_line(&d, "r.cf:2: warning: rewrite_header: parapet rewrites only Subject"));
	ck_assert(has_line(&d, "r.cf:5: warning: report_safe: parapet never wraps"));
	diag_free(&d);
}
END_TEST

/* SpamAssassin's comment rule: '#' after a backslash is no comment, and
 * "\#" becomes "#" */
START_TEST(comments)
{
	struct engine *e = unit_engine("", "body H /a\\#b/x # comment\n");
	ck_assert_ptr_nonnull(e);
	struct scan *sc = unit_scan(e, "Subject: s\n\na#b\n");
	ck_assert_ptr_nonnull(hit(sc, "H"));
	scan_free(sc);
	engine_unref(e);
}
END_TEST

Suite *rules_sa_suite(void);

/* rules_sa_suite - the cases */
Suite *rules_sa_suite(void)
{
	Suite *s = suite_create("rules_sa");
	TCase *tc = tcase_create("rules_sa");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, later_definition_wins);
	tcase_add_loop_test(tc, header_modifiers, 0, sizeof(mods) / sizeof(mods[0]));
	tcase_add_test(tc, header_modifier_unknown);
	tcase_add_test(tc, code_points);
	tcase_add_test(tc, regex_limits);
	tcase_add_test(tc, plugin_conditions);
	tcase_add_test(tc, long_lines);
	tcase_add_test(tc, every_error_reported);
	tcase_add_test(tc, metadata_and_settings);
	tcase_add_test(tc, comments);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_main(rules_sa_suite());
}
