/*
 * test_prefilter.c - the one-pass rule prefilter (rules/prefilter.c) and
 * its literal analysis (rules/reqlit.c).  The prefilter may only skip a
 * rule that cannot match: every corpus message is scanned with it off
 * and on, with the shipped rules and with handcrafted tricky rules
 * (alternations, case, \b, look-around, empty-matching, negated,
 * multiple, nosubject, :addr/:name/:raw, if-unset, ALL, ToCc, uri, full,
 * shared regexes), and the hit lists must be identical.
 */
#include "unit.h"

#include <ctype.h>
#include <dirent.h>
#include <pthread.h>

#include "rules/re.h"
#include "rules/reqlit.h"
#include "rules/rewidth.h"

/* ---------------------------------------------------------------- reqlit */

static const struct {
	const char *pat, *flags;
	const char *want;	/* literals joined by '|', NULL: none */
} lits[] = {
	{ "foobar", "", "foobar" },
	{ "foo|bar", "i", "foo|bar" },
	{ "fo+barx", "", "obarx" },	/* o+ ends "fo", the last o starts "obarx" */
	{ "ad+res+e?", "i", "dres" },
	{ "ab{2,}cd", "", "bbcd" },
	{ "\\x{e9}+abc", "", "\xe9" "abc" },	/* one copy of a byte >= 0x80 */
	{ "c[uo]rrent", "i", "current|corrent" },
	{ "st[\\xe4]nd", "", "st\xe4nd" },
	{ "[sS]ex", "", "sex" },
	{ "[^a]bcd", "", "bcd" },
	{ "[a-c]xyz", "", "axyz|bxyz|cxyz" },	/* a range of a few bytes */
	{ "[a-e]xyz", "", "xyz" },
	{ "[\\d]xyz", "", "xyz" },
	{ "[abcde]xyz", "", "xyz" },	/* more than REQLIT_CLASS bytes */
	{ "e-?mai?l\\sid", "i", "emal|e-mal|email|e-mail" },
	{ "name?[sn]?", "i", "nam" },
	/* (?R) and (?C) are no option settings: "ab" is not required
	 * (acdb matches a(?R)b|cd) */
	{ "xa(?R)by|cd", "", NULL },
	{ "abc(?C)def", "", NULL },
	{ "(?:name|nam)\\s", "", "nam" },	/* "name" holds "nam" */
	{ "(?:name|nam)s", "", "names|nams" },	/* a group of strings goes on the run */
	{ "(?:nam|name)x", "", "namx|namex" },
	{ "abc?defg", "", "abdefg|abcdefg" },
	{ "(?:hello)?world", "", "world" },
	{ "(?:hello|hi) there", "", "hello there|hi there" },
	{ "(?:hello|howdy) t", "", "hello t|howdy t" },
	{ "(?:%|percent) of the", "i", "% of the|percent of the" },
	{ "x(?:abc)?yz", "", "xyz|xabcyz" },
	{ "x(?:abc)??yz", "", "xyz|xabcyz" },
	{ "not (?:considered )?spam", "i", "not spam|not considered spam" },
	{ "you(?:'ve| have) (?:won|been (?:chosen|approved))", "i",
	  "you've won|you've been chosen|you've been approved|"
	  "you have won|you have been chosen|you have been approved" },
	{ "(?:a|b|c)(?:d|e|f)ghi", "", "dghi|eghi|fghi" },	/* 9 runs: too many */
	/* 16 runs: too many; the runs' last two bytes go on */
	{ "[ab][cd][ef][gh]xyz", "", "cegxyz|degxyz|cfgxyz|dfgxyz|cehxyz|dehxyz|cfhxyz|dfhxyz" },
	/* 12 runs: too many, but the group's strings begin with & or e */
	{ "m[ou]n(?:&#1;|&#2;|&#3;|&#4;|&#5;|e)y", "", "mon&|mun&|mone|mune" },
	{ "(?:ab|c\\d)xyz", "", "xyz" },	/* \d: not a string */
	{ "(?:abc)+defg", "", "defg" },	/* repeated: not crossed */
	{ "(?:abc){1}de", "", "abcde" },
	{ "ab(?=cdx)efg", "", "cdx" },	/* look-ahead consumes nothing */
	{ "ab(?<=b)cde", "", "cde" },
	{ "a\\.b\\.c", "", "a.b.c" },
	{ "\\x41\\x{42}C\\n", "", "ABC\n" },
	{ "foo(?!bar)", "", "foo" },
	{ "(?!barbar)", "", NULL },
	{ "(?<!xyz)abc", "", "abc" },
	{ "^(?=.*casino)", "", "casino" },
	{ "[abc]defg", "", "adefg|bdefg|cdefg" },
	{ "[]abc]defg", "", "]defg|adefg|bdefg|cdefg" },
	{ "[[:alpha:]]defg", "", "defg" },
	/* not a POSIX class (a ']' before ":]"): the class [[:], then |x:]] */
	{ "abc[[:]|x:]]", "", "abc[|abc:|x:]]" },
	{ "(a)\\1xyz", "", "xyz" },
	{ "(?i)viagra", "", "viagra" },
	{ "(?i:viagra)", "", "viagra" },
	{ "(?:abc){2}", "", "abc" },
	{ "(?:abc){0,2}", "", NULL },
	{ "(?:abc)*", "", NULL },
	{ "(?:abc)+", "", "abc" },
	{ "abc{2}", "", "abcc" },
	{ "abcd{2}", "", "abcdd" },
	{ "abc{0,2}", "", NULL },	/* "ab" is too short */
	{ "ab{,3}cde", "", NULL },	/* PCRE2 versions disagree on {,3} */
	{ "x{a}yz", "", "x{a}yz" },
	{ "a|", "", NULL },
	{ "", "", NULL },
	{ "x*", "", NULL },
	{ "\\Qabc\\E", "", NULL },
	{ "a b c d", "x", NULL },
	{ "(?x) a b c d", "", NULL },
	{ "(?#comment)abc", "", "abc" },
	{ "(?<name>abc)d", "", "abcd" },
	{ "(?P<n>abcd)|(?'m'efgh)", "", "abcd|efgh" },
	{ "(?1)abc", "", NULL },
	{ "(*UTF)abc", "", NULL },
	{ "\\bfree\\b", "", "free" },
	{ "m.n.y", "s", NULL },
	{ "\\d{3}-\\d{4}", "", NULL },
	{ "abc)", "", NULL },
	{ "(abc", "", NULL },
};

/* literals of the squeezed text: letters and digits, the rest dropped */
static const struct {
	const char *pat, *flags;
	const char *want;	/* literals joined by '|', NULL: none */
} sq[] = {
	{ "v[_\\W]?i[_\\W]?a[_\\W]?g[_\\W]?r[_\\W]?a", "i", "viagra" },
	{ "\\bp[-\\s_]?a[-\\s_]?s[-\\s_]?s\\b", "", "pass" },
	{ "(?:\\b|\\s)x[_\\W]{0,3}y[_\\W]{0,3}z", "", "xyz" },	/* separators, however many */
	{ "s\\W+p\\W+a\\W+m", "", "spam" },
	/* [\t-z] holds every letter below z: ab[\t-z]cd matches abxcd */
	{ "ab[\\t-z]cd", "", NULL },
	{ "(?!viagra)v\\W*i\\W*a", "", "via" },	/* look-around matches "" */
	{ "(?=abc)d\\We", "", "abc" },
	{ "x(?:-|_)*yz", "", "xyz" },	/* a group of dropped bytes, repeated */
	{ "(?i)ab(?#c)cd", "", "abcd" },
	{ "a\\.b\\.c\\.d", "", "abcd" },
	{ "\\xe9abc\\xe9d", "", "abcd" },	/* bytes >= 0x80 are dropped */
	{ "x y z", "", "xyz" },
	{ "^abc$", "m", "abc" },
	{ "a\\x41b", "", "aAb" },
	{ "[\\W_]{2}ab[\\s]c", "", "abc" },
	{ "s[o0\\xf2-\\xf6]nata", "", "snata|s0nata|sonata" },	/* a dropped byte or o or 0 */
	{ "[a4@]m[_\\W]?b[i1!]e[_\\W]?n", "", "mben|mb1en|mbien" },
	{ "ab[@c]?de", "", "abde|abcde" },
	{ "(?:\\b|\\s)[_\\W]{0,3}(?:\\\\\\/|V)[_\\W]{0,3}[i1!|l\\xEC-\\xEF][_\\W]{0,3}c[_\\W]{0,3}"
	  "[o0\\xF2-\\xF6][_\\W]{0,3}d[_\\W]{0,3}[i1!|l\\xEC-\\xEF][_\\W]{0,3}ns?", "i",
	  "cdn|c0dn|codn|cd1n|c0d1n|cod1n|cdin|c0din|codin|cdln|c0dln|codln" },	/* 96 runs: tails go on */
	{ "(?:\\\\\\/|V)[_\\W]?iag", "", "iag" },	/* \\/ is "" squeezed */
	{ "(?:a|@)(?:b|#)cd", "", NULL },	/* "@#cd" squeezed is "cd" */
	{ "ab[@c]+de", "", NULL },	/* [@c]+ is "", c, cc... */
	{ "ab[@c]*de", "", NULL },
	{ "x(?:ab|@)+yz", "", NULL },
	{ "v.i.a.g.r.a", "", NULL },	/* . may be a letter */
	{ "abc[^x]def", "", "abc" },
	{ "vi[a-z]gra", "", "gra" },
	{ "v\\w?iagra", "", "iagra" },
	{ "abc(x)\\1def", "", "abcx" },	/* a back-reference may be letters */
	{ "[[:alpha:]]abc", "", "abc" },
	{ "abc", "x", NULL },
	{ "it", "", NULL },
	{ "x[^[:punct:]]yz", "", NULL },	/* not "xyz": the class has letters */
	{ "x[^\\W]yz", "", NULL },
};

/* the literals of a URI's regex: a set of scheme parts only (which
 * nearly every URI holds) gives way to any other */
static const struct {
	const char *pat, *flags;
	const char *want;	/* literals joined by '|', NULL: none */
} uri_lits[] = {
	{ "^https?://(?:\\w+\\.)+?com\\.(?!(?:[a-z]{2}))", "i", "com." },
	{ "^https?://\\d+\\.\\d+\\.\\d+\\.\\d+.{0,20}(?:cgi|click|ads|id=)", "i", "cgi|click|ads|id=" },
	{ "^https?://[\\d.]+(?:[:/?#]|$)", "i", "http://|https://" },	/* nothing else */
	{ "^http://www\\.0spam\\.com/v", "", "http://www.0spam.com/v" },	/* not a part */
	{ "http://.{0,2}%77", "", "%77" },
	{ "^(?:https?://)?[^/]+\\.bit\\.ly/", "", ".bit.ly/" },
	{ "^https?://(?:ab|xy)", "", "http://ab|http://xy|https://ab|https://xy" },
	{ "://", "", "://" },
};

/* literals that hold in a text without bytes >= 0x80; "" for a regex
 * that cannot match such a text */
static const struct {
	const char *pat, *flags;
	const char *want;	/* literals joined by '|', NULL: none */
} asc[] = {
	{ "(?:[mM\\xcc]|rn|[\\xc9][\\xb1])(?:[oO0]|[\\xc3][\\x92])ney", "i",
	  "M0ney|MOney|rn0ney|rnOney" },	/* <M><O>ney of 25_replace.cf, shortened */
	{ "[il|!1y?\\xcc]xyz", "", "!xyz|1xyz|?xyz|ixyz|lxyz|yxyz||xyz" },
	{ "[a\\xe9]bcd", "", "abcd" },
	{ "abc|\\xe9", "", "abc" },	/* a branch that needs a byte >= 0x80 */
	{ "abc(?:\\xe9)?def", "", "abcdef" },
	{ "ab(?:\\xe9|c)?de", "", "abde|abcde" },
	{ "abc(?!\\xe9)def", "", "abcdef" },
	{ "abc(?=\\xe9)?def", "", "abcdef" },	/* an optional assertion */
	{ "ab\\xe9*cd", "", "abcd" },
	{ "(?:a|\\xe9)+bcd", "", "bcd" },
	{ "\\xe9t\\xe9", "", "" },
	{ "abc(?=\\xe9)", "", "" },
	{ "[\\x80-\\xff]", "", "" },
	{ "ab\\x{e9}cd", "", "" },
	{ "(?:(?:\\xe9)|(?:\\xea))x", "", "" },
	{ "x[^[:punct:]]yz", "", NULL },
	{ "[^[:punct:]]", "", NULL },	/* no "": the class is not known */
	{ "a.\\xe9", "", "" },
	{ "a.b", "", NULL },
	{ "abc", "x", NULL },
	{ "\\xff[[:]||:]]", "", NULL },	/* an empty branch, not a dead class */
};

/* literals of the squeezed text that hold in a text without bytes >=
 * 0x80 and '&'; "" for a regex that cannot match such a text */
static const struct {
	const char *pat, *flags;
	const char *want;	/* literals joined by '|', NULL: none */
} sqa[] = {
	/* <C><R><E><D><I><T> of 25_replace.cf with \W? between, shortened */
	{ "(?!credit)(?:[ck@]|&#99;|\\xc3\\xa7)\\W?r\\W?(?:[e3]|\\xc3\\xa9)\\W?d\\W?[il|!1]\\W?t", "i",
	  "r3dt|redt|r3d1t|red1t|r3dit|redit|r3dlt|redlt" },
	{ "(?:f|\\xc6\\x92)\\W?(?:r|\\xc5\\x99|&#345;)\\W?e\\W?e", "", "free" },
	{ "abc&def", "", "" },
	{ "abc(?:&amp;)?def", "", "abcdef" },
	{ "[a&]bcd", "", "abcd" },
	{ "a(?:b|&#98;)c", "", "abc" },
	{ "ab[&\\xe9]", "", "" },
	{ "(?:&[a-z]{2,6};|\\xa0)\\W?[a-z]{2}", "", "" },
	{ "\\xe9", "", "" },
	/* {1,2} and {0,2}: once (or not), then once or not */
	{ "(?:ab){1,2}cd", "", "abcd" },	/* ababcd holds abcd */
	{ "x(?:ab){0,2}yz", "", "xyz|xabyz|xababyz" },
	{ "(?:a|b){1,2}cd", "", "acd|bcd" },
	{ "ab{1,2}cd", "", "abcd|abbcd" },
	{ "x[a@]{1,2}yz", "", "xyz|xayz|xaayz" },	/* '@' is dropped */
	{ "x{1,2}y{0,2}z", "", NULL },	/* "xz" */
	{ "a.b", "", NULL },
};

/* joined - the literals of rl in order, '|'-separated */
static void joined(const struct reqlit *rl, struct buf *b)
{
	for (size_t i = 0; i < rl->n; i++) {
		if (i)
			buf_putc(b, '|');
		buf_append(b, rl->s[i], rl->len[i]);
	}
	buf_putc(b, '\0');
}

/* want_lits - one analysis's answer for pat: want joined by '|', or no
 * answer at all (NULL) */
static void want_lits(bool (*find)(const char *, const char *, struct reqlit *),
		      const char *pat, const char *flags, const char *want)
{
	struct reqlit rl;
	struct buf b;
	bool got = find(pat, flags, &rl);

	buf_init(&b);
	joined(&rl, &b);
	if (want == NULL)
		ck_assert_msg(!got && rl.n == 0, "/%s/: expected none, got [%s]", pat, b.data);
	else
		ck_assert_msg(got && strcmp(b.data, want) == 0, "/%s/: expected [%s], got %s [%s]",
			      pat, want, got ? "true" : "false", b.data);
	buf_free(&b);
	reqlit_clear(&rl);
}

START_TEST(reqlit_table)
{
	want_lits(reqlit_find, lits[_i].pat, lits[_i].flags, lits[_i].want);
}
END_TEST

START_TEST(reqlit_uri)
{
	want_lits(reqlit_find_uri, uri_lits[_i].pat, uri_lits[_i].flags, uri_lits[_i].want);
}
END_TEST

START_TEST(reqlit_squeezed)
{
	want_lits(reqlit_find_squeezed, sq[_i].pat, sq[_i].flags, sq[_i].want);
}
END_TEST

START_TEST(reqlit_ascii)
{
	want_lits(reqlit_find_ascii, asc[_i].pat, asc[_i].flags, asc[_i].want);
}
END_TEST

START_TEST(reqlit_squeezed_ascii)
{
	want_lits(reqlit_find_squeezed_ascii, sqa[_i].pat, sqa[_i].flags, sqa[_i].want);
}
END_TEST

/* reqlit_find2: the first set as reqlit_find gives it, and a second one
 * (NULL: none) the pattern's parts offer one after the other */
static const struct {
	const char *pat, *flags, *first, *second;
} seconds[] = {
	/* SpamAssassin's __FRAUD_QFY: "over" is in most mail, the rest not */
	{ "\\bover-? *(?:invoiced?|cost(?:s|ing)?)\\b", "i", "over", "invoice|cost" },
	{ "abcd.*wxyz", "", "abcd", "wxyz" },
	{ "abc.*wxyz.*lmnopq", "", "lmnopq", "wxyz" },	/* the best two of three */
	{ "abcd\\d+wxyz", "", "abcd", "wxyz" },
	{ "(?<=wxyz)abcdef", "", "abcdef", "wxyz" },	/* a look-behind's text is in the text */
	{ "(?=.*wxyz)abcdef", "", "abcdef", "wxyz" },
	{ "abcd(?:pqr|stu)+wxyz", "", "abcd", "wxyz" },
	{ "abcd.*(?:pqrst|uvwxy).*zzz", "", "pqrst|uvwxy", "abcd" },	/* a group's set */
	/* none: another top-level branch, a shared literal, too short,
	 * what may be absent (optional, negative look-around), x mode */
	{ "abcd.*wxyz|efgh", "", "abcd|efgh", NULL },
	{ "efgh|abcd.*wxyz", "", "efgh|abcd", NULL },
	{ "abcd.*abcd", "", "abcd", NULL },
	{ "abcd.*wxyz.*qwxyzq", "", "qwxyzq", NULL },	/* a later best holds it */
	{ "abcdef.*cde", "", "abcdef", NULL },
	{ "cde.*abcdef", "", "abcdef", NULL },
	{ "abcd.*ab", "", "abcd", NULL },
	{ "abcd(?:wxyz)?", "", "abcd", NULL },
	{ "abcd.*(?!wxyz)", "", "abcd", NULL },
	{ "abcd(?:wxyz)*", "", "abcd", NULL },
	{ "(?<!wxyz)abcd", "", "abcd", NULL },
	{ "abcd wxyz", "x", NULL, NULL },
};

