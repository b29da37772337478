/*
 * dkim.c - the "dkim" scan stage: verify DKIM signatures with libopendkim
 * (see dkim.h for the symbols).
 *
 * Owns: one DKIM_LIB for the process (built once, never changed: its
 * options are constants, and everything that depends on the message — the
 * resolver and the message's DNS deadline — reaches the key lookup
 * through the message's state), and per message a struct dkim_state in
 * the stage's slot: the libopendkim handle, the job id it was given (a
 * copy: libopendkim keeps the pointer, and the message's queue id is
 * replaced when the MTA sends it again at end of message), the key
 * lookups and the counters of what was handed over.
 *
 * Thread safety: libopendkim keeps no per-message state in the DKIM_LIB,
 * and its key lookup callback gets the message's handle, so any number of
 * threads verify at once on the one library.  A DKIM handle belongs to the
 * thread scanning its message.
 *
 * Data flow: every header field as it arrives goes to dkim_header, bounded
 * (auth_field: length cap, CRLF folding; at most DKIM_MAX_FIELDS fields,
 * DKIM_MAX_SIGS signatures of DKIM_MAX_SIG_TAGS tags and
 * DKIM_MAX_ARC_FIELDS ARC fields); each body
 * chunk, as it arrives (the first one ends the header with dkim_eoh),
 * goes to parapet's own body hashes (dkim_body.c, one per body
 * canonicalization and algorithm among the signatures), or, when a
 * signature has l=, to dkim_body; nothing is buffered twice.  With the
 * own hashes the library hashes an empty body, and its body hash result
 * is replaced by ours (own_bh): the header signature is still its.  A DKIM-Signature's key
 * query is started when the field arrives and collected at end of
 * message, so DNS overlaps the body transfer; every wait is bounded by the
 * message's one DNS deadline (scan_dns_deadline).
 *
 * Keys: libopendkim's own resolver and DNS packet parser are not used.
 * dkim_set_key_lookup hands the library the key record text, which
 * parapet fetched with dns.c and checked (auth_record_ok): a hostile DNS
 * answer never reaches the library's packet parser.  RFC 6376 §6.1.2: no
 * key record is a PERMFAIL (DKIM_INVALID), a DNS timeout or SERVFAIL a
 * TEMPFAIL (DKIM_TEMPERROR).
 *
 * Policy beyond the library: rsa-sha1 signatures and RSA keys under 1024
 * bits are not valid (RFC 8301 §3.1, §3.2); v=0.5 drafts and DomainKeys
 * are not accepted (libopendkim flags left off).
 */
#include "autoconfig.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <opendkim/dkim.h>

#include "mail/auth.h"
#include "stages/auth/dkim.h"
#include "stages/auth/dkim_body.h"
#include "stages/auth/dkim_key.h"
#include "stages/auth/dmarc.h"
#include "net/dns.h"
#include "core/engine.h"
#include "base/log.h"
#include "core/scan.h"
#include "core/stage.h"
#include "base/strbuf.h"
#include "base/util.h"

#define DKIM_MIN_RSA_BITS 1024	/* RFC 8301 §3.2 */
#define DETAIL_MAX 1024

/* one key record name and its lookup */
struct dkim_key {
	char name[DNS_NAME_MAX + 2];
	struct dns_query *q;
	bool q_ok;		/* the signature's q= allows dns/txt */
	bool temp;		/* the lookup failed temporarily */
	const char *why;	/* static reason of a failed lookup */
};

struct sig_result {
	enum auth_result res;
	char d[AUTH_DOMAIN_SIZE];	/* "" when not printable */
	char s[128];
	const char *alg;
	unsigned int bits;
	char why[160];
	bool partial;
	char partial_detail[80];
};

/* one body hash parapet computes itself, shared by the signatures of the
 * same body canonicalization and algorithm */
struct own_hash {
	bool relaxed, sha1;
	struct dkim_bodyhash *h;
	unsigned char d[DKIM_BODY_DIGEST_MAX];
	size_t dlen;
};

