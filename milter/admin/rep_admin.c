/*
 * rep_admin.c - the administrator's reputation operations (SPEC §2:
 * parapetctl rep show/top/set/clear, learn, tail, stats), kept in the
 * engine library so that a dashboard reuses them.  Each call takes the
 * engine's Redis pool and a deadline of at least 2 s (a person is
 * waiting, not a message), and writes through the same scripts as the
 * milter, so parapetctl and parapet never disagree on the schema.
 * No state of its own; as thread-safe as the pool.
 */
#include "autoconfig.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine.h"
#include "core/mboxfile.h"
#include "net/redis.h"
#include "stages/rep/rep.h"
#include "stages/rep/rep_int.h"
#include "rules/rules.h"
#include "core/scan.h"
#include "base/util.h"

#define ADMIN_MIN_MS 2000.0
#define TAIL_BLOCK_MS "1000"
#define TAIL_BATCH "100"

/* rep_admin_deadline - redis_timeout_ms, but at least ADMIN_MIN_MS */
double rep_admin_deadline(const struct engine *e)
{
	double t = (double)e->cfg->redis_timeout_ms;
	return now_ms() + (t > ADMIN_MIN_MS ? t : ADMIN_MIN_MS);
}

/* need_redis - the engine has a pool, else *err */
static int need_redis(const struct engine *e, char **err)
{
	if (e->redis)
		return 0;
	*err = xasprintf("%s: no redis or redis_sentinels configured",
			 e->cfg->path ? e->cfg->path : "(defaults)");
	return -1;
}

/* rep_admin_exec - redis_exec with an error string; an administrator's
 * replies may be larger than a message's (redis.h: REDIS_SIZE_ADMIN) */
int rep_admin_exec(struct engine *e, struct redis_batch *b, double deadline,
		   struct redis_val **r, char **err)
{
	const char *why;

	b->size = REDIS_SIZE_ADMIN;
	if (redis_exec(e->redis, b, deadline, r, &why, NULL) < 0) {
		*err = xasprintf("redis %s: %s", redis_pool_describe(e->redis), why);
		return -1;
	}
	return 0;
}

/* normalized - the key value for kind, else *err */
static char *normalized(enum rep_kind kind, const char *value, char **err)
{
	char *v = rep_value_normalize(kind, value);

	if (v == NULL || strlen(v) > REP_MAX_VALUE) {
		*err = xasprintf("'%s' is not a valid %s value", value, rep_kind_name(kind));
		free(v);
		return NULL;
	}
	return v;
}

/* fill_entry - from an HMGET spam ham seen first reply */
static void fill_entry(const struct engine *e, struct rep_entry *en, const struct redis_val *r)
{
	double spam, ham, seen, w = 0;
	const char *desc;

	if (!rep_counts_of(r, &spam, &ham, &seen))
		return;
	en->exists = true;
	en->spam = spam;
	en->ham = ham;
	en->seen = seen;
	if (r->n >= 4)
		redis_val_number(&r->elem[3], &en->first);
	double now = rep_now();
	en->spam_now = rep_decay(spam, now - seen, (double)e->cfg->rep_half_life);
	en->ham_now = rep_decay(ham, now - seen, (double)e->cfg->rep_half_life);
	rules_symbol(e->rules, rep_kind_symbol(en->kind), &w, &desc);
	en->counts = rep_symbol_value(en->spam_now, en->ham_now, w, e->cfg->rep_min_count,
				      &en->symbol);
}

/* rep_show - one key */
int rep_show(struct engine *e, enum rep_kind kind, const char *value, struct rep_entry *out,
	     char **err)
{
	struct redis_batch b;
	struct redis_val *r;
	char *v, *key;

	memset(out, 0, sizeof(*out));
	out->kind = kind;
	out->ttl = -2;
	if (need_redis(e, err) < 0 || (v = normalized(kind, value, err)) == NULL)
		return -1;
	out->value = v;
	key = rep_key_name(e->cfg->redis_prefix, "rep", kind, v);
	redis_batch_init(&b);
	redis_batch_add(&b, "HMGET", key, "spam", "ham", "seen", "first", NULL);
	redis_batch_add(&b, "TTL", key, NULL);
	free(key);
	int rc = rep_admin_exec(e, &b, rep_admin_deadline(e), &r, err);
	redis_batch_free(&b);
	if (rc < 0) {
		rep_entry_clear(out);	/* the caller clears only on success */
		return -1;
	}
	fill_entry(e, out, &r[0]);
	if (r[1].type == REDIS_T_INT)
		out->ttl = r[1].integer;
	redis_vals_free(r, 2);
	return 0;
}

