/*
 * test_rules.c - rule-file parsing (errors and warnings with file:line)
 * and evaluation of every supported rule type, meta expressions, tflags,
 * include, replace_tag, conditionals and score edge cases.
 */
#include "autoconfig.h"

#include <math.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "mail/auth.h"
#include "rules/match.h"
#include "rules/meta.h"
#include "rules/re.h"
#include "stages/rep/rep.h"
#include "stages/rep/rep_int.h"

/* lint - load text; returns the diag (caller frees) and whether it loaded */
static bool lint(const char *text, struct diag *d)
{
	diag_init(d);
	struct ruleset *rs = rules_load_text("r.cf", text, unit_builtins(), d);
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
	{ "endif\n", "r.cf:1: error: endif without if" },
	{ "ifplugin Foo\nbody E /x/\n", "r.cf:2: error: 1 if/ifplugin block(s) without endif" },
	{ "score F lots\n", "r.cf:1: error: score F: 'lots' is not a number" },
	{ "score G 1 2\n", "r.cf:1: error: score G: expected one or four numbers" },
	{ "body H-I /x/\n", "r.cf:1: error: bad rule name 'H-I'" },
	{ "header J Subject:weird =~ /x/\n", "r.cf:1: error: J: unknown modifier :weird" },
	{ "mimeheader J Content-Type:addr =~ /x/\n",
	  "r.cf:1: error: J: mimeheader takes no modifier but :raw (got :addr)" },
	{ "mimeheader J Content-Type /x/\n", "r.cf:1: error: J: expected =~ or !~" },
	{ "mimeheader J\n", "r.cf:1: error: mimeheader: expected NAME FIELD =~ /re/" },
	{ "body K /x/q\n", "r.cf:1: error: unknown regex flag 'q'" },
	{ "body L /x/ trailing\n", "r.cf:1: error: L: unexpected text after regex" },
	/* metas: syntax at the line, names and cycles once every file is read */
	{ "body X /x/\nmeta M X || Y\n", "r.cf:2: error: meta M: unknown rule Y" },
	{ "meta M X and Y\nbody X /x/\n",
	  "r.cf:1: error: meta M: expected an operator, found 'and' at column 3 (the operators are && || !)" },
	{ "meta M not X\nbody X /x/\n",
	  "r.cf:1: error: meta M: expected an operator, found 'X' at column 5 (the operators are && || !)" },
	{ "meta M or\n", "r.cf:1: error: meta M: unknown rule or (the operators are && || !)" },
	{ "meta M (X\n", "r.cf:1: error: meta M: expected ')', found the end at column 3" },
	{ "meta M X = 1\n", "r.cf:1: error: meta M: '=' is not an operator (comparison is ==) at column 3" },
	{ "meta M 1 < 2 < 3\n", "r.cf:1: error: meta M: chained comparison '<' needs parentheses at column 7" },
	{ "meta M\n", "r.cf:1: error: meta M: empty expression at column 1" },
	{ "body X /x/\nmeta A X && B\nmeta B C\nmeta C A\n",
	  "r.cf:2: error: meta A: circular dependency A -> B -> C -> A" },
	{ "meta S S || 1\n", "r.cf:1: error: meta S: circular dependency S -> S" },
	{ "body SPF_PASS /x/\n", "r.cf:1: error: SPF_PASS is a built-in symbol; a rule needs another name" },
	/* score: SpamAssassin's parentheses add to an earlier score line */
	{ "body A /a/\nscore A (1)\n",
	  "r.cf:2: error: score A: a score in parentheses is added to an earlier score line, and there is none" },
	{ "score A nan\n", "r.cf:1: error: score A: 'nan' is not a number" },
	{ "score A 1e3\n", "r.cf:1: error: score A: '1e3' is not a number" },
	{ "include\n", "r.cf:1: error: include: expected a file name" },
	{ "if\nendif\n", "r.cf:1: error: if: expected a condition" },
	{ "replace_tag A\n", "r.cf:1: error: replace_tag: expected NAME VALUE" },
	{ "body R /<T>/\nreplace_tag T (\nreplace_rules R\n",
	  "r.cf:1: error: R: after replace_tag: bad regex at offset 1" },
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
	ck_assert_int_eq(d.warnings, 0);
	ck_assert_int_eq(d.skipped, 5);	/* A, B, C, the block, D */
	ck_assert_str_eq(d.lines[0], "r.cf: note: 2 skipped: eval test not implemented in parapet");
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

/* auth_symbol - set by the authentication stages (DKIM_NONE, DMARC_NONE
 * on every test message), not by the rules under test */
static bool auth_symbol(const char *name)
{
	return strncmp(name, "DKIM_", 5) == 0 || strncmp(name, "DMARC_", 6) == 0 ||
	       strncmp(name, "SPF_", 4) == 0 || strcmp(name, "FROM_MULTIPLE") == 0;
}

/* hits - symbol names of a scan, comma separated, in hit order */
static void hits(struct scan *sc, char *out, size_t cap)
{
	out[0] = '\0';
	for (size_t i = 0; i < sc->hits.n; i++) {
		if (auth_symbol(sc->hits.v[i].name))
			continue;
		strncat(out, sc->hits.v[i].name, cap - strlen(out) - 2);
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
	/* folded Subject: unfolded before matching, the fold and its tab one
	 * space, in the body's Subject line too (SpamAssassin 4.0.1 hits
	 * SUBJ_IN_BODY here) */
	{ "Subject: free\n\tmoney\nDate: x\nX-Prio: high\n\nhi\n", "SUBJ_RE,SUBJ_IN_BODY," },
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

	size_t n = 0, at = 0;
	for (size_t i = 0; i < sc->hits.n; i++)
		if (!auth_symbol(sc->hits.v[i].name))
			n++, at = i;
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(sc->hits.v[at].detail, "money");
	ck_assert_str_eq(sc->hits.v[at].desc, "Talks about money");
	ck_assert(sc->hits.v[at].score == 2.5);
	scan_free(sc);
	engine_unref(e);
}
END_TEST

/* a header rule names its field in any case, as the message may: the
 * field name test (match.c) must not tell "subject" from "SUBJECT",
 * nor "x-Mailer" from "X-MAILER", nor take "Xubject" for "Subject" */
/* a folded field as SpamAssassin's header rules read it: each line
 * break and the blanks after it one space (checked with SpamAssassin
 * 4.0.1: its / Thu, / hits a Received field folded before a tab and
 * "Thu,"); :raw keeps the fold.  Fails when only the line breaks go */
START_TEST(folded_blanks)
{
	struct engine *e = unit_engine("", "header TAB Received =~ /id 17; Thu, /\n"
					   "header SPACES Subject =~ /^x y =\\?$/\n"
					   "header ENC Subject =~ /^caf\\xc3\\xa9 y$/\n"
					   "header RAW Received:raw =~ /17;\\n\\tThu/\n");
	struct scan *sc = unit_scan(e, "Received: from a.example by b.example with SMTP id 17;\n"
				    "\tThu, 18 Jul 2002 14:46:11 -0400\n"
				    "Subject: x\n   y =?\n\nbody\n");
	ck_assert_ptr_nonnull(unit_detail(sc, "TAB"));
	ck_assert_ptr_nonnull(unit_detail(sc, "SPACES"));
	ck_assert_ptr_nonnull(unit_detail(sc, "RAW"));
	scan_free(sc);
	/* an encoded word after the fold: unfolded, then decoded */
	sc = unit_scan(e, "Subject: =?utf-8?q?caf=C3=A9?=\n\t  y\n\nbody\n");
	ck_assert_ptr_nonnull(unit_detail(sc, "ENC"));
	scan_free(sc);
	engine_unref(e);
}
END_TEST

/* a body rule's final $ holds after a line's break too, as in
 * SpamAssassin's match of each line on its own (the expectations are
 * SpamAssassin 4.0.1's on this message): \s takes the break, then $.
 * Not across lines (F), not where the line goes on (G), not for a
 * pattern that can match empty (Z: no match at every line's start) or a
 * $ with more after it (Y).  Fails without the rewrite (A, E, H, I) or
 * with it for patterns of minimum length 0 (Z) */
START_TEST(final_dollar)
{
	static const char *const hit[] = { "DL_A", "DL_E", "DL_H", "DL_I" };
	static const char *const miss[] = { "DL_F", "DL_G", "DL_Z", "DL_Y" };
	struct engine *e = unit_engine("",
		"body DL_A /^Business(?:[-=_.,:;*\\s]|=20){1,4}$/im\n"
		"body DL_E /ness\\s$/\nbody DL_F /ness\\s\\w/\nbody DL_G /more\\s$/\n"
		"body DL_H /(?:ness\\s$)/\nbody DL_I /ness\\s$|zzz/\nbody DL_Z /^$/m\n"
		"body DL_Y /ness\\s$(?=W)/\n");
	struct scan *sc = unit_scan(e, "From: a@b.example\nTo: c@d.example\nSubject: s\n\n"
				    "intro text\n\nBusiness\n\nWorldCom takes more the\n");
	for (size_t i = 0; i < 4; i++) {
		ck_assert_msg(unit_detail(sc, hit[i]) != NULL, "%s missing", hit[i]);
		ck_assert_msg(unit_detail(sc, miss[i]) == NULL, "%s hit", miss[i]);
	}
	scan_free(sc);
	engine_unref(e);
	/* parapet's own flag is not a rule file's */
	struct diag d;
	diag_init(&d);
	ck_assert_ptr_null(rules_load_text("r.cf", "body X /a/L\n", unit_builtins(), &d));
	diag_free(&d);
}
END_TEST

START_TEST(field_name_case)
{
	struct engine *e = unit_engine("", "header LC subject =~ /hello/\n"
					   "header UC X-MAILER =~ /mutt/\n"
					   "header MIX x-Mailer =~ /mutt/\n"
					   "header EX exists:sUBJECT\n"
					   "header NO Subject =~ /other/\n");
	struct scan *sc = unit_scan(e, "SUBJECT: hello\nx-mailer: mutt\nXubject: other\n\nbody\n");

	ck_assert_ptr_nonnull(unit_detail(sc, "LC"));
	ck_assert_ptr_nonnull(unit_detail(sc, "UC"));
	ck_assert_ptr_nonnull(unit_detail(sc, "MIX"));
	ck_assert_ptr_nonnull(unit_detail(sc, "EX"));
	ck_assert_ptr_null(unit_detail(sc, "NO"));
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
	size_t n = 2000;	/* body lines are cut at 2048 bytes, as SpamAssassin's */
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

/* ---------------------------------------------------------------- metas */

/* find_hit - the hit called name, or NULL */
static const struct hit *find_hit(const struct scan *sc, const char *name)
{
	for (size_t i = 0; i < sc->hits.n; i++)
		if (strcmp(sc->hits.v[i].name, name) == 0)
			return &sc->hits.v[i];
	return NULL;
}

/* sub-rules every meta case below reads: __A counts every "aaa" */
static const char META_BASE[] =
	"body __A /aaa/\n"
	"tflags __A multiple\n"
	"body __B /bbb/\n"
	"body __C /ccc/\n";

static const struct {
	const char *expr;
	const char *body;
	const char *want;	/* detail of M ("meta=V"), or NULL: no hit */
} metas[] = {
	/* the issue's example: arithmetic, comparison, && and ! together */
	{ "(__A + __B) > 1 && !__C", "aaa bbb", "meta=1" },
	{ "(__A + __B) > 1 && !__C", "aaa bbb ccc", NULL },
	{ "(__A + __B) > 1 && !__C", "aaa", NULL },
	{ "(__A + __B) > 1 && !__C", "aaa aaa", "meta=1" },	/* multiple: __A is 2 */
	/* precedence and associativity (Perl's) */
	{ "1 + 2 * 3", "", "meta=7" },
	{ "(1 + 2) * 3", "", "meta=9" },
	{ "2 * 3 - 4 / 2", "", "meta=4" },
	{ "10 - 4 - 3", "", "meta=3" },
	{ "16 / 4 / 2", "", "meta=2" },
	{ "-__A + 5", "aaa", "meta=4" },
	{ "!__A + 1", "", "meta=2" },
	{ "!(__A + 1)", "", NULL },
	{ "5 - __A * 2", "aaa aaa", "meta=1" },
	{ "1 < 2 == 1", "", "meta=1" },	/* relational binds tighter than == */
	{ "2 == 1 < 3", "", NULL },	/* 2 == (1 < 3), not (2 == 1) < 3 */
	{ "__B || __C && 0", "bbb", "meta=1" },	/* && binds tighter than || */
	{ "(__B || __C) && 0", "bbb", NULL },
	/* Perl's && and || give the deciding operand's value */
	{ "__B || __A", "aaa aaa", "meta=2" },
	{ "__A && 7", "aaa", "meta=7" },
	{ "__A && 7", "", NULL },
	/* numbers, division by zero, negative values */
	{ "0.5 + .25", "", "meta=0.75" },
	{ "__A / 2", "aaa aaa aaa", "meta=1.5" },
	{ "__A / __B", "aaa", NULL },	/* x / 0 is 0 */
	{ "__A - 3", "aaa", "meta=-2" },	/* non-zero: hits */
	{ "__A >= 3", "aaa aaa aaa", "meta=1" },
	{ "__A != 2", "aaa aaa", NULL },
	{ "__A <= 1 && __A > 0", "aaa", "meta=1" },
};

START_TEST(meta_eval_table)
{
	char *rules = xasprintf("%smeta M %s\n", META_BASE, metas[_i].expr);
	char *msg = xasprintf("Subject: x\n\n%s\n", metas[_i].body);
	struct engine *e = unit_engine("", rules);
	struct scan *sc = unit_scan(e, msg);
	const struct hit *h = find_hit(sc, "M");

	if (metas[_i].want == NULL) {
		ck_assert_msg(h == NULL, "%s on '%s': hit with %s", metas[_i].expr, metas[_i].body,
			      h && h->detail ? h->detail : "-");
	} else {
		ck_assert_msg(h != NULL, "%s on '%s': no hit", metas[_i].expr, metas[_i].body);
		ck_assert_str_eq(h->detail, metas[_i].want);
	}
	/* with every __ rule run (a subrules list turns lazy evaluation
	 * off), the same */
	struct scan *ea = scan_new(e);
	struct hits sub = { 0 };
	ea->hits.subrules = &sub;
	mboxfile_feed(ea, msg, strlen(msg));
	scan_finish(ea);
	const struct hit *eh = find_hit(ea, "M");
	ck_assert_msg((eh == NULL) == (h == NULL), "%s: eager and lazy differ", metas[_i].expr);
	if (eh)
		ck_assert_str_eq(eh->detail, h->detail);
	scan_free(ea);
	hits_clear(&sub);
	/* __ rules feed metas but are never reported */
	for (size_t i = 0; i < sc->hits.n; i++)
		ck_assert_msg(strncmp(sc->hits.v[i].name, "__", 2) != 0, "%s reported", sc->hits.v[i].name);
	scan_free(sc);
	engine_unref(e);
	free(msg);
	free(rules);
}
END_TEST

/* with a subrules list (parapetctl scan --subrules) every __ rule that
 * hit, header, body and meta, is in it with score 0, and still never among
 * the reported symbols or in the score */
START_TEST(subrules_listed)
{
	struct engine *e = unit_engine("", "header __H Subject =~ /deal/\n"
					  "body __B /cheap/\n"
					  "body __N /absent/\n"
					  "meta __M __H && __B\n"
					  "meta TOP __M\nscore TOP 1.5\n");
	struct scan *sc = scan_new(e);
	struct hits sub = { 0 };
	const char *msg = "Subject: a deal\n\ncheap stuff\n";
	char got[256] = "";

	sc->hits.subrules = &sub;
	msg_set_client(sc->msg, NULL, "client.test", "helo.test");
	mboxfile_feed(sc, msg, strlen(msg));
	scan_finish(sc);
	for (size_t i = 0; i < sub.n; i++) {
		strcat(got, sub.v[i].name);
		strcat(got, ",");
	}
	ck_assert_str_eq(got, "__H,__B,__M,");
	ck_assert(sub.score == 0.0);
	ck_assert_ptr_nonnull(find_hit(sc, "TOP"));
	for (size_t i = 0; i < sc->hits.n; i++)
		ck_assert_msg(strncmp(sc->hits.v[i].name, "__", 2) != 0, "%s reported", sc->hits.v[i].name);
	scan_free(sc);
	hits_clear(&sub);
	engine_unref(e);
}
END_TEST

/* list_rule - rules_each's callback: "NAME TYPE;" appended to ctx */
static void list_rule(const char *name, const char *type, void *ctx)
{
	char *out = ctx;

	strcat(out, name);
	strcat(out, " ");
	strcat(out, type);
	strcat(out, ";");
}

/* rules_each (parapetctl lint --list-rules): every rule that can run with
 * its type, in file order; a rule scored 0 is left out, an unsupported
 * eval is not a rule parapet runs */
START_TEST(each_rule_listed)
{
	struct engine *e = unit_engine("", "header H Subject =~ /x/\n"
					  "header E exists:X-Foo\n"
					  "body B /x/\n"
					  "rawbody R /x/\n"
					  "full F /x/\n"
					  "uri U /x/\n"
					  "meta __M H && B\n"
					  "body OFF /x/\nscore OFF 0\n"
					  "header EV eval:check_foo()\n");
	char got[512] = "";

	rules_each(e->rules, list_rule, got);
	ck_assert_str_eq(got, "H header;E header;B body;R rawbody;F full;U uri;__M meta;");
	engine_unref(e);
}
END_TEST

/* mimeheader (SpamAssassin's MIMEHeader plugin): the last field of a
 * name in each MIME part, the top's being the message's, as received with
 * :raw (folds kept) or decoded with a newline (if-unset when there is
 * none); an attached message's top part holds that message's fields; a
 * later definition replaces a meta of the same name (the stock files'
 * "meta __ANY_TEXT_ATTACH 0" then "mimeheader __ANY_TEXT_ATTACH").  The
 * expectations are what SpamAssassin 4.0.1 reported for these three
 * messages and rules (tests/sa_oracle.pl), but for !~, where it hits every
 * message (MIMEHeader.pm's _check counts no hit when negated, so the rule
 * always falls through to its "negated: hit"): here !~ hits when no
 * part's field matches. */
#define MIMEHEADER_SET \
	"mimeheader T_TEXT Content-Type =~ /text\\/\\w+/i\n" \
	"mimeheader T_GIFRAW Content-Type:raw =~ /^image\\/gif;\\n\\s+name=\"[^\"]+\"$/s\n" \
	"mimeheader T_APP Content-Type =~ /application\\//\n" \
	"mimeheader T_CD Content-Disposition =~ /attachment/\n" \
	"mimeheader T_NOAPP Content-Type !~ /application\\//\n" \
	"mimeheader T_NOTEXT Content-Type !~ /text/\n" \
	"mimeheader T_SUBJ Subject =~ /hello/\n" \
	"mimeheader T_UNSET X-Nothing =~ /^$/\n" \
	"mimeheader T_UNSET2 X-Nothing =~ /^zz$/ [if-unset: zz]\n" \
	"mimeheader T_UNSETRAW X-Nothing:raw =~ /^zz$/ [if-unset: zz]\n" \
	"mimeheader T_MULTI Content-Type =~ /\\//\n" \
	"tflags T_MULTI multiple\n" \
	"mimeheader T_CTE Content-Transfer-Encoding =~ /base64/\n" \
	"mimeheader T_RFC822 Content-Type =~ /message\\/rfc822/\n" \
	"mimeheader T_INNER Content-Type =~ /text\\/html/\n" \
	"mimeheader T_INNERSUBJ Subject =~ /inner/\n" \
	"mimeheader T_ENC Content-Type =~ /name=\"caf\\xc3\\xa9\\.txt\"/\n" \
	"mimeheader T_ENCRAW Content-Type:raw =~ /=\\?utf-8\\?/i\n" \
	"mimeheader T_NL Content-Type =~ /plain\\n/\n" \
	"meta __ANY_TEXT_ATTACH 0\n" \
	"mimeheader __ANY_TEXT_ATTACH Content-Type =~ /text\\/\\w+/i\n" \
	"meta M_TEXT __ANY_TEXT_ATTACH\n"

static const struct {
	const char *msg;
	const char *hits;	/* every rule of MIMEHEADER_SET that hits */
} mimeheader_cases[] = {
	{ "From: a@b.test\r\nTo: c@d.test\r\nSubject: hello\r\nMIME-Version: 1.0\r\n"
	  "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\nContent-Type: text/plain\r\n"
	  "\r\nhi\r\n--XX\r\nContent-Type: image/gif;\r\n\tname=\"a.gif\"\r\n"
	  "Content-Disposition: attachment\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	  "R0lGODlhAQABAAAAACw=\r\n--XX--\r\n",
	  "M_TEXT T_CD T_CTE T_GIFRAW T_MULTI T_NL T_NOAPP T_SUBJ T_TEXT T_UNSET T_UNSET2" },
	{ "From: a@b.test\r\nTo: c@d.test\r\nSubject: plain\r\nMIME-Version: 1.0\r\n"
	  "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\n"
	  "Content-Type: text/plain; name=\"=?utf-8?q?caf=C3=A9.txt?=\"\r\n\r\nhi\r\n--XX\r\n"
	  "Content-Type: message/rfc822\r\n\r\nFrom: x@y.test\r\nSubject: inner\r\n"
	  "Content-Type: multipart/alternative; boundary=\"YY\"\r\n\r\n--YY\r\n"
	  "Content-Type: text/html\r\n\r\n<p>x</p>\r\n--YY--\r\n\r\n--XX--\r\n",
	  "M_TEXT T_ENC T_ENCRAW T_INNER T_INNERSUBJ T_MULTI T_NOAPP T_RFC822 T_TEXT T_UNSET "
	  "T_UNSET2" },
	{ "From: a@b.test\r\nTo: c@d.test\r\nSubject: single\r\nContent-Type: text/plain\r\n"
	  "Content-Transfer-Encoding: base64\r\n\r\naGk=\r\n",
	  "M_TEXT T_CTE T_MULTI T_NL T_NOAPP T_TEXT T_UNSET T_UNSET2" },
	{ "From: a@b.test\r\nTo: c@d.test\r\nSubject: none\r\nMIME-Version: 1.0\r\n"
	  "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\n"
	  "Content-Type: application/pdf\r\n\r\nx\r\n--XX--\r\n",
	  "T_APP T_MULTI T_NOTEXT T_UNSET T_UNSET2" },
	/* the last field of a name in a part: Content-Disposition "attachment" */
	{ "From: a@b.test\r\nTo: c@d.test\r\nSubject: two\r\nMIME-Version: 1.0\r\n"
	  "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\nContent-Type: text/plain\r\n"
	  "Content-Disposition: inline\r\nContent-Disposition: attachment\r\n\r\nhi\r\n--XX--\r\n",
	  "M_TEXT T_CD T_MULTI T_NL T_NOAPP T_TEXT T_UNSET T_UNSET2" },
	/* the last field of a name: Subject "bye", not "hello" */
	{ "From: a@b.test\r\nTo: c@d.test\r\nSubject: hello\r\nSubject: bye\r\n"
	  "Content-Type: text/plain\r\n\r\nhi\r\n",
	  "M_TEXT T_MULTI T_NL T_NOAPP T_TEXT T_UNSET T_UNSET2" },
};

START_TEST(mimeheader_parts)
{
	struct engine *e = unit_engine("", MIMEHEADER_SET);
	struct scan *sc = unit_scan(e, mimeheader_cases[_i].msg);
	char got[512] = "";
	static const char *const names[] = {
		"M_TEXT", "T_APP", "T_CD", "T_CTE", "T_ENC", "T_ENCRAW", "T_GIFRAW",
		"T_INNER", "T_INNERSUBJ", "T_MULTI", "T_NL", "T_NOAPP", "T_NOTEXT", "T_RFC822",
		"T_SUBJ", "T_TEXT", "T_UNSET", "T_UNSET2", "T_UNSETRAW",
	};

	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (find_hit(sc, names[k])) {
			if (*got)
				strcat(got, " ");
			strcat(got, names[k]);
		}
	ck_assert_str_eq(got, mimeheader_cases[_i].hits);
	/* not prefiltered: the parts are matched one by one */
	struct rules_pf_info pi;
	rules_prefilter_info(e->rules, &pi);
	ck_assert_uint_eq(pi.regexes, 0);
	scan_free(sc);
	engine_unref(e);
}
END_TEST

/* mimeheader with tflags multiple: the count is the first matching
 * part's, and detail the match; range= is warned about, not taken */
START_TEST(mimeheader_count)
{
	struct engine *e = unit_engine("", "mimeheader T Content-Type =~ /a/\ntflags T multiple\n");
	struct scan *sc = unit_scan(e, "Subject: s\r\nMIME-Version: 1.0\r\n"
				    "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\n"
				    "Content-Type: application/data\r\n\r\nx\r\n--XX--\r\n");
	const struct hit *h = find_hit(sc, "T");
	ck_assert_ptr_nonnull(h);
	ck_assert_str_eq(h->detail, "a (2 hits)");	/* multipart/mixed; boundary="XX" */
	scan_free(sc);
	engine_unref(e);

	struct diag d;
	ck_assert(lint("mimeheader T Content-Type =~ /a/\ntflags T range=2-\n", &d));
	ck_assert_int_eq(d.warnings, 1);
	ck_assert_msg(strstr(d.lines[0], "range=2- is not in parapet") != NULL, "%s", d.lines[0]);
	diag_free(&d);
}
END_TEST

/* rules_sample (the rules benchmark's random curve): exactly n of the
 * regex rules stay, metas and other rules stay, the same seed draws the
 * same rules, seeds draw different ones and every rule in time, and a
 * scan after it hits the rules kept and only them (the prefilter rebuilt) */
#define SAMPLE_SET "body A /alpha/\nbody B /bravo/\nbody C /charlie/\nbody D /delta/\n" \
		   "body E /echo/\nbody F /foxtrot/\nheader G Subject =~ /golf/\n" \
		   "header H Subject =~ /hotel/\nbody I /india/\nbody J /juliet/\n" \
		   "header X exists:Subject\nmeta M X && !A\n"

/* sample_list - the regex rules rules_sample(n, seed) keeps, "A;C;..." */
static void sample_list(size_t n, unsigned long seed, char *out, size_t *count)
{
	struct engine *e = unit_engine("", SAMPLE_SET);
	char all[512] = "";

	rules_sample(e->rules, n, seed);
	rules_each(e->rules, list_rule, all);
	ck_assert_msg(strstr(all, "X header;") && strstr(all, "M meta;"), "%s", all);
	struct scan *sc = unit_scan(e, "Subject: golf hotel\n\nalpha bravo charlie delta echo "
				    "foxtrot india juliet\n");
	*out = '\0';
	*count = 0;
	for (const char *name = "A\0B\0C\0D\0E\0F\0G\0H\0I\0J\0"; *name; name += 2) {
		char item[8];
		snprintf(item, sizeof(item), ";%s ", name);
		bool kept = strncmp(all, item + 1, 2) == 0 || strstr(all, item) != NULL;
		ck_assert_msg(kept == (find_hit(sc, name) != NULL), "%s: kept %d, hit %d", name, kept,
			      find_hit(sc, name) != NULL);
		if (kept) {
			strcat(out, name);
			strcat(out, ";");
			++*count;
		}
	}
	scan_free(sc);
	engine_unref(e);
}

START_TEST(sample_rules)
{
	char a[128], b[128], seen[128] = "";
	size_t n;
	bool differ = false;

	sample_list(4, 1, a, &n);
	ck_assert_uint_eq(n, 4);
	sample_list(4, 1, b, &n);
	ck_assert_str_eq(a, b);
	for (unsigned long seed = 2; seed < 40; seed++) {
		sample_list(4, seed, b, &n);
		ck_assert_uint_eq(n, 4);
		differ |= strcmp(a, b) != 0;
		for (const char *p = b; *p; p += 2)
			if (!strchr(seen, *p))
				seen[strlen(seen)] = *p;	/* seen is zeroed */
	}
	ck_assert_msg(differ, "every seed drew %s", a);
	ck_assert_uint_eq(strlen(seen), 10);
	sample_list(10, 7, a, &n);
	ck_assert_str_eq(a, "A;B;C;D;E;F;G;H;I;J;");
	sample_list(0, 7, a, &n);
	ck_assert_uint_eq(n, 0);
}
END_TEST

/* metas over metas run after their dependencies, whatever the file order */
START_TEST(meta_order)
{
	struct engine *e = unit_engine("", "meta TOP MID * 10\n"
					  "meta MID __X + 1\n"
					  "body __X /x/\n"
					  "score TOP 0.5\n");
	struct scan *sc = unit_scan(e, "Subject: s\n\nx\n");

	ck_assert_str_eq(find_hit(sc, "MID")->detail, "meta=2");
	ck_assert_str_eq(find_hit(sc, "TOP")->detail, "meta=20");
	ck_assert(find_hit(sc, "TOP")->score == 0.5);
	scan_free(sc);
	engine_unref(e);
}
END_TEST

/* lazy_count - rules_eval over body; the non-meta rules that ran, the
 * hits as "NAME=DETAIL;" in got */
static size_t lazy_count(struct ruleset *rs, const char *body, bool subrules, char *got,
			 size_t cap)
{
	struct msg *m = msg_new(65536);
	struct re_scratch *re = re_scratch_new();
	struct hits h = { 0 }, sub = { 0 };

	msg_add_header(m, "Subject", " s");
	msg_end_headers(m);
	msg_add_body(m, body, strlen(body));
	if (subrules)
		h.subrules = &sub;
	size_t ran = rules_eval(rs, m, re, &h, NULL);
	got[0] = '\0';
	for (size_t i = 0; i < h.n; i++)
		snprintf(got + strlen(got), cap - strlen(got), "%s=%s;", h.v[i].name,
			 h.v[i].detail ? h.v[i].detail : "");
	hits_clear(&h);
	hits_clear(&sub);
	re_scratch_free(re);
	msg_free(m);
	return ran;
}

/* one message through a rule set: its body, the non-meta rules that
 * run lazily, the hits */
struct lazy_case {
	const char *body;
	size_t ran;
	const char *want;
};

/* lazy_cases - each case scanned with every rule run (subrules: all
 * total of them, the hits wanted) and lazily (ran of them, the same
 * hits); the set loaded from text, its prefilter on or off */
static void lazy_cases(const char *text, bool prefilter, size_t total,
		       const struct lazy_case *cases, size_t n)
{
	struct diag d;
	char got[512], want[512];

	diag_init(&d);
	struct ruleset *rs = rules_load_text("r.cf", text, unit_builtins(), &d);
	ck_assert_msg(rs != NULL, "%s", d.n ? d.lines[0] : "?");
	rules_set_prefilter(rs, prefilter);
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_eq(lazy_count(rs, cases[i].body, true, want, sizeof(want)), total);
		ck_assert_str_eq(want, cases[i].want);
		ck_assert_uint_eq(lazy_count(rs, cases[i].body, false, got, sizeof(got)), cases[i].ran);
		ck_assert_str_eq(got, want);
	}
	rules_free(rs);
	diag_free(&d);
}

/* a __ rule runs only when a meta reads it: the right side of && after
 * a 0 and of || after a hit are never run, nested metas included; every
 * rule not named __ runs; the hits are those of running everything.
 * The prefilter is off here: with it on, a __ rule whose literals are
 * absent is settled without running at all (lazy_quiet) */
START_TEST(lazy_subrules)
{
	static const char text[] =
		"body __A /aaa/\n"
		"body __B /bbb/\n"
		"body __C /ccc/\n"
		"body __D /ddd/\n"
		"body TOP /zzz/\n"
		"meta AND_M __A && __B\n"
		"meta OR_M __C || __D\n"
		"meta __N __A && __D\n"
		"meta NEST __N || __C\n"
		"meta SUM (__A + __B + __C + __D) > 1\n";
	static const struct lazy_case cases[] = {	/* non-meta rules run: of 5 */
		/* TOP; AND_M: __A (0, __B skipped); OR_M: __C (hit, __D
		 * skipped); __N: __A known; NEST: __C known; SUM: __B, __D */
		{ "ccc\n", 5, "OR_M=meta=1;NEST=meta=1;" },
		/* TOP, __A (0), __C (0), __D (0), then SUM: __B */
		{ "zzz\n", 5, "TOP=zzz;" },
		{ "aaa bbb\n", 5, "AND_M=meta=1;SUM=meta=1;" },
	};
	struct diag d;
	char got[512];

	lazy_cases(text, false, 5, cases, sizeof(cases) / sizeof(cases[0]));
	/* a meta needing none of the SUM line's terms: fewer rules run */
	diag_init(&d);
	struct ruleset *rs = rules_load_text("r.cf", "body __A /aaa/\nbody __B /bbb/\nbody __C /ccc/\n"
			     "meta M __A && (__B || __C)\n", unit_builtins(), &d);
	ck_assert(rs != NULL);
	rules_set_prefilter(rs, false);
	ck_assert_uint_eq(lazy_count(rs, "nothing\n", false, got, sizeof(got)), 1);
	ck_assert_str_eq(got, "");
	ck_assert_uint_eq(lazy_count(rs, "aaa bbb\n", false, got, sizeof(got)), 2);
	ck_assert_str_eq(got, "M=meta=1;");
	ck_assert_uint_eq(lazy_count(rs, "aaa ccc\n", false, got, sizeof(got)), 3);
	ck_assert_str_eq(got, "M=meta=1;");
	ck_assert_uint_eq(lazy_count(rs, "aaa ccc\n", true, got, sizeof(got)), 3);
	rules_set_lazy(rs, false);	/* off: every rule, the same hits */
	ck_assert_uint_eq(lazy_count(rs, "nothing\n", false, got, sizeof(got)), 3);
	ck_assert_uint_eq(lazy_count(rs, "aaa ccc\n", false, got, sizeof(got)), 3);
	ck_assert_str_eq(got, "M=meta=1;");
	rules_free(rs);
	diag_free(&d);
}
END_TEST

/* with the prefilter on, the __ regex rules whose literals the message
 * lacks are settled at 0 (1 when negated) before the metas run, without
 * running: only the non-__ rules and the __ rules whose literals occur
 * run; the hits are those of running everything (subrules on) */
START_TEST(lazy_quiet)
{
	static const char text[] =
		"body __A /aaa/\n"
		"body __B /bbb/\n"
		"body __C /ccc/\n"
		"body __D /d+dd/\n"
		"body TOP /zzz/\n"
		"header HZ Subject =~ /zzzz/\n"
		"header __NS Subject !~ /qqq/\n"
		"header __NT Subject !~ /s/\n"
		"body __E /e/\n"
		/* literals that hold only in an ASCII text (without '&') */
		"body __HA /[a\\xa9]bcd/\n"
		"body __HP /(?:f|\\xc6\\x92)\\W?(?:r|\\xc5\\x99|&\\#345;)\\W?e\\W?e/i\n"
		"meta HIGH_M __HA\n"
		"meta AMP_M __HP\n"
		"meta AND_M __A && __B\n"
		"meta OR_M __C || __D\n"
		"meta NEG_S __NS && !__NT\n"
		"meta SUM (__A + __B + __C + __D + __E) > 1\n";
	static const struct lazy_case cases[] = {	/* non-meta rules run: of 11 */
		/* TOP and HZ (which builds the Subject text), __C (its
		 * literal), __E (no literal: always) and __NT (s: 1 byte,
		 * no literal either); __A, __B, __D and __NS (negated: 1,
		 * so NEG_S hits) settled */
		{ "ccc\n", 5, "OR_M=meta=1;NEG_S=meta=1;" },
		/* TOP, HZ, __NT, __E; the rest settled */
		{ "zzz\n", 4, "TOP=zzz;NEG_S=meta=1;" },
		/* TOP, HZ, __A, __B, __NT, __E; SUM reads __C, __D settled */
		{ "aaa bbb\n", 6, "AND_M=meta=1;NEG_S=meta=1;SUM=meta=1;" },
		/* __D's literal "ddd": it runs, and matches */
		{ "xdddx e\n", 5, "OR_M=meta=1;NEG_S=meta=1;SUM=meta=1;" },
		/* a byte >= 0x80 (Latin-1 here: c3 a9 in the body text): __HA
		 * and __HP run, and __HA matches */
		{ "x \xe9" "bcd y\n", 6, "HIGH_M=meta=1;NEG_S=meta=1;" },
		/* an '&': __HP runs, and matches */
		{ "f&#345;ee\n", 5, "AMP_M=meta=1;NEG_S=meta=1;" },
	};

	lazy_cases(text, true, 11, cases, sizeof(cases) / sizeof(cases[0]));
}
END_TEST

/* the operands of && are read cheapest first (a header rule before a
 * body regex): a 0 from the header rule leaves the body regex unrun; the
 * value is Perl's all the same, so the last operand stays last unless
 * every operand is 1 or 0 */
START_TEST(lazy_cheap_first)
{
	static const char text[] =
		"body __B /b/\n"
		"tflags __B multiple\n"
		"header __H0 Subject =~ /zzz/\n"
		"header __H1 Subject =~ /s/\n"
		"header __H2 Subject =~ /^ ?s/\n"
		"meta SKIP __B && __H0\n";
	static const char text2[] =
		"body __B /b/\n"
		"tflags __B multiple\n"
		"header __H1 Subject =~ /s/\n"
		"header __H2 Subject =~ /^ ?s/\n"
		"meta LAST __B && __H1 && __H2\n"
		"meta KEEP __H1 && __B\n"
		"meta BOOL (__B > 1) && !__H0x\n"
		"header __H0x Subject =~ /zzz/\n";
	struct diag d;
	char got[256];

	diag_init(&d);
	struct ruleset *rs = rules_load_text("r.cf", text, unit_builtins(), &d);
	ck_assert_msg(rs != NULL, "%s", d.n ? d.lines[0] : "?");
	/* __H0 is 0: __B never runs (of __H0, __H1, __H2: only __H0) */
	ck_assert_uint_eq(lazy_count(rs, "bbb\n", false, got, sizeof(got)), 1);
	ck_assert_str_eq(got, "");
	rules_free(rs);
	diag_free(&d);

	diag_init(&d);
	rs = rules_load_text("r.cf", text2, unit_builtins(), &d);
	ck_assert_msg(rs != NULL, "%s", d.n ? d.lines[0] : "?");
	/* __B counts 3; LAST is __H2's 1, KEEP __B's 3, BOOL 1 */
	lazy_count(rs, "bbb\n", false, got, sizeof(got));
	ck_assert_str_eq(got, "LAST=meta=1;KEEP=meta=3;BOOL=meta=1;");
	char all[256];
	lazy_count(rs, "bbb\n", true, all, sizeof(all));
	ck_assert_str_eq(got, all);
	rules_free(rs);
	diag_free(&d);
}
END_TEST

/* bounds of a meta (meta_prog_bound): each name is known (its value) or
 * not (bounds [blo, bhi] around it) */
struct bnd {
	const double *blo, *bhi;
	const unsigned char *known;
};

static void bnd_of(void *ctx, size_t index, double *lo, double *hi)
{
	const struct bnd *b = ctx;

	ck_assert(b->known[index] != 1);
	*lo = b->blo[index];
	*hi = b->bhi[index];
}

static unsigned cost_at(void *ctx, size_t index)
{
	return ((const unsigned *)ctx)[index];
}

/* prog_of - text compiled, name i read from index i, its && chains read
 * cheapest first when costs is not NULL, packed (*e keeps the expression) */
static struct meta_pack *prog_of(const char *text, unsigned *costs, struct meta_expr **e)
{
	char *err = NULL;

	*e = meta_compile(text, &err);
	ck_assert_msg(*e != NULL, "%s: %s", text, err ? err : "?");
	ck_assert_uint_le(meta_nnames(*e), 4);
	for (size_t i = 0; i < meta_nnames(*e); i++)
		meta_bind(*e, i, i);
	if (costs != NULL)
		meta_reorder(*e, cost_at, costs);
	const struct meta_expr *one[1] = { *e };
	return meta_pack_new(one, 1);
}

static const char *const bound_exprs[] = {
	"A && B", "A || B", "!A", "-A + B", "A * B - C", "A / B", "(A + B) * C > 2",
	"A < B", "A <= B", "A > B", "A >= B", "A == B", "A != B",
	"(A || B) && (C || D)", "A && B && C && D", "A || B || C || D",
	"(A && B) || (C && !D)", "(A + B + C + D) > 1 && !(A == B)", "A / (B - C) + D",
	"(A || B) + (C && D) * 2", "!(A && (B || !C)) || D", "(A > 1) + (B < 2) + (C == D)",
	"-(A || -B) * (C - D)", "A && (B || C) && (D > 1)",
};

/* meta_prog_bound: for names known or not (bounds around a value), every
 * set of values within the bounds evaluates (meta_eval) within the
 * bounds it gives, with and without the && chains reordered; fails with
 * a bound taken from the wrong endpoint or an operator left out */
START_TEST(meta_bounds_hold)
{
	static const double pick[] = { 0, 1, 2, 3, -1, 0.5, 7 };
	static unsigned costs[4] = { 3, 0, 2, 1 };
	unsigned seed = 12345;
	size_t exact = 0;

	for (size_t x = 0; x < sizeof(bound_exprs) / sizeof(bound_exprs[0]); x++) {
		for (int ro = 0; ro < 2; ro++) {
			struct meta_expr *e;
			struct meta_pack *pack = prog_of(bound_exprs[x], ro ? costs : NULL, &e);
			size_t need = meta_stack_size(e);
			double *st = xmalloc(2 * need * sizeof(double));
			for (int t = 0; t < 2000; t++) {
				double val[4], blo[4], bhi[4], v2[4];
				unsigned char known[4];
				for (int i = 0; i < 4; i++) {
					val[i] = pick[rand_r(&seed) % 7];
					known[i] = rand_r(&seed) % 3 == 0;
					blo[i] = val[i] - (double)(rand_r(&seed) % 3);
					bhi[i] = val[i] + (double)(rand_r(&seed) % 3) * 0.5;
				}
				struct bnd b = { blo, bhi, known };
				double lo, hi;
				meta_prog_bound(meta_pack_prog(pack, 0), val, known, bnd_of, &b, st, &lo,
						&hi);
				ck_assert_msg(lo <= hi, "%s: [%g, %g]", bound_exprs[x], lo, hi);
				exact += lo == hi;
				for (int k = 0; k < 9; k++) {
					for (int i = 0; i < 4; i++) {
						double f = (double)(rand_r(&seed) % 5) / 4.0;
						v2[i] = known[i] ? val[i] :
							k == 0 ? blo[i] : k == 1 ? bhi[i] :
							blo[i] + f * (bhi[i] - blo[i]);
					}
					double v = meta_eval(e, v2, st);
					ck_assert_msg(v >= lo && v <= hi, "%s%s: %g not in [%g, %g]",
						      bound_exprs[x], ro ? " (reordered)" : "", v, lo, hi);
				}
			}
			free(st);
			meta_pack_free(pack);
			meta_free(e);
		}
	}
	ck_assert_uint_gt(exact, 10000);	/* the bounds meet often */
}
END_TEST

/* bounds that must meet: the value is decided whatever the unknown
 * names are (NAN: a name not known, bounds [lo, hi]); fails when && or
 * || keep the operand that did not decide, or a comparison is loose */
static const struct {
	const char *text;
	double val[2];
	double lo, hi;		/* of each name not known */
	double want;
} meets[] = {
	{ "A && B", { NAN, 0 }, 0, 5, 0 },
	{ "B && A", { NAN, 0 }, 0, 5, 0 },
	{ "(A || B) > 0", { NAN, 3 }, 0, 1, 1 },
	{ "(A || B) != 0", { NAN, 0.5 }, 1, 2, 1 },
	{ "A + B > 5", { NAN, 2 }, 0, 1, 0 },
	{ "A / B", { NAN, 0 }, 0, 9, 0 },
	{ "!A", { NAN, 0 }, 1, 2, 0 },
	{ "A == B", { NAN, 2 }, 0, 1, 0 },
	{ "(A && B) || 4", { NAN, 0 }, 0, 1, 4 },
	{ "A * B", { NAN, 0 }, -3, 3, 0 },
	{ "A < B", { NAN, 1 }, -1, 0.5, 1 },
	{ "A >= B && 7", { NAN, 1 }, 1, 3, 7 },
};

START_TEST(meta_bounds_meet)
{
	const char *text = meets[_i].text;
	struct meta_expr *e;
	struct meta_pack *pack = prog_of(text, NULL, &e);
	double *st = xmalloc(2 * meta_stack_size(e) * sizeof(double));
	double val[2], blo[2], bhi[2], lo, hi;
	unsigned char known[2];

	for (int i = 0; i < 2; i++) {
		known[i] = !isnan(meets[_i].val[i]);
		val[i] = known[i] ? meets[_i].val[i] : 0;
		blo[i] = meets[_i].lo;
		bhi[i] = meets[_i].hi;
	}
	struct bnd b = { blo, bhi, known };
	meta_prog_bound(meta_pack_prog(pack, 0), val, known, bnd_of, &b, st, &lo, &hi);
	ck_assert_msg(lo == meets[_i].want && hi == meets[_i].want, "%s: [%g, %g], want %g", text,
		      lo, hi, meets[_i].want);
	free(st);
	meta_pack_free(pack);
	meta_free(e);
}
END_TEST

/* settle_run - body through a set with settling from `from`: the hits of
 * every rule run (subrules), then lazily; the non-meta rules run lazily */
static size_t settle_run(const char *text, size_t from, const char *body, char *got, size_t cap)
{
	struct diag d;
	char all[512];

	diag_init(&d);
	struct ruleset *rs = rules_load_text("r.cf", text, unit_builtins(), &d);
	ck_assert_msg(rs != NULL, "%s", d.n ? d.lines[0] : "?");
	rules_set_settle(rs, from);
	lazy_count(rs, body, true, all, sizeof(all));
	size_t ran = lazy_count(rs, body, false, got, cap);
	ck_assert_str_eq(got, all);
	rules_free(rs);
	diag_free(&d);
	return ran;
}

/* a __ regex whose run would cost much is left unrun when the other
 * operands decide the scored meta (rules.c, settle): __DEAR is read
 * first, and __CHEAP's 0 (its literal absent) decides; its highest count
 * (maxhits, 1 when negated) decides CAP and NEG; a __ meta being
 * evaluated when settling decided (SECOND) is evaluated again when read
 * later (THIRD), and the hits are those of running everything.  Fails
 * when an abandoned meta stays known (THIRD misses), with a count's
 * bound above maxhits (CAP's __M runs), or with settling off (more run) */
START_TEST(lazy_settle)
{
	static const char one[] =
		"body __DEAR /aaa+/\n"
		"body __CHEAP /bbb/\n"
		"meta FIRST __DEAR && __CHEAP\n";
	static const char two[] =
		"body __DEAR /aaa+/\n"
		"body __OTHER /ccc/\n"
		"body __CHEAP /bbb/\n"
		"meta __SUB __DEAR || __OTHER\n"
		"meta SECOND __SUB && __CHEAP\n"
		"meta THIRD __SUB\n";
	static const char three[] =
		"body __M /mmm/\n"
		"tflags __M multiple maxhits=3\n"
		"header __N Subject !~ /s/\n"
		"tflags __N multiple maxhits=2\n"
		"meta CAP __M > 3\n"
		"meta NEG __N > 1\n";
	static const char four[] =
		"body __M /mmm/\n"
		"tflags __M multiple maxhits=3\n"
		"header __N Subject !~ /nnn/\n"
		"meta SUM __M + __N\n";
	char got[512];

	/* __CHEAP runs (its text not scanned yet, it is not known quiet
	 * before the metas), __DEAR does not */
	ck_assert_uint_eq(settle_run(one, 1, "aaa\n", got, sizeof(got)), 1);
	ck_assert_str_eq(got, "");
	ck_assert_uint_eq(settle_run(one, SIZE_MAX, "aaa\n", got, sizeof(got)), 2);
	ck_assert_uint_eq(settle_run(one, 1, "aaa bbb\n", got, sizeof(got)), 2);
	ck_assert_str_eq(got, "FIRST=meta=1;");
	/* the default: a few bytes of windows are cheap, __DEAR runs */
	ck_assert_uint_eq(settle_run(one, RULES_SETTLE_FROM, "aaa\n", got, sizeof(got)), 2);

	ck_assert_uint_eq(settle_run(two, 1, "aaa\n", got, sizeof(got)), 3);
	ck_assert_str_eq(got, "THIRD=meta=1;");
	ck_assert_uint_eq(settle_run(two, 1, "ccc bbb\n", got, sizeof(got)), 3);
	ck_assert_str_eq(got, "SECOND=meta=1;THIRD=meta=1;");

	ck_assert_uint_eq(settle_run(three, 1, "mmm mmm mmm mmm\n", got, sizeof(got)), 0);
	ck_assert_str_eq(got, "");
	ck_assert_uint_eq(settle_run(three, SIZE_MAX, "mmm mmm mmm mmm\n", got, sizeof(got)), 2);
	ck_assert_uint_eq(settle_run(four, 1, "mmm mmm mmm mmm\n", got, sizeof(got)), 2);
	ck_assert_str_eq(got, "SUM=meta=4;");
}
END_TEST

/* a __ regex whose first literal set occurs but whose second set
 * (reqlit_find2: "invoice" or "cost" after __FRAUD_QFY's "over") does
 * not is known not to match without running (prefilter.c's gates): only
 * OTHER runs; with both, __G runs and GATED hits; the hits are those of
 * running everything.  Fails with the gates off (__G runs on "over"
 * alone) */
/* settle_cases - each body of c scanned over set (settle_run): as many
 * rules run, and the same hits */
struct settle_case {
	const char *body;
	size_t ran;
	const char *hits;
};
static void settle_cases(const char *set, const struct settle_case *c, size_t n)
{
	char got[512];

	for (size_t i = 0; i < n; i++) {
		size_t ran = settle_run(set, SIZE_MAX, c[i].body, got, sizeof(got));
		ck_assert_msg(ran == c[i].ran && strcmp(got, c[i].hits) == 0,
			      "%s: %zu rules run (want %zu), hits \"%s\" (want \"%s\")", c[i].body, ran,
			      c[i].ran, got, c[i].hits);
	}
}

START_TEST(lazy_gate)
{
	static const char set[] =
		"body OTHER /zzzz/\n"
		"body __G /\\bover-? *(?:invoiced?|cost(?:s|ing)?)\\b/i\n"
		"meta GATED __G\n";
	static const struct settle_case c[] = {
		{ "over and over again\n", 1, "" },
		{ "over and over, a cost\n", 2, "" },
		{ "it was over-invoiced\n", 2, "GATED=meta=1;" },
		{ "the cost is over\n", 2, "" },
	};

	settle_cases(set, c, sizeof(c) / sizeof(c[0]));
}
END_TEST

/* a look-alike word whose literals ("ial", in ASCII texts) a text holds
 * but not its run of classes (reqlit_class_run) does not run; it runs
 * where the run is, or where the text has a '&' (entities; the run is
 * not looked for).  Fails without the runs (2 rules run in the first) */
START_TEST(lazy_class_run)
{
	static const char set[] =
		"body OTHER /zzzz/\n"
		"body __R /(?:[ck@]|&\\#99;)(?:[il1!]|&\\#105;)(?:[a4@]|&\\#97;)(?:[l1|]|&\\#108;)"
		"(?:[il1!]|&\\#105;)(?:[s5$]|&\\#115;)/i\n"
		"meta RUNS __R\n";
	static const struct settle_case c[] = {
		{ "a social call\n", 1, "" },
		{ "buy c1a|1s now\n", 2, "RUNS=meta=1;" },
		{ "a social call &amp; more\n", 2, "" },
	};

	settle_cases(set, c, sizeof(c) / sizeof(c[0]));
}
END_TEST

/* rules_set_no_regex (the benchmark's floor): every regex rule counts as
 * no match, prefiltered or not, with a literal or none, so !~ hits and a
 * meta over them reads 0; off again, the hits are back */
START_TEST(no_regex_floor)
{
	struct engine *e = unit_engine("", "body HIT /buy now/\n"
					   "rawbody RAW /[a-z]{3}\\d/\n"
					   "header SUBJ Subject =~ /cheap/\n"
					   "header NEG Subject !~ /cheap/\n"
					   "meta M HIT || SUBJ\n");
	static const char msg[] = "From: a@b.test\nSubject: cheap stuff\n\nbuy now abc1\n";
	static const char *const names[] = { "HIT", "RAW", "SUBJ", "NEG", "M" };
	static const bool hits[] = { true, true, true, false, true };

	for (int k = 0; k < 3; k++) {	/* floor off, on, off again */
		rules_set_no_regex(e->rules, k == 1);
		for (int on = 0; on < 2; on++) {
			rules_set_prefilter(e->rules, on);
			struct scan *sc = unit_scan(e, msg);
			for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
				ck_assert_msg((unit_detail(sc, names[i]) != NULL) == (hits[i] != (k == 1)),
					      "%s: floor %d, prefilter %d", names[i], k == 1, on);
			scan_free(sc);
		}
	}
	engine_unref(e);
}
END_TEST

/* a scored meta is read first in a chain (it has run before any meta
 * that reads it: dependencies first, no cycles): SCORED's 0 leaves __B
 * unrun; the hits and their order are those of running everything.
 * Fails with scored metas pinned where they stand (__B runs) */
START_TEST(lazy_scored_first)
{
	static const char text[] =
		"body __B /bbb/\n"
		"header __H Subject =~ /zzz/\n"
		"meta SCORED __H\n"
		"meta TOP __B && SCORED\n";
	static const char text2[] =
		"body __B /bbb/\n"
		"header __H2 Subject =~ /s/\n"
		"meta SCORED2 __H2\n"
		"meta TOP2 __B && SCORED2\n";
	static const struct lazy_case cases[] = { { "bbb\n", 1, "" } };
	static const struct lazy_case cases2[] = { { "bbb\n", 2, "SCORED2=meta=1;TOP2=meta=1;" } };

	lazy_cases(text, false, 2, cases, 1);
	lazy_cases(text2, false, 2, cases2, 1);
}
END_TEST

/* re_match_upto fails a subject whose rest is shorter than the regex's
 * minimum length without running PCRE2: the answers (and bounds) must
 * be those of the same regex with a branch that fails appended, whose
 * minimum length PCRE2 leaves at 0, for every subject of up to five
 * bytes over the patterns' alphabet, every offset and limit.  Fails with
 * the minimum taken one byte longer */
START_TEST(re_minlen_skip)
{
	static const struct {
		const char *pat, *flags;
	} pats[] = {
		{ "abc", "" }, { "a\\Kbc", "" }, { "(?<=x)yz", "" }, { "(a|bc)\\1", "" },
		{ "ab(*ACCEPT)cd", "" }, { "\\d{3,}", "" }, { "x?", "" }, { "(?=abc)a", "" },
		{ "^ab$", "m" }, { "b.c", "s" }, { "AB", "i" }, { "(?:ab|c){2}", "" },
		{ "\xc3\xa9{2}", "" },
	};
	static const char alpha[] = "abcdxyz1\n\xc3\xa9";
	struct re_scratch *rx = re_scratch_new();
	char *err = NULL;
	size_t tried = 0;

	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
		char ref[128];
		snprintf(ref, sizeof(ref), "(?:%s|(*FAIL))", pats[i].pat);
		struct re *re = re_compile(pats[i].pat, strlen(pats[i].pat), pats[i].flags, &err);
		struct re *rr = re_compile(ref, strlen(ref), pats[i].flags, &err);
		ck_assert_msg(re != NULL && rr != NULL, "%s: %s", pats[i].pat, err ? err : "?");
		char subj[8];
		size_t na = sizeof(alpha) - 1;
		for (size_t len = 0; len <= 5; len++) {
			size_t count = 1;
			for (size_t k = 0; k < len; k++)
				count *= na;
			for (size_t code = 0; code < count; code += 1 + (len >= 4) * 7) {
				size_t c = code;
				for (size_t k = 0; k < len; k++, c /= na)
					subj[k] = alpha[c % na];
				subj[len] = '\0';
				for (size_t off = 0; off <= len; off++) {
					size_t lim = off + (code % 3);
					size_t a1 = 0, b1 = 0, a2 = 0, b2 = 0;
					enum re_result r1 = re_match_upto(re, subj, len, off, lim, rx, &a1, &b1);
					enum re_result r2 = re_match_upto(rr, subj, len, off, lim, rx, &a2, &b2);
					ck_assert_msg(r1 == r2 && (r1 != RE_MATCH || (a1 == a2 && b1 == b2)),
						      "%s on \"%s\" from %zu: %d [%zu, %zu] against %d [%zu, %zu]",
						      pats[i].pat, subj, off, r1, a1, b1, r2, a2, b2);
					tried += r1 == RE_MATCH;
				}
			}
		}
		re_free(re);
		re_free(rr);
	}
	ck_assert_uint_gt(tried, 1000);
	re_scratch_free(rx);
}
END_TEST

/* a repeat whose copies pass PCRE2's 64 KB compiled limit
 * (SpamAssassin's __FILL_THIS_FORM_LONG1 after replace_tag) compiles as
 * calls of one copy, matching what the copies match: B is "a", "ab" or
 * one of 3,000 filler words, ~30 KB compiled; "aaabd" needs the third B
 * to give "a" back for "ab" (a call that does not backtrack would miss
 * it).  A pattern reading a capture is left as it was: beyond the
 * limit.  Fails when the rewrite is dropped (none compiles) or its
 * repeat counts are off by one */
START_TEST(repeat_as_calls)
{
	static const struct {
		const char *rep, *subj;
		long a, b;	/* the match, -1: none */
	} c[] = {
		{ "{3}d", "xaaabdx", 1, 6 },
		{ "{3}d", "aaab", -1, -1 },
		{ "{3}d", "aad", -1, -1 },
		{ "{3}d", "q00007zq02999zabd", 0, 17 },
		{ "{2,}d", "aabd", 0, 4 },
		{ "{2,}d", "ad", -1, -1 },
		{ "{0,3}d", "zd", 1, 2 },
		{ "{0,3}d", "aaad", 0, 4 },
		{ "{0,3}d", "aaaad", 1, 5 },
		{ "{1,3}?d", "aabd", 0, 4 },
		{ "{1,3}?d", "d", -1, -1 },
		{ "{1,3}?", "aaa", 0, 1 },
		{ "{0,3}?a", "aaa", 0, 1 },
		{ "{0,3}a", "aaa", 0, 3 },
	};
	struct buf b;
	struct re_scratch *rx = re_scratch_new();
	char *err = NULL;
	bool limited;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		buf_init(&b);
		buf_puts(&b, "(?:(?:a|ab");
		for (int w = 0; w < 3000; w++)
			buf_printf(&b, "|q%05dz", w);
		buf_printf(&b, "))%s", c[i].rep);
		struct re *re = re_compile_limited(b.data, b.len, "", &err, &limited);
		ck_assert_msg(re != NULL, "%s: %s", c[i].rep, err ? err : "?");
		size_t a = 0, e = 0;
		enum re_result r = re_match(re, c[i].subj, strlen(c[i].subj), 0, rx, &a, &e);
		if (c[i].a < 0)
			ck_assert_msg(r == RE_NOMATCH, "%s on %s: %d [%zu, %zu]", c[i].rep, c[i].subj,
				      r, a, e);
		else
			ck_assert_msg(r == RE_MATCH && a == (size_t)c[i].a && e == (size_t)c[i].b,
				      "%s on %s: %d [%zu, %zu]", c[i].rep, c[i].subj, r, a, e);
		re_free(re);
		buf_free(&b);
	}
	/* a back-reference: not rewritten, still beyond the limit */
	buf_init(&b);
	buf_puts(&b, "(x)(?:(?:a|ab");
	for (int w = 0; w < 3000; w++)
		buf_printf(&b, "|q%05dz", w);
	buf_puts(&b, ")){3}\\1");
	ck_assert_ptr_null(re_compile_limited(b.data, b.len, "", &err, &limited));
	ck_assert(limited);
	free(err);
	buf_free(&b);
	re_scratch_free(rx);
}
END_TEST