struct dkim_state {
	struct scan *sc;
	DKIM *dkim;
	char *id;		/* the handle's job id, owned: the library
				 * keeps this pointer until dkim_free */
	bool eoh_done;
	bool stop;		/* no signature, or the library gave up */
	char *lib_error;	/* dkim_eoh/dkim_body error, owned */
	size_t fields;		/* handed over */
	size_t skipped;		/* fields not handed over (caps) */
	size_t arc;
	size_t sigs;		/* DKIM-Signature fields handed over */
	size_t sigs_ignored;	/* over DKIM_MAX_SIGS or oversized */
	struct dkim_key keys[DKIM_MAX_SIGS];
	size_t nkeys;
	/* signature fields the library refused in dkim_header (pre-RFC
	 * forms without v=, syntax errors): permerror, named here */
	struct sig_result refused[DKIM_MAX_SIGS];
	size_t nrefused;
	/* body hashes computed here, not by the library (no l= anywhere) */
	bool own;
	struct own_hash hashes[4];
	size_t nhashes;
};

static DKIM_LIB *lib;
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

/* ---------------------------------------------------------------- keys */

/* key_find - the lookup for a record name, or NULL */
static struct dkim_key *key_find(struct dkim_state *st, const char *name)
{
	for (size_t i = 0; i < st->nkeys; i++)
		if (strcmp(st->keys[i].name, name) == 0)
			return &st->keys[i];
	return NULL;
}

/* key_name - "SEL._domainkey.DOM" into name; false if it does not fit */
static bool key_name(char *name, size_t cap, const char *sel, const char *dom)
{
	return str_join3(name, cap, sel, "._domainkey.", dom);
}

/* q_allows_dns - does a q= value list dns/txt (RFC 6376 §3.5)? */
static bool q_allows_dns(const char *q)
{
	char buf[256];
	char *save = NULL;

	str_copy(buf, sizeof(buf), q);
	for (char *m = strtok_r(buf, ":", &save); m; m = strtok_r(NULL, ":", &save))
		if (strcasecmp(m, "dns/txt") == 0 || strcasecmp(m, "dns") == 0)
			return true;
	return false;
}

/* key_prefetch - start the key query of a signature as its field arrives */
static void key_prefetch(struct dkim_state *st, const char *value)
{
	char d[AUTH_DOMAIN_SIZE], s[128], q[256], name[DNS_NAME_MAX + 2];

	if (!auth_tag(value, "d", d, sizeof(d)) || !auth_tag(value, "s", s, sizeof(s)))
		return;		/* the library reports the syntax error */
	str_lower(d);
	str_lower(s);
	if (!key_name(name, sizeof(name), s, d))
		return;
	if (key_find(st, name) || st->nkeys >= DKIM_MAX_SIGS)
		return;
	struct dkim_key *k = &st->keys[st->nkeys++];
	str_copy(k->name, sizeof(k->name), name);
	k->q_ok = !auth_tag(value, "q", q, sizeof(q)) || q_allows_dns(q);
	if (k->q_ok)
		k->q = dns_start(st->sc->engine->dns, name, DNS_T_TXT);
}

