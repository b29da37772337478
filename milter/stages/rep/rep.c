/*
 * rep.c - reputation and greylisting (SPEC §6): key derivation, decay,
 * the REP_* values, and the "rep" pipeline stage with its three Redis
 * round trips at most (read, greylist, write).  Redis itself is reached
 * through redis.h; this file has no hiredis in it.
 *
 * Decay: a key stores decayed counts and the time they were decayed to
 * (`seen`).  Reading decays them to now in C; writing decays them to now
 * inside the script and adds 1, so both agree and an idle key never needs
 * a sweep.  The scripts take the time as an argument (never TIME), which
 * keeps them deterministic for tests and replicas.
 *
 * Greylisted and other tempfailed messages are logged (stream, stats) but
 * not counted in rep: the client sends the same message again, and
 * counting both tries would count it twice.  Skipped messages (trusted,
 * authenticated) never reach this stage.  parapetctl scan marks its scans
 * offline: reputation is read to explain the verdict, nothing is written
 * and nothing greylisted.
 *
 * Thread safety: per-message state only; the script digests are computed
 * once under pthread_once; the test clock is set before threads start.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "mail/auth.h"
#include "base/arena.h"
#include "base/cidr.h"
#include "base/digest.h"
#include "net/dns.h"
#include "core/engine.h"
#include "base/log.h"
#include "net/redis.h"
#include "stages/rep/rep.h"
#include "stages/rep/rep_int.h"
#include "rules/rules.h"
#include "base/strbuf.h"
#include "base/util.h"

const char *const rep_log_fields[11] = {
	"qid", "ts", "ip", "helo", "mfrom", "from", "rcpts", "score", "action", "symbols", "ms",
};

static const char *const kind_names[REP_NKINDS] = { "ip", "net", "mfrom", "from", "dkim" };
static const char *const kind_symbols[REP_NKINDS] = {
	"REP_IP", "REP_NET", "REP_MFROM", "REP_FROM", "REP_DKIM",
};

/* ---------------------------------------------------------------- scripts */

/* the verdict write (SPEC §6).  KEYS: n rep keys, n top keys, stats, log.
 * ARGV: now half_life class(spam|ham|none) n rep_ttl top_max action
 * stats_ttl log_max, n top members, then the log's field/value pairs.
 * A rep key's `first` goes in with its counts when it has none (one HSET
 * where HSETNX took a call of its own); an hour's stats key gets its TTL
 * when an action's counter first appears in it, not on every message
 * (which only pushed the same expiry a few minutes later) */
static const char write_lua[] =
	"-- parapet: one message's verdict\n"
	"local now, hl, class = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]\n"
	"local n, ttl, top_max = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])\n"
	"if class == 'spam' or class == 'ham' then\n"
	"  for i = 1, n do\n"
	"    local k = KEYS[i]\n"
	"    local v = redis.call('HMGET', k, 'spam', 'ham', 'seen', 'first')\n"
	"    local spam, ham = tonumber(v[1]) or 0, tonumber(v[2]) or 0\n"
	"    local seen = tonumber(v[3]) or now\n"
	"    if now > seen then\n"
	"      local f = math.pow(0.5, (now - seen) / hl)\n"
	"      spam, ham = spam * f, ham * f\n"
	"    end\n"
	"    if class == 'spam' then spam = spam + 1 else ham = ham + 1 end\n"
	"    local sp, hm = string.format('%.6f', spam), string.format('%.6f', ham)\n"
	"    if v[4] then\n"
	"      redis.call('HSET', k, 'spam', sp, 'ham', hm, 'seen', ARGV[1])\n"
	"    else\n"
	"      redis.call('HSET', k, 'spam', sp, 'ham', hm, 'seen', ARGV[1], 'first', ARGV[1])\n"
	"    end\n"
	"    redis.call('EXPIRE', k, ttl)\n"
	"    redis.call('ZADD', KEYS[n + i], sp, ARGV[9 + i])\n"
	"    redis.call('ZREMRANGEBYRANK', KEYS[n + i], 0, -(top_max + 1))\n"
	"  end\n"
	"end\n"
	"local action = ARGV[7]\n"
	"if action ~= '' then\n"
	"  local st = KEYS[2 * n + 1]\n"
	"  if redis.call('HINCRBY', st, action, 1) == 1 then\n"
	"    redis.call('EXPIRE', st, tonumber(ARGV[8]))\n"
	"  end\n"
	"  local log_max = tonumber(ARGV[9])\n"
	"  if log_max > 0 then\n"
	"    local a = {KEYS[2 * n + 2], 'MAXLEN', '~', ARGV[9], '*'}\n"
	"    for i = 10 + n, #ARGV do a[#a + 1] = ARGV[i] end\n"
	"    redis.call('XADD', unpack(a))\n"
	"  end\n"
	"end\n"
	"return 1\n";

