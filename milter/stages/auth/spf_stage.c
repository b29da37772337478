/*
 * spf_stage.c - the "spf" stage of the scanning pipeline (core/stage.h): start
 * the check when the envelope is complete, turn its outcomes into
 * symbols, Authentication-Results (RFC 8601) and the scan's spf_result /
 * spf_domain for the DMARC stage.  The check itself is spf.c.
 *
 * While the message arrives, every header and body chunk lets the check
 * follow the answers that have come (spf_prefetch: non-blocking).
 *
 * Owns: the struct spf_check in the stage's slot, freed by cleanup.
 * Thread safety: per scan, one thread at a time.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "core/stage.h"
#include "stages/auth/spf.h"
#include "base/util.h"

/* ---------------------------------------------------------------- names */

static const char *const mfrom_symbols[] = {
	[AUTH_NONE] = "SPF_NONE", [AUTH_PASS] = "SPF_PASS", [AUTH_FAIL] = "SPF_FAIL",
	[AUTH_SOFTFAIL] = "SPF_SOFTFAIL", [AUTH_NEUTRAL] = "SPF_NEUTRAL",
	[AUTH_TEMPERROR] = "SPF_TEMPERROR", [AUTH_PERMERROR] = "SPF_PERMERROR",
};
static const char *const helo_symbols[] = {
	[AUTH_NONE] = "SPF_HELO_NONE", [AUTH_PASS] = "SPF_HELO_PASS",
	[AUTH_FAIL] = "SPF_HELO_FAIL", [AUTH_SOFTFAIL] = "SPF_HELO_SOFTFAIL",
	[AUTH_NEUTRAL] = "SPF_HELO_NEUTRAL", [AUTH_TEMPERROR] = "SPF_HELO_TEMPERROR",
	[AUTH_PERMERROR] = "SPF_HELO_PERMERROR",
};

/* ---------------------------------------------------------------- stage */

/* authres_value - an RFC 8601 pvalue: as is when it is a plain
 * local@domain, else a quoted-string */
static char *authres_value(const char *v)
{
	struct buf b;
	bool plain = *v != '\0';

	for (const char *p = v; *p; p++)
		if ((unsigned char)*p <= ' ' || strchr("\"\\();,<>[]:", *p))
			plain = false;
	if (plain)
		return xstrdup(v);
	buf_init(&b);
	buf_putc(&b, '"');
	for (const char *p = v; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_putc(&b, '\\');
		if ((unsigned char)*p >= ' ' && *p != 0x7f)
			buf_putc(&b, *p);
	}
	buf_putc(&b, '"');
	return b.data;	/* owned by the caller now */
}

/* spf_stage_envelope - start the check if the client address is known */
void spf_stage_envelope(struct scan *sc, void **slot)
{
	const struct msg *m = sc->msg;

	if (m->client_ip == NULL || m->client_ip[0] == '\0' || *slot)
		return;		/* unknown client (parapetctl without --ip) */
	*slot = spf_start(sc->engine, scan_dns_deadline(sc), m->client_ip,
			  m->helo ? m->helo : "", m->mail_from ? m->mail_from : "");
}

/* spf_stage_header - a header arrived: follow the answers that came */
static void spf_stage_header(struct scan *sc, void **slot, const struct header *h)
{
	(void)sc;
	(void)h;
	if (*slot)
		spf_prefetch(*slot);
}

/* spf_stage_body - a body chunk arrived: the same */
static void spf_stage_body(struct scan *sc, void **slot, const char *data, size_t len)
{
	(void)sc;
	(void)data;
	(void)len;
	if (*slot)
		spf_prefetch(*slot);
}

/* spf_stage_eom - symbols and Authentication-Results from the check */
int spf_stage_eom(struct scan *sc, void **slot)
{
	struct spf_check *c = *slot;
	const struct spf_outcome *mf, *he;
	struct buf item;
	char *v;

	if (c == NULL)
		return 0;
	spf_wait(c, &mf, &he);
	if (mf->checked) {
		scan_add_builtin(sc, mfrom_symbols[mf->result], mf->detail);
		free(sc->spf_domain);
		sc->spf_result = mf->result;
		sc->spf_domain = mf->domain && mf->domain[0] ? xstrdup(mf->domain) : NULL;
		bool mfrom = sc->msg->mail_from && sc->msg->mail_from[0];
		v = authres_value(mfrom ? sc->msg->mail_from : sc->msg->helo ? sc->msg->helo : "");
		buf_init(&item);	/* no printf on the per-message path */
		buf_puts(&item, "spf=");
		buf_puts(&item, auth_result_name(mf->result, false));
		buf_puts(&item, mfrom ? " smtp.mailfrom=" : " smtp.helo=");
		buf_puts(&item, v);
		scan_add_authres(sc, item.data);
		buf_free(&item);
		free(v);
	}
	/* a null sender's MAIL FROM identity is the HELO identity (RFC 7208
	 * §2.4): one check, reported once */
	if (he->checked && sc->msg->mail_from && sc->msg->mail_from[0])
		scan_add_builtin(sc, helo_symbols[he->result], he->detail);
	return 0;
}

/* spf_stage_cleanup - the scan is done with the check */
void spf_stage_cleanup(struct scan *sc, void *state)
{
	(void)sc;
	spf_check_free(state);
}

/* the built-ins spf_stage may add */
static const struct stage_symbol spf_symbols[] = {
	{ "SPF_PASS", "SPF: the sender domain authorizes the client" },
	{ "SPF_FAIL", "SPF: the sender domain says the client is not allowed (-all)" },
	{ "SPF_SOFTFAIL", "SPF: the sender domain says the client is probably not allowed (~all)" },
	{ "SPF_NEUTRAL", "SPF: the sender domain makes no statement about the client (?all)" },
	{ "SPF_NONE", "SPF: the sender domain publishes no SPF record" },
	{ "SPF_TEMPERROR", "SPF: temporary DNS error while checking the sender domain" },
	{ "SPF_PERMERROR", "SPF: the sender domain's SPF record is broken" },
	{ "SPF_HELO_PASS", "SPF: the HELO name authorizes the client" },
	{ "SPF_HELO_FAIL", "SPF: the HELO name says the client is not allowed (-all)" },
	{ "SPF_HELO_SOFTFAIL", "SPF: the HELO name says the client is probably not allowed (~all)" },
	{ "SPF_HELO_NEUTRAL", "SPF: the HELO name makes no statement about the client" },
	{ "SPF_HELO_NONE", "SPF: the HELO name publishes no SPF record" },
	{ "SPF_HELO_TEMPERROR", "SPF: temporary DNS error while checking the HELO name" },
	{ "SPF_HELO_PERMERROR", "SPF: the HELO name's SPF record is broken" },
	{ NULL, NULL },
};

/* spf_stage - SPF of HELO and MAIL FROM; its DNS starts at the envelope
 * and follows the records as their answers arrive */
const struct stage spf_stage = {
	.symbols = spf_symbols,
	.name = "spf",
	.dns = true,
	.envelope = spf_stage_envelope,
	.header = spf_stage_header,
	.body = spf_stage_body,
	.eom = spf_stage_eom,
	.cleanup = spf_stage_cleanup,
};
