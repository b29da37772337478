/*
 * eval_html.c - SpamAssassin's HTMLEval tests (Plugin/HTMLEval.pm) and
 * the MIME tests of MIMEEval.pm and BodyEval.pm that read the statistics
 * the mail layer collects while decoding (mail/html_stats.h,
 * mail/mime_stats.h), with SpamAssassin's semantics: an HTML test hits
 * when one text/html part satisfies it.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/eval.h"
#include "rules/re.h"
#include "mail/html_stats.h"
#include "mail/message.h"
#include "base/util.h"

/* num - a numeric argument as Perl reads a string ("0400" is 400) */
static double num(const char *s)
{
	return eval_num(s);
}

/*
 * compare - Perl's "$val $expr" for the expressions HTMLEval accepts
 * ([<>=!+- 0-9]: an operator and a number, "!= 0", "< 512"); false for
 * anything else (SpamAssassin refuses it too)
 */
static bool compare(double v, const char *expr)
{
	char op[3] = { 0 };
	size_t k = 0;

	if (expr[strspn(expr, "<>=!-+ 0123456789")] != '\0')
		return false;
	while (*expr == ' ')
		expr++;
	while (k < 2 && strchr("<>=!", *expr))
		op[k++] = *expr++;
	char *end;
	double n = strtod(expr, &end);
	while (*end == ' ')
		end++;
	if (end == expr || *end != '\0')
		return false;
	if (strcmp(op, "<") == 0)
		return v < n;
	if (strcmp(op, ">") == 0)
		return v > n;
	if (strcmp(op, "<=") == 0)
		return v <= n;
	if (strcmp(op, ">=") == 0)
		return v >= n;
	if (strcmp(op, "==") == 0)
		return v == n;
	if (strcmp(op, "!=") == 0)
		return v != n;
	return false;
}

/* html_test - a named result is true in some part */
static unsigned html_test(const struct eval_env *env, size_t argc, const char *const *argv)
{
	size_t n;
	const struct html_stats *h = msg_html_stats(env->m, &n);
	double v;

	(void)argc;
	for (size_t i = 0; i < n; i++)
		if (html_stats_value(&h[i], argv[0], &v) && v != 0)
			return 1;
	return 0;
}

/* html_range - min < value <= max in some part (max absent or "inf":
 * no upper bound) */
static unsigned html_range(const struct eval_env *env, size_t argc, const char *const *argv)
{
	size_t n;
	const struct html_stats *h = msg_html_stats(env->m, &n);
	bool inf = argc < 3 || strcmp(argv[2], "inf") == 0;
	double min = num(argv[1]), max = inf ? 0 : num(argv[2]), v;

	for (size_t i = 0; i < n; i++)
		if (html_stats_value(&h[i], argv[0], &v) && v > min && (inf || v <= max))
			return 1;
	return 0;
}

/* html_eval - "value EXPR" holds in some part */
static unsigned html_eval(const struct eval_env *env, size_t argc, const char *const *argv)
{
	size_t n;
	const struct html_stats *h = msg_html_stats(env->m, &n);
	double v;

	(void)argc;
	for (size_t i = 0; i < n; i++)
		if (html_stats_value(&h[i], argv[0], &v) && compare(v, argv[1]))
			return 1;
	return 0;
}

/* tag_ok - HTMLEval's check of a tag argument: letters and digits */
static bool tag_ok(const char *t)
{
	if (*t == '\0')
		return false;
	for (; *t; t++)
		if (!isalnum((unsigned char)*t))
			return false;
	return true;
}

/* html_tag_balance - starts minus ends of a tag satisfy EXPR in a part
 * where the tag occurs */
static unsigned tag_balance(const struct eval_env *env, size_t argc, const char *const *argv)
{
	size_t n;
	const struct html_stats *h = msg_html_stats(env->m, &n);

	(void)argc;
	if (!tag_ok(argv[0]))
		return 0;
	for (size_t i = 0; i < n; i++) {
		int in = html_stats_inside(&h[i], argv[0]);
		if (in >= 0 && compare(in, argv[1]))
			return 1;
	}
	return 0;
}

/* html_tag_exists - the tag occurs in some part */
static unsigned tag_exists(const struct eval_env *env, size_t argc, const char *const *argv)
{
	size_t n;
	const struct html_stats *h = msg_html_stats(env->m, &n);

	(void)argc;
	for (size_t i = 0; i < n; i++)
		if (html_stats_inside(&h[i], argv[0]) >= 0)
			return 1;
	return 0;
}

