/*
 * dns.c - the shared asynchronous resolver (libunbound).
 *
 * Owns: a process-wide list of resolvers, one per nameserver list, each a
 * libunbound context in threaded mode.  No thread of ours delivers
 * answers: a thread that waits for one drives the context itself (poll on
 * ub_fd until the deadline, then ub_process).  One waiter at a time per
 * resolver drives (the "driver"); the others sleep on their query's
 * condition, and the driver's ub_process wakes whichever of them it
 * delivered an answer to.  A driver whose own answer is in hands the role
 * to a sleeper whose answer is not.  So an answer read by the thread that
 * waits for it costs no switch to another thread of ours; what remains is
 * libunbound's own worker thread (ub_resolve_async hands it the query
 * through a pipe and it answers through another, also from its cache).
 *
 * A query is shared by the thread that asked and libunbound's callback
 * (run by whichever thread drives) until the answer is delivered or the
 * waiter gives up; whichever drops the last reference frees it.
 *
 * Thread safety: everything here may be called from any thread.  One lock
 * per resolver guards the query states and the driver role; libunbound's
 * own locks are never held while we take ours (its callback runs without
 * them, and ub_process and ub_cancel are called with ours released).
 *
 * Why cancelling is safe: in threaded mode ub_cancel() marks the query
 * cancelled under libunbound's cfglock, and the answer path checks that
 * mark under the same lock before it picks the callback.  So ub_cancel()
 * returning UB_NOERROR means our callback will never run for that query,
 * and UB_NOID means it has run or is running.
 *
 * A message's deadline (struct dns_deadline) may move while a query is
 * waited for: from open to fixed at end of data, or to now when the
 * message is gone.  The deadline keeps the queries waiting on it and
 * wakes them when it moves: a sleeper through its condition, the driver
 * through its resolver's wake eventfd (it sleeps in poll).  Lock order: a
 * deadline's lock, then a resolver's; a waiter never holds its resolver's
 * lock while it takes the deadline's, and reads the deadline's time
 * atomically instead.
 *
 * A broken resolver (ub_process failed: libunbound's pipe to its worker
 * is gone) answers SERVFAIL at once to every query, pending or new, and
 * dns_open builds a fresh one in its place.
 *
 * The answer cache: a query costs two switches between threads even when
 * libunbound answers from its own cache (its worker thread reads the
 * query from a pipe and writes the answer to another).  So each resolver
 * keeps its answers (NOERROR with data, NODATA, NXDOMAIN) for the TTL
 * libunbound gives them, at most DNS_CACHE_TTL_MAX, in DNS_CACHE_SLOTS
 * direct-mapped slots, and dns_start answers from there in the caller's
 * thread.  A SERVFAIL, a timeout or a TTL of 0 is never kept.  A cached
 * answer is shared (reference counted) by the queries that got it.
 *
 * Limits: names are checked (dns_name_ok) before they are sent; answers
 * are copied out of libunbound's result, so callers never see its types.
 */
#include "autoconfig.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/eventfd.h>

#include <unbound.h>

#include "net/dns.h"
#include "base/log.h"
#include "net/metrics.h"
#include "base/util.h"

struct dns {
	struct dns *next;		/* in the process-wide list */
	int refs;			/* under registry_lock */
	char *servers;			/* as configured, "" for system */
	struct ub_ctx *ctx;
	pthread_mutex_t lock;		/* query states, the driver role */
	bool started;			/* libunbound's worker exists */
	atomic_bool broken;		/* ub_process failed: answer SERVFAIL now,
					 * and dns_open builds a fresh resolver */
	struct dns_query *driver;	/* whose waiter polls ub_fd, or NULL */
	struct dns_query *sleepers;	/* waiters on their condition */
	int wake_fd;			/* eventfd: the driver's deadline moved */
	struct cached **cache;		/* DNS_CACHE_SLOTS, under lock; NULL
					 * until the first answer */
};

