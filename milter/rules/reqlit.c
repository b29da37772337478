/*
 * reqlit.c - find strings a regex cannot match without (reqlit.h).
 *
 * A recursive descent over PCRE syntax computes, for every sequence and
 * alternation, a "requirement": a set of alternative literals one of
 * which every match contains, or none.  A sequence keeps the best
 * requirement of its parts (the longest shortest literal); an
 * alternation needs one from every branch and takes their union.  The
 * analysis only ever forgets: a literal run ends at anything that is not
 * a plain byte (classes of more than one byte, dots, anchors, groups,
 * escapes like \d); a byte under a quantifier whose minimum is 0 leaves
 * the run, one whose minimum is n > 0 ends it after n copies and starts
 * the next with n (ad+res+ holds "ad" and "dres").  A run has variants
 * (at most REQLIT_RUNS): a class of up to REQLIT_CLASS bytes ([uo],
 * [sS] is one byte without case) and an optional byte multiply them
 * (c[uo]rrent: current, corrent), and a variant that holds another is
 * dropped (name?: nam).  A group that matches one of a few strings
 * (every branch nothing but bytes, small classes, optional bytes and
 * such groups, at most REQLIT_RUNS strings in all) and is not repeated
 * multiplies the runs like a class, or an optional byte under ?
 * ("(?:%|percent) of the": "% of the", "percent of the"; before it
 * ended the run and " of the" was all, which nearly every text holds);
 * look-around consumes nothing and so is never part of a run.  When a
 * class, optional byte or group would make too many variants, the runs
 * are a candidate as they stand, and go on with only their last bytes
 * (as many, 4 down to 1, as leave few enough distinct ones: where a run
 * is in the text, its tail is), so the literal grows past the point
 * instead of ending there; a group whose strings are too many still
 * adds their first bytes to a candidate when those are few.  A group
 * under a quantifier whose
 * minimum is 0 requires nothing, negative look-around requires nothing.
 * Anything it does not follow (x mode, \Q...\E, \c, \g, \k, \o,
 * recursion, conditions, verbs, callouts, a `{` that is almost a
 * quantifier) gives up on the whole pattern: the caller then always runs
 * the regex.  The literals are used without case, a superset of the
 * regex's own case rules, so (?i) inside the pattern needs no tracking.
 *
 * Squeezed (reqlit_find_squeezed), the same walk computes literals of
 * the text with every byte but ASCII letters and digits removed: an atom
 * that matches only removed bytes (\W, [_\W]{0,3}, \s, punctuation,
 * bytes >= 0x80, anchors, \b, look-around, a group of such) matches ""
 * however often it repeats and leaves the runs as they are; an atom that
 * may match a removed byte or one of a few kept ones ([a4\xe0-\xe6@]) is
 * an optional byte of those.  So the words that SpamAssassin's drug and
 * obfuscation rules spell across separators (v[_\W]?i[_\W]?a...) keep
 * their letters.  The class analysis reads every member into a byte set
 * for this (ranges, \d \s \w \h \v and their negations; POSIX classes
 * and \p are taken as every byte), and runs may have up to
 * REQLIT_SQUEEZE_RUNS variants, since each optional look-alike doubles or
 * triples them.
 *
 * In ASCII mode (reqlit_find_ascii) the promise is only for texts without
 * bytes >= 0x80: an atom that needs such a byte cannot match, so a
 * sequence that must match it is "dead" (it matches nothing), an
 * alternation leaves its dead branches out, and a dead group under ? or
 * * matches only "".  The look-alike tags of 25_replace.cf (<A> is a, @,
 * or one of some 60 UTF-8 sequences) so become a few ASCII strings, and
 * classes of up to REQLIT_WIDE_CLASS bytes are followed (<I> is
 * [il|!1y?] in ASCII).  A pattern that is dead as a whole has no match
 * in an ASCII text: the answer is then no literal at all.
 *
 * Class runs (reqlit_class_run) walk it for a third: in a plain text (no
 * byte >= 0x80, no '&'), the classes of bytes a match holds one after the
 * other.  Each piece is dead (no match there), or whole (it matches a run
 * exactly: a class per byte, each perhaps followed by a loop of bytes any
 * number of times, and a lead of such bytes before its first; a{1,2} is
 * [a] with the loop [a], \W? before it a lead), or holds a run that every
 * match starts with, one it ends with and a best one somewhere.  A
 * sequence joins a piece's end to the next one's start; whole branches
 * take the union class by class, aligned at their ends, the longer ones'
 * first bytes a lead ((?:\\\/|V): [/Vv] after a lead [\\]), others their
 * common start and end; a quantifier repeats a whole piece (its minimum;
 * one byte more often as a loop), a minimum of 0 leaves a loop of a whole
 * piece's bytes ((?:=ad)? between two letters: the loop [=AaDd]) and
 * nothing of others; look-around and anchors are "".  Letters are taken
 * in either case.  A loop of more than LOOP_MAX bytes breaks a run.
 *
 * Lead bytes (reqlit_lead) walk the same syntax for another answer: the
 * pairs of bytes a match can start with.  Each piece keeps whether it
 * matches "", the bytes that are a whole match of it, and a row of
 * second bytes for each first byte; a sequence joins a piece's one-byte
 * matches to the next piece's first bytes, a quantifier with a maximum
 * of 2 or more joins a copy's to the next copy's.  Classes, escapes and
 * bytes are taken in either case (a superset: no flag tracking); look-
 * around, anchors and \b match "".
 *
 * Limits: REQLIT_MAX_DEPTH nested groups, REQLIT_MAX alternatives; the
 * pattern is a rule line, at most RULES_MAX_LINE bytes.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

#include "base/util.h"
#include "rules/reqlit.h"

struct parse {
	const char *p, *end;
	int depth;
	bool fail;		/* syntax not followed: give up */
	bool squeeze;		/* literals of the squeezed text (reqlit.h) */
	bool ascii;		/* literals of a text without bytes >= 0x80 */
};

/* lim - the variants of a run followed: squeezed, a word's optional
 * look-alikes multiply them (s[o0]?n[a4]?t[a4]? is 27) */
static size_t lim(const struct parse *ps)
{
	return ps->squeeze || ps->ascii ? REQLIT_SQUEEZE_RUNS : REQLIT_RUNS;
}

/* is_alnum - the bytes a squeezed text keeps: ASCII letters and digits,
 * whatever the locale */
static bool is_alnum(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* req_clear - an empty requirement (none) */
static void req_clear(struct reqlit *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->s[i]);
	r->n = 0;
}

/* req_min - the shortest literal; 0 for none */
static size_t req_min(const struct reqlit *r)
{
	size_t m = r->n ? r->len[0] : 0;

	for (size_t i = 1; i < r->n; i++)
		if (r->len[i] < m)
			m = r->len[i];
	return m;
}

/* uri_mode: reqlit_find_uri's call; see reqlit.h */
static _Thread_local bool uri_mode;

/* schemey - r's literals are all part of "https://" or "http://", which
 * nearly every URI holds */
static bool schemey(const struct reqlit *r)
{
	for (size_t i = 0; i < r->n; i++)
		if (!mem_holds_nocase("https://", 8, r->s[i], r->len[i]) &&
		    !mem_holds_nocase("http://", 7, r->s[i], r->len[i]))
			return false;
	return r->n > 0;
}

/* req_takes - is r more selective than best?  Its shortest literal is
 * longer, or as long with fewer literals; for URIs a set of scheme parts
 * only is the least selective of all */
static bool req_takes(const struct reqlit *best, const struct reqlit *r)
{
	size_t mb = req_min(best), mr = req_min(r);
	bool sb = uri_mode && schemey(best), sr = uri_mode && schemey(r);

	return sb != sr && best->n && r->n ? sb && mr >= REQLIT_MIN :
	       mr > mb || (mr == mb && r->n && r->n < best->n);
}

/* reqlit_find2's: the requirement of the top-level sequence being
 * parsed, and the second best offered there (NULL: not wanted) */
static _Thread_local struct reqlit *top_best, *top_second;

static bool has_lit(const char *s, size_t n, const struct reqlit *r, size_t skip);

/* req_apart - do a and b (both not empty) share no literal?  Neither
 * holds one of the other's: a text with one would have the other, and
 * the second set would rule nothing more out. */
static bool req_apart(const struct reqlit *a, const struct reqlit *b)
{
	bool apart = a->n > 0 && b->n > 0;

	for (size_t i = 0; apart && i < a->n; i++)
		apart = !has_lit(a->s[i], a->len[i], b, SIZE_MAX);
	for (size_t i = 0; apart && i < b->n; i++)
		apart = !has_lit(b->s[i], b->len[i], a, SIZE_MAX);
	return apart;
}

/* req_second - r (freed) as the second requirement beside best when it
 * is more selective than the second so far and apart from best */
static void req_second(struct reqlit *second, struct reqlit *r, const struct reqlit *best)
{
	if (req_apart(r, best) && req_takes(second, r)) {
		req_clear(second);
		*second = *r;
		r->n = 0;
	}
	req_clear(r);
}

/* req_better - keep in best the more selective of best and r (r freed);
 * in the top-level sequence, the other one may become the second */
static void req_better(struct reqlit *best, struct reqlit *r)
{
	if (r->n == 0)
		return;
	if (req_takes(best, r)) {
		struct reqlit old = *best;
		*best = *r;
		r->n = 0;
		if (best == top_best && top_second != NULL)
			req_second(top_second, &old, best);
		else
			req_clear(&old);
	} else if (best == top_best && top_second != NULL) {
		req_second(top_second, r, best);
	}
	req_clear(r);
}

/* has_lit - does s[0, n) hold r->s[k] for some k other than skip
 * (without ASCII case)?  Such an s is redundant next to it. */
static bool has_lit(const char *s, size_t n, const struct reqlit *r, size_t skip)
{
	for (size_t k = 0; k < r->n; k++)
		if (k != skip && mem_holds_nocase(s, n, r->s[k], r->len[k]))
			return true;
	return false;
}

/* req_prune - drop the literals that hold another one (of a set where
 * "name" and "nam" are both, a text with "name" has "nam"); of equal
 * ones the first stays */
static void req_prune(struct reqlit *r)
{
	size_t o = 0;

	for (size_t i = 0; i < r->n; i++) {
		bool drop = false;
		for (size_t k = 0; k < r->n && !drop; k++) {
			if (k == i || r->len[k] > r->len[i] || r->s[k] == NULL)
				continue;
			bool same = r->len[k] == r->len[i];
			drop = mem_holds_nocase(r->s[i], r->len[i], r->s[k], r->len[k]) && (!same || k < i);
		}
		if (drop) {
			free(r->s[i]);
			r->s[i] = NULL;
		}
	}
	for (size_t i = 0; i < r->n; i++)
		if (r->s[i] != NULL) {
			r->s[o] = r->s[i];
			r->len[o++] = r->len[i];
		}
	r->n = o;
}

/* req_union - a |= b for an alternation: none if either is none; a
 * literal of one that holds one of the other's is left out */
