/*
 * scan.c - the scanning pipeline: one message through every stage.
 *
 * The scan runs the stage list of its engine (core/stage.h; the list is
 * stages/registry.c, the only file that names the stages), so a new stage
 * needs no change here, in the milter glue or in parapetctl: they only
 * call the scan_* functions.  A scan and
 * everything it allocates belong to one thread; the engine it references
 * is shared and read-only.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/dns.h"
#include "core/engine.h"
#include "base/log.h"
#include "net/metrics.h"
#include "rules/eval.h"
#include "rules/re.h"
#include "core/scan.h"
#include "core/stage.h"
#include "core/verdict.h"
#include "base/util.h"

/* scan_header_caps - HEADERS_TRUNCATED when the header caps left fields
 * out (message.h); for messages that are not scanned too */
void scan_header_caps(struct scan *sc)
{
	const struct msg *m = sc->msg;
	char d[128];

	if (m->hdrs_dropped == 0)
		return;
	snprintf(d, sizeof(d), "%zu of %zu header fields not kept%s", m->hdrs_dropped,
		 m->hdrs_seen, m->keys_lost ? ", From, Authentication-Results or X-Spam-* "
		 "among them" : "");
	scan_add_builtin(sc, "HEADERS_TRUNCATED", d);
}

/* ---------------------------------------------------------------- scan */

/* skipped - stage i does not run for this scan */
static bool skipped(const struct scan *sc, size_t i)
{
	const struct stage *st = sc->engine->stages[i];

	return sc->skip_why != NULL || (sc->no_dns && st->dns) ||
	       (i < 32 && (sc->policy.skip & (1u << i))) ||
	       (st->redis && sc->engine->redis == NULL);
}

/* scan_new - a message on engine e */
struct scan *scan_new(struct engine *e)
{
	struct scan *sc = xcalloc(1, sizeof(*sc));

	sc->engine = engine_ref(e);
	sc->msg = msg_new((size_t)e->cfg->max_scan_bytes);
	msg_no_stats(sc->msg, !rules_reads_stats(e->rules));	/* what no rule reads */
	sc->re = re_scratch_new();
	sc->dns_deadline = dns_deadline_new((double)e->cfg->dns_timeout_ms);
	policy_default(e->cfg, &sc->policy);
	sc->bayes_cpu_us = -1;
	return sc;
}

/* scan_rcpt - see scan.h */
bool scan_rcpt(struct scan *sc, const char *rcpt, bool may_refuse)
{
	const struct policy *p = policy_lookup(sc->engine->policies, rcpt);
	struct policy eff;

	if (p)
		eff = *p;
	else
		policy_default(sc->engine->cfg, &eff);
	if (!sc->policy_fixed) {
		sc->policy = eff;
		sc->policy_fixed = true;
	} else if (may_refuse && !policy_same(&sc->policy, &eff)) {
		return false;
	}
	msg_add_rcpt(sc->msg, rcpt);
	return true;
}

/* scan_free - release the message and the engine reference */
struct scan *scan_free(struct scan *sc)
{
	if (sc == NULL)
		return NULL;
	scan_after(sc);		/* nobody called it: the writes are still due */
	/* a DNS wait still running for the message (in another thread)
	 * stops now */
	dns_deadline_expire(sc->dns_deadline);
	for (size_t i = 0; i < sc->engine->nstages; i++)
		if (sc->state[i] && sc->engine->stages[i]->cleanup)
			sc->engine->stages[i]->cleanup(sc, sc->state[i]);
	hits_clear(&sc->hits);
	for (size_t i = 0; i < sc->nauthres; i++)
		free(sc->authres[i]);
	free(sc->spf_domain);
	for (size_t i = 0; i < sc->nrbl; i++) {
		for (size_t k = 0; k < sc->rbl[i].n; k++)
			free((char *)sc->rbl[i].values[k]);
		free((char **)sc->rbl[i].values);
		free((char *)sc->rbl[i].item);
	}
	free(sc->rbl);
	free(sc->bayes_detail);
	for (size_t i = 0; i < sc->ndkim_valid; i++)
		free(sc->dkim_valid_domains[i]);
	verdict_clear(&sc->verdict);
	re_scratch_free(sc->re);
	dns_deadline_unref(sc->dns_deadline);
	msg_free(sc->msg);
	engine_unref(sc->engine);
	free(sc);
	return NULL;
}

/* scan_envelope_done - the envelope is complete */
void scan_envelope_done(struct scan *sc)
{
	double t = now_ms();

	for (size_t i = 0; i < sc->engine->nstages; i++) {
		if (sc->engine->stages[i]->envelope && !skipped(sc, i)) {
			double t0 = now_ms();
			sc->engine->stages[i]->envelope(sc, &sc->state[i]);
			sc->stage_ms[i] += now_ms() - t0;
		}
	}
	sc->ms += now_ms() - t;
}

/* scan_header - one header field */
void scan_header(struct scan *sc, const char *name, const char *raw)
{
	double t = now_ms();
	size_t before = sc->msg->nhdrs;

	msg_add_header(sc->msg, name, raw);
	if (sc->msg->nhdrs > before) {
		const struct header *h = &sc->msg->hdrs[before];
		for (size_t i = 0; i < sc->engine->nstages; i++) {
			if (sc->engine->stages[i]->header && !skipped(sc, i)) {
				double t0 = now_ms();
				sc->engine->stages[i]->header(sc, &sc->state[i], h);
				sc->stage_ms[i] += now_ms() - t0;
			}
		}
	}
	sc->ms += now_ms() - t;
}