/* an answer kept for its TTL in front of libunbound */
struct cached {
	int refs;			/* the slot and each query; under d->lock */
	int type;
	double expires;			/* now_ms() clock */
	char *name;			/* as asked */
	struct dns_answer ans;
};

/* a query's place in one of the lists of waiting queries */
struct qlink {
	struct dns_query *prev, *next;
};

struct dns_query {
	struct dns *d;
	pthread_cond_t cond;
	int refs;			/* waiter + pending callback */
	bool done;			/* answer (or timeout) is final */
	bool abandoned;			/* waiter gave up: drop the answer */
	bool sent;			/* libunbound knows it */
	int async_id;
	struct dns_answer ans;
	struct cached *hit;		/* the answer came from the cache */
	/* in its waiter's deadline's list during dns_wait, under that
	 * deadline's lock */
	struct qlink wait;
	/* in its resolver's sleepers while its waiter sleeps, under d->lock */
	struct qlink sleep;
};

struct dns_deadline {
	atomic_int refs;
	_Atomic double at;		/* now_ms() value; INFINITY while open */
	double timeout_ms;
	pthread_mutex_t lock;		/* waiters; before any resolver's lock */
	struct dns_query *waiters;	/* queries in dns_wait on this deadline */
};

#define DNS_CACHE_SLOTS 4096	/* answers kept (direct-mapped: a new one
				 * replaces whatever shares its slot) */
#define DNS_CACHE_TTL_MAX 3600	/* seconds an answer is kept at most */

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dns *registry;

/* ---------------------------------------------------------------- names */

/* dns_name_ok - a name we are willing to put on the wire */
bool dns_name_ok(const char *name)
{
	size_t label = 0, total = 0;

	if (name == NULL || *name == '\0')
		return false;
	for (const char *p = name; *p; p++, total++) {
		unsigned char c = (unsigned char)*p;
		if (c == '.') {
			if (label == 0)
				return false;	/* empty label */
			label = 0;
			continue;
		}
		/* RFC 7208 names carry macros expanded to any 7-bit text, so
		 * allow printable ASCII except space; no 8-bit, no controls */
		if (c <= ' ' || c >= 0x7f)
			return false;
		if (++label > 63)
			return false;
	}
	if (total > 0 && name[total - 1] == '.')
		total--;
	return total <= DNS_NAME_MAX;
}

const char *dns_rc_name(enum dns_rc rc)
{
	switch (rc) {
	case DNS_OK: return "ok";
	case DNS_NODATA: return "nodata";
	case DNS_NXDOMAIN: return "nxdomain";
	case DNS_SERVFAIL: return "servfail";
	case DNS_TIMEOUT: return "timeout";
	case DNS_BADNAME: return "badname";
	}
	return "?";
}

