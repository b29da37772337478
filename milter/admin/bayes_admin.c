/*
 * bayes_admin.c - the administrator's Bayes operations (bayes.h):
 * learning and forgetting one message file, and the statistics.
 * parapetctl's learn, forget and bayes stats call these.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/digest.h"
#include "base/util.h"
#include "core/engine.h"
#include "core/mboxfile.h"
#include "core/scan.h"
#include "mail/tokens.h"
#include "net/redis.h"
#include "stages/bayes/bayes.h"
#include "stages/rep/rep.h"

#define SCAN_COUNT "10000"	/* keys one SCAN step looks at */
#define SCAN_STEPS_MAX 100000	/* 10^9 keys: stop there */

/* bayes_learn_parse - see bayes.h */
void bayes_learn_parse(struct engine *e, const char *data, size_t len, enum bayes_op op,
		       const char *ip, struct bayes_learn_item *it, struct rep_keys *keys)
{
	struct scan *sc = scan_new(e);

	memset(it, 0, sizeof(*it));
	it->op = op;
	it->tokens = xmalloc(sizeof(*it->tokens));
	sc->no_dns = true;
	sc->offline = true;
	mboxfile_feed(sc, data, len);
	bayes_message_digest(sc->msg, it->digest);
	tokens_init(it->tokens);
	tokens_of(sc->msg, it->tokens);
	if (keys != NULL)
		rep_learn_keys_msg(e, sc->msg, ip, keys);
	scan_free(sc);
}

/* bayes_learn_item_clear - see bayes.h */
void bayes_learn_item_clear(struct bayes_learn_item *it)
{
	if (it->tokens != NULL) {
		tokens_free(it->tokens);
		free(it->tokens);
		it->tokens = NULL;
	}
}

/* glob_escape - s with Redis glob characters escaped */
static void glob_escape(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (strchr("*?[]\\", *s))
			buf_putc(b, '\\');
		buf_putc(b, *s);
	}
}

/* used_memory - used_memory: of an INFO memory reply, or -1 */
static long long used_memory(const struct redis_val *v)
{
	const char *p;

	if (v->type != REDIS_T_STR || (p = strstr(v->str, "used_memory:")) == NULL)
		return -1;
	return atoll(p + strlen("used_memory:"));
}

/* bayes_stats - see bayes.h */
int bayes_stats(struct engine *e, struct bayes_stats *st, char **err)
{
	struct redis_batch b;
	struct redis_val *r;
	struct buf match;
	char cursor[32] = "0";

	memset(st, 0, sizeof(*st));
	if (e->redis == NULL) {
		*err = xstrdup("no redis or redis_sentinels configured");
		return -1;
	}
	redis_batch_init(&b);
	redis_batch_add(&b, "HMGET", e->cfg->bayes_totals_key, "spam", "ham", "last", NULL);
	redis_batch_add(&b, "INFO", "memory", NULL);
	int rc = rep_admin_exec(e, &b, rep_admin_deadline(e), &r, err);
	redis_batch_free(&b);
	if (rc < 0)
		return -1;
	if (r[0].type == REDIS_T_ARRAY && r[0].n == 3) {
		redis_val_number(&r[0].elem[0], &st->spam);
		redis_val_number(&r[0].elem[1], &st->ham);
		redis_val_number(&r[0].elem[2], &st->last);
	}
	st->used_memory = used_memory(&r[1]);
	redis_vals_free(r, 2);

	buf_init(&match);
	glob_escape(&match, e->cfg->redis_prefix);
	buf_puts(&match, "b:*");
	for (int step = 0; step < SCAN_STEPS_MAX; step++) {
		redis_batch_init(&b);
		redis_batch_add(&b, "SCAN", cursor, "MATCH", match.data, "COUNT", SCAN_COUNT, NULL);
		rc = rep_admin_exec(e, &b, rep_admin_deadline(e), &r, err);
		redis_batch_free(&b);
		if (rc < 0)
			break;
		bool ok = r[0].type == REDIS_T_ARRAY && r[0].n == 2 &&
			  r[0].elem[0].type == REDIS_T_STR && r[0].elem[1].type == REDIS_T_ARRAY;
		if (ok) {
			snprintf(cursor, sizeof(cursor), "%s", r[0].elem[0].str);
			st->tokens += (long long)r[0].elem[1].n;
		}
		redis_vals_free(r, 1);
		if (!ok) {
			*err = xstrdup("unexpected SCAN reply");
			rc = -1;
			break;
		}
		if (strcmp(cursor, "0") == 0)
			break;
	}
	buf_free(&match);
	return rc;
}
