/*
 * fuzz_reqlit.c - libFuzzer target: the required-literal analysis
 * (rules/reqlit.c) checked against PCRE2 itself.  Input: a pattern, a
 * newline, a subject.  The first byte of the pattern picks the flags (bit
 * 0 i, 1 m, 2 s, 3 x).  Promise checked: when reqlit_find answers and the
 * regex (compiled by re.c, in byte mode) matches the subject, one of the
 * literals occurs in the subject, without regard to ASCII case; every
 * literal is at least REQLIT_MIN bytes and there are at most REQLIT_MAX.
 * The same for reqlit_find_squeezed, whose literals (letters and digits)
 * must occur in the squeezed subject (reqlit_squeeze), and for
 * reqlit_find_ascii when the subject has no byte >= 0x80 (its answer
 * may be no literal at all: then the regex must not match such a text),
 * and for reqlit_find_squeezed_ascii when it has neither such a byte nor
 * '&' (literals in the squeezed subject; none: no match), and for
 * reqlit_find_uri (the literals of a URI's regex).  And reqlit_find2: its
 * first set is reqlit_find's, and a matching subject holds a literal of
 * its second set too.
 * And reqlit_class_run: when the regex matches a plain subject (no byte
 * >= 0x80, no '&'), the subject holds the run of classes, one byte of
 * each in a row; "dead" answers that it cannot match one at all.
 * And what prefilter.c builds on these literals: searching only in the
 * windows around their occurrences (from rewidth_runs's bound, for the
 * subject's longest runs, before an occurrence's end to re_lookbehind
 * after its start, with PCRE2's offset limit) finds the same first match
 * as searching the whole subject; for the squeezed subject's literals,
 * around the bytes of the subject they came from (reqlit_squeeze_at).
 * And rewidth_span: every match (from each of the first 64 offsets)
 * consumes at least its minimum, every byte of it from its set.
 * And rewidth_split: every match of the pattern (from each of the first
 * 64 offsets) is a match of one of its parts from the same start (what
 * prefilter.c's widths by branch rely on).
 * And rewidth_head: the pattern taken as a core, its head followed by its
 * tail is the same regex (the same match from each of the first 64
 * offsets), and each match starts with a match of the head (prefilter.c
 * tries a core only where its head's matches end).
 * And reqlit_lead (two bytes and three): the pattern behind its
 * look-ahead finds the same match as the pattern from every start offset
 * (the first 512), and so
 * does the pattern as re_compile builds it for rules (which adds the
 * look-ahead where it pays, and matches a pattern of fixed strings of
 * bytes and classes without PCRE2: re.c's set, against PCRE2 here).
 */
#include "autoconfig.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "rules/re.h"
#include "rules/reqlit.h"
#include "rules/rewidth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum mode { PLAIN, SQUEEZED, ASCII, SQASCII, URI };

/* the text the literals are sought in: the subject, or its squeezed
 * form with the offset of each of its bytes in the subject; and the
 * subject's bytes that need windows of their own (prefilter.c's
 * odd_windows: the literals of ASCII mode hold only for a match that
 * reads none of them) */
struct lt {
	const char *s;
	size_t len;
	const uint32_t *at;	/* NULL: the subject itself */
	int odd;		/* 0 none, 1 bytes >= 0x80, 2 those and '&' */
};

/* is_odd - subject byte c needs a window of its own */
static bool is_odd(const struct lt *lt, unsigned char c)
{
	return (lt->odd >= 1 && c >= 0x80) || (lt->odd == 2 && c == '&');
}

/* windows_first - the leftmost match over the windows around every
 * occurrence of rl's literals in lt, a window reaching w before the
 * occurrence's end (in the subject); false when a search hit PCRE2's
 * limits */