/* dns_txt_join - concatenate one TXT record's strings */
char *dns_txt_join(const unsigned char *rdata, size_t rdlen, size_t *len)
{
	char *out = xmalloc(rdlen + 1);
	size_t o = 0, i = 0;

	while (i < rdlen) {
		size_t n = rdata[i++];
		if (n > rdlen - i) {
			free(out);
			return NULL;
		}
		memcpy(out + o, rdata + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	if (len)
		*len = o;
	return out;
}

/* ---------------------------------------------------------------- resolver */

/* add_server - "HOST[:PORT]" or "[V6]:PORT" or a bare IPv6 address, in
 * libunbound's "ADDR@PORT" form; -1 if not an IP address */
static int add_server(struct ub_ctx *ctx, const char *spec)
{
	char host[128], buf[160];
	const char *port = NULL;
	unsigned char sa[sizeof(struct in6_addr)];
	size_t n;

	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');
		if (end == NULL || (size_t)(end - spec - 1) >= sizeof(host))
			return -1;
		n = (size_t)(end - spec - 1);
		memcpy(host, spec + 1, n);
		host[n] = '\0';
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return -1;
	} else {
		const char *colon = strchr(spec, ':');
		if (colon && strchr(colon + 1, ':') == NULL) {
			n = (size_t)(colon - spec);
			port = colon + 1;
		} else {
			n = strlen(spec);	/* no port, or bare IPv6 */
		}
		if (n >= sizeof(host))
			return -1;
		memcpy(host, spec, n);
		host[n] = '\0';
	}
	if (inet_pton(AF_INET, host, sa) != 1 && inet_pton(AF_INET6, host, sa) != 1)
		return -1;
	if (port)
		snprintf(buf, sizeof(buf), "%s@%s", host, port);
	else
		snprintf(buf, sizeof(buf), "%s", host);
	return ub_ctx_set_fwd(ctx, buf) == 0 ? 0 : -1;
}

/* set_opt - one unbound.conf option; failures are our bug */
static void set_opt(struct ub_ctx *ctx, const char *opt, const char *val)
{
	int r = ub_ctx_set_option(ctx, opt, val);
	if (r != 0)
		log_warn("dns: unbound option %s %s: %s", opt, val,
			    ub_strerror(r));
}

/* resolver_new - a libunbound context for servers ("" = system) */
static struct dns *resolver_new(const char *servers, char **errstr)
{
	struct dns *d = xcalloc(1, sizeof(*d));

	d->servers = xstrdup(servers);
	d->ctx = ub_ctx_create();
	if (d->ctx == NULL)
		log_fatal("dns: cannot create a libunbound context");
	/* a thread, not a forked process, answers: parapet daemonizes and
	 * drops privileges, and a thread shares the cache with no pipe to
	 * a child */
	ub_ctx_async(d->ctx, 1);
	/* forwarders on loopback (a local resolver, the tests' server) */
	set_opt(d->ctx, "do-not-query-localhost:", "no");
	/* one name that never answers must not make unbound treat the
	 * whole server as down for minutes (SPEC §7: timeouts are per
	 * check, other checks go on) */
	set_opt(d->ctx, "infra-keep-probing:", "yes");
	set_opt(d->ctx, "infra-cache-max-rtt:", "2000");
	if (*servers) {
		/* forwarders answer everything: unbound's built-in local zones
		 * (RFC 6761 "test.", the RFC 3849/5737 documentation networks'
		 * reverse zones) would otherwise answer NXDOMAIN without asking
		 * them, and the test zones use exactly those names */
		static const char *const own[] = {
			"test.", "8.b.d.0.1.0.0.2.ip6.arpa.", "2.0.192.in-addr.arpa.",
			"100.51.198.in-addr.arpa.", "113.0.203.in-addr.arpa.",
		};
		char *list = xstrdup(servers), *save = NULL;
		for (char *s = strtok_r(list, ", \t", &save); s;
		     s = strtok_r(NULL, ", \t", &save)) {
			if (add_server(d->ctx, s) < 0) {
				*errstr = xasprintf("dns_nameservers: '%s' is not an "
						    "IP address with an optional port", s);
				free(list);
				ub_ctx_delete(d->ctx);
				free(d->servers);
				free(d);
				return NULL;
			}
		}
		free(list);
		/* after the forwarders: adding a zone finalizes the context */
		for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
			if (ub_ctx_zone_add(d->ctx, own[i], "transparent") != 0)
				log_warn("dns: cannot open local zone %s", own[i]);
	} else {
		int r = ub_ctx_resolvconf(d->ctx, NULL);
		if (r != 0)
			log_warn("dns: /etc/resolv.conf: %s; using 127.0.0.1",
				    ub_strerror(r));
		ub_ctx_hosts(d->ctx, NULL);
	}
	pthread_mutex_init(&d->lock, NULL);
	d->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->wake_fd < 0)
		log_fatal("dns: eventfd: %s", strerror(errno));
	return d;
}

static void cached_unref(struct cached *c);

/* resolver_free - the last reference is gone: no query of d is waited
 * for any more */
static void resolver_free(struct dns *d)
{
	for (size_t i = 0; d->cache && i < DNS_CACHE_SLOTS; i++)
		cached_unref(d->cache[i]);
	free(d->cache);
	ub_ctx_delete(d->ctx);
	close(d->wake_fd);
	pthread_mutex_destroy(&d->lock);
	free(d->servers);
	free(d);
}

