/*
 * reqlit.h - required literals of a Perl regex: a few strings at least one
 * of which occurs in the text whenever the regex matches, so a text that
 * holds none of them need not be searched (prefilter.c).
 */
#ifndef PARAPET_REQLIT_H
#define PARAPET_REQLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REQLIT_MAX 128		/* alternatives in one answer */
#define REQLIT_MIN 3		/* shorter literals are not worth it */
#define REQLIT_MAX_REPEAT 16	/* copies of a repeated byte kept in a literal */
#define REQLIT_RUNS 8		/* variants of one literal run (e-?mai?l: 4) */
#define REQLIT_SQUEEZE_RUNS 64	/* the same, squeezed or in ASCII mode (with
				 * 32, the stock set's PCRE2 work over the 200
				 * median corpus messages was 8% more) */
#define REQLIT_CLASS 4		/* bytes of a class followed as variants */
#define REQLIT_WIDE_CLASS 8	/* the same in ASCII mode */
#define REQLIT_MAX_DEPTH 32	/* group nesting (each level is ~12 KB of
				 * stack: parse_alt's frame, gcc -O2
				 * -fstack-usage, 64 variants of 24 bytes
				 * in each of its struct runs) */

struct reqlit {
	size_t n;
	char *s[REQLIT_MAX];
	size_t len[REQLIT_MAX];
};

/*
 * reqlit_find - literals of pattern (Perl flags as re_compile takes them):
 * every match of the regex contains one of out->s[0, n) compared without
 * regard to ASCII case.  false (n == 0) when the pattern has no such set
 * that is worth using, or uses syntax this analysis does not follow (x
 * mode, \Q, recursion, verbs...): then the regex must always run.
 */
bool reqlit_find(const char *pattern, const char *flags, struct reqlit *out);
/*
 * reqlit_find2 - reqlit_find, and a second set every match holds one of
 * too (second->n is 0 when there is none worth using): of the sets the
 * pattern's parts offer one after the other (a pattern with one
 * top-level branch), the most selective one that shares no literal with
 * out.  A text without a literal of either set has no match.
 */
bool reqlit_find2(const char *pattern, const char *flags, struct reqlit *out,
		  struct reqlit *second);
/*
 * reqlit_find_squeezed - the same promise for the squeezed text: the text
 * with every byte but ASCII letters and digits removed (reqlit_squeeze).
 * A regex matches a substring, whose squeezed form is a substring of the
 * squeezed text, so literals every squeezed match holds may be sought
 * there.  For patterns whose words are spelled across separators that no
 * plain literal survives: /v[_\W]?i[_\W]?a[_\W]?g[_\W]?r[_\W]?a/ holds
 * "viagra" squeezed.  The literals are letters and digits only.
 */
bool reqlit_find_squeezed(const char *pattern, const char *flags, struct reqlit *out);
/*
 * reqlit_find_uri - reqlit_find for a URI's regex: of the literal sets a
 * match must hold one of, one whose literals are all parts of "https://"
 * or "http://" (which nearly every URI holds) is taken only when there is
 * no other (__URL_SHORTENER's ^https?:// before its 300 domains: the
 * domains)
 */
bool reqlit_find_uri(const char *pattern, const char *flags, struct reqlit *out);
/*
 * reqlit_find_ascii - the promise for a text without bytes >= 0x80 only:
 * branches that need such a byte cannot match there and are left out, so
 * the look-alike alternations of 25_replace.cf (<A> is a, @ or one of
 * many UTF-8 sequences) come down to a few ASCII strings.  out->n may be
 * 0 on true: then the regex cannot match such a text at all.
 */
bool reqlit_find_ascii(const char *pattern, const char *flags, struct reqlit *out);
/*
 * reqlit_find_squeezed_ascii - both: literals of the squeezed text that
 * hold when the text has no byte >= 0x80 and no '&' (so none of the
 * entities "&#...;" that 25_replace.cf offers beside each look-alike).
 * Its look-alike words (<C><R><E><D><I><T> with \W? between the letters)
 * have none of either kind: ASCII, a letter may be "@" or "|", which the
 * squeezed text drops, and squeezed, an entity's digits or the bytes of
 * a UTF-8 letter.  out->n may be 0 on true: then the regex cannot match
 * such a text at all.
 */
