/*
 * rules.c - parse rule files into an immutable rule set and evaluate it.
 *
 * Parsing follows SpamAssassin's conventions: an unescaped '#' starts a
 * comment, later `score`/`describe` lines override earlier ones, a rule
 * without a score scores 1.0, names starting with "__" score 0 and are
 * never reported.  Errors (bad regex, malformed line, duplicate rule)
 * fail the load with file:line; unsupported constructs are warnings and
 * skipped so a SpamAssassin rule file loads.
 *
 * Thread safety: a loaded ruleset is read-only.  Limits: a rule file is at
 * most RULES_MAX_FILE bytes, a line RULES_MAX_LINE, a rule set
 * RULES_MAX_RULES rules; regex cost is bounded by re.c.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "re.h"
#include "rules.h"
#include "scan.h"
#include "util.h"

#define RULES_MAX_FILE (4 * 1024 * 1024)
#define RULES_MAX_LINE 8192
#define RULES_MAX_RULES 20000
#define RULES_MAX_NAME 128
#define RULES_MAX_IFDEPTH 32
#define DETAIL_MAX 80

enum rule_type {
	RULE_HEADER,
	RULE_EXISTS,
	RULE_BODY,
	RULE_RAWBODY,
	RULE_FULL,
};

enum hdr_mod {
	HDR_VALUE,		/* unfolded, trimmed */
	HDR_RAW,		/* as received */
	HDR_ADDR,		/* the address in it */
	HDR_NAME,		/* the display name in it */
};

struct rule {
	enum rule_type type;
	size_t sym;		/* index into ruleset->syms */
	char *header;		/* header rules: field name or ALL/ToCc/MESSAGEID */
	enum hdr_mod mod;
	bool negate;		/* !~ */
	char *if_unset;
	struct re *re;
};

struct sym {
	char *name;
	double score;
	bool scored;		/* a score line named it */
	char *desc;
	bool is_rule;
	char *file;		/* where the rule was defined */
	int line;
};

struct ruleset {
	struct rule *rules;
	size_t nrules;
	struct sym *syms;
	size_t nsyms;
	size_t syms_cap;
};

/* ---------------------------------------------------------------- parse */

struct parser {
	struct ruleset *rs;
	struct diag *d;
	const char *file;
	int line;
	int if_depth;		/* open if/ifplugin blocks */
	int skip_depth;		/* depth at which skipping started, 0: none */
};

/* sym_find - index of a symbol or -1 (linear: only used while loading) */
static long sym_find(const struct ruleset *rs, const char *name)
{
	for (size_t i = 0; i < rs->nsyms; i++)
		if (strcmp(rs->syms[i].name, name) == 0)
			return (long)i;
	return -1;
}

/* sym_get - the symbol, created if new */
static struct sym *sym_get(struct ruleset *rs, const char *name)
{
	long i = sym_find(rs, name);

	if (i >= 0)
		return &rs->syms[i];
	if (rs->nsyms == rs->syms_cap) {
		rs->syms_cap = rs->syms_cap ? rs->syms_cap * 2 : 64;
		rs->syms = xrealloc(rs->syms, rs->syms_cap * sizeof(*rs->syms));
	}
	struct sym *s = &rs->syms[rs->nsyms++];
	memset(s, 0, sizeof(*s));
	s->name = xstrdup(name);
	s->score = strncmp(name, "__", 2) == 0 ? 0.0 : 1.0;
	return s;
}

/* valid_name - SpamAssassin rule names: word characters */
static bool valid_name(const char *s, size_t n)
{
	if (n == 0 || n > RULES_MAX_NAME)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

/* next_word - split off the next white-space separated word */
static char *next_word(char **p)
{
	char *s = *p;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0') {
		*p = s;
		return NULL;
	}
	char *w = s;
	while (*s && !isspace((unsigned char)*s))
		s++;
	if (*s)
		*s++ = '\0';
	*p = s;
	return w;
}

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
	*pat = xstrndup(start, (size_t)(p - start));
	p++;
	const char *f = p;
	while (isalpha((unsigned char)*p))
		p++;
	*flags = xstrndup(f, (size_t)(p - f));
	*rest = p;
	return NULL;
}

