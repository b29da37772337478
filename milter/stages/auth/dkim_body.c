/*
 * dkim_body.c - the DKIM body hash of a streamed body (see dkim_body.h).
 *
 * Owns: one OpenSSL digest context per hash and, for relaxed, a 16 KB
 * output buffer handed to the digest when full.
 *
 * Canonicalization (RFC 6376):
 *   simple (§3.4.3): the body as it is, the CRLFs at its end reduced to
 *     one (an empty body hashes as one CRLF).  Per chunk only its tail is
 *     looked at: the run of CRLFs at the end is held back until something
 *     else follows, and everything before it is hashed as it is.
 *   relaxed (§3.4.4): whitespace (SP, HTAB) at the end of a line removed,
 *     a run of it inside a line made one SP, the empty lines at the end
 *     removed, a CRLF added to a body that does not end with one (an
 *     empty body hashes as nothing, RFC 6376 erratum 3871).  What comes
 *     out as it came in (runs of bytes that are none of CR, SP and HTAB,
 *     a line's CRLF, a single SP between words) is one span of the
 *     chunk, handed to the digest as it is when long (a base64
 *     attachment: one span per chunk), else copied to the buffer; the
 *     rest is written to the buffer.  A whole line that is already
 *     canonical (the usual line of prose) is checked 16 bytes at a time
 *     and joins the span at once, not word by word: that was ~100
 *     instructions a word, a third of a newsletter's DKIM cost.
 * A CR not followed by LF, and an LF not preceded by CR, are ordinary
 * bytes (the MTA hands the milter CRLF line ends).
 *
 * Thread safety: a hash belongs to its message's thread.
 */
#include "autoconfig.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "stages/auth/dkim_body.h"
#include "base/util.h"
#include "base/vec16.h"

#define OUT_SIZE 16384

struct dkim_bodyhash {
	EVP_MD_CTX *md;
	bool relaxed;
	bool cr;		/* a CR held back: is an LF next? */
	bool wsp;		/* relaxed: a run of WSP held back */
	bool content;		/* relaxed: the line has bytes out */
	size_t blanks;		/* CRLFs (simple) or empty lines (relaxed) held back */
	size_t bytes;		/* canonicalized bytes hashed */
	size_t n;		/* used of out */
	/* relaxed, inside one dkim_bodyhash_add: the output not yet in out
	 * or the digest that is the chunk's bytes [sp, se), after out's */
	const unsigned char *sp, *se;
	const unsigned char *wsp_at;	/* the run of WSP held back starts
					 * there in the chunk (else NULL) */
	bool wsp_single;	/* it is one SP */
	unsigned char out[OUT_SIZE];
};

#define SPAN_MIN 256	/* shorter spans are copied to out */

/* special[c] - relaxed: c ends a run of bytes copied as they are */
static const unsigned char special[256] = {
	['\r'] = 1, [' '] = 1, ['\t'] = 1,
};

/* special_at - the first of the 16 bytes at p that is CR, SP or HTAB
 * (16: none) */
static inline unsigned special_at(const unsigned char *p)
{
	u8x16 c = vec16_load(p);

	return vec16_first((u8x16)(c == '\r') | (u8x16)(c == ' ') | (u8x16)(c == '\t'));
}

/* clean_line_end - relaxed: p[i] is none of CR, SP and HTAB; if the
 * line from there to its CRLF, both in the chunk, is its own relaxed
 * form (no HTAB, no SP followed by SP, HTAB or CR), the index after the
 * CRLF, else 0.  Lines of prose are so: one span for the whole line
 * instead of one per word.  The runs between specials are skipped as
 * add_relaxed skips them, so a base64 line costs what it did */
static size_t clean_line_end(const unsigned char *p, size_t i, size_t len)
{
	size_t j = i + 1;

	for (;;) {
		size_t k = 16;
		while (k == 16 && j + 16 <= len) {
			k = special_at(p + j);
			j += k;
		}
		while (k == 16 && j < len && !special[p[j]])
			j++;
		if (j + 1 >= len)	/* the line goes on in the next chunk */
			return 0;
		if (p[j] == '\r')
			return p[j + 1] == '\n' ? j + 2 : 0;
		if (p[j] == '\t' || special[p[j + 1]])
			return 0;
		j += 2;		/* one SP, then a byte that is no special */
	}
}

