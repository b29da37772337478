/*
 * tokens.c - the Bayes tokenizer (tokens.h): SpamAssassin's scheme,
 * written from its description (Plugin/Bayes.pm), over parapet's message
 * views.  Every loop is bounded by its input and stops once TOKENS_MAX
 * distinct tokens are in.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "mail/message.h"
#include "mail/tokens.h"
#include "mail/tokens_int.h"
#include "base/strbuf.h"

#define SK_CHARS 7		/* characters an sk: token keeps */
#define TOKEN_TEXT_MAX 256	/* bytes of one token with its prefix */
#define RECEIVED_USED 2		/* the oldest Received fields read */
#define TOKENS_TEXT_INIT 8000	/* bytes reserved for text and wtext, +1 */

/* text_tokens and the functions of a body word it calls are inlined
 * into each of its two callers (tokens_text, and tokens_text_general for
 * the tests), as GCC inlined the word's functions into tokens_text when
 * that was their one caller: left to GCC, a second caller made them
 * calls, 6% more instructions in tokens_text (callgrind) */
#define WORD_INLINE static inline __attribute__((always_inline))

_Static_assert(TOKENS_WORD_SLOTS / 2 <= UINT16_MAX, "tokens.words holds 16-bit indexes");
_Static_assert(TOKENS_MAX <= UINT16_MAX, "tokens.slot holds 16-bit indexes");

/* tokens_init - see tokens.h */
void tokens_init(struct tokens *t)
{
	t->n = 0;
	t->npairs = 0;
	t->capped = false;
	/* room for 9 in 10 corpus messages' token text (median 3.6 KB, 90th
	 * percentile 6.4 KB): grown by doubling from nothing, each buffer was
	 * 8 reallocs and copies a 25 KB message, 7,000 instructions of its
	 * classification (callgrind) */
	buf_init(&t->text);
	buf_reserve(&t->text, TOKENS_TEXT_INIT);
	memset(t->slot, 0, sizeof(t->slot));
	memset(t->words, 0, sizeof(t->words));
	t->nwords = 0;
	buf_init(&t->wtext);
	buf_reserve(&t->wtext, TOKENS_TEXT_INIT);
	t->word_hash = NULL;
}

/* tokens_free - see tokens.h */
void tokens_free(struct tokens *t)
{
	buf_free(&t->text);
	buf_free(&t->wtext);
	t->n = 0;
	t->nwords = 0;
}

/* FNV-1a 64, the token hash (tokens_hash): fnv_run carries a state over
 * more bytes, so a token made of pieces (prefix, word, pair) is hashed
 * piece by piece without being copied, and a state already reached is
 * reused (a prefix once per tokens_text call, a word's state for its
 * pair): the same number as hashing the whole text at once */
#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

/* fnv_run - the state h carried over len bytes of s (four a round: the
 * loop's own instructions were a third of the tokenizer's hashing) */
static inline uint64_t fnv_run(uint64_t h, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; len >= 4; p += 4, len -= 4) {
		h = (h ^ p[0]) * FNV_PRIME;
		h = (h ^ p[1]) * FNV_PRIME;
		h = (h ^ p[2]) * FNV_PRIME;
		h = (h ^ p[3]) * FNV_PRIME;
	}
	for (; len; p++, len--)
		h = (h ^ *p) * FNV_PRIME;
	return h;
}

/* fnv_done - the final state as a token hash (0 is made 1) */
static inline uint64_t fnv_done(uint64_t h)
{
	return h ? h : 1;
}

/* tokens_hash - FNV-1a 64 (collisions between two of millions of tokens
 * only merge their counts; see doc/SPEC.md) */
uint64_t tokens_hash(const char *s, size_t len)
{
	return fnv_done(fnv_run(FNV_OFFSET, s, len));
}

/* tokens_str - see tokens.h */
const char *tokens_str(const struct tokens *t, size_t i)
{
	return t->text.data + t->off[i];
}

/* a prefix of tokens: its bytes, their length and the FNV state after
 * them, all found once instead of for every token (strlen and the
 * prefix's hashing were a tenth of the tokenizer's instructions) */
struct pfx {
	const char *s;
	size_t len;
	uint64_t h;
};

/* pfx_set - p is prefix s (len bytes) */
static void pfx_set(struct pfx *p, const char *s, size_t len)
{
	p->s = s;
	p->len = len;
	p->h = fnv_run(FNV_OFFSET, s, len);
}

/* token_new - the text of a new token of hash h and len bytes, to be
 * written by the caller (NUL added here); NULL if h is in the set
 * already, or the set is full (then capped).  The text is copied only
 * for a new token: most of a message's words repeat. */
static char *token_new(struct tokens *t, uint64_t h, size_t len)
{
	size_t i = (size_t)h & (TOKENS_SLOTS - 1);

	while (t->slot[i]) {
		if (t->hash[t->slot[i] - 1] == h)
			return NULL;
		i = (i + 1) & (TOKENS_SLOTS - 1);
	}
	if (t->n >= TOKENS_MAX) {
		t->capped = true;
		return NULL;
	}
	t->hash[t->n] = h;
	t->off[t->n] = t->text.len;
	t->slot[i] = (uint16_t)++t->n;
	if (t->text.len + len + 2 > t->text.cap)
		buf_reserve(&t->text, len + 1);
	char *w = t->text.data + t->text.len;
	w[len] = '\0';
	t->text.len += len + 1;
	w[len + 1] = '\0';	/* struct buf's terminator */
	return w;
}

