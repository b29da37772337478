/*
 * rep_feed.c - the log stream newest first, filtered (rep_feed.h).
 *
 * Reads pages of XREVRANGE (Redis >= 6.2 for the exclusive "(" bound)
 * over the engine's pool with a deadline of at least 2 s, like the other
 * admin operations, and filters here: the stream has no index, and
 * REP_FEED_SCAN caps how much of it one call reads.  The entries are
 * parsed by rep_xread_parse (rep_admin.c) so that `parapetctl tail` and
 * the dashboard read the fields the same way.  No state: thread-safe as
 * the pool is.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/engine.h"
#include "mail/auth.h"
#include "net/redis.h"
#include "stages/rep/rep.h"
#include "admin/rep_feed.h"
#include "stages/rep/rep_int.h"
#include "base/util.h"

#define FEED_PAGE 500		/* entries per round trip */
#define FEED_MIN_MS 2000.0

enum { F_IP = 2, F_MFROM = 4, F_FROM = 5, F_ACTION = 8, F_SYMBOLS = 9 };

/* set - "" or NULL is no condition */
static bool set(const char *s)
{
	return s != NULL && *s != '\0';
}

/* domain_matches - addr's domain (auth_addr_domain) is want or a
 * subdomain of it (case-insensitive) */
static bool domain_matches(const char *addr, const char *want)
{
	char *d;
	size_t dl, wl = strlen(want);
	bool ok;

	if (addr == NULL || (d = auth_addr_domain(addr)) == NULL)
		return false;
	dl = strlen(d);
	ok = dl >= wl && strcasecmp(d + dl - wl, want) == 0 &&
	     (dl == wl || d[dl - wl - 1] == '.');
	free(d);
	return ok;
}

/* has_symbol - want is one of the comma-separated names in list */
static bool has_symbol(const char *list, const char *want)
{
	size_t wl = strlen(want);

	for (const char *p = list; p && *p;) {
		size_t n = strcspn(p, ",");
		if (n == wl && strncasecmp(p, want, wl) == 0)
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

/* rep_feed_match - see rep_feed.h */
bool rep_feed_match(const struct rep_feed_filter *f, const struct rep_log_entry *le)
{
	const char *ip = le->field[F_IP];

	if (set(f->action) && (le->field[F_ACTION] == NULL ||
			       strcasecmp(le->field[F_ACTION], f->action) != 0))
		return false;
	if (set(f->ip) && (ip == NULL || strncasecmp(ip, f->ip, strlen(f->ip)) != 0))
		return false;
	if (set(f->domain) && !domain_matches(le->field[F_MFROM], f->domain) &&
	    !domain_matches(le->field[F_FROM], f->domain))
		return false;
	if (set(f->symbol) && !has_symbol(le->field[F_SYMBOLS], f->symbol))
		return false;
	return true;
}

struct collect {
	const struct rep_feed_filter *f;
	struct rep_log_entry *out;
	size_t n, max;
};

/* keep - one parsed entry: a copy into the result if it matches */
static bool keep(const struct rep_log_entry *le, void *arg)
{
	struct collect *c = arg;

	if (!rep_feed_match(c->f, le))
		return true;
	struct rep_log_entry *dst = &c->out[c->n++];
	dst->id = xstrdup(le->id);
	for (size_t i = 0; i < sizeof(le->field) / sizeof(le->field[0]); i++)
		dst->field[i] = le->field[i] ? xstrdup(le->field[i]) : NULL;
	return c->n < c->max;
}

/* rep_feed - see rep_feed.h */
int rep_feed(struct engine *e, const struct rep_feed_filter *f, size_t max,
	     struct rep_log_entry **out, size_t *nout, size_t *scanned, char **err)
{
	struct collect c = { f, NULL, 0, max > REP_FEED_MAX ? REP_FEED_MAX : max };
	double t = (double)e->cfg->redis_timeout_ms;
	double deadline = now_ms() + (t > FEED_MIN_MS ? t : FEED_MIN_MS);
	char *key, *end = xstrdup("+"), *last = NULL, page[16];
	size_t seen = 0;
	int rc = 0;

	*out = NULL;
	*nout = 0;
	if (e->redis == NULL) {
		*err = xasprintf("%s: no redis or redis_sentinels configured",
				 e->cfg->path ? e->cfg->path : "(defaults)");
		free(end);
		return -1;
	}
	if (c.max == 0) {
		free(end);
		return 0;
	}
	c.out = xcalloc(c.max, sizeof(*c.out));
	key = xasprintf("%slog", e->cfg->redis_prefix);
	snprintf(page, sizeof(page), "%d", FEED_PAGE);
	while (c.n < c.max && seen < REP_FEED_SCAN) {
		struct redis_batch b;
		struct redis_val *r;
		const char *why;
		bool stop;

		redis_batch_init(&b);
		redis_batch_add(&b, "XREVRANGE", key, end, "-", "COUNT", page, NULL);
		b.size = REDIS_SIZE_ADMIN;	/* FEED_PAGE entries of 22 fields */
		rc = redis_exec(e->redis, &b, deadline, &r, &why, NULL);
		redis_batch_free(&b);
		if (rc < 0) {
			*err = xasprintf("redis %s: %s", redis_pool_describe(e->redis), why);
			break;
		}
		if (r[0].type == REDIS_T_ERR) {
			*err = xasprintf("redis: %s", r[0].str);
			redis_vals_free(r, 1);
			rc = -1;
			break;
		}
		/* XREVRANGE answers [[id, [field, value, ...]], ...]; dressed up
		 * as XREAD's [[stream, entries]] (shallow copies, nothing to
		 * free) it goes through the parser `tail` uses */
		struct redis_val parts[2] = { { .type = REDIS_T_STR, .str = key,
						.len = strlen(key) }, r[0] };
		struct redis_val stream = { .type = REDIS_T_ARRAY, .elem = parts, .n = 2 };
		struct redis_val outer = { .type = REDIS_T_ARRAY, .elem = &stream, .n = 1 };
		size_t got = r[0].type == REDIS_T_ARRAY ? r[0].n : 0;
		free(last);
		last = NULL;
		seen += rep_xread_parse(&outer, keep, &c, &last, &stop);
		redis_vals_free(r, 1);
		if (got < FEED_PAGE || last == NULL || stop)
			break;
		free(end);
		end = xasprintf("(%s", last);	/* exclusive: older than the last one */
	}
	free(last);
	free(end);
	free(key);
	if (rc < 0) {
		rep_feed_free(c.out, c.n);
		return -1;
	}
	if (scanned)
		*scanned = seen;
	*out = c.out;
	*nout = c.n;
	return 0;
}

/* rep_feed_free - see rep_feed.h */
struct rep_log_entry *rep_feed_free(struct rep_log_entry *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		rep_log_entry_clear(&v[i]);
	free(v);
	return NULL;
}
