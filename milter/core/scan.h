/*
 * scan.h - one message going through the scanning pipeline.
 *
 * The pipeline is the engine's list of stages (core/stage.h).  Each
 * stage sees the message as it arrives and adds symbols; the verdict is computed from the
 * symbols once every stage has run.  The milter glue and parapetctl both
 * drive a scan through exactly these calls, in this order:
 *
 *   scan_new [-> scan_skip] -> scan_envelope_done -> scan_header*
 *            -> scan_end_headers -> scan_body* -> scan_finish -> scan_free
 *
 * A message that is not scanned (trusted or authenticated client) goes
 * through the same calls after scan_skip: no stage runs and only the key
 * fields are kept (message.h), so that scan_finish can still remove forged
 * X-Spam-* and our own Authentication-Results (issue 12).
 *
 * A scan holds a reference on the engine (config + rule set) it started
 * with, so a reload never changes the rules under a message in flight.
 */
#ifndef PARAPET_SCAN_H
#define PARAPET_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/auth.h"
#include "mail/message.h"
#include "core/policy.h"
#include "rules/hits.h"

struct dns_deadline;
struct engine;
struct rbl_answer;
struct re_scratch;
struct scan;

enum action {
	ACTION_ACCEPT,
	ACTION_QUARANTINE,
	ACTION_TEMPFAIL,
	ACTION_REJECT,
};

/* a change to the message's header, applied by the glue in order */
enum edit_op {
	EDIT_DELETE,		/* remove the index-th field called name */
	EDIT_INSERT,		/* insert before field index (0: at the top) */
	EDIT_ADD,		/* append at the end of the header */
	EDIT_CHANGE,		/* replace the value of the index-th field called name */
};

struct edit {
	enum edit_op op;
	const char *name;	/* static */
	int index;
	char *value;		/* owned; NULL for EDIT_DELETE */
};

struct verdict {
	enum action action;
	double score;
	bool tagged;		/* score >= tag_score */
	bool skipped;		/* trusted or authenticated: not scanned, only
				 * forged fields removed (EDIT_DELETE) */
	const char *why;	/* for skipped or internal failure */
	enum action observed;	/* mode = observe: the action parapet would
				 * have taken (action is then accept) */
	const char *code;	/* SMTP reply for reject/tempfail */
	const char *xcode;
	char *text;		/* owned; with the queue id */
	struct edit *edits;
	size_t nedits;
	char *symbols;		/* "A,B,C" for the log */
	double ms;
};

#define SCAN_MAX_DKIM_DOMAINS 8

#define SCAN_MAX_STAGES 16

struct scan {
	struct engine *engine;	/* counted reference */
	struct msg *msg;
	struct hits hits;	/* every symbol that hit, and the score */
	bool internal_error;
	const char *error_stage;
	bool greylisted;	/* a stage asks for 451 4.7.1 */
	char *authres[8];	/* RFC 8601 resinfo items, owned */
	size_t nauthres;
	/*
	 * What the authentication stages found, for the stages after them
	 * (DMARC, reputation).  Set by the spf stage: spf_result and
	 * spf_domain (the MAIL FROM domain, or the HELO name for a null
	 * sender; owned, lower-case, NULL if not checked).  Set by the dkim
	 * stage: the d= of every valid signature (owned, lower-case).
	 */
	enum auth_result spf_result;
	/* DNS blocklist answers (the dnsbl stage, scan_add_rbl), for the
	 * rules' check_rbl and check_uridnsbl evals; owned */
	struct rbl_answer *rbl;
	size_t nrbl;
	char *spf_domain;
	char *dkim_valid_domains[SCAN_MAX_DKIM_DOMAINS];
	size_t ndkim_valid;
	/* what the message is judged by: the config's thresholds, or the
	 * policy line of its first recipient (scan_rcpt, core/policy.h) */
	struct policy policy;
	bool policy_fixed;	/* a recipient fixed it */
	bool offline;		/* parapetctl scan: read reputation, write
				 * nothing, never greylist */
	bool no_dns;		/* skip the stages that ask DNS (SPF, DKIM,
				 * DMARC): parapetctl scan --no-dns, the
				 * rules benchmark; set before the envelope */
	const char *skip_why;	/* not scanned, and why (scan_skip), or NULL */
	struct re_scratch *re;	/* per-message regex match data */
	struct dns_deadline *dns_deadline;	/* owned; stages use
						 * scan_dns_deadline() */
	/*
	 * Set by the bayes stage, read by the rules (eval:check_bayes) and
	 * parapetctl scan: the spam probability, when the classifier voted
	 * (trained past bayes_min_spam/ham, Redis answered), and its
	 * explanation (owned: the strongest tokens).
	 */
	bool bayes_valid;
	double bayes_prob;
	char *bayes_detail;
	/* parapetctl scan --bayes-cpu: the classifier's thread CPU (its
	 * tokens, the round trip's syscalls, combining), µs; the message's
	 * decoding, which the rules share, done before and not in it */
	bool bayes_cpu_wanted;
	double bayes_cpu_us;	/* -1: not measured (the classifier did not run) */
	bool redis_failed;	/* a Redis round trip of this message failed:
				 * the stages after it do not ask again, so a
				 * down Redis costs one redis_timeout_ms */
	void *state[SCAN_MAX_STAGES];
	double stage_ms[SCAN_MAX_STAGES];	/* time in each stage's hooks */
	struct verdict verdict;
	bool finished;
	bool after_pending;	/* scan_finish ran the stages; scan_after not yet */
	double ms;		/* time spent inside parapet for this message */
};