/* compile - compile a regex; diag on failure */
static struct re *compile(struct parser *ps, const char *pat, const char *flags)
{
	char *err = NULL;
	struct re *re = re_compile(pat, strlen(pat), flags, &err);

	if (re == NULL) {
		diag_error(ps->d, ps->file, ps->line, "%s", err);
		free(err);
	}
	return re;
}

/* add_rule - register a rule under a new name */
static struct rule *add_rule(struct parser *ps, const char *name)
{
	struct ruleset *rs = ps->rs;
	long existing = sym_find(rs, name);

	if (!valid_name(name, strlen(name))) {
		diag_error(ps->d, ps->file, ps->line, "bad rule name '%s'", name);
		return NULL;
	}
	if (existing >= 0 && rs->syms[existing].is_rule) {
		diag_error(ps->d, ps->file, ps->line,
			   "duplicate definition of %s (first at %s:%d)", name,
			   rs->syms[existing].file, rs->syms[existing].line);
		return NULL;
	}
	if (rs->nrules >= RULES_MAX_RULES) {
		diag_error(ps->d, ps->file, ps->line, "more than %d rules",
			   RULES_MAX_RULES);
		return NULL;
	}
	struct sym *s = sym_get(rs, name);
	s->is_rule = true;
	s->file = xstrdup(ps->file);
	s->line = ps->line;
	rs->rules = xrealloc(rs->rules, (rs->nrules + 1) * sizeof(*rs->rules));
	struct rule *r = &rs->rules[rs->nrules++];
	memset(r, 0, sizeof(*r));
	r->sym = (size_t)(s - rs->syms);
	return r;
}

/* drop_last_rule - undo add_rule after a parse error */
static void drop_last_rule(struct ruleset *rs)
{
	struct rule *r = &rs->rules[--rs->nrules];

	rs->syms[r->sym].is_rule = false;
	free(rs->syms[r->sym].file);
	rs->syms[r->sym].file = NULL;
	free(r->header);
	free(r->if_unset);
	re_free(r->re);
}

