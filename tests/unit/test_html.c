/*
 * test_html.c - SpamAssassin's HTML and MIME statistics (mail/html_stats.c,
 * mail/mime_stats.c) on small samples, checked against what SpamAssassin
 * 4's HTML.pm, MIMEEval.pm and BodyEval.pm compute for them, and the
 * HTMLEval/MIMEEval tests (rules/eval_html.c) through the pipeline.
 */
#include "autoconfig.h"

#include <math.h>

#include "unit.h"
#include "base/arena.h"
#include "mail/html.h"
#include "mail/html_stats.h"
#include "mail/message.h"

/* stats_of - render html and return its statistics (caller frees) */
static struct html_stats *stats_of(const char *html)
{
	struct html_stats *st = xcalloc(1, sizeof(*st));
	struct buf text;

	buf_init(&text);
	html_render(html, strlen(html), &text, NULL, NULL, st);
	buf_free(&text);
	return st;
}

/* value - a named number, NAN when undefined */
static double value(const struct html_stats *st, const char *name)
{
	double v;

	return html_stats_value(st, name, &v) ? v : NAN;
}

/* tag counts, balance and ratios (HTML.pm html_tag, html_end) */
START_TEST(tags)
{
	struct html_stats *st = stats_of(
		"<!DOCTYPE html><html><head><title>T</title></head><body>"
		"<center><p>x</p></b><blink>y</blink><o:p></o:p></body>");

	/* start+end: html head title title head body center p p b blink
	 * blink o:p o:p body, plus the doctype */
	ck_assert_uint_eq(st->tags, 16);
	ck_assert_uint_eq(st->elements, 14);	/* not the two blink */
	ck_assert_uint_eq(st->closed_extra, 1);	/* </b> */
	ck_assert_int_eq(html_stats_inside(st, "center"), 1);
	ck_assert_int_eq(html_stats_inside(st, "html"), 1);
	ck_assert_int_eq(html_stats_inside(st, "body"), 0);
	ck_assert_int_eq(html_stats_inside(st, "b"), 0);
	ck_assert_int_eq(html_stats_inside(st, "img"), -1);
	ck_assert_double_eq_tol(value(st, "bad_tag_ratio"), 2.0 / 16, 1e-9);
	ck_assert_double_eq_tol(value(st, "closed_extra_ratio"), 1.0 / 16, 1e-9);
	ck_assert(isnan(value(st, "obfuscation_ratio")));
	ck_assert_str_eq(st->title.v[0], "T");
	html_stats_free(st);
	free(st);
}
END_TEST

/* the content of script, style, iframe and textarea is no markup */
START_TEST(literal_elements)
{
	struct html_stats *st = stats_of(
		"<iframe src=x><script>a()</script><img></iframe><textarea><b>t</textarea>"
		"<script>if (a<b) x();</script><style>p{}</style>");

	ck_assert_int_eq(html_stats_inside(st, "script"), 0);
	ck_assert_int_eq(html_stats_inside(st, "iframe"), 0);
	ck_assert_int_eq(html_stats_inside(st, "img"), -1);
	ck_assert_int_eq(html_stats_inside(st, "b"), -1);
	ck_assert_int_eq(html_stats_inside(st, "style"), 0);
	html_stats_free(st);
	free(st);
}
END_TEST

static const struct {
	const char *html;
	unsigned flags;
	double max_size, min_size;
} fonts[] = {
	{ "<font color=white>hidden</font>", HTML_F_FONT_LOW_CONTRAST, 3, 3 },
	{ "<font color=white>&nbsp;</font>", 0, 3, 3 },	/* no text */
	{ "<span style='color: #fefefe'>x</span>", HTML_F_FONT_LOW_CONTRAST, 3, 3 },
	{ "<div style=\"background-color:black;color:rgb(10,10,10)\">x</div>",
	  HTML_F_FONT_LOW_CONTRAST, 3, 3 },
	/* default black text on the background shorthand's colour */
	{ "<table style=\"background: url('a.png') #000\"><tr><td>x</td></tr></table>",
	  HTML_F_FONT_LOW_CONTRAST, 3, 3 },
	{ "<table style=\"background: url('a.png') #fff\"><tr><td>x</td></tr></table>", 0, 3, 3 },
	/* bgcolor attributes change nothing (as SA): black on "white" */
	{ "<body bgcolor=black><font color=black>x</font>", 0, 3, 3 },
	{ "<font color=\"000000\">no hash</font>", HTML_F_FONT_INVALID_COLOR, 3, 3 },
	{ "<font color=#0000ff>blue</font>", 0, 3, 3 },
	{ "<font size=+3>big</font><font size=1>small</font>", 0, 6, 1 },
	{ "<basefont size=5><font size=\"+2\">x</font>", 0, 7, 3 },
	{ "<font size=\"+2.5\">x</font>", 0, 5, 3 },	/* \d+ reads "+2" */
	{ "<big><big>x</big></big>", 0, 3, 3 },	/* big does not count (as SA) */
	{ "<font face=\"Arial, Helvetica\">ok</font>", 0, 3, 3 },
	{ "<font face='Verdana2'>ok</font>", 0, 3, 3 },
	{ "<font face=\"@#$\">bad</font>", HTML_F_FONT_FACE_BAD, 3, 3 },
	{ "<font face=\"Arial,,Helvetica\">bad</font>", HTML_F_FONT_FACE_BAD, 3, 3 },
	{ "<font face>novalue</font>", 0, 3, 3 },	/* the value is "face" */
	{ "<form action=\"MAILTO:x@y.test\"></form>", HTML_F_FORM_ACTION_MAILTO, 3, 3 },
	{ "<embed src=x.swf>", HTML_F_EMBEDS, 3, 3 },
};

