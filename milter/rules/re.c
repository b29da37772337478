/*
 * re.c - the only file that includes pcre2.h.  Patterns are compiled with
 * PCRE2_UTF off (mail is bytes in many charsets) and JIT-compiled when the
 * platform allows.  A pattern that names a code point above 0xFF
 * (\x{0456}, [\x{2000}-\x{10FFFF}]) can only mean characters, so it is
 * compiled with PCRE2_UTF and matches parapet's decoded text (UTF-8) as
 * characters, as SpamAssassin's Perl does; PCRE2_MATCH_INVALID_UTF lets
 * it run over bytes that are not UTF-8 (they match nothing but
 * themselves) instead of failing.  The match context carrying the limits is created once
 * and only read afterwards, so it is shared by all threads.
 *
 * A rule's regex in byte mode whose first byte PCRE2 cannot look for
 * alone is compiled behind a look-ahead of its first two bytes
 * (reqlit_lead, with_lead): the same matches, but a start position is
 * dropped after two bytes instead of after every branch was tried there
 * (SpamAssassin's __FILL_THIS_FORM_SHORT2: 68 -> 28 ns a byte).
 *
 * Limits: RE_MATCH_LIMIT backtracking steps and RE_DEPTH_LIMIT bytes of
 * backtracking heap per match; a pattern such as (a+)+$ on 100 KB of "a"
 * then fails fast with RE_LIMIT instead of running for minutes.
 */
#include "autoconfig.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules/re.h"
#include "rules/reqlit.h"
#include "base/util.h"

#define RE_MATCH_LIMIT 200000
#define RE_DEPTH_LIMIT 10000	/* KB of heap, interpreter only */
/* with_lead: a look-ahead admitting more pairs costs more than it saves
 * (callgrind, the stock set over 200 corpus messages: 0.05 -15.6%, 0.1
 * -15.8%, 0.2 -15.5%, 0.5 -13% of rules_eval's instructions) */
#define LEAD_SHARE 0.1
/* a pattern of LEAD3_PATTERN bytes or more is led by its first three
 * bytes instead of two when that look-ahead is at most LEAD3_GROWTH times
 * as long: each start tried costs such a pattern much more than the
 * longer look-ahead does.  Measured on the stock set's 302 patterns led
 * by two bytes, over the body texts of 200 corpus messages of median size
 * (3.4-4.5 KB): three bytes for every pattern cost 714 ns a byte in all
 * against 588 with two; __FILL_THIS_FORM_SHORT2 (2,767 bytes, its three
 * bytes 2.6 times as long as its two) went from 35.7 to 22.3 ns a byte,
 * while every pattern whose three bytes grow more than 3 times ran slower
 * with them, the worst at 120 ns a byte against 11.4. */
#define LEAD3_PATTERN 2000
#define LEAD3_GROWTH 3

struct re {
	pcre2_code *code;
	pcre2_code *tail;	/* with_tail: searched first, or NULL */
	bool jit;
	bool limitable;		/* compiled with PCRE2_USE_OFFSET_LIMIT */
	size_t behinds;		/* look-behinds in the pattern, or more */
	int lit;		/* the pattern is this one byte (-1: it is not) */
	struct re_set *set;	/* or a set of fixed strings (NULL: it is not) */
	/* PCRE2_INFO_MINLENGTH: a match consumes at least this many
	 * characters (so bytes), 0 if PCRE2 found no bound.  PCRE2 fails
	 * a shorter rest of the subject at once too, but only once its
	 * code runs: for a large regex on an empty header (REPTO_419_FRAUD's
	 * ~200 addresses on a missing Reply-To), code no longer in the
	 * caches, 2.6 µs a message by rdtsc */
	size_t minlen;
};

/*
 * A pattern that is only alternatives of fixed strings of bytes and byte
 * classes ((?:e|\xc3[\xa8-\xab]|\xc4[\x93\x95]), SpamAssassin's
 * __E_LIKE_LETTER, counted up to 320 times a message) is matched here, one
 * table lookup a byte, instead of by one PCRE2 call a match: PCRE2 tries
 * the start positions in order and, at each, the alternatives in order,
 * and the first that matches whole is the match, as set_search does.
 * Nothing else is accepted: no quantifier, group, anchor, dot, escape of
 * a letter or digit but \xHH, class negation, x flag, UTF mode, or
 * caseless byte above 0x7F (PCRE2's default tables fold ASCII letters
 * only: so does this).
 */
#define RE_SET_ALTS 32
#define RE_SET_POS 8

struct re_set {
	unsigned nalt;
	int first1;		/* the one byte every alternative starts with, or -1 */
	bool first[256];	/* a byte some alternative starts with */
	struct {
		unsigned n;	/* its length */
		uint64_t at[RE_SET_POS][4];	/* the bytes each position takes */
	} alt[];
};

struct re_scratch {
	pcre2_match_data *md;
	pcre2_match_context *mc;	/* a copy of match_ctx whose offset
					 * limit re_match_upto sets */
};

static pcre2_match_context *match_ctx;
static pthread_once_t match_ctx_once = PTHREAD_ONCE_INIT;

/* match_ctx_init - the shared, read-only match context */
static void match_ctx_init(void)
{
	match_ctx = pcre2_match_context_create(NULL);
	if (match_ctx == NULL)
		abort();
	pcre2_set_match_limit(match_ctx, RE_MATCH_LIMIT);
	pcre2_set_depth_limit(match_ctx, RE_DEPTH_LIMIT);
}

/* brace_value - the number in \x{...} or \o{...} at p (after the brace),
 * or 0 if malformed */
static unsigned long brace_value(const char *p, const char *end, int base)
{
	unsigned long v = 0;

	for (; p < end && *p != '}'; p++) {
		int d;
		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			return 0;
		if (d >= base || v > 0x10FFFF)
			return 0;
		v = v * (unsigned long)base + (unsigned long)d;
	}
	return p < end ? v : 0;
}

