/*
 * meta.c - compile and evaluate meta-rule expressions (see meta.h for the
 * grammar).  A recursive-descent parser emits a postfix program; the
 * evaluator runs it on a caller-supplied stack, so evaluation allocates
 * nothing and a compiled expression is shared read-only by all threads.
 *
 * Owns: the program and the name table of each expression.  Limits:
 * META_MAX_OPS operations per expression and META_MAX_DEPTH levels of
 * nesting, so hostile input neither grows without bound nor overflows the
 * C stack (fuzz/fuzz_meta.c).
 */
#include "autoconfig.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/meta.h"
#include "base/util.h"

#define META_MAX_NUMBER 32	/* characters in a number literal */

enum meta_op {
	OP_NUM,
	OP_REF,
	OP_NOT,
	OP_NEG,
	OP_MUL,
	OP_DIV,
	OP_ADD,
	OP_SUB,
	OP_LT,
	OP_GT,
	OP_LE,
	OP_GE,
	OP_EQ,
	OP_NE,
	OP_AND,
	OP_OR,
	OP_JZ,			/* top == 0: keep it and jump, else pop */
	OP_JNZ,			/* top != 0: keep it and jump, else pop */
};

/* 16 bytes: a message runs ~1,000 programs, so they are kept small */
struct meta_ins {
	enum meta_op op;
	uint32_t arg;		/* OP_REF: index into names; OP_JZ, OP_JNZ:
				 * where to go, always forward */
	union {
		double num;	/* OP_NUM */
		size_t index;	/* OP_REF: the value's index (meta_bind) */
	} u;
};

struct meta_expr {
	struct meta_ins *code;
	size_t ncode;
	size_t cap;
	char **names;
	size_t nnames;
	size_t stack;		/* deepest stack the program reaches */
	/* the && chains of two operands or more, innermost first (as they
	 * end): n, then where each operand starts, then where the chain
	 * ends; read once by meta_reorder */
	uint32_t *chains;
	size_t nchains, chains_cap;
	bool reordered;
};

enum tok {
	T_END,
	T_NUM,
	T_NAME,
	T_LP,
	T_RP,
	T_NOT,
	T_AND,
	T_OR,
	T_PLUS,
	T_MINUS,
	T_MUL,
	T_DIV,
	T_LT,
	T_GT,
	T_LE,
	T_GE,
	T_EQ,
	T_NE,
	T_BAD,
};

struct meta_parser {
	const char *text;
	const char *p;		/* after the current token */
	enum tok tok;
	const char *tok_start;
	size_t tok_len;
	double num;
	const char *bad;	/* T_BAD: why */
	struct meta_expr *e;
	size_t sp;		/* stack depth at this point of the program */
	int depth;
	bool eager;		/* && and || as OP_AND/OP_OR (meta_compile_eager) */
	bool english;		/* a name and/or/not: Perl's word operators */
	char *err;
};

/* set_err - first error wins; the column is 1-based */
__attribute__((format(printf, 3, 4)))
static void set_err(struct meta_parser *mp, const char *at, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (mp->err)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mp->err = xasprintf("%s at column %zu", msg, (size_t)(at - mp->text) + 1);
}

/* lex_number - digits [. digits] or . digits; no sign, no exponent */
static void lex_number(struct meta_parser *mp)
{
	const char *s = mp->p, *q = s;
	char buf[META_MAX_NUMBER + 1];

	while (isdigit((unsigned char)*q))
		q++;
	if (*q == '.') {
		q++;
		while (isdigit((unsigned char)*q))
			q++;
	}
	mp->tok_len = (size_t)(q - s);
	if (mp->tok_len == 1 && *s == '.') {
		mp->tok = T_BAD;
		mp->bad = "'.' is not a number";
		return;
	}
	if (isalpha((unsigned char)*q) || *q == '_' || *q == '.') {
		mp->tok = T_BAD;
		mp->bad = "malformed number";
		return;
	}
	if (mp->tok_len > META_MAX_NUMBER) {
		mp->tok = T_BAD;
		mp->bad = "number longer than 32 characters";
		return;
	}
	memcpy(buf, s, mp->tok_len);
	buf[mp->tok_len] = '\0';
	mp->num = strtod(buf, NULL);
	mp->tok = T_NUM;
	mp->p = q;
}

