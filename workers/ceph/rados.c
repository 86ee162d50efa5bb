/*
 * rados.c: the rados thread (ceph_int.h): every librados/librbd call of the worker.
 * Commands go to the monitor (status, health, df, osd dump, osd metadata) and the
 * manager (osd df, pg dump) as JSON, so nothing parses human tables. The client is
 * created on the first job and again after a failure, with short timeouts:
 * a dead cluster costs each job a few seconds here, never the loop.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcntl.h>

#include "ceph_int.h"
#include "log.h"


static void *thread_main(void *arg)
{
	struct ceph_rados *r = arg;

	for (;;) {
		struct ceph_job *j, **tail;
		uint64_t t0;

		if (pthread_mutex_lock(&r->mu) != 0)
			return NULL;
		while (r->queue == NULL)
			(void)pthread_cond_wait(&r->cv, &r->mu);
		j = r->queue;
		r->queue = j->next;
		j->next = NULL;
		(void)pthread_mutex_unlock(&r->mu);
		if (j->kind == CEPH_JOB_STOP) {
			ceph_client_disconnect(r);
			free(j);
			return NULL;
		}
		t0 = mono_ms();
		if (ceph_client_connect(r, j->err, sizeof(j->err)) != 0)
			j->ok = 0;
		else if (j->kind == CEPH_JOB_STATS)
			j->ok = ceph_statjob_run(r, j) == 0;
		else
			j->ok = ceph_lockjob_run(r, j) == 0;
		j->took_ms = mono_ms() - t0;
		/* a timeout may leave the client half-dead: start afresh next time */
		if (j->kind == CEPH_JOB_STATS &&
		    (!j->ok || (j->primary && !j->head_ok) || (j->nosds > 0 && !j->osds_ok)))
			ceph_client_disconnect(r);
		(void)pthread_mutex_lock(&r->mu);
		for (tail = &r->done; *tail; tail = &(*tail)->next)
			;
		*tail = j;
		(void)pthread_mutex_unlock(&r->mu);
		/* no log here (ceph_int.h): the loop logs a failed wake when it next runs */
		if (write(r->wake[1], "j", 1) != 1 && errno != EAGAIN) {
			int e = errno;

			(void)pthread_mutex_lock(&r->mu);
			r->wake_errno = e;
			(void)pthread_mutex_unlock(&r->mu);
		}
	}
}

int ceph_rados_init(struct ceph_rados *r, const struct pvc_config *cfg)
{
	snprintf(r->conf, sizeof(r->conf), "%s", cfg->ceph_conf);
	snprintf(r->keyring, sizeof(r->keyring), "%s", cfg->ceph_keyring);
	snprintf(r->client, sizeof(r->client), "client.%s", cfg->ceph_client);
	if (pthread_mutex_init(&r->mu, NULL) != 0 || pthread_cond_init(&r->cv, NULL) != 0)
		return -1;
	if (pipe2(r->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		log_err("ceph: pipe");
		return -1;
	}
	if (pthread_create(&r->thread, NULL, thread_main, r) != 0) {
		log_errx("ceph: cannot start the rados thread");
		return -1;
	}
	r->started = 1;
	return 0;
}

void ceph_rados_submit(struct ceph_rados *r, struct ceph_job *j)
{
	struct ceph_job **tail;

	j->next = NULL;
	(void)pthread_mutex_lock(&r->mu);
	for (tail = &r->queue; *tail; tail = &(*tail)->next)
		;
	*tail = j;
	(void)pthread_cond_signal(&r->cv);
	(void)pthread_mutex_unlock(&r->mu);
}

struct ceph_job *ceph_rados_take_done(struct ceph_rados *r)
{
	struct ceph_job *d;
	char buf[64];
	int e;

	while (read(r->wake[0], buf, sizeof(buf)) > 0)
		;
	(void)pthread_mutex_lock(&r->mu);
	d = r->done;
	r->done = NULL;
	e = r->wake_errno;
	r->wake_errno = 0;
	(void)pthread_mutex_unlock(&r->mu);
	if (e)
		log_warnx("ceph: the rados thread could not wake the loop: %s", strerror(e));
	return d;
}

/* At shutdown: a thread stuck in a call to a dead cluster is not waited for (the
 * process exits anyway); a free one disconnects cleanly. */
void ceph_rados_stop(struct ceph_rados *r)
{
	struct ceph_job *j;

	if (!r->started)
		return;
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return;
	j->kind = CEPH_JOB_STOP;
	ceph_rados_submit(r, j);
	r->started = 0;
}

void ceph_rados_job_free(struct ceph_job *j)
{
	if (j == NULL)
		return;
	for (int i = 0; i < j->nkv; i++)
		free(j->kv[i].value);
	free(j->notes);
	free(j);
}
