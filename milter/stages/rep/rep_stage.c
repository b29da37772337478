/*
 * rep_stage.c - the "rep" pipeline stage (core/stage.h): per message, one
 * pipelined read of the sender's keys (REP_* symbols), one greylist script
 * call when the score is in the greylisting band, and one write script
 * call after the verdict.  All three share one budget: the message's
 * deadline is redis_timeout_ms after its first Redis call, and once Redis
 * failed for a message it is not asked again for that message
 * (REDIS_UNAVAILABLE).  Per-message state only (sc->state of the stage).
 *
 * Good reputation is credited only to what the message authenticates
 * (rep_credit_ok): a sender chooses its MAIL FROM and From: freely, so a
 * negative REP_MFROM needs SPF to pass for that domain and a negative
 * REP_FROM an SPF or DKIM domain aligned with it; bad reputation applies
 * either way.
 *
 * Multiple recipients: greylisting checks every (network, sender,
 * recipient) triplet in one script call, and the message passes only
 * when every triplet has passed; a new recipient on a retry greylists the
 * message once more (the MTA retries all recipients together).
 */
#include "autoconfig.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/auth.h"
#include "stages/auth/dmarc.h"
#include "core/engine.h"
#include "core/verdict.h"
#include "base/log.h"
#include "net/redis.h"
#include "core/stage.h"
#include "stages/rep/rep.h"
#include "stages/rep/rep_int.h"
#include "rules/rules.h"
#include "base/strbuf.h"
#include "base/util.h"

#define LOG_RCPTS_MAX 20	/* recipients listed in a log entry */

struct rep_state {
	struct rep_keys keys;
	double deadline;	/* now_ms() at which the message stops waiting */
	bool unavailable;	/* Redis failed for this message */
	int round_trips;
};

/* unavailable - Redis is not there for this message */
static void unavailable(struct scan *sc, struct rep_state *st, const char *why)
{
	st->unavailable = true;
	sc->redis_failed = true;
	if (!scan_has(sc, "REDIS_UNAVAILABLE"))
		scan_add_builtin(sc, "REDIS_UNAVAILABLE", why);
}

/* rep_counts_of - see rep_int.h */
bool rep_counts_of(const struct redis_val *r, double *spam, double *ham, double *seen)
{
	if (r->type != REDIS_T_ARRAY || r->n < 3)
		return false;
	if (!redis_val_number(&r->elem[0], spam))
		*spam = 0;
	if (!redis_val_number(&r->elem[1], ham))
		*ham = 0;
	if (!redis_val_number(&r->elem[2], seen))
		return false;
	return *spam >= 0 && *ham >= 0 && *spam + *ham > 0;
}

/* rep_credit_ok - see rep_int.h */
bool rep_credit_ok(const struct scan *sc, const struct rep_key *key)
{
	switch (key->kind) {
	case REP_KIND_MFROM:
		/* SPF authenticates exactly the MAIL FROM domain */
		return sc->spf_result == AUTH_PASS && sc->spf_domain &&
		       strcasecmp(sc->spf_domain, key->value) == 0;
	case REP_KIND_FROM:
		/* DMARC's identifier alignment, relaxed (RFC 7489 §3.1) */
		if (sc->spf_result == AUTH_PASS && dmarc_aligned(sc->spf_domain, key->value, false))
			return true;
		for (size_t i = 0; i < sc->ndkim_valid; i++)
			if (dmarc_aligned(sc->dkim_valid_domains[i], key->value, false))
				return true;
		return false;
	default:
		/* the client's address, and d= of a signature that verified */
		return true;
	}
}

