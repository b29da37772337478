/*
 * test_policy.c - the policy file (core/policy.c): parsing and its errors
 * with file:line, lookup by address, domain and parent domain, and the
 * message's one policy: the first recipient fixes it, a recipient of
 * another policy is refused, and the verdict uses its thresholds.
 */
#include <unistd.h>

#include "unit.h"

#include "core/policy.h"
#include "core/verdict.h"

static const char POLICY[] =
	"# per-recipient policy\n"
	"strict.test   reject_score=5 tag_score=2 greylist=no\n"
	"lax.test      reject_score=off quarantine_score=30 skip=bayes,dnsbl\n"
	"ceo@strict.test  reject_score=50\n"
	"twin.test     reject_score=5 tag_score=2 greylist=no   # same as strict.test\n"
	"lists.test    allow_from=*@friend.test,boss@corp.test block_from=*@foe.test "
	"block_ip=203.0.113.0/24\n"
	"lists2.test   allow_from=*@friend.test\n";

/* load - the test policy against the default config */
static struct policy_set *load(struct config **cfg, struct diag *d)
{
	char *err = NULL;

	*cfg = config_parse_buf("t.conf", "", 0, &err);
	ck_assert(*cfg != NULL);
	diag_init(d);
	return policy_parse("p", POLICY, strlen(POLICY), *cfg, stage_registry, d);
}

START_TEST(lookup)
{
	struct config *cfg;
	struct diag d;
	struct policy_set *ps = load(&cfg, &d);

	ck_assert_msg(ps != NULL, "%s", d.n ? d.lines[0] : "?");
	const struct policy *p = policy_lookup(ps, "<a@strict.test>");
	ck_assert(p && strcmp(p->name, "strict.test") == 0 && p->reject_score == 5 &&
		  p->tag_score == 2 && !p->greylist && p->reject_on);
	ck_assert(p->greylist_score == cfg->greylist_score);	/* not given: the config's */
	p = policy_lookup(ps, "<CEO@Strict.TEST>");
	ck_assert(p && strcmp(p->name, "ceo@strict.test") == 0 && p->reject_score == 50);
	ck_assert(p->tag_score == cfg->tag_score);
	p = policy_lookup(ps, "x@mx.sub.lax.test");
	ck_assert(p && strcmp(p->name, "lax.test") == 0 && !p->reject_on && p->quarantine_on &&
		  p->quarantine_score == 30 && p->skip != 0);
	ck_assert(policy_lookup(ps, "x@other.test") == NULL);
	ck_assert(policy_lookup(ps, "x@notstrict.test") == NULL);
	ck_assert(policy_lookup(NULL, "x@strict.test") == NULL);
	ck_assert(policy_same(policy_lookup(ps, "a@strict.test"), policy_lookup(ps, "a@twin.test")));
	ck_assert(!policy_same(policy_lookup(ps, "a@strict.test"), policy_lookup(ps, "ceo@strict.test")));
	/* lines with lists of their own are groups of their own */
	ck_assert(!policy_same(policy_lookup(ps, "a@lists.test"), policy_lookup(ps, "a@lists2.test")));
	ck_assert(policy_same(policy_lookup(ps, "a@lists.test"), policy_lookup(ps, "b@lists.test")));
	policy_free(ps);
	config_free(cfg);
	diag_free(&d);
}
END_TEST

/* a policy line's own lists: POLICY_ALLOW, POLICY_BLOCK through a scan */
START_TEST(lists)
{
	static const struct {
		const char *rcpt, *ip, *mail_from, *from;
		bool allow, block;
	} cases[] = {
		{ "<a@lists.test>", "192.0.2.1", "x@friend.test", "x@friend.test", true, false },
		{ "<a@lists.test>", "192.0.2.1", "", "Boss <BOSS@corp.test>", true, false },
		{ "<a@lists.test>", "192.0.2.1", "y@foe.test", "y@other.test", false, true },
		{ "<a@lists.test>", "203.0.113.9", "x@other.test", "x@other.test", false, true },
		{ "<a@lists.test>", "192.0.2.1", "x@other.test", "x@other.test", false, false },
		/* another recipient's policy: its lists do not apply */
		{ "<a@strict.test>", "203.0.113.9", "x@friend.test", "x@friend.test", false, false },
	};
	struct config *cfg;
	struct diag d;
	struct policy_set *ps = load(&cfg, &d);
	struct ruleset *rs = rules_load_text("t.cf", "score POLICY_BLOCK 100\n", unit_builtins(), &d);
	struct engine *e = engine_new(cfg, rs, stage_registry);

	e->policies = ps;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct scan *sc = scan_new(e);
		char *text = xasprintf("From: %s\nSubject: s\n\nhello\n", cases[i].from);
		msg_set_client(sc->msg, cases[i].ip, "client.test", "helo.test");
		msg_set_from(sc->msg, cases[i].mail_from);
		ck_assert(scan_rcpt(sc, cases[i].rcpt, true));
		mboxfile_feed(sc, text, strlen(text));
		scan_finish(sc);
		ck_assert_msg((unit_detail(sc, "POLICY_ALLOW") != NULL) == cases[i].allow, "case %zu", i);
		ck_assert_msg((unit_detail(sc, "POLICY_BLOCK") != NULL) == cases[i].block, "case %zu", i);
		if (cases[i].block)
			ck_assert(sc->hits.score >= 100);
		scan_free(sc);
		free(text);
	}
	engine_unref(e);
	diag_free(&d);
}
END_TEST

