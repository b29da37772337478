/*
 * rules_link.c - complete a rule set once every file is read: the part of
 * loading that depends on lines anywhere in any file.
 *
 *  - replace_rules: <TAG> substitution into the listed rules' regexes
 *    (SpamAssassin's ReplaceTags plugin, which also runs after parsing);
 *  - the symbol table is sorted for bsearch;
 *  - scores and tflags: SpamAssassin's defaults (1.0, 0.01 for T_ rules,
 *    negative with tflags nice; __ rules score 0 in parapet since they are
 *    never reported), a rule scored 0 is disabled as in SpamAssassin, and
 *    score/tflags lines naming nothing are reported as likely typos;
 *  - metas: every name bound to a rule, a built-in symbol or a skipped
 *    definition (unknown names are errors), evaluation order with
 *    dependencies first, cycles reported as errors with file:line.
 *
 * Runs on the loading thread only; afterwards the set is immutable.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/prefilter.h"
#include "rules/rules_int.h"
#include "base/util.h"

/* ---------------------------------------------------------------- replace */

/* tag_value - the last definition of a tag of this kind, or NULL */
static const char *tag_value(const struct loader *ld, enum tag_kind kind, const char *name)
{
	for (size_t i = ld->ntags; name && i-- > 0;)
		if (ld->tags[i].kind == kind && strcmp(ld->tags[i].name, name) == 0)
			return ld->tags[i].value;
	return NULL;
}

/*
 * take_modifier - remove the first S kind NAME E (e.g. "<post P2>") from
 * re; the NAME in fresh memory, or NULL
 */
static char *take_modifier(char *re, const char *S, const char *E, const char *kind)
{
	char *open = xasprintf("%s%s ", S, kind), *name = NULL;
	char *p = strstr(re, open);

	if (p) {
		char *n = p + strlen(open), *close = strstr(n, E);
		if (close && close > n) {
			name = xstrndup(n, (size_t)(close - n));
			memmove(p, close + strlen(E), strlen(close + strlen(E)) + 1);
		}
	}
	free(open);
	return name;
}

/* find_tag - next S NAME E at or after p: NAME non-empty, without S */
static const char *find_tag(const char *p, const char *S, const char *E,
			    const char **name, size_t *nlen, const char **after)
{
	size_t sl = strlen(S);

	for (const char *t = strstr(p, S); t; t = strstr(t + 1, S)) {
		const char *n = t + sl, *close = strstr(n, E);
		if (close == NULL)
			return NULL;
		if (close == n)
			continue;
		const char *inner = strstr(n, S);
		if (inner && inner < close)
			continue;	/* the inner S may start a tag */
		*name = n;
		*nlen = (size_t)(close - n);
		*after = close + strlen(E);
		return t;
	}
	return NULL;
}

/*
 * substitute - one pass of replace_tag over re (SpamAssassin's
 * ReplaceTags: <pre N>, <post N> and <inter N> modifiers apply to every
 * tag of the rule, known or not; unknown tags stay as written).  Sets
 * *again if a replacement brought in more tags.
 */
static char *substitute(const struct loader *ld, char *re, bool *again)
{
	const char *S = ld->replace_start ? ld->replace_start : "<";
	const char *E = ld->replace_end ? ld->replace_end : ">";
	char *pre_n = take_modifier(re, S, E, "pre");
	char *post_n = take_modifier(re, S, E, "post");
	char *inter_n = take_modifier(re, S, E, "inter");
	const char *pre = tag_value(ld, TAG_PRE, pre_n);
	const char *post = tag_value(ld, TAG_POST, post_n);
	const char *inter = tag_value(ld, TAG_INTER, inter_n);
	const char *p = re, *t, *name, *after;
	size_t nlen;
	bool last_was_tag = false;
	struct buf out;

	buf_init(&out);
	while ((t = find_tag(p, S, E, &name, &nlen, &after)) != NULL) {
		buf_append(&out, p, (size_t)(t - p));
		if (t > p)
			last_was_tag = false;
		if (last_was_tag && inter)	/* between two adjacent tags */
			buf_puts(&out, inter);
		if (pre)
			buf_puts(&out, pre);
		char *n = xstrndup(name, nlen);
		const char *v = tag_value(ld, TAG_TAG, n);
		free(n);
		if (v) {
			buf_puts(&out, v);
			const char *vn, *va;
			size_t vl;
			if (find_tag(v, S, E, &vn, &vl, &va))
				*again = true;
		} else {
			buf_append(&out, t, (size_t)(after - t));
		}
		if (post)
			buf_puts(&out, post);
		last_was_tag = true;
		p = after;
	}
	buf_puts(&out, p);
	free(pre_n);
	free(post_n);
	free(inter_n);
	free(re);
	return out.data ? out.data : xstrdup("");
}

