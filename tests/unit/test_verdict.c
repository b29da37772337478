/*
 * test_verdict.c - scoring, actions, replies and header edits (SPEC §4).
 */
#include "autoconfig.h"

#include "mail/auth.h"
#include "unit.h"
#include "core/verdict.h"

static const char *RULES =
	"header ONE Subject =~ /one/\nscore ONE 1.0\n"
	"header TAG Subject =~ /tag/\nscore TAG 5.0\n"
	"header BIG Subject =~ /big/\nscore BIG 15.0\n"
	"header NEG Subject =~ /neg/\nscore NEG -2.0\n"
	"header __HIDDEN Subject =~ /./\n"
	"body QUAR /quarantine-me/\nscore QUAR 11\n";

/* edit_find - the n-th edit of op on name, or NULL */
static const struct edit *edit_find(const struct verdict *v, enum edit_op op,
				    const char *name, int n)
{
	for (size_t i = 0; i < v->nedits; i++)
		if (v->edits[i].op == op && strcmp(v->edits[i].name, name) == 0 && n-- == 0)
			return &v->edits[i];
	return NULL;
}

/* count_edits - edits of any op on name */
static size_t count_edits(const struct verdict *v, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < v->nedits; i++)
		n += strcmp(v->edits[i].name, name) == 0;
	return n;
}

START_TEST(ham_headers)
{
	struct engine *e = unit_engine("authserv_id = mx.test\n", RULES);
	struct scan *sc = unit_scan(e, "Subject: one\n\nbody\n");
	const struct verdict *v = &sc->verdict;

	ck_assert_int_eq(v->action, ACTION_ACCEPT);
	ck_assert(!v->tagged);
	ck_assert_ptr_null(edit_find(v, EDIT_ADD, "X-Spam-Flag", 0));
	ck_assert_str_eq(edit_find(v, EDIT_ADD, "X-Spam-Score", 0)->value, "1.0");
	ck_assert_str_eq(edit_find(v, EDIT_ADD, "X-Spam-Status", 0)->value,
			 "No, score=1.0 required=5.0 tests=DKIM_NONE,DMARC_NONE,ONE");
	/* no From field: DMARC cannot be evaluated (RFC 7489 §6.6.1) */
	const struct edit *ar = edit_find(v, EDIT_INSERT, "Authentication-Results", 0);
	ck_assert_str_eq(ar->value, "mx.test;\n\tdkim=none;\n\tdmarc=permerror");
	ck_assert_int_eq(ar->index, 0);
	ck_assert_ptr_null(v->code);
	scan_free(sc);
	engine_unref(e);
}
END_TEST

START_TEST(tagged)
{
	struct engine *e = unit_engine("", RULES);
	struct scan *sc = unit_scan(e, "Subject: one tag\n\nbody\n");
	const struct verdict *v = &sc->verdict;

	ck_assert_int_eq(v->action, ACTION_ACCEPT);
	ck_assert(v->tagged);
	ck_assert_str_eq(edit_find(v, EDIT_ADD, "X-Spam-Flag", 0)->value, "YES");
	ck_assert_str_eq(edit_find(v, EDIT_ADD, "X-Spam-Status", 0)->value,
			 "Yes, score=6.0 required=5.0 tests=DKIM_NONE,DMARC_NONE,ONE,\n\tTAG");
	ck_assert_str_eq(v->symbols, "DKIM_NONE,DMARC_NONE,ONE,TAG");
	scan_free(sc);
	engine_unref(e);
}
END_TEST

START_TEST(reject)
{
	struct engine *e = unit_engine("", RULES);
	struct scan *sc = unit_scan(e, "Subject: big\n\nbody\n");
	const struct verdict *v = &sc->verdict;

	ck_assert_int_eq(v->action, ACTION_REJECT);
	ck_assert_str_eq(v->code, "550");
	ck_assert_str_eq(v->xcode, "5.7.1");
	ck_assert_str_eq(v->text, "Message rejected as spam (ref QID1)");
	ck_assert_uint_eq(v->nedits, 0);
	scan_free(sc);
	engine_unref(e);
}
END_TEST

