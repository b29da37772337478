/*
 * bayes.c - the Bayes classifier (bayes.h): SpamAssassin's combining
 * (Plugin/Bayes.pm, Bayes/CombineChi.pm) written in C, the Redis keys
 * and learn script, and the "bayes" stage.
 */
#include "autoconfig.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/digest.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "core/engine.h"
#include "core/scan.h"
#include "core/stage.h"
#include "mail/message.h"
#include "mail/tokens.h"
#include "net/metrics.h"
#include "net/redis.h"
#include "stages/bayes/bayes.h"
#include "stages/rep/rep_int.h"

#define DETAIL_TOKENS 5		/* strongest tokens each way in the detail */
_Static_assert(TOKENS_MAX <= BAYES_LEARN_TOKENS_MAX, "one message's tokens fit one learn call");

/* ---------------------------------------------------------------- math */

/* bayes_token_prob - see bayes.h */
double bayes_token_prob(double s, double n, double ns, double nn)
{
	if (s + n < 1 || ns <= 0 || nn <= 0)
		return -1;
	double p = (s * nn) / (n * ns + s * nn);
	double robn = s + n;
	return (BAYES_FW_S * BAYES_FW_X + robn * p) / (BAYES_FW_S + robn);
}

/* bayes_chi2q - see bayes.h */
double bayes_chi2q(double x2, size_t halfv)
{
	double m = x2 / 2.0;
	double term = exp(-m), sum = term;

	for (size_t i = 1; i < halfv; i++) {
		term *= m / (double)i;
		sum += term;
	}
	return sum < 1.0 ? sum : 1.0;
}

/* bayes_combine - see bayes.h; logs instead of CombineChi's frexp
 * rescaling (the same numbers: Robinson's f(w) is never 0 or 1).  A
 * probability equal to the one before reuses its logs: the strongest
 * tokens come sorted, and tokens of the same counts (seen once in spam
 * only, say) share a probability, so most are repeats (the same sums,
 * half the log calls of a 25 KB message) */
bool bayes_combine(double ns, double nn, const double *prob, size_t n, double *out)
{
	if (n == 0 || ns + nn <= 0)
		return false;
	double s = log(ns / (ns + nn)), h = log(nn / (ns + nn));
	double last = -1, ls = 0, lh = 0;	/* prob is never -1 here */
	for (size_t i = 0; i < n; i++) {
		if (prob[i] != last) {
			last = prob[i];
			ls = log(1.0 - last);
			lh = log(last);
		}
		s += ls;
		h += lh;
	}
	s = 1.0 - bayes_chi2q(-2.0 * s, n);
	h = 1.0 - bayes_chi2q(-2.0 * h, n);
	*out = ((s - h) + 1.0) / 2.0;
	return true;
}

/* bayes_select - see bayes.h: an insertion into the 150 strongest (ties
 * keep the earlier token), each place found by binary search over the
 * kept strengths and made by one memmove of strength and index side by
 * side (two arrays were two memmove calls a token kept: a 25 KB message
 * keeps 128) */
size_t bayes_select(const double *prob, size_t n, size_t *idx)
{
	struct {
		double s;	/* |p - 0.5| */
		size_t i;
	} top[BAYES_N_SIGNIFICANT];
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (prob[i] < 0)
			continue;
		double si = fabs(prob[i] - 0.5);
		if (si < BAYES_MIN_STRENGTH || (k == BAYES_N_SIGNIFICANT && top[k - 1].s >= si))
			continue;
		/* the first place whose strength is below si */
		size_t lo = 0, hi = k;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (top[mid].s >= si)
				lo = mid + 1;
			else
				hi = mid;
		}
		/* full: the weakest drops out */
		size_t end = k < BAYES_N_SIGNIFICANT ? k++ : k - 1;
		memmove(top + lo + 1, top + lo, (end - lo) * sizeof(*top));
		top[lo].s = si;
		top[lo].i = i;
	}
	for (size_t j = 0; j < k; j++)
		idx[j] = top[j].i;
	return k;
}

/* ---------------------------------------------------------------- storage */

/* B64 - base-64 digit v (0..63) of token keys, as a constant expression */
#define B64(v) ((v) < 10 ? '0' + (v) : (v) < 36 ? 'A' + (v) - 10 : (v) < 62 ? 'a' + (v) - 36 : \
		(v) == 62 ? '-' : '_')
#define B64P(i) { B64((i) & 63), B64(((i) >> 6) & 63) }
#define B64P4(i) B64P(i), B64P((i) + 1), B64P((i) + 2), B64P((i) + 3)
#define B64P16(i) B64P4(i), B64P4((i) + 4), B64P4((i) + 8), B64P4((i) + 12)
#define B64P64(i) B64P16(i), B64P16((i) + 16), B64P16((i) + 32), B64P16((i) + 48)
#define B64P256(i) B64P64(i), B64P64((i) + 64), B64P64((i) + 128), B64P64((i) + 192)
#define B64P1024(i) B64P256(i), B64P256((i) + 256), B64P256((i) + 512), B64P256((i) + 768)

/* b64_pairs - the two digits of each 12 bits (low 6 bits first) */
static const char b64_pairs[4096][2] = {
	B64P1024(0), B64P1024(1024), B64P1024(2048), B64P1024(3072),
};