static void req_union(struct reqlit *a, struct reqlit *b)
{
	if (a->n == 0 || b->n == 0) {
		req_clear(a);
		req_clear(b);
		return;
	}
	size_t o = 0;
	for (size_t i = 0; i < a->n; i++) {	/* a's that hold one of b's go */
		if (has_lit(a->s[i], a->len[i], b, SIZE_MAX)) {
			free(a->s[i]);
			continue;
		}
		a->s[o] = a->s[i];
		a->len[o++] = a->len[i];
	}
	a->n = o;
	for (size_t i = 0; i < b->n; i++) {
		if (has_lit(b->s[i], b->len[i], a, SIZE_MAX)) {
			free(b->s[i]);
			continue;
		}
		if (a->n == REQLIT_MAX) {	/* too many: none */
			for (size_t k = i; k < b->n; k++)
				free(b->s[k]);
			b->n = 0;
			req_clear(a);
			return;
		}
		a->s[a->n] = b->s[i];
		a->len[a->n++] = b->len[i];
	}
	b->n = 0;
}

/* the literal runs being built: the variants a sequence of bytes, small
 * classes and optional bytes can take (e-?mai?l: email, emal, e-mail,
 * e-mal); one of them occurs in every match */
struct runs {
	size_t n;		/* >= 1 */
	struct buf b[REQLIT_SQUEEZE_RUNS];
	bool broke;		/* flushed: the runs are not all the text */
};

/* runs_init - one empty run */
static void runs_init(struct runs *rs)
{
	rs->n = 1;
	buf_init(&rs->b[0]);
}

/* runs_free - release */
static void runs_free(struct runs *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		buf_free(&rs->b[i]);
}

/* runs_nothing - one empty string: what a squeezed atom that keeps no
 * byte matches */
static void runs_nothing(struct runs *rs)
{
	rs->n = 1;
	buf_init(&rs->b[0]);
	rs->broke = false;
}

/* runs_blank - are all the strings empty? */
static bool runs_blank(const struct runs *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->b[i].len)
			return false;
	return true;
}

/* runs_dedupe - drop repeated strings: squeezed, (?:\b|\s) is "" twice */
static void runs_dedupe(struct runs *rs)
{
	size_t o = 0;

	for (size_t i = 0; i < rs->n; i++) {
		bool dup = false;
		for (size_t k = 0; k < o && !dup; k++)
			dup = rs->b[k].len == rs->b[i].len &&
			      memcmp(rs->b[k].data, rs->b[i].data, rs->b[i].len) == 0;
		if (dup)
			buf_free(&rs->b[i]);
		else
			rs->b[o++] = rs->b[i];
	}
	rs->n = o;
}

/* flush - the runs so far become a candidate requirement (when none of
 * them is empty), then start again with one empty run */
static void flush(struct runs *rs, struct reqlit *best);

/* offer - the runs so far become a candidate requirement (when none of
 * them is empty); they stay */
static void offer(const struct runs *rs, struct reqlit *best)
{
	struct reqlit r;	/* not zeroed: 2 KB, and offers are many */
	bool empty = false;

	r.n = 0;
	for (size_t i = 0; i < rs->n; i++)
		empty |= rs->b[i].len == 0;
	for (size_t i = 0; !empty && i < rs->n; i++) {
		r.s[r.n] = xmalloc(rs->b[i].len);
		memcpy(r.s[r.n], rs->b[i].data, rs->b[i].len);
		r.len[r.n++] = rs->b[i].len;
	}
	req_prune(&r);
	if (r.n)
		req_better(best, &r);
}

/* flush - offer the runs, then start again with one empty run */
static void flush(struct runs *rs, struct reqlit *best)
{
	offer(rs, best);
	runs_free(rs);
	runs_init(rs);
	rs->broke = true;
}

/* same_tail - the last keep bytes of a and b (all of a shorter one)
 * equal without ASCII case? */
static bool same_tail(const struct buf *a, const struct buf *b, size_t keep)
{
	size_t la = a->len < keep ? a->len : keep, lb = b->len < keep ? b->len : keep;

	if (la != lb)
		return false;
	for (size_t i = 0; i < la; i++)
		if (tolower((unsigned char)a->data[a->len - la + i]) !=
		    tolower((unsigned char)b->data[b->len - lb + i]))
			return false;
	return true;
}

/* runs_shrink - the runs are too many to go on with m variants each:
 * offer them, then keep of each only its last bytes (where a run is in
 * the text, its tail is), as many (4 down to 1) as leave at most lim / m
 * distinct ones, so that the literal grows on past the point where it
 * used to end: v[i1l]?c[o0]?d[i1l]?n keeps "cd", "cod"... and becomes
 * "cdn", "codin"... instead of ending at "cd".  false (nothing changed
 * but the offer) when even one byte leaves too many. */
static bool runs_shrink(struct runs *rs, struct reqlit *best, size_t m, size_t lim)
{
	if (m == 0 || m > lim)
		return false;
	offer(rs, best);
	for (size_t keep = 4; keep >= 1; keep--) {
		size_t d = 0;
		for (size_t i = 0; i < rs->n && d * m <= lim; i++) {
			bool dup = false;
			for (size_t k = 0; k < i && !dup; k++)
				dup = same_tail(&rs->b[k], &rs->b[i], keep);
			d += !dup;
		}
		if (d * m > lim)
			continue;
		size_t o = 0;
		for (size_t i = 0; i < rs->n; i++) {
			bool dup = false;
			for (size_t k = 0; k < o && !dup; k++)
				dup = same_tail(&rs->b[k], &rs->b[i], keep);
			if (dup) {
				buf_free(&rs->b[i]);
				continue;
			}
			struct buf *b = &rs->b[i];
			if (b->len > keep) {
				memmove(b->data, b->data + b->len - keep, keep);
				b->len = keep;
			}
			rs->b[o++] = *b;
		}
		rs->n = o;
		rs->broke = true;	/* they are no longer the whole text */
		return true;
	}
	return false;
}

/* runs_copy - a copy of each of the first n runs with set[j] appended,
 * for every j in [from, k) */
static void runs_copy(struct runs *rs, size_t n, const unsigned char *set, size_t from, size_t k)
{
	for (size_t j = from; j < k; j++)
		for (size_t i = 0; i < n; i++) {
			struct buf *b = &rs->b[rs->n++];
			buf_init(b);
			buf_append(b, rs->b[i].data, rs->b[i].len);
			buf_putc(b, (char)set[j]);
		}
}

/* runs_cross - every run goes on with one of set[0, k) (k >= 1); when
 * that makes too many, the runs so far are flushed and the set starts
 * new ones */
static void runs_cross(struct runs *rs, struct reqlit *best, const unsigned char *set, size_t k,
		       size_t lim)
{
	if (rs->n * k > lim && !runs_shrink(rs, best, k, lim)) {
		flush(rs, best);
		for (size_t j = 1; j < k; j++)
			buf_init(&rs->b[j]);
		rs->n = k;
		for (size_t j = 0; j < k; j++)
			buf_putc(&rs->b[j], (char)set[j]);
		return;
	}
	size_t n = rs->n;
	runs_copy(rs, n, set, 1, k);
	for (size_t i = 0; i < n; i++)
		buf_putc(&rs->b[i], (char)set[0]);
}

/* runs_opt - an optional byte of set[0, k): every run stays as it is
 * and also goes on with each; flushed when that makes too many */
static void runs_opt(struct runs *rs, struct reqlit *best, const unsigned char *set, size_t k,
		     size_t lim)
{
	if (rs->n * (k + 1) > lim && !runs_shrink(rs, best, k + 1, lim))
		flush(rs, best);
	else
		runs_copy(rs, rs->n, set, 0, k);
}

/* digits - skip decimal digits; their count */
static size_t digits(struct parse *ps, unsigned long *v)
{
	size_t n = 0;

	*v = 0;
	while (ps->p < ps->end && isdigit((unsigned char)*ps->p) && n < 9) {
		*v = *v * 10 + (unsigned long)(*ps->p++ - '0');
		n++;
	}
	return n;
}

/* brace_quant - at '{': a {n}, {n,} or {n,m} quantifier (consumed, min in
 * *min, max in *max: ULONG_MAX for none) -> 1; plainly a literal '{' -> 0;
 * anything in between -> fail */
static int brace_quant(struct parse *ps, unsigned long *min, unsigned long *max)
{
	const char *q = ps->p + 1, *s = ps->p;

	while (q < ps->end && (isdigit((unsigned char)*q) || *q == ',' || *q == ' '))
		q++;
	if (q == ps->p + 1 || q >= ps->end || *q != '}')
		return 0;	/* "{", "{a", "{}": a literal */
	ps->p++;
	size_t n = digits(ps, min);
	*max = *min;
	if (n && ps->p < ps->end && *ps->p == ',') {
		ps->p++;
		if (digits(ps, max) == 0)
			*max = ULONG_MAX;
	}
	if (n == 0 || ps->p >= ps->end || *ps->p != '}') {
		ps->p = s;	/* {,m}, spaces: PCRE2 versions disagree */
		ps->fail = true;
		return 0;
	}
	ps->p++;
	return 1;
}

/* quantifier - consume one after an atom; its minimum (its maximum in
 * *max), or -1 if none */
static long quantifier(struct parse *ps, unsigned long *max)
{
	unsigned long min = 0;

	*max = 1;
	if (ps->p >= ps->end)
		return -1;
	switch (*ps->p) {
	case '?': ps->p++; min = 0; break;
	case '*': ps->p++; min = 0; *max = ULONG_MAX; break;
	case '+': ps->p++; min = 1; *max = ULONG_MAX; break;
	case '{':
		if (brace_quant(ps, &min, max) != 1)
			return -1;
		break;
	default:
		return -1;
	}
	if (ps->p < ps->end && (*ps->p == '?' || *ps->p == '+'))
		ps->p++;	/* lazy or possessive */
	return (long)min;
}

/* class_byte - the one byte a class member at p stands for (a plain
 * byte, \xHH, or an escaped punctuation byte), its end in *next; -1 for
 * anything else (ranges are the caller's, \d and the like, \x{...}) */
static int class_byte(const char *p, const char *end, const char **next)
{
	*next = p + 1;
	if (*p != '\\')
		return (unsigned char)*p;
	if (p + 1 >= end)
		return -1;
	*next = p + 2;
	if (!isalnum((unsigned char)p[1]))
		return (unsigned char)p[1];
	if (p[1] != 'x' || p + 3 >= end || c_hexval((unsigned char)p[2]) < 0 ||
	    c_hexval((unsigned char)p[3]) < 0)
		return -1;
	*next = p + 4;
	return c_hexval((unsigned char)p[2]) * 16 + c_hexval((unsigned char)p[3]);
}

/* set_add - b into set[0, *k) up to ASCII case; false when full
 * (REQLIT_CLASS bytes, or cap) */
static bool set_add_cap(unsigned char *set, size_t *k, int b, size_t cap)
{
	for (size_t i = 0; i < *k; i++)
		if (tolower(set[i]) == tolower(b))
			return true;
	if (*k == cap)
		return false;
	set[(*k)++] = (unsigned char)b;
	return true;
}