/* next - advance to the next token */
static void next(struct meta_parser *mp)
{
	const char *s = mp->p;

	while (isspace((unsigned char)*s))
		s++;
	mp->p = s;
	mp->tok_start = s;
	mp->tok_len = 1;
	if (*s == '\0') {
		mp->tok = T_END;
		return;
	}
	if (isdigit((unsigned char)*s) || *s == '.') {
		lex_number(mp);
		return;
	}
	if (isalpha((unsigned char)*s) || *s == '_') {
		const char *q = s;
		while (isalnum((unsigned char)*q) || *q == '_')
			q++;
		mp->tok = T_NAME;
		mp->tok_len = (size_t)(q - s);
		mp->p = q;
		return;
	}
	static const struct {
		const char *text;
		enum tok tok;
	} ops[] = {	/* two-character operators first */
		{ "&&", T_AND }, { "||", T_OR }, { "==", T_EQ }, { "!=", T_NE },
		{ "<=", T_LE }, { ">=", T_GE }, { "(", T_LP }, { ")", T_RP },
		{ "!", T_NOT }, { "<", T_LT }, { ">", T_GT }, { "+", T_PLUS },
		{ "-", T_MINUS }, { "*", T_MUL }, { "/", T_DIV },
	};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		size_t n = strlen(ops[i].text);
		if (strncmp(s, ops[i].text, n) == 0) {
			mp->tok = ops[i].tok;
			mp->tok_len = n;
			mp->p = s + n;
			return;
		}
	}
	mp->tok = T_BAD;
	switch (*s) {
	case '=': mp->bad = "'=' is not an operator (comparison is ==)"; break;
	case '&': mp->bad = "'&' is not an operator (logical and is &&)"; break;
	case '|': mp->bad = "'|' is not an operator (logical or is ||)"; break;
	case '^': mp->bad = "'^' is not supported (no XOR in meta rules)"; break;
	default: mp->bad = NULL; break;
	}
}

/* emit - append one instruction, tracking the stack depth */
static void emit(struct meta_parser *mp, enum meta_op op, double num, size_t name)
{
	struct meta_expr *e = mp->e;

	if (mp->err)
		return;
	if (e->ncode >= META_MAX_OPS) {
		set_err(mp, mp->tok_start, "more than %d operations", META_MAX_OPS);
		return;
	}
	if (e->ncode == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 16;
		e->code = xrealloc(e->code, e->cap * sizeof(*e->code));
	}
	struct meta_ins in = { .op = op, .arg = (uint32_t)name };
	if (op == OP_NUM)
		in.u.num = num;
	else
		in.u.index = 0;	/* unbound: index 0, as names start */
	e->code[e->ncode++] = in;
	if (op == OP_NUM || op == OP_REF) {
		if (++mp->sp > e->stack)
			e->stack = mp->sp;
	} else if (op != OP_NOT && op != OP_NEG) {
		mp->sp--;
	}
}

/* name_slot - the slot of a name, added on first use */
static size_t name_slot(struct meta_expr *e, const char *s, size_t n)
{
	for (size_t i = 0; i < e->nnames; i++)
		if (strlen(e->names[i]) == n && memcmp(e->names[i], s, n) == 0)
			return i;
	e->names = xrealloc(e->names, (e->nnames + 1) * sizeof(*e->names));
	e->names[e->nnames] = xstrndup(s, n);
	return e->nnames++;
}

static void parse_or(struct meta_parser *mp);

/* word_operator - is the token Perl's and/or/not, which SpamAssassin (and
 * parapet) take for rule names? */
static bool word_operator(const struct meta_parser *mp)
{
	static const char *const words[] = { "and", "or", "not" };

	for (size_t i = 0; mp->tok == T_NAME && i < 3; i++)
		if (mp->tok_len == strlen(words[i]) &&
		    strncmp(mp->tok_start, words[i], mp->tok_len) == 0)
			return true;
	return false;
}