/* squeezed, a word with look-alikes keeps every variant up to
 * REQLIT_SQUEEZE_RUNS (64): q[a4@]r[i1!|l]s[o0]t[e3]u is 3 x 4 x 2 x 2 = 48
 * whole words from q to u (with 32 they became tails of four bytes) */
START_TEST(reqlit_squeezed_variants)
{
	struct reqlit rl;

	ck_assert(reqlit_find_squeezed("q[a4@]r[i1!|l]s[o0]t[e3]u", "i", &rl));
	ck_assert_uint_eq(rl.n, 48);
	for (size_t i = 0; i < rl.n; i++)
		ck_assert_msg(rl.s[i][0] == 'q' && rl.s[i][rl.len[i] - 1] == 'u' && rl.len[i] >= 5,
			      "literal %zu: %.*s", i, (int)rl.len[i], rl.s[i]);
	reqlit_clear(&rl);
}
END_TEST

START_TEST(reqlit_second)
{
	struct reqlit a, b;
	struct buf ba, bb;
	bool got = reqlit_find2(seconds[_i].pat, seconds[_i].flags, &a, &b);

	buf_init(&ba);
	buf_init(&bb);
	joined(&a, &ba);
	joined(&b, &bb);
	if (seconds[_i].first == NULL)
		ck_assert_msg(!got && a.n == 0 && b.n == 0, "/%s/: expected none", seconds[_i].pat);
	else
		ck_assert_msg(got && strcmp(ba.data, seconds[_i].first) == 0,
			      "/%s/: expected [%s], got [%s]", seconds[_i].pat, seconds[_i].first, ba.data);
	if (seconds[_i].second == NULL)
		ck_assert_msg(b.n == 0, "/%s/: expected no second set, got [%s]", seconds[_i].pat,
			      bb.data);
	else
		ck_assert_msg(strcmp(bb.data, seconds[_i].second) == 0,
			      "/%s/: expected second [%s], got [%s]", seconds[_i].pat,
			      seconds[_i].second, bb.data);
	/* the first set is reqlit_find's, second or not */
	want_lits(reqlit_find, seconds[_i].pat, seconds[_i].flags, seconds[_i].first);
	buf_free(&ba);
	buf_free(&bb);
	reqlit_clear(&a);
	reqlit_clear(&b);
}
END_TEST

/* reqlit_class_run: the run of classes a plain text (ASCII, no '&')
 * must hold, written as the printable bytes of each class in brackets;
 * "" for none, "dead" when no plain text can match */
static const struct {
	const char *pat, *flags, *want;
} class_runs[] = {
	{ "abcdef", "", "[Aa][Bb][Cc][Dd][Ee][Ff]" },
	{ "abc", "", "" },	/* 18 bits: not worth it */
	/* a look-alike tag: branches that need a byte >= 0x80 or '&' are
	 * dead in a plain text, and the look-ahead consumes nothing */
	{ "(?!cialis)(?:[ck\\xc7@]|[\\xc3][\\x87]|&#(?:199|x3f2);)(?:[il1]|\\xc3\\xac)alis", "i",
	  "[@CKck][1ILil][Aa][Ll][Ii][Ss]" },
	{ "\\bhello(?=\\s)world", "", "[Hh][Ee][Ll][Ll][Oo][Ww][Oo][Rr][Ll][Dd]" },
	/* a group that may be absent: a loop of its bytes (branches of two
	 * widths too); one holding a loop too wide ends the run (the longer
	 * side wins) */
	{ "abcde(?:xy)?fghijk", "", "[Aa][Bb][Cc][Dd][Ee]*4[Ff][Gg][Hh][Ii][Jj][Kk]" },
	{ "abcde(?:x|yz)?fghijk", "", "[Aa][Bb][Cc][Dd][Ee]*6[Ff][Gg][Hh][Ii][Jj][Kk]" },
	{ "abcde(?:x.*y)?fghijk", "", "[Ff][Gg][Hh][Ii][Jj][Kk]" },
	/* __DRUGS_*: branches of two widths, aligned at their ends: "\/" or
	 * V is [/Vv] after any number of backslashes */
	{ "(?:\\\\\\/|V)[a4@](?:l|\\|)[i1!|l]um", "i", "[/Vv][4@Aa][Ll|][!1ILil|][Uu][Mm]" },
	/* __SHY_OBFU_*: a soft hyphen between letters, "=ad" in a plain text */
	{ "e(?!xpire)(?:=ad|[\\xc2][\\xad]|&shy;){0,3}x(?:=ad|&shy;){0,3}p(?:=ad|&shy;){0,3}i"
	  "(?:=ad|&shy;){0,3}r(?:=ad|&shy;){0,3}e", "i",
	  "[Ee]*5[Xx]*5[Pp]*5[Ii]*5[Rr]*5[Ee]" },
	/* separators: a loop between two classes (\W: 64 bytes of ASCII) */
	{ "ab\\W{0,2}cdefgh", "", "[Aa][Bb]*64[Cc][Dd][Ee][Ff][Gg][Hh]" },
	{ "v\\W?i\\W?a\\W?g\\W?r\\W?a", "", "[Vv]*64[Ii]*64[Aa]*64[Gg]*64[Rr]*64[Aa]" },
	/* FUZZY_PRICES: a look-alike once or twice, then separators */
	{ "(?:[pP]|&\\#112;){1,2}\\W{0,2}(?:[rR]|\\xc5\\x94){1,2}\\W{0,2}(?:[iI1l!|]){1,2}\\W{0,2}"
	  "(?:[cCk@]){1,2}\\W{0,2}(?:[eE3]){1,2}", "i",
	  "[Pp]*66[Rr]*66[!1ILil|]*69[@CKck]*68[3Ee]" },
	/* a loop of too many bytes (.*) breaks the run */
	{ "abc.*defghi", "", "[Dd][Ee][Ff][Gg][Hh][Ii]" },
	/* repeats: exactly, at least (its start and its end) */
	{ "x[a-c]{2}y", "", "[Xx][ABCabc][ABCabc][Yy]" },
	{ "q\\d{3,}z", "", "[Qq][0123456789][0123456789][0123456789]*10[Zz]" },
	{ "q\\d{3}", "", "" },	/* 17 bits */
	{ "qu\\d{3,}zv", "", "[Qq][Uu][0123456789][0123456789][0123456789]*10[Zz][Vv]" },
	/* branches: the same width is a class per place; else their common
	 * start and end */
	{ "(?:cat|dog)fish", "", "[CDcd][AOao][GTgt][Ff][Ii][Ss][Hh]" },
	{ "(?:mouse|ox)en", "", "[OSos][EXex][Ee][Nn]" },	/* the ends: "seen", "oxen" */
	{ "(?:alpha|abcha)", "", "[Aa][BLbl][CPcp][Hh][Aa]" },
	/* dead: nothing a plain text holds can match */
	{ "\\xe2\\x80\\x8b+", "", "dead" },
	{ "&#\\d+;", "", "dead" },
	{ "abc(?:&amp;|\\xc2\\xa0)def", "", "dead" },
	{ "abcdef(?:&amp;)?", "", "[Aa][Bb][Cc][Dd][Ee][Ff]" },
	/* not followed: x mode, back-references, conditions */
	{ "abcdef", "x", NULL },
	{ "(abc)def\\1", "", NULL },
	{ "(?(1)abcdef|ghijkl)", "", NULL },
};

/* runs_written - a run as class_runs writes it: a loop between two
 * classes as *N, N its bytes */
static void runs_written(const struct reqlit_run *r, struct buf *b)
{
	for (size_t j = 0; j < r->n; j++) {
		buf_putc(b, '[');
		for (int c = 32; c < 127; c++)
			if (r->set[j][c >> 6] >> (c & 63) & 1)
				buf_putc(b, (char)c);
		buf_putc(b, ']');
		int k = __builtin_popcountll(r->loop[j][0]) + __builtin_popcountll(r->loop[j][1]);
		if (k)
			buf_printf(b, "*%d", k);
	}
}

START_TEST(reqlit_class_runs)
{
	struct reqlit_run r;
	struct buf b;
	bool got = reqlit_class_run(class_runs[_i].pat, class_runs[_i].flags, &r);

	buf_init(&b);
	buf_puts(&b, "");
	if (r.dead)
		buf_puts(&b, "dead");
	runs_written(&r, &b);
	if (class_runs[_i].want == NULL)
		ck_assert_msg(!got && r.n == 0 && !r.dead, "/%s/: expected no answer, got %s",
			      class_runs[_i].pat, b.data);
	else
		ck_assert_msg(got == (*class_runs[_i].want != '\0') &&
			      strcmp(b.data, class_runs[_i].want) == 0,
			      "/%s/: expected \"%s\", got \"%s\" (%d)", class_runs[_i].pat,
			      class_runs[_i].want, b.data, got);
	buf_free(&b);
}
END_TEST

/* rewidth_max: never too small; REWIDTH_NONE (-1 here) for unbounded or
 * not understood */
static const struct {
	const char *pat, *flags;
	long want;
} widths[] = {
	{ "abc", "", 3 },
	{ "a|bcd", "", 3 },
	{ "a{2,5}", "", 5 },
	{ "a{3}", "", 3 },
	{ "(?:ab){3}", "", 6 },
	{ "a?b??c{0,2}+", "", 4 },
	{ "\\d{1,3} sheep", "i", 9 },
	{ "[abc]x", "", 2 },
	{ "[]a]b", "", 2 },
	{ "[a\\]]b", "", 2 },
	{ "[[:alpha:]]b", "", 2 },
	{ "abc[[:]|x:]]", "", 4 },	/* not a POSIX class: [[:] then |x:]] */
	{ "a[[:]|xyz:]]|b", "", 6 },	/* found by fuzz_reqlit */
	{ "[[:alpha:][:digit:]x]", "", 1 },
	{ "\\bfoo\\b", "", 3 },
	{ "^$", "m", 0 },
	{ "a(?=bcd)", "", 4 },	/* the look-ahead inspects b, c, d */
	{ "a(?!b{0,5})", "", 6 },
	{ "(?<=abc)d", "", 1 },	/* look-behind: before the start */
	{ "(?=(?<=a)bc)", "", 2 },
	{ "x{a}yz", "", 6 },	/* a literal { */
	{ "(?i)abc", "", 3 },
	{ "(?i:abc)d", "", 4 },
	{ "(?<n>ab)c", "", 3 },
	{ "(?'n'ab)c", "", 3 },
	{ "(?P<n>ab)c", "", 3 },
	{ "(?#a comment)ab", "", 2 },
	{ "\\x41\\x{42}\\0\\012\\cA", "", 5 },
	{ "\\p{L}\\pL.", "", 3 },
	{ "\\R", "", 2 },
	{ "(?:a|bc){2}(?=de|f)", "", 6 },
	{ "a+", "", -1 },
	{ "a*b", "", -1 },
	{ "a{2,}", "", -1 },
	{ "ab{,3}", "", -1 },	/* PCRE2 versions disagree */
	{ "a{2}{3}", "", -1 },
	{ "(a)\\1", "", -1 },
	{ "\\Gabc", "", -1 },
	{ "\\Qa+\\E", "", -1 },
	{ "[\\Qa]\\E]", "", -1 },
	{ "(?x)a b", "", -1 },
	{ "a b", "x", -1 },
	{ "(*UTF)a", "", -1 },
	{ "(?R)", "", -1 },
	{ "(?1)(a)", "", -1 },
	{ "(?(1)a|b)", "", -1 },
	{ "(?<=(?=abc)x)", "", -1 },	/* a look-ahead inside a look-behind */
	{ "a{65535}b{2}", "", -1 },	/* past REWIDTH_CAP */
	{ "(ab", "", -1 },
	{ "ab)", "", -1 },
	{ "[ab", "", -1 },
	{ "(?<*z)(?:k{100}>)def", "", -1 },	/* 10.42's non-atomic look-behind, no name */
	{ "(?<n>ab)c", "", 3 },
	{ "(?<1n>ab)c", "", -1 },
	{ "[\\c\\]x{100}]abc", "", 105 },	/* \c takes the \: the class ends at x{100}] */
	{ "a(?#x){100}bcd", "", -1 },	/* the quantifier repeats the a */
	{ "a{ 100}bcd", "", -1 },	/* a quantifier in PCRE2 10.43 */
};

START_TEST(rewidth_table)
{
	size_t got = rewidth_max(widths[_i].pat, widths[_i].flags);
	long g = got == REWIDTH_NONE ? -1 : (long)got;

	ck_assert_msg(g == widths[_i].want, "/%s/%s: expected %ld, got %ld", widths[_i].pat,
		      widths[_i].flags, widths[_i].want, g);
}
END_TEST

/* rewidth_runs: the constant and the runs of each class (word bytes,
 * \s, \S, all but \n, one letter) a bound counts; k -1: no bound */
static const struct {
	const char *pat, *flags;
	long c, k0, k1, k2, k3, k4;
} runs_widths[] = {
	{ "abc", "", 3, 0, 0, 0, 0, 0 },
	{ "ad+res+", "", 3, 0, 0, 0, 0, 2 },	/* a, r, e and two runs of one letter */
	{ "ad+res+", "i", 3, 0, 0, 0, 0, 2 },
	{ "x[a-z]+y", "", 2, 1, 0, 0, 0, 0 },
	{ "x[ia]+y", "", 2, 1, 0, 0, 0, 0 },	/* two letters: word bytes */
	{ "x[a1]+y", "", 2, 1, 0, 0, 0, 0 },	/* a digit is no letter */
	{ "x[aA]+y", "", 2, 0, 0, 0, 0, 1 },
	{ "x\\w*y", "", 2, 1, 0, 0, 0, 0 },
	{ "a\\s+b", "", 2, 0, 1, 0, 0, 0 },
	{ "a\\S+b", "", 2, 0, 0, 1, 0, 0 },
	{ "a[^\\s]+b", "", 2, 0, 0, 1, 0, 0 },
	{ "a.*b", "", 2, 0, 0, 0, 1, 0 },	/* '.' is never \n without s */
	{ "a[^x]+b", "", -1, -1, -1, -1, -1, -1 },	/* [^x] holds \n and every class */
	{ "a.*b", "s", -1, -1, -1, -1, -1, -1 },
	{ "(?s)a.*b", "", -1, -1, -1, -1, -1, -1 },
	{ "(?-s:x)a.*b", "", -1, -1, -1, -1, -1, -1 },	/* not followed: any s option */
	{ "a\\W+b", "", -1, -1, -1, -1, -1, -1 },	/* \W holds \n and spaces and others */
	{ "(?:ab)+", "", -1, -1, -1, -1, -1, -1 },	/* a group repeated: no run */
	{ "(?:c+d){3}", "", 3, 0, 0, 0, 0, 3 },	/* multiplied */
	{ "(?:a+|\\s+)x", "", 1, 0, 1, 0, 0, 1 },	/* branches: the larger of each */
	{ "a(?=b+)c", "", 2, 0, 0, 0, 0, 1 },	/* a look-ahead's reach */
	{ "[-.]+x", "", 1, 0, 0, 1, 0, 0 },
	{ "_+x", "", 1, 1, 0, 0, 0, 0 },	/* one byte, not a letter */
	{ "\\x41+", "", 0, 0, 0, 0, 0, 1 },
	{ "\\x{41}+", "", 0, 0, 0, 0, 0, 1 },	/* a byte written as a code point */
	{ "\\x{100}+", "", -1, -1, -1, -1, -1, -1 },	/* above 0xFF: not one byte */
	{ "\\e+x", "", 1, 0, 0, 1, 0, 0 },	/* escape's bytes: \e is 0x1b */
	{ "a\\R+", "", -1, -1, -1, -1, -1, -1 },
	{ "\\d+\\.\\d+", "", 1, 2, 0, 0, 0, 0 },
	{ "[\t ]+", "", 0, 0, 1, 0, 0, 0 },
	{ "a{2,}", "", 0, 0, 0, 0, 0, 1 },
	{ "a b", "x", -1, -1, -1, -1, -1, -1 },
};

START_TEST(rewidth_runs_table)
{
	struct rewidth r;
	bool ok = rewidth_runs(runs_widths[_i].pat, runs_widths[_i].flags, &r);
	long got[1 + REWIDTH_RUNS], want[1 + REWIDTH_RUNS] = {
		runs_widths[_i].c, runs_widths[_i].k0, runs_widths[_i].k1, runs_widths[_i].k2,
		runs_widths[_i].k3, runs_widths[_i].k4 };

	got[0] = ok ? (long)r.c : -1;
	for (int k = 0; k < REWIDTH_RUNS; k++)
		got[1 + k] = ok ? (long)r.k[k] : -1;
	for (int k = 0; k < 1 + REWIDTH_RUNS; k++)
		ck_assert_msg(got[k] == want[k], "/%s/%s: term %d expected %ld, got %ld",
			      runs_widths[_i].pat, runs_widths[_i].flags, k, want[k], got[k]);
}
END_TEST

/* rewidth_text_runs: the longest run of each class; a class not asked for
 * is the text's length */
