/*
 * libvirt.c: libvirt connection, worker thread pool and lifecycle events.
 *
 * Threading model (why not virEventRegisterImpl on our evloop): libvirt calls the
 * registered event hooks from any thread, including our pool threads, while
 * evloop.c is single-threaded. So libvirt keeps its default event implementation,
 * run by one dedicated thread; lifecycle and close callbacks run there and only
 * post a record to the result pipe. Pool threads run the blocking calls and post
 * their finished job to the same pipe, so the loop sees results and events in the
 * order they were produced. Threads never log (log.c belongs to the loop thread):
 * everything they learn travels in the job.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "log.h"
#include "pvc.h"
#include "vm_libvirt.h"

struct vlv {
	char uri[256];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	virConnectPtr conn; /* guarded by lock; jobs take their own reference */
	int connected;
	int lifecycle_id;
	struct vlv_job *head, *tail;
	int nthreads, long_active;
	int pfd[2]; /* [0] loop reads job pointers, [1] threads write them */
	struct ev_loop *loop;
	vlv_done_fn done;
	void *done_arg;
};

static void quiet_errors(void *arg, virErrorPtr e)
{
	/* errors travel in the jobs; libvirt's default handler would print to stderr */
}

int vm_libvirt_global_init(void)
{
	virSetErrorFunc(NULL, quiet_errors);
	if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0)
		return -1;
	return 0;
}

struct vlv_job *vm_libvirt_job_new(enum vlv_op op, const char *uuid, uint64_t cookie)
{
	struct vlv_job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return NULL;
	j->op = op;
	if (uuid)
		strlcpy_pvc(j->uuid, uuid, sizeof(j->uuid));
	j->cookie = cookie;
	j->is_long = op == VLV_MIGRATE;
	return j;
}

void vm_libvirt_job_free(struct vlv_job *j)
{
	if (j == NULL)
		return;
	free(j->xml);
	free(j->uri);
	free(j->dest_uri);
	free(j->list);
	free(j);
}

/* From a thread: hand a finished job or an event to the loop. A blocking write:
 * the loop drains the pipe continuously, and nothing may be lost. */
static void post(struct vlv *v, struct vlv_job *j)
{
	const char *p = (const char *)&j;
	size_t off = 0;

	while (off < sizeof(j)) {
		ssize_t n = write(v->pfd[1], p + off, sizeof(j) - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* the loop is gone: the process is ending */
			vm_libvirt_job_free(j);
			return;
		}
		off += (size_t)n;
	}
}

static void set_err(struct vlv_job *j, virConnectPtr c, const char *what)
{
	virErrorPtr e = virGetLastError();
	const char *msg = virGetLastErrorMessage();

	j->rc = -1;
	snprintf(j->err, sizeof(j->err), "%s%s%s", what ? what : "", what ? ": " : "",
		 msg ? msg : "unknown libvirt error");
	if (e && (e->code == VIR_ERR_NO_CONNECT || e->code == VIR_ERR_INVALID_CONN ||
		  e->domain == VIR_FROM_RPC))
		j->conn_lost = 1;
	if (c && virConnectIsAlive(c) == 0)
		j->conn_lost = 1;
}

static int is_no_domain(void)
{
	virErrorPtr e = virGetLastError();

	return e && e->code == VIR_ERR_NO_DOMAIN;
}

static void fill_info(virDomainPtr d, struct vlv_dominfo *info)
{
	virDomainInfo di;
	const char *name;

	memset(info, 0, sizeof(*info));
	if (virDomainGetUUIDString(d, info->uuid) < 0)
		info->uuid[0] = '\0';
	name = virDomainGetName(d);
	if (name)
		strlcpy_pvc(info->name, name, sizeof(info->name));
	if (virDomainGetInfo(d, &di) < 0) {
		info->state = LV_ABSENT;
		return;
	}
	info->vir_state = di.state;
	info->mem_kib = di.memory;
	info->vcpus = di.nrVirtCpu;
	if (virDomainIsActive(d) != 1)
		info->state = LV_ABSENT;
	else if (di.state == VIR_DOMAIN_RUNNING)
		info->state = LV_RUNNING;
	else
		info->state = LV_OTHER;
}

static int lifecycle_cb(virConnectPtr c, virDomainPtr d, int event, int detail, void *opaque)
{
	struct vlv *v = opaque;
	struct vlv_job *j = vm_libvirt_job_new(VLV_EVENT, NULL, 0);

	if (j == NULL)
		return 0;
	if (virDomainGetUUIDString(d, j->uuid) < 0) {
		vm_libvirt_job_free(j);
		return 0;
	}
	j->ev_type = event;
	j->ev_detail = detail;
	post(v, j);
	return 0;
}