/* set_add - set_add_cap of a class followed as variants */
static bool set_add(unsigned char *set, size_t *k, int b)
{
	return set_add_cap(set, k, b, REQLIT_CLASS);
}

/* a set of bytes */
struct bset {
	uint64_t w[4];
};

/* bs_range - add [lo, hi] to s */
static void bs_range(struct bset *s, int lo, int hi)
{
	for (int c = lo; c <= hi; c++)
		s->w[c >> 6] |= (uint64_t)1 << (c & 63);
}

/* bs_has - is c in s? */
static bool bs_has(const struct bset *s, int c)
{
	return s->w[c >> 6] >> (c & 63) & 1;
}

/* bs_escape - add the bytes of the escape \c inside a class: \d \s \w
 * \h \v and their negations in byte mode with PCRE2's built-in tables,
 * \n \t \r \f; anything else (\p, \N, wide code points...) adds every
 * byte, a superset, and returns false: the class's complement is then
 * not known either */
static bool bs_escape(struct bset *s, char c)
{
	struct bset e = { { 0 } };

	switch (c) {
	case 'd': case 'D': bs_range(&e, '0', '9'); break;
	case 'w': case 'W':
		bs_range(&e, '0', '9');
		bs_range(&e, 'A', 'Z');
		bs_range(&e, 'a', 'z');
		bs_range(&e, '_', '_');
		break;
	case 's': case 'S': bs_range(&e, '\t', '\r'); bs_range(&e, ' ', ' '); break;
	case 'h': case 'H': bs_range(&e, '\t', '\t'); bs_range(&e, ' ', ' '); bs_range(&e, 0xa0, 0xa0); break;
	case 'v': case 'V': bs_range(&e, '\n', '\r'); bs_range(&e, 0x85, 0x85); break;
	case 'n': bs_range(&e, '\n', '\n'); break;
	case 't': bs_range(&e, '\t', '\t'); break;
	case 'r': bs_range(&e, '\r', '\r'); break;
	case 'f': bs_range(&e, '\f', '\f'); break;
	default: bs_range(s, 0, 255); return false;
	}
	for (int i = 0; i < 4; i++)
		s->w[i] |= strchr("DWSHV", c) ? ~e.w[i] : e.w[i];
	return true;
}

/* reqlit_posix_end - see reqlit.h: at '[' in a class, the end of a POSIX class there
 * ([:alpha:], [.x.], [=x=]), or NULL when it is none and '[' is a plain
 * member.  PCRE2's rule: a ']' (or "[:" again) before the closing ":]"
 * means none, so [[:]|x:] is the class [[:] followed by "|x:]". */
const char *reqlit_posix_end(const char *p, const char *end)
{
	if (p + 1 >= end || *p != '[' || !strchr(":.=", p[1]) || p[1] == '\0')
		return NULL;
	char term = p[1];
	for (const char *q = p + 2; q < end; q++) {
		if (*q == '\\' && q + 1 < end && (q[1] == ']' || q[1] == '\\'))
			q++;
		else if ((*q == '[' && q + 1 < end && q[1] == term) || *q == ']')
			return NULL;
		else if (*q == term && q + 1 < end && q[1] == ']')
			return q + 2;
	}
	return NULL;
}

/* skip_class - past a [...] class.  Every byte it may match goes into
 * *bs (a superset: POSIX classes and \p are every byte, case is the
 * caller's); the bytes up to ASCII case into set when they are at most
 * REQLIT_CLASS plain bytes or ranges of them ([\xe4], [sS], [uo], [a-c]),
 * their count; else 0 */
static size_t skip_class(struct parse *ps, unsigned char *set, struct bset *bs)
{
	size_t k = 0;
	bool small = true, neg = false, first = true, exact = true;

	memset(bs, 0, sizeof(*bs));
	ps->p++;
	if (ps->p < ps->end && *ps->p == '^') {
		ps->p++;
		small = false;
		neg = true;
	}
	while (ps->p < ps->end && (*ps->p != ']' || first)) {
		const char *next, *after = NULL;
		int b = class_byte(ps->p, ps->end, &next), hi = -1;
		first = false;
		const char *posix = reqlit_posix_end(ps->p, ps->end);
		if (posix) {	/* [:alpha:] */
			small = false;
			exact = false;
			bs_range(bs, 0, 255);
			ps->p = posix;
			continue;
		}
		if (b < 0) {	/* \d, \p{...}, \x{...}: not a plain byte */
			small = false;
			/* \t-\r is a range: not followed, every byte */
			const char *q = ps->p + 2;
			if (q + 1 < ps->end && *q == '-' && q[1] != ']') {
				exact = false;
				bs_range(bs, 0, 255);
			}
			/* \c takes the next byte whatever it is, \ and ] too:
			 * not followed here */
			if (ps->p + 1 < ps->end && (ps->p[1] == 'Q' || ps->p[1] == 'E' ||
						    ps->p[1] == 'c'))
				ps->fail = true;
			if (ps->p + 1 < ps->end)
				exact &= bs_escape(bs, ps->p[1]);
			else
				exact = false;
			ps->p += ps->p + 1 < ps->end ? 2 : 1;
			continue;
		}
		if (next < ps->end && *next == '-' && next + 1 < ps->end && next[1] != ']')
			hi = class_byte(next + 1, ps->end, &after);
		if (hi >= 0 && after != NULL && hi >= b) {	/* a-c, \xe0-\xe6 */
			bs_range(bs, b, hi);
			for (int c = b; small && c <= hi; c++)
				small = set_add(set, &k, c);
			ps->p = after;
			continue;
		}
		bs_range(bs, b, b);
		if (next < ps->end && *next == '-' && next + 1 < ps->end && next[1] != ']') {
			small = false;	/* a-\d and the like: PCRE2 refuses them */
			exact = false;
			bs_range(bs, 0, 255);
		} else if (small) {
			small = set_add(set, &k, b);
		}
		ps->p = next;
	}
	if (ps->p >= ps->end) {
		ps->fail = true;
		return 0;
	}
	ps->p++;
	if (neg && !exact)
		bs_range(bs, 0, 255);	/* the complement of a superset is not one */
	else if (neg)
		for (int i = 0; i < 4; i++)
			bs->w[i] = ~bs->w[i];
	return small ? k : 0;
}

/* squeeze_set - the bytes of bs a squeezed text keeps, up to ASCII case,
 * in set when at most REQLIT_CLASS, their count (else 0); *clear when bs
 * has none of them, *drop when it has a byte the squeezed text drops */
static size_t squeeze_set(const struct bset *bs, unsigned char *set, bool *clear, bool *drop)
{
	size_t k = 0;
	bool full = false;

	*clear = true;
	*drop = false;
	for (int c = 0; c < 256; c++) {
		if (!bs_has(bs, c))
			continue;
		if (!is_alnum(c)) {
			*drop = true;
			continue;
		}
		*clear = false;
		full = full || !set_add(set, &k, c);
	}
	return full ? 0 : k;
}

/* ascii_set - the bytes < 0x80 of bs up to ASCII case, in set when at
 * most REQLIT_WIDE_CLASS (<I> of 25_replace.cf is [il|!1y?] in ASCII),
 * their count (else 0); *none when bs has none of them */
static size_t ascii_set(const struct bset *bs, unsigned char *set, bool *none)
{
	size_t k = 0;
	bool full = false;

	*none = true;
	for (int c = 0; c < 0x80; c++) {
		if (!bs_has(bs, c))
			continue;
		*none = false;
		full = full || !set_add_cap(set, &k, c, REQLIT_WIDE_CLASS);
	}
	return full ? 0 : k;
}

/* plain_set - squeeze_set in a plain text (every byte < 0x80, no '&'):
 * *high when bs has none of those bytes */
static size_t plain_set(const struct bset *bs, unsigned char *set, bool *clear, bool *drop,
			bool *high)
{
	struct bset p = *bs;

	*high = true;
	for (int c = 0; c < 256; c++) {
		if (c >= 0x80 || c == '&')
			p.w[c >> 6] &= ~((uint64_t)1 << (c & 63));
		else if (bs_has(bs, c))
			*high = false;
	}
	return squeeze_set(&p, set, clear, drop);
}

/* escape - after '\\': the byte it stands for, or -1 for anything that is
 * not one byte (classes, assertions, back-references, wide code points) */
static int escape(struct parse *ps)
{
	if (ps->p >= ps->end) {
		ps->fail = true;
		return -1;
	}
	char c = *ps->p++;
	unsigned long v;

	if (!isalnum((unsigned char)c))
		return (unsigned char)c;
	switch (c) {
	case 'n': return '\n';
	case 't': return '\t';
	case 'r': return '\r';
	case 'f': return '\f';
	case 'e': return 0x1b;
	case 'a': return 0x07;
	case 'd': case 'D': case 'w': case 'W': case 's': case 'S': case 'h':
	case 'H': case 'v': case 'V': case 'R': case 'X': case 'N': case 'b':
	case 'B': case 'A': case 'z': case 'Z': case 'G': case 'K':
		return -1;
	case 'p': case 'P':
		if (ps->p < ps->end && *ps->p == '{') {
			const char *close = memchr(ps->p, '}', (size_t)(ps->end - ps->p));
			if (close == NULL)
				ps->fail = true;
			ps->p = close ? close + 1 : ps->end;
		} else if (ps->p < ps->end) {
			ps->p++;
		}
		return -1;
	case 'x':
		if (ps->p < ps->end && *ps->p == '{') {
			unsigned long cp = 0;
			size_t n = 0;
			for (ps->p++; ps->p < ps->end && c_hexval((unsigned char)*ps->p) >= 0 && n < 8; ps->p++, n++)
				cp = cp * 16 + (unsigned long)c_hexval((unsigned char)*ps->p);
			if (n == 0 || ps->p >= ps->end || *ps->p != '}') {
				ps->fail = true;
				return -1;
			}
			ps->p++;
			return cp <= 0xff ? (int)cp : -1;
		} else {
			int b = 0;
			for (int n = 0; n < 2 && ps->p < ps->end && c_hexval((unsigned char)*ps->p) >= 0; n++)
				b = b * 16 + c_hexval((unsigned char)*ps->p++);
			return b;
		}
	case '0': {
		int b = 0;
		for (int n = 0; n < 2 && ps->p < ps->end && *ps->p >= '0' && *ps->p <= '7'; n++)
			b = b * 8 + (*ps->p++ - '0');
		return b;
	}
	default:
		if (isdigit((unsigned char)c)) {	/* back-reference or octal */
			digits(ps, &v);
			return -1;
		}
		ps->fail = true;	/* \Q \E \c \g \k \o and unknown letters */
		return -1;
	}
}

