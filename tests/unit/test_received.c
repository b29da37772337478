/*
 * test_received.c - Received fields into relays as SpamAssassin's
 * Received.pm does (mail/received.c), the trusted/untrusted split, and
 * the RelayEval and FreeMail evals (rules/eval_relay.c, eval_freemail.c)
 * through whole scans.  Expected values are SpamAssassin 4.0's own
 * (spamassassin -D received-header) on corpus fields.
 */
#include "autoconfig.h"

#include "unit.h"
#include "base/arena.h"
#include "mail/received.h"

static const struct {
	const char *line;
	int rc;
	const char *want;	/* "ip rdns helo by ident id" */
} lines[] = {
	/* qmail over QMQP, the address in brackets without an ident: the
	 * name is rDNS and HELO (as SpamAssassin 4.0.1 parses it) */
	{ "from 177.139.227.166 ([177.139.227.166]) by sparc.isl.net with QMQP; Aug, 22 2002 "
	  "4:47:16 AM -0000",
	  1, "177.139.227.166 177.139.227.166 177.139.227.166 sparc.isl.net - -" },
	{ "from mail.x.example (q@192.0.2.9) by y.example with QMQP; 1 Jan 2002 00:00:00 -0000",
	  1, "192.0.2.9 mail.x.example mail.x.example y.example q -" },
	{ "from lugh.tuatha.org (root@lugh.tuatha.org [194.125.145.45])\n\tby dogma.slashnull.org "
	  "(8.11.6/8.11.6) with ESMTP id g7MGbKZ14933 for <jm@jmason.org>; Thu, 22 Aug 2002 17:37:20 +0100",
	  1, "194.125.145.45 lugh.tuatha.org lugh.tuatha.org dogma.slashnull.org root g7MGbKZ14933" },
	{ "from localhost (jalapeno [127.0.0.1]) by jmason.org (Postfix) with ESMTP id 3F1FB16F17 "
	  "for <jm@localhost>; Tue, 3 Dec 2002 11:57:05 +0000 (GMT)",
	  1, "127.0.0.1 jalapeno localhost jmason.org - 3F1FB16F17" },
	{ "from unknown (HELO mta21.bigpong.com) (154.156.51.77) by pet.vosni.net with SMTP; "
	  "15 Sep 2002 04:36:52 -0900",
	  1, "154.156.51.77 - mta21.bigpong.com pet.vosni.net - -" },
	{ "from 01-023.044.popsite.net ([64.24.247.23] helo=host) by lnx1.binotto.com.br with esmtp "
	  "(Exim 3.12 #1 (Debian)) id 15TVLd-0002dt-00; Sun, 05 Aug 2001 18:22:10 -0300",
	  1, "64.24.247.23 01-023.044.popsite.net host lnx1.binotto.com.br - 15TVLd-0002dt-00" },
	{ "from mxs.mail.ru ([207.191.164.129]) by gmao1.ose56.com with Microsoft "
	  "SMTPSVC(5.0.2195.4453); Tue, 14 May 2002 14:30:38 +0200",
	  1, "207.191.164.129 - mxs.mail.ru gmao1.ose56.com - -" },
	{ "from deepeddy.vircio.com (@[10.1.2.1]) (envelope-sender <cwg-exmh@DeepEddy.Com>) by "
	  "austin-jump.vircio.com (qmail-ldap-1.03) with SMTP for <exmh-workers@redhat.com>; "
	  "22 Aug 2002 17:35:15 -0000",
	  1, "10.1.2.1 - deepeddy.vircio.com austin-jump.vircio.com - -" },
	{ "from [193.251.130.111] by web21503.mail.yahoo.com via HTTP; Mon, 02 Sep 2002 14:11:45 CEST",
	  1, "193.251.130.111 - - web21503.mail.yahoo.com - -" },
	{ "from mx1.mail.yahoo.com ([172.191.119.34]) by shreemail.shreecementltd.com (Lotus Domino "
	  "Release 5.0.4) with ESMTP id 2001010215584608:1459 ; Tue, 2 Jan 2001 15:58:46 +0530",
	  1, "172.191.119.34 - mx1.mail.yahoo.com shreemail.shreecementltd.com - 2001010215584608:1459" },
	/* ")by" is given its space back: with nothing else to shorten the
	 * line (no date, no runs of white space) that space needs room of
	 * its own (libFuzzer found the write one byte past the copy) */
	{ "from unknown (HELO mta21.bigpong.com) (154.156.51.77)by pet.vosni.net with SMTP",
	  1, "154.156.51.77 - mta21.bigpong.com pet.vosni.net - -" },
	{ "(qmail 17117 invoked by uid 500); 29 Apr 2002 17:38:04 -0000", 0, NULL },
	{ "from nobody by usw-sf-web3.sourceforge.net with local (Exim 3.33 #1 (Debian)) id "
	  "17nndG-0005Q3-00 for <zzzz@jmason.org>; Sat, 07 Sep 2002 15:00:46 -0700", 0, NULL },
	{ "from jalapeno [127.0.0.1] by localhost with IMAP (fetchmail-5.9.0) for jm@localhost "
	  "(single-drop); Tue, 03 Dec 2002 11:57:05 +0000 (GMT)", 0, NULL },
	{ "from somewhere over the rainbow", -1, NULL },
};