/* token_key_put - "b:" and the hash's 11 characters of base 64, low 6
 * bits first, at out (BAYES_TOKEN_KEY_LEN bytes, no NUL): two characters
 * a look-up (600 keys a 25 KB message) */
static inline void token_key_put(char *out, uint64_t hash)
{
	_Static_assert(BAYES_TOKEN_KEY_LEN == 13, "b: and 11 characters");
	out[0] = 'b';
	out[1] = ':';
	memcpy(out + 2, b64_pairs[hash & 4095], 2);
	memcpy(out + 4, b64_pairs[(hash >> 12) & 4095], 2);
	memcpy(out + 6, b64_pairs[(hash >> 24) & 4095], 2);
	memcpy(out + 8, b64_pairs[(hash >> 36) & 4095], 2);
	memcpy(out + 10, b64_pairs[(hash >> 48) & 4095], 2);
	out[12] = b64_pairs[hash >> 60][0];	/* B64(hash >> 60): the low digit of 0..15 */
}

/* token_key - bayes_token_key with the prefix's length pl known (learn
 * writes 8,000 keys a batch under one prefix) */
static inline size_t token_key(const char *prefix, size_t pl, uint64_t hash, char *out)
{
	memcpy(out, prefix, pl);
	token_key_put(out + pl, hash);
	out[pl + BAYES_TOKEN_KEY_LEN] = '\0';
	return pl + BAYES_TOKEN_KEY_LEN;
}

/* bayes_token_key - see bayes.h: 11 characters of base 64 (printable,
 * no glob characters, so redis-cli and SCAN MATCH see plain keys) */
size_t bayes_token_key(const char *prefix, uint64_t hash, char *out)
{
	return token_key(prefix, strnlen(prefix, BAYES_KEY_MAX - 16), hash, out);
}

/* bayes_result_name - see bayes.h */
const char *bayes_result_name(enum bayes_result r)
{
	static const char *const names[] = {
		[BAYES_UNCHANGED] = "already learned",
		[BAYES_LEARNED] = "learned",
		[BAYES_MOVED] = "moved",
		[BAYES_FORGOTTEN] = "forgotten",
		[BAYES_UNKNOWN] = "not learned",
	};
	return names[r];
}

/*
 * The learn script, one call for a batch of messages.  KEYS: totals, the
 * n messages' seen:DIGEST, then the batch's nd distinct tokens.  ARGV:
 * TTL, now, BAYES_TTL_MULT, n, then two strings of nd bytes: per distinct
 * token 1 + the number of the batch's spam (then ham) messages that hold
 * it, then per message its class ("s", "h" or "f" to forget) and its
 * tokens as 2 bytes each, 1-based indexes into the distinct tokens
 * ((b1 - 1) * 255 + b2; no byte is 0, see learn_args).  Returns each
 * message's enum bayes_result.
 *
 * Each message is decided in order against its digest as if learned alone
 * (a message learned before as the other class is taken out of that
 * class first; the same digest twice in a batch: the second sees the
 * first).  When every message is new and learned (no move, forget or
 * repeat: a run of parapetctl learn over new mail), the token changes are
 * the per-class counts the client sent.  Otherwise they are summed from
 * the messages' tokens: per distinct token and class the net change and
 * the lowest running sum after a decrement.  Then one HINCRBY per token
 * and class.  A count that a decrement took to 0 (field deleted) before
 * later increments ends where learning one by one leaves it:
 * max(old + net, net - lowest).  Then EXPIRE GT to TTL x min(count, mult)
 * for a token that grew (a field new in this batch tries EXPIRE NX first:
 * GT would treat a new key as never expiring).  So two Redis calls per
 * distinct token of the batch instead of per token of each message.
 * The plain batch has a loop of its own (no per-field table look-ups:
 * the Lua around the calls is a sixth of the script's instructions).
 * The EXPIRE is a PEXPIREAT to the script's TIME + TTL x count, the same
 * moment to the millisecond: Redis rewrites an EXPIRE into a PEXPIREAT
 * for its replication stream, two new argument objects a call (a tenth
 * of the script's cost for the corpus, callgrind on redis-server).
 * Every number handed to redis.call is a string (num, exp): Redis 7.0
 * formats a Lua number argument with snprintf("%.17g"), and Lua's
 * tonumber of an argument is a strtod; with them the script spent a
 * third of its instructions formatting and parsing numbers (README
 * "scripts/bench/bayes").
 */