/* parse_header_rule - header NAME Field[:mod] =~ /re/ [if-unset: X] */
static void parse_header_rule(struct parser *ps, char *args)
{
	char *name = next_word(&args), *field;
	char *pat = NULL, *flags = NULL;
	const char *rest, *err;

	if (name == NULL || (field = next_word(&args)) == NULL) {
		diag_error(ps->d, ps->file, ps->line, "header: expected NAME FIELD =~ /re/");
		return;
	}
	if (strncmp(field, "eval:", 5) == 0) {
		diag_warn(ps->d, ps->file, ps->line, "%s: eval: tests are not supported, skipped", name);
		return;
	}
	struct rule *r = add_rule(ps, name);
	if (r == NULL)
		return;
	if (strncmp(field, "exists:", 7) == 0) {
		r->type = RULE_EXISTS;
		r->header = xstrdup(field + 7);
		if (r->header[0] == '\0') {
			diag_error(ps->d, ps->file, ps->line, "%s: exists: needs a field name", name);
			drop_last_rule(ps->rs);
		}
		return;
	}
	r->type = RULE_HEADER;
	char *colon = strchr(field, ':');
	if (colon) {
		*colon = '\0';
		const char *m = colon + 1;
		if (strcmp(m, "raw") == 0)
			r->mod = HDR_RAW;
		else if (strcmp(m, "addr") == 0)
			r->mod = HDR_ADDR;
		else if (strcmp(m, "name") == 0)
			r->mod = HDR_NAME;
		else {
			diag_error(ps->d, ps->file, ps->line, "%s: unknown modifier :%s", name, m);
			drop_last_rule(ps->rs);
			return;
		}
	}
	r->header = xstrdup(field);
	char *op = next_word(&args);
	if (op == NULL || (strcmp(op, "=~") != 0 && strcmp(op, "!~") != 0)) {
		diag_error(ps->d, ps->file, ps->line, "%s: expected =~ or !~", name);
		drop_last_rule(ps->rs);
		return;
	}
	r->negate = op[0] == '!';
	if ((err = parse_regex(args, &pat, &flags, &rest)) != NULL) {
		diag_error(ps->d, ps->file, ps->line, "%s: %s", name, err);
		drop_last_rule(ps->rs);
		return;
	}
	while (isspace((unsigned char)*rest))
		rest++;
	if (strncmp(rest, "[if-unset:", 10) == 0) {
		const char *end = strchr(rest, ']');
		if (end == NULL) {
			diag_error(ps->d, ps->file, ps->line, "%s: unterminated [if-unset:", name);
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
		diag_error(ps->d, ps->file, ps->line, "%s: unexpected text after regex: %s", name, rest);
		drop_last_rule(ps->rs);
	} else if ((r->re = compile(ps, pat, flags)) == NULL) {
		drop_last_rule(ps->rs);
	}
	free(pat);
	free(flags);
}

/* parse_body_rule - body/rawbody/full NAME /re/flags */
static void parse_body_rule(struct parser *ps, enum rule_type type, char *args)
{
	char *name = next_word(&args);
	char *pat = NULL, *flags = NULL;
	const char *rest, *err;

	if (name == NULL) {
		diag_error(ps->d, ps->file, ps->line, "expected NAME /re/");
		return;
	}
	while (isspace((unsigned char)*args))
		args++;
	if (strncmp(args, "eval:", 5) == 0) {
		diag_warn(ps->d, ps->file, ps->line, "%s: eval: tests are not supported, skipped", name);
		return;
	}
	struct rule *r = add_rule(ps, name);
	if (r == NULL)
		return;
	r->type = type;
	if ((err = parse_regex(args, &pat, &flags, &rest)) != NULL) {
		diag_error(ps->d, ps->file, ps->line, "%s: %s", name, err);
		drop_last_rule(ps->rs);
		return;
	}
	while (isspace((unsigned char)*rest))
		rest++;
	if (*rest != '\0') {
		diag_error(ps->d, ps->file, ps->line, "%s: unexpected text after regex: %s", name, rest);
		drop_last_rule(ps->rs);
	} else if ((r->re = compile(ps, pat, flags)) == NULL) {
		drop_last_rule(ps->rs);
	}
	free(pat);
	free(flags);
}

/* parse_score - score NAME S [S S S]: with four, set 1 (network tests, no
 * Bayes) is the second value, the set parapet runs as */
static void parse_score(struct parser *ps, char *args)
{
	char *name = next_word(&args), *w;
	double v[4];
	int n = 0;

	if (name == NULL || !valid_name(name, strlen(name))) {
		diag_error(ps->d, ps->file, ps->line, "score: expected NAME SCORE");
		return;
	}
	while ((w = next_word(&args)) != NULL) {
		char *end;
		if (n == 4) {
			n = 5;
			break;
		}
		v[n] = strtod(w, &end);
		if (*end != '\0' || end == w) {
			diag_error(ps->d, ps->file, ps->line, "score %s: '%s' is not a number", name, w);
			return;
		}
		n++;
	}
	if (n != 1 && n != 4) {
		diag_error(ps->d, ps->file, ps->line, "score %s: expected one or four numbers", name);
		return;
	}
	struct sym *s = sym_get(ps->rs, name);
	s->score = n == 1 ? v[0] : v[1];
	s->scored = true;
}

/* parse_describe - describe NAME text */
static void parse_describe(struct parser *ps, char *args)
{
	char *name = next_word(&args);

	if (name == NULL || !valid_name(name, strlen(name))) {
		diag_error(ps->d, ps->file, ps->line, "describe: expected NAME TEXT");
		return;
	}
	struct sym *s = sym_get(ps->rs, name);
	free(s->desc);
	s->desc = xstrdup(str_trim(args));
}

/* strip_comment - cut at an unescaped '#' (SpamAssassin convention) */
static void strip_comment(char *line)
{
	for (char *p = line; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (*p == '#') {
			*p = '\0';
			return;
		}
	}
}

/* parse_line - one directive */
static void parse_line(struct parser *ps, char *line)
{
	char *args = line, *kw;

	strip_comment(line);
	if ((kw = next_word(&args)) == NULL)
		return;
	/* conditional blocks: parapet has no SpamAssassin plugins, so every
	 * ifplugin/if block is skipped (its else branch taken) */
	if (strcmp(kw, "ifplugin") == 0 || strcmp(kw, "if") == 0) {
		if (++ps->if_depth > RULES_MAX_IFDEPTH) {
			diag_error(ps->d, ps->file, ps->line, "if/ifplugin nested too deep");
			return;
		}
		if (ps->skip_depth == 0) {
			diag_warn(ps->d, ps->file, ps->line,
				  "%s %s: treated as false, block skipped", kw, str_trim(args));
			ps->skip_depth = ps->if_depth;
		}
		return;
	}
	if (strcmp(kw, "else") == 0) {
		if (ps->if_depth == 0)
			diag_error(ps->d, ps->file, ps->line, "else without if");
		else if (ps->skip_depth == ps->if_depth)
			ps->skip_depth = 0;
		else if (ps->skip_depth == 0)
			ps->skip_depth = ps->if_depth;
		return;
	}
	if (strcmp(kw, "endif") == 0) {
		if (ps->if_depth == 0) {
			diag_error(ps->d, ps->file, ps->line, "endif without if");
			return;
		}
		if (ps->skip_depth == ps->if_depth)
			ps->skip_depth = 0;
		ps->if_depth--;
		return;
	}
	if (ps->skip_depth)
		return;
	if (strcmp(kw, "header") == 0)
		parse_header_rule(ps, args);
	else if (strcmp(kw, "body") == 0)
		parse_body_rule(ps, RULE_BODY, args);
	else if (strcmp(kw, "rawbody") == 0)
		parse_body_rule(ps, RULE_RAWBODY, args);
	else if (strcmp(kw, "full") == 0)
		parse_body_rule(ps, RULE_FULL, args);
	else if (strcmp(kw, "score") == 0)
		parse_score(ps, args);
	else if (strcmp(kw, "describe") == 0)
		parse_describe(ps, args);
	else if (strcmp(kw, "tflags") == 0)
		;	/* accepted; multiple/maxhits arrive with the full engine */
	else
		diag_warn(ps->d, ps->file, ps->line, "unsupported directive '%s', skipped", kw);
}

/* parse_text - every line of one file */
static void parse_text(struct parser *ps, const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	ps->line = 0;
	ps->if_depth = 0;
	ps->skip_depth = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		ps->line++;
		if (n > RULES_MAX_LINE) {
			diag_error(ps->d, ps->file, ps->line, "line longer than %d bytes", RULES_MAX_LINE);
		} else if (memchr(p, '\0', n)) {
			diag_error(ps->d, ps->file, ps->line, "NUL byte in line");
		} else {
			char *line = xstrndup(p, n);
			parse_line(ps, line);
			free(line);
		}
		p += n + (nl ? 1 : 0);
	}
	if (ps->if_depth > 0)
		diag_error(ps->d, ps->file, ps->line, "%d if/ifplugin block(s) without endif", ps->if_depth);
}

