/*
 * session.h - one MTA connection and its current message, independent of
 * libmilter: glue.c translates milter callbacks into these calls and the
 * returned codes back into SMFIS_* replies.
 *
 * Several messages per connection work: session_mail starts a new
 * message and frees any previous one (STYLE rule 3).
 *
 * Trusted and authenticated clients are never accepted early: their
 * messages go through every call like the others, unscanned (scan_skip),
 * so that forged fields are removed at the end of the message.
 */
#ifndef PARAPET_SESSION_H
#define PARAPET_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include "core/scan.h"

enum session_rc {
	SESSION_CONTINUE,
	SESSION_TEMPFAIL,	/* shutting down: try again later */
	SESSION_RCPT_LATER,	/* this recipient's policy differs: 451 4.7.1,
				 * send it in a transaction of its own */
};

struct session;

/* session_open - a client connected (ip may be NULL when unknown) */
struct session *session_open(const char *ip, const char *hostname);
/* session_close - connection gone; frees any message; returns NULL */
struct session *session_close(struct session *s);

void session_helo(struct session *s, const char *helo);
/* session_mail - start a message; auth is {auth_authen} or NULL */
enum session_rc session_mail(struct session *s, const char *from,
			     const char *auth, const char *qid);
/* session_rcpt - one recipient; may_refuse: the MTA awaits a reply */
enum session_rc session_rcpt(struct session *s, const char *rcpt, bool may_refuse);
void session_header(struct session *s, const char *name, const char *raw);
void session_eoh(struct session *s);
void session_body(struct session *s, const void *data, size_t len);
/*
 * session_eom - scan and decide; logs the message's line.  The verdict is
 * borrowed until session_end_message or the next message.
 */
const struct verdict *session_eom(struct session *s, const char *qid);
/* session_end_message - the MTA aborted the message: free it */
void session_end_message(struct session *s);
/*
 * session_answered - the verdict is decided and about to be replied: the
 * message leaves the in-flight count, but stays until the connection's
 * next message, abort or close, which runs its after hooks (scan_after:
 * the Redis writes) and frees it, so that no write delays the reply.
 */
void session_answered(struct session *s);

/* process-wide shutdown drain (SIGTERM): new messages are tempfailed */
void session_drain_begin(void);
/* session_drain_wait - wait until messages started before the drain are
 * done or timeout_ms passes; returns how many are still in flight */
int session_drain_wait(int timeout_ms);

#endif
