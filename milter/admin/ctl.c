/*
 * ctl.c - what parapetctl's subcommand files share: the configuration
 * named with -c, the engine built from it, usage and JSON output.  Below
 * every subcommand file, so the files of parapetctl call one way only
 * (parapetctl.c dispatches; ctl_rep.c, ctl_dash.c and it use this).
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin/parapetctl.h"
#include "base/json.h"
#include "base/util.h"
#include "core/engine.h"
#include "stages/registry.h"

static const char *config_path;
static bool config_given;
static int fail_status = 1;	/* exit status when the config does not load */

/* print_usage - the usage on fp */
static void print_usage(FILE *fp)
{
	fprintf(fp,
		"usage: parapetctl [-c config] lint [--strict] [--verbose] [--list-rules] [RULES_DIR]\n"
		"       parapetctl [-c config] scan [--exit-code] [--json [--subrules]] [--no-dns] [--ip IP]\n"
		"                  [--helo NAME] [--bayes-cpu]\n"
		"                  [--from ADDR] [--rcpt ADDR]... FILE...|-\n"
		"       parapetctl [-c config] reload\n"
		"       parapetctl [-c config] rep show KIND VALUE [--json]\n"
		"       parapetctl [-c config] rep top KIND [N] [--json]\n"
		"       parapetctl [-c config] rep set KIND VALUE spam|ham [COUNT]\n"
		"       parapetctl [-c config] rep clear KIND VALUE\n"
		"       parapetctl [-c config] learn spam|ham [--ip IP] PATH...\n"
		"       parapetctl [-c config] forget PATH...\n"
		"       parapetctl [-c config] bayes stats [--json]\n"
		"       parapetctl [-c config] tail [--all] [--count N] [--json]\n"
		"       parapetctl [-c config] stats [HOURS] [--json]\n"
		"       parapetctl [-c config] dashboard [--listen HOST:PORT] [--host NAME]...\n"
		"                  [--static DIR] [--password-file FILE] [--allow-writes]\n"
		"       parapetctl -V|--version\n"
		"       parapetctl -h|--help\n"
		"       (KIND: ip, net, mfrom, from, dkim)\n");
}

/* ctl_usage - print the usage on stderr and exit 2 (a wrong command line) */
void ctl_usage(void)
{
	print_usage(stderr);
	exit(2);
}

/* ctl_help - print the usage on stdout and exit 0 (--help) */
void ctl_help(void)
{
	print_usage(stdout);
	exit(0);
}

/* load_config - -c FILE, else the default file if present, else defaults */
static struct config *load_config(void)
{
	char *err = NULL;
	const char *path = config_path;
	struct config *cfg;

	if (!config_given && access(path, F_OK) != 0)
		path = NULL;
	if ((cfg = config_load(path, &err)) == NULL) {
		fprintf(stderr, "%s\n", err);
		free(err);
		exit(fail_status);
	}
	return cfg;
}

/* ctl_load_config - for the subcommands in other files */
struct config *ctl_load_config(void)
{
	return load_config();
}

/* ctl_set_fail_status - exit status of a configuration that does not
 * load (scan --exit-code: not 1, which means spam there) */
void ctl_set_fail_status(int rc)
{
	fail_status = rc;
}

/* ctl_set_config - -c FILE (NULL: the default file, if present) */
void ctl_set_config(const char *path)
{
	config_path = path ? path : config_default_path();
	config_given = path != NULL;
}

/* ctl_json_str - a JSON string literal, or null for NULL (json.c) */
void ctl_json_str(FILE *fp, const char *s)
{
	json_print_str(fp, s, 0);
}

/* ctl_engine - engine of the configuration (rules give the REP_* weights) */
struct engine *ctl_engine(void)
{
	struct diag d;
	struct engine *e;

	diag_init(&d);
	e = engine_from_config(ctl_load_config(), stage_registry, &d);
	for (size_t i = 0; i < d.n; i++)
		if (e == NULL || strstr(d.lines[i], ": error: "))
			fprintf(stderr, "%s\n", d.lines[i]);
	diag_free(&d);
	if (e == NULL)
		exit(1);
	return e;
}