/* replace_rule - substitute and recompile one rule; false if the result
 * cannot be compiled (the rule is to be dropped) */
static bool replace_rule(struct loader *ld, struct rule *r, const struct sym *s)
{
	char *re = xstrdup(r->pat), *err = NULL;
	bool again = true, limited;

	for (int pass = 0; again && pass < RULES_MAX_REPLACE_PASSES; pass++) {
		again = false;
		re = substitute(ld, re, &again);
	}
	if (strcmp(re, r->pat) == 0) {
		free(re);
		return true;
	}
	char fl[16];
	struct re *c = re_compile_limited(re, strlen(re), rules_re_flags(r, fl, sizeof(fl)), &err,
					  &limited);
	if (c == NULL && limited) {
		/* as on a rule's own line: a regex beyond a PCRE2 limit (the
		 * compiled size of some stock rules) loses only its rule */
		diag_warn(ld->d, s->file, s->line, "%s: after replace_tag: %s in /%.200s/...; rule dropped",
			  s->name, err, re);
		free(err);
		free(re);
		return false;
	}
	if (c == NULL) {
		diag_error(ld->d, s->file, s->line, "%s: after replace_tag: %s in /%s/", s->name,
			   err, re);
		free(err);
		free(re);
		return true;
	}
	re_free(r->re);
	r->re = c;
	free(r->pat);
	r->pat = re;
	return true;
}

/* apply_replace - every rule named by replace_rules, once */
static void apply_replace(struct loader *ld)
{
	struct ruleset *rs = ld->rs;
	bool *done = xcalloc(rs->nrules + 1, sizeof(*done));
	bool *drop = xcalloc(rs->nrules + 1, sizeof(*drop));

	for (size_t i = 0; i < ld->nreqs; i++) {
		const struct replace_req *q = &ld->reqs[i];
		long si = rules_sym_find(rs, q->name);
		const struct sym *s = si >= 0 ? &rs->syms[si] : NULL;
		if (s && (s->kind == SYM_SKIPPED || s->kind == SYM_BROKEN))
			continue;
		if (s == NULL || s->kind != SYM_RULE) {
			diag_warn(ld->d, q->file, q->line, "replace_rules: no rule named %s", q->name);
			continue;
		}
		struct rule *r = &rs->rules[s->rule];
		if (r->pat == NULL) {
			diag_warn(ld->d, q->file, q->line, "replace_rules: %s has no regex", q->name);
			continue;
		}
		if (!done[s->rule]) {
			done[s->rule] = true;
			if (!replace_rule(ld, r, s))
				drop[s->rule] = true;
		}
	}
	/* from the highest index down: the rule moved into a freed slot is
	 * never one still to be removed */
	for (size_t i = rs->nrules; i-- > 0;) {
		if (drop[i]) {
			rs->syms[rs->rules[i].sym].kind = SYM_BROKEN;
			rules_remove_rule(rs, i);
		}
	}
	free(drop);
	free(done);
}

/* ---------------------------------------------------------------- symbols */

/* sort_syms - sort by name, keeping rule <-> symbol links */
static void sort_syms(struct ruleset *rs)
{
	char **names = xcalloc(rs->nrules + 1, sizeof(char *));

	for (size_t i = 0; i < rs->nrules; i++)
		names[i] = rs->syms[rs->rules[i].sym].name;
	if (rs->nsyms > 0)	/* syms may be NULL */
		qsort(rs->syms, rs->nsyms, sizeof(*rs->syms), rules_sym_cmp);
	for (size_t i = 0; i < rs->nrules; i++) {
		struct sym key = { .name = names[i] };
		struct sym *s = bsearch(&key, rs->syms, rs->nsyms, sizeof(*rs->syms), rules_sym_cmp);
		rs->rules[i].sym = (size_t)(s - rs->syms);
	}
	free(names);
}