/* read_file - whole file, capped */
static char *read_file(const char *path, size_t *len, struct diag *d)
{
	FILE *fp = fopen(path, "r");
	struct buf b;
	char chunk[8192];
	size_t n;

	if (fp == NULL) {
		diag_error(d, path, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		buf_append(&b, chunk, n);
		if (b.len > RULES_MAX_FILE) {
			diag_error(d, path, 0, "larger than %d bytes", RULES_MAX_FILE);
			fclose(fp);
			buf_free(&b);
			return NULL;
		}
	}
	fclose(fp);
	*len = b.len;
	return b.data ? b.data : xstrdup("");
}

/* cf_filter - *.cf, no hidden files */
static int cf_filter(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return e->d_name[0] != '.' && n > 3 && strcmp(e->d_name + n - 3, ".cf") == 0;
}

/* sym_cmp - sort symbols by name for bsearch */
static int sym_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sym *)a)->name, ((const struct sym *)b)->name);
}

/* finish - sort the symbol table (rules refer to symbols by name) */
static struct ruleset *finish(struct ruleset *rs, struct diag *d)
{
	if (d->errors)
		return rules_free(rs);
	/* remember each rule's symbol name before sorting moves it */
	char **names = xcalloc(rs->nrules ? rs->nrules : 1, sizeof(char *));
	for (size_t i = 0; i < rs->nrules; i++)
		names[i] = rs->syms[rs->rules[i].sym].name;
	qsort(rs->syms, rs->nsyms, sizeof(*rs->syms), sym_cmp);
	for (size_t i = 0; i < rs->nrules; i++) {
		struct sym key = { .name = names[i] };
		struct sym *s = bsearch(&key, rs->syms, rs->nsyms, sizeof(*rs->syms), sym_cmp);
		rs->rules[i].sym = (size_t)(s - rs->syms);
	}
	free(names);
	return rs;
}

