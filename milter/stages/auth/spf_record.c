/*
 * spf_record.c - what an SPF record must look like before libspf2 sees it.
 *
 * Two steps, both on text only (no DNS, no libspf2, so the unit tests and
 * the fuzzer drive them directly):
 *
 *   spf_record_precheck  the caps of SPEC §7 (length, macro count, macro
 *                        length), against CVE-2023-42118 in Debian 12's
 *                        libspf2 1.2.10; also used for exp= texts.
 *   spf_record_normalize the RFC 7208 §12 grammar, checked strictly where
 *                        libspf2 1.2.10 is lax (domain-spec toplabels,
 *                        empty domain-specs, CIDR syntax, duplicate
 *                        modifiers, c/r/t macros outside exp), and
 *                        rewritten where it is wrong: unknown modifiers
 *                        dropped (§6), redirect= dropped when the record
 *                        has "all" (§6.1), ip4:/0 and ip6:/0 split in two
 *                        /1 networks (libspf2 refuses a /0), literal text
 *                        lower-cased (names are case-insensitive; libspf2
 *                        compares ptr: case-sensitively).
 *   spf_record_targets   the names a normalized record's terms make
 *                        libspf2 look up, to send them ahead of it.
 *   spf_record_attribute which mechanism of a record gave a result (libspf2
 *                        does not say), for the symbol's detail.
 *
 * Thread safety: pure functions.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>

#include "base/cidr.h"
#include "stages/auth/spf.h"
#include "base/util.h"

/* spf_record_precheck - bound what libspf2's compiler gets (SPEC §7) */
int spf_record_precheck(const char *rec, size_t len, bool exp, const char **why)
{
	size_t max = exp ? SPF_MAX_EXP : SPF_MAX_RECORD, term_len = 0;
	int macros = 0, term_macros = 0;

	if (len > max) {
		*why = exp ? "explanation too long" : "record too long";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)rec[i];
		/* RFC 7208 §4.5/§12: records are 7-bit text; a NUL would also
		 * cut the record short inside libspf2 */
		if (c < 0x20 || c > 0x7e) {
			*why = c == 0 ? "NUL byte in record" : "control or 8-bit byte in record";
			return -1;
		}
		if (c == ' ' && !exp) {
			term_len = 0;
			term_macros = 0;
			continue;
		}
		if (++term_len > SPF_MAX_TERM && !exp) {
			*why = "term too long";
			return -1;
		}
		if (c != '%')
			continue;
		/* RFC 7208 §7.1: "%%", "%_", "%-" or "%{...}" */
		if (i + 1 >= len) {
			*why = "'%' at end of record";
			return -1;
		}
		if (rec[i + 1] == '%' || rec[i + 1] == '_' || rec[i + 1] == '-') {
			i++;
			term_len++;
			continue;
		}
		if (rec[i + 1] != '{') {
			*why = "'%' not followed by %, _, - or {";
			return -1;
		}
		size_t j = i + 2;
		while (j < len && rec[j] != '}' && j - (i + 2) <= SPF_MAX_MACRO_LEN) {
			unsigned char mc = (unsigned char)rec[j];
			/* the bytes inside are skipped below: check them here */
			if (mc <= ' ' || mc > 0x7e || mc == '%' || mc == '{') {
				*why = "bad character inside a macro";
				return -1;
			}
			j++;
		}
		if (j >= len || rec[j] != '}') {
			*why = j >= len ? "unterminated macro" : "macro too long";
			return -1;
		}
		if (++macros > SPF_MAX_MACROS || ++term_macros > SPF_MAX_TERM_MACROS) {
			*why = "too many macros";
			return -1;
		}
		term_len += j - i;
		if (term_len > SPF_MAX_TERM && !exp) {
			*why = "term too long";
			return -1;
		}
		i = j;
	}
	return 0;
}

/* ---------------------------------------------------------------- grammar */

/* macro_len - length of the macro-expand at s (§7.1), 0 if none; *bad
 * for a macro letter not allowed outside exp text (c, r, t) */