/* rep_top - ZREVRANGE, then the keys' counts: two round trips */
int rep_top(struct engine *e, enum rep_kind kind, size_t n, struct rep_entry **out,
	    size_t *nout, char **err)
{
	struct redis_batch b;
	struct redis_val *r;
	char stop[32], *key;
	double deadline = rep_admin_deadline(e);

	*out = NULL;
	*nout = 0;
	if (need_redis(e, err) < 0)
		return -1;
	if (n == 0)
		return 0;
	if (n > REP_TOP_MAX)
		n = REP_TOP_MAX;
	snprintf(stop, sizeof(stop), "%zu", n - 1);
	key = rep_key_name(e->cfg->redis_prefix, "top", kind, NULL);
	redis_batch_init(&b);
	redis_batch_add(&b, "ZREVRANGE", key, "0", stop, NULL);
	free(key);
	int rc = rep_admin_exec(e, &b, deadline, &r, err);
	redis_batch_free(&b);
	if (rc < 0)
		return -1;
	size_t m = 0;
	struct rep_entry *en = NULL;
	if (r[0].type == REDIS_T_ARRAY && r[0].n > 0) {
		en = xcalloc(r[0].n, sizeof(*en));
		redis_batch_init(&b);
		for (size_t i = 0; i < r[0].n && i < n; i++) {
			const struct redis_val *mv = &r[0].elem[i];
			if (mv->type != REDIS_T_STR || strlen(mv->str) != mv->len)
				continue;
			en[m].kind = kind;
			en[m].value = xstrdup(mv->str);
			en[m].ttl = -2;
			key = rep_key_name(e->cfg->redis_prefix, "rep", kind, mv->str);
			redis_batch_add(&b, "HMGET", key, "spam", "ham", "seen", "first", NULL);
			free(key);
			m++;
		}
		struct redis_val *r2 = NULL;
		if (m > 0 && rep_admin_exec(e, &b, deadline, &r2, err) < 0) {
			redis_batch_free(&b);
			for (size_t i = 0; i < m; i++)
				rep_entry_clear(&en[i]);
			free(en);
			redis_vals_free(r, 1);
			return -1;
		}
		for (size_t i = 0; i < m; i++)
			fill_entry(e, &en[i], &r2[i]);
		redis_vals_free(r2, m);
		redis_batch_free(&b);
	}
	redis_vals_free(r, 1);
	*out = en;
	*nout = m;
	return 0;
}

/* rep_set - a key's counts by hand */
int rep_set(struct engine *e, enum rep_kind kind, const char *value, bool spam, double count,
	    char **err)
{
	struct rep_args a = { 0 };
	struct redis_val *r;
	const char *why;
	char *v;

	if (need_redis(e, err) < 0 || (v = normalized(kind, value, err)) == NULL)
		return -1;
	if (!(count >= 0) || count > 1e9) {
		*err = xasprintf("count %g out of range (0 to 1e9)", count);
		free(v);
		return -1;
	}
	rep_args_take(&a, rep_key_name(e->cfg->redis_prefix, "rep", kind, v));
	rep_args_take(&a, rep_key_name(e->cfg->redis_prefix, "top", kind, NULL));
	rep_args_addf(&a, "%.0f", rep_now());
	rep_args_addf(&a, "%.6f", spam ? count : 0.0);
	rep_args_addf(&a, "%.6f", spam ? 0.0 : count);
	rep_args_addf(&a, "%ld", REP_TTL);
	rep_args_addf(&a, "%d", REP_TOP_MAX);
	rep_args_add(&a, v);
	int rc = rep_script_run(e->redis, &rep_script_set, 2, &a, rep_admin_deadline(e), &r, &why,
				NULL);
	rep_args_clear(&a);
	free(v);
	if (rc < 0) {
		*err = xasprintf("redis %s: %s", redis_pool_describe(e->redis), why);
		return -1;
	}
	redis_vals_free(r, 1);
	return 0;
}

