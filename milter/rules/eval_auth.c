/*
 * eval_auth.c - the eval tests of SpamAssassin's SPF, DKIM and DMARC
 * plugins (25_spf.cf, 25_dkim.cf, 25_dmarc.cf), answered from what
 * parapet's own authentication stages found: their built-in symbols
 * (env->hits) and the valid DKIM domains (env->auth).
 *
 * A stock rule named like one of parapet's built-ins with the same
 * meaning (`header SPF_PASS eval:check_for_spf_pass()`) is the built-in:
 * eval_def.builtin names it, the loader keeps the built-in and takes the
 * file's score and description for it.  Where SpamAssassin's name means
 * something else than parapet's built-in of that name (DMARC_NONE), the
 * built-in is kept and lint says so.
 */
#include "autoconfig.h"

#include <string.h>
#include <strings.h>

#include "rules/eval.h"
#include "rules/hits.h"
#include "mail/message.h"
#include "base/util.h"

/* a test that is one built-in symbol */
#define BUILTIN(fn, sym) \
	static unsigned fn(const struct eval_env *env, size_t argc, const char *const *argv) \
	{ \
		(void)argc, (void)argv; \
		return hits_has(env->hits, sym); \
	}

BUILTIN(spf_pass, "SPF_PASS")
BUILTIN(spf_fail, "SPF_FAIL")
BUILTIN(spf_softfail, "SPF_SOFTFAIL")
BUILTIN(spf_neutral, "SPF_NEUTRAL")
BUILTIN(spf_none, "SPF_NONE")
BUILTIN(spf_permerror, "SPF_PERMERROR")
BUILTIN(spf_temperror, "SPF_TEMPERROR")
BUILTIN(helo_pass, "SPF_HELO_PASS")
BUILTIN(helo_fail, "SPF_HELO_FAIL")
BUILTIN(helo_softfail, "SPF_HELO_SOFTFAIL")
BUILTIN(helo_neutral, "SPF_HELO_NEUTRAL")
BUILTIN(helo_none, "SPF_HELO_NONE")
BUILTIN(helo_permerror, "SPF_HELO_PERMERROR")
BUILTIN(helo_temperror, "SPF_HELO_TEMPERROR")
BUILTIN(dkim_valid_au, "DKIM_VALID_AU")
BUILTIN(dmarc_pass, "DMARC_PASS")
BUILTIN(dmarc_reject, "DMARC_FAIL_REJECT")
BUILTIN(dmarc_quarantine, "DMARC_FAIL_QUARANTINE")
BUILTIN(dmarc_fail_none, "DMARC_FAIL_NONE")
BUILTIN(dmarc_missing, "DMARC_NONE")

/* signed_by - a valid signature whose d= is one of the domains (or a
 * subdomain of a domain written "*.x" or ".x"), SpamAssassin's
 * _check_dkim_signed_by; any valid signature when argc is 0 */
static bool signed_by(const struct rules_auth *au, size_t argc, const char *const *argv)
{
	if (au == NULL || au->ndkim_valid == 0)
		return false;
	if (argc == 0)
		return true;
	for (size_t i = 0; i < au->ndkim_valid; i++) {
		const char *d = au->dkim_valid[i];
		size_t dl = strlen(d);
		for (size_t k = 0; k < argc; k++) {
			const char *w = argv[k];
			if (w[0] == '*' && w[1] == '.')
				w++;
			if (w[0] == '.') {
				size_t wl = strlen(w);
				if (dl > wl && strcasecmp(d + dl - wl, w) == 0)
					return true;
				if (strcasecmp(d, w + 1) == 0)
					return true;
			} else if (strcasecmp(d, w) == 0) {
				return true;
			}
		}
	}
	return false;
}

/* check_dkim_valid([domain...]) */
static unsigned dkim_valid(const struct eval_env *env, size_t argc, const char *const *argv)
{
	return signed_by(env->auth, argc, argv);
}

/* check_dkim_signed([domain...]) - a signature is present; parapet does
 * not keep the d= of signatures that failed, so with domains only valid
 * ones count */
static unsigned dkim_signed(const struct eval_env *env, size_t argc, const char *const *argv)
{
	if (argc)
		return signed_by(env->auth, argc, argv);
	return hits_has(env->hits, "DKIM_VALID") || hits_has(env->hits, "DKIM_INVALID") ||
	       hits_has(env->hits, "DKIM_TEMPERROR");
}

/* check_dkim_valid_envelopefrom - a valid signature by the envelope
 * sender's domain */
static unsigned dkim_valid_ef(const struct eval_env *env, size_t argc, const char *const *argv)
{
	const char *mf = env->m->mail_from, *at = mf ? strrchr(mf, '@') : NULL;

	(void)argc, (void)argv;
	if (at == NULL || at[1] == '\0')
		return 0;
	const char *dom[] = { at + 1 };
	return signed_by(env->auth, 1, dom);
}

/* check_dkim_dependable - signatures were checked on the whole message
 * (none, or the body was not cut short) */