/* wants_utf - does the pattern name a code point above 0xFF? */
static bool wants_utf(const char *pattern, size_t len)
{
	const char *end = pattern + len;

	for (const char *p = pattern; p + 3 < end; p++) {
		if (*p != '\\')
			continue;
		if ((p[1] == 'x' || p[1] == 'o') && p[2] == '{' &&
		    brace_value(p + 3, end, p[1] == 'x' ? 16 : 8) > 0xFF)
			return true;
		p++;	/* the escaped character, even a backslash */
	}
	return false;
}

/* re_compile - compile with flags */
struct re *re_compile(const char *pattern, size_t len, const char *flags,
		      char **err)
{
	bool limited;

	return re_compile_limited(pattern, len, flags, err, &limited);
}

/* is_limit - a PCRE2 compile error that is a limit, not a syntax error */
static bool is_limit(int ec)
{
	switch (ec) {
	case PCRE2_ERROR_PATTERN_TOO_LARGE:
	case PCRE2_ERROR_HEAP_FAILED:
	case PCRE2_ERROR_LOOKBEHIND_TOO_COMPLICATED:
	case PCRE2_ERROR_PARENTHESES_NEST_TOO_DEEP:
	case PCRE2_ERROR_PATTERN_TOO_COMPLICATED:
		return true;
	default:
		return false;
	}
}

/* count_behinds - at least the number of look-behinds in the pattern:
 * every "(?<" before '=', '!' or '*' and every "(*" (the verbs' and the
 * alphabetic assertions' spellings), escaped or in a class or not (more
 * only widens re_lookbehind) */
static size_t count_behinds(const char *p, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i + 1 < len; i++) {
		if (p[i] != '(')
			continue;
		if (p[i + 1] == '*')
			n++;
		else if (p[i + 1] == '?' && i + 3 < len && p[i + 2] == '<' &&
			 (p[i + 3] == '=' || p[i + 3] == '!' || p[i + 3] == '*'))
			n++;
	}
	return n;
}

/* with_lead - code, or the pattern compiled again behind the look-ahead
 * of its first two bytes (reqlit_lead; three for a long pattern, above)
 * when PCRE2 has no first byte of its own to look for and the look-ahead
 * admits at most LEAD_SHARE of the pairs its first bytes start.  The matches are the same: every
 * match starts with a pair the look-ahead admits. */
static pcre2_code *with_lead(pcre2_code *code, const char *pattern, size_t len,
			     const char *compiled, size_t clen, const char *flags, uint32_t opts)
{
	uint32_t first = 0, all = 0;
	double share;
	int ec;
	PCRE2_SIZE off;

	if (pcre2_pattern_info(code, PCRE2_INFO_FIRSTCODETYPE, &first) != 0 || first != 0 ||
	    pcre2_pattern_info(code, PCRE2_INFO_ALLOPTIONS, &all) != 0 ||
	    (all & PCRE2_ANCHORED) || memchr(pattern, '\0', len) != NULL)
		return code;	/* reqlit_lead reads a C string */
	char *pat = xstrndup(pattern, len);
	char *lead = reqlit_lead(pat, flags, &share, false);
	if (lead == NULL || share > LEAD_SHARE) {
		free(lead);
		free(pat);
		return code;
	}
	if (len >= LEAD3_PATTERN) {
		double s3;
		char *lead3 = reqlit_lead(pat, flags, &s3, true);
		if (lead3 != NULL && strlen(lead3) <= LEAD3_GROWTH * strlen(lead)) {
			free(lead);
			lead = lead3;
		} else {
			free(lead3);
		}
	}
	free(pat);
	char *both = xasprintf("%s%.*s", lead, (int)clen, compiled);
	free(lead);
	pcre2_code *c2 = pcre2_compile((PCRE2_SPTR)both, strlen(both), opts, &ec, &off, NULL);
	free(both);
	if (c2 == NULL)
		return code;
	pcre2_code_free(code);
	return c2;
}

/*
 * The tail of a pattern.  A pattern whose matches may start at nearly any
 * byte, such as SpamAssassin's /(?:\b|\s)[_\W]{0,3}(?:\\\/|V)[_\W]{0,3}
 * [ij1!|l]...x?[_\W]{0,3}(?:\b|\s)/i, is tried by PCRE2 at every such
 * byte.  Its top-level items after the first few, "(?:\\\/|V)[_\W]{0,3}...",
 * form a pattern PCRE2 finds by its first byte (a v or a backslash): every
 * match of the whole holds a match of that tail, where those items
 * matched, in the same subject (assertions and \b see the same bytes
 * around it).  So a subject without a match of the tail has none of the
 * whole, and re_match_upto searches the tail first (the body texts of 200
 * median-size corpus messages: 5.05 -> 0.7 ns a byte for that pattern).
 * The tail is the shortest one (at most TAIL_DROP items dropped) whose
 * first byte PCRE2 knows or is one of at most TAIL_BITS, for a pattern
 * whose own first byte is neither.  Patterns the split does not follow
 * get none: a top-level |, an option setting at top level, x mode, and
 * anywhere back-references, recursion, conditionals, \Q, \E, \K, \G, \c,
 * comments, x options, callouts and verbs (the tail alone would mean
 * something else, or the split would misread it), and a quantifier
 * after a quantifier.
 */
#define TAIL_BITS 16
#define TAIL_DROP 8

/* tail_forbidden - syntax after which a tail may not mean what it did */
static bool tail_forbidden(const char *p, const char *end)
{
	for (; p < end; p++) {
		if (*p == '\\' && p + 1 < end) {
			char c = p[1];
			if ((c >= '1' && c <= '9') || c == 'g' || c == 'k' || c == 'Q' || c == 'K' ||
			    c == 'G' || c == 'c' || c == 'E')
				return true;
			p++;
		} else if (*p == '(' && p + 1 < end && p[1] == '?') {
			/* inline options with x: # comments may hold ( and ) */
			for (const char *q = p + 2; q < end && strchr("imnsxJU^-", *q) && *q; q++)
				if (*q == 'x')
					return true;
			if (p + 2 < end && (p[2] == 'R' || p[2] == '&' || p[2] == '(' || p[2] == 'C' ||
			    p[2] == '#' || p[2] == '+' || (p[2] >= '0' && p[2] <= '9') ||
			    (p[2] == '-' && p + 3 < end && p[3] >= '0' && p[3] <= '9') ||
			    (p[2] == 'P' && p + 3 < end && (p[3] == '=' || p[3] == '>'))))
				return true;
		} else if (*p == '(' && p + 1 < end && p[1] == '*') {
			return true;	/* (*VERB) */
		}
	}
	return false;
}