/* font styles, colours and faces (HTML.pm text_style, html_font_invisible,
 * name_to_rgb, html_tests) */
START_TEST(font_cases)
{
	struct html_stats *st = stats_of(fonts[_i].html);

	ck_assert_msg(st->flags == fonts[_i].flags, "%s: flags %u, not %u", fonts[_i].html,
		      st->flags, fonts[_i].flags);
	ck_assert_double_eq(st->max_size, fonts[_i].max_size);
	ck_assert_double_eq(st->min_size, fonts[_i].min_size);
	html_stats_free(st);
	free(st);
}
END_TEST

/* text runs next to each other: obfuscation and backhair (html_text) */
START_TEST(obfuscation)
{
	struct html_stats *st = stats_of("<p>ab<b>cd</b> x<i>y</i> a \xe2\x80\x9c<u>What</u></p>");

	ck_assert_uint_eq(st->obfuscation, 2);	/* ab|cd and x|y, not "|What */
	ck_assert_double_eq(value(st, "backhair_count"), 2);	/* 2_2, 1_1 */
	ck_assert_double_eq_tol(value(st, "obfuscation_ratio"), 2.0 / 8, 1e-9);
	html_stats_free(st);
	free(st);
	/* long chunks: only their last 8 entries count, white space runs as one */
	st = stats_of("<p>one two three four five six seven ab<b>cd</b>  lots of words   "
		      "<i>x</i>\n  \t  padded  words  then  a  <u>y</u></p>");
	ck_assert_uint_eq(st->obfuscation, 1);	/* ab|cd; not " |x", not " |y" */
	ck_assert_double_eq(value(st, "backhair_count"), 1);	/* 2_2 */
	html_stats_free(st);
	free(st);
	st = stats_of("abcdefghij<b>x</b>");	/* a run of 10: no \b in reach */
	ck_assert_uint_eq(st->obfuscation, 1);
	ck_assert(isnan(value(st, "backhair_count")));
	html_stats_free(st);
	free(st);
}
END_TEST

/* lengths and image area (html_tests, Node.pm rendered) */
START_TEST(lengths_and_images)
{
	struct html_stats *st = stats_of(
		"<img width=10 height=20><img width=50% height=\"10%\"><img width=5>"
		"<img width=x height=0>&amp; \xc3\xa9t\xc3\xa9");

	ck_assert_double_eq(st->image_area, 200 + 400 * 60 + 200 * 200);
	/* "& été": 5 characters, 4 not white space */
	ck_assert_double_eq(st->non_space_len, 4);
	ck_assert_double_eq(st->length, strlen("<img width=10 height=20><img width=50% height=\"10%\">"
					       "<img width=5><img width=x height=0>&amp; ") + 3);
	html_stats_free(st);
	free(st);
}
END_TEST

/* comments: "<!--" ones and any "<!" not followed by a name */
START_TEST(comments)
{
	struct html_stats *st = stats_of("<!-- saved from url=(0022)x --><!5122abc><!DOCTYPE x><a href=y><img></a>");

	ck_assert_uint_eq(st->comment.n, 2);
	ck_assert_str_eq(st->comment.v[0], "<!-- saved from url=(0022)x -->");
	ck_assert_str_eq(st->comment.v[1], "<!5122abc>");
	ck_assert_uint_eq(st->anchor.n, 1);
	ck_assert_str_eq(st->anchor.v[0], "<img>\n");
	html_stats_free(st);
	free(st);
}
END_TEST