START_TEST(reject_threshold_inclusive)
{
	struct engine *e = unit_engine("reject_score = 6\n", RULES);
	struct scan *sc = unit_scan(e, "Subject: one tag\n\nbody\n");

	ck_assert_int_eq(sc->verdict.action, ACTION_REJECT);	/* 6.0 >= 6 */
	scan_free(sc);
	engine_unref(e);
}
END_TEST

START_TEST(quarantine)
{
	struct engine *e = unit_engine("quarantine_score = 10\n", RULES);
	struct scan *sc = unit_scan(e, "Subject: x\n\nplease quarantine-me\n");

	ck_assert_int_eq(sc->verdict.action, ACTION_QUARANTINE);
	ck_assert_ptr_nonnull(edit_find(&sc->verdict, EDIT_ADD, "X-Spam-Flag", 0));
	scan_free(sc);
	engine_unref(e);

	e = unit_engine("", RULES);	/* quarantine_score off by default */
	sc = unit_scan(e, "Subject: x\n\nplease quarantine-me\n");
	ck_assert_int_eq(sc->verdict.action, ACTION_ACCEPT);
	scan_free(sc);
	engine_unref(e);
}
END_TEST

START_TEST(internal_error_policy)
{
	struct engine *e = unit_engine("", RULES);
	struct scan *sc = unit_scan(e, "Subject: one\n\nb\n");

	sc->internal_error = true;
	sc->error_stage = "test";
	verdict_decide(sc);
	ck_assert_int_eq(sc->verdict.action, ACTION_TEMPFAIL);
	ck_assert_str_eq(sc->verdict.code, "451");
	ck_assert_str_eq(sc->verdict.xcode, "4.3.0");
	ck_assert_str_eq(sc->verdict.text, "Temporary filter failure (ref QID1)");
	scan_free(sc);
	engine_unref(e);

	e = unit_engine("on_error = accept\n", RULES);
	sc = unit_scan(e, "Subject: one\n\nb\n");
	sc->internal_error = true;
	verdict_decide(sc);
	ck_assert_int_eq(sc->verdict.action, ACTION_ACCEPT);
	scan_free(sc);
	engine_unref(e);
}
END_TEST

START_TEST(greylist_order)
{
	struct engine *e = unit_engine("", RULES);
	struct scan *sc = unit_scan(e, "Subject: one\n\nb\n");

	sc->greylisted = true;
	verdict_decide(sc);
	ck_assert_int_eq(sc->verdict.action, ACTION_TEMPFAIL);
	ck_assert_str_eq(sc->verdict.xcode, "4.7.1");
	ck_assert_str_eq(sc->verdict.text, "Greylisted, please try again later (ref QID1)");
	scan_free(sc);

	sc = unit_scan(e, "Subject: big\n\nb\n");	/* reject comes first */
	sc->greylisted = true;
	verdict_decide(sc);
	ck_assert_int_eq(sc->verdict.action, ACTION_REJECT);
	scan_free(sc);
	engine_unref(e);
}
END_TEST

START_TEST(forged_headers_removed)
{
	struct engine *e = unit_engine("authserv_id = mx.test\n", RULES);
	struct scan *sc = unit_scan(e,
		"X-Spam-Flag: YES\n"
		"Authentication-Results: other.test; spf=pass\n"
		"Subject: one\n"
		"X-Spam-Status: Yes, score=99\n"
		"Authentication-Results: (forged) MX.TEST; dkim=pass\n"
		"X-Spam-Flag: YES\n"
		"X-Spam-Score: 99\n"
		"X-Spam-Level: ****\n"
		"\nbody\n");
	const struct verdict *v = &sc->verdict;

	/* both X-Spam-Flag copies, highest index first */
	const struct edit *d0 = edit_find(v, EDIT_DELETE, "X-Spam-Flag", 0);
	const struct edit *d1 = edit_find(v, EDIT_DELETE, "X-Spam-Flag", 1);
	ck_assert_int_eq(d0->index, 2);
	ck_assert_int_eq(d1->index, 1);
	ck_assert_ptr_nonnull(edit_find(v, EDIT_DELETE, "X-Spam-Status", 0));
	ck_assert_ptr_nonnull(edit_find(v, EDIT_DELETE, "X-Spam-Score", 0));
	ck_assert_ptr_nonnull(edit_find(v, EDIT_DELETE, "X-Spam-Level", 0));
	/* only the A-R claiming our id (second A-R field) goes */
	const struct edit *ar = edit_find(v, EDIT_DELETE, "Authentication-Results", 0);
	ck_assert_int_eq(ar->index, 2);
	ck_assert_ptr_null(edit_find(v, EDIT_DELETE, "Authentication-Results", 1));
	/* every delete precedes every add */
	bool seen_add = false;
	for (size_t i = 0; i < v->nedits; i++) {
		if (v->edits[i].op != EDIT_DELETE)
			seen_add = true;
		else
			ck_assert(!seen_add);
	}
	scan_free(sc);
	engine_unref(e);
}
END_TEST

