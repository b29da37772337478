/*
 * test_bayes.c - the Bayes classifier's pure parts: the tokenizer
 * (mail/tokens.c), Robinson's f(w), the chi-square combining and the
 * token selection against hand-computed values (stages/bayes/bayes.c),
 * and eval:check_bayes's bands (rules/eval_bayes.c).
 */
#include "unit.h"

#include <math.h>

#include "mail/tokens.h"
#include "mail/tokens_int.h"
#include "rules/eval.h"
#include "rules/rules.h"
#include "stages/bayes/bayes.h"

/* has - is the token in t? */
static bool has(const struct tokens *t, const char *s)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(tokens_str(t, i), s) == 0)
			return true;
	return false;
}

/* body - tokens of one body text */
static void body(struct tokens *t, const char *text)
{
	tokens_init(t);
	tokens_text(t, "", text, strlen(text), true);
}

static const struct {
	const char *text;
	const char *want[10];
	const char *not[4];
} body_cases[] = {
	/* Title Case lowered at line and sentence start, variants added */
	{ "Hello World. Click HERE now!!",
	  { "hello", "World", "world", "click", "HERE", "here", "now!!", "now" },
	  { "Hello", "Click", NULL } },
	{ "ab to abc", { "abc", NULL }, { "ab", "to", NULL } },
	{ "xx abcdefghijklmnopqrstuvwxyz", { "sk:abcdefg", NULL },
	  { "abcdefghijklmnopqrstuvwxyz", NULL } },
	{ "mail joe@example.com", { "U*joe", "D*example.com", "D*com", "joe@example.com", NULL },
	  { NULL } },
	{ "see www.example.org", { "UD:www.example.org", "UD:example.org", "UD:org", NULL },
	  { NULL } },
	{ "wait...what", { "wait", "what", NULL }, { "wait...what", NULL } },
	{ "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86\xe3\x82\xad",
	  { "u8:\xe6\x97\xa5", "u8:\xe3\x82\xad", NULL }, { NULL } },
	{ "\"quoted,\" -dash-", { "quoted", "dash", NULL }, { "\"quoted", NULL } },
	/* adjacent word pairs, lower-cased, split at punctuation */
	{ "Get FREE money-back offers, now!",
	  { "get free", "free money", "money back", "back offers", "offers now!", NULL },
	  { "FREE money", "free money-back", "offers, now!", NULL } },
	/* a word over TOKEN_MAX_LEN breaks the chain; one byte does not */
	{ "aa abcdefghijklmnopqrstuvwxyz bb x cc", { "bb cc", NULL },
	  { "aa bb", "aa abcdefghijklmnopqrstuvwxyz", "bb x", NULL } },
};

START_TEST(tokenize_body)
{
	struct tokens *t = xmalloc(sizeof(*t));

	body(t, body_cases[_i].text);
	for (size_t k = 0; body_cases[_i].want[k]; k++)
		ck_assert_msg(has(t, body_cases[_i].want[k]), "%s: missing %s",
			      body_cases[_i].text, body_cases[_i].want[k]);
	for (size_t k = 0; body_cases[_i].not[k]; k++)
		ck_assert_msg(!has(t, body_cases[_i].not[k]), "%s: has %s", body_cases[_i].text,
			      body_cases[_i].not[k]);
	tokens_free(t);
	free(t);
}
END_TEST

/* 5,000 distinct words: the first TOKENS_MAX, capped, no more text */
START_TEST(tokenize_cap)
{
	struct tokens *t = xmalloc(sizeof(*t));
	struct buf b;

	buf_init(&b);
	for (int i = 0; i < 5000; i++)
		buf_printf(&b, "word%05d ", i);
	body(t, b.data);
	ck_assert_uint_eq(t->n, TOKENS_MAX);
	ck_assert(t->capped);
	ck_assert(has(t, "word00000"));
	ck_assert(has(t, "word00000 word00001"));
	ck_assert(!has(t, "word04999"));
	ck_assert_uint_lt(t->text.len, 20 * TOKENS_MAX);
	/* the pairs stop at TOKENS_PAIRS_MAX: room is left for the words */
	size_t pairs = 0;
	for (size_t i = 0; i < t->n; i++)
		pairs += strchr(tokens_str(t, i), ' ') != NULL;
	ck_assert_uint_eq(pairs, TOKENS_PAIRS_MAX);
	ck_assert_uint_eq(t->npairs, TOKENS_PAIRS_MAX);
	tokens_free(t);
	free(t);
	buf_free(&b);
}
END_TEST