/* html_image_only - a part with an <img> whose length is in (min, max] */
static unsigned image_only(const struct eval_env *env, size_t argc, const char *const *argv)
{
	size_t n;
	const struct html_stats *h = msg_html_stats(env->m, &n);
	double min = num(argv[0]), max = num(argv[1]);

	(void)argc;
	for (size_t i = 0; i < n; i++)
		if (html_stats_inside(&h[i], "img") >= 0 && h[i].length > min && h[i].length <= max)
			return 1;
	return 0;
}

/* html_image_ratio - visible characters per pixel of image in (min, max] */
static unsigned image_ratio(const struct eval_env *env, size_t argc, const char *const *argv)
{
	size_t n;
	const struct html_stats *h = msg_html_stats(env->m, &n);
	double min = num(argv[0]), max = num(argv[1]);

	(void)argc;
	for (size_t i = 0; i < n; i++) {
		if (h[i].image_area <= 0)
			continue;
		double r = h[i].non_space_len / h[i].image_area;
		if (r > min && r <= max)
			return 1;
	}
	return 0;
}

/* html_text_match - a kept string (comment, title, anchor) matches the
 * regex in some part */
static unsigned text_match(const struct eval_env *env, size_t argc, const char *const *argv)
{
	size_t n;
	const struct html_stats *h = msg_html_stats(env->m, &n);
	unsigned hit = 0;

	(void)argc;
	for (size_t i = 0; i < n && !hit; i++) {
		const struct html_strs *l = html_stats_strings(&h[i], argv[0]);
		for (size_t j = 0; l && j < l->n && !hit; j++)
			hit = eval_re_fixed(argv[1], "", l->v[j], strlen(l->v[j]), NULL, NULL);
	}
	return hit;
}

/* chars - code points of UTF-8 text */
static size_t chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* html_title_subject_ratio - a title longer than ratio times Subject */
static unsigned title_ratio(const struct eval_env *env, size_t argc, const char *const *argv)
{
	size_t n;
	const struct html_stats *h = msg_html_stats(env->m, &n);
	const struct header *subj = msg_header(env->m, "Subject", 0);
	double ratio = num(argv[0]);

	(void)argc;
	if (subj == NULL || subj->decoded[0] == '\0')
		return 0;
	double sl = (double)chars(subj->decoded);
	for (size_t i = 0; i < n; i++) {
		double max = 0;
		for (size_t j = 0; j < h[i].title.n; j++) {
			const char *t = h[i].title.v[j];
			if (*t && strcmp(t, "0") != 0 && chars(t) / sl > max)
				max = chars(t) / sl;
		}
		if (max > ratio)
			return 1;
	}
	return 0;
}

/* ct_html - the message's Content-Type starts with text/html */
static bool ct_html(const struct eval_env *env)
{
	return msg_mime_stats(env->m)->ctype_html;
}

/* check_for_mime_html - an HTML part */
static unsigned mime_html(const struct eval_env *env, size_t argc, const char *const *argv)
{
	(void)argc;
	(void)argv;
	return ct_html(env) || msg_mime_stats(env->m)->html_count > 0;
}

/* check_for_mime_html_only - HTML parts and no other text */
static unsigned mime_html_only(const struct eval_env *env, size_t argc, const char *const *argv)
{
	const struct mime_stats *s = msg_mime_stats(env->m);

	(void)argc;
	(void)argv;
	return ct_html(env) || (s->html_count > 0 && s->text_count == 0);
}

/* check_mime_multipart_ratio - text/plain over text/html bytes of the
 * alternatives in [min, max) */
static unsigned multipart_ratio(const struct eval_env *env, size_t argc, const char *const *argv)
{
	double r = msg_mime_stats(env->m)->multipart_ratio;

	(void)argc;
	return r >= num(argv[0]) && r < num(argv[1]);
}

/* multipart_alternative_difference - share of HTML words the text
 * alternative lacks in (min, max]; min 0: no lower bound, max "undef":
 * no upper one */
static unsigned madiff(const struct eval_env *env, size_t argc, const char *const *argv)
{
	double d = msg_mime_madiff(env->m)->madiff, min = num(argv[0]);

	(void)argc;
	return (min == 0 || d > min) && (strcmp(argv[1], "undef") == 0 || d <= num(argv[1]));
}

/* multipart_alternative_difference_count - more than minhtml HTML words
 * and text words / HTML words above ratio */