static const struct {
	double in;
	const char *want;
} scores[] = {
	{ 0.0, "0.0" }, { -0.04, "0.0" }, { 7.25, "7.3" }, { -2.25, "-2.3" },
	{ 15.0, "15.0" }, { 1e6, "1000000.0" },
};

START_TEST(score_format)
{
	char out[32];

	verdict_format_score(out, sizeof(out), scores[_i].in);
	ck_assert_str_eq(out, scores[_i].want);
}
END_TEST

START_TEST(hidden_and_negative)
{
	struct engine *e = unit_engine("", RULES);
	struct scan *sc = unit_scan(e, "Subject: neg\n\nb\n");

	/* __HIDDEN never reported (DKIM_NONE, DMARC_NONE: the auth stages) */
	ck_assert_str_eq(sc->verdict.symbols, "DKIM_NONE,DMARC_NONE,NEG");
	ck_assert_str_eq(edit_find(&sc->verdict, EDIT_ADD, "X-Spam-Score", 0)->value, "-2.0");
	scan_free(sc);
	engine_unref(e);
}
END_TEST

START_TEST(status_folded)
{
	struct buf rules, msg;

	buf_init(&rules);
	buf_init(&msg);
	for (int i = 0; i < 40; i++)
		buf_printf(&rules, "header RULE_NUMBER_%02d Subject =~ /x/\nscore RULE_NUMBER_%02d 0.1\n", i, i);
	struct engine *e = unit_engine("", rules.data);
	struct scan *sc = unit_scan(e, "Subject: x\n\nb\n");
	const char *st = edit_find(&sc->verdict, EDIT_ADD, "X-Spam-Status", 0)->value;
	size_t col = strlen("X-Spam-Status: ");
	int lines = 1;
	for (const char *p = st; *p; p++) {
		if (*p == '\n') {
			ck_assert_msg(p[1] == '\t', "continuation must start with a tab");
			col = 0;
			lines++;
		} else {
			ck_assert_msg(++col <= 78, "line longer than 78 columns");
		}
	}
	ck_assert_int_gt(lines, 5);
	ck_assert_ptr_nonnull(strstr(st, "RULE_NUMBER_39"));
	scan_free(sc);
	engine_unref(e);
	buf_free(&rules);
	buf_free(&msg);
}
END_TEST

START_TEST(log_line)
{
	struct engine *e = unit_engine("", RULES);
	struct scan *sc = unit_scan(e, "Subject: one tag\n\nb\n");
	char *line = verdict_log_line(sc);

	static const char want[] = "qid=QID1 ip=- from=a@sender.test rcpts=1 "
		"score=6.0 action=accept symbols=DKIM_NONE,DMARC_NONE,ONE,TAG ms=";
	ck_assert_msg(strncmp(line, want, sizeof(want) - 1) == 0, "%s", line);
	free(line);
	msg_set_from(sc->msg, "<>");
	line = verdict_log_line(sc);
	ck_assert_ptr_nonnull(strstr(line, " from=<> "));
	free(line);
	scan_free(sc);
	engine_unref(e);
}
END_TEST

START_TEST(authserv_id_parse)
{
	char *a = verdict_authserv_id("  (comment (nested)) mx.example.org; spf=pass");
	ck_assert_str_eq(a, "mx.example.org");
	free(a);
	a = verdict_authserv_id("mx.example.org 1; none");
	ck_assert_str_eq(a, "mx.example.org");
	free(a);
	ck_assert_ptr_null(verdict_authserv_id("   "));
}
END_TEST

