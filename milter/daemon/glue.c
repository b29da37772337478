/*
 * glue.c - libmilter callbacks translated into session_* calls, and
 * verdicts translated back into replies and header edits.  The only file
 * that includes mfapi.h (STYLE rule 2).
 *
 * Protocol cost (SPEC §8): every step parapet does not use is switched off
 * in negotiate (SMFIP_NO*), and every step at which parapet never answers
 * early is marked no-reply (SMFIP_NR_*), so Postfix streams HELO, RCPT,
 * headers and body without waiting for a round trip each.  That includes
 * connect: trusted clients are not accepted there any more, nor
 * authenticated ones at MAIL FROM, because their forged X-Spam-* and our
 * own Authentication-Results must be removed at end of message too (issue
 * 12); they cost no scan, only the transfer.  MAIL FROM keeps its reply
 * all the same: Postfix holds back no-reply events until one that awaits
 * a reply (milter8.c), so only a reply there makes Postfix hand the
 * message over when it starts, and it starts counting in flight for the
 * shutdown drain, which tempfails new messages right there.
 *
 * Nagle: on inet sockets TCP_NODELAY is set on the listening socket, but
 * that only covers parapet's own writes.  With SMFIP_NODATA Postfix still
 * sends the DATA macros as a small segment of their own, and its next
 * write (the first header) then waits ~40 ms for parapet's delayed ACK.
 * So on inet sockets the DATA step is kept and answered (one round trip,
 * measured +37 ms median latency without it by scripts/bench/throughput);
 * unix sockets have no Nagle and skip it.
 *
 * Shutdown: Debian's libmilter is built with its worker pool
 * (_FFR_WORKERS_POOL).  Its signal thread turns SIGTERM/SIGHUP/SIGINT
 * into mi_stop_milters(), after which the pool controller stops polling
 * session sockets (libmilter/worker.c), so messages in flight would be
 * dropped.  parapet therefore interposes sigwait(3), which only that
 * signal thread calls: on a stop signal it first drains (new messages
 * tempfail, messages in flight finish, up to DRAIN_TIMEOUT_MS) and then
 * exits the process itself instead of handing the signal to libmilter.
 * libmilter's own stop is unsafe under load: its pool controller destroys
 * the pool's mutex (worker.c, after the poll loop) while workers and the
 * listener still take it; a thread that locks it across the destruction
 * cannot unlock it (glibc: EINVAL), and every other thread then waits on
 * it for ever.  The ThreadSanitizer build hung so in 2 of 27 stops under
 * a stream (scripts/test.sh, test_signals.py).  After the drain nothing
 * is left for that teardown to do; exit(3) runs the atexit handlers
 * (the socket here, the pidfile and metrics server in main.c).
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmilter/mfapi.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/engine.h"
#include "daemon/glue.h"
#include "base/log.h"
#include "daemon/session.h"
#include "base/util.h"

#define DRAIN_TIMEOUT_MS 30000

struct glue_conn {
	struct session *s;
	unsigned long steps;	/* negotiated SMFIP_* flags */
};

static char *socket_path;	/* unix socket, for chmod/chown/unlink */
static int socket_mode;

/* lead_space - " " + s in fresh memory */
static char *lead_space(const char *s)
{
	size_t n = strlen(s);
	char *r = xmalloc(n + 2);

	r[0] = ' ';
	memcpy(r + 1, s, n + 1);
	return r;
}

/* conn_of - our connection context */
static struct glue_conn *conn_of(SMFICTX *ctx)
{
	return smfi_getpriv(ctx);
}

/* reply - translate a session code; steps with a no-reply flag never answer */
static sfsistat reply(const struct glue_conn *gc, unsigned long nr_flag,
		      enum session_rc rc)
{
	if (gc->steps & nr_flag)
		return SMFIS_NOREPLY;
	return rc == SESSION_TEMPFAIL ? SMFIS_TEMPFAIL : SMFIS_CONTINUE;
}