/* expected - the error for a token that cannot start or continue here */
static void expected(struct meta_parser *mp, const char *what)
{
	unsigned char c = (unsigned char)*mp->tok_start;

	if (word_operator(mp))
		mp->english = true;

	if (mp->tok == T_BAD && mp->bad)
		set_err(mp, mp->tok_start, "%s", mp->bad);
	else if (mp->tok == T_BAD && isgraph(c))
		set_err(mp, mp->tok_start, "unexpected character '%c'", c);
	else if (mp->tok == T_BAD)
		set_err(mp, mp->tok_start, "unexpected byte 0x%02x", c);
	else if (mp->tok == T_END)
		set_err(mp, mp->tok_start, "expected %s, found the end", what);
	else
		set_err(mp, mp->tok_start, "expected %s, found '%.*s'", what,
			(int)mp->tok_len, mp->tok_start);
}

/* parse_unary - ! - + prefix operators, then a primary */
static void parse_unary(struct meta_parser *mp)
{
	if (mp->err)
		return;
	if (++mp->depth > META_MAX_DEPTH) {
		set_err(mp, mp->tok_start, "nested more than %d deep", META_MAX_DEPTH);
		return;
	}
	switch (mp->tok) {
	case T_NOT:
	case T_MINUS:
	case T_PLUS: {
		enum tok t = mp->tok;
		next(mp);
		parse_unary(mp);
		if (t != T_PLUS)
			emit(mp, t == T_NOT ? OP_NOT : OP_NEG, 0, 0);
		break;
	}
	case T_NUM:
		emit(mp, OP_NUM, mp->num, 0);
		next(mp);
		break;
	case T_NAME:
		if (mp->tok_len > META_MAX_NAME) {
			set_err(mp, mp->tok_start, "name longer than %d characters", META_MAX_NAME);
			break;
		}
		if (word_operator(mp))
			mp->english = true;
		emit(mp, OP_REF, 0, name_slot(mp->e, mp->tok_start, mp->tok_len));
		next(mp);
		if (mp->tok == T_LP)	/* abs(), rules_matching(): not SpamAssassin 3.4 */
			set_err(mp, mp->tok_start, "function calls are not supported");
		break;
	case T_LP:
		next(mp);
		parse_or(mp);
		if (mp->err)
			break;
		if (mp->tok != T_RP)
			expected(mp, "')'");
		else
			next(mp);
		break;
	default:
		expected(mp, "a rule name, a number or '('");
	}
	mp->depth--;
}

/* binary - one left-associative precedence level */
static void binary(struct meta_parser *mp, void (*operand)(struct meta_parser *),
		   const enum tok *toks, const enum meta_op *ops, size_t n, bool assoc)
{
	operand(mp);
	for (int rounds = 0; !mp->err; rounds++) {
		size_t i;
		for (i = 0; i < n && mp->tok != toks[i]; i++)
			;
		if (i == n)
			return;
		if (!assoc && rounds > 0) {
			set_err(mp, mp->tok_start, "chained comparison '%.*s' needs parentheses",
				(int)mp->tok_len, mp->tok_start);
			return;
		}
		next(mp);
		operand(mp);
		emit(mp, ops[i], 0, 0);
	}
}

/* parse_mul - * / */
static void parse_mul(struct meta_parser *mp)
{
	static const enum tok t[] = { T_MUL, T_DIV };
	static const enum meta_op o[] = { OP_MUL, OP_DIV };
	binary(mp, parse_unary, t, o, 2, true);
}

/* parse_add - + - */
static void parse_add(struct meta_parser *mp)
{
	static const enum tok t[] = { T_PLUS, T_MINUS };
	static const enum meta_op o[] = { OP_ADD, OP_SUB };
	binary(mp, parse_mul, t, o, 2, true);
}

/* parse_rel - < > <= >= (Perl: non-associative, above equality) */
static void parse_rel(struct meta_parser *mp)
{
	static const enum tok t[] = { T_LT, T_GT, T_LE, T_GE };
	static const enum meta_op o[] = { OP_LT, OP_GT, OP_LE, OP_GE };
	binary(mp, parse_add, t, o, 4, false);
}

/* parse_eq - == != */
static void parse_eq(struct meta_parser *mp)
{
	static const enum tok t[] = { T_EQ, T_NE };
	static const enum meta_op o[] = { OP_EQ, OP_NE };
	binary(mp, parse_rel, t, o, 2, false);
}