/* rep_clear - DEL and ZREM in one round trip */
int rep_clear(struct engine *e, enum rep_kind kind, const char *value, bool *existed,
	      char **err)
{
	struct redis_batch b;
	struct redis_val *r;
	char *v, *key, *top;

	*existed = false;
	if (need_redis(e, err) < 0 || (v = normalized(kind, value, err)) == NULL)
		return -1;
	key = rep_key_name(e->cfg->redis_prefix, "rep", kind, v);
	top = rep_key_name(e->cfg->redis_prefix, "top", kind, NULL);
	redis_batch_init(&b);
	redis_batch_add(&b, "DEL", key, NULL);
	redis_batch_add(&b, "ZREM", top, v, NULL);
	free(key);
	free(top);
	free(v);
	int rc = rep_admin_exec(e, &b, rep_admin_deadline(e), &r, err);
	redis_batch_free(&b);
	if (rc < 0)
		return -1;
	*existed = (r[0].type == REDIS_T_INT && r[0].integer > 0) ||
		   (r[1].type == REDIS_T_INT && r[1].integer > 0);
	redis_vals_free(r, 2);
	return 0;
}

/* rep_learn - the write script with no stats and no log entry */
int rep_learn(struct engine *e, const struct rep_keys *keys, bool spam, char **err)
{
	return rep_learn_many(e, &keys, 1, spam, err);
}

/* rep_learn_many - see rep.h: one write script call per message that has
 * keys, pipelined */
int rep_learn_many(struct engine *e, const struct rep_keys *const *keys, size_t n, bool spam,
		   char **err)
{
	struct rep_args *a = xcalloc(n ? n : 1, sizeof(*a));
	size_t *nkeys = xcalloc(n ? n : 1, sizeof(*nkeys));
	struct redis_val *r;
	const char *why;
	size_t k = 0;
	int rc = 0;

	if (need_redis(e, err) < 0) {
		free(a);
		free(nkeys);
		return -1;
	}
	double now = rep_now();
	for (size_t i = 0; i < n; i++)
		if (keys[i]->n > 0) {
			nkeys[k] = rep_write_args(e->cfg, keys[i], spam ? "spam" : "ham", "", now,
						  NULL, &a[k]);
			k++;
		}
	if (k > 0 && rep_script_run_many(e->redis, &rep_script_write, k, nkeys, a,
					 rep_admin_deadline(e), &r, &why, NULL) < 0) {
		*err = xasprintf("redis %s: %s", redis_pool_describe(e->redis), why);
		rc = -1;
	} else if (k > 0) {
		for (size_t i = 0; i < k && rc == 0; i++)
			if (r[i].type == REDIS_T_ERR) {
				*err = xasprintf("redis %s: script error",
						 redis_pool_describe(e->redis));
				rc = -1;
			}
		redis_vals_free(r, k);
	}
	for (size_t i = 0; i < k; i++)
		rep_args_clear(&a[i]);
	free(a);
	free(nkeys);
	return rc;
}

/* received_ip - the first [address] of the top Received field's from
 * clause (RFC 5321 §4.4: "from HOST (HELO [ADDR])") */
static char *received_ip(const struct msg *m)
{
	const struct header *h = msg_header(m, "Received", 0);
	const char *p, *by;

	if (h == NULL)
		return NULL;
	by = strstr(h->value, " by ");
	for (p = strchr(h->value, '['); p && (by == NULL || p < by); p = strchr(p + 1, '[')) {
		char *ip = rep_ip_value(p);
		if (ip)
			return ip;
	}
	return NULL;
}

/* rep_learn_keys - ip, net, mfrom, from of a message file */
void rep_learn_keys(struct engine *e, const char *data, size_t len, const char *ip_override,
		    struct rep_keys *keys)
{
	struct scan *sc = scan_new(e);

	sc->offline = true;
	mboxfile_feed(sc, data, len);
	rep_learn_keys_msg(e, sc->msg, ip_override, keys);
	scan_free(sc);
}

/* rep_learn_keys_msg - see rep.h */
void rep_learn_keys_msg(struct engine *e, struct msg *m, const char *ip_override,
			struct rep_keys *keys)
{
	const struct header *rp;
	char *ip;

