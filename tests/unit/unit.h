/*
 * unit.h - shared helpers for the check-based unit tests: build an engine
 * from in-memory config and rule text, feed a message, and a main() that
 * ends with "N passed, N failed".
 */
#ifndef PARAPET_UNIT_H
#define PARAPET_UNIT_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/engine.h"
#include "base/log.h"
#include "core/mboxfile.h"
#include "rules/rules.h"
#include "core/scan.h"
#include "base/util.h"
#include "core/stage.h"
#include "stages/registry.h"

/* unit_builtins - the built-in symbol names of the shipped stages, as
 * the engine hands them to the rules (kept for the whole run) */
static inline const char *const *unit_builtins(void)
{
	static const char **names;

	if (names == NULL)
		names = stage_symbol_names(stage_registry);
	return names;
}

/* unit_engine - config text + rule text; fails the test on any error */
static inline struct engine *unit_engine(const char *conf, const char *rules)
{
	char *err = NULL;
	struct diag d;
	struct config *cfg = config_parse_buf("test.conf", conf, strlen(conf), &err);

	ck_assert_msg(cfg != NULL, "config: %s", err ? err : "?");
	diag_init(&d);
	struct ruleset *rs = rules_load_text("test.cf", rules, unit_builtins(), &d);
	ck_assert_msg(rs != NULL, "rules: %s", d.n ? d.lines[0] : "?");
	diag_free(&d);
	return engine_new(cfg, rs, stage_registry);
}

/* unit_scan - run a whole message (RFC 5322 text) through the pipeline */
static inline struct scan *unit_scan(struct engine *e, const char *text)
{
	struct scan *sc = scan_new(e);

	/* no client address: the SPF stage is skipped, so unit tests never
	 * wait for DNS (tests/spf and the integration tests cover SPF) */
	msg_set_client(sc->msg, NULL, "client.test", "helo.test");
	msg_set_from(sc->msg, "<a@sender.test>");
	msg_add_rcpt(sc->msg, "<b@rcpt.test>");
	msg_set_qid(sc->msg, "QID1");
	mboxfile_feed(sc, text, strlen(text));
	scan_finish(sc);
	return sc;
}

/* unit_detail - the detail of a symbol that hit ("" without one), NULL
 * if it did not hit */
static inline const char *unit_detail(const struct scan *sc, const char *name)
{
	for (size_t i = 0; i < sc->hits.n; i++)
		if (strcmp(sc->hits.v[i].name, name) == 0)
			return sc->hits.v[i].detail ? sc->hits.v[i].detail : "";
	return NULL;
}

/* unit_write - (re)write a file with text; fails the test if it cannot */
static inline void unit_write(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	ck_assert_msg(fp != NULL, "cannot write %s", path);
	fputs(text, fp);
	fclose(fp);
}

/* unit_main - run a suite, print the closing line, exit status */
static inline int unit_main(Suite *s)
{
	SRunner *sr = srunner_create(s);

	log_open("unit", true);
	log_set_level(LOG_LVL_ERROR);
	srunner_run_all(sr, CK_NORMAL);
	int run = srunner_ntests_run(sr), failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	printf("%d passed, %d failed\n", run - failed, failed);
	return (failed == 0 && run > 0) ? 0 : 1;
}

#endif