/* copy_short - n <= TOKEN_MAX_LEN + 1 bytes from s to d without a call
 * of memcpy (whose call and size dispatch cost more than a word's bytes):
 * two overlapping moves of 8, or of 4, or bytes */
static inline void copy_short(char *d, const char *s, size_t n)
{
	_Static_assert(TOKEN_MAX_LEN + 1 <= 16, "two moves of 8 cover a word");
	if (n >= 8) {
		uint64_t a, b;
		memcpy(&a, s, 8);
		memcpy(&b, s + n - 8, 8);
		memcpy(d, &a, 8);
		memcpy(d + n - 8, &b, 8);
	} else if (n >= 4) {
		uint32_t a, b;
		memcpy(&a, s, 4);
		memcpy(&b, s + n - 4, 4);
		memcpy(d, &a, 4);
		memcpy(d + n - 4, &b, 4);
	} else {
		for (size_t i = 0; i < n; i++)
			d[i] = s[i];
	}
}

/* copy_bytes - n bytes from s to d: copy_short when it can (a token's
 * prefix or word is mostly a few bytes), else memcpy */
static inline void copy_bytes(char *d, const char *s, size_t n)
{
	if (n <= TOKEN_MAX_LEN + 1)
		copy_short(d, s, n);
	else
		memcpy(d, s, n);
}

/* put_prefix - the prefix's bytes at d (most tokens are the body's,
 * whose prefix is empty: no copy then) */
static inline void put_prefix(char *d, const struct pfx *p)
{
	if (p->len)
		copy_bytes(d, p->s, p->len);
}

/* token_known - is the token p then s in the set, by its text too (a
 * crafted hash collision must not pass for it)? */
static bool token_known(const struct tokens *t, const struct pfx *p, const char *s, size_t len)
{
	uint64_t h = fnv_done(fnv_run(p->h, s, len));
	size_t i = (size_t)h & (TOKENS_SLOTS - 1);

	for (; t->slot[i]; i = (i + 1) & (TOKENS_SLOTS - 1)) {
		if (t->hash[t->slot[i] - 1] != h)
			continue;
		const char *x = tokens_str(t, t->slot[i] - 1);
		return strlen(x) == p->len + len && memcmp(x, p->s, p->len) == 0 &&
		       memcmp(x + p->len, s, len) == 0;
	}
	return false;
}

/* add_pfx - the token p then s */
static void add_pfx(struct tokens *t, const struct pfx *p, const char *s, size_t len)
{
	if (p->len + len == 0 || p->len + len > TOKEN_TEXT_MAX)
		return;
	char *w = token_new(t, fnv_done(fnv_run(p->h, s, len)), p->len + len);
	if (w) {
		put_prefix(w, p);
		copy_bytes(w + p->len, s, len);
	}
}

/* tokens_add - see tokens.h */
void tokens_add(struct tokens *t, const char *s, size_t len)
{
	struct pfx p = { "", 0, FNV_OFFSET };

	add_pfx(t, &p, s, len);
}

/* add_prefixed - prefix + s (a prefix used once) */
static void add_prefixed(struct tokens *t, const char *prefix, const char *s, size_t len)
{
	struct pfx p;

	pfx_set(&p, prefix, strlen(prefix));
	add_pfx(t, &p, s, len);
}

/* utf8_len - bytes of the well-formed multi-byte UTF-8 character at p
 * (2 to 4), else 0 */
static size_t utf8_len(const unsigned char *p, size_t left)
{
	size_t n;

	if (p[0] >= 0xC0 && p[0] <= 0xDF)
		n = 2;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
		n = 3;
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
		n = 4;
	else
		return 0;
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return n;
}

/* the byte classes of the tokenizer, one table (no ctype call, no strchr
 * a byte; parapet runs in the C locale, so isalnum is ASCII's) */
#define B_WORD 1	/* a word character of word_bytes below 0x80: letters,
			 * digits and ,@*!_'"$.- */
#define B_W 2		/* Perl's \w in bytes: letters, digits, _ */
#define B_PAIR 4	/* pair_char: letters, digits, $ ' ! and bytes >= 0x80 */
#define B_TRIM 8	/* trim_punct strips it: - ' " . , (and NUL, as strchr
			 * found the terminator; no word holds one) */
