/*
 * test_complexity.c - every parser and stage is linear in its input, or
 * capped (issue 12: one URI followed by 80,000 ')' took 3.3 s).
 *
 * Each case builds an adversarial message at size n and 4n and scans it
 * through the pipeline `parapetctl scan --no-dns` runs (the shipped rule
 * files plus rules that ask for every view: From:addr/:name, ToCc:addr,
 * ALL, rawbody, full, uri), then through the address parsers of the
 * stages --no-dns leaves out (auth_from_domain for DMARC, rep_keys_of for
 * reputation).  A few cases call one parser directly where the pipeline
 * caps its input first, so the parser's own cost is seen at sizes the
 * pipeline would cut, and one runs what `parapetctl learn` parses
 * (rep_learn_keys: the Received field's address).  The DKIM stage needs DNS for its key: its case
 * runs the whole pipeline with DKIM and DMARC on and the resolver pointed
 * at a closed loopback port, so every lookup fails; the wait for that is
 * wall time, and only this thread's CPU time is counted, so what is
 * measured is the tag-list parsing (ours and libopendkim's) and the
 * stage itself.
 *
 * Measure, the exact one: instructions, counted by callgrind.  Under
 * valgrind (tests/complexity.sh runs this program so, in the plain
 * build, with CPLX_CG_OUT naming callgrind's output), each sample is one
 * scan between CALLGRIND_ZERO_STATS and CALLGRIND_DUMP_STATS, its count
 * read back from the dump; the growth is (i(4n) - i(0)) / (i(n) - i(0)),
 * the second term at least FLOOR of i(0) (when a cap cuts the text, n
 * costs next to nothing).  Linear code gives 4, n log n a little more, a
 * quadratic path 16; LIMIT is 6.  Load, caches and timers do not move a
 * count, so one sample of each decides.
 *
 * Run natively (every build, ASan and UBSan included: the adversarial
 * messages are their inputs too), the measure is CPU time of this thread
 * (CLOCK_THREAD_CPUTIME_ID), and time is not instructions: the message at
 * 4n leaves the CPU caches, and the same linear code took 6.8x the time
 * for 4x the input under ASan, at the least of 8 rounds, in a CI run (a
 * folded Content-Type whose instructions callgrind counts 4.4x), and
 * 6.5x in a plain build.  So the time check only catches what is far past
 * linear: TIME_LIMIT 12 (a quadratic path shows 16).  A sample is K
 * scans, K chosen so that what the repeated text costs at n is at least
 * MIN_SAMPLE_MS; rounds of three samples (the message without the repeated
 * text, n, 4n) keep the least of each; the first round within the limit
 * passes; ROUNDS rounds over it, or one 4n sample slower than
 * HOPELESS_MS, fail.
 */
#include "autoconfig.h"

#include <malloc.h>
#include <time.h>
#include <unistd.h>

#include <valgrind/callgrind.h>

#include "mail/auth.h"
#include "stages/rep/rep.h"
#include "unit.h"

/* a sanitized build spreads every allocation out (redzones, shadow), so
 * lists of small nodes (GMime's words of a header value) leave the CPU
 * caches at a quarter of the size: sizes are divided by SIZE_DIV there
 * (a quadratic path still shows 16x) */
#if defined(__SANITIZE_ADDRESS__)
#define SIZE_DIV 4
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SIZE_DIV 4
#endif
#endif
#ifndef SIZE_DIV
#define SIZE_DIV 1
#endif

#define LIMIT 6.0		/* instructions, 4n against n */
#define TIME_LIMIT 12.0	/* CPU time, 4n against n */
#define ROUNDS 8
#define MIN_SAMPLE_MS 10.0
#define EST_MS 20.0		/* scans this long estimate one scan's time */
#define FLOOR 0.1		/* of the fixed cost: below it, growth is noise */
#define MAX_K 400
#define MAX_K_DNS 20
#define HOPELESS_MS 400.0	/* a 4n sample this slow and past LIMIT: stop */