/* greylisting: KEYS grey:HASH per recipient; ARGV now delay window pass_ttl.
 * A key holds "wait:FIRST" until a retry after `delay`, then "pass:TIME"
 * (refreshed on every pass).  Returns {all passed (1/0), seconds to wait} */
static const char grey_lua[] =
	"-- parapet: greylist triplets\n"
	"local now, delay = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
	"local window, pass_ttl = tonumber(ARGV[3]), tonumber(ARGV[4])\n"
	"local all, wait = 1, 0\n"
	"for i = 1, #KEYS do\n"
	"  local v = redis.call('GET', KEYS[i])\n"
	"  if not v then\n"
	"    redis.call('SET', KEYS[i], 'wait:' .. ARGV[1], 'EX', window)\n"
	"    all = 0\n"
	"    if delay > wait then wait = delay end\n"
	"  elseif string.sub(v, 1, 5) == 'pass:' then\n"
	"    redis.call('EXPIRE', KEYS[i], pass_ttl)\n"
	"  else\n"
	"    local first = tonumber(string.sub(v, 6)) or now\n"
	"    if now - first >= delay then\n"
	"      redis.call('SET', KEYS[i], 'pass:' .. ARGV[1], 'EX', pass_ttl)\n"
	"    else\n"
	"      all = 0\n"
	"      if first + delay - now > wait then wait = first + delay - now end\n"
	"    end\n"
	"  end\n"
	"end\n"
	"return {all, wait}\n";

/* rep set: KEYS rep key, top key; ARGV now spam ham ttl top_max member */
static const char set_lua[] =
	"-- parapet: set a key's counts\n"
	"redis.call('HSET', KEYS[1], 'spam', ARGV[2], 'ham', ARGV[3], 'seen', ARGV[1])\n"
	"redis.call('HSETNX', KEYS[1], 'first', ARGV[1])\n"
	"redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))\n"
	"redis.call('ZADD', KEYS[2], ARGV[2], ARGV[6])\n"
	"redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[5]) + 1))\n"
	"return 1\n";

struct rep_script rep_script_write = { "write", write_lua, "" };
struct rep_script rep_script_grey = { "greylist", grey_lua, "" };
struct rep_script rep_script_set = { "set", set_lua, "" };

static pthread_once_t digest_once = PTHREAD_ONCE_INIT;

/* digest_scripts - EVALSHA names: Redis's script id is the SHA-1 of the body */
static void digest_scripts(void)
{
	struct rep_script *all[] = { &rep_script_write, &rep_script_grey, &rep_script_set };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		digest_sha1_hex(all[i]->body, strlen(all[i]->body), all[i]->sha);
}

/* args_slot - room for one more argument; the pool ready */
static char **args_slot(struct rep_args *a)
{
	if (a->pool.limit == 0)
		arena_init(&a->pool, REP_ARGS_LIMIT);
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 32;
		a->v = xrealloc(a->v, a->cap * sizeof(*a->v));
	}
	return &a->v[a->n++];
}

/* rep_args_add - one argument (copied) */
void rep_args_add(struct rep_args *a, const char *s)
{
	char **slot = args_slot(a);

	*slot = arena_strdup(&a->pool, s ? s : "");
}

/* rep_args_take - one argument, taking ownership of s (copied into the
 * pool and freed) */
void rep_args_take(struct rep_args *a, char *s)
{
	rep_args_add(a, s);
	free(s);
}

/* rep_args_addf - one formatted argument */
void rep_args_addf(struct rep_args *a, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		log_fatal("out of memory");
	va_end(ap);
	rep_args_add(a, s);
	free(s);
}

