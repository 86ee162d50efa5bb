/*
 * util.c: clocks, fd flags and validators of values that arrive from ZooKeeper or
 * the config (node names, UUIDs, integers). Shared by every process.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pvc.h"

static const char *const role_names[ROLE_COUNT] = {
	[ROLE_SUPERVISOR] = "pvcnoded",
	[ROLE_ZK] = "zk-election",
	[ROLE_VM] = "vm-manager",
	[ROLE_NET] = "net-router",
	[ROLE_FLUSH] = "flush",
	[ROLE_FENCE] = "fence",
	[ROLE_API] = "api-units",
	[ROLE_DNS] = "dns-aggregator",
	[ROLE_META] = "metadata",
	[ROLE_CEPH] = "ceph",
	[ROLE_CTL] = "pvcctl",
};

const char *role_name(enum pvc_role role)
{
	if ((unsigned)role >= ROLE_COUNT)
		return "unknown";
	return role_names[role];
}

/* The program each worker runs as (installed in PVC_LIBEXECDIR, or found beside
 * pvcnoded in a build tree). */
static const char *const role_programs[ROLE_COUNT] = {
	[ROLE_SUPERVISOR] = "pvcnoded",
	[ROLE_ZK] = "pvc-zk-election",
	[ROLE_VM] = "pvc-vm-manager",
	[ROLE_NET] = "pvc-net-router",
	[ROLE_FLUSH] = "pvc-flush",
	[ROLE_FENCE] = "pvc-fence",
	[ROLE_API] = "pvc-api-units",
	[ROLE_DNS] = "pvc-dns-aggregator",
	[ROLE_META] = "pvc-metadata",
	[ROLE_CEPH] = "pvc-ceph",
	[ROLE_CTL] = "pvcctl",
};

const char *role_program(enum pvc_role role)
{
	if ((unsigned)role >= ROLE_COUNT)
		return "unknown";
	return role_programs[role];
}

int role_from_name(const char *name)
{
	for (int r = 0; r < ROLE_COUNT; r++)
		if (strcmp(role_names[r], name) == 0)
			return r;
	return -1;
}

static uint64_t clock_ms(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

uint64_t wall_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int set_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl < 0)
		return -1;
	return fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

size_t strlcpy_pvc(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size > 0) {
		size_t n = len >= size ? size - 1 : len;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

int parse_ll(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int valid_node_name(const char *s)
{
	size_t n = 0;

	if (s == NULL || s[0] == '\0' || s[0] == '.' || s[0] == '-')
		return 0;
	for (; s[n] != '\0'; n++) {
		unsigned char c = (unsigned char)s[n];
		if (!(isalnum(c) || c == '-' || c == '_' || c == '.'))
			return 0;
		if (n >= 63)
			return 0;
	}
	/* "none" is the /primary_node marker, never a node */
	return strcmp(s, "none") != 0;
}

int valid_uuid(const char *s)
{
	static const int dash_at[] = {8, 13, 18, 23};
	size_t i;

	if (s == NULL || strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		int is_dash_pos = 0;
		for (size_t d = 0; d < 4; d++)
			if ((int)i == dash_at[d])
				is_dash_pos = 1;
		if (is_dash_pos) {
			if (s[i] != '-')
				return 0;
		} else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
			return 0;
		}
	}
	return 1;
}

ssize_t read_small_file(const char *path, char *buf, size_t size)
{
	int fd;
	size_t off = 0;

	if (size == 0)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (off + 1 < size) {
		ssize_t r = read(fd, buf + off, size - 1 - off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		off += (size_t)r;
	}
	buf[off] = '\0';
	close(fd);
	return (ssize_t)off;
}
