/*
 * received.c - Received fields into relays, as SpamAssassin 4's
 * Received.pm reads them (see received.h).  SpamAssassin tries one Perl
 * regex per MTA format, in a fixed order, first match wins; the order
 * matters, so it is kept here.  Each pattern is written in a small
 * matcher language (pm_match below) instead of PCRE2, which only re.c
 * may include (STYLE rule 2) and which lives a layer above us.
 *
 * Owns nothing but what received_build returns (or what received_build_in
 * puts in its arena: there the lines' copies and the fields replaced
 * while parsing stay till the arena is freed, at most RCVD_MAX_RELAYS
 * lines' worth).  Pure functions, thread safe.  Limits: RCVD_MAX_RELAYS fields, RCVD_MAX_LINE bytes each; the
 * matcher backtracks at most PM_MAX_STEPS steps per pattern.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/received.h"
#include "base/arena.h"
#include "base/strbuf.h"
#include "base/util.h"

#define PM_MAX_CAPS 8
#define PM_MAX_STEPS 20000

struct pm_cap {
	const char *p;
	size_t len;
};

struct pm_state {
	const char *subj;	/* start of subject */
	struct pm_cap cap[PM_MAX_CAPS];
	unsigned steps;
};

/* pm_ipv4_len - length of a dotted quad at s (SpamAssassin's IPV4 part of
 * IP_ADDRESS: word boundaries, no "::" before it), 0 if none */
static size_t pm_ipv4_len(const char *subj, const char *s)
{
	if (s > subj && (c_alnum((unsigned char)s[-1]) || s[-1] == '_' || s[-1] == ':'))
		return 0;
	const char *p = s;
	for (int part = 0; part < 4; part++) {
		if (part > 0) {
			if (*p != '.')
				return 0;
			p++;
		}
		if (!c_digit((unsigned char)*p))
			return 0;
		int v = 0, nd = 0;
		/* leading zero only alone: (?:1\d\d|2[0-4]\d|25[0-5]|[1-9]\d|\d) */
		if (*p == '0') {
			p++;
			nd = 1;
		} else
			while (c_digit((unsigned char)*p) && nd < 3) {
				v = v * 10 + (*p - '0');
				p++;
				nd++;
			}
		if (v > 255)
			return 0;
	}
	if (c_alnum((unsigned char)*p) || *p == '_')
		return 0;
	return (size_t)(p - s);
}

/* pm_ipv6_len - length of an IPv6 literal at s ("IPv6:" prefix allowed),
 * 0 if none */
static size_t pm_ipv6_len(const char *subj, const char *s)
{
	const char *p = s;
	if (strncasecmp(p, "IPv6:", 5) == 0)
		p += 5;
	else if (s > subj && (isxdigit((unsigned char)s[-1]) || s[-1] == ':'))
		return 0;
	const char *q = p;
	while (isxdigit((unsigned char)*q) || *q == ':' || *q == '.')
		q++;
	while (q > p) {
		char tmp[64];
		size_t n = (size_t)(q - p);
		if (n < sizeof(tmp) && memchr(p, ':', n) != NULL) {
			memcpy(tmp, p, n);
			tmp[n] = '\0';
			unsigned char a[16];
			if (cidr_ip_parse(tmp, a) != 0)
				return (size_t)(q - s);
		}
		q--;
	}
	return 0;
}

/* pm_ip_len - length of an IP address at s (IP_ADDRESS), 0 if none */
static size_t pm_ip_len(const char *subj, const char *s)
{
	size_t n = pm_ipv4_len(subj, s);
	return n ? n : pm_ipv6_len(subj, s);
}

/* pm_group_caps - captures inside the optional group p..'}' */
static int pm_group_caps(const char *p, const char **after)
{
	int n = 0;
	while (*p && *p != '}') {
		if (*p == '%' && p[1]) {
			if (strchr("sSi*?pPd", p[1]))
				n++;
			p += 2;
		} else
			p++;
	}
	*after = *p ? p + 1 : p;
	return n;
}

static const char *pm_at(struct pm_state *st, const char *p, const char *s, int k);

/* pm_run - a repeatable class at s: try lengths lo..hi in the order asked.
 * When a literal byte follows the class, a length that does not put it
 * next fails at pm_at's first comparison: that step is counted here
 * instead of calling pm_at (the same steps, the same result, a fifth of
 * parapetctl learn's instructions were these calls) */
static const char *pm_run(struct pm_state *st, const char *p, const char *s,
			  int k, size_t lo, size_t hi, bool lazy)
{
	int lit = *p && *p != '%' && *p != '{' && *p != '}' && !(*p == '$' && p[1] == '\0') ?
		  (unsigned char)*p : -1;

	for (size_t i = 0; i <= hi - lo; i++) {
		size_t len = lazy ? lo + i : hi - i;
		if (k < PM_MAX_CAPS) {
			st->cap[k].p = s;
			st->cap[k].len = len;
		}
		if (lit >= 0 && (unsigned char)s[len] != lit) {
			st->steps++;
			continue;
		}
		const char *e = pm_at(st, p, s + len, k + 1);
		if (e != NULL)
			return e;
	}
	return NULL;
}

/* pm_at - match pattern p at subject position s (k = next capture);
 * end of the match or NULL */
static const char *pm_at(struct pm_state *st, const char *p, const char *s, int k)
{
	if (++st->steps > PM_MAX_STEPS)
		return NULL;
	for (;;) {
		if (*p == '\0')
			return s;
		if (*p == '$' && p[1] == '\0')
			return *s == '\0' ? s : NULL;
		if (*p == '}') {
			p++;
			continue;
		}
		if (*p == '{') {
			const char *e = pm_at(st, p + 1, s, k);
			if (e != NULL)
				return e;
			const char *after;
			int n = pm_group_caps(p + 1, &after);
			for (int i = 0; i < n && k + i < PM_MAX_CAPS; i++)
				st->cap[k + i].p = NULL, st->cap[k + i].len = 0;
			p = after;
			k += n;
			continue;
		}
		if (*p != '%' || p[1] == '%') {
			if (*s != *p)
				return NULL;
			p += (*p == '%') ? 2 : 1;
			s++;
			continue;
		}
		char op = p[1];
		p += 2;
		size_t n = 0;
		switch (op) {
		case 'H':	/* (?:HELO|EHLO) */
			if (strncmp(s, "HELO", 4) && strncmp(s, "EHLO", 4))
				return NULL;
			s += 4;
			continue;
		case 'i':
			n = pm_ip_len(st->subj, s);
			if (n == 0)
				return NULL;
			return pm_run(st, p, s, k, n, n, false);
		case 's':
		case 'S':
			while (s[n] && s[n] != ' ')
				n++;
			if (op == 's' && n == 0)
				return NULL;
			return pm_run(st, p, s, k, op == 's' ? 1 : 0, n, false);
		case 'd':
			while (c_digit((unsigned char)s[n]))
				n++;
			if (n == 0)
				return NULL;
			return pm_run(st, p, s, k, 1, n, false);
		case 'p':
		case 'P':
			while (s[n] && s[n] != ')')
				n++;
			if (op == 'P' && n == 0)
				return NULL;
			return pm_run(st, p, s, k, op == 'P' ? 1 : 0, n, false);
		case '*':
		case '?':
			n = strlen(s);
			return pm_run(st, p, s, k, 0, n, op == '?');
		default:
			return NULL;
		}
	}
}

/* received_gate - see received.h */
_Thread_local bool received_gate = true;

/*
 * pm_possible - false when line cannot match pat: the pattern's literal
 * runs outside optional groups (between its % items, which match zero or
 * more bytes each) must occur in the line in their order, without
 * overlapping.  Each is looked for from the end of the previous one's
 * leftmost occurrence; a line where that fails has no match at all, so
 * pm_match is false there whatever its step limit (that limit only ever
 * turns a match into none).  Most of the formats tried on a line fail
 * here, at a strstr per run instead of a search with backtracking.
 *
 * A pattern's runs are split out once per thread (pm_plan; the patterns
 * are string literals and tables of them, so the address is the key):
 * splitting them again for each line and format was a third of
 * pm_possible's cost.  A plan keeps at most PM_PLAN_RUNS runs and
 * PM_PLAN_BYTES bytes of them: the runs it leaves out are not looked for
 * (fewer runs in order still hold in every match).
 */
