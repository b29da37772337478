/*
 * uri_scan.c - URIs in text and their canonical variants, as SpamAssassin 4
 * builds get_uri_list (PerMsgStatus _tbirdurire, _process_text_uri_list,
 * add_uri_detail_list; Util uri_list_canonicalize, url_encode;
 * RegistryBoundaries uri_to_domain).  Our own scanner, no regex engine:
 *
 *   - a match starts at a word boundary or after a start delimiter and is,
 *     in this order of preference: a known scheme (http://, https://,
 *     ftp://, www[N]., ftp.) running to an end delimiter; an e-mail address
 *     (mailto:... or local@domain); a host name ending in a valid TLD, with
 *     an optional :port and /path;
 *   - the end is trimmed (')' without '(' before it ends the URI, trailing
 *     punctuation goes), a scheme is added (http://, ftp://, mailto:), and
 *     the URI is kept only when one of its variants names a host with a
 *     valid TLD or an IPv4 address (SpamAssassin's valid_domain);
 *   - every URI, from text or from HTML, is added with its variants:
 *     %-decoded, "http:" fixed to "http://", a '/' before ?/#, &#N;
 *     entities decoded, the default port, user@ and trailing junk dropped
 *     from the host, numeric hosts as dotted quads, one-label hosts as
 *     www.X.com, and the URI an http redirector carries (the generic
 *     form, not the redirector_pattern lines of the rule files).
 *
 * Cost: the scanner keeps one "next delimiter" position per delimiter
 * class and moves each only forward, so a text costs O(length) whatever
 * it holds; a URI's variants are a fixed number of passes over it, and
 * redirector nesting is followed at most CANON_MAX_DEPTH deep.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/uri.h"
#include "mail/uri_int.h"
#include "base/strbuf.h"
#include "base/vec16.h"
#include "base/util.h"

#define VAR_MAX 48		/* variants of one URI, redirect targets included */
#define CANON_MAX_DEPTH 4	/* redirector inside redirector ... */
#define MAIL_PART_MAX 251	/* local part and domain of a bare address */
#define HOST_RUN_MAX 320	/* a schemeless host name (253 + a TLD) */
#define PORT_MAX_DIGITS 5

_Static_assert(URI_CANON_LEVELS == CANON_MAX_DEPTH + 1, "a scratch level per depth");

/* scratch - the thread's scratch buffers (uri_int.h) */
static struct uri_scratch *scratch(struct uri_set *s)
{
	(void)s;
	return uri_scratch_get();
}

/* variants of one URI: strings in sc->all */
struct vars {
	size_t off[VAR_MAX];	/* where each starts in sc->all */
	size_t n;
	struct uri_scratch *sc;
};

/* vars_init - no variants yet */
static void vars_init(struct vars *vs, struct uri_scratch *sc)
{
	vs->n = 0;
	vs->sc = sc;
	buf_reset(&sc->all);
}

/* var - variant i (valid until the next vars_push) */
static const char *var(const struct vars *vs, size_t i)
{
	return vs->sc->all.data + vs->off[i];
}

/* vars_push - keep a copy of n bytes of u (cut at URI_MAX_LEN, and at a
 * NUL as strndup cuts) */
static void vars_push(struct vars *vs, const char *u, size_t n)
{
	if (vs->n >= VAR_MAX || n == 0)
		return;
	struct buf *all = &vs->sc->all;
	vs->off[vs->n++] = all->len;
	buf_append(all, u, strnlen(u, n < URI_MAX_LEN ? n : URI_MAX_LEN));
	buf_putc(all, '\0');
}

/* vars_push3 - keep a + b + c */
static void vars_push3(struct vars *vs, const char *a, size_t an, const char *b, size_t bn,
		       const char *c, size_t cn)
{
	struct buf *t = &vs->sc->tmp;

	if (vs->n >= VAR_MAX)
		return;
	buf_reset(t);
	buf_append(t, a, an);
	buf_append(t, b, bn);
	buf_append(t, c, cn);
	vars_push(vs, t->data, t->len);
}

/* vars_free - forget the variants (the buffer stays for the next URI) */
static void vars_free(struct vars *vs)
{
	vs->n = 0;
}

/* tmp_copy - b made the n bytes at p; its data */
static char *tmp_copy(struct buf *b, const char *p, size_t n)
{
	buf_reset(b);
	buf_append(b, p, n);
	return b->data;
}

/* has_pct - does u hold a %XX escape? */
static bool has_pct(const char *u)
{
	for (const char *p = strchr(u, '%'); p; p = strchr(p + 1, '%'))
		if (c_hexval((unsigned char)p[1]) >= 0 && c_hexval((unsigned char)p[2]) >= 0)
			return true;
	return false;
}

/* url_decode - SpamAssassin's url_encode: %XX of a printable character
 * (0x21-0x7e) decoded, bytes outside it and " % < > escaped (%xx) */
static void url_decode(const char *u, struct buf *out)
{
	buf_reset(out);
	for (const char *p = u; *p; p++) {
		unsigned char c = (unsigned char)*p;
		int h = c == '%' ? c_hexval((unsigned char)p[1]) : -1;
		int l = h >= 0 ? c_hexval((unsigned char)p[2]) : -1;
		if (l >= 0) {
			int v = h * 16 + l;
			if (v > 0x20 && v < 0x7f)
				buf_putc(out, (char)v);
			else
				buf_append(out, p, 3);
			p += 2;
		} else if (c <= 0x20 || c >= 0x7f || strchr("\"%<>", c)) {
			buf_putc(out, '%');
			buf_put_hex(out, c, 2);
		} else {
			buf_putc(out, (char)c);
		}
	}
}