enum mode {
	M_SCAN,		/* the --no-dns pipeline + the skipped stages' address parsers */
	M_DKIM,		/* the pipeline with DKIM and DMARC, DNS refused */
	M_FROM,		/* auth_from_parse on the text */
	M_TAG,		/* auth_tag on the text */
	M_LEARN,	/* rep_learn_keys (parapetctl learn) on the message */
};

/*
 * A message is prefix, unit repeated n times, unit2 repeated n times,
 * suffix; "{i}" in a unit is the repetition's index, "{j}" the index + 1.
 */
struct cplx_case {
	const char *name;
	enum mode mode;
	const char *prefix, *unit, *unit2, *suffix;
	size_t n;
};

#define HDRS_NOFROM                                                                     \
	"To: c@d.test\nSubject: test\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n"         \
	"Message-ID: <1@b.test>\nMIME-Version: 1.0\n"
#define HDRS "From: a@b.test\n" HDRS_NOFROM
#define TEXT HDRS "Content-Type: text/plain\n\n"
#define HTML HDRS "Content-Type: text/html\n\n"
#define MULTI HDRS "Content-Type: multipart/mixed; boundary=\"b\"\n\n"
#define RFC822 MULTI "--b\nContent-Type: message/rfc822\n\n"
#define DKIM_SIG                                                                        \
	"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=b.test; s=sel;\n"     \
	" h=from:to:subject; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\n"       \
	" b=dGVzdA==; "
/* DKIM_MAX_SIG_TAGS + 1 tags: a signature the stage leaves out at every
 * size, the message without the repeated text included (with 64 or fewer,
 * its key lookup would be in that message's cost and not in the others') */
#define DKIM_65_TAGS	\
	"k0=;k1=;k2=;k3=;k4=;k5=;k6=;k7=;k8=;k9=;k10=;k11=;k12=;k13=;k14=;k15=;"	\
	"k16=;k17=;k18=;k19=;k20=;k21=;k22=;k23=;k24=;k25=;k26=;k27=;k28=;k29=;"	\
	"k30=;k31=;k32=;k33=;k34=;k35=;k36=;k37=;k38=;k39=;k40=;k41=;k42=;k43=;"	\
	"k44=;k45=;k46=;k47=;k48=;k49=;k50=;k51=;k52=;k53=;k54=;k55=;k56=;k57=;"	\
	"k58=;k59=;k60=;k61=;k62=;k63=;k64=;"

