/*
 * parapetctl.c - the administrator's tool.  Every subcommand runs the
 * engine library the daemon runs (scan.c, rules.c, ...): `scan` feeds a
 * message file through the very pipeline the milter uses, `lint` loads
 * the rule files the way a reload does.
 */
#include "autoconfig.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/engine.h"
#include "base/json.h"
#include "base/log.h"
#include "core/mboxfile.h"
#include "admin/parapetctl.h"
#include "daemon/pidfile.h"
#include "stages/rep/rep.h"
#include "core/scan.h"
#include "core/verdict.h"
#include "base/util.h"
#include "stages/registry.h"

/* print_rule - one line of lint --list-rules */
static void print_rule(const char *name, const char *type, void *ctx)
{
	(void)ctx;
	printf("%s %s\n", name, type);
}

/*
 * cmd_lint - load every rule file, print every error and warning, and
 * one line per reason things were skipped (--verbose: every skipped
 * line); with --list-rules, print "NAME TYPE" for every rule that can run
 * on stdout and the rest on stderr.  Exit 1 on an error, and with
 * --strict on a warning too
 */
static int cmd_lint(int argc, char **argv)
{
	struct config *cfg = ctl_load_config();
	struct diag d;
	bool verbose = false, list = false, strict = false;

	for (; argc > 1 && argv[1][0] == '-'; argc--, argv++) {
		if (strcmp(argv[1], "--verbose") == 0 || strcmp(argv[1], "-v") == 0)
			verbose = true;
		else if (strcmp(argv[1], "--strict") == 0)
			strict = true;
		else if (strcmp(argv[1], "--list-rules") == 0)
			list = true;
		else
			break;
	}
	FILE *out = list ? stderr : stdout;
	if (argc > 2)
		ctl_usage();
	if (argc == 2) {
		free(cfg->rules_dir);
		cfg->rules_dir = xstrdup(argv[1]);
	}
	diag_init(&d);
	d.verbose = verbose;
	struct engine *e = engine_from_config(cfg, stage_registry, &d);
	for (size_t i = 0; i < d.n; i++)
		fprintf(out, "%s\n", d.lines[i]);
	if (e && list)
		rules_each(e->rules, print_rule, NULL);
	if (e)
		fprintf(out, "%s: %zu rules, %d error(s), %d warning(s), %d skipped\n",
			e->cfg->rules_dir, rules_count(e->rules), d.errors, d.warnings,
			d.skipped);
	else
		fprintf(out, "%d error(s), %d warning(s), %d skipped\n", d.errors, d.warnings,
			d.skipped);
	/* --strict: a warning fails too; skipped lines (SpamAssassin
	 * features parapet does not take) are notes, not warnings */
	int rc = d.errors || (strict && d.warnings) ? 1 : 0;
	engine_unref(e);
	diag_free(&d);
	return rc;
}

#define SCAN_EXIT_SPAM 1	/* scan --exit-code: a message is spam */
#define SCAN_EXIT_ERROR 3	/* scan --exit-code: could not scan (2: usage) */

static const char *edit_names[] = { "delete", "insert", "add", "change" };

/* print_json - one object per message, on one line */
static void print_json(const char *file, const struct scan *sc, const struct verdict *v,
		       const struct hits *sub)
{
	char s[32];

	verdict_format_score(s, sizeof(s), v->score);
	printf("{\"file\":");
	ctl_json_str(stdout, file);
	printf(",\"score\":%s,\"required\":%.1f,\"action\":\"%s\"", s,
	       sc->engine->cfg->tag_score, action_name(v->action));
	if (v->observed != v->action)	/* mode = observe */
		printf(",\"would\":\"%s\"", action_name(v->observed));
	if (v->skipped) {
		printf(",\"skipped\":");
		ctl_json_str(stdout, v->why);
	}
	if (v->code)
		printf(",\"reply\":\"%s %s %s\"", v->code, v->xcode, v->text);
	printf(",\"symbols\":[");
	for (size_t i = 0; i < sc->hits.n; i++) {
		const struct hit *h = &sc->hits.v[i];
		printf("%s{\"name\":", i ? "," : "");
		ctl_json_str(stdout, h->name);
		printf(",\"score\":%.3f,\"description\":", h->score);
		ctl_json_str(stdout, h->desc);
		printf(",\"detail\":");
		ctl_json_str(stdout, h->detail);
		printf("}");
	}
	printf("]");
	if (sc->bayes_detail) {	/* the classifier ran (bayes = yes, trained) */
		printf(",\"bayes\":{\"probability\":");
		if (sc->bayes_valid)
			printf("%.6f", sc->bayes_prob);
		else
			printf("null");
		printf(",\"detail\":");
		ctl_json_str(stdout, sc->bayes_detail);
		if (sc->bayes_cpu_us >= 0)	/* --bayes-cpu */
			printf(",\"cpu_us\":%.1f", sc->bayes_cpu_us);
		printf("}");
	}
	printf(",\"headers\":[");
	for (size_t i = 0; i < v->nedits; i++) {
		const struct edit *ed = &v->edits[i];
		printf("%s{\"op\":\"%s\",\"name\":", i ? "," : "", edit_names[ed->op]);
		ctl_json_str(stdout, ed->name);
		printf(",\"index\":%d,\"value\":", ed->index);
		ctl_json_str(stdout, ed->value);
		printf("}");
	}
	printf("]");
	if (sub) {
		printf(",\"subrules\":[");
		for (size_t i = 0; i < sub->n; i++) {
			printf("%s", i ? "," : "");
			ctl_json_str(stdout, sub->v[i].name);
		}
		printf("]");
	}
	printf(",\"ms\":%.3f}\n", v->ms);
}

