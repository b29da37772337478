/*
 * eval.c - the eval: framework (eval.h): the tables of every eval module,
 * argument parsing, and the plugins whose `ifplugin` blocks are read.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "rules/eval.h"
#include "base/util.h"

extern const struct eval_def eval_auth_defs[];
extern const struct eval_def eval_bayes_defs[];
extern const struct eval_def eval_head_defs[];
extern const struct eval_def eval_body_defs[];
extern const struct eval_def eval_html_defs[];
extern const struct eval_def eval_date_defs[];
extern const struct eval_def eval_forged_defs[];
extern const struct eval_def eval_wlbl_defs[];
extern const struct eval_def eval_relay_defs[];
extern const struct eval_def eval_freemail_defs[];
extern const struct conf_directive eval_relay_directives[];
extern const struct conf_directive eval_freemail_directives[];
extern const struct eval_def eval_dns_defs[];
extern const struct conf_directive eval_dns_directives[];
extern const struct eval_prep eval_dns_preps[];

/* every module's evals; a module with none is left out */
static const struct eval_def *const eval_tables[] = {
	eval_auth_defs,
	eval_bayes_defs,
	eval_head_defs,
	eval_body_defs,
	eval_html_defs,
	eval_date_defs,
	eval_forged_defs,
	eval_wlbl_defs,
	eval_relay_defs,
	eval_freemail_defs,
	eval_dns_defs,
	NULL,
};

/* every module's directives */
static const struct conf_directive *const directive_tables[] = {
	eval_relay_directives,
	eval_freemail_directives,
	eval_dns_directives,
	NULL,
};

/* every module's load-time hooks */
static const struct eval_prep *const prep_tables[] = {
	eval_dns_preps,
	NULL,
};

/*
 * The plugins whose ifplugin blocks parapet reads: those whose tests it
 * implements (Check and ReplaceTags are the rule language itself).  A
 * block of a known plugin may still name an eval parapet lacks; that rule
 * is skipped with a warning, like a rule of an unknown plugin.
 */
static const char *const known_plugins[] = {
	"Check", "ReplaceTags", "HeaderEval", "BodyEval", "MIMEEval",
	"HTMLEval", "RelayEval", "FreeMail", "WLBLEval", "URIEval",
	"MIMEHeader", "SPF", "DKIM", "DMARC", "Dmarc", "DNSEval", "URIDNSBL", "Bayes", "ImageInfo",
	NULL,
};

/* eval_find - by name */
const struct eval_def *eval_find(const char *name)
{
	for (size_t t = 0; eval_tables[t]; t++)
		for (const struct eval_def *d = eval_tables[t]; d->name; d++)
			if (strcmp(d->name, name) == 0)
				return d;
	return NULL;
}

/* eval_directive - the lists' directives (eval_wlbl.c), then every
 * module's table */
bool eval_directive(struct rules_conf *c, const char *kw, char *args, const char **err)
{
	if (wlbl_directive(c, kw, args, err))
		return true;
	for (size_t t = 0; directive_tables[t]; t++)
		for (const struct conf_directive *d = directive_tables[t]; d->kw; d++)
			if (strcmp(d->kw, kw) == 0) {
				*err = d->parse(c, args);
				return true;
			}
	return false;
}

/* eval_plugin_known - ifplugin NAME, with or without the package prefix */
bool eval_plugin_known(const char *plugin)
{
	static const char prefix[] = "Mail::SpamAssassin::Plugin::";

	if (strncmp(plugin, prefix, sizeof(prefix) - 1) == 0)
		plugin += sizeof(prefix) - 1;
	for (size_t i = 0; known_plugins[i]; i++)
		if (strcmp(known_plugins[i], plugin) == 0)
			return true;
	return false;
}

/* skip_space - past white space */
static const char *skip_space(const char *p)
{
	while (isspace((unsigned char)*p))
		p++;
	return p;
}

