/*
 * fuzz_lists.c - libFuzzer target: the lists file (rules/lists.c), added
 * to a rule set that reads every list, then a message matched against
 * it.  Any input must load or give errors, never a crash or a leak.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>

#include "mail/message.h"
#include "rules/hits.h"
#include "rules/re.h"
#include "rules/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char RULES[] =
	"header WL eval:check_from_in_welcomelist()\n"
	"header BL eval:check_from_in_blocklist()\n"
	"header SPF_WL eval:check_for_spf_welcomelist_from()\n"
	"header IP_WL eval:check_client_ip_in_welcomelist()\n"
	"header IP_BL eval:check_client_ip_in_blocklist()\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag d;
	struct ruleset *rs;

	diag_init(&d);
	rs = rules_load_text("fuzz.cf", RULES, NULL, &d);
	if (rs == NULL)
		abort();
	if (rules_lists_text(rs, "fuzz.lists", (const char *)data, size, &d) != (d.errors == 0))
		abort();
	struct msg *m = msg_new(65536);
	struct re_scratch *re = re_scratch_new();
	struct hits h = { 0 };
	msg_set_client(m, "192.0.2.1", "c.test", "h.test");
	msg_set_from(m, "<a@b.test>");
	msg_add_header(m, "From", " x@example.test");
	msg_end_headers(m);
	rules_eval(rs, m, re, &h, NULL);
	hits_clear(&h);
	re_scratch_free(re);
	msg_free(m);
	rules_free(rs);
	diag_free(&d);
	return 0;
}
