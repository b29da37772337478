/*
 * rules_int.h - private to the rules module, which is four files:
 * rules_pre.c reads files (include, if/else/endif), rules_parse.c parses
 * one directive, rules_link.c settles what needs every file read first
 * (meta names and order, replace_tag, default scores, tflags), rules.c
 * evaluates a rule set and answers lookups.
 * Nothing else includes this header; everyone else sees rules.h.
 */
#ifndef PARAPET_RULES_INT_H
#define PARAPET_RULES_INT_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <stddef.h>

#include "base/diag.h"
#include "base/util.h"
#include "rules/eval.h"
#include "rules/meta.h"
#include "rules/re.h"
#include "rules/rules.h"

#define RULES_MAX_FILE (4 * 1024 * 1024)
/* SpamAssassin reads lines of any length; the longest stock line is
 * 10,366 bytes (72_active.cf, a body rule of 4.0.1).  64 KB leaves room
 * for six times that and still bounds one regex well below the file cap. */
#define RULES_MAX_LINE 65536
#define RULES_MAX_RULES 20000
#define RULES_MAX_NAME 128
#define RULES_MAX_IFDEPTH 32
#define RULES_MAX_INCLUDE 10	/* include nesting */
#define RULES_MAX_HITS 1000	/* tflags multiple: matches counted per rule */
#define RULES_MAX_REPLACE_PASSES 6	/* replace_tag: tags inside tags */

/*
 * The SpamAssassin version parapet's rule language corresponds to, in
 * SpamAssassin's x.yyyzzz form: what `version` is in `if (version >= N)`
 * and what `require_version` must name: 4.0.1, the release whose stock
 * rules (Debian 12's spamassassin package) parapet loads.
 */
#define RULES_SA_VERSION 4.000001
#define RULES_SA_VERSION_STR "4.000001"
/* what `perl_version` is in an if: the Perl of Debian 12, whose regex
 * dialect PCRE2 follows */
#define RULES_PERL_VERSION 5.036000

enum rule_type {
	RULE_HEADER,
	RULE_EXISTS,
	RULE_BODY,
	RULE_RAWBODY,
	RULE_FULL,
	RULE_URI,
	RULE_META,
	RULE_EVAL,		/* eval:fn(args); evtype says where */
};

/* header modifiers, combined as in SpamAssassin's PerMsgStatus::get;
 * none: the value unfolded, trimmed and decoded to UTF-8 */
enum hdr_mod {
	HDR_RAW = 1,		/* as received (with :name: not decoded) */
	HDR_ADDR = 2,		/* every address in it */
	HDR_NAME = 4,		/* every display name in it */
	HDR_FIRST = 8,		/* only the first (topmost) field */
	HDR_LAST = 16,		/* only the last field */
	HDR_MIME = 32,		/* mimeheader: the field of each MIME part
				 * (match_mime), the top's being the message's */
};

struct rule {
	/* first what rules_eval reads of every rule, on every message (one
	 * cache line in most cases: the set's thousands of rules do not stay
	 * in the cache from one message to the next) */
	enum rule_type type;
	bool negate;		/* !~ */
	bool nosubject;		/* body rules: skip the Subject line */
	bool disabled;		/* scored 0: SpamAssassin never runs it */
	unsigned maxhits;	/* 1, or the cap from tflags multiple */
	size_t sym;		/* index into ruleset->syms */
	const struct meta_prog *prog;	/* RULE_META, enabled: in rs->metas */
	struct re *re;
	char *header;		/* header rules: field name or ALL/ToCc/MESSAGEID */
	unsigned mod;		/* enum hdr_mod bits */
	char *if_unset;
	char *pat;		/* regex source and flags (replace_rules) */
	char *flags;
	struct meta_expr *meta;	/* RULE_META */
	struct eval_call call;	/* RULE_EVAL */
	enum rule_type evtype;	/* RULE_EVAL: the type it was defined with */
	/* maxhits, nosubject and disabled are settled by rules_link from
	 * the symbol's tflags and score, prog by rules_eval_prepare */
};