/* field - "-" for an empty field */
static const char *field(const char *s)
{
	return *s ? s : "-";
}

START_TEST(parse)
{
	struct relay r;
	bool fetcher;
	int rc = received_parse_line(lines[_i].line, &r, &fetcher);
	ck_assert_int_eq(rc, lines[_i].rc);
	if (rc == 1) {
		char got[1024];
		snprintf(got, sizeof(got), "%s %s %s %s %s %s", field(r.ip), field(r.rdns),
			 field(r.helo), field(r.by), field(r.ident), field(r.id));
		ck_assert_str_eq(got, lines[_i].want);
	}
	received_relay_clear(&r);
}
END_TEST

/* envfrom: Received.pm's /(?:return-path:? |envelope-(?:sender|from)[ =])(\S+)\b/i,
 * the first marker in the line whichever key it is (angle brackets go
 * later) */
static const struct {
	const char *line, *want;	/* want "-": none */
} envfroms[] = {
	{ "from a.example (a.example [192.0.2.1]) by b.example with ESMTP (Envelope-From <x@y.example>) "
	  "(return-path: <z@w.example>) id 1", "x@y.example" },
	{ "from a.example (a.example [192.0.2.1]) by b.example with ESMTP (return-path: <z@w.example>) "
	  "(ENVELOPE-SENDER=q@r.example) id 1", "z@w.example" },
	{ "from a.example (a.example [192.0.2.1]) by b.example (envelope-sender=q@r.example.) id 1",
	  "q@r.example" },
	{ "from a.example (a.example [192.0.2.1]) by b.example (Return-Path:<n@o.example> "
	  "envelope-fromp@q.example) id 1", "-" },
	{ "from a.example (a.example [192.0.2.1]) by b.example (return-pat envelope-fro "
	  "RETURN-PATH e@f.example) id 1", "e@f.example" },
};

START_TEST(envfrom)
{
	struct relay r;
	bool fetcher;
	int rc = received_parse_line(envfroms[_i].line, &r, &fetcher);
	ck_assert_int_eq(rc, 1);
	ck_assert_str_eq(r.envfrom ? r.envfrom : "-", envfroms[_i].want);
	received_relay_clear(&r);
}
END_TEST

/* gate_same - a line parses to the same relay with received_gate off
 * (every format searched) as with it on: the parse table's lines, the
 * envfrom ones, and lines whose formats' literal parts occur out of
 * order, overlap, or only inside an optional group */
START_TEST(gate_same)
{
	static const char *const odd[] = {
		"from a.example by b.example ;",
		"from x (y [192.0.2.1]) (z) by w with ESMTP",
		"from x ([192.0.2.1]:25) by w ",
		"from x [192.0.2.1]:25 by w ",
		"from x (HELO y) (z@192.0.2.1) (envelope-sender <q@r>) by w (q) with QMQP",
		"from x by w (qmail-ldap-1.03) with SMTP",
		"from ) by ( [192.0.2.1] by x",
		"from %s (%i) by %s with ",
		"from a (b@localhost) by c (",
		"FROM a (b [192.0.2.1]) BY c ID d",
		"(from a@localhost) by b ",
	};
	const char *v[64];
	size_t n = 0;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		v[n++] = lines[i].line;
	for (size_t i = 0; i < sizeof(envfroms) / sizeof(envfroms[0]); i++)
		v[n++] = envfroms[i].line;
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		v[n++] = odd[i];
	for (size_t i = 0; i < n; i++) {
		char got[2][2048];
		for (int g = 0; g < 2; g++) {
			struct relay r;
			bool fetcher;
			received_gate = g == 1;
			int rc = received_parse_line(v[i], &r, &fetcher);
			snprintf(got[g], sizeof(got[g]), "%d %d %s %s %s %s %s %s %s %s", rc, fetcher,
				 r.ip ? r.ip : "-", r.rdns ? r.rdns : "-", r.helo ? r.helo : "-",
				 r.by ? r.by : "-", r.ident ? r.ident : "-", r.id ? r.id : "-",
				 r.auth ? r.auth : "-", r.envfrom ? r.envfrom : "-");
			received_relay_clear(&r);
		}
		ck_assert_msg(strcmp(got[0], got[1]) == 0, "%s: %s against %s", v[i], got[1], got[0]);
	}
	received_gate = true;
}
END_TEST

