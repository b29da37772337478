/*
 * test_redis.c - the RESP guard of redis.c (issue 12): what a reply may
 * cost before hiredis sees it.  Per size (redis.h: REDIS_SIZE_MESSAGE for
 * the milter's commands, REDIS_SIZE_ADMIN for parapetctl and the
 * dashboard): bytes per round trip, elements of all aggregates together,
 * nesting.  Through redis_parse on bytes, then through redis_exec against
 * a hostile server on a loopback port (a thread of this test), with the
 * process's peak RSS measured around it.
 * A real redis-server is tests/integration/test_redis.py; the daemon
 * against a hostile server is tests/integration/test_redis_hostile.py.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/redis.h"
#include "unit.h"

/* nested - "*outer" of outer "*inner" arrays of inner empty arrays: the
 * audit's reply (16 x 65,536 = a million elements in 4 MB) */
static struct buf nested(int outer, int inner)
{
	struct buf b;

	buf_init(&b);
	buf_printf(&b, "*%d\r\n", outer);
	for (int i = 0; i < outer; i++) {
		buf_printf(&b, "*%d\r\n", inner);
		for (int k = 0; k < inner; k++)
			buf_append(&b, "*0\r\n", 4);
	}
	return b;
}

/* rep_top_reply - what `parapetctl rep top ip 10000` reads: 10,000
 * HMGET replies of 4 fields (as one array here: 50,000 elements) */
static struct buf rep_top_reply(void)
{
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "*10000\r\n");
	for (int i = 0; i < 10000; i++)
		buf_puts(&b, "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$10\r\n1700000000\r\n$-1\r\n");
	return b;
}

/* parse_n - redis_parse, values freed; the count or -1 */
static int parse_n(const char *data, size_t len, enum redis_size size)
{
	struct redis_val v[8];
	int n = redis_parse(data, len, size, v, 8);

	if (n > 0) {
		struct redis_val *heap = xcalloc((size_t)n, sizeof(*heap));
		memcpy(heap, v, (size_t)n * sizeof(*heap));
		redis_vals_free(heap, (size_t)n);
	}
	return n;
}

/* parse_s - parse_n of a C string */
static int parse_s(const char *s, enum redis_size size)
{
	return parse_n(s, strlen(s), size);
}

START_TEST(nested_million_refused)
{
	struct buf b = nested(16, 65536);

	ck_assert_uint_gt(b.len, 4u << 20);
	/* each aggregate is within 65,536: only the total catches it */
	ck_assert_int_eq(parse_n(b.data, b.len, REDIS_SIZE_MESSAGE), -1);
	ck_assert_int_eq(parse_n(b.data, b.len, REDIS_SIZE_ADMIN), -1);
	buf_free(&b);
	/* a 16 kB version (4,112 elements) is still too many for a message */
	b = nested(16, 256);
	ck_assert_uint_lt(b.len, 20000);
	ck_assert_int_eq(parse_n(b.data, b.len, REDIS_SIZE_MESSAGE), -1);
	ck_assert_int_eq(parse_n(b.data, b.len, REDIS_SIZE_ADMIN), 1);
	buf_free(&b);
}
END_TEST

START_TEST(admin_rep_top_fits)
{
	struct buf b = rep_top_reply();

	ck_assert_int_eq(parse_n(b.data, b.len, REDIS_SIZE_ADMIN), 1);
	ck_assert_int_eq(parse_n(b.data, b.len, REDIS_SIZE_MESSAGE), -1);
	buf_free(&b);
}
END_TEST

START_TEST(message_replies_fit)
{
	/* 12 pipelined HMGETs of spam ham seen (REP_MAX_KEYS) */
	struct buf b;

	buf_init(&b);
	for (int i = 0; i < 8; i++)
		buf_puts(&b, "*3\r\n$8\r\n2.500000\r\n$1\r\n1\r\n$10\r\n1700000000\r\n");
	ck_assert_int_eq(parse_n(b.data, b.len, REDIS_SIZE_MESSAGE), 8);
	buf_free(&b);
	/* ROLE of a master with two replicas: 3 levels */
	ck_assert_int_eq(parse_s("*3\r\n$6\r\nmaster\r\n:10\r\n*2\r\n"
				 "*3\r\n$9\r\n127.0.0.1\r\n$4\r\n6380\r\n$2\r\n10\r\n"
				 "*3\r\n$9\r\n127.0.0.1\r\n$4\r\n6381\r\n$2\r\n10\r\n",
				 REDIS_SIZE_MESSAGE), 1);
	/* the greylist script's {all, wait}, an error, nils */
	ck_assert_int_eq(parse_s("*2\r\n:1\r\n:0\r\n-NOSCRIPT x\r\n$-1\r\n*-1\r\n+OK\r\n",
				 REDIS_SIZE_MESSAGE), 5);
}
END_TEST

