/*
 * rewidth.c - an upper bound of how far past the start of a match attempt
 * a regex reaches (rewidth.h).  prefilter.c pairs it with the position of
 * a literal every match holds: a match that holds the literal occurrence
 * ending at e starts at e - width or later, so PCRE2 is started there
 * instead of at the start of the text.
 *
 * The bound must never be too small; too large only costs time.  So the
 * walk follows PCRE2's syntax only as far as it is sure of it and gives
 * up (REWIDTH_NONE) on anything else.  Each piece has two figures: the
 * bytes it consumes at most (adv) and the bytes past its start it may
 * inspect (reach: adv, or more with a look-ahead).  In a sequence they
 * add up (reach of a piece counts from where it starts); an alternation
 * takes the largest branch; a quantifier {n,m} multiplies by m; * + and
 * {n,} are unbounded.  Every atom is one byte (byte mode: the callers
 * use only regexes that re_bytes accepts), \R two; anchors, \b, \K and
 * look-behinds none (a look-behind inspects only what lies before the
 * point where it stands, which is inside the match).
 *
 * Limits: REWIDTH_MAX_DEPTH nested groups; figures above REWIDTH_CAP
 * give REWIDTH_NONE.  Stateless and thread-safe.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "base/vec16.h"
#include "rules/re.h"
#include "rules/reqlit.h"
#include "rules/rewidth.h"

#define REWIDTH_MAX_DEPTH 64
#define INF ((size_t)-1)

struct wp {
	const char *p, *end;
	int depth;
	int behind;		/* look-behinds open around p */
	bool dotall;		/* '.' may match a newline somewhere */
	bool fail;		/* unbounded, too large, or not understood */
};

/* a length: c + the sum of k[i] times the longest run of class i */
struct lin {
	size_t c, k[REWIDTH_RUNS];
};

/* one piece: bytes consumed, bytes inspected from its start */
struct ext {
	struct lin adv, reach;
};

static struct ext alt(struct wp *w);

/* capped - w fails when x is past the cap; x */
static size_t capped(struct wp *w, size_t x)
{
	if (x > REWIDTH_CAP)
		w->fail = true;
	return x;
}

/* lin_add - a + b (w fails past the cap) */
static struct lin lin_add(struct wp *w, struct lin a, struct lin b)
{
	a.c = capped(w, a.c + b.c);
	for (int i = 0; i < REWIDTH_RUNS; i++)
		a.k[i] = capped(w, a.k[i] + b.k[i]);
	return a;
}

/* lin_max - a bound of both a and b: the larger of each term */
static struct lin lin_max(struct lin a, struct lin b)
{
	a.c = a.c > b.c ? a.c : b.c;
	for (int i = 0; i < REWIDTH_RUNS; i++)
		a.k[i] = a.k[i] > b.k[i] ? a.k[i] : b.k[i];
	return a;
}

/* lin_scale - a times m (m <= 65535: quantifier's cap) */
static struct lin lin_scale(struct wp *w, struct lin a, size_t m)
{
	a.c = capped(w, a.c * m);
	for (int i = 0; i < REWIDTH_RUNS; i++)
		a.k[i] = capped(w, a.k[i] * m);
	return a;
}

/* lin_of - the constant n */
static struct lin lin_of(size_t n)
{
	return (struct lin){ .c = n };
}

/* each byte's run classes, bit i for class i: 0 word bytes
 * [A-Za-z0-9_], 1 \s ([\t-\r ]), 2 \S, 3 every byte but \n; an atom's
 * runs are bounded by the first class that holds all its bytes */
static const unsigned char run_tab[256] = {
	12, 12, 12, 12, 12, 12, 12, 12, 12, 10,  2, 10, 10, 10, 12, 12,
	12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
	10, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
	13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 12, 12, 12, 12, 12, 12,
	12, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13,
	13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 12, 12, 12, 12, 13,
	12, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13,
	13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 13, 12, 12, 12, 12, 12,
	12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
	12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
	12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
	12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
	12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
	12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
	12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
	12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
};

/* RUN_LETTER - the class of one letter's repeats, which no run_tab bit
 * stands for: which bytes make a run depends on the run, not on a set */
#define RUN_LETTER 4

/* in_class - byte c is of run class k (but RUN_LETTER) */
static bool in_class(int k, int c)
{
	return run_tab[c] >> k & 1;
}

/* one_letter - set is one letter, in one case or both */
static bool one_letter(const uint64_t set[4])
{
	int lower = -1;

	for (int c = 0; c < 256; c++) {
		if (!(set[c >> 6] >> (c & 63) & 1))
			continue;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
			return false;
		if (lower >= 0 && (c | 0x20) != lower)
			return false;
		lower = c | 0x20;
	}
	return lower >= 0;
}

/* run_class - the run class holding every byte of set, or -1: one
 * letter's own repeats (the tightest) when it is one letter */
static int run_class(const uint64_t set[4])
{
	if (one_letter(set))
		return RUN_LETTER;
	for (int k = 0; k < RUN_LETTER; k++) {
		bool all = true;
		for (int c = 0; c < 256 && all; c++)
			if (set[c >> 6] >> (c & 63) & 1)
				all = in_class(k, c);
		if (all)
			return k;
	}
	return -1;
}

/* number - decimal digits at p (at most 5: PCRE2's quantifiers stop at
 * 65535); false when there are none or too many */
static bool number(struct wp *w, size_t *v)
{
	size_t n = 0;

	*v = 0;
	while (w->p < w->end && isdigit((unsigned char)*w->p) && n < 6) {
		*v = *v * 10 + (size_t)(*w->p - '0');
		w->p++;
		n++;
	}
	return n > 0 && n < 6;
}

/* quantifier - after an atom: its largest repeat count (1: none, INF:
 * unbounded); a `{` that is not exactly {n}, {n,} or {n,m} but starts
 * like one fails (PCRE2 versions read {,n} differently), any other `{`
 * is left as a literal */
static size_t quantifier(struct wp *w)
{
	size_t max = 1, min;

	if (w->p >= w->end)
		return 1;
	switch (*w->p) {
	case '*':
	case '+':
		w->p++;
		max = INF;
		break;
	case '?':
		w->p++;
		break;
	case '{':
		if (w->p + 1 < w->end && (w->p[1] == ' ' || w->p[1] == '\t')) {
			w->fail = true;	/* PCRE2 10.43 reads "{ 2}" as a quantifier */
			return 1;
		}
		if (w->p + 1 >= w->end || (!isdigit((unsigned char)w->p[1]) && w->p[1] != ','))
			return 1;	/* a literal { */
		w->p++;
		if (!number(w, &min) || w->p >= w->end) {
			w->fail = true;
			return 1;
		}
		max = min;
		if (*w->p == ',') {
			w->p++;
			if (w->p < w->end && *w->p == '}')
				max = INF;
			else if (!number(w, &max) || max < min)
				w->fail = true;
		}
		if (w->p >= w->end || *w->p != '}') {
			w->fail = true;
			return 1;
		}
		w->p++;
		break;
	default:
		return 1;
	}
	if (w->p < w->end && (*w->p == '?' || *w->p == '+'))
		w->p++;		/* lazy, possessive */
	if (w->p < w->end && (*w->p == '*' || *w->p == '+' || *w->p == '?' ||
			      (*w->p == '{' && w->p + 1 < w->end &&
			       (isdigit((unsigned char)w->p[1]) || w->p[1] == ','))))
		w->fail = true;	/* a quantifier after a quantifier */
	return max;
}

/* skip_to - past the next c; fails if there is none */
static void skip_to(struct wp *w, char c)
{
	const char *q = memchr(w->p, c, (size_t)(w->end - w->p));

	if (q == NULL)
		w->fail = true;
	w->p = q ? q + 1 : w->end;
}