#define B_SPACE 16	/* isspace */
#define B_PLAIN 32	/* A-Z, a-z and 0-9: a word of them alone is its own
			 * only pair word and token, with its lower case
			 * (tokens_text's plain path) */
#define B_KEEP 64	/* decompose keeps it: \w, : * and bytes >= 0x80 */
#define B_UPPER 128	/* A-Z */
#define B_ALNUM (B_WORD | B_W | B_PAIR | B_KEEP | B_PLAIN)
static const unsigned char bclass[256] = {
	['0' ... '9'] = B_ALNUM, ['A' ... 'Z'] = B_ALNUM | B_UPPER, ['a' ... 'z'] = B_ALNUM,
	['_'] = B_WORD | B_W | B_KEEP, ['@'] = B_WORD, ['*'] = B_WORD | B_KEEP, [':'] = B_KEEP,
	['!'] = B_WORD | B_PAIR, ['$'] = B_WORD | B_PAIR, ['\''] = B_WORD | B_PAIR | B_TRIM,
	[','] = B_WORD | B_TRIM, ['"'] = B_WORD | B_TRIM, ['.'] = B_WORD | B_TRIM,
	['-'] = B_WORD | B_TRIM, [0] = B_TRIM, [0x80 ... 0xff] = B_PAIR | B_KEEP,
	['\t' ... '\r'] = B_SPACE, [' '] = B_SPACE,
};

/* lowercase - ASCII lower case of each byte, one look-up (a word's
 * bytes are lowered for its pairs and tokens, a URI's host for UD:) */
/* (c | 32, not c + 32: clang's -Wconstant-conversion saw 255 + 32 in the
 * arm not taken) */
#define LC(c) ((c) | ((c) >= 'A' && (c) <= 'Z' ? 32 : 0))
#define LC4(c) LC(c), LC((c) + 1), LC((c) + 2), LC((c) + 3)
#define LC16(c) LC4(c), LC4((c) + 4), LC4((c) + 8), LC4((c) + 12)
#define LC64(c) LC16(c), LC16((c) + 16), LC16((c) + 32), LC16((c) + 48)
static const unsigned char lowercase[256] = {
	LC64(0), LC64(64), LC64(128), LC64(192),
};

/* lower - ASCII lower case of c */
static inline char lower(char c)
{
	return (char)lowercase[(unsigned char)c];
}

/* word_bytes - bytes of the word character at p (a letter, digit, one of
 * ,@*!_'"$.- or a UTF-8 character or a Latin-1 letter), 0 for a
 * separator */
static size_t word_bytes(const unsigned char *p, size_t left)
{
	if (*p < 0x80)
		return bclass[*p] & B_WORD ? 1 : 0;
	size_t n = utf8_len(p, left);
	if (n)
		return n;
	return *p >= 0xA1 ? 1 : 0;
}

/* is_w - Perl's \w in bytes */
static bool is_w(unsigned char c)
{
	return bclass[c] & B_W;
}

/* trim_punct - strip [-'".,] from both ends */
static void trim_punct(const char **s, size_t *len)
{
	while (*len && bclass[(unsigned char)(*s)[0]] & B_TRIM)
		(*s)++, (*len)--;
	while (*len && bclass[(unsigned char)(*s)[*len - 1]] & B_TRIM)
		(*len)--;
}

/* add_domains - D*dom and each parent (prefix "D*") or UD: (body) */
static void add_domains(struct tokens *t, const char *prefix, const char *d, size_t len)
{
	struct pfx p;

	pfx_set(&p, prefix, strlen(prefix));
	for (;;) {
		add_pfx(t, &p, d, len);
		const char *dot = memchr(d, '.', len);
		if (dot == NULL || dot + 1 >= d + len)
			return;
		len -= (size_t)(dot + 1 - d);
		d = dot + 1;
	}
}

/* add_addr - U*local and D*domain..., as SpamAssassin chews an address */
static void add_addr(struct tokens *t, const char *prefix, const char *s, size_t len)
{
	const char *at = memchr(s, '@', len);
	char p[64];

	if (at == NULL)
		return;
	str_join3(p, sizeof(p), prefix, "U*", "");
	if (at > s)
		add_prefixed(t, p, s, (size_t)(at - s));
	str_join3(p, sizeof(p), prefix, "D*", "");
	if (at + 1 < s + len)
		add_domains(t, p, at + 1, (size_t)(s + len - at - 1));
}

/* long_token - a token over TOKEN_MAX_LEN: u8: characters or sk:PREFIX */
static void long_token(struct tokens *t, const struct pfx *pf, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	bool multi = false;
	char p[64];

	for (size_t i = 0; i + 1 < len; i++)
		if (u[i] >= 0x80 && u[i] <= 0xBF && u[i + 1] >= 0x80 && u[i + 1] <= 0xBF)
			multi = true;
	if (multi) {
		bool any = false;
		str_join3(p, sizeof(p), pf->s, "u8:", "");
		struct pfx u8;
		pfx_set(&u8, p, strlen(p));
		for (size_t i = 0; i < len && !t->capped;) {
			size_t n = utf8_len(u + i, len - i);
			if (n >= 3) {
				add_pfx(t, &u8, s + i, n);
				any = true;
			}
			i += n ? n : 1;
		}
		if (any)
			return;
	}
	/* seven characters (a UTF-8 sequence is one), if two bytes follow */
	size_t i = 0;
	for (int c = 0; c < SK_CHARS && i < len; c++) {
		size_t n = utf8_len(u + i, len - i);
		i += n ? n : 1;
	}
	if (len - i < 2) {
		add_pfx(t, pf, s, len);
		return;
	}
	str_join3(p, sizeof(p), pf->s, "sk:", "");
	add_prefixed(t, p, s, i);
}

/* decompose - the body's extra forms: without punctuation, lower-cased.
 * One pass of table look-ups first: most words have neither, and then
 * nothing is copied */
static void decompose(struct tokens *t, const struct pfx *pf, const char *s, size_t len)
{
	char a[TOKEN_TEXT_MAX], b[TOKEN_TEXT_MAX];
	size_t na = 0, nb = 0;
	unsigned all = B_KEEP, any = 0;

	if (len > TOKEN_TEXT_MAX)
		return;
	for (size_t i = 0; i < len; i++) {
		unsigned c = bclass[(unsigned char)s[i]];
		all &= c;
		any |= c;
	}
	bool punct = !(all & B_KEEP), upper = any & B_UPPER;
	if (!punct && !upper)
		return;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (bclass[c] & B_KEEP)
			a[na++] = (char)c;
		b[nb++] = lower((char)c);
	}
	if (punct)
		add_pfx(t, pf, a, na);
	if (upper) {
		add_pfx(t, pf, b, nb);
		if (punct) {
			for (size_t i = 0; i < na; i++)
				a[i] = lower(a[i]);
			add_pfx(t, pf, a, na);
		}
	}
}