#define PM_PLANS 128
#define PM_PLAN_RUNS 12
#define PM_PLAN_BYTES 128

struct pm_plan {
	const char *pat;
	unsigned n;
	unsigned char at[PM_PLAN_RUNS], len[PM_PLAN_RUNS];	/* in buf */
	char buf[PM_PLAN_BYTES];	/* the runs, each NUL-terminated */
};

static _Thread_local struct pm_plan pm_plans[PM_PLANS];

/* pm_plan - pat's runs, split now if this thread has not yet */
static const struct pm_plan *pm_plan(const char *pat)
{
	struct pm_plan *pl = &pm_plans[((uintptr_t)pat >> 3) % PM_PLANS];
	size_t used = 0;

	if (pl->pat == pat)
		return pl;
	pl->pat = pat;
	pl->n = 0;
	if (*pat == '^')
		pat++;
	while (*pat && pl->n < PM_PLAN_RUNS) {
		if (*pat == '{') {	/* optional: skipped whole */
			pat += strcspn(pat, "}");
			pat += *pat != '\0';
			continue;
		}
		if (*pat == '}') {
			pat++;
			continue;
		}
		if (*pat == '$' && pat[1] == '\0')
			break;
		if (*pat == '%' && pat[1] != '%') {
			pat += pat[1] ? 2 : 1;
			continue;
		}
		/* a literal run, to the next item ("%%" is one '%'; a '$'
		 * before the end is a byte), up to 63 bytes (a part of a run
		 * is also in every match) */
		const char *e = pat;
		for (;;) {
			e += strcspn(e, "{}%$");
			if (*e == '$' && e[1] != '\0')
				e++;
			else if (*e == '%' && e[1] == '%')
				e += 2;
			else
				break;
		}
		size_t n = 0, room = PM_PLAN_BYTES - used - 1;
		char *run = pl->buf + used;
		for (const char *c = pat; c < e && n < 63 && n < room; c++) {
			run[n++] = *c;
			c += *c == '%';
		}
		pat = e;
		if (n == 0)
			break;	/* no room left */
		run[n] = '\0';
		pl->at[pl->n] = (unsigned char)used;
		pl->len[pl->n++] = (unsigned char)n;
		used += n + 1;
	}
	return pl;
}

static bool pm_possible(const char *line, const char *pat)
{
	const struct pm_plan *pl = pm_plan(pat);
	const char *at = line;

	for (unsigned k = 0; k < pl->n; k++) {
		const char *run = pl->buf + pl->at[k];
		const char *q = pl->len[k] == 1 ? strchr(at, run[0]) : strstr(at, run);
		if (q == NULL)
			return false;
		at = q + pl->len[k];
	}
	return true;
}

/*
 * pm_match - does pattern pat match line (anchored at the start if pat
 * begins with '^', else searched)?  The language: literal characters;
 * %s \S+, %S \S*, %d \d+, %i an IP address, %* .* and %? .*? (lazy),
 * %p [^)]* and %P [^)]+ (each a capture, in order); %H (?:HELO|EHLO);
 * {...} an optional group; a final $ anchors at the end; %% is '%'.
 */
static bool pm_match(const char *line, const char *pat, struct pm_cap *cap)
{
	if (received_gate && !pm_possible(line, pat))
		return false;
	struct pm_state st;
	memset(&st, 0, sizeof(st));
	st.subj = line;
	bool anchored = *pat == '^';
	if (anchored)
		pat++;
	/* searched from the literal bytes the pattern starts with: a place
	 * without them fails in pm_at's first call, before any item, one
	 * step each; they are counted, not called (the same steps, the same
	 * result).  strstr finds a run of two or more at once (" by %s":
	 * every space of the line was a call) */
	int lit = !anchored && *pat && *pat != '%' && *pat != '{' && *pat != '}' &&
		  !(*pat == '$' && pat[1] == '\0') ? (unsigned char)*pat : -1;
	char pre[32];
	size_t npre = lit >= 0 ? strcspn(pat, "%{}$") : 0;
	if (npre >= sizeof(pre))
		npre = sizeof(pre) - 1;
	memcpy(pre, pat, npre);
	pre[npre] = '\0';
	for (const char *s = line;; s++) {
		if (lit >= 0) {
			const char *q = npre >= 2 ? strstr(s, pre) : strchr(s, lit);
			if (q == NULL)
				return false;	/* no match at any place left */
			st.steps += (unsigned)(q - s);
			if (st.steps > PM_MAX_STEPS)
				return false;	/* the limit passed on the way */
			s = q;
		}
		if (pm_at(&st, pat, s, 0) != NULL) {
			if (cap != NULL)
				memcpy(cap, st.cap, sizeof(st.cap));
			return true;
		}
		if (anchored || *s == '\0' || st.steps > PM_MAX_STEPS)
			return false;
	}
}

/* r_strndup - at most n bytes of s for relay r: in its arena if it has
 * one, else malloc'd */
static char *r_strndup(const struct relay *r, const char *s, size_t n)
{
	return r->arena ? arena_strndup(r->arena, s, n) : xstrndup(s, n);
}

/* r_strdup - a copy of s for relay r */
static char *r_strdup(const struct relay *r, const char *s)
{
	return r->arena ? arena_strdup(r->arena, s) : xstrdup(s);
}

/* r_free - drop a string of relay r (the arena keeps it) */
static void r_free(const struct relay *r, char *p)
{
	if (r->arena == NULL)
		free(p);
}

/* cap_dup - a capture as a fresh string ("" when unset) */
static char *cap_dup(const struct relay *r, const struct pm_cap *c)
{
	return c->p ? r_strndup(r, c->p, c->len) : r_strdup(r, "");
}

/* set_field - replace *f by capture c */
static void set_field(struct relay *r, char **f, const struct pm_cap *c)
{
	r_free(r, *f);
	*f = cap_dup(r, c);
}

/* set_str - replace *f by a copy of s */
static void set_str(struct relay *r, char **f, const char *s)
{
	r_free(r, *f);
	*f = r_strdup(r, s);
}

/* received_relay_clear - free a relay's strings (none in an arena) */
void received_relay_clear(struct relay *r)
{
	struct arena *a = r->arena;

	if (a != NULL) {
		memset(r, 0, sizeof(*r));
		r->arena = a;
		return;
	}
	free(r->ip);
	free(r->rdns);
	free(r->helo);
	free(r->by);
	free(r->ident);
	free(r->envfrom);
	free(r->id);
	free(r->auth);
	memset(r, 0, sizeof(*r));
}

/* normalize - whitespace runs to one space, trimmed, trailing ';'s gone;
 * one byte of room beyond the NUL, for the space received_parse_line
 * puts back into ")by " */
static char *normalize(const struct relay *r, const char *raw)
{
	size_t len = strlen(raw);
	if (len > RCVD_MAX_LINE)
		len = RCVD_MAX_LINE;
	char *out = r->arena ? arena_alloc(r->arena, len + 2) : xmalloc(len + 2);
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (c_space((unsigned char)raw[i])) {
			if (o > 0 && out[o - 1] != ' ')
				out[o++] = ' ';
		} else
			out[o++] = raw[i];
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	/* 1 while s/\s?;$// */
	while (o > 0 && out[o - 1] == ';') {
		o--;
		if (o > 0 && out[o - 1] == ' ')
			o--;
	}
	out[o] = '\0';
	return out;
}

/* is_month - a three-letter English month name */
static bool is_month(const char *s, size_t n)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	if (n != 3)
		return false;
	for (int i = 0; i < 12; i++)
		if (memcmp(months + 3 * i, s, 3) == 0)
			return true;
	return false;
}

/* all_digits - s[0..n) is \d+ */
static bool all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!c_digit((unsigned char)s[i]))
			return false;
	return true;
}