/* escape - after a backslash: the bytes it consumes (0 for assertions) */
static size_t escape(struct wp *w)
{
	if (w->p >= w->end) {
		w->fail = true;
		return 0;
	}
	char c = *w->p++;
	switch (c) {
	case 'b': case 'B': case 'A': case 'z': case 'Z': case 'K':
		return 0;
	case 'd': case 'D': case 'w': case 'W': case 's': case 'S':
	case 'h': case 'H': case 'v': case 'V':
	case 't': case 'n': case 'r': case 'f': case 'e': case 'a':
		return 1;
	case 'R':
		return 2;	/* \r\n */
	case 'N':
		if (w->p < w->end && *w->p == '{')
			w->fail = true;
		return 1;
	case 'x':
		if (w->p < w->end && *w->p == '{') {
			skip_to(w, '}');
			return 1;
		}
		for (int i = 0; i < 2 && w->p < w->end && isxdigit((unsigned char)*w->p); i++)
			w->p++;
		return 1;
	case 'o':
		if (w->p >= w->end || *w->p != '{')
			w->fail = true;
		else
			skip_to(w, '}');
		return 1;
	case '0':
		for (int i = 0; i < 2 && w->p < w->end && *w->p >= '0' && *w->p <= '7'; i++)
			w->p++;
		return 1;
	case 'c':
		if (w->p >= w->end)
			w->fail = true;
		else
			w->p++;
		return 1;
	case 'p':
	case 'P':
		if (w->p < w->end && *w->p == '{')
			skip_to(w, '}');
		else if (w->p < w->end)
			w->p++;
		else
			w->fail = true;
		return 1;
	default:
		/* \G, \X, \Q...\E, \g, \k, back-references, anything else
		 * alphanumeric; other escaped bytes stand for themselves */
		if (isalnum((unsigned char)c))
			w->fail = true;
		return 1;
	}
}

/* posix_end - at '[' inside a class followed by ':', '.' or '=': the end
 * of a POSIX class there, as PCRE2's check_posix_syntax finds it, or
 * NULL (then the '[' is a member) */
static const char *posix_end(const char *p, const char *end)
{
	char term = p[1];

	if (end - p < 4)
		return NULL;
	for (p += 2; end - p >= 2; p++) {	/* from after the terminator */
		if (*p == '\\' && (p[1] == ']' || p[1] == '\\'))
			p++;
		else if ((*p == '[' && p[1] == term) || *p == ']')
			return NULL;
		else if (*p == term && p[1] == ']')
			return p + 2;
	}
	return NULL;
}

/* klass - after '[': past the class (one byte) */
static void klass(struct wp *w)
{
	if (w->p < w->end && *w->p == '^')
		w->p++;
	if (w->p < w->end && *w->p == ']')
		w->p++;		/* a leading ] is a member */
	while (w->p < w->end) {
		char c = *w->p;
		if (c == ']') {
			w->p++;
			return;
		}
		if (c == '\\') {
			if (w->p + 1 >= w->end || w->p[1] == 'Q' || w->p[1] == 'E')
				break;
			/* \c takes the next byte whatever it is, \ or ] too */
			w->p += w->p[1] == 'c' ? 3 : 2;
			if (w->p > w->end)
				break;
		} else if (c == '[' && w->p + 1 < w->end &&
			   (w->p[1] == ':' || w->p[1] == '.' || w->p[1] == '=')) {
			const char *e = posix_end(w->p, w->end);
			w->p = e ? e : w->p + 1;
		} else {
			w->p++;
		}
	}
	w->fail = true;
}

/* name_then - a group name ([A-Za-z_][A-Za-z0-9_]*, as PCRE2 wants)
 * and its closing byte; anything else, such as (?<*...), the
 * non-atomic look-behind of PCRE2 10.42, fails */
static bool name_then(struct wp *w, char close)
{
	const char *q = w->p;

	if (q < w->end && (isalpha((unsigned char)*q) || *q == '_'))
		while (q < w->end && (isalnum((unsigned char)*q) || *q == '_'))
			q++;
	if (q == w->p || q >= w->end || *q != close) {
		w->fail = true;
		return false;
	}
	w->p = q + 1;
	return true;
}

/* group - after '(': the group (not its quantifier) */
static struct ext group(struct wp *w)
{
	struct ext none = { lin_of(0), lin_of(0) }, in;
	bool ahead = false, behind = false;

	if (w->p >= w->end || *w->p == '*' || ++w->depth > REWIDTH_MAX_DEPTH) {
		w->fail = true;		/* (*VERB) */
		return none;
	}
	if (*w->p == '?') {
		w->p++;
		char c = w->p < w->end ? *w->p : '\0';
		if (c == '#') {
			skip_to(w, ')');
			w->depth--;
			/* a quantifier after a comment repeats what came before
			 * it: not followed */
			if (w->p < w->end && strchr("*+?{", *w->p) && *w->p != '\0')
				w->fail = true;
			return none;
		} else if (c == ':' || c == '>' || c == '|') {
			w->p++;
		} else if (c == '=' || c == '!') {
			w->p++;
			ahead = true;
		} else if (c == '<' && w->p + 1 < w->end && (w->p[1] == '=' || w->p[1] == '!')) {
			w->p += 2;
			behind = true;
		} else if (c == '<' || c == '\'' || (c == 'P' && w->p + 1 < w->end && w->p[1] == '<')) {
			w->p += c == 'P' ? 2 : 1;	/* a named group */
			if (!name_then(w, c == '\'' ? '\'' : '>'))
				return none;
		} else {	/* options: (?i) or (?i-s:...) */
			const char *q = w->p;
			while (q < w->end && *q != '\0' && strchr("imnsJU-^", *q))
				q++;
			if (q == w->p || q >= w->end || (*q != ')' && *q != ':')) {
				w->fail = true;	/* recursion, conditions, callouts, x mode */
				return none;
			}
			w->p = q + 1;
			if (*q == ')') {
				w->depth--;
				return none;
			}
		}
	}
	if (ahead && w->behind)
		w->fail = true;	/* it could look past where the look-behind stands */
	w->behind += behind;
	in = alt(w);
	w->behind -= behind;
	w->depth--;
	if (w->p >= w->end || *w->p != ')') {
		w->fail = true;
		return none;
	}
	w->p++;
	if (behind)
		return none;
	if (ahead)
		return (struct ext){ lin_of(0), in.reach };
	return in;
}

/* seq - one branch, up to '|', ')' or the end */
static struct ext seq(struct wp *w)
{
	struct ext cur = { lin_of(0), lin_of(0) };

	while (w->p < w->end && !w->fail && *w->p != '|' && *w->p != ')') {
		struct ext a = { lin_of(1), lin_of(1) };
		const char *at = w->p;
		char c = *w->p++;
		switch (c) {
		case '(':
			a = group(w);
			break;
		case '[':
			klass(w);
			break;
		case '\\':
			a.adv = a.reach = lin_of(escape(w));
			break;
		case '^':
		case '$':
			a.adv = a.reach = lin_of(0);
			break;
		case '*':
		case '+':
		case '?':
			w->fail = true;	/* nothing to repeat */
			break;
		default:
			break;	/* a byte, '.' or a literal '{' */
		}
		const char *atom_end = w->p;
		size_t m = quantifier(w);
		if (w->fail)
			break;
		struct ext q = { lin_of(0), lin_of(0) };
		if (m == INF) {
			/* a one-byte atom repeated without bound matches a run
			 * of its bytes: no longer than the text's longest run
			 * of a class that holds them all */
			uint64_t set[4];
			const char *e = at;
			int k = c != '(' && reqlit_atom_bytes(&e, atom_end, w->dotall, true, set) &&
					e == atom_end ? run_class(set) : -1;
			if (k < 0) {
				w->fail = true;
				break;
			}
			q.adv.k[k] = 1;
			q.reach = q.adv;
		} else if (m > 0) {
			q.adv = lin_scale(w, a.adv, m);
			q.reach = lin_add(w, lin_scale(w, a.adv, m - 1), a.reach);
		}
		q.reach = lin_max(q.reach, q.adv);
		cur.reach = lin_max(cur.reach, lin_add(w, cur.adv, q.reach));
		cur.adv = lin_add(w, cur.adv, q.adv);
	}
	return cur;
}

