/*
 * match.c - the text a rule reads (a header rule's field text, the body,
 * rawbody and full texts, the URIs) and counting a regex's matches in it.
 * rules.c uses it one rule at a time, prefilter.c once per distinct regex
 * and text; both therefore see exactly the same texts and counts.
 *
 * Limits: regex cost is bounded by re.c; matches are counted up to the
 * caller's max (RULES_MAX_HITS at most).
 */
#include "autoconfig.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/util.h"
#include "mail/auth.h"
#include "mail/message.h"
#include "mail/mime.h"
#include "mail/received.h"
#include "rules/eval.h"
#include "net/metrics.h"
#include "rules/match.h"
#include "rules/re.h"

#define DETAIL_MAX 80

/* field_matches - is this header field one the rule reads?  Called for
 * every field of the message and every header text a rule set reads:
 * most names differ in their first byte, which is tested first (equal up
 * to ASCII case, the two bytes are equal but for bit 0x20) */
static bool field_matches(const char *rule_field, const char *name)
{
	char r0 = rule_field[0];

	if (r0 == 'T' && strcmp(rule_field, "ToCc") == 0)
		return strcasecmp(name, "To") == 0 || strcasecmp(name, "Cc") == 0;
	if (r0 == 'M' && strcmp(rule_field, "MESSAGEID") == 0)
		return strcasecmp(name, "Message-Id") == 0 ||
		       strcasecmp(name, "Resent-Message-Id") == 0 ||
		       strcasecmp(name, "X-Message-Id") == 0;
	if ((r0 | 0x20) != (name[0] | 0x20))
		return false;
	return strcasecmp(rule_field, name) == 0;
}

/* one_field - a rule's field that names one field, not several (ToCc,
 * MESSAGEID: field_matches), so a lookup by name finds all of them */
static bool one_field(const char *rule_field)
{
	return strcmp(rule_field, "ToCc") != 0 && strcmp(rule_field, "MESSAGEID") != 0;
}

/* header_value - one field's text as the rule's modifiers ask
 * (SpamAssassin's PerMsgStatus::get): :addr every address, :name every
 * display name (RFC 2047 decoded unless :raw), :raw the value as
 * received, else the value unfolded and decoded */
static void header_value(const struct rule *r, struct msg *m, const struct header *h,
			 struct buf *out)
{
	if (r->mod & HDR_ADDR) {
		auth_msg_addr_list(m, h->value, false, out);
	} else if ((r->mod & HDR_NAME) && (r->mod & HDR_RAW)) {
		auth_msg_addr_list(m, h->value, true, out);
	} else if (r->mod & HDR_NAME) {
		struct buf names;
		buf_init(&names);
		auth_msg_addr_list(m, h->value, true, &names);
		char *d = names.data ? mime_decode_text(names.data) : NULL;
		buf_puts(out, d ? d : names.data ? names.data : "");
		free(d);
		buf_free(&names);
	} else if (r->mod & HDR_RAW) {
		buf_puts(out, h->raw);
	} else {
		buf_puts(out, h->decoded);
	}
}

/* header_subject - the text a header rule matches; false if unset */
/*
 * all_range - SpamAssassin's ALL-TRUSTED, ALL-INTERNAL, ALL-UNTRUSTED and
 * ALL-EXTERNAL: the fields above (before) or from the Received field that
 * ends the trusted or internal relays (PerMsgStatus
 * get_all_hdrs_in_rcvd_index_range).  false for other names; else *from
 * and *to bound the Received index (-1: before the first Received), to
 * inclusive of that Received field itself and LONG_MAX for no end.
 */
static bool all_range(const char *name, const struct eval_env *env, long *from, long *to)
{
	static const char *const names[] = { "ALL-TRUSTED", "ALL-INTERNAL", "ALL-UNTRUSTED",
					      "ALL-EXTERNAL" };
	int k = -1;

	for (int i = 0; i < 4; i++)
		if (strcmp(name, names[i]) == 0)
			k = i;
	if (k < 0)
		return false;
	const struct relays *rs = eval_relays(env);
	/* the Received index after the last trusted or internal field,
	 * as SpamAssassin's +1 (PerMsgStatus::_get): the fields it skipped
	 * inside those parts count */
	long nt = rs->last_trusted + 1, ni = rs->last_internal + 1;
	*from = k < 2 ? LONG_MIN : k == 2 ? nt : ni;
	*to = k == 0 ? nt : k == 1 ? ni : LONG_MAX;
	return true;
}

