/*
 * stage.h - the interface every check implements: one descriptor per
 * stage, listed once in stages/registry.c and handed to the engine, whose
 * scans run the list in order (core/scan.c).  See doc/HACKING.md for the
 * checklist of adding one.
 */
#ifndef PARAPET_STAGE_H
#define PARAPET_STAGE_H

#include <stdbool.h>
#include <stddef.h>

struct header;
struct scan;
struct verdict;

/* a built-in symbol a stage may add; rules/00-builtin.cf scores it */
struct stage_symbol {
	const char *name;
	const char *desc;	/* used when no rule file describes it */
};

/* a stage: its name, what it needs, its hooks (every hook optional).
 * Every hook gets the stage's own per-message state slot (NULL until the
 * stage stores something there); cleanup gets what it holds at the end */
struct stage {
	const char *name;
	/* the built-in symbols it may add, ending with { NULL } */
	const struct stage_symbol *symbols;
	bool dns;		/* asks DNS: skipped when the scan says no_dns */
	bool redis;		/* needs Redis: skipped when none is configured */
	/* envelope complete (first header): start early work, e.g. DNS */
	void (*envelope)(struct scan *sc, void **state);
	/* one header field as it arrives */
	void (*header)(struct scan *sc, void **state, const struct header *h);
	/* one body chunk as it arrives, including bytes past max_scan_bytes */
	void (*body)(struct scan *sc, void **state, const char *data, size_t len);
	/* end of message: add symbols; 0 or -1 for an internal failure */
	int (*eom)(struct scan *sc, void **state);
	/* after the verdict is known and, in the milter, the MTA has the
	 * reply (scan_after): writes nobody waits for (reputation updates) */
	void (*after)(struct scan *sc, void **state, const struct verdict *v);
	/* release per-message state in sc->state[slot] */
	void (*cleanup)(struct scan *sc, void *state);
};

/* stage_symbol_names - every built-in name of the NULL-terminated list,
 * NULL-terminated, in fresh memory (the names are borrowed) */
const char **stage_symbol_names(const struct stage *const *list);
/* stage_symbol_desc - the descriptor's description of name, or NULL */
const char *stage_symbol_desc(const struct stage *const *list, const char *name);

#endif