/* print_text - the verdict explained for a person */
static void print_text(const char *file, const struct scan *sc, const struct verdict *v)
{
	char s[32], r[32];

	verdict_format_score(s, sizeof(s), v->score);
	verdict_format_score(r, sizeof(r), sc->engine->cfg->tag_score);
	printf("%s\n  score %s (required %s)  action %s", file, s, r, action_name(v->action));
	if (v->observed != v->action)	/* mode = observe */
		printf(" (would %s)", action_name(v->observed));
	if (v->code)
		printf("  reply \"%s %s %s\"", v->code, v->xcode, v->text);
	if (v->skipped)
		printf("  (not scanned: %s)", v->why);
	printf("\n");
	for (size_t i = 0; i < sc->hits.n; i++) {
		const struct hit *h = &sc->hits.v[i];
		printf("  %6.2f %-24s %s", h->score, h->name, h->desc ? h->desc : "");
		if (h->detail)
			printf(" [%s]", h->detail);
		printf("\n");
	}
	if (sc->bayes_detail)
		printf("  bayes: %s\n", sc->bayes_detail);
	if (sc->bayes_cpu_us >= 0)	/* --bayes-cpu */
		printf("  bayes cpu: %.1f us\n", sc->bayes_cpu_us);
	for (size_t i = 0; i < v->nedits; i++) {
		const struct edit *ed = &v->edits[i];
		if (ed->op == EDIT_DELETE)
			printf("  - %s (#%d)\n", ed->name, ed->index);
		else if (ed->op == EDIT_CHANGE)
			printf("  ~ %s: %s\n", ed->name, ed->value);
		else
			printf("  + %s: %s\n", ed->name, ed->value);
	}
}

/*
 * cmd_scan - the full pipeline over message files.  With --exit-code
 * (as spamc -c): 0 when every message is ham, 1 when one is spam (its
 * score reaches tag_score: X-Spam-Flag, or the action is reject or
 * quarantine), 2 on a usage error, 3 when a file or the configuration
 * cannot be read.  Without it: 0, or 1 on a read error.
 */