	/* the first untrusted relay (trusted_networks, internal_networks),
	 * else the top Received field's address */
	ip = ip_override ? rep_ip_value(ip_override) : rules_untrusted_ip(e->rules, m);
	if (ip == NULL && ip_override == NULL)
		ip = received_ip(m);
	if ((rp = msg_header(m, "Return-Path", 0)) != NULL)
		msg_set_from(m, rp->value);
	msg_set_client(m, ip, NULL, NULL);
	rep_keys_of(m, NULL, 0, keys);
	free(ip);
}

/* add_saturated - *acc += c (both >= 0), stopping at LLONG_MAX: a
 * damaged or hostile hash must not overflow a count (issue 12) */
static void add_saturated(long long *acc, long long c)
{
	*acc = c > LLONG_MAX - *acc ? LLONG_MAX : *acc + c;
}

/* rep_stats_parse - HGETALL field/value pairs into the row */
void rep_stats_parse(const struct redis_val *v, struct rep_stats_row *row)
{
	if (v->type != REDIS_T_ARRAY)
		return;
	for (size_t i = 0; i + 1 < v->n; i += 2) {
		double d;
		if (!redis_val_number(&v->elem[i + 1], &d) || d < 0 || d > 9e18)
			continue;
		long long c = (long long)d;
		if (redis_val_is(&v->elem[i], "accept"))
			add_saturated(&row->accept, c);
		else if (redis_val_is(&v->elem[i], "quarantine"))
			add_saturated(&row->quarantine, c);
		else if (redis_val_is(&v->elem[i], "tempfail"))
			add_saturated(&row->tempfail, c);
		else if (redis_val_is(&v->elem[i], "reject"))
			add_saturated(&row->reject, c);
		else
			add_saturated(&row->other, c);
	}
}

/* rep_stats_total - see rep.h */
long long rep_stats_total(const struct rep_stats_row *row)
{
	long long t = 0;

	add_saturated(&t, row->accept);
	add_saturated(&t, row->quarantine);
	add_saturated(&t, row->tempfail);
	add_saturated(&t, row->reject);
	add_saturated(&t, row->other);
	return t;
}

/* rep_stats - one HGETALL per hour, pipelined */
int rep_stats(struct engine *e, int hours, struct rep_stats_row **rows, char **err)
{
	struct redis_batch b;
	struct redis_val *r;
	double now = rep_now();

	*rows = NULL;
	if (need_redis(e, err) < 0)
		return -1;
	if (hours < 1 || hours > 24 * 30) {
		*err = xasprintf("hours must be 1 to %d (stats expire after 30 days)", 24 * 30);
		return -1;
	}
	struct rep_stats_row *out = xcalloc((size_t)hours, sizeof(*out));
	redis_batch_init(&b);
	for (int i = 0; i < hours; i++) {
		rep_hour(now - 3600.0 * (hours - 1 - i), out[i].hour, sizeof(out[i].hour));
		char *key = xasprintf("%sstats:%s", e->cfg->redis_prefix, out[i].hour);
		redis_batch_add(&b, "HGETALL", key, NULL);
		free(key);
	}
	int rc = rep_admin_exec(e, &b, rep_admin_deadline(e), &r, err);
	redis_batch_free(&b);
	if (rc < 0) {
		free(out);
		return -1;
	}
	for (int i = 0; i < hours; i++)
		rep_stats_parse(&r[i], &out[i]);
	redis_vals_free(r, (size_t)hours);
	*rows = out;
	return 0;
}

/* str_of - a copy of a string value, or NULL */
static char *str_of(const struct redis_val *v)
{
	if (v->type != REDIS_T_STR && v->type != REDIS_T_STATUS)
		return NULL;
	return xstrndup(v->str, v->len);
}

