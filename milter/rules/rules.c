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
#include <math.h>
#include <stdint.h>
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
#include "rules/match.h"
#include "rules/prefilter.h"
#include "rules/re.h"
#include "base/strbuf.h"
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
	free(rs->known0);
	free(rs->rule_of);
	meta_pack_free(rs->metas);
	for (int k = 0; k < 2; k++) {
		free(rs->run_rules[k]);
		free(rs->run_metas[k]);
	}
	free(rs->quiet);
	free(rs->subject_tag);
	for (size_t i = 0; i < rs->nfiles; i++)
		free(rs->files[i]);
	free(rs->files);
	free(rs->builtins);
	if (rs->conf)
		rules_conf_clear(rs->conf);
	prefilter_free(rs->prefilter);
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

/* rules_subject_tag - the tag of rewrite_header Subject, or NULL */
const char *rules_subject_tag(const struct ruleset *rs)
{
	return rs->subject_tag;
}

/* rules_untrusted_ip - see rules.h */
char *rules_untrusted_ip(const struct ruleset *rs, struct msg *m)
{
	struct eval_env env = { .m = m, .conf = rs->conf };
	const struct relays *r = eval_relays(&env);

	if (r->n[RELAYS_UNTRUSTED] == 0 || r->set[RELAYS_UNTRUSTED][0]->ip == NULL ||
	    r->set[RELAYS_UNTRUSTED][0]->ip[0] == '\0')
		return NULL;
	return xstrdup(r->set[RELAYS_UNTRUSTED][0]->ip);
}

/* eval functions whose answer is network evidence (eval_dns.c,
 * eval_auth.c): a prefix each */
static const char *const net_evals[] = {
	"check_rbl", "check_uridnsbl", "urirhs", "check_for_spf_", "check_for_def_spf",
	"check_dkim_", "check_dmarc_", "check_arc_", NULL,
};

/* rules_symbol_part - see rules.h */
enum rules_part rules_symbol_part(const struct ruleset *rs, const char *name)
{
	const struct sym *s = sym_lookup(rs, name);

