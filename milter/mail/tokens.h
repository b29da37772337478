/*
 * tokens.h - the Bayes classifier's view of a message: one call turns a
 * message into at most TOKENS_MAX distinct tokens, each with its 64-bit
 * hash (the Redis key, stages/bayes) and its text (for parapetctl scan).
 *
 * The scheme is SpamAssassin's (Plugin/Bayes.pm, _tokenize_line), not
 * rspamd's orthogonal sparse bigrams: single words, so a message needs
 * about a fifth of the keys OSB would (five pairs per word), which keeps
 * a classification inside one pipelined round trip of at most TOKENS_MAX
 * reads; and SpamAssassin's Robinson/Fisher constants and BAYES_* bands
 * were tuned on these very tokens, so its stock scores apply unchanged.
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
 *      added as SpamAssassin does.
 * A token longer than TOKEN_MAX_LEN bytes becomes "sk:" and its first 7
 * characters (UTF-8 aware); one of 3- or 4-byte UTF-8 characters (CJK)
 * becomes one "u8:" token per character instead.
 *
 * Cap: TOKENS_MAX distinct tokens per message (tokens_of stops reading
 * there).  A normal message has 100 to 600; the classifier uses only the
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
#define TOKENS_SLOTS 2048	/* hash set size: a power of 2 > 2 * TOKENS_MAX */
#define TOKENS_WORD_SLOTS 8192	/* words remembered (half of it) to skip repeats */
#define TOKENS_WORD_TEXT 65536	/* bytes of remembered words' text, at most */

/* the hash of a word for word_seen: prefix, word, body flag (tests
 * replace it to force collisions) */
typedef uint64_t tokens_word_hash_fn(const char *prefix, const char *w, size_t len, bool body);

struct tokens {
	uint64_t hash[TOKENS_MAX];	/* tokens_hash of each token */
	size_t off[TOKENS_MAX];		/* its text at text.data + off */
	size_t n;
	bool capped;			/* more distinct tokens were left out */
	struct buf text;		/* the tokens, NUL-separated */
	uint64_t slot[TOKENS_SLOTS];	/* the set: hash, 0 = empty */
	/* the words split so far, to skip repeats: a set of indexes + 1 (0 =
	 * empty) into whash/woff/wlen; each word's text is compared on a
	 * hash hit, so a colliding word is never skipped */
	uint16_t words[TOKENS_WORD_SLOTS];	/* (half of it in use: fits 16 bits) */
	uint64_t whash[TOKENS_WORD_SLOTS / 2];
	uint32_t woff[TOKENS_WORD_SLOTS / 2];	/* prefix NUL flag word at wtext.data + woff */
	uint32_t wlen[TOKENS_WORD_SLOTS / 2];	/* its length */
	size_t nwords;
	struct buf wtext;
	tokens_word_hash_fn *word_hash;		/* tokens_word_hash unless a test sets it */
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
/* tokens_hash - FNV-1a, 64 bits, of s (never 0: 0 marks an empty slot) */
uint64_t tokens_hash(const char *s, size_t len);
/* tokens_word_hash - FNV-1a 64 of prefix, body flag and word (the
 * default word_hash; never 0) */
uint64_t tokens_word_hash(const char *prefix, const char *w, size_t len, bool body);
/* tokens_str - the text of token i */
const char *tokens_str(const struct tokens *t, size_t i);

#endif