/* reqlit_atom_bytes - see reqlit.h */
bool reqlit_atom_bytes(const char **p, const char *end, bool dotall, bool caseless,
		       uint64_t set[4])
{
	struct bset bs = { { 0 } };
	struct parse ps = { .p = *p, .end = end };

	if (ps.p >= end)
		return false;
	if (*ps.p == '[') {
		unsigned char small[REQLIT_WIDE_CLASS];
		skip_class(&ps, small, &bs);
	} else if (*ps.p == '\\' && ps.p + 1 < end && ps.p[1] != '\0' &&
		   strchr("dDwWsShHvV", ps.p[1])) {
		bs_escape(&bs, ps.p[1]);
		ps.p += 2;
	} else if (*ps.p == '\\') {
		ps.p++;
		int b = escape(&ps);	/* one byte, or -1: assertions, \R, \p... */
		if (b < 0)
			return false;
		bs_range(&bs, b, b);
	} else if (*ps.p == '.') {
		bs_range(&bs, 0, 255);
		if (!dotall)
			bs.w['\n' >> 6] &= ~((uint64_t)1 << ('\n' & 63));
		ps.p++;
	} else if (strchr("()|*+?{^$", *ps.p) == NULL) {
		bs_range(&bs, (unsigned char)*ps.p, (unsigned char)*ps.p);
		ps.p++;
	} else {
		return false;
	}
	if (ps.fail)
		return false;
	for (int c = 'A'; c <= 'Z' && caseless; c++)	/* either case */
		if (bs_has(&bs, c) || bs_has(&bs, c + 32)) {
			bs_range(&bs, c, c);
			bs_range(&bs, c + 32, c + 32);
		}
	memcpy(set, bs.w, sizeof(bs.w));
	*p = ps.p;
	return true;
}

/* runs_group - every run goes on with one of the strings a group
 * matches, g (or, opt, stays as it is too); when that makes too many,
 * the runs so far are flushed and g's strings start new ones */
static void runs_group(struct runs *rs, struct reqlit *best, const struct runs *g, bool opt,
		       size_t lim)
{
	size_t n = rs->n;

	if (n * (g->n + opt) > lim) {
		/* too many: the runs going on with the first byte of g's
		 * strings are a candidate when those bytes are few (<E>'s
		 * twenty entities all begin with '&': "mon" gives "mone",
		 * "mon3", "mon&"), a prefix of every match of g */
		unsigned char set[REQLIT_SQUEEZE_RUNS];
		size_t k = 0;
		bool empty = opt, many = false;
		for (size_t j = 0; j < g->n && !many; j++) {
			if (g->b[j].len == 0)
				empty = true;
			else
				many = !set_add_cap(set, &k, (unsigned char)g->b[j].data[0], lim);
		}
		if (!many && k && n * (k + empty) <= lim) {
			struct runs c;
			c.n = n;
			c.broke = true;
			for (size_t i = 0; i < n; i++) {
				buf_init(&c.b[i]);
				buf_append(&c.b[i], rs->b[i].data, rs->b[i].len);
			}
			if (empty)
				runs_opt(&c, best, set, k, lim);
			else
				runs_cross(&c, best, set, k, lim);
			offer(&c, best);
			runs_free(&c);
		}
		if (runs_shrink(rs, best, g->n + opt, lim)) {
			n = rs->n;	/* the tails go on with g */
		} else {
			flush(rs, best);
			if (opt)
				return;
			n = 1;
		}
	}
	struct runs o;	/* not zeroed: REQLIT_SQUEEZE_RUNS buffers */

	o.n = 0;
	o.broke = rs->broke;
	for (size_t i = 0; i < n; i++) {
		if (opt) {
			buf_init(&o.b[o.n]);
			buf_append(&o.b[o.n++], rs->b[i].data, rs->b[i].len);
		}
		for (size_t j = 0; j < g->n; j++) {
			struct buf *b = &o.b[o.n++];
			buf_init(b);
			buf_append(b, rs->b[i].data, rs->b[i].len);
			buf_append(b, g->b[j].data, g->b[j].len);
		}
	}
	runs_free(rs);
	*rs = o;
}

static void parse_alt(struct parse *ps, struct reqlit *out, struct runs *ex, bool *dead);

/* what group_head found after '(' */
enum { GH_BODY, GH_NOTHING, GH_FAIL };

/* group_head - after '(': past the group's opening, (?:, (?=, (?<name>
 * and the like.  GH_BODY when a body and ')' follow (*eat false for a
 * look-around, *keep false for one that must not match); GH_NOTHING for
 * a comment or an option setting (?i), consumed whole; GH_FAIL (and
 * ps->fail) for syntax not followed: verbs, recursion, conditions, x
 * mode, (?<*...) and other names that are not [A-Za-z_][A-Za-z0-9_]*. */
static int group_head(struct parse *ps, bool *eat, bool *keep)
{
	*eat = true;
	*keep = true;
	if (ps->p < ps->end && *ps->p == '*') {
		ps->fail = true;	/* (*VERB) */
		return GH_FAIL;
	}
	if (ps->p >= ps->end || *ps->p != '?')
		return GH_BODY;
	ps->p++;
	if (ps->p >= ps->end) {
		ps->fail = true;
		return GH_FAIL;
	}
	char c = *ps->p;
	if (c == '#') {		/* comment */
		const char *close = memchr(ps->p, ')', (size_t)(ps->end - ps->p));
		ps->p = close ? close + 1 : ps->end;
		ps->fail |= close == NULL;
		return close ? GH_NOTHING : GH_FAIL;
	}
	if (c == ':' || c == '>' || c == '|' || c == '=') {
		*eat = c != '=';
		ps->p++;
	} else if (c == '!') {
		ps->p++;
		*keep = false;
		*eat = false;
	} else if (c == '<' && ps->p + 1 < ps->end && (ps->p[1] == '=' || ps->p[1] == '!')) {
		*keep = ps->p[1] == '=';
		*eat = false;
		ps->p += 2;
	} else if (c == '<' || c == '\'' || (c == 'P' && ps->p + 1 < ps->end && ps->p[1] == '<')) {
		char close = c == '\'' ? '\'' : '>';	/* named group */
		/* its name is [A-Za-z_][A-Za-z0-9_]*: anything else, such
		 * as (?<*...), PCRE2 10.42's non-atomic look-behind, is
		 * not a group this parser knows */
		const char *q = ps->p + (c == 'P' ? 2 : 1);
		const char *e = q;
		if (e < ps->end && (isalpha((unsigned char)*e) || *e == '_'))
			while (e < ps->end && (isalnum((unsigned char)*e) || *e == '_'))
				e++;
		if (e == q || e >= ps->end || *e != close) {
			ps->fail = true;
			return GH_FAIL;
		}
		ps->p = e + 1;
	} else {	/* option letters: (?i) or (?i:...); (?R), (?C) and
			 * other letters are recursion, callouts...: not options */
		const char *q = ps->p;
		while (q < ps->end && *q && strchr("imnsJU-^", *q))
			q++;
		if (q == ps->p || q >= ps->end || (*q != ')' && *q != ':') ||
		    memchr(ps->p, 'x', (size_t)(q - ps->p))) {
			ps->fail = true;	/* recursion, conditions, x mode */
			return GH_FAIL;
		}
		ps->p = q + 1;
		if (*q == ')')	/* options for the rest: nothing to match */
			return GH_NOTHING;
	}
	return GH_BODY;
}

/* group_close - past the ')' that ends a group's body; false (and
 * ps->fail) when it is missing */
static bool group_close(struct parse *ps)
{
	if (ps->p >= ps->end || *ps->p != ')') {
		ps->fail = true;
		return false;
	}
	ps->p++;
	return true;
}

/* group - after '(': parse it and its quantifier; its requirement in
 * out.  When it consumes one of a few strings, those are in ex (ex->n >
 * 0; *opt when it may also match nothing), else ex->n is 0.  *dead (only
 * in ASCII mode) when it cannot match an ASCII text, nor can then the
 * sequence it is part of. */
static void group(struct parse *ps, struct reqlit *out, struct runs *ex, bool *opt, bool *dead,
		  bool *again)
{
	bool keep = true;	/* false: look-ahead/behind that must not match */
	bool eat = true;	/* false: look-around, which consumes nothing */

	out->n = 0;
	ex->n = 0;
	*opt = false;
	*again = false;
	*dead = false;
	switch (group_head(ps, &eat, &keep)) {
	case GH_FAIL:
		return;
	case GH_NOTHING:
		if (ps->squeeze || ps->ascii)
			runs_nothing(ex);
		return;
	case GH_BODY:
		break;
	}
	if (++ps->depth > REQLIT_MAX_DEPTH) {
		ps->fail = true;
		return;
	}
	struct runs g;	/* not zeroed: REQLIT_SQUEEZE_RUNS buffers */
	g.n = 0;
	g.broke = false;
	bool none;
	parse_alt(ps, out, &g, &none);
	ps->depth--;
	if (!group_close(ps)) {
		runs_free(&g);
		return;
	}
	unsigned long max;
	long min = quantifier(ps, &max);
	if (min == 0 || !keep)
		req_clear(out);
	if (none) {	/* ASCII mode: no branch can match */
		runs_free(&g);
		req_clear(out);
		if (keep && min != 0)
			*dead = true;	/* a group that must match, a look-around that must hold */
		else
			runs_nothing(ex);	/* (?!...) always holds, (...)? and (?=...)? match "" */
	} else if (ps->squeeze && (!eat || (g.n && runs_blank(&g)))) {
		runs_free(&g);	/* squeezed, it matches "" however often */
		runs_nothing(ex);
	} else if (eat && g.n && max == 1 && min <= 1) {
		*ex = g;	/* none, ?, {1}, {0,1} and lazy ones: once or not */
		*opt = min == 0;
	} else if (eat && g.n && max == 2 && min <= 1 && (ps->squeeze || ps->ascii)) {
		*ex = g;	/* {1,2}, {0,2}: once (or not), then once or not */
		*opt = min == 0;
		*again = true;
	} else {
		runs_free(&g);
	}
}

/* parse_seq - one branch: up to '|', ')' or the end; when ex and the
 * branch is nothing but bytes, small classes and such groups, the
 * strings it matches (at most REQLIT_RUNS) in ex, else ex->n is 0.
 * *dead (ASCII mode): it needs a byte >= 0x80, so it matches no ASCII
 * text; best and ex are then empty. */
