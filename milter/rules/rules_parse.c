/*
 * rules_parse.c - the directives of the rule language (SPEC §5,
 * SpamAssassin syntax): rule definitions, score, describe, tflags and the
 * replace_* settings, each from one line that rules_pre.c has split off.
 *
 * Conventions follow SpamAssassin's Conf: later score/describe/tflags
 * lines for a name replace earlier ones and may come before or after the
 * rule; `lang xx ...` lines (translations) are ignored.  Errors (bad
 * regex, malformed line, duplicate rule) fail the load with file:line;
 * constructs parapet cannot run (eval: tests, plugin directives) are
 * warnings and skipped so that a SpamAssassin rule file still loads, and
 * the names they define are remembered so metas may name them.  Every
 * line is parsed even after an error, so lint reports every problem.
 *
 * Not thread-safe (one loader per load).  Limits: RULES_MAX_RULES rules,
 * RULES_MAX_NAME characters per name, RULES_MAX_HITS for maxhits.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules/rules_int.h"
#include "base/util.h"

/* ---------------------------------------------------------------- symbols */

/* rules_sym_find - index of a symbol or -1 */
long rules_sym_find(const struct ruleset *rs, const char *name)
{
	for (size_t i = 0; i < rs->nsyms; i++)
		if (strcmp(rs->syms[i].name, name) == 0)
			return (long)i;
	return -1;
}

/* rules_sym_get - the symbol, created if new */
struct sym *rules_sym_get(struct ruleset *rs, const char *name)
{
	long i = rules_sym_find(rs, name);

	if (i >= 0)
		return &rs->syms[i];
	if (rs->nsyms == rs->syms_cap) {
		rs->syms_cap = rs->syms_cap ? rs->syms_cap * 2 : 64;
		rs->syms = xrealloc(rs->syms, rs->syms_cap * sizeof(*rs->syms));
	}
	struct sym *s = &rs->syms[rs->nsyms++];
	memset(s, 0, sizeof(*s));
	s->name = xstrdup(name);
	s->kind = rules_is_builtin(rs, name) ? SYM_BUILTIN : SYM_NAMED;
	return s;
}

/* rules_file - interned file name */
const char *rules_file(struct ruleset *rs, const char *name)
{
	for (size_t i = 0; i < rs->nfiles; i++)
		if (strcmp(rs->files[i], name) == 0)
			return rs->files[i];
	rs->files = xrealloc(rs->files, (rs->nfiles + 1) * sizeof(*rs->files));
	return rs->files[rs->nfiles++] = xstrdup(name);
}

/* rules_valid_name - word characters, not too long */
bool rules_valid_name(const char *s, size_t n)
{
	if (n == 0 || n > RULES_MAX_NAME)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

/* rules_remove_rule - take rule i out of the set: the last rule moves
 * into its slot */
void rules_remove_rule(struct ruleset *rs, size_t i)
{
	rules_rule_clear(&rs->rules[i]);
	if (i != rs->nrules - 1) {
		rs->rules[i] = rs->rules[rs->nrules - 1];
		rs->syms[rs->rules[i].sym].rule = i;
	}
	rs->nrules--;
}

/*
 * note_skipped - a rule defined in a form parapet does not run: metas may
 * name it (it reads 0) and score lines for it are no typo.  A definition
 * that was read (defines: an eval parapet lacks, a plugin's rule
 * directive) replaces an earlier rule of the name, as in SpamAssassin; a
 * line in a false if block does not.
 */
static void note_skipped(struct parser *ps, const char *name, bool defines)
{
	if (name == NULL || !rules_valid_name(name, strlen(name)))
		return;
	struct sym *s = rules_sym_get(ps->ld->rs, name);
	if (defines && (s->kind == SYM_RULE || s->kind == SYM_BROKEN)) {
		if (s->kind == SYM_RULE)
			rules_remove_rule(ps->ld->rs, s->rule);
		s->kind = SYM_NAMED;
	}
	if (s->kind == SYM_NAMED) {
		s->kind = SYM_SKIPPED;
		s->file = ps->file;
		s->line = ps->line;
	}
}

/* ---------------------------------------------------------------- words */

/* closing_delim - the closing delimiter for an m-operator opener */
static char closing_delim(char open)
{
	switch (open) {
	case '{': return '}';
	case '(': return ')';
	case '[': return ']';
	case '<': return '>';
	default: return open;
	}
}

/*
 * parse_regex - "/re/flags" or "m{re}flags" (any delimiter).  The pattern
 * and flags are returned in fresh memory; *rest points after the flags.
 */
static const char *parse_regex(const char *s, char **pat, char **flags,
			       const char **rest)
{
	char open, close;
	const char *p, *start;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '/') {
		open = '/';
		p = s + 1;
	} else if (*s == 'm' && s[1] && !isalnum((unsigned char)s[1]) &&
		   !isspace((unsigned char)s[1])) {
		open = s[1];
		p = s + 2;
	} else {
		return "expected a regex like /.../ or m{...}";
	}
	close = closing_delim(open);
	start = p;
	int depth = 0;
	for (; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (open != close && *p == open)
			depth++;
		else if (*p == close && depth-- == 0)
			break;
	}
	if (*p != close)
		return "regex not terminated";
	const char *end = p++, *f = p;
	while (isalpha((unsigned char)*p))
		p++;
	if (memchr(f, 'L', (size_t)(p - f)) != NULL)
		return "unknown regex flag 'L'";	/* parapet's own, for body rules */
	*pat = xstrndup(start, (size_t)(end - start));
	*flags = xstrndup(f, (size_t)(p - f));
	*rest = p;
	return NULL;
}