/* parse_arg - one argument: 'x', "x" (no escapes, as SpamAssassin's
 * eval lines use none) or a bare word up to , or ); NULL on error */
static const char *parse_arg(const char **pp, char **out)
{
	const char *p = skip_space(*pp), *s;
	size_t n;

	if (*p == '\'' || *p == '"') {
		char q = *p++;
		s = p;
		while (*p && *p != q)
			p++;
		if (*p != q)
			return "unterminated quoted argument";
		n = (size_t)(p - s);
		p++;
	} else {
		s = p;
		while (*p && *p != ',' && *p != ')' && !isspace((unsigned char)*p))
			p++;
		n = (size_t)(p - s);
		if (n == 0)
			return "empty argument";
	}
	if (n > EVAL_MAX_ARG_LEN)
		return "argument too long";
	*out = xstrndup(s, n);
	*pp = p;
	return NULL;
}

/* eval_parse - fn(args) */
const char *eval_parse(const char *text, struct eval_call *call)
{
	const char *p = skip_space(text), *s = p, *err = NULL;
	char name[128];

	memset(call, 0, sizeof(*call));
	while (isalnum((unsigned char)*p) || *p == '_')
		p++;
	if (p == s || (size_t)(p - s) >= sizeof(name))
		return "expected a function name";
	memcpy(name, s, (size_t)(p - s));
	name[p - s] = '\0';
	p = skip_space(p);
	if (*p == '(') {
		p = skip_space(p + 1);
		while (*p != ')') {
			char *arg;
			if (call->argc == EVAL_MAX_ARGS) {
				err = "too many arguments";
				break;
			}
			if ((err = parse_arg(&p, &arg)) != NULL)
				break;
			call->argv = xrealloc(call->argv, (call->argc + 1) * sizeof(*call->argv));
			call->argv[call->argc++] = arg;
			p = skip_space(p);
			if (*p == ',')
				p = skip_space(p + 1);
			else if (*p != ')') {
				err = "expected , or ) after an argument";
				break;
			}
		}
		if (err == NULL)
			p = skip_space(p + 1);
	}
	if (err == NULL && *p != '\0')
		err = "unexpected text after the call";
	if (err) {
		eval_call_clear(call);
		return err;
	}
	call->def = eval_find(name);
	return NULL;
}

/* eval_prepare - the hook of the call's eval, if any */
const char *eval_prepare(struct rules_conf *c, const char *rule,
			 const struct eval_call *call)
{
	for (size_t t = 0; prep_tables[t]; t++)
		for (const struct eval_prep *p = prep_tables[t]; p->name; p++)
			if (strcmp(p->name, call->def->name) == 0)
				return p->fn(c, rule, call->argc, call->argv);
	return NULL;
}

/* eval_call_clear - release */
void eval_call_clear(struct eval_call *call)
{
	for (size_t i = 0; i < call->argc; i++)
		free(call->argv[i]);
	free(call->argv);
	memset(call, 0, sizeof(*call));
}

/* eval_run - call it */
unsigned eval_run(const struct eval_call *call, const struct eval_env *env)
{
	return call->def->fn(env, call->argc, (const char *const *)call->argv);
}

/* rules_conf_new - empty settings */
struct rules_conf *rules_conf_new(void)
{
	return xcalloc(1, sizeof(struct rules_conf));
}

/* rules_conf_finish - once loaded */
void rules_conf_finish(struct rules_conf *c)
{
	wlbl_conf_finish(c->wlbl);
	dnsbl_conf_finish(c->dnsbl);
	eval_relay_conf_finish(c);
	eval_freemail_conf_finish(c);
}

/* rules_conf_clear - release the settings and the struct */
void rules_conf_clear(struct rules_conf *c)
{
	if (c == NULL)
		return;
	wlbl_conf_free(c->wlbl);
	eval_relay_conf_clear(c);
	eval_freemail_conf_clear(c);
	dnsbl_conf_free(c->dnsbl);
	free(c);
}
