/*
 * eval_forged.c - SpamAssassin's HeaderEval tests for a From of a big
 * free mail service whose Received fields do not look like that
 * service's (Plugin/HeaderEval.pm): check_for_forged_hotmail_received_
 * headers, check_for_no_hotmail_received_headers, check_for_forged_yahoo_
 * received_headers, check_for_forged_gmail_received_headers, and the
 * exemptions they share: gated_through_received_hdr_remover (ezmlm and
 * MSN groups drop Received fields) and check_for_msn_groups_headers.
 * The patterns are SpamAssassin's, run by PCRE2 (rules/re.c) over the
 * header text its $pms->get() answers (eval_get).
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules/eval.h"
#include "mail/message.h"
#include "mail/received.h"
#include "base/util.h"

/* an IPv4 or IPv6 address, as SpamAssassin's IP_ADDRESS finds one */
#define V4 "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(?:\\.(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}"
#define IP_RE "(?i:\\b(?<!:)" V4 "\\b|(?:IPv6:|(?<![a-f0-9:]))" \
	"(?:(?:[a-f0-9]{0,4}:){2,7}(?:" V4 "|[a-f0-9]{1,4})?)(?![a-f0-9:]))"

/* the header text SpamAssassin's get() answers, ready for a search */
struct hdr_text {
	struct buf b;
	bool present;
};

/* get - name's fields joined; present false when there is none */
static void get(const struct msg *m, const char *name, struct hdr_text *t)
{
	buf_init(&t->b);
	eval_get(m, name, &t->b);
	t->present = msg_header_count(m, name) > 0;
	if (t->b.data == NULL)
		buf_puts(&t->b, "");
}

/* squash - every white space run one space (s/\s+/ /gs) */
static void squash(struct buf *b)
{
	size_t o = 0;

	for (size_t i = 0; i < b->len; i++) {
		char c = b->data[i];
		bool sp = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
		if (sp && o > 0 && b->data[o - 1] == ' ')
			continue;
		b->data[o++] = sp ? ' ' : c;
	}
	b->len = o;
	b->data[o] = '\0';
}

/* has - does the fixed Perl pattern match text (flags "", "i", "m") */
static bool has(const struct buf *text, const char *pattern, const char *flags)
{
	return eval_re_fixed(pattern, flags, text->data, text->len, NULL, NULL);
}

