/*
 * dashboard.c - the dashboard's HTTP side (dashboard.h): access control,
 * the JSON API over rep_admin.c and rep_feed.c, and the static files.
 *
 * Owns: the http.c server, a reference to the engine, the expected
 * credentials.  Thread safety: requests run on the server's pool; the
 * struct is read-only after dashboard_start and the engine's Redis pool
 * is thread-safe.  Limits: request bodies DASH_MAX_BODY bytes, static
 * (parsed by form.c) files DASH_MAX_FILE bytes, feed entries REP_FEED_MAX, top keys
 * DASH_MAX_TOP, stats 720 hours.  The page reads text with textContent
 * only; this side adds JSON_HTML_SAFE escaping and a CSP on top.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "admin/dashboard.h"
#include "core/engine.h"
#include "base/form.h"
#include "net/http.h"
#include "base/json.h"
#include "stages/rep/rep.h"
#include "admin/rep_feed.h"
#include "base/util.h"

#ifndef PACKAGE_DATADIR
#define PACKAGE_DATADIR "/usr/local/share/parapet"
#endif

#define DASH_MAX_BODY 8192
#define DASH_MAX_FILE (1024 * 1024)
#define DASH_MAX_TOP 1000
#define DASH_FEED_DEFAULT 100
#define DASH_THREADS 4

#define CT_JSON "application/json; charset=utf-8"
#define CSP "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " \
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

struct dashboard {
	struct engine *e;
	struct http_server *http;
	char *static_dir;
	char *cred;		/* USER:PASSWORD, or NULL: no authentication */
	bool writes;
	char *hosts[DASHBOARD_MAX_HOSTS];	/* --host */
	size_t nhosts;
};

/* ---------------------------------------------------------------- helpers */

/* dashboard_static_dir - see dashboard.h */
const char *dashboard_static_dir(const char *opt)
{
	const char *env = getenv(DASHBOARD_ENV_DIR);

	if (opt && *opt)
		return opt;
	if (env && *env)
		return env;
	return PACKAGE_DATADIR "/dashboard";
}

/* host_is - host is name (n bytes) with ":port", or without one on port 80 */
static bool host_is(const char *host, const char *name, size_t n, const char *port)
{
	if (n == 0 || strncasecmp(host, name, n) != 0)
		return false;
	host += n;
	if (*host == '\0')
		return strcmp(port, "80") == 0;
	return *host == ':' && strcmp(host + 1, port) == 0;
}

/* dashboard_host_ok - see dashboard.h */
bool dashboard_host_ok(const char *host, const char *local, const char *const *names,
		       size_t nnames)
{
	const char *colon = local ? strrchr(local, ':') : NULL;

	if (host == NULL || colon == NULL)
		return false;
	const char *port = colon + 1;
	if (host_is(host, local, (size_t)(colon - local), port))
		return true;
	if (http_listen_loopback(local) && host_is(host, "localhost", 9, port))
		return true;
	for (size_t i = 0; i < nnames; i++)
		if (strcasecmp(host, names[i]) == 0 || host_is(host, names[i], strlen(names[i]), port))
			return true;
	return false;
}

/* host_refused - the Host header does not name this server (DNS
 * rebinding: a page of another site reaching us under its own name) */
static bool host_refused(struct dashboard *d, const struct http_request *req)
{
	char local[INET6_ADDRSTRLEN + 16];

	return !http_local_address(req, local, sizeof(local)) ||
	       !dashboard_host_ok(http_header(req, "Host"), local,
				  (const char *const *)d->hosts, d->nhosts);
}

/* secure_eq - a == b without an early exit on the first difference */
static bool secure_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;

	for (size_t i = 0; i < la; i++)
		diff |= (unsigned char)a[i] ^ (unsigned char)b[i % (lb ? lb : 1)];
	return diff == 0;
}

/* reply_json - b (taken over) as the JSON answer */
static void reply_json(struct http_response *r, int status, struct buf *b)
{
	size_t len = b->len;

	buf_putc(b, '\n');
	http_reply(r, status, CT_JSON, b->data, len + 1);
	buf_init(b);
}

/* reply_error - {"error": text} */
static void reply_error(struct http_response *r, int status, const char *text)
{
	struct buf b;

	buf_init(&b);
	buf_puts(&b, "{\"error\":");
	json_put_str(&b, text, JSON_HTML_SAFE);
	buf_putc(&b, '}');
	reply_json(r, status, &b);
}