static void parse_seq(struct parse *ps, struct reqlit *best, struct runs *ex, bool *dead)
{
	struct runs run;

	runs_init(&run);
	run.broke = false;
	best->n = 0;
	*dead = false;
	if (ps->depth == 0 && top_second != NULL) {	/* a top-level branch */
		top_best = best;
		req_clear(top_second);
	}
	while (ps->p < ps->end && !ps->fail && *ps->p != '|' && *ps->p != ')') {
		char c = *ps->p;
		unsigned char set[REQLIT_WIDE_CLASS];
		size_t k = 0;	/* the atom is one of set[0, k); 0: not a byte */
		if (c == '(') {
			struct reqlit g;
			struct runs gx;
			bool opt, gdead, again;
			ps->p++;
			group(ps, &g, &gx, &opt, &gdead, &again);
			*dead |= gdead;
			if (*dead) {	/* only the syntax matters now */
				runs_free(&gx);
				req_clear(&g);
			} else if (gx.n) {
				runs_group(&run, best, &gx, opt, lim(ps));
				if (again)
					runs_group(&run, best, &gx, true, lim(ps));
				runs_free(&gx);
				if (ps->squeeze)
					runs_dedupe(&run);
			} else {
				flush(&run, best);
			}
			req_better(best, &g);
			continue;
		}
		if (c == '*' || c == '+' || c == '?') {
			ps->fail = true;	/* a quantifier with nothing before it */
			break;
		}
		int byte = -1;
		bool clear = false;	/* squeeze: it matches only bytes dropped */
		bool drop = false;	/* squeeze: it may match a byte dropped */
		bool high = false;	/* ASCII mode: it matches only bytes >= 0x80 */
		if (c == '[') {
			struct bset bs;
			k = skip_class(ps, set, &bs);
			if (ps->squeeze && ps->ascii)
				k = plain_set(&bs, set, &clear, &drop, &high);
			else if (ps->squeeze)
				k = squeeze_set(&bs, set, &clear, &drop);
			else if (ps->ascii)
				k = ascii_set(&bs, set, &high);
		} else if (c == '\\') {
			ps->p++;	/* \W \s..., and assertions, which match "" */
			clear = ps->squeeze && ps->p < ps->end && *ps->p &&
				strchr("WshvRbBAzZGK", *ps->p);
			byte = escape(ps);
		} else if (c == '{') {
			unsigned long min, max;
			if (brace_quant(ps, &min, &max) == 1)
				ps->fail = true;
			else if (!ps->fail)
				byte = (unsigned char)*ps->p++;
		} else if (c == '.' || c == '^' || c == '$') {
			clear = ps->squeeze && c != '.';
			ps->p++;
		} else {
			byte = (unsigned char)c;
			ps->p++;
		}
		if (byte >= 0 && ps->ascii && (byte >= 0x80 || (ps->squeeze && byte == '&')))
			high = true;
		else if (byte >= 0 && ps->squeeze && !is_alnum(byte))
			clear = true;
		else if (byte >= 0)
			set_add(set, &k, byte);
		unsigned long max;
		long min = quantifier(ps, &max);
		if (high && min != 0)
			*dead = true;	/* it must match, and cannot */
		if (clear || high || *dead)
			continue;	/* "" however often, or nothing at all */
		if (drop && k && max == 1) {
			runs_opt(&run, best, set, k, lim(ps));	/* one of set, or "" */
			continue;
		}
		if ((ps->squeeze || ps->ascii) && k && max == 2 && min >= 0) {
			/* b{1,2}, [xy]{0,2}: each copy one of set, or ""
			 * when not required or when it may be dropped */
			for (long j = 0; j < 2; j++) {
				if (drop || j >= min)
					runs_opt(&run, best, set, k, lim(ps));
				else
					runs_cross(&run, best, set, k, lim(ps));
			}
			continue;
		}
		if (drop || k == 0 || (min == 0 && max > 1)) {
			flush(&run, best);	/* not a byte, or b*, b{0,n} */
		} else if (min < 0) {
			runs_cross(&run, best, set, k, lim(ps));	/* stays in the run */
		} else if (min == 0) {
			runs_opt(&run, best, set, k, lim(ps));	/* b? */
		} else {
			/* b+ or b{n,m}: the runs go on to the first n copies
			 * (one when not ASCII: in UTF mode the quantifier
			 * repeats a whole character, and one of a class),
			 * and the next runs start with the last n */
			long copies = k == 1 && set[0] < 0x80 ? min : 1;
			if (copies > REQLIT_MAX_REPEAT)
				copies = REQLIT_MAX_REPEAT;
			for (long j = 0; j < copies; j++)
				runs_cross(&run, best, set, k, lim(ps));
			flush(&run, best);
			for (long j = 0; j < copies; j++)
				runs_cross(&run, best, set, k, lim(ps));
		}
	}
	if (*dead) {
		runs_free(&run);
		req_clear(best);
		if (ex)
			ex->n = 0;
		return;
	}
	if (ex) {
		ex->n = 0;
		if (!run.broke && !ps->fail) {
			for (size_t i = 0; i < run.n; i++) {
				buf_init(&ex->b[i]);
				buf_append(&ex->b[i], run.b[i].data, run.b[i].len);
			}
			ex->n = run.n;
		}
	}
	flush(&run, best);
	runs_free(&run);
}

/* parse_alt - branches separated by '|'; ex as parse_seq's, the strings
 * of every branch (none when one has none or they are too many).  A dead
 * branch (ASCII mode) adds nothing; *dead when every branch is. */
static void parse_alt(struct parse *ps, struct reqlit *out, struct runs *ex, bool *dead)
{
	struct runs acc, bx;	/* not zeroed: REQLIT_SQUEEZE_RUNS buffers */
	bool strings = ex != NULL;

	acc.n = 0;
	acc.broke = false;
	*dead = true;
	out->n = 0;
	for (;;) {
		struct reqlit b;
		bool bdead;
		parse_seq(ps, &b, strings ? &bx : NULL, &bdead);
		if (!bdead) {
			if (*dead)
				*out = b;	/* the first live branch */
			else
				req_union(out, &b);
			*dead = false;
		}
		if (strings && !bdead) {
			if (bx.n == 0 || acc.n + bx.n > lim(ps)) {
				runs_free(&bx);
				runs_free(&acc);
				acc.n = 0;
				strings = false;
			} else {
				for (size_t i = 0; i < bx.n; i++)
					acc.b[acc.n++] = bx.b[i];
				if (ps->squeeze)
					runs_dedupe(&acc);
			}
		}
		if (ps->fail || ps->p >= ps->end || *ps->p != '|')
			break;
		ps->p++;
		if (ps->depth == 0 && top_second != NULL) {
			top_best = NULL;	/* branches: a second of one is not of all */
			req_clear(top_second);
			top_second = NULL;
		}
	}
	if (ex) {
		ex->n = 0;
		if (strings && !*dead)
			*ex = acc;
		else
			runs_free(&acc);
	}
}

/* ------------------------------------------------------ lead bytes */

/* 256 rows of byte sets, allocated when first used; a row not in used
 * holds garbage (most rows are never set, so the array is not zeroed) */
struct rows {
	uint64_t (*r)[4];
	struct bset used;
};

/* what a piece of a pattern can begin with (reqlit_lead): every string
 * it matches is "" (nullable), one byte of one, two bytes of end, or
 * starts with a pair of two (its rows: first bytes, its bits: second
 * bytes) and, when three bytes or longer, with a triple of three (row b
 * of three[a]: the third bytes after a, b).  Its first bytes are one and
 * two's rows.  Supersets all: a piece this walk reads loosely
 * (look-around, anchors, \b: "") admits more. */
struct lead {
	bool nullable;
	struct bset one;
	struct rows two, end;
	struct rows *three;	/* 256 of them, or NULL */
	struct bset has3;	/* the a of three that are set */
};

/* rows_free - release */
static void rows_free(struct rows *r)
{
	free(r->r);
	memset(r, 0, sizeof(*r));
}

/* rows_or - row a of r gets every byte of w */
static void rows_or(struct rows *r, int a, const uint64_t *w)
{
	if (r->r == NULL)
		r->r = xmalloc(256 * sizeof(*r->r));
	if (!bs_has(&r->used, a)) {
		memcpy(r->r[a], w, sizeof(r->r[a]));
		bs_range(&r->used, a, a);
		return;
	}
	for (int i = 0; i < 4; i++)
		r->r[a][i] |= w[i];
}

/* rows_cross - rows a of r for each a in from get every byte of to */
static void rows_cross(struct rows *r, const struct bset *from, const struct bset *to)
{
	if ((to->w[0] | to->w[1] | to->w[2] | to->w[3]) == 0)
		return;
	for (int i = 0; i < 4; i++)
		for (uint64_t m = from->w[i]; m; m &= m - 1)
			rows_or(r, i * 64 + __builtin_ctzll(m), to->w);
}

/* rows_add - every row of b into a */
static void rows_add(struct rows *a, const struct rows *b)
{
	for (int i = 0; i < 4; i++)
		for (uint64_t m = b->used.w[i]; m; m &= m - 1) {
			int k = i * 64 + __builtin_ctzll(m);
			rows_or(a, k, b->r[k]);
		}
}

/* rows_copy - a copy of b into a (a is empty) */
static void rows_copy(struct rows *a, const struct rows *b)
{
	memset(a, 0, sizeof(*a));
	rows_add(a, b);
}

/* lead_triples: the walk of this reqlit_lead call keeps third bytes (a
 * two-byte look-ahead needs none, and they are most of the walk's work:
 * the stock set loaded 3 times slower with them for every pattern) */
static _Thread_local bool lead_triples;

/* three_of - l's rows of third bytes after first byte a, made if new */
static struct rows *three_of(struct lead *l, int a)
{
	if (l->three == NULL)
		l->three = xcalloc(256, sizeof(*l->three));
	bs_range(&l->has3, a, a);
	return &l->three[a];
}

/* three_add - every triple of b into a */
static void three_add(struct lead *a, const struct lead *b)
{
	if (!lead_triples)
		return;
	for (int i = 0; i < 4; i++)
		for (uint64_t m = b->has3.w[i]; m; m &= m - 1) {
			int k = i * 64 + __builtin_ctzll(m);
			rows_add(three_of(a, k), &b->three[k]);
		}
}

/* lead_free - release a piece's sets */
static void lead_free(struct lead *l)
{
	rows_free(&l->two);
	rows_free(&l->end);
	for (int i = 0; l->three && i < 4; i++)
		for (uint64_t m = l->has3.w[i]; m; m &= m - 1)
			rows_free(&l->three[i * 64 + __builtin_ctzll(m)]);
	free(l->three);
	l->three = NULL;
	memset(&l->has3, 0, sizeof(l->has3));
}

/* lead_empty - the piece that matches only "" */
static void lead_empty(struct lead *l)
{
	memset(l, 0, sizeof(*l));
	l->nullable = true;
}

/* lead_copy - a copy of b into a */
static void lead_copy(struct lead *a, const struct lead *b)
{
	memset(a, 0, sizeof(*a));
	a->nullable = b->nullable;
	a->one = b->one;
	rows_copy(&a->two, &b->two);
	rows_copy(&a->end, &b->end);
	three_add(a, b);
}

/* lead_first - the first bytes of l's matches */
static struct bset lead_first(const struct lead *l)
{
	struct bset f;

	for (int i = 0; i < 4; i++)
		f.w[i] = l->one.w[i] | l->two.used.w[i];
	return f;
}

/* lead_cat - acc followed by x (x released).  Each set of acc is made
 * from the ones before, so the order of the steps matters. */