/* every rewrite of copies as calls (re_compile_calls: repeats, and
 * groups of 32 bytes or more written twice) matches what the pattern as
 * written matches, at the same place, for every subject of up to five
 * bytes over the patterns' alphabet and every offset; backtracking into
 * a call included ("aabd" for (?:ab|a){3}c's kin).  Fails when a call
 * is made atomic or a repeat count is off by one */
START_TEST(calls_same_matches)
{
#define FG "(?:a|ab|abc|bc|c|ca|cab|d|da|dab|x)"
	static const struct {
		const char *pat, *flags;
	} pats[] = {
		{ "(?:ab|a){3}c", "" }, { "x(?:[a-c]b?){2,}y", "" }, { "(?:(?:ab)+|c){0,3}?d", "" },
		{ "(?:a(?=b)|b|ca){2}d?", "" }, { FG FG "d", "" }, { FG "{2}" FG, "" },
		{ "(?:AB|a){2,3}C", "i" }, { "(?:(?:a|b){2}c){2}", "" }, { "(?:ab|a){1,3}?b", "" },
		{ "(?:ab|a|b){2,}$", "m" },
	};
#undef FG
	static const char alpha[] = "abcdxy";
	struct re_scratch *rx = re_scratch_new();
	char *err = NULL;
	size_t tried = 0;

	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
		struct re *re = re_compile(pats[i].pat, strlen(pats[i].pat), pats[i].flags, &err);
		struct re *rc = re_compile_calls(pats[i].pat, strlen(pats[i].pat), pats[i].flags, &err);
		ck_assert_msg(re != NULL && rc != NULL, "%s: %s", pats[i].pat, err ? err : "?");
		char subj[8];
		size_t na = sizeof(alpha) - 1;
		for (size_t len = 0; len <= 5; len++) {
			size_t count = 1;
			for (size_t k = 0; k < len; k++)
				count *= na;
			for (size_t code = 0; code < count; code++) {
				size_t c = code;
				for (size_t k = 0; k < len; k++, c /= na)
					subj[k] = alpha[c % na];
				subj[len] = '\0';
				for (size_t off = 0; off <= len; off++) {
					size_t a1 = 0, b1 = 0, a2 = 0, b2 = 0;
					enum re_result r1 = re_match(re, subj, len, off, rx, &a1, &b1);
					enum re_result r2 = re_match(rc, subj, len, off, rx, &a2, &b2);
					ck_assert_msg(r1 == r2 && (r1 != RE_MATCH || (a1 == a2 && b1 == b2)),
						      "%s on \"%s\" from %zu: %d [%zu, %zu] with calls %d [%zu, %zu]",
						      pats[i].pat, subj, off, r1, a1, b1, r2, a2, b2);
					tried += r1 == RE_MATCH;
				}
			}
		}
		re_free(re);
		re_free(rc);
	}
	ck_assert_uint_gt(tried, 1000);
	re_scratch_free(rx);
}
END_TEST