/* is_time - \d+:\d+(?::\d+)? */
static bool is_time(const char *s, size_t n)
{
	const char *c1 = memchr(s, ':', n);
	if (c1 == NULL || !all_digits(s, (size_t)(c1 - s)))
		return false;
	const char *rest = c1 + 1;
	size_t rn = n - (size_t)(rest - s);
	const char *c2 = memchr(rest, ':', rn);
	if (c2 == NULL)
		return all_digits(rest, rn);
	return all_digits(rest, (size_t)(c2 - rest)) &&
	       all_digits(c2 + 1, rn - (size_t)(c2 + 1 - rest));
}

/*
 * strip_date - s/[\s;]+(?:Day, )?\d+ Mon \d+ \d+:\d+(?::\d+)? \S+$//: the
 * last five space-separated words must be the date, time and zone.
 */
static void strip_date(char *line)
{
	const char *w[6];
	size_t wl[6];
	int nw = 0;
	char *end = line + strlen(line);
	char *p = end;
	while (nw < 6 && p > line) {
		char *e = p;
		while (p > line && p[-1] != ' ')
			p--;
		w[5 - nw] = p;
		wl[5 - nw] = (size_t)(e - p);
		nw++;
		if (p == line)
			break;
		p--;	/* the space */
	}
	if (nw < 5)
		return;
	/* w[5] zone, w[4] time, w[3] year, w[2] month, w[1] day, w[0] weekday */
	if (!is_time(w[4], wl[4]) || !all_digits(w[3], wl[3]) ||
	    !is_month(w[2], wl[2]))
		return;
	/* the day: \d+ preceded by [\s;]+ -- "Tue,3" has no space */
	const char *day = w[1];
	size_t dl = wl[1];
	while (dl > 0 && day[0] == ';')
		day++, dl--;
	if (!all_digits(day, dl))
		return;
	char *cut = (char *)day;
	if (day == w[1] && nw == 6 && wl[0] == 4 && w[0][3] == ',') {
		static const char *days[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
		for (int i = 0; i < 7; i++)
			if (strncmp(w[0], days[i], 3) == 0)
				cut = (char *)w[0];
	}
	/* the separator before: [\s;]+, at least one */
	if (cut == line || (cut[-1] != ' ' && cut[-1] != ';'))
		return;
	while (cut > line && (cut[-1] == ' ' || cut[-1] == ';'))
		cut--;
	*cut = '\0';
}

/* helo_char - [-A-Za-z0-9.^+_&:=?!@%*$\\/] */
static bool helo_char(char c)
{
	return c_alnum((unsigned char)c) || (c && strchr("-.^+_&:=?!@%*$\\/", c));
}

/* word_char - \w */
static bool word_char(char c)
{
	return c_alnum((unsigned char)c) || c == '_';
}

/* find_helo - helo=X anywhere (\b before), else HELO X / EHLO X */
static void find_helo(const char *s, struct relay *r)
{
	char **helo = &r->helo;

	for (int pass = 0; pass < 2; pass++) {
		for (const char *p = s; *p; p++) {
			const char *v = NULL;
			/* the first byte alone rules out nearly every place */
			if (pass == 0 ? *p != 'h' : *p != 'H' && *p != 'E')
				continue;
			if (p > s && word_char(p[-1]))
				continue;
			if (pass == 0 && strncmp(p, "helo=", 5) == 0)
				v = p + 5;
			if (pass == 1 && (strncmp(p, "HELO ", 5) == 0 || strncmp(p, "EHLO ", 5) == 0))
				v = p + 5;
			if (v == NULL)
				continue;
			size_t n = 0;
			while (helo_char(v[n]))
				n++;
			if (n == 0)
				continue;
			r_free(r, *helo);
			*helo = r_strndup(r, v, n);
			return;
		}
	}
}

/* find_with - the first " with " at or after p, ASCII case ignored (as
 * strcasestr, from the spaces: most bytes of a line are not one) */
static const char *find_with(const char *p)
{
	while ((p = strchr(p, ' ')) != NULL) {
		if (strncasecmp(p + 1, "with ", 5) == 0)
			return p;
		p++;
	}
	return NULL;
}

/* find_auth - the authentication marker SpamAssassin looks for, or NULL */
static char *find_auth(const struct relay *r, const char *s)
{
	static const char *const protos[] = { "ESMTPSA", "ESMTPA", "LMTPSA", "LMTPA",
		"UTF8SMTPSA", "UTF8SMTPA", "UTF8LMTPSA", "UTF8LMTPA", "ASMTP",
		"HTTPS", "HTTPU", "HTTP", NULL };
	struct pm_cap c[PM_MAX_CAPS];
	if (strstr(s, " by ") != NULL) {
		for (const char *p = s; (p = find_with(p)) != NULL; p++) {
			const char *v = p + 6;
			if (!strchr("AEHLU", *v & ~0x20) || *v == '\0')
				continue;	/* no protocol starts so */
			for (int i = 0; protos[i]; i++) {
				size_t n = strlen(protos[i]);
				if (strncasecmp(v, protos[i], n) == 0 &&
				    (v[n] == ' ' || v[n] == ';' || v[n] == '\0'))
					return r_strndup(r, v, n);
			}
		}
	}
	if (pm_match(s, "^from %?]) (AUTH: %s %s) by ", c) ||
	    pm_match(s, "^from %?)] (AUTH: %s %s) by ", c)) {
		static const char *const mech[] = { "LOGIN", "PLAIN", "DIGEST-MD5", "CRAM-MD5", NULL };
		for (int i = 0; mech[i]; i++)
			if (c[1].len == strlen(mech[i]) && memcmp(c[1].p, mech[i], c[1].len) == 0)
				return cap_dup(r, &c[1]);
	}
	if (strstr(s, "authenticated") != NULL &&
	    (pm_match(s, "^from %?]{ (%p)}) %?(%?authenticated%?)%? by", NULL) ||
	     pm_match(s, "^from %?)] %?(%?authenticated%?)%? by", NULL)))
		return r_strdup(r, "Sendmail");
	if (pm_match(s, ") (Authenticated sender: %s) by %s (%P) with ", c))
		return strncmp(c[2].p, "Postfix", c[2].len) == 0 && c[2].len == 7 ?
			r_strdup(r, "Postfix") : r_strdup(r, "Postfix (other)");
	if (strstr(s, " (account ") && pm_match(s, "CommuniGate Pro ", NULL))
		return r_strdup(r, "Communigate");
	if (pm_match(s, " with Microsoft Exchange Server HTTP-DAV", NULL))
		return r_strdup(r, "HTTP-DAV");
	if (strstr(s, " by ") != NULL && (pm_match(s, " (via HTTP) ", NULL) ||
					  pm_match(s, " (via HTTP)$", NULL)))
		return r_strdup(r, "HTTP");
	return NULL;
}

/* the format table: pattern, then which capture is what (1-based, 0 =
 * not given), and whether the MTA looked up the rDNS */
struct rfmt {
	const char *pat;
	unsigned char helo, rdns, ip, by, ident;
	signed char dns;	/* 1 looked up, 0 not, -1 rdns "softdnserr" rule */
	unsigned char helo_is_rdns;	/* helo = rdns when no helo */
};

/* parsed in Received.pm's order, after its special cases */
static const struct rfmt fmts_main[] = {
	/* sendmail */
	{ "^%s (%s [%i]%*) by %s (", 1, 2, 3, 5, 0, 1, 0 },
	/* Exchange IMS */
	{ "^%s (%s [%i]) by %s with %s (", 1, 2, 3, 4, 0, 1, 0 },
	{ "^%s ([%i] helo=%s) by %s with ", 3, 1, 2, 4, 0, 0, 0 },
	{ "^%s (<unknown%S>[%i]) by %s ", 1, 0, 3, 4, 0, 0, 0 },
	{ "^%s (%s.%s[%i]) by %s ", 1, 0, 4, 5, 0, 1, 0 },	/* rdns = 2.3 */
	{ "^%s (%S@[%i]%*) by %s (", 1, 0, 3, 5, 2, 1, 0 },
	{ NULL, 0, 0, 0, 0, 0, 0, 0 },
};

/* apply - fill r from captures c by f */
static void apply(const struct rfmt *f, const struct pm_cap *c, struct relay *r,
		  bool *dns)
{
	if (f->helo)
		set_field(r, &r->helo, &c[f->helo - 1]);
	if (f->rdns)
		set_field(r, &r->rdns, &c[f->rdns - 1]);
	if (f->ip)
		set_field(r, &r->ip, &c[f->ip - 1]);
	if (f->by)
		set_field(r, &r->by, &c[f->by - 1]);
	if (f->ident)
		set_field(r, &r->ident, &c[f->ident - 1]);
	*dns = f->dns == 1;
}

/* strip_ident - sendmail's "IDENT:user@host" / "user@host" rDNS */
static void strip_ident(struct relay *r)
{
	char *at = strchr(r->rdns, '@');
	if (at == NULL)
		return;
	const char *u = r->rdns;
	if (strncmp(u, "IDENT:", 6) == 0)
		u += 6;
	r_free(r, r->ident);
	r->ident = r_strndup(r, u, (size_t)(at - u));
	memmove(r->rdns, at + 1, strlen(at + 1) + 1);
	/* a second user@ is removed too (s/^([^\@]*)\@//) */
	at = strchr(r->rdns, '@');
	if (at != NULL) {
		r_free(r, r->ident);
		r->ident = r_strndup(r, r->rdns, (size_t)(at - r->rdns));
		memmove(r->rdns, at + 1, strlen(at + 1) + 1);
	}
}

/* sub_helo_ident - Exim's "(helo=X ident=Y)" comment */
static void sub_helo_ident(const struct pm_cap *sub, struct relay *r)
{
	char *t = cap_dup(r, sub);
	char *h = strstr(t, "helo="), *i = strstr(t, "ident=");
	if (h != NULL && h[5] && h[5] != ' ') {
		size_t n = strcspn(h + 5, " ");
		r_free(r, r->helo);
		r->helo = r_strndup(r, h + 5, n);
	}
	if (i != NULL) {
		size_t n = strcspn(i + 6, " ");
		r_free(r, r->ident);
		r->ident = r_strndup(r, i + 6, n);
	}
	r_free(r, t);
}

/* try_table - the first format of t that matches; true if one did */
static bool try_table(const struct rfmt *t, const char *s, struct relay *r, bool *dns)
{
	struct pm_cap c[PM_MAX_CAPS];
	for (const struct rfmt *f = t; f->pat; f++) {
		if (t == fmts_main && f > t)
			break;	/* the sendmail format alone */
		if (!pm_match(s, f->pat, c))
			continue;
		apply(f, c, r, dns);
		if (f == &fmts_main[0])
			strip_ident(r);
		if (f == &fmts_main[4]) {
			r_free(r, r->rdns);
			r->rdns = r_strndup(r, c[1].p, (size_t)(c[2].p + c[2].len - c[1].p));
		}
		return true;
	}
	return false;
}

/* parse_known - the MTA-specific formats SpamAssassin tries first;
 * 1 matched, 0 skip the field, -1 go on */
static int parse_known(const char *s, struct relay *r, bool *dns)
{
	struct pm_cap c[PM_MAX_CAPS];
	if (strstr(s, " SMTPSVC")) {
		if (pm_match(s, "^%S ([%i]%p) by %s with Microsoft SMTPSVC", c)) {
			if (c[2].len <= 40) {
				set_field(r, &r->helo, &c[0]);
				set_field(r, &r->ip, &c[1]);
				set_field(r, &r->by, &c[3]);
				return 1;
			}
		}
		if (pm_match(s, "^mail pickup service by %s with Microsoft SMTPSVC$", NULL))
			return 0;
	} else if (pm_match(s, " with Microsoft SMTP Server ", NULL) ||
		   pm_match(s, " with mapi id ", NULL)) {
		if (pm_match(s, "^%s ([%i%p) by %s ", c) || pm_match(s, "^%s (%i%p) by %s ", c)) {
			set_field(r, &r->helo, &c[0]);
			set_field(r, &r->ip, &c[1]);
			set_field(r, &r->by, &c[3]);
			set_str(r, &r->id, "");
			return 1;
		}
	} else if (strstr(s, "Exim")) {
		if (pm_match(s, "with local ", NULL) || pm_match(s, "with local-%s ", NULL))
			return 0;
		if (pm_match(s, "^[%i] (%?) by %s ", c)) {
			set_field(r, &r->ip, &c[0]);
			set_field(r, &r->by, &c[2]);
			sub_helo_ident(&c[1], r);
			return 1;
		}
		if (pm_match(s, "^%s ([%i]%?) by %s ", c)) {
			set_field(r, &r->rdns, &c[0]);
			set_field(r, &r->helo, &c[0]);
			set_field(r, &r->ip, &c[1]);
			set_field(r, &r->by, &c[3]);
			sub_helo_ident(&c[2], r);
			return 1;
		}
		if (pm_match(s, "^%s [%i]{:%d} by %s ", c)) {
			set_field(r, &r->rdns, &c[0]);
			set_field(r, &r->helo, &c[0]);
			set_field(r, &r->ip, &c[1]);
			set_field(r, &r->by, &c[3]);
			return 1;
		}
		if (pm_match(s, "^%s ", c))
			set_field(r, &r->rdns, &c[0]);
		if (pm_match(s, " (%s) ", c))
			set_field(r, &r->helo, &c[0]);
		if (pm_match(s, " [%i] ", c) || pm_match(s, " [%i.%d] ", c))
			set_field(r, &r->ip, &c[0]);
		if (pm_match(s, "by %s ", c)) {
			set_field(r, &r->by, &c[0]);
			if (r->ip && *r->ip)
				return 1;
		}
	} else if (strstr(s, " (Postfix) with")) {
		if (pm_match(s, "^%s (%s [%i]) by %s ", c) ||
		    pm_match(s, "^%s (%s[%i]) by %s ", c)) {
			*dns = true;
			set_field(r, &r->helo, &c[0]);
			set_field(r, &r->rdns, &c[1]);
			set_field(r, &r->ip, &c[2]);
			set_field(r, &r->by, &c[3]);
			if (strcmp(r->rdns, "unknown") == 0)
				set_str(r, &r->rdns, "");
			return 1;
		}
	}
	if (strstr(s, " (Lotus Domino ") && pm_match(s, "^%s ([%i]) by %s (Lotus", c)) {
		/* Domino never records the rDNS (SpamAssassin bug 5926) */
		set_field(r, &r->helo, &c[0]);
		set_field(r, &r->ip, &c[1]);
		set_field(r, &r->by, &c[2]);
		return 1;
	}
	if (strstr(s, "with HTTP") && pm_match(s, "^%i ([%i]) by %s", c)) {
		set_field(r, &r->ip, &c[0]);
		set_field(r, &r->by, &c[2]);
		return 1;
	}
	/* only the sendmail format yields to qmail-ldap */
	if (!pm_match(s, " by %s (qmail-%s) with ", NULL) && try_table(fmts_main, s, r, dns))
		return 1;
	if (try_table(fmts_main + 1, s, r, dns))
		return 1;
	if (pm_match(s, "by %s.hotmail.msn.com ", c)) {
		r_free(r, r->by);
		r->by = r_strndup(r, c[0].p, (size_t)(c[0].len + strlen(".hotmail.msn.com")));
		if (pm_match(s, "^%i ", c))
			set_field(r, &r->ip, &c[0]);
		return 1;
	}
	if (pm_match(s, "^%s (%H %S) (%i) by %s (qpsmtpd/%s) with ", c)) {
		set_field(r, &r->rdns, &c[0]);
		set_field(r, &r->helo, &c[1]);
		set_field(r, &r->ip, &c[2]);
		set_field(r, &r->by, &c[3]);
		return 1;
	}
	if (pm_match(s, "^%s (%H %S) [%i] by %s (%P) with ", c)) {
		set_field(r, &r->rdns, &c[0]);
		set_field(r, &r->helo, &c[1]);
		set_field(r, &r->ip, &c[2]);
		set_field(r, &r->by, &c[3]);
		return 1;
	}
	return -1;
}

/* parse_qmail - the qmail family (Received.pm "MiB"); 1 if it matched */
static int parse_qmail(const char *s, struct relay *r, bool *dns)
{
	struct pm_cap c[PM_MAX_CAPS];
	/* ^\S+( \((?:HELO|EHLO) \S*\))? \((\S+\@)?\[?IP\]?\)( \(envelope-sender
	 * <\S+>\))? by \S+( \(.+\))* with (.* )?(SMTP|QMQP)(?! id ) */
	static const char *const gate[] = {
		"^%s{ (%H %S)} (%s@[%i]){ (envelope-sender <%s>)} by %s%* with %*SMTP",
		"^%s{ (%H %S)} (%s@%i){ (envelope-sender <%s>)} by %s%* with %*SMTP",
		"^%s{ (%H %S)} ([%i]){ (envelope-sender <%s>)} by %s%* with %*SMTP",
		"^%s{ (%H %S)} (%i){ (envelope-sender <%s>)} by %s%* with %*SMTP",
		"^%s{ (%H %S)} (%s@[%i]){ (envelope-sender <%s>)} by %s%* with %*QMQP",
		"^%s{ (%H %S)} (%s@%i){ (envelope-sender <%s>)} by %s%* with %*QMQP",
		"^%s{ (%H %S)} ([%i]){ (envelope-sender <%s>)} by %s%* with %*QMQP",
		"^%s{ (%H %S)} (%i){ (envelope-sender <%s>)} by %s%* with %*QMQP",
		NULL };
	bool gated = false;
	for (int i = 0; gate[i] && !gated; i++) {
		if (pm_match(s, gate[i], c)) {
			/* (?! id ): what follows SMTP is not " id " */
			const char *p = strstr(s, " with ");
			gated = true;
			while (p != NULL) {
				const char *q = strstr(p, "SMTP id ");
				if (q == NULL)
					q = strstr(p, "QMQP id ");
				if (q != NULL && strstr(q + 4, "SMTP") == NULL &&
				    strstr(q + 4, "QMQP") == NULL)
					gated = false;
				break;
			}
		}
	}
	if (!gated)
		return 0;
	if (pm_match(s, "^%s (%H %S) (%S@[%i]){ (envelope-sender <%s>)} by %s", c) ||
	    pm_match(s, "^%s (%H %S) (%S@%i){ (envelope-sender <%s>)} by %s", c)) {
		if (memchr(c[1].p, '(', c[1].len) == NULL && memchr(c[1].p, ')', c[1].len) == NULL) {
			set_field(r, &r->rdns, &c[0]);
			set_field(r, &r->helo, &c[1]);
			set_field(r, &r->ident, &c[2]);
			set_field(r, &r->ip, &c[3]);
			set_field(r, &r->by, &c[5]);
			goto done;
		}
	}
	if (pm_match(s, "^%s (%H %S) ([%i]){ (envelope-sender <%s>)} by %s", c) ||
	    pm_match(s, "^%s (%H %S) (%i){ (envelope-sender <%s>)} by %s", c)) {
		set_field(r, &r->rdns, &c[0]);
		set_field(r, &r->helo, &c[1]);
		set_field(r, &r->ip, &c[2]);
		set_field(r, &r->by, &c[4]);
		goto done;
	}
	if (pm_match(s, "^%s (%S@[%i]){ (envelope-sender <%s>)} by %s", c) ||
	    pm_match(s, "^%s (%S@%i){ (envelope-sender <%s>)} by %s", c)) {
		set_field(r, &r->rdns, &c[0]);
		set_field(r, &r->helo, &c[0]);
		set_field(r, &r->ident, &c[1]);
		set_field(r, &r->ip, &c[2]);
		set_field(r, &r->by, &c[4]);
		goto done;
	}
	if (pm_match(s, "^%s ([%i]){ (envelope-sender <%s>)} by %s", c) ||
	    pm_match(s, "^%s (%i){ (envelope-sender <%s>)} by %s", c)) {
		set_field(r, &r->rdns, &c[0]);
		set_field(r, &r->helo, &c[0]);
		set_field(r, &r->ip, &c[1]);
		set_field(r, &r->by, &c[3]);
	}
done:
	if (r->rdns && strcmp(r->rdns, "unknown") != 0)
		*dns = true;
	else
		set_str(r, &r->rdns, "");
	return 1;
}

/* parse_rest - the formats after qmail, as Received.pm lists them;
 * 1 matched, 0 skip, -1 unknown */
static int parse_rest(const char *s, struct relay *r, bool *dns, bool *fetcher)
{
	struct pm_cap c[PM_MAX_CAPS];
	if (pm_match(s, "^[%i] by %s via HTTP$", c)) {
		set_field(r, &r->ip, &c[0]);
		set_field(r, &r->by, &c[1]);
		return 1;
	}
	if (pm_match(s, "^%s ( [%i])%? by %s ", c)) {
		set_field(r, &r->ip, &c[1]);
		set_field(r, &r->by, &c[3]);
		return 1;
	}
	if (pm_match(s, "^(%s [%i]) by %s ", c)) {
		set_field(r, &r->helo, &c[0]);
		set_field(r, &r->ip, &c[1]);
		set_field(r, &r->by, &c[2]);
		return 1;
	}
	if (pm_match(s, "^[%i] by %s ", c)) {
		set_field(r, &r->ip, &c[0]);
		set_field(r, &r->by, &c[1]);
		return 1;
	}
	if (pm_match(s, "^([%i]) by %s ", c) || pm_match(s, "^(%i) by %s ", c)) {
		set_field(r, &r->ip, &c[0]);
		set_field(r, &r->by, &c[1]);
		return 1;
	}
	if (pm_match(s, "^%s [%i] by %s [%i] with ", c)) {
		*dns = true;
		set_field(r, &r->helo, &c[0]);
		set_field(r, &r->ip, &c[1]);
		set_field(r, &r->by, &c[2]);
		return 1;
	}
	if (pm_match(s, "^%s ([%i]) by %s (", c)) {
		*dns = true;
		set_field(r, &r->helo, &c[0]);
		set_field(r, &r->ip, &c[1]);
		set_field(r, &r->by, &c[2]);
		return 1;
	}
	if (pm_match(s, "^%s (%s [%i])%? by %s", c)) {
		/* \b after (\S+): \S+ is greedy, so it ends before a space
		 * or the end; the next character decides */
		if (c[1].len == 10 && memcmp(c[1].p, "softdnserr", 10) == 0)
			*dns = false;
		else {
			*dns = true;
			set_field(r, &r->rdns, &c[1]);
		}
		set_field(r, &r->helo, &c[0]);
		set_field(r, &r->ip, &c[2]);
		set_field(r, &r->by, &c[4]);
		return 1;
	}
	if (pm_match(s, "^%s ([%i]{.%d})%? by %s ", c) ||
	    pm_match(s, "^%s ([%i]{:%d})%? by %s ", c)) {
		*dns = true;
		set_field(r, &r->helo, &c[0]);
		set_field(r, &r->ip, &c[1]);
		set_field(r, &r->by, &c[4]);
		return 1;
	}
	if (pm_match(s, "with POP3", NULL) || pm_match(s, "with IMAP", NULL)) {
		*fetcher = true;
		return 0;
	}
	if (pm_match(s, "^%s (%H %p) ({%S@}[%i]%*) by %s ", c) ||
	    pm_match(s, "^%s (%H %p) ({%S@}%i%*) by %s ", c)) {
		/* .* before " by " is greedy: the last " by " */
		*dns = true;
		set_field(r, &r->rdns, &c[0]);
		set_field(r, &r->helo, &c[1]);
		set_field(r, &r->ident, &c[2]);
		set_field(r, &r->ip, &c[3]);
		set_field(r, &r->by, &c[5]);
		return 1;
	}
	if (pm_match(s, "^%s ({%S@}[%i]%*) by %s ", c) ||
	    pm_match(s, "^%s ({%S@}%i%*) by %s ", c)) {
		*dns = true;
		set_field(r, &r->rdns, &c[0]);
		set_field(r, &r->helo, &c[0]);
		set_field(r, &r->ident, &c[1]);
		set_field(r, &r->ip, &c[2]);
		set_field(r, &r->by, &c[4]);
		return 1;
	}
	if (pm_match(s, " with http for ", NULL) && pm_match(s, "^[%i] by %s with http for ", c)) {
		set_field(r, &r->ip, &c[0]);
		set_field(r, &r->by, &c[1]);
		return 1;
	}
	if (pm_match(s, "^%s by %s with BSMTP", NULL))
		return 0;
	if (pm_match(s, "^%s (%s [%i]) by %s with ", c)) {
		*dns = true;
		set_field(r, &r->helo, &c[0]);
		set_field(r, &r->rdns, &c[1]);
		set_field(r, &r->ip, &c[2]);
		set_field(r, &r->by, &c[3]);
		return 1;
	}
	if (pm_match(s, "^[%i] ({account %s }%H %S) by %s (", c)) {
		set_field(r, &r->ip, &c[0]);
		set_field(r, &r->helo, &c[2]);
		set_field(r, &r->by, &c[3]);
		return 1;
	}
	if (pm_match(s, "^([%i]) by %s with ", c)) {
		set_field(r, &r->ip, &c[0]);
		set_field(r, &r->by, &c[1]);
		return 1;
	}
	if (pm_match(s, "^%s (%i) by %s ", c) && !c_digit((unsigned char)*s)) {
		set_field(r, &r->helo, &c[0]);
		set_field(r, &r->ip, &c[1]);
		set_field(r, &r->by, &c[2]);
		return 1;
	}
	if (pm_match(s, "^%s (%s) by %s (Content Technologies ", NULL))
		return 0;
	if (pm_match(s, "^%i by %s with ", c)) {
		set_field(r, &r->ip, &c[0]);
		set_field(r, &r->by, &c[1]);
		return 1;
	}
	if (pm_match(s, "^%i (%H %S) by %s ", c)) {
		set_field(r, &r->ip, &c[0]);
		set_field(r, &r->helo, &c[1]);
		set_field(r, &r->by, &c[2]);
		return 1;
	}
	if (pm_match(s, "^%s [%i] by %s ", c)) {
		set_field(r, &r->helo, &c[0]);
		set_field(r, &r->ip, &c[1]);
		set_field(r, &r->by, &c[2]);
		return 1;
	}
	if (pm_match(s, "^%s(%i) by %s ", c)) {
		set_field(r, &r->rdns, &c[0]);
		set_field(r, &r->ip, &c[1]);
		set_field(r, &r->by, &c[2]);
		return 1;
	}
	if (pm_match(s, "^%s (unverified [%i]) by %s ", c)) {
		set_field(r, &r->helo, &c[0]);
		set_field(r, &r->ip, &c[1]);
		set_field(r, &r->by, &c[2]);
		return 1;
	}
	if (pm_match(s, "^[%i] (%P) by %s ", c)) {
		set_field(r, &r->ip, &c[0]);
		set_field(r, &r->by, &c[2]);
		sub_helo_ident(&c[1], r);
		return 1;
	}
	if (pm_match(s, "^%s (%s@%i) by %s with ", c)) {
		set_field(r, &r->rdns, &c[0]);
		set_field(r, &r->ip, &c[2]);
		set_field(r, &r->by, &c[3]);
		return 1;
	}
	if (pm_match(s, "^%s (%i) by %s with ", c)) {
		set_field(r, &r->rdns, &c[0]);
		set_field(r, &r->ip, &c[1]);
		set_field(r, &r->by, &c[2]);
		return 1;
	}
	if (pm_match(s, "^X-Originating-IP: %i$", c)) {
		set_field(r, &r->ip, &c[0]);
		set_str(r, &r->by, "");
		return 1;
	}
	/* STUFF TO IGNORE */
	if (pm_match(s, "^%s (%s@localhost) by %s (", NULL) ||
	    pm_match(s, "^%s (%s@127.0.0.1) by %s (", NULL) ||
	    pm_match(s, "^%s %s by %s with local-smtp ", NULL) ||
	    pm_match(s, "^%s %s by %s with local-esmtp ", NULL) ||
	    pm_match(s, "^%s@%s by %s by uid %s ", NULL) ||
	    pm_match(s, "^%s@%s by %s ", NULL) ||
	    pm_match(s, "^Unknown/Local (", NULL) ||
	    pm_match(s, "^localhost (localhost)", NULL) ||
	    pm_match(s, "^localhost (localhost[", NULL) ||
	    pm_match(s, "^localhost (%s@localhost)", NULL) ||
	    pm_match(s, "^%s (localhost) ", NULL) ||
	    pm_match(s, "^%s (127.0.0.1) ", NULL) ||
	    pm_match(s, "^%s (%s@127.0.0.1) ", NULL) ||
	    pm_match(s, "^(AUTH: %s) by %s with ", NULL) ||
	    pm_match(s, "^%s by %s with local", NULL) ||
	    pm_match(s, "^%s by %s with ", NULL) || pm_match(s, "^%s by %s via ", NULL) ||
	    pm_match(s, "^%s by %s for ", NULL) || pm_match(s, "^%s by %s (", NULL) ||
	    pm_match(s, "^%s with %s by ", NULL) || pm_match(s, "^%s via %s by ", NULL) ||
	    pm_match(s, "^%s for %s by ", NULL) || pm_match(s, "^%s (unverified) by ", NULL) ||
	    strstr(s, "(LSMTP for") != NULL || pm_match(s, "^%s id %s$", NULL))
		return 0;
	if ((r->helo == NULL || !*r->helo) && pm_match(s, "^%s", c)) {
		/* /^(\S+)[^-A-Za-z0-9\.]/ */
		size_t n = 0;
		while (s[n] && s[n] != ' ')
			n++;
		while (n > 0) {
			char nx = s[n];
			if (nx && !c_alnum((unsigned char)nx) && nx != '-' && nx != '.') {
				r_free(r, r->helo);
				r->helo = r_strndup(r, s, n);
				break;
			}
			n--;
		}
	}
	return -1;
}

/* clean - SpamAssassin's invalid-character flagging: [\s\0#[]()<>|] -> ! */
static void clean(char *s)
{
	for (; s && *s; s++)
		switch (*s) {
		case '#': case '[': case ']': case '(': case ')': case '<': case '>': case '|':
			*s = '!';
			break;
		default:
			if (c_space((unsigned char)*s))
				*s = '!';
		}
}

/* finish - Received.pm's "enough:" part: normalize the fields */
static void finish(struct relay *r, bool dns)
{
	char **f[] = { &r->ip, &r->rdns, &r->helo, &r->by, &r->ident, &r->id, &r->auth };
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (*f[i] == NULL)
			*f[i] = r_strdup(r, "");
	size_t n = strlen(r->rdns);
	while (n > 0 && r->rdns[n - 1] == '.')
		r->rdns[--n] = '\0';
	if (strcasecmp(r->rdns, "unknown") == 0 || r->rdns[0] == '[')
		r->rdns[0] = '\0';
	char *ip = r->ip;
	if (strncasecmp(ip, "ipv6:", 5) == 0)
		memmove(ip, ip + 5, strlen(ip + 5) + 1);
	if (ip[0] == '[')
		memmove(ip, ip + 1, strlen(ip));
	n = strlen(ip);
	if (n > 0 && ip[n - 1] == ']')
		ip[--n] = '\0';
	char *pct = strchr(ip, '%');
	if (pct != NULL)
		*pct = '\0';
	/* ::ffff:a.b.c.d -> a.b.c.d */
	char *ff = strcasestr(ip, "ffff:");
	if (ff != NULL && received_is_ipv4(ff + 5)) {
		bool zeros = true;
		for (char *p = ip; p < ff; p++)
			if (*p != '0' && *p != ':')
				zeros = false;
		if (zeros)
			memmove(ip, ff + 5, strlen(ff + 5) + 1);
	}
	n = strlen(r->by);
	if (n > 0 && r->by[n - 1] == ';')
		r->by[n - 1] = '\0';
	clean(r->ip);
	clean(r->rdns);
	clean(r->helo);
	clean(r->by);
	clean(r->ident);
	if (r->envfrom != NULL) {
		char *e = r->envfrom;
		size_t off = 0;
		while (c_space((unsigned char)e[off]) || e[off] == '<')
			off++;
		memmove(e, e + off, strlen(e + off) + 1);
		n = strlen(e);
		while (n > 0 && (c_space((unsigned char)e[n - 1]) || e[n - 1] == '>'))
			e[--n] = '\0';
		clean(e);
	}
	if (r->rdns[0] == '\0' && dns)
		r->no_reverse_dns = true;
	r->ip_private = received_ip_private(r->ip);
}

/* find_envfrom - return-path / envelope-from / envelope-sender marker */
static void find_envfrom(const char *s, struct relay *r)
{
	static const struct {
		const char *s;
		size_t n;
#define KEY(s) { s, sizeof(s) - 1 }
	} keys[] = { KEY("return-path: "), KEY("return-path "), KEY("envelope-sender "),
		     KEY("envelope-sender="), KEY("envelope-from "), KEY("envelope-from=") };
#undef KEY
	const char *val = NULL;
	/* the first place any key starts (one pass: a strcasestr per key
	 * was a tenth of the Received parse); keys that start at the same
	 * place differ in a later byte, so at most one matches there */
	for (const char *p = s; *p && val == NULL; p++) {
		char c = (char)(*p | 0x20), c2 = (char)(p[1] | 0x20);
		if ((c != 'r' || c2 != 'e') && (c != 'e' || c2 != 'n'))
			continue;	/* "re"turn-path, "en"velope-... */
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strncasecmp(p, keys[i].s, keys[i].n) == 0) {
				val = p + keys[i].n;
				break;
			}
	}
	if (val == NULL || *val == ' ' || *val == '\0')
		return;
	/* (\S+)\b: back off to the last word character */
	size_t n = strcspn(val, " ");
	while (n > 0 && !word_char(val[n - 1]))
		n--;
	if (n == 0 || !(word_char(val[n]) == false || val[n] == '\0'))
		return;
	r->envfrom = r_strndup(r, val, n);
	r->has_envfrom = true;
}