/* ---------------------------------------------------------------- rules */

/*
 * add_rule - register a rule.  A name already defined keeps its earlier
 * rule until this one has parsed (commit_rule): SpamAssassin lets the
 * later definition win, and keeps the earlier if the later is invalid.
 */
static struct rule *add_rule(struct parser *ps, const char *name)
{
	struct loader *ld = ps->ld;
	struct ruleset *rs = ld->rs;

	if (!rules_valid_name(name, strlen(name))) {
		diag_error(ld->d, ps->file, ps->line, "bad rule name '%s'", name);
		return NULL;
	}
	if (rules_is_builtin(rs, name)) {
		diag_error(ld->d, ps->file, ps->line,
			   "%s is a built-in symbol; a rule needs another name", name);
		return NULL;
	}
	if (rs->nrules >= RULES_MAX_RULES) {
		diag_error(ld->d, ps->file, ps->line, "more than %d rules",
			   RULES_MAX_RULES);
		return NULL;
	}
	struct sym *s = rules_sym_get(rs, name);
	ld->replaced = s->kind == SYM_RULE ? (long)s->rule : -1;
	ld->replaced_file = s->file;
	ld->replaced_line = s->line;
	s->kind = SYM_RULE;
	s->file = ps->file;
	s->line = ps->line;
	s->rule = rs->nrules;
	rs->rules = xrealloc(rs->rules, (rs->nrules + 1) * sizeof(*rs->rules));
	struct rule *r = &rs->rules[rs->nrules++];
	memset(r, 0, sizeof(*r));
	r->sym = (size_t)(s - rs->syms);
	r->maxhits = 1;
	return r;
}

/* commit_rule - the last rule parsed: it replaces the earlier definition
 * of its name, if any, in that one's slot */
static void commit_rule(struct loader *ld)
{
	if (ld->replaced >= 0)
		rules_remove_rule(ld->rs, (size_t)ld->replaced);
	ld->replaced = -1;
}

/* drop_last_rule - undo add_rule after a parse error: an earlier
 * definition of the name stays; else metas that name the rule stay quiet
 * (the error is already reported) */
static void drop_last_rule(struct loader *ld)
{
	struct ruleset *rs = ld->rs;
	struct rule *r = &rs->rules[--rs->nrules];
	struct sym *s = &rs->syms[r->sym];

	rules_rule_clear(r);
	if (ld->replaced >= 0) {
		s->kind = SYM_RULE;
		s->rule = (size_t)ld->replaced;
		s->file = ld->replaced_file;
		s->line = ld->replaced_line;
	} else {
		s->kind = SYM_BROKEN;
	}
	ld->replaced = -1;
}

/* finish_regex - the regex of a new rule, then nothing else on the line */
static void finish_regex(struct parser *ps, const char *name, const char *args,
			 bool if_unset_ok)
{
	struct ruleset *rs = ps->ld->rs;
	struct rule *r = &rs->rules[rs->nrules - 1];
	const char *rest, *err;
	char *rerr = NULL, fl[16];
	bool limited;

	if ((err = parse_regex(args, &r->pat, &r->flags, &rest)) != NULL) {
		diag_error(ps->ld->d, ps->file, ps->line, "%s: %s", name, err);
		drop_last_rule(ps->ld);
		return;
	}
	while (isspace((unsigned char)*rest))
		rest++;
	if (if_unset_ok && strncmp(rest, "[if-unset:", 10) == 0) {
		const char *end = strchr(rest, ']');
		if (end == NULL) {
			diag_error(ps->ld->d, ps->file, ps->line, "%s: unterminated [if-unset:", name);
		} else {
			char *v = xstrndup(rest + 10, (size_t)(end - rest - 10));
			r->if_unset = xstrdup(str_trim(v));
			free(v);
			rest = end + 1;
		}
	}
	while (isspace((unsigned char)*rest))
		rest++;
	if (*rest != '\0') {
		diag_error(ps->ld->d, ps->file, ps->line, "%s: unexpected text after regex: %s", name, rest);
		drop_last_rule(ps->ld);
	} else if ((r->re = re_compile_limited(r->pat, strlen(r->pat),
						rules_re_flags(r, fl, sizeof(fl)), &rerr,
						&limited)) == NULL) {
		/* a syntax error fails the load; a valid regex beyond a PCRE2
		 * limit loses only its rule, as SpamAssassin drops a rule
		 * whose regex Perl rejects */
		if (limited)
			diag_warn(ps->ld->d, ps->file, ps->line, "%s: %s; rule dropped", name, rerr);
		else
			diag_error(ps->ld->d, ps->file, ps->line, "%s", rerr);
		free(rerr);
		drop_last_rule(ps->ld);
	} else {
		commit_rule(ps->ld);
	}
}

