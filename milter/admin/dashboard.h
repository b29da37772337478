/*
 * dashboard.h - `parapetctl dashboard`: a web page and a small JSON API
 * over the reputation store (SPEC §6), for people (issue 7).
 *
 *   GET  /                    index.html and the other static files
 *   GET  /api/info            {"writes":bool,"auth":bool,"redis":...}
 *   GET  /api/feed?action=&ip=&domain=&symbol=&count=
 *                             the log stream, newest first, filtered
 *   GET  /api/stats?hours=    messages per UTC hour by action
 *   GET  /api/top?kind=&n=    top spam sources of a kind
 *   GET  /api/rep?q=          the keys an IP (ip, net) or a domain
 *                             (mfrom, from, dkim) has; or ?kind=&value=
 *   POST /api/mark            {kind, value, op: spam|ham|clear[, count]}
 *                             (JSON or form body) -> rep_set / rep_clear
 *
 * Access: every request (static files too) must carry a Host header
 * that names this server: the address it listens on (IP:PORT, [V6]:PORT;
 * with a wildcard listen, the address the connection reached),
 * localhost:PORT on loopback, or a name given with --host; else 421.  A
 * web page that rebinds its own name to 127.0.0.1 sends its name, so it
 * is refused (DNS rebinding).  Basic authentication when a password file
 * is given (every request); writes only with a password file or allow_writes (else 403);
 * a write needs POST (405 otherwise), the header X-Parapet-Dashboard: 1
 * and, when the browser sends one, an Origin equal to the Host, so a
 * cross-site form or fetch cannot write.  Every response carries a strict
 * Content-Security-Policy; JSON escapes < > & ' so mail-derived text
 * never reads as markup.
 */
#ifndef PARAPET_DASHBOARD_H
#define PARAPET_DASHBOARD_H

#include <stdbool.h>
#include <stddef.h>

struct engine;

#define DASHBOARD_LISTEN "127.0.0.1:8025"
#define DASHBOARD_ENV_DIR "PARAPET_DASHBOARD_DIR"

#define DASHBOARD_MAX_HOSTS 16	/* --host names */

struct dashboard_options {
	const char *listen;		/* HOST:PORT; NULL: DASHBOARD_LISTEN */
	const char *const *hosts;	/* more Host names to accept (--host) */
	size_t nhosts;
	const char *static_dir;		/* index.html & co. */
	const char *password_file;	/* one line USER:PASSWORD, or NULL */
	bool allow_writes;		/* writes without a password file */
};

struct dashboard;

/*
 * dashboard_host_ok - host (a request's Host header, NULL if none) names
 * this server, reached at local ("ADDR:PORT" or "[V6]:PORT", as
 * http_local_address gives it): that address with its port, or without a
 * port on port 80 (RFC 9110 §7.2); "localhost" with the port when local
 * is loopback; one of names as given or with the port.  ASCII
 * case-insensitive.
 */
bool dashboard_host_ok(const char *host, const char *local, const char *const *names,
		       size_t nnames);

/* dashboard_static_dir - opt (--static), else $PARAPET_DASHBOARD_DIR,
 * else the installed $(pkgdatadir)/dashboard */
const char *dashboard_static_dir(const char *opt);

/*
 * dashboard_start - serve e (a reference is taken) as opt says.  NULL
 * with *err (caller frees) if the options are bad or the port is taken.
 * Starts threads: block the signals the caller waits for first.
 */
struct dashboard *dashboard_start(struct engine *e, const struct dashboard_options *opt,
				  char **err);
/* dashboard_writes - whether writes are enabled */
bool dashboard_writes(const struct dashboard *d);
/* dashboard_stop - stop serving, release; returns NULL */
struct dashboard *dashboard_stop(struct dashboard *d);

#endif
