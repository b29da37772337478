/*
 * redis.c - connections to Redis: the pool, connection set-up (AUTH,
 * SELECT, ROLE), Sentinel master discovery, and one deadline-bounded round
 * trip.  The only file that includes hiredis (0.14 on Debian 12: blocking
 * contexts, no redisConnectWithOptions, no RESP3).
 *
 * Why the I/O is driven here with poll() and not by redisGetReply: a
 * blocking hiredis context waits SO_RCVTIMEO per read(2), so a reply that
 * dribbles in could hold a message for a multiple of redis_timeout_ms.
 * Here every wait is for what is left until the message's deadline (SPEC
 * §7: no message waits longer than redis_timeout_ms).
 *
 * Failure handling: a connection that saw an I/O error, a timeout, a
 * protocol error or a READONLY/LOADING/MASTERDOWN reply is closed.  An
 * I/O error or READONLY also bumps the pool's epoch, which retires every
 * idle connection made before it (after a restart or a failover they are
 * all stale).  A failed connect starts a backoff (100 ms doubling to
 * 1 s) during which messages do not wait for Redis at all; while Redis is
 * away a warning is logged at most once a minute, and its return once.
 *
 * Sentinel: with redis_sentinels every (re)connect asks the sentinels, in
 * order, starting with the last one that answered, for the master's
 * address (SENTINEL get-master-addr-by-name), then checks ROLE on the
 * connection, so a demoted master is never written to.  A failover shows
 * up as an I/O error or a READONLY reply, which forces a reconnect and so
 * a fresh question to the sentinels.  Sentinels are asked without AUTH.
 */
#include "autoconfig.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "net/metrics.h"
#include "net/redis.h"
#include "base/util.h"

#define BACKOFF_MIN_MS 100.0
#define BACKOFF_MAX_MS 1000.0
#define WARN_EVERY_S 60
#define SENTINEL_PORT 26379
#define MAX_SENTINELS 16

struct endpoint {
	char *host;		/* NULL for a unix socket */
	int port;
	char *path;		/* unix socket */
};

struct conn {
	redisContext *c;
	unsigned epoch;
};

struct redis_pool {
	/* settings, fixed at creation */
	char *key;		/* what pools are shared by */
	char *describe;
	struct endpoint server;	/* without sentinels */
	struct endpoint sentinels[MAX_SENTINELS];
	size_t nsentinels;
	char *master_name;
	char *password;
	long db;
	long timeout_ms;
	int refs;		/* under registry_lock */
	struct redis_pool *next;	/* registry */

	pthread_mutex_t lock;	/* everything below */
	pthread_cond_t cond;
	struct conn *idle[REDIS_POOL_MAX];
	size_t nidle;
	size_t total;		/* idle + in use + being connected */
	unsigned epoch;
	bool down;		/* last attempt failed */
	bool probing;		/* a connect is in progress while down */
	double retry_at;	/* now_ms() before which nobody connects */
	double backoff_ms;
	unsigned long failures;	/* since the last success */
	time_t last_warn;
	size_t last_sentinel;	/* the one that answered last */
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct redis_pool *registry;

/* ---------------------------------------------------------------- settings */

/* endpoint_parse - "HOST:PORT", "[V6]:PORT", "HOST" (default port) or unix:PATH */
static int endpoint_parse(const char *s, int default_port, struct endpoint *ep)
{
	const char *colon;
	char *end;

	memset(ep, 0, sizeof(*ep));
	if (strncmp(s, "unix:", 5) == 0) {
		ep->path = xstrdup(s + 5);
		return 0;
	}
	if (*s == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL)
			return -1;
		ep->host = xstrndup(s + 1, (size_t)(close - s - 1));
		colon = close[1] == ':' ? close + 1 : NULL;
	} else {
		colon = strrchr(s, ':');
		if (colon && strchr(s, ':') != colon)
			colon = NULL;	/* a bare IPv6 address */
		ep->host = colon ? xstrndup(s, (size_t)(colon - s)) : xstrdup(s);
	}
	ep->port = default_port;
	if (colon) {
		long port = strtol(colon + 1, &end, 10);
		if (*end != '\0' || port < 1 || port > 65535)
			return -1;
		ep->port = (int)port;
	}
	return 0;
}

/* endpoint_clear - release an endpoint's strings */
static void endpoint_clear(struct endpoint *ep)
{
	free(ep->host);
	free(ep->path);
	memset(ep, 0, sizeof(*ep));
}