/* rep_args_cat - see rep_int.h */
void rep_args_cat(struct rep_args *a, ...)
{
	va_list ap;
	size_t len = 0;

	va_start(ap, a);
	for (const char *s; (s = va_arg(ap, const char *)) != NULL;) {
		len += strlen(s);
		if (len > REP_ARGS_LIMIT)
			oom(len);
	}
	va_end(ap);
	char **slot = args_slot(a);
	char *o = arena_alloc(&a->pool, len + 1);
	*slot = o;
	va_start(ap, a);
	for (const char *s; (s = va_arg(ap, const char *)) != NULL;) {
		size_t n = strlen(s);
		memcpy(o, s, n);
		o += n;
	}
	va_end(ap);
	*o = '\0';
}

/* rep_args_int - see rep_int.h */
void rep_args_int(struct rep_args *a, long long v)
{
	char t[FMT_NUM_MAX];

	fmt_int(t, v);
	rep_args_add(a, t);
}

/* rep_args_secs - see rep_int.h */
void rep_args_secs(struct rep_args *a, double v)
{
	char t[FMT_NUM_MAX];

	fmt_fixed(t, v, 0);
	rep_args_add(a, t);
}

/* rep_args_clear - release */
void rep_args_clear(struct rep_args *a)
{
	arena_free(&a->pool);
	free(a->v);
	memset(a, 0, sizeof(*a));
}

/* script_batch - EVALSHA sha nkeys args... (args = keys then argv; lens
 * NULL: strlen of each) */
static void script_batch(struct redis_batch *b, const struct rep_script *s, size_t nkeys,
			 size_t argc, char *const *argv, const size_t *lens)
{
	/* a message's calls have a few dozen arguments: on the stack, a
	 * Bayes learn batch's thousands of keys in the heap */
	const char *sv[64];
	size_t sl[64];
	bool big = argc + 3 > sizeof(sv) / sizeof(sv[0]);
	const char **v = big ? xcalloc(argc + 3, sizeof(*v)) : sv;
	size_t *l = big ? xcalloc(argc + 3, sizeof(*l)) : sl;
	char nk[FMT_NUM_MAX];

	fmt_uint(nk, nkeys);
	v[0] = "EVALSHA";
	v[1] = s->sha;
	v[2] = nk;
	for (size_t i = 0; i < 3; i++)
		l[i] = strlen(v[i]);
	for (size_t i = 0; i < argc; i++) {
		v[3 + i] = argv[i];
		l[3 + i] = lens ? lens[i] : strlen(argv[i]);
	}
	redis_batch_argv(b, argc + 3, v, l);
	if (big) {
		free(v);
		free(l);
	}
}

/* rep_script_run_many - see rep_int.h: the calls pipelined; those that
 * met NOSCRIPT (a restarted or flushed server) again after SCRIPT LOAD,
 * in one more round trip */
int rep_script_run_many(struct redis_pool *p, const struct rep_script *s, size_t ncalls,
			const size_t *nkeys, const struct rep_args *args, double deadline,
			struct redis_val **reply, const char **why, int *round_trips)
{
	struct redis_batch b;
	struct redis_val *r, *again;
	size_t nretry = 0;

	pthread_once(&digest_once, digest_scripts);
	redis_batch_init(&b);
	for (size_t i = 0; i < ncalls; i++)
		script_batch(&b, s, nkeys[i], args[i].n, args[i].v, args[i].lens);
	int rc = redis_exec(p, &b, deadline, &r, why, round_trips);
	redis_batch_free(&b);
	if (rc < 0)
		return -1;
	redis_batch_init(&b);
	redis_batch_add(&b, "SCRIPT", "LOAD", s->body, NULL);
	for (size_t i = 0; i < ncalls; i++)
		if (r[i].type == REDIS_T_ERR && strncmp(r[i].str, "NOSCRIPT", 8) == 0) {
			script_batch(&b, s, nkeys[i], args[i].n, args[i].v, args[i].lens);
			nretry++;
		}
	if (nretry > 0)
		rc = redis_exec(p, &b, deadline, &again, why, round_trips);
	redis_batch_free(&b);
	if (rc < 0) {
		redis_vals_free(r, ncalls);
		return -1;
	}
	if (nretry > 0) {
		/* the retried replies into their places, SCRIPT LOAD's dropped */
		for (size_t i = 0, k = 1; i < ncalls; i++)
			if (r[i].type == REDIS_T_ERR && strncmp(r[i].str, "NOSCRIPT", 8) == 0) {
				free(r[i].str);	/* an error: a string, no elements */
				r[i] = again[k];
				memset(&again[k++], 0, sizeof(*again));
			}
		redis_vals_free(again, nretry + 1);
	}
	for (size_t i = 0; i < ncalls; i++)
		if (r[i].type == REDIS_T_ERR)
			redis_pool_warn(p, "script %s failed: %.200s", s->name, r[i].str);
	*reply = r;
	return 0;
}