/* has_ref - does p hold "&#"? */
static bool has_ref(const char *p, size_t n)
{
	for (const char *a = memchr(p, '&', n); a; a = memchr(a + 1, '&', (size_t)(p + n - a - 1)))
		if (a + 1 < p + n && a[1] == '#')
			return true;
	return false;
}

/* entity_pass - one of the three &#...; rewrites of uri_list_canonicalize:
 * kind 0 decimal 33..126, 1 "&#x" hex 21..7e, 2 the Unicode full stops */
static void entity_pass(struct buf *b, int kind)
{
	static const char *const dots[] = { "x2e", "12290", "x3002", "65294", "xff0e",
					    "65377", "xff61" };
	struct buf o;

	if (!has_ref(b->data, b->len))
		return;
	buf_init(&o);
	for (size_t i = 0; i < b->len; i++) {
		const char *p = b->data + i;
		size_t left = b->len - i, k = 2;
		long v = -1;
		if (left < 4 || p[0] != '&' || p[1] != '#') {
			buf_putc(&o, *p);
			continue;
		}
		if (kind == 2) {
			for (size_t d = 0; d < sizeof(dots) / sizeof(dots[0]) && v < 0; d++) {
				size_t dn = strlen(dots[d]);
				if (left > 2 + dn && strncasecmp(p + 2, dots[d], dn) == 0 &&
				    p[2 + dn] == ';') {
					v = '.';
					k = 2 + dn;
				}
			}
		} else {
			int base = kind == 0 ? 10 : 16;
			if (kind == 1 && p[k++] != 'x') {
				buf_putc(&o, *p);
				continue;
			}
			while (k < left && p[k] == '0')
				k++;
			size_t d0 = k;
			long x = 0;
			while (k < left && k - d0 < 3 &&
			       (base == 10 ? isdigit((unsigned char)p[k]) : c_hexval((unsigned char)p[k]) >= 0))
				x = x * base + c_hexval((unsigned char)p[k++]);
			bool in = kind == 0 ? x >= 33 && x <= 126 : x >= 0x21 && x <= 0x7e;
			if (k > d0 && k < left && p[k] == ';' && in)
				v = x;
		}
		if (v < 0) {
			buf_putc(&o, *p);
			continue;
		}
		buf_putc(&o, (char)v);
		i += k;		/* past the ';' */
	}
	buf_reset(b);
	buf_append(b, o.data, o.len);
	buf_free(&o);
}

/* mail_variants - uri_list_canonicalize for mailto: and user@ URIs */
static void mail_variants(struct vars *vs, const char *u)
{
	const char *at = strchr(u, '@');
	size_t n = strlen(u);

	if (at != NULL && at > u) {
		const char *q = strchr(at + 1, '?');
		if (q != NULL && q > at + 1)	/* ^([^@]+@[^?]+)\? */
			vars_push(vs, u, (size_t)(q - u));
		size_t e = (size_t)(at + 1 - u) + strcspn(at + 1, "?&");
		if (e > (size_t)(at + 1 - u) && u[e] == '&')	/* ^([^@]+@[^?&]+)& */
			vars_push(vs, u, e);
	}
	if (strstr(u, "%20") != NULL) {	/* the address without %20 */
		const char *p = u;
		if (strncasecmp(p, "mailto:", 7) == 0)
			p += 7;
		while (strncmp(p, "%20", 3) == 0)
			p += 3;
		const char *a = strchr(p, '@');
		if (a != NULL && a > p) {
			size_t e = (size_t)(a + 1 - p) + strcspn(a + 1, "?&%");
			if (e > (size_t)(a + 1 - p))
				vars_push3(vs, "mailto:", 7, p, e, "", 0);
		}
	}
	size_t lt = strcspn(u, "?&<");	/* ^[^?&]*<([^@>]+@[^>]+)> */
	if (lt < n && u[lt] == '<') {
		const char *p = u + lt + 1, *gt = strchr(p, '>');
		const char *a = memchr(p, '@', gt ? (size_t)(gt - p) : 0);
		if (gt != NULL && a != NULL && a > p && gt > a + 1)
			vars_push3(vs, "mailto:", 7, p, (size_t)(gt - p), "", 0);
	}
}

/* octet - one part of a numeric host as SpamAssassin rewrites it: hex to
 * decimal, a leading-zero octal number (to a word end) to decimal, other
 * leading zeros dropped (keeping its '.', if any) */
static void octet(const char *p, size_t n, struct buf *out)
{
	char t[32];
	bool dot = n > 0 && p[n - 1] == '.';
	size_t dn = n - dot;

	if (dn > 2 && p[0] == '0' && tolower((unsigned char)p[1]) == 'x') {
		unsigned long long v = 0;
		for (size_t i = 2; i < dn && i < 18; i++)
			v = v * 16 + (unsigned)c_hexval((unsigned char)p[i]);
		fmt_uint(t, v);
		p = t;
		dn = strlen(t);
	}
	size_t z = 0;
	while (z < dn && p[z] == '0')
		z++;
	if (z > 0 && z < dn) {	/* ^0+([1-3][0-7]{0,2}|[4-7][0-7]?)\b */
		size_t k = z, lim = p[z] <= '3' ? 3 : 2;
		while (k < dn && k - z < lim && p[k] >= '0' && p[k] <= '7' && (k == z ? p[k] >= '1' : true))
			k++;
		if (k == dn) {
			unsigned v = 0;
			for (size_t i = z; i < k; i++)
				v = v * 8 + (unsigned)(p[i] - '0');
			buf_put_uint(out, v);
			if (dot)
				buf_putc(out, '.');
			return;
		}
	}
	buf_append(out, p + z, dn - z);
	if (dot)
		buf_putc(out, '.');
}

