/*
 * rep_int.h - what rep.c, rep_stage.c and rep_admin.c share: the Lua
 * scripts and how they are called, argument vectors and key names.  Not
 * for the rest of parapet (rep.h is).
 */
#ifndef PARAPET_REP_INT_H
#define PARAPET_REP_INT_H

#include <stddef.h>

#include "base/arena.h"
#include "base/digest.h"
#include "net/redis.h"
#include "stages/rep/rep.h"

struct rep_script {
	const char *name;
	const char *body;
	char sha[DIGEST_SHA1_HEX];	/* set on first use */
};

extern struct rep_script rep_script_write;
extern struct rep_script rep_script_grey;
extern struct rep_script rep_script_set;

/* a growable vector of owned argument strings; or, built by the caller,
 * n borrowed strings of lens[i] bytes (then never rep_args_clear).  The
 * owned strings are carved from pool (set up at the first one: a zeroed
 * rep_args is empty) and released at once by rep_args_clear, not one by
 * one: a message's reputation write has ~30 of them.  Redis gets copies
 * (redis.c formats the command), nothing keeps pointers into pool. */
#define REP_ARGS_LIMIT ((size_t)64 << 20)	/* the pool's backstop */
struct rep_args {
	char **v;
	size_t n, cap;
	const size_t *lens;	/* NULL: NUL-terminated */
	struct arena pool;
};

void rep_args_add(struct rep_args *a, const char *s);
void rep_args_take(struct rep_args *a, char *s);
/* rep_args_addf - one formatted argument (admin paths) */
void rep_args_addf(struct rep_args *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* rep_args_cat - one argument: the strings up to NULL, concatenated */
void rep_args_cat(struct rep_args *a, ...) __attribute__((sentinel));
/* rep_args_int - one argument: "%lld" */
void rep_args_int(struct rep_args *a, long long v);
/* rep_args_secs - one argument: "%.0f" (a time in seconds) */
void rep_args_secs(struct rep_args *a, double v);
void rep_args_clear(struct rep_args *a);

/* rep_script_run - EVALSHA s with args (the first nkeys are KEYS), SCRIPT
 * LOAD and retry on NOSCRIPT; a script error is a failure (-1, *why) */
int rep_script_run(struct redis_pool *p, const struct rep_script *s, size_t nkeys,
		   const struct rep_args *args, double deadline, struct redis_val **reply,
		   const char **why, int *round_trips);

/* rep_script_run_many - ncalls EVALSHAs of s pipelined in one round trip
 * (call i: args[i], its first nkeys[i] are KEYS), the NOSCRIPT ones again
 * after SCRIPT LOAD in one more; -1 only when Redis failed.  *reply: ncalls
 * values (redis_vals_free), a call's own script error a REDIS_T_ERR */
int rep_script_run_many(struct redis_pool *p, const struct rep_script *s, size_t ncalls,
			const size_t *nkeys, const struct rep_args *args, double deadline,
			struct redis_val **reply, const char **why, int *round_trips);

/* rep_counts_of - spam, ham, seen of an HMGET key spam ham seen [...]
 * reply; false for a missing key or anything that is not numbers (a
 * foreign or damaged key) */
bool rep_counts_of(const struct redis_val *r, double *spam, double *ham, double *seen);
/* rep_xread_parse - the entries of an XREAD reply, in order, to fn; *last
 * (owned, replaced) is the last id seen; returns entries passed, and sets
 * *stop when fn returned false.  Malformed parts are skipped. */
size_t rep_xread_parse(const struct redis_val *v,
		       bool (*fn)(const struct rep_log_entry *entry, void *arg), void *arg,
		       char **last, bool *stop);
/* rep_stats_parse - an HGETALL reply of stats:HOUR into row's counts */
void rep_stats_parse(const struct redis_val *v, struct rep_stats_row *row);

/* rep_key_name - PREFIX WHAT:KIND:VALUE, or PREFIX WHAT:KIND for NULL value */
char *rep_key_name(const char *prefix, const char *what, enum rep_kind kind,
		   const char *value);
/* rep_hour - YYYYMMDDHH (UTC) of a unix time */
void rep_hour(double t, char *out, size_t cap);

/* rep_credit_ok - whether the good reputation (a negative REP_* value) of
 * key may lower this message's score: ip, net and dkim always (the
 * connection and a verified signature name them); mfrom only when SPF
 * passed for that very domain; from only when SPF passed or a DKIM
 * signature verified for a domain aligned with it (RFC 7489 §3.1,
 * relaxed).  Reads the spf and dkim stages' results in sc. */
bool rep_credit_ok(const struct scan *sc, const struct rep_key *key);

#define REP_LOG_VALUE_MAX 512	/* bytes of one field of a log entry */

/* rep_log_from - the log entry's from: the addr-spec of the first From
 * field ("Name <a@b>" -> a@b, else the whole value), at most
 * REP_LOG_VALUE_MAX bytes, in fresh memory; "" without a From field */
char *rep_log_from(const struct msg *m);

/* rep_write_args - keys and arguments of the write script for keys (all
 * counted as class "spam", "ham" or "none"), action ("" for none: no
 * stats, no log entry) and the log fields (NULL: none); returns nkeys */
size_t rep_write_args(const struct config *cfg, const struct rep_keys *keys,
		      const char *class, const char *action, double now,
		      const char *const *log_values, struct rep_args *a);

#endif