/* dns_open - the shared resolver for a server list */
struct dns *dns_open(const char *nameservers, char **errstr)
{
	const char *key = nameservers ? nameservers : "";
	struct dns *d;

	*errstr = NULL;
	pthread_mutex_lock(&registry_lock);
	for (d = registry; d; d = d->next) {
		if (strcmp(d->servers, key) == 0 && !atomic_load(&d->broken)) {
			d->refs++;
			pthread_mutex_unlock(&registry_lock);
			return d;
		}
	}
	d = resolver_new(key, errstr);
	if (d) {
		d->refs = 1;
		d->next = registry;
		registry = d;
	}
	pthread_mutex_unlock(&registry_lock);
	return d;
}

/* dns_close - drop a reference */
struct dns *dns_close(struct dns *d)
{
	bool last = false;

	if (d == NULL)
		return NULL;
	pthread_mutex_lock(&registry_lock);
	if (--d->refs == 0) {
		for (struct dns **pp = &registry; *pp; pp = &(*pp)->next) {
			if (*pp == d) {
				*pp = d->next;
				break;
			}
		}
		last = true;
	}
	pthread_mutex_unlock(&registry_lock);
	if (last)
		resolver_free(d);
	return NULL;
}

/* ---------------------------------------------------------------- lists */

/* qlist_add - q at the head of the list *head, linked through its wait
 * or sleep link; the caller holds the list's lock */
static void qlist_add(struct dns_query **head, struct dns_query *q, bool sleep)
{
	struct qlink *l = sleep ? &q->sleep : &q->wait;

	l->prev = NULL;
	l->next = *head;
	if (*head)
		(sleep ? &(*head)->sleep : &(*head)->wait)->prev = q;
	*head = q;
}

/* qlist_del - q out of the list *head; the caller holds its lock */
static void qlist_del(struct dns_query **head, struct dns_query *q, bool sleep)
{
	struct qlink *l = sleep ? &q->sleep : &q->wait;

	if (l->prev)
		(sleep ? &l->prev->sleep : &l->prev->wait)->next = l->next;
	else
		*head = l->next;
	if (l->next)
		(sleep ? &l->next->sleep : &l->next->wait)->prev = l->prev;
	l->prev = l->next = NULL;
}

/* ---------------------------------------------------------------- queries */

static void answer_clear(struct dns_answer *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->data[i]);
	free(a->data);
	free(a->len);
	free(a->packet);
	free(a->canonname);
	memset(a, 0, sizeof(*a));
}

/* answer_fill - copy what parapet needs out of libunbound's result */
static void answer_fill(struct dns_answer *a, int err, struct ub_result *r)
{
	if (err != 0 || r == NULL) {
		metrics_inc(METRIC_DNS_ERRORS);
		a->rc = DNS_SERVFAIL;
		a->rcode = 2;
		return;
	}
	a->rcode = r->rcode;
	if (r->havedata) {
		size_t n = 0;
		while (r->data[n])
			n++;
		a->rc = DNS_OK;
		a->n = n;
		a->data = xcalloc(n, sizeof(*a->data));
		a->len = xcalloc(n, sizeof(*a->len));
		for (size_t i = 0; i < n; i++) {
			a->len[i] = (size_t)r->len[i];
			a->data[i] = xmalloc(a->len[i] + 1);
			memcpy(a->data[i], r->data[i], a->len[i]);
			a->data[i][a->len[i]] = 0;
		}
	} else if (r->nxdomain || r->rcode == 3) {
		a->rc = DNS_NXDOMAIN;
	} else if (r->rcode == 0) {
		a->rc = DNS_NODATA;
	} else {
		a->rc = DNS_SERVFAIL;
	}
	if (a->rc == DNS_SERVFAIL)
		metrics_inc(METRIC_DNS_ERRORS);
	if (r->answer_packet && r->answer_len > 0) {
		a->packet_len = (size_t)r->answer_len;
		a->packet = xmalloc(a->packet_len);
		memcpy(a->packet, r->answer_packet, a->packet_len);
	}
	if (r->canonname && r->qname && strcmp(r->canonname, r->qname) != 0)
		a->canonname = xstrdup(r->canonname);
}