/* the word pairs carry tokens_text's prefix as its words do (a prefixed
 * pair must not count as the body's pair of the same words) */
START_TEST(tokenize_pairs_prefix)
{
	struct tokens *t = xmalloc(sizeof(*t));
	const char *text = "Free money now";

	tokens_init(t);
	tokens_text(t, "X:", text, strlen(text), true);
	ck_assert(has(t, "X:free"));
	ck_assert(has(t, "X:free money"));
	ck_assert(has(t, "X:money now"));
	ck_assert(!has(t, "free money"));
	ck_assert(!has(t, "money now"));
	ck_assert_uint_eq(t->npairs, 2);
	tokens_free(t);
	free(t);
}
END_TEST

/* plain_word's twin words: body words around the edges of the plain
 * path (letters and digits alone, 2 to TOKEN_MAX_LEN bytes once trim_punct's
 * bytes are off the ends), each with whether tokens_text takes that path
 * for it alone (the check below then sees plain_word run) */
static const struct {
	const char *word;
	bool plain;
} twin_words[] = {
	{ "hello", true }, { "Hello", true }, { "HeLLo", true }, { "HELLO", true },
	{ "hELLO", true }, { "Zz", true }, { "ab", true }, { "AB", true }, { "a", false },
	{ "A", false }, { "42", true }, { "123", true }, { "abc123", true }, { "9AM", true },
	{ "0xFF", true }, { "\"quoted\"", true }, { "'Tis", true }, { "end.", true },
	{ "Word,", true }, { "-dash-", true }, { "...dots...", true }, { "\"Mixed,\"", true },
	{ "'A'", false }, { "\"ab\"", true }, { "--", false }, { "don't", false },
	{ "money-back", false }, { "wait...what", false }, { "a--b", false }, { "now!!", false },
	{ "$100", false }, { "ab*cd", false }, { "Abc_", false }, { "@Abc", false },
	{ "x@y.com", false }, { "www.Example.org", false },
	{ "caf\xc3\xa9", false }, { "CAF\xc3\x89", false }, { "na\xc3\xafve", false },
	{ "caf\xe9", false }, { "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", false },
	{ "\xc3\xa9t\xc3\xa9", false }, { "abc\xe2\x80\x99s", false },
	/* at the length limit (TOKEN_MAX_LEN 15) and either side of it */
	{ "abcdefghijklmn", true }, { "abcdefghijklmno", true }, { "ABCDEFGHIJKLMNO", true },
	{ "Abcdefghijklmno", true }, { "\"abcdefghijklmno\"", true },
	{ "abcdefghijklmno.", true }, { "abcdefghijklmnop", false },
	{ "ABCDEFGHIJKLMNOP", false }, { "1234567890123456", false },
	{ "abcdefghijklmnopq", false }, { "abcdefg", true }, { "abcdefgh1", true },
	{ "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
	  "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
	  "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
	  "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz", false },
};

/* twin_check - text's tokens by tokens_text and by tokens_text_general
 * (every word by add_pairs and split_word): the same, byte for byte, in
 * the same order; returns how many fewer words the plain way remembered
 * (plain_word's words skip the set of words: > 0 if it ran) */
static size_t twin_check(const char *prefix, const char *text)
{
	struct tokens *fast = xmalloc(sizeof(*fast)), *gen = xmalloc(sizeof(*gen));

	tokens_init(fast);
	tokens_init(gen);
	tokens_text(fast, prefix, text, strlen(text), true);
	tokens_text_general(gen, prefix, text, strlen(text), true);
	for (size_t i = 0; i < fast->n && i < gen->n; i++) {
		ck_assert_msg(strcmp(tokens_str(fast, i), tokens_str(gen, i)) == 0,
			      "[%s]%s: token %zu is %s by plain_word, %s by split_word", prefix,
			      text, i, tokens_str(fast, i), tokens_str(gen, i));
		ck_assert_msg(fast->hash[i] == gen->hash[i], "[%s]%s: hash of %s", prefix, text,
			      tokens_str(fast, i));
	}
	ck_assert_msg(fast->n == gen->n, "[%s]%s: %zu tokens by plain_word, %zu by split_word",
		      prefix, text, fast->n, gen->n);
	ck_assert_uint_eq(fast->npairs, gen->npairs);
	ck_assert_uint_eq(fast->capped, gen->capped);
	ck_assert_uint_le(fast->nwords, gen->nwords);
	size_t fewer = gen->nwords - fast->nwords;
	tokens_free(fast);
	tokens_free(gen);
	free(fast);
	free(gen);
	return fewer;
}

