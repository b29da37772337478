/*
 * test_dkim.c - what parapet parses before libopendkim and libopendmarc
 * (auth.c): From domain extraction and multi-valued From, header field
 * bounding, tag-lists, record checks; the organizational domain
 * (dmarc_org_domain over Debian's Public Suffix List) and the DMARC record
 * parser wrapper; the body hash parapet computes itself (dkim_body.c)
 * against canonical forms by hand, in every split.  The DKIM and DMARC stages themselves are tested against
 * a real DNS server in tests/dkim/run_vectors.py and tests/integration.
 */
#include "autoconfig.h"

#include <pthread.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "mail/auth.h"
#include "stages/auth/dkim.h"
#include "stages/auth/dkim_body.h"
#include "stages/auth/dkim_key.h"
#include "stages/auth/dmarc.h"
#include "unit.h"

static const struct from_case {
	const char *value;
	int count;		/* auth_from_parse's return */
	const char *domain;
} froms[] = {
	{ "a@example.com", 1, "example.com" },
	{ "Alice <alice@Example.COM>", 1, "example.com" },
	{ "\"Smith, Alice\" <alice@mail.example.org>", 1, "mail.example.org" },
	{ "\"a@evil.example\" <alice@good.example>", 1, "good.example" },
	{ "alice@good.example (comment, with @evil.example)", 1, "good.example" },
	{ "a@one.example, b@two.example", 2, "one.example" },
	{ "Alice <a@one.example>, Bob <b@two.example>", 2, "one.example" },
	{ "friends: a@one.example, b@two.example;", 2, "one.example" },
	{ "undisclosed-recipients:;", 0, "" },
	{ "", 0, "" },
	{ "no address here", -1, "" },
	{ "a@", -1, "" },
	{ "a@[192.0.2.1]", -1, "" },
	{ "a@localhost", -1, "" },
	{ "a@exa mple.com", 1, "example.com" },	/* CFWS inside the domain */
	{ "a@example.com.", 1, "example.com" },
	{ "a@example.com..", -1, "" },
	{ "a@-bad.example", -1, "" },
	{ "<a@b.example> <c@d.example>", 1, "d.example" },	/* last angle wins */
	{ "\"unterminated <a@b.example>", -1, "" },
	{ "(unterminated comment a@b.example", 0, "" },
	{ "a@b.example,", 1, "b.example" },
	{ "\xc3\xa9@b.example", 1, "b.example" },
	{ "a@\xc3\xa9.example", -1, "" },
};

START_TEST(from_parse)
{
	const struct from_case *c = &froms[_i];
	char d[AUTH_DOMAIN_SIZE];
	int n = auth_from_parse(c->value, d, sizeof(d));

	ck_assert_msg(n == c->count, "'%s': %d mailboxes, want %d", c->value, n, c->count);
	if (n > 0)
		ck_assert_msg(strcmp(d, c->domain) == 0, "'%s': domain '%s', want '%s'",
			      c->value, d, c->domain);
}
END_TEST

/* addr_list_reuse - the address walk's texts are the thread's, kept from
 * one value to the next (auth.c): nothing of a longer value before shows
 * in a shorter one after, nor after a value so long they are given back */
START_TEST(addr_list_reuse)
{
	static const char *const vals[] = {
		"\"A Long Display Name\" <first.long.address@one.example> (comment one), "
		"second@two.example (Second Person)",
		"x@y.test",
		"Z <z@w.test>",
		"(c) q@r.test",
	};
	static const char *const addrs[] = {
		"first.long.address@one.example, second@two.example", "x@y.test", "z@w.test",
		"q@r.test",
	};
	static const char *const names[] = { "A Long Display Name, Second Person", "", "Z", "c" };
	struct buf b, big;

	buf_init(&b);
	buf_init(&big);
	buf_puts(&big, "\"");
	for (int i = 0; i < 100 * 1024; i++)
		buf_putc(&big, 'n');
	buf_puts(&big, "\" <big@big.example> (");
	for (int i = 0; i < 100 * 1024; i++)
		buf_putc(&big, 'c');
	buf_puts(&big, ")");
	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
			buf_reset(&b);
			auth_addr_list(vals[i], false, &b);
			ck_assert_str_eq(b.data ? b.data : "", addrs[i]);
			buf_reset(&b);
			auth_addr_list(vals[i], true, &b);
			ck_assert_str_eq(b.data ? b.data : "", names[i]);
		}
		buf_reset(&b);
		auth_addr_list(big.data, false, &b);
		ck_assert_str_eq(b.data, "big@big.example");
	}
	buf_free(&b);
	buf_free(&big);
}
END_TEST