static struct rep_script script_learn = {
	.name = "bayes_learn",
	.body =
	"local ttl, now, mult, n = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])\n"
	"local byte, nd = string.byte, #KEYS - n - 1\n"
	"local num = setmetatable({}, {__index = function(t, k)\n"
	"  local s = string.format('%d', k)\n"
	"  t[k] = s\n"
	"  return s\n"
	"end})\n"
	"local at = {}\n"
	"local tm = redis.call('TIME')\n"
	"local ms = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)\n"
	"for c = 1, mult do at[c] = num[ms + ttl * c * 1000] end\n"
	"local total = {s = 'spam', h = 'ham'}\n"
	"local seen, res, from, to, changed, plain = {}, {}, {}, {}, false, true\n"
	"for i = 1, n do\n"
	"  local sk, cls = KEYS[1 + i], ARGV[5 + 2 * i]\n"
	"  local prev = seen[sk]\n"
	"  if prev == nil then\n"
	"    prev = redis.call('GET', sk)\n"
	"    if prev ~= 's' and prev ~= 'h' then prev = false end\n"
	"  end\n"
	"  if prev == cls then res[i] = 0\n"
	"  elseif cls == 'f' and not prev then res[i] = 4\n"
	"  else\n"
	"    changed = true\n"
	"    if prev then\n"
	"      from[i] = prev\n"
	"      if redis.call('HINCRBY', KEYS[1], total[prev], '-1') < 0 then\n"
	"        redis.call('HSET', KEYS[1], total[prev], '0')\n"
	"      end\n"
	"    end\n"
	"    if cls == 'f' then\n"
	"      redis.call('DEL', sk)\n"
	"      seen[sk] = false\n"
	"      res[i] = 3\n"
	"    else\n"
	"      to[i] = cls\n"
	"      redis.call('HINCRBY', KEYS[1], total[cls], '1')\n"
	"      redis.call('SET', sk, cls, 'EX', num[ttl * mult])\n"
	"      seen[sk] = cls\n"
	"      res[i] = prev and 2 or 1\n"
	"    end\n"
	"  end\n"
	"  if res[i] ~= 1 then plain = false end\n"
	"end\n"
	"if not changed then return res end\n"
	"redis.call('HSET', KEYS[1], 'last', now)\n"
	"local fields = {'s', 'h'}\n"
	"local sum, low, up = {s = {}, h = {}}, {s = {}, h = {}}, {s = {}, h = {}}\n"
	"if not plain then\n"
	"  for i = 1, n do\n"
	"    local ix, f = ARGV[6 + 2 * i], from[i]\n"
	"    if f then\n"
	"      local s, l = sum[f], low[f]\n"
	"      for x = 1, #ix, 2 do\n"
	"        local b1, b2 = byte(ix, x, x + 1)\n"
	"        local j = (b1 - 1) * 255 + b2\n"
	"        local v = (s[j] or 0) - 1\n"
	"        s[j] = v\n"
	"        if l[j] == nil or v < l[j] then l[j] = v end\n"
	"      end\n"
	"    end\n"
	"    f = to[i]\n"
	"    if f then\n"
	"      local s, u = sum[f], up[f]\n"
	"      for x = 1, #ix, 2 do\n"
	"        local b1, b2 = byte(ix, x, x + 1)\n"
	"        local j = (b1 - 1) * 255 + b2\n"
	"        s[j] = (s[j] or 0) + 1\n"
	"        u[j] = true\n"
	"      end\n"
	"    end\n"
	"  end\n"
	"end\n"
	/*
	 * The plain batch's loop is a near-copy of the general one below, on
	 * purpose: merged into one loop (the fields' tables hoisted into
	 * arrays indexed by field, "if plain" inside), redis-server's
	 * instructions learning 200 corpus spam + 200 ham into an empty
	 * Redis rose 1,790,627,391 -> 1,912,773,306 (+6.8%, callgrind), and
	 * with the per-field step as a local function called twice (no
	 * inner loop) -> 1,945,288,044 (+8.6%): the Lua VM's own
	 * instructions, not the calls.  Change both loops together.
	 */
	"if plain then\n"
	"  local call, cs, ch = redis.call, ARGV[5], ARGV[6]\n"
	"  for j = 1, nd do\n"
	"    local key, c, fresh, gone = KEYS[1 + n + j], 0, false, false\n"
	"    local d = byte(cs, j) - 1\n"
	"    if d > 0 then\n"
	"      local v = call('HINCRBY', key, 's', num[d])\n"
	"      if v <= 0 then\n"
	"        call('HDEL', key, 's')\n"
	"        gone = true\n"
	"      else\n"
	"        c, fresh = v, v == d\n"
	"      end\n"
	"    end\n"
	"    d = byte(ch, j) - 1\n"
	"    if d > 0 then\n"
	"      local v = call('HINCRBY', key, 'h', num[d])\n"
	"      if v <= 0 then\n"
	"        call('HDEL', key, 'h')\n"
	"        gone = true\n"
	"      else\n"
	"        if v > c then c = v end\n"
	"        if v == d then fresh = true end\n"
	"      end\n"
	"    end\n"
	"    if gone and call('HLEN', key) == 0 then\n"
	"      call('DEL', key)\n"
	"    elseif c > 0 then\n"
	"      if c > mult then c = mult end\n"
	"      if not fresh or call('PEXPIREAT', key, at[c], 'NX') == 0 then\n"
	"        call('PEXPIREAT', key, at[c], 'GT')\n"
	"      end\n"
	"    end\n"
	"  end\n"
	"  return res\n"
	"end\n"
	/* the general loop: the plain one above is its copy, see there */
	"local counts = {ARGV[5], ARGV[6]}\n"
	"for j = 1, nd do\n"
	"  local key, c, fresh, gone = KEYS[1 + n + j], 0, false, false\n"
	"  for q = 1, 2 do\n"
	"    local f = fields[q]\n"
	"    local d, l, u\n"
	"    if plain then\n"
	"      d = byte(counts[q], j) - 1\n"
	"      if d == 0 then d = nil end\n"
	"      u = true\n"
	"    else\n"
	"      d, l, u = sum[f][j], low[f][j], up[f][j]\n"
	"    end\n"
	"    if d ~= nil then\n"
	"      local v = redis.call('HINCRBY', key, f, num[d])\n"
	"      if l ~= nil and v < d - l then\n"
	"        v = d - l\n"
	"        if v > 0 then redis.call('HSET', key, f, num[v]) end\n"
	"      end\n"
	"      if v <= 0 then\n"
	"        redis.call('HDEL', key, f)\n"
	"        gone = true\n"
	"      elseif u then\n"
	"        if v > c then c = v end\n"
	"        if l == nil and v == d then fresh = true end\n"
	"      end\n"
	"    end\n"
	"  end\n"
	"  if gone and redis.call('HLEN', key) == 0 then\n"
	"    redis.call('DEL', key)\n"
	"  elseif c > 0 then\n"
	"    if c > mult then c = mult end\n"
	"    if not fresh or redis.call('PEXPIREAT', key, at[c], 'NX') == 0 then\n"
	"      redis.call('PEXPIREAT', key, at[c], 'GT')\n"
	"    end\n"
	"  end\n"
	"end\n"
	"return res\n",
};