/* a body rule's matches (match_count over the whole text, the regex
 * compiled as for a body rule: m and L) against SpamAssassin's, each line
 * with its break matched on its own, for every text of up to six bytes
 * over "ab \n" and patterns ending in $ (one that can match empty among
 * them).  Fails without the final $ rewrite (a\s$ on "a\nb"); final_dollar
 * has the case of a pattern that can match empty at a line's start */
START_TEST(final_dollar_lines)
{
	static const char *const pats[] = { "a\\s$", "(?:ab|b)\\s{0,2}$", "b$", "(?:a|b\\s)$",
		"a\\s*$", "\\s$", "[ab]+ ?$", "(?:x|a\\s)$|zz", "(a|b)\\s(?:$)", "a?$" };
	static const char alpha[] = "ab \n";
	struct re_scratch *rx = re_scratch_new();
	struct msg *m = msg_new(1024);
	char *err = NULL;
	size_t hits = 0;

	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
		struct re *body = re_compile(pats[i], strlen(pats[i]), "mL", &err);
		struct re *line = re_compile(pats[i], strlen(pats[i]), "m", &err);
		ck_assert_msg(body != NULL && line != NULL, "%s: %s", pats[i], err ? err : "?");
		char t[8];
		for (size_t len = 1; len <= 6; len++) {
			size_t count = 1;
			for (size_t k = 0; k < len; k++)
				count *= 4;
			for (size_t code = 0; code < count; code++) {
				size_t c = code;
				for (size_t k = 0; k < len; k++, c /= 4)
					t[k] = alpha[c % 4];
				t[len] = '\0';
				bool want = false;
				for (size_t ls = 0; ls < len && !want;) {
					const char *nl = memchr(t + ls, '\n', len - ls);
					size_t le = nl ? (size_t)(nl - t) + 1 : len, a, b;
					want = re_match(line, t + ls, le - ls, 0, rx, &a, &b) == RE_MATCH;
					ls = le;
				}
				size_t a = 0, b = 0;
				bool got = match_count(body, "T", m, rx, t, len, 0, NULL, 0, 1, true, &a,
						       &b) > 0;
				ck_assert_msg(got == want, "%s on \"%s\": %d, line by line %d", pats[i],
					      t, got, want);
				hits += want;
			}
		}
		re_free(body);
		re_free(line);
	}
	ck_assert_uint_gt(hits, 1000);
	msg_free(m);
	re_scratch_free(rx);
}
END_TEST

