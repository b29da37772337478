/*
 * fuzz_meta.c - libFuzzer target: the meta-expression compiler and
 * evaluator (meta.c).  Every name is bound to a value taken from the
 * input, the program runs on a stack of exactly meta_stack_size slots (so
 * ASan sees an undercount), and the invariants of meta.h are checked:
 * an error names its column, a result is finite, evaluation is
 * deterministic.
 */
#include "autoconfig.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules/meta.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	free(vals);
	meta_free(e);
	free(text);
	return 0;
}
