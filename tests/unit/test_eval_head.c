/*
 * test_eval_head.c - SpamAssassin's remaining HeaderEval tests
 * (rules/eval_date.c, rules/eval_head.c) through the pipeline, each
 * case's answer being what SpamAssassin 4 answers on the same headers.
 */
#include "autoconfig.h"

#include "unit.h"
#include "mail/message.h"
#include "rules/eval.h"

static const char RULES[] =
	"header DATE_IN_PAST_03_06 eval:check_for_shifted_date('-6', '-3')\n"
	"header DATE_IN_PAST_96_XX eval:check_for_shifted_date('undef', '-96')\n"
	"header DATE_IN_FUTURE_03_06 eval:check_for_shifted_date('3', '6')\n"
	"header MSGID_OUTLOOK_INVALID eval:check_outlook_message_id()\n"
	"header FORGED_HOTMAIL_RCVD eval:check_for_forged_hotmail_received_headers()\n"
	"header FORGED_HOTMAIL_RCVD2 eval:check_for_no_hotmail_received_headers()\n"
	"header FORGED_YAHOO_RCVD eval:check_for_forged_yahoo_received_headers()\n"
	"header FORGED_GMAIL_RCVD eval:check_for_forged_gmail_received_headers()\n"
	"header GATED_THROUGH_RCVD_REMOVER eval:gated_through_received_hdr_remover()\n"
	"header SORTED_RECIPS eval:sorted_recipients()\n"
	"header SUSPICIOUS_RECIPS eval:similar_recipients('0.65','undef')\n"
	"header LOCALPART_IN_SUBJECT eval:check_for_to_in_subject('user')\n"
	"header SUBJ_ILLEGAL_CHARS eval:check_illegal_chars('Subject','0.00','2')\n"
	"header RATWARE_NAME_ID eval:check_ratware_name_id()\n"
	"header ENV_AND_HDR_FROM_MATCH eval:check_for_matching_env_and_hdr_from()\n"
	"header HEADER_COUNT_CTYPE eval:check_header_count_range('Content-Type','2','999')\n"
	"header UNRESOLVED_TEMPLATE eval:check_unresolved_template()\n"
	"header FORGED_RCVD_TRAIL eval:check_for_forged_received_trail()\n";

#define RCVD "Received: from a.example (a.example [192.0.2.1])\n\tby mx.example; "

#define RCVD2 "Received: from b.example (b.example [192.0.2.2])\n\tby mx.example; Tue, 1 Jan 2002 10:00:00 +0000\n"

