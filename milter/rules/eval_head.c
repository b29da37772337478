/*
 * eval_head.c - SpamAssassin's HeaderEval tests that read header fields
 * only (Plugin/HeaderEval.pm), with its semantics: missing To, all-caps
 * Subject, raw 8-bit bytes (check_illegal_chars), recipient lists
 * (sorted_recipients, similar_recipients), the recipient's name in the
 * Subject, ratware Message-Ids, unresolved templates, field counts.
 * Dates are in eval_date.c, forged free mail Received in eval_forged.c.
 * At most RECIPS_MAX recipients are compared, as SpamAssassin does.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules/eval.h"
#include "mail/auth.h"
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

/* check_for_missing_to_header - there is neither a To nor an
 * Apparently-To field (an empty one counts as there: SpamAssassin's get
 * gives its value with the line break, "\n", which is not '') */
static unsigned missing_to(const struct eval_env *env, size_t argc,
			   const char *const *argv)
{
	(void)argc;
	(void)argv;
	return msg_header_first(env->m, "To") < 0 && msg_header_first(env->m, "Apparently-To") < 0;
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

/* raw_field - SpamAssassin's get('NAME:raw'): each field's raw value
 * (with the blank after the colon) unfolded, ending in "\n"; 'ALL': every
 * field as "Name:value\n" */
static void raw_field(const struct msg *m, const char *name, struct buf *out)
{
	bool all = strcmp(name, "ALL") == 0;

	for (size_t i = 0; i < m->nhdrs; i++) {
		const struct header *h = &m->hdrs[i];
		if (!all && strcasecmp(h->name, name) != 0)
			continue;
		if (all) {
			buf_puts(out, h->name);
			buf_putc(out, ':');
		}
		for (const char *p = h->raw; *p; p++) {
			if (*p == '\r' && p[1] == '\n')
				continue;
			if (*p == '\n' && !all) {
				while (isspace((unsigned char)p[1]))
					p++;
				buf_putc(out, ' ');
				continue;
			}
			buf_putc(out, *p);
		}
		buf_putc(out, '\n');
	}
}

/* utf8_valid - RFC 3629 UTF-8 (no overlongs, no surrogates) */
static bool utf8_valid(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t k;
		unsigned char lo = 0x80, hi = 0xBF;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xC2 && c <= 0xDF) {
			k = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			k = 2;
			if (c == 0xE0)
				lo = 0xA0;
			else if (c == 0xED)
				hi = 0x9F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			k = 3;
			if (c == 0xF0)
				lo = 0x90;
			else if (c == 0xF4)
				hi = 0x8F;
		} else {
			return false;
		}
		if (i + k >= n)
			return false;
		for (size_t j = 1; j <= k; j++) {
			unsigned char t = s[i + j];
			if (j == 1 ? (t < lo || t > hi) : (t < 0x80 || t > 0xBF))
				return false;
		}
		i += k + 1;
	}
	return true;
}

/* check_illegal_chars(header, ratio, count) - raw 8-bit and control
 * bytes in the field (or 'ALL' fields): at least count of them and at
 * least ratio of its length; valid UTF-8 without controls is fine, and
 * one cent, pound or (R) sign in a Subject */
static unsigned illegal_chars(const struct eval_env *env, size_t argc, const char *const *argv)
{
	struct buf b;
	size_t illegal = 0, exempt = 0, nonascii = 0, ctl = 0;
	bool text = false;
	char name[128];

	(void)argc;
	snprintf(name, sizeof(name), "%s", argv[0]);
	size_t nl = strlen(name);
	if (nl >= 4 && strcasecmp(name + nl - 4, ":raw") == 0)
		name[nl - 4] = '\0';
	buf_init(&b);
	raw_field(env->m, name, &b);
	for (size_t i = 0; i < b.len; i++) {
		unsigned char c = (unsigned char)b.data[i];
		text |= !isspace(c);
		nonascii += c >= 0x80;
		bool control = c <= 0x08 || c == 0x0b || c == 0x0c || (c >= 0x0e && c <= 0x1f);
		ctl += control;
		illegal += control || c >= 0x7f;
		exempt += c == 0xa2 || c == 0xa3 || c == 0xae;
	}
	unsigned hit = 0;
	if (text && !(nonascii && ctl == 0 && utf8_valid((const unsigned char *)b.data, b.len))) {
		if (illegal > 0 && strcasecmp(name, "Subject") == 0 && exempt == 1)
			illegal--;
		hit = (double)illegal / (double)b.len >= eval_num(argv[1]) &&
		      (double)illegal >= eval_num(argv[2]);
	}
	buf_free(&b);
	return hit;
}