/* addr_list_memo - auth_msg_addr_list appends what auth_addr_list does,
 * into an empty buffer and after text (where ", " goes first), on the
 * first call and from its memo; past AUTH_MEMO_MAX texts and for a text
 * over AUTH_MEMO_TEXT bytes it parses each time */
START_TEST(addr_list_memo)
{
	static const char *const vals[] = {
		"A <a@x.example>, b@y.example", "\"Q\" <q@r.example> (c)", "", "undisclosed:;",
		"x@y.test (Name)", "grp: m@n.example, o@p.example;",
	};
	const char *lead[] = { NULL, "text" };
	struct msg *m = msg_new(1024);
	struct buf want, got;
	char many[32];

	buf_init(&want);
	buf_init(&got);
	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
			for (int name = 0; name < 2; name++)
				for (int l = 0; l < 2; l++) {
					buf_reset(&want);
					buf_reset(&got);
					if (lead[l]) {
						buf_puts(&want, lead[l]);
						buf_puts(&got, lead[l]);
					}
					auth_addr_list(vals[i], name, &want);
					auth_msg_addr_list(m, vals[i], name, &got);
					ck_assert_str_eq(got.data ? got.data : "", want.data ? want.data : "");
				}
	ck_assert_uint_eq(m->naddrs, 2 * sizeof(vals) / sizeof(vals[0]));
	for (int i = 0; i < 2 * AUTH_MEMO_MAX; i++) {
		snprintf(many, sizeof(many), "u%d@v.example", i % (AUTH_MEMO_MAX + 7));
		buf_reset(&got);
		auth_msg_addr_list(m, many, false, &got);
		ck_assert_str_eq(got.data, many);
	}
	ck_assert_uint_eq(m->naddrs, AUTH_MEMO_MAX);
	buf_reset(&want);
	buf_puts(&want, "<long@long.example> (");
	for (int i = 0; i < AUTH_MEMO_TEXT; i++)
		buf_putc(&want, 'c');
	buf_puts(&want, ")");
	buf_reset(&got);
	auth_msg_addr_list(m, want.data, false, &got);
	ck_assert_str_eq(got.data, "long@long.example");
	ck_assert_uint_eq(m->naddrs, AUTH_MEMO_MAX);
	buf_free(&want);
	buf_free(&got);
	msg_free(m);
}
END_TEST

/* from_fields - several From fields are multi-valued too (RFC 7489 §6.6.1) */
START_TEST(from_fields)
{
	static const struct {
		const char *msg;
		enum auth_from want;
		const char *domain;
	} cases[] = {
		{ "From: a@x.example\nSubject: s\n\nb\n", AUTH_FROM_OK, "x.example" },
		{ "From: a@x.example\nFrom: b@y.example\n\nb\n", AUTH_FROM_MULTIPLE, "x.example" },
		{ "From: a@x.example, b@y.example\n\nb\n", AUTH_FROM_MULTIPLE, "x.example" },
		{ "Subject: no from\n\nb\n", AUTH_FROM_NONE, "" },
		{ "From: nobody\n\nb\n", AUTH_FROM_BAD, "" },
		{ "From: Alice\n <a@x.example>\n\nb\n", AUTH_FROM_OK, "x.example" },
	};
	struct engine *e = unit_engine("authserv_id = t\n", "");

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct scan *sc = scan_new(e);
		char d[AUTH_DOMAIN_SIZE];
		mboxfile_feed(sc, cases[i].msg, strlen(cases[i].msg));
		enum auth_from r = auth_from_domain(sc->msg, d, sizeof(d));
		ck_assert_msg(r == cases[i].want, "case %zu: %s, want %s", i,
			      auth_from_name(r), auth_from_name(cases[i].want));
		ck_assert_msg(strcmp(d, cases[i].domain) == 0, "case %zu: domain '%s'", i, d);
		scan_free(sc);
	}
	engine_unref(e);
}
END_TEST

