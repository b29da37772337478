/*
 * scan.c - the scanning pipeline: one message through every stage.
 *
 * The stage list below is the single place where checks are plugged in;
 * the milter glue and parapetctl only call the scan_* functions, so a new
 * stage (SPF, DKIM, reputation) needs no change to either.  A scan and
 * everything it allocates belong to one thread; the engine it references
 * is shared and read-only.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim.h"
#include "dmarc.h"
#include "dns.h"
#include "engine.h"
#include "log.h"
#include "metrics.h"
#include "re.h"
#include "rep.h"
#include "rules.h"
#include "scan.h"
#include "spf.h"
#include "verdict.h"
#include "util.h"

/* ---------------------------------------------------------------- stages */

/* header_caps - HEADERS_TRUNCATED when the header caps left fields out
 * (message.h); for messages that are not scanned too */
static void header_caps(struct scan *sc)
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

/* structure_eom - symbols for what the message model noticed.  Runs after
 * the rules: the MIME parse is lazy (no body work unless a body, rawbody
 * or uri rule asks), and what the parse found is reported when it ran */
static int structure_eom(struct scan *sc)
{
	const struct msg *m = sc->msg;

	header_caps(sc);
	if (m->truncated) {
		char d[64];
		snprintf(d, sizeof(d), "scanned %zu of %zu body bytes",
			 m->body.len, m->body_total);
		scan_add_builtin(sc, "SCAN_TRUNCATED", d);
	}
	if (m->broken)
		scan_add_builtin(sc, "MIME_BROKEN", m->broken);
	return 0;
}

/* rules_stage_eom - the administrator's content rules */
static int rules_stage_eom(struct scan *sc)
{
	rules_eval(sc->engine->rules, sc);
	return 0;
}

static const struct stage stages[] = {
	/* first: its DNS starts at the envelope and overlaps the transfer */
	{ .name = "spf", .dns = true, .envelope = spf_stage_envelope, .eom = spf_stage_eom,
	  .cleanup = spf_stage_cleanup },
	{ .name = "dkim", .dns = true, .header = dkim_stage_header, .body = dkim_stage_body,
	  .eom = dkim_stage_eom, .cleanup = dkim_stage_cleanup },
	{ .name = "dmarc", .dns = true, .header = dmarc_stage_header, .eom = dmarc_stage_eom,
	  .cleanup = dmarc_stage_cleanup },
	{ .name = "rules", .eom = rules_stage_eom },
	{ .name = "structure", .eom = structure_eom },
	/* last: greylisting needs the score of every other stage */
	{ .name = "rep", .eom = rep_stage_eom, .after = rep_stage_after,
	  .cleanup = rep_stage_cleanup },
};
#define NSTAGES (sizeof(stages) / sizeof(stages[0]))
_Static_assert(NSTAGES <= SCAN_MAX_STAGES, "raise SCAN_MAX_STAGES");

/* ---------------------------------------------------------------- scan */

/* skipped - stage i does not run for this scan */
static bool skipped(const struct scan *sc, size_t i)
{
	return sc->skip_why != NULL || (sc->no_dns && stages[i].dns);
}

/* action_name - for logs and output */
const char *action_name(enum action a)
{
	switch (a) {
	case ACTION_ACCEPT: return "accept";
	case ACTION_QUARANTINE: return "quarantine";
	case ACTION_TEMPFAIL: return "tempfail";
	case ACTION_REJECT: return "reject";
	}
	return "?";
}

/* scan_new - a message on engine e */
struct scan *scan_new(struct engine *e)
{
	struct scan *sc = xcalloc(1, sizeof(*sc));

	sc->engine = engine_ref(e);
	sc->msg = msg_new((size_t)e->cfg->max_scan_bytes);
	sc->re = re_scratch_new();
	sc->dns_deadline = dns_deadline_new((double)e->cfg->dns_timeout_ms);
	return sc;
}