/* reply_405 - wrong method, with the ones that work */
static void reply_405(struct http_response *r, const char *allow)
{
	reply_error(r, 405, "method not allowed");
	http_add_header(r, "Allow", allow);
}

/* is_get - GET or HEAD */
static bool is_get(const struct http_request *req)
{
	return strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;
}

/* query_long - a numeric query argument within [lo, hi], def if absent;
 * false if present and not a number in range */
static bool query_long(const struct http_request *req, const char *name, long lo, long hi,
		       long def, long *out)
{
	const char *s = http_query(req, name);
	char *end;

	*out = def;
	if (s == NULL || *s == '\0')
		return true;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* entry_json - one key, the fields of `parapetctl rep ... --json` */
static void entry_json(struct buf *b, const struct rep_entry *en)
{
	buf_printf(b, "{\"kind\":\"%s\",\"value\":", rep_kind_name(en->kind));
	json_put_str(b, en->value, JSON_HTML_SAFE);
	buf_printf(b, ",\"exists\":%s", en->exists ? "true" : "false");
	if (en->exists) {
		buf_puts(b, ",\"spam\":");
		json_put_num(b, en->spam_now, 4);
		buf_puts(b, ",\"ham\":");
		json_put_num(b, en->ham_now, 4);
		buf_puts(b, ",\"spam_stored\":");
		json_put_num(b, en->spam, 6);
		buf_puts(b, ",\"ham_stored\":");
		json_put_num(b, en->ham, 6);
		buf_puts(b, ",\"seen\":");
		json_put_num(b, en->seen, 0);
		buf_puts(b, ",\"first\":");
		json_put_num(b, en->first, 0);
	}
	if (en->ttl >= -1)
		buf_printf(b, ",\"ttl\":%lld", en->ttl);
	buf_printf(b, ",\"symbol\":\"%s\",\"score\":", rep_kind_symbol(en->kind));
	if (en->counts)
		json_put_num(b, en->symbol, 4);
	else
		buf_puts(b, "null");
	buf_putc(b, '}');
}

/* ---------------------------------------------------------------- API */

/* api_info - what the page needs to know about this server */
static void api_info(struct dashboard *d, struct http_response *r)
{
	struct buf b;

	buf_init(&b);
	buf_printf(&b, "{\"writes\":%s,\"auth\":%s,\"redis\":", d->writes ? "true" : "false",
		   d->cred ? "true" : "false");
	json_put_str(&b, d->e->redis ? d->e->cfg->redis ? d->e->cfg->redis : "sentinel" : NULL,
		     JSON_HTML_SAFE);
	buf_puts(&b, ",\"prefix\":");
	json_put_str(&b, d->e->cfg->redis_prefix, JSON_HTML_SAFE);
	buf_printf(&b, ",\"version\":\"%s\",\"kinds\":[", PACKAGE_VERSION);
	for (int k = 0; k < REP_NKINDS; k++)
		buf_printf(&b, "%s\"%s\"", k ? "," : "", rep_kind_name((enum rep_kind)k));
	buf_puts(&b, "]}");
	reply_json(r, 200, &b);
}

/* api_feed - the log stream, newest first, filtered */
static void api_feed(struct dashboard *d, const struct http_request *req,
		     struct http_response *r)
{
	struct rep_feed_filter f = {
		.action = http_query(req, "action"),
		.ip = http_query(req, "ip"),
		.domain = http_query(req, "domain"),
		.symbol = http_query(req, "symbol"),
	};
	struct rep_log_entry *le;
	size_t n, scanned = 0;
	char *err = NULL;
	long count;
	struct buf b;

	if (!query_long(req, "count", 1, REP_FEED_MAX, DASH_FEED_DEFAULT, &count)) {
		reply_error(r, 400, "count must be 1 to 1000");
		return;
	}
	if (rep_feed(d->e, &f, (size_t)count, &le, &n, &scanned, &err) < 0) {
		reply_error(r, 502, err);
		free(err);
		return;
	}
	buf_init(&b);
	buf_printf(&b, "{\"scanned\":%zu,\"entries\":[", scanned);
	for (size_t i = 0; i < n; i++) {
		buf_puts(&b, i ? ",{\"id\":" : "{\"id\":");
		json_put_str(&b, le[i].id, JSON_HTML_SAFE);
		for (size_t k = 0; k < 11; k++) {
			buf_printf(&b, ",\"%s\":", rep_log_fields[k]);
			json_put_str(&b, le[i].field[k], JSON_HTML_SAFE);
		}
		buf_putc(&b, '}');
	}
	buf_puts(&b, "]}");
	rep_feed_free(le, n);
	reply_json(r, 200, &b);
}

/* api_stats - messages per hour by action */
static void api_stats(struct dashboard *d, const struct http_request *req,
		      struct http_response *r)
{
	struct rep_stats_row *rows;
	char *err = NULL;
	long hours;
	struct buf b;

	if (!query_long(req, "hours", 1, 720, 24, &hours)) {
		reply_error(r, 400, "hours must be 1 to 720");
		return;
	}
	if (rep_stats(d->e, (int)hours, &rows, &err) < 0) {
		reply_error(r, 502, err);
		free(err);
		return;
	}
	buf_init(&b);
	buf_puts(&b, "{\"hours\":[");
	for (long i = 0; i < hours; i++) {
		const struct rep_stats_row *w = &rows[i];
		buf_printf(&b, "%s{\"hour\":\"%s\",\"accept\":%lld,\"quarantine\":%lld,"
			   "\"tempfail\":%lld,\"reject\":%lld,\"other\":%lld}",
			   i ? "," : "", w->hour, w->accept, w->quarantine, w->tempfail,
			   w->reject, w->other);
	}
	buf_puts(&b, "]}");
	free(rows);
	reply_json(r, 200, &b);
}

/* kind_query - the kind argument, or -1 (and a 400) */
static int kind_query(const struct http_request *req, struct http_response *r)
{
	const char *s = http_query(req, "kind");
	int k = rep_kind_parse(s ? s : "ip");

	if (k < 0)
		reply_error(r, 400, "kind must be ip, net, mfrom, from or dkim");
	return k;
}

/* api_top - like `parapetctl rep top KIND N --json` */
static void api_top(struct dashboard *d, const struct http_request *req,
		    struct http_response *r)
{
	struct rep_entry *en;
	size_t m;
	char *err = NULL;
	long n;
	int kind;
	struct buf b;

	if ((kind = kind_query(req, r)) < 0)
		return;
	if (!query_long(req, "n", 1, DASH_MAX_TOP, 20, &n)) {
		reply_error(r, 400, "n must be 1 to 1000");
		return;
	}
	if (rep_top(d->e, (enum rep_kind)kind, (size_t)n, &en, &m, &err) < 0) {
		reply_error(r, 502, err);
		free(err);
		return;
	}
	buf_init(&b);
	buf_printf(&b, "{\"kind\":\"%s\",\"entries\":[", rep_kind_name((enum rep_kind)kind));
	for (size_t i = 0; i < m; i++) {
		if (i)
			buf_putc(&b, ',');
		entry_json(&b, &en[i]);
		rep_entry_clear(&en[i]);
	}
	buf_puts(&b, "]}");
	free(en);
	reply_json(r, 200, &b);
}

/* search_kinds - the kinds a search box value names: an address -> ip
 * and net, a network -> net, a domain or address -> mfrom, from, dkim */
static size_t search_kinds(const char *q, enum rep_kind *kinds)
{
	char *v;
	size_t n = 0;

	if ((v = rep_ip_value(q)) != NULL) {
		kinds[n++] = REP_KIND_IP;
		kinds[n++] = REP_KIND_NET;
	} else if (strchr(q, '/') && (v = rep_value_normalize(REP_KIND_NET, q)) != NULL) {
		kinds[n++] = REP_KIND_NET;
	} else if ((v = rep_value_normalize(REP_KIND_MFROM, q)) != NULL) {
		kinds[n++] = REP_KIND_MFROM;
		kinds[n++] = REP_KIND_FROM;
		kinds[n++] = REP_KIND_DKIM;
	}
	free(v);
	return n;
}

/* api_rep - the search box: ?q=VALUE, or one key ?kind=&value= */
static void api_rep(struct dashboard *d, const struct http_request *req,
		    struct http_response *r)
{
	const char *q = http_query(req, "q"), *value = http_query(req, "value");
	enum rep_kind kinds[REP_NKINDS];
	size_t nk = 0;
	struct buf b;

	if (q && *q) {
		value = q;
		nk = search_kinds(q, kinds);
		if (nk == 0) {
			reply_error(r, 400, "not an IP address, network or domain");
			return;
		}
	} else if (value && *value) {
		int k = kind_query(req, r);
		if (k < 0)
			return;
		kinds[nk++] = (enum rep_kind)k;
	} else {
		reply_error(r, 400, "give q, or kind and value");
		return;
	}
	buf_init(&b);
	buf_puts(&b, "{\"query\":");
	json_put_str(&b, value, JSON_HTML_SAFE);
	buf_puts(&b, ",\"entries\":[");
	for (size_t i = 0; i < nk; i++) {
		struct rep_entry en;
		char *err = NULL;
		if (rep_show(d->e, kinds[i], value, &en, &err) < 0) {
			/* rep_show may have set en.value before Redis failed */
			rep_entry_clear(&en);
			buf_free(&b);
			reply_error(r, strstr(err, "not a valid") ? 400 : 502, err);
			free(err);
			return;
		}
		if (i)
			buf_putc(&b, ',');
		entry_json(&b, &en);
		rep_entry_clear(&en);
	}
	buf_puts(&b, "]}");
	reply_json(r, 200, &b);
}

/* same_origin - the request comes from our own page: the custom header
 * (a cross-site form cannot set one, and a cross-site fetch with one
 * needs a CORS preflight we never grant) and, when sent, Origin and
 * Sec-Fetch-Site agree */
static const char *same_origin(const struct http_request *req)
{
	const char *h = http_header(req, "X-Parapet-Dashboard");
	const char *origin = http_header(req, "Origin");
	const char *host = http_header(req, "Host");
	const char *site = http_header(req, "Sec-Fetch-Site");

	if (h == NULL || strcmp(h, "1") != 0)
		return "missing X-Parapet-Dashboard: 1 header";
	if (origin && strcmp(origin, "null") != 0) {
		if (host == NULL || strncmp(origin, "http://", 7) != 0 ||
		    strcasecmp(origin + 7, host) != 0)
			return "cross-origin request refused";
	} else if (origin) {
		return "cross-origin request refused";
	}
	if (site && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0)
		return "cross-site request refused";
	return NULL;
}

/* mark - the write itself, then the key as it is now */
static void mark(struct dashboard *d, enum rep_kind kind, const char *value, const char *op,
		 double count, struct http_response *r)
{
	struct rep_entry en = { 0 };
	char *err = NULL;
	bool existed = false;
	int rc;
	struct buf b;

	if (strcmp(op, "clear") == 0)
		rc = rep_clear(d->e, kind, value, &existed, &err);
	else
		rc = rep_set(d->e, kind, value, strcmp(op, "spam") == 0, count, &err);
	if (rc == 0)
		rc = rep_show(d->e, kind, value, &en, &err);
	if (rc < 0) {
		rep_entry_clear(&en);	/* rep_show may have set en.value */
		reply_error(r, strstr(err, "not a valid") || strstr(err, "out of range") ? 400 : 502,
			    err);
		free(err);
		return;
	}
	buf_init(&b);
	buf_printf(&b, "{\"ok\":true,\"op\":\"%s\"", op);
	if (strcmp(op, "clear") == 0)
		buf_printf(&b, ",\"existed\":%s", existed ? "true" : "false");
	buf_puts(&b, ",\"entry\":");
	entry_json(&b, &en);
	buf_putc(&b, '}');
	rep_entry_clear(&en);
	reply_json(r, 200, &b);
}

/* count_arg - a finite number in [0, 1e9], the whole string */
static bool count_arg(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end != '\0' || !isfinite(v) || v < 0 || v > 1e9)
		return false;
	*out = v;
	return true;
}