/* rep_script_run - see rep_int.h */
int rep_script_run(struct redis_pool *p, const struct rep_script *s, size_t nkeys,
		   const struct rep_args *args, double deadline, struct redis_val **reply,
		   const char **why, int *round_trips)
{
	struct redis_val *r;

	if (rep_script_run_many(p, s, 1, &nkeys, args, deadline, &r, why, round_trips) < 0)
		return -1;
	if (r[0].type == REDIS_T_ERR) {
		*why = "script error";
		redis_vals_free(r, 1);
		return -1;
	}
	*reply = r;
	return 0;
}

/* ---------------------------------------------------------------- kinds */

/* rep_kind_name - lower-case name */
const char *rep_kind_name(enum rep_kind kind)
{
	return (unsigned)kind < REP_NKINDS ? kind_names[kind] : "?";
}

/* rep_kind_symbol - the REP_* symbol */
const char *rep_kind_symbol(enum rep_kind kind)
{
	return (unsigned)kind < REP_NKINDS ? kind_symbols[kind] : "?";
}

/* rep_kind_parse - by name */
int rep_kind_parse(const char *name)
{
	for (int i = 0; i < REP_NKINDS; i++)
		if (strcmp(name, kind_names[i]) == 0)
			return i;
	return -1;
}

/* ---------------------------------------------------------------- clock */

static double (*clock_fn)(void);
static double env_start, env_real_start;

/* real_now - wall clock */
static double real_now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

/* env_now - PARAPET_TEST_NOW plus the time since it was read */
static double env_now(void)
{
	return env_start + (real_now() - env_real_start);
}

/* rep_now - whole seconds: what Redis stores */
double rep_now(void)
{
	return floor(clock_fn ? clock_fn() : real_now());
}

/* rep_set_clock - tests */
void rep_set_clock(double (*fn)(void))
{
	clock_fn = fn;
}

/* rep_clock_from_env - the programs' test hook */
bool rep_clock_from_env(void)
{
	const char *s = getenv("PARAPET_TEST_NOW");
	char *end;

	if (s == NULL || *s == '\0')
		return false;
	double t = strtod(s, &end);
	if (*end != '\0' || !isfinite(t) || t < 0) {
		log_warn("PARAPET_TEST_NOW=%s ignored: not a unix time", s);
		return false;
	}
	env_start = t;
	env_real_start = real_now();
	clock_fn = env_now;
	log_warn("test clock: PARAPET_TEST_NOW=%.0f (reputation and greylisting times are fake)", t);
	return true;
}

/* ---------------------------------------------------------------- pure */

/* rep_ip_value - canonical text of an address */
char *rep_ip_value(const char *ip)
{
	unsigned char a[16];
	char out[INET6_ADDRSTRLEN];
	int fam = cidr_ip_parse(ip, a);

	if (fam == 0 || inet_ntop(fam == 4 ? AF_INET : AF_INET6, a, out, sizeof(out)) == NULL)
		return NULL;
	return str_lower(xstrdup(out));
}

/* rep_net_value - /24 or /64 */
char *rep_net_value(const char *ip)
{
	unsigned char a[16];
	char out[INET6_ADDRSTRLEN];
	int fam = cidr_ip_parse(ip, a);

	if (fam == 4) {
		a[3] = 0;
		inet_ntop(AF_INET, a, out, sizeof(out));
		return xasprintf("%s/24", out);
	}
	if (fam == 6) {
		memset(a + 8, 0, 8);
		inet_ntop(AF_INET6, a, out, sizeof(out));
		return str_lower(xasprintf("%s/64", out));
	}
	return NULL;
}

/* rep_domain_value - the domain of the first mailbox (auth_addr_domain) */
char *rep_domain_value(const char *addr)
{
	return auth_addr_domain(addr);
}

/* rep_value_normalize - from the command line */
char *rep_value_normalize(enum rep_kind kind, const char *value)
{
	switch (kind) {
	case REP_KIND_IP:
		return rep_ip_value(value);
	case REP_KIND_NET: {
		char *ip = xstrndup(value, strcspn(value, "/"));
		char *net = rep_net_value(ip);
		free(ip);
		return net;
	}
	default: {
		if (strchr(value, '@') != NULL)
			return rep_domain_value(value);
		char *d = xstrdup(value);
		if (auth_domain_ok(d))
			return d;
		free(d);
		return NULL;
	}
	}
}