/* settings_key - the settings a pool is shared by */
static char *settings_key(const struct config *cfg)
{
	return xasprintf("%s|%s|%s|%s|%ld|%ld", cfg->redis ? cfg->redis : "",
			 cfg->redis_sentinels ? cfg->redis_sentinels : "",
			 cfg->redis_master_name ? cfg->redis_master_name : "",
			 cfg->redis_password ? cfg->redis_password : "", cfg->redis_db,
			 cfg->redis_timeout_ms);
}

/* pool_free - release a pool nobody references */
static void pool_free(struct redis_pool *p)
{
	for (size_t i = 0; i < p->nidle; i++) {
		redisFree(p->idle[i]->c);
		free(p->idle[i]);
	}
	endpoint_clear(&p->server);
	for (size_t i = 0; i < p->nsentinels; i++)
		endpoint_clear(&p->sentinels[i]);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p->key);
	free(p->describe);
	free(p->master_name);
	free(p->password);
	free(p);
}

/* pool_new - a pool for cfg (config.c validated the syntax) */
static struct redis_pool *pool_new(const struct config *cfg, char *key)
{
	struct redis_pool *p = xcalloc(1, sizeof(*p));

	p->key = key;
	p->refs = 1;
	p->db = cfg->redis_db;
	p->timeout_ms = cfg->redis_timeout_ms;
	p->password = cfg->redis_password ? xstrdup(cfg->redis_password) : NULL;
	p->backoff_ms = BACKOFF_MIN_MS;
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_t ca;	/* deadlines are monotonic: immune to clock steps */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (cfg->redis_sentinels) {
		char *copy = xstrdup(cfg->redis_sentinels), *save = NULL;
		for (char *t = strtok_r(copy, ", \t", &save); t && p->nsentinels < MAX_SENTINELS;
		     t = strtok_r(NULL, ", \t", &save)) {
			if (endpoint_parse(t, SENTINEL_PORT, &p->sentinels[p->nsentinels]) == 0)
				p->nsentinels++;
			else
				endpoint_clear(&p->sentinels[p->nsentinels]);
		}
		free(copy);
		p->master_name = xstrdup(cfg->redis_master_name ? cfg->redis_master_name : "mymaster");
		p->describe = xasprintf("sentinel master %s", p->master_name);
	} else {
		if (endpoint_parse(cfg->redis, 6379, &p->server) < 0) {
			log_error("redis: cannot parse '%s'", cfg->redis);
			pool_free(p);
			return NULL;
		}
		p->describe = xstrdup(cfg->redis);
	}
	return p;
}

/* redis_pool_get - shared pool for these settings */
struct redis_pool *redis_pool_get(const struct config *cfg)
{
	struct redis_pool *p;
	char *key;

	if (cfg->redis == NULL && cfg->redis_sentinels == NULL)
		return NULL;
	key = settings_key(cfg);
	pthread_mutex_lock(&registry_lock);
	for (p = registry; p; p = p->next)
		if (strcmp(p->key, key) == 0)
			break;
	if (p) {
		p->refs++;
		free(key);
	} else if ((p = pool_new(cfg, key)) != NULL) {
		p->next = registry;
		registry = p;
	}
	pthread_mutex_unlock(&registry_lock);
	return p;
}

/* redis_pool_put - one engine fewer; the last one closes the connections */
struct redis_pool *redis_pool_put(struct redis_pool *p)
{
	if (p == NULL)
		return NULL;
	pthread_mutex_lock(&registry_lock);
	if (--p->refs == 0) {
		for (struct redis_pool **pp = &registry; *pp; pp = &(*pp)->next)
			if (*pp == p) {
				*pp = p->next;
				break;
			}
	} else {
		p = NULL;
	}
	pthread_mutex_unlock(&registry_lock);
	if (p)
		pool_free(p);
	return NULL;
}

/* redis_pool_describe - for log lines */
const char *redis_pool_describe(const struct redis_pool *p)
{
	return p->describe;
}

/* redis_pool_warn - rate-limited warning (SPEC §7: one a minute at most) */
void redis_pool_warn(struct redis_pool *p, const char *fmt, ...)
{
	time_t now = time(NULL);
	bool say;
	char msg[512];
	va_list ap;

	pthread_mutex_lock(&p->lock);
	say = p->last_warn == 0 || now - p->last_warn >= WARN_EVERY_S;
	if (say)
		p->last_warn = now;
	pthread_mutex_unlock(&p->lock);
	if (!say)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn("redis %s: %s (further warnings suppressed for %d s)", p->describe, msg,
		 WARN_EVERY_S);
}

/* ---------------------------------------------------------------- batches */

