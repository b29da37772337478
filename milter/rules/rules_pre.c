/*
 * rules_pre.c - the files of a rule set and what SpamAssassin calls
 * preprocessing: reading *.cf files, splitting lines, comments, include,
 * if/ifplugin/else/endif.  Each directive is handed to rules_directive
 * (rules_parse.c); rules_link completes the set after the last file.
 *
 * `if` conditions are evaluated with the meta-expression engine: numbers,
 * operators, `version` (RULES_SA_VERSION, SpamAssassin 4.0.1),
 * `perl_version` and `local_tests_only` are understood; plugin(X) and
 * `ifplugin X` are true for the plugins parapet implements
 * (eval_plugin_known), can()/has() for the Conf features it has
 * (conf_feature) and the methods of those plugins; any other name makes
 * the whole condition false with a warning.  A false block is a skip
 * (diag_skip: summarized, listed by lint --verbose), as is every rule
 * inside it.  An if block does not extend past the end of its file,
 * included or not (as in SpamAssassin).  require_version is checked here,
 * as SpamAssassin's preprocessor does.
 *
 * Not thread-safe (one loader per load).  Limits: RULES_MAX_FILE bytes
 * per file, RULES_MAX_LINE per line, RULES_MAX_IFDEPTH nested ifs,
 * RULES_MAX_INCLUDE nested includes; an include loop is an error.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rules/rules_int.h"
#include "base/util.h"

static void parse_text(struct parser *ps, const char *text, size_t len);

/* ---------------------------------------------------------------- include */

/* rules_read_file - whole file, capped; NULL and *why (caller frees) on failure */
char *rules_read_file(const char *path, size_t *len, char **why)
{
	FILE *fp = fopen(path, "r");
	struct stat st;
	struct buf b;
	char chunk[8192];
	size_t n;

	if (fp == NULL) {
		*why = xasprintf("cannot open: %s", strerror(errno));
		return NULL;
	}
	/* a FIFO or a device (include /dev/stdin) would block the load */
	if (fstat(fileno(fp), &st) < 0 || !S_ISREG(st.st_mode)) {
		*why = xstrdup("not a regular file");
		fclose(fp);
		return NULL;
	}
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		buf_append(&b, chunk, n);
		if (b.len > RULES_MAX_FILE) {
			*why = xasprintf("larger than %d bytes", RULES_MAX_FILE);
			fclose(fp);
			buf_free(&b);
			return NULL;
		}
	}
	if (ferror(fp)) {
		*why = xasprintf("cannot read: %s", strerror(errno));
		fclose(fp);
		buf_free(&b);
		return NULL;
	}
	fclose(fp);
	*len = b.len;
	return b.data ? b.data : xstrdup("");
}

/* parse_file - one file on disk; from is the including line or NULL */
static void parse_file(struct loader *ld, const char *path, const struct parser *from)
{
	char *why = NULL;
	size_t len = 0;
	char *text = rules_read_file(path, &len, &why);

	if (text == NULL) {
		if (from)
			diag_error(ld->d, from->file, from->line, "include %s: %s", path, why);
		else
			diag_error(ld->d, path, 0, "%s", why);
		free(why);
		return;
	}
	struct parser ps = {
		.ld = ld,
		.file = rules_file(ld->rs, path),
		.include_depth = from ? from->include_depth + 1 : 0,
		.real = realpath(path, NULL),
		.parent = from,
	};
	parse_text(&ps, text, len);
	free(ps.real);
	free(text);
}

/* parse_include - include FILE, relative to the including file's directory */
static void parse_include(struct parser *ps, char *args)
{
	char *name = str_trim(args), *path;
	const char *slash = strrchr(ps->file, '/');

	if (*name == '\0') {
		diag_error(ps->ld->d, ps->file, ps->line, "include: expected a file name");
		return;
	}
	if (ps->include_depth >= RULES_MAX_INCLUDE) {
		diag_error(ps->ld->d, ps->file, ps->line, "include %s: nested more than %d deep",
			   name, RULES_MAX_INCLUDE);
		return;
	}
	if (name[0] == '/' || slash == NULL)
		path = xstrdup(name);
	else
		path = xasprintf("%.*s/%s", (int)(slash - ps->file), ps->file, name);
	char *real = realpath(path, NULL);
	for (const struct parser *p = ps; real && p; p = p->parent) {
		if (p->real && strcmp(p->real, real) == 0) {
			diag_error(ps->ld->d, ps->file, ps->line,
				   "include %s: include loop (%s is already being read)", name, p->file);
			free(real);
			free(path);
			return;
		}
	}
	free(real);
	parse_file(ps->ld, path, ps);
	free(path);
}