static pthread_once_t learn_once = PTHREAD_ONCE_INIT;

/*
 * The read script.  KEYS: totals.  ARGV: redis_prefix, then every token's
 * key without it ("b:HASH", BAYES_TOKEN_KEY_LEN bytes each) in one string:
 * 13 bytes a token written instead of 28 for a key of its own, and no
 * argument to format or parse per token (classification's CPU, README
 * "scripts/bench/bayes").  The token keys are built inside the script, so
 * it needs a standalone Redis (not Cluster), as every parapet key does.
 * Returns one binary string: spam and ham learned, then s and h of each
 * token (0 for a missing one), each a 4-byte little-endian unsigned
 * (struct.pack '<I4'); a value that is not a whole number below
 * 0xFFFFFFFF (never written by learning, but a hand-edited field can
 * hold anything) is 0xFFFFFFFF there and the value itself an 8-byte
 * double ('<d') after all of them, in order.  So every count arrives
 * exact and is taken as it is, not parsed from decimal (the parse was a
 * quarter of the classifier's CPU outside the tokenizer; callgrind,
 * README "scripts/bench/bayes"), in 8 bytes a token: a message's 1,000
 * tokens fit one 16 KB read of hiredis.  (The decimal reply had the
 * counts through Lua's %.14g: the same for every count below 10^14.)
 */
static struct rep_script script_read = {
	.name = "bayes_read",
	.body =
	"local pack, floor = struct.pack, math.floor\n"
	"local out, extra = {}, {}\n"
	"local function cnt(v)\n"
	"  v = tonumber(v) or 0\n"
	"  if v >= 0 and v < 4294967295 and v == floor(v) then return v end\n"
	"  extra[#extra + 1] = pack('<d', v)\n"
	"  return 4294967295\n"
	"end\n"
	"local function two(c)\n"
	"  local a = cnt(c[1])\n"
	"  return pack('<I4I4', a, cnt(c[2]))\n"
	"end\n"
	"out[1] = two(redis.call('HMGET', KEYS[1], 'spam', 'ham'))\n"
	"local p, ks, n = ARGV[1], ARGV[2], 1\n"
	"for i = 1, #ks, " BAYES_TOKEN_KEY_LEN_S " do\n"
	"  n = n + 1\n"
	"  out[n] = two(redis.call('HMGET', p .. string.sub(ks, i, i + " BAYES_TOKEN_KEY_LEN_S " - 1), 's', 'h'))\n"
	"end\n"
	"return table.concat(out) .. table.concat(extra)\n",
};

static pthread_once_t read_once = PTHREAD_ONCE_INIT;

/* digest_learn, digest_read - their EVALSHA names, each when first used:
 * a scan never learns, and the learn script's digest was 100,000
 * instructions of every parapetctl scan (callgrind) */
static void digest_learn(void)
{
	digest_sha1_hex(script_learn.body, strlen(script_learn.body), script_learn.sha);
}

static void digest_read(void)
{
	digest_sha1_hex(script_read.body, strlen(script_read.body), script_read.sha);
}

/* token_slot - the slot of hash in an open-addressed table of mask + 1
 * slots (slot[i] - 1 is an index into hs, 0 empty) */
static size_t token_slot(const uint32_t *slot, const uint64_t *hs, size_t mask, uint64_t hash)
{
	size_t i = (size_t)(hash ^ (hash >> 29)) & mask;

	while (slot[i] != 0 && hs[slot[i] - 1] != hash)
		i = (i + 1) & mask;
	return i;
}

/* args_borrow - one argument that a owns not (learn_call takes it back
 * before rep_args_clear) */
static void args_borrow(struct rep_args *a, char *s)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 32;
		a->v = xrealloc(a->v, a->cap * sizeof(*a->v));
	}
	a->v[a->n++] = s;
}

/* learn_args - KEYS and ARGV of the learn script for a batch (at most
 * BAYES_LEARN_MSGS_MAX messages, BAYES_LEARN_TOKENS_MAX tokens): each distinct token
 * once, the token keys side by side in *keys (not a copy each: 8,000 a
 * batch); returns the number of KEYS */
