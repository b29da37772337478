/*
 * eval.h - SpamAssassin's eval: tests, parapet's way.  A rule
 * `header|body|rawbody|full|uri NAME eval:fn(args)` runs a C function
 * from one of the eval modules (rules/eval_<area>.c) instead of a regex;
 * its value is the hit count the function returns.  Settings those
 * functions read (freemail_domains, trusted_networks, ...) come from
 * rule-file directives the modules declare, and live in the rule set's
 * struct rules_conf, read-only once loaded.
 *
 * Adding an eval: write the function in the module of its area, add one
 * line to the module's eval_def table; a new module adds its tables to
 * the lists at the top of eval.c.  doc/HACKING.md has the checklist.
 */
#ifndef PARAPET_EVAL_H
#define PARAPET_EVAL_H

#include <stdbool.h>
#include <stddef.h>

#include "base/cidr.h"

struct buf;
struct hits;
struct relays;
struct msg;

#define EVAL_MAX_ARGS 16
#define EVAL_MAX_ARG_LEN 1024

/* settings of the rule set that eval tests read; each module adds its
 * fields with its prefix and releases them in rules_conf_clear */
struct wlbl_conf;
struct dnsbl_conf;
struct rules_conf {
	struct wlbl_conf *wlbl;	/* eval_wlbl.c: address and host lists */
	/* eval_relay.c: trusted_networks, internal_networks, msa_networks
	 * (a list is configured once its directive appeared, even empty) */
	struct cidr_list relay_trusted, relay_internal, relay_msa;
	bool relay_trusted_set, relay_internal_set, relay_msa_set;
	/* eval_freemail.c: freemail_domains (exact names and wildcards),
	 * freemail_welcomelist; lower case, the exact ones sorted once the
	 * set is linked (eval_freemail_conf_finish) */
	char **freemail_domains, **freemail_wild, **freemail_welcome;
	size_t freemail_ndomains, freemail_nwild, freemail_nwelcome;
	/* eval_relay.c: util_rb_2tld, util_rb_3tld (RegistryBoundaries'
	 * two- and three-level public suffixes), lower case, sorted once
	 * the set is linked (eval_relay_conf_finish) */
	char **rb2, **rb3;
	size_t nrb2, nrb3;
	struct dnsbl_conf *dnsbl;	/* eval_dns.c: DNS blocklists */
};

/*
 * DNS blocklists (eval_dns.c).  Loading the rule set collects every zone
 * its check_rbl, check_rbl_txt and urirhssub/urirhsbl lines ask
 * (rules_rbl_zones); the dnsbl stage asks them and hands the answers back
 * through struct rules_rbl, which the evals read.
 */
enum rbl_kind {
	RBL_IP,			/* the client IP, reversed, under the zone */
	RBL_DOMAIN,		/* registrable domains of URIs, From, HELO ... */
};

/* one zone the rule set asks */
struct rbl_zone {
	const char *zone;	/* lower case, no trailing dot */
	int rrtype;		/* DNS_T_A or DNS_T_TXT (net/dns.h) */
	enum rbl_kind kind;
};

/* the records one lookup got: A as dotted quads, TXT as text; refusals
 * (127.255.255.x) already taken out by the stage */
struct rbl_answer {
	size_t zone;		/* index into rules_rbl_zones */
	const char *item;	/* the IP or domain looked up */
	const char *where;	/* domains: "uri", "from", "helo" ...; else NULL */
	const char *const *values;
	size_t n;
};

struct rules_rbl {
	const struct rbl_answer *v;
	size_t n;
};

/* rules_auth - what the authentication stages found, for the evals that
 * need it (welcomelist_auth): SPF of the envelope sender, the d= of
 * every valid DKIM signature */
struct rules_auth {
	int spf_mfrom;		/* enum auth_result (mail/auth.h) */
	const char *const *dkim_valid;
	size_t ndkim_valid;
	const struct rules_rbl *rbl;	/* DNS blocklist answers, or NULL */
	/* the bayes stage's spam probability, when it voted (check_bayes) */
	bool bayes_valid;
	double bayes_prob;
};

/* what an eval function sees: one message, the settings, and the symbols
 * earlier stages added (SPF_PASS, DKIM_VALID, ...) */
/* what several eval tests of one message compute once (rules_eval's,
 * for that message only) */
struct eval_cache {
	bool date_diff_set;
	long long date_diff;	/* check_for_shifted_date's date_diff */
	bool upper_set;		/* check_for_uppercase's counts (eval_body.c) */
	size_t upper_len, upper_lower, upper_upper;
	int hotmail;		/* hotmail_check's answer + 1; 0 not yet */
};