/* rep_decay - half-life decay; a negative age (clock skew) does not grow */
double rep_decay(double count, double age, double half_life)
{
	if (!(age > 0) || !(half_life > 0))
		return count;
	return count * exp2(-age / half_life);
}

/* rep_symbol_value - the REP_* value of a key */
bool rep_symbol_value(double spam, double ham, double weight, long min_count, double *value)
{
	double total = spam + ham;

	if (!isfinite(total) || spam < 0 || ham < 0 || total <= 0 ||
	    total < 0.99 * (double)min_count)
		return false;
	*value = weight * (spam - ham) / total;
	return true;
}

/* add_key - one key, unless the value is missing or repeated */
static void add_key(struct rep_keys *keys, enum rep_kind kind, char *value)
{
	if (value == NULL)
		return;
	if (strlen(value) > REP_MAX_VALUE || keys->n >= REP_MAX_KEYS) {
		free(value);
		return;
	}
	for (size_t i = 0; i < keys->n; i++)
		if (keys->k[i].kind == kind && strcmp(keys->k[i].value, value) == 0) {
			free(value);
			return;
		}
	keys->k[keys->n++] = (struct rep_key){ kind, value };
}

/* rep_keys_of - ip, net, mfrom, from, dkim */
void rep_keys_of(const struct msg *m, const char *const *dkim, size_t ndkim,
		 struct rep_keys *keys)
{
	const struct header *from = msg_header(m, "From", 0);

	keys->n = 0;
	add_key(keys, REP_KIND_IP, rep_ip_value(m->client_ip));
	add_key(keys, REP_KIND_NET, rep_net_value(m->client_ip));
	add_key(keys, REP_KIND_MFROM, rep_domain_value(m->mail_from));
	if (from) {
		/* the RFC 5322 parser DMARC uses (quoted display names,
		 * comments, groups): one answer for "the From: domain" */
		char d[DNS_NAME_MAX + 1];
		if (auth_from_parse(from->value, d, sizeof(d)) > 0)
			add_key(keys, REP_KIND_FROM, xstrdup(d));
	}
	for (size_t i = 0; i < ndkim && i < REP_MAX_DKIM; i++)
		add_key(keys, REP_KIND_DKIM, rep_value_normalize(REP_KIND_DKIM, dkim[i]));
}

/* rep_keys_clear - free the values */
void rep_keys_clear(struct rep_keys *keys)
{
	for (size_t i = 0; i < keys->n; i++)
		free(keys->k[i].value);
	keys->n = 0;
}

/* rep_grey_key - triplet hash: network, sender, recipient, lower-case */
void rep_grey_key(const char *client_ip, const char *mail_from, const char *rcpt,
		  char *out, size_t cap)
{
	char *net = rep_net_value(client_ip);
	struct buf t;
	char hex[DIGEST_SHA1_HEX];
	struct sbuf o;

	buf_init(&t);
	buf_puts(&t, net ? net : (client_ip ? client_ip : ""));
	buf_putc(&t, '\n');
	buf_puts(&t, mail_from ? mail_from : "");
	buf_putc(&t, '\n');
	buf_puts(&t, rcpt ? rcpt : "");
	str_lower(t.data);
	digest_sha1_hex(t.data, t.len, hex);
	sbuf_init(&o, out, cap);
	sbuf_puts(&o, "grey:");
	sbuf_puts(&o, hex);
	free(net);
	buf_free(&t);
}

/* rep_key_name - PREFIX rep:KIND:VALUE */
char *rep_key_name(const char *prefix, const char *what, enum rep_kind kind,
		   const char *value)
{
	struct buf b;

	buf_init(&b);
	buf_puts(&b, prefix);
	buf_puts(&b, what);
	buf_putc(&b, ':');
	buf_puts(&b, rep_kind_name(kind));
	if (value) {
		buf_putc(&b, ':');
		buf_puts(&b, value);
	}
	return b.data;
}

/* rep_hour - stats:YYYYMMDDHH of a unix time (UTC) */
void rep_hour(double t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, cap, "%Y%m%d%H", &tm);
}