/* glue_negotiate - ask only for the steps parapet uses */
static sfsistat glue_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
			       unsigned long f2, unsigned long f3,
			       unsigned long *pf0, unsigned long *pf1,
			       unsigned long *pf2, unsigned long *pf3)
{
	const unsigned long actions = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE;
	unsigned long want = SMFIP_NOUNKNOWN | SMFIP_HDR_LEADSPC | SMFIP_NR_CONN |
			     SMFIP_NR_HELO | SMFIP_NR_RCPT | SMFIP_NR_HDR |
			     SMFIP_NR_EOH | SMFIP_NR_BODY;
	struct glue_conn *gc = xcalloc(1, sizeof(*gc));

	(void)f2;
	(void)f3;
	if (socket_path)	/* unix socket: no Nagle stall, skip DATA */
		want |= SMFIP_NODATA;
	/* a policy_file: RCPT is answered, to refuse a recipient of another
	 * policy group (core/policy.h); a reload that adds the file applies
	 * from the next connection */
	struct engine *e = engine_current();
	if (e && e->policies)
		want &= ~(unsigned long)SMFIP_NR_RCPT;
	engine_unref(e);
	if ((f0 & actions) != actions)
		log_warn("the MTA does not offer header changes and quarantine "
			 "(actions 0x%lx): headers cannot be added", f0);
	*pf0 = f0 & actions;
	*pf1 = f1 & want;
	*pf2 = 0;
	*pf3 = 0;
	gc->steps = *pf1;
	smfi_setpriv(ctx, gc);
	return SMFIS_CONTINUE;
}

/* glue_connect - a client connected to the MTA */
static sfsistat glue_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *sa)
{
	struct glue_conn *gc = conn_of(ctx);
	char ip[INET6_ADDRSTRLEN] = "";

	if (gc == NULL) {	/* an MTA that skipped negotiation */
		gc = xcalloc(1, sizeof(*gc));
		smfi_setpriv(ctx, gc);
	}
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)sa)->sin_addr, ip, sizeof(ip));
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)sa)->sin6_addr, ip, sizeof(ip));
	session_close(gc->s);
	gc->s = session_open(ip[0] ? ip : NULL, hostname);
	return reply(gc, SMFIP_NR_CONN, SESSION_CONTINUE);
}

/* glue_helo - HELO/EHLO */
static sfsistat glue_helo(SMFICTX *ctx, char *helo)
{
	struct glue_conn *gc = conn_of(ctx);

	if (gc && gc->s)
		session_helo(gc->s, helo);
	return reply(gc, SMFIP_NR_HELO, SESSION_CONTINUE);
}

/* glue_envfrom - MAIL FROM: a new message */
static sfsistat glue_envfrom(SMFICTX *ctx, char **argv)
{
	struct glue_conn *gc = conn_of(ctx);

	if (gc == NULL || gc->s == NULL)
		return SMFIS_CONTINUE;
	enum session_rc rc = session_mail(gc->s, argv[0], smfi_getsymval(ctx, "{auth_authen}"),
					  smfi_getsymval(ctx, "i"));
	return reply(gc, SMFIP_NR_MAIL, rc);
}

/* glue_envrcpt - RCPT TO */
static sfsistat glue_envrcpt(SMFICTX *ctx, char **argv)
{
	struct glue_conn *gc = conn_of(ctx);

	if (gc && gc->s &&
	    session_rcpt(gc->s, argv[0], !(gc->steps & SMFIP_NR_RCPT)) == SESSION_RCPT_LATER) {
		smfi_setreply(ctx, "451", "4.7.1",
			      "Recipient policy differs, please send in a separate transaction");
		return SMFIS_TEMPFAIL;
	}
	return reply(gc, SMFIP_NR_RCPT, SESSION_CONTINUE);
}

/* glue_data - DATA: answered only so Postfix's next write is not held by
 * Nagle on inet sockets (see the top of this file) */
static sfsistat glue_data(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

/* glue_header - one field; without HDR_LEADSPC the MTA removed the one
 * space after the colon, which is put back so values are always raw */
static sfsistat glue_header(SMFICTX *ctx, char *name, char *value)
{
	struct glue_conn *gc = conn_of(ctx);

	if (gc && gc->s) {
		if (gc->steps & SMFIP_HDR_LEADSPC) {
			session_header(gc->s, name, value);
		} else {
			char *raw = lead_space(value);
			session_header(gc->s, name, raw);
			free(raw);
		}
	}
	return reply(gc, SMFIP_NR_HDR, SESSION_CONTINUE);
}

/* glue_eoh - end of header */
static sfsistat glue_eoh(SMFICTX *ctx)
{
	struct glue_conn *gc = conn_of(ctx);

	if (gc && gc->s)
		session_eoh(gc->s);
	return reply(gc, SMFIP_NR_EOH, SESSION_CONTINUE);
}

/* glue_body - one body chunk */
static sfsistat glue_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
	struct glue_conn *gc = conn_of(ctx);

	if (gc && gc->s)
		session_body(gc->s, data, len);
	return reply(gc, SMFIP_NR_BODY, SESSION_CONTINUE);
}