/* chain_add - note an && chain: its operands' starts and its end */
static void chain_add(struct meta_expr *e, const uint32_t *starts, size_t n, size_t end)
{
	if (e->nchains + n + 2 > e->chains_cap) {
		e->chains_cap = (e->nchains + n + 2) * 2;
		e->chains = xrealloc(e->chains, e->chains_cap * sizeof(*e->chains));
	}
	e->chains[e->nchains++] = (uint32_t)n;
	memcpy(e->chains + e->nchains, starts, n * sizeof(*starts));
	e->nchains += n;
	e->chains[e->nchains++] = (uint32_t)end;
}

/*
 * logic - a chain of && or || (left-associative).  Each operator becomes
 * a jump over its right operand, taken when the left one decides: the
 * value left on the stack is then the deciding operand, as Perl gives it,
 * and the right operand is never read (rules_eval leaves the rules it
 * names unrun).  meta_compile_eager emits the plain operator instead.
 */
static void logic(struct meta_parser *mp, void (*operand)(struct meta_parser *), enum tok tok,
		  enum meta_op jump, enum meta_op op)
{
	uint32_t first = (uint32_t)mp->e->ncode, *starts = &first;	/* grown past one */
	size_t n = 1, cap = 1;

	operand(mp);
	while (!mp->err && mp->tok == tok) {
		next(mp);
		if (mp->eager) {
			operand(mp);
			emit(mp, op, 0, 0);
			continue;
		}
		size_t at = mp->e->ncode;
		emit(mp, jump, 0, 0);
		if (n == cap) {
			cap *= 2;
			uint32_t *grown = xmalloc(cap * sizeof(*grown));
			memcpy(grown, starts, n * sizeof(*starts));
			if (starts != &first)
				free(starts);
			starts = grown;
		}
		starts[n++] = (uint32_t)mp->e->ncode;
		operand(mp);
		if (!mp->err)
			mp->e->code[at].arg = (uint32_t)mp->e->ncode;
	}
	if (!mp->err && !mp->eager && op == OP_AND && n >= 2)
		chain_add(mp->e, starts, n, mp->e->ncode);
	if (starts != &first)
		free(starts);
}

/* parse_and - && */
static void parse_and(struct meta_parser *mp)
{
	logic(mp, parse_eq, T_AND, OP_JZ, OP_AND);
}

/* parse_or - || (the whole expression) */
static void parse_or(struct meta_parser *mp)
{
	logic(mp, parse_and, T_OR, OP_JNZ, OP_OR);
}

/* compile - text to program */
static struct meta_expr *compile(const char *text, char **err, bool eager)
{
	struct meta_parser mp = { .text = text, .p = text, .eager = eager };

	mp.e = xcalloc(1, sizeof(*mp.e));
	next(&mp);
	if (mp.tok == T_END)
		set_err(&mp, mp.tok_start, "empty expression");
	parse_or(&mp);
	if (!mp.err && mp.tok != T_END)
		expected(&mp, "an operator");
	if (mp.err && mp.english) {	/* SpamAssassin takes them as rule names too */
		*err = xasprintf("%s (the operators are && || !)", mp.err);
		free(mp.err);
		return meta_free(mp.e);
	}
	if (mp.err) {
		*err = mp.err;
		return meta_free(mp.e);
	}
	return mp.e;
}

/* meta_compile - see meta.h */
struct meta_expr *meta_compile(const char *text, char **err)
{
	return compile(text, err, false);
}

/* meta_compile_eager - see meta.h */
struct meta_expr *meta_compile_eager(const char *text, char **err)
{
	return compile(text, err, true);
}

/* meta_free - release */
struct meta_expr *meta_free(struct meta_expr *e)
{
	if (e == NULL)
		return NULL;
	for (size_t i = 0; i < e->nnames; i++)
		free(e->names[i]);
	free(e->names);
	free(e->code);
	free(e->chains);
	free(e);
	return NULL;
}

/* meta_nnames - distinct names */
size_t meta_nnames(const struct meta_expr *e)
{
	return e->nnames;
}

/* meta_name - one name */
const char *meta_name(const struct meta_expr *e, size_t i)
{
	return e->names[i];
}

/* meta_bind - where a name's value lives */
void meta_bind(struct meta_expr *e, size_t i, size_t index)
{
	for (size_t k = 0; k < e->ncode; k++)	/* read from the program itself */
		if (e->code[k].op == OP_REF && e->code[k].arg == i)
			e->code[k].u.index = index;
}

/* shift - the program grew by p instructions at at: every jump past at
 * and every chain position past it (those of chains not yet seen) move */
