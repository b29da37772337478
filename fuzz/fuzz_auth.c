/*
 * fuzz_auth.c - libFuzzer target: what parapet parses before libopendkim
 * and libopendmarc see anything (auth.c), and what it then hands them.
 * The first input byte picks the path, the rest is the text:
 *
 *   0  a From value: auth_from_parse; the domain it gives is valid, and
 *      auth_addr_parse, auth_addr_domain and auth_addr_list (the one
 *      address parser) agree with it and stay in their buffers, and
 *      auth_msg_addr_list gives what auth_addr_list does, twice
 *   1  a header field "Name:value": auth_field bounds it (length within
 *      the cap, every LF after a CR, name then colon)
 *   2  a DMARC record: auth_record_ok, then libopendmarc's parser
 *      (dmarc_record_parse) on what passed; tag-list lookups
 *   3  a domain: dmarc_org_domain (Public Suffix List) gives a suffix
 *   4-254 a whole message through the pipeline (dkim and dmarc stages,
 *      so DKIM-Signature fields reach libopendkim bounded); DNS goes to a
 *      port where nothing answers, with a 20 ms deadline
 *   255 a body (NULs and all): dkim_bodyhash, simple and relaxed, gives
 *      the same digest fed whole, in two pieces (split by the next
 *      byte) and a byte at a time
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/auth.h"
#include "mail/message.h"
#include "core/config.h"
#include "stages/auth/dkim_body.h"
#include "stages/auth/dmarc.h"
#include "core/engine.h"
#include "base/log.h"
#include "core/mboxfile.h"
#include "rules/rules.h"
#include "core/scan.h"
#include "base/util.h"
#include "core/stage.h"
#include "stages/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct engine *engine;

/* setup - an engine whose DNS never answers, quickly */
static void setup(void)
{
	static const char conf[] = "authserv_id = mx.f\ndns_nameservers = 127.0.0.1:9\n"
				   "dns_timeout_ms = 20\n";
	char *err = NULL;
	struct diag d;
	struct config *cfg = config_parse_buf("f", conf, sizeof(conf) - 1, &err);

	diag_init(&d);
	static const char **builtins;	/* reachable: not a leak */

	builtins = stage_symbol_names(stage_registry);
	struct ruleset *rs = rules_load_text("f.cf", "score DKIM_INVALID 1\n", builtins, &d);
	if (cfg == NULL || rs == NULL)
		abort();
	diag_free(&d);
	engine = engine_new(cfg, rs, stage_registry);
	log_set_level(LOG_LVL_ERROR);
}

/* check_domain - what auth_from_parse and dmarc_org_domain promise */
static void check_domain(const char *d)
{
	char copy[AUTH_DOMAIN_SIZE];

	if (strlen(d) >= AUTH_DOMAIN_SIZE)
		abort();
	memcpy(copy, d, strlen(d) + 1);
	if (!auth_domain_ok(copy) || strcmp(copy, d) != 0)
		abort();
}

/* body_digest - one body fed in pieces: whole (step 0), split at
 * split, or a byte at a time (step 1) */
static size_t body_digest(bool relaxed, const uint8_t *p, size_t n, size_t split, int step,
			  unsigned char *out)
{
	struct dkim_bodyhash *h = dkim_bodyhash_new(relaxed, false);

	if (h == NULL)
		abort();
	if (step == 1) {
		for (size_t i = 0; i < n; i++)
			dkim_bodyhash_add(h, p + i, 1);
	} else {
		size_t k = step == 0 ? n : split % (n + 1);
		dkim_bodyhash_add(h, p, k);
		dkim_bodyhash_add(h, p + k, n - k);
	}
	size_t len = dkim_bodyhash_final(h, out);
	dkim_bodyhash_free(h);
	return len;
}