/*
 * builtin_definition - SpamAssassin's own definition (an eval test or a
 * meta) of a name parapet's checks set as a built-in symbol (DKIM_INVALID,
 * SPF_PASS ...): the built-in stands, the definition is skipped
 */
static bool builtin_definition(struct parser *ps, const char *name)
{
	if (!rules_is_builtin(ps->ld->rs, name))
		return false;
	diag_skip(ps->ld->d, ps->file, ps->line, "definition of a parapet built-in symbol",
		  "%s: a built-in symbol of parapet; its own check sets it", name);
	return true;
}

/*
 * parse_eval - an eval: test.  One parapet implements becomes a RULE_EVAL
 * rule; one it lacks (a test of a SpamAssassin plugin parapet has not
 * got) is warned about with file:line and remembered as skipped, so metas
 * over it read 0.  false if word is no eval: test.
 */
static bool parse_eval(struct parser *ps, const char *name, enum rule_type type,
		       const char *word)
{
	static const unsigned where[] = {
		[RULE_HEADER] = EVAL_HEADER, [RULE_BODY] = EVAL_BODY,
		[RULE_RAWBODY] = EVAL_RAWBODY, [RULE_FULL] = EVAL_FULL,
		[RULE_URI] = EVAL_URI,
	};
	struct eval_call call;
	const char *err;

	if (strncmp(word, "eval:", 5) != 0)
		return false;
	if ((err = eval_parse(word + 5, &call)) != NULL) {
		diag_error(ps->ld->d, ps->file, ps->line, "%s: eval: %s", name, err);
		note_skipped(ps, name, true);
		return true;
	}
	if (rules_is_builtin(ps->ld->rs, name)) {
		/* SpamAssassin's rule for what a stage of parapet does: the
		 * built-in stands; say so when the two mean different things */
		const char *b = call.def ? eval_builtin_of(call.def->name) : NULL;
		if (call.def && (b == NULL || strcmp(b, name) != 0))
			diag_warn(ps->ld->d, ps->file, ps->line,
				  "%s: SpamAssassin's eval:%s means something else than parapet's "
				  "built-in %s, which is kept", name, call.def->name, name);
		else
			builtin_definition(ps, name);
		eval_call_clear(&call);
		return true;
	}
	if (call.def == NULL || !(call.def->types & where[type])) {
		diag_skip(ps->ld->d, ps->file, ps->line,
			  call.def ? "eval test of another rule type in parapet"
				   : "eval test not implemented in parapet",
			  call.def ? "%s: eval:%.*s is not a %s test in parapet"
				   : "%s: eval:%.*s is not implemented in parapet",
			  name, (int)strcspn(word + 5, "( "), word + 5,
			  type == RULE_HEADER ? "header" : "body");
		eval_call_clear(&call);
		note_skipped(ps, name, true);
		return true;
	}
	if (call.argc < call.def->min_args || call.argc > call.def->max_args) {
		diag_error(ps->ld->d, ps->file, ps->line,
			   "%s: eval:%s takes %u to %u arguments, not %zu", name,
			   call.def->name, call.def->min_args, call.def->max_args, call.argc);
		eval_call_clear(&call);
		note_skipped(ps, name, true);
		return true;
	}
	if ((err = eval_prepare(ps->ld->rs->conf, name, &call)) != NULL) {
		diag_error(ps->ld->d, ps->file, ps->line, "%s: eval:%s: %s", name,
			   call.def->name, err);
		eval_call_clear(&call);
		note_skipped(ps, name, true);
		return true;
	}
	struct rule *r = add_rule(ps, name);
	if (r == NULL) {
		eval_call_clear(&call);
		return true;
	}
	r->type = RULE_EVAL;
	r->evtype = type;
	r->call = call;
	commit_rule(ps->ld);
	return true;
}