static bool windows_first(const struct re *re, struct re_scratch *rs, const struct reqlit *rl,
			  const char *subj, size_t slen, const struct lt *lt, size_t w, size_t back,
			  size_t *best_a, size_t *best_b)
{
	*best_a = SIZE_MAX;
	*best_b = 0;
	for (size_t i = 0; i < rl->n; i++) {
		for (size_t q = 0; q + rl->len[i] <= lt->len; q++) {
			if (!mem_holds_nocase(lt->s + q, rl->len[i], rl->s[i], rl->len[i]))
				continue;
			size_t start = q, end = q + rl->len[i], a, b;
			if (lt->at) {	/* as prefilter.c's on_match */
				start = lt->at[q];
				end = lt->at[end - 1] + 1;
			}
			size_t lo = w == REWIDTH_NONE || end <= w ? 0 : end - w;
			enum re_result r = re_match_upto(re, subj, slen,
							 lo < start + back ? lo : start + back,
							 start + back, rs, &a, &b);
			if (r == RE_LIMIT || r == RE_ERROR)
				return false;
			if (r == RE_MATCH && a < *best_a) {
				*best_a = a;
				*best_b = b;
			}
		}
	}
	for (size_t p = 0; lt->odd && p < slen; p++) {	/* as odd_windows */
		size_t a, b;
		if (!is_odd(lt, (unsigned char)subj[p]))
			continue;
		if (w == REWIDTH_NONE)
			return false;	/* prefilter.c searches the whole text */
		enum re_result r = re_match_upto(re, subj, slen, p + 1 > w ? p + 1 - w : 0,
						 p + back, rs, &a, &b);
		if (r == RE_LIMIT || r == RE_ERROR)
			return false;
		if (r == RE_MATCH && a < *best_a) {
			*best_a = a;
			*best_b = b;
		}
	}
	return true;
}

/* window_check - the leftmost match over the windows around every
 * occurrence of rl's literals in lt is [a0, b0), the whole subject's
 * first: with the windows of the whole pattern's width, and (lead: the
 * literals are reqlit_find's) of rewidth_lead's */
static void window_check(const struct re *re, struct re_scratch *rs, const struct reqlit *rl,
			 const char *pat, const char *flags, const char *subj, size_t slen,
			 const struct lt *lt, bool lead, size_t a0, size_t b0)
{
	size_t w = REWIDTH_NONE, back = re_lookbehind(re), runs[REWIDTH_RUNS];
	size_t best_a, best_b, max = rewidth_max(pat, flags);
	struct rewidth rw;

	rewidth_text_runs(subj, slen, (1u << REWIDTH_RUNS) - 1, runs);
	if (rewidth_runs(pat, flags, &rw)) {	/* the bound for this subject */
		w = rewidth_eval(&rw, runs);
		bool flat = true;
		for (int k = 0; k < REWIDTH_RUNS; k++)
			flat &= rw.k[k] == 0;
		if (max != (flat ? rw.c : REWIDTH_NONE))
			abort();	/* rewidth_max is the bound without runs */
	} else if (max != REWIDTH_NONE) {
		abort();
	}

	if (w != REWIDTH_NONE && b0 - a0 > w)
		abort();	/* a match wider than the bound */
	if (strstr(pat, "\\K") || back == RE_NO_LIMIT)
		return;		/* \K reports a later start than the attempt's */
	if (!windows_first(re, rs, rl, subj, slen, lt, w, back, &best_a, &best_b))
		return;
	if (best_a != a0 || best_b != b0)
		abort();	/* the windows missed the first match */
	if (lead && rewidth_lead(pat, flags, rl, &rw)) {
		w = rewidth_eval(&rw, runs);
		if (windows_first(re, rs, rl, subj, slen, lt, w, back, &best_a, &best_b) &&
		    (best_a != a0 || best_b != b0))
			abort();	/* the lead's windows missed it */
	}
}

/* check - one analysis's promise on pat and subj[0, slen): reqlit_find's,
 * reqlit_find_squeezed's over the squeezed subject, reqlit_find_ascii's
 * when the subject is ASCII, reqlit_find_squeezed_ascii's over the
 * squeezed subject when it is ASCII without '&'; and the windows around
 * the occurrences of the literals (in ASCII modes, and around the bytes
 * that break their promise) */