/* dotted - is host four parts of (0x hex | decimal) joined by dots? */
static bool dotted(const char *h, size_t n, size_t cut[4])
{
	size_t part = 0, i = 0;

	while (part < 4) {
		size_t s = i;
		if (i + 2 < n && h[i] == '0' && tolower((unsigned char)h[i + 1]) == 'x' &&
		    c_hexval((unsigned char)h[i + 2]) >= 0) {
			i += 2;
			while (i < n && c_hexval((unsigned char)h[i]) >= 0)
				i++;
		} else {
			while (i < n && isdigit((unsigned char)h[i]))
				i++;
		}
		if (i == s)
			return false;
		if (part < 3) {
			if (i >= n || h[i] != '.')
				return false;
			i++;	/* the '.' stays with its part */
		}
		cut[part++] = i;
	}
	return i == n;
}

/* ulong_ip - a number as SpamAssassin's decode_ulong_to_ip: the first
 * four bytes of its hex form, at least 8 digits */
static void ulong_ip(unsigned long long v, struct buf *out)
{
	char hx[24];
	int b[4];

	snprintf(hx, sizeof(hx), "%08llx", v);
	for (int i = 0; i < 4; i++)
		b[i] = c_hexval((unsigned char)hx[2 * i]) * 16 + c_hexval((unsigned char)hx[2 * i + 1]);
	buf_printf(out, "%d.%d.%d.%d", b[0], b[1], b[2], b[3]);
}

static void canon(struct vars *vs, const char *uri, size_t len, int depth);

/* find_http - strcasestr(p, "http") without its set-up per call */
static const char *find_http(const char *p)
{
	for (; *p; p++)
		if ((p[0] | 0x20) == 'h' && (p[1] | 0x20) == 't' && (p[2] | 0x20) == 't' &&
		    (p[3] | 0x20) == 'p')
			return p;
	return NULL;
}

/* http_variants - the host part of an http(s) URI: default port, user@
 * and trailing junk dropped, numeric hosts, one-label hosts, and the URI
 * a generic redirector carries (canonicalized in turn) */
static void http_variants(struct vars *vs, const char *nuri, int depth)
{
	size_t pl = strncasecmp(nuri, "https://", 8) == 0 ? 8 : 7;
	const char *a = nuri + pl, *hs = a;
	size_t r = strcspn(a, "@/?#");

	if (a[r] == '@' && strcspn(a + r + 1, "/?#:") > 0)
		hs = a + r + 1;		/* auth "user:pass@" */
	size_t hn = strcspn(hs, "/?#:");
	if (hn == 0)
		return;
	bool http = strncmp(nuri, "http://", 7) == 0;	/* as written, lower case */
	const char *rest = hs + hn;
	size_t restn = strlen(rest);
	bool noauth = hs == a, port_default = true;
	struct uri_canon_tmp *tb = &vs->sc->t[depth];
	char *host = tmp_copy(&tb->host, hs, hn), *nhost = str_lower(tmp_copy(&tb->nhost, hs, hn));

	if (rest[0] == ':') {
		size_t d = strspn(rest + 1, "0123456789");
		port_default = d == 0;	/* ":" and no digits: as none */
		const char *want = http ? "80" : "443";
		size_t wn = strlen(want);
		if (d == wn && strncmp(rest + 1, want, wn) == 0)
			port_default = http;	/* SpamAssassin: port eq '80' */
		if (d >= wn && strncmp(rest + 1, want, wn) == 0 &&
		    !(isalnum((unsigned char)rest[1 + wn]) || rest[1 + wn] == '_'))
			vars_push3(vs, nuri, pl, host, hn, rest + 1 + wn, restn - 1 - wn);
	}
	/* control characters and spaces in the host go */
	char *h2 = tmp_copy(&tb->h2, host, hn);
	size_t k = 0;
	for (size_t i = 0; i < hn; i++)
		if ((unsigned char)host[i] > 0x20)
			h2[k++] = host[i];
	if (k < hn) {
		vars_push3(vs, nuri, pl, h2, k, rest, restn);
		memcpy(host, h2, k);
		hn = k;
		host[hn] = '\0';
	}
	/* a generic redirector: http:... inside the rest */
	for (const char *p = rest; depth < CANON_MAX_DEPTH && (p = find_http(p)) != NULL; p++) {
		const char *q = p + 4;
		if (tolower((unsigned char)*q) == 's')
			q++;
		if (*q != ':')
			continue;
		size_t t = strcspn(q + 1, "&#");
		if (t == 0)
			continue;
		size_t tn = (size_t)(q + 1 - p) + t;
		if (memchr(p, '.', tn) != NULL) {
			canon(vs, p, tn, depth + 1);
			break;
		}
		break;	/* the leftmost match decides */
	}
	/* user@ inside the host, trailing non-alphanumerics */
	char *at = strchr(host, '@');
	if (at != NULL && at > host) {
		hn -= (size_t)(at + 1 - host);
		memmove(host, at + 1, hn + 1);
		vars_push3(vs, nuri, pl, host, hn, rest, restn);
	}
	size_t t = hn;
	while (t > 0 && !isalnum((unsigned char)host[t - 1]))
		t--;
	if (t < hn) {
		hn = t;
		host[hn] = '\0';
		vars_push3(vs, nuri, pl, host, hn, rest, restn);
	}
	struct buf *ipb = &tb->ip;
	size_t cut[4];
	buf_reset(ipb);
	if (dotted(host, hn, cut)) {
		for (size_t i = 0, s = 0; i < 4; s = cut[i++])
			octet(host + s, cut[i] - s, ipb);
	} else if (hn > 2 && host[0] == '0' && tolower((unsigned char)host[1]) == 'x' &&
		   strspn(host + 2, "0123456789abcdefABCDEF") == hn - 2) {
		size_t s = hn - 2 > 8 ? hn - 8 : 2;
		ulong_ip(strtoull(host + s, NULL, 16), ipb);
	} else if (hn > 0 && strspn(host, "0123456789") == hn) {
		ulong_ip(hn > 19 ? UINT64_MAX : strtoull(host, NULL, 10), ipb);
	} else if (http && noauth && port_default && strcmp(nhost, "localhost") != 0) {
		/* http://foo -> http://www.foo.com, as Firefox does */
		const char *l = strncmp(nhost, "www.", 4) == 0 ? nhost + 4 : nhost;
		if (*l != '\0' && strchr(l, '.') == NULL && !uri_domain_valid(nhost, strlen(nhost)))
			buf_printf(ipb, "www.%s.com", l);
	}
	if (ipb->len > 0)
		vars_push3(vs, nuri, pl, ipb->data, ipb->len, rest, restn);
}