/* key_lookup - libopendkim's key callback: the record text into buf */
static DKIM_CBSTAT key_lookup(DKIM *dkim, DKIM_SIGINFO *sig, u_char *buf, size_t buflen)
{
	struct dkim_state *st = dkim_get_user_context(dkim);
	const char *sel = (const char *)dkim_sig_getselector(sig);
	const char *dom = (const char *)dkim_sig_getdomain(sig);
	char name[DNS_NAME_MAX + 2];
	struct dkim_key *k;

	if (st == NULL || sel == NULL || dom == NULL ||
	    !key_name(name, sizeof(name), sel, dom))
		return DKIM_CBSTAT_NOTFOUND;
	str_lower(name);
	k = key_find(st, name);
	if (k == NULL) {
		/* not prefetched (its field did not parse for us): ask now */
		if (st->nkeys >= DKIM_MAX_SIGS)
			return DKIM_CBSTAT_NOTFOUND;
		k = &st->keys[st->nkeys++];
		str_copy(k->name, sizeof(k->name), name);
		k->q_ok = true;
		k->q = dns_start(st->sc->engine->dns, name, DNS_T_TXT);
	}
	if (!k->q_ok) {
		k->why = "no supported query method in q=";
		return DKIM_CBSTAT_NOTFOUND;
	}
	const struct dns_answer *a = dns_wait(k->q, scan_dns_deadline(st->sc));
	switch (a->rc) {
	case DNS_OK:
		break;
	case DNS_TIMEOUT:
		k->temp = true;
		k->why = "key lookup timed out";
		return DKIM_CBSTAT_NOTFOUND;
	case DNS_SERVFAIL:
		k->temp = true;
		k->why = "key lookup failed (SERVFAIL)";
		return DKIM_CBSTAT_NOTFOUND;
	case DNS_BADNAME:
		k->why = "key name is not a valid domain name";
		return DKIM_CBSTAT_NOTFOUND;
	default:
		k->why = "no key record";
		return DKIM_CBSTAT_NOTFOUND;
	}
	/* RFC 6376 §6.1.2 step 3: with several records the verifier may
	 * choose one; take the first, its strings joined (§3.6.2.2) */
	size_t len;
	const char *why = NULL;
	char *rec = dns_txt_join(a->data[0], a->len[0], &len);
	if (rec == NULL) {
		k->why = "malformed key record";
		return DKIM_CBSTAT_NOTFOUND;
	}
	/* libopendkim's buffer is 1025 bytes (BUFRSZ + 1), its own resolver
	 * has the same limit: a key record over 1024 bytes (RSA keys larger
	 * than about 5,000 bits) cannot be used and is a PERMFAIL */
	size_t cap = buflen > 0 ? buflen - 1 : 0;
	if (cap > AUTH_MAX_RECORD_BYTES)
		cap = AUTH_MAX_RECORD_BYTES;
	if (!auth_record_ok(rec, len, cap, &why)) {
		k->why = why;
		free(rec);
		return DKIM_CBSTAT_NOTFOUND;
	}
	memcpy(buf, rec, len + 1);
	free(rec);
	return DKIM_CBSTAT_CONTINUE;
}

/* ---------------------------------------------------------------- library */

/* lib_init - the process's DKIM_LIB */
static void lib_init(void)
{
	unsigned int flags = DKIM_LIBFLAGS_DELAYSIGPROC | DKIM_LIBFLAGS_BADSIGHANDLES;
	unsigned int minbits = DKIM_MIN_RSA_BITS;

	lib = dkim_init(NULL, NULL);
	if (lib == NULL)
		log_fatal("dkim: cannot initialize libopendkim");
	/* DELAYSIGPROC: keys are fetched in dkim_eom, not at the end of the
	 * header, so the body streams in while the prefetched queries run */
	if (dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof(flags)) != DKIM_STAT_OK ||
	    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_MINKEYBITS, &minbits, sizeof(minbits)) != DKIM_STAT_OK)
		log_fatal("dkim: cannot set libopendkim options");
	dkim_set_key_lookup(lib, key_lookup);
	if (!dkim_key_init())	/* keys decoded once (dkim_key.c) */
		log_fatal("dkim: OpenSSL's d2i_PUBKEY_bio not found: DKIM keys could not be decoded");
}

/* dkim_has_ed25519 - libopendkim built with RFC 8463 support? */
bool dkim_has_ed25519(void)
{
	pthread_once(&lib_once, lib_init);
	return dkim_libfeature(lib, DKIM_FEATURE_ED25519);
}

/* ---------------------------------------------------------------- stream */

/* state_get - the message's state, made at the first header */
static struct dkim_state *state_get(struct scan *sc, void **slot, bool create)
{
	struct dkim_state *st;
	DKIM_STAT stat;

	if (slot == NULL)
		return NULL;
	if (*slot || !create)
		return *slot;
	pthread_once(&lib_once, lib_init);
	st = xcalloc(1, sizeof(*st));
	st->sc = sc;
	st->id = xstrdup(sc->msg->qid ? sc->msg->qid : "parapet");
	st->dkim = dkim_verify(lib, (const unsigned char *)st->id, NULL, &stat);
	if (st->dkim == NULL) {
		log_warn("dkim: dkim_verify: %s", dkim_getresultstr(stat));
		st->stop = true;
	} else {
		dkim_set_user_context(st->dkim, st);
	}
	*slot = st;
	return st;
}

/* lib_failed - remember why the library stopped */
static void lib_failed(struct dkim_state *st, const char *step, DKIM_STAT stat)
{
	const char *e = dkim_geterror(st->dkim);

	st->stop = true;
	if (st->lib_error == NULL)
		st->lib_error = xasprintf("%s: %s", step, e && *e ? e : dkim_getresultstr(stat));
}

