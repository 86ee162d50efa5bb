/*
 * quota.c: what one worker may cost the supervisor. A compromised or runaway worker
 * could otherwise send frames, log lines or stdout/stderr output as fast as a socket
 * takes them (a tight loop of small frames reaches several 100 000 a second): the
 * supervisor would spend its time forwarding and writing the journal, the peers'
 * queues would fill, and the journal would drown. Each role has three token buckets;
 * what is over budget is dropped and counted, and the count reported at most once a
 * second per role.
 *
 * Why drop and not kill: dropping costs O(1) per frame and no memory, and the worker
 * keeps its legitimate work going once it calms down. Killing would turn a flood into
 * restarts, and a worker flooding after each restart would crash-loop the node into
 * its escalation (an orderly stop of the whole daemon): exactly the denial of service
 * a flood aims at. A worker that floods so hard that it stops answering pings is
 * still killed by the heartbeat (its PONGs are never dropped, see route.c).
 */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"
#include "supervisor.h"

#define QUOTA_REPORT_MS 1000

/*
 * Budgets. The busiest legitimate traffic, measured or counted from the code:
 *  - zk-election: at start (and on each VM_HELLO of a restarted vm-manager) one
 *    VM_DOMAIN per VM of the cluster, then a ZK_REPLY per request of vm-manager (one
 *    XML read per VM at its start, one consolelog write per running VM whose console
 *    changed, each second), of flush (about 5 per VM moved; a 100-VM flush) and of
 *    pvcctl; NET_LEASE about every session ping (a few per second). Clusters of a
 *    few thousand VMs must sync in one burst: burst 20000, 5000 per second.
 *  - vm-manager: one XML read per VM at start and up to one console upload per
 *    running VM per second (200 VMs: 200/s), state writes: burst 10000, 2000/s.
 *  - net-router (a DHCP lease event per VM of a boot storm), flush (a 100-VM flush
 *    is some 500 requests over many seconds), fence (a few results): 4000 burst,
 *    1000/s each, ten times the worst of the above.
 * Log lines: a 100-VM flush logs about 10 lines per VM on flush and zk-election,
 * a start with debug on a few thousand: burst 5000, 500 per second. stdout/stderr:
 * nothing in normal operation; an AddressSanitizer report is about 100 lines and
 * must come through whole: burst 2000, 200 per second.
 * A flood is held to these rates: the supervisor's work per flooding worker stays a
 * decode and a counter per frame, and what it forwards stays far below what a peer
 * reads (the peers' queues, each capped at IPC_WBUF_MAX, stay nearly empty).
 */
struct quota_budget {
	uint32_t frames_rate, frames_burst;
};

static const struct quota_budget quota_frames[ROLE_COUNT] = {
	[ROLE_ZK] = {5000, 20000},
	[ROLE_VM] = {2000, 10000},
	[ROLE_NET] = {1000, 4000},
	[ROLE_FLUSH] = {1000, 4000},
	[ROLE_FENCE] = {1000, 4000},
	[ROLE_API] = {200, 1000},
	[ROLE_DNS] = {1000, 4000},
	[ROLE_META] = {2000, 10000},
	[ROLE_CEPH] = {1000, 4000},
};
#define QUOTA_LOG_RATE 500
#define QUOTA_LOG_BURST 5000
#define QUOTA_OUTPUT_RATE 200
#define QUOTA_OUTPUT_BURST 2000

static void quota_init(struct child *k, uint64_t now)
{
	const struct quota_budget *q = &quota_frames[k->role];

	sup_bucket_init(&k->q_frames, q->frames_rate, q->frames_burst, now);
	sup_bucket_init(&k->q_logs, QUOTA_LOG_RATE, QUOTA_LOG_BURST, now);
	sup_bucket_init(&k->q_output, QUOTA_OUTPUT_RATE, QUOTA_OUTPUT_BURST, now);
	k->quota_init = 1;
}

static void quota_report(struct ev_loop *loop, void *arg)
{
	struct child *k = arg;
	const char *n = role_name(k->role);
	uint64_t f = sup_bucket_dropped(&k->q_frames), l = sup_bucket_dropped(&k->q_logs),
		 o = sup_bucket_dropped(&k->q_output);

	k->quota_timer = 0;
	/* not charged to any budget: one line per second per role at most */
	if (f)
		log_warnx("%s: %llu frames dropped (over its budget of %u per second, burst %u)",
			  n, (unsigned long long)f, k->q_frames.rate, k->q_frames.burst);
	if (l)
		log_warnx("%s: %llu log lines suppressed (over %u per second, burst %u)", n,
			  (unsigned long long)l, k->q_logs.rate, k->q_logs.burst);
	if (o)
		log_warnx("%s: %llu stdout/stderr lines suppressed (over %u per second, burst %u)",
			  n, (unsigned long long)o, k->q_output.rate, k->q_output.burst);
}

int sup_quota_allow(struct supervisor *sv, struct child *k, enum sup_quota_kind kind)
{
	uint64_t now = mono_ms();
	struct sup_bucket *b;

	if (!k->quota_init)
		quota_init(k, now);
	b = kind == SUP_QUOTA_FRAME ? &k->q_frames : kind == SUP_QUOTA_LOG ? &k->q_logs
									 : &k->q_output;
	if (sup_bucket_take(b, now, 1))
		return 1;
	if (k->quota_timer == 0)
		k->quota_timer = ev_timer(sv->loop, QUOTA_REPORT_MS, quota_report, k);
	return 0;
}

void sup_quota_warn(struct supervisor *sv, struct child *k, const char *fmt, ...)
{
	va_list ap;

	if (!sup_quota_allow(sv, k, SUP_QUOTA_LOG))
		return;
	va_start(ap, fmt);
	vlogmsg('w', NULL, fmt, ap);
	va_end(ap);
}