START_TEST(truncated_symbol)
{
	struct engine *e = unit_engine("max_scan_bytes = 1024\n", "score SCAN_TRUNCATED 0.1\n");
	struct buf m;

	buf_init(&m);
	buf_puts(&m, "Subject: big body\n\n");
	for (int i = 0; i < 100; i++)
		buf_puts(&m, "0123456789012345678901234567890123456789\n");
	struct scan *sc = unit_scan(e, m.data);
	ck_assert(scan_has(sc, "SCAN_TRUNCATED"));
	ck_assert_uint_eq(sc->msg->body.len, 1024);
	ck_assert_uint_eq(sc->msg->body_total, 4200);	/* CRLF line ends */
	ck_assert(sc->verdict.score == 0.1);
	scan_free(sc);
	sc = unit_scan(e, "Subject: small\n\nsmall\n");
	ck_assert(!scan_has(sc, "SCAN_TRUNCATED"));
	scan_free(sc);
	engine_unref(e);
	buf_free(&m);
}
END_TEST

START_TEST(mime_broken)
{
	struct engine *e = unit_engine("", "score MIME_BROKEN 1.5\n");
	struct scan *sc = unit_scan(e, "Subject: x\nContent-Type: multipart/mixed\n\nb\n");

	ck_assert(scan_has(sc, "MIME_BROKEN"));
	scan_free(sc);
	sc = unit_scan(e, "Subject: x\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n--b1\n\nx\n--b1--\n");
	ck_assert(!scan_has(sc, "MIME_BROKEN"));
	scan_free(sc);
	engine_unref(e);
}
END_TEST

/* filled - n filler fields, then the text (more fields, blank line, body) */
static char *filled(int n, const char *rest)
{
	struct buf m;

	buf_init(&m);
	for (int i = 0; i < n; i++)
		buf_printf(&m, "X-H%d: v\n", i);
	buf_puts(&m, rest);
	return m.data;
}

/* scan_text - a message through the pipeline without DNS, not scanned
 * when skip is set (as for a trusted client) */
static struct scan *scan_text(struct engine *e, const char *text, const char *skip)
{
	struct scan *sc = scan_new(e);

	sc->no_dns = true;
	if (skip)
		scan_skip(sc, skip);
	msg_set_client(sc->msg, "192.0.2.1", "client.test", "helo.test");
	msg_set_from(sc->msg, "<a@sender.test>");
	msg_add_rcpt(sc->msg, "<b@rcpt.test>");
	mboxfile_feed(sc, text, strlen(text));
	scan_finish(sc);
	return sc;
}

/* the forged fields of the header-cap tests, and their indices */
static const char *const FORGED =
	"X-Spam-Flag: NO\n"
	"Authentication-Results: mx.test; dkim=pass header.d=bank.example\n"
	"Authentication-Results: other.test; dkim=pass header.d=bank.example\n"
	"x-spam-score: -5\n"
	"X-Spam-Status: No, score=-5.0\n"
	"X-Spam-Level: \n"
	"Authentication-Results: MX.TEST; dmarc=pass header.from=bank.example\n";

/* check_forged_removed - every forged field of FORGED, after one X-Spam-Flag
 * and one foreign Authentication-Results, is deleted at its index */
static void check_forged_removed(const struct verdict *v)
{
	const struct edit *ed;

	ck_assert_ptr_nonnull(ed = edit_find(v, EDIT_DELETE, "X-Spam-Flag", 0));
	ck_assert_int_eq(ed->index, 2);
	ck_assert_ptr_nonnull(ed = edit_find(v, EDIT_DELETE, "X-Spam-Flag", 1));
	ck_assert_int_eq(ed->index, 1);
	ck_assert_ptr_nonnull(ed = edit_find(v, EDIT_DELETE, "Authentication-Results", 0));
	ck_assert_int_eq(ed->index, 4);
	ck_assert_ptr_nonnull(ed = edit_find(v, EDIT_DELETE, "Authentication-Results", 1));
	ck_assert_int_eq(ed->index, 2);
	ck_assert_ptr_null(edit_find(v, EDIT_DELETE, "Authentication-Results", 2));
	ck_assert_ptr_nonnull(edit_find(v, EDIT_DELETE, "X-Spam-Score", 0));
	ck_assert_ptr_nonnull(edit_find(v, EDIT_DELETE, "X-Spam-Status", 0));
	ck_assert_ptr_nonnull(edit_find(v, EDIT_DELETE, "X-Spam-Level", 0));
}