START_TEST(depth_capped)
{
	const char *four = "*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n";
	/* XREAD: streams, [name, entries], entries, [id, fields], fields */
	const char *xread = "*1\r\n*2\r\n$3\r\nlog\r\n*1\r\n*2\r\n$3\r\n1-0\r\n"
			    "*2\r\n$6\r\naction\r\n$6\r\naccept\r\n";

	ck_assert_int_eq(parse_s(four, REDIS_SIZE_MESSAGE), -1);
	ck_assert_int_eq(parse_s(four, REDIS_SIZE_ADMIN), 1);
	ck_assert_int_eq(parse_s(xread, REDIS_SIZE_MESSAGE), -1);
	ck_assert_int_eq(parse_s(xread, REDIS_SIZE_ADMIN), 1);
	ck_assert_int_eq(parse_s("*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n",
				 REDIS_SIZE_ADMIN), -1);
}
END_TEST

START_TEST(depth_closes_siblings)
{
	/* every kind of value ends its element: depth never leaks from one
	 * sibling to the next (3 levels, 200 times, then more at the top) */
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "*200\r\n");
	for (int i = 0; i < 200; i++)
		buf_puts(&b, "*6\r\n*2\r\n:1\r\n$2\r\nab\r\n*-1\r\n$-1\r\n*0\r\n+OK\r\n-ERR e\r\n");
	buf_puts(&b, "*2\r\n*1\r\n:1\r\n:2\r\n");
	ck_assert_int_eq(parse_n(b.data, b.len, REDIS_SIZE_MESSAGE), 2);
	buf_free(&b);
}
END_TEST

START_TEST(elements_add_up)
{
	/* two replies of 3,000 elements: each alone fits a message, not both */
	struct buf b;

	buf_init(&b);
	for (int r = 0; r < 2; r++) {
		buf_puts(&b, "*3000\r\n");
		for (int i = 0; i < 3000; i++)
			buf_puts(&b, ":1\r\n");
	}
	ck_assert_int_eq(parse_n(b.data, b.len / 2, REDIS_SIZE_MESSAGE), 1);
	ck_assert_int_eq(parse_n(b.data, b.len, REDIS_SIZE_MESSAGE), -1);
	ck_assert_int_eq(parse_n(b.data, b.len, REDIS_SIZE_ADMIN), 2);
	buf_free(&b);
}
END_TEST

START_TEST(bytes_capped)
{
	/* a 2 MB string: more than a message's round trip may read */
	struct buf b;
	size_t n = 2u << 20;
	char *big = xmalloc(n);

	memset(big, 'x', n);
	buf_init(&b);
	buf_printf(&b, "$%zu\r\n", n);
	buf_append(&b, big, n);
	buf_puts(&b, "\r\n");
	free(big);
	ck_assert_int_eq(parse_n(b.data, b.len, REDIS_SIZE_MESSAGE), -1);
	ck_assert_int_eq(parse_n(b.data, b.len, REDIS_SIZE_ADMIN), 1);
	buf_free(&b);
}
END_TEST

/* ---------------------------------------------------------------- a hostile server */

struct hostile {
	int listen_fd;
	int port;
	struct buf reply;	/* the answer to anything but ROLE */
	pthread_t tid;
};

/* hostile_serve - one connection at a time: ROLE gets a master's answer,
 * any other request the hostile reply; until the listener is closed */
static void *hostile_serve(void *arg)
{
	struct hostile *h = arg;
	int fd;

	while ((fd = accept(h->listen_fd, NULL, NULL)) >= 0) {
		char req[4096];
		ssize_t n;
		while ((n = read(fd, req, sizeof(req) - 1)) > 0) {
			req[n] = '\0';
			const char *out = h->reply.data;
			size_t len = h->reply.len;
			if (strstr(req, "ROLE")) {
				out = "*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n";
				len = strlen(out);
			}
			/* the client may close after the guard refuses */
			for (size_t off = 0; off < len;) {
				ssize_t w = send(fd, out + off, len - off, MSG_NOSIGNAL);
				if (w <= 0)
					break;
				off += (size_t)w;
			}
		}
		close(fd);
	}
	return NULL;
}