START_TEST(rewidth_text_runs_counts)
{
	static const char t[] = "ab c_d9\n\n\n \tx--\x80!y\nzz";
	static const char u[] = "Mississippi, aaAAb. OoOo";
	size_t r[REWIDTH_RUNS];

	rewidth_text_runs(t, sizeof(t) - 1, REWIDTH_ALL, r);
	ck_assert_uint_eq(r[0], 4);	/* c_d9 */
	ck_assert_uint_eq(r[1], 5);	/* \n\n\n \t */
	ck_assert_uint_eq(r[2], 6);	/* x--\x80!y */
	ck_assert_uint_eq(r[3], 8);	/* " \tx--\x80!y" */
	ck_assert_uint_eq(r[4], 2);	/* zz */
	rewidth_text_runs(t, sizeof(t) - 1, 1, r);
	ck_assert_uint_eq(r[0], 4);
	ck_assert_uint_eq(r[1], sizeof(t) - 1);
	ck_assert_uint_eq(r[3], sizeof(t) - 1);
	ck_assert_uint_eq(r[4], sizeof(t) - 1);
	rewidth_text_runs(u, sizeof(u) - 1, REWIDTH_ALL, r);
	ck_assert_uint_eq(r[4], 4);	/* aaAA */
	rewidth_text_runs(u, 11, 1u << 4, r);
	ck_assert_uint_eq(r[4], 2);	/* ss, pp */
	ck_assert_uint_eq(r[0], 11);
	rewidth_text_runs("", 0, REWIDTH_ALL, r);
	for (int k = 0; k < REWIDTH_RUNS; k++)
		ck_assert_uint_eq(r[k], 0);
}
END_TEST

/* longest_naive - the longest run of bytes for which in() holds, byte by
 * byte (what rewidth_text_runs must equal) */