#define RECIPS_MAX 256

/* recips - the To and Cc addresses (and Bcc's when fewer than five),
 * repeats next to each other dropped, at most RECIPS_MAX; returns the
 * count, strings in out (caller frees) */
static size_t recips(struct msg *m, char **out)
{
	static const char *const names[][2] = { { "To", "Cc" }, { "Bcc", NULL } };
	size_t n = 0, inputs = 0;
	bool stop = false;

	for (size_t g = 0; g < 2 && inputs < 5 && !stop; g++)
		for (size_t k = 0; k < 2 && names[g][k] && !stop; k++)
			for (size_t i = 0; i < msg_header_count(m, names[g][k]) && !stop; i++) {
				struct buf a;
				buf_init(&a);
				auth_msg_addr_list(m, msg_header(m, names[g][k], i)->value, false, &a);
				char *save = NULL;
				for (char *w = a.data ? strtok_r(a.data, ", ", &save) : NULL; w && !stop;
				     w = strtok_r(NULL, ", ", &save)) {
					inputs++;
					/* Perl's while (shift) ends on a false "0" */
					stop = strcmp(w, "0") == 0 || n == RECIPS_MAX;
					if (!stop && (n == 0 || strcasecmp(out[n - 1], w) != 0))
						out[n++] = xstrdup(w);
				}
				buf_free(&a);
			}
	return n;
}

/* recips_free - release n strings */
static void recips_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
}

/* sorted_recipients - seven or more recipients in sorted order */
static unsigned sorted_recips(const struct eval_env *env, size_t argc, const char *const *argv)
{
	char *v[RECIPS_MAX], *s[RECIPS_MAX];
	unsigned hit = 0;

	(void)argc;
	(void)argv;
	size_t n = recips(env->m, v);
	if (n >= 7) {
		memcpy(s, v, n * sizeof(*v));
		qsort(s, n, sizeof(*s), str_ptr_cmp);
		hit = 1;
		for (size_t i = 0; i < n && hit; i++)
			hit = strcmp(s[i], v[i]) == 0;
	}
	recips_free(v, n);
	return hit;
}

/* prefix_eq - the first two bytes of a and b (NULL: Perl's undef, "") */
static bool prefix_eq(const char *a, const char *b)
{
	return strncmp(a ? a : "", b ? b : "", 2) == 0;
}

/* similar_recipients(min, max) - the share of recipient pairs whose user
 * parts, or whose different hosts, start alike, for five or more */
static unsigned similar_recips(const struct eval_env *env, size_t argc, const char *const *argv)
{
	char *v[RECIPS_MAX];
	const char *host[RECIPS_MAX];
	double similar = 0;

	(void)argc;
	size_t n = recips(env->m, v), nh = 0;
	if (n >= 5) {
		/* SpamAssassin's map drops addresses without "@", so the host
		 * list can be shorter than the address list */
		for (size_t i = 0; i < n; i++) {
			const char *at = strchr(v[i], '@');
			if (at)
				host[nh++] = at + 1;
		}
		unsigned hits = 0, pairs = 0;
		for (size_t i = 0; i < n; i++)
			for (size_t j = i + 1; j < n; j++) {
				const char *hi = i < nh ? host[i] : NULL, *hj = j < nh ? host[j] : NULL;
				hits += prefix_eq(v[i], v[j]);
				hits += prefix_eq(hi, hj) && strcmp(hi ? hi : "", hj ? hj : "") != 0;
				pairs++;
			}
		similar = (double)hits / pairs;
	}
	recips_free(v, n);
	return (strcmp(argv[0], "undef") == 0 || similar >= eval_num(argv[0])) &&
	       (strcmp(argv[1], "undef") == 0 || similar < eval_num(argv[1]));
}