static void check(const char *pat, const char *flags, const char *subj, size_t slen, enum mode mode)
{
	struct reqlit rl;
	char *err = NULL;
	bool squeezed = mode == SQUEEZED || mode == SQASCII;
	bool ascii = mode == ASCII || mode == SQASCII;
	bool ok = mode == SQUEEZED ? reqlit_find_squeezed(pat, flags, &rl) :
		  mode == ASCII ? reqlit_find_ascii(pat, flags, &rl) :
		  mode == SQASCII ? reqlit_find_squeezed_ascii(pat, flags, &rl) :
		  mode == URI ? reqlit_find_uri(pat, flags, &rl) :
		  reqlit_find(pat, flags, &rl);

	if (!ok) {
		if (rl.n != 0)
			abort();
		return;
	}
	if ((rl.n == 0 && !ascii) || rl.n > REQLIT_MAX)
		abort();
	int odd = 0;	/* the promise is for ASCII texts (without '&') */
	for (size_t i = 0; ascii && i < slen; i++)
		if ((unsigned char)subj[i] >= 0x80 || (mode == SQASCII && subj[i] == '&'))
			odd = mode == SQASCII ? 2 : 1;
	for (size_t i = 0; i < rl.n; i++) {
		if (rl.len[i] < REQLIT_MIN)
			abort();
		for (size_t k = 0; squeezed && k < rl.len[i]; k++)
			if (!isalnum((unsigned char)rl.s[i][k]))
				abort();	/* the squeezed text has none */
	}
	struct re *re = re_compile(pat, strlen(pat), flags, &err);
	if (re && re_bytes(re)) {
		struct re_scratch *rs = re_scratch_new();
		size_t a, b;
		if (re_match(re, subj, slen, 0, rs, &a, &b) == RE_MATCH) {
			char *sq = xmalloc(slen + 1);
			uint32_t *at = xmalloc((slen + 1) * sizeof(*at));
			struct lt lt = { subj, slen, NULL, odd };
			if (squeezed)
				lt = (struct lt){ sq, reqlit_squeeze_at(subj, slen, sq, at), at, odd };
			if (squeezed && lt.len != reqlit_squeeze(subj, slen, sq))
				abort();	/* the two squeezes differ */
			bool found = false;
			for (size_t i = 0; i < rl.n && !found; i++)
				found = mem_holds_nocase(lt.s, lt.len, rl.s[i], rl.len[i]);
			if (!found && !odd)
				abort();	/* a match without any literal */
			window_check(re, rs, &rl, pat, flags, subj, slen, &lt, mode == PLAIN, a, b);
			free(sq);
			free(at);
		}
		re_scratch_free(rs);
	}
	re_free(re);
	free(err);
	reqlit_clear(&rl);
}

/* second_check - reqlit_find2's promise: its first set is reqlit_find's,
 * and when the regex matches the subject, the subject holds a literal of
 * the second set too (prefilter.c's gates) */
static void second_check(const char *pat, const char *flags, const char *subj, size_t slen)
{
	struct reqlit one, first, second;
	char *err = NULL;
	bool ok = reqlit_find(pat, flags, &one), ok2 = reqlit_find2(pat, flags, &first, &second);

	if (ok != ok2 || one.n != first.n || (!ok2 && second.n) || second.n > REQLIT_MAX)
		abort();
	for (size_t i = 0; i < one.n; i++)
		if (one.len[i] != first.len[i] || memcmp(one.s[i], first.s[i], one.len[i]) != 0)
			abort();	/* not reqlit_find's first set */
	for (size_t i = 0; i < second.n; i++)
		if (second.len[i] < REQLIT_MIN)
			abort();
	struct re *re = second.n ? re_compile(pat, strlen(pat), flags, &err) : NULL;
	if (re && re_bytes(re)) {
		struct re_scratch *rs = re_scratch_new();
		size_t a, b;
		if (re_match(re, subj, slen, 0, rs, &a, &b) == RE_MATCH) {
			bool found = false;
			for (size_t i = 0; i < second.n && !found; i++)
				found = mem_holds_nocase(subj, slen, second.s[i], second.len[i]);
			if (!found)
				abort();	/* a match without a literal of the second set */
		}
		re_scratch_free(rs);
	}
	re_free(re);
	free(err);
	reqlit_clear(&one);
	reqlit_clear(&first);
	reqlit_clear(&second);
}

