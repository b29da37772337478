/*
 * registry.h - the pipeline: every stage, in the order a message runs
 * through them.
 */
#ifndef PARAPET_REGISTRY_H
#define PARAPET_REGISTRY_H

struct stage;

/* stage_registry - NULL-terminated; what the daemon and parapetctl hand
 * to engine_build / engine_from_config */
extern const struct stage *const stage_registry[];

#endif