static unsigned madiff_count(const struct eval_env *env, size_t argc, const char *const *argv)
{
	const struct mime_stats *s = msg_mime_madiff(env->m);

	(void)argc;
	if (!(s->madiff_html > num(argv[1])))
		return 0;
	return (double)s->madiff_text / s->madiff_html > num(argv[0]);
}

/* check_base64_length - the longest base64 line in [min, max] */
static unsigned base64_length(const struct eval_env *env, size_t argc, const char *const *argv)
{
	double len = (double)msg_mime_stats(env->m)->base64_max_line;

	if (argc > 1 && len > num(argv[1]))
		return 0;
	return len >= num(argv[0]);
}

/* check_for_ascii_text_illegal - 8-bit, NUL or CR in us-ascii text */
static unsigned ascii_illegal(const struct eval_env *env, size_t argc, const char *const *argv)
{
	(void)argc;
	(void)argv;
	return msg_mime_stats(env->m)->ascii_text_illegal > 0;
}

/* check_for_mime(NAME) - one of MIMEEval's counters or flags is set;
 * a name SpamAssassin does not set (mime_faraway_charset needs
 * ok_locales, whose default "all" never sets it) reads 0, as there */
static unsigned check_mime(const struct eval_env *env, size_t argc, const char *const *argv)
{
	const struct mime_stats *s = msg_mime_stats(env->m);
	const char *n = argv[0];

	(void)argc;
	if (strcmp(n, "mime_base64_count") == 0)
		return s->base64_count > 0;
	if (strcmp(n, "mime_qp_count") == 0)
		return (s->qp_bytes ? s->qp_needless : s->qp_count) > 0;
	if (strcmp(n, "mime_attachment") == 0)
		return s->attachment > 0;
	if (strcmp(n, "mime_base64_encoded_text") == 0)
		return s->base64_encoded_text;
	if (strcmp(n, "mime_bad_iso_charset") == 0)
		return s->bad_iso_charset;
	if (strcmp(n, "mime_qp_long_line") == 0)
		return s->qp_long_line;
	if (strcmp(n, "mimepart_limit_exceeded") == 0)
		return env->m->broken && strcmp(env->m->broken, "more than 500 MIME parts") == 0;
	return 0;
}

/* check_msg_parse_flags(FLAG) - Message.pm's parse flags: the MIME ones
 * from the body (mime_stats_flags); the message's own header and its
 * separator come from the MTA, which hands both over apart, so
 * truncated_header and missing_head_body_separator never hit here */
static unsigned parse_flags(const struct eval_env *env, size_t argc, const char *const *argv)
{
	const struct mime_stats *s = msg_mime_stats(env->m);

	(void)argc;
	if (strcmp(argv[0], "missing_mime_headers") == 0)
		return s->missing_mime_headers;
	if (strcmp(argv[0], "mime_epilogue_exists") == 0)
		return s->epilogue_exists;
	return 0;
}

/*
 * ImageInfo's evals over the image leaves (mime_stats_image): TYPE is
 * gif, png, jpeg or all (any other names none: 0, as SpamAssassin's
 * missing key).  Its result_check: value >= min, and <= max when given.
 */
static int image_type(const char *t)
{
	static const char *const names[MIME_IMG_TYPES] = { "gif", "png", "jpeg" };

	for (int i = 0; i < MIME_IMG_TYPES; i++)
		if (strcmp(t, names[i]) == 0)
			return i;
	return strcmp(t, "all") == 0 ? MIME_IMG_TYPES : -1;
}

/* image_total - the leaves' count or pixels (pixels) of type name in
 * [MIN, MAX] (argv[1], argv[2] when given); 0 for an unknown type */
static unsigned image_total(const struct eval_env *env, size_t argc, const char *const *argv,
			    bool pixels)
{
	const struct mime_stats *s = msg_mime_stats(env->m);
	int t = image_type(argv[0]);
	double n = 0;

	if (t < 0)
		return 0;
	for (int i = 0; i < MIME_IMG_TYPES; i++)
		if (t == MIME_IMG_TYPES || t == i)
			n += pixels ? s->img_pixels[i] : s->img_count[i];
	return n >= num(argv[1]) && (argc < 3 || n <= num(argv[2]));
}

/* image_count(TYPE, MIN[, MAX]) - how many such leaves */
static unsigned image_count(const struct eval_env *env, size_t argc, const char *const *argv)
{
	return image_total(env, argc, argv, false);
}

/* pixel_coverage(TYPE, MIN[, MAX]) - their pixels, summed */
static unsigned pixel_coverage(const struct eval_env *env, size_t argc, const char *const *argv)
{
	return image_total(env, argc, argv, true);
}