static int parse_line(const char *line, struct relay *r, bool *fetcher);

/* received_parse_line - one Received value (see received.h) */
int received_parse_line(const char *line, struct relay *r, bool *fetcher)
{
	memset(r, 0, sizeof(*r));
	return parse_line(line, r, fetcher);
}

/* parse_line - received_parse_line into an empty r (its arena set) */
static int parse_line(const char *line, struct relay *r, bool *fetcher)
{
	*fetcher = false;
	char *s = normalize(r, line);
	struct pm_cap c[PM_MAX_CAPS];
	int rc = -1;
	bool dns = false;

	if (strncasecmp(s, "from ", 5) != 0 && strncasecmp(s, "(from ", 6) != 0) {
		rc = 0;
		goto out;
	}
	if (strstr(s, "with local for") != NULL) {
		rc = 0;
		goto out;
	}
	if (pm_match(s, "^from %s by %s ;", c) || pm_match(s, "^from %s by %s;", c) ||
	    pm_match(s, "^FROM %s BY %s ;", c) || pm_match(s, "^FROM %s BY %s;", c)) {
		bool bracket_ip = c[0].len > 2 && c[0].p[0] == '[' && c[0].p[c[0].len - 1] == ']';
		bool semi = memchr(c[1].p, ';', c[1].len) != NULL;
		if (!semi && !bracket_ip) {
			rc = 0;
			goto out;
		}
	}
	strip_date(s);
	char *fix = strstr(s, ")by ");
	if (fix != NULL) {	/* one byte longer: normalize left room for it */
		memmove(fix + 2, fix + 1, strlen(fix + 1) + 1);
		fix[1] = ' ';
	}
	if (pm_match(s, " id <%s", c) || pm_match(s, " id %s", c)) {
		size_t n = 0;
		while (n < c[0].len && c[0].p[n] != '<' && c[0].p[n] != '>' && c[0].p[n] != ';')
			n++;
		if (n >= 3)
			r->id = r_strndup(r, c[0].p, n);
	}
	find_helo(s, r);
	if (pm_match(s, " by %s", c))
		r->by = cap_dup(r, &c[0]);
	r->auth = find_auth(r, s);

	if (strncmp(s, "from ", 5) == 0) {
		const char *b = s + 5;
		find_envfrom(b, r);
		rc = parse_known(b, r, &dns);
		if (rc == -1 && parse_qmail(b, r, &dns))
			rc = 1;
		if (rc == -1)
			rc = parse_rest(b, r, &dns, fetcher);
	} else if (strncmp(s, "FROM ", 5) == 0) {
		if (pm_match(s + 5, "^%s (%s [%i]) BY %s ID %s$", c)) {
			dns = true;
			set_field(r, &r->helo, &c[0]);
			set_field(r, &r->rdns, &c[1]);
			set_field(r, &r->ip, &c[2]);
			set_field(r, &r->by, &c[3]);
			set_field(r, &r->id, &c[4]);
			if (strcmp(r->rdns, "unverified") == 0)
				set_str(r, &r->rdns, "");
			rc = 1;
		}
	} else if (strncmp(s, "(from ", 6) == 0) {
		if (pm_match(s + 6, "^%s@localhost) by %s ", NULL))
			rc = 0;
	}
	if (rc == 0)
		goto out;
	if (rc == -1 && (r->ip == NULL || !*r->ip) && pm_match(s, "[%i]", c))
		set_field(r, &r->ip, &c[0]);
	if (rc == -1 && r->ip && *r->ip && r->by && *r->by)
		rc = 1;
	if (rc == 1)
		finish(r, dns);
out:
	if (rc != 1)
		received_relay_clear(r);
	r_free(r, s);
	return rc;
}