/* each twin word makes the same tokens by plain_word as by add_pairs and
 * split_word: alone, after a word (a pair), before one (the chain it
 * leaves), at a sentence's start (Title Case), twice, prefixed */
START_TEST(tokenize_plain_twin)
{
	const char *w = twin_words[_i].word;
	/* # is the word */
	static const char *const around[] = {
		"Prev # next", "WORD # Next", "x. # y", "line\n#\n# end", "# #", "\"#\", then",
		"a #, bb-cc # ccc",
	};
	struct buf b;

	ck_assert_uint_eq(twin_check("", w), twin_words[_i].plain);
	buf_init(&b);
	for (size_t k = 0; k < sizeof(around) / sizeof(*around); k++) {
		buf_reset(&b);
		for (const char *p = around[k]; *p; p++)
			if (*p == '#')
				buf_puts(&b, w);
			else
				buf_putc(&b, *p);
		twin_check("", b.data);
		twin_check("X:", b.data);
	}
	buf_free(&b);
}
END_TEST

/* the twin words one after another, one text: each pair across them;
 * then words enough to reach TOKENS_PAIRS_MAX and TOKENS_MAX, plain and
 * not by turns: both ways stop at the same token */
START_TEST(tokenize_plain_twin_all)
{
	struct buf b;
	size_t plain = 0;

	buf_init(&b);
	for (size_t i = 0; i < sizeof(twin_words) / sizeof(*twin_words); i++) {
		buf_printf(&b, "%s%s", twin_words[i].word, i % 7 == 6 ? ".\n" : " ");
		plain += twin_words[i].plain;
	}
	ck_assert_uint_gt(twin_check("", b.data), plain / 2);
	buf_reset(&b);
	for (int i = 0; i < 3000; i++)
		buf_printf(&b, i % 3 ? "Word%d " : "wo-rd%d, ", i);
	ck_assert_uint_gt(twin_check("", b.data), 0);
	buf_free(&b);
}
END_TEST

/* a learn batch over the script's encoding is split: at most
 * BAYES_LEARN_MSGS_MAX messages and BAYES_LEARN_TOKENS_MAX tokens a call,
 * at least one message, the items in order */
START_TEST(learn_split)
{
	static struct tokens small, big;
	static struct bayes_learn_item it[300];

	small.n = 10;
	big.n = TOKENS_MAX;
	for (size_t i = 0; i < 300; i++)
		it[i].tokens = &small;
	ck_assert_uint_eq(bayes_learn_split(it, 0), 0);
	ck_assert_uint_eq(bayes_learn_split(it, 1), 1);
	ck_assert_uint_eq(bayes_learn_split(it, 32), 32);
	ck_assert_uint_eq(bayes_learn_split(it, 254), 254);
	ck_assert_uint_eq(bayes_learn_split(it, 300), BAYES_LEARN_MSGS_MAX);
	/* 65 messages of 1,000 tokens fit 255 * 255 = 65,025; the 66th not */
	for (size_t i = 0; i < 300; i++)
		it[i].tokens = &big;
	ck_assert_uint_eq(bayes_learn_split(it, 300), BAYES_LEARN_TOKENS_MAX / TOKENS_MAX);
	ck_assert_uint_eq(bayes_learn_split(it, 65), 65);
	/* the limit is the sum in order: 64 big, 25 small fit, not one big more */
	for (size_t i = 64; i < 89; i++)
		it[i].tokens = &small;
	ck_assert_uint_eq(bayes_learn_split(it, 300), 89);
	ck_assert_uint_eq(bayes_learn_split(it + 89, 1), 1);
}
END_TEST

/* the token keys in Redis: prefix, "b:", the hash's 64 bits in base 64,
 * low 6 bits first (values from the loop encoding before the table: a
 * learned database's keys must not change) */