struct eval_env {
	struct msg *m;
	const struct rules_conf *conf;
	const struct hits *hits;
	const struct rules_auth *auth;	/* may be NULL: nothing known */
	char *detail;		/* where an eval may say why it hit (may be
				 * NULL); detail_cap bytes with the NUL */
	size_t detail_cap;
	struct eval_cache *cache;	/* may be NULL: nothing kept */
};

/* an eval function: how many times the test hit (0: no hit) */
typedef unsigned (*eval_fn)(const struct eval_env *env, size_t argc,
			    const char *const *argv);

/* where an eval may appear: the rule type it is defined with */
enum {
	EVAL_HEADER = 1,
	EVAL_BODY = 2,
	EVAL_RAWBODY = 4,
	EVAL_FULL = 8,
	EVAL_URI = 16,
	EVAL_ANY = 31,
};

struct eval_def {
	const char *name;	/* "check_freemail_from" */
	unsigned types;		/* EVAL_* mask */
	unsigned min_args, max_args;
	eval_fn fn;
};

/* a rule-file directive an eval module consumes; parse returns NULL or
 * an error message (a static string) */
struct conf_directive {
	const char *kw;
	const char *(*parse)(struct rules_conf *c, char *args);
};

/* a load-time hook of an eval: the rule named rule calls it with argv;
 * records what the rule set needs (the DNS zones to ask).  NULL or an
 * error message (static) */
struct eval_prep {
	const char *name;	/* the eval's name */
	const char *(*fn)(struct rules_conf *c, const char *rule, size_t argc,
			  char *const *argv);
};

/* one parsed eval: call (owned by the rule) */
struct eval_call {
	const struct eval_def *def;
	size_t argc;
	char **argv;
};

/* eval_reads_stats - does eval d read msg_html_stats or msg_mime_madiff
 * (what msg_no_stats leaves out)? */
bool eval_reads_stats(const struct eval_def *d);
/* eval_find - the eval called name, or NULL if parapet has none */
const struct eval_def *eval_find(const char *name);
/*
 * eval_directive - a directive of an eval module: false if kw is none;
 * else *err is NULL or what is wrong with the line (static)
 */
bool eval_directive(struct rules_conf *c, const char *kw, char *args, const char **err);
/* eval_builtin_of - the built-in symbol of a stage an eval answers from
 * (eval_auth.c), or NULL: a rule of that name calling it is the built-in */
const char *eval_builtin_of(const char *eval);
/* eval_plugin_known - is an `ifplugin NAME` block read?  True for the
 * SpamAssassin plugins whose tests parapet implements ("HTMLEval" or
 * "Mail::SpamAssassin::Plugin::HTMLEval") */
bool eval_plugin_known(const char *plugin);

/*
 * eval_parse - "fn('a', "b", 3)" (after "eval:") into call; NULL on
 * success, else an error message (static).  An eval that parapet does not
 * implement is not an error here: call->def stays NULL.
 */
const char *eval_parse(const char *text, struct eval_call *call);
/* eval_prepare - the load-time hook of call's eval, if it has one: NULL
 * or an error message (static) */
const char *eval_prepare(struct rules_conf *c, const char *rule,
			 const struct eval_call *call);
/* eval_call_clear - release the arguments */
void eval_call_clear(struct eval_call *call);
/* eval_run - the hit count of call on env's message */
unsigned eval_run(const struct eval_call *call, const struct eval_env *env);

/* helpers the modules share (eval_util.c; it calls no module back) */
/*
 * eval_get - SpamAssassin's $pms->get(name) of a plain header: every field
 * called name, unfolded as its header() does (CR dropped, a line break
 * and the blanks after it one space, trimmed), each ending in "\n";
 * appended to out (nothing when there is none)
 */
void eval_get(const struct msg *m, const char *name, struct buf *out);
/*
 * eval_num - an eval's numeric argument as Perl reads a string: strtod's
 * leading number ("0400" is 400, "0.5x" 0.5, "x" 0).  Digits with at most
 * one point, 15 digits at most, are read at once: the integer of the
 * digits divided by the power of ten, one correctly rounded division of
 * two exact doubles, is strtod's double (the stock rules' 20-odd numeric
 * evals read their arguments each message: strtod cost 1.1% of a
 * message's instructions)
 */
double eval_num(const char *s);
/*
 * eval_envelope_from - SpamAssassin's EnvelopeFrom address:
 * the MTA's sender, else the relays' or the headers' guess; "" if unknown
 */
void eval_envelope_from(const struct eval_env *env, struct buf *out);
/* eval_addr - SpamAssassin's get('NAME:addr') in scalar context: the first
 * address of the fields called name (EnvelopeFrom too), "" if none */
