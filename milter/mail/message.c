/*
 * message.c - the message model (see message.h).  Everything a message
 * owns hangs off struct msg and dies in msg_free.  Not thread-safe: one
 * message belongs to one milter thread at a time.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/message.h"
#include "mail/mime_skip.h"
#include "mail/received.h"

#define NAME_SLOTS 4096		/* power of two, > 2 * the fields kept */
#define MSG_BODY_PREALLOC (64 * 1024)	/* msg_add_body */

_Static_assert((NAME_SLOTS & (NAME_SLOTS - 1)) == 0, "NAME_SLOTS: power of two");
_Static_assert(NAME_SLOTS > 2 * (MSG_MAX_HEADERS + MSG_MAX_KEY_HEADERS), "NAME_SLOTS: keep the load low");

/* msg_new - empty message keeping at most max_body body bytes */
struct msg *msg_new(size_t max_body)
{
	struct msg *m = xcalloc(1, sizeof(*m));

	arena_init(&m->arena, MSG_ARENA_LIMIT);
	buf_init(&m->body);
	m->max_body = max_body;
	return m;
}

/* msg_free - release everything; returns NULL */
struct msg *msg_free(struct msg *m)
{
	if (m == NULL)
		return NULL;
	free(m->rcpts);
	free(m->hdrs);
	arena_free(&m->arena);	/* and the relays (msg_relays) */
	buf_free(&m->body);
	mime_views_free(&m->mime);
	if (m->stats_views)
		mime_views_free(m->stats_views);
	free(m->stats_views);
	free(m->full_text);
	free(m);
	return NULL;
}

/* dup_or_null - copy a string that may be NULL, in the message's arena */
static char *dup_or_null(struct msg *m, const char *s)
{
	return s ? arena_strdup(&m->arena, s) : NULL;
}

/* msg_set_client - connection facts */
void msg_set_client(struct msg *m, const char *ip, const char *name,
		    const char *helo)
{
	m->client_ip = dup_or_null(m, ip);
	m->client_name = dup_or_null(m, name);
	m->helo = dup_or_null(m, helo);
}

/* strip_span - where addr is without <> and surrounding space: *n bytes */
static const char *strip_span(const char *addr, size_t *n)
{
	while (isspace((unsigned char)*addr))
		addr++;
	*n = strlen(addr);
	while (*n > 0 && isspace((unsigned char)addr[*n - 1]))
		(*n)--;
	if (*n >= 2 && addr[0] == '<' && addr[*n - 1] == '>') {
		*n -= 2;
		return addr + 1;
	}
	return addr;
}

/* msg_strip_brackets - remove <> and surrounding space */
char *msg_strip_brackets(const char *addr)
{
	size_t n;
	const char *p = strip_span(addr, &n);

	return xstrndup(p, n);
}

/* strip_in - msg_strip_brackets into the message's arena */
static char *strip_in(struct msg *m, const char *addr)
{
	size_t n;
	const char *p = strip_span(addr, &n);

	return arena_strndup(&m->arena, p, n);
}

/* msg_set_from - envelope sender */
void msg_set_from(struct msg *m, const char *from)
{
	m->mail_from = strip_in(m, from ? from : "");
}

/* msg_add_rcpt - one envelope recipient; past the cap only counted */
void msg_add_rcpt(struct msg *m, const char *rcpt)
{
	m->rcpts_seen++;
	if (m->nrcpts >= MSG_MAX_RCPTS)
		return;
	m->rcpts = xrealloc(m->rcpts, (m->nrcpts + 1) * sizeof(*m->rcpts));
	m->rcpts[m->nrcpts++] = strip_in(m, rcpt ? rcpt : "");
}

/* msg_set_qid - the MTA's queue id */
void msg_set_qid(struct msg *m, const char *qid)
{
	if (qid == NULL || *qid == '\0')
		return;
	m->qid = arena_strdup(&m->arena, qid);
}

/* unfold - value without CR/LF, trimmed, NUL bytes already excluded */
static char *unfold(struct msg *m, const char *raw, size_t len)
{
	char *v = arena_alloc(&m->arena, len + 1), *o = v;

	for (size_t i = 0; i < len; i++)
		if (raw[i] != '\r' && raw[i] != '\n')
			*o++ = raw[i];
	*o = '\0';
	char *t = str_trim(v);
	if (t != v)
		memmove(v, t, strlen(t) + 1);
	return v;
}