/* re_class_end - see re.h */
const char *re_class_end(const char *p, const char *end)
{
	p++;
	if (p < end && *p == '^')
		p++;
	if (p < end && *p == ']')	/* a first ] is a member */
		p++;
	while (p < end && *p != ']') {
		const char *posix = reqlit_posix_end(p, end);	/* [:alpha:] */
		if (*p == '\\' && p + 1 < end)
			p += 2;
		else if (posix != NULL)
			p = posix;
		else
			p++;
	}
	return p < end ? p + 1 : NULL;
}

/* re_group_end - see re.h */
const char *re_group_end(const char *p, const char *end)
{
	int depth = 0;

	while (p < end) {
		if (*p == '\\') {
			p += 2;
		} else if (*p == '[') {
			if ((p = re_class_end(p, end)) == NULL)
				return NULL;
		} else if (*p == '(') {
			depth++;
			p++;
		} else if (*p == ')') {
			p++;
			if (--depth == 0)
				return p;
		} else {
			p++;
		}
	}
	return NULL;
}

/* re_escape_end - see re.h */
const char *re_escape_end(const char *p, const char *end)
{
	if (p + 1 >= end)
		return NULL;
	char c = p[1];
	const char *q = p + 2;
	if ((c == 'x' || c == 'o' || c == 'p' || c == 'P' || c == 'N') && q < end && *q == '{') {
		while (q < end && *q != '}')
			q++;
		return q < end ? q + 1 : NULL;
	}
	if (c == 'x') {
		for (int k = 0; k < 2 && q < end && strchr("0123456789abcdefABCDEF", *q) && *q; k++)
			q++;
	} else if (c == '0') {
		for (int k = 0; k < 2 && q < end && *q >= '0' && *q <= '7'; k++)
			q++;
	} else if ((c == 'p' || c == 'P') && q < end) {
		q++;	/* \pL */
	}
	return q;
}

/* re_quantifier_end - see re.h */
const char *re_quantifier_end(const char *p, const char *end)
{
	const char *q = p;

	if (q < end && (*q == '*' || *q == '+' || *q == '?')) {
		q++;
	} else if (q < end && *q == '{') {
		const char *r = q + 1;
		size_t d = 0;
		while (r < end && *r >= '0' && *r <= '9')
			r++, d++;
		if (d && r < end && *r == ',') {
			r++;
			while (r < end && *r >= '0' && *r <= '9')
				r++;
		}
		if (!d || r >= end || *r != '}')
			return p;	/* a literal { */
		q = r + 1;
	} else {
		return p;
	}
	if (q < end && (*q == '?' || *q == '+'))
		q++;
	return q;
}

/* item_end - past the top-level item at p with its quantifier, or NULL
 * where the split stops (|, an option setting, a stray parenthesis) */
static const char *item_end(const char *p, const char *end)
{
	const char *q;

	if (*p == '|' || *p == ')')
		return NULL;
	if (*p == '(') {
		if (p + 2 < end && p[1] == '?') {	/* (?i) sets options for the rest */
			const char *r = p + 2;
			while (r < end && (strchr("imnsxJU-^", *r) != NULL) && *r != '\0')
				r++;
			if (r > p + 2 && r < end && *r == ')')
				return NULL;
		}
		q = re_group_end(p, end);
	} else if (*p == '[') {
		q = re_class_end(p, end);
	} else if (*p == '\\') {
		q = re_escape_end(p, end);
	} else {
		q = p + 1;
	}
	return q ? re_quantifier_end(q, end) : NULL;
}

/* start_known - does PCRE2 know a match's first byte, or that it is one of
 * at most TAIL_BITS, or at a line's start? */
static bool start_known(const pcre2_code *code)
{
	uint32_t type = 0;
	const uint8_t *bits = NULL;

	if (pcre2_pattern_info(code, PCRE2_INFO_FIRSTCODETYPE, &type) != 0)
		return false;
	if (type != 0)
		return true;
	if (pcre2_pattern_info(code, PCRE2_INFO_FIRSTBITMAP, &bits) != 0 || bits == NULL)
		return false;
	int n = 0;
	for (int i = 0; i < 32; i++)
		n += __builtin_popcount(bits[i]);
	return n <= TAIL_BITS;
}

/* with_tail - the tail of pattern (compiled with opts) to search first, or
 * NULL */
static pcre2_code *with_tail(const pcre2_code *code, const char *pattern, size_t len,
			     const char *flags, uint32_t opts)
{
	const char *end = pattern + len, *starts[TAIL_DROP + 1];
	size_t n = 0;
	int ec;
	PCRE2_SIZE off;

	if ((flags && strchr(flags, 'x')) || start_known(code) || tail_forbidden(pattern, end))
		return NULL;
	/* every item is read: a | at top level anywhere makes the pattern
	 * an alternation; a quantifier at an item's start repeats the one
	 * before */
	for (const char *p = pattern; p < end;) {
		const char *q = item_end(p, end);
		if (q == NULL || re_quantifier_end(p, end) != p)
			return NULL;
		if (n <= TAIL_DROP)
			starts[n++] = p;
		p = q;
	}
	if (n < 2)
		return NULL;	/* no item to drop */
	for (size_t i = 1; i < n; i++) {
		pcre2_code *t = pcre2_compile((PCRE2_SPTR)starts[i], (size_t)(end - starts[i]), opts,
					      &ec, &off, NULL);
		if (t == NULL)
			continue;
		if (start_known(t)) {
			if (pcre2_jit_compile(t, PCRE2_JIT_COMPLETE) != 0) {
				pcre2_code_free(t);
				return NULL;
			}
			return t;
		}
		pcre2_code_free(t);
	}
	return NULL;
}

