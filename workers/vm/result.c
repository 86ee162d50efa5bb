/*
 * result.c: the results of an action's steps (libvirt jobs and ZooKeeper
 * replies), driving the action of domain.c on to its next step or its end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domxml.h"
#include "log.h"
#include "vm_domain.h"

static void create_done(struct vmm *m, struct vm_rec *r, struct vlv_job *j)
{
	if (j->rc == 0) {
		log_ok("vm %s: %s", r->name, j->adopted ? "already running: adopted" : "started");
		vm_domain_clear_failedreason(m, r);
		if (r->act == VA_RESTART)
			vm_domain_conclude(m, r, "restart", "start", NULL);
		else
			vm_domain_end(m, r, 1);
	} else {
		log_errx("vm %s: failed to start: %s", r->name, j->err);
		vm_domain_conclude(m, r, r->act_state, "fail", j->err);
	}
}

static void shut_req_done(struct vmm *m, struct vm_rec *r, struct vlv_job *j)
{
	if (j->rc != 0) {
		log_warnx("vm %s: %s: destroying it", r->name, j->err);
		r->phase = PH_SHUT_DESTROY;
		vm_domain_submit(m, r, vm_domain_job(r, VLV_DESTROY));
	} else if (j->info.state == LV_ABSENT) {
		vm_domain_shut_done(m, r);
	} else {
		r->phase = PH_SHUT_WAIT;
		vm_domain_arm(m, r, m->cfg->vm_shutdown_timeout);
	}
}

static void destroy_done(struct vmm *m, struct vm_rec *r, struct vlv_job *j)
{
	if (j->rc != 0) {
		log_errx("vm %s: destroy failed: %s", r->name, j->err);
		vm_domain_end(m, r, 0);
		return;
	}
	r->lv = LV_ABSENT;
	m->ops->stats_changed(m);
	log_ok("vm %s: %s done", r->name, vm_decide_action_name(r->act));
	if (r->act == VA_STOP)
		vm_domain_conclude(m, r, "stop", "stop", NULL);
	else
		vm_domain_end(m, r, 1);
}

static void migrate_done(struct vmm *m, struct vm_rec *r, struct vlv_job *j)
{
	if (j->rc == 0) {
		log_ok("vm %s: migrated to %s", r->name, r->node);
		vm_domain_observed(m, r, LV_ABSENT, 0);
		vm_domain_end(m, r, 1);
	} else if (j->job_busy) {
		log_warnx("vm %s: %s: waiting for it to end", r->name, j->err);
		vm_domain_migrate_busy(m, r);
	} else {
		log_warnx("vm %s: live migration failed (%s): falling back to shutdown",
			  r->name, j->err);
		vm_domain_conclude(m, r, "migrate", "shutdown", NULL);
	}
}

/* The job's view of the domain is an observation. 1 if the action is still the
 * job's afterwards (vm_domain_observed may have ended or replaced it). */
static int job_observe(struct vmm *m, struct vm_rec *r, struct vlv_job *j)
{
	if (j->op == VLV_LOOKUP)
		r->lookup_inflight = 0;
	if (j->rc == 0 && j->op != VLV_MIGRATE && j->op != VLV_ABORT) {
		r->mem_kib = j->info.mem_kib;
		r->vcpus = j->info.vcpus;
		if (j->op != VLV_LOOKUP || r->lv != j->info.state)
			vm_domain_observed(m, r, j->info.state, 0);
		if (r->act == VA_NONE || j->cookie != r->cookie)
			return 0;
	}
	return 1;
}

