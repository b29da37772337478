/*
 * http.c - the HTTP server of http.h on libmicrohttpd (the only file that
 * includes microhttpd.h).
 *
 * Owns: the MHD daemon and, per request, a small state (the body read so
 * far) freed by MHD's completion callback.  Thread safety: MHD runs the
 * handler on its polling thread(s); this file keeps no shared mutable
 * state.  Limits: the body is kept up to http_options.max_body bytes (the
 * rest is read and dropped, and the request flagged), connections and
 * their idle time are capped by the options.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "net/http.h"
#include "base/util.h"

struct http_server {
	struct MHD_Daemon *mhd;
	http_handler fn;
	void *arg;
	size_t max_body;
};

/* per request, between MHD's calls */
struct req_state {
	struct buf body;
	bool too_big;
};

/* parse_listen - "HOST:PORT" or "[V6]:PORT" into a socket address */
static int parse_listen(const char *listen, struct sockaddr_storage *ss)
{
	char host[64];
	const char *port;
	size_t n;
	long p;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (listen == NULL)
		return -1;
	if (listen[0] == '[') {
		const char *rb = strchr(listen, ']');
		if (rb == NULL || rb[1] != ':')
			return -1;
		n = (size_t)(rb - listen - 1);
		if (n >= sizeof(host))
			return -1;
		memcpy(host, listen + 1, n);
		port = rb + 2;
	} else {
		const char *colon = strrchr(listen, ':');
		if (colon == NULL)
			return -1;
		n = (size_t)(colon - listen);
		if (n >= sizeof(host))
			return -1;
		memcpy(host, listen, n);
		port = colon + 1;
	}
	host[n] = '\0';
	p = strtol(port, &end, 10);
	if (*port == '\0' || *end != '\0' || p < 1 || p > 65535)
		return -1;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		return 0;
	}
	return -1;
}

/* http_listen_valid - see http.h */
bool http_listen_valid(const char *listen)
{
	struct sockaddr_storage ss;

	return parse_listen(listen, &ss) == 0;
}

/* http_listen_loopback - see http.h */
bool http_listen_loopback(const char *listen)
{
	struct sockaddr_storage ss;

	if (parse_listen(listen, &ss) < 0)
		return false;
	if (ss.ss_family == AF_INET)
		return (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127;
	return IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&ss)->sin6_addr);
}

/* http_local_address - see http.h */
bool http_local_address(const struct http_request *req, char *out, size_t cap)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char ip[INET6_ADDRSTRLEN];
	int n;

	if (ci == NULL || getsockname(ci->connect_fd, (struct sockaddr *)&ss, &sl) != 0)
		return false;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		n = snprintf(out, cap, "%s:%u", ip, ntohs(s4->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {	/* a v4 client on [::] */
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], ip, sizeof(ip));
			n = snprintf(out, cap, "%s:%u", ip, ntohs(s6->sin6_port));
		} else {
			inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
			n = snprintf(out, cap, "[%s]:%u", ip, ntohs(s6->sin6_port));
		}
	} else {
		return false;
	}
	return n > 0 && (size_t)n < cap;
}