static unsigned dkim_dependable(const struct eval_env *env, size_t argc, const char *const *argv)
{
	bool checked = hits_has(env->hits, "DKIM_VALID") || hits_has(env->hits, "DKIM_INVALID") ||
		       hits_has(env->hits, "DKIM_TEMPERROR") || hits_has(env->hits, "DKIM_NONE");

	(void)argc, (void)argv;
	return checked && (hits_has(env->hits, "DKIM_NONE") || !env->m->truncated);
}

const struct eval_def eval_auth_defs[] = {
	{ "check_for_spf_pass", EVAL_HEADER, 0, 0, spf_pass },
	{ "check_for_spf_fail", EVAL_HEADER, 0, 0, spf_fail },
	{ "check_for_spf_softfail", EVAL_HEADER, 0, 0, spf_softfail },
	{ "check_for_spf_neutral", EVAL_HEADER, 0, 0, spf_neutral },
	{ "check_for_spf_none", EVAL_HEADER, 0, 0, spf_none },
	{ "check_for_spf_permerror", EVAL_HEADER, 0, 0, spf_permerror },
	{ "check_for_spf_temperror", EVAL_HEADER, 0, 0, spf_temperror },
	{ "check_for_spf_helo_pass", EVAL_HEADER, 0, 0, helo_pass },
	{ "check_for_spf_helo_fail", EVAL_HEADER, 0, 0, helo_fail },
	{ "check_for_spf_helo_softfail", EVAL_HEADER, 0, 0, helo_softfail },
	{ "check_for_spf_helo_neutral", EVAL_HEADER, 0, 0, helo_neutral },
	{ "check_for_spf_helo_none", EVAL_HEADER, 0, 0, helo_none },
	{ "check_for_spf_helo_permerror", EVAL_HEADER, 0, 0, helo_permerror },
	{ "check_for_spf_helo_temperror", EVAL_HEADER, 0, 0, helo_temperror },
	{ "check_dkim_signed", EVAL_HEADER, 0, EVAL_MAX_ARGS, dkim_signed },
	{ "check_dkim_valid", EVAL_HEADER, 0, EVAL_MAX_ARGS, dkim_valid },
	{ "check_dkim_verified", EVAL_HEADER, 0, EVAL_MAX_ARGS, dkim_valid },
	{ "check_dkim_valid_author_sig", EVAL_HEADER, 0, EVAL_MAX_ARGS, dkim_valid_au },
	{ "check_dkim_valid_envelopefrom", EVAL_HEADER, 0, 0, dkim_valid_ef },
	{ "check_dkim_dependable", EVAL_HEADER, 0, 0, dkim_dependable },
	{ "check_dmarc_pass", EVAL_HEADER, 0, 0, dmarc_pass },
	{ "check_dmarc_reject", EVAL_HEADER, 0, 0, dmarc_reject },
	{ "check_dmarc_quarantine", EVAL_HEADER, 0, 0, dmarc_quarantine },
	{ "check_dmarc_none", EVAL_HEADER, 0, 0, dmarc_fail_none },
	{ "check_dmarc_missing", EVAL_HEADER, 0, 0, dmarc_missing },
	{ NULL, 0, 0, 0, NULL },
};

/* the stock rules that are parapet's built-ins under the same name */
static const struct {
	const char *eval, *builtin;
} same[] = {
	{ "check_for_spf_pass", "SPF_PASS" },
	{ "check_for_spf_fail", "SPF_FAIL" },
	{ "check_for_spf_softfail", "SPF_SOFTFAIL" },
	{ "check_for_spf_neutral", "SPF_NEUTRAL" },
	{ "check_for_spf_none", "SPF_NONE" },
	{ "check_for_spf_permerror", "SPF_PERMERROR" },
	{ "check_for_spf_temperror", "SPF_TEMPERROR" },
	{ "check_for_spf_helo_pass", "SPF_HELO_PASS" },
	{ "check_for_spf_helo_fail", "SPF_HELO_FAIL" },
	{ "check_for_spf_helo_softfail", "SPF_HELO_SOFTFAIL" },
	{ "check_for_spf_helo_neutral", "SPF_HELO_NEUTRAL" },
	{ "check_for_spf_helo_none", "SPF_HELO_NONE" },
	{ "check_for_spf_helo_permerror", "SPF_HELO_PERMERROR" },
	{ "check_for_spf_helo_temperror", "SPF_HELO_TEMPERROR" },
	{ "check_dkim_valid", "DKIM_VALID" },
	{ "check_dkim_verified", "DKIM_VALID" },
	{ "check_dkim_valid_author_sig", "DKIM_VALID_AU" },
	{ "check_dmarc_pass", "DMARC_PASS" },
	{ "check_dmarc_reject", "DMARC_FAIL_REJECT" },
	{ "check_dmarc_quarantine", "DMARC_FAIL_QUARANTINE" },
	{ "check_dmarc_none", "DMARC_FAIL_NONE" },
	{ "check_dmarc_missing", "DMARC_NONE" },
};

/* eval_builtin_of - see eval.h */
const char *eval_builtin_of(const char *eval)
{
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		if (strcmp(same[i].eval, eval) == 0)
			return same[i].builtin;
	return NULL;
}