static size_t learn_args(const struct config *cfg, const struct bayes_learn_item *it, size_t n,
			 struct rep_args *a, char **keys)
{
	size_t total = 0, nd = 0;

	for (size_t m = 0; m < n; m++)
		total += it[m].tokens->n;
	size_t mask = 15;
	while (mask + 1 < 2 * total)
		mask = mask * 2 + 1;
	uint32_t *slot = xcalloc(mask + 1, sizeof(*slot));
	uint64_t *hs = xmalloc((total ? total : 1) * sizeof(*hs));
	/* per distinct token 1 + its spam, then ham messages (one byte) */
	char *cnt[2] = { xmalloc(total + 1), xmalloc(total + 1) };
	/* per message its tokens' indexes, 2 bytes each */
	char *ix = xmalloc(2 * total + n);
	char *w = ix;
	for (size_t m = 0; m < n; m++) {
		const struct tokens *t = it[m].tokens;
		for (size_t i = 0; i < t->n; i++) {
			size_t sl = token_slot(slot, hs, mask, t->hash[i]);
			if (slot[sl] == 0) {
				hs[nd] = t->hash[i];
				cnt[0][nd] = cnt[1][nd] = 1;
				slot[sl] = (uint32_t)++nd;
			}
			uint32_t j = slot[sl] - 1;
			if (it[m].op != BAYES_FORGET)
				cnt[it[m].op == BAYES_SPAM ? 0 : 1][j]++;
			/* 1-based index j + 1 = (b1 - 1) * 255 + b2, bytes 1..255 */
			*w++ = (char)(j / 255 + 1);
			*w++ = (char)(j % 255 + 1);
		}
		*w++ = '\0';
	}
	cnt[0][nd] = cnt[1][nd] = '\0';
	rep_args_add(a, cfg->bayes_totals_key);
	for (size_t m = 0; m < n; m++)
		rep_args_cat(a, cfg->redis_prefix, "bayes:seen:", it[m].digest, (char *)NULL);
	size_t pl = strnlen(cfg->redis_prefix, BAYES_KEY_MAX - 16);	/* as bayes_token_key */
	size_t kl = pl + BAYES_TOKEN_KEY_LEN + 1;
	*keys = xmalloc(nd ? nd * kl : 1);
	for (size_t j = 0; j < nd; j++) {
		char *k = *keys + j * kl;
		token_key(cfg->redis_prefix, pl, hs[j], k);
		args_borrow(a, k);
	}
	size_t nkeys = a->n;
	rep_args_int(a, cfg->bayes_token_ttl);
	rep_args_secs(a, (double)time(NULL));
	rep_args_int(a, BAYES_TTL_MULT);
	rep_args_int(a, (long long)n);
	rep_args_take(a, cnt[0]);
	rep_args_take(a, cnt[1]);
	w = ix;
	for (size_t m = 0; m < n; m++) {
		rep_args_add(a, it[m].op == BAYES_SPAM ? "s" : it[m].op == BAYES_HAM ? "h" : "f");
		rep_args_add(a, w);
		w += 2 * it[m].tokens->n + 1;
	}
	free(slot);
	free(hs);
	free(ix);
	return nkeys;
}

/* learn_call - one learn script call for a batch that fits its encoding */
static int learn_call(struct engine *e, struct bayes_learn_item *it, size_t n, double deadline,
		      const char **why)
{
	struct rep_args a = { 0 };
	struct redis_val *r;

	char *keys;
	size_t nkeys = learn_args(e->cfg, it, n, &a, &keys);
	int rc = rep_script_run(e->redis, &script_learn, nkeys, &a, deadline, &r, why, NULL);
	for (size_t i = 1 + n; i < nkeys; i++)
		a.v[i] = NULL;	/* the token keys: in keys */
	rep_args_clear(&a);
	free(keys);
	if (rc < 0)
		return -1;
	bool ok = r[0].type == REDIS_T_ARRAY && r[0].n == n;
	for (size_t i = 0; i < n; i++) {
		double v = -1;
		if (!ok || !redis_val_number(&r[0].elem[i], &v) || v < 0 || v > BAYES_UNKNOWN) {
			it[i].failed = true;
			continue;
		}
		it[i].failed = false;
		it[i].res = (enum bayes_result)v;
	}
	redis_vals_free(r, 1);
	return 0;
}

/* bayes_learn_split - see bayes.h */
size_t bayes_learn_split(const struct bayes_learn_item *it, size_t n)
{
	size_t k = 0, total = 0;

	while (k < n && k < BAYES_LEARN_MSGS_MAX &&
	       (k == 0 || total + it[k].tokens->n <= BAYES_LEARN_TOKENS_MAX))
		total += it[k++].tokens->n;
	return k;
}

/* bayes_learn_many - see bayes.h; a batch over the script's encoding
 * goes in several calls, in order */
int bayes_learn_many(struct engine *e, struct bayes_learn_item *it, size_t n, double deadline,
		     const char **why)
{
	if (e->redis == NULL) {
		*why = "no redis configured";
		return -1;
	}
	pthread_once(&learn_once, digest_learn);
	while (n > 0) {
		size_t k = bayes_learn_split(it, n);
		if (learn_call(e, it, k, deadline, why) < 0)
			return -1;
		it += k;
		n -= k;
	}
	return 0;
}

