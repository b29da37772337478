/*
 * rules.c - evaluate a loaded rule set on one message, and answer lookups
 * (scores, descriptions) for the rest of the pipeline.  Loading lives in
 * rules_parse.c and rules_link.c; the structures in rules_int.h.
 *
 * Evaluation follows SpamAssassin: every header/body/rawbody/full rule
 * first (in file order), then the metas with their dependencies first.
 * A rule's value for metas is its hit count (1, or the number of matches
 * up to maxhits with tflags multiple); a meta's value is its expression;
 * a built-in symbol's value is the number of times an earlier stage added
 * it.  Names starting with "__" are evaluated but never reported.  The
 * values live in an array local to rules_eval, so the rule set stays
 * read-only and shared by every thread.
 *
 * Limits: regex cost is bounded by re.c, matches counted per rule by
 * RULES_MAX_HITS, meta cost by the size of its expression.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "net/metrics.h"
#include "rules/hits.h"
#include "rules/rules_int.h"
#include "mail/auth.h"
#include "mail/message.h"
#include "mail/received.h"
#include "rules/eval.h"
#include "mail/mime.h"
#include "rules/re.h"
#include "base/util.h"

#define DETAIL_MAX 80

/* rules_is_builtin - is name one of the built-ins the set was loaded with? */
bool rules_is_builtin(const struct ruleset *rs, const char *name)
{
	for (size_t i = 0; rs->builtins && rs->builtins[i]; i++)
		if (strcmp(rs->builtins[i], name) == 0)
			return true;
	return false;
}

/* rules_sym_cmp - symbols by name */
int rules_sym_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sym *)a)->name, ((const struct sym *)b)->name);
}

/* sym_lookup - a symbol of a linked set by name, or NULL */
static const struct sym *sym_lookup(const struct ruleset *rs, const char *name)
{
	struct sym key = { .name = (char *)name };

	if (rs->nsyms == 0)	/* syms may be NULL */
		return NULL;
	return bsearch(&key, rs->syms, rs->nsyms, sizeof(*rs->syms), rules_sym_cmp);
}

/* rules_rule_clear - release what one rule owns */
void rules_rule_clear(struct rule *r)
{
	free(r->header);
	free(r->if_unset);
	free(r->pat);
	free(r->flags);
	re_free(r->re);
	meta_free(r->meta);
	eval_call_clear(&r->call);
}

/* rules_free - release everything */
struct ruleset *rules_free(struct ruleset *rs)
{
	if (rs == NULL)
		return NULL;
	for (size_t i = 0; i < rs->nrules; i++)
		rules_rule_clear(&rs->rules[i]);
	free(rs->rules);
	for (size_t i = 0; i < rs->nsyms; i++) {
		free(rs->syms[i].name);
		free(rs->syms[i].desc);
	}
	free(rs->syms);
	free(rs->meta_order);
	for (size_t i = 0; i < rs->nfiles; i++)
		free(rs->files[i]);
	free(rs->files);
	free(rs->builtins);
	if (rs->conf)
		rules_conf_clear(rs->conf);
	free(rs);
	return NULL;
}

/* rules_symbol - score and description by name */
bool rules_symbol(const struct ruleset *rs, const char *name, double *score,
		  const char **desc)
{
	const struct sym *s = sym_lookup(rs, name);

	if (s == NULL)
		return false;
	/* a built-in named only by describe keeps its default of 0 */
	*score = (s->kind == SYM_RULE || s->scored) ? s->score : 0.0;
	*desc = s->desc;
	return true;
}

/* rules_count - rules that can hit */
size_t rules_count(const struct ruleset *rs)
{
	return rs->nenabled;
}

/* type_name - the rule type as SpamAssassin's files spell it */
static const char *type_name(enum rule_type t)
{
	switch (t) {
	case RULE_HEADER:
	case RULE_EXISTS: return "header";
	case RULE_BODY: return "body";
	case RULE_RAWBODY: return "rawbody";
	case RULE_FULL: return "full";
	case RULE_URI: return "uri";
	case RULE_META: return "meta";
	case RULE_EVAL: return "eval";
	}
	return "other";
}

/* rules_each - every rule that can run, in file order */
void rules_each(const struct ruleset *rs,
		void (*fn)(const char *name, const char *type, void *ctx), void *ctx)
{
	for (size_t i = 0; i < rs->nrules; i++)
		if (!rs->rules[i].disabled)
			fn(rs->syms[rs->rules[i].sym].name, type_name(rs->rules[i].type), ctx);
}

/* ---------------------------------------------------------------- eval */