/* settle_rule - default score, disabled, tflags of one rule */
static void settle_rule(struct loader *ld, struct rule *r, struct sym *s)
{
	if (!s->scored) {
		/* SpamAssassin Conf::Parser set_default_scores */
		double base = strncmp(s->name, "T_", 2) == 0 ? 0.01 : 1.0;
		s->score = strncmp(s->name, "__", 2) == 0 ? 0.0 : s->nice ? -base : base;
	}
	/* SpamAssassin runs no rule whose score is 0 ("score X 0" is how a
	 * rule is switched off); __ rules only when a score line says 0 */
	r->disabled = s->scored && s->score == 0.0;
	if (s->multiple) {
		if (r->type == RULE_META || r->type == RULE_EXISTS)
			diag_warn(ld->d, s->tflags_file, s->tflags_line,
				  "tflags %s: multiple only counts header, body, rawbody, full and uri matches",
				  s->name);
		else
			r->maxhits = s->maxhits ? s->maxhits : RULES_MAX_HITS;
	}
	if (s->nosubject) {
		if (r->type == RULE_BODY)
			r->nosubject = true;
		else
			diag_warn(ld->d, s->tflags_file, s->tflags_line,
				  "tflags %s: nosubject only applies to body rules", s->name);
	}
}

/* settle - every symbol */
static void settle(struct loader *ld)
{
	struct ruleset *rs = ld->rs;

	for (size_t i = 0; i < rs->nsyms; i++) {
		struct sym *s = &rs->syms[i];
		if (s->kind == SYM_RULE) {
			settle_rule(ld, &rs->rules[s->rule], s);
			if (!rs->rules[s->rule].disabled)
				rs->nenabled++;
			continue;
		}
		if (s->kind != SYM_NAMED && s->kind != SYM_BUILTIN)
			continue;
		if (s->scored && s->kind == SYM_NAMED)
			diag_warn(ld->d, s->score_file, s->score_line,
				  "score %s: no rule or built-in symbol has that name (a typo?)", s->name);
		if (s->tflags_file && s->kind == SYM_BUILTIN)
			diag_skip(ld->d, s->tflags_file, s->tflags_line, "tflags of a built-in symbol",
				  "tflags %s: a built-in symbol has no flags, ignored", s->name);
		else if (s->tflags_file)
			diag_warn(ld->d, s->tflags_file, s->tflags_line,
				  "tflags %s: no rule has that name (a typo?)", s->name);
	}
}

/* ---------------------------------------------------------------- metas */

/* builtin_refs - symbols for the built-ins metas name, before sorting */
static void builtin_refs(struct ruleset *rs)
{
	for (size_t i = 0; i < rs->nrules; i++) {
		const struct meta_expr *e = rs->rules[i].meta;
		for (size_t j = 0; e && j < meta_nnames(e); j++)
			if (rules_is_builtin(rs, meta_name(e, j)))
				rules_sym_get(rs, meta_name(e, j));
	}
}

/* bind_meta - resolve the names of one meta */
static void bind_meta(struct loader *ld, struct rule *r)
{
	struct ruleset *rs = ld->rs;
	const struct sym *m = &rs->syms[r->sym];

	for (size_t i = 0; i < meta_nnames(r->meta); i++) {
		const char *n = meta_name(r->meta, i);
		struct sym key = { .name = (char *)n };
		const struct sym *s = bsearch(&key, rs->syms, rs->nsyms, sizeof(*rs->syms), rules_sym_cmp);
		bool word = strcmp(n, "and") == 0 || strcmp(n, "or") == 0 || strcmp(n, "not") == 0;
		if (s == NULL || s->kind == SYM_NAMED) {
			diag_error(ld->d, m->file, m->line, "meta %s: unknown rule %s%s", m->name, n,
				   word ? " (the operators are && || !)" : "");
			continue;
		}
		meta_bind(r->meta, i, (size_t)(s - rs->syms));
		if (s->kind == SYM_SKIPPED)
			diag_skip(ld->d, m->file, m->line, "meta term parapet skips (counts 0)",
				  "meta %s: %s (%s:%d) is not run by parapet and counts 0",
				  m->name, n, s->file, s->line);
		else if (s->kind == SYM_RULE && rs->rules[s->rule].disabled)
			diag_warn(ld->d, m->file, m->line, "meta %s: %s has score 0 and never hits",
				  m->name, n);
	}
	size_t need = meta_stack_size(r->meta);
	if (need > rs->meta_stack)
		rs->meta_stack = need;
}

/* meta_dep - the meta rule name i of meta rule ri depends on, or -1 */
static long meta_dep(const struct ruleset *rs, size_t ri, size_t i)
{
	const struct rule *r = &rs->rules[ri];
	struct sym key = { .name = (char *)meta_name(r->meta, i) };
	const struct sym *s = bsearch(&key, rs->syms, rs->nsyms, sizeof(*rs->syms), rules_sym_cmp);

	if (s == NULL || s->kind != SYM_RULE || rs->rules[s->rule].type != RULE_META)
		return -1;
	return (long)s->rule;
}

