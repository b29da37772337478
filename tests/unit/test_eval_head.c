/*
 * test_eval_head.c - SpamAssassin's remaining HeaderEval tests
 * (rules/eval_date.c, rules/eval_head.c) through the pipeline, each
 * case's answer being what SpamAssassin 4 answers on the same headers.
 */
#include "autoconfig.h"

#include "unit.h"

static const char RULES[] =
	"header DATE_IN_PAST_03_06 eval:check_for_shifted_date('-6', '-3')\n"
	"header DATE_IN_PAST_96_XX eval:check_for_shifted_date('undef', '-96')\n"
	"header DATE_IN_FUTURE_03_06 eval:check_for_shifted_date('3', '6')\n"
	"header MSGID_OUTLOOK_INVALID eval:check_outlook_message_id()\n"
	"header FORGED_HOTMAIL_RCVD eval:check_for_forged_hotmail_received_headers()\n"
	"header FORGED_HOTMAIL_RCVD2 eval:check_for_no_hotmail_received_headers()\n"
	"header FORGED_YAHOO_RCVD eval:check_for_forged_yahoo_received_headers()\n"
	"header FORGED_GMAIL_RCVD eval:check_for_forged_gmail_received_headers()\n"
	"header GATED_THROUGH_RCVD_REMOVER eval:gated_through_received_hdr_remover()\n";

#define RCVD "Received: from a.example (a.example [192.0.2.1])\n\tby mx.example; "

#define RCVD2 "Received: from b.example (b.example [192.0.2.2])\n\tby mx.example; Tue, 1 Jan 2002 10:00:00 +0000\n"

static const struct {
	const char *name, *hdrs, *hit, *miss;
} cases[] = {
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

	snprintf(text, sizeof(text), "%s%sTo: b@rcpt.test\n\nbody\n", cases[_i].hdrs,
		 strstr(cases[_i].hdrs, "From:") ? "" : "From: a@sender.test\n");
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

int main(void)
{
	Suite *s = suite_create("eval_head");
	TCase *tc = tcase_create("eval_head");
	tcase_add_loop_test(tc, evals, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	suite_add_tcase(s, tc);
	return unit_main(s);
}