/* http_header - see http.h */
const char *http_header(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

/* http_query - see http.h */
const char *http_query(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* b64_value - the 6-bit value of a base64 character, -1 if none */
static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* b64_decode - RFC 4648 §4 base64 (padding optional), or NULL */
static char *b64_decode(const char *s)
{
	size_t n = strlen(s);
	char *out = xmalloc(n / 4 * 3 + 4), *o = out;
	unsigned acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		int v;
		if (s[i] == '=') {
			for (size_t k = i; k < n; k++)
				if (s[k] != '=') {
					free(out);
					return NULL;
				}
			break;
		}
		if ((v = b64_value((unsigned char)s[i])) < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			*o++ = (char)((acc >> bits) & 0xff);
		}
	}
	*o = '\0';
	if (memchr(out, '\0', (size_t)(o - out)) != NULL) {
		free(out);	/* a NUL inside credentials: refuse */
		return NULL;
	}
	return out;
}

/* http_basic_auth - RFC 7617: "Basic" SP base64(user-id ":" password) */
char *http_basic_auth(const struct http_request *req)
{
	const char *h = http_header(req, "Authorization");

	if (h == NULL || strncasecmp(h, "Basic ", 6) != 0)
		return NULL;
	h += 6;
	while (*h == ' ')
		h++;
	if (strlen(h) > 4096)
		return NULL;
	char *cred = b64_decode(h);
	if (cred && strchr(cred, ':') == NULL) {
		free(cred);
		return NULL;
	}
	return cred;
}

/* http_reply - see http.h */
void http_reply(struct http_response *r, int status, const char *content_type, char *body,
		size_t len)
{
	free(r->body);
	r->status = status;
	r->content_type = content_type;
	r->body = body;
	r->len = len;
}

/* http_reply_text - see http.h */
void http_reply_text(struct http_response *r, int status, const char *text)
{
	http_reply(r, status, "text/plain; charset=utf-8", xstrdup(text), strlen(text));
}

/* http_add_header - see http.h */
void http_add_header(struct http_response *r, const char *name, const char *value)
{
	if (r->nheaders >= HTTP_MAX_HEADERS)
		return;
	r->headers[r->nheaders].name = name;
	r->headers[r->nheaders++].value = xstrdup(value);
}

/* response_clear - release what the handler left */
static void response_clear(struct http_response *r)
{
	free(r->body);
	for (size_t i = 0; i < r->nheaders; i++)
		free(r->headers[i].value);
	memset(r, 0, sizeof(*r));
}

/* completed - MHD's end of a request: free its state */
static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct req_state *st = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (st) {
		buf_free(&st->body);
		free(st);
		*con_cls = NULL;
	}
}

/* on_request - MHD's handler: collect the body, then one call to fn */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_len, void **con_cls)
{
	struct http_server *s = cls;
	struct req_state *st = *con_cls;
	struct http_response resp = { 0 };
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void)version;
	if (st == NULL) {
		/* first call: headers only; the body (if any) follows */
		st = xcalloc(1, sizeof(*st));
		buf_init(&st->body);
		*con_cls = st;
		return MHD_YES;
	}
	if (*upload_len > 0) {
		if (st->body.len + *upload_len > s->max_body)
			st->too_big = true;
		else
			buf_append(&st->body, upload, *upload_len);
		*upload_len = 0;
		return MHD_YES;
	}
	struct http_request req = {
		.method = method,
		.path = url,
		.body = st->body.data ? st->body.data : "",
		.body_len = st->body.len,
		.body_too_big = st->too_big,
		.conn = c,
	};
	s->fn(&req, &resp, s->arg);
	if (resp.status == 0)
		http_reply_text(&resp, 500, "internal error\n");
	r = MHD_create_response_from_buffer(resp.len, resp.body, MHD_RESPMEM_MUST_FREE);
	resp.body = NULL;	/* MHD owns it now */
	MHD_add_response_header(r, "Content-Type",
				resp.content_type ? resp.content_type : "text/plain; charset=utf-8");
	for (size_t i = 0; i < resp.nheaders; i++)
		MHD_add_response_header(r, resp.headers[i].name, resp.headers[i].value);
	ret = MHD_queue_response(c, (unsigned)resp.status, r);
	MHD_destroy_response(r);
	response_clear(&resp);
	return ret;
}

/* http_start - see http.h */
struct http_server *http_start(const char *listen, const struct http_options *opt,
			       http_handler fn, void *arg, char **errstr)
{
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD;
	struct http_server *s;

	if (parse_listen(listen, &ss) < 0) {
		*errstr = xasprintf("'%s' is not IP:PORT", listen ? listen : "");
		return NULL;
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	s = xcalloc(1, sizeof(*s));
	s->fn = fn;
	s->arg = arg;
	s->max_body = opt->max_body;
	s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				  MHD_OPTION_CONNECTION_LIMIT, opt->max_conns ? opt->max_conns : 16,
				  MHD_OPTION_CONNECTION_TIMEOUT, opt->timeout_s ? opt->timeout_s : 10,
				  MHD_OPTION_THREAD_POOL_SIZE, opt->threads > 1 ? opt->threads : 0,
				  MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
				  MHD_OPTION_END);
	if (s->mhd == NULL) {
		*errstr = xasprintf("cannot listen on %s", listen);
		free(s);
		return NULL;
	}
	return s;
}

/* http_stop - see http.h */
struct http_server *http_stop(struct http_server *s)
{
	if (s) {
		MHD_stop_daemon(s->mhd);
		free(s);
	}
	return NULL;
}