/* dkim_bodyhash_new - a fresh hash */
struct dkim_bodyhash *dkim_bodyhash_new(bool relaxed, bool sha1)
{
	struct dkim_bodyhash *h = xmalloc(sizeof(*h));

	/* out is written before it is read: zeroing its 16 KB was the
	 * largest part of a small message's hash set-up */
	memset(h, 0, offsetof(struct dkim_bodyhash, out));
	h->relaxed = relaxed;
	h->md = EVP_MD_CTX_new();
	if (h->md == NULL || EVP_DigestInit_ex(h->md, sha1 ? EVP_sha1() : EVP_sha256(), NULL) != 1) {
		dkim_bodyhash_free(h);
		return NULL;
	}
	return h;
}

/* hash - bytes straight to the digest */
static void hash(struct dkim_bodyhash *h, const void *p, size_t len)
{
	if (len == 0)
		return;
	EVP_DigestUpdate(h->md, p, len);
	h->bytes += len;
}

/* flush - relaxed: the output buffer to the digest */
static void flush(struct dkim_bodyhash *h)
{
	hash(h, h->out, h->n);
	h->n = 0;
}

/* put - relaxed: bytes to the output buffer */
static void put(struct dkim_bodyhash *h, const void *p, size_t len)
{
	if (len >= OUT_SIZE) {
		flush(h);
		hash(h, p, len);
		return;
	}
	if (h->n + len > OUT_SIZE)
		flush(h);
	memcpy(h->out + h->n, p, len);
	h->n += len;
}

/* span_out - relaxed: the pending span of the chunk out, after out's
 * bytes */
static void span_out(struct dkim_bodyhash *h)
{
	if (h->sp == NULL)
		return;
	size_t n = (size_t)(h->se - h->sp);
	if (n < SPAN_MIN) {
		put(h, h->sp, n);
	} else {
		flush(h);
		hash(h, h->sp, n);
	}
	h->sp = h->se = NULL;
}

/* same - relaxed: n output bytes that are the chunk's at p */
static void same(struct dkim_bodyhash *h, const unsigned char *p, size_t n)
{
	if (h->sp == NULL || h->se != p) {
		span_out(h);
		h->sp = h->se = p;
	}
	h->se += n;
}

/* other - relaxed: n output bytes of our own */
static void other(struct dkim_bodyhash *h, const void *p, size_t n)
{
	span_out(h);
	put(h, p, n);
}

/* crlfs - held-back CRLFs out */
static void crlfs(struct dkim_bodyhash *h, size_t n, bool buffered)
{
	static const char many[] = "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n";

	while (n > 0) {
		size_t k = n < 8 ? n : 8;
		if (buffered)
			put(h, many, 2 * k);
		else
			hash(h, many, 2 * k);
		n -= k;
	}
}

/* line_start - relaxed: the first byte of a line's content follows (at
 * at in the chunk, or NULL) */
static void line_start(struct dkim_bodyhash *h, const unsigned char *at)
{
	if (!h->content) {
		if (h->blanks) {
			span_out(h);
			crlfs(h, h->blanks, true);
		}
		h->blanks = 0;
		h->content = true;
	}
	if (h->wsp) {
		if (at != NULL && h->wsp_single && h->wsp_at + 1 == at)
			same(h, h->wsp_at, 1);
		else
			other(h, " ", 1);
		h->wsp = false;
	}
}