/* field_matches - is this header field one the rule reads? */
static bool field_matches(const char *rule_field, const char *name)
{
	if (strcmp(rule_field, "ToCc") == 0)
		return strcasecmp(name, "To") == 0 || strcasecmp(name, "Cc") == 0;
	if (strcmp(rule_field, "MESSAGEID") == 0)
		return strcasecmp(name, "Message-Id") == 0 ||
		       strcasecmp(name, "Resent-Message-Id") == 0 ||
		       strcasecmp(name, "X-Message-Id") == 0;
	return strcasecmp(rule_field, name) == 0;
}

/* header_value - one field's text as the rule's modifiers ask
 * (SpamAssassin's PerMsgStatus::get): :addr every address, :name every
 * display name (RFC 2047 decoded unless :raw), :raw the value as
 * received, else the value unfolded and decoded */
static void header_value(const struct rule *r, const struct header *h, struct buf *out)
{
	if (r->mod & HDR_ADDR) {
		auth_addr_list(h->value, false, out);
	} else if ((r->mod & HDR_NAME) && (r->mod & HDR_RAW)) {
		auth_addr_list(h->value, true, out);
	} else if (r->mod & HDR_NAME) {
		struct buf names;
		buf_init(&names);
		auth_addr_list(h->value, true, &names);
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
static bool header_subject(const struct rule *r, const struct eval_env *env, struct buf *out)
{
	const struct msg *m = env->m;
	bool all = strcmp(r->header, "ALL") == 0, found = false;
	size_t only = m->nhdrs;	/* :first / :last: that field's index */

	/* SpamAssassin's relay pseudo-headers (received.h) */
	if (strncasecmp(r->header, "X-Spam-Relays-", 14) == 0) {
		const char *v = received_pseudo(eval_relays(env), r->header);
		if (v != NULL) {
			buf_puts(out, v);
			return true;
		}
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
		if (found)
			buf_putc(out, '\n');
		found = true;
		if (all) {
			buf_puts(out, h->name);
			buf_puts(out, (r->mod & HDR_RAW) ? ":" : ": ");
		}
		header_value(r, h, out);
	}
	if (all && found)
		buf_putc(out, '\n');
	return found;
}

/* detail_of - printable excerpt of the matched text */
static void detail_of(char *out, size_t cap, const char *s, size_t a, size_t b)
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

/* one evaluation: the message, its regex scratch, where hits go, and
 * what eval tests see */
struct eval {
	struct msg *msg;
	struct re_scratch *re;
	struct hits *hits;
	struct eval_env env;
};

/* report - one hit; __ rules only feed metas, and the subrules list
 * when one is asked for */
static void report(struct eval *sc, const struct sym *s, const char *detail)
{
	if (strncmp(s->name, "__", 2) != 0)
		hits_add(sc->hits, s->name, s->score, s->desc, detail[0] ? detail : NULL);
	else if (sc->hits->subrules)
		hits_add(sc->hits->subrules, s->name, 0.0, NULL, NULL);
}

/* count_matches - matches of r->re in subj from offset, up to max; the
 * first one's excerpt in detail */
static unsigned count_matches(const struct rule *r, const struct sym *s, struct eval *sc,
			      const char *subj, size_t len, size_t offset, unsigned max,
			      char *detail, size_t cap)
{
	unsigned n = 0;

	while (n < max && offset <= len) {
		size_t a = 0, b = 0;
		enum re_result res = re_match(r->re, subj, len, offset, sc->re, &a, &b);
		if (res == RE_LIMIT || res == RE_ERROR) {
			const char *qid = sc->msg->qid;
			metrics_inc(METRIC_REGEX_LIMITS);
			log_warn("qid=%s rule %s: regex %s, counted as no match",
				 qid ? qid : "-", s->name,
				 res == RE_LIMIT ? "hit the match limit" : "failed");
			break;
		}
		if (res != RE_MATCH)
			break;
		if (n++ == 0)
			detail_of(detail, cap, subj, a, b);
		offset = b > a ? b : b + 1;	/* an empty match moves on by one */
	}
	return n;
}

/* run_uri_rule - every URI of the message on its own (SpamAssassin's uri
 * rules); the detail is the first URI that matched */
static unsigned run_uri_rule(const struct rule *r, const struct sym *s, struct eval *sc,
			     char *detail, size_t cap)
{
	size_t nuris;
	const char *const *uris = msg_uris(sc->msg, &nuris);
	char scratch[DETAIL_MAX + 1];
	unsigned n = 0;

	for (size_t i = 0; i < nuris && n < r->maxhits; i++) {
		size_t len = strlen(uris[i]);
		unsigned k = count_matches(r, s, sc, uris[i], len, 0, r->maxhits - n, scratch,
					   sizeof(scratch));
		if (k && n == 0)
			detail_of(detail, cap, uris[i], 0, len);
		n += k;
	}
	if (n > 1) {
		size_t o = strlen(detail);
		snprintf(detail + o, cap - o, " (%u hits)", n);
	}
	return n;
}

/* run_rule - the hit count of one non-meta rule */
static unsigned run_rule(const struct rule *r, const struct sym *s, struct eval *sc,
			 struct buf *hb, char *detail, size_t cap)
{
	struct msg *m = sc->msg;
	const char *subj;
	size_t len, offset = 0;
	unsigned n;

	switch (r->type) {
	case RULE_EXISTS:
		if (msg_header_count(m, r->header) == 0)
			return 0;
		snprintf(detail, cap, "%s", r->header);
		return 1;
	case RULE_HEADER:
		buf_reset(hb);
		if (!header_subject(r, &sc->env, hb) && r->if_unset)
			buf_puts(hb, r->if_unset);
		subj = hb->data ? hb->data : "";
		len = hb->len;
		break;
	case RULE_BODY:
		subj = msg_body_text(m, &len);
		if (r->nosubject) {	/* the Subject is the first line */
			const char *nl = memchr(subj, '\n', len);
			offset = nl ? (size_t)(nl - subj) + 1 : len;
		}
		break;
	case RULE_RAWBODY:
		subj = msg_rawbody_text(m, &len);
		break;
	case RULE_FULL:
		subj = msg_full_text(m, &len);
		break;
	case RULE_URI:
		return run_uri_rule(r, s, sc, detail, cap);
	case RULE_EVAL:
		sc->env.detail = detail;
		sc->env.detail_cap = cap;
		n = eval_run(&r->call, &sc->env);
		sc->env.detail = NULL;
		if (n > r->maxhits)
			n = r->maxhits;
		return n;
	default:
		return 0;
	}
	if (subj == NULL) {
		subj = "";
		len = 0;
	}
	if (r->negate) {	/* !~ hits once, when nothing matches */
		n = count_matches(r, s, sc, subj, len, offset, 1, detail, cap);
		detail[0] = '\0';
		return n == 0;
	}
	n = count_matches(r, s, sc, subj, len, offset, r->maxhits, detail, cap);
	if (n > 1) {
		size_t o = strlen(detail);
		snprintf(detail + o, cap - o, " (%u hits)", n);
	}
	return n;
}

/* rules_eval - run every rule, then the metas */
void rules_eval(const struct ruleset *rs, struct msg *m, struct re_scratch *re,
		struct hits *hits, const struct rules_auth *auth)
{
	struct eval ev = { .msg = m, .re = re, .hits = hits }, *sc = &ev;
	ev.env = (struct eval_env){ .m = m, .conf = rs->conf, .hits = hits, .auth = auth };
	double *val = xcalloc(rs->nsyms + 1, sizeof(*val));
	double *stack = xcalloc(rs->meta_stack + 1, sizeof(*stack));
	char detail[DETAIL_MAX + 32];
	struct buf hb;

	buf_init(&hb);
	/* built-in symbols the stages before this one added */
	for (size_t i = 0; i < sc->hits->n; i++) {
		const struct sym *s = sym_lookup(rs, sc->hits->v[i].name);
		if (s && s->kind == SYM_BUILTIN)
			val[s - rs->syms] += 1.0;
	}
	for (size_t i = 0; i < rs->nrules; i++) {
		const struct rule *r = &rs->rules[i];
		const struct sym *s = &rs->syms[r->sym];
		if (r->disabled || r->type == RULE_META)
			continue;
		detail[0] = '\0';
		unsigned n = run_rule(r, s, sc, &hb, detail, sizeof(detail));
		val[r->sym] = n;
		if (n)	/* with tflags multiple the score still counts once */
			report(sc, s, detail);
	}
	for (size_t i = 0; i < rs->nmeta; i++) {
		const struct rule *r = &rs->rules[rs->meta_order[i]];
		const struct sym *s = &rs->syms[r->sym];
		if (r->disabled)
			continue;
		double v = meta_eval(r->meta, val, stack);
		val[r->sym] = v;
		if (v != 0.0) {
			snprintf(detail, sizeof(detail), "meta=%g", v);
			report(sc, s, detail);
		}
	}
	buf_free(&hb);
	free(stack);
	free(val);
}