/* one_token - a piece of a word, as _tokenize_line treats it */
static void one_token(struct tokens *t, const struct pfx *pf, const char *s, size_t len,
		      bool body)
{
	trim_punct(&s, &len);
	if (len < 3)
		return;
	if (body) {
		const char *at = memchr(s, '@', len);
		bool dotted = false;
		for (size_t i = 1; i + 1 < len; i++)
			if (s[i] == '.' && isalpha((unsigned char)s[i + 1]))
				dotted = true;
		if (at && at > s && at + 1 < s + len)
			add_addr(t, "", s, len);
		else if (dotted)
			add_domains(t, "UD:", s, len);
	}
	if (len > TOKEN_MAX_LEN && memchr(s, '*', len) == NULL) {
		long_token(t, pf, s, len);
		return;
	}
	if (body)
		decompose(t, pf, s, len);
	add_pfx(t, pf, s, len);
}

/* split_word - a word split at runs of 3-6 dots or 2-6 dashes between
 * word characters (each run its own token) */
WORD_INLINE void split_word(struct tokens *t, const struct pfx *pf, char *w, size_t len,
			    bool body)
{
	size_t start = 0;

	for (size_t i = 1; i < len && !t->capped; i++) {
		char c = w[i];
		if ((c != '.' && c != '-') || !is_w((unsigned char)w[i - 1]))
			continue;
		size_t j = i;
		while (j < len && w[j] == c)
			j++;
		size_t run = j - i;
		bool sep = c == '.' ? run >= 3 && run <= 6 : run >= 2 && run <= 6;
		if (!sep || j >= len || !is_w((unsigned char)w[j])) {
			i = j - 1;
			continue;
		}
		one_token(t, pf, w + start, i - start, body);
		one_token(t, pf, w + i, run, body);
		start = j;
		i = j - 1;
	}
	one_token(t, pf, w + start, len - start, body);
}

/* word_hash_of - tokens_word_hash from the FNV state h after prefix and
 * word (the state the plain path has already) */
static inline uint64_t word_hash_of(uint64_t h, bool body)
{
	return fnv_done((h ^ (body ? 1u : 2u)) * FNV_PRIME);
}

/* tokens_word_hash - see tokens.h */
uint64_t tokens_word_hash(const char *prefix, const char *w, size_t len, bool body)
{
	return word_hash_of(fnv_run(fnv_run(FNV_OFFSET, prefix, strlen(prefix)), w, len), body);
}

/* word_same - is remembered word k the word w with this prefix and region? */
static bool word_same(const struct tokens *t, size_t k, const struct pfx *pf,
		      const char *w, size_t len, bool body)
{
	const char *s = t->wtext.data + t->woff[k];
	size_t pl = pf->len;

	return t->wlen[k] == pl + 2 + len && memcmp(s, pf->s, pl) == 0 && s[pl] == '\0' &&
	       s[pl + 1] == (body ? 'b' : 'h') && memcmp(s + pl + 2, w, len) == 0;
}

/* word_seen - the word w (with its prefix and region, hash h unless a
 * test set t->word_hash) was split
 * before in this message: split_word is a function of them alone and
 * adding a token twice changes nothing, so a repeated word is skipped.
 * A hash hit counts only if the bytes are the same (hashes can be made
 * to collide: a word must not hide another's tokens).  Remembers up to
 * half of TOKENS_WORD_SLOTS words and TOKENS_WORD_TEXT bytes, then
 * answers false. */
WORD_INLINE bool word_seen(struct tokens *t, const struct pfx *pf, const char *w, size_t len,
			   bool body, uint64_t h)
{
	size_t pl = pf->len;

	if (t->word_hash)
		h = t->word_hash(pf->s, w, len, body);
	size_t i = (size_t)h & (TOKENS_WORD_SLOTS - 1);
	while (t->words[i]) {
		size_t k = t->words[i] - 1;
		if (t->whash[k] == h && word_same(t, k, pf, w, len, body))
			return true;
		i = (i + 1) & (TOKENS_WORD_SLOTS - 1);
	}
	if (t->nwords < TOKENS_WORD_SLOTS / 2 && t->wtext.len + pl + 2 + len <= TOKENS_WORD_TEXT) {
		t->whash[t->nwords] = h;
		t->woff[t->nwords] = (uint32_t)t->wtext.len;
		t->wlen[t->nwords] = (uint32_t)(pl + 2 + len);
		if (t->wtext.len + pl + 2 + len + 1 > t->wtext.cap)
			buf_reserve(&t->wtext, pl + 2 + len);
		char *d = t->wtext.data + t->wtext.len;
		copy_bytes(d, pf->s, pl);
		d[pl] = '\0';
		d[pl + 1] = body ? 'b' : 'h';
		copy_bytes(d + pl + 2, w, len);
		t->wtext.len += pl + 2 + len;
		d[pl + 2 + len] = '\0';	/* struct buf's terminator */
		t->words[i] = (uint16_t)++t->nwords;
	}
	return false;
}

/* pair_char - a byte of a word of a pair: a letter, digit, $ ' ! or
 * any byte >= 0x80 (a word's inner punctuation splits it for pairing,
 * so "money-back" pairs as "money back") */
