/*
 * test_dns.c - the message's one DNS deadline (struct dns_deadline in
 * dns.c, scan_dns_deadline in scan.c), against servers on loopback ports
 * of the test's own: a black hole (a bound UDP socket nobody reads, so
 * no answer and no ICMP error ever comes back) and a server that answers
 * every query with one TXT record, late.
 *
 *  - the deadline's states: open, fixed once at end of data, expired;
 *  - a wait on an open deadline outlasts dns_timeout_ms, and ends
 *    dns_timeout_ms after the fix, or at once when expired;
 *  - SPF, DKIM and DMARC of one message that all wait on the black hole
 *    give their verdict within dns_timeout_ms + 0.5 s of end of data, not
 *    one dns_timeout_ms each;
 *  - SPF started at the envelope is not cut off while the message is
 *    still arriving: an answer that comes after start + dns_timeout_ms
 *    but before end of data is used;
 *  - no thread of parapet's per resolver or per SPF check (issue 17):
 *    the thread that waits reads its answer itself, libunbound's own
 *    worker is the one thread a resolver adds; waiters in several
 *    threads at once all get their answers (the driver role passes);
 *  - an answer given once comes from dns.c's cache, without a round trip
 *    to libunbound's worker;
 *  - SPF follows its records' include:s, redirect=s, a and mx while the
 *    message arrives: at end of data libspf2 finds its lookups answered
 *    or in flight.
 */
#include "autoconfig.h"

#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <dirent.h>

#include "net/dns.h"
#include "stages/auth/spf.h"
#include "unit.h"
#include "lateserver.h"

/* ---------------------------------------------------------------- servers */

/* late_engine - an engine asking 127.0.0.1:port, with dns_timeout_ms */
static struct engine *late_engine(int port, int timeout_ms)
{
	char *conf = xasprintf("dns_nameservers = 127.0.0.1:%d\ndns_timeout_ms = %d\n", port,
			       timeout_ms);
	struct engine *e = unit_engine(conf, "");

	free(conf);
	return e;
}

/* late_envelope - a message from 192.0.2.10 with helo and MAIL FROM
 * from, its envelope complete (SPF has sent its first queries) */
static struct scan *late_envelope(struct engine *e, const char *helo, const char *from)
{
	struct scan *sc = scan_new(e);

	msg_set_client(sc->msg, "192.0.2.10", NULL, helo);
	msg_set_from(sc->msg, from);
	msg_add_rcpt(sc->msg, "<bob@rcpt.test>");
	scan_envelope_done(sc);
	return sc;
}

/* ---------------------------------------------------------------- deadline */

START_TEST(states)
{
	struct dns_deadline *dl = dns_deadline_new(200);

	ck_assert(isinf(dns_deadline_at(dl)));
	ck_assert(!dns_deadline_passed(dl));
	double t = now_ms();
	dns_deadline_fix(dl);
	double at = dns_deadline_at(dl);
	ck_assert_msg(at >= t + 200 && at < now_ms() + 200 + 1, "at %.1f, t %.1f", at, t);
	dns_deadline_fix(dl);		/* fixed once: end of data is one moment */
	ck_assert(dns_deadline_at(dl) == at);
	ck_assert(!dns_deadline_passed(dl));
	dns_deadline_expire(dl);
	ck_assert(dns_deadline_at(dl) < at);
	ck_assert(dns_deadline_passed(dl));
	dns_deadline_fix(dl);		/* an expired deadline stays so */
	ck_assert(dns_deadline_passed(dl));
	dns_deadline_unref(dl);

	dl = dns_deadline_new(200);	/* expired while still open */
	ck_assert(dns_deadline_ref(dl) == dl);
	dns_deadline_expire(dl);
	ck_assert(dns_deadline_passed(dl));
	dns_deadline_unref(dl);
	ck_assert_ptr_null(dns_deadline_unref(dl));
}
END_TEST

struct waiter {
	struct dns *dns;
	struct dns_deadline *dl;
	enum dns_rc rc;
	double ended;
	atomic_bool done;
};

