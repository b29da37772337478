/*
 * rules_pre.c - the files of a rule set and what SpamAssassin calls
 * preprocessing: reading *.cf files, splitting lines, comments, include,
 * if/ifplugin/else/endif.  Each directive is handed to rules_directive
 * (rules_parse.c); rules_link completes the set after the last file.
 *
 * `if` conditions are evaluated with the meta-expression engine: numbers,
 * operators and `version` (RULES_SA_VERSION, SpamAssassin 3.4.6) are
 * understood; plugin(), can() and has() are false because parapet loads
 * no SpamAssassin plugins (with a warning); any other name makes the
 * whole condition false with a warning.  An if block does not extend
 * past the end of its file, included or not (as in SpamAssassin).
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

/* read_file - whole file, capped; NULL and *why (caller frees) on failure */
static char *read_file(const char *path, size_t *len, char **why)
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
	char *text = read_file(path, &len, &why);

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

/* plugin_call - length of "plugin(...)", "can (...)" or "has(...)" at s */
static size_t plugin_call(const char *s)
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
		if (close)
			return (size_t)(close + 1 - s);
	}
	return 0;
}

/* cond_value - truth of an `if` condition (see the top of the file) */
static bool cond_value(struct parser *ps, const char *cond)
{
	struct buf b;
	bool plugin_fns = false, ok = true;
	char *err = NULL;
	double version = RULES_SA_VERSION, v = 0.0;

	buf_init(&b);
	for (const char *p = cond; *p;) {
		size_t n = 0;
		if (isalpha((unsigned char)*p) && (p == cond || !isalnum((unsigned char)p[-1])))
			n = plugin_call(p);
		if (n) {
			buf_puts(&b, " 0 ");
			plugin_fns = true;
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
	for (size_t i = 0; ok && i < meta_nnames(e); i++) {
		if (strcmp(meta_name(e, i), "version") != 0) {
			diag_warn(ps->ld->d, ps->file, ps->line,
				  "if %s: '%s' is not known to parapet, treated as false, block skipped",
				  cond, meta_name(e, i));
			ok = false;
		}
	}
	if (ok) {
		double *stack = xcalloc(meta_stack_size(e) + 1, sizeof(*stack));
		v = meta_eval(e, &version, stack);
		free(stack);
		if (plugin_fns)
			diag_warn(ps->ld->d, ps->file, ps->line,
				  "if %s: plugin(), can() and has() are false in parapet (no SpamAssassin plugins); the condition is %s",
				  cond, v != 0.0 ? "true" : "false");
	}
	meta_free(e);
	free(err);
	buf_free(&b);
	return ok && v != 0.0;
}

/* conditional - if/ifplugin/else/endif; true if kw was one of them */
static bool conditional(struct parser *ps, const char *kw, char *args)
{
	struct diag *d = ps->ld->d;

	if (strcmp(kw, "ifplugin") == 0 || strcmp(kw, "if") == 0) {
		if (++ps->if_depth > RULES_MAX_IFDEPTH) {
			diag_error(d, ps->file, ps->line, "if/ifplugin nested too deep");
			return true;
		}
		if (ps->skip_depth)
			return true;
		char *cond = str_trim(args);
		bool value;
		if (*cond == '\0') {
			diag_error(d, ps->file, ps->line, "%s: expected a condition", kw);
			value = false;
		} else if (kw[2] == 'p') {
			diag_warn(d, ps->file, ps->line, "ifplugin %s: treated as false, block skipped", cond);
			value = false;
		} else {
			value = cond_value(ps, cond);
		}
		if (!value)
			ps->skip_depth = ps->if_depth;
		return true;
	}
	if (strcmp(kw, "else") == 0) {
		if (ps->if_depth == 0)
			diag_error(d, ps->file, ps->line, "else without if");
		else if (ps->skip_depth == ps->if_depth)
			ps->skip_depth = 0;
		else if (ps->skip_depth == 0)
			ps->skip_depth = ps->if_depth;
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
/* parse_line - one line: conditionals and include here, the rest in
 * rules_directive */
static void parse_line(struct parser *ps, char *line)
{
	char *args = line, *kw;

	strip_comment(line);
	if ((kw = rules_next_word(&args)) == NULL)
		return;
	str_lower(kw);	/* SpamAssassin: keys are case-insensitive, '-' is '_' */
	for (char *p = kw; *p; p++)
		if (*p == '-')
			*p = '_';
	if (conditional(ps, kw, args))
		return;
	if (ps->skip_depth)
		rules_skipped_line(ps, kw, args);
	else if (strcmp(kw, "include") == 0)
		parse_include(ps, args);
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

	rs->conf = rules_conf_new();
	while (builtins && builtins[n])
		n++;
	rs->builtins = xcalloc(n + 1, sizeof(*rs->builtins));
	for (size_t i = 0; i < n; i++)
		rs->builtins[i] = builtins[i];
	return rs;
}

/* rules_load - every *.cf in dir */
struct ruleset *rules_load(const char *dir, const char *const *builtins, struct diag *d)
{
	struct dirent **ents = NULL;
	struct loader ld = { .rs = new_ruleset(builtins), .d = d };
	int n = scandir(dir, &ents, cf_filter, alphasort);

	if (n < 0) {
		diag_error(d, dir, 0, "cannot read rules directory: %s", strerror(errno));
		return rules_link(&ld);
	}
	if (n == 0)
		diag_warn(d, dir, 0, "no *.cf rule files");
	for (int i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", dir, ents[i]->d_name);
		parse_file(&ld, path, NULL);
		free(path);
		free(ents[i]);
	}
	free(ents);
	return rules_link(&ld);
}

/* rules_load_text - one in-memory file; includes are relative to name */
struct ruleset *rules_load_text(const char *name, const char *text,
				const char *const *builtins, struct diag *d)
{
	struct loader ld = { .rs = new_ruleset(builtins), .d = d };
	struct parser ps = { .ld = &ld, .file = rules_file(ld.rs, name) };

	parse_text(&ps, text, strlen(text));
	return rules_link(&ld);
}
