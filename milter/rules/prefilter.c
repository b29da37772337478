/*
 * prefilter.c - the regex rules of a set evaluated with one Vectorscan
 * pass per text, then PCRE2 only where a match is possible (issue 14
 * item 4).  The only file that includes hs.h.
 *
 * At load, the regex rules are grouped by the text they read: the body
 * text, rawbody, full, each URI, and one text per distinct header subject
 * (field, modifier, if-unset value: exactly the string match.c builds for
 * the rule).  Rules with the same text, pattern, i/m/s/x flags and
 * nosubject share one "slot", evaluated at most once per message with the
 * largest count any of them needs; each rule then takes min(count, its
 * maxhits), or count == 0 if negated.  The slots of a text are compiled
 * into one Vectorscan database with HS_FLAG_PREFILTER, which accepts a
 * superset of what the PCRE pattern matches (back-references, look-around
 * and the like are widened, never narrowed) and HS_FLAG_SINGLEMATCH.  A
 * slot whose pattern Vectorscan refuses, whose approximation can match
 * the empty string, or whose regex is not in plain byte mode (re_bytes)
 * is "always": PCRE2 runs for it on every message, as before.
 *
 * Soundness: a slot is skipped only when the prefilter found no match of
 * the superset in the very text PCRE2 would search (nosubject rules start
 * later in the same text: a match there is a match in the whole text), so
 * a skipped slot has no PCRE2 match either; a negated rule then hits, as
 * it would have.  A scan error marks every slot of that text a candidate.
 *
 * Which URIs: each URI is scanned on its own, and a slot's regex then
 * runs only on the URIs one of its literals was in (its windows are
 * ranges of URI indexes; joined, when there are too many, with the URIs
 * between them): a match lies in one URI and holds a literal.
 *
 * Where PCRE2 starts: the literal databases report every occurrence (but
 * in URIs, once per URI and literal: there only the URI counts).  A
 * match holds one, so it starts no later than the occurrence's start plus
 * the regex's longest look-behind (a literal may lie in one), and no
 * earlier than the occurrence's end minus rewidth_max (when that is
 * bounded).  In the squeezed text (below) an occurrence's start and end
 * are those of the bytes of the text it was squeezed from: a match holds
 * those bytes.  A slot admitted by literals alone
 * is searched only in these windows (match_count, with PCRE2's offset
 * limit): the first match window by window is the first match, so the
 * counts and details are the same.  A slot keeps PF_WINDOWS of them per
 * message; with more, the two closest are joined (so the gap between
 * them is searched too).
 *
 * Gates: a regex whose pattern (one top-level branch) offers a second set
 * of literals beside the first, sharing none with it (reqlit_find2:
 * __FRAUD_QFY's "invoice" or "cost" after its "over"), has those in the
 * text's database too, reported once (unless another slot's first set
 * holds the string); after the scan, a slot whose text holds none of its
 * second set is no candidate, whatever its first set found (a match holds
 * one of each).  They open no window: the first set's occurrences do.
 *
 * Runs of classes: a slot that no literal rules out in a text without
 * bytes >= 0x80 and without '&' (a "plain" text: it has none at all, or
 * only literals that hold in ASCII texts) may still need a run of byte
 * classes in a row there, with separators between them (reqlit_class_run:
 * FUZZY_CPILL's six look-alike classes such as [ck@], FUZZY_PRICES's
 * five with \W{0,2} between them, __MSGID_GUID's hex digits).  The
 * runs of a text are packed into 64-bit lanes, four to a word, and a plain
 * text gets one shift-and pass per four words (shift_and: AVX2 where the CPU
 * has it, picked at load); a slot whose run is not there is "never" (no match, no PCRE2
 * run), and so is one whose pattern cannot match a plain text at all.  A
 * text with such a byte or a '&' is not looked at this way (the look-alike
 * tags' other branches are UTF-8 sequences and entities).
 *
 * Branches: where the regex (or its core, below) begins with a choice of
 * alternatives (rewidth_split), each alternative has literals of its own
 * and a width of its own, and a literal's window reaches back only as far
 * as the alternatives holding it need (branch_widths): the field words of
 * __FILL_THIS_FORM_SHORT2's core are eleven kinds, and only an address
 * may follow three optional words, where "age" or "tel" start their own.
 *
 * Cores: a slot whose windows reach far back from its literals because
 * optional words may precede them, a group repeated two or more times
 * (__FILL_THIS_FORM_SHORT2: "a copy of your present" and the like before
 * each field word, three times), is searched first for its core
 * (rewidth_core): the group's first pass without those words, then its
 * other passes.  Every match of the regex holds a match of the core that
 * starts at most the words' bound in, so the core is searched in windows
 * as narrow as its own literals allow, and the regex only from that bound
 * before each core match to its end; most messages have no core match
 * and never run the regex.  Only where the core's windows are a quarter
 * narrower at least and its first byte pairs are no more (PCRE2 skips a
 * start on those).
 *
 * Heads: a core whose first item is a group of PF_HEAD_MIN bytes or more
 * in the syntax Vectorscan matches exactly as PCRE2 does (head_exact:
 * __FILL_THIS_FORM_*'s eleven kinds of field words, 2,356 bytes) has that
 * item (rewidth_head) compiled on its own, exactly, not as a prefilter:
 * one scan of the text reports where each of its matches ends.  A match
 * of the core is one of the head, [s, e), followed by one of the rest of
 * the core (the tail) from e; so the core is searched only from the
 * head's width before such an end e to e - 1, and only where the tail
 * matches from e (one PCRE2 try anchored there), within the literals'
 * windows.  PCRE2 then tries no start where no field word ends just
 * after it and the rest of a form follows (~300 cycles a start in the
 * field words' alternatives); the slots whose cores start with the same
 * item share its scan.  A scan error or a try that hits PCRE2's limits
 * leaves the literals' windows as they were.
 *
 * Runs: an "always" slot (below: no literal of any kind) whose matches
 * consume at least PF_SPAN_MIN bytes (rewidth_span) is searched only
 * from the start of each run of the bytes they may consume that is that
 * long, to that far before its end: a match is such a run's substring.
 * A text without one skips the slot (a negated rule then hits, as it
 * would have).  Failing that, a part of the pattern (top-level items one
 * after the other) may consume a run of bytes rare in mail, such as the
 * ten hex digits of __HEXHASHWORD_S2EU or the figures of the money rules
 * (rewidth_subspan); the part starts at most its lead into the match, so
 * a match starts from that far before such a run to the part's minimum
 * before its end.
 *
 * The squeezed text: a slot with no required literal may have literals
 * of its text squeezed to letters and digits (reqlit_find_squeezed), as
 * SpamAssassin's rules for words spelled across separators do.  Those go
 * into a second database of the text, scanned over a squeezed copy made
 * only for a text that has one; a match of the regex squeezes to a
 * substring of that copy, so the same soundness holds.  Failing that, a
 * slot may have literals that hold only in a text without bytes >= 0x80
 * (reqlit_find_ascii: 25_replace.cf's look-alike alternations), in the
 * text's database with the others.  Last, a slot may have literals of
 * the squeezed text that hold only when the text has no such byte and no
 * '&' (reqlit_find_squeezed_ascii: the look-alike words, whose letters
 * alternate with UTF-8 sequences and "&#...;" entities and are spelled
 * across separators); they go into the squeezed database.  Both promises
 * are about the bytes a match reads (its look-behind, what it consumes,
 * its look-ahead): a match that reads none of the bytes they exclude
 * holds a literal.  One that reads such a byte at p starts within its
 * width before p, or its look-behind after: in a text with such bytes,
 * the windows around them join the literals' (odd_windows; a slot with
 * no literal needs such a byte, and a text without one skips it).  More
 * than PF_ODD_MAX clusters of them, or a width not bounded, and the slot
 * is searched whole.  URIs have none of these: they are many short
 * texts, and few of their regexes lack a literal.
 *
 * Why literals only: Vectorscan can also match a whole regex (exactly, or
 * with HS_FLAG_PREFILTER) and so skip more PCRE2 runs, but Debian 12's
 * libvectorscan 5.4.9 misses matches in those modes: /^\[[^\]]+\]$/ on a
 * line of more than 66 bytes, /curl.*\|\s*python/s (upstream issue 382).
 * With the stock rules that loses __DOS_SINGLE_EXT_RELAY on 138 of the
 * 1,000 corpus messages.  A skip must be certain, so only Vectorscan's
 * literal matching is trusted; fuzz/fuzz_rules.c checks on == off.
 *
 * Threads: the databases and the prototype scratch are read-only after
 * prefilter_build; a thread clones its own scratch (hs_clone_scratch)
 * into a run it keeps between its messages (prefilter_end, the spare).
 * Limits: at most RULES_MAX_RULES slots (one per rule); PF_MAX_RETRY
 * compiles per text when Vectorscan fails on one pattern of a database
 * (that pattern becomes "always"); scans are bounded by the message
 * model's own caps on its texts.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <hs.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "base/vec16.h"
#include "mail/message.h"
#include "rules/eval.h"
#include "rules/match.h"
#include "rules/prefilter.h"
#include "rules/re.h"
#include "rules/reqlit.h"
#include "rules/rewidth.h"

/* windows kept per slot and message; with more, the two closest join */
#define PF_WINDOWS 8
/* a slot that is not prefiltered is searched in runs of the bytes it
 * consumes when a match takes at least this many: with shorter matches,
 * finding the runs cost more than PCRE2's own search (its start-byte skip
 * rejects a text about as fast), by rdtsc per slot over 200 messages of
 * the corpus; the runs of __LONGWORDS_* (54-63 bytes) cut their cost by
 * three quarters */
#define PF_SPAN_MIN 48
/* runs closer than this are searched as one window */
#define PF_SPAN_GAP 16
/* nor is a slot whose regex PCRE2 starts trying only at bytes this rare
 * (a first byte, a start bitmap, ^): its own search skips the rest about
 * as fast as finding the runs would.  By rdtsc per slot over the corpus,
 * the runs cost NULL_IN_BODY (\x00) 12.4M cycles against PCRE2's 1.1M,
 * UNCLOSED_BRACKET (\[) 5.3M against 1.2M, AC_HTML_NONSENSE_TAGS (<)
 * 6.4M for 1.6M; US_DOLLARS_3 ($ or u: 2.3% of the bytes) gains 6.1M ->
 * 1.6M */
#define PF_SPAN_START 0.02
/* a slot whose matches are not that long may still have a part that
 * consumes a run of bytes rare in mail (rewidth_subspan): worth looking
 * for when a given byte of mail text starts one at these odds at most
 * (runs of 10 hex digits, __HEXHASHWORD_S2EU: 2^-21; 16 capitals,
 * __UC_GIBB_OBFU: 2^-64; 6 of [0-9Oo.,], __LOTSA_MONEY_00: 2^-20; 7 of
 * those and white space, __LOTSA_MONEY_01: 2^-14).  Over the 200 median
 * corpus messages, 2^-16: 731.6M instructions -> 714.3M, 2^-12: 711.7M,
 * 2^-10: 716.1M (the runs looked for in vain cost more than they save) */
#define PF_SUBSPAN_ODDS (1.0 / 4096.0)
/* a text's bytes outside ASCII (or '&') closer than this are one cluster;
 * a text with more clusters runs the slots that need such a text whole */