static void shift(struct meta_expr *e, size_t at, size_t p, size_t next_chain)
{
	for (size_t i = 0; i < e->ncode; i++)
		if ((e->code[i].op == OP_JZ || e->code[i].op == OP_JNZ) && e->code[i].arg > at)
			e->code[i].arg += (uint32_t)p;
	for (size_t c = next_chain; c < e->nchains; c += e->chains[c] + 2)
		for (size_t k = 0; k <= e->chains[c]; k++)
			if (e->chains[c + 1 + k] > at)
				e->chains[c + 1 + k] += (uint32_t)p;
}

/* range_cost - the highest cost of a name read in code[from, to) */
static unsigned range_cost(const struct meta_expr *e, size_t from, size_t to,
			   unsigned (*cost)(void *ctx, size_t index), void *ctx)
{
	unsigned w = 0;

	for (size_t i = from; i < to; i++)
		if (e->code[i].op == OP_REF) {
			unsigned x = cost(ctx, e->code[i].u.index);
			w = x > w ? x : w;
		}
	return w;
}

/* meta_cost - see meta.h */
unsigned meta_cost(const struct meta_expr *e, unsigned (*cost)(void *ctx, size_t index), void *ctx)
{
	return range_cost(e, 0, e->ncode, cost, ctx);
}

/*
 * meta_reorder - see meta.h.  For each && chain (innermost first), every
 * operand that comes after a dearer one is copied, cheapest first, in
 * front of the chain, each copy followed by a jump to the chain's end
 * when it is 0: a 0 there gives the chain's value at once (0, as the
 * chain would have: the first 0 of its operands, and 0 and -0 are the
 * same to every operator, comparison and test here); anything else is
 * dropped and the chain runs as it was, reading the copied operand again
 * (its value is known by then).  So the value is always the chain's.
 * A copy's own jumps move with it; the jumps and chains past the place
 * of the copies move by their length.
 */
void meta_reorder(struct meta_expr *e, unsigned (*cost)(void *ctx, size_t index), void *ctx)
{
	if (e->reordered)
		return;
	e->reordered = true;
	for (size_t c = 0; c < e->nchains; c += e->chains[c] + 2) {
		size_t n = e->chains[c];
		const uint32_t *st = e->chains + c + 1;
		size_t end = st[n], from = st[0];
		unsigned *w = xmalloc(n * sizeof(*w));
		size_t *hoist = xmalloc(n * sizeof(*hoist)), nh = 0, len = 0;
		unsigned dearest = 0;
		bool pinned = false;
		for (size_t k = 0; k < n; k++) {
			size_t ke = k + 1 < n ? st[k + 1] - 1 : end;
			w[k] = range_cost(e, st[k], ke, cost, ctx);
			pinned = pinned || w[k] == META_PINNED;
			if (w[k] < dearest) {	/* insertion: cheapest first, stable */
				size_t j = nh++;
				for (; j > 0 && w[hoist[j - 1]] > w[k]; j--)
					hoist[j] = hoist[j - 1];
				hoist[j] = k;
				len += ke - st[k] + 1;
			}
			dearest = w[k] > dearest ? w[k] : dearest;
		}
		if (!pinned && nh > 0 && e->ncode + len <= META_MAX_OPS) {
			if (e->ncode + len > e->cap) {
				e->cap = e->ncode + len;
				e->code = xrealloc(e->code, e->cap * sizeof(*e->code));
			}
			/* the copies are made from the chain as it is, then the
			 * program from the chain on moves up by len */
			struct meta_ins *pre = xmalloc(len * sizeof(*pre));
			size_t pos = 0;
			for (size_t h = 0; h < nh; h++) {
				size_t k = hoist[h], ke = k + 1 < n ? st[k + 1] - 1 : end;
				size_t to = from + pos;
				for (size_t i = st[k]; i < ke; i++) {
					struct meta_ins in = e->code[i];
					if (in.op == OP_JZ || in.op == OP_JNZ)
						in.arg = (uint32_t)(in.arg - st[k] + to);
					pre[pos++] = in;
				}
				pre[pos++] = (struct meta_ins){ .op = OP_JZ, .arg = (uint32_t)(end + len) };
			}
			memmove(e->code + from + len, e->code + from,
				(e->ncode - from) * sizeof(*e->code));
			e->ncode += len;
			/* jumps into the moved part; a jump to from itself lands
			 * on the copies, which is as good */
			shift(e, from, len, c + n + 2);
			memcpy(e->code + from, pre, len * sizeof(*pre));
			free(pre);
		}
		free(w);
		free(hoist);
	}
}