/* quotemeta - Perl's \Q: every byte but [A-Za-z0-9_] escaped */
static void quotemeta(const char *s, size_t n, struct buf *out)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isalnum(c) && c != '_' && c < 0x80)
			buf_putc(out, '\\');
		if (c >= 0x80)
			buf_printf(out, "\\x{%02x}", c);
		else
			buf_putc(out, (char)c);
	}
}

/* check_for_to_in_subject('address'|'user') - the To address, or its
 * user part in one of the forms spammers use, in the Subject */
static unsigned to_in_subject(const struct eval_env *env, size_t argc, const char *const *argv)
{
	struct buf to, subj, q, pat;
	unsigned hit = 0;

	(void)argc;
	buf_init(&to);
	buf_init(&subj);
	buf_init(&q);
	buf_init(&pat);
	eval_addr(env, "To", &to);
	if (to.len) {
		for (size_t i = 0; i < msg_header_count(env->m, "Subject"); i++) {
			buf_puts(&subj, msg_header(env->m, "Subject", i)->decoded);
			buf_putc(&subj, '\n');
		}
		if (subj.data == NULL)
			buf_puts(&subj, "");
		size_t n = strcmp(argv[0], "user") == 0 ? strcspn(to.data, "@") : to.len;
		if (n > 0 && memchr(to.data, '\0', n) == NULL && mem_ascii_only(to.data, n) &&
		    mem_ascii_only(subj.data, subj.len) && !mem_holds_nocase(subj.data, subj.len, to.data, n)) {
			/* every branch of the patterns below holds the address
			 * (or user part), in ASCII case folding alone when both
			 * are ASCII: not in the Subject, no hit, and no regex
			 * compiled for this message */
			goto out;
		}
		if (strcmp(argv[0], "address") == 0) {
			quotemeta(to.data, n, &q);
			buf_printf(&pat, "\\b%s\\b", q.data);
		} else if (strcmp(argv[0], "user") == 0) {
			quotemeta(to.data, n, &q);
			buf_printf(&pat, "^(?:(?:re|fw):\\s*(?:\\w+\\s+)?%s$|(?-i:%s)\\s*[,:;!?-](?:$|\\s)"
				   "|%s$|,\\s*%s[,:;!?-]$)", q.data, q.data, q.data, q.data);
		}
		if (pat.len)
			hit = eval_re_search(pat.data, "i", subj.data, subj.len, NULL, NULL);
	}
out:
	buf_free(&to);
	buf_free(&subj);
	buf_free(&q);
	buf_free(&pat);
	return hit;
}

/* message_id - SpamAssassin's MESSAGEID: X-Message-Id, Resent-Message-Id,
 * X-Original-Message-ID and Message-Id values, each ending in "\n" */
static void message_id(const struct msg *m, struct buf *out)
{
	static const char *const ids[] = { "X-Message-Id", "Resent-Message-Id",
		"X-Original-Message-ID", "Message-Id" };

	for (size_t k = 0; k < 4; k++)
		for (size_t i = 0; i < msg_header_count(m, ids[k]); i++) {
			buf_puts(out, msg_header(m, ids[k], i)->decoded);
			buf_putc(out, '\n');
		}
	if (out->data == NULL)
		buf_puts(out, "");
}

/* check_ratware_name_id - a Message-Id of 28 capitals and the From
 * address, with a quoted name in From */