static size_t longest_naive(const unsigned char *s, size_t n, int k)
{
	size_t cur = 0, max = 0;

	if (k == 4) {	/* one letter repeated, either case */
		for (size_t a = 0; a < n; a++) {
			size_t b = a;
			while (b < n && isalpha(s[b]) && tolower(s[b]) == tolower(s[a]))
				b++;
			max = b - a > max ? b - a : max;
		}
		return max;
	}
	for (size_t j = 0; j < n; j++) {
		int c = s[j];
		bool in = k == 0 ? (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				   (c >= '0' && c <= '9') || c == '_'
			: k == 1 ? (c >= '\t' && c <= '\r') || c == ' '
			: k == 2 ? !((c >= '\t' && c <= '\r') || c == ' ')
			: c != '\n';
		cur = in ? cur + 1 : 0;
		max = cur > max ? cur : max;
	}
	return max;
}

/* rand_step - the tests' random numbers: the next state of *seed (use
 * its bits from 16 up) */
static unsigned rand_step(unsigned *seed)
{
	return *seed = *seed * 1103515245u + 12345u;
}

/* rand_text - a random text in t of fewer than cap bytes, each from
 * al[0, na); its length */
static size_t rand_text(unsigned *seed, char *t, size_t cap, const char *al, size_t na)
{
	size_t n = (rand_step(seed) >> 16) % cap;

	for (size_t j = 0; j < n; j++)
		t[j] = al[(rand_step(seed) >> 16) % na];
	return n;
}

/* the runs skip most bytes: on random texts over small alphabets (long
 * and short runs of every class, a run at the start and at the end,
 * texts of 0 to 300 bytes), each class equals the byte-by-byte count */
START_TEST(rewidth_text_runs_random)
{
	static const char *const alpha[] = { "a ", "ab_9 \t", "a\n", "x \n-", "  \t\na",
		"\x80" "a b", "abcdefgh ", "a          ", "aA", "aAbB", "abAc ", "iaIAx", "aaaaab",
		"\xc1\xe1" "aA[{" };
	unsigned seed = 12345;
	unsigned char t[300];

	for (int iter = 0; iter < 20000; iter++) {
		const char *al = alpha[(rand_step(&seed) >> 16) % (sizeof(alpha) / sizeof(*alpha))];
		size_t n = rand_text(&seed, (char *)t, sizeof(t), al, strlen(al));
		size_t r[REWIDTH_RUNS];
		rewidth_text_runs((const char *)t, n, REWIDTH_ALL, r);
		for (int k = 0; k < REWIDTH_RUNS; k++)
			ck_assert_msg(r[k] == longest_naive(t, n, k),
				      "class %d, text %d of %zu bytes over \"%s\": %zu, not %zu", k,
				      iter, n, al, r[k], longest_naive(t, n, k));
	}
}
END_TEST

/* same_upto - x (named what) finds the same match as y in 20,000 random
 * texts of fewer than cap bytes of alpha, from every offset, up to every
 * limit; the matches found */
static size_t same_upto(const struct re *x, const struct re *y, const char *what, unsigned *seed,
			size_t cap, const char *alpha)
{
	char t[64];
	struct re_scratch *rs = re_scratch_new();
	size_t hits = 0, na = strlen(alpha);

	ck_assert_uint_le(cap, sizeof(t));
	for (int iter = 0; iter < 20000; iter++) {
		size_t n = rand_text(seed, t, cap, alpha, na);
		size_t off = (rand_step(seed) >> 16) % (n + 2);
		rand_step(seed);
		size_t lim = (*seed >> 16) % 4 == 0 ? RE_NO_LIMIT : (*seed >> 18) % (n + 2);
		size_t a1 = 0, b1 = 0, a2 = 0, b2 = 0;
		enum re_result r1 = re_match_upto(x, t, n, off, lim, rs, &a1, &b1);
		enum re_result r2 = re_match_upto(y, t, n, off, lim, rs, &a2, &b2);
		ck_assert_msg(r1 == r2 && (r1 != RE_MATCH || (a1 == a2 && b1 == b2)),
			      "/%s/ in \"%.*s\" from %zu up to %zu: %d [%zu, %zu), the other %d "
			      "[%zu, %zu)", what, (int)n, t, off, lim, r1, a1, b1, r2, a2, b2);
		hits += r1 == RE_MATCH;
	}
	re_scratch_free(rs);
	return hits;
}

/* a pattern of one letter or digit is found by memchr (re.c): the same
 * matches as PCRE2's for the same byte as a class, from every offset, up
 * to every limit */
START_TEST(re_literal_byte)
{
	static const struct {
		const char *lit, *cls, *flags;
	} pairs[] = {
		{ "e", "[e]", "" }, { "e", "[e]", "i" }, { "7", "[7]", "i" }, { "x", "[x]", "ms" },
	};
	unsigned seed = 4242;
	char *err = NULL;

	for (size_t k = 0; k < sizeof(pairs) / sizeof(*pairs); k++) {
		struct re *lit = re_compile(pairs[k].lit, 1, pairs[k].flags, &err);
		struct re *cls = re_compile(pairs[k].cls, 3, pairs[k].flags, &err);
		ck_assert_ptr_nonnull(lit);
		ck_assert_ptr_nonnull(cls);
		same_upto(lit, cls, pairs[k].lit, &seed, 48, "eE7x\n ");
		re_free(lit);
		re_free(cls);
	}
}
END_TEST

/* a pattern of fixed strings of bytes and classes is matched without
 * PCRE2 (re.c's set): the same matches as PCRE2's for the same pattern
 * followed by an empty group (which the set refuses), from every offset,
 * up to every limit, over texts of the bytes the patterns name and their
 * neighbours; the first alternative that matches at a place wins, as in
 * PCRE2.  Then what the set must refuse */
START_TEST(re_fixed_set)
{
	static const struct {
		const char *pat, *flags, *alpha;
	} sets[] = {
		{ "(?:e|\xc3[\xa8\xa9\xaa\xab]|\xc4[\x93\x95]|\xcf\xb5)", "", "eE\xc3\xa8\xab\xac\xc4\x93\x94\xcf\xb5 " },
		{ "(?:e|\\xc3[\\xa8-\\xab]|\\xc4[\\x93\\x95])", "m", "eE\xc3\xa8\xab\xac\xc4\x93\x94\xcf\xb5\n" },
		{ "lottery|winner|win", "i", "loteryWINwn" },
		{ "ab|a", "", "ab" },
		{ "a|ab", "", "ab" },
		{ "x[0-9]\\.y|\\@q", "", "x09.y@qz" },
		{ "[-a]b|c[a-]", "", "-abc" },
		{ "dary", "", "dary " },
		{ "Bo|x", "i", "bBoOxX" },
	};
	static const struct {
		const char *pat, *flags;
	} refused[] = {
		{ "a+b", "" }, { "(?:a)|(?:b)", "" }, { "[^a]b|c", "" }, { "\\db|c", "" }, { "a|", "" },
		{ "(?i)a|b", "" }, { "[[:alpha:]]x|y", "" }, { "e|\xc3\xa9", "i" }, { "a b|c", "x" },
		{ "[a-c]", "" }, { "a.b|c", "" }, { "ab{2}|c", "" }, { "\\x{2028}|a", "" }, { "a\\b|c", "" },
	};
	unsigned seed = 777;
	char ref[256];
	char *err = NULL;

	for (size_t k = 0; k < sizeof(sets) / sizeof(*sets); k++) {
		snprintf(ref, sizeof(ref), "%s(?:)", sets[k].pat);
		struct re *set = re_compile(sets[k].pat, strlen(sets[k].pat), sets[k].flags, &err);
		struct re *pcre = re_compile(ref, strlen(ref), sets[k].flags, &err);
		ck_assert_ptr_nonnull(set);
		ck_assert_ptr_nonnull(pcre);
		ck_assert_msg(re_direct(set), "/%s/ is a set", sets[k].pat);
		ck_assert(!re_direct(pcre));
		size_t hits = same_upto(set, pcre, sets[k].pat, &seed, 64, sets[k].alpha);
		ck_assert_msg(hits > 200, "/%s/: %zu matches", sets[k].pat, hits);
		re_free(set);
		re_free(pcre);
	}
	for (size_t k = 0; k < sizeof(refused) / sizeof(*refused); k++) {
		struct re *re = re_compile(refused[k].pat, strlen(refused[k].pat), refused[k].flags, &err);
		ck_assert_msg(re != NULL, "/%s/: %s", refused[k].pat, err ? err : "");
		ck_assert_msg(!re_direct(re), "/%s/%s is not a set", refused[k].pat, refused[k].flags);
		re_free(re);
	}
}
END_TEST

/* a window bound by runs is never too small: every match of these
 * patterns in these texts is no longer than the bound for the text */
START_TEST(rewidth_runs_bound)
{
	static const char *const pats[] = { "ad+res+", "x[a-z]+y", "a\\s+b", "a\\S+b", "a.*b",
		"(?:c+d){3}", "\\d+\\.\\d+", "l(?:o+k){1,2}", "(?i)ad+res+e?", "resident[ia]+l",
		"(?i)x[ia]+y", "(?i)x+[ia]+y+", "(?i)Q+U+x" };
	static const char *const texts[] = { "addddddddddresssssss", "x" "abcdefghijklmnop" "y",
		"a \t\n\n  \r b", "a!!--==b", "a lot of words on a line b\nb",
		"cccdccccccdcd", "12345.67890", "loooook loook", "ADDDDRESSSE",
		"residentiaaiiaal", "XIaIAaiiY", "xXxxAIaaiyYYy ab", "qQqQuuUUUx qu" };
	char *err = NULL;

	for (size_t i = 0; i < sizeof(pats) / sizeof(*pats); i++) {
		struct rewidth w;
		ck_assert_msg(rewidth_runs(pats[i], "", &w), "/%s/ has a bound", pats[i]);
		struct re *re = re_compile(pats[i], strlen(pats[i]), "", &err);
		ck_assert_ptr_nonnull(re);
		struct re_scratch *rs = re_scratch_new();
		bool matched = false;
		for (size_t t = 0; t < sizeof(texts) / sizeof(*texts); t++) {
			size_t runs[REWIDTH_RUNS], a, b, n = strlen(texts[t]);
			rewidth_text_runs(texts[t], n, REWIDTH_ALL, runs);
			size_t bound = rewidth_eval(&w, runs);
			if (re_match(re, texts[t], n, 0, rs, &a, &b) == RE_MATCH) {
				matched = true;
				ck_assert_msg(b - a <= bound, "/%s/ on \"%s\": match of %zu > %zu",
					      pats[i], texts[t], b - a, bound);
			}
		}
		ck_assert_msg(matched, "/%s/ matched none of the texts", pats[i]);
		re_scratch_free(rs);
		re_free(re);
	}
}
END_TEST

/* rewidth_lead: the prefix bound where there is one, the split's where
 * it is tighter, none where neither beats the whole pattern's bound or
 * for syntax the walks do not take apart */
START_TEST(rewidth_lead_table)
{
	static const struct {
		const char *pat, *flags;
		bool found;
		size_t c, k0, k3, k4;
	} t[] = {
		{ "foo.*bar", "", true, 3, 0, 0, 0 },
		{ "(?:(?:your\\s)?(?:name|address)[\\s:]{1,100}){3}", "i", true, 12, 0, 0, 0 },
		{ "x(?:abcd){2}y{0,500}", "", true, 9, 0, 0, 0 },
		{ "(?>(?<w>ad+res+)\\s{1,99}){2}zz", "", true, 3, 0, 0, 2 },	/* d+, s+ */
		{ "abc|def", "", false, 0, 0, 0, 0 },
		{ "zzzq|b{5}zzz", "", false, 0, 0, 0, 0 },
		{ "abcdef|xyz.{0,50}abcdef", "", false, 0, 0, 0, 0 },	/* not "abcdef" */
		{ "(?:zzzq|b{5}zzz).{0,99}", "", true, 8, 0, 0, 0 },	/* the group whole */
		{ "(?:zzz)?zzz.{0,99}", "", true, 6, 0, 0, 0 },
		{ "a(?#c)bcd.{0,99}", "", false, 0, 0, 0, 0 },
		{ "abcd.{0,99}", "x", false, 0, 0, 0, 0 },
		{ "(?=abcd)abcd.{0,99}", "", true, 4, 0, 0, 0 },
		{ "abcd", "", false, 0, 0, 0, 0 },	/* the whole pattern is its own bound */
		/* the split: "copy of" (no literal of the set) stepped over,
		 * 10; then the largest of the branches: name 4, city 4,
		 * (home|work)? stepped over + \s?addr, 9 (the prefix: 167) */
		{ "(?:(?:a?\\s?copy\\sof\\s)?(?:name(?:\\s[a-z]{1,50}){0,3}|city|(?:home|work)?\\s?addr)"
		  "[-:\\s]{1,100}){3}", "i", true, 19, 0, 0, 0 },
		/* each branch of a top-level '|': 4 and 9 + 4 */
		{ "abcd.{0,99}|.{0,9}wxyz.{0,99}", "", true, 13, 0, 0, 0 },
		/* an optional group: its pass, 4, or none, then x{0,50}abcd, 54 */
		{ "(?:abcd)?x{0,50}abcd", "", true, 54, 0, 0, 0 },
		{ "(?:abcd(?:x{1,80})?)?abcd", "", true, 4, 0, 0, 0 },
		/* a back-reference: no splitting (the prefix: none) */
		{ "(a)?(?:abcd|(?:\\1)?xyzw){2}.{0,90}", "", false, 0, 0, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(*t); i++) {
		struct reqlit rl;
		struct rewidth w;
		/* the literals of the pattern read without x: rewidth_lead
		 * itself must refuse x mode */
		ck_assert_msg(reqlit_find(t[i].pat, strchr(t[i].flags, 'x') ? "" : t[i].flags, &rl),
			      "/%s/ has literals", t[i].pat);
		bool found = rewidth_lead(t[i].pat, t[i].flags, &rl, &w);
		ck_assert_msg(found == t[i].found, "/%s/: lead %d", t[i].pat, found);
		if (found)
			ck_assert_msg(w.c == t[i].c && w.k[0] == t[i].k0 && w.k[3] == t[i].k3 &&
				      w.k[4] == t[i].k4,
				      "/%s/: %zu + %zu word + %zu line + %zu letter, not %zu + %zu + %zu + %zu",
				      t[i].pat, w.c, w.k[0], w.k[3], w.k[4], t[i].c, t[i].k0, t[i].k3, t[i].k4);
		reqlit_clear(&rl);
	}
	/* x mode set inline: spaces and # would be taken for bytes */
	struct reqlit rl;
	struct rewidth w;
	ck_assert(reqlit_find("abcd.{0,99}", "", &rl));
	ck_assert(!rewidth_lead("(?i)abcd (?x) .{0,99}", "", &rl, &w));
	ck_assert(!rewidth_lead("(?ix:abcd) .{0,99}", "", &rl, &w));
	ck_assert(rewidth_lead("(?i)abcd .{0,99}", "", &rl, &w));
	reqlit_clear(&rl);
}
END_TEST

/* want_set - the bytes of in are in set, those of out are not (a table
 * row's pattern and flags in the message) */
static void want_set(const uint64_t set[4], const char *in, const char *out, const char *pat,
		     const char *flags)
{
	for (const unsigned char *c = (const unsigned char *)in; *c; c++)
		ck_assert_msg(set[*c >> 6] >> (*c & 63) & 1, "/%s/%s: 0x%02x not in", pat, flags, *c);
	for (const unsigned char *c = (const unsigned char *)out; *c; c++)
		ck_assert_msg(!(set[*c >> 6] >> (*c & 63) & 1), "/%s/%s: 0x%02x in", pat, flags, *c);
}

/* rewidth_span: the fewest bytes a match consumes, and some bytes in and
 * out of the set they come from */
START_TEST(rewidth_span_table)
{
	static const struct {
		const char *pat, *flags;
		long min;	/* -1: refused */
		const char *in, *out;
	} t[] = {
		{ "\\b(?:[a-z]{8,}[\\s\\.]+){6}", "", 54, "az .\n", "AZ,'0" },
		{ "\\b(?:[a-z]{8,}[\\s\\.]+){6}", "i", 54, "azAZ .", ",'0" },
		{ "(?i:a)bc", "", 3, "aAbBcC", "d" },	/* an i option anywhere: both cases */
		{ "abc|de", "", 2, "abcde", "f" },	/* the shorter branch */
		{ "a(?=xyz)b", "", 2, "ab", "xyz" },	/* a look-ahead consumes nothing */
		{ "(?<=q)ab{2,5}", "", 3, "ab", "q" },
		{ "(?:ab){0}cd", "", 2, "cd", "ab" },	/* repeated no times */
		{ "(?:ab){0,3}cd", "", 2, "abcd", "e" },
		{ "^a.b$", "", 3, "ab\x01\xff", "\n" },
		{ "a.b", "s", 3, "\n", "" },
		{ "(?>x+)(?<n>y)\\d", "", 3, "xy09", "z" },
		{ "[[:<:]]abc[[:>:]]", "", 3, "abc", "<>:[" },	/* PCRE2's word start and end */
		{ "x*", "", -1, "", "" },	/* may consume nothing */
		{ "(a)\\1", "", -1, "", "" },	/* a back-reference */
		{ "a\\Kbc", "", -1, "", "" },
		{ "a b c", "x", -1, "", "" },
		{ "a(?#c)bc", "", -1, "", "" },
		{ "a\\Rb", "", -1, "", "" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(*t); i++) {
		uint64_t set[4];
		size_t min;
		bool ok = rewidth_span(t[i].pat, t[i].flags, set, &min);
		ck_assert_msg(ok == (t[i].min >= 0), "/%s/%s: span %d", t[i].pat, t[i].flags, ok);
		if (!ok)
			continue;
		ck_assert_msg((long)min == t[i].min, "/%s/%s: min %zu, not %ld", t[i].pat, t[i].flags,
			      min, t[i].min);
		want_set(set, t[i].in, t[i].out, t[i].pat, t[i].flags);
	}
}
END_TEST

/* rand_matches - every match of each pattern in 3000 random texts over
 * alpha: fn(ctx, pattern index, text, its length, start, end); how many */
static size_t rand_matches(const char *const *pats, size_t npats, const char *alpha,
			   unsigned seed,
			   void (*fn)(void *, size_t, const char *, size_t, size_t, size_t),
			   void *ctx)
{
	struct re_scratch *rs = re_scratch_new();
	char *err = NULL, t[200];
	size_t seen = 0;

	for (size_t i = 0; i < npats; i++) {
		struct re *re = re_compile(pats[i], strlen(pats[i]), "", &err);
		ck_assert_ptr_nonnull(re);
		for (int iter = 0; iter < 3000; iter++) {
			size_t n = rand_text(&seed, t, sizeof(t), alpha, strlen(alpha));
			size_t a, b;
			for (size_t off = 0; off < n && re_match(re, t, n, off, rs, &a, &b) == RE_MATCH;
			     off = a + 1) {
				seen++;
				fn(ctx, i, t, n, a, b);
			}
		}
		re_free(re);
	}
	re_scratch_free(rs);
	free(err);
	return seen;
}

struct span_case {
	const char *const *pats;
	uint64_t set[8][4];
	size_t min[8];
	struct rewidth lead[8];
};

/* in_set - byte c is in set */
static bool in_set(const uint64_t set[4], char c)
{
	return set[(unsigned char)c >> 6] >> ((unsigned char)c & 63) & 1;
}

/* span_match - a match [a, b) is at least the span long, all its bytes
 * from the span's set */
static void span_match(void *ctx, size_t i, const char *t, size_t n, size_t a, size_t b)
{
	const struct span_case *sc = ctx;

	(void)n;
	ck_assert_msg(b - a >= sc->min[i], "/%s/: a match of %zu < %zu", sc->pats[i], b - a,
		      sc->min[i]);
	for (size_t j = a; j < b; j++)
		ck_assert_msg(in_set(sc->set[i], t[j]), "/%s/: byte 0x%02x of a match not in the set",
			      sc->pats[i], (unsigned char)t[j]);
}

/* every match of these patterns in random texts consumes at least the
 * span's minimum, every byte of it from the span's set */
START_TEST(rewidth_span_bound)
{
	static const char *const pats[] = { "\\b(?:[a-z]{2,}[\\s.]+){3}", "(?:<[a-z]{1,3}>\\s*){2}",
		"[0-9a-f]{4,}", "(?:ab|c)(?=d)d?e{2}", "x(?:yz|y)+w", "[^a-c ]{3}\\b" };
	struct span_case sc = { .pats = pats };

	for (size_t i = 0; i < sizeof(pats) / sizeof(*pats); i++)
		ck_assert_msg(rewidth_span(pats[i], "", sc.set[i], &sc.min[i]), "/%s/ has a span",
			      pats[i]);
	/* the patterns do match */
	ck_assert_uint_gt(rand_matches(pats, sizeof(pats) / sizeof(*pats), "abcdeABC <>.xyzw09\n",
				       4242, span_match, &sc), 1000);
}
END_TEST

/* rewidth_subspan: the part whose run of bytes is rarest in mail, how
 * far into a match it starts, and what it refuses */
START_TEST(rewidth_subspan_table)
{
	static const struct {
		const char *pat, *flags;
		long min;	/* -1: refused */
		size_t c, k0, k3;	/* the lead: c + k0 word runs + k3 lines */
		const char *in, *out;
	} t[] = {
		/* ten hex digits after up to 18 bytes (the look-ahead
		 * consumes nothing) */
		{ "\\s[A-Z]?[a-z]{1,15}\\s(?!-)[-0-9a-f]{10,64}\\s", "", 10, 18, 0, 0, "-09af", "gG x" },
		{ "[A-Z]{16,}", "", 16, 0, 0, 0, "AZ", "az" },
		/* the amount, not the currency before it */
		{ "(?:\\$|usd)\\s?[1-9][\\d.,]{2,9}", "", 3, 4, 0, 0, "19.,", "$u " },
		{ "\\w+\\d{12}", "", 12, 0, 1, 0, "09", "a_" },	/* after a word run */
		{ ".*[0-9]{12}", "", 12, 0, 0, 1, "09", "a" },	/* after a line */
		{ "e(?=[0-9]{30})[0-9]{4}", "", 4, 1, 0, 0, "09", "e" },	/* consumed, not seen */
		{ "(?:[0-9]{4}){0}[A-Z]{8}", "", 8, 0, 0, 0, "AZ", "09" },
		{ "[a-z]{4}", "", -1, 0, 0, 0, "", "" },	/* too common */
		{ "[A-Z]{16}", "i", -1, 0, 0, 0, "", "" },	/* both cases: too common */
		{ "ab|[A-Z]{16}", "", -1, 0, 0, 0, "", "" },	/* a top-level | */
		{ "(a)\\1[0-9]{20}", "", -1, 0, 0, 0, "", "" },
		{ "[A-Z]{16} #", "x", -1, 0, 0, 0, "", "" },
		{ "a(?#c)[A-Z]{16}", "", -1, 0, 0, 0, "", "" },
		{ "(?:a|b)+?\\x{100}", "", -1, 0, 0, 0, "", "" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(*t); i++) {
		uint64_t set[4];
		size_t min;
		struct rewidth lead;
		bool ok = rewidth_subspan(t[i].pat, t[i].flags, 1.0 / 4096, set, &min, &lead);
		ck_assert_msg(ok == (t[i].min >= 0), "/%s/%s: subspan %d", t[i].pat, t[i].flags, ok);
		if (!ok)
			continue;
		ck_assert_msg((long)min == t[i].min && lead.c == t[i].c && lead.k[0] == t[i].k0 &&
			      lead.k[3] == t[i].k3, "/%s/%s: min %zu lead %zu+%zu,%zu", t[i].pat,
			      t[i].flags, min, lead.c, lead.k[0], lead.k[3]);
		want_set(set, t[i].in, t[i].out, t[i].pat, t[i].flags);
	}
}
END_TEST

/* subspan_match - a match [a, b) holds a run of the part's bytes at
 * least its minimum long, starting at most its lead (for this text) in */
static void subspan_match(void *ctx, size_t i, const char *t, size_t n, size_t a, size_t b)
{
	const struct span_case *sc = ctx;
	size_t runs[REWIDTH_RUNS], min = sc->min[i];
	bool found = false;

	rewidth_text_runs(t, n, REWIDTH_ALL, runs);
	size_t back = rewidth_eval(&sc->lead[i], runs);
	for (size_t s = a; !found && s <= a + back && s + min <= b; s++) {
		size_t k = 0;
		while (k < min && in_set(sc->set[i], t[s + k]))
			k++;
		found = k == min;
	}
	ck_assert_msg(found, "/%s/: no run of %zu within %zu of the match at %zu", sc->pats[i], min,
		      back, a);
}

/* every match of these patterns in random texts holds a run of the
 * subspan's bytes at least its minimum long, starting at most its lead
 * into the match (evaluated for the text), within the match */
START_TEST(rewidth_subspan_bound)
{
	static const char *const pats[] = { "x?[ab]{1,3}[0-9]{2,4}\\.?", "(?:ab|b)\\s[A-B]{3}[0-9]",
		"a[^x]{0,5}[0-9.]{4}", "\\w+ ?[0-9]{3}", "(?=[a-z]{3})[a-z]+[0-9A]{2}[-.]?",
		"[^\\n]*?[0-9]{2}b" };
	struct span_case sc = { .pats = pats };

	/* any part: the bound, not the choice, is under test */
	for (size_t i = 0; i < sizeof(pats) / sizeof(*pats); i++)
		ck_assert_msg(rewidth_subspan(pats[i], "", 1.0, sc.set[i], &sc.min[i], &sc.lead[i]),
			      "/%s/ has one", pats[i]);
	ck_assert_uint_gt(rand_matches(pats, sizeof(pats) / sizeof(*pats), "abAB09.- x\n", 777,
				       subspan_match, &sc), 1000);
}
END_TEST

/* re_starts: where PCRE2's own search tries a match */
START_TEST(re_starts_table)
{
	static const struct {
		const char *pat, *flags;
		int known;	/* re_starts' answer */
		const char *in, *out;	/* bytes in and out of the set */
	} t[] = {
		{ "abc", "", 1, "a", "Abx" },
		{ "abc", "i", 1, "aA", "bx" },
		{ "^abc", "", 1, "", "aA\n" },	/* anchored: one try */
		{ "^abc", "m", 1, "\n", "a" },	/* after each newline */
		{ "[xy]z|w", "", 1, "xyw", "z" },
		{ "e", "", 1, "e", "E" },	/* one byte: memchr */
		{ "\\x00\\d", "", 1, "", "\x01" },	/* a NUL: tested below */
		{ "(?:a|b)*c", "", 1, "abc", "d" },
		{ "\\s\\d", "", 1, " \t\n", "a1" },
		{ ".*abc", "", 1, "\n", "a" },	/* PCRE2 anchors .* at line starts */
		{ "\\b[0-9a-f]{12,}[.@]", "i", 1, ".@", "0a" },	/* its tail, searched first */
		{ "a?b?", "", 0, "", "" },	/* may match "": any byte */
	};
	char *err = NULL;

	for (size_t i = 0; i < sizeof(t) / sizeof(*t); i++) {
		struct re *re = re_compile(t[i].pat, strlen(t[i].pat), t[i].flags, &err);
		uint64_t set[4];
		ck_assert_msg(re != NULL, "/%s/: %s", t[i].pat, err ? err : "");
		bool known = re_starts(re, set);
		ck_assert_msg(known == (t[i].known != 0), "/%s/%s: %d", t[i].pat, t[i].flags, known);
		want_set(set, t[i].in, t[i].out, t[i].pat, t[i].flags);
		/* "\x00\d": the NUL, which a C string cannot list */
		ck_assert(i != 6 || (set[0] & 1));
		re_free(re);
	}
	free(err);
}
END_TEST

/* every match holds one of the pattern's literals ending within the lead
 * bound of its start (what prefilter.c's windows rely on), in texts made
 * to put other occurrences far away */
START_TEST(rewidth_lead_bound)
{
	static const char *const pats[] = { "(?:(?:your\\s)?(?:name|address)[\\s:]{1,100}){3}",
		"zzzq|b{5}zzz", "abcdef|xyz.{0,50}abcdef", "(?:zzz)?zzz.{0,99}", "foo.*bar", "(?:ab(?:cd|ce)\\s+){2,}x",
		"(?:xx)?(?:yy)?abc[^z]{0,40}abc",
		"(?:(?:a?\\s?copy\\sof\\s)?(?:name(?:\\s[a-z]{1,50}){0,3}|city|(?:home|work)?\\s?addr)"
		"[-:\\s]{1,100}){3}",
		"abcd.{0,99}|.{0,9}wxyz.{0,99}", "(?:abcd)?x{0,50}abcd", "(?:abcd(?:x{1,80})?)?abcd" };
	static const char *const texts[] = {
		"your name    address::\t  name  and more",
		"bbbbbzzz and zzzq", "xyz and abcdef", "zzzzzz and then some", "foo and a bar",
		"abcd  abce abcd x", "xxyyabc........abc abc",
		"a copy of home addr: name one two three    city:::: name and more",
		"123456789wxyz and abcd", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxabcd", "abcdxxxxxxxxxxxxxxxxxxxxxxxxabcd" };
	struct re_scratch *rs = re_scratch_new();
	char *err = NULL;

	for (size_t i = 0; i < sizeof(pats) / sizeof(*pats); i++) {
		struct reqlit rl;
		struct rewidth w;
		size_t runs[REWIDTH_RUNS];
		ck_assert(reqlit_find(pats[i], "i", &rl));
		struct re *re = re_compile(pats[i], strlen(pats[i]), "i", &err);
		ck_assert_ptr_nonnull(re);
		if (rewidth_lead(pats[i], "i", &rl, &w)) {
			for (size_t t = 0; t < sizeof(texts) / sizeof(*texts); t++) {
				size_t n = strlen(texts[t]), a, b;
				rewidth_text_runs(texts[t], n, REWIDTH_ALL, runs);
				size_t bound = rewidth_eval(&w, runs);
				for (size_t off = 0; off < n; off = a + 1) {
					if (re_match(re, texts[t], n, off, rs, &a, &b) != RE_MATCH)
						break;
					bool held = false;
					for (size_t k = 0; k < rl.n && !held; k++)
						for (size_t q = a; q + rl.len[k] <= n && q + rl.len[k] <= a + bound &&
						     !held; q++)
							held = mem_holds_nocase(texts[t] + q, rl.len[k], rl.s[k],
										rl.len[k]);
					ck_assert_msg(held, "/%s/ at %zu in \"%s\": no literal within %zu",
						      pats[i], a, texts[t], bound);
				}
			}
		}
		re_free(re);
		reqlit_clear(&rl);
	}
	re_scratch_free(rs);
	free(err);
}
END_TEST

/* a literal with a NUL holds another only if every byte agrees (a string
 * compare stopped at the NUL and dropped "xa\0cd" for "a\0bc") */
START_TEST(reqlit_nul)
{
	struct reqlit rl;

	ck_assert(reqlit_find("a\\x00bc|xa\\x00cd", "", &rl));
	ck_assert_uint_eq(rl.n, 2);
	ck_assert_uint_eq(rl.len[1], 5);
	ck_assert_int_eq(memcmp(rl.s[1], "xa\0cd", 5), 0);
	reqlit_clear(&rl);
}
END_TEST

START_TEST(squeeze_text)
{
	char out[32];
	const char in[] = "V_i-a\xe9g r@A 4you!";

	ck_assert_uint_eq(reqlit_squeeze(in, strlen(in), out), 10);
	ck_assert_int_eq(memcmp(out, "ViagrA4you", 10), 0);

	/* and where each byte came from */
	static const uint32_t want[] = { 0, 2, 4, 6, 8, 10, 12, 13, 14, 15 };
	uint32_t at[32];
	memset(out, 0, sizeof(out));
	ck_assert_uint_eq(reqlit_squeeze_at(in, strlen(in), out, at), 10);
	ck_assert_int_eq(memcmp(out, "ViagrA4you", 10), 0);
	for (size_t i = 0; i < 10; i++)
		ck_assert_uint_eq(at[i], want[i]);
}
END_TEST

/* ------------------------------------------------------------ lead bytes */

/* reqlit_lead: NULL where it must be, and where it answers, the pattern
 * behind its look-ahead matches exactly where the pattern does, from
 * every start offset of every subject (each case has subjects where a
 * loose first byte or pair would lose a match) */
static const struct {
	const char *pat, *flags;
	bool none;		/* NULL expected */
	const char *subj[6];
} leads[] = {
	{ "ab|cd", "", false, { "xxabyy", "cd", "ab", "a", "xcd", NULL } },
	{ "a?b?c", "", false, { "c", "xc", "abc", "bc", "ac", "ab" } },
	{ "a", "", true, { NULL } },
	{ "a*", "", true, { NULL } },
	{ "(?=x)", "", true, { NULL } },
	{ "\\1(a)", "", true, { NULL } },
	{ "x{0,3}", "", true, { NULL } },
	{ "ab(?x) c", "", true, { NULL } },
	{ "ab", "x", true, { NULL } },
	{ "\\R", "", true, { NULL } },
	{ "x\\Ry", "", false, { "x\r\ny", "x\ny", "x\x85y", "x\r\r\ny", NULL } },
	{ "(?:ab){2,}c|z\\d", "i", false, { "ABabc", "z5", "abab", "xZ9", NULL } },
	{ "[^a]b", "", false, { "ab", "Ab", "xb", "\nb", NULL } },
	{ "[^a]b", "i", false, { "ab", "Ab", "xb", NULL } },
	{ "(?i)ab", "", false, { "AB", "aB", "xAb", NULL } },
	{ "a(?#c)b", "", false, { "ab", "a b", NULL } },
	{ "a{0}bc", "", false, { "bc", "abc", NULL } },
	{ "(?:a|)bc", "", false, { "bc", "abc", "xbc", NULL } },
	{ "x{2}", "", false, { "xx", "x", "axxx", NULL } },
	{ "^\\s*foo", "m", false, { "  foo", "foo", "\tfoo", "a\n foo", NULL } },
	{ "a\\Kb", "", false, { "ab", "xab", NULL } },
	{ "(?<=a)bc", "", false, { "abc", "bc", NULL } },
	{ "ab$|c", "", false, { "ab", "ab\n", "c", "xc", NULL } },
	{ "(?:\\bx|\\s)y", "", false, { "xy", " y", "axy", "\ny", NULL } },
	{ "[\\x{e4}\\xf6]\\.", "", false, { "\xe4.", "\xf6.", "\xc4.", NULL } },
	{ "(?:ab)?+c\\d", "", false, { "c1", "abc1", "ac1", NULL } },
	{ "(?>a|ab)c|\\w\\W", "", false, { "abc", "ac", "a-", "_ ", NULL } },
	{ ".b|\\N\\n", "", false, { "xb", "\nb", "a\n", NULL } },
	{ "\\p{L}x|y", "", false, { "\xe9x", "y", NULL } },
	{ "x(?:a?b)", "", false, { "xb", "xab", "xa", NULL } },
	{ "(?:a|bc)d|(?:e|)f", "", false, { "ad", "bcd", "bd", "ef", "f", NULL } },
	{ "\\Rz", "", false, { "\r\nz", "\nz", "\rz", "\r\r\nz", NULL } },
	/* found in review: a quantifier after a comment repeats the atom
	 * before it; (?R) and (?C) are no options; ranges from an escape */
	{ "[a-c](?#){0}z|qq", "", true, { NULL } },
	{ "a(?R)?b|cd", "", true, { NULL } },
	{ "a(?C)b", "", true, { NULL } },
	{ "[\\t-\\x0d]x", "", false, { "\x0bx", "\tx", "-x", "\x0cx", NULL } },
	{ "[\\r-\\x2c]x|yz", "", false, { "\x20x", "+x", "yz", NULL } },
	{ "[ab](?#)?c", "", true, { NULL } },
	{ "[[:<:]][ab]c", "", false, { "ac", " bc", "xac", NULL } },
	{ "[[:>:]][ ,]c", "", false, { "x c", "x,c", " c", NULL } },
	{ "(?:x|\\s?)+-y", "", false, { "x-y", " -y", "-y", "xx -y", NULL } },
	/* matches of two bytes beside longer ones; thirds after a repeat */
	{ "ab|cde|cdf", "", false, { "ab", "cd", "cde", "xcdf", "cdg", NULL } },
	{ "(?:abc|abd|xbz)q", "i", false, { "ABCq", "abeq", "xbzq", "xbcq", "aabdq", NULL } },
	{ "a+bc|d{2,}e", "", false, { "aabc", "abc", "dde", "ddde", "de", "aab" } },
	{ "(?:a|b)?c?de", "", false, { "ade", "bcde", "de", "cde", "xbde", "dx" } },
};

/* same_everywhere - x and y find the same match in each of subj[0, 6)
 * (NULL ends it early) from every start offset */
static void same_everywhere(const struct re *x, const struct re *y, const char *pat,
			    const char *fl, const char *const subj[6])
{
	struct re_scratch *rs = re_scratch_new();

	for (size_t k = 0; k < 6 && subj[k]; k++) {
		const char *t = subj[k];
		size_t n = strlen(t);
		for (size_t off = 0; off <= n; off++) {
			size_t a1 = 0, b1 = 0, a2 = 0, b2 = 0;
			enum re_result r1 = re_match(x, t, n, off, rs, &a1, &b1);
			enum re_result r2 = re_match(y, t, n, off, rs, &a2, &b2);
			ck_assert_msg(r1 == r2 && a1 == a2 && b1 == b2,
				      "/%s/%s on \"%s\" from %zu: %d [%zu,%zu) against %d [%zu,%zu)",
				      pat, fl, t, off, r1, a1, b1, r2, a2, b2);
		}
	}
	re_scratch_free(rs);
}

/* lead_one - one case of the table, led by two bytes or three */
static void lead_one(int _i, bool three)
{
	double share;
	char *err = NULL;
	char *lead = reqlit_lead(leads[_i].pat, leads[_i].flags, &share, three);

	if (leads[_i].none) {
		ck_assert_msg(lead == NULL, "/%s/%s: a look-ahead %s", leads[_i].pat,
			      leads[_i].flags, lead);
		return;
	}
	ck_assert_msg(lead != NULL, "/%s/%s: no look-ahead", leads[_i].pat, leads[_i].flags);
	ck_assert(share > 0.0 && share < 1.0);
	char *both = xasprintf("%s%s", lead, leads[_i].pat);
	struct re *plain = re_compile_once(leads[_i].pat, strlen(leads[_i].pat), leads[_i].flags, &err);
	struct re *led = re_compile_once(both, strlen(both), leads[_i].flags, &err);
	ck_assert_msg(plain && led, "/%s/: %s", both, err ? err : "");
	same_everywhere(plain, led, leads[_i].pat, leads[_i].flags, leads[_i].subj);
	re_free(plain);
	re_free(led);
	free(both);
	free(lead);
}

START_TEST(lead_table)
{
	lead_one(_i, false);
	lead_one(_i, true);
}
END_TEST

/* the tail of a pattern (re.c): searched first where PCRE2 cannot find a
 * match's first byte; the rule's regex matches exactly where the pattern
 * does, from every start offset; no tail where it could mean something
 * else (a top-level |, an option setting, a back-reference, \K, \G, a
 * comment) or where the pattern's own first byte is known */
static const struct {
	const char *pat, *flags;
	bool tail;
	const char *subj[6];
} tails[] = {
	{ "(?:\\b|\\s)[_\\W]{0,3}(?:\\\\\\/|V)[_\\W]{0,3}[ij1!|l][_\\W]{0,3}[a4@]", "i", true,
	  { " v-i-a x", "xv i a", "\\/ia", "  V1@", "via", "a via" } },
	{ "\\W+x|\\W+y", "", false, { " x", "y", "-y", NULL } },
	{ "(\\W)[_\\W]?\\1x", "", false, { "a-ax", "ab", NULL } },
	{ "(?i)\\W*abc", "", false, { " ABC", "abc", "-AbC", NULL } },
	{ "abc\\s+", "", false, { "abc ", NULL } },
	{ "\\W*\\Gab", "", false, { "ab", " ab", NULL } },
	{ "\\W{0,2}(?<=x)y", "", true, { "xy", "ay", " xy", "x-y", NULL } },
	{ "\\W*(?#c)qz", "", false, { " qz", NULL } },
	{ "[\\W_]*z[a-c]", "", true, { "za", " _zb", "zd", "z", NULL } },
	{ "\\b\\w{0,3}q\\d", "", true, { "abq1", "q2", "abcdq3", " xq", NULL } },
	{ "(?<n>\\W)?xy", "", true, { "xy", " xy", "x y", NULL } },
	{ "[]\\W]*ab", "", true, { "]]ab", " ab", "a b", NULL } },
	{ "(?:\\W|_)+pq", "", true, { " pq", "_pq", "pq", "__ pq", NULL } },
	{ "\\s*^ab", "m", true, { "x\nab", "  ab", "ab", "x ab", NULL } },
	{ "\\W*a\\Kb", "", false, { " ab", NULL } },
	{ "\\W*(?i:Q)r", "", true, { " qr", "Qr", "qR", NULL } },
	{ "[^x]{0,3}(?!zz)z\\d", "", true, { "zz1", "az1", "ab z2", "z", NULL } },
	{ "\\W?x{2,}\\d", "", true, { " xx1", "x1", "xxx22", NULL } },
	/* found by fuzz_reqlit: no item at all */
	{ "", "", false, { "", "x", NULL } },
	{ "\\W", "", false, { "", "x-", NULL } },
	/* "[:" that opens no POSIX class: the class ends at "[[:]", and the
	 * top-level | after it leaves no tail */
	{ "[[:|([:(7:\\b|\\s)[?\\ab'c[[:]|:]xb", "im", false,
	  { "this is :]xb", "c[", "a:]xb", "x:]xbx", NULL } },
	/* syntax the split would misread: \c], (?x: # ...); a possessive
	 * quantifier is the item's own */
	{ "\\W*[\\c]x]yz", "", false, { "yz", "\x1dz", "xz", NULL } },
	{ "\\W*(?x: a # ) \n b)c", "", false, { "abc", " ab", "a#c", NULL } },
	{ "\\W*+qz", "", true, { "--qz", "-qz", "q", NULL } },
	/* found in review: PCRE2 skips \\E after [ (and [^) before it
	 * decides that a ] is a member */
	{ "[\\E]\\w]b", "", false, { "xb", "]b", "b", NULL } },
	{ "\\W*[^\\E]\\w]b", "", false, { " b", "xb", "]b", NULL } },
};

START_TEST(tail_table)
{
	char *err = NULL;
	const char *pat = tails[_i].pat, *fl = tails[_i].flags;
	struct re *plain = re_compile_once(pat, strlen(pat), fl, &err);
	struct re *rule = re_compile(pat, strlen(pat), fl, &err);

	ck_assert_msg(plain && rule, "/%s/: %s", pat, err ? err : "");
	ck_assert_msg(re_tailed(rule) == tails[_i].tail, "/%s/%s: tail %d", pat, fl,
		      re_tailed(rule));
	same_everywhere(plain, rule, pat, fl, tails[_i].subj);
	re_free(plain);
	re_free(rule);
}
END_TEST

/* by three bytes, a start whose third byte no match has is dropped at
 * once: the look-ahead alone no longer matches there, where that of two
 * bytes does */
START_TEST(lead_three_narrower)
{
	double share;
	char *err = NULL;
	const char *pat = "(?:abc|abd)x|q\\d";
	char *two = reqlit_lead(pat, "", &share, false), *three = reqlit_lead(pat, "", &share, true);
	ck_assert(two != NULL && three != NULL);
	struct re *r2 = re_compile_once(two, strlen(two), "", &err);
	struct re *r3 = re_compile_once(three, strlen(three), "", &err);
	ck_assert(r2 != NULL && r3 != NULL);
	struct re_scratch *rs = re_scratch_new();
	size_t a, b;
	ck_assert_int_eq(re_match(r2, "abe", 3, 0, rs, &a, &b), RE_MATCH);
	ck_assert_int_eq(re_match(r3, "abe", 3, 0, rs, &a, &b), RE_NOMATCH);
	ck_assert_int_eq(re_match(r3, "abd", 3, 0, rs, &a, &b), RE_MATCH);
	ck_assert_int_eq(re_match(r3, "q7", 2, 0, rs, &a, &b), RE_MATCH);
	re_scratch_free(rs);
	re_free(r2);
	re_free(r3);
	free(two);
	free(three);
}
END_TEST

/* a pattern holding a NUL is compiled without a look-ahead: the lead
 * walk reads a C string, and "ab" (the part before the NUL) would not
 * let "cd" match */
START_TEST(lead_nul)
{
	char *err = NULL;
	static const char pat[] = "ab\0|cd";
	struct re *re = re_compile(pat, sizeof(pat) - 1, "", &err);
	struct re_scratch *rs = re_scratch_new();
	size_t a = 0, b = 0;

	ck_assert_msg(re != NULL, "%s", err ? err : "");
	ck_assert_int_eq(re_match(re, "xcd", 3, 0, rs, &a, &b), RE_MATCH);
	ck_assert_uint_eq(a, 1);
	ck_assert_int_eq(re_match(re, "xab", 3, 0, rs, &a, &b), RE_NOMATCH);
	ck_assert_int_eq(re_match(re, "xab\0", 4, 0, rs, &a, &b), RE_MATCH);
	re_scratch_free(rs);
	re_free(re);
}
END_TEST

/* ---------------------------------------------------------------- corpus */

static const char tricky[] =
	"body PF_ALT /\\b(?:viagra|cialis|casino|money|free)\\b/i\n"
	"body PF_CASE /Click Here/i\n"
	"body PF_CASE2 /click here/\n"
	"body PF_WORDB /\\bfree\\b/\n"
	"body PF_LOOKAHEAD /(?=[^\\n]{0,40}unsubscribe)remove/i\n"
	"body PF_LOOKBEHIND /(?<=\\$)\\d+/\n"
	"body PF_NEGAHEAD /\\bthe(?! end)\\b/\n"
	"body PF_EMPTY /x*/\n"
	"body PF_EMPTY2 /(?:foo)?/\n"
	"body PF_MULTI /\\bthe\\b/i\n"
	"tflags PF_MULTI multiple maxhits=7\n"
	"body PF_MULTI2 /\\bthe\\b/i\n"
	"tflags PF_MULTI2 multiple\n"
	"body PF_MULTI3 /\\bthe\\b/i\n"
	"body PF_NOSUBJ /\\b[A-Z]{5,}\\b/\n"
	"tflags PF_NOSUBJ nosubject multiple\n"
	"body PF_NOSUBJ2 /\\b[A-Z]{5,}\\b/\n"
	"tflags PF_NOSUBJ2 multiple\n"
	"body PF_SUBJWORD /^[^\\n]*offer/i\n"
	"tflags PF_SUBJWORD nosubject\n"
	"body PF_DOT /m.n.y/s\n"
	"body PF_CLASSLIT /[Mm]oney/\n"
	"body PF_ESC /\\x24\\d/\n"
	"body PF_BACKREF /(\\w)\\1\\1/\n"
	"body PF_ALTGRP /(?:please|kindly) (?:reply|respond)/i\n"
	"body PF_OPTGRP /(?:dear )?friend/i\n"
	"body PF_BRACE /x{a}yz|a{2}bc/\n"
	"rawbody PF_RAWB /<a\\s+href/i\n"
	"rawbody PF_RAWB2 /<\\/?(?:table|font)\\b/i\n"
	"full PF_FULL /^Content-Type: text\\/html/mi\n"
	"full PF_FULL2 /\\nX-Mailer:/\n"
	"uri PF_URI /\\.(?:com|net)\\b/i\n"
	"uri PF_URI_MULTI /https?:/\n"
	"tflags PF_URI_MULTI multiple\n"
	"uri PF_URI2 /\\.(?:com|net)\\b/i\n"
	"header PF_NEG_SUBJ Subject !~ /meeting/i\n"
	"header PF_NEG_EMPTY Subject !~ /^$/\n"
	"header PF_NEG_X X-Nope !~ /anything/\n"
	"header PF_SUBJ Subject =~ /(?:re|fwd?):/i\n"
	"header PF_FROM_ADDR From:addr =~ /\\.com$/\n"
	"header PF_FROM_NAME From:name =~ /john|mary|inc/i\n"
	"header PF_UNSET X-Nope =~ /^UNSET$/ [if-unset: UNSET]\n"
	"header PF_UNSET2 X-Nope =~ /UNS/ [if-unset: UNSET]\n"
	"header PF_ALL ALL =~ /^Received: from/m\n"
	"header PF_ALL_MULTI ALL =~ /^X-[a-z]+:/mi\n"
	"tflags PF_ALL_MULTI multiple\n"
	"header PF_RAW Subject:raw =~ /=\\?(?:utf|iso)-/i\n"
	"header PF_TOCC ToCc =~ /\\@/\n"
	"header PF_MSGID MESSAGEID =~ /\\@localhost/i\n"
	"header PF_EMPTYH Subject =~ /z*/\n"
	"body PF_SQ_WORD /\\bp[-\\s_]?a[-\\s_]?s[-\\s_]?s[-\\s_]?w[-\\s_]?o[-\\s_]?r[-\\s_]?d\\b/i\n"
	"body PF_SQ_FUZZ /(?:\\b|\\s)[_\\W]{0,3}c[_\\W]{0,3}l[_\\W]{0,3}[i1!|]?[_\\W]{0,3}c[_\\W]{0,3}k/i\n"
	"body PF_SQ_THE /t\\W*h\\W*e\\W*[a-z]/i\n"
	"tflags PF_SQ_THE multiple maxhits=5\n"
	"rawbody PF_SQ_RAW /<\\W*b\\W*o\\W*d\\W*y/i\n"
	"full PF_SQ_FULL /^s\\W*u\\W*b\\W*j/im\n"
	"header PF_SQ_SUBJ Subject =~ /f[_\\W]?r[_\\W]?e[_\\W]?e/i\n"
	"header PF_SQ_NEG Subject !~ /f[_\\W]?w[_\\W]?d[_\\W]?:/i\n"
	"uri PF_SQ_URI /h\\W*t\\W*t\\W*p/i\n"
	"body PF_ASC_TAG /(?!money)(?:[mM\\xcc]|rn|[\\xc9][\\xb1])(?:[oO0]|[\\xc3][\\x92])"
	"(?:[nN\\xa0-\\xaf]|[\\xc5][\\x83])(?:[eE3\\xa0-\\xaf]|[\\xc3][\\x88])y/i\n"
	"body PF_ASC_HIGH /[\\x80-\\xff]{2}/\n"
	"tflags PF_ASC_HIGH multiple\n"
	"header PF_ASC_SUBJ Subject =~ /(?:[fF\\xa0-\\xaf]|[\\xcf][\\x9c])(?:[rR\\xa0-\\xaf]|[\\xc5][\\x94])"
	"(?:[eE3\\xa0-\\xaf]|[\\xc3][\\x88])(?:[eE3\\xa0-\\xaf]|[\\xc3][\\x88])/i\n"
	"rawbody PF_ASC_RAW /(?:<|[\\xe2-\\xe6][\\x80-\\xbf])(?:b|\\xce\\xb2)r[\\s\\/]*>/i\n"
	"full PF_ASC_FULL /^(?:S|[\\xd0-\\xd5][\\x80-\\xbf])[uU\\xb5-\\xb9]b[jJ\\xb5-\\xb9][eE\\xc0-\\xc9]"
	"[cC\\xc0-\\xc9]t:/m\n"
	"body PF_LEAD_FORM /(?:(?:your\\s)?(?:name|address|phone|e-?mail)[\\s:,]{1,60}){2}/i\n"
	"tflags PF_LEAD_FORM multiple\n"
	"body PF_LEAD_TAIL /\\bmoney\\b.{0,300}\\bfree\\b/is\n"
	"body PF_LEAD_BAR /money|(?:cash|profit)[^\\n]{0,80}money/i\n"
	"tflags PF_LEAD_BAR multiple\n"
	"body PF_LEAD_GRP /(?>(?:please|kindly)\\s+)(?:[a-z]+\\s+){0,6}(?:click|visit|reply)[^\\n]{0,200}/i\n"
	/* squeezed literals that hold only in an ASCII text without '&' */
	"body PF_SQA_FREE /(?:f|\\xc6\\x92)\\W?(?:r|\\xc5\\x99|&\\#345;)\\W?e\\W?e/i\n"
	"tflags PF_SQA_FREE multiple maxhits=4\n"
	"body PF_SQA_DONT /(?:d|\\xc4\\x8f)\\W?(?:o|\\xc3\\xb6|&\\#246;)\\W?n\\W?'?\\W?t/i\n"
	/* none: matches only where there is an '&' (rawbody) or a byte >= 0x80 */
	"rawbody PF_SQA_ENT /(?:&[a-z]{2,6};|\\xa0)\\W?[a-z]{2}/i\n"
	"body PF_SQA_HIGH /(?:[\\x80-\\xff]{2}|&[a-z]{2,6};)\\W?[a-z]{2}/\n"
	/* the same, searched only near such bytes: they end a match, or a
	 * look-behind reads them */
	"body PF_SQA_TAIL /[a-z]{3}\\W?(?:[\\x80-\\xff]|&[a-z]{2,6};)/\n"
	"tflags PF_SQA_TAIL multiple maxhits=6\n"
	"body PF_ASC_BEHIND /(?<=[\\x80-\\xff]\\s)[a-z]{3}/i\n"
	"tflags PF_ASC_BEHIND multiple maxhits=6\n"
	"body PF_SPAN_WORDS /\\b(?:[a-z]{4,}[\\s.]+){10}/\n"
	"tflags PF_SPAN_WORDS multiple maxhits=5\n"
	"body PF_SPAN_LINE /[^\\n]{200,}/\n"
	"tflags PF_SPAN_LINE multiple\n"
	"rawbody PF_SPAN_B64 /[A-Za-z0-9+\\/]{48,}/\n"
	"full PF_SPAN_TAGS /(?:<[a-z]{1,8}>\\s*){16}/i\n"
	"header PF_SPAN_ALLH ALL =~ /[A-Za-z0-9;=\\s-]{60,}/\n"
	"header PF_SPAN_NEG Subject !~ /[a-z]{24,}\\s[a-z]{24,}/\n"
	"body PF_SPAN_CAPS /\\b[A-Z][a-z]{5,}(?:\\s[A-Z][a-z]{5,}){6}\\b/\n"
	"tflags PF_SPAN_CAPS nosubject multiple maxhits=3\n"
	/* no literal, but a part of each consumes a run of bytes rare in
	 * mail, from at most so far into the match (rewidth_subspan): a
	 * fixed bound, one with a word run, a header */
	"body PF_SUB_HEX /\\s[A-Z]?[a-z]{1,15}\\s(?![a-z]{10})[-0-9a-f]{10,64}\\b/\n"
	"tflags PF_SUB_HEX multiple\n"
	"body PF_SUB_CAPS /\\b[A-Za-z][a-z]{0,20}[,;)]?\\s[A-Z]{16,}/\n"
	"body PF_SUB_MONEY /(?:\\$|usd|EUR)\\s?[1-9][\\dOo]{0,2}[,.][\\dOo]{3}/\n"
	"tflags PF_SUB_MONEY multiple maxhits=5\n"
	"body PF_SUB_WORD /\\w+\\s?\\d{1,3}[.,]\\d{3}/\n"
	"tflags PF_SUB_WORD multiple\n"
	"header PF_SUB_MSGID Message-ID =~ /\\b[0-9a-f]{12,}\\b/i\n"
	/* the same where PCRE2 itself tries few places, so no runs are
	 * sought: anchored, and a tail of rare bytes searched first (re.c) */
	"header PF_SUB_ANCHORED Message-ID =~ /^<?[0-9a-f]{12,}[.@]/i\n"
	"header PF_SUB_TAILED Message-ID =~ /\\b[0-9a-f]{12,}[.@]/i\n"
	/* searched for its core first (rewidth_core): a field word after
	 * up to five words, three times */
	"body PF_CORE_FORM /(?:(?:[a-z]{1,12}\\s){0,5}(?:name|address|e-?mail|phone|subject)"
	"[\\s:,]{1,20}){3}/i\n"
	"tflags PF_CORE_FORM multiple\n"
	"meta PF_META PF_MULTI > 3 && !PF_NEG_SUBJ\n";

/* scan_file - one message through e; the scan (caller frees) */
static struct scan *scan_file(struct engine *e, const char *data, size_t len)
{
	struct scan *sc = scan_new(e);

	msg_set_client(sc->msg, NULL, "client.test", "helo.test");
	msg_set_from(sc->msg, "<a@sender.test>");
	msg_add_rcpt(sc->msg, "<b@rcpt.test>");
	msg_set_qid(sc->msg, "QID1");
	mboxfile_feed(sc, data, len);
	scan_finish(sc);
	return sc;
}

/* same_hits - equal hit lists: names, details, scores, in order */
static bool same_hits(const struct hits *a, const struct hits *b, const char *file)
{
	if (a->n != b->n || a->score != b->score) {
		fprintf(stderr, "%s: %zu hits (%g) off, %zu (%g) on\n", file, a->n, a->score, b->n,
			b->score);
		return false;
	}
	for (size_t i = 0; i < a->n; i++) {
		const char *da = a->v[i].detail ? a->v[i].detail : "";
		const char *db = b->v[i].detail ? b->v[i].detail : "";
		if (strcmp(a->v[i].name, b->v[i].name) != 0 || strcmp(da, db) != 0) {
			fprintf(stderr, "%s: hit %zu off %s [%s], on %s [%s]\n", file, i, a->v[i].name,
				da, b->v[i].name, db);
			return false;
		}
	}
	return true;
}

/* corpus_equal - every corpus message, prefilter off then on; returns the
 * number of messages that differ, *nhits the hits seen */
static size_t corpus_equal(struct engine *e, size_t *nhits)
{
	const char *data = getenv("TESTDATA");
	size_t differ = 0;

	*nhits = 0;
	for (int k = 0; k < 2; k++) {
		char *dir = xasprintf("%s/corpus/%s", data ? data : "tests/data", k ? "spam" : "ham");
		struct dirent **ents = NULL;
		int n = scandir(dir, &ents, NULL, alphasort);
		ck_assert_msg(n > 2, "no corpus in %s", dir);
		for (int i = 0; i < n; i++) {
			char *path = xasprintf("%s/%s", dir, ents[i]->d_name);
			size_t len = 0;
			char *text = ents[i]->d_name[0] == '.' ? NULL : mboxfile_read(path, &len);
			if (text) {
				rules_set_prefilter(e->rules, false);
				struct scan *off = scan_file(e, text, len);
				rules_set_prefilter(e->rules, true);
				struct scan *on = scan_file(e, text, len);
				differ += !same_hits(&off->hits, &on->hits, path);
				*nhits += off->hits.n;
				scan_free(off);
				scan_free(on);
				free(text);
			}
			free(path);
			free(ents[i]);
		}
		free(ents);
		free(dir);
	}
	return differ;
}

START_TEST(corpus_tricky)
{
	struct engine *e = unit_engine("", tricky);
	struct rules_pf_info pi;
	size_t nhits;

	rules_prefilter_info(e->rules, &pi);
	/* shared: PF_MULTI/2/3, PF_URI/2, PF_NOSUBJ2 is not PF_NOSUBJ */
	ck_assert_uint_eq(pi.distinct, pi.regexes - 3);
	ck_assert_uint_ge(pi.prefiltered, 37);
	/* PF_SQ_* but the uri one: no plain literal, one squeezed */
	ck_assert_uint_eq(pi.squeezed, 7);
	/* PF_ASC_*: neither, but literals (or none) in an ASCII text */
	ck_assert_uint_eq(pi.ascii, 6);
	/* PF_SQA_*: none of these, but squeezed literals (or none) in an
	 * ASCII text without '&' */
	ck_assert_uint_eq(pi.plain, 5);
	/* PF_LEAD_*, the one with a top-level | by the split */
	ck_assert_uint_ge(pi.lead, 4);
	/* PF_SPAN_*: no literal, but only runs of their bytes */
	ck_assert_uint_ge(pi.span, 7);
	/* PF_CORE_FORM, after its field words (rewidth_head) */
	ck_assert_uint_eq(pi.core, 1);
	ck_assert_uint_eq(pi.head, 1);
	/* PF_SUB_*, and PF_NOSUBJ/2 (\b[A-Z]{5,}\b: five capitals) */
	ck_assert_uint_eq(pi.subspan, 7);
	size_t differ = corpus_equal(e, &nhits);
	ck_assert_msg(differ == 0, "%zu corpus messages hit differently with the prefilter", differ);
	ck_assert_uint_ge(nhits, 5000);	/* the rules do hit */
	engine_unref(e);
}
END_TEST

START_TEST(corpus_shipped)
{
	const char *src = getenv("PARAPET_SRCDIR");
	char *dir = xasprintf("%s/rules", src ? src : ".");
	char *err = NULL;
	struct diag d;
	size_t nhits;

	diag_init(&d);
	struct ruleset *rs = rules_load(dir, unit_builtins(), &d);
	ck_assert_msg(rs != NULL, "rules: %s", d.n ? d.lines[0] : "?");
	diag_free(&d);
	struct engine *e = engine_new(config_parse_buf("t", "", 0, &err), rs, stage_registry);
	size_t differ = corpus_equal(e, &nhits);
	ck_assert_msg(differ == 0, "%zu corpus messages hit differently with the prefilter", differ);
	ck_assert_uint_ge(nhits, 1000);
	engine_unref(e);
	free(dir);
}
END_TEST

/* a thread keeps its last run between messages (prefilter_end): a
 * message after one with other texts, windows, clusters and header
 * texts, and one of another rule set in between, hits as it would alone
 * (each compared with the same message scanned with the prefilter off) */
START_TEST(spare_run_reused)
{
	struct engine *a = unit_engine("", tricky);
	struct engine *b = unit_engine("", "body PF_B /zebra|giraffe/\n"
					   "header PF_BS Subject =~ /zebra/\n");
	static const char *const msgs[] = {
		"From: a@b.test\nSubject: zebra \xc3\xa9 & more\n\nthe money is free, "
		"click here, 12,345.67 usd, CONGRATULATIONSWINNERS a3f9c2e1b7d04e55f\n",
		"From: c@d.test\nSubject: meeting\n\nplain text, no literal at all\n",
		"From: e@f.test\nSubject: re: a giraffe\n\n\xe9t\xe9 &amp; your name, address, "
		"phone: and e-mail:, name: subject: phone: address:\n",
	};
	size_t nhits = 0;

	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < sizeof(msgs) / sizeof(*msgs); i++) {
			struct engine *e = (i + (size_t)round) % 3 == 2 ? b : a;
			rules_set_prefilter(e->rules, false);
			struct scan *off = unit_scan(e, msgs[i]);
			rules_set_prefilter(e->rules, true);
			struct scan *on = unit_scan(e, msgs[i]);
			ck_assert_msg(same_hits(&off->hits, &on->hits, "spare"), "message %zu round %d",
				      i, round);
			nhits += on->hits.n;
			scan_free(off);
			scan_free(on);
		}
	}
	ck_assert_uint_gt(nhits, 20);	/* the rules do hit */
	engine_unref(b);
	engine_unref(a);
}
END_TEST

/* rules that share a literal string share its entry in the database:
 * one report of it reaches every slot that has it (on_match), each with
 * its own windows, counts and promises (ASCII-only, URIs) */
START_TEST(shared_literals)
{
	struct engine *e = unit_engine("", "body PF_L1 /zebra\\d/\n"
					   "body PF_L2 /(?:\\w+\\s){2}zebra/\n"
					   "body PF_L3 /zebra.{0,40}end/\ntflags PF_L3 multiple maxhits=9\n"
					   "body PF_L4 /ZEBRA\\s+crossing/i\n"
					   "body PF_L5 /(?:z|\\xc5\\xbe)ebra!/\n"
					   "rawbody PF_L6 /zebra \\w/\n"
					   "header PF_L7 Subject =~ /zebra/\n"
					   "header PF_L8 Subject =~ /\\bzebra\\b/\n"
					   "uri PF_L9 /zebra\\.test/\nuri PF_L10 /^http:\\/\\/zebra/\n"
					   "uri PF_L11 /\\.zebra\\.test\\//\n");
	static const char *const msgs[] = {
		"From: a@b.test\nSubject: a zebra\n\nsee the zebra1 at one two zebra and zebra "
		"crossing to the end, zebra end, ZEBRA end, zebra! http://zebra.test/x\n",
		"From: a@b.test\nSubject: zebras\n\nZebra \xc5\xbe" "ebra! zebra  crossing; "
		"http://www.zebra.test/ http://zebrazebra.test/\n",
		"From: a@b.test\nSubject: none\n\nzebr a zeb ra, no animal\n",
	};
	struct rules_pf_info pi;
	size_t nhits = 0;

	rules_prefilter_info(e->rules, &pi);
	ck_assert_uint_gt(pi.literals, pi.strings);
	for (size_t i = 0; i < sizeof(msgs) / sizeof(*msgs); i++) {
		rules_set_prefilter(e->rules, false);
		struct scan *off = unit_scan(e, msgs[i]);
		rules_set_prefilter(e->rules, true);
		struct scan *on = unit_scan(e, msgs[i]);
		ck_assert_msg(same_hits(&off->hits, &on->hits, "shared"), "message %zu", i);
		nhits += on->hits.n;
		scan_free(off);
		scan_free(on);
	}
	ck_assert_uint_ge(nhits, 14);
	engine_unref(e);
}
END_TEST

/* a rule whose literal is absent is skipped, and so hits nothing; a
 * negated one then hits */
START_TEST(skip_is_no_match)
{
	struct engine *e = unit_engine("", "body PF_A /zebra crossing/\n"
					   "header PF_N Subject !~ /zebra/\n"
					   "header PF_S Subject =~ /zebra/\n");
	const char *msg = "From: a@b.test\nSubject: a giraffe\n\nno such animal here\n";

	for (int on = 0; on < 2; on++) {
		rules_set_prefilter(e->rules, on);
		struct scan *sc = unit_scan(e, msg);
		ck_assert_ptr_null(unit_detail(sc, "PF_A"));
		ck_assert_ptr_null(unit_detail(sc, "PF_S"));
		ck_assert_ptr_nonnull(unit_detail(sc, "PF_N"));
		scan_free(sc);
	}
	engine_unref(e);
}
END_TEST

/* a rule admitted by its literals is searched only up to the last of
 * them (match_count's limit): every match must still count, the last
 * one too, and a literal its look-behind requires may lie before the
 * match itself */
/* want_detail - sym hit with detail want, prefilter on or off */
static void want_detail(const struct scan *sc, const char *sym, const char *want, int on)
{
	const char *d = unit_detail(sc, sym);

	ck_assert_msg(d && strcmp(d, want) == 0, "%s on=%d: %s", sym, on, d ? d : "no hit");
}

/* want_both - text scanned with the prefilter off, then on: sym's
 * detail is want both times */
static void want_both(struct engine *e, const char *text, const char *sym, const char *want)
{
	for (int on = 0; on < 2; on++) {
		rules_set_prefilter(e->rules, on);
		struct scan *sc = unit_scan(e, text);
		want_detail(sc, sym, want, on);
		scan_free(sc);
	}
}

START_TEST(limit_keeps_matches)
{
	struct engine *e = unit_engine("", "body PF_WOLF /\\bwolf\\b/\n"
					   "tflags PF_WOLF multiple\n"
					   "body PF_LB /(?<=zebracrossing)ab/\n"
					   "body PF_SHEEP /\\d+ sheep/\n"
					   "tflags PF_SHEEP multiple\n");
	const char *msg = "From: a@b.test\nSubject: animals\n\n"
			  "a wolf, 12 sheep, another wolf\nand 7 sheep and a last wolf\n"
			  "at the zebracrossingab\n";

	for (int on = 0; on < 2; on++) {
		rules_set_prefilter(e->rules, on);
		struct scan *sc = unit_scan(e, msg);
		want_detail(sc, "PF_WOLF", "wolf (3 hits)", on);
		want_detail(sc, "PF_SHEEP", "12 sheep (2 hits)", on);
		want_detail(sc, "PF_LB", "ab", on);
		scan_free(sc);
	}
	engine_unref(e);
}
END_TEST

/* found in review: (?<*...) is a look-behind, not a group named "*...";
 * \c in a class takes the next byte, \ and ] too; nested look-behinds
 * reach the sum of their lengths back, PCRE2 reports the longest.  Each
 * lost its hit with the prefilter on. */
START_TEST(review_cases)
{
	struct engine *e = unit_engine("", "body PF_NALB /(?<*z)(?:k{100}>)def/\n"
					   "body PF_CC /[\\c\\]x{100}]abc/\n"
					   "body PF_NLB /(?<=(?<=abcdef)d)e/\n");
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "From: a@b.test\nSubject: review\n\nz");
	for (int i = 0; i < 100; i++)
		buf_puts(&b, "k");
	buf_puts(&b, ">def\n\x1c");
	for (int i = 0; i < 100; i++)
		buf_puts(&b, "x");
	buf_puts(&b, "]abc\nabcdefde\n");
	for (int on = 0; on < 2; on++) {
		rules_set_prefilter(e->rules, on);
		struct scan *sc = unit_scan(e, b.data);
		ck_assert_msg(unit_detail(sc, "PF_NALB"), "PF_NALB on=%d: no hit", on);
		ck_assert_msg(unit_detail(sc, "PF_CC"), "PF_CC on=%d: no hit", on);
		ck_assert_msg(unit_detail(sc, "PF_NLB"), "PF_NLB on=%d: no hit", on);
		scan_free(sc);
	}
	buf_free(&b);
	engine_unref(e);
}
END_TEST

/* a regex of bounded width admitted by its literals is searched only in
 * windows around them (each from width before the literal's end to its
 * start): a match that starts before its literal, a look-ahead's
 * literal, more occurrences than a slot keeps windows for, and matches
 * where windows overlap must all count */
START_TEST(windows_keep_matches)
{
	struct engine *e = unit_engine("", "body PF_NUM /\\b\\d{1,3} (?:sheep|goats?)\\b/\n"
					   "tflags PF_NUM multiple\n"
					   "body PF_AHEAD /\\bx(?=[a-z ]{0,20}zebra)/\n"
					   "tflags PF_AHEAD multiple\n"
					   "body PF_NEAR /\\d{2}(?:,\\d{3}){0,2} cows/\n"
					   "tflags PF_NEAR multiple\n");
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "From: a@b.test\nSubject: farm\n\n");
	for (int i = 0; i < 20; i++)	/* more than PF_WINDOWS apart */
		buf_printf(&b, "line %d: %d sheep, filler text to keep them apart\n", i, 100 + i);
	buf_puts(&b, "x then a zebra, x and x zebra; 7 goats 8 goat\n");
	buf_puts(&b, "12,000,000 cows 15 cows16 cows\n");
	for (int on = 0; on < 2; on++) {
		rules_set_prefilter(e->rules, on);
		struct scan *sc = unit_scan(e, b.data);
		want_detail(sc, "PF_NUM", "100 sheep (22 hits)", on);
		want_detail(sc, "PF_AHEAD", "x (3 hits)", on);
		want_detail(sc, "PF_NEAR", "12,000,000 cows (3 hits)", on);
		scan_free(sc);
	}
	buf_free(&b);
	engine_unref(e);
}
END_TEST

/* rewidth_core: the core of a group repeated twice or more (its first
 * pass without the items before the literals, then the rest of the
 * passes), and what it refuses */
START_TEST(rewidth_core_table)
{
	static const struct {
		const char *pat;
		const char *core;	/* NULL: none */
		size_t lead, pre;
	} t[] = {
		{ "(?:(?:[a-z]{1,12}\\s){0,6}(?:name|address|phone)[\\s:]{1,40}){3}",
		  "(?:(?:name|address|phone)[\\s:]{1,40})"
		  "(?:(?:[a-z]{1,12}\\s){0,6}(?:name|address|phone)[\\s:]{1,40}){2,2}", 7, 78 },
		{ "(?:(?:your\\s)?(?:name|address)\\s){2,}",
		  "(?:(?:name|address)\\s)(?:(?:your\\s)?(?:name|address)\\s){1,}", 7, 5 },
		/* once: the rest alone may match where the whole does not */
		{ "(?:(?:your\\s)?(?:name|address)\\s){1,3}", NULL, 0, 0 },
		/* what a line's subject reads differently from the whole text */
		{ "(?:(?:your\\s)?(?:name|address)$){3}", NULL, 0, 0 },
		{ "(?:(?:your\\s)?(?:name|address)\\B){3}", NULL, 0, 0 },
		{ "(?:(?:your\\s)?(?:name|address)(?!x)){3}", NULL, 0, 0 },
		{ "(?:(?:your\\s)?(?:name|address)^\\s){3}", NULL, 0, 0 },
		/* anchored, branches, a back-reference, an unbounded prefix, more
		 * than the group */
		{ "^(?:(?:your\\s)?(?:name|address)\\s){3}", NULL, 0, 0 },
		{ "(?:(?:your\\s)?(?:name|address)\\s){3}|xyzw", NULL, 0, 0 },
		{ "(?:(\\w)?(?:name|address)\\s\\1){3}", NULL, 0, 0 },
		{ "(?:(?:\\w+\\s)*(?:name|address)\\s){3}", NULL, 0, 0 },
		{ "(?:(?:your\\s)?(?:name|address)\\s){3}z", NULL, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(*t); i++) {
		struct reqlit rl;
		struct rewidth lead, pre;
		char *core = NULL;
		ck_assert_msg(reqlit_find(t[i].pat, "i", &rl), "/%s/ has literals", t[i].pat);
		bool found = rewidth_core(t[i].pat, "i", &rl, &core, &lead, &pre);
		ck_assert_msg(found == (t[i].core != NULL), "/%s/: core %s", t[i].pat,
			      found ? core : "none");
		if (found) {
			ck_assert_str_eq(core, t[i].core);
			ck_assert_msg(lead.c == t[i].lead && pre.c == t[i].pre,
				      "/%s/: lead %zu pre %zu", t[i].pat, lead.c, pre.c);
		}
		free(core);
		reqlit_clear(&rl);
	}
}
END_TEST

static struct engine *pf_engine(const char *text, struct rules_pf_info *pi);

/* rewidth_head: a core taken apart after its first item, and what it
 * refuses */
START_TEST(rewidth_head_table)
{
	static const struct {
		const char *core, *head, *tail;	/* head NULL: refused */
	} t[] = {
		{ "(?:(?:ab|cd)x)(?:y(?:ab|cd)x){1,2}", "(?:ab|cd)", "(?:x)(?:y(?:ab|cd)x){1,2}" },
		/* a quantified item, the rest of the group empty */
		{ "(?:(?:ab|cd){1,2})y", "(?:ab|cd){1,2}", "(?:)y" },
		{ "(?:(?:ab|cd)+?[\\s:]{1,9})(?:z(?:ab|cd)){2}", "(?:ab|cd)+?",
		  "(?:[\\s:]{1,9})(?:z(?:ab|cd)){2}" },
		/* not a group first, a group that may be skipped, branches in
		 * the outer group, the outer group quantified, no outer group */
		{ "(?:ax)(?:y){2}", NULL, NULL },
		{ "(?:(?:ab)?x)y", NULL, NULL },
		{ "(?:(?:ab)*x)y", NULL, NULL },
		{ "(?:(?:a|b)x|c)d", NULL, NULL },
		{ "(?:(?:ab)x)?y", NULL, NULL },
		{ "(?:(?:ab|cd)x)y|ez", NULL, NULL },	/* a match of ez holds no head */
		{ "(?:ab|cd)x", NULL, NULL },
		{ "(ab)x", NULL, NULL },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(*t); i++) {
		char *head = NULL, *tail = NULL;
		bool found = rewidth_head(t[i].core, &head, &tail);
		ck_assert_msg(found == (t[i].head != NULL), "/%s/: head %s", t[i].core,
			      found ? head : "none");
		if (found) {
			ck_assert_str_eq(head, t[i].head);
			ck_assert_str_eq(tail, t[i].tail);
		}
		free(head);
		free(tail);
	}
}
END_TEST

/* same_both - text scanned with the prefilter off, then on: sym's
 * detail the same both times (a hit or not, as hit says) */
static void same_both(struct engine *e, const char *text, const char *sym, int hit)
{
	char *d[2];

	for (int on = 0; on < 2; on++) {
		rules_set_prefilter(e->rules, on);
		struct scan *sc = unit_scan(e, text);
		const char *x = unit_detail(sc, sym);
		d[on] = x ? xstrdup(x) : NULL;
		scan_free(sc);
	}
	if (getenv("SHOWHITS"))
		fprintf(stderr, "%s %d\n", sym, d[0] != NULL);
	if (hit >= 0 && !getenv("SHOWHITS"))
		ck_assert_msg((d[0] != NULL) == hit, "%s off: %s in\n%s", sym, d[0] ? d[0] : "no hit",
			      text);
	ck_assert_msg((d[0] == NULL && d[1] == NULL) || (d[0] && d[1] && strcmp(d[0], d[1]) == 0),
		      "%s: off %s, on %s in\n%s", sym, d[0] ? d[0] : "no hit", d[1] ? d[1] : "no hit",
		      text);
	free(d[0]);
	free(d[1]);
}

/* cores searched only after their first item's matches (rewidth_head,
 * found by Vectorscan): an item with several starts for one end
 * ("e-mail address" and "address"), matches of it that the rest of the
 * core does not follow, a first item of its own quantifier, more matches
 * than PF_HEAD_WINS windows, a run of blanks longer than the regex takes
 * (no match); each the same with the prefilter off and on, and hitting
 * where the regex does */
#define HEAD_RULES \
	"body PF_HEAD /(?:(?:[a-z]{1,12}\\s){0,5}(?:e-?mail(?:\\saddress)?|address|full\\sname|name)" \
	"[\\s:_]{1,12}){3}/i\n" \
	"tflags PF_HEAD multiple\n" \
	"body PF_HEADQ /(?:(?:[a-z]{1,12}\\s){0,5}(?:name|e-?mail|phone){1,2}[\\s:_]{1,6}){2}/i\n" \
	"tflags PF_HEADQ multiple maxhits=50\n" \
	"body PF_HEADW /(?:(?:[a-z]{1,12}\\s){0,5}(?:abc_{0,6}|zzz)[\\s:]{1,9}){2}/i\n"
START_TEST(head_keeps_matches)
{
	struct rules_pf_info pi;
	struct engine *e = pf_engine(HEAD_RULES, &pi);
	static const struct {
		const char *body;
		int head, headq;
	} t[] = {
		{ "please give your e-mail address: address: name:\n", 1, 0 },
		{ "email address address name\n", 1, 1 },
		{ "e-mail address: name: full name:\n", 1, 1 },
		{ "the full name: e-mail: x address\n", 1, 1 },
		{ "the user name: ____________ address: __ email: _\n", 0, 0 },
		{ "name: _____________ address: __ email: _\n", 0, 0 },
		/* a paragraph is a line of the body: no match across them */
		{ "a message to name\nemail\n\naddress and more\n", 0, 1 },
		{ "namephone: name\n", 0, 1 },
		{ "Your E-Mail: NAME: Address\n", 1, 1 },
		{ "names and addresses of the emails, phones\n", 0, 0 },
		{ "e-mail address\n", 0, 0 },
	};

	ck_assert_uint_eq(pi.core, 3);
	ck_assert_uint_eq(pi.head, 3);
	/* a match of the first item as long as it may be (its window ends
	 * where the match of the core starts) */
	same_both(e, "From: a@b.test\nSubject: w\n\nthe abc______: abc: zzz\n", "PF_HEADW", 1);
	same_both(e, "From: a@b.test\nSubject: w\n\nthe abc_______: abc: xzzz\n", "PF_HEADW",
		  0);
	for (size_t i = 0; i < sizeof(t) / sizeof(*t); i++) {
		char *text = xasprintf("From: a@b.test\nSubject: form\n\n%s", t[i].body);
		same_both(e, text, "PF_HEAD", t[i].head);
		same_both(e, text, "PF_HEADQ", t[i].headq);
		free(text);
	}
	struct buf b;
	buf_init(&b);
	buf_puts(&b, "From: a@b.test\nSubject: many\n\n");
	for (int i = 0; i < 100; i++)	/* more than PF_HEAD_WINS apart */
		buf_printf(&b, "line %d of the form: name: address: e-mail: phone: and some words\n",
			   i);
	want_both(e, b.data, "PF_HEAD", "name: address: e-mail:  (100 hits)");
	want_both(e, b.data, "PF_HEADQ", "e-mail: phone:  (50 hits)");
	buf_free(&b);
	engine_unref(e);
}
END_TEST

/* a core whose first item Vectorscan would not match exactly as PCRE2
 * does keeps the literals' windows alone (an atomic group, an escape of
 * a code point): no head, the same hits */
START_TEST(head_refused)
{
	struct rules_pf_info pi;
	struct engine *e = pf_engine(
		"body PF_HNO1 /(?:(?:[a-z]{1,12}\\s){0,5}(?:(?>name)|address|phone)[\\s:]{1,9}){2}/i\n"
		"body PF_HNO2 /(?:(?:[a-z]{1,12}\\s){0,5}(?:name|addr\\x{65}ss|phone)[\\s:]{1,9}){2}/i\n",
		&pi);

	ck_assert_uint_eq(pi.core, 2);
	ck_assert_uint_eq(pi.head, 0);
	same_both(e, "From: a@b.test\nSubject: r\n\nyour name: address: phone\n", "PF_HNO1", 1);
	same_both(e, "From: a@b.test\nSubject: r\n\nyour name: address: phone\n", "PF_HNO2", 1);
	engine_unref(e);
}
END_TEST

/* the same over random texts of the words the heads are made of */
START_TEST(head_random)
{
	static const char *const words[] = {
		"name", "e-mail", "email", "mail", "address", "full", "phone", " ", " ", ":",
		"__", "\n", "x", "your ", "the ",
	};
	struct rules_pf_info pi;
	struct engine *e = pf_engine(HEAD_RULES, &pi);
	unsigned seed = 7, hits[2] = { 0, 0 };
	struct buf b;

	ck_assert_uint_eq(pi.head, 3);
	buf_init(&b);
	for (int round = 0; round < 1500; round++) {
		b.len = 0;
		buf_puts(&b, "From: a@b.test\nSubject: r\n\n");
		unsigned n = 1 + rand_step(&seed) % 24;
		for (unsigned k = 0; k < n; k++)
			buf_puts(&b, words[rand_step(&seed) % (sizeof(words) / sizeof(*words))]);
		buf_puts(&b, "\n");
		same_both(e, b.data, "PF_HEAD", -1);
		same_both(e, b.data, "PF_HEADQ", -1);
		rules_set_prefilter(e->rules, 0);
		struct scan *sc = unit_scan(e, b.data);
		hits[0] += unit_detail(sc, "PF_HEAD") != NULL;
		hits[1] += unit_detail(sc, "PF_HEADQ") != NULL;
		scan_free(sc);
	}
	/* the texts do hit: the comparison is not of misses alone */
	ck_assert_uint_ge(hits[0], 20);
	ck_assert_uint_ge(hits[1], 100);
	buf_free(&b);
	engine_unref(e);
}
END_TEST

/* a slot searched for its core first: the regex's matches start up to
 * six words before the core's (found only with the windows reaching that
 * far back), overlap, come one after the other, and cross lines (a body
 * rule then counts line by line) */
START_TEST(core_keeps_matches)
{
	struct engine *e = unit_engine("", "body PF_CORE /(?:(?:[a-z]{1,12}\\s){0,6}"
					   "(?:name|address|phone)[\\s:]{1,40}){3}/i\n"
					   "tflags PF_CORE multiple\n"
					   "body PF_CORE_NS /(?:(?:[a-z]{1,12}\\s){0,6}"
					   "(?:name|address|phone)[\\s:]{1,40}){3}/i\n"
					   "tflags PF_CORE_NS nosubject multiple\n");
	struct rules_pf_info pi;
	struct buf b;

	rules_prefilter_info(e->rules, &pi);
	ck_assert_uint_eq(pi.core, 2);	/* a slot each: nosubject apart */
	ck_assert_uint_eq(pi.head, 2);	/* one database of their field words */
	buf_init(&b);
	buf_puts(&b, "From: a@b.test\nSubject: name name name\n\n");
	for (int i = 0; i < 12; i++)	/* more than PF_WINDOWS apart */
		buf_printf(&b, "line %d: some text about forms and the people who fill them in\n"
			   "please send us your full legal name: address: phone: today\n", i);
	buf_puts(&b, "name name name name name name name\n");
	buf_puts(&b, "address:\nphone:\nname:\n");
	for (int on = 0; on < 2; on++) {
		rules_set_prefilter(e->rules, on);
		struct scan *sc = unit_scan(e, b.data);
		want_detail(sc, "PF_CORE", "name name name  (14 hits)", on);
		want_detail(sc, "PF_CORE_NS",
			    "please send us your full legal name: address: phone:  (13 hits)", on);
		scan_free(sc);
	}
	buf_free(&b);
	engine_unref(e);
}
END_TEST

/* rewidth_split: the parts a pattern is taken apart into by the
 * alternative its matches begin with, and what it refuses */
START_TEST(rewidth_split_table)
{
	static const struct {
		const char *pat, *flags;
		const char *parts[4];	/* none: no split */
	} t[] = {
		{ "abc|def", "", { "abc", "def" } },
		{ "(?:ab|cd)ef", "", { "(?:ab)ef", "(?:cd)ef" } },
		/* the group's other passes stay whole, greedy */
		{ "(?:ab|cd){2,3}?x", "", { "(?:ab)(?:ab|cd){1,2}x", "(?:cd)(?:ab|cd){1,2}x" } },
		{ "(?:ab|cd)+e", "", { "(?:ab)(?:ab|cd){0,}e", "(?:cd)(?:ab|cd){0,}e" } },
		/* into the first item of a group's body, one level of branches */
		{ "(?:(?:ab|cd)x)y", "", { "(?:(?:ab)x)y", "(?:(?:cd)x)y" } },
		{ "(?:(?:a|b)c|d)e", "", { "(?:(?:a|b)c)e", "(?:d)e" } },
		/* the group's opening kept: options, atomic, capturing */
		{ "(?i:ab|cd)e", "", { "(?i:ab)e", "(?i:cd)e" } },
		{ "(?>ab|cd)e", "", { "(?>ab)e", "(?>cd)e" } },
		{ "(ab|cd|)e", "", { "(ab)e", "(cd)e", "()e" } },
		/* assertions before the group stay before each part */
		{ "\\b(?:ab|cd)e", "", { "\\b(?:ab)e", "\\b(?:cd)e" } },
		{ "^(?=x)\\B(?:ab|cd)", "", { "^(?=x)\\B(?:ab)", "^(?=x)\\B(?:cd)" } },
		/* refused: optional, not a group first, too many, a
		 * back-reference, x mode, an option set inside, a comment */
		{ "(?:ab|cd)?e", "", { NULL } },
		{ "\\b?(?:ab|cd)e", "", { NULL } },	/* a quantified assertion */
		{ "\\b", "", { NULL } },
		{ "\\w(?:ab|cd)", "", { NULL } },	/* \w consumes a byte */
		{ "x(?:ab|cd)", "", { NULL } },
		{ "(?:ab)+x", "", { NULL } },
		{ "a|b|c|d|e", "", { NULL } },
		{ "(a|b)\\1", "", { NULL } },
		{ "a|b", "x", { NULL } },
		{ "(?i)a|b", "", { NULL } },
		{ "(?#c)a|b", "", { NULL } },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(*t); i++) {
		char **parts;
		size_t want = 0, n = rewidth_split(t[i].pat, t[i].flags, 4, &parts);
		while (want < 4 && t[i].parts[want])
			want++;
		ck_assert_msg(n == want, "/%s/%s: %zu parts, not %zu", t[i].pat, t[i].flags, n, want);
		for (size_t k = 0; k < n; k++) {
			ck_assert_msg(strcmp(parts[k], t[i].parts[k]) == 0, "/%s/: part %zu %s, not %s",
				      t[i].pat, k, parts[k], t[i].parts[k]);
			free(parts[k]);
		}
		free(parts);
	}
}
END_TEST

/* pf_engine - an engine of rule text, and what its prefilter holds */
static struct engine *pf_engine(const char *text, struct rules_pf_info *pi)
{
	struct engine *e = unit_engine("", text);

	rules_prefilter_info(e->rules, pi);
	return e;
}

/* a slot whose branches give its literals widths of their own (one of
 * them far wider than the others, and a literal two branches hold with
 * different widths, the wider first, in a branch of a branch): every
 * match still counts, and the first is found from its true start (the
 * literals' own windows reach back to it), in windows more than a slot
 * keeps */
START_TEST(branch_keeps_matches)
{
	struct rules_pf_info pi;
	struct engine *e = pf_engine("body PF_BRANCH /(?:(?:(?:home|work|office)\\s){0,3}"
				     "address|(?:(?:my\\s)?telephone|fax)|age|tel)[\\s:]{1,20}\\d{2}/i\n"
				     "tflags PF_BRANCH multiple\n", &pi);
	static const char *const first[] = { "Home work office address: 12\n",
		"my telephone: 55\n" };
	static const char *const want[] = { "Home work office address: 12 (5 hits)",
		"my telephone: 55 (5 hits)" };

	ck_assert_uint_eq(pi.branched, 1);
	for (int m = 0; m < 2; m++) {
		struct buf b;
		buf_init(&b);
		buf_printf(&b, "From: a@b.test\nSubject: forms\n\n%s", first[m]);
		for (int i = 0; i < 12; i++)	/* more than PF_WINDOWS apart */
			buf_printf(&b, "line %d: the message page of the hotel has an image\n", i);
		buf_printf(&b, "%sage: 42 and tel 99\nwork address 31 fax 1\n", first[1 - m]);
		want_both(e, b.data, "PF_BRANCH", want[m]);
		buf_free(&b);
	}
	engine_unref(e);
}
END_TEST

/* a core that starts with common words where its regex starts with a
 * rare pair of bytes (a letter and ')': 0.0039 of the pairs in mail
 * against 0.0098) is taken when its windows are enough narrower (7 bytes
 * against 74: the start positions PCRE2 tries, not the first bytes
 * alone), and finds what the regex does */
START_TEST(core_by_cost)
{
	struct rules_pf_info pi;
	struct engine *e = pf_engine("body PF_LNNO /(?:[a-k]\\){1,60}\\s?(?:your\\s)?"
				     "(?:name|address|phone|age|tel)[\\s:]{1,40}){3}/i\n"
				     "tflags PF_LNNO multiple\n", &pi);
	struct buf b;

	ck_assert_uint_eq(pi.core, 1);
	buf_init(&b);
	buf_puts(&b, "From: a@b.test\nSubject: form\n\n");
	for (int i = 0; i < 12; i++)	/* more than PF_WINDOWS apart */
		buf_printf(&b, "line %d: your name, the address and the phone of a friend\n", i);
	buf_puts(&b, "a) your name: b) address c) phone\nk)))))) age e) Address: f) Tel:\n");
	want_both(e, b.data, "PF_LNNO", "a) your name: b) address c) phone  (2 hits)");
	buf_free(&b);
	engine_unref(e);
}
END_TEST

/* a regex with a second set of literals (reqlit_find2) runs only where
 * the text holds one of each: "over" in every line, "cost" (the second
 * set) in two of them and before the first "over", the matches and
 * their count as without the prefilter; a text with "over" alone has no
 * match either way */
START_TEST(gate_keeps_matches)
{
	struct rules_pf_info pi;
	struct engine *e = pf_engine("body PF_GATE /\\bover-? *(?:invoiced?|cost(?:s|ing)?)\\b/i\n"
				     "tflags PF_GATE multiple\n", &pi);
	struct buf b;

	ck_assert_uint_eq(pi.gated, 1);
	buf_init(&b);
	buf_puts(&b, "From: a@b.test\nSubject: costs\n\nthe costs first\n");
	for (int i = 0; i < 12; i++)	/* more than PF_WINDOWS apart */
		buf_printf(&b, "line %d: over and over again%s\n", i,
			   i == 3 ? ", over-costing" : i == 9 ? ", OVER  INVOICED" : "");
	want_both(e, b.data, "PF_GATE", "over-costing (2 hits)");
	for (int on = 0; on < 2; on++) {
		rules_set_prefilter(e->rules, on);
		struct scan *sc = unit_scan(e, "From: a@b.test\nSubject: over\n\nover and over\n");
		ck_assert_msg(unit_detail(sc, "PF_GATE") == NULL, "on=%d: a hit without the gate", on);
		scan_free(sc);
	}
	buf_free(&b);
	engine_unref(e);
}
END_TEST

/* a look-alike word (FUZZY_* of 25_replace.cf) has a run of six classes
 * a plain text must hold (reqlit_class_run): a plain text with its
 * literals ("ial") but not the run has no match; one with a look-alike
 * spelling has, and so has a text with '&' (an entity spelling, where
 * the run is not looked for) or with bytes >= 0x80: as without the
 * prefilter each time */
#define LOOKALIKE "(?:[ck@]|&\\#99;)(?:[il1!]|&\\#105;)(?:[a4@]|&\\#97;)(?:[l1|]|&\\#108;)" \
		  "(?:[il1!]|&\\#105;)(?:[s5$]|&\\#115;)"
START_TEST(class_run_keeps_matches)
{
	struct rules_pf_info pi;
	struct engine *e = pf_engine("body PF_RUN /" LOOKALIKE "/i\n", &pi);
	static const char *const hit[][2] = {
		{ "buy c1a|1s now\n", "c1a|1s" },
		{ "buy &#99;ialis &amp; more\n", "&#99;ialis" },
		{ "buy k!a1is \xc3\xa9t\xc3\xa9\n", "k!a1is" },
	};

	ck_assert_uint_eq(pi.runs, 1);
	for (size_t i = 0; i < sizeof(hit) / sizeof(hit[0]); i++) {
		char msg[256];
		snprintf(msg, sizeof(msg), "From: a@b.test\nSubject: pills\n\n%s", hit[i][0]);
		want_both(e, msg, "PF_RUN", hit[i][1]);
	}
	for (int on = 0; on < 2; on++) {
		rules_set_prefilter(e->rules, on);
		struct scan *sc = unit_scan(e, "From: a@b.test\nSubject: pills\n\na social call\n");
		ck_assert_msg(unit_detail(sc, "PF_RUN") == NULL, "on=%d: a hit without the run", on);
		scan_free(sc);
	}
	engine_unref(e);
}
END_TEST

/* runs enough for five words of a text (80 rules of 16 classes each,
 * digits or hex letters, no literal: four runs a lane), which go through
 * shift_and four words at a time and then one: a run found in any of
 * the words, first to last, still counts (prefilter on and off alike),
 * and a rule whose run is only almost there (one class off) has no hit */
#define MANY_RUNS 80
#define RUN_LEN 16

/* many_runs_token - the 16 bytes rule k's run takes: bit j % 7 of k
 * picks a digit, else a hex letter */
static void many_runs_token(unsigned k, unsigned seed, char out[RUN_LEN + 1])
{
	for (unsigned j = 0; j < RUN_LEN; j++)
		out[j] = (char)(k >> (j % 7) & 1 ? '0' + (seed + j) % 10 : 'a' + (seed + j) % 6);
	out[RUN_LEN] = '\0';
}

START_TEST(class_runs_many_words)
{
	static const unsigned hit[] = { 0, 17, 38, 51, 64, 79 };	/* words 0, 1, 2, 3, 4, 4 */
	struct rules_pf_info pi;
	struct buf rules, msg;

	buf_init(&rules);
	for (unsigned k = 0; k < MANY_RUNS; k++) {
		buf_printf(&rules, "body PF_RUN%u /", k);
		for (unsigned j = 0; j < RUN_LEN; j++)
			buf_puts(&rules, k >> (j % 7) & 1 ? "[0-9]" : "[a-f]");
		buf_puts(&rules, "/\n");
	}
	struct engine *e = pf_engine(rules.data, &pi);
	ck_assert_uint_eq(pi.runs, MANY_RUNS);
	buf_init(&msg);
	buf_puts(&msg, "From: a@b.test\nSubject: codes\n\ncodes:");
	char tok[RUN_LEN + 1];
	for (size_t i = 0; i < sizeof(hit) / sizeof(hit[0]); i++) {
		many_runs_token(hit[i], (unsigned)i, tok);
		buf_printf(&msg, " %s", tok);
	}
	many_runs_token(5, 3, tok);	/* rule 5's run but its last class */
	tok[RUN_LEN - 1] = tok[RUN_LEN - 1] >= 'a' ? '7' : 'c';
	buf_printf(&msg, " %s.\n", tok);
	for (size_t i = 0; i < sizeof(hit) / sizeof(hit[0]); i++) {
		char name[32];
		many_runs_token(hit[i], (unsigned)i, tok);
		snprintf(name, sizeof(name), "PF_RUN%u", hit[i]);
		want_both(e, msg.data, name, tok);
	}
	for (int on = 0; on < 2; on++) {
		rules_set_prefilter(e->rules, on);
		struct scan *sc = unit_scan(e, msg.data);
		ck_assert_msg(unit_detail(sc, "PF_RUN5") == NULL, "on=%d: a hit one class off", on);
		size_t runs = 0;
		for (size_t i = 0; i < sc->hits.n; i++)
			runs += strncmp(sc->hits.v[i].name, "PF_RUN", 6) == 0;
		ck_assert_uint_eq(runs, sizeof(hit) / sizeof(hit[0]));
		scan_free(sc);
	}
	buf_free(&msg);
	buf_free(&rules);
	engine_unref(e);
}
END_TEST

/* a URI regex runs only on the URIs its literals were in: the matches in
 * more such URIs than a slot keeps ranges for (the closest joined), the
 * first one reported, and a URI that holds the literal but no match */
START_TEST(uri_ranges_keep_matches)
{
	struct engine *e = unit_engine("", "uri PF_ZURI /^https?:\\/\\/[^\\/]*zebra\\.com\\/x\\d/i\n"
					   "tflags PF_ZURI multiple\n");
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "From: a@b.test\nSubject: links\n\n");
	for (int i = 0; i < 24; i++)	/* every third has the literal */
		buf_printf(&b, "see http://%s.com/x%d here\n", i % 3 ? "horse" : "zebra", i % 10);
	buf_puts(&b, "and http://zebra.com/xx then http://www.zebra.com/x7\n");
	want_both(e, b.data, "PF_ZURI", "http://zebra.com/x0 (9 hits)");
	buf_free(&b);
	engine_unref(e);
}
END_TEST

/* two threads scanning at once share the rule set and its databases;
 * each message's hits must equal the serial run's */
#define T_MSGS 40

struct worker {
	struct engine *e;
	char *text[T_MSGS];
	size_t len[T_MSGS];
	size_t nhits[T_MSGS];
};

/* work - scan every message, remember the hit counts */
static void *work(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < T_MSGS; i++) {
		struct scan *sc = scan_file(w->e, w->text[i], w->len[i]);
		w->nhits[i] = sc->hits.n;
		scan_free(sc);
	}
	return NULL;
}