enum sym_kind {
	SYM_NAMED,		/* only named by score/describe/tflags */
	SYM_RULE,		/* a rule of ours */
	SYM_BUILTIN,		/* set by a pipeline stage (rs->builtins) */
	SYM_SKIPPED,		/* defined but not supported (eval:, plugin
				 * directives, inside a false if): reads 0 */
	SYM_BROKEN,		/* its definition had an error (already reported) */
};

struct sym {
	char *name;
	enum sym_kind kind;
	size_t rule;		/* SYM_RULE: index into ruleset->rules */
	double score;
	bool scored;		/* a score line named it */
	char *desc;
	/* tflags (the last line for a name wins, as in SpamAssassin) */
	bool multiple;
	unsigned maxhits;	/* 0: not given */
	bool nice;
	bool nosubject;
	/* autolearn (rules_symbol_part): net, learn, userconf/noautolearn,
	 * autolearn_header/autolearn_body */
	bool tf_net, tf_learn, tf_noautolearn;
	int tf_al_part;		/* 0, or RULES_PART_HEAD/BODY */
	/* where: the definition, the last score and tflags lines (borrowed
	 * from ruleset->files) */
	const char *file;
	int line;
	const char *score_file;
	int score_line;
	const char *tflags_file;
	int tflags_line;
};

struct ruleset {
	struct rule *rules;
	size_t nrules;
	struct sym *syms;	/* sorted by name after rules_link */
	size_t nsyms;
	size_t syms_cap;
	size_t *meta_order;	/* rule indexes of the metas, dependencies first */
	size_t nmeta;
	size_t meta_stack;	/* largest meta_stack_size */
	size_t meta_depth;	/* longest chain of metas naming metas */
	unsigned char *known0;	/* by symbol: known before any rule runs
				 * (rules_eval_prepare) */
	size_t *rule_of;	/* by symbol: syms[k].rule, densely (what a
				 * meta reads of a symbol not yet known) */
	/* what rules_eval runs, in order (rules_eval_prepare): the enabled
	 * non-meta rules, then the enabled metas in meta_order, each list
	 * with the __ rules ([0]) and without them ([1], lazy) */
	struct run_rule *run_rules[2];
	size_t nrun_rules[2];
	struct run_meta *run_metas[2];
	size_t nrun_metas[2];
	struct meta_pack *metas;	/* the programs of run_metas[0], in order */
	/* the enabled __ regex rules (rules_eval_prepare): settled at 0 (1
	 * negated) before the metas run when prefilter_quiet says so */
	struct quiet_rule *quiet;
	size_t nquiet;
	size_t nenabled;	/* rules that can run (rules_count) */
	char **files;		/* every file name read, owned */
	const char **builtins;	/* NULL-terminated copy of the array given to
				 * rules_load; the names are borrowed */
	size_t nfiles;
	struct rules_conf *conf;	/* what eval tests read (eval.h) */
	struct prefilter *prefilter;	/* one-pass candidates (prefilter.c) */
	bool prefilter_off;	/* rules_set_prefilter */
	bool eager;		/* rules_set_lazy(rs, false) */
	bool no_regex;		/* rules_set_no_regex */
	size_t settle_from;	/* rules_set_settle */
	bool reads_stats;	/* rules_reads_stats (rules_eval_prepare) */
	char *subject_tag;	/* rewrite_header Subject TEXT (the last), or NULL */
};

/* a __ regex rule, in what rules_eval reads of it to settle it */
struct quiet_rule {
	size_t slot, sym;	/* its prefilter slot (prefilter_quiet_slot) */
	bool negate;
};

/* a rule rules_eval runs before the metas, in a dense list: a regex rule
 * that counts 0 where prefilter_ready_quiet says so is settled from here,
 * without reading the rule or its slot */
struct run_rule {
	size_t rule, sym;
	size_t slot;		/* prefilter_quiet_slot, for one not negated;
				 * SIZE_MAX: eval_one it */
};

/* a meta rules_eval runs after the rules, in a dense list: its program
 * (the rule's prog) and symbol without the rule */
struct run_meta {
	size_t rule, sym;
	const struct meta_prog *prog;
};

/* replace_tag, replace_pre, replace_inter, replace_post */
enum tag_kind {
	TAG_TAG,
	TAG_PRE,
	TAG_INTER,
	TAG_POST,
};

struct tag {
	enum tag_kind kind;
	char *name;
	char *value;
};

