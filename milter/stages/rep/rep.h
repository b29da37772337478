/*
 * rep.h - sender reputation and greylisting in Redis (SPEC §3, §5, §6).
 *
 * Five kinds of key per message: the client address (ip), its network
 * (net: IPv4 /24, IPv6 /64), the envelope sender domain (mfrom), the From:
 * header domain (from) and the domain of each valid DKIM signature (dkim).
 * Values are lower-case.  Per message (the "rep" pipeline stage):
 *
 *   eom    one pipelined read (HMGET of every key) -> REP_* symbols, each a
 *          value in [-score, +score] from the key's decayed spam ratio once
 *          it has rep_min_count messages; then, when the score is in
 *          [greylist_score, reject_score), one greylist script call over
 *          the (net, sender, recipient) triplets -> GREYLIST and 451.
 *   after  one script call (EVALSHA) that decays and counts every key,
 *          keeps top:KIND, stats:HOUR and the log stream.
 *
 * Redis down, slow or busy: REDIS_UNAVAILABLE and nothing else; no
 * message waits longer than redis_timeout_ms in total for Redis.
 *
 * The functions below the stage hooks are pure (unit-tested) or the
 * administrator's operations parapetctl and a dashboard share
 * (rep_admin.c).  Time comes from rep_now(), which tests replace.
 */
#ifndef PARAPET_REP_H
#define PARAPET_REP_H

#include <stdbool.h>
#include <stddef.h>

#include "core/scan.h"

struct engine;
struct msg;
struct stage;

enum rep_kind {
	REP_KIND_IP,
	REP_KIND_NET,
	REP_KIND_MFROM,
	REP_KIND_FROM,
	REP_KIND_DKIM,
	REP_NKINDS,
};

#define REP_MAX_DKIM 8
#define REP_MAX_KEYS (REP_NKINDS - 1 + REP_MAX_DKIM)
#define REP_MAX_VALUE 255	/* bytes of a key value (a domain is <= 253) */
#define REP_TOP_MAX 10000	/* members of top:KIND (SPEC §6) */
#define REP_TTL (90L * 86400)	/* rep:KIND:VALUE after its last update */
#define REP_STATS_TTL (30L * 86400)
#define REP_GREY_PASS_TTL (30L * 86400)

/* one key of a message */
struct rep_key {
	enum rep_kind kind;
	char *value;		/* owned, lower-case */
};

struct rep_keys {
	struct rep_key k[REP_MAX_KEYS];
	size_t n;
};

/* rep_kind_name - "ip", "net", "mfrom", "from", "dkim" */
const char *rep_kind_name(enum rep_kind kind);
/* rep_kind_symbol - "REP_IP", ... */
const char *rep_kind_symbol(enum rep_kind kind);
/* rep_kind_parse - kind by name, -1 if none */
int rep_kind_parse(const char *name);

/* ---------------------------------------------------------------- clock */

/* rep_now - unix time in seconds (the test clock when one is set) */
double rep_now(void);
/* rep_set_clock - tests: a function returning unix seconds; NULL: real */
void rep_set_clock(double (*clock)(void));
/* rep_clock_from_env - test hook for the programs: PARAPET_TEST_NOW=T
 * makes the clock start at unix time T and run on from there.  Logs a
 * warning when used; returns whether it was. */
bool rep_clock_from_env(void);

/* ---------------------------------------------------------------- pure */

/* rep_ip_value - canonical lower-case address ("IPv6:" and [] removed,
 * IPv4-mapped IPv6 as IPv4), or NULL if ip is not an address literal */
char *rep_ip_value(const char *ip);
/* rep_net_value - "a.b.c.0/24" or "x:x:x:x::/64", or NULL */
char *rep_net_value(const char *ip);
/* rep_domain_value - lower-case domain of an address or a From: value
 * ("Name <a@B.example>", "a@b (c)"; the first mailbox), or NULL */
char *rep_domain_value(const char *addr);
/* rep_value_normalize - a command-line value for kind, normalized, or
 * NULL if invalid (an address given for net is turned into its network) */
char *rep_value_normalize(enum rep_kind kind, const char *value);
/* rep_decay - count after age seconds with the given half-life */
double rep_decay(double count, double age, double half_life);
/* rep_symbol_value - weight * (spam - ham) / (spam + ham) once spam + ham
 * reaches min_count (within 1%, so decay between back-to-back messages
 * does not keep a key silent); false while silent */
bool rep_symbol_value(double spam, double ham, double weight, long min_count,
		      double *value);
/* rep_keys_of - the keys of a message; dkim: valid DKIM domains */
void rep_keys_of(const struct msg *m, const char *const *dkim, size_t ndkim,
		 struct rep_keys *keys);