START_TEST(token_keys)
{
	static const struct {
		uint64_t hash;
		const char *key;
	} cases[] = {
		{ 1, "p:b:10000000000" },
		{ UINT64_MAX, "p:b:__________F" },
		{ 0x0123456789abcdefULL, "p:b:ltyg9UMHZ40" },
		{ 0xfedcba9876543210ULL, "p:b:G83LsXfkSxF" },
	};
	char out[BAYES_KEY_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		ck_assert_uint_eq(bayes_token_key("p:", cases[i].hash, out), strlen(cases[i].key));
		ck_assert_str_eq(out, cases[i].key);
	}
}
END_TEST

/* same_hash - every word collides (word_seen's hash forced) */
static uint64_t same_hash(const char *prefix, const char *w, size_t len, bool is_body)
{
	(void)prefix, (void)w, (void)len, (void)is_body;
	return 42;
}

/* a word whose hash collides with an earlier word's is still split (a
 * crafted collision must not hide a spammy word); a real repeat is skipped.
 * The words have inner punctuation: a plain word (letters and digits
 * alone) never goes through the set of words */
START_TEST(tokenize_word_collision)
{
	struct tokens *t = xmalloc(sizeof(*t));
	const char *text = "hel-lo via_gra hel-lo";

	tokens_init(t);
	t->word_hash = same_hash;
	tokens_text(t, "", text, strlen(text), true);
	ck_assert(has(t, "hel-lo"));
	ck_assert_msg(has(t, "via_gra"), "a colliding word hid via_gra");
	ck_assert_uint_eq(t->nwords, 2);
	tokens_free(t);
	free(t);
}
END_TEST

/* a whole message: the chosen header fields with their prefixes */
START_TEST(tokenize_message)
{
	struct engine *e = unit_engine("", "");
	struct scan *sc = unit_scan(e,
		"Received: from a.example (a.example [203.0.113.9]) by mx.test with ESMTP id 4XyZ; "
		"Mon, 1 Jan 2024 00:00:00 +0000\n"
		"From: Joe Sender <joe@mail.example.com>\nTo: you@rcpt.test\n"
		"Subject: Cheap pills\nMessage-ID: <123.abc@mailer.example.net>\n"
		"Content-Type: text/plain; charset=utf-8\nX-Mailer: BulkBlaster 3\n\n"
		"Visit http://www.shop.example/buy now\n");
	struct tokens *t = xmalloc(sizeof(*t));

	tokens_init(t);
	tokens_of(sc->msg, t);
	const char *want[] = {
		"H*F:U*joe", "H*F:D*mail.example.com", "H*F:D*com", "H*F:Sender", "HTo:U*you",
		"HSubject:Cheap", "H*M:D*mailer.example.net", "H*M:D*net", "H*ct:plain", "H*ct:utf-8",
		"H*UA:BulkBlaster", "H*r:ip*203.0.113", "H*r:a.example", "UD:www.shop.example",
		"UD:shop.example", "visit", "pills", "buy now",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++)
		ck_assert_msg(has(t, want[i]), "missing %s", want[i]);
	ck_assert(!has(t, "H*r:4XyZ"));	/* queue id dropped */
	ck_assert(!has(t, "H*UA:BulkBlaster 3"));	/* no pairs from header fields */
	ck_assert(!has(t, "H*r:2024"));	/* date dropped */
	ck_assert(!has(t, "H*ct:text"));
	ck_assert(!has(t, "H*M:123.abc"));
	tokens_free(t);
	free(t);
	scan_free(sc);
	engine_unref(e);
}
END_TEST

/* Robinson's f(w), by hand: p = s*nn / (n*ns + s*nn), then
 * (0.45*0.538 + (s+n)*p) / (0.45 + s+n) (s = 0.45, SpamBayes's, not
 * SpamAssassin's 0.030: see bayes.h) */
START_TEST(token_prob)
{
	ck_assert_double_eq_tol(bayes_token_prob(10, 0, 100, 100), 10.2421 / 10.45, 1e-12);
	ck_assert_double_eq_tol(bayes_token_prob(1, 1, 100, 100), 1.2421 / 2.45, 1e-12);
	ck_assert_double_eq_tol(bayes_token_prob(1, 0, 100, 300), 1.2421 / 1.45, 1e-12);
	ck_assert_double_eq_tol(bayes_token_prob(0, 3, 100, 100), 0.2421 / 3.45, 1e-12);
	/* a token seen once, in ham only, is no longer near-certain ham */
	ck_assert(bayes_token_prob(0, 1, 100, 100) > 0.15);
	ck_assert(bayes_token_prob(0, 0, 100, 100) < 0);
	ck_assert(bayes_token_prob(1, 0, 0, 100) < 0);
}
END_TEST