/* hex2 - the byte of two hex digits at p, or -1 */
static int hex2(const char *p, const char *end)
{
	int v = 0;

	if (end - p < 2)
		return -1;
	for (int k = 0; k < 2; k++) {
		int d = c_hexval((unsigned char)p[k]);
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* set_byte - one byte of a set pattern at *p (a plain byte, \xHH or a
 * backslashed punctuation byte), *p moved past it; -1 if it is none */
static int set_byte(const char **p, const char *end, const char *special)
{
	unsigned char c = (unsigned char)**p;

	if (c != '\\') {
		if (strchr(special, c) != NULL || c == '\0')
			return -1;
		(*p)++;
		return c;
	}
	if (end - *p < 2)
		return -1;
	unsigned char e = (unsigned char)(*p)[1];
	if (e == 'x') {
		int v = hex2(*p + 2, end);
		if (v >= 0)
			*p += 4;
		return v;
	}
	if (c_alnum(e) || e >= 0x80 || e < 0x20)
		return -1;
	*p += 2;
	return e;
}

/* set_parse - the set of pattern[0, len), or NULL if it is not one */
static struct re_set *set_parse(const char *pattern, size_t len, bool caseless)
{
	const char *p = pattern, *end = pattern + len;

	if (len >= 4 && memcmp(p, "(?:", 3) == 0 && end[-1] == ')') {
		p += 3;
		end--;
	}
	struct re_set *st = xcalloc(1, sizeof(*st) + RE_SET_ALTS * sizeof(st->alt[0]));
	for (;;) {
		if (st->nalt == RE_SET_ALTS)
			goto no;
		unsigned a = st->nalt++, n = 0;
		while (p < end && *p != '|') {
			uint64_t *at = st->alt[a].at[n];
			if (n == RE_SET_POS)
				goto no;
			if (*p == '[') {	/* bytes and ranges, no negation */
				p++;
				if (p < end && (*p == '^' || *p == ']'))
					goto no;
				while (p < end && *p != ']') {
					if (*p == '[')
						goto no;	/* [:alpha:] and the like */
					int lo = set_byte(&p, end, "");
					if (lo < 0)
						goto no;
					int hi = lo;
					if (p + 1 < end && *p == '-' && p[1] != ']') {
						p++;
						hi = set_byte(&p, end, "[");
						if (hi < lo)
							goto no;
					}
					for (int c = lo; c <= hi; c++)
						at[c >> 6] |= 1ull << (c & 63);
				}
				if (p == end)
					goto no;
				p++;
			} else {
				int c = set_byte(&p, end, "^$.|?*+()[]{}");
				if (c < 0)
					goto no;
				at[c >> 6] |= 1ull << (c & 63);
			}
			if (p < end && strchr("?*+{", *p) != NULL)
				goto no;	/* a quantifier */
			for (int c = 'a'; caseless && c <= 'z'; c++) {
				uint64_t lo = at[c >> 6] >> (c & 63) & 1, up = at[(c - 32) >> 6] >> ((c - 32) & 63) & 1;
				at[c >> 6] |= up << (c & 63);
				at[(c - 32) >> 6] |= lo << ((c - 32) & 63);
			}
			if (caseless && (at[2] | at[3]) != 0)
				goto no;	/* a byte PCRE2 folds by its tables */
			n++;
		}
		if (n == 0)
			goto no;	/* an empty alternative matches "" */
		st->alt[a].n = n;
		for (int c = 0; c < 256; c++)
			st->first[c] |= st->alt[a].at[0][c >> 6] >> (c & 63) & 1;
		if (p == end)
			break;
		p++;	/* '|' */
	}
	st->first1 = -1;
	for (int c = 0, n = 0; c < 256; c++)
		if (st->first[c])
			st->first1 = n++ == 0 ? c : -1;
	/* one alternative led by a class: PCRE2's own search of its start
	 * bitmap is as fast, and the set gains nothing where it runs once */
	if (st->nalt > 1 || st->first1 >= 0)	/* kept as large as it is */
		return xrealloc(st, sizeof(*st) + st->nalt * sizeof(st->alt[0]));
no:
	free(st);
	return NULL;
}

/* set_search - the first match of st starting in [offset, to) of s */
static bool set_search(const struct re_set *st, const unsigned char *s, size_t len, size_t offset,
		       size_t to, size_t *start, size_t *end)
{
	for (size_t p = offset; p < to; p++) {
		if (st->first1 >= 0) {	/* memchr to each place it may start */
			const unsigned char *q = memchr(s + p, st->first1, to - p);
			if (q == NULL)
				return false;
			p = (size_t)(q - s);
		} else if (!st->first[s[p]]) {
			continue;
		}
		for (unsigned a = 0; a < st->nalt; a++) {
			unsigned n = st->alt[a].n, k = 1;
			if (n > len - p)
				continue;
			while (k < n && (st->alt[a].at[k][s[p + k] >> 6] >> (s[p + k] & 63) & 1))
				k++;
			if (k == n && (st->alt[a].at[0][s[p] >> 6] >> (s[p] & 63) & 1)) {
				*start = p;
				*end = p + n;
				return true;
			}
		}
	}
	return false;
}

/*
 * Copies as subroutine calls.  PCRE2 (as Debian builds it, LINK_SIZE 2)
 * refuses a pattern whose compiled form passes 64 KB, where Perl, which
 * has no such limit, runs it; two shapes of SpamAssassin's replace_tag
 * rules get there by copies.  A group repeated {n,m} is compiled n or m
 * times: __FILL_THIS_FORM_LONG1 and LONG2, (?:<tags>){5}, come to five
 * copies of ~14 KB.  And a tag used many times is written out each time:
 * __HOURS_DEADLINE spells words in letter tags (<E>, a ~1 KB alternation
 * of the letter and its look-alikes), each letter as often as it occurs.
 * (?:B){n,m} matches what (?<p>B)(?&p){n-1,m-1} matches, and a group
 * written twice matches what two calls of one defined copy match (a
 * DEFINE group at the end): since 10.30 a PCRE2 call is not atomic, it
 * backtracks as the copy would, and it runs with the options in force
 * where its group is defined.  What tells them apart is captures (a
 * group more; a call's captures revert after it) and options, so
 * patterns that read captures (back-references, numbered, relative or
 * named calls, conditions, branch resets) or set options inside, and
 * copies in a look-behind, are left alone, as are x mode, \Q and comments
 * (the scan below would misread them) and possessive repeats (atomic as a
 * whole).  The rewrite saving the most bytes goes first; a pattern still
 * too large gets the next, up to FACTOR_MAX.
 */
#define FACTOR_MAX 48
#define FACTOR_GROUPS 4096	/* groups a pattern may have to be rewritten */
#define FACTOR_DUP_MIN 32	/* shorter copies are left as they are */

struct fgroup {
	size_t open, close;	/* the ( and the ) */
	size_t q;		/* past its quantifier (close + 1: none) */
	bool behind;		/* a look-behind, or inside one */
	bool plain;		/* (?: ... ) */
	bool ours;		/* a definition or call of an earlier rewrite */
};

/* factor_scan - the groups of p, in order of their ) ; false when p has
 * what the rewrite must not touch */
static bool factor_scan(const char *p, size_t len, struct fgroup *g, size_t *ng)
{
	size_t open[256], n = 0, depth = 0;
	bool behind[256], plain[256], ours[256];

	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		if (c == '\\') {
			if (i + 1 >= len)
				return false;
			char e = p[i + 1];
			if ((e >= '1' && e <= '9') || e == 'g' || e == 'k' || e == 'Q' || e == 'E')
				return false;	/* references and quoting */
			i++;
			continue;
		}
		if (c == '[') {	/* a class: to its closing ] */
			const char *e = re_class_end(p + i, p + len);
			if (e == NULL)
				return false;
			i = (size_t)(e - p) - 1;
			continue;
		}
		if (c == '(') {
			if (depth >= sizeof(open) / sizeof(open[0]))
				return false;
			bool lb = depth > 0 && behind[depth - 1], pl = false, our = false;
			if (i + 1 < len && p[i + 1] == '*')
				return false;	/* verbs */
			if (i + 1 < len && p[i + 1] == '?') {
				const char *t = p + i + 2;
				size_t left = len - i - 2;
				if ((left >= 4 && memcmp(t, "<pPf", 4) == 0) ||
				    (left >= 4 && memcmp(t, "&pPf", 4) == 0) ||
				    (left >= 8 && memcmp(t, "(DEFINE)", 8) == 0)) {
					our = true;
				} else if (left >= 1 && *t == ':') {
					pl = true;
				} else if (left >= 2 && (*t == '=' || *t == '!' || *t == '>' ||
							 (*t == '<' && (t[1] == '=' || t[1] == '!')))) {
					lb = lb || *t == '<';
				} else {
					return false;	/* names, calls, options, conditions ... */
				}
			}
			behind[depth] = lb;
			plain[depth] = pl;
			ours[depth] = our;
			open[depth++] = i;
			continue;
		}
		if (c != ')')
			continue;
		if (depth == 0 || n >= FACTOR_GROUPS)
			return false;
		depth--;
		const char *qe = re_quantifier_end(p + i + 1, p + len);
		if (qe > p + i + 1 && qe[-1] == '+' && qe - 1 > p + i + 1)
			return false;	/* a possessive repeat */
		g[n++] = (struct fgroup){ open[depth], i, (size_t)(qe - p), behind[depth], plain[depth],
					  ours[depth] };
	}
	*ng = n;
	return depth == 0;
}

/* factor_repeat - the bounded repeat of a plain group saving the most
 * bytes made calls, into out; its saving, 0 if none */
static size_t factor_repeat(const char *p, size_t len, const struct fgroup *g, size_t ng, int k,
			    struct buf *out)
{
	size_t best = 0, at = 0;
	unsigned long bn = 0, bm = 0;
	bool binf = false, blazy = false;

	for (size_t i = 0; i < ng; i++) {
		const char *q = p + g[i].close + 1;
		if (!g[i].plain || g[i].behind || g[i].q == g[i].close + 1 || *q != '{')
			continue;
		char *end;
		unsigned long n = strtoul(q + 1, &end, 10), m = n;
		bool inf = false;
		if (*end == ',') {
			char *e2;
			m = strtoul(end + 1, &e2, 10);
			inf = e2 == end + 1;
			end = e2;
		}
		if (*end != '}' || (inf ? n < 2 : m < 2) || m > 1000)
			continue;
		size_t save = (g[i].close + 1 - g[i].open) * ((inf ? n : m) - 1);
		if (save > best) {
			best = save;
			at = i;
			bn = n;
			bm = m;
			binf = inf;
			blazy = p[g[i].q - 1] == '?';
		}
	}
	if (best == 0)
		return 0;
	const struct fgroup *b = &g[at];
	buf_append(out, p, b->open);
	if (bn == 0)
		buf_puts(out, "(?:");
	buf_printf(out, "(?<pPf%d>%.*s)(?&pPf%d)", k, (int)(b->close - b->open - 3), p + b->open + 3,
		   k);
	unsigned long n1 = bn ? bn - 1 : 0;
	if (binf)
		buf_printf(out, "{%lu,}", n1);
	else
		buf_printf(out, "{%lu,%lu}", n1, bm - 1);
	if (blazy)
		buf_putc(out, '?');
	if (bn == 0)
		buf_puts(out, blazy ? ")??" : ")?");
	buf_append(out, p + b->q, len - b->q);
	return best;
}

/* factor_dup - the plain group written out most often (by bytes) made a
 * definition at the end, each copy a call of it, into out; its saving */
static size_t factor_dup(const char *p, size_t len, const struct fgroup *g, size_t ng, int k,
			 struct buf *out)
{
	size_t best = 0, at = 0;

	for (size_t i = 0; i < ng; i++) {
		size_t l = g[i].close + 1 - g[i].open, count = 0;
		if (!g[i].plain || g[i].behind || l < FACTOR_DUP_MIN || l * ng <= best)
			continue;
		for (size_t j = 0; j < ng; j++)
			count += !g[j].behind && g[j].close + 1 - g[j].open == l &&
				 memcmp(p + g[j].open, p + g[i].open, l) == 0;
		if (count >= 2 && l * (count - 1) > best) {
			best = l * (count - 1);
			at = i;
		}
	}
	if (best == 0)
		return 0;
	size_t l = g[at].close + 1 - g[at].open, from = 0;
	const char *text = p + g[at].open;
	/* the copies, left to right; one inside another cannot be (equal
	 * lengths), one inside a look-behind is not taken */
	for (size_t j = 0; j < ng; j++) {
		if (g[j].behind || g[j].close + 1 - g[j].open != l || g[j].open < from ||
		    memcmp(p + g[j].open, text, l) != 0)
			continue;
		buf_append(out, p + from, g[j].open - from);
		buf_printf(out, "(?&pPf%d)", k);
		from = g[j].close + 1;
	}
	buf_append(out, p + from, len - from);
	/* into the DEFINE group at the end, or a new one */
	if (out->len > 1 && memcmp(out->data + out->len - 2, "))", 2) == 0 &&
	    memmem(out->data, out->len, "(?(DEFINE)", 10) != NULL) {
		out->len--;	/* reopen it */
		buf_printf(out, "(?<pPf%d>%.*s))", k, (int)l, text);
	} else {
		buf_printf(out, "(?(DEFINE)(?<pPf%d>%.*s))", k, (int)l, text);
	}
	return best;
}

/* factor_compile - pcre2_compile of pattern with its copies as calls,
 * while the compiled form is too large; NULL if it stays so (*out unset) */
static pcre2_code *factor_compile(const char *pattern, size_t len, uint32_t opts, char **out,
				  bool all)
{
	struct fgroup *g = xmalloc(FACTOR_GROUPS * sizeof(*g));
	char *cur = xstrndup(pattern, len);
	pcre2_code *code = NULL;
	int ec, k;
	PCRE2_SIZE off;

	if (opts & PCRE2_EXTENDED || memchr(pattern, '\0', len) != NULL)
		goto out;
	for (k = 1; k <= FACTOR_MAX; k++) {
		size_t ng, cl = strlen(cur);
		if (!factor_scan(cur, cl, g, &ng))
			break;
		struct buf r, d;
		buf_init(&r);
		buf_init(&d);
		size_t sr = factor_repeat(cur, cl, g, ng, k, &r), sd = factor_dup(cur, cl, g, ng, k, &d);
		if (sr == 0 && sd == 0)
			break;
		free(cur);
		cur = sr >= sd ? r.data : d.data;
		free(sr >= sd ? d.data : r.data);
		if (all)
			continue;	/* every rewrite there is (re_compile_calls) */
		code = pcre2_compile((PCRE2_SPTR)cur, strlen(cur), opts, &ec, &off, NULL);
		if (code != NULL) {
			*out = cur;
			cur = NULL;
			break;
		}
		if (ec != PCRE2_ERROR_PATTERN_TOO_LARGE)
			break;
	}
	if (all && k > 1 && (code = pcre2_compile((PCRE2_SPTR)cur, strlen(cur), opts, &ec, &off,
						  NULL)) != NULL) {
		*out = cur;
		cur = NULL;
	}
out:
	free(cur);
	free(g);
	return code;
}

/*
 * A body rule's final $.  SpamAssassin matches a body rule against each
 * line on its own, the line with its line break, so a $ there also holds
 * after the break, at the end of the subject: __FILL_THIS_FORM_PARTIAL's
 * (?:[-=_.,:;*\s]|=20){1,4}$ takes the break with \s.  Searched over the
 * whole text (match.c), the place after the break is the next line's
 * start, where $ does not hold.  A $ that ends the pattern (nothing but
 * closing parentheses after it) becomes (?:$|(?<=\n)) when every match
 * takes at least a byte (PCRE2's minimum length): the break before the
 * place is then inside the match, as in the line alone (a match that
 * crosses a break is searched line by line anyway, match.c).  A $ with
 * more after it, and patterns with \Q or comments, stay as written.
 */
static bool dollar_final(const char *p, size_t len, size_t k);

static char *line_end_dollar(const char *p, size_t len)
{
	struct buf b;
	size_t from = 0;

	buf_init(&b);
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\\') {
			if (i + 1 < len && (p[i + 1] == 'Q' || p[i + 1] == 'E'))
				goto none;
			i++;
			continue;
		}
		if (p[i] == '[') {
			const char *e = re_class_end(p + i, p + len);
			if (e == NULL)
				goto none;
			i = (size_t)(e - p) - 1;
			continue;
		}
		if (p[i] == '(' && i + 2 < len && p[i + 1] == '?' && p[i + 2] == '#')
			goto none;
		if (p[i] != '$' || !dollar_final(p, len, i + 1))
			continue;
		buf_append(&b, p + from, i - from);
		buf_puts(&b, "(?:$|(?<=\\n))");
		from = i + 1;
	}
	if (b.data == NULL)
		return NULL;
	buf_append(&b, p + from, len - from);
	return b.data;
