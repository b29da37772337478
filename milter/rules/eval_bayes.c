/*
 * eval_bayes.c - SpamAssassin's check_bayes(lo, hi) (23_bayes.cf),
 * answered from the probability the bayes stage found (env->auth): a hit
 * when lo < p <= hi, or 0 <= p <= hi when lo is 0, as Plugin/Bayes.pm
 * tests it, so BAYES_00 ... BAYES_999 fall in SpamAssassin's bands and its
 * scores apply unchanged.  No hit when the classifier did not vote.
 */
#include "autoconfig.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "rules/eval.h"

/* bound - the number argv is, as strtod reads it (false: not all of it a
 * number).  The bands' "0.99" and the like are read by hand, as 99 /
 * 10^2: both exact doubles, so the one rounding of the division gives
 * the double nearest the decimal, which is strtod's (10 rules a message
 * parsed their two numbers each time) */
static bool bound(const char *arg, double *out)
{
	static const double pow10[] = { 1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9 };
	unsigned long m = 0;
	size_t digits = 0, frac = 0;
	const char *p = arg;
	char *end;

	for (; *p >= '0' && *p <= '9'; p++, digits++)
		m = m * 10 + (unsigned long)(*p - '0');
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++, digits++, frac++)
			m = m * 10 + (unsigned long)(*p - '0');
	if (*p == '\0' && digits > 0 && digits <= 9 && (p[-1] != '.' || frac > 0)) {
		*out = (double)m / pow10[frac];
		return true;
	}
	*out = strtod(arg, &end);
	return *end == '\0';
}

/* check_bayes - lo < p <= hi ("undef" hi: no upper bound) */
static unsigned check_bayes(const struct eval_env *env, size_t argc, const char *const *argv)
{
	double lo, hi;

	if (env->auth == NULL || !env->auth->bayes_valid || argc != 2)
		return 0;
	double p = env->auth->bayes_prob;
	if (!bound(argv[0], &lo))
		return 0;
	if (lo != 0 && !(p > lo))
		return 0;
	if (strcmp(argv[1], "undef") == 0)
		return 1;
	return bound(argv[1], &hi) && p <= hi;
}

const struct eval_def eval_bayes_defs[] = {
	{ "check_bayes", EVAL_BODY, 2, 2, check_bayes },
	{ NULL, 0, 0, 0, NULL },
};
