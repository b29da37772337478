/*
 * bench_rules.c - in-process scan benchmark (scripts/bench/rules): every
 * message file given is fed through the same engine the daemon uses
 * (mboxfile -> scan -> verdict), on one thread.  Measured in one run:
 *   model    the message model only: parse + MIME views, no rules, no DNS
 *   rules    the content pipeline with the rules in RULES_DIR (no_dns: no
 *            SPF, DKIM, DMARC), "off" (every rule on every message) and
 *            "on" (the one-pass prefilter, and __ rules run only when a
 *            meta needs them); the verdicts' symbols and scores must be
 *            the same both ways
 *   full     every stage, SPF, DKIM and DMARC asking the DNS server named
 *            by PARAPET_BENCH_DNS (answers cached after the warm-up pass)
 *   stock    with a second rule directory (SpamAssassin's stock set): the
 *            scaling curve at 100, 400, 1,500 and all regex rules (the
 *            first N of the set) off and on, the curve again in rounds
 *            of every N back to back (at least 5), the same with no
 *            regex run at all (the floor: texts, scans, metas, evals),
 *            and the whole set on with every __ rule run (what lazy
 *            evaluation saves)
 * Prints messages/second and per-message microseconds (median, p99), and
 * for the whole stock set the CPU time per message (mean) as well.
 * usage: bench_rules RULES_DIR PASSES [--stock DIR STOCK_PASSES] FILE...
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
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
	char *symbols;		/* verdict of the prefilter-off run */
	double score;
};

/* one timed run */
struct result {
	double total_us;
	double cpu_us;		/* CPU time of the whole run (this process) */
	double *times;		/* per message and pass, sorted by report */
	double *cpu;		/* the same in this thread's CPU time, sorted */
	size_t count;
	size_t tagged;
	size_t differ;		/* verdicts unlike the reference run */
};

static const char *dns_conf;	/* the configuration every engine gets */

/* enum check - what run does with each first-pass verdict */
enum check { CHECK_NONE, CHECK_KEEP, CHECK_SAME };

/* run - one mode over every file, passes times */
static struct result run(struct engine *e, bool model_only, bool no_dns, struct file *files,
			 size_t n, int passes, enum check check)
{
	struct result r = { .count = n * (size_t)passes };
	double t0 = bench_now_us(), c0 = bench_clock_us(CLOCK_PROCESS_CPUTIME_ID);

	r.times = xcalloc(r.count, sizeof(*r.times));
	r.cpu = xcalloc(r.count, sizeof(*r.cpu));
	for (int p = 0; p < passes; p++) {
		for (size_t i = 0; i < n; i++) {
			double t = bench_now_us(), c = bench_clock_us(CLOCK_THREAD_CPUTIME_ID);
			struct scan *sc = scan_new(e);
			sc->no_dns = no_dns;
			msg_set_client(sc->msg, "192.0.2.1", NULL, "helo.test");
			msg_set_from(sc->msg, "<a@b.test>");
			msg_add_rcpt(sc->msg, "<c@d.test>");
			mboxfile_feed(sc, files[i].data, files[i].len);
			if (model_only)
				msg_decode(sc->msg);
			const struct verdict *v = scan_finish(sc);
			const char *sym = v->symbols ? v->symbols : "";
			if (p == 0 && v->tagged)
				r.tagged++;
			if (p == 0 && check == CHECK_KEEP) {
				free(files[i].symbols);
				files[i].symbols = xstrdup(sym);
				files[i].score = v->score;
			} else if (p == 0 && check == CHECK_SAME &&
				   (strcmp(files[i].symbols, sym) != 0 || files[i].score != v->score)) {
				if (r.differ++ < 5)
					fprintf(stderr, "DIFFER message %zu: off [%s] on [%s]\n", i,
						files[i].symbols, sym);
			}
			scan_free(sc);
			r.times[(size_t)p * n + i] = bench_now_us() - t;
			r.cpu[(size_t)p * n + i] = bench_clock_us(CLOCK_THREAD_CPUTIME_ID) - c;
		}
	}
	r.total_us = bench_now_us() - t0;
	r.cpu_us = bench_clock_us(CLOCK_PROCESS_CPUTIME_ID) - c0;
	qsort(r.times, r.count, sizeof(*r.times), bench_dbl_cmp);
	qsort(r.cpu, r.count, sizeof(*r.cpu), bench_dbl_cmp);
	return r;
}