static bool header_subject(const struct rule *r, const struct eval_env *env, struct buf *out)
{
	const struct msg *m = env->m;
	long from = 0, to = 0, rcvd = -1;
	bool range = all_range(r->header, env, &from, &to);
	bool all = range || strcmp(r->header, "ALL") == 0, found = false;
	size_t only = m->nhdrs;	/* :first / :last: that field's index */

	/* EnvelopeFrom: SpamAssassin's envelope sender, the MTA's or the
	 * one the Received and Return-Path fields tell (eval_envelope_from);
	 * an address, so :addr keeps it and :name has none */
	if ((r->header[0] | 0x20) == 'e' && strcasecmp(r->header, "EnvelopeFrom") == 0) {
		size_t at = out->len;
		if (!(r->mod & HDR_NAME))
			eval_envelope_from(env, out);
		return out->len > at;
	}
	/* SpamAssassin's relay pseudo-headers (received.h) */
	if (strncasecmp(r->header, "X-Spam-Relays-", 14) == 0) {
		const char *v = received_pseudo(eval_relays(env), r->header);
		if (v != NULL) {
			buf_puts(out, v);
			return true;
		}
	}
	if (!all && one_field(r->header)) {	/* its fields in order, by name */
		int p = msg_header_first(m, r->header);
		if (p >= 0 && (r->mod & (HDR_FIRST | HDR_LAST)) == HDR_LAST)
			while (m->hdrs[p].next_same >= 0)
				p = m->hdrs[p].next_same;
		for (; p >= 0; p = (r->mod & (HDR_FIRST | HDR_LAST)) ? -1 : m->hdrs[p].next_same) {
			if (found)
				buf_putc(out, '\n');
			found = true;
			header_value(r, env->m, &m->hdrs[p], out);
		}
		return found;
	}
	for (size_t i = 0; (r->mod & (HDR_FIRST | HDR_LAST)) && i < m->nhdrs; i++) {
		if (!all && !field_matches(r->header, m->hdrs[i].name))
			continue;
		only = i;
		if (r->mod & HDR_FIRST)
			break;
	}
	for (size_t i = 0; i < m->nhdrs; i++) {
		const struct header *h = &m->hdrs[i];
		if (!all && !field_matches(r->header, h->name))
			continue;
		if ((r->mod & (HDR_FIRST | HDR_LAST)) && i != only)
			continue;
		bool last = false;
		if (range) {
			bool is_rcvd = strcasecmp(h->name, "Received") == 0;
			rcvd += is_rcvd;
			if (rcvd < from)
				continue;
			if (rcvd >= to) {	/* the Received field at to ends it */
				if (rcvd > to || !is_rcvd)
					break;
				last = true;
			}
		}
		if (found)
			buf_putc(out, '\n');
		found = true;
		if (all) {
			buf_puts(out, h->name);
			buf_puts(out, (r->mod & HDR_RAW) ? ":" : ": ");
		}
		header_value(r, env->m, h, out);
		if (last)
			break;
	}
	if (all && found)
		buf_putc(out, '\n');
	return found;
}

/* match_exists - exists:NAME (ToCc and MESSAGEID name several fields,
 * as in header rules) */
bool match_exists(const struct rule *r, const struct msg *m)
{
	if (one_field(r->header))
		return msg_header_first(m, r->header) >= 0;
	for (size_t i = 0; i < m->nhdrs; i++)
		if (field_matches(r->header, m->hdrs[i].name))
			return true;
	return false;
}

/* match_text - the text of a header/body/rawbody/full rule */
bool match_text(const struct rule *r, const struct eval_env *env, struct buf *hb,
		const char **subj, size_t *len)
{
	struct msg *m = env->m;

	switch (r->type) {
	case RULE_HEADER:
		buf_reset(hb);
		if (!header_subject(r, env, hb) && r->if_unset)
			buf_puts(hb, r->if_unset);
		*subj = hb->data;
		*len = hb->len;
		break;
	case RULE_BODY:
		*subj = msg_body_text(m, len);
		break;
	case RULE_RAWBODY:
		*subj = msg_rawbody_text(m, len);
		break;
	case RULE_FULL:
		*subj = msg_full_text(m, len);
		break;
	default:
		return false;
	}
	if (*subj == NULL) {
		*subj = "";
		*len = 0;
	}
	return true;
}