/* safe_copy - d= or s= for output: LDH, dots and underscores only, so
 * that nothing from a signature can break out of a header or a log line */
static void safe_copy(char *out, size_t size, const unsigned char *in)
{
	size_t o = 0;

	out[0] = '\0';
	if (in == NULL)
		return;
	for (const unsigned char *p = in; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_') ||
		    o + 1 >= size) {
			out[0] = '\0';
			return;
		}
		out[o++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	}
	out[o] = '\0';
}

/* sig_refused - a signature field dkim_header would not take */
static void sig_refused(struct dkim_state *st, const char *value)
{
	const char *e = dkim_geterror(st->dkim);
	char tmp[AUTH_DOMAIN_SIZE];

	if (st->nrefused >= DKIM_MAX_SIGS) {
		st->sigs_ignored++;
		return;
	}
	struct sig_result *r = &st->refused[st->nrefused++];
	memset(r, 0, sizeof(*r));
	r->res = AUTH_PERMERROR;
	r->alg = "unknown";
	if (auth_tag(value, "d", tmp, sizeof(tmp)))
		safe_copy(r->d, sizeof(r->d), (const unsigned char *)tmp);
	if (auth_tag(value, "s", tmp, sizeof(tmp)))
		safe_copy(r->s, sizeof(r->s), (const unsigned char *)tmp);
	if (auth_tag(value, "a", tmp, sizeof(tmp)))
		r->alg = strcmp(tmp, "rsa-sha256") == 0 ? "rsa-sha256"
			: strcmp(tmp, "rsa-sha1") == 0 ? "rsa-sha1"
			: strcmp(tmp, "ed25519-sha256") == 0 ? "ed25519-sha256" : "unknown";
	struct sbuf w;
	sbuf_init(&w, r->why, sizeof(r->why));
	sbuf_puts(&w, "unusable signature: ");
	sbuf_puts(&w, e && *e ? e : "syntax error");
}

/* dkim_stage_header - one field, bounded, to the library */
void dkim_stage_header(struct scan *sc, void **state, const struct header *h)
{
	struct dkim_state *st = state_get(sc, state, true);
	bool sig = strcasecmp(h->name, "DKIM-Signature") == 0;
	size_t len;
	char *field;

	if (st == NULL || st->stop || st->eoh_done)
		return;
	if (st->fields >= DKIM_MAX_FIELDS) {
		st->skipped++;
		if (sig)
			st->sigs_ignored++;
		return;
	}
	if (strncasecmp(h->name, "ARC-", 4) == 0 && ++st->arc > DKIM_MAX_ARC_FIELDS) {
		st->skipped++;
		return;
	}
	if (sig && st->sigs >= DKIM_MAX_SIGS) {
		st->sigs_ignored++;
		return;
	}
	if (sig && auth_tag_count(h->value) > DKIM_MAX_SIG_TAGS) {
		st->skipped++;
		st->sigs_ignored++;
		return;
	}
	field = auth_field(h->name, h->raw, sig ? AUTH_MAX_SIG_BYTES : AUTH_MAX_FIELD_BYTES, &len);
	if (field == NULL) {
		st->skipped++;
		if (sig)
			st->sigs_ignored++;
		return;
	}
	DKIM_STAT stat = dkim_header(st->dkim, (u_char *)field, len);
	free(field);
	if (stat != DKIM_STAT_OK) {
		/* a field the library refuses (syntax) is left out, as a
		 * field over a cap is; only an internal failure stops it */
		if (stat == DKIM_STAT_SYNTAX) {
			if (sig)
				sig_refused(st, h->value);
			else
				st->skipped++;
			return;
		}
		lib_failed(st, "header", stat);
		return;
	}
	st->fields++;
	if (sig) {
		st->sigs++;
		key_prefetch(st, h->value);
	}
}

/* sig_body_kind - a signature's body canonicalization and hash; false
 * when the library does not know them (it reports that signature) */