#define PF_ODD_GAP 16
#define PF_ODD_MAX 64
/* a slot whose windows reach this far before its literals (runs weighed
 * as rewidth_weight does) is worth searching for its core first */
#define PF_CORE_MIN 64
/* a core's first item (rewidth_head) this long at least is sought on its
 * own with Vectorscan before the core is: __FILL_THIS_FORM_*'s field
 * words, 2,356 bytes; shorter, the literals' windows are narrow enough */
#define PF_HEAD_MIN 16
/* windows a core is searched in after its head: more, and the last grows */
#define PF_HEAD_WINS 64
/* the branches a slot's pattern (or core) is taken apart into at most,
 * for widths of its literals of their own (branch_widths) */
#define PF_SPLIT_MAX 32
/* and the levels of branches within branches, and the literal analyses
 * of branches per slot (each a reqlit_find) */
#define PF_SPLIT_DEPTH 3
#define PF_SPLIT_TRIES 256

/* the fixed texts; header subjects follow */
enum { T_BODY, T_RAWBODY, T_FULL, T_URI, T_FIXED };

enum { FL_I = 1, FL_M = 2, FL_S = 4, FL_X = 8 };

/* runs of byte classes (reqlit_class_run) packed into the four 64-bit
 * lanes of a word for a bit-parallel pass over a plain text (Baeza-Yates
 * and Gonnet's shift-and, with GCC's vector types: one AVX2 register
 * where the CPU has it, two SSE2 ones else): bit j of a lane of at[c].tab is
 * set when byte c is in the class at bit j, and of at[c].loop when c may
 * come, any number of times, between that class and the next; a run
 * starts at a bit of start and is found when its bit of end is reached.
 * A run lies in one lane.  Words are allocated 32-byte aligned.  */
typedef uint64_t pf_v4 __attribute__((vector_size(32)));
struct pf_cword {
	struct {
		pf_v4 tab, loop;	/* one cache line a byte */
	} at[256];
	pf_v4 start, end;
	unsigned n;		/* runs */
	unsigned char last[256];	/* each run's end: lane * 64 + bit */
	size_t slot[256];
};
/* the words of a text go through shift_and up to PF_CW_GROUP at a time,
 * in one pass: their chains of dependent steps interleave */
#define PF_CW_GROUP 4
typedef void shift_and_fn(const struct pf_cword *const *w, unsigned nw, const unsigned char *s,
			  size_t len, uint64_t (*out)[4]);

struct pf_text {
	const struct rule *rep;	/* a rule reading it: match_text builds it */
	hs_database_t *db;	/* NULL: nothing of it is prefiltered */
	hs_database_t *sdb;	/* literals of the squeezed text, or NULL */
	bool ascii;		/* it has slots whose literals hold in ASCII only */
	bool plain;		/* ... or in a squeezed ASCII text without '&' */
	/* slots with a second set of literals (gates), which the text
	 * must hold one of too */
	size_t *gated, ngated;
	/* slots with a run of classes a plain text must hold, packed, and
	 * slots that cannot match a plain text at all */
	struct pf_cword **cw;
	size_t ncw, bits;	/* bits used in the last word (256: full) */
	size_t *dead, ndead;
};

/* what a match of a slot consumes (rewidth_span), or a part of it
 * (rewidth_subspan) */
struct pf_span {
	size_t min;		/* at least this many bytes */
	bool all;		/* any byte: the text is one run */
	bool in[256];		/* each of them one of these */
	struct rewidth lead;	/* starting at most this far into the match
				 * (0 for the whole match) */
};

struct pf_slot {
	/* first what prefilter_rule reads of every slot on every message */
	size_t text;
	const struct rule *rep;	/* the first rule: regex, pattern, nosubject */
	unsigned max;		/* the largest count a rule sharing it needs */
	bool always;		/* not prefiltered: PCRE2 runs every message */
	const struct pf_span *span;	/* always: only in runs of these, or NULL */
	bool ascii;		/* prefiltered only in a text without bytes >= 0x80 */
	bool plain;		/* only in one without those and '&' (squeezed) */
	bool bounded;		/* width is known */
	bool runs;		/* it depends on the text's runs */
	unsigned fl;		/* FL_* */
	size_t back;		/* its longest look-behind: a literal required
				 * there starts up to this far before the match */
	struct rewidth width;	/* rewidth_runs: a literal held ends at most
				 * this far past the start of the match (in
				 * a text with the runs of the one searched) */
	/* with a core (rewidth_core): width is the core's, whose matches
	 * are searched for first; a match of the regex starts at most
	 * core_pre before one of them */
	struct re *core;
	struct rewidth core_pre;
	/* and its head (rewidth_head): pf->heads[head] (SIZE_MAX: none),
	 * and the rest of the core, tried where a match of the head ends */
	size_t head;
	struct re *tail;
};

/* a core's first item, compiled for Vectorscan as it is (not as a
 * prefilter): it reports the end of every match of it in a text */
struct pf_head {
	char *pat;
	unsigned fl;
	size_t text;
	hs_database_t *db;
	bool bounded;
	struct rewidth width;	/* how long a match of it is at most */
};

/* lit_width of a gate: it opens no window, it only lets the windows of
 * the slot's first set count */
#define PF_GATE UINT32_MAX

/* what prefilter_quiet reads of a slot, densely: the slots themselves
 * are large and scattered, and it asks of hundreds each message */
enum { PF_LOUD, PF_QUIET, PF_QUIET_ASCII, PF_QUIET_PLAIN };
struct pf_hot {
	uint32_t text;
	unsigned char kind;	/* PF_LOUD: always (runs or not); else what
				 * it takes to rule a match out */
	bool core;		/* the slot has a core (its cost: 8 a byte) */
};

struct prefilter {
	struct pf_text *texts;
	size_t ntexts;
	struct pf_slot *slots;
	size_t nslots;
	struct pf_span *spans;	/* per slot, where slot->span points */
	struct pf_head *heads;
	size_t nheads;
	size_t *slot_of;	/* per rule: its slot, or SIZE_MAX */
	struct pf_hot *hot;	/* per slot */
	/* per literal of a slot: its slot, its length, and the next
	 * literal of another slot that is the same string (PF_NO_LIT at the
	 * end): a database holds each string once, under the id of the
	 * first, and one report of it stands for them all */
	unsigned *lit_slot;
	size_t *lit_len;
	unsigned *lit_next;
	/* and its width where the slot's branches give it its own
	 * (branch_widths): an index into widths, 0 for the slot's;
	 * PF_GATE for a literal of the slot's second set */
	uint32_t *lit_width;
	size_t nlits, lits_cap;
	struct rewidth *widths;	/* [0] unused */
	size_t nwidths, widths_cap;
	size_t nrules;
	hs_scratch_t *proto;	/* cloned for each message */
	unsigned long gen;	/* which build: a thread's spare run is for one */
	shift_and_fn *shift_and;	/* for this CPU */
	bool no_regex;		/* prefilter_set_no_regex */
	struct rules_pf_info info;
};

/* one slot's result in one message */
struct pf_res {
	bool cand;		/* the prefilter saw a possible match */
	bool gate;		/* ... and a literal of its second set */
	bool never;		/* a plain text without its run of classes */
	bool done;
	unsigned n;
	unsigned nwin;		/* windows where a match may start */
	size_t win;		/* the first, in pf_run->wins */
	size_t a, b;		/* first match; uri: a is the URI's index */
};

/* where the matches of a head end in its text, in one message: sorted,
 * each once */
struct pf_ends {
	bool ready, failed;
	size_t *at, n, cap;
};

/* one text in one message */
struct pf_tx {
	bool ready;		/* built and scanned */
	bool failed;		/* scan error: every slot is a candidate */
	const char *subj;
	size_t len;
	struct buf hb;		/* header subjects */
	char *sq;		/* the squeezed text, when sdb */
	uint32_t *sq_at;	/* where each of its bytes is in the text */
	bool high;		/* it has a byte >= 0x80 (known when ascii or plain,
				 * or with runs of classes) */
	bool amp;		/* it has a '&' (known when plain or with runs) */
	/* where those bytes are (odd_clusters): [0] bytes >= 0x80, [1] and
	 * '&'; NULL and many when more than PF_ODD_MAX clusters */
	struct match_win *odd[2];
	size_t nodd[2];
	bool odd_ready[2], odd_many[2];
	unsigned runs_ready;	/* the classes (bits) whose longest runs in
				 * the text runs holds: text_runs */
	size_t runs[REWIDTH_RUNS];
};

struct pf_run {
	const struct prefilter *pf;
	unsigned long gen;	/* pf's, read without pf when kept as a spare */
	size_t ntexts, nslots;
	const struct eval_env *env;	/* the message and the set's settings */
	struct msg *m;
	struct re_scratch *re;
	hs_scratch_t *scratch;
	bool uris;		/* the text being scanned is URI number uri:
				 * its windows are ranges of URIs */
	size_t uri;
	const uint32_t *at;	/* it is squeezed: its bytes' offsets in the text */
	struct pf_tx *cur;	/* the text being scanned */
	struct match_win *wins;	/* PF_WINDOWS for each slot that has any */
	size_t nwins, wins_cap;
	struct pf_res *res;	/* per slot */
	struct pf_tx *tx;	/* per text */
	struct pf_ends *ends;	/* per head */
	size_t nheads;
};

/* ---------------------------------------------------------------- build */

