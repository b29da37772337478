/*
 * redis.h - a bounded pool of connections to the Redis server of the
 * configuration (SPEC §3: redis, redis_sentinels + redis_master_name,
 * redis_password, redis_db, redis_timeout_ms), and one primitive on it:
 * send a batch of commands and read every reply as one network round
 * trip, within a deadline.
 *
 * The rest of parapet sees only these types: commands are built as RESP
 * text in a struct redis_batch, replies come back as struct redis_val
 * (our own copy, not hiredis's).  redis.c is the only file that includes
 * hiredis (STYLE rule 2).
 *
 * Lifetime: pools are process-wide and shared by every engine whose
 * connection settings are the same (redis_pool_get is keyed by them), so a
 * reload that leaves the redis_* keys alone keeps its connections; a pool
 * is freed when the last engine using it goes.  Thread-safe: a connection
 * is used by one thread at a time (taken from the pool for one round trip).
 */
#ifndef PARAPET_REDIS_H
#define PARAPET_REDIS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "base/util.h"

#define REDIS_POOL_MAX 16	/* connections per pool */
#define REDIS_BATCH_MAX 4096	/* commands in one round trip */
#define REDIS_VAL_DEPTH 8	/* nesting kept when copying a reply */

enum redis_type {
	REDIS_T_NIL,
	REDIS_T_INT,
	REDIS_T_STR,		/* bulk string */
	REDIS_T_STATUS,		/* +OK */
	REDIS_T_ERR,		/* -ERR ..., also our own "nesting too deep" */
	REDIS_T_ARRAY,
};

/* one reply: str is NUL-terminated (and may hold NULs before len) */
struct redis_val {
	enum redis_type type;
	long long integer;
	char *str;
	size_t len;
	struct redis_val *elem;
	size_t n;
};

/*
 * How much a round trip's replies may hold, checked on the bytes before
 * hiredis allocates anything (redis.c: a hostile or broken server must
 * not cost more memory than the caps allow).  MESSAGE fits what the
 * milter's own commands return (a pipelined HMGET of at most
 * REP_MAX_KEYS keys, EVALSHA, SCRIPT LOAD, connection set-up with ROLE)
 * and is the default; ADMIN is for parapetctl and the dashboard (rep top
 * of 10,000 keys, 500 log entries a page, 720 hours of stats).
 */
enum redis_size {
	REDIS_SIZE_MESSAGE,	/* 1 MB, 4,096 elements, 3 levels of nesting */
	REDIS_SIZE_ADMIN,	/* 64 MB, 131,072 elements, 6 levels */
};

/* commands for one round trip, in RESP (the Redis protocol) */
struct redis_batch {
	struct buf out;
	size_t ncmds;
	enum redis_size size;	/* REDIS_SIZE_MESSAGE from redis_batch_init */
};

struct redis_pool;

/* redis_pool_get - the pool for cfg's settings (a new reference), or NULL
 * when cfg names no Redis.  Connects lazily: never blocks. */
struct redis_pool *redis_pool_get(const struct config *cfg);
/* redis_pool_put - drop a reference; returns NULL */
struct redis_pool *redis_pool_put(struct redis_pool *p);
/* redis_pool_describe - "HOST:PORT", "unix:PATH" or "sentinel NAME" */
const char *redis_pool_describe(const struct redis_pool *p);
/* redis_pool_warn - a warning about p, at most one a minute per pool */
void redis_pool_warn(struct redis_pool *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void redis_batch_init(struct redis_batch *b);
void redis_batch_free(struct redis_batch *b);
/* redis_batch_argv - one command; lens NULL means strlen of each arg */
void redis_batch_argv(struct redis_batch *b, size_t argc, const char *const *argv,
		      const size_t *lens);
/* redis_batch_add - one command of NUL-terminated words, NULL-terminated */
void redis_batch_add(struct redis_batch *b, const char *arg, ...)
	__attribute__((sentinel));

/*
 * redis_exec - send b over a pooled connection and read its ncmds replies
 * before deadline (a now_ms() value).  0: *replies is an array of ncmds
 * values (free with redis_vals_free; a command's own error is a
 * REDIS_T_ERR value, not a failure).  -1: Redis unavailable (down, in
 * reconnect backoff, pool exhausted until the deadline, timeout, a
 * demoted master, replies over the caps of b->size); *why is a static
 * reason.  A connection that failed is
 * closed, never reused.  *round_trips (may be NULL) is incremented for
 * each round trip made, connection set-up included.
 */
int redis_exec(struct redis_pool *p, const struct redis_batch *b, double deadline,
	       struct redis_val **replies, const char **why, int *round_trips);

/* redis_vals_free - an array of n values from redis_exec; returns NULL */
struct redis_val *redis_vals_free(struct redis_val *v, size_t n);

/* redis_val_is - v is a string, status or error equal to s (ASCII case-insensitive) */
bool redis_val_is(const struct redis_val *v, const char *s);
/* redis_val_number - v as a finite number (string or integer); false if not */
bool redis_val_number(const struct redis_val *v, double *out);

/*
 * redis_parse - parse RESP bytes into values (for fuzzing and tests): up to
 * max values; returns the number parsed, -1 on a protocol error or bytes
 * over the caps of size.  Same guard and copy rules as redis_exec.
 */
int redis_parse(const char *data, size_t len, enum redis_size size, struct redis_val *out,
		size_t max);

/* redis_sentinel_addr - host and port from a SENTINEL
 * get-master-addr-by-name reply; false if malformed (host copied into
 * host[cap]) */
bool redis_sentinel_addr(const struct redis_val *v, char *host, size_t cap, int *port);
/* redis_role_is_master - a ROLE reply says "master" */
bool redis_role_is_master(const struct redis_val *v);

#endif
