/*
 * test_console_open.c: what the supervisor opens for vm-manager as a console log
 * (supervisor/console.c, MSG_VM_CONSOLE_OPEN). It runs as root, so every refusal here
 * is a file a compromised vm-manager must not get a descriptor for.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "supervisor.h"

static char dir[64];
static char secret[96];

static int setup(void **state)
{
	char p[160];
	int fd;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/pvc-console-test.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(secret, sizeof(secret), "%s/secret", dir);
	fd = open(secret, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, "secret\n", 7) != 7 || close(fd) != 0)
		return -1;
	snprintf(p, sizeof(p), "%s/vm1.log", dir);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, "console\n", 8) != 8 || close(fd) != 0)
		return -1;
	snprintf(p, sizeof(p), "%s/link.log", dir);
	if (symlink(secret, p) != 0)
		return -1;
	snprintf(p, sizeof(p), "%s/hard.log", dir);
	if (link(secret, p) != 0)
		return -1;
	snprintf(p, sizeof(p), "%s/fifo.log", dir);
	if (mkfifo(p, 0600) != 0)
		return -1;
	snprintf(p, sizeof(p), "%s/sub.log", dir);
	if (mkdir(p, 0700) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int try_open(const char *name)
{
	int fd = -1;
	int err = sup_console_open_log(dir, name, strlen(name), &fd);

	if (err == 0) {
		assert_true(fd >= 0);
		close(fd);
	}
	return err;
}

static void test_regular_file_read_only(void **state)
{
	char buf[16] = {0};
	int fd = -1;

	(void)state;
	assert_int_equal(sup_console_open_log(dir, "vm1", 3, &fd), 0);
	assert_int_equal(read(fd, buf, sizeof(buf) - 1), 8);
	assert_string_equal(buf, "console\n");
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(write(fd, "x", 1), -1);
	close(fd);
}

static void test_refusals(void **state)
{
	(void)state;
	assert_int_equal(try_open("link"), EINVAL);  /* symlink to a root-only file (O_PATH opens the link) */
	assert_int_equal(try_open("hard"), EINVAL);  /* second name of a root-only file */
	assert_int_equal(try_open("fifo"), EINVAL);  /* would block or have side effects */
	assert_int_equal(try_open("sub"), EINVAL);   /* a directory */
	assert_int_equal(try_open("missing"), ENOENT);
}

static void test_names(void **state)
{
	int fd = -1;

	(void)state;
	assert_int_equal(try_open("../secret"), EINVAL);
	assert_int_equal(try_open("x/../../etc/shadow"), EINVAL);
	assert_int_equal(try_open(".hidden"), EINVAL);
	assert_int_equal(try_open(""), EINVAL);
	/* an embedded NUL must not shorten the name the check saw */
	assert_int_equal(sup_console_open_log(dir, "vm1\0/../x", 9, &fd), EINVAL);
	{
		char longname[101];
		memset(longname, 'a', 100);
		longname[100] = '\0';
		assert_int_equal(try_open(longname), EINVAL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regular_file_read_only),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