/* body_hash - the pieces never change the digest */
static void body_hash(const uint8_t *p, size_t n)
{
	unsigned char a[DKIM_BODY_DIGEST_MAX], b[DKIM_BODY_DIGEST_MAX];
	size_t split = n ? p[0] * (n / 256 + 1) : 0;

	for (int relaxed = 0; relaxed <= 1; relaxed++) {
		size_t la = body_digest(relaxed, p, n, 0, 0, a);
		for (int step = 1; step <= 2; step++)
			if (body_digest(relaxed, p, n, split, step, b) != la || memcmp(a, b, la) != 0)
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	unsigned mode = data[0];
	char *text = xstrndup((const char *)data + 1, size - 1);	/* stops at a NUL */
	size_t tl = strlen(text);
	char d[AUTH_DOMAIN_SIZE];

	switch (mode) {
	case 255:
		body_hash(data + 1, size - 1);
		break;
	case 0: {
		int n = auth_from_parse(text, d, sizeof(d));
		if (n < -1)
			abort();
		if (n > 0)
			check_domain(d);
		char addr[16], d2[AUTH_DOMAIN_SIZE];
		if (auth_addr_parse(text, addr, sizeof(addr), d2, sizeof(d2)) != n ||
		    strcmp(d, d2) != 0 || strlen(addr) >= sizeof(addr))
			abort();
		char *dv = auth_addr_domain(text);
		if ((dv == NULL) != (d[0] == '\0') || (dv && strcmp(dv, d) != 0))
			abort();
		free(dv);
		struct buf b;
		buf_init(&b);
		auth_addr_list(text, false, &b);
		auth_addr_list(text, true, &b);
		if (b.len > 4 * tl + 8)		/* ", " per mailbox at most */
			abort();
		/* the memo gives the same, parsed and remembered */
		struct msg *m = msg_new(1024);
		struct buf mb;
		buf_init(&mb);
		for (int k = 0; k < 2; k++) {
			buf_reset(&mb);
			auth_msg_addr_list(m, text, false, &mb);
			auth_msg_addr_list(m, text, true, &mb);
			if (mb.len != b.len || (b.len && memcmp(mb.data, b.data, b.len) != 0))
				abort();
		}
		buf_free(&mb);
		msg_free(m);
		buf_free(&b);
		break;
	}
	case 1: {
		char *colon = strchr(text, ':');
		size_t len;
		if (colon == NULL)
			break;
		*colon = '\0';
		char *f = auth_field(text, colon + 1, 1024, &len);
		if (f) {
			size_t nl = strlen(text);
			if (len > 1024 || len != strlen(f) || strncmp(f, text, nl) != 0 || f[nl] != ':')
				abort();
			for (size_t i = 0; i < len; i++)
				if (f[i] == '\n' && (i == 0 || f[i - 1] != '\r'))
					abort();
			free(f);
		}
		break;
	}
	case 2: {
		const char *why = NULL;
		char v[64];
		if (auth_record_ok(text, tl, AUTH_MAX_RECORD_BYTES, &why)) {
			if (dmarc_record_parse("example.com", text, &why) < 0 && why == NULL)
				abort();
		} else if (why == NULL) {
			abort();
		}
		if (auth_tag(text, "p", v, sizeof(v)) && strlen(v) >= sizeof(v))
			abort();
		break;
	}
	case 3:
		if (dmarc_org_domain(text, d, sizeof(d)) == 0) {
			check_domain(d);
			/* the organizational domain is a suffix of the name */
			size_t dl = strlen(d);
			if (tl > 0 && text[tl - 1] == '.')
				tl--;	/* a trailing dot is dropped */
			if (dl > tl || strncasecmp(text + tl - dl, d, dl) != 0)
				abort();
		}
		break;
	default: {
		if (engine == NULL)
			setup();
		struct scan *sc = scan_new(engine);
		msg_set_client(sc->msg, "192.0.2.1", NULL, "h");
		msg_set_from(sc->msg, "<a@b.example>");
		mboxfile_feed(sc, (const char *)data + 1, size - 1);
		const struct verdict *v = scan_finish(sc);
		if (v == NULL || v->symbols == NULL)
			abort();
		scan_free(sc);
	}
	}
	free(text);
	return 0;
}
