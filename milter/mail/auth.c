/*
 * auth.c - parsing parapet does itself before libopendkim or libopendmarc
 * see anything (see auth.h).  Owns nothing but each thread's working
 * buffers of the address-list walk (kept from one call to the next, freed
 * when the thread ends); thread-safe; every loop is bounded by its input,
 * and every output by its buffer.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/auth.h"
#include "base/arena.h"
#include "mail/message.h"
#include "base/spare.h"
#include "base/strbuf.h"
#include "base/util.h"

/* ---------------------------------------------------------------- domains */

/* auth_domain_ok - check and lower-case a domain name */
bool auth_domain_ok(char *d)
{
	size_t n = strlen(d), label = 0, labels = 0;

	if (n > 0 && d[n - 1] == '.')
		d[--n] = '\0';
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];
		if (c == '.') {
			if (label == 0 || d[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!(isalnum(c) || c == '-' || c == '_'))
			return false;
		if (label == 0) {
			if (c == '-')
				return false;
			labels++;
		}
		if (++label > 63)
			return false;
		d[i] = (char)tolower(c);
	}
	/* label == 0 here: the name ended in an empty label ("a.b..") */
	return labels >= 2 && label > 0 && d[n - 1] != '-';
}

/* ---------------------------------------------------------------- From */

/* mailbox_domain - the domain of one mailbox's address text: after the
 * last '@', whitespace removed.  -1 if none or invalid, 0 if the text is
 * empty (not a mailbox), 1 if found */
static int mailbox_domain(const char *addr, size_t len, char *domain, size_t size)
{
	const char *at = NULL;
	size_t o = 0;
	bool any = false;

	for (size_t i = 0; i < len; i++) {
		if (addr[i] == '@')
			at = addr + i;
		if (!isspace((unsigned char)addr[i]))
			any = true;
	}
	if (!any)
		return 0;
	if (at == NULL)
		return -1;
	for (const char *p = at + 1; p < addr + len; p++) {
		if (isspace((unsigned char)*p))
			continue;
		if (o + 1 >= size)
			return -1;
		domain[o++] = *p;
	}
	domain[o] = '\0';
	return auth_domain_ok(domain) ? 1 : -1;
}

/*
 * A mailbox is collected as two texts: what stands outside quotes,
 * comments and angle brackets ("plain": the whole addr-spec when there is
 * no angle address) and what stands inside <> ("angle").  A quoted string
 * belongs to the local part or the display name; an '@' inside it is not
 * the domain separator, so quoted text is copied with '@' blanked out.
 * Beside them the same texts as written ("raw": the addr-spec a rule or a
 * log shows, whitespace outside quotes removed), the display name
 * (outside <>, quote marks dropped) and the comments ("a@b (Name)").
 */
struct mbox_scan {
	struct buf plain, angle;
	struct buf plain_raw, angle_raw, name, comment;
	bool has_angle;
	int count;
	int bad;
	char *domain;
	size_t size;
	char *addr;		/* the first mailbox's addr-spec, or NULL */
	size_t asize;
	struct buf *list;	/* every mailbox's addr-spec or name, or NULL */
	bool want_name;
};

/* trimmed - b's text without leading and trailing whitespace, *n its
 * length */
static const char *trimmed(const struct buf *b, size_t *n)
{
	const char *s = b->data ? b->data : "";
	size_t len = b->len;

	while (len > 0 && isspace((unsigned char)*s))
		s++, len--;
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	*n = len;
	return s;
}

/* mbox_end - one mailbox finished (at ',' or ';' or the end) */
static void mbox_end(struct mbox_scan *s)
{
	char tmp[AUTH_DOMAIN_SIZE];
	const struct buf *b = s->has_angle ? &s->angle : &s->plain;
	const struct buf *raw = s->has_angle ? &s->angle_raw : &s->plain_raw;
	int r = mailbox_domain(b->data ? b->data : "", b->len, tmp, sizeof(tmp));

	if (r != 0) {
		if (r < 0)
			s->bad = 1;
		else if (s->count == 0 && s->size)
			str_copy(s->domain, s->size, tmp);
		if (s->count == 0 && s->asize) {
			struct sbuf a;
			sbuf_init(&a, s->addr, s->asize);
			sbuf_putn(&a, raw->data ? raw->data : "", raw->len);
		}
		if (s->list) {
			size_t n = raw->len;
			const char *t = raw->data ? raw->data : "";
			if (s->want_name)
				t = trimmed(s->has_angle ? &s->name : &s->comment, &n);
			if (n > 0 && s->list->len > 0)
				buf_puts(s->list, ", ");
			buf_append(s->list, t, n);
		}
		s->count++;
	}
	buf_reset(&s->plain);
	buf_reset(&s->angle);
	buf_reset(&s->plain_raw);
	buf_reset(&s->angle_raw);
	buf_reset(&s->name);
	buf_reset(&s->comment);
	s->has_angle = false;
}

