/*
 * verdict.c - turn a scan's symbols into the verdict of SPEC §4: the
 * action, the SMTP reply, the headers to remove (forged X-Spam-* and our
 * own Authentication-Results arriving from outside) and to add.  A message
 * that is not scanned (trusted or authenticated client) still has its
 * forged fields removed, and gets nothing added (issue 12).
 *
 * Removals are emitted in descending index order: Postfix and Sendmail
 * both count only live fields, so deleting field 1 first would shift the
 * index of field 2 (Postfix cleanup_milter.c, cleanup_find_header_start).
 */
#include "autoconfig.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/engine.h"
#include "core/verdict.h"
#include "base/strbuf.h"
#include "base/util.h"

/* headers parapet writes; copies from outside are removed */
static const char *const own_headers[] = {	/* all "X-Spam-...": removals */
	"X-Spam-Flag", "X-Spam-Score", "X-Spam-Status", "X-Spam-Level",
};

#define FOLD_AT 76

/* verdict_format_score - one decimal, never "-0.0" */
void verdict_format_score(char *out, size_t cap, double score)
{
	double r = round(score * 10.0) / 10.0;

	if (r == 0.0)
		r = 0.0;	/* turns -0.0 into 0.0 */
	struct sbuf s;

	sbuf_init(&s, out, cap);
	sbuf_put_fixed(&s, r, 1);
}

/* hit_cmp - symbols by name */
static int hit_cmp(const void *a, const void *b)
{
	const struct hit *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

/* sorted_hits - pointers to the hits in name order (caller frees) */
static const struct hit **sorted_hits(const struct scan *sc)
{
	const struct hit **v = xcalloc(sc->hits.n + 1, sizeof(*v));

	for (size_t i = 0; i < sc->hits.n; i++)
		v[i] = &sc->hits.v[i];
	qsort(v, sc->hits.n, sizeof(*v), hit_cmp);
	return v;
}

/* verdict_status - SpamAssassin's X-Spam-Status format */
char *verdict_status(const struct scan *sc, double required)
{
	const struct hit **v = sorted_hits(sc);
	char s[32], r[32];
	struct buf b;
	size_t line_start = 0;

	verdict_format_score(s, sizeof(s), sc->hits.score);
	verdict_format_score(r, sizeof(r), required);
	buf_init(&b);
	buf_puts(&b, sc->hits.score >= required ? "Yes" : "No");
	buf_puts(&b, ", score=");
	buf_puts(&b, s);
	buf_puts(&b, " required=");
	buf_puts(&b, r);
	buf_puts(&b, " tests=");
	if (sc->hits.n == 0)
		buf_puts(&b, "none");
	for (size_t i = 0; i < sc->hits.n; i++) {
		size_t n = strlen(v[i]->name);
		if (i > 0) {
			buf_putc(&b, ',');
			/* fold so no line passes ~78 columns (RFC 5322 §2.1.1) */
			if (b.len - line_start + n + 16 > FOLD_AT) {
				buf_puts(&b, "\n\t");
				line_start = b.len;
			}
		}
		buf_puts(&b, v[i]->name);
	}
	free(v);
	return b.data;
}

/* verdict_authserv_id - first token of the value up to ';' */
char *verdict_authserv_id(const char *value)
{
	const char *p = value;

	for (;;) {	/* skip CFWS: white space and (comments) */
		while (isspace((unsigned char)*p))
			p++;
		if (*p != '(')
			break;
		int depth = 0;
		for (; *p; p++) {
			if (*p == '\\' && p[1]) {
				p++;
				continue;
			}
			if (*p == '(')
				depth++;
			else if (*p == ')' && --depth == 0) {
				p++;
				break;
			}
		}
	}
	size_t n = strcspn(p, "; \t\r\n(");
	return n ? xstrndup(p, n) : NULL;
}

/* add_edit - append one header edit */
static void add_edit(struct verdict *v, enum edit_op op, const char *name,
		     int index, char *value)
{
	v->edits = xrealloc(v->edits, (v->nedits + 1) * sizeof(*v->edits));
	v->edits[v->nedits++] = (struct edit){ op, name, index, value };
}

/* removals - delete forged copies, highest index first */
static void removals(struct scan *sc, struct verdict *v)
{
	const struct msg *m = sc->msg;
	const char *id = sc->engine->cfg->authserv_id;

	for (size_t i = m->nhdrs; i-- > 0;) {
		const struct header *h = &m->hdrs[i];
		const char *name = NULL;
		/* each of own_headers starts "X-Spam-": most fields do not */
		bool spam = strncasecmp(h->name, "X-Spam-", 7) == 0;
		for (size_t k = 0; spam && k < sizeof(own_headers) / sizeof(*own_headers); k++)
			if (strcasecmp(h->name, own_headers[k]) == 0)
				name = own_headers[k];
		if (name == NULL && strcasecmp(h->name, "Authentication-Results") == 0) {
			/* RFC 8601 §5: remove only fields claiming to be ours */
			char *aid = verdict_authserv_id(h->value);
			if (aid && strcasecmp(aid, id) == 0)
				name = "Authentication-Results";
			free(aid);
		}
		if (name)
			add_edit(v, EDIT_DELETE, name, h->index, NULL);
	}
}

/* auth_results - our Authentication-Results value */
static char *auth_results(const struct scan *sc)
{
	struct buf b;

	buf_init(&b);
	buf_puts(&b, sc->engine->cfg->authserv_id);
	if (sc->nauthres == 0)
		buf_puts(&b, "; none");	/* RFC 8601 §2.2: no-result */
	for (size_t i = 0; i < sc->nauthres; i++) {
		buf_puts(&b, ";\n\t");
		buf_puts(&b, sc->authres[i]);
	}
	return b.data;
}

/* symbol_list - "A,B" in name order for the log */
static char *symbol_list(const struct scan *sc)
{
	const struct hit **v = sorted_hits(sc);
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "");
	for (size_t i = 0; i < sc->hits.n; i++) {
		if (i)
			buf_putc(&b, ',');
		buf_puts(&b, v[i]->name);
	}
	free(v);
	return b.data;
}