static void lead_cat(struct lead *acc, struct lead *x)
{
	struct bset first = lead_first(x);

	/* three bytes: two of acc's then x's first, one of acc's then two
	 * of x's, or x's own when acc may be "" */
	for (int i = 0; lead_triples && i < 4; i++)
		for (uint64_t m = acc->end.used.w[i]; m; m &= m - 1) {
			int a = i * 64 + __builtin_ctzll(m);
			struct bset after = { { acc->end.r[a][0], acc->end.r[a][1],
						acc->end.r[a][2], acc->end.r[a][3] } };
			rows_cross(three_of(acc, a), &after, &first);
		}
	for (int i = 0; lead_triples && i < 4; i++)
		for (uint64_t m = acc->one.w[i]; m; m &= m - 1) {
			int a = i * 64 + __builtin_ctzll(m);
			if ((x->two.used.w[0] | x->two.used.w[1] | x->two.used.w[2] |
			     x->two.used.w[3]) != 0)
				rows_add(three_of(acc, a), &x->two);
		}
	if (acc->nullable)
		three_add(acc, x);
	/* whole matches of two bytes */
	struct rows end;
	memset(&end, 0, sizeof(end));
	if (x->nullable)
		rows_add(&end, &acc->end);
	rows_cross(&end, &acc->one, &x->one);
	if (acc->nullable)
		rows_add(&end, &x->end);
	rows_free(&acc->end);
	acc->end = end;
	/* two bytes: one of acc's then x's first, or x's own */
	rows_cross(&acc->two, &acc->one, &first);
	if (acc->nullable)
		rows_add(&acc->two, &x->two);
	for (int i = 0; i < 4; i++)
		acc->one.w[i] = (x->nullable ? acc->one.w[i] : 0) |
				(acc->nullable ? x->one.w[i] : 0);
	acc->nullable = acc->nullable && x->nullable;
	lead_free(x);
}

/* lead_or - acc or x (x released) */
static void lead_or(struct lead *acc, struct lead *x)
{
	rows_add(&acc->two, &x->two);
	rows_add(&acc->end, &x->end);
	three_add(acc, x);
	for (int i = 0; i < 4; i++)
		acc->one.w[i] |= x->one.w[i];
	acc->nullable = acc->nullable || x->nullable;
	lead_free(x);
}

/* lead_repeat - x{min,max} (max ULONG_MAX: no maximum).  Three bytes
 * come from at most three copies, so x{min,max} begins as one of x,
 * x x and x x x with min <= copies <= max does, and x{4,} as x x x
 * (the first three bytes of four copies or more are those of three) */
static void lead_repeat(struct lead *x, long min, unsigned long max)
{
	if (max == 0) {
		lead_free(x);
		lead_empty(x);
		return;
	}
	struct lead res, p2, p3, c;
	memset(&res, 0, sizeof(res));	/* matches nothing yet */
	if (min <= 1) {
		lead_copy(&c, x);
		lead_or(&res, &c);
	}
	if (max >= 2) {
		lead_copy(&p2, x);
		lead_copy(&c, x);
		lead_cat(&p2, &c);
		if (max >= 3) {
			lead_copy(&p3, &p2);
			lead_copy(&c, x);
			lead_cat(&p3, &c);
			lead_or(&res, &p3);
		}
		if (min <= 2)
			lead_or(&res, &p2);
		else
			lead_free(&p2);
	}
	if (min == 0)
		res.nullable = true;
	lead_free(x);
	*x = res;
}

/* lead_bytes - the piece that is one byte of bs, either case (a superset
 * whatever the flags say) */
static void lead_bytes(struct lead *l, struct bset *bs)
{
	for (int c = 'A'; c <= 'Z'; c++)
		if (bs_has(bs, c) || bs_has(bs, c + 32)) {
			bs_range(bs, c, c);
			bs_range(bs, c + 32, c + 32);
		}
	memset(l, 0, sizeof(*l));
	l->one = *bs;
}

/* group_open - after '(' for the walks that take a look-around as ""
 * (lead_group, crun_group): true when a body follows (one level deeper:
 * the caller goes back up), *eat false for a look-around.  A comment or
 * an option setting is nothing: a quantifier after it would repeat the
 * atom before it ([a-c](?#){0}z is z), which these walks do not follow. */
static bool group_open(struct parse *ps, bool *eat)
{
	bool keep;
	int h = group_head(ps, eat, &keep);

	if (h == GH_NOTHING && ps->p < ps->end && strchr("*+?{", *ps->p))
		ps->fail = true;
	if (h != GH_BODY)
		return false;
	if (++ps->depth > REQLIT_MAX_DEPTH) {
		ps->fail = true;
		return false;
	}
	return true;
}

/* what the walks of a sequence (lead_seq, crun_seq) find at ps->p */
enum atom { AT_GROUP, AT_EMPTY, AT_BYTES, AT_CRLF, AT_FAIL };

/* atom - the piece of syntax at ps->p, consumed: a group's '(' (the
 * caller parses the rest), "" (anchors, assertions, [[:<:]]), one byte
 * of *bs (a class, an escape, '.', a plain byte), \R (AT_CRLF: one of
 * \n \v \f \r \x85 in *bs, or \r\n); AT_FAIL (ps->fail set) for a
 * quantifier with nothing before it and syntax not followed (\X,
 * back-references, \x{100}...) */
static enum atom atom(struct parse *ps, struct bset *bs)
{
	char c = *ps->p;
	unsigned char set[REQLIT_WIDE_CLASS];

	memset(bs, 0, sizeof(*bs));
	if (c == '(') {
		ps->p++;
		return AT_GROUP;
	}
	if (c == '*' || c == '+' || c == '?') {
		ps->fail = true;
		return AT_FAIL;
	}
	if (c == '[' && ps->end - ps->p >= 7 &&
	    (memcmp(ps->p, "[[:<:]]", 7) == 0 || memcmp(ps->p, "[[:>:]]", 7) == 0)) {
		ps->p += 7;	/* PCRE2's start and end of a word: "" */
		return AT_EMPTY;
	}
	if (c == '[') {
		skip_class(ps, set, bs);
		return AT_BYTES;
	}
	if (c == '\\') {
		char e = ++ps->p < ps->end ? *ps->p : '\0';
		int b = escape(ps);
		if (b >= 0)
			bs_range(bs, b, b);
		else if (e && strchr("dDwWsShHvV", e))
			bs_escape(bs, e);
		else if (e == 'N' || e == 'p' || e == 'P')
			bs_range(bs, 0, 255);
		else if (e == 'R') {
			bs_range(bs, '\n', '\r');
			bs_range(bs, 0x85, 0x85);
			return AT_CRLF;
		} else if (e && strchr("bBAzZGK", e)) {
			return AT_EMPTY;	/* assertions match "" */
		} else {
			ps->fail = true;
			return AT_FAIL;
		}
		return AT_BYTES;
	}
	if (c == '{') {
		unsigned long min, max;
		if (brace_quant(ps, &min, &max) == 1 || ps->fail) {
			ps->fail = true;
			return AT_FAIL;
		}
		ps->p++;
		bs_range(bs, '{', '{');
		return AT_BYTES;
	}
	ps->p++;
	if (c == '^' || c == '$')
		return AT_EMPTY;
	if (c == '.')
		bs_range(bs, 0, 255);
	else
		bs_range(bs, (unsigned char)c, (unsigned char)c);
	return AT_BYTES;
}

static void lead_alt(struct parse *ps, struct lead *out);

/* lead_group - after '(': a group and nothing else (its quantifier is
 * the caller's); a look-around matches "" (group_open) */
static void lead_group(struct parse *ps, struct lead *out)
{
	bool eat;

	lead_empty(out);
	if (!group_open(ps, &eat))
		return;
	struct lead g;
	lead_alt(ps, &g);
	ps->depth--;
	if (!group_close(ps)) {
		lead_free(&g);
		return;
	}
	if (eat)
		*out = g;
	else
		lead_free(&g);
}

/* lead_seq - one branch: up to '|', ')' or the end */
static void lead_seq(struct parse *ps, struct lead *acc)
{
	lead_empty(acc);
	while (ps->p < ps->end && !ps->fail && *ps->p != '|' && *ps->p != ')') {
		struct lead x;
		struct bset bs;
		enum atom at = atom(ps, &bs);

		if (at == AT_FAIL)
			break;
		if (at == AT_GROUP) {
			lead_group(ps, &x);
		} else if (at == AT_EMPTY) {
			lead_empty(&x);
		} else {
			lead_bytes(&x, &bs);
		}
		if (at == AT_CRLF) {	/* \r\n too: two bytes, a whole match */
			struct bset lf = { { 0 } }, cr = { { 0 } };
			bs_range(&lf, '\n', '\n');
			bs_range(&cr, '\r', '\r');
			rows_cross(&x.two, &cr, &lf);
			rows_cross(&x.end, &cr, &lf);
		}
		unsigned long max;
		long min = quantifier(ps, &max);
		if (min >= 0)
			lead_repeat(&x, min, max);
		lead_cat(acc, &x);
	}
}

/* lead_alt - branches separated by '|' */
static void lead_alt(struct parse *ps, struct lead *out)
{
	lead_seq(ps, out);
	while (!ps->fail && ps->p < ps->end && *ps->p == '|') {
		struct lead b;
		ps->p++;
		lead_seq(ps, &b);
		lead_or(out, &b);
	}
}

/* lead_class - append [...] of the bytes of s to b, ranges joined */
static void lead_class(struct buf *b, const uint64_t *w)
{
	buf_putc(b, '[');
	for (int c = 0; c < 256; c++) {
		if (!(w[c >> 6] >> (c & 63) & 1))
			continue;
		int hi = c;
		while (hi + 1 < 256 && (w[(hi + 1) >> 6] >> ((hi + 1) & 63) & 1))
			hi++;
		buf_printf(b, hi > c ? "\\x%02x-\\x%02x" : "\\x%02x", c, hi);
		c = hi;
	}
	buf_putc(b, ']');
}

/* LEAD_TEXT_MAX: a three-byte look-ahead longer than this is given as
 * two bytes */
#define LEAD_TEXT_MAX 32768

static const uint64_t lead_all[4] = { ~0ULL, ~0ULL, ~0ULL, ~0ULL };

/* lead_third - the bytes that may follow a, b in a match starting so:
 * every byte when a, b is a whole match (or nothing is known) */
static void lead_third(const struct lead *l, int a, int b, uint64_t *w)
{
	bool whole = bs_has(&l->end.used, a) && (l->end.r[a][b >> 6] >> (b & 63) & 1);
	bool some = bs_has(&l->has3, a) && bs_has(&l->three[a].used, b);

	if (whole || !some) {
		memcpy(w, lead_all, sizeof(lead_all));
		return;
	}
	memcpy(w, l->three[a].r[b], sizeof(lead_all));
}

/* lead_seconds - after first byte a (not a whole match): the second
 * bytes, grouped by their third ones, as (?:[b...][c...]|[b...]) */
static void lead_seconds(struct buf *out, const struct lead *l, int a, const uint64_t *row)
{
	uint64_t third[256][4];
	struct bset done = { { 0 } };
	bool first = true;

	for (int b = 0; b < 256; b++)
		if (row[b >> 6] >> (b & 63) & 1)
			lead_third(l, a, b, third[b]);
	buf_puts(out, "(?:");
	for (int b = 0; b < 256; b++) {
		if (!(row[b >> 6] >> (b & 63) & 1) || bs_has(&done, b))
			continue;
		uint64_t same[4] = { 0, 0, 0, 0 };
		for (int c = b; c < 256; c++)
			if ((row[c >> 6] >> (c & 63) & 1) && memcmp(third[c], third[b], sizeof(third[b])) == 0) {
				same[c >> 6] |= (uint64_t)1 << (c & 63);
				bs_range(&done, c, c);
			}
		if (!first)
			buf_putc(out, '|');
		first = false;
		lead_class(out, same);
		if (memcmp(third[b], lead_all, sizeof(lead_all)) != 0)
			lead_class(out, third[b]);
	}
	buf_putc(out, ')');
}