/* answer_copy - a deep copy of src */
static void answer_copy(struct dns_answer *dst, const struct dns_answer *src)
{
	*dst = *src;
	if (src->n) {
		dst->data = xcalloc(src->n, sizeof(*dst->data));
		dst->len = xcalloc(src->n, sizeof(*dst->len));
		for (size_t i = 0; i < src->n; i++) {
			dst->len[i] = src->len[i];
			dst->data[i] = xmalloc(src->len[i] + 1);
			memcpy(dst->data[i], src->data[i], src->len[i] + 1);
		}
	}
	if (src->packet) {
		dst->packet = xmalloc(src->packet_len);
		memcpy(dst->packet, src->packet, src->packet_len);
	}
	dst->canonname = src->canonname ? xstrdup(src->canonname) : NULL;
}

/* ---------------------------------------------------------------- cache */

/* cache_slot - where (name, type) is kept */
static size_t cache_slot(const char *name, int type)
{
	return (str_hash(name, strlen(name), true) ^ (uint32_t)type * 0x9e3779b1u) &
	       (DNS_CACHE_SLOTS - 1);
}

/* cached_unref - drop one reference (NULL is fine); caller holds d->lock
 * (or is resolver_free) */
static void cached_unref(struct cached *c)
{
	if (c == NULL || --c->refs > 0)
		return;
	answer_clear(&c->ans);
	free(c->name);
	free(c);
}

/* cache_get - the kept answer to (name, type) with a reference for the
 * caller, or NULL; caller holds d->lock */
static struct cached *cache_get(struct dns *d, const char *name, int type)
{
	struct cached *c;

	if (d->cache == NULL)
		return NULL;
	c = d->cache[cache_slot(name, type)];
	if (c == NULL || c->type != type || strcasecmp(c->name, name) != 0 ||
	    now_ms() >= c->expires)
		return NULL;
	c->refs++;
	return c;
}

/* cache_put - keep a copy of a for ttl seconds; caller holds d->lock */
static void cache_put(struct dns *d, const char *name, int type, int ttl,
		      const struct dns_answer *a)
{
	struct cached *c;
	size_t slot;

	if (ttl <= 0 || name == NULL ||
	    (a->rc != DNS_OK && a->rc != DNS_NODATA && a->rc != DNS_NXDOMAIN))
		return;
	if (d->cache == NULL)
		d->cache = xcalloc(DNS_CACHE_SLOTS, sizeof(*d->cache));
	c = xcalloc(1, sizeof(*c));
	c->refs = 1;
	c->type = type;
	c->expires = now_ms() + 1000.0 * (ttl < DNS_CACHE_TTL_MAX ? ttl : DNS_CACHE_TTL_MAX);
	c->name = xstrdup(name);
	answer_copy(&c->ans, a);
	slot = cache_slot(name, type);
	cached_unref(d->cache[slot]);
	d->cache[slot] = c;
}

/* query_unref - drop one reference; caller holds d->lock */
static bool query_unref(struct dns_query *q)
{
	if (--q->refs > 0)
		return false;
	cached_unref(q->hit);
	answer_clear(&q->ans);
	pthread_cond_destroy(&q->cond);
	free(q);
	return true;
}

/* on_answer - libunbound's callback, in whichever thread drives */
static void on_answer(void *arg, int err, struct ub_result *r)
{
	struct dns_query *q = arg;
	struct dns *d = q->d;

	pthread_mutex_lock(&d->lock);
	if (!q->abandoned) {
		answer_fill(&q->ans, err, r);
		q->done = true;
		pthread_cond_broadcast(&q->cond);
		if (err == 0 && r)
			cache_put(d, r->qname, r->qtype, r->ttl, &q->ans);
	}
	query_unref(q);
	pthread_mutex_unlock(&d->lock);
	ub_resolve_free(r);
}

