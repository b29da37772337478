/*
 * reqlit.c - find strings a regex cannot match without (reqlit.h).
 *
 * A recursive descent over PCRE syntax computes, for every sequence and
 * alternation, a "requirement": a set of alternative literals one of
 * which every match contains, or none.  A sequence keeps the best
 * requirement of its parts (the longest shortest literal); an
 * alternation needs one from every branch and takes their union.  The
 * analysis only ever forgets: a literal run ends at anything that is not
 * a plain byte (classes, dots, anchors, groups, escapes like \d), a byte
 * under a quantifier leaves the run, a group under a quantifier whose
 * minimum is 0 requires nothing, negative look-around requires nothing.
 * Anything it does not follow (x mode, \Q...\E, \c, \g, \k, \o,
 * recursion, conditions, verbs, callouts, a `{` that is almost a
 * quantifier) gives up on the whole pattern: the caller then always runs
 * the regex.  The literals are used without case, a superset of the
 * regex's own case rules, so (?i) inside the pattern needs no tracking.
 *
 * Limits: REQLIT_MAX_DEPTH nested groups, REQLIT_MAX alternatives; the
 * pattern is a rule line, at most RULES_MAX_LINE bytes.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "rules/reqlit.h"

struct parse {
	const char *p, *end;
	int depth;
	bool fail;		/* syntax not followed: give up */
};

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

/* req_better - keep in best the more selective of best and r (r freed) */
static void req_better(struct reqlit *best, struct reqlit *r)
{
	size_t mb = req_min(best), mr = req_min(r);

	if (mr > mb || (mr == mb && r->n && r->n < best->n)) {
		req_clear(best);
		*best = *r;
		r->n = 0;
	}
	req_clear(r);
}

/* req_union - a |= b for an alternation: none if either is none */
static void req_union(struct reqlit *a, struct reqlit *b)
{
	if (a->n == 0 || b->n == 0 || a->n + b->n > REQLIT_MAX) {
		req_clear(a);
		req_clear(b);
		return;
	}
	for (size_t i = 0; i < b->n; i++) {
		a->s[a->n] = b->s[i];
		a->len[a->n++] = b->len[i];
	}
	b->n = 0;
}

/* flush - the literal run so far becomes a candidate requirement */
static void flush(struct buf *run, struct reqlit *best)
{
	if (run->len == 0)
		return;
	struct reqlit r = { .n = 1 };
	r.s[0] = xmalloc(run->len);
	memcpy(r.s[0], run->data, run->len);
	r.len[0] = run->len;
	req_better(best, &r);
	buf_reset(run);
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
 * *min) -> 1; plainly a literal '{' -> 0; anything in between -> fail */
static int brace_quant(struct parse *ps, unsigned long *min)
{
	const char *q = ps->p + 1, *s = ps->p;
	unsigned long v;

	while (q < ps->end && (isdigit((unsigned char)*q) || *q == ',' || *q == ' '))
		q++;
	if (q == ps->p + 1 || q >= ps->end || *q != '}')
		return 0;	/* "{", "{a", "{}": a literal */
	ps->p++;
	size_t n = digits(ps, min);
	if (n && ps->p < ps->end && *ps->p == ',') {
		ps->p++;
		digits(ps, &v);
	}
	if (n == 0 || ps->p >= ps->end || *ps->p != '}') {
		ps->p = s;	/* {,m}, spaces: PCRE2 versions disagree */
		ps->fail = true;
		return 0;
	}
	ps->p++;
	return 1;
}

/* quantifier - consume one after an atom; its minimum, or -1 if none */
static long quantifier(struct parse *ps)
{
	unsigned long min = 0;

	if (ps->p >= ps->end)
		return -1;
	switch (*ps->p) {
	case '?': case '*': ps->p++; min = 0; break;
	case '+': ps->p++; min = 1; break;
	case '{':
		if (brace_quant(ps, &min) != 1)
			return -1;
		break;
	default:
		return -1;
	}
	if (ps->p < ps->end && (*ps->p == '?' || *ps->p == '+'))
		ps->p++;	/* lazy or possessive */
	return (long)min;
}

/* skip_class - past a [...] class */
static void skip_class(struct parse *ps)
{
	ps->p++;
	if (ps->p < ps->end && *ps->p == '^')
		ps->p++;
	if (ps->p < ps->end && *ps->p == ']')
		ps->p++;	/* a leading ] is a member */
	while (ps->p < ps->end && *ps->p != ']') {
		if (*ps->p == '\\' && ps->p + 1 < ps->end) {
			if (ps->p[1] == 'Q' || ps->p[1] == 'E')
				ps->fail = true;
			ps->p += 2;
		} else if (*ps->p == '[' && ps->p + 1 < ps->end && strchr(":.=", ps->p[1])) {
			const char *close = ps->p + 2;	/* [:alpha:] */
			while (close + 1 < ps->end && !(close[0] == ps->p[1] && close[1] == ']'))
				close++;
			ps->p = close + 2 <= ps->end ? close + 2 : ps->end;
		} else {
			ps->p++;
		}
	}
	if (ps->p >= ps->end)
		ps->fail = true;
	else
		ps->p++;
}