/* the key fields (message.h): every From for DMARC, and the fields
 * parapet writes itself, whose arriving copies verdict.c removes */
static const char *const key_fields[] = {
	"From", "Authentication-Results",
	"X-Spam-Flag", "X-Spam-Score", "X-Spam-Status", "X-Spam-Level",
};

/* msg_key_field - canonical name of a key field, or NULL */
const char *msg_key_field(const char *name)
{
	for (size_t i = 0; i < sizeof(key_fields) / sizeof(key_fields[0]); i++)
		if (strcasecmp(name, key_fields[i]) == 0)
			return key_fields[i];
	return NULL;
}

/* kept - does the field go into the model?  Counts what the caps drop */
static bool kept(struct msg *m, const char *name)
{
	if (msg_key_field(name) == NULL) {
		if (m->keys_only)
			return false;	/* not scanned: nothing else is needed */
		if (m->nhdrs < MSG_MAX_HEADERS)
			return true;
	} else if (m->nhdrs < MSG_MAX_HEADERS + MSG_MAX_KEY_HEADERS) {
		return true;
	} else {
		m->keys_lost = true;
	}
	m->hdrs_dropped++;
	return false;
}

/*
 * name_slot - the slot of name in the field index: the one that holds the
 * position (+ 1) of the latest field called name, or the empty one where
 * it would go.  The index chains the fields of a name (first_same,
 * next_same), so a lookup by name is a hash, not a walk over every field:
 * counting every earlier field for each new one made a header of 1,000
 * fields cost 500,000 comparisons (issue 12), and the eval tests ask for
 * fields by name hundreds of times a message.
 */
static uint32_t name_slot(const struct msg *m, const char *name)
{
	uint32_t i = str_hash(name, strlen(name), true) & (NAME_SLOTS - 1);

	for (; m->name_slots[i] != 0; i = (i + 1) & (NAME_SLOTS - 1))
		if (strcasecmp(m->hdrs[m->name_slots[i] - 1].name, name) == 0)
			break;
	return i;
}

/* name_link - enter the field at position pos (its name set) in the
 * index: its index among its name's fields, and the chain */
static void name_link(struct msg *m, size_t pos)
{
	struct header *h = &m->hdrs[pos];

	if (m->name_slots == NULL)
		m->name_slots = arena_calloc(&m->arena, NAME_SLOTS * sizeof(*m->name_slots));
	uint32_t i = name_slot(m, h->name);
	h->index = 1;
	h->first_same = (int)pos;
	h->next_same = -1;
	if (m->name_slots[i] != 0) {
		struct header *prev = &m->hdrs[m->name_slots[i] - 1];
		h->index = prev->index + 1;
		h->first_same = prev->first_same;
		prev->next_same = (int)pos;
	}
	m->name_slots[i] = (unsigned)pos + 1;
}

/* latest - position of the latest field called name, or -1 */
static int latest(const struct msg *m, const char *name)
{
	if (m->name_slots == NULL)
		return -1;
	uint32_t i = name_slot(m, name);
	return m->name_slots[i] ? (int)m->name_slots[i] - 1 : -1;
}

/* msg_add_header - one field as received */
void msg_add_header(struct msg *m, const char *name, const char *raw)
{
	size_t len = strlen(raw);

	m->hdrs_seen++;
	if (!kept(m, name))
		return;
	if (len > MSG_MAX_HEADER_BYTES) {
		len = MSG_MAX_HEADER_BYTES;
		if (!m->broken)
			m->broken = "header field too long";
	}
	if (*name == '\0' && !m->broken)
		m->broken = "header field without a name";
	if (m->nhdrs == m->hdrs_cap) {
		m->hdrs_cap = m->hdrs_cap ? m->hdrs_cap * 2 : 32;
		m->hdrs = xrealloc(m->hdrs, m->hdrs_cap * sizeof(*m->hdrs));
	}
	struct header *h = &m->hdrs[m->nhdrs];
	h->name = arena_strdup(&m->arena, name);
	h->raw = arena_strndup(&m->arena, raw, len);
	h->value = unfold(m, raw, len);
	h->decoded = h->value;
	/* right for key fields past the cap too: all of them are kept */
	name_link(m, m->nhdrs);
	m->nhdrs++;
}