/* reply_text - a reply template with %q the queue id ("-" unknown)
 * and %% a percent sign (config.c allows no other %) */
static char *reply_text(const struct scan *sc, const char *tmpl)
{
	const char *qid = sc->msg->qid && *sc->msg->qid ? sc->msg->qid : "-";
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "");
	for (const char *c = tmpl; *c; c++) {
		if (c[0] == '%' && c[1] == 'q') {
			for (const char *q = qid; *q && q - qid < 64; q++)	/* as log_value */
				buf_putc(&b, (*q <= 0x20 || *q == 0x7f) ? '?' : *q);
			c++;
		} else if (c[0] == '%' && c[1] == '%') {
			buf_putc(&b, '%');
			c++;
		} else {
			buf_putc(&b, *c);
		}
	}
	return b.data;
}

/* set_reply - the action and its SMTP reply */
static void set_reply(const struct scan *sc, struct verdict *v, enum action a,
		      const char *code, const char *xcode, const char *tmpl)
{
	v->action = a;
	v->code = code;
	v->xcode = xcode;
	free(v->text);
	v->text = reply_text(sc, tmpl);
}

/* verdict_stars - X-Spam-Level as SpamAssassin's _STARS(*)_: one '*' per
 * whole point (int(), toward zero), at most 50, empty below 1 */
char *verdict_stars(double score)
{
	int n = score >= 50.0 ? 50 : score >= 1.0 ? (int)score : 0;
	char *s = xcalloc((size_t)n + 1, 1);

	memset(s, '*', (size_t)n);
	return s;
}

/* subject_edit - the Subject tag of a tagged message: subject_tag of the
 * config, else rewrite_header Subject of the rules; prefixed to the first
 * Subject (or a Subject added), not twice */
static void subject_edit(struct scan *sc, struct verdict *v)
{
	const char *tag = sc->engine->cfg->subject_tag;
	const struct msg *m = sc->msg;

	if (tag == NULL)
		tag = rules_subject_tag(sc->engine->rules);
	if (tag == NULL)
		return;
	for (size_t i = 0; i < m->nhdrs; i++) {
		const struct header *h = &m->hdrs[i];
		if (strcasecmp(h->name, "Subject") != 0 || h->index != 1)
			continue;
		if (strncmp(h->value, tag, strlen(tag)) == 0)
			return;	/* tagged already (a second pass) */
		const char *raw = h->raw;
		while (*raw == ' ' || *raw == '\t')
			raw++;
		struct buf t;
		buf_init(&t);
		buf_puts(&t, tag);
		buf_putc(&t, ' ');
		buf_puts(&t, raw);
		add_edit(v, EDIT_CHANGE, "Subject", 1, t.data);
		return;
	}
	add_edit(v, EDIT_ADD, "Subject", 0, xstrdup(tag));
}

/* add_headers - the edits of a delivered message */
static void add_headers(struct scan *sc, struct verdict *v)
{
	char s[32];

	removals(sc, v);
	add_edit(v, EDIT_INSERT, "Authentication-Results", 0, auth_results(sc));
	if (v->tagged) {
		add_edit(v, EDIT_ADD, "X-Spam-Flag", 0, xstrdup("YES"));
		subject_edit(sc, v);
	}
	verdict_format_score(s, sizeof(s), sc->hits.score);
	add_edit(v, EDIT_ADD, "X-Spam-Score", 0, xstrdup(s));
	add_edit(v, EDIT_ADD, "X-Spam-Level", 0, verdict_stars(sc->hits.score));
	add_edit(v, EDIT_ADD, "X-Spam-Status", 0, verdict_status(sc, sc->policy.tag_score));
}