/* scan_end_headers - end of the header section */
void scan_end_headers(struct scan *sc)
{
	if (sc->skip_why == NULL)	/* decoded values are for the rules */
		msg_end_headers(sc->msg);
}

/* scan_body - one body chunk */
void scan_body(struct scan *sc, const void *data, size_t len)
{
	double t = now_ms();

	if (sc->skip_why)
		return;

	msg_add_body(sc->msg, data, len);
	for (size_t i = 0; i < sc->engine->nstages; i++) {
		if (sc->engine->stages[i]->body && !skipped(sc, i)) {
			double t0 = now_ms();
			sc->engine->stages[i]->body(sc, &sc->state[i], data, len);
			sc->stage_ms[i] += now_ms() - t0;
		}
	}
	sc->ms += now_ms() - t;
}

/* scan_finish - run the stages and decide */
const struct verdict *scan_finish(struct scan *sc)
{
	double t = now_ms();

	if (sc->finished)
		return &sc->verdict;
	if (sc->skip_why) {
		scan_header_caps(sc);
		verdict_decide(sc);
		sc->finished = true;
		sc->ms += now_ms() - t;
		sc->verdict.ms = sc->ms;
		return &sc->verdict;
	}
	/* end of data: from now on every DNS wait of the message, including
	 * work started earlier, ends by now + dns_timeout_ms (parapetctl
	 * scan reads the whole file first: its end of data is the start) */
	dns_deadline_fix(sc->dns_deadline);
	for (size_t i = 0; i < sc->engine->nstages; i++) {
		double t0 = now_ms();
		if (sc->engine->stages[i]->eom && !skipped(sc, i) && sc->engine->stages[i]->eom(sc, &sc->state[i]) < 0 &&
		    !sc->internal_error) {
			sc->internal_error = true;
			sc->error_stage = sc->engine->stages[i]->name;
			metrics_inc(METRIC_INTERNAL_ERRORS);
		}
		sc->stage_ms[i] += now_ms() - t0;
	}
	verdict_decide(sc);
	for (size_t i = 0; i < sc->engine->nstages; i++)
		metrics_stage(sc->engine->stages[i]->name, sc->stage_ms[i]);
	sc->finished = true;
	sc->after_pending = true;
	sc->ms += now_ms() - t;
	sc->verdict.ms = sc->ms;
	return &sc->verdict;
}

/* scan_after - see scan.h: the writes nobody waits for (reputation,
 * autolearn), once, after a scan_finish that ran the stages */
void scan_after(struct scan *sc)
{
	if (sc == NULL || !sc->after_pending)
		return;
	sc->after_pending = false;
	for (size_t i = 0; i < sc->engine->nstages; i++)
		if (sc->engine->stages[i]->after && !skipped(sc, i))
			sc->engine->stages[i]->after(sc, &sc->state[i], &sc->verdict);
}

/* scan_skip - not scanned (trusted, authenticated): key fields only */
void scan_skip(struct scan *sc, const char *why)
{
	sc->skip_why = why;
	sc->msg->keys_only = true;
}

/* scan_add - record a hit */
void scan_add(struct scan *sc, const char *name, double score,
	      const char *desc, const char *detail)
{
	hits_add(&sc->hits, name, score, desc, detail);
}

/* scan_add_builtin - built-in symbols score 0 unless a rule file scores them */
void scan_add_builtin(struct scan *sc, const char *name, const char *detail)
{
	double score = 0.0;
	const char *desc = NULL;

	rules_symbol(sc->engine->rules, name, &score, &desc);
	if (desc == NULL)
		desc = stage_symbol_desc(sc->engine->stages, name);
	scan_add(sc, name, score, desc, detail);
}

/* scan_add_authres - one Authentication-Results resinfo */
void scan_add_authres(struct scan *sc, const char *resinfo)
{
	if (sc->nauthres < sizeof(sc->authres) / sizeof(sc->authres[0]))
		sc->authres[sc->nauthres++] = xstrdup(resinfo);
}

/* scan_add_dkim_valid - remember a verified signing domain */
void scan_add_dkim_valid(struct scan *sc, const char *domain)
{
	size_t cap = sizeof(sc->dkim_valid_domains) / sizeof(sc->dkim_valid_domains[0]);

	if (domain && *domain && sc->ndkim_valid < cap)
		sc->dkim_valid_domains[sc->ndkim_valid++] = xstrdup(domain);
}

/* scan_add_rbl - keep one blocklist answer for the rules */
void scan_add_rbl(struct scan *sc, size_t zone, const char *item, const char *where,
		  const char *const *values, size_t n)
{
	char **v = xcalloc(n + 1, sizeof(*v));

	for (size_t i = 0; i < n; i++)
		v[i] = xstrdup(values[i]);
	sc->rbl = xrealloc(sc->rbl, (sc->nrbl + 1) * sizeof(*sc->rbl));
	sc->rbl[sc->nrbl++] = (struct rbl_answer){
		.zone = zone, .item = xstrdup(item), .where = where,
		.values = (const char *const *)v, .n = n,
	};
}

/* scan_dns_deadline - the one deadline of the message's DNS waits */
struct dns_deadline *scan_dns_deadline(struct scan *sc)
{
	return sc->dns_deadline;
}

/* scan_has - did a symbol hit? */
bool scan_has(const struct scan *sc, const char *name)
{
	return hits_has(&sc->hits, name);
}

