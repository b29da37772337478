/*
 * config.h - parapet.conf (SPEC §3): one table of keys with defaults and
 * ranges, parsed into an immutable struct config.  A loaded config is
 * shared read-only by all threads; a reload builds a new one.
 */
#ifndef PARAPET_CONFIG_H
#define PARAPET_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "base/cidr.h"

enum on_error {
	ON_ERROR_TEMPFAIL,
	ON_ERROR_ACCEPT,
};

enum run_mode {
	MODE_ENFORCE,		/* act on the verdict */
	MODE_OBSERVE,		/* headers and logs only: every message accepted */
};

struct config {
	char *path;		/* file it came from, or NULL for defaults */
	char *socket;
	int socket_mode;
	char *user;
	char *pidfile;
	int log_level;		/* enum log_level */
	char *rules_dir;
	char *lists_file;	/* allow/block lists (rules/lists.c) or NULL */
	char *policy_file;	/* per-recipient policy (core/policy.c) or NULL */
	char *authserv_id;
	double tag_score;
	bool quarantine_on;
	double quarantine_score;
	double reject_score;
	bool greylist;
	double greylist_score;
	long greylist_delay;
	long greylist_window;
	long max_scan_bytes;
	struct cidr_list trusted_networks;
	bool skip_authenticated;
	char *redis;
	char *redis_sentinels;
	char *redis_master_name;
	char *redis_password;	/* redis_password, or read from redis_password_file */
	char *redis_password_file;
	long redis_db;
	char *redis_prefix;
	char *bayes_totals_key;	/* redis_prefix + "bayes", made once at load */
	long redis_timeout_ms;
	char *dns_nameservers;
	long dns_timeout_ms;
	int on_error;		/* enum on_error */
	long rep_half_life;
	long rep_min_count;
	bool bayes;
	long bayes_min_spam;
	long bayes_min_ham;
	long bayes_token_ttl;
	bool bayes_auto_learn;	/* SpamAssassin's AutoLearnThreshold */
	double bayes_auto_learn_threshold_spam;
	double bayes_auto_learn_threshold_nonspam;
	long log_max;
	char *metrics_listen;
	int mode;		/* enum run_mode */
	char *subject_tag;	/* prefix of a tagged message's Subject, or NULL */
	char *reject_text;	/* SMTP reply texts; %q: the queue id */
	char *tempfail_text;
	char *greylist_text;
};

/* config_default_path - $sysconfdir/parapet/parapet.conf */
const char *config_default_path(void);

/*
 * config_load - read a config file.  Returns NULL and sets *errstr
 * (caller frees) to "FILE:LINE: reason" on the first error.  A NULL path
 * gives the built-in defaults.
 */
struct config *config_load(const char *path, char **errstr);
/* config_parse_buf - same, from memory (tests, fuzzing); name labels errors */
struct config *config_parse_buf(const char *name, const char *text, size_t len,
				char **errstr);
/* config_free - release; returns NULL */
struct config *config_free(struct config *cfg);

/* config_restart_needed - name of a key that differs and needs a restart, or NULL */
const char *config_restart_needed(const struct config *a,
				  const struct config *b);

#endif