bool reqlit_find_squeezed_ascii(const char *pattern, const char *flags, struct reqlit *out);
/*
 * reqlit_lead - a look-ahead "(?=...)" of the first two bytes of every
 * match of pattern (byte mode, Perl flags as re_compile takes them):
 * prefixed to the pattern, it matches exactly where the pattern does,
 * and PCRE2 drops a start position after a look at two bytes instead of
 * trying every branch there.  NULL when it would admit every pair of the
 * first bytes it admits, when the pattern may match "", or for syntax
 * the walk does not follow (the same as reqlit_find, and \X and
 * back-references).  *share: the pairs it admits over (first bytes x
 * 256), 1.0 for NULL.  three: the first three bytes of every match where
 * a match has them (given as two when that text would be too long), so
 * that fewer starts pass, for a longer look-ahead.  The caller frees the
 * string.
 */
char *reqlit_lead(const char *pattern, const char *flags, double *share, bool three);

/*
 * reqlit_class_run - for a text without bytes >= 0x80 and without '&' (a
 * "plain" text, as for reqlit_find_squeezed_ascii): a run of byte
 * classes every match holds, one byte of each in a row.  Where no
 * literal survives the look-alike tags (<C><I><A><L><I><S>: in a plain
 * text, six classes such as [ck@] in a row), a bit-parallel pass over
 * the text finds where such a run is in one go.  Between two classes
 * may be a loop: bytes any number of which may come there (\W{0,2},
 * [_\W]{0,3}, a class under {1,2}), at most 80 of them (else the run
 * breaks there).  false (out->n 0) when
 * there is none worth using (fewer than REQLIT_RUN_BITS bits, each class
 * of k bytes weighing log2(128 / k)) or for syntax not followed;
 * out->dead (and true) when the pattern cannot match a plain text.
 * Byte mode only; letters are taken in either case.
 */
#define REQLIT_RUN_MAX 16	/* classes in a run */
#define REQLIT_RUN_BITS 20.0
struct reqlit_run {
	size_t n;
	bool dead;
	uint64_t set[REQLIT_RUN_MAX][4];
	/* bytes that may come between set[j] and set[j + 1], any number of
	 * them (separators: v\W{0,2}i\W{0,2}a); the last is empty */
	uint64_t loop[REQLIT_RUN_MAX][4];
};
bool reqlit_class_run(const char *pattern, const char *flags, struct reqlit_run *out);
/* reqlit_run_bits - what a run weighs (see above; a loop between two
 * classes takes a bit off) */
double reqlit_run_bits(const struct reqlit_run *r);

/* reqlit_posix_end - at '[' inside a character class: past the POSIX class
 * ([:alpha:], [.x.], [=x=]) that starts there as PCRE2 reads one, or NULL
 * when the '[' is a plain member */
const char *reqlit_posix_end(const char *p, const char *end);
/* reqlit_atom_bytes - at *p, one atom of a pattern that matches one byte
 * (a [...] class, an escape such as \s or \x41, '.', a plain byte): the
 * bytes it may match (byte mode), with both ASCII cases of every letter
 * when caseless, into set (256 bits), and *p past it.  dotall: '.' may
 * match a newline.  false for anything else (groups, assertions, \R, \p,
 * code points above 0xFF...) and syntax not followed. */
bool reqlit_atom_bytes(const char **p, const char *end, bool dotall, bool caseless,
		       uint64_t set[4]);
/* reqlit_squeeze - s[0, n) squeezed into out (room for n bytes); its length */
size_t reqlit_squeeze(const char *s, size_t n, char *out);
/* reqlit_squeeze_at - the same, and pos[j] is the offset in s of out[j]
 * (room for n); n < 2^32 */
size_t reqlit_squeeze_at(const char *s, size_t n, char *out, uint32_t *pos);
/* reqlit_clear - release the strings */
void reqlit_clear(struct reqlit *rl);

#endif