/* median - of a sorted result */
static double median(const struct result *r)
{
	return r->times[r->count / 2];
}

/* cpu_median - the median CPU time of a message */
static double cpu_median(const struct result *r)
{
	return r->cpu[r->count / 2];
}

/* result_free - release */
static void result_free(struct result *r)
{
	free(r->times);
	free(r->cpu);
}

/* report - one line for a mode */
static void report(const char *name, struct result *r, size_t n, bool compared)
{
	printf("%-16s %8.0f msg/s  median %8.1f us  p99 %9.1f us  max %9.1f us  CPU median %8.1f us  "
	       "tagged %zu/%zu",
	       name, (double)r->count / (r->total_us / 1e6), median(r),
	       r->times[(size_t)((double)r->count * 0.99)], r->times[r->count - 1], cpu_median(r),
	       r->tagged, n);
	if (compared)
		printf("  verdicts %s", r->differ ? "DIFFER" : "identical");
	printf("\n");
}

/* load - an engine with every stage and the rules of dir, the time it
 * took in *ms; NULL on error */
static struct engine *load(const char *dir, double *ms)
{
	double t0 = bench_now_us();
	struct engine *e = bench_load(dns_conf, dir);

	if (ms)
		*ms = (bench_now_us() - t0) / 1e3;
	return e;
}

/* off_on - one rule set with the prefilter off, then on; the on run must
 * give the same verdicts; the medians in med[2] */
static bool off_on(struct engine *e, const char *label, struct file *files, size_t n,
		   int passes, double med[2], double cmed[2], double *cpu_on)
{
	char name[64];

	/* off: every rule runs on every message (no prefilter, no lazy
	 * __ rules): the reference the on run's verdicts must equal */
	rules_set_prefilter(e->rules, false);
	rules_set_lazy(e->rules, false);
	struct result off = run(e, false, true, files, n, passes, CHECK_KEEP);
	rules_set_prefilter(e->rules, true);
	rules_set_lazy(e->rules, true);
	struct result on = run(e, false, true, files, n, passes, CHECK_SAME);
	snprintf(name, sizeof(name), "%s off", label);
	report(name, &off, n, false);
	snprintf(name, sizeof(name), "%s on", label);
	report(name, &on, n, true);
	med[0] = median(&off);
	med[1] = median(&on);
	if (cmed) {
		cmed[0] = cpu_median(&off);
		cmed[1] = cpu_median(&on);
	}
	if (cpu_on)	/* CPU per message, mean: what a loaded machine does not inflate */
		*cpu_on = on.cpu_us / (double)on.count;
	bool same = on.differ == 0;
	result_free(&off);
	result_free(&on);
	return same;
}

/* pf_line - what the prefilter of a set holds */
static void pf_line(const struct engine *e, double load_ms)
{
	struct rules_pf_info pi;

	rules_prefilter_info(e->rules, &pi);
	printf("  %zu rules, %zu regex rules, %zu distinct regexes (%zu prefiltered by literals, "
	       "%zu of them in the squeezed text, %zu in ASCII texts only, %zu squeezed in ASCII "
	       "texts without '&', %zu with windows "
	       "from a prefix, %zu searched first for a core (%zu of them after its first item), %zu with a width per literal from "
	       "their branches, %zu with a second set of literals; %zu with a run of classes a plain "
	       "text must hold, %zu that cannot match one; %zu of the others searched only in "
	       "runs of the bytes they consume, %zu of them runs of a part's bytes), "
	       "%zu literals, %zu distinct strings, "
	       "%zu texts; load %.0f ms of which prefilter %.0f ms; database %zu KB, scratch %zu KB\n",
	       rules_count(e->rules), pi.regexes, pi.distinct, pi.prefiltered, pi.squeezed, pi.ascii, pi.plain,
	       pi.lead, pi.core, pi.head, pi.branched, pi.gated, pi.runs - pi.runs_dead, pi.runs_dead,
	       pi.span, pi.subspan, pi.literals, pi.strings, pi.texts,
	       load_ms,
	       pi.build_ms, pi.db_bytes / 1024, pi.scratch_bytes / 1024);
}