/* read_keys - HMGET every key in one round trip; add REP_* */
static void read_keys(struct scan *sc, struct rep_state *st)
{
	const struct config *cfg = sc->engine->cfg;
	struct redis_batch b;
	struct redis_val *r;
	const char *why;
	double best_dkim_total = -1, dkim_value = 0;
	char dkim_detail[REP_MAX_VALUE + 64] = "";

	redis_batch_init(&b);
	for (size_t i = 0; i < st->keys.n; i++) {
		char *k = rep_key_name(cfg->redis_prefix, "rep", st->keys.k[i].kind,
				       st->keys.k[i].value);
		redis_batch_add(&b, "HMGET", k, "spam", "ham", "seen", NULL);
		free(k);
	}
	int rc = redis_exec(sc->engine->redis, &b, st->deadline, &r, &why, &st->round_trips);
	redis_batch_free(&b);
	if (rc < 0) {
		unavailable(sc, st, why);
		return;
	}
	double now = rep_now();
	for (size_t i = 0; i < st->keys.n; i++) {
		const struct rep_key *key = &st->keys.k[i];
		double spam, ham, seen, value, weight = 0;
		const char *desc = NULL;
		char detail[REP_MAX_VALUE + 64];

		if (!rep_counts_of(&r[i], &spam, &ham, &seen))
			continue;
		spam = rep_decay(spam, now - seen, (double)cfg->rep_half_life);
		ham = rep_decay(ham, now - seen, (double)cfg->rep_half_life);
		rules_symbol(sc->engine->rules, rep_kind_symbol(key->kind), &weight, &desc);
		if (!rep_symbol_value(spam, ham, weight, cfg->rep_min_count, &value))
			continue;
		if (value < 0 && !rep_credit_ok(sc, key)) {
			log_debug("qid=%s %s %s: good reputation not credited: not authenticated",
				  sc->msg->qid ? sc->msg->qid : "-", rep_kind_symbol(key->kind),
				  key->value);
			continue;
		}
		struct sbuf ds;
		sbuf_init(&ds, detail, sizeof(detail));
		sbuf_puts(&ds, key->value);
		sbuf_puts(&ds, " spam=");
		sbuf_put_fixed(&ds, spam, 1);
		sbuf_puts(&ds, " ham=");
		sbuf_put_fixed(&ds, ham, 1);
		if (key->kind == REP_KIND_DKIM) {
			/* one REP_DKIM: the signing domain with the most evidence */
			if (spam + ham > best_dkim_total) {
				best_dkim_total = spam + ham;
				dkim_value = value;
				str_copy(dkim_detail, sizeof(dkim_detail), detail);
			}
			continue;
		}
		scan_add(sc, rep_kind_symbol(key->kind), value, desc, detail);
	}
	if (best_dkim_total >= 0) {
		double w = 0;
		const char *desc = NULL;
		rules_symbol(sc->engine->rules, "REP_DKIM", &w, &desc);
		scan_add(sc, "REP_DKIM", dkim_value, desc, dkim_detail);
	}
	redis_vals_free(r, st->keys.n);
}

/* greylist - SPEC §3: a first-seen triplet in the band gets 451 4.7.1 */
static void greylist(struct scan *sc, struct rep_state *st)
{
	const struct config *cfg = sc->engine->cfg;
	const struct msg *m = sc->msg;
	struct rep_args a = { 0 };
	struct redis_val *r;
	const char *why;
	char key[128];

	if (!sc->policy.greylist || sc->offline || st->unavailable || sc->internal_error ||
	    m->nrcpts == 0 || sc->hits.score < sc->policy.greylist_score ||
	    (sc->policy.reject_on && sc->hits.score >= sc->policy.reject_score))
		return;
	for (size_t i = 0; i < m->nrcpts; i++) {
		rep_grey_key(m->client_ip, m->mail_from, m->rcpts[i], key, sizeof(key));
		rep_args_cat(&a, cfg->redis_prefix, key, (char *)NULL);
	}
	rep_args_secs(&a, rep_now());
	rep_args_int(&a, cfg->greylist_delay);
	rep_args_int(&a, cfg->greylist_window);
	rep_args_int(&a, REP_GREY_PASS_TTL);
	int rc = rep_script_run(sc->engine->redis, &rep_script_grey, m->nrcpts, &a,
				st->deadline, &r, &why, &st->round_trips);
	rep_args_clear(&a);
	if (rc < 0) {
		unavailable(sc, st, why);
		return;
	}
	double passed = 1, wait = 0;
	if (r->type == REDIS_T_ARRAY && r->n == 2) {
		redis_val_number(&r->elem[0], &passed);
		redis_val_number(&r->elem[1], &wait);
	}
	redis_vals_free(r, 1);
	if (passed == 0) {
		char d[64];
		struct sbuf s;
		sbuf_init(&s, d, sizeof(d));
		sbuf_puts(&s, "retry in ");
		sbuf_put_fixed(&s, wait, 0);
		sbuf_puts(&s, " s");
		sc->greylisted = true;
		scan_add_builtin(sc, "GREYLIST", d);
	}
}

