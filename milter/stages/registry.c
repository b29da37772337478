/*
 * registry.c - the one list of stages, and the only file that names them
 * all.  Adding a check is a descriptor in its own file and one line here
 * (doc/HACKING.md).  The order matters: a stage sees the symbols of the
 * stages before it.
 */
#include "autoconfig.h"

#include <stddef.h>

#include "core/stage.h"
#include "stages/auth/dkim.h"
#include "stages/auth/dmarc.h"
#include "stages/auth/spf.h"
#include "stages/bayes/bayes.h"
#include "stages/content.h"
#include "stages/dnsbl.h"
#include "stages/policy.h"
#include "stages/registry.h"
#include "stages/rep/rep.h"

const struct stage *const stage_registry[] = {
	&spf_stage,		/* first: its DNS starts at the envelope */
	&dnsbl_stage,		/* the client IP's lookups start at the envelope */
	&dkim_stage,
	&dmarc_stage,		/* needs SPF's and DKIM's results */
	&bayes_stage,		/* before the rules: BAYES_* read its probability */
	&rules_stage,		/* meta rules may use the symbols above */
	&structure_stage,	/* after the rules: the MIME parse is lazy */
	&policy_stage,		/* the recipient's own lists (policy_file) */
	&rep_stage,		/* last: greylisting needs every other score */
	NULL,
};