/*
 * header_mods - cut the modifiers off "Field:mod:mod" into *mods
 * (SpamAssassin's PerMsgStatus::get: any order, any combination).  One
 * parapet lacks (:host, :domain, :ip, :revip) skips the rule; an unknown
 * one is an error.  1: fine, 0: skipped, -1: error (reported).
 */
static int header_mods(struct parser *ps, const char *name, char *field, unsigned *mods)
{
	static const struct {
		const char *name;
		unsigned bit;		/* 0: not in parapet */
	} known[] = {
		{ "raw", HDR_RAW }, { "addr", HDR_ADDR }, { "name", HDR_NAME },
		{ "first", HDR_FIRST }, { "last", HDR_LAST }, { "host", 0 },
		{ "domain", 0 }, { "ip", 0 }, { "revip", 0 },
	};
	char *colon = strchr(field, ':');

	*mods = 0;
	if (colon == NULL)
		return 1;
	*colon = '\0';
	for (char *m = colon + 1, *next; m; m = next) {
		size_t i, n = sizeof(known) / sizeof(known[0]);
		if ((next = strchr(m, ':')) != NULL)
			*next++ = '\0';
		for (i = 0; i < n && strcmp(known[i].name, m) != 0; i++)
			;
		if (i == n) {
			diag_error(ps->ld->d, ps->file, ps->line, "%s: unknown modifier :%s", name, m);
			return -1;
		}
		if (known[i].bit == 0) {
			diag_skip(ps->ld->d, ps->file, ps->line, "header modifier parapet lacks",
				  "%s: header modifier :%s is not in parapet", name, m);
			return 0;
		}
		*mods |= known[i].bit;
	}
	return 1;
}

/* header_regex - the rest of a header or mimeheader rule r just added:
 * "=~ /re/flags" or "!~ ..." after its field (with mods) */
static void header_regex(struct parser *ps, struct rule *r, const char *name, const char *field,
			 unsigned mods, char *args)
{
	r->type = RULE_HEADER;
	r->mod = mods;
	r->header = xstrdup(field);
	char *op = str_next_word(&args);
	if (op == NULL || (strcmp(op, "=~") != 0 && strcmp(op, "!~") != 0)) {
		diag_error(ps->ld->d, ps->file, ps->line, "%s: expected =~ or !~", name);
		drop_last_rule(ps->ld);
		return;
	}
	r->negate = op[0] == '!';
	finish_regex(ps, name, args, true);
}

/* parse_header_rule - header NAME Field[:mod] =~ /re/ [if-unset: X] */
static void parse_header_rule(struct parser *ps, char *args)
{
	char *name = str_next_word(&args), *field;

	while (isspace((unsigned char)*args))
		args++;
	/* an eval's arguments may hold spaces: the rest of the line */
	if (name && parse_eval(ps, name, RULE_HEADER, args))
		return;
	if (name == NULL || (field = str_next_word(&args)) == NULL) {
		diag_error(ps->ld->d, ps->file, ps->line, "header: expected NAME FIELD =~ /re/");
		return;
	}
	unsigned mods = 0;
	bool exists = strncmp(field, "exists:", 7) == 0;
	int ok = exists ? 1 : header_mods(ps, name, field, &mods);
	if (ok <= 0) {
		if (ok == 0)
			note_skipped(ps, name, true);
		else if (rules_valid_name(name, strlen(name)) &&
			 rules_sym_get(ps->ld->rs, name)->kind == SYM_NAMED)
			rules_sym_get(ps->ld->rs, name)->kind = SYM_BROKEN;
		return;
	}
	struct rule *r = add_rule(ps, name);
	if (r == NULL)
		return;
	if (exists) {
		r->type = RULE_EXISTS;
		r->header = xstrdup(field + 7);
		if (r->header[0] == '\0') {
			diag_error(ps->ld->d, ps->file, ps->line, "%s: exists: needs a field name", name);
			drop_last_rule(ps->ld);
		} else {
			commit_rule(ps->ld);
		}
		return;
	}
	header_regex(ps, r, name, field, mods, args);
}

/* parse_mimeheader_rule - mimeheader NAME Field[:raw] =~ /re/ [if-unset: X]
 * (SpamAssassin's MIMEHeader plugin): a header rule over the field of
 * each MIME part (HDR_MIME, match_mime); :raw is its only modifier */