/* chi2q(4, 2) = e^-2 (1 + 2); combining one token 0.99 with equal
 * priors: S = 1 - 0.5*0.01, H = 1 - 0.5*0.99, (S - H + 1) / 2 = 0.745 */
START_TEST(combine)
{
	double p, one = 0.99, sym[2] = { 0.9, 0.1 };

	ck_assert_double_eq_tol(bayes_chi2q(4, 2), 3 * exp(-2), 1e-12);
	ck_assert_double_eq_tol(bayes_chi2q(0, 5), 1.0, 1e-12);
	ck_assert(bayes_combine(100, 100, &one, 1, &p));
	ck_assert_double_eq_tol(p, 0.745, 1e-12);
	ck_assert(bayes_combine(100, 100, sym, 2, &p));
	ck_assert_double_eq_tol(p, 0.5, 1e-12);
	ck_assert(!bayes_combine(100, 100, &one, 0, &p));
}
END_TEST

/* combine_ref - bayes_combine by its definition: every token's two
 * logs taken, none reused */
static double combine_ref(double ns, double nn, const double *prob, size_t n)
{
	double s = log(ns / (ns + nn)), h = log(nn / (ns + nn));

	for (size_t i = 0; i < n; i++) {
		s += log(1.0 - prob[i]);
		h += log(prob[i]);
	}
	s = 1.0 - bayes_chi2q(-2.0 * s, n);
	h = 1.0 - bayes_chi2q(-2.0 * h, n);
	return ((s - h) + 1.0) / 2.0;
}

/* combining reuses a repeated probability's logs: the very same double
 * as taking them all, on runs of repeats as the selection gives them
 * (and lone values, and a value coming back after another) */
START_TEST(combine_repeats_ref)
{
	static const double vals[] = { 0.999, 0.99, 0.01, 0.98, 0.03, 0.9, 0.12, 0.85 };
	double prob[BAYES_N_SIGNIFICANT], p;
	unsigned x = 777;

	for (int round = 0; round < 50; round++) {
		size_t n = 1 + (size_t)round * 3 % BAYES_N_SIGNIFICANT;
		for (size_t i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			/* mostly the value before: runs of repeats */
			prob[i] = i > 0 && (x >> 16) % 4 ? prob[i - 1] : vals[(x >> 8) % 8];
		}
		ck_assert(bayes_combine(300, 200, prob, n, &p));
		ck_assert(p == combine_ref(300, 200, prob, n));
	}
}
END_TEST

/* strongest first, weak (|p-0.5| < 0.346) and unseen (-1) left out, at
 * most 150 */
START_TEST(select_tokens)
{
	double prob[] = { 0.5, 0.9, 0.15, 0.95, -1, 0.8 };
	double many[200];
	size_t idx[BAYES_N_SIGNIFICANT + 1];

	ck_assert_uint_eq(bayes_select(prob, 6, idx), 3);
	ck_assert_uint_eq(idx[0], 3);
	ck_assert_uint_eq(idx[1], 1);
	ck_assert_uint_eq(idx[2], 2);
	for (int i = 0; i < 200; i++)
		many[i] = i < 100 ? 0.99 : 0.001;
	ck_assert_uint_eq(bayes_select(many, 200, idx), BAYES_N_SIGNIFICANT);
	ck_assert_uint_eq(idx[0], 100);	/* 0.001 is stronger than 0.99 */
	ck_assert_uint_eq(idx[99], 199);
	ck_assert_uint_eq(idx[100], 0);
}
END_TEST

/* select_ref - bayes_select by its definition: the strongest first, the
 * earlier of equal ones first, by repeated scans */
static size_t select_ref(const double *prob, size_t n, size_t *idx)
{
	bool taken[1000] = { false };
	size_t k = 0;

	while (k < BAYES_N_SIGNIFICANT) {
		size_t best = n;
		for (size_t i = 0; i < n; i++)
			if (!taken[i] && prob[i] >= 0 && fabs(prob[i] - 0.5) >= BAYES_MIN_STRENGTH &&
			    (best == n || fabs(prob[i] - 0.5) > fabs(prob[best] - 0.5)))
				best = i;
		if (best == n)
			break;
		taken[best] = true;
		idx[k++] = best;
	}
	return k;
}

