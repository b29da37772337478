/*
 * fuzz_mime_skip.c - libFuzzer target: a hostile message's views built
 * twice, with every binary part's content left out of GMime's input
 * (mail/mime_skip.c, down to one byte) and with none; they must be the
 * same (mime.c mime_views_build: why they are).  A third build leaves the
 * statistics out (mime_views.no_stats): the same but for those.  Aborts
 * on a difference.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/engine.h"
#include "base/log.h"
#include "core/mboxfile.h"
#include "mail/message.h"
#include "mail/mime.h"
#include "core/scan.h"
#include "rules/rules.h"
#include "base/util.h"
#include "stages/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct engine *engine;

/* setup - no rules: only the message model is used */
static void setup(void)
{
	char *err = NULL;
	struct config *cfg = config_parse_buf("f", "authserv_id = mx.f\n", 19, &err);
	struct diag d;

	diag_init(&d);
	struct ruleset *rs = rules_load_text("f.cf", "", NULL, &d);
	if (cfg == NULL || rs == NULL)
		abort();
	diag_free(&d);
	engine = engine_new(cfg, rs, stage_registry);
	log_set_level(LOG_LVL_ERROR);
}

/* same_str - both NULL or equal */
static int same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_views a = { 0 }, b = { 0 }, c = { .no_stats = true };

	if (engine == NULL)
		setup();
	struct scan *sc = scan_new(engine);
	mboxfile_feed(sc, (const char *)data, size);
	struct msg *m = sc->msg;
	mime_views_build_skip(&a, m->hdrs, m->nhdrs, m->body.data, m->body.len, m->truncated, 1);
	mime_views_build_skip(&b, m->hdrs, m->nhdrs, m->body.data, m->body.len, m->truncated,
			      SIZE_MAX);
	mime_views_build_skip(&c, m->hdrs, m->nhdrs, m->body.data, m->body.len, m->truncated, 1);
	struct mime_stats sa, sc_;	/* but madiff's log and counts; memcpy keeps */
	memcpy(&sa, &a.stats, sizeof(sa));	/* the padding memcmp reads (a build */
	memcpy(&sc_, &c.stats, sizeof(sc_));	/* zeroes it), an assignment may not */
	sa.alt_log = sc_.alt_log = NULL;
	sa.alt_log_len = sc_.alt_log_len = 0;
	if (c.text_len != a.text_len || memcmp(c.text, a.text, a.text_len) != 0 ||
	    c.raw_len != a.raw_len || memcmp(c.raw, a.raw, a.raw_len) != 0 ||
	    c.nuris != a.nuris || c.uris_capped != a.uris_capped || !same_str(c.broken, a.broken) ||
	    c.parsed != a.parsed || c.nhtml != 0 || memcmp(&sa, &sc_, sizeof(sa)) != 0)
		abort();
	for (size_t i = 0; i < a.nuris; i++)
		if (strcmp(a.uris[i], c.uris[i]) != 0)
			abort();
	mime_views_free(&c);
	mime_stats_madiff(&a.stats);	/* the alternatives' logs, compared as counts */
	mime_stats_madiff(&b.stats);
	if (a.text_len != b.text_len || memcmp(a.text, b.text, a.text_len) != 0 ||
	    a.raw_len != b.raw_len || memcmp(a.raw, b.raw, a.raw_len) != 0 ||
	    a.nuris != b.nuris || a.uris_capped != b.uris_capped || !same_str(a.broken, b.broken) ||
	    a.nhtml != b.nhtml || memcmp(&a.stats, &b.stats, sizeof(a.stats)) != 0)
		abort();
	for (size_t i = 0; i < a.nuris; i++)
		if (strcmp(a.uris[i], b.uris[i]) != 0)
			abort();
	mime_views_free(&a);
	mime_views_free(&b);
	scan_free(sc);
	return 0;
}