/* past 1,000 fields only the key fields are kept, with the right indices
 * for the removals, and every From still counts for DMARC (issue 12) */
START_TEST(header_cap)
{
	struct engine *e = unit_engine("authserv_id = mx.test\n",
				       "score HEADERS_TRUNCATED 1.0\nscore MIME_BROKEN 1.5\n");
	char *text = filled(2000, "\nb\n");
	struct scan *sc = scan_text(e, text, NULL);
	char d[256];

	free(text);
	ck_assert(scan_has(sc, "HEADERS_TRUNCATED"));
	ck_assert(!scan_has(sc, "MIME_BROKEN"));	/* a cap, not a broken message */
	ck_assert_uint_eq(sc->msg->nhdrs, MSG_MAX_HEADERS);
	ck_assert_uint_eq(sc->msg->hdrs_seen, 2000);
	ck_assert_uint_eq(sc->msg->hdrs_dropped, 1000);
	ck_assert_int_eq(sc->verdict.action, ACTION_ACCEPT);
	scan_free(sc);

	/* forged fields and the only From after 1,000 fillers */
	struct buf b;
	buf_init(&b);
	buf_printf(&b, "X-Spam-Flag: YES\nAuthentication-Results: kept.test; none\n");
	for (int i = 0; i < 1000; i++)
		buf_printf(&b, "X-H%d: v\n", i);
	buf_printf(&b, "%sFrom: Bank <ceo@bank.example>\nX-After: dropped\n\nb\n", FORGED);
	sc = scan_text(e, b.data, NULL);
	check_forged_removed(&sc->verdict);
	ck_assert_int_eq(auth_from_domain(sc->msg, d, sizeof(d)), AUTH_FROM_OK);
	ck_assert_str_eq(d, "bank.example");
	ck_assert(scan_has(sc, "HEADERS_TRUNCATED"));
	ck_assert_uint_eq(sc->msg->hdrs_dropped, 3);
	ck_assert(!sc->msg->keys_lost);
	scan_free(sc);
	buf_free(&b);

	/* a second From past the cap makes From multiple */
	text = filled(1000, "From: ceo@bank.example\n\nb\n");
	char *two = xasprintf("From: a@sender.test\n%s", text);
	sc = scan_text(e, two, NULL);
	ck_assert_int_eq(auth_from_domain(sc->msg, d, sizeof(d)), AUTH_FROM_MULTIPLE);
	scan_free(sc);
	free(two);
	free(text);
	engine_unref(e);
}
END_TEST

/* more key fields than MSG_MAX_KEY_HEADERS past the cap: refused */
START_TEST(header_cap_keys_lost)
{
	struct engine *e = unit_engine("", "");
	struct buf b;

	for (int skip = 0; skip < 2; skip++) {
		buf_init(&b);
		for (int i = 0; i < MSG_MAX_HEADERS + MSG_MAX_KEY_HEADERS; i++)
			buf_printf(&b, "%s: v\n", skip ? "X-Spam-Level" : i < 1000 ? "X-H" : "X-Spam-Flag");
		buf_puts(&b, "From: ceo@bank.example\n\nb\n");
		struct scan *sc = scan_text(e, b.data, skip ? "authenticated" : NULL);
		const struct verdict *v = &sc->verdict;
		ck_assert(sc->msg->keys_lost);
		ck_assert_int_eq(v->action, ACTION_REJECT);
		ck_assert_str_eq(v->code, "550");
		ck_assert_str_eq(v->xcode, "5.6.0");
		ck_assert_ptr_nonnull(strstr(v->text, "too many From"));
		ck_assert_uint_eq(v->nedits, 0);
		ck_assert(scan_has(sc, "HEADERS_TRUNCATED"));
		scan_free(sc);
		buf_free(&b);
	}
	engine_unref(e);
}
END_TEST

/* a trusted or authenticated client: not scanned, but forged fields go
 * and nothing is added (issue 12) */