/* scan_new - start a message on engine (takes a reference) */
struct scan *scan_new(struct engine *e);
/* scan_free - release the message, its verdict and the engine reference */
struct scan *scan_free(struct scan *sc);

void scan_envelope_done(struct scan *sc);
void scan_header(struct scan *sc, const char *name, const char *raw);
void scan_end_headers(struct scan *sc);
void scan_body(struct scan *sc, const void *data, size_t len);
/* scan_finish - run the stages, decide; verdict owned by the scan.  The
 * stages' after hooks (Redis writes: reputation, autolearn) are not run
 * here but by scan_after, so that the MTA has its reply first */
const struct verdict *scan_finish(struct scan *sc);
/*
 * scan_after - the stages' after hooks, once, for a scan that scan_finish
 * ran the stages of: work nobody waits for.  The milter calls it when the
 * reply to the end of message is gone (the connection's next callback);
 * scan_free calls it when nobody did.
 */
void scan_after(struct scan *sc);
/*
 * scan_skip - the message will not be scanned (why: "trusted_networks",
 * "authenticated"; static).  Call before the envelope is done; the other
 * calls stay the same and scan_finish gives a verdict that only removes
 * forged fields.
 */
void scan_skip(struct scan *sc, const char *why);
/*
 * scan_rcpt - one recipient: the first fixes the message's policy (its
 * policy_file line, or the config's thresholds); a later one whose policy
 * judges differently is not added and false is returned (the MTA is told
 * 451 4.7.1: send it in a transaction of its own).  When the MTA cannot be
 * answered at RCPT (may_refuse false) it is added under the first one's.
 */
bool scan_rcpt(struct scan *sc, const char *rcpt, bool may_refuse);

/*
 * scan_add - a symbol hit with an explicit score.  name and desc are
 * borrowed and must outlive the scan; detail is copied (may be NULL).
 */
void scan_add(struct scan *sc, const char *name, double score,
	      const char *desc, const char *detail);
/* scan_add_builtin - a built-in symbol scored by the rule files */
void scan_add_builtin(struct scan *sc, const char *name, const char *detail);
/* scan_add_authres - one "method=result prop=value" item for
 * Authentication-Results (RFC 8601 §2.2); copied */
void scan_add_authres(struct scan *sc, const char *resinfo);
/* scan_add_dkim_valid - the d= domain of a signature that verified; copied */
void scan_add_dkim_valid(struct scan *sc, const char *domain);
/* scan_add_rbl - what one blocklist lookup answered (rules/eval.h
 * struct rbl_answer: zone index, item, where, values); copied */
void scan_add_rbl(struct scan *sc, size_t zone, const char *item, const char *where,
		  const char *const *values, size_t n);
/*
 * scan_dns_deadline - the message's one DNS deadline: every DNS wait of
 * every stage takes this (dns_wait accepts nothing else), so DNS delays
 * the verdict by at most dns_timeout_ms however many stages ask.  Open
 * until end of data (scan_finish fixes it at now + dns_timeout_ms before
 * any stage's eom hook), expired by scan_free.  Borrowed until scan_free;
 * a thread working for the message takes its own dns_deadline_ref.
 */
struct dns_deadline *scan_dns_deadline(struct scan *sc);
/* scan_header_caps - HEADERS_TRUNCATED when the header caps left fields
 * out (mail/message.h) */
void scan_header_caps(struct scan *sc);
/* scan_has - did the symbol hit? */
bool scan_has(const struct scan *sc, const char *name);


#endif
