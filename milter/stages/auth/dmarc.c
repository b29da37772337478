/*
 * dmarc.c - the "dmarc" scan stage (see dmarc.h).
 *
 * Owns: per message a struct dmarc_state in the stage's slot (the
 * record queries, started as soon as the From field arrives) and, during
 * the end-of-message check only, one libopendmarc policy context.  The
 * process holds libopendmarc's library state (the Public Suffix List,
 * loaded once from DMARC_PSL_PATH).
 *
 * Thread safety: libopendmarc's policy contexts are independent; its
 * suffix table is built once (pthread_once) and only read afterwards,
 * under the library's own mutex.
 *
 * What parapet does itself rather than trust the library with:
 * - DNS: _dmarc.<From domain> TXT through dns.c, then the organizational
 *   domain's record (RFC 7489 §6.6.3); records not starting with
 *   v=DMARC1 are discarded, several remaining ones mean no policy.  The
 *   record goes to opendmarc_policy_store_dmarc only after
 *   auth_record_ok (length, printable).
 * - The From domain: auth_from_domain; a multi-valued From never reaches
 *   the library (SPEC §7, RFC 7489 §6.6.1).
 * - Alignment (RFC 7489 §3.1): libopendmarc 1.4.2's
 *   opendmarc_policy_check_alignment accepts a subdomain under strict
 *   mode once it has reduced it to the organizational domain, so the
 *   pass/fail decision uses parapet's own strict/relaxed test with the
 *   adkim/aspf the library parsed; the library's own verdict is kept in
 *   the detail when it differs.
 */
#include "autoconfig.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <opendmarc/dmarc.h>

#include "mail/auth.h"
#include "stages/auth/dmarc.h"
#include "net/dns.h"
#include "core/engine.h"
#include "base/log.h"
#include "core/scan.h"
#include "core/stage.h"
#include "base/strbuf.h"
#include "base/util.h"

struct dmarc_state {
	char from[AUTH_DOMAIN_SIZE];	/* the domain the queries are for */
	char org[AUTH_DOMAIN_SIZE];
	struct dns_query *q_from;
	struct dns_query *q_org;	/* NULL when org == from */
};

/* exported by libopendmarc.so.2 but missing from 1.4.2's dmarc.h */
int opendmarc_get_tld(u_char *domain, u_char *tld, size_t tld_len);

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static bool have_psl;

/* ---------------------------------------------------------------- library */

/* lib_init - libopendmarc with the Public Suffix List */
static void lib_init(void)
{
	OPENDMARC_LIB_T l;

	memset(&l, 0, sizeof(l));
	l.tld_type = OPENDMARC_TLD_TYPE_MOZILLA;
	snprintf((char *)l.tld_source_file, sizeof(l.tld_source_file), "%s", DMARC_PSL_PATH);
	if (opendmarc_policy_library_init(&l) != DMARC_PARSE_OKAY) {
		/* without the list every domain is its own organizational
		 * domain: relaxed alignment degrades to strict */
		log_warn("dmarc: cannot load %s; relaxed alignment will be strict",
			 DMARC_PSL_PATH);
		memset(&l, 0, sizeof(l));
		opendmarc_policy_library_init(&l);
	} else {
		have_psl = true;
	}
}

/* last_two - the default rule "*" of the suffix list: the last label is
 * the public suffix, so the last two are the organizational domain */
static void last_two(const char *d, char *out, size_t size)
{
	const char *p = d + strlen(d), *dot = NULL;
	int dots = 0;

	while (p > d) {
		p--;
		if (*p == '.' && ++dots == 2) {
			dot = p;
			break;
		}
	}
	str_copy(out, size, dot ? dot + 1 : d);
}

/* dmarc_org_domain - organizational domain from the suffix list */
int dmarc_org_domain(const char *domain, char *out, size_t size)
{
	char d[AUTH_DOMAIN_SIZE];
	u_char tld[AUTH_DOMAIN_SIZE];

	if (str_copy(d, sizeof(d), domain) >= sizeof(d) || !auth_domain_ok(d))
		return -1;
	pthread_once(&lib_once, lib_init);
	/* opendmarc_get_tld leaves tld untouched when no rule matches (a
	 * name under a suffix the list does not know), so start empty */
	memset(tld, 0, sizeof(tld));
	if (!have_psl || opendmarc_get_tld((u_char *)d, tld, sizeof(tld)) != 0 ||
	    tld[0] == '\0' || !auth_domain_ok((char *)tld)) {
		last_two(d, out, size);
		return 0;
	}
	str_copy(out, size, (char *)tld);
	return 0;
}