static bool pair_char(unsigned char c)
{
	return bclass[c] & B_PAIR;
}

/* the chain of word pairs through one tokens_text call: the last word
 * (lower-cased) and the FNV state after the prefix and it, so a pair's
 * hash goes on from there over " " and the next word */
struct chain {
	char prev[TOKEN_MAX_LEN];
	size_t prevlen;		/* 0: no word to pair with */
	uint64_t prevh;
};

/* pair_put - the pair token "prev w" (its hash h) unless known; then w
 * (wl bytes, lower-cased, FNV state wh after the prefix and it) is the
 * chain's last word */
static void pair_put(struct tokens *t, const struct pfx *pf, struct chain *ch, uint64_t h,
		     const char *w, size_t wl, uint64_t wh)
{
	if (ch->prevlen && t->npairs < TOKENS_PAIRS_MAX &&
	    pf->len + ch->prevlen + 1 + wl <= TOKEN_TEXT_MAX) {
		char *d = token_new(t, fnv_done(h), pf->len + ch->prevlen + 1 + wl);
		if (d) {
			put_prefix(d, pf);
			copy_short(d + pf->len, ch->prev, ch->prevlen);
			d[pf->len + ch->prevlen] = ' ';
			copy_short(d + pf->len + ch->prevlen + 1, w, wl);
			t->npairs++;
		}
	}
	copy_short(ch->prev, w, wl);
	ch->prevlen = wl;
	ch->prevh = wh;
}

/* add_pairs - the word pairs of body word w: w split into runs of
 * pair_char, each run of 2 to TOKEN_MAX_LEN bytes (quotes trimmed) after
 * the one before it (the chain, carried from word to word) makes the
 * token "prev run", lower-cased, after the prefix as every token of
 * tokens_text; a longer run breaks the chain.  Up to TOKENS_PAIRS_MAX
 * distinct pairs a message. */
WORD_INLINE void add_pairs(struct tokens *t, const struct pfx *pf, struct chain *ch,
			   const char *w, size_t wl)
{
	char low[TOKEN_MAX_LEN];

	if (t->npairs >= TOKENS_PAIRS_MAX)	/* the chain matters only for more pairs */
		return;
	for (size_t a = 0, b; a < wl; a = b + 1) {
		for (b = a; b < wl && pair_char((unsigned char)w[b]); b++)
			;
		const char *r = w + a;
		size_t rl = b - a;
		trim_punct(&r, &rl);
		if (rl < 2)
			continue;
		if (rl > TOKEN_MAX_LEN) {
			ch->prevlen = 0;
			continue;
		}
		for (size_t i = 0; i < rl; i++)
			low[i] = lower(r[i]);
		uint64_t h = ch->prevlen ? fnv_run((ch->prevh ^ ' ') * FNV_PRIME, low, rl) : 0;
		pair_put(t, pf, ch, h, low, rl, fnv_run(pf->h, low, rl));
	}
}

/* plain_word - tokens_text for a body word whose core w (the word
 * without the - ' " . , trim_punct strips at its ends) is 2 to
 * TOKEN_MAX_LEN bytes of letters and digits alone (upper: some upper
 * case), most of a message's words: its only pair word is the core
 * lower-cased (the runs around it trim to nothing), its only tokens the
 * lower-cased core (decompose's, if upper) and the core (nothing inside
 * to split at or break out), so one pass hashes the lower-cased core
 * for the pair (the state going on from the chain's) and as a token,
 * then the core (the same state, unless upper); the same tokens, in the
 * same order, as add_pairs then split_word (test_bayes and fuzz_tokens
 * hold it to them: tokens_int.h).  word_seen is not asked: a
 * repeat costs two look-ups in the set of tokens, less than a look-up
 * in the set of words did, and its hashes are needed for the pair. */
WORD_INLINE void plain_word(struct tokens *t, const struct pfx *pf, struct chain *ch,
			    const char *w, size_t wl, bool upper)
{
	const unsigned char *u = (const unsigned char *)w;
	char low[TOKEN_MAX_LEN];
	const char *lw = w;
	/* FNV states after the prefix and the core (h), the prefix and the
	 * core lower-cased (hl), the chain's last word, " " and the core
	 * lower-cased (hp): one pass for the three */
	uint64_t h = pf->h, hl = pf->h, hp = (ch->prevh ^ ' ') * FNV_PRIME;

	if (upper) {
		for (size_t i = 0; i < wl; i++) {
			unsigned char l = (unsigned char)lower(w[i]);
			low[i] = (char)l;
			h = (h ^ u[i]) * FNV_PRIME;
			hl = (hl ^ l) * FNV_PRIME;
			hp = (hp ^ l) * FNV_PRIME;
		}
		lw = low;
	} else {
		for (size_t i = 0; i < wl; i++) {
			hl = (hl ^ u[i]) * FNV_PRIME;
			hp = (hp ^ u[i]) * FNV_PRIME;
		}
		h = hl;
	}
	if (t->npairs < TOKENS_PAIRS_MAX)
		pair_put(t, pf, ch, hp, lw, wl, hl);
	if (wl < 3 || pf->len + wl > TOKEN_TEXT_MAX)
		return;
	char *d;
	if (upper && (d = token_new(t, fnv_done(hl), pf->len + wl))) {
		put_prefix(d, pf);
		copy_short(d + pf->len, lw, wl);
	}
	if ((d = token_new(t, fnv_done(h), pf->len + wl))) {
		put_prefix(d, pf);
		copy_short(d + pf->len, w, wl);
	}
}