/* bayes_learn_tokens - see bayes.h */
int bayes_learn_tokens(struct engine *e, const char *digest, struct tokens *t,
		       enum bayes_op op, double deadline, enum bayes_result *res,
		       const char **why)
{
	struct bayes_learn_item it = { .tokens = t, .op = op };

	memcpy(it.digest, digest, sizeof(it.digest));
	if (bayes_learn_many(e, &it, 1, deadline, why) < 0)
		return -1;
	if (it.failed) {
		*why = "unexpected reply of the learn script";
		return -1;
	}
	*res = it.res;
	return 0;
}

/* ---------------------------------------------------------------- stage */

/* detail - "probability P (N spam, M ham learned; K of T tokens used);
 * spammy: tok (p), ...; hammy: ..." for parapetctl scan */
static char *detail(double p, double ns, double nn, const struct tokens *t,
		    const double *prob, const size_t *idx, size_t k)
{
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "probability ");
	buf_put_fixed(&b, p, 4);
	buf_puts(&b, " (");
	buf_put_fixed(&b, ns, 0);
	buf_puts(&b, " spam, ");
	buf_put_fixed(&b, nn, 0);
	buf_puts(&b, " ham learned; ");
	buf_put_uint(&b, k);
	buf_puts(&b, " of ");
	buf_put_uint(&b, t->n);
	buf_puts(&b, " tokens used");
	buf_puts(&b, t->capped ? ", capped)" : ")");
	for (int spammy = 1; spammy >= 0; spammy--) {
		size_t shown = 0;
		buf_puts(&b, spammy ? "; spammy:" : "; hammy:");
		for (size_t i = 0; i < k && shown < DETAIL_TOKENS; i++) {
			double pi = prob[idx[i]];
			if ((pi > 0.5) != (spammy == 1))
				continue;
			buf_putc(&b, ' ');
			buf_putn(&b, tokens_str(t, idx[i]), 40);
			buf_putc(&b, ' ');
			buf_put_fixed(&b, pi, 3);
			shown++;
		}
		if (shown == 0)
			buf_puts(&b, " -");
	}
	return b.data;
}

/* le_bytes - the n-byte little-endian number at p */
static inline uint64_t le_bytes(const char *p, size_t n)
{
	uint64_t u = 0;

	memcpy(&u, p, n);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	u = __builtin_bswap64(u) >> (64 - 8 * n);
#endif
	return u;
}

/* counts_rd - a reader of the read script's reply: the 4-byte values
 * from s, the 8-byte doubles from x on */
struct counts_rd {
	const char *s;
	size_t len, x;
};

/* count_get - value i of r (read in order: a double is the next one);
 * false when its double is cut short */
static inline bool count_get(struct counts_rd *r, size_t i, double *out)
{
	uint32_t v = (uint32_t)le_bytes(r->s + 4 * i, 4);

	if (v != UINT32_MAX) {
		*out = (double)v;
		return true;
	}
	if (r->len - r->x < 8)
		return false;
	uint64_t u = le_bytes(r->s + r->x, 8);
	double d;
	memcpy(&d, &u, 8);
	r->x += 8;
	/* NaN fails both: a count is never one */
	*out = d >= 0 && d <= 1e15 ? d : 0;
	return true;
}

/* bayes_counts_parse - see bayes.h */
bool bayes_counts_parse(const char *s, size_t len, double *out, size_t n)
{
	if (len / 4 < n)
		return false;
	struct counts_rd r = { .s = s, .len = len, .x = 4 * n };
	for (size_t i = 0; i < n; i++)
		if (!count_get(&r, i, &out[i]))
			return false;
	return r.x == len;
}

#define MEMO_COUNTS 8	/* counts below it: their probability memoized */

/* bayes_reply_probs - see bayes.h: no array of 2,000 counts between the
 * reply and the probabilities (5,000 instructions a 25 KB message).  Most
 * of a message's tokens are rare, and their few pairs of small counts
 * each get bayes_token_prob once (the same double every time) */
bool bayes_reply_probs(const char *s, size_t len, size_t n, double *ns, double *nn,
			double *prob)
{
	size_t nc = 2 + 2 * n;
	double memo[MEMO_COUNTS][MEMO_COUNTS];	/* -2: not yet */

	if (len / 4 < nc)
		return false;
	struct counts_rd r = { .s = s, .len = len, .x = 4 * nc };
	if (!count_get(&r, 0, ns) || !count_get(&r, 1, nn))
		return false;
	for (size_t a = 0; a < MEMO_COUNTS; a++)
		for (size_t b = 0; b < MEMO_COUNTS; b++)
			memo[a][b] = -2;
	for (size_t i = 0; i < n; i++) {
		uint64_t u = le_bytes(s + 8 + 8 * i, 8);
		uint32_t a = (uint32_t)u, b = (uint32_t)(u >> 32);
		if ((a | b) < MEMO_COUNTS) {
			/* neither is 0xFFFFFFFF: no double of r's to read */
			if (memo[a][b] == -2)
				memo[a][b] = bayes_token_prob(a, b, *ns, *nn);
			prob[i] = memo[a][b];
			continue;
		}
		double cs, ch;
		if (!count_get(&r, 2 + 2 * i, &cs) || !count_get(&r, 3 + 2 * i, &ch))
			return false;
		prob[i] = bayes_token_prob(cs, ch, *ns, *nn);
	}
	return r.x == len;
}