/* caps: distinct tag names and kept strings */
START_TEST(caps)
{
	struct buf h;

	buf_init(&h);
	for (int i = 0; i < 3 * HTML_STATS_MAX_NAMES; i++)
		buf_printf(&h, "<x%d><!--c%d--><a>t</a>", i, i);
	struct html_stats *st = xcalloc(1, sizeof(*st));
	html_render(h.data, h.len, NULL, NULL, NULL, st);
	ck_assert_uint_eq(st->nnames, HTML_STATS_MAX_NAMES);
	ck_assert_uint_eq(st->comment.n, HTML_STATS_MAX_STRINGS);
	ck_assert_uint_eq(st->comment.seen, 3 * HTML_STATS_MAX_NAMES);
	ck_assert_uint_eq(st->tags, 3 * 3 * HTML_STATS_MAX_NAMES);
	html_stats_free(st);
	free(st);
	buf_free(&h);
}
END_TEST

/* the kept strings in an arena (as the MIME views keep them) are those
 * of the malloc'd ones: grown over many text runs, cut at the cap, in
 * UTF-8 */
START_TEST(strings_in_arena)
{
	struct buf h;
	struct arena a;

	buf_init(&h);
	buf_puts(&h, "<title>t\xc3\xa9");
	for (int i = 0; i < 40; i++)
		buf_puts(&h, "<b>x\xe2\x82\xac</b>");
	buf_puts(&h, "</title><!--c1--><a href=u>");
	for (int i = 0; i < 3000; i++)	/* past HTML_STATS_MAX_STRING */
		buf_printf(&h, "w%d\xf0\x9f\x98\x80<i></i>", i % 10);
	buf_puts(&h, "</a><a>short</a><a></a><a><img></a>");
	for (int i = 0; i < 2 * HTML_STATS_MAX_STRINGS; i++)
		buf_printf(&h, "<a>%d</a><!--%d-->", i, i);
	arena_init(&a, 1 << 24);
	struct html_stats *m = xcalloc(1, sizeof(*m)), *in = xcalloc(1, sizeof(*in));
	in->arena = &a;
	html_render(h.data, h.len, NULL, NULL, NULL, m);
	html_render(h.data, h.len, NULL, NULL, NULL, in);
	ck_assert(a.used > 0);
	const char *names[] = { "title", "comment", "anchor" };
	for (size_t k = 0; k < 3; k++) {
		const struct html_strs *x = html_stats_strings(m, names[k]);
		const struct html_strs *y = html_stats_strings(in, names[k]);
		ck_assert_uint_eq(x->n, y->n);
		ck_assert_uint_eq(x->seen, y->seen);
		for (size_t i = 0; i < x->n; i++) {
			ck_assert_str_eq(x->v[i], y->v[i]);
			ck_assert_uint_le(strlen(y->v[i]), HTML_STATS_MAX_STRING);
		}
	}
	ck_assert_uint_eq(strlen(in->anchor.v[0]), HTML_STATS_MAX_STRING);
	ck_assert_str_eq(in->anchor.v[2], "");
	ck_assert_str_eq(in->anchor.v[3], "<img>\n");
	/* a title is literal text: its tags are text too */
	ck_assert_int_eq(strncmp(in->title.v[0], "t\xc3\xa9<b>x\xe2\x82\xac</b>", 14), 0);
	ck_assert_int_eq(strncmp(in->anchor.v[0], "w0\xf0\x9f\x98\x80w1\xf0\x9f\x98\x80", 12), 0);
	html_stats_free(m);
	html_stats_free(in);
	ck_assert_ptr_eq(in->arena, &a);
	arena_free(&a);
	free(m);
	free(in);
	buf_free(&h);
}
END_TEST

static const char EVAL_RULES[] =
	"body HTML_MESSAGE eval:html_test('html')\n"
	"body LOW_CONTRAST eval:html_test('font_low_contrast')\n"
	"body FONT_HUGE eval:html_range('max_size', '6', 'inf')\n"
	"body LEN_512 eval:html_eval('length', '< 512')\n"
	"body BAL_BODY eval:html_tag_balance('body', '!= 0')\n"
	"body EXISTS_CENTER eval:html_tag_exists('center')\n"
	"body IMAGE_ONLY eval:html_image_only('0000','0400')\n"
	"body IMAGE_RATIO eval:html_image_ratio('0.000','0.002')\n"
	"body LINK_IMAGE eval:html_text_match('anchor', '<img>')\n"
	"body SAVED_URL eval:html_text_match('comment', '<!-- saved from url=\\(\\d{4}\\)')\n"
	"body TITLE_SUBJ eval:html_title_subject_ratio('3.5')\n"
	"body MIME_HTML_ONLY eval:check_for_mime_html_only()\n"
	"body MIME_HTML eval:check_for_mime_html()\n"
	"body MIME_HTML_MOSTLY eval:check_mime_multipart_ratio('0.00','0.01')\n"
	"body MPART_ALT_DIFF eval:multipart_alternative_difference('99', '100')\n"
	"body B64_78_79 eval:check_base64_length('78','79')\n"
	"body B64_79 eval:check_base64_length('79')\n"
	"body ASCII_ILLEGAL eval:check_for_ascii_text_illegal()\n";