/* alt - branches separated by '|', up to ')' or the end */
static struct ext alt(struct wp *w)
{
	struct ext best = { lin_of(0), lin_of(0) };

	for (;;) {
		struct ext b = seq(w);
		best.adv = lin_max(best.adv, b.adv);
		best.reach = lin_max(best.reach, b.reach);
		if (w->fail || w->p >= w->end || *w->p != '|')
			return best;
		w->p++;
	}
}

/* option_anywhere - option c (s, x) in flags, or in an option group of
 * the pattern, set or unset (not followed which applies where) */
static bool option_anywhere(const char *pattern, const char *flags, char c)
{
	if (flags && strchr(flags, c))
		return true;
	for (const char *p = strstr(pattern, "(?"); p; p = strstr(p + 2, "(?")) {
		for (const char *q = p + 2; *q && strchr("imnsxJU-^", *q); q++)
			if (*q == c)
				return true;
	}
	return false;
}

/* rewidth_runs - see rewidth.h */
bool rewidth_runs(const char *pattern, const char *flags, struct rewidth *out)
{
	struct wp w = { .p = pattern, .end = pattern + strlen(pattern),
			.dotall = option_anywhere(pattern, flags, 's') };

	memset(out, 0, sizeof(*out));
	if (flags && strchr(flags, 'x'))
		return false;
	struct ext e = alt(&w);
	if (w.fail || w.p != w.end)
		return false;
	struct lin l = lin_max(e.reach, e.adv);
	out->c = l.c;
	for (int i = 0; i < REWIDTH_RUNS; i++)
		out->k[i] = l.k[i];
	return true;
}

/* rewidth_le - see rewidth.h */
bool rewidth_le(const struct rewidth *a, const struct rewidth *b)
{
	if (a->c > b->c)
		return false;
	for (int i = 0; i < REWIDTH_RUNS; i++)
		if (a->k[i] > b->k[i])
			return false;
	return true;
}

/* rewidth_join - see rewidth.h */
void rewidth_join(struct rewidth *a, const struct rewidth *b)
{
	a->c = a->c > b->c ? a->c : b->c;
	for (int i = 0; i < REWIDTH_RUNS; i++)
		a->k[i] = a->k[i] > b->k[i] ? a->k[i] : b->k[i];
}

/* rewidth_max - see rewidth.h */
size_t rewidth_max(const char *pattern, const char *flags)
{
	struct rewidth r;

	if (!rewidth_runs(pattern, flags, &r))
		return REWIDTH_NONE;
	for (int i = 0; i < REWIDTH_RUNS; i++)
		if (r.k[i])
			return REWIDTH_NONE;
	return r.c;
}

/* rewidth_eval - see rewidth.h */
size_t rewidth_eval(const struct rewidth *w, const size_t runs[REWIDTH_RUNS])
{
	size_t v = w->c;

	for (int i = 0; i < REWIDTH_RUNS; i++) {
		if (w->k[i] == 0)
			continue;
		if (runs[i] > (SIZE_MAX / 2 - v) / w->k[i])
			return REWIDTH_NONE;
		v += w->k[i] * runs[i];
	}
	return v;
}


/*
 * longest - the longest run of bytes whose run_tab has bit.  Once a run
 * of max bytes is known, a longer one starting at p must hold s[p + max]:
 * when that byte is outside the class no run from p to it can be longer,
 * and the search goes on after it; when it is inside, the bytes before it
 * back to p are checked, from the end, and the first one outside moves p
 * past it.  So most bytes are never read (a text's words are short next
 * to its longest one), where a byte-by-byte count read every byte of
 * every text, three times (it was the costliest function of a message
 * with the stock set after PCRE2 itself).  s[p, ok) are known to be in
 * the class: no byte is read twice going backwards.
 */
static size_t longest(const unsigned char *s, size_t n, unsigned bit)
{
	size_t max = 0, p = 0, ok = 0;

	while (max < n && p < n - max) {
		size_t q = p + max;
		if (!(run_tab[s[q]] & bit)) {
			p = ok = q + 1;
			continue;
		}
		size_t j = q;
		while (j > ok && (run_tab[s[j - 1]] & bit))
			j--;
		if (j > ok) {	/* s[j - 1] is outside: from j on, s[j, q] in */
			p = j;
			ok = q + 1;
			continue;
		}
		size_t e = q + 1;	/* s[p, q] in: as far as it goes */
		while (e < n && (run_tab[s[e]] & bit))
			e++;
		max = e - p;
		p = ok = e + 1;	/* s[e] is outside, or the end */
	}
	return max;
}