/* text_tokens - tokens_text, whose plain body words go to plain_word if
 * plain, else to add_pairs and split_word as every other word does
 * (tokens_text_general, the tests' check that both ways agree); plain is
 * a constant in each copy, so tokens_text's has no test of it */
WORD_INLINE void text_tokens(struct tokens *t, const char *prefix, const char *text, size_t len,
			     bool body, bool plain)
{
	const unsigned char *u = (const unsigned char *)text;
	bool line_start = true, after_stop = false;
	char w[TOKEN_TEXT_MAX * 4];
	struct chain ch = { .prevlen = 0 };
	struct pfx pf;
	size_t i = 0;

	pfx_set(&pf, prefix, strlen(prefix));
	while (i < len && !t->capped) {
		size_t n = word_bytes(u + i, len - i);
		if (n == 0) {
			if (u[i] == '\n')
				line_start = true;
			else if (!(bclass[u[i]] & B_SPACE))
				after_stop = false;
			i++;
			continue;
		}
		size_t wl = 0;
		/* a longer word keeps its first bytes: it becomes sk: anyway;
		 * a run of ASCII word characters is copied at once */
		while (i < len) {
			size_t j = i;
			while (j < len && bclass[u[j]] & B_WORD)
				j++;
			if (j > i) {
				size_t c = j - i < sizeof(w) - wl ? j - i : sizeof(w) - wl;
				copy_bytes(w + wl, text + i, c);
				wl += c;
				i = j;
				continue;
			}
			if ((n = word_bytes(u + i, len - i)) == 0)
				break;
			if (wl + n <= sizeof(w)) {
				memcpy(w + wl, text + i, n);
				wl += n;
			}
			i += n;
		}
		/* Title Case at the start of a line or sentence is lowered */
		if (body && (line_start || after_stop) && wl >= 2 && w[0] >= 'A' && w[0] <= 'Z') {
			bool rest_lower = true;
			for (size_t k = 1; k < wl; k++)
				if (w[k] >= 'A' && w[k] <= 'Z')
					rest_lower = false;
			if (rest_lower)
				w[0] = (char)(w[0] + 32);
		}
		after_stop = w[wl - 1] == '.';
		line_start = false;
		if (body && plain) {
			/* a plain word, maybe in quotes or before a comma or stop */
			size_t a = 0, b = wl;
			while (a < b && bclass[(unsigned char)w[a]] & B_TRIM)
				a++;
			while (b > a && bclass[(unsigned char)w[b - 1]] & B_TRIM)
				b--;
			unsigned all = B_PLAIN, any = 0;
			for (size_t k = a; k < b; k++) {
				all &= bclass[(unsigned char)w[k]];
				any |= bclass[(unsigned char)w[k]];
			}
			if (all & B_PLAIN && b - a >= 2 && b - a <= TOKEN_MAX_LEN) {
				plain_word(t, &pf, &ch, w + a, b - a, any & B_UPPER);
				continue;
			}
		}
		if (body)
			add_pairs(t, &pf, &ch, w, wl);
		uint64_t wh = t->word_hash ? 0 : word_hash_of(fnv_run(pf.h, w, wl), body);
		if (!word_seen(t, &pf, w, wl, body, wh))
			split_word(t, &pf, w, wl, body);
	}
}

/* tokens_text - see tokens.h */
void tokens_text(struct tokens *t, const char *prefix, const char *text, size_t len, bool body)
{
	text_tokens(t, prefix, text, len, body, true);
}

/* tokens_text_general - see tokens_int.h */
void tokens_text_general(struct tokens *t, const char *prefix, const char *text, size_t len,
			 bool body)
{
	text_tokens(t, prefix, text, len, body, false);
}

/* addr_header - an address field: each address chewed, other words kept */
static void addr_header(struct tokens *t, const char *prefix, const char *v)
{
	const char *p = v;

	while (*p && !t->capped) {
		size_t n = strcspn(p, " \t<>,;\"()");
		if (n && memchr(p, '@', n))
			add_addr(t, prefix, p, n);
		else if (n)
			tokens_text(t, prefix, p, n, false);
		p += n;
		if (*p)
			p++;
	}
}

/* dots - the dots in p's n bytes (sscanf can read an address only if
 * there are three) */
static size_t dots(const char *p, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += p[i] == '.';
	return k;
}

/* dotted_quad - sscanf(ip, "%u.%u.%u.%u%c", ...) == 4 for the usual
 * address, four groups of 1 to 9 digits and nothing else (no sign, space
 * or overflow: what sscanf reads the same way), without sscanf's cost;
 * -1 for anything else, which is left to sscanf */
static int dotted_quad(const char *ip, unsigned v[4])
{
	const char *p = ip;

	for (int g = 0; g < 4; g++) {
		unsigned x = 0;
		int digits = 0;
		for (; *p >= '0' && *p <= '9'; p++, digits++)
			x = x * 10 + (unsigned)(*p - '0');
		if (digits == 0 || digits > 9 || *p != (g < 3 ? '.' : '\0'))
			return -1;
		v[g] = x;
		p += g < 3;
	}
	return 4;
}

/* rsep - the bytes received_header splits at: space, tab, ()[] (and
 * NUL, as the strchr it replaces found the terminator) */
static const bool rsep[256] = {
	[' '] = true, ['\t'] = true, ['('] = true, [')'] = true, ['['] = true, [']'] = true,
	[0] = true,
};