/*
 * canon - uri_list_canonicalize of one URI: the URI itself and its
 * variants into vs; nothing for a bare fragment, query or path.
 */
static void canon(struct vars *vs, const char *uri, size_t len, int depth)
{
	struct uri_canon_tmp *tb = &vs->sc->t[depth];
	struct buf *up = &tb->u;

	buf_reset(up);
	size_t ul = strnlen(uri, len);
	if (memchr(uri, '\n', ul) == NULL && memchr(uri, '\r', ul) == NULL) {
		buf_append(up, uri, ul);	/* the usual case: one copy */
	} else {
		for (size_t i = 0; i < ul; i++)	/* newlines and CRs go */
			if (uri[i] != '\n' && uri[i] != '\r')
				buf_putc(up, uri[i]);
	}
	size_t s = 0, e = up->len;
	while (s < e && isspace((unsigned char)up->data[s]))
		s++;
	while (e > s && isspace((unsigned char)up->data[e - 1]))
		e--;
	const char *r = up->data + s;
	size_t rn = e - s;
	vars_push(vs, r, rn);	/* kept even when not looked into */
	if (rn <= 1 || strchr("#?&", r[0]) || (r[0] == '/' && (rn < 2 || r[1] != '/')))
		return;
	char *raw = tmp_copy(&tb->raw, r, strnlen(r, rn));
	size_t colon = strcspn(raw, ":"), at = strcspn(raw, "@");
	if (strncasecmp(raw, "mailto:", 7) == 0 || (raw[at] == '@' && at < colon)) {
		mail_variants(vs, raw);
		return;
	}
	struct buf *np = &tb->n, *dp = &tb->d;
	buf_reset(np);
	buf_reset(dp);
	for (char *p = raw; *p; p++)	/* some clients read \ as / */
		if (*p == '\\')
			*p = '/';
	size_t sl = 0;
	if (strncasecmp(raw, "http:", 5) == 0 || strncasecmp(raw, "https:", 6) == 0) {
		sl = tolower((unsigned char)raw[4]) == 's' ? 6 : 5;
		buf_append(np, raw, sl);
		buf_puts(np, "//");
		sl += strspn(raw + sl, "/") > 2 ? 2 : strspn(raw + sl, "/");
	}
	buf_puts(np, raw + sl);
	if (has_pct(np->data)) {
		url_decode(np->data, dp);
		buf_reset(np);
		buf_append(np, dp->data, dp->len);
	}
	size_t sch = 0;	/* [-_a-zA-Z0-9]* */
	while (isalnum((unsigned char)np->data[sch]) || np->data[sch] == '-' || np->data[sch] == '_')
		sch++;
	if (sch == 0 || np->data[sch] != ':') {	/* no scheme: as a browser would */
		buf_reset(dp);
		buf_puts(dp, strncmp(np->data, "ftp.", 4) == 0 ? "ftp://" : "http://");
		buf_append(dp, np->data, np->len);
		buf_reset(np);
		buf_append(np, dp->data, dp->len);
	}
	if (strncasecmp(np->data, "http://", 7) == 0 || strncasecmp(np->data, "https://", 8) == 0) {
		size_t pl = tolower((unsigned char)np->data[4]) == 's' ? 8 : 7;
		size_t h = strcspn(np->data + pl, "/?#");
		if (h > 0 && (np->data[pl + h] == '?' || np->data[pl + h] == '#')) {
			buf_reset(dp);
			buf_append(dp, np->data, pl + h);
			buf_putc(dp, '/');
			buf_puts(dp, np->data + pl + h);
			buf_reset(np);
			buf_append(np, dp->data, dp->len);
		}
	}
	for (int k = 0; k < 3; k++)
		entity_pass(np, k);
	if (np->len != strlen(raw) || memcmp(np->data, raw, np->len) != 0)
		vars_push(vs, np->data, np->len);
	if ((strncasecmp(np->data, "http://", 7) == 0 || strncasecmp(np->data, "https://", 8) == 0) &&
	    memchr(np->data, '\0', np->len) == NULL)
		http_variants(vs, np->data, depth);
}