/* send_query - ub_resolve_async; the first one starts libunbound's
 * worker thread, which gets no signal (they belong to the threads that
 * wait for them) */
static int send_query(struct dns *d, const char *name, int rrtype, struct dns_query *q)
{
	int r;

	pthread_mutex_lock(&d->lock);
	if (!d->started) {
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		/* ours before libunbound's locks is the safe order: none of
		 * libunbound's paths takes ours while holding its own */
		r = ub_resolve_async(d->ctx, name, rrtype, 1 /* IN */, q, on_answer,
				     &q->async_id);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		d->started = r == 0;
		pthread_mutex_unlock(&d->lock);
		return r;
	}
	pthread_mutex_unlock(&d->lock);
	return ub_resolve_async(d->ctx, name, rrtype, 1 /* IN */, q, on_answer,
				&q->async_id);
}

/* dns_start - send a query */
struct dns_query *dns_start(struct dns *d, const char *name, int rrtype)
{
	struct dns_query *q = xcalloc(1, sizeof(*q));
	pthread_condattr_t ca;
	int r;

	q->d = d;
	q->refs = 1;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (!dns_name_ok(name)) {
		q->ans.rc = DNS_BADNAME;
		q->done = true;
		return q;
	}
	if (atomic_load(&d->broken)) {
		q->ans.rc = DNS_SERVFAIL;
		q->done = true;
		metrics_inc(METRIC_DNS_ERRORS);
		return q;
	}
	pthread_mutex_lock(&d->lock);
	q->hit = cache_get(d, name, rrtype);
	pthread_mutex_unlock(&d->lock);
	if (q->hit) {
		q->done = true;
		return q;
	}
	q->refs = 2;		/* the callback's reference */
	r = send_query(d, name, rrtype, q);
	if (r != 0) {
		log_warn("dns: query %s/%d: %s", name, rrtype, ub_strerror(r));
		q->refs = 1;
		q->ans.rc = DNS_SERVFAIL;
		q->done = true;
		return q;
	}
	q->sent = true;
	return q;
}

/* give_up - no answer will be used: the final one is rc (DNS_TIMEOUT
 * past the deadline, DNS_SERVFAIL when the resolver broke); caller holds
 * d->lock and the answer is not in */
static void give_up(struct dns_query *q, enum dns_rc rc)
{
	struct dns *d = q->d;
	int r;

	q->abandoned = true;
	q->done = true;
	q->ans.rc = rc;
	metrics_inc(rc == DNS_TIMEOUT ? METRIC_DNS_TIMEOUTS : METRIC_DNS_ERRORS);
	pthread_mutex_unlock(&d->lock);
	r = ub_cancel(d->ctx, q->async_id);
	pthread_mutex_lock(&d->lock);
	if (r == 0)
		query_unref(q);	/* the callback will never run */
	/* else the callback ran or is running and drops its own reference */
}

/* ---------------------------------------------------------------- driving */

/* wake_sleepers - every sleeping waiter of d looks at its query again;
 * caller holds d->lock */
static void wake_sleepers(struct dns *d)
{
	for (struct dns_query *s = d->sleepers; s; s = s->sleep.next)
		pthread_cond_broadcast(&s->cond);
}

/* hand_over - nobody drives: wake one sleeper still waiting for its
 * answer, which takes the role; caller holds d->lock */
static void hand_over(struct dns *d)
{
	if (d->driver != NULL)
		return;
	for (struct dns_query *s = d->sleepers; s; s = s->sleep.next) {
		if (!s->done) {
			pthread_cond_signal(&s->cond);
			return;
		}
	}
}

/* drive - the caller is d's driver (d->lock not held): wait up to left_ms
 * (INFINITY: until something happens) for answers or a wake-up, and
 * deliver every answer that came (on_answer, in this thread) */