static const struct cplx_case cases[] = {
	/* URIs in text (uri.c): the trimming of trailing punctuation */
	{ "uri + ')'", M_SCAN, TEXT "see http://a", ")", "", "\n", 10000 },
	{ "uri + ']'", M_SCAN, TEXT "see http://a", "]", "", "\n", 10000 },
	{ "uri + '.)'", M_SCAN, TEXT "see http://a", ".)", "", "\n", 5000 },
	{ "uri + '(' then ')'", M_SCAN, TEXT "see http://a/", "(", ")", "\n", 5000 },
	{ "www uri + ')'", M_SCAN, TEXT "see www.a.test/", ")", "", "\n", 10000 },
	{ "html text uri + ')'", M_SCAN, HTML "<p>see http://a", ")", "", "</p>\n", 10000 },
	{ "html href + ')'", M_SCAN, HTML "<a href=\"http://a", ")", "", "\">x</a>\n", 50000 },
	{ "uris, under the cap", M_SCAN, TEXT, "http://h{i}.test/ ", "", "\n", 250 },
	{ "uris, past the cap", M_SCAN, TEXT, "http://h{i}.test/ ", "", "\n", 2500 },
	{ "one uri repeated", M_SCAN, TEXT, "http://h.test/ ", "", "\n", 4000 },
	{ "www. without a dot", M_SCAN, TEXT, " www.a", "", "\n", 8000 },
	{ "scheme run", M_SCAN, TEXT, "http://", "", "\n", 8000 },
	/* long tokens and lines (body rules, text views) */
	{ "long token", M_SCAN, TEXT, "a", "", "\n", 50000 },
	{ "long digit run", M_SCAN, TEXT, "1", "", "\n", 50000 },
	{ "long line of words", M_SCAN, TEXT, "click ", "", "\n", 10000 },
	{ "long run of spaces", M_SCAN, TEXT "a", " ", "", "a\n", 50000 },
	{ "many short lines", M_SCAN, TEXT, "x\n", "", "", 25000 },
	/* addresses: rules.c :addr/:name, auth.c, rep.c, GMime's parser */
	{ "From: nested comments", M_SCAN, "From: ", "(", ")", " a@b.test\n" HDRS_NOFROM "\nx\n",
	  7000 },
	{ "From: escaped quotes", M_SCAN, "From: \"", "\\\"", "", "\" <a@b.test>\n" HDRS_NOFROM "\nx\n",
	  7000 },
	{ "From: angle brackets", M_SCAN, "From: ", "<", ">", "a@b.test\n" HDRS_NOFROM "\nx\n",
	  7000 },
	{ "From: groups", M_SCAN, "From: ", "g:", "", "a@b.test\n" HDRS_NOFROM "\nx\n", 7000 },
	{ "From: many mailboxes", M_SCAN, "From: ", "a{i}@b.test, ", "", "\n" HDRS_NOFROM "\nx\n",
	  1000 },
	{ "To: many addresses", M_SCAN, "From: a@b.test\nTo: ", "\"u{i}\" <u{i}@d.test>, ", "",
	  "\nSubject: x\n\nx\n", 600 },
	{ "From in an attached message", M_SCAN, RFC822 "From: ", "(", ")",
	  " a@b.test\nSubject: y\n\nz\n--b--\n", 20000 },
	{ "From: groups in an attached message", M_SCAN, RFC822 "From: ", "g:", "",
	  "a@b.test\nSubject: y\n\nz\n--b--\n", 7000 },
	{ "To: groups in an attached message", M_SCAN, RFC822 "From: a@b.test\nTo: ", "g:", "",
	  "a@b.test\nSubject: y\n\nz\n--b--\n", 7000 },
	{ "auth_from_parse: comments", M_FROM, "", "(", ")", " a@b.test", 20000 },
	{ "auth_from_parse: quotes", M_FROM, "\"", "\\\"", "", "\" <a@b.test>", 20000 },
	{ "auth_from_parse: mailboxes", M_FROM, "", "a@b.test, ", "", "", 5000 },
	{ "Received: '[' (learn)", M_LEARN, "Received: from x ", "[", "", "\n" HDRS "\nx\n", 10000 },
	/* header fields */
	{ "many header fields", M_SCAN, HDRS, "X-H{i}: v\n", "", "\nx\n", 250 },
	{ "many Received fields", M_SCAN, HDRS, "Received: from a{i} by b\n", "", "\nx\n", 250 },
	{ "one long field", M_SCAN, HDRS "X-Long:", " a", "", "\n\nx\n", 7000 },
	{ "one folded field", M_SCAN, HDRS "X-Long: a\n", " b\n", "", "\nx\n", 5000 },
	{ "encoded words", M_SCAN, "Subject:", " =?utf-8?q?a?=", "", "\n" HDRS "\nx\n", 1000 },
	{ "Content-Type parameters", M_SCAN, HDRS "Content-Type: text/plain", "; p{i}=v", "",
	  "\n\nx\n", 1000 },
	/* MIME structure */
	{ "MIME parts, under the cap", M_SCAN, MULTI,
	  "--b\nContent-Type: text/plain\n\nhttp://x{i}.test/ part\n", "", "--b--\n", 100 },
	{ "MIME parts, past the cap", M_SCAN, MULTI,
	  "--b\nContent-Type: text/plain\n\nhttp://x{i}.test/ part\n", "", "--b--\n", 1000 },
	{ "nested multiparts", M_SCAN, HDRS "Content-Type: multipart/mixed; boundary=\"b0\"\n\n",
	  "--b{i}\nContent-Type: multipart/mixed; boundary=\"b{j}\"\n\n", "", "x\n", 1000 },
	{ "part Content-Type parameters", M_SCAN, MULTI "--b\nContent-Type: text/plain", "; p{i}=v",
	  "", "\n\nx\n--b--\n", 2000 },
	{ "part Content-Disposition parameters", M_SCAN,
	  MULTI "--b\nContent-Type: text/plain\nContent-Disposition: attachment", "; p{i}=v", "",
	  "\n\nx\n--b--\n", 2000 },
	/* GMime nests 1024 levels at most (walked: MIME_MAX_DEPTH); below
	 * that a level costs a little more the deeper it is */
	{ "attached messages nested past 1024", M_SCAN, HDRS "Content-Type: message/rfc822\n\n",
	  "Subject: s{i}\nContent-Type: message/rfc822\n\n", "", "x\n", 4400 },
	{ "part header fields", M_SCAN, MULTI "--b\n", "X-H{i}: v\n", "", "\nx\n--b--\n", 1500 },
	/* a binary part's content is left out of GMime's input
	 * (mime_skip.c): its pre-scan, and its header read for that */
	{ "binary part lines, left out", M_SCAN,
	  MULTI "--b\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n",
	  "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\n", "",
	  "--b--\n", 800 },
	{ "binary part Content-Type, folded", M_SCAN, MULTI "--b\nContent-Type: application/pdf\n",
	  " x{i}\n", "", "Content-Transfer-Encoding: base64\n\nQUFB\n--b--\n", 2000 },
	{ "base64 lines", M_SCAN, HDRS "Content-Transfer-Encoding: base64\n\n",
	  "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\n", "", "",
	  800 },
	/* HTML (html.c) */
	{ "html attributes", M_SCAN, HTML "<a ", "x=\"1\" ", "", ">t</a>\n", 8000 },
	{ "html href attributes", M_SCAN, HTML "<a ", "href=\"http://a{i}.test/\" ", "", ">t</a>\n",
	  2000 },
	{ "html style attributes", M_SCAN, HTML "<p ", "style=\"color:red\" ", "", ">t</p>\n",
	  3000 },
	{ "html open tags", M_SCAN, HTML, "<div>", "", "\n", 10000 },
	{ "html end tags, deep stack", M_SCAN, HTML, "<b>", "</i>", "\n", 8000 },
	{ "html '<'", M_SCAN, HTML, "<", "", "\n", 40000 },
	{ "html unclosed scripts", M_SCAN, HTML, "<script>", "", "\n", 8000 },
	{ "html unclosed comments", M_SCAN, HTML, "<!--", "", "\n", 8000 },
	{ "html entities", M_SCAN, HTML, "&amp", "", "\n", 15000 },
	{ "html numeric reference", M_SCAN, HTML "&#", "1", "", "\n", 50000 },
	/* DKIM tag lists: the stage (4n stays under the 8 KB field cap;
	 * libopendkim made 4x the tags cost 12x, now every size is over
	 * DKIM_MAX_SIG_TAGS) and our tag parser on its own */
	{ "DKIM-Signature tags (stage)", M_DKIM, DKIM_SIG DKIM_65_TAGS, "x{i}=;", "", "\n" HDRS "\nx\n",
	  250 },
	{ "auth_tag: tag list", M_TAG, "", "x{i}=y; ", "", "zz=1", 5000 },
};