/* received_origin_line - the synthetic Received line SpamAssassin makes
 * of an originating_ip_headers field (X-Originating-IP ...): "from
 * X-Originating-IP: <first IP of value>", or NULL without one */
char *received_origin_line(const char *value)
{
	for (const char *p = value; *p; p++) {
		size_t n = pm_ip_len(value, p);
		if (n > 0)
			return xasprintf("from X-Originating-IP: %.*s", (int)n, p);
	}
	return NULL;
}

/* received_is_ipv4 - IS_IPV4_ADDRESS */
bool received_is_ipv4(const char *s)
{
	size_t n = pm_ipv4_len(s, s);
	return n > 0 && s[n] == '\0';
}

/* received_ip_private - IP_PRIVATE: a private, loopback, link-local or
 * CGN IPv4 prefix (then anything), fe80::/10, ::1, or a mapped private */
bool received_ip_private(const char *ip)
{
	const char *v4 = ip;
	if (strncasecmp(v4, "IPv6:", 5) == 0)
		v4 += 5;
	const char *ff = strcasestr(v4, "ffff:");
	if (ff != NULL && strchr(ff, '.') != NULL)
		v4 = ff + 5;
	int a, b;
	if (c_digit((unsigned char)v4[0]) && sscanf(v4, "%d.%d", &a, &b) == 2) {
		const char *dot = strchr(v4, '.');
		size_t la = (size_t)(dot - v4);
		char first[8];
		if (la < sizeof(first)) {
			memcpy(first, v4, la);
			first[la] = '\0';
			if (strcmp(first, "10") == 0 || strcmp(first, "127") == 0)
				return true;
		}
		const char *d2 = strchr(dot + 1, '.');
		if (d2 == NULL)
			return false;
		char second[8];
		size_t lb = (size_t)(d2 - dot - 1);
		if (lb >= sizeof(second))
			return false;
		memcpy(second, dot + 1, lb);
		second[lb] = '\0';
		if (strcmp(first, "169") == 0 && strcmp(second, "254") == 0)
			return true;
		if (strcmp(first, "192") == 0 && strcmp(second, "168") == 0)
			return true;
		if (strcmp(first, "172") == 0 && b >= 16 && b <= 31 && lb == 2)
			return true;
		if (strcmp(first, "100") == 0 && b >= 64 && b <= 127 && lb >= 2 &&
		    second[0] != '0')
			return true;
		return false;
	}
	if (strncasecmp(v4, "fe", 2) == 0 && strchr("89abAB", v4[2]) && v4[2] &&
	    isxdigit((unsigned char)v4[3]) && v4[4] == ':')
		return true;
	unsigned char addr[16];
	if (cidr_ip_parse(v4, addr) == 6) {
		static const unsigned char one[16] = { [15] = 1 };
		return memcmp(addr, one, 16) == 0;
	}
	return false;
}