/* match_offset - nosubject body rules start after the first line */
size_t match_offset(const struct rule *r, const char *subj, size_t len)
{
	if (r->type != RULE_BODY || !r->nosubject)
		return 0;
	const char *nl = memchr(subj, '\n', len);
	return nl ? (size_t)(nl - subj) + 1 : len;
}

/* count_in - bounded count of matches in subj[0, len) from offset,
 * starting in one of win[0, nwin) (sorted, disjoint; NULL: anywhere);
 * with lines, false (and *n meaningless) as soon as a match crosses a
 * line break, i.e. holds a newline before its last byte.  The windows
 * hold every start a match can have, so the leftmost match at or after
 * offset is the first one found window by window. */
static bool count_in(const struct re *re, const char *name, struct msg *m,
		     struct re_scratch *rx, const char *subj, size_t len, size_t offset,
		     const struct match_win *win, size_t nwin, unsigned max, bool lines,
		     unsigned *n, size_t base, size_t *a0, size_t *b0)
{
	static const struct match_win all = { 0, RE_NO_LIMIT };
	size_t k = 0;

	if (win == NULL) {
		win = &all;
		nwin = 1;
	}
	while (*n < max && offset <= len && k < nwin) {
		size_t a = 0, b = 0;
		if (win[k].hi < offset) {
			k++;
			continue;
		}
		size_t from = win[k].lo > offset ? win[k].lo : offset;
		if (from > len)
			break;
		enum re_result res = re_match_upto(re, subj, len, from, win[k].hi, rx, &a, &b);
		if (res == RE_LIMIT || res == RE_ERROR) {
			metrics_inc(METRIC_REGEX_LIMITS);
			log_warn("qid=%s rule %s: regex %s, counted as no match",
				 m->qid ? m->qid : "-", name,
				 res == RE_LIMIT ? "hit the match limit" : "failed");
			break;
		}
		if (res != RE_MATCH) {
			k++;	/* none starts in this window */
			continue;
		}
		if (lines && b > a + 1 && memchr(subj + a, '\n', b - a - 1) != NULL)
			return false;
		if ((*n)++ == 0) {
			*a0 = base + a;
			*b0 = base + b;
		}
		offset = b > a ? b : b + 1;	/* an empty match moves on by one */
	}
	return true;
}

/* match_count - bounded count of matches from offset.  A body rule
 * (lines) is SpamAssassin's: matched against each line on its own (the
 * line keeps its newline).  The whole text is searched once (the regex
 * has PCRE2_MULTILINE, so ^ and $ anchor at lines); only when a match
 * crosses a line break is each line searched apart.  No match starts
 * outside the windows (the caller knows): a line that starts after the
 * last one holds none. */
unsigned match_count(const struct re *re, const char *name, struct msg *m,
		     struct re_scratch *rx, const char *subj, size_t len,
		     size_t offset, const struct match_win *win, size_t nwin, unsigned max,
		     bool lines, size_t *a0, size_t *b0)
{
	unsigned n = 0;
	size_t limit = win ? win[nwin - 1].hi : RE_NO_LIMIT;

	if (count_in(re, name, m, rx, subj, len, offset, win, nwin, max, lines, &n, 0, a0, b0))
		return n;
	n = 0;
	for (size_t ls = 0; ls < len && n < max && (limit == RE_NO_LIMIT || ls <= limit);) {
		const char *nl = memchr(subj + ls, '\n', len - ls);
		size_t le = nl ? (size_t)(nl - subj) + 1 : len;
		if (le > offset)
			count_in(re, name, m, rx, subj + ls, le - ls, offset > ls ? offset - ls : 0,
				 &(struct match_win){ 0, limit == RE_NO_LIMIT ? RE_NO_LIMIT : limit - ls },
				 1, max, false, &n, ls, a0, b0);
		ls = le;
	}
	return n;
}

