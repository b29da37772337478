/*
 * spf.h - SPF (RFC 7208) for the HELO and MAIL FROM identities, with
 * libspf2 evaluating and parapet's resolver (dns.c) answering.
 *
 * A check sends its first queries when the envelope is complete
 * (spf_start: TXT of the MAIL FROM domain and of the HELO name), follows
 * their answers while the message arrives (spf_prefetch: the lookups of
 * include:, redirect=, a and mx sent as the records come in) and is
 * evaluated at end of message (spf_wait), in the caller's thread, so the
 * DNS time of the records overlaps the message transfer without a thread
 * of its own.  Every lookup of the check waits on the
 * message's one DNS deadline (scan_dns_deadline), open while the message
 * arrives and end of data + dns_timeout_ms after: a server that never
 * answers gives a temperror, never a hang, and SPF adds no wait of its
 * own to DKIM's and DMARC's.
 *
 * SPEC §7: every TXT record passes spf_record_precheck before libspf2
 * parses it, and 8-bit identities are never handed to libspf2.
 *
 * Only spf.c includes the spf2 headers.
 */
#ifndef PARAPET_SPF_H
#define PARAPET_SPF_H

#include <stdbool.h>
#include <stddef.h>

#include "core/scan.h"

/* caps on a record before libspf2 sees it (SPEC §7, CVE-2023-42118):
 * libspf2 compiles each term into a 511-byte buffer; with these caps a
 * term's compiled form stays well inside it */
#define SPF_MAX_RECORD 2048	/* bytes of one SPF record (all strings) */
#define SPF_MAX_TERM 255	/* bytes of one mechanism or modifier */
#define SPF_MAX_MACROS 16	/* %{...} macros in one record */
#define SPF_MAX_TERM_MACROS 8	/* %{...} macros in one term */
#define SPF_MAX_MACRO_LEN 16	/* bytes between %{ and } */
#define SPF_MAX_EXP 255		/* bytes of an explanation (exp=) text */
#define SPF_MAX_LOOKUPS 120	/* DNS queries of one check, all kinds */

struct dns_deadline;
struct engine;
struct stage;

/* the outcome for one identity */
struct spf_outcome {
	enum auth_result result;	/* AUTH_NONE also for "not checked" */
	bool checked;
	char *domain;		/* lower-case, owned; NULL when not checked */
	char *detail;		/* the record and what matched; owned */
};

struct spf_check;

/*
 * spf_start - begin checking ip (textual IPv4 or IPv6) for helo and
 * mail_from ("" for the null sender: checked as postmaster@helo, RFC 7208
 * §2.4) through e's resolver, every lookup done by the deadline dl (the
 * message's, scan_dns_deadline): sends the TXT queries of the two
 * identities' domains and returns.  Holds a reference on e and on dl;
 * never NULL.
 */
struct spf_check *spf_start(struct engine *e, struct dns_deadline *dl, const char *ip,
			    const char *helo, const char *mail_from);
/*
 * spf_wait - at end of data, evaluate the check in the calling thread
 * (every lookup bounded by the deadline, which it fixes if nobody has
 * yet); the outcomes are borrowed until spf_check_free.
 */
void spf_wait(struct spf_check *c, const struct spf_outcome **mfrom,
	      const struct spf_outcome **helo);
/*
 * spf_check_lookups - for the tests: how many lookups libspf2 made at
 * spf_wait (*asked), and how many of them found their query already sent
 * (*ready: answered or in flight)
 */
void spf_check_lookups(const struct spf_check *c, int *asked, int *ready);
/*
 * spf_prefetch - between the envelope and end of data (the stage's
 * header and body hooks): without blocking, look at the answers that have
 * come, and send the lookups of the records among them (include:,
 * redirect=, a, mx and the names of MX answers), so that spf_wait finds
 * them answered or in flight.  At most 10 terms per identity (RFC 7208
 * §4.6.4) and SPF_PRE_MAX queries per check; nothing once the message's
 * DNS deadline has passed.
 */
void spf_prefetch(struct spf_check *c);
/* spf_check_free - release (queries still pending are cancelled);
 * returns NULL */
struct spf_check *spf_check_free(struct spf_check *c);

/*
 * spf_record_precheck - may libspf2 parse this TXT record (len bytes,
 * possibly with NULs)?  exp: an explanation text rather than an SPF
 * record.  0, or -1 with a static reason in *why.
 */
int spf_record_precheck(const char *rec, size_t len, bool exp, const char **why);

/*
 * spf_record_normalize - rec (NUL-terminated, prechecked) checked against
 * the RFC 7208 §12 grammar where libspf2 is lax, and rewritten where it
 * is wrong (spf_record.c says how).  A fresh string, or NULL (permerror)
 * with a static reason in *why.
 */
char *spf_record_normalize(const char *rec, const char **why);

/* what a term of a record makes libspf2 look up */
enum spf_fetch {
	SPF_FETCH_RECORD,	/* include:, redirect=: the target's TXT */
	SPF_FETCH_ADDR,		/* a: the name's A or AAAA */
	SPF_FETCH_MX,		/* mx: the name's MX */
};
#define SPF_TARGET_NAME 254	/* bytes of a target's name, with the NUL */
struct spf_target {
	enum spf_fetch kind;
	char name[SPF_TARGET_NAME];
};

/*
 * spf_record_targets - the lookups the terms of rec (normalized: see
 * spf_record_normalize) ask for, in term order, at most max into out, so
 * that they can be sent before libspf2 evaluates the record: include:,
 * redirect=, a and mx (domain, the record's own, when the term names
 * none).  Terms with macros are left out (their names depend on the
 * message), and so are exists: and ptr.  Returns the count.
 */
size_t spf_record_targets(const char *rec, const char *domain, struct spf_target *out,
			  size_t max);

/*
 * spf_record_compile_test - precheck, normalize and compile rec with
 * libspf2 (the fuzz target's entry); 0 compiled, 1 refused by parapet, 2
 * refused by libspf2.
 */
int spf_record_compile_test(const char *rec, size_t len);

/*
 * spf_record_attribute - which mechanism of rec (as fetched) most likely
 * gave a match with qualifier want ('+', '-', '~', '?') for client ip:
 * ip4/ip6/all are decided here; a, mx, ptr, exists and include need DNS,
 * so those with the right qualifier before the decisive term are named as
 * candidates ("a or -all").  redirect= is followed through find (the
 * record fetched for a domain, or NULL).  Writes into out ("" when nothing
 * fits).
 */
void spf_record_attribute(const char *rec, char want, const char *ip,
			  const char *(*find)(void *arg, const char *domain), void *arg,
			  char *out, size_t outsz);


/* the pipeline stage (core/stage.h): start at envelope, collect at eom */
void spf_stage_envelope(struct scan *sc, void **state);
int spf_stage_eom(struct scan *sc, void **state);
void spf_stage_cleanup(struct scan *sc, void *state);
/* spf_stage - the descriptor (core/stage.h; listed in stages/registry.c) */
extern const struct stage spf_stage;

#endif