none:
	buf_free(&b);
	return NULL;
}

/* dollar_final - is nothing matched after p[k]: only the ends of
 * alternatives and groups (no quantifier on them) up to the end? */
static bool dollar_final(const char *p, size_t len, size_t k)
{
	while (k < len) {
		if (p[k] == ')') {
			k++;
			continue;
		}
		if (p[k] != '|')
			return false;
		/* the other alternatives: to the ) that closes this group */
		int depth = 0;
		for (k++; k < len; k++) {
			if (p[k] == '\\') {
				k++;
			} else if (p[k] == '[') {
				const char *e = re_class_end(p + k, p + len);
				if (e == NULL)
					return false;
				k = (size_t)(e - p) - 1;
			} else if (p[k] == '(') {
				depth++;
			} else if (p[k] == ')' && depth-- == 0) {
				break;
			}
		}
	}
	return true;
}

/* compile_text - pcre2_compile of the pattern, with its copies as calls
 * when it is too large (*factored: the text compiled then, else NULL) */
static pcre2_code *compile_text(const char *p, size_t len, uint32_t opts, int *ec,
				PCRE2_SIZE *off, char **factored, bool calls)
{
	*factored = NULL;
	pcre2_code *code = calls ? factor_compile(p, len, opts, factored, true) : NULL;
	if (code == NULL)
		code = pcre2_compile((PCRE2_SPTR)p, len, opts, ec, off, NULL);
	if (code == NULL && *ec == PCRE2_ERROR_PATTERN_TOO_LARGE)
		code = factor_compile(p, len, opts, factored, false);
	return code;
}