/* received_header - the field without its date and queue id, the client
 * address as its /24 (the shape of the relay, not one connection) */
static void received_header(struct tokens *t, const char *v)
{
	size_t len = strcspn(v, ";");
	const char *p = v, *end = v + len;
	bool skip_next = false;

	while (p < end && !t->capped) {
		while (p < end && rsep[(unsigned char)*p])
			p++;
		size_t n = 0;
		while (p + n < end && !rsep[(unsigned char)p[n]])
			n++;
		if (n == 0)
			break;
		unsigned q[4];
		char tail;
		char ip[64];
		if (skip_next) {
			skip_next = false;
		} else if (n == 2 && strncasecmp(p, "id", 2) == 0) {
			skip_next = true;
		} else if (n < sizeof(ip) && dots(p, n) >= 3) {
			memcpy(ip, p, n);
			ip[n] = '\0';
			if (dotted_quad(ip, q) == 4 ||
			    sscanf(ip, "%u.%u.%u.%u%c", &q[0], &q[1], &q[2], &q[3], &tail) == 4) {
				struct sbuf s;
				sbuf_init(&s, ip, sizeof(ip));
				sbuf_puts(&s, "ip*");
				sbuf_put_uint(&s, q[0]);
				sbuf_putc(&s, '.');
				sbuf_put_uint(&s, q[1]);
				sbuf_putc(&s, '.');
				sbuf_put_uint(&s, q[2]);
				add_prefixed(t, "H*r:", ip, strlen(ip));
			} else {
				tokens_text(t, "H*r:", p, n, false);
			}
		} else if (n < sizeof(ip)) {
			tokens_text(t, "H*r:", p, n, false);
		}
		p += n;
	}
}

/* content_type_header - the value without text/charset, and the shape of
 * its boundary (hex digits as H: one token for every boundary of a mailer) */
static void content_type_header(struct tokens *t, const char *v)
{
	const char *b = strcasestr(v, "boundary=");
	size_t before = b ? (size_t)(b - v) : strlen(v);
	char shape[TOKEN_TEXT_MAX];
	size_t n = 0;

	const char *p = v;
	while (p < v + before && !t->capped) {
		size_t k = strcspn(p, " \t;=/\"");
		if (k > before - (size_t)(p - v))
			k = before - (size_t)(p - v);
		if (k && !(k == 4 && strncasecmp(p, "text", 4) == 0) &&
		    !(k == 7 && strncasecmp(p, "charset", 7) == 0))
			tokens_text(t, "H*ct:", p, k, false);
		p += k ? k : 1;
	}
	if (b == NULL)
		return;
	p = b + 9;
	char q = *p == '"' || *p == '\'' ? *p++ : 0;
	for (; *p && n + 3 < sizeof(shape); p++) {
		if (q ? *p == q : (*p == ';' || isspace((unsigned char)*p)))
			break;
		char c = isxdigit((unsigned char)*p) ? 'H' : *p;
		if (strchr("-_.=", c) && n && !strchr("-_.=", shape[n - 1]))
			shape[n++] = ' ';
		else if (!strchr("-_.=", c) && n && strchr("-_.=", shape[n - 1]))
			shape[n++] = ' ';
		shape[n++] = c;
	}
	tokens_text(t, "H*ct:", shape, n, false);
}

/* message_id_header - the domain after the @ and its parents (the
 * rest is unique to the message) */
static void message_id_header(struct tokens *t, const char *v)
{
	const char *at = strrchr(v, '@');
	size_t n;

	if (at == NULL || (n = strcspn(at + 1, "> \t")) == 0 || n > TOKEN_TEXT_MAX / 2)
		return;
	add_domains(t, "H*M:D*", at + 1, n);
}

/* the fields header_tokens reads */
enum hfield {
	HF_FROM, HF_TO, HF_CC, HF_REPLY_TO, HF_RETURN_PATH, HF_SUBJECT, HF_CONTENT_TYPE,
	HF_MESSAGE_ID, HF_X_MAILER, HF_USER_AGENT, HF_RECEIVED, HF_NONE
};

/* hfield_of - which of them a field name is: its first letter picks the
 * one or three names to compare (most fields are none of them) */
static enum hfield hfield_of(const char *name)
{
	switch (lower(name[0])) {
	case 'f':
		return strcasecmp(name, "From") == 0 ? HF_FROM : HF_NONE;
	case 't':
		return strcasecmp(name, "To") == 0 ? HF_TO : HF_NONE;
	case 'c':
		return strcasecmp(name, "Cc") == 0 ? HF_CC
		     : strcasecmp(name, "Content-Type") == 0 ? HF_CONTENT_TYPE : HF_NONE;
	case 'r':
		return strcasecmp(name, "Received") == 0 ? HF_RECEIVED
		     : strcasecmp(name, "Reply-To") == 0 ? HF_REPLY_TO
		     : strcasecmp(name, "Return-Path") == 0 ? HF_RETURN_PATH : HF_NONE;
	case 's':
		return strcasecmp(name, "Subject") == 0 ? HF_SUBJECT : HF_NONE;
	case 'm':
		return strcasecmp(name, "Message-ID") == 0 ? HF_MESSAGE_ID : HF_NONE;
	case 'x':
		return strcasecmp(name, "X-Mailer") == 0 ? HF_X_MAILER : HF_NONE;
	case 'u':
		return strcasecmp(name, "User-Agent") == 0 ? HF_USER_AGENT : HF_NONE;
	default:
		return HF_NONE;
	}
}