static int cmd_scan(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "ip", required_argument, NULL, 'i' },
		{ "helo", required_argument, NULL, 'h' },
		{ "from", required_argument, NULL, 'f' },
		{ "rcpt", required_argument, NULL, 'r' },
		{ "no-dns", no_argument, NULL, 'n' },
		{ "subrules", no_argument, NULL, 's' },
		{ "exit-code", no_argument, NULL, 'x' },
		{ "bayes-cpu", no_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ip = NULL, *helo = "localhost", *from = "";
	bool no_dns = false;
	const char **rcpts = NULL;
	size_t nrcpts = 0;
	bool json = false, subrules = false, exit_code = false, spam = false, bayes_cpu = false;
	struct hits sub = { 0 };
	int c, rc = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'n': no_dns = true; break;
		case 's': subrules = true; break;
		case 'x': exit_code = true; break;
		case 'b': bayes_cpu = true; break;
		case 'i': ip = optarg; break;
		case 'h': helo = optarg; break;
		case 'f': from = optarg; break;
		case 'r':
			rcpts = xrealloc(rcpts, (nrcpts + 1) * sizeof(*rcpts));
			rcpts[nrcpts++] = optarg;
			break;
		default: ctl_usage();
		}
	}
	if (optind >= argc || (subrules && !json))
		ctl_usage();
	if (exit_code)
		ctl_set_fail_status(SCAN_EXIT_ERROR);
	struct diag d;
	diag_init(&d);
	struct engine *e = engine_from_config(ctl_load_config(), stage_registry, &d);
	for (size_t i = 0; i < d.n; i++)
		if (e == NULL || strstr(d.lines[i], ": error: "))
			fprintf(stderr, "%s\n", d.lines[i]);
	diag_free(&d);
	if (e == NULL)
		return exit_code ? SCAN_EXIT_ERROR : 1;
	mem_keep_large((size_t)e->cfg->max_scan_bytes);
	for (int i = optind; i < argc; i++) {
		size_t len;
		char *data = mboxfile_read(argv[i], &len);
		if (data == NULL) {
			fprintf(stderr, "parapetctl: %s: %s\n", argv[i], strerror(errno));
			rc = 1;
			continue;
		}
		struct scan *sc = scan_new(e);
		sc->offline = true;	/* read reputation, write nothing */
		sc->no_dns = no_dns;
		sc->bayes_cpu_wanted = bayes_cpu;
		if (subrules)
			sc->hits.subrules = &sub;
		msg_set_client(sc->msg, ip, NULL, helo);
		msg_set_from(sc->msg, from);
		for (size_t k = 0; k < nrcpts; k++)
			scan_rcpt(sc, rcpts[k], false);
		if (cidr_list_match(&e->cfg->trusted_networks, ip))
			scan_skip(sc, "trusted_networks");	/* as the daemon does */
		mboxfile_feed(sc, data, len);
		const struct verdict *v = scan_finish(sc);
		spam = spam || v->tagged || v->action == ACTION_REJECT ||
		       v->action == ACTION_QUARANTINE;
		if (json)
			print_json(argv[i], sc, v, subrules ? &sub : NULL);
		else
			print_text(argv[i], sc, v);
		scan_free(sc);
		hits_clear(&sub);
		free(data);
	}
	free(rcpts);
	engine_unref(e);
	if (exit_code)
		return rc ? SCAN_EXIT_ERROR : spam ? SCAN_EXIT_SPAM : 0;
	return rc;
}

/* cmd_reload - SIGUSR1 to the parapet daemon named by the pidfile */
static int cmd_reload(void)
{
	struct config *cfg = ctl_load_config();
	char *err = NULL;
	long pid;

	if (cfg->pidfile == NULL) {
		fprintf(stderr, "parapetctl: no pidfile in %s\n", cfg->path);
		config_free(cfg);
		return 1;
	}
	/* only a parapet that holds the pidfile: a stale file may name any
	 * process by now (pidfile.h) */
	pid = pidfile_running(cfg->pidfile, &err);
	config_free(cfg);
	if (pid < 0) {
		fprintf(stderr, "parapetctl: %s\n", err);
		free(err);
		return 1;
	}
	if (kill((pid_t)pid, SIGUSR1) != 0) {
		fprintf(stderr, "parapetctl: signal pid %ld: %s\n", pid, strerror(errno));
		return 1;
	}
	printf("reload requested (pid %ld); the daemon logs the result\n", pid);
	return 0;
}

int main(int argc, char **argv)
{
	int c;
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};

	ctl_set_config(NULL);
	log_open("parapetctl", true);
	log_set_level(LOG_LVL_WARNING);
	rep_clock_from_env();
	while ((c = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ctl_set_config(optarg);
			break;
		case 'h': ctl_help();
		case 'V':
			printf("parapetctl %s\n", PARAPET_VERSION_FULL);
			return 0;
		default: ctl_usage();
		}
	}
	if (optind >= argc)
		ctl_usage();
	argc -= optind;
	argv += optind;
	if (strcmp(argv[0], "lint") == 0)
		return cmd_lint(argc, argv);
	if (strcmp(argv[0], "scan") == 0)
		return cmd_scan(argc, argv);
	if (strcmp(argv[0], "reload") == 0 && argc == 1)
		return cmd_reload();
	if (strcmp(argv[0], "rep") == 0 || strcmp(argv[0], "learn") == 0 ||
	    strcmp(argv[0], "forget") == 0 || strcmp(argv[0], "bayes") == 0 ||
	    strcmp(argv[0], "tail") == 0 || strcmp(argv[0], "stats") == 0)
		return ctl_rep_command(argc, argv);
	if (strcmp(argv[0], "dashboard") == 0)
		return ctl_dashboard_command(argc, argv);
	ctl_usage();
}