static bool sig_body_kind(DKIM_SIGINFO *sig, bool *relaxed, bool *sha1)
{
	dkim_canon_t hc, bc;
	dkim_alg_t alg = DKIM_SIGN_UNKNOWN;

	if (dkim_sig_getcanons(sig, &hc, &bc) != DKIM_STAT_OK ||
	    (bc != DKIM_CANON_SIMPLE && bc != DKIM_CANON_RELAXED) ||
	    dkim_sig_getsignalg(sig, &alg) != DKIM_STAT_OK)
		return false;
	*relaxed = bc == DKIM_CANON_RELAXED;
	switch (alg) {
	case DKIM_SIGN_RSASHA1:
		*sha1 = true;
		return true;
	case DKIM_SIGN_RSASHA256:
	case DKIM_SIGN_ED25519SHA256:
		*sha1 = false;
		return true;
	default:
		return false;
	}
}

/* own_find - the body hash of a kind, or NULL */
static struct own_hash *own_find(struct dkim_state *st, bool relaxed, bool sha1)
{
	for (size_t i = 0; i < st->nhashes; i++)
		if (st->hashes[i].relaxed == relaxed && st->hashes[i].sha1 == sha1)
			return &st->hashes[i];
	return NULL;
}

/* own_setup - at the end of the header: hash the body here, a pass at
 * memcpy's pace, instead of in libopendkim (a function call per byte);
 * a signature with l= leaves it all to the library, which counts the
 * length and reports partial signatures */
static void own_setup(struct dkim_state *st)
{
	DKIM_SIGINFO **sigs = NULL;
	int nsigs = 0;

	if (dkim_getsiglist(st->dkim, &sigs, &nsigs) != DKIM_STAT_OK || nsigs <= 0)
		return;
	for (int i = 0; i < nsigs; i++)
		if (dkim_sig_gettagvalue(sigs[i], false, (u_char *)"l") != NULL)
			return;
	for (int i = 0; i < nsigs; i++) {
		bool relaxed, sha1;
		if (!sig_body_kind(sigs[i], &relaxed, &sha1) || own_find(st, relaxed, sha1))
			continue;
		struct own_hash *o = &st->hashes[st->nhashes];
		o->relaxed = relaxed;
		o->sha1 = sha1;
		o->h = dkim_bodyhash_new(relaxed, sha1);
		if (o->h == NULL)
			return;	/* the library hashes, as before */
		st->nhashes++;
	}
	st->own = true;
}

/* own_bh - a signature's body hash result from the own hashes (the
 * library's is of an empty body); untested stays untested */
static int own_bh(struct dkim_state *st, DKIM_SIGINFO *sig, int lib_bh)
{
	bool relaxed, sha1;
	struct own_hash *o;

	if (!st->own || lib_bh == DKIM_SIGBH_UNTESTED)
		return lib_bh;
	if (!sig_body_kind(sig, &relaxed, &sha1) || (o = own_find(st, relaxed, sha1)) == NULL)
		return DKIM_SIGBH_MISMATCH;
	return dkim_bodyhash_matches(o->d, o->dlen,
				     (const char *)dkim_sig_gettagvalue(sig, false, (u_char *)"bh"))
		? DKIM_SIGBH_MATCH : DKIM_SIGBH_MISMATCH;
}

/* end_of_header - dkim_eoh, once */
static void end_of_header(struct dkim_state *st)
{
	DKIM_STAT stat;

	if (st->eoh_done || st->stop)
		return;
	st->eoh_done = true;
	if (st->sigs == 0) {
		st->stop = true;	/* unsigned: no body hashing */
		return;
	}
	stat = dkim_eoh(st->dkim);
	if (stat == DKIM_STAT_NOSIG) {
		st->stop = true;
		if (st->lib_error == NULL)
			st->lib_error = xstrdup("no usable signature");
	} else if (stat != DKIM_STAT_OK) {
		lib_failed(st, "end of header", stat);
	} else {
		own_setup(st);
	}
}

/* dkim_stage_body - one chunk to the library, as it arrives */
void dkim_stage_body(struct scan *sc, void **state, const char *data, size_t len)
{
	struct dkim_state *st = state_get(sc, state, false);

	if (st == NULL)
		return;
	end_of_header(st);
	if (st->stop || len == 0)
		return;
	if (st->own) {
		for (size_t i = 0; i < st->nhashes; i++)
			dkim_bodyhash_add(st->hashes[i].h, data, len);
		return;
	}
	/* libopendkim reads the chunk and does not keep it */
	DKIM_STAT stat = dkim_body(st->dkim, (u_char *)(uintptr_t)data, len);
	if (stat != DKIM_STAT_OK)
		lib_failed(st, "body", stat);
}