START_TEST(skipped_removes_forged)
{
	struct engine *e = unit_engine("authserv_id = mx.test\n", RULES);
	struct buf b;

	buf_init(&b);
	buf_printf(&b, "Subject: big\nX-Spam-Flag: YES\nAuthentication-Results: kept.test; none\n"
		   "%s\nbody quarantine-me\n", FORGED);
	struct scan *sc = scan_text(e, b.data, "trusted_networks");
	const struct verdict *v = &sc->verdict;

	ck_assert_int_eq(v->action, ACTION_ACCEPT);	/* "big" would reject */
	ck_assert(v->skipped);
	ck_assert_str_eq(v->why, "trusted_networks");
	check_forged_removed(v);
	for (size_t i = 0; i < v->nedits; i++)
		ck_assert_int_eq(v->edits[i].op, EDIT_DELETE);
	ck_assert_uint_eq(v->nedits, 7);
	ck_assert_uint_eq(sc->hits.n, 0);
	ck_assert_uint_eq(sc->msg->nhdrs, 9);	/* key fields only */
	ck_assert_uint_eq(sc->msg->hdrs_dropped, 0);
	ck_assert_uint_eq(sc->msg->body.len, 0);
	char *line = verdict_log_line(sc);
	ck_assert_ptr_nonnull(strstr(line, " action=accept symbols= "));
	ck_assert_ptr_nonnull(strstr(line, " note=trusted_networks"));
	free(line);
	scan_free(sc);
	buf_free(&b);
	engine_unref(e);
}
END_TEST

