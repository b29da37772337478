/*
 * dmarc.h - the "dmarc" scan stage (RFC 7489) with libopendmarc, and the
 * organizational domain (Public Suffix List) for DKIM_VALID_AU.
 *
 * Runs after the spf and dkim stages and reads what they left in the scan
 * (spf_result, spf_domain, dkim_valid_domains).  Symbols: DMARC_PASS,
 * DMARC_FAIL_REJECT, DMARC_FAIL_QUARANTINE, DMARC_FAIL_NONE (the policy
 * the From domain publishes; pct= is noted in the detail, the
 * administrator's scores decide the action), DMARC_NONE (no record, or a
 * record that does not parse), DMARC_TEMPERROR (the record could not be
 * fetched), FROM_MULTIPLE (several From fields or addresses: RFC 7489
 * §6.6.1; DMARC is not evaluated and nothing reaches the library).
 *
 * Only dmarc.c includes the opendmarc headers.
 */
#ifndef PARAPET_DMARC_H
#define PARAPET_DMARC_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/message.h"

struct scan;
struct stage;

/* where Debian's publicsuffix package puts the list */
#define DMARC_PSL_PATH "/usr/share/publicsuffix/public_suffix_list.dat"

/*
 * dmarc_org_domain - the organizational domain of domain (RFC 7489
 * §3.2: one label below its public suffix) into out.  0, or -1 when the
 * name is not a domain parapet accepts.  Thread-safe; the list is loaded
 * once per process.
 */
int dmarc_org_domain(const char *domain, char *out, size_t size);

/*
 * dmarc_aligned - an authenticated domain d is aligned with the From
 * domain from (RFC 7489 §3.1): equal (ASCII case-insensitive), or, when
 * not strict, the same organizational domain.  false for NULL.
 */
bool dmarc_aligned(const char *d, const char *from, bool strict);

/*
 * dmarc_record_parse - hand one DMARC record (already bounded by
 * auth_record_ok) to libopendmarc's parser for domain; 0 if it parses,
 * else -1 and *why (static).  For the fuzzer and the tests.
 */
int dmarc_record_parse(const char *domain, const char *record, const char **why);

/* stage hooks (core/stage.h; the descriptor below lists them) */
void dmarc_stage_header(struct scan *sc, void **state, const struct header *h);
int dmarc_stage_eom(struct scan *sc, void **state);
void dmarc_stage_cleanup(struct scan *sc, void *state);
/* dmarc_stage - the descriptor (core/stage.h; listed in stages/registry.c) */
extern const struct stage dmarc_stage;

#endif
