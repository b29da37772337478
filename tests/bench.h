/*
 * bench.h - what the in-process benchmarks (bench_rules, bench_dnsbl)
 * share: clocks, an order for qsort of doubles, the configuration that
 * points every engine at the script's DNS server, and loading an engine
 * over one rules directory.
 */
#ifndef PARAPET_BENCH_H
#define PARAPET_BENCH_H

#include <time.h>

struct engine;

/* bench_clock_us - microseconds of clock id */
double bench_clock_us(clockid_t id);
/* bench_now_us - monotonic microseconds */
double bench_now_us(void);
/* bench_dbl_cmp - qsort order of doubles, ascending */
int bench_dbl_cmp(const void *a, const void *b);
/* bench_dns_conf - configuration text naming the DNS server in
 * PARAPET_BENCH_DNS (host:port), or a port nothing answers on; the
 * caller frees it */
char *bench_dns_conf(void);
/* bench_load - an engine with every stage, configuration conf and the
 * rules of dir; NULL (the diagnostics on stderr) on error */
struct engine *bench_load(const char *conf, const char *dir);

#endif