#define ALT(text, html) \
	"Content-Type: multipart/alternative; boundary=B\n\n--B\nContent-Type: text/plain\n\n" \
	text "\n--B\nContent-Type: text/html\n\n" html "\n--B--\n"

static const struct {
	const char *msg;
	const char *hits;	/* space-separated, exactly these hit */
} eval_cases[] = {
	{ "Subject: s\nContent-Type: text/html\n\n<html><body><center><font size=7>Hi</font>"
	  "</center><a href=x><img width=600 height=400></a>",
	  "HTML_MESSAGE FONT_HUGE LEN_512 BAL_BODY EXISTS_CENTER IMAGE_ONLY IMAGE_RATIO "
	  "LINK_IMAGE MIME_HTML_ONLY MIME_HTML" },
	{ "Subject: s\nContent-Type: text/plain\n\nplain words only\n", "" },
	{ "Subject: s\n" ALT("hello there friend", "<p>buy cheap pills now</p>"),
	  "HTML_MESSAGE LEN_512 MIME_HTML MPART_ALT_DIFF" },
	{ "Subject: s\n" ALT("hello there friend", "<p>hello there friend</p>"),
	  "HTML_MESSAGE LEN_512 MIME_HTML" },
	{ "Subject: s\n" ALT("", "<p>only html here, the text part is empty</p>"),
	  "HTML_MESSAGE LEN_512 MIME_HTML MIME_HTML_MOSTLY MPART_ALT_DIFF" },
	{ "Subject: short\nContent-Type: text/html\n\n<!-- saved from url=(0022)http://x.test/ -->"
	  "<title>a title that is much longer than the subject</title><p style='color:#fff'>x</p>",
	  "HTML_MESSAGE LOW_CONTRAST LEN_512 SAVED_URL TITLE_SUBJ MIME_HTML_ONLY MIME_HTML" },
	{ "Subject: s\nContent-Type: text/plain\n\ncaf\xc3\xa9\n", "ASCII_ILLEGAL" },
	{ "Subject: s\nContent-Type: text/plain; charset=utf-8\n\ncaf\xc3\xa9\n", "" },
	{ "Subject: s\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n"
	  "aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd29yb\n"
	  "bGQK\n", "B64_78_79" },	/* 77 characters and the LF */
	{ "Subject: s\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n"
	  "aGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd29ybGQgaGVsbG8gd29ybGQK\n",
	  "B64_79" },
	/* an attachment named .html is rendered as HTML (effective_type) */
	{ "Subject: s\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\n"
	  "see attached\n--B\nContent-Type: application/octet-stream; name=\"a.html\"\n\n"
	  "<html><center>x</center></html>\n--B--\n",
	  "HTML_MESSAGE LEN_512 EXISTS_CENTER" },
};

/* the evals on whole messages, exactly the expected rules hit */
START_TEST(evals)
{
	struct engine *e = unit_engine("", EVAL_RULES);
	char text[2048];
	char names[] = "HTML_MESSAGE LOW_CONTRAST FONT_HUGE LEN_512 BAL_BODY EXISTS_CENTER "
		       "IMAGE_ONLY IMAGE_RATIO LINK_IMAGE SAVED_URL TITLE_SUBJ MIME_HTML_ONLY "
		       "MIME_HTML MIME_HTML_MOSTLY MPART_ALT_DIFF B64_78_79 B64_79 ASCII_ILLEGAL";

	snprintf(text, sizeof(text), "From: a@sender.test\nTo: b@rcpt.test\n%s", eval_cases[_i].msg);
	struct scan *sc = unit_scan(e, text);
	char *save = NULL;
	for (char *n = strtok_r(names, " ", &save); n; n = strtok_r(NULL, " ", &save)) {
		char want[64];
		snprintf(want, sizeof(want), " %s ", n);
		char hits[512];
		snprintf(hits, sizeof(hits), " %s ", eval_cases[_i].hits);
		ck_assert_msg((unit_detail(sc, n) != NULL) == (strstr(hits, want) != NULL),
			      "case %d: %s %s", _i, n, unit_detail(sc, n) ? "hit" : "missed");
	}
	scan_free(sc);
	engine_unref(e);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("html");
	TCase *tc = tcase_create("html");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, tags);
	tcase_add_test(tc, literal_elements);
	tcase_add_loop_test(tc, font_cases, 0, sizeof(fonts) / sizeof(fonts[0]));
	tcase_add_test(tc, obfuscation);
	tcase_add_test(tc, lengths_and_images);
	tcase_add_test(tc, comments);
	tcase_add_test(tc, caps);
	tcase_add_test(tc, strings_in_arena);
	tcase_add_loop_test(tc, evals, 0, sizeof(eval_cases) / sizeof(eval_cases[0]));
	suite_add_tcase(s, tc);
	return unit_main(s);
}