/* meta_stack_size - scratch for meta_eval */
size_t meta_stack_size(const struct meta_expr *e)
{
	return e->stack;
}

/* truth - Perl's boolean as a number */
static double truth(bool b)
{
	return b ? 1.0 : 0.0;
}

/* run - the program code[0, ncode); a name whose known[] is 0 is asked
 * of need() first, which sets its value in vals (and known), or answers
 * false: then NaN */
static double run(const struct meta_ins *code, size_t ncode, const double *vals,
		  const unsigned char *known, bool (*need)(void *ctx, size_t index), void *ctx,
		  double *st)
{
	size_t sp = 0;

	for (size_t i = 0; i < ncode; i++) {
		const struct meta_ins *in = &code[i];
		double a, b;

		if (in->op == OP_NUM) {
			st[sp++] = in->u.num;
			continue;
		}
		if (in->op == OP_REF) {
			size_t k = in->u.index;
			if (known != NULL && !known[k] && !need(ctx, k))
				return NAN;
			st[sp++] = vals[k];
			continue;
		}
		if (in->op == OP_JZ || in->op == OP_JNZ) {
			if ((st[sp - 1] == 0.0) == (in->op == OP_JZ))
				i = in->arg - 1;	/* the loop's i++ lands on the target */
			else
				sp--;
			continue;
		}
		if (in->op == OP_NOT) {
			st[sp - 1] = truth(st[sp - 1] == 0.0);
			continue;
		}
		if (in->op == OP_NEG) {
			st[sp - 1] = -st[sp - 1];
			continue;
		}
		b = st[--sp];
		a = st[sp - 1];
		switch (in->op) {
		case OP_MUL: a = a * b; break;
		case OP_DIV: a = b == 0.0 ? 0.0 : a / b; break;
		case OP_ADD: a = a + b; break;
		case OP_SUB: a = a - b; break;
		case OP_LT: a = truth(a < b); break;
		case OP_GT: a = truth(a > b); break;
		case OP_LE: a = truth(a <= b); break;
		case OP_GE: a = truth(a >= b); break;
		case OP_EQ: a = truth(a == b); break;
		case OP_NE: a = truth(a != b); break;
		/* Perl: && and || yield the operand that decided, not 0/1;
		 * no operand has side effects, so evaluating both is the same */
		case OP_AND: a = a != 0.0 ? b : a; break;
		case OP_OR: a = a != 0.0 ? a : b; break;
		default: break;
		}
		st[sp - 1] = a;
	}
	double v = sp ? st[0] : 0.0;
	return isfinite(v) ? v : 0.0;
}

/* meta_eval - see meta.h */
double meta_eval(const struct meta_expr *e, const double *vals, double *st)
{
	return run(e->code, e->ncode, vals, NULL, NULL, NULL, st);
}

/* ---------------------------------------------------------------- pack */

/* one program in a pack: its length, then its instructions */
struct meta_prog {
	uint64_t ncode;
	struct meta_ins code[];
};

struct meta_pack {
	unsigned char *block;	/* the programs, one after the other */
	size_t *off;		/* where program i starts in block */
	size_t n;
};

/* meta_pack_new - see meta.h */
struct meta_pack *meta_pack_new(const struct meta_expr *const *es, size_t n)
{
	struct meta_pack *p = xcalloc(1, sizeof(*p));
	size_t total = 0;

	p->off = xcalloc(n + 1, sizeof(*p->off));
	p->n = n;
	for (size_t i = 0; i < n; i++) {
		p->off[i] = total;
		total += sizeof(struct meta_prog) + es[i]->ncode * sizeof(struct meta_ins);
	}
	p->block = xmalloc(total + 1);
	for (size_t i = 0; i < n; i++) {
		struct meta_prog *pr = (struct meta_prog *)(void *)(p->block + p->off[i]);
		pr->ncode = es[i]->ncode;
		if (es[i]->ncode)
			memcpy(pr->code, es[i]->code, es[i]->ncode * sizeof(struct meta_ins));
	}
	return p;
}

