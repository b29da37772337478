/*
 * engine.h - what a message is scanned with: the config, the compiled
 * rule set and the list of stages, built together and never changed
 * afterwards.
 *
 * Reference counted: every scan holds one reference from its first to its
 * last callback, so a reload swaps in a new engine while messages in
 * flight finish on the one they started with (SPEC §5).
 */
#ifndef PARAPET_ENGINE_H
#define PARAPET_ENGINE_H

#include <stdatomic.h>

#include "core/config.h"
#include "base/diag.h"
#include "rules/rules.h"

struct dns;
struct policy_set;
struct redis_pool;
struct stage;

struct engine {
	atomic_int refs;
	struct config *cfg;	/* owned */
	struct ruleset *rules;	/* owned */
	struct dns *dns;	/* counted reference to the shared resolver */
	struct redis_pool *redis;	/* a reference, or NULL: no Redis (redis.h) */
	struct policy_set *policies;	/* policy_file (policy.h), owned, or NULL */
	unsigned long generation;
	/* the pipeline every scan of this engine runs, in order: borrowed
	 * (stages/registry.c's stage_registry for the daemon and parapetctl) */
	const struct stage *const *stages;
	size_t nstages;
};

/*
 * engine_build - load the config at path (NULL: defaults) and its rules.
 * NULL on any error; every problem is in d (file:line).  Warnings may be
 * present on success.
 */
struct engine *engine_build(const char *path, const struct stage *const *stages,
			    struct diag *d);
/* engine_from_config - build around a loaded config (takes ownership) */
struct engine *engine_from_config(struct config *cfg, const struct stage *const *stages,
				  struct diag *d);

/* engine_new - from parts (takes ownership of cfg and rs; tests); stages
 * is a NULL-terminated list, borrowed, at most SCAN_MAX_STAGES long */
struct engine *engine_new(struct config *cfg, struct ruleset *rs,
			  const struct stage *const *stages);

struct engine *engine_ref(struct engine *e);
/* engine_unref - drop a reference, free at zero; returns NULL */
struct engine *engine_unref(struct engine *e);

/* process-wide current engine (the daemon) */
/* engine_publish - make e current (takes over the caller's reference) */
void engine_publish(struct engine *e);
/* engine_current - a new reference to the current engine, or NULL */
struct engine *engine_current(void);

#endif