/* apply_edits - header changes of an accepted message, every one even
 * after a refusal (the more forged fields go, the better); -1 if the MTA
 * refused any */
static int apply_edits(SMFICTX *ctx, const struct glue_conn *gc, const struct verdict *v)
{
	bool lead = (gc->steps & SMFIP_HDR_LEADSPC) != 0;
	int failed = 0;

	for (size_t i = 0; i < v->nedits; i++) {
		const struct edit *ed = &v->edits[i];
		char *val = NULL;
		int rc;

		if (ed->value)	/* with HDR_LEADSPC we supply the space ourselves */
			val = lead ? lead_space(ed->value) : xstrdup(ed->value);
		switch (ed->op) {
		case EDIT_DELETE:
			rc = smfi_chgheader(ctx, (char *)ed->name, ed->index, NULL);
			break;
		case EDIT_INSERT:
			rc = smfi_insheader(ctx, ed->index, (char *)ed->name, val);
			break;
		case EDIT_CHANGE:	/* SMFIF_CHGHDRS, asked for in negotiate */
			rc = smfi_chgheader(ctx, (char *)ed->name, ed->index, val);
			break;
		default:
			rc = smfi_addheader(ctx, (char *)ed->name, val);
			break;
		}
		free(val);
		if (rc != MI_SUCCESS) {
			log_warn("header edit %s %s refused by the MTA",
				 ed->op == EDIT_DELETE ? "delete" : ed->op == EDIT_CHANGE ? "change" : "add",
				 ed->name);
			failed = -1;
		}
	}
	return failed;
}

/* apply_accept - quarantine and header edits of an accepted message; -1
 * if the MTA refused any.  The quarantine is asked for whatever the edits
 * do: a refused edit must not let a quarantined message through (issue 12) */
static int apply_accept(SMFICTX *ctx, const struct glue_conn *gc, const struct verdict *v)
{
	int rc = 0;

	if (v->action == ACTION_QUARANTINE &&
	    smfi_quarantine(ctx, "parapet: score over quarantine_score") != MI_SUCCESS) {
		log_warn("quarantine refused by the MTA");
		rc = -1;
	}
	if (apply_edits(ctx, gc, v) < 0)
		rc = -1;
	return rc;
}

/* set_reply - the verdict's SMTP reply; libmilter ignores a text with a
 * lone '%' (smfi_setreply(3)), so each is doubled */
static void set_reply(SMFICTX *ctx, const struct verdict *v)
{
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "");
	for (const char *c = v->text ? v->text : ""; *c; c++) {
		if (*c == '%')
			buf_putc(&b, '%');
		buf_putc(&b, *c);
	}
	smfi_setreply(ctx, (char *)v->code, (char *)v->xcode, b.data);
	buf_free(&b);
}

/* glue_eom - end of message: the verdict */
static sfsistat glue_eom(SMFICTX *ctx)
{
	struct glue_conn *gc = conn_of(ctx);
	const struct verdict *v;
	sfsistat rc = SMFIS_ACCEPT;

	if (gc == NULL || gc->s == NULL)
		return SMFIS_CONTINUE;
	v = session_eom(gc->s, smfi_getsymval(ctx, "i"));
	if (v == NULL)
		return SMFIS_CONTINUE;
	switch (v->action) {
	case ACTION_REJECT:
	case ACTION_TEMPFAIL:
		set_reply(ctx, v);
		rc = v->action == ACTION_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
		break;
	case ACTION_QUARANTINE:
	case ACTION_ACCEPT:
		if (apply_accept(ctx, gc, v) < 0) {
			struct engine *e = engine_current();
			/* mode = observe never tempfails */
			bool tempfail = e == NULL || (e->cfg->on_error == ON_ERROR_TEMPFAIL &&
						      e->cfg->mode != MODE_OBSERVE);
			engine_unref(e);
			if (tempfail) {
				smfi_setreply(ctx, "451", "4.3.0", "Temporary filter failure");
				rc = SMFIS_TEMPFAIL;
			}
		}
		break;
	}
	/* freed (and its Redis writes made) at the next callback, once
	 * libmilter has sent this reply */
	session_answered(gc->s);
	return rc;
}