/* ---------------------------------------------------------------- results */


/* alg_name - a= for output */
static const char *alg_name(DKIM_SIGINFO *sig)
{
	dkim_alg_t alg = DKIM_SIGN_UNKNOWN;

	dkim_sig_getsignalg(sig, &alg);
	switch (alg) {
	case DKIM_SIGN_RSASHA1: return "rsa-sha1";
	case DKIM_SIGN_RSASHA256: return "rsa-sha256";
	case DKIM_SIGN_ED25519SHA256: return "ed25519-sha256";
	default: return "unknown";
	}
}

/* sig_classify - one signature's result (RFC 8601 §2.7.1 words) */
static void sig_classify(struct dkim_state *st, DKIM_SIGINFO *sig, struct sig_result *r)
{
	unsigned int flags = dkim_sig_getflags(sig);
	int bh = own_bh(st, sig, dkim_sig_getbh(sig)), err = dkim_sig_geterror(sig);
	char name[DNS_NAME_MAX + 2];
	const struct dkim_key *k = NULL;

	memset(r, 0, sizeof(*r));
	safe_copy(r->d, sizeof(r->d), dkim_sig_getdomain(sig));
	safe_copy(r->s, sizeof(r->s), dkim_sig_getselector(sig));
	r->alg = alg_name(sig);
	dkim_sig_getkeysize(sig, &r->bits);
	if (key_name(name, sizeof(name), r->s, r->d))
		k = key_find(st, name);

	if ((flags & DKIM_SIGFLAG_PASSED) && bh == DKIM_SIGBH_MATCH) {
		/* libopendkim checks the key size (and clears PASSED) only
		 * when the signature had no other error; with our own body
		 * hash its check of the empty body it saw is such an error,
		 * so the size is checked here, on both paths */
		if (strncmp(r->alg, "rsa-", 4) == 0 && r->bits < DKIM_MIN_RSA_BITS) {
			r->res = AUTH_PERMERROR;
			str_copy(r->why, sizeof(r->why), "RSA key under 1024 bits (RFC 8301)");
			return;
		}
		/* a key with t=s and an i= in a subdomain of d=: the library
		 * records the error but leaves PASSED set */
		if (err == DKIM_SIGERROR_SUBDOMAIN) {
			r->res = AUTH_PERMERROR;
			str_copy(r->why, sizeof(r->why), "i= is a subdomain of d= and the key says t=s");
			return;
		}
		if (strcmp(r->alg, "rsa-sha1") == 0) {
			r->res = AUTH_PERMERROR;
			str_copy(r->why, sizeof(r->why), "rsa-sha1 is not acceptable (RFC 8301)");
			return;
		}
		r->res = AUTH_PASS;
		ssize_t msglen = -1, canonlen = -1, signlen = -1;
		if (dkim_sig_getcanonlen(st->dkim, sig, &msglen, &canonlen, &signlen) == DKIM_STAT_OK &&
		    signlen >= 0 && msglen > signlen) {
			r->partial = true;
			struct sbuf pd;
			sbuf_init(&pd, r->partial_detail, sizeof(r->partial_detail));
			sbuf_puts(&pd, "l=");
			sbuf_put_int(&pd, signlen);
			sbuf_puts(&pd, " of ");
			sbuf_put_int(&pd, msglen);
			sbuf_puts(&pd, " body bytes");
		}
		return;
	}
	if (err == DKIM_SIGERROR_NOKEY || err == DKIM_SIGERROR_KEYFAIL) {
		r->res = k && k->temp ? AUTH_TEMPERROR : AUTH_PERMERROR;
		str_copy(r->why, sizeof(r->why), k && k->why ? k->why : "no key record");
		return;
	}
	if ((flags & DKIM_SIGFLAG_PASSED) && bh == DKIM_SIGBH_MISMATCH) {
		r->res = AUTH_FAIL;
		str_copy(r->why, sizeof(r->why), "body hash mismatch (body altered)");
		return;
	}
	if (err == DKIM_SIGERROR_BADSIG ||
	    ((flags & DKIM_SIGFLAG_PROCESSED) && err == DKIM_SIGERROR_OK)) {
		r->res = AUTH_FAIL;
		str_copy(r->why, sizeof(r->why), "signature mismatch (header altered)");
		return;
	}
	r->res = AUTH_PERMERROR;
	if (err != DKIM_SIGERROR_UNKNOWN && err != DKIM_SIGERROR_OK) {
		const char *e = dkim_sig_geterrorstr(err);
		str_copy(r->why, sizeof(r->why), e ? e : "error");
	} else {
		str_copy(r->why, sizeof(r->why), "not verified");
	}
}