void vm_result_job(struct vmm *m, struct vm_rec *r, struct vlv_job *j)
{
	/* A result for an action that has ended: the world may have moved on since the
	 * call was made, so it does not count as an observation either. */
	if (j->cookie != r->cookie || r->act == VA_NONE)
		return;
	if (!job_observe(m, r, j))
		return;
	if (j->rc != 0 && j->conn_lost) {
		log_warnx("vm %s: %s", r->name, j->err);
		vm_domain_end(m, r, 0); /* the reconnection re-evaluates everything */
		return;
	}
	switch (r->phase) {
	case PH_CREATE:
		create_done(m, r, j);
		break;
	case PH_SHUT_REQ:
		shut_req_done(m, r, j);
		break;
	case PH_SHUT_WAIT:
		if (j->rc == 0 && j->info.state == LV_ABSENT)
			vm_domain_shut_done(m, r);
		break;
	case PH_SHUT_DESTROY:
		if (j->rc != 0) {
			log_errx("vm %s: destroy failed: %s", r->name, j->err);
			vm_domain_end(m, r, 0);
		} else {
			vm_domain_shut_done(m, r);
		}
		break;
	case PH_DESTROY:
		destroy_done(m, r, j);
		break;
	case PH_MIGRATE:
		migrate_done(m, r, j);
		break;
	default:
		/* PH_RECV_WAIT lookups: vm_domain_observed already handled a running domain */
		break;
	}
}

/* pvc.system.libvirt.xml_policy strict: XML that reaches the host is never handed
 * to libvirt; the VM fails with the reason, as the answer to the command it served
 * (compare-and-set on its version, like every write-back here). 1 if allowed. */
static int xml_allowed(struct vmm *m, struct vm_rec *r, const char *xml)
{
	const struct domxml_rules rules = {.console_dir = m->cfg->console_log_directory};
	char why[512];

	if (strcmp(m->cfg->libvirt_xml_policy, "strict") != 0 ||
	    domxml_check(xml, strlen(xml), &rules, why, sizeof(why)) == 0)
		return 1;
	log_errx("vm %s: /domains/%s/xml refused: %s", r->name, r->uuid, why);
	vm_domain_conclude(m, r, r->act_state, "fail", why);
	return 0;
}

static void xml_done(struct vmm *m, struct vm_rec *r, int rc, const char *value)
{
	struct vlv_job *j;

	if (rc != 0) {
		char reason[96];
		snprintf(reason, sizeof(reason), "cannot read the VM XML (ZooKeeper rc %d)", rc);
		log_errx("vm %s: %s", r->name, reason);
		if (rc == IPC_RC_NONODE)
			vm_domain_conclude(m, r, r->act_state, "fail", reason);
		else
			vm_domain_end(m, r, 0);
		return;
	}
	if (!xml_allowed(m, r, value ? value : ""))
		return;
	j = vm_domain_job(r, VLV_CREATE);
	if (j)
		j->xml = strdup(value ? value : "");
	if (j && j->xml == NULL) {
		vm_libvirt_job_free(j);
		j = NULL;
	}
	r->phase = PH_CREATE;
	vm_domain_submit(m, r, j);
}

static void write_done(struct vmm *m, struct vm_rec *r, int rc)
{
	if (rc == 0) {
		/* CAS on act_version succeeded: ours is act_version + 1. The record takes it
		 * unless the echo (or something newer) got here first; older echoes still
		 * in flight are ignored by version. */
		if (r->version == r->act_version) {
			strlcpy_pvc(r->state, r->w_new, sizeof(r->state));
			r->version = r->act_version + 1;
		}
		log_info("vm %s: state=%s", r->name, r->w_new);
		vm_domain_end(m, r, 1);
	} else if (rc == IPC_RC_BADVERSION) {
		/* A newer command arrived after the one this action served: it wins. Drop
		 * the write-back (no re-read, no second try on the newer version) and act
		 * on the newer value, which the watch delivers. */
		log_info("vm %s: state changed after version %lld: not writing %s", r->name,
			 r->act_version, r->w_new);
		if (r->version <= r->act_version)
			r->stale_version = r->act_version;
		vm_domain_end(m, r, 1);
	} else {
		log_errx("vm %s: writing state=%s failed (rc %d)", r->name, r->w_new, rc);
		vm_domain_end(m, r, 0);
	}
}

void vm_result_zk(struct vmm *m, struct vm_rec *r, int kind, int rc, const char *value)
{
	switch (kind) {
	case ZK_K_XML:
		xml_done(m, r, rc, value);
		break;
	case ZK_K_STATE_WRITE:
		write_done(m, r, rc);
		break;
	default:
		break;
	}
}