static const struct {
	const char *name, *hdrs, *hit, *miss;
} cases[] = {
	{ "forged trail", "Received: from a.one.example (a.one.example [64.1.1.1])\n\tby mx.two.example; "
	  "Tue, 1 Jan 2002 10:00:00 +0000\n"
	  "Received: from b.three.example (b.three.example [64.1.1.2])\n\tby c.four.example; "
	  "Tue, 1 Jan 2002 10:00:00 +0000\n"
	  "Received: from d.five.example (d.five.example [64.1.1.3])\n\tby e.six.example; "
	  "Tue, 1 Jan 2002 10:00:00 +0000\n", "FORGED_RCVD_TRAIL", "" },
	{ "consistent trail", "Received: from a.one.example (a.one.example [64.1.1.1])\n\tby mx.two.example; "
	  "Tue, 1 Jan 2002 10:00:00 +0000\n"
	  "Received: from b.three.example (b.three.example [64.1.1.2])\n\tby c.one.example; "
	  "Tue, 1 Jan 2002 10:00:00 +0000\n"
	  "Received: from d.five.example (d.five.example [64.1.1.3])\n\tby e.three.example; "
	  "Tue, 1 Jan 2002 10:00:00 +0000\n", "", "FORGED_RCVD_TRAIL" },
	{ "sorted recipients", "To: a1@x.example, a2@x.example, b@y.example, c@z.example\n"
	  "Cc: d@x.example, e@y.example, f@z.example\n", "SORTED_RECIPS", "" },
	{ "unsorted recipients", "To: a1@x.example, a2@x.example, b@y.example, c@z.example\n"
	  "Cc: f@x.example, e@y.example, d@z.example\n", "", "SORTED_RECIPS" },
	{ "similar recipients", "To: aa1@x.example, aa2@x.example, aa3@x.example, aa4@x.example, "
	  "aa5@x.example\n", "SUSPICIOUS_RECIPS", "" },
	{ "different recipients", "To: a@p.example, b@q.example, c@r.example, d@s.example, "
	  "e@t.example\n", "", "SUSPICIOUS_RECIPS" },
	{ "user name in Subject", "To: bob@x.example\nSubject: bob, you have won\n",
	  "LOCALPART_IN_SUBJECT", "" },
	{ "user name case differs", "To: bob@x.example\nSubject: Bob, you have won\n",
	  "", "LOCALPART_IN_SUBJECT" },
	/* the look for the user part before the regex ignores ASCII case
	 * as the regex does (^Q$ is caseless) */
	{ "user name alone, other case", "To: BOB@x.example\nSubject: bob\n",
	  "LOCALPART_IN_SUBJECT", "" },
	{ "user name not in Subject", "To: bob@x.example\nSubject: bo\n",
	  "", "LOCALPART_IN_SUBJECT" },
	{ "Latin-1 Subject bytes", "Subject: caf\xe9 cr\xe8me\n", "SUBJ_ILLEGAL_CHARS", "" },
	{ "UTF-8 Subject", "Subject: caf\xc3\xa9 cr\xc3\xa8me\n", "", "SUBJ_ILLEGAL_CHARS" },
	{ "one pound sign", "Subject: \xa3 5 off\xff\n", "", "SUBJ_ILLEGAL_CHARS" },
	{ "ratware id", "Message-Id: <ABCDEFGHIJKLMNOPQRSTUVWXYZAB.a@b.example>\n"
	  "From: \"Name\" <a@b.example>\n", "RATWARE_NAME_ID", "" },
	{ "envelope is From", "Return-Path: <a@sender.test>\nFrom: A <A@Sender.test>\n",
	  "ENV_AND_HDR_FROM_MATCH", "" },
	{ "envelope is not From", "Return-Path: <a@sender.test>\nFrom: c@other.test\n",
	  "", "ENV_AND_HDR_FROM_MATCH" },
	{ "two Content-Types", "Content-Type: text/plain\nContent-Type: text/html\n",
	  "HEADER_COUNT_CTYPE", "" },
	{ "same Content-Type twice", "Content-Type: text/plain\nContent-Type: text/plain\n", "",
	  "HEADER_COUNT_CTYPE" },
	{ "template", "X-Campaign: hello %FIRST_NAME\n", "UNRESOLVED_TEMPLATE", "" },
	{ "template in Subject", "Subject: hello %FIRST_NAME\n", "", "UNRESOLVED_TEMPLATE" },
	{ "no Received: gated", "Subject: x\n", "GATED_THROUGH_RCVD_REMOVER", "" },
	{ "ezmlm list", "Mailing-List: contact l-help@list.example; run by ezmlm\n"
	  "Delivered-To: mailing list l@list.example\n"
	  "Received: (qmail 123 invoked from network); 1 Jan 2002 10:00:00 -0000\n",
	  "GATED_THROUGH_RCVD_REMOVER", "" },
	{ "plain Received: not gated", RCVD2, "", "GATED_THROUGH_RCVD_REMOVER" },
	{ "hotmail From, foreign relay", RCVD2 "From: x@hotmail.com\n", "FORGED_HOTMAIL_RCVD2",
	  "FORGED_HOTMAIL_RCVD" },
	{ "HELO hotmail.com", "Received: from hotmail.com (b.example [192.0.2.2])\n\tby mx.example; "
	  "Tue, 1 Jan 2002 10:00:00 +0000\n", "FORGED_HOTMAIL_RCVD", "FORGED_HOTMAIL_RCVD2" },
	{ "genuine hotmail", "Received: from hotmail.com (f135.law8.hotmail.com [216.33.241.135])\n"
	  "\tby mx.example; Tue, 1 Jan 2002 10:00:00 +0000\nX-Originating-IP: [192.0.2.9]\n"
	  "From: x@hotmail.com\n", "", "FORGED_HOTMAIL_RCVD2" },
	{ "yahoo From, foreign relay", RCVD2 "From: x@yahoo.com\n", "FORGED_YAHOO_RCVD", "" },
	{ "yahoo web mail", "Received: from [192.0.2.7] by web1.mail.yahoo.com via HTTP; "
	  "Tue, 1 Jan 2002 10:00:00 PST\nFrom: x@yahoo.com\n", "", "FORGED_YAHOO_RCVD" },
	{ "gmail From, foreign relay", RCVD2 "From: x@gmail.com\n", "FORGED_GMAIL_RCVD", "" },
	{ "gmail X-Received", RCVD2 "X-Received: by 10.1.2.3 with SMTP id abc\nFrom: x@gmail.com\n",
	  "", "FORGED_GMAIL_RCVD" },
	{ "date 4h before", RCVD "Tue, 1 Jan 2002\n\t14:00:00 +0000\nDate: Tue, 1 Jan 2002 10:00:00 +0000\n",
	  "DATE_IN_PAST_03_06", "DATE_IN_FUTURE_03_06" },
	{ "date 4h after", RCVD "Tue, 1 Jan 2002 06:00:00 +0000\nDate: Tue, 1 Jan 2002 10:00:00 +0000\n",
	  "DATE_IN_FUTURE_03_06", "DATE_IN_PAST_03_06" },
	{ "closest Received wins", RCVD "Tue, 1 Jan 2002 06:00:00 +0000\n" RCVD
	  "Tue, 1 Jan 2002 10:30:00 +0000\nDate: Tue, 1 Jan 2002 10:00:00 +0000\n",
	  "", "DATE_IN_FUTURE_03_06" },
	{ "Resent-Date first", RCVD "Tue, 10 Jan 2002 10:00:00 +0000\n"
	  "Resent-Date: Tue, 1 Jan 2002 10:00:00 +0000\nDate: Tue, 10 Jan 2002 10:00:00 +0000\n",
	  "DATE_IN_PAST_96_XX", "DATE_IN_PAST_03_06" },
	{ "no Received", "Date: Tue, 1 Jan 2002 10:00:00 +0000\n", "", "DATE_IN_PAST_96_XX" },
	{ "fetchmail hop left out",
	  "Received: from localhost (localhost [127.0.0.1])\n\tby h.example; Tue, 1 Jan 2002 10:00:00 +0000\n"
	  "Received: from p.example\n\tby localhost with POP3 (fetchmail-5.9.0)\n\tfor x; Tue, 1 Jan 2002 10:00:00 +0000\n"
	  RCVD "Tue, 1 Jan 2002 14:00:00 +0000\nDate: Tue, 1 Jan 2002 10:00:00 +0000\n",
	  "DATE_IN_PAST_03_06", "DATE_IN_FUTURE_03_06" },
	{ "outlook id far from the dates", RCVD "Tue, 1 Jan 2002 10:00:00 +0000\n"
	  "Date: Tue, 1 Jan 2002 10:00:00 +0000\n"
	  "Message-Id: <000001234567$89abcdef$01234567@host>\n", "MSGID_OUTLOOK_INVALID", "" },
	/* int(1009879200 * x + y) = 29463211 = 0x1c192ab */
	{ "outlook id matching the Date", RCVD "Tue, 1 Jan 2002 10:00:00 +0000\n"
	  "Date: Tue, 1 Jan 2002 10:00:00 +0000\n"
	  "Message-Id: <000001c192ab$89abcdef$01234567@host>\n", "", "MSGID_OUTLOOK_INVALID" },
	{ "outlook id matching the Received", RCVD "Tue, 1 Jan 2002 10:00:00 +0000\n"
	  "Date: Tue, 1 Jan 2005 10:00:00 +0000\n"
	  "Message-Id: <000001c192ab$89abcdef$01234567@host>\n", "", "MSGID_OUTLOOK_INVALID" },
	{ "X-Message-Id read first", RCVD "Tue, 1 Jan 2002 10:00:00 +0000\n"
	  "Date: Tue, 1 Jan 2002 10:00:00 +0000\nX-Message-Id: <a@b>\n"
	  "Message-Id: <000001234567$89abcdef$01234567@host>\n", "", "MSGID_OUTLOOK_INVALID" },
};