/* add_detail - "d=.. s=.. a=..[: why]" appended to a detail buffer */
static void add_detail(struct buf *b, const struct sig_result *r, bool why)
{
	if (b->len >= DETAIL_MAX)
		return;
	if (b->len)
		buf_puts(b, "; ");
	buf_puts(b, "d=");
	buf_puts(b, r->d[0] ? r->d : "?");
	buf_puts(b, " s=");
	buf_puts(b, r->s[0] ? r->s : "?");
	buf_puts(b, " a=");
	buf_puts(b, r->alg);
	if (r->bits) {
		buf_puts(b, " bits=");
		buf_put_uint(b, r->bits);
	}
	if (why && r->why[0]) {
		buf_puts(b, ": ");
		buf_puts(b, r->why);
	}
	if (r->partial) {
		buf_puts(b, " (");
		buf_puts(b, r->partial_detail);
		buf_putc(b, ')');
	}
}

/* add_valid_domain - remember a valid d= for dmarc and reputation */
static void add_valid_domain(struct scan *sc, const char *d)
{
	for (size_t i = 0; i < sc->ndkim_valid; i++)
		if (strcmp(sc->dkim_valid_domains[i], d) == 0)
			return;
	if (*d && sc->ndkim_valid < SCAN_MAX_DKIM_DOMAINS)
		sc->dkim_valid_domains[sc->ndkim_valid++] = xstrdup(d);
}

/* cap_note - what was left out, for the details */
static void cap_note(const struct dkim_state *st, struct buf *b)
{
	if (st->sigs_ignored)
		buf_printf(b, "%s%zu signature(s) not checked (over %d, oversized or over %d tags)",
			   b->len ? "; " : "", st->sigs_ignored, DKIM_MAX_SIGS, DKIM_MAX_SIG_TAGS);
	if (st->skipped)
		buf_printf(b, "%s%zu header field(s) not handed to the verifier",
			   b->len ? "; " : "", st->skipped);
}

/* report - symbols and A-R items from the signature results */
static void report(struct scan *sc, struct dkim_state *st, struct sig_result *rs, size_t n)
{
	struct buf valid, au, bad, temp, partial;
	char from[AUTH_DOMAIN_SIZE];
	bool from_ok = auth_from_domain(sc->msg, from, sizeof(from)) == AUTH_FROM_OK;
	size_t nauthres = 0;

	buf_init(&valid);
	buf_init(&au);
	buf_init(&bad);
	buf_init(&temp);
	buf_init(&partial);
	for (size_t i = 0; i < n; i++) {
		struct sig_result *r = &rs[i];
		switch (r->res) {
		case AUTH_PASS:
			add_detail(&valid, r, false);
			add_valid_domain(sc, r->d);
			if (from_ok && dmarc_aligned(r->d, from, false))
				add_detail(&au, r, false);
			if (r->partial)
				add_detail(&partial, r, false);
			break;
		case AUTH_TEMPERROR:
			add_detail(&temp, r, true);
			break;
		default:
			add_detail(&bad, r, true);
		}
		if (nauthres < DKIM_MAX_AUTHRES) {
			char item[512];
			struct sbuf it;
			sbuf_init(&it, item, sizeof(item));
			sbuf_puts(&it, "dkim=");
			sbuf_puts(&it, auth_result_name(r->res, true));
			if (r->d[0]) {
				sbuf_puts(&it, " header.d=");
				sbuf_puts(&it, r->d);
			}
			if (r->s[0] && !sbuf_over(&it)) {
				sbuf_puts(&it, " header.s=");
				sbuf_puts(&it, r->s);
			}
			scan_add_authres(sc, item);
			nauthres++;
		}
	}
	if (valid.len) {
		if (au.len)
			scan_add_builtin(sc, "DKIM_VALID_AU", au.data);
		scan_add_builtin(sc, "DKIM_VALID", valid.data);
		if (partial.len)
			scan_add_builtin(sc, "DKIM_PARTIAL", partial.data);
	} else {
		/* as SpamAssassin's DKIM_INVALID: one valid signature
		 * outweighs broken ones (mailing lists break the author's
		 * signature and add their own) */
		if (bad.len || (temp.len == 0)) {
			cap_note(st, &bad);
			if (st->lib_error && n == 0) {
				buf_puts(&bad, bad.len ? "; " : "");
				buf_puts(&bad, st->lib_error);
			}
			scan_add_builtin(sc, "DKIM_INVALID", bad.data);
		}
		if (temp.len)
			scan_add_builtin(sc, "DKIM_TEMPERROR", temp.data);
	}
	if (n == 0 && nauthres == 0)
		scan_add_authres(sc, "dkim=permerror");
	buf_free(&valid);
	buf_free(&au);
	buf_free(&bad);
	buf_free(&temp);
	buf_free(&partial);
}