/* classify - the totals learned and each token's probability into the
 * scan's probability */
static void classify(struct scan *sc, const struct tokens *t, double ns, double nn,
		     const double *prob)
{
	const struct config *cfg = sc->engine->cfg;

	if (ns < (double)cfg->bayes_min_spam || nn < (double)cfg->bayes_min_ham) {
		metrics_inc(METRIC_BAYES_UNTRAINED);
		return;
	}
	size_t *idx = xcalloc(BAYES_N_SIGNIFICANT + 1, sizeof(*idx));
	size_t k = bayes_select(prob, t->n, idx);
	double sel[BAYES_N_SIGNIFICANT], p;
	for (size_t i = 0; i < k; i++)
		sel[i] = prob[idx[i]];
	if (bayes_combine(ns, nn, sel, k, &p)) {
		sc->bayes_valid = true;
		sc->bayes_prob = p;
		free(sc->bayes_detail);
		sc->bayes_detail = detail(p, ns, nn, t, prob, idx, k);
		metrics_inc(METRIC_BAYES_CLASSIFIED);
	} else {
		/* trained, but no token of this message known or strong */
		struct buf b;
		buf_init(&b);
		buf_puts(&b, "no vote: 0 of ");
		buf_put_uint(&b, t->n);
		buf_puts(&b, t->capped ? " tokens used, capped" : " tokens used");
		free(sc->bayes_detail);
		sc->bayes_detail = b.data;
		metrics_inc(METRIC_BAYES_UNTRAINED);
	}
	free(idx);
}

/* thread_cpu_us - this thread's CPU time so far, µs */
static double thread_cpu_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* bayes_eom - tokens, one script call (one round trip), the probability */
static int bayes_eom(struct scan *sc, void **state)
{
	const struct config *cfg = sc->engine->cfg;
	struct rep_args a = { 0 };
	struct redis_val *r;
	const char *why;
	double cpu0 = 0;

	if (!cfg->bayes || sc->engine->redis == NULL)
		return 0;
	if (sc->bayes_cpu_wanted) {
		/* the decoding that tokens_of would start is the rules' too:
		 * done first, outside the classifier's figure */
		size_t nu;
		msg_uris(sc->msg, &nu);
		cpu0 = thread_cpu_us();
	}
	struct tokens *t = xmalloc(sizeof(*t));
	tokens_init(t);
	tokens_of(sc->msg, t);
	pthread_once(&read_once, digest_read);
	/* the token keys without the prefix side by side in one argument */
	char *kb = xmalloc(t->n * BAYES_TOKEN_KEY_LEN + 1);
	for (size_t i = 0; i < t->n; i++)
		token_key_put(kb + i * BAYES_TOKEN_KEY_LEN, t->hash[i]);
	/* the prefix is the start of the totals key */
	char *argv[3] = { cfg->bayes_totals_key, cfg->bayes_totals_key, kb };
	size_t lens[3] = { strlen(cfg->bayes_totals_key), strlen(cfg->redis_prefix),
			   t->n * BAYES_TOKEN_KEY_LEN };
	a.v = argv;
	a.n = 3;
	a.lens = lens;
	double deadline = now_ms() + (double)cfg->redis_timeout_ms;
	int trips = 0;
	int rc = rep_script_run(sc->engine->redis, &script_read, 1, &a, deadline, &r, &why,
				&trips);
	free(kb);
	log_debug("qid=%s bayes tokens=%zu redis round_trips=%d", sc->msg->qid ? sc->msg->qid : "-",
		  t->n, trips);
	if (rc == 0) {
		double ns, nn;
		double *prob = xmalloc((t->n ? t->n : 1) * sizeof(*prob));	/* each set, or not read */
		if (r[0].type == REDIS_T_STR && bayes_reply_probs(r[0].str, r[0].len, t->n, &ns, &nn, prob))
			classify(sc, t, ns, nn, prob);
		else
			rc = -1, why = "unexpected reply of the read script";
		free(prob);
		redis_vals_free(r, 1);
	}
	if (rc < 0) {
		metrics_inc(METRIC_BAYES_UNAVAILABLE);
		sc->redis_failed = true;
		if (!scan_has(sc, "REDIS_UNAVAILABLE"))
			scan_add_builtin(sc, "REDIS_UNAVAILABLE", why);
	}
	if (cfg->bayes_auto_learn && rc == 0) {
		*state = t;	/* for bayes_after; bayes_cleanup frees it */
	} else {
		tokens_free(t);
		free(t);
	}
	if (sc->bayes_cpu_wanted)
		sc->bayes_cpu_us = thread_cpu_us() - cpu0;
	return 0;
}

