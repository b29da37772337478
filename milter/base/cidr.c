/*
 * cidr.c - parse and match CIDR network lists.  A parsed list is immutable
 * and may be read by any thread.  IPv4-mapped IPv6 client addresses
 * (::ffff:192.0.2.1) match IPv4 networks, as Postfix reports them either way.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/cidr.h"
#include "base/util.h"

/* cidr_parse_one - one "ADDR" or "ADDR/BITS" */
static int cidr_parse_one(const char *tok, struct cidr *c)
{
	char addr[64];
	const char *slash = strchr(tok, '/');
	size_t alen = slash ? (size_t)(slash - tok) : strlen(tok);
	int maxbits;

	if (alen == 0 || alen >= sizeof(addr))
		return -1;
	memcpy(addr, tok, alen);
	addr[alen] = '\0';
	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, addr, c->addr) == 1) {
		c->family = AF_INET;
		maxbits = 32;
	} else if (inet_pton(AF_INET6, addr, c->addr) == 1) {
		c->family = AF_INET6;
		maxbits = 128;
	} else {
		return -1;
	}
	c->bits = maxbits;
	if (slash) {
		char *end;
		long b = strtol(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end != '\0' || b < 0 || b > maxbits)
			return -1;
		c->bits = (int)b;
	}
	return 0;
}

/* cidr_list_parse - comma or space separated networks */
int cidr_list_parse(const char *text, struct cidr_list *list, const char **err)
{
	char *copy = xstrdup(text);
	char *save = NULL;

	list->items = NULL;
	list->count = 0;
	for (char *tok = strtok_r(copy, ", \t", &save); tok;
	     tok = strtok_r(NULL, ", \t", &save)) {
		struct cidr c;
		if (cidr_parse_one(tok, &c) < 0) {
			*err = "not an IP address or CIDR network";
			free(copy);
			cidr_list_free(list);
			return -1;
		}
		list->items = xrealloc(list->items,
				       (list->count + 1) * sizeof(*list->items));
		list->items[list->count++] = c;
	}
	free(copy);
	return 0;
}

/* cidr_list_free - release a list */
void cidr_list_free(struct cidr_list *list)
{
	free(list->items);
	list->items = NULL;
	list->count = 0;
}

/* prefix_eq - first bits of a and b agree */
static bool prefix_eq(const unsigned char *a, const unsigned char *b, int bits)
{
	int bytes = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)bytes) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (a[bytes] & mask) == (b[bytes] & mask);
}

/* cidr_list_match - address inside one of the networks */
bool cidr_list_match(const struct cidr_list *list, const char *ip)
{
	unsigned char a4[4], a6[16];
	bool is4 = false, is6 = false;

	if (ip == NULL || list->count == 0)
		return false;
	if (inet_pton(AF_INET, ip, a4) == 1) {
		is4 = true;
	} else if (inet_pton(AF_INET6, ip, a6) == 1) {
		is6 = true;
		static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0,
							  0, 0, 0, 0, 0xff, 0xff };
		if (memcmp(a6, mapped, 12) == 0) {
			memcpy(a4, a6 + 12, 4);
			is4 = true;
		}
	}
	for (size_t i = 0; i < list->count; i++) {
		const struct cidr *c = &list->items[i];
		if (c->family == AF_INET && is4 && prefix_eq(a4, c->addr, c->bits))
			return true;
		if (c->family == AF_INET6 && is6 && prefix_eq(a6, c->addr, c->bits))
			return true;
	}
	return false;
}