static void close_cb(virConnectPtr c, int reason, void *opaque)
{
	struct vlv *v = opaque;
	struct vlv_job *j = vm_libvirt_job_new(VLV_EVENT, NULL, 0);

	pthread_mutex_lock(&v->lock);
	if (v->conn == c)
		v->connected = 0;
	pthread_mutex_unlock(&v->lock);
	if (j == NULL)
		return;
	j->ev_closed = 1;
	j->ev_detail = reason;
	post(v, j);
}

/* Open a connection with our callbacks; NULL with err set. */
static virConnectPtr open_conn(struct vlv *v, int *cbid, char *err, size_t errlen)
{
	virConnectPtr c = virConnectOpen(v->uri);
	const char *msg;

	if (c == NULL) {
		msg = virGetLastErrorMessage();
		snprintf(err, errlen, "%s: %s", v->uri, msg ? msg : "cannot connect");
		return NULL;
	}
	*cbid = virConnectDomainEventRegisterAny(c, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
						 VIR_DOMAIN_EVENT_CALLBACK(lifecycle_cb), v, NULL);
	if (*cbid < 0) {
		msg = virGetLastErrorMessage();
		snprintf(err, errlen, "%s: lifecycle events: %s", v->uri, msg ? msg : "?");
		virConnectClose(c);
		return NULL;
	}
	/* Remote drivers only; for the in-process test driver this fails harmlessly. */
	(void)virConnectRegisterCloseCallback(c, close_cb, v, NULL);
	(void)virConnectSetKeepAlive(c, 5, 3);
	return c;
}

static void do_connect(struct vlv *v, struct vlv_job *j)
{
	virConnectPtr old, c;
	int id = -1, oldid;

	c = open_conn(v, &id, j->err, sizeof(j->err));
	if (c == NULL) {
		j->rc = -1;
		j->conn_lost = 1;
		return;
	}
	pthread_mutex_lock(&v->lock);
	old = v->conn;
	oldid = v->lifecycle_id;
	v->conn = c;
	v->lifecycle_id = id;
	v->connected = 1;
	pthread_mutex_unlock(&v->lock);
	if (old) {
		(void)virConnectDomainEventDeregisterAny(old, oldid);
		(void)virConnectUnregisterCloseCallback(old, close_cb);
		(void)virConnectClose(old);
	}
}

static virConnectPtr conn_get(struct vlv *v)
{
	virConnectPtr c = NULL;

	pthread_mutex_lock(&v->lock);
	if (v->conn && v->connected && virConnectRef(v->conn) == 0)
		c = v->conn;
	pthread_mutex_unlock(&v->lock);
	return c;
}

static void do_list(virConnectPtr c, struct vlv_job *j)
{
	virDomainPtr *doms = NULL;
	int n = virConnectListAllDomains(c, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);

	if (n < 0) {
		set_err(j, c, "list domains");
		return;
	}
	j->list = calloc(n > 0 ? (size_t)n : 1, sizeof(*j->list));
	if (j->list == NULL) {
		j->rc = -1;
		strlcpy_pvc(j->err, "out of memory", sizeof(j->err));
	}
	for (int i = 0; i < n; i++) {
		if (j->list) {
			fill_info(doms[i], &j->list[j->nlist]);
			if (j->list[j->nlist].state != LV_ABSENT && j->list[j->nlist].uuid[0])
				j->nlist++;
		}
		virDomainFree(doms[i]);
	}
	free(doms);
}

/* A transient domain from the job's XML. */
static void do_create(virConnectPtr c, struct vlv_job *j)
{
	virDomainPtr d = virDomainCreateXML(c, j->xml ? j->xml : "", 0);

	if (d == NULL) {
		set_err(j, c, NULL);
		j->notfound = 0;
		return;
	}
	j->rc = 0;
	j->err[0] = '\0';
	fill_info(d, &j->info);
	virDomainFree(d);
}

/* CREATE of a domain that exists: adopt (resume) an active one; 1 if an inactive
 * one must be created. */
static int create_existing(virConnectPtr c, virDomainPtr d, struct vlv_job *j)
{
	if (j->info.state == LV_RUNNING) {
		j->adopted = 1;
		return 0;
	}
	if (j->info.state == LV_OTHER && j->info.vir_state == VIR_DOMAIN_PAUSED) {
		j->adopted = 1;
		if (virDomainResume(d) < 0)
			set_err(j, c, "resume");
		fill_info(d, &j->info);
		return 0;
	}
	if (j->info.state == LV_OTHER) {
		j->rc = -1;
		snprintf(j->err, sizeof(j->err), "domain is active in state %d", j->info.vir_state);
		return 0;
	}
	return 1;
}