/* rep_stage_eom - read reputation, then greylist */
int rep_stage_eom(struct scan *sc, void **slot)
{
	struct rep_state *st;

	if (sc->engine->redis == NULL)
		return 0;
	st = xcalloc(1, sizeof(*st));
	*slot = st;
	st->deadline = now_ms() + (double)sc->engine->cfg->redis_timeout_ms;
	if (sc->redis_failed) {
		/* the bayes stage found Redis down: do not wait again */
		unavailable(sc, st, "failed earlier for this message");
		return 0;
	}
	rep_keys_of(sc->msg, (const char *const *)sc->dkim_valid_domains, sc->ndkim_valid,
		    &st->keys);
	if (st->keys.n > 0)
		read_keys(sc, st);
	greylist(sc, st);
	return 0;
}

/* rep_write_args - see rep_int.h */
size_t rep_write_args(const struct config *cfg, const struct rep_keys *keys,
		      const char *class, const char *action, double now,
		      const char *const *log_values, struct rep_args *a)
{
	size_t n = strcmp(class, "none") == 0 ? 0 : keys->n;
	char hour[16];

	for (size_t i = 0; i < n; i++)
		rep_args_take(a, rep_key_name(cfg->redis_prefix, "rep", keys->k[i].kind,
					      keys->k[i].value));
	for (size_t i = 0; i < n; i++)
		rep_args_take(a, rep_key_name(cfg->redis_prefix, "top", keys->k[i].kind, NULL));
	rep_hour(now, hour, sizeof(hour));
	rep_args_cat(a, cfg->redis_prefix, "stats:", hour, (char *)NULL);
	rep_args_cat(a, cfg->redis_prefix, "log", (char *)NULL);
	rep_args_secs(a, now);
	rep_args_int(a, cfg->rep_half_life);
	rep_args_add(a, class);
	rep_args_int(a, (long long)n);
	rep_args_int(a, REP_TTL);
	rep_args_int(a, REP_TOP_MAX);
	rep_args_add(a, action);
	rep_args_int(a, REP_STATS_TTL);
	rep_args_int(a, cfg->log_max);
	for (size_t i = 0; i < n; i++)
		rep_args_add(a, keys->k[i].value);
	for (size_t i = 0; log_values && i < sizeof(rep_log_fields) / sizeof(*rep_log_fields);
	     i++) {
		rep_args_add(a, rep_log_fields[i]);
		rep_args_add(a, log_values[i]);
	}
	return 2 * n + 2;
}

/* capped - s cut to REP_LOG_VALUE_MAX bytes, in fresh memory */
static char *capped(const char *s)
{
	return xstrndup(s ? s : "", REP_LOG_VALUE_MAX);
}

/* rep_log_from - see rep_int.h */
char *rep_log_from(const struct msg *m)
{
	const struct header *h = msg_header(m, "From", 0);
	char addr[REP_LOG_VALUE_MAX + 1], d[AUTH_DOMAIN_SIZE];

	if (h == NULL)
		return xstrdup("");
	/* the one RFC 5322 parser (mail/auth.c): the address DMARC and the
	 * from key see, not one a comment or a quoted name holds.  Capped
	 * like every other field: the header may be 64 kB (issue 12) */
	auth_addr_parse(h->value, addr, sizeof(addr), d, sizeof(d));
	return xstrdup(addr);
}