START_TEST(errors)
{
	static const struct { const char *text, *want; } bad[] = {
		{ "x.test reject_score\n", "p:1: error: expected NAME=VALUE" },
		{ "\nx.test reject_score=lots\n", "p:2: error: expected a number" },
		{ "x.test tag_score=off\n", "p:1: error: expected a number" },
		{ "x.test greylist=maybe\n", "p:1: error: greylist: expected yes or no" },
		{ "x.test color=red\n", "p:1: error: unknown setting (tag_score, quarantine_score, "
		  "reject_score, greylist, greylist_score, skip, allow_from, block_from, allow_ip, "
		  "block_ip)" },
		{ "x.test allow_from=a@b.test,nobody\n",
		  "p:1: error: expected addresses or *@domain, comma separated" },
		{ "x.test block_ip=192.0.2.0/24,300.1.1.1\n",
		  "p:1: error: not an IP address or CIDR network (or too many)" },
		{ "x.test skip=nonsense\n", "p:1: error: skip: not a stage name (spf, dnsbl, dkim, "
		  "dmarc, bayes, rules, structure, policy, rep)" },
		{ "<a@x.test> tag_score=1\n", "p:1: error: expected a recipient address or domain first" },
		{ "@x.test tag_score=1\n", "p:1: error: expected a recipient address or domain first" },
		{ "x.test tag_score=1\nX.TEST tag_score=2\n",
		  "p:2: error: this recipient has a line already" },
	};
	char *err = NULL;
	struct config *cfg = config_parse_buf("t.conf", "", 0, &err);
	struct diag d;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		diag_init(&d);
		ck_assert_msg(policy_parse("p", bad[i].text, strlen(bad[i].text), cfg, stage_registry,
					   &d) == NULL, "case %zu loaded", i);
		ck_assert_msg(d.n && strcmp(d.lines[0], bad[i].want) == 0, "case %zu: got '%s'", i,
			      d.n ? d.lines[0] : "");
		diag_free(&d);
	}
	config_free(cfg);
}
END_TEST

/* the first recipient fixes the policy; the verdict uses it */
START_TEST(message)
{
	char dir[] = "/tmp/policy.XXXXXX", *path, *conf, *err = NULL;
	struct diag d;

	ck_assert(mkdtemp(dir) != NULL);
	path = xasprintf("%s/policy", dir);
	unit_write(path, POLICY);
	conf = xasprintf("policy_file = %s\ngreylist = no\n", path);
	struct config *cfg = config_parse_buf("t.conf", conf, strlen(conf), &err);
	ck_assert(cfg != NULL);
	diag_init(&d);
	struct ruleset *rs = rules_load_text("t.cf", "body SIX /XSIXX/\nscore SIX 6\n",
					     unit_builtins(), &d);
	ck_assert(rs != NULL);
	struct engine *e = engine_new(cfg, rs, stage_registry);
	ck_assert(e->policies == NULL);	/* engine_new takes no file; load it */
	e->policies = policy_load(path, cfg, stage_registry, &d);
	ck_assert_msg(e->policies != NULL, "%s", d.n ? d.lines[0] : "?");
	static const struct { const char *r1, *r2; bool second; int action; } cases[] = {
		{ "<a@strict.test>", "<b@twin.test>", true, ACTION_REJECT },
		{ "<a@strict.test>", "<b@lax.test>", false, ACTION_REJECT },
		{ "<a@lax.test>", "<b@strict.test>", false, ACTION_ACCEPT },
		{ "<a@other.test>", "<b@strict.test>", false, ACTION_ACCEPT },
		{ "<a@other.test>", "<b@else.test>", true, ACTION_ACCEPT },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct scan *sc = scan_new(e);
		msg_set_client(sc->msg, NULL, "client.test", "helo.test");
		msg_set_from(sc->msg, "<a@sender.test>");
		ck_assert(scan_rcpt(sc, cases[i].r1, true));
		ck_assert_msg(scan_rcpt(sc, cases[i].r2, true) == cases[i].second, "case %zu", i);
		ck_assert_uint_eq(sc->msg->nrcpts, cases[i].second ? 2 : 1);
		const char *text = "From: x@y.test\nSubject: s\n\nhello XSIXX\n";
		mboxfile_feed(sc, text, strlen(text));
		const struct verdict *v = scan_finish(sc);
		ck_assert_msg((int)v->action == cases[i].action, "case %zu: action %d", i, v->action);
		scan_free(sc);
	}
	engine_unref(e);
	diag_free(&d);
	unlink(path);
	rmdir(dir);
	free(path);
	free(conf);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("policy");

	tcase_add_test(tc, lookup);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, lists);
	tcase_add_test(tc, message);
	suite_add_tcase(s, tc);
	return unit_main(s);
}