/* hash_str - FNV-1a over s, continuing from h */
static size_t hash_str(size_t h, const char *s)
{
	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

/* opt_eq - two optional strings equal */
static bool opt_eq(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/* flags_of - FL_* of a Perl flag string (g and o mean nothing here) */
static unsigned flags_of(const char *f)
{
	unsigned fl = 0;

	for (; f && *f; f++)
		fl |= *f == 'i' ? FL_I : *f == 'm' ? FL_M : *f == 's' ? FL_S : *f == 'x' ? FL_X : 0;
	return fl;
}

/* nosubject - does the rule start after the body's Subject line? */
static bool nosubject(const struct rule *r)
{
	return r->type == RULE_BODY && r->nosubject;
}

/* lookup - open addressing: the index in tab of key h whose entry
 * satisfies same(), or of the empty cell where it belongs */
static size_t lookup(const size_t *tab, size_t cap, size_t h,
		     bool (*same)(const struct prefilter *, size_t, const struct rule *, size_t),
		     const struct prefilter *pf, const struct rule *r, size_t t)
{
	size_t k = h & (cap - 1);

	while (tab[k] != SIZE_MAX && !same(pf, tab[k], r, t))
		k = (k + 1) & (cap - 1);
	return k;
}

/* same_text - header text x is the one rule r reads.  Every field of a
 * rule that match_text reads to build a header text must be compared
 * here, or two rules would wrongly share a text. */
static bool same_text(const struct prefilter *pf, size_t x, const struct rule *r, size_t t)
{
	const struct rule *o = pf->texts[x].rep;

	(void)t;
	return strcmp(o->header, r->header) == 0 && o->mod == r->mod &&
	       opt_eq(o->if_unset, r->if_unset);
}

/* same_slot - slot x is rule r's regex on text t */
static bool same_slot(const struct prefilter *pf, size_t x, const struct rule *r, size_t t)
{
	const struct pf_slot *s = &pf->slots[x];

	return s->text == t && s->fl == flags_of(r->flags) &&
	       nosubject(s->rep) == nosubject(r) && strcmp(s->rep->pat, r->pat) == 0;
}

/* text_of - the text rule r reads, added if new */
static size_t text_of(struct prefilter *pf, size_t *tab, size_t cap, const struct rule *r)
{
	size_t fixed = r->type == RULE_BODY ? T_BODY : r->type == RULE_RAWBODY ? T_RAWBODY :
		       r->type == RULE_FULL ? T_FULL : r->type == RULE_URI ? T_URI : T_FIXED;

	if (fixed < T_FIXED) {
		if (pf->texts[fixed].rep == NULL)
			pf->texts[fixed].rep = r;
		return fixed;
	}
	size_t h = hash_str(hash_str(14695981039346656037u, r->header), r->if_unset) + r->mod;
	size_t k = lookup(tab, cap, h, same_text, pf, r, 0);
	if (tab[k] == SIZE_MAX) {
		tab[k] = pf->ntexts;
		pf->texts[pf->ntexts++].rep = r;
	}
	return tab[k];
}

/* set_width - the slot's width is w: bounded, and whether it counts runs */
static void set_width(struct pf_slot *s, const struct rewidth *w)
{
	s->width = *w;
	s->bounded = true;
	s->runs = false;
	for (int i = 0; i < REWIDTH_RUNS; i++)
		s->runs |= w->k[i] != 0;
}

/* slot_of - rule r's slot on text t, added if new */
static size_t slot_of(struct prefilter *pf, size_t *tab, size_t cap, const struct rule *r, size_t t)
{
	size_t h = hash_str(14695981039346656037u + t * 31 + flags_of(r->flags) * 7 + nosubject(r),
			    r->pat);
	size_t k = lookup(tab, cap, h, same_slot, pf, r, t);
	if (tab[k] == SIZE_MAX) {
		tab[k] = pf->nslots;
		pf->slots[pf->nslots++] = (struct pf_slot){
			.text = t, .rep = r, .fl = flags_of(r->flags),
			.always = !re_bytes(r->re), .back = re_lookbehind(r->re),
			.head = SIZE_MAX,
		};
		struct rewidth w;
		if (rewidth_runs(r->pat, r->flags, &w))
			set_width(&pf->slots[tab[k]], &w);
		if (pf->slots[tab[k]].back == RE_NO_LIMIT)
			pf->slots[tab[k]].always = true;
	}
	struct pf_slot *s = &pf->slots[tab[k]];
	unsigned need = r->negate ? 1 : r->maxhits;
	if (need > s->max)
		s->max = need;
	return tab[k];
}

#define PF_NO_LIT UINT32_MAX

/* the literals of one database being gathered; tab: open addressing over
 * them, by their bytes without ASCII case (Vectorscan reads them so) */
struct lits {
	size_t n, cap;
	char **s;
	size_t *len;
	unsigned *ids, *flags;
	size_t *tab, tcap;
};

/* lit_hash - FNV-1a over s[0, n) without ASCII case */
static size_t lit_hash(const char *s, size_t n)
{
	size_t h = 14695981039346656037u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ c_lower((unsigned char)s[i])) * 1099511628211u;
	return h;
}

/* same_nocase - a[0, n) and b[0, n) equal without ASCII case (NULs
 * and all) */
static bool same_nocase(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (c_lower((unsigned char)a[i]) != c_lower((unsigned char)b[i]))
			return false;
	return true;
}

/* lits_find - the cell of l->tab for s[0, n): its index in l, or empty */
static size_t lits_find(const struct lits *l, const char *s, size_t n)
{
	size_t k = lit_hash(s, n) & (l->tcap - 1);

	while (l->tab[k] != SIZE_MAX && !(l->len[l->tab[k]] == n && same_nocase(l->s[l->tab[k]], s, n)))
		k = (k + 1) & (l->tcap - 1);
	return k;
}

/* lits_grow - room in l's table for one more */
static void lits_grow(struct lits *l)
{
	if ((l->n + 1) * 2 <= l->tcap)
		return;
	free(l->tab);
	l->tcap = l->tcap ? l->tcap * 2 : 256;
	l->tab = xmalloc(l->tcap * sizeof(*l->tab));
	memset(l->tab, 0xff, l->tcap * sizeof(*l->tab));
	for (size_t i = 0; i < l->n; i++)
		l->tab[lits_find(l, l->s[i], l->len[i])] = i;
}

/* lits_take - the literals of rl for slot id (taken over); every
 * occurrence is reported unless single (URIs, where only which URI it
 * was in is used); widths (or NULL: width for all, 0 or PF_GATE) gives
 * each its own width's index (branch_widths) */
static void lits_take(struct prefilter *pf, struct lits *l, struct reqlit *rl, unsigned id,
		      bool single, const uint32_t *widths, uint32_t width)
{
	if (pf->nlits + rl->n > pf->lits_cap) {
		pf->lits_cap = (pf->nlits + rl->n) * 2;
		pf->lit_slot = xrealloc(pf->lit_slot, pf->lits_cap * sizeof(*pf->lit_slot));
		pf->lit_len = xrealloc(pf->lit_len, pf->lits_cap * sizeof(*pf->lit_len));
		pf->lit_next = xrealloc(pf->lit_next, pf->lits_cap * sizeof(*pf->lit_next));
		pf->lit_width = xrealloc(pf->lit_width, pf->lits_cap * sizeof(*pf->lit_width));
	}
	if (l->n + rl->n > l->cap) {
		l->cap = (l->n + rl->n) * 2;
		l->s = xrealloc(l->s, l->cap * sizeof(*l->s));
		l->len = xrealloc(l->len, l->cap * sizeof(*l->len));
		l->ids = xrealloc(l->ids, l->cap * sizeof(*l->ids));
		l->flags = xrealloc(l->flags, l->cap * sizeof(*l->flags));
	}
	for (size_t k = 0; k < rl->n; k++) {
		unsigned e = (unsigned)pf->nlits++;
		pf->lit_slot[e] = id;
		pf->lit_len[e] = rl->len[k];
		pf->lit_next[e] = PF_NO_LIT;
		pf->lit_width[e] = widths ? widths[k] : width;
		lits_grow(l);
		size_t cell = lits_find(l, rl->s[k], rl->len[k]);
		if (l->tab[cell] != SIZE_MAX) {	/* another slot's: chained */
			unsigned *at = &pf->lit_next[l->ids[l->tab[cell]]];
			while (*at != PF_NO_LIT)
				at = &pf->lit_next[*at];
			*at = e;
			free(rl->s[k]);
			continue;
		}
		l->tab[cell] = l->n;
		l->s[l->n] = rl->s[k];
		l->len[l->n] = rl->len[k];
		l->ids[l->n] = e;
		l->flags[l->n++] = HS_FLAG_CASELESS | (single ? HS_FLAG_SINGLEMATCH : 0);
	}
	rl->n = 0;
}

/* lits_compile - the database of l (NULL if l is empty); on failure,
 * not expected, its slots become "always"; l is released */
static hs_database_t *lits_compile(struct prefilter *pf, struct lits *l)
{
	hs_database_t *db = NULL;
	hs_compile_error_t *ce = NULL;

	pf->info.strings += l->n;
	for (size_t k = 0; k < l->n; k++) {	/* only gates: once is enough */
		bool gates = true;
		for (unsigned e = l->ids[k]; gates && e != PF_NO_LIT; e = pf->lit_next[e])
			gates = pf->lit_width[e] == PF_GATE;
		if (gates)
			l->flags[k] |= HS_FLAG_SINGLEMATCH;
	}
	if (l->n && (hs_compile_lit_multi((const char *const *)l->s, l->flags, l->ids, l->len,
					  (unsigned)l->n, HS_MODE_BLOCK, NULL, &db, &ce) != HS_SUCCESS ||
		     hs_alloc_scratch(db, &pf->proto) != HS_SUCCESS)) {
		hs_free_compile_error(ce);
		hs_free_database(db);
		db = NULL;
		for (size_t k = 0; k < l->n; k++)
			for (unsigned e = l->ids[k]; e != PF_NO_LIT; e = pf->lit_next[e])
				pf->slots[pf->lit_slot[e]].always = true;
	}
	for (size_t k = 0; k < l->n; k++)
		free(l->s[k]);
	free(l->s);
	free(l->len);
	free(l->ids);
	free(l->flags);
	free(l->tab);
	return db;
}

/* lead_width - the slot's width from a prefix of its regex that holds
 * the same literals (rewidth_lead), where that is the tighter bound on
 * every text */
static void lead_width(struct prefilter *pf, struct pf_slot *s, const struct reqlit *rl)
{
	struct rewidth w;

	if (!rewidth_lead(s->rep->pat, s->rep->flags, rl, &w))
		return;
	if (s->bounded) {
		if (memcmp(&w, &s->width, sizeof(w)) == 0 || w.c > s->width.c)
			return;
		for (int i = 0; i < REWIDTH_RUNS; i++)
			if (w.k[i] > s->width.k[i])
				return;
	}
	set_width(s, &w);
	pf->info.lead++;
}

/* lead_share - the share of first byte pairs reqlit_lead admits for a
 * match of pattern (1.0: any) */
static double lead_share(const char *pattern, const char *flags)
{
	double share = 1.0;

	free(reqlit_lead(pattern, flags, &share, false));
	return share;
}

/* head_exact - pattern is in the syntax Vectorscan matches exactly as
 * PCRE2 does in byte mode, so that its reports are every end of a PCRE2
 * match: bytes, classes, the escapes of ASCII classes (\s with \v in
 * both), \b, \xHH, escaped punctuation, groups (a capture is a group
 * there), greedy and lazy quantifiers (the set of matches is the same).
 * Not: anchors, look-around, back-references, atomic groups, possessive
 * quantifiers, options, \Q, \p, POSIX classes, x mode. */
static bool head_exact(const char *p, unsigned fl)
{
	bool in_class = false;

	if (fl & FL_X)
		return false;
	for (; *p; p++) {
		if (*p == '\\') {
			char c = *++p;
			if (c == 'x') {
				if (!isxdigit((unsigned char)p[1]) || !isxdigit((unsigned char)p[2]))
					return false;
				p += 2;
			} else if (c == '\0' || isdigit((unsigned char)c) ||
				   (isalpha((unsigned char)c) && !strchr("sSwWdDbtnrf", c)) ||
				   (in_class && c == 'b')) {
				return false;
			}
		} else if (in_class) {
			if (*p == ']')
				in_class = false;
			else if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '='))
				return false;
		} else if (*p == '[') {
			in_class = true;
			if (p[1] == '^')
				p++;
			if (p[1] == ']')
				p++;
		} else if (*p == '^' || *p == '$' || (*p == '{' && p[1] == ',')) {
			return false;	/* anchors; {,n}, a literal to PCRE2 10.42 */
		} else if (*p == '(' && p[1] == '?' && p[2] != ':') {
			return false;
		} else if (*p == '(' && p[1] == '*') {
			return false;
		} else if ((*p == '+' || *p == '*' || *p == '?' || *p == '}') && p[1] == '+') {
			return false;
		}
	}
	return !in_class;
}