/* in_arena - received_build_in gives what received_build gives, every
 * string in the arena (the lines of the parse table, and ones whose
 * fields are replaced while parsed: ident out of rDNS, helo= and ident=
 * comments, an auth marker) */
START_TEST(in_arena)
{
	static const char *const extra[] = {
		"from host.example (IDENT:joe@host.example [192.0.2.9]) by mx.example (8.12.8/8.12.8) "
		"with ESMTP id h1; Mon, 1 Jan 2024 00:00:00 +0000",
		"from [192.0.2.10] (helo=x.example ident=bob) by mx.example with esmtpsa (Exim 4.96) id e1",
		"from c.example (c.example [192.0.2.11]) by mx.example (Postfix) with ESMTPSA id C1",
	};
	size_t nl = sizeof(lines) / sizeof(lines[0]), ne = sizeof(extra) / sizeof(extra[0]);
	const char *v[64];
	size_t n = 0;
	for (size_t i = 0; i < nl; i++)
		v[n++] = lines[i].line;
	for (size_t i = 0; i < ne; i++)
		v[n++] = extra[i];
	struct arena a;
	arena_init(&a, 1 << 24);
	struct relays *m = received_build(v, n, NULL);
	struct relays *in = received_build_in(v, n, NULL, &a);
	ck_assert(a.used > 0);
	ck_assert_uint_eq(m->nall, in->nall);
	ck_assert_uint_eq(m->unparseable, in->unparseable);
	for (size_t i = 0; i < m->nall; i++) {
		const struct relay *x = &m->all[i], *y = &in->all[i];
		ck_assert_ptr_null(x->arena);
		ck_assert_ptr_eq(y->arena, &a);
		ck_assert_str_eq(x->ip, y->ip);
		ck_assert_str_eq(x->rdns, y->rdns);
		ck_assert_str_eq(x->helo, y->helo);
		ck_assert_str_eq(x->by, y->by);
		ck_assert_str_eq(x->ident, y->ident);
		ck_assert_str_eq(x->id, y->id);
		ck_assert_str_eq(x->auth, y->auth);
		ck_assert_str_eq(x->envfrom ? x->envfrom : "-", y->envfrom ? y->envfrom : "-");
	}
	for (int k = 0; k < RELAYS_NSETS; k++) {
		ck_assert_uint_eq(m->n[k], in->n[k]);
		ck_assert_str_eq(m->str[k], in->str[k]);
	}
	ck_assert(strstr(in->str[RELAYS_UNTRUSTED], "ident=joe") != NULL);
	ck_assert(strstr(in->str[RELAYS_UNTRUSTED], "ident=bob") != NULL);
	ck_assert(strstr(in->str[RELAYS_UNTRUSTED], "auth=ESMTPSA") != NULL);
	received_free(m);
	ck_assert_ptr_null(received_free(in));	/* the arena's */
	arena_free(&a);
}
END_TEST

/* the split: SpamAssassin's inference without trusted_networks (private
 * addresses trusted up to the first public one), and with it */
START_TEST(split)
{
	const char *v[] = {
		"from a.example (a.example [10.0.0.2]) by mx.example (Postfix) with ESMTP id AAA1",
		"from b.example (b.example [192.0.2.7]) by a.example (Postfix) with ESMTP id BBB1",
		"from somewhere over the rainbow",
	};
	struct relays *rs = received_build(v, 2, NULL);
	ck_assert_uint_eq(rs->n[RELAYS_TRUSTED], 1);
	ck_assert_uint_eq(rs->n[RELAYS_UNTRUSTED], 1);
	ck_assert_str_eq(received_pseudo(rs, "X-Spam-Relays-Untrusted"),
			 "[ ip=192.0.2.7 rdns=b.example helo=b.example by=a.example ident= envfrom= "
			 "intl=0 id=BBB1 auth= msa=0 ]");
	ck_assert_str_eq(received_pseudo(rs, "X-Spam-Relays-Internal"),
			 "[ ip=10.0.0.2 rdns=a.example helo=a.example by=mx.example ident= envfrom= "
			 "intl=1 id=AAA1 auth= msa=0 ]");
	ck_assert_ptr_null(received_pseudo(rs, "X-Spam-Relays-Other"));
	received_free(rs);

	struct cidr_list nets;
	const char *err;
	ck_assert_int_eq(cidr_list_parse("192.0.2.0/24", &nets, &err), 0);
	struct relay_nets rn = { &nets, NULL, NULL };
	rs = received_build(v, 3, &rn);
	/* 10.0.0.2 is not in trusted_networks: nothing is trusted */
	ck_assert_uint_eq(rs->n[RELAYS_TRUSTED], 0);
	ck_assert_uint_eq(rs->n[RELAYS_UNTRUSTED], 2);
	ck_assert_uint_eq(rs->unparseable, 1);
	received_free(rs);
	cidr_list_free(&nets);

	/* the cap: fields past RCVD_MAX_RELAYS count as unparseable */
	const char *many[RCVD_MAX_RELAYS + 5];
	for (size_t i = 0; i < RCVD_MAX_RELAYS + 5; i++)
		many[i] = v[0];
	rs = received_build(many, RCVD_MAX_RELAYS + 5, NULL);
	ck_assert_uint_eq(rs->nall, RCVD_MAX_RELAYS);
	ck_assert_uint_eq(rs->unparseable, 5);
	received_free(rs);
}
END_TEST

