/*
 * log.c - logging sink shared by the daemon, parapetctl and the tests.
 * One line per call; the level filter is an atomic so a reload can change
 * it while milter threads log.  stderr lines are written with one write(2)
 * each, so lines from several threads never interleave.
 *
 * Under systemd, when stderr is the journal's stream (JOURNAL_STREAM names
 * its device and inode, systemd.exec(5)), each line starts with its
 * priority as "<N>" (sd-daemon(3)); journald reads it, and the unit's
 * SyslogFacility=mail supplies the facility (journald takes no facility
 * from a stream's prefix).
 */
#include "autoconfig.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "base/log.h"
#include "base/strbuf.h"

static _Atomic int cur_level = LOG_LVL_INFO;
static bool use_stderr = true;
static const char *log_ident = "parapet";
static bool to_journal;		/* stderr is the journal: "<N>" prefixes */

/* stderr_is_journal - JOURNAL_STREAM is "DEV:INODE" of our stderr */
static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	if (js == NULL || sscanf(js, "%llu:%llu%c", &dev, &ino, &end) != 2)
		return false;
	return fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

/* log_open - choose the sink */
void log_open(const char *ident, bool to_stderr)
{
	log_ident = ident;
	use_stderr = to_stderr;
	to_journal = to_stderr && stderr_is_journal();
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

/* log_set_level - set the filter */
void log_set_level(enum log_level level)
{
	atomic_store(&cur_level, (int)level);
}

/* log_get_level - current filter */
enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load(&cur_level);
}

/* log_level_parse - level by name */
int log_level_parse(const char *name)
{
	static const char *names[] = { "error", "warning", "info", "debug" };

	for (int i = 0; i < 4; i++)
		if (strcasecmp(name, names[i]) == 0)
			return i;
	return -1;
}

static const char *const tags[] = { "error", "warning", "info", "debug" };
static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

#define LOG_LINE_MAX 4096	/* XXX over-long lines are cut at 4 KB */

/* log_prefix - "<N>tag: " or "ident: tag: " into line; its length */
static size_t log_prefix(enum log_level level, char *line)
{
	struct sbuf s;

	sbuf_init(&s, line, LOG_LINE_MAX);
	if (to_journal) {	/* the journal names the program itself */
		sbuf_putc(&s, '<');
		sbuf_put_int(&s, prio[level]);
		sbuf_putc(&s, '>');
	} else {
		sbuf_puts(&s, log_ident);
		sbuf_puts(&s, ": ");
	}
	sbuf_puts(&s, tags[level]);
	sbuf_puts(&s, ": ");
	return s.len < LOG_LINE_MAX ? s.len : LOG_LINE_MAX - 1;
}

/* log_emit - line[0..len) with its newline, cut to LOG_LINE_MAX - 1 */
static void log_emit(char *line, size_t len)
{
	if (len > LOG_LINE_MAX - 2)
		len = LOG_LINE_MAX - 2;
	line[len++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}

/* log_vmsg - format and emit one line */
__attribute__((format(printf, 2, 0)))
static void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];

	if ((int)level > atomic_load(&cur_level))
		return;
	if (!use_stderr) {
		vsyslog(prio[level], fmt, ap);
		return;
	}
	size_t n = log_prefix(level, line);
	int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	if (m < 0)
		return;
	log_emit(line, n + (size_t)m);
}

/* log_text - see log.h */
void log_text(enum log_level level, const char *text)
{
	char line[LOG_LINE_MAX];

	if ((int)level > atomic_load(&cur_level))
		return;
	if (!use_stderr) {
		syslog(prio[level], "%s", text);
		return;
	}
	size_t n = log_prefix(level, line);
	struct sbuf s;
	sbuf_init(&s, line + n, sizeof(line) - n - 1);
	sbuf_puts(&s, text);
	log_emit(line, n + s.len);
}

#define LOG_FN(fn, lvl)                                  \
	void fn(const char *fmt, ...)                    \
	{                                                \
		va_list ap;                              \
		va_start(ap, fmt);                       \
		log_vmsg(lvl, fmt, ap);                  \
		va_end(ap);                              \
	}

LOG_FN(log_error, LOG_LVL_ERROR)
LOG_FN(log_warn, LOG_LVL_WARNING)
LOG_FN(log_info, LOG_LVL_INFO)
LOG_FN(log_debug, LOG_LVL_DEBUG)

/* log_fatal - start-up error: log and exit 1 */
void log_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LVL_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}
