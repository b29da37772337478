/*
 * bench_dnsbl.c - the cost of the DNS blocklists (scripts/bench/dnsbl):
 * every message of a list file is scanned in-process, as the daemon
 * scans it (mboxfile -> scan -> verdict), with its own client IP, by two
 * engines: BASE_DIR's rules (no blocklist lines) and LISTS_DIR's (the
 * same plus check_rbl / urirhssub lines).  Each engine makes two passes:
 * the first with a cold resolver cache, the second warm.  Printed:
 *   lookups per message (the dnsbl stage's, from the /metrics counters
 *   parapet_dnsbl_lookups_total), median and max, and the hits;
 *   wall time per message (median, mean) per engine and pass, and the
 *   latency the lists add cold and warm;
 *   process CPU per message (mean) per engine and pass, and the ratio.
 * usage: bench_dnsbl BASE_DIR LISTS_DIR LIST_FILE
 *   LIST_FILE: one "CLIENT_IP PATH" a line.  PARAPET_BENCH_DNS names the
 *   DNS server (host:port).  With PARAPET_BENCH_SYNC set, after each pass
 *   it prints "pass NAME done" and waits for a line on standard input (the
 *   script counts the queries the DNS server saw in between).
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "core/engine.h"
#include "core/mboxfile.h"
#include "core/scan.h"
#include "net/metrics.h"
#include "base/log.h"
#include "base/util.h"

#define BENCH_MAX_FILES 100000

struct file {
	char *ip, *data;
	size_t len;
};

/* one pass of one engine */
struct pass {
	double *wall, *cpu, *lookups;	/* per message */
	double cpu_total;
	size_t hits;			/* messages with a list symbol */
};

/* lookups_total - the sum of parapet_dnsbl_lookups_total */
static double lookups_total(void)
{
	size_t len;
	char *text = metrics_render(&len), *p = text;
	double sum = 0;

	while ((p = strstr(p, "\nparapet_dnsbl_lookups_total{")) != NULL) {
		char *eol = strchr(++p, '\n'), *sp;
		if (eol == NULL)
			break;
		*eol = '\0';
		if ((sp = strrchr(p, ' ')) != NULL)
			sum += strtod(sp + 1, NULL);
		p = eol;
		*p = '\n';
	}
	free(text);
	return sum;
}

/* run - one pass over the files */
static struct pass run(struct engine *e, struct file *f, size_t n)
{
	struct pass r = { xcalloc(n, sizeof(double)), xcalloc(n, sizeof(double)),
			  xcalloc(n, sizeof(double)), 0, 0 };

	for (size_t i = 0; i < n; i++) {
		double before = lookups_total();
		double w = bench_now_us(), c = bench_clock_us(CLOCK_PROCESS_CPUTIME_ID);
		struct scan *sc = scan_new(e);
		msg_set_client(sc->msg, f[i].ip, NULL, "helo.test");
		msg_set_from(sc->msg, "<a@b.test>");
		msg_add_rcpt(sc->msg, "<c@d.test>");
		mboxfile_feed(sc, f[i].data, f[i].len);
		const struct verdict *v = scan_finish(sc);
		if (v->symbols && (strstr(v->symbols, "RCVD_IN_T_") || strstr(v->symbols, "URIBL_T_")))
			r.hits++;
		scan_free(sc);
		r.cpu[i] = bench_clock_us(CLOCK_PROCESS_CPUTIME_ID) - c;
		r.wall[i] = bench_now_us() - w;
		r.cpu_total += r.cpu[i];
		r.lookups[i] = lookups_total() - before;
	}
	return r;
}

/* sync - the pass is over: tell the script, wait for its line */
static void sync_pass(const char *name)
{
	char line[16];

	if (getenv("PARAPET_BENCH_SYNC") == NULL)
		return;
	printf("pass %s done\n", name);
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return;
}

/* median - of v[n], sorted in place */
static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), bench_dbl_cmp);
	return v[n / 2];
}

/* mean - of v[n] */
static double mean(const double *v, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += v[i];
	return s / (double)n;
}

/* read_list - the "IP PATH" lines; the count */
static size_t read_list(const char *path, struct file *f)
{
	FILE *fp = fopen(path, "r");
	char line[4096], ip[64], file[4000];
	size_t n = 0;

	if (fp == NULL)
		return 0;
	while (n < BENCH_MAX_FILES && fgets(line, sizeof(line), fp))
		if (sscanf(line, "%63s %3999s", ip, file) == 2 &&
		    (f[n].data = mboxfile_read(file, &f[n].len)) != NULL)
			f[n++].ip = xstrdup(ip);
	fclose(fp);
	return n;
}

/* free_pass - release */
static void free_pass(struct pass *p)
{
	free(p->wall);
	free(p->cpu);
	free(p->lookups);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: bench_dnsbl BASE_DIR LISTS_DIR LIST_FILE\n");
		return 2;
	}
	log_open("bench_dnsbl", true);
	log_set_level(LOG_LVL_ERROR);
	struct file *f = xcalloc(BENCH_MAX_FILES, sizeof(*f));
	size_t n = read_list(argv[3], f);
	if (n == 0) {
		fprintf(stderr, "bench_dnsbl: no message read from %s\n", argv[3]);
		return 1;
	}
	char *conf = bench_dns_conf();
	/* each engine has its own resolver, so each starts cold */
	struct engine *base = bench_load(conf, argv[1]);
	struct engine *lists = bench_load(conf, argv[2]);
	if (base == NULL || lists == NULL)
		return 1;
	struct pass b[2], l[2];
	for (int p = 0; p < 2; p++) {
		b[p] = run(base, f, n);
		sync_pass(p ? "base-warm" : "base-cold");
		l[p] = run(lists, f, n);
		sync_pass(p ? "lists-warm" : "lists-cold");
	}
	double lk_mean = mean(l[0].lookups, n), lk_med = median(l[0].lookups, n);
	printf("%zu messages, one thread; each engine: pass 1 cold resolver cache, pass 2 warm\n", n);
	printf("blocklist lookups per message: median %.0f, max %.0f, mean %.2f "
	       "(without lists: %.0f); messages with a list symbol: %zu\n",
	       lk_med, l[0].lookups[n - 1], lk_mean, mean(b[0].lookups, n),
	       l[0].hits);
	for (int p = 0; p < 2; p++) {
		const char *what = p ? "warm" : "cold";
		double bm = mean(b[p].wall, n), lm = mean(l[p].wall, n);
		double bmed = median(b[p].wall, n), lmed = median(l[p].wall, n);
		printf("%s: wall per message without lists median %.0f us mean %.0f us, with lists "
		       "median %.0f us mean %.0f us: added median %.0f us, mean %.0f us\n",
		       what, bmed, bm, lmed, lm, lmed - bmed, lm - bm);
		printf("%s: CPU per message without lists %.0f us, with lists %.0f us: ratio %.3f "
		       "(+%.1f%%)\n", what, b[p].cpu_total / (double)n, l[p].cpu_total / (double)n,
		       l[p].cpu_total / b[p].cpu_total, 100.0 * (l[p].cpu_total / b[p].cpu_total - 1));
	}
	for (int p = 0; p < 2; p++) {
		free_pass(&b[p]);
		free_pass(&l[p]);
	}
	for (size_t i = 0; i < n; i++) {
		free(f[i].ip);
		free(f[i].data);
	}
	free(f);
	free(conf);
	engine_unref(base);
	engine_unref(lists);
	return 0;
}