/* redis_batch_init - empty batch */
void redis_batch_init(struct redis_batch *b)
{
	buf_init(&b->out);
	b->ncmds = 0;
	b->size = REDIS_SIZE_MESSAGE;
}

/* redis_batch_free - release */
void redis_batch_free(struct redis_batch *b)
{
	buf_free(&b->out);
	b->ncmds = 0;
}

/* redis_batch_argv - RESP: *N then $LEN/bytes per argument */
void redis_batch_argv(struct redis_batch *b, size_t argc, const char *const *argv,
		      const size_t *lens)
{
	if (lens) {
		/* the whole command's room at once: the Bayes read's 8 KB
		 * argument grew the buffer by 8 reallocs and copies */
		size_t room = 3 + 20;	/* "*", 20 digits (a size_t's most), CRLF */
		for (size_t i = 0; i < argc; i++)
			room += lens[i] + 5 + 20;
		buf_reserve(&b->out, room);
	}
	buf_putc(&b->out, '*');
	buf_put_uint(&b->out, argc);
	buf_append(&b->out, "\r\n", 2);
	for (size_t i = 0; i < argc; i++) {
		size_t n = lens ? lens[i] : strlen(argv[i]);
		buf_putc(&b->out, '$');
		buf_put_uint(&b->out, n);
		buf_append(&b->out, "\r\n", 2);
		buf_append(&b->out, argv[i], n);
		buf_append(&b->out, "\r\n", 2);
	}
	b->ncmds++;
}

/* redis_batch_add - variadic form */
void redis_batch_add(struct redis_batch *b, const char *arg, ...)
{
	const char *argv[64];
	size_t argc = 0;
	va_list ap;

	va_start(ap, arg);
	for (const char *a = arg; a && argc < 64; a = va_arg(ap, const char *))
		argv[argc++] = a;
	va_end(ap);
	redis_batch_argv(b, argc, argv, NULL);
}

/* ---------------------------------------------------------------- values */

/* val_copy - our copy of a hiredis reply, nesting capped */
static void val_copy(struct redis_val *out, const redisReply *r, int depth)
{
	memset(out, 0, sizeof(*out));
	switch (r->type) {
	case REDIS_REPLY_INTEGER:
		out->type = REDIS_T_INT;
		out->integer = r->integer;
		return;
	case REDIS_REPLY_STRING:
	case REDIS_REPLY_STATUS:
	case REDIS_REPLY_ERROR:
		out->type = r->type == REDIS_REPLY_STRING ? REDIS_T_STR
			  : r->type == REDIS_REPLY_STATUS ? REDIS_T_STATUS : REDIS_T_ERR;
		out->len = r->str ? (size_t)r->len : 0;
		out->str = xmalloc(out->len + 1);
		if (out->len)
			memcpy(out->str, r->str, out->len);
		out->str[out->len] = '\0';
		return;
	case REDIS_REPLY_ARRAY:
		if (depth >= REDIS_VAL_DEPTH) {
			out->type = REDIS_T_ERR;
			out->str = xstrdup("ERR reply nested too deeply");
			out->len = strlen(out->str);
			return;
		}
		out->type = REDIS_T_ARRAY;
		out->n = r->elements;
		out->elem = xcalloc(r->elements ? r->elements : 1, sizeof(*out->elem));
		for (size_t i = 0; i < r->elements; i++)
			val_copy(&out->elem[i], r->element[i], depth + 1);
		return;
	default:
		out->type = REDIS_T_NIL;
		return;
	}
}

/* val_clear - release what one value owns */
static void val_clear(struct redis_val *v)
{
	for (size_t i = 0; i < v->n; i++)
		val_clear(&v->elem[i]);
	free(v->elem);
	free(v->str);
	memset(v, 0, sizeof(*v));
}

