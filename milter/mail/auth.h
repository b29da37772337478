/*
 * auth.h - what parapet parses itself before an authentication library
 * (libopendkim, libopendmarc) sees any of it (SPEC §7: OpenDKIM and
 * OpenDMARC have crashed on malformed ARC headers, multi-valued From and
 * bad key records, so nothing reaches them unbounded).
 *
 * Pure functions over strings: no DNS, no libraries, no allocation that
 * outlives the call except where a function says "fresh memory".  Tested
 * in tests/unit/test_dkim.c and fuzzed by fuzz/fuzz_auth.c.
 */
#ifndef PARAPET_AUTH_H
#define PARAPET_AUTH_H

#include <stdbool.h>
#include <stddef.h>

struct buf;
struct msg;

/* longest header field handed to libopendkim ("Name:value") */
#define AUTH_MAX_FIELD_BYTES (32 * 1024)
/* longest DKIM-Signature field handed over (a 4096-bit b= is ~700 bytes) */
#define AUTH_MAX_SIG_BYTES (8 * 1024)
/* longest DKIM key or DMARC record handed over (a 4096-bit key is ~740
 * bytes of base64; DMARC records with long rua= lists stay under 1 KB) */
#define AUTH_MAX_RECORD_BYTES 2048
/* domain names, RFC 1035 §2.3.4, plus the NUL */
#define AUTH_DOMAIN_SIZE 256

/* result of an SPF check or a DKIM signature (RFC 8601 §2.7 words) */
enum auth_result {
	AUTH_NONE,		/* not checked or nothing to check */
	AUTH_PASS,
	AUTH_FAIL,
	AUTH_SOFTFAIL,
	AUTH_NEUTRAL,
	AUTH_TEMPERROR,
	AUTH_PERMERROR,
};

/*
 * auth_result_name - the RFC 8601 §2.7 word of r, the one table: every
 * word for SPF (§2.7.2) and DMARC; for DKIM (dkim true, §2.7.1, which has
 * no softfail) softfail and none read "neutral".
 */
const char *auth_result_name(enum auth_result r, bool dkim);

enum auth_from {
	AUTH_FROM_OK,		/* exactly one address: its domain */
	AUTH_FROM_NONE,		/* no From field */
	AUTH_FROM_MULTIPLE,	/* several From fields or addresses (RFC
				 * 7489 §6.6.1) */
	AUTH_FROM_BAD,		/* an address without a usable domain */
};

/*
 * auth_from_parse - count the mailboxes of one From value (RFC 5322
 * §3.4: display names, quoted strings, comments, angle addresses, groups)
 * and put the lower-case domain of the first into domain (size bytes).
 * Returns the number of mailboxes, or -1 if a mailbox has no valid domain.
 */
int auth_from_parse(const char *value, char *domain, size_t size);

/*
 * auth_addr_parse - the one RFC 5322 address parser (auth_from_parse is
 * it without addr): the first mailbox's addr-spec as written (comments
 * and whitespace outside quotes removed, cut to asize - 1 bytes) into
 * addr, whatever its domain, and the lower-case domain (checked by
 * auth_domain_ok, else "") into domain.  Returns what auth_from_parse does.
 */
int auth_addr_parse(const char *value, char *addr, size_t asize, char *domain,
		    size_t size);

/*
 * auth_addr_domain - the lower-case domain of the first mailbox of an
 * address or an address list (an envelope address, a From value), in
 * fresh memory; NULL if it has none that auth_domain_ok accepts.
 */
char *auth_addr_domain(const char *value);

/*
 * auth_addr_list - append to out every mailbox's addr-spec (want_name
 * false) or display name (true: the phrase before <>, or the comment of
 * "a@b (Name)"), separated by ", " (the ":addr" and ":name" rule
 * modifiers).
 */
void auth_addr_list(const char *value, bool want_name, struct buf *out);
/*
 * auth_msg_addr_list - the same, each field text parsed once a message:
 * the result is kept in m's arena (at most AUTH_MEMO_MAX results, of
 * texts up to AUTH_MEMO_TEXT bytes; longer ones are parsed each time)
 * and looked up by the text itself, so any string may be passed.  The
 * evals and header rules ask for the same From and To lists many times.
 */
#define AUTH_MEMO_MAX 64
#define AUTH_MEMO_TEXT 4096
void auth_msg_addr_list(struct msg *m, const char *value, bool want_name, struct buf *out);

/*
 * auth_from_domain - the RFC5322.From domain of a message (every From
 * field looked at, not only the first).  domain gets the lower-case
 * domain for AUTH_FROM_OK (and the first one found otherwise, or "").
 */
enum auth_from auth_from_domain(const struct msg *m, char *domain, size_t size);

/* auth_from_name - "ok", "none", "multiple", "bad" */
const char *auth_from_name(enum auth_from r);

/*
 * auth_domain_ok - a domain name DMARC and DKIM may use: LDH labels of
 * 1..63 bytes, 253 bytes at most, at least two labels, 7-bit; lower-cases
 * it in place.  A trailing dot is removed.
 */
bool auth_domain_ok(char *domain);

/*
 * auth_field - "Name:raw" as libopendkim wants it (RFC 6376 §5.3: folding
 * kept, line breaks as CRLF), in fresh memory, *len its length; NULL if
 * the name is not a field name or the result would exceed cap bytes.
 */
char *auth_field(const char *name, const char *raw, size_t cap, size_t *len);

/*
 * auth_tag - the value of tag in a tag-list (RFC 6376 §3.2, RFC 7489
 * §6.4), folding whitespace removed, into out (size bytes).  false if the
 * tag is absent, or its value does not fit.
 */
bool auth_tag(const char *list, const char *tag, char *out, size_t size);

/* auth_tag_count - the number of tag-specs in a tag-list (empty items
 * between ';' not counted) */
size_t auth_tag_count(const char *list);

/*
 * auth_record_ok - a TXT record fit to hand a library: at most cap bytes,
 * no NUL, only printable 7-bit text, tabs and spaces.  why gets the
 * reason when false.
 */
bool auth_record_ok(const char *rec, size_t len, size_t cap, const char **why);

#endif