static void do_destroy(virConnectPtr c, virDomainPtr d, struct vlv_job *j)
{
	if (j->info.state != LV_ABSENT && virDomainDestroy(d) < 0 && !is_no_domain()) {
		set_err(j, c, "destroy");
		fill_info(d, &j->info);
		if (j->info.state == LV_ABSENT)
			j->rc = 0; /* it went away by itself meanwhile */
		return;
	}
	j->info.state = LV_ABSENT;
}

static void do_migrate(virConnectPtr c, virDomainPtr d, struct vlv_job *j)
{
	virTypedParameterPtr params = NULL;
	int np = 0, maxp = 0;
	/* PEER2PEER: the source libvirtd connects to the target, so this sandboxed
	 * process needs no network access (only the local libvirt socket). */
	unsigned int flags = VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER;
	virDomainJobInfo ji;

	/* A migration started by a previous vm-manager (killed meanwhile) may still
	 * run inside libvirtd: never start a second one, and never fall back to a
	 * shutdown because of it. */
	if (virDomainGetJobInfo(d, &ji) == 0 && ji.type != VIR_DOMAIN_JOB_NONE) {
		j->rc = -1;
		j->job_busy = 1;
		strlcpy_pvc(j->err, "a job is already running on the domain", sizeof(j->err));
		return;
	}
	if (j->dest_uri && j->dest_uri[0] &&
	    virTypedParamsAddString(&params, &np, &maxp, VIR_MIGRATE_PARAM_URI,
				    j->dest_uri) < 0) {
		set_err(j, c, "migration parameters");
		return;
	}
	if (virDomainMigrateToURI3(d, j->uri, params, (unsigned)np, flags) < 0) {
		set_err(j, c, "migrate");
		/* In a peer-to-peer migration the source libvirtd's own connection to the
		 * target fails with RPC errors too ("unable to connect to server at
		 * 'hv2:16509'"): that is a failed migration (cold fallback), not our lost
		 * connection (which would retry the migration forever). Only our own
		 * connection's state says the latter. */
		j->conn_lost = virConnectIsAlive(c) != 1;
	}
	virTypedParamsFree(params, np);
	fill_info(d, &j->info);
}

/* The job's domain does not exist. 1 if it is to be created. */
static int domain_missing(virConnectPtr c, struct vlv_job *j)
{
	if (!is_no_domain()) {
		set_err(j, c, "lookup");
		return 0;
	}
	j->notfound = 1;
	j->info.state = LV_ABSENT;
	strlcpy_pvc(j->info.uuid, j->uuid, sizeof(j->info.uuid));
	if (j->op == VLV_CREATE)
		return 1;
	if (j->op == VLV_MIGRATE || j->op == VLV_ABORT) {
		j->rc = -1;
		strlcpy_pvc(j->err, "domain not found", sizeof(j->err));
	}
	return 0;
}

static void do_domain_job(virConnectPtr c, struct vlv_job *j)
{
	virDomainPtr d = virDomainLookupByUUIDString(c, j->uuid);
	int create = 0;

	if (d == NULL) {
		if (domain_missing(c, j))
			do_create(c, j);
		return;
	}
	fill_info(d, &j->info);
	switch (j->op) {
	case VLV_CREATE:
		create = create_existing(c, d, j);
		break;
	case VLV_SHUTDOWN:
#ifdef PVC_TEST_HOOKS
		/* test builds: a guest that ignores ACPI (the test driver always obeys) */
		if (getenv("PVC_TEST_VM_IGNORE_ACPI"))
			break;
#endif
		if (j->info.state != LV_ABSENT && virDomainShutdown(d) < 0 && !is_no_domain())
			set_err(j, c, "shutdown");
		fill_info(d, &j->info);
		break;
	case VLV_DESTROY:
		do_destroy(c, d, j);
		break;
	case VLV_MIGRATE:
		do_migrate(c, d, j);
		break;
	case VLV_ABORT:
		if (virDomainAbortJob(d) < 0)
			set_err(j, c, "abort job");
		break;
	default: /* VLV_LOOKUP: the info is the answer */
		break;
	}
	virDomainFree(d);
	if (create)
		do_create(c, j);
}

static void run_job(struct vlv *v, struct vlv_job *j)
{
	virConnectPtr c;

	if (j->op == VLV_CONNECT) {
		do_connect(v, j);
		return;
	}
	c = conn_get(v);
	if (c == NULL) {
		j->rc = -1;
		j->conn_lost = 1;
		strlcpy_pvc(j->err, "not connected to libvirt", sizeof(j->err));
		return;
	}
	if (j->op == VLV_LIST)
		do_list(c, j);
	else
		do_domain_job(c, j);
	virConnectClose(c); /* drops our reference only */
}

