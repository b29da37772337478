/*
 * lateserver.h - a DNS server on a loopback port of the test's own, in a
 * thread: it answers queries one after the other, each delay_ms late,
 * from a small zone (TXT and A records) or with TXT "v=spf1 +all" to
 * everything.  For test_dns and bench_spf; static functions, include it
 * once per program.
 */
#ifndef PARAPET_LATESERVER_H
#define PARAPET_LATESERVER_H

#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "net/dns.h"

/* LS_CHECK - a setup step that must not fail */
#define LS_CHECK(x) do { if (!(x)) abort(); } while (0)

/* udp_open - a UDP socket on 127.0.0.1 and a free port */
static int udp_open(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	LS_CHECK(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	LS_CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	LS_CHECK(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* a record of a late_server's zone: TXT text or an IPv4 address */
struct zone_rr {
	const char *name;
	int type;			/* DNS_T_TXT or DNS_T_A */
	const char *value;
};

/* a server answering queries one after the other, each delay_ms late:
 * from its zone when it has one (NXDOMAIN for other names, NODATA for
 * other types), else every query with TXT "v=spf1 +all" */
struct late_server {
	int fd;
	int delay_ms;
	const struct zone_rr *zone;	/* ends with { NULL }, or NULL */
	atomic_int answered;
	atomic_bool stop;
	pthread_t thread;
};

/* zone_find - the record of the zone for the question at q + 12 (name
 * in wire form) and type; *known: the name is in the zone */
static const struct zone_rr *zone_find(const struct zone_rr *zone, const unsigned char *q,
				       size_t n, int type, bool *known)
{
	char name[DNS_NAME_MAX + 2];
	size_t o = 0;

	for (size_t i = 12; i < n && q[i] != 0 && o + q[i] + 2 < sizeof(name); i += q[i] + 1u) {
		if (o)
			name[o++] = '.';
		memcpy(name + o, q + i + 1, q[i]);
		o += q[i];
	}
	name[o] = '\0';
	*known = false;
	for (; zone && zone->name; zone++) {
		if (strcasecmp(zone->name, name) != 0)
			continue;
		*known = true;
		if (zone->type == type)
			return zone;
	}
	return NULL;
}

/* late_reply - the answer to query q (n bytes) in out; its length, or 0 */
static size_t late_reply(const struct late_server *ls, const unsigned char *q, size_t n,
			 unsigned char *out, size_t cap)
{
	const struct zone_rr *rr = NULL;
	unsigned char rdata[256];
	size_t i = 12, rdlen;
	bool known = true;

	while (i < n && q[i] != 0)	/* the question's name */
		i += (size_t)q[i] + 1;
	i += 5;				/* root label, QTYPE, QCLASS */
	if (n < 12 || i > n || i + 12 + sizeof(rdata) > cap)
		return 0;
	int type = q[i - 4] << 8 | q[i - 3];
	if (ls->zone)
		rr = zone_find(ls->zone, q, i - 4, type, &known);
	const char *text = ls->zone ? (rr ? rr->value : NULL) : "v=spf1 +all";
	if (text && type == DNS_T_A) {
		LS_CHECK(inet_pton(AF_INET, text, rdata) == 1);
		rdlen = 4;
	} else if (text) {
		rdlen = strlen(text) + 1;
		LS_CHECK(rdlen < sizeof(rdata));
		rdata[0] = (unsigned char)(rdlen - 1);
		memcpy(rdata + 1, text, rdlen - 1);
	}
	memcpy(out, q, i);
	out[2] = (unsigned char)(0x84 | (q[2] & 1));	/* QR, AA, the RD asked */
	out[3] = known ? 0x80 : 0x83;	/* RA, NOERROR or NXDOMAIN */
	out[6] = 0;			/* ANCOUNT 1 or 0 */
	out[7] = text != NULL;
	out[8] = out[9] = out[10] = out[11] = 0;
	if (text == NULL)
		return i;
	unsigned char hdr[] = {
		0xc0, 0x0c,		/* the question's name */
		0, (unsigned char)type, 0, 1,	/* TYPE IN */
		0, 0, 0, 60,		/* TTL */
		0, (unsigned char)rdlen,
	};
	memcpy(out + i, hdr, sizeof(hdr));
	memcpy(out + i + sizeof(hdr), rdata, rdlen);
	return i + sizeof(hdr) + rdlen;
}

/* late_main - answer queries one after the other, each delay_ms late */
static void *late_main(void *arg)
{
	struct late_server *ls = arg;
	unsigned char q[512], a[800];
	struct sockaddr_storage from;

	while (!atomic_load(&ls->stop)) {
		struct pollfd p = { .fd = ls->fd, .events = POLLIN };
		if (poll(&p, 1, 50) <= 0)
			continue;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(ls->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &flen);
		if (n <= 0)
			continue;
		usleep((useconds_t)ls->delay_ms * 1000);
		size_t alen = late_reply(ls, q, (size_t)n, a, sizeof(a));
		if (alen)
			(void)!sendto(ls->fd, a, alen, 0, (struct sockaddr *)&from, flen);
		atomic_fetch_add(&ls->answered, 1);
	}
	return NULL;
}

/* late_start - a late_server answering delay_ms late from zone (NULL:
 * "v=spf1 +all" to everything), on *port */
static void late_start(struct late_server *ls, int delay_ms, const struct zone_rr *zone,
		       int *port)
{
	ls->delay_ms = delay_ms;
	ls->zone = zone;
	ls->fd = udp_open(port);
	atomic_init(&ls->answered, 0);
	atomic_init(&ls->stop, false);
	LS_CHECK(pthread_create(&ls->thread, NULL, late_main, ls) == 0);
}

/* late_stop - stop and close it */
static void late_stop(struct late_server *ls)
{
	atomic_store(&ls->stop, true);
	pthread_join(ls->thread, NULL);
	close(ls->fd);
}

#endif