/* ratio_rounds - the scaling curve again, the prefilter on, in rounds
 * that run every N back to back (in turn forwards and backwards), so
 * that a slow spell of a shared machine weighs on all of them alike and
 * not on the one cell measured in it.  Prints each round's medians and
 * ratio (the last N's median to the first's), then the median of the
 * ratios and the ratio of each N's best round (a spell only adds time).
 * what: the line's words for the setting measured.  The verdicts were
 * compared already, each N's with its own off run (the floor's are
 * wrong by design: no regex runs).  Returns the median of the last N's
 * round medians; *mid_ratio (if not NULL) gets the median ratio. */
static double ratio_rounds(struct engine **e, const size_t *got, size_t ne, struct file *files,
			   size_t n, int rounds, const char *what, double *mid_ratio)
{
	double *m = xcalloc(ne, sizeof(*m)), *best = xcalloc(ne, sizeof(*best));
	double *ratio = xcalloc((size_t)rounds, sizeof(*ratio));
	double *last = xcalloc((size_t)rounds, sizeof(*last));

	printf("%s, %d rounds of every N back to back (median us/msg):\n", what, rounds);
	for (int k = 0; k < rounds; k++) {
		for (size_t j = 0; j < ne; j++) {
			size_t at = k % 2 ? ne - 1 - j : j;
			struct result on = run(e[at], false, true, files, n, 1, CHECK_NONE);
			m[at] = median(&on);
			result_free(&on);
		}
		ratio[k] = m[ne - 1] / m[0];
		last[k] = m[ne - 1];
		printf("  round %d:", k + 1);
		for (size_t j = 0; j < ne; j++) {
			printf(" N=%zu %.1f", got[j], m[j]);
			if (k == 0 || m[j] < best[j])
				best[j] = m[j];
		}
		printf("  x%.2f\n", ratio[k]);
	}
	qsort(ratio, (size_t)rounds, sizeof(*ratio), bench_dbl_cmp);
	if (mid_ratio)
		*mid_ratio = ratio[rounds / 2];
	printf("%.1fx the rules (%zu -> %zu), %s: time x%.2f (median of the rounds' ratios), "
	       "x%.2f (each N's best round: %.1f -> %.1f us) (target <= 2)\n",
	       (double)got[ne - 1] / (double)got[0], got[0], got[ne - 1], what, ratio[rounds / 2],
	       best[ne - 1] / best[0], best[0], best[ne - 1]);
	qsort(last, (size_t)rounds, sizeof(*last), bench_dbl_cmp);
	double mid = last[rounds / 2];
	free(m);
	free(best);
	free(ratio);
	free(last);
	return mid;
}

/* sampled - the curve's two ends again with the small end drawn at
 * random (rules_sample) instead of the first lo regex rules in file order:
 * which rules make up the small end moves the ratio (the first ones are
 * cheaper than most), so SAMPLE_DRAWS draws of it, each checked against
 * its off run and measured against the whole set (all) in rounds.  False
 * when a draw's verdicts differ with the prefilter on.  The draws' off
 * runs keep their verdicts in files[] as the reference: run it after
 * every check against the whole set's. */
#define SAMPLE_DRAWS 3
static bool sampled(const char *dir, struct engine *all, size_t lo, size_t hi, struct file *files,
		    size_t n, int passes, int rounds)
{
	double ratio[SAMPLE_DRAWS], med[2], cmed[2], cpu;
	bool same = true;

	printf("the same with the %zu rules drawn at random from the %zu (%d draws):\n", lo, hi,
	       SAMPLE_DRAWS);
	for (unsigned long seed = 1; seed <= SAMPLE_DRAWS; seed++) {
		char what[64];
		struct engine *e = load(dir, NULL);
		if (e == NULL)
			return false;
		rules_sample(e->rules, lo, seed);
		snprintf(what, sizeof(what), "random N=%zu, draw %lu", lo, seed);
		same &= off_on(e, what, files, n, passes, med, cmed, &cpu);
		struct engine *pair[2] = { e, all };
		size_t got[2] = { lo, hi };
		ratio_rounds(pair, got, 2, files, n, rounds, what, &ratio[seed - 1]);
		engine_unref(e);
	}
	qsort(ratio, SAMPLE_DRAWS, sizeof(*ratio), bench_dbl_cmp);
	printf("%.1fx the rules (%zu drawn at random -> %zu): time x%.2f (the median draw; "
	       "draws x%.2f to x%.2f) (target <= 2)\n", (double)hi / (double)lo, lo, hi,
	       ratio[SAMPLE_DRAWS / 2], ratio[0], ratio[SAMPLE_DRAWS - 1]);
	return same;
}