START_TEST(field_bounding)
{
	size_t len;
	char *f = auth_field("Subject", " a\n\tb", 100, &len);

	ck_assert_str_eq(f, "Subject: a\r\n\tb");
	ck_assert_uint_eq(len, strlen(f));
	free(f);
	f = auth_field("Subject", " a\r\n\tb\r\n", 100, &len);
	ck_assert_str_eq(f, "Subject: a\r\n\tb");
	free(f);
	ck_assert_ptr_null(auth_field("Bad Name", " x", 100, &len));
	ck_assert_ptr_null(auth_field("Bad:Name", " x", 100, &len));
	ck_assert_ptr_null(auth_field("", " x", 100, &len));
	ck_assert_ptr_null(auth_field("X", "0123456789", 10, &len));
	f = auth_field("X", "012345678", 11, &len);
	ck_assert_ptr_nonnull(f);
	free(f);
	/* LF growing to CRLF past the cap */
	ck_assert_ptr_null(auth_field("X", "a\nb\nc\nd", 10, &len));
}
END_TEST

START_TEST(tags)
{
	char v[64];

	ck_assert(auth_tag("v=1; a=rsa-sha256; d=Example.com; s=sel", "d", v, sizeof(v)));
	ck_assert_str_eq(v, "Example.com");
	ck_assert(auth_tag("v=1;\n\ts = se l ;d=x", "s", v, sizeof(v)));
	ck_assert_str_eq(v, "sel");
	ck_assert(!auth_tag("v=1; dd=x", "d", v, sizeof(v)));
	ck_assert(!auth_tag("v=1; d", "d", v, sizeof(v)));
	ck_assert(auth_tag("d=", "d", v, sizeof(v)));
	ck_assert_str_eq(v, "");
	ck_assert(!auth_tag("d=0123456789", "d", v, 5));
	ck_assert_uint_eq(auth_tag_count("v=1; a=rsa-sha256; d=x;"), 3);
	ck_assert_uint_eq(auth_tag_count("v=1;\n\t;; s=a"), 2);
	ck_assert_uint_eq(auth_tag_count(" ; ;"), 0);
	ck_assert_uint_eq(auth_tag_count(""), 0);
}
END_TEST

/* sig_tag_cap - a DKIM-Signature of more than DKIM_MAX_SIG_TAGS tags is
 * not handed to libopendkim, whose tag lookup is quadratic (issue 12);
 * one of 64 tags is verified (its key lookup fails: nothing listens) */
START_TEST(sig_tag_cap)
{
	struct engine *e = unit_engine("dns_nameservers = 127.0.0.1:9\ndns_timeout_ms = 50\n", "");

	for (int extra = 57; extra <= 58; extra++) {
		struct buf m;
		buf_init(&m);
		buf_puts(&m, "DKIM-Signature: v=1; a=rsa-sha256; d=b.test; s=sel; h=from;\n"
			     " bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=dGVzdA==");
		for (int i = 0; i < extra; i++)
			buf_printf(&m, "; x%d=", i);
		buf_puts(&m, "\nFrom: a@b.test\nSubject: s\n\nbody\n");
		ck_assert_uint_eq(auth_tag_count(strchr(m.data, ':') + 1), 7 + (size_t)extra);
		struct scan *sc = unit_scan(e, m.data);
		const char *bad = unit_detail(sc, "DKIM_INVALID");
		bool capped = bad && strstr(bad, "1 signature(s) not checked") != NULL;
		ck_assert_msg(capped == (7 + extra > DKIM_MAX_SIG_TAGS), "%d tags: DKIM_INVALID %s",
			      7 + extra, bad ? bad : "(none)");
		scan_free(sc);
		buf_free(&m);
	}
	engine_unref(e);
}
END_TEST

START_TEST(records)
{
	const char *why = NULL;

	ck_assert(auth_record_ok("v=DMARC1; p=none", 16, 100, &why));
	ck_assert(!auth_record_ok("v=DMARC1; p=none", 16, 10, &why));
	ck_assert_str_eq(why, "record too long");
	ck_assert(!auth_record_ok("v=DKIM1;\0p=x", 12, 100, &why));
	ck_assert(!auth_record_ok("v=DKIM1;\xff", 9, 100, &why));
	ck_assert(!auth_record_ok("v=DKIM1;\n", 9, 100, &why));
	ck_assert(auth_record_ok("v=DKIM1;\t p=x", 13, 100, &why));
}
END_TEST