/* api_mark - POST {kind, value, op[, count]}: rep_set or rep_clear */
static void api_mark(struct dashboard *d, const struct http_request *req,
		     struct http_response *r)
{
	struct form p = { 0 };
	const char *why, *ks, *value, *op, *cs;
	double count = d->e->cfg->rep_min_count > 0 ? (double)d->e->cfg->rep_min_count : 1;
	int kind;

	if (strcmp(req->method, "POST") != 0) {
		reply_405(r, "POST");
		return;
	}
	if (!d->writes) {
		reply_error(r, 403, "writes are disabled (start with --password-file "
			    "or --allow-writes)");
		return;
	}
	if ((why = same_origin(req)) != NULL) {
		reply_error(r, 403, why);
		return;
	}
	if (req->body_too_big) {
		reply_error(r, 413, "request body too large");
		return;
	}
	if (form_parse(http_header(req, "Content-Type"), req->body, &p) < 0) {
		form_clear(&p);
		reply_error(r, 400, "body must be a JSON object or a form "
			    "(application/json or application/x-www-form-urlencoded)");
		return;
	}
	ks = form_get(&p, "kind");
	value = form_get(&p, "value");
	op = form_get(&p, "op");
	cs = form_get(&p, "count");
	kind = ks ? rep_kind_parse(ks) : -1;
	if (kind < 0 || value == NULL || *value == '\0' || op == NULL ||
	    (strcmp(op, "spam") && strcmp(op, "ham") && strcmp(op, "clear"))) {
		reply_error(r, 400, "need kind (ip, net, mfrom, from, dkim), value and "
			    "op (spam, ham, clear)");
	} else if (cs && *cs && !count_arg(cs, &count)) {
		reply_error(r, 400, "count must be a number from 0 to 1e9");
	} else {
		mark(d, (enum rep_kind)kind, value, op, count, r);
	}
	form_clear(&p);
}