/* rcpt_list - "a@b,c@d", at most LOG_RCPTS_MAX, then ",+N" */
static char *rcpt_list(const struct msg *m)
{
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "");
	for (size_t i = 0; i < m->nrcpts && i < LOG_RCPTS_MAX; i++) {
		if (i)
			buf_putc(&b, ',');
		buf_append(&b, m->rcpts[i], strnlen(m->rcpts[i], REP_LOG_VALUE_MAX));
	}
	if (m->rcpts_seen > LOG_RCPTS_MAX) {
		buf_puts(&b, ",+");
		buf_put_uint(&b, m->rcpts_seen - LOG_RCPTS_MAX);
	}
	return b.data;
}

/* rep_stage_after - count the message (not a tempfail), stats, log */
void rep_stage_after(struct scan *sc, void **slot, const struct verdict *v)
{
	const struct config *cfg = sc->engine->cfg;
	const struct msg *m = sc->msg;
	struct rep_state *st = *slot;
	struct rep_args a = { 0 };
	struct redis_val *r;
	const char *why;
	char score[32], ms[32], ts[32];

	if (st == NULL || sc->offline || st->unavailable || v->skipped)
		return;
	double now = rep_now();
	struct sbuf s;
	sbuf_init(&s, score, sizeof(score));
	sbuf_put_fixed(&s, v->score, 2);
	sbuf_init(&s, ms, sizeof(ms));
	sbuf_put_fixed(&s, v->ms, 1);
	sbuf_init(&s, ts, sizeof(ts));
	sbuf_put_fixed(&s, now, 0);
	char *from = rep_log_from(m), *rcpts = rcpt_list(m);
	char *qid = capped(m->qid), *ip = capped(m->client_ip), *helo = capped(m->helo);
	char *mfrom = capped(m->mail_from);
	/* the action decided: with mode = observe the one parapet would have
	 * taken, so tail and stats show what would have happened */
	const char *action = action_name(v->observed);
	const char *values[] = {
		qid, ts, ip, helo, mfrom, from, rcpts, score, action,
		v->symbols ? v->symbols : "", ms,
	};
	const char *class = v->observed == ACTION_TEMPFAIL ? "none" : v->tagged ? "spam" : "ham";
	size_t nkeys = rep_write_args(cfg, &st->keys, class, action, now, values, &a);
	int rc = rep_script_run(sc->engine->redis, &rep_script_write, nkeys, &a, st->deadline,
				&r, &why, &st->round_trips);
	rep_args_clear(&a);
	if (rc == 0)
		redis_vals_free(r, 1);
	log_debug("qid=%s redis round_trips=%d write=%s", m->qid ? m->qid : "-",
		  st->round_trips, rc == 0 ? "ok" : why);
	free(from);
	free(rcpts);
	free(qid);
	free(ip);
	free(helo);
	free(mfrom);
}

/* rep_stage_cleanup - free the state */
void rep_stage_cleanup(struct scan *sc, void *state)
{
	struct rep_state *st = state;

	(void)sc;
	rep_keys_clear(&st->keys);
	free(st);
}

/* the built-ins rep_stage may add */
static const struct stage_symbol rep_symbols[] = {
	{ "REP_IP", "Reputation of the client IP address" },
	{ "REP_NET", "Reputation of the client network (IPv4 /24, IPv6 /64)" },
	{ "REP_MFROM", "Reputation of the envelope sender domain" },
	{ "REP_FROM", "Reputation of the From: header domain" },
	{ "REP_DKIM", "Reputation of the domain of a valid DKIM signature" },
	{ "GREYLIST", "Greylisted: first delivery attempt from an unknown sender triplet" },
	{ "REDIS_UNAVAILABLE", "Redis unreachable: scanned without reputation and greylisting" },
	{ NULL, NULL },
};

/* rep_stage - reputation, greylisting and the verdict log */
const struct stage rep_stage = {
	.symbols = rep_symbols,
	.name = "rep",
	.redis = true,
	.eom = rep_stage_eom,
	.after = rep_stage_after,
	.cleanup = rep_stage_cleanup,
};