/* ---------------------------------------------------------------- if */

/*
 * conf_feature - can(Mail::SpamAssassin::Conf::NAME): the features of
 * SpamAssassin's Conf.pm parapet has.  True: the syntax or behaviour the
 * feature announces works in parapet (tflags nosubject and nolog, header
 * :first/:last, every :addr/:name result matched, the RFC 5322 address
 * parser, if (local_tests_only), Perl 5.10 regex syntax in PCRE2, the
 * welcomelist/blocklist names of 4.0, metas over rules that may be
 * missing (bug 6558), util_rb_* lists).  False: report templates
 * (_YESNO(..)_), originating_ip_headers, DNS port and query settings,
 * dns_block_rule, capture tags, rules_matching() in metas, subject
 * prefixes, Bayes, :host/:domain/:ip modifiers, compat_* switches.
 */
static bool conf_feature(const char *name)
{
	static const char *const have[] = {
		"feature_bug6558_free", "feature_welcomelist_blocklist",
		"feature_blocklist_welcomelist", "feature_registryboundaries",
		"feature_header_first_last", "feature_header_match_many",
		"feature_header_address_parser", "feature_local_tests_only",
		"perl_min_version_5010000", "has_tflags_nosubject",
		"has_tflags_nolog", NULL,
	};

	for (size_t i = 0; have[i]; i++)
		if (strcmp(have[i], name) == 0)
			return true;
	return false;
}

/*
 * can_method - can(X::Y) and has(X::Y): a Conf feature (conf_feature), or
 * a plugin's has_ flag or method, present when parapet implements the plugin
 * (and, for an eval test's name, that test)
 */
static bool can_method(const char *arg, size_t n)
{
	static const char conf[] = "Mail::SpamAssassin::Conf::";
	char name[160];

	while (n > 0 && isspace((unsigned char)*arg))
		arg++, n--;
	while (n > 0 && isspace((unsigned char)arg[n - 1]))
		n--;
	if (n >= sizeof(name))
		return false;
	memcpy(name, arg, n);
	name[n] = '\0';
	if (strncmp(name, conf, sizeof(conf) - 1) == 0)
		return conf_feature(name + sizeof(conf) - 1);
	char *sep = strstr(name, "::");
	char *last = NULL;
	for (char *p = sep; p; p = strstr(p + 2, "::"))
		last = p;
	if (last == NULL)
		return false;
	*last = '\0';
	if (!eval_plugin_known(name))
		return false;
	/* a method that is an eval test ("has_check_body_length" or
	 * "check_body_length") exists only if parapet implements that test,
	 * so a file's fallback for older SpamAssassins is read instead */
	const char *method = last + 2;
	if (strncmp(method, "has_", 4) == 0 && strncmp(method + 4, "check_", 6) == 0)
		return eval_find(method + 4) != NULL;
	if (strncmp(method, "check_", 6) == 0)
		return eval_find(method) != NULL;
	return true;
}

/*
 * plugin_call - "plugin(X)", "can(X)" or "has(X)" at s: its length (0 if
 * none) and its truth in *value
 */
static size_t plugin_call(const char *s, bool *value)
{
	static const char *const fns[] = { "plugin", "can", "has" };

	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(fns[i]);
		if (strncmp(s, fns[i], n) != 0)
			continue;
		const char *p = s + n;
		while (isspace((unsigned char)*p))
			p++;
		const char *close = *p == '(' ? strchr(p, ')') : NULL;
		if (close == NULL)
			continue;
		const char *arg = p + 1;
		size_t alen = (size_t)(close - arg);
		if (i == 0) {
			char name[160];
			while (alen > 0 && isspace((unsigned char)*arg))
				arg++, alen--;
			while (alen > 0 && isspace((unsigned char)arg[alen - 1]))
				alen--;
			*value = alen < sizeof(name) &&
				 (memcpy(name, arg, alen), name[alen] = '\0', eval_plugin_known(name));
		} else {
			*value = can_method(arg, alen);
		}
		return (size_t)(close + 1 - s);
	}
	return 0;
}

