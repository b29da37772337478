/*
 * fuzz_tokens.c - libFuzzer target: the Bayes tokenizer (mail/tokens.c).
 * The first byte picks the path: 0xFF, the bytes are a reply of the
 * classifier's read script (bayes_counts_parse: no read past them, every
 * count finite and >= 0, the length checked); else odd, the bytes are one body text
 * (tokens_text), whose tokens tokens_text_general must make too, byte for
 * byte and in the same order (plain_word's twin, add_pairs then
 * split_word, on every word); even, they are a whole message fed through
 * a scan without stages, then tokens_of.  The caps (tokens, word pairs)
 * must always hold.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "core/config.h"
#include "core/engine.h"
#include "core/mboxfile.h"
#include "core/scan.h"
#include "mail/tokens.h"
#include "mail/tokens_int.h"
#include "rules/rules.h"
#include "stages/bayes/bayes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct engine *engine;

/* same_tokens - a and b hold the same tokens (text and hash) in the
 * same order, and agree on the pairs and the cap */
static bool same_tokens(const struct tokens *a, const struct tokens *b)
{
	if (a->n != b->n || a->npairs != b->npairs || a->capped != b->capped)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->hash[i] != b->hash[i] || strcmp(tokens_str(a, i), tokens_str(b, i)) != 0)
			return false;
	return true;
}

/* setup - an engine without stages or rules: only the message model */
static void setup(void)
{
	char *err = NULL;
	struct diag d;
	struct config *cfg = config_parse_buf("f", "max_scan_bytes = 65536\n", 23, &err);
	static const struct stage *const none[] = { NULL };

	diag_init(&d);
	struct ruleset *rs = rules_load_text("f.cf", "", NULL, &d);
	if (cfg == NULL || rs == NULL)
		abort();
	diag_free(&d);
	engine = engine_new(cfg, rs, none);
	log_set_level(LOG_LVL_ERROR);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tokens t, g;

	if (engine == NULL)
		setup();
	if (size == 0)
		return 0;
	if (data[0] == 0xFF) {
		/* an exact-size copy, so ASan sees a read past the reply */
		char *reply = xmalloc(size - 1 ? size - 1 : 1);
		double counts[64];
		/* as many doubles as there are, or one more or less */
		size_t want = ((size - 1) / 8 + (size % 3) - 1) % 64;
		memcpy(reply, data + 1, size - 1);
		bool ok = bayes_counts_parse(reply, size - 1, counts, want);
		if (ok)
			for (size_t i = 0; i < want; i++)
				if (!(counts[i] >= 0 && counts[i] <= 1e15))
					abort();
		/* the classifier's own reading: the same verdict, and each
		 * probability bayes_token_prob of the same counts */
		if (want >= 2 && want % 2 == 0) {
			double ns, nn, prob[31];
			size_t n = (want - 2) / 2;
			if (bayes_reply_probs(reply, size - 1, n, &ns, &nn, prob) != ok)
				abort();
			for (size_t i = 0; ok && i < n; i++)
				if (memcmp(&prob[i], &(double){ bayes_token_prob(counts[2 + 2 * i],
						 counts[3 + 2 * i], ns, nn) }, sizeof(double)) != 0)
					abort();
		}
		free(reply);
		return 0;
	}
	tokens_init(&t);
	if (data[0] & 1) {
		/* the second byte's low bit: a prefix (the pairs carry it) */
		const char *prefix = size > 1 && data[1] & 1 ? "X:" : "";
		tokens_text(&t, prefix, (const char *)data + 1, size - 1, true);
		tokens_init(&g);
		tokens_text_general(&g, prefix, (const char *)data + 1, size - 1, true);
		if (!same_tokens(&t, &g))
			abort();
		tokens_free(&g);
	} else {
		struct scan *sc = scan_new(engine);
		mboxfile_feed(sc, (const char *)data + 1, size - 1);
		tokens_of(sc->msg, &t);
		scan_free(sc);
	}
	if (t.n > TOKENS_MAX || t.npairs > TOKENS_PAIRS_MAX || t.npairs > t.n)
		abort();
	for (size_t i = 0; i < t.n; i++)
		if (tokens_str(&t, i)[0] == '\0')
			abort();
	tokens_free(&t);
	return 0;
}
