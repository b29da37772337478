/*
 * cidr.h - lists of IPv4/IPv6 networks (trusted_networks) and matching a
 * client address against them.
 */
#ifndef PARAPET_CIDR_H
#define PARAPET_CIDR_H

#include <stdbool.h>
#include <stddef.h>

struct cidr {
	int family;		/* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int bits;
};

struct cidr_list {
	struct cidr *items;
	size_t count;
};

/* cidr_list_parse - "10.0.0.0/8, ::1 192.0.2.1"; 0 or -1 with *err set (static) */
int cidr_list_parse(const char *text, struct cidr_list *list, const char **err);
/* cidr_list_add - append one "ADDR" or "ADDR/BITS" (no white space); -1
 * if it is neither (list unchanged) */
int cidr_list_add(struct cidr_list *list, const char *net);
void cidr_list_free(struct cidr_list *list);
/* cidr_list_match - is the textual address ip inside one of the networks? */
bool cidr_list_match(const struct cidr_list *list, const char *ip);

/*
 * cidr_ip_parse - the one IP canonicaliser: a textual address (leading
 * whitespace, "[...]" and "IPv6:" allowed) into addr; 4 for IPv4 (an
 * IPv4-mapped IPv6 address, ::ffff:a.b.c.d, is IPv4: its 4 bytes in
 * addr[0..3]), 6 for IPv6, 0 if ip is not an address literal.
 */
int cidr_ip_parse(const char *ip, unsigned char addr[16]);

#endif