static struct engine *engine;

/*
 * __asan_default_options - no quarantine in a sanitized build of this
 * program.  ASan keeps freed memory out of use until 256 MB have been
 * freed after it, so every scan touches fresh pages and the kernel's page
 * faults, not the code, make a 4x bigger message cost 7x (measured: a
 * folded field of 20,000 lines).  This program only measures time; the
 * other tests keep the quarantine.  Unused without ASan.
 */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "quarantine_size_mb=0";
}

/* read_file - a whole text file, or fail the test */
static char *read_file(const char *path)
{
	size_t len;
	char *data = mboxfile_read(path, &len);

	ck_assert_msg(data != NULL, "cannot read %s", path);
	return data;
}

/* setup - the shipped rules and rules that build every view */
static void setup(void)
{
	const char *src = getenv("PARAPET_SRCDIR");
	char *path, *builtin, *deflt, *rules;

	if (src == NULL)
		src = "..";
	path = xasprintf("%s/rules/00-builtin.cf", src);
	builtin = read_file(path);
	free(path);
	path = xasprintf("%s/rules/50-default.cf", src);
	deflt = read_file(path);
	free(path);
	rules = xasprintf("%s\n%s\n"
			  "header T_FROM_ADDR From:addr =~ /\\@example\\.invalid$/\n"
			  "header T_FROM_NAME From:name =~ /^zz$/\n"
			  "header T_TOCC_ADDR ToCc:addr =~ /\\@example\\.invalid/\n"
			  "header T_ALL ALL =~ /^X-Nothing:/m\n"
			  "rawbody T_RAW /<zz-never>/\n"
			  "full T_FULL /^X-Nothing:/m\n"
			  "uri T_URI /example\\.invalid/\n"
			  "score T_FROM_ADDR 0.1\nscore T_FROM_NAME 0.1\nscore T_TOCC_ADDR 0.1\n"
			  "score T_ALL 0.1\nscore T_RAW 0.1\nscore T_FULL 0.1\nscore T_URI 0.1\n",
			  builtin, deflt);
	/* port 9 (discard) on loopback: nothing listens, every query is
	 * refused (ICMP port unreachable); libunbound may retry, so
	 * dns_timeout_ms bounds the wait */
	engine = unit_engine("authserv_id = mx.test\n"
			     "dns_nameservers = 127.0.0.1:9\ndns_timeout_ms = 10\n", rules);
	free(builtin);
	free(deflt);
	free(rules);
}