/* the names an if condition may use besides plugin(), can(), has() */
static const struct {
	const char *name;
	double value;
} cond_names[] = {
	{ "version", RULES_SA_VERSION },
	{ "perl_version", RULES_PERL_VERSION },
	{ "local_tests_only", 0.0 },	/* parapet runs its network tests */
};

/* cond_value - truth of an `if` condition (see the top of the file) */
static bool cond_value(struct parser *ps, const char *cond)
{
	size_t nnames = sizeof(cond_names) / sizeof(cond_names[0]);
	double vals[16];
	struct buf b;
	bool ok = true;
	char *err = NULL;
	double v = 0.0;

	buf_init(&b);
	for (const char *p = cond; *p;) {
		size_t n = 0;
		bool value = false;
		if (isalpha((unsigned char)*p) && (p == cond || !isalnum((unsigned char)p[-1])))
			n = plugin_call(p, &value);
		if (n) {
			buf_puts(&b, value ? " 1 " : " 0 ");
			p += n;
		} else {
			buf_putc(&b, *p++);
		}
	}
	struct meta_expr *e = meta_compile(b.data ? b.data : "", &err);
	if (e == NULL) {
		diag_warn(ps->ld->d, ps->file, ps->line,
			  "if %s: cannot evaluate (%s), treated as false, block skipped", cond, err);
		ok = false;
	}
	if (ok && meta_nnames(e) > sizeof(vals) / sizeof(vals[0])) {
		diag_warn(ps->ld->d, ps->file, ps->line,
			  "if %s: too many names, treated as false, block skipped", cond);
		ok = false;
	}
	for (size_t i = 0; ok && i < meta_nnames(e); i++) {
		size_t k = 0;
		while (k < nnames && strcmp(meta_name(e, i), cond_names[k].name) != 0)
			k++;
		if (k == nnames) {
			diag_warn(ps->ld->d, ps->file, ps->line,
				  "if %s: '%s' is not known to parapet, treated as false, block skipped",
				  cond, meta_name(e, i));
			ok = false;
		} else {
			vals[i] = cond_names[k].value;
			meta_bind(e, i, i);
		}
	}
	if (ok) {
		double *stack = xcalloc(meta_stack_size(e) + 1, sizeof(*stack));
		v = meta_eval(e, vals, stack);
		free(stack);
	}
	meta_free(e);
	free(err);
	buf_free(&b);
	return ok && v != 0.0;
}

/* skipping - are lines being skipped (false block, require_version)? */
static bool skipping(const struct parser *ps)
{
	return ps->skip_depth || ps->skip_file;
}

/* skip_from_here - a false condition starts skipping at this depth */
static void skip_from_here(struct parser *ps, const char *why)
{
	ps->skip_depth = ps->if_depth;
	snprintf(ps->skip_why, sizeof(ps->skip_why), "%.90s", why);
	ps->skip_line = ps->line;
	diag_skip(ps->ld->d, ps->file, ps->line, "if/ifplugin block false in parapet",
		  "%s: false in parapet, block skipped", why);
}

/* open_block - if/ifplugin COND */
static void open_block(struct parser *ps, const char *kw, char *args)
{
	struct diag *d = ps->ld->d;
	char *cond = str_trim(args);
	bool value;

	if (++ps->if_depth > RULES_MAX_IFDEPTH) {
		diag_error(d, ps->file, ps->line, "if/ifplugin nested too deep");
		return;
	}
	snprintf(ps->conds[ps->if_depth], sizeof(ps->conds[0]), "%s %s", kw, cond);
	if (skipping(ps))
		return;
	if (*cond == '\0') {
		diag_error(d, ps->file, ps->line, "%s: expected a condition", kw);
		value = false;
	} else if (kw[2] == 'p') {
		value = eval_plugin_known(cond);
	} else {
		value = cond_value(ps, cond);
	}
	if (!value)
		skip_from_here(ps, ps->conds[ps->if_depth]);
}