/* redis_vals_free - release an array of values */
struct redis_val *redis_vals_free(struct redis_val *v, size_t n)
{
	if (v == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		val_clear(&v[i]);
	free(v);
	return NULL;
}

/* redis_val_is - string-ish value equal to s */
bool redis_val_is(const struct redis_val *v, const char *s)
{
	return v && (v->type == REDIS_T_STR || v->type == REDIS_T_STATUS ||
		     v->type == REDIS_T_ERR) &&
	       v->len == strlen(s) && strcasecmp(v->str, s) == 0;
}

/* redis_val_number - a finite number from an integer or a numeric string */
bool redis_val_number(const struct redis_val *v, double *out)
{
	char *end;

	if (v == NULL)
		return false;
	if (v->type == REDIS_T_INT) {
		*out = (double)v->integer;
		return true;
	}
	if (v->type != REDIS_T_STR || v->len == 0 || v->len > 64 || strlen(v->str) != v->len)
		return false;
	errno = 0;
	double d = strtod(v->str, &end);
	if (errno || *end != '\0' || !isfinite(d))
		return false;
	*out = d;
	return true;
}

/*
 * RESP framing, checked before hiredis sees a byte.  Debian 12's hiredis
 * 0.14 allocates an array reply's element table as soon as it reads the
 * "*N" header, before any element has arrived, so a reply announcing 300
 * million elements asks for 2.3 GB at once (hiredis 1.0 caps this with
 * its maxelements; fuzz_redis found it here).  Capping each aggregate is
 * not enough: a 4 MB reply of a million empty nested arrays ("*0") cost
 * 124 MB (a hiredis reply object, a pointer and our copy per element;
 * issue 12), so the guard also caps the elements of all aggregates of a
 * round trip together and their nesting, per enum redis_size.  A reply
 * over a cap is a protocol error: the connection is closed and the
 * message goes on without Redis.
 */
#define RESP_MAX_ELEMENTS 65536	/* one aggregate, whatever the size */
#define RESP_MAX_DEPTH 6

struct resp_limits {
	long long bytes;	/* read in one round trip */
	long long elements;	/* announced by all aggregates together */
	int depth;		/* aggregates inside aggregates */
};

static const struct resp_limits resp_limits[] = {
	/* the milter's commands: 12 HMGETs of 3 fields, a ROLE with its
	 * replicas (3 levels), EVALSHA's {all, wait}, SCRIPT LOAD's sha */
	[REDIS_SIZE_MESSAGE] = { 1LL << 20, 4096, 3 },
	/* rep top's 10,000 HMGETs of 4 fields, 500 XREVRANGE entries of 22
	 * fields, XREAD's 5 levels */
	[REDIS_SIZE_ADMIN] = { 64LL << 20, 131072, RESP_MAX_DEPTH },
};

enum { RG_START, RG_NUM, RG_NUM_LF, RG_LINE, RG_BULK };

struct resp_guard {
	const struct resp_limits *lim;
	int state;
	char type;		/* '$' or '*' while reading a length */
	long long num;
	int digits;
	bool neg;
	long long skip;		/* bulk bytes (and CRLF) still to pass */
	long long total;	/* bytes seen */
	long long elements;	/* announced by every "*N" so far */
	int depth;		/* aggregates open */
	long long left[RESP_MAX_DEPTH];	/* elements still to come in each */
};

/* guard_init - a guard for one round trip of the given size */
static void guard_init(struct resp_guard *g, enum redis_size size)
{
	memset(g, 0, sizeof(*g));
	g->lim = &resp_limits[size == REDIS_SIZE_ADMIN ? REDIS_SIZE_ADMIN : REDIS_SIZE_MESSAGE];
	g->state = RG_START;
}

/* guard_value_done - one value ended: close the aggregates it completes */
static void guard_value_done(struct resp_guard *g)
{
	while (g->depth > 0 && --g->left[g->depth - 1] == 0)
		g->depth--;	/* that aggregate was its parent's element */
}

/* guard_header - a "*N" or "$N" header was read; -1 if refused */
static int guard_header(struct resp_guard *g)
{
	if (g->neg) {			/* $-1, *-1: nil */
		if (g->num != 1)
			return -1;
		guard_value_done(g);
		g->state = RG_START;
	} else if (g->type == '*') {
		g->elements += g->num;
		if (g->num > RESP_MAX_ELEMENTS || g->elements > g->lim->elements)
			return -1;
		if (g->num == 0) {
			guard_value_done(g);
		} else {
			if (g->depth >= g->lim->depth)
				return -1;
			g->left[g->depth++] = g->num;
		}
		g->state = RG_START;
	} else {
		g->skip = g->num + 2;
		g->state = RG_BULK;
	}
	return 0;
}

/* resp_guard_feed - pass n more bytes of the stream; -1 on a header
 * parapet refuses (over a cap of g's size, malformed length) */
static int resp_guard_feed(struct resp_guard *g, const char *p, size_t n)
{
	g->total += (long long)n;
	if (g->total > g->lim->bytes)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char ch = p[i];
		switch (g->state) {
		case RG_START:
			if (ch == '$' || ch == '*') {
				g->type = ch;
				g->num = 0;
				g->digits = 0;
				g->neg = false;
				g->state = RG_NUM;
			} else {
				g->state = RG_LINE;	/* + - : and anything else */
			}
			break;
		case RG_NUM:
			if (ch == '-' && g->digits == 0 && !g->neg) {
				g->neg = true;
			} else if (ch >= '0' && ch <= '9' && g->digits < 18) {
				g->num = g->num * 10 + (ch - '0');
				g->digits++;
			} else if (ch == '\r' && g->digits > 0) {
				g->state = RG_NUM_LF;
			} else {
				return -1;
			}
			break;
		case RG_NUM_LF:
			if (ch != '\n' || guard_header(g) < 0)
				return -1;
			break;
		case RG_LINE:
			if (ch == '\n') {
				guard_value_done(g);
				g->state = RG_START;
			}
			break;
		case RG_BULK: {
			size_t left = n - i;
			size_t take = g->skip < (long long)left ? (size_t)g->skip : left;
			g->skip -= (long long)take;
			i += take - 1;
			if (g->skip == 0) {
				guard_value_done(g);
				g->state = RG_START;
			}
			break;
		}
		}
	}
	return 0;
}

