/*
 * vm_libvirt.h: vm-manager's only door to libvirt (libvirt.c).
 *
 * Every libvirt call that can block (all of them, over a remote socket) runs on a
 * small thread pool; the event loop thread never calls libvirt. libvirt's own event
 * loop (the default implementation, needed for lifecycle events and keepalives)
 * runs in one dedicated thread. Finished jobs and lifecycle events come back to the
 * loop as pointers written to one pipe, in the order they happened, and are handed
 * to the callback given to vm_libvirt_open().
 */
#ifndef VM_LIBVIRT_H
#define VM_LIBVIRT_H

#include <stddef.h>
#include <stdint.h>

#include "evloop.h"

#define VLV_UUID_LEN 37
#define VLV_ERR_LEN 512

enum vlv_op {
	VLV_CONNECT,  /* (re)open the connection and register events */
	VLV_LIST,     /* every active domain */
	VLV_LOOKUP,   /* one domain by UUID */
	VLV_CREATE,   /* transient domain from xml; adopts or resumes an active one */
	VLV_SHUTDOWN, /* ACPI shutdown request */
	VLV_DESTROY,  /* forced off; "not found" counts as success */
	VLV_MIGRATE,  /* live p2p migration to uri (blocks for its duration) */
	VLV_ABORT,    /* abort the domain's running job (migration timeout) */
	VLV_EVENT,    /* not a job: a lifecycle event or a connection close */
};

/* Observed domain state, reduced to what decisions need. */
enum vlv_state { LV_ABSENT = 0, LV_RUNNING = 1, LV_OTHER = 2 /* active, not running (paused...) */ };

struct vlv_dominfo {
	char uuid[VLV_UUID_LEN];
	char name[128];
	int state;              /* enum vlv_state */
	int vir_state;          /* virDomainState, for logs */
	unsigned long mem_kib;  /* current memory */
	unsigned int vcpus;
};

struct vlv_job {
	enum vlv_op op;
	char uuid[VLV_UUID_LEN];
	char *xml;             /* CREATE (owned) */
	char *uri, *dest_uri;  /* MIGRATE (owned) */
	uint64_t cookie;       /* the caller's: identifies the action this job serves */
	int urgent;            /* queued ahead of the others (ABORT) */
	/* results */
	int rc;                /* 0 ok, -1 failed (err) */
	int conn_lost;         /* failure because the connection is gone: retry later */
	int notfound;          /* LOOKUP/DESTROY/SHUTDOWN: no such domain */
	int adopted;           /* CREATE: the domain was already active */
	int job_busy;          /* MIGRATE: a job (an earlier migration) still runs */
	char err[VLV_ERR_LEN];
	struct vlv_dominfo info;    /* LOOKUP / CREATE / SHUTDOWN: state afterwards */
	struct vlv_dominfo *list;   /* LIST */
	size_t nlist;
	/* VLV_EVENT */
	int ev_closed;         /* the connection closed */
	int ev_type, ev_detail;/* virDomainEventType and detail */
	/* internal */
	int is_long;
	struct vlv_job *next;
};

struct vlv;
typedef void (*vlv_done_fn)(struct vlv_job *job, void *arg);

/* Register libvirt's event implementation (must precede any connection). 0 / -1. */
int vm_libvirt_global_init(void);
/* Open the connection now (before confinement, so that the socket and files are
 * reachable); the pool and the event thread start with vm_libvirt_start(). */
struct vlv *vm_libvirt_open(const char *uri, struct ev_loop *loop, vlv_done_fn done, void *arg,
		     char *err, size_t errlen);
int vm_libvirt_start(struct vlv *v, int nthreads);
int vm_libvirt_connected(struct vlv *v);
/* Queue a job (ownership passes to the pool; it comes back through `done`, which
 * must not free it: the caller of done frees it afterwards). 0 / -1. */
int vm_libvirt_submit(struct vlv *v, struct vlv_job *job);
struct vlv_job *vm_libvirt_job_new(enum vlv_op op, const char *uuid, uint64_t cookie);
void vm_libvirt_job_free(struct vlv_job *job);

#endif