/* rep_xread_parse - [[stream, [[id, [f, v, ...]], ...]], ...] */
size_t rep_xread_parse(const struct redis_val *v,
		       bool (*fn)(const struct rep_log_entry *entry, void *arg), void *arg,
		       char **last, bool *stop)
{
	size_t count = 0;

	*stop = false;
	if (v->type != REDIS_T_ARRAY)
		return 0;
	for (size_t s = 0; s < v->n && !*stop; s++) {
		const struct redis_val *st = &v->elem[s];
		if (st->type != REDIS_T_ARRAY || st->n != 2 || st->elem[1].type != REDIS_T_ARRAY)
			continue;
		const struct redis_val *entries = &st->elem[1];
		for (size_t i = 0; i < entries->n && !*stop; i++) {
			const struct redis_val *en = &entries->elem[i];
			struct rep_log_entry le = { 0 };
			if (en->type != REDIS_T_ARRAY || en->n != 2 ||
			    (le.id = str_of(&en->elem[0])) == NULL)
				continue;
			const struct redis_val *f = &en->elem[1];
			for (size_t k = 0; f->type == REDIS_T_ARRAY && k + 1 < f->n; k += 2)
				for (size_t x = 0; x < 11; x++)
					if (le.field[x] == NULL &&
					    redis_val_is(&f->elem[k], rep_log_fields[x]))
						le.field[x] = str_of(&f->elem[k + 1]);
			free(*last);
			*last = xstrdup(le.id);
			count++;
			if (fn && !fn(&le, arg))
				*stop = true;
			rep_log_entry_clear(&le);
		}
	}
	return count;
}

/* tail_start - the id to read after: "$" becomes the newest id now */
static int tail_start(struct engine *e, const char *key, const char *start, char **last,
		      char **err)
{
	struct redis_batch b;
	struct redis_val *r;

	if (strcmp(start, "$") != 0) {
		*last = xstrdup(start);
		return 0;
	}
	redis_batch_init(&b);
	redis_batch_add(&b, "XREVRANGE", key, "+", "-", "COUNT", "1", NULL);
	int rc = rep_admin_exec(e, &b, rep_admin_deadline(e), &r, err);
	redis_batch_free(&b);
	if (rc < 0)
		return -1;
	*last = NULL;
	if (r[0].type == REDIS_T_ARRAY && r[0].n == 1 && r[0].elem[0].type == REDIS_T_ARRAY &&
	    r[0].elem[0].n == 2)
		*last = str_of(&r[0].elem[0].elem[0]);
	if (*last == NULL)
		*last = xstrdup("0-0");
	redis_vals_free(r, 1);
	return 0;
}

struct tail_ctx {
	bool (*fn)(const struct rep_log_entry *entry, void *arg);
	void *arg;
	long left;		/* entries still wanted; <= 0: no limit */
};

/* tail_one - one entry to the caller, counting */
static bool tail_one(const struct rep_log_entry *entry, void *arg)
{
	struct tail_ctx *t = arg;

	if (t->fn && !t->fn(entry, t->arg))
		return false;
	return t->left <= 0 || --t->left > 0;
}

/* rep_tail - XREAD BLOCK in a loop */
int rep_tail(struct engine *e, const char *start_id, long count,
	     bool (*fn)(const struct rep_log_entry *entry, void *arg), void *arg, char **err)
{
	char *key, *last = NULL;
	struct tail_ctx t = { fn, arg, count };
	int rc = 0;

	if (need_redis(e, err) < 0)
		return -1;
	key = xasprintf("%slog", e->cfg->redis_prefix);
	if (tail_start(e, key, start_id, &last, err) < 0) {
		free(key);
		return -1;
	}
	for (;;) {
		struct redis_batch b;
		struct redis_val *r;
		bool stop;
		redis_batch_init(&b);
		redis_batch_add(&b, "XREAD", "COUNT", TAIL_BATCH, "BLOCK", TAIL_BLOCK_MS, "STREAMS",
				key, last, NULL);
		rc = rep_admin_exec(e, &b, rep_admin_deadline(e) + 1000, &r, err);
		redis_batch_free(&b);
		if (rc < 0)
			break;
		rep_xread_parse(&r[0], tail_one, &t, &last, &stop);
		redis_vals_free(r, 1);
		if (stop)
			break;
	}
	free(last);
	free(key);
	return rc;
}

/* rep_entry_clear - release */
void rep_entry_clear(struct rep_entry *en)
{
	free(en->value);
	en->value = NULL;
}

/* rep_log_entry_clear - release */
void rep_log_entry_clear(struct rep_log_entry *le)
{
	free(le->id);
	for (size_t i = 0; i < sizeof(le->field) / sizeof(le->field[0]); i++)
		free(le->field[i]);
	memset(le, 0, sizeof(*le));
}