/* the selection against its definition on 1,000 tokens of few distinct
 * strengths (many ties), more strong ones than it keeps */
START_TEST(select_tokens_ref)
{
	double prob[1000];
	size_t got[BAYES_N_SIGNIFICANT + 1], want[BAYES_N_SIGNIFICANT + 1];
	unsigned x = 12345;

	for (int round = 0; round < 20; round++) {
		size_t n = 50 * (size_t)(round + 1);
		for (size_t i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			unsigned r = (x >> 16) % 24;
			prob[i] = r == 0 ? -1 : (double)r / 24.0 + (r % 3 ? 0 : 0.01);
		}
		size_t k = bayes_select(prob, n, got);
		ck_assert_uint_eq(k, select_ref(prob, n, want));
		for (size_t j = 0; j < k; j++)
			ck_assert_uint_eq(got[j], want[j]);
	}
}
END_TEST

static const struct {
	bool valid;
	double p;
	const char *lo, *hi;
	unsigned want;
} band_cases[] = {
	{ true, 0.0, "0.00", "0.01", 1 },
	{ true, 0.01, "0.00", "0.01", 1 },
	{ true, 0.01, "0.01", "0.05", 0 },
	{ true, 0.5, "0.40", "0.60", 1 },
	{ true, 0.9995, "0.99", "1.00", 1 },
	{ true, 0.9995, "0.999", "1.00", 1 },
	{ true, 0.995, "0.999", "1.00", 0 },
	{ false, 0.5, "0.40", "0.60", 0 },
};

START_TEST(check_bayes_bands)
{
	const struct eval_def *d = eval_find("check_bayes");
	struct rules_auth au = { .bayes_valid = band_cases[_i].valid,
				 .bayes_prob = band_cases[_i].p };
	struct eval_env env = { .auth = &au };
	const char *argv[] = { band_cases[_i].lo, band_cases[_i].hi };

	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(d->fn(&env, 2, argv), band_cases[_i].want);
	ck_assert(eval_plugin_known("Mail::SpamAssassin::Plugin::Bayes"));
}
END_TEST

/* SpamAssassin's AutoLearnThreshold with the defaults 12.0 / 0.1: H head
 * points, B body points, N network (never counted), L the classifier's
 * (tflags learn: not counted, but vetoes), O other (meta) */
#define H(x) { x, BAYES_AL_HEAD }
#define B(x) { x, BAYES_AL_BODY }
#define N(x) { x, BAYES_AL_NET }
#define L(x) { x, BAYES_AL_LEARN }
#define O(x) { x, BAYES_AL_OTHER }
#define S(x) { x, BAYES_AL_SKIP }
static const struct {
	struct bayes_al_hit h[4];
	bool tagged;
	int want;		/* -1 no, else enum bayes_op */
	const char *why;
} al_cases[] = {
	{ { H(4), B(4), O(5) }, true, BAYES_SPAM, "13 points, 4 head, 4 body" },
	{ { H(2), B(6), O(5) }, true, -1, "too few head points" },
	{ { H(6), B(2.5), O(5) }, true, -1, "too few body points" },
	{ { H(3), B(3), N(20) }, true, -1, "network evidence does not count" },
	{ { H(3), B(3), N(20), O(5.9) }, true, -1, "11.9 without the network" },
	{ { H(3), B(3), O(6) }, true, BAYES_SPAM, "exactly 12" },
	{ { H(4), B(4), O(5) }, false, -1, "spam points but not tagged" },
	{ { H(4), B(4), O(5), L(-1.9) }, true, -1, "the classifier said ham" },
	{ { H(4), B(4), O(5), L(3.5) }, true, BAYES_SPAM, "BAYES_99 not counted" },
	{ { H(1), B(-1.5) }, false, BAYES_HAM, "-0.5: ham" },
	{ { H(1), B(-1.5), N(3) }, false, BAYES_HAM, "ham: network points left out" },
	{ { H(0.1) }, false, -1, "0.1 is not below 0.1" },
	{ { B(-1), L(3.5) }, false, -1, "ham points but the classifier said spam" },
	{ { B(-1), N(9) }, true, -1, "ham points but tagged" },
	{ { H(2), B(2) }, false, -1, "between the thresholds" },
	{ { H(3), B(3), S(100) }, true, -1, "noautolearn (a block list) not counted" },
	{ { B(-1), S(-100) }, false, BAYES_HAM, "ham: a welcome list not counted" },
	{ { O(0) }, false, BAYES_HAM, "nothing hit: ham" },
};