/* chain - n metas, each naming the one before; the first reads __X0 or
 * (only when __X0 is 0) __Z; the ruleset, or NULL */
static struct ruleset *chain(int n, struct diag *d)
{
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "body __X0 /x0/\nbody __Y /yyy/\nbody __Z /zzz/\nmeta __M0 __X0 || __Z\n");
	for (int k = 1; k <= n; k++)
		buf_printf(&b, "meta __M%d __M%d && !__Y\n", k, k - 1);
	buf_printf(&b, "meta DEEP __M%d\nmeta SHALLOW __Y && __X0\n", n);
	diag_init(d);
	struct ruleset *rs = rules_load_text("r.cf", b.data, unit_builtins(), d);
	buf_free(&b);
	return rs;
}

/* metas nested deeper than the lazy evaluation recurses (64): every rule
 * runs, with the right values; a short chain is lazy */
START_TEST(lazy_deep_chain)
{
	static const int lengths[] = { 5, 70 };
	struct diag d;
	char got[256];

	for (int i = 0; i < 2; i++) {
		struct ruleset *rs = chain(lengths[i], &d);
		ck_assert_msg(rs != NULL, "%s", d.n ? d.lines[0] : "?");
		/* __Z runs only when every rule does */
		ck_assert_uint_eq(lazy_count(rs, "x0\n", false, got, sizeof(got)), i ? 3 : 2);
		ck_assert_str_eq(got, "DEEP=meta=1;");
		ck_assert_uint_eq(lazy_count(rs, "x0 yyy\n", false, got, sizeof(got)), i ? 3 : 2);
		ck_assert_str_eq(got, "SHALLOW=meta=1;");
		ck_assert_uint_eq(lazy_count(rs, "zzz\n", false, got, sizeof(got)), 3);
		ck_assert_str_eq(got, "DEEP=meta=1;");
		rules_free(rs);
		diag_free(&d);
	}
}
END_TEST