/* bayes_autolearn_decide - see bayes.h (AutoLearnThreshold.pm) */
int bayes_autolearn_decide(double thr_spam, double thr_ham, const struct bayes_al_hit *h,
			   size_t n, bool tagged, enum bayes_op *op)
{
	double points = 0, head = 0, body = 0, learned = 0;

	for (size_t i = 0; i < n; i++) {
		if (h[i].score == 0 || h[i].part == BAYES_AL_NET || h[i].part == BAYES_AL_SKIP)
			continue;
		if (h[i].part == BAYES_AL_LEARN) {
			learned += h[i].score;
			continue;
		}
		points += h[i].score;
		if (h[i].part == BAYES_AL_HEAD)
			head += h[i].score;
		else if (h[i].part == BAYES_AL_BODY)
			body += h[i].score;
	}
	if (points >= thr_spam) {
		if (head < BAYES_AL_HEAD_MIN || body < BAYES_AL_BODY_MIN || learned < -1.0 ||
		    !tagged)
			return 0;
		*op = BAYES_SPAM;
		return 1;
	}
	if (points < thr_ham) {
		if (learned > 1.0 || tagged)
			return 0;
		*op = BAYES_HAM;
		return 1;
	}
	return 0;
}

/* bayes_message_digest - see bayes.h */
void bayes_message_digest(const struct msg *m, char out[DIGEST_SHA1_HEX])
{
	const struct header *h = msg_header(m, "Message-ID", 0);
	struct buf b;

	buf_init(&b);
	buf_puts(&b, h ? h->value : "");
	buf_putc(&b, '\n');
	buf_append(&b, m->body.data ? m->body.data : "", m->body.len);
	digest_sha1_hex(b.data, b.len, out);
	buf_free(&b);
}

/* net_builtin - is name a symbol of a stage that asks DNS or Redis
 * (SPF, DKIM, DMARC, DNS blocklists, reputation)? */
static bool net_builtin(const struct engine *e, const char *name)
{
	for (size_t i = 0; i < e->nstages; i++) {
		const struct stage *st = e->stages[i];
		if (!(st->dns || st->redis) || st->symbols == NULL)
			continue;
		for (const struct stage_symbol *y = st->symbols; y->name; y++)
			if (strcmp(y->name, name) == 0)
				return true;
	}
	return false;
}

/* hit_part - where a hit's evidence comes from, for autolearning */
static enum bayes_al_part hit_part(const struct engine *e, const char *name)
{
	if (strncmp(name, "BAYES_", 6) == 0)
		return BAYES_AL_LEARN;
	if (net_builtin(e, name))
		return BAYES_AL_NET;
	switch (rules_symbol_part(e->rules, name)) {
	case RULES_PART_HEAD:
		return BAYES_AL_HEAD;
	case RULES_PART_BODY:
		return BAYES_AL_BODY;
	case RULES_PART_NET:
		return BAYES_AL_NET;
	case RULES_PART_LEARN:
		return BAYES_AL_LEARN;
	case RULES_PART_SKIP:
		return BAYES_AL_SKIP;
	default:
		return BAYES_AL_OTHER;
	}
}

/* bayes_after - autolearn (bayes_auto_learn): the message's tokens from
 * eom, learned through the same script as parapetctl learn */
static void bayes_after(struct scan *sc, void **state, const struct verdict *v)
{
	const struct config *cfg = sc->engine->cfg;
	struct tokens *t = *state;
	enum bayes_op op;
	enum bayes_result res;
	const char *why;
	char digest[DIGEST_SHA1_HEX];

	/* a tempfailed (greylisted) message is learned when it comes back */
	if (t == NULL || sc->offline || v->skipped || sc->redis_failed ||
	    v->action == ACTION_TEMPFAIL)
		return;
	const struct hits *hs = &sc->hits;
	struct bayes_al_hit *h = xcalloc(hs->n ? hs->n : 1, sizeof(*h));
	for (size_t i = 0; i < hs->n; i++) {
		h[i].score = hs->v[i].score;
		h[i].part = hit_part(sc->engine, hs->v[i].name);
	}
	int learn = bayes_autolearn_decide(cfg->bayes_auto_learn_threshold_spam,
					   cfg->bayes_auto_learn_threshold_nonspam, h, hs->n,
					   v->tagged, &op);
	free(h);
	if (!learn)
		return;
	bayes_message_digest(sc->msg, digest);
	double deadline = now_ms() + (double)cfg->redis_timeout_ms;
	if (bayes_learn_tokens(sc->engine, digest, t, op, deadline, &res, &why) < 0) {
		metrics_inc(METRIC_BAYES_UNAVAILABLE);
		log_debug("qid=%s bayes autolearn failed: %s", sc->msg->qid ? sc->msg->qid : "-",
			  why);
		return;
	}
	log_info("qid=%s bayes autolearn=%s %s", sc->msg->qid ? sc->msg->qid : "-",
		 op == BAYES_SPAM ? "spam" : "ham", bayes_result_name(res));
}

/* bayes_cleanup - the tokens kept for autolearning */
static void bayes_cleanup(struct scan *sc, void *state)
{
	(void)sc;
	if (state != NULL) {
		tokens_free(state);
		free(state);
	}
}

/* bayes_stage - see bayes.h; its symbols are rules (BAYES_*,
 * eval:check_bayes), REDIS_UNAVAILABLE is the rep stage's */
const struct stage bayes_stage = {
	.name = "bayes",
	.redis = true,
	.eom = bayes_eom,
	.after = bayes_after,
	.cleanup = bayes_cleanup,
};