/* compile - re_compile_limited; jit: also JIT-compile (worth it only
 * for a regex that runs many times) */
static struct re *compile(const char *pattern, size_t len, const char *flags, char **err,
			  bool *limited, bool jit, bool calls)
{
	uint32_t opts = 0;
	int ec;
	PCRE2_SIZE off;
	bool lines = false;

	*limited = false;
	pthread_once(&match_ctx_once, match_ctx_init);
	for (const char *f = flags; f && *f; f++) {
		switch (*f) {
		case 'i': opts |= PCRE2_CASELESS; break;
		case 'm': opts |= PCRE2_MULTILINE; break;
		case 's': opts |= PCRE2_DOTALL; break;
		case 'x': opts |= PCRE2_EXTENDED; break;
		case 'g': case 'o': break;
		case 'L': lines = true; break;	/* parapet's: a body rule (line_end_dollar) */
		default:
			*err = xasprintf("unknown regex flag '%c'", *f);
			return NULL;
		}
	}
	if (wants_utf(pattern, len))
		opts |= PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
	/* a rule's regex may be given an offset limit (re_match_upto); the
	 * option only allows one, it changes no match */
	if (jit)
		opts |= PCRE2_USE_OFFSET_LIMIT;
	/* the text compiled: the pattern, or it with a final $ that holds
	 * after a line break, and/or with its copies as calls */
	char *dollar = lines ? line_end_dollar(pattern, len) : NULL, *factored = NULL;
	const char *text = dollar ? dollar : pattern;
	size_t tlen = dollar ? strlen(dollar) : len;
	pcre2_code *code = compile_text(text, tlen, opts, &ec, &off, &factored, calls);
	uint32_t min = 0;
	if (dollar != NULL && (code == NULL ||
			       (pcre2_pattern_info(code, PCRE2_INFO_MINLENGTH, &min) == 0 && min == 0))) {
		pcre2_code_free(code);	/* an empty match could take $ at a line's start */
		free(factored);
		free(dollar);
		dollar = NULL;
		text = pattern;
		tlen = len;
		code = compile_text(text, tlen, opts, &ec, &off, &factored, calls);
	}
	if (factored != NULL) {
		text = factored;
		tlen = strlen(factored);
	}
	*limited = code == NULL && is_limit(ec);
	if (code == NULL) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(ec, msg, sizeof(msg));
		*err = xasprintf("bad regex at offset %zu: %s", (size_t)off,
				 (const char *)msg);
		free(dollar);
		return NULL;
	}
	pcre2_code *tail = NULL;
	if (jit && (opts & PCRE2_UTF) == 0) {
		/* a tail of the text compiled (none with calls: a tail would
		 * lose their groups); the look-ahead from the pattern as
		 * written, whose matches start where the text's do */
		if (factored == NULL)
			tail = with_tail(code, text, tlen, flags,
					 opts & ~(uint32_t)PCRE2_USE_OFFSET_LIMIT);
		code = with_lead(code, pattern, len, text, tlen, flags, opts);
	}
	free(factored);
	free(dollar);
	struct re *re = xcalloc(1, sizeof(*re));
	re->code = code;
	re->jit = jit && pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
	if (re->jit)
		re->tail = tail;
	else
		pcre2_code_free(tail);
	re->limitable = jit;
	uint32_t minlen = 0;
	if (pcre2_pattern_info(code, PCRE2_INFO_MINLENGTH, &minlen) == 0)
		re->minlen = minlen;
	re->behinds = count_behinds(pattern, len);
	/* /e/ (SpamAssassin's __LOWER_E, counted up to 230 times): each
	 * match a memchr instead of a PCRE2 call */
	unsigned char c = len == 1 ? (unsigned char)pattern[0] : 0;
	re->lit = (c >= '0' && c <= '9') ||
		  ((c | 0x20) >= 'a' && (c | 0x20) <= 'z' && !(opts & PCRE2_CASELESS)) ? c : -1;
	if (jit && re->lit < 0 && !(opts & (PCRE2_UTF | PCRE2_EXTENDED)))
		re->set = set_parse(pattern, len, opts & PCRE2_CASELESS);
	return re;
}