/* the built-in names are the ones the rule set is loaded with: every
 * shipped stage's descriptor lists its own, and nothing else is built in */
START_TEST(builtins_from_descriptors)
{
	static const char *const mine[] = { "MY_STAGE_HIT", NULL };
	const char **names = stage_symbol_names(stage_registry);
	struct diag d;
	size_t n = 0;

	for (; names[n]; n++)
		ck_assert_msg(stage_symbol_desc(stage_registry, names[n]) != NULL,
			      "%s has no description", names[n]);
	ck_assert_uint_ge(n, 37);
	ck_assert(stage_symbol_desc(stage_registry, "HEADERS_TRUNCATED") != NULL);
	ck_assert(stage_symbol_desc(stage_registry, "GREYLIST") != NULL);
	ck_assert(stage_symbol_desc(stage_registry, "NOT_A_BUILTIN") == NULL);
	free(names);

	diag_init(&d);
	struct ruleset *rs = rules_load_text("r.cf", "body MY_STAGE_HIT /x/\n", mine, &d);
	ck_assert_ptr_null(rs);
	ck_assert_int_eq(d.errors, 1);
	diag_free(&d);
	/* SPF_PASS is a built-in only because the spf descriptor says so */
	diag_init(&d);
	rs = rules_load_text("r.cf", "body SPF_PASS /x/\n", mine, &d);
	ck_assert_ptr_nonnull(rs);
	ck_assert_int_eq(d.errors, 0);
	rules_free(rs);
	diag_free(&d);
}
END_TEST

