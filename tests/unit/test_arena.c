/*
 * test_arena.c - base/arena.c: alignment, strings, chunks growing to their
 * cap, a large request in a chunk of its own, reuse after arena_free, and
 * the message model's use of it (msg_free releases every field at once).
 */
#include "autoconfig.h"

#include <pthread.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/spare.h"
#include "mail/message.h"
#include "unit.h"

START_TEST(basics)
{
	struct arena a;

	arena_init(&a, 1 << 24);
	ck_assert_uint_eq(a.used, 0);
	char *s = arena_strdup(&a, "hello");
	char *t = arena_strndup(&a, "world, long", 5);
	char *u = arena_strndup(&a, "ab\0cd", 5);
	ck_assert_str_eq(s, "hello");
	ck_assert_str_eq(t, "world");
	ck_assert_str_eq(u, "ab");
	for (size_t n = 1; n < 100; n++) {
		unsigned char *p = arena_alloc(&a, n);
		ck_assert_uint_eq((uintptr_t)p % 16, 0);
		memset(p, 0xAB, n);
	}
	unsigned char *z = arena_calloc(&a, 3000);
	for (size_t i = 0; i < 3000; i++)
		ck_assert_uint_eq(z[i], 0);
	ck_assert_str_eq(s, "hello");	/* earlier allocations untouched */
	ck_assert_str_eq(t, "world");
	arena_free(&a);
	ck_assert_uint_eq(a.used, 0);
	ck_assert_str_eq(arena_strdup(&a, "again"), "again");
	arena_free(&a);
}
END_TEST

/* chunks double up to ARENA_CHUNK_MAX; a large request gets its own */
START_TEST(chunks)
{
	struct arena a;

	arena_init(&a, (size_t)1 << 30);
	for (int i = 0; i < 4000; i++)
		arena_alloc(&a, 256);
	/* 1 MB in chunks of 4, 8, 16, 32 and then 64 KB */
	ck_assert_uint_ge(a.used, 4000 * 256);
	ck_assert_uint_le(a.used, 4000 * 256 + 2 * ARENA_CHUNK_MAX);
	ck_assert_uint_eq(a.next, ARENA_CHUNK_MAX);
	size_t before = a.used;
	char *big = arena_alloc(&a, 1 << 20);
	memset(big, 1, 1 << 20);
	ck_assert_uint_eq(a.used, before + (1 << 20));
	ck_assert_uint_eq(a.next, ARENA_CHUNK_MAX);
	arena_free(&a);
}
END_TEST

/* the model: fields, envelope and decoded values come from the arena
 * and msg_free releases them (ASan/LSan builds see a leak otherwise) */
/* shelf - spare objects wait up to SPARE_MAX, last in first out; a full
 * shelf refuses (the caller frees); threads handing theirs on at exit
 * leave them for the next ones */
static struct spare shelf = SPARE_INIT;

static void *give_one(void *arg)
{
	(void)arg;
	void *p = spare_take(&shelf);
	if (p == NULL)
		p = xmalloc(16);
	if (!spare_give(&shelf, p))
		free(p);
	return NULL;
}

START_TEST(spare_shelf)
{
	static int objs[SPARE_MAX + 1];

	ck_assert_ptr_null(spare_take(&shelf));
	for (int i = 0; i < SPARE_MAX; i++)
		ck_assert(spare_give(&shelf, &objs[i]));
	ck_assert(!spare_give(&shelf, &objs[SPARE_MAX]));
	for (int i = SPARE_MAX; i > 0; i--)
		ck_assert_ptr_eq(spare_take(&shelf), &objs[i - 1]);
	ck_assert_ptr_null(spare_take(&shelf));

	pthread_t th[8];
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, give_one, NULL), 0);
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	ck_assert_uint_ge(shelf.n, 1);
	ck_assert_uint_le(shelf.n, 8);
	for (void *p; (p = spare_take(&shelf)) != NULL;)
		free(p);
}
END_TEST

START_TEST(message)
{
	struct msg *m = msg_new(1024);

	msg_set_client(m, "192.0.2.1", "client.example", "helo.example");
	msg_set_from(m, " <a@example.org> ");
	msg_add_rcpt(m, "<b@example.net>");
	msg_set_qid(m, "QID1");
	msg_add_header(m, "Subject", " =?utf-8?q?caf=C3=A9?=\r\n\tnow");
	msg_add_header(m, "From", " A <a@example.org>");
	msg_end_headers(m);
	ck_assert_uint_gt(m->arena.used, 0);
	ck_assert_str_eq(m->mail_from, "a@example.org");
	ck_assert_str_eq(m->rcpts[0], "b@example.net");
	ck_assert_str_eq(m->qid, "QID1");
	ck_assert_str_eq(m->hdrs[0].value, "=?utf-8?q?caf=C3=A9?=\tnow");
	/* decoded: the fold and its tab one space, as SpamAssassin's header() */
	ck_assert_str_eq(m->hdrs[0].decoded, "caf\xc3\xa9 now");
	ck_assert_ptr_eq(m->hdrs[1].decoded, m->hdrs[1].value);
	msg_end_headers(m);	/* decoding twice keeps the right values */
	ck_assert_str_eq(m->hdrs[0].decoded, "caf\xc3\xa9 now");
	msg_free(m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("arena");
	TCase *tc = tcase_create("arena");
	tcase_add_test(tc, basics);
	tcase_add_test(tc, chunks);
	tcase_add_test(tc, spare_shelf);
	tcase_add_test(tc, message);
	suite_add_tcase(s, tc);
	return unit_main(s);
}
