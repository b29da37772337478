/*
 * eval_head.c - SpamAssassin's HeaderEval tests that read header fields
 * only (Plugin/HeaderEval.pm), with its semantics.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "rules/eval.h"
#include "mail/message.h"
#include "base/util.h"

/* header_get - every field called name, decoded, joined by "\n" (what
 * SpamAssassin's $pms->get(name) answers); false if there is none */
static bool header_get(const struct msg *m, const char *name, bool raw, struct buf *out)
{
	size_t n = msg_header_count(m, name);

	for (size_t i = 0; i < n; i++) {
		const struct header *h = msg_header(m, name, i);
		if (i)
			buf_putc(out, '\n');
		buf_puts(out, raw ? h->raw : h->decoded);
	}
	return n > 0;
}

/* check_for_missing_to_header - neither To nor Apparently-To has text */
static unsigned missing_to(const struct eval_env *env, size_t argc,
			   const char *const *argv)
{
	struct buf b;
	bool missing;

	(void)argc;
	(void)argv;
	buf_init(&b);
	header_get(env->m, "To", false, &b);
	if (b.len == 0)
		header_get(env->m, "Apparently-To", false, &b);
	missing = b.len == 0;
	buf_free(&b);
	return missing;
}

/* strip_reply_prefixes - past "Re:", "Fwd:" ... (SpamAssassin bug 6805) */
static const char *strip_reply_prefixes(const char *s)
{
	static const char *const pre[] = {
		"Re", "Fwd", "Fw", "Aw", "Antwort", "WG", "SV", "VB", "VS", "VL", NULL,
	};
	bool again = true;

	while (again) {
		again = false;
		for (size_t i = 0; pre[i]; i++) {
			size_t n = strlen(pre[i]);
			if (strncasecmp(s, pre[i], n) == 0 && s[n] == ':') {
				s += n + 1;
				while (isspace((unsigned char)*s))
					s++;
				again = true;
				break;
			}
		}
	}
	return s;
}

/* eval_charset_caps_fp - is the charset name s..e one whose text reads
 * as capitals (SpamAssassin's CHARSETS_LIKELY_TO_FP_AS_CAPS: a name of
 * [-_a-z0-9] holding koi, jp, jis, euc, gb, big5 ...)? */
bool eval_charset_caps_fp(const char *s, const char *e)
{
	static const char *const cs[] = {
		"koi", "jp", "jis", "euc", "gb", "big5", "isoir", "cp1251",
		"windows-1251", "georgianps", "pt154", "tis", NULL,
	};

	for (const char *q = s; q < e; q++)
		if (!isalnum((unsigned char)*q) && *q != '-' && *q != '_')
			return false;
	for (size_t i = 0; cs[i]; i++)
		for (const char *q = s; q + strlen(cs[i]) <= e; q++)
			if (strncasecmp(q, cs[i], strlen(cs[i])) == 0)
				return true;
	return false;
}

/* fp_charset - does a raw Subject's encoded word name such a charset? */
static bool fp_charset(const char *raw)
{
	for (const char *p = strstr(raw, "=?"); p; p = strstr(p + 2, "=?")) {
		const char *s = p + 2, *e = s;
		while (isalnum((unsigned char)*e) || *e == '-' || *e == '_')
			e++;
		if (*e == '?' && eval_charset_caps_fp(s, e))
			return true;
	}
	return false;
}

/* subject_is_all_caps - a Subject of several words, at least 10
 * characters, whose letters are all capitals */
static unsigned all_caps(const struct eval_env *env, size_t argc, const char *const *argv)
{
	struct buf b;
	unsigned hit = 0;
	size_t letters = 0;
	bool lower = false;

	(void)argc;
	(void)argv;
	buf_init(&b);
	header_get(env->m, "Subject", false, &b);
	buf_putc(&b, '\0');
	const char *s = b.data;
	while (isspace((unsigned char)*s))
		s++;
	s = strip_reply_prefixes(s);
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	bool space = false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		space |= isspace(c) != 0;
		if (isalpha(c) && c < 0x80) {
			letters++;
			lower |= islower(c) != 0;
		}
	}
	/* length is in characters: count UTF-8 lead bytes */
	size_t chars = 0;
	for (size_t i = 0; i < n; i++)
		chars += ((unsigned char)s[i] & 0xC0) != 0x80;
	if (space && chars >= 10 && letters && !lower) {
		buf_reset(&b);
		header_get(env->m, "Subject", true, &b);
		buf_putc(&b, '\0');
		hit = !fp_charset(b.data);
	}
	buf_free(&b);
	return hit;
}

const struct eval_def eval_head_defs[] = {
	{ "check_for_missing_to_header", EVAL_HEADER, 0, 0, missing_to },
	{ "subject_is_all_caps", EVAL_HEADER, 0, 0, all_caps },
	{ NULL, 0, 0, 0, NULL },
};