START_TEST(evals)
{
	struct engine *e = unit_engine("", RULES);
	char text[2048];

	snprintf(text, sizeof(text), "%s%s%s\nbody\n", cases[_i].hdrs,
		 strstr(cases[_i].hdrs, "From:") ? "" : "From: a@sender.test\n",
		 strstr(cases[_i].hdrs, "To:") ? "" : "To: b@rcpt.test\n");
	struct scan *sc = unit_scan(e, text);
	if (*cases[_i].hit)
		ck_assert_msg(unit_detail(sc, cases[_i].hit) != NULL, "%s: %s missing",
			      cases[_i].name, cases[_i].hit);
	if (*cases[_i].miss)
		ck_assert_msg(unit_detail(sc, cases[_i].miss) == NULL, "%s: %s hit",
			      cases[_i].name, cases[_i].miss);
	scan_free(sc);
	engine_unref(e);
}
END_TEST

/* the date rules of one message work out its date_diff once: with a
 * cache, the value kept there answers every later call */
START_TEST(shifted_date_cached)
{
	struct msg *m = msg_new(1024);
	struct eval_cache cache = { .date_diff_set = false };
	struct eval_env env = { .m = m, .cache = &cache };
	struct eval_call past = { 0 }, future = { 0 };

	msg_add_header(m, "Received", " from a.example (a.example [192.0.2.1])\n\tby mx.example; "
		       "Tue, 1 Jan 2002 10:00:00 +0000");
	msg_add_header(m, "Date", " Tue, 1 Jan 2002 06:00:00 +0000");
	ck_assert_ptr_null(eval_parse("check_for_shifted_date('-6', '-3')", &past));
	ck_assert_ptr_null(eval_parse("check_for_shifted_date('3', '6')", &future));
	ck_assert_uint_eq(eval_run(&past, &env), 1);
	ck_assert(cache.date_diff_set);
	ck_assert_int_eq(cache.date_diff, -4 * 3600);
	cache.date_diff = 4 * 3600;	/* what a later rule reads */
	ck_assert_uint_eq(eval_run(&future, &env), 1);
	ck_assert_uint_eq(eval_run(&past, &env), 0);
	env.cache = NULL;		/* no cache: worked out again */
	ck_assert_uint_eq(eval_run(&past, &env), 1);
	eval_call_clear(&past);
	eval_call_clear(&future);
	msg_free(m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("eval_head");
	TCase *tc = tcase_create("eval_head");
	tcase_add_loop_test(tc, evals, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, shifted_date_cached);
	suite_add_tcase(s, tc);
	return unit_main(s);
}