/* a meta over built-in symbols reads what earlier stages added */
START_TEST(meta_builtin)
{
	struct engine *e = unit_engine("", "meta SPF_ONLY SPF_PASS && !DKIM_VALID\n"
					  "meta BOTH SPF_PASS && DKIM_VALID\n"
					  "score SPF_PASS -0.1\n");
	struct scan *sc = scan_new(e);
	const char *msg = "Subject: s\n\nhello\n";

	mboxfile_feed(sc, msg, strlen(msg));
	scan_add_builtin(sc, "SPF_PASS", NULL);	/* as an SPF stage would */
	scan_finish(sc);
	ck_assert_ptr_nonnull(find_hit(sc, "SPF_ONLY"));
	ck_assert_ptr_null(find_hit(sc, "BOTH"));
	ck_assert(find_hit(sc, "SPF_PASS")->score == -0.1);
	scan_free(sc);
	/* without the stage the meta reads 0 */
	sc = unit_scan(e, msg);
	ck_assert_ptr_null(find_hit(sc, "SPF_ONLY"));
	scan_free(sc);
	engine_unref(e);
}
END_TEST

/* every problem of a file is reported, not only the first */
START_TEST(all_diagnostics)
{
	struct diag d;

	ck_assert(!lint("body A /(/\n"
			"meta B A || NOPE\n"
			"score C x\n"
			"meta D D\n"
			"tflags A bogus\n", &d));
	ck_assert_int_eq(d.errors, 4);
	ck_assert_int_eq(d.warnings, 1);
	const char *want[] = { "r.cf:1: error: bad regex", "r.cf:2: error: meta B: unknown rule NOPE",
			       "r.cf:3: error: score C:", "r.cf:4: error: meta D: circular dependency D -> D",
			       "r.cf:5: warning: tflags A: unknown flag 'bogus'" };
	for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
		bool found = false;
		for (size_t i = 0; i < d.n; i++)
			found |= strncmp(d.lines[i], want[w], strlen(want[w])) == 0;
		ck_assert_msg(found, "missing: %s", want[w]);
	}
	diag_free(&d);
}
END_TEST

