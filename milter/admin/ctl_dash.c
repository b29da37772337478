/*
 * ctl_dash.c - `parapetctl dashboard` (issue 7): options, the
 * engine of the configuration, then dashboard.c serves until SIGINT or
 * SIGTERM.  The main thread only waits for the signal (sigwait), so the
 * server's threads never see one.
 */
#include "autoconfig.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/dashboard.h"
#include "base/diag.h"
#include "core/engine.h"
#include "admin/parapetctl.h"

/* ctl_dashboard_command - dashboard [--listen HOST:PORT] [--host NAME]...
 * [--static DIR] [--password-file FILE] [--allow-writes] */
int ctl_dashboard_command(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "static", required_argument, NULL, 's' },
		{ "password-file", required_argument, NULL, 'p' },
		{ "allow-writes", no_argument, NULL, 'w' },
		{ "host", required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	struct dashboard_options o = { 0 };
	const char *hosts[DASHBOARD_MAX_HOSTS + 1];
	const char *static_opt = NULL;
	struct dashboard *d;
	struct engine *e;
	sigset_t set;
	char *err = NULL;
	int c, sig = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l': o.listen = optarg; break;
		case 's': static_opt = optarg; break;
		case 'p': o.password_file = optarg; break;
		case 'w': o.allow_writes = true; break;
		case 'H':
			/* one over the cap is kept so dashboard_start says why */
			if (o.nhosts <= DASHBOARD_MAX_HOSTS)
				hosts[o.nhosts++] = optarg;
			break;
		default: ctl_usage();
		}
	}
	if (optind != argc)
		ctl_usage();
	o.hosts = hosts;
	o.static_dir = dashboard_static_dir(static_opt);
	if ((e = ctl_engine()) == NULL)
		return 1;
	if (e->redis == NULL)
		fprintf(stderr, "parapetctl: warning: %s names no redis: the dashboard "
			"will show errors\n", e->cfg->path ? e->cfg->path : "(defaults)");
	/* block before the server's threads exist, so only sigwait sees them */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	d = dashboard_start(e, &o, &err);
	engine_unref(e);
	if (d == NULL) {
		fprintf(stderr, "parapetctl: dashboard: %s\n", err);
		free(err);
		return 1;
	}
	printf("parapetctl: dashboard on http://%s/ (files %s; writes %s)\n",
	       o.listen ? o.listen : DASHBOARD_LISTEN, o.static_dir,
	       dashboard_writes(d) ? "enabled" : "disabled");
	fflush(stdout);
	sigwait(&set, &sig);
	dashboard_stop(d);
	return 0;
}