START_TEST(threads_share)
{
	const char *data = getenv("TESTDATA");
	char *dir = xasprintf("%s/corpus/spam", data ? data : "tests/data");
	struct dirent **ents = NULL;
	int n = scandir(dir, &ents, NULL, alphasort), got = 0;
	struct worker w[2] = { { .e = unit_engine("", tricky) } };
	pthread_t th[2];

	w[1].e = w[0].e;
	for (int i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.' && got < T_MSGS) {
			char *path = xasprintf("%s/%s", dir, ents[i]->d_name);
			w[0].text[got] = mboxfile_read(path, &w[0].len[got]);
			ck_assert_ptr_nonnull(w[0].text[got]);
			w[1].text[T_MSGS - 1 - got] = w[0].text[got];	/* the other order */
			w[1].len[T_MSGS - 1 - got] = w[0].len[got];
			got++;
			free(path);
		}
		free(ents[i]);
	}
	free(ents);
	ck_assert_int_eq(got, T_MSGS);
	size_t serial[T_MSGS];
	work(&w[0]);
	memcpy(serial, w[0].nhits, sizeof(serial));
	for (int t = 0; t < 2; t++)
		pthread_create(&th[t], NULL, work, &w[t]);
	for (int t = 0; t < 2; t++)
		pthread_join(th[t], NULL);
	for (int i = 0; i < T_MSGS; i++) {
		ck_assert_uint_eq(w[0].nhits[i], serial[i]);
		ck_assert_uint_eq(w[1].nhits[T_MSGS - 1 - i], serial[i]);
		free(w[0].text[i]);
	}
	engine_unref(w[0].e);
	free(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("prefilter");
	TCase *tc = tcase_create("prefilter");

	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, reqlit_table, 0, sizeof(lits) / sizeof(lits[0]));
	tcase_add_loop_test(tc, reqlit_squeezed, 0, sizeof(sq) / sizeof(sq[0]));
	tcase_add_loop_test(tc, reqlit_squeezed_ascii, 0, sizeof(sqa) / sizeof(sqa[0]));
	tcase_add_loop_test(tc, reqlit_uri, 0, sizeof(uri_lits) / sizeof(uri_lits[0]));
	tcase_add_loop_test(tc, reqlit_ascii, 0, sizeof(asc) / sizeof(asc[0]));
	tcase_add_loop_test(tc, reqlit_second, 0, sizeof(seconds) / sizeof(seconds[0]));
	tcase_add_loop_test(tc, reqlit_class_runs, 0, sizeof(class_runs) / sizeof(class_runs[0]));
	tcase_add_test(tc, reqlit_squeezed_variants);
	tcase_add_test(tc, squeeze_text);
	tcase_add_loop_test(tc, lead_table, 0, sizeof(leads) / sizeof(leads[0]));
	tcase_add_test(tc, lead_three_narrower);
	tcase_add_loop_test(tc, tail_table, 0, sizeof(tails) / sizeof(tails[0]));
	tcase_add_test(tc, lead_nul);
	tcase_add_test(tc, reqlit_nul);
	tcase_add_test(tc, skip_is_no_match);
	tcase_add_test(tc, spare_run_reused);
	tcase_add_test(tc, shared_literals);
	tcase_add_test(tc, limit_keeps_matches);
	tcase_add_test(tc, windows_keep_matches);
	tcase_add_test(tc, core_keeps_matches);
	tcase_add_test(tc, branch_keeps_matches);
	tcase_add_test(tc, core_by_cost);
	tcase_add_test(tc, uri_ranges_keep_matches);
	tcase_add_test(tc, gate_keeps_matches);
	tcase_add_test(tc, class_run_keeps_matches);
	tcase_add_test(tc, class_runs_many_words);
	tcase_add_test(tc, rewidth_core_table);
	tcase_add_test(tc, rewidth_head_table);
	tcase_add_test(tc, head_keeps_matches);
	tcase_add_test(tc, head_random);
	tcase_add_test(tc, head_refused);
	tcase_add_test(tc, review_cases);
	tcase_add_loop_test(tc, rewidth_table, 0, sizeof(widths) / sizeof(widths[0]));
	tcase_add_loop_test(tc, rewidth_runs_table, 0, sizeof(runs_widths) / sizeof(runs_widths[0]));
	tcase_add_test(tc, rewidth_text_runs_counts);
	tcase_add_test(tc, rewidth_text_runs_random);
	tcase_add_test(tc, rewidth_split_table);
	tcase_add_test(tc, re_literal_byte);
	tcase_add_test(tc, re_fixed_set);
	tcase_add_test(tc, rewidth_lead_table);
	tcase_add_test(tc, rewidth_lead_bound);
	tcase_add_test(tc, rewidth_span_table);
	tcase_add_test(tc, rewidth_span_bound);
	tcase_add_test(tc, rewidth_subspan_table);
	tcase_add_test(tc, rewidth_subspan_bound);
	tcase_add_test(tc, re_starts_table);
	tcase_add_test(tc, rewidth_runs_bound);
	tcase_add_test(tc, corpus_tricky);
	tcase_add_test(tc, corpus_shipped);
	tcase_add_test(tc, threads_share);
	suite_add_tcase(s, tc);
	return unit_main(s);
}