static void parse_mimeheader_rule(struct parser *ps, char *args)
{
	char *name = str_next_word(&args), *field, *colon;

	if (name == NULL || (field = str_next_word(&args)) == NULL) {
		diag_error(ps->ld->d, ps->file, ps->line, "mimeheader: expected NAME FIELD =~ /re/");
		return;
	}
	unsigned mods = HDR_MIME;
	if ((colon = strchr(field, ':')) != NULL) {
		if (strcmp(colon, ":raw") == 0)
			mods |= HDR_RAW;
		else if (colon[1] != '\0') {	/* "Field:" is Field, as in SpamAssassin */
			diag_error(ps->ld->d, ps->file, ps->line,
				   "%s: mimeheader takes no modifier but :raw (got %s)", name, colon);
			if (rules_valid_name(name, strlen(name)) &&
			    rules_sym_get(ps->ld->rs, name)->kind == SYM_NAMED)
				rules_sym_get(ps->ld->rs, name)->kind = SYM_BROKEN;
			return;
		}
		*colon = '\0';
	}
	if (*field == '\0') {
		diag_error(ps->ld->d, ps->file, ps->line, "%s: mimeheader needs a field name", name);
		return;
	}
	struct rule *r = add_rule(ps, name);
	if (r == NULL)
		return;
	header_regex(ps, r, name, field, mods, args);
}

/* parse_body_rule - body/rawbody/full/uri NAME /re/flags */
static void parse_body_rule(struct parser *ps, enum rule_type type, char *args)
{
	char *name = str_next_word(&args);

	if (name == NULL) {
		diag_error(ps->ld->d, ps->file, ps->line, "expected NAME /re/");
		return;
	}
	while (isspace((unsigned char)*args))
		args++;
	if (parse_eval(ps, name, type, args))
		return;
	struct rule *r = add_rule(ps, name);
	if (r == NULL)
		return;
	r->type = type;
	finish_regex(ps, name, args, false);
}

/* parse_meta - meta NAME EXPR: syntax now, names in rules_link (a meta
 * may name rules defined later or in a later file) */
static void parse_meta(struct parser *ps, char *args)
{
	char *name = str_next_word(&args), *err = NULL;

	if (name == NULL) {
		diag_error(ps->ld->d, ps->file, ps->line, "meta: expected NAME EXPRESSION");
		return;
	}
	if (builtin_definition(ps, name))
		return;
	struct rule *r = add_rule(ps, name);
	if (r == NULL)
		return;
	r->type = RULE_META;
	if ((r->meta = meta_compile(str_trim(args), &err)) == NULL) {
		diag_error(ps->ld->d, ps->file, ps->line, "meta %s: %s", name, err);
		free(err);
		drop_last_rule(ps->ld);
	} else {
		commit_rule(ps->ld);
	}
}

/* ---------------------------------------------------------------- settings */

/*
 * score_value - a decimal number, optionally in parentheses (relative to
 * the previous score, SpamAssassin Conf "score").  No exponent, inf or
 * nan: a score must be a plain finite number.
 */
static bool score_value(const char *w, double *v, bool *relative)
{
	size_t n = strlen(w);
	char buf[64];

	*relative = n >= 2 && w[0] == '(' && w[n - 1] == ')';
	if (*relative) {
		w++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, w, n);
	buf[n] = '\0';
	const char *p = buf;
	if (*p == '-' || *p == '+')
		p++;
	size_t digits = 0;
	while (isdigit((unsigned char)*p)) {
		p++;
		digits++;
	}
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			digits++;
	if (*p != '\0' || digits == 0)
		return false;
	*v = strtod(buf, NULL);
	return true;
}

/* parse_score - score NAME S [S S S]: with four, set 1 (network tests, no
 * Bayes) is the second value, the set parapet runs as */
static void parse_score(struct parser *ps, char *args)
{
	char *name = str_next_word(&args), *w;
	double v[4];
	bool relative = false, rel;
	int n = 0;

	if (name == NULL || !rules_valid_name(name, strlen(name))) {
		diag_error(ps->ld->d, ps->file, ps->line, "score: expected NAME SCORE");
		return;
	}
	while ((w = str_next_word(&args)) != NULL) {
		if (n == 4) {
			n = 5;
			break;
		}
		if (!score_value(w, &v[n], &rel)) {
			diag_error(ps->ld->d, ps->file, ps->line, "score %s: '%s' is not a number", name, w);
			return;
		}
		relative |= rel;
		n++;
	}
	if (n != 1 && n != 4) {
		diag_error(ps->ld->d, ps->file, ps->line, "score %s: expected one or four numbers", name);
		return;
	}
	struct sym *s = rules_sym_get(ps->ld->rs, name);
	if (relative && !s->scored) {
		diag_error(ps->ld->d, ps->file, ps->line,
			   "score %s: a score in parentheses is added to an earlier score line, and there is none",
			   name);
		return;
	}
	double val = n == 1 ? v[0] : v[1];
	s->score = relative ? s->score + val : val;
	s->scored = true;
	s->score_file = ps->file;
	s->score_line = ps->line;
}