/* class_run_check - reqlit_class_run's promise (prefilter.c's runs) */
static void class_run_check(const char *pat, const char *flags, const char *subj, size_t slen)
{
	struct reqlit_run cr;
	char *err = NULL;

	if (!reqlit_class_run(pat, flags, &cr))
		return;
	if (cr.n > REQLIT_RUN_MAX || (cr.dead && cr.n) ||
	    (!cr.dead && reqlit_run_bits(&cr) < REQLIT_RUN_BITS))
		abort();
	if (!mem_ascii_only(subj, slen) || memchr(subj, '&', slen) != NULL)
		return;
	struct re *re = re_compile(pat, strlen(pat), flags, &err);
	if (re && re_bytes(re)) {
		struct re_scratch *rs = re_scratch_new();
		size_t a, b;
		if (re_match(re, subj, slen, 0, rs, &a, &b) == RE_MATCH) {
			/* the run with its loops, as prefilter.c's shift-and */
			uint32_t d = 0, end = (uint32_t)1 << (cr.n ? cr.n - 1 : 0);
			bool found = false;
			for (size_t i = 0; !cr.dead && cr.n && !found && i < slen; i++) {
				unsigned char c = (unsigned char)subj[i];
				uint32_t in = 0, stay = 0;
				for (size_t j = 0; j < cr.n; j++) {
					in |= (uint32_t)(cr.set[j][c >> 6] >> (c & 63) & 1) << j;
					stay |= (uint32_t)(cr.loop[j][c >> 6] >> (c & 63) & 1) << j;
				}
				d = (((d << 1) | 1) & in) | (d & stay);
				found = (d & end) != 0;
			}
			if (!found)
				abort();	/* a match without the run, or "dead" */
		}
		re_scratch_free(rs);
	}
	re_free(re);
	free(err);
}

/* same_matches - x and y find the same match (or none) from every start
 * offset of subj, match limits aside */
static void same_matches(const struct re *x, const struct re *y, const char *subj, size_t slen)
{
	struct re_scratch *rs = re_scratch_new();

	for (size_t off = 0; off <= slen && off <= 512; off++) {
		size_t a1 = 0, b1 = 0, a2 = 0, b2 = 0;
		enum re_result r1 = re_match(x, subj, slen, off, rs, &a1, &b1);
		enum re_result r2 = re_match(y, subj, slen, off, rs, &a2, &b2);
		if (r1 == RE_LIMIT || r2 == RE_LIMIT || r1 == RE_ERROR || r2 == RE_ERROR)
			break;
		if (r1 != r2 || a1 != a2 || b1 != b2)
			abort();	/* the look-ahead lost or moved a match */
	}
	re_scratch_free(rs);
}

/* lead_check - reqlit_lead's promise, by two bytes and by three, and
 * re_compile's use of it */
static void lead_check(const char *pat, const char *flags, const char *subj, size_t slen)
{
	double share;
	char *err = NULL;
	struct re *plain = re_compile_once(pat, strlen(pat), flags, &err);

	for (int three = 0; three < 2; three++) {
		char *lead = reqlit_lead(pat, flags, &share, three);
		if (lead && (share <= 0.0 || share >= 1.0))
			abort();
		if (lead && plain && re_bytes(plain)) {
			char *both = xasprintf("%s%s", lead, pat);
			struct re *led = re_compile_once(both, strlen(both), flags, &err);
			if (led)
				same_matches(plain, led, subj, slen);
			re_free(led);
			free(both);
		}
		free(lead);
	}
	if (plain == NULL || !re_bytes(plain)) {
		re_free(plain);
		free(err);
		return;
	}
	struct re *rule = re_compile(pat, strlen(pat), flags, &err);
	if (rule)
		same_matches(plain, rule, subj, slen);
	re_free(rule);
	re_free(plain);
	free(err);
}

/* span_check - rewidth_span's promise on pat and subj[0, slen) */
static void span_check(const char *pat, const char *flags, const char *subj, size_t slen)
{
	uint64_t set[4];
	size_t min, a, b;
	char *err = NULL;

	if (!rewidth_span(pat, flags, set, &min)) {
		if (min != 0)
			abort();
		return;
	}
	if (min == 0)
		abort();
	struct re *re = re_compile(pat, strlen(pat), flags, &err);
	if (re && re_bytes(re)) {	/* what prefilter.c asks of a slot */
		struct re_scratch *rs = re_scratch_new();
		for (size_t off = 0; off <= slen && off < 64; off = a + 1) {
			if (re_match(re, subj, slen, off, rs, &a, &b) != RE_MATCH)
				break;
			if (b - a < min)
				abort();	/* shorter than the minimum */
			for (size_t j = a; j < b; j++)
				if (!(set[(unsigned char)subj[j] >> 6] >> ((unsigned char)subj[j] & 63) & 1))
					abort();	/* a byte outside the set */
		}
		re_scratch_free(rs);
	}
	re_free(re);
	free(err);
}

