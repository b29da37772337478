/*
 * main.c - the parapet daemon: options, start-up, privileges, pidfile
 * (pidfile.c) and the reload thread.  Start-up problems are fatal with file:line; after
 * start-up nothing here exits except on a stop signal.
 *
 * Signals: SIGUSR1 reloads (a thread of ours waits for it); SIGTERM,
 * SIGINT and SIGHUP stop gracefully (libmilter's signal thread, with the
 * drain in glue.c).  All four are blocked before any thread starts.
 */
#include "autoconfig.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/engine.h"
#include "daemon/glue.h"
#include "net/metrics.h"
#include "base/log.h"
#include "daemon/notify.h"
#include "daemon/pidfile.h"
#include "stages/rep/rep.h"
#include "base/util.h"
#include "stages/registry.h"

static const char *config_path;
static struct pidfile *running_pidfile;	/* removed at exit (stopped) */

static const char usage_text[] =
	"usage: parapet [-f] [-t] [-c config]\n"
	"       parapet -V|--version\n"
	"       parapet -h|--help\n"
	"  -c FILE  the configuration (default %s)\n"
	"  -f       stay in the foreground, log to stderr\n"
	"  -t       check the configuration and rules, then exit\n";

/* usage - to stdout and exit 0 when asked for (--help), else to stderr
 * and exit 2 */
static void usage(bool asked) __attribute__((noreturn));
static void usage(bool asked)
{
	fprintf(asked ? stdout : stderr, usage_text, config_default_path());
	exit(asked ? 0 : 2);
}

/* print_diag - every diagnostic through the log */
static void print_diag(const struct diag *d, bool as_error)
{
	for (size_t i = 0; i < d->n; i++) {
		if (as_error && strstr(d->lines[i], ": error: "))
			log_error("%s", d->lines[i]);
		else
			log_warn("%s", d->lines[i]);
	}
}

/* reload - build a new engine beside the old and swap it in */
static void reload(void)
{
	struct diag d;
	struct engine *old = engine_current(), *e;

	notify_reloading();
	diag_init(&d);
	e = engine_build(config_path, stage_registry, &d);
	if (e == NULL) {
		print_diag(&d, true);
		log_error("reload failed: %d error(s); keeping the rules of generation %lu",
			  d.errors, old ? old->generation : 0);
		metrics_reload(false, old ? old->generation : 0);
	} else {
		print_diag(&d, false);
		const char *key = old ? config_restart_needed(old->cfg, e->cfg) : NULL;
		if (key)
			log_warn("reload: %s changed; it takes effect only after a restart", key);
		log_set_level((enum log_level)e->cfg->log_level);
		log_info("rules reloaded: generation %lu, %zu rules, %d warning(s)",
			 e->generation, rules_count(e->rules), d.warnings);
		metrics_reload(true, e->generation);
		engine_publish(e);
	}
	engine_unref(old);
	diag_free(&d);
	notify_send("READY=1");	/* serving again, with the new or the old rules */
}

/* reload_thread - wait for SIGUSR1 */
static void *reload_thread(void *arg)
{
	sigset_t set;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	for (;;) {
		int s = sigwaitinfo(&set, NULL);
		if (s == SIGUSR1)
			reload();
	}
	return NULL;
}

