/*
 * rules.h - the administrator's rule files (SPEC §5, SpamAssassin syntax).
 *
 * A struct ruleset is built once by rules_load, never changed afterwards,
 * and shared read-only by every milter thread (STYLE rule 4).  Matching
 * state is the caller's (per message): regex scratch and the hit list.
 *
 * Supported: header (=~, !~, exists:, [if-unset: X], :raw, :addr, :name,
 * :first, :last in any combination, ALL, ToCc, MESSAGEID), body, rawbody,
 * full, uri, meta (meta.h), eval: (eval.h), score (one or four values,
 * relative in parentheses), describe, tflags (multiple, maxhits=N, nice,
 * nosubject; SpamAssassin's other flags accepted), include,
 * replace_tag/pre/inter/post, replace_rules, replace_start/end, lang
 * (ignored), if/ifplugin/else/endif (`version` is SpamAssassin 4.0.1;
 * plugin(), can(), has() are true for what parapet implements),
 * require_version.  A later definition of a name replaces the earlier,
 * as in SpamAssassin.  Other directives are skipped (diag_skip: counted
 * per reason) or warned about; every problem is reported with file:line.
 */
#ifndef PARAPET_RULES_H
#define PARAPET_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "base/diag.h"

struct hits;
struct msg;
struct re_scratch;
struct rules_auth;
struct ruleset;

/*
 * rules_load - every *.cf in each directory of dirs (separated by white
 * space: vendor rules, then local ones), in name order within each; a
 * file in a later directory replaces the one of the same name in an
 * earlier directory.  NULL if d->errors.
 * builtins (NULL-terminated, may be NULL) names the symbols the pipeline
 * stages set themselves: a rule may not take such a name, meta rules may
 * use them, and score/describe lines weigh them.  The names are borrowed
 * for the life of the rule set (static strings of the descriptors).
 */
struct ruleset *rules_load(const char *dirs, const char *const *builtins, struct diag *d);
/* rules_load_text - one in-memory file (tests, fuzzing); NULL on error */
struct ruleset *rules_load_text(const char *name, const char *text,
				const char *const *builtins,
				struct diag *d);
struct ruleset *rules_free(struct ruleset *rs);

/*
 * rules_load_lists - add the lists file at path (the lists_file key,
 * rules/lists.c) to a set just loaded, before it is shared: "allow from",
 * "block from", "allow auth", "allow ip", "block ip" lines feed the same
 * lists as welcomelist_from, blocklist_from, welcomelist_auth,
 * welcomelist_ip and blocklist_ip lines.  false on any error (file:line
 * in d).  rules_lists_text is the same from memory (tests, fuzzing).
 */
bool rules_load_lists(struct ruleset *rs, const char *path, struct diag *d);
bool rules_lists_text(struct ruleset *rs, const char *name, const char *text, size_t len,
		      struct diag *d);

/* rules_eval - run the rules on message m, adding to hits (whose
 * earlier entries, the stages' symbols, meta rules may refer to); re is
 * the message's regex scratch; auth (may be NULL) what the
 * authentication stages found, for eval tests (rules/eval.h).  A __ rule
 * runs only when a meta needs its value (see rules.c), every rule when
 * hits has a subrules list.  Returns how many non-meta rules ran. */
size_t rules_eval(const struct ruleset *rs, struct msg *m, struct re_scratch *re,
		  struct hits *hits, const struct rules_auth *auth);

/*
 * rules_symbol - score and description of a symbol (a rule or a built-in
 * named in a score line).  false if the files never mention it.  *desc is
 * borrowed from the rule set and may be NULL.
 */
bool rules_symbol(const struct ruleset *rs, const char *name, double *score,
		  const char **desc);
/* rules_subject_tag - TEXT of the last `rewrite_header Subject TEXT`, or NULL */
const char *rules_subject_tag(const struct ruleset *rs);
/*
 * rules_untrusted_ip - the address of the first untrusted relay of the
 * message's Received fields, as the rule set's trusted_networks and
 * internal_networks (or SpamAssassin's inference) split them, in fresh
 * memory; NULL if there is none.  What parapetctl learn counts as the
 * sender's IP.
 */
char *rules_untrusted_ip(const struct ruleset *rs, struct msg *m);
/* where a symbol's evidence comes from, for Bayes autolearning
 * (SpamAssassin's _get_autolearn_testtype and tflags learn) */
enum rules_part {
	RULES_PART_OTHER,	/* meta, full, a built-in, unknown */
	RULES_PART_HEAD,	/* header, exists, header evals */
	RULES_PART_BODY,	/* body, rawbody, uri and their evals */
	RULES_PART_NET,		/* an eval of DNS blocklists, SPF, DKIM, DMARC */
	RULES_PART_LEARN,	/* the classifier's own (eval:check_bayes, tflags learn) */
	RULES_PART_SKIP,	/* tflags noautolearn or userconf: not counted */
};
/* rules_symbol_part - where the rule (or built-in) called name looks:
 * its tflags (noautolearn/userconf, learn, net, autolearn_header/body)
 * first, then its type */