/* core_head - a core's first item sought with Vectorscan where it is
 * long: the core is then tried only where a match of it starts at most
 * the item's width before the end of one, and only where the rest of
 * the core matches from that end (one anchored PCRE2 try per end, and a
 * message's ends are few: __FILL_THIS_FORM_*'s field words end 37 times
 * a message on average in the corpus spam), instead of at each byte of
 * the literals' windows (~300 cycles a byte for the field words' eleven
 * kinds of alternatives, by rdtsc over the corpus).  One database per
 * distinct item and text, shared by the slots whose cores start with it
 * (__FILL_THIS_FORM_SHORT1/2, LONG1/2). */
static void core_head(struct prefilter *pf, struct pf_slot *s, const char *core)
{
	char *head, *tail, *err = NULL;

	if (!rewidth_head(core, &head, &tail))
		return;
	struct re *re = NULL;
	size_t h = 0;
	while (h < pf->nheads && (pf->heads[h].text != s->text || pf->heads[h].fl != s->fl ||
				  strcmp(pf->heads[h].pat, head) != 0))
		h++;
	if (h == pf->nheads) {
		hs_database_t *db = NULL;
		hs_compile_error_t *ce = NULL;
		unsigned hf = (s->fl & FL_I ? HS_FLAG_CASELESS : 0) |
			      (s->fl & FL_S ? HS_FLAG_DOTALL : 0);
		if (strlen(head) < PF_HEAD_MIN || !head_exact(head, s->fl) ||
		    hs_compile(head, hf, HS_MODE_BLOCK, NULL, &db, &ce) != HS_SUCCESS ||
		    hs_alloc_scratch(db, &pf->proto) != HS_SUCCESS) {
			hs_free_compile_error(ce);
			hs_free_database(db);
			goto out;
		}
		pf->heads = xrealloc(pf->heads, (pf->nheads + 1) * sizeof(*pf->heads));
		struct pf_head *hd = &pf->heads[pf->nheads++];
		*hd = (struct pf_head){ .pat = head, .fl = s->fl, .text = s->text, .db = db };
		hd->bounded = rewidth_runs(head, s->rep->flags, &hd->width);
		head = NULL;
	}
	re = re_compile(tail, strlen(tail), s->rep->flags, &err);
	if (re != NULL && re_bytes(re)) {
		s->head = h;
		s->tail = re;
		re = NULL;
		pf->info.head++;
	}
out:
	re_free(re);
	free(err);
	free(head);
	free(tail);
}

/* core_width - a slot whose windows are wide (a long optional prefix
 * before its literals: __FILL_THIS_FORM_SHORT2) searched first for its
 * core, with the core's narrower windows, where they are a quarter
 * narrower at least and the start positions PCRE2 tries in them are no
 * more: their width times the share of first byte pairs a match may start
 * with (PCRE2 rejects a start position from those; a core that starts
 * with a common word where the regex starts with a line number, as
 * __FILL_THIS_FORM_SHORT1's does, is tried at more of the positions of a
 * window, 0.0249 of them against 0.0159, but its windows are 119 bytes
 * and runs where the regex's are 262: over the 200 median corpus
 * messages, 7.2M fewer instructions) */
static char *core_width(struct prefilter *pf, struct pf_slot *s, const struct reqlit *rl)
{
	struct rewidth lead, pre;
	char *core, *err = NULL;

	if (!s->bounded || rewidth_weight(&s->width) < PF_CORE_MIN || !re_bytes(s->rep->re) ||
	    !rewidth_core(s->rep->pat, s->rep->flags, rl, &core, &lead, &pre))
		return NULL;
	double wl = (double)rewidth_weight(&lead), ws = (double)rewidth_weight(&s->width);
	if (4 * wl <= 3 * ws &&
	    wl * lead_share(core, s->rep->flags) <= ws * lead_share(s->rep->pat, s->rep->flags)) {
		struct re *re = re_compile(core, strlen(core), s->rep->flags, &err);
		if (re != NULL && re_bytes(re)) {
			s->core = re;
			s->core_pre = pre;
			set_width(s, &lead);
			for (int i = 0; i < REWIDTH_RUNS; i++)
				s->runs |= pre.k[i] != 0;
			pf->info.core++;
			core_head(pf, s, core);
			free(err);
			return core;
		}
		re_free(re);
	}
	free(err);
	free(core);
	return NULL;
}

/* lit_in - the longest literal of rl that a text holding s (n bytes)
 * holds (a substring, without ASCII case), or rl->n if none */
static size_t lit_in(const struct reqlit *rl, const char *s, size_t n)
{
	size_t best = rl->n;

	for (size_t k = 0; k < rl->n; k++)
		if (mem_holds_nocase(s, n, rl->s[k], rl->len[k]) &&
		    (best == rl->n || rl->len[k] > rl->len[best]))
			best = k;
	return best;
}

/* what branch_widths builds: per literal of rl, the largest width of the
 * branches whose literals it holds, and whether any does */
struct bw {
	const struct pf_slot *s;
	const struct reqlit *rl;
	struct rewidth *w;
	bool *set;
	int budget;		/* reqlit_find calls left */
};

/*
 * part_widths - part (a branch of the slot's pattern) gives the literals
 * of rl that its own literals hold its width, no larger than cap; or, where
 * it splits into branches of its own that all do so (each no wider than
 * it), theirs, one level further at most PF_SPLIT_DEPTH times.  false
 * (and b as it was) when it has no literals, one of them holds none of
 * rl's, or it has no width within cap.
 */
static bool part_widths(struct bw *b, const char *part, const struct rewidth *cap, int depth)
{
	const char *flags = b->s->rep->flags;
	struct reqlit ri;
	struct rewidth wi;

	if (b->budget-- <= 0 || !reqlit_find(part, flags, &ri))
		return false;
	size_t *at = xcalloc(ri.n + 1, sizeof(*at));
	bool ok = ri.n > 0 && (rewidth_lead(part, flags, &ri, &wi) || rewidth_runs(part, flags, &wi)) &&
		  rewidth_le(&wi, cap);
	for (size_t k = 0; ok && k < ri.n; k++)
		ok = (at[k] = lit_in(b->rl, ri.s[k], ri.len[k])) < b->rl->n;
	char **sub = NULL;
	size_t n = ok && depth < PF_SPLIT_DEPTH ? rewidth_split(part, flags, PF_SPLIT_MAX, &sub) : 0;
	if (n > 0) {	/* narrower branches of its own, all or none */
		size_t nl = b->rl->n;
		struct rewidth *w0 = xmalloc(nl * sizeof(*w0));
		bool *set0 = xmalloc(nl * sizeof(*set0)), all = true;
		memcpy(w0, b->w, nl * sizeof(*w0));
		memcpy(set0, b->set, nl * sizeof(*set0));
		for (size_t i = 0; i < n; i++) {
			all = all && part_widths(b, sub[i], &wi, depth + 1);
			free(sub[i]);
		}
		if (!all) {
			memcpy(b->w, w0, nl * sizeof(*w0));
			memcpy(b->set, set0, nl * sizeof(*set0));
		}
		free(w0);
		free(set0);
		n = all;
	}
	free(sub);
	for (size_t k = 0; ok && n == 0 && k < ri.n; k++) {	/* its own width */
		size_t j = at[k];
		if (!b->set[j])
			b->w[j] = wi;
		else
			rewidth_join(&b->w[j], &wi);
		b->set[j] = true;
	}
	free(at);
	reqlit_clear(&ri);
	return ok;
}

/*
 * branch_widths - widths of the slot's literals of their own, where its
 * pattern (or its core: what the windows are for) splits into branches
 * (rewidth_split) whose literals end closer to a match's start than the
 * slot's width, the farthest branch's, lets them: __FILL_THIS_FORM_SHORT2's
 * core is a field word of eleven kinds, of which only an address may come
 * after three optional words ("residential mailing work address": 51
 * bytes and 8 runs), where "age" or "tel" start theirs; and each kind is
 * a choice of words in turn.  Every match is a match of one branch from
 * the same start, and holds one of the branch's literals (reqlit_find)
 * ending within the branch's width of its start; each such literal holds
 * one of rl's (the longest, lit_in), whose occurrence ends no later, so
 * rl's literal given the largest width of the branches whose literals it
 * holds has a window that holds the match's start.  A literal of rl in
 * none keeps the slot's width.  Only when every branch has literals, each
 * holding one of rl's, and a width no larger than the slot's (the windows
 * only shrink).  The widths go into pf->widths; the result (the caller
 * frees) holds each literal's index there, or is NULL: no widths of
 * their own.
 */
static uint32_t *branch_widths(struct prefilter *pf, const struct pf_slot *s, const char *pattern,
			       const struct reqlit *rl)
{
	uint32_t *idx = NULL;
	char **parts;
	size_t n = s->bounded ? rewidth_split(pattern, s->rep->flags, PF_SPLIT_MAX, &parts) : 0;
	struct bw b = { .s = s, .rl = rl, .budget = PF_SPLIT_TRIES };
	bool ok = n > 0, narrower = false;

	b.w = xcalloc(rl->n + 1, sizeof(*b.w));
	b.set = xcalloc(rl->n + 1, sizeof(*b.set));
	for (size_t i = 0; i < n; i++) {
		ok = ok && part_widths(&b, parts[i], &s->width, 1);
		free(parts[i]);
	}
	free(n ? parts : NULL);
	for (size_t j = 0; ok && j < rl->n; j++) {
		if (!b.set[j])
			b.w[j] = s->width;
		narrower = narrower || memcmp(&b.w[j], &s->width, sizeof(b.w[j])) != 0;
	}
	if (ok && narrower) {
		if (pf->nwidths + rl->n + 1 > pf->widths_cap) {
			pf->widths_cap = (pf->nwidths + rl->n + 1) * 2;
			pf->widths = xrealloc(pf->widths, pf->widths_cap * sizeof(*pf->widths));
		}
		if (pf->nwidths == 0)
			pf->nwidths = 1;	/* [0]: the slot's own */
		idx = xcalloc(rl->n + 1, sizeof(*idx));
		for (size_t j = 0; j < rl->n; j++) {
			pf->widths[pf->nwidths] = b.w[j];
			idx[j] = (uint32_t)pf->nwidths++;
		}
		pf->info.branched++;
	}
	free(b.w);
	free(b.set);
	return idx;
}

/* class_run - slot i of text t, which its literals do not rule out in
 * a plain text (none, or look-alike ones only): its run of classes there
 * (reqlit_class_run), packed into the text's words, or that it cannot
 * match such a text at all */
