/*
 * content.c - the rules stage and the structure stage (content.h).  No
 * state of their own: the rules write into the scan's hit list, the
 * structure stage reads what the message model noticed.
 */
#include "autoconfig.h"

#include <stdio.h>

#include "core/engine.h"
#include "core/scan.h"
#include "core/stage.h"
#include "rules/eval.h"
#include "rules/rules.h"
#include "stages/content.h"

/* structure_eom - symbols for what the message model noticed.  Runs after
 * the rules: the MIME parse is lazy (no body work unless a body, rawbody
 * or uri rule asks), and what the parse found is reported when it ran */
static int structure_eom(struct scan *sc, void **state)
{
	(void)state;
	const struct msg *m = sc->msg;

	scan_header_caps(sc);
	if (m->truncated) {
		char d[64];
		snprintf(d, sizeof(d), "scanned %zu of %zu body bytes",
			 m->body.len, m->body_total);
		scan_add_builtin(sc, "SCAN_TRUNCATED", d);
	}
	if (m->broken)
		scan_add_builtin(sc, "MIME_BROKEN", m->broken);
	return 0;
}

/* rules_stage_eom - the administrator's content rules */
static int rules_stage_eom(struct scan *sc, void **state)
{
	struct rules_rbl rbl = { sc->rbl, sc->nrbl };
	struct rules_auth au = {
		.rbl = &rbl,
		.spf_mfrom = (int)sc->spf_result,
		.dkim_valid = (const char *const *)sc->dkim_valid_domains,
		.ndkim_valid = sc->ndkim_valid,
		.bayes_valid = sc->bayes_valid,
		.bayes_prob = sc->bayes_prob,
	};

	(void)state;
	rules_eval(sc->engine->rules, sc->msg, sc->re, &sc->hits, &au);
	return 0;
}

/* rules_stage - see content.h */
const struct stage rules_stage = {
	.name = "rules",
	.eom = rules_stage_eom,
};

/* the built-ins structure_stage may add */
static const struct stage_symbol structure_symbols[] = {
	{ "SCAN_TRUNCATED", "Message larger than max_scan_bytes: the rest was not scanned" },
	{ "MIME_BROKEN", "Malformed message structure (MIME, encoding, NUL bytes or oversized header field)" },
	{ "HEADERS_TRUNCATED", "More than 1,000 header fields: the fields past them were not scanned" },
	{ NULL, NULL },
};

/* structure_stage - see content.h */
const struct stage structure_stage = {
	.symbols = structure_symbols,
	.name = "structure",
	.eom = structure_eom,
};