/* teardown - drop the engine */
static void teardown(void)
{
	engine = engine_unref(engine);
}

/* put_unit - one repetition with {i} and {j} replaced */
static void put_unit(struct buf *b, const char *unit, size_t i)
{
	for (const char *p = unit; *p; p++) {
		if (p[0] == '{' && (p[1] == 'i' || p[1] == 'j') && p[2] == '}') {
			buf_printf(b, "%zu", p[1] == 'i' ? i : i + 1);
			p += 2;
		} else {
			buf_putc(b, *p);
		}
	}
}

/* build - the case's text with n repetitions */
static void build(const struct cplx_case *c, size_t n, struct buf *b)
{
	buf_reset(b);
	buf_puts(b, c->prefix);
	for (size_t i = 0; i < n; i++)
		put_unit(b, c->unit, i);
	for (size_t i = 0; i < n; i++)
		put_unit(b, c->unit2, i);
	buf_puts(b, c->suffix);
}

/* scan_once - what one message costs in the chosen mode */
static void scan_once(const struct cplx_case *c, const char *text, size_t len)
{
	struct rep_keys keys;
	char d[AUTH_DOMAIN_SIZE];

	switch (c->mode) {
	case M_FROM:
		auth_from_parse(text, d, sizeof(d));
		return;
	case M_TAG:
		ck_assert(!auth_tag(text, "zz", d, sizeof(d)) || strcmp(d, "1") == 0);
		return;
	case M_LEARN:
		rep_learn_keys(engine, text, len, NULL, &keys);
		rep_keys_clear(&keys);
		return;
	case M_SCAN:
	case M_DKIM:
		break;
	}
	struct scan *sc = scan_new(engine);
	sc->offline = true;
	sc->no_dns = c->mode == M_SCAN;
	/* no client address: the SPF stage has nothing to check */
	msg_set_client(sc->msg, NULL, "client.test", "helo.test");
	msg_set_from(sc->msg, "<a@b.test>");
	msg_add_rcpt(sc->msg, "<c@d.test>");
	mboxfile_feed(sc, text, len);
	scan_finish(sc);
	/* what DMARC and reputation parse, which --no-dns and no Redis skip */
	auth_from_domain(sc->msg, d, sizeof(d));
	rep_keys_of(sc->msg, NULL, 0, &keys);
	rep_keys_clear(&keys);
	scan_free(sc);
}

