/*
 * spf.c - SPF (RFC 7208) with libspf2 over parapet's own resolver.
 *
 * Owns: one process-wide SPF_server_t whose DNS layer is ours (lookup and
 * get_spf callbacks below, all queries through dns.c), created once and
 * never changed, and one struct spf_check per message.
 *
 * Threads: none of its own.  At the envelope hook (spf_start) a check
 * sends the queries every check begins with, TXT of the MAIL FROM domain
 * and of the HELO name, and returns; their answers arrive while the
 * message is transferred.  Each header and body chunk then calls
 * spf_prefetch, in the same thread: it looks without blocking at the
 * answers that came, and for each SPF record among them sends the
 * lookups its terms will make (include: and redirect= targets' TXT, a
 * and mx names, then the addresses of MX answers' names), recursively as
 * those answers come.  At end of message (spf_wait) libspf2 evaluates in
 * the connection's thread; a lookup it makes that was sent ahead waits
 * for that query (answered, or in flight: never sent twice), the others
 * go through dns.c as it goes.  The SPF_server_t is shared read-only: after
 * creation libspf2 only reads it (limits, the default explanation, the
 * resolver pointer), and every per-check object (SPF_request_t,
 * SPF_response_t, compiled records) belongs to one thread.  libspf2's
 * lookup callback carries no per-request argument, so the check's
 * resolver, deadline, queries sent ahead and record log are reached through a
 * thread-local pointer set for the duration of one
 * SPF_request_query_mailfrom call.  libspf2's own resolver and its cache
 * layer are never used; dns.c caches (its own answers, libunbound's).
 *
 * Limits: every lookup of a check waits on the message's one DNS deadline
 * (scan_dns_deadline: open while the message arrives, end of data +
 * dns_timeout_ms after); at most SPF_MAX_LOOKUPS queries; sent ahead, at
 * most SPF_PRE_TERMS terms per identity and SPF_PRE_MAX queries, only
 * before the deadline; every TXT
 * record passes spf_record_precheck before libspf2 compiles it (SPEC §7:
 * CVE-2023-42118 is not fixed in Debian 12's libspf2 1.2.10); 8-bit
 * identities are never expanded by libspf2.  libspf2 itself enforces the
 * RFC 7208 §4.6.4 limits (10 DNS mechanisms, 10 MX/PTR names).
 */
#include "autoconfig.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <netdb.h>

#include <spf2/spf.h>

#include "base/cidr.h"
#include "net/dns.h"
#include "core/engine.h"
#include "base/log.h"
#include "stages/auth/spf.h"
#include "base/util.h"