/* parse_describe - describe NAME text */
static void parse_describe(struct parser *ps, char *args)
{
	char *name = str_next_word(&args);

	if (name == NULL || !rules_valid_name(name, strlen(name))) {
		diag_error(ps->ld->d, ps->file, ps->line, "describe: expected NAME TEXT");
		return;
	}
	struct sym *s = rules_sym_get(ps->ld->rs, name);
	free(s->desc);
	s->desc = xstrdup(str_trim(args));
}

/* tflags SpamAssassin defines that change nothing in parapet: forced
 * auto-learning and rule-QA hints */
static const char *const tflags_ignored[] = {
	"autolearn_force", "noawl",
	"publish", "nopublish", "a", "ns", "ips_only", "domains_only",
	"notrim", "nolog", NULL,
};

/* parse_tflags - tflags NAME flag...; the last line for a name wins */
static void parse_tflags(struct parser *ps, char *args)
{
	char *name = str_next_word(&args), *w;

	if (name == NULL || !rules_valid_name(name, strlen(name))) {
		diag_error(ps->ld->d, ps->file, ps->line, "tflags: expected NAME FLAGS");
		return;
	}
	struct sym *s = rules_sym_get(ps->ld->rs, name);
	s->multiple = s->nice = s->nosubject = false;
	s->tf_net = s->tf_learn = s->tf_noautolearn = false;
	s->tf_al_part = 0;
	s->maxhits = 0;
	s->tflags_file = ps->file;
	s->tflags_line = ps->line;
	while ((w = str_next_word(&args)) != NULL) {
		size_t i;
		if (strcmp(w, "multiple") == 0) {
			s->multiple = true;
		} else if (strncmp(w, "maxhits=", 8) == 0) {
			char *end;
			errno = 0;
			unsigned long m = strtoul(w + 8, &end, 10);
			if (!isdigit((unsigned char)w[8]) || *end || m == 0 || errno) {
				diag_warn(ps->ld->d, ps->file, ps->line,
					  "tflags %s: '%s' needs a positive number, ignored", name, w);
			} else if (m > RULES_MAX_HITS) {
				diag_warn(ps->ld->d, ps->file, ps->line,
					  "tflags %s: %s capped at %d", name, w, RULES_MAX_HITS);
				s->maxhits = RULES_MAX_HITS;
			} else {
				s->maxhits = (unsigned)m;
			}
		} else if (strcmp(w, "nice") == 0) {
			s->nice = true;
		} else if (strcmp(w, "nosubject") == 0) {
			s->nosubject = true;
		} else if (strcmp(w, "net") == 0) {
			s->tf_net = true;
		} else if (strcmp(w, "learn") == 0) {
			s->tf_learn = true;
		} else if (strcmp(w, "noautolearn") == 0 || strcmp(w, "userconf") == 0) {
			s->tf_noautolearn = true;
		} else if (strcmp(w, "autolearn_header") == 0) {
			s->tf_al_part = RULES_PART_HEAD;
		} else if (strcmp(w, "autolearn_body") == 0) {
			s->tf_al_part = RULES_PART_BODY;
		} else if (strncmp(w, "range=", 6) == 0) {
			diag_warn(ps->ld->d, ps->file, ps->line,
				  "tflags %s: %s is not in parapet (a mimeheader rule reads "
				  "every part), ignored", name, w);
		} else {
			for (i = 0; tflags_ignored[i] && strcmp(tflags_ignored[i], w) != 0; i++)
				;
			if (tflags_ignored[i] == NULL)
				diag_warn(ps->ld->d, ps->file, ps->line,
					  "tflags %s: unknown flag '%s', ignored", name, w);
		}
	}
	if (s->maxhits && !s->multiple)
		diag_warn(ps->ld->d, ps->file, ps->line,
			  "tflags %s: maxhits has no effect without multiple", name);
}

/* parse_replace_tag - replace_tag/pre/inter/post NAME VALUE */
static void parse_replace_tag(struct parser *ps, enum tag_kind kind, const char *kw,
			      char *args)
{
	struct loader *ld = ps->ld;
	char *name = str_next_word(&args), *value = str_trim(args);

	if (name == NULL || *value == '\0') {
		diag_error(ld->d, ps->file, ps->line, "%s: expected NAME VALUE", kw);
		return;
	}
	ld->tags = xrealloc(ld->tags, (ld->ntags + 1) * sizeof(*ld->tags));
	ld->tags[ld->ntags++] = (struct tag){
		.kind = kind, .name = xstrdup(name), .value = xstrdup(value),
	};
}

