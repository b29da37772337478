/*
 * dns.h - the one DNS resolver of SPF, DKIM and DMARC (SPEC §3
 * dns_nameservers, dns_timeout_ms).
 *
 * A struct dns is shared by every thread: libunbound underneath, with its
 * cache and one of answers in front of it (dns.c), forwarding to
 * dns_nameservers (or the system's resolv.conf when unset).  Queries are
 * asynchronous: a stage may start one when the envelope arrives and
 * collect the answer at end of message, so DNS time overlaps the message
 * transfer.  The thread that waits for an answer
 * reads it from libunbound itself (no dispatcher thread of ours; dns.c
 * says how several waiting threads share that).  Every wait is bounded
 * by the message's one deadline (struct dns_deadline below); a server
 * that never answers gives DNS_TIMEOUT, never a hung milter thread.
 *
 * Only dns.c includes unbound.h; callers see the types below.
 */
#ifndef PARAPET_DNS_H
#define PARAPET_DNS_H

#include <stdbool.h>
#include <stddef.h>

/* RR types used by parapet (RFC 1035, 3596, 7208) */
#define DNS_T_A 1
#define DNS_T_NS 2
#define DNS_T_CNAME 5
#define DNS_T_PTR 12
#define DNS_T_MX 15
#define DNS_T_TXT 16
#define DNS_T_AAAA 28
#define DNS_T_SPF 99

#define DNS_NAME_MAX 253	/* RFC 1035 §2.3.4, without the final dot */

enum dns_rc {
	DNS_OK,			/* answer with at least one record */
	DNS_NODATA,		/* the name exists, no record of that type */
	DNS_NXDOMAIN,		/* the name does not exist */
	DNS_SERVFAIL,		/* server failure or refusal: temporary */
	DNS_TIMEOUT,		/* no answer within the deadline: temporary */
	DNS_BADNAME,		/* not a valid domain name; never sent */
};

/* one answer, owned by its query; records in answer-section order */
struct dns_answer {
	enum dns_rc rc;
	int rcode;		/* DNS RCODE (0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN) */
	size_t n;		/* records of the asked type (after CNAMEs) */
	unsigned char **data;	/* rdata of each, wire format */
	size_t *len;
	unsigned char *packet;	/* the whole reply message, wire format */
	size_t packet_len;
	char *canonname;	/* name after CNAMEs, or NULL */
};

struct dns;
struct dns_query;

/*
 * dns_open - the resolver for nameservers ("HOST[:PORT],...", NULL for the
 * system resolver).  Resolvers are shared process-wide by nameserver list
 * and reference counted, so a config reload with the same servers keeps
 * the cache.  NULL and *errstr (caller frees) on a bad server list.
 * libunbound's worker thread is started at the first query, so dns_open
 * before daemon(3) is fine.
 */
struct dns *dns_open(const char *nameservers, char **errstr);
/* dns_close - drop a reference; returns NULL */
struct dns *dns_close(struct dns *d);

/*
 * dns_start - send a query now (rrtype DNS_T_*).  Never NULL: a bad name
 * gives a query already answered with DNS_BADNAME.  The query belongs to
 * the calling thread until dns_query_free.
 */
struct dns_query *dns_start(struct dns *d, const char *name, int rrtype);
/*
 * A message's DNS deadline (dns_timeout_ms, man parapet.conf(5)): one
 * object shared by every DNS wait of one message, in whatever thread the
 * wait runs, so that no stage can give the message a deadline of its own
 * (dns_wait takes nothing else).
 *
 * It is open from dns_deadline_new until dns_deadline_fix: queries sent
 * before end of data (SPF's, at the envelope) are not cut off while the
 * message is still arriving.  dns_deadline_fix, at end of data, sets it
 * once to now + timeout_ms for every wait, those already waiting and
 * those to come, and wakes the waiters so they see it; so DNS delays the
 * verdict by at most timeout_ms.  dns_deadline_expire (the message is
 * gone) ends every wait now.  Only a thread of its own may wait while the
 * deadline is open; the message's own thread collects at end of data.
 *
 * Reference counted: the owner (the scan) and each thread working for it
 * hold one.  Thread safe.
 */
struct dns_deadline;

/* dns_deadline_new - an open deadline that dns_deadline_fix will set to
 * timeout_ms from then; one reference */
struct dns_deadline *dns_deadline_new(double timeout_ms);
/* dns_deadline_ref - one more reference; returns dl */
struct dns_deadline *dns_deadline_ref(struct dns_deadline *dl);
/* dns_deadline_unref - drop a reference (NULL is fine); returns NULL */
struct dns_deadline *dns_deadline_unref(struct dns_deadline *dl);
/* dns_deadline_fix - end of data: now + timeout_ms, unless already fixed
 * or expired (then nothing changes) */
void dns_deadline_fix(struct dns_deadline *dl);
/* dns_deadline_expire - now, if that is earlier: every wait ends */
void dns_deadline_expire(struct dns_deadline *dl);
/* dns_deadline_at - the deadline (now_ms() clock), INFINITY while open */
double dns_deadline_at(const struct dns_deadline *dl);
/* dns_deadline_passed - is it fixed and past? */
bool dns_deadline_passed(const struct dns_deadline *dl);

/*
 * dns_wait - the answer, waiting no later than the deadline dl (while dl
 * is open: until the answer, dns_deadline_fix or dns_deadline_expire).
 * Past the deadline the query is abandoned and the answer says
 * DNS_TIMEOUT.  May be called again; borrowed until dns_query_free.
 */
const struct dns_answer *dns_wait(struct dns_query *q, struct dns_deadline *dl);
/* dns_done - has the answer arrived (dns_wait would not block)?  Never
 * blocks: delivers the answers that have come for any query of the
 * resolver when no other thread is doing so */
bool dns_done(struct dns_query *q);
/* dns_ready - dns_done without delivering anything: for the other queries
 * of a caller that has just called dns_done on one */
bool dns_ready(struct dns_query *q);
/* dns_query_free - release (cancels it if still pending); returns NULL */
struct dns_query *dns_query_free(struct dns_query *q);

/*
 * dns_txt_join - one TXT record's character-strings concatenated without
 * separators (RFC 7208 §3.3, RFC 6376 §3.6.2.2), NUL-terminated, in fresh
 * memory; *len gets the length (a NUL inside the data is kept, so callers
 * that need C strings must check strlen against it).  NULL if the rdata is
 * malformed.
 */
char *dns_txt_join(const unsigned char *rdata, size_t rdlen, size_t *len);

/* dns_rc_name - "ok", "nxdomain", ... for logs */
const char *dns_rc_name(enum dns_rc rc);

/* dns_name_ok - a domain name parapet is willing to send (LDH and
 * underscore labels of 1..63 bytes, 253 bytes at most, 7-bit) */
bool dns_name_ok(const char *name);

#endif