/* glue_abort - the MTA dropped the message (RSET, error) */
static sfsistat glue_abort(SMFICTX *ctx)
{
	struct glue_conn *gc = conn_of(ctx);

	if (gc && gc->s)
		session_end_message(gc->s);
	return SMFIS_CONTINUE;
}

/* glue_close - connection closed; may come without connect */
static sfsistat glue_close(SMFICTX *ctx)
{
	struct glue_conn *gc = conn_of(ctx);

	if (gc) {
		session_close(gc->s);
		free(gc);
		smfi_setpriv(ctx, NULL);
	}
	return SMFIS_CONTINUE;
}

static struct smfiDesc filter = {
	.xxfi_name = "parapet",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE,
	.xxfi_connect = glue_connect,
	.xxfi_helo = glue_helo,
	.xxfi_envfrom = glue_envfrom,
	.xxfi_envrcpt = glue_envrcpt,
	.xxfi_header = glue_header,
	.xxfi_eoh = glue_eoh,
	.xxfi_body = glue_body,
	.xxfi_eom = glue_eom,
	.xxfi_abort = glue_abort,
	.xxfi_close = glue_close,
	.xxfi_negotiate = glue_negotiate,
	.xxfi_data = glue_data,
};

/* set_nodelay - TCP_NODELAY on our listening socket (SPEC §8: without it a
 * header edit and the reply wait ~40 ms for a delayed ACK).  libmilter
 * does not expose the descriptor, so find the listening TCP socket on the
 * configured port; Linux copies the option to accepted sockets. */
static void set_nodelay(int port)
{
	for (int fd = 3; fd < 1024; fd++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int listening = 0, one = 1;
		socklen_t il = sizeof(listening);

		if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
			continue;
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &il) != 0 || !listening)
			continue;
		int p = ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
			: ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) : -1;
		if (p != port)
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
			log_warn("TCP_NODELAY on the milter socket: %s", strerror(errno));
		else
			log_debug("TCP_NODELAY set on listening socket fd %d", fd);
		return;
	}
	log_warn("listening socket on port %d not found: TCP_NODELAY not set", port);
}

/* socket_remove - at exit, the unix socket goes with the process */
static void socket_remove(void)
{
	if (socket_path)
		unlink(socket_path);
}

/* glue_open - register and open the socket */
int glue_open(const struct config *cfg)
{
	const char *spec = cfg->socket;

	if (smfi_register(filter) != MI_SUCCESS) {
		log_error("smfi_register failed");
		return -1;
	}
	if (smfi_setconn((char *)spec) != MI_SUCCESS) {
		log_error("bad socket %s", spec);
		return -1;
	}
	socket_mode = cfg->socket_mode;
	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0)
		socket_path = xstrdup(strchr(spec, ':') + 1);
	if (smfi_opensocket(true) != MI_SUCCESS) {
		log_error("cannot open milter socket %s (does its directory exist?)", spec);
		return -1;
	}
	atexit(socket_remove);
	if (socket_path && chmod(socket_path, (mode_t)socket_mode) != 0)
		log_warn("chmod %s: %s", socket_path, strerror(errno));
	if (strncmp(spec, "inet", 4) == 0)
		set_nodelay(atoi(strchr(spec, ':') + 1));
	return 0;
}

/* glue_socket_path - unix socket path or NULL */
const char *glue_socket_path(void)
{
	return socket_path;
}

/* glue_run - serve; a stop signal exits from sigwait below instead */
int glue_run(void)
{
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}

/*
 * sigwait - interposed for libmilter's signal thread (see the top of this
 * file).  parapet's own threads use sigwaitinfo(), never this.
 */
int sigwait(const sigset_t *set, int *sig)
{
	for (;;) {
		int s = sigwaitinfo(set, NULL);
		if (s < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (s == SIGTERM || s == SIGINT || s == SIGHUP) {
			log_info("signal %d: stopping; new messages are tempfailed, "
				 "waiting for messages in flight", s);
			session_drain_begin();
			int left = session_drain_wait(DRAIN_TIMEOUT_MS);
			if (left)
				log_warn("%d message(s) still in flight after %d s; "
					 "the MTA will retry them", left, DRAIN_TIMEOUT_MS / 1000);
			else
				log_info("all messages in flight finished");
			exit(0);	/* not libmilter's stop: see the top of this file */
		}
		*sig = s;
		return 0;
	}
}
