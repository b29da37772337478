/*
 * nullmilter.c - a milter that only answers "continue".
 *
 * This is the baseline of scripts/bench/throughput (SPEC §8): it measures
 * what the milter protocol itself costs Postfix and the milter process,
 * with no filtering at all.  It is deliberately the naive libmilter milter:
 * it registers a callback for every step parapet uses (connect, HELO,
 * MAIL, RCPT, each header, end of headers, each body chunk, end of
 * message, abort, close), has no xxfi_negotiate and so asks the MTA for
 * every step and waits for a reply to each of them.  Anything parapet
 * saves by negotiating fewer steps or "no reply" steps shows up as the
 * difference between the two in the benchmark.
 *
 * Usage: nullmilter SOCKETSPEC     (unix:/path, local:/path, inet:PORT@HOST,
 *                                   inet6:PORT@HOST)
 * Runs in the foreground; libmilter's signal thread stops it on SIGTERM,
 * SIGINT or SIGHUP, and it exits 0 when smfi_main() returns.  A unix
 * socket is made mode 0666 so that Postfix's smtpd (user postfix) can
 * connect to it.
 *
 * It is built from the same libmilter as parapet (Makefile.am links
 * $(MILTER_LIBS)); it keeps no state, so it is thread-safe trivially.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <libmilter/mfapi.h>

/* null_connect - SMTP connection: continue */
static sfsistat null_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
	(void)ctx;
	(void)host;
	(void)addr;
	return SMFIS_CONTINUE;
}

/* null_helo - HELO/EHLO: continue */
static sfsistat null_helo(SMFICTX *ctx, char *helo)
{
	(void)ctx;
	(void)helo;
	return SMFIS_CONTINUE;
}

/* null_envfrom - MAIL FROM: continue */
static sfsistat null_envfrom(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return SMFIS_CONTINUE;
}

/* null_envrcpt - RCPT TO: continue */
static sfsistat null_envrcpt(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return SMFIS_CONTINUE;
}

/* null_header - one header field: continue */
static sfsistat null_header(SMFICTX *ctx, char *name, char *value)
{
	(void)ctx;
	(void)name;
	(void)value;
	return SMFIS_CONTINUE;
}

/* null_eoh - end of headers: continue */
static sfsistat null_eoh(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

/* null_body - one body chunk: continue */
static sfsistat null_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	(void)ctx;
	(void)chunk;
	(void)len;
	return SMFIS_CONTINUE;
}

/* null_eom - end of message: continue (the MTA accepts the message) */
static sfsistat null_eom(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

/* null_abort - transaction aborted: nothing to clean up */
static sfsistat null_abort(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

/* null_close - connection closed: nothing to clean up */
static sfsistat null_close(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

/* unix_socket_path - the file name in a unix:/local: spec, or NULL */
static const char *unix_socket_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	if (spec[0] == '/')
		return spec;	/* libmilter reads a bare path as unix */
	return NULL;
}

int main(int argc, char **argv)
{
	/* smfiDesc's name is "char *" in mfapi.h; keep it in writable memory */
	static char name[] = "nullmilter";
	struct smfiDesc desc = {
		.xxfi_name = name,
		.xxfi_version = SMFI_VERSION,
		.xxfi_flags = 0,	/* no modifications requested */
		.xxfi_connect = null_connect,
		.xxfi_helo = null_helo,
		.xxfi_envfrom = null_envfrom,
		.xxfi_envrcpt = null_envrcpt,
		.xxfi_header = null_header,
		.xxfi_eoh = null_eoh,
		.xxfi_body = null_body,
		.xxfi_eom = null_eom,
		.xxfi_abort = null_abort,
		.xxfi_close = null_close,
	};
	const char *path;
	mode_t old_mask;
	int rc;

	if (argc != 2 || argv[1][0] == '\0' || argv[1][0] == '-') {
		fprintf(stderr, "usage: %s SOCKETSPEC  (unix:/path | inet:PORT@HOST)\n",
			argv[0]);
		return 2;
	}
	if (smfi_setconn(argv[1]) == MI_FAILURE) {
		fprintf(stderr, "nullmilter: bad socket spec: %s\n", argv[1]);
		return 1;
	}
	if (smfi_register(desc) == MI_FAILURE) {
		fprintf(stderr, "nullmilter: smfi_register failed\n");
		return 1;
	}
	/*
	 * smtpd runs as user postfix and the benchmark runs us as root: create
	 * a unix socket as 0666 from the start (bind() applies the umask), so
	 * there is no moment at which it exists but Postfix cannot use it.
	 * true: remove a stale socket left by an earlier run.
	 */
	old_mask = umask(0111);
	rc = smfi_opensocket(true);
	umask(old_mask);
	if (rc == MI_FAILURE) {
		fprintf(stderr, "nullmilter: cannot open socket %s\n", argv[1]);
		return 1;
	}
	path = unix_socket_path(argv[1]);
	if (path != NULL && chmod(path, 0666) != 0) {	/* belt and braces */
		fprintf(stderr, "nullmilter: chmod %s: %s\n", path, strerror(errno));
		return 1;
	}
	rc = smfi_main();
	return rc == MI_SUCCESS ? 0 : 1;
}
