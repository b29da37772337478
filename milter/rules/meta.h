/*
 * meta.h - SpamAssassin meta-rule expressions (SPEC §5): parsed once into
 * a postfix program, evaluated per message over an array of values.
 *
 * Grammar and precedence are Perl's, which is what SpamAssassin hands the
 * expression to (highest first):
 *
 *   ( )  numbers  names
 *   ! -  +           unary, right-associative
 *   * /              left-associative
 *   + -              left-associative
 *   < > <= >=        non-associative (a < b < c is an error)
 *   == !=            non-associative
 *   &&               value of the last operand evaluated, as in Perl
 *   ||               likewise
 *
 * Numbers are decimal (12, 0.5, .5; no exponent).  Names are rule names
 * ([A-Za-z_][A-Za-z0-9_]*); what a name means is the caller's business:
 * after compiling, the caller binds every name to an index into the value
 * array it passes to meta_eval.  Comparisons and ! give 1 or 0; division
 * by zero gives 0; a result that is not finite is 0.
 *
 * A compiled expression is immutable once bound and may be evaluated by
 * many threads at once (each with its own stack).  Limits: META_MAX_OPS
 * operations, META_MAX_DEPTH nested parentheses or unary operators.
 */
#ifndef PARAPET_META_H
#define PARAPET_META_H

#include <stdbool.h>
#include <stddef.h>

#define META_MAX_OPS 4096
#define META_MAX_DEPTH 100
#define META_MAX_NAME 128

struct meta_expr;

/*
 * meta_compile - parse text; NULL and *err (caller frees, names the
 * column) on a syntax error.  Names start unbound (index 0).
 */
struct meta_expr *meta_compile(const char *text, char **err);
/* meta_compile_eager - the same program without the jumps of && and ||:
 * every name is read (the reference the tests and fuzz_meta compare
 * meta_compile's program with) */
struct meta_expr *meta_compile_eager(const char *text, char **err);
/* meta_free - release; takes NULL, returns NULL */
struct meta_expr *meta_free(struct meta_expr *e);

/* meta_nnames - distinct names in the expression, in order of appearance */
size_t meta_nnames(const struct meta_expr *e);
/* meta_name - the i-th distinct name; borrowed from e */
const char *meta_name(const struct meta_expr *e, size_t i);
/* meta_bind - name i reads vals[index] in meta_eval */
void meta_bind(struct meta_expr *e, size_t i, size_t index);

/*
 * meta_reorder - once, after binding: in each && chain, the operands
 * that come after a dearer one (cost of an operand: the highest cost(ctx,
 * index) of the names it reads) are also read before the chain, cheapest
 * first, and a 0 there skips the rest; the names of the dearer ones are
 * then never asked for.  The value of the expression stays exactly what
 * it was for every set of values (no operand has side effects); for
 * meta_compile programs (meta_compile_eager has no chains).  A chain with
 * a name whose cost is META_PINNED is left as it is (the caller's reason:
 * when that name is read is seen).
 */
#define META_PINNED 0xffffffffu
/* meta_cost - the highest cost(ctx, index) of the names e reads (bound) */
unsigned meta_cost(const struct meta_expr *e, unsigned (*cost)(void *ctx, size_t index), void *ctx);
void meta_reorder(struct meta_expr *e, unsigned (*cost)(void *ctx, size_t index), void *ctx);
/* meta_stack_size - doubles of scratch meta_eval needs */
size_t meta_stack_size(const struct meta_expr *e);
/* meta_eval - value of the expression; stack has meta_stack_size slots */
double meta_eval(const struct meta_expr *e, const double *vals, double *stack);
/*
 * A pack: copies of bound programs laid out one after the other in one
 * block, so that running a rule set's metas in order reads memory in
 * order (a message runs ~1,000 of them).  The expressions may be freed
 * once packed; binding them again does not change the pack.
 */
struct meta_pack;
struct meta_prog;
/* meta_pack_new - es[0, n) in that order */
struct meta_pack *meta_pack_new(const struct meta_expr *const *es, size_t n);
/* meta_pack_free - release; takes NULL, returns NULL */
struct meta_pack *meta_pack_free(struct meta_pack *p);
/* meta_pack_prog - the copy of es[i]; borrowed from p */
const struct meta_prog *meta_pack_prog(const struct meta_pack *p, size_t i);
/*
 * meta_prog_eval - a packed program's value, reading a name only when its
 * value can still decide: the right operand of && is skipped when the
 * left one is 0, that of || when it is not (Perl's value either way).  A
 * name whose known[index] is 0 when read is first handed to need(ctx,
 * index), which must set vals[index] (and known[index]) and answer true,
 * or answer false: the evaluation then stops and gives NaN (no other
 * evaluation gives NaN); known NULL: every value is set.  stack: the
 * expression's meta_stack_size.
 */
double meta_prog_eval(const struct meta_prog *pr, const double *vals, const unsigned char *known,
		      bool (*need)(void *ctx, size_t index), void *ctx, double *stack);
/*
 * meta_prog_bound - bounds of a packed program's value when some names
 * are known only within bounds: a name whose known[index] is 1 has the
 * value vals[index]; bound(ctx, index, lo, hi) gives any other's bounds
 * (lo == hi: its value).  For every set of values within the names'
 * bounds, what meta_prog_eval gives is in [*lo, *hi]; so *lo == *hi,
 * finite, is its value.  Otherwise *lo may be -inf and *hi inf.  bound
 * may be asked for any name the program reads, in the order it reads
 * them, at most once per read.  stack: 2 * meta_stack_size doubles.
 */
void meta_prog_bound(const struct meta_prog *pr, const double *vals, const unsigned char *known,
		     void (*bound)(void *ctx, size_t index, double *lo, double *hi), void *ctx,
		     double *stack, double *lo, double *hi);

#endif