static void drive(struct dns *d, double left_ms)
{
	struct pollfd pfd[2] = {
		{ .fd = ub_fd(d->ctx), .events = POLLIN },
		{ .fd = d->wake_fd, .events = POLLIN },
	};
	int ms = isinf(left_ms) ? -1 : left_ms >= 1e9 ? 1000000000 : (int)ceil(left_ms);
	int r;

	if (poll(pfd, 2, ms) < 0) {
		if (errno == EINTR)
			return;
		log_error("dns: poll: %s; resolver %s abandoned, a reload starts "
			  "a new one", strerror(errno), *d->servers ? d->servers : "(system)");
		r = 0;
		goto broken;
	}
	if (pfd[1].revents) {
		uint64_t v;
		(void)!read(d->wake_fd, &v, sizeof(v));
	}
	if (pfd[0].revents == 0)
		return;
	r = ub_process(d->ctx);
	if (r == 0)
		return;
	/* libunbound's pipe to its worker failed: no answer will come; say
	 * so at once instead of letting every query wait for its deadline */
	log_error("dns: ub_process: %s; resolver %s abandoned, a reload starts "
		  "a new one", ub_strerror(r), *d->servers ? d->servers : "(system)");
broken:
	atomic_store(&d->broken, true);
	pthread_mutex_lock(&d->lock);
	wake_sleepers(d);
	pthread_mutex_unlock(&d->lock);
}

/* dns_done - is the answer in?  Delivers what has arrived, without
 * blocking, when no other thread drives */
bool dns_done(struct dns_query *q)
{
	struct dns *d = q->d;
	bool done;

	pthread_mutex_lock(&d->lock);
	if (!q->done && d->driver == NULL && !atomic_load(&d->broken)) {
		d->driver = q;
		pthread_mutex_unlock(&d->lock);
		drive(d, 0);
		pthread_mutex_lock(&d->lock);
		d->driver = NULL;
		hand_over(d);
	}
	done = q->done;
	pthread_mutex_unlock(&d->lock);
	return done;
}

/* dns_ready - is the answer in?  Delivers nothing */
bool dns_ready(struct dns_query *q)
{
	bool done;

	pthread_mutex_lock(&q->d->lock);
	done = q->done;
	pthread_mutex_unlock(&q->d->lock);
	return done;
}

/* ---------------------------------------------------------------- deadline */

/* dns_deadline_new - open until dns_deadline_fix */
struct dns_deadline *dns_deadline_new(double timeout_ms)
{
	struct dns_deadline *dl = xcalloc(1, sizeof(*dl));

	atomic_init(&dl->refs, 1);
	atomic_init(&dl->at, INFINITY);
	dl->timeout_ms = timeout_ms;
	pthread_mutex_init(&dl->lock, NULL);
	return dl;
}

/* dns_deadline_ref - one more holder */
struct dns_deadline *dns_deadline_ref(struct dns_deadline *dl)
{
	atomic_fetch_add(&dl->refs, 1);
	return dl;
}

/* dns_deadline_unref - the last holder frees it (no waiter is left then:
 * a waiter's holder outlives its dns_wait) */
struct dns_deadline *dns_deadline_unref(struct dns_deadline *dl)
{
	if (dl && atomic_fetch_sub(&dl->refs, 1) == 1) {
		pthread_mutex_destroy(&dl->lock);
		free(dl);
	}
	return NULL;
}

/* deadline_move - set the time to at (only_if_open: if still open; else
 * if at is earlier) and wake every query waiting on the deadline so that
 * it sees the new time */
static void deadline_move(struct dns_deadline *dl, double at, bool only_if_open)
{
	pthread_mutex_lock(&dl->lock);
	double old = atomic_load(&dl->at);
	if (only_if_open ? isinf(old) : at < old) {
		atomic_store(&dl->at, at);
		/* a waiter that read the old time holds its resolver's lock
		 * until it sleeps on its condition or has made itself the
		 * driver, so the wake-up below cannot fall between its read
		 * and its sleep; the driver sleeps in poll, on wake_fd */
		for (struct dns_query *q = dl->waiters; q; q = q->wait.next) {
			pthread_mutex_lock(&q->d->lock);
			if (q->d->driver == q) {
				uint64_t one = 1;
				(void)!write(q->d->wake_fd, &one, sizeof(one));
			} else {
				pthread_cond_broadcast(&q->cond);
			}
			pthread_mutex_unlock(&q->d->lock);
		}
	}
	pthread_mutex_unlock(&dl->lock);
}

