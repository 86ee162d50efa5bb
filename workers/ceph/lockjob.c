/*
 * lockjob.c: break every RBD lock of a list of images (rados thread), as the
 * reference's flush_locks does with `rbd lock list` / `rbd lock remove`: the
 * lockers of each image are listed and each lock broken (librbd blocklists the
 * holder, so a writer that was only partitioned cannot write on). Every volume is
 * tried, whatever happened to the ones before (a VM with one unreachable volume
 * still gets its others freed); an image that cannot be opened or whose locks
 * cannot be broken fails the job, whose err lists each failure.
 *
 * Nothing here logs: this is the rados thread, and the log goes to the supervisor
 * channel the loop owns. What is to be said goes into j->notes and j->err, which
 * the loop logs when the job comes back (cycle.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rados/librados.h>
#include <rbd/librbd.h>

#include "ceph_int.h"

#define LOCKER_BUF 4096

/* one more failure into j->err ("; "-separated, truncated when long) */
static void fail(struct ceph_job *j, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail(struct ceph_job *j, const char *fmt, ...)
{
	size_t l = strlen(j->err);
	va_list ap;

	j->nfailed++;
	if (l + 8 >= sizeof(j->err))
		return;
	if (l)
		l += (size_t)snprintf(j->err + l, sizeof(j->err) - l, "; ");
	if (l >= sizeof(j->err))
		return;
	va_start(ap, fmt);
	(void)vsnprintf(j->err + l, sizeof(j->err) - l, fmt, ap);
	va_end(ap);
}

static void break_image(rados_ioctx_t io, const char *img, struct ceph_job *j)
{
	rbd_image_t im;
	char tag[256], clients[LOCKER_BUF], cookies[LOCKER_BUF], addrs[LOCKER_BUF];
	size_t tl = sizeof(tag), cl = sizeof(clients), kl = sizeof(cookies), al = sizeof(addrs);
	int excl = 0, rc;
	ssize_t n;
	const char *c, *k;

	rc = rbd_open(io, img, &im, NULL);
	if (rc < 0) {
		fail(j, "cannot open volume %s: %s", img, strerror(-rc));
		return;
	}
	n = rbd_list_lockers(im, &excl, tag, &tl, clients, &cl, cookies, &kl, addrs, &al);
	if (n < 0) {
		fail(j, "cannot list the locks of volume %s: %s", img, strerror((int)-n));
		(void)rbd_close(im);
		return;
	}
	c = clients;
	k = cookies;
	for (ssize_t i = 0; i < n; i++) {
		rc = rbd_break_lock(im, c, k);
		if (rc < 0 && rc != -ENOENT) {
			fail(j, "cannot free RBD lock \"%s\" of %s on volume %s: %s", k, c, img,
			     strerror(-rc));
		} else {
			char line[512];

			/* names bounded for the log line: volume names are short */
			snprintf(line, sizeof(line), "freed RBD lock \"%.100s\" of %.100s on volume %.256s",
				 k, c, img);
			ceph_client_note(j, line);
			j->nbroken++;
		}
		c += strlen(c) + 1;
		k += strlen(k) + 1;
	}
	(void)rbd_close(im);
}

int ceph_lockjob_run(struct ceph_rados *r, struct ceph_job *j)
{
	for (int i = 0; i < j->nimages; i++) {
		char pool[256];
		const char *img = strchr(j->images[i], '/');
		rados_ioctx_t io;
		int rc;

		if (img == NULL || img == j->images[i] || img[1] == '\0') {
			fail(j, "volume %s is not pool/image", j->images[i]);
			continue;
		}
		snprintf(pool, sizeof(pool), "%.*s", (int)(img - j->images[i]), j->images[i]);
		rc = rados_ioctx_create((rados_t)r->cluster, pool, &io);
		if (rc < 0) {
			fail(j, "pool %s of volume %s: %s", pool, j->images[i], strerror(-rc));
			continue;
		}
		break_image(io, img + 1, j);
		rados_ioctx_destroy(io);
	}
	return j->nfailed ? -1 : 0;
}
