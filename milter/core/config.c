/*
 * config.c - the parapet.conf parser.  Every key is one row of
 * config_keys[]: name, type, where it lands, default, range.  Defaults are
 * applied by parsing the default text through the same code as a file
 * value, so a default can never be out of range.  Owns struct config;
 * thread-safe (no shared state).  Limits: a line is at most 64 KB.
 */
#include "autoconfig.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "base/log.h"
#include "base/util.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#ifndef PACKAGE_DATADIR
#define PACKAGE_DATADIR "/usr/share/parapet"
#endif

enum ctype {
	T_STR,		/* any non-empty string */
	T_SOCKET,	/* unix:PATH, local:PATH, inet:PORT@HOST, inet6:PORT@HOST */
	T_MODE,		/* octal file mode */
	T_LEVEL,	/* log level name */
	T_SCORE,	/* number */
	T_SCORE_OFF,	/* number or "off" */
	T_BOOL,		/* yes/no/true/false/on/off/1/0 */
	T_LONG,		/* integer within [min, max] */
	T_CIDRS,	/* CIDR list */
	T_ONERROR,	/* tempfail | accept */
	T_RUNMODE,	/* enforce | observe */
	T_TEXT,		/* printable text (a Subject tag) */
	T_REPLY,	/* printable text with %q, %% (an SMTP reply) */
	T_ENDPOINT,	/* HOST:PORT or unix:PATH */
	T_ENDPOINTS,	/* HOST[:PORT],... */
};

struct config_key {
	const char *name;
	enum ctype type;
	size_t off;
	const char *def;	/* NULL: unset */
	long min, max;
	bool restart;		/* change needs a restart, not a reload */
};

