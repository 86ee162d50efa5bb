/*
 * lockjob.c: break every RBD lock of a list of images (rados thread), as the
 * reference's flush_locks does with `rbd lock list` / `rbd lock remove`: the
 * lockers of each image are listed and each lock broken (librbd blocklists the
 * holder, so a writer that was only partitioned cannot write on). An image that
 * cannot be opened or whose locks cannot be broken fails the job.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rados/librados.h>
#include <rbd/librbd.h>

#include "ceph_int.h"
#include "log.h"

#define LOCKER_BUF 4096

static int break_image(rados_ioctx_t io, const char *img, struct ceph_job *j)
{
	rbd_image_t im;
	char tag[256], clients[LOCKER_BUF], cookies[LOCKER_BUF], addrs[LOCKER_BUF];
	size_t tl = sizeof(tag), cl = sizeof(clients), kl = sizeof(cookies), al = sizeof(addrs);
	int excl = 0, rc;
	ssize_t n;
	const char *c, *k;

	rc = rbd_open(io, img, &im, NULL);
	if (rc < 0) {
		snprintf(j->err, sizeof(j->err), "cannot open volume %s: %s", img, strerror(-rc));
		return -1;
	}
	n = rbd_list_lockers(im, &excl, tag, &tl, clients, &cl, cookies, &kl, addrs, &al);
	if (n < 0) {
		snprintf(j->err, sizeof(j->err), "cannot list the locks of volume %s: %s", img,
			 strerror((int)-n));
		(void)rbd_close(im);
		return -1;
	}
	c = clients;
	k = cookies;
	for (ssize_t i = 0; i < n; i++) {
		rc = rbd_break_lock(im, c, k);
		if (rc < 0 && rc != -ENOENT) {
			snprintf(j->err, sizeof(j->err), "cannot free RBD lock \"%s\" of %s on volume %s: %s",
				 k, c, img, strerror(-rc));
			(void)rbd_close(im);
			return -1;
		}
		log_ok("ceph: freed RBD lock \"%s\" of %s on volume %s", k, c, img);
		j->nbroken++;
		c += strlen(c) + 1;
		k += strlen(k) + 1;
	}
	(void)rbd_close(im);
	return 0;
}

int ceph_lockjob_run(struct ceph_rados *r, struct ceph_job *j)
{
	for (int i = 0; i < j->nimages; i++) {
		char pool[256];
		const char *img = strchr(j->images[i], '/');
		rados_ioctx_t io;
		int rc;

		if (img == NULL || img == j->images[i] || img[1] == '\0') {
			snprintf(j->err, sizeof(j->err), "volume %s is not pool/image", j->images[i]);
			return -1;
		}
		snprintf(pool, sizeof(pool), "%.*s", (int)(img - j->images[i]), j->images[i]);
		rc = rados_ioctx_create((rados_t)r->cluster, pool, &io);
		if (rc < 0) {
			snprintf(j->err, sizeof(j->err), "pool %s of volume %s: %s", pool,
				 j->images[i], strerror(-rc));
			return -1;
		}
		rc = break_image(io, img + 1, j);
		rados_ioctx_destroy(io);
		if (rc != 0)
			return -1;
	}
	return 0;
}
