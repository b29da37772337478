/*
 * test_session.c - session state and the shutdown drain's accounting.
 *
 * drain_diagnostics_race is meant for the ThreadSanitizer build
 * (scripts/test.sh, build-tsan): one thread streams messages through a
 * session while another runs the drain's "gave up on qid=... from=...
 * last_step=..." logger over the sessions in flight, as at the end of a
 * drain that timed out.  Under TSan a read of a field the session's thread
 * writes without drain_lock is a report, and the report fails the run
 * (exit status 66).  Without TSan it checks the in-flight count.
 */
#include "autoconfig.h"

#include <pthread.h>
#include <stdatomic.h>

#include "daemon/session.h"
#include "unit.h"

#define STREAM_MESSAGES 300

static atomic_bool stream_done;

/* stream - messages one after another on one session, each with a new
 * queue id at end of message (as Postfix gives it) */
static void *stream(void *arg)
{
	struct session *s = arg;

	for (int i = 0; i < STREAM_MESSAGES; i++) {
		char qid[32];

		snprintf(qid, sizeof(qid), "MAIL%d", i);
		ck_assert_int_eq(session_mail(s, "<a@sender.test>", NULL, qid), SESSION_CONTINUE);
		session_rcpt(s, "<b@rcpt.test>", true);
		session_header(s, "Subject", " drain");
		session_eoh(s);
		session_body(s, "body\r\n", 6);
		snprintf(qid, sizeof(qid), "EOM%d", i);
		ck_assert_ptr_nonnull(session_eom(s, qid));
		session_end_message(s);
	}
	atomic_store(&stream_done, true);
	return NULL;
}

START_TEST(drain_diagnostics_race)
{
	struct engine *e = unit_engine("", "body B /body/\nscore B 0.1\n");
	/* no client address: no SPF lookups; no From: no DMARC lookups */
	struct session *s = session_open(NULL, "client.test");
	pthread_t t;
	int rounds = 0;

	engine_publish(e);
	atomic_store(&stream_done, false);
	ck_assert_int_eq(pthread_create(&t, NULL, stream, s), 0);
	while (!atomic_load(&stream_done)) {
		/* a 1 ms drain that gives up while a message is in flight
		 * reads that session's qid, from and last step */
		int left = session_drain_wait(1);
		ck_assert_int_ge(left, 0);
		ck_assert_int_le(left, 1);
		rounds++;
	}
	pthread_join(t, NULL);
	ck_assert_int_gt(rounds, 0);
	ck_assert_int_eq(session_drain_wait(1), 0);
	session_close(s);
	engine_publish(NULL);
}
END_TEST

START_TEST(drain_counts_messages_in_flight)
{
	struct engine *e = unit_engine("", "");
	struct session *a = session_open(NULL, NULL), *b = session_open(NULL, NULL);

	engine_publish(e);
	ck_assert_int_eq(session_drain_wait(1), 0);
	ck_assert_int_eq(session_mail(a, "<a@sender.test>", NULL, "Q1"), SESSION_CONTINUE);
	ck_assert_int_eq(session_mail(b, "<b@sender.test>", NULL, "Q2"), SESSION_CONTINUE);
	ck_assert_int_eq(session_drain_wait(1), 2);
	session_end_message(a);
	ck_assert_int_eq(session_drain_wait(1), 1);
	/* a second MAIL FROM on a connection ends the first message */
	ck_assert_int_eq(session_mail(b, "<c@sender.test>", NULL, "Q3"), SESSION_CONTINUE);
	ck_assert_int_eq(session_drain_wait(1), 1);
	session_close(b);
	ck_assert_int_eq(session_drain_wait(1), 0);
	session_close(a);
	engine_publish(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("session");
	TCase *tc = tcase_create("session");

	tcase_set_timeout(tc, 120);	/* the TSan build is several times slower */
	tcase_add_test(tc, drain_counts_messages_in_flight);
	tcase_add_test(tc, drain_diagnostics_race);
	suite_add_tcase(s, tc);
	return unit_main(s);
}