/* ipv4 - is h a dotted quad of decimal numbers up to 255? */
static bool ipv4(const char *h)
{
	unsigned a, b, c, d;
	char end;

	return sscanf(h, "%3u.%3u.%3u.%3u%c", &a, &b, &c, &d, &end) == 4 && a < 256 &&
	       b < 256 && c < 256 && d < 256 && strspn(h, "0123456789.") == strlen(h);
}

/* fqdn_valid - SpamAssassin's is_fqdn_valid on an ASCII name: two labels
 * or more of 1-63 [a-z0-9_-], no '-' at a label's ends, no '_' in the
 * last two; trailing dots ignored */
static bool fqdn_valid(const char *h, size_t n)
{
	while (n > 0 && h[n - 1] == '.')
		n--;
	if (n == 0 || n > 253)
		return false;
	size_t labels = 0, e = n;
	while (true) {
		size_t s = e;
		while (s > 0 && h[s - 1] != '.')
			s--;
		size_t ln = e - s;
		if (ln < 1 || ln > 63 || h[s] == '-' || h[e - 1] == '-')
			return false;
		for (size_t i = s; i < e; i++) {
			unsigned char c = (unsigned char)h[i];
			if (!(isalnum(c) || c == '-' || c == '_') || c >= 0x80)
				return false;
			if (c == '_' && labels < 2)
				return false;
		}
		labels++;
		if (s == 0)
			break;
		e = s - 1;
	}
	return labels > 1;
}

/* uri_host_valid - an IPv4 address or a valid name with a valid TLD */
bool uri_host_valid(const char *h)
{
	size_t n = strlen(h);

	if (strchr(h, '%') != NULL)
		return false;
	return ipv4(h) || (fqdn_valid(h, n) && uri_domain_valid(h, n));
}

/* uri_host - the host of a URI, lower case */
bool uri_host(const char *uri, char *out, size_t cap)
{
	const char *p = strstr(uri, "://"), *e;

	if (p == NULL || strncasecmp(uri, "mailto:", 7) == 0)
		return false;
	p += 3;
	e = p + strcspn(p, "/?#");
	for (const char *q = p; q < e; q++)	/* past user:pass@ */
		if (*q == '@')
			p = q + 1;
	bool literal = *p == '[';
	if (literal) {
		const char *r = memchr(p, ']', (size_t)(e - p));
		if (r == NULL)
			return false;
		p++;
		e = r;
	} else {
		const char *c = memchr(p, ':', (size_t)(e - p));
		if (c)
			e = c;
	}
	size_t n = (size_t)(e - p);
	while (n && p[n - 1] == '.')
		n--;
	if (n == 0 || n >= cap)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	str_lower(out);
	return literal || uri_host_valid(out);
}

/* has_domain - RegistryBoundaries uri_to_domain found a domain: the host
 * of the URI (of the address for mailto:) is an IPv4 address or a valid
 * host name with a valid TLD */
static bool has_domain(const char *uri, struct buf *lower)
{
	char *u = str_lower(tmp_copy(lower, uri, strlen(uri))), *h = u;
	bool ok = false;

	if (strncmp(u, "javascript:", 11) == 0 || strncmp(u, "cid:", 4) == 0 ||
	    strncmp(u, "file:", 5) == 0)
		goto out;
	if (strncmp(u, "mailto:", 7) == 0) {
		h[strcspn(h, "?")] = '\0';
		char *a = strchr(h, '@');
		if (a == NULL || strchr(a + 1, '@') != NULL)
			goto out;
		h = a + 1;
	} else {
		size_t sc = strspn(h, "abcdefghijklmnopqrstuvwxyz");
		if (sc > 0 && h[sc] == ':') {
			h += sc + 1;
			h += strspn(h, "/") > 2 ? 2 : strspn(h, "/");
		}
		h[strcspn(h, "/?#")] = '\0';
		char *a = strrchr(h, '@');
		if (a != NULL)
			h = a + 1;
		char *c = strrchr(h, ':');
		if (c != NULL && strspn(c + 1, "0123456789") == strlen(c + 1))
			*c = '\0';
	}
	ok = uri_host_valid(h);	/* an undecoded %XX: the decoded variant counts */
out:
	return ok;
}

/* add_vars - every variant into the set */
static void add_vars(struct uri_set *s, struct vars *vs)
{
	for (size_t i = 0; i < vs->n; i++)
		uri_set_add(s, var(vs, i), strlen(var(vs, i)));
}