/* relay_string - "[ ip=... ]" as SpamAssassin's make_relay_as_string */
static void relay_string(const struct relay *r, struct buf *b)
{
	buf_puts(b, "[ ip=");
	buf_puts(b, r->ip);
	buf_puts(b, " rdns=");
	buf_puts(b, r->rdns);
	buf_puts(b, " helo=");
	buf_puts(b, r->helo);
	buf_puts(b, " by=");
	buf_puts(b, r->by);
	buf_puts(b, " ident=");
	buf_puts(b, r->ident);
	buf_puts(b, " envfrom=");
	buf_puts(b, r->envfrom ? r->envfrom : "");
	buf_puts(b, r->internal ? " intl=1 id=" : " intl=0 id=");
	buf_puts(b, r->id);
	buf_puts(b, " auth=");
	buf_puts(b, r->auth);
	buf_puts(b, r->msa ? " msa=1 ]" : " msa=0 ]");
}

/* received_build - see received.h */
struct relays *received_build(const char *const *values, size_t n,
			      const struct relay_nets *nets)
{
	return received_build_in(values, n, nets, NULL);
}

/* r_calloc - n zeroed bytes, in a if not NULL */
static void *r_calloc(struct arena *a, size_t count, size_t size)
{
	if (a == NULL)
		return xcalloc(count, size);
	if (size && count > SIZE_MAX / size)
		oom(SIZE_MAX);
	return arena_calloc(a, count * size);
}