/* header_tokens - the chosen fields: up to 4 of each address field, 2
 * Subjects, the first Content-Type, Message-ID, X-Mailer, User-Agent and
 * the RECEIVED_USED oldest (last) Received, in that order.  The fields
 * are sorted out in one pass (a msg_header look-up a field and instance
 * compared every name of the header each time) */
static void header_tokens(struct tokens *t, struct msg *m)
{
	static const char *const addr_prefix[] = {
		[HF_FROM] = "H*F:", [HF_TO] = "HTo:", [HF_CC] = "HCc:",
		[HF_REPLY_TO] = "H*R:", [HF_RETURN_PATH] = "H*p:",
	};
	static const unsigned keep[HF_NONE] = {
		[HF_FROM] = 4, [HF_TO] = 4, [HF_CC] = 4, [HF_REPLY_TO] = 4, [HF_RETURN_PATH] = 4,
		[HF_SUBJECT] = 2, [HF_CONTENT_TYPE] = 1, [HF_MESSAGE_ID] = 1, [HF_X_MAILER] = 1,
		[HF_USER_AGENT] = 1, [HF_RECEIVED] = RECEIVED_USED,
	};
	const struct header *got[HF_NONE][4];
	size_t n[HF_NONE] = { 0 };

	_Static_assert(RECEIVED_USED <= 4, "got holds the Received fields used");
	for (size_t i = 0; i < m->nhdrs; i++) {
		const struct header *h = &m->hdrs[i];
		enum hfield f = hfield_of(h->name);
		if (f == HF_NONE)
			continue;
		if (f == HF_RECEIVED) {
			/* the last ones, the last first: only the n[f] set
			 * slots move (the first Received has none to move,
			 * and shifting all RECEIVED_USED copied an unset one) */
			for (size_t k = n[f] < RECEIVED_USED ? n[f] : RECEIVED_USED - 1; k > 0; k--)
				got[f][k] = got[f][k - 1];
			got[f][0] = h;
			n[f] += n[f] < RECEIVED_USED;
		} else if (n[f] < keep[f]) {
			got[f][n[f]++] = h;
		}
	}
	for (enum hfield f = HF_FROM; f <= HF_RETURN_PATH; f++)
		for (size_t k = 0; k < n[f]; k++)
			addr_header(t, addr_prefix[f], got[f][k]->decoded);
	for (size_t k = 0; k < n[HF_SUBJECT]; k++)
		tokens_text(t, "HSubject:", got[HF_SUBJECT][k]->decoded,
			    strlen(got[HF_SUBJECT][k]->decoded), false);
	if (n[HF_CONTENT_TYPE])
		content_type_header(t, got[HF_CONTENT_TYPE][0]->value);
	if (n[HF_MESSAGE_ID])
		message_id_header(t, got[HF_MESSAGE_ID][0]->value);
	if (n[HF_X_MAILER])
		tokens_text(t, "H*UA:", got[HF_X_MAILER][0]->value,
			    strlen(got[HF_X_MAILER][0]->value), false);
	if (n[HF_USER_AGENT])
		tokens_text(t, "H*UA:", got[HF_USER_AGENT][0]->value,
			    strlen(got[HF_USER_AGENT][0]->value), false);
	for (size_t k = 0; k < n[HF_RECEIVED]; k++)
		received_header(t, got[HF_RECEIVED][k]->value);
}

/* uri_host - the host part of a URI (after its first "://"), or NULL */
static const char *uri_host(const char *uri, size_t *len)
{
	const char *p = uri;

	/* each ':' by strchr, not strstr for "://": a scheme's colon is a
	 * few bytes in, where strstr's set-up cost more than the search */
	while ((p = strchr(p, ':')) != NULL && !(p[1] == '/' && p[2] == '/'))
		p++;
	if (p == NULL)
		return NULL;
	p += 3;
	size_t n = strcspn(p, "/?#:");
	const char *at = memchr(p, '@', n);
	if (at) {
		n -= (size_t)(at + 1 - p);
		p = at + 1;
	}
	*len = n;
	return n ? p : NULL;
}

/* tokens_of - see tokens.h */
void tokens_of(struct msg *m, struct tokens *t)
{
	size_t n, len;

	header_tokens(t, m);
	const char *const *uris = msg_uris(m, &n);
	struct pfx ud;
	pfx_set(&ud, "UD:", 3);
	const char *last = NULL;
	size_t lastlen = 0;
	for (size_t i = 0; i < n && !t->capped; i++) {
		const char *host = uri_host(uris[i], &len);
		char low[TOKEN_TEXT_MAX];
		if (host == NULL || len >= sizeof(low))
			continue;
		/* the host of the URI before, as written: its tokens are in */
		if (len == lastlen && memcmp(host, last, len) == 0)
			continue;
		last = host;
		lastlen = len;
		for (size_t k = 0; k < len; k++)
			low[k] = lower(host[k]);
		/* a host met before (a newsletter links one host tens of
		 * times): UD:host is in the set, and so is each parent, as
		 * add_domains added them all (the set was not full: the loop
		 * goes on only while it is not capped); no other token before
		 * the body starts with UD:, the header prefixes all with H */
		if (token_known(t, &ud, low, len))
			continue;
		add_domains(t, "UD:", low, len);
	}
	const char *body = msg_body_text(m, &len);
	if (body && !t->capped)
		tokens_text(t, "", body, len, true);
}
