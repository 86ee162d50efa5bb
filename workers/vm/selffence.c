/*
 * selffence.c: self-fencing ("suicide", ref §4.6 made real).
 *
 * zk-election sends MSG_VM_KEEPALIVE with the CLOCK_MONOTONIC send time of its
 * last committed keepalive (the clock is system-wide). If now - that time exceeds
 * suicide_intervals x keepalive_interval (or, before any keepalive, the time since
 * this process started: no message means no keepalive), every VM this node runs
 * is destroyed: peers will fence this node and may start its VMs elsewhere, and a
 * failed IPMI fence must not leave them running twice. docs/fencing.md has the
 * timing argument (suicide window + destroy time < the peers' fence window).
 *
 * While fenced, vm-manager acts on nothing (its VM list is declared stale) and
 * destroys anything that still runs once a second. It resumes only after a
 * keepalive SENT after the fence has committed AND a full VM list requested after
 * that keepalive has arrived: a recovery transaction that moved our VMs away
 * committed before our keepalive could (it checks our daemonstate version), so
 * that list shows them on their new node and nothing is started twice.
 *
 * One instance per vm-manager process: the state below is this process's own.
 */
#include <string.h>

#include "log.h"
#include "vm_selffence.h"

#define RETRY_MS 1000

struct selffence {
	struct vmm *m;
	uint64_t window_ms;   /* 0: disabled */
	uint64_t base_ms;     /* process start: the clock before any keepalive */
	uint64_t last_ms;     /* send time of the last committed keepalive */
	uint64_t timer;
	int fenced;
	uint64_t fenced_at;
	int hello_sent;       /* VM_HELLO sent after a keepalive newer than the fence */
};

static struct selffence sf;

static void arm(void);

static void destroy_all(void)
{
	struct vmm *m = sf.m;
	int n = 0;

	for (size_t i = 0; i < m->nrecs; i++) {
		struct vm_rec *r = m->recs[i];
		struct vlv_job *j;
		if (!r->known || r->lv == LV_ABSENT || r->unlinked)
			continue;
		/* cookie 0: nobody's action; the STOPPED event updates the record */
		j = vm_libvirt_job_new(VLV_DESTROY, r->uuid, 0);
		if (j == NULL || m->ops->submit(m, j) != 0) {
			vm_libvirt_job_free(j);
			log_errx("self-fence: cannot queue the destroy of VM %s", r->name);
			continue;
		}
		log_errx("self-fence: destroying VM %s", r->name);
		n++;
	}
	if (n)
		m->ops->stats_changed(m);
}

static uint64_t deadline(void)
{
	return (sf.last_ms ? sf.last_ms : sf.base_ms) + sf.window_ms;
}

/* Fence now if the window has passed; 1 if fenced (now or before). */
static int check_now(void)
{
	uint64_t now = mono_ms();

	if (sf.window_ms == 0)
		return 0;
	if (sf.fenced)
		return 1;
	if (now < deadline())
		return 0;
	sf.fenced = 1;
	sf.fenced_at = now;
	sf.hello_sent = 0;
	/* the VM list is stale from here on: nothing is evaluated until a fresh one */
	sf.m->synced = 0;
	log_errx("self-fence: no keepalive committed for %llu ms (limit %llu ms = %d x %d s): "
		 "destroying every VM of this node",
		 (unsigned long long)(now - (sf.last_ms ? sf.last_ms : sf.base_ms)),
		 (unsigned long long)sf.window_ms, sf.m->cfg->suicide_intervals,
		 sf.m->cfg->keepalive_interval);
	destroy_all();
	return 1;
}

static void timer_cb(struct ev_loop *loop, void *arg)
{
	sf.timer = 0;
	if (sf.fenced)
		destroy_all();
	else
		(void)check_now();
	arm();
}

static void arm(void)
{
	uint64_t now = mono_ms(), d;

	if (sf.window_ms == 0)
		return;
	if (sf.timer)
		ev_timer_cancel(sf.m->w->loop, sf.timer);
	d = sf.fenced ? RETRY_MS : (deadline() > now ? deadline() - now : 0);
	sf.timer = ev_timer(sf.m->w->loop, d, timer_cb, NULL);
	if (sf.timer == 0)
		log_errx("self-fence: out of timers");
}

void vm_selffence_init(struct vmm *m)
{
	memset(&sf, 0, sizeof(sf));
	sf.m = m;
	sf.base_ms = mono_ms();
	if (m->cfg->suicide_intervals > 0 && m->cfg->keepalive_interval > 0)
		sf.window_ms = (uint64_t)m->cfg->suicide_intervals *
			       (uint64_t)m->cfg->keepalive_interval * 1000u;
	if (sf.window_ms == 0) {
		log_info("self-fencing disabled (suicide_intervals 0)");
		return;
	}
	log_info("self-fencing after %llu ms without a committed keepalive",
		 (unsigned long long)sf.window_ms);
	arm();
}

void vm_selffence_keepalive(struct vmm *m, const struct ipc_msg *msg)
{
	struct ipc_u64 v;
	uint64_t now = mono_ms();

	if (sf.window_ms == 0 || sf.m != m)
		return;
	memcpy(&v, msg->data, sizeof(v));
	/* the same clock as ours: a time in the future is garbage */
	if (v.value == 0 || v.value > now + 1000) {
		if (v.value)
			log_warnx("self-fence: keepalive time %llu ms ahead ignored",
				  (unsigned long long)(v.value - now));
		return;
	}
	if (v.value > sf.last_ms)
		sf.last_ms = v.value;
	/* an old keepalive (a restarted vm-manager hearing of a node cut off for a
	 * while) fences at once, before the VM list that follows can start anything */
	(void)check_now();
	if (sf.fenced && sf.last_ms > sf.fenced_at && !sf.hello_sent) {
		log_warnx("self-fence: keepalives resumed; waiting for a fresh VM list before "
			  "acting on any VM");
		sf.hello_sent = 1;
		(void)worker_send(m->w, MSG_VM_HELLO, ROLE_ZK, NULL, 0);
	}
	if (!sf.fenced)
		arm();
}

int vm_selffence_sync_done(struct vmm *m)
{
	if (sf.m != m || !check_now())
		return 1;
	if (!sf.hello_sent)
		return 0; /* a list from before our return: it may be stale */
	sf.fenced = 0;
	log_ok("self-fence lifted: keepalives resumed and the VM list is fresh");
	arm();
	return 1;
}
