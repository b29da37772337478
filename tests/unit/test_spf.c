/*
 * test_spf.c - what an SPF record and the identities must look like
 * before libspf2 sees them (SPEC §7): the precheck caps (length, macro
 * count and length, 8-bit and NUL bytes), the RFC 7208 grammar checks
 * and rewrites of spf_record_normalize, libspf2's compile of what passes,
 * the lookups spf_record_targets finds in a record to send them ahead,
 * and 8-bit HELO / MAIL FROM answered without any lookup.
 */
#include "autoconfig.h"

#include "stages/auth/spf.h"
#include "unit.h"

/* a string of n copies of c (static buffer, one at a time) */
static const char *repeat(const char *head, char c, size_t n, const char *tail)
{
	static char b[8192];
	size_t h = strlen(head);

	memcpy(b, head, h);
	memset(b + h, c, n);
	strcpy(b + h + n, tail);
	return b;
}

/* ---------------------------------------------------------------- precheck */

static const struct {
	const char *name;
	const char *rec;
	size_t len;		/* 0: strlen */
	bool exp;
	int want;		/* 0 or -1 */
	const char *why;	/* substring of the reason */
} pre[] = {
	{ "plain", "v=spf1 ip4:192.0.2.0/24 -all", 0, false, 0, NULL },
	{ "macros ok", "v=spf1 exists:%{i}.%{l1r+-}.%{d2}._spf.example.com -all", 0, false, 0, NULL },
	{ "escapes", "v=spf1 a:x%%y%_z%-w.example.com", 0, false, 0, NULL },
	{ "8-bit byte", "v=spf1 a:\xc3\xa9.example.com -all", 0, false, -1, "8-bit" },
	{ "control byte", "v=spf1 a\t-all", 0, false, -1, "control" },
	{ "NUL inside", "v=spf1 -all\0 +all", 17, false, -1, "NUL" },
	{ "lone percent", "v=spf1 a:x%", 0, false, -1, "end of record" },
	{ "bad escape", "v=spf1 a:%x.example.com", 0, false, -1, "not followed" },
	{ "unterminated macro", "v=spf1 exists:%{i", 0, false, -1, "unterminated" },
	{ "space in macro", "v=spf1 exists:%{i -all}", 0, false, -1, "inside a macro" },
	/* found by fuzz_spf: bytes inside a macro escaped the byte check */
	{ "NUL in macro", "v=spf1 -all exp=%{\001\000\000\000}.example.com", 35, false, -1,
	  "inside a macro" },
	{ "8-bit in macro", "v=spf1 exists:%{i\xff}.example.com", 0, false, -1, "inside a macro" },
	{ "macro too long", "v=spf1 exists:%{l12345678901234567890}.example.com", 0, false, -1,
	  "macro too long" },
	{ "9 macros in a term",
	  "v=spf1 exists:%{i}%{i}%{i}%{i}%{i}%{i}%{i}%{i}%{i}.example.com", 0, false, -1,
	  "too many macros" },
	{ "exp text ok", "%{i} is not one of %{d}'s servers", 0, true, 0, NULL },
	{ "exp with 8-bit", "d\xc3\xa9j\xc3\xa0 vu", 0, true, -1, "8-bit" },
};

START_TEST(precheck)
{
	const char *why = NULL;
	size_t len = pre[_i].len ? pre[_i].len : strlen(pre[_i].rec);
	int rc = spf_record_precheck(pre[_i].rec, len, pre[_i].exp, &why);

	ck_assert_msg(rc == pre[_i].want, "%s: got %d (%s)", pre[_i].name, rc, why ? why : "");
	if (pre[_i].why)
		ck_assert_msg(why && strstr(why, pre[_i].why), "%s: reason %s", pre[_i].name,
			      why ? why : "(none)");
}
END_TEST

START_TEST(precheck_caps)
{
	const char *why;
	const char *r;

	/* one term at the cap passes, one byte more does not */
	r = repeat("v=spf1 a:", 'x', SPF_MAX_TERM - 2 - 4, ".com");
	ck_assert_int_eq(spf_record_precheck(r, strlen(r), false, &why), 0);
	r = repeat("v=spf1 a:", 'x', SPF_MAX_TERM - 2 - 3, ".com");
	ck_assert_int_eq(spf_record_precheck(r, strlen(r), false, &why), -1);
	ck_assert_str_eq(why, "term too long");
	/* the record: many short terms */
	r = repeat("v=spf1", ' ', SPF_MAX_RECORD - 6, "");
	ck_assert_int_eq(spf_record_precheck(r, strlen(r), false, &why), 0);
	r = repeat("v=spf1", ' ', SPF_MAX_RECORD - 5, "");
	ck_assert_int_eq(spf_record_precheck(r, strlen(r), false, &why), -1);
	ck_assert_str_eq(why, "record too long");
	/* macros per record: 16 in separate terms pass, 17 do not */
	char b[1024] = "v=spf1";
	for (int i = 0; i < SPF_MAX_MACROS; i++)
		strcat(b, " exists:%{i}.x.example.com");
	ck_assert_int_eq(spf_record_precheck(b, strlen(b), false, &why), 0);
	strcat(b, " exists:%{i}.x.example.com");
	ck_assert_int_eq(spf_record_precheck(b, strlen(b), false, &why), -1);
	ck_assert_str_eq(why, "too many macros");
	/* an explanation text */
	r = repeat("", 'e', SPF_MAX_EXP + 1, "");
	ck_assert_int_eq(spf_record_precheck(r, strlen(r), true, &why), -1);
}
END_TEST