#define O(f) offsetof(struct config, f)
static const struct config_key config_keys[] = {
	{ "socket", T_SOCKET, O(socket), "unix:/run/parapet/parapet.sock", 0, 0, true },
	{ "socket_mode", T_MODE, O(socket_mode), "0660", 0, 07777, true },
	{ "user", T_STR, O(user), NULL, 0, 0, true },
	{ "pidfile", T_STR, O(pidfile), NULL, 0, 0, true },
	{ "log_level", T_LEVEL, O(log_level), "info", 0, 0, false },
	/* the shipped rules, then the local ones (rules_load: a later one wins) */
	{ "rules_dir", T_STR, O(rules_dir), PACKAGE_DATADIR "/rules " SYSCONFDIR "/parapet/rules.d",
	  0, 0, false },
	{ "lists_file", T_STR, O(lists_file), NULL, 0, 0, false },
	{ "policy_file", T_STR, O(policy_file), NULL, 0, 0, false },
	{ "authserv_id", T_STR, O(authserv_id), NULL, 0, 0, false },
	{ "tag_score", T_SCORE, O(tag_score), "5.0", 0, 0, false },
	{ "quarantine_score", T_SCORE_OFF, O(quarantine_score), "off", 0, 0, false },
	{ "reject_score", T_SCORE, O(reject_score), "15.0", 0, 0, false },
	{ "greylist", T_BOOL, O(greylist), "yes", 0, 0, false },
	{ "greylist_score", T_SCORE, O(greylist_score), "3.0", 0, 0, false },
	{ "greylist_delay", T_LONG, O(greylist_delay), "300", 0, 86400 * 7, false },
	{ "greylist_window", T_LONG, O(greylist_window), "86400", 60, 86400 * 90, false },
	/* capped at 4 MB: GMime copies some header parameters of body parts to
	 * the stack, so a scanned body must fit well inside a thread's 8 MB */
	{ "max_scan_bytes", T_LONG, O(max_scan_bytes), "1048576", 1024, 4L << 20, false },
	{ "trusted_networks", T_CIDRS, O(trusted_networks), "", 0, 0, false },
	{ "skip_authenticated", T_BOOL, O(skip_authenticated), "yes", 0, 0, false },
	{ "redis", T_ENDPOINT, O(redis), NULL, 0, 0, false },
	{ "redis_sentinels", T_ENDPOINTS, O(redis_sentinels), NULL, 0, 0, false },
	{ "redis_master_name", T_STR, O(redis_master_name), NULL, 0, 0, false },
	{ "redis_password", T_STR, O(redis_password), NULL, 0, 0, false },
	{ "redis_password_file", T_STR, O(redis_password_file), NULL, 0, 0, false },
	{ "redis_db", T_LONG, O(redis_db), "0", 0, 1 << 16, false },
	{ "redis_prefix", T_STR, O(redis_prefix), "parapet:", 0, 0, false },
	{ "redis_timeout_ms", T_LONG, O(redis_timeout_ms), "100", 1, 60000, false },
	{ "dns_nameservers", T_ENDPOINTS, O(dns_nameservers), NULL, 0, 0, false },
	{ "dns_timeout_ms", T_LONG, O(dns_timeout_ms), "5000", 10, 120000, false },
	{ "on_error", T_ONERROR, O(on_error), "tempfail", 0, 0, false },
	{ "rep_half_life", T_LONG, O(rep_half_life), "604800", 60, 86400L * 3650, false },
	{ "rep_min_count", T_LONG, O(rep_min_count), "5", 0, 1000000, false },
	{ "bayes", T_BOOL, O(bayes), "no", 0, 0, false },
	{ "bayes_min_spam", T_LONG, O(bayes_min_spam), "200", 0, 100000000, false },
	{ "bayes_min_ham", T_LONG, O(bayes_min_ham), "200", 0, 100000000, false },
	{ "bayes_token_ttl", T_LONG, O(bayes_token_ttl), "2592000", 3600, 86400L * 3650, false },
	{ "bayes_auto_learn", T_BOOL, O(bayes_auto_learn), "no", 0, 0, false },
	{ "bayes_auto_learn_threshold_spam", T_SCORE, O(bayes_auto_learn_threshold_spam), "12.0", 0,
	  0, false },
	{ "bayes_auto_learn_threshold_nonspam", T_SCORE, O(bayes_auto_learn_threshold_nonspam),
	  "0.1", 0, 0, false },
	{ "log_max", T_LONG, O(log_max), "100000", 0, 100000000, false },
	{ "metrics_listen", T_ENDPOINT, O(metrics_listen), NULL, 0, 0, true },
	{ "mode", T_RUNMODE, O(mode), "enforce", 0, 0, false },
	{ "subject_tag", T_TEXT, O(subject_tag), NULL, 0, 0, false },
	{ "reject_text", T_REPLY, O(reject_text), "Message rejected as spam (ref %q)", 0, 0, false },
	{ "tempfail_text", T_REPLY, O(tempfail_text), "Temporary filter failure (ref %q)", 0, 0, false },
	{ "greylist_text", T_REPLY, O(greylist_text), "Greylisted, please try again later (ref %q)",
	  0, 0, false },
};
#undef O
#define NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))

/* config_default_path - where the daemon looks without -c */
const char *config_default_path(void)
{
	return SYSCONFDIR "/parapet/parapet.conf";
}

/* field - address of a key's member */
static void *field(struct config *cfg, const struct config_key *k)
{
	return (char *)cfg + k->off;
}

/* parse_double - a finite number */
static int parse_double(const char *v, double *out)
{
	char *end;

	errno = 0;
	double d = strtod(v, &end);
	if (errno || end == v || *end != '\0' || !isfinite(d))
		return -1;
	*out = d;
	return 0;
}

