/*
 * fuzz_message.c - libFuzzer target: a hostile message through the whole
 * offline pipeline (message file splitting, message model caps, the GMime
 * parse, HTML to text and URI extraction (body, rawbody and uri rules
 * ask for them), rules, verdict and header edits).  Must always end in a
 * verdict, and the field index must agree with a walk over the fields.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <strings.h>

#include "core/config.h"
#include "core/engine.h"
#include "base/log.h"
#include "core/mboxfile.h"
#include "rules/rules.h"
#include "core/scan.h"
#include "base/util.h"
#include "core/stage.h"
#include "stages/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct engine *engine;

/* setup - rules of every supported type, a small scan limit */
static void setup(void)
{
	char *err = NULL;
	struct diag d;
	struct config *cfg = config_parse_buf("f", "max_scan_bytes = 4096\nauthserv_id = mx.f\n",
					      38, &err);
	diag_init(&d);
	static const char **builtins;	/* reachable: not a leak */

	builtins = stage_symbol_names(stage_registry);
	struct ruleset *rs = rules_load_text("f.cf",
		"header A Subject =~ /^[A-Z ]+$/\nheader B From:addr =~ /@/\n"
		"header C From:name =~ /x/i\nheader D ALL =~ /^X-/m\nheader E exists:Date\n"
		"header F ToCc !~ /./ [if-unset: none]\nbody G /click/i\nrawbody H /<a/i\n"
		"full I /^Received:/m\nuri J /^https?:\\/\\/\\d/\n"
		"mimeheader K Content-Type =~ /text\\/\\w+/i\ntflags K multiple\n"
		"mimeheader L Content-Disposition:raw !~ /name=/ [if-unset: x]\n"
		/* every domain of two or three labels is freemail: From's and
		 * Reply-To's addresses reach the body's address scan */
		"freemail_domains *.* *.*.*\nheader M eval:check_freemail_replyto('reply')\n"
		"header N eval:check_freemail_replyto()\nutil_rb_2tld co.uk\nutil_rb_3tld a.b.us\n"
		"header O eval:check_mailfrom_matches_rcvd()\n"
		/* ImageInfo: an image part's header read for its size */
		"body P eval:image_size_range('all',1,1)\nbody Q eval:pixel_coverage('all',1)\n"
		"score A 2\nscore SCAN_TRUNCATED 0.1\nscore MIME_BROKEN 1\n", builtins, &d);
	if (cfg == NULL || rs == NULL)
		abort();
	diag_free(&d);
	engine = engine_new(cfg, rs, stage_registry);
	log_set_level(LOG_LVL_ERROR);
}

/* check_index - the field index (msg_header, msg_header_count,
 * msg_header_first, next_same) agrees with a walk over every field, for
 * each name the message has: aborts where not */
static void check_index(const struct msg *m)
{
	for (size_t i = 0; i < m->nhdrs; i++) {
		const char *name = m->hdrs[i].name;
		size_t count = 0;
		int p = msg_header_first(m, name);
		for (size_t k = 0; k < m->nhdrs; k++) {
			if (strcasecmp(m->hdrs[k].name, name) != 0)
				continue;
			if (p != (int)k || msg_header(m, name, count) != &m->hdrs[k] ||
			    m->hdrs[k].index != (int)count + 1)
				abort();
			p = m->hdrs[k].next_same;
			count++;
		}
		if (p != -1 || msg_header_count(m, name) != count ||
		    msg_header(m, name, count) != NULL)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (engine == NULL)
		setup();
	struct scan *sc = scan_new(engine);
	msg_set_client(sc->msg, "192.0.2.1", NULL, "h");
	msg_set_from(sc->msg, "<a@b>");
	mboxfile_feed(sc, (const char *)data, size);
	const struct verdict *v = scan_finish(sc);
	if (v == NULL || v->symbols == NULL)
		abort();
	check_index(sc->msg);
	scan_free(sc);
	return 0;
}