/* dkim_stage_eom - verify and report */
int dkim_stage_eom(struct scan *sc, void **state)
{
	struct dkim_state *st = state_get(sc, state, false);
	DKIM_SIGINFO **sigs = NULL;
	int nsigs = 0;
	struct sig_result rs[2 * DKIM_MAX_SIGS];
	size_t n = 0;

	if (st == NULL || (st->sigs == 0 && st->sigs_ignored == 0 && st->nrefused == 0)) {
		scan_add_builtin(sc, "DKIM_NONE", NULL);
		scan_add_authres(sc, "dkim=none");
		return 0;
	}
	end_of_header(st);
	for (size_t i = 0; i < st->nhashes; i++)
		st->hashes[i].dlen = dkim_bodyhash_final(st->hashes[i].h, st->hashes[i].d);
	if (!st->stop) {
		dkim_key_scope(true);	/* keys are decoded in here */
		DKIM_STAT stat = dkim_eom(st->dkim, NULL);
		dkim_key_scope(false);
		(void)stat;	/* the per-signature results below say it all */
	}
	if (st->dkim && st->eoh_done &&
	    dkim_getsiglist(st->dkim, &sigs, &nsigs) == DKIM_STAT_OK) {
		for (int i = 0; i < nsigs && n < DKIM_MAX_SIGS; i++)
			sig_classify(st, sigs[i], &rs[n++]);
	}
	for (size_t i = 0; i < st->nrefused; i++)
		rs[n++] = st->refused[i];
	report(sc, st, rs, n);
	return 0;
}

/* dkim_stage_cleanup - the message is done */
void dkim_stage_cleanup(struct scan *sc, void *state)
{
	struct dkim_state *st = state;

	(void)sc;
	if (st == NULL)
		return;
	for (size_t i = 0; i < st->nkeys; i++)
		dns_query_free(st->keys[i].q);
	for (size_t i = 0; i < st->nhashes; i++)
		dkim_bodyhash_free(st->hashes[i].h);
	if (st->dkim)
		dkim_free(st->dkim);
	free(st->id);	/* after dkim_free: the handle points at it */
	free(st->lib_error);
	free(st);
}

/* the built-ins dkim_stage may add */
static const struct stage_symbol dkim_symbols[] = {
	{ "DKIM_VALID", "DKIM: at least one valid signature" },
	{ "DKIM_VALID_AU", "DKIM: valid signature from the From: domain (author domain)" },
	{ "DKIM_INVALID", "DKIM: a signature is present but does not verify" },
	{ "DKIM_NONE", "DKIM: the message is not signed" },
	{ "DKIM_TEMPERROR", "DKIM: temporary DNS error while fetching a signing key" },
	{ "DKIM_PARTIAL", "DKIM: a valid signature covers only part of the body (l=)" },
	{ NULL, NULL },
};

/* dkim_stage - every DKIM signature, fed as the message arrives */
const struct stage dkim_stage = {
	.symbols = dkim_symbols,
	.name = "dkim",
	.dns = true,
	.header = dkim_stage_header,
	.body = dkim_stage_body,
	.eom = dkim_stage_eom,
	.cleanup = dkim_stage_cleanup,
};