/* rep_keys_clear - release the values */
void rep_keys_clear(struct rep_keys *keys);
/* rep_grey_key - "grey:" + SHA-1 of the triplet, into out */
void rep_grey_key(const char *client_ip, const char *mail_from, const char *rcpt,
		  char *out, size_t cap);

/* ---------------------------------------------------------------- stage */

/* rep_stage_eom - reputation read, REP_* symbols, greylisting */
int rep_stage_eom(struct scan *sc, void **state);
/* rep_stage_after - the atomic write of the verdict */
void rep_stage_after(struct scan *sc, void **state, const struct verdict *v);
/* rep_stage_cleanup - per-message state */
void rep_stage_cleanup(struct scan *sc, void *state);
/* rep_stage - the descriptor (core/stage.h; listed in stages/registry.c) */
extern const struct stage rep_stage;

/* ---------------------------------------------------------------- admin */

/* one key as stored, for show/top */
struct rep_entry {
	enum rep_kind kind;
	char *value;
	bool exists;
	double spam, ham;	/* as stored */
	double spam_now, ham_now;	/* decayed to now */
	double seen, first;	/* unix time; 0 if absent */
	long long ttl;		/* seconds; -1 none, -2 no key */
	double symbol;		/* REP_* value it would give now */
	bool counts;		/* past rep_min_count */
};

struct rep_stats_row {
	char hour[16];		/* YYYYMMDDHH (UTC) */
	long long accept, quarantine, tempfail, reject, other;
};

/* one entry of the log stream */
struct rep_log_entry {
	char *id;
	char *field[12];	/* qid ts ip helo mfrom from rcpts score action symbols ms */
};

extern const char *const rep_log_fields[11];

/* All admin calls: 0 on success, -1 with *err (caller frees).  They use
 * the engine's Redis pool with a deadline of at least 2 s. */
int rep_show(struct engine *e, enum rep_kind kind, const char *value,
	     struct rep_entry *out, char **err);
/* rep_top - up to n keys of kind with the highest spam counts */
int rep_top(struct engine *e, enum rep_kind kind, size_t n, struct rep_entry **out,
	    size_t *nout, char **err);
/* rep_set - the key's spam (or ham) count becomes count, the other 0 */
int rep_set(struct engine *e, enum rep_kind kind, const char *value, bool spam,
	    double count, char **err);
/* rep_clear - delete the key and its top:KIND member; *existed */
int rep_clear(struct engine *e, enum rep_kind kind, const char *value, bool *existed,
	      char **err);
/* rep_learn - count every key of keys once as spam or ham */
int rep_learn(struct engine *e, const struct rep_keys *keys, bool spam, char **err);
/* rep_learn_many - rep_learn of n messages' keys in one round trip */
int rep_learn_many(struct engine *e, const struct rep_keys *const *keys, size_t n, bool spam,
		   char **err);
/* rep_learn_keys - keys of a message file: ip (ip_override, else the
 * first untrusted relay of its Received fields, else the top Received
 * field's [address]), net, mfrom (Return-Path), from */
void rep_learn_keys(struct engine *e, const char *data, size_t len,
		    const char *ip_override, struct rep_keys *keys);
/* rep_learn_keys_msg - rep_learn_keys of a parsed message (its envelope
 * sender and client are set from the fields) */
void rep_learn_keys_msg(struct engine *e, struct msg *m, const char *ip_override,
			struct rep_keys *keys);
/* rep_stats - the last `hours` hours, oldest first; each count (and
 * rep_stats_total) stops at LLONG_MAX instead of overflowing */
int rep_stats(struct engine *e, int hours, struct rep_stats_row **rows, char **err);
/* rep_stats_total - the sum of a row's counts, saturated */
long long rep_stats_total(const struct rep_stats_row *row);
/* rep_tail - follow the log stream from start_id ("$": new entries only,
 * "0": from the beginning); fn per entry; stops after count entries
 * (0: never) or when fn returns false */
int rep_tail(struct engine *e, const char *start_id, long count,
	     bool (*fn)(const struct rep_log_entry *entry, void *arg), void *arg, char **err);
/* rep_admin_deadline - an administrator's deadline: redis_timeout_ms,
 * at least 2 s from now */
double rep_admin_deadline(const struct engine *e);
struct redis_batch;
struct redis_val;
/* rep_admin_exec - redis_exec of b with REDIS_SIZE_ADMIN replies; -1
 * with *err (caller frees) */
int rep_admin_exec(struct engine *e, struct redis_batch *b, double deadline,
		   struct redis_val **r, char **err);
/* rep_entry_clear, rep_log_entry_clear - release */
void rep_entry_clear(struct rep_entry *en);
void rep_log_entry_clear(struct rep_log_entry *le);

#endif
