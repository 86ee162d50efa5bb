/*
 * notify.c: sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET.
 * Without the variable (no systemd, as in CI) every call is a no-op.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "supervisor.h"

void notify_send(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	size_t plen;
	socklen_t salen;
	int fd;

	if (path == NULL || path[0] == '\0')
		return;
	plen = strlen(path);
	if (plen >= sizeof(sa.sun_path) || (path[0] != '/' && path[0] != '@')) {
		log_warnx("NOTIFY_SOCKET %s is not a usable socket address", path);
		return;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, plen);
	if (path[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract namespace */
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_warn("notify socket");
		return;
	}
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen) < 0)
		log_warn("notify %s", state);
	close(fd);
}

uint64_t notify_watchdog_usec(void)
{
	const char *usec = getenv("WATCHDOG_USEC");
	const char *pid = getenv("WATCHDOG_PID");
	long long v, p;

	if (usec == NULL || parse_ll(usec, 1, 1000000000000LL, &v) != 0)
		return 0;
	if (pid != NULL && (parse_ll(pid, 1, 1 << 30, &p) != 0 || (pid_t)p != getpid()))
		return 0;
	return (uint64_t)v;
}
