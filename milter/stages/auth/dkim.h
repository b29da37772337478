/*
 * dkim.h - the "dkim" scan stage: DKIM signature verification (RFC 6376,
 * RFC 8301, RFC 8463) with libopendkim, key records fetched through dns.c.
 *
 * Symbols (SPEC §5): DKIM_VALID, DKIM_VALID_AU (a valid signature whose
 * d= has the From domain's organizational domain), DKIM_INVALID (signed,
 * no valid signature, at least one failed or permerror), DKIM_TEMPERROR
 * (no valid signature, a key lookup failed temporarily), DKIM_NONE (not
 * signed), DKIM_PARTIAL (a valid signature whose l= leaves part of the
 * body unsigned).  Each symbol's detail names the signatures behind it.
 * Sets sc->dkim_valid_domains for the dmarc and reputation stages and one
 * Authentication-Results item per signature (at most DKIM_MAX_AUTHRES).
 *
 * Only dkim.c includes the opendkim headers.
 */
#ifndef PARAPET_DKIM_H
#define PARAPET_DKIM_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/message.h"

struct scan;
struct stage;

/* signatures handed to libopendkim per message; more are ignored and
 * said so in the detail (each costs a DNS lookup and an RSA verify) */
#define DKIM_MAX_SIGS 8
/* tags in one DKIM-Signature handed over (RFC 6376 §3.5 defines 14):
 * libopendkim looks each tag up in a list of those before it with the
 * same first letter, so 1,000 tags cost 12x what 250 do (issue 12) */
#define DKIM_MAX_SIG_TAGS 64
/* header fields handed to libopendkim per message */
#define DKIM_MAX_FIELDS 500
/* ARC-* fields handed over (RFC 8617 allows 50 instances of 3 fields;
 * signers almost never cover them, and OpenDKIM/OpenDMARC have crashed
 * on malformed ones) */
#define DKIM_MAX_ARC_FIELDS 15
/* Authentication-Results items: the header's 8 slots are shared with
 * spf and dmarc */
#define DKIM_MAX_AUTHRES 4

/* stage hooks (core/stage.h; the descriptor below lists them) */
void dkim_stage_header(struct scan *sc, void **state, const struct header *h);
void dkim_stage_body(struct scan *sc, void **state, const char *data, size_t len);
int dkim_stage_eom(struct scan *sc, void **state);
void dkim_stage_cleanup(struct scan *sc, void *state);
/* dkim_stage - the descriptor (core/stage.h; listed in stages/registry.c) */
extern const struct stage dkim_stage;

/* dkim_has_ed25519 - was libopendkim built with ed25519-sha256 (RFC 8463)? */
bool dkim_has_ed25519(void);

#endif