	if (s == NULL)
		return RULES_PART_OTHER;
	if (s->tf_noautolearn)
		return RULES_PART_SKIP;
	if (s->tf_learn)
		return RULES_PART_LEARN;
	if (s->tf_net)
		return RULES_PART_NET;
	if (s->tf_al_part)
		return (enum rules_part)s->tf_al_part;
	if (s->kind != SYM_RULE)
		return RULES_PART_OTHER;
	const struct rule *r = &rs->rules[s->rule];
	enum rule_type t = r->type;
	if (t == RULE_EVAL && r->call.def != NULL) {
		if (strcmp(r->call.def->name, "check_bayes") == 0)
			return RULES_PART_LEARN;
		for (size_t i = 0; net_evals[i]; i++)
			if (strncmp(r->call.def->name, net_evals[i], strlen(net_evals[i])) == 0)
				return RULES_PART_NET;
	}
	if (t == RULE_EVAL)
		t = r->evtype;
	switch (t) {
	case RULE_HEADER:
	case RULE_EXISTS:
		return RULES_PART_HEAD;
	case RULE_BODY:
	case RULE_RAWBODY:
	case RULE_URI:
		return RULES_PART_BODY;
	default:
		return RULES_PART_OTHER;
	}
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

/* rules_set_prefilter - tests and benchmarks: prefilter on or off */
void rules_set_prefilter(struct ruleset *rs, bool on)
{
	rs->prefilter_off = !on;
}

/* rules_set_no_regex - see rules.h */
void rules_set_no_regex(struct ruleset *rs, bool on)
{
	rs->no_regex = on;
	prefilter_set_no_regex(rs->prefilter, on);
}

/* limit_counts - a regex rule rules_limit and rules_sample count (as the
 * prefilter's count, prefilter_build: not the mimeheader rules, which
 * stay as the evals do) */
static bool limit_counts(const struct rule *r)
{
	return !r->disabled && r->re != NULL && !(r->type == RULE_HEADER && (r->mod & HDR_MIME));
}

/* limit_rebuild - after rules_limit or rules_sample turned rules off */
static void limit_rebuild(struct ruleset *rs)
{
	prefilter_free(rs->prefilter);
	rs->prefilter = prefilter_build(rs->rules, rs->nrules);
	prefilter_set_no_regex(rs->prefilter, rs->no_regex);
	rules_eval_prepare(rs);
}

/* rules_limit - benchmarks: the first n regex rules only */
void rules_limit(struct ruleset *rs, size_t n)
{
	size_t seen = 0;

	for (size_t i = 0; i < rs->nrules; i++) {
		struct rule *r = &rs->rules[i];
		if (!limit_counts(r))
			continue;
		if (++seen > n) {
			r->disabled = true;
			rs->nenabled--;
		}
	}
	limit_rebuild(rs);
}

/* rules_sample - benchmarks: n of the regex rules drawn at random, each
 * set of n as likely as any other (selection sampling, Knuth's algorithm
 * S, over xorshift64* seeded with seed: the same seed, the same rules) */
void rules_sample(struct ruleset *rs, size_t n, unsigned long seed)
{
	uint64_t x = (uint64_t)seed * 0x9E3779B97F4A7C15u + 0x2545F4914F6CDD1Du;
	size_t left = 0, kept = 0;

	for (size_t i = 0; i < rs->nrules; i++)
		left += limit_counts(&rs->rules[i]);
	for (size_t i = 0; i < rs->nrules; i++, x ^= x >> 12, x ^= x << 25, x ^= x >> 27) {
		struct rule *r = &rs->rules[i];
		if (!limit_counts(r))
			continue;
		/* kept with probability (n - kept) / left: a uniform draw from
		 * [0, left) below what is still to be kept */
		uint64_t u = (x * 0x2545F4914F6CDD1Du) >> 11;
		if (kept < n && (double)u * 0x1p-53 * (double)left < (double)(n - kept)) {
			kept++;
		} else {
			r->disabled = true;
			rs->nenabled--;
		}
		left--;
	}
	limit_rebuild(rs);
}

/* rules_prefilter_info - what the prefilter of the set holds */
void rules_prefilter_info(const struct ruleset *rs, struct rules_pf_info *info)
{
	prefilter_info(rs->prefilter, info);
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

/* run_rule - the hit count of one non-meta rule */
static unsigned run_rule(const struct rule *r, const struct sym *s, struct eval *sc,
			 struct buf *hb, char *detail, size_t cap)
{
	struct msg *m = sc->msg;
	const char *subj;
	size_t len, a = 0, b = 0, first = 0;
	unsigned n;

	switch (r->type) {
	case RULE_EXISTS:
		if (!match_exists(r, m))
			return 0;
		snprintf(detail, cap, "%s", r->header);
		return 1;
	case RULE_EVAL:
		sc->env.detail = detail;
		sc->env.detail_cap = cap;
		n = eval_run(&r->call, &sc->env);
		sc->env.detail = NULL;
		if (n > r->maxhits)
			n = r->maxhits;
		return n;
	case RULE_HEADER:
		if (r->mod & HDR_MIME)
			return match_mime(r, s->name, m, sc->re, detail, cap);
		goto text;
	case RULE_URI:
		n = match_uris(r->re, s->name, m, sc->re, r->maxhits, &first, NULL, 0);
		if (n == 0)
			return 0;
		subj = msg_uris(m, &len)[first];
		len = strlen(subj);
		a = 0;
		b = len;
		break;
	default:
	text:
		if (!match_text(r, &sc->env, hb, &subj, &len))
			return 0;
		n = match_count(r->re, s->name, m, sc->re, subj, len,
				match_offset(r, subj, len), NULL, 0, r->negate ? 1 : r->maxhits,
				r->type == RULE_BODY, &a, &b);
		if (r->negate)	/* !~ hits once, when nothing matches */
			return n == 0;
		break;
	}
	if (n)
		match_detail(detail, cap, subj, a, b);
	match_detail_hits(detail, cap, n);
	return n;
}

/*
 * Lazy evaluation.  A __ rule only feeds metas: it is run when a meta
 * reads it, and a meta reads a name only when its value can still decide
 * (meta_prog_eval: the right operand of && after a 0, of || after a
 * non-zero).  Every other rule runs as before, in the same order (the
 * non-meta rules in file order, then the metas dependencies first), so the
 * symbols that hit, their details and their order are those of evaluating
 * everything: rules have no side effects on one another (eval tests read
 * only the message, their per-message cache and the stages' symbols,
 * never a __ rule).  With a subrules list (parapetctl scan --subrules),
 * rules_set_lazy(rs, false), or metas nested deeper than LAZY_MAX_DEPTH
 * (each level is a C call), every rule runs.
 */
#define LAZY_MAX_DEPTH 64

struct lazy {
	const struct ruleset *rs;
	struct eval *sc;
	struct pf_run *pf;
	struct buf *hb;
	double *val;		/* by symbol */
	unsigned char *known;	/* by symbol: val is set */
	double *stack;		/* frames of meta_stack + 1, one per depth */
	size_t depth;		/* metas being evaluated */
	size_t run;		/* non-meta rules run */
	char detail[DETAIL_MAX + 32];
	/* bounds (settle; allocated by the first): frames of 2 *
	 * (meta_stack + 1) doubles, one per depth of bounding; a __ meta's
	 * last bounds, good while no rule ran since (bver[sym] == ver: ver
	 * counts the non-meta rules run); the cheapest regex rule put off in
	 * this pass (SIZE_MAX: none) */
	bool settles;		/* lazy, with the prefilter */
	double *bstack;
	double *blo, *bhi;
	size_t *bver;
	size_t ver;
	size_t pick, pick_cost;
	size_t bdepth;		/* __ metas being bounded */
	const struct meta_prog *top;	/* the scored meta being evaluated */
	int passes;		/* its bounds so far */
	bool settling;
	double settled;		/* its value when settle met */
};

static bool need(void *ctx, size_t sym);
static bool eval_one(struct lazy *lz, size_t i);

/* meta_detail - "meta=%g" of v: a whole number below a million (what
 * nearly every meta yields) is written as %g writes it, its digits,
 * without snprintf's parsing of the format */
static void meta_detail(char *out, size_t cap, double v)
{
	char num[FMT_NUM_MAX];

	if (v > -1e6 && v < 1e6 && v == (double)(long long)v &&
	    5 + fmt_int(num, (long long)v) < cap) {
		memcpy(out, "meta=", 5);
		strcpy(out + 5, num);
		return;
	}
	snprintf(out, cap, "meta=%g", v);
}

/*
 * Bounds.  A scored meta reads its operands in the order of its program
 * (the cheaper && operands first, meta_reorder), and each __ rule read
 * runs.  But a regex whose run would cost much in this message (a common
 * word's windows, a core, a pattern with no literal: prefilter_cost) need
 * not run when the other operands decide.  So when the evaluation is
 * about to run such a rule (need), the scored meta is first evaluated
 * over bounds (settle, meta_prog_bound): every cheap rule it reads runs,
 * every __ meta is bounded the same way, and the dear rules are put off,
 * each taken as anything from 0 to its highest count.  When the bounds
 * meet, that is the meta's value and the evaluation stops there (need
 * answers false; each meta being evaluated is then not known again);
 * when not, the cheapest rule put off runs and the meta is bounded again,
 * at most SETTLE_PASSES bounds per scored meta, and the evaluation goes
 * on.  The value is the same either way (the bounds hold for any values
 * of what was put off); only which __ rules ran differs, and those are
 * never reported.  A meta being evaluated is known[] 2: read by its own
 * operands (a cycle), it is 0 as before; bounded, it is not known.
 */
/* one: on the 200 median corpus messages a second pass (for a rule four
 * times dearer, or any) cost more bounding than the regexes it saved
 * (scan_finish 613.8M -> 616.8M instructions) */
#define SETTLE_PASSES 1

static void meta_bound(struct lazy *lz, size_t i, double *lo, double *hi);

/* bound - meta_prog_bound's view of a symbol */
static void bound(void *ctx, size_t sym, double *lo, double *hi)
{
	struct lazy *lz = ctx;

	if (lz->known[sym] != 1) {
		size_t i = lz->rs->rule_of[sym];
		const struct rule *r = &lz->rs->rules[i];
		if (r->type == RULE_META) {
			if (lz->bver[sym] != lz->ver)
				meta_bound(lz, i, &lz->blo[sym], &lz->bhi[sym]);
			*lo = lz->blo[sym];
			*hi = lz->bhi[sym];
			return;
		}
		size_t cost = prefilter_cost(lz->pf, i);
		if (cost >= lz->rs->settle_from) {
			if (cost < lz->pick_cost) {
				lz->pick = i;
				lz->pick_cost = cost;
			}
			*lo = 0.0;	/* prefilter_rule's count: 0-1 when negated */
			*hi = r->negate ? 1.0 : (double)r->maxhits;
			return;
		}
		eval_one(lz, i);
	}
	*lo = *hi = lz->val[sym];
}

/* meta_bound - a __ meta's bounds; settled (as eval_one would: a __
 * rule is not reported) when they meet and it is not being evaluated.
 * Kept while no rule runs (bver; bounds found with less known still
 * hold); deeper than the frames go (a cycle), anything. */
static void meta_bound(struct lazy *lz, size_t i, double *lo, double *hi)
{
	const struct ruleset *rs = lz->rs;
	const struct rule *r = &rs->rules[i];

	lz->bver[r->sym] = lz->ver;
	*lo = -INFINITY;	/* what a cycle reads */
	*hi = INFINITY;
	if (lz->bdepth >= rs->meta_depth)
		return;
	lz->bdepth++;
	meta_prog_bound(r->prog, lz->val, lz->known, bound, lz,
			lz->bstack + lz->bdepth * 2 * (rs->meta_stack + 1), lo, hi);
	lz->bdepth--;
	lz->bver[r->sym] = lz->ver;
	if (*lo == *hi && isfinite(*lo) && !lz->known[r->sym]) {
		lz->known[r->sym] = 1;
		lz->val[r->sym] = *lo;
	}
}

/* settle - the scored meta being evaluated, over bounds: true and its
 * value in lz->settled when they meet */
static bool settle(struct lazy *lz)
{
	const struct ruleset *rs = lz->rs;
	bool met = false;

	if (lz->bstack == NULL) {
		lz->bstack = xmalloc((rs->meta_depth + 1) * 2 * (rs->meta_stack + 1) * sizeof(double));
		lz->blo = xmalloc((rs->nsyms + 1) * sizeof(double));
		lz->bhi = xmalloc((rs->nsyms + 1) * sizeof(double));
		lz->bver = xcalloc(rs->nsyms + 1, sizeof(size_t));
	}
	lz->settling = true;
	while (!met && lz->passes < SETTLE_PASSES) {
		double lo, hi;
		lz->passes++;
		lz->pick = SIZE_MAX;
		lz->pick_cost = SIZE_MAX;
		meta_prog_bound(lz->top, lz->val, lz->known, bound, lz, lz->bstack, &lo, &hi);
		if (lo == hi && isfinite(lo)) {
			lz->settled = lo;
			met = true;
		} else if (lz->pick == SIZE_MAX) {
			break;
		} else {
			eval_one(lz, lz->pick);
		}
	}
	lz->settling = false;
	return met;
}

/* eval_meta - the value of the meta of symbol sym (program prog),
 * reported if it hit; sets val and known (eval_one for a meta, and the
 * scored metas' loop, from a dense list that spares it the rule) */
static bool eval_meta(struct lazy *lz, size_t sym, const struct meta_prog *prog)
{
	const struct ruleset *rs = lz->rs;
	double *st = lz->stack + lz->depth * (rs->meta_stack + 1);
	bool top = lz->depth == 0 && lz->settles;

	if (top) {
		lz->top = prog;
		lz->passes = 0;
	}
	lz->known[sym] = 2;
	lz->depth++;
	double v = meta_prog_eval(prog, lz->val, lz->known, need, lz, st);
	lz->depth--;
	if (top)
		lz->top = NULL;
	if (isnan(v) && !top) {	/* settled above: not known again */
		lz->known[sym] = 0;
		return false;
	}
	if (isnan(v))
		v = lz->settled;
	lz->known[sym] = 1;
	lz->val[sym] = v;
	if (v != 0.0) {
		meta_detail(lz->detail, sizeof(lz->detail), v);
		report(lz->sc, &rs->syms[sym], lz->detail);
	}
	return true;
}

/* eval_one - the value of rule i, reported if it hit; sets val and known.
 * The rule's symbol is read only when it hit or its regex runs: with
 * thousands of rules, neither the rules nor the symbols stay in the
 * cache from one message to the next, and a symbol's line is one more
 * miss for each rule (most rules neither hit nor run) */
static bool eval_one(struct lazy *lz, size_t i)
{
	const struct ruleset *rs = lz->rs;
	const struct rule *r = &rs->rules[i];
	const struct sym *s = &rs->syms[r->sym];	/* not read here */

	if (r->type == RULE_META)
		return eval_meta(lz, r->sym, r->prog);
	lz->known[r->sym] = 1;
	lz->detail[0] = '\0';
	unsigned n = prefilter_rule(lz->pf, i, r, s, lz->detail, sizeof(lz->detail));
	if (n == PREFILTER_NONE)
		n = rs->no_regex && r->re != NULL ? r->negate :
		    run_rule(r, s, lz->sc, lz->hb, lz->detail, sizeof(lz->detail));
	lz->run++;
	lz->ver++;
	lz->val[r->sym] = n;	/* with tflags multiple the score still counts once */
	if (n != 0)
		report(lz->sc, s, lz->detail);
	return true;
}

/* need - meta_prog_eval asks for a symbol not yet known: a rule not yet
 * run (a __ rule); any other symbol's value was set at the start.  A
 * dear regex is first offered to settle; false when that settled the
 * scored meta, or a meta evaluated for it stopped. */
static bool need(void *ctx, size_t sym)
{
	struct lazy *lz = ctx;
	size_t i = lz->rs->rule_of[sym];

	if (lz->top != NULL && !lz->settling && lz->passes < SETTLE_PASSES &&
	    lz->rs->rules[i].type != RULE_META && prefilter_cost(lz->pf, i) >= lz->rs->settle_from) {
		if (settle(lz))
			return false;
		if (lz->known[sym])	/* settle ran it */
			return true;
	}
	return eval_one(lz, i);
}

/* is_sub - a __ rule: never reported, it runs when a meta reads it */
static bool is_sub(const struct ruleset *rs, const struct rule *r)
{
	return strncmp(rs->syms[r->sym].name, "__", 2) == 0;
}

/*
 * Costs for meta_reorder, by symbol: 0 for a value known before any meta
 * runs (built-ins, disabled and scored non-meta rules, which run first);
 * 1 for a __ rule that reads a header or the message model (header,
 * exists, eval); 2 for a __ regex over a text (body, rawbody, full, uri);
 * a __ meta costs the most of what it reads.  A scored meta costs 0 too:
 * the metas run in meta_order, dependencies first, and a set with a
 * circular dependency is refused (rules_link), so a scored meta has run
 * (and been reported) before any meta that reads it runs; reading it
 * first moves no report.
 */
enum { COST_KNOWN, COST_HEAD, COST_TEXT };

/* cost_of - meta_reorder's view of meta_costs */
static unsigned cost_of(void *ctx, size_t index)
{
	return ((const unsigned *)ctx)[index];
}

/* meta_costs - the costs of every symbol (the caller frees); a __ meta
 * reads as pinned until its own cost is settled (never, read by one
 * before it: no set that loaded has that) */
static unsigned *meta_costs(const struct ruleset *rs)
{
	unsigned *c = xcalloc(rs->nsyms + 1, sizeof(*c));

	for (size_t k = 0; k < rs->nsyms; k++) {
		if (rs->known0[k])
			continue;
		const struct rule *r = &rs->rules[rs->syms[k].rule];
		if (r->type == RULE_META && is_sub(rs, r))
			c[k] = META_PINNED;
		else if (is_sub(rs, r))
			c[k] = r->type == RULE_BODY || r->type == RULE_RAWBODY ||
			       r->type == RULE_FULL || r->type == RULE_URI ? COST_TEXT : COST_HEAD;
	}
	/* dependencies first: what a meta reads is settled before it */
	for (size_t k = 0; k < rs->nmeta; k++) {
		const struct rule *r = &rs->rules[rs->meta_order[k]];
		if (!rs->known0[r->sym] && is_sub(rs, r))
			c[r->sym] = meta_cost(r->meta, cost_of, c);
	}
	return c;
}

/* rules_eval_prepare - see rules_int.h: the symbols known at the start
 * (all but the enabled rules), the non-meta rules and the metas to run
 * with and without the __ ones, and the metas' programs packed in run
 * order, so that a message reads no rule it does not run */
void rules_eval_prepare(struct ruleset *rs)
{
	free(rs->known0);
	free(rs->rule_of);
	rs->known0 = xmalloc(rs->nsyms + 1);
	rs->rule_of = xcalloc(rs->nsyms + 1, sizeof(*rs->rule_of));
	for (size_t k = 0; k < rs->nsyms; k++) {
		const struct sym *s = &rs->syms[k];
		rs->known0[k] = s->kind != SYM_RULE || rs->rules[s->rule].disabled;
		rs->rule_of[k] = s->rule;
	}
	for (int k = 0; k < 2; k++) {
		free(rs->run_rules[k]);
		free(rs->run_metas[k]);
		rs->run_rules[k] = xcalloc(rs->nrules + 1, sizeof(*rs->run_rules[k]));
		rs->run_metas[k] = xcalloc(rs->nmeta + 1, sizeof(*rs->run_metas[k]));
		rs->nrun_rules[k] = rs->nrun_metas[k] = 0;
	}
	rs->reads_stats = false;
	for (size_t i = 0; i < rs->nrules; i++) {
		const struct rule *r = &rs->rules[i];
		if (r->disabled || r->type == RULE_META)
			continue;
		if (r->type == RULE_EVAL && r->call.def != NULL && eval_reads_stats(r->call.def))
			rs->reads_stats = true;
		if (r->type == RULE_HEADER && (r->mod & HDR_MIME))	/* the parts' fields */
			rs->reads_stats = true;
		struct run_rule rr = { i, r->sym, SIZE_MAX };
		if (r->re != NULL && !r->negate)
			rr.slot = prefilter_quiet_slot(rs->prefilter, i);
		rs->run_rules[0][rs->nrun_rules[0]++] = rr;
		if (!is_sub(rs, r))
			rs->run_rules[1][rs->nrun_rules[1]++] = rr;
	}
	for (size_t k = 0; k < rs->nmeta; k++) {
		const struct rule *r = &rs->rules[rs->meta_order[k]];
		if (r->disabled)
			continue;
		struct run_meta rm = { rs->meta_order[k], r->sym, NULL };	/* prog: below */
		rs->run_metas[0][rs->nrun_metas[0]++] = rm;
		if (!is_sub(rs, r))
			rs->run_metas[1][rs->nrun_metas[1]++] = rm;
	}
	/* the cheaper operands of && first, then the programs in the order
	 * they run */
	free(rs->quiet);
	rs->quiet = xcalloc(rs->nrules + 1, sizeof(*rs->quiet));
	rs->nquiet = 0;
	for (size_t i = 0; i < rs->nrules; i++) {
		const struct rule *r = &rs->rules[i];
		size_t k = prefilter_quiet_slot(rs->prefilter, i);
		if (!r->disabled && is_sub(rs, r) && r->re != NULL && k != SIZE_MAX &&
		    (r->type == RULE_HEADER || r->type == RULE_BODY || r->type == RULE_RAWBODY ||
		     r->type == RULE_FULL || r->type == RULE_URI))
			rs->quiet[rs->nquiet++] = (struct quiet_rule){ k, r->sym, r->negate };
	}
	unsigned *costs = meta_costs(rs);
	for (size_t k = 0; k < rs->nrun_metas[0]; k++)
		meta_reorder(rs->rules[rs->run_metas[0][k].rule].meta, cost_of, costs);
	free(costs);
	const struct meta_expr **es = xcalloc(rs->nrun_metas[0] + 1, sizeof(*es));
	for (size_t k = 0; k < rs->nrun_metas[0]; k++)
		es[k] = rs->rules[rs->run_metas[0][k].rule].meta;
	meta_pack_free(rs->metas);
	rs->metas = meta_pack_new(es, rs->nrun_metas[0]);
	for (size_t k = 0; k < rs->nrun_metas[0]; k++)
		rs->run_metas[0][k].prog = rs->rules[rs->run_metas[0][k].rule].prog =
			meta_pack_prog(rs->metas, k);
	for (size_t k = 0; k < rs->nrun_metas[1]; k++)
		rs->run_metas[1][k].prog = rs->rules[rs->run_metas[1][k].rule].prog;
	free(es);
}

/* rules_reads_stats - see rules.h */
bool rules_reads_stats(const struct ruleset *rs)
{
	return rs != NULL && rs->reads_stats;
}

/* rules_set_lazy - tests and benchmarks: lazy evaluation on or off */
void rules_set_lazy(struct ruleset *rs, bool on)
{
	rs->eager = !on;
}

/* rules_set_settle - see rules.h */
void rules_set_settle(struct ruleset *rs, size_t from)
{
	rs->settle_from = from;
}

/* rules_eval - run the rules that can decide, then the metas */
size_t rules_eval(const struct ruleset *rs, struct msg *m, struct re_scratch *re,
		  struct hits *hits, const struct rules_auth *auth)
{
	struct eval ev = { .msg = m, .re = re, .hits = hits }, *sc = &ev;
	struct eval_cache cache = { .date_diff_set = false };
	ev.env = (struct eval_env){ .m = m, .conf = rs->conf, .hits = hits, .auth = auth,
				    .cache = &cache };
	bool lazy = !rs->eager && hits->subrules == NULL && rs->meta_depth <= LAZY_MAX_DEPTH;
	struct buf hb;
	struct lazy lz = {
		.rs = rs, .sc = sc, .hb = &hb,
		.pf = rs->prefilter_off ? NULL : prefilter_begin(rs->prefilter, &ev.env, re),
		.val = xcalloc(rs->nsyms + 1, sizeof(double)),
		.known = xmalloc(rs->nsyms + 1),
	};
	/* a frame for each meta being evaluated: one at a time when eager */
	lz.stack = xmalloc(((lazy ? rs->meta_depth : 0) + 1) * (rs->meta_stack + 1) * sizeof(double));
	lz.settles = lazy && lz.pf != NULL;
	lz.ver = 1;

	buf_init(&hb);
	/* built-in symbols the stages before this one added; every symbol
	 * but an enabled rule is known from here on (0 if nothing set it) */
	for (size_t i = 0; i < sc->hits->n; i++) {
		const struct sym *s = sym_lookup(rs, sc->hits->v[i].name);
		if (s && s->kind == SYM_BUILTIN)
			lz.val[s - rs->syms] += 1.0;
	}
	memcpy(lz.known, rs->known0, rs->nsyms);
	for (size_t k = 0; k < rs->nrun_rules[lazy]; k++) {
		const struct run_rule *rr = &rs->run_rules[lazy][k];
		/* what eval_one finds of a regex its text rules out, found
		 * without reading the rule and its slot: a count of 0 */
		if (rr->slot != SIZE_MAX && lz.pf && prefilter_ready_quiet(lz.pf, rr->slot)) {
			lz.known[rr->sym] = 1;
			lz.val[rr->sym] = 0.0;
			lz.run++;
			lz.ver++;
			continue;
		}
		eval_one(&lz, rr->rule);
	}
	/* the __ regex rules the prefilter already rules out, settled in
	 * one pass over a dense list: asked one by one as the metas read
	 * them, each cost a cache miss or more (a rule, a slot, a symbol) */
	for (size_t k = 0; lazy && lz.pf && k < rs->nquiet; k++) {
		const struct quiet_rule *q = &rs->quiet[k];
		if (!lz.known[q->sym] && prefilter_quiet(lz.pf, q->slot)) {
			lz.known[q->sym] = 1;
			lz.val[q->sym] = q->negate;	/* !~ hits when nothing matches */
		}
	}
	for (size_t k = 0; k < rs->nrun_metas[lazy]; k++) {
		const struct run_meta *rm = &rs->run_metas[lazy][k];
		if (!lz.known[rm->sym])	/* a meta may have run it */
			eval_meta(&lz, rm->sym, rm->prog);
	}
	prefilter_end(lz.pf);
	buf_free(&hb);
	free(lz.stack);
	free(lz.bstack);
	free(lz.blo);
	free(lz.bhi);
	free(lz.bver);
	free(lz.known);
	free(lz.val);
	return lz.run;
}