/* report_cycle - frames [from, top] of the DFS stack close a loop at dep */
static void report_cycle(struct loader *ld, const size_t *stack, size_t from, size_t top)
{
	const struct ruleset *rs = ld->rs;
	const struct sym *first = &rs->syms[rs->rules[stack[from]].sym];
	struct buf path;

	buf_init(&path);
	for (size_t k = from; k <= top; k++)
		buf_printf(&path, "%s -> ", rs->syms[rs->rules[stack[k]].sym].name);
	buf_puts(&path, first->name);
	diag_error(ld->d, first->file, first->line, "meta %s: circular dependency %s",
		   first->name, path.data);
	buf_free(&path);
}

/*
 * order_metas - depth-first, dependencies first; iterative so that a long
 * chain of metas cannot overflow a thread's stack
 */
static void order_metas(struct loader *ld)
{
	struct ruleset *rs = ld->rs;
	enum { WHITE, GRAY, BLACK } *color = xcalloc(rs->nrules + 1, sizeof(*color));
	size_t *stack = xcalloc(rs->nrules + 1, sizeof(*stack));
	size_t *next = xcalloc(rs->nrules + 1, sizeof(*next));

	rs->meta_order = xcalloc(rs->nrules + 1, sizeof(*rs->meta_order));
	for (size_t root = 0; root < rs->nrules; root++) {
		if (rs->rules[root].type != RULE_META || color[root] != WHITE)
			continue;
		size_t top = 0;
		stack[0] = root;
		next[0] = 0;
		color[root] = GRAY;
		for (;;) {
			size_t ri = stack[top];
			if (next[top] < meta_nnames(rs->rules[ri].meta)) {
				long dep = meta_dep(rs, ri, next[top]++);
				if (dep < 0 || color[dep] == BLACK)
					continue;
				if (color[dep] == GRAY) {
					size_t from = top;
					while (stack[from] != (size_t)dep)
						from--;
					report_cycle(ld, stack, from, top);
					continue;
				}
				color[dep] = GRAY;
				stack[++top] = (size_t)dep;
				next[top] = 0;
				continue;
			}
			color[ri] = BLACK;
			rs->meta_order[rs->nmeta++] = ri;
			if (top-- == 0)
				break;
		}
	}
	/* the longest chain of metas naming metas: how deep rules_eval's
	 * lazy evaluation can recurse (dependencies come first) */
	size_t *depth = xcalloc(rs->nrules + 1, sizeof(*depth));
	for (size_t k = 0; k < rs->nmeta; k++) {
		size_t ri = rs->meta_order[k], d = 1;
		for (size_t i = 0; i < meta_nnames(rs->rules[ri].meta); i++) {
			long dep = meta_dep(rs, ri, i);
			if (dep >= 0 && depth[dep] + 1 > d)
				d = depth[dep] + 1;
		}
		depth[ri] = d;
		if (d > rs->meta_depth)
			rs->meta_depth = d;
	}
	free(depth);
	free(color);
	free(stack);
	free(next);
}

/* ---------------------------------------------------------------- link */

/* loader_free - the load-time tables */
static void loader_free(struct loader *ld)
{
	for (size_t i = 0; i < ld->ntags; i++) {
		free(ld->tags[i].name);
		free(ld->tags[i].value);
	}
	free(ld->tags);
	for (size_t i = 0; i < ld->nreqs; i++)
		free(ld->reqs[i].name);
	free(ld->reqs);
	free(ld->replace_start);
	free(ld->replace_end);
}

/* rules_link - complete the set */
struct ruleset *rules_link(struct loader *ld)
{
	struct ruleset *rs = ld->rs;

	apply_replace(ld);
	builtin_refs(rs);
	sort_syms(rs);
	settle(ld);
	rules_conf_finish(rs->conf);
	for (size_t i = 0; i < rs->nrules; i++)
		if (rs->rules[i].type == RULE_META)
			bind_meta(ld, &rs->rules[i]);
	order_metas(ld);
	loader_free(ld);
	if (ld->d->errors)
		return rules_free(rs);
	rs->prefilter = prefilter_build(rs->rules, rs->nrules);
	rules_eval_prepare(rs);
	return rs;
}
