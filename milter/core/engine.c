/*
 * engine.c - build, share and swap engines.  The current engine pointer is
 * the only mutable shared state of the scanning path; it is read and
 * replaced under one mutex held for a pointer copy and a counter
 * increment, never while loading files (STYLE rule 4; unlike opendkim,
 * whose reload parses under the lock every connection needs).
 */
#include "autoconfig.h"

#include <pthread.h>
#include <stdlib.h>

#include "net/dns.h"
#include "core/engine.h"
#include "core/policy.h"
#include "core/scan.h"
#include "core/stage.h"
#include "base/log.h"
#include "net/redis.h"
#include "base/util.h"

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static struct engine *current;
static unsigned long next_generation = 1;

/* engine_from_config - compile the rules the config names */
struct engine *engine_from_config(struct config *cfg, const struct stage *const *stages,
				  struct diag *d)
{
	struct ruleset *rs;
	char *err = NULL;
	struct dns *dns = dns_open(cfg->dns_nameservers, &err);

	if (dns == NULL) {
		diag_error(d, cfg->path, 0, "%s", err);
		free(err);
		config_free(cfg);
		return NULL;
	}
	dns_close(dns);		/* engine_new opens it again, shared */
	const char **builtins = stage_symbol_names(stages);
	rs = rules_load(cfg->rules_dir, builtins, d);
	free(builtins);
	if (rs == NULL) {
		config_free(cfg);
		return NULL;
	}
	struct policy_set *ps = NULL;
	if ((cfg->lists_file && !rules_load_lists(rs, cfg->lists_file, d)) ||
	    (cfg->policy_file && (ps = policy_load(cfg->policy_file, cfg, stages, d)) == NULL)) {
		rules_free(rs);
		config_free(cfg);
		return NULL;
	}
	struct engine *e = engine_new(cfg, rs, stages);
	e->policies = ps;
	return e;
}

/* engine_new - an engine around a config and a rule set */
struct engine *engine_new(struct config *cfg, struct ruleset *rs,
			  const struct stage *const *stages)
{
	struct engine *e = xcalloc(1, sizeof(*e));
	char *err = NULL;

	atomic_init(&e->refs, 1);
	e->cfg = cfg;
	e->rules = rs;
	e->stages = stages;
	while (stages && stages[e->nstages])
		e->nstages++;
	if (e->nstages > SCAN_MAX_STAGES)
		log_fatal("%zu stages: raise SCAN_MAX_STAGES", e->nstages);
	e->dns = dns_open(cfg->dns_nameservers, &err);
	if (e->dns == NULL) {
		log_warn("%s; using the system resolver", err);
		free(err);
		e->dns = dns_open(NULL, &err);
	}
	/* shared with the previous engine when the redis_* keys are unchanged */
	e->redis = redis_pool_get(cfg);
	pthread_mutex_lock(&current_lock);
	e->generation = next_generation++;
	pthread_mutex_unlock(&current_lock);
	return e;
}

/* engine_build - config file plus rules */
struct engine *engine_build(const char *path, const struct stage *const *stages,
			    struct diag *d)
{
	char *err = NULL;
	struct config *cfg = config_load(path, &err);

	if (cfg == NULL) {
		diag_error(d, NULL, 0, "%s", err);
		free(err);
		return NULL;
	}
	return engine_from_config(cfg, stages, d);
}

/* engine_ref - one more user */
struct engine *engine_ref(struct engine *e)
{
	if (e)
		atomic_fetch_add(&e->refs, 1);
	return e;
}

/* engine_unref - one user fewer; the last frees */
struct engine *engine_unref(struct engine *e)
{
	if (e && atomic_fetch_sub(&e->refs, 1) == 1) {
		rules_free(e->rules);
		policy_free(e->policies);
		dns_close(e->dns);
		redis_pool_put(e->redis);
		config_free(e->cfg);
		free(e);
	}
	return NULL;
}

/* engine_publish - swap the current engine */
void engine_publish(struct engine *e)
{
	struct engine *old;

	pthread_mutex_lock(&current_lock);
	old = current;
	current = e;
	pthread_mutex_unlock(&current_lock);
	engine_unref(old);
}

/* engine_current - reference to the current engine */
struct engine *engine_current(void)
{
	struct engine *e;

	pthread_mutex_lock(&current_lock);
	e = engine_ref(current);
	pthread_mutex_unlock(&current_lock);
	return e;
}