/* X-Spam-Level as SpamAssassin's _STARS(*)_ (PerMsgStatus.pm) */
START_TEST(spam_level_stars)
{
	static const struct { double score; int stars; } cases[] = {
		{ -3.0, 0 }, { 0.0, 0 }, { 0.99, 0 }, { 1.0, 1 }, { 4.96, 4 }, { 6.0, 6 },
		{ 49.9, 49 }, { 50.0, 50 }, { 1234.0, 50 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = verdict_stars(cases[i].score);
		ck_assert_msg(strlen(s) == (size_t)cases[i].stars && strspn(s, "*") == strlen(s),
			      "%.2f: '%s'", cases[i].score, s);
		free(s);
	}
	struct engine *e = unit_engine("", RULES);
	struct scan *sc = unit_scan(e, "Subject: one tag\n\nbody\n");
	ck_assert_str_eq(edit_find(&sc->verdict, EDIT_ADD, "X-Spam-Level", 0)->value, "******");
	scan_free(sc);
	sc = unit_scan(e, "Subject: neg\n\nbody\n");	/* below 1: empty, still there */
	ck_assert_str_eq(edit_find(&sc->verdict, EDIT_ADD, "X-Spam-Level", 0)->value, "");
	scan_free(sc);
	engine_unref(e);
}
END_TEST

/* subject_tag, and rewrite_header Subject from the rules */
START_TEST(subject_tag)
{
	struct engine *e = unit_engine("subject_tag = [SPAM]\n", RULES);
	struct scan *sc = unit_scan(e, "Subject: one tag\n\nbody\n");
	/* a tag is not a reply: % is text there */
	struct engine *e2 = unit_engine("subject_tag = 100% spam\n", RULES);
	engine_unref(e2);
	const struct edit *ed = edit_find(&sc->verdict, EDIT_CHANGE, "Subject", 0);
	ck_assert_ptr_nonnull(ed);
	ck_assert_int_eq(ed->index, 1);
	ck_assert_str_eq(ed->value, "[SPAM] one tag");
	scan_free(sc);
	sc = unit_scan(e, "Subject: one\n\nbody\n");	/* not tagged: untouched */
	ck_assert_ptr_null(edit_find(&sc->verdict, EDIT_CHANGE, "Subject", 0));
	scan_free(sc);
	sc = unit_scan(e, "Subject: [SPAM] one tag\n\nbody\n");	/* not twice */
	ck_assert_ptr_null(edit_find(&sc->verdict, EDIT_CHANGE, "Subject", 0));
	scan_free(sc);
	sc = unit_scan(e, "X-Test: tag\n\nquarantine-me\n");	/* no Subject: one added */
	ck_assert(sc->verdict.tagged);
	ck_assert_str_eq(edit_find(&sc->verdict, EDIT_ADD, "Subject", 0)->value, "[SPAM]");
	scan_free(sc);
	engine_unref(e);

	/* the rules' rewrite_header, unless parapet.conf sets a tag */
	char *rules = xasprintf("%srewrite_header Subject *****SPAM*****\n", RULES);
	e = unit_engine("", rules);
	sc = unit_scan(e, "Subject: one tag\n\nbody\n");
	ck_assert_str_eq(edit_find(&sc->verdict, EDIT_CHANGE, "Subject", 0)->value,
			 "*****SPAM***** one tag");
	scan_free(sc);
	engine_unref(e);
	char *cleared = xasprintf("%srewrite_header subject\n", rules);	/* no text: none */
	e = unit_engine("", cleared);
	sc = unit_scan(e, "Subject: one tag\n\nbody\n");
	ck_assert_ptr_null(edit_find(&sc->verdict, EDIT_CHANGE, "Subject", 0));
	scan_free(sc);
	engine_unref(e);
	free(cleared);
	e = unit_engine("subject_tag = [SPAM]\n", rules);
	sc = unit_scan(e, "Subject: one tag\n\nbody\n");
	ck_assert_str_eq(edit_find(&sc->verdict, EDIT_CHANGE, "Subject", 0)->value,
			 "[SPAM] one tag");
	scan_free(sc);
	engine_unref(e);
	free(rules);
}
END_TEST

/* reply texts from the config, %q the queue id, %% a percent sign */
START_TEST(reply_texts)
{
	struct engine *e = unit_engine("reject_text = No (%q), 100%% sure\n"
				       "greylist_text = Later, ref %q\n", RULES);
	struct scan *sc = unit_scan(e, "Subject: big\n\nbody\n");
	ck_assert_str_eq(sc->verdict.text, "No (QID1), 100% sure");
	scan_free(sc);
	sc = unit_scan(e, "Subject: one\n\nb\n");
	sc->greylisted = true;
	verdict_decide(sc);
	ck_assert_str_eq(sc->verdict.text, "Later, ref QID1");
	/* unknown queue id (the old one stays in the message's arena) */
	sc->msg->qid = NULL;
	verdict_decide(sc);
	ck_assert_str_eq(sc->verdict.text, "Later, ref -");
	scan_free(sc);
	engine_unref(e);

	static const char *const bad[] = {
		"reject_text = 50% off\n", "reject_text = a %s b\n", "tempfail_text = a\tb\n",
		"mode = watch\n", "subject_tag = a\tb\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *err = NULL;
		struct config *cfg = config_parse_buf("t.conf", bad[i], strlen(bad[i]), &err);
		ck_assert_msg(cfg == NULL && err != NULL, "accepted: %s", bad[i]);
		free(err);
	}
}
END_TEST

/* mode = observe: headers as usual, never a refusal; the would-be action kept */
START_TEST(observe_mode)
{
	struct engine *e = unit_engine("mode = observe\nquarantine_score = 10\n", RULES);
	struct scan *sc = unit_scan(e, "Subject: big\n\nbody\n");
	const struct verdict *v = &sc->verdict;
	ck_assert_int_eq(v->action, ACTION_ACCEPT);
	ck_assert_int_eq(v->observed, ACTION_REJECT);
	ck_assert_ptr_null(v->code);
	ck_assert_str_eq(edit_find(v, EDIT_ADD, "X-Spam-Flag", 0)->value, "YES");
	ck_assert_ptr_nonnull(edit_find(v, EDIT_ADD, "X-Spam-Status", 0));
	ck_assert_ptr_nonnull(edit_find(v, EDIT_INSERT, "Authentication-Results", 0));
	char *line = verdict_log_line(sc);
	ck_assert_msg(strstr(line, " action=accept would=reject symbols=") != NULL, "%s", line);
	free(line);
	scan_free(sc);

	sc = unit_scan(e, "Subject: x\n\nplease quarantine-me\n");
	ck_assert_int_eq(sc->verdict.action, ACTION_ACCEPT);
	ck_assert_int_eq(sc->verdict.observed, ACTION_QUARANTINE);
	ck_assert_uint_eq(count_edits(&sc->verdict, "X-Spam-Status"), 1);
	scan_free(sc);

	sc = unit_scan(e, "Subject: one\n\nb\n");
	sc->greylisted = true;
	verdict_decide(sc);
	ck_assert_int_eq(sc->verdict.action, ACTION_ACCEPT);
	ck_assert_int_eq(sc->verdict.observed, ACTION_TEMPFAIL);
	sc->internal_error = true;
	verdict_decide(sc);
	ck_assert_int_eq(sc->verdict.action, ACTION_ACCEPT);
	ck_assert_int_eq(sc->verdict.observed, ACTION_TEMPFAIL);
	scan_free(sc);

	sc = unit_scan(e, "Subject: one\n\nb\n");	/* nothing to change: no would= */
	line = verdict_log_line(sc);
	ck_assert_ptr_null(strstr(line, "would="));
	free(line);
	scan_free(sc);
	engine_unref(e);
}
END_TEST

/* the after hook of after_stage: how often it ran, and with which action */
static int after_calls;
static enum action after_action;

/* after_hook - counts its calls */
static void after_hook(struct scan *sc, void **state, const struct verdict *v)
{
	(void)sc;
	(void)state;
	after_calls++;
	after_action = v->action;
}

static const struct stage after_stage = { .name = "after_test", .after = after_hook };

/* the after hooks (Redis writes) wait for scan_after, so that the milter
 * replies first; scan_free runs them when nobody called it, once */
START_TEST(after_hooks_deferred)
{
	static const struct stage *const stages[] = { &after_stage, NULL };
	char *err = NULL;
	struct diag d;
	const char *conf = "";
	struct config *cfg = config_parse_buf("test.conf", conf, strlen(conf), &err);

	ck_assert_msg(cfg != NULL, "config: %s", err ? err : "?");
	diag_init(&d);
	struct ruleset *rs = rules_load_text("t.cf", RULES, unit_builtins(), &d);
	ck_assert(rs != NULL);
	diag_free(&d);
	struct engine *e = engine_new(cfg, rs, stages);

	after_calls = 0;
	struct scan *sc = unit_scan(e, "Subject: big\n\nhello\n");
	ck_assert_int_eq(after_calls, 0);	/* not before the reply */
	scan_after(sc);
	ck_assert_int_eq(after_calls, 1);
	ck_assert_int_eq(after_action, sc->verdict.action);
	scan_after(sc);
	scan_free(sc);
	ck_assert_int_eq(after_calls, 1);	/* once */

	sc = unit_scan(e, "Subject: one\n\nhello\n");
	ck_assert_int_eq(after_calls, 1);
	scan_free(sc);			/* nobody called scan_after */
	ck_assert_int_eq(after_calls, 2);

	sc = scan_new(e);		/* never finished: nothing to write */
	scan_free(sc);
	ck_assert_int_eq(after_calls, 2);
	engine_unref(e);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("verdict");
	TCase *tc = tcase_create("verdict");

	tcase_add_test(tc, ham_headers);
	tcase_add_test(tc, tagged);
	tcase_add_test(tc, reject);
	tcase_add_test(tc, reject_threshold_inclusive);
	tcase_add_test(tc, quarantine);
	tcase_add_test(tc, internal_error_policy);
	tcase_add_test(tc, greylist_order);
	tcase_add_test(tc, forged_headers_removed);
	tcase_add_loop_test(tc, score_format, 0, sizeof(scores) / sizeof(scores[0]));
	tcase_add_test(tc, hidden_and_negative);
	tcase_add_test(tc, status_folded);
	tcase_add_test(tc, log_line);
	tcase_add_test(tc, authserv_id_parse);
	tcase_add_test(tc, truncated_symbol);
	tcase_add_test(tc, mime_broken);
	tcase_add_test(tc, header_cap);
	tcase_add_test(tc, header_cap_keys_lost);
	tcase_add_test(tc, skipped_removes_forged);
	tcase_add_test(tc, spam_level_stars);
	tcase_add_test(tc, subject_tag);
	tcase_add_test(tc, reply_texts);
	tcase_add_test(tc, observe_mode);
	tcase_add_test(tc, after_hooks_deferred);
	suite_add_tcase(s, tc);
	return unit_main(s);
}