/* one name on a replace_rules line */
struct replace_req {
	char *name;
	const char *file;
	int line;
};

/* what only exists while loading */
struct loader {
	struct ruleset *rs;
	struct diag *d;
	struct tag *tags;	/* later definitions of a name win */
	size_t ntags;
	struct replace_req *reqs;
	size_t nreqs;
	char *replace_start;	/* NULL: "<" */
	char *replace_end;	/* NULL: ">" */
	/* a definition overriding an earlier rule of the same name: the
	 * earlier rule goes once the new one has parsed (rules_parse.c) */
	long replaced;		/* rule index, or -1 */
	const char *replaced_file;
	int replaced_line;
};

/* one file being read; parent is the file that included it */
struct parser {
	struct loader *ld;
	const char *file;	/* interned in ld->rs->files */
	int line;
	int if_depth;		/* open if/ifplugin blocks */
	int skip_depth;		/* depth at which skipping started, 0: none */
	bool skip_file;		/* require_version failed: the rest is skipped */
	char skip_why[96];	/* the condition that started the skipping */
	int skip_line;
	char conds[RULES_MAX_IFDEPTH + 1][96];	/* each open block's condition */
	int include_depth;
	char *real;		/* realpath, NULL for in-memory text */
	const struct parser *parent;
};

/* rules_sym_find - index of a symbol or -1 (linear: loading only) */
long rules_sym_find(const struct ruleset *rs, const char *name);
/* rules_sym_get - the symbol, created (SYM_NAMED) if new; the pointer is
 * valid until the next rules_sym_get */
struct sym *rules_sym_get(struct ruleset *rs, const char *name);
/* rules_remove_rule - take rule i out of the set (its name was defined
 * again, or its regex cannot be used): the last rule moves into slot i */
void rules_remove_rule(struct ruleset *rs, size_t i);
/* rules_rule_clear - release what one rule owns (rules.c) */
void rules_rule_clear(struct rule *r);
/* rules_file - an interned copy of a file name */
const char *rules_file(struct ruleset *rs, const char *name);
/* rules_read_file - a whole regular file of at most RULES_MAX_FILE bytes;
 * NULL and *why (caller frees) on failure (rules_pre.c) */
char *rules_read_file(const char *path, size_t *len, char **why);
/* rules_valid_name - SpamAssassin rule names: word characters */
bool rules_valid_name(const char *s, size_t n);
/* rules_sym_cmp - order of ruleset->syms, for qsort and bsearch */
int rules_sym_cmp(const void *a, const void *b);

/* rules_next_word - split off the next white-space separated word
 * (base/util.c, so the eval modules the parser calls need not call back
 * into it) */
static inline char *rules_next_word(char **p)
{
	return str_next_word(p);
}
/*
 * rules_re_flags - the flags a rule's regex is compiled with: its own,
 * plus m and L for body rules.  SpamAssassin matches a body rule against
 * each line of the body text on its own, so ^ and $ anchor at every line
 * (m), a final $ also after the line's break (L, re.c line_end_dollar);
 * match_count keeps matches inside one line (match.c).
 */
static inline const char *rules_re_flags(const struct rule *r, char *buf, size_t cap)
{
	const char *f = r->flags ? r->flags : "";

	if (r->type != RULE_BODY || strlen(f) + 3 > cap)
		return f;
	snprintf(buf, cap, "%s%sL", f, strchr(f, 'm') ? "" : "m");
	return buf;
}

/* rules_directive - one directive other than include and if/else/endif */
void rules_directive(struct parser *ps, const char *kw, char *args);
/* rules_skipped_line - a line in a false if block: remember the rule
 * name it defines, if any, and tell lint --verbose why it is skipped */
void rules_skipped_line(struct parser *ps, const char *kw, char *args);

/*
 * rules_link - after the last file: resolve and order metas, apply
 * replace_rules, settle scores and tflags, report what is wrong with
 * file:line.  Frees the loader's tables; returns the rule set, or NULL
 * (freed) if ld->d has errors.
 */
struct ruleset *rules_link(struct loader *ld);

/* rules_eval_prepare - what rules_eval reads of the set, once it is
 * linked (and again after rules_limit) */
void rules_eval_prepare(struct ruleset *rs);

#endif