static size_t macro_len(const char *s, size_t n, bool *bad)
{
	if (n < 2 || s[0] != '%')
		return 0;
	if (s[1] == '%' || s[1] == '_' || s[1] == '-')
		return 2;
	if (s[1] != '{' || n < 4)
		return 0;
	char l = (char)tolower((unsigned char)s[2]);
	if (!strchr("slodiphcrtv", l))
		return 0;
	if (strchr("crt", l))
		*bad = true;
	size_t i = 3;
	while (i < n && isdigit((unsigned char)s[i]))
		i++;
	if (i < n && (s[i] == 'r' || s[i] == 'R'))
		i++;
	while (i < n && strchr(".-+,/_=", s[i]))
		i++;
	return i < n && s[i] == '}' ? i + 1 : 0;
}

/* toplabel_ok - RFC 7208 §7.1 toplabel: alphanumerics and inner
 * hyphens, not all digits */
static bool toplabel_ok(const char *s, size_t n)
{
	bool alpha = false;

	if (n == 0 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (isalpha((unsigned char)s[i]))
			alpha = true;
		else if (!isdigit((unsigned char)s[i]) && s[i] != '-')
			return false;
	}
	return alpha;
}

/* domain_spec_ok - s[0..n) is a domain-spec (§7.1): macro-string
 * domain-end; c, r and t macros are for exp text only */
static bool domain_spec_ok(const char *s, size_t n)
{
	bool bad = false, ends_macro = false;
	size_t last_dot = (size_t)-1;

	if (n == 0)
		return false;
	for (size_t i = 0; i < n;) {
		size_t m = s[i] == '%' ? macro_len(s + i, n - i, &bad) : 0;
		if (s[i] == '%' && m == 0)
			return false;
		if (m) {
			i += m;
			ends_macro = i == n;
			continue;
		}
		if (s[i] == '.')
			last_dot = i;
		i++;
	}
	if (bad)
		return false;
	if (ends_macro)
		return true;
	if (s[n - 1] == '.') {	/* one trailing dot allowed */
		n--;
		if (n == 0)
			return false;
		last_dot = (size_t)-1;
		for (size_t i = 0; i < n; i++)
			if (s[i] == '.')
				last_dot = i;
	}
	if (last_dot == (size_t)-1)
		return false;
	return toplabel_ok(s + last_dot + 1, n - last_dot - 1);
}