/* cpu_ms - CPU time of this thread */
static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* sample - CPU ms of k scans of b */
static double sample(const struct cplx_case *c, const struct buf *b, unsigned k)
{
	double t0 = cpu_ms();

	for (unsigned i = 0; i < k; i++)
		scan_once(c, b->data, b->len);
	return cpu_ms() - t0;
}

/* per_scan - CPU ms of one scan of b, from as many scans as EST_MS takes
 * (a single scan's time is mostly timer and cache noise: K chosen from
 * one was a fifth of what MIN_SAMPLE_MS needs, and the growth at n came
 * out below the noise, even negative) */
static double per_scan(const struct cplx_case *c, const struct buf *b)
{
	unsigned k = 0;
	double t0 = cpu_ms(), t;

	do {
		scan_once(c, b->data, b->len);
		k++;
	} while ((t = cpu_ms() - t0) < EST_MS && k < MAX_K);
	return t / k;
}

/* counted - callgrind's output file when this run counts instructions
 * (under valgrind with CPLX_CG_OUT set), else NULL */
static const char *counted(void)
{
	const char *out = getenv("CPLX_CG_OUT");

	return RUNNING_ON_VALGRIND && out != NULL && *out ? out : NULL;
}

/* instructions - what one scan of b executes on this thread, by
 * callgrind's count: with --separate-threads=yes the n-th dump of the
 * process's first thread is "<out>.<n>-01" (check must not fork: the
 * script sets CK_FORK=no, so the tests run on that thread and one process
 * makes every dump).  libunbound's threads are left out: how often they
 * retry the closed port in the DKIM case depends on timing */
static double instructions(const struct cplx_case *c, const struct buf *b)
{
	static unsigned dumps;
	char line[256];
	double count = -1;

	CALLGRIND_ZERO_STATS;
	scan_once(c, b->data, b->len);
	CALLGRIND_DUMP_STATS;
	char *path = xasprintf("%s.%u-01", counted(), ++dumps);
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot read callgrind's dump %s", path);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "summary: %lf", &count) == 1)
			break;
	fclose(f);
	unlink(path);
	ck_assert_msg(count > 0, "no summary line in %s", path);
	free(path);
	return count;
}

/* growth_counted - the case's growth in instructions, one sample each */
static void growth_counted(const struct cplx_case *c, const struct buf *empty,
			   const struct buf *small, const struct buf *big, size_t n)
{
	/* lazy initialisation (the first scan of any message, and of one
	 * without the text: 5 M instructions in the first case) out of the
	 * count */
	instructions(c, empty);
	instructions(c, small);
	double i0 = instructions(c, empty), in = instructions(c, small);
	double ibig = instructions(c, big);
	double d1 = in - i0, dbig = ibig - i0;
	if (d1 < FLOOR * i0)
		d1 = FLOOR * i0;
	double ratio = dbig / d1;

	printf("%-36s n=%-6zu %12.0f %12.0f %12.0f instr  x%.2f\n", c->name, n, i0, in, ibig,
	       ratio);
	fflush(stdout);
	ck_assert_msg(ratio <= LIMIT,
		      "%s: %zu -> %zu units cost %.2fx the instructions (%.0f empty, %.0f, %.0f), "
		      "limit %.0fx",
		      c->name, n, 4 * n, ratio, i0, in, ibig, LIMIT);
}