/* ---------------------------------------------------------------- normalize */

static const struct {
	const char *rec;
	const char *want;	/* NULL: refused (permerror) */
} norm[] = {
	{ "v=spf1 ip4:192.0.2.0/24 -all", "v=spf1 ip4:192.0.2.0/24 -all" },
	{ "V=SPF1 A:Mail.Example.COM MX -ALL", "v=spf1 a:mail.example.com mx -all" },
	{ "v=spf1 exists:%{L}.%{d}.Example.com", "v=spf1 exists:%{L}.%{d}.example.com" },
	{ "v=spf1", "v=spf1" },
	/* unknown modifiers are dropped (§6), known ones moved last */
	{ "v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all", "v=spf1 ip4:1.2.3.4 -all" },
	{ "v=spf1 redirect=b.example.com exp=e.example.com a",
	  "v=spf1 a redirect=b.example.com exp=e.example.com" },
	/* redirect= is ignored when there is "all" (§6.1) */
	{ "v=spf1 redirect=t5.example.com ~all", "v=spf1 ~all" },
	/* /0 networks libspf2 refuses */
	{ "v=spf1 ip4:1.1.1.1/0 -all", "v=spf1 ip4:0.0.0.0/1 ip4:128.0.0.0/1 -all" },
	{ "v=spf1 -ip6:::1.1.1.1/0", "v=spf1 -ip6:::/1 -ip6:8000::/1" },
	{ "v=spf1 a:foo:bar/baz.example.com", "v=spf1 a:foo:bar/baz.example.com" },
	{ "v=spf1 a:example.com/24//64 mx/30", "v=spf1 a:example.com/24//64 mx/30" },
	{ "v=spf1 ip6:2001:db8::/32 ip6:2001:DB8::1", "v=spf1 ip6:2001:db8::/32 ip6:2001:db8::1" },
	/* refused */
	{ "v=spf1 a:foo-bar -all", NULL },		/* single label */
	{ "v=spf1 a:111.222.33.44", NULL },		/* numeric toplabel */
	{ "v=spf1 a:example.-com", NULL },
	{ "v=spf1 a:museum.", NULL },
	{ "v=spf1 a: -all", NULL },
	{ "v=spf1 ptr:", NULL },
	{ "v=spf1 exists:mail.example.com/24", NULL },
	{ "v=spf1 a:example.com:8080", NULL },
	{ "v=spf1 ip4:1.2.3.4/032 -all", NULL },
	{ "v=spf1 ip4:1.2.3.4/33", NULL },
	{ "v=spf1 ip6:::1/129", NULL },
	{ "v=spf1 ip4:1.2.3", NULL },
	{ "v=spf1 redirect:t2.example.com", NULL },
	{ "v=spf1 exp= -all", NULL },
	{ "v=spf1 exp=-all", NULL },
	{ "v=spf1 -all exp=%{r}.example.com", NULL },	/* r only in exp text */
	{ "v=spf1 redirect=a.example.com redirect=a.example.com", NULL },
	{ "v=spf1 exp=a.example.com -all exp=b.example.com", NULL },
	{ "v=spf1 -all foo=%q", NULL },
	{ "v=spf1 all:x", NULL },
	{ "v=spf1 - -all", NULL },
	{ "v=spf10 -all", NULL },
};

START_TEST(normalize)
{
	const char *why = NULL;
	char *got = spf_record_normalize(norm[_i].rec, &why);

	if (norm[_i].want == NULL)
		ck_assert_msg(got == NULL, "%s: accepted as %s", norm[_i].rec, got);
	else
		ck_assert_msg(got && strcmp(got, norm[_i].want) == 0, "%s: got %s (%s)",
			      norm[_i].rec, got ? got : "NULL", why ? why : "");
	free(got);
}
END_TEST