void eval_addr(const struct eval_env *env, const char *name, struct buf *out);

/* eval_re_search - does the Perl regex pattern (flags "i", "m" ...) match
 * subj?  *start and *end (may be NULL) bound the first match.  Compiled
 * for this call: for patterns built from the message */
bool eval_re_search(const char *pattern, const char *flags, const char *subj, size_t len,
		    size_t *start, size_t *end);
/* eval_words_add - a directive's words (lower case) appended to a
 * list of at most max; wild_only / plain_only keep only the words with
 * (without) a * or ?.  NULL, or the error when the list is full */
const char *eval_words_add(char ***list, size_t *n, size_t max, char *args, bool wild_only,
			   bool plain_only);
/* eval_re_fixed - eval_re_search for a pattern of the code or of the
 * rule set, not built from a message: compiled (and JIT-compiled) once
 * for the process and kept, so a test that runs it on every message
 * pays the compile once (eval_util.c, RE_FIXED_MAX patterns) */
bool eval_re_fixed(const char *pattern, const char *flags, const char *subj, size_t len,
		   size_t *start, size_t *end);

/* the modules' parts of rules_conf_clear */
void eval_relay_conf_clear(struct rules_conf *c);
void eval_freemail_conf_clear(struct rules_conf *c);
/* eval_relay_conf_finish - sort the registry boundaries for lookups */
void eval_relay_conf_finish(struct rules_conf *c);
/* eval_freemail_conf_finish - sort the exact lists for lookups */
void eval_freemail_conf_finish(struct rules_conf *c);
/* eval_relays - the message's relays split by the rule set's networks */
const struct relays *eval_relays(const struct eval_env *env);

struct rules_conf *rules_conf_new(void);
/* rules_conf_finish - once every file is read (sorting, indexes) */
void rules_conf_finish(struct rules_conf *c);
void rules_conf_clear(struct rules_conf *c);

/* eval_dns.c */
struct ruleset;
void dnsbl_conf_finish(struct dnsbl_conf *d);
void dnsbl_conf_free(struct dnsbl_conf *d);
/* rules_rbl_zones - every zone the rule set asks, *n of them; borrowed */
const struct rbl_zone *rules_rbl_zones(const struct ruleset *rs, size_t *n);
/* rules_rbl_max_domains - uridnsbl_max_domains: distinct registrable
 * domains looked up per message (SpamAssassin's default 20) */
unsigned rules_rbl_max_domains(const struct ruleset *rs);
/* rules_rbl_skip_domain - is domain (lower case) in uridnsbl_skip_domain? */
bool rules_rbl_skip_domain(const struct ruleset *rs, const char *domain);
/* rbl_ip_name - the query name of ip under zone: IPv4 octets reversed,
 * IPv6 as 32 reversed nibbles ("1.0.0.127.zone"); false if ip is no
 * address or the name would not fit cap */
bool rbl_ip_name(const char *ip, const char *zone, char *out, size_t cap);
/* rbl_ip_public - not loopback, private, link-local (worth a query) */
bool rbl_ip_public(const char *ip);
#define RBL_MAX_RELAY_IPS 9	/* SpamAssassin's num_check_received */
struct msg;
/* rules_rbl_relay_ips - the IPs the check_rbl sets of rs ask about for m:
 * the client IP (unless in trusted_networks) and every untrusted or
 * external relay's from Received, public, distinct, newest first, at
 * most RBL_MAX_RELAY_IPS per kind; borrowed from m.  Returns how many */
size_t rules_rbl_relay_ips(const struct ruleset *rs, struct msg *m, const char **out,
			   size_t cap);

/* eval_head.c: eval_charset_caps_fp - a charset name (s..e) whose
 * text reads as capitals (SpamAssassin's CHARSETS_LIKELY_TO_FP_AS_CAPS) */
bool eval_charset_caps_fp(const char *s, const char *e);

/* eval_wlbl.c */
bool wlbl_directive(struct rules_conf *c, const char *kw, char *args, const char **err);
void wlbl_conf_finish(struct wlbl_conf *w);
/* wlbl_add - one entry into the list of SpamAssassin's conf name
 * (welcomelist_from, blocklist_from, welcomelist_auth, or parapet's
 * welcomelist_ip, blocklist_ip: an address or CIDR network); NULL or an
 * error message (static).  The lists file (rules/lists.c) calls it. */
const char *wlbl_add(struct rules_conf *c, const char *list, const char *entry);
/* wlbl_glob_match - SpamAssassin's address glob (* any run, ? one byte)
 * over a lower-case address; the policy file's lists use it too */
bool wlbl_glob_match(const char *glob, const char *addr);
void wlbl_conf_free(struct wlbl_conf *w);

#endif