/* waiter_main - one query to the black hole, waited for on w->dl */
static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	struct dns_query *q = dns_start(w->dns, "never.example", DNS_T_TXT);

	w->rc = dns_wait(q, w->dl)->rc;
	w->ended = now_ms();
	dns_query_free(q);
	atomic_store(&w->done, true);
	return NULL;
}

/* a wait on an open deadline (the message still arriving) outlasts
 * dns_timeout_ms; it ends dns_timeout_ms after the fix (end of data), or
 * at once when the deadline expires (the message is gone) */
START_TEST(open_wait)
{
	bool fix = _i == 0;
	double timeout_ms = 100, want = fix ? timeout_ms : 0;
	int port, fd = udp_open(&port);
	char ns[32], *err = NULL;
	struct waiter w = { 0 };
	pthread_t th;

	snprintf(ns, sizeof(ns), "127.0.0.1:%d", port);
	w.dns = dns_open(ns, &err);
	ck_assert_msg(w.dns != NULL, "%s", err ? err : "?");
	w.dl = dns_deadline_new(timeout_ms);
	atomic_init(&w.done, false);
	ck_assert_int_eq(pthread_create(&th, NULL, waiter_main, &w), 0);
	usleep((useconds_t)(3 * timeout_ms * 1000));
	ck_assert_msg(!atomic_load(&w.done), "an open deadline ended a wait (rc %s)",
		      dns_rc_name(w.rc));
	double moved = now_ms();
	if (fix)
		dns_deadline_fix(w.dl);
	else
		dns_deadline_expire(w.dl);
	pthread_join(th, NULL);
	ck_assert_int_eq(w.rc, DNS_TIMEOUT);
	ck_assert_msg(w.ended >= moved + want - 1 && w.ended < moved + want + 500,
		      "ended %.0f ms after the %s", w.ended - moved, fix ? "fix" : "expiry");
	dns_deadline_unref(w.dl);
	dns_close(w.dns);
	close(fd);
}
END_TEST

/* ---------------------------------------------------------------- pipeline */

/* all three DNS stages of one message wait on the black hole: together
 * they take dns_timeout_ms, not three times that */
START_TEST(one_deadline_per_message)
{
	int port, fd = udp_open(&port);
	struct engine *e = late_engine(port, 1000);
	/* a DKIM-Signature libopendkim accepts: its key is asked for at end
	 * of message (the b= and bh= values never get that far) */
	const char *text =
		"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=slow.example;\n"
		" s=sel; h=from:to:subject;\n"
		" bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\n"
		" b=dGhpcyBpcyBub3QgYSBzaWduYXR1cmUgYXQgYWxsLCBqdXN0IGJhc2U2NA==\n"
		"From: alice@slow.example\n"
		"To: bob@rcpt.test\n"
		"Subject: x\n"
		"\n"
		"body\n";
	struct scan *sc = scan_new(e);

	msg_set_client(sc->msg, "192.0.2.10", NULL, "mail.slow.example");
	msg_set_from(sc->msg, "<alice@slow.example>");
	msg_add_rcpt(sc->msg, "<bob@rcpt.test>");
	mboxfile_feed(sc, text, strlen(text));
	double t = now_ms();
	scan_finish(sc);
	double ms = now_ms() - t;
	ck_assert_msg(scan_has(sc, "SPF_TEMPERROR"), "no SPF_TEMPERROR");
	ck_assert_msg(scan_has(sc, "DKIM_TEMPERROR"), "no DKIM_TEMPERROR");
	ck_assert_msg(scan_has(sc, "DMARC_TEMPERROR"), "no DMARC_TEMPERROR");
	ck_assert_msg(ms >= 900, "did not wait for DNS: %.0f ms", ms);
	ck_assert_msg(ms < 1000 + 500, "end of data to verdict: %.0f ms for "
		      "dns_timeout_ms = 1000", ms);
	scan_free(sc);
	engine_unref(e);
	close(fd);
}
END_TEST