START_TEST(autolearn_decide)
{
	enum bayes_op op = BAYES_FORGET;
	size_t n = 0;

	while (n < 4 && (al_cases[_i].h[n].score != 0 || al_cases[_i].h[n].part != 0))
		n++;
	int r = bayes_autolearn_decide(12.0, 0.1, al_cases[_i].h, n, al_cases[_i].tagged, &op);
	ck_assert_msg(r == (al_cases[_i].want >= 0), "%s: %d", al_cases[_i].why, r);
	if (r)
		ck_assert_msg((int)op == al_cases[_i].want, "%s: op %d", al_cases[_i].why, op);
}
END_TEST

/* where each kind of rule looks, for the autolearn points */
static const struct {
	const char *name;
	enum rules_part want;
} parts[] = {
	{ "H_SUBJ", RULES_PART_HEAD }, { "H_EX", RULES_PART_HEAD },
	{ "B_BODY", RULES_PART_BODY }, { "B_RAW", RULES_PART_BODY },
	{ "B_URI", RULES_PART_BODY }, { "F_FULL", RULES_PART_OTHER },
	{ "M_META", RULES_PART_OTHER }, { "N_RBL", RULES_PART_NET },
	{ "N_SPF", RULES_PART_NET }, { "N_DKIM", RULES_PART_NET },
	{ "L_BAYES", RULES_PART_LEARN }, { "NO_SUCH", RULES_PART_OTHER },
	{ "T_NET", RULES_PART_NET }, { "T_LEARN", RULES_PART_LEARN },
	{ "T_USER", RULES_PART_SKIP }, { "T_NOAL", RULES_PART_SKIP },
	{ "T_ALH", RULES_PART_HEAD }, { "T_ALB", RULES_PART_BODY },
};

START_TEST(symbol_parts)
{
	struct diag d;
	const char *text =
		"header H_SUBJ Subject =~ /x/\n"
		"header H_EX exists:X-Foo\n"
		"body B_BODY /x/\n"
		"rawbody B_RAW /x/\n"
		"uri B_URI /x/\n"
		"full F_FULL /x/\n"
		"meta M_META H_SUBJ && B_BODY\n"
		"header N_RBL eval:check_rbl('x', 'zen.example.')\n"
		"header N_SPF eval:check_for_spf_pass()\n"
		"header N_DKIM eval:check_dkim_valid()\n"
		"body L_BAYES eval:check_bayes('0.99', '1.00')\n"
		"header T_NET X-Foo =~ /x/\ntflags T_NET net\n"
		"body T_LEARN /x/\ntflags T_LEARN learn\n"
		"header T_USER X-Foo =~ /y/\ntflags T_USER userconf nice\n"
		"body T_NOAL /y/\ntflags T_NOAL noautolearn\n"
		"meta T_ALH H_SUBJ\ntflags T_ALH autolearn_header\n"
		"header T_ALB X-Foo =~ /z/\ntflags T_ALB autolearn_body\n";

	diag_init(&d);
	struct ruleset *rs = rules_load_text("r.cf", text, unit_builtins(), &d);
	ck_assert_ptr_nonnull(rs);
	for (size_t i = 0; i < sizeof(parts) / sizeof(*parts); i++)
		ck_assert_msg(rules_symbol_part(rs, parts[i].name) == parts[i].want, "%s",
			      parts[i].name);
	rules_free(rs);
	diag_free(&d);
}
END_TEST

/* pack - n bytes of u little-endian at out */
static void pack(char *out, uint64_t u, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (char)(u >> (8 * i));
}

/* the read script's reply: whole counts as 4-byte unsigned, anything
 * else as a double after them (0 unless a count), nothing read past len,
 * and false unless the length is exactly what the counts say */