#define SPF_MAX_SEEN 16		/* records remembered for the detail */
#define SPF_SHOW_MAX 512	/* bytes of a record shown in a detail */
#define SPF_ROOTS 2		/* identities: MAIL FROM and HELO */
#define SPF_PRE_MAX 32		/* queries sent before end of data */
#define SPF_PRE_TERMS 10	/* DNS terms followed ahead per identity
				 * (RFC 7208 §4.6.4's limit) */
#define SPF_PRE_MX 10		/* names of one MX answer (§4.6.4) */

/* ---------------------------------------------------------------- state */

/* a query sent before end of data, its answer kept for the whole check:
 * the identities' TXT at the envelope, then what their records' answers
 * lead to (spf_prefetch) */
struct pre_query {
	char *name;
	int type;
	struct dns_query *q;
	int root;		/* the identity it was sent for */
	bool read;		/* its answer has been followed */
};

/* what one libspf2 query sees through the thread-local pointer */
struct lookup_ctx {
	struct dns *dns;
	struct spf_check *check;	/* its queries sent ahead */
	struct dns_deadline *dl;	/* the check's reference */
	int lookups;
	struct {
		char *domain;
		char *record;
	} seen[SPF_MAX_SEEN];	/* SPF records fetched, in order */
	size_t nseen;
	char why[320];		/* last failure our DNS layer saw */
	/* RFC 7208 §4.6.4 limits libspf2 1.2.10 does not enforce: DNS
	 * terms, void lookups, MX answers.  A/AAAA lookups of names that
	 * came out of an MX or PTR answer belong to that term */
	int terms, voids, nspf;
	char *derived[32];
	bool derived_ptr[32];	/* from a PTR answer: errors skip it (§5.5) */
	size_t nderived;
	const char *limit;	/* the limit exceeded: permerror */
};

static __thread struct lookup_ctx *cur_ctx;

struct spf_check {
	bool done;		/* the outcomes are in */
	struct engine *engine;	/* counted reference: keeps the resolver */
	struct dns_deadline *dl;	/* the message's, counted reference */
	char *ip, *helo, *mail_from;
	struct spf_outcome mfrom, helo_out;
	int fam;		/* the client's address family, 4 or 6 */
	struct pre_query pre[SPF_PRE_MAX];
	size_t npre, nread;	/* sent ahead, their answers followed */
	int terms[SPF_ROOTS];	/* DNS terms followed per identity */
	int asked, ready;	/* libspf2's lookups, those already sent */
};

static SPF_server_t *server;
static pthread_once_t server_once = PTHREAD_ONCE_INIT;

/* ---------------------------------------------------------------- text */

/* cat - the strings up to a NULL joined, in fresh memory (no printf on
 * the per-message path) */
static char * __attribute__((sentinel)) cat(const char *s, ...)
{
	struct buf b;
	va_list ap;

	buf_init(&b);
	va_start(ap, s);
	for (; s; s = va_arg(ap, const char *))
		buf_puts(&b, s);
	va_end(ap);
	return b.data ? b.data : xstrdup("");
}

/* cat_to - the strings up to a NULL joined into out (outsz bytes), cut
 * where it is full */
static void __attribute__((sentinel)) cat_to(char *out, size_t outsz, const char *s, ...)
{
	size_t o = 0;
	va_list ap;

	va_start(ap, s);
	for (; s; s = va_arg(ap, const char *)) {
		size_t n = strlen(s);
		if (n > outsz - 1 - o)
			n = outsz - 1 - o;
		memcpy(out + o, s, n);
		o += n;
	}
	va_end(ap);
	out[o] = '\0';
}

/* ---------------------------------------------------------------- DNS layer */

/* pre_find - the query of (name, type) sent ahead, or NULL */
static struct pre_query *pre_find(struct spf_check *c, const char *name, int type)
{
	for (size_t i = 0; i < c->npre; i++)
		if (c->pre[i].type == type && strcasecmp(c->pre[i].name, name) == 0)
			return &c->pre[i];
	return NULL;
}

/* ctx_query - one query of the current check, bounded by its deadline;
 * NULL once the check has used up its lookups.  A query sent ahead is
 * not sent again: libspf2 gets its answer, waiting for it if it is still
 * in flight (*qp NULL: the check owns it) */
static const struct dns_answer *ctx_query(struct lookup_ctx *lc, const char *name,
					  int type, struct dns_query **qp)
{
	static const struct dns_answer past_deadline = { .rc = DNS_TIMEOUT };

	*qp = NULL;
	if (lc == NULL || ++lc->lookups > SPF_MAX_LOOKUPS)
		return NULL;
	lc->check->asked++;
	struct pre_query *p = pre_find(lc->check, name, type);
	if (p) {
		lc->check->ready++;
		return dns_wait(p->q, lc->dl);
	}
	if (dns_deadline_passed(lc->dl))
		return &past_deadline;	/* nothing sent once time is up */
	*qp = dns_start(lc->dns, name, type);
	return dns_wait(*qp, lc->dl);
}

/* rc_herrno - dns.c's answer class as libspf2's h_errno word.  A timeout
 * or SERVFAIL is TRY_AGAIN, which libspf2 turns into temperror (RFC 7208
 * §4.4, §5); NXDOMAIN and a name we refuse to send are "no such host",
 * a non-match for mechanisms (§5) */
static int rc_herrno(const struct dns_answer *a)
{
	if (a == NULL)
		return TRY_AGAIN;
	switch (a->rc) {
	case DNS_OK: return NETDB_SUCCESS;
	case DNS_NODATA: return NO_DATA;
	case DNS_NXDOMAIN:
	case DNS_BADNAME: return HOST_NOT_FOUND;
	case DNS_SERVFAIL:
	case DNS_TIMEOUT: return TRY_AGAIN;
	}
	return TRY_AGAIN;
}

/* wire_name - an uncompressed domain name in rdata (libunbound hands out
 * uncompressed rdata) as text; -1 if malformed or not plain ASCII */
static int wire_name(const unsigned char *p, size_t len, size_t off, char *out,
		     size_t outsz)
{
	size_t o = 0;

	while (off < len) {
		size_t n = p[off++];
		if (n == 0) {
			if (o == 0) {
				if (outsz < 2)
					return -1;
				out[o++] = '.';
			}
			out[o] = '\0';
			return 0;
		}
		if (n > 63 || n > len - off || o + n + 2 > outsz)
			return -1;	/* also a compression pointer (0xc0) */
		if (o)
			out[o++] = '.';
		for (size_t i = 0; i < n; i++) {
			unsigned char c = p[off + i];
			if (c <= ' ' || c >= 0x7f || c == '.')
				return -1;
			/* libspf2 compares names case-sensitively (ptr:) */
			out[o++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
		}
		off += n;
	}
	return -1;
}

/* rr_put - one record's data into slot k of a libspf2 RR set */
static void rr_put(SPF_dns_rr_t *rr, int k, const void *data, size_t len)
{
	if (SPF_dns_rr_buf_realloc(rr, k, len) != SPF_E_SUCCESS)
		log_fatal("spf: out of memory");
	memcpy(rr->rr[k], data, len);
}

/* derived_from - 0 not derived, 1 from an MX answer, 2 from a PTR one */
static int derived_from(const struct lookup_ctx *lc, const char *domain)
{
	for (size_t i = 0; lc && i < lc->nderived; i++)
		if (strcasecmp(lc->derived[i], domain) == 0)
			return lc->derived_ptr[i] ? 2 : 1;
	return 0;
}

/* count_lookup - the §4.6.4 accounting of one answered lookup */
static void count_lookup(struct lookup_ctx *lc, const char *domain, int type,
			 const struct dns_answer *a)
{
	bool derived = false;

	if (lc == NULL || a == NULL || type == DNS_T_TXT)
		return;		/* TXT here is exp=, after the result */
	if (type == DNS_T_A || type == DNS_T_AAAA)
		derived = derived_from(lc, domain) != 0;
	if (!derived) {
		if (++lc->terms > 10 && !lc->limit)
			lc->limit = "more than 10 DNS lookups";
		/* a PTR query may come from the %{p} macro, not a term */
		if ((a->rc == DNS_NODATA || a->rc == DNS_NXDOMAIN) && type != DNS_T_PTR &&
		    ++lc->voids > 2 && !lc->limit)
			lc->limit = "more than 2 void lookups";
	}
	if (type == DNS_T_MX && a->rc == DNS_OK && a->n > 10 && !lc->limit)
		lc->limit = "more than 10 MX records";
}

/* add_derived - a name an MX or PTR answer gave */
static void add_derived(struct lookup_ctx *lc, const char *name, bool ptr)
{
	if (lc && lc->nderived < sizeof(lc->derived) / sizeof(lc->derived[0])) {
		lc->derived_ptr[lc->nderived] = ptr;
		lc->derived[lc->nderived++] = xstrdup(name);
	}
}

/* rr_fill - copy the answer's records of the asked type into rr */
static void rr_fill(SPF_dns_rr_t *rr, ns_type type, const struct dns_answer *a)
{
	char name[DNS_NAME_MAX + 2];
	int k = 0;

	for (size_t i = 0; i < a->n; i++) {
		const unsigned char *d = a->data[i];
		size_t len = a->len[i];
		switch ((int)type) {
		case DNS_T_A:
			if (len == sizeof(struct in_addr))
				rr_put(rr, k++, d, len);
			break;
		case DNS_T_AAAA:
			if (len == sizeof(struct in6_addr))
				rr_put(rr, k++, d, len);
			break;
		case DNS_T_PTR:
			/* §4.6.4: the first 10 names are used, the rest
			 * ignored (libspf2 would make it a permerror) */
			if (k < 10 && wire_name(d, len, 0, name, sizeof(name)) == 0) {
				rr_put(rr, k++, name, strlen(name) + 1);
				add_derived(cur_ctx, name, true);
			}
			break;
		case DNS_T_MX:
			if (len > 2 && wire_name(d, len, 2, name, sizeof(name)) == 0) {
				rr_put(rr, k++, name, strlen(name) + 1);
				add_derived(cur_ctx, name, false);
			}
			break;
		case DNS_T_TXT: {
			/* libspf2 asks for TXT itself only for exp= texts:
			 * they are compiled as macro strings, so capped too */
			size_t tlen;
			const char *why;
			char *t = dns_txt_join(d, len, &tlen);
			if (t && spf_record_precheck(t, tlen, true, &why) == 0)
				rr_put(rr, k++, t, tlen + 1);
			free(t);
			break;
		}
		default:
			break;
		}
	}
	rr->num_rr = k;
}

/* pp_lookup - libspf2's DNS callback: A, AAAA, MX, PTR and exp TXT */
static SPF_dns_rr_t *pp_lookup(SPF_dns_server_t *srv, const char *domain,
			       ns_type type, int should_cache)
{
	struct lookup_ctx *lc = cur_ctx;
	struct dns_query *q = NULL;
	const struct dns_answer *a = NULL;
	SPF_dns_rr_t *rr;

	(void)should_cache;	/* libunbound caches */
	/* RFC 7208 §3.1, §14.1: the SPF RR type is obsolete; never asked */
	if ((int)type != DNS_T_SPF) {
		a = ctx_query(lc, domain, (int)type, &q);
		count_lookup(lc, domain, (int)type, a);
	}
	int herr = (int)type == DNS_T_SPF ? NO_DATA : rc_herrno(a);
	/* §5.5: an error looking up the address of a name from a PTR
	 * answer skips that name, it is not a temperror */
	if (herr == TRY_AGAIN && ((int)type == DNS_T_A || (int)type == DNS_T_AAAA) &&
	    derived_from(lc, domain) == 2)
		herr = HOST_NOT_FOUND;
	rr = SPF_dns_rr_new_init(srv, domain, type, 60, herr);
	if (rr == NULL)
		log_fatal("spf: out of memory");
	if (a && a->rc == DNS_OK) {
		rr_fill(rr, type, a);
		if (rr->num_rr == 0)
			rr->herrno = NO_DATA;
	}
	if (lc && rr->herrno == TRY_AGAIN)
		cat_to(lc->why, sizeof(lc->why), domain, ": DNS ",
		       a ? dns_rc_name(a->rc) : "lookup limit reached", (char *)NULL);
	dns_query_free(q);
	return rr;
}

/* get_spf_fail - set the response's result and say why */
static SPF_errcode_t get_spf_fail(SPF_response_t *resp, struct lookup_ctx *lc,
				  SPF_result_t result, SPF_errcode_t code,
				  const char *domain, const char *what)
{
	resp->result = result;
	resp->reason = SPF_REASON_FAILURE;
	if (lc)
		cat_to(lc->why, sizeof(lc->why), domain, ": ", what, (char *)NULL);
	return SPF_response_add_error(resp, code, "%.260s: %.50s", domain, what);
}

/* spf_answer_record - how many of the TXT answer's records are SPF
 * records ("v=spf1", RFC 7208 §4.5); *rec gets the first in fresh
 * memory (NULL if none) and *len its length */
static size_t spf_answer_record(const struct dns_answer *a, char **rec, size_t *len)
{
	size_t nfound = 0;

	*rec = NULL;
	*len = 0;
	for (size_t i = 0; a->rc == DNS_OK && i < a->n; i++) {
		size_t tlen;
		char *t = dns_txt_join(a->data[i], a->len[i], &tlen);
		if (t && tlen >= 6 && strncasecmp(t, "v=spf1", 6) == 0 &&
		    (tlen == 6 || t[6] == ' ') && nfound++ == 0) {
			*rec = t;
			*len = tlen;
			continue;
		}
		free(t);
	}
	return nfound;
}

/* pp_get_spf - libspf2's record callback (top level, include:,
 * redirect=): the one TXT record starting "v=spf1" (RFC 7208 §4.5),
 * prechecked, then compiled.  SPF_E_DNS_ERROR makes an include
 * temperror; any other error code makes it permerror (§5.2) */
static SPF_errcode_t pp_get_spf(SPF_server_t *srv, SPF_request_t *req,
				SPF_response_t *resp, SPF_record_t **recp)
{
	struct lookup_ctx *lc = cur_ctx;
	const char *domain = req->cur_dom, *why;
	struct dns_query *q = NULL;
	const struct dns_answer *a;
	char *found = NULL, why_buf[64];
	size_t nfound = 0, flen = 0;
	SPF_errcode_t err;

	*recp = NULL;
	/* include: and redirect= are DNS terms (§4.6.4) */
	if (lc && lc->nspf++ > 0 && ++lc->terms > 10 && !lc->limit)
		lc->limit = "more than 10 DNS lookups";
	a = ctx_query(lc, domain, DNS_T_TXT, &q);
	if (a == NULL || a->rc == DNS_SERVFAIL || a->rc == DNS_TIMEOUT) {
		cat_to(why_buf, sizeof(why_buf), "DNS ",
		       a ? dns_rc_name(a->rc) : "lookup limit reached", " looking up TXT",
		       (char *)NULL);
		dns_query_free(q);
		return get_spf_fail(resp, lc, SPF_RESULT_TEMPERROR, SPF_E_DNS_ERROR,
				    domain, why_buf);
	}
	nfound = spf_answer_record(a, &found, &flen);
	dns_query_free(q);
	if (nfound == 0)
		return get_spf_fail(resp, lc, SPF_RESULT_NONE, SPF_E_NOT_SPF,
				    domain, "no SPF record");
	if (nfound > 1) {
		free(found);
		return get_spf_fail(resp, lc, SPF_RESULT_PERMERROR,
				    SPF_E_MULTIPLE_RECORDS, domain,
				    "more than one SPF record");
	}
	if (lc && lc->nseen < SPF_MAX_SEEN) {
		/* for the detail: at most SPF_SHOW_MAX bytes, controls and
		 * 8-bit bytes shown as '?' (the record is hostile input) */
		size_t n = flen < SPF_SHOW_MAX ? flen : SPF_SHOW_MAX;
		char *show = xmalloc(n + 1);	/* not xstrndup: NULs inside */
		for (size_t i = 0; i < n; i++)
			show[i] = ((unsigned char)found[i] < 0x20 ||
				   (unsigned char)found[i] > 0x7e) ? '?' : found[i];
		show[n] = '\0';
		if (n < flen)
			strcpy(show + n - 3, "...");
		lc->seen[lc->nseen].domain = xstrdup(domain);
		lc->seen[lc->nseen].record = show;
		lc->nseen++;
	}
	if (spf_record_precheck(found, flen, false, &why) < 0) {
		free(found);
		cat_to(why_buf, sizeof(why_buf), "record refused: ", why, (char *)NULL);
		return get_spf_fail(resp, lc, SPF_RESULT_PERMERROR, SPF_E_SYNTAX,
				    domain, why_buf);
	}
	char *norm = spf_record_normalize(found, &why);
	free(found);
	/* the rewrites may lengthen a record: the caps hold for what
	 * libspf2 really gets */
	if (norm && spf_record_precheck(norm, strlen(norm), false, &why) < 0) {
		free(norm);
		norm = NULL;
	}
	if (norm == NULL) {
		cat_to(why_buf, sizeof(why_buf), "bad record: ", why, (char *)NULL);
		return get_spf_fail(resp, lc, SPF_RESULT_PERMERROR, SPF_E_SYNTAX,
				    domain, why_buf);
	}
	err = SPF_record_compile(srv, resp, recp, norm);
	free(norm);
	if (err != SPF_E_SUCCESS) {
		if (*recp)
			SPF_record_free(*recp);
		*recp = NULL;
		cat_to(why_buf, sizeof(why_buf), "bad record: ", SPF_strerror(err), (char *)NULL);
		get_spf_fail(resp, lc, SPF_RESULT_PERMERROR, err, domain, why_buf);
		return err == SPF_E_DNS_ERROR ? SPF_E_SYNTAX : err;
	}
	return SPF_E_SUCCESS;
}

static SPF_dns_server_t pp_dns = {
	.lookup = pp_lookup,
	.get_spf = pp_get_spf,
	.name = "parapet",
};

/* libspf2's messages go to our log, never to stdout (parapetctl --json) */
static void __attribute__((noreturn)) spf_log_error(const char *file, int line,
						    const char *msg)
{
	log_fatal("libspf2: %s:%d: %s", file ? file : "?", line, msg);
	abort();
}

static void spf_log_other(const char *file, int line, const char *msg)
{
	log_debug("libspf2: %s:%d: %s", file ? file : "?", line, msg);
}

static void spf_log_none(const char *file, int line, const char *msg)
{
	(void)file;
	(void)line;
	(void)msg;
}

/* server_init - the shared SPF_server_t, once per process */
static void server_init(void)
{
	SPF_error_handler = spf_log_error;
	SPF_warning_handler = spf_log_other;
	SPF_info_handler = spf_log_other;
	SPF_debug_handler = spf_log_none;
	server = SPF_server_new_dns(&pp_dns, 0);
	if (server == NULL)
		log_fatal("spf: cannot create the libspf2 server");
}

static SPF_server_t *server_get(void)
{
	pthread_once(&server_once, server_init);
	return server;
}

/* spf_record_compile_test - what the fuzzer drives */
int spf_record_compile_test(const char *rec, size_t len)
{
	const char *why;
	SPF_server_t *srv = server_get();
	SPF_response_t *resp;
	SPF_record_t *r = NULL;
	char *text;
	int rc;

	if (spf_record_precheck(rec, len, false, &why) < 0)
		return 1;
	text = xstrndup(rec, len);
	char *norm = spf_record_normalize(text, &why);
	free(text);
	if (norm && spf_record_precheck(norm, strlen(norm), false, &why) < 0) {
		free(norm);
		norm = NULL;
	}
	if (norm == NULL)
		return 1;
	text = norm;
	resp = SPF_response_new(NULL);
	if (resp == NULL)
		log_fatal("spf: out of memory");
	rc = SPF_record_compile(srv, resp, &r, text) == SPF_E_SUCCESS ? 0 : 2;
	SPF_record_free(r);
	SPF_response_free(resp);
	free(text);
	return rc;
}

/* ---------------------------------------------------------------- detail */

/* seen_find - the record fetched for domain, or NULL */
static const char *seen_find(const struct lookup_ctx *lc, const char *domain)
{
	for (size_t i = 0; i < lc->nseen; i++)
		if (strcasecmp(lc->seen[i].domain, domain) == 0)
			return lc->seen[i].record;
	return NULL;
}

/* seen_lookup - seen_find for spf_record_attribute */
static const char *seen_lookup(void *arg, const char *domain)
{
	return seen_find(arg, domain);
}

/* make_detail - "domain: \"record\" matched MECH" or why there is none */
static char *make_detail(const struct lookup_ctx *lc, const char *domain,
			 SPF_response_t *resp, enum auth_result r, const char *ip)
{
	const char *rec = seen_find(lc, domain);
	char mech[256];

	if (SPF_response_reason(resp) == SPF_REASON_LOCALHOST)
		return cat(domain, ": loopback client, not checked", (char *)NULL);
	if (r == AUTH_PASS || r == AUTH_FAIL || r == AUTH_SOFTFAIL || r == AUTH_NEUTRAL) {
		if (rec == NULL)
			return cat(domain, ": ", auth_result_name(r, false), (char *)NULL);
		if (SPF_response_reason(resp) == SPF_REASON_DEFAULT)
			return cat(domain, ": \"", rec, "\" matched nothing (default neutral)",
				   (char *)NULL);
		static const char quals[] = { [AUTH_PASS] = '+', [AUTH_FAIL] = '-',
					      [AUTH_SOFTFAIL] = '~', [AUTH_NEUTRAL] = '?' };
		spf_record_attribute(rec, quals[r], ip, seen_lookup, (void *)lc, mech,
				     sizeof(mech));
		return cat(domain, ": \"", rec, "\" matched ", mech[0] ? mech : "a mechanism",
			   (char *)NULL);
	}
	const char *why = lc->why[0] ? lc->why
		: SPF_strerror(SPF_response_errcode(resp));
	if (rec && strncmp(why, domain, strlen(domain)) != 0)
		return cat(domain, ": \"", rec, "\": ", why, (char *)NULL);
	if (rec)
		return cat(domain, ": \"", rec, "\": ",
			   why + strlen(domain) + (why[strlen(domain)] ? 2 : 0), (char *)NULL);
	return xstrdup(why);
}

/* ---------------------------------------------------------------- checks */

static bool has_8bit(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

static void set_outcome(struct spf_outcome *out, enum auth_result r,
			const char *domain, char *detail)
{
	out->checked = true;
	out->result = r;
	out->domain = xstrdup(domain);
	for (char *p = out->domain; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	out->detail = detail;
}

/* map_result - libspf2's result word as ours */
static enum auth_result map_result(SPF_result_t r)
{
	switch (r) {
	case SPF_RESULT_PASS: return AUTH_PASS;
	case SPF_RESULT_FAIL: return AUTH_FAIL;
	case SPF_RESULT_SOFTFAIL: return AUTH_SOFTFAIL;
	case SPF_RESULT_NEUTRAL: return AUTH_NEUTRAL;
	case SPF_RESULT_NONE: return AUTH_NONE;
	case SPF_RESULT_TEMPERROR: return AUTH_TEMPERROR;
	case SPF_RESULT_PERMERROR: return AUTH_PERMERROR;
	default: return AUTH_PERMERROR;	/* SPF_RESULT_INVALID: our bug */
	}
}

/* domain_checkable - RFC 7208 §4.3: a malformed or single-label domain
 * gives "none" without any lookup */
static bool domain_checkable(const char *d)
{
	return dns_name_ok(d) && strchr(d, '.') != NULL && d[strlen(d) - 1] != '.';
}

/*
 * check_identity - one SPF check of sender (LOCAL@DOMAIN) for c's client.
 * domain is the identity's domain, helo the HELO name for %{h}.
 */
static void check_identity(struct spf_check *c, const char *sender, const char *domain,
			   struct spf_outcome *out)
{
	const char *local_end = strrchr(sender, '@');
	SPF_request_t *req;
	SPF_response_t *resp = NULL;
	struct lookup_ctx lc = { .dns = c->engine->dns, .dl = c->dl, .check = c };
	unsigned char a6[16];
	int fam;
	const char *ip = c->ip;
	enum auth_result r;

	/* SPEC §7: 8-bit input is never expanded by libspf2.  An 8-bit
	 * domain cannot be looked up (RFC 7208 §4.3: none); an 8-bit local
	 * part (SMTPUTF8) could only be expanded by %{l}: permerror */
	if (has_8bit(domain)) {
		set_outcome(out, AUTH_NONE, domain, cat(domain, ": 8-bit domain, not checked",
							(char *)NULL));
		return;
	}
	if (!domain_checkable(domain)) {
		set_outcome(out, AUTH_NONE, domain,
			    cat(domain, ": not a fully qualified domain name", (char *)NULL));
		return;
	}
	if (local_end && has_8bit(sender)) {
		set_outcome(out, AUTH_PERMERROR, domain,
			    cat(domain, ": 8-bit local-part, not expanded", (char *)NULL));
		return;
	}
	req = SPF_request_new(server_get());
	if (req == NULL)
		log_fatal("spf: out of memory");
	/* cidr_ip_parse: an IPv4-mapped client is an IPv4 client (RFC 7208
	 * §5.6) */
	fam = cidr_ip_parse(ip, a6);
	if (fam == 4) {
		struct in_addr a4;
		memcpy(&a4, a6, 4);
		SPF_request_set_ipv4(req, a4);
	} else if (fam == 6) {
		struct in6_addr in6;
		memcpy(&in6, a6, 16);
		SPF_request_set_ipv6(req, in6);
	} else {
		SPF_request_free(req);
		set_outcome(out, AUTH_NONE, domain, cat("client address ", ip, " not understood",
							(char *)NULL));
		return;
	}
	if (c->helo[0] && !has_8bit(c->helo))
		SPF_request_set_helo_dom(req, c->helo);
	SPF_request_set_env_from(req, sender);
	cur_ctx = &lc;
	SPF_request_query_mailfrom(req, &resp);
	cur_ctx = NULL;
	r = resp ? map_result(SPF_response_result(resp)) : AUTH_TEMPERROR;
	/* libspf2 passes loopback clients without a lookup; that is no
	 * statement of the domain's (and must not align for DMARC) */
	if (resp && SPF_response_reason(resp) == SPF_REASON_LOCALHOST)
		r = AUTH_NONE;
	if (lc.limit && r != AUTH_TEMPERROR) {
		/* evaluation would have stopped there (§4.6.4) */
		const char *rec = seen_find(&lc, domain);
		r = AUTH_PERMERROR;
		set_outcome(out, r, domain, rec ? cat(domain, ": \"", rec, "\": ", lc.limit, (char *)NULL)
			    : cat(domain, ": ", lc.limit, (char *)NULL));
	} else {
		set_outcome(out, r, domain, resp ? make_detail(&lc, domain, resp, r, ip)
			    : xstrdup("libspf2 gave no response"));
	}
	SPF_response_free(resp);
	SPF_request_free(req);
	for (size_t i = 0; i < lc.nseen; i++) {
		free(lc.seen[i].domain);
		free(lc.seen[i].record);
	}
	for (size_t i = 0; i < lc.nderived; i++)
		free(lc.derived[i]);
}

/* outcome_copy - the same outcome for a second identity */
static void outcome_copy(struct spf_outcome *dst, const struct spf_outcome *src)
{
	*dst = *src;
	dst->domain = src->domain ? xstrdup(src->domain) : NULL;
	dst->detail = src->detail ? xstrdup(src->detail) : NULL;
}

static void outcome_clear(struct spf_outcome *o)
{
	free(o->domain);
	free(o->detail);
	memset(o, 0, sizeof(*o));
}

/* run_checks - MAIL FROM first (it decides DMARC), then HELO; a null
 * sender is the HELO identity (RFC 7208 §2.4), checked once */
static void run_checks(struct spf_check *c)
{
	const char *helo = c->helo;
	bool helo_ok = helo[0] && helo[0] != '[';
	char *pm = cat("postmaster@", helo, (char *)NULL);

	if (c->mail_from[0] != '\0') {
		const char *at = strrchr(c->mail_from, '@');
		check_identity(c, c->mail_from, at ? at + 1 : c->mail_from, &c->mfrom);
	}
	if (helo_ok)
		check_identity(c, pm, helo, &c->helo_out);
	else
		set_outcome(&c->helo_out, AUTH_NONE, helo,
			    cat("HELO '", helo, "' is not a domain name", (char *)NULL));
	if (c->mail_from[0] == '\0')
		outcome_copy(&c->mfrom, &c->helo_out);
	free(pm);
}

/* pre_send - send the query of (name, type) for identity root ahead of
 * libspf2, unless sent already, over the caps, or past the deadline */
static void pre_send(struct spf_check *c, const char *name, int type, int root)
{
	if (c->npre >= SPF_PRE_MAX || !dns_name_ok(name) || pre_find(c, name, type) ||
	    dns_deadline_passed(c->dl))
		return;
	struct pre_query *p = &c->pre[c->npre++];
	p->name = xstrdup(name);
	p->type = type;
	p->root = root;
	p->read = false;
	p->q = dns_start(c->engine->dns, name, type);
}

/* early_send - at the envelope: the TXT query of domain, which the check
 * of an identity in it will ask first */
static void early_send(struct spf_check *c, const char *domain, int root)
{
	if (has_8bit(domain) || !domain_checkable(domain))
		return;		/* check_identity answers those without DNS */
	pre_send(c, domain, DNS_T_TXT, root);
}

/* follow_record - the TXT answer a of p's name arrived: send what its
 * SPF record's terms will look up, up to the identity's term budget */
static void follow_record(struct spf_check *c, const struct pre_query *p,
			  const struct dns_answer *a)
{
	struct spf_target t[SPF_PRE_TERMS];
	const char *why;
	size_t len, n;
	char *rec = NULL;

	if (spf_answer_record(a, &rec, &len) != 1 ||
	    spf_record_precheck(rec, len, false, &why) < 0) {
		free(rec);
		return;		/* libspf2 will not get that far either */
	}
	char *norm = spf_record_normalize(rec, &why);
	free(rec);
	if (norm == NULL)
		return;
	n = spf_record_targets(norm, p->name, t, SPF_PRE_TERMS);
	free(norm);
	for (size_t i = 0; i < n && c->terms[p->root] < SPF_PRE_TERMS; i++) {
		c->terms[p->root]++;
		pre_send(c, t[i].name, t[i].kind == SPF_FETCH_RECORD ? DNS_T_TXT :
			 t[i].kind == SPF_FETCH_MX ? DNS_T_MX : c->fam == 6 ? DNS_T_AAAA : DNS_T_A,
			 p->root);
	}
}

/* follow_mx - the MX answer a arrived: libspf2 will ask the addresses of
 * its first SPF_PRE_MX names */
static void follow_mx(struct spf_check *c, const struct pre_query *p,
		      const struct dns_answer *a)
{
	char name[DNS_NAME_MAX + 2];

	for (size_t i = 0; i < a->n && i < SPF_PRE_MX; i++)
		if (a->len[i] > 2 && wire_name(a->data[i], a->len[i], 2, name, sizeof(name)) == 0)
			pre_send(c, name, c->fam == 6 ? DNS_T_AAAA : DNS_T_A, p->root);
}

/* spf_prefetch - follow the answers that have come, without blocking */
void spf_prefetch(struct spf_check *c)
{
	bool polled = false;

	if (c->done || c->nread == c->npre || dns_deadline_passed(c->dl))
		return;
	/* c->npre grows as answers are followed: those answered from
	 * dns.c's cache are followed in this same pass */
	for (size_t i = 0; i < c->npre; i++) {
		struct pre_query *p = &c->pre[i];
		if (p->read)
			continue;
		/* one dns_done delivers whatever has come for all of them */
		bool in = polled ? dns_ready(p->q) : dns_done(p->q);
		polled = true;
		if (!in)
			continue;
		p->read = true;
		c->nread++;
		const struct dns_answer *a = dns_wait(p->q, c->dl);	/* in: no wait */
		if (a->rc != DNS_OK)
			continue;
		if (p->type == DNS_T_TXT)
			follow_record(c, p, a);
		else if (p->type == DNS_T_MX)
			follow_mx(c, p, a);
	}
}

/* spf_start - send the check's first queries; libspf2 runs at spf_wait */
struct spf_check *spf_start(struct engine *e, struct dns_deadline *dl, const char *ip,
			    const char *helo, const char *mail_from)
{
	struct spf_check *c = xcalloc(1, sizeof(*c));
	unsigned char a6[16];

	server_get();
	c->engine = engine_ref(e);
	c->dl = dns_deadline_ref(dl);
	c->ip = xstrdup(ip);
	c->helo = xstrdup(helo ? helo : "");
	c->mail_from = xstrdup(mail_from ? mail_from : "");
	int fam = cidr_ip_parse(c->ip, a6);
	c->fam = fam;
	if (fam == 0)
		return c;	/* check_identity says so, without DNS */
	/* libspf2 passes a loopback client without asking (check_identity
	 * makes that "none"): nothing to fetch */
	if ((fam == 4 && a6[0] == 127) ||
	    (fam == 6 && memcmp(a6, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) == 0))
		return c;
	if (c->mail_from[0] != '\0') {
		const char *at = strrchr(c->mail_from, '@');
		early_send(c, at ? at + 1 : c->mail_from, 0);
	}
	if (c->helo[0] && c->helo[0] != '[')
		early_send(c, c->helo, 1);
	return c;
}

/* spf_wait - the outcomes, evaluated now in the caller's thread; every
 * lookup ends by the deadline */
void spf_wait(struct spf_check *c, const struct spf_outcome **mfrom,
	      const struct spf_outcome **helo)
{
	if (!c->done) {
		/* what came since the last hook: its lookups go out now,
		 * side by side, rather than one by one inside libspf2 */
		spf_prefetch(c);
		/* end of data: scan_finish has fixed the deadline already,
		 * this only keeps a wait from anywhere else bounded */
		dns_deadline_fix(c->dl);
		run_checks(c);
		c->done = true;
	}
	*mfrom = &c->mfrom;
	*helo = &c->helo_out;
}

/* spf_check_lookups - the counts of spf_wait's lookups */
void spf_check_lookups(const struct spf_check *c, int *asked, int *ready)
{
	*asked = c->asked;
	*ready = c->ready;
}

/* spf_check_free - release, cancelling the queries still pending */
struct spf_check *spf_check_free(struct spf_check *c)
{
	if (c == NULL)
		return NULL;
	for (size_t i = 0; i < c->npre; i++) {
		dns_query_free(c->pre[i].q);
		free(c->pre[i].name);
	}
	outcome_clear(&c->mfrom);
	outcome_clear(&c->helo_out);
	free(c->ip);
	free(c->helo);
	free(c->mail_from);
	dns_deadline_unref(c->dl);
	engine_unref(c->engine);
	free(c);
	return NULL;
}