/* rules SpamAssassin defines in forms parapet does not run count 0 in a
 * meta, with a warning instead of an unknown-name error */
START_TEST(meta_over_skipped)
{
	struct diag d;

	ck_assert(lint("header __E eval:check_something()\n"
		       "ifplugin Mail::SpamAssassin::Plugin::Foo\n"
		       "body __P /x/\n"
		       "endif\n"
		       "meta M __E || __P\n", &d));
	ck_assert_int_eq(d.errors, 0);
	ck_assert_int_eq(d.warnings, 0);
	ck_assert_int_eq(d.skipped, 5);	/* eval, ifplugin, __P, two names in M */
	diag_free(&d);
	d.verbose = true;
	struct ruleset *rs = rules_load_text("r.cf", "header __E eval:check_something()\nmeta M __E\n",
					     unit_builtins(), &d);
	ck_assert_ptr_nonnull(rs);
	rules_free(rs);
	ck_assert_str_eq(d.lines[1], "r.cf:2: skipped: meta M: __E (r.cf:1) is not run by parapet and counts 0 [meta term parapet skips (counts 0)]");
	diag_free(&d);
}
END_TEST

/* ---------------------------------------------------------------- tflags */

START_TEST(tflags_multiple)
{
	struct engine *e = unit_engine("", "body __X /x/\n"
					  "tflags __X multiple maxhits=3\n"
					  "meta COUNT __X\n"
					  "meta GE3 __X >= 3\n"
					  "meta GE4 __X >= 4\n"
					  "body __Y /y/\n"
					  "tflags __Y multiple\n"
					  "meta YS __Y\n"
					  "body SEEN /z/\n"
					  "tflags SEEN multiple\n"
					  "score SEEN 2\n");
	size_t n = 1500;
	char *msg = xmalloc(n * 2 + 64);

	strcpy(msg, "Subject: s\n\nx x x x x z z z\n");
	size_t o = strlen(msg);
	for (size_t i = 0; i < n; i++) {	/* more y than the default cap */
		msg[o++] = 'y';
		msg[o++] = ' ';
	}
	strcpy(msg + o, "\n");
	struct scan *sc = unit_scan(e, msg);
	ck_assert_str_eq(find_hit(sc, "COUNT")->detail, "meta=3");	/* maxhits */
	ck_assert_ptr_nonnull(find_hit(sc, "GE3"));
	ck_assert_ptr_null(find_hit(sc, "GE4"));
	ck_assert_str_eq(find_hit(sc, "YS")->detail, "meta=1000");	/* default cap */
	/* a reported multiple rule: listed once, scored once */
	ck_assert_str_eq(find_hit(sc, "SEEN")->detail, "z (3 hits)");
	size_t seen = 0;
	for (size_t i = 0; i < sc->hits.n; i++)
		seen += strcmp(sc->hits.v[i].name, "SEEN") == 0;
	ck_assert_uint_eq(seen, 1);
	scan_free(sc);
	free(msg);
	engine_unref(e);
}
END_TEST

START_TEST(tflags_warnings)
{
	struct diag d;

	ck_assert(lint("body A /a/\n"
		       "tflags A net nice learn userconf noautolearn publish a range=1-2\n"
		       "tflags A multiple frobnicate\n"
		       "tflags A maxhits=5\n"
		       "tflags A multiple maxhits=0\n"
		       "tflags NOSUCH multiple\n", &d));
	ck_assert_int_eq(d.errors, 0);
	ck_assert_int_eq(d.warnings, 5);
	ck_assert_str_eq(d.lines[0], "r.cf:2: warning: tflags A: range=1-2 is not in parapet "
				     "(a mimeheader rule reads every part), ignored");
	ck_assert_str_eq(d.lines[1], "r.cf:3: warning: tflags A: unknown flag 'frobnicate', ignored");
	ck_assert_str_eq(d.lines[2], "r.cf:4: warning: tflags A: maxhits has no effect without multiple");
	ck_assert_str_eq(d.lines[3], "r.cf:5: warning: tflags A: 'maxhits=0' needs a positive number, ignored");
	ck_assert_str_eq(d.lines[4], "r.cf:6: warning: tflags NOSUCH: no rule has that name (a typo?)");
	diag_free(&d);
}
END_TEST

/* nosubject: body rules skip the Subject line */
START_TEST(tflags_nosubject)
{
	struct engine *e = unit_engine("", "body WITH /money/\nbody WITHOUT /money/\n"
					  "tflags WITHOUT nosubject\n");
	struct scan *sc = unit_scan(e, "Subject: money\n\nhello\n");

	ck_assert_ptr_nonnull(find_hit(sc, "WITH"));
	ck_assert_ptr_null(find_hit(sc, "WITHOUT"));
	scan_free(sc);
	sc = unit_scan(e, "Subject: x\n\nmoney\n");
	ck_assert_ptr_nonnull(find_hit(sc, "WITHOUT"));
	scan_free(sc);
	engine_unref(e);
}
END_TEST

/* ---------------------------------------------------------------- scores */

START_TEST(score_edges)
{
	struct engine *e = unit_engine("",
		"body A /a/\nscore A 2\nscore A (1)\n"		/* relative: 3 */
		"body B /a/\nscore B 2\nscore B (0)\n"		/* relative 0: unchanged */
		"body C /a/\nscore C -1.5\n"
		"body T_D /a/\n"				/* testing rule: 0.01 */
		"body E /a/\ntflags E nice\n"			/* nice: -1 */
		"body OFF /a/\nscore OFF 0\n"			/* disabled */
		"meta SEES_OFF OFF || 0\n"
		"body __S /a/\n"
		"body F /a/\nscore F 1 2 3 4\nscore F (1) (1) (1) (1)\n");
	double s;
	const char *d;

	ck_assert(rules_symbol(e->rules, "A", &s, &d) && s == 3.0);
	ck_assert(rules_symbol(e->rules, "B", &s, &d) && s == 2.0);
	ck_assert(rules_symbol(e->rules, "C", &s, &d) && s == -1.5);
	ck_assert(rules_symbol(e->rules, "T_D", &s, &d) && s == 0.01);
	ck_assert(rules_symbol(e->rules, "E", &s, &d) && s == -1.0);
	ck_assert(rules_symbol(e->rules, "F", &s, &d) && s == 3.0);	/* set 1 */
	ck_assert(rules_symbol(e->rules, "__S", &s, &d) && s == 0.0);
	ck_assert_uint_eq(rules_count(e->rules), 8);	/* all 9 but OFF */
	struct scan *sc = unit_scan(e, "Subject: s\n\na\n");
	ck_assert_ptr_null(find_hit(sc, "OFF"));	/* score 0: not run */
	ck_assert_ptr_null(find_hit(sc, "SEES_OFF"));	/* and reads 0 */
	ck_assert(find_hit(sc, "C")->score == -1.5);
	ck_assert(sc->hits.score == 3.0 + 2.0 - 1.5 + 0.01 - 1.0 + 3.0);
	scan_free(sc);
	engine_unref(e);
}
END_TEST

START_TEST(score_unknown_warns)
{
	struct diag d;

	ck_assert(lint("body A /a/\nscore A 1\nscore SPF_FAIL 3\nscore TYPO_RULE 2\n"
		       "header SKIP eval:x()\nscore SKIP 1\n", &d));
	ck_assert_int_eq(d.warnings, 1);	/* TYPO_RULE; the eval is a skip */
	ck_assert_str_eq(d.lines[0], "r.cf:4: warning: score TYPO_RULE: no rule or built-in symbol has that name (a typo?)");
	diag_free(&d);
}
END_TEST

/* ---------------------------------------------------------------- include */

/* put - write text to dir/rel */
static void put(const char *dir, const char *rel, const char *text)
{
	char *path = xasprintf("%s/%s", dir, rel);
	FILE *fp = fopen(path, "w");

	ck_assert_ptr_nonnull(fp);
	fputs(text, fp);
	fclose(fp);
	free(path);
}

/* rm_tree - remove the files the include tests wrote */
static void rm_tree(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
}