static void class_run(struct prefilter *pf, size_t t, size_t i)
{
	const struct pf_slot *s = &pf->slots[i];
	struct pf_text *pt = &pf->texts[t];
	struct reqlit_run cr;

	if (t == T_URI || !re_bytes(s->rep->re) ||
	    !reqlit_class_run(s->rep->pat, s->rep->flags, &cr))
		return;
	pf->info.runs++;
	if (cr.dead) {
		size_t n = pt->ndead;
		if ((n & (n - 1)) == 0)	/* at 0, 1, 2, 4...: doubled */
			pt->dead = xrealloc(pt->dead, (n ? 2 * n : 1) * sizeof(*pt->dead));
		pt->dead[pt->ndead++] = i;
		pf->info.runs_dead++;
		return;
	}
	if (pt->bits / 64 != (pt->bits + cr.n - 1) / 64)
		pt->bits = (pt->bits / 64 + 1) * 64;	/* the next lane */
	if (pt->ncw == 0 || pt->bits + cr.n > 256) {
		struct pf_cword *nw = aligned_alloc(32, sizeof(*nw));	/* a multiple of 32 */
		if (nw == NULL)
			oom(sizeof(*nw));
		memset(nw, 0, sizeof(*nw));
		pt->cw = xrealloc(pt->cw, (pt->ncw + 1) * sizeof(*pt->cw));
		pt->cw[pt->ncw++] = nw;
		pt->bits = 0;
	}
	struct pf_cword *w = pt->cw[pt->ncw - 1];
	size_t lane = pt->bits / 64, at = pt->bits % 64;
	for (size_t j = 0; j < cr.n; j++)
		for (int c = 0; c < 256; c++) {
			if (cr.set[j][c >> 6] >> (c & 63) & 1)
				w->at[c].tab[lane] |= (uint64_t)1 << (at + j);
			if (cr.loop[j][c >> 6] >> (c & 63) & 1)
				w->at[c].loop[lane] |= (uint64_t)1 << (at + j);
		}
	w->start[lane] |= (uint64_t)1 << at;
	w->end[lane] |= (uint64_t)1 << (at + cr.n - 1);
	w->last[w->n] = (unsigned char)(pt->bits + cr.n - 1);
	w->slot[w->n++] = i;
	pt->bits += cr.n;
}

/* compile_text - the literal databases of text t: every required literal
 * of its slots that have them; a slot without is looked for in the
 * squeezed text (not for URIs, which are many short texts); the others
 * become "always" */
static void compile_text(struct prefilter *pf, size_t t)
{
	struct lits l = { .n = 0 }, sl = { .n = 0 };

	for (size_t i = 0; i < pf->nslots; i++) {
		struct pf_slot *s = &pf->slots[i];
		struct reqlit rl, gate = { .n = 0 };
		if (s->text != t || s->always)
			continue;
		if (t == T_URI ? reqlit_find_uri(s->rep->pat, s->rep->flags, &rl) :
				 reqlit_find2(s->rep->pat, s->rep->flags, &rl, &gate)) {
			uint32_t *idx = NULL;
			if (t != T_URI) {
				lead_width(pf, s, &rl);
				char *core = core_width(pf, s, &rl);
				idx = branch_widths(pf, s, core ? core : s->rep->pat, &rl);
				free(core);
			}
			lits_take(pf, &l, &rl, (unsigned)i, t == T_URI, idx, 0);
			free(idx);
			if (gate.n) {
				lits_take(pf, &l, &gate, (unsigned)i, false, NULL, PF_GATE);
				struct pf_text *pt = &pf->texts[t];
				size_t n = pt->ngated;
				if ((n & (n - 1)) == 0)	/* at 0, 1, 2, 4...: doubled */
					pt->gated = xrealloc(pt->gated, (n ? 2 * n : 1) * sizeof(*pt->gated));
				pt->gated[pt->ngated++] = i;
				pf->info.gated++;
			}
		} else if (t != T_URI && reqlit_find_squeezed(s->rep->pat, s->rep->flags, &rl)) {
			lits_take(pf, &sl, &rl, (unsigned)i, false, NULL, 0);
			pf->info.squeezed++;
		} else if (t != T_URI && reqlit_find_ascii(s->rep->pat, s->rep->flags, &rl)) {
			lits_take(pf, &l, &rl, (unsigned)i, false, NULL, 0);	/* none: no match in ASCII */
			s->ascii = true;
			pf->texts[t].ascii = true;
			pf->info.ascii++;
			class_run(pf, t, i);
		} else if (t != T_URI && reqlit_find_squeezed_ascii(s->rep->pat, s->rep->flags, &rl)) {
			lits_take(pf, &sl, &rl, (unsigned)i, false, NULL, 0);	/* none: no match there */
			s->plain = true;
			pf->texts[t].plain = true;
			pf->info.plain++;
			class_run(pf, t, i);
		} else {
			s->always = true;
			class_run(pf, t, i);
		}
	}
	pf->texts[t].db = lits_compile(pf, &l);
	pf->texts[t].sdb = lits_compile(pf, &sl);
	if (pf->texts[t].db == NULL)	/* its slots became "always" */
		pf->texts[t].ngated = 0;
}

static shift_and_fn *shift_and_pick(void);

/* prefilter_build - slots, texts and databases of a rule set */
struct prefilter *prefilter_build(const struct rule *rules, size_t nrules)
{
	double t0 = now_ms();
	static atomic_ulong gens;
	struct prefilter *pf = xcalloc(1, sizeof(*pf));
	size_t cap = 16;

	pf->gen = atomic_fetch_add(&gens, 1) + 1;
	pf->shift_and = shift_and_pick();

	while (cap < 2 * nrules + 8)
		cap *= 2;
	size_t *ttab = xcalloc(cap, sizeof(*ttab)), *stab = xcalloc(cap, sizeof(*stab));
	memset(ttab, 0xff, cap * sizeof(*ttab));
	memset(stab, 0xff, cap * sizeof(*stab));
	pf->texts = xcalloc(nrules + T_FIXED, sizeof(*pf->texts));
	pf->ntexts = T_FIXED;
	pf->slots = xcalloc(nrules + 1, sizeof(*pf->slots));
	pf->slot_of = xcalloc(nrules + 1, sizeof(*pf->slot_of));
	pf->nrules = nrules;
	for (size_t i = 0; i < nrules; i++) {
		const struct rule *r = &rules[i];
		pf->slot_of[i] = SIZE_MAX;
		if (r->disabled || r->re == NULL || r->pat == NULL ||
		    (r->type != RULE_HEADER && r->type != RULE_BODY && r->type != RULE_RAWBODY &&
		     r->type != RULE_FULL && r->type != RULE_URI) ||
		    (r->type == RULE_HEADER && (r->mod & HDR_MIME)))	/* each part: match_mime */
			continue;
		pf->info.regexes++;
		pf->slot_of[i] = slot_of(pf, stab, cap, r, text_of(pf, ttab, cap, r));
	}
	free(ttab);
	free(stab);
	if (pf->nslots == 0)
		return prefilter_free(pf);
	for (size_t t = 0; t < pf->ntexts; t++)
		compile_text(pf, t);
	pf->info.distinct = pf->nslots;
	pf->info.literals = pf->nlits;
	pf->info.texts = pf->ntexts;
	/* what the literals leave: runs of the bytes a match consumes */
	pf->spans = xcalloc(pf->nslots, sizeof(*pf->spans));
	for (size_t i = 0; i < pf->nslots; i++) {
		struct pf_slot *sl = &pf->slots[i];
		struct pf_span *sp = &pf->spans[i];
		uint64_t set[4];
		uint64_t first[4];
		if (!sl->always || sl->text == T_URI || !re_bytes(sl->rep->re) ||
		    (re_starts(sl->rep->re, first) && rewidth_share(first) < PF_SPAN_START))
			continue;
		if (!rewidth_span(sl->rep->pat, sl->rep->flags, set, &sp->min) ||
		    sp->min < PF_SPAN_MIN) {
			if (!rewidth_subspan(sl->rep->pat, sl->rep->flags, PF_SUBSPAN_ODDS, set,
					     &sp->min, &sp->lead))
				continue;
			pf->info.subspan++;
		}
		size_t n = 0;
		for (int c = 0; c < 256; c++)
			n += sp->in[c] = set[c >> 6] >> (c & 63) & 1;
		sp->all = n == 256;
		sl->span = sp;
		pf->info.span++;
	}
	pf->hot = xcalloc(pf->nslots, sizeof(*pf->hot));
	for (size_t i = 0; i < pf->nslots; i++) {
		const struct pf_slot *sl = &pf->slots[i];
		pf->hot[i].text = (uint32_t)sl->text;
		pf->hot[i].kind = sl->always ? PF_LOUD : sl->ascii ? PF_QUIET_ASCII :
				  sl->plain ? PF_QUIET_PLAIN : PF_QUIET;
		pf->hot[i].core = sl->core != NULL;
		pf->info.prefiltered += !sl->always;
	}
	for (size_t h = 0; h < pf->nheads; h++) {
		size_t sz = 0;
		if (hs_database_size(pf->heads[h].db, &sz) == HS_SUCCESS)
			pf->info.db_bytes += sz;
	}
	for (size_t t = 0; t < pf->ntexts; t++) {
		size_t sz = 0;
		if (pf->texts[t].db && hs_database_size(pf->texts[t].db, &sz) == HS_SUCCESS)
			pf->info.db_bytes += sz;
		if (pf->texts[t].sdb && hs_database_size(pf->texts[t].sdb, &sz) == HS_SUCCESS)
			pf->info.db_bytes += sz;
	}
	if (pf->proto)
		hs_scratch_size(pf->proto, &pf->info.scratch_bytes);
	pf->info.build_ms = now_ms() - t0;
	return pf;
}

/* prefilter_set_no_regex - see prefilter.h */
void prefilter_set_no_regex(struct prefilter *pf, bool on)
{
	if (pf)
		pf->no_regex = on;
}

/* prefilter_free - release */
struct prefilter *prefilter_free(struct prefilter *pf)
{
	if (pf == NULL)
		return NULL;
	for (size_t t = 0; t < pf->ntexts; t++) {
		hs_free_database(pf->texts[t].db);
		hs_free_database(pf->texts[t].sdb);
		free(pf->texts[t].gated);
		for (size_t k = 0; k < pf->texts[t].ncw; k++)
			free(pf->texts[t].cw[k]);
		free(pf->texts[t].cw);
		free(pf->texts[t].dead);
	}
	hs_free_scratch(pf->proto);
	free(pf->texts);
	for (size_t i = 0; i < pf->nslots; i++) {
		re_free(pf->slots[i].core);
		re_free(pf->slots[i].tail);
	}
	for (size_t h = 0; h < pf->nheads; h++) {
		free(pf->heads[h].pat);
		hs_free_database(pf->heads[h].db);
	}
	free(pf->heads);
	free(pf->slots);
	free(pf->spans);
	free(pf->slot_of);
	free(pf->hot);
	free(pf->lit_slot);
	free(pf->lit_len);
	free(pf->lit_next);
	free(pf->lit_width);
	free(pf->widths);
	free(pf);
	return NULL;
}

/* prefilter_info - copy of the figures */
void prefilter_info(const struct prefilter *pf, struct rules_pf_info *info)
{
	static const struct rules_pf_info none;

	*info = pf ? pf->info : none;
}

/* ---------------------------------------------------------------- run */

/*
 * A run's allocations (its Vectorscan scratch, the slots' results, the
 * texts' buffers and windows) are kept between the messages of a thread:
 * prefilter_end leaves a cleared run as the thread's spare, and the next
 * prefilter_begin for the same build takes it instead of allocating and
 * cloning again.  A spare of another build (a reload) is freed; so is a
 * thread's at its exit (the key's destructor).
 */
static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;
static bool spare_ok;

/* run_free - release a run and everything it holds (not its pf, which
 * may be gone for a spare) */
