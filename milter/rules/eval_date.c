/*
 * eval_date.c - SpamAssassin's HeaderEval tests that compare dates
 * (Plugin/HeaderEval.pm): check_for_shifted_date (DATE_IN_PAST_*,
 * DATE_IN_FUTURE_*) and check_outlook_message_id (MSGID_OUTLOOK_INVALID).
 * Dates are read by mail/date.c exactly as SpamAssassin reads them; the
 * Received lines are unfolded as its header() does (eval_get) because
 * its date pattern has literal spaces.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules/eval.h"
#include "mail/date.h"
#include "mail/message.h"
#include "base/util.h"

/* SpamAssassin's pattern for the date of a Received line */
/* Received lines read for their dates */
#define RCVD_MAX_LINES 100

#define RCVD_DATE_RE "\\s.?\\d+ \\S\\S\\S \\d+ \\d+:\\d+:\\d+ \\S+"

/* date_header_time - the first Resent-Date that parses, else the first
 * Date; false if none does */
static bool date_header_time(const struct msg *m, long long *t)
{
	static const char *const names[] = { "Resent-Date", "Date" };

	for (size_t k = 0; k < 2; k++)
		for (size_t i = 0; i < msg_header_count(m, names[k]); i++) {
			const char *v = msg_header(m, names[k], i)->value;
			if (*v && date_parse(v, strlen(v), t))
				return true;
		}
	return false;
}

/* rcvd_match - does line match pattern (SpamAssassin's fetchmail tests) */
static bool rcvd_match(const char *line, const char *pattern)
{
	return eval_re_fixed(pattern, "", line, strlen(line), NULL, NULL);
}

/* received_times - the dates of the Received lines, top first, with
 * SpamAssassin's handling of a local fetchmail hop: a first line from
 * localhost (or qmail's "invoked by uid") followed by fetchmail's own
 * line is left out with it.  At most max; returns the count. */
static size_t received_times(const struct msg *m, long long *times, size_t max)
{
	struct buf all;
	char *lines[RCVD_MAX_LINES];
	size_t n = 0, k = 0;

	buf_init(&all);
	eval_get(m, "Received", &all);
	char *save = NULL;
	for (char *l = all.data ? strtok_r(all.data, "\n", &save) : NULL; l && n < RCVD_MAX_LINES;
	     l = strtok_r(NULL, "\n", &save)) {
		const char *p = l;
		while (*p && isspace((unsigned char)*p))
			p++;
		if (*p)
			lines[n++] = l;
	}
	size_t first = 0;
	if (n && (rcvd_match(lines[0], "\\bfrom (?:localhost\\s|(?:\\S+ ){1,2}\\S*\\b127\\.0\\.0\\.1\\b)") ||
		  rcvd_match(lines[0], "qmail \\d+ invoked by uid \\d+")) &&
	    n > 1 && rcvd_match(lines[1], "\\bby localhost with \\w+ \\(fetchmail-[\\d.]+"))
		first = 2;
	for (size_t i = first; i < n && k < max; i++) {
		size_t a, b;
		if (eval_re_fixed(RCVD_DATE_RE, "", lines[i], strlen(lines[i]), &a, &b) &&
		    date_parse(lines[i] + a, b - a, &times[k]))
			k++;
	}
	buf_free(&all);
	return k;
}

/* date_diff - SpamAssassin's date_diff: the Date time minus the closest
 * Received time (the oldest left out when it differs by 0); 0 when either
 * is missing */
static long long date_diff(const struct msg *m)
{
	long long date, times[RCVD_MAX_LINES];
	size_t n;

	if (!date_header_time(m, &date) || (n = received_times(m, times, RCVD_MAX_LINES)) == 0)
		return 0;
	if (n > 1 && date - times[n - 1] == 0)
		n--;
	long long best = date - times[0];
	for (size_t i = 1; i < n; i++) {
		long long d = date - times[i];
		if (llabs(d) < llabs(best))
			best = d;
	}
	return best;
}

/* check_for_shifted_date(min, max) - the Date is min..max hours after the
 * Received time ('undef' for no bound) */
static unsigned shifted_date(const struct eval_env *env, size_t argc, const char *const *argv)
{
	struct eval_cache *c = env->cache;
	(void)argc;
	if (c && !c->date_diff_set) {	/* a dozen rules ask the same message */
		c->date_diff = date_diff(env->m);
		c->date_diff_set = true;
	}
	double d = (double)(c ? c->date_diff : date_diff(env->m));
	bool lo = strcmp(argv[0], "undef") == 0 || d >= 3600.0 * eval_num(argv[0]);
	bool hi = strcmp(argv[1], "undef") == 0 || d < 3600.0 * eval_num(argv[1]);
	return lo && hi;
}

/* outlook_expected - the Message-Id time token Outlook Express would
 * write for the date in text (0 when there is none) */
static long long outlook_expected(const char *text)
{
	long long t = 0;

	if (!date_parse(text, strlen(text), &t))
		t = 0;
	return (long long)((double)t * 0.0023283064365387 + 27111902.8329849);
}

/* check_outlook_message_id - an Outlook Express style Message-Id whose
 * time token is 250 or more away from both the Date and the Received
 * text's first date */
static unsigned outlook_msgid(const struct eval_env *env, size_t argc, const char *const *argv)
{
	static const char *const ids[] = { "X-Message-Id", "Resent-Message-Id",
		"X-Original-Message-ID", "Message-Id" };
	const struct header *h = NULL;
	struct buf b;
	unsigned hit = 0;

	(void)argc;
	(void)argv;
	for (size_t k = 0; k < 4 && h == NULL; k++)
		h = msg_header(env->m, ids[k], 0);
	if (h == NULL)
		return 0;
	const char *id = h->value;
	static const char shape[] = "<hhhhhhhhhhhh$hhhhhhhh$hhhhhhhh@";
	for (size_t i = 0; shape[i]; i++) {
		bool ok = shape[i] == 'h' ? (isdigit((unsigned char)id[i]) ||
					      (id[i] >= 'a' && id[i] <= 'f')) : id[i] == shape[i];
		if (!ok)
			return 0;
	}
	char tok[9];
	memcpy(tok, id + 5, 8);
	tok[8] = '\0';
	long long token = strtoll(tok, NULL, 16);
	buf_init(&b);
	eval_get(env->m, "Date", &b);
	if (llabs(token - outlook_expected(b.data ? b.data : "")) >= 250) {
		buf_reset(&b);
		eval_get(env->m, "Received", &b);
		hit = llabs(token - outlook_expected(b.data ? b.data : "")) >= 250;
	}
	buf_free(&b);
	return hit;
}

const struct eval_def eval_date_defs[] = {
	{ "check_for_shifted_date", EVAL_HEADER, 2, 2, shifted_date },
	{ "check_outlook_message_id", EVAL_HEADER, 0, 0, outlook_msgid },
	{ NULL, 0, 0, 0, NULL },
};