/* uri_add_found - an HTML attribute's URI and its variants */
void uri_add_found(struct uri_set *s, const char *uri, size_t len)
{
	struct vars vs;

	vars_init(&vs, scratch(s));
	canon(&vs, uri, strnlen(uri, len), 0);
	if (vs.n > 0 && strlen(var(&vs, 0)) >= URI_MAX_LEN && s->capped == NULL)
		s->capped = "URI longer than 2048 bytes cut";
	add_vars(s, &vs);
	vars_free(&vs);
}

/* ------------------------------------------------------------- scanner */

/* delimiter classes of an ASCII byte, one table lookup instead of a
 * strchr per byte scanned: C_END is_end's ><"`}]{[|, C_MAIL the , ( ' an
 * address also ends at, C_START the start delimiters ><"'`,{[(| of
 * starts, C_SC the punctuation a schemeless host may follow (sc_start) */
enum { C_END = 1, C_MAIL = 2, C_START = 4, C_SC = 8 };
static const unsigned char delim[256] = {
	['!'] = C_SC, ['"'] = C_END|C_START|C_SC, ['#'] = C_SC, ['$'] = C_SC, ['&'] = C_SC,
	['\''] = C_MAIL|C_START|C_SC, ['('] = C_MAIL|C_START|C_SC, [')'] = C_SC, ['*'] = C_SC,
	['+'] = C_SC, [','] = C_MAIL|C_START|C_SC, ['/'] = C_SC, [':'] = C_SC, [';'] = C_SC,
	['<'] = C_END|C_START|C_SC, ['='] = C_SC, ['>'] = C_END|C_START|C_SC, ['?'] = C_SC,
	['@'] = C_SC, ['['] = C_END|C_START|C_SC, ['\\'] = C_SC, [']'] = C_END|C_SC,
	['^'] = C_SC, ['`'] = C_END|C_START|C_SC, ['{'] = C_END|C_START|C_SC,
	['|'] = C_END|C_START|C_SC, ['}'] = C_END|C_SC, ['~'] = C_SC
};

/* is_end - SpamAssassin's end delimiters ><"`}]{[| white space, ESC and
 * no-break space (the byte 0xa0, or its UTF-8 form c2 a0) */
static bool is_end(const char *t, size_t i, size_t len)
{
	unsigned char c = (unsigned char)t[i];

	if (c == 0xc2 && i + 1 < len && (unsigned char)t[i + 1] == 0xa0)
		return true;
	return c == 0xa0 || c == 0x1b || c == '\0' || c_space(c) || (delim[c] & C_END);
}

/* is_end_mail - the end delimiters of an address: also , ( ' and any
 * byte that is not ASCII */
static bool is_end_mail(const char *t, size_t i, size_t len)
{
	unsigned char c = (unsigned char)t[i];

	return is_end(t, i, len) || c >= 0x80 || (delim[c] & C_MAIL);
}

/* is_end_local - the local part of a bare address also ends at '@' */
static bool is_end_local(const char *t, size_t i, size_t len)
{
	return t[i] == '@' || is_end_mail(t, i, len);
}

/* word - Perl's \w on a byte (letters of UTF-8 text count) */
static bool word(unsigned char c)
{
	return c_alnum(c) || c == '_' || (c >= 0x80 && c != 0xa0);
}

/* starts - may a URI start at t[i]: a word boundary, or after a start
 * delimiter ><"'`,{[(| white space ESC nbsp, or after ESC ( x */
static bool starts(const char *t, size_t i)
{
	if (i == 0)
		return true;
	unsigned char p = (unsigned char)t[i - 1];
	if (word(p) != word((unsigned char)t[i]))
		return true;
	if (p == 0 || p == 0xa0 || p == 0x1b || c_space(p) || (delim[p] & C_START))
		return true;
	return i >= 3 && t[i - 3] == 0x1b && t[i - 2] == '(';
}

/* sc_start - may a schemeless host start at t[i]: line start or after
 * ASCII punctuation other than . - _ %, white space, ESC or nbsp */
static bool sc_start(const char *t, size_t i)
{
	if (i == 0)
		return true;
	unsigned char p = (unsigned char)t[i - 1];
	return p == 0xa0 || p == 0x1b || c_space(p) || (delim[p] & C_SC);
}

/* a "next delimiter" cache: no delimiter in [from, at), one at at (or
 * at == len) */
struct stop_cache {
	size_t from, at;
};

/* next_stop - the first j >= i with stop(t, j, len), or len.  Each call
 * site asks with a start that (nearly) only moves forward, so the cache
 * makes the scans of one text O(length): a start before the cached range
 * scans only the gap up to it. */
static size_t next_stop(const char *t, size_t i, size_t len, struct stop_cache *c,
			bool (*stop)(const char *, size_t, size_t))
{
	if (c->at != SIZE_MAX && i >= c->from && i <= c->at)
		return c->at;
	bool gap = c->at != SIZE_MAX && i < c->from;	/* only [i, from) unknown */
	size_t j = i, lim = gap ? c->from : len;
	while (j < lim && !stop(t, j, len))
		j++;
	c->from = i;
	if (!gap || j < lim)
		c->at = j;
	return c->at;
}