/* parse_replace_rules - replace_rules NAME...: checked in rules_link */
static void parse_replace_rules(struct parser *ps, char *args)
{
	struct loader *ld = ps->ld;
	char *w;
	int n = 0;

	while ((w = str_next_word(&args)) != NULL) {
		ld->reqs = xrealloc(ld->reqs, (ld->nreqs + 1) * sizeof(*ld->reqs));
		ld->reqs[ld->nreqs++] = (struct replace_req){
			.name = xstrdup(w), .file = ps->file, .line = ps->line,
		};
		n++;
	}
	if (n == 0)
		diag_error(ld->d, ps->file, ps->line, "replace_rules: expected rule names");
}

/* parse_replace_delim - replace_start / replace_end STRING */
static void parse_replace_delim(struct parser *ps, char **dst, const char *kw, char *args)
{
	char *v = str_trim(args);

	if (*v == '\0') {
		diag_error(ps->ld->d, ps->file, ps->line, "%s: expected a string", kw);
		return;
	}
	free(*dst);
	*dst = xstrdup(v);
}
/* ---------------------------------------------------------------- lines */

/* directives that define a rule parapet cannot run: named in metas, they
 * read 0 with a warning instead of failing the load as unknown names */
static const char *const plugin_rule_directives[] = {
	"uri_detail", "urirhsbl", "urirhssub", "uridnsbl",
	"uridnssub", "askdns", "hashbl_ignore", NULL,
};

/* defines_rule - does this directive define a rule named by its first word? */
static bool defines_rule(const char *kw)
{
	static const char *const ours[] = {
		"header", "body", "rawbody", "full", "uri", "meta", "mimeheader", NULL,
	};

	for (size_t i = 0; ours[i]; i++)
		if (strcmp(ours[i], kw) == 0)
			return true;
	for (size_t i = 0; plugin_rule_directives[i]; i++)
		if (strcmp(plugin_rule_directives[i], kw) == 0)
			return true;
	return false;
}

/* rules_skipped_line - a line inside a false if block: not parsed, but a
 * meta outside the block may name the rule it defines */
void rules_skipped_line(struct parser *ps, const char *kw, char *args)
{
	if (!defines_rule(kw))
		return;
	char *name = str_next_word(&args);
	if (name == NULL)
		return;
	diag_skip(ps->ld->d, ps->file, ps->line, "rule in a false if/ifplugin block",
		  "%s: inside `%s` (line %d)", name, ps->skip_why, ps->skip_line);
	note_skipped(ps, name, false);
}

/* the settings and metadata of SpamAssassin's files parapet does not take
 * over: quietly skipped (summarized by reason), or warned about with what
 * parapet does instead when an administrator expects an effect */
#define WHY_REPORT "report template (parapet writes its own header fields)"
#define WHY_RB "top-level domains (parapet reads the Public Suffix List)"
#define WHY_BAYES "Bayes setting (parapet has no Bayes classifier)"
#define WHY_SCORE "parapet's thresholds are tag_score, quarantine_score and reject_score " \
	"in parapet.conf(5); ignored"
#define WHY_HEADERS "parapet adds its own X-Spam-Flag, X-Spam-Score and X-Spam-Status " \
	"fields (parapet(8), HEADERS); ignored"
static const struct {
	const char *kw;		/* a trailing '*': any directive with this prefix */
	bool warn;
	const char *why;
} not_taken[] = {
	{ "priority", false, "priority (parapet runs metas after the rules they use)" },
	{ "reuse", false, "reuse (SpamAssassin's mass-check only)" },
	{ "test", false, "test (SpamAssassin's rule self-tests)" },
	{ "report", false, WHY_REPORT }, { "unsafe_report", false, WHY_REPORT },
	{ "clear_report_template", false, WHY_REPORT },
	{ "clear_unsafe_report_template", false, WHY_REPORT },
	{ "report_contact", false, WHY_REPORT }, { "report_hostname", false, WHY_REPORT },
	{ "report_charset", false, WHY_REPORT },
	{ "util_rb_tld", false, WHY_RB },	/* 2tld and 3tld: eval_relay.c */
	{ "bayes_*", false, WHY_BAYES }, { "use_bayes*", false, WHY_BAYES },
	{ "required_score", true, WHY_SCORE }, { "required_hits", true, WHY_SCORE },
	{ "rewrite_header", true,
	  "parapet rewrites only Subject (its tag, subject_tag in parapet.conf(5)); "
	  "at tag_score it adds X-Spam-Flag: YES, filter on that; ignored" },
	{ "add_header", true, WHY_HEADERS }, { "remove_header", true, WHY_HEADERS },
	{ "clear_headers", true, WHY_HEADERS },
	{ "report_safe", true,
	  "parapet never wraps a message into a report, as with report_safe 0; ignored" },
};

/* subject_tag_line - `rewrite_header Subject TEXT`: the Subject tag
 * (verdict.c; taken literally, no _SCORE_ template tags), or none without
 * TEXT; false for another header, which not_taken reports */