enum rules_part rules_symbol_part(const struct ruleset *rs, const char *name);
/* rules_count - number of rules that can hit (not disabled by score 0) */
size_t rules_count(const struct ruleset *rs);

/*
 * rules_each - call fn for every rule that can run (not disabled by score
 * 0), __ rules included, in file order: its name and its type ("header",
 * "body", "rawbody", "full", "uri", "meta"); parapetctl lint --list-rules
 */
void rules_each(const struct ruleset *rs,
		void (*fn)(const char *name, const char *type, void *ctx), void *ctx);

/* rules_is_builtin - is name one of the built-in symbols (the stages'
 * descriptors, core/stage.h) the set was loaded with? */
bool rules_is_builtin(const struct ruleset *rs, const char *name);

/*
 * rules_set_prefilter - tests and benchmarks, before the set is shared:
 * evaluate with the one-pass prefilter (the default) or run every regex
 * of every rule on its own (the reference the prefilter must equal).
 */
void rules_set_prefilter(struct ruleset *rs, bool on);
/* rules_reads_stats - does a rule of rs that can run read the HTML
 * statistics or the alternatives' word comparison?  When none does, a
 * scan's message leaves them out (msg_no_stats).  false for NULL */
bool rules_reads_stats(const struct ruleset *rs);
/* rules_set_lazy - tests and benchmarks, before the set is shared: off
 * runs every __ rule even when no meta needs it (on by default) */
void rules_set_lazy(struct ruleset *rs, bool on);
/* rules_set_settle - tests and benchmarks, before the set is shared: a
 * __ regex whose run would cost at least from (prefilter_cost: bytes
 * searched) is put off while a scored meta is evaluated over bounds
 * (rules.c, settle); 1: every regex that would run, SIZE_MAX: none (the
 * metas read their operands in order only).  RULES_SETTLE_FROM by
 * default. */
#define RULES_SETTLE_FROM 512
void rules_set_settle(struct ruleset *rs, size_t from);
/* rules_set_no_regex - benchmarks, before the set is shared: every regex
 * rule taken as matching nothing, without running its regex, its text
 * still built and scanned as ever (with the prefilter on) and no regex
 * dear to run: the cost of everything but the regexes themselves.  The
 * verdicts are wrong; a benchmark's floor only. */
void rules_set_no_regex(struct ruleset *rs, bool on);
/* rules_limit - benchmarks, before the set is shared: keep only the first
 * n regex rules (the others disabled) and rebuild the prefilter */
void rules_limit(struct ruleset *rs, size_t n);
/* rules_sample - the same, keeping n of the regex rules drawn at random
 * (the same seed draws the same rules; all of them when n is as many) */
void rules_sample(struct ruleset *rs, size_t n, unsigned long seed);

/* what the prefilter of a set holds (rules_prefilter_info) */
struct rules_pf_info {
	size_t regexes;		/* enabled regex rules */
	size_t distinct;	/* distinct (text, regex, flags): evaluated once */
	size_t prefiltered;	/* of those, in a Vectorscan database */
	size_t squeezed;	/* of those, by literals of the squeezed text */
	size_t ascii;		/* of those, by literals that hold in ASCII texts */
	size_t plain;		/* of those, by squeezed literals that hold in
				 * ASCII texts without '&' */
	size_t lead;		/* of those, with windows from a prefix (rewidth_lead) */
	size_t core;		/* of those, searched first for a core (rewidth_core) */
	size_t head;		/* of those, only after their core's first item (rewidth_head) */
	size_t branched;	/* of those, with a width per literal from the
				 * branches of their pattern or core */
	size_t gated;		/* of those, with a second set of literals the
				 * text must hold one of too (reqlit_find2) */
	size_t runs;		/* with a run of byte classes a plain text (ASCII,
				 * no '&') must hold (reqlit_class_run), or that
				 * cannot match one at all (runs_dead of them) */
	size_t runs_dead;
	size_t span;		/* of the others, searched in runs of their bytes only */
	size_t subspan;		/* of those, in runs of a part's bytes (rewidth_subspan) */
	size_t literals;	/* the prefiltered regexes' literals */
	size_t strings;		/* the distinct strings of those, per database:
				 * what Vectorscan looks for */
	size_t texts;		/* texts scanned: body, rawbody, full, uri, headers */
	size_t db_bytes;	/* the databases */
	size_t scratch_bytes;	/* per message */
	double build_ms;	/* compile time */
};
void rules_prefilter_info(const struct ruleset *rs, struct rules_pf_info *info);

#endif