/* parse_bool - the usual spellings */
static int parse_bool(const char *v, bool *out)
{
	static const char *yes[] = { "yes", "true", "on", "1" };
	static const char *no[] = { "no", "false", "off", "0" };

	for (int i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* valid_port - 1..65535 */
static bool valid_port(const char *p, size_t n)
{
	if (n == 0 || n > 5)
		return false;
	long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return false;
		v = v * 10 + (p[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

/* valid_hostport - HOST[:PORT] or [V6]:PORT; port required if need_port */
static bool valid_hostport(const char *v, bool need_port)
{
	const char *colon;

	if (*v == '[') {
		const char *close = strchr(v, ']');
		if (close == NULL || close == v + 1)
			return false;
		if (close[1] == '\0')
			return !need_port;
		return close[1] == ':' && valid_port(close + 2, strlen(close + 2));
	}
	colon = strrchr(v, ':');
	if (colon == NULL)
		return !need_port && *v != '\0';
	if (strchr(v, ':') != colon)	/* bare IPv6 address */
		return !need_port;
	return colon != v && valid_port(colon + 1, strlen(colon + 1));
}

/* valid_socket - a libmilter socket spec */
static bool valid_socket(const char *v)
{
	if (strncmp(v, "unix:", 5) == 0 || strncmp(v, "local:", 6) == 0)
		return strchr(v, ':')[1] == '/';
	if (strncmp(v, "inet:", 5) == 0 || strncmp(v, "inet6:", 6) == 0) {
		const char *p = strchr(v, ':') + 1;
		const char *at = strchr(p, '@');
		return valid_port(p, at ? (size_t)(at - p) : strlen(p)) &&
		       (at == NULL || at[1] != '\0');
	}
	return false;
}

/* choice - v is a (0) or b (1), in any case; NULL or the reason why */
static const char *choice(const char *v, const char *a, const char *b, const char *why,
			  int *out)
{
	if (strcasecmp(v, a) != 0 && strcasecmp(v, b) != 0)
		return why;
	*out = strcasecmp(v, a) == 0 ? 0 : 1;
	return NULL;
}

/* set_value - parse v into the key's member; NULL or a reason */
static const char *set_value(struct config *cfg, const struct config_key *k,
			     const char *v)
{
	void *f = field(cfg, k);
	const char *err = NULL;

	switch (k->type) {
	case T_STR:
		if (*v == '\0')
			return "empty value";
		break;
	case T_SOCKET:
		if (!valid_socket(v))
			return "expected unix:/PATH, inet:PORT@HOST or inet6:PORT@HOST";
		break;
	case T_ENDPOINT:
		if (strncmp(v, "unix:", 5) == 0 ? v[5] != '/' : !valid_hostport(v, true))
			return "expected HOST:PORT or unix:/PATH";
		break;
	case T_ENDPOINTS: {
		char *copy = xstrdup(v), *save = NULL;
		bool ok = true, any = false;
		for (char *t = strtok_r(copy, ", \t", &save); t;
		     t = strtok_r(NULL, ", \t", &save)) {
			any = true;
			ok = ok && valid_hostport(t, false);
		}
		free(copy);
		if (!ok || !any)
			return "expected a list of HOST[:PORT]";
		break;
	}
	case T_MODE: {
		char *end;
		long m = strtol(v, &end, 8);
		if (*v == '\0' || *end != '\0' || m < k->min || m > k->max)
			return "expected an octal mode such as 0660";
		*(int *)f = (int)m;
		return NULL;
	}
	case T_LEVEL: {
		int l = log_level_parse(v);
		if (l < 0)
			return "expected error, warning, info or debug";
		*(int *)f = l;
		return NULL;
	}
	case T_SCORE:
		if (parse_double(v, (double *)f) < 0)
			return "expected a number";
		return NULL;
	case T_SCORE_OFF:
		if (strcasecmp(v, "off") == 0) {
			cfg->quarantine_on = false;
			return NULL;
		}
		if (parse_double(v, (double *)f) < 0)
			return "expected a number or off";
		cfg->quarantine_on = true;
		return NULL;
	case T_BOOL:
		if (parse_bool(v, (bool *)f) < 0)
			return "expected yes or no";
		return NULL;
	case T_LONG: {
		char *end;
		errno = 0;
		long n = strtol(v, &end, 10);
		if (errno || *v == '\0' || *end != '\0')
			return "expected an integer";
		if (n < k->min || n > k->max)
			return "out of range";
		*(long *)f = n;
		return NULL;
	}
	case T_CIDRS: {
		struct cidr_list *l = f;
		struct cidr_list nl;
		if (cidr_list_parse(v, &nl, &err) < 0)
			return err;
		cidr_list_free(l);
		*l = nl;
		return NULL;
	}
	case T_RUNMODE:
		return choice(v, "enforce", "observe", "expected enforce or observe", (int *)f);
	case T_TEXT:
	case T_REPLY:
		/* one line of printable text, at most 200 bytes (an SMTP
		 * reply line is 512 with its code); in a reply % only as %q
		 * or %% */
		if (*v == '\0' || strlen(v) > 200)
			return "expected 1 to 200 characters";
		for (const char *c = v; *c; c++) {
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return "control characters are not allowed";
			if (k->type == T_REPLY && *c == '%' && c[1] != 'q' && c[1] != '%')
				return "% must be %q (the queue id) or %% (a percent sign)";
			if (k->type == T_REPLY && *c == '%')
				c++;
		}
		break;
	case T_ONERROR:
		return choice(v, "tempfail", "accept", "expected tempfail or accept", (int *)f);
	}
	/* string-valued types */
	free(*(char **)f);
	*(char **)f = xstrdup(v);
	return NULL;
}

/* config_defaults - a config holding every default */
static struct config *config_defaults(void)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	char host[256];

	for (size_t i = 0; i < NKEYS; i++) {
		const struct config_key *k = &config_keys[i];
		if (k->def == NULL)
			continue;
		const char *err = set_value(cfg, k, k->def);
		if (err)	/* our own table is wrong */
			log_fatal("built-in default of %s: %s", k->name, err);
	}
	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	cfg->authserv_id = xstrdup(host);
	return cfg;
}

/* config_parse_buf - parse key = value lines */
struct config *config_parse_buf(const char *name, const char *text, size_t len,
				char **errstr)
{
	struct config *cfg = config_defaults();
	const char *p = text, *end = text + len;
	int lineno = 0;

	*errstr = NULL;
	cfg->path = xstrdup(name);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *line = xstrndup(p, n), *s, *eq, *key, *val;
		const char *why = NULL;

		lineno++;
		p += n + (nl ? 1 : 0);
		if (strlen(line) != n)
			why = "NUL byte in line";
		/* '#' starts a comment only at the start of a line, so a
		 * value (a password) may contain it */
		s = str_trim(line);
		if (why == NULL && (*s == '\0' || *s == '#')) {
			free(line);
			continue;
		}
		if (why == NULL && (eq = strchr(s, '=')) == NULL)
			why = "expected key = value";
		if (why == NULL) {
			*eq = '\0';
			key = str_trim(s);
			val = str_trim(eq + 1);
			const struct config_key *k = NULL;
			for (size_t i = 0; i < NKEYS; i++)
				if (strcmp(config_keys[i].name, key) == 0)
					k = &config_keys[i];
			if (k == NULL) {
				*errstr = xasprintf("%s:%d: error: unknown key '%s'", name,
						    lineno, key);
			} else if ((why = set_value(cfg, k, val)) != NULL) {
				*errstr = xasprintf("%s:%d: error: bad value '%s' for %s: %s",
						    name, lineno, val, key, why);
			}
		} else {
			*errstr = xasprintf("%s:%d: error: %s", name, lineno, why);
		}
		free(line);
		if (*errstr)
			return config_free(cfg);
	}
	if (cfg->metrics_listen && strncmp(cfg->metrics_listen, "unix:", 5) == 0) {
		*errstr = xasprintf("%s: error: metrics_listen must be HOST:PORT", name);
		return config_free(cfg);
	}
	if (cfg->redis_sentinels && cfg->redis_master_name == NULL) {
		*errstr = xasprintf("%s: error: redis_sentinels needs redis_master_name", name);
		return config_free(cfg);
	}
	cfg->bayes_totals_key = xasprintf("%sbayes", cfg->redis_prefix);
	return cfg;
}

/* read_password_file - redis_password from redis_password_file: its
 * first line, the file readable only by its owner (the user parapet runs
 * as); NULL or an error (caller frees) */
static char *read_password_file(struct config *cfg)
{
	const char *path = cfg->redis_password_file;
	char line[1024];
	struct stat st;
	FILE *fp;

	if (cfg->redis_password)
		return xasprintf("%s: error: redis_password and redis_password_file are both set",
				 cfg->path);
	if ((fp = fopen(path, "r")) == NULL)
		return xasprintf("%s: error: redis_password_file %s: %s", cfg->path, path,
				 strerror(errno));
	if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
		fclose(fp);
		return xasprintf("%s: error: redis_password_file %s must be a file readable only "
				 "by its owner, the user parapet runs as (chmod 600)", cfg->path, path);
	}
	if (fgets(line, sizeof(line), fp) == NULL)
		line[0] = '\0';
	fclose(fp);
	char *pw = str_trim(line);
	if (*pw == '\0')
		return xasprintf("%s: error: redis_password_file %s: empty", cfg->path, path);
	cfg->redis_password = xstrdup(pw);
	explicit_bzero(line, sizeof(line));
	return NULL;
}

/* config_load - read and parse a file; NULL path gives the defaults */
struct config *config_load(const char *path, char **errstr)
{
	struct buf b;
	char chunk[8192];
	size_t n;
	FILE *fp;

	if (path == NULL)
		return config_parse_buf("(defaults)", "", 0, errstr);
	if ((fp = fopen(path, "r")) == NULL) {
		*errstr = xasprintf("%s: error: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		buf_append(&b, chunk, n);
		if (b.len > 1024 * 1024) {
			*errstr = xasprintf("%s: error: larger than 1 MB", path);
			fclose(fp);
			buf_free(&b);
			return NULL;
		}
	}
	fclose(fp);
	struct config *cfg = config_parse_buf(path, b.data ? b.data : "", b.len,
					      errstr);
	buf_free(&b);
	/* the file is read here, not in config_parse_buf: a config from
	 * memory (tests, the fuzzer) names no file to open */
	if (cfg && cfg->redis_password_file && (*errstr = read_password_file(cfg)) != NULL)
		return config_free(cfg);
	return cfg;
}

/* config_free - release every member */
struct config *config_free(struct config *cfg)
{
	if (cfg == NULL)
		return NULL;
	for (size_t i = 0; i < NKEYS; i++) {
		const struct config_key *k = &config_keys[i];
		switch (k->type) {
		case T_STR: case T_SOCKET: case T_ENDPOINT: case T_ENDPOINTS: case T_TEXT:
		case T_REPLY:
			free(*(char **)field(cfg, k));
			break;
		case T_CIDRS:
			cidr_list_free(field(cfg, k));
			break;
		default:
			break;
		}
	}
	free(cfg->bayes_totals_key);
	free(cfg->path);
	free(cfg);
	return NULL;
}

/* str_eq_null - equal strings, NULL equal to NULL */
static bool str_eq_null(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* config_restart_needed - first restart-only key whose value changed */
const char *config_restart_needed(const struct config *a, const struct config *b)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const struct config_key *k = &config_keys[i];
		if (!k->restart)
			continue;
		const void *fa = (const char *)a + k->off;
		const void *fb = (const char *)b + k->off;
		bool same = k->type == T_MODE ? *(const int *)fa == *(const int *)fb
					      : str_eq_null(*(char *const *)fa,
							    *(char *const *)fb);
		if (!same)
			return k->name;
	}
	return NULL;
}