/* SpamAssassin's last_trusted_relay_index and last_internal_relay_index
 * count the fields it skips inside the trusted and internal parts, and
 * ALL-TRUSTED, ALL-INTERNAL, ALL-UNTRUSTED and ALL-EXTERNAL are cut at
 * that index (PerMsgStatus::_get, +1), not at the count of relays: with an
 * unparseable field on top, the private relay below it is still internal,
 * so ALL-EXTERNAL starts at the public one (counting relays, it started
 * one field early and held the private relay's field) */
START_TEST(all_external_index)
{
	const char *v[] = {
		"from somewhere over the rainbow",
		"from a.example (a.example [10.0.0.2]) by mx.example (Postfix) with ESMTP id AAA1",
		"from b.example (b.example [192.0.2.7]) by a.example (Postfix) with ESMTP id BBB1",
	};
	struct relays *rs = received_build(v, 3, NULL);
	ck_assert_uint_eq(rs->n[RELAYS_TRUSTED], 1);
	ck_assert_uint_eq(rs->n[RELAYS_INTERNAL], 1);
	ck_assert_int_eq(rs->last_trusted, 1);
	ck_assert_int_eq(rs->last_internal, 1);
	received_free(rs);
	rs = received_build(v + 2, 1, NULL);	/* public at once: nothing trusted */
	ck_assert_int_eq(rs->last_trusted, -1);
	ck_assert_int_eq(rs->last_internal, -1);
	received_free(rs);

	struct engine *e = unit_engine("", "header EXT_PRIV ALL-EXTERNAL =~ /10\\.0\\.0\\.2/\n"
					  "header EXT_PUB ALL-EXTERNAL =~ /^Received: from b\\.example/m\n"
					  "header UNTR_PRIV ALL-UNTRUSTED =~ /10\\.0\\.0\\.2/\n"
					  "header TR_PUB ALL-TRUSTED =~ /192\\.0\\.2\\.7/\n"
					  "header TR_PRIV ALL-TRUSTED =~ /10\\.0\\.0\\.2/\n");
	struct scan *sc = unit_scan(e, "Received: from somewhere over the rainbow\n"
				    "Received: from a.example (a.example [10.0.0.2]) by mx.example "
				    "(Postfix) with ESMTP id AAA1\n"
				    "Received: from b.example (b.example [192.0.2.7]) by a.example "
				    "(Postfix) with ESMTP id BBB1\n"
				    "From: x@b.example\nSubject: s\n\nhi\n");
	ck_assert_ptr_null(unit_detail(sc, "EXT_PRIV"));
	ck_assert_ptr_nonnull(unit_detail(sc, "EXT_PUB"));
	ck_assert_ptr_null(unit_detail(sc, "UNTR_PRIV"));
	/* ALL-TRUSTED runs to the field after the trusted part, inclusive */
	ck_assert_ptr_nonnull(unit_detail(sc, "TR_PRIV"));
	ck_assert_ptr_nonnull(unit_detail(sc, "TR_PUB"));
	scan_free(sc);
	engine_unref(e);
}
END_TEST