/* add_relaxed - one chunk, relaxed */
static void add_relaxed(struct dkim_bodyhash *h, const unsigned char *p, size_t len)
{
	size_t i = 0, e;

	h->sp = h->se = h->wsp_at = NULL;	/* pointers into this chunk */
	h->wsp_single = false;
	while (i < len) {
		unsigned char c = p[i];
		if (h->cr) {
			h->cr = false;
			if (c == '\n') {
				if (h->content && i > 0)
					same(h, p + i - 1, 2);
				else if (h->content)
					other(h, "\r\n", 2);
				else
					h->blanks++;
				h->content = false;
				h->wsp = false;
				i++;
				continue;
			}
			line_start(h, i > 0 ? p + i - 1 : NULL);
			if (i > 0)
				same(h, p + i - 1, 1);
			else
				other(h, "\r", 1);
		}
		if (c == '\r') {
			h->cr = true;
			i++;
		} else if (c == ' ' || c == '\t') {
			h->wsp_single = !h->wsp && c == ' ';
			if (!h->wsp)
				h->wsp_at = p + i;
			h->wsp = true;
			i++;
		} else if ((e = clean_line_end(p, i, len)) != 0) {
			line_start(h, p + i);
			same(h, p + i, e - i);
			h->content = false;
			i = e;
		} else {
			size_t j = i + 1, k = 16;
			while (k == 16 && j + 16 <= len) {
				k = special_at(p + j);
				j += k;
			}
			while (k == 16 && j < len && !special[p[j]])
				j++;
			line_start(h, p + i);
			if (j + 1 < len && p[j] == '\r' && p[j + 1] == '\n') {
				/* the usual line: the run and its CRLF at once */
				same(h, p + i, j + 2 - i);
				h->content = false;
				i = j + 2;
			} else {
				same(h, p + i, j - i);
				i = j;
			}
		}
	}
	span_out(h);
	h->wsp_at = NULL;
}

/* add_simple - one chunk, simple: all but its trailing CRLFs hashed */
static void add_simple(struct dkim_bodyhash *h, const unsigned char *p, size_t len)
{
	size_t k = 0, j;
	bool cr;

	if (h->cr && len > 0) {
		h->cr = false;
		if (p[0] == '\n') {
			h->blanks++;
			p++;
			len--;
		} else {
			crlfs(h, h->blanks, false);
			h->blanks = 0;
			hash(h, "\r", 1);
		}
	}
	if (len == 0)
		return;
	j = len;
	cr = p[j - 1] == '\r';
	if (cr)
		j--;
	while (j >= 2 && p[j - 2] == '\r' && p[j - 1] == '\n') {
		j -= 2;
		k++;
	}
	if (j > 0) {
		crlfs(h, h->blanks, false);
		hash(h, p, j);
		h->blanks = k;
	} else {
		h->blanks += k;
	}
	h->cr = cr;
}

/* dkim_bodyhash_add - one chunk */
void dkim_bodyhash_add(struct dkim_bodyhash *h, const void *data, size_t len)
{
	if (h == NULL)
		return;
	if (h->relaxed)
		add_relaxed(h, data, len);
	else
		add_simple(h, data, len);
}

/* dkim_bodyhash_final - the end of the body and the digest */
size_t dkim_bodyhash_final(struct dkim_bodyhash *h, unsigned char out[DKIM_BODY_DIGEST_MAX])
{
	unsigned int n = 0;

	if (h == NULL)
		return 0;
	if (h->relaxed) {
		if (h->cr) {	/* a CR at the very end is a byte of the line */
			line_start(h, NULL);
			put(h, "\r", 1);
		}
		if (h->content)
			put(h, "\r\n", 2);
		flush(h);
	} else {
		if (h->cr) {
			crlfs(h, h->blanks, false);
			hash(h, "\r", 1);
		}
		/* content, or nothing at all: one CRLF ends it either way */
		hash(h, "\r\n", 2);
	}
	h->cr = false;
	if (EVP_DigestFinal_ex(h->md, out, &n) != 1)
		return 0;
	return n;
}

/* dkim_bodyhash_bytes - canonicalized length so far */
size_t dkim_bodyhash_bytes(const struct dkim_bodyhash *h)
{
	return h ? h->bytes + h->n : 0;
}

/* dkim_bodyhash_matches - ours encoded, compared without bh='s FWS */
bool dkim_bodyhash_matches(const unsigned char *d, size_t n, const char *bh)
{
	unsigned char enc[4 * ((DKIM_BODY_DIGEST_MAX + 2) / 3) + 1];
	size_t i = 0;

	if (bh == NULL || n == 0 || n > DKIM_BODY_DIGEST_MAX)
		return false;
	EVP_EncodeBlock(enc, d, (int)n);
	for (const char *p = bh; *p; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			continue;
		if (enc[i] == '\0' || (unsigned char)*p != enc[i])
			return false;
		i++;
	}
	return enc[i] == '\0';
}

/* dkim_bodyhash_free - release */
void dkim_bodyhash_free(struct dkim_bodyhash *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->md);
	free(h);
}
