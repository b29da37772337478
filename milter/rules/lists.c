/*
 * lists.c - the lists file (the lists_file key, SPEC §3): permanent allow
 * and block lists an administrator keeps apart from the rule files, read
 * with the rules at start and at every reload.  One entry a line:
 *
 *	allow from ADDR		welcomelist_from (USER_IN_WELCOMELIST)
 *	block from ADDR		blocklist_from (USER_IN_BLOCKLIST)
 *	allow auth ADDR		welcomelist_auth: only with SPF or DKIM passing
 *	allow ip NET		welcomelist_ip (CLIENT_IN_WELCOMELIST)
 *	block ip NET		blocklist_ip (CLIENT_IN_BLOCKLIST)
 *
 * ADDR is an address or a SpamAssassin glob (*@example.com); NET an IPv4
 * or IPv6 address or CIDR network.  A word starting with # starts a
 * comment.  The entries go into the lists of the rule set's directives
 * (eval_wlbl.c through wlbl_add), so the rules that read those lists
 * (rules/60-lists.cf) score both alike.
 *
 * Caps: the file RULES_MAX_FILE bytes, a line LISTS_MAX_LINE bytes, a list
 * WLBL_MAX_ENTRIES entries (eval_wlbl.c); every error has file:line.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include "rules/eval.h"
#include "rules/rules.h"
#include "rules/rules_int.h"
#include "base/util.h"

#define LISTS_MAX_LINE 1024

/* what a line may say: its two words and the list it feeds */
static const struct lists_kind {
	const char *action, *what, *list;
} lists_kinds[] = {
	{ "allow", "from", "welcomelist_from" },
	{ "block", "from", "blocklist_from" },
	{ "allow", "auth", "welcomelist_auth" },
	{ "allow", "ip", "welcomelist_ip" },
	{ "block", "ip", "blocklist_ip" },
};

/* lists_line - one line (written on); NULL or an error (static) */
static const char *lists_line(struct rules_conf *c, char *line)
{
	char *p = line, *action, *what, *entry, *more;

	if ((action = str_next_word(&p)) == NULL || action[0] == '#')
		return NULL;
	what = str_next_word(&p);
	entry = str_next_word(&p);
	more = str_next_word(&p);
	if (what == NULL || entry == NULL || entry[0] == '#')
		return "expected allow|block from|auth|ip ENTRY";
	if (more && more[0] != '#')
		return "one entry a line";
	for (size_t i = 0; i < sizeof(lists_kinds) / sizeof(lists_kinds[0]); i++) {
		const struct lists_kind *k = &lists_kinds[i];
		if (strcmp(k->action, action) != 0 || strcmp(k->what, what) != 0)
			continue;
		if (strcmp(what, "ip") != 0) {
			const char *at = strrchr(entry, '@');
			if (at == NULL || at == entry || at[1] == '\0')
				return "expected an address or *@domain";
		}
		return wlbl_add(c, k->list, entry);
	}
	if (strcmp(action, "allow") != 0 && strcmp(action, "block") != 0)
		return "expected allow or block";
	if (strcmp(action, "block") == 0 && strcmp(what, "auth") == 0)
		return "block auth makes no sense: use block from";
	return "expected from, auth or ip after allow or block";
}

/* rules_lists_text - see rules.h */
bool rules_lists_text(struct ruleset *rs, const char *name, const char *text, size_t len,
		      struct diag *d)
{
	int errors = d->errors, lineno = 0;
	char line[LISTS_MAX_LINE + 1];

	for (size_t pos = 0; pos < len;) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - text - pos) : len - pos;
		lineno++;
		if (n > LISTS_MAX_LINE) {
			diag_error(d, name, lineno, "line longer than %d bytes", LISTS_MAX_LINE);
		} else if (memchr(text + pos, '\0', n) != NULL) {
			diag_error(d, name, lineno, "NUL byte");
		} else {
			memcpy(line, text + pos, n);
			line[n] = '\0';
			const char *err = lists_line(rs->conf, line);
			if (err)
				diag_error(d, name, lineno, "%s", err);
		}
		pos += n + 1;
	}
	wlbl_conf_finish(rs->conf->wlbl);
	return d->errors == errors;
}

/* rules_load_lists - see rules.h */
bool rules_load_lists(struct ruleset *rs, const char *path, struct diag *d)
{
	char *why = NULL;
	size_t len = 0;
	char *text = rules_read_file(path, &len, &why);
	bool ok;

	if (text == NULL) {
		diag_error(d, path, 0, "%s", why);
		free(why);
		return false;
	}
	ok = rules_lists_text(rs, path, text, len, d);
	free(text);
	return ok;
}