START_TEST(counts_parse)
{
	const double in[] = { 12, 0, 3, 4e6, -1, 1.5, 1e20, NAN, INFINITY, 1e15, 4294967294.0,
			      4294967295.0 };
	const double want[] = { 12, 0, 3, 4e6, 0, 1.5, 0, 0, 0, 1e15, 4294967294.0,
				4294967295.0 };
	enum { N = sizeof(in) / sizeof(*in) };
	char r[4 * N + 8 * N];
	double c[N + 1];
	size_t x = 4 * N;

	for (size_t i = 0; i < N; i++) {
		bool whole = in[i] >= 0 && in[i] < 4294967295.0 && in[i] == floor(in[i]);
		pack(r + 4 * i, whole ? (uint64_t)in[i] : 0xFFFFFFFF, 4);
		if (!whole) {
			uint64_t u;
			memcpy(&u, &in[i], 8);
			pack(r + x, u, 8);
			x += 8;
		}
	}
	ck_assert(bayes_counts_parse(r, x, c, N));
	for (size_t i = 0; i < N; i++)
		ck_assert_msg(c[i] == want[i], "count %zu", i);
	/* little-endian whatever the host's order: 12 is 0c 00 00 00 */
	ck_assert_int_eq(r[0], 12);
	ck_assert(!bayes_counts_parse(r, x - 1, c, N));	/* a double cut short */
	ck_assert(!bayes_counts_parse(r, x + 1, c, N));	/* a byte too many */
	ck_assert(!bayes_counts_parse(r, 4 * 3, c, 4));
	ck_assert(bayes_counts_parse(r, 4 * 4, c, 4));
	ck_assert(!bayes_counts_parse(r, 4 * 4, c, 3));
	ck_assert(!bayes_counts_parse("", 0, c, 1));
	ck_assert(bayes_counts_parse("", 0, c, 0));

	/* the classifier's own reading of the same replies (totals 12 and 0,
	 * then 5 tokens: small counts, a large one, doubles among them)
	 * gives bayes_counts_parse's counts through bayes_token_prob, bit
	 * for bit, and fails where it fails */
	double ns, nn, prob[5];
	ck_assert(bayes_reply_probs(r, x, 5, &ns, &nn, prob));
	ck_assert(ns == want[0] && nn == want[1]);
	ck_assert(bayes_counts_parse(r, x, c, N));
	for (size_t i = 0; i < 5; i++)
		ck_assert_msg(prob[i] == bayes_token_prob(c[2 + 2 * i], c[3 + 2 * i], ns, nn),
			      "token %zu", i);
	ck_assert(!bayes_reply_probs(r, x - 1, 5, &ns, &nn, prob));
	ck_assert(!bayes_reply_probs(r, x + 1, 5, &ns, &nn, prob));
	ck_assert(!bayes_reply_probs(r, x, 4, &ns, &nn, prob));
	/* small counts, each pair's probability taken once and reused */
	char sm[4 * 8];
	const uint32_t v[8] = { 300, 200, 1, 0, 2, 3, 1, 0 };
	for (size_t i = 0; i < 8; i++)
		pack(sm + 4 * i, v[i], 4);
	ck_assert(bayes_reply_probs(sm, sizeof(sm), 3, &ns, &nn, prob));
	for (size_t i = 0; i < 3; i++)
		ck_assert_msg(prob[i] == bayes_token_prob(v[2 + 2 * i], v[3 + 2 * i], 300, 200),
			      "small token %zu", i);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bayes");
	TCase *tc = tcase_create("bayes");

	tcase_add_loop_test(tc, tokenize_body, 0, (int)(sizeof(body_cases) / sizeof(*body_cases)));
	tcase_add_test(tc, tokenize_cap);
	tcase_add_test(tc, tokenize_word_collision);
	tcase_add_test(tc, tokenize_pairs_prefix);
	tcase_add_loop_test(tc, tokenize_plain_twin, 0,
			    (int)(sizeof(twin_words) / sizeof(*twin_words)));
	tcase_add_test(tc, tokenize_plain_twin_all);
	tcase_add_test(tc, learn_split);
	tcase_add_test(tc, token_keys);
	tcase_add_test(tc, tokenize_message);
	tcase_add_test(tc, token_prob);
	tcase_add_test(tc, combine);
	tcase_add_test(tc, combine_repeats_ref);
	tcase_add_test(tc, counts_parse);
	tcase_add_test(tc, select_tokens);
	tcase_add_test(tc, select_tokens_ref);
	tcase_add_loop_test(tc, check_bayes_bands, 0,
			    (int)(sizeof(band_cases) / sizeof(*band_cases)));
	tcase_add_loop_test(tc, autolearn_decide, 0, (int)(sizeof(al_cases) / sizeof(*al_cases)));
	tcase_add_test(tc, symbol_parts);
	suite_add_tcase(s, tc);
	return unit_main(s);
}