/*
 * The walk's six texts are the thread's, kept from one value to the next:
 * a rule that reads every address of every From, To and Cc costs no
 * malloc/free per value once they have grown.  The pointer is in TLS
 * (found by leak checkers); when the thread ends the key puts them on a
 * shelf (base/spare.h) for the next thread, libmilter's threads living
 * one connection.
 */
#define MBOX_BUFS 6
#define MBOX_BUF_KEEP (64 * 1024)	/* grown past this: given back */

static __thread struct buf *mbox_mine;
static pthread_key_t mbox_key;
static pthread_once_t mbox_once = PTHREAD_ONCE_INIT;
static struct spare mbox_shelf = SPARE_INIT;

/* mbox_bufs_shelve - a thread's texts, when it ends: for the next
 * thread, or freed */
static void mbox_bufs_shelve(void *p)
{
	struct buf *b = p;

	if (spare_give(&mbox_shelf, p))
		return;
	for (size_t i = 0; i < MBOX_BUFS; i++)
		buf_free(&b[i]);
	free(b);
}

/* mbox_key_make - the key, once */
static void mbox_key_make(void)
{
	if (pthread_key_create(&mbox_key, mbox_bufs_shelve) != 0)
		oom(sizeof(mbox_key));
}

/* mbox_bufs_take - lend the thread's texts to s, empty */
static void mbox_bufs_take(struct mbox_scan *s)
{
	if (mbox_mine == NULL) {
		pthread_once(&mbox_once, mbox_key_make);
		mbox_mine = spare_take(&mbox_shelf);
		if (mbox_mine == NULL)
			mbox_mine = xcalloc(MBOX_BUFS, sizeof(*mbox_mine));
		if (pthread_setspecific(mbox_key, mbox_mine) != 0)
			oom(sizeof(mbox_mine));
	}
	struct buf *to[MBOX_BUFS] = { &s->plain, &s->angle, &s->plain_raw, &s->angle_raw,
				      &s->name, &s->comment };
	for (size_t i = 0; i < MBOX_BUFS; i++) {
		*to[i] = mbox_mine[i];
		buf_reset(to[i]);
	}
}

/* mbox_bufs_give - take them back from s, as grown */
static void mbox_bufs_give(struct mbox_scan *s)
{
	struct buf *from[MBOX_BUFS] = { &s->plain, &s->angle, &s->plain_raw, &s->angle_raw,
					&s->name, &s->comment };
	for (size_t i = 0; i < MBOX_BUFS; i++) {
		if (from[i]->cap > MBOX_BUF_KEEP)
			buf_free(from[i]);
		mbox_mine[i] = *from[i];
		buf_init(from[i]);
	}
}

/* mbox_scan_run - walk one address-list value (RFC 5322 §3.4) */
static int mbox_scan_run(struct mbox_scan *s, const char *v)
{
	int depth = 0;		/* comment nesting */
	bool quoted = false, in_angle = false;

	if (s->size)
		s->domain[0] = '\0';
	if (s->asize)
		s->addr[0] = '\0';
	mbox_bufs_take(s);
	for (const char *p = v; *p; p++) {
		char c = *p;
		struct buf *to = in_angle ? &s->angle : &s->plain;
		struct buf *raw = in_angle ? &s->angle_raw : &s->plain_raw;
		if (quoted) {
			if (c == '\\' && p[1]) {
				buf_putc(raw, c);
				p++;
			} else if (c == '"') {
				quoted = false;
			}
			buf_putc(raw, *p);
			if (!in_angle && (c != '"' || p[-1] == '\\'))
				buf_putc(&s->name, *p);
			buf_putc(to, *p == '@' ? '_' : 'q');
			continue;
		}
		if (depth > 0) {
			if (c == '\\' && p[1])
				p++;
			else if (c == '(')
				depth++;
			else if (c == ')' && --depth == 0)
				continue;
			buf_putc(&s->comment, *p);
			continue;
		}
		switch (c) {
		case '"':
			quoted = true;
			buf_putc(to, 'q');
			buf_putc(raw, c);
			break;
		case '(':
			depth = 1;
			if (s->comment.len > 0)
				buf_putc(&s->comment, ' ');
			break;
		case '<':
			/* a second '<' starts the angle text again */
			in_angle = true;
			s->has_angle = true;
			buf_reset(&s->angle);
			buf_reset(&s->angle_raw);
			break;
		case '>':
			in_angle = false;
			break;
		case ',':
		case ';':
			if (in_angle) {
				buf_putc(to, c);
				buf_putc(raw, c);
			} else {
				mbox_end(s);
			}
			break;
		case ':':
			/* group "name: a, b;" (RFC 5322 §3.4): the text so far
			 * was the group's name */
			if (in_angle) {
				buf_putc(to, c);
				buf_putc(raw, c);
			} else {
				buf_reset(&s->plain);
				buf_reset(&s->plain_raw);
				buf_reset(&s->name);
				buf_reset(&s->comment);
			}
			break;
		default:
			buf_putc(to, c);
			if (!isspace((unsigned char)c))
				buf_putc(raw, c);
			if (!in_angle)
				buf_putc(&s->name, c);
		}
	}
	mbox_end(s);
	mbox_bufs_give(s);
	return s->bad ? -1 : s->count;
}