static const struct org_case {
	const char *domain, *org;
} orgs[] = {
	{ "example.com", "example.com" },
	{ "mail.example.com", "example.com" },
	{ "a.b.c.example.com", "example.com" },
	{ "example.co.uk", "example.co.uk" },
	{ "www.example.co.uk", "example.co.uk" },
	{ "Mail.Example.COM", "example.com" },
	{ "x.y.unknowntld", "y.unknowntld" },	/* default rule "*" */
	{ "ham.test", "ham.test" },
	{ "foo.bar.blogspot.com", "bar.blogspot.com" },	/* private section */
};

START_TEST(org_domain)
{
	const struct org_case *c = &orgs[_i];
	char out[AUTH_DOMAIN_SIZE];

	ck_assert_int_eq(dmarc_org_domain(c->domain, out, sizeof(out)), 0);
	ck_assert_msg(strcmp(out, c->org) == 0, "%s: '%s', want '%s'", c->domain, out, c->org);
}
END_TEST

START_TEST(org_domain_bad)
{
	char out[AUTH_DOMAIN_SIZE];

	ck_assert_int_eq(dmarc_org_domain("", out, sizeof(out)), -1);
	ck_assert_int_eq(dmarc_org_domain("com", out, sizeof(out)), -1);
	ck_assert_int_eq(dmarc_org_domain("a..b", out, sizeof(out)), -1);
	ck_assert_int_eq(dmarc_org_domain("a b.example", out, sizeof(out)), -1);
	/* found by fuzz_auth: only one final dot is dropped */
	ck_assert_int_eq(dmarc_org_domain("www.a.example..", out, sizeof(out)), -1);
}
END_TEST

START_TEST(dmarc_records)
{
	const char *why = NULL;

	ck_assert_int_eq(dmarc_record_parse("example.com", "v=DMARC1; p=reject", &why), 0);
	ck_assert_int_eq(dmarc_record_parse("example.com", "v=DMARC1; p=none; sp=reject; pct=50; "
					    "rua=mailto:a@example.com", &why), 0);
	ck_assert_int_eq(dmarc_record_parse("example.com", "v=DMARC1; p=bogus", &why), -1);
	ck_assert_ptr_nonnull(why);
	ck_assert_int_eq(dmarc_record_parse("example.com", "v=DMARC2; p=none", &why), -1);
	ck_assert_int_eq(dmarc_record_parse("example.com", "v=DMARC1", &why), -1);
}
END_TEST

/* Debian 12's libopendkim 2.11.0~beta2 is built with RFC 8463 support;
 * tests/dkim/run_vectors.py verifies the RFC's example signature */
START_TEST(ed25519_feature)
{
	ck_assert(dkim_has_ed25519());
}
END_TEST

/* decode - d2i_PUBKEY_bio of der[0..n) as libopendkim calls it (a memory
 * BIO of the key record's p= decoded); *left: bytes left unread */
static EVP_PKEY *decode(const unsigned char *der, int n, long *left)
{
	BIO *b = BIO_new_mem_buf(der, n);
	EVP_PKEY *k = d2i_PUBKEY_bio(b, NULL);

	*left = (long)BIO_ctrl_pending(b);
	BIO_free(b);
	return k;
}

/* a DKIM key is decoded once: libopendkim's second d2i_PUBKEY_bio of the
 * same DER gets the same key object from the cache (dkim_key.c); another
 * key, bytes after a key and garbage go their own ways */