/* decide - SPEC §4: reject, greylist tempfail, quarantine, accept (the
 * thresholds of the message's recipient policy) */
static void decide(struct scan *sc, struct verdict *v)
{
	const struct config *cfg = sc->engine->cfg;

	if (sc->msg->keys_lost) {
		/* a From or a forged field may have gone unseen: neither DMARC
		 * nor the removals below can be trusted (issue 12).  Never a
		 * legitimate message: refused, not delivered unchecked */
		set_reply(sc, v, ACTION_REJECT, "550", "5.6.0",
			  "Message header too long to check: too many From, "
			  "Authentication-Results or X-Spam-* fields");
		return;
	}
	if (sc->skip_why) {	/* not scanned: only forged fields go */
		v->action = ACTION_ACCEPT;
		removals(sc, v);
		return;
	}
	if (sc->internal_error) {
		v->why = sc->error_stage;
		if (cfg->on_error == ON_ERROR_TEMPFAIL) {
			set_reply(sc, v, ACTION_TEMPFAIL, "451", "4.3.0", cfg->tempfail_text);
			return;
		}
		/* on_error = accept: fall through with what was found */
	}
	if (sc->policy.reject_on && sc->hits.score >= sc->policy.reject_score) {
		set_reply(sc, v, ACTION_REJECT, "550", "5.7.1", cfg->reject_text);
		return;
	}
	if (sc->greylisted) {
		set_reply(sc, v, ACTION_TEMPFAIL, "451", "4.7.1", cfg->greylist_text);
		return;
	}
	v->action = sc->policy.quarantine_on && sc->hits.score >= sc->policy.quarantine_score
			    ? ACTION_QUARANTINE : ACTION_ACCEPT;
	add_headers(sc, v);
}

/* verdict_decide - decide; with mode = observe the message is accepted
 * whatever was decided (observed keeps it), with the headers of a
 * delivered message */
void verdict_decide(struct scan *sc)
{
	struct verdict *v = &sc->verdict;

	verdict_clear(v);
	v->score = sc->hits.score;
	v->tagged = sc->hits.score >= sc->policy.tag_score;
	v->symbols = symbol_list(sc);
	v->skipped = sc->skip_why != NULL;
	v->why = sc->skip_why;
	decide(sc, v);
	v->observed = v->action;
	if (sc->engine->cfg->mode != MODE_OBSERVE || v->action == ACTION_ACCEPT)
		return;
	bool had_edits = v->nedits > 0;	/* quarantine: the headers are there */
	v->action = ACTION_ACCEPT;
	v->code = v->xcode = NULL;
	free(v->text);
	v->text = NULL;
	if (!had_edits && !sc->msg->keys_lost)
		add_headers(sc, v);
}

/* verdict_clear - release owned parts, back to an empty accept */
void verdict_clear(struct verdict *v)
{
	for (size_t i = 0; i < v->nedits; i++)
		free(v->edits[i].value);
	free(v->edits);
	free(v->symbols);
	free(v->text);
	memset(v, 0, sizeof(*v));
}

/* log_value - a value for the log line: no spaces or controls, "-" if empty */
static void log_value(struct buf *b, const char *s)
{
	if (s == NULL || *s == '\0') {
		buf_putc(b, '-');
		return;
	}
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		buf_putc(b, (c <= 0x20 || c == 0x7f) ? '?' : (char)c);
	}
}

/* verdict_log_line - the one line per message of SPEC §4 */
char *verdict_log_line(const struct scan *sc)
{
	const struct msg *m = sc->msg;
	const struct verdict *v = &sc->verdict;
	struct buf b;
	char s[32];

	buf_init(&b);
	buf_puts(&b, "qid=");
	log_value(&b, m->qid);
	buf_puts(&b, " ip=");
	log_value(&b, m->client_ip);
	buf_puts(&b, " from=");
	log_value(&b, m->mail_from && *m->mail_from ? m->mail_from : "<>");
	buf_puts(&b, " rcpts=");
	buf_put_uint(&b, m->rcpts_seen);
	verdict_format_score(s, sizeof(s), v->score);
	buf_puts(&b, " score=");
	buf_puts(&b, s);
	buf_puts(&b, " action=");
	buf_puts(&b, action_name(v->action));
	if (v->observed != v->action) {	/* mode = observe */
		buf_puts(&b, " would=");
		buf_puts(&b, action_name(v->observed));
	}
	buf_puts(&b, " symbols=");
	buf_puts(&b, v->symbols ? v->symbols : "");
	buf_puts(&b, " ms=");
	buf_put_fixed(&b, v->ms, 1);
	if (v->skipped || (v->why && sc->internal_error)) {
		buf_puts(&b, " note=");
		log_value(&b, v->why);
	}
	return b.data;
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