/* auth_addr_parse - the first mailbox's addr-spec and domain */
int auth_addr_parse(const char *v, char *addr, size_t asize, char *domain, size_t size)
{
	struct mbox_scan s = { .domain = domain, .size = size, .addr = addr,
			       .asize = asize };

	return mbox_scan_run(&s, v);
}

/* auth_from_parse - mailboxes of one From value */
int auth_from_parse(const char *v, char *domain, size_t size)
{
	return auth_addr_parse(v, NULL, 0, domain, size);
}

/* auth_addr_list - every mailbox's addr-spec or display name */
void auth_addr_list(const char *v, bool want_name, struct buf *out)
{
	struct mbox_scan s = { .list = out, .want_name = want_name };

	mbox_scan_run(&s, v);
}

/* one remembered auth_addr_list result (auth_msg_addr_list) */
struct msg_addrs {
	struct msg_addrs *next;
	const char *value;	/* the field text, a copy */
	const char *list;	/* what auth_addr_list gave an empty buffer */
	size_t len;
	bool want_name;
};

/* auth_msg_addr_list - see auth.h.  auth_addr_list puts ", " before a
 * mailbox whenever out already holds something, so the remembered list
 * goes after ", " exactly when it is not empty and out is not */
void auth_msg_addr_list(struct msg *m, const char *v, bool want_name, struct buf *out)
{
	const struct msg_addrs *e = m->addrs;

	while (e && !(e->want_name == want_name && strcmp(e->value, v) == 0))
		e = e->next;
	if (e == NULL) {
		size_t n = strlen(v);
		if (n > AUTH_MEMO_TEXT || m->naddrs >= AUTH_MEMO_MAX) {
			auth_addr_list(v, want_name, out);
			return;
		}
		struct buf b;
		buf_init(&b);
		auth_addr_list(v, want_name, &b);
		struct msg_addrs *x = arena_alloc(&m->arena, sizeof(*x));
		x->value = arena_strndup(&m->arena, v, n);
		x->list = arena_strndup(&m->arena, b.data ? b.data : "", b.len);
		x->len = b.len;
		x->want_name = want_name;
		x->next = m->addrs;
		m->addrs = x;
		m->naddrs++;
		buf_free(&b);
		e = x;
	}
	if (e->len > 0 && out->len > 0)
		buf_puts(out, ", ");
	buf_append(out, e->list, e->len);
}

/* auth_addr_domain - the lower-case domain of the first mailbox */
char *auth_addr_domain(const char *v)
{
	char d[AUTH_DOMAIN_SIZE];

	if (v == NULL)
		return NULL;
	auth_addr_parse(v, NULL, 0, d, sizeof(d));
	return d[0] ? xstrdup(d) : NULL;
}

/* auth_from_domain - the From domain over every From field */
enum auth_from auth_from_domain(const struct msg *m, char *domain, size_t size)
{
	int fields = 0, total = 0;
	bool bad = false;

	if (size)
		domain[0] = '\0';
	for (size_t i = 0; i < m->nhdrs; i++) {
		char d[AUTH_DOMAIN_SIZE];
		if (strcasecmp(m->hdrs[i].name, "From") != 0)
			continue;
		fields++;
		int n = auth_from_parse(m->hdrs[i].value, d, sizeof(d));
		if (n < 0)
			bad = true;
		else
			total += n;
		if (size && domain[0] == '\0' && d[0])
			str_copy(domain, size, d);
	}
	if (fields == 0)
		return AUTH_FROM_NONE;
	if (fields > 1 || total > 1)
		return AUTH_FROM_MULTIPLE;
	if (bad || total == 0)
		return AUTH_FROM_BAD;
	return AUTH_FROM_OK;
}