/* SPF starts at the envelope; its answer comes 300 ms later, after
 * start + dns_timeout_ms (200) but while the message is still arriving
 * (1 s): it is used.  A deadline counted from the start would have made
 * it a temperror. */
START_TEST(spf_overlaps_transfer)
{
	struct late_server ls;
	int port;

	late_start(&ls, 300, NULL, &port);
	struct engine *e = late_engine(port, 200);
	const char *text = "Subject: no From, so no DMARC lookup\n\nbody\n";
	struct scan *sc = late_envelope(e, "mail.late.example", "<alice@late.example>");

	usleep(1000 * 1000);		/* a slow client */
	mboxfile_feed(sc, text, strlen(text));
	scan_finish(sc);
	ck_assert_msg(scan_has(sc, "SPF_PASS"), "SPF gave up before end of data");
	ck_assert_int_eq(sc->spf_result, AUTH_PASS);
	scan_free(sc);
	engine_unref(e);
	late_stop(&ls);
}
END_TEST


/* ---------------------------------------------------------------- threads */

/* task_count - the threads of this process (/proc/self/task) */
static int task_count(void)
{
	DIR *dir = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(dir);
	while ((de = readdir(dir)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

/* open_port - a resolver asking 127.0.0.1:port */
static struct dns *open_port(int port)
{
	char ns[32], *err = NULL;
	struct dns *d;

	snprintf(ns, sizeof(ns), "127.0.0.1:%d", port);
	d = dns_open(ns, &err);
	ck_assert_msg(d != NULL, "%s", err ? err : "?");
	return d;
}

/* a resolver adds libunbound's worker and no thread of parapet's: the
 * answer is read by the thread that waits (it was a dispatcher thread) */
START_TEST(no_dispatcher_thread)
{
	struct late_server ls;
	int port;

	late_start(&ls, 0, NULL, &port);
	int before = task_count();
	struct dns *d = open_port(port);
	struct dns_deadline *dl = dns_deadline_new(5000);
	dns_deadline_fix(dl);
	for (int i = 0; i < 3; i++) {
		char name[64];
		snprintf(name, sizeof(name), "t%d.threads.example", i);
		struct dns_query *q = dns_start(d, name, DNS_T_TXT);
		const struct dns_answer *a = dns_wait(q, dl);
		ck_assert_msg(a->rc == DNS_OK, "%s: %s", name, dns_rc_name(a->rc));
		dns_query_free(q);
		int added = task_count() - before;
		ck_assert_msg(added <= 1, "a resolver added %d threads (libunbound's "
			      "worker is the only one it needs)", added);
	}
	dns_deadline_unref(dl);
	dns_close(d);
	late_stop(&ls);
}
END_TEST

struct many {
	struct dns *dns;
	struct dns_deadline *dl;
	int id, ok;
};

/* many_main - 20 queries one after the other, counting the answers */
static void *many_main(void *arg)
{
	struct many *m = arg;

	for (int i = 0; i < 20; i++) {
		char name[64];
		snprintf(name, sizeof(name), "q%d-%d.many.example", m->id, i);
		struct dns_query *q = dns_start(m->dns, name, DNS_T_TXT);
		if (dns_wait(q, m->dl)->rc == DNS_OK)
			m->ok++;
		dns_query_free(q);
	}
	return NULL;
}

/* waiters in four threads at once: each gets every answer, whichever
 * thread happens to read it from libunbound */
START_TEST(many_waiters)
{
	struct late_server ls;
	struct many m[4];
	pthread_t th[4];
	int port;

	late_start(&ls, 1, NULL, &port);
	struct dns *d = open_port(port);
	struct dns_deadline *dl = dns_deadline_new(20000);
	dns_deadline_fix(dl);
	for (int i = 0; i < 4; i++) {
		m[i] = (struct many){ .dns = d, .dl = dl, .id = i };
		ck_assert_int_eq(pthread_create(&th[i], NULL, many_main, &m[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ck_assert_msg(m[i].ok == 20, "thread %d: %d of 20 answers", i, m[i].ok);
	}
	dns_deadline_unref(dl);
	dns_close(d);
	late_stop(&ls);
}
END_TEST

/* an SPF check adds no thread: its first queries go out at the envelope
 * and libspf2 runs at end of data in the message's thread (it was a
 * thread per check, alive while the answers were awaited) */
START_TEST(spf_no_thread)
{
	struct late_server ls;
	int port;

	late_start(&ls, 300, NULL, &port);
	struct engine *e = late_engine(port, 2000);
	struct dns_deadline *dl = dns_deadline_new(5000);
	dns_deadline_fix(dl);
	/* libunbound's worker starts with the first query */
	struct dns_query *q = dns_start(e->dns, "warm.late.example", DNS_T_TXT);
	ck_assert_int_eq(dns_wait(q, dl)->rc, DNS_OK);
	dns_query_free(q);
	dns_deadline_unref(dl);
	int before = task_count();
	struct scan *sc = late_envelope(e, "mail.late.example", "<alice@late.example>");
	usleep(100 * 1000);		/* the answers are 300 ms away */
	int during = task_count();
	const char *text = "Subject: no From, so no DMARC lookup\n\nbody\n";
	mboxfile_feed(sc, text, strlen(text));
	scan_finish(sc);
	ck_assert_msg(during == before, "%d threads while SPF's answers were awaited, "
		      "%d before", during, before);
	ck_assert_msg(scan_has(sc, "SPF_PASS"), "no SPF_PASS");
	ck_assert_msg(scan_has(sc, "SPF_HELO_PASS"), "no SPF_HELO_PASS");
	ck_assert_int_eq(task_count(), before);
	scan_free(sc);
	engine_unref(e);
	late_stop(&ls);
}
END_TEST

/* a sender whose record reaches its client's address through 3 nested
 * include:s and an a: (the shape of gmail.com's): while the message
 * arrives, each record's answer sends the queries of the next level, so
 * at end of data every lookup libspf2 makes is answered or in flight.
 * Before, only the sender's own TXT was: libspf2 made the other four one
 * after the other at end of data, a round trip each */
static const struct zone_rr chain_zone[] = {
	{ "chain.example", DNS_T_TXT, "v=spf1 include:one.chain.example -all" },
	{ "one.chain.example", DNS_T_TXT, "v=spf1 include:two.chain.example -all" },
	{ "two.chain.example", DNS_T_TXT,
	  "v=spf1 ip4:198.51.100.0/24 include:three.chain.example ~all" },
	{ "three.chain.example", DNS_T_TXT, "v=spf1 a:host.chain.example/24 -all" },
	{ "host.chain.example", DNS_T_A, "192.0.2.10" },
	{ NULL, 0, NULL },
};

START_TEST(spf_chain_ahead)
{
	struct late_server ls;
	int port, asked = 0, ready = 0;

	late_start(&ls, 100, chain_zone, &port);
	struct engine *e = late_engine(port, 5000);
	struct scan *sc = late_envelope(e, "[192.0.2.10]", "<alice@chain.example>");
	/* a slow client: a header every 10 ms until the server has answered
	 * the whole chain (5 queries), 5 s at most */
	for (int i = 0; i < 500 && atomic_load(&ls.answered) < 5; i++) {
		usleep(10 * 1000);
		scan_header(sc, "X-Filler", " slow");
	}
	const char *text = "Subject: no From, so no DMARC lookup\n\nbody\n";
	mboxfile_feed(sc, text, strlen(text));
	scan_finish(sc);
	ck_assert_msg(scan_has(sc, "SPF_PASS"), "no SPF_PASS");
	for (size_t i = 0; i < e->nstages; i++)
		if (strcmp(e->stages[i]->name, "spf") == 0)
			spf_check_lookups(sc->state[i], &asked, &ready);
	ck_assert_int_eq(asked, 5);
	ck_assert_msg(ready == asked, "%d of libspf2's %d lookups were answered or in "
		      "flight at end of data", ready, asked);
	scan_free(sc);
	engine_unref(e);
	late_stop(&ls);
}
END_TEST

/* a prompt late_server, a resolver asking it, a fixed 5 s deadline */
struct prompt {
	struct late_server ls;
	struct dns *d;
	struct dns_deadline *dl;
};

/* prompt_start - the fixture up */
static void prompt_start(struct prompt *p)
{
	int port;

	late_start(&p->ls, 0, NULL, &port);
	p->d = open_port(port);
	p->dl = dns_deadline_new(5000);
	dns_deadline_fix(p->dl);
}

/* prompt_stop - the fixture down */
static void prompt_stop(struct prompt *p)
{
	dns_deadline_unref(p->dl);
	dns_close(p->d);
	late_stop(&p->ls);
}

/* an answer given once is given again from dns.c's cache, in the
 * caller's thread: done at dns_start, without libunbound's worker (it
 * went to the worker and back, two thread switches, even when libunbound
 * had it cached) */
START_TEST(answer_cache)
{
	struct prompt p;

	prompt_start(&p);
	struct dns *d = p.d;
	struct dns_deadline *dl = p.dl;
	struct dns_query *q1 = dns_start(d, "once.cache.example", DNS_T_TXT);
	const struct dns_answer *a1 = dns_wait(q1, dl);
	ck_assert_int_eq(a1->rc, DNS_OK);
	for (int i = 0; i < 3; i++) {
		struct dns_query *q2 = dns_start(d, i ? "ONCE.Cache.example" : "once.cache.example",
						 DNS_T_TXT);
		ck_assert_msg(dns_done(q2), "a cached answer went to libunbound");
		const struct dns_answer *a2 = dns_wait(q2, dl);
		ck_assert_int_eq(a2->rc, DNS_OK);
		ck_assert_uint_eq(a2->n, 1);
		ck_assert_uint_eq(a2->len[0], a1->len[0]);
		ck_assert(memcmp(a2->data[0], a1->data[0], a1->len[0]) == 0);
		dns_query_free(q2);
	}
	/* another type of the same name is another answer */
	struct dns_query *q3 = dns_start(d, "once.cache.example", DNS_T_MX);
	ck_assert_int_ne(dns_wait(q3, dl)->rc, DNS_TIMEOUT);
	dns_query_free(q3);
	dns_query_free(q1);
	prompt_stop(&p);
}
END_TEST

/* an answer that reached libunbound's pipe before the deadline passed is
 * given, not a timeout, to a waiter that comes after it (nobody drove the
 * resolver in between: there is no dispatcher thread any more) */
START_TEST(answer_past_deadline)
{
	struct prompt p;

	prompt_start(&p);
	struct dns_query *q = dns_start(p.d, "past.deadline.example", DNS_T_TXT);
	for (int i = 0; i < 500 && atomic_load(&p.ls.answered) < 1; i++)
		usleep(10 * 1000);
	ck_assert_int_eq(atomic_load(&p.ls.answered), 1);
	usleep(300 * 1000);	/* libunbound's worker writes it to the pipe */
	dns_deadline_expire(p.dl);
	const struct dns_answer *a = dns_wait(q, p.dl);
	ck_assert_msg(a->rc == DNS_OK, "an answer in the pipe was reported as rc %d", (int)a->rc);
	dns_query_free(q);
	prompt_stop(&p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dns");
	TCase *tc = tcase_create("dns");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, states);
	tcase_add_loop_test(tc, open_wait, 0, 2);	/* 0: fix, 1: expire */
	tcase_add_test(tc, one_deadline_per_message);
	tcase_add_test(tc, spf_overlaps_transfer);
	tcase_add_test(tc, no_dispatcher_thread);
	tcase_add_test(tc, many_waiters);
	tcase_add_test(tc, spf_no_thread);
	tcase_add_test(tc, answer_cache);
	tcase_add_test(tc, spf_chain_ahead);
	tcase_add_test(tc, answer_past_deadline);
	suite_add_tcase(s, tc);
	return unit_main(s);
}