/* growth_timed - the case's growth in CPU time, the least of rounds */
static void growth_timed(const struct cplx_case *c, const struct buf *empty,
			 const struct buf *small, const struct buf *big, size_t n)
{
	/* K scans per sample, so that the part of a sample at n that the
	 * repeated text costs (at least FLOOR of the fixed cost, see
	 * below) is MIN_SAMPLE_MS */
	sample(c, small, 1);	/* warm up: caches, lazy initialisation */
	double fixed = per_scan(c, empty), one = per_scan(c, small) - fixed;
	if (one < FLOOR * fixed)
		one = FLOOR * fixed;
	/* a scan with DNS waits for libunbound to give up on the closed
	 * port (dns_timeout_ms, wall time, not CPU): fewer of those */
	unsigned max_k = c->mode == M_DKIM ? MAX_K_DNS : MAX_K;
	unsigned k = one > 0 ? (unsigned)(MIN_SAMPLE_MS / one) + 1 : max_k;
	if (k > max_k)
		k = max_k;

	/* rounds of (empty, n, 4n) samples, the least of each kept, so a
	 * busy moment of the machine slows all three; stop at the first
	 * round that passes, or when 4n is hopelessly slow */
	double t0 = 1e300, tn = 1e300, t4n = 1e300, ratio = 0, last = 0;
	int r, resized = 0;
	for (r = 0; r < ROUNDS; r++) {
		double t;
		if ((t = sample(c, empty, k)) < t0)
			t0 = t;
		if ((t = sample(c, small, k)) < tn)
			tn = t;
		if ((last = sample(c, big, k)) < t4n)
			t4n = last;
		/* the cost of the repeated text: 4n against n; when n costs
		 * next to nothing (a cap cut the text) against FLOOR of the
		 * fixed cost, not against timer noise */
		double d1 = tn - t0, d4 = t4n - t0;
		if (d1 < FLOOR * t0)
			d1 = FLOOR * t0;
		ratio = d4 / d1;
		/* K was estimated from a few ms of scans, and the growth at n
		 * is a small difference of two larger times: when it came out
		 * far below MIN_SAMPLE_MS, timer and scheduler noise decide
		 * the ratio, pass or fail (x9.4 seen under ASan with 4 ms of
		 * growth); take more scans per sample and measure again (a
		 * quadratic path still shows 16x with more scans).  When a
		 * cap cut the text at n to next to nothing, d1 is FLOOR of the
		 * fixed cost, which K made about MIN_SAMPLE_MS: K grows by one
		 * and the round is measured once more. */
		if (tn - t0 < MIN_SAMPLE_MS / 2 && k < max_k && resized < 2) {
			double f = MIN_SAMPLE_MS / d1;
			unsigned nk = (unsigned)((double)k * (f > 8 ? 8 : f)) + 1;
			k = nk > max_k ? max_k : nk;
			resized++;
			t0 = tn = t4n = 1e300;
			r--;
			continue;
		}
		if (ratio <= TIME_LIMIT || last > HOPELESS_MS)
			break;
	}
	printf("%-36s n=%-6zu K=%-3u %8.3f %8.3f %8.3f ms  x%.1f (%d rounds)\n", c->name, n, k,
	       t0, tn, t4n, ratio, r < ROUNDS ? r + 1 : r);
	fflush(stdout);
	ck_assert_msg(ratio <= TIME_LIMIT,
		      "%s: %zu -> %zu units cost %.1fx the time (%u scans: %.3f ms empty, "
		      "%.3f ms, %.3f ms), limit %.0fx",
		      c->name, n, 4 * n, ratio, k, t0, tn, t4n, TIME_LIMIT);
}

START_TEST(growth)
{
	const struct cplx_case *c = &cases[_i];
	struct buf empty, small, big;
	/* callgrind counts the code, not the caches: no SIZE_DIV there */
	size_t n = counted() != NULL ? c->n : c->n / SIZE_DIV;

	buf_init(&empty);
	buf_init(&small);
	buf_init(&big);
	build(c, 0, &empty);
	build(c, n, &small);
	build(c, 4 * n, &big);
	if (counted() != NULL)
		growth_counted(c, &empty, &small, &big, n);
	else
		growth_timed(c, &empty, &small, &big, n);
	buf_free(&empty);
	buf_free(&small);
	buf_free(&big);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("complexity");
	TCase *tc = tcase_create("complexity");

	/* keep freed memory in the process: a scan of 4n bytes must not
	 * pay the kernel for zeroed pages again at every repetition
	 * (ASan's allocator ignores this: see __asan_default_options) */
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, growth, 0, sizeof(cases) / sizeof(cases[0]));
	suite_add_tcase(s, tc);
	return unit_main(s);
}