/* libspf2 compiles what passes and refuses what parapet refuses */
START_TEST(compile)
{
	const char *ok = "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a mx:example.com/24 "
			 "include:_spf.example.com exists:%{i}._e.example.com ~all";
	const char *bad = "v=spf1 exists:%{i}%{i}%{i}%{i}%{i}%{i}%{i}%{i}%{i}.example.com";

	ck_assert_int_eq(spf_record_compile_test(ok, strlen(ok)), 0);
	ck_assert_int_eq(spf_record_compile_test(bad, strlen(bad)), 1);
	ck_assert_int_eq(spf_record_compile_test("v=spf1 a:x.example.com -all", 27), 0);
	ck_assert_int_eq(spf_record_compile_test("v=spf1 ip4:1.1.1.1/0", 20), 0);
}
END_TEST

/* ---------------------------------------------------------------- targets */

/* what spf_record_targets finds, "KIND:name" joined by spaces (R record,
 * A address, M mx), for a record of example.com */
static const struct {
	const char *rec;
	const char *want;
} targ[] = {
	{ "v=spf1 include:_spf.google.com ~all", "R:_spf.google.com" },
	{ "v=spf1 -include:a.example +a mx/24 a:b.example/24//64 mx:c.example -all",
	  "R:a.example A:example.com M:example.com A:b.example M:c.example" },
	{ "v=spf1 ip4:192.0.2.0/24 redirect=_spf.example.net", "R:_spf.example.net" },
	/* macros depend on the message; exists:, ptr, ip4:, all need no name */
	{ "v=spf1 include:%{d}.x.example exists:%{i}.e.example ptr ptr:p.example a:%{h} ~all",
	  "" },
	{ "v=spf1 a:a/b.example/24", "A:a/b.example" },
	{ "v=spf1", "" },
};

START_TEST(targets)
{
	struct spf_target t[10];
	char got[512] = "";
	size_t n = spf_record_targets(targ[_i].rec, "example.com", t, 10);

	for (size_t i = 0; i < n; i++) {
		strcat(got, i ? " " : "");
		strcat(got, t[i].kind == SPF_FETCH_RECORD ? "R:" : t[i].kind == SPF_FETCH_ADDR
		       ? "A:" : "M:");
		strcat(got, t[i].name);
	}
	ck_assert_msg(strcmp(got, targ[_i].want) == 0, "%s: got '%s', want '%s'", targ[_i].rec,
		      got, targ[_i].want);
}
END_TEST

/* the cap: at most max targets, the first ones */
START_TEST(targets_cap)
{
	struct spf_target t[3];

	ck_assert_uint_eq(spf_record_targets("v=spf1 a mx include:a.example include:b.example "
					     "include:c.example", "example.com", t, 3), 3);
	ck_assert_str_eq(t[2].name, "a.example");
	ck_assert_uint_eq(spf_record_targets("v=spf1 include:a.example", "example.com", t, 0), 0);
}
END_TEST

/* ---------------------------------------------------------------- attribution */

static const struct {
	const char *rec;
	char want;
	const char *ip;
	const char *mech;	/* what the detail names */
} attr[] = {
	{ "v=spf1 ip4:192.0.2.0/24 -all", '-', "198.51.100.1", "-all" },
	{ "v=spf1 ip4:192.0.2.0/24 -all", '+', "192.0.2.7", "ip4:192.0.2.0/24" },
	{ "v=spf1 ip4:10.0.0.0/8 ip6:2001:db8::/32 ~all", '+', "2001:db8::5", "ip6:2001:db8::/32" },
	{ "v=spf1 ip4:10.0.0.0/8 ip6:2001:db8::/32 ~all", '~', "2001:db9::5", "~all" },
	{ "v=spf1 a mx -all", '+', "192.0.2.1", "a or mx" },
	{ "v=spf1 -ip4:192.0.2.1 a ?all", '?', "192.0.2.2", "?all" },
	{ "v=spf1 include:_spf.example.com -all", '+', "192.0.2.1", "include:_spf.example.com" },
	{ "v=spf1 redirect=_spf.example.com", '-', "192.0.2.1", "-all" },	/* via find */
};

/* find_spf - the record of _spf.example.com, as if fetched */
static const char *find_spf(void *arg, const char *domain)
{
	(void)arg;
	return strcmp(domain, "_spf.example.com") == 0 ? "v=spf1 ip4:203.0.113.0/24 -all" : NULL;
}

START_TEST(attribution)
{
	char out[256];

	spf_record_attribute(attr[_i].rec, attr[_i].want, attr[_i].ip, find_spf, NULL, out,
			     sizeof(out));
	ck_assert_msg(strcmp(out, attr[_i].mech) == 0, "%s for %c %s: got '%s', want '%s'",
		      attr[_i].rec, attr[_i].want, attr[_i].ip, out, attr[_i].mech);
}
END_TEST