/* dmarc_record_parse - libopendmarc's parser on one bounded record */
int dmarc_record_parse(const char *domain, const char *record, const char **why)
{
	DMARC_POLICY_T *p;
	int st;

	pthread_once(&lib_once, lib_init);
	p = opendmarc_policy_connect_init((u_char *)"192.0.2.1", 0);
	if (p == NULL)
		log_fatal("dmarc: out of memory");
	st = opendmarc_policy_parse_dmarc(p, (u_char *)domain, (u_char *)record);
	opendmarc_policy_connect_shutdown(p);
	if (st != DMARC_PARSE_OKAY) {
		*why = opendmarc_policy_status_to_str(st);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- records */

/* start_queries - _dmarc.<from> and _dmarc.<org> */
static void start_queries(struct scan *sc, struct dmarc_state *st, const char *from)
{
	char name[AUTH_DOMAIN_SIZE + 8];

	str_copy(st->from, sizeof(st->from), from);
	if (dmarc_org_domain(from, st->org, sizeof(st->org)) < 0)
		str_copy(st->org, sizeof(st->org), from);
	str_join3(name, sizeof(name), "_dmarc.", st->from, "");
	st->q_from = dns_start(sc->engine->dns, name, DNS_T_TXT);
	if (strcmp(st->org, st->from) != 0) {
		str_join3(name, sizeof(name), "_dmarc.", st->org, "");
		st->q_org = dns_start(sc->engine->dns, name, DNS_T_TXT);
	}
}

/* dmarc_stage_header - start the lookups when the From field arrives */
void dmarc_stage_header(struct scan *sc, void **slot, const struct header *h)
{
	char d[AUTH_DOMAIN_SIZE];

	if (strcasecmp(h->name, "From") != 0 || *slot != NULL)
		return;
	if (auth_from_parse(h->value, d, sizeof(d)) != 1)
		return;
	struct dmarc_state *st = xcalloc(1, sizeof(*st));
	*slot = st;
	start_queries(sc, st, d);
}

enum fetch_rc { FETCH_RECORD, FETCH_NONE, FETCH_TEMP, FETCH_BAD };

/* fetch - the one DMARC record of a query's answer (RFC 7489 §6.6.3) */
static enum fetch_rc fetch(struct dns_query *q, struct dns_deadline *dl, char **rec,
			   const char **why)
{
	const struct dns_answer *a = dns_wait(q, dl);
	size_t found = 0;

	*rec = NULL;
	if (a->rc == DNS_TIMEOUT || a->rc == DNS_SERVFAIL) {
		*why = a->rc == DNS_TIMEOUT ? "DNS timeout" : "DNS SERVFAIL";
		return FETCH_TEMP;
	}
	if (a->rc != DNS_OK)
		return FETCH_NONE;
	for (size_t i = 0; i < a->n; i++) {
		size_t len;
		char *t = dns_txt_join(a->data[i], a->len[i], &len);
		/* "v=DMARC1" then ';', space or the end: other records are
		 * discarded (step 3) */
		if (t == NULL || strncmp(t, "v=DMARC1", 8) != 0 ||
		    (t[8] != '\0' && t[8] != ';' && t[8] != ' ' && t[8] != '\t')) {
			free(t);
			continue;
		}
		if (++found > 1) {
			free(t);
			free(*rec);
			*rec = NULL;
			*why = "several DMARC records";
			return FETCH_NONE;
		}
		if (!auth_record_ok(t, len, AUTH_MAX_RECORD_BYTES, why)) {
			free(t);
			return FETCH_BAD;
		}
		*rec = t;
	}
	return found ? FETCH_RECORD : FETCH_NONE;
}

/* ---------------------------------------------------------------- policy */

/* dmarc_aligned - RFC 7489 §3.1: strict is equality, relaxed the same
 * organizational domain */
bool dmarc_aligned(const char *d, const char *from, bool strict)
{
	char od[AUTH_DOMAIN_SIZE], of[AUTH_DOMAIN_SIZE];

	if (d == NULL || from == NULL || *d == '\0' || *from == '\0')
		return false;
	if (strcasecmp(d, from) == 0)
		return true;
	if (strict)
		return false;
	return dmarc_org_domain(d, od, sizeof(od)) == 0 &&
	       dmarc_org_domain(from, of, sizeof(of)) == 0 && strcmp(od, of) == 0;
}

/* policy_word - p= / sp= value for details */
static const char *policy_word(int p)
{
	switch (p) {
	case DMARC_RECORD_P_REJECT: return "reject";
	case DMARC_RECORD_P_QUARANTINE: return "quarantine";
	case DMARC_RECORD_P_NONE: return "none";
	default: return "unset";
	}
}

/* spf_outcome - sc->spf_result in libopendmarc's terms */
static int spf_outcome(enum auth_result r)
{
	switch (r) {
	case AUTH_PASS: return DMARC_POLICY_SPF_OUTCOME_PASS;
	case AUTH_FAIL:
	case AUTH_SOFTFAIL:
	case AUTH_PERMERROR: return DMARC_POLICY_SPF_OUTCOME_FAIL;
	case AUTH_TEMPERROR: return DMARC_POLICY_SPF_OUTCOME_TMPFAIL;
	default: return DMARC_POLICY_SPF_OUTCOME_NONE;
	}
}

/* rec_detail - "_dmarc.DOMAIN: WHAT" */
static void rec_detail(struct sbuf *d, const char *rec_domain, const char *what)
{
	sbuf_puts(d, "_dmarc.");
	sbuf_puts(d, rec_domain);
	sbuf_puts(d, ": ");
	sbuf_puts(d, what);
}

/* add_item - the A-R item "dmarc=RESULT header.from=FROM" */
static void add_item(struct scan *sc, const char *result, const char *from)
{
	char item[320];
	struct sbuf s;

	sbuf_init(&s, item, sizeof(item));
	sbuf_puts(&s, "dmarc=");
	sbuf_puts(&s, result);
	sbuf_puts(&s, " header.from=");
	sbuf_puts(&s, from);
	scan_add_authres(sc, item);
}

/* evaluate - record found: the policy for this message */
static void evaluate(struct scan *sc, const char *from, const char *rec,
		     const char *rec_domain, bool from_org)
{
	const struct msg *m = sc->msg;
	const char *ip = m->client_ip && *m->client_ip ? m->client_ip : "192.0.2.1";
	DMARC_POLICY_T *p = opendmarc_policy_connect_init((u_char *)ip, strchr(ip, ':') != NULL);
	char detail[1024], dkim_d[AUTH_DOMAIN_SIZE] = "";
	int st, pol, pv = 0, spv = 0, pct = -1, adkim = 0, aspf = 0;
	bool dkim_ok = false, spf_ok = false;

	if (p == NULL)
		log_fatal("dmarc: out of memory");
	opendmarc_policy_store_from_domain(p, (u_char *)from);
	st = opendmarc_policy_store_dmarc(p, (u_char *)rec, (u_char *)from,
					  from_org ? (u_char *)rec_domain : NULL);
	if (st != DMARC_PARSE_OKAY) {
		struct sbuf d;
		sbuf_init(&d, detail, sizeof(detail));
		rec_detail(&d, rec_domain, opendmarc_policy_status_to_str(st));
		sbuf_puts(&d, ": \"");
		sbuf_putn(&d, rec, 200);
		sbuf_putc(&d, '"');
		scan_add_builtin(sc, "DMARC_NONE", detail);
		add_item(sc, "permerror", from);
		opendmarc_policy_connect_shutdown(p);
		return;
	}
	opendmarc_policy_fetch_p(p, &pv);
	opendmarc_policy_fetch_sp(p, &spv);
	opendmarc_policy_fetch_pct(p, &pct);
	opendmarc_policy_fetch_adkim(p, &adkim);
	opendmarc_policy_fetch_aspf(p, &aspf);
	for (size_t i = 0; i < sc->ndkim_valid; i++) {
		opendmarc_policy_store_dkim(p, (u_char *)sc->dkim_valid_domains[i], NULL,
					    DMARC_POLICY_DKIM_OUTCOME_PASS, NULL);
		if (!dkim_ok && dmarc_aligned(sc->dkim_valid_domains[i], from,
						   adkim == DMARC_RECORD_A_STRICT)) {
			dkim_ok = true;
			str_copy(dkim_d, sizeof(dkim_d), sc->dkim_valid_domains[i]);
		}
	}
	if (sc->spf_domain && *sc->spf_domain) {
		int origin = m->mail_from && *m->mail_from ? DMARC_POLICY_SPF_ORIGIN_MAILFROM
							   : DMARC_POLICY_SPF_ORIGIN_HELO;
		opendmarc_policy_store_spf(p, (u_char *)sc->spf_domain,
					   spf_outcome(sc->spf_result), origin, NULL);
		spf_ok = sc->spf_result == AUTH_PASS &&
			 dmarc_aligned(sc->spf_domain, from, aspf == DMARC_RECORD_A_STRICT);
	}
	pol = opendmarc_get_policy_to_enforce(p);
	opendmarc_policy_connect_shutdown(p);

	/* sp= applies when the record is the organizational domain's and
	 * the From domain is below it (RFC 7489 §6.3); else p= */
	int use = from_org && spv != DMARC_RECORD_P_UNSPECIFIED ? spv : pv;
	const char *sym = dkim_ok || spf_ok ? "DMARC_PASS"
		: use == DMARC_RECORD_P_REJECT ? "DMARC_FAIL_REJECT"
		: use == DMARC_RECORD_P_QUARANTINE ? "DMARC_FAIL_QUARANTINE"
		: "DMARC_FAIL_NONE";
	struct sbuf d;
	sbuf_init(&d, detail, sizeof(detail));
	sbuf_puts(&d, "_dmarc.");
	sbuf_puts(&d, rec_domain);
	sbuf_puts(&d, use == spv && from_org ? ": sp=" : ": p=");
	sbuf_puts(&d, policy_word(use));
	if (pct >= 0 && pct < 100) {
		sbuf_puts(&d, " pct=");
		sbuf_put_int(&d, pct);
	}
	sbuf_puts(&d, adkim == DMARC_RECORD_A_STRICT ? " adkim=s" : " adkim=r");
	sbuf_puts(&d, aspf == DMARC_RECORD_A_STRICT ? " aspf=s" : " aspf=r");
	if (dkim_ok) {
		sbuf_puts(&d, "; dkim aligned d=");
		sbuf_puts(&d, dkim_d);
	} else {
		sbuf_puts(&d, sc->ndkim_valid ? "; dkim not aligned" : "; dkim no valid signature");
	}
	if (spf_ok) {
		sbuf_puts(&d, "; spf aligned ");
		sbuf_puts(&d, sc->spf_domain);
	} else {
		sbuf_puts(&d, sc->spf_domain ? "; spf not aligned or not pass" : "; spf not checked");
	}
	if ((pol == DMARC_POLICY_PASS) != (dkim_ok || spf_ok))
		sbuf_puts(&d, pol == DMARC_POLICY_PASS ? "; libopendmarc says pass"
						       : "; libopendmarc says fail");
	scan_add_builtin(sc, sym, detail);
	add_item(sc, auth_result_name(dkim_ok || spf_ok ? AUTH_PASS : AUTH_FAIL, false), from);
}

/* dmarc_stage_eom - find the record, apply it */
int dmarc_stage_eom(struct scan *sc, void **slot)
{
	struct dmarc_state *st = *slot;
	char from[AUTH_DOMAIN_SIZE], detail[1024];
	enum auth_from fr = auth_from_domain(sc->msg, from, sizeof(from));
	const char *why = NULL;
	char *rec = NULL;

	if (fr == AUTH_FROM_MULTIPLE) {
		size_t fields = msg_header_count(sc->msg, "From");
		struct sbuf d;
		sbuf_init(&d, detail, sizeof(detail));
		sbuf_put_uint(&d, fields);
		sbuf_puts(&d, fields > 1 ? " From field(s), more than one address"
					 : " From field(s), more than one address in one field");
		scan_add_builtin(sc, "FROM_MULTIPLE", detail);
		scan_add_authres(sc, "dmarc=permerror");
		return 0;
	}
	if (fr != AUTH_FROM_OK) {
		struct sbuf d;
		sbuf_init(&d, detail, sizeof(detail));
		sbuf_puts(&d, "no usable From domain (");
		sbuf_puts(&d, auth_from_name(fr));
		sbuf_putc(&d, ')');
		scan_add_builtin(sc, "DMARC_NONE", detail);
		scan_add_authres(sc, "dmarc=permerror");
		return 0;
	}
	if (slot == NULL)
		return 0;
	if (st == NULL || strcmp(st->from, from) != 0) {
		if (st)
			dmarc_stage_cleanup(sc, st);
		st = xcalloc(1, sizeof(*st));
		*slot = st;
		start_queries(sc, st, from);
	}
	const char *rec_domain = st->from;
	bool from_org = false;
	enum fetch_rc rc = fetch(st->q_from, scan_dns_deadline(sc), &rec, &why);
	/* no record at the From domain: the organizational domain's; but
	 * several records end policy discovery (RFC 7489 §6.6.3 step 3) */
	if (rc == FETCH_NONE && why == NULL && st->q_org) {
		rc = fetch(st->q_org, scan_dns_deadline(sc), &rec, &why);
		rec_domain = st->org;
		from_org = true;
	}
	struct sbuf d;
	sbuf_init(&d, detail, sizeof(detail));
	switch (rc) {
	case FETCH_TEMP:
		rec_detail(&d, rec_domain, why);
		scan_add_builtin(sc, "DMARC_TEMPERROR", detail);
		add_item(sc, "temperror", from);
		break;
	case FETCH_BAD:
		rec_detail(&d, rec_domain, why);
		scan_add_builtin(sc, "DMARC_NONE", detail);
		add_item(sc, "permerror", from);
		break;
	case FETCH_NONE:
		sbuf_puts(&d, "no record at _dmarc.");
		sbuf_puts(&d, st->from);
		if (st->q_org) {
			sbuf_puts(&d, " or _dmarc.");
			sbuf_puts(&d, st->org);
		}
		if (why) {
			sbuf_puts(&d, ": ");
			sbuf_puts(&d, why);
		}
		scan_add_builtin(sc, "DMARC_NONE", detail);
		add_item(sc, "none", from);
		break;
	case FETCH_RECORD:
		evaluate(sc, from, rec, rec_domain, from_org);
		break;
	}
	free(rec);
	return 0;
}

/* dmarc_stage_cleanup - the message is done */
void dmarc_stage_cleanup(struct scan *sc, void *state)
{
	struct dmarc_state *st = state;

	(void)sc;
	if (st == NULL)
		return;
	dns_query_free(st->q_from);
	dns_query_free(st->q_org);
	free(st);
}

/* the built-ins dmarc_stage may add */
static const struct stage_symbol dmarc_symbols[] = {
	{ "DMARC_PASS", "DMARC: the From: domain is aligned with SPF or DKIM" },
	{ "DMARC_FAIL_REJECT", "DMARC: alignment fails and the From: domain asks to reject (p=reject)" },
	{ "DMARC_FAIL_QUARANTINE", "DMARC: alignment fails and the From: domain asks to quarantine (p=quarantine)" },
	{ "DMARC_FAIL_NONE", "DMARC: alignment fails, the From: domain only monitors (p=none)" },
	{ "DMARC_NONE", "DMARC: the From: domain publishes no DMARC record" },
	{ "DMARC_TEMPERROR", "DMARC: temporary DNS error while fetching the DMARC record" },
	{ "FROM_MULTIPLE", "More than one From: field or address: DMARC not evaluated" },
	{ NULL, NULL },
};

/* dmarc_stage - DMARC of the From: domain, after SPF and DKIM */
const struct stage dmarc_stage = {
	.symbols = dmarc_symbols,
	.name = "dmarc",
	.dns = true,
	.header = dmarc_stage_header,
	.eom = dmarc_stage_eom,
	.cleanup = dmarc_stage_cleanup,
};