static const char rules[] =
	"header ALL_TRUSTED eval:check_all_trusted()\nscore ALL_TRUSTED 1\n"
	"header NO_RELAYS eval:check_no_relays()\nscore NO_RELAYS 1\n"
	"header RCVD_HELO_IP_MISMATCH eval:helo_ip_mismatch()\nscore RCVD_HELO_IP_MISMATCH 1\n"
	"header NO_RDNS_DOTCOM_HELO eval:check_for_no_rdns_dotcom_helo()\nscore NO_RDNS_DOTCOM_HELO 1\n"
	"header FREEMAIL_FROM eval:check_freemail_from()\nscore FREEMAIL_FROM 1\n"
	"header FREEMAIL_RT eval:check_freemail_header('Reply-To','\\d@')\nscore FREEMAIL_RT 1\n"
	"header HEADER_FROM_DIFFERENT_DOMAINS eval:check_equal_from_domains()\n"
	"score HEADER_FROM_DIFFERENT_DOMAINS 1\n"
	"header RDNS_NONE X-Spam-Relays-Untrusted =~ /^[^\\]]+ rdns= /\nscore RDNS_NONE 1\n"
	"header ENVF EnvelopeFrom =~ /^a\\@sender\\.test$/\nscore ENVF 1\n"
	"header ENVF_ADDR EnvelopeFrom:addr =~ /^a\\@sender\\.test$/\nscore ENVF_ADDR 1\n"
	"header ENVF_NAME EnvelopeFrom:name =~ /./\nscore ENVF_NAME 1\n"
	"freemail_domains zz.example hotmail.com *.yahoo.com aa.example\nfreemail_domains mm.example\n"
	"freemail_welcomelist zed@x.example bob@hotmail.com al@y.example\n";

static const struct {
	const char *name, *msg, *hit, *miss;
} cases[] = {
	{ "all trusted", "Received: from a (a [10.1.1.1]) by b (Postfix) with ESMTP id X\n"
	  "From: a@b.example\n\nhi\n", "ALL_TRUSTED", "NO_RELAYS" },
	{ "no relays", "From: a@b.example\n\nhi\n", "NO_RELAYS", "ALL_TRUSTED" },
	{ "helo ip mismatch", "Received: from 1.2.3.4 (unknown [5.6.7.8]) by mx.example "
	  "(Postfix) with SMTP id qqq\nFrom: x@y.example\n\nhi\n", "RCVD_HELO_IP_MISMATCH",
	  "ALL_TRUSTED" },
	{ "Domino never looks up rDNS", "Received: from mx1.mail.yahoo.com ([5.6.7.8]) by "
	  "mx.example (Lotus Domino Release 5.0.4) with ESMTP id 20010102\nFrom: x@y.example\n\nhi\n",
	  "RDNS_NONE", "NO_RDNS_DOTCOM_HELO" },
	{ "dotcom helo without rdns", "Received: from hotmail.com (unknown [5.6.7.8]) by mx.example "
	  "(Postfix) with SMTP id q\nFrom: x@y.example\n\nhi\n", "NO_RDNS_DOTCOM_HELO", "ALL_TRUSTED" },
	/* only the last public relay's test stands, as in SpamAssassin 4.0.1 */
	{ "dotcom helo, then a relay with rdns", "Received: from hotmail.com (unknown [5.6.7.8]) by "
	  "mx.example (Postfix) with SMTP id q\nReceived: from mail.far.example (mail.far.example "
	  "[9.9.9.9]) by hotmail.com (Postfix) with SMTP id r\nFrom: x@y.example\n\nhi\n",
	  "RDNS_NONE", "NO_RDNS_DOTCOM_HELO" },
	{ "dotcom helo furthest", "Received: from mail.far.example (mail.far.example [9.9.9.9]) by "
	  "mx.example (Postfix) with SMTP id r\nReceived: from hotmail.com (unknown [5.6.7.8]) by "
	  "mail.far.example (Postfix) with SMTP id q\nFrom: x@y.example\n\nhi\n",
	  "NO_RDNS_DOTCOM_HELO", "ALL_TRUSTED" },
	{ "rdns none", "Received: from hotmail.com (unknown [5.6.7.8]) by mx.example "
	  "(Postfix) with SMTP id q\nFrom: x@y.example\n\nhi\n", "RDNS_NONE", "NO_RELAYS" },
	{ "freemail from", "From: Eve <eve@hotmail.com>\n\nhi\n", "FREEMAIL_FROM", "FREEMAIL_RT" },
	{ "freemail wildcard", "From: eve@mail.yahoo.com\n\nhi\n", "FREEMAIL_FROM", "NO_RDNS_DOTCOM_HELO" },
	/* the exact lists are looked up by bisection: every one of them */
	{ "freemail first of the list", "From: eve@zz.example\n\nhi\n", "FREEMAIL_FROM", "FREEMAIL_RT" },
	{ "freemail last of the list", "From: eve@aa.example\n\nhi\n", "FREEMAIL_FROM", "FREEMAIL_RT" },
	{ "freemail second line", "From: eve@mm.example\n\nhi\n", "FREEMAIL_FROM", "FREEMAIL_RT" },
	{ "freemail not listed", "From: eve@ab.example\n\nhi\n", "NO_RELAYS", "FREEMAIL_FROM" },
	{ "freemail welcomelisted", "From: bob@hotmail.com\n\nhi\n", "NO_RELAYS", "FREEMAIL_FROM" },
	{ "freemail role account", "From: support@hotmail.com\n\nhi\n", "NO_RELAYS", "FREEMAIL_FROM" },
	{ "freemail reply-to digit", "From: a@b.example\nReply-To: eve7@hotmail.com\n\nhi\n",
	  "FREEMAIL_RT", "FREEMAIL_FROM" },
	/* the envelope sender (a@sender.test) is EnvelopeFrom */
	{ "from domains differ", "From: a@sub.b.example\n\nhi\n",
	  "HEADER_FROM_DIFFERENT_DOMAINS", "FREEMAIL_FROM" },
	/* the pseudo-header EnvelopeFrom is the envelope sender; no name */
	{ "EnvelopeFrom", "From: x@y.example\n\nhi\n", "ENVF", "ENVF_NAME" },
	{ "EnvelopeFrom:addr", "From: x@y.example\n\nhi\n", "ENVF_ADDR", "ENVF_NAME" },
	{ "from domains equal", "From: a@mail.x.sender.test\n\nhi\n",
	  "NO_RELAYS", "HEADER_FROM_DIFFERENT_DOMAINS" },
};