/* hexval - a hex digit's value or -1 */
static int hexval(char c)
{
	if (isdigit((unsigned char)c))
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
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
			for (ps->p++; ps->p < ps->end && hexval(*ps->p) >= 0 && n < 8; ps->p++, n++)
				cp = cp * 16 + (unsigned long)hexval(*ps->p);
			if (n == 0 || ps->p >= ps->end || *ps->p != '}') {
				ps->fail = true;
				return -1;
			}
			ps->p++;
			return cp <= 0xff ? (int)cp : -1;
		} else {
			int b = 0;
			for (int n = 0; n < 2 && ps->p < ps->end && hexval(*ps->p) >= 0; n++)
				b = b * 16 + hexval(*ps->p++);
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

static void parse_alt(struct parse *ps, struct reqlit *out);

/* group - after '(': parse it and its quantifier; its requirement in out */
static void group(struct parse *ps, struct reqlit *out)
{
	bool keep = true;	/* false: look-ahead/behind that must not match */

	out->n = 0;
	if (ps->p < ps->end && *ps->p == '*') {
		ps->fail = true;	/* (*VERB) */
		return;
	}
	if (ps->p < ps->end && *ps->p == '?') {
		ps->p++;
		if (ps->p >= ps->end) {
			ps->fail = true;
			return;
		}
		char c = *ps->p;
		if (c == '#') {		/* comment */
			const char *close = memchr(ps->p, ')', (size_t)(ps->end - ps->p));
			ps->p = close ? close + 1 : ps->end;
			ps->fail |= close == NULL;
			return;
		}
		if (c == ':' || c == '>' || c == '|' || c == '=') {
			ps->p++;
		} else if (c == '!') {
			ps->p++;
			keep = false;
		} else if (c == '<' && ps->p + 1 < ps->end && (ps->p[1] == '=' || ps->p[1] == '!')) {
			keep = ps->p[1] == '=';
			ps->p += 2;
		} else if (c == '<' || c == '\'' || (c == 'P' && ps->p + 1 < ps->end && ps->p[1] == '<')) {
			char close = c == '\'' ? '\'' : '>';	/* named group */
			const char *e = memchr(ps->p + 1, close, (size_t)(ps->end - ps->p - 1));
			if (e == NULL) {
				ps->fail = true;
				return;
			}
			ps->p = e + 1;
		} else {	/* option letters: (?i) or (?i:...) */
			const char *q = ps->p;
			while (q < ps->end && (isalpha((unsigned char)*q) || *q == '-' || *q == '^'))
				q++;
			if (q == ps->p || q >= ps->end || (*q != ')' && *q != ':') ||
			    memchr(ps->p, 'x', (size_t)(q - ps->p))) {
				ps->fail = true;	/* recursion, conditions, x mode */
				return;
			}
			ps->p = q + 1;
			if (*q == ')')
				return;	/* options for the rest: nothing to match */
		}
	}
	if (++ps->depth > REQLIT_MAX_DEPTH) {
		ps->fail = true;
		return;
	}
	parse_alt(ps, out);
	ps->depth--;
	if (ps->p >= ps->end || *ps->p != ')') {
		ps->fail = true;
		return;
	}
	ps->p++;
	if (quantifier(ps) == 0 || !keep)
		req_clear(out);
}

/* parse_seq - one branch: up to '|', ')' or the end */
static void parse_seq(struct parse *ps, struct reqlit *best)
{
	struct buf run;

	buf_init(&run);
	best->n = 0;
	while (ps->p < ps->end && !ps->fail && *ps->p != '|' && *ps->p != ')') {
		char c = *ps->p;
		int byte = -1;
		if (c == '(') {
			struct reqlit g;
			ps->p++;
			flush(&run, best);
			group(ps, &g);
			req_better(best, &g);
			continue;
		}
		if (c == '*' || c == '+' || c == '?') {
			ps->fail = true;	/* a quantifier with nothing before it */
			break;
		}
		if (c == '[') {
			skip_class(ps);
		} else if (c == '\\') {
			ps->p++;
			byte = escape(ps);
		} else if (c == '{') {
			unsigned long min;
			if (brace_quant(ps, &min) == 1)
				ps->fail = true;
			else if (!ps->fail)
				byte = (unsigned char)*ps->p++;
		} else if (c == '.' || c == '^' || c == '$') {
			ps->p++;
		} else {
			byte = (unsigned char)c;
			ps->p++;
		}
		if (byte >= 0 && quantifier(ps) < 0) {
			buf_putc(&run, (char)byte);	/* stays in the run */
			continue;
		}
		flush(&run, best);
		if (byte < 0)
			quantifier(ps);
	}
	flush(&run, best);
	buf_free(&run);
}

/* parse_alt - branches separated by '|' */
static void parse_alt(struct parse *ps, struct reqlit *out)
{
	parse_seq(ps, out);
	while (!ps->fail && ps->p < ps->end && *ps->p == '|') {
		struct reqlit b;
		ps->p++;
		parse_seq(ps, &b);
		req_union(out, &b);
	}
}

/* reqlit_find - the analysis; see reqlit.h */
bool reqlit_find(const char *pattern, const char *flags, struct reqlit *out)
{
	struct parse ps = { .p = pattern, .end = pattern + strlen(pattern) };

	out->n = 0;
	if (flags && strchr(flags, 'x'))
		return false;
	parse_alt(&ps, out);
	if (ps.fail || ps.p != ps.end || req_min(out) < REQLIT_MIN) {
		req_clear(out);
		return false;
	}
	return true;
}

/* reqlit_clear - release */
void reqlit_clear(struct reqlit *rl)
{
	req_clear(rl);
}