/* meta_pack_free - see meta.h */
struct meta_pack *meta_pack_free(struct meta_pack *p)
{
	if (p) {
		free(p->block);
		free(p->off);
		free(p);
	}
	return NULL;
}

/* meta_pack_prog - see meta.h */
const struct meta_prog *meta_pack_prog(const struct meta_pack *p, size_t i)
{
	return (const struct meta_prog *)(const void *)(p->block + p->off[i]);
}

/* meta_prog_eval - see meta.h */
double meta_prog_eval(const struct meta_prog *pr, const double *vals, const unsigned char *known,
		      bool (*need)(void *ctx, size_t index), void *ctx, double *st)
{
	return run(pr->code, (size_t)pr->ncode, vals, known, need, ctx, st);
}

/* ------------------------------------------------------------- bounds */

/*
 * Interval evaluation (meta_prog_bound).  A value is [lo, hi]; every
 * operator gives bounds of what it gives for any values within its
 * operands' bounds.  IEEE rounding is monotonic, so bounds computed from
 * the endpoints hold for the same operations on any point between them.
 * An infinite endpoint or a NaN makes the result [-inf, inf]: the point
 * evaluation may meet inf - inf there.
 */
struct iv {
	double lo, hi;
};

static const struct iv IV_ALL = { -INFINITY, INFINITY };

static struct iv iv_of(double lo, double hi)
{
	if (isnan(lo) || isnan(hi) || isinf(lo) || isinf(hi))
		return IV_ALL;
	return (struct iv){ lo, hi };
}

static bool iv_finite(struct iv a)
{
	return isfinite(a.lo) && isfinite(a.hi);
}

static bool iv_nonzero(struct iv a)
{
	return a.lo > 0.0 || a.hi < 0.0;
}

static bool iv_zero(struct iv a)
{
	return a.lo == 0.0 && a.hi == 0.0;
}

static struct iv iv_hull(struct iv a, struct iv b)
{
	return (struct iv){ a.lo < b.lo ? a.lo : b.lo, a.hi > b.hi ? a.hi : b.hi };
}

/* iv_truth - a comparison or ! that is true (t), false (f) or either */
static struct iv iv_truth(bool t, bool f)
{
	return t ? (struct iv){ 1.0, 1.0 } : f ? (struct iv){ 0.0, 0.0 } : (struct iv){ 0.0, 1.0 };
}

/* iv_nz - the values of a that are not 0 (a may hold 0): an endpoint at
 * 0 moves to the least positive (negative) number, which every non-zero
 * value there is beyond */
static struct iv iv_nz(struct iv a)
{
	if (a.lo == 0.0)
		a.lo = a.hi > 0.0 ? 4.9406564584124654e-324 : a.lo;
	if (a.hi == 0.0)
		a.hi = a.lo < 0.0 ? -4.9406564584124654e-324 : a.hi;
	return a;
}

static double min4(double a, double b, double c, double d)
{
	double m = a < b ? a : b, n = c < d ? c : d;
	return m < n ? m : n;
}

static double max4(double a, double b, double c, double d)
{
	double m = a > b ? a : b, n = c > d ? c : d;
	return m > n ? m : n;
}

static struct iv iv_binary(enum meta_op op, struct iv a, struct iv b)
{
	if (!iv_finite(a) || !iv_finite(b)) {
		if (op == OP_DIV && iv_zero(b))
			return (struct iv){ 0.0, 0.0 };
		if (op < OP_LT || op > OP_NE)
			return IV_ALL;
	}
	switch (op) {
	case OP_MUL:
		return iv_of(min4(a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi),
			     max4(a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi));
	case OP_DIV:	/* x / 0 is 0 */
		if (iv_zero(b))
			return (struct iv){ 0.0, 0.0 };
		if (!iv_nonzero(b))
			return IV_ALL;
		return iv_of(min4(a.lo / b.lo, a.lo / b.hi, a.hi / b.lo, a.hi / b.hi),
			     max4(a.lo / b.lo, a.lo / b.hi, a.hi / b.lo, a.hi / b.hi));
	case OP_ADD: return iv_of(a.lo + b.lo, a.hi + b.hi);
	case OP_SUB: return iv_of(a.lo - b.hi, a.hi - b.lo);
	case OP_LT: return iv_truth(a.hi < b.lo, a.lo >= b.hi);
	case OP_GT: return iv_truth(a.lo > b.hi, a.hi <= b.lo);
	case OP_LE: return iv_truth(a.hi <= b.lo, a.lo > b.hi);
	case OP_GE: return iv_truth(a.lo >= b.hi, a.hi < b.lo);
	case OP_EQ:
		return iv_truth(a.lo == a.hi && b.lo == b.hi && a.lo == b.lo,
				a.hi < b.lo || a.lo > b.hi);
	case OP_NE:
		return iv_truth(a.hi < b.lo || a.lo > b.hi,
				a.lo == a.hi && b.lo == b.hi && a.lo == b.lo);
	case OP_AND:
		return iv_nonzero(a) ? b : iv_zero(a) ? a : iv_hull((struct iv){ 0.0, 0.0 }, b);
	case OP_OR:
		return iv_nonzero(a) ? a : iv_zero(a) ? b : iv_hull(iv_nz(a), b);
	default:
		return IV_ALL;
	}
}

