/*
 * eval_bayes.c - SpamAssassin's check_bayes(lo, hi) (23_bayes.cf),
 * answered from the probability the bayes stage found (env->auth): a hit
 * when lo < p <= hi, or 0 <= p <= hi when lo is 0, as Plugin/Bayes.pm
 * tests it, so BAYES_00 ... BAYES_999 fall in SpamAssassin's bands and its
 * scores apply unchanged.  No hit when the classifier did not vote.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "rules/eval.h"

/* check_bayes - lo < p <= hi ("undef" hi: no upper bound) */
static unsigned check_bayes(const struct eval_env *env, size_t argc, const char *const *argv)
{
	char *end;

	if (env->auth == NULL || !env->auth->bayes_valid || argc != 2)
		return 0;
	double p = env->auth->bayes_prob;
	double lo = strtod(argv[0], &end);
	if (*end)
		return 0;
	if (lo != 0 && !(p > lo))
		return 0;
	if (strcmp(argv[1], "undef") == 0)
		return 1;
	double hi = strtod(argv[1], &end);
	return *end == '\0' && p <= hi;
}

const struct eval_def eval_bayes_defs[] = {
	{ "check_bayes", EVAL_BODY, 2, 2, check_bayes },
	{ NULL, 0, 0, 0, NULL },
};