/* rules_load - every *.cf in dir */
struct ruleset *rules_load(const char *dir, struct diag *d)
{
	struct dirent **ents = NULL;
	struct ruleset *rs = xcalloc(1, sizeof(*rs));
	int n = scandir(dir, &ents, cf_filter, alphasort);

	if (n < 0) {
		diag_error(d, dir, 0, "cannot read rules directory: %s", strerror(errno));
		return rules_free(rs);
	}
	if (n == 0)
		diag_warn(d, dir, 0, "no *.cf rule files");
	for (int i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", dir, ents[i]->d_name);
		size_t len;
		char *text = read_file(path, &len, d);
		if (text) {
			struct parser ps = { .rs = rs, .d = d, .file = path };
			parse_text(&ps, text, len);
			free(text);
		}
		free(path);
		free(ents[i]);
	}
	free(ents);
	return finish(rs, d);
}

/* rules_load_text - one in-memory file */
struct ruleset *rules_load_text(const char *name, const char *text, struct diag *d)
{
	struct ruleset *rs = xcalloc(1, sizeof(*rs));
	struct parser ps = { .rs = rs, .d = d, .file = name };

	parse_text(&ps, text, strlen(text));
	return finish(rs, d);
}

/* rules_free - release everything */
struct ruleset *rules_free(struct ruleset *rs)
{
	if (rs == NULL)
		return NULL;
	for (size_t i = 0; i < rs->nrules; i++) {
		free(rs->rules[i].header);
		free(rs->rules[i].if_unset);
		re_free(rs->rules[i].re);
	}
	free(rs->rules);
	for (size_t i = 0; i < rs->nsyms; i++) {
		free(rs->syms[i].name);
		free(rs->syms[i].desc);
		free(rs->syms[i].file);
	}
	free(rs->syms);
	free(rs);
	return NULL;
}

/* rules_symbol - score and description by name */
bool rules_symbol(const struct ruleset *rs, const char *name, double *score,
		  const char **desc)
{
	struct sym key = { .name = (char *)name };
	const struct sym *s = bsearch(&key, rs->syms, rs->nsyms, sizeof(*rs->syms), sym_cmp);

	if (s == NULL)
		return false;
	/* a built-in named only by describe keeps its default of 0 */
	*score = (s->is_rule || s->scored) ? s->score : 0.0;
	*desc = s->desc;
	return true;
}

/* rules_count - rules that can hit */
size_t rules_count(const struct ruleset *rs)
{
	return rs->nrules;
}

/* ---------------------------------------------------------------- eval */