/* drop_privileges - become user (pw), and give it the unix socket */
static void drop_privileges(const char *user, const struct passwd *pw)
{
	const char *sock = glue_socket_path();

	if (sock && chown(sock, pw->pw_uid, pw->pw_gid) != 0)
		log_fatal("chown %s: %s", sock, strerror(errno));
	if (initgroups(user, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0)
		log_fatal("cannot become user %s: %s", user, strerror(errno));
	if (setuid(0) == 0)
		log_fatal("privileges of root could be regained after dropping them");
}

/* stopped - at exit once parapet serves (glue.c exits after a stop
 * signal's drain): the metrics server down, the pidfile removed */
static void stopped(void)
{
	metrics_stop();
	log_info("parapet stopped");
	running_pidfile = pidfile_close(running_pidfile);
}

int main(int argc, char **argv)
{
	bool foreground = false, test_only = false;
	struct diag d;
	struct engine *e;
	sigset_t set;
	pthread_t tid;
	int c;
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};

	config_path = config_default_path();
	while ((c = getopt_long(argc, argv, "c:fhtV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config_path = optarg; break;
		case 'f': foreground = true; break;
		case 't': test_only = true; break;
		case 'h': usage(true);
		case 'V':
			printf("parapet %s\n", PARAPET_VERSION_FULL);
			return 0;
		default: usage(false);
		}
	}
	if (optind != argc)
		usage(false);
	log_open("parapet", foreground || test_only);
	rep_clock_from_env();	/* tests only: PARAPET_TEST_NOW */

	diag_init(&d);
	e = engine_build(config_path, stage_registry, &d);
	if (test_only) {
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "%s\n", d.lines[i]);
		if (e)
			printf("%s: OK: %zu rules, %d warning(s)\n", config_path,
			       rules_count(e->rules), d.warnings);
		diag_free(&d);
		int rc = e ? 0 : 1;
		engine_unref(e);
		return rc;
	}
	print_diag(&d, true);
	if (e == NULL)
		log_fatal("%s: not started: %d error(s) in the configuration or rules",
			  config_path, d.errors);
	diag_free(&d);
	log_set_level((enum log_level)e->cfg->log_level);
	mem_keep_large((size_t)e->cfg->max_scan_bytes);	/* SIGHUP keeps the first */
	/* never root by accident: root only when the config says so */
	if (e->cfg->user == NULL && geteuid() == 0)
		log_fatal("%s: not started as root: set user = parapet (an unprivileged "
			  "user, parapet.conf(5)), or user = root to run as root on purpose",
			  config_path);
	if (!foreground && daemon(0, 0) != 0)	/* before any thread exists */
		log_fatal("cannot detach: %s", strerror(errno));

	/* block the signals before any thread exists, so only sigwait sees them */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* first: a second daemon with this pidfile stops here, before it
	 * takes the socket over (pidfile.h) */
	struct pidfile *pidfile = NULL;
	if (e->cfg->pidfile) {
		char *err = NULL;
		if ((pidfile = pidfile_open(e->cfg->pidfile, &err)) == NULL)
			log_fatal("%s", err);
	}
	if (glue_open(e->cfg) < 0) {
		pidfile_close(pidfile);
		return 1;
	}
	if (e->cfg->metrics_listen) {	/* before dropping privileges: any port */
		char *err = NULL;
		if (metrics_start(e->cfg->metrics_listen, &err) < 0)
			log_fatal("%s: %s", config_path, err);
		log_info("metrics on http://%s/metrics", e->cfg->metrics_listen);
	}
	metrics_reload(true, e->generation);
	if (e->cfg->user && strcmp(e->cfg->user, "root") == 0) {
		log_info("running as root (user = root)");
	} else if (e->cfg->user) {
		struct passwd *pw = getpwnam(e->cfg->user);
		if (pw == NULL)
			log_fatal("user %s: no such user", e->cfg->user);
		/* so that the pidfile can still be removed after the drop */
		if (pidfile)
			pidfile_give(pidfile, pw->pw_uid, pw->pw_gid, glue_socket_path());
		drop_privileges(e->cfg->user, pw);
	}
	log_info("parapet %s started: %s, %zu rules, generation %lu", PARAPET_VERSION_FULL,
		 e->cfg->socket, rules_count(e->rules), e->generation);
	engine_publish(e);
	if (pthread_create(&tid, NULL, reload_thread, NULL) != 0)
		log_fatal("cannot start the reload thread");

	running_pidfile = pidfile;
	atexit(stopped);
	/* the socket listens (glue_open) and the rules are in use */
	notify_send("READY=1");
	return glue_run();
}