/* where a chain whose operand may have been either ends: the value there
 * is the hull of what arrives and what that operand would have given */
struct pend {
	size_t at;
	struct iv v;
};
#define META_MAX_PEND (2 * META_MAX_DEPTH + 16)

/* meta_prog_bound - see meta.h */
void meta_prog_bound(const struct meta_prog *pr, const double *vals, const unsigned char *known,
		     void (*bound)(void *ctx, size_t index, double *lo, double *hi), void *ctx,
		     double *stack, double *lo, double *hi)
{
	const struct meta_ins *code = pr->code;
	size_t ncode = (size_t)pr->ncode, sp = 0, np = 0;
	struct iv *st = (struct iv *)(void *)stack, r = IV_ALL;
	struct pend pend[META_MAX_PEND];

	for (size_t i = 0;; i++) {
		while (np > 0 && pend[np - 1].at == i) {
			st[sp - 1] = iv_hull(st[sp - 1], pend[np - 1].v);
			np--;
		}
		if (i >= ncode)
			break;
		const struct meta_ins *in = &code[i];
		if (in->op == OP_NUM) {
			st[sp++] = iv_of(in->u.num, in->u.num);
			continue;
		}
		if (in->op == OP_REF) {
			double a = vals[in->u.index], b = a;
			if (known[in->u.index] != 1)
				bound(ctx, in->u.index, &a, &b);
			st[sp++] = a <= b ? iv_of(a, b) : IV_ALL;
			continue;
		}
		if (in->op == OP_JZ || in->op == OP_JNZ) {
			struct iv a = st[sp - 1];
			bool jz = in->op == OP_JZ;
			/* jumps are forward and nest: one past a place still
			 * waiting for its hull would be a program we do not know */
			if (np > 0 && pend[np - 1].at < in->arg)
				goto out;
			if (jz ? iv_zero(a) : iv_nonzero(a)) {
				i = in->arg - 1;	/* the loop's i++ lands on the target */
				continue;
			}
			sp--;
			if (jz ? iv_nonzero(a) : iv_zero(a))
				continue;
			/* either: the rest runs as if it did not jump, and the
			 * chain's end takes the hull with what a jump would bring */
			struct iv v = jz ? (struct iv){ 0.0, 0.0 } : iv_nz(a);
			if (np > 0 && pend[np - 1].at == in->arg)
				pend[np - 1].v = iv_hull(pend[np - 1].v, v);
			else if (np < META_MAX_PEND)
				pend[np++] = (struct pend){ in->arg, v };
			else
				goto out;
			continue;
		}
		if (in->op == OP_NOT) {
			struct iv a = st[sp - 1];
			st[sp - 1] = iv_truth(iv_zero(a), iv_nonzero(a));
			continue;
		}
		if (in->op == OP_NEG) {
			st[sp - 1] = (struct iv){ -st[sp - 1].hi, -st[sp - 1].lo };
			continue;
		}
		struct iv b = st[--sp];
		st[sp - 1] = iv_binary(in->op, st[sp - 1], b);
	}
	r = sp ? st[0] : (struct iv){ 0.0, 0.0 };
	/* run's result: not finite is 0 */
	if (!iv_finite(r))
		r = IV_ALL;
out:
	*lo = r.lo;
	*hi = r.hi;
}
