/*
 * fuzz_meta.c - libFuzzer target: the meta-expression compiler and
 * evaluator (meta.c).  Every name is bound to a value taken from the
 * input, the program runs on a stack of exactly meta_stack_size slots (so
 * ASan sees an undercount), and the invariants of meta.h are checked:
 * an error names its column, a result is finite, evaluation is
 * deterministic.  The program with jumps for && and || (meta_compile)
 * must give what the one without them (meta_compile_eager) gives, also
 * when packed (meta_pack_new, as rules_eval runs it) and every value is
 * asked for on first read (meta_prog_eval), and a value is asked for at
 * most once; and so must the program whose cheaper && operands are read
 * first (meta_reorder, with costs from the input); and the bounds of
 * that program when some values are known only within bounds
 * (meta_prog_bound) must hold its value for values within them.
 */
#include "autoconfig.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules/meta.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the values meta_prog_eval asks for, one at a time */
struct ask {
	const double *vals;	/* the values */
	double *shown;		/* what the evaluation sees */
	unsigned char *known;
	size_t n;
};

/* asked - meta_prog_eval's need(): a value asked for twice is a bug */
static bool asked(void *ctx, size_t index)
{
	struct ask *a = ctx;

	if (index >= a->n || a->known[index])
		abort();
	a->known[index] = 1;
	a->shown[index] = a->vals[index];
	return true;
}

/* bound_of - meta_prog_bound's bounds of a value not known */
struct bnd {
	double *lo, *hi;
	const unsigned char *known;
	size_t n;
};
static void bound_of(void *ctx, size_t index, double *lo, double *hi)
{
	const struct bnd *b = ctx;

	if (index >= b->n || b->known[index])
		abort();
	*lo = b->lo[index];
	*hi = b->hi[index];
}

/* cost_of - meta_reorder's costs, from the input: 0-3, or pinned */
struct costs {
	const uint8_t *data;
	size_t size;
};
static unsigned cost_of(void *ctx, size_t index)
{
	const struct costs *c = ctx;
	unsigned b = c->size ? c->data[(index * 7 + 3) % c->size] : 0;
	return b % 17 == 16 ? META_PINNED : b % 4;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size);
	char *err = NULL;
	struct meta_expr *e = meta_compile(text, &err);

	if (e == NULL) {
		if (err == NULL || strstr(err, " at column ") == NULL)
			abort();
		free(err);
		free(text);
		return 0;
	}
	size_t n = meta_nnames(e), need = meta_stack_size(e);
	if (err != NULL || need == 0 || need > META_MAX_OPS)
		abort();
	double *vals = xcalloc(n + 1, sizeof(*vals));
	for (size_t i = 0; i < n; i++) {
		const char *name = meta_name(e, i);
		if (strlen(name) == 0 || strlen(name) > META_MAX_NAME)
			abort();
		meta_bind(e, i, n - 1 - i);	/* any permutation must do */
		/* hit counts are small integers, meta values any number */
		vals[i] = size ? (double)(data[i % size] % 7) - 2.0 + (i & 1) * 0.5 : 0.0;
	}
	double *stack = xmalloc(need * sizeof(*stack));
	double v1 = meta_eval(e, vals, stack);
	double v2 = meta_eval(e, vals, stack);
	if (!isfinite(v1) || v1 != v2)
		abort();
	free(stack);

	/* the same text without jumps: the reference */
	struct meta_expr *ref = meta_compile_eager(text, &err);
	if (ref == NULL || meta_nnames(ref) != n)
		abort();
	for (size_t i = 0; i < n; i++)
		meta_bind(ref, i, n - 1 - i);
	double *rst = xmalloc(meta_stack_size(ref) * sizeof(*rst));
	double want = meta_eval(ref, vals, rst);
	free(rst);
	if (want != v1)	/* -0.0 == 0.0 */
		abort();

	/* every value unknown until read */
	struct ask ask = { .vals = vals, .shown = xcalloc(n + 1, sizeof(double)),
			   .known = xcalloc(n + 1, 1), .n = n };
	stack = xmalloc(need * sizeof(*stack));
	const struct meta_expr *one[1] = { e };
	struct meta_pack *pack = meta_pack_new(one, 1);
	double v3 = meta_prog_eval(meta_pack_prog(pack, 0), ask.shown, ask.known, asked, &ask, stack);
	meta_pack_free(pack);
	if (v3 != v1)
		abort();
	free(stack);
	free(ask.shown);
	free(ask.known);
	/* with the cheaper operands of && read first (costs from the input,
	 * some names pinned): the same value, each value asked at most once */
	struct meta_expr *ro = meta_compile(text, &err);
	if (ro == NULL)
		abort();
	for (size_t i = 0; i < n; i++)
		meta_bind(ro, i, n - 1 - i);
	struct costs cs = { data, size };
	meta_reorder(ro, cost_of, &cs);
	if (meta_stack_size(ro) != need)
		abort();
	stack = xmalloc(need * sizeof(*stack));
	if (meta_eval(ro, vals, stack) != v1)
		abort();
	ask = (struct ask){ .vals = vals, .shown = xcalloc(n + 1, sizeof(double)),
			    .known = xcalloc(n + 1, 1), .n = n };
	one[0] = ro;
	pack = meta_pack_new(one, 1);
	if (meta_prog_eval(meta_pack_prog(pack, 0), ask.shown, ask.known, asked, &ask, stack) != v1)
		abort();
	free(stack);
	/* over bounds: some values known, the others only within bounds
	 * around them (from the input); the value, and the value of other
	 * values within those bounds, lie within what meta_prog_bound gives */
	struct bnd b = { .lo = xcalloc(n + 1, sizeof(double)), .hi = xcalloc(n + 1, sizeof(double)),
			 .known = ask.known, .n = n };
	double *within = xcalloc(n + 1, sizeof(double));
	for (size_t k = 0; k < n; k++) {
		uint8_t x = size ? data[(k * 5 + 1) % size] : 0;
		ask.known[k] = x % 3 == 0;
		b.lo[k] = vals[k] - (double)(x % 3);
		b.hi[k] = vals[k] + (double)((x >> 2) % 3) * 0.5;
		within[k] = ask.known[k] ? vals[k] : (x & 64) ? b.lo[k] : b.hi[k];
	}
	stack = xmalloc(2 * need * sizeof(*stack));
	double lo, hi;
	meta_prog_bound(meta_pack_prog(pack, 0), vals, ask.known, bound_of, &b, stack, &lo, &hi);
	if (!(lo <= hi) || v1 < lo || v1 > hi)
		abort();
	double w = meta_eval(ro, within, stack);
	if (w < lo || w > hi)
		abort();
	meta_pack_free(pack);
	free(stack);
	free(within);
	free(b.lo);
	free(b.hi);
	free(ask.shown);
	free(ask.known);
	meta_free(ro);
	meta_free(ref);
	free(vals);
	meta_free(e);
	free(text);
	return 0;
}