START_TEST(key_cache)
{
	EVP_PKEY *a = EVP_RSA_gen(1024), *b = EVP_RSA_gen(1024);
	unsigned char *da = NULL, *db = NULL, junk[] = { 0x30, 0x03, 0x02, 0x01 };
	int na = i2d_PUBKEY(a, &da), nb = i2d_PUBKEY(b, &db);
	unsigned long h0, m0, h1, m1;
	long left;

	ck_assert(na > 0 && nb > 0);
	/* outside libopendkim's verify: OpenSSL's own, nothing cached */
	dkim_key_stats(&h0, &m0);
	EVP_PKEY *o1 = decode(da, na, &left), *o2 = decode(da, na, &left);
	dkim_key_stats(&h1, &m1);
	ck_assert(o1 != NULL && o2 != NULL && o1 != o2);
	ck_assert_int_eq(EVP_PKEY_eq(o1, a), 1);
	ck_assert_uint_eq(h1 - h0, 0);
	ck_assert_uint_eq(m1 - m0, 0);
	EVP_PKEY_free(o1);
	EVP_PKEY_free(o2);

	dkim_key_scope(true);
	dkim_key_stats(&h0, &m0);
	EVP_PKEY *k1 = decode(da, na, &left);
	ck_assert_int_eq(left, 0);
	EVP_PKEY *k2 = decode(da, na, &left);
	ck_assert_int_eq(left, 0);
	EVP_PKEY *k3 = decode(db, nb, &left);
	dkim_key_stats(&h1, &m1);
	ck_assert(k1 != NULL && k2 != NULL && k3 != NULL);
	ck_assert_ptr_eq(k1, k2);	/* decoded once */
	ck_assert_int_eq(EVP_PKEY_eq(k1, a), 1);
	ck_assert_int_eq(EVP_PKEY_eq(k3, b), 1);
	ck_assert_uint_eq(h1 - h0, 1);
	ck_assert_uint_eq(m1 - m0, 2);
	ck_assert_int_eq(EVP_PKEY_get_bits(k2), 1024);
	ck_assert_ptr_null(decode(junk, (int)sizeof(junk), &left));
	unsigned char *more = malloc((size_t)na + 2);	/* a key, then 2 bytes */
	memcpy(more, da, (size_t)na);
	more[na] = more[na + 1] = 0;
	EVP_PKEY *k4 = decode(more, na + 2, &left);
	ck_assert(k4 != NULL && EVP_PKEY_eq(k4, a) == 1);
	ck_assert_int_eq(left, 2);	/* OpenSSL's own: the key only */
	dkim_key_scope(false);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	EVP_PKEY_free(k3);
	EVP_PKEY_free(k4);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	OPENSSL_free(da);
	OPENSSL_free(db);
	free(more);
}
END_TEST

/* threads verifying messages at once decode the same key */
struct key_job {
	const unsigned char *der;
	int n;
	EVP_PKEY *want;
	int ok;
};

static void *decode_many(void *arg)
{
	struct key_job *j = arg;
	long left;

	dkim_key_scope(true);	/* per thread, as dkim.c sets it */
	for (int i = 0; i < 50; i++) {
		EVP_PKEY *k = decode(j->der, j->n, &left);
		j->ok += k != NULL && EVP_PKEY_eq(k, j->want) == 1 && EVP_PKEY_get_bits(k) == 1024;
		EVP_PKEY_free(k);
	}
	return NULL;
}