/* split_check - rewidth_split's promise on pat and subj[0, slen) */
static void split_check(const char *pat, const char *flags, const char *subj, size_t slen)
{
	char **parts, *err = NULL;
	size_t n = rewidth_split(pat, flags, 16, &parts);

	if (n == 1 || n > 16)
		abort();	/* a split has two parts at least */
	struct re *re = n ? re_compile_once(pat, strlen(pat), flags, &err) : NULL;
	struct re **pre = xcalloc(n + 1, sizeof(*pre));
	bool all = re != NULL;
	for (size_t i = 0; i < n; i++) {
		free(err);
		err = NULL;
		pre[i] = re_compile_once(parts[i], strlen(parts[i]), flags, &err);
		all = all && pre[i] != NULL;	/* a part PCRE2 refuses: not checked */
	}
	struct re_scratch *rs = re_scratch_new();
	size_t a, b, pa, pb;
	for (size_t off = 0; all && off <= slen && off < 64; off = a + 1) {
		enum re_result r = re_match(re, subj, slen, off, rs, &a, &b);
		if (r != RE_MATCH)
			break;
		bool held = false, limit = false;
		for (size_t i = 0; i < n && !held; i++) {
			r = re_match_upto(pre[i], subj, slen, a, a, rs, &pa, &pb);
			held = r == RE_MATCH && pa == a;
			limit = limit || r == RE_LIMIT || r == RE_ERROR;
		}
		if (!held && !limit)
			abort();	/* a match no part has from its start */
	}
	re_scratch_free(rs);
	for (size_t i = 0; i < n; i++) {
		re_free(pre[i]);
		free(parts[i]);
	}
	free(pre);
	free(parts);
	re_free(re);
	free(err);
}

/* head_check - rewidth_head's promise on pat and subj[0, slen) */
static void head_check(const char *pat, const char *flags, const char *subj, size_t slen)
{
	char *head, *tail, *err = NULL;

	if (!rewidth_head(pat, &head, &tail))
		return;
	char *joined = xasprintf("%s%s", head, tail);
	struct re *re = re_compile_once(pat, strlen(pat), flags, &err), *jr = NULL, *hr = NULL;
	if (re != NULL) {
		free(err);
		err = NULL;
		jr = re_compile_once(joined, strlen(joined), flags, &err);
		free(err);
		err = NULL;
		hr = re_compile_once(head, strlen(head), flags, &err);
	}
	struct re_scratch *rs = re_scratch_new();
	for (size_t off = 0; re && jr && hr && off <= slen && off < 64; off++) {
		size_t a, b, ja, jb, ha, hb;
		enum re_result r = re_match(re, subj, slen, off, rs, &a, &b);
		enum re_result jrr = re_match(jr, subj, slen, off, rs, &ja, &jb);
		if (r == RE_LIMIT || r == RE_ERROR || jrr == RE_LIMIT || jrr == RE_ERROR)
			break;
		if (r != jrr || (r == RE_MATCH && (a != ja || b != jb)))
			abort();	/* head and tail are not the core */
		if (r != RE_MATCH)
			break;
		enum re_result hrr = re_match_upto(hr, subj, slen, a, a, rs, &ha, &hb);
		if (hrr == RE_NOMATCH || (hrr == RE_MATCH && ha != a))
			abort();	/* a match that does not start with the head */
	}
	re_scratch_free(rs);
	re_free(re);
	re_free(jr);
	re_free(hr);
	free(err);
	free(joined);
	free(head);
	free(tail);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	const char *nl = memchr(data + 1, '\n', size - 1);
	size_t plen = nl ? (size_t)(nl - (const char *)data) - 1 : size - 1;
	if (memchr(data + 1, '\0', plen))
		return 0;	/* rule lines hold no NUL */
	char flags[5], *f = flags;
	if (data[0] & 1) *f++ = 'i';
	if (data[0] & 2) *f++ = 'm';
	if (data[0] & 4) *f++ = 's';
	if (data[0] & 8) *f++ = 'x';
	*f = '\0';
	char *pat = xstrndup((const char *)data + 1, plen);
	const char *subj = nl ? nl + 1 : "";
	size_t slen = nl ? size - plen - 2 : 0;

	check(pat, flags, subj, slen, PLAIN);
	second_check(pat, flags, subj, slen);
	class_run_check(pat, flags, subj, slen);
	check(pat, flags, subj, slen, SQUEEZED);
	check(pat, flags, subj, slen, ASCII);
	check(pat, flags, subj, slen, SQASCII);
	check(pat, flags, subj, slen, URI);
	lead_check(pat, flags, subj, slen);
	span_check(pat, flags, subj, slen);
	split_check(pat, flags, subj, slen);
	head_check(pat, flags, subj, slen);
	free(pat);
	return 0;
}
