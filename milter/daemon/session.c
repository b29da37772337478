/*
 * session.c - connection and message state for the milter, without
 * libmilter.  Owns the current struct scan.  Each session is used by one
 * thread at a time (libmilter serialises a connection's callbacks); the
 * only shared state is the drain accounting below, under its own mutex.
 * The drain's diagnostics read sessions of other threads: what they read
 * is written under drain_lock (qid, list links), before the session joins
 * the in-flight list (ip, mail_from, scan), or atomically (step).
 */
#include "autoconfig.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/engine.h"
#include "core/stage.h"
#include "base/log.h"
#include "net/metrics.h"
#include "daemon/session.h"
#include "core/verdict.h"
#include "base/util.h"

struct session {
	struct session *prev, *next;	/* in the in-flight list while counted */
	/* last callback seen, for drain diagnostics: read by the draining
	 * thread without the session's thread stopping, hence atomic */
	_Atomic(const char *) step;
	char *ip;
	char *hostname;
	char *helo;
	const char *skip_why;	/* trusted client: messages not scanned, or NULL */
	struct scan *scan;	/* current message */
	bool counted;		/* the message counts in in_flight */
	bool draining_msg;	/* started during a drain: tempfail it */
	bool header_seen;
};

/* drain accounting */
static pthread_mutex_t drain_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t drain_cond = PTHREAD_COND_INITIALIZER;
static bool draining;
static int in_flight;
static struct session *flight_head;	/* counted sessions, for diagnostics */

/* log_verdict - the message's one log line, and its metrics */
static void log_verdict(const struct scan *sc)
{
	char *line = verdict_log_line(sc);

	log_text(LOG_LVL_INFO, line);
	free(line);
	metrics_verdict(sc);
}

/* thread_schedstat - this thread's CPU time and time waiting on a run
 * queue so far, ms (Linux /proc/thread-self/schedstat; zeros elsewhere) */
static void thread_schedstat(double out[2])
{
	FILE *f = fopen("/proc/thread-self/schedstat", "r");
	unsigned long long cpu, wait;

	if (f == NULL)
		return;
	if (fscanf(f, "%llu %llu", &cpu, &wait) == 2) {
		out[0] = (double)cpu / 1e6;
		out[1] = (double)wait / 1e6;
	}
	fclose(f);
}

/* log_timing - at debug level: where the message's time inside parapet
 * went: the end of message (what the MTA waits for before its reply),
 * split into CPU, waiting for a CPU (run queue) and the rest (blocked:
 * DNS, Redis, locks), and each stage's hooks over the whole message */
static void log_timing(const struct scan *sc, double eom_ms, double cpu_ms, double runq_ms)
{
	struct buf b;

	buf_init(&b);
	buf_printf(&b, "qid=%s timing eom_ms=%.1f cpu=%.1f runq=%.1f blocked=%.1f ms=%.1f",
		   sc->msg->qid ? sc->msg->qid : "-", eom_ms, cpu_ms, runq_ms,
		   eom_ms - cpu_ms - runq_ms, sc->ms);
	for (size_t i = 0; i < sc->engine->nstages; i++)
		buf_printf(&b, " %s=%.1f", sc->engine->stages[i]->name, sc->stage_ms[i]);
	log_debug("%s", b.data);
	buf_free(&b);
}

/* session_open - new connection; trusted clients are decided here */
struct session *session_open(const char *ip, const char *hostname)
{
	struct session *s = xcalloc(1, sizeof(*s));
	struct engine *e = engine_current();

	metrics_connection(+1);
	s->ip = ip ? xstrdup(ip) : NULL;
	s->hostname = hostname ? xstrdup(hostname) : NULL;
	if (e && cidr_list_match(&e->cfg->trusted_networks, ip))
		s->skip_why = "trusted_networks";
	engine_unref(e);
	return s;
}

/* uncount - leave the in-flight count */
static void uncount(struct session *s)
{
	if (s->counted) {
		pthread_mutex_lock(&drain_lock);
		if (s->prev)
			s->prev->next = s->next;
		else
			flight_head = s->next;
		if (s->next)
			s->next->prev = s->prev;
		s->prev = s->next = NULL;
		if (--in_flight == 0)
			pthread_cond_broadcast(&drain_cond);
		pthread_mutex_unlock(&drain_lock);
		s->counted = false;
	}
}

/* message_done - leave the in-flight count, run what was left for after
 * the reply (scan_after) and free the message */
static void message_done(struct session *s)
{
	uncount(s);
	s->scan = scan_free(s->scan);
	s->draining_msg = false;
	s->header_seen = false;
}

/* session_end_message - free the current message */
void session_end_message(struct session *s)
{
	if (s)
		message_done(s);
}

/* session_answered - see session.h */
void session_answered(struct session *s)
{
	if (s)
		uncount(s);
}

/* session_close - connection gone */
struct session *session_close(struct session *s)
{
	if (s == NULL)
		return NULL;
	message_done(s);
	metrics_connection(-1);
	free(s->ip);
	free(s->hostname);
	free(s->helo);
	free(s);
	return NULL;
}

/* session_helo - remember the HELO/EHLO name (the last one counts) */
void session_helo(struct session *s, const char *helo)
{
	free(s->helo);
	s->helo = helo ? xstrdup(helo) : NULL;
}

