/*
 * re.h - Perl-style regular expressions (PCRE2 with JIT) with bounded cost.
 * A compiled struct re is immutable and shared by all threads; matching
 * needs a struct re_scratch, which belongs to one message.
 */
#ifndef PARAPET_RE_H
#define PARAPET_RE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct re;
struct re_scratch;

enum re_result {
	RE_NOMATCH = 0,
	RE_MATCH = 1,
	RE_LIMIT = -1,		/* match or depth limit hit: counts as no match */
	RE_ERROR = -2,
};

/*
 * re_compile - compile pattern with Perl flags (i m s x; g and o are
 * accepted and ignored).  NULL and *err (caller frees) with the offset.
 */
struct re *re_compile(const char *pattern, size_t len, const char *flags,
		      char **err);
/* re_compile_limited - re_compile; on failure *limited says whether the
 * pattern is valid but beyond a PCRE2 limit (compiled size, nesting,
 * look-behind), which Perl and so SpamAssassin may not have */
struct re *re_compile_limited(const char *pattern, size_t len, const char *flags,
			      char **err, bool *limited);
/* re_compile_calls - re_compile with every repeat and copy of a group
 * made a call (re.c factor_compile) whether or not the pattern is too
 * large, where the pattern allows it: for the tests that hold those to
 * the same matches */
struct re *re_compile_calls(const char *pattern, size_t len, const char *flags, char **err);
/* re_compile_once - re_compile without the JIT, for a regex run once or
 * twice (the JIT compile costs far more than such a match) */
struct re *re_compile_once(const char *pattern, size_t len, const char *flags, char **err);
struct re *re_free(struct re *re);

struct re_scratch *re_scratch_new(void);
struct re_scratch *re_scratch_free(struct re_scratch *s);

/* re_match - search subject; on RE_MATCH start and end bound the match */
enum re_result re_match(const struct re *re, const char *subject, size_t len,
			size_t offset, struct re_scratch *s, size_t *start,
			size_t *end);
/* re_match_upto's limit when there is none */
#define RE_NO_LIMIT ((size_t)-1)
/*
 * re_match_upto - re_match for a match that starts at offset limit or
 * before (pcre2_set_offset_limit): the caller knows that no match starts
 * later, so the search stops trying there instead of at the end of the
 * subject.  The answer is re_match's whenever that is true.  A regex of
 * re_compile_once, or limit RE_NO_LIMIT, searches the whole subject.
 */
enum re_result re_match_upto(const struct re *re, const char *subject, size_t len,
			     size_t offset, size_t limit, struct re_scratch *s,
			     size_t *start, size_t *end);
/* pattern syntax, for the analyses that take a pattern apart (re.c,
 * rewidth.c): past the [...] class or the (...) group that starts at p,
 * NULL when it does not end before end; past the quantifier at p (with
 * its lazy ? or possessive +), p when there is none (a { that does not
 * open {n}, {n,} or {n,m} is a literal) */
const char *re_class_end(const char *p, const char *end);
const char *re_group_end(const char *p, const char *end);
const char *re_quantifier_end(const char *p, const char *end);
/* re_escape_end - past the escape at p ('\\': \x41, \x{263a}, \0o, \pL,
 * \p{..}, \w ...), NULL when it does not end before end */
const char *re_escape_end(const char *p, const char *end);

/* re_lookbehind - how far before a match attempt's start the regex may
 * look (its longest look-behind, \b counting 1; in bytes for a byte-mode
 * regex), or RE_NO_LIMIT if unknown */
size_t re_lookbehind(const struct re *re);

/* re_direct - is re matched directly, without PCRE2: one byte (memchr) or a set of
 * fixed strings of bytes and classes (re.c) */
bool re_direct(const struct re *re);
/* re_tailed - does re_match_upto search a tail of the pattern first (re.c:
 * a pattern whose first byte may be nearly any)?  For tests */
bool re_tailed(const struct re *re);
/*
 * re_starts - where PCRE2's own search tries a match: true with the bytes
 * a try may start at in set (its first code unit, both cases when the
 * pattern is caseless, or its start bitmap; a newline for a ^ of m mode;
 * none when it is anchored at the subject's start), of the tail when
 * re_match_upto searches one first; false when any byte may start one
 * (so PCRE2 tries every position).  For choosing what to search before
 * PCRE2: where its own start is this cheap, searching first may cost
 * more than it saves.
 */
bool re_starts(const struct re *re, uint64_t set[4]);
/*
 * re_bytes - was re compiled for bytes with LF as the newline (no UTF or
 * UCP mode, no (*CRLF)-style verb)?  Only such a regex may be approximated
 * by a byte-oriented prefilter with the same i/m/s/x flags.
 */
bool re_bytes(const struct re *re);

#endif