/* conditional - if/ifplugin/else/endif; true if kw was one of them */
static bool conditional(struct parser *ps, const char *kw, char *args)
{
	struct diag *d = ps->ld->d;

	if (strcmp(kw, "ifplugin") == 0 || strcmp(kw, "if") == 0) {
		open_block(ps, kw, args);
		return true;
	}
	if (strcmp(kw, "else") == 0) {
		if (ps->if_depth == 0) {
			diag_error(d, ps->file, ps->line, "else without if");
		} else if (ps->if_depth > RULES_MAX_IFDEPTH) {
			;	/* already an error */
		} else if (ps->skip_depth == ps->if_depth) {
			ps->skip_depth = 0;
		} else if (ps->skip_depth == 0 && !ps->skip_file) {
			char why[sizeof(ps->conds[0]) + 8];
			snprintf(why, sizeof(why), "else of %s", ps->conds[ps->if_depth]);
			skip_from_here(ps, why);
		}
		return true;
	}
	if (strcmp(kw, "endif") == 0) {
		if (ps->if_depth == 0) {
			diag_error(d, ps->file, ps->line, "endif without if");
			return true;
		}
		if (ps->skip_depth == ps->if_depth)
			ps->skip_depth = 0;
		ps->if_depth--;
		return true;
	}
	return false;
}

/*
 * require_version - SpamAssassin's preprocessor: "@@VERSION@@" (not
 * substituted at install) passes; another version than RULES_SA_VERSION
 * skips the rest of the file with a warning, as SpamAssassin does
 */
static void require_version(struct parser *ps, char *args)
{
	char *v = str_trim(args);

	if (*v == '\0') {
		diag_error(ps->ld->d, ps->file, ps->line, "require_version: expected a version");
		return;
	}
	if (strcmp(v, "@@VERSION@@") == 0 || strcmp(v, RULES_SA_VERSION_STR) == 0)
		return;
	diag_warn(ps->ld->d, ps->file, ps->line,
		  "require_version %s: parapet reads SpamAssassin %s rules; the rest of this file is skipped",
		  v, RULES_SA_VERSION_STR);
	ps->skip_file = true;
	snprintf(ps->skip_why, sizeof(ps->skip_why), "require_version %s", v);
	ps->skip_line = ps->line;
}

/*
 * strip_comment - SpamAssassin's convention: a '#' not preceded by a
 * backslash starts a comment, then every "\#" becomes "#"
 */
static void strip_comment(char *line)
{
	char *o = line;

	for (char *p = line; *p; p++) {
		if (*p == '#' && (p == line || p[-1] != '\\')) {
			*p = '\0';
			break;
		}
	}
	for (char *p = line; *p; p++)
		if (!(*p == '\\' && p[1] == '#'))
			*o++ = *p;
	*o = '\0';
}

/* parse_line - one line: conditionals and include here, the rest in
 * rules_directive */
static void parse_line(struct parser *ps, char *line)
{
	char *args = line, *kw;

	strip_comment(line);
	if ((kw = str_next_word(&args)) == NULL)
		return;
	str_lower(kw);	/* SpamAssassin: keys are case-insensitive, '-' is '_' */
	for (char *p = kw; *p; p++)
		if (*p == '-')
			*p = '_';
	if (conditional(ps, kw, args))
		return;
	if (skipping(ps))
		rules_skipped_line(ps, kw, args);
	else if (strcmp(kw, "include") == 0)
		parse_include(ps, args);
	else if (strcmp(kw, "require_version") == 0)
		require_version(ps, args);
	else
		rules_directive(ps, kw, args);
}

/* parse_text - every line of one file; if blocks do not cross files */
static void parse_text(struct parser *ps, const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		ps->line++;
		if (n > RULES_MAX_LINE) {
			diag_error(ps->ld->d, ps->file, ps->line, "line longer than %d bytes", RULES_MAX_LINE);
		} else if (memchr(p, '\0', n)) {
			diag_error(ps->ld->d, ps->file, ps->line, "NUL byte in line");
		} else {
			char *line = xstrndup(p, n);
			parse_line(ps, line);
			free(line);
		}
		p += n + (nl ? 1 : 0);
	}
	if (ps->if_depth > 0)
		diag_error(ps->ld->d, ps->file, ps->line, "%d if/ifplugin block(s) without endif", ps->if_depth);
}
/* ---------------------------------------------------------------- load */

