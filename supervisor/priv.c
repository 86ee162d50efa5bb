/*
 * priv.c: the supervisor keeps only the capabilities it needs to start, confine and
 * stop its workers. It stays uid 0 (it must setuid the workers), but drops every
 * other capability from its bounding, permitted and effective sets, so neither it
 * nor anything it executes can regain them.
 */
#include <errno.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "log.h"
#include "supervisor.h"

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
	CAP_SYS_ADMIN,    /* setns for a configured network namespace; prctl in workers */
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
			log_warn("dropping capability %d from the bounding set", (int)c);
			rc = -1;
		}
	}
	caps = cap_init();
	if (caps == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(supervisor_caps) / sizeof(supervisor_caps[0]); i++) {
		cap_value_t c = supervisor_caps[i];
		int have = prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1;
		if (!have)
			continue;
		if (cap_set_flag(caps, CAP_PERMITTED, 1, &c, CAP_SET) != 0 ||
		    cap_set_flag(caps, CAP_EFFECTIVE, 1, &c, CAP_SET) != 0) {
			rc = -1;
		}
	}
	if (cap_set_proc(caps) != 0) {
		log_warn("cap_set_proc for the supervisor");
		rc = -1;
	}
	cap_free(caps);
	return rc;
}
