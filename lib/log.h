/*
 * log.h: the reference's log line format (state letters, optional colours and dates).
 *
 * The supervisor writes lines to stdout and/or <log_directory>/pvc.log. Workers hand
 * their lines to the supervisor as MSG_LOG frames (log_set_sink()), so that one
 * process owns the outputs and SIGHUP reopens the file in one place. Before a worker
 * has a channel, or if the channel is gone, lines go to stderr.
 */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>
#include <stddef.h>

/* State letters of the reference: o ok, e error, w warning, t tick, i info, s system,
 * 0 = plain banner line (no prompt, no date). 'd' = debug (only when debug is on). */

struct log_opts {
	int colours;
	int dates;
	int to_stdout;
	int debug;
};

typedef void (*log_sink_fn)(char state, const char *prefix, const char *msg, void *arg);

void log_init(const char *default_prefix, const struct log_opts *opts);
void log_set_opts(const struct log_opts *opts);
/* Supervisor: open (or reopen on SIGHUP) the log file; NULL closes it. 0 / -1. */
int log_open_file(const char *path);
/* Workers: route lines through `fn` instead of writing them. */
void log_set_sink(log_sink_fn fn, void *arg);
/* Format and write one line now (supervisor side; also used for forwarded worker lines). */
void log_write_line(char state, const char *prefix, const char *msg);

void logmsg(char state, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void logmsg_prefix(char state, const char *prefix, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void vlogmsg(char state, const char *prefix, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#define log_info(...) logmsg('i', __VA_ARGS__)
#define log_ok(...) logmsg('o', __VA_ARGS__)
#define log_warnx(...) logmsg('w', __VA_ARGS__)
#define log_errx(...) logmsg('e', __VA_ARGS__)
#define log_sys(...) logmsg('s', __VA_ARGS__)
#define log_debug(...) logmsg('d', __VA_ARGS__)
/* warnings with strerror(errno) appended */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Log an error and exit(1) / exit(code). */
void fatal(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void fatalx(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void fatal_code(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));

#endif
