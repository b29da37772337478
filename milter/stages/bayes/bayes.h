/*
 * bayes.h - the Bayes classifier (SPEC §3, §5, §6): per-token spam and
 * ham counts in Redis, SpamAssassin's Robinson/Fisher chi-square
 * combining, learning by message digest.
 *
 * Redis schema (redis_prefix P, doc/SPEC.md):
 *   P b:HASH       hash {s, h}: messages learned as spam / ham that held
 *                  the token; HASH is the token's 64-bit FNV-1a
 *                  (mail/tokens.h) in 11 base-64 characters.  Expires
 *                  bayes_token_ttl seconds after a learn for each message
 *                  of that class that held it, at most BAYES_TTL_MULT
 *                  times that, never sooner than before (EXPIRE NX/GT,
 *                  Redis 7.0): a token seen once goes after one TTL, a
 *                  common one stays.
 *   P bayes        hash {spam, ham, last}: messages learned, last learn time
 *   P bayes:seen:SHA1   "s" or "h": a learned message (its digest)
 *
 * Per message (the "bayes" pipeline stage, before the rules): one
 * round trip (a read script: HMGET of the totals and of every token, the
 * counts back as one string); the
 * probability goes into the scan (sc->bayes_prob) and the rules' BAYES_*
 * (eval:check_bayes) read it.  Silent below bayes_min_spam/bayes_min_ham,
 * and when Redis is down or slow (REDIS_UNAVAILABLE, the message goes on).
 * Learning is one script call (EVALSHA): atomic, and a message learned
 * twice changes nothing; parapetctl learn sends a batch of messages in
 * one call that writes each distinct token once (bayes_learn_many).
 */
#ifndef PARAPET_BAYES_H
#define PARAPET_BAYES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/digest.h"

struct engine;
struct stage;
struct tokens;

#define BAYES_N_SIGNIFICANT 150	/* SpamAssassin's N_SIGNIFICANT_TOKENS */
/* Robinson's s: SpamBayes's 0.45, not CombineChi.pm's 0.030.  With 0.030
 * a token seen once in ham only weighs 0.016, as strong as one seen in a
 * hundred, and a spam holding a few such words lands at the chi-square's
 * undecided 0.5; 10-fold on the corpus, Bayes alone at p >= 0.9: 79.6%
 * of spam (0 ham) with 0.030, 92.2% (2 ham) with 0.45; 1.0 no better
 * (README, "scripts/bench/bayes") */
#define BAYES_FW_S 0.45
#define BAYES_FW_X 0.538	/* Robinson's x */
#define BAYES_MIN_STRENGTH 0.346	/* |p - 0.5| a token needs to count */
#define BAYES_TTL_MULT 12	/* a token lives at most 12 TTLs */
#define BAYES_KEY_MAX 300	/* bytes of a token key with the prefix */
#define BAYES_TOKEN_KEY_LEN 13	/* bytes of a token key without it: b:HASH */
#define BAYES_TOKEN_KEY_LEN_S "13"	/* the same, for the read script's text */
/* Redis memory of one token key with the default prefix, measured with
 * MEMORY USAGE and INFO on Redis 7 (listpack hash of two small counters,
 * the key, its expiry): see the sizing table in parapet.conf(5) */
#define BAYES_BYTES_PER_TOKEN 100

/* ---------------------------------------------------------------- math */

/* bayes_token_prob - Robinson's f(w) of a token seen in s spam and n ham
 * of ns spam and nn ham learned; -1 when the token was never seen */
double bayes_token_prob(double s, double n, double ns, double nn);
/* bayes_chi2q - the chi-square survival function for 2*halfv degrees of
 * freedom, as CombineChi.pm computes it (capped at 1) */
double bayes_chi2q(double x2, size_t halfv);
/* bayes_combine - Fisher's combining of n token probabilities with the
 * class priors; false when n is 0 */
bool bayes_combine(double ns, double nn, const double *prob, size_t n, double *out);
/* bayes_select - indexes of the strongest tokens (at most
 * BAYES_N_SIGNIFICANT of |p-0.5| >= BAYES_MIN_STRENGTH, strongest first;
 * p < 0 is skipped) into idx; returns how many */
size_t bayes_select(const double *prob, size_t n, size_t *idx);

/* ---------------------------------------------------------------- storage */

/* bayes_counts_parse - n counts from the read script's reply (4-byte
 * little-endian unsigned each, 0xFFFFFFFF: the next of the 8-byte
 * doubles that follow them) into out; a value that is not a count
 * (negative, not a number, over 1e15) reads as 0; false unless the
 * reply is exactly that */
bool bayes_counts_parse(const char *s, size_t len, double *out, size_t n);
/* bayes_reply_probs - the classifier's reading of the reply for n tokens:
 * the totals into ns and nn and each token's bayes_token_prob into prob,
 * the same doubles as bayes_counts_parse then bayes_token_prob; false as
 * bayes_counts_parse */
bool bayes_reply_probs(const char *s, size_t len, size_t n, double *ns, double *nn,
		       double *prob);

/* bayes_token_key - P b:HASH into out (BAYES_KEY_MAX); its length */
size_t bayes_token_key(const char *prefix, uint64_t hash, char *out);

