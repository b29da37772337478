/*
 * bench_rules.c - in-process scan benchmark (scripts/bench/rules): every
 * message file given is fed through the same engine the daemon uses
 * (mboxfile -> scan -> verdict), on one thread, in three modes measured
 * in the same run:
 *   model  the message model only: parse + MIME views, no rules, no DNS
 *   rules  the content pipeline with the rules in RULES_DIR (no_dns: no
 *          SPF, DKIM, DMARC)
 *   full   every stage, SPF, DKIM and DMARC asking the DNS server named
 *          by PARAPET_BENCH_DNS (answers cached after the warm-up pass)
 * Prints messages/second and per-message microseconds (median, p99).
 * usage: bench_rules RULES_DIR PASSES FILE...
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/engine.h"
#include "base/log.h"
#include "core/mboxfile.h"
#include "rules/rules.h"
#include "core/scan.h"
#include "base/util.h"
#include "stages/registry.h"

struct file {
	char *data;
	size_t len;
};

/* now_us - monotonic microseconds */
static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* run - one mode over every file, passes times; fills per-message times */
static double run(struct engine *e, bool model_only, bool no_dns,
		  const struct file *files, size_t n, int passes, double *times,
		  size_t *tagged)
{
	double t0 = now_us();

	*tagged = 0;
	for (int p = 0; p < passes; p++) {
		for (size_t i = 0; i < n; i++) {
			double t = now_us();
			struct scan *sc = scan_new(e);
			sc->no_dns = no_dns;
			msg_set_client(sc->msg, "192.0.2.1", NULL, "helo.test");
			msg_set_from(sc->msg, "<a@b.test>");
			msg_add_rcpt(sc->msg, "<c@d.test>");
			mboxfile_feed(sc, files[i].data, files[i].len);
			if (model_only)
				msg_decode(sc->msg);
			const struct verdict *v = scan_finish(sc);
			if (p == 0 && v->tagged)
				(*tagged)++;
			scan_free(sc);
			times[(size_t)p * n + i] = now_us() - t;
		}
	}
	return now_us() - t0;
}

/* report - one line for a mode */
static void report(const char *name, double total_us, double *times, size_t count,
		   size_t tagged, size_t n)
{
	qsort(times, count, sizeof(*times), dbl_cmp);
	printf("%-6s %8.0f msg/s  median %7.1f us  p99 %8.1f us  max %8.1f us  tagged %zu/%zu\n",
	       name, (double)count / (total_us / 1e6), times[count / 2],
	       times[(size_t)((double)count * 0.99)], times[count - 1], tagged, n);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: bench_rules RULES_DIR PASSES FILE...\n");
		return 2;
	}
	log_open("bench_rules", true);
	log_set_level(LOG_LVL_ERROR);
	int passes = atoi(argv[2]);
	size_t n = (size_t)(argc - 3);
	struct file *files = xcalloc(n, sizeof(*files));
	for (size_t i = 0; i < n; i++) {
		files[i].data = mboxfile_read(argv[i + 3], &files[i].len);
		if (files[i].data == NULL) {
			fprintf(stderr, "bench_rules: cannot read %s\n", argv[i + 3]);
			return 1;
		}
	}
	char *err = NULL;
	struct diag d;
	diag_init(&d);
	/* the authentication stages run too: give them the DNS server the
	 * script started (answers cached after the warm-up pass), never the
	 * system resolver, which may not answer at all here */
	const char *dns = getenv("PARAPET_BENCH_DNS");
	char *conf = xasprintf("dns_nameservers = %s\ndns_timeout_ms = 2000\n",
			       dns ? dns : "127.0.0.1:9");
	struct config *cfg = config_parse_buf("bench", conf, strlen(conf), &err);
	free(cfg->rules_dir);
	cfg->rules_dir = xstrdup(argv[1]);
	struct engine *full = engine_from_config(cfg, stage_registry, &d);
	if (full == NULL) {
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "%s\n", d.lines[i]);
		return 1;
	}
	diag_free(&d);
	diag_init(&d);
	struct engine *bare = engine_new(config_parse_buf("bench", conf, strlen(conf), &err),
					 rules_load_text("none", "", NULL, &d), stage_registry);
	free(conf);
	diag_free(&d);

	size_t count = n * (size_t)passes, tagged;
	double *times = xcalloc(count, sizeof(*times));
	printf("%zu messages x %d passes, one thread, %zu rules\n", n, passes,
	       rules_count(full->rules));
	/* warm-up pass so both modes start with warm caches and JIT code */
	run(full, false, false, files, n, 1, times, &tagged);
	double t_model = run(bare, true, true, files, n, passes, times, &tagged);
	report("model", t_model, times, count, tagged, n);
	double t_rules = run(full, false, true, files, n, passes, times, &tagged);
	report("rules", t_rules, times, count, tagged, n);
	double t_full = run(full, false, false, files, n, passes, times, &tagged);
	report("full", t_full, times, count, tagged, n);
	printf("rules cost %.1f us/msg on top of the model (%.2fx the model's time);\n"
	       "SPF, DKIM and DMARC (answers cached) %.1f us/msg on top of the rules\n",
	       (t_rules - t_model) / (double)count, t_rules / t_model,
	       (t_full - t_rules) / (double)count);
	free(times);
	for (size_t i = 0; i < n; i++)
		free(files[i].data);
	free(files);
	engine_unref(full);
	engine_unref(bare);
	return 0;
}