/* stock - the second set: whole, then the scaling curve */
static bool stock(const char *dir, struct file *files, size_t n, int passes, double model_med)
{
	static const size_t sizes[] = { 100, 400, 1500, (size_t)-1 };
	double load_ms, med[4][2], cmed[4][2], first[2] = { 0, 0 }, cpu_all = 0;
	size_t got[4], nsizes = 0;
	struct engine *curve[4];
	bool same = true;

	struct engine *e = load(dir, &load_ms);
	if (e == NULL)
		return false;
	printf("\nstock set %s:\n", dir);
	pf_line(e, load_ms);
	struct rules_pf_info all;
	rules_prefilter_info(e->rules, &all);
	engine_unref(e);
	printf("scaling: the first N regex rules of the stock set (metas kept), %d pass(es)\n", passes);
	for (size_t k = 0; k < 4; k++) {
		size_t want = sizes[k] < all.regexes ? sizes[k] : all.regexes;
		if (nsizes && want == got[nsizes - 1])
			continue;
		char label[32];
		e = load(dir, NULL);
		rules_limit(e->rules, want);
		snprintf(label, sizeof(label), "N=%zu", want);
		same &= off_on(e, label, files, n, passes, med[nsizes], cmed[nsizes], &cpu_all);
		got[nsizes] = want;
		curve[nsizes++] = e;
	}
	first[0] = med[0][0];
	first[1] = med[0][1];
	printf("\n%8s %14s %14s %16s %16s\n", "N", "off us/msg", "on us/msg", "off rules-only", "on rules-only");
	for (size_t k = 0; k < nsizes; k++)
		printf("%8zu %14.1f %14.1f %16.1f %16.1f\n", got[k], med[k][0], med[k][1],
		       med[k][0] - model_med, med[k][1] - model_med);
	size_t last = nsizes - 1;
	printf("%.1fx the rules (%zu -> %zu): time x%.2f off, x%.2f on (target <= 2); "
	       "rules-only x%.2f off, x%.2f on\n",
	       (double)got[last] / (double)got[0], got[0], got[last],
	       med[last][0] / first[0], med[last][1] / first[1],
	       (med[last][0] - model_med) / (first[0] - model_med),
	       (med[last][1] - model_med) / (first[1] - model_med));
	printf("in CPU time (medians, steadier on a shared machine):\n%8s %14s %14s\n", "N",
	       "off CPU us", "on CPU us");
	for (size_t k = 0; k < nsizes; k++)
		printf("%8zu %14.1f %14.1f\n", got[k], cmed[k][0], cmed[k][1]);
	printf("%.1fx the rules (%zu -> %zu): CPU x%.2f off, x%.2f on (target <= 2)\n",
	       (double)got[last] / (double)got[0], got[0], got[last], cmed[last][0] / cmed[0][0],
	       cmed[last][1] / cmed[0][1]);
	/* the cells above ran one after another, each in a spell of its
	 * own: again in rounds, each N in turn */
	int rounds = passes < 5 ? 5 : passes;
	double all_rounds = ratio_rounds(curve, got, nsizes, files, n, rounds, "prefilter on", NULL);
	/* the part of the curve no prefilter removes: every text built and
	 * scanned, every meta and eval run, no regex at all */
	for (size_t k = 0; k < nsizes; k++)
		rules_set_no_regex(curve[k]->rules, true);
	ratio_rounds(curve, got, nsizes, files, n, rounds,
		     "no regex run at all (each taken as no match; its text built and scanned)", NULL);
	for (size_t k = 0; k < nsizes; k++)
		rules_set_no_regex(curve[k]->rules, false);
	for (size_t k = 0; k + 1 < nsizes; k++)
		engine_unref(curve[k]);
	e = curve[last];
	printf("stock set, all rules, prefilter on: median %.1f us/msg\n", med[last][1]);
	/* the same set measured again in each round: the median of those
	 * medians, which one slow spell of a shared machine moves less */
	printf("stock set, all rules, prefilter on, median of %d rounds: %.1f us/msg\n", rounds,
	       all_rounds);
	printf("stock set, all rules, prefilter on: CPU %.1f us/msg (mean)\n", cpu_all);
	/* what the lazy __ rules add to the prefilter: the whole set once
	 * more with every __ rule run (the verdicts must not move) */
	rules_set_lazy(e->rules, false);
	struct result eager = run(e, false, true, files, n, passes, CHECK_SAME);
	report("all, every __", &eager, n, true);
	printf("stock set, all rules, prefilter on, every __ rule run: median %.1f us/msg, "
	       "CPU %.1f us/msg (mean); lazy __ rules: x%.2f median, x%.2f CPU\n", median(&eager),
	       eager.cpu_us / (double)eager.count, med[last][1] / median(&eager),
	       cpu_all / (eager.cpu_us / (double)eager.count));
	same &= eager.differ == 0;
	result_free(&eager);
	/* last: each draw's off run is its own reference (CHECK_KEEP); the
	 * whole set as measured above, lazy __ rules again */
	rules_set_lazy(e->rules, true);
	same &= sampled(dir, e, got[0], got[last], files, n, passes, rounds);
	engine_unref(e);
	return same;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: bench_rules RULES_DIR PASSES [--stock DIR STOCK_PASSES] FILE...\n");
		return 2;
	}
	log_open("bench_rules", true);
	log_set_level(LOG_LVL_ERROR);
	int passes = atoi(argv[2]), stock_passes = 1, first = 3;
	const char *stock_dir = NULL;
	if (argc > 6 && strcmp(argv[3], "--stock") == 0) {
		stock_dir = argv[4];
		stock_passes = atoi(argv[5]);
		first = 6;
	}
	size_t n = (size_t)(argc - first);
	struct file *files = xcalloc(n, sizeof(*files));
	for (size_t i = 0; i < n; i++) {
		files[i].data = mboxfile_read(argv[i + first], &files[i].len);
		if (files[i].data == NULL) {
			fprintf(stderr, "bench_rules: cannot read %s\n", argv[i + first]);
			return 1;
		}
	}
	/* the authentication stages run too: give them the DNS server the
	 * script started (answers cached after the warm-up pass), never the
	 * system resolver, which may not answer at all here */
	char *conf = bench_dns_conf();
	dns_conf = conf;
	double load_ms;
	struct engine *full = load(argv[1], &load_ms);
	if (full == NULL)
		return 1;
	char *err = NULL;
	struct diag d;
	diag_init(&d);
	struct engine *bare = engine_new(config_parse_buf("bench", conf, strlen(conf), &err),
					 rules_load_text("none", "", NULL, &d), stage_registry);
	diag_free(&d);

	printf("%zu messages x %d passes, one thread\nshipped rules %s:\n", n, passes, argv[1]);
	pf_line(full, load_ms);
	/* warm-up pass so every mode starts with warm caches and JIT code */
	struct result r = run(full, false, false, files, n, 1, CHECK_NONE);
	result_free(&r);
	struct result model = run(bare, true, true, files, n, passes, CHECK_NONE);
	report("model", &model, n, false);
	double med[2];
	bool same = off_on(full, "rules", files, n, passes, med, NULL, NULL);
	r = run(full, false, false, files, n, passes, CHECK_NONE);
	report("full (on)", &r, n, false);
	printf("rules cost %.1f us/msg (off) and %.1f us/msg (on) on top of the model (median)\n",
	       med[0] - median(&model), med[1] - median(&model));
	result_free(&r);
	if (stock_dir)
		same &= stock(stock_dir, files, n, stock_passes, median(&model));
	result_free(&model);
	for (size_t i = 0; i < n; i++) {
		free(files[i].data);
		free(files[i].symbols);
	}
	free(files);
	free(conf);
	engine_unref(full);
	engine_unref(bare);
	if (!same)
		printf("FAIL: the prefilter or lazy evaluation changed a verdict\n");
	return same ? 0 : 1;
}