static unsigned ratware_name_id(const struct eval_env *env, size_t argc, const char *const *argv)
{
	struct buf mid, from, q;
	size_t a, b;
	unsigned hit = 0;

	(void)argc;
	(void)argv;
	buf_init(&mid);
	buf_init(&from);
	buf_init(&q);
	message_id(env->m, &mid);
	if (eval_re_fixed("<[A-Z]{28}\\.([^>]+?)>", "", mid.data, mid.len, &a, &b)) {
		buf_puts(&q, "\\\"[^\\\"]+\\\"\\s*<");
		quotemeta(mid.data + a + 30, b - a - 31, &q);
		buf_putc(&q, '>');
		for (size_t i = 0; i < msg_header_count(env->m, "From"); i++) {
			buf_puts(&from, msg_header(env->m, "From", i)->decoded);
			buf_putc(&from, '\n');
		}
		hit = from.len && eval_re_search(q.data, "", from.data, from.len, NULL, NULL);
	}
	buf_free(&mid);
	buf_free(&from);
	buf_free(&q);
	return hit;
}

/* check_for_matching_env_and_hdr_from - the envelope sender is the
 * From address (both unknown counts as a match) */
static unsigned env_from_match(const struct eval_env *env, size_t argc, const char *const *argv)
{
	struct buf e, f;

	(void)argc;
	(void)argv;
	buf_init(&e);
	buf_init(&f);
	eval_addr(env, "EnvelopeFrom", &e);
	eval_addr(env, "From", &f);
	bool same = strcasecmp(e.data ? e.data : "", f.data ? f.data : "") == 0;
	buf_free(&e);
	buf_free(&f);
	return same;
}

/* check_header_count_range(name, min, max) - min..max different values
 * of the field */
static unsigned header_count(const struct eval_env *env, size_t argc, const char *const *argv)
{
	size_t n = msg_header_count(env->m, argv[0]), uniq = 0;

	(void)argc;
	for (size_t i = 0; i < n; i++) {
		const char *v = msg_header(env->m, argv[0], i)->decoded;
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(msg_header(env->m, argv[0], j)->decoded, v) == 0;
		uniq += !seen;
	}
	return (double)uniq >= eval_num(argv[1]) && (double)uniq <= eval_num(argv[2]);
}

/* check_unresolved_template - a field (but the address, subject and id
 * ones) holding a "%NAME" mail-merge placeholder */
static unsigned unresolved_template(const struct eval_env *env, size_t argc,
				    const char *const *argv)
{
	static const char *const skip[] = { "X-VMS-To", "X-UIDL", "X-Face", "To", "Cc", "From",
		"Subject", "References", "In-Reply-To", "Message-Id", "X-Message-Id",
		"Resent-Message-Id", "X-Original-Message-Id", NULL };
	const struct msg *m = env->m;

	(void)argc;
	(void)argv;
	for (size_t i = 0; i < m->nhdrs; i++) {
		bool placeholder = false, skipped = false;
		for (const char *p = strchr(m->hdrs[i].decoded, '%'); p && !placeholder;
		     p = strchr(p + 1, '%'))
			placeholder = isupper((unsigned char)p[1]) &&
				      (isupper((unsigned char)p[2]) || p[2] == '_' || p[2] == '-');
		for (size_t k = 0; placeholder && skip[k] && !skipped; k++)
			skipped = strcasecmp(m->hdrs[i].name, skip[k]) == 0;
		if (placeholder && !skipped)
			return 1;
	}
	return 0;
}

const struct eval_def eval_head_defs[] = {
	{ "check_for_missing_to_header", EVAL_HEADER, 0, 0, missing_to },
	{ "subject_is_all_caps", EVAL_HEADER, 0, 0, all_caps },
	{ "check_illegal_chars", EVAL_HEADER, 3, 3, illegal_chars },
	{ "sorted_recipients", EVAL_HEADER, 0, 0, sorted_recips },
	{ "similar_recipients", EVAL_HEADER, 2, 2, similar_recips },
	{ "check_for_to_in_subject", EVAL_HEADER, 1, 1, to_in_subject },
	{ "check_ratware_name_id", EVAL_HEADER, 0, 0, ratware_name_id },
	{ "check_for_matching_env_and_hdr_from", EVAL_HEADER, 0, 0, env_from_match },
	{ "check_header_count_range", EVAL_HEADER, 3, 3, header_count },
	{ "check_unresolved_template", EVAL_HEADER, 0, 0, unresolved_template },
	{ NULL, 0, 0, 0, NULL },
};