/* Long jobs (migrations) may occupy all but two threads, so that aborts and
 * short jobs always find a thread. Called with the lock held. */
static struct vlv_job *take_job(struct vlv *v)
{
	struct vlv_job *prev = NULL;

	for (struct vlv_job *j = v->head; j; prev = j, j = j->next) {
		if (j->is_long && v->long_active >= v->nthreads - 2)
			continue;
		if (prev)
			prev->next = j->next;
		else
			v->head = j->next;
		if (v->tail == j)
			v->tail = prev;
		j->next = NULL;
		if (j->is_long)
			v->long_active++;
		return j;
	}
	return NULL;
}

static void *pool_thread(void *arg)
{
	struct vlv *v = arg;

	for (;;) {
		struct vlv_job *j;

		pthread_mutex_lock(&v->lock);
		while ((j = take_job(v)) == NULL)
			pthread_cond_wait(&v->cond, &v->lock);
		pthread_mutex_unlock(&v->lock);
		run_job(v, j);
		pthread_mutex_lock(&v->lock);
		if (j->is_long) {
			v->long_active--;
			pthread_cond_broadcast(&v->cond);
		}
		pthread_mutex_unlock(&v->lock);
		post(v, j);
	}
	return NULL;
}

static void *event_thread(void *arg)
{
	for (;;) {
		if (virEventRunDefaultImpl() < 0)
			usleep(100000); /* never spin on a persistent failure */
	}
	return NULL;
}

static void pipe_event(struct ev_loop *loop, int fd, short revents, void *arg)
{
	struct vlv *v = arg;
	struct vlv_job *jobs[64];
	ssize_t n = read(fd, jobs, sizeof(jobs));

	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("libvirt result pipe");
		return;
	}
	/* pointer writes are atomic (< PIPE_BUF), reads come in whole pointers */
	for (size_t i = 0; i < (size_t)n / sizeof(jobs[0]); i++) {
		v->done(jobs[i], v->done_arg);
		vm_libvirt_job_free(jobs[i]);
	}
}

struct vlv *vm_libvirt_open(const char *uri, struct ev_loop *loop, vlv_done_fn done, void *arg,
		     char *err, size_t errlen)
{
	struct vlv *v = calloc(1, sizeof(*v));

	if (v == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	strlcpy_pvc(v->uri, uri, sizeof(v->uri));
	v->loop = loop;
	v->done = done;
	v->done_arg = arg;
	v->lifecycle_id = -1;
	if (pthread_mutex_init(&v->lock, NULL) != 0 || pthread_cond_init(&v->cond, NULL) != 0 ||
	    pipe2(v->pfd, O_CLOEXEC) != 0 || set_nonblock(v->pfd[0]) != 0) {
		snprintf(err, errlen, "pool setup: %s", strerror(errno));
		free(v);
		return NULL;
	}
	v->conn = open_conn(v, &v->lifecycle_id, err, errlen);
	v->connected = v->conn != NULL;
	/* a failed first connection is retried by the caller (VLV_CONNECT) */
	if (ev_add_fd(loop, v->pfd[0], POLLIN, pipe_event, v) != 0) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	return v;
}

int vm_libvirt_start(struct vlv *v, int nthreads)
{
	pthread_t t;

	if (nthreads < 3)
		nthreads = 3;
	v->nthreads = nthreads;
	if (pthread_create(&t, NULL, event_thread, v) != 0)
		return -1;
	(void)pthread_detach(t);
	for (int i = 0; i < nthreads; i++) {
		if (pthread_create(&t, NULL, pool_thread, v) != 0)
			return -1;
		(void)pthread_detach(t);
	}
	return 0;
}

int vm_libvirt_connected(struct vlv *v)
{
	int c;

	pthread_mutex_lock(&v->lock);
	c = v->connected;
	pthread_mutex_unlock(&v->lock);
	return c;
}

int vm_libvirt_submit(struct vlv *v, struct vlv_job *j)
{
	pthread_mutex_lock(&v->lock);
	if (j->urgent) {
		j->next = v->head;
		v->head = j;
		if (v->tail == NULL)
			v->tail = j;
	} else {
		j->next = NULL;
		if (v->tail)
			v->tail->next = j;
		else
			v->head = j;
		v->tail = j;
	}
	/* One waiter is enough: idle threads are interchangeable (the long-job limit
	 * counts jobs, not threads) and each one re-checks the queue before sleeping.
	 * A broadcast woke the whole pool for every job, even the periodic listing. */
	pthread_cond_signal(&v->cond);
	pthread_mutex_unlock(&v->lock);
	return 0;
}