/* cf_filter - *.cf, no hidden files */
static int cf_filter(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return e->d_name[0] != '.' && n > 3 && strcmp(e->d_name + n - 3, ".cf") == 0;
}

/* new_ruleset - an empty set that knows the stages' built-in names */
static struct ruleset *new_ruleset(const char *const *builtins)
{
	struct ruleset *rs = xcalloc(1, sizeof(*rs));
	size_t n = 0;

	rs->settle_from = RULES_SETTLE_FROM;
	rs->conf = rules_conf_new();
	while (builtins && builtins[n])
		n++;
	rs->builtins = xcalloc(n + 1, sizeof(*rs->builtins));
	for (size_t i = 0; i < n; i++)
		rs->builtins[i] = builtins[i];
	return rs;
}

#define RULES_MAX_DIRS 8

/* masked - a later directory has a file of this name, which replaces it */
static bool masked(struct dirent ***ents, const int *n, int ndirs, int dir, const char *name)
{
	for (int j = dir + 1; j < ndirs; j++)
		for (int k = 0; k < n[j]; k++)
			if (strcmp(ents[j][k]->d_name, name) == 0)
				return true;
	return false;
}

/* rules_load - every *.cf of each directory of dirs (white-space
 * separated, at most RULES_MAX_DIRS), directory by directory, in name
 * order within each; a file of a later directory replaces the file of the
 * same name in an earlier one (vendor rules, then local ones) */
struct ruleset *rules_load(const char *dirs, const char *const *builtins, struct diag *d)
{
	struct dirent **ents[RULES_MAX_DIRS] = { 0 };
	int n[RULES_MAX_DIRS] = { 0 }, ndirs = 0, total = 0;
	char *list = xstrdup(dirs), *save = NULL, *dir[RULES_MAX_DIRS];
	struct loader ld = { .rs = new_ruleset(builtins), .d = d, .replaced = -1 };

	for (char *t = strtok_r(list, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (ndirs == RULES_MAX_DIRS) {
			diag_error(d, t, 0, "more than %d rules directories", RULES_MAX_DIRS);
			break;
		}
		dir[ndirs] = t;
		n[ndirs] = scandir(t, &ents[ndirs], cf_filter, alphasort);
		if (n[ndirs] < 0) {
			diag_error(d, t, 0, "cannot read rules directory: %s", strerror(errno));
			n[ndirs] = 0;
		}
		total += n[ndirs++];
	}
	if (ndirs == 0)
		diag_error(d, dirs, 0, "no rules directory");
	else if (total == 0 && d->errors == 0)
		diag_warn(d, dirs, 0, "no *.cf rule files");
	for (int i = 0; i < ndirs; i++) {
		for (int k = 0; k < n[i]; k++) {
			if (!masked(ents, n, ndirs, i, ents[i][k]->d_name)) {
				char *path = xasprintf("%s/%s", dir[i], ents[i][k]->d_name);
				parse_file(&ld, path, NULL);
				free(path);
			}
		}
	}
	for (int i = 0; i < ndirs; i++) {
		for (int k = 0; k < n[i]; k++)
			free(ents[i][k]);
		free(ents[i]);
	}
	free(list);
	struct ruleset *rs = rules_link(&ld);
	diag_summarize(d, dirs);
	return rs;
}

/* rules_load_text - one in-memory file; includes are relative to name */
struct ruleset *rules_load_text(const char *name, const char *text,
				const char *const *builtins, struct diag *d)
{
	struct loader ld = { .rs = new_ruleset(builtins), .d = d, .replaced = -1 };
	struct parser ps = { .ld = &ld, .file = rules_file(ld.rs, name) };

	parse_text(&ps, text, strlen(text));
	struct ruleset *rs = rules_link(&ld);
	diag_summarize(d, name);
	return rs;
}