/* match_uris - every URI on its own (SpamAssassin's uri rules) */
unsigned match_uris(const struct re *re, const char *name, struct msg *m,
		    struct re_scratch *rx, unsigned max, size_t *first,
		    const struct match_win *win, size_t nwin)
{
	size_t nuris, a, b;
	const char *const *uris = msg_uris(m, &nuris);
	const size_t *lens = msg_uri_lens(m);
	unsigned n = 0;

	for (size_t w = 0; w < (win ? nwin : 1); w++) {
		size_t lo = win ? win[w].lo : 0, hi = win ? win[w].hi : SIZE_MAX;
		for (size_t i = lo; i <= hi && i < nuris && n < max; i++) {
			unsigned k = match_count(re, name, m, rx, uris[i], lens[i], 0, NULL, 0,
						 max - n, false, &a, &b);
			if (k && n == 0)
				*first = i;
			n += k;
		}
	}
	return n;
}

/* mime_value - one part's value of a mimeheader rule's field into out:
 * raw (from its first byte after the colon's white space, CR LF as LF) or
 * decoded with a newline; with neither (no such field) if_unset unless
 * :raw, whose absent field is "" (SpamAssassin's raw_header) */
static void mime_value(const struct rule *r, const char *raw, const char *decoded,
		       struct buf *out)
{
	buf_reset(out);
	if (r->mod & HDR_RAW) {
		for (raw = raw ? raw : ""; *raw == ' ' || *raw == '\t'; raw++)
			;
		for (; *raw; raw++)
			if (*raw != '\r' || raw[1] != '\n')
				buf_putc(out, *raw);
	} else if (decoded) {
		buf_puts(out, decoded);
		buf_putc(out, '\n');
	} else {
		buf_puts(out, r->if_unset ? r->if_unset : "");
	}
	if (out->data == NULL)
		buf_puts(out, "");
}

/* match_mime - see match.h */
unsigned match_mime(const struct rule *r, const char *name, struct msg *m,
		    struct re_scratch *rx, char *detail, size_t cap)
{
	struct buf v;
	size_t a = 0, b = 0, len;
	unsigned max = r->negate ? 1 : r->maxhits, n = 0;
	const char *raw = NULL, *decoded = NULL;

	buf_init(&v);
	/* the top: the message's fields, the last one of that name */
	int p = msg_header_first(m, r->header);
	for (; p >= 0; p = m->hdrs[p].next_same) {
		raw = m->hdrs[p].raw;
		decoded = m->hdrs[p].decoded ? m->hdrs[p].decoded : m->hdrs[p].value;
	}
	mime_value(r, raw, decoded, &v);
	n = match_count(r->re, name, m, rx, v.data, v.len, 0, NULL, 0, max, false, &a, &b);
	/* then every part below it: name, raw, decoded; "" ends a part */
	const char *f = msg_part_fields(m, &len), *end = f ? f + len : NULL;
	while (n == 0 && f && f < end) {
		raw = decoded = NULL;
		while (f < end && *f) {
			const char *fname = f, *fraw = fname + strlen(fname) + 1;
			const char *fdec = fraw + strlen(fraw) + 1;
			f = fdec + strlen(fdec) + 1;
			if (strcasecmp(fname, r->header) == 0) {
				raw = fraw;
				decoded = fdec;
			}
		}
		f++;
		mime_value(r, raw, decoded, &v);
		n = match_count(r->re, name, m, rx, v.data, v.len, 0, NULL, 0, max, false, &a, &b);
	}
	if (r->negate) {
		buf_free(&v);
		return n == 0;
	}
	if (n) {
		match_detail(detail, cap, v.data, a, b);
		match_detail_hits(detail, cap, n);
	}
	buf_free(&v);
	return n;
}

/* match_detail - printable excerpt of the matched text */
void match_detail(char *out, size_t cap, const char *s, size_t a, size_t b)
{
	size_t n = b - a, o = 0;

	if (n > DETAIL_MAX)
		n = DETAIL_MAX;
	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		unsigned char c = (unsigned char)s[a + i];
		out[o++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	out[o] = '\0';
}

/* match_detail_hits - the count of a multiple rule after its excerpt */
void match_detail_hits(char *detail, size_t cap, unsigned n)
{
	if (n > 1) {
		size_t o = strlen(detail);
		snprintf(detail + o, cap - o, " (%u hits)", n);
	}
}
