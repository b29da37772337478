/*
 * dnsbl.h - the DNS blocklist stage: the client IP in the check_rbl zones
 * (asked at the envelope), the registrable domains of the message's URIs,
 * From, Reply-To, HELO and reverse-DNS name in the urirhssub zones (asked
 * at end of message); the answers go to the rules (rules/eval.h struct
 * rules_rbl), whose check_rbl / check_uridnsbl evals turn them into
 * symbols.
 */
#ifndef PARAPET_DNSBL_H
#define PARAPET_DNSBL_H

#include <stdbool.h>

struct stage;

/* dnsbl_ip_public - is ip worth asking a blocklist about?  false for
 * loopback, private (RFC 1918, ULA), link-local and unparsable addresses */
bool dnsbl_ip_public(const char *ip);

/* dnsbl_stage - the descriptor (core/stage.h; stages/registry.c) */
extern const struct stage dnsbl_stage;

#endif