/* cidr_ok - "/N" with N in 0..max, no leading zero (§12) */
static bool cidr_ok(const char *s, size_t n, int max, int *val)
{
	if (n < 2 || n > 4 || s[0] != '/' || (s[1] == '0' && n > 2))
		return false;
	int v = 0;
	for (size_t i = 1; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*val = v;
	return v <= max;
}

/* dual_cidr_ok - [ ip4-cidr-length ] [ "/" ip6-cidr-length ] */
static bool dual_cidr_ok(const char *s, size_t n)
{
	const char *dd = NULL;
	int v;

	for (size_t i = 0; i + 1 < n; i++)
		if (s[i] == '/' && s[i + 1] == '/') {
			dd = s + i;
			break;
		}
	size_t n4 = dd ? (size_t)(dd - s) : n;
	if (n4 && !cidr_ok(s, n4, 32, &v))
		return false;
	if (dd && !cidr_ok(dd + 1, n - n4 - 1, 128, &v))
		return false;
	return true;
}

/* digits_back - start of the run of digits ending at s[i) */
static size_t digits_back(const char *s, size_t i)
{
	while (i > 0 && isdigit((unsigned char)s[i - 1]))
		i--;
	return i;
}

/* cidr_suffix - length of a dual-cidr-length ("/N", "//M" or "/N//M")
 * at the end of s[0..n).  A domain-spec may itself hold '/' and ':'
 * (macro-literals), so only the end of a term is a CIDR length */
static size_t cidr_suffix(const char *s, size_t n)
{
	size_t j = digits_back(s, n), k;

	if (j == n || j == 0 || s[j - 1] != '/')
		return 0;
	j--;
	if (j == 0 || s[j - 1] != '/')
		return n - j;		/* "/N" */
	j--;
	k = digits_back(s, j);
	if (k < j && k > 0 && s[k - 1] == '/')
		return n - (k - 1);	/* "/N//M" */
	return n - j;			/* "//M" */
}

/* emit - append a term (lower-cased outside macros) */
static void emit(struct buf *out, char q, const char *s, size_t n)
{
	bool bad = false;

	buf_putc(out, ' ');
	if (q)
		buf_putc(out, q);
	for (size_t i = 0; i < n;) {
		size_t m = s[i] == '%' ? macro_len(s + i, n - i, &bad) : 0;
		if (m) {
			buf_append(out, s + i, m);
			i += m;
		} else {
			buf_putc(out, (char)tolower((unsigned char)s[i]));
			i++;
		}
	}
}

#define NAME_IS(s, n, lit) ((n) == sizeof(lit) - 1 && strncasecmp((s), (lit), (n)) == 0)

/* check_mechanism - one directive without its qualifier; 0 or -1.
 * *zero: an ip4:/ip6: network with prefix length 0 */
static int check_mechanism(const char *t, size_t n, const char **why, bool *is_all,
			   int *zero)
{
	size_t nl = 0;

	while (nl < n && t[nl] != ':' && t[nl] != '/')
		nl++;
	const char *arg = t + nl;
	size_t an = n - nl;

	*is_all = false;
	*zero = 0;
	if (NAME_IS(t, nl, "all")) {
		*is_all = true;
		if (an) {
			*why = "arguments after all";
			return -1;
		}
		return 0;
	}
	if (NAME_IS(t, nl, "include") || NAME_IS(t, nl, "exists")) {
		if (an < 2 || arg[0] != ':' || !domain_spec_ok(arg + 1, an - 1)) {
			*why = "bad domain-spec";
			return -1;
		}
		return 0;
	}
	if (NAME_IS(t, nl, "a") || NAME_IS(t, nl, "mx") || NAME_IS(t, nl, "ptr")) {
		if (an && arg[0] == ':') {
			size_t e = an - 1 - cidr_suffix(arg + 1, an - 1);
			if (!domain_spec_ok(arg + 1, e)) {
				*why = "bad domain-spec";
				return -1;
			}
			arg += 1 + e;
			an -= 1 + e;
		}
		if (an && (NAME_IS(t, nl, "ptr") || !dual_cidr_ok(arg, an))) {
			*why = "bad CIDR length";
			return -1;
		}
		return 0;
	}
	if (NAME_IS(t, nl, "ip4") || NAME_IS(t, nl, "ip6")) {
		bool six = t[2] == '6';
		unsigned char a[16];
		char addr[64];
		int v = six ? 128 : 32;
		if (an < 2 || arg[0] != ':') {
			*why = "missing address";
			return -1;
		}
		size_t al = strcspn(arg + 1, "/");
		if (al > an - 1)
			al = an - 1;
		if (al == 0 || al >= sizeof(addr)) {
			*why = "bad address";
			return -1;
		}
		memcpy(addr, arg + 1, al);
		addr[al] = '\0';
		if (inet_pton(six ? AF_INET6 : AF_INET, addr, a) != 1) {
			*why = "bad address";
			return -1;
		}
		if (1 + al < an && !cidr_ok(arg + 1 + al, an - 1 - al, six ? 128 : 32, &v)) {
			*why = "bad CIDR length";
			return -1;
		}
		*zero = v == 0 ? (six ? 6 : 4) : 0;
		return 0;
	}
	*why = "unknown mechanism";
	return -1;
}

/* spf_record_normalize - the record as libspf2 should see it */
char *spf_record_normalize(const char *rec, const char **why)
{
	struct buf out;
	const char *redirect = NULL, *exp = NULL;
	size_t redirect_n = 0, exp_n = 0;
	bool has_all = false;

	if (strncasecmp(rec, "v=spf1", 6) != 0 || (rec[6] != ' ' && rec[6] != '\0')) {
		*why = "not an SPF record";
		return NULL;
	}
	buf_init(&out);
	buf_puts(&out, "v=spf1");
	for (const char *p = rec + 6; *p;) {
		if (*p == ' ') {
			p++;
			continue;
		}
		size_t n = strcspn(p, " ");
		size_t nl = strcspn(p, "=:/");
		if (nl < n && p[nl] == '=') {
			/* modifier: name "=" macro-string (§4.6.1, §6) */
			bool name_ok = isalpha((unsigned char)p[0]);
			for (size_t i = 1; i < nl; i++)
				if (!isalnum((unsigned char)p[i]) && !strchr("-_.", p[i]))
					name_ok = false;
			if (!name_ok) {
				*why = "bad modifier name";
				goto fail;
			}
			if (NAME_IS(p, nl, "redirect") || NAME_IS(p, nl, "exp")) {
				bool is_redirect = nl == 8;
				if ((is_redirect ? redirect : exp) != NULL) {
					*why = is_redirect ? "redirect= twice" : "exp= twice";
					goto fail;
				}
				if (!domain_spec_ok(p + nl + 1, n - nl - 1)) {
					*why = "bad domain-spec";
					goto fail;
				}
				if (is_redirect) {
					redirect = p;
					redirect_n = n;
				} else {
					exp = p;
					exp_n = n;
				}
			} else {
				/* an unknown modifier is ignored (§6); its value
				 * must still be a macro-string */
				bool bad = false;
				for (size_t i = nl + 1; i < n;) {
					size_t m = p[i] == '%' ? macro_len(p + i, n - i, &bad) : 0;
					if (p[i] == '%' && m == 0) {
						*why = "bad macro";
						goto fail;
					}
					i += m ? m : 1;
				}
			}
			p += n;
			continue;
		}
		char q = strchr("+-~?", *p) ? *p : 0;
		const char *m = q ? p + 1 : p;
		size_t mn = q ? n - 1 : n;
		bool is_all;
		int zero;
		if (check_mechanism(m, mn, why, &is_all, &zero) < 0)
			goto fail;
		has_all |= is_all;
		if (zero == 4) {
			/* libspf2 refuses /0: two halves of the address space */
			emit(&out, q, "ip4:0.0.0.0/1", 13);
			emit(&out, q, "ip4:128.0.0.0/1", 15);
		} else if (zero == 6) {
			emit(&out, q, "ip6:::/1", 8);
			emit(&out, q, "ip6:8000::/1", 12);
		} else {
			emit(&out, q, m, mn);
		}
		p += n;
	}
	/* §6.1: redirect= is ignored when the record has "all" */
	if (redirect && !has_all)
		emit(&out, 0, redirect, redirect_n);
	if (exp)
		emit(&out, 0, exp, exp_n);
	return out.data;
fail:
	buf_free(&out);
	return NULL;
}

/* ---------------------------------------------------------------- targets */

/* target_add - out[*n] = kind of name (n bytes), unless it has a macro
 * or is too long for a DNS name */
static void target_add(struct spf_target *out, size_t *n, enum spf_fetch kind,
		       const char *name, size_t len)
{
	if (len == 0 || len >= SPF_TARGET_NAME || memchr(name, '%', len))
		return;
	out[*n].kind = kind;
	memcpy(out[*n].name, name, len);
	out[*n].name[len] = '\0';
	(*n)++;
}

/* spf_record_targets - what rec's terms will look up */
size_t spf_record_targets(const char *rec, const char *domain, struct spf_target *out,
			  size_t max)
{
	size_t n = 0;

	for (const char *p = rec; *p && n < max;) {
		size_t tn = strcspn(p, " ");
		const char *t = p;

		p += tn;
		while (*p == ' ')
			p++;
		if (tn && strchr("+-~?", *t)) {
			t++;
			tn--;
		}
		size_t nl = strcspn(t, ":/= ");
		if (nl > tn)
			nl = tn;
		const char *arg = t + nl;
		size_t an = tn - nl;
		if ((NAME_IS(t, nl, "include") && an > 1 && arg[0] == ':') ||
		    (NAME_IS(t, nl, "redirect") && an > 1 && arg[0] == '=')) {
			target_add(out, &n, SPF_FETCH_RECORD, arg + 1, an - 1);
		} else if (NAME_IS(t, nl, "a") || NAME_IS(t, nl, "mx")) {
			enum spf_fetch kind = nl == 1 ? SPF_FETCH_ADDR : SPF_FETCH_MX;
			if (an && arg[0] == ':')
				target_add(out, &n, kind, arg + 1,
					   an - 1 - cidr_suffix(arg + 1, an - 1));
			else
				target_add(out, &n, kind, domain, strlen(domain));
		}
	}
	return n;
}

/* ---------------------------------------------------------------- attribution */

/* ip_in - does ip4:/ip6: argument net (ADDR[/LEN]) hold the client? */
static bool ip_in(const char *net, const char *ip)
{
	struct cidr_list l = { 0 };
	const char *err;
	bool in = false;

	if (cidr_list_parse(net, &l, &err) == 0)
		in = cidr_list_match(&l, ip);
	cidr_list_free(&l);
	return in;
}

/* put - s appended at *o of out (outsz bytes, kept NUL-terminated), cut
 * where it is full; *o counts the whole of s, so *o >= outsz says it was
 * cut (snprintf's arithmetic without printf) */
static void put(char *out, size_t outsz, size_t *o, const char *s)
{
	size_t n = strlen(s);

	if (*o < outsz) {
		size_t k = n < outsz - 1 - *o ? n : outsz - 1 - *o;
		memcpy(out + *o, s, k);
		out[*o + k] = '\0';
	}
	*o += n;
}

/* attribute - spf_record_attribute, depth redirects deep */
static void attribute(const char *rec, char want, const char *ip,
		      const char *(*find)(void *arg, const char *domain), void *arg,
		      char *out, size_t outsz, int depth)
{
	char *copy = xstrdup(rec), *save = NULL, *redirect = NULL;
	size_t o = 0;
	int ncand = 0;
	bool decided = false;

	out[0] = '\0';
	for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		char q = strchr("+-~?", *t) ? *t : '+';
		const char *m = strchr("+-~?", *t) ? t + 1 : t;
		size_t nlen = strcspn(m, ":/=");
		if (strncasecmp(m, "v=spf1", 6) == 0)
			continue;
		if (m[nlen] == '=') {
			if (strncasecmp(m, "redirect", nlen) == 0 && nlen == 8)
				redirect = (char *)m + 9;
			continue;
		}
		bool is_ip = (nlen == 3 && (strncasecmp(m, "ip4", 3) == 0 ||
					    strncasecmp(m, "ip6", 3) == 0) && m[3] == ':');
		bool is_all = nlen == 3 && strncasecmp(m, "all", 3) == 0 && m[3] == '\0';
		if (is_ip || is_all) {
			if (is_ip && !ip_in(m + 4, ip))
				continue;
			if (q == want) {
				put(out, outsz, &o, ncand ? " or " : "");
				put(out, outsz, &o, t);
				decided = true;
			}
			break;	/* evaluation stops at a definite match */
		}
		if (q == want && ncand < 3) {
			put(out, outsz, &o, ncand ? " or " : "");
			put(out, outsz, &o, t);
			ncand++;
		}
	}
	if (!decided && ncand == 0 && redirect && depth < 3) {
		const char *r2 = find(arg, redirect);
		if (r2)
			attribute(r2, want, ip, find, arg, out, outsz, depth + 1);
	}
	if (o >= outsz && outsz > 4)
		strcpy(out + outsz - 4, "...");
	free(copy);
}

/* spf_record_attribute - the mechanism behind a result, for the detail */
void spf_record_attribute(const char *rec, char want, const char *ip,
			  const char *(*find)(void *arg, const char *domain), void *arg,
			  char *out, size_t outsz)
{
	attribute(rec, want, ip, find, arg, out, outsz, 0);
}