/* re_compile_limited - compile with flags, telling limits from errors */
struct re *re_compile_limited(const char *pattern, size_t len, const char *flags,
			      char **err, bool *limited)
{
	return compile(pattern, len, flags, err, limited, true, false);
}

/* re_compile_calls - see re.h */
struct re *re_compile_calls(const char *pattern, size_t len, const char *flags, char **err)
{
	bool limited;

	return compile(pattern, len, flags, err, &limited, true, true);
}

/* re_compile_once - see re.h */
struct re *re_compile_once(const char *pattern, size_t len, const char *flags, char **err)
{
	bool limited;

	return compile(pattern, len, flags, err, &limited, false, false);
}

/* re_free - release */
struct re *re_free(struct re *re)
{
	if (re) {
		pcre2_code_free(re->code);
		pcre2_code_free(re->tail);
		free(re->set);
		free(re);
	}
	return NULL;
}

/* re_scratch_new - match data for one message */
struct re_scratch *re_scratch_new(void)
{
	struct re_scratch *s = xcalloc(1, sizeof(*s));

	pthread_once(&match_ctx_once, match_ctx_init);
	s->md = pcre2_match_data_create(1, NULL);
	s->mc = pcre2_match_context_copy(match_ctx);
	if (s->md == NULL || s->mc == NULL)
		abort();
	return s;
}

/* re_scratch_free - release */
struct re_scratch *re_scratch_free(struct re_scratch *s)
{
	if (s) {
		pcre2_match_data_free(s->md);
		pcre2_match_context_free(s->mc);
		free(s);
	}
	return NULL;
}

/* re_match - bounded search */
enum re_result re_match(const struct re *re, const char *subject, size_t len,
			size_t offset, struct re_scratch *s, size_t *start,
			size_t *end)
{
	return re_match_upto(re, subject, len, offset, RE_NO_LIMIT, s, start, end);
}