/* reqlit_lead - see reqlit.h */
char *reqlit_lead(const char *pattern, const char *flags, double *share, bool three)
{
	struct parse ps = { .p = pattern, .end = pattern + strlen(pattern) };
	struct lead l;

	*share = 1.0;
	if (flags && strchr(flags, 'x'))
		return NULL;
	lead_triples = three;
	lead_alt(&ps, &l);
	if (ps.fail || ps.p != ps.end || l.nullable) {
		lead_free(&l);
		return NULL;
	}
	/* a first byte that may be a whole match, or be followed by any
	 * byte, is enough alone; the others need one of their second
	 * bytes (and those, of their third ones).  First bytes that are
	 * followed alike share a branch. */
	uint64_t row[256][4];
	size_t pairs = 0, firsts = 0;
	for (int a = 0; a < 256; a++) {
		bool alone = bs_has(&l.one, a);
		bool some = bs_has(&l.two.used, a);
		for (int i = 0; i < 4; i++)
			row[a][i] = alone ? lead_all[i] : some ? l.two.r[a][i] : 0;
		size_t n = 0;
		for (int i = 0; i < 4; i++)
			n += (size_t)__builtin_popcountll(row[a][i]);
		pairs += n;
		firsts += n != 0;
	}
	if (pairs == 0 || pairs == firsts * 256) {
		lead_free(&l);
		return NULL;	/* no match at all, or a second byte tells nothing */
	}
	*share = (double)pairs / (double)(firsts * 256);
	struct buf b, tail[256];
	for (int pass = three ? 0 : 1; pass < 2; pass++) {	/* three bytes, else two */
		buf_init(&b);
		buf_puts(&b, "(?=");
		struct bset done = { { 0 } };
		bool first = true;
		for (int a = 0; a < 256; a++) {	/* what follows each first byte */
			buf_init(&tail[a]);
			if ((row[a][0] | row[a][1] | row[a][2] | row[a][3]) == 0 ||
			    memcmp(row[a], lead_all, sizeof(lead_all)) == 0)
				continue;
			if (pass == 0)
				lead_seconds(&tail[a], &l, a, row[a]);
			else
				lead_class(&tail[a], row[a]);
		}
		for (int a = 0; a < 256; a++) {
			if (bs_has(&done, a) || (row[a][0] | row[a][1] | row[a][2] | row[a][3]) == 0)
				continue;
			uint64_t same[4] = { 0, 0, 0, 0 };
			for (int c = a; c < 256; c++)
				if ((row[c][0] | row[c][1] | row[c][2] | row[c][3]) != 0 &&
				    tail[c].len == tail[a].len &&
				    (tail[a].len == 0 || memcmp(tail[c].data, tail[a].data, tail[a].len) == 0)) {
					same[c >> 6] |= (uint64_t)1 << (c & 63);
					bs_range(&done, c, c);
				}
			if (!first)
				buf_putc(&b, '|');
			first = false;
			lead_class(&b, same);
			if (tail[a].len)
				buf_append(&b, tail[a].data, tail[a].len);
		}
		buf_putc(&b, ')');
		for (int a = 0; a < 256; a++)
			buf_free(&tail[a]);
		if (b.len <= LEAD_TEXT_MAX || pass == 1)
			break;
		buf_free(&b);
	}
	lead_free(&l);
	return b.data;
}

/* ------------------------------------------------------------ class runs */

#define RUN REQLIT_RUN_MAX
/* a loop of more bytes than this (.*, [^x]*) breaks the run there: the
 * classes either side of it are too far apart to tell much together */
#define LOOP_MAX 80

/* a run being built: classes in a row, each maybe followed by any
 * number of the bytes of its loop before the next; lead: any number of
 * bytes before the first (what joins it to a run before it) */
struct crun {
	size_t n;
	uint64_t lead[4];
	uint64_t set[2 * RUN][4], loop[2 * RUN][4];
};

/* what a piece of a pattern holds in a plain text (reqlit_class_run).
 * whole: it matches exactly the run pre (n <= RUN; suf and best are the
 * same); else every match starts with pre, ends with suf and holds best
 * somewhere (each may be empty) */
struct cpiece {
	bool dead, whole;
	struct crun pre, suf, best;
};

/* popc - the bytes of a set a plain text has (ASCII) */
static int popc(const uint64_t *w)
{
	return __builtin_popcountll(w[0]) + __builtin_popcountll(w[1]);
}

/* w_or - a |= b (256 bits) */
static void w_or(uint64_t *a, const uint64_t *b)
{
	for (int i = 0; i < 4; i++)
		a[i] |= b[i];
}

/* run_bits - what classes [from, from + m) of r weigh: log2(128 / k)
 * for a class of k bytes, less a bit for each loop between them */
static double run_bits(const uint64_t (*set)[4], const uint64_t (*loop)[4], size_t m)
{
	double bits = 0;

	for (size_t j = 0; j < m; j++) {
		int k = popc(set[j]);
		bits += k > 0 ? log2(128.0 / k) : 0.0;
		if (j + 1 < m && popc(loop[j]) > 0)
			bits -= 1.0;
	}
	return bits;
}

/* reqlit_run_bits - see reqlit.h */
double reqlit_run_bits(const struct reqlit_run *r)
{
	return run_bits((const uint64_t (*)[4])r->set, (const uint64_t (*)[4])r->loop, r->n);
}

/* cr_copy - dst = src[from, from + m), with lead */
static void cr_copy(struct crun *dst, const struct crun *src, size_t from, size_t m,
		    const uint64_t *lead)
{
	uint64_t l[4] = { 0, 0, 0, 0 };

	if (lead)
		memcpy(l, lead, sizeof(l));
	memmove(dst->set, src->set + from, m * sizeof(*dst->set));
	memmove(dst->loop, src->loop + from, m * sizeof(*dst->loop));
	memcpy(dst->lead, l, sizeof(l));
	dst->n = m;
}

/* cr_assign - dst = src (its classes only) */
static void cr_assign(struct crun *dst, const struct crun *src)
{
	if (dst != src)
		cr_copy(dst, src, 0, src->n, src->lead);
}

/* cr_join - out = a then b; false when the loop that joins them would be
 * too wide (out is then not set) */
static bool cr_join(struct crun *out, const struct crun *a, const struct crun *b)
{
	uint64_t glue[4], lead[4];

	memcpy(glue, a->n ? a->loop[a->n - 1] : a->lead, sizeof(glue));
	w_or(glue, b->lead);
	if (popc(glue) > LOOP_MAX && a->n && b->n)
		return false;
	memcpy(lead, a->lead, sizeof(lead));
	if (a->n == 0)
		w_or(lead, b->lead);
	size_t an = a->n;	/* out may be a */
	if (out != a)
		cr_copy(out, a, 0, an, lead);
	else
		memcpy(out->lead, lead, sizeof(lead));
	if (an)
		memcpy(out->loop[an - 1], glue, sizeof(glue));
	memmove(out->set + an, b->set, b->n * sizeof(*out->set));
	memmove(out->loop + an, b->loop, b->n * sizeof(*out->loop));
	out->n = an + b->n;
	return true;
}

/* cp_none - a piece that holds no run known */
static void cp_none(struct cpiece *x)
{
	x->dead = x->whole = false;
	x->pre.n = x->suf.n = x->best.n = 0;
	memset(x->pre.lead, 0, sizeof(x->pre.lead));
	memset(x->suf.lead, 0, sizeof(x->suf.lead));
	memset(x->best.lead, 0, sizeof(x->best.lead));
}

/* cp_assign - x = y */
static void cp_assign(struct cpiece *x, const struct cpiece *y)
{
	x->dead = y->dead;
	x->whole = y->whole;
	cr_assign(&x->pre, &y->pre);
	cr_assign(&x->suf, &y->suf);
	cr_assign(&x->best, &y->best);
}

/* cp_offer - the best window of RUN classes (or all n) of r for x->best */
static void cp_offer(struct cpiece *x, const struct crun *r)
{
	size_t m = r->n < RUN ? r->n : RUN, at = 0;
	double best = -1;

	for (size_t i = 0; i + m <= r->n; i++) {
		double b = run_bits(r->set + i, r->loop + i, m);
		if (b > best) {
			best = b;
			at = i;
		}
	}
	if (m > 0 && best > run_bits((const uint64_t (*)[4])x->best.set,
				     (const uint64_t (*)[4])x->best.loop, x->best.n))
		cr_copy(&x->best, r, at, m, NULL);
}

/* cp_from - x from a run r it matches exactly (which may be longer than
 * RUN: then not whole) */
static void cp_from(struct cpiece *x, const struct crun *r)
{
	x->dead = false;
	if (r->n <= RUN) {
		x->whole = true;
		cr_assign(&x->pre, r);
		cr_assign(&x->suf, r);
		cr_assign(&x->best, r);
		return;
	}
	x->whole = false;
	x->best.n = 0;
	cp_offer(x, r);
	cr_copy(&x->suf, r, r->n - RUN, RUN, r->loop[r->n - RUN - 1]);
	cr_copy(&x->pre, r, 0, RUN, r->lead);	/* last: r may be x->pre */
}

/* cp_bytes - one byte of bs: in a plain text not >= 0x80 nor '&', and a
 * letter in either case; dead when none is left */
static void cp_bytes(struct cpiece *x, const struct bset *bs)
{
	struct bset b = *bs;
	struct crun r;

	cp_none(x);
	b.w[2] = b.w[3] = 0;
	b.w['&' >> 6] &= ~((uint64_t)1 << ('&' & 63));
	for (int c = 'A'; c <= 'Z'; c++)
		if (bs_has(&b, c) || bs_has(&b, c + 32)) {
			bs_range(&b, c, c);
			bs_range(&b, c + 32, c + 32);
		}
	if ((b.w[0] | b.w[1]) == 0) {
		x->dead = true;
		return;
	}
	memset(r.lead, 0, sizeof(r.lead));
	memcpy(r.set[0], b.w, sizeof(b.w));
	memset(r.loop[0], 0, sizeof(r.loop[0]));
	r.n = 1;
	cp_from(x, &r);
}

/* cp_empty - a piece that matches "" only (assertions, look-around) */
static void cp_empty(struct cpiece *x)
{
	cp_none(x);
	x->whole = true;
}

/* cp_cat - acc followed by x */
static void cp_cat(struct cpiece *acc, const struct cpiece *x)
{
	struct crun t;

	if (acc->dead || x->dead) {
		acc->dead = true;
		return;
	}
	if (acc->whole && x->whole && cr_join(&t, &acc->pre, &x->pre)) {
		cp_from(acc, &t);
		return;
	}
	if (cr_join(&t, &acc->suf, &x->pre))	/* across the join */
		cp_offer(acc, &t);
	cp_offer(acc, &x->pre);
	cp_offer(acc, &x->best);
	if (acc->whole && cr_join(&t, &acc->pre, &x->pre))	/* the start */
		cr_copy(&acc->pre, &t, 0, t.n < RUN ? t.n : RUN, t.lead);
	if (x->whole && cr_join(&t, &acc->suf, &x->pre)) {	/* the end */
		size_t m = t.n < RUN ? t.n : RUN;
		cr_copy(&acc->suf, &t, t.n - m, m, t.n > m ? t.loop[t.n - m - 1] : t.lead);
	} else {
		cr_assign(&acc->suf, &x->suf);
	}
	acc->whole = false;
}