static void run_free(struct pf_run *run)
{
	for (size_t t = 0; t < run->ntexts; t++) {
		buf_free(&run->tx[t].hb);
		free(run->tx[t].sq);
		free(run->tx[t].sq_at);
		free(run->tx[t].odd[0]);
		free(run->tx[t].odd[1]);
	}
	hs_free_scratch(run->scratch);
	for (size_t h = 0; h < run->nheads; h++)
		free(run->ends[h].at);
	free(run->ends);
	free(run->wins);
	free(run->tx);
	free(run->res);
	free(run);
}

static void spare_drop(void *p)
{
	run_free(p);
}

static void spare_init(void)
{
	spare_ok = pthread_key_create(&spare_key, spare_drop) == 0;
}

/* prefilter_begin - per-message state and scratch */
struct pf_run *prefilter_begin(const struct prefilter *pf, const struct eval_env *env,
			       struct re_scratch *re)
{
	if (pf == NULL)
		return NULL;
	pthread_once(&spare_once, spare_init);
	struct pf_run *run = spare_ok ? pthread_getspecific(spare_key) : NULL;
	if (run != NULL) {
		pthread_setspecific(spare_key, NULL);
		if (run->gen != pf->gen) {
			run_free(run);
			run = NULL;
		}
	}
	if (run == NULL) {
		hs_scratch_t *scratch = NULL;
		if (pf->proto && hs_clone_scratch(pf->proto, &scratch) != HS_SUCCESS)
			return NULL;	/* rules.c runs every rule on its own */
		run = xcalloc(1, sizeof(*run));
		run->pf = pf;
		run->gen = pf->gen;
		run->ntexts = pf->ntexts;
		run->nslots = pf->nslots;
		run->scratch = scratch;
		run->res = xcalloc(pf->nslots, sizeof(*run->res));
		run->tx = xcalloc(pf->ntexts, sizeof(*run->tx));
		run->nheads = pf->nheads;
		run->ends = xcalloc(pf->nheads + 1, sizeof(*run->ends));
	}
	run->env = env;
	run->m = env->m;
	run->re = re;
	return run;
}

/* prefilter_quiet_slot - see prefilter.h */
size_t prefilter_quiet_slot(const struct prefilter *pf, size_t i)
{
	if (pf == NULL || i >= pf->nrules || pf->slot_of[i] == SIZE_MAX ||
	    pf->hot[pf->slot_of[i]].kind == PF_LOUD)
		return SIZE_MAX;
	return pf->slot_of[i];
}

/* searched_whole - a slot of hot entry h is searched over the whole of
 * its (ready) text, not in windows: no literal rules it out (always), the
 * scan failed, or the text has the bytes its ASCII promise excludes */
static bool searched_whole(const struct pf_hot *h, const struct pf_tx *tx)
{
	bool ascii = h->kind == PF_QUIET_ASCII, plain = h->kind == PF_QUIET_PLAIN;

	return h->kind == PF_LOUD || tx->failed || ((ascii || plain) && tx->high) ||
	       (plain && tx->amp);
}

/* prefilter_quiet - see prefilter.h: what prefilter_rule would find
 * without running PCRE2 (a slot that is not always, whose text was
 * scanned without error, with no window, not searched whole, and none
 * from bytes its ASCII promise excludes: prefilter_rule's "whole ||
 * cand" is false there, and its count stays 0) */
bool prefilter_quiet(const struct pf_run *run, size_t k)
{
	if (run == NULL || k >= run->pf->nslots)
		return false;
	const struct pf_hot *h = &run->pf->hot[k];
	const struct pf_res *res = &run->res[k];
	const struct pf_tx *tx = &run->tx[h->text];

	if (res->done)
		return res->n == 0;
	if (res->never)		/* set only in a text ready */
		return true;
	return tx->ready && !res->cand && !searched_whole(h, tx);
}

static struct pf_tx *text_ready(struct pf_run *run, size_t t);

/* prefilter_ready_quiet - see prefilter.h */
bool prefilter_ready_quiet(struct pf_run *run, size_t k)
{
	if (run == NULL || k >= run->pf->nslots)
		return false;
	text_ready(run, run->pf->hot[k].text);
	if (!prefilter_quiet(run, k))
		return false;
	struct pf_res *res = &run->res[k];
	res->done = true;	/* res->n is 0: done with 0, never, or no window */
	return true;
}

/* prefilter_end - the run cleared for the thread's next message (its
 * allocations kept: the header texts' buffers, the clusters' arrays, the
 * windows), or released when the thread has a spare already */
void prefilter_end(struct pf_run *run)
{
	if (run == NULL)
		return;
	memset(run->res, 0, run->nslots * sizeof(*run->res));
	for (size_t t = 0; t < run->ntexts; t++) {
		struct pf_tx *tx = &run->tx[t];
		struct buf hb = tx->hb;
		struct match_win *odd0 = tx->odd[0], *odd1 = tx->odd[1];
		free(tx->sq);
		free(tx->sq_at);
		buf_reset(&hb);
		memset(tx, 0, sizeof(*tx));
		tx->hb = hb;
		tx->odd[0] = odd0;
		tx->odd[1] = odd1;
	}
	for (size_t h = 0; h < run->nheads; h++) {
		run->ends[h].ready = run->ends[h].failed = false;
		run->ends[h].n = 0;
	}
	run->nwins = 0;
	run->uris = false;
	run->at = NULL;
	run->cur = NULL;
	run->env = NULL;
	run->m = NULL;
	run->re = NULL;
	if (spare_ok && pthread_getspecific(spare_key) == NULL &&
	    pthread_setspecific(spare_key, run) == 0)
		return;
	run_free(run);
}

/* merge_window - add [lo, hi] to res's windows in any order: they stay
 * sorted and disjoint; with PF_WINDOWS of them, the two closest become
 * one (the positions they cover grow by the smallest gap) */
static void merge_window(struct pf_run *run, struct pf_res *res, size_t lo, size_t hi)
{
	struct match_win v[PF_WINDOWS + 1], *w = &run->wins[res->win];
	size_t n = 0, i = 0;

	while (i < res->nwin && w[i].hi + 1 < lo)
		v[n++] = w[i++];
	while (i < res->nwin && w[i].lo <= hi + 1) {	/* overlaps or touches */
		lo = w[i].lo < lo ? w[i].lo : lo;
		hi = w[i].hi > hi ? w[i].hi : hi;
		i++;
	}
	v[n++] = (struct match_win){ lo, hi };
	while (i < res->nwin)
		v[n++] = w[i++];
	if (n > PF_WINDOWS) {
		size_t k = 0;
		for (size_t j = 1; j + 1 < n; j++)
			if (v[j + 1].lo - v[j].hi < v[k + 1].lo - v[k].hi)
				k = j;
		v[k].hi = v[k + 1].hi;
		memmove(&v[k + 1], &v[k + 2], (n - k - 2) * sizeof(*v));
		n--;
	}
	memcpy(w, v, n * sizeof(*v));
	res->nwin = (unsigned)n;
}

/* add_window - a match of res's slot may start in [lo, hi]: the windows
 * stay sorted and disjoint, and hold every such range seen.  Ranges come
 * mostly in order (Vectorscan reports by end offset): the last window
 * grows or one is appended; any other goes through merge_window, which
 * joins the two closest when there are too many (joining them all into
 * one, as before, searched most of the text for a slot whose literals
 * are common words, between hits far apart) */
static void add_window(struct pf_run *run, struct pf_res *res, size_t lo, size_t hi)
{
	if (res->nwin == 0) {
		if (run->nwins + PF_WINDOWS > run->wins_cap) {
			run->wins_cap = (run->nwins + PF_WINDOWS) * 2;
			run->wins = xrealloc(run->wins, run->wins_cap * sizeof(*run->wins));
		}
		res->win = run->nwins;
		run->nwins += PF_WINDOWS;
		run->wins[res->win] = (struct match_win){ lo, hi };
		res->nwin = 1;
		return;
	}
	struct match_win *w = &run->wins[res->win], *last = &w[res->nwin - 1];
	if (lo >= last->lo && lo <= last->hi + 1) {
		if (hi > last->hi)
			last->hi = hi;
	} else if (lo > last->hi + 1 && res->nwin < PF_WINDOWS) {
		w[res->nwin++] = (struct match_win){ lo, hi };
	} else {
		merge_window(run, res, lo, hi);
	}
}

/* push_window - one more window at the end of run->wins */
static void push_window(struct pf_run *run, size_t lo, size_t hi)
{
	if (run->nwins + 1 > run->wins_cap) {
		run->wins_cap = (run->nwins + 1) * 2;
		run->wins = xrealloc(run->wins, run->wins_cap * sizeof(*run->wins));
	}
	run->wins[run->nwins++] = (struct match_win){ lo, hi };
}

/* text_runs - w evaluated with the longest runs of text tx, each class
 * counted once a message, when a width first needs it (by on_lit, or
 * text_bound): a class no width of the message's slots reads is never
 * counted (over the 200 median messages of the corpus with the stock
 * set, rewidth_text_runs 8.2M -> 4.1M instructions against counting
 * every class a slot of the text may read) */
static size_t text_runs(struct pf_tx *tx, const struct rewidth *w)
{
	unsigned miss = 0;

	for (int k = 0; k < REWIDTH_RUNS; k++)
		if (w->k[k] && !(tx->runs_ready >> k & 1))
			miss |= 1u << k;
	if (miss) {
		size_t r[REWIDTH_RUNS];
		rewidth_text_runs(tx->subj, tx->len, miss, r);
		for (int k = 0; k < REWIDTH_RUNS; k++)
			if (miss >> k & 1)
				tx->runs[k] = r[k];
		tx->runs_ready |= miss;
	}
	return rewidth_eval(w, tx->runs);
}

/* text_bound - bound w for text tx of this message: its constant part, or
 * with the text's runs (text_runs) when it has any */
static size_t text_bound(struct pf_tx *tx, const struct rewidth *w)
{
	for (int k = 0; k < REWIDTH_RUNS; k++)
		if (w->k[k])
			return text_runs(tx, w);
	return w->c;
}

/* odd_clusters - the clusters of text tx's bytes >= 0x80 (and, amp, of
 * its '&'), PF_ODD_GAP apart at least; NULL when there are more than
 * PF_ODD_MAX */
static const struct match_win *odd_clusters(struct pf_tx *tx, bool amp, size_t *n)
{
	int k = amp;

	if (!tx->odd_ready[k]) {
		tx->odd_ready[k] = true;
		if (tx->odd[k] == NULL)	/* kept from an earlier message */
			tx->odd[k] = xmalloc(PF_ODD_MAX * sizeof(*tx->odd[k]));
		const unsigned char *u = (const unsigned char *)tx->subj;
		for (size_t i = 0; i < tx->len && !tx->odd_many[k]; i++) {
			/* 16 bytes at a time to the next such byte: most of
			 * a text has none */
			while (i + 16 <= tx->len) {
				u8x16 v = vec16_load(u + i);
				unsigned f = vec16_first((u8x16)(v >= 0x80) |
							 (amp ? (u8x16)(v == '&') : (u8x16){ 0 }));
				i += f;
				if (f < 16)
					break;
			}
			if (i >= tx->len)
				break;
			if (u[i] < 0x80 && (!amp || u[i] != '&'))
				continue;
			struct match_win *last = tx->nodd[k] ? &tx->odd[k][tx->nodd[k] - 1] : NULL;
			if (last && i - last->hi <= PF_ODD_GAP)
				last->hi = i;
			else if (tx->nodd[k] < PF_ODD_MAX)
				tx->odd[k][tx->nodd[k]++] = (struct match_win){ i, i };
			else
				tx->odd_many[k] = true;
		}
	}
	*n = tx->nodd[k];
	return tx->odd_many[k] ? NULL : tx->odd[k];
}

