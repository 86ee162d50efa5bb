/*
 * log.c: log lines in the reference's format (ref §10):
 *   <colour><prompt><reset><date><prefix - ><message>
 * Each process has its own logger state (this file's statics are per process; no two
 * roles share memory: workers are separate executions).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "pvc.h"

struct logger {
	struct log_opts opts;
	char default_prefix[64];
	int file_fd;
	log_sink_fn sink;
	void *sink_arg;
	int in_sink; /* a sink that logs must not recurse */
};

static struct logger logger = {
	.opts = {.colours = 0, .dates = 1, .to_stdout = 1, .debug = 0},
	.file_fd = -1,
};

void log_init(const char *default_prefix, const struct log_opts *opts)
{
	strlcpy_pvc(logger.default_prefix, default_prefix ? default_prefix : "",
		    sizeof(logger.default_prefix));
	if (opts)
		logger.opts = *opts;
}

void log_set_opts(const struct log_opts *opts)
{
	logger.opts = *opts;
}

int log_open_file(const char *path)
{
	int fd = -1;

	if (path) {
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd < 0)
			return -1;
	}
	if (logger.file_fd >= 0)
		close(logger.file_fd);
	logger.file_fd = fd;
	return 0;
}

void log_set_sink(log_sink_fn fn, void *arg)
{
	logger.sink = fn;
	logger.sink_arg = arg;
}

static const char *state_colour(char state)
{
	switch (state) {
	case 'o': return "\033[92m";
	case 'e': return "\033[91m";
	case 'w': return "\033[93m";
	case 't': return "\033[95m";
	case 'i': return "\033[94m";
	case 's': return "\033[96m";
	case 'd': return "\033[90m";
	default: return "";
	}
}

static const char *state_word(char state)
{
	switch (state) {
	case 'o': return "ok: ";
	case 'e': return "failed: ";
	case 'w': return "warning: ";
	case 't': return "tick: ";
	case 'i': return "info: ";
	case 's': return "system: ";
	case 'd': return "debug: ";
	default: return "";
	}
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return; /* nowhere left to report a failed log write */
		}
		buf += w;
		len -= (size_t)w;
	}
}

void log_write_line(char state, const char *prefix, const char *msg)
{
	char date[64] = "";
	char line[8192];
	int n;
	int plain = (state == '0');
	const char *colour = "", *reset = "", *prompt = "";

	if (state == 'd' && !logger.opts.debug)
		return;
	if (!plain) {
		if (logger.opts.colours) {
			colour = state_colour(state);
			reset = "\033[0m";
			prompt = ">>> ";
		} else {
			prompt = state_word(state);
		}
		if (logger.opts.dates) {
			struct timeval tv;
			struct tm tm;
			gettimeofday(&tv, NULL);
			if (localtime_r(&tv.tv_sec, &tm) != NULL) {
				size_t l = strftime(date, sizeof(date), "%Y/%m/%d %H:%M:%S", &tm);
				snprintf(date + l, sizeof(date) - l, ".%06ld - ", (long)tv.tv_usec);
			}
		}
	}
	n = snprintf(line, sizeof(line), "%s%s%s%s%s%s%s\n", colour, prompt, reset, date,
		     (prefix && *prefix) ? prefix : "", (prefix && *prefix) ? " - " : "", msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	if (logger.opts.to_stdout)
		write_all(STDOUT_FILENO, line, (size_t)n);
	if (logger.file_fd >= 0)
		write_all(logger.file_fd, line, (size_t)n);
}

void vlogmsg(char state, const char *prefix, const char *fmt, va_list ap)
{
	char msg[4096];

	if (state == 'd' && !logger.opts.debug)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (prefix == NULL)
		prefix = logger.default_prefix;
	if (logger.sink && !logger.in_sink) {
		logger.in_sink = 1;
		logger.sink(state, prefix, msg, logger.sink_arg);
		logger.in_sink = 0;
		return;
	}
	log_write_line(state, prefix, msg);
}

void logmsg(char state, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlogmsg(state, NULL, fmt, ap);
	va_end(ap);
}

void logmsg_prefix(char state, const char *prefix, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlogmsg(state, prefix, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 2, 0)))
static void vlog_errno(char state, const char *fmt, va_list ap)
{
	char msg[3072];
	int saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	logmsg(state, "%s: %s", msg, strerror(saved));
}

void log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_errno('w', fmt, ap);
	va_end(ap);
}

void log_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_errno('e', fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_errno('e', fmt, ap);
	va_end(ap);
	exit(PVC_EXIT_FATAL);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlogmsg('e', NULL, fmt, ap);
	va_end(ap);
	exit(PVC_EXIT_FATAL);
}

void fatal_code(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlogmsg('e', NULL, fmt, ap);
	va_end(ap);
	exit(code);
}
