/*
 * bench.c - the helpers bench_rules.c and bench_dnsbl.c share (see
 * bench.h): one copy of the clocks and of how a benchmark builds its
 * engines, so the two measure the same way.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "core/config.h"
#include "core/engine.h"
#include "stages/registry.h"
#include "base/util.h"

/* bench_clock_us - microseconds of clock id */
double bench_clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* bench_now_us - monotonic microseconds */
double bench_now_us(void)
{
	return bench_clock_us(CLOCK_MONOTONIC);
}

/* bench_dbl_cmp - qsort of doubles */
int bench_dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* bench_dns_conf - the DNS server the script started, never the system
 * resolver, which may not answer at all here */
char *bench_dns_conf(void)
{
	const char *dns = getenv("PARAPET_BENCH_DNS");

	return xasprintf("dns_nameservers = %s\ndns_timeout_ms = 2000\n",
			 dns ? dns : "127.0.0.1:9");
}

/* bench_load - an engine with every stage and the rules of dir */
struct engine *bench_load(const char *conf, const char *dir)
{
	char *err = NULL;
	struct diag d;
	struct config *cfg = config_parse_buf("bench", conf, strlen(conf), &err);

	diag_init(&d);
	free(cfg->rules_dir);
	cfg->rules_dir = xstrdup(dir);
	struct engine *e = engine_from_config(cfg, stage_registry, &d);
	if (e == NULL)
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "%s\n", d.lines[i]);
	diag_free(&d);
	return e;
}