/* known_prefix - length of http:// https:// ftp:// www[N]. ftp. at p */
static size_t known_prefix(const char *p, size_t left)
{
	static const char *const pre[] = { "http://", "https://", "ftp://", "ftp." };
	int c = *p | 0x20;	/* ASCII lower case; the scanner asks at every start */

	if (c != 'h' && c != 'f' && c != 'w')
		return 0;
	for (size_t k = 0; k < sizeof(pre) / sizeof(pre[0]); k++) {
		size_t n = strlen(pre[k]);
		if (left >= n && strncasecmp(p, pre[k], n) == 0)
			return n;
	}
	if (left >= 4 && strncasecmp(p, "www", 3) == 0) {
		size_t d = 3;
		while (d < 5 && d < left && isdigit((unsigned char)p[d]))
			d++;
		if (d < left && p[d] == '.')
			return d + 1;
	}
	return 0;
}

/* tld_end - the host run at t[i..e) ends in "." TLD (one more '.' allowed):
 * length of the host without that dot, 0 if not */
static size_t tld_end(const char *h, size_t n)
{
	size_t m = n && h[n - 1] == '.' ? n - 1 : n;
	size_t dot = m;

	while (dot > 0 && h[dot - 1] != '.')
		dot--;
	if (dot < 2 || dot == m || !uri_tld_valid(h + dot, m - dot))
		return 0;
	return m;
}

/* schemeless - host.TLD[.][:port][/path] at i, followed by an end
 * delimiter: its length, and the host's in *hostn; 0 if none */
static size_t schemeless(const char *t, size_t i, size_t len, struct stop_cache *end_at,
			 size_t *hostn)
{
	size_t e = i;

	if (!isalnum((unsigned char)t[i]))
		return 0;
	while (e < len && e - i <= HOST_RUN_MAX &&
	       (isalnum((unsigned char)t[e]) || strchr("._-", t[e]) != NULL) && t[e] != '\0')
		e++;
	if (e - i > HOST_RUN_MAX || (*hostn = tld_end(t + i, e - i)) == 0)
		return 0;
	if (e < len && t[e] == ':') {
		size_t d = 0;
		while (e + 1 + d < len && isdigit((unsigned char)t[e + 1 + d]))
			d++;
		if (d < 1 || d > PORT_MAX_DIGITS)
			return 0;
		e += 1 + d;
	}
	if (e < len && t[e] == '/') {
		size_t stop = next_stop(t, e + 1, len, end_at, is_end);
		if (stop == e + 1 || stop - e - 1 > URI_MAX_LEN)
			return 0;
		e = stop;
	}
	return e == len || is_end(t, e, len) ? e - i : 0;
}

/* trim_found - SpamAssassin's trimming of a match: a ')' with no '('
 * before it ends the URI; trailing -~!@#^&*()_+=:;'?,. go */
static size_t trim_found(const char *u, size_t n)
{
	const char *open = memchr(u, '(', n), *close = memchr(u, ')', n);

	if (close != NULL && (open == NULL || open > close))
		n = (size_t)(close - u);
	while (n > 0 && strchr("-~!@#^&*()_+=:;'?,.", u[n - 1]) != NULL && u[n - 1] != '\0')
		n--;
	return n;
}

/* found - one match of the scanner, kind 'k' known scheme, 'm' mail,
 * 's' schemeless (host: its host name): trimmed, a scheme added, kept
 * when it names a valid domain */