/* hostile_start - listen on a free loopback port */
static void hostile_start(struct hostile *h, struct buf reply)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);

	h->reply = reply;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	h->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(h->listen_fd, 0);
	ck_assert_int_eq(bind(h->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(h->listen_fd, 8), 0);
	ck_assert_int_eq(getsockname(h->listen_fd, (struct sockaddr *)&sa, &sl), 0);
	h->port = ntohs(sa.sin_port);
	ck_assert_int_eq(pthread_create(&h->tid, NULL, hostile_serve, h), 0);
}

/* hostile_stop - close the listener; the thread ends with the client */
static void hostile_stop(struct hostile *h)
{
	shutdown(h->listen_fd, SHUT_RDWR);
	close(h->listen_fd);
	pthread_join(h->tid, NULL);
	buf_free(&h->reply);
}

/* peak_rss_kb - VmHWM of this process */
static long peak_rss_kb(void)
{
	FILE *fp = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	ck_assert_ptr_nonnull(fp);
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	fclose(fp);
	return kb;
}

/* exec_once - one batch of nkeys HMGETs of the given size on pool p */
static int exec_once(struct redis_pool *p, size_t nkeys, enum redis_size size,
		     const char **why)
{
	struct redis_batch b;
	struct redis_val *r = NULL;

	redis_batch_init(&b);
	b.size = size;
	for (size_t i = 0; i < nkeys; i++)
		redis_batch_add(&b, "HMGET", "parapet:rep:ip:192.0.2.1", "spam", "ham", "seen",
				NULL);
	int rc = redis_exec(p, &b, now_ms() + 5000, &r, why, NULL);
	if (rc == 0)
		redis_vals_free(r, b.ncmds);
	redis_batch_free(&b);
	return rc;
}

/* pool_on - a pool for 127.0.0.1:port */
static struct redis_pool *pool_on(int port, struct config **cfg)
{
	char text[128], *err = NULL;

	snprintf(text, sizeof(text), "redis = 127.0.0.1:%d\nredis_timeout_ms = 5000\n", port);
	*cfg = config_parse_buf("test.conf", text, strlen(text), &err);
	ck_assert_msg(*cfg != NULL, "%s", err ? err : "?");
	return redis_pool_get(*cfg);
}

START_TEST(hostile_server_bounded)
{
	struct hostile h;
	struct config *cfg;
	const char *why = NULL;

	hostile_start(&h, nested(16, 65536));
	struct redis_pool *p = pool_on(h.port, &cfg);
	long before = peak_rss_kb();
	/* the milter's read and an administrator's: both refused */
	ck_assert_int_eq(exec_once(p, 5, REDIS_SIZE_MESSAGE, &why), -1);
	ck_assert_str_eq(why, "reply over parapet's size caps");
	ck_assert_int_eq(exec_once(p, 5, REDIS_SIZE_ADMIN, &why), -1);
	ck_assert_str_eq(why, "reply over parapet's size caps");
	long grew = peak_rss_kb() - before;
	/* the reply alone is 4 MB; all of it parsed cost 124 MB before */
	ck_assert_msg(grew < 16 * 1024, "peak RSS grew by %ld kB", grew);
	redis_pool_put(p);
	config_free(cfg);
	hostile_stop(&h);
}
END_TEST

START_TEST(hostile_server_admin_large_ok)
{
	struct hostile h;
	struct config *cfg;
	const char *why = NULL;

	/* 50,000 elements: an administrator's reply, not a message's */
	hostile_start(&h, rep_top_reply());
	struct redis_pool *p = pool_on(h.port, &cfg);
	ck_assert_int_eq(exec_once(p, 1, REDIS_SIZE_ADMIN, &why), 0);
	ck_assert_int_eq(exec_once(p, 1, REDIS_SIZE_MESSAGE, &why), -1);
	ck_assert_str_eq(why, "reply over parapet's size caps");
	redis_pool_put(p);
	config_free(cfg);
	hostile_stop(&h);
}
END_TEST

static Suite *redis_suite(void)
{
	Suite *s = suite_create("redis");
	TCase *t = tcase_create("guard");

	tcase_set_timeout(t, 60);
	tcase_add_test(t, nested_million_refused);
	tcase_add_test(t, admin_rep_top_fits);
	tcase_add_test(t, message_replies_fit);
	tcase_add_test(t, depth_capped);
	tcase_add_test(t, depth_closes_siblings);
	tcase_add_test(t, elements_add_up);
	tcase_add_test(t, bytes_capped);
	tcase_add_test(t, hostile_server_bounded);
	tcase_add_test(t, hostile_server_admin_large_ok);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return unit_main(redis_suite());
}
