/*
 * ctl_rep.c - parapetctl's Redis subcommands (SPEC §2): rep
 * show/top/set/clear, learn, forget, bayes stats, tail and stats.
 * learn feeds both the Bayes classifier (by message digest) and the
 * sender reputation; a message Bayes already has as that class is not
 * counted again in either.  Only argument handling and
 * printing live here; the operations are the engine library's
 * (rep_admin.c), which a dashboard reuses.  Tables for people by
 * default, --json for programs (one object per line for tail).
 */
#include "autoconfig.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/engine.h"
#include "core/mboxfile.h"
#include "admin/parapetctl.h"
#include "net/redis.h"
#include "stages/bayes/bayes.h"
#include "stages/rep/rep.h"
#include "base/util.h"

/* fail - print err, free it, return 1 */
static int fail(char *err)
{
	fprintf(stderr, "parapetctl: %s\n", err);
	free(err);
	return 1;
}

/* iso_time - "2024-05-01T12:00:00Z", or "-" for 0 */
static void iso_time(double t, char *out, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0) {
		snprintf(out, cap, "-");
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* kind_arg - KIND or usage */
static enum rep_kind kind_arg(const char *s)
{
	int k = rep_kind_parse(s);

	if (k < 0) {
		fprintf(stderr, "parapetctl: unknown kind '%s' (ip, net, mfrom, from, dkim)\n", s);
		exit(2);
	}
	return (enum rep_kind)k;
}

/* strip_json - remove a --json argument; returns whether it was there */
static bool strip_json(int *argc, char **argv)
{
	bool found = false;
	int j = 0;

	for (int i = 0; i < *argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			found = true;
		else
			argv[j++] = argv[i];
	}
	*argc = j;
	return found;
}

/* entry_json - one key as a JSON object */
static void entry_json(const struct rep_entry *en)
{
	printf("{\"kind\":\"%s\",\"value\":", rep_kind_name(en->kind));
	ctl_json_str(stdout, en->value);
	printf(",\"exists\":%s", en->exists ? "true" : "false");
	if (en->exists)
		printf(",\"spam\":%.4f,\"ham\":%.4f,\"spam_stored\":%.6f,\"ham_stored\":%.6f"
		       ",\"seen\":%.0f,\"first\":%.0f",
		       en->spam_now, en->ham_now, en->spam, en->ham, en->seen, en->first);
	if (en->ttl >= -1)
		printf(",\"ttl\":%lld", en->ttl);
	printf(",\"symbol\":\"%s\",\"score\":", rep_kind_symbol(en->kind));
	if (en->counts)
		printf("%.4f}", en->symbol);
	else
		printf("null}");
}

/* rep_show_cmd - rep show KIND VALUE */
static int rep_show_cmd(struct engine *e, int argc, char **argv, bool json)
{
	struct rep_entry en;
	char *err = NULL;
	char seen[32], first[32];

	if (argc != 4)
		ctl_usage();
	if (rep_show(e, kind_arg(argv[2]), argv[3], &en, &err) < 0)
		return fail(err);
	if (json) {
		entry_json(&en);
		printf("\n");
	} else if (!en.exists) {
		printf("%s %s: no reputation (never seen, expired or cleared)\n",
		       rep_kind_name(en.kind), en.value);
	} else {
		iso_time(en.seen, seen, sizeof(seen));
		iso_time(en.first, first, sizeof(first));
		printf("%s %s\n", rep_kind_name(en.kind), en.value);
		printf("  spam   %10.2f  (stored %.2f)\n", en.spam_now, en.spam);
		printf("  ham    %10.2f  (stored %.2f)\n", en.ham_now, en.ham);
		printf("  first  %s\n  seen   %s\n", first, seen);
		if (en.ttl >= 0)
			printf("  expires in %lld s\n", en.ttl);
		if (en.counts)
			printf("  %s %+.2f\n", rep_kind_symbol(en.kind), en.symbol);
		else
			printf("  %s silent: fewer than rep_min_count (%ld) messages\n",
			       rep_kind_symbol(en.kind), e->cfg->rep_min_count);
	}
	rep_entry_clear(&en);
	return 0;
}

/* rep_top_cmd - rep top KIND [N] */
static int rep_top_cmd(struct engine *e, int argc, char **argv, bool json)
{
	struct rep_entry *en;
	size_t n = 10, m;
	char *err = NULL, *end;

	if (argc < 3 || argc > 4)
		ctl_usage();
	enum rep_kind kind = kind_arg(argv[2]);
	if (argc == 4) {
		long v = strtol(argv[3], &end, 10);
		if (*end || v < 1 || v > REP_TOP_MAX) {
			fprintf(stderr, "parapetctl: N must be 1 to %d\n", REP_TOP_MAX);
			return 2;
		}
		n = (size_t)v;
	}
	if (rep_top(e, kind, n, &en, &m, &err) < 0)
		return fail(err);
	if (json) {
		printf("[");
		for (size_t i = 0; i < m; i++) {
			printf(i ? "," : "");
			entry_json(&en[i]);
		}
		printf("]\n");
	} else {
		printf("%4s  %-40s %10s %10s %8s\n", "rank", rep_kind_name(kind), "spam", "ham",
		       rep_kind_symbol(kind));
		for (size_t i = 0; i < m; i++) {
			char sym[16] = "-";
			if (en[i].counts)
				snprintf(sym, sizeof(sym), "%+.2f", en[i].symbol);
			printf("%4zu  %-40s %10.2f %10.2f %8s\n", i + 1, en[i].value, en[i].spam_now,
			       en[i].ham_now, en[i].exists ? sym : "expired");
		}
	}
	for (size_t i = 0; i < m; i++)
		rep_entry_clear(&en[i]);
	free(en);
	return 0;
}

/* rep_set_cmd - rep set KIND VALUE spam|ham [COUNT] */
static int rep_set_cmd(struct engine *e, int argc, char **argv)
{
	char *err = NULL, *end;
	double count = e->cfg->rep_min_count > 0 ? (double)e->cfg->rep_min_count : 1;

	if (argc < 5 || argc > 6 || (strcmp(argv[4], "spam") && strcmp(argv[4], "ham")))
		ctl_usage();
	if (argc == 6) {
		count = strtod(argv[5], &end);
		if (*end || !isfinite(count) || count < 0) {
			fprintf(stderr, "parapetctl: bad COUNT '%s'\n", argv[5]);
			return 2;
		}
	}
	bool spam = strcmp(argv[4], "spam") == 0;
	if (rep_set(e, kind_arg(argv[2]), argv[3], spam, count, &err) < 0)
		return fail(err);
	printf("%s %s: %s %.2f, %s 0\n", argv[2], argv[3], spam ? "spam" : "ham", count,
	       spam ? "ham" : "spam");
	return 0;
}

/* rep_clear_cmd - rep clear KIND VALUE */
static int rep_clear_cmd(struct engine *e, int argc, char **argv)
{
	char *err = NULL;
	bool existed;

	if (argc != 4)
		ctl_usage();
	if (rep_clear(e, kind_arg(argv[2]), argv[3], &existed, &err) < 0)
		return fail(err);
	printf("%s %s: %s\n", argv[2], argv[3], existed ? "cleared" : "had no reputation");
	return 0;
}

/* a message read, parsed, waiting for its batch's round trips */
struct learn_msg {
	char *name;
	bool many;			/* lr->many when it was read */
	struct bayes_learn_item it;	/* digest and tokens (bayes = yes) */
	struct rep_keys keys;		/* learn spam|ham */
};

#define LEARN_BATCH 32		/* messages in one pipelined round trip */
#define LEARN_FIRST 4		/* the first batch: Redis starts while the next is parsed */

struct learn_batch {
	struct learn_msg m[LEARN_BATCH];
	size_t n;
};

/*
 * What one learn, forget run has done, for the progress line and the end.
 * Two threads: the main one reads and parses messages into a batch
 * (fill); the sender learns the batch before (pending) in its round trips
 * and prints its lines, so parsing and Redis's work overlap.  The sender
 * alone touches the counts and flush_rc; the main thread the rest.
 */
struct learn_run {
	struct engine *e;
	enum bayes_op op;
	const char *ip;
	bool json;
	bool bayes;		/* the classifier is on (bayes = yes) */
	bool many;		/* a directory or mbox: a summary, no line each */
	bool tty;		/* stderr is a terminal */
	unsigned long n, counts[BAYES_UNKNOWN + 1], failed;
	int rc, flush_rc;
	struct learn_batch buf[2], *fill, *pending;
	size_t batch;		/* messages the next batch holds: LEARN_FIRST, doubled
				 * at each hand-off up to LEARN_BATCH */
	bool threaded, done;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t sender;
};

#define PROGRESS_EVERY 1000	/* messages between progress lines off a tty */
#define WALK_DEPTH_MAX 8	/* directory levels a learn run descends */

/* learn_rep_print - the line of a message whose sender keys were counted */
static void learn_rep_print(const struct learn_run *lr, const char *name,
			    const struct rep_keys *keys, const char *bayes_word)
{
	bool spam = lr->op == BAYES_SPAM;

	if (lr->json) {
		printf("{\"file\":");
		ctl_json_str(stdout, name);
		printf(",\"class\":\"%s\",\"bayes\":", spam ? "spam" : "ham");
		ctl_json_str(stdout, bayes_word);
		printf(",\"keys\":{");
		for (size_t k = 0; k < keys->n; k++) {
			printf("%s\"%s\":", k ? "," : "", rep_kind_name(keys->k[k].kind));
			ctl_json_str(stdout, keys->k[k].value);
		}
		printf("}}\n");
	} else {
		printf("%s: learned as %s:", name, spam ? "spam" : "ham");
		for (size_t k = 0; k < keys->n; k++)
			printf(" %s=%s", rep_kind_name(keys->k[k].kind), keys->k[k].value);
		printf("%s", keys->n ? "" : " (no keys found)");
		if (bayes_word)
			printf(" bayes=%s", bayes_word);
		printf("\n");
	}
}

/* learn_counts_rep - the message's sender keys are counted: learn
 * spam|ham of a message new to Bayes (learning it twice changes neither) */
static bool learn_counts_rep(const struct learn_run *lr, const struct learn_msg *m)
{
	return lr->op != BAYES_FORGET && !m->it.failed &&
	       (!lr->bayes || m->it.res == BAYES_LEARNED || m->it.res == BAYES_MOVED);
}

/* learn_flush - the batch: the Bayes script call of its messages in one
 * round trip, then the reputation of those new to Bayes in one more, the
 * lines and the progress in the order the messages came */
static void learn_flush(struct learn_run *lr, struct learn_batch *b)
{
	const struct rep_keys *keys[LEARN_BATCH];
	struct bayes_learn_item items[LEARN_BATCH];
	char *berr = NULL, *rerr = NULL;
	const char *why;
	size_t nk = 0;

	if (b->n == 0)
		return;
	if (lr->bayes) {
		for (size_t i = 0; i < b->n; i++)
			items[i] = b->m[i].it;
		if (bayes_learn_many(lr->e, items, b->n, rep_admin_deadline(lr->e), &why) < 0)
			berr = xasprintf("redis %s: %s",
					 lr->e->redis ? redis_pool_describe(lr->e->redis) : "-",
					 why);
		for (size_t i = 0; i < b->n; i++) {
			b->m[i].it.res = items[i].res;
			b->m[i].it.failed = berr != NULL || items[i].failed;
		}
	}
	for (size_t i = 0; i < b->n; i++)
		if (learn_counts_rep(lr, &b->m[i]))
			keys[nk++] = &b->m[i].keys;
	if (nk > 0 && rep_learn_many(lr->e, keys, nk, lr->op == BAYES_SPAM, &rerr) < 0)
		fprintf(stderr, "parapetctl: %s\n", rerr);
	for (size_t i = 0; i < b->n; i++) {
		struct learn_msg *m = &b->m[i];
		const char *word = NULL;

		lr->n++;
		if (m->it.failed) {
			fprintf(stderr, "parapetctl: %s: %s\n", m->name,
				berr ? berr : "unexpected reply of the learn script");
			lr->failed++;
			lr->flush_rc = 1;
		} else {
			if (lr->bayes) {
				lr->counts[m->it.res]++;
				word = bayes_result_name(m->it.res);
			}
			if (learn_counts_rep(lr, m)) {
				if (rerr != NULL) {
					lr->failed++;
					lr->flush_rc = 1;
				} else if (!m->many) {
					learn_rep_print(lr, m->name, &m->keys, word);
				}
			} else if (!m->many) {
				printf("%s: %s\n", m->name, word ? word : "-");
			}
		}
		if (m->many && lr->n % (lr->tty ? 50 : PROGRESS_EVERY) == 0)
			fprintf(stderr, "%s%lu messages: %lu learned, %lu moved, %lu already, "
				"%lu forgotten%s", lr->tty ? "\r" : "", lr->n,
				lr->counts[BAYES_LEARNED], lr->counts[BAYES_MOVED],
				lr->counts[BAYES_UNCHANGED], lr->counts[BAYES_FORGOTTEN],
				lr->tty ? "" : "\n");
		bayes_learn_item_clear(&m->it);
		rep_keys_clear(&m->keys);
		free(m->name);
	}
	free(berr);
	free(rerr);
	b->n = 0;
}

/* learn_sender - the sender thread: each pending batch learned */
static void *learn_sender(void *arg)
{
	struct learn_run *lr = arg;

	pthread_mutex_lock(&lr->lock);
	for (;;) {
		while (lr->pending == NULL && !lr->done)
			pthread_cond_wait(&lr->cond, &lr->lock);
		struct learn_batch *b = lr->pending;
		if (b == NULL)
			break;
		pthread_mutex_unlock(&lr->lock);
		learn_flush(lr, b);
		pthread_mutex_lock(&lr->lock);
		lr->pending = NULL;
		pthread_cond_broadcast(&lr->cond);
	}
	pthread_mutex_unlock(&lr->lock);
	return NULL;
}

/* learn_handoff - the filled batch to the sender (after the one before
 * is done); the main thread goes on with the other buffer */
static void learn_handoff(struct learn_run *lr)
{
	if (lr->fill->n == 0)
		return;
	if (!lr->threaded) {
		learn_flush(lr, lr->fill);
		return;
	}
	pthread_mutex_lock(&lr->lock);
	while (lr->pending != NULL)
		pthread_cond_wait(&lr->cond, &lr->lock);
	lr->pending = lr->fill;
	lr->fill = lr->fill == &lr->buf[0] ? &lr->buf[1] : &lr->buf[0];
	pthread_cond_broadcast(&lr->cond);
	pthread_mutex_unlock(&lr->lock);
}

/* learn_start - the sender thread (without one, batches are learned
 * in the main thread) */
static void learn_start(struct learn_run *lr)
{
	lr->fill = &lr->buf[0];
	lr->batch = LEARN_FIRST;
	pthread_mutex_init(&lr->lock, NULL);
	pthread_cond_init(&lr->cond, NULL);
	lr->threaded = pthread_create(&lr->sender, NULL, learn_sender, lr) == 0;
}

/* learn_finish - the last batch learned, the sender joined */
static void learn_finish(struct learn_run *lr)
{
	learn_handoff(lr);
	if (lr->threaded) {
		pthread_mutex_lock(&lr->lock);
		while (lr->pending != NULL)
			pthread_cond_wait(&lr->cond, &lr->lock);
		lr->done = true;
		pthread_cond_broadcast(&lr->cond);
		pthread_mutex_unlock(&lr->lock);
		pthread_join(lr->sender, NULL);
	}
	pthread_cond_destroy(&lr->cond);
	pthread_mutex_destroy(&lr->lock);
	if (lr->flush_rc)
		lr->rc = lr->flush_rc;
}

/* learn_one - one message: parsed once now (tokens, digest, sender keys),
 * learned with its batch (learn_flush) */
static void learn_one(struct learn_run *lr, const char *name, const char *data, size_t len)
{
	struct learn_msg *m = &lr->fill->m[lr->fill->n++];

	memset(m, 0, sizeof(*m));
	m->name = xstrdup(name);
	m->many = lr->many;
	if (lr->bayes) {
		bayes_learn_parse(lr->e, data, len, lr->op, lr->ip, &m->it,
				  lr->op == BAYES_FORGET ? NULL : &m->keys);
	} else {
		m->it.res = BAYES_LEARNED;
		rep_learn_keys(lr->e, data, len, lr->ip, &m->keys);
	}
	if (lr->fill->n >= lr->batch) {
		learn_handoff(lr);
		lr->batch = lr->batch * 2 < LEARN_BATCH ? lr->batch * 2 : LEARN_BATCH;
	}
}

/* learn_mbox - each message of an mbox file ("From " lines) */
static void learn_mbox(struct learn_run *lr, const char *path, const char *data, size_t len)
{
	const char *p = data, *end = data + len;
	unsigned long k = 0;

	while (p < end) {
		const char *q = p + 5;
		const char *next = NULL;
		/* the next "From " at a line start after an empty line or any line */
		while (q < end) {
			const char *nl = memchr(q, '\n', (size_t)(end - q));
			if (nl == NULL)
				break;
			if (end - nl > 5 && memcmp(nl + 1, "From ", 5) == 0) {
				next = nl + 1;
				break;
			}
			q = nl + 1;
		}
		char *name = xasprintf("%s#%lu", path, ++k);
		learn_one(lr, name, p, (size_t)((next ? next : end) - p));
		free(name);
		p = next ? next : end;
	}
}

/* learn_path - a file (one message or an mbox), a Maildir (cur/ and new/)
 * or a directory (its files and its subdirectories not starting with ".") */
static void learn_path(struct learn_run *lr, const char *path, int depth)
{
	struct stat sb;

	if (strcmp(path, "-") == 0) {
		sb.st_mode = S_IFREG;	/* standard input: one message or an mbox */
	} else if (stat(path, &sb) < 0) {
		fprintf(stderr, "parapetctl: %s: %s\n", path, strerror(errno));
		lr->rc = 1;
		return;
	}
	if (S_ISDIR(sb.st_mode)) {
		char *cur = xasprintf("%s/cur", path), *new = xasprintf("%s/new", path);
		struct stat cs, ns;
		bool maildir = (stat(cur, &cs) == 0 && S_ISDIR(cs.st_mode)) ||
			       (stat(new, &ns) == 0 && S_ISDIR(ns.st_mode));
		lr->many = true;
		if (maildir) {
			if (depth < WALK_DEPTH_MAX) {
				learn_path(lr, cur, depth + 1);
				learn_path(lr, new, depth + 1);
			}
		} else if (depth < WALK_DEPTH_MAX) {
			struct dirent **list;
			int n = scandir(path, &list, NULL, alphasort);
			for (int i = 0; i < n; i++) {
				if (list[i]->d_name[0] != '.') {
					char *sub = xasprintf("%s/%s", path, list[i]->d_name);
					learn_path(lr, sub, depth + 1);
					free(sub);
				}
				free(list[i]);
			}
			if (n >= 0)
				free(list);
		}
		free(cur);
		free(new);
		return;
	}
	if (!S_ISREG(sb.st_mode))
		return;
	size_t len;
	char *data = mboxfile_read(path, &len);
	if (data == NULL) {
		fprintf(stderr, "parapetctl: %s: %s\n", path, strerror(errno));
		lr->rc = 1;
		return;
	}
	if (len > 5 && memcmp(data, "From ", 5) == 0 && memmem(data + 5, len - 5, "\nFrom ", 6)) {
		lr->many = true;
		learn_mbox(lr, path, data, len);
	} else {
		learn_one(lr, path, data, len);
	}
	free(data);
}

/* cmd_learn - learn spam|ham [--ip IP] PATH..., forget PATH... */
static int cmd_learn(struct engine *e, int argc, char **argv, bool json)
{
	static const struct option opts[] = {
		{ "ip", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	struct learn_run lr = { .e = e, .json = json, .bayes = e->cfg->bayes,
				.tty = isatty(2) };
	int c;

	if (strcmp(argv[0], "forget") == 0) {
		lr.op = BAYES_FORGET;
		optind = 1;
		if (!lr.bayes) {
			fprintf(stderr, "parapetctl: forget: bayes is off in the configuration\n");
			return 2;
		}
	} else {
		if (argc < 3 || (strcmp(argv[1], "spam") && strcmp(argv[1], "ham")))
			ctl_usage();
		lr.op = strcmp(argv[1], "spam") == 0 ? BAYES_SPAM : BAYES_HAM;
		optind = 2;
	}
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'i' || lr.op == BAYES_FORGET)
			ctl_usage();
		lr.ip = optarg;
	}
	if (optind >= argc)
		ctl_usage();
	learn_start(&lr);
	for (int i = optind; i < argc; i++)
		learn_path(&lr, argv[i], 0);
	learn_finish(&lr);
	if (lr.many) {
		if (lr.tty && lr.n >= 50)
			fprintf(stderr, "\n");
		printf("%lu messages: %lu learned, %lu moved, %lu already learned, %lu forgotten, "
		       "%lu not learned, %lu failed\n", lr.n, lr.counts[BAYES_LEARNED],
		       lr.counts[BAYES_MOVED], lr.counts[BAYES_UNCHANGED],
		       lr.counts[BAYES_FORGOTTEN], lr.counts[BAYES_UNKNOWN], lr.failed);
	}
	return lr.rc;
}

/* cmd_bayes - bayes stats */
static int cmd_bayes(struct engine *e, int argc, char **argv, bool json)
{
	struct bayes_stats st;
	char *err = NULL, last[32];

	if (argc != 2 || strcmp(argv[1], "stats"))
		ctl_usage();
	if (bayes_stats(e, &st, &err) < 0)
		return fail(err);
	iso_time(st.last, last, sizeof(last));
	if (json) {
		printf("{\"spam\":%.0f,\"ham\":%.0f,\"tokens\":%lld,\"used_memory\":%lld,"
		       "\"last_learn\":%.0f,\"min_spam\":%ld,\"min_ham\":%ld,\"active\":%s}\n",
		       st.spam, st.ham, st.tokens, st.used_memory, st.last,
		       e->cfg->bayes_min_spam, e->cfg->bayes_min_ham,
		       e->cfg->bayes && st.spam >= (double)e->cfg->bayes_min_spam &&
		       st.ham >= (double)e->cfg->bayes_min_ham ? "true" : "false");
		return 0;
	}
	printf("spam learned   %.0f (bayes_min_spam %ld)\n", st.spam, e->cfg->bayes_min_spam);
	printf("ham learned    %.0f (bayes_min_ham %ld)\n", st.ham, e->cfg->bayes_min_ham);
	printf("tokens         %lld (about %lld bytes at %d bytes each)\n", st.tokens,
	       st.tokens * BAYES_BYTES_PER_TOKEN, BAYES_BYTES_PER_TOKEN);
	if (st.used_memory >= 0)
		printf("redis memory   %lld bytes (used_memory, every key)\n", st.used_memory);
	printf("last learned   %s\n", last);
	printf("classifier     %s\n", !e->cfg->bayes ? "off (bayes = no)" :
	       st.spam >= (double)e->cfg->bayes_min_spam && st.ham >= (double)e->cfg->bayes_min_ham ?
	       "voting" : "silent: below the minimum");
	return 0;
}

/* tail_print - one log entry per line */
static bool tail_print(const struct rep_log_entry *le, void *arg)
{
	bool json = *(bool *)arg;

	if (json) {
		printf("{\"id\":");
		ctl_json_str(stdout, le->id);
		for (size_t i = 0; i < 11; i++) {
			printf(",\"%s\":", rep_log_fields[i]);
			ctl_json_str(stdout, le->field[i]);
		}
		printf("}\n");
	} else {
		char ts[32];
		iso_time(le->field[1] ? atof(le->field[1]) : 0, ts, sizeof(ts));
		printf("%s", ts);
		for (size_t i = 0; i < 11; i++) {
			const char *v = le->field[i];
			if (i == 1)
				continue;
			printf(" %s=", rep_log_fields[i]);
			for (const char *p = v && *v ? v : "-"; *p; p++)
				putchar((unsigned char)*p <= ' ' || *p == 0x7f ? '?' : *p);
		}
		printf("\n");
	}
	fflush(stdout);
	return true;
}

/* cmd_tail - tail [--all] [--count N] */
static int cmd_tail(struct engine *e, int argc, char **argv, bool json)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "all", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	long count = 0;
	const char *start = "$";
	char *err = NULL, *end;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'n') {
			count = strtol(optarg, &end, 10);
			if (*end || count < 1)
				ctl_usage();
		} else if (c == 'a') {
			start = "0";
		} else {
			ctl_usage();
		}
	}
	if (optind != argc)
		ctl_usage();
	if (rep_tail(e, start, count, tail_print, &json, &err) < 0)
		return fail(err);
	return 0;
}

