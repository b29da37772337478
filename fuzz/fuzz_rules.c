/*
 * fuzz_rules.c - libFuzzer target: the rule-file parser, then the loaded
 * rules run on a fixed message so compiled regexes are exercised too,
 * with the one-pass prefilter on and off: the hits must be the same (the
 * prefilter may only skip a regex that cannot match; a Vectorscan
 * pattern that is no superset of its PCRE2 regex would show here).
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char MSG[] = "From: a <a@b.test>\nTo: c@d.test\nSubject: Hello WORLD\n"
			  "X-Mailer: x\n\nbody text http://x.test/ click here\n";

/* scan_msg - MSG through e, the __ rules that hit into sub */
static struct scan *scan_msg(struct engine *e, struct hits *sub)
{
	struct scan *sc = scan_new(e);

	sc->no_dns = true;
	sc->hits.subrules = sub;
	mboxfile_feed(sc, MSG, strlen(MSG));
	scan_finish(sc);
	return sc;
}

/* same_hits - the same names and details in the same order */
static bool same_hits(const struct hits *a, const struct hits *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const char *da = a->v[i].detail ? a->v[i].detail : "";
		const char *db = b->v[i].detail ? b->v[i].detail : "";
		if (strcmp(a->v[i].name, b->v[i].name) != 0 || strcmp(da, db) != 0)
			return false;
	}
	return true;
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
		struct hits sub_on = { 0 }, sub_off = { 0 };
		struct scan *on = scan_msg(e, &sub_on);
		rules_set_prefilter(e->rules, false);
		struct scan *off = scan_msg(e, &sub_off);
		if (!same_hits(&on->hits, &off->hits) || !same_hits(&sub_on, &sub_off))
			abort();
		scan_free(on);
		scan_free(off);
		hits_clear(&sub_on);
		hits_clear(&sub_off);
		engine_unref(e);
	}
	diag_free(&d);
	free(text);
	return 0;
}