START_TEST(evals)
{
	struct engine *e = unit_engine("", rules);
	struct scan *sc = unit_scan(e, cases[_i].msg);
	ck_assert_msg(unit_detail(sc, cases[_i].hit) != NULL, "%s: %s missing", cases[_i].name,
		      cases[_i].hit);
	ck_assert_msg(unit_detail(sc, cases[_i].miss) == NULL, "%s: %s hit", cases[_i].name,
		      cases[_i].miss);
	scan_free(sc);
	engine_unref(e);
}
END_TEST

/* check_freemail_replyto, the expectations as SpamAssassin 4.0.1 gave them
 * for the same messages (tests/sa_oracle.pl, 2026-12-07) */
static const char fm_rules[] =
	"freemail_domains gmail.com yahoo.com hotmail.com *.yahoo.com a.b.c.example.com "
	"*.b.c.d.example.com free.notatld\n"
	"header FM_REPLYTO eval:check_freemail_replyto('replyto')\nscore FM_REPLYTO 1\n"
	"header FM_REPLY eval:check_freemail_replyto('reply')\nscore FM_REPLY 1\n"
	"header FM_DEF eval:check_freemail_replyto()\nscore FM_DEF 1\n";

#define FM_HTML "MIME-Version: 1.0\nContent-Type: text/html\n\n<html><body><p>Please "