/* guarded_read - hiredis's redisBufferRead with the framing guard between
 * the socket and the reader: 0, -1 I/O error, -2 protocol error, -3 over
 * the guard's caps (or malformed framing) */
static int guarded_read(redisContext *c, struct resp_guard *g)
{
	char buf[16 * 1024];
	ssize_t n = read(c->fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	if (resp_guard_feed(g, buf, (size_t)n) < 0)
		return -3;
	if (redisReaderFeed(c->reader, buf, (size_t)n) != REDIS_OK)
		return -2;
	return 0;
}

/* redis_parse - RESP bytes to values through hiredis's reader */
int redis_parse(const char *data, size_t len, enum redis_size size, struct redis_val *out,
		size_t max)
{
	struct resp_guard guard;
	redisReader *r;
	size_t n = 0;
	int rc = 0;

	guard_init(&guard, size);
	if (resp_guard_feed(&guard, data, len) < 0)
		return -1;
	if ((r = redisReaderCreate()) == NULL)
		return -1;
	if (redisReaderFeed(r, data, len) != REDIS_OK) {
		redisReaderFree(r);
		return -1;
	}
	while (n < max) {
		void *reply = NULL;
		if (redisReaderGetReply(r, &reply) != REDIS_OK) {
			rc = -1;
			break;
		}
		if (reply == NULL)
			break;
		val_copy(&out[n++], reply, 0);
		freeReplyObject(reply);
	}
	redisReaderFree(r);
	if (rc < 0) {
		for (size_t i = 0; i < n; i++)
			val_clear(&out[i]);
		return -1;
	}
	return (int)n;
}

/* redis_sentinel_addr - [host, port] */
bool redis_sentinel_addr(const struct redis_val *v, char *host, size_t cap, int *port)
{
	double d;

	if (v == NULL || v->type != REDIS_T_ARRAY || v->n != 2 ||
	    v->elem[0].type != REDIS_T_STR || v->elem[0].len == 0 ||
	    v->elem[0].len >= cap || strlen(v->elem[0].str) != v->elem[0].len ||
	    !redis_val_number(&v->elem[1], &d) || d < 1 || d > 65535 || d != floor(d))
		return false;
	memcpy(host, v->elem[0].str, v->elem[0].len + 1);
	*port = (int)d;
	return true;
}

/* redis_role_is_master - ROLE's first element */
bool redis_role_is_master(const struct redis_val *v)
{
	return v && v->type == REDIS_T_ARRAY && v->n >= 1 && redis_val_is(&v->elem[0], "master");
}

/* ---------------------------------------------------------------- I/O */

/* wait_fd - poll one fd until the deadline: 1 ready, 0 timeout, -1 error */
static int wait_fd(int fd, short events, double deadline)
{
	for (;;) {
		double left = deadline - now_ms();
		if (left <= 0)
			return 0;
		struct pollfd pfd = { .fd = fd, .events = events };
		int rc = poll(&pfd, 1, (int)ceil(left));
		if (rc > 0)
			return 1;
		if (rc == 0)
			continue;	/* re-check the clock: poll rounds */
		if (errno != EINTR)
			return -1;
	}
}

enum io_result {
	IO_OK,
	IO_TIMEOUT,
	IO_ERROR,		/* the peer went away: the server is gone */
	IO_PROTOCOL,
	IO_TOO_LARGE,		/* refused by the guard */
};

/* send_all - the formatted commands onto the socket, waiting for room only
 * when it is full: a request fits an idle connection's send buffer at
 * once, so no poll(2) before it, and no copy into hiredis's output
 * buffer (the Bayes read's 8 KB: its copy, and an allocation, a message);
 * MSG_DONTWAIT as the context is blocking, MSG_NOSIGNAL as a closed peer
 * is an I/O error, not a SIGPIPE */
static enum io_result send_all(int fd, const char *p, size_t len, double deadline)
{
	while (len > 0) {
		ssize_t k = send(fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (k > 0) {
			p += k;
			len -= (size_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			return IO_ERROR;
		int w = wait_fd(fd, POLLOUT, deadline);
		if (w == 0)
			return IO_TIMEOUT;
		if (w < 0)
			return IO_ERROR;
	}
	return IO_OK;
}

/* conn_round_trip - write the formatted commands, read n replies (the
 * context's output buffer is always empty: every command goes through
 * here) */
static enum io_result conn_round_trip(redisContext *c, const char *cmds, size_t len,
				      size_t n, enum redis_size size, struct redis_val *out,
				      double deadline)
{
	struct resp_guard guard;

	guard_init(&guard, size);
	enum io_result io = send_all(c->fd, cmds, len, deadline);
	if (io != IO_OK)
		return io;
	for (size_t i = 0; i < n; i++) {
		void *reply = NULL;
		for (;;) {
			if (redisGetReplyFromReader(c, &reply) != REDIS_OK) {
				for (size_t k = 0; k < i; k++)
					val_clear(&out[k]);
				return IO_PROTOCOL;
			}
			if (reply)
				break;
			int w = wait_fd(c->fd, POLLIN, deadline), r = 0;
			if (w > 0)
				r = guarded_read(c, &guard);
			if (w <= 0 || r < 0) {
				for (size_t k = 0; k < i; k++)
					val_clear(&out[k]);
				return w == 0 ? IO_TIMEOUT : r == -3 ? IO_TOO_LARGE
					: r == -2 ? IO_PROTOCOL : IO_ERROR;
			}
		}
		val_copy(&out[i], reply, 0);
		freeReplyObject(reply);
	}
	return IO_OK;
}

/* ms_tv - a timeval of ms milliseconds (at least 1) */
static struct timeval ms_tv(double ms)
{
	long m = ms < 1 ? 1 : (long)ms;
	return (struct timeval){ .tv_sec = m / 1000, .tv_usec = (m % 1000) * 1000 };
}

/* ep_connect - TCP or unix connect, bounded by the deadline */
static redisContext *ep_connect(const char *host, int port, const char *path,
				double deadline, const char **why)
{
	double left = deadline - now_ms();
	redisContext *c;

	if (left <= 0) {
		*why = "timeout";
		return NULL;
	}
	c = path ? redisConnectUnixWithTimeout(path, ms_tv(left))
		 : redisConnectWithTimeout(host, port, ms_tv(left));
	if (c == NULL) {
		*why = "out of memory";
		return NULL;
	}
	if (c->err) {
		*why = strstr(c->errstr, "refused") ? "connection refused"
		     : strstr(c->errstr, "timed out") ? "connect timeout"
		     : strstr(c->errstr, "No such file") ? "no such socket"
							  : "cannot connect";
		redisFree(c);
		return NULL;
	}
	/* a blocking context: cap a write(2) that would block (huge batch) */
	redisSetTimeout(c, ms_tv(left));
	return c;
}

/* find_master - ask the sentinels for the master's address */
static int find_master(struct redis_pool *p, double deadline, char *host, size_t cap,
		       int *port, const char **why)
{
	size_t start;

	pthread_mutex_lock(&p->lock);
	start = p->last_sentinel;
	pthread_mutex_unlock(&p->lock);
	*why = "no sentinel answered";
	for (size_t k = 0; k < p->nsentinels; k++) {
		size_t i = (start + k) % p->nsentinels;
		const struct endpoint *s = &p->sentinels[i];
		const char *w;
		redisContext *c = ep_connect(s->host, s->port, s->path, deadline, &w);
		if (c == NULL)
			continue;
		struct redis_batch b;
		struct redis_val v;
		redis_batch_init(&b);
		redis_batch_add(&b, "SENTINEL", "get-master-addr-by-name", p->master_name, NULL);
		enum io_result io = conn_round_trip(c, b.out.data, b.out.len, 1, b.size, &v,
						   deadline);
		redis_batch_free(&b);
		redisFree(c);
		if (io != IO_OK)
			continue;
		bool ok = redis_sentinel_addr(&v, host, cap, port);
		val_clear(&v);
		if (ok) {
			pthread_mutex_lock(&p->lock);
			p->last_sentinel = i;
			pthread_mutex_unlock(&p->lock);
			return 0;
		}
		*why = "sentinel does not know the master";
	}
	return -1;
}

/* conn_open - connect, AUTH, SELECT and ROLE in one round trip */
static redisContext *conn_open(struct redis_pool *p, double deadline, const char **why,
			       int *round_trips)
{
	char host[256];
	int port;
	redisContext *c;

	if (p->nsentinels) {
		if (find_master(p, deadline, host, sizeof(host), &port, why) < 0)
			return NULL;
		if (round_trips)
			(*round_trips)++;
		c = ep_connect(host, port, NULL, deadline, why);
	} else {
		c = ep_connect(p->server.host, p->server.port, p->server.path, deadline, why);
	}
	if (c == NULL)
		return NULL;

	struct redis_batch b;
	struct redis_val v[3];
	size_t n = 0, role;
	char db[32];
	redis_batch_init(&b);
	if (p->password) {
		redis_batch_add(&b, "AUTH", p->password, NULL);
		n++;
	}
	if (p->db != 0) {
		snprintf(db, sizeof(db), "%ld", p->db);
		redis_batch_add(&b, "SELECT", db, NULL);
		n++;
	}
	redis_batch_add(&b, "ROLE", NULL);
	role = n++;
	enum io_result io = conn_round_trip(c, b.out.data, b.out.len, n, b.size, v, deadline);
	redis_batch_free(&b);
	if (round_trips)
		(*round_trips)++;
	if (io != IO_OK) {
		*why = io == IO_TIMEOUT ? "timeout" : "connection lost during set-up";
		redisFree(c);
		return NULL;
	}
	*why = NULL;
	for (size_t i = 0; i < role; i++)
		if (v[i].type == REDIS_T_ERR)
			*why = i == 0 && p->password ? "AUTH failed" : "SELECT failed";
	/* ROLE may be refused by an ACL; then only a sentinel setup insists */
	if (*why == NULL && !redis_role_is_master(&v[role]) &&
	    (v[role].type != REDIS_T_ERR || p->nsentinels))
		*why = "server is not a master (ROLE)";
	for (size_t i = 0; i < n; i++)
		val_clear(&v[i]);
	if (*why) {
		redisFree(c);
		return NULL;
	}
	return c;
}

/* ---------------------------------------------------------------- the pool */

/* note_failure - a connect failed: back off, warn */
static void note_failure(struct redis_pool *p, const char *why)
{
	pthread_mutex_lock(&p->lock);
	p->down = true;
	p->failures++;
	p->retry_at = now_ms() + p->backoff_ms;
	p->backoff_ms = fmin(p->backoff_ms * 2, BACKOFF_MAX_MS);
	pthread_mutex_unlock(&p->lock);
	metrics_inc(strstr(why, "timeout") ? METRIC_REDIS_TIMEOUTS : METRIC_REDIS_ERRORS);
	redis_pool_warn(p, "unavailable: %s; scanning without reputation and greylisting", why);
}

/* note_success - connected: forget the backoff */
static void note_success(struct redis_pool *p)
{
	unsigned long failures = 0;

	pthread_mutex_lock(&p->lock);
	if (p->down) {
		failures = p->failures;
		p->down = false;
	}
	p->failures = 0;
	p->backoff_ms = BACKOFF_MIN_MS;
	p->retry_at = 0;
	pthread_mutex_unlock(&p->lock);
	if (failures)
		log_info("redis %s: connected again after %lu failed attempt(s)", p->describe,
			 failures);
}

/* conn_acquire - an idle connection, a new one, or NULL with why */
static struct conn *conn_acquire(struct redis_pool *p, double deadline, const char **why,
				 int *round_trips, bool *reused)
{
	struct conn *cn = NULL;

	*reused = false;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (p->nidle > 0) {
			cn = p->idle[--p->nidle];
			if (cn->epoch == p->epoch) {
				pthread_mutex_unlock(&p->lock);
				*reused = true;
				return cn;
			}
			redisFree(cn->c);	/* from before a failure: stale */
			free(cn);
			cn = NULL;
			p->total--;
		}
		if (p->down && (now_ms() < p->retry_at || p->probing)) {
			pthread_mutex_unlock(&p->lock);
			*why = "down (waiting to reconnect)";
			return NULL;
		}
		if (p->total < REDIS_POOL_MAX)
			break;
		struct timespec until = deadline_timespec(deadline - now_ms());
		if (now_ms() >= deadline ||
		    pthread_cond_timedwait(&p->cond, &p->lock, &until) == ETIMEDOUT) {
			pthread_mutex_unlock(&p->lock);
			*why = "all connections busy";
			return NULL;
		}
	}
	p->total++;
	unsigned epoch = p->epoch;
	bool probe = p->down;
	if (probe)
		p->probing = true;
	pthread_mutex_unlock(&p->lock);

	redisContext *c = conn_open(p, deadline, why, round_trips);
	pthread_mutex_lock(&p->lock);
	if (probe)
		p->probing = false;
	if (c == NULL) {
		p->total--;
		pthread_cond_signal(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	if (c == NULL) {
		note_failure(p, *why);
		return NULL;
	}
	note_success(p);
	cn = xcalloc(1, sizeof(*cn));
	cn->c = c;
	cn->epoch = epoch;
	return cn;
}

/* conn_release - back to the pool, or closed; stale bumps the epoch */
static void conn_release(struct redis_pool *p, struct conn *cn, bool ok, bool stale)
{
	pthread_mutex_lock(&p->lock);
	if (stale)
		p->epoch++;
	if (ok && cn->epoch == p->epoch && p->nidle < REDIS_POOL_MAX) {
		p->idle[p->nidle++] = cn;
		cn = NULL;
	} else {
		p->total--;
	}
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	if (cn) {
		redisFree(cn->c);
		free(cn);
	}
}

/* reply_demoted - READONLY (a replica now), LOADING, MASTERDOWN, or a
 * script error that carries one of them */
static bool reply_demoted(const struct redis_val *v)
{
	return v->type == REDIS_T_ERR &&
	       (strstr(v->str, "READONLY") || strncmp(v->str, "LOADING", 7) == 0 ||
		strncmp(v->str, "MASTERDOWN", 10) == 0);
}

/* redis_exec - one round trip */
int redis_exec(struct redis_pool *p, const struct redis_batch *b, double deadline,
	       struct redis_val **replies, const char **why, int *round_trips)
{
	struct conn *cn;
	struct redis_val *out;
	bool reused;
	enum io_result io;

	*replies = NULL;
	if (b->ncmds == 0 || b->ncmds > REDIS_BATCH_MAX) {
		*why = "bad batch";
		return -1;
	}
	for (int attempt = 0;; attempt++) {
		/* a message whose Redis budget is spent (a slow read before
		 * this write) goes on without Redis; that says nothing about
		 * the server, so the pool is not marked down */
		if (now_ms() >= deadline) {
			*why = "the message's Redis time is spent";
			return -1;
		}
		if ((cn = conn_acquire(p, deadline, why, round_trips, &reused)) == NULL)
			return -1;
		if (now_ms() >= deadline) {	/* waited for a connection */
			conn_release(p, cn, true, false);
			*why = "the message's Redis time is spent";
			return -1;
		}
		out = xcalloc(b->ncmds, sizeof(*out));
		io = conn_round_trip(cn->c, b->out.data, b->out.len, b->ncmds, b->size, out,
				     deadline);
		if (round_trips)
			(*round_trips)++;
		/* an idle connection the server (or a firewall) closed while it
		 * waited: try once more on a fresh one.  XXX if the server died
		 * after running the commands, a write is counted twice */
		if (io == IO_ERROR && reused && attempt == 0 && now_ms() < deadline) {
			free(out);
			conn_release(p, cn, false, true);
			continue;
		}
		break;
	}
	if (io != IO_OK) {
		free(out);
		*why = io == IO_TIMEOUT ? "timeout" : io == IO_PROTOCOL ? "protocol error"
		     : io == IO_TOO_LARGE ? "reply over parapet's size caps" : "connection lost";
		conn_release(p, cn, false, io == IO_ERROR);
		metrics_inc(io == IO_TIMEOUT ? METRIC_REDIS_TIMEOUTS : METRIC_REDIS_ERRORS);
		if (io == IO_TIMEOUT) {
			/* slow: keep messages from queueing behind it for a while */
			pthread_mutex_lock(&p->lock);
			p->down = true;
			p->retry_at = now_ms() + BACKOFF_MIN_MS;
			pthread_mutex_unlock(&p->lock);
		}
		redis_pool_warn(p, "%s; scanning without reputation and greylisting", *why);
		return -1;
	}
	for (size_t i = 0; i < b->ncmds; i++) {
		if (reply_demoted(&out[i])) {
			*why = "server is not a writable master";
			metrics_inc(METRIC_REDIS_ERRORS);
			conn_release(p, cn, false, true);
			redis_pool_warn(p, "%s: %s", *why, out[i].str);
			redis_vals_free(out, b->ncmds);
			return -1;
		}
	}
	conn_release(p, cn, true, false);
	*replies = out;
	return 0;
}