/* received_build_in - see received.h */
struct relays *received_build_in(const char *const *values, size_t n,
				 const struct relay_nets *nets, struct arena *a)
{
	struct relays *rs = r_calloc(a, 1, sizeof(*rs));
	const struct cidr_list *trusted = nets ? nets->trusted : NULL;
	const struct cidr_list *internal = nets ? nets->internal : NULL;
	const struct cidr_list *msa = nets ? nets->msa : NULL;
	bool user_trust = trusted != NULL, user_internal = internal != NULL;
	if (user_trust && !user_internal)
		internal = trusted;
	else if (!user_trust && user_internal)
		trusted = internal;
	bool in_trusted = true, in_internal = true, found_msa = false;
	bool allow_fetch = true;
	size_t cap = n < RCVD_MAX_RELAYS ? n : RCVD_MAX_RELAYS;
	rs->arena = a;
	rs->last_trusted = rs->last_internal = -1;
	rs->all = r_calloc(a, cap + 1, sizeof(*rs->all));
	bool *trust = r_calloc(a, cap + 1, sizeof(bool));
	size_t start_trusted = 0;	/* fetcher markers restart the lists */
	size_t start_ie = 0;
	if (n > cap)
		rs->unparseable += n - cap;
	for (size_t i = 0; i < cap; i++) {
		struct relay r = { .arena = a };
		bool fetcher;
		int rc = parse_line(values[i], &r, &fetcher);
		if (fetcher && allow_fetch) {
			/* restart the trusted, internal and external lists */
			start_trusted = rs->nall;
			start_ie = rs->nall;
		}
		if (rc < 0)
			rs->unparseable++;
		if (rc <= 0) {
			rs->last_trusted += in_trusted;
			rs->last_internal += in_internal;
			continue;
		}
		if (in_trusted && !found_msa) {
			if (!user_trust && !user_internal) {
				if (!r.ip_private && !*r.auth)
					in_trusted = in_internal = false;
			} else if (!*r.auth && !cidr_list_match(trusted, r.ip) &&
				   !(strncmp(r.ip, "127.", 4) == 0 || strcmp(r.ip, "::1") == 0)) {
				in_trusted = in_internal = false;
			} else {
				bool loop = strncmp(r.ip, "127.", 4) == 0 || strcmp(r.ip, "::1") == 0;
				if (in_internal && !*r.auth && !loop &&
				    !cidr_list_match(internal, r.ip))
					in_internal = false;
				if (msa != NULL && cidr_list_match(msa, r.ip)) {
					found_msa = true;
					r.msa = true;
				}
			}
		}
		r.internal = in_internal;
		r.trusted = in_trusted;
		rs->last_trusted += in_trusted;
		rs->last_internal += in_internal;
		allow_fetch = in_trusted;
		trust[rs->nall] = in_trusted;
		rs->all[rs->nall++] = r;
	}
	for (int k = 0; k < RELAYS_NSETS; k++)
		rs->set[k] = r_calloc(a, rs->nall + 1, sizeof(*rs->set[k]));
	for (size_t i = 0; i < rs->nall; i++) {
		const struct relay *r = &rs->all[i];
		if (trust[i] && i >= start_trusted)
			rs->set[RELAYS_TRUSTED][rs->n[RELAYS_TRUSTED]++] = r;
		else if (!trust[i])
			rs->set[RELAYS_UNTRUSTED][rs->n[RELAYS_UNTRUSTED]++] = r;
		if (i < start_ie)
			continue;
		if (r->internal)
			rs->set[RELAYS_INTERNAL][rs->n[RELAYS_INTERNAL]++] = r;
		else
			rs->set[RELAYS_EXTERNAL][rs->n[RELAYS_EXTERNAL]++] = r;
	}
	if (a == NULL)
		free(trust);
	struct buf b;
	buf_init(&b);
	for (int k = 0; k < RELAYS_NSETS; k++) {
		buf_reset(&b);
		for (size_t i = 0; i < rs->n[k]; i++) {
			if (i > 0)
				buf_putc(&b, ' ');
			relay_string(rs->set[k][i], &b);
		}
		const char *t = b.data ? b.data : "";
		rs->str[k] = a ? arena_strndup(a, t, b.len) : xstrdup(t);
	}
	buf_free(&b);
	return rs;
}

/* received_free - free what received_build returned; NULL */
struct relays *received_free(struct relays *rs)
{
	if (rs == NULL || rs->arena != NULL)
		return NULL;
	for (size_t i = 0; i < rs->nall; i++)
		received_relay_clear(&rs->all[i]);
	free(rs->all);
	for (int k = 0; k < RELAYS_NSETS; k++) {
		free(rs->set[k]);
		free(rs->str[k]);
	}
	free(rs);
	return NULL;
}

/* received_pseudo - see received.h */
const char *received_pseudo(const struct relays *rs, const char *name)
{
	static const char *const names[RELAYS_NSETS] = { "X-Spam-Relays-Trusted",
		"X-Spam-Relays-Untrusted", "X-Spam-Relays-Internal",
		"X-Spam-Relays-External" };
	for (int k = 0; k < RELAYS_NSETS; k++)
		if (strcasecmp(name, names[k]) == 0)
			return rs->str[k];
	return NULL;
}

const char *const received_origin_headers[] = { "X-Yahoo-Post-IP", "X-Originating-IP",
	"X-Apparently-From", "X-SenderIP", "X-AOL-IP",
	"X-MS-Exchange-CrossTenant-OriginalAttributedTenantConnectingIp", NULL };
