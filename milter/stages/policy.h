/*
 * policy.h - the per-recipient lists stage: POLICY_ALLOW and POLICY_BLOCK
 * from the allow_from, block_from, allow_ip and block_ip settings of the
 * message's policy_file line (core/policy.h).
 */
#ifndef PARAPET_STAGES_POLICY_H
#define PARAPET_STAGES_POLICY_H

struct stage;

extern const struct stage policy_stage;

#endif