static bool subject_tag_line(struct parser *ps, const char *kw, char *args)
{
	if (strcmp(kw, "rewrite_header") != 0 || strncasecmp(args, "subject", 7) != 0 ||
	    (args[7] != ' ' && args[7] != '\t' && args[7] != '\0'))
		return false;
	char *text = str_trim(args + 7);
	if (*text == '\0') {	/* no text: no tag (Conf.pm) */
		free(ps->ld->rs->subject_tag);
		ps->ld->rs->subject_tag = NULL;
		return true;
	}
	bool printable = strlen(text) <= 200;
	for (const char *c = text; printable && *c; c++)
		printable = (unsigned char)*c >= 0x20 && *c != 0x7f;
	if (!printable) {
		diag_warn(ps->ld->d, ps->file, ps->line,
			  "rewrite_header Subject: expected 1 to 200 printable characters; ignored");
		return true;
	}
	free(ps->ld->rs->subject_tag);
	ps->ld->rs->subject_tag = xstrdup(text);
	return true;
}

/* not_taken_line - a directive of not_taken? then say so; false if not */
static bool not_taken_line(struct parser *ps, const char *kw, char *args)
{
	for (size_t i = 0; i < sizeof(not_taken) / sizeof(not_taken[0]); i++) {
		const char *k = not_taken[i].kw;
		size_t n = strlen(k);
		bool match = k[n - 1] == '*' ? strncmp(kw, k, n - 1) == 0 : strcmp(kw, k) == 0;
		if (!match)
			continue;
		if (strcmp(kw, "report_safe") == 0 && strcmp(str_trim(args), "0") == 0)
			return true;	/* what parapet does */
		if (not_taken[i].warn)
			diag_warn(ps->ld->d, ps->file, ps->line, "%s: %s", kw, not_taken[i].why);
		else
			diag_skip(ps->ld->d, ps->file, ps->line, not_taken[i].why, "%s", kw);
		return true;
	}
	return false;
}

/* rules_directive - one directive other than include and if/else/endif */
void rules_directive(struct parser *ps, const char *kw, char *args)
{
	struct loader *ld = ps->ld;
	const char *err = NULL;

	if (strcmp(kw, "header") == 0)
		parse_header_rule(ps, args);
	else if (strcmp(kw, "mimeheader") == 0)
		parse_mimeheader_rule(ps, args);
	else if (strcmp(kw, "body") == 0)
		parse_body_rule(ps, RULE_BODY, args);
	else if (strcmp(kw, "rawbody") == 0)
		parse_body_rule(ps, RULE_RAWBODY, args);
	else if (strcmp(kw, "full") == 0)
		parse_body_rule(ps, RULE_FULL, args);
	else if (strcmp(kw, "uri") == 0)
		parse_body_rule(ps, RULE_URI, args);
	else if (strcmp(kw, "meta") == 0)
		parse_meta(ps, args);
	else if (strcmp(kw, "score") == 0)
		parse_score(ps, args);
	else if (strcmp(kw, "describe") == 0)
		parse_describe(ps, args);
	else if (strcmp(kw, "tflags") == 0)
		parse_tflags(ps, args);
	else if (strcmp(kw, "lang") == 0)
		;	/* translations: parapet reports in the rule file's language */
	else if (strcmp(kw, "replace_tag") == 0)
		parse_replace_tag(ps, TAG_TAG, kw, args);
	else if (strcmp(kw, "replace_pre") == 0)
		parse_replace_tag(ps, TAG_PRE, kw, args);
	else if (strcmp(kw, "replace_inter") == 0)
		parse_replace_tag(ps, TAG_INTER, kw, args);
	else if (strcmp(kw, "replace_post") == 0)
		parse_replace_tag(ps, TAG_POST, kw, args);
	else if (strcmp(kw, "replace_rules") == 0)
		parse_replace_rules(ps, args);
	else if (strcmp(kw, "replace_start") == 0)
		parse_replace_delim(ps, &ld->replace_start, kw, args);
	else if (strcmp(kw, "replace_end") == 0)
		parse_replace_delim(ps, &ld->replace_end, kw, args);
	else if (eval_directive(ld->rs->conf, kw, args, &err)) {
		if (err)
			diag_error(ld->d, ps->file, ps->line, "%s: %s", kw, err);
	} else if (!subject_tag_line(ps, kw, args) && !not_taken_line(ps, kw, args)) {
		char why[96];
		snprintf(why, sizeof(why), "directive '%.60s' not in parapet", kw);
		diag_skip(ld->d, ps->file, ps->line, why, "%s", kw);
		if (defines_rule(kw))
			note_skipped(ps, rules_next_word(&args), true);
	}
}