/* cmd_stats - stats [HOURS] */
static int cmd_stats(struct engine *e, int argc, char **argv, bool json)
{
	struct rep_stats_row *rows;
	long hours = 24;
	char *err = NULL, *end;

	if (argc > 2)
		ctl_usage();
	if (argc == 2) {
		hours = strtol(argv[1], &end, 10);
		if (*end || hours < 1 || hours > 720) {
			fprintf(stderr, "parapetctl: HOURS must be 1 to 720\n");
			return 2;
		}
	}
	if (rep_stats(e, (int)hours, &rows, &err) < 0)
		return fail(err);
	if (!json)
		printf("%-13s %9s %11s %9s %9s %9s\n", "hour (UTC)", "accept", "quarantine",
		       "tempfail", "reject", "total");
	else
		printf("[");
	for (long i = 0; i < hours; i++) {
		const struct rep_stats_row *r = &rows[i];
		long long total = rep_stats_total(r);
		if (json)
			printf("%s{\"hour\":\"%s\",\"accept\":%lld,\"quarantine\":%lld,"
			       "\"tempfail\":%lld,\"reject\":%lld,\"total\":%lld}",
			       i ? "," : "", r->hour, r->accept, r->quarantine, r->tempfail,
			       r->reject, total);
		else
			printf("%.4s-%.2s-%.2s %.2sh %9lld %11lld %9lld %9lld %9lld\n", r->hour,
			       r->hour + 4, r->hour + 6, r->hour + 8, r->accept, r->quarantine,
			       r->tempfail, r->reject, total);
	}
	if (json)
		printf("]\n");
	free(rows);
	return 0;
}