/* odd_windows - slot s (ascii or plain) in a text that is not: its
 * literals hold for a match that reads only bytes < 0x80 (and no '&'),
 * from its longest look-behind before its start to its width after.  A
 * match that reads another byte at p starts in [p - width + 1, p + back]:
 * those windows join the literals'.  false when the slot's width is not
 * bounded or the text has too many such bytes: then search it whole. */
static bool odd_windows(struct pf_run *run, const struct pf_slot *s, struct pf_res *res,
			struct pf_tx *tx)
{
	size_t n;
	const struct match_win *c = odd_clusters(tx, s->plain, &n);

	if (c == NULL || !s->bounded)
		return false;
	size_t width = text_bound(tx, &s->width);
	if (width == REWIDTH_NONE)
		return false;
	for (size_t i = 0; i < n; i++) {
		size_t lo = c[i].lo + 1 > width ? c[i].lo + 1 - width : 0, hi = c[i].hi + s->back;
		if (lo <= hi) {	/* a match reading nothing at its start reads them before */
			add_window(run, res, lo, hi);
			res->cand = true;
		}
	}
	return true;
}

/* span_windows - where a match of a slot searched in runs of its bytes
 * may start: from back before the start of each run at least sp->min
 * long to sp->min before its end (back: how far into a match the part
 * that consumes the run starts, 0 for the whole match; windows closer
 * than PF_SPAN_GAP as one).  Once every run starting before p is known,
 * a run of min bytes starting at p or later holds s[p + min - 1]: when
 * that byte is outside, the search goes on after it; when inside, its
 * run is measured, backwards no further than p (s[p - 1] is outside, or
 * p is 0).  The windows follow run->wins[*first]; their count. */
static size_t span_windows(struct pf_run *run, const struct pf_span *sp, size_t back,
			   const char *s, size_t n, size_t *first)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t m = sp->min, nw = 0;

	*first = run->nwins;
	if (sp->all && m <= n) {	/* one run, read no further */
		push_window(run, 0, n - m);
		return 1;
	}
	for (size_t p = 0; !sp->all && m <= n && p <= n - m;) {
		size_t q = p + m - 1;
		if (!sp->in[u[q]]) {
			p = q + 1;
			continue;
		}
		size_t j = q, e = q + 1;
		while (j > p && sp->in[u[j - 1]])
			j--;
		while (e < n && sp->in[u[e]])
			e++;
		if (e - j >= m) {
			struct match_win *last = nw ? &run->wins[run->nwins - 1] : NULL;
			size_t lo = back == REWIDTH_NONE || j < back ? 0 : j - back;
			if (last && lo <= last->hi + PF_SPAN_GAP) {
				last->hi = e - m;
			} else {
				push_window(run, lo, e - m);
				nw++;
			}
		}
		p = e + 1;	/* s[e] is outside, or the end */
	}
	return nw;
}

/* on_lit - literal e ends at to, so its slot may match, starting where
 * a match holding this occurrence can start: from width before its end
 * to its start (a look-behind's literal: back after) */
static void on_lit(struct pf_run *run, unsigned e, size_t to)
{
	size_t k = run->pf->lit_slot[e];
	struct pf_res *res = &run->res[k];
	uint32_t wi = run->pf->lit_width[e];

	if (wi == PF_GATE) {
		res->gate = true;
		return;
	}
	const struct pf_slot *s = &run->pf->slots[k];
	size_t end = to, start = end - run->pf->lit_len[e];

	res->cand = true;
	if (run->uris) {	/* a match of the slot is in this URI */
		add_window(run, res, run->uri, run->uri);
		return;
	}
	if (run->at) {	/* squeezed: the match holds the bytes it came from */
		start = run->at[start];
		end = run->at[end - 1] + 1;
	}
	size_t hi = start + s->back;
	/* the width (the literal's own, or its slot's); its runs part
	 * matters only where the rest of it leaves room before end (the
	 * text's runs counted once, then) */
	const struct rewidth *w = wi ? &run->pf->widths[wi] : &s->width;
	size_t width = !s->bounded ? REWIDTH_NONE : w->c;
	if (s->runs && width < end)
		width = text_runs(run->cur, w);
	size_t lo = width == REWIDTH_NONE || end <= width ? 0 : end - width;
	add_window(run, res, lo < hi ? lo : hi, hi);
}

/* on_match - Vectorscan: the string of literal id ends at to, for each
 * slot that has it */
static int on_match(unsigned id, unsigned long long from, unsigned long long to,
		    unsigned flags, void *ctx)
{
	struct pf_run *run = ctx;

	(void)from;
	(void)flags;
	for (unsigned e = id; e != PF_NO_LIT; e = run->pf->lit_next[e])
		on_lit(run, e, (size_t)to);
	return 0;
}
/* scan - one Vectorscan pass over s; false on error.  uris: s is URI
 * number run->uri, and a slot's windows are ranges of URIs. */
static bool scan(struct pf_run *run, const hs_database_t *db, const char *s, size_t len,
		 bool uris)
{
	if (len > UINT32_MAX)
		return false;
	run->uris = uris;
	return hs_scan(db, s, (unsigned)len, 0, run->scratch, on_match, run) == HS_SUCCESS;
}

/* shift_and - the runs of the nw words w[] in s[0, len), in one pass:
 * out[k] gets the bits of w[k]'s found as the runs' end bits are reached
 * (stopped once every run was seen).  The words' steps depend on their
 * own last step only, so a pass of several runs them side by side (the
 * stock set's body has two words: one pass of it instead of two), and
 * a byte's two masks of a word share one cache line.
 * No vector crosses a call: that would change the ABI.  Built twice, for
 * AVX2 and for any x86-64 (two SSE2 registers), and the prefilter picks
 * one at load (prefilter_build): an ifunc (GCC's target_clones) would be
 * resolved before ThreadSanitizer is set up. */
static inline __attribute__((always_inline)) void
shift_and_body(const struct pf_cword *const *w, const unsigned nw, const unsigned char *s,
	       size_t len, uint64_t (*out)[4])
{
	pf_v4 d[PF_CW_GROUP], found[PF_CW_GROUP], start[PF_CW_GROUP];

	for (unsigned k = 0; k < nw; k++) {
		d[k] = found[k] = (pf_v4){ 0, 0, 0, 0 };
		start[k] = w[k]->start;
	}
	for (size_t i = 0; i < len;) {
		size_t stop = len - i > 256 ? i + 256 : len;
		for (; i < stop; i++)
			for (unsigned k = 0; k < nw; k++) {
				const pf_v4 *t = &w[k]->at[s[i]].tab;
				d[k] = (((d[k] << 1) | start[k]) & t[0]) | (d[k] & t[1]);
				found[k] |= d[k];
			}
		pf_v4 left = { 0, 0, 0, 0 };
		for (unsigned k = 0; k < nw; k++)
			left |= w[k]->end & ~found[k];
		if ((left[0] | left[1] | left[2] | left[3]) == 0)
			break;	/* every run seen */
	}
	for (unsigned k = 0; k < nw; k++)
		memcpy(out[k], &found[k], sizeof(found[k]));
}

/* shift_and_n - shift_and_body with nw a constant in each case */
#define SHIFT_AND_N(w, nw, s, len, out)                                    \
	do {                                                               \
		switch (nw) {                                              \
		case 1: shift_and_body(w, 1, s, len, out); break;          \
		case 2: shift_and_body(w, 2, s, len, out); break;          \
		case 3: shift_and_body(w, 3, s, len, out); break;          \
		default: shift_and_body(w, PF_CW_GROUP, s, len, out); break; \
		}                                                          \
	} while (0)

static void shift_and(const struct pf_cword *const *w, unsigned nw, const unsigned char *s,
		      size_t len, uint64_t (*out)[4])
{
	SHIFT_AND_N(w, nw, s, len, out);
}

#if defined(__x86_64__)
__attribute__((target("avx2")))
static void shift_and_avx2(const struct pf_cword *const *w, unsigned nw, const unsigned char *s,
			   size_t len, uint64_t (*out)[4])
{
	SHIFT_AND_N(w, nw, s, len, out);
}
#endif

/* shift_and_pick - the shift_and this CPU runs best */
static shift_and_fn *shift_and_pick(void)
{
#if defined(__x86_64__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2"))
		return shift_and_avx2;
#endif
	return shift_and;
}

/* class_runs - in a plain text (ASCII, no '&'), the slots that lack
 * their run of classes, and those that cannot match it at all, have no
 * match: one shift-and pass per PF_CW_GROUP words of runs, which stops
 * early once every run of its words was seen */
static void class_runs(struct pf_run *run, const struct pf_text *pt, const struct pf_tx *tx)
{
	const unsigned char *s = (const unsigned char *)tx->subj;

	if (tx->high || tx->amp)
		return;
	for (size_t k = 0; k < pt->ndead; k++)
		run->res[pt->dead[k]].never = true;
	for (size_t k = 0; k < pt->ncw; k += PF_CW_GROUP) {
		unsigned nw = pt->ncw - k < PF_CW_GROUP ? (unsigned)(pt->ncw - k) : PF_CW_GROUP;
		uint64_t found[PF_CW_GROUP][4];
		run->pf->shift_and((const struct pf_cword *const *)pt->cw + k, nw, s, tx->len, found);
		for (unsigned g = 0; g < nw; g++) {
			const struct pf_cword *w = pt->cw[k + g];
			for (unsigned j = 0; j < w->n; j++)
				if (!(found[g][w->last[j] / 64] >> (w->last[j] % 64) & 1))
					run->res[w->slot[j]].never = true;
		}
	}
}

/* text_ready - build text t and scan it once */
static struct pf_tx *text_ready(struct pf_run *run, size_t t)
{
	const struct pf_text *pt = &run->pf->texts[t];
	struct pf_tx *tx = &run->tx[t];