/* api - /api/... */
static void api(struct dashboard *d, const struct http_request *req, struct http_response *r)
{
	static const struct {
		const char *path;
		void (*fn)(struct dashboard *, const struct http_request *,
			   struct http_response *);
	} reads[] = {
		{ "/api/feed", api_feed },
		{ "/api/stats", api_stats },
		{ "/api/top", api_top },
		{ "/api/rep", api_rep },
	};
	const char *path = req->path;

	if (strcmp(path, "/api/mark") == 0) {
		api_mark(d, req, r);
		return;
	}
	if (strcmp(path, "/api/info") == 0) {
		if (!is_get(req))
			reply_405(r, "GET, HEAD");
		else
			api_info(d, r);
		return;
	}
	for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
		if (strcmp(path, reads[i].path) != 0)
			continue;
		if (!is_get(req))
			reply_405(r, "GET, HEAD");
		else
			reads[i].fn(d, req, r);
		return;
	}
	reply_error(r, 404, "no such API endpoint");
}

/* ---------------------------------------------------------------- files */

/* content_type - by extension; NULL: not served */
static const char *content_type(const char *name)
{
	static const char *const types[][2] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
	};
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i][0]) == 0)
			return types[i][1];
	return NULL;
}

/* name_ok - one path component of [A-Za-z0-9._-], not starting with '.' */
static bool name_ok(const char *name)
{
	if (*name == '\0' || *name == '.' || strlen(name) > 64)
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
			return false;
	return true;
}

