/*
 * log.h - graded logging: to stderr in the foreground (-f), to syslog
 * (facility mail) otherwise.  Thread-safe.
 */
#ifndef PARAPET_LOG_H
#define PARAPET_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARNING,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

/* log_open - choose the sink; ident names the program */
void log_open(const char *ident, bool to_stderr);
/* log_set_level - messages above this level are dropped */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* log_level_parse - "error" "warning" "info" "debug"; -1 if none */
int log_level_parse(const char *name);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_text - log_*("%s", text) without printf: the per-message line */
void log_text(enum log_level level, const char *text);
/* log_fatal - log an error and exit(1); for start-up only */
void log_fatal(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

#endif