/* ends_with_domain - addr =~ /\b<dom>$/i */
static bool ends_with_domain(const struct buf *addr, const char *dom)
{
	size_t n = strlen(dom);

	if (addr->len < n || strcasecmp(addr->data + addr->len - n, dom) != 0)
		return false;
	if (addr->len == n)
		return true;
	char c = addr->data[addr->len - n - 1];
	return !(c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
}

/* gated - gated_through_received_hdr_remover's answer */
static bool gated(const struct msg *m)
{
	struct hdr_text ml, rcvd;
	bool yes = false;

	get(m, "Mailing-List", &ml);
	get(m, "Received", &rcvd);
	if (ml.present && has(&ml.b, "^contact \\S+\\@\\S+\\; run by ezmlm$", "m")) {
		struct hdr_text dl;
		get(m, "Delivered-To", &dl);
		yes = has(&dl.b, "^mailing list \\S+\\@\\S+", "m") &&
		      has(&rcvd.b, "qmail \\d+ invoked (?:from network|by .{3,20})\\); \\d+ ... \\d+", "");
		buf_free(&dl.b);
	}
	if (!yes)
		yes = !rcvd.present || has(&rcvd.b, "from groups\\.msn\\.com \\(\\S+\\.msn\\.com ", "");
	buf_free(&ml.b);
	buf_free(&rcvd.b);
	return yes;
}

/* gated_through_received_hdr_remover - ezmlm or MSN groups removed the
 * Received fields, or there are none */
static unsigned gated_remover(const struct eval_env *env, size_t argc, const char *const *argv)
{
	(void)argc;
	(void)argv;
	return gated(env->m);
}

/* msn_groups - check_for_msn_groups_headers: a genuine MSN groups post */
static bool msn_groups(const struct eval_env *env)
{
	struct hdr_text to, rcvd, mid;
	struct buf pat, ef;
	size_t a, b;
	bool yes = false;

	get(env->m, "To", &to);
	if (!eval_re_fixed("<(\\S+)\\@groups\\.msn\\.com>", "i", to.b.data, to.b.len, &a, &b)) {
		buf_free(&to.b);
		return false;
	}
	/* $1: between "<" and the last "@groups.msn.com>" of the match */
	char *list = xstrndup(to.b.data + a + 1, b - a - 1 - strlen("@groups.msn.com>"));
	buf_free(&to.b);
	get(env->m, "Received", &rcvd);
	get(env->m, "Message-Id", &mid);
	buf_init(&pat);
	buf_init(&ef);
	static const char svc[] = "from mail pickup service by ";
	if (eval_re_fixed("from mail pickup service by ((?:p\\d\\d\\.)groups\\.msn\\.com)\\b", "",
			   rcvd.b.data, rcvd.b.len, &a, &b)) {
		const char *server = rcvd.b.data + a + sizeof(svc) - 1;
		size_t slen = b - a - (sizeof(svc) - 1);
		if (strcmp(list, "notifications") == 0) {
			buf_puts(&pat, "^<\\S+\\@\\Q");
			buf_append(&pat, server, slen);
			buf_puts(&pat, "\\E>");
			yes = eval_re_search(pat.data, "", mid.b.data, mid.b.len, NULL, NULL);
		} else {
			buf_printf(&pat, "^<\\Q%s\\E-\\S+\\@groups\\.msn\\.com>", list);
			if (eval_re_search(pat.data, "", mid.b.data, mid.b.len, NULL, NULL)) {
				eval_addr(env, "EnvelopeFrom", &ef);
				buf_reset(&pat);
				buf_printf(&pat, "\\Q%s\\E-bounce\\@groups\\.msn\\.com", list);
				yes = eval_re_search(pat.data, "", ef.data ? ef.data : "", ef.len, NULL, NULL);
			}
		}
	}
	free(list);
	buf_free(&pat);
	buf_free(&ef);
	buf_free(&rcvd.b);
	buf_free(&mid.b);
	return yes;
}

enum hotmail { HOTMAIL_OK, HOTMAIL_FORGED, HOTMAIL_NO_RCVD };

static enum hotmail hotmail_work(const struct eval_env *env);

/* from_hotmail - the first From address is at hotmail.com */
static bool from_hotmail(const struct eval_env *env)
{
	struct buf from;

	buf_init(&from);
	eval_addr(env, "From", &from);
	bool yes = from.data && ends_with_domain(&from, "hotmail.com");
	buf_free(&from);
	return yes;
}

/* hotmail_check - hotmail_work once a message: the two evals that read it
 * share it (env->cache) */
static enum hotmail hotmail_check(const struct eval_env *env)
{
	if (env->cache == NULL)
		return hotmail_work(env);
	if (env->cache->hotmail == 0)
		env->cache->hotmail = (int)hotmail_work(env) + 1;
	return (enum hotmail)(env->cache->hotmail - 1);
}

/* hotmail_work - SpamAssassin's _check_for_forged_hotmail_received_headers:
 * Received fields HELO'd as hotmail.com without being Hotmail's
 * (FORGED), or a From at hotmail.com and no Hotmail Received (NO_RCVD) */
static enum hotmail hotmail_work(const struct eval_env *env)
{
	struct hdr_text rcvd, ip, org;
	enum hotmail r = HOTMAIL_OK;

	get(env->m, "Received", &rcvd);
	squash(&rcvd.b);
	/* FORGED needs "hotmail.com" in the Received text (its pattern is
	 * case-sensitive) and NO_RCVD a From at hotmail.com; everything else
	 * only ever answers OK, so without both the answer is OK already */
	bool hm_rcvd = rcvd.b.len && memmem(rcvd.b.data, rcvd.b.len, "hotmail.com", 11) != NULL;
	bool hm_from = from_hotmail(env);
	if (!hm_rcvd && !hm_from) {
		buf_free(&rcvd.b);
		return HOTMAIL_OK;
	}
	get(env->m, "X-Originating-Ip", &ip);
	get(env->m, "X-OriginatorOrg", &org);
	bool has_ip = ip.present && has(&ip.b, IP_RE, "i");
	bool has_org = org.present && has(&org.b, "hotmail\\.com|msonline\\-outlook", "");
	static const struct {
		const char *re;
		int need;	/* 1: X-Originating-Ip, 2: X-OriginatorOrg */
	} genuine[] = {
		{ "from (?:\\S*\\.)?hotmail.com \\(\\S+\\.hotmail(?:\\.msn)?\\.com[ \\)]", 1 },
		{ "from \\S*\\.outbound\\.protection\\.outlook\\.com \\(\\S+\\.outbound\\.protection\\.outlook\\.com[ \\)]", 2 },
		{ "from \\S*\\.(?:eur|nam)prd\\d+\\.prod\\.outlook\\.com \\(" IP_RE "\\)", 2 },
		{ "from \\S*\\.hotmail.com \\(\\[" IP_RE "\\][ \\):]", 1 },
		{ "from \\S+ by \\S+\\.hotmail(?:\\.msn)?\\.com with HTTP\\;", 1 },
		{ "from \\[66\\.218.\\S+\\] by \\S+\\.yahoo\\.com", 1 },
	};

	if (has(&rcvd.b, "from mail pickup service by hotmail\\.com with Microsoft SMTPSVC;", "") ||
	    msn_groups(env) || gated(env->m))
		goto out;
	for (size_t i = 0; i < sizeof(genuine) / sizeof(genuine[0]); i++)
		if ((genuine[i].need == 1 ? has_ip : has_org) && has(&rcvd.b, genuine[i].re, ""))
			goto out;
	if (hm_rcvd && has(&rcvd.b, "(?:from |HELO |helo=)\\S*hotmail\\.com\\b", ""))
		r = HOTMAIL_FORGED;
	else if (hm_from)
		r = HOTMAIL_NO_RCVD;
out:
	buf_free(&rcvd.b);
	buf_free(&ip.b);
	buf_free(&org.b);
	return r;
}

/* check_for_forged_hotmail_received_headers */
static unsigned forged_hotmail(const struct eval_env *env, size_t argc, const char *const *argv)
{
	(void)argc;
	(void)argv;
	return hotmail_check(env) == HOTMAIL_FORGED;
}

/* check_for_no_hotmail_received_headers */
static unsigned no_hotmail(const struct eval_env *env, size_t argc, const char *const *argv)
{
	(void)argc;
	(void)argv;
	return hotmail_check(env) == HOTMAIL_NO_RCVD;
}

/* check_for_forged_yahoo_received_headers - a From at yahoo.com and no
 * Received field of Yahoo's own */
static unsigned forged_yahoo(const struct eval_env *env, size_t argc, const char *const *argv)
{
	struct buf from;
	struct hdr_text rcvd;
	unsigned hit = 0;

	(void)argc;
	(void)argv;
	buf_init(&from);
	eval_addr(env, "From", &from);
	if (from.data == NULL || !ends_with_domain(&from, "yahoo.com")) {
		buf_free(&from);
		return 0;
	}
	get(env->m, "Received", &rcvd);
	if (msg_header_count(env->m, "Resent-From") && msg_header_count(env->m, "Resent-To") &&
	    msg_header_count(env->m, "X-Received")) {
		buf_reset(&rcvd.b);
		eval_get(env->m, "X-Received", &rcvd.b);
	}
	squash(&rcvd.b);
	const struct relays *rs = eval_relays(env);
	struct buf tr, un;
	buf_init(&tr);
	buf_init(&un);
	buf_puts(&tr, rs->str[RELAYS_TRUSTED] ? rs->str[RELAYS_TRUSTED] : "");
	buf_puts(&un, rs->str[RELAYS_UNTRUSTED] ? rs->str[RELAYS_UNTRUSTED] : "");
	static const char *const genuine[] = {
		"by web\\S+\\.mail\\S*\\.yahoo\\.com via HTTP",
		"by sonic\\S+\\.consmr\\.mail\\S*\\.yahoo\\.com with HTTP",
		"by smtp\\S+\\.yahoo\\.com with SMTP",
		"from \\[" IP_RE "\\] by \\S+\\.(?:groups|scd|dcn)\\.yahoo\\.com with NNFMP",
		"by \\w+\\.\\w+\\.yahoo\\.com \\(\\d+\\.\\d+\\.\\d+\\/\\d+\\.\\d+\\.\\d+\\)(?: with ESMTP)? id \\w+",
		NULL,
	};
	if (gated(env->m) || has(&tr, " rdns=\\S+\\.yahoo\\.com ", "") ||
	    has(&un, "^[^\\]]+ rdns=\\S+\\.yahoo\\.com ", ""))
		goto out;
	for (size_t i = 0; genuine[i]; i++)
		if (has(&rcvd.b, genuine[i], ""))
			goto out;
	if (has(&rcvd.b, "\\bmailer\\d+\\.bulk\\.scd\\.yahoo\\.com\\b", "") &&
	    has(&from, "\\@reply\\.yahoo\\.com$", "i"))
		goto out;
	hit = 1;
out:
	buf_free(&tr);
	buf_free(&un);
	buf_free(&from);
	buf_free(&rcvd.b);
	return hit;
}

/* check_for_forged_gmail_received_headers - a From at gmail.com without
 * Google's X-Received, submission Received or long X-Gm-Message-State and
 * X-Google-Smtp-Source */
static unsigned forged_gmail(const struct eval_env *env, size_t argc, const char *const *argv)
{
	struct buf from;
	struct hdr_text xgms, xss, xr, rcvd;
	unsigned hit;

	(void)argc;
	(void)argv;
	buf_init(&from);
	eval_addr(env, "From", &from);
	bool gmail = from.data && ends_with_domain(&from, "gmail.com");
	buf_free(&from);
	if (!gmail)
		return 0;
	get(env->m, "X-Gm-Message-State", &xgms);
	get(env->m, "X-Google-Smtp-Source", &xss);
	get(env->m, "X-Received", &xr);
	get(env->m, "Received", &rcvd);
	/* SpamAssassin's lengths count the "\n" get() ends each value with */
	hit = !(has(&xr.b, "by 10\\.\\S+ with SMTP id \\S+", "") ||
		has(&xr.b, "by 2002\\:a\\d\\d\\:\\w+\\:\\S+ with SMTP id \\S+", "") ||
		has(&rcvd.b, "by smtp\\.googlemail\\.com with ESMTPSA id \\S+", "") ||
		(xgms.b.len >= 60 && xss.b.len >= 60));
	buf_free(&xgms.b);
	buf_free(&xss.b);
	buf_free(&xr.b);
	buf_free(&rcvd.b);
	return hit;
}

const struct eval_def eval_forged_defs[] = {
	{ "gated_through_received_hdr_remover", EVAL_HEADER, 0, 0, gated_remover },
	{ "check_for_forged_hotmail_received_headers", EVAL_HEADER, 0, 0, forged_hotmail },
	{ "check_for_no_hotmail_received_headers", EVAL_HEADER, 0, 0, no_hotmail },
	{ "check_for_forged_yahoo_received_headers", EVAL_HEADER, 0, 0, forged_yahoo },
	{ "check_for_forged_gmail_received_headers", EVAL_HEADER, 0, 0, forged_gmail },
	{ NULL, 0, 0, 0, NULL },
};