/* msg_add_body - keep up to max_body bytes, count the rest */
void msg_add_body(struct msg *m, const void *data, size_t len)
{
	size_t room = m->body.len < m->max_body ? m->max_body - m->body.len : 0;
	size_t keep = len < room ? len : room;

	/* past 64 KB the buffer is made max_body long at once: growing by
	 * doubling copied a 1.4 MB message's body five times into fresh
	 * pages, and its last step made 2 MB for 1 MB and a NUL */
	if (keep && m->body.len + keep >= MSG_BODY_PREALLOC && m->body.cap < m->max_body + 1) {
		m->body.data = xrealloc(m->body.data, m->max_body + 1);
		m->body.cap = m->max_body + 1;
	}
	if (keep)
		buf_append(&m->body, data, keep);
	if (keep < len)
		m->truncated = true;
	m->body_total += len;
	if (!m->broken && memchr(data, '\0', keep) != NULL)
		m->broken = "NUL byte in body";
}

/* msg_end_headers - decoded values, structural checks that need the
 * whole header */
void msg_end_headers(struct msg *m)
{
	mime_decode_headers(&m->arena, m->hdrs, m->nhdrs);
	const struct header *ct = msg_header(m, "Content-Type", 0);

	if (ct && strncasecmp(ct->value, "multipart/", 10) == 0) {
		char *b = mime_boundary_of(ct->value);
		if (b == NULL && !m->broken)
			m->broken = "multipart without a valid boundary";
		free(b);
	}
}

/* msg_header - n-th field of that name */
const struct header *msg_header(const struct msg *m, const char *name, size_t n)
{
	int p = latest(m, name);

	if (p < 0 || n >= (size_t)m->hdrs[p].index)
		return NULL;
	for (p = m->hdrs[p].first_same; n > 0; n--)
		p = m->hdrs[p].next_same;
	return &m->hdrs[p];
}

/* msg_header_count - fields of that name */
size_t msg_header_count(const struct msg *m, const char *name)
{
	int p = latest(m, name);

	return p < 0 ? 0 : (size_t)m->hdrs[p].index;
}

/* msg_header_first - see message.h */
int msg_header_first(const struct msg *m, const char *name)
{
	int p = latest(m, name);

	return p < 0 ? -1 : m->hdrs[p].first_same;
}

/* append_lf_text - append bytes with CR dropped and NUL made a space */
static void append_lf_text(struct buf *b, const char *p, size_t n)
{
	const char *end = p + n, *nul = n ? memchr(p, '\0', n) : NULL;

	/* runs between the CRs and NULs found with memchr: the text has a
	 * CR on every line, a NUL rarely (sought again only once passed) */
	for (const char *q = p; q < end;) {
		const char *cr = memchr(q, '\r', (size_t)(end - q));
		if (nul != NULL && nul < q)
			nul = memchr(q, '\0', (size_t)(end - q));
		const char *stop = cr != NULL && (nul == NULL || cr < nul) ? cr : nul ? nul : end;
		buf_append(b, q, (size_t)(stop - q));
		if (stop == end)
			break;
		if (*stop == '\0')
			buf_putc(b, ' ');
		q = stop + 1;
	}
}

/* msg_decode - build the MIME views once */
void msg_decode(struct msg *m)
{
	if (m->mime.built)
		return;
	mime_views_build(&m->mime, m->hdrs, m->nhdrs, m->body.data, m->body.len, m->truncated);
	m->uris_capped = m->mime.uris_capped;
	if (m->mime.broken && !m->broken)
		m->broken = m->mime.broken;
}

/* msg_body_text - text for body rules */
const char *msg_body_text(struct msg *m, size_t *len)
{
	msg_decode(m);
	*len = m->mime.text_len;
	return m->mime.text;
}

/* msg_rawbody_text - text for rawbody rules */
const char *msg_rawbody_text(struct msg *m, size_t *len)
{
	msg_decode(m);
	*len = m->mime.raw_len;
	return m->mime.raw;
}

/* msg_no_stats - see message.h */
void msg_no_stats(struct msg *m, bool no)
{
	if (!m->mime.built)
		m->mime.no_stats = no;
}

