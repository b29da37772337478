/*
 * cidr.c - parse and match CIDR network lists.  A parsed list is immutable
 * and may be read by any thread.  IPv4-mapped IPv6 client addresses
 * (::ffff:192.0.2.1) match IPv4 networks, as Postfix reports them either way.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "base/cidr.h"
#include "base/util.h"

/* the IPv6 prefix of an IPv4-mapped address, ::ffff:0:0/96 */
static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

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

/* cidr_list_add - append one "ADDR" or "ADDR/BITS"; -1 if it is neither */
int cidr_list_add(struct cidr_list *list, const char *net)
{
	struct cidr c;

	if (cidr_parse_one(net, &c) < 0)
		return -1;
	list->items = xrealloc(list->items, (list->count + 1) * sizeof(*list->items));
	list->items[list->count++] = c;
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
		if (cidr_list_add(list, tok) < 0) {
			*err = "not an IP address or CIDR network";
			free(copy);
			cidr_list_free(list);
			return -1;
		}
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

/* cidr_ip_parse - see cidr.h */
int cidr_ip_parse(const char *ip, unsigned char addr[16])
{
	char tmp[INET6_ADDRSTRLEN + 8];
	size_t n;

	if (ip == NULL)
		return 0;
	while (isspace((unsigned char)*ip))
		ip++;
	if (*ip == '[')
		ip++;
	if (strncasecmp(ip, "IPv6:", 5) == 0)
		ip += 5;
	/* look at no more than fits: rep_admin.c's received_ip calls this at every '['
	 * of a field, and strcspn to the end each time was quadratic */
	for (n = 0; n < sizeof(tmp) && ip[n] && ip[n] != ']' && ip[n] != ' ' && ip[n] != '\t'; n++)
		;
	if (n == 0 || n >= sizeof(tmp))
		return 0;
	memcpy(tmp, ip, n);
	tmp[n] = '\0';
	if (inet_pton(AF_INET, tmp, addr) == 1)
		return 4;
	if (inet_pton(AF_INET6, tmp, addr) == 1) {
		if (memcmp(addr, v4mapped, 12) == 0) {
			memmove(addr, addr + 12, 4);
			return 4;
		}
		return 6;
	}
	return 0;
}

/* cidr_list_match - address inside one of the networks */
bool cidr_list_match(const struct cidr_list *list, const char *ip)
{
	unsigned char a[16], a6[16];
	int fam;

	if (ip == NULL || list->count == 0 || (fam = cidr_ip_parse(ip, a)) == 0)
		return false;
	/* an IPv4-mapped address matches IPv4 networks and ::ffff:0:0/96 */
	if (fam == 4 && strchr(ip, ':') != NULL) {
		memcpy(a6, v4mapped, 12);
		memcpy(a6 + 12, a, 4);
	} else {
		memcpy(a6, a, 16);
	}
	for (size_t i = 0; i < list->count; i++) {
		const struct cidr *c = &list->items[i];
		if (c->family == AF_INET && fam == 4 && prefix_eq(a, c->addr, c->bits))
			return true;
		if (c->family == AF_INET6 && (fam == 6 || strchr(ip, ':') != NULL) &&
		    prefix_eq(a6, c->addr, c->bits))
			return true;
	}
	return false;
}