/* re_match_upto - bounded search for a match starting at most at limit */
enum re_result re_match_upto(const struct re *re, const char *subject, size_t len,
			     size_t offset, size_t limit, struct re_scratch *s,
			     size_t *start, size_t *end)
{
	pcre2_match_context *mc = match_ctx;

	if (re->lit >= 0 || re->set != NULL) {	/* memchr or the set find PCRE2's match */
		size_t to = len;
		if (limit != RE_NO_LIMIT && re->limitable) {
			if (limit < offset)	/* as below */
				return RE_NOMATCH;
			to = limit < len ? limit + 1 : len;
		}
		if (offset > len)
			return RE_ERROR;
		if (re->set != NULL)
			return set_search(re->set, (const unsigned char *)subject, len, offset, to, start, end)
				       ? RE_MATCH : RE_NOMATCH;
		const char *p = to > offset ? memchr(subject + offset, re->lit, to - offset) : NULL;
		if (p == NULL)
			return RE_NOMATCH;
		*start = (size_t)(p - subject);
		*end = *start + 1;
		return RE_MATCH;
	}
	if (limit != RE_NO_LIMIT && re->limitable) {
		if (limit < offset)	/* no match starts at offset or later */
			return RE_NOMATCH;
		pcre2_set_offset_limit(s->mc, limit);
		mc = s->mc;
	}
	if (subject == NULL)
		subject = "";
	if (offset > len)	/* pcre2_match's PCRE2_ERROR_BADOFFSET */
		return RE_ERROR;
	if (len - offset < re->minlen)
		return RE_NOMATCH;
	/* a search of the whole rest: none of the tail, none of the whole
	 * (a limit or an error of the tail's search decides nothing) */
	if (re->tail != NULL && mc == match_ctx &&
	    pcre2_jit_match(re->tail, (PCRE2_SPTR)subject, len, offset, 0, s->md, mc) ==
		    PCRE2_ERROR_NOMATCH)
		return RE_NOMATCH;
	/* JIT-compiled: PCRE2's fast path, without pcre2_match's checks of
	 * what the two lines above and re_compile already made sure of */
	int rc = re->jit ? pcre2_jit_match(re->code, (PCRE2_SPTR)subject, len, offset, 0, s->md, mc) :
			   pcre2_match(re->code, (PCRE2_SPTR)subject, len, offset, 0, s->md, mc);

	if (rc >= 0) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);
		*start = ov[0];
		*end = ov[1] < ov[0] ? ov[0] : ov[1];	/* \K can invert */
		return RE_MATCH;
	}
	switch (rc) {
	case PCRE2_ERROR_NOMATCH:
		return RE_NOMATCH;
	case PCRE2_ERROR_MATCHLIMIT:
	case PCRE2_ERROR_DEPTHLIMIT:
	case PCRE2_ERROR_HEAPLIMIT:
	case PCRE2_ERROR_JIT_STACKLIMIT:
		return RE_LIMIT;
	default:
		return RE_ERROR;
	}
}

/* re_lookbehind - how far back look-behinds reach: PCRE2 gives the
 * longest one, but nested ones add up ((?<=(?<=abcdef)d)e reaches 7
 * back, the longest is 6), so that times their count when there are
 * several */
size_t re_lookbehind(const struct re *re)
{
	uint32_t n = 0;

	if (pcre2_pattern_info(re->code, PCRE2_INFO_MAXLOOKBEHIND, &n) != 0)
		return RE_NO_LIMIT;
	if (re->behinds > 1 && n > 0) {
		if (re->behinds > ((size_t)1 << 24) / n)
			return RE_NO_LIMIT;	/* keeps the sums of prefilter.c small */
		return n * re->behinds;
	}
	return n;
}

/* re_direct - see re.h */
bool re_direct(const struct re *re)
{
	return re->lit >= 0 || re->set != NULL;
}

/* re_tailed - see re.h */
bool re_tailed(const struct re *re)
{
	return re->tail != NULL;
}

/* re_starts - see re.h */
bool re_starts(const struct re *re, uint64_t set[4])
{
	const pcre2_code *code = re->tail ? re->tail : re->code;
	uint32_t opts = 0, type = 0, unit = 0;
	const uint8_t *bits = NULL;

	memset(set, 0, 4 * sizeof(*set));
	if (re->lit >= 0) {
		set[re->lit >> 6] |= 1ull << (re->lit & 63);
		return true;
	}
	if (pcre2_pattern_info(code, PCRE2_INFO_ALLOPTIONS, &opts) != 0 ||
	    pcre2_pattern_info(code, PCRE2_INFO_FIRSTCODETYPE, &type) != 0)
		return false;
	if (opts & PCRE2_ANCHORED)
		return true;	/* one try */
	if (type == 2) {	/* after each newline */
		set['\n' >> 6] |= 1ull << ('\n' & 63);
		return true;
	}
	if (type == 1 && pcre2_pattern_info(code, PCRE2_INFO_FIRSTCODEUNIT, &unit) == 0 &&
	    unit < 256) {
		set[unit >> 6] |= 1ull << (unit & 63);
		if ((opts & PCRE2_CASELESS) && ((unit | 0x20) >= 'a' && (unit | 0x20) <= 'z'))
			set[(unit ^ 0x20) >> 6] |= 1ull << ((unit ^ 0x20) & 63);
		return true;
	}
	if (pcre2_pattern_info(code, PCRE2_INFO_FIRSTBITMAP, &bits) != 0 || bits == NULL)
		return false;
	for (int c = 0; c < 256; c++)
		if (bits[c >> 3] >> (c & 7) & 1)
			set[c >> 6] |= 1ull << (c & 63);
	return true;
}

/* re_bytes - byte mode, LF newlines */
bool re_bytes(const struct re *re)
{
	uint32_t opts = 0, nl = 0;

	if (pcre2_pattern_info(re->code, PCRE2_INFO_ALLOPTIONS, &opts) != 0 ||
	    pcre2_pattern_info(re->code, PCRE2_INFO_NEWLINE, &nl) != 0)
		return false;
	return (opts & (PCRE2_UTF | PCRE2_UCP)) == 0 && nl == PCRE2_NEWLINE_LF;
}