/* dns_deadline_fix - end of data: timeout_ms from now, once */
void dns_deadline_fix(struct dns_deadline *dl)
{
	deadline_move(dl, now_ms() + dl->timeout_ms, true);
}

/* dns_deadline_expire - the message is gone: every wait ends now */
void dns_deadline_expire(struct dns_deadline *dl)
{
	deadline_move(dl, now_ms(), false);
}

/* dns_deadline_at - the time, INFINITY while open */
double dns_deadline_at(const struct dns_deadline *dl)
{
	return atomic_load(&((struct dns_deadline *)dl)->at);
}

/* dns_deadline_passed - fixed (or expired) and past */
bool dns_deadline_passed(const struct dns_deadline *dl)
{
	return now_ms() >= dns_deadline_at(dl);
}

/* watch - q waits on dl from now on: dl's moves wake it */
static void watch(struct dns_deadline *dl, struct dns_query *q)
{
	pthread_mutex_lock(&dl->lock);
	qlist_add(&dl->waiters, q, false);
	pthread_mutex_unlock(&dl->lock);
}

/* unwatch - q no longer waits on dl */
static void unwatch(struct dns_deadline *dl, struct dns_query *q)
{
	pthread_mutex_lock(&dl->lock);
	qlist_del(&dl->waiters, q, false);
	pthread_mutex_unlock(&dl->lock);
}

/* ---------------------------------------------------------------- waiting */

/* dns_wait - the answer, by the message's deadline at the latest: the
 * caller drives the resolver itself when no other thread does */
const struct dns_answer *dns_wait(struct dns_query *q, struct dns_deadline *dl)
{
	struct dns *d = q->d;

	if (q->hit)
		return &q->hit->ans;	/* final since dns_start */
	bool last_look = false;	/* answers already in the pipe read once
				 * past the deadline */

	watch(dl, q);
	pthread_mutex_lock(&d->lock);
	while (!q->done) {
		double at = dns_deadline_at(dl);
		double left = at - now_ms();
		if (atomic_load(&d->broken)) {
			give_up(q, DNS_SERVFAIL);
			break;
		}
		if (left <= 0 && (last_look || d->driver != NULL)) {
			give_up(q, DNS_TIMEOUT);
			break;
		}
		if (left <= 0) {
			/* nobody reads libunbound's pipe unless somebody
			 * drives: an answer that came before the deadline
			 * may still be in it */
			last_look = true;
			left = 0;
		}
		if (d->driver == NULL) {
			/* a deadline move from now on writes wake_fd */
			d->driver = q;
			pthread_mutex_unlock(&d->lock);
			drive(d, isinf(at) ? INFINITY : left);
			pthread_mutex_lock(&d->lock);
			d->driver = NULL;
			continue;
		}
		/* another waiter drives: its ub_process wakes us with our
		 * answer, its leaving hands us the role, a deadline move
		 * wakes us to look at the time */
		qlist_add(&d->sleepers, q, true);
		if (isinf(at)) {
			pthread_cond_wait(&q->cond, &d->lock);
		} else {
			struct timespec ts = deadline_timespec(left);
			pthread_cond_timedwait(&q->cond, &d->lock, &ts);
		}
		qlist_del(&d->sleepers, q, true);
	}
	hand_over(d);
	pthread_mutex_unlock(&d->lock);
	unwatch(dl, q);
	return &q->ans;
}

/* dns_query_free - release, cancelling a pending query */
struct dns_query *dns_query_free(struct dns_query *q)
{
	struct dns *d;

	if (q == NULL)
		return NULL;
	d = q->d;
	pthread_mutex_lock(&d->lock);
	if (!q->done)
		give_up(q, DNS_TIMEOUT);
	query_unref(q);
	pthread_mutex_unlock(&d->lock);
	return NULL;
}