/* read_file - a whole regular file of at most DASH_MAX_FILE bytes */
static char *read_file(const char *path, size_t *len)
{
	struct stat st;
	FILE *fp = fopen(path, "rb");
	char *data;

	if (fp == NULL)
		return NULL;
	if (fstat(fileno(fp), &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > DASH_MAX_FILE) {
		fclose(fp);
		return NULL;
	}
	data = xmalloc((size_t)st.st_size + 1);
	*len = fread(data, 1, (size_t)st.st_size, fp);
	fclose(fp);
	return data;
}

/* serve_file - a static file of the dashboard directory */
static void serve_file(struct dashboard *d, const struct http_request *req,
		       struct http_response *r)
{
	const char *name = strcmp(req->path, "/") == 0 ? "index.html" : req->path + 1;
	const char *ct;
	size_t len;

	if (!is_get(req)) {
		reply_405(r, "GET, HEAD");
		return;
	}
	if (!name_ok(name) || (ct = content_type(name)) == NULL) {
		http_reply_text(r, 404, "not found\n");
		return;
	}
	char *path = xasprintf("%s/%s", d->static_dir, name);
	char *data = read_file(path, &len);
	free(path);
	if (data == NULL)
		http_reply_text(r, 404, "not found\n");
	else
		http_reply(r, 200, ct, data, len);
}

/* ---------------------------------------------------------------- server */

/* handle - every request: the Host, authentication, then the API or a file */
static void handle(const struct http_request *req, struct http_response *r, void *arg)
{
	struct dashboard *d = arg;

	if (host_refused(d, req))
		http_reply_text(r, 421, "misdirected request: the Host header does not name this "
				"dashboard (see --host in parapetctl(8))\n");
	else if (d->cred) {
		char *got = http_basic_auth(req);
		bool ok = got && secure_eq(got, d->cred);
		free(got);
		if (!ok) {
			http_reply_text(r, 401, "authentication required\n");
			http_add_header(r, "WWW-Authenticate",
					"Basic realm=\"parapet dashboard\", charset=\"UTF-8\"");
		}
	}
	if (r->status == 0) {
		if (strncmp(req->path, "/api/", 5) == 0)
			api(d, req, r);
		else
			serve_file(d, req, r);
	}
	http_add_header(r, "Content-Security-Policy", CSP);
	http_add_header(r, "X-Content-Type-Options", "nosniff");
	http_add_header(r, "X-Frame-Options", "DENY");
	http_add_header(r, "Referrer-Policy", "no-referrer");
	http_add_header(r, "Cache-Control", "no-store");
}

/* read_credentials - the first line of the password file: USER:PASSWORD */
static char *read_credentials(const char *path, char **err)
{
	struct stat st;
	char line[1024];
	FILE *fp = fopen(path, "r");

	if (fp == NULL) {
		*err = xasprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(fp), &st) == 0 && (st.st_mode & 0004))
		fprintf(stderr, "parapetctl: warning: %s is readable by everyone\n", path);
	if (fgets(line, sizeof(line), fp) == NULL) {
		fclose(fp);
		*err = xasprintf("%s: empty; want one line USER:PASSWORD", path);
		return NULL;
	}
	fclose(fp);
	line[strcspn(line, "\r\n")] = '\0';
	char *colon = strchr(line, ':');
	if (colon == NULL || colon == line || colon[1] == '\0') {
		*err = xasprintf("%s: want one line USER:PASSWORD", path);
		return NULL;
	}
	return xstrdup(line);
}

