/*
 * policy.c - the per-recipient lists stage (policy.h): the lists of the
 * policy line the message's first recipient fixed (core/scan.c
 * scan_rcpt), matched by core/policy.c.  The symbols carry a large score
 * (rules/00-builtin.cf): the message is still scanned.
 */
#include "autoconfig.h"

#include "core/policy.h"
#include "core/scan.h"
#include "core/stage.h"
#include "stages/policy.h"

/* policy_eom - POLICY_ALLOW, POLICY_BLOCK */
static int policy_eom(struct scan *sc, void **state)
{
	char detail[400];
	bool allow, block;

	(void)state;
	policy_listed(&sc->policy, sc->msg, &allow, &block, detail, sizeof(detail));
	if (allow)
		scan_add_builtin(sc, "POLICY_ALLOW", detail[0] ? detail : sc->policy.name);
	if (block)
		scan_add_builtin(sc, "POLICY_BLOCK", detail[0] ? detail : sc->policy.name);
	return 0;
}

static const struct stage_symbol policy_symbols[] = {
	{ "POLICY_ALLOW", "Sender or client in the allow list of the recipient's policy" },
	{ "POLICY_BLOCK", "Sender or client in the block list of the recipient's policy" },
	{ NULL, NULL },
};

/* policy_stage - see policy.h */
const struct stage policy_stage = {
	.name = "policy",
	.symbols = policy_symbols,
	.eom = policy_eom,
};