START_TEST(key_cache_threads)
{
	EVP_PKEY *a = EVP_RSA_gen(1024);
	unsigned char *da = NULL;
	int na = i2d_PUBKEY(a, &da);
	struct key_job jobs[4];
	pthread_t t[4];

	for (int i = 0; i < 4; i++) {
		jobs[i] = (struct key_job){ .der = da, .n = na, .want = a };
		ck_assert_int_eq(pthread_create(&t[i], NULL, decode_many, &jobs[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		ck_assert_int_eq(jobs[i].ok, 50);
	}
	EVP_PKEY_free(a);
	OPENSSL_free(da);
}
END_TEST

/* one alignment (RFC 7489 §3.1) for DMARC, the DKIM details and the
 * reputation credit; an empty domain is aligned with nothing */
static const struct {
	const char *d, *from;
	bool strict, want;
} aligns[] = {
	{ "good.example", "good.example", true, true },
	{ "mail.good.example", "good.example", false, true },
	{ "mail.good.example", "good.example", true, false },
	{ "a.example.co.uk", "b.example.co.uk", false, true },
	{ "example.co.uk", "other.co.uk", false, false },
	{ "evil.example", "good.example", false, false },
	{ "", "", false, false },
	{ "", "good.example", false, false },
};

START_TEST(aligned)
{
	ck_assert_msg(dmarc_aligned(aligns[_i].d, aligns[_i].from, aligns[_i].strict) ==
		      aligns[_i].want, "%s ~ %s", aligns[_i].d, aligns[_i].from);
}
END_TEST

/* one RFC 8601 word table: SPF every word, DKIM no softfail */
START_TEST(result_words)
{
	static const char *const spf[] = { "none", "pass", "fail", "softfail", "neutral",
					    "temperror", "permerror" };
	static const char *const dkim[] = { "neutral", "pass", "fail", "neutral", "neutral",
					     "temperror", "permerror" };

	for (int r = AUTH_NONE; r <= AUTH_PERMERROR; r++) {
		ck_assert_str_eq(auth_result_name(r, false), spf[r]);
		ck_assert_str_eq(auth_result_name(r, true), dkim[r]);
	}
	ck_assert_str_eq(auth_result_name(AUTH_PERMERROR + 1, false), "?");
}
END_TEST

/* body canonicalization cases: the body, and its simple and relaxed
 * canonical forms (RFC 6376 §3.4.3-§3.4.5) */
static const struct {
	const char *body, *simple, *relaxed;
} bodies[] = {
	/* RFC 6376 §3.4.5's example */
	{ " C \r\nD \t E\r\n\r\n\r\n", " C \r\nD \t E\r\n", " C\r\nD E\r\n" },
	{ "", "\r\n", "" },
	{ "\r\n\r\n", "\r\n", "" },
	{ "a\r\n", "a\r\n", "a\r\n" },
	{ "a", "a\r\n", "a\r\n" },
	{ "a \t \r\n \r\n\t\r\nb\r\n", "a \t \r\n \r\n\t\r\nb\r\n", "a\r\n\r\n\r\nb\r\n" },
	{ "a\r\n\r\nb\r\n  \r\n\r\n", "a\r\n\r\nb\r\n  \r\n", "a\r\n\r\nb\r\n" },
	{ "a\rb\nc\r\n", "a\rb\nc\r\n", "a\rb\nc\r\n" },
	{ "a\r", "a\r\r\n", "a\r\r\n" },
	{ "\r\n\r\nx  y\t\tz\r\n", "\r\n\r\nx  y\t\tz\r\n", "\r\n\r\nx y z\r\n" },
	{ "\r\r\n\r\n", "\r\r\n", "\r\r\n" },
	/* runs longer than a word: specials at every offset of one */
	{ "abcdefghij klmnopqrstuvwx\tyz0123456789abcdef  \r\nABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n\r\n",
	  "abcdefghij klmnopqrstuvwx\tyz0123456789abcdef  \r\nABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n",
	  "abcdefghij klmnopqrstuvwx yz0123456789abcdef\r\nABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n" },
	{ "0123456\r0123456 01234567\t\t0123456789012345\r\n",
	  "0123456\r0123456 01234567\t\t0123456789012345\r\n",
	  "0123456\r0123456 01234567 0123456789012345\r\n" },
};

/* want_digest - the hash of a canonical form, by OpenSSL directly */
static size_t want_digest(const char *canon, bool sha1, unsigned char *out)
{
	unsigned int n = 0;

	EVP_Digest(canon, strlen(canon), out, &n, sha1 ? EVP_sha1() : EVP_sha256(), NULL);
	return n;
}

/* body_hash - every case, both forms, both algorithms, the body fed
 * whole, split at every offset, and a byte at a time */
START_TEST(body_hash)
{
	const char *body = bodies[_i].body;
	size_t len = strlen(body);

	for (int relaxed = 0; relaxed <= 1; relaxed++) {
		for (int sha1 = 0; sha1 <= 1; sha1++) {
			unsigned char want[DKIM_BODY_DIGEST_MAX], got[DKIM_BODY_DIGEST_MAX];
			size_t wn = want_digest(relaxed ? bodies[_i].relaxed : bodies[_i].simple, sha1, want);
			/* split == len + 1: a byte at a time */
			for (size_t split = 0; split <= len + 1; split++) {
				struct dkim_bodyhash *h = dkim_bodyhash_new(relaxed, sha1);
				ck_assert_ptr_nonnull(h);
				if (split <= len) {
					dkim_bodyhash_add(h, body, split);
					dkim_bodyhash_add(h, body + split, len - split);
				} else {
					for (size_t i = 0; i < len; i++)
						dkim_bodyhash_add(h, body + i, 1);
				}
				size_t gn = dkim_bodyhash_final(h, got);
				ck_assert_msg(gn == wn && memcmp(got, want, wn) == 0,
					      "case %d relaxed=%d sha1=%d split %zu: wrong hash", _i,
					      relaxed, sha1, split);
				dkim_bodyhash_free(h);
			}
		}
	}
}
END_TEST

/* body_hash_long - lines longer than the spans the relaxed hash hands
 * the digest as they are (dkim_body.c SPAN_MIN), between lines it
 * rewrites, fed whole, in chunks of every size up to 700 bytes, and a
 * byte at a time */
START_TEST(body_hash_long)
{
	/* a line, and its relaxed form */
	static const char *const lines[][2] = {
		{ "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\r\n",
		  "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\r\n" },
		{ "a  b\t c \r\n", "a b c\r\n" },
		{ " lead and one space\r\n", " lead and one space\r\n" },
		{ "\r\n", "\r\n" },
		{ "\t \r\n", "\r\n" },
		{ "x\ry \r\n", "x\ry\r\n" },
	};
	struct buf body, canon;
	unsigned char want[DKIM_BODY_DIGEST_MAX], got[DKIM_BODY_DIGEST_MAX];

	buf_init(&body);
	buf_init(&canon);
	for (int r = 0; r < 40; r++) {
		for (size_t k = 0; k < sizeof(lines) / sizeof(lines[0]); k++) {
			size_t reps = k == 0 ? 5 : 1;	/* 5 base64 lines: 390 bytes */
			for (size_t j = 0; j < reps; j++) {
				buf_puts(&body, lines[k][0]);
				buf_puts(&canon, lines[k][1]);
			}
		}
	}
	buf_puts(&body, " \r\n\r\n");	/* empty lines at the end: removed */
	size_t wn = want_digest(canon.data, false, want);
	for (size_t chunk = 1; chunk <= 701; chunk += chunk < 40 ? 1 : 33) {
		struct dkim_bodyhash *h = dkim_bodyhash_new(true, false);
		for (size_t i = 0; i < body.len; i += chunk)
			dkim_bodyhash_add(h, body.data + i, i + chunk <= body.len ? chunk : body.len - i);
		size_t gn = dkim_bodyhash_final(h, got);
		ck_assert_msg(gn == wn && memcmp(got, want, wn) == 0, "chunks of %zu: wrong hash", chunk);
		dkim_bodyhash_free(h);
	}
	struct dkim_bodyhash *h = dkim_bodyhash_new(true, false);
	dkim_bodyhash_add(h, body.data, body.len);
	ck_assert_uint_eq(dkim_bodyhash_bytes(h), canon.len);
	size_t gn = dkim_bodyhash_final(h, got);
	ck_assert(gn == wn && memcmp(got, want, wn) == 0);
	dkim_bodyhash_free(h);
	buf_free(&body);
	buf_free(&canon);
}
END_TEST

/* relaxed_ref - RFC 6376 §3.4.4 the plain way: split at CRLF, each line's
 * WSP runs made one SP and its trailing WSP removed, the empty lines at
 * the end removed, every line ended by CRLF */
static void relaxed_ref(const unsigned char *b, size_t n, struct buf *out)
{
	size_t keep = 0;	/* out's length up to the last line with content */

	for (size_t i = 0; i < n;) {
		size_t e = i;
		while (e < n && !(b[e] == '\r' && e + 1 < n && b[e + 1] == '\n'))
			e++;
		bool wsp = false, any = false;
		for (size_t k = i; k < e; k++) {
			if (b[k] == ' ' || b[k] == '\t') {
				wsp = true;
				continue;
			}
			if (wsp)
				buf_putc(out, ' ');
			wsp = false;
			buf_putc(out, (char)b[k]);
			any = true;
		}
		buf_puts(out, "\r\n");
		if (any)
			keep = out->len;
		i = e + 2;
	}
	out->len = keep;
}

/* body_hash_random - relaxed: bodies of words, single and double SP,
 * HTAB, CRLF and bare CR and LF, fed in random chunks, against the plain
 * canonicalization above (lines already canonical take a faster path in
 * dkim_body.c than the others) */
START_TEST(body_hash_random)
{
	static const char *const tok[] = {
		"word", "a", "longerwordoftext", " ", " ", " ", "\r\n", "\r\n", "\t", "  ",
		"\r", "\n", " \r\n", "\r\n\r\n", "0123456789abcdef0123",
	};
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	unsigned char want[DKIM_BODY_DIGEST_MAX], got[DKIM_BODY_DIGEST_MAX];

	for (int round = 0; round < 4000; round++) {
		struct buf body, canon;
		buf_init(&body);
		buf_init(&canon);
		buf_puts(&body, "");
		buf_puts(&canon, "");
		size_t ntok = (size_t)(round % 97) + 1;
		for (size_t t = 0; t < ntok; t++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			/* mostly words, single spaces and CRLF: canonical lines */
			size_t k = x % 100 < 80 ? x % 7 : x % (sizeof(tok) / sizeof(tok[0]));
			buf_puts(&body, tok[k]);
		}
		relaxed_ref((const unsigned char *)body.data, body.len, &canon);
		unsigned int wn = 0;
		EVP_Digest(canon.data, canon.len, want, &wn, EVP_sha256(), NULL);
		struct dkim_bodyhash *h = dkim_bodyhash_new(true, false);
		for (size_t i = 0; i < body.len;) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			size_t c = round % 3 == 0 ? body.len : 1 + x % 40;
			if (c > body.len - i)
				c = body.len - i;
			dkim_bodyhash_add(h, body.data + i, c);
			i += c;
		}
		size_t gn = dkim_bodyhash_final(h, got);
		ck_assert_uint_eq(dkim_bodyhash_bytes(h), canon.len);
		ck_assert_msg(gn == wn && memcmp(got, want, wn) == 0, "round %d: wrong hash of %zu bytes",
			      round, body.len);
		dkim_bodyhash_free(h);
		buf_free(&body);
		buf_free(&canon);
	}
}
END_TEST

/* body_hash_matches - bh= compared as base64, folding whitespace ignored */
START_TEST(body_hash_matches)
{
	unsigned char d[DKIM_BODY_DIGEST_MAX];
	size_t n = want_digest("\r\n", false, d);	/* simple, empty body */

	ck_assert(dkim_bodyhash_matches(d, n, "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY="));
	ck_assert(dkim_bodyhash_matches(d, n, "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/\r\n XKdLCPjaYaY="));
	ck_assert(!dkim_bodyhash_matches(d, n, "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY"));
	ck_assert(!dkim_bodyhash_matches(d, n, "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=="));
	ck_assert(!dkim_bodyhash_matches(d, n, "grcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY="));
	ck_assert(!dkim_bodyhash_matches(d, n, ""));
	ck_assert(!dkim_bodyhash_matches(d, n, NULL));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dkim");
	TCase *tc = tcase_create("auth");

	tcase_add_loop_test(tc, from_parse, 0, sizeof(froms) / sizeof(froms[0]));
	tcase_add_test(tc, from_fields);
	tcase_add_test(tc, addr_list_reuse);
	tcase_add_test(tc, addr_list_memo);
	tcase_add_loop_test(tc, body_hash, 0, sizeof(bodies) / sizeof(bodies[0]));
	tcase_add_test(tc, body_hash_long);
	tcase_add_test(tc, body_hash_random);
	tcase_add_test(tc, body_hash_matches);
	tcase_add_test(tc, field_bounding);
	tcase_add_test(tc, tags);
	tcase_add_test(tc, sig_tag_cap);
	tcase_add_test(tc, records);
	tcase_add_loop_test(tc, org_domain, 0, sizeof(orgs) / sizeof(orgs[0]));
	tcase_add_test(tc, org_domain_bad);
	tcase_add_loop_test(tc, aligned, 0, sizeof(aligns) / sizeof(aligns[0]));
	tcase_add_test(tc, result_words);
	tcase_add_test(tc, dmarc_records);
	tcase_add_test(tc, ed25519_feature);
	tcase_add_test(tc, key_cache);
	tcase_add_test(tc, key_cache_threads);
	suite_add_tcase(s, tc);
	return unit_main(s);
}