/* auth_from_name - for details */
const char *auth_from_name(enum auth_from r)
{
	switch (r) {
	case AUTH_FROM_OK: return "ok";
	case AUTH_FROM_NONE: return "none";
	case AUTH_FROM_MULTIPLE: return "multiple";
	case AUTH_FROM_BAD: return "bad";
	}
	return "?";
}

/* ---------------------------------------------------------------- results */

/* RFC 8601 §2.7 result words */
static const char *const result_names[] = {
	[AUTH_NONE] = "none", [AUTH_PASS] = "pass", [AUTH_FAIL] = "fail",
	[AUTH_SOFTFAIL] = "softfail", [AUTH_NEUTRAL] = "neutral",
	[AUTH_TEMPERROR] = "temperror", [AUTH_PERMERROR] = "permerror",
};

/* auth_result_name - the RFC 8601 word */
const char *auth_result_name(enum auth_result r, bool dkim)
{
	if (dkim && (r == AUTH_NONE || r == AUTH_SOFTFAIL))
		r = AUTH_NEUTRAL;
	return r <= AUTH_PERMERROR ? result_names[r] : "?";
}

/* ---------------------------------------------------------------- fields */

/* auth_field - "Name:raw" with CRLF line breaks, bounded */
char *auth_field(const char *name, const char *raw, size_t cap, size_t *len)
{
	size_t nl = strlen(name), rl = strlen(raw), o = 0;
	char *out;

	/* RFC 5322 §2.2: printable US-ASCII except colon */
	if (nl == 0)
		return NULL;
	for (size_t i = 0; i < nl; i++)
		if (name[i] <= ' ' || name[i] >= 0x7f || name[i] == ':')
			return NULL;
	/* worst case every LF becomes CRLF */
	if (nl + 1 + rl > cap)
		return NULL;
	out = xmalloc(nl + 1 + 2 * rl + 1);
	memcpy(out, name, nl);
	o = nl;
	out[o++] = ':';
	for (size_t i = 0; i < rl; i++) {
		if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r'))
			out[o++] = '\r';
		out[o++] = raw[i];
	}
	/* a field ends before its final CRLF */
	while (o > nl + 1 && (out[o - 1] == '\n' || out[o - 1] == '\r'))
		o--;
	out[o] = '\0';
	if (o > cap) {
		free(out);
		return NULL;
	}
	*len = o;
	return out;
}

/* auth_tag - one tag's value from a tag-list */
bool auth_tag(const char *list, const char *tag, char *out, size_t size)
{
	size_t tl = strlen(tag);
	const char *p = list;

	while (*p) {
		while (*p && (isspace((unsigned char)*p) || *p == ';'))
			p++;
		const char *name = p;
		while (*p && *p != '=' && *p != ';' && !isspace((unsigned char)*p))
			p++;
		size_t n = (size_t)(p - name);
		while (isspace((unsigned char)*p))
			p++;
		if (*p != '=') {
			while (*p && *p != ';')
				p++;
			continue;
		}
		p++;
		const char *val = p;
		while (*p && *p != ';')
			p++;
		if (n == tl && strncmp(name, tag, tl) == 0) {
			size_t o = 0;
			for (const char *q = val; q < p; q++) {
				if (isspace((unsigned char)*q))
					continue;
				if (o + 1 >= size)
					return false;
				out[o++] = *q;
			}
			out[o] = '\0';
			return true;
		}
	}
	return false;
}

/* auth_tag_count - tag-spec items of a tag-list (RFC 6376 §3.2): the
 * ';'-separated items that are not empty or white space */
size_t auth_tag_count(const char *list)
{
	size_t n = 0;
	bool text = false;

	for (const char *p = list; *p; p++) {
		if (*p == ';') {
			n += text;
			text = false;
		} else if (!isspace((unsigned char)*p)) {
			text = true;
		}
	}
	return n + text;
}

/* auth_record_ok - a record a library may parse */
bool auth_record_ok(const char *rec, size_t len, size_t cap, const char **why)
{
	if (len > cap) {
		*why = "record too long";
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)rec[i];
		if (c == '\0') {
			*why = "NUL byte in record";
			return false;
		}
		if ((c < ' ' && c != '\t') || c >= 0x7f) {
			*why = "control or 8-bit byte in record";
			return false;
		}
	}
	return true;
}