enum bayes_op { BAYES_SPAM, BAYES_HAM, BAYES_FORGET };
enum bayes_result {
	BAYES_UNCHANGED,	/* already learned as that class */
	BAYES_LEARNED,
	BAYES_MOVED,		/* was learned as the other class */
	BAYES_FORGOTTEN,
	BAYES_UNKNOWN,		/* forget: never learned */
};

/* bayes_result_name - "learned", "already learned", ... */
const char *bayes_result_name(enum bayes_result r);
/* bayes_learn_tokens - learn (or forget) the message of digest (SHA-1
 * hex) with tokens t in one script call before deadline; 0 and *res, or
 * -1 with *why (static) */
int bayes_learn_tokens(struct engine *e, const char *digest, struct tokens *t,
		       enum bayes_op op, double deadline, enum bayes_result *res,
		       const char **why);

/* one message of bayes_learn_many */
struct bayes_learn_item {
	char digest[DIGEST_SHA1_HEX];	/* bayes_message_digest */
	struct tokens *tokens;
	enum bayes_op op;
	enum bayes_result res;		/* out, unless failed */
	bool failed;			/* out: its script call failed */
};

/* one learn script call holds at most BAYES_LEARN_MSGS_MAX messages (a
 * token's count of them, plus 1, in a byte) and BAYES_LEARN_TOKENS_MAX
 * tokens (an index in two bytes of 1..255) */
#define BAYES_LEARN_MSGS_MAX 254
#define BAYES_LEARN_TOKENS_MAX (255 * 255)
/* bayes_learn_split - how many of the first of n items one learn script
 * call takes (at least one: a message's tokens always fit) */
size_t bayes_learn_split(const struct bayes_learn_item *it, size_t n);

/* bayes_learn_many - bayes_learn_tokens of n messages in one script call
 * (one round trip; each message decided in order as if learned alone, the
 * counts as learning them one by one leaves them, each distinct token
 * written once; a batch over bayes_learn_split's limits goes in
 * several calls in turn); 0 with each item's res or failed, or -1
 * with *why (static) when Redis or the script failed */
int bayes_learn_many(struct engine *e, struct bayes_learn_item *it, size_t n, double deadline,
		     const char **why);

/* ---------------------------------------------------------------- autolearn
 * SpamAssassin's AutoLearnThreshold: a message is learned as spam when its
 * learning score (every hit but BAYES_* and network evidence) is at least
 * the spam threshold with >= 3 header and >= 3 body points, the verdict
 * tagged it, and the classifier's points are not below -1; as ham when the
 * learning score is below the nonspam threshold, it was not tagged, and
 * the classifier's points are not above 1. */

enum bayes_al_part {
	BAYES_AL_OTHER, BAYES_AL_HEAD, BAYES_AL_BODY,
	BAYES_AL_NET,		/* network evidence: not counted */
	BAYES_AL_LEARN,		/* BAYES_*: not counted, may veto */
	BAYES_AL_SKIP,		/* tflags noautolearn/userconf: not counted */
};

struct bayes_al_hit {
	double score;
	enum bayes_al_part part;
};

#define BAYES_AL_HEAD_MIN 3.0	/* SpamAssassin's required_head_points */
#define BAYES_AL_BODY_MIN 3.0	/* required_body_points */

/* bayes_autolearn_decide - 1 and *op (BAYES_SPAM or BAYES_HAM) to learn,
 * 0 not to; tagged is the verdict (score >= tag_score) */
int bayes_autolearn_decide(double thr_spam, double thr_ham, const struct bayes_al_hit *h,
			   size_t n, bool tagged, enum bayes_op *op);

struct msg;
/* bayes_message_digest - SHA-1 hex of the Message-ID and the body: the
 * identity of a learned message (parapetctl learn and autolearn) */
void bayes_message_digest(const struct msg *m, char out[DIGEST_SHA1_HEX]);

/* ---------------------------------------------------------------- admin
 * (admin/bayes_admin.c): 0, or -1 with *err (caller frees) */

struct rep_keys;
/* bayes_learn_parse - one message file's content, parsed once, for
 * bayes_learn_many: its tokens (it->tokens, allocated; free with
 * bayes_learn_item_clear) and digest (SHA-1 of the Message-ID and the
 * body, so the same message delivered twice or re-filed is one message);
 * and its reputation keys (rep_learn_keys) when keys is not NULL */
void bayes_learn_parse(struct engine *e, const char *data, size_t len, enum bayes_op op,
		       const char *ip, struct bayes_learn_item *it, struct rep_keys *keys);
/* bayes_learn_item_clear - release what bayes_learn_parse allocated */
void bayes_learn_item_clear(struct bayes_learn_item *it);

struct bayes_stats {
	double spam, ham;	/* messages learned */
	double last;		/* unix time of the last learn or forget; 0 never */
	long long tokens;	/* token keys in Redis */
	long long used_memory;	/* Redis's used_memory (every key); -1 unknown */
};

/* bayes_stats - the totals, and the tokens counted with SCAN */
int bayes_stats(struct engine *e, struct bayes_stats *st, char **err);

/* ---------------------------------------------------------------- stage */

/* bayes_stage - the descriptor (core/stage.h; listed in stages/registry.c) */
extern const struct stage bayes_stage;

#endif
