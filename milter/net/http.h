/*
 * http.h - a small HTTP server for parapet's own endpoints (/metrics in
 * the daemon, the dashboard in parapetctl), so that only http.c includes
 * libmicrohttpd (STYLE rule 2).
 *
 * A handler sees one complete request (method, path, headers, query
 * arguments, the whole body up to a cap) and fills one response (status,
 * content type, body, a few extra headers).  Handlers run on the server's
 * threads (http_options.threads of them), so they must be thread-safe.
 */
#ifndef PARAPET_HTTP_H
#define PARAPET_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_MAX_HEADERS 8	/* extra response headers */

struct http_request {
	const char *method;	/* "GET", "POST", ... */
	const char *path;	/* decoded path, no query string */
	const char *body;	/* NUL-terminated; "" when none */
	size_t body_len;
	bool body_too_big;	/* the body went past http_options.max_body */
	void *conn;		/* http.c's; for http_header and http_query */
};

struct http_response {
	int status;
	const char *content_type;	/* static; NULL: text/plain */
	char *body;			/* owned; freed by http.c */
	size_t len;
	size_t nheaders;
	struct {
		const char *name;	/* static */
		char *value;		/* owned */
	} headers[HTTP_MAX_HEADERS];
};

/* called once per request; leaving status 0 answers 500 */
typedef void (*http_handler)(const struct http_request *req, struct http_response *resp,
			     void *arg);

struct http_options {
	unsigned threads;	/* 1: one polling thread; more: a pool */
	size_t max_body;	/* request bytes kept; beyond: body_too_big */
	unsigned timeout_s;	/* idle connection timeout */
	unsigned max_conns;
};

struct http_server;

/*
 * http_start - listen on "HOST:PORT" or "[V6]:PORT" and serve fn(arg).
 * Returns the server, or NULL with *errstr (caller frees).  Call with the
 * signals the caller handles blocked: it starts threads.
 */
struct http_server *http_start(const char *listen, const struct http_options *opt,
			       http_handler fn, void *arg, char **errstr);
/* http_stop - close the listener, wait for handlers in flight; returns NULL */
struct http_server *http_stop(struct http_server *s);

/* http_listen_valid - listen parses as HOST:PORT (an address, not a name) */
bool http_listen_valid(const char *listen);
/* http_listen_loopback - listen is on 127.0.0.0/8 or ::1 */
bool http_listen_loopback(const char *listen);

/* http_local_address - the address and port the request's connection
 * reached, as a client writes them in a Host header ("127.0.0.1:8025",
 * "[::1]:8025"; an IPv4-mapped address as IPv4) into out; false if
 * unknown or it does not fit */
bool http_local_address(const struct http_request *req, char *out, size_t cap);

/* http_header - a request header (case-insensitive name), or NULL */
const char *http_header(const struct http_request *req, const char *name);
/* http_query - a decoded query argument, or NULL (borrowed until the
 * handler returns) */
const char *http_query(const struct http_request *req, const char *name);

/* http_basic_auth - the USER:PASSWORD of an "Authorization: Basic"
 * header in fresh memory, or NULL (absent or malformed) */
char *http_basic_auth(const struct http_request *req);

/* http_reply - set status, content type and body (taken over) */
void http_reply(struct http_response *r, int status, const char *content_type, char *body,
		size_t len);
/* http_reply_text - status and a copy of a plain-text body */
void http_reply_text(struct http_response *r, int status, const char *text);
/* http_add_header - one more response header (value copied); beyond
 * HTTP_MAX_HEADERS it is dropped (our own handlers add at most a few) */
void http_add_header(struct http_response *r, const char *name, const char *value);

#endif