/* session_mail - start a message */
enum session_rc session_mail(struct session *s, const char *from,
			     const char *auth, const char *qid)
{
	struct engine *e;

	message_done(s);
	if ((e = engine_current()) == NULL)
		return SESSION_TEMPFAIL;
	s->scan = scan_new(e);
	engine_unref(e);
	msg_set_client(s->scan->msg, s->ip, s->hostname, s->helo);
	msg_set_from(s->scan->msg, from);
	msg_set_qid(s->scan->msg, qid);

	s->step = "mail";
	pthread_mutex_lock(&drain_lock);
	if (draining) {
		s->draining_msg = true;
	} else {
		in_flight++;
		s->counted = true;
		s->next = flight_head;
		if (flight_head)
			flight_head->prev = s;
		flight_head = s;
	}
	pthread_mutex_unlock(&drain_lock);
	if (s->draining_msg) {
		/* shutting down: the client retries on a fresh parapet.  Said
		 * here when the MTA lets us reply at MAIL FROM, else at the end
		 * of the message (session_eom returns this verdict) */
		struct verdict *dv = &s->scan->verdict;
		dv->action = ACTION_TEMPFAIL;
		dv->code = "451";
		dv->xcode = "4.3.0";
		dv->text = xstrdup("Temporary filter failure");
		dv->why = "shutting_down";
		dv->skipped = true;
		dv->symbols = xstrdup("");
		s->scan->finished = true;
		log_verdict(s->scan);
		return SESSION_TEMPFAIL;
	}

	/* not scanned, but still counted in flight until its end of message,
	 * where forged fields are removed */
	if (s->skip_why)
		scan_skip(s->scan, s->skip_why);
	else if (auth && *auth && s->scan->engine->cfg->skip_authenticated)
		scan_skip(s->scan, "authenticated");
	return SESSION_CONTINUE;
}

/* session_rcpt - one recipient; SESSION_RCPT_LATER if its policy
 * differs from the first recipient's (scan_rcpt) */
enum session_rc session_rcpt(struct session *s, const char *rcpt, bool may_refuse)
{
	s->step = "rcpt";
	if (s->scan && !scan_rcpt(s->scan, rcpt, may_refuse))
		return SESSION_RCPT_LATER;
	return SESSION_CONTINUE;
}

/* session_header - one field; the first one closes the envelope */
void session_header(struct session *s, const char *name, const char *raw)
{
	s->step = "header";
	if (s->scan == NULL || s->scan->finished)
		return;
	if (!s->header_seen) {
		s->header_seen = true;
		scan_envelope_done(s->scan);
	}
	scan_header(s->scan, name, raw);
}

/* session_eoh - end of header */
void session_eoh(struct session *s)
{
	if (s->scan == NULL || s->scan->finished)
		return;
	if (!s->header_seen) {	/* a message without any header field */
		s->header_seen = true;
		scan_envelope_done(s->scan);
	}
	scan_end_headers(s->scan);
}

/* session_body - one body chunk */
void session_body(struct session *s, const void *data, size_t len)
{
	s->step = "body";
	if (s->scan && !s->scan->finished)
		scan_body(s->scan, data, len);
}

/* session_eom - decide and log */
const struct verdict *session_eom(struct session *s, const char *qid)
{
	const struct verdict *v;

	if (s->scan == NULL)
		return NULL;
	s->step = "eom";
	if (s->scan->finished)	/* decided and logged earlier (draining) */
		return &s->scan->verdict;
	pthread_mutex_lock(&drain_lock);	/* the drain's diagnostics read it */
	msg_set_qid(s->scan->msg, qid);
	pthread_mutex_unlock(&drain_lock);
	bool debug = log_get_level() >= LOG_LVL_DEBUG;
	double t0 = now_ms(), st0[2] = { 0, 0 }, st1[2] = { 0, 0 };
	if (debug)
		thread_schedstat(st0);
	v = scan_finish(s->scan);
	if (debug)
		thread_schedstat(st1);
	log_verdict(s->scan);
	if (debug)
		log_timing(s->scan, now_ms() - t0, st1[0] - st0[0], st1[1] - st0[1]);
	return v;
}

/* session_drain_begin - from now on new messages are tempfailed */
void session_drain_begin(void)
{
	pthread_mutex_lock(&drain_lock);
	draining = true;
	pthread_mutex_unlock(&drain_lock);
}

/* session_drain_wait - wait for the messages in flight, logging progress
 * every 2 s and, at the timeout, every message still waited for */
int session_drain_wait(int timeout_ms)
{
	int left, waited = 0;

	pthread_mutex_lock(&drain_lock);
	log_info("draining: %d message(s) in flight", in_flight);
	while (in_flight > 0 && waited < timeout_ms) {
		struct timespec until;
		int step = timeout_ms - waited < 2000 ? timeout_ms - waited : 2000;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += (long)step * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		if (pthread_cond_timedwait(&drain_cond, &drain_lock, &until) == ETIMEDOUT) {
			waited += step;
			if (in_flight > 0)
				log_info("draining: %d message(s) still in flight after %d ms",
					 in_flight, waited);
		}
	}
	left = in_flight;
	if (left > 0)
		for (struct session *s = flight_head; s; s = s->next) {
			const char *step = s->step;
			log_warn("draining: gave up on qid=%s ip=%s from=%s last_step=%s",
				 s->scan && s->scan->msg->qid ? s->scan->msg->qid : "-",
				 s->ip ? s->ip : "-",
				 s->scan && s->scan->msg->mail_from ? s->scan->msg->mail_from : "-",
				 step ? step : "-");
		}
	pthread_mutex_unlock(&drain_lock);
	return left;
}