/* ---------------------------------------------------------------- identities */

/* scan_with - a message from ip/helo/from through the pipeline; the
 * resolver points at a closed port, so a lookup would be a temperror */
static struct scan *scan_with(struct engine *e, const char *ip, const char *helo,
			      const char *from)
{
	struct scan *sc = scan_new(e);
	const char *text = "Subject: x\n\nbody\n";

	msg_set_client(sc->msg, ip, NULL, helo);
	msg_set_from(sc->msg, from);
	msg_add_rcpt(sc->msg, "<b@rcpt.test>");
	mboxfile_feed(sc, text, strlen(text));
	scan_finish(sc);
	return sc;
}

START_TEST(eight_bit)
{
	struct engine *e = unit_engine("dns_nameservers = 127.0.0.1:9\ndns_timeout_ms = 200\n", "");
	double t = now_ms();

	/* 8-bit domain: none, 8-bit local part: permerror, 8-bit HELO: none;
	 * none of them waits for DNS */
	struct scan *sc = scan_with(e, "192.0.2.1", "h\xc3\xa9lo.example", "<a@d\xc3\xa9.example>");
	ck_assert_ptr_nonnull(unit_detail(sc, "SPF_NONE"));
	ck_assert_ptr_nonnull(strstr(unit_detail(sc, "SPF_NONE"), "8-bit"));
	ck_assert_ptr_nonnull(unit_detail(sc, "SPF_HELO_NONE"));
	ck_assert_int_eq(sc->spf_result, AUTH_NONE);
	scan_free(sc);
	sc = scan_with(e, "192.0.2.1", "h\xc3\xa9lo.example", "<j\xc3\xbcrg@example.com>");
	ck_assert_ptr_nonnull(unit_detail(sc, "SPF_PERMERROR"));
	ck_assert_int_eq(sc->spf_result, AUTH_PERMERROR);
	ck_assert_str_eq(sc->spf_domain, "example.com");
	/* the spf stage runs first, so its item comes first (DKIM and DMARC
	 * add theirs after it) */
	ck_assert_msg(sc->nauthres >= 1 && strstr(sc->authres[0], "spf=permerror smtp.mailfrom="),
		      "%s", sc->nauthres ? sc->authres[0] : "(none)");
	scan_free(sc);
	ck_assert_msg(now_ms() - t < 150, "took %.0f ms", now_ms() - t);
	/* no client address: no SPF at all */
	sc = scan_with(e, NULL, "helo.example", "<a@example.com>");
	for (size_t i = 0; i < sc->hits.n; i++)
		ck_assert_msg(strncmp(sc->hits.v[i].name, "SPF_", 4) != 0, "%s", sc->hits.v[i].name);
	for (size_t i = 0; i < sc->nauthres; i++)	/* dkim= and dmarc= only */
		ck_assert_msg(strncmp(sc->authres[i], "spf=", 4) != 0, "%s", sc->authres[i]);
	scan_free(sc);
	engine_unref(e);
}
END_TEST

/* a resolver that never answers: temperror by the deadline, never later */
START_TEST(deadline)
{
	struct engine *e = unit_engine("dns_nameservers = 127.0.0.1:9\ndns_timeout_ms = 300\n", "");
	double t = now_ms();
	struct scan *sc = scan_with(e, "2001:db8::1", "mail.example.com", "<a@example.com>");
	double ms = now_ms() - t;

	ck_assert_ptr_nonnull(unit_detail(sc, "SPF_TEMPERROR"));
	ck_assert_ptr_nonnull(unit_detail(sc, "SPF_HELO_TEMPERROR"));
	ck_assert_int_eq(sc->spf_result, AUTH_TEMPERROR);
	ck_assert_msg(ms < 300 + 500, "took %.0f ms", ms);
	scan_free(sc);
	engine_unref(e);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("spf");
	TCase *tc = tcase_create("spf");

	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, precheck, 0, sizeof(pre) / sizeof(pre[0]));
	tcase_add_test(tc, precheck_caps);
	tcase_add_loop_test(tc, normalize, 0, sizeof(norm) / sizeof(norm[0]));
	tcase_add_test(tc, compile);
	tcase_add_loop_test(tc, targets, 0, sizeof(targ) / sizeof(targ[0]));
	tcase_add_test(tc, targets_cap);
	tcase_add_loop_test(tc, attribution, 0, sizeof(attr) / sizeof(attr[0]));
	tcase_add_test(tc, eight_bit);
	tcase_add_test(tc, deadline);
	suite_add_tcase(s, tc);
	return unit_main(s);
}