static const struct {
	const char *name, *envfrom, *msg;
	bool replyto, reply;
} fm_cases[] = {
	{ "From and Reply-To different freemails", NULL,
	  "From: Al <al@gmail.com>\nReply-To: bo@yahoo.com\n\nhi there\n", true, true },
	{ "Reply-To freemail, another in the body", NULL,
	  "From: Al <al@corp.example.com>\nReply-To: bo@gmail.com\n\n"
	  "write to cy@hotmail.com today\n", true, false },
	{ "From freemail, another in the body", NULL,
	  "From: Al <al@gmail.com>\n\nwrite to cy@yahoo.com today\n", false, true },
	{ "an address in <> is not counted", NULL,
	  "From: Al <al@gmail.com>\n\nwrite to <cy@yahoo.com> today\n", false, false },
	{ "nor one before wrote:", NULL,
	  "From: Al <al@gmail.com>\n\ncy@yahoo.com wrote: hi\n", false, false },
	{ "one before fax: is", NULL,
	  "From: Al <al@gmail.com>\n\ncy@yahoo.com fax: 123\n", false, true },
	{ "a mailto: link", NULL,
	  "From: Al <al@gmail.com>\n" FM_HTML
	  "<a href=\"mailto:cy@yahoo.com?subject=hi\">write</a> now</p></body></html>\n",
	  false, true },
	{ "five addresses in the body: not compared", NULL,
	  "From: Al <al@gmail.com>\n\ncy@yahoo.com a@b.com c@d.com e@f.com g@h.com\n",
	  false, false },
	{ "three freemails in the body: not compared", NULL,
	  "From: Al <al@gmail.com>\n\ncy@yahoo.com dd@hotmail.com ee@gmail.com\n", false, false },
	{ "a list's envelope sender", "<owner-list@lists.example.com>",
	  "From: Al <al@gmail.com>\nReply-To: bo@yahoo.com\n\nhi there\n", false, false },
	{ "an address inside a URL", NULL,
	  "From: Al <al@gmail.com>\n\nsee http://x.example.com/?e=cy@yahoo.com now\n",
	  false, false },
	{ "no valid TLD, not freemail", NULL,
	  "From: Al <al@gmail.com>\n\nmail cy@yahoo.com.invalid or dd@yahoo.co\n", false, false },
	{ "a wildcard freemail domain", NULL,
	  "From: Al <al@gmail.com>\n\nmail cy@mail.yahoo.com now\n", false, true },
	{ "the body names Reply-To itself", NULL,
	  "From: Al <al@corp.example.com>\nReply-To: bo@gmail.com\n\n"
	  "write to bo@gmail.com today\n", false, false },
	{ "From among Reply-To's", NULL,
	  "From: Al <al@gmail.com>\nReply-To: al@gmail.com, cy@yahoo.com\n\nhi\n", false, false },
	{ "a link written out in the text is the text's", NULL,
	  "From: Al <al@gmail.com>\n" FM_HTML
	  "<a href=\"mailto:cy@yahoo.com\">cy@yahoo.com</a> now</p></body></html>\n", false, true },
	{ "a link written in <> in the text", NULL,
	  "From: Al <al@gmail.com>\n" FM_HTML
	  "<a href=\"mailto:cy@yahoo.com\">&lt;cy@yahoo.com&gt;</a> now</p></body></html>\n",
	  false, false },
	{ "dots and labels", NULL,
	  "From: Al <al@gmail.com>\n\nmail a.b..c@yahoo.com or x.y@a.b.c.d.e.yahoo.com and "
	  "bo@sub.sub.sub.sub.gmail.com\n", false, true },
	{ "case does not matter", NULL,
	  "From: Al <al@gmail.com>\nReply-To: Bo <BO@Yahoo.com>\n\nhi\n", true, true },
	{ "mailto: before <> and telephone:", NULL,
	  "From: Al <al@gmail.com>\n\nmailto:cy@yahoo.com> and telephone: dd@hotmail.com  Tel: 5\n",
	  false, true },
	{ "four labels and a TLD", NULL,
	  "From: Al <al@gmail.com>\n\nmail x@a.b.c.example.com now\n", false, true },
	{ "not five labels", NULL,
	  "From: Al <al@gmail.com>\n\nmail x@a.b.c.d.example.com now\n", false, false },
	{ "a body address needs a valid TLD", NULL,
	  "From: Al <al@gmail.com>\n\nwrite x@free.notatld now\n", false, false },
	{ "Reply-To does not", NULL,
	  "From: Al <al@gmail.com>\nReply-To: x@free.notatld\n\nhi\n", true, true },
	{ "a local part of 64 bytes", NULL,
	  "From: Al <al@gmail.com>\n\nwrite aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@yahoo.com now\n", false, true },
	{ "not 65, nor its tail", NULL,
	  "From: Al <al@gmail.com>\n\nwrite baaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@yahoo.com now\n", false, false },
	{ "but in Reply-To", NULL,
	  "From: Al <al@gmail.com>\nReply-To: y@q.b.c.d.example.com\n\nhi\n", true, true },
};

START_TEST(freemail_replyto)
{
	char text[1024];
	struct engine *e = unit_engine("", fm_rules);
	struct scan *sc = scan_new(e);
	snprintf(text, sizeof(text),
		 "Received: from mx.corp.example.com (mx.corp.example.com [198.51.100.7]) by "
		 "mail.example.org (Postfix) with ESMTP id AB12; Mon, 7 Dec 2026 10:00:00 +0000\n"
		 "Date: Mon, 7 Dec 2026 10:00:00 +0000\nMessage-ID: <x1@corp.example.com>\n"
		 "To: rcpt@example.org\nSubject: hello\n%s", fm_cases[_i].msg);
	msg_set_client(sc->msg, NULL, "client.test", "helo.test");
	msg_set_from(sc->msg, fm_cases[_i].envfrom ? fm_cases[_i].envfrom : "<sender@corp.example.com>");
	msg_add_rcpt(sc->msg, "<b@rcpt.test>");
	mboxfile_feed(sc, text, strlen(text));
	scan_finish(sc);
	const char *rt = unit_detail(sc, "FM_REPLYTO"), *r = unit_detail(sc, "FM_REPLY");
	ck_assert_msg((rt != NULL) == fm_cases[_i].replyto, "%s: FM_REPLYTO %s", fm_cases[_i].name,
		      rt ? rt : "missing");
	ck_assert_msg((r != NULL) == fm_cases[_i].reply, "%s: FM_REPLY %s", fm_cases[_i].name,
		      r ? r : "missing");
	/* no argument is 'replyto' */
	ck_assert_msg((unit_detail(sc, "FM_DEF") != NULL) == fm_cases[_i].replyto, "%s: FM_DEF",
		      fm_cases[_i].name);
	scan_free(sc);
	engine_unref(e);
}
END_TEST

