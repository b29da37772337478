/*
 * fuzz_rules.c - libFuzzer target: the rule-file parser, then the loaded
 * rules run on a fixed message so compiled regexes are exercised too.
 */
#include "autoconfig.h"

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
		struct scan *sc = scan_new(e);
		mboxfile_feed(sc, MSG, strlen(MSG));
		scan_finish(sc);
		scan_free(sc);
		engine_unref(e);
	}
	diag_free(&d);
	free(text);
	return 0;
}