/* cr_or - a's classes or b's, place by place over the first m (at_end:
 * the last m, aligned at their ends), with what may come before them */
static void cr_or(struct crun *a, const struct crun *b, bool at_end)
{
	size_t m = a->n < b->n ? a->n : b->n;
	size_t oa = at_end ? a->n - m : 0, ob = at_end ? b->n - m : 0;
	uint64_t lead[4];

	memcpy(lead, oa ? a->loop[oa - 1] : a->lead, sizeof(lead));
	w_or(lead, ob ? b->loop[ob - 1] : b->lead);
	for (size_t j = 0; j < m; j++) {
		w_or(a->set[oa + j], b->set[ob + j]);
		w_or(a->loop[oa + j], b->loop[ob + j]);
	}
	cr_copy(a, a, oa, m, lead);
}

/* cp_or - out or b (one of two branches) */
static void cp_or(struct cpiece *out, const struct cpiece *b)
{
	if (b->dead)
		return;
	if (out->dead) {
		cp_assign(out, b);
		return;
	}
	if (out->whole && b->whole) {	/* aligned at their ends, the longer */
		const struct crun *a = &out->pre;	/* one's first bytes a lead */
		const struct crun *l = a->n >= b->pre.n ? a : &b->pre;
		size_t m = a->n < b->pre.n ? a->n : b->pre.n;
		uint64_t extra[4];
		memcpy(extra, a->lead, sizeof(extra));
		w_or(extra, b->pre.lead);
		for (size_t j = 0; j + m < l->n; j++) {
			w_or(extra, l->set[j]);
			w_or(extra, l->loop[j]);
		}
		cr_or(&out->pre, &b->pre, true);
		w_or(out->pre.lead, extra);
		cp_from(out, &out->pre);
		return;
	}
	cr_or(&out->pre, &b->pre, false);
	cr_or(&out->suf, &b->suf, true);
	out->whole = false;
	out->best.n = 0;
	cp_offer(out, &out->pre);
	cp_offer(out, &out->suf);
}

/* cp_repeat - x{min,max} */
static void cp_repeat(struct cpiece *x, unsigned long min, unsigned long max)
{
	if (min == 0) {
		if (x->dead) {
			cp_empty(x);
		} else if (x->whole) {	/* a gap: its bytes, any number of times */
			struct crun *g = &x->pre;
			for (size_t j = 0; j < g->n; j++) {
				w_or(g->lead, g->set[j]);
				w_or(g->lead, g->loop[j]);
			}
			g->n = 0;
			cp_from(x, g);
		} else {
			cp_none(x);
		}
		return;
	}
	if (x->dead || (x->whole && x->pre.n == 0))
		return;		/* dead, or a gap: the same */
	if (!x->whole) {
		struct crun t;
		if (min >= 2 && cr_join(&t, &x->suf, &x->pre))	/* one copy, the next */
			cp_offer(x, &t);
		return;
	}
	struct crun *one = xmalloc(sizeof(*one)), *r = xmalloc(sizeof(*r));
	cr_assign(one, &x->pre);
	cr_assign(r, one);
	size_t n = one->n;
	unsigned long k = 1;
	bool joined = true;
	while (k < min && r->n + n <= 2 * RUN && (joined = cr_join(r, r, one)))
		k++;
	bool more = max > min;
	if (!joined) {		/* copies do not join: each alone */
		x->whole = false;
	} else if (more && n == 1) {	/* more copies of one byte: its loop */
		w_or(r->loop[r->n - 1], one->lead);
		w_or(r->loop[r->n - 1], one->set[0]);
		w_or(r->loop[r->n - 1], one->loop[0]);
		more = popc(r->loop[r->n - 1]) > LOOP_MAX;
	}
	if (joined && k == min && !more) {
		cp_from(x, r);
	} else if (joined) {	/* starts and ends with copies, holds them */
		x->whole = false;
		x->best.n = 0;
		cp_offer(x, r);
		cr_copy(&x->pre, r, 0, r->n < RUN ? r->n : RUN, r->lead);
		size_t total = n * min, m = total < RUN ? total : RUN;
		while (m > 0 && (k == min ? 0 : (total - m) % n) + m > r->n)
			m--;
		size_t o = k == min ? r->n - m : (total - m) % n;	/* the last m of all copies */
		cr_copy(&x->suf, r, o, m, o ? r->loop[o - 1] : r->lead);
	}
	free(one);
	free(r);
}

static void crun_alt(struct parse *ps, struct cpiece *out);

/* crun_group - after '(': the group (its quantifier is the caller's) */
static void crun_group(struct parse *ps, struct cpiece *x)
{
	bool eat;

	cp_empty(x);
	if (!group_open(ps, &eat))
		return;
	struct cpiece *g = xmalloc(sizeof(*g));
	crun_alt(ps, g);
	ps->depth--;
	if (group_close(ps) && eat)
		cp_assign(x, g);
	free(g);
}

/* crun_seq - one branch: up to '|', ')' or the end */
static void crun_seq(struct parse *ps, struct cpiece *acc)
{
	struct cpiece *x = xmalloc(sizeof(*x));

	cp_empty(acc);
	while (ps->p < ps->end && !ps->fail && *ps->p != '|' && *ps->p != ')') {
		struct bset bs;
		enum atom at = atom(ps, &bs);

		if (at == AT_FAIL)
			break;
		if (at == AT_GROUP)
			crun_group(ps, x);
		else if (at == AT_EMPTY)
			cp_empty(x);
		else if (at == AT_CRLF)
			cp_none(x);	/* one byte or two */
		else
			cp_bytes(x, &bs);
		unsigned long max;
		long min = quantifier(ps, &max);
		if (min >= 0)
			cp_repeat(x, (unsigned long)min, max);
		cp_cat(acc, x);
	}
	free(x);
}

/* crun_alt - branches separated by '|' */
static void crun_alt(struct parse *ps, struct cpiece *out)
{
	crun_seq(ps, out);
	while (!ps->fail && ps->p < ps->end && *ps->p == '|') {
		struct cpiece *b = xmalloc(sizeof(*b));
		ps->p++;
		crun_seq(ps, b);
		cp_or(out, b);
		free(b);
	}
}

/* reqlit_class_run - see reqlit.h */
bool reqlit_class_run(const char *pattern, const char *flags, struct reqlit_run *out)
{
	struct parse ps = { .p = pattern, .end = pattern + strlen(pattern) };

	out->n = 0;
	out->dead = false;
	if (flags && strchr(flags, 'x'))
		return false;
	struct cpiece *x = xmalloc(sizeof(*x));
	crun_alt(&ps, x);
	bool ok = !ps.fail && ps.p == ps.end;
	if (ok && x->dead) {
		out->dead = true;
	} else if (ok) {
		if (!x->whole) {
			cp_offer(x, &x->pre);
			cp_offer(x, &x->suf);
		}
		const struct crun *r = x->whole ? &x->pre : &x->best;
		memcpy(out->set, r->set, r->n * sizeof(*out->set));
		memcpy(out->loop, r->loop, r->n * sizeof(*out->loop));
		out->n = r->n;
		if (out->n)	/* what follows the last class is not the run's */
			memset(out->loop[out->n - 1], 0, sizeof(out->loop[0]));
		ok = reqlit_run_bits(out) >= REQLIT_RUN_BITS;
		if (!ok)
			out->n = 0;
	}
	free(x);
	return ok;
}

#undef RUN

/* find - the analysis, of the text, of the squeezed text or of an ASCII
 * text (where a pattern that cannot match at all is an answer: none) */
static bool find(const char *pattern, const char *flags, struct reqlit *out, bool squeeze,
		 bool ascii)
{
	struct parse ps = { .p = pattern, .end = pattern + strlen(pattern), .squeeze = squeeze,
			    .ascii = ascii };
	bool dead;

	out->n = 0;
	if (flags && strchr(flags, 'x'))
		return false;
	parse_alt(&ps, out, NULL, &dead);
	if (!ps.fail && ps.p == ps.end && dead)
		return true;	/* ASCII mode: no match in an ASCII text */
	if (ps.fail || ps.p != ps.end || req_min(out) < REQLIT_MIN) {
		req_clear(out);
		return false;
	}
	return true;
}

/* reqlit_find - see reqlit.h */
bool reqlit_find(const char *pattern, const char *flags, struct reqlit *out)
{
	return find(pattern, flags, out, false, false);
}

/* reqlit_find2 - see reqlit.h */
bool reqlit_find2(const char *pattern, const char *flags, struct reqlit *out,
		  struct reqlit *second)
{
	second->n = 0;
	top_second = second;
	bool ok = find(pattern, flags, out, false, false);
	bool whole = top_second != NULL;	/* one top-level branch */
	top_best = top_second = NULL;
	/* the second was compared with the best of its time: with the
	 * final one it must share no literal either */
	if (!whole || !ok || req_min(second) < REQLIT_MIN || !req_apart(second, out))
		req_clear(second);
	return ok;
}

/* reqlit_find_uri - see reqlit.h */
bool reqlit_find_uri(const char *pattern, const char *flags, struct reqlit *out)
{
	uri_mode = true;
	bool ok = find(pattern, flags, out, false, false);
	uri_mode = false;
	return ok;
}

/* reqlit_find_squeezed - see reqlit.h */
bool reqlit_find_squeezed(const char *pattern, const char *flags, struct reqlit *out)
{
	return find(pattern, flags, out, true, false);
}

/* reqlit_find_ascii - see reqlit.h */
bool reqlit_find_ascii(const char *pattern, const char *flags, struct reqlit *out)
{
	return find(pattern, flags, out, false, true);
}

/* reqlit_find_squeezed_ascii - see reqlit.h */
bool reqlit_find_squeezed_ascii(const char *pattern, const char *flags, struct reqlit *out)
{
	return find(pattern, flags, out, true, true);
}

/* the bytes a squeezed text keeps: is_alnum */
static const unsigned char keep[256] = {
	['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1,
};

/* reqlit_squeeze_at - see reqlit.h */
size_t reqlit_squeeze_at(const char *s, size_t n, char *out, uint32_t *pos)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {	/* as reqlit_squeeze */
		out[o] = s[i];
		pos[o] = (uint32_t)i;
		o += keep[(unsigned char)s[i]];
	}
	return o;
}

/* reqlit_squeeze - see reqlit.h */
size_t reqlit_squeeze(const char *s, size_t n, char *out)
{
	/* every byte is stored and only a kept one moves on: no branch on
	 * the text (out has room for n bytes, as the header promises) */
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		out[o] = s[i];
		o += keep[(unsigned char)s[i]];
	}
	return o;
}

/* reqlit_clear - release */
void reqlit_clear(struct reqlit *rl)
{
	req_clear(rl);
}
