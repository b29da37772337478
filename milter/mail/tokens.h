/*
 * tokens.h - the Bayes classifier's view of a message: one call turns a
 * message into at most TOKENS_MAX distinct tokens, each with its 64-bit
 * hash (the Redis key, stages/bayes) and its text (for parapetctl scan).
 *
 * The scheme is SpamAssassin's (Plugin/Bayes.pm, _tokenize_line) plus
 * one thing of rspamd's: the body's adjacent word pairs ("free money"),
 * not its orthogonal sparse bigrams (five pairs per word): one pair per
 * word, at most TOKENS_PAIRS_MAX, keeps a classification inside one
 * pipelined round trip of at most TOKENS_MAX reads.  With the pairs,
 * nested 10-fold cross-validation catches 95.8% of the corpus's spam
 * with the rules at 0.4% of ham flagged, without them 94.0% (README,
 * "scripts/bench/bayes").
 * SpamAssassin's Robinson/Fisher combining and BAYES_* bands apply.
 *
 * Where the tokens come from, in this order (the cap keeps the first):
 *   1. chosen header fields, each token prefixed "H<field>:" with
 *      SpamAssassin's short names (*F From, *R Reply-To, *p Return-Path,
 *      *r Received, *ct Content-Type, *UA X-Mailer/User-Agent, *M
 *      Message-ID): addresses as U*local, D*domain and its parents;
 *      Received only the two oldest, without the date; Content-Type with
 *      its boundary reduced to its shape; Message-ID only its domain;
 *   2. the host of every URI (msg_uris): UD:host and each parent domain;
 *   3. the body view of the rules (msg_body_text: Subject, the decoded
 *      text parts, HTML rendered to text): words of 3 bytes or more,
 *      sentence-initial Title Case lowered, e-mail addresses and dotted
 *      names broken out, punctuation-stripped and lower-cased variants
 *      added as SpamAssassin does; then each pair of adjacent words
 *      (split at anything but letters, digits, $ ' ! and 8-bit bytes, 2
 *      to TOKEN_MAX_LEN bytes each), lower-cased, as "word word".
 * A token longer than TOKEN_MAX_LEN bytes becomes "sk:" and its first 7
 * characters (UTF-8 aware); one of 3- or 4-byte UTF-8 characters (CJK)
 * becomes one "u8:" token per character instead.
 *
 * Cap: TOKENS_MAX distinct tokens per message (tokens_of stops reading
 * there), of them TOKENS_PAIRS_MAX word pairs (so that a long message
 * keeps room for its words).  The corpus's messages have 115 to 975
 * (5th to 95th percentile, median 360); the classifier uses only the
 * 150 strongest; and 1,000 reads (two values each) stay inside the reply
 * caps of one message round trip (net/redis.h: 4,096 elements).  So a
 * message of 1 MB of unique words costs what a long normal one does.
 */
#ifndef PARAPET_TOKENS_H
#define PARAPET_TOKENS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

struct msg;

#define TOKENS_MAX 1000		/* distinct tokens per message */
#define TOKEN_MAX_LEN 15	/* longer ones become sk:PREFIX */
#define TOKENS_PAIRS_MAX 200	/* word pairs (of TOKENS_MAX) per message */
#define TOKENS_SLOTS 2048	/* hash set size: a power of 2 > 2 * TOKENS_MAX */
#define TOKENS_WORD_SLOTS 2048	/* words remembered (half of it) to skip repeats:
				 * the corpus's messages have at most 830 */
#define TOKENS_WORD_TEXT 65536	/* bytes of remembered words' text, at most */

/* the hash of a word for word_seen: prefix, word, body flag (tests
 * replace it to force collisions) */
typedef uint64_t tokens_word_hash_fn(const char *prefix, const char *w, size_t len, bool body);

struct tokens {
	uint64_t hash[TOKENS_MAX];	/* tokens_hash of each token */
	size_t off[TOKENS_MAX];		/* its text at text.data + off */
	size_t n;
	size_t npairs;			/* of them word pairs (at most TOKENS_PAIRS_MAX) */
	bool capped;			/* more distinct tokens were left out */
	struct buf text;		/* the tokens, NUL-separated */
	uint16_t slot[TOKENS_SLOTS];	/* the set: index + 1 into hash, 0 = empty */
	/* the words split so far, to skip repeats: a set of indexes + 1 (0 =
	 * empty) into whash/woff/wlen; each word's text is compared on a
	 * hash hit, so a colliding word is never skipped */
	uint16_t words[TOKENS_WORD_SLOTS];	/* (half of it in use: fits 16 bits) */
	uint64_t whash[TOKENS_WORD_SLOTS / 2];
	uint32_t woff[TOKENS_WORD_SLOTS / 2];	/* prefix NUL flag word at wtext.data + woff */
	uint32_t wlen[TOKENS_WORD_SLOTS / 2];	/* its length */
	size_t nwords;
	struct buf wtext;
	/* NULL: tokens_word_hash, computed along the word's token hash;
	 * a test sets its own (to force collisions) */
	tokens_word_hash_fn *word_hash;
};

/* tokens_init - an empty set */
void tokens_init(struct tokens *t);
/* tokens_free - release the text (t stays reusable after tokens_init) */
void tokens_free(struct tokens *t);
/* tokens_of - every token of m into t (initialized by tokens_init) */
void tokens_of(struct msg *m, struct tokens *t);
/* tokens_text - the tokens of one piece of text; prefix goes before each
 * ("" for the body); body selects the body's extra break-outs */
void tokens_text(struct tokens *t, const char *prefix, const char *text, size_t len,
		 bool body);
/* tokens_add - one token, unless already there or the set is full */
void tokens_add(struct tokens *t, const char *s, size_t len);
/* tokens_hash - FNV-1a, 64 bits, of s, 0 made 1 (the token keys in Redis
 * are made of it: it must not change) */
uint64_t tokens_hash(const char *s, size_t len);
/* tokens_word_hash - FNV-1a 64 of prefix and word, then the body flag
 * (the hash of word_seen when word_hash is NULL; never 0) */
uint64_t tokens_word_hash(const char *prefix, const char *w, size_t len, bool body);
/* tokens_str - the text of token i */
const char *tokens_str(const struct tokens *t, size_t i);

#endif