/* addr_part - the address of a From-style value: inside <>, else as is */
static void addr_part(struct buf *out, const char *v, bool want_name)
{
	const char *lt = strrchr(v, '<'), *gt = lt ? strchr(lt, '>') : NULL;

	if (lt && gt) {
		if (want_name) {
			const char *s = v, *e = lt;
			while (s < e && (isspace((unsigned char)*s) || *s == '"'))
				s++;
			while (e > s && (isspace((unsigned char)e[-1]) || e[-1] == '"'))
				e--;
			buf_append(out, s, (size_t)(e - s));
		} else {
			buf_append(out, lt + 1, (size_t)(gt - lt - 1));
		}
		return;
	}
	/* "a@b (Name)" form */
	const char *paren = strchr(v, '(');
	if (want_name) {
		if (paren) {
			const char *close = strchr(paren, ')');
			buf_append(out, paren + 1, close ? (size_t)(close - paren - 1) : strlen(paren + 1));
		}
		return;
	}
	size_t n = paren ? (size_t)(paren - v) : strlen(v);
	while (n > 0 && isspace((unsigned char)v[n - 1]))
		n--;
	buf_append(out, v, n);
}

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

/* header_subject - the text a header rule matches; false if unset */
static bool header_subject(const struct rule *r, const struct msg *m, struct buf *out)
{
	bool all = strcmp(r->header, "ALL") == 0, found = false;

	for (size_t i = 0; i < m->nhdrs; i++) {
		const struct header *h = &m->hdrs[i];
		if (!all && !field_matches(r->header, h->name))
			continue;
		if (found)
			buf_putc(out, '\n');
		found = true;
		if (all) {
			buf_puts(out, h->name);
			buf_puts(out, ": ");
		}
		switch (r->mod) {
		case HDR_VALUE: buf_puts(out, h->value); break;
		case HDR_RAW: buf_puts(out, h->raw); break;
		case HDR_ADDR: addr_part(out, h->value, false); break;
		case HDR_NAME: addr_part(out, h->value, true); break;
		}
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

/* rules_eval - run every rule */
void rules_eval(const struct ruleset *rs, struct scan *sc)
{
	struct msg *m = sc->msg;
	struct buf hb;

	buf_init(&hb);
	for (size_t i = 0; i < rs->nrules; i++) {
		const struct rule *r = &rs->rules[i];
		const struct sym *s = &rs->syms[r->sym];
		const char *subj;
		size_t len, a = 0, b = 0;
		enum re_result res;
		bool hit;
		char detail[DETAIL_MAX + 1] = "";

		switch (r->type) {
		case RULE_EXISTS:
			hit = msg_header_count(m, r->header) > 0;
			if (hit)
				snprintf(detail, sizeof(detail), "%s", r->header);
			break;
		case RULE_HEADER:
			buf_reset(&hb);
			if (!header_subject(r, m, &hb) && r->if_unset)
				buf_puts(&hb, r->if_unset);
			subj = hb.data ? hb.data : "";
			res = re_match(r->re, subj, hb.len, 0, sc->re, &a, &b);
			goto matched;
		case RULE_BODY:
			subj = msg_body_text(m, &len);
			res = re_match(r->re, subj, len, 0, sc->re, &a, &b);
			goto matched;
		case RULE_RAWBODY:
			subj = msg_body_text(m, &len);	/* XXX undecoded until the MIME model */
			res = re_match(r->re, subj, len, 0, sc->re, &a, &b);
			goto matched;
		case RULE_FULL:
			subj = msg_full_text(m, &len);
			res = re_match(r->re, subj, len, 0, sc->re, &a, &b);
		matched:
			if (res == RE_LIMIT || res == RE_ERROR) {
				log_warn("qid=%s rule %s: regex %s, counted as no match",
					 m->qid ? m->qid : "-", s->name,
					 res == RE_LIMIT ? "hit the match limit" : "failed");
				res = RE_NOMATCH;
			}
			hit = (res == RE_MATCH) != r->negate;
			if (res == RE_MATCH && !r->negate)
				detail_of(detail, sizeof(detail), subj, a, b);
			break;
		default:
			hit = false;
		}
		if (hit && strncmp(s->name, "__", 2) != 0)
			scan_add(sc, s->name, s->score, s->desc, detail[0] ? detail : NULL);
	}
	buf_free(&hb);
}
