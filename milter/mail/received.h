/*
 * received.h - the Received header fields parsed into relays the way
 * SpamAssassin 4 does (Message/Metadata/Received.pm): each relay's ip,
 * rdns, helo, by, ident, envfrom, id and auth, split into trusted /
 * untrusted and internal / external by trusted_networks,
 * internal_networks and msa_networks, or by SpamAssassin's inference
 * when neither network list is configured.  The X-Spam-Relays-*
 * pseudo-headers SpamAssassin's header rules read are built here too.
 *
 * Caps (STYLE rule 7): RCVD_MAX_RELAYS Received fields are read (the
 * rest count as unparseable, so ALL_TRUSTED cannot hit on a message
 * padded past the cap) and each is cut at RCVD_MAX_LINE bytes.
 */
#ifndef PARAPET_RECEIVED_H
#define PARAPET_RECEIVED_H

#include <stdbool.h>
#include <stddef.h>

#include "base/cidr.h"

struct arena;

#define RCVD_MAX_RELAYS 100
#define RCVD_MAX_LINE 4096

struct relay {
	char *ip, *rdns, *helo, *by, *ident, *envfrom, *id, *auth;
	struct arena *arena;	/* where the strings are, or NULL: malloc'd */
	bool has_envfrom;	/* envfrom was in the field (may be "") */
	bool no_reverse_dns;	/* the MTA looked and found no rDNS */
	bool ip_private;	/* SpamAssassin's IP_PRIVATE */
	bool internal, msa, trusted;
};

/* what the rule set configured; a NULL list is an unset directive */
struct relay_nets {
	const struct cidr_list *trusted;
	const struct cidr_list *internal;
	const struct cidr_list *msa;
};

enum relay_set { RELAYS_TRUSTED, RELAYS_UNTRUSTED, RELAYS_INTERNAL,
		 RELAYS_EXTERNAL, RELAYS_NSETS };

struct relays {
	struct relay *all;	/* every parsed relay, newest first */
	size_t nall;
	const struct relay **set[RELAYS_NSETS];	/* views into all */
	size_t n[RELAYS_NSETS];
	size_t unparseable;	/* fields SpamAssassin cannot parse */
	/* SpamAssassin's last_trusted_relay_index and
	 * last_internal_relay_index: the index among the fields (Received
	 * and the origin headers' lines after them) of the last one in the
	 * trusted or internal part, the fields skipped in it counted too; -1
	 * for none.  ALL-TRUSTED and the like are cut there. */
	long last_trusted, last_internal;
	char *str[RELAYS_NSETS];	/* "[ ip=... ]" strings (pseudo-headers) */
	struct arena *arena;	/* received_build_in's, or NULL */
};

/* a parsed line: 1 parsed into *r, 0 skipped on purpose, -1 unparseable;
 * *fetcher set when it is a POP/IMAP fetcher's handover */
int received_parse_line(const char *line, struct relay *r, bool *fetcher);
void received_relay_clear(struct relay *r);

/* received_build - the relays of the Received values (newest first),
 * split by nets; free with received_free */
struct relays *received_build(const char *const *values, size_t n,
			      const struct relay_nets *nets);
/* received_build_in - the same, everything (the view, the relays, their
 * strings and the parsing's copies) in a, freed with it; received_free
 * leaves it to a */
struct relays *received_build_in(const char *const *values, size_t n,
				 const struct relay_nets *nets, struct arena *a);
struct relays *received_free(struct relays *rs);

/* SpamAssassin's originating_ip_headers (10_default_prefs.cf): each adds
 * a relay made of its first IP address after the Received fields */
extern const char *const received_origin_headers[];
char *received_origin_line(const char *value);

/* received_pseudo - value of pseudo-header name (X-Spam-Relays-Trusted,
 * -Untrusted, -Internal, -External), or NULL if name is none of them */
const char *received_pseudo(const struct relays *rs, const char *name);

/* received_gate - each format is tried only on a line holding its
 * literal parts in order (the same relays either way, fewer steps); true
 * unless a test turns it off for the thread to compare */
extern _Thread_local bool received_gate;

/* received_ip_private - SpamAssassin's IP_PRIVATE on a textual address */
bool received_ip_private(const char *ip);
/* received_is_ipv4 - a dotted quad, each part 0..255, nothing else */
bool received_is_ipv4(const char *s);

#endif