/* scan_free - release the message and the engine reference */
struct scan *scan_free(struct scan *sc)
{
	if (sc == NULL)
		return NULL;
	/* DNS work still running for the message (an SPF thread after an
	 * abort) stops waiting now */
	dns_deadline_expire(sc->dns_deadline);
	for (size_t i = 0; i < NSTAGES; i++)
		if (sc->state[i] && stages[i].cleanup)
			stages[i].cleanup(sc, sc->state[i]);
	for (size_t i = 0; i < sc->nhits; i++)
		free(sc->hits[i].detail);
	free(sc->hits);
	for (size_t i = 0; i < sc->nauthres; i++)
		free(sc->authres[i]);
	free(sc->spf_domain);
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

	for (size_t i = 0; i < NSTAGES; i++) {
		if (stages[i].envelope && !skipped(sc, i)) {
			double t0 = now_ms();
			stages[i].envelope(sc);
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
		for (size_t i = 0; i < NSTAGES; i++) {
			if (stages[i].header && !skipped(sc, i)) {
				double t0 = now_ms();
				stages[i].header(sc, h);
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
	for (size_t i = 0; i < NSTAGES; i++) {
		if (stages[i].body && !skipped(sc, i)) {
			double t0 = now_ms();
			stages[i].body(sc, data, len);
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
		header_caps(sc);
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
	for (size_t i = 0; i < NSTAGES; i++) {
		double t0 = now_ms();
		if (stages[i].eom && !skipped(sc, i) && stages[i].eom(sc) < 0 &&
		    !sc->internal_error) {
			sc->internal_error = true;
			sc->error_stage = stages[i].name;
			metrics_inc(METRIC_INTERNAL_ERRORS);
		}
		sc->stage_ms[i] += now_ms() - t0;
	}
	verdict_decide(sc);
	sc->verdict.ms = sc->ms + (now_ms() - t);	/* so far, for the after hooks */
	for (size_t i = 0; i < NSTAGES; i++) {
		if (stages[i].after && !skipped(sc, i)) {
			double t0 = now_ms();
			stages[i].after(sc, &sc->verdict);
			sc->stage_ms[i] += now_ms() - t0;
		}
		metrics_stage(stages[i].name, sc->stage_ms[i]);
	}
	sc->finished = true;
	sc->ms += now_ms() - t;
	sc->verdict.ms = sc->ms;
	return &sc->verdict;
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
	if (sc->nhits == sc->hits_cap) {
		sc->hits_cap = sc->hits_cap ? sc->hits_cap * 2 : 16;
		sc->hits = xrealloc(sc->hits, sc->hits_cap * sizeof(*sc->hits));
	}
	sc->hits[sc->nhits++] = (struct hit){
		.name = name,
		.score = score,
		.desc = desc,
		.detail = detail ? xstrdup(detail) : NULL,
	};
	sc->score += score;
}

/* scan_add_builtin - built-in symbols score 0 unless a rule file scores them */
void scan_add_builtin(struct scan *sc, const char *name, const char *detail)
{
	double score = 0.0;
	const char *desc = NULL;

	rules_symbol(sc->engine->rules, name, &score, &desc);
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

/* scan_state_slot - a stage's state pointer */
void **scan_state_slot(struct scan *sc, const char *stage)
{
	for (size_t i = 0; i < NSTAGES; i++)
		if (strcmp(stages[i].name, stage) == 0)
			return &sc->state[i];
	return NULL;
}

/* scan_dns_deadline - the one deadline of the message's DNS waits */
struct dns_deadline *scan_dns_deadline(struct scan *sc)
{
	return sc->dns_deadline;
}

/* scan_has - did a symbol hit? */
bool scan_has(const struct scan *sc, const char *name)
{
	for (size_t i = 0; i < sc->nhits; i++)
		if (strcmp(sc->hits[i].name, name) == 0)
			return true;
	return false;
}