START_TEST(include_files)
{
	char dir[] = "/tmp/parapet-rules-XXXXXX";
	struct diag d;
	double s;
	const char *desc;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	char *sub = xasprintf("%s/sub", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	put(dir, "main.cf", "body MAIN /m/\ninclude sub/one.cf\nmeta BOTH MAIN && ONE && TWO\n");
	put(dir, "sub/one.cf", "body ONE /o/\ninclude two.inc\n");	/* relative to sub/ */
	put(dir, "sub/two.inc", "body TWO /t/\nscore TWO 4\n");
	diag_init(&d);
	struct ruleset *rs = rules_load(dir, unit_builtins(), &d);
	ck_assert_msg(rs != NULL, "%s", d.n ? d.lines[0] : "?");
	ck_assert_int_eq(d.errors + d.warnings, 0);
	ck_assert(rules_symbol(rs, "TWO", &s, &desc) && s == 4.0);
	ck_assert_uint_eq(rules_count(rs), 4);
	rules_free(rs);
	diag_free(&d);

	/* a missing file is an error at the include line */
	put(dir, "main.cf", "body MAIN /m/\n\ninclude nope.cf\n");
	diag_init(&d);
	ck_assert_ptr_null(rules_load(dir, unit_builtins(), &d));
	char *want = xasprintf("%s/main.cf:3: error: include %s/nope.cf: cannot open: ", dir, dir);
	ck_assert_msg(d.n == 1 && strncmp(d.lines[0], want, strlen(want)) == 0, "%s", d.lines[0]);
	free(want);
	diag_free(&d);

	/* a directory (or a FIFO, a device) is refused, not read or waited on */
	put(dir, "main.cf", "include sub\n");
	diag_init(&d);
	ck_assert_ptr_null(rules_load(dir, unit_builtins(), &d));
	want = xasprintf("%s/main.cf:1: error: include %s/sub: not a regular file", dir, dir);
	ck_assert_msg(d.n == 1 && strcmp(d.lines[0], want) == 0, "%s", d.lines[0]);
	free(want);
	diag_free(&d);

	/* a loop is an error, not a stack overflow */
	put(dir, "main.cf", "include sub/loop.inc\n");
	put(dir, "sub/loop.inc", "body L /l/\ninclude ../main.cf\n");
	diag_init(&d);
	ck_assert_ptr_null(rules_load(dir, unit_builtins(), &d));
	want = xasprintf("%s/sub/loop.inc:2: error: include ../main.cf: include loop", dir);
	ck_assert_msg(d.n == 1 && strncmp(d.lines[0], want, strlen(want)) == 0, "%s", d.lines[0]);
	free(want);
	diag_free(&d);

	/* a chain deeper than 10 stops at the 11th include */
	put(dir, "main.cf", "include sub/d1.inc\n");
	for (int i = 1; i <= 12; i++) {
		char name[32], text[64];
		snprintf(name, sizeof(name), "sub/d%d.inc", i);
		snprintf(text, sizeof(text), "body D%d /d/\ninclude d%d.inc\n", i, i + 1);
		put(dir, name, text);
	}
	diag_init(&d);
	ck_assert_ptr_null(rules_load(dir, unit_builtins(), &d));
	want = xasprintf("%s/sub/d10.inc:2: error: include d11.inc: nested more than 10 deep", dir);
	ck_assert_msg(d.n == 1 && strcmp(d.lines[0], want) == 0, "%s", d.lines[0]);
	free(want);
	diag_free(&d);

	/* includes inside a false if block are not read */
	put(dir, "main.cf", "ifplugin Foo\ninclude nope.cf\nendif\nbody OK /ok/\n");
	diag_init(&d);
	rs = rules_load(dir, unit_builtins(), &d);
	ck_assert_ptr_nonnull(rs);
	rules_free(rs);
	diag_free(&d);
	rm_tree(dir);
	free(sub);
}
END_TEST

/* ---------------------------------------------------------------- replace */

static const struct {
	const char *rules;
	const char *body;
	const char *want;	/* detail of R, or NULL: no hit */
} replaces[] = {
	{ "replace_tag V [vu]\nreplace_tag I [i1!]\nbody R /<V><I>agra/i\nreplace_rules R\n",
	  "buy V1agra now", "V1agra" },
	/* the tags may be defined after the rule and replace_rules */
	{ "body R /<V>x/\nreplace_rules R\nreplace_tag V [vu]\n", "ux", "ux" },
	/* without replace_rules the text stays literal */
	{ "replace_tag V [vu]\nbody R /<V>x/\n", "ux", NULL },
	{ "replace_tag V [vu]\nbody R /<V>x/\n", "<V>x", "<V>x" },
	/* unknown tags stay as written */
	{ "body R /<NOPE>x/\nreplace_rules R\n", "<NOPE>x", "<NOPE>x" },
	/* tags inside tags */
	{ "replace_tag AB <A><B>\nreplace_tag A a\nreplace_tag B b\nbody R /<AB>c/\nreplace_rules R\n",
	  "abc", "abc" },
	/* pre, inter and post (SpamAssassin's 25_replace.cf style) */
	{ "replace_tag A a\nreplace_tag B b\nreplace_inter W \\W?\nreplace_post P {1,2}\n"
	  "body R /<inter W><post P><A><B>/\nreplace_rules R\n", "aa-bb", "aa-bb" },
	{ "replace_tag A a\nreplace_pre X \\bz\nbody R /<pre X><A>/\nreplace_rules R\n", "za", "za" },
	{ "replace_tag A a\nreplace_pre X \\bz\nbody R /<pre X><A>/\nreplace_rules R\n", "a", NULL },
	/* other delimiters */
	{ "replace_start %{\nreplace_end }\nreplace_tag V [vu]\nbody R /%{V}x/\nreplace_rules R\n",
	  "vx", "vx" },
	/* header rules too */
	{ "replace_tag V [vu]\nheader R Subject =~ /^<V>$/\nreplace_rules R\n", "", "v" },
};

START_TEST(replace_tags)
{
	struct engine *e = unit_engine("", replaces[_i].rules);
	char *msg = xasprintf("Subject: v\n\n%s\n", replaces[_i].body);
	struct scan *sc = unit_scan(e, msg);
	const struct hit *h = find_hit(sc, "R");

	if (replaces[_i].want == NULL) {
		ck_assert_msg(h == NULL, "case %d: hit %s", _i, h && h->detail ? h->detail : "-");
	} else {
		ck_assert_msg(h != NULL, "case %d: no hit", _i);
		ck_assert_str_eq(h->detail, replaces[_i].want);
	}
	scan_free(sc);
	free(msg);
	engine_unref(e);
}
END_TEST

START_TEST(replace_unknown_rule)
{
	struct diag d;

	ck_assert(lint("meta M 1\nreplace_rules NOPE M\n", &d));
	ck_assert_int_eq(d.warnings, 2);
	ck_assert_str_eq(d.lines[0], "r.cf:2: warning: replace_rules: no rule named NOPE");
	ck_assert_str_eq(d.lines[1], "r.cf:2: warning: replace_rules: M has no regex");
	diag_free(&d);
}
END_TEST

/* ---------------------------------------------------------------- if */

START_TEST(conditionals)
{
	struct diag d;
	const char *text =
		"if (version >= 3.004000)\nbody V1 /a/\nendif\n"	/* 4.0.1: true */
		"if version < 3.004000\nbody V2 /a/\nelse\nbody V3 /a/\nendif\n"
		"if (version > 4.000001)\nbody V4 /a/\nendif\n"	/* exactly 4.0.1 */
		"ifplugin Mail::SpamAssassin::Plugin::DKIM\nbody V5 /a/\nelse\nbody V6 /a/\nendif\n"
		"if can(Mail::SpamAssassin::Conf::feature_x)\nbody V7 /a/\nendif\n"
		"if !plugin(Mail::SpamAssassin::Plugin::X)\nbody V8 /a/\nendif\n"
		"if perl_version >= 5.010000\nbody V9 /a/\nendif\n"
		"if version >= 3.000000\nif (version >= 9)\nbody V10 /a/\nendif\nbody V11 /a/\nendif\n"
		"lang de describe V1 Deutsch\n";
	/* DKIM is a plugin parapet implements; feature_x is no feature */
	static const char *const present[] = { "V1", "V3", "V5", "V8", "V9", "V11" };
	static const char *const absent[] = { "V2", "V4", "V6", "V7", "V10" };

	ck_assert(lint(text, &d));
	ck_assert_int_eq(d.warnings, 0);
	diag_free(&d);
	/* every V rule matches: the loaded ones hit */
	struct engine *e = unit_engine("", text);
	struct scan *sc = unit_scan(e, "Subject: s\n\na\n");
	for (size_t i = 0; i < sizeof(present) / sizeof(present[0]); i++)
		ck_assert_msg(find_hit(sc, present[i]) != NULL, "%s not loaded", present[i]);
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
		ck_assert_msg(find_hit(sc, absent[i]) == NULL, "%s loaded", absent[i]);
	ck_assert_ptr_null(find_hit(sc, "V1")->desc);	/* the lang line is ignored */
	ck_assert_uint_eq(rules_count(e->rules), 6);
	scan_free(sc);
	engine_unref(e);
}
END_TEST

/* ---------------------------------------------------------------- uri */

START_TEST(uri_rules)
{
	struct engine *e = unit_engine("", "uri URI_EX /example\\.(?:com|net)/\n"
					  "uri __ANY /^https?:/\n"
					  "tflags __ANY multiple\n"
					  "meta TWO_URIS __ANY >= 2\n"
					  "uri NO /nomatch/\n");
	struct scan *sc = unit_scan(e, "Subject: s\n\nsee http://www.example.com/a and\n"
				       "https://other.org/b\n");

	ck_assert_ptr_nonnull(find_hit(sc, "URI_EX"));
	ck_assert_str_eq(find_hit(sc, "URI_EX")->detail, "http://www.example.com/a");
	ck_assert_ptr_nonnull(find_hit(sc, "TWO_URIS"));
	ck_assert_ptr_null(find_hit(sc, "NO"));
	scan_free(sc);
	engine_unref(e);
}
END_TEST


/* ---------------------------------------------------------------- one From */

/*
 * One From value, one answer (issue 13): DMARC's From domain, the
 * reputation from key and log address and a From:addr rule all read
 * the mailbox, never the "<bob@evil.example>" a comment holds.
 */
static const struct {
	const char *from, *domain, *addr, *name;
} one_from[] = {
	{ "x@good.example (Bob <bob@evil.example>)", "good.example", "x@good.example",
	  "Bob <bob@evil.example>" },
	{ "\"Eve <e@evil.example>\" <x@good.example>", "good.example", "x@good.example",
	  "Eve <e@evil.example>" },
	{ "Bob (<b@evil.example>) <x@good.example>", "good.example", "x@good.example",
	  "Bob" },
	{ "\"a@evil.example\"@good.example", "good.example",
	  "\"a@evil.example\"@good.example", "" },
	{ "Team: Bob <x@good.example>, c@evil.example;", "good.example",
	  "x@good.example, c@evil.example", "Bob" },
};

START_TEST(one_from_answer)
{
	const char *from = one_from[_i].from;
	char text[512], dom[AUTH_DOMAIN_SIZE], addr[256];
	struct rep_keys keys;

	snprintf(text, sizeof(text), "From: %s\nDate: x\n\nhi\n", from);
	struct engine *e = unit_engine("", "header EVIL From:addr =~ /evil/\n"
				       "header GOOD From:addr =~ /good/\n"
				       "header NAME From:name =~ /./\n");
	struct scan *sc = unit_scan(e, text);

	/* the rules first */
	ck_assert_msg(scan_has(sc, "GOOD"), "%s: From:addr /good/ missed", from);
	/* evil only where the address itself says so */
	ck_assert_msg(scan_has(sc, "EVIL") == (strstr(one_from[_i].addr, "evil") != NULL),
		      "%s: From:addr /evil/", from);
	/* DMARC's view */
	auth_from_domain(sc->msg, dom, sizeof(dom));
	ck_assert_str_eq(dom, one_from[_i].domain);
	auth_addr_parse(from, addr, sizeof(addr), dom, sizeof(dom));
	ck_assert_str_eq(dom, one_from[_i].domain);
	/* reputation: the from key, the domain of a value, the log */
	rep_keys_of(sc->msg, NULL, 0, &keys);
	bool found = false;
	for (size_t i = 0; i < keys.n; i++)
		if (keys.k[i].kind == REP_KIND_FROM) {
			ck_assert_str_eq(keys.k[i].value, one_from[_i].domain);
			found = true;
		}
	rep_keys_clear(&keys);
	ck_assert(found);
	char *v = rep_domain_value(from);
	ck_assert_str_eq(v, one_from[_i].domain);
	free(v);
	v = rep_log_from(sc->msg);
	ck_assert_str_eq(v, strchr(from, ',') ? "x@good.example" : one_from[_i].addr);
	free(v);
	/* the rules */
	struct buf b;
	buf_init(&b);
	auth_addr_list(from, false, &b);
	ck_assert_str_eq(b.data ? b.data : "", one_from[_i].addr);
	buf_reset(&b);
	auth_addr_list(from, true, &b);
	ck_assert_str_eq(b.data ? b.data : "", one_from[_i].name);
	buf_free(&b);
	ck_assert(scan_has(sc, "NAME") == (one_from[_i].name[0] != '\0'));
	scan_free(sc);
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
	tcase_add_test(tc, field_name_case);
	tcase_add_test(tc, folded_blanks);
	tcase_add_test(tc, final_dollar);
	tcase_add_loop_test(tc, one_from_answer, 0, sizeof(one_from) / sizeof(one_from[0]));
	tcase_add_test(tc, score_sets_and_default);
	tcase_add_test(tc, catastrophic_regex_bounded);
	tcase_add_loop_test(tc, meta_eval_table, 0, sizeof(metas) / sizeof(metas[0]));
	tcase_add_test(tc, meta_order);
	tcase_add_test(tc, lazy_subrules);
	tcase_add_test(tc, lazy_quiet);
	tcase_add_test(tc, lazy_deep_chain);
	tcase_add_test(tc, lazy_cheap_first);
	tcase_add_test(tc, meta_bounds_hold);
	tcase_add_loop_test(tc, meta_bounds_meet, 0, sizeof(meets) / sizeof(meets[0]));
	tcase_add_test(tc, lazy_settle);
	tcase_add_test(tc, lazy_gate);
	tcase_add_test(tc, lazy_class_run);
	tcase_add_test(tc, no_regex_floor);
	tcase_add_test(tc, sample_rules);
	tcase_add_loop_test(tc, mimeheader_parts, 0, sizeof(mimeheader_cases) / sizeof(mimeheader_cases[0]));
	tcase_add_test(tc, mimeheader_count);
	tcase_add_test(tc, lazy_scored_first);
	tcase_add_test(tc, re_minlen_skip);
	tcase_add_test(tc, repeat_as_calls);
	tcase_add_test(tc, calls_same_matches);
	tcase_add_test(tc, final_dollar_lines);
	tcase_add_test(tc, subrules_listed);
	tcase_add_test(tc, each_rule_listed);
	tcase_add_test(tc, meta_builtin);
	tcase_add_test(tc, builtins_from_descriptors);
	tcase_add_test(tc, all_diagnostics);
	tcase_add_test(tc, meta_over_skipped);
	tcase_add_test(tc, tflags_multiple);
	tcase_add_test(tc, tflags_warnings);
	tcase_add_test(tc, tflags_nosubject);
	tcase_add_test(tc, score_edges);
	tcase_add_test(tc, score_unknown_warns);
	tcase_add_test(tc, include_files);
	tcase_add_loop_test(tc, replace_tags, 0, sizeof(replaces) / sizeof(replaces[0]));
	tcase_add_test(tc, replace_unknown_rule);
	tcase_add_test(tc, conditionals);
	tcase_add_test(tc, uri_rules);
	suite_add_tcase(s, tc);
	return unit_main(s);
}