	if (tx->ready)
		return tx;
	tx->ready = true;
	if (t == T_URI) {
		size_t nuris;
		const char *const *uris = msg_uris(run->m, &nuris);
		const size_t *lens = msg_uri_lens(run->m);
		for (size_t i = 0; pt->db && i < nuris && !tx->failed; i++) {
			run->uri = i;
			tx->failed = !scan(run, pt->db, uris[i], lens[i], true);
		}
		return tx;
	}
	match_text(pt->rep, run->env, &tx->hb, &tx->subj, &tx->len);
	run->cur = tx;
	if (pt->db)
		tx->failed = !scan(run, pt->db, tx->subj, tx->len, false);
	/* a slot whose second set the text lacks has no match, whatever
	 * its first set found */
	for (size_t g = 0; !tx->failed && g < pt->ngated; g++) {
		struct pf_res *res = &run->res[pt->gated[g]];
		if (!res->gate) {
			res->cand = false;
			res->nwin = 0;
		}
	}
	if (pt->sdb && !tx->failed && tx->len <= UINT32_MAX) {
		tx->sq = xmalloc(tx->len + 1);
		tx->sq_at = xmalloc((tx->len + 1) * sizeof(*tx->sq_at));
		size_t n = reqlit_squeeze_at(tx->subj, tx->len, tx->sq, tx->sq_at);
		run->at = tx->sq_at;
		tx->failed = !scan(run, pt->sdb, tx->sq, n, false);
		run->at = NULL;
	} else if (pt->sdb) {
		tx->failed = true;
	}
	bool runs = pt->ncw || pt->ndead;
	if (pt->ascii || pt->plain || runs)
		tx->high = !mem_ascii_only(tx->subj, tx->len);
	if (pt->plain || runs)
		tx->amp = memchr(tx->subj, '&', tx->len) != NULL;
	if (runs && !tx->failed)
		class_runs(run, pt, tx);
	return tx;
}

/* on_end - a head's match ends at to (exclusive); Vectorscan reports a
 * pattern's ends in order, each once */
static int on_end(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
		  void *ctx)
{
	struct pf_ends *pe = ctx;

	(void)id;
	(void)from;
	(void)flags;
	if (pe->n > 0 && pe->at[pe->n - 1] >= to)
		return pe->at[pe->n - 1] == to ? 0 : 1;	/* out of order: give up */
	if (pe->n == pe->cap) {
		pe->cap = pe->cap ? 2 * pe->cap : 64;
		pe->at = xrealloc(pe->at, pe->cap * sizeof(*pe->at));
	}
	pe->at[pe->n++] = (size_t)to;
	return 0;
}

/* head_ends - the ends of head h's matches in tx, found once a message;
 * NULL when the scan failed */
static const struct pf_ends *head_ends(struct pf_run *run, size_t h, const struct pf_tx *tx)
{
	struct pf_ends *pe = &run->ends[h];

	if (!pe->ready) {
		pe->ready = true;
		pe->n = 0;
		pe->failed = tx->len > UINT32_MAX ||
			     hs_scan(run->pf->heads[h].db, tx->subj, (unsigned)tx->len, 0, run->scratch,
				     on_end, pe) != HS_SUCCESS;
	}
	return pe->failed ? NULL : pe;
}

/* head_windows - where in the windows w[0, nw) (from pos on) slot s's
 * core may start, by its head: at most the head's width before the end
 * of a match of the head, and before that end, where the rest of the
 * core (the tail) matches from it.  Into v (PF_HEAD_WINS; the last grows
 * when there would be more); the count, or SIZE_MAX when the head's ends
 * are not known or a try of the tail failed (then the windows stand). */
static size_t head_windows(struct pf_run *run, const struct pf_slot *s, struct pf_tx *tx,
			   const struct match_win *w, size_t nw, size_t pos, struct match_win *v)
{
	const struct pf_head *hd = &run->pf->heads[s->head];
	const struct pf_ends *pe = head_ends(run, s->head, tx);
	size_t width = hd->bounded ? text_bound(tx, &hd->width) : REWIDTH_NONE;
	size_t n = 0, j = 0, tried = SIZE_MAX;
	bool ok = false;

	if (pe == NULL)
		return SIZE_MAX;
	for (size_t k = 0; k < nw; k++) {
		size_t lo = w[k].lo > pos ? w[k].lo : pos, hi = w[k].hi;
		if (lo > hi)
			continue;
		while (j < pe->n && pe->at[j] <= lo)	/* a start below it */
			j++;
		for (size_t i = j; i < pe->n; i++) {
			size_t e = pe->at[i];
			if (width != REWIDTH_NONE && e > hi && e - hi > width)
				break;	/* starts past hi on */
			size_t a = width == REWIDTH_NONE || e - lo <= width ? lo : e - width;
			size_t b = e - 1 < hi ? e - 1 : hi;
			if (a > b)
				continue;
			if (i != tried) {
				size_t ma, mb;
				enum re_result r = re_match_upto(s->tail, tx->subj, tx->len, e, e,
								 run->re, &ma, &mb);
				if (r == RE_LIMIT || r == RE_ERROR)
					return SIZE_MAX;
				tried = i;
				ok = r == RE_MATCH;
			}
			if (!ok)
				continue;
			if (n > 0 && a <= v[n - 1].hi + 1)
				v[n - 1].hi = b > v[n - 1].hi ? b : v[n - 1].hi;
			else if (n < PF_HEAD_WINS)
				v[n++] = (struct match_win){ a, b };
			else
				v[n - 1].hi = b;
		}
	}
	return n;
}

/* core_count - slot s, which has a core, in the windows res has: the core
 * searched in them first (every match of the regex holds a match of the
 * core starting at most core_pre in, and each core match (a, b) found
 * also stands for any that start inside it, since the next search begins
 * at b), then the regex only from core_pre before each match of the core
 * to its end.  No core match: no match (and no PCRE2 run of the regex).
 * A core search that fails (the match limit) searches the regex whole. */
static unsigned core_count(struct pf_run *run, const struct pf_slot *s, struct pf_res *res,
			   struct pf_tx *tx, const char *name, size_t offset, size_t *a0,
			   size_t *b0)
{
	const struct match_win *w = &run->wins[res->win];
	struct match_win v[PF_WINDOWS], hv[PF_HEAD_WINS];
	size_t pre = text_bound(tx, &s->core_pre);
	size_t n = 0, pos = offset, nw = res->nwin;
	bool whole = false;

	if (s->tail != NULL) {	/* where its head ends and the tail follows */
		size_t nh = head_windows(run, s, tx, w, nw, pos, hv);
		if (nh != SIZE_MAX) {
			w = hv;
			nw = nh;
		}
	}
	for (size_t k = 0; k < nw && !whole; k++) {
		size_t from = w[k].lo > pos ? w[k].lo : pos;
		while (from <= w[k].hi && from <= tx->len) {
			size_t a = 0, b = 0;
			enum re_result r = re_match_upto(s->core, tx->subj, tx->len, from, w[k].hi,
							 run->re, &a, &b);
			if (r == RE_LIMIT || r == RE_ERROR) {
				whole = true;
				break;
			}
			if (r != RE_MATCH)
				break;
			size_t lo = pre == REWIDTH_NONE || a < pre ? 0 : a - pre;
			if (n > 0 && lo <= v[n - 1].hi + 1)
				v[n - 1].hi = b > v[n - 1].hi ? b : v[n - 1].hi;
			else if (n < PF_WINDOWS)
				v[n++] = (struct match_win){ lo, b };
			else
				v[n - 1].hi = b;	/* too many: the last spans the rest */
			from = pos = b > a ? b : a + 1;
		}
	}
	if (!whole && n == 0)
		return 0;
	return match_count(s->rep->re, name, run->m, run->re, tx->subj, tx->len, offset,
			   whole ? NULL : v, whole ? 0 : n, s->max, s->rep->type == RULE_BODY, a0,
			   b0);
}

/* prefilter_cost - see prefilter.h.  PCRE2 searches a core's windows
 * with a pattern of many alternatives at every start (__FILL_THIS_FORM_SHORT1:
 * ~80 cycles a byte against ~15 for most windows, by rdtsc over the
 * median corpus messages), hence its weight; a URI range costs what a
 * URI of 64 bytes would */
size_t prefilter_cost(struct pf_run *run, size_t i)
{
	if (run == NULL || i >= run->pf->nrules || run->pf->slot_of[i] == SIZE_MAX)
		return 0;
	size_t k = run->pf->slot_of[i];
	const struct pf_hot *h = &run->pf->hot[k];	/* not the slot: a miss less */
	const struct pf_res *res = &run->res[k];
	if (res->done)
		return 0;
	struct pf_tx *tx = text_ready(run, h->text);
	if (res->never || run->pf->no_regex)
		return 0;
	if (searched_whole(h, tx)) {
		size_t nuris = 0;
		if (h->text == T_URI)
			msg_uris(run->m, &nuris);
		return h->text == T_URI ? 64 * nuris : tx->len;
	}
	if (!res->cand)
		return 0;
	size_t n = 0;
	for (unsigned w = 0; w < res->nwin; w++) {
		const struct match_win *v = &run->wins[res->win + w];
		n += (h->text == T_URI ? 64 : 1) * (v->hi - v->lo + 1);
	}
	return h->core ? 8 * n : n;
}

/* prefilter_rule - a rule's count from its shared slot */
unsigned prefilter_rule(struct pf_run *run, size_t i, const struct rule *r,
			const struct sym *sym, char *detail, size_t cap)
{
	if (run == NULL || i >= run->pf->nrules || run->pf->slot_of[i] == SIZE_MAX)
		return PREFILTER_NONE;
	size_t k = run->pf->slot_of[i];
	const struct pf_hot *h = &run->pf->hot[k];
	struct pf_res *res = &run->res[k];
	struct pf_tx *tx = text_ready(run, h->text);
	const char *subj = tx->subj;

	/* a plain text without its run (or a benchmark's floor: no regex) */
	if (!res->done && (res->never || run->pf->no_regex)) {
		res->done = true;
		res->n = 0;
	} else if (!res->done) {
		const struct pf_slot *s = &run->pf->slots[k];
		res->done = true;
		/* admitted by its literals alone: every match holds one (or
		 * its look-behind does), so matches start only in the
		 * windows around the literals seen */
		bool whole = s->always || tx->failed;
		if (!whole && ((s->ascii && tx->high) || (s->plain && (tx->high || tx->amp))))
			whole = !odd_windows(run, s, res, tx);
		if (s->span) {	/* always: but in runs of its bytes only */
			size_t back = text_bound(tx, &s->span->lead);
			res->nwin = (unsigned)span_windows(run, s->span, back, subj, tx->len,
							   &res->win);
			whole = false;
			res->cand = res->nwin > 0;
		}
		if (whole || res->cand) {
			if (s->text == T_URI)	/* the URIs a literal was in */
				res->n = match_uris(s->rep->re, sym->name, run->m, run->re, s->max, &res->a,
						    whole ? NULL : &run->wins[res->win],
						    whole ? 0 : res->nwin);
			else if (s->core && !whole)
				res->n = core_count(run, s, res, tx, sym->name,
						    match_offset(s->rep, subj, tx->len), &res->a, &res->b);
			else
				res->n = match_count(s->rep->re, sym->name, run->m, run->re, subj, tx->len,
						     match_offset(s->rep, subj, tx->len),
						     whole ? NULL : &run->wins[res->win],
						     whole ? 0 : res->nwin, s->max,
						     s->rep->type == RULE_BODY, &res->a, &res->b);
		}
	}
	unsigned n = res->n;
	if (r->negate)		/* !~ hits once, when nothing matches */
		return n == 0;
	if (n > r->maxhits)
		n = r->maxhits;
	if (n && h->text == T_URI) {
		size_t nuris;
		subj = msg_uris(run->m, &nuris)[res->a];
		match_detail(detail, cap, subj, 0, strlen(subj));
	} else if (n) {
		match_detail(detail, cap, subj, res->a, res->b);
	}
	match_detail_hits(detail, cap, n);
	return n;
}
