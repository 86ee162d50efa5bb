/*
 * priv.c: the supervisor keeps only the capabilities it needs to start, confine and
 * stop its workers. It stays uid 0 (it must setuid the workers), but drops every
 * other capability from its bounding, permitted and effective sets, so neither it
 * nor anything it executes can regain them. A failure here is fatal for the caller:
 * a supervisor that cannot limit itself runs as full root.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "priv.h"
#include "supervisor.h"

#ifndef LANDLOCK_CREATE_RULESET_VERSION
#define LANDLOCK_CREATE_RULESET_VERSION (1U << 0)
#endif

static const cap_value_t supervisor_caps[] = {
	CAP_SETUID,       /* workers switch to the worker user */
	CAP_SETGID,       /* ... and its group (+ libvirt for vm-manager) */
	CAP_SETPCAP,      /* workers drop their bounding sets */
	CAP_NET_ADMIN,    /* net-router keeps it (addresses, bridges, routes) */
	CAP_NET_RAW,      /* net-router keeps it (gratuitous ARP) */
	CAP_NET_BIND_SERVICE, /* net-router passes it to dnsmasq (ambient): ports 53/67/547 */
	CAP_KILL,         /* stop and restart workers running as another user */
	CAP_CHOWN,        /* runtime directory and control socket ownership */
	CAP_DAC_OVERRIDE, /* create the runtime/log directories whatever their modes */
	CAP_FOWNER,       /* chmod of the control socket path we create */
	/* Not CAP_SYS_ADMIN: nothing calls setns() or mount(), and the workers' prctl()s
	 * (no_new_privs, dumpable, bounding set) need none; seccomp and Landlock are
	 * loaded after no_new_privs. */
};

static int kept(cap_value_t c)
{
	for (size_t i = 0; i < sizeof(supervisor_caps) / sizeof(supervisor_caps[0]); i++)
		if (supervisor_caps[i] == c)
			return 1;
	return 0;
}

int priv_supervisor_limit(void)
{
	cap_t caps;
	cap_value_t last = CAP_LAST_CAP;
	int rc = 0;

	/* the running kernel may know more capabilities than our headers */
	while (prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0) >= 0)
		last++;
	for (cap_value_t c = 0; c <= last; c++) {
		if (kept(c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL) {
			log_err("dropping capability %d from the bounding set", (int)c);
			rc = -1;
		}
	}
	caps = cap_init();
	if (caps == NULL) {
		log_err("cap_init for the supervisor");
		return -1;
	}
	for (size_t i = 0; i < sizeof(supervisor_caps) / sizeof(supervisor_caps[0]); i++) {
		cap_value_t c = supervisor_caps[i];
		int have = prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1;
		if (!have)
			continue;
		if (cap_set_flag(caps, CAP_PERMITTED, 1, &c, CAP_SET) != 0 ||
		    cap_set_flag(caps, CAP_EFFECTIVE, 1, &c, CAP_SET) != 0) {
			log_err("cap_set_flag(%d) for the supervisor", (int)c);
			rc = -1;
		}
	}
	if (cap_set_proc(caps) != 0) {
		log_err("cap_set_proc for the supervisor");
		rc = -1;
	}
	/* trust nothing: every capability not kept must be gone from the bounding set */
	for (cap_value_t c = 0; c <= last; c++) {
		if (!kept(c) && prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1) {
			log_errx("capability %d is still in the supervisor's bounding set", (int)c);
			rc = -1;
		}
	}
	cap_free(caps);
	return rc;
}

int priv_landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	return abi < 1 ? 0 : (int)abi;
}

int priv_landlock_decide(int abi, int allowed, char *text, size_t size)
{
	if (abi >= 1) {
		snprintf(text, size, "enforced (ABI %d) in every worker", abi);
		return 0;
	}
	if (allowed) {
		snprintf(text, size,
			 "NOT AVAILABLE: workers run without file-system confinement "
			 "(allowed by pvc.system.supervisor.allow_no_landlock)");
		return 0;
	}
	snprintf(text, size,
		 "this kernel has no Landlock (not built in, or not in the lsm= boot list): the "
		 "workers' file-system confinement would silently be missing; refusing to start. "
		 "Boot a kernel with Landlock, or set pvc.system.supervisor.allow_no_landlock: "
		 "true to run without it");
	return -1;
}