/* ctl_rep_command - dispatch */
int ctl_rep_command(int argc, char **argv)
{
	bool json = strip_json(&argc, argv);
	struct engine *e;
	int rc;

	if (strcmp(argv[0], "rep") == 0 &&
	    (argc < 2 || (strcmp(argv[1], "show") && strcmp(argv[1], "top") &&
			  strcmp(argv[1], "set") && strcmp(argv[1], "clear"))))
		ctl_usage();
	e = ctl_engine();
	if (strcmp(argv[0], "learn") == 0 || strcmp(argv[0], "forget") == 0)
		rc = cmd_learn(e, argc, argv, json);
	else if (strcmp(argv[0], "bayes") == 0)
		rc = cmd_bayes(e, argc, argv, json);
	else if (strcmp(argv[0], "tail") == 0)
		rc = cmd_tail(e, argc, argv, json);
	else if (strcmp(argv[0], "stats") == 0)
		rc = cmd_stats(e, argc, argv, json);
	else if (strcmp(argv[1], "show") == 0)
		rc = rep_show_cmd(e, argc, argv, json);
	else if (strcmp(argv[1], "top") == 0)
		rc = rep_top_cmd(e, argc, argv, json);
	else if (strcmp(argv[1], "set") == 0)
		rc = rep_set_cmd(e, argc, argv);
	else
		rc = rep_clear_cmd(e, argc, argv);
	engine_unref(e);
	return rc;
}