/* image_size_exact(TYPE, HEIGHT, WIDTH) - one of them is that size (the
 * numbers compared as the strings "HxW", as its hash keys are) */
static unsigned size_exact(const struct eval_env *env, size_t argc, const char *const *argv)
{
	const struct mime_stats *s = msg_mime_stats(env->m);
	int t = image_type(argv[0]);
	char want[64], have[32];

	(void)argc;
	if (t < 0 || snprintf(want, sizeof(want), "%sx%s", argv[1], argv[2]) >= (int)sizeof(want))
		return 0;
	for (size_t i = 0; i < s->img_nsizes; i++) {
		const struct mime_img_size *z = &s->img_size[i];
		snprintf(have, sizeof(have), "%" PRIu32 "x%" PRIu32, z->height, z->width);
		if ((t == MIME_IMG_TYPES || z->type == t) && strcmp(want, have) == 0)
			return 1;
	}
	return 0;
}

/* image_size_range(TYPE, MINH, MINW[, MAXH[, MAXW]]) - one of them in
 * that range */
static unsigned size_range(const struct eval_env *env, size_t argc, const char *const *argv)
{
	const struct mime_stats *s = msg_mime_stats(env->m);
	int t = image_type(argv[0]);

	if (t < 0)
		return 0;
	for (size_t i = 0; i < s->img_nsizes; i++) {
		const struct mime_img_size *z = &s->img_size[i];
		if ((t != MIME_IMG_TYPES && z->type != t) || z->height < num(argv[1]) ||
		    z->width < num(argv[2]) || (argc > 3 && z->height > num(argv[3])) ||
		    (argc > 4 && z->width > num(argv[4])))
			continue;
		return 1;
	}
	return 0;
}

/* eval_reads_stats - see eval.h: the evals above that call
 * msg_html_stats or msg_mime_madiff */
bool eval_reads_stats(const struct eval_def *d)
{
	static const eval_fn readers[] = { html_test, html_range, html_eval, tag_balance,
		tag_exists, image_only, image_ratio, text_match, title_ratio, madiff, madiff_count };

	for (size_t i = 0; i < sizeof(readers) / sizeof(readers[0]); i++)
		if (d->fn == readers[i])
			return true;
	/* eval_freemail.c: the mailto: links of <a> tags */
	return strcmp(d->name, "check_freemail_replyto") == 0;
}

const struct eval_def eval_html_defs[] = {
	{ "check_for_mime", EVAL_BODY | EVAL_RAWBODY, 1, 1, check_mime },
	{ "image_count", EVAL_BODY, 2, 3, image_count },
	{ "pixel_coverage", EVAL_BODY, 2, 3, pixel_coverage },
	{ "image_size_exact", EVAL_BODY, 3, 3, size_exact },
	{ "image_size_range", EVAL_BODY, 3, 5, size_range },
	{ "check_msg_parse_flags", EVAL_ANY, 1, 1, parse_flags },
	{ "html_test", EVAL_BODY, 1, 1, html_test },
	{ "html_range", EVAL_BODY, 2, 3, html_range },
	{ "html_eval", EVAL_BODY, 2, 2, html_eval },
	{ "html_tag_balance", EVAL_BODY, 2, 2, tag_balance },
	{ "html_tag_exists", EVAL_BODY, 1, 1, tag_exists },
	{ "html_image_only", EVAL_BODY, 2, 2, image_only },
	{ "html_image_ratio", EVAL_BODY, 2, 2, image_ratio },
	{ "html_text_match", EVAL_BODY, 2, 2, text_match },
	{ "html_title_subject_ratio", EVAL_BODY, 1, 1, title_ratio },
	{ "check_for_mime_html", EVAL_BODY | EVAL_RAWBODY, 0, 0, mime_html },
	{ "check_for_mime_html_only", EVAL_BODY | EVAL_RAWBODY, 0, 0, mime_html_only },
	{ "check_mime_multipart_ratio", EVAL_BODY | EVAL_RAWBODY, 2, 2, multipart_ratio },
	{ "multipart_alternative_difference", EVAL_BODY | EVAL_RAWBODY, 2, 2, madiff },
	{ "multipart_alternative_difference_count", EVAL_BODY | EVAL_RAWBODY, 2, 2, madiff_count },
	{ "check_base64_length", EVAL_BODY | EVAL_RAWBODY, 1, 2, base64_length },
	{ "check_for_ascii_text_illegal", EVAL_BODY | EVAL_RAWBODY, 0, 0, ascii_illegal },
	{ NULL, 0, 0, 0, NULL },
};