/* stats_views - views with the statistics: the message's own, or when
 * they were left out (msg_no_stats), a second set built now */
static struct mime_views *stats_views(struct msg *m)
{
	msg_decode(m);
	if (!m->mime.no_stats)
		return &m->mime;
	if (m->stats_views == NULL) {
		m->stats_views = xcalloc(1, sizeof(*m->stats_views));
		mime_views_build(m->stats_views, m->hdrs, m->nhdrs, m->body.data, m->body.len,
				 m->truncated);
	}
	return m->stats_views;
}

/* msg_html_stats - HTML statistics per text/html part */
const struct html_stats *msg_html_stats(struct msg *m, size_t *n)
{
	struct mime_views *v = stats_views(m);

	*n = v->nhtml;
	return v->html;
}

/* msg_part_fields - see message.h */
const char *msg_part_fields(struct msg *m, size_t *len)
{
	struct mime_views *v = stats_views(m);

	*len = v->fields_len;
	return v->fields;
}

/* msg_mime_stats - MIME statistics of the message */
const struct mime_stats *msg_mime_stats(struct msg *m)
{
	msg_decode(m);
	return &m->mime.stats;
}

/* msg_mime_madiff - the MIME statistics with the alternatives' words
 * compared (computed at the first call) */
const struct mime_stats *msg_mime_madiff(struct msg *m)
{
	struct mime_views *v = stats_views(m);

	mime_stats_madiff(&v->stats);
	return &v->stats;
}

/* msg_uris - URIs for uri rules */
const char *const *msg_uris(struct msg *m, size_t *n)
{
	msg_decode(m);
	*n = m->mime.nuris;
	return (const char *const *)m->mime.uris;
}

/* msg_uri_lens - see message.h */
const size_t *msg_uri_lens(struct msg *m)
{
	size_t n;
	const char *const *uris = msg_uris(m, &n);

	if (m->uri_lens == NULL) {
		m->uri_lens = arena_alloc(&m->arena, (n + 1) * sizeof(*m->uri_lens));
		for (size_t i = 0; i < n; i++)
			m->uri_lens[i] = strlen(uris[i]);
	}
	return m->uri_lens;
}

/* msg_full_text - the message as headers + blank line + body */
const char *msg_full_text(struct msg *m, size_t *len)
{
	if (m->full_text == NULL) {
		struct buf b;
		/* made its full size at once (LF line ends only shorten it),
		 * not grown by doubling */
		size_t want = m->body.len + 1;
		for (size_t i = 0; i < m->nhdrs; i++)
			want += strlen(m->hdrs[i].name) + strlen(m->hdrs[i].raw) + 2;
		buf_init(&b);
		buf_reserve(&b, want);
		for (size_t i = 0; i < m->nhdrs; i++) {
			buf_puts(&b, m->hdrs[i].name);
			buf_putc(&b, ':');
			append_lf_text(&b, m->hdrs[i].raw, strlen(m->hdrs[i].raw));
			buf_putc(&b, '\n');
		}
		buf_putc(&b, '\n');
		append_lf_text(&b, m->body.data ? m->body.data : "", m->body.len);
		m->full_text = b.data;
		m->full_text_len = b.len;
	}
	*len = m->full_text_len;
	return m->full_text;
}

/* msg_relays - see message.h */
const struct relays *msg_relays(struct msg *m, const struct relay_nets *nets)
{
	if (m->relays != NULL)
		return m->relays;
	size_t n = msg_header_count(m, "Received"), k = 0;
	const char **v = xcalloc(n + 8, sizeof(*v));
	char *extra[8];
	size_t nextra = 0;
	for (size_t i = 0; i < m->nhdrs && k < n; i++)
		if (strcasecmp(m->hdrs[i].name, "Received") == 0)
			v[k++] = m->hdrs[i].raw;
	for (size_t i = 0; received_origin_headers[i] && nextra < 8; i++) {
		const struct header *h = msg_header(m, received_origin_headers[i], 0);
		char *line = h ? received_origin_line(h->raw) : NULL;
		if (line != NULL)
			v[k++] = extra[nextra++] = line;
	}
	m->relays = received_build_in(v, k, nets, &m->arena);
	for (size_t i = 0; i < nextra; i++)
		free(extra[i]);
	free(v);
	return m->relays;
}
