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
void cidr_list_free(struct cidr_list *list);
/* cidr_list_match - is the textual address ip inside one of the networks? */
bool cidr_list_match(const struct cidr_list *list, const char *ip);

#endif