/* check_mailfrom_matches_rcvd and RegistryBoundaries' split_domain, the
 * expectations SpamAssassin 4.0.1's for the same messages (the envelope
 * sender from Return-Path, no MTA sender) */
static const struct {
	const char *env, *rcvd;	/* rcvd NULL: no Received field */
	bool hit;
} rp_cases[] = {
	{ "bob@example.co.uk", "mail.example.co.uk (mail.example.co.uk [192.0.2.10])", true },
	{ "bob@other.co.uk", "mail.example.co.uk (mail.example.co.uk [192.0.2.10])", false },
	{ "bob@x.example.co.uk", "mail.example.co.uk (mail.example.co.uk [192.0.2.10])", true },
	{ "b@co.uk", "smtp.a.co.uk (smtp.a.co.uk [192.0.2.10])", false },
	{ "u@school.act.edu.au", "mx.school.act.edu.au (mx.school.act.edu.au [192.0.2.10])", true },
	{ "u@other.act.edu.au", "mx.school.act.edu.au (mx.school.act.edu.au [192.0.2.10])", false },
	{ "u@city.ca.us", "mail.city.ca.us (mail.city.ca.us [192.0.2.10])", false },
	{ "u@example.com", NULL, false },
	{ "u@example.com", "mail.example.com (unknown [192.0.2.10])", false },
	{ "u@Mail.EXAMPLE.com", "mx1.example.com (mx1.example.com [192.0.2.10])", true },
	{ "u@x.pvt.k12.ca.us", "mail.x.pvt.k12.ca.us (mail.x.pvt.k12.ca.us [192.0.2.10])", true },
	{ "u@y.pvt.k12.ca.us", "mail.x.pvt.k12.ca.us (mail.x.pvt.k12.ca.us [192.0.2.10])", false },
	{ "u@localhost", "mail.example.com (mail.example.com [192.0.2.10])", false },
	/* [^@]+ before the dot may start with one: ".example.com" */
	{ "u@.example.com", "mail.example.com (mail.example.com [192.0.2.10])", true },
};

START_TEST(mailfrom_matches_rcvd)
{
	char text[1024], rcvd[512] = "";
	struct engine *e = unit_engine("", "util_rb_2tld co.uk com.au\nutil_rb_3tld act.edu.au\n"
					   "header RP eval:check_mailfrom_matches_rcvd()\nscore RP 1\n");
	if (rp_cases[_i].rcvd)
		snprintf(rcvd, sizeof(rcvd), "Received: from %s by mx.test (Postfix) with ESMTP id X1; "
			 "Mon, 7 Dec 2026 10:00:00 +0000\n", rp_cases[_i].rcvd);
	snprintf(text, sizeof(text), "Return-Path: <%s>\n%sFrom: a@b.example\nTo: c@d.example\n"
		 "Subject: s\n\nhi\n", rp_cases[_i].env, rcvd);
	struct scan *sc = scan_new(e);
	msg_set_client(sc->msg, NULL, "client.test", "helo.test");
	mboxfile_feed(sc, text, strlen(text));
	scan_finish(sc);
	ck_assert_msg((unit_detail(sc, "RP") != NULL) == rp_cases[_i].hit, "%s via %s: RP %s",
		      rp_cases[_i].env, rp_cases[_i].rcvd ? rp_cases[_i].rcvd : "-",
		      rp_cases[_i].hit ? "missing" : "hit");
	scan_free(sc);
	engine_unref(e);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("received");
	TCase *tc = tcase_create("received");
	tcase_add_loop_test(tc, parse, 0, (int)(sizeof(lines) / sizeof(lines[0])));
	tcase_add_loop_test(tc, envfrom, 0, sizeof(envfroms) / sizeof(envfroms[0]));
	tcase_add_test(tc, split);
	tcase_add_test(tc, all_external_index);
	tcase_add_test(tc, in_arena);
	tcase_add_test(tc, gate_same);
	tcase_add_loop_test(tc, evals, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_loop_test(tc, freemail_replyto, 0, (int)(sizeof(fm_cases) / sizeof(fm_cases[0])));
	tcase_add_loop_test(tc, mailfrom_matches_rcvd, 0,
			    (int)(sizeof(rp_cases) / sizeof(rp_cases[0])));
	suite_add_tcase(s, tc);
	return unit_main(s);
}