/* fold_tab - a letter's lower case, 0 for any other byte */
static const unsigned char fold_tab[256] = {
	['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd', ['E'] = 'e', ['F'] = 'f',
	['G'] = 'g', ['H'] = 'h', ['I'] = 'i', ['J'] = 'j', ['K'] = 'k', ['L'] = 'l',
	['M'] = 'm', ['N'] = 'n', ['O'] = 'o', ['P'] = 'p', ['Q'] = 'q', ['R'] = 'r',
	['S'] = 's', ['T'] = 't', ['U'] = 'u', ['V'] = 'v', ['W'] = 'w', ['X'] = 'x',
	['Y'] = 'y', ['Z'] = 'z', ['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd',
	['e'] = 'e', ['f'] = 'f', ['g'] = 'g', ['h'] = 'h', ['i'] = 'i', ['j'] = 'j',
	['k'] = 'k', ['l'] = 'l', ['m'] = 'm', ['n'] = 'n', ['o'] = 'o', ['p'] = 'p',
	['q'] = 'q', ['r'] = 'r', ['s'] = 's', ['t'] = 't', ['u'] = 'u', ['v'] = 'v',
	['w'] = 'w', ['x'] = 'x', ['y'] = 'y', ['z'] = 'z'
};

/* fold_of - a letter's lower case, 0 for any other byte */
static unsigned char fold_of(unsigned char c)
{
	return fold_tab[c];
}

/* ones_max - the longest run of set bits in the 16-bit m, if longer than
 * max; else max */
static size_t ones_max(unsigned m, size_t max)
{
	unsigned x = m;
	size_t k = 0;

	while (x && k < max) {	/* runs of max bits at least: x */
		x &= x >> 1;
		k++;
	}
	while (x) {
		x &= x >> 1;
		k++;
		max = k;
	}
	return max;
}

/*
 * letter_run - the longest run of one letter repeated, either case: one
 * more than the longest run of bytes that are a letter equal to the byte
 * before it (without case), found 16 bytes at a time (each byte is read
 * twice: as itself, and as the one before the next).
 */
static size_t letter_run(const unsigned char *s, size_t n)
{
	size_t max = 0, cur = 0, i = 1;
	bool any = n > 0 && fold_of(s[0]);

	for (; i + 16 <= n; i += 16) {
		u8x16 b = vec16_load(s + i) | 0x20, prev = vec16_load(s + i - 1) | 0x20;
		u8x16 letter = (u8x16)((u8x16)(b - 'a') < 26);
		unsigned m = vec16_mask(letter & (u8x16)(b == prev));
		any = any || vec16_mask(letter);
		if (m == 0xffff) {
			cur += 16;
			continue;
		}
		cur += (size_t)__builtin_ctz(~m);	/* the run from before goes on */
		max = cur > max ? cur : max;
		max = ones_max(m, max);
		cur = (size_t)__builtin_clz(~m << 16 | 0xffff);	/* and into the next */
	}
	max = cur > max ? cur : max;	/* what whole blocks added */
	for (; i < n; i++) {
		unsigned char f = fold_of(s[i]);
		any = any || f;
		cur = f && f == fold_of(s[i - 1]) ? cur + 1 : 0;
		max = cur > max ? cur : max;
	}
	return any ? max + 1 : 0;
}

/* rewidth_text_runs - see rewidth.h */
void rewidth_text_runs(const char *s, size_t n, unsigned mask, size_t runs[REWIDTH_RUNS])
{
	const unsigned char *u = (const unsigned char *)s;

	for (int k = 0; k < REWIDTH_RUNS; k++)
		runs[k] = n;	/* a class not asked for: the length, a bound too */
	if (mask & 8) {		/* lines: memchr finds their ends */
		size_t max = 0;
		for (const unsigned char *p = u, *e = u + n; p < e;) {
			const unsigned char *nl = memchr(p, '\n', (size_t)(e - p));
			size_t len = (size_t)((nl ? nl : e) - p);
			max = len > max ? len : max;
			p = nl ? nl + 1 : e;
		}
		runs[3] = max;
	}
	for (int k = 0; k < 3; k++)
		if (mask & (1u << k))
			runs[k] = longest(u, n, 1u << k);
	if (mask & (1u << RUN_LETTER))
		runs[RUN_LETTER] = letter_run(u, n);
}

/* ---------------------------------------------------------------- lead */

/*
 * Every match of a pattern whose top level has no '|' starts with a match
 * of each of its prefixes made of whole items: e1 e2 ... ej, and
 * e1 ... e(j-1) followed by a prefix of e(j)'s body when e(j) is a group
 * that a match of runs through at least once ((...), (?:...), (?>...),
 * (?i:...), named groups, unquantified or with a minimum of one or more).
 * When reqlit_find gives such a prefix the very literals it gives the
 * whole pattern, one of them lies in the prefix's match (reqlit's promise
 * for the prefix), so it ends within the prefix's rewidth_runs bound of
 * the match's start: a tighter bound than the whole pattern's when the
 * literals come early and something wide follows them (the
 * __FILL_THIS_FORM_* rules: a field word, then up to 100 blanks, three
 * times over).
 */

#define LEAD_MAX_TRIES 48	/* prefixes analysed per pattern */
#define LEAD_MAX_DEPTH 8	/* groups descended into */

enum lead_kind { LK_ATOM, LK_GROUP, LK_OPAQUE, LK_BAR, LK_FAIL };

/* lead_item - at p, one item of a sequence: *next past it (not its
 * quantifier); a group a match of which starts with a match of its body
 * gives the body's start in *body (its end is *next - 1) */
static enum lead_kind lead_item(const char *p, const char *end, const char **next,
				const char **body)
{
	*body = NULL;
	if (*p == '|') {
		*next = p + 1;
		return LK_BAR;
	}
	if (*p == '\\') {
		if (p + 1 >= end || strchr("QEKGkgXRNpPcuo0123456789", p[1]))
			return LK_FAIL;	/* what the other analyses do not follow either */
		*next = re_escape_end(p, end);
		return *next ? LK_ATOM : LK_FAIL;
	}
	if (*p == '[') {
		*next = re_class_end(p, end);
		return *next ? LK_ATOM : LK_FAIL;
	}
	if (*p != '(') {
		*next = p + 1;
		return *p == ')' ? LK_FAIL : LK_ATOM;
	}
	if ((*next = re_group_end(p, end)) == NULL)
		return LK_FAIL;
	if (p[1] != '?') {
		if (p[1] == '*')
			return LK_FAIL;	/* a verb */
		*body = p + 1;	/* capturing */
		return LK_GROUP;
	}
	const char *q = p + 2;
	if (q < end && (*q == ':' || *q == '>')) {
		*body = q + 1;
		return LK_GROUP;
	}
	if (q < end && (*q == '=' || *q == '!' || *q == '#'))
		return LK_OPAQUE;	/* zero width, or a comment */
	if (q + 1 < end && *q == '<' && (q[1] == '=' || q[1] == '!'))
		return LK_OPAQUE;
	if (q < end && (*q == '<' || *q == '\'' || (*q == 'P' && q + 1 < end && q[1] == '<'))) {
		const char *e = q + (*q == 'P') + 1;
		while (e < end && (isalnum((unsigned char)*e) || *e == '_'))
			e++;
		if (e >= end || (*e != '>' && *e != '\''))
			return LK_FAIL;
		*body = e + 1;
		return LK_GROUP;
	}
	while (q < end && *q && strchr("imnsxJU-^", *q))
		q++;	/* (?i) sets options, (?i:...) is a group; (?R), (?C) are not */
	if (q < end && *q == ')')
		return LK_OPAQUE;
	if (q < end && *q == ':') {
		*body = q + 1;
		return LK_GROUP;
	}
	return LK_FAIL;		/* (?|, (?(, recursion, ... */
}

/* lead_quant - the quantifier at p (none: p): its end, *min and *max
 * (SIZE_MAX: no maximum); NULL for one not understood */
static const char *lead_quant(const char *p, const char *end, size_t *min, size_t *max)
{
	const char *q = re_quantifier_end(p, end);

	*min = *max = 1;
	if (q == p)
		return p;
	if (*p == '?') {
		*min = 0;
	} else if (*p == '*') {
		*min = 0;
		*max = SIZE_MAX;
	} else if (*p == '+') {
		*max = SIZE_MAX;
	} else {
		char *e;
		*min = strtoul(p + 1, &e, 10);
		*max = *min;
		if (*e == ',') {
			*max = isdigit((unsigned char)e[1]) ? (size_t)strtoul(e + 1, &e, 10) : SIZE_MAX;
			if (*max == SIZE_MAX && *e == ',')
				e++;
		}
		if (*e != '}' || *min > 65535 || (*max != SIZE_MAX && (*max > 65535 || *max < *min)))
			return NULL;
	}
	return q;
}

/* lead_branch_end - past the items of a branch from p: at a top-level
 * '|' or end; NULL when an item or its quantifier is not understood */
static const char *lead_branch_end(const char *p, const char *end)
{
	while (p < end) {
		const char *next, *body;
		size_t min, max;
		enum lead_kind k = lead_item(p, end, &next, &body);
		if (k == LK_BAR)
			return p;
		if (k == LK_FAIL || (next = lead_quant(next, end, &min, &max)) == NULL)
			return NULL;
		p = next;
	}
	return p;
}

struct lead {
	const char *flags;
	const struct reqlit *lits;
	struct buf pre;		/* the prefix being built */
	int tries;
	bool found;
	struct rewidth w;
};

/* lead_has - does r hold the literal s[0, len)? */
static bool lead_has(const struct reqlit *r, const char *s, size_t len)
{
	for (size_t j = 0; j < r->n; j++)
		if (r->len[j] == len && memcmp(r->s[j], s, len) == 0)
			return true;
	return false;
}

/* lead_same - a and b hold the same literals (each of either in the other) */
static bool lead_same(const struct reqlit *a, const struct reqlit *b)
{
	for (size_t i = 0; i < a->n; i++)
		if (!lead_has(b, a->s[i], a->len[i]))
			return false;
	for (size_t i = 0; i < b->n; i++)
		if (!lead_has(a, b->s[i], b->len[i]))
			return false;
	return true;
}

/* lead_try - the prefix so far, closed by depth ')'s: is it the one? */
static void lead_try(struct lead *ld, int depth)
{
	struct reqlit rl;
	size_t len = ld->pre.len;

	if (ld->found || ld->tries >= LEAD_MAX_TRIES)
		return;
	ld->tries++;
	for (int i = 0; i < depth; i++)
		buf_putc(&ld->pre, ')');
	if (reqlit_find(ld->pre.data, ld->flags, &rl)) {
		ld->found = lead_same(&rl, ld->lits) && rewidth_runs(ld->pre.data, ld->flags, &ld->w);
		reqlit_clear(&rl);
	}
	ld->pre.len = len;
	ld->pre.data[len] = '\0';
}

/* lead_seq - the prefixes of the sequence [p, end), after ld->pre, inside
 * depth groups; false when the sequence cannot be taken apart */
static bool lead_seq(struct lead *ld, const char *p, const char *end, int depth)
{
	const char *body;

	if (lead_branch_end(p, end) != end)
		return false;	/* a top-level '|': no prefix is one */
	while (p < end && !ld->found && ld->tries < LEAD_MAX_TRIES) {
		size_t min, max;
		const char *item = p;
		enum lead_kind k = lead_item(p, end, &p, &body);
		const char *after = lead_quant(p, end, &min, &max);
		if (k == LK_GROUP && min >= 1 && depth < LEAD_MAX_DEPTH) {
			size_t len = ld->pre.len;
			buf_append(&ld->pre, item, (size_t)(body - item));
			lead_seq(ld, body, p - 1, depth + 1);
			ld->pre.len = len;
			ld->pre.data[len] = '\0';
		}
		buf_append(&ld->pre, item, (size_t)(after - item));
		p = after;
		if (p < end || depth > 0)	/* the whole pattern: the caller's bound */
			lead_try(ld, depth);
	}
	return true;
}

/*
 * The prefixes above keep the whole pattern's literal set, so a field
 * word that several optional words may precede (__FILL_THIS_FORM_SHORT2:
 * "a copy of", "your", up to three of "present ", "full "..., then one of
 * eleven kinds of field, each with optional words of its own) gets the
 * bound of the longest way to its first literal through all of them.
 * The split below goes one item at a time instead, keeping what is
 * proved of every match of a sequence S (its text: whole items, no
 * top-level '|' but where split):
 *
 *   S = A1|...|Ak       every match is a match of some Ai: the largest
 *                       of their bounds;
 *   shortest prefix P   of S's items whose literals each hold one of the
 *                       set (an occurrence of such a literal holds an
 *                       occurrence of one of the set, ending no later):
 *                       P's rewidth_runs bound;
 *   S = X R, X bounded  R's match starts at most X's bound in: X's bound
 *                       plus R's (X with no literal of the set);
 *   S = (B1|...|Bk){m,n} R, no option set anywhere, no back-reference
 *                       (lead_item refuses \1, \k, \g, conditions and
 *                       recursion), so a group's number or name does not
 *                       matter and its body may be spliced into the
 *                       sequence: for m >= 1 every match is one of
 *                       Bi (B){m-1,n-1} R; for m == 0 it is R's, or one
 *                       of Bi (B){0,n-1} R: the largest of their bounds.
 *                       An atomic group or a possessive or lazy
 *                       quantifier only drops matches of the split.
 *
 * Each node takes the smallest bound of those it proves (weighing a run
 * as LB_RUN bytes); a node none proves fails, and its parent does
 * without that option.  LB_MAX_TRIES reqlit_find calls per pattern,
 * LB_MAX_LEVEL nested nodes.
 */
#define LB_MAX_TRIES 400
#define LB_MAX_LEVEL 24
#define LB_NODE_PREFIXES 8	/* prefixes of one node analysed */
#define LB_GOOD 24		/* a bound this small is not improved on */
#define LB_RUN 16		/* a run weighed as so many bytes */

struct lb {
	const char *flags;
	const struct reqlit *lits;
	int tries;
};

/* lb_weight - a bound as bytes, for comparing (k[3], lines, weighs 4;
 * one letter's repeats a quarter) */
static size_t lb_weight(const struct rewidth *w)
{
	return w->c + LB_RUN * (w->k[0] + w->k[1] + w->k[2] + 4 * w->k[3]) +
	       LB_RUN / 4 * w->k[RUN_LETTER];
}

/* rewidth_weight - see rewidth.h */
size_t rewidth_weight(const struct rewidth *w)
{
	return lb_weight(w);
}

/* lb_add - a + b (false past the cap) */
static bool lb_add(struct rewidth *a, const struct rewidth *b)
{
	a->c += b->c;
	bool ok = a->c <= REWIDTH_CAP;
	for (int i = 0; i < REWIDTH_RUNS; i++) {
		a->k[i] += b->k[i];
		ok = ok && a->k[i] <= REWIDTH_CAP;
	}
	return ok;
}


/* lb_covered - every literal of r holds one of the set */
static bool lb_covered(const struct reqlit *r, const struct reqlit *set)
{
	for (size_t i = 0; i < r->n; i++) {
		bool held = false;
		for (size_t j = 0; j < set->n && !held; j++)
			held = set->len[j] <= r->len[i] &&
			       mem_holds_nocase(r->s[i], r->len[i], set->s[j], set->len[j]);
		if (!held)
			return false;
	}
	return r->n > 0;
}

/* lb_lits - does every match of s[0, n) hold a literal of the set? */
static bool lb_lits(struct lb *lb, const char *s, size_t n)
{
	struct reqlit rl;
	char *t = xstrndup(s, n);
	bool ok = false;

	lb->tries++;
	if (reqlit_find(t, lb->flags, &rl)) {
		ok = lb_covered(&rl, lb->lits);
		reqlit_clear(&rl);
	}
	free(t);
	return ok;
}

/* lb_width - rewidth_runs of s[0, n) */
static bool lb_width(struct lb *lb, const char *s, size_t n, struct rewidth *out)
{
	char *t = xstrndup(s, n);
	bool ok = rewidth_runs(t, lb->flags, out);

	free(t);
	return ok;
}

static bool lb_seq(struct lb *lb, const char *s, size_t n, int level, struct rewidth *out);

/* lb_group - S = X R, X a group whose body is [body, body_end) repeated
 * {min, max}: the largest bound of the ways a match goes through it */
static bool lb_group(struct lb *lb, const char *body, const char *body_end, size_t min,
		     size_t max, const char *r, size_t rn, int level, struct rewidth *out)
{
	struct buf rest, one;
	bool ok = true, any = false;

	buf_init(&rest);
	buf_init(&one);
	/* what follows one pass: (?:B){min-1,max-1} R */
	size_t lo = min > 0 ? min - 1 : 0, hi = max == SIZE_MAX ? SIZE_MAX : max - 1;
	if (hi > 0) {
		buf_puts(&rest, "(?:");
		buf_append(&rest, body, (size_t)(body_end - body));
		if (hi == SIZE_MAX)
			buf_printf(&rest, "){%zu,}", lo);
		else
			buf_printf(&rest, "){%zu,%zu}", lo, hi);
	}
	buf_append(&rest, r, rn);
	if (min == 0) {		/* it may match nothing: R's bound */
		ok = lb_seq(lb, r, rn, level + 1, out);
		any = ok;
	}
	for (const char *a = body; ok && a <= body_end;) {
		const char *e = lead_branch_end(a, body_end);
		if (e == NULL) {
			ok = false;
			break;
		}
		struct rewidth w;
		one.len = 0;
		buf_append(&one, a, (size_t)(e - a));
		buf_append(&one, rest.data ? rest.data : "", rest.len);
		if (!lb_seq(lb, one.data ? one.data : "", one.len, level + 1, &w)) {
			ok = false;
			break;
		}
		if (any)
			rewidth_join(out, &w);
		else
			*out = w;
		any = true;
		a = e + 1;	/* past the '|' (or past the end) */
	}
	buf_free(&rest);
	buf_free(&one);
	return ok && any;
}

/* lb_seq - a bound for the sequence s[0, n) (see above); false when
 * none is proved */
static bool lb_seq(struct lb *lb, const char *s, size_t n, int level, struct rewidth *out)
{
	const char *end = s + n, *p, *next, *body;
	bool have = false;
	int tried = 0;
	struct rewidth w;

	if (n == 0 || level > LB_MAX_LEVEL || lb->tries >= LB_MAX_TRIES)
		return false;	/* an empty sequence holds no literal */
	/* a top-level '|': every branch */
	const char *bar = lead_branch_end(s, end);
	if (bar == NULL)
		return false;
	if (bar < end) {
		struct rewidth b;
		if (!lb_seq(lb, s, (size_t)(bar - s), level + 1, out) ||
		    !lb_seq(lb, bar + 1, (size_t)(end - bar - 1), level + 1, &b))
			return false;
		rewidth_join(out, &b);
		return true;
	}
	/* the shortest prefix whose literals hold the set's (a prefix is
	 * tried where a group or class ends it, or the atoms stop) */
	for (p = s; p < end && tried < LB_NODE_PREFIXES && lb->tries < LB_MAX_TRIES; p = next) {
		size_t qmin, qmax;
		enum lead_kind k = lead_item(p, end, &next, &body);
		next = lead_quant(next, end, &qmin, &qmax);
		const char *after, *b2;
		bool plain = k == LK_ATOM && next == p + 1 && *p != '.' && *p != '^' && *p != '$';
		if (plain && next < end && lead_item(next, end, &after, &b2) == LK_ATOM &&
		    after == next + 1 && lead_quant(after, end, &qmin, &qmax) == after)
			continue;	/* a run of plain bytes: tried where it ends */
		tried++;
		if (lb_lits(lb, s, (size_t)(next - s)) && lb_width(lb, s, (size_t)(next - s), &w)) {
			*out = w;
			have = true;
			break;
		}
	}
	if (have && lb_weight(out) <= LB_GOOD)
		return true;
	/* the first item taken apart, or stepped over */
	size_t min, max;
	enum lead_kind k = lead_item(s, end, &next, &body);
	const char *q = lead_quant(next, end, &min, &max);
	if (q == NULL || q == s)
		return have;
	bool split = false, xlits = false;
	if (k == LK_GROUP && body != NULL && (s[1] != '?' || (s[2] && strchr(":>'<P", s[2])))) {
		/* a plain, atomic, capturing or named group: into its body when
		 * a pass of it holds a literal of the set */
		xlits = lb_lits(lb, body, (size_t)(next - 1 - body));
		split = xlits && lb_group(lb, body, next - 1, min, max, q, (size_t)(end - q), level, &w);
	}
	/* stepped over: a group without a literal of the set (the
	 * prefixes hold one at best after it), or anything when no prefix
	 * holds one */
	if (!split && (!have || (k != LK_ATOM && !xlits))) {
		struct rewidth x;
		split = q < end && lb_width(lb, s, (size_t)(q - s), &x) &&
			lb_seq(lb, q, (size_t)(end - q), level + 1, &w) && lb_add(&w, &x);
	}
	if (split && (!have || lb_weight(&w) < lb_weight(out))) {
		*out = w;
		have = true;
	}
	return have;
}

/* lb_refused - what the split must not take apart, read as plain text
 * (so also where it is not syntax: refusing costs only the bound): an
 * option set inside the pattern ("(?i)", "(?-s)"), which splicing a body
 * into a sequence would carry past its group; a back-reference,
 * condition or recursion, whose group numbers splicing would change */
static bool lb_refused(const char *pattern)
{
	for (const char *p = strstr(pattern, "(?"); p; p = strstr(p + 2, "(?")) {
		const char *q = p + 2;
		while (*q && strchr("imnsxJU-^", *q))
			q++;
		if ((*q == ')' && q > p + 2) || strchr("(PR&0123456789+-", p[2]))
			return true;
	}
	for (const char *p = strchr(pattern, '\\'); p && p[1]; p = strchr(p + 2, '\\'))
		if (strchr("123456789gkK", p[1]))
			return true;
	return false;
}

/* --------------------------------------------------------------- split */

/* zero_width - the atom at p matches no byte: \b \B \A ^ */
static bool zero_width(const char *p)
{
	return *p == '^' || (p[0] == '\\' && p[1] && strchr("bBA", p[1]));
}

/* split_add - one more part: pre, then s[0, n), then post */
static void split_add(const char *pre, const char *s, size_t n, const char *post, char ***parts,
		      size_t *nparts)
{
	struct buf b;

	buf_init(&b);
	buf_puts(&b, pre);
	buf_append(&b, s, n);
	buf_puts(&b, post);
	*parts = xrealloc(*parts, (*nparts + 1) * sizeof(**parts));
	(*parts)[(*nparts)++] = xstrdup(b.data);
	buf_free(&b);
}

/* split_in - the split of p[0, end) (see rewidth_split), each part between
 * pre and post; false when there is none or more than max parts */
static bool split_in(const char *p, const char *end, const char *pre, const char *post,
		     size_t max, char ***parts, size_t *nparts)
{
	const char *bar = lead_branch_end(p, end);

	if (bar == NULL)
		return false;
	if (bar != end) {	/* branches: each one a part */
		for (const char *b = p; b <= end; b = bar + 1) {
			bar = lead_branch_end(b, end);
			if (bar == NULL || *nparts >= max)
				return false;
			split_add(pre, b, (size_t)(bar - b), post, parts, nparts);
			if (bar == end)
				break;
		}
		return *nparts > 1;
	}
	/* a sequence: its first item, a group every match runs through, is
	 * split in turn; its other passes, and what follows, stay as written;
	 * assertions before it (\b, ^, a look-around) stay before each part */
	const char *next, *body, *from = p;
	size_t min, qmax;
	enum lead_kind k = lead_item(p, end, &next, &body);
	while ((k == LK_OPAQUE || (k == LK_ATOM && zero_width(p))) && next < end &&
	       re_quantifier_end(next, end) == next) {
		p = next;
		k = lead_item(p, end, &next, &body);
	}
	const char *q = k == LK_GROUP && body ? lead_quant(next, end, &min, &qmax) : NULL;
	if (q == NULL || min == 0)
		return false;
	struct buf in, out;
	buf_init(&in);
	buf_init(&out);
	buf_puts(&in, pre);
	buf_append(&in, from, (size_t)(body - from));	/* assertions, the group's opening */
	buf_puts(&out, ")");
	if (qmax > 1) {
		buf_append(&out, p, (size_t)(next - p));
		if (qmax == SIZE_MAX)
			buf_printf(&out, "{%zu,}", min - 1);
		else
			buf_printf(&out, "{%zu,%zu}", min - 1, qmax - 1);
	}
	buf_append(&out, q, (size_t)(end - q));
	buf_puts(&out, post);
	bool ok = split_in(body, next - 1, in.data, out.data, max, parts, nparts);
	buf_free(&in);
	buf_free(&out);
	return ok;
}

/* rewidth_split - see rewidth.h */
size_t rewidth_split(const char *pattern, const char *flags, size_t max, char ***parts)
{
	size_t n = 0;

	*parts = NULL;
	if (lb_refused(pattern) || strstr(pattern, "\\G") || strstr(pattern, "\\K") ||
	    option_anywhere(pattern, flags, 'x') || strstr(pattern, "(?#") ||
	    !split_in(pattern, pattern + strlen(pattern), "", "", max, parts, &n)) {
		for (size_t i = 0; i < n; i++)
			free((*parts)[i]);
		free(*parts);
		*parts = NULL;
		return 0;
	}
	return n;
}

/* ---------------------------------------------------------------- core */

/*
 * A pattern that is a group run {m,n} times whose body is a sequence X R
 * (whole items) has every match hold a match of R' = R (?:X R){m-1,n-1}
 * which starts where the first pass's X ends: at most X's rewidth_runs
 * bound in.  Only for m >= 2: then R' still holds a whole pass of the
 * group, where a plain sequence's R alone is often far less selective
 * than the whole (what X drops may be what makes a match rare), and the
 * core would match where the pattern does not.  No option set
 * inside the pattern, back-reference, condition or recursion (lb_refused),
 * \G or \K: those read what X matched or where the search began.  An
 * atomic group, a possessive or lazy quantifier that R' no longer sits in
 * only adds matches of R'.  X is the items before the first (of at most
 * CORE_MAX_ITEMS) that every pass runs through and whose every match
 * holds a literal of the set: what may come before the literals; R' must
 * then hold a literal of the set too (reqlit_find's answer for it, each
 * literal holding one of lits), and its bound is where those end.  prefilter.c searches R' first
 * where the literals allow, with that smaller bound, and the pattern
 * itself only from X's bound before each match of R'.
 */
#define CORE_MAX_ITEMS 12

/* core_contextual - could a match of the core in one line of a body
 * (prefilter.c searches body rules line by line where a match crosses a
 * line) be missed by a search of the whole text?  Only through what reads
 * past the bytes it consumes where the line's subject ends: $, \B, \A,
 * \z, \Z, negative look-around, and ^ but in m mode (true in a line's
 * subject only where it is in the whole text too, as are \b and positive
 * look-around).  Read as plain text, classes and escapes skipped: an
 * unsure answer is yes */
static bool core_contextual(const char *d, const char *flags)
{
	const char *end = d + strlen(d);
	bool multi = flags && strchr(flags, 'm') && !strstr(d, "(?-") && !strstr(d, "(?^");

	for (const char *p = d; p < end;) {
		if (*p == '\\') {
			if (p + 1 >= end || strchr("BAzZGK", p[1]))
				return true;
			const char *e = re_escape_end(p, end);
			if (e == NULL)
				return true;
			p = e;
		} else if (*p == '[') {
			const char *e = re_class_end(p, end);
			if (e == NULL)
				return true;
			p = e;
		} else if (*p == '$' || (*p == '^' && !multi)) {
			return true;
		} else if (*p == '(' && (strncmp(p, "(?!", 3) == 0 || strncmp(p, "(?<!", 4) == 0)) {
			return true;
		} else {
			p++;
		}
	}
	return false;
}

/* core_try - R' for the split [seq, at) [at, seq_end) + tail: its bound
 * in *lead if it holds the set; false otherwise */
static bool core_try(struct lb *lb, const char *at, const char *seq_end, const char *tail,
		     struct buf *d, struct rewidth *lead)
{
	struct reqlit rl;

	d->len = 0;
	buf_puts(d, "(?:");
	buf_append(d, at, (size_t)(seq_end - at));
	buf_puts(d, ")");
	buf_puts(d, tail);
	if (core_contextual(d->data, lb->flags) || !reqlit_find(d->data, lb->flags, &rl))
		return false;
	bool ok = lb_covered(&rl, lb->lits);
	reqlit_clear(&rl);
	return ok && (rewidth_lead(d->data, lb->flags, lb->lits, lead) ||
		      rewidth_runs(d->data, lb->flags, lead));
}

/* rewidth_core - see rewidth.h */
bool rewidth_core(const char *pattern, const char *flags, const struct reqlit *lits,
		  char **core, struct rewidth *lead, struct rewidth *pre)
{
	struct lb lb = { .flags = flags, .lits = lits };
	const char *end = pattern + strlen(pattern), *next, *body;
	size_t min, max;

	*core = NULL;
	if (lits->n == 0 || *pattern == '^' || lb_refused(pattern) || strstr(pattern, "\\G") ||
	    strstr(pattern, "\\K") ||
	    option_anywhere(pattern, flags, 'x') || strstr(pattern, "(?#") ||
	    lead_branch_end(pattern, end) != end)
		return false;
	/* the group's body taken apart, and what follows it */
	enum lead_kind k = lead_item(pattern, end, &next, &body);
	const char *q = lead_quant(next, end, &min, &max);
	if (q != end || k != LK_GROUP || body == NULL || min < 2 ||
	    (pattern[1] == '?' && !strchr(":>'<P", pattern[2])))
		return false;
	const char *seq = body, *seq_end = next - 1;
	if (lead_branch_end(seq, seq_end) != seq_end)
		return false;	/* branches: no split holds for all */
	struct buf tail, d;
	buf_init(&tail);
	buf_puts(&tail, "(?:");
	buf_append(&tail, seq, (size_t)(seq_end - seq));
	if (max == SIZE_MAX)
		buf_printf(&tail, "){%zu,}", min - 1);
	else
		buf_printf(&tail, "){%zu,%zu}", min - 1, max - 1);
	buf_init(&d);
	bool have = false;
	const char *p = seq;
	for (int item = 0; item < CORE_MAX_ITEMS && p < seq_end; item++) {
		const char *at = p;
		k = lead_item(p, seq_end, &next, &body);
		if (k == LK_FAIL || k == LK_BAR || (p = lead_quant(next, seq_end, &min, &max)) == NULL)
			break;
		if (min == 0 || !lb_lits(&lb, at, (size_t)(p - at)))
			continue;	/* X goes on: this item may hold no literal of the set */
		if (at > seq && lb_width(&lb, seq, (size_t)(at - seq), pre) &&
		    core_try(&lb, at, seq_end, tail.data, &d, lead)) {
			*core = xstrdup(d.data);
			have = true;
		}
		break;
	}
	buf_free(&d);
	buf_free(&tail);
	return have;
}

/* rewidth_head - see rewidth.h */
bool rewidth_head(const char *core, char **head, char **tail)
{
	const char *end = core + strlen(core), *next, *body, *inext, *ibody;
	size_t min, max;

	*head = *tail = NULL;
	/* what rewidth_core refuses too: recursion and back-references (a
	 * head alone would read them otherwise), option settings, \G, \K */
	if (strncmp(core, "(?:", 3) != 0 || lb_refused(core) || strstr(core, "\\G") ||
	    strstr(core, "\\K") || lead_branch_end(core, end) != end ||
	    lead_item(core, end, &next, &body) != LK_GROUP ||
	    lead_quant(next, end, &min, &max) != next)
		return false;
	const char *gend = next - 1;	/* the group's ')' */
	if (lead_branch_end(body, gend) != gend ||
	    lead_item(body, gend, &inext, &ibody) != LK_GROUP || ibody == NULL)
		return false;
	const char *q = lead_quant(inext, gend, &min, &max);
	if (q == NULL || min == 0)
		return false;
	struct buf b;
	buf_init(&b);
	buf_append(&b, body, (size_t)(q - body));
	*head = xstrdup(b.data);
	b.len = 0;
	buf_puts(&b, "(?:");
	buf_append(&b, q, (size_t)(gend - q));
	buf_puts(&b, ")");
	buf_append(&b, next, (size_t)(end - next));
	*tail = xstrdup(b.data);
	buf_free(&b);
	return true;
}

/* ---------------------------------------------------------------- span */

/*
 * What every match consumes: at least min bytes, each of them in set.
 * An atom consumes one byte of its class (reqlit_atom_bytes, both cases
 * of letters if any i option is set anywhere); anchors, \b and
 * look-arounds consume none; a sequence adds, a branch takes the fewest,
 * a quantifier {m,n} multiplies by m (and adds its body's bytes unless n
 * is 0).  So a match lies inside a run of set's bytes at least min long
 * (prefilter.c searches only there).  Walked with lead_item, which
 * refuses back-references, \K, \G, \Q, recursion and conditions.
 */
#define SPAN_MAX_DEPTH 32

/* span_atom - one atom at [p, next): its bytes and 1, or an assertion */
static bool span_atom(const char *p, const char *next, bool dotall, bool caseless,
		      uint64_t set[4], size_t *min)
{
	const char *e = p;

	*min = 0;
	if (next == p + 1 && (*p == '^' || *p == '$'))
		return true;
	if (next == p + 2 && *p == '\\' && strchr("bBAzZ", p[1]))
		return true;
	/* PCRE2's word start and end, not classes */
	if (next == p + 7 && (memcmp(p, "[[:<:]]", 7) == 0 || memcmp(p, "[[:>:]]", 7) == 0))
		return true;
	*min = 1;
	return reqlit_atom_bytes(&e, next, dotall, caseless, set) && e == next;
}

/* span_alt - the branches of [p, end) */
static bool span_alt(const char *p, const char *end, bool dotall, bool caseless, int depth,
		     uint64_t set[4], size_t *min)
{
	size_t best = SIZE_MAX;

	if (depth > SPAN_MAX_DEPTH)
		return false;
	for (const char *b = p;;) {
		size_t m = 0;
		const char *q = b;
		while (q < end) {
			const char *next, *body;
			size_t qmin, qmax, im = 0;
			uint64_t is[4] = { 0 };
			enum lead_kind k = lead_item(q, end, &next, &body);
			if (k == LK_BAR)
				break;
			const char *after = k == LK_FAIL ? NULL : lead_quant(next, end, &qmin, &qmax);
			if (after == NULL)
				return false;
			if (k == LK_GROUP) {
				if (!span_alt(body, next - 1, dotall, caseless, depth + 1, is, &im))
					return false;
			} else if (k == LK_ATOM) {
				if (!span_atom(q, next, dotall, caseless, is, &im))
					return false;
			}	/* LK_OPAQUE: a look-around or an option: nothing consumed */
			if (qmax > 0)
				for (int i = 0; i < 4; i++)
					set[i] |= is[i];
			m += im * qmin;
			if (m > REWIDTH_CAP)
				m = REWIDTH_CAP;	/* enough to know */
			q = after;
		}
		best = m < best ? m : best;
		if (q >= end)
			break;
		b = q + 1;	/* past the '|' */
	}
	*min = best;
	return true;
}

/* rewidth_span - see rewidth.h */
bool rewidth_span(const char *pattern, const char *flags, uint64_t set[4], size_t *min)
{
	memset(set, 0, 4 * sizeof(*set));
	*min = 0;
	if (option_anywhere(pattern, flags, 'x') || strstr(pattern, "(?#"))
		return false;
	if (!span_alt(pattern, pattern + strlen(pattern), option_anywhere(pattern, flags, 's'),
		      option_anywhere(pattern, flags, 'i'), 0, set, min)) {
		memset(set, 0, 4 * sizeof(*set));
		*min = 0;
		return false;
	}
	return *min > 0;
}

/* ---------------------------------------------------------------- subspan */

/*
 * How often each byte occurs in mail text, in 65,536ths (at least 1): the
 * body texts of 200 corpus messages of median size (tests/data/corpus,
 * as the body rules read them; 291,514 bytes).  Only for choosing which
 * part of a pattern to look for; a poor choice costs time, never a match.
 */
static const uint16_t mail_bytes[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 444, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	9812, 89, 109, 22, 30, 22, 13, 178, 83, 91, 184, 117, 415, 1252, 944, 408,
	290, 180, 187, 137, 103, 91, 87, 65, 73, 83, 296, 10, 18, 103, 330, 67,
	69, 280, 96, 176, 140, 312, 123, 111, 117, 378, 36, 39, 181, 179, 188, 237,
	148, 16, 257, 292, 313, 116, 38, 120, 17, 89, 9, 35, 4, 37, 9, 1198,
	1, 3326, 629, 1308, 1450, 5166, 917, 864, 1777, 3199, 67, 398, 1927, 1285, 2995, 3452,
	1045, 52, 2791, 3094, 3828, 1461, 460, 774, 159, 896, 79, 2, 16, 3, 10, 1,
	4, 3, 1, 4, 4, 4, 5, 2, 1, 4, 4, 2, 2, 7, 3, 4,
	6, 1, 4, 6, 2, 3, 4, 2, 1, 1, 1, 1, 1, 1, 1, 1,
	8, 6, 3, 7, 5, 2, 1, 4, 3, 4, 2, 3, 4, 1, 2, 1,
	1, 2, 7, 4, 1, 9, 4, 9, 2, 4, 8, 4, 4, 3, 4, 2,
	1, 1, 87, 112, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

#define SUBSPAN_ITEMS 64

/* rewidth_share - see rewidth.h */
double rewidth_share(const uint64_t set[4])
{
	unsigned long sum = 0;

	for (int c = 0; c < 256; c++)
		if (set[c >> 6] >> (c & 63) & 1)
			sum += mail_bytes[c];
	return sum >= 65536 ? 1.0 : (double)sum / 65536.0;
}

/* subspan_odds - the odds that a given byte of mail text starts a run of
 * min bytes of set, if bytes were drawn one by one at mail_bytes' rates */
static double subspan_odds(const uint64_t set[4], size_t min)
{
	double p = rewidth_share(set), odds = 1.0;

	for (size_t k = 0; k < min && odds > 1e-30; k++)
		odds *= p;
	return odds;
}

/* subspan_item - what item [p, next) with its quantifier consumes: *ok
 * false when the walk does not follow it */
struct subspan_item {
	const char *at;
	uint64_t set[4];
	size_t min;
	bool ok;
};

/* rewidth_subspan - see rewidth.h */
bool rewidth_subspan(const char *pattern, const char *flags, double odds_max, uint64_t set[4],
		     size_t *min, struct rewidth *lead)
{
	struct subspan_item it[SUBSPAN_ITEMS];
	const char *p = pattern, *end = pattern + strlen(pattern);
	bool dotall = option_anywhere(pattern, flags, 's');
	bool caseless = option_anywhere(pattern, flags, 'i');
	size_t n = 0;

	memset(set, 0, 4 * sizeof(*set));
	*min = 0;
	memset(lead, 0, sizeof(*lead));
	if (option_anywhere(pattern, flags, 'x') || strstr(pattern, "(?#"))
		return false;
	while (p < end && n < SUBSPAN_ITEMS) {	/* the top-level items */
		const char *next, *body, *after;
		size_t qmin, qmax, im = 0;
		struct subspan_item *x = &it[n];
		enum lead_kind k = lead_item(p, end, &next, &body);
		if (k == LK_BAR || k == LK_FAIL || (after = lead_quant(next, end, &qmin, &qmax)) == NULL)
			return false;	/* a top-level '|': no one sequence */
		memset(x, 0, sizeof(*x));
		x->at = p;
		x->ok = true;
		if (k == LK_GROUP)
			x->ok = span_alt(body, next - 1, dotall, caseless, 1, x->set, &im);
		else if (k == LK_ATOM)
			x->ok = span_atom(p, next, dotall, caseless, x->set, &im);
		if (qmax == 0)	/* {0}: consumes nothing */
			memset(x->set, 0, sizeof(x->set));
		x->min = im * qmin > REWIDTH_CAP ? REWIDTH_CAP : im * qmin;
		n++;
		p = after;
	}
	if (p < end && (p = lead_branch_end(p, end)) != end)
		return false;	/* past the items kept: a '|', or not understood */
	/* the items i..j-1 whose run is least likely in mail text, among
	 * those whose start is bounded */
	double best = odds_max;
	size_t bj = 0;
	for (size_t i = 0; i < n; i++) {
		struct rewidth w = { 0 };
		if (i > 0) {
			char *pre = xstrndup(pattern, (size_t)(it[i].at - pattern));
			bool bounded = rewidth_runs(pre, flags, &w);
			free(pre);
			if (!bounded)
				break;	/* nor is any later start */
		}
		uint64_t s[4] = { 0 };
		size_t m = 0;
		for (size_t j = i; j < n && it[j].ok; j++) {
			for (int c = 0; c < 4; c++)
				s[c] |= it[j].set[c];
			m = m + it[j].min > REWIDTH_CAP ? REWIDTH_CAP : m + it[j].min;
			double odds = m ? subspan_odds(s, m) : 1.0;
			if (odds < best) {
				best = odds;
				bj = j + 1;
				memcpy(set, s, sizeof(s));
				*min = m;
				*lead = w;
			}
		}
	}
	return bj > 0;
}

/* rewidth_lead - see rewidth.h */
bool rewidth_lead(const char *pattern, const char *flags, const struct reqlit *lits,
		  struct rewidth *out)
{
	struct lead ld = { .flags = flags, .lits = lits };

	if (lits->n == 0 || option_anywhere(pattern, flags, 'x') || strstr(pattern, "(?#"))
		return false;	/* items this walk would take apart wrongly */
	buf_init(&ld.pre);
	buf_puts(&ld.pre, "");
	lead_seq(&ld, pattern, pattern + strlen(pattern), 0);
	buf_free(&ld.pre);
	if (ld.found)
		*out = ld.w;
	/* the split, where it proves a smaller bound than both the prefix
	 * and the whole pattern (which is its own bound) */
	struct lb lb = { .flags = flags, .lits = lits };
	struct rewidth w, whole;
	if (!lb_refused(pattern) && lb_seq(&lb, pattern, strlen(pattern), 0, &w) &&
	    (!ld.found || lb_weight(&w) < lb_weight(out)) &&
	    (!rewidth_runs(pattern, flags, &whole) || lb_weight(&w) < lb_weight(&whole))) {
		*out = w;
		ld.found = true;
	}
	return ld.found;
}