static void found(struct uri_set *s, const char *u, size_t n, char kind, size_t hostn)
{
	n = trim_found(u, n);
	if (n == 0 || (kind == 'm' && memchr(u, '@', n) == NULL))
		return;
	if (kind == 's' && !fqdn_valid(u, hostn < n ? hostn : n))
		return;
	if (n > 4 && (strncasecmp(u, "cid:", 4) == 0 || strncasecmp(u, "mid:", 4) == 0))
		return;
	size_t w = 0;	/* ^\w+:/{0,2}$: a scheme alone */
	while (w < n && (isalnum((unsigned char)u[w]) || u[w] == '_'))
		w++;
	if (w > 0 && w < n && u[w] == ':' && n - w - 1 <= 2 && strspn(u + w + 1, "/") >= n - w - 1)
		return;
	struct buf *b = &scratch(s)->found;	/* not canon's: kept through it */
	buf_reset(b);
	size_t sc = strspn(u, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
	bool schemed = sc < n && u[sc] == ':' &&
		       (((sc == 4 || sc == 5) && strncasecmp(u, "https", sc) == 0) ||
			(sc == 3 && strncasecmp(u, "ftp", 3) == 0) ||
			(sc == 6 && strncasecmp(u, "mailto", 6) == 0));
	const char *slash = memchr(u, '/', n), *at = memchr(u, '@', n);
	bool at_after_slash = slash != NULL && slash + 2 < u + n &&
			      memchr(slash + 2, '@', (size_t)(u + n - slash - 2)) != NULL;
	if (schemed) {
		buf_append(b, u, n);
	} else if (n >= 4 && strncasecmp(u, "ftp.", 4) == 0) {
		buf_puts(b, "ftp://");
		buf_append(b, u, n);
	} else if (known_prefix(u, n) > 0 && strncasecmp(u, "www", 3) == 0) {
		buf_puts(b, "http://");
		buf_append(b, u, n);
	} else if (at_after_slash) {
		buf_puts(b, "http://");	/* a '/' before '@': not an address */
		buf_append(b, u, n);
	} else if (at != NULL) {
		const char *dot = memchr(at + 1, '.', (size_t)(u + n - at - 1));
		if (dot == NULL || dot == at + 1 || memmem(u, n, "&nbsp;", 6) != NULL)
			return;
		static const char *const junk[] = { "skype", "e-mail", "email", "-mail", "mail" };
		const char *p = u;	/* strip (skype|e?-?mail)?:+ */
		size_t m = n;
		for (size_t k = 0; k < sizeof(junk) / sizeof(junk[0]); k++) {
			size_t jn = strlen(junk[k]);
			if (m > jn && strncasecmp(p, junk[k], jn) == 0 && p[jn] == ':') {
				p += jn;
				m -= jn;
				break;
			}
		}
		while (m > 0 && *p == ':') {
			p++;
			m--;
		}
		buf_puts(b, "mailto:");
		buf_append(b, p, m);
	} else {
		if (memchr(u, '.', n) == NULL)
			return;
		buf_puts(b, "http://");	/* not linked by mail clients */
		buf_append(b, u, n);
	}
	if (strncasecmp(b->data, "mailto:", 7) == 0) {
		if (has_pct(b->data)) {
			struct buf d;
			buf_init(&d);
			url_decode(b->data, &d);
			buf_reset(b);
			buf_append(b, d.data, d.len);
			buf_free(&d);
		}
		const char *a = strchr(b->data, '@');
		if (a == NULL)
			return;
		size_t hn = strcspn(a + 1, "?&>");
		while (hn >= 3 && strncmp(a + 1 + hn - 3, "%20", 3) == 0)
			hn -= 3;
		if (!uri_domain_valid(a + 1, hn))
			return;
	}
	struct vars vs;
	vars_init(&vs, scratch(s));
	canon(&vs, b->data, b->len, 0);
	bool valid = false;
	for (size_t i = 0; i < vs.n && !valid; i++)
		valid = has_domain(var(&vs, i), &vs.sc->lower);
	if (valid) {
		if (b->len > URI_MAX_LEN && s->capped == NULL)
			s->capped = "URI longer than 2048 bytes cut";
		add_vars(s, &vs);
	}
	vars_free(&vs);
}

/* next_mark - the first '.', '@' or ':' at or after i, or len: every
 * match holds one (a known scheme's "://" or ".", "mailto:", an address's
 * '@', a host's "." TLD) with no white space or NUL between its start and it */
static size_t next_mark(const char *t, size_t i, size_t len)
{
	for (; i + 16 <= len; i += 16) {	/* 16 bytes at a time */
		u8x16 c = vec16_load((const unsigned char *)t + i);
		unsigned k = vec16_first((u8x16)(c == '.') | (u8x16)(c == '@') | (u8x16)(c == ':'));
		if (k < 16)
			return i + k;
	}
	while (i < len && t[i] != '.' && t[i] != '@' && t[i] != ':')
		i++;
	return i;
}

/* skip_unmarked - where the scanner must look from i on, given mark, the
 * first mark at or after i: past the last white space or NUL before the
 * mark (no match can start before it, see next_mark) */
static size_t skip_unmarked(const char *t, size_t i, size_t mark)
{
	for (size_t j = mark; j > i; j--)
		if (t[j - 1] == '\0' || c_space((unsigned char)t[j - 1]))
			return j;
	return i;
}

/* uri_scan_text - the scanner: at each start position try a known scheme,
 * an address, a schemeless host, in this order; go on after a match.
 * Stretches of text with no mark that a match needs are skipped. */
void uri_scan_text(struct uri_set *s, const char *text, size_t len)
{
	struct stop_cache known_c = { 0, SIZE_MAX }, mailto_c = { 0, SIZE_MAX }, local_c = { 0, SIZE_MAX },
			  domain_c = { 0, SIZE_MAX }, path_c = { 0, SIZE_MAX };
	size_t i = 0, mark, seen = 0;	/* while i < seen, the first mark at or after i is at mark */

	while (i < len) {
		size_t pre, stop, hostn = 0;
		if (i >= seen) {	/* the first mark at or after i */
			mark = next_mark(text, i, len);
			if (mark == len)
				break;
			i = skip_unmarked(text, i, mark);
			seen = mark + 1;
		}
		if (text[i] == '\0' || !starts(text, i)) {
			i++;
			continue;
		}
		if ((pre = known_prefix(text + i, len - i)) > 0) {
			stop = next_stop(text, i + pre, len, &known_c, is_end);
			if (stop > i + pre && stop - i - pre <= URI_MAX_LEN) {
				found(s, text + i, stop - i, 'k', 0);
				i = stop;
				continue;
			}
		}
		if (len - i > 7 && (text[i] | 0x20) == 'm' && strncasecmp(text + i, "mailto:", 7) == 0) {
			stop = next_stop(text, i + 7, len, &mailto_c, is_end_mail);
			if (stop > i + 7 && stop - i - 7 <= URI_MAX_LEN) {
				found(s, text + i, stop - i, 'm', 0);
				i = stop;
				continue;
			}
		}
		stop = next_stop(text, i, len, &local_c, is_end_local);
		if (stop > i && stop - i <= MAIL_PART_MAX && stop < len && text[stop] == '@') {
			size_t e = next_stop(text, stop + 1, len, &domain_c, is_end_mail);
			if (e > stop + 1 && e - stop - 1 <= MAIL_PART_MAX) {
				found(s, text + i, e - i, 'm', 0);
				i = e;
				continue;
			}
		}
		size_t n;
		if (sc_start(text, i) && (n = schemeless(text, i, len, &path_c, &hostn)) > 0) {
			found(s, text + i, n, 's', hostn);
			i += n;
			continue;
		}
		i++;
	}
}