/* dashboard_start - see dashboard.h */
struct dashboard *dashboard_start(struct engine *e, const struct dashboard_options *opt,
				  char **err)
{
	static const struct http_options hopt = {
		.threads = DASH_THREADS, .max_body = DASH_MAX_BODY, .timeout_s = 30,
		.max_conns = 64,
	};
	const char *listen = opt->listen ? opt->listen : DASHBOARD_LISTEN;
	struct dashboard *d = xcalloc(1, sizeof(*d));
	struct stat st;
	char *index;

	d->static_dir = xstrdup(opt->static_dir ? opt->static_dir : dashboard_static_dir(NULL));
	index = xasprintf("%s/index.html", d->static_dir);
	if (stat(index, &st) < 0) {
		*err = xasprintf("%s: %s (use --static DIR or $%s)", index, strerror(errno),
				 DASHBOARD_ENV_DIR);
		free(index);
		return dashboard_stop(d);
	}
	free(index);
	if (!http_listen_valid(listen)) {
		*err = xasprintf("--listen '%s' is not IP:PORT", listen);
		return dashboard_stop(d);
	}
	if (opt->password_file && (d->cred = read_credentials(opt->password_file, err)) == NULL)
		return dashboard_stop(d);
	if (!http_listen_loopback(listen) && d->cred == NULL)
		fprintf(stderr, "parapetctl: warning: %s is not loopback and no "
			"--password-file is given: anyone who reaches it can read the log\n",
			listen);
	if (opt->nhosts > DASHBOARD_MAX_HOSTS) {
		*err = xasprintf("at most %d --host names", DASHBOARD_MAX_HOSTS);
		return dashboard_stop(d);
	}
	for (size_t i = 0; i < opt->nhosts; i++) {
		const char *h = opt->hosts[i];
		if (*h == '\0' || strlen(h) > 255 || strcspn(h, " \t\r\n/@") != strlen(h)) {
			*err = xasprintf("--host '%s' is not a host name", h);
			return dashboard_stop(d);
		}
		d->hosts[d->nhosts++] = xstrdup(h);
	}
	d->writes = d->cred != NULL || opt->allow_writes;
	d->e = engine_ref(e);
	if ((d->http = http_start(listen, &hopt, handle, d, err)) == NULL)
		return dashboard_stop(d);
	return d;
}

/* dashboard_writes - see dashboard.h */
bool dashboard_writes(const struct dashboard *d)
{
	return d->writes;
}

/* dashboard_stop - see dashboard.h */
struct dashboard *dashboard_stop(struct dashboard *d)
{
	if (d == NULL)
		return NULL;
	d->http = http_stop(d->http);
	engine_unref(d->e);
	free(d->static_dir);
	free(d->cred);
	for (size_t i = 0; i < d->nhosts; i++)
		free(d->hosts[i]);
	free(d);
	return NULL;
}
